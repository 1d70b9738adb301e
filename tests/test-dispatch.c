/* lib/dispatch with a fake sink driver on a real libuv loop, a real dbq and
 * a real database, and a simulated clock: order per dedupe key, bounded
 * concurrency, backoff, max_age dead letters, permanent failures, probe
 * mode, cancellation on close, the driver table and the event sink list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "events.h"
#include "testutil.h"

/* ---- simulated clock ---- */

static int64_t sim_now;
static uint64_t sim_rnd;

static int64_t sim_clock(void *ud)
{
    return sim_now;
}

static uint64_t sim_random(void *ud)
{
    return sim_rnd;
}

/* ---- a fake sink ---- */

#define FAKE_MAX 256

struct fake {
    uv_loop_t *loop;
    bool hold;                 /* keep calls until the test releases them */
    bool sync;                 /* report from inside send() */
    int send_error;            /* send() fails with this */
    enum dispatch_status dflt; /* outcome when not holding */
    int64_t retry_after_ms;
    const char *error;
    struct dispatch_call *held[FAKE_MAX];
    size_t n_held;
    int64_t sent[FAKE_MAX]; /* seq of every send, in order */
    int64_t sent_at[FAKE_MAX];
    size_t n_sent;
    unsigned in_flight, max_in_flight;
    int canceled;
    bool closed;
};

struct fcall {
    uv_timer_t t;
    struct fake *f;
    struct dispatch_call *call;
    struct dispatch_result res;
};

static void fcall_closed(uv_handle_t *h)
{
    free(h->data);
}

static void fcall_fire(uv_timer_t *t)
{
    struct fcall *c = t->data;
    c->f->in_flight--;
    dispatch_call_done(c->call, &c->res);
    uv_close((uv_handle_t *)&c->t, fcall_closed);
}

/* Report res for call on a later loop iteration. */
static void report_later(struct fake *f, struct dispatch_call *call, enum dispatch_status st)
{
    struct fcall *c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    c->f = f;
    c->call = call;
    c->res.status = st;
    c->res.retry_after_ms = f->retry_after_ms;
    snprintf(c->res.error, sizeof(c->res.error), "%s", f->error ? f->error : "fake failure");
    uv_timer_init(f->loop, &c->t);
    c->t.data = c;
    uv_timer_start(&c->t, fcall_fire, 0, 0);
}

static int fake_send(void *sink, struct dispatch_call *call, struct perr *err)
{
    struct fake *f = sink;
    const struct dispatch_event *ev = dispatch_call_event(call);
    ck_assert_ptr_nonnull(ev->doc);
    ck_assert_str_eq(json_string_value(json_object_get(ev->doc, "id")), ev->id);
    if (f->send_error)
        return perr_set(err, f->send_error, "fake send error %d", f->send_error);
    ck_assert_uint_lt(f->n_sent, FAKE_MAX);
    f->sent_at[f->n_sent] = sim_now;
    f->sent[f->n_sent++] = ev->seq;
    if (f->sync) {
        struct dispatch_result res = { .status = f->dflt };
        snprintf(res.error, sizeof(res.error), "sync");
        dispatch_call_done(call, &res);
        return 0;
    }
    f->in_flight++;
    if (f->in_flight > f->max_in_flight)
        f->max_in_flight = f->in_flight;
    if (f->hold) {
        f->held[f->n_held++] = call;
        return 0;
    }
    report_later(f, call, f->dflt);
    return 0;
}

static void fake_cancel(void *sink, struct dispatch_call *call)
{
    struct fake *f = sink;
    for (size_t i = 0; i < f->n_held; i++)
        if (f->held[i] == call) {
            f->held[i] = f->held[--f->n_held];
            f->canceled++;
            report_later(f, call, DISPATCH_CANCELED);
            return;
        }
}

static void fake_close(void *sink, void (*closed)(void *ud), void *ud)
{
    struct fake *f = sink;
    f->closed = true;
    closed(ud);
}

static const struct dispatch_sink_ops fake_ops = { fake_send, fake_cancel, fake_close };

/* Release the held call of event seq with st. */
static void release(struct fake *f, int64_t seq, enum dispatch_status st)
{
    for (size_t i = 0; i < f->n_held; i++)
        if (dispatch_call_event(f->held[i])->seq == seq) {
            struct dispatch_call *c = f->held[i];
            f->held[i] = f->held[--f->n_held];
            report_later(f, c, st);
            return;
        }
    ck_abort_msg("event %lld is not held", (long long)seq);
}

/* ---- fixture ---- */

static char *tmp, *dbpath;
static uv_loop_t loop;
static struct dbq *q;
static struct db *rdb; /* a second connection for the test's own reads */
static struct dispatch *d;
static struct fake fake;
static int outcomes, db_errors;
static char last_outcome_error[OUTBOX_MAX_ERROR + 64];

static void on_outcome(void *ud, const char *sink, const struct dispatch_event *ev,
                       enum outbox_state st, int64_t next, const char *error)
{
    outcomes++;
    snprintf(last_outcome_error, sizeof(last_outcome_error), "%s", error ? error : "");
}

static void on_error(void *ud, const struct perr *err)
{
    db_errors++;
}

static void new_dispatch(void)
{
    struct dispatch_options o = {
        .now_ms = sim_clock,
        .random = sim_random,
        .on_outcome = on_outcome,
        .on_error = on_error,
    };
    struct perr err = { 0 };
    ck_assert_msg(dispatch_new(&loop, q, &o, &d, &err) == 0, "%s", err.msg);
}

static void setup(void)
{
    struct perr err = { 0 };
    struct db *wdb = NULL;
    tmp = tu_tmpdir();
    dbpath = tu_path_join(tmp, "d.db");
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_msg(db_open(dbpath, DB_READWRITE, &wdb, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dbq_new(&loop, wdb, &q), 0);
    ck_assert_msg(db_open(dbpath, DB_READWRITE, &rdb, &err) == 0, "%s", err.msg);
    memset(&fake, 0, sizeof(fake));
    fake.loop = &loop;
    fake.dflt = DISPATCH_DELIVERED;
    sim_now = 1000000;
    sim_rnd = 0;
    outcomes = db_errors = 0;
    new_dispatch();
}

static bool closed_flag;
static void on_closed(void *ud)
{
    *(bool *)ud = true;
}

static void close_dispatch(void)
{
    bool done = false;
    if (!d)
        return;
    dispatch_close(d, on_closed, &done);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    d = NULL;
}

static void teardown(void)
{
    close_dispatch();
    closed_flag = false;
    dbq_close(q, on_closed, &closed_flag);
    while (!closed_flag)
        uv_run(&loop, UV_RUN_ONCE);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    db_close(rdb);
    tu_rmrf(tmp);
    free(tmp);
    free(dbpath);
}

static void add_fake(unsigned concurrency, int64_t max_age_ms)
{
    struct perr err = { 0 };
    ck_assert_msg(dispatch_add_sink(d, "fake", &fake_ops, &fake, concurrency, max_age_ms, &err) ==
                      0,
                  "%s", err.msg);
}

/* Run the loop until the dispatcher has nothing to do. */
static void settle(void)
{
    while (!dispatch_idle(d))
        uv_run(&loop, UV_RUN_ONCE);
}

/* Kick and settle, with calls held by the fake sink: run until no job is
 * left and every call in flight is held. */
static void settle_held(void)
{
    for (int i = 0; i < 10000; i++) {
        struct dispatch_stats st;
        dispatch_get_stats(d, &st);
        if (st.in_flight == fake.n_held && st.db_jobs == 0)
            return;
        uv_run(&loop, UV_RUN_ONCE);
    }
    ck_abort_msg("dispatcher did not settle");
}

static int64_t emit(int64_t now, const char *kind, const char *dedupe, const char *resource_key)
{
    static const struct event_sink sinks[] = { { "fake", NULL, false } };
    struct events_ctx c = { .db = rdb, .now_ms = now, .sinks = sinks, .n_sinks = 1 };
    struct perr err = { 0 };
    json_t *p = json_pack("{s:s, s:s}", "category", "changed", "summary", "something");
    ck_assert_msg(events_emit(&c, kind, dedupe, SEVERITY_HIGH, "changed", resource_key, "1", "r",
                              NULL, p, NULL, &err) == 0,
                  "%s", err.msg);
    json_decref(p);
    return sqlite3_last_insert_rowid(db_handle(rdb));
}

struct row {
    char state[16];
    int64_t attempts;
    int64_t next;
    int64_t delivered_at;
    char error[OUTBOX_MAX_ERROR + 1];
};

static struct row row_of(int64_t seq)
{
    struct row r = { 0 };
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(rdb),
                                        "SELECT state, attempts, next_attempt_at, "
                                        "coalesce(delivered_at, 0), coalesce(last_error, '') "
                                        "FROM deliveries WHERE event_seq = ? AND sink = 'fake'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, seq);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(r.state, sizeof(r.state), "%s", sqlite3_column_text(st, 0));
    r.attempts = sqlite3_column_int64(st, 1);
    r.next = sqlite3_column_int64(st, 2);
    r.delivered_at = sqlite3_column_int64(st, 3);
    snprintf(r.error, sizeof(r.error), "%s", sqlite3_column_text(st, 4));
    sqlite3_finalize(st);
    return r;
}

/* ---- tests ---- */

START_TEST(backoff_bounds)
{
    const int64_t base = 5000, max = 900000;
    /* The first retry waits exactly the base; each later one at most twice
     * as long as the one before, never more than max, never less than base. */
    ck_assert_int_eq(dispatch_backoff_ms(1, base, max, 0), base);
    ck_assert_int_eq(dispatch_backoff_ms(1, base, max, UINT64_MAX), base);
    for (int64_t a = 1; a <= 80; a++) {
        int64_t cap = base;
        for (int64_t i = 1; i < a && cap < max; i++)
            cap *= 2;
        if (cap > max)
            cap = max;
        ck_assert_int_eq(dispatch_backoff_ms(a, base, max, 0), base);
        /* r = cap - base is the largest draw. */
        ck_assert_int_eq(dispatch_backoff_ms(a, base, max, (uint64_t)(cap - base)), cap);
        ck_assert_int_eq(dispatch_backoff_ms(a, base, max, (uint64_t)(cap - base + 1)), base);
        for (uint64_t r = 0; r < 2000; r += 37) {
            int64_t v = dispatch_backoff_ms(a, base, max, r * 104729u);
            ck_assert_int_ge(v, base);
            ck_assert_int_le(v, cap);
        }
    }
    ck_assert_int_eq(dispatch_backoff_ms(3, base, max, 3), base + 3);
    ck_assert_int_eq(dispatch_backoff_ms(INT64_MAX, base, max, UINT64_MAX - 1),
                     base + (int64_t)((UINT64_MAX - 1) % (uint64_t)(max - base + 1)));
    /* Degenerate settings. */
    ck_assert_int_eq(dispatch_backoff_ms(5, 0, 0, 7), 0);
    ck_assert_int_eq(dispatch_backoff_ms(5, 100, 10, 7), 100);
}
END_TEST

START_TEST(delivers_everything_once)
{
    int64_t seqs[5];
    struct dispatch_stats st;
    char key[32];

    add_fake(4, 3600000);
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "drift:changed:k%d", i);
        seqs[i] = emit(sim_now - 10, "drift.opened", key, key + 14);
    }
    dispatch_kick(d);
    settle();
    ck_assert_uint_eq(fake.n_sent, 5);
    for (int i = 0; i < 5; i++) {
        struct row r = row_of(seqs[i]);
        ck_assert_str_eq(r.state, "delivered");
        ck_assert_int_eq(r.attempts, 1);
        ck_assert_int_eq(r.delivered_at, sim_now);
        ck_assert_str_eq(r.error, "");
    }
    dispatch_get_stats(d, &st);
    ck_assert_uint_eq(st.delivered, 5);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_int_eq(outcomes, 5);
    /* Nothing more to do: a second kick sends nothing again. */
    dispatch_kick(d);
    settle();
    ck_assert_uint_eq(fake.n_sent, 5);
    /* The timer polls (nothing is due). */
    ck_assert_int_eq(dispatch_next_wakeup(d), sim_now + DISPATCH_POLL_MS);
    ck_assert_int_eq(db_errors, 0);
}
END_TEST

START_TEST(in_order_per_key)
{
    int64_t a1, b, a2, c;

    add_fake(4, 3600000);
    fake.hold = true;
    a1 = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    b = emit(sim_now, "drift.opened", "drift:changed:B", "B");
    a2 = emit(sim_now, "drift.resolved", "drift:changed:A", "A");
    /* Another key, same resource: also waits for a1. */
    c = emit(sim_now, "control.failed", "control:X.1:A", "A");
    dispatch_kick(d);
    settle_held();
    ck_assert_uint_eq(fake.n_sent, 2);
    ck_assert_int_eq(fake.sent[0], a1);
    ck_assert_int_eq(fake.sent[1], b);
    /* Releasing b changes nothing for A. */
    release(&fake, b, DISPATCH_DELIVERED);
    settle_held();
    ck_assert_uint_eq(fake.n_sent, 2);
    /* a1 done: a2 goes; c still waits for a2 (same resource). */
    release(&fake, a1, DISPATCH_DELIVERED);
    settle_held();
    ck_assert_uint_eq(fake.n_sent, 3);
    ck_assert_int_eq(fake.sent[2], a2);
    /* a2 is dead-lettered: c is no longer held back. */
    release(&fake, a2, DISPATCH_REJECTED);
    settle_held();
    ck_assert_uint_eq(fake.n_sent, 4);
    ck_assert_int_eq(fake.sent[3], c);
    release(&fake, c, DISPATCH_DELIVERED);
    settle();
    ck_assert_str_eq(row_of(a2).state, "failed");
    ck_assert_str_eq(row_of(c).state, "delivered");
}
END_TEST

START_TEST(bounded_concurrency)
{
    int64_t seqs[10];
    char key[32];

    add_fake(3, 3600000);
    fake.hold = true;
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "drift:changed:k%d", i);
        seqs[i] = emit(sim_now, "drift.opened", key, key + 14);
    }
    dispatch_kick(d);
    settle_held();
    ck_assert_uint_eq(fake.n_held, 3);
    /* A kick while full starts nothing. */
    dispatch_kick(d);
    settle_held();
    ck_assert_uint_eq(fake.n_sent, 3);
    /* Each release lets exactly one more in, in event order. */
    for (int i = 0; i < 7; i++) {
        release(&fake, fake.sent[i], DISPATCH_DELIVERED);
        settle_held();
        ck_assert_uint_eq(fake.n_sent, (size_t)(4 + i));
        ck_assert_int_eq(fake.sent[3 + i], seqs[3 + i]);
        ck_assert_uint_eq(fake.n_held, 3);
    }
    while (fake.n_held)
        release(&fake, dispatch_call_event(fake.held[0])->seq, DISPATCH_DELIVERED);
    settle();
    ck_assert_uint_eq(fake.max_in_flight, 3);
    for (int i = 0; i < 10; i++)
        ck_assert_str_eq(row_of(seqs[i]).state, "delivered");
}
END_TEST

START_TEST(retry_with_backoff_then_deliver)
{
    int64_t a, t0 = sim_now;
    struct row r;

    add_fake(4, 3600000);
    a = emit(t0, "drift.opened", "drift:changed:A", "A");
    fake.dflt = DISPATCH_RETRY;
    fake.error = "HTTP 503: busy";
    sim_rnd = 12345;
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_str_eq(r.state, "pending");
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_int_eq(r.next, t0 + dispatch_backoff_ms(1, DISPATCH_BACKOFF_BASE_MS,
                                                      DISPATCH_BACKOFF_MAX_MS, 12345));
    ck_assert_str_eq(r.error, "HTTP 503: busy");
    ck_assert_str_eq(last_outcome_error, "HTTP 503: busy");
    /* The timer is armed for the retry. */
    ck_assert_int_eq(dispatch_next_wakeup(d), r.next);
    /* Not due yet: a kick does not resend. */
    sim_now = r.next - 1;
    dispatch_kick(d);
    settle();
    ck_assert_uint_eq(fake.n_sent, 1);
    /* Second failure: the backoff grows. */
    sim_now = r.next;
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_int_eq(r.attempts, 2);
    ck_assert_int_eq(r.next, sim_now + dispatch_backoff_ms(2, DISPATCH_BACKOFF_BASE_MS,
                                                           DISPATCH_BACKOFF_MAX_MS, 12345));
    /* Retry-After wins when longer. */
    fake.retry_after_ms = 600000;
    sim_now = r.next;
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_int_eq(r.attempts, 3);
    ck_assert_int_eq(r.next, sim_now + 600000);
    /* Then it works. */
    fake.dflt = DISPATCH_DELIVERED;
    sim_now = r.next;
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_str_eq(r.state, "delivered");
    ck_assert_int_eq(r.attempts, 4);
    ck_assert_str_eq(r.error, "");
    ck_assert_uint_eq(fake.n_sent, 4);
}
END_TEST

START_TEST(max_age_dead_letter)
{
    const int64_t max_age = 3600000, t0 = sim_now;
    int64_t a;
    struct row r;
    int rounds = 0;

    add_fake(4, max_age);
    a = emit(t0, "drift.opened", "drift:changed:A", "A");
    fake.dflt = DISPATCH_RETRY;
    fake.error = "HTTP 500";
    sim_rnd = UINT64_MAX; /* long delays */
    dispatch_kick(d);
    settle();
    /* Hours of downtime, simulated: jump to each retry. */
    for (r = row_of(a); str_eq(r.state, "pending"); r = row_of(a)) {
        ck_assert_int_gt(r.next, sim_now);
        ck_assert_int_le(r.next, t0 + max_age);
        sim_now = r.next;
        dispatch_kick(d);
        settle();
        ck_assert_int_lt(++rounds, 100);
    }
    ck_assert_str_eq(r.state, "failed");
    /* The last attempt was made exactly at the deadline. */
    ck_assert_int_eq(fake.sent_at[fake.n_sent - 1], t0 + max_age);
    ck_assert_int_eq(r.attempts, (int64_t)fake.n_sent);
    {
        char want[128];
        snprintf(want, sizeof(want), "gave up after %lld attempts (max_age 1h): HTTP 500",
                 (long long)r.attempts);
        ck_assert_str_eq(r.error, want);
    }
    /* A dead letter is never tried again. */
    sim_now += 10 * max_age;
    dispatch_kick(d);
    settle();
    ck_assert_int_eq(r.attempts, (int64_t)fake.n_sent);
}
END_TEST

START_TEST(rejected_is_dead_at_once)
{
    int64_t a;
    struct row r;
    struct dispatch_stats st;

    add_fake(4, 3600000);
    a = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    fake.dflt = DISPATCH_REJECTED;
    fake.error = "HTTP 400: bad payload";
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_str_eq(r.error, "HTTP 400: bad payload");
    dispatch_get_stats(d, &st);
    ck_assert_uint_eq(st.failed, 1);
}
END_TEST

START_TEST(send_errors)
{
    int64_t a, b;
    struct row r;

    add_fake(4, 3600000);
    /* An event the sink cannot render is a dead letter... */
    fake.send_error = -EINVAL;
    a = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_str_eq(r.error, "fake send error -22");
    /* ...anything else is retried. */
    fake.send_error = -EIO;
    b = emit(sim_now, "drift.opened", "drift:changed:B", "B");
    dispatch_kick(d);
    settle();
    r = row_of(b);
    ck_assert_str_eq(r.state, "pending");
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_str_eq(r.error, "fake send error -5");
}
END_TEST

START_TEST(broken_payload_is_dead)
{
    int64_t a = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    char sql[96];
    struct perr err = { 0 };
    struct row r;

    snprintf(sql, sizeof(sql), "UPDATE events SET payload = '[1' WHERE seq = %lld", (long long)a);
    ck_assert_int_eq(db_exec(rdb, sql, &err), 0);
    add_fake(4, 3600000);
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_msg(str_has_prefix(r.error, "stored event is not a JSON object: "), "%s", r.error);
    ck_assert_uint_eq(fake.n_sent, 0);
}
END_TEST

START_TEST(invalid_utf8_payload_is_dead)
{
    /* lib/events cannot store invalid UTF-8 (jansson refuses it), but a
     * damaged row must not be sent or retried forever either. */
    int64_t a = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    sqlite3_stmt *st;
    struct row r;

    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(rdb),
                                        "UPDATE events SET payload = ? WHERE seq = ?", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, "{\"id\":\"x\",\"summary\":\"\xff\xfe\"}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    add_fake(4, 3600000);
    dispatch_kick(d);
    settle();
    r = row_of(a);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_msg(str_has_prefix(r.error, "stored event is not a JSON object: ") &&
                      strstr(r.error, "unable to decode byte 0xff"),
                  "%s", r.error);
    ck_assert_uint_eq(fake.n_sent, 0);
}
END_TEST

START_TEST(sync_report)
{
    int64_t a;
    add_fake(4, 3600000);
    fake.sync = true;
    a = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    dispatch_kick(d);
    settle();
    ck_assert_str_eq(row_of(a).state, "delivered");
}
END_TEST

START_TEST(probe_mode_after_failures)
{
    int64_t seqs[8];
    char key[32];

    add_fake(4, 3600000);
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "drift:changed:k%d", i);
        seqs[i] = emit(sim_now, "drift.opened", key, key + 14);
    }
    fake.hold = true;
    dispatch_kick(d);
    settle_held();
    ck_assert_uint_eq(fake.n_held, 4);
    /* Three transient failures in a row... */
    for (int i = 0; i < DISPATCH_PROBE_AFTER; i++)
        release(&fake, seqs[i], DISPATCH_RETRY);
    settle_held();
    /* ...and only one call is let through at a time: the one still held
     * from before, so nothing new starts. */
    ck_assert_uint_eq(fake.n_held, 1);
    ck_assert_uint_eq(fake.n_sent, 4);
    release(&fake, seqs[3], DISPATCH_RETRY);
    settle_held();
    ck_assert_uint_eq(fake.n_held, 1);
    ck_assert_uint_eq(fake.n_sent, 5);
    ck_assert_int_eq(fake.sent[4], seqs[4]);
    /* One success restores full concurrency. */
    release(&fake, seqs[4], DISPATCH_DELIVERED);
    settle_held();
    ck_assert_uint_eq(fake.n_held, 3);
    ck_assert_uint_eq(fake.n_sent, 8);
    while (fake.n_held)
        release(&fake, dispatch_call_event(fake.held[0])->seq, DISPATCH_DELIVERED);
    settle();
}
END_TEST

START_TEST(close_cancels_and_keeps_pending)
{
    int64_t a, b;
    struct perr err = { 0 };

    add_fake(4, 3600000);
    fake.hold = true;
    a = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    b = emit(sim_now, "drift.opened", "drift:changed:B", "B");
    dispatch_kick(d);
    settle_held();
    ck_assert_uint_eq(fake.n_held, 2);
    close_dispatch();
    ck_assert_int_eq(fake.canceled, 2);
    ck_assert(fake.closed);
    /* Nothing was recorded: both are still pending, attempts untouched. */
    ck_assert_str_eq(row_of(a).state, "pending");
    ck_assert_int_eq(row_of(a).attempts, 0);
    ck_assert_int_eq(row_of(b).attempts, 0);
    /* A new dispatcher (a restart) delivers them. */
    memset(&fake, 0, sizeof(fake));
    fake.loop = &loop;
    fake.dflt = DISPATCH_DELIVERED;
    new_dispatch();
    add_fake(4, 3600000);
    dispatch_kick(d);
    settle();
    ck_assert_str_eq(row_of(a).state, "delivered");
    ck_assert_str_eq(row_of(b).state, "delivered");
    ck_assert_uint_eq(fake.n_sent, 2);
    /* Adding a sink while closing is refused. */
    dispatch_close(d, NULL, NULL);
    ck_assert_int_eq(dispatch_add_sink(d, "other", &fake_ops, &fake, 1, 1, &err), -ESHUTDOWN);
    while (!fake.closed)
        uv_run(&loop, UV_RUN_ONCE);
    d = NULL;
}
END_TEST

START_TEST(close_waits_for_recording)
{
    int64_t a;
    add_fake(4, 3600000);
    a = emit(sim_now, "drift.opened", "drift:changed:A", "A");
    dispatch_kick(d);
    /* Run until the call was reported and its outcome is being written. */
    while (fake.n_sent == 0 || fake.in_flight > 0)
        uv_run(&loop, UV_RUN_ONCE);
    close_dispatch();
    ck_assert_str_eq(row_of(a).state, "delivered");
}
END_TEST

START_TEST(real_timer_wakes_up)
{
    /* Real clock, tiny backoff: the dispatcher retries on its own timer
     * without any kick. */
    struct dispatch_options o = { .backoff_base_ms = 10, .backoff_max_ms = 20, .poll_ms = 50 };
    struct perr err = { 0 };
    int64_t a;

    close_dispatch();
    ck_assert_int_eq(dispatch_new(&loop, q, &o, &d, &err), 0);
    add_fake(1, 3600000);
    fake.dflt = DISPATCH_RETRY;
    a = emit(time_now_ms(), "drift.opened", "drift:changed:A", "A");
    dispatch_kick(d);
    while (fake.n_sent < 3)
        uv_run(&loop, UV_RUN_ONCE);
    fake.dflt = DISPATCH_DELIVERED;
    while (!str_eq(row_of(a).state, "delivered"))
        uv_run(&loop, UV_RUN_ONCE);
    ck_assert_int_eq(row_of(a).attempts, (int64_t)fake.n_sent);
}
END_TEST

START_TEST(add_sink_errors)
{
    struct perr err = { 0 };
    add_fake(1, 1000);
    ck_assert_int_eq(dispatch_add_sink(d, "fake", &fake_ops, &fake, 1, 1000, &err), -EEXIST);
    ck_assert_str_eq(err.msg, "dispatch: sink fake is registered twice");
    ck_assert_int_eq(dispatch_add_sink(d, "x", &fake_ops, &fake, 0, 1000, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "dispatch: sink x: bad arguments");
    ck_assert_int_eq(dispatch_add_sink(d, "x", &fake_ops, &fake, 1, 0, &err), -EINVAL);
    ck_assert_int_eq(dispatch_add_sink(d, "", &fake_ops, &fake, 1, 1, &err), -EINVAL);
    ck_assert_int_eq(dispatch_add_sink(d, "x", NULL, &fake, 1, 1, &err), -EINVAL);
    ck_assert_int_eq(dispatch_new(NULL, q, NULL, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "dispatch: loop and database queue are required");
}
END_TEST

static struct config *load(const char *text)
{
    struct config *cfg = NULL;
    struct config_env env = { 0 };
    struct perr err = { 0 };
    char **errors = NULL;
    int r = config_load_string("test.conf", text, &env, &cfg, &err, &errors);
    ck_assert_msg(r == 0, "%s", errors && errors[0] ? errors[0] : err.msg);
    strv_free(errors);
    return cfg;
}

START_TEST(configured_sinks)
{
    char *secret = tu_path_join(tmp, "secret");
    char *text;
    struct config *cfg;
    struct event_sink *sinks = NULL;
    size_t n = 0;
    struct perr err = { 0 };

    tu_write_file(secret, "s3cret\n");
    text = str_printf("[webhook oncall]\nurl = https://hooks.example.com/x\nsecret_file = %s\n"
                      "min_severity = high\n"
                      "[webhook slack]\nurl = http://127.0.0.1:9/x\nformat = slack\n"
                      "secret_file = %s\n"
                      "[syslog]\ntarget = tcp://127.0.0.1:6514\nkinds = drift.*\n",
                      secret, secret);
    cfg = load(text);
    ck_assert_int_eq(dispatch_event_sinks(cfg, &sinks, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(sinks[0].name, "webhook:oncall");
    ck_assert_ptr_eq(sinks[0].filter, &cfg->webhooks[0].filter);
    ck_assert_int_eq(sinks[0].filter->min_severity, SEVERITY_HIGH);
    ck_assert_str_eq(sinks[1].name, "webhook:slack");
    ck_assert_str_eq(sinks[2].name, "journal");
    ck_assert_str_eq(sinks[3].name, "syslog");
    ck_assert_str_eq(sinks[3].filter->kinds[0], "drift.*");
    ck_assert(!sinks[3].digest);
    dispatch_event_sinks_free(sinks, n);

    ck_assert_msg(dispatch_open_configured(d, cfg, NULL, &err) == 0, "%s", err.msg);
    /* Opening one again is refused. */
    ck_assert_int_eq(dispatch_open_sink(d, "webhook:oncall", cfg, NULL, &err), -EEXIST);
    ck_assert_int_eq(dispatch_open_sink(d, "webhook:nope", cfg, NULL, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "sink webhook:nope: no [webhook nope] section");
    ck_assert_int_eq(dispatch_open_sink(d, "digest:weekly", cfg, NULL, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "sink digest:weekly: no delivery driver for this name");
    ck_assert_int_eq(dispatch_open_sink(d, "webhook:", cfg, NULL, &err), -ENOENT);
    ck_assert_int_eq(dispatch_open_sink(d, "journalx", cfg, NULL, &err), -ENOENT);
    config_free(cfg);
    free(text);

    /* Journal off, no syslog section. */
    cfg = load("[journal]\nenabled = no\n");
    ck_assert_int_eq(dispatch_event_sinks(cfg, &sinks, &n), 0);
    ck_assert_uint_eq(n, 0);
    dispatch_event_sinks_free(sinks, n);
    ck_assert_int_eq(dispatch_open_sink(d, "syslog", cfg, NULL, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "sink syslog: no [syslog] section");
    config_free(cfg);
    free(secret);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, backoff_bounds);
    tcase_add_test(tc, delivers_everything_once);
    tcase_add_test(tc, in_order_per_key);
    tcase_add_test(tc, bounded_concurrency);
    tcase_add_test(tc, retry_with_backoff_then_deliver);
    tcase_add_test(tc, max_age_dead_letter);
    tcase_add_test(tc, rejected_is_dead_at_once);
    tcase_add_test(tc, send_errors);
    tcase_add_test(tc, broken_payload_is_dead);
    tcase_add_test(tc, invalid_utf8_payload_is_dead);
    tcase_add_test(tc, sync_report);
    tcase_add_test(tc, probe_mode_after_failures);
    tcase_add_test(tc, close_cancels_and_keeps_pending);
    tcase_add_test(tc, close_waits_for_recording);
    tcase_add_test(tc, real_timer_wakes_up);
    tcase_add_test(tc, add_sink_errors);
    tcase_add_test(tc, configured_sinks);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
