/* Event delivery end to end: events written by lib/events, the dispatcher
 * with the sinks of a real plumb.conf, tests/harness/webhook_receiver.py
 * (which verifies every signature and timestamp and records every request),
 * a simulated clock for hours of downtime, a real crash (SIGKILL) in the
 * middle of deliveries, and the plumb binary: `plumb events --failed` and
 * `plumb events --retry-failed`.
 *
 * Delivery is at-least-once: an event is sent again only when its earlier
 * attempt was not confirmed (an error, a timeout, a crash before the
 * outcome was written); receivers dedupe on the idempotency key. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "jsonutil.h"
#include "sinkharness.h"

struct it {
    char *dir;
    char *dbpath;
    char *confpath;
    char *secret;
    struct config *cfg;
    struct event_sink *sinks;
    size_t n_sinks;
    struct db *db; /* the test's own connection: writes events, reads state */
    int port;
};

static void it_open(struct it *t, int port, const char *webhook_extra)
{
    struct config_env env = { 0 };
    struct perr err = { 0 };
    char **errors = NULL;
    char *conf;

    memset(t, 0, sizeof(*t));
    t->port = port;
    t->dir = tu_tmpdir();
    t->dbpath = tu_path_join(t->dir, "plumb.db");
    t->confpath = tu_path_join(t->dir, "plumb.conf");
    t->secret = tu_path_join(t->dir, "hook.secret");
    tu_write_file(t->secret, "it-secret-\xf0\x9f\x94\x91\n");
    conf = str_printf("[plumb]\ndatabase = %s\n\n[events]\nretry_max_age = 1h\n\n"
                      "[journal]\nenabled = no\n\n"
                      "[webhook hook]\nurl = http://127.0.0.1:%d/hook\nsecret_file = %s\n%s",
                      t->dbpath, port, t->secret, webhook_extra ? webhook_extra : "timeout = 1s\n");
    tu_write_file(t->confpath, conf);
    free(conf);
    ck_assert_msg(config_load(t->confpath, &env, &t->cfg, &err, &errors) == 0, "%s",
                  errors ? errors[0] : err.msg);
    ck_assert_int_eq(dispatch_event_sinks(t->cfg, &t->sinks, &t->n_sinks), 0);
    ck_assert_uint_eq(t->n_sinks, 1);
    ck_assert_msg(db_open(t->dbpath, DB_READWRITE, &t->db, &err) == 0, "%s", err.msg);
}

static void it_close(struct it *t)
{
    db_close(t->db);
    dispatch_event_sinks_free(t->sinks, t->n_sinks);
    config_free(t->cfg);
    tu_rmrf(t->dir);
    free(t->dir);
    free(t->dbpath);
    free(t->confpath);
    free(t->secret);
}

/* Emit one event at the simulated now; returns its id (static buffer per
 * call site is not needed: copied into out). */
static void emit(struct it *t, const char *kind, const char *resource, char out[40])
{
    struct events_ctx c = {
        .db = t->db, .now_ms = sh_now, .sinks = t->sinks, .n_sinks = t->n_sinks
    };
    struct perr err = { 0 };
    char *dedupe = str_printf("drift:changed:%s", resource);
    char *summary = str_printf("%s %s", resource, kind);
    json_t *p = json_pack("{s:s, s:s, s:{s:s}}", "category", "changed", "summary", summary,
                          "resource", "key", resource);
    ck_assert_int_eq(db_begin(t->db, &err), 0);
    ck_assert_msg(events_emit(&c, kind, dedupe, SEVERITY_HIGH, "changed", resource, "111111111111",
                              "eu-west-1", NULL, p, out, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(db_commit(t->db, &err), 0);
    json_decref(p);
    free(dedupe);
    free(summary);
}

static void open_dispatch(struct it *t, struct sh_dispatch *h)
{
    struct perr err = { 0 };
    sh_dispatch_open(h, t->dbpath);
    ck_assert_msg(dispatch_open_configured(h->d, t->cfg, NULL, &err) == 0, "%s", err.msg);
}

static int64_t count(struct it *t, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(t->db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The earliest retry after the simulated now, 0 when none. */
static int64_t next_retry(struct it *t)
{
    sqlite3_stmt *st;
    int64_t n;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(t->db),
                                        "SELECT coalesce(min(next_attempt_at), 0) FROM "
                                        "deliveries WHERE state = 'pending' AND "
                                        "next_attempt_at > ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, sh_now);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Jump the simulated clock from retry to retry until done(t). */
static void run_until(struct sh_dispatch *h, bool (*done)(struct it *), struct it *t,
                      int max_rounds)
{
    for (int i = 0; i < max_rounds; i++) {
        int64_t next;
        sh_dispatch_settle(h);
        if (done(t))
            return;
        next = next_retry(t);
        ck_assert_msg(next > 0, "nothing left to retry");
        sh_now = next;
    }
    ck_abort_msg("not done after %d rounds", max_rounds);
}

static bool all_delivered(struct it *t)
{
    return count(t, "SELECT count(*) FROM deliveries WHERE state != 'delivered'") == 0;
}

static bool none_pending(struct it *t)
{
    return count(t, "SELECT count(*) FROM deliveries WHERE state = 'pending'") == 0;
}

static char *plumb_bin(void)
{
    return tu_buildpath("daemon/plumb");
}

/* Run plumb with --db and args; returns the exit status, output in *out. */
static int run_plumb(struct it *t, const char *const *args, char **out, char **err)
{
    const char *argv[16];
    char *bin = plumb_bin();
    size_t n = 0;
    int r;
    argv[n++] = bin;
    argv[n++] = "--db";
    argv[n++] = t->dbpath;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    r = tu_run(argv, NULL, out, err);
    free(bin);
    return r;
}

START_TEST(receiver_down_then_up)
{
    struct it t;
    struct sh_dispatch h;
    struct sh_server rx;
    char ids[7][40];
    const char *args[] = { "--secret-file", NULL, "--port", NULL, NULL };
    char portstr[16];
    int port = tu_free_port();
    json_t *recs, *rec;
    size_t i;

    sh_now = time_now_ms();
    it_open(&t, port, NULL);
    emit(&t, "drift.opened", "acct/eu-west-1/aws_s3_bucket/a", ids[0]);
    emit(&t, "drift.opened", "acct/eu-west-1/aws_s3_bucket/b", ids[1]);
    emit(&t, "drift.updated", "acct/eu-west-1/aws_s3_bucket/a", ids[2]);
    emit(&t, "drift.resolved", "acct/eu-west-1/aws_s3_bucket/b", ids[3]);
    emit(&t, "drift.resolved", "acct/eu-west-1/aws_s3_bucket/a", ids[4]);
    emit(&t, "drift.opened", "acct/eu-west-1/aws_s3_bucket/c", ids[5]);
    emit(&t, "drift.opened", "acct/eu-west-1/aws_s3_bucket/b", ids[6]);
    open_dispatch(&t, &h);

    /* Down for about 20 minutes of simulated time: connection refused. */
    {
        int64_t until = sh_now + 20 * 60 * 1000;
        while (sh_now < until) {
            sh_dispatch_settle(&h);
            ck_assert_int_gt(next_retry(&t), 0);
            sh_now = next_retry(&t);
        }
    }
    ck_assert_int_eq(count(&t, "SELECT count(*) FROM deliveries WHERE state = 'delivered'"), 0);
    ck_assert_int_eq(count(&t, "SELECT count(*) FROM deliveries WHERE attempts > 2"), 3);
    {
        char *row = sh_delivery(t.db, 1, "webhook:hook");
        ck_assert_msg(str_has_prefix(row, "pending|") && strstr(row, "127.0.0.1"), "%s", row);
        free(row);
    }

    /* Up again (on the same port): everything arrives. */
    snprintf(portstr, sizeof(portstr), "%d", port);
    args[1] = t.secret;
    args[3] = portstr;
    sh_start(&rx, "webhook_receiver.py", args);
    run_until(&h, all_delivered, &t, 200);
    sh_dispatch_close(&h);

    recs = sh_records(&rx);
    ck_assert_uint_eq(json_array_size(recs), 7);
    /* Each event once (no attempt reached the receiver and failed), all
     * signed correctly, in order per resource. */
    for (int k = 0; k < 7; k++) {
        size_t seen = 0;
        json_array_foreach (recs, i, rec)
            if (str_eq(json_string_value(json_object_get(rec, "idempotency_key")), ids[k]))
                seen++;
        ck_assert_msg(seen == 1, "event %d seen %zu times", k, seen);
    }
    {
        const char *order_a[] = { ids[0], ids[2], ids[4] }, *order_b[] = { ids[1], ids[3], ids[6] };
        size_t ka = 0, kb = 0;
        json_array_foreach (recs, i, rec) {
            const char *id = json_string_value(json_object_get(rec, "event_id"));
            ck_assert(json_is_true(json_object_get(rec, "signature_ok")));
            ck_assert(json_is_true(json_object_get(rec, "timestamp_ok")));
            if (ka < 3 && str_eq(id, order_a[ka]))
                ka++;
            else if (kb < 3 && str_eq(id, order_b[kb]))
                kb++;
            else
                ck_assert_str_eq(id, ids[5]);
        }
        ck_assert_uint_eq(ka, 3);
        ck_assert_uint_eq(kb, 3);
    }
    json_decref(recs);
    sh_cleanup(&rx);
    it_close(&t);
}
END_TEST

START_TEST(rejected_then_retry_failed)
{
    struct it t;
    struct sh_dispatch h;
    struct sh_server rx;
    char id[40], other[40];
    const char *args[] = { "--secret-file", NULL, "--mode", "400", "--count", "1", NULL };
    char *out = NULL, *errs = NULL;
    json_t *list;

    sh_now = time_now_ms();
    it_open(&t, 0, NULL);
    args[1] = t.secret;
    sh_start(&rx, "webhook_receiver.py", args);
    /* Point the configured webhook at the receiver's port. */
    it_close(&t);
    it_open(&t, rx.port, NULL);
    args[1] = t.secret;
    emit(&t, "drift.opened", "acct/eu-west-1/aws_s3_bucket/x", id);
    open_dispatch(&t, &h);
    sh_dispatch_settle(&h);
    /* 400: a dead letter at once. */
    {
        char *row = sh_delivery(t.db, 1, "webhook:hook");
        ck_assert_str_eq(row, "failed|1|HTTP 400: {\"error\":\"unknown field \\\"x\\\"\", "
                              "\"detail\":\"rejected\"}");
        free(row);
    }
    /* A later event of the same resource is not held back by it. */
    emit(&t, "drift.resolved", "acct/eu-west-1/aws_s3_bucket/x", other);
    sh_dispatch_settle(&h);
    ck_assert_int_eq(count(&t, "SELECT count(*) FROM deliveries WHERE state = 'delivered'"), 1);

    /* plumb events --failed shows it (JSON and table). */
    {
        const char *a[] = { "events", "--failed", "--output", "json", NULL };
        ck_assert_msg(run_plumb(&t, a, &out, &errs) == 0, "%s", errs);
        list = json_loads(out, 0, NULL);
        ck_assert_msg(list != NULL, "%s", out);
        ck_assert_uint_eq(json_array_size(list), 1);
        ck_assert_str_eq(json_string_value(json_path_get(list, "[0].id")), id);
        ck_assert_str_eq(json_string_value(json_path_get(list, "[0].kind")), "drift.opened");
        ck_assert_str_eq(json_string_value(json_path_get(list, "[0].resource.key")),
                         "acct/eu-west-1/aws_s3_bucket/x");
        ck_assert_str_eq(json_string_value(json_path_get(list, "[0].deliveries[0].sink")),
                         "webhook:hook");
        ck_assert_str_eq(json_string_value(json_path_get(list, "[0].deliveries[0].state")),
                         "failed");
        ck_assert_int_eq(json_integer_value(json_path_get(list, "[0].deliveries[0].attempts")), 1);
        ck_assert(str_has_prefix(
            json_string_value(json_path_get(list, "[0].deliveries[0].last_error")), "HTTP 400: "));
        json_decref(list);
        free(out);
        free(errs);
    }
    {
        const char *a[] = { "events", "--failed", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        ck_assert_msg(strstr(out, "LAST ERROR") && strstr(out, "HTTP 400") &&
                          strstr(out, "webhook:hook") && strstr(out, "drift.opened"),
                      "%s", out);
        free(out);
        free(errs);
    }
    /* All events: both, with their delivery states. */
    {
        const char *a[] = { "events", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        ck_assert_msg(strstr(out, "webhook:hook failed (1)") &&
                          strstr(out, "webhook:hook delivered"),
                      "%s", out);
        free(out);
        free(errs);
    }

    /* --retry-failed requeues it; the dispatcher delivers it. */
    {
        const char *a[] = { "events", "--retry-failed", "--sink", "webhook:hook", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        ck_assert_str_eq(out, "Requeued 1 dead letter for webhook:hook; plumbd sends it within "
                              "30 seconds.\n");
        free(out);
        free(errs);
    }
    sh_now = MAX(sh_now, time_now_ms());
    sh_dispatch_settle(&h);
    ck_assert(all_delivered(&t));
    {
        const char *a[] = { "events", "--failed", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        ck_assert_str_eq(out, "No dead letters.\n");
        free(out);
        free(errs);
    }
    {
        const char *a[] = { "events", "--retry-failed", "--output", "json", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        list = json_loads(out, 0, NULL);
        ck_assert_int_eq(json_integer_value(json_object_get(list, "requeued")), 0);
        json_decref(list);
        free(out);
        free(errs);
    }
    sh_dispatch_close(&h);
    /* The receiver saw the event twice (400, then accepted), same key. */
    {
        json_t *recs = sh_records(&rx);
        ck_assert_uint_eq(json_array_size(recs), 3);
        ck_assert_str_eq(json_string_value(json_path_get(recs, "[0].idempotency_key")), id);
        ck_assert_int_eq(json_integer_value(json_path_get(recs, "[0].status")), 400);
        ck_assert_str_eq(json_string_value(json_path_get(recs, "[1].idempotency_key")), other);
        ck_assert_str_eq(json_string_value(json_path_get(recs, "[2].idempotency_key")), id);
        ck_assert_int_eq(json_integer_value(json_path_get(recs, "[2].status")), 204);
        json_decref(recs);
    }
    sh_cleanup(&rx);
    it_close(&t);
}
END_TEST

START_TEST(errors_past_max_age)
{
    struct it t;
    struct sh_dispatch h;
    struct sh_server rx;
    char id[40];
    const char *args[] = { "--secret-file", NULL, "--mode", "500", NULL };
    int64_t created;
    char *out = NULL, *errs = NULL;

    sh_now = time_now_ms();
    created = sh_now;
    it_open(&t, 0, NULL);
    args[1] = t.secret;
    sh_start(&rx, "webhook_receiver.py", args);
    it_close(&t);
    it_open(&t, rx.port, "max_age = 1h\n");
    emit(&t, "control.failed", "acct/eu-west-1/aws_db_instance/db1", id);
    open_dispatch(&t, &h);
    sh_rnd = UINT64_MAX / 3;
    run_until(&h, none_pending, &t, 100);
    sh_dispatch_close(&h);
    {
        sqlite3_stmt *st;
        int64_t attempts;
        char want[160];
        ck_assert_int_eq(sqlite3_prepare_v2(db_handle(t.db),
                                            "SELECT state, attempts, last_error FROM deliveries",
                                            -1, &st, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "failed");
        attempts = sqlite3_column_int64(st, 1);
        snprintf(want, sizeof(want),
                 "gave up after %lld attempts (max_age 1h): HTTP 500: internal error stack "
                 "trace follows",
                 (long long)attempts);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), want);
        sqlite3_finalize(st);
        /* Every attempt reached the receiver, with the same key; the last
         * one exactly at the deadline. */
        {
            json_t *recs = sh_records(&rx), *rec;
            size_t i;
            ck_assert_int_eq((int64_t)json_array_size(recs), attempts);
            json_array_foreach (recs, i, rec) {
                ck_assert_str_eq(json_string_value(json_object_get(rec, "idempotency_key")), id);
                ck_assert(json_is_true(json_object_get(rec, "signature_ok")));
            }
            json_decref(recs);
        }
        ck_assert_int_ge(sh_now, created + 3600000);
        ck_assert_int_gt(attempts, 5);
    }
    {
        const char *a[] = { "events", "--failed", "--kind", "control.*", "-o", "json", NULL };
        json_t *list;
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        list = json_loads(out, 0, NULL);
        ck_assert_uint_eq(json_array_size(list), 1);
        ck_assert(
            str_has_prefix(json_string_value(json_path_get(list, "[0].deliveries[0].last_error")),
                           "gave up after "));
        json_decref(list);
        free(out);
        free(errs);
    }
    sh_cleanup(&rx);
    it_close(&t);
}
END_TEST

/* A child process delivers with the receiver hanging, and is killed with
 * SIGKILL while requests are in flight.  Nothing is lost: a new dispatcher
 * (a restart) delivers every event, the interrupted ones again. */
START_TEST(crash_loses_nothing)
{
    struct it t;
    struct sh_dispatch h;
    struct sh_server rx;
    char ids[6][40];
    const char *args[] = { "--secret-file", NULL, "--mode", "hang", "--hang", "30", NULL };
    pid_t child;
    int status;
    char res[32];

    sh_now = time_now_ms();
    it_open(&t, 0, NULL);
    args[1] = t.secret;
    sh_start(&rx, "webhook_receiver.py", args);
    it_close(&t);
    it_open(&t, rx.port, "timeout = 60s\n");
    for (int i = 0; i < 6; i++) {
        snprintf(res, sizeof(res), "acct/r/aws_vpc/vpc-%d", i);
        emit(&t, "drift.opened", res, ids[i]);
    }
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct sh_dispatch c;
        struct perr err = { 0 };
        sh_dispatch_open(&c, t.dbpath);
        if (dispatch_open_configured(c.d, t.cfg, NULL, &err) < 0)
            _exit(3);
        dispatch_kick(c.d);
        for (;;)
            uv_run(&c.loop, UV_RUN_DEFAULT);
    }
    /* Wait until the receiver holds four requests (the concurrency). */
    for (int i = 0; i < 1000; i++) {
        json_t *recs = sh_records(&rx);
        size_t n = json_array_size(recs);
        json_decref(recs);
        if (n >= 4)
            break;
        usleep(10000);
    }
    kill(child, SIGKILL);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFSIGNALED(status));
    /* Nothing was recorded as delivered or failed. */
    ck_assert_int_eq(count(&t, "SELECT count(*) FROM deliveries WHERE state = 'pending' AND "
                               "attempts = 0"),
                     6);
    sh_webhook_mode(&rx, "ok", 0, NULL);
    open_dispatch(&t, &h);
    sh_dispatch_settle(&h);
    ck_assert(all_delivered(&t));
    sh_dispatch_close(&h);
    {
        json_t *recs = sh_records(&rx), *rec;
        size_t i;
        ck_assert_uint_eq(json_array_size(recs), 4 + 6);
        for (int k = 0; k < 6; k++) {
            size_t ok = 0;
            json_array_foreach (recs, i, rec)
                if (str_eq(json_string_value(json_object_get(rec, "idempotency_key")), ids[k]) &&
                    json_integer_value(json_object_get(rec, "status")) == 204 &&
                    str_eq(json_string_value(json_object_get(rec, "mode")), "ok"))
                    ok++;
            ck_assert_msg(ok == 1, "event %d accepted %zu times", k, ok);
        }
        json_decref(recs);
    }
    sh_cleanup(&rx);
    it_close(&t);
}
END_TEST

START_TEST(cli_usage)
{
    struct it t;
    char *out = NULL, *errs = NULL;
    sh_now = time_now_ms();
    it_open(&t, 1, NULL);
    {
        const char *a[] = { "events", "--limit", "x", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 2);
        ck_assert_str_eq(errs, "plumb: --limit: expected a number up to 1000000, got 'x' (see "
                               "plumb events --help)\n");
        free(out);
        free(errs);
    }
    {
        const char *a[] = { "events", "--bogus", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 2);
        ck_assert_str_eq(errs, "plumb: unknown option '--bogus' (see plumb events --help)\n");
        free(out);
        free(errs);
    }
    {
        const char *a[] = { "events", "--kind", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 2);
        ck_assert_str_eq(errs, "plumb: option '--kind' needs a value (see plumb events --help)\n");
        free(out);
        free(errs);
    }
    {
        const char *a[] = { "events", "extra", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 2);
        ck_assert_str_eq(errs, "plumb: unexpected argument 'extra' (see plumb events --help)\n");
        free(out);
        free(errs);
    }
    {
        const char *a[] = { "events", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        ck_assert_str_eq(out, "No events.\n");
        free(out);
        free(errs);
    }
    {
        const char *a[] = { "events", "--since", "1h", "-o", "json", NULL };
        ck_assert_int_eq(run_plumb(&t, a, &out, &errs), 0);
        ck_assert_str_eq(out, "[]\n");
        free(out);
        free(errs);
    }
    it_close(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("it-delivery");
    TCase *tc = tcase_create("delivery");
    char *bin = plumb_bin();
    if (access(bin, X_OK) < 0)
        tu_skip("the plumb binary is not built");
    free(bin);
    sh_find_python();
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, receiver_down_then_up);
    tcase_add_test(tc, rejected_then_retry_failed);
    tcase_add_test(tc, errors_past_max_age);
    tcase_add_test(tc, crash_loses_nothing);
    tcase_add_test(tc, cli_usage);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
