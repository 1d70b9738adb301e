/* Collector "athena": Athena work groups (aws_athena_workgroup), regional.
 *
 * Calls per region: ListWorkGroups (per page of 50, paged by hand: botocore
 * has no paginator for it) and GetWorkGroup per work group (its
 * configuration: result encryption, enforcement, CloudWatch metrics).  A
 * failed GetWorkGroup leaves "configuration" unknown on that work group.
 * Tags (ListTagsForResource, one call per work group) are not read: "tags"
 * is marked not_collected.  The ARN is built: arn:PARTITION:athena:REGION:
 * ACCOUNT:workgroup/NAME. */
#ifndef PLUMB_COLLECT_ATHENA_H
#define PLUMB_COLLECT_ATHENA_H

#include "collect.h"

extern const struct collector_def collect_athena;

#endif
