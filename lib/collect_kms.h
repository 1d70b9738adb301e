/* Collector "kms": KMS keys (aws_kms_key) and aliases (aws_kms_alias), per
 * region.
 *
 * Calls: ListKeys (1000 per page) and ListAliases (100 per page) once per
 * page; DescribeKey once per key; for customer-managed keys only,
 * GetKeyPolicy and ListResourceTags, and GetKeyRotationStatus when the key
 * can rotate at all (symmetric, key material from KMS).  AWS-managed keys
 * cost one call: their policy, tags and yearly rotation are AWS's. */
#ifndef PLUMB_COLLECT_KMS_H
#define PLUMB_COLLECT_KMS_H

#include "collect.h"

extern const struct collector_def collect_kms_def;

#endif
