#include "collect_configsvc.h"

#include <errno.h>
#include <stdlib.h>

#include "collectmap.h"
#include "util.h"

static const struct collectmap_field exclusion_fields[] = {
    { "resource_types", "resourceTypes" },
    { NULL },
};

static const struct collectmap_field strategy_fields[] = {
    { "use_only", "useOnly" },
    { NULL },
};

static const struct collectmap_field group_fields[] = {
    { "all_supported", "allSupported" },
    { "exclusion_by_resource_types", "exclusionByResourceTypes", CM_BLOCK,
      .nested = exclusion_fields },
    { "include_global_resource_types", "includeGlobalResourceTypes" },
    { "recording_strategy", "recordingStrategy", CM_BLOCK, .nested = strategy_fields },
    { "resource_types", "resourceTypes" },
    { NULL },
};

static const struct collectmap_field override_fields[] = {
    { "description", "description" },
    { "recording_frequency", "recordingFrequency" },
    { "resource_types", "resourceTypes" },
    { NULL },
};

static const struct collectmap_field mode_fields[] = {
    { "recording_frequency", "recordingFrequency" },
    { "recording_mode_override", "recordingModeOverrides", CM_LIST, .nested = override_fields },
    { NULL },
};

static const struct collectmap_field recorder_fields[] = {
    { "name", "name" },
    { "role_arn", "roleARN" },
    { "recording_group", "recordingGroup", CM_BLOCK, .nested = group_fields },
    { "recording_mode", "recordingMode", CM_BLOCK, .nested = mode_fields },
    { NULL },
};

static const struct collectmap_field status_fields[] = {
    { "name", "name" },
    { "is_enabled", "recording" },
    { "last_status", "lastStatus" },
    { "last_error_code", "lastErrorCode" },
    { NULL },
};

static const struct collectmap_field snapshot_fields[] = {
    { "delivery_frequency", "deliveryFrequency" },
    { NULL },
};

static const struct collectmap_field delivery_fields[] = {
    { "name", "name" },
    { "s3_bucket_name", "s3BucketName" },
    { "s3_key_prefix", "s3KeyPrefix" },
    { "s3_kms_key_arn", "s3KmsKeyArn" },
    { "sns_topic_arn", "snsTopicARN" },
    { "snapshot_delivery_properties", "configSnapshotDeliveryProperties", CM_BLOCK,
      .nested = snapshot_fields },
    { NULL },
};

/* Every item is named; the name is the id Terraform imports it by. */
static int map_named(const json_t *item, struct resource *r, const struct collectmap_field *fields)
{
    const char *name = collectmap_string(item, "name");
    if (!name || !*name)
        return -EINVAL;
    if (str_replace(&r->id, name) < 0)
        return -ENOMEM;
    return collectmap_apply(r->attrs, item, fields);
}

static int map_recorder(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *arn = collectmap_string(item, "arn");
    if (arn && str_replace(&r->arn, arn) < 0)
        return -ENOMEM;
    return map_named(item, r, recorder_fields);
}

static int map_status(struct collect_run *run, const json_t *item, struct resource *r)
{
    return map_named(item, r, status_fields);
}

static int map_channel(struct collect_run *run, const json_t *item, struct resource *r)
{
    return map_named(item, r, delivery_fields);
}

static const struct collect_list lists[] = {
    { .type = "aws_config_configuration_recorder",
      .aws_type = "AWS::Config::ConfigurationRecorder",
      .operation = "DescribeConfigurationRecorders",
      .items = "ConfigurationRecorders[]",
      .map = map_recorder },
    { .type = "aws_config_configuration_recorder_status",
      .operation = "DescribeConfigurationRecorderStatus",
      .items = "ConfigurationRecordersStatus[]",
      .map = map_status },
    { .type = "aws_config_delivery_channel",
      .operation = "DescribeDeliveryChannels",
      .items = "DeliveryChannels[]",
      .map = map_channel },
    { 0 },
};

static const char *const iam_actions[] = {
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeDeliveryChannels",
    NULL,
};

const struct collector_def collect_configsvc_def = {
    .name = "configservice",
    .service = "config",
    .lists = lists,
    .iam_actions = iam_actions,
};
