#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "testutil.h"

static char *tmp;
static char *dbpath;

static void setup(void)
{
    tmp = tu_tmpdir();
    dbpath = tu_path_join(tmp, "plumb.db");
}

static void teardown(void)
{
    tu_rmrf(tmp);
    free(tmp);
    free(dbpath);
}

static int mode_of(const char *path)
{
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    return (int)(st.st_mode & 0777);
}

static int count_tables(struct db *db)
{
    sqlite3_stmt *st;
    int n = 0;
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
                                        "SELECT count(*) FROM sqlite_master WHERE type='table'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(create_and_migrate)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    int v = -1;
    char *wal;
    ck_assert_msg(db_open(dbpath, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(db_schema_version(db, &v), 0);
    ck_assert_int_eq(v, db_schema_latest());
    ck_assert_int_ge(db_schema_latest(), 1);
    ck_assert_int_ge(count_tables(db), 10);
    /* A write makes the WAL exist; every file is private to the owner. */
    ck_assert_int_eq(db_state_set(db, "pid", "42", 1000, &err), 0);
    ck_assert_int_eq(mode_of(dbpath), 0600);
    wal = tu_path_join(tmp, "plumb.db-wal");
    ck_assert_int_eq(mode_of(wal), 0600);
    free(wal);
    db_close(db);
}
END_TEST

START_TEST(migrate_from_every_version)
{
    int latest = db_schema_latest();
    for (int from = 0; from < latest; from++) {
        struct db *db = NULL;
        struct perr err = { 0 };
        int v = -1;
        char *p;
        char name[32];
        snprintf(name, sizeof(name), "v%d.db", from);
        p = tu_path_join(tmp, name);
        ck_assert_int_eq(db_open(p, DB_READWRITE_NOMIGRATE, &db, &err), 0);
        ck_assert_int_eq(db_migrate_to(db, from, &err), 0);
        ck_assert_int_eq(db_schema_version(db, &v), 0);
        ck_assert_int_eq(v, from);
        db_close(db);
        /* A normal open brings it to the latest version. */
        ck_assert_msg(db_open(p, DB_READWRITE, &db, &err) == 0, "from %d: %s", from, err.msg);
        ck_assert_int_eq(db_schema_version(db, &v), 0);
        ck_assert_int_eq(v, latest);
        ck_assert_int_eq(db_integrity_check(db, &err), 0);
        db_close(db);
        free(p);
    }
}
END_TEST

START_TEST(newer_database_refused)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    char sql[64], expect[256];
    ck_assert_int_eq(db_open(dbpath, DB_READWRITE, &db, &err), 0);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", db_schema_latest() + 1);
    ck_assert_int_eq(db_exec(db, sql, &err), 0);
    db_close(db);
    db = NULL;
    ck_assert_int_eq(db_open(dbpath, DB_READWRITE, &db, &err), -EPROTONOSUPPORT);
    ck_assert_ptr_null(db);
    snprintf(expect, sizeof(expect),
             "%s: database schema version %d is newer than this plumb supports (%d); upgrade "
             "plumb or point it at another database",
             dbpath, db_schema_latest() + 1, db_schema_latest());
    ck_assert_str_eq(err.msg, expect);
    ck_assert_int_eq(db_open(dbpath, DB_READONLY, &db, &err), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(readonly_rules)
{
    struct db *db = NULL, *ro = NULL;
    struct perr err = { 0 };
    char expect[512];
    ck_assert_int_eq(db_open(dbpath, DB_READONLY, &ro, &err), -ENOENT);
    snprintf(expect, sizeof(expect),
             "%s: no database yet (run `plumb scan --once` or start plumbd first)", dbpath);
    ck_assert_str_eq(err.msg, expect);
    /* An old schema cannot be migrated through a read-only connection. */
    ck_assert_int_eq(db_open(dbpath, DB_READWRITE_NOMIGRATE, &db, &err), 0);
    db_close(db);
    ck_assert_int_eq(db_open(dbpath, DB_READONLY, &ro, &err), -ESTALE);
    ck_assert(strstr(err.msg, "is older than this plumb") != NULL);
    /* Readers see committed data while the writer holds a transaction. */
    ck_assert_int_eq(db_open(dbpath, DB_READWRITE, &db, &err), 0);
    ck_assert_int_eq(db_state_set(db, "state", "ready", 1, &err), 0);
    ck_assert_int_eq(db_open(dbpath, DB_READONLY, &ro, &err), 0);
    ck_assert_int_eq(db_begin(db, &err), 0);
    ck_assert_int_eq(db_state_set(db, "state", "busy", 2, &err), 0);
    {
        char *v = NULL;
        int64_t at = 0;
        ck_assert_int_eq(db_state_get(ro, "state", &v, &at, &err), 0);
        ck_assert_str_eq(v, "ready");
        ck_assert_int_eq(at, 1);
        free(v);
    }
    ck_assert_int_eq(db_commit(db, &err), 0);
    /* Writes through the read-only connection fail cleanly. */
    ck_assert_int_eq(db_state_set(ro, "x", "y", 3, &err), -EROFS);
    db_close(ro);
    db_close(db);
}
END_TEST

START_TEST(not_a_database)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    tu_write_file(dbpath, "this is not sqlite, just some text that is long enough to matter\n");
    ck_assert_int_lt(db_open(dbpath, DB_READWRITE, &db, &err), 0);
    ck_assert_msg(strstr(err.msg, "not a plumb database or damaged") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(statement_cache_and_state)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    char *v = NULL;
    ck_assert_int_eq(db_open(dbpath, DB_READWRITE, &db, &err), 0);
    for (int i = 0; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%d", i % 7);
        ck_assert_int_eq(db_state_set(db, key, "v", i, &err), 0);
    }
    ck_assert_int_eq(db_state_get(db, "absent", &v, NULL, &err), 0);
    ck_assert_ptr_null(v);
    ck_assert_ptr_null(db_stmt(db, "SELECT nope FROM nowhere", &err));
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert(strstr(err.msg, "no such table: nowhere") != NULL);
    db_close(db);
}
END_TEST

START_TEST(errno_mapping)
{
    ck_assert_int_eq(db_errno(SQLITE_FULL), -ENOSPC);
    ck_assert_int_eq(db_errno(SQLITE_BUSY), -EBUSY);
    ck_assert_int_eq(db_errno(SQLITE_READONLY), -EROFS);
    ck_assert_int_eq(db_errno(SQLITE_IOERR_WRITE), -EIO);
    ck_assert_int_eq(db_errno(SQLITE_CORRUPT), -EBADMSG);
    ck_assert_int_eq(db_errno(SQLITE_CONSTRAINT_UNIQUE), -EEXIST);
    ck_assert_int_eq(db_errno(SQLITE_DONE), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_and_migrate);
    tcase_add_test(tc, migrate_from_every_version);
    tcase_add_test(tc, newer_database_refused);
    tcase_add_test(tc, readonly_rules);
    tcase_add_test(tc, not_a_database);
    tcase_add_test(tc, statement_cache_and_state);
    tcase_add_test(tc, errno_mapping);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
