/* Collector "accessanalyzer": IAM Access Analyzer analyzers
 * (aws_accessanalyzer_analyzer), regional.
 *
 * Calls per region: ListAnalyzers, one call per page; nothing per item
 * (tags and configuration come with the items).  The IAM action prefix is
 * access-analyzer. */
#ifndef PLUMB_COLLECT_ACCESSANALYZER_H
#define PLUMB_COLLECT_ACCESSANALYZER_H

#include "collect.h"

extern const struct collector_def collect_accessanalyzer;

#endif
