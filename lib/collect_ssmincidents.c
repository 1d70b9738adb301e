#include "collect_ssmincidents.h"

#include <errno.h>

#include "collectq.h"
#include "fieldmap.h"
#include "util.h"

static const struct fieldmap region_fields[] = {
    { "kms_key_arn", "sseKmsKeyId" },
    { "status", "status" },
    { "status_message", "statusMessage" },
    { NULL },
};

static const struct fieldmap set_fields[] = {
    { "created_by", "createdBy" },
    { "deletion_protected", "deletionProtected" },
    { "last_modified_by", "lastModifiedBy" },
    { "region", "regionMap", FIELDMAP_KEYED, region_fields, "name" },
    { "status", "status" },
    { NULL },
};

static const struct fieldmap parameter_fields[] = {
    { "values", "" },
    { NULL },
};

static const struct fieldmap ssm_fields[] = {
    { "document_name", "documentName" },
    { "document_version", "documentVersion" },
    { "dynamic_parameters", "dynamicParameters", FIELDMAP_MAP_MEMBER, NULL, "variable" },
    { "parameter", "parameters", FIELDMAP_KEYED, parameter_fields, "name" },
    { "role_arn", "roleArn" },
    { "target_account", "targetAccount" },
    { NULL },
};

static const struct fieldmap action_fields[] = {
    { "ssm_automation", "ssmAutomation", FIELDMAP_BLOCK, ssm_fields },
    { NULL },
};

static const struct fieldmap target_fields[] = {
    { "sns_topic_arn", "snsTopicArn" },
    { NULL },
};

static const struct fieldmap template_fields[] = {
    { "dedupe_string", "dedupeString" },
    { "impact", "impact" },
    { "incident_tags", "incidentTags" },
    { "notification_target", "notificationTargets", FIELDMAP_BLOCKS, target_fields },
    { "summary", "summary" },
    { "title", "title" },
    { NULL },
};

static const struct fieldmap pagerduty_fields[] = {
    { "name", "name" },
    { "secret_id", "secretId" },
    { "service_id", "pagerDutyIncidentConfiguration.serviceId" },
    { NULL },
};

static const struct fieldmap integration_fields[] = {
    { "pagerduty", "pagerDutyConfiguration", FIELDMAP_BLOCK, pagerduty_fields },
    { NULL },
};

static const struct fieldmap plan_summary_fields[] = {
    { "arn", "arn" },
    { "display_name", "displayName" },
    { "name", "name" },
    { NULL },
};

/* GetResponsePlan's output. */
static const struct fieldmap plan_fields[] = {
    { "action", "actions", FIELDMAP_BLOCKS, action_fields },
    { "arn", "arn" },
    { "chat_channel", "chatChannel.chatbotSns" },
    { "display_name", "displayName" },
    { "engagements", "engagements" },
    { "incident_template", "incidentTemplate", FIELDMAP_BLOCK, template_fields },
    { "integration", "integrations", FIELDMAP_BLOCKS, integration_fields },
    { "name", "name" },
    { NULL },
};

static int arn_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    (void)run;
    *ret = json_pack("{s:s}", "arn", r->id);
    return *ret ? 0 : -ENOMEM;
}

static int tags_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    (void)run;
    *ret = json_pack("{s:s}", "resourceArn", r->id);
    return *ret ? 0 : -ENOMEM;
}

/* ---- replication set ---- */

/* The items of ListReplicationSets are the ARNs themselves. */
static int map_set(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *arn = json_string_value(item);
    (void)run;
    if (!arn || !*arn)
        return -EINVAL;
    if (str_replace(&r->id, arn) < 0 || str_replace(&r->arn, arn) < 0 ||
        json_object_set_new(r->attrs, "arn", json_string(arn)) < 0)
        return -ENOMEM;
    return 0;
}

static int merge_set(struct collect_run *run, struct resource *parent, struct resource *child,
                     const json_t *output)
{
    const json_t *set = json_object_get(output, "replicationSet");
    (void)run;
    (void)child;
    if (!json_is_object(set))
        return -EINVAL;
    return fieldmap_apply(parent->attrs, set, set_fields);
}

static int merge_tags(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    const json_t *tags = json_object_get(output, "tags");
    json_t *t;
    (void)run;
    (void)child;
    if (!json_is_object(tags))
        return -EINVAL;
    t = json_deep_copy(tags);
    if (!t)
        return -ENOMEM;
    json_decref(parent->tags);
    parent->tags = t;
    return 0;
}

static const char *const set_detail_attrs[] = {
    "created_by", "deletion_protected", "last_modified_by", "region", "status", NULL,
};
static const char *const tags_attrs[] = { "tags", NULL };

static const struct collect_detail set_details[] = {
    { .operation = "GetReplicationSet",
      .params = arn_params,
      .merge = merge_set,
      .attrs = set_detail_attrs },
    { .operation = "ListTagsForResource",
      .params = tags_params,
      .merge = merge_tags,
      .attrs = tags_attrs },
    { 0 },
};

/* ---- response plans ---- */

static int map_plan(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *arn = fieldmap_string(item, "arn");
    int e;
    (void)run;
    if (!arn || !*arn)
        return -EINVAL;
    if (str_replace(&r->id, arn) < 0 || str_replace(&r->arn, arn) < 0)
        return -ENOMEM;
    e = fieldmap_apply(r->attrs, item, plan_summary_fields);
    return e < 0 ? e : collectq_tags_not_read(r);
}

static int merge_plan(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    (void)run;
    (void)child;
    return fieldmap_apply(parent->attrs, output, plan_fields);
}

static const char *const plan_detail_attrs[] = {
    "action", "chat_channel", "engagements", "incident_template", "integration", NULL,
};

static const struct collect_detail plan_details[] = {
    { .operation = "GetResponsePlan",
      .params = arn_params,
      .merge = merge_plan,
      .attrs = plan_detail_attrs },
    { 0 },
};

static const struct collect_list lists[] = {
    { .type = "aws_ssmincidents_replication_set",
      .operation = "ListReplicationSets",
      .params = "{\"maxResults\":100}",
      .items = "replicationSetArns[]",
      .all_pages = true,
      .map = map_set,
      .details = set_details },
    { .type = "aws_ssmincidents_response_plan",
      .operation = "ListResponsePlans",
      .params = "{\"maxResults\":100}",
      .items = "responsePlanSummaries[]",
      .all_pages = true,
      .map = map_plan,
      .details = plan_details },
    { 0 },
};

static const char *const iam_actions[] = {
    "ssm-incidents:GetReplicationSet",   "ssm-incidents:GetResponsePlan",
    "ssm-incidents:ListReplicationSets", "ssm-incidents:ListResponsePlans",
    "ssm-incidents:ListTagsForResource", NULL,
};

const struct collector_def collect_ssmincidents = {
    .name = "ssmincidents",
    .service = "ssm-incidents",
    .global = true,
    .lists = lists,
    .iam_actions = iam_actions,
};
