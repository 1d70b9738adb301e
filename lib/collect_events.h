/* Collector "events": EventBridge rules (aws_cloudwatch_event_rule) and
 * their targets (aws_cloudwatch_event_target), regional.
 *
 * Calls per region: ListEventBuses (per page of 100, paged by hand:
 * botocore has no paginator for it); ListRules per event bus (per page of
 * 100); ListTargetsByRule per rule (per page of 100).  Ids follow
 * `terraform import`: "rule" and "rule/target" on the default bus,
 * "bus/rule" and "bus/rule/target" on any other.  A target listing that
 * fails for one rule makes the region's targets UNKNOWN (never
 * tombstoned); a rule listing that fails for one bus makes rules and
 * targets UNKNOWN.  Tags (ListTagsForResource, one call per rule) are not
 * read: "tags" is marked not_collected. */
#ifndef PLUMB_COLLECT_EVENTS_H
#define PLUMB_COLLECT_EVENTS_H

#include "collect.h"

extern const struct collector_def collect_events;

#endif
