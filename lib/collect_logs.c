#include "collect_logs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectmap.h"
#include "util.h"

static const struct collectmap_field group_fields[] = {
    { "name", "logGroupName" },
    { "kms_key_id", "kmsKeyId" },
    { "retention_in_days", "retentionInDays" },
    { "log_group_class", "logGroupClass" },
    { "deletion_protection_enabled", "deletionProtectionEnabled" },
    { NULL },
};

/* Terraform's arn is the log group ARN without the ":*" that the older
 * "arn" member carries; logGroupArn is exactly that. */
static char *group_arn(const json_t *item)
{
    const char *arn = collectmap_string(item, "logGroupArn");
    if (arn)
        return strdup(arn);
    arn = collectmap_string(item, "arn");
    if (!arn)
        return NULL;
    if (str_has_suffix(arn, ":*"))
        return str_ndup(arn, strlen(arn) - 2);
    return strdup(arn);
}

static int map_group(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *name = collectmap_string(item, "logGroupName");
    char *arn;
    if (!name)
        return -EINVAL;
    if (str_replace(&r->id, name) < 0)
        return -ENOMEM;
    arn = group_arn(item);
    if (arn) {
        free(r->arn);
        r->arn = arn;
    }
    if (collectmap_apply(r->attrs, item, group_fields) < 0 ||
        collectmap_set(r->attrs, "arn", arn ? json_string(arn) : json_null()) < 0)
        return -ENOMEM;
    return 0;
}

static int tags_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    if (!r->arn)
        return 1; /* nothing to ask by: tags stay unread */
    *ret = json_pack("{s:s}", "resourceArn", r->arn);
    return *ret ? 0 : -ENOMEM;
}

static int merge_tags(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    json_t *tags = collectmap_tags(json_object_get(output, "tags"));
    if (!tags)
        return -ENOMEM;
    json_decref(parent->tags);
    parent->tags = tags;
    return 0;
}

/* The group went away between the listing and this call: no tags. */
static const char *const tags_absent[] = { "ResourceNotFoundException", NULL };
static const char *const tags_attrs[] = { "tags", NULL };

static const struct collect_detail group_details[] = {
    { .operation = "ListTagsForResource",
      .params = tags_params,
      .merge = merge_tags,
      .absent_codes = tags_absent,
      .attrs = tags_attrs },
    { 0 },
};

static const struct collect_list lists[] = {
    { .type = "aws_cloudwatch_log_group",
      .aws_type = "AWS::Logs::LogGroup",
      .operation = "DescribeLogGroups",
      .params = "{\"limit\":50}",
      .items = "logGroups[]",
      .all_pages = true,
      .map = map_group,
      .details = group_details },
    { 0 },
};

static const char *const iam_actions[] = {
    "logs:DescribeLogGroups",
    "logs:ListTagsForResource",
    NULL,
};

const struct collector_def collect_logs_def = {
    .name = "logs",
    .service = "logs",
    .lists = lists,
    .iam_actions = iam_actions,
};
