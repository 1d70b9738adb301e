/* Helpers shared by the delivery tests (test-sink_*.c, it-delivery.c):
 * starting the loopback servers of tests/harness/ with the pyenv python,
 * reading their JSON-lines logs, a throwaway CA, and stored events made by
 * lib/events itself.  Header-only (static functions) because each test is
 * one program. */
#ifndef PLUMB_TESTS_SINKHARNESS_H
#define PLUMB_TESTS_SINKHARNESS_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "events.h"
#include "testutil.h"

/* The real interpreter behind the pyenv shim (the shim costs about a
 * second per start). */
static char sh_python[4096] = "python3";

static inline void sh_find_python(void)
{
    const char *argv[] = { "python3", "-c", "import sys; print(sys.executable)", NULL };
    char *out = NULL;
    if (tu_run(argv, NULL, &out, NULL) == 0 && out && out[0] == '/') {
        out[strcspn(out, "\n")] = '\0';
        snprintf(sh_python, sizeof(sh_python), "%s", out);
    }
    free(out);
}

struct sh_server {
    pid_t pid;
    int port;
    char *dir;
    char *log; /* the server's JSON-lines record */
};

/* Start tests/harness/<script> with --port-file and --log in a fresh temp
 * dir plus extra args (NULL-terminated), and wait for its port. */
static inline void sh_start(struct sh_server *s, const char *script, const char *const *extra)
{
    char *path, *portfile, *stderr_log;
    char rel[128];
    const char *argv[32];
    size_t n = 0;
    struct stat st;
    char *txt;

    memset(s, 0, sizeof(*s));
    snprintf(rel, sizeof(rel), "tests/harness/%s", script);
    path = tu_srcpath(rel);
    s->dir = tu_tmpdir();
    portfile = tu_path_join(s->dir, "port");
    stderr_log = tu_path_join(s->dir, "stderr.log");
    s->log = tu_path_join(s->dir, "records.jsonl");
    argv[n++] = sh_python;
    argv[n++] = path;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--log";
    argv[n++] = s->log;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = tu_spawn(argv, NULL, stderr_log);
    for (int i = 0; i < 1000 && stat(portfile, &st) < 0; i++) {
        ck_assert_msg(kill(s->pid, 0) == 0, "%s exited; see %s", script, stderr_log);
        usleep(10000);
    }
    txt = tu_read_file(portfile);
    ck_assert_msg(txt != NULL, "%s did not report its port (%s)", script, stderr_log);
    s->port = (int)strtol(txt, NULL, 10);
    free(txt);
    free(path);
    free(portfile);
    free(stderr_log);
}

static inline void sh_stop(struct sh_server *s)
{
    if (s->pid > 0)
        tu_stop(s->pid, 2000);
    s->pid = 0;
}

static inline void sh_cleanup(struct sh_server *s)
{
    sh_stop(s);
    if (s->dir)
        tu_rmrf(s->dir);
    free(s->dir);
    free(s->log);
    memset(s, 0, sizeof(*s));
}

/* Every record so far, as a JSON array (new reference). */
static inline json_t *sh_records(const struct sh_server *s)
{
    json_t *a = json_array();
    FILE *f = fopen(s->log, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f)
        return a;
    while (getline(&line, &cap, f) > 0) {
        json_error_t e;
        json_t *v = json_loads(line, 0, &e);
        ck_assert_msg(v != NULL, "bad record line: %s (%s)", line, e.text);
        json_array_append_new(a, v);
    }
    free(line);
    fclose(f);
    return a;
}

/* POST a mode to webhook_receiver.py with the curl tool (not the code
 * under test). */
static inline void sh_webhook_mode(const struct sh_server *s, const char *mode, int count,
                                   const char *cacert)
{
    char url[96], data[96];
    const char *argv[] = { "curl", "-sf",  "--cacert", cacert ? cacert : "/dev/null",
                           "-X",   "POST", "--data",   data,
                           url,    NULL };
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d/_ctl/mode", cacert ? "https" : "http", s->port);
    if (count > 0)
        snprintf(data, sizeof(data), "{\"mode\":\"%s\",\"count\":%d}", mode, count);
    else
        snprintf(data, sizeof(data), "{\"mode\":\"%s\"}", mode);
    ck_assert_int_eq(tu_run(argv, NULL, NULL, NULL), 0);
}

/* A throwaway CA in dir (tests/harness/make-ca.sh); skips without openssl. */
static inline void sh_make_ca(const char *dir)
{
    char *script = tu_srcpath("tests/harness/make-ca.sh");
    const char *argv[] = { "sh", script, dir, NULL };
    const char *which[] = { "sh", "-c", "command -v openssl", NULL };
    char *err = NULL;
    if (tu_run(which, NULL, NULL, NULL) != 0)
        tu_skip("the openssl command is not installed");
    ck_assert_msg(tu_run(argv, NULL, NULL, &err) == 0, "make-ca.sh failed: %s", err);
    free(err);
    free(script);
}

/* Stored events made by lib/events from hostile input: the payload text of
 * every event in a scratch database, keyed by kind. */
struct sh_events {
    char *dir;
    struct db *db;
};

static inline void sh_events_open(struct sh_events *e)
{
    struct perr err = { 0 };
    char *p;
    e->dir = tu_tmpdir();
    p = tu_path_join(e->dir, "ev.db");
    ck_assert_msg(db_open(p, DB_READWRITE, &e->db, &err) == 0, "%s", err.msg);
    free(p);
}

static inline void sh_events_close(struct sh_events *e)
{
    db_close(e->db);
    tu_rmrf(e->dir);
    free(e->dir);
}

struct sh_life {
    struct drift_item drift;
    struct finding_item finding;
    struct config_exception exc;
    size_t n_drift, n_finding;
    struct perr err;
};

static inline void sh_tx(struct sh_events *e, int64_t now, int (*fn)(struct events_ctx *, void *),
                         struct sh_life *arg, int64_t reminder_ms)
{
    static const struct event_sink sinks[] = { { "test", NULL, false } };
    struct events_ctx c = {
        .db = e->db,
        .now_ms = now,
        .sinks = sinks,
        .n_sinks = 1,
        .data_gap_after_ms = 1000,
        .reminder_ms = reminder_ms,
    };
    struct perr err = { 0 };
    ck_assert_int_eq(db_begin(e->db, &err), 0);
    ck_assert_msg(fn(&c, arg) == 0, "events at %lld: %s", (long long)now, arg->err.msg);
    ck_assert_int_eq(db_commit(e->db, &err), 0);
}

static inline int sh_do_drift(struct events_ctx *c, void *a)
{
    struct sh_life *l = a;
    return events_apply_drift(c, &l->drift, l->n_drift, &l->err);
}

static inline int sh_do_findings(struct events_ctx *c, void *a)
{
    struct sh_life *l = a;
    return events_apply_findings(c, &l->finding, l->n_finding, &l->err);
}

static inline int sh_do_gaps(struct events_ctx *c, void *a)
{
    struct sh_life *l = a;
    return events_apply_gaps(c, &l->err);
}

static inline int sh_do_remind(struct events_ctx *c, void *a)
{
    struct sh_life *l = a;
    return events_remind(c, &l->err);
}

static inline int sh_do_exceptions(struct events_ctx *c, void *a)
{
    struct sh_life *l = a;
    return events_sync_exceptions(c, &l->exc, 1, &l->err);
}

/* Run a whole lifecycle through lib/events for one resource named `id`
 * (any bytes lib/events accepts) with these tags, so that every event kind
 * is stored once: drift.opened/reminder/updated/resolved,
 * control.failed/reminder/resolved, data.gap/restored, exception.expired. */
static inline void sh_events_lifecycle(struct sh_events *e, const char *id, const json_t *tags)
{
    struct sh_life l = { 0 };
    char *key = str_printf("111111111111/eu-central-1/aws_s3_bucket/%s", id), sql[512];
    json_t *c1 = json_pack("[{s:s, s:s, s:s}]", "path", "versioning[0].status", "declared",
                           "Enabled", "live", "Suspended");
    json_t *c2 = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "path", "versioning[0].status",
                           "declared", "Enabled", "live", "Suspended", "path", "acl", "declared",
                           "private", "live", "public-read");
    json_t *nis2 = json_pack("[s, s]", "21.2.c", "21.2.h"), *dora = json_pack("[s]", "Art 9");
    struct perr err = { 0 };

    l.drift = (struct drift_item){
        .category = "changed",
        .resource_key = key,
        .type = "aws_s3_bucket",
        .id = id,
        .arn = "arn:aws:s3:::bucket",
        .account = "111111111111",
        .region = "eu-central-1",
        .address = "aws_s3_bucket.logs",
        .source = "main",
        .changes = c1,
        .tags = tags,
        .severity = SEVERITY_HIGH,
    };
    l.n_drift = 1;
    sh_tx(e, 1000, sh_do_drift, &l, 0);
    l.finding = (struct finding_item){
        .control = "S3.1",
        .title = "S3 bucket versioning enabled",
        .nis2 = nis2,
        .dora = dora,
        .resource_key = key,
        .type = "aws_s3_bucket",
        .id = id,
        .arn = "arn:aws:s3:::bucket",
        .account = "111111111111",
        .region = "eu-central-1",
        .status = "FAIL",
        .severity = SEVERITY_CRITICAL,
        .detail = id,
        .tags = tags,
    };
    l.n_finding = 1;
    sh_tx(e, 1000, sh_do_findings, &l, 0);
    sh_tx(e, 1500, sh_do_remind, &l, 100);
    l.drift.changes = c2;
    sh_tx(e, 2000, sh_do_drift, &l, 0);
    l.n_drift = 0;
    sh_tx(e, 3000, sh_do_drift, &l, 0);
    l.finding.status = "PASS";
    sh_tx(e, 3000, sh_do_findings, &l, 0);
    /* A data gap on a type named after the resource, then readable again. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO coverage (account, region, type, status, detail, checked_at, "
             "unknown_since) VALUES ('111111111111', 'eu-central-1', 'aws_s3_bucket', "
             "'access_denied', 's3:ListAllMyBuckets', 0, 0)");
    ck_assert_int_eq(db_exec(e->db, sql, &err), 0);
    sh_tx(e, 4000, sh_do_gaps, &l, 0);
    ck_assert_int_eq(
        db_exec(e->db, "UPDATE coverage SET status = 'ok', unknown_since = NULL", &err), 0);
    sh_tx(e, 5000, sh_do_gaps, &l, 0);
    l.exc = (struct config_exception){
        .name = (char *)id,
        .match = (char *)"aws_s3_bucket.logs",
        .reason = (char *)"legacy",
        .owner = (char *)"team <ops>",
        .expires_ms = 5500,
    };
    sh_tx(e, 6000, sh_do_exceptions, &l, 0);
    json_decref(c1);
    json_decref(c2);
    json_decref(nis2);
    json_decref(dora);
    free(key);
}

/* The dispatch_event of the newest stored event of `kind` (payload and doc
 * owned by the caller: free ev->payload, json_decref ev->doc). */
static inline struct dispatch_event sh_event_of(struct sh_events *e, const char *kind)
{
    struct dispatch_event ev = { 0 };
    sqlite3_stmt *st;
    json_error_t je;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(e->db),
                                        "SELECT seq, payload, created_at FROM events WHERE "
                                        "kind = ? ORDER BY seq DESC LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no %s event", kind);
    ev.seq = sqlite3_column_int64(st, 0);
    ev.payload = strdup((const char *)sqlite3_column_text(st, 1));
    ev.created_at = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    ev.doc = json_loads(ev.payload, 0, &je);
    ck_assert_msg(ev.doc != NULL, "%s", je.text);
    ev.id = json_string_value(json_object_get(ev.doc, "id"));
    ev.kind = json_string_value(json_object_get(ev.doc, "kind"));
    ev.dedupe_key = json_string_value(json_object_get(ev.doc, "dedupe_key"));
    ev.severity = json_string_value(json_object_get(ev.doc, "severity"));
    ev.resource_key =
        json_string_value(json_object_get(json_object_get(ev.doc, "resource"), "key"));
    ev.attempt = 1;
    return ev;
}

static inline void sh_event_free(struct dispatch_event *ev)
{
    free((char *)ev->payload);
    json_decref((json_t *)ev->doc);
    memset(ev, 0, sizeof(*ev));
}

/* A dispatcher on its own loop and dbq over the database at path, with a
 * simulated clock (sh_now) and a fixed random draw (sh_rnd). */
static int64_t sh_now = 1000000;
static uint64_t sh_rnd;

static inline int64_t sh_clock(void *ud)
{
    return sh_now;
}

static inline uint64_t sh_random(void *ud)
{
    return sh_rnd;
}

struct sh_dispatch {
    uv_loop_t loop;
    struct dbq *q;
    struct dispatch *d;
};

static inline void sh_dispatch_open(struct sh_dispatch *h, const char *dbpath)
{
    struct dispatch_options o = { .now_ms = sh_clock, .random = sh_random };
    struct perr err = { 0 };
    struct db *db = NULL;
    ck_assert_int_eq(uv_loop_init(&h->loop), 0);
    ck_assert_msg(db_open(dbpath, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dbq_new(&h->loop, db, &h->q), 0);
    ck_assert_msg(dispatch_new(&h->loop, h->q, &o, &h->d, &err) == 0, "%s", err.msg);
}

static inline void sh_dispatch_settle(struct sh_dispatch *h)
{
    dispatch_kick(h->d);
    while (!dispatch_idle(h->d))
        uv_run(&h->loop, UV_RUN_ONCE);
}

static inline void sh_set_true(void *ud)
{
    *(bool *)ud = true;
}

static inline void sh_dispatch_close(struct sh_dispatch *h)
{
    bool done = false, qdone = false;
    dispatch_close(h->d, sh_set_true, &done);
    while (!done)
        uv_run(&h->loop, UV_RUN_ONCE);
    dbq_close(h->q, sh_set_true, &qdone);
    while (!qdone)
        uv_run(&h->loop, UV_RUN_ONCE);
    uv_run(&h->loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(uv_loop_close(&h->loop), 0);
}

/* One delivery row as "state|attempts|last_error". */
static inline char *sh_delivery(struct db *db, int64_t seq, const char *sink)
{
    sqlite3_stmt *st;
    char *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
                                        "SELECT state || '|' || attempts || '|' || "
                                        "coalesce(last_error, '') FROM deliveries WHERE "
                                        "event_seq = ? AND sink = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    s = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return s;
}

#endif
