#include <stdlib.h>
#include <string.h>

#include "collect_guardduty.h"
#include "config.h"
#include "fakeaws_rules.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define EU       "eu-central-1"
#define DETECTOR "aws_guardduty_detector"
#define PLACEBO  "test_account_guard_duty_filter/"

START_TEST(registered)
{
    bool known = false;
    ck_assert_ptr_eq(collector_find("guardduty"), &collect_guardduty_def);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        known = known || str_eq(config_collector_defaults[i].name, collect_guardduty_def.name);
    ck_assert(known);
    ck_assert(!collect_guardduty_def.global);
    ck_assert_str_eq(collect_guardduty_def.iam_actions[0], "guardduty:ListDetectors");
    ck_assert_str_eq(collect_guardduty_def.iam_actions[1], "guardduty:GetDetector");
    ck_assert_ptr_null(collect_guardduty_def.iam_actions[2]);
}
END_TEST

START_TEST(recorded_detector)
{
    static const struct fakeaws_rule rules[] = {
        { "ListDetectors", .pages = { "file:guardduty/list-detectors.json" } },
        { "GetDetector", .pages = { "file:guardduty/get-detector.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    json_t *list = fakeaws_load("file:guardduty/list-detectors.json");
    const char *id = json_string_value(json_array_get(json_object_get(list, "DetectorIds"), 0));
    char *arn = str_printf("arn:aws:guardduty:eu-central-1:123456789012:detector/%s", id);

    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_guardduty_def, EU, NULL, &out);
    ck_assert_int_eq((int)f.n_calls, 2);
    ck_assert_int_eq((int)json_integer_value(json_object_get(
                         fakeaws_find(&f, "ListDetectors", NULL)->params, "MaxResults")),
                     50);
    ck_assert_str_eq(json_string_value(json_object_get(
                         fakeaws_find(&f, "GetDetector", NULL)->params, "DetectorId")),
                     id);
    r = fakeaws_resource(out.res, DETECTOR, id);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, EU);
    ck_assert_str_eq(r->arn, arn);
    ck_assert_str_eq(json_string_value(fakeaws_attr(r, "arn")), arn);
    ck_assert_str_eq(json_string_value(fakeaws_attr(r, "account_id")), "123456789012");
    ck_assert(json_is_true(fakeaws_attr(r, "enable")));
    ck_assert_str_eq(json_string_value(fakeaws_attr(r, "finding_publishing_frequency")),
                     "FIFTEEN_MINUTES");
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "features")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "security");
    ck_assert_int_eq(fakeaws_scope(out.res, EU, DETECTOR)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    json_decref(list);
    free(arn);
}
END_TEST

/* A detector recorded from a real account (cloud-custodian's placebo). */
START_TEST(real_aws_detector)
{
    static const struct fakeaws_rule rules[] = {
        { "ListDetectors", .pages = { "fixture:" PLACEBO "guardduty.ListDetectors_1.json" } },
        { "GetDetector", .pages = { "fixture:" PLACEBO "guardduty.GetDetector_1.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    json_t *list = fakeaws_load("fixture:" PLACEBO "guardduty.ListDetectors_1.json");
    json_t *det = fakeaws_load("fixture:" PLACEBO "guardduty.GetDetector_1.json");
    const char *id = json_string_value(json_array_get(json_object_get(list, "DetectorIds"), 0));

    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_guardduty_def, EU, NULL, &out);
    r = fakeaws_resource(out.res, DETECTOR, id);
    ck_assert_ptr_nonnull(r);
    ck_assert(json_is_boolean(fakeaws_attr(r, "enable")));
    ck_assert_int_eq(json_is_true(fakeaws_attr(r, "enable")),
                     str_eq(json_string_value(json_object_get(det, "Status")), "ENABLED"));
    ck_assert(json_equal(fakeaws_attr(r, "finding_publishing_frequency"),
                         json_object_get(det, "FindingPublishingFrequency")));
    /* A detector older than the Features API: no features, no tags. */
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "features")), 0);
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    json_decref(list);
    json_decref(det);
}
END_TEST

START_TEST(no_detector)
{
    static const struct fakeaws_rule rules[] = {
        { "ListDetectors", .pages = { "{\"DetectorIds\":[]}" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_guardduty_def, EU, NULL, &out);
    /* Read fine and empty: GuardDuty is off here (a FAIL, not UNKNOWN). */
    ck_assert_int_eq((int)out.res->resources.n, 0);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, DETECTOR)->status, COLLECT_OK);
    ck_assert_int_eq((int)f.n_calls, 1);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(denied)
{
    static const struct fakeaws_rule list_denied[] = {
        { "ListDetectors", .error_code = "AccessDeniedException", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "guardduty:ListDetectors" },
        { NULL },
    };
    static const struct fakeaws_rule get_denied[] = {
        { "ListDetectors", .pages = { "file:guardduty/list-detectors.json" } },
        { "GetDetector", .error_code = "AccessDeniedException", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "guardduty:GetDetector" },
        { NULL },
    };
    static const char *const unknown[] = { "enable", "finding_publishing_frequency", "features",
                                           "tags", NULL };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;

    fakeaws_init(&f, list_denied);
    fakeaws_collect(&f, &collect_guardduty_def, EU, NULL, &out);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, DETECTOR)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, EU, DETECTOR)->detail, "guardduty:ListDetectors");
    ck_assert_int_eq((int)out.res->resources.n, 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);

    fakeaws_init(&f, get_denied);
    fakeaws_collect(&f, &collect_guardduty_def, EU, NULL, &out);
    /* The detector exists; what GetDetector says about it is unknown. */
    ck_assert_int_eq((int)out.res->resources.n, 1);
    r = out.res->resources.items[0];
    for (size_t i = 0; unknown[i]; i++) {
        ck_assert_ptr_null(fakeaws_attr(r, unknown[i]));
        ck_assert_str_eq(json_string_value(json_object_get(r->unknown, unknown[i])),
                         "access_denied:guardduty:GetDetector");
    }
    ck_assert_ptr_nonnull(fakeaws_attr(r, "arn"));
    ck_assert_int_eq(fakeaws_scope(out.res, EU, DETECTOR)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(type_table_consistency)
{
    static const struct fakeaws_rule rules[] = {
        { "ListDetectors",
          .pages = { "{\"DetectorIds\":[\"12abc34d567e8fa901bc2d34e56789f0\"]}" } },
        { "GetDetector", .pages = { "file:guardduty/get-detector-full.json" } },
        { NULL },
    };
    static const char *const ops[] = { "ListDetectors", "GetDetector", NULL };
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    char *missing;
    const struct typemap_type *t;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_guardduty_def, EU, NULL, &out);
    r = fakeaws_resource(out.res, DETECTOR, "12abc34d567e8fa901bc2d34e56789f0");
    missing = fakeaws_missing(tm, r, ops);
    ck_assert_msg(missing == NULL, "missing: %s", missing);
    ck_assert(json_is_false(fakeaws_attr(r, "enable")));
    ck_assert_str_eq(json_string_value(fakeaws_attr(r, "features[2].name")),
                     "EKS_RUNTIME_MONITORING");
    ck_assert_str_eq(json_string_value(fakeaws_attr(r, "features[2].status")), "DISABLED");
    /* The ARN is the table's template. */
    {
        char *want = NULL;
        t = typemap_find(tm, DETECTOR);
        ck_assert_int_eq(typemap_arn_build(t, "aws", EU, "123456789012", r->id, r->attrs, &want),
                         0);
        ck_assert_str_eq(r->arn, want);
        free(want);
    }
    for (size_t i = 0; i < t->n_ops; i++)
        ck_assert_msg(str_eq(t->ops[i].op, ops[0]) || str_eq(t->ops[i].op, ops[1]),
                      "%s is not called", t->ops[i].op);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    typemap_free(tm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_guardduty");
    TCase *tc = tcase_create("collect_guardduty");
    tcase_add_test(tc, registered);
    tcase_add_test(tc, recorded_detector);
    tcase_add_test(tc, real_aws_detector);
    tcase_add_test(tc, no_detector);
    tcase_add_test(tc, denied);
    tcase_add_test(tc, type_table_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
