/* Collector "ssmincidents": the Incident Manager replication set
 * (aws_ssmincidents_replication_set, one per account) and response plans
 * (aws_ssmincidents_response_plan), global: read once per account in the
 * home region.
 *
 * Calls per account: ListReplicationSets (per page of 100; at most one
 * set exists), GetReplicationSet and ListTagsForResource for it;
 * ListResponsePlans (per page of 100) and GetResponsePlan per plan.  Tags
 * of response plans (ListTagsForResource, one call per plan) are not read:
 * "tags" is marked not_collected there. */
#ifndef PLUMB_COLLECT_SSMINCIDENTS_H
#define PLUMB_COLLECT_SSMINCIDENTS_H

#include "collect.h"

extern const struct collector_def collect_ssmincidents;

#endif
