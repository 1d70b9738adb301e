#include "collect_apigateway.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_kit.h"
#include "util.h"

static const char *const not_found[] = { "NotFoundException", NULL };

/* The DNS suffix of a partition, for invoke URLs. */
static const char *dns_suffix(const char *partition)
{
    return str_eq(partition, "aws-cn") ? "amazonaws.com.cn" : "amazonaws.com";
}

/* API Gateway returns the resource policy with its quotes escaped; like
 * Terraform, unescape it before it is compared. */
static json_t *conv_policy(const json_t *v)
{
    const char *s = json_string_value(v);
    char *quoted;
    json_t *decoded;
    if (!s)
        return json_null();
    quoted = str_printf("\"%s\"", s);
    if (!quoted)
        return NULL;
    decoded = json_loads(quoted, JSON_DECODE_ANY, NULL);
    free(quoted);
    if (json_is_string(decoded))
        return decoded;
    json_decref(decoded);
    return json_string(s);
}

/* An integer kept as a string by Terraform v5 ("" when unset). */
static json_t *conv_int_string(const json_t *v)
{
    char *s;
    json_t *out;
    if (!json_is_integer(v))
        return json_string("");
    s = str_printf("%lld", (long long)json_integer_value(v));
    out = s ? json_string(s) : NULL;
    free(s);
    return out;
}

static int set_tag_map(struct resource *r, const json_t *map)
{
    json_t *tags = json_object();
    const char *k;
    json_t *v;
    if (!tags)
        return -ENOMEM;
    json_object_foreach ((json_t *)map, k, v)
        if (json_is_string(v) && json_object_set(tags, k, v) < 0) {
            json_decref(tags);
            return -ENOMEM;
        }
    json_decref(r->tags);
    r->tags = tags;
    return 0;
}

/* ---- REST APIs ---- */

static const struct ck_field endpoint_fields[] = {
    { "types", "types", CK_LIST },
    { "vpc_endpoint_ids", "vpcEndpointIds", CK_LIST },
    { NULL },
};
static const struct ck_field rest_fields[] = {
    { "api_key_source", "apiKeySource" },
    { "binary_media_types", "binaryMediaTypes", CK_LIST },
    { "created_date", "createdDate" },
    { "description", "description" },
    { "disable_execute_api_endpoint", "disableExecuteApiEndpoint" },
    { "endpoint_configuration", "endpointConfiguration", CK_BLOCK, endpoint_fields },
    { "minimum_compression_size", "minimumCompressionSize", CK_CONV, NULL, conv_int_string },
    { "name", "name" },
    { "policy", "policy", CK_CONV, NULL, conv_policy },
    { "root_resource_id", "rootResourceId" },
    { NULL },
};

static const struct ck_field access_log_fields[] = {
    { "destination_arn", "destinationArn" },
    { "format", "format" },
    { NULL },
};
static const struct ck_field canary_fields[] = {
    { "deployment_id", "deploymentId" },
    { "percent_traffic", "percentTraffic" },
    { "stage_variable_overrides", "stageVariableOverrides", CK_CONV, NULL, ck_conv_object },
    { "use_stage_cache", "useStageCache" },
    { NULL },
};
static const struct ck_field stage_fields[] = {
    { "access_log_settings", "accessLogSettings", CK_BLOCK, access_log_fields },
    { "cache_cluster_enabled", "cacheClusterEnabled" },
    { "cache_cluster_size", "cacheClusterSize" },
    { "canary_settings", "canarySettings", CK_BLOCK, canary_fields },
    { "client_certificate_id", "clientCertificateId" },
    { "deployment_id", "deploymentId" },
    { "description", "description" },
    { "documentation_version", "documentationVersion" },
    { "stage_name", "stageName" },
    { "variables", "variables", CK_CONV, NULL, ck_conv_object },
    { "web_acl_arn", "webAclArn" },
    { "xray_tracing_enabled", "tracingEnabled" },
    { NULL },
};
static const struct ck_field method_setting_fields[] = {
    { "cache_data_encrypted", "cacheDataEncrypted" },
    { "cache_ttl_in_seconds", "cacheTtlInSeconds" },
    { "caching_enabled", "cachingEnabled" },
    { "data_trace_enabled", "dataTraceEnabled" },
    { "logging_level", "loggingLevel" },
    { "metrics_enabled", "metricsEnabled" },
    { "require_authorization_for_cache_control", "requireAuthorizationForCacheControl" },
    { "throttling_burst_limit", "throttlingBurstLimit" },
    { "throttling_rate_limit", "throttlingRateLimit" },
    { "unauthorized_cache_control_header_strategy", "unauthorizedCacheControlHeaderStrategy" },
    { NULL },
};

/* ---- HTTP and WebSocket APIs ---- */

static const struct ck_field cors_fields[] = {
    { "allow_credentials", "AllowCredentials" },
    { "allow_headers", "AllowHeaders", CK_LIST },
    { "allow_methods", "AllowMethods", CK_LIST },
    { "allow_origins", "AllowOrigins", CK_LIST },
    { "expose_headers", "ExposeHeaders", CK_LIST },
    { "max_age", "MaxAge" },
    { NULL },
};
static const struct ck_field v2_api_fields[] = {
    { "api_endpoint", "ApiEndpoint" },
    { "api_key_selection_expression", "ApiKeySelectionExpression" },
    { "cors_configuration", "CorsConfiguration", CK_BLOCK, cors_fields },
    { "description", "Description" },
    { "disable_execute_api_endpoint", "DisableExecuteApiEndpoint" },
    { "ip_address_type", "IpAddressType" },
    { "name", "Name" },
    { "protocol_type", "ProtocolType" },
    { "route_selection_expression", "RouteSelectionExpression" },
    { "version", "Version" },
    { NULL },
};
static const struct ck_field v2_access_log_fields[] = {
    { "destination_arn", "DestinationArn" },
    { "format", "Format" },
    { NULL },
};
static const struct ck_field route_settings_fields[] = {
    { "data_trace_enabled", "DataTraceEnabled" },
    { "detailed_metrics_enabled", "DetailedMetricsEnabled" },
    { "logging_level", "LoggingLevel" },
    { "throttling_burst_limit", "ThrottlingBurstLimit" },
    { "throttling_rate_limit", "ThrottlingRateLimit" },
    { NULL },
};
static const struct ck_field v2_stage_fields[] = {
    { "access_log_settings", "AccessLogSettings", CK_BLOCK, v2_access_log_fields },
    { "api_gateway_managed", "ApiGatewayManaged" },
    { "auto_deploy", "AutoDeploy" },
    { "client_certificate_id", "ClientCertificateId" },
    { "default_route_settings", "DefaultRouteSettings", CK_BLOCK, route_settings_fields },
    { "deployment_id", "DeploymentId" },
    { "description", "Description" },
    { "name", "StageName" },
    { "stage_variables", "StageVariables", CK_CONV, NULL, ck_conv_object },
    { NULL },
};

/* ---- the run ---- */

struct api {
    const json_t *item; /* borrowed from the listing slot */
    struct ck_slot stages;
};

struct apigw_state {
    struct ck_slot rest, v2;
    struct api *rest_apis, *v2_apis;
    size_t n_rest, n_v2;
    int phase;
    bool oom;
};

static void state_free(struct apigw_state *s)
{
    for (size_t i = 0; i < s->n_rest; i++)
        ck_slot_clear(&s->rest_apis[i].stages);
    for (size_t i = 0; i < s->n_v2; i++)
        ck_slot_clear(&s->v2_apis[i].stages);
    free(s->rest_apis);
    free(s->v2_apis);
    ck_slot_clear(&s->rest);
    ck_slot_clear(&s->v2);
    free(s);
}

static int queue_stages(struct ck *ck, const struct ck_slot *list, const char *service,
                        const char *id_member, const char *param, bool all_pages, const char *items,
                        struct api **ret, size_t *n)
{
    size_t i;
    json_t *api;
    if (!ck_slot_ok(list))
        return 0;
    *ret = calloc(json_array_size(list->items) + 1, sizeof(**ret));
    if (!*ret)
        return -ENOMEM;
    json_array_foreach (list->items, i, api) {
        const char *id = ck_str(api, id_member);
        struct ck_request req = { .service = service,
                                  .operation = "GetStages",
                                  .items = items,
                                  .all_pages = all_pages,
                                  .absent_codes = not_found };
        struct api *a = &(*ret)[*n];
        if (!id)
            continue;
        a->item = api;
        (*n)++;
        req.params = json_pack("{s:s}", param, id);
        if (!req.params || ck_call_slot(ck, &req, &a->stages) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int build_method_settings(struct collect_run *run, const char *api_id, const char *stage,
                                 const json_t *settings)
{
    const char *path;
    json_t *v;
    json_object_foreach ((json_t *)settings, path, v) {
        struct resource *r = NULL;
        char *id = str_printf("%s/%s/%s", api_id, stage, path);
        json_t *block;
        int e = id ? ck_resource(run, "aws_api_gateway_method_settings", NULL, id, NULL, false, &r)
                   : -ENOMEM;
        free(id);
        if (e < 0)
            return e;
        block = json_array();
        if (ck_set(r->attrs, "settings", block) < 0 ||
            json_array_append_new(block, ck_object(v, method_setting_fields)) < 0 ||
            ck_set_str(r->attrs, "method_path", path) < 0 ||
            ck_set_str(r->attrs, "rest_api_id", api_id) < 0 ||
            ck_set_str(r->attrs, "stage_name", stage) < 0) {
            resource_free(r);
            return -ENOMEM;
        }
        if (ck_add(run, r) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int build_rest_stage(struct collect_run *run, const char *api_id, const json_t *item)
{
    const struct collect_options *o = collect_options(run);
    const char *name = ck_str(item, "stageName");
    const json_t *settings = json_object_get(item, "methodSettings");
    json_t *map = json_object();
    struct resource *r = NULL;
    char *id = NULL, *arn = NULL, *exec = NULL, *url = NULL;
    const char *path;
    json_t *v;
    int e = -ENOMEM;
    if (!map)
        return -ENOMEM;
    if (!name) {
        json_decref(map);
        return -EINVAL;
    }
    id = str_printf("%s/%s", api_id, name);
    arn = str_printf("arn:%s:apigateway:%s::/restapis/%s/stages/%s", o->partition, o->region,
                     api_id, name);
    exec = str_printf("arn:%s:execute-api:%s:%s:%s/%s", o->partition, o->region, o->account, api_id,
                      name);
    url = str_printf("https://%s.execute-api.%s.%s/%s", api_id, o->region, dns_suffix(o->partition),
                     name);
    if (!id || !arn || !exec || !url ||
        ck_resource(run, "aws_api_gateway_stage", "AWS::ApiGateway::Stage", id, arn, true, &r) < 0)
        goto out;
    json_object_foreach ((json_t *)settings, path, v)
        if (json_object_set_new(map, path, ck_object(v, method_setting_fields)) < 0)
            goto out;
    if (ck_map(r->attrs, item, stage_fields) < 0 ||
        ck_set(r->attrs, "method_settings", json_incref(map)) < 0 ||
        ck_set_str(r->attrs, "rest_api_id", api_id) < 0 ||
        ck_set_str(r->attrs, "execution_arn", exec) < 0 ||
        ck_set_str(r->attrs, "invoke_url", url) < 0 ||
        set_tag_map(r, json_object_get(item, "tags")) < 0)
        goto out;
    e = ck_add(run, r);
    r = NULL;
    if (e == 0)
        e = build_method_settings(run, api_id, name, settings);
out:
    resource_free(r);
    json_decref(map);
    free(id);
    free(arn);
    free(exec);
    free(url);
    return e;
}

static int build_rest_api(struct collect_run *run, const json_t *item)
{
    const struct collect_options *o = collect_options(run);
    const char *id = ck_str(item, "id");
    struct resource *r = NULL;
    char *arn, *exec;
    int e = -ENOMEM;
    arn = str_printf("arn:%s:apigateway:%s::/restapis/%s", o->partition, o->region, id);
    exec = str_printf("arn:%s:execute-api:%s:%s:%s", o->partition, o->region, o->account, id);
    if (!arn || !exec ||
        ck_resource(run, "aws_api_gateway_rest_api", "AWS::ApiGateway::RestApi", id, arn, true,
                    &r) < 0)
        goto out;
    if (ck_map(r->attrs, item, rest_fields) < 0 ||
        ck_set_str(r->attrs, "execution_arn", exec) < 0 ||
        set_tag_map(r, json_object_get(item, "tags")) < 0) {
        resource_free(r);
        goto out;
    }
    e = ck_add(run, r);
out:
    free(arn);
    free(exec);
    return e;
}

static json_t *route_settings(const json_t *map)
{
    json_t *arr = json_array();
    const char *key;
    json_t *v;
    if (!arr)
        return NULL;
    json_object_foreach ((json_t *)map, key, v) {
        json_t *o = ck_object(v, route_settings_fields);
        if (!o || json_array_append_new(arr, o) < 0 || ck_set_str(o, "route_key", key) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int build_v2_stage(struct collect_run *run, const json_t *api, const json_t *item)
{
    const struct collect_options *o = collect_options(run);
    const char *api_id = ck_str(api, "ApiId");
    const char *name = ck_str(item, "StageName");
    bool ws = str_eq(ck_str(api, "ProtocolType"), "WEBSOCKET");
    struct resource *r = NULL;
    char *id = NULL, *arn = NULL, *exec = NULL, *url = NULL;
    int e = -ENOMEM;
    if (!name)
        return -EINVAL;
    id = str_printf("%s/%s", api_id, name);
    arn = str_printf("arn:%s:apigateway:%s::/apis/%s/stages/%s", o->partition, o->region, api_id,
                     name);
    exec = str_printf("arn:%s:execute-api:%s:%s:%s/%s", o->partition, o->region, o->account, api_id,
                      name);
    /* The $default stage of an HTTP API is served at the root. */
    url = str_printf("%s://%s.execute-api.%s.%s/%s", ws ? "wss" : "https", api_id, o->region,
                     dns_suffix(o->partition), !ws && str_eq(name, "$default") ? "" : name);
    if (!id || !arn || !exec || !url ||
        ck_resource(run, "aws_apigatewayv2_stage", "AWS::ApiGatewayV2::Stage", id, arn, true, &r) <
            0)
        goto out;
    if (ck_map(r->attrs, item, v2_stage_fields) < 0 ||
        ck_set(r->attrs, "route_settings", route_settings(json_object_get(item, "RouteSettings"))) <
            0 ||
        ck_set_str(r->attrs, "api_id", api_id) < 0 ||
        ck_set_str(r->attrs, "execution_arn", exec) < 0 ||
        ck_set_str(r->attrs, "invoke_url", url) < 0 ||
        set_tag_map(r, json_object_get(item, "Tags")) < 0)
        goto out;
    e = ck_add(run, r);
    r = NULL;
out:
    resource_free(r);
    free(id);
    free(arn);
    free(exec);
    free(url);
    return e;
}

static int build_v2_api(struct collect_run *run, const json_t *item)
{
    const struct collect_options *o = collect_options(run);
    const char *id = ck_str(item, "ApiId");
    struct resource *r = NULL;
    char *arn, *exec;
    int e = -ENOMEM;
    arn = str_printf("arn:%s:apigateway:%s::/apis/%s", o->partition, o->region, id);
    exec = str_printf("arn:%s:execute-api:%s:%s:%s", o->partition, o->region, o->account, id);
    if (!arn || !exec ||
        ck_resource(run, "aws_apigatewayv2_api", "AWS::ApiGatewayV2::Api", id, arn, true, &r) < 0)
        goto out;
    if (ck_map(r->attrs, item, v2_api_fields) < 0 ||
        ck_set_str(r->attrs, "execution_arn", exec) < 0 ||
        set_tag_map(r, json_object_get(item, "Tags")) < 0) {
        resource_free(r);
        goto out;
    }
    e = ck_add(run, r);
out:
    free(arn);
    free(exec);
    return e;
}

/* Status of a child type: the listing's, then the first failed GetStages. */
static void child_scope(struct collect_run *run, const char *type, const struct ck_slot *list,
                        const struct api *apis, size_t n, bool mapping_error)
{
    if (!ck_slot_ok(list)) {
        collect_scope_status(run, type, list->status, list->detail);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!ck_slot_ok(&apis[i].stages)) {
            collect_scope_status(run, type, apis[i].stages.status, apis[i].stages.detail);
            return;
        }
    if (mapping_error)
        collect_scope_status(run, type, COLLECT_ERROR, "an item could not be mapped");
    collect_scope_status(run, type, COLLECT_OK, NULL);
}

static void build(struct collect_run *run, struct apigw_state *s)
{
    bool rest_err = false, stage_err = false, v2_err = false, v2_stage_err = false;
    size_t i;
    json_t *item;
    if (ck_slot_ok(&s->rest))
        json_array_foreach (s->rest.items, i, item) {
            int e = ck_str(item, "id") ? build_rest_api(run, item) : -EINVAL;
            s->oom = s->oom || e == -ENOMEM;
            rest_err = rest_err || e < 0;
        }
    for (i = 0; i < s->n_rest; i++) {
        struct api *a = &s->rest_apis[i];
        size_t k;
        if (!ck_slot_ok(&a->stages))
            continue;
        json_array_foreach (a->stages.items, k, item) {
            int e = build_rest_stage(run, ck_str(a->item, "id"), item);
            s->oom = s->oom || e == -ENOMEM;
            stage_err = stage_err || e < 0;
        }
    }
    if (ck_slot_ok(&s->v2))
        json_array_foreach (s->v2.items, i, item) {
            int e = ck_str(item, "ApiId") ? build_v2_api(run, item) : -EINVAL;
            s->oom = s->oom || e == -ENOMEM;
            v2_err = v2_err || e < 0;
        }
    for (i = 0; i < s->n_v2; i++) {
        struct api *a = &s->v2_apis[i];
        size_t k;
        if (!ck_slot_ok(&a->stages))
            continue;
        json_array_foreach (a->stages.items, k, item) {
            int e = build_v2_stage(run, a->item, item);
            s->oom = s->oom || e == -ENOMEM;
            v2_stage_err = v2_stage_err || e < 0;
        }
    }
    if (s->oom) {
        static const char *const all[] = {
            "aws_api_gateway_rest_api", "aws_api_gateway_stage",  "aws_api_gateway_method_settings",
            "aws_apigatewayv2_api",     "aws_apigatewayv2_stage", NULL
        };
        for (i = 0; all[i]; i++)
            collect_scope_status(run, all[i], COLLECT_ERROR, "out of memory");
        return;
    }
    if (!ck_slot_ok(&s->rest))
        collect_scope_status(run, "aws_api_gateway_rest_api", s->rest.status, s->rest.detail);
    else if (rest_err)
        collect_scope_status(run, "aws_api_gateway_rest_api", COLLECT_ERROR,
                             "an item could not be mapped");
    collect_scope_status(run, "aws_api_gateway_rest_api", COLLECT_OK, NULL);
    child_scope(run, "aws_api_gateway_stage", &s->rest, s->rest_apis, s->n_rest,
                stage_err || rest_err);
    child_scope(run, "aws_api_gateway_method_settings", &s->rest, s->rest_apis, s->n_rest,
                stage_err || rest_err);
    if (!ck_slot_ok(&s->v2))
        collect_scope_status(run, "aws_apigatewayv2_api", s->v2.status, s->v2.detail);
    else if (v2_err)
        collect_scope_status(run, "aws_apigatewayv2_api", COLLECT_ERROR,
                             "an item could not be mapped");
    collect_scope_status(run, "aws_apigatewayv2_api", COLLECT_OK, NULL);
    child_scope(run, "aws_apigatewayv2_stage", &s->v2, s->v2_apis, s->n_v2, v2_stage_err || v2_err);
}

static bool apigw_idle(struct ck *ck, void *ud)
{
    struct apigw_state *s = ud;
    if (s->phase++ == 0) {
        if (queue_stages(ck, &s->rest, NULL, "id", "restApiId", false, "item[]", &s->rest_apis,
                         &s->n_rest) < 0 ||
            queue_stages(ck, &s->v2, "apigatewayv2", "ApiId", "ApiId", true, "Items[]", &s->v2_apis,
                         &s->n_v2) < 0)
            s->oom = true;
        return true;
    }
    build(ck_collect_run(ck), s);
    state_free(s);
    return false;
}

static int apigw_custom(struct collect_run *run)
{
    struct apigw_state *s = calloc(1, sizeof(*s));
    struct ck *ck = NULL;
    struct ck_request rest = { .operation = "GetRestApis", .items = "items[]", .all_pages = true };
    struct ck_request v2 = {
        .service = "apigatewayv2", .operation = "GetApis", .items = "Items[]", .all_pages = true
    };
    if (!s || ck_new(run, &ck) < 0) {
        free(s);
        return -ENOMEM;
    }
    rest.params = json_pack("{s:i}", "limit", 500);
    if (!rest.params || ck_call_slot(ck, &rest, &s->rest) < 0)
        goto fail;
    v2.params = json_object();
    if (!v2.params || ck_call_slot(ck, &v2, &s->v2) < 0)
        goto fail;
    ck_run(ck, apigw_idle, s);
    return 0;
fail:
    ck_free(ck);
    state_free(s);
    return -ENOMEM;
}

static const char *const apigw_types[] = {
    "aws_api_gateway_rest_api", "aws_api_gateway_stage",  "aws_api_gateway_method_settings",
    "aws_apigatewayv2_api",     "aws_apigatewayv2_stage", NULL,
};

/* API Gateway authorises reads of both APIs with one action on paths. */
static const char *const apigw_iam_actions[] = { "apigateway:GET", NULL };

const struct collector_def collect_apigateway = {
    .name = "apigateway",
    .service = "apigateway",
    .extra_types = apigw_types,
    .custom = apigw_custom,
    .iam_actions = apigw_iam_actions,
};
