#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "jsonutil.h"
#include "testutil.h"

static char *tmp;
static struct db *db;

/* Oracle state controlled by each test. */
static bool scope_readable = true;
static const char *active_exception;
static const char *removed_control;

static bool scope_ok(void *ud, const char *account, const char *region, const char *type,
                     const char *source)
{
    return scope_readable;
}

static const char *exception_for(void *ud, const char *type, const char *id, const char *control)
{
    return active_exception;
}

static bool control_known(void *ud, const char *control)
{
    return !str_eq(control, removed_control);
}

static const struct events_oracle oracle = { scope_ok, exception_for, control_known, NULL };

static struct config_filter high_only = { .min_severity = SEVERITY_HIGH };
static char drift_glob[] = "drift.*";
static char *drift_kinds[] = { drift_glob, NULL };
static struct config_filter drift_only = { .kinds = drift_kinds };
static char team_tag[] = "team=net";
static char *team_tags[] = { team_tag, NULL };
static struct config_filter team_net = { .tags = team_tags };

static const struct event_sink sinks[] = {
    { "journal", NULL, false },
    { "webhook:oncall", &high_only, false },
    { "webhook:drift", &drift_only, false },
    { "webhook:net", &team_net, false },
    { "digest:weekly", NULL, true },
};

static void setup(void)
{
    struct perr err = { 0 };
    char *p;
    tmp = tu_tmpdir();
    p = tu_path_join(tmp, "e.db");
    ck_assert_msg(db_open(p, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    free(p);
    scope_readable = true;
    active_exception = NULL;
    removed_control = NULL;
}

static void teardown(void)
{
    db_close(db);
    tu_rmrf(tmp);
    free(tmp);
}

static struct events_ctx ctx_at(int64_t now)
{
    struct events_ctx c = {
        .db = db,
        .now_ms = now,
        .sinks = sinks,
        .n_sinks = ARRAY_SIZE(sinks),
        .oracle = &oracle,
        .data_gap_after_ms = 3600000,
    };
    return c;
}

static int count(const char *sql)
{
    sqlite3_stmt *st;
    int n;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int events_of(const char *kind)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE kind = '%s'", kind);
    return count(sql);
}

static void run_drift(int64_t now, const struct drift_item *items, size_t n)
{
    struct events_ctx c = ctx_at(now);
    struct perr err = { 0 };
    ck_assert_int_eq(db_begin(db, &err), 0);
    ck_assert_msg(events_apply_drift(&c, items, n, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(db_commit(db, &err), 0);
}

static void run_findings(int64_t now, const struct finding_item *items, size_t n)
{
    struct events_ctx c = ctx_at(now);
    struct perr err = { 0 };
    ck_assert_int_eq(db_begin(db, &err), 0);
    ck_assert_msg(events_apply_findings(&c, items, n, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(db_commit(db, &err), 0);
}

static json_t *changes_of(const char *live)
{
    return json_pack("[{s:s, s:s, s:s}]", "path", "versioning[0].status", "declared", "Enabled",
                     "live", live);
}

static struct drift_item changed_bucket(const json_t *changes)
{
    struct drift_item d = {
        .category = "changed",
        .resource_key = "111111111111/eu-central-1/aws_s3_bucket/logs",
        .type = "aws_s3_bucket",
        .id = "logs",
        .arn = "arn:aws:s3:::logs",
        .account = "111111111111",
        .region = "eu-central-1",
        .address = "aws_s3_bucket.logs",
        .source = "main",
        .changes = changes,
        .severity = SEVERITY_HIGH,
    };
    return d;
}

START_TEST(drift_lifecycle)
{
    json_t *c1 = changes_of("Suspended"),
           *c2 = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "path", "versioning[0].status",
                           "declared", "Enabled", "live", "Suspended", "path", "tags.owner",
                           "declared", "a", "live", "b");
    struct drift_item d = changed_bucket(c1);

    /* Seen on 10 polls: one event. */
    for (int i = 0; i < 10; i++)
        run_drift(1000 + i, &d, 1);
    ck_assert_int_eq(events_of("drift.opened"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM events"), 1);
    /* The set of changed attributes grows: one update. */
    d.changes = c2;
    run_drift(2000, &d, 1);
    run_drift(2001, &d, 1);
    ck_assert_int_eq(events_of("drift.updated"), 1);
    /* Gone while its scope could not be read: stays open, no event. */
    scope_readable = false;
    run_drift(3000, NULL, 0);
    ck_assert_int_eq(events_of("drift.resolved"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM drift WHERE resolved_at IS NULL"), 1);
    /* Gone after a successful read: resolved once. */
    scope_readable = true;
    run_drift(4000, NULL, 0);
    run_drift(4001, NULL, 0);
    ck_assert_int_eq(events_of("drift.resolved"), 1);
    /* Comes back: opened again with a new first_seen. */
    run_drift(5000, &d, 1);
    ck_assert_int_eq(events_of("drift.opened"), 2);
    ck_assert_int_eq(count("SELECT count(*) FROM drift WHERE first_seen = 5000"), 1);
    json_decref(c1);
    json_decref(c2);
}
END_TEST

START_TEST(payload_and_routing)
{
    json_t *c1 = changes_of("Suspended");
    struct drift_item d = changed_bucket(c1);
    json_t *tags = json_pack("{s:s}", "team", "net");
    sqlite3_stmt *st;
    json_t *p;

    d.tags = tags;
    run_drift(1000, &d, 1);
    ck_assert_int_eq(
        sqlite3_prepare_v2(db_handle(db), "SELECT payload, dedupe_key FROM events", -1, &st, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    p = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 1),
                     "drift:changed:111111111111/eu-central-1/aws_s3_bucket/logs");
    sqlite3_finalize(st);
    ck_assert_str_eq(json_string_value(json_object_get(p, "schema")), "plumb.event/v1");
    ck_assert_str_eq(json_string_value(json_object_get(p, "kind")), "drift.opened");
    ck_assert_str_eq(json_string_value(json_object_get(p, "severity")), "high");
    ck_assert_str_eq(json_string_value(json_path_get(p, "resource.address")), "aws_s3_bucket.logs");
    ck_assert_str_eq(json_string_value(json_path_get(p, "resource.arn")), "arn:aws:s3:::logs");
    ck_assert_str_eq(json_string_value(json_path_get(p, "changes[0].live")), "Suspended");
    ck_assert_str_eq(json_string_value(json_path_get(p, "tags.team")), "net");
    ck_assert_str_eq(json_string_value(json_path_get(p, "nis2[0]")), "21.2.e");
    ck_assert_str_eq(json_string_value(json_path_get(p, "first_seen")), "1970-01-01T00:00:01Z");
    ck_assert_int_eq((int)strlen(json_string_value(json_object_get(p, "id"))), 36);
    json_decref(p);
    json_decref(tags);
    json_decref(c1);
}
END_TEST

static struct finding_item finding(const char *status, const char *control)
{
    struct finding_item f = {
        .control = control,
        .title = "RDS storage encrypted",
        .resource_key = "111111111111/eu-central-1/aws_db_instance/db1",
        .type = "aws_db_instance",
        .id = "db1",
        .account = "111111111111",
        .region = "eu-central-1",
        .status = status,
        .severity = SEVERITY_HIGH,
        .detail = "storage_encrypted is false",
    };
    return f;
}

START_TEST(finding_lifecycle)
{
    struct finding_item f = finding("FAIL", "enc-rds-instance");
    run_findings(1000, &f, 1);
    run_findings(1001, &f, 1);
    ck_assert_int_eq(events_of("control.failed"), 1);
    /* FAIL -> UNKNOWN -> FAIL stays one open finding. */
    f.status = "UNKNOWN";
    run_findings(2000, &f, 1);
    f.status = "FAIL";
    run_findings(3000, &f, 1);
    ck_assert_int_eq(events_of("control.failed"), 1);
    ck_assert_int_eq(events_of("control.resolved"), 0);
    /* Fixed. */
    f.status = "PASS";
    run_findings(4000, &f, 1);
    ck_assert_int_eq(events_of("control.resolved"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM findings_log"), 4);
    ck_assert_int_eq(count("SELECT count(*) FROM findings WHERE opened_at IS NULL AND "
                           "resolved_at = 4000"),
                     1);
    /* PASS from the start raises nothing. */
    {
        struct finding_item g = finding("PASS", "enc-rds-backup");
        struct finding_item both[2] = { g, f };
        run_findings(5000, both, 2);
        ck_assert_int_eq(count("SELECT count(*) FROM events"), 2);
    }
}
END_TEST

START_TEST(finding_closed_when_resource_or_control_goes)
{
    struct finding_item f = finding("FAIL", "enc-rds-instance");
    run_findings(1000, &f, 1);
    /* Not evaluated and the scope was unreadable: nothing changes. */
    scope_readable = false;
    run_findings(2000, NULL, 0);
    ck_assert_int_eq(events_of("control.resolved"), 0);
    /* The resource is gone (scope read fine). */
    scope_readable = true;
    run_findings(3000, NULL, 0);
    ck_assert_int_eq(events_of("control.resolved"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM findings WHERE status = 'NOT_APPLICABLE' AND "
                           "detail = 'resource no longer exists'"),
                     1);
    /* A removed control closes its findings even if the scope is unknown. */
    f = finding("FAIL", "acc-old-control");
    run_findings(4000, &f, 1);
    scope_readable = false;
    removed_control = "acc-old-control";
    run_findings(5000, NULL, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM findings WHERE detail = 'control no longer "
                           "evaluated'"),
                     1);
}
END_TEST

START_TEST(exceptions_suppress_and_expire)
{
    char name[] = "legacy", match[] = "aws_s3_bucket.logs", reason[] = "migrating",
         owner[] = "alice";
    struct config_exception ex = {
        .name = name, .match = match, .reason = reason, .owner = owner, .expires_ms = 10000
    };
    json_t *c1 = changes_of("Suspended");
    struct drift_item d = changed_bucket(c1);
    struct events_ctx c = ctx_at(5000);
    struct perr err = { 0 };

    active_exception = "legacy";
    run_drift(1000, &d, 1);
    ck_assert_int_eq(count("SELECT count(*) FROM events"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM drift WHERE exception = 'legacy'"), 1);
    /* Before expiry: nothing. */
    ck_assert_int_eq(events_sync_exceptions(&c, &ex, 1, &err), 0);
    ck_assert_int_eq(events_of("exception.expired"), 0);
    /* After: one exception.expired, once, and the drift opens. */
    c = ctx_at(20000);
    ck_assert_int_eq(events_sync_exceptions(&c, &ex, 1, &err), 0);
    ck_assert_int_eq(events_sync_exceptions(&c, &ex, 1, &err), 0);
    ck_assert_int_eq(events_of("exception.expired"), 1);
    active_exception = NULL;
    run_drift(20001, &d, 1);
    ck_assert_int_eq(events_of("drift.opened"), 1);
    /* Extending the expiry re-arms the notice; dropping it deletes the row. */
    ex.expires_ms = 90000;
    ck_assert_int_eq(events_sync_exceptions(&c, &ex, 1, &err), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM exceptions WHERE expired_noticed_at IS NULL"), 1);
    ck_assert_int_eq(events_sync_exceptions(&c, NULL, 0, &err), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM exceptions"), 0);
    json_decref(c1);
}
END_TEST

START_TEST(routing_filters)
{
    json_t *c1 = changes_of("Suspended");
    struct drift_item d = changed_bucket(c1);
    struct finding_item f = finding("FAIL", "enc-rds-instance");
    json_t *tags = json_pack("{s:s}", "team", "net");

    d.severity = SEVERITY_MEDIUM;
    d.tags = tags;
    run_drift(1000, &d, 1);
    f.severity = SEVERITY_HIGH;
    run_findings(1000, &f, 1);
    /* drift (medium, team=net): journal, drift-hook, net-hook. */
    ck_assert_int_eq(count("SELECT count(*) FROM deliveries d JOIN events e ON e.seq = "
                           "d.event_seq WHERE e.kind = 'drift.opened'"),
                     3);
    /* finding (high, no tags): journal, oncall. */
    ck_assert_int_eq(count("SELECT count(*) FROM deliveries d JOIN events e ON e.seq = "
                           "d.event_seq WHERE e.kind = 'control.failed'"),
                     2);
    ck_assert_int_eq(count("SELECT count(*) FROM deliveries WHERE sink = 'digest:weekly'"), 0);
    ck_assert(events_filter_match(&team_net, "x", SEVERITY_LOW, NULL, NULL, tags));
    ck_assert(!events_filter_match(&team_net, "x", SEVERITY_LOW, NULL, NULL, NULL));
    json_decref(tags);
    json_decref(c1);
}
END_TEST

START_TEST(data_gaps)
{
    struct perr err = { 0 };
    struct events_ctx c;
    ck_assert_int_eq(db_exec(db,
                             "INSERT INTO coverage (account, region, type, status, detail, "
                             "checked_at, unknown_since) VALUES ('1', 'eu-west-1', 'aws_instance', "
                             "'access_denied', 'ec2:DescribeInstances', 1000, 1000)",
                             &err),
                     0);
    c = ctx_at(2000); /* under the 1h threshold */
    ck_assert_int_eq(events_apply_gaps(&c, &err), 0);
    ck_assert_int_eq(events_of("data.gap"), 0);
    c = ctx_at(1000 + 3600000);
    ck_assert_int_eq(events_apply_gaps(&c, &err), 0);
    ck_assert_int_eq(events_apply_gaps(&c, &err), 0);
    ck_assert_int_eq(events_of("data.gap"), 1);
    ck_assert_int_eq(db_exec(db, "UPDATE coverage SET status = 'ok', unknown_since = NULL", &err),
                     0);
    ck_assert_int_eq(events_apply_gaps(&c, &err), 0);
    ck_assert_int_eq(events_apply_gaps(&c, &err), 0);
    ck_assert_int_eq(events_of("data.restored"), 1);
}
END_TEST

START_TEST(reminders)
{
    struct finding_item f = finding("FAIL", "enc-rds-instance");
    struct events_ctx c;
    struct perr err = { 0 };
    f.severity = SEVERITY_CRITICAL;
    run_findings(1000, &f, 1);
    c = ctx_at(1000 + 3600000);
    c.reminder_ms = 3600000;
    c.reminder_min_severity = SEVERITY_CRITICAL;
    ck_assert_int_eq(events_remind(&c, &err), 0);
    ck_assert_int_eq(events_remind(&c, &err), 0);
    ck_assert_int_eq(events_of("control.reminder"), 1);
    /* Reminders are off by default. */
    c.reminder_ms = 0;
    c.now_ms += 10 * 3600000;
    ck_assert_int_eq(events_remind(&c, &err), 0);
    ck_assert_int_eq(events_of("control.reminder"), 1);
}
END_TEST

START_TEST(stored_rows_interleave_with_new_items)
{
    /* Stored keys that sort before the evaluated ones must not be taken
     * for the previous item: a stored drift or finding before each new
     * one used to make the merge reject its own input as unsorted. */
    json_t *c1 = changes_of("Suspended");
    struct drift_item d[2] = { changed_bucket(c1), changed_bucket(c1) };
    struct finding_item f[2] = { finding("FAIL", "a-control"), finding("FAIL", "c-control") };
    d[0].resource_key = "111111111111/eu-central-1/aws_s3_bucket/a";
    d[1].resource_key = "111111111111/eu-central-1/aws_s3_bucket/c";
    run_drift(1000, d, 2);
    run_findings(1000, f, 2);
    /* Now b and d are evaluated; a and c remain stored and get resolved. */
    d[0].resource_key = "111111111111/eu-central-1/aws_s3_bucket/b";
    d[1].resource_key = "111111111111/eu-central-1/aws_s3_bucket/d";
    f[0].control = "b-control";
    f[1].control = "d-control";
    run_drift(2000, d, 2);
    run_findings(2000, f, 2);
    ck_assert_int_eq(events_of("drift.opened"), 4);
    ck_assert_int_eq(events_of("drift.resolved"), 2);
    ck_assert_int_eq(events_of("control.failed"), 4);
    ck_assert_int_eq(events_of("control.resolved"), 2);
    json_decref(c1);
}
END_TEST

START_TEST(unsorted_input_rejected)
{
    json_t *c1 = changes_of("x");
    struct drift_item items[2] = { changed_bucket(c1), changed_bucket(c1) };
    struct events_ctx c = ctx_at(1);
    struct perr err = { 0 };
    items[0].resource_key = "z";
    items[1].resource_key = "a";
    ck_assert_int_eq(events_apply_drift(&c, items, 2, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "drift items are not sorted by key (drift:changed:a after "
                              "drift:changed:z)");
    json_decref(c1);
}
END_TEST

START_TEST(drift_keys)
{
    struct drift_item m = { .category = "missing",
                            .type = "aws_s3_bucket",
                            .id = "logs",
                            .address = "aws_s3_bucket.logs",
                            .source = "net:dev" };
    struct drift_item m2 = m;
    struct drift_item k = { .category = "conflict",
                            .resource_key = "1/eu-west-1/aws_s3_bucket/l",
                            .address = "aws_s3_bucket.logs",
                            .source = "a" };
    char *a, *b, *ck;
    m2.source = "net:prod";
    a = events_drift_key(&m);
    b = events_drift_key(&m2);
    ck = events_drift_key(&k);
    /* The same address missing from two workspaces: two keys. */
    ck_assert_str_eq(a, "drift:missing:net:dev:aws_s3_bucket.logs");
    ck_assert_str_eq(b, "drift:missing:net:prod:aws_s3_bucket.logs");
    ck_assert_str_eq(ck, "drift:conflict:1/eu-west-1/aws_s3_bucket/l");
    free(a);
    free(b);
    free(ck);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("events");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, drift_lifecycle);
    tcase_add_test(tc, payload_and_routing);
    tcase_add_test(tc, finding_lifecycle);
    tcase_add_test(tc, finding_closed_when_resource_or_control_goes);
    tcase_add_test(tc, exceptions_suppress_and_expire);
    tcase_add_test(tc, routing_filters);
    tcase_add_test(tc, data_gaps);
    tcase_add_test(tc, reminders);
    tcase_add_test(tc, stored_rows_interleave_with_new_items);
    tcase_add_test(tc, unsorted_input_rejected);
    tcase_add_test(tc, drift_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
