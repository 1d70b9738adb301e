#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "evaluate.h"
#include "snapshot.h"
#include "testutil.h"

static char *tmp;
static struct db *db;
static struct config *cfg;
static struct runtime *rt;

static void setup(void)
{
    struct perr err = { 0 };
    char *p;
    tmp = tu_tmpdir();
    p = tu_path_join(tmp, "a.db");
    ck_assert_int_eq(db_open(p, DB_READWRITE, &db, &err), 0);
    free(p);
    ck_assert_int_eq(config_defaults(&cfg), 0);
    ck_assert_msg(runtime_load(cfg, &rt, &err, NULL) == 0, "%s", err.msg);
}

static void teardown(void)
{
    runtime_free(rt);
    config_free(cfg);
    db_close(db);
    tu_rmrf(tmp);
    free(tmp);
}

static void put_db(const char *id, bool encrypted, enum collect_status status)
{
    struct resource *r = NULL;
    struct snapshot_scope scope = { "111111111111", "eu-central-1", "aws_db_instance", status,
                                    status == COLLECT_OK ? NULL : "rds:DescribeDBInstances" };
    struct snapshot_batch b = {
        .cycle_id = 1, .observed_at = 1000, .scopes = &scope, .n_scopes = 1
    };
    struct perr err = { 0 };
    if (id) {
        ck_assert_int_eq(resource_new_with("aws", "111111111111", "eu-central-1", "aws_db_instance",
                                           "AWS::RDS::DBInstance", id, NULL, &r),
                         0);
        json_object_set_new(r->attrs, "identifier", json_string(id));
        json_object_set_new(r->attrs, "storage_encrypted", json_boolean(encrypted));
        json_object_set_new(r->attrs, "backup_retention_period", json_integer(7));
        b.resources = &r;
        b.n_resources = 1;
    }
    ck_assert_msg(snapshot_write(db, &b, NULL, &err) == 0, "%s", err.msg);
    resource_free(r);
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

static struct analysis_stats analyse(int64_t now)
{
    struct analysis_stats st;
    struct perr err = { 0 };
    ck_assert_msg(analysis_run(db, rt, now, &st, &err) == 0, "%s", err.msg);
    return st;
}

START_TEST(baseline_lifecycle)
{
    struct analysis_stats st;
    put_db("db1", false, COLLECT_OK);
    st = analyse(10000);
    ck_assert_int_ge(st.controls, 60);
    ck_assert_int_ge(st.findings[FINDING_FAIL], 1);
    ck_assert_int_eq(count("SELECT count(*) FROM events WHERE kind = 'control.failed' AND "
                           "dedupe_key = 'control:enc-rds-instance:111111111111/eu-central-1/"
                           "aws_db_instance/db1'"),
                     1);
    ck_assert_int_eq(count("SELECT count(*) FROM deliveries WHERE sink = 'journal'"),
                     count("SELECT count(*) FROM events"));
    /* Same estate again: not one new event. */
    {
        int before = count("SELECT count(*) FROM events");
        st = analyse(20000);
        ck_assert_int_eq(count("SELECT count(*) FROM events"), before);
        ck_assert_int_eq(st.events.events, 0);
    }
    /* Fixed: resolved once. */
    put_db("db1", true, COLLECT_OK);
    analyse(30000);
    analyse(40000);
    ck_assert_int_eq(count("SELECT count(*) FROM events WHERE kind = 'control.resolved' AND "
                           "dedupe_key LIKE 'control:enc-rds-instance:%'"),
                     1);
    ck_assert_int_eq(count("SELECT count(*) FROM findings WHERE control = 'enc-rds-instance' AND "
                           "status = 'PASS'"),
                     1);
}
END_TEST

START_TEST(unreadable_is_unknown_not_resolved)
{
    put_db("db1", false, COLLECT_OK);
    analyse(10000);
    /* Access denied next time: the failing finding stays open, no event. */
    put_db(NULL, false, COLLECT_ACCESS_DENIED);
    analyse(20000);
    ck_assert_int_eq(count("SELECT count(*) FROM events WHERE kind = 'control.resolved' AND "
                           "dedupe_key LIKE 'control:enc-rds-instance:%'"),
                     0);
    ck_assert_int_eq(count("SELECT count(*) FROM findings WHERE control = 'enc-rds-instance' AND "
                           "opened_at IS NOT NULL"),
                     1);
    /* The store still has the resource (never tombstoned while unknown). */
    ck_assert_int_eq(count("SELECT count(*) FROM resources WHERE deleted_at IS NULL"), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("analysis");
    TCase *tc = tcase_create("analysis");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, baseline_lifecycle);
    tcase_add_test(tc, unreadable_is_unknown_not_resolved);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
