#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "jsonutil.h"
#include "posture.h"
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
    p = tu_path_join(tmp, "p.db");
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

static void rds(bool encrypted, int64_t now)
{
    struct resource *r = NULL;
    struct snapshot_scope scope = { "111111111111", "eu-central-1", "aws_db_instance", COLLECT_OK,
                                    NULL };
    struct snapshot_batch b = { .cycle_id = 1,
                                .observed_at = now,
                                .scopes = &scope,
                                .n_scopes = 1,
                                .resources = &r,
                                .n_resources = 1 };
    struct analysis_stats st;
    struct perr err = { 0 };
    ck_assert_int_eq(resource_new_with("aws", "111111111111", "eu-central-1", "aws_db_instance",
                                       NULL, "db1", NULL, &r),
                     0);
    json_object_set_new(r->attrs, "storage_encrypted", json_boolean(encrypted));
    ck_assert_int_eq(snapshot_write(db, &b, NULL, &err), 0);
    resource_free(r);
    ck_assert_msg(analysis_run(db, rt, now, &st, &err) == 0, "%s", err.msg);
}

static json_t *find_article(json_t *p, const char *list, const char *ref)
{
    size_t i;
    json_t *a;
    json_array_foreach (json_object_get(p, list), i, a) {
        if (str_eq(json_string_value(json_object_get(a, "article")), ref))
            return a;
    }
    ck_abort_msg("no article %s in %s", ref, list);
    return NULL;
}

START_TEST(now_and_then)
{
    json_t *now = NULL, *then = NULL, *a;
    struct perr err = { 0 };
    rds(false, 1000);
    rds(true, 5000);
    ck_assert_int_eq(posture_compute(db, rt->cat, 0, &now, &err), 0);
    ck_assert_int_eq(posture_compute(db, rt->cat, 2000, &then, &err), 0);
    /* Then: the instance was unencrypted (21.2.h, DORA Art 9 failing). */
    a = find_article(then, "nis2", "21.2.h");
    ck_assert_int_ge(json_integer_value(json_object_get(a, "fail")), 1);
    ck_assert_int_ge(json_integer_value(json_object_get(a, "failing_controls")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(a, "title")), "Cryptography and encryption");
    /* Now it is not. */
    a = find_article(now, "nis2", "21.2.h");
    ck_assert_int_eq(json_integer_value(json_path_get(now, "totals.controls")),
                     (json_int_t)controls_count_enabled(rt->cat));
    {
        /* enc-rds-instance passes now: fewer failures than then. */
        json_int_t f_now = json_integer_value(json_object_get(a, "fail"));
        json_int_t f_then =
            json_integer_value(json_object_get(find_article(then, "nis2", "21.2.h"), "fail"));
        ck_assert_int_lt(f_now, f_then);
    }
    /* DORA articles are in numeric order. */
    {
        size_t i;
        json_t *v;
        long prev = 0;
        json_array_foreach (json_object_get(now, "dora"), i, v) {
            long n = strtol(json_string_value(json_object_get(v, "article")) + 4, NULL, 10);
            ck_assert_int_ge(n, prev);
            prev = n;
        }
    }
    json_decref(now);
    json_decref(then);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("posture");
    TCase *tc = tcase_create("posture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, now_and_then);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
