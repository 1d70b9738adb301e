#include <stdlib.h>

#include "collect_ssmincidents.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define HOME   "us-east-1"
#define T_SET  "aws_ssmincidents_replication_set"
#define T_PLAN "aws_ssmincidents_response_plan"
#define SET_ARN \
    "arn:aws:ssm-incidents::123456789012:replication-set/40c4e0a4-6bd1-0e4d-7f3a-0b2b6e9a1c11"
#define PLAN_CRIT   "arn:aws:ssm-incidents::123456789012:response-plan/critical-outage"
#define PLAN_BREACH "arn:aws:ssm-incidents::123456789012:response-plan/data-breach"

static const struct fake_reply ok_replies[] = {
    { "ListReplicationSets", NULL, { "ssm-incidents/list-replication-sets.json" } },
    { "GetReplicationSet", NULL, { "ssm-incidents/get-replication-set.json" } },
    { "ListTagsForResource", NULL, { "ssm-incidents/list-tags-replication-set.json" } },
    { "ListResponsePlans", NULL, { "ssm-incidents/list-response-plans.json" } },
    { "GetResponsePlan",
      "{\"arn\":\"" PLAN_CRIT "\"}",
      { "ssm-incidents/get-response-plan-critical-outage.json" } },
    { "GetResponsePlan",
      "{\"arn\":\"" PLAN_BREACH "\"}",
      { "ssm-incidents/get-response-plan-data-breach.json" } },
    { NULL },
};

START_TEST(replication_set_and_plans)
{
    struct fake_run fr = { 0 };
    const struct resource *r;
    json_t *outputs;
    fake_collect(&fr, &collect_ssmincidents, ok_replies, HOME, NULL);
    ck_assert_int_eq(fr.unmatched, 0);
    ck_assert_int_eq(fr.n_calls, 6);
    ck_assert_str_eq(fake_call_at(&fr, "ListResponsePlans", 0)->region, HOME);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         fake_call_params(&fr, "ListResponsePlans", 0), "maxResults")),
                     100);
    ck_assert_str_eq(
        json_string_value(json_object_get(fake_call_params(&fr, "GetReplicationSet", 0), "arn")),
        SET_ARN);
    ck_assert_str_eq(json_string_value(json_object_get(
                         fake_call_params(&fr, "ListTagsForResource", 0), "resourceArn")),
                     SET_ARN);

    r = fake_find(&fr, T_SET, SET_ARN);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, "global");
    ck_assert_str_eq(r->arn, SET_ARN);
    ck_assert_str_eq(fake_str(r, "arn"), SET_ARN);
    ck_assert_str_eq(fake_str(r, "status"), "ACTIVE");
    ck_assert(json_is_false(fake_attr(r, "deletion_protected")));
    ck_assert_str_eq(fake_str(r, "created_by"),
                     "arn:aws:sts::123456789012:assumed-role/Admin/alice");
    /* One element per region, in name order, the map key as name. */
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "region")), 2);
    ck_assert_str_eq(fake_str(r, "region[0].name"), "eu-central-1");
    ck_assert_str_eq(fake_str(r, "region[0].kms_key_arn"),
                     "arn:aws:kms:eu-central-1:123456789012:key/7777");
    ck_assert_str_eq(fake_str(r, "region[0].status_message"), "Replicating the incident data");
    ck_assert_str_eq(fake_str(r, "region[1].name"), "eu-west-1");
    ck_assert_str_eq(fake_str(r, "region[1].kms_key_arn"), "DefaultKey");
    ck_assert(json_is_null(fake_attr(r, "region[1].status_message")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "owner")), "sre");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    outputs = json_pack("{s:o,s:o,s:o}", "ListReplicationSets",
                        fake_load("ssm-incidents/list-replication-sets.json"), "GetReplicationSet",
                        fake_load("ssm-incidents/get-replication-set.json"), "ListTagsForResource",
                        fake_load("ssm-incidents/list-tags-replication-set.json"));
    fake_check_typemap(r, outputs, NULL);
    json_decref(outputs);

    ck_assert_int_eq((int)fake_count(&fr, T_PLAN), 2);
    r = fake_find(&fr, T_PLAN, PLAN_CRIT);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, "global");
    ck_assert_str_eq(fake_str(r, "name"), "critical-outage");
    ck_assert_str_eq(fake_str(r, "display_name"), "Critical outage");
    ck_assert_str_eq(fake_str(r, "chat_channel[0]"),
                     "arn:aws:sns:eu-central-1:123456789012:incident-chat");
    ck_assert_str_eq(fake_str(r, "engagements[0]"),
                     "arn:aws:ssm-contacts:eu-central-1:123456789012:contact/oncall");
    ck_assert_int_eq(json_integer_value(fake_attr(r, "incident_template[0].impact")), 1);
    ck_assert_str_eq(fake_str(r, "incident_template[0].title"), "Critical outage");
    ck_assert_str_eq(fake_str(r, "incident_template[0].incident_tags.severity"), "critical");
    ck_assert_str_eq(fake_str(r, "incident_template[0].notification_target[0].sns_topic_arn"),
                     "arn:aws:sns:eu-central-1:123456789012:incidents");
    ck_assert_str_eq(fake_str(r, "action[0].ssm_automation[0].document_name"),
                     "AWSIncidents-CriticalIncidentRunbookTemplate");
    ck_assert_str_eq(fake_str(r, "action[0].ssm_automation[0].dynamic_parameters.Resources"),
                     "INVOLVED_RESOURCES");
    ck_assert_str_eq(fake_str(r, "action[0].ssm_automation[0].parameter[0].name"), "Environments");
    ck_assert_str_eq(fake_str(r, "action[0].ssm_automation[0].parameter[0].values[1]"), "staging");
    ck_assert_str_eq(fake_str(r, "action[0].ssm_automation[0].parameter[1].name"), "Region");
    ck_assert_str_eq(fake_str(r, "integration[0].pagerduty[0].service_id"), "PABC123");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:not read (one call per resource)");
    outputs = json_pack("{s:o,s:o}", "ListResponsePlans",
                        fake_load("ssm-incidents/list-response-plans.json"), "GetResponsePlan",
                        fake_load("ssm-incidents/get-response-plan-critical-outage.json"));
    fake_check_typemap(r, outputs, NULL);
    json_decref(outputs);

    r = fake_find(&fr, T_PLAN, PLAN_BREACH);
    ck_assert(json_is_null(fake_attr(r, "display_name")));
    /* An empty chat channel is no SNS topic. */
    ck_assert(json_is_null(fake_attr(r, "chat_channel")));
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "action")), 0);
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "integration")), 0);
    ck_assert_str_eq(fake_str(r, "incident_template[0].title"), "Possible data breach");
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "incident_template[0].notification_target")),
                     0);

    ck_assert_int_eq((int)fr.res->n_scopes, 2);
    ck_assert_int_eq(fake_scope(&fr, T_SET, "global")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, T_PLAN, "global")->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(not_set_up)
{
    static const struct fake_reply replies[] = {
        { "ListReplicationSets", NULL, { "ssm-incidents/list-replication-sets-none.json" } },
        { "ListResponsePlans", NULL, { "{\"responsePlanSummaries\":[]}" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_ssmincidents, replies, HOME, NULL);
    ck_assert_int_eq(fr.n_calls, 2);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T_SET, NULL)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, T_PLAN, NULL)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(detail_failures)
{
    static const struct fake_reply replies[] = {
        { "ListReplicationSets", NULL, { "ssm-incidents/list-replication-sets.json" } },
        { "GetReplicationSet", NULL, { "ssm-incidents/get-replication-set.json" } },
        { "ListTagsForResource",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "ssm-incidents:ListTagsForResource" },
        { "ListResponsePlans", NULL, { "ssm-incidents/list-response-plans.json" } },
        { "GetResponsePlan",
          "{\"arn\":\"" PLAN_CRIT "\"}",
          { NULL },
          "ThrottlingException",
          AWS_ERR_THROTTLED },
        { "GetResponsePlan",
          "{\"arn\":\"" PLAN_BREACH "\"}",
          { "ssm-incidents/get-response-plan-data-breach.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    const struct resource *r;
    fake_collect(&fr, &collect_ssmincidents, replies, HOME, NULL);
    r = fake_find(&fr, T_SET, SET_ARN);
    ck_assert_str_eq(fake_str(r, "status"), "ACTIVE");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "access_denied:ssm-incidents:ListTagsForResource");
    r = fake_find(&fr, T_PLAN, PLAN_CRIT);
    ck_assert_str_eq(fake_str(r, "name"), "critical-outage");
    ck_assert_ptr_null(fake_attr(r, "incident_template"));
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "incident_template")),
                     "throttled:ThrottlingException: fake failure");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "action")),
                     "throttled:ThrottlingException: fake failure");
    ck_assert_int_eq(fake_scope(&fr, T_PLAN, NULL)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(lists_denied)
{
    static const struct fake_reply replies[] = {
        { "ListReplicationSets",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "ssm-incidents:ListReplicationSets" },
        { "ListResponsePlans",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "ssm-incidents:ListResponsePlans" },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_ssmincidents, replies, HOME, NULL);
    ck_assert_int_eq(fake_scope(&fr, T_SET, NULL)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T_SET, NULL)->detail, "ssm-incidents:ListReplicationSets");
    ck_assert_int_eq(fake_scope(&fr, T_PLAN, NULL)->status, COLLECT_ACCESS_DENIED);
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    static const char *const want[] = {
        "ssm-incidents:GetReplicationSet",   "ssm-incidents:GetResponsePlan",
        "ssm-incidents:ListReplicationSets", "ssm-incidents:ListResponsePlans",
        "ssm-incidents:ListTagsForResource", NULL,
    };
    ck_assert_ptr_eq(collector_find("ssmincidents"), &collect_ssmincidents);
    ck_assert(collect_ssmincidents.global);
    ck_assert_str_eq(collect_ssmincidents.service, "ssm-incidents");
    for (size_t i = 0; want[i] || collect_ssmincidents.iam_actions[i]; i++)
        ck_assert_str_eq(collect_ssmincidents.iam_actions[i], want[i]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_ssmincidents");
    TCase *tc = tcase_create("ssmincidents");
    tcase_add_test(tc, replication_set_and_plans);
    tcase_add_test(tc, not_set_up);
    tcase_add_test(tc, detail_failures);
    tcase_add_test(tc, lists_denied);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
