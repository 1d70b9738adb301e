#include <stdlib.h>
#include <string.h>

#include "collect_appsync.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION "eu-central-1"
#define T      "aws_appsync_graphql_api"

/* The API id of name in a recorded listing (ids are random). */
static char *api_id(const char *file, const char *name)
{
    json_t *out = fake_load(file);
    char *id = NULL;
    size_t i;
    json_t *it;
    json_array_foreach (json_object_get(out, "graphqlApis"), i, it)
        if (str_eq(json_string_value(json_object_get(it, "name")), name))
            id = strdup(json_string_value(json_object_get(it, "apiId")));
    json_decref(out);
    ck_assert_ptr_nonnull(id);
    return id;
}

START_TEST(apis)
{
    static const struct fake_reply replies[] = {
        { "ListGraphqlApis", NULL, { "appsync/list-graphql-apis.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    const struct resource *r;
    char *orders = api_id("appsync/list-graphql-apis.json", "orders-api");
    char *internal = api_id("appsync/list-graphql-apis.json", "internal-api");
    fake_collect(&fr, &collect_appsync, replies, REGION, NULL);
    /* The list carries whole APIs: no call per API. */
    ck_assert_int_eq(fr.n_calls, 1);
    ck_assert(fake_call_at(&fr, "ListGraphqlApis", 0)->all_pages);
    ck_assert_int_eq(json_integer_value(json_object_get(fake_call_params(&fr, "ListGraphqlApis", 0),
                                                        "maxResults")),
                     25);
    ck_assert_int_eq((int)fake_count(&fr, T), 2);
    r = fake_find(&fr, T, orders);
    ck_assert_ptr_nonnull(r);
    ck_assert(str_has_suffix(r->arn, orders));
    ck_assert_str_eq(fake_str(r, "arn"), r->arn);
    ck_assert_str_eq(r->aws_type, "AWS::AppSync::GraphQLApi");
    ck_assert_str_eq(fake_str(r, "name"), "orders-api");
    ck_assert_str_eq(fake_str(r, "authentication_type"), "API_KEY");
    ck_assert_str_eq(fake_str(r, "log_config[0].field_log_level"), "ERROR");
    ck_assert(json_is_true(fake_attr(r, "log_config[0].exclude_verbose_content")));
    ck_assert_str_eq(fake_str(r, "log_config[0].cloudwatch_logs_role_arn"),
                     "arn:aws:iam::123456789012:role/appsync-logs");
    ck_assert(json_is_true(fake_attr(r, "xray_enabled")));
    ck_assert(json_is_object(fake_attr(r, "uris")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "orders");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    r = fake_find(&fr, T, internal);
    /* No log configuration: an empty block, which the control fails. */
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "log_config")), 0);
    ck_assert(json_is_false(fake_attr(r, "xray_enabled")));
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_OK);
    free(orders);
    free(internal);
    fake_end(&fr);
}
END_TEST

START_TEST(typemap_consistency)
{
    static const struct fake_reply replies[] = {
        { "ListGraphqlApis", NULL, { "appsync/list-graphql-apis-full.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    char *id = api_id("appsync/list-graphql-apis-full.json", "orders-api");
    json_t *list = fake_load("appsync/list-graphql-apis-full.json");
    json_t *outputs;
    fake_collect(&fr, &collect_appsync, replies, REGION, NULL);
    /* The type table reads GetGraphqlApi's graphqlApi; ListGraphqlApis
     * items are the same GraphqlApi shape, which is why the collector
     * never calls GetGraphqlApi.  Checked as such. */
    outputs = json_pack("{s:{s:O}}", "GetGraphqlApi", "graphqlApi",
                        json_array_get(json_object_get(list, "graphqlApis"), 0));
    fake_check_typemap(fake_find(&fr, T, id), outputs, NULL);
    json_decref(outputs);
    json_decref(list);
    free(id);
    fake_end(&fr);
}
END_TEST

START_TEST(denied)
{
    static const struct fake_reply replies[] = {
        { "ListGraphqlApis",
          NULL,
          { NULL },
          "UnauthorizedException",
          AWS_ERR_ACCESS_DENIED,
          "appsync:ListGraphqlApis" },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_appsync, replies, REGION, NULL);
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T, REGION)->detail, "appsync:ListGraphqlApis");
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("appsync"), &collect_appsync);
    ck_assert(!collect_appsync.global);
    ck_assert_str_eq(collect_appsync.iam_actions[0], "appsync:ListGraphqlApis");
    ck_assert_ptr_null(collect_appsync.iam_actions[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_appsync");
    TCase *tc = tcase_create("appsync");
    tcase_add_test(tc, apis);
    tcase_add_test(tc, typemap_consistency);
    tcase_add_test(tc, denied);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
