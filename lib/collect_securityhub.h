/* Collector "securityhub": the Security Hub subscription of each region
 * (aws_securityhub_account, id = the account id) and its enabled standards
 * (aws_securityhub_standards_subscription), regional.
 *
 * Calls per region: DescribeHub once; GetEnabledStandards (per page of
 * 100) unless DescribeHub said Security Hub is off.  InvalidAccessException
 * ("Account is not subscribed to AWS Security Hub") means off: no hub
 * document and no standards, both read fine.  When DescribeHub fails
 * otherwise (e.g. denied), the standards are still asked for. */
#ifndef PLUMB_COLLECT_SECURITYHUB_H
#define PLUMB_COLLECT_SECURITYHUB_H

#include "collect.h"

extern const struct collector_def collect_securityhub;

#endif
