#include "collect_kms.h"

#include <errno.h>
#include <stdlib.h>

#include "collectmap.h"
#include "util.h"

static int map_key(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *id = collectmap_string(item, "KeyId");
    const char *arn = collectmap_string(item, "KeyArn");
    if (!id || !*id)
        return -EINVAL;
    if (str_replace(&r->id, id) < 0 || (arn && str_replace(&r->arn, arn) < 0))
        return -ENOMEM;
    if (collectmap_set(r->attrs, "key_id", json_string(id)) < 0 ||
        collectmap_set(r->attrs, "arn", arn ? json_string(arn) : json_null()) < 0)
        return -ENOMEM;
    return 0;
}

static int key_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    *ret = json_pack("{s:s}", "KeyId", r->id);
    return *ret ? 0 : -ENOMEM;
}

static const struct collectmap_field key_fields[] = {
    { "arn", "Arn" },
    { "creation_date", "CreationDate" },
    { "custom_key_store_id", "CustomKeyStoreId" },
    { "description", "Description" },
    { "is_enabled", "Enabled" },
    { "key_id", "KeyId" },
    { "key_manager", "KeyManager" },
    { "key_state", "KeyState" },
    { "key_usage", "KeyUsage" },
    { "multi_region", "MultiRegion" },
    { "origin", "Origin" },
    { "xks_key_id", "XksKeyConfiguration.Id" },
    { NULL },
};

static int merge_describe(struct collect_run *run, struct resource *parent, struct resource *child,
                          const json_t *output)
{
    const json_t *meta = json_object_get(output, "KeyMetadata");
    const json_t *spec = json_object_get(meta, "KeySpec");
    const char *arn = collectmap_string(meta, "Arn");
    if (!json_is_object(meta))
        return -EINVAL;
    if (arn && str_replace(&parent->arn, arn) < 0)
        return -ENOMEM;
    /* Responses from before KeySpec existed carry only the deprecated
     * CustomerMasterKeySpec, with the same values. */
    if (!spec)
        spec = json_object_get(meta, "CustomerMasterKeySpec");
    if (collectmap_set(parent->attrs, "customer_master_key_spec",
                       spec ? json_deep_copy(spec) : json_null()) < 0)
        return -ENOMEM;
    return collectmap_apply(parent->attrs, meta, key_fields);
}

static bool is_customer(const struct resource *r)
{
    return str_eq(collectmap_string(r->attrs, "key_manager"), "CUSTOMER");
}

static int customer_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    if (!is_customer(r))
        return 1;
    return key_params(run, r, ret);
}

/* Automatic rotation exists only for symmetric encryption keys whose key
 * material KMS generated (not imported, not in a custom key store). */
static int rotation_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    if (!is_customer(r) ||
        !str_eq(collectmap_string(r->attrs, "customer_master_key_spec"), "SYMMETRIC_DEFAULT") ||
        !str_eq(collectmap_string(r->attrs, "origin"), "AWS_KMS"))
        return 1;
    return key_params(run, r, ret);
}

static const struct collectmap_field rotation_fields[] = {
    { "enable_key_rotation", "KeyRotationEnabled" },
    { "rotation_period_in_days", "RotationPeriodInDays" },
    { NULL },
};

static int merge_rotation(struct collect_run *run, struct resource *parent, struct resource *child,
                          const json_t *output)
{
    /* Not supported for this key after all: leave it unset. */
    if (!output)
        return 0;
    return collectmap_apply(parent->attrs, output, rotation_fields);
}

static int policy_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    if (!is_customer(r))
        return 1;
    *ret = json_pack("{s:s, s:s}", "KeyId", r->id, "PolicyName", "default");
    return *ret ? 0 : -ENOMEM;
}

static int merge_policy(struct collect_run *run, struct resource *parent, struct resource *child,
                        const json_t *output)
{
    return collectmap_set(parent->attrs, "policy",
                          collectmap_json_text(json_object_get(output, "Policy")));
}

/* ListResourceTags pages: each adds its tags. */
static int merge_tags(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    json_t *tags = collectmap_tags(json_object_get(output, "Tags"));
    int r;
    if (!tags)
        return -ENOMEM;
    r = json_object_update(parent->tags, tags) == 0 ? 0 : -ENOMEM;
    json_decref(tags);
    return r;
}

/* What DescribeKey failing leaves unknown: its own attributes, and those of
 * the later calls, which cannot tell whether the key is the customer's. */
static const char *const describe_attrs[] = {
    "creation_date",
    "custom_key_store_id",
    "customer_master_key_spec",
    "description",
    "is_enabled",
    "key_manager",
    "key_state",
    "key_usage",
    "multi_region",
    "origin",
    "xks_key_id",
    "policy",
    "enable_key_rotation",
    "rotation_period_in_days",
    "tags",
    NULL,
};
static const char *const rotation_attrs[] = { "enable_key_rotation", "rotation_period_in_days",
                                              NULL };
static const char *const rotation_absent[] = { "UnsupportedOperationException", NULL };
static const char *const policy_attrs[] = { "policy", NULL };
static const char *const tags_attrs[] = { "tags", NULL };

static const struct collect_detail key_details[] = {
    { .operation = "DescribeKey",
      .params = key_params,
      .merge = merge_describe,
      .attrs = describe_attrs,
      .gate = true },
    { .operation = "GetKeyRotationStatus",
      .params = rotation_params,
      .merge = merge_rotation,
      .absent_codes = rotation_absent,
      .attrs = rotation_attrs },
    { .operation = "GetKeyPolicy",
      .params = policy_params,
      .merge = merge_policy,
      .attrs = policy_attrs },
    { .operation = "ListResourceTags",
      .params = customer_params,
      .merge = merge_tags,
      .attrs = tags_attrs,
      .all_pages = true },
    { 0 },
};

static int map_alias(struct collect_run *run, const json_t *item, struct resource *r)
{
    const struct collect_options *o = collect_options(run);
    const char *name = collectmap_string(item, "AliasName");
    const char *arn = collectmap_string(item, "AliasArn");
    const char *target = collectmap_string(item, "TargetKeyId");
    char *key_arn;
    int e;
    if (!name || !*name)
        return -EINVAL;
    /* AWS lists the aliases of AWS-managed keys it has not created yet,
     * without a target: nothing exists behind them. */
    if (!target || !*target)
        return 1;
    key_arn = str_printf("arn:%s:kms:%s:%s:key/%s", o->partition, o->region, o->account, target);
    if (!key_arn)
        return -ENOMEM;
    e = str_replace(&r->id, name) < 0 || (arn && str_replace(&r->arn, arn) < 0) ||
                collectmap_set(r->attrs, "name", json_string(name)) < 0 ||
                collectmap_set(r->attrs, "arn", arn ? json_string(arn) : json_null()) < 0 ||
                collectmap_set(r->attrs, "target_key_id", json_string(target)) < 0 ||
                collectmap_set(r->attrs, "target_key_arn", json_string(key_arn)) < 0
            ? -ENOMEM
            : 0;
    free(key_arn);
    return e;
}

static const struct collect_list lists[] = {
    { .type = "aws_kms_key",
      .aws_type = "AWS::KMS::Key",
      .operation = "ListKeys",
      .params = "{\"Limit\":1000}",
      .items = "Keys[]",
      .all_pages = true,
      .map = map_key,
      .details = key_details },
    { .type = "aws_kms_alias",
      .aws_type = "AWS::KMS::Alias",
      .operation = "ListAliases",
      .params = "{\"Limit\":100}",
      .items = "Aliases[]",
      .all_pages = true,
      .map = map_alias },
    { 0 },
};

static const char *const iam_actions[] = {
    "kms:ListKeys",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
    "kms:ListResourceTags",
    "kms:ListAliases",
    NULL,
};

const struct collector_def collect_kms_def = {
    .name = "kms",
    .service = "kms",
    .lists = lists,
    .iam_actions = iam_actions,
};
