#include "collect_s3.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectmap.h"
#include "util.h"

#define T_BUCKET      "aws_s3_bucket"
#define T_ACCOUNT_PAB "aws_s3_account_public_access_block"

static const char *dns_suffix(const char *partition)
{
    return str_eq(partition, "aws-cn") ? "amazonaws.com.cn" : "amazonaws.com";
}

/* Place a bucket in its region, with the attributes that depend on it. */
static int set_region(struct collect_run *run, struct resource *r, const char *region)
{
    char *regional =
        str_printf("%s.s3.%s.%s", r->id, region, dns_suffix(collect_options(run)->partition));
    int e = -ENOMEM;
    if (regional && str_replace(&r->region, region) == 0 &&
        collectmap_set(r->attrs, "region", json_string(region)) == 0 &&
        collectmap_set(r->attrs, "bucket_regional_domain_name", json_string(regional)) == 0)
        e = 0;
    free(regional);
    return e;
}

static int map_bucket(struct collect_run *run, const json_t *item, struct resource *r)
{
    const struct collect_options *o = collect_options(run);
    const char *name = collectmap_string(item, "Name");
    const char *region = collectmap_string(item, "BucketRegion");
    char *arn, *domain;
    int e = -ENOMEM;
    if (!name || !*name)
        return -EINVAL;
    arn = str_printf("arn:%s:s3:::%s", o->partition, name);
    domain = str_printf("%s.s3.%s", name, dns_suffix(o->partition));
    if (!arn || !domain || str_replace(&r->id, name) < 0 || str_replace(&r->arn, arn) < 0)
        goto out;
    if (collectmap_set(r->attrs, "bucket", json_string(name)) < 0 ||
        collectmap_set(r->attrs, "arn", json_string(arn)) < 0 ||
        collectmap_set(r->attrs, "bucket_domain_name", json_string(domain)) < 0 ||
        collect_copy(r->attrs, "creation_date", item, "CreationDate") < 0)
        goto out;
    /* Without BucketRegion the bucket stays in the run's region until
     * GetBucketLocation (the gate below) places it. */
    if (region && *region)
        e = set_region(run, r, region);
    else
        e = str_replace(&r->region, o->region);
out:
    free(arn);
    free(domain);
    return e;
}

static int bucket_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    *ret = json_pack("{s:s}", "Bucket", r->id);
    return *ret ? 0 : -ENOMEM;
}

static int location_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    if (json_object_get(r->attrs, "region"))
        return 1; /* the listing said */
    return bucket_params(run, r, ret);
}

/* GetBucketLocation says nothing (or "") for us-east-1, and "EU" for the
 * oldest eu-west-1 buckets. */
static int merge_location(struct collect_run *run, struct resource *parent, struct resource *child,
                          const json_t *output)
{
    const char *loc = collectmap_string(output, "LocationConstraint");
    if (!loc || !*loc)
        loc = "us-east-1";
    else if (str_eq(loc, "EU"))
        loc = "eu-west-1";
    return set_region(run, parent, loc);
}

/* A split resource: the bucket it belongs to; no ARN of its own. */
static int child_base(const struct resource *parent, struct resource *child)
{
    free(child->arn);
    child->arn = NULL;
    return collectmap_set(child->attrs, "bucket", json_string(parent->id));
}

/* ---- encryption ---- */

static const struct collectmap_field sse_default_fields[] = {
    { "kms_master_key_id", "KMSMasterKeyID" },
    { "sse_algorithm", "SSEAlgorithm" },
    { NULL },
};
static const struct collectmap_field sse_rule_fields[] = {
    { "apply_server_side_encryption_by_default", "ApplyServerSideEncryptionByDefault", CM_BLOCK,
      .nested = sse_default_fields },
    { "bucket_key_enabled", "BucketKeyEnabled" },
    { NULL },
};
static const struct collectmap_field sse_config_fields[] = {
    { "rule", "Rules", CM_LIST, .nested = sse_rule_fields },
    { NULL },
};
static const struct collectmap_field sse_inline[] = {
    { "server_side_encryption_configuration", "ServerSideEncryptionConfiguration", CM_BLOCK,
      .nested = sse_config_fields },
    { NULL },
};
static const struct collectmap_field sse_child[] = {
    { "rule", "ServerSideEncryptionConfiguration.Rules", CM_LIST, .nested = sse_rule_fields },
    { NULL },
};

static int merge_encryption(struct collect_run *run, struct resource *parent,
                            struct resource *child, const json_t *output)
{
    if (collectmap_apply(parent->attrs, output, sse_inline) < 0)
        return -ENOMEM;
    if (!output)
        return 1;
    if (child_base(parent, child) < 0)
        return -ENOMEM;
    return collectmap_apply(child->attrs, output, sse_child);
}

/* ---- public access block ---- */

static const struct collectmap_field pab_fields[] = {
    { "block_public_acls", "PublicAccessBlockConfiguration.BlockPublicAcls" },
    { "block_public_policy", "PublicAccessBlockConfiguration.BlockPublicPolicy" },
    { "ignore_public_acls", "PublicAccessBlockConfiguration.IgnorePublicAcls" },
    { "restrict_public_buckets", "PublicAccessBlockConfiguration.RestrictPublicBuckets" },
    { NULL },
};

static int merge_pab(struct collect_run *run, struct resource *parent, struct resource *child,
                     const json_t *output)
{
    if (!output)
        return 1;
    if (child_base(parent, child) < 0)
        return -ENOMEM;
    return collectmap_apply(child->attrs, output, pab_fields);
}

/* ---- policy ---- */

static const struct collectmap_field policy_fields[] = {
    { "policy", "Policy", CM_JSON_TEXT },
    { NULL },
};

static int merge_policy(struct collect_run *run, struct resource *parent, struct resource *child,
                        const json_t *output)
{
    if (collectmap_apply(parent->attrs, output, policy_fields) < 0)
        return -ENOMEM;
    if (!output)
        return 1;
    if (child_base(parent, child) < 0)
        return -ENOMEM;
    return collectmap_apply(child->attrs, output, policy_fields);
}

/* ---- versioning ---- */

static const struct collectmap_field versioning_fields[] = {
    { "mfa_delete", "MFADelete" },
    { "status", "Status" },
    { NULL },
};
static const struct collectmap_field versioning_child[] = {
    { "versioning_configuration", "", CM_BLOCK, .nested = versioning_fields },
    { NULL },
};

static int merge_versioning(struct collect_run *run, struct resource *parent,
                            struct resource *child, const json_t *output)
{
    const char *status = collectmap_string(output, "Status");
    /* The v3 block as Terraform v5 stores it: never-enabled is false/false. */
    json_t *v3 = json_pack("[{s:b, s:b}]", "enabled", str_eq(status, "Enabled"), "mfa_delete",
                           str_eq(collectmap_string(output, "MFADelete"), "Enabled"));
    if (collectmap_set(parent->attrs, "versioning", v3) < 0)
        return -ENOMEM;
    /* Never configured (no Status at all): no aws_s3_bucket_versioning. */
    if (!status || !*status)
        return 1;
    if (child_base(parent, child) < 0)
        return -ENOMEM;
    return collectmap_apply(child->attrs, output, versioning_child);
}

/* ---- logging ---- */

static const struct collectmap_field no_fields[] = { { NULL } };
static const struct collectmap_field grantee_fields[] = {
    { "email_address", "EmailAddress" },
    { "id", "ID" },
    { "type", "Type" },
    { "uri", "URI" },
    { NULL },
};
static const struct collectmap_field target_grant_fields[] = {
    { "grantee", "Grantee", CM_BLOCK, .nested = grantee_fields },
    { "permission", "Permission" },
    { NULL },
};
static const struct collectmap_field partitioned_fields[] = {
    { "partition_date_source", "PartitionDateSource" },
    { NULL },
};
static const struct collectmap_field key_format_fields[] = {
    { "partitioned_prefix", "PartitionedPrefix", CM_BLOCK, .nested = partitioned_fields },
    { "simple_prefix", "SimplePrefix", CM_BLOCK, .nested = no_fields },
    { NULL },
};
static const struct collectmap_field logging_child[] = {
    { "target_bucket", "LoggingEnabled.TargetBucket" },
    { "target_prefix", "LoggingEnabled.TargetPrefix" },
    { "target_grant", "LoggingEnabled.TargetGrants", CM_LIST, .nested = target_grant_fields },
    { "target_object_key_format", "LoggingEnabled.TargetObjectKeyFormat", CM_BLOCK,
      .nested = key_format_fields },
    { NULL },
};
static const struct collectmap_field logging_v3_fields[] = {
    { "target_bucket", "TargetBucket" },
    { "target_prefix", "TargetPrefix" },
    { NULL },
};
static const struct collectmap_field logging_inline[] = {
    { "logging", "LoggingEnabled", CM_BLOCK, .nested = logging_v3_fields },
    { NULL },
};

static int merge_logging(struct collect_run *run, struct resource *parent, struct resource *child,
                         const json_t *output)
{
    if (collectmap_apply(parent->attrs, output, logging_inline) < 0)
        return -ENOMEM;
    if (!json_is_object(collectmap_get(output, "LoggingEnabled")))
        return 1; /* logging off: no aws_s3_bucket_logging */
    if (child_base(parent, child) < 0)
        return -ENOMEM;
    return collectmap_apply(child->attrs, output, logging_child);
}

/* ---- lifecycle ---- */

static const struct collectmap_field lc_abort[] = {
    { "days_after_initiation", "DaysAfterInitiation" },
    { NULL },
};
static const struct collectmap_field lc_expiration[] = {
    { "date", "Date" },
    { "days", "Days" },
    { "expired_object_delete_marker", "ExpiredObjectDeleteMarker" },
    { NULL },
};
static const struct collectmap_field lc_and[] = {
    { "object_size_greater_than", "ObjectSizeGreaterThan" },
    { "object_size_less_than", "ObjectSizeLessThan" },
    { "prefix", "Prefix" },
    { "tags", "Tags", CM_TAGS },
    { NULL },
};
static const struct collectmap_field lc_tag[] = {
    { "key", "Key" },
    { "value", "Value" },
    { NULL },
};
static const struct collectmap_field lc_filter[] = {
    { "and", "And", CM_BLOCK, .nested = lc_and },
    { "object_size_greater_than", "ObjectSizeGreaterThan" },
    { "object_size_less_than", "ObjectSizeLessThan" },
    { "prefix", "Prefix" },
    { "tag", "Tag", CM_BLOCK, .nested = lc_tag },
    { NULL },
};
static const struct collectmap_field lc_noncurrent_expiration[] = {
    { "newer_noncurrent_versions", "NewerNoncurrentVersions" },
    { "noncurrent_days", "NoncurrentDays" },
    { NULL },
};
static const struct collectmap_field lc_noncurrent_transition[] = {
    { "newer_noncurrent_versions", "NewerNoncurrentVersions" },
    { "noncurrent_days", "NoncurrentDays" },
    { "storage_class", "StorageClass" },
    { NULL },
};
static const struct collectmap_field lc_transition[] = {
    { "date", "Date" },
    { "days", "Days" },
    { "storage_class", "StorageClass" },
    { NULL },
};
static const struct collectmap_field lc_rule[] = {
    { "abort_incomplete_multipart_upload", "AbortIncompleteMultipartUpload", CM_BLOCK,
      .nested = lc_abort },
    { "expiration", "Expiration", CM_BLOCK, .nested = lc_expiration },
    { "filter", "Filter", CM_BLOCK, .nested = lc_filter },
    { "id", "ID" },
    { "noncurrent_version_expiration", "NoncurrentVersionExpiration", CM_BLOCK,
      .nested = lc_noncurrent_expiration },
    { "noncurrent_version_transition", "NoncurrentVersionTransitions", CM_LIST,
      .nested = lc_noncurrent_transition },
    { "prefix", "Prefix" },
    { "status", "Status" },
    { "transition", "Transitions", CM_LIST, .nested = lc_transition },
    { NULL },
};
static const struct collectmap_field lifecycle_child[] = {
    { "rule", "Rules", CM_LIST, .nested = lc_rule },
    { "transition_default_minimum_object_size", "TransitionDefaultMinimumObjectSize" },
    { NULL },
};

/* The v3 lifecycle_rule block. */
static const struct collectmap_field v3_noncurrent_expiration[] = {
    { "days", "NoncurrentDays" },
    { NULL },
};
static const struct collectmap_field v3_rule[] = {
    { "abort_incomplete_multipart_upload_days",
      "AbortIncompleteMultipartUpload.DaysAfterInitiation" },
    { "enabled", "Status", CM_EQ, "Enabled" },
    { "expiration", "Expiration", CM_BLOCK, .nested = lc_expiration },
    { "id", "ID" },
    { "noncurrent_version_expiration", "NoncurrentVersionExpiration", CM_BLOCK,
      .nested = v3_noncurrent_expiration },
    { NULL },
};

/* The v3 block has one prefix and one tag map, wherever the rule keeps
 * them (a plain filter, an "and" filter, a single tag, the old top-level
 * prefix). */
static json_t *v3_lifecycle_rule(const json_t *rule)
{
    json_t *o = collectmap_object(rule, v3_rule);
    const json_t *prefix = collectmap_get(rule, "Filter.Prefix");
    const json_t *and_tags = collectmap_get(rule, "Filter.And.Tags");
    const json_t *tag = collectmap_get(rule, "Filter.Tag");
    json_t *tags;
    if (!o)
        return NULL;
    if (!prefix)
        prefix = collectmap_get(rule, "Filter.And.Prefix");
    if (!prefix)
        prefix = collectmap_get(rule, "Prefix");
    if (and_tags) {
        tags = collectmap_tags(and_tags);
    } else if (tag) {
        json_t *one = json_pack("[O]", (json_t *)tag);
        tags = one ? collectmap_tags(one) : NULL;
        json_decref(one);
    } else {
        tags = json_object();
    }
    if (collectmap_set(o, "prefix", prefix ? json_deep_copy(prefix) : json_null()) < 0 ||
        collectmap_set(o, "tags", tags) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int merge_lifecycle(struct collect_run *run, struct resource *parent, struct resource *child,
                           const json_t *output)
{
    json_t *v3 = json_array();
    size_t i;
    json_t *rule;
    if (!v3)
        return -ENOMEM;
    json_array_foreach (json_object_get(output, "Rules"), i, rule) {
        if (json_array_append_new(v3, v3_lifecycle_rule(rule)) < 0) {
            json_decref(v3);
            return -ENOMEM;
        }
    }
    if (collectmap_set(parent->attrs, "lifecycle_rule", v3) < 0)
        return -ENOMEM;
    if (!output)
        return 1;
    if (child_base(parent, child) < 0)
        return -ENOMEM;
    return collectmap_apply(child->attrs, output, lifecycle_child);
}

/* ---- tags and ACL ---- */

static int merge_tags(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    json_t *tags = collectmap_tags(json_object_get(output, "TagSet"));
    if (!tags)
        return -ENOMEM;
    json_decref(parent->tags);
    parent->tags = tags;
    return 0;
}

/* Null and absent both mean "not set". */
static bool same_value(const json_t *a, const json_t *b)
{
    if ((!a || json_is_null(a)) && (!b || json_is_null(b)))
        return true;
    return a && b && json_equal(a, b);
}

/* Terraform's v3 grant block: one element per grantee with the set of its
 * permissions, where the ACL lists one grant per permission. */
static int merge_acl(struct collect_run *run, struct resource *parent, struct resource *child,
                     const json_t *output)
{
    json_t *grants = json_array();
    size_t i;
    json_t *g;
    if (!grants)
        return -ENOMEM;
    json_array_foreach (json_object_get(output, "Grants"), i, g) {
        const json_t *who = json_object_get(g, "Grantee");
        const json_t *perm = json_object_get(g, "Permission");
        json_t *elem = NULL;
        size_t j;
        json_t *e;
        json_array_foreach (grants, j, e) {
            if (same_value(json_object_get(e, "type"), json_object_get(who, "Type")) &&
                same_value(json_object_get(e, "id"), json_object_get(who, "ID")) &&
                same_value(json_object_get(e, "uri"), json_object_get(who, "URI"))) {
                elem = e;
                break;
            }
        }
        if (!elem) {
            elem = json_pack("{s:O?, s:O?, s:O?, s:[]}", "id", json_object_get(who, "ID"), "type",
                             json_object_get(who, "Type"), "uri", json_object_get(who, "URI"),
                             "permissions");
            if (!elem || json_array_append_new(grants, elem) < 0)
                goto oom;
        }
        if (json_is_string(perm) &&
            json_array_append(json_object_get(elem, "permissions"), (json_t *)perm) < 0)
            goto oom;
    }
    return collectmap_set(parent->attrs, "grant", grants);
oom:
    json_decref(grants);
    return -ENOMEM;
}

/* ---- the bucket's details ---- */

static const char *const location_attrs[] = { "region", "bucket_regional_domain_name", NULL };
static const char *const sse_attrs[] = { "server_side_encryption_configuration", NULL };
static const char *const sse_absent[] = { "ServerSideEncryptionConfigurationNotFoundError", NULL };
static const char *const pab_absent[] = { "NoSuchPublicAccessBlockConfiguration", NULL };
static const char *const policy_attrs[] = { "policy", NULL };
static const char *const policy_absent[] = { "NoSuchBucketPolicy", NULL };
static const char *const versioning_attrs[] = { "versioning", NULL };
static const char *const logging_attrs[] = { "logging", NULL };
static const char *const lifecycle_attrs[] = { "lifecycle_rule", NULL };
static const char *const lifecycle_absent[] = { "NoSuchLifecycleConfiguration", NULL };
static const char *const tags_attrs[] = { "tags", NULL };
static const char *const tags_absent[] = { "NoSuchTagSet", NULL };
static const char *const acl_attrs[] = { "grant", NULL };

static const struct collect_detail bucket_details[] = {
    /* Everything else goes to the bucket's own region: find it first. */
    { .operation = "GetBucketLocation",
      .params = location_params,
      .merge = merge_location,
      .attrs = location_attrs,
      .gate = true },
    { .operation = "GetBucketEncryption",
      .params = bucket_params,
      .merge = merge_encryption,
      .absent_codes = sse_absent,
      .attrs = sse_attrs,
      .child_type = "aws_s3_bucket_server_side_encryption_configuration" },
    { .operation = "GetPublicAccessBlock",
      .params = bucket_params,
      .merge = merge_pab,
      .absent_codes = pab_absent,
      .child_type = "aws_s3_bucket_public_access_block" },
    { .operation = "GetBucketPolicy",
      .params = bucket_params,
      .merge = merge_policy,
      .absent_codes = policy_absent,
      .attrs = policy_attrs,
      .child_type = "aws_s3_bucket_policy" },
    { .operation = "GetBucketVersioning",
      .params = bucket_params,
      .merge = merge_versioning,
      .attrs = versioning_attrs,
      .child_type = "aws_s3_bucket_versioning" },
    { .operation = "GetBucketLogging",
      .params = bucket_params,
      .merge = merge_logging,
      .attrs = logging_attrs,
      .child_type = "aws_s3_bucket_logging" },
    { .operation = "GetBucketLifecycleConfiguration",
      .params = bucket_params,
      .merge = merge_lifecycle,
      .absent_codes = lifecycle_absent,
      .attrs = lifecycle_attrs,
      .child_type = "aws_s3_bucket_lifecycle_configuration" },
    { .operation = "GetBucketTagging",
      .params = bucket_params,
      .merge = merge_tags,
      .absent_codes = tags_absent,
      .attrs = tags_attrs },
    { .operation = "GetBucketAcl",
      .params = bucket_params,
      .merge = merge_acl,
      .attrs = acl_attrs },
    { 0 },
};

static const struct collect_list lists[] = {
    { .type = T_BUCKET,
      .aws_type = "AWS::S3::Bucket",
      .operation = "ListBuckets",
      /* Any parameter makes AWS add BucketRegion to every bucket. */
      .params = "{\"MaxBuckets\":10000}",
      .items = "Buckets[]",
      .all_pages = true,
      .regional_items = true,
      .map = map_bucket,
      .details = bucket_details },
    { 0 },
};

/* ---- the account's Block Public Access (custom part) ---- */

static void account_pab_done(struct collect_run *run, int result, const json_t *output,
                             const struct aws_error *err, void *userdata)
{
    const struct collect_options *o = collect_options(run);
    struct resource *r = NULL;
    char *detail;
    if (result < 0) {
        if (err && str_eq(err->code, "NoSuchPublicAccessBlockConfiguration")) {
            /* Never set: no document (the baseline FAILs on its absence). */
            collect_scope_status(run, T_ACCOUNT_PAB, COLLECT_OK, NULL);
        } else {
            detail = collect_error_detail(result, err);
            collect_scope_status(run, T_ACCOUNT_PAB,
                                 result == -ECANCELED ? COLLECT_ERROR : collect_status_of(err),
                                 detail);
            free(detail);
        }
        goto done;
    }
    if (collect_new_resource(run, T_ACCOUNT_PAB, "AWS::S3::AccountPublicAccessBlock", o->account,
                             &r) < 0 ||
        collectmap_set(r->attrs, "account_id", json_string(o->account)) < 0 ||
        collectmap_apply(r->attrs, output, pab_fields) < 0 || collect_add(run, r) < 0) {
        resource_free(r);
        collect_scope_status(run, T_ACCOUNT_PAB, COLLECT_ERROR, "out of memory");
        goto done;
    }
    collect_scope_status(run, T_ACCOUNT_PAB, COLLECT_OK, NULL);
done:
    collect_custom_done(run);
}

static int account_pab(struct collect_run *run)
{
    json_t *params = json_pack("{s:s}", "AccountId", collect_options(run)->account);
    int r;
    if (!params)
        return -ENOMEM;
    r = collect_call(run, "s3control", "GetPublicAccessBlock", params, false, NULL,
                     account_pab_done, NULL);
    json_decref(params);
    return r;
}

static const char *const extra_types[] = { T_ACCOUNT_PAB, NULL };

static const char *const iam_actions[] = {
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketPolicy",
    "s3:GetBucketVersioning",
    "s3:GetBucketLogging",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketTagging",
    "s3:GetBucketAcl",
    "s3:GetAccountPublicAccessBlock",
    NULL,
};

const struct collector_def collect_s3_def = {
    .name = "s3",
    .service = "s3",
    .global = true,
    .lists = lists,
    .extra_types = extra_types,
    .custom = account_pab,
    .iam_actions = iam_actions,
};
