/* Collector "logs": CloudWatch Logs log groups (aws_cloudwatch_log_group),
 * per region.
 *
 * Calls: DescribeLogGroups (50 per page, the maximum) once per page, and
 * ListTagsForResource once per log group (no API lists tags for many
 * groups at once). */
#ifndef PLUMB_COLLECT_LOGS_H
#define PLUMB_COLLECT_LOGS_H

#include "collect.h"

extern const struct collector_def collect_logs_def;

#endif
