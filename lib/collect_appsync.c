#include "collect_appsync.h"

#include <errno.h>

#include "fieldmap.h"
#include "util.h"

static const struct fieldmap log_fields[] = {
    { "cloudwatch_logs_role_arn", "cloudWatchLogsRoleArn" },
    { "exclude_verbose_content", "excludeVerboseContent" },
    { "field_log_level", "fieldLogLevel" },
    { NULL },
};

static const struct fieldmap api_fields[] = {
    { "api_type", "apiType" },
    { "arn", "arn" },
    { "authentication_type", "authenticationType" },
    { "introspection_config", "introspectionConfig" },
    { "log_config", "logConfig", FIELDMAP_BLOCK, log_fields },
    { "name", "name" },
    { "query_depth_limit", "queryDepthLimit" },
    { "resolver_count_limit", "resolverCountLimit" },
    { "uris", "uris" },
    { "visibility", "visibility" },
    { "xray_enabled", "xrayEnabled" },
    { NULL },
};

static int map_api(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *id = fieldmap_string(item, "apiId");
    const char *arn = fieldmap_string(item, "arn");
    const json_t *tags = json_object_get(item, "tags");
    int e;
    (void)run;
    if (!id || !*id)
        return -EINVAL;
    if (str_replace(&r->id, id) < 0 || (arn && str_replace(&r->arn, arn) < 0))
        return -ENOMEM;
    e = fieldmap_apply(r->attrs, item, api_fields);
    if (e < 0)
        return e;
    if (json_is_object(tags)) {
        json_t *t = json_deep_copy(tags);
        if (!t)
            return -ENOMEM;
        json_decref(r->tags);
        r->tags = t;
    }
    return 0;
}

static const struct collect_list lists[] = {
    { .type = "aws_appsync_graphql_api",
      .aws_type = "AWS::AppSync::GraphQLApi",
      .operation = "ListGraphqlApis",
      .params = "{\"maxResults\":25}",
      .items = "graphqlApis[]",
      .all_pages = true,
      .map = map_api },
    { 0 },
};

static const char *const iam_actions[] = {
    "appsync:ListGraphqlApis",
    NULL,
};

const struct collector_def collect_appsync = {
    .name = "appsync",
    .service = "appsync",
    .lists = lists,
    .iam_actions = iam_actions,
};
