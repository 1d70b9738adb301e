#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_apigateway.h"
#include "collect_kit.h"
#include "netfake.h"

static const char *const apigw_ops[] = { "GetRestApis", "GetStages", "GetApis", NULL };

static void run_apigw(struct fake *f, const struct fake_override *overrides, struct fake_run *o)
{
    fake_init(f, overrides);
    fake_load(f, "apigateway");
    fake_load(f, "apigatewayv2");
    fake_collect(f, &collect_apigateway, o);
}

static void done(struct fake *f, struct fake_run *o)
{
    fake_run_free(o);
    fake_close(f);
}

static const char *rest_id(struct fake *f)
{
    return ck_str(json_array_get(
                      json_object_get(fake_page(f, "apigateway", "GetRestApis", 0, 0), "items"), 0),
                  "id");
}

START_TEST(full_estate)
{
    struct fake f;
    struct fake_run o;
    const struct resource *api, *prod, *dev, *ms, *http, *ws, *live, *v1;
    const char *id;
    char *key;
    run_apigw(&f, NULL, &o);
    id = rest_id(&f);

    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq((int)json_array_size(f.log), 5);
    ck_assert_int_eq(fake_calls(&f, "GetRestApis", "{\"limit\":500}"), 1);
    ck_assert_int_eq(fake_calls(&f, "GetStages", NULL), 3);
    for (size_t i = 0; i < o.res->n_scopes; i++)
        ck_assert_msg(o.res->scopes[i].status == COLLECT_OK, "%s: %s", o.res->scopes[i].type,
                      o.res->scopes[i].detail);
    ck_assert_int_eq((int)o.res->n_scopes, 5);

    api = fake_get(o.res, "aws_api_gateway_rest_api", id);
    ck_assert_str_eq(fake_str(api, "name"), "plumb-rest");
    ck_assert_str_eq(fake_str(api, "description"), "REST API");
    fake_attr_eq(api, "endpoint_configuration",
                 "[{\"types\":[\"REGIONAL\"],\"vpc_endpoint_ids\":[]}]");
    ck_assert_str_eq(fake_str(api, "minimum_compression_size"), "");
    ck_assert(fake_null(api, "policy"));
    ck_assert_str_eq(fake_tag(api, "team"), "net");
    key = str_printf("arn:aws:execute-api:eu-central-1:123456789012:%s", id);
    ck_assert_str_eq(fake_str(api, "execution_arn"), key);
    free(key);
    key = str_printf("arn:aws:apigateway:eu-central-1::/restapis/%s", id);
    ck_assert_str_eq(api->arn, key);
    free(key);

    key = str_printf("%s/prod", id);
    prod = fake_get(o.res, "aws_api_gateway_stage", key);
    free(key);
    ck_assert_str_eq(fake_str(prod, "rest_api_id"), id);
    ck_assert_str_eq(fake_str(prod, "stage_name"), "prod");
    ck_assert(fake_bool(prod, "cache_cluster_enabled"));
    ck_assert_str_eq(fake_str(prod, "cache_cluster_size"), "0.5");
    fake_attr_eq(prod, "access_log_settings",
                 "[{\"destination_arn\":\"arn:aws:logs:eu-central-1:123456789012:log-group:"
                 "plumb-api\",\"format\":\"$context.requestId\"}]");
    ck_assert(fake_bool(prod, "method_settings[\"*/*\"].cache_data_encrypted"));
    ck_assert_str_eq(fake_str(prod, "method_settings[\"*/*\"].logging_level"), "INFO");
    fake_attr_eq(prod, "variables", "{\"color\":\"blue\"}");
    ck_assert_str_eq(fake_tag(prod, "stage"), "prod");
    key = str_printf("https://%s.execute-api.eu-central-1.amazonaws.com/prod", id);
    ck_assert_str_eq(fake_str(prod, "invoke_url"), key);
    free(key);
    fake_attr_eq(prod, "canary_settings", "[]");
    key = str_printf("%s/dev", id);
    dev = fake_get(o.res, "aws_api_gateway_stage", key);
    free(key);
    fake_attr_eq(dev, "method_settings", "{}");
    fake_attr_eq(dev, "access_log_settings", "[]");
    ck_assert_int_eq((int)json_object_size(dev->tags), 0);

    /* One document per method settings key. */
    ck_assert_int_eq(fake_count(o.res, "aws_api_gateway_method_settings"), 1);
    key = str_printf("%s/prod/*/*", id);
    ms = fake_get(o.res, "aws_api_gateway_method_settings", key);
    free(key);
    ck_assert_ptr_null(ms->arn);
    ck_assert_str_eq(fake_str(ms, "method_path"), "*/*");
    ck_assert_str_eq(fake_str(ms, "stage_name"), "prod");
    ck_assert_str_eq(fake_str(ms, "settings[0].logging_level"), "INFO");
    ck_assert_int_eq(fake_int(ms, "settings[0].throttling_burst_limit"), 2000);

    http = fake_by_attr(o.res, "aws_apigatewayv2_api", "name", "plumb-http");
    ws = fake_by_attr(o.res, "aws_apigatewayv2_api", "name", "plumb-ws");
    ck_assert_str_eq(fake_str(http, "protocol_type"), "HTTP");
    fake_attr_eq(http, "cors_configuration",
                 "[{\"allow_credentials\":null,\"allow_headers\":[],\"allow_methods\":[],"
                 "\"allow_origins\":[\"https://example.org\"],\"expose_headers\":[],"
                 "\"max_age\":300}]");
    ck_assert_str_eq(fake_tag(http, "team"), "net");
    ck_assert_str_eq(fake_str(ws, "route_selection_expression"), "$request.body.action");
    fake_attr_eq(ws, "cors_configuration", "[]");

    key = str_printf("%s/live", http->id);
    live = fake_get(o.res, "aws_apigatewayv2_stage", key);
    free(key);
    ck_assert_str_eq(fake_str(live, "api_id"), http->id);
    ck_assert_str_eq(fake_str(live, "name"), "live");
    ck_assert(fake_bool(live, "auto_deploy"));
    ck_assert_str_eq(fake_str(live, "access_log_settings[0].destination_arn"),
                     "arn:aws:logs:eu-central-1:123456789012:log-group:plumb-http");
    ck_assert_str_eq(fake_tag(live, "stage"), "live");
    fake_attr_eq(live, "route_settings", "[]");
    key = str_printf("https://%s.execute-api.eu-central-1.amazonaws.com/live", http->id);
    ck_assert_str_eq(fake_str(live, "invoke_url"), key);
    free(key);
    key = str_printf("%s/v1", ws->id);
    v1 = fake_get(o.res, "aws_apigatewayv2_stage", key);
    free(key);
    key = str_printf("wss://%s.execute-api.eu-central-1.amazonaws.com/v1", ws->id);
    ck_assert_str_eq(fake_str(v1, "invoke_url"), key);
    free(key);
    ck_assert_str_eq(fake_str(v1, "default_route_settings[0].logging_level"), "OFF");
    fake_attr_eq(v1, "access_log_settings", "[]");

    fake_check_typemap(o.res, "collect_apigateway", apigw_ops);
    done(&f, &o);
}
END_TEST

START_TEST(stages_fail)
{
    struct fake f;
    struct fake_run o;
    struct fake_override v2[3];
    memset(v2, 0, sizeof(v2));
    v2[0] = (struct fake_override){ .service = "apigateway",
                                    .op = "GetStages",
                                    .error_code = "AccessDeniedException",
                                    .kind = AWS_ERR_ACCESS_DENIED,
                                    .iam_action = "apigateway:GET" };
    fake_init(&f, NULL);
    fake_load(&f, "apigateway");
    fake_load(&f, "apigatewayv2");
    /* The WebSocket API's stages are throttled; the HTTP API's read. */
    {
        const json_t *apis =
            json_object_get(fake_page(&f, "apigatewayv2", "GetApis", 0, 0), "Items");
        size_t i;
        json_t *a;
        json_array_foreach (apis, i, a)
            if (str_eq(ck_str(a, "ProtocolType"), "WEBSOCKET")) {
                char *p = str_printf("{\"ApiId\":\"%s\"}", ck_str(a, "ApiId"));
                v2[1].service = "apigatewayv2";
                v2[1].op = "GetStages";
                v2[1].params = p;
                v2[1].error_code = "TooManyRequestsException";
                v2[1].kind = AWS_ERR_THROTTLED;
            }
    }
    f.overrides = v2;
    fake_collect(&f, &collect_apigateway, &o);

    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_rest_api")->status, COLLECT_OK);
    ck_assert_int_eq(fake_count(o.res, "aws_api_gateway_rest_api"), 1);
    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_stage")->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(o.res, "aws_api_gateway_stage")->detail, "apigateway:GET");
    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_method_settings")->status,
                     COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(fake_count(o.res, "aws_api_gateway_stage"), 0);
    ck_assert_int_eq(fake_scope(o.res, "aws_apigatewayv2_stage")->status, COLLECT_THROTTLED);
    ck_assert_str_eq(fake_scope(o.res, "aws_apigatewayv2_stage")->detail,
                     "TooManyRequestsException: injected");
    /* What could be read is kept. */
    ck_assert_int_eq(fake_count(o.res, "aws_apigatewayv2_stage"), 1);
    ck_assert_int_eq(fake_scope(o.res, "aws_apigatewayv2_api")->status, COLLECT_OK);
    free((char *)v2[1].params);
    done(&f, &o);
}
END_TEST

START_TEST(listings_fail)
{
    static const struct fake_override failures[] = {
        { .service = "apigateway",
          .op = "GetRestApis",
          .error_code = "AccessDeniedException",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "apigateway:GET" },
        { .service = "apigatewayv2",
          .op = "GetApis",
          .error_code = "InternalFailure",
          .kind = AWS_ERR_SERVER },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_apigw(&f, failures, &o);
    ck_assert_int_eq((int)json_array_size(f.log), 2);
    ck_assert_int_eq((int)o.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_rest_api")->status, COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_stage")->status, COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_method_settings")->status,
                     COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(fake_scope(o.res, "aws_apigatewayv2_api")->status, COLLECT_ERROR);
    ck_assert_str_eq(fake_scope(o.res, "aws_apigatewayv2_api")->detail,
                     "InternalFailure: injected");
    ck_assert_int_eq(fake_scope(o.res, "aws_apigatewayv2_stage")->status, COLLECT_ERROR);
    done(&f, &o);
}
END_TEST

START_TEST(deleted_meanwhile)
{
    static const struct fake_override gone[] = {
        { .op = "GetStages", .error_code = "NotFoundException", .kind = AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_apigw(&f, gone, &o);
    ck_assert_int_eq(fake_count(o.res, "aws_api_gateway_stage"), 0);
    ck_assert_int_eq(fake_count(o.res, "aws_apigatewayv2_stage"), 0);
    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_stage")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_apigatewayv2_stage")->status, COLLECT_OK);
    ck_assert_int_eq(fake_count(o.res, "aws_api_gateway_rest_api"), 1);
    done(&f, &o);
}
END_TEST

/* A resource policy as API Gateway returns it (quotes escaped), a
 * compression size, a private endpoint, two pages of APIs, an HTTP API's
 * $default stage with route settings and a canary. */
static const struct fake_override shapes[] = {
    { .service = "apigateway",
      .op = "GetRestApis",
      .pages = { "{\"items\":[{\"id\":\"a1\",\"name\":\"priv\",\"minimumCompressionSize\":1024,"
                 "\"endpointConfiguration\":{\"types\":[\"PRIVATE\"],\"vpcEndpointIds\":"
                 "[\"vpce-1\"]},\"policy\":\"{\\\\\\\"Version\\\\\\\":\\\\\\\"2012-10-17\\\\\\\","
                 "\\\\\\\"Statement\\\\\\\":[]}\"}],\"position\":\"p2\"}",
                 "{\"items\":[{\"id\":\"a2\",\"name\":\"second\",\"policy\":\"not "
                 "json\\\\\"}]}" } },
    { .service = "apigateway",
      .op = "GetStages",
      .params = "{\"restApiId\":\"a1\"}",
      .pages = { "{\"item\":[{\"stageName\":\"s\",\"canarySettings\":{\"percentTraffic\":10.5,"
                 "\"stageVariableOverrides\":{\"v\":\"2\"},\"useStageCache\":false}}]}" } },
    { .service = "apigateway",
      .op = "GetStages",
      .params = "{\"restApiId\":\"a2\"}",
      .pages = { "{\"item\":[{\"description\":\"no name\"}]}" } },
    { .service = "apigatewayv2",
      .op = "GetApis",
      .pages = { "{\"Items\":[{\"ApiId\":\"h1\",\"Name\":\"h\",\"ProtocolType\":\"HTTP\"}]}" } },
    { .service = "apigatewayv2",
      .op = "GetStages",
      .pages = { "{\"Items\":[{\"StageName\":\"$default\",\"ApiGatewayManaged\":true,"
                 "\"RouteSettings\":{\"GET /x\":{\"ThrottlingBurstLimit\":5}}}]}" } },
    { NULL },
};

START_TEST(odd_shapes)
{
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_apigw(&f, shapes, &o);
    ck_assert_int_eq(f.unmatched, 0);
    r = fake_get(o.res, "aws_api_gateway_rest_api", "a1");
    ck_assert_str_eq(fake_str(r, "policy"), "{\"Version\":\"2012-10-17\",\"Statement\":[]}");
    ck_assert_str_eq(fake_str(r, "minimum_compression_size"), "1024");
    fake_attr_eq(r, "endpoint_configuration",
                 "[{\"types\":[\"PRIVATE\"],\"vpc_endpoint_ids\":[\"vpce-1\"]}]");
    /* Text that does not unescape is kept as it came. */
    ck_assert_str_eq(fake_str(fake_get(o.res, "aws_api_gateway_rest_api", "a2"), "policy"),
                     "not json\\");
    r = fake_get(o.res, "aws_api_gateway_stage", "a1/s");
    fake_attr_eq(r, "canary_settings",
                 "[{\"deployment_id\":null,\"percent_traffic\":10.5,"
                 "\"stage_variable_overrides\":{\"v\":\"2\"},\"use_stage_cache\":false}]");
    /* A stage without a name cannot be mapped. */
    ck_assert_int_eq(fake_count(o.res, "aws_api_gateway_stage"), 1);
    ck_assert_int_eq(fake_scope(o.res, "aws_api_gateway_stage")->status, COLLECT_ERROR);
    ck_assert_str_eq(fake_scope(o.res, "aws_api_gateway_stage")->detail,
                     "an item could not be mapped");
    r = fake_get(o.res, "aws_apigatewayv2_stage", "h1/$default");
    ck_assert_str_eq(fake_str(r, "invoke_url"),
                     "https://h1.execute-api.eu-central-1.amazonaws.com/");
    ck_assert(fake_bool(r, "api_gateway_managed"));
    fake_attr_eq(r, "route_settings",
                 "[{\"data_trace_enabled\":null,\"detailed_metrics_enabled\":null,"
                 "\"logging_level\":null,\"route_key\":\"GET /x\",\"throttling_burst_limit\":5,"
                 "\"throttling_rate_limit\":null}]");
    ck_assert_int_eq(fake_scope(o.res, "aws_apigatewayv2_stage")->status, COLLECT_OK);
    done(&f, &o);
}
END_TEST

START_TEST(registered)
{
    ck_assert_ptr_eq(collector_find("apigateway"), &collect_apigateway);
    ck_assert_str_eq(collect_apigateway.iam_actions[0], "apigateway:GET");
    ck_assert_ptr_null(collect_apigateway.iam_actions[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_apigateway");
    TCase *tc = tcase_create("apigateway");
    tcase_add_test(tc, full_estate);
    tcase_add_test(tc, stages_fail);
    tcase_add_test(tc, listings_fail);
    tcase_add_test(tc, deleted_meanwhile);
    tcase_add_test(tc, odd_shapes);
    tcase_add_test(tc, registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
