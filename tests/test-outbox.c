/* lib/outbox: due deliveries in order per dedupe key and resource, outcome
 * recording, the `plumb events` listing and requeueing of dead letters.
 * Events are written through lib/events (events_emit), as in production. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "jsonutil.h"
#include "outbox.h"
#include "testutil.h"

static char *tmp;
static struct db *db;

static const struct event_sink sinks[] = {
    { "webhook:a", NULL, false },
    { "webhook:b", NULL, false },
};

static void setup(void)
{
    struct perr err = { 0 };
    char *p;
    tmp = tu_tmpdir();
    p = tu_path_join(tmp, "o.db");
    ck_assert_msg(db_open(p, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    free(p);
}

static void teardown(void)
{
    db_close(db);
    tu_rmrf(tmp);
    free(tmp);
}

/* Emit one event at `now` to both sinks; returns its seq. */
static int64_t emit(int64_t now, const char *kind, const char *dedupe, const char *resource_key,
                    const char *summary)
{
    struct events_ctx c = { .db = db, .now_ms = now, .sinks = sinks, .n_sinks = ARRAY_SIZE(sinks) };
    struct perr err = { 0 };
    json_t *p = json_pack("{s:s, s:s, s:{s:s?, s:s}}", "category", "changed", "summary", summary,
                          "resource", "key", resource_key, "type", "aws_s3_bucket");
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(events_emit(&c, kind, dedupe, SEVERITY_HIGH, "changed", resource_key,
                              "111111111111", "eu-central-1", NULL, p, NULL, &err) == 0,
                  "%s", err.msg);
    json_decref(p);
    return sqlite3_last_insert_rowid(db_handle(db));
}

/* Seqs of the due deliveries of sink at now, as "1,2,3". */
static char *due(const char *sink, int64_t now, size_t limit)
{
    struct outbox_item *items = NULL;
    size_t n = 0;
    struct perr err = { 0 };
    char buf[512] = "";
    size_t len = 0;

    ck_assert_msg(outbox_due(db, sink, now, limit, &items, &n, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(items[i].sink, sink);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%lld", i ? "," : "",
                                (long long)items[i].seq);
    }
    outbox_items_free(items, n);
    return strdup(buf);
}

static void check_due(const char *sink, int64_t now, const char *want)
{
    char *got = due(sink, now, 100);
    ck_assert_msg(str_eq(got, want), "due(%s, %lld): got '%s', want '%s'", sink, (long long)now,
                  got, want);
    free(got);
}

static int record(int64_t seq, const char *sink, enum outbox_state s, int64_t at, const char *e)
{
    struct perr err = { 0 };
    int r = outbox_record(db, seq, sink, s, at, e, &err);
    ck_assert_msg(r >= 0, "%s", err.msg);
    return r;
}

static char *query_text(const char *sql)
{
    sqlite3_stmt *st;
    char *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    s = sqlite3_column_text(st, 0) ? strdup((const char *)sqlite3_column_text(st, 0)) : NULL;
    sqlite3_finalize(st);
    return s;
}

START_TEST(due_in_event_order)
{
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "one");
    int64_t b = emit(1001, "drift.opened", "drift:changed:k2", "k2", "two");
    int64_t c = emit(1002, "drift.opened", "drift:changed:k3", "k3", "three");
    struct outbox_item *items = NULL;
    size_t n = 0;
    struct perr err = { 0 };
    char want[64];
    json_t *p;

    snprintf(want, sizeof(want), "%lld,%lld,%lld", (long long)a, (long long)b, (long long)c);
    check_due("webhook:a", 5000, want);
    /* Not yet due before their creation time. */
    check_due("webhook:a", 999, "");
    snprintf(want, sizeof(want), "%lld", (long long)a);
    check_due("webhook:a", 1000, want);
    /* limit */
    ck_assert_int_eq(outbox_due(db, "webhook:a", 5000, 2, &items, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(items[0].seq, a);
    ck_assert_str_eq(items[0].kind, "drift.opened");
    ck_assert_str_eq(items[0].dedupe_key, "drift:changed:k1");
    ck_assert_str_eq(items[0].resource_key, "k1");
    ck_assert_str_eq(items[0].severity, "high");
    ck_assert_int_eq(items[0].created_at, 1000);
    ck_assert_int_eq(items[0].attempts, 0);
    p = json_loads(items[0].payload, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(p, "id")), items[0].id);
    ck_assert_str_eq(json_string_value(json_object_get(p, "summary")), "one");
    json_decref(p);
    outbox_items_free(items, n);
    /* limit 0 */
    items = (struct outbox_item *)&err;
    ck_assert_int_eq(outbox_due(db, "webhook:a", 5000, 0, &items, &n, &err), 0);
    ck_assert_ptr_null(items);
    ck_assert_uint_eq(n, 0);
    /* An unknown sink has nothing. */
    check_due("syslog", 5000, "");
}
END_TEST

START_TEST(same_dedupe_key_waits)
{
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "opened");
    int64_t other = emit(1001, "drift.opened", "drift:changed:k2", "k2", "other");
    int64_t b = emit(1002, "drift.resolved", "drift:changed:k1", "k1", "resolved");
    char want[64];

    snprintf(want, sizeof(want), "%lld,%lld", (long long)a, (long long)other);
    check_due("webhook:a", 5000, want);
    /* The first one waits for a retry: the later one of its key still waits. */
    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_RETRY, 9000, "HTTP 503"), 1);
    snprintf(want, sizeof(want), "%lld", (long long)other);
    check_due("webhook:a", 5000, want);
    /* The other sink is independent. */
    snprintf(want, sizeof(want), "%lld,%lld", (long long)a, (long long)other);
    check_due("webhook:b", 5000, want);
    /* Delivered: the later one goes. */
    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_DELIVERED, 9000, NULL), 1);
    snprintf(want, sizeof(want), "%lld,%lld", (long long)other, (long long)b);
    check_due("webhook:a", 9000, want);
    /* A dead letter does not hold anything back either. */
    ck_assert_int_eq(record(a, "webhook:b", OUTBOX_FAILED, 9000, "HTTP 400"), 1);
    snprintf(want, sizeof(want), "%lld,%lld", (long long)other, (long long)b);
    check_due("webhook:b", 9000, want);
}
END_TEST

START_TEST(same_resource_waits)
{
    /* Different dedupe keys (a drift and a control finding) on one resource. */
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "drift");
    int64_t b = emit(1001, "control.failed", "control:S3.1:k1", "k1", "finding");
    int64_t g1 = emit(1002, "data.gap", "gap:1/r/t", NULL, "gap");
    int64_t g2 = emit(1003, "data.restored", "gap:1/r/t", NULL, "restored");
    char want[64];

    snprintf(want, sizeof(want), "%lld,%lld", (long long)a, (long long)g1);
    check_due("webhook:a", 5000, want);
    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_DELIVERED, 5000, NULL), 1);
    ck_assert_int_eq(record(g1, "webhook:a", OUTBOX_DELIVERED, 5000, NULL), 1);
    snprintf(want, sizeof(want), "%lld,%lld", (long long)b, (long long)g2);
    check_due("webhook:a", 5000, want);
}
END_TEST

START_TEST(due_uses_indexes)
{
    sqlite3_stmt *st, *cached = NULL;
    char plan[4096] = "", *sql;
    size_t len = 0;
    char *ignored;

    /* Run the real query once so it sits in the statement cache, then ask
     * SQLite how it runs that exact text. */
    ignored = due("webhook:a", 0, 10);
    free(ignored);
    while ((cached = sqlite3_next_stmt(db_handle(db), cached)))
        if (strstr(sqlite3_sql(cached), "FROM deliveries d"))
            break;
    ck_assert_ptr_nonnull(cached);
    sql = str_printf("EXPLAIN QUERY PLAN %s", sqlite3_sql(cached));
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        len += (size_t)snprintf(plan + len, sizeof(plan) - len, "%s\n", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    free(sql);
    ck_assert_msg(strstr(plan, "deliveries_sink"), "%s", plan);
    ck_assert_msg(strstr(plan, "events_dedupe"), "%s", plan);
    ck_assert_msg(strstr(plan, "events_resource"), "%s", plan);
    ck_assert_msg(!strstr(plan, "TEMP B-TREE"), "sorts instead of using the index:\n%s", plan);
}
END_TEST

START_TEST(next_due)
{
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "one");
    int64_t b = emit(1001, "drift.opened", "drift:changed:k2", "k2", "two");
    const char *const both[] = { "webhook:a", "webhook:b", NULL };
    const char *const only_a[] = { "webhook:a", NULL };
    const char *const none[] = { "syslog", NULL };
    struct perr err = { 0 };
    int64_t t = -1;

    ck_assert_int_eq(outbox_next_due(db, both, 5000, &t, &err), 0);
    ck_assert_int_eq(t, 0);
    ck_assert_int_eq(outbox_next_due(db, both, 999, &t, &err), 0);
    ck_assert_int_eq(t, 1000);
    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_RETRY, 60000, "x"), 1);
    ck_assert_int_eq(record(b, "webhook:b", OUTBOX_RETRY, 30000, "x"), 1);
    ck_assert_int_eq(outbox_next_due(db, both, 5000, &t, &err), 0);
    ck_assert_int_eq(t, 30000);
    ck_assert_int_eq(outbox_next_due(db, only_a, 5000, &t, &err), 0);
    ck_assert_int_eq(t, 60000);
    ck_assert_int_eq(outbox_next_due(db, none, 5000, &t, &err), 0);
    ck_assert_int_eq(t, 0);
    /* Delivered or failed ones are never due. */
    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_FAILED, 60000, "x"), 1);
    ck_assert_int_eq(outbox_next_due(db, only_a, 5000, &t, &err), 0);
    ck_assert_int_eq(t, 0);
}
END_TEST

START_TEST(record_outcomes)
{
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "one");
    char sql[256], *s;
    char longerr[2000];
    struct perr err = { 0 };

    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_RETRY, 7000, "HTTP 503: busy"), 1);
    snprintf(sql, sizeof(sql),
             "SELECT state || '|' || attempts || '|' || next_attempt_at || '|' || last_error "
             "FROM deliveries WHERE event_seq = %lld AND sink = 'webhook:a'",
             (long long)a);
    s = query_text(sql);
    ck_assert_str_eq(s, "pending|1|7000|HTTP 503: busy");
    free(s);
    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_DELIVERED, 8000, NULL), 1);
    snprintf(sql, sizeof(sql),
             "SELECT state || '|' || attempts || '|' || delivered_at || '|' || "
             "coalesce(last_error, 'NULL') FROM deliveries WHERE event_seq = %lld AND sink = "
             "'webhook:a'",
             (long long)a);
    s = query_text(sql);
    ck_assert_str_eq(s, "delivered|2|8000|NULL");
    free(s);
    /* No longer pending: nothing changes. */
    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_FAILED, 9000, "late"), 0);
    ck_assert_int_eq(record(a + 100, "webhook:a", OUTBOX_DELIVERED, 9000, NULL), 0);
    /* A long error is cut at a UTF-8 boundary: 511 'x' then a 2-byte char
     * straddling byte 512. */
    memset(longerr, 'x', sizeof(longerr));
    memcpy(longerr + 511, "\xc3\xa4", 2);
    longerr[sizeof(longerr) - 1] = '\0';
    ck_assert_int_eq(record(a, "webhook:b", OUTBOX_FAILED, 9000, longerr), 1);
    snprintf(sql, sizeof(sql),
             "SELECT state || '|' || attempts || '|' || length(CAST(last_error AS BLOB)) FROM "
             "deliveries WHERE event_seq = %lld AND sink = 'webhook:b'",
             (long long)a);
    s = query_text(sql);
    ck_assert_str_eq(s, "failed|1|511");
    free(s);
    ck_assert_int_eq(outbox_record(db, a, "webhook:b", (enum outbox_state)7, 0, NULL, &err),
                     -EINVAL);
    ck_assert_str_eq(err.msg, "unknown delivery state 7");
}
END_TEST

START_TEST(list_contract)
{
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "bucket changed");
    int64_t b = emit(2000, "control.failed", "control:S3.1:k2", "k2", "control fails");
    struct outbox_filter f = { 0 };
    struct perr err = { 0 };
    json_t *list = NULL, *ev, *d;

    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_DELIVERED, 1500, NULL), 1);
    ck_assert_int_eq(record(a, "webhook:b", OUTBOX_FAILED, 1500, "HTTP 400: bad payload"), 1);
    ck_assert_int_eq(record(b, "webhook:a", OUTBOX_RETRY, 4000, "connection refused"), 1);

    ck_assert_msg(outbox_list(db, &f, &list, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(json_array_size(list), 2);
    ev = json_array_get(list, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "seq")), a);
    ck_assert_int_eq((int)strlen(json_string_value(json_object_get(ev, "id"))), 36);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "drift.opened");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "dedupe_key")), "drift:changed:k1");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "severity")), "high");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "category")), "changed");
    ck_assert_str_eq(json_string_value(json_path_get(ev, "resource.key")), "k1");
    ck_assert_str_eq(json_string_value(json_path_get(ev, "resource.type")), "aws_s3_bucket");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "account")), "111111111111");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "region")), "eu-central-1");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "created_at")),
                     "1970-01-01T00:00:01.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "summary")), "bucket changed");
    ck_assert_uint_eq(json_array_size(json_object_get(ev, "deliveries")), 2);
    d = json_path_get(ev, "deliveries[0]");
    ck_assert_str_eq(json_string_value(json_object_get(d, "sink")), "webhook:a");
    ck_assert_str_eq(json_string_value(json_object_get(d, "state")), "delivered");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attempts")), 1);
    ck_assert(json_is_null(json_object_get(d, "last_error")));
    ck_assert_str_eq(json_string_value(json_object_get(d, "delivered_at")),
                     "1970-01-01T00:00:01.500Z");
    ck_assert(json_is_null(json_object_get(d, "next_attempt_at")));
    d = json_path_get(ev, "deliveries[1]");
    ck_assert_str_eq(json_string_value(json_object_get(d, "state")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(d, "last_error")), "HTTP 400: bad payload");
    ck_assert(json_is_null(json_object_get(d, "delivered_at")));
    d = json_path_get(json_array_get(list, 1), "deliveries[0]");
    ck_assert_str_eq(json_string_value(json_object_get(d, "state")), "pending");
    ck_assert_str_eq(json_string_value(json_object_get(d, "next_attempt_at")),
                     "1970-01-01T00:00:04.000Z");
    json_decref(list);

    /* --failed */
    f.failed_only = true;
    ck_assert_int_eq(outbox_list(db, &f, &list, &err), 0);
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert_int_eq(json_integer_value(json_path_get(list, "[0].seq")), a);
    json_decref(list);
    /* --failed --sink webhook:a: that sink has no dead letter. */
    f.sink = "webhook:a";
    ck_assert_int_eq(outbox_list(db, &f, &list, &err), 0);
    ck_assert_uint_eq(json_array_size(list), 0);
    json_decref(list);
    /* --sink alone lists only that sink's deliveries. */
    f.failed_only = false;
    ck_assert_int_eq(outbox_list(db, &f, &list, &err), 0);
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_uint_eq(json_array_size(json_path_get(list, "[0].deliveries")), 1);
    json_decref(list);
    /* --kind */
    f.sink = NULL;
    f.kind_glob = "control.*";
    ck_assert_int_eq(outbox_list(db, &f, &list, &err), 0);
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_path_get(list, "[0].kind")), "control.failed");
    json_decref(list);
    /* --since */
    f.kind_glob = NULL;
    f.since_ms = 1500;
    ck_assert_int_eq(outbox_list(db, &f, &list, &err), 0);
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert_int_eq(json_integer_value(json_path_get(list, "[0].seq")), b);
    json_decref(list);
    /* limit keeps the newest, shown oldest first */
    f.since_ms = 0;
    emit(3000, "drift.opened", "drift:changed:k3", "k3", "third");
    f.limit = 2;
    ck_assert_int_eq(outbox_list(db, &f, &list, &err), 0);
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_int_eq(json_integer_value(json_path_get(list, "[0].seq")), b);
    ck_assert_str_eq(json_string_value(json_path_get(list, "[1].summary")), "third");
    json_decref(list);
}
END_TEST

START_TEST(list_survives_a_broken_payload)
{
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "one");
    struct outbox_filter f = { 0 };
    struct perr err = { 0 };
    json_t *list = NULL;
    char sql[128];

    snprintf(sql, sizeof(sql), "UPDATE events SET payload = '{not json' WHERE seq = %lld",
             (long long)a);
    ck_assert_int_eq(db_exec(db, sql, &err), 0);
    ck_assert_int_eq(outbox_list(db, &f, &list, &err), 0);
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert(json_is_null(json_path_get(list, "[0].summary")));
    ck_assert(json_is_null(json_path_get(list, "[0].resource")));
    ck_assert_str_eq(json_string_value(json_path_get(list, "[0].kind")), "drift.opened");
    json_decref(list);
}
END_TEST

START_TEST(requeue_failed)
{
    int64_t a = emit(1000, "drift.opened", "drift:changed:k1", "k1", "one");
    int64_t b = emit(2000, "control.failed", "control:S3.1:k2", "k2", "two");
    struct outbox_filter f = { 0 };
    struct perr err = { 0 };
    int64_t n = -1;
    char sql[256], *s, want[32];

    ck_assert_int_eq(record(a, "webhook:a", OUTBOX_FAILED, 0, "HTTP 400"), 1);
    ck_assert_int_eq(record(a, "webhook:b", OUTBOX_FAILED, 0, "HTTP 400"), 1);
    ck_assert_int_eq(record(b, "webhook:a", OUTBOX_FAILED, 0, "HTTP 500"), 1);
    check_due("webhook:a", 10000, "");

    /* By sink and kind. */
    f.sink = "webhook:b";
    ck_assert_int_eq(outbox_requeue_failed(db, &f, 10000, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    f.sink = "webhook:a";
    f.kind_glob = "control.*";
    ck_assert_int_eq(outbox_requeue_failed(db, &f, 10000, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    snprintf(want, sizeof(want), "%lld", (long long)b);
    check_due("webhook:a", 10000, want);
    snprintf(sql, sizeof(sql),
             "SELECT state || '|' || attempts || '|' || next_attempt_at || '|' || last_error "
             "FROM deliveries WHERE event_seq = %lld AND sink = 'webhook:a'",
             (long long)b);
    s = query_text(sql);
    ck_assert_str_eq(s, "pending|1|10000|HTTP 500");
    free(s);
    /* The rest, then nothing left. */
    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(outbox_requeue_failed(db, &f, 10000, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(outbox_requeue_failed(db, &f, 10000, NULL, &err), 0);
    ck_assert_int_eq(outbox_requeue_failed(db, &f, 10000, &n, &err), 0);
    ck_assert_int_eq(n, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("outbox");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, due_in_event_order);
    tcase_add_test(tc, same_dedupe_key_waits);
    tcase_add_test(tc, same_resource_waits);
    tcase_add_test(tc, due_uses_indexes);
    tcase_add_test(tc, next_due);
    tcase_add_test(tc, record_outcomes);
    tcase_add_test(tc, list_contract);
    tcase_add_test(tc, list_survives_a_broken_payload);
    tcase_add_test(tc, requeue_failed);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
