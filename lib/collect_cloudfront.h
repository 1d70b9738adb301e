/* CloudFront collector: distributions (a global service, stored with
 * region "global").
 *
 * Calls per account and cycle: ListDistributions (100 a page, the
 * maximum), whose summaries carry every attribute the baseline reads
 * (viewer protocol policies, viewer certificate, origins); per
 * distribution GetDistribution, for what the summaries lack
 * (logging_config, default_root_object, continuous_deployment_policy_id;
 * its configuration then replaces the summary's), and ListTagsForResource
 * (CloudFront has no batch tag API).  When GetDistribution fails, the
 * summary's attributes stay and only those three are unknown. */
#ifndef PLUMB_COLLECT_CLOUDFRONT_H
#define PLUMB_COLLECT_CLOUDFRONT_H

#include "collect.h"

extern const struct collector_def collect_cloudfront;

#endif
