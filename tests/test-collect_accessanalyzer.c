#include <stdlib.h>

#include "collect_accessanalyzer.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION "eu-central-1"
#define T      "aws_accessanalyzer_analyzer"

START_TEST(analyzers)
{
    static const struct fake_reply replies[] = {
        { "ListAnalyzers",
          NULL,
          { "accessanalyzer/list-analyzers-page-1.json", "accessanalyzer/list-analyzers.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    const struct resource *r;
    json_t *outputs;
    fake_collect(&fr, &collect_accessanalyzer, replies, REGION, NULL);
    ck_assert_int_eq(fr.n_calls, 1);
    ck_assert(fake_call_at(&fr, "ListAnalyzers", 0)->all_pages);
    /* Every analyzer type: no type filter. */
    ck_assert_ptr_null(json_object_get(fake_call_params(&fr, "ListAnalyzers", 0), "type"));
    ck_assert_int_eq((int)fake_count(&fr, T), 3);

    r = fake_find(&fr, T, "account-analyzer");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->arn,
                     "arn:aws:access-analyzer:eu-central-1:123456789012:analyzer/account-analyzer");
    ck_assert_str_eq(r->aws_type, "AWS::AccessAnalyzer::Analyzer");
    ck_assert_str_eq(fake_str(r, "analyzer_name"), "account-analyzer");
    ck_assert_str_eq(fake_str(r, "status"), "ACTIVE");
    ck_assert_str_eq(fake_str(r, "type"), "ACCOUNT");
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "configuration")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "owner")), "security");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);

    r = fake_find(&fr, T, "unused-access");
    ck_assert_int_eq(
        json_integer_value(fake_attr(r, "configuration[0].unused_access[0].unused_access_age")),
        90);
    ck_assert_str_eq(fake_str(r, "status"), "CREATING");
    outputs = json_pack("{s:o}", "ListAnalyzers", fake_load("accessanalyzer/list-analyzers.json"));
    fake_check_typemap(r, outputs, NULL);
    json_decref(outputs);

    r = fake_find(&fr, T, "org-analyzer");
    ck_assert_str_eq(fake_str(r, "status"), "FAILED");
    ck_assert_str_eq(fake_str(r, "type"), "ORGANIZATION");
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(none_and_denied)
{
    static const struct fake_reply none[] = {
        { "ListAnalyzers", NULL, { "{\"analyzers\":[]}" } },
        { NULL },
    };
    static const struct fake_reply denied[] = {
        { "ListAnalyzers",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "access-analyzer:ListAnalyzers" },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_accessanalyzer, none, REGION, NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_OK);
    fake_end(&fr);
    fake_collect(&fr, &collect_accessanalyzer, denied, REGION, NULL);
    ck_assert_int_eq(fake_scope(&fr, T, REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T, REGION)->detail, "access-analyzer:ListAnalyzers");
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("accessanalyzer"), &collect_accessanalyzer);
    ck_assert(!collect_accessanalyzer.global);
    ck_assert_str_eq(collect_accessanalyzer.service, "accessanalyzer");
    ck_assert_str_eq(collect_accessanalyzer.iam_actions[0], "access-analyzer:ListAnalyzers");
    ck_assert_ptr_null(collect_accessanalyzer.iam_actions[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_accessanalyzer");
    TCase *tc = tcase_create("accessanalyzer");
    tcase_add_test(tc, analyzers);
    tcase_add_test(tc, none_and_denied);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
