#include "collect_events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectq.h"
#include "fieldmap.h"
#include "util.h"

#define T_RULE      "aws_cloudwatch_event_rule"
#define T_TARGET    "aws_cloudwatch_event_target"
#define DEFAULT_BUS "default"

static const char *const gone[] = { "ResourceNotFoundException", NULL };

static const struct fieldmap rule_fields[] = {
    { "arn", "Arn" },
    { "description", "Description" },
    { "event_pattern", "EventPattern" },
    { "managed_by", "ManagedBy" },
    { "name", "Name" },
    { "role_arn", "RoleArn" },
    { "schedule_expression", "ScheduleExpression" },
    { "state", "State" },
    { NULL },
};

static const struct fieldmap dead_letter_fields[] = {
    { "arn", "Arn" },
    { NULL },
};

static const struct fieldmap transformer_fields[] = {
    { "input_paths", "InputPathsMap" },
    { "input_template", "InputTemplate" },
    { NULL },
};

static const struct fieldmap retry_fields[] = {
    { "maximum_event_age_in_seconds", "MaximumEventAgeInSeconds" },
    { "maximum_retry_attempts", "MaximumRetryAttempts" },
    { NULL },
};

static const struct fieldmap target_fields[] = {
    { "arn", "Arn" },
    { "dead_letter_config", "DeadLetterConfig", FIELDMAP_BLOCK, dead_letter_fields },
    { "input", "Input" },
    { "input_path", "InputPath" },
    { "input_transformer", "InputTransformer", FIELDMAP_BLOCK, transformer_fields },
    { "retry_policy", "RetryPolicy", FIELDMAP_BLOCK, retry_fields },
    { "role_arn", "RoleArn" },
    { "target_id", "Id" },
    { NULL },
};

/* The rule whose targets are listed. */
struct rule_ref {
    char *bus;
    char *rule;
};

static void rule_ref_free(void *p)
{
    struct rule_ref *ref = p;
    free(ref->bus);
    free(ref->rule);
    free(ref);
}

/* "a/b/c" without the leading bus on the default bus. */
static char *make_id(const char *bus, const char *rule, const char *target)
{
    bool dflt = str_eq(bus, DEFAULT_BUS);
    return str_printf("%s%s%s%s%s", dflt ? "" : bus, dflt ? "" : "/", rule, target ? "/" : "",
                      target ? target : "");
}

static void both_status(struct collectq *q, enum collect_status st, const char *detail)
{
    collect_scope_status(collectq_run(q), T_RULE, st, detail);
    collect_scope_status(collectq_run(q), T_TARGET, st, detail);
}

static int targets_page(struct collectq *q, const json_t *output, void *ud)
{
    struct collect_run *run = collectq_run(q);
    struct rule_ref *ref = ud;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(output, "Targets"), i, item) {
        const char *tid = fieldmap_string(item, "Id");
        struct resource *r = NULL;
        char *id;
        int e;
        if (!tid || !*tid)
            return -EINVAL;
        id = make_id(ref->bus, ref->rule, tid);
        e = id ? collect_new_resource(run, T_TARGET, NULL, id, &r) : -ENOMEM;
        free(id);
        if (e == 0)
            e = fieldmap_apply(r->attrs, item, target_fields);
        if (e == 0 && (json_object_set_new(r->attrs, "event_bus_name", json_string(ref->bus)) < 0 ||
                       json_object_set_new(r->attrs, "rule", json_string(ref->rule)) < 0))
            e = -ENOMEM;
        if (e == 0)
            e = collect_add(run, r);
        if (e < 0) {
            resource_free(r);
            return e;
        }
    }
    return 0;
}

static void targets_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_TARGET, st, detail);
}

static int queue_targets(struct collectq *q, const char *bus, const char *rule)
{
    struct rule_ref *ref = calloc(1, sizeof(*ref));
    json_t *params = NULL;
    int e = -ENOMEM;
    if (!ref)
        return -ENOMEM;
    ref->bus = strdup(bus);
    ref->rule = strdup(rule);
    if (ref->bus && ref->rule)
        params = json_pack("{s:s,s:s,s:i}", "Rule", rule, "EventBusName", bus, "Limit", 100);
    if (params)
        e = collectq_add(q, &(struct collectq_req){ .operation = "ListTargetsByRule",
                                                    .params = params,
                                                    .all_pages = true,
                                                    .absent_codes = gone,
                                                    .page = targets_page,
                                                    .fail = targets_fail,
                                                    .ud = ref,
                                                    .ud_free = rule_ref_free });
    if (e < 0)
        rule_ref_free(ref);
    return e;
}

static int rules_page(struct collectq *q, const json_t *output, void *ud)
{
    struct collect_run *run = collectq_run(q);
    const char *asked_bus = ud;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(output, "Rules"), i, item) {
        const char *name = fieldmap_string(item, "Name");
        const char *arn = fieldmap_string(item, "Arn");
        const char *bus = fieldmap_string(item, "EventBusName");
        struct resource *r = NULL;
        char *id;
        int e;
        if (!name || !*name)
            return -EINVAL;
        if (!bus || !*bus)
            bus = asked_bus;
        id = make_id(bus, name, NULL);
        e = id ? collect_new_resource(run, T_RULE, "AWS::Events::Rule", id, &r) : -ENOMEM;
        free(id);
        if (e == 0 && arn && str_replace(&r->arn, arn) < 0)
            e = -ENOMEM;
        if (e == 0)
            e = fieldmap_apply(r->attrs, item, rule_fields);
        if (e == 0 && json_object_set_new(r->attrs, "event_bus_name", json_string(bus)) < 0)
            e = -ENOMEM;
        if (e == 0)
            e = collectq_tags_not_read(r);
        if (e == 0)
            e = collect_add(run, r);
        if (e < 0) {
            resource_free(r);
            return e;
        }
        if (queue_targets(q, bus, name) < 0)
            targets_fail(q, COLLECT_ERROR, "out of memory", NULL);
    }
    return 0;
}

static void rules_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    /* The bus's rules and so their targets are unknown. */
    both_status(q, st, detail);
}

static int buses_page(struct collectq *q, const json_t *output, void *ud)
{
    size_t i;
    json_t *item;
    (void)ud;
    json_array_foreach (json_object_get(output, "EventBuses"), i, item) {
        const char *name = fieldmap_string(item, "Name");
        char *bus;
        json_t *params;
        int e = -ENOMEM;
        if (!name || !*name)
            return -EINVAL;
        bus = strdup(name);
        params = bus ? json_pack("{s:s,s:i}", "EventBusName", name, "Limit", 100) : NULL;
        if (params)
            e = collectq_add(q, &(struct collectq_req){ .operation = "ListRules",
                                                        .params = params,
                                                        .all_pages = true,
                                                        .absent_codes = gone,
                                                        .page = rules_page,
                                                        .fail = rules_fail,
                                                        .ud = bus,
                                                        .ud_free = free });
        if (e < 0) {
            free(bus);
            return e;
        }
    }
    return 0;
}

static void buses_ok(struct collectq *q, void *ud)
{
    (void)ud;
    both_status(q, COLLECT_OK, NULL);
}

static void buses_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    both_status(q, st, detail);
}

static int custom(struct collect_run *run)
{
    struct collectq *q = NULL;
    json_t *params = json_pack("{s:i}", "Limit", 100);
    int e = collectq_new(run, &q);
    if (e < 0) {
        json_decref(params);
        return e;
    }
    e = !params ? -ENOMEM
                : collectq_add(q, &(struct collectq_req){ .operation = "ListEventBuses",
                                                          .params = params,
                                                          .in_token = "NextToken",
                                                          .out_token = "NextToken",
                                                          .page = buses_page,
                                                          .ok = buses_ok,
                                                          .fail = buses_fail });
    if (e < 0)
        buses_fail(q, COLLECT_ERROR, "out of memory", NULL);
    collectq_release(q);
    return 0;
}

static const char *const extra_types[] = { T_RULE, T_TARGET, NULL };

static const char *const iam_actions[] = {
    "events:ListEventBuses",
    "events:ListRules",
    "events:ListTargetsByRule",
    NULL,
};

const struct collector_def collect_events = {
    .name = "events",
    .service = "events",
    .extra_types = extra_types,
    .custom = custom,
    .iam_actions = iam_actions,
};
