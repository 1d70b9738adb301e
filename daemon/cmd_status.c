#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void usage(void)
{
    printf("Usage: plumb status [--output table|json]\n"
           "\n"
           "Daemon state (read from the database: no socket needed), the last cycle of each\n"
           "collector with its figures, open drift and findings, state sources, coverage gaps\n"
           "and the event outbox (backlog and dead letters).\n");
}

/* Run a "SELECT key, count" query into a JSON object of counts. */
static int counts(struct db *db, const char *sql, json_t *into, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db, sql, err);
    int rc;
    if (!st)
        return err->code;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        if (k && json_object_set_new(into, k, json_integer(sqlite3_column_int64(st, 1))) < 0) {
            sqlite3_reset(st);
            return -ENOMEM;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "status");
}

static json_t *daemon_info(struct db *db, struct perr *err)
{
    char *state = NULL, *pid = NULL, *hb = NULL;
    int64_t state_at = 0, hb_at = 0, dummy = 0;
    bool running = false;
    json_t *o = NULL;
    char at[32] = "", hbs[32] = "";

    if (db_state_get(db, "state", &state, &state_at, err) < 0 ||
        db_state_get(db, "pid", &pid, &dummy, err) < 0 ||
        db_state_get(db, "heartbeat", &hb, &hb_at, err) < 0)
        goto out;
    if (str_eq(state, "running") && pid) {
        int64_t p = 0;
        /* The database says running; check the process is still there. */
        if (parse_int64(pid, &p) == 0 && p > 0 && (kill((pid_t)p, 0) == 0 || errno == EPERM))
            running = true;
    }
    if (state_at)
        time_format_iso8601(state_at, at, sizeof(at));
    if (hb_at)
        time_format_iso8601(hb_at, hbs, sizeof(hbs));
    o = json_pack("{s:s, s:b, s:s?, s:s?, s:s?}", "state",
                  !state                     ? "never started"
                  : running                  ? "running"
                  : str_eq(state, "running") ? "not running (crashed or killed?)"
                                             : state,
                  "running", running, "pid", pid, "since", state_at ? at : NULL, "heartbeat",
                  hb_at ? hbs : NULL);
out:
    free(state);
    free(pid);
    free(hb);
    return o;
}

static json_t *collectors(struct db *db, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(
        db,
        "SELECT collector, id, started_at, finished_at, status, api_calls, throttled, errors, "
        "resources_seen, versions_written, tombstones FROM cycles WHERE id IN (SELECT max(id) "
        "FROM cycles GROUP BY collector) ORDER BY collector",
        err);
    json_t *a = json_array();
    int rc;
    if (!st || !a) {
        json_decref(a);
        return NULL;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char started[32], finished[32] = "";
        json_t *o;
        time_format_iso8601(sqlite3_column_int64(st, 2), started, sizeof(started));
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            time_format_iso8601(sqlite3_column_int64(st, 3), finished, sizeof(finished));
        o = json_pack("{s:s, s:I, s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "collector",
                      sqlite3_column_text(st, 0), "cycle", sqlite3_column_int64(st, 1),
                      "started_at", started, "finished_at", finished[0] ? finished : NULL, "status",
                      sqlite3_column_text(st, 4), "api_calls", sqlite3_column_int64(st, 5),
                      "throttled", sqlite3_column_int64(st, 6), "errors",
                      sqlite3_column_int64(st, 7), "resources_seen", sqlite3_column_int64(st, 8),
                      "versions_written", sqlite3_column_int64(st, 9), "tombstones",
                      sqlite3_column_int64(st, 10));
        if (!o || json_array_append_new(a, o) < 0) {
            sqlite3_reset(st);
            json_decref(a);
            return NULL;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        db_fail(db, rc, err, "cycles");
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *states(struct db *db, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db,
                               "SELECT s.name, s.location, s.status, s.error, s.serial, "
                               "s.fetched_at, (SELECT count(*) FROM declared d WHERE d.source = "
                               "s.name AND d.mode = 'managed') FROM state_sources s ORDER BY name",
                               err);
    json_t *a = json_array();
    int rc;
    if (!st || !a) {
        json_decref(a);
        return NULL;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char fetched[32] = "";
        json_t *o;
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            time_format_iso8601(sqlite3_column_int64(st, 5), fetched, sizeof(fetched));
        o = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:s?, s:I}", "name", sqlite3_column_text(st, 0),
                      "location", sqlite3_column_text(st, 1), "status", sqlite3_column_text(st, 2),
                      "error", sqlite3_column_text(st, 3), "serial", sqlite3_column_int64(st, 4),
                      "fetched_at", fetched[0] ? fetched : NULL, "resources",
                      sqlite3_column_int64(st, 6));
        if (!o || json_array_append_new(a, o) < 0) {
            sqlite3_reset(st);
            json_decref(a);
            return NULL;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        db_fail(db, rc, err, "state_sources");
        json_decref(a);
        return NULL;
    }
    return a;
}

static int64_t get_count(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void print_text(const struct cli *cli, json_t *s)
{
    json_t *d = json_object_get(s, "daemon"), *drift = json_object_get(s, "drift");
    json_t *f = json_object_get(s, "findings"), *ob = json_object_get(s, "outbox");
    json_t *cols = json_object_get(s, "collectors"), *sts = json_object_get(s, "states");
    int64_t now = time_now_ms(), hb = 0;
    char age[48] = "";
    size_t i;
    json_t *v;

    if (json_string_value(json_object_get(d, "heartbeat")) &&
        time_parse_iso8601(json_string_value(json_object_get(d, "heartbeat")), &hb) == 0)
        cli_format_age(now, hb, age, sizeof(age));
    if (json_is_true(json_object_get(d, "running")))
        printf("daemon:   running (pid %s)\n", json_string_value(json_object_get(d, "pid")));
    else
        printf("daemon:   %s\n", json_string_value(json_object_get(d, "state")));
    if (age[0])
        printf("          last heartbeat %s\n", age);
    printf("drift:    %lld open (%lld changed, %lld missing, %lld unmanaged, %lld conflict)\n",
           (long long)get_count(drift, "total"), (long long)get_count(drift, "changed"),
           (long long)get_count(drift, "missing"), (long long)get_count(drift, "unmanaged"),
           (long long)get_count(drift, "conflict"));
    printf("findings: %lld failing, %lld unknown, %lld passing\n", (long long)get_count(f, "FAIL"),
           (long long)get_count(f, "UNKNOWN"), (long long)get_count(f, "PASS"));
    printf("coverage: %lld type/region scopes unreadable (UNKNOWN)\n",
           (long long)get_count(json_object_get(s, "coverage"), "unknown"));
    printf("outbox:   %lld pending, %lld dead letters (plumb events --failed), %lld delivered\n",
           (long long)get_count(ob, "pending"), (long long)get_count(ob, "failed"),
           (long long)get_count(ob, "delivered"));
    if (json_array_size(sts) > 0) {
        printf("\nstate sources:\n");
        json_array_foreach (sts, i, v) {
            printf("  %-16s %-8s %lld resources  %s%s%s\n",
                   json_string_value(json_object_get(v, "name")),
                   json_string_value(json_object_get(v, "status")),
                   (long long)get_count(v, "resources"),
                   json_string_value(json_object_get(v, "location")),
                   json_object_get(v, "error") ? ": " : "",
                   json_object_get(v, "error") ? json_string_value(json_object_get(v, "error"))
                                               : "");
        }
    }
    if (json_array_size(cols) > 0) {
        static const char *const headers[] = { "COLLECTOR", "LAST RUN", "STATUS",   "CALLS",
                                               "THROTTLED", "SEEN",     "VERSIONS", NULL };
        struct table *t = table_new(headers);
        printf("\n");
        json_array_foreach (cols, i, v) {
            char when[48], calls[24], thr[24], seen[24], vers[24];
            int64_t ms = 0;
            const char *cells[7];
            time_parse_iso8601(json_string_value(json_object_get(v, "started_at")), &ms);
            cli_format_age(now, ms, when, sizeof(when));
            snprintf(calls, sizeof(calls), "%lld", (long long)get_count(v, "api_calls"));
            snprintf(thr, sizeof(thr), "%lld", (long long)get_count(v, "throttled"));
            snprintf(seen, sizeof(seen), "%lld", (long long)get_count(v, "resources_seen"));
            snprintf(vers, sizeof(vers), "%lld", (long long)get_count(v, "versions_written"));
            cells[0] = json_string_value(json_object_get(v, "collector"));
            cells[1] = when;
            cells[2] = json_string_value(json_object_get(v, "status"));
            cells[3] = calls;
            cells[4] = thr;
            cells[5] = seen;
            cells[6] = vers;
            if (t && table_add_row(t, cells) == 0 && !str_eq(cells[2], "ok"))
                table_color_cell(t, 2, COLOR_YELLOW);
        }
        if (t)
            cli_print_table(cli, t);
        table_free(t);
    }
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
    struct db *db = NULL;
    struct perr err = { 0 };
    json_t *s = NULL, *drift = json_object(), *findings = json_object(), *outbox = json_object(),
           *coverage = json_object();
    int c, rc = EXIT_FAIL;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int h = cli_common_option(cli, c, optarg);
        if (h < 0)
            return EXIT_USAGE;
        if (h)
            continue;
        if (c == 'h') {
            usage();
            return EXIT_OK;
        }
        return cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    if (cli_open_db(cli, &db) < 0)
        goto out;
    /* Every key is present, zero or not: the JSON is a contract. */
    if (drift && findings && outbox &&
        (json_object_set_new(drift, "total", json_integer(0)) < 0 ||
         json_object_set_new(drift, "changed", json_integer(0)) < 0 ||
         json_object_set_new(drift, "missing", json_integer(0)) < 0 ||
         json_object_set_new(drift, "unmanaged", json_integer(0)) < 0 ||
         json_object_set_new(drift, "conflict", json_integer(0)) < 0 ||
         json_object_set_new(findings, "PASS", json_integer(0)) < 0 ||
         json_object_set_new(findings, "FAIL", json_integer(0)) < 0 ||
         json_object_set_new(findings, "NOT_APPLICABLE", json_integer(0)) < 0 ||
         json_object_set_new(findings, "UNKNOWN", json_integer(0)) < 0 ||
         json_object_set_new(outbox, "pending", json_integer(0)) < 0 ||
         json_object_set_new(outbox, "delivered", json_integer(0)) < 0 ||
         json_object_set_new(outbox, "failed", json_integer(0)) < 0)) {
        cli_error("out of memory");
        goto out;
    }
    if (!drift || !findings || !outbox || !coverage ||
        counts(db,
               "SELECT category, count(*) FROM drift WHERE resolved_at IS NULL AND exception IS "
               "NULL GROUP BY category UNION ALL SELECT 'total', count(*) FROM drift WHERE "
               "resolved_at IS NULL AND exception IS NULL",
               drift, &err) < 0 ||
        counts(db, "SELECT status, count(*) FROM findings WHERE exception IS NULL GROUP BY status",
               findings, &err) < 0 ||
        counts(db, "SELECT state, count(*) FROM deliveries GROUP BY state", outbox, &err) < 0 ||
        counts(db, "SELECT 'unknown', count(*) FROM coverage WHERE status != 'ok'", coverage,
               &err) < 0) {
        cli_error("%s", err.msg[0] ? err.msg : "out of memory");
        goto out;
    }
    s = json_pack("{s:o?, s:o?, s:o?, s:O, s:O, s:O, s:O}", "daemon", daemon_info(db, &err),
                  "collectors", collectors(db, &err), "states", states(db, &err), "drift", drift,
                  "findings", findings, "outbox", outbox, "coverage", coverage);
    if (!s || !json_object_get(s, "daemon") || !json_object_get(s, "collectors") ||
        !json_object_get(s, "states")) {
        cli_error("%s", err.msg[0] ? err.msg : "out of memory");
        goto out;
    }
    if (cli->output == OUTPUT_JSON)
        rc = output_json(stdout, s) < 0 ? EXIT_FAIL : EXIT_OK;
    else {
        print_text(cli, s);
        rc = EXIT_OK;
    }
out:
    json_decref(s);
    json_decref(drift);
    json_decref(findings);
    json_decref(outbox);
    json_decref(coverage);
    db_close(db);
    return rc;
}
