#include <stdlib.h>
#include <string.h>

#include "collect_events.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION   "eu-central-1"
#define T_RULE   "aws_cloudwatch_event_rule"
#define T_TARGET "aws_cloudwatch_event_target"

/* The happy replies behind up to two overrides. */
static void make_replies(struct fake_reply *out, const struct fake_reply *over, size_t n_over)
{
    static const struct fake_reply base[] = {
        { "ListEventBuses", NULL, { "events/list-event-buses.json" } },
        { "ListRules", "{\"EventBusName\":\"default\"}", { "events/list-rules-default.json" } },
        { "ListRules", "{\"EventBusName\":\"orders\"}", { "events/list-rules-orders.json" } },
        { "ListTargetsByRule",
          "{\"Rule\":\"guardduty-findings\",\"EventBusName\":\"default\"}",
          { "events/list-targets-guardduty-findings.json" } },
        { "ListTargetsByRule",
          "{\"Rule\":\"nightly\",\"EventBusName\":\"default\"}",
          { "events/list-targets-nightly.json" } },
        { "ListTargetsByRule",
          "{\"Rule\":\"created\",\"EventBusName\":\"orders\"}",
          { "events/list-targets-created.json" } },
        { NULL },
    };
    if (n_over)
        memcpy(out, over, n_over * sizeof(*over));
    memcpy(out + n_over, base, sizeof(base));
}

#define N_BASE 7

START_TEST(rules_and_targets)
{
    struct fake_reply replies[N_BASE];
    struct fake_run fr = { 0 };
    const struct resource *r;
    const json_t *p;
    make_replies(replies, NULL, 0);
    fake_collect(&fr, &collect_events, replies, REGION, NULL);
    ck_assert_int_eq(fr.unmatched, 0);
    /* One bus listing, rules per bus, targets per rule. */
    ck_assert_int_eq(fake_calls(&fr, "ListEventBuses"), 1);
    ck_assert_int_eq(fake_calls(&fr, "ListRules"), 2);
    ck_assert_int_eq(fake_calls(&fr, "ListTargetsByRule"), 3);
    ck_assert_int_eq(fr.n_calls, 6);
    ck_assert_int_eq(
        json_integer_value(json_object_get(fake_call_params(&fr, "ListEventBuses", 0), "Limit")),
        100);
    ck_assert(!fake_call_at(&fr, "ListEventBuses", 0)->all_pages);
    p = fake_call_params(&fr, "ListRules", 1);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "Limit")), 100);
    ck_assert(fake_call_at(&fr, "ListRules", 1)->all_pages);
    ck_assert(fake_call_at(&fr, "ListTargetsByRule", 0)->all_pages);
    ck_assert_int_eq(
        json_integer_value(json_object_get(fake_call_params(&fr, "ListTargetsByRule", 2), "Limit")),
        100);

    /* Rules: ids as terraform import takes them. */
    ck_assert_int_eq((int)fake_count(&fr, T_RULE), 3);
    r = fake_find(&fr, T_RULE, "guardduty-findings");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->arn, "arn:aws:events:eu-central-1:123456789012:rule/guardduty-findings");
    ck_assert_str_eq(fake_str(r, "arn"), r->arn);
    ck_assert_str_eq(r->aws_type, "AWS::Events::Rule");
    ck_assert_str_eq(fake_str(r, "name"), "guardduty-findings");
    ck_assert_str_eq(fake_str(r, "event_bus_name"), "default");
    ck_assert_str_eq(fake_str(r, "state"), "ENABLED");
    ck_assert_str_eq(fake_str(r, "description"), "route GuardDuty findings");
    ck_assert(strstr(fake_str(r, "event_pattern"), "aws.guardduty") != NULL);
    ck_assert(json_is_null(fake_attr(r, "schedule_expression")));
    ck_assert(json_is_null(fake_attr(r, "managed_by")));
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:not read (one call per resource)");
    r = fake_find(&fr, T_RULE, "nightly");
    ck_assert_str_eq(fake_str(r, "state"), "DISABLED");
    ck_assert_str_eq(fake_str(r, "schedule_expression"), "rate(1 day)");
    ck_assert_str_eq(fake_str(r, "role_arn"), "arn:aws:iam::123456789012:role/events-invoke");
    r = fake_find(&fr, T_RULE, "orders/created");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(fake_str(r, "event_bus_name"), "orders");
    ck_assert_str_eq(fake_str(r, "name"), "created");

    /* Targets. */
    ck_assert_int_eq((int)fake_count(&fr, T_TARGET), 3);
    r = fake_find(&fr, T_TARGET, "guardduty-findings/oncall");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(r->arn);
    ck_assert_ptr_null(r->aws_type);
    ck_assert_str_eq(fake_str(r, "rule"), "guardduty-findings");
    ck_assert_str_eq(fake_str(r, "target_id"), "oncall");
    ck_assert_str_eq(fake_str(r, "event_bus_name"), "default");
    ck_assert_str_eq(fake_str(r, "arn"), "arn:aws:sns:eu-central-1:123456789012:oncall");
    ck_assert_str_eq(fake_str(r, "input_transformer[0].input_paths.severity"), "$.detail.severity");
    ck_assert_str_eq(fake_str(r, "input_transformer[0].input_template"), "\"severity <severity>\"");
    ck_assert_int_eq(json_integer_value(fake_attr(r, "retry_policy[0].maximum_retry_attempts")), 3);
    ck_assert_int_eq(
        json_integer_value(fake_attr(r, "retry_policy[0].maximum_event_age_in_seconds")), 3600);
    ck_assert_str_eq(fake_str(r, "dead_letter_config[0].arn"),
                     "arn:aws:sqs:eu-central-1:123456789012:events-dlq");
    ck_assert(json_is_null(fake_attr(r, "input")));
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    r = fake_find(&fr, T_TARGET, "guardduty-findings/archive");
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "dead_letter_config")), 0);
    r = fake_find(&fr, T_TARGET, "orders/created/queue");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(fake_str(r, "event_bus_name"), "orders");
    ck_assert_str_eq(fake_str(r, "rule"), "created");
    ck_assert_str_eq(fake_str(r, "input"), "{\"kind\":\"order\"}");

    ck_assert_int_eq(fake_scope(&fr, T_RULE, REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, T_TARGET, REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(target_listing_fails)
{
    static const struct fake_reply over[] = {
        { "ListTargetsByRule",
          "{\"Rule\":\"nightly\"}",
          { NULL },
          "ThrottlingException",
          AWS_ERR_THROTTLED },
        { "ListTargetsByRule",
          "{\"Rule\":\"created\"}",
          { NULL },
          "ResourceNotFoundException",
          AWS_ERR_NOT_FOUND },
    };
    struct fake_reply replies[N_BASE + 2];
    struct fake_run fr = { 0 };
    make_replies(replies, over, 2);
    fake_collect(&fr, &collect_events, replies, REGION, NULL);
    /* The rule deleted meanwhile has no targets (fine); the throttled one
     * makes all targets of the region unknown, the others are kept. */
    ck_assert_int_eq((int)fake_count(&fr, T_TARGET), 2);
    ck_assert_int_eq(fake_scope(&fr, T_TARGET, REGION)->status, COLLECT_THROTTLED);
    ck_assert_str_eq(fake_scope(&fr, T_TARGET, REGION)->detail,
                     "ThrottlingException: fake failure");
    ck_assert_int_eq(fake_scope(&fr, T_RULE, REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fake_count(&fr, T_RULE), 3);
    fake_end(&fr);
}
END_TEST

START_TEST(rule_listing_fails)
{
    static const struct fake_reply over[] = {
        { "ListRules",
          "{\"EventBusName\":\"orders\"}",
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "events:ListRules" },
    };
    struct fake_reply replies[N_BASE + 1];
    struct fake_run fr = { 0 };
    make_replies(replies, over, 1);
    fake_collect(&fr, &collect_events, replies, REGION, NULL);
    /* The default bus is read; the other bus's rules and their targets
     * are unknown. */
    ck_assert_int_eq((int)fake_count(&fr, T_RULE), 2);
    ck_assert_int_eq((int)fake_count(&fr, T_TARGET), 2);
    ck_assert_int_eq(fake_calls(&fr, "ListTargetsByRule"), 2);
    ck_assert_int_eq(fake_scope(&fr, T_RULE, REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T_RULE, REGION)->detail, "events:ListRules");
    ck_assert_int_eq(fake_scope(&fr, T_TARGET, REGION)->status, COLLECT_ACCESS_DENIED);
    fake_end(&fr);
}
END_TEST

START_TEST(bus_listing)
{
    static const struct fake_reply denied[] = {
        { "ListEventBuses",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "events:ListEventBuses" },
        { NULL },
    };
    static const struct fake_reply paged[] = {
        { "ListEventBuses",
          "{\"NextToken\":\"buses-2\"}",
          { "{\"EventBuses\":[{\"Name\":\"orders\"}]}" } },
        { "ListEventBuses",
          NULL,
          { "{\"EventBuses\":[{\"Name\":\"default\"}],\"NextToken\":\"buses-2\"}" } },
        { "ListRules", NULL, { "{\"Rules\":[]}" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_events, denied, REGION, NULL);
    ck_assert_int_eq(fr.n_calls, 1);
    ck_assert_int_eq(fake_scope(&fr, T_RULE, REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(fake_scope(&fr, T_TARGET, REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T_TARGET, REGION)->detail, "events:ListEventBuses");
    fake_end(&fr);
    /* Buses are paged by hand; every bus's rules are listed. */
    fake_collect(&fr, &collect_events, paged, REGION, NULL);
    ck_assert_int_eq(fake_calls(&fr, "ListEventBuses"), 2);
    ck_assert_int_eq(fake_calls(&fr, "ListRules"), 2);
    ck_assert_str_eq(
        json_string_value(json_object_get(fake_call_params(&fr, "ListRules", 1), "EventBusName")),
        "orders");
    ck_assert_int_eq(fake_scope(&fr, T_RULE, REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, T_TARGET, REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    fake_end(&fr);
}
END_TEST

START_TEST(typemap_consistency)
{
    static const struct fake_reply replies[] = {
        { "ListEventBuses", NULL, { "{\"EventBuses\":[{\"Name\":\"default\"}]}" } },
        { "ListRules", NULL, { "events/list-rules-full.json" } },
        { "ListTargetsByRule", NULL, { "events/list-targets-full.json" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    json_t *outputs;
    fake_collect(&fr, &collect_events, replies, REGION, NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 2);
    outputs = json_pack("{s:o}", "ListRules", fake_load("events/list-rules-full.json"));
    fake_check_typemap(fake_find(&fr, T_RULE, "guardduty-findings"), outputs, NULL);
    json_decref(outputs);
    outputs = json_pack("{s:o}", "ListTargetsByRule", fake_load("events/list-targets-full.json"));
    fake_check_typemap(fake_find(&fr, T_TARGET, "guardduty-findings/oncall"), outputs, NULL);
    json_decref(outputs);
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("events"), &collect_events);
    ck_assert(!collect_events.global);
    ck_assert_str_eq(collect_events.iam_actions[0], "events:ListEventBuses");
    ck_assert_str_eq(collect_events.iam_actions[1], "events:ListRules");
    ck_assert_str_eq(collect_events.iam_actions[2], "events:ListTargetsByRule");
    ck_assert_ptr_null(collect_events.iam_actions[3]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_events");
    TCase *tc = tcase_create("events");
    tcase_add_test(tc, rules_and_targets);
    tcase_add_test(tc, target_listing_fails);
    tcase_add_test(tc, rule_listing_fails);
    tcase_add_test(tc, bus_listing);
    tcase_add_test(tc, typemap_consistency);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
