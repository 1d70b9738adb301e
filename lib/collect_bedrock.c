#include "collect_bedrock.h"

#include <errno.h>

#include "fieldmap.h"
#include "util.h"

static const struct fieldmap s3_fields[] = {
    { "bucket_name", "bucketName" },
    { "key_prefix", "keyPrefix" },
    { NULL },
};

static const struct fieldmap cloudwatch_fields[] = {
    { "large_data_delivery_s3_config", "largeDataDeliveryS3Config", FIELDMAP_BLOCK, s3_fields },
    { "log_group_name", "logGroupName" },
    { "role_arn", "roleArn" },
    { NULL },
};

static const struct fieldmap logging_fields[] = {
    { "cloudwatch_config", "cloudWatchConfig", FIELDMAP_BLOCK, cloudwatch_fields },
    { "embedding_data_delivery_enabled", "embeddingDataDeliveryEnabled" },
    { "image_data_delivery_enabled", "imageDataDeliveryEnabled" },
    { "s3_config", "s3Config", FIELDMAP_BLOCK, s3_fields },
    { "text_data_delivery_enabled", "textDataDeliveryEnabled" },
    { "video_data_delivery_enabled", "videoDataDeliveryEnabled" },
    { NULL },
};

static const struct fieldmap config_fields[] = {
    { "logging_config", "", FIELDMAP_BLOCK, logging_fields },
    { NULL },
};

/* The item is the loggingConfig object. */
static int map_config(struct collect_run *run, const json_t *item, struct resource *r)
{
    if (!json_is_object(item) || json_object_size(item) == 0)
        return 1; /* logging off */
    if (str_replace(&r->id, collect_options(run)->region) < 0)
        return -ENOMEM;
    return fieldmap_apply(r->attrs, item, config_fields);
}

static const struct collect_list lists[] = {
    { .type = "aws_bedrock_model_invocation_logging_configuration",
      .operation = "GetModelInvocationLoggingConfiguration",
      .items = "loggingConfig",
      .map = map_config },
    { 0 },
};

static const char *const iam_actions[] = {
    "bedrock:GetModelInvocationLoggingConfiguration",
    NULL,
};

const struct collector_def collect_bedrock = {
    .name = "bedrock",
    .service = "bedrock",
    .lists = lists,
    .iam_actions = iam_actions,
};
