/* Collector "s3": S3 buckets and their configuration, and the account's
 * S3 Block Public Access setting.
 *
 * Types: aws_s3_bucket (with the provider-v3 inline blocks Terraform v5
 * still stores as computed values: versioning, logging, lifecycle_rule,
 * server_side_encryption_configuration, policy, grant), the split v4+
 * resources aws_s3_bucket_versioning, _server_side_encryption_configuration,
 * _public_access_block, _policy, _logging and _lifecycle_configuration (id
 * = bucket name; no document when the bucket has no such configuration),
 * and aws_s3_account_public_access_block (id = account id, region
 * "global").
 *
 * Buckets are listed once per account (ListBuckets, paginated with
 * MaxBuckets so that AWS includes each bucket's region) and stored in their
 * own region; the global listing covers the bucket types in every scanned
 * region.  Per bucket: GetBucketLocation only when the listing did not say
 * the region (S3-compatible endpoints, emulators), then, in the bucket's
 * region, GetBucketEncryption, GetPublicAccessBlock, GetBucketPolicy,
 * GetBucketVersioning, GetBucketLogging, GetBucketLifecycleConfiguration,
 * GetBucketTagging and GetBucketAcl (S3 has no call returning several
 * buckets' configuration).  Not read (absent from the document): the
 * accelerate, request-payment, CORS and object-lock settings (one call each
 * per bucket, read by no control) and hosted_zone_id.  Once per account:
 * s3control GetPublicAccessBlock. */
#ifndef PLUMB_COLLECT_S3_H
#define PLUMB_COLLECT_S3_H

#include "collect.h"

extern const struct collector_def collect_s3_def;

#endif
