/* AppStream 2.0 collector: fleets.
 *
 * Calls per region and cycle: DescribeFleets (all fleets, paged by the
 * service) and per fleet ListTagsForResource (the fleet listing carries
 * no tags and there is no batch tag API).  AppStream exists in a subset
 * of regions; elsewhere the listing fails and the type is unknown there. */
#ifndef PLUMB_COLLECT_APPSTREAM_H
#define PLUMB_COLLECT_APPSTREAM_H

#include "collect.h"

extern const struct collector_def collect_appstream;

#endif
