#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estate_db.h"
#include "snapshot.h"
#include "testutil.h"

static char *tmp;
static struct db *db;
static struct typemap *tm;

static struct resource *vpc(const char *region, const char *id, bool is_default)
{
    struct resource *r = NULL;
    ck_assert_int_eq(
        resource_new_with("aws", "111111111111", region, "aws_vpc", "AWS::EC2::VPC", id, NULL, &r),
        0);
    json_object_set_new(r->attrs, "default", json_boolean(is_default));
    json_object_set_new(r->attrs, "cidr_block", json_string("10.0.0.0/16"));
    return r;
}

static void put(const char *region, struct resource **rs, size_t n)
{
    struct snapshot_scope scope = { "111111111111", region, "aws_vpc", COLLECT_OK, NULL };
    struct snapshot_batch b = { .cycle_id = 1,
                                .observed_at = 1000,
                                .scopes = &scope,
                                .n_scopes = 1,
                                .resources = rs,
                                .n_resources = n };
    struct perr err = { 0 };
    ck_assert_msg(snapshot_write(db, &b, NULL, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        resource_free(rs[i]);
}

static void setup(void)
{
    struct perr err = { 0 };
    char *p;
    tmp = tu_tmpdir();
    p = tu_path_join(tmp, "e.db");
    ck_assert_int_eq(db_open(p, DB_READWRITE, &db, &err), 0);
    free(p);
    ck_assert_msg(typemap_load_embedded(&tm, &err) == 0, "%s", err.msg);
    {
        struct resource *a[] = { vpc("eu-central-1", "vpc-b", false),
                                 vpc("eu-central-1", "vpc-a", true) };
        struct resource *b[] = { vpc("eu-west-1", "vpc-default", true) };
        put("eu-central-1", a, 2);
        put("eu-west-1", b, 1);
    }
}

static void teardown(void)
{
    typemap_free(tm);
    db_close(db);
    tu_rmrf(tmp);
    free(tmp);
}

struct acc {
    char ids[256];
    int n;
};

static int collect_ids(const struct resource *r, void *ud)
{
    struct acc *a = ud;
    strcat(a->ids, r->id);
    strcat(a->ids, ",");
    a->n++;
    return 0;
}

static int collect_scopes(const struct estate_scope *s, void *ud)
{
    struct acc *a = ud;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s:%s:%d,", s->partition, s->region, s->in_use);
    strcat(a->ids, buf);
    return 0;
}

/* Nested lookup from inside an iteration, as relations do. */
struct nest {
    struct estate_db *e;
    int found;
};

static int inner(const struct resource *r, void *ud)
{
    ((struct nest *)ud)->found++;
    return 0;
}

static int outer(const struct resource *r, void *ud)
{
    struct nest *n = ud;
    return estate_db_ops()->get_resource(n->e, "aws_vpc", "111111111111", "eu-west-1",
                                         "vpc-default", inner, n);
}

START_TEST(walks_and_lookups)
{
    const struct estate_ops *ops = estate_db_ops();
    struct estate_db *e = NULL;
    struct perr err = { 0 };
    struct acc a = { { 0 }, 0 };
    enum collect_status cs;
    struct nest n = { 0 };

    ck_assert_int_eq(estate_db_new(db, tm, 0, &e, &err), 0);
    ck_assert_int_eq(
        ops->foreach_resource(e, "aws_vpc", "111111111111", "eu-central-1", collect_ids, &a), 0);
    ck_assert_str_eq(a.ids, "vpc-a,vpc-b,"); /* ordered by id */
    /* Second walk comes from the cache, same answer. */
    memset(&a, 0, sizeof(a));
    ops->foreach_resource(e, "aws_vpc", "111111111111", "eu-central-1", collect_ids, &a);
    ck_assert_str_eq(a.ids, "vpc-a,vpc-b,");
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(
        ops->get_resource(e, "aws_vpc", "111111111111", "eu-central-1", "vpc-b", collect_ids, &a),
        0);
    ck_assert_int_eq(a.n, 1);
    ck_assert_int_eq(
        ops->get_resource(e, "aws_vpc", "111111111111", "eu-central-1", "vpc-zz", collect_ids, &a),
        0);
    ck_assert_int_eq(a.n, 1);
    ck_assert_int_eq(ops->coverage(e, "111111111111", "eu-west-1", "aws_vpc", &cs), 0);
    ck_assert_int_eq(cs, COLLECT_OK);
    ck_assert_int_eq(ops->coverage(e, "111111111111", "eu-west-1", "aws_instance", &cs), 0);
    ck_assert_int_eq(cs, COLLECT_NOT_COLLECTED);
    /* Only a default VPC: the region is not in use. */
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(ops->foreach_scope(e, collect_scopes, &a), 0);
    ck_assert_str_eq(a.ids, "aws:eu-central-1:1,aws:eu-west-1:0,");
    ck_assert(ops->type_is_global(e, "aws_iam_user"));
    ck_assert(!ops->type_is_global(e, "aws_vpc"));
    n.e = e;
    ck_assert_int_eq(ops->foreach_resource(e, "aws_vpc", "111111111111", "eu-central-1", outer, &n),
                     0);
    ck_assert_int_eq(n.found, 2);
    estate_db_free(e);
}
END_TEST

START_TEST(tiny_cache_still_correct)
{
    const struct estate_ops *ops = estate_db_ops();
    struct estate_db *e = NULL;
    struct perr err = { 0 };
    struct acc a = { { 0 }, 0 };
    struct nest n = { 0 };
    /* A budget smaller than any group: nothing is cached, results equal. */
    ck_assert_int_eq(estate_db_new(db, tm, 1, &e, &err), 0);
    ops->foreach_resource(e, "aws_vpc", "111111111111", "eu-central-1", collect_ids, &a);
    ck_assert_str_eq(a.ids, "vpc-a,vpc-b,");
    n.e = e;
    ck_assert_int_eq(ops->foreach_resource(e, "aws_vpc", "111111111111", "eu-central-1", outer, &n),
                     0);
    ck_assert_int_eq(n.found, 2);
    estate_db_free(e);
}
END_TEST

START_TEST(damaged_document)
{
    const struct estate_ops *ops = estate_db_ops();
    struct estate_db *e = NULL;
    struct perr err = { 0 };
    struct acc a = { { 0 }, 0 };
    ck_assert_int_eq(db_exec(db, "UPDATE blobs SET doc = '{broken'", &err), 0);
    ck_assert_int_eq(estate_db_new(db, tm, 0, &e, &err), 0 - EBADMSG);
    ck_assert(strstr(err.msg, "damaged") != NULL);
    (void)ops;
    (void)a;
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("estate_db");
    TCase *tc = tcase_create("estate_db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, walks_and_lookups);
    tcase_add_test(tc, tiny_cache_still_correct);
    tcase_add_test(tc, damaged_document);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
