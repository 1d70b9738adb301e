#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collect_cloudtrail.h"
#include "config.h"
#include "fakeaws_rules.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define US           "us-east-1"
#define EU           "eu-central-1"
#define TRAIL        "aws_cloudtrail"
#define MAIN_ARN     "arn:aws:cloudtrail:eu-central-1:123456789012:trail/plumb-main"
#define LOCAL_ARN    "arn:aws:cloudtrail:us-east-1:123456789012:trail/plumb-local"
#define REAL         "fixture:test_cloudtrail_delete/cloudtrail.DescribeTrails_1.json"
#define REAL_ACCOUNT "644160558196"

static const char *attr_str(const struct resource *r, const char *path)
{
    return json_string_value(fakeaws_attr(r, path));
}

START_TEST(registered)
{
    static const char *const want[] = {
        "cloudtrail:DescribeTrails",    "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors", "cloudtrail:GetInsightSelectors",
        "cloudtrail:ListTags",          NULL
    };
    bool known = false;
    ck_assert_ptr_eq(collector_find("cloudtrail"), &collect_cloudtrail_def);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        known = known || str_eq(config_collector_defaults[i].name, collect_cloudtrail_def.name);
    ck_assert(known);
    ck_assert(!collect_cloudtrail_def.global);
    for (size_t i = 0; want[i] || collect_cloudtrail_def.iam_actions[i]; i++)
        ck_assert_str_eq(collect_cloudtrail_def.iam_actions[i], want[i]);
}
END_TEST

START_TEST(recorded_home_region)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeTrails", .pages = { "file:cloudtrail/describe-trails-eu-central-1.json" } },
        { "GetTrailStatus", "Name=" MAIN_ARN,
          .pages = { "file:cloudtrail/get-trail-status-plumb-main.json" } },
        { "GetEventSelectors", "TrailName=" MAIN_ARN,
          .pages = { "file:cloudtrail/get-event-selectors-plumb-main.json" } },
        { "GetInsightSelectors", "TrailName=" MAIN_ARN,
          .pages = { "file:cloudtrail/get-insight-selectors-plumb-main.json" } },
        { "ListTags", "ResourceIdList=" MAIN_ARN,
          .pages = { "file:cloudtrail/list-tags-plumb-main.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    const struct fakeaws_call *c;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_cloudtrail_def, EU, NULL, &out);
    ck_assert_int_eq((int)f.n_unmatched, 0);
    ck_assert_int_eq((int)f.n_calls, 5);
    c = fakeaws_find(&f, "DescribeTrails", NULL);
    ck_assert(json_is_true(json_object_get(c->params, "includeShadowTrails")));
    ck_assert_str_eq(c->region, EU);
    ck_assert_int_eq((int)json_array_size(json_object_get(
                         fakeaws_find(&f, "ListTags", NULL)->params, "ResourceIdList")),
                     1);

    ck_assert_int_eq((int)fakeaws_count_type(out.res, TRAIL), 1);
    r = fakeaws_resource(out.res, TRAIL, "plumb-main");
    ck_assert_str_eq(r->region, EU);
    ck_assert_str_eq(r->aws_type, "AWS::CloudTrail::Trail");
    ck_assert_str_eq(r->arn, MAIN_ARN);
    ck_assert_str_eq(attr_str(r, "arn"), MAIN_ARN);
    ck_assert_str_eq(attr_str(r, "name"), "plumb-main");
    ck_assert_str_eq(attr_str(r, "home_region"), EU);
    ck_assert_str_eq(attr_str(r, "s3_bucket_name"), "plumb-sec-logs");
    ck_assert_str_eq(attr_str(r, "s3_key_prefix"), "trail");
    ck_assert_str_eq(attr_str(r, "cloud_watch_logs_group_arn"),
                     "arn:aws:logs:eu-central-1:123456789012:log-group:/plumb/trail:*");
    ck_assert_str_eq(attr_str(r, "kms_key_id"), "arn:aws:kms:eu-central-1:123456789012:key/"
                                                "bdd640fb-0667-4ad1-9c80-317fa3b1799d");
    ck_assert(json_is_true(fakeaws_attr(r, "is_multi_region_trail")));
    ck_assert(json_is_true(fakeaws_attr(r, "enable_log_file_validation")));
    ck_assert(json_is_false(fakeaws_attr(r, "is_organization_trail")));
    ck_assert(json_is_null(fakeaws_attr(r, "sns_topic_name")));
    ck_assert(json_is_true(fakeaws_attr(r, "enable_logging")));
    ck_assert_str_eq(attr_str(r, "event_selector[0].read_write_type"), "All");
    ck_assert(json_is_true(fakeaws_attr(r, "event_selector[0].include_management_events")));
    ck_assert_str_eq(attr_str(r, "event_selector[0].data_resource[0].type"), "AWS::S3::Object");
    ck_assert_str_eq(attr_str(r, "event_selector[0].data_resource[0].values[0]"),
                     "arn:aws:s3:::plumb-sec-data/");
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "advanced_event_selector")), 0);
    ck_assert_str_eq(attr_str(r, "insight_selector[0].insight_type"), "ApiCallRateInsight");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "security");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, TRAIL)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(shadows_are_dropped)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeTrails", .pages = { "file:cloudtrail/describe-trails-us-east-1.json" } },
        { "GetTrailStatus", "Name=" LOCAL_ARN,
          .pages = { "file:cloudtrail/get-trail-status-plumb-local.json" } },
        { "GetEventSelectors", "TrailName=" LOCAL_ARN,
          .pages = { "file:cloudtrail/get-event-selectors-plumb-local.json" } },
        { "GetInsightSelectors", "TrailName=" LOCAL_ARN, .error_code = "InsightNotEnabledException",
          .kind = AWS_ERR_CLIENT },
        { "ListTags", "ResourceIdList=" LOCAL_ARN,
          .pages = { "file:cloudtrail/list-tags-plumb-local.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_cloudtrail_def, US, NULL, &out);
    /* plumb-main is listed here as a shadow (home eu-central-1): its
     * document belongs to its home region, and nothing is asked about it. */
    ck_assert_int_eq((int)f.n_unmatched, 0);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, TRAIL), 1);
    ck_assert_ptr_null(fakeaws_resource(out.res, TRAIL, "plumb-main"));
    r = fakeaws_resource(out.res, TRAIL, "plumb-local");
    ck_assert(json_is_false(fakeaws_attr(r, "enable_logging")));
    ck_assert(json_is_false(fakeaws_attr(r, "is_multi_region_trail")));
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "event_selector")), 0);
    ck_assert_str_eq(attr_str(r, "advanced_event_selector[0].name"), "management");
    ck_assert_str_eq(attr_str(r, "advanced_event_selector[0].field_selector[0].field"),
                     "eventCategory");
    ck_assert_str_eq(attr_str(r, "advanced_event_selector[0].field_selector[0].equals[0]"),
                     "Management");
    ck_assert(
        json_is_null(fakeaws_attr(r, "advanced_event_selector[0].field_selector[0].starts_with")));
    /* No insight selector ever set: an empty list, not an error. */
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "insight_selector")), 0);
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

/* Four trails recorded from a real account, one of them the organization
 * trail. */
START_TEST(real_aws_trails)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeTrails", .pages = { REAL } },
        { "GetTrailStatus",
          .pages = { "fixture:test_cloudtrail_set_logging/cloudtrail.GetTrailStatus_2.json" } },
        { "GetEventSelectors", .pages = { "fixture:test_cloudtrail_event_selectors/"
                                          "cloudtrail.GetEventSelectors_4.json" } },
        { "GetInsightSelectors", .error_code = "InsightNotEnabledException",
          .kind = AWS_ERR_CLIENT },
        { "ListTags", .pages = { "{\"ResourceTagList\":[]}" } },
        { NULL },
    };
    json_t *listed = fakeaws_load(REAL);
    json_t *status =
        fakeaws_load("fixture:test_cloudtrail_set_logging/cloudtrail.GetTrailStatus_2.json");
    const json_t *trails = json_object_get(listed, "trailList");
    struct fakeaws f;
    struct fakeaws_result out;
    size_t i;
    json_t *t;
    fakeaws_init(&f, rules);
    f.account = REAL_ACCOUNT;
    fakeaws_collect(&f, &collect_cloudtrail_def, US, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, TRAIL), (int)json_array_size(trails));
    /* One tag call for all of them. */
    ck_assert_int_eq((int)fakeaws_count(&f, "ListTags", NULL), 1);
    ck_assert_int_eq((int)json_array_size(json_object_get(
                         fakeaws_find(&f, "ListTags", NULL)->params, "ResourceIdList")),
                     (int)json_array_size(trails));
    json_array_foreach (trails, i, t) {
        const struct resource *r =
            fakeaws_resource(out.res, TRAIL, json_string_value(json_object_get(t, "Name")));
        ck_assert_ptr_nonnull(r);
        ck_assert(json_equal(fakeaws_attr(r, "is_organization_trail"),
                             json_object_get(t, "IsOrganizationTrail")));
        ck_assert(
            json_equal(fakeaws_attr(r, "s3_bucket_name"), json_object_get(t, "S3BucketName")));
        ck_assert(
            json_equal(fakeaws_attr(r, "enable_logging"), json_object_get(status, "IsLogging")));
        /* Present in the answer, deliberately not kept (it moves with
         * every delivery). */
        ck_assert_ptr_nonnull(json_object_get(status, "LatestDeliveryTime"));
        ck_assert_ptr_null(fakeaws_attr(r, "latest_delivery_time"));
        ck_assert_str_eq(attr_str(r, "event_selector[0].read_write_type"), "All");
        ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    }
    fakeaws_result_free(&out);
    fakeaws_free(&f);

    /* Seen from another account (an organization member), the same trails
     * are another account's: their tags cannot be asked for. */
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_cloudtrail_def, US, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListTags", NULL), 0);
    json_array_foreach (trails, i, t) {
        const struct resource *r =
            fakeaws_resource(out.res, TRAIL, json_string_value(json_object_get(t, "Name")));
        ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                         "not_collected:trail of another account");
    }
    ck_assert_int_eq(fakeaws_scope(out.res, US, TRAIL)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    json_decref(listed);
    json_decref(status);
}
END_TEST

START_TEST(tags_in_batches_of_20)
{
    struct buf b;
    struct fakeaws_rule rules[] = {
        { "DescribeTrails", .pages = { NULL } },
        { "GetTrailStatus", .pages = { "{\"IsLogging\":true}" } },
        { "GetEventSelectors", .pages = { "{\"EventSelectors\":[]}" } },
        { "GetInsightSelectors", .pages = { "{}" } },
        { "ListTags",
          .pages = { "{\"ResourceTagList\":[{\"ResourceId\":\"arn:aws:cloudtrail:eu-central-1:"
                     "123456789012:trail/t22\",\"TagsList\":[{\"Key\":\"n\",\"Value\":\"22\"}]}],"
                     "\"NextToken\":\"more\"}",
                     "{\"ResourceTagList\":[{\"ResourceId\":\"arn:aws:cloudtrail:eu-central-1:"
                     "123456789012:trail/"
                     "t3\",\"TagsList\":[{\"Key\":\"n\",\"Value\":\"3\"}]}]}" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    size_t n = 0;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(buf_append_str(&b, "{\"trailList\":["), 0);
    for (int i = 0; i < 23; i++) {
        char item[256];
        snprintf(item, sizeof(item),
                 "%s{\"Name\":\"t%d\",\"HomeRegion\":\"" EU "\",\"TrailARN\":\"arn:aws:cloudtrail:"
                 "eu-central-1:123456789012:trail/t%d\"}",
                 i ? "," : "", i, i);
        ck_assert_int_eq(buf_append_str(&b, item), 0);
    }
    ck_assert_int_eq(buf_append_str(&b, "]}"), 0);
    rules[0].pages[0] = buf_str(&b);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_cloudtrail_def, EU, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, TRAIL), 23);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListTags", NULL), 2);
    for (size_t i = 0; i < f.n_calls; i++)
        if (str_eq(f.calls[i].operation, "ListTags"))
            n += json_array_size(json_object_get(f.calls[i].params, "ResourceIdList"));
    ck_assert_int_eq((int)n, 23);
    /* Every page of the answer is used (the fake answers both calls alike). */
    ck_assert_str_eq(
        json_string_value(json_object_get(fakeaws_resource(out.res, TRAIL, "t22")->tags, "n")),
        "22");
    ck_assert_str_eq(
        json_string_value(json_object_get(fakeaws_resource(out.res, TRAIL, "t3")->tags, "n")), "3");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    buf_free(&b);
}
END_TEST

START_TEST(failures)
{
    static const struct fakeaws_rule listing[] = {
        { "DescribeTrails", .error_code = "AccessDeniedException", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "cloudtrail:DescribeTrails" },
        { NULL },
    };
    static const struct fakeaws_rule details[] = {
        { "DescribeTrails", .pages = { "file:cloudtrail/describe-trails-eu-central-1.json" } },
        { "GetTrailStatus", .error_code = "AccessDeniedException", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "cloudtrail:GetTrailStatus" },
        { "GetEventSelectors", .pages = { "file:cloudtrail/get-event-selectors-plumb-main.json" } },
        { "GetInsightSelectors", .error_code = "TrailNotFoundException",
          .kind = AWS_ERR_NOT_FOUND },
        { "ListTags", .error_code = "ThrottlingException", .kind = AWS_ERR_THROTTLED },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;

    fakeaws_init(&f, listing);
    fakeaws_collect(&f, &collect_cloudtrail_def, EU, NULL, &out);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, TRAIL)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, EU, TRAIL)->detail, "cloudtrail:DescribeTrails");
    ck_assert_int_eq((int)out.res->resources.n, 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);

    fakeaws_init(&f, details);
    fakeaws_collect(&f, &collect_cloudtrail_def, EU, NULL, &out);
    r = fakeaws_resource(out.res, TRAIL, "plumb-main");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "enable_logging")),
                     "access_denied:cloudtrail:GetTrailStatus");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "latest_delivery_error")),
                     "access_denied:cloudtrail:GetTrailStatus");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "insight_selector")),
                     "error:TrailNotFoundException: fake error");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "throttled:ThrottlingException: fake error");
    ck_assert_int_eq((int)json_object_size(r->unknown), 4);
    ck_assert_ptr_nonnull(fakeaws_attr(r, "event_selector"));
    ck_assert_ptr_null(fakeaws_attr(r, "enable_logging"));
    ck_assert_int_eq(fakeaws_scope(out.res, EU, TRAIL)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(type_table_consistency)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeTrails", .pages = { "file:cloudtrail/describe-trails-full.json" } },
        { "GetTrailStatus", .pages = { "file:cloudtrail/get-trail-status-full.json" } },
        { "GetEventSelectors", .pages = { "file:cloudtrail/get-event-selectors-full.json" } },
        { "GetInsightSelectors", .pages = { "file:cloudtrail/get-insight-selectors-full.json" } },
        { "ListTags", .pages = { "file:cloudtrail/list-tags-full.json" } },
        { NULL },
    };
    static const char *const ops[] = { "DescribeTrails",      "GetTrailStatus", "GetEventSelectors",
                                       "GetInsightSelectors", "ListTags",       NULL };
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    const struct typemap_type *t;
    char *missing;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_cloudtrail_def, EU, NULL, &out);
    /* The home-region trail and the organization trail; not the shadow. */
    ck_assert_int_eq((int)fakeaws_count_type(out.res, TRAIL), 2);
    ck_assert_ptr_null(fakeaws_resource(out.res, TRAIL, "elsewhere"));
    r = fakeaws_resource(out.res, TRAIL, "full");
    /* Everything but latest_delivery_time, left out on purpose (see
     * collect_cloudtrail.h). */
    missing = fakeaws_missing(tm, r, ops);
    ck_assert_msg(str_eq(missing, "latest_delivery_time"), "missing: %s", missing);
    free(missing);
    ck_assert_str_eq(attr_str(r, "sns_topic_name"), "trail-topic");
    ck_assert_str_eq(attr_str(r, "latest_delivery_error"), "AccessDenied");
    ck_assert_str_eq(attr_str(r, "event_selector[0].exclude_management_event_sources[0]"),
                     "kms.amazonaws.com");
    ck_assert_str_eq(attr_str(r, "advanced_event_selector[0].field_selector[2].not_ends_with[0]"),
                     ".tmp");
    ck_assert_str_eq(attr_str(r, "advanced_event_selector[0].field_selector[2].not_equals[0]"),
                     "arn:aws:s3:::trail-bucket/skip");
    ck_assert_str_eq(attr_str(r, "insight_selector[1].insight_type"), "ApiErrorRateInsight");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "retention")), "7y");
    /* The organization trail of the management account. */
    r = fakeaws_resource(out.res, TRAIL, "org-trail");
    ck_assert(json_is_true(fakeaws_attr(r, "is_organization_trail")));
    ck_assert_str_eq(r->arn, "arn:aws:cloudtrail:eu-central-1:999999999999:trail/org-trail");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:trail of another account");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            fakeaws_find(&f, "GetTrailStatus",
                         "Name="
                         "arn:aws:cloudtrail:eu-central-1:999999999999:trail/org-trail")
                ->params,
            "Name")),
        "arn:aws:cloudtrail:eu-central-1:999999999999:trail/org-trail");
    t = typemap_find(tm, TRAIL);
    ck_assert_str_eq(t->collector, "collect_cloudtrail");
    for (size_t j = 0; j < t->n_ops; j++) {
        bool called = false;
        for (size_t k = 0; ops[k]; k++)
            called = called || str_eq(ops[k], t->ops[j].op);
        ck_assert_msg(called, "%s is not called", t->ops[j].op);
    }
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    typemap_free(tm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_cloudtrail");
    TCase *tc = tcase_create("collect_cloudtrail");
    tcase_add_test(tc, registered);
    tcase_add_test(tc, recorded_home_region);
    tcase_add_test(tc, shadows_are_dropped);
    tcase_add_test(tc, real_aws_trails);
    tcase_add_test(tc, tags_in_batches_of_20);
    tcase_add_test(tc, failures);
    tcase_add_test(tc, type_table_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
