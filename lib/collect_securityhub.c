#include "collect_securityhub.h"

#include <errno.h>
#include <stdlib.h>

#include "collectq.h"
#include "fieldmap.h"
#include "util.h"

#define T_HUB      "aws_securityhub_account"
#define T_STANDARD "aws_securityhub_standards_subscription"

static const char *const hub_off[] = { "InvalidAccessException", NULL };

static const struct fieldmap hub_fields[] = {
    { "arn", "HubArn" },
    { "auto_enable_controls", "AutoEnableControls" },
    { "control_finding_generator", "ControlFindingGenerator" },
    { "subscribed_at", "SubscribedAt" },
    { NULL },
};

static const struct fieldmap standard_fields[] = {
    { "standards_arn", "StandardsArn" },
    { "standards_status", "StandardsStatus" },
    { NULL },
};

struct hub_state {
    bool on; /* DescribeHub answered with a hub */
};

static int standards_page(struct collectq *q, const json_t *output, void *ud)
{
    struct collect_run *run = collectq_run(q);
    size_t i;
    json_t *item;
    (void)ud;
    json_array_foreach (json_object_get(output, "StandardsSubscriptions"), i, item) {
        const char *arn = fieldmap_string(item, "StandardsSubscriptionArn");
        struct resource *r = NULL;
        int e;
        if (!arn || !*arn)
            return -EINVAL;
        e = collect_new_resource(run, T_STANDARD, NULL, arn, &r);
        if (e == 0 && str_replace(&r->arn, arn) < 0)
            e = -ENOMEM;
        if (e == 0)
            e = fieldmap_apply(r->attrs, item, standard_fields);
        if (e == 0)
            e = collect_add(run, r);
        if (e < 0) {
            resource_free(r);
            return e;
        }
    }
    return 0;
}

static void standards_ok(struct collectq *q, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_STANDARD, COLLECT_OK, NULL);
}

static void standards_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_STANDARD, st, detail);
}

static void queue_standards(struct collectq *q)
{
    json_t *params = json_pack("{s:i}", "MaxResults", 100);
    int e = !params ? -ENOMEM
                    : collectq_add(q, &(struct collectq_req){ .operation = "GetEnabledStandards",
                                                              .params = params,
                                                              .all_pages = true,
                                                              .absent_codes = hub_off,
                                                              .page = standards_page,
                                                              .ok = standards_ok,
                                                              .fail = standards_fail });
    if (e < 0)
        standards_fail(q, COLLECT_ERROR, "out of memory", NULL);
}

static int hub_page(struct collectq *q, const json_t *output, void *ud)
{
    struct collect_run *run = collectq_run(q);
    struct hub_state *st = ud;
    const char *arn = fieldmap_string(output, "HubArn");
    struct resource *r = NULL;
    int e;
    if (!arn || !*arn)
        return -EINVAL;
    e = collect_new_resource(run, T_HUB, NULL, collect_options(run)->account, &r);
    if (e == 0 && str_replace(&r->arn, arn) < 0)
        e = -ENOMEM;
    if (e == 0)
        e = fieldmap_apply(r->attrs, output, hub_fields);
    if (e == 0)
        e = collect_add(run, r);
    if (e < 0) {
        resource_free(r);
        return e;
    }
    st->on = true;
    return 0;
}

static void hub_ok(struct collectq *q, void *ud)
{
    struct hub_state *st = ud;
    collect_scope_status(collectq_run(q), T_HUB, COLLECT_OK, NULL);
    if (st->on)
        queue_standards(q);
    else
        standards_ok(q, NULL); /* Security Hub is off: no standards */
}

static void hub_fail(struct collectq *q, enum collect_status status, const char *detail, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_HUB, status, detail);
    queue_standards(q);
}

static int custom(struct collect_run *run)
{
    struct collectq *q = NULL;
    struct hub_state *st = calloc(1, sizeof(*st));
    int e;
    if (!st)
        return -ENOMEM;
    e = collectq_new(run, &q);
    if (e < 0) {
        free(st);
        return e;
    }
    e = collectq_add(q, &(struct collectq_req){ .operation = "DescribeHub",
                                                .absent_codes = hub_off,
                                                .page = hub_page,
                                                .ok = hub_ok,
                                                .fail = hub_fail,
                                                .ud = st,
                                                .ud_free = free });
    if (e < 0) {
        free(st);
        hub_fail(q, COLLECT_ERROR, "out of memory", NULL);
    }
    collectq_release(q);
    return 0;
}

static const char *const extra_types[] = { T_HUB, T_STANDARD, NULL };

static const char *const iam_actions[] = {
    "securityhub:DescribeHub",
    "securityhub:GetEnabledStandards",
    NULL,
};

const struct collector_def collect_securityhub = {
    .name = "securityhub",
    .service = "securityhub",
    .extra_types = extra_types,
    .custom = custom,
    .iam_actions = iam_actions,
};
