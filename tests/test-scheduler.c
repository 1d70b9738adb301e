#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "scheduler.h"
#include "testutil.h"
#include "util.h"

static uint32_t fixed_rnd(void *ud)
{
    return *(uint32_t *)ud;
}

START_TEST(intervals_and_jitter)
{
    uint32_t r = 250;
    struct sched *s = NULL;
    char **due;
    ck_assert_int_eq(sched_new(fixed_rnd, &r, &s), 0);
    ck_assert_int_eq(sched_set(s, "ec2", 60000, 1000, 0, 10000), 0);
    ck_assert_int_eq(sched_set(s, "iam", 3600000, 0, 5000, 10000), 0);
    ck_assert_int_eq(sched_due_of(s, "ec2"), 10250); /* now + 250 % 1001 */
    ck_assert_int_eq(sched_due_of(s, "iam"), 15000);
    ck_assert_int_eq(sched_next_due(s), 10250);
    due = sched_take_due(s, 10300);
    ck_assert_int_eq((int)strv_length(due), 1);
    ck_assert_str_eq(due[0], "ec2");
    strv_free(due);
    /* A running job is never due, however long it takes. */
    ck_assert(sched_running(s, "ec2"));
    ck_assert_int_eq(sched_next_due(s), 15000);
    due = sched_take_due(s, 999999);
    ck_assert_int_eq((int)strv_length(due), 1);
    ck_assert_str_eq(due[0], "iam");
    strv_free(due);
    ck_assert_int_eq(sched_next_due(s), INT64_MAX);
    sched_done(s, "ec2", 20000);
    ck_assert_int_eq(sched_due_of(s, "ec2"), 20000 + 60000 + 250);
    sched_free(s);
}
END_TEST

START_TEST(update_trigger_retain)
{
    uint32_t r = 0;
    struct sched *s = NULL;
    char *keep_list[] = { (char *)"ec2", NULL };
    ck_assert_int_eq(sched_new(fixed_rnd, &r, &s), 0);
    ck_assert_int_eq(sched_set(s, "ec2", 3600000, 0, 3600000, 0), 0);
    /* The interval shrinks to 1 min: no waiting an hour for the old due. */
    ck_assert_int_eq(sched_set(s, "ec2", 60000, 0, 0, 1000), 0);
    ck_assert_int_eq(sched_due_of(s, "ec2"), 61000);
    sched_trigger(s, "ec2", 2000);
    ck_assert_int_eq(sched_next_due(s), 2000);
    ck_assert_int_eq(sched_set(s, "s3", 60000, 0, 0, 0), 0);
    sched_retain(s, keep_list);
    ck_assert_int_eq(sched_due_of(s, "s3"), -1);
    ck_assert_int_eq(sched_set(s, "bad", 0, 0, 0, 0), -EINVAL);
    sched_remove(s, "ec2");
    ck_assert_int_eq(sched_next_due(s), INT64_MAX);
    sched_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scheduler");
    TCase *tc = tcase_create("scheduler");
    tcase_add_test(tc, intervals_and_jitter);
    tcase_add_test(tc, update_trigger_retain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
