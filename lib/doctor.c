#include "doctor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const doctor_base_actions[] = {
    "ec2:DescribeRegions",
    "iam:ListAttachedRolePolicies",
    "iam:ListAttachedUserPolicies",
    NULL,
};

enum step {
    STEP_CREDENTIALS,
    STEP_IDENTITY,
    STEP_ENDPOINTS,
    STEP_PERMISSIONS,
    STEP_OVERBROAD,
    STEP_DONE,
};

struct doctor;

struct dacct {
    struct doctor *d;
    const struct config_account *ca; /* NULL: the default chain */
    char *name;
    char *region;
    struct aws_account *a;
    json_t *info; /* borrowed from the report */
    size_t c_creds, c_identity, c_clock, c_ep, c_perm, c_broad;
    char **services;
    const struct collector_def **colls;
    size_t n_colls;
    enum step step;
    size_t i; /* index within the step (endpoint, collector) */
    char *arn;
    bool admin;
    bool finished;
};

struct doctor {
    struct doctor_options o;
    doctor_done_fn done;
    void *userdata;
    uv_timer_t timer;
    json_t *report, *checks, *accounts;
    struct dacct *accts;
    size_t n_accts, remaining;
    bool cancelled, started;
};

const char *doctor_status_name(enum doctor_status s)
{
    switch (s) {
    case DOCTOR_OK: return "ok";
    case DOCTOR_SKIP: return "skip";
    case DOCTOR_WARN: return "warn";
    case DOCTOR_FAIL: return "fail";
    }
    return "?";
}

static enum doctor_status status_of(const char *name)
{
    if (str_eq(name, "fail"))
        return DOCTOR_FAIL;
    if (str_eq(name, "warn"))
        return DOCTOR_WARN;
    if (str_eq(name, "ok"))
        return DOCTOR_OK;
    return DOCTOR_SKIP;
}

/* ---- the policy ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *doctor_policy(const struct collector_def *const *registry)
{
    const char **v = NULL;
    size_t n = 0, cap = 0;
    json_t *actions = NULL, *policy = NULL;

    if (!registry)
        registry = collector_registry;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; pass == 0 && doctor_base_actions[i]; i++) {
            if (n == cap) {
                const char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
                if (!nv)
                    goto out;
                v = nv;
            }
            v[n++] = doctor_base_actions[i];
        }
        for (size_t c = 0; pass == 1 && registry[c]; c++)
            for (size_t i = 0; registry[c]->iam_actions && registry[c]->iam_actions[i]; i++) {
                if (n == cap) {
                    const char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
                    if (!nv)
                        goto out;
                    v = nv;
                }
                v[n++] = registry[c]->iam_actions[i];
            }
    }
    qsort(v, n, sizeof(*v), cmp_str);
    actions = json_array();
    if (!actions)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
            continue;
        if (json_array_append_new(actions, json_string(v[i])) < 0)
            goto out;
    }
    policy =
        json_pack("{s:s, s:[{s:s, s:s, s:O, s:s}]}", "Version", "2012-10-17", "Statement", "Sid",
                  "PlumbReadOnly", "Effect", "Allow", "Action", actions, "Resource", "*");
out:
    json_decref(actions);
    free(v);
    return policy;
}

/* ---- report helpers ---- */

static json_t *check_at(struct dacct *x, size_t idx)
{
    return json_array_get(x->d->checks, idx);
}

static void set_check(struct dacct *x, size_t idx, enum doctor_status st, const char *subject,
                      const char *fmt, ...) PLUMB_PRINTF(5, 6);

static void set_check(struct dacct *x, size_t idx, enum doctor_status st, const char *subject,
                      const char *fmt, ...)
{
    json_t *c = check_at(x, idx);
    char detail[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    /* Allocation failures leave the previous (skip) values: the report
     * stays well-formed. */
    json_object_set_new(c, "status", json_string(doctor_status_name(st)));
    if (subject)
        json_object_set_new(c, "subject", json_string(subject));
    json_object_set_new(c, "detail", json_string(detail));
}

static int add_check(struct doctor *d, struct dacct *x, const char *check, const char *subject,
                     size_t *ret_idx)
{
    json_t *c = json_pack("{s:s, s:s, s:s?, s:s, s:s}", "account", x->name, "check", check,
                          "subject", subject, "status", "skip", "detail", "not checked");
    if (!c || json_array_append_new(d->checks, c) < 0)
        return -ENOMEM;
    *ret_idx = json_array_size(d->checks) - 1;
    return 0;
}

/* Mark the checks not run yet as skipped, saying why. */
static void skip_rest(struct dacct *x, size_t from, const char *why)
{
    size_t end = x->c_broad + 1;
    for (size_t i = from; i < end; i++)
        set_check(x, i, DOCTOR_SKIP, NULL, "not checked: %s", why);
}

/* ---- accounts ---- */

static const char *env(const struct doctor *d, const char *name)
{
    const char *v = d->o.getenv ? d->o.getenv(name) : getenv(name);
    return v && *v ? v : NULL;
}

static const char *account_region(const struct doctor *d, const struct config_account *ca)
{
    const struct config *cfg = d->o.cfg;
    if (d->o.region && *d->o.region)
        return d->o.region;
    if (ca && ca->regions && ca->regions[0])
        return ca->regions[0];
    if (cfg->regions && cfg->regions[0])
        return cfg->regions[0];
    if (cfg->sts_region)
        return cfg->sts_region;
    if (env(d, "AWS_REGION"))
        return env(d, "AWS_REGION");
    if (env(d, "AWS_DEFAULT_REGION"))
        return env(d, "AWS_DEFAULT_REGION");
    return "us-east-1";
}

/* Where a partition's global services are called from. */
static const char *home_region(const char *region)
{
    const char *p = aws_partition_of(region);
    if (str_eq(p, "aws-cn"))
        return "cn-north-1";
    if (str_eq(p, "aws-us-gov"))
        return "us-gov-west-1";
    return "us-east-1";
}

static void complete(struct doctor *d);

static void account_finish(struct dacct *x)
{
    struct doctor *d = x->d;
    enum doctor_status worst = DOCTOR_OK;
    size_t end = x->c_broad + 1;

    if (x->finished)
        return;
    x->finished = true;
    x->step = STEP_DONE;
    for (size_t i = x->c_creds; i < end; i++) {
        enum doctor_status s =
            status_of(json_string_value(json_object_get(check_at(x, i), "status")));
        if (s > worst)
            worst = s;
    }
    json_object_set_new(x->info, "status",
                        json_string(doctor_status_name(worst == DOCTOR_SKIP ? DOCTOR_OK : worst)));
    /* From inside one of its callbacks: aws_account_free() copes. */
    aws_account_free(x->a);
    x->a = NULL;
    if (--d->remaining == 0)
        complete(d);
}

static void next(struct dacct *x);

static void on_creds(int result, const struct aws_creds_info *info, const struct perr *err,
                     void *ud)
{
    struct dacct *x = ud;
    if (x->d->cancelled) {
        account_finish(x);
        return;
    }
    json_object_set_new(x->info, "source", json_string(aws_account_source(x->a)));
    if (result < 0) {
        set_check(x, x->c_creds, DOCTOR_FAIL, aws_account_source(x->a), "%s", err->msg);
        skip_rest(x, x->c_identity, "no credentials");
        account_finish(x);
        return;
    }
    {
        const char *k = info->access_key_id;
        size_t n = strlen(k);
        char masked[32];
        snprintf(masked, sizeof(masked), "%.4s...%s", k, n > 8 ? k + n - 4 : "");
        if (info->expires_ms > 0) {
            char exp[32];
            time_format_iso8601(info->expires_ms, exp, sizeof(exp));
            set_check(x, x->c_creds, DOCTOR_OK, info->source, "temporary keys (%s), expire at %s",
                      masked, exp);
        } else {
            set_check(x, x->c_creds, DOCTOR_OK, info->source, "static keys (%s)", masked);
        }
    }
    x->step = STEP_IDENTITY;
    next(x);
}

static void on_identity(int result, const struct aws_identity *id, const struct perr *err, void *ud)
{
    struct dacct *x = ud;
    struct doctor *d = x->d;
    int64_t warn = d->o.skew_warn_ms > 0 ? d->o.skew_warn_ms : DOCTOR_SKEW_WARN_MS;
    int64_t fail = d->o.skew_fail_ms > 0 ? d->o.skew_fail_ms : DOCTOR_SKEW_FAIL_MS;
    int64_t skew, abs_skew;
    enum doctor_status st;

    if (d->cancelled) {
        account_finish(x);
        return;
    }
    if (result < 0) {
        set_check(x, x->c_identity, DOCTOR_FAIL, NULL, "%s", err->msg);
        skip_rest(x, x->c_clock, "the caller's identity is unknown");
        account_finish(x);
        return;
    }
    set_check(x, x->c_identity, DOCTOR_OK, id->account, "%s", id->arn);
    json_object_set_new(x->info, "account_id", json_string(id->account));
    json_object_set_new(x->info, "arn", json_string(id->arn));
    json_object_set_new(x->info, "clock_skew_ms", json_integer(id->clock_skew_ms));
    x->arn = strdup(id->arn);
    skew = id->clock_skew_ms;
    abs_skew = skew < 0 ? -skew : skew;
    st = abs_skew > fail ? DOCTOR_FAIL : abs_skew > warn ? DOCTOR_WARN : DOCTOR_OK;
    set_check(x, x->c_clock, st, "sts", "the server's clock differs from ours by %+.1f s%s",
              (double)skew / 1000.0,
              st == DOCTOR_FAIL   ? "; AWS refuses requests more than 5 minutes off"
              : st == DOCTOR_WARN ? "; synchronise the clock (NTP)"
                                  : "");
    x->step = STEP_ENDPOINTS;
    x->i = 0;
    next(x);
}

static void on_probe(int result, const struct aws_probe *p, void *ud)
{
    struct dacct *x = ud;
    if (x->d->cancelled) {
        account_finish(x);
        return;
    }
    if (result < 0)
        set_check(x, x->c_ep + x->i, DOCTOR_FAIL, NULL, "%s unreachable: %s", p->url, p->error);
    else
        set_check(x, x->c_ep + x->i, DOCTOR_OK, NULL, "%s answers (HTTP %ld)", p->url, p->status);
    x->i++;
    next(x);
}

/* The collector's action for an operation: the iam_actions entry ending
 * in ":<operation>", else "<service>:<operation>". */
static void action_for(const struct collector_def *def, const char *service, const char *op,
                       char *buf, size_t size)
{
    size_t n = strlen(op);
    for (size_t i = 0; def->iam_actions && def->iam_actions[i]; i++) {
        const char *a = def->iam_actions[i];
        const char *colon = strchr(a, ':');
        if (colon && strlen(colon + 1) == n && strcasecmp(colon + 1, op) == 0) {
            snprintf(buf, size, "%s", a);
            return;
        }
    }
    snprintf(buf, size, "%s:%s", service, op);
}

static void on_permission(int result, const struct aws_error *e, void *ud)
{
    struct dacct *x = ud;
    const struct collector_def *def = x->colls[x->i];
    const struct collect_list *l = def->lists;
    char action[160];
    size_t idx = x->c_perm + x->i;

    if (x->d->cancelled) {
        account_finish(x);
        return;
    }
    action_for(def, l->service ? l->service : def->service, l->operation, action, sizeof(action));
    if (result == 0 || (e && e->kind == AWS_ERR_NOT_FOUND))
        set_check(x, idx, DOCTOR_OK, NULL, "%s allowed", action);
    else if (e && e->kind == AWS_ERR_ACCESS_DENIED)
        set_check(x, idx, DOCTOR_FAIL, NULL, "access denied: %s",
                  e->iam_action ? e->iam_action : action);
    else if (e && e->kind == AWS_ERR_AUTH)
        set_check(x, idx, DOCTOR_FAIL, NULL, "%s: %s: %s", action, e->code ? e->code : "error",
                  e->message);
    else
        set_check(x, idx, DOCTOR_WARN, NULL, "could not check %s: %s%s%s", action,
                  e && e->code ? e->code : "", e && e->code ? ": " : "",
                  e && e->message ? e->message : strerror(-result));
    x->i++;
    next(x);
}

/* "user NAME" / "role NAME" of the caller ARN, or NULL. */
static int caller_principal(const char *arn, const char **ret_kind, char **ret_name)
{
    const char *res = arn;
    for (int i = 0; res && i < 5; i++) {
        res = strchr(res, ':');
        if (res)
            res++;
    }
    if (!res || !str_has_prefix(arn, "arn:"))
        return -EINVAL;
    if (str_has_prefix(res, "user/")) {
        const char *name = strrchr(res, '/') + 1;
        *ret_kind = "user";
        *ret_name = strdup(name);
    } else if (str_has_prefix(res, "assumed-role/")) {
        const char *name = res + strlen("assumed-role/");
        *ret_kind = "role";
        *ret_name = str_ndup(name, strcspn(name, "/"));
    } else if (str_eq(res, "root")) {
        *ret_kind = "root";
        *ret_name = strdup("root");
    } else {
        return -ENOENT;
    }
    return *ret_name ? 0 : -ENOMEM;
}

struct broad_ctx {
    struct dacct *x;
    const char *kind;
    char *name;
    char action[64];
};

static int on_attached_page(const struct aws_page *page, void *ud)
{
    struct broad_ctx *b = ud;
    struct dacct *x = b->x;
    char want[96];
    const char *part = x->arn + 4; /* after "arn:" */
    size_t i;
    json_t *p;

    snprintf(want, sizeof(want), "arn:%.*s:iam::aws:policy/AdministratorAccess",
             (int)strcspn(part, ":"), part);
    json_array_foreach (json_object_get(page->output, "AttachedPolicies"), i, p)
        if (str_eq(json_string_value(json_object_get(p, "PolicyArn")), want))
            x->admin = true;
    return 0;
}

static void on_attached_done(int result, const struct aws_error *e, void *ud)
{
    struct broad_ctx *b = ud;
    struct dacct *x = b->x;

    if (x->d->cancelled) {
        /* nothing */
    } else if (result == 0 && x->admin) {
        set_check(x, x->c_broad, DOCTOR_WARN, x->arn,
                  "AdministratorAccess is attached to %s %s; plumb needs only read access "
                  "(plumb doctor --policy)",
                  b->kind, b->name);
    } else if (result == 0) {
        set_check(x, x->c_broad, DOCTOR_OK, x->arn, "no AdministratorAccess attached to %s %s",
                  b->kind, b->name);
    } else if (e && e->kind == AWS_ERR_ACCESS_DENIED) {
        set_check(x, x->c_broad, DOCTOR_SKIP, x->arn, "could not check: access denied to %s",
                  b->action);
    } else {
        set_check(x, x->c_broad, DOCTOR_SKIP, x->arn, "could not check: %s: %s",
                  e && e->code ? e->code : b->action,
                  e && e->message ? e->message : strerror(-result));
    }
    free(b->name);
    free(b);
    account_finish(x);
}

static void start_overbroad(struct dacct *x)
{
    struct broad_ctx *b;
    struct perr err = { 0 };
    json_t *params = NULL;
    const char *kind = NULL;
    char *name = NULL;
    struct aws_request req = { .service = "iam", .region = x->region, .flags = AWS_CALL_ALL_PAGES };
    int r;

    r = caller_principal(x->arn, &kind, &name);
    if (r == -ENOMEM)
        goto oom;
    if (r < 0) {
        set_check(x, x->c_broad, DOCTOR_SKIP, x->arn,
                  "could not check: the caller is not an IAM user or role");
        account_finish(x);
        return;
    }
    if (str_eq(kind, "root")) {
        free(name);
        set_check(x, x->c_broad, DOCTOR_WARN, x->arn,
                  "these are the account's root user credentials; use a read-only role "
                  "(plumb doctor --policy)");
        account_finish(x);
        return;
    }
    b = calloc(1, sizeof(*b));
    params = json_pack("{s:s}", str_eq(kind, "user") ? "UserName" : "RoleName", name);
    if (!b || !params) {
        free(b);
        goto oom;
    }
    b->x = x;
    b->kind = kind;
    b->name = name;
    req.operation = str_eq(kind, "user") ? "ListAttachedUserPolicies" : "ListAttachedRolePolicies";
    snprintf(b->action, sizeof(b->action), "iam:%s", req.operation);
    req.params = params;
    r = aws_call(x->a, &req, on_attached_page, on_attached_done, b, NULL, &err);
    json_decref(params);
    if (r < 0) {
        set_check(x, x->c_broad, DOCTOR_SKIP, x->arn, "could not check: %s", err.msg);
        free(b->name);
        free(b);
        account_finish(x);
    }
    return;
oom:
    json_decref(params);
    free(name);
    set_check(x, x->c_broad, DOCTOR_SKIP, x->arn, "could not check: out of memory");
    account_finish(x);
}

static void start_permission(struct dacct *x)
{
    const struct collector_def *def = x->colls[x->i];
    const struct collect_list *l = def->lists;
    struct aws_request req = { 0 };
    struct perr err = { 0 };
    json_t *params = NULL;
    int r;

    if (!l || !l->type || !l->operation) {
        set_check(x, x->c_perm + x->i, DOCTOR_SKIP, NULL,
                  "could not check: the collector has no list operation");
        x->i++;
        next(x);
        return;
    }
    if (l->params) {
        params = json_loads(l->params, 0, NULL);
        if (!params) {
            set_check(x, x->c_perm + x->i, DOCTOR_SKIP, NULL,
                      "could not check: bad parameters in the collector");
            x->i++;
            next(x);
            return;
        }
    }
    req.service = l->service ? l->service : def->service;
    req.operation = l->operation;
    req.region = def->global ? home_region(x->region) : x->region;
    req.params = params;
    r = aws_call(x->a, &req, NULL, on_permission, x, NULL, &err);
    json_decref(params);
    if (r < 0) {
        set_check(x, x->c_perm + x->i, DOCTOR_SKIP, NULL, "could not check: %s", err.msg);
        x->i++;
        next(x);
    }
}

/* Run the account's next check.  Every branch either starts exactly one
 * asynchronous operation or finishes the account. */
static void next(struct dacct *x)
{
    struct perr err = { 0 };
    int r;

    for (;;) {
        switch (x->step) {
        case STEP_CREDENTIALS:
            r = aws_account_credentials(x->a, on_creds, x);
            if (r < 0) {
                set_check(x, x->c_creds, DOCTOR_FAIL, NULL, "%s", strerror(-r));
                skip_rest(x, x->c_identity, "no credentials");
                account_finish(x);
            }
            return;
        case STEP_IDENTITY:
            r = aws_account_identify(x->a, on_identity, x);
            if (r < 0) {
                set_check(x, x->c_identity, DOCTOR_FAIL, NULL, "%s", strerror(-r));
                skip_rest(x, x->c_clock, "the caller's identity is unknown");
                account_finish(x);
            }
            return;
        case STEP_ENDPOINTS:
            if (x->services[x->i]) {
                r = aws_endpoint_probe(x->d->o.client, x->services[x->i],
                                       str_eq(x->services[x->i], "iam") ? home_region(x->region)
                                                                        : x->region,
                                       on_probe, x, &err);
                if (r == 0)
                    return;
                set_check(x, x->c_ep + x->i, DOCTOR_FAIL, NULL, "%s", err.msg);
                x->i++;
                continue;
            }
            x->step = STEP_PERMISSIONS;
            x->i = 0;
            continue;
        case STEP_PERMISSIONS:
            if (x->i < x->n_colls) {
                start_permission(x);
                return;
            }
            x->step = STEP_OVERBROAD;
            continue;
        case STEP_OVERBROAD:
            if (!x->arn) {
                set_check(x, x->c_broad, DOCTOR_SKIP, NULL, "could not check: out of memory");
                account_finish(x);
                return;
            }
            start_overbroad(x);
            return;
        case STEP_DONE: return;
        }
    }
}

static int add_service(struct dacct *x, const char *s)
{
    if (strv_contains(x->services, s))
        return 0;
    return strv_push(&x->services, s);
}

static int setup_account(struct doctor *d, struct dacct *x, const struct config_account *ca)
{
    const struct collector_def *const *reg = d->o.registry ? d->o.registry : collector_registry;
    size_t n_reg = 0;

    x->d = d;
    x->ca = ca;
    x->name = strdup(ca ? ca->name : "default");
    x->region = strdup(account_region(d, ca));
    if (!x->name || !x->region)
        return -ENOMEM;
    x->services = strv_new();
    if (!x->services || add_service(x, "sts") < 0 || add_service(x, "iam") < 0)
        return -ENOMEM;
    while (reg[n_reg])
        n_reg++;
    x->colls = calloc(n_reg + 1, sizeof(*x->colls));
    if (!x->colls)
        return -ENOMEM;
    for (size_t i = 0; i < n_reg; i++) {
        const struct config_collector *cc = config_collector(d->o.cfg, reg[i]->name);
        if (cc && !cc->enabled)
            continue;
        x->colls[x->n_colls++] = reg[i];
        if (reg[i]->service && add_service(x, reg[i]->service) < 0)
            return -ENOMEM;
        for (const struct collect_list *l = reg[i]->lists; l && l->type; l++)
            if (l->service && add_service(x, l->service) < 0)
                return -ENOMEM;
    }
    x->info = json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:s}", "name", x->name, "region", x->region,
                        "source", "account_id", "arn", "clock_skew_ms", "status", "skip");
    if (!x->info || json_array_append_new(d->accounts, x->info) < 0)
        return -ENOMEM;
    if (add_check(d, x, "credentials", NULL, &x->c_creds) < 0 ||
        add_check(d, x, "identity", NULL, &x->c_identity) < 0 ||
        add_check(d, x, "clock", NULL, &x->c_clock) < 0)
        return -ENOMEM;
    x->c_ep = json_array_size(d->checks);
    for (size_t i = 0; x->services[i]; i++) {
        size_t idx;
        if (add_check(d, x, "endpoint", x->services[i], &idx) < 0)
            return -ENOMEM;
    }
    x->c_perm = json_array_size(d->checks);
    for (size_t i = 0; i < x->n_colls; i++) {
        size_t idx;
        json_t *actions = json_array();
        if (!actions || add_check(d, x, "permission", x->colls[i]->name, &idx) < 0) {
            json_decref(actions);
            return -ENOMEM;
        }
        for (size_t k = 0; x->colls[i]->iam_actions && x->colls[i]->iam_actions[k]; k++)
            json_array_append_new(actions, json_string(x->colls[i]->iam_actions[k]));
        if (json_object_set_new(check_at(x, idx), "iam_actions", actions) < 0)
            return -ENOMEM;
    }
    return add_check(d, x, "over-broad", NULL, &x->c_broad);
}

static void doctor_free(struct doctor *d)
{
    for (size_t i = 0; i < d->n_accts; i++) {
        struct dacct *x = &d->accts[i];
        aws_account_free(x->a);
        free(x->name);
        free(x->region);
        strv_free(x->services);
        free(x->colls);
        free(x->arn);
    }
    free(d->accts);
    json_decref(d->report);
    free(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct doctor *d = h->data;
    json_t *report = NULL;

    if (!d->cancelled) {
        enum doctor_status worst = DOCTOR_OK;
        size_t i;
        json_t *c;
        json_array_foreach (d->checks, i, c) {
            enum doctor_status s = status_of(json_string_value(json_object_get(c, "status")));
            if (s > worst)
                worst = s;
        }
        json_object_set_new(
            d->report, "status",
            json_string(doctor_status_name(worst == DOCTOR_SKIP ? DOCTOR_OK : worst)));
        report = d->report;
        d->report = NULL;
    }
    d->done(d->cancelled ? -ECANCELED : 0, report, d->userdata);
    doctor_free(d);
}

static void complete(struct doctor *d)
{
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

static void on_start(uv_timer_t *t)
{
    struct doctor *d = t->data;
    size_t n = d->n_accts;

    d->started = true;
    if (d->cancelled) {
        d->remaining = 0;
        complete(d);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct dacct *x = &d->accts[i];
        const struct config_account *ca = x->ca;
        struct aws_account_options ao = {
            .profile = ca ? ca->profile : NULL,
            .role_arn = ca ? ca->role_arn : NULL,
            .external_id = ca ? ca->external_id : NULL,
            .session_name = ca ? ca->session_name : NULL,
            .sts_region = d->o.cfg->sts_region ? d->o.cfg->sts_region : x->region,
            .expected_account = ca ? ca->id : NULL,
        };
        struct perr err = { 0 };
        if (aws_account_new(d->o.client, &ao, &x->a, &err) < 0) {
            set_check(x, x->c_creds, DOCTOR_FAIL, NULL, "%s", err.msg);
            skip_rest(x, x->c_identity, "no credentials");
            account_finish(x);
            continue;
        }
        x->step = STEP_CREDENTIALS;
        next(x);
    }
}

int doctor_run(const struct doctor_options *opts, doctor_done_fn done, void *userdata,
               struct doctor **ret, struct perr *err)
{
    struct doctor *d;
    const struct config *cfg;
    size_t n;
    int r = -ENOMEM;

    if (!opts || !opts->loop || !opts->client || !opts->cfg || !done)
        return perr_set(err, -EINVAL, "doctor: missing loop, client or configuration");
    cfg = opts->cfg;
    n = cfg->n_accounts ? cfg->n_accounts : 1;
    d = calloc(1, sizeof(*d));
    if (!d)
        return perr_set(err, -ENOMEM, "out of memory");
    d->o = *opts;
    d->done = done;
    d->userdata = userdata;
    d->report = json_pack("{s:s, s:[], s:[]}", "status", "ok", "accounts", "checks");
    d->accts = calloc(n, sizeof(*d->accts));
    if (!d->report || !d->accts)
        goto fail;
    /* Borrowed: the report owns them. */
    d->accounts = json_object_get(d->report, "accounts");
    d->checks = json_object_get(d->report, "checks");
    d->n_accts = n;
    for (size_t i = 0; i < n; i++) {
        r = setup_account(d, &d->accts[i], cfg->n_accounts ? &cfg->accounts[i] : NULL);
        if (r < 0)
            goto fail;
    }
    d->remaining = n;
    r = uv_timer_init(opts->loop, &d->timer);
    if (r < 0) {
        r = -EIO;
        goto fail;
    }
    d->timer.data = d;
    /* Start from the loop so done never runs inside doctor_run(). */
    uv_timer_start(&d->timer, on_start, 0, 0);
    if (ret)
        *ret = d;
    return 0;
fail:
    doctor_free(d);
    return perr_set(err, r, "doctor: %s", strerror(-r));
}

void doctor_cancel(struct doctor *d)
{
    if (!d || d->cancelled)
        return;
    d->cancelled = true;
    if (!d->started)
        return; /* on_start completes at once */
    /* Their pending calls report -ECANCELED; each account then finishes. */
    for (size_t i = 0; i < d->n_accts; i++) {
        struct dacct *x = &d->accts[i];
        if (!x->finished && x->a) {
            aws_account_free(x->a);
            x->a = NULL;
        }
    }
}
