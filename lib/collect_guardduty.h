/* Collector "guardduty": the GuardDuty detector of a region
 * (aws_guardduty_detector, at most one per account and region).
 *
 * Calls: ListDetectors once per region, GetDetector once per detector. */
#ifndef PLUMB_COLLECT_GUARDDUTY_H
#define PLUMB_COLLECT_GUARDDUTY_H

#include "collect.h"

extern const struct collector_def collect_guardduty_def;

#endif
