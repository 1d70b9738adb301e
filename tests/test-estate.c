#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "estate.h"
#include "testutil.h"
#include "util.h"

static struct resource *res(const char *account, const char *region, const char *type,
                            const char *id)
{
    struct resource *r = NULL;
    ck_assert_int_eq(resource_new_with("aws", account, region, type, NULL, id, NULL, &r), 0);
    return r;
}

struct seen {
    char **ids;
    int stop_at; /* stop (return 7) when this many were seen; 0: never */
};

static int remember(const struct resource *r, void *userdata)
{
    struct seen *s = userdata;
    ck_assert_int_eq(strv_push(&s->ids, r->id), 0);
    if (s->stop_at && (int)strv_length(s->ids) == s->stop_at)
        return 7;
    return 0;
}

static char *joined(struct seen *s)
{
    char *j = strv_join(s->ids, ",");
    s->ids = strv_free(s->ids);
    return j;
}

START_TEST(foreach_and_get)
{
    struct estate_mem *m = NULL;
    const struct estate_ops *ops = estate_mem_ops();
    struct seen s = { NULL, 0 };
    char *j;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    /* Added out of order on purpose. */
    ck_assert_int_eq(estate_mem_add(m, res("1", "eu-west-1", "aws_vpc", "vpc-b")), 0);
    ck_assert_int_eq(estate_mem_add(m, res("1", "eu-west-1", "aws_vpc", "vpc-a")), 0);
    ck_assert_int_eq(estate_mem_add(m, res("1", "eu-west-2", "aws_vpc", "vpc-c")), 0);
    ck_assert_int_eq(estate_mem_add(m, res("2", "eu-west-1", "aws_vpc", "vpc-d")), 0);
    ck_assert_int_eq(estate_mem_add(m, res("1", "eu-west-1", "aws_subnet", "subnet-1")), 0);
    ck_assert_int_eq(estate_mem_add(m, res("1", "global", "aws_iam_user", "alice")), 0);

    ck_assert_int_eq(ops->foreach_resource(m, "aws_vpc", "1", "eu-west-1", remember, &s), 0);
    j = joined(&s);
    ck_assert_str_eq(j, "vpc-a,vpc-b");
    free(j);
    ck_assert_int_eq(ops->foreach_resource(m, "aws_vpc", "2", "eu-west-1", remember, &s), 0);
    j = joined(&s);
    ck_assert_str_eq(j, "vpc-d");
    free(j);
    ck_assert_int_eq(ops->foreach_resource(m, "aws_vpc", "3", "eu-west-1", remember, &s), 0);
    ck_assert_ptr_null(s.ids);
    ck_assert_int_eq(ops->foreach_resource(m, "aws_iam_user", "1", "global", remember, &s), 0);
    j = joined(&s);
    ck_assert_str_eq(j, "alice");
    free(j);
    /* A callback's non-zero return stops the walk and is returned. */
    s.stop_at = 1;
    ck_assert_int_eq(ops->foreach_resource(m, "aws_vpc", "1", "eu-west-1", remember, &s), 7);
    j = joined(&s);
    ck_assert_str_eq(j, "vpc-a");
    free(j);
    s.stop_at = 0;

    ck_assert_int_eq(ops->get_resource(m, "aws_vpc", "1", "eu-west-2", "vpc-c", remember, &s), 0);
    j = joined(&s);
    ck_assert_str_eq(j, "vpc-c");
    free(j);
    ck_assert_int_eq(ops->get_resource(m, "aws_vpc", "1", "eu-west-1", "vpc-c", remember, &s), 0);
    ck_assert_ptr_null(s.ids);
    ck_assert_int_eq(ops->get_resource(m, "aws_vpc", "1", "eu-west-1", "vpc-zz", remember, &s), 0);
    ck_assert_ptr_null(s.ids);

    /* Adding after a query re-sorts. */
    ck_assert_int_eq(estate_mem_add(m, res("1", "eu-west-1", "aws_vpc", "vpc-0")), 0);
    ck_assert_int_eq(ops->foreach_resource(m, "aws_vpc", "1", "eu-west-1", remember, &s), 0);
    j = joined(&s);
    ck_assert_str_eq(j, "vpc-0,vpc-a,vpc-b");
    free(j);
    estate_mem_free(m);
}
END_TEST

START_TEST(duplicates_and_bad_input)
{
    struct estate_mem *m = NULL;
    struct resource *r = res("1", "eu-west-1", "aws_vpc", "vpc-a");
    struct seen s = { NULL, 0 };

    ck_assert_int_eq(estate_mem_new(&m), 0);
    free(r->id);
    r->id = NULL;
    ck_assert_int_eq(estate_mem_add(m, r), -EINVAL); /* not taken */
    resource_free(r);
    ck_assert_int_eq(estate_mem_add(m, NULL), -EINVAL);
    ck_assert_int_eq(estate_mem_add(m, res("1", "eu-west-1", "aws_vpc", "vpc-a")), 0);
    ck_assert_int_eq(estate_mem_add(m, res("1", "eu-west-1", "aws_vpc", "vpc-a")), 0);
    ck_assert_int_eq(estate_mem_seal(m), -EEXIST);
    /* Queries fail the same way and never call back. */
    ck_assert_int_eq(
        estate_mem_ops()->foreach_resource(m, "aws_vpc", "1", "eu-west-1", remember, &s), -EEXIST);
    ck_assert_ptr_null(s.ids);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, "1", "global", true), -EINVAL);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, NULL, "eu-west-1", true), -EINVAL);
    ck_assert_int_eq(estate_mem_set_coverage(m, "1", NULL, "aws_vpc", COLLECT_OK), -EINVAL);
    ck_assert_int_eq(estate_mem_add_global_type(m, NULL), -EINVAL);
    estate_mem_free(m);
    ck_assert_ptr_null(estate_mem_free(NULL));
}
END_TEST

START_TEST(coverage)
{
    struct estate_mem *m = NULL;
    const struct estate_ops *ops = estate_mem_ops();
    enum collect_status st;
    static const char *const types[] = { "aws_vpc", "aws_subnet", NULL };

    ck_assert_int_eq(estate_mem_new(&m), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, "1", "eu-west-1", types), 0);
    ck_assert_int_eq(estate_mem_set_coverage(m, "1", "eu-west-1", "aws_subnet", COLLECT_THROTTLED),
                     0);
    ck_assert_int_eq(ops->coverage(m, "1", "eu-west-1", "aws_vpc", &st), 0);
    ck_assert_int_eq(st, COLLECT_OK);
    ck_assert_int_eq(ops->coverage(m, "1", "eu-west-1", "aws_subnet", &st), 0);
    ck_assert_int_eq(st, COLLECT_THROTTLED);
    ck_assert_int_eq(ops->coverage(m, "1", "eu-west-2", "aws_vpc", &st), 0);
    ck_assert_int_eq(st, COLLECT_NOT_COLLECTED);
    ck_assert_int_eq(ops->coverage(m, "2", "eu-west-1", "aws_vpc", &st), 0);
    ck_assert_int_eq(st, COLLECT_NOT_COLLECTED);
    estate_mem_free(m);
}
END_TEST

struct scopes {
    char **lines;
};

static int remember_scope(const struct estate_scope *s, void *userdata)
{
    struct scopes *sc = userdata;
    char *l = str_printf("%s:%s:%s:%d", s->partition, s->account, s->region, s->in_use);
    ck_assert_int_eq(strv_consume(&sc->lines, l), 0);
    return 0;
}

START_TEST(scopes_and_global_types)
{
    struct estate_mem *m = NULL;
    const struct estate_ops *ops = estate_mem_ops();
    struct scopes sc = { NULL };
    char *j;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, "2", "eu-west-1", true), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, "aws-cn", "1", "cn-north-1", false), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, "1", "eu-central-1", true), 0);
    /* Updating an existing scope. */
    ck_assert_int_eq(estate_mem_add_scope(m, "aws-cn", "1", "cn-north-1", true), 0);
    ck_assert_int_eq(ops->foreach_scope(m, remember_scope, &sc), 0);
    j = strv_join(sc.lines, " ");
    ck_assert_str_eq(j, "aws-cn:1:cn-north-1:1 aws:1:eu-central-1:1 aws:2:eu-west-1:1");
    free(j);
    strv_free(sc.lines);

    ck_assert(!ops->type_is_global(m, "aws_iam_user"));
    ck_assert_int_eq(estate_mem_add_global_type(m, "aws_iam_user"), 0);
    ck_assert_int_eq(estate_mem_add_global_type(m, "aws_iam_user"), 0);
    ck_assert(ops->type_is_global(m, "aws_iam_user"));
    ck_assert(!ops->type_is_global(m, "aws_vpc"));
    estate_mem_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("estate");
    TCase *tc = tcase_create("estate");
    tcase_add_test(tc, foreach_and_get);
    tcase_add_test(tc, duplicates_and_bad_input);
    tcase_add_test(tc, coverage);
    tcase_add_test(tc, scopes_and_global_types);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
