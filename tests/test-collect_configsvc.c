#include <stdlib.h>
#include <string.h>

#include "collect_configsvc.h"
#include "config.h"
#include "fakeaws_rules.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define EU       "eu-central-1"
#define RECORDER "aws_config_configuration_recorder"
#define STATUS   "aws_config_configuration_recorder_status"
#define CHANNEL  "aws_config_delivery_channel"
#define CT       "test_configrecord_retention/"

static const char *attr_str(const struct resource *r, const char *path)
{
    return json_string_value(fakeaws_attr(r, path));
}

START_TEST(registered)
{
    bool known = false;
    ck_assert_ptr_eq(collector_find("configservice"), &collect_configsvc_def);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        known = known || str_eq(config_collector_defaults[i].name, collect_configsvc_def.name);
    ck_assert(known);
    ck_assert_str_eq(collect_configsvc_def.service, "config");
    ck_assert_str_eq(collect_configsvc_def.iam_actions[0], "config:DescribeConfigurationRecorders");
    ck_assert_str_eq(collect_configsvc_def.iam_actions[1],
                     "config:DescribeConfigurationRecorderStatus");
    ck_assert_str_eq(collect_configsvc_def.iam_actions[2], "config:DescribeDeliveryChannels");
    ck_assert_ptr_null(collect_configsvc_def.iam_actions[3]);
}
END_TEST

START_TEST(recorded_setup)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeConfigurationRecorders",
          .pages = { "file:config/describe-configuration-recorders.json" } },
        { "DescribeConfigurationRecorderStatus",
          .pages = { "file:config/describe-configuration-recorder-status.json" } },
        { "DescribeDeliveryChannels", .pages = { "file:config/describe-delivery-channels.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_configsvc_def, EU, NULL, &out);
    /* One call per type and region, nothing per item. */
    ck_assert_int_eq((int)f.n_calls, 3);
    ck_assert_int_eq((int)out.res->resources.n, 3);

    r = fakeaws_resource(out.res, RECORDER, "default");
    ck_assert_str_eq(r->aws_type, "AWS::Config::ConfigurationRecorder");
    ck_assert_str_eq(r->region, EU);
    ck_assert_ptr_null(r->arn);
    ck_assert_str_eq(attr_str(r, "name"), "default");
    ck_assert_str_eq(attr_str(r, "role_arn"), "arn:aws:iam::123456789012:role/plumb-config");
    ck_assert(json_is_true(fakeaws_attr(r, "recording_group[0].all_supported")));
    ck_assert(json_is_true(fakeaws_attr(r, "recording_group[0].include_global_resource_types")));
    ck_assert_str_eq(attr_str(r, "recording_group[0].recording_strategy[0].use_only"),
                     "ALL_SUPPORTED_RESOURCE_TYPES");
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(
                         r, "recording_group[0].exclusion_by_resource_types[0].resource_types")),
                     0);
    /* No recordingMode in the response: an empty block. */
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "recording_mode")), 0);

    r = fakeaws_resource(out.res, STATUS, "default");
    ck_assert_ptr_null(r->aws_type);
    ck_assert(json_is_true(fakeaws_attr(r, "is_enabled")));
    ck_assert_str_eq(attr_str(r, "last_status"), "PENDING");
    ck_assert(json_is_null(fakeaws_attr(r, "last_error_code")));

    r = fakeaws_resource(out.res, CHANNEL, "default");
    ck_assert_str_eq(attr_str(r, "s3_bucket_name"), "plumb-sec-logs");
    ck_assert_str_eq(attr_str(r, "s3_key_prefix"), "config");
    ck_assert(json_is_null(fakeaws_attr(r, "sns_topic_arn")));
    ck_assert_str_eq(attr_str(r, "snapshot_delivery_properties[0].delivery_frequency"),
                     "Six_Hours");
    ck_assert_int_eq(fakeaws_scope(out.res, EU, RECORDER)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, STATUS)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, CHANNEL)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

/* A Control Tower account recorded from real AWS: a recorder limited to a
 * few types (which log-config-recorder must see as allSupported false). */
START_TEST(real_aws_control_tower)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeConfigurationRecorders",
          .pages = { "fixture:" CT "config.DescribeConfigurationRecorders_1.json" } },
        { "DescribeConfigurationRecorderStatus",
          .pages = { "fixture:" CT "config.DescribeConfigurationRecorderStatus_1.json" } },
        { "DescribeDeliveryChannels",
          .pages = { "fixture:" CT "config.DescribeDeliveryChannels_1.json" } },
        { NULL },
    };
    json_t *rec = fakeaws_load("fixture:" CT "config.DescribeConfigurationRecorders_1.json");
    json_t *ch = fakeaws_load("fixture:" CT "config.DescribeDeliveryChannels_1.json");
    const json_t *item = json_array_get(json_object_get(rec, "ConfigurationRecorders"), 0);
    const json_t *chan = json_array_get(json_object_get(ch, "DeliveryChannels"), 0);
    const char *name = json_string_value(json_object_get(item, "name"));
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_configsvc_def, EU, NULL, &out);
    r = fakeaws_resource(out.res, RECORDER, name);
    ck_assert_ptr_nonnull(r);
    ck_assert(json_is_false(fakeaws_attr(r, "recording_group[0].all_supported")));
    ck_assert(
        json_equal(fakeaws_attr(r, "recording_group[0].resource_types"),
                   json_object_get(json_object_get(item, "recordingGroup"), "resourceTypes")));
    ck_assert(json_equal(fakeaws_attr(r, "role_arn"), json_object_get(item, "roleARN")));
    ck_assert_ptr_nonnull(fakeaws_resource(out.res, STATUS, name));
    r = fakeaws_resource(out.res, CHANNEL, json_string_value(json_object_get(chan, "name")));
    ck_assert_ptr_nonnull(r);
    ck_assert(json_equal(fakeaws_attr(r, "s3_key_prefix"), json_object_get(chan, "s3KeyPrefix")));
    ck_assert(json_equal(fakeaws_attr(r, "sns_topic_arn"), json_object_get(chan, "snsTopicARN")));
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    json_decref(rec);
    json_decref(ch);
}
END_TEST

START_TEST(not_set_up_and_denied)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeConfigurationRecorders", .pages = { "{\"ConfigurationRecorders\":[]}" } },
        { "DescribeConfigurationRecorderStatus",
          .pages = { "{\"ConfigurationRecordersStatus\":[]}" } },
        { "DescribeDeliveryChannels", .error_code = "AccessDeniedException",
          .kind = AWS_ERR_ACCESS_DENIED, .iam_action = "config:DescribeDeliveryChannels" },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_configsvc_def, EU, NULL, &out);
    ck_assert_int_eq((int)out.res->resources.n, 0);
    /* Config off is a successful, empty read; a denied read is UNKNOWN. */
    ck_assert_int_eq(fakeaws_scope(out.res, EU, RECORDER)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, STATUS)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, CHANNEL)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, EU, CHANNEL)->detail,
                     "config:DescribeDeliveryChannels");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(type_table_consistency)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeConfigurationRecorders",
          .pages = { "file:config/describe-configuration-recorders-full.json" } },
        { "DescribeConfigurationRecorderStatus",
          .pages = { "file:config/describe-configuration-recorder-status-full.json" } },
        { "DescribeDeliveryChannels",
          .pages = { "file:config/describe-delivery-channels-full.json" } },
        { NULL },
    };
    static const char *const ops[] = { "DescribeConfigurationRecorders",
                                       "DescribeConfigurationRecorderStatus",
                                       "DescribeDeliveryChannels", NULL };
    static const char *const types[] = { RECORDER, STATUS, CHANNEL, NULL };
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_configsvc_def, EU, NULL, &out);
    for (size_t i = 0; types[i]; i++) {
        const struct typemap_type *t = typemap_find(tm, types[i]);
        char *missing;
        r = fakeaws_resource(out.res, types[i], "default");
        ck_assert_ptr_nonnull(r);
        missing = fakeaws_missing(tm, r, ops);
        ck_assert_msg(missing == NULL, "%s missing: %s", types[i], missing);
        ck_assert_str_eq(t->collector, "collect_configsvc");
        for (size_t j = 0; j < t->n_ops; j++) {
            bool called = false;
            for (size_t k = 0; ops[k]; k++)
                called = called || str_eq(ops[k], t->ops[j].op);
            ck_assert_msg(called, "%s is not called", t->ops[j].op);
        }
    }
    r = fakeaws_resource(out.res, RECORDER, "default");
    ck_assert_str_eq(r->arn, "arn:aws:config:eu-central-1:123456789012:configuration-recorder/"
                             "default/abcdef0123456789");
    ck_assert_str_eq(attr_str(r, "recording_mode[0].recording_frequency"), "DAILY");
    ck_assert_str_eq(attr_str(r, "recording_mode[0].recording_mode_override[0].description"),
                     "security groups as they change");
    ck_assert_str_eq(
        attr_str(r, "recording_group[0].exclusion_by_resource_types[0].resource_types[1]"),
        "AWS::EC2::Volume");
    r = fakeaws_resource(out.res, STATUS, "default");
    ck_assert_str_eq(attr_str(r, "last_status"), "FAILURE");
    ck_assert_str_eq(attr_str(r, "last_error_code"), "AccessDenied");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    typemap_free(tm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_configsvc");
    TCase *tc = tcase_create("collect_configsvc");
    tcase_add_test(tc, registered);
    tcase_add_test(tc, recorded_setup);
    tcase_add_test(tc, real_aws_control_tower);
    tcase_add_test(tc, not_set_up_and_denied);
    tcase_add_test(tc, type_table_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
