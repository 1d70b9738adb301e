#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "testutil.h"

static char *tmp;
static struct db *db;

static void setup(void)
{
    struct perr err = { 0 };
    char *p;
    tmp = tu_tmpdir();
    p = tu_path_join(tmp, "s.db");
    ck_assert_msg(db_open(p, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    free(p);
}

static void teardown(void)
{
    db_close(db);
    tu_rmrf(tmp);
    free(tmp);
}

static struct resource *bucket(const char *name, const char *versioning)
{
    struct resource *r = NULL;
    char arn[128];
    snprintf(arn, sizeof(arn), "arn:aws:s3:::%s", name);
    ck_assert_int_eq(resource_new_with("aws", "123456789012", "eu-central-1", "aws_s3_bucket",
                                       "AWS::S3::Bucket", name, arn, &r),
                     0);
    json_object_set_new(r->attrs, "bucket", json_string(name));
    json_object_set_new(r->attrs, "versioning", json_string(versioning));
    json_object_set_new(r->tags, "owner", json_string("platform"));
    r->source = strdup("describe");
    return r;
}

static struct snapshot_scope scope_ok = { "123456789012", "eu-central-1", "aws_s3_bucket",
                                          COLLECT_OK, NULL };

static struct snapshot_stats write_batch(struct resource **rs, size_t n,
                                         const struct snapshot_scope *scope, int64_t at)
{
    struct snapshot_batch b = {
        .cycle_id = 1,
        .observed_at = at,
        .scopes = scope,
        .n_scopes = 1,
        .resources = rs,
        .n_resources = n,
    };
    struct snapshot_stats stats = { 0 };
    struct perr err = { 0 };
    ck_assert_msg(snapshot_write(db, &b, &stats, &err) == 0, "%s", err.msg);
    return stats;
}

static int count_rows(const char *table)
{
    char sql[128];
    sqlite3_stmt *st;
    int n;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(versions_only_on_change)
{
    struct resource *rs[3] = { bucket("a", "Enabled"), bucket("b", "Enabled"),
                               bucket("c", "Suspended") };
    struct snapshot_stats s;
    int changes_before;

    s = write_batch(rs, 3, &scope_ok, 1000);
    ck_assert_int_eq(s.resources_seen, 3);
    ck_assert_int_eq(s.versions_written, 3);
    ck_assert_int_eq(s.tombstones, 0);

    /* Unchanged: no version, no blob, no resource row touched. */
    changes_before = sqlite3_total_changes(db_handle(db));
    rs[0]->collected_at = 99999; /* metadata only */
    free(rs[0]->source);
    rs[0]->source = strdup("config");
    s = write_batch(rs, 3, &scope_ok, 2000);
    ck_assert_int_eq(s.versions_written, 0);
    ck_assert_int_eq(count_rows("versions"), 3);
    /* Only the coverage row is updated. */
    ck_assert_int_eq(sqlite3_total_changes(db_handle(db)) - changes_before, 1);

    /* One attribute changes: exactly one version. */
    json_object_set_new(rs[1]->attrs, "versioning", json_string("Suspended"));
    s = write_batch(rs, 3, &scope_ok, 3000);
    ck_assert_int_eq(s.versions_written, 1);
    ck_assert_int_eq(count_rows("versions"), 4);
    /* b now has the same document as... nothing else; c's doc differs by name. */
    ck_assert_int_eq(count_rows("blobs"), 4);
    for (int i = 0; i < 3; i++)
        resource_free(rs[i]);
}
END_TEST

START_TEST(tombstones_and_reappearance)
{
    struct resource *rs[2] = { bucket("a", "Enabled"), bucket("b", "Enabled") };
    struct snapshot_stats s;
    struct resource *got = NULL;
    struct perr err = { 0 };

    write_batch(rs, 2, &scope_ok, 1000);
    s = write_batch(rs, 1, &scope_ok, 2000); /* b disappeared */
    ck_assert_int_eq(s.tombstones, 1);
    ck_assert_int_eq(
        snapshot_get(db, "123456789012/eu-central-1/aws_s3_bucket/b", &got, NULL, &err), 0);
    resource_free(got);
    /* Still gone: no second tombstone. */
    s = write_batch(rs, 1, &scope_ok, 3000);
    ck_assert_int_eq(s.tombstones, 0);
    /* Back again: a new version, not deleted any more. */
    s = write_batch(rs, 2, &scope_ok, 4000);
    ck_assert_int_eq(s.versions_written, 1);
    ck_assert_int_eq(count_rows("versions"), 4);
    for (int i = 0; i < 2; i++)
        resource_free(rs[i]);
}
END_TEST

START_TEST(unreadable_scope_is_unknown_not_deleted)
{
    struct resource *rs[1] = { bucket("a", "Enabled") };
    struct snapshot_scope denied = scope_ok;
    struct snapshot_stats s;
    enum collect_status cs;
    char *detail = NULL;
    struct perr err = { 0 };

    write_batch(rs, 1, &scope_ok, 1000);
    denied.status = COLLECT_ACCESS_DENIED;
    denied.detail = "s3:ListAllMyBuckets";
    s = write_batch(NULL, 0, &denied, 2000);
    ck_assert_int_eq(s.tombstones, 0);
    ck_assert_int_eq(
        snapshot_coverage(db, "123456789012", "eu-central-1", "aws_s3_bucket", &cs, &detail, &err),
        0);
    ck_assert_int_eq(cs, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(detail, "s3:ListAllMyBuckets");
    free(detail);
    ck_assert_int_eq(
        snapshot_coverage(db, "123456789012", "eu-west-1", "aws_s3_bucket", &cs, NULL, &err), 0);
    ck_assert_int_eq(cs, COLLECT_NOT_COLLECTED);
    resource_free(rs[0]);
}
END_TEST

START_TEST(batch_validation)
{
    struct resource *rs[1] = { bucket("a", "Enabled") };
    struct snapshot_scope other = { "123456789012", "eu-west-1", "aws_s3_bucket", COLLECT_OK,
                                    NULL };
    struct snapshot_batch b = { .cycle_id = 1,
                                .observed_at = 1,
                                .scopes = &other,
                                .n_scopes = 1,
                                .resources = rs,
                                .n_resources = 1 };
    struct perr err = { 0 };
    ck_assert_int_eq(snapshot_write(db, &b, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "resource 123456789012/eu-central-1/aws_s3_bucket/a is outside the "
                              "batch's scopes");
    /* Nothing was written, not even coverage. */
    ck_assert_int_eq(count_rows("coverage"), 0);
    free(rs[0]->id);
    rs[0]->id = strdup("");
    b.scopes = &scope_ok;
    ck_assert_int_eq(snapshot_write(db, &b, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "resource 0 of the batch lacks account/region/type/id");
    resource_free(rs[0]);
}
END_TEST

struct hist {
    int n;
    int tombstones;
    char versioning[8][16];
};

static int hist_cb(int64_t id, int64_t at, const struct resource *r, void *ud)
{
    struct hist *h = ud;
    if (!r)
        h->tombstones++;
    else
        snprintf(h->versioning[h->n], sizeof(h->versioning[0]), "%s",
                 json_string_value(json_object_get(r->attrs, "versioning")));
    h->n++;
    return 0;
}

static int count_cb(const struct resource *r, int64_t first, int64_t changed, int64_t deleted,
                    void *ud)
{
    (*(int *)ud)++;
    ck_assert_str_eq(r->type, "aws_s3_bucket");
    return 0;
}

START_TEST(reading)
{
    struct resource *rs[2] = { bucket("a", "Enabled"), bucket("b", "Enabled") };
    struct snapshot_filter all = { 0 }, deleted = { .include_deleted = true },
                           west = { .region = "eu-west-1" };
    struct resource *got = NULL;
    struct hist h = { 0 };
    struct perr err = { 0 };
    char *key = NULL;
    int n = 0;

    write_batch(rs, 2, &scope_ok, 1000);
    json_object_set_new(rs[0]->attrs, "versioning", json_string("Suspended"));
    write_batch(rs, 1, &scope_ok, 2000);
    ck_assert_int_eq(
        snapshot_history(db, "123456789012/eu-central-1/aws_s3_bucket/a", hist_cb, &h, &err), 0);
    ck_assert_int_eq(h.n, 2);
    ck_assert_str_eq(h.versioning[0], "Enabled");
    ck_assert_str_eq(h.versioning[1], "Suspended");
    memset(&h, 0, sizeof(h));
    snapshot_history(db, "123456789012/eu-central-1/aws_s3_bucket/b", hist_cb, &h, &err);
    ck_assert_int_eq(h.n, 2);
    ck_assert_int_eq(h.tombstones, 1);

    ck_assert_int_eq(snapshot_foreach(db, &all, count_cb, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(snapshot_foreach(db, &deleted, count_cb, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    n = 0;
    ck_assert_int_eq(snapshot_foreach(db, &west, count_cb, &n, &err), 0);
    ck_assert_int_eq(n, 0);

    ck_assert_int_eq(snapshot_get(db, "arn:aws:s3:::a", &got, &key, &err), 0);
    ck_assert_str_eq(key, "123456789012/eu-central-1/aws_s3_bucket/a");
    ck_assert_str_eq(got->source, "describe");
    ck_assert_str_eq(json_string_value(json_object_get(got->tags, "owner")), "platform");
    resource_free(got);
    free(key);
    ck_assert_int_eq(snapshot_get(db, "aws_s3_bucket:a", &got, NULL, &err), 0);
    resource_free(got);
    ck_assert_int_eq(snapshot_get(db, "aws_s3_bucket:zzz", &got, NULL, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "no resource aws_s3_bucket:zzz in the database");
    for (int i = 0; i < 2; i++)
        resource_free(rs[i]);
}
END_TEST

START_TEST(cycles)
{
    int64_t id = 0;
    struct perr err = { 0 };
    struct snapshot_stats stats = { .resources_seen = 10, .versions_written = 2 };
    json_t *unknown = json_pack("[{s:s}]", "type", "aws_instance");
    struct snapshot_cycle_end end = {
        .status = "partial", .api_calls = 7, .throttled = 1, .unknown = unknown
    };
    sqlite3_stmt *st;
    ck_assert_int_eq(snapshot_cycle_begin(db, "ec2", 1000, &id, &err), 0);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(snapshot_cycle_finish(db, id, &end, &stats, 2000, &err), 0);
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
                                        "SELECT status, api_calls, throttled, resources_seen, "
                                        "versions_written, unknown FROM cycles WHERE id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "partial");
    ck_assert_int_eq(sqlite3_column_int(st, 1), 7);
    ck_assert_int_eq(sqlite3_column_int(st, 2), 1);
    ck_assert_int_eq(sqlite3_column_int(st, 3), 10);
    ck_assert_int_eq(sqlite3_column_int(st, 4), 2);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 5), "[{\"type\":\"aws_instance\"}]");
    sqlite3_finalize(st);
    json_decref(unknown);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, versions_only_on_change);
    tcase_add_test(tc, tombstones_and_reappearance);
    tcase_add_test(tc, unreadable_scope_is_unknown_not_deleted);
    tcase_add_test(tc, batch_validation);
    tcase_add_test(tc, reading);
    tcase_add_test(tc, cycles);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
