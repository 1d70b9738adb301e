#include "dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink_journal.h"
#include "sink_syslog.h"
#include "sink_webhook.h"

struct dsink {
    char *name;
    const struct dispatch_sink_ops *ops;
    void *state;
    unsigned concurrency;
    int64_t max_age_ms;
    unsigned busy; /* calls in flight or having their outcome recorded */
    unsigned consecutive_failures;
};

struct dispatch_call {
    struct dispatch *d;
    struct dsink *sink;
    struct outbox_item item;
    json_t *doc;
    struct dispatch_event ev;
    void *data;
    bool in_send;
    bool reported;
    bool canceled;
    struct dispatch_result result; /* stashed when reported from inside send() */
    struct dispatch_call *prev, *next;
};

struct dispatch {
    uv_loop_t *loop;
    struct dbq *q;
    struct dispatch_options o;
    uv_timer_t timer;
    int64_t wakeup; /* dispatcher clock; 0 = timer not armed */
    struct dsink **sinks;
    size_t n_sinks;
    struct dispatch_call *calls; /* in flight or being recorded */
    unsigned jobs;               /* dbq jobs submitted and not done */
    bool fetching;
    bool fetch_again;
    bool closing;
    bool finishing; /* closing the sinks and the timer */
    size_t sinks_to_close;
    void (*close_done)(void *ud);
    void *close_ud;
    struct dispatch_stats stats;
};

static int64_t now_ms(struct dispatch *d)
{
    return d->o.now_ms ? d->o.now_ms(d->o.clock_ud) : time_now_ms();
}

static uint64_t rnd(struct dispatch *d)
{
    uint64_t v = 0;
    if (d->o.random)
        return d->o.random(d->o.clock_ud);
    /* Without randomness the delay is its floor; still correct. */
    if (random_bytes(&v, sizeof(v)) < 0)
        return 0;
    return v;
}

int64_t dispatch_backoff_ms(int64_t attempt, int64_t base_ms, int64_t max_ms, uint64_t r)
{
    int64_t cap = base_ms;
    if (base_ms <= 0)
        return 0;
    if (max_ms < base_ms)
        max_ms = base_ms;
    for (int64_t i = 1; i < attempt && cap < max_ms; i++)
        cap = cap > max_ms / 2 ? max_ms : cap * 2;
    if (cap > max_ms)
        cap = max_ms;
    return base_ms + (int64_t)(r % (uint64_t)(cap - base_ms + 1));
}

static void report_error(struct dispatch *d, const struct perr *err)
{
    if (d->o.on_error)
        d->o.on_error(d->o.ud, err);
}

/* ---- call lifecycle ---- */

const struct dispatch_event *dispatch_call_event(const struct dispatch_call *call)
{
    return &call->ev;
}

void dispatch_call_set_data(struct dispatch_call *call, void *data)
{
    call->data = data;
}

void *dispatch_call_data(const struct dispatch_call *call)
{
    return call->data;
}

static void call_free(struct dispatch_call *c)
{
    struct dispatch *d = c->d;
    if (c->prev)
        c->prev->next = c->next;
    else
        d->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->sink->busy--;
    d->stats.in_flight--;
    json_decref(c->doc);
    outbox_item_clear(&c->item);
    free(c);
}

static void schedule_fetch(struct dispatch *d);
static void maybe_finish_close(struct dispatch *d);

struct record_job {
    struct dispatch_call *call;
    enum outbox_state state;
    int64_t at;
    char error[OUTBOX_MAX_ERROR + 128];
    struct perr err;
};

static int record_work(struct db *db, void *ud)
{
    struct record_job *j = ud;
    struct dispatch_call *c = j->call;
    int r = outbox_record(db, c->item.seq, c->item.sink, j->state, j->at,
                          j->state == OUTBOX_DELIVERED ? NULL : j->error, &j->err);
    return r < 0 ? r : 0;
}

static void record_done(int result, void *ud)
{
    struct record_job *j = ud;
    struct dispatch_call *c = j->call;
    struct dispatch *d = c->d;

    d->jobs--;
    if (result < 0) {
        if (result == -ECANCELED)
            perr_set(&j->err, result, "%s: outcome of event %s not recorded (shutting down)",
                     c->item.sink, c->item.id);
        else
            perr_prefix(&j->err, "%s: recording event %s: ", c->item.sink, c->item.id);
        report_error(d, &j->err);
    } else {
        if (j->state == OUTBOX_DELIVERED)
            d->stats.delivered++;
        else if (j->state == OUTBOX_RETRY)
            d->stats.retried++;
        else
            d->stats.failed++;
        if (d->o.on_outcome)
            d->o.on_outcome(d->o.ud, c->item.sink, &c->ev, j->state,
                            j->state == OUTBOX_RETRY ? j->at : 0,
                            j->state == OUTBOX_DELIVERED ? NULL : j->error);
    }
    call_free(c);
    free(j);
    if (d->closing)
        maybe_finish_close(d);
    else
        schedule_fetch(d);
}

/* Turn a sink's result into the state to write. */
static void decide(struct dispatch *d, struct dispatch_call *c, const struct dispatch_result *res,
                   struct record_job *j)
{
    struct dsink *s = c->sink;
    int64_t now = now_ms(d);
    const char *error = res->error[0] ? res->error : "unknown error";

    switch (res->status) {
    case DISPATCH_DELIVERED:
        s->consecutive_failures = 0;
        j->state = OUTBOX_DELIVERED;
        j->at = now;
        return;
    case DISPATCH_REJECTED:
        j->state = OUTBOX_FAILED;
        j->at = now;
        snprintf(j->error, sizeof(j->error), "%s", error);
        return;
    default: break;
    }
    if (s->consecutive_failures < UINT32_MAX)
        s->consecutive_failures++;
    if (now - c->item.created_at >= s->max_age_ms) {
        char age[32];
        format_duration_ms(s->max_age_ms, age, sizeof(age));
        j->state = OUTBOX_FAILED;
        j->at = now;
        snprintf(j->error, sizeof(j->error), "gave up after %lld attempts (max_age %s): %s",
                 (long long)c->ev.attempt, age, error);
    } else {
        int64_t delay =
            dispatch_backoff_ms(c->ev.attempt, d->o.backoff_base_ms, d->o.backoff_max_ms, rnd(d));
        int64_t deadline = c->item.created_at + s->max_age_ms;
        if (res->retry_after_ms > delay)
            delay = MIN(res->retry_after_ms, d->o.backoff_max_ms * 4);
        j->state = OUTBOX_RETRY;
        /* One last attempt at the deadline rather than none. */
        j->at = MIN(now + delay, deadline);
        snprintf(j->error, sizeof(j->error), "%s", error);
    }
}

static void finish_call(struct dispatch_call *c, const struct dispatch_result *res)
{
    struct dispatch *d = c->d;
    struct record_job *j;
    int r;

    if (res->status == DISPATCH_CANCELED) {
        call_free(c);
        if (d->closing)
            maybe_finish_close(d);
        else
            schedule_fetch(d);
        return;
    }
    j = calloc(1, sizeof(*j));
    if (!j) {
        struct perr err;
        perr_set(&err, -ENOMEM, "%s: out of memory recording event %s", c->item.sink, c->item.id);
        report_error(d, &err);
        call_free(c);
        if (d->closing)
            maybe_finish_close(d);
        return;
    }
    j->call = c;
    decide(d, c, res, j);
    r = dbq_submit(d->q, record_work, record_done, j);
    if (r < 0) {
        struct perr err;
        perr_set(&err, r, "%s: outcome of event %s not recorded: %s", c->item.sink, c->item.id,
                 strerror(-r));
        report_error(d, &err);
        free(j);
        call_free(c);
        if (d->closing)
            maybe_finish_close(d);
        return;
    }
    d->jobs++;
}

void dispatch_call_done(struct dispatch_call *c, const struct dispatch_result *res)
{
    if (c->reported)
        return;
    c->reported = true;
    if (c->in_send) {
        c->result = *res;
        return;
    }
    finish_call(c, res);
}

static void start_call(struct dispatch *d, struct dsink *s, struct outbox_item *item)
{
    struct dispatch_call *c = calloc(1, sizeof(*c));
    struct dispatch_result res = { .status = DISPATCH_RETRY };
    struct perr err = { 0 };
    json_error_t jerr;
    int r;

    if (!c) {
        perr_set(&err, -ENOMEM, "%s: out of memory starting event %s", s->name, item->id);
        report_error(d, &err);
        return;
    }
    c->d = d;
    c->sink = s;
    c->item = *item;
    memset(item, 0, sizeof(*item));
    c->next = d->calls;
    if (d->calls)
        d->calls->prev = c;
    d->calls = c;
    s->busy++;
    d->stats.in_flight++;
    c->ev = (struct dispatch_event){
        .seq = c->item.seq,
        .id = c->item.id,
        .kind = c->item.kind,
        .dedupe_key = c->item.dedupe_key,
        .severity = c->item.severity,
        .resource_key = c->item.resource_key,
        .payload = c->item.payload,
        .created_at = c->item.created_at,
        .attempt = c->item.attempts + 1,
    };
    c->doc = json_loads(c->item.payload ? c->item.payload : "", 0, &jerr);
    if (!c->doc || !json_is_object(c->doc)) {
        /* A stored event that is not a JSON object can never be sent. */
        c->reported = true;
        res.status = DISPATCH_REJECTED;
        snprintf(res.error, sizeof(res.error), "stored event is not a JSON object: %s",
                 c->doc ? "wrong type" : jerr.text);
        finish_call(c, &res);
        return;
    }
    c->ev.doc = c->doc;
    c->in_send = true;
    r = s->ops->send(s->state, c, &err);
    c->in_send = false;
    if (r < 0) {
        c->reported = true;
        res.status =
            (r == -EINVAL || r == -E2BIG || r == -EMSGSIZE) ? DISPATCH_REJECTED : DISPATCH_RETRY;
        snprintf(res.error, sizeof(res.error), "%s", err.msg[0] ? err.msg : strerror(-r));
        finish_call(c, &res);
    } else if (c->reported) {
        finish_call(c, &c->result);
    }
}

static bool call_exists(struct dispatch *d, const struct dsink *s, int64_t seq)
{
    for (struct dispatch_call *c = d->calls; c; c = c->next)
        if (c->sink == s && c->item.seq == seq)
            return true;
    return false;
}

static unsigned capacity(const struct dsink *s)
{
    unsigned limit = s->consecutive_failures >= DISPATCH_PROBE_AFTER ? 1 : s->concurrency;
    return s->busy >= limit ? 0 : limit - s->busy;
}

/* ---- fetching due deliveries ---- */

struct fetch_sink {
    struct dsink *sink;
    const char *name;
    size_t limit;
    struct outbox_item *items;
    size_t n_items;
};

struct fetch_job {
    struct dispatch *d;
    int64_t now;
    size_t n;
    struct fetch_sink *sinks;
    const char **names;
    int64_t next_due;
    struct perr err;
};

static void fetch_job_free(struct fetch_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        outbox_items_free(j->sinks[i].items, j->sinks[i].n_items);
    free(j->sinks);
    free(j->names);
    free(j);
}

static int fetch_work(struct db *db, void *ud)
{
    struct fetch_job *j = ud;
    for (size_t i = 0; i < j->n; i++) {
        struct fetch_sink *f = &j->sinks[i];
        int r = outbox_due(db, f->name, j->now, f->limit, &f->items, &f->n_items, &j->err);
        if (r < 0)
            return r;
    }
    return outbox_next_due(db, j->names, j->now, &j->next_due, &j->err);
}

static void on_timer(uv_timer_t *t)
{
    struct dispatch *d = t->data;
    d->wakeup = 0;
    schedule_fetch(d);
}

static void arm_timer(struct dispatch *d, int64_t now, int64_t next_due)
{
    int64_t delay = d->o.poll_ms;
    if (next_due > 0)
        delay = MAX(0, MIN(next_due - now, d->o.poll_ms));
    d->wakeup = now + delay;
    uv_timer_start(&d->timer, on_timer, (uint64_t)delay, 0);
}

static void fetch_done(int result, void *ud)
{
    struct fetch_job *j = ud;
    struct dispatch *d = j->d;

    d->jobs--;
    d->fetching = false;
    if (result < 0 && result != -ECANCELED) {
        perr_prefix(&j->err, "outbox: ");
        report_error(d, &j->err);
    }
    if (!d->closing && result == 0) {
        for (size_t i = 0; i < j->n; i++) {
            struct fetch_sink *f = &j->sinks[i];
            for (size_t k = 0; k < f->n_items; k++) {
                if (capacity(f->sink) == 0)
                    break;
                if (call_exists(d, f->sink, f->items[k].seq))
                    continue;
                start_call(d, f->sink, &f->items[k]);
            }
        }
    }
    if (d->closing) {
        fetch_job_free(j);
        maybe_finish_close(d);
        return;
    }
    /* After a failed read, look again at the next poll. */
    arm_timer(d, now_ms(d), result == 0 ? j->next_due : 0);
    fetch_job_free(j);
    if (d->fetch_again) {
        d->fetch_again = false;
        schedule_fetch(d);
    }
}

static void schedule_fetch(struct dispatch *d)
{
    struct fetch_job *j;
    size_t k = 0;
    int r;

    if (d->closing)
        return;
    if (d->fetching) {
        d->fetch_again = true;
        return;
    }
    j = calloc(1, sizeof(*j));
    if (!j)
        goto oom;
    j->d = d;
    j->now = now_ms(d);
    j->sinks = calloc(d->n_sinks ? d->n_sinks : 1, sizeof(*j->sinks));
    j->names = calloc(d->n_sinks + 1, sizeof(*j->names));
    if (!j->sinks || !j->names)
        goto oom;
    for (size_t i = 0; i < d->n_sinks; i++) {
        struct dsink *s = d->sinks[i];
        unsigned cap = capacity(s);
        j->names[i] = s->name;
        if (cap == 0)
            continue;
        /* Calls in flight are still pending in the database: ask for
         * enough rows to skip them. */
        j->sinks[k++] = (struct fetch_sink){ .sink = s, .name = s->name, .limit = cap + s->busy };
    }
    j->n = k;
    r = dbq_submit(d->q, fetch_work, fetch_done, j);
    if (r < 0) {
        struct perr err;
        perr_set(&err, r, "outbox: cannot queue a read: %s", strerror(-r));
        report_error(d, &err);
        fetch_job_free(j);
        arm_timer(d, now_ms(d), 0);
        return;
    }
    d->jobs++;
    d->fetching = true;
    return;
oom:
    if (j)
        fetch_job_free(j);
    {
        struct perr err;
        perr_set(&err, -ENOMEM, "outbox: out of memory");
        report_error(d, &err);
    }
    arm_timer(d, now_ms(d), 0);
}

void dispatch_kick(struct dispatch *d)
{
    schedule_fetch(d);
}

/* ---- setup and teardown ---- */

int dispatch_new(uv_loop_t *loop, struct dbq *q, const struct dispatch_options *opts,
                 struct dispatch **ret, struct perr *err)
{
    struct dispatch *d;
    int r;

    if (!loop || !q)
        return perr_set(err, -EINVAL, "dispatch: loop and database queue are required");
    d = calloc(1, sizeof(*d));
    if (!d)
        return perr_set(err, -ENOMEM, "out of memory");
    if (opts)
        d->o = *opts;
    if (d->o.backoff_base_ms <= 0)
        d->o.backoff_base_ms = DISPATCH_BACKOFF_BASE_MS;
    if (d->o.backoff_max_ms <= 0)
        d->o.backoff_max_ms = DISPATCH_BACKOFF_MAX_MS;
    if (d->o.backoff_max_ms < d->o.backoff_base_ms)
        d->o.backoff_max_ms = d->o.backoff_base_ms;
    if (d->o.poll_ms <= 0)
        d->o.poll_ms = DISPATCH_POLL_MS;
    d->loop = loop;
    d->q = q;
    r = uv_timer_init(loop, &d->timer);
    if (r < 0) {
        free(d);
        return perr_set(err, -EIO, "dispatch: timer: %s", uv_strerror(r));
    }
    d->timer.data = d;
    *ret = d;
    return 0;
}

int dispatch_add_sink(struct dispatch *d, const char *name, const struct dispatch_sink_ops *ops,
                      void *sink, unsigned concurrency, int64_t max_age_ms, struct perr *err)
{
    struct dsink *s, **v;

    if (d->closing)
        return perr_set(err, -ESHUTDOWN, "dispatch: closing");
    if (!name || !*name || !ops || !ops->send || !ops->cancel || !ops->close || concurrency == 0 ||
        max_age_ms <= 0)
        return perr_set(err, -EINVAL, "dispatch: sink %s: bad arguments", name ? name : "(null)");
    for (size_t i = 0; i < d->n_sinks; i++)
        if (str_eq(d->sinks[i]->name, name))
            return perr_set(err, -EEXIST, "dispatch: sink %s is registered twice", name);
    s = calloc(1, sizeof(*s));
    v = realloc(d->sinks, (d->n_sinks + 1) * sizeof(*v));
    if (v)
        d->sinks = v;
    if (!s || !v || !(s->name = strdup(name))) {
        free(s);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    s->ops = ops;
    s->state = sink;
    s->concurrency = concurrency;
    s->max_age_ms = max_age_ms;
    d->sinks[d->n_sinks++] = s;
    return 0;
}

bool dispatch_idle(const struct dispatch *d)
{
    return d->jobs == 0 && !d->calls;
}

int64_t dispatch_next_wakeup(const struct dispatch *d)
{
    return d->wakeup;
}

void dispatch_get_stats(const struct dispatch *d, struct dispatch_stats *ret)
{
    *ret = d->stats;
    ret->db_jobs = d->jobs;
}

static void timer_closed(uv_handle_t *h)
{
    struct dispatch *d = h->data;
    void (*done)(void *) = d->close_done;
    void *ud = d->close_ud;
    free(d);
    if (done)
        done(ud);
}

static void sink_closed(void *ud)
{
    struct dsink *s = ud;
    s->state = NULL;
    s->ops = NULL;
}

static void all_sinks_closed(struct dispatch *d)
{
    for (size_t i = 0; i < d->n_sinks; i++) {
        free(d->sinks[i]->name);
        free(d->sinks[i]);
    }
    free(d->sinks);
    d->sinks = NULL;
    d->n_sinks = 0;
    uv_close((uv_handle_t *)&d->timer, timer_closed);
}

struct close_wait {
    struct dispatch *d;
    struct dsink *s;
};

static void one_sink_closed(void *ud)
{
    struct close_wait *w = ud;
    struct dispatch *d = w->d;
    sink_closed(w->s);
    free(w);
    if (--d->sinks_to_close == 0)
        all_sinks_closed(d);
}

static void maybe_finish_close(struct dispatch *d)
{
    size_t n;
    if (!d->closing || d->finishing || d->jobs > 0 || d->calls)
        return;
    d->finishing = true;
    n = d->n_sinks;
    if (n == 0) {
        all_sinks_closed(d);
        return;
    }
    /* Count first: a sink may report closed synchronously. */
    d->sinks_to_close = n + 1;
    for (size_t i = 0; i < n; i++) {
        struct dsink *s = d->sinks[i];
        struct close_wait *w = calloc(1, sizeof(*w));
        if (!w) {
            /* Cannot wait for it: leak the sink rather than hang. */
            d->sinks_to_close--;
            continue;
        }
        w->d = d;
        w->s = s;
        s->ops->close(s->state, one_sink_closed, w);
    }
    if (--d->sinks_to_close == 0)
        all_sinks_closed(d);
}

void dispatch_close(struct dispatch *d, void (*done)(void *ud), void *ud)
{
    struct dispatch_call *c, *next;
    if (d->closing)
        return;
    d->closing = true;
    d->close_done = done;
    d->close_ud = ud;
    uv_timer_stop(&d->timer);
    d->wakeup = 0;
    /* cancel() may report synchronously and free the call. */
    for (c = d->calls; c; c = next) {
        next = c->next;
        if (!c->reported && !c->canceled) {
            c->canceled = true;
            c->sink->ops->cancel(c->sink->state, c);
        }
    }
    maybe_finish_close(d);
}

/* ---- configured sinks ---- */

static const struct config_webhook *find_webhook(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_webhooks; i++)
        if (str_eq(cfg->webhooks[i].name, name))
            return &cfg->webhooks[i];
    return NULL;
}

static int open_webhook(struct dispatch *d, const char *name, const struct config *cfg,
                        const struct dispatch_env *env, struct perr *err)
{
    const struct config_webhook *w = find_webhook(cfg, name + strlen("webhook:"));
    struct sink_webhook_options o = { .hostname = env ? env->hostname : NULL };
    struct sink_webhook *s = NULL;
    int r;

    if (!w)
        return perr_set(err, -ENOENT, "sink %s: no [webhook %s] section", name,
                        name + strlen("webhook:"));
    r = sink_webhook_new(d->loop, w, &o, &s, err);
    if (r < 0)
        return r;
    r = dispatch_add_sink(d, name, &sink_webhook_ops, s, DISPATCH_WEBHOOK_CONCURRENCY,
                          w->max_age_ms > 0 ? w->max_age_ms : cfg->retry_max_age_ms, err);
    if (r < 0)
        sink_webhook_ops.close(s, NULL, NULL);
    return r;
}

static int open_journal(struct dispatch *d, const char *name, const struct config *cfg,
                        const struct dispatch_env *env, struct perr *err)
{
    struct sink_journal *s = NULL;
    int r;
    if (!cfg->journal.enabled)
        return perr_set(err, -ENOENT, "sink journal: [journal] is disabled");
    r = sink_journal_new(d->loop, NULL, &s, err);
    if (r < 0)
        return r;
    r = dispatch_add_sink(d, name, &sink_journal_ops, s, 1, cfg->retry_max_age_ms, err);
    if (r < 0)
        sink_journal_ops.close(s, NULL, NULL);
    return r;
}

static int open_syslog(struct dispatch *d, const char *name, const struct config *cfg,
                       const struct dispatch_env *env, struct perr *err)
{
    struct sink_syslog_options o = { 0 };
    struct sink_syslog *s = NULL;
    int r;
    if (!cfg->syslog.enabled)
        return perr_set(err, -ENOENT, "sink syslog: no [syslog] section");
    o.hostname = env ? env->hostname : NULL;
    o.local_path = env ? env->syslog_path : NULL;
    r = sink_syslog_new(d->loop, &cfg->syslog, &o, &s, err);
    if (r < 0)
        return r;
    r = dispatch_add_sink(d, name, &sink_syslog_ops, s, 1, cfg->retry_max_age_ms, err);
    if (r < 0)
        sink_syslog_ops.close(s, NULL, NULL);
    return r;
}

/* Drivers by sink name: a prefix ending in ':' takes a section name after
 * it, anything else must match exactly. */
static const struct driver {
    const char *prefix;
    int (*open)(struct dispatch *d, const char *name, const struct config *cfg,
                const struct dispatch_env *env, struct perr *err);
} drivers[] = {
    { "webhook:", open_webhook },
    { "journal", open_journal },
    { "syslog", open_syslog },
};

int dispatch_open_sink(struct dispatch *d, const char *name, const struct config *cfg,
                       const struct dispatch_env *env, struct perr *err)
{
    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
        const char *p = drivers[i].prefix;
        bool prefix = str_has_suffix(p, ":");
        if (prefix ? (str_has_prefix(name, p) && name[strlen(p)]) : str_eq(name, p))
            return drivers[i].open(d, name, cfg, env, err);
    }
    return perr_set(err, -ENOENT, "sink %s: no delivery driver for this name", name);
}

int dispatch_open_configured(struct dispatch *d, const struct config *cfg,
                             const struct dispatch_env *env, struct perr *err)
{
    struct event_sink *sinks = NULL;
    size_t n = 0;
    int r = dispatch_event_sinks(cfg, &sinks, &n);
    if (r < 0)
        return perr_set(err, r, "out of memory");
    for (size_t i = 0; r == 0 && i < n; i++)
        if (!sinks[i].digest)
            r = dispatch_open_sink(d, sinks[i].name, cfg, env, err);
    dispatch_event_sinks_free(sinks, n);
    return r;
}

int dispatch_event_sinks(const struct config *cfg, struct event_sink **ret, size_t *ret_n)
{
    size_t cap = cfg->n_webhooks + cfg->n_digests + 2, n = 0;
    struct event_sink *v = calloc(cap, sizeof(*v));
    char *name;

    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        if (!(name = str_printf("webhook:%s", cfg->webhooks[i].name)))
            goto oom;
        v[n++] = (struct event_sink){ name, &cfg->webhooks[i].filter, false };
    }
    if (cfg->journal.enabled) {
        if (!(name = strdup("journal")))
            goto oom;
        v[n++] = (struct event_sink){ name, &cfg->journal.filter, false };
    }
    if (cfg->syslog.enabled) {
        if (!(name = strdup("syslog")))
            goto oom;
        v[n++] = (struct event_sink){ name, &cfg->syslog.filter, false };
    }
    for (size_t i = 0; i < cfg->n_digests; i++) {
        if (!(name = str_printf("digest:%s", cfg->digests[i].name)))
            goto oom;
        v[n++] = (struct event_sink){ name, NULL, true };
    }
    *ret = v;
    *ret_n = n;
    return 0;
oom:
    dispatch_event_sinks_free(v, n);
    return -ENOMEM;
}

void dispatch_event_sinks_free(struct event_sink *sinks, size_t n)
{
    for (size_t i = 0; sinks && i < n; i++)
        free((char *)sinks[i].name);
    free(sinks);
}
