#include <stdlib.h>

#include "collect_securityhub.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION "eu-central-1"
#define T_HUB  "aws_securityhub_account"
#define T_STD  "aws_securityhub_standards_subscription"
#define FSBP                                                      \
    "arn:aws:securityhub:eu-central-1:123456789012:subscription/" \
    "aws-foundational-security-best-practices/v/1.0.0"

static const struct fake_reply on_replies[] = {
    { "DescribeHub", NULL, { "securityhub/describe-hub.json" } },
    { "GetEnabledStandards", NULL, { "securityhub/get-enabled-standards.json" } },
    { NULL },
};

START_TEST(hub_on)
{
    struct fake_run fr = { 0 };
    const struct resource *r;
    json_t *outputs, *rec;
    fake_collect(&fr, &collect_securityhub, on_replies, REGION, NULL);
    ck_assert_int_eq(fr.n_calls, 2);
    ck_assert(fake_call_at(&fr, "GetEnabledStandards", 0)->all_pages);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         fake_call_params(&fr, "GetEnabledStandards", 0), "MaxResults")),
                     100);
    /* The hub: one per region, id = the account. */
    r = fake_find(&fr, T_HUB, "111111111111");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, REGION);
    rec = fake_load("securityhub/describe-hub.json");
    ck_assert_str_eq(r->arn, json_string_value(json_object_get(rec, "HubArn")));
    ck_assert_str_eq(fake_str(r, "subscribed_at"),
                     json_string_value(json_object_get(rec, "SubscribedAt")));
    json_decref(rec);
    ck_assert_str_eq(fake_str(r, "arn"), r->arn);
    ck_assert(json_is_true(fake_attr(r, "auto_enable_controls")));
    ck_assert_str_eq(fake_str(r, "control_finding_generator"), "SECURITY_CONTROL");
    /* A create-time argument AWS does not return: absent, not null. */
    ck_assert_ptr_null(fake_attr(r, "enable_default_standards"));
    outputs = json_pack("{s:o}", "DescribeHub", fake_load("securityhub/describe-hub.json"));
    fake_check_typemap(r, outputs, NULL);
    json_decref(outputs);

    ck_assert_int_eq((int)fake_count(&fr, T_STD), 2);
    r = fake_find(&fr, T_STD, FSBP);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->arn, FSBP);
    ck_assert_str_eq(fake_str(r, "standards_status"), "READY");
    ck_assert_str_eq(fake_str(r, "standards_arn"),
                     "arn:aws:securityhub:eu-central-1::standards/"
                     "aws-foundational-security-best-practices/v/1.0.0");
    outputs = json_pack("{s:o}", "GetEnabledStandards",
                        fake_load("securityhub/get-enabled-standards.json"));
    fake_check_typemap(r, outputs, NULL);
    json_decref(outputs);
    ck_assert_int_eq(fake_scope(&fr, T_HUB, REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, T_STD, REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(hub_off)
{
    static const struct fake_reply replies[] = {
        { "DescribeHub", NULL, { NULL }, "InvalidAccessException", AWS_ERR_CLIENT },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_securityhub, replies, REGION, NULL);
    /* Off: no documents, both read fine, no standards call. */
    ck_assert_int_eq(fr.n_calls, 1);
    ck_assert_int_eq(fr.unmatched, 0);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T_HUB, REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, T_STD, REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(describe_denied)
{
    static const struct fake_reply replies[] = {
        { "DescribeHub",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "securityhub:DescribeHub" },
        { "GetEnabledStandards", NULL, { "securityhub/get-enabled-standards.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_securityhub, replies, REGION, NULL);
    /* Only the hub is unknown; the standards are still read. */
    ck_assert_int_eq(fake_scope(&fr, T_HUB, REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T_HUB, REGION)->detail, "securityhub:DescribeHub");
    ck_assert_int_eq(fake_scope(&fr, T_STD, REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fake_count(&fr, T_STD), 2);
    fake_end(&fr);
}
END_TEST

START_TEST(standards_fail)
{
    static const struct fake_reply denied[] = {
        { "DescribeHub", NULL, { "securityhub/describe-hub.json" } },
        { "GetEnabledStandards",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "securityhub:GetEnabledStandards" },
        { NULL },
    };
    static const struct fake_reply off_meanwhile[] = {
        { "DescribeHub", NULL, { "securityhub/describe-hub.json" } },
        { "GetEnabledStandards", NULL, { NULL }, "InvalidAccessException", AWS_ERR_CLIENT },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_securityhub, denied, REGION, NULL);
    ck_assert_int_eq(fake_scope(&fr, T_HUB, REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, T_STD, REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T_STD, REGION)->detail, "securityhub:GetEnabledStandards");
    fake_end(&fr);
    /* Turned off between the two calls: no standards. */
    fake_collect(&fr, &collect_securityhub, off_meanwhile, REGION, NULL);
    ck_assert_int_eq(fake_scope(&fr, T_STD, REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fake_count(&fr, T_STD), 0);
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("securityhub"), &collect_securityhub);
    ck_assert(!collect_securityhub.global);
    ck_assert_str_eq(collect_securityhub.iam_actions[0], "securityhub:DescribeHub");
    ck_assert_str_eq(collect_securityhub.iam_actions[1], "securityhub:GetEnabledStandards");
    ck_assert_ptr_null(collect_securityhub.iam_actions[2]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_securityhub");
    TCase *tc = tcase_create("securityhub");
    tcase_add_test(tc, hub_on);
    tcase_add_test(tc, hub_off);
    tcase_add_test(tc, describe_denied);
    tcase_add_test(tc, standards_fail);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
