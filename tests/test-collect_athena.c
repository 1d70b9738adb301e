#include <stdlib.h>

#include "collect_athena.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION "eu-central-1"
#define T      "aws_athena_workgroup"

static const struct fake_reply ok_replies[] = {
    { "ListWorkGroups", "{\"NextToken\":\"wg-page-2\"}", { "athena/list-work-groups-2.json" } },
    { "ListWorkGroups", NULL, { "athena/list-work-groups-1.json" } },
    { "GetWorkGroup", "{\"WorkGroup\":\"primary\"}", { "athena/get-work-group-primary.json" } },
    { "GetWorkGroup", "{\"WorkGroup\":\"analytics\"}", { "athena/get-work-group-analytics.json" } },
    { NULL },
};

START_TEST(workgroups)
{
    struct fake_run fr = { 0 };
    const struct resource *r;
    fake_collect(&fr, &collect_athena, ok_replies, REGION, NULL);
    ck_assert_int_eq(fr.unmatched, 0);
    /* Two pages by hand (no botocore paginator), one describe each. */
    ck_assert_int_eq(fake_calls(&fr, "ListWorkGroups"), 2);
    ck_assert(!fake_call_at(&fr, "ListWorkGroups", 0)->all_pages);
    ck_assert_int_eq(json_integer_value(
                         json_object_get(fake_call_params(&fr, "ListWorkGroups", 0), "MaxResults")),
                     50);
    ck_assert_str_eq(
        json_string_value(json_object_get(fake_call_params(&fr, "ListWorkGroups", 1), "NextToken")),
        "wg-page-2");
    ck_assert_int_eq(fake_calls(&fr, "GetWorkGroup"), 2);
    ck_assert_int_eq(fr.n_calls, 4);

    ck_assert_int_eq((int)fake_count(&fr, T), 2);
    r = fake_find(&fr, T, "analytics");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->arn, "arn:aws:athena:eu-central-1:111111111111:workgroup/analytics");
    ck_assert_str_eq(fake_str(r, "arn"), r->arn);
    ck_assert_str_eq(r->aws_type, "AWS::Athena::WorkGroup");
    ck_assert_str_eq(fake_str(r, "name"), "analytics");
    ck_assert_str_eq(fake_str(r, "description"), "analysts");
    ck_assert_str_eq(fake_str(r, "state"), "ENABLED");
    ck_assert(json_is_true(fake_attr(r, "configuration[0].enforce_workgroup_configuration")));
    ck_assert(json_is_true(fake_attr(r, "configuration[0].publish_cloudwatch_metrics_enabled")));
    ck_assert_int_eq(
        json_integer_value(fake_attr(r, "configuration[0].bytes_scanned_cutoff_per_query")),
        10000000);
    ck_assert_str_eq(
        fake_str(r, "configuration[0].result_configuration[0].encryption_configuration[0]."
                    "encryption_option"),
        "SSE_KMS");
    ck_assert_str_eq(
        fake_str(
            r, "configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn"),
        "arn:aws:kms:eu-central-1:123456789012:key/6666");
    ck_assert_str_eq(fake_str(r, "configuration[0].result_configuration[0].output_location"),
                     "s3://athena-results/analytics/");
    ck_assert_str_eq(fake_str(r, "configuration[0].engine_version[0].selected_engine_version"),
                     "Athena engine version 3");
    ck_assert_int_eq((int)json_object_size(r->unknown), 1);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:not read (one call per resource)");

    r = fake_find(&fr, T, "primary");
    ck_assert(json_is_false(fake_attr(r, "configuration[0].enforce_workgroup_configuration")));
    /* No encryption configured: an empty block, which the control reads
     * as "not encrypted". */
    ck_assert_int_eq((int)json_array_size(fake_attr(
                         r, "configuration[0].result_configuration[0].encryption_configuration")),
                     0);
    ck_assert(
        json_is_null(fake_attr(r, "configuration[0].result_configuration[0].output_location")));
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(describe_fails)
{
    static const struct fake_reply replies[] = {
        { "ListWorkGroups", "{\"NextToken\":\"wg-page-2\"}", { "athena/list-work-groups-2.json" } },
        { "ListWorkGroups", NULL, { "athena/list-work-groups-1.json" } },
        { "GetWorkGroup", "{\"WorkGroup\":\"primary\"}", { "athena/get-work-group-primary.json" } },
        { "GetWorkGroup",
          "{\"WorkGroup\":\"analytics\"}",
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "athena:GetWorkGroup" },
        { NULL },
    };
    struct fake_run fr = { 0 };
    const struct resource *r;
    fake_collect(&fr, &collect_athena, replies, REGION, NULL);
    r = fake_find(&fr, T, "analytics");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(fake_attr(r, "configuration"));
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "configuration")),
                     "access_denied:athena:GetWorkGroup");
    /* What the listing said stays. */
    ck_assert_str_eq(fake_str(r, "description"), "analysts");
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(list_fails)
{
    static const struct fake_reply replies[] = {
        { "ListWorkGroups",
          "{\"NextToken\":\"wg-page-2\"}",
          { NULL },
          "ThrottlingException",
          AWS_ERR_THROTTLED },
        { "ListWorkGroups", NULL, { "athena/list-work-groups-1.json" } },
        { "GetWorkGroup", "{\"WorkGroup\":\"primary\"}", { "athena/get-work-group-primary.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_athena, replies, REGION, NULL);
    /* Page 1's work group is kept, the type is unknown (nothing of it is
     * tombstoned). */
    ck_assert_ptr_nonnull(fake_find(&fr, T, "primary"));
    ck_assert_int_eq((int)fake_count(&fr, T), 1);
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_THROTTLED);
    ck_assert_str_eq(fake_scope(&fr, T, REGION)->detail, "ThrottlingException: fake failure");
    fake_end(&fr);
}
END_TEST

START_TEST(typemap_consistency)
{
    static const struct fake_reply replies[] = {
        { "ListWorkGroups", NULL, { "athena/list-work-groups-2.json" } },
        { "GetWorkGroup", NULL, { "athena/get-work-group-full.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    json_t *outputs;
    fake_collect(&fr, &collect_athena, replies, REGION, NULL);
    outputs = json_pack("{s:o,s:o}", "ListWorkGroups", fake_load("athena/list-work-groups-2.json"),
                        "GetWorkGroup", fake_load("athena/get-work-group-full.json"));
    fake_check_typemap(fake_find(&fr, T, "analytics"), outputs, NULL);
    json_decref(outputs);
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("athena"), &collect_athena);
    ck_assert(!collect_athena.global);
    ck_assert_str_eq(collect_athena.iam_actions[0], "athena:GetWorkGroup");
    ck_assert_str_eq(collect_athena.iam_actions[1], "athena:ListWorkGroups");
    ck_assert_ptr_null(collect_athena.iam_actions[2]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_athena");
    TCase *tc = tcase_create("athena");
    tcase_add_test(tc, workgroups);
    tcase_add_test(tc, describe_fails);
    tcase_add_test(tc, list_fails);
    tcase_add_test(tc, typemap_consistency);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
