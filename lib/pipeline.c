#include "pipeline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "util.h"

#define DEFAULT_MAX_RUNS 4

struct cycle;

struct pipeline {
    struct pipeline_options opts;
    struct pipeline_account *accounts;
    size_t n_accounts;
    size_t preparing;
    pipeline_done_fn prepare_done;
    void *prepare_ud;
    struct cycle **cycles; /* running collector cycles */
    size_t n_cycles;
    bool closing;
    void (*closed)(void *);
    void *closed_ud;
};

struct work {
    size_t account;
    const char *region;
};

struct cycle {
    struct pipeline *p;
    const struct collector_def *def;
    pipeline_cycle_fn done;
    void *userdata;
    struct pipeline_cycle out;
    struct work *work;
    size_t n_work, next_work;
    unsigned runs_in_flight;
    unsigned writes_in_flight;
    struct collect_run **runs; /* in flight, for cancel */
    size_t n_runs;
    struct collect_run *finished_early; /* done before collect_start returned */
    bool begun;
    bool cancelled;
    int first_error;
    struct perr err;
};

struct write_job {
    struct cycle *c;
    struct collect_run *run;
    const struct collect_result *result;
    int64_t observed_at;
    struct perr err;
};

static const char *env(const struct pipeline *p, const char *name)
{
    return p->opts.getenv ? p->opts.getenv(name) : getenv(name);
}

static int aws_transport_call(void *transport, const struct aws_request *req, aws_page_cb page_cb,
                              aws_done_cb done_cb, void *userdata, struct perr *err)
{
    return aws_call(transport, req, page_cb, done_cb, userdata, NULL, err);
}

int pipeline_new(const struct pipeline_options *opts, struct pipeline **ret, struct perr *err)
{
    struct pipeline *p = calloc(1, sizeof(*p));
    if (!p)
        return perr_set(err, -ENOMEM, "out of memory");
    p->opts = *opts;
    *ret = p;
    return 0;
}

size_t pipeline_n_accounts(const struct pipeline *p)
{
    return p->n_accounts;
}

const struct pipeline_account *pipeline_account(const struct pipeline *p, size_t i)
{
    return i < p->n_accounts ? &p->accounts[i] : NULL;
}

static void finish_pipeline_if_closing(struct pipeline *p);

static void prepare_settled(struct pipeline *p)
{
    size_t ready = 0;
    struct perr err = { 0 };
    if (--p->preparing > 0)
        return;
    for (size_t i = 0; i < p->n_accounts; i++) {
        if (p->accounts[i].ready)
            ready++;
        else if (!err.msg[0])
            perr_set(&err, -EACCES, "account %s: %s", p->accounts[i].name,
                     p->accounts[i].error ? p->accounts[i].error : "not ready");
    }
    if (p->closing)
        p->prepare_done(-ECANCELED, NULL, p->prepare_ud);
    else if (ready > 0)
        p->prepare_done(0, NULL, p->prepare_ud);
    else
        p->prepare_done(err.code ? err.code : -EACCES, &err, p->prepare_ud);
    finish_pipeline_if_closing(p);
}

static void account_failed(struct pipeline *p, struct pipeline_account *a, const char *fmt, ...)
    PLUMB_PRINTF(3, 4);

static void account_failed(struct pipeline *p, struct pipeline_account *a, const char *fmt, ...)
{
    va_list ap;
    free(a->error);
    va_start(ap, fmt);
    a->error = str_vprintf(fmt, ap);
    va_end(ap);
    a->ready = false;
    prepare_settled(p);
}

struct regions_ctx {
    struct pipeline *p;
    struct pipeline_account *a;
    char **regions;
};

static int regions_page(const struct aws_page *page, void *ud)
{
    struct regions_ctx *rc = ud;
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(page->output, "Regions"), i, r) {
        const char *name = json_string_value(json_object_get(r, "RegionName"));
        const char *optin = json_string_value(json_object_get(r, "OptInStatus"));
        /* Regions not opted in cannot be called. */
        if (!name || str_eq(optin, "not-opted-in"))
            continue;
        if (strv_push(&rc->regions, name) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void regions_done(int result, const struct aws_error *e, void *ud)
{
    struct regions_ctx *rc = ud;
    struct pipeline_account *a = rc->a;
    struct pipeline *p = rc->p;
    if (result < 0 || strv_length(rc->regions) == 0) {
        char detail[256];
        snprintf(detail, sizeof(detail), "%s", e && e->code ? e->code : strerror(-result));
        strv_free(rc->regions);
        free(rc);
        account_failed(p, a,
                       "cannot list the enabled regions (ec2:DescribeRegions: %s); set regions "
                       "in plumb.conf",
                       detail);
        return;
    }
    strv_free(a->regions);
    a->regions = rc->regions;
    a->ready = true;
    free(rc);
    prepare_settled(p);
}

static void resolve_regions(struct pipeline *p, struct pipeline_account *a)
{
    struct regions_ctx *rc;
    struct perr err = { 0 };
    json_t *params;
    struct aws_request req = { .service = "ec2", .operation = "DescribeRegions" };
    int r;

    if (a->regions && a->regions[0]) {
        a->ready = true;
        prepare_settled(p);
        return;
    }
    rc = calloc(1, sizeof(*rc));
    params = json_pack("{s:b}", "AllRegions", 0);
    if (!rc || !params) {
        free(rc);
        json_decref(params);
        account_failed(p, a, "out of memory");
        return;
    }
    rc->p = p;
    rc->a = a;
    req.region = a->home_region;
    req.params = params;
    r = a->transport.call(a->transport.transport, &req, regions_page, regions_done, rc, &err);
    json_decref(params);
    if (r < 0) {
        free(rc);
        account_failed(p, a, "cannot list the enabled regions: %s", err.msg);
    }
}

struct identify_ctx {
    struct pipeline *p;
    struct pipeline_account *a;
};

static void identified(int result, const struct aws_identity *id, const struct perr *err, void *ud)
{
    struct identify_ctx *ic = ud;
    struct pipeline_account *a = ic->a;
    struct pipeline *p = ic->p;
    free(ic);
    if (result < 0) {
        account_failed(p, a, "%s", err ? err->msg : "cannot resolve credentials");
        return;
    }
    if (str_replace(&a->id, id->account) < 0 || str_replace(&a->identity_source, id->source) < 0) {
        account_failed(p, a, "out of memory");
        return;
    }
    resolve_regions(p, a);
}

static const char *home_region(const struct pipeline *p, const struct config_account *ca)
{
    const char *r;
    if (p->opts.regions && p->opts.regions[0])
        return p->opts.regions[0];
    if (ca && ca->regions && ca->regions[0])
        return ca->regions[0];
    if (p->opts.cfg->regions && p->opts.cfg->regions[0])
        return p->opts.cfg->regions[0];
    if (p->opts.cfg->sts_region)
        return p->opts.cfg->sts_region;
    if ((r = env(p, "AWS_REGION")) && *r)
        return r;
    if ((r = env(p, "AWS_DEFAULT_REGION")) && *r)
        return r;
    return "us-east-1";
}

static int init_account(struct pipeline *p, struct pipeline_account *a,
                        const struct config_account *ca)
{
    char *const *regions = p->opts.regions && p->opts.regions[0] ? p->opts.regions
                           : ca && ca->regions && ca->regions[0] ? ca->regions
                                                                 : p->opts.cfg->regions;
    a->name = strdup(ca ? ca->name : "default");
    a->home_region = strdup(home_region(p, ca));
    a->regions = regions && regions[0] ? strv_copy(regions) : NULL;
    if (!a->name || !a->home_region || (regions && regions[0] && !a->regions))
        return -ENOMEM;
    a->partition = strdup(aws_partition_of(a->home_region));
    return a->partition ? 0 : -ENOMEM;
}

int pipeline_prepare(struct pipeline *p, pipeline_done_fn done, void *userdata)
{
    const struct config *cfg = p->opts.cfg;
    size_t n = cfg->n_accounts ? cfg->n_accounts : 1;

    p->accounts = calloc(n, sizeof(*p->accounts));
    if (!p->accounts)
        return -ENOMEM;
    p->n_accounts = n;
    p->prepare_done = done;
    p->prepare_ud = userdata;
    for (size_t i = 0; i < n; i++)
        if (init_account(p, &p->accounts[i], cfg->n_accounts ? &cfg->accounts[i] : NULL) < 0)
            return -ENOMEM;
    /* Count first so no callback settles before every account started. */
    p->preparing = n + 1;
    for (size_t i = 0; i < n; i++) {
        struct pipeline_account *a = &p->accounts[i];
        const struct config_account *ca = cfg->n_accounts ? &cfg->accounts[i] : NULL;
        if (p->opts.transport) {
            a->transport = *p->opts.transport;
            if (str_replace(&a->id, ca && ca->id ? ca->id : p->opts.account_id) < 0 ||
                str_replace(&a->identity_source, "test transport") < 0)
                return -ENOMEM;
            resolve_regions(p, a);
        } else {
            struct aws_account_options ao = {
                .profile = ca ? ca->profile : NULL,
                .role_arn = ca ? ca->role_arn : NULL,
                .external_id = ca ? ca->external_id : NULL,
                .session_name = ca ? ca->session_name : NULL,
                .sts_region = cfg->sts_region ? cfg->sts_region : a->home_region,
                .expected_account = ca ? ca->id : NULL,
            };
            struct identify_ctx *ic;
            struct perr err = { 0 };
            int r = aws_account_new(p->opts.aws, &ao, &a->aws, &err);
            if (r < 0) {
                account_failed(p, a, "%s", err.msg);
                continue;
            }
            a->transport.call = aws_transport_call;
            a->transport.transport = a->aws;
            ic = calloc(1, sizeof(*ic));
            if (!ic)
                return -ENOMEM;
            ic->p = p;
            ic->a = a;
            r = aws_account_identify(a->aws, identified, ic);
            if (r < 0) {
                free(ic);
                account_failed(p, a, "cannot resolve credentials: %s", strerror(-r));
            }
        }
    }
    prepare_settled(p);
    return 0;
}

/* ---- one collector cycle ---- */

static void start_runs(struct cycle *c);
static void maybe_end(struct cycle *c);

static void remove_cycle(struct pipeline *p, struct cycle *c)
{
    for (size_t i = 0; i < p->n_cycles; i++)
        if (p->cycles[i] == c) {
            p->cycles[i] = p->cycles[--p->n_cycles];
            break;
        }
}

static void cycle_free(struct cycle *c)
{
    json_decref(c->out.unknown);
    free(c->work);
    free(c->runs);
    free(c);
}

static void finish_pipeline_if_closing(struct pipeline *p);

static int finish_job(struct db *db, void *ud)
{
    struct cycle *c = ud;
    struct snapshot_cycle_end end = {
        .status = c->out.status,
        .api_calls = c->out.aws.calls,
        .throttled = c->out.aws.throttled,
        .errors = c->out.aws.errors,
        .unknown = c->out.unknown,
    };
    c->out.finished_ms = time_now_ms();
    return snapshot_cycle_finish(db, c->out.cycle_id, &end, &c->out.snap, c->out.finished_ms,
                                 &c->err);
}

static void finish_done(int result, void *ud)
{
    struct cycle *c = ud;
    struct pipeline *p = c->p;
    int r = c->first_error ? c->first_error : result;
    remove_cycle(p, c);
    c->done(r, &c->out, r < 0 ? &c->err : NULL, c->userdata);
    cycle_free(c);
    finish_pipeline_if_closing(p);
}

static void end_cycle(struct cycle *c)
{
    size_t unknown = json_array_size(c->out.unknown);
    size_t scopes_total = c->n_work; /* at least one scope per run */
    if (c->cancelled)
        c->out.status = "abandoned";
    else if (unknown == 0)
        c->out.status = "ok";
    else if (unknown >= scopes_total && c->out.snap.resources_seen == 0)
        c->out.status = "failed";
    else
        c->out.status = "partial";
    if (!c->begun || dbq_submit(c->p->opts.dbq, finish_job, finish_done, c) < 0)
        finish_done(c->begun ? -ECANCELED : c->first_error, c);
}

static void maybe_end(struct cycle *c)
{
    if (c->runs_in_flight > 0 || c->writes_in_flight > 0)
        return;
    if (!c->cancelled && c->next_work < c->n_work)
        return;
    end_cycle(c);
}

static int write_job(struct db *db, void *ud)
{
    struct write_job *w = ud;
    struct snapshot_batch b = {
        .cycle_id = w->c->out.cycle_id,
        .observed_at = w->observed_at,
        .scopes = w->result->scopes,
        .n_scopes = w->result->n_scopes,
        .resources = (struct resource *const *)w->result->resources.items,
        .n_resources = w->result->resources.n,
    };
    return snapshot_write(db, &b, &w->c->out.snap, &w->err);
}

static void write_done(int result, void *ud)
{
    struct write_job *w = ud;
    struct cycle *c = w->c;
    c->writes_in_flight--;
    if (result < 0 && !c->first_error) {
        c->first_error = result;
        c->err = w->err;
    }
    collect_run_free(w->run);
    free(w);
    start_runs(c);
    maybe_end(c);
}

static void run_done(struct collect_run *run, const struct collect_result *res, void *ud)
{
    struct cycle *c = ud;
    struct write_job *w;

    bool listed = false;
    c->runs_in_flight--;
    for (size_t i = 0; i < c->n_runs; i++)
        if (c->runs[i] == run) {
            c->runs[i] = c->runs[--c->n_runs];
            listed = true;
            break;
        }
    if (!listed)
        c->finished_early = run;
    for (size_t i = 0; i < res->n_scopes; i++) {
        const struct snapshot_scope *s = &res->scopes[i];
        json_t *o;
        if (s->status == COLLECT_OK)
            continue;
        o = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "account", s->account, "region", s->region,
                      "type", s->type, "status", collect_status_name(s->status), "detail",
                      s->detail);
        if (o)
            json_array_append_new(c->out.unknown, o);
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        collect_run_free(run);
        if (!c->first_error)
            c->first_error = perr_set(&c->err, -ENOMEM, "out of memory");
        maybe_end(c);
        return;
    }
    w->c = c;
    w->run = run;
    w->result = res;
    w->observed_at = time_now_ms();
    c->writes_in_flight++;
    if (dbq_submit(c->p->opts.dbq, write_job, write_done, w) < 0)
        write_done(-ECANCELED, w);
}

static void start_runs(struct cycle *c)
{
    struct pipeline *p = c->p;
    unsigned max = p->opts.max_runs ? p->opts.max_runs : DEFAULT_MAX_RUNS;
    while (!c->cancelled && c->next_work < c->n_work && c->runs_in_flight < max) {
        struct work *w = &c->work[c->next_work++];
        struct pipeline_account *a = &p->accounts[w->account];
        struct collect_options o = {
            .transport = &a->transport,
            .partition = a->partition,
            .account = a->id,
            .region = w->region,
            .regions = (const char *const *)a->regions,
            .stats = &c->out.aws,
            .now_ms = time_now_ms(),
        };
        struct collect_run *run = NULL;
        struct perr err = { 0 };
        struct collect_run **nr = realloc(c->runs, (c->n_runs + 1) * sizeof(*nr));
        if (!nr) {
            c->first_error = perr_set(&c->err, -ENOMEM, "out of memory");
            c->cancelled = true;
            break;
        }
        c->runs = nr;
        c->runs_in_flight++;
        if (collect_start(c->def, &o, run_done, c, &run, &err) < 0) {
            c->runs_in_flight--;
            if (!c->first_error) {
                c->first_error = err.code ? err.code : -EIO;
                c->err = err;
            }
            continue;
        }
        /* run_done may already have run (nothing could be issued). */
        if (run != c->finished_early)
            c->runs[c->n_runs++] = run;
        c->finished_early = NULL;
    }
}

static int begin_job(struct db *db, void *ud)
{
    struct cycle *c = ud;
    return snapshot_cycle_begin(db, c->def->name, c->out.started_ms, &c->out.cycle_id, &c->err);
}

static void begin_done(int result, void *ud)
{
    struct cycle *c = ud;
    if (result < 0) {
        c->first_error = result;
        c->cancelled = true;
        maybe_end(c);
        return;
    }
    c->begun = true;
    start_runs(c);
    maybe_end(c);
}

bool pipeline_busy(const struct pipeline *p, const char *collector)
{
    for (size_t i = 0; i < p->n_cycles; i++)
        if (str_eq(p->cycles[i]->def->name, collector))
            return true;
    return false;
}

int pipeline_collect(struct pipeline *p, const char *collector, pipeline_cycle_fn done,
                     void *userdata, struct perr *err)
{
    const struct collector_def *def = NULL;
    struct cycle *c, **nc;
    size_t n = 0;

    if (p->closing)
        return perr_set(err, -ESHUTDOWN, "shutting down");
    if (p->opts.registry) {
        for (size_t i = 0; p->opts.registry[i]; i++)
            if (str_eq(p->opts.registry[i]->name, collector))
                def = p->opts.registry[i];
    } else {
        def = collector_find(collector);
    }
    if (!def)
        return perr_set(err, -ENOENT, "no collector named %s", collector);
    if (pipeline_busy(p, collector))
        return perr_set(err, -EBUSY, "collector %s is still running", collector);
    c = calloc(1, sizeof(*c));
    if (!c)
        return perr_set(err, -ENOMEM, "out of memory");
    c->p = p;
    c->def = def;
    c->done = done;
    c->userdata = userdata;
    c->out.collector = def->name;
    c->out.started_ms = time_now_ms();
    c->out.unknown = json_array();
    for (size_t i = 0; i < p->n_accounts; i++)
        if (p->accounts[i].ready)
            n += def->global ? 1 : strv_length(p->accounts[i].regions);
    c->work = calloc(n ? n : 1, sizeof(*c->work));
    nc = realloc(p->cycles, (p->n_cycles + 1) * sizeof(*nc));
    if (!c->out.unknown || !c->work || !nc) {
        if (nc)
            p->cycles = nc;
        cycle_free(c);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    p->cycles = nc;
    for (size_t i = 0; i < p->n_accounts; i++) {
        struct pipeline_account *a = &p->accounts[i];
        if (!a->ready)
            continue;
        if (def->global) {
            c->work[c->n_work++] = (struct work){ i, a->home_region };
            continue;
        }
        for (size_t j = 0; a->regions[j]; j++)
            c->work[c->n_work++] = (struct work){ i, a->regions[j] };
    }
    if (c->n_work == 0) {
        cycle_free(c);
        return perr_set(err, -ENODEV, "no account is ready to scan");
    }
    p->cycles[p->n_cycles++] = c;
    if (dbq_submit(p->opts.dbq, begin_job, begin_done, c) < 0) {
        p->n_cycles--;
        cycle_free(c);
        return perr_set(err, -ECANCELED, "database queue closed");
    }
    return 0;
}

static void finish_pipeline_if_closing(struct pipeline *p)
{
    if (!p->closing || p->n_cycles > 0 || p->preparing > 0)
        return;
    for (size_t i = 0; i < p->n_accounts; i++) {
        struct pipeline_account *a = &p->accounts[i];
        free(a->name);
        free(a->id);
        free(a->partition);
        free(a->home_region);
        strv_free(a->regions);
        free(a->identity_source);
        free(a->error);
        if (a->aws)
            aws_account_free(a->aws);
    }
    free(p->accounts);
    free(p->cycles);
    if (p->closed)
        p->closed(p->closed_ud);
    free(p);
}

void pipeline_close(struct pipeline *p, void (*done)(void *userdata), void *userdata)
{
    p->closing = true;
    p->closed = done;
    p->closed_ud = userdata;
    for (size_t i = 0; i < p->n_cycles; i++) {
        struct cycle *c = p->cycles[i];
        c->cancelled = true;
        for (size_t j = 0; j < c->n_runs; j++)
            collect_cancel(c->runs[j]);
    }
    /* Credential resolution still in flight: cancel it; its callbacks
     * come back with -ECANCELED and the pipeline is freed after them. */
    if (p->preparing > 0)
        for (size_t i = 0; i < p->n_accounts; i++)
            if (p->accounts[i].aws) {
                aws_account_free(p->accounts[i].aws);
                p->accounts[i].aws = NULL;
            }
    finish_pipeline_if_closing(p);
}
