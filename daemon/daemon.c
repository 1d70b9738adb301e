/* plumbd's runtime: one libuv loop carrying the scheduler, the collection
 * pipeline (AWS client), the database queue (analysis and snapshot writes
 * run on the thread pool) and the outbox dispatcher.
 *
 * Everything built from one configuration is a "generation".  SIGHUP
 * builds a new one and swaps it in only if it loads completely; the old one
 * is retired: its collectors are cancelled, its dispatcher closed, and it is
 * freed when the last cycle or pool job using it has returned. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "analysis.h"
#include "awsclient.h"
#include "awsxml.h"
#include "db.h"
#include "dbq.h"
#include "dispatch.h"
#include "evaluate.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "plumb-config.h"
#include "runtime.h"
#include "scheduler.h"

#define HEARTBEAT_MS         60000
#define ANALYSIS_DEBOUNCE_MS 2000
#define PREPARE_RETRY_MS     60000
#define STOP_POLL_MS         20

struct generation {
    struct config *cfg;
    struct runtime *rt;
    struct pipeline *p;
    struct dispatch *d;
    bool prepared;
    bool retired;     /* replaced or stopping: freed once unused and closed */
    unsigned users;   /* cycles and pool jobs still using it */
    unsigned closing; /* pipeline/dispatcher closes in flight */
};

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_signal_t sighup;
    uv_timer_t watchdog;
    uv_timer_t heartbeat;
    uv_timer_t sched_timer;
    uv_timer_t analysis_timer;
    uv_timer_t prepare_timer;
    uv_timer_t stop_timer;
    const struct daemon_options *opts;
    struct aws_client *aws;
    struct dbq *q;
    struct sched *sched;
    struct generation *gen;
    unsigned retired; /* generations retired but not yet freed */
    bool analysis_running;
    bool analysis_wanted;
    bool stopping;
    bool client_closing;
    int64_t cycles_done;
};

/* A callback's view of which generation it belongs to. */
struct gen_ref {
    struct daemon *d;
    struct generation *g;
};

static uint32_t sched_random(void *ud)
{
    uint32_t v = 0;
    if (random_bytes(&v, sizeof(v)) < 0)
        v = (uint32_t)time_mono_ms();
    return v;
}

/* Load and validate the configuration, logging every problem. */
static int load_config(const struct daemon_options *opts, struct config **ret)
{
    struct config_env env = { .credentials_directory = getenv("CREDENTIALS_DIRECTORY") };
    struct perr err = { 0 };
    char **errors = NULL;
    int r = config_load(opts->config_path, &env, ret, &err, &errors);
    if (r < 0) {
        for (size_t i = 0; errors && errors[i]; i++)
            log_error("%s", errors[i]);
        if (!errors)
            log_error("%s", err.msg);
        strv_free(errors);
        return r;
    }
    if (opts->db_path && str_replace(&(*ret)->database, opts->db_path) < 0) {
        *ret = config_free(*ret);
        return -ENOMEM;
    }
    return 0;
}

/* Build the runtime (baseline, ignore file, exceptions, sinks), logging
 * every problem. */
static int load_runtime(const struct config *cfg, struct runtime **ret)
{
    struct perr err = { 0 };
    char **errors = NULL;
    int r = runtime_load(cfg, ret, &err, &errors);
    if (r < 0) {
        for (size_t i = 0; errors && errors[i]; i++)
            log_error("%s", errors[i]);
        if (!errors)
            log_error("%s", err.msg);
        strv_free(errors);
    }
    return r;
}

int daemon_check_config(const struct daemon_options *opts)
{
    struct config *cfg = NULL;
    struct runtime *rt = NULL;
    int r = load_config(opts, &cfg);
    if (r == 0)
        r = load_runtime(cfg, &rt);
    if (r < 0) {
        fprintf(stderr, "%s: configuration has errors\n", opts->config_path);
        config_free(cfg);
        return r;
    }
    printf("%s: configuration OK (%zu controls enabled, %zu sinks)\n", opts->config_path,
           controls_count_enabled(rt->cat), rt->n_sinks);
    runtime_free(rt);
    config_free(cfg);
    return 0;
}

/* ---- daemon_state rows for `plumb status` ---- */

struct state_job {
    char *key;
    char *value;
};

static int state_work(struct db *db, void *ud)
{
    struct state_job *j = ud;
    struct perr err = { 0 };
    return db_state_set(db, j->key, j->value, time_now_ms(), &err);
}

static void state_done(int result, void *ud)
{
    struct state_job *j = ud;
    if (result < 0 && result != -ECANCELED)
        log_warning("cannot record daemon state %s: %s", j->key, strerror(-result));
    free(j->key);
    free(j->value);
    free(j);
}

static void set_state(struct daemon *d, const char *key, const char *value)
{
    struct state_job *j = calloc(1, sizeof(*j));
    if (j && (j->key = strdup(key)) && (j->value = strdup(value)) &&
        dbq_submit(d->q, state_work, state_done, j) == 0)
        return;
    if (j) {
        free(j->key);
        free(j->value);
    }
    free(j);
}

static void on_heartbeat(uv_timer_t *t)
{
    struct daemon *d = t->data;
    char now[32];
    time_format_iso8601(time_now_ms(), now, sizeof(now));
    set_state(d, "heartbeat", now);
}

/* ---- generations ---- */

static void generation_free(struct generation *g)
{
    runtime_free(g->rt);
    config_free(g->cfg);
    free(g);
}

static void maybe_free_generation(struct daemon *d, struct generation *g)
{
    if (!g->retired || g->users > 0 || g->closing > 0)
        return;
    generation_free(g);
    d->retired--;
}

static void generation_release(struct daemon *d, struct generation *g)
{
    if (g->users > 0)
        g->users--;
    maybe_free_generation(d, g);
}

static void part_closed(void *ud)
{
    struct gen_ref *ref = ud;
    ref->g->closing--;
    maybe_free_generation(ref->d, ref->g);
    free(ref);
}

static void close_pipeline(struct daemon *d, struct generation *g)
{
    struct gen_ref *ref = calloc(1, sizeof(*ref));
    struct pipeline *p = g->p;
    if (!p || !ref) {
        free(ref);
        return;
    }
    ref->d = d;
    ref->g = g;
    g->p = NULL;
    g->prepared = false;
    g->closing++;
    pipeline_close(p, part_closed, ref);
}

static void close_dispatch(struct daemon *d, struct generation *g)
{
    struct gen_ref *ref = calloc(1, sizeof(*ref));
    struct dispatch *di = g->d;
    if (!di || !ref) {
        free(ref);
        return;
    }
    ref->d = d;
    ref->g = g;
    g->d = NULL;
    g->closing++;
    dispatch_close(di, part_closed, ref);
}

/* Stop using a generation: collectors are cancelled (their cycles end as
 * abandoned), the dispatcher closes (deliveries in flight stay pending),
 * and it is freed once nothing uses it. */
static void generation_retire(struct daemon *d, struct generation *g)
{
    g->retired = true;
    d->retired++;
    /* Closes may complete synchronously; hold it until both started. */
    g->users++;
    close_pipeline(d, g);
    close_dispatch(d, g);
    generation_release(d, g);
}

/* ---- analysis ---- */

struct analysis_job {
    struct daemon *d;
    struct generation *g;
    struct analysis_stats stats;
    struct perr err;
};

static int analysis_work(struct db *db, void *ud)
{
    struct analysis_job *j = ud;
    return analysis_run(db, j->g->rt, time_now_ms(), &j->stats, &j->err);
}

static void schedule_analysis(struct daemon *d);

static void analysis_done(int result, void *ud)
{
    struct analysis_job *j = ud;
    struct daemon *d = j->d;
    d->analysis_running = false;
    if (result < 0 && result != -ECANCELED) {
        log_error("analysis failed: %s", j->err.msg[0] ? j->err.msg : strerror(-result));
    } else if (result == 0) {
        log_info("analysis: %lld controls (%lld failing, %lld unknown), %lld events (%lld "
                 "opened, %lld updated, %lld resolved) in %lld ms",
                 (long long)j->stats.controls, (long long)j->stats.findings[FINDING_FAIL],
                 (long long)j->stats.findings[FINDING_UNKNOWN], (long long)j->stats.events.events,
                 (long long)j->stats.events.opened, (long long)j->stats.events.updated,
                 (long long)j->stats.events.resolved, (long long)j->stats.duration_ms);
        notify_status("running: %lld collector cycles, last analysis raised %lld events",
                      (long long)d->cycles_done, (long long)j->stats.events.events);
        if (j->stats.events.events > 0 && d->gen && d->gen->d)
            dispatch_kick(d->gen->d);
    }
    generation_release(d, j->g);
    free(j);
    if (d->analysis_wanted && !d->stopping)
        schedule_analysis(d);
}

static void on_analysis_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    struct analysis_job *j;
    if (d->stopping || !d->gen)
        return;
    if (d->analysis_running) {
        d->analysis_wanted = true;
        return;
    }
    j = calloc(1, sizeof(*j));
    if (!j) {
        log_error("out of memory");
        return;
    }
    j->d = d;
    j->g = d->gen;
    j->g->users++;
    d->analysis_running = true;
    d->analysis_wanted = false;
    if (dbq_submit(d->q, analysis_work, analysis_done, j) < 0) {
        d->analysis_running = false;
        generation_release(d, j->g);
        free(j);
    }
}

/* Collectors finishing close together share one analysis. */
static void schedule_analysis(struct daemon *d)
{
    if (d->analysis_running) {
        d->analysis_wanted = true;
        return;
    }
    uv_timer_start(&d->analysis_timer, on_analysis_timer, ANALYSIS_DEBOUNCE_MS, 0);
}

/* ---- collection on schedules ---- */

static void arm_scheduler(struct daemon *d);

struct cycle_ctx {
    struct daemon *d;
    struct generation *g;
    char *name;
};

static void cycle_done(int result, const struct pipeline_cycle *c, const struct perr *err, void *ud)
{
    struct cycle_ctx *cc = ud;
    struct daemon *d = cc->d;
    size_t i;
    json_t *u;

    if (result < 0) {
        if (result != -ECANCELED)
            log_error("collector %s: %s", cc->name, err ? err->msg : strerror(-result));
    } else {
        d->cycles_done++;
        log_info("collector %s: %s, %lld resources, %lld versions, %lld tombstones, %lld calls "
                 "(%lld throttled)",
                 cc->name, c->status, (long long)c->snap.resources_seen,
                 (long long)c->snap.versions_written, (long long)c->snap.tombstones,
                 (long long)c->aws.calls, (long long)c->aws.throttled);
        json_array_foreach (c->unknown, i, u) {
            const char *detail = json_string_value(json_object_get(u, "detail"));
            log_notice("collector %s: %s in %s/%s is UNKNOWN (%s%s%s)", cc->name,
                       json_string_value(json_object_get(u, "type")),
                       json_string_value(json_object_get(u, "account")),
                       json_string_value(json_object_get(u, "region")),
                       json_string_value(json_object_get(u, "status")), detail ? ": " : "",
                       detail ? detail : "");
        }
        if (cc->g == d->gen)
            schedule_analysis(d);
    }
    if (cc->g == d->gen && !d->stopping) {
        sched_done(d->sched, cc->name, time_now_ms());
        arm_scheduler(d);
    }
    generation_release(d, cc->g);
    free(cc->name);
    free(cc);
}

static void run_collector(struct daemon *d, const char *name)
{
    struct cycle_ctx *cc = calloc(1, sizeof(*cc));
    struct perr err = { 0 };
    if (!cc || !(cc->name = strdup(name))) {
        free(cc);
        sched_done(d->sched, name, time_now_ms());
        return;
    }
    cc->d = d;
    cc->g = d->gen;
    cc->g->users++;
    if (pipeline_collect(d->gen->p, name, cycle_done, cc, &err) < 0) {
        log_warning("collector %s not started: %s", name, err.msg);
        generation_release(d, cc->g);
        sched_done(d->sched, name, time_now_ms());
        free(cc->name);
        free(cc);
    }
}

static void on_sched_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    char **due;
    if (d->stopping || !d->gen || !d->gen->prepared)
        return;
    due = sched_take_due(d->sched, time_now_ms());
    for (size_t i = 0; due && due[i]; i++)
        run_collector(d, due[i]);
    strv_free(due);
    arm_scheduler(d);
}

static void arm_scheduler(struct daemon *d)
{
    int64_t next, now = time_now_ms();
    if (d->stopping || !d->sched || !d->gen || !d->gen->prepared)
        return;
    next = sched_next_due(d->sched);
    if (next == INT64_MAX) {
        uv_timer_stop(&d->sched_timer);
        return;
    }
    uv_timer_start(&d->sched_timer, on_sched_timer, (uint64_t)(next > now ? next - now : 0), 0);
}

/* One job per enabled collector, with the configured interval and jitter. */
static int configure_schedule(struct daemon *d)
{
    const struct config *cfg = d->gen->cfg;
    char **names = strv_new();
    int64_t now = time_now_ms();
    int r = names ? 0 : -ENOMEM;
    for (size_t i = 0; r == 0 && collector_registry[i]; i++) {
        const struct collector_def *def = collector_registry[i];
        const struct config_collector *cc = config_collector(cfg, def->name);
        int64_t interval = 30 * 60000, jitter;
        if (cc && !cc->enabled)
            continue;
        if (str_eq(def->name, "config") && str_eq(cfg->config_mode, "off"))
            continue;
        for (size_t j = 0; config_collector_defaults[j].name; j++)
            if (str_eq(config_collector_defaults[j].name, def->name))
                interval = config_collector_defaults[j].interval_ms;
        if (cc)
            interval = cc->interval_ms;
        jitter = cc && cc->jitter_ms >= 0 ? cc->jitter_ms : interval / 10;
        /* First runs are spread over the first seconds. */
        r = sched_set(d->sched, def->name, interval, jitter, 0, now);
        if (r == 0)
            r = strv_push(&names, def->name);
    }
    if (r == 0)
        sched_retain(d->sched, names);
    strv_free(names);
    return r;
}

/* ---- accounts ---- */

static int prepare_pipeline(struct daemon *d, struct generation *g);
static void on_prepare_timer(uv_timer_t *t);

static void on_prepared(int result, const struct perr *err, void *ud)
{
    struct gen_ref *ref = ud;
    struct daemon *d = ref->d;
    struct generation *g = ref->g;
    free(ref);
    for (size_t i = 0; g->p && i < pipeline_n_accounts(g->p); i++) {
        const struct pipeline_account *a = pipeline_account(g->p, i);
        if (a->ready)
            log_info("account %s: %s via %s, %zu region(s)", a->name, a->id,
                     a->identity_source ? a->identity_source : "?", strv_length(a->regions));
        else
            log_error("account %s: %s", a->name, a->error ? a->error : "not ready");
    }
    if (g == d->gen && !d->stopping) {
        if (result < 0) {
            log_error("no account could be prepared; retrying in %d s (%s)",
                      PREPARE_RETRY_MS / 1000, err ? err->msg : strerror(-result));
            notify_status("waiting for AWS credentials: %s", err ? err->msg : "");
            /* Retry later with a fresh pipeline (credentials may appear). */
            uv_timer_start(&d->prepare_timer, on_prepare_timer, PREPARE_RETRY_MS, 0);
        } else {
            g->prepared = true;
            notify_status("running");
            arm_scheduler(d);
        }
    }
    generation_release(d, g);
}

static void on_prepare_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    if (d->stopping || !d->gen || d->gen->prepared)
        return;
    close_pipeline(d, d->gen);
    prepare_pipeline(d, d->gen);
}

static int prepare_pipeline(struct daemon *d, struct generation *g)
{
    struct pipeline_options po = { .loop = &d->loop, .cfg = g->cfg, .aws = d->aws, .dbq = d->q };
    struct gen_ref *ref;
    struct perr err = { 0 };
    int r = pipeline_new(&po, &g->p, &err);
    if (r < 0) {
        log_error("%s", err.msg);
        return r;
    }
    ref = calloc(1, sizeof(*ref));
    if (!ref)
        return -ENOMEM;
    ref->d = d;
    ref->g = g;
    g->users++;
    r = pipeline_prepare(g->p, on_prepared, ref);
    if (r < 0) {
        generation_release(d, g);
        free(ref);
        log_error("cannot prepare the accounts: %s", strerror(-r));
    }
    return r;
}

static int start_generation(struct daemon *d, struct generation *g)
{
    struct dispatch_env env = { 0 };
    struct perr err = { 0 };
    int r = dispatch_new(&d->loop, d->q, NULL, &g->d, &err);
    if (r == 0)
        r = dispatch_open_configured(g->d, g->cfg, &env, &err);
    if (r < 0) {
        log_error("event sinks: %s", err.msg);
        return r;
    }
    for (size_t i = 0; i < g->cfg->n_webhooks; i++)
        if (g->cfg->webhooks[i].insecure_tls)
            log_warning("webhook %s: TLS verification is OFF for this endpoint (insecure_tls)",
                        g->cfg->webhooks[i].name);
    dispatch_kick(g->d);
    return prepare_pipeline(d, g);
}

/* ---- signals, reload, stop ---- */

static void on_watchdog(uv_timer_t *t)
{
    notify_watchdog();
}

static void queue_closed(void *ud)
{
    struct daemon *d = ud;
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sighup, NULL);
    uv_close((uv_handle_t *)&d->watchdog, NULL);
    uv_close((uv_handle_t *)&d->heartbeat, NULL);
    uv_close((uv_handle_t *)&d->sched_timer, NULL);
    uv_close((uv_handle_t *)&d->analysis_timer, NULL);
    uv_close((uv_handle_t *)&d->prepare_timer, NULL);
    uv_close((uv_handle_t *)&d->stop_timer, NULL);
}

static void client_closed(void *ud)
{
    struct daemon *d = ud;
    d->aws = NULL;
    /* The queue goes last: the pipeline and the dispatcher used it.  Its
     * running job finishes; the database is closed. */
    dbq_close(d->q, queue_closed, d);
    d->q = NULL;
}

static void on_stop_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    /* Wait until every generation is closed and freed, the analysis has
     * returned and the queue has drained (the "stopped" state row). */
    if (d->retired > 0 || d->analysis_running || (d->q && dbq_pending(d->q) > 0) ||
        d->client_closing)
        return;
    uv_timer_stop(t);
    d->client_closing = true;
    if (d->aws)
        aws_client_close(d->aws, client_closed, d);
    else
        client_closed(d);
}

static void begin_stop(struct daemon *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = true;
    log_info("%s, stopping", why);
    notify_stopping();
    uv_timer_stop(&d->sched_timer);
    uv_timer_stop(&d->analysis_timer);
    uv_timer_stop(&d->prepare_timer);
    uv_timer_stop(&d->heartbeat);
    if (d->q)
        set_state(d, "state", "stopped");
    if (d->gen) {
        generation_retire(d, d->gen);
        d->gen = NULL;
    }
    uv_timer_start(&d->stop_timer, on_stop_timer, 0, STOP_POLL_MS);
}

static void on_sigterm(uv_signal_t *s, int signum)
{
    begin_stop(s->data, signum == SIGINT ? "SIGINT received" : "SIGTERM received");
}

static void reload(struct daemon *d)
{
    struct generation *next = calloc(1, sizeof(*next));
    struct perr err = { 0 };

    log_info("SIGHUP received, reloading %s", d->opts->config_path);
    notify_reloading();
    if (!next || load_config(d->opts, &next->cfg) < 0 || load_runtime(next->cfg, &next->rt) < 0) {
        log_error("reload failed; keeping the running configuration");
        if (next)
            generation_free(next);
        notify_ready("running (reload failed, old configuration kept)");
        return;
    }
    if (!config_reloadable(d->gen->cfg, next->cfg, &err)) {
        log_error("reload refused: %s; keeping the running configuration", err.msg);
        generation_free(next);
        notify_ready("running (reload refused, old configuration kept)");
        return;
    }
    generation_retire(d, d->gen);
    d->gen = next;
    if (!d->opts->log_level_set)
        log_set_level(next->cfg->log_level);
    if (start_generation(d, next) < 0 || configure_schedule(d) < 0) {
        begin_stop(d, "the new configuration could not start");
        return;
    }
    log_info("configuration reloaded (%zu controls, %zu sinks)",
             controls_count_enabled(next->rt->cat), next->rt->n_sinks);
    notify_ready("running");
}

static void on_sighup(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;
    if (!d->stopping)
        reload(d);
}

static int setup_loop(struct daemon *d)
{
    int64_t wd;
    int r = uv_loop_init(&d->loop);
    if (r < 0)
        return r;
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sighup);
    d->sigterm.data = d->sigint.data = d->sighup.data = d;
    uv_signal_start(&d->sigterm, on_sigterm, SIGTERM);
    uv_signal_start(&d->sigint, on_sigterm, SIGINT);
    uv_signal_start(&d->sighup, on_sighup, SIGHUP);
    uv_timer_init(&d->loop, &d->watchdog);
    uv_timer_init(&d->loop, &d->heartbeat);
    uv_timer_init(&d->loop, &d->sched_timer);
    uv_timer_init(&d->loop, &d->analysis_timer);
    uv_timer_init(&d->loop, &d->prepare_timer);
    uv_timer_init(&d->loop, &d->stop_timer);
    d->heartbeat.data = d->sched_timer.data = d->analysis_timer.data = d;
    d->prepare_timer.data = d->stop_timer.data = d;
    wd = notify_watchdog_interval_ms();
    if (wd > 0)
        uv_timer_start(&d->watchdog, on_watchdog, (uint64_t)wd, (uint64_t)wd);
    return 0;
}

int daemon_run(const struct daemon_options *opts)
{
    struct daemon d = { .opts = opts };
    struct generation *g = calloc(1, sizeof(*g));
    struct aws_client_options ao = { 0 };
    struct db *db = NULL;
    struct perr err = { 0 };
    char pid[32];
    int r;

    signal(SIGPIPE, SIG_IGN);
    /* The pool runs the database queue and the journal/syslog sends; give
     * it room before the loop starts it. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    awsxml_init();
    if (!g)
        return -ENOMEM;
    r = load_config(opts, &g->cfg);
    if (r == 0)
        r = load_runtime(g->cfg, &g->rt);
    if (r < 0) {
        generation_free(g);
        return r;
    }
    log_set_level(opts->log_level_set ? opts->log_level : g->cfg->log_level);
    r = db_open(g->cfg->database, DB_READWRITE, &db, &err);
    if (r < 0) {
        log_error("%s", err.msg);
        generation_free(g);
        return r;
    }
    r = setup_loop(&d);
    if (r < 0) {
        log_error("event loop: %s", uv_strerror(r));
        db_close(db);
        generation_free(g);
        return r;
    }
    d.gen = g;
    r = dbq_new(&d.loop, db, &d.q);
    if (r < 0) {
        db_close(db);
        goto fail;
    }
    r = sched_new(sched_random, NULL, &d.sched);
    if (r < 0)
        goto fail;
    ao.loop = &d.loop;
    ao.endpoint_url = g->cfg->endpoint_url;
    ao.ca_bundle = g->cfg->ca_bundle;
    ao.max_attempts = g->cfg->max_attempts;
    ao.budget_share = g->cfg->api_budget_share;
    ao.timeout_ms = g->cfg->http_timeout_ms;
    ao.max_per_host = (unsigned)g->cfg->max_connections_per_host;
    r = aws_client_new(&ao, &d.aws, &err);
    if (r < 0) {
        log_error("AWS client: %s", err.msg);
        goto fail;
    }
    r = start_generation(&d, g);
    if (r == 0)
        r = configure_schedule(&d);
    if (r < 0)
        goto fail;
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    set_state(&d, "pid", pid);
    set_state(&d, "state", "running");
    uv_timer_start(&d.heartbeat, on_heartbeat, 0, HEARTBEAT_MS);
    log_info("plumbd %s started (database %s, %zu controls, %zu sinks)", PLUMB_VERSION,
             g->cfg->database, controls_count_enabled(g->rt->cat), g->rt->n_sinks);
    /* Config, database and loop are up: from here on plumbd works, even
     * while credentials are still being resolved. */
    notify_ready("running: preparing accounts");
    uv_run(&d.loop, UV_RUN_DEFAULT);
    r = uv_loop_close(&d.loop);
    if (r < 0)
        log_warning("event loop did not close cleanly: %s", uv_strerror(r));
    sched_free(d.sched);
    awsxml_cleanup();
    log_info("stopped");
    return 0;
fail:
    if (r == -ENOMEM)
        log_error("out of memory");
    if (!d.q) {
        generation_free(g);
        d.gen = NULL;
    }
    begin_stop(&d, "start-up failed");
    uv_run(&d.loop, UV_RUN_DEFAULT);
    uv_loop_close(&d.loop);
    sched_free(d.sched);
    awsxml_cleanup();
    return r < 0 ? r : -EIO;
}
