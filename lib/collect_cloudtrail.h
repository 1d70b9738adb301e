/* Collector "cloudtrail": CloudTrail trails (aws_cloudtrail), per region.
 *
 * A trail is collected in its home region only, so a multi-region trail is
 * one document: DescribeTrails lists the region's own trails and the
 * shadow copies of trails from other regions (and, in a member account, of
 * the organization trail), and the shadows are dropped unless their home
 * region is this one.  An organization trail owned by the management
 * account therefore appears in each member account, in its home region,
 * read through its ARN (which CloudTrail requires for trails of another
 * account).
 *
 * Calls: DescribeTrails once per region (it is not paginated and returns
 * every trail); per trail GetTrailStatus, GetEventSelectors and
 * GetInsightSelectors; ListTags for up to 20 trails at once.  Tags of
 * another account's trail are not readable from here and are marked
 * unknown (not_collected).  latest_delivery_time is not collected (left
 * absent): it changes with every delivery, which would make every cycle
 * write a new version of every logging trail. */
#ifndef PLUMB_COLLECT_CLOUDTRAIL_H
#define PLUMB_COLLECT_CLOUDTRAIL_H

#include "collect.h"

extern const struct collector_def collect_cloudtrail_def;

#endif
