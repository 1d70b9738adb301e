#include "scan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dbq.h"
#include "dispatch.h"
#include "evaluate.h"
#include "pipeline.h"
#include "plumb-config.h"
#include "util.h"

struct scan {
    uv_loop_t loop;
    uv_timer_t timer;
    const struct scan_options *o;
    struct scan_result *res;
    struct aws_client *aws;
    struct dbq *q;
    struct pipeline *p;
    struct dispatch *d;
    json_t *collectors;
    json_t *unknown;
    json_t *accounts;
    struct aws_stats aws_tot;
    struct snapshot_stats snap_tot;
    size_t cycles_pending;
    int64_t deliver_deadline;
    int idle_checks;
    int result;
    struct perr err;
    json_t *counts; /* filled by the final counting job */
};

static void progress(struct scan *s, const char *fmt, ...) PLUMB_PRINTF(2, 3);

static void progress(struct scan *s, const char *fmt, ...)
{
    va_list ap;
    if (!s->o->progress)
        return;
    fputs("plumb: ", s->o->progress);
    va_start(ap, fmt);
    vfprintf(s->o->progress, fmt, ap);
    va_end(ap);
    fputc('\n', s->o->progress);
    fflush(s->o->progress);
}

static void fail(struct scan *s, int r, const struct perr *err)
{
    if (s->result == 0) {
        s->result = r;
        if (err)
            s->err = *err;
        else
            perr_set(&s->err, r, "%s", strerror(-r));
    }
}

/* ---- teardown chain: dispatcher -> pipeline -> client -> queue ---- */

static void queue_closed(void *ud)
{
}

static void client_closed(void *ud)
{
    struct scan *s = ud;
    dbq_close(s->q, queue_closed, s);
    s->q = NULL;
    uv_close((uv_handle_t *)&s->timer, NULL);
}

static void pipeline_closed(void *ud)
{
    struct scan *s = ud;
    s->p = NULL;
    if (s->aws) {
        aws_client_close(s->aws, client_closed, s);
        s->aws = NULL;
    } else {
        client_closed(s);
    }
}

static void dispatch_closed(void *ud)
{
    struct scan *s = ud;
    s->d = NULL;
    if (s->p)
        pipeline_close(s->p, pipeline_closed, s);
    else
        pipeline_closed(s);
}

static void shutdown_all(struct scan *s)
{
    uv_timer_stop(&s->timer);
    if (s->d)
        dispatch_close(s->d, dispatch_closed, s);
    else
        dispatch_closed(s);
}

/* ---- final counts (open drift and failing findings by severity) ---- */

static int count_job(struct db *db, void *ud)
{
    struct scan *s = ud;
    static const char *const sql[] = {
        "SELECT 'drift', severity, count(*) FROM drift WHERE resolved_at IS NULL AND exception "
        "IS NULL GROUP BY severity",
        "SELECT 'failing', severity, count(*) FROM findings WHERE status = 'FAIL' AND exception "
        "IS NULL GROUP BY severity",
        "SELECT 'category', category, count(*) FROM drift WHERE resolved_at IS NULL AND "
        "exception IS NULL GROUP BY category",
        "SELECT 'status', status, count(*) FROM findings GROUP BY status",
        "SELECT 'delivery', state, count(*) FROM deliveries GROUP BY state",
    };
    s->counts = json_object();
    if (!s->counts)
        return -ENOMEM;
    for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db_handle(db), sql[i], -1, &st, NULL);
        if (rc != SQLITE_OK)
            return db_fail(db, rc, &s->err, "counts");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *group = (const char *)sqlite3_column_text(st, 0);
            const char *key = (const char *)sqlite3_column_text(st, 1);
            json_t *g = json_object_get(s->counts, group);
            if (!g) {
                g = json_object();
                if (!g || json_object_set_new(s->counts, group, g) < 0) {
                    sqlite3_finalize(st);
                    return -ENOMEM;
                }
            }
            if (key && json_object_set_new(g, key, json_integer(sqlite3_column_int64(st, 2))) < 0) {
                sqlite3_finalize(st);
                return -ENOMEM;
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return db_fail(db, rc, &s->err, "counts");
    }
    return 0;
}

static void count_done(int result, void *ud)
{
    struct scan *s = ud;
    if (result < 0)
        fail(s, result, &s->err);
    shutdown_all(s);
}

static void finish(struct scan *s)
{
    if (!s->q || dbq_submit(s->q, count_job, count_done, s) < 0)
        shutdown_all(s);
}

/* ---- delivery ---- */

static void on_deliver_tick(uv_timer_t *t)
{
    struct scan *s = t->data;
    if (dispatch_idle(s->d))
        s->idle_checks++;
    else
        s->idle_checks = 0;
    /* Idle twice in a row: everything due now went out; what failed waits
     * for its retry, which plumbd (or the next scan) will do. */
    if (s->idle_checks >= 2 || time_mono_ms() >= s->deliver_deadline) {
        struct dispatch_stats st;
        dispatch_get_stats(s->d, &st);
        progress(s, "deliveries: %llu delivered, %llu to retry, %llu failed",
                 (unsigned long long)st.delivered, (unsigned long long)st.retried,
                 (unsigned long long)st.failed);
        uv_timer_stop(t);
        finish(s);
    }
}

static void deliver(struct scan *s)
{
    struct dispatch_env env = { 0 };
    struct perr err = { 0 };
    bool any = false;
    for (size_t i = 0; i < s->o->rt->n_sinks; i++)
        any = any || !s->o->rt->sinks[i].digest;
    if (s->o->deliver_ms < 0 || !any) {
        finish(s);
        return;
    }
    if (dispatch_new(&s->loop, s->q, NULL, &s->d, &err) < 0 ||
        dispatch_open_configured(s->d, s->o->cfg, &env, &err) < 0) {
        fail(s, err.code ? err.code : -EIO, &err);
        finish(s);
        return;
    }
    dispatch_kick(s->d);
    s->deliver_deadline = time_mono_ms() + (s->o->deliver_ms ? s->o->deliver_ms : 30000);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_deliver_tick, 500, 500);
}

/* ---- analysis ---- */

static int analysis_job(struct db *db, void *ud)
{
    struct scan *s = ud;
    return analysis_run(db, s->o->rt, time_now_ms(), &s->res->analysis, &s->err);
}

static void analysis_done(int result, void *ud)
{
    struct scan *s = ud;
    const struct analysis_stats *a = &s->res->analysis;
    if (result < 0) {
        fail(s, result, &s->err);
        finish(s);
        return;
    }
    progress(s,
             "analysis: %lld controls (%lld pass, %lld fail, %lld unknown), %lld events in "
             "%lld ms",
             (long long)a->controls, (long long)a->findings[FINDING_PASS],
             (long long)a->findings[FINDING_FAIL], (long long)a->findings[FINDING_UNKNOWN],
             (long long)a->events.events, (long long)a->duration_ms);
    deliver(s);
}

static void analyse(struct scan *s)
{
    if (dbq_submit(s->q, analysis_job, analysis_done, s) < 0) {
        fail(s, -ECANCELED, NULL);
        finish(s);
    }
}

/* ---- collection ---- */

static void cycle_done(int result, const struct pipeline_cycle *c, const struct perr *err, void *ud)
{
    struct scan *s = ud;
    size_t i;
    json_t *u, *o;

    s->aws_tot.calls += c->aws.calls;
    s->aws_tot.throttled += c->aws.throttled;
    s->aws_tot.retries += c->aws.retries;
    s->aws_tot.errors += c->aws.errors;
    s->snap_tot.resources_seen += c->snap.resources_seen;
    s->snap_tot.versions_written += c->snap.versions_written;
    s->snap_tot.tombstones += c->snap.tombstones;
    json_array_foreach (c->unknown, i, u) {
        json_array_append(s->unknown, u);
    }
    o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?}", "collector", c->collector,
                  "status", result < 0 ? "failed" : c->status, "api_calls",
                  (json_int_t)c->aws.calls, "throttled", (json_int_t)c->aws.throttled, "errors",
                  (json_int_t)c->aws.errors, "resources_seen", (json_int_t)c->snap.resources_seen,
                  "versions_written", (json_int_t)c->snap.versions_written, "tombstones",
                  (json_int_t)c->snap.tombstones, "duration_ms",
                  (json_int_t)(c->finished_ms ? c->finished_ms - c->started_ms : 0), "error",
                  result < 0 && err ? err->msg : NULL);
    if (o)
        json_array_append_new(s->collectors, o);
    if (result < 0) {
        progress(s, "%s: failed: %s", c->collector, err ? err->msg : strerror(-result));
        if (result != -ECANCELED)
            fail(s, result, err);
    } else {
        progress(s, "%s: %lld resources, %lld versions written, %lld calls (%lld throttled)%s",
                 c->collector, (long long)c->snap.resources_seen,
                 (long long)c->snap.versions_written, (long long)c->aws.calls,
                 (long long)c->aws.throttled,
                 json_array_size(c->unknown) ? ", some types UNKNOWN" : "");
    }
    if (--s->cycles_pending == 0) {
        if (s->result < 0 && s->result != -ECANCELED)
            finish(s);
        else
            analyse(s);
    }
}

static bool collector_wanted(const struct scan *s, const struct collector_def *def)
{
    const struct config_collector *cc = config_collector(s->o->cfg, def->name);
    if (s->o->collectors)
        return strv_contains(s->o->collectors, def->name);
    if (cc && !cc->enabled)
        return false;
    if (str_eq(s->o->cfg->config_mode, "off") && str_eq(def->name, "config"))
        return false;
    return true;
}

static void prepared(int result, const struct perr *err, void *ud)
{
    struct scan *s = ud;
    size_t n = pipeline_n_accounts(s->p);

    for (size_t i = 0; i < n; i++) {
        const struct pipeline_account *a = pipeline_account(s->p, i);
        json_t *o;
        if (a->ready)
            s->res->accounts_ready++;
        else
            s->res->accounts_failed++;
        o = json_pack("{s:s, s:s?, s:s?, s:o, s:s?}", "name", a->name, "id", a->id, "source",
                      a->identity_source, "regions", json_array(), "error", a->error);
        for (size_t j = 0; o && a->regions && a->regions[j]; j++)
            json_array_append_new(json_object_get(o, "regions"), json_string(a->regions[j]));
        if (o)
            json_array_append_new(s->accounts, o);
        if (a->ready)
            progress(s, "account %s: %s via %s, %zu region(s)", a->name, a->id,
                     a->identity_source ? a->identity_source : "?", strv_length(a->regions));
        else
            progress(s, "account %s: %s", a->name, a->error ? a->error : "not ready");
    }
    if (result < 0) {
        fail(s, result, err);
        finish(s);
        return;
    }
    /* Count first: a cycle may complete before the next one starts. */
    s->cycles_pending = 1;
    for (size_t i = 0; collector_registry[i]; i++) {
        const struct collector_def *def = collector_registry[i];
        struct perr e = { 0 };
        if (!collector_wanted(s, def))
            continue;
        s->cycles_pending++;
        if (pipeline_collect(s->p, def->name, cycle_done, s, &e) < 0) {
            s->cycles_pending--;
            progress(s, "%s: not run: %s", def->name, e.msg);
        }
    }
    if (--s->cycles_pending == 0)
        analyse(s);
}

static json_t *counts_of(const json_t *counts, const char *group, const char *const *keys)
{
    json_t *o = json_object();
    const json_t *g = json_object_get(counts, group);
    for (size_t i = 0; o && keys[i]; i++)
        json_object_set_new(o, keys[i],
                            json_integer(json_integer_value(json_object_get(g, keys[i]))));
    return o;
}

static void build_summary(struct scan *s)
{
    static const char *const cats[] = { "changed", "missing", "unmanaged", "conflict", NULL };
    static const char *const statuses[] = { "PASS", "FAIL", "NOT_APPLICABLE", "UNKNOWN", NULL };
    static const char *const dstates[] = { "pending", "delivered", "failed", NULL };
    const struct analysis_stats *a = &s->res->analysis;
    const json_t *dr = json_object_get(s->counts, "drift");
    const json_t *fl = json_object_get(s->counts, "failing");

    for (int sev = 0; sev <= SEVERITY_CRITICAL; sev++) {
        s->res->drift_open[sev] =
            json_integer_value(json_object_get(dr, severity_name((enum severity)sev)));
        s->res->failing_open[sev] =
            json_integer_value(json_object_get(fl, severity_name((enum severity)sev)));
    }
    s->res->summary = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:O, s:O, s:{s:I, s:{s:I, s:I, s:I, s:I}, s:I, "
        "s:b}, s:o, s:o, s:I, s:o}",
        "resources_seen", (json_int_t)s->snap_tot.resources_seen, "versions_written",
        (json_int_t)s->snap_tot.versions_written, "tombstones", (json_int_t)s->snap_tot.tombstones,
        "api_calls", (json_int_t)s->aws_tot.calls, "throttled", (json_int_t)s->aws_tot.throttled,
        "errors", (json_int_t)s->aws_tot.errors, "unknown", s->unknown, "accounts", s->accounts,
        "collectors", s->collectors, "analysis", "controls", (json_int_t)a->controls, "findings",
        "PASS", (json_int_t)a->findings[FINDING_PASS], "FAIL",
        (json_int_t)a->findings[FINDING_FAIL], "NOT_APPLICABLE",
        (json_int_t)a->findings[FINDING_NOT_APPLICABLE], "UNKNOWN",
        (json_int_t)a->findings[FINDING_UNKNOWN], "duration_ms", (json_int_t)a->duration_ms,
        "drift_evaluated", a->drift_evaluated, "drift", counts_of(s->counts, "category", cats),
        "findings", counts_of(s->counts, "status", statuses), "events",
        (json_int_t)a->events.events, "deliveries", counts_of(s->counts, "delivery", dstates));
}

int scan_once(const struct scan_options *o, struct db *db, struct scan_result *res,
              struct perr *err)
{
    struct scan s = { .o = o, .res = res };
    struct pipeline_options po = { 0 };
    struct aws_client_options ao = { 0 };
    int r;

    memset(res, 0, sizeof(*res));
    s.collectors = json_array();
    s.unknown = json_array();
    s.accounts = json_array();
    if (!s.collectors || !s.unknown || !s.accounts) {
        db_close(db);
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    r = uv_loop_init(&s.loop);
    if (r < 0) {
        db_close(db);
        perr_set(err, r, "event loop: %s", uv_strerror(r));
        goto out;
    }
    uv_timer_init(&s.loop, &s.timer);
    r = dbq_new(&s.loop, db, &s.q);
    if (r < 0) {
        db_close(db);
        perr_set(err, r, "out of memory");
        goto loop;
    }
    if (!o->transport) {
        ao.loop = &s.loop;
        ao.getenv = o->getenv;
        ao.endpoint_url = o->cfg->endpoint_url;
        ao.ca_bundle = o->cfg->ca_bundle;
        ao.max_attempts = o->cfg->max_attempts;
        ao.budget_share = o->cfg->api_budget_share;
        ao.timeout_ms = o->cfg->http_timeout_ms;
        ao.max_per_host = (unsigned)o->cfg->max_connections_per_host;
        r = aws_client_new(&ao, &s.aws, err);
        if (r < 0)
            goto close_q;
    }
    po.loop = &s.loop;
    po.cfg = o->cfg;
    po.aws = s.aws;
    po.dbq = s.q;
    po.regions = o->regions;
    po.getenv = o->getenv;
    po.transport = o->transport;
    po.account_id = o->account_id;
    r = pipeline_new(&po, &s.p, err);
    if (r == 0)
        r = pipeline_prepare(s.p, prepared, &s);
    if (r < 0) {
        fail(&s, r, err && err->msg[0] ? err : NULL);
        shutdown_all(&s);
    }
    uv_run(&s.loop, UV_RUN_DEFAULT);
    r = s.result;
    if (r < 0 && err)
        *err = s.err;
    if (s.counts)
        build_summary(&s);
    else if (r == 0)
        r = perr_set(err, -EIO, "the scan did not finish");
    goto loop;
close_q:
    dbq_close(s.q, queue_closed, &s);
loop:
    if (!uv_is_closing((uv_handle_t *)&s.timer))
        uv_close((uv_handle_t *)&s.timer, NULL);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&s.loop) < 0 && r == 0)
        r = perr_set(err, -EBUSY, "internal error: handles left open");
out:
    json_decref(s.collectors);
    json_decref(s.unknown);
    json_decref(s.accounts);
    json_decref(s.counts);
    return r;
}

void scan_result_free(struct scan_result *res)
{
    json_decref(res->summary);
    res->summary = NULL;
}

bool scan_has_findings(const struct scan_result *res, enum severity threshold)
{
    for (int s = threshold; s <= SEVERITY_CRITICAL; s++)
        if (res->drift_open[s] > 0 || res->failing_open[s] > 0)
            return true;
    return false;
}

int scan_print_summary(FILE *out, const struct scan_result *res, bool color)
{
    const json_t *j = res->summary;
    const json_t *d = json_object_get(j, "drift"), *f = json_object_get(j, "findings");
    size_t i;
    const json_t *u;

    fprintf(out, "resources seen:   %lld\n",
            (long long)json_integer_value(json_object_get(j, "resources_seen")));
    fprintf(out, "versions written: %lld (tombstones: %lld)\n",
            (long long)json_integer_value(json_object_get(j, "versions_written")),
            (long long)json_integer_value(json_object_get(j, "tombstones")));
    fprintf(out, "API calls:        %lld (%lld throttled)\n",
            (long long)json_integer_value(json_object_get(j, "api_calls")),
            (long long)json_integer_value(json_object_get(j, "throttled")));
    fprintf(out, "drift:            %lld changed, %lld missing, %lld unmanaged, %lld conflict\n",
            (long long)json_integer_value(json_object_get(d, "changed")),
            (long long)json_integer_value(json_object_get(d, "missing")),
            (long long)json_integer_value(json_object_get(d, "unmanaged")),
            (long long)json_integer_value(json_object_get(d, "conflict")));
    fprintf(out, "findings:         %s%lld failing%s, %lld unknown, %lld passing\n",
            color && json_integer_value(json_object_get(f, "FAIL")) ? "\033[31m" : "",
            (long long)json_integer_value(json_object_get(f, "FAIL")), color ? "\033[0m" : "",
            (long long)json_integer_value(json_object_get(f, "UNKNOWN")),
            (long long)json_integer_value(json_object_get(f, "PASS")));
    fprintf(out, "events:           %lld new\n",
            (long long)json_integer_value(json_object_get(j, "events")));
    if (json_array_size(json_object_get(j, "unknown")) > 0) {
        fprintf(out, "\nUNKNOWN (could not be read; never reported as missing or passing):\n");
        json_array_foreach (json_object_get(j, "unknown"), i, u) {
            const char *detail = json_string_value(json_object_get(u, "detail"));
            fprintf(out, "  %s %s/%s: %s%s%s\n", json_string_value(json_object_get(u, "type")),
                    json_string_value(json_object_get(u, "account")),
                    json_string_value(json_object_get(u, "region")),
                    json_string_value(json_object_get(u, "status")), detail ? " " : "",
                    detail ? detail : "");
        }
    }
    return ferror(out) ? -EIO : 0;
}
