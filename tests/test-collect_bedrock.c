#include <stdlib.h>

#include "collect_bedrock.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define T "aws_bedrock_model_invocation_logging_configuration"

START_TEST(logging_on)
{
    static const struct fake_reply replies[] = {
        { "GetModelInvocationLoggingConfiguration",
          NULL,
          { "bedrock/get-logging-configuration.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    const struct resource *r;
    json_t *outputs;
    fake_collect(&fr, &collect_bedrock, replies, "eu-west-1", NULL);
    ck_assert_int_eq(fr.n_calls, 1);
    ck_assert_ptr_null(fake_call_params(&fr, "GetModelInvocationLoggingConfiguration", 0));
    ck_assert_int_eq((int)fr.res->resources.n, 1);
    /* One per region: the id is the region. */
    r = fake_find(&fr, T, "eu-west-1");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, "eu-west-1");
    ck_assert_ptr_null(r->arn);
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "logging_config")), 1);
    ck_assert_str_eq(fake_str(r, "logging_config[0].s3_config[0].bucket_name"), "bedrock-logs");
    ck_assert_str_eq(fake_str(r, "logging_config[0].s3_config[0].key_prefix"), "invocations/");
    ck_assert_str_eq(fake_str(r, "logging_config[0].cloudwatch_config[0].log_group_name"),
                     "/bedrock/invocations");
    ck_assert_str_eq(fake_str(r, "logging_config[0].cloudwatch_config[0].role_arn"),
                     "arn:aws:iam::123456789012:role/bedrock-logging");
    ck_assert_str_eq(
        fake_str(
            r,
            "logging_config[0].cloudwatch_config[0].large_data_delivery_s3_config[0].bucket_name"),
        "bedrock-large");
    ck_assert(json_is_true(fake_attr(r, "logging_config[0].text_data_delivery_enabled")));
    ck_assert(json_is_false(fake_attr(r, "logging_config[0].image_data_delivery_enabled")));
    ck_assert(json_is_true(fake_attr(r, "logging_config[0].embedding_data_delivery_enabled")));
    ck_assert(json_is_false(fake_attr(r, "logging_config[0].video_data_delivery_enabled")));
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_int_eq(fake_scope(&fr, T, "eu-west-1")->status, COLLECT_OK);
    outputs = json_pack("{s:o}", "GetModelInvocationLoggingConfiguration",
                        fake_load("bedrock/get-logging-configuration.json"));
    fake_check_typemap(r, outputs, NULL);
    json_decref(outputs);
    fake_end(&fr);
}
END_TEST

START_TEST(logging_off)
{
    /* AWS answers {} when logging is off; moto {"loggingConfig": {}}. */
    static const struct fake_reply aws_off[] = {
        { "GetModelInvocationLoggingConfiguration", NULL, { "{}" } },
        { NULL },
    };
    static const struct fake_reply moto_off[] = {
        { "GetModelInvocationLoggingConfiguration",
          NULL,
          { "bedrock/get-logging-configuration-moto-off.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_bedrock, aws_off, "eu-central-1", NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T, "eu-central-1")->status, COLLECT_OK);
    fake_end(&fr);
    fake_collect(&fr, &collect_bedrock, moto_off, "eu-central-1", NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T, "eu-central-1")->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(denied)
{
    static const struct fake_reply replies[] = {
        { "GetModelInvocationLoggingConfiguration",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "bedrock:GetModelInvocationLoggingConfiguration" },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_bedrock, replies, "eu-central-1", NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T, NULL)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T, NULL)->detail,
                     "bedrock:GetModelInvocationLoggingConfiguration");
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("bedrock"), &collect_bedrock);
    ck_assert(!collect_bedrock.global);
    ck_assert_str_eq(collect_bedrock.iam_actions[0],
                     "bedrock:GetModelInvocationLoggingConfiguration");
    ck_assert_ptr_null(collect_bedrock.iam_actions[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_bedrock");
    TCase *tc = tcase_create("bedrock");
    tcase_add_test(tc, logging_on);
    tcase_add_test(tc, logging_off);
    tcase_add_test(tc, denied);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
