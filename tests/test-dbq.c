#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbq.h"
#include "testutil.h"

struct ctx {
    int order[16];
    int n;
    int results[16];
    int done;
    bool closed;
};

struct job_arg {
    struct ctx *ctx;
    int id;
};

static int work(struct db *db, void *ud)
{
    struct job_arg *a = ud;
    struct perr err = { 0 };
    char key[16];
    snprintf(key, sizeof(key), "job%d", a->id);
    a->ctx->order[a->ctx->n++] = a->id; /* serial: no two jobs run at once */
    if (db_state_set(db, key, "x", a->id, &err) < 0)
        return err.code;
    return a->id == 3 ? -EIO : 0;
}

static void done(int result, void *ud)
{
    struct job_arg *a = ud;
    a->ctx->results[a->id] = result;
    a->ctx->done++;
}

static void closed(void *ud)
{
    ((struct ctx *)ud)->closed = true;
}

START_TEST(serial_in_order)
{
    char *tmp = tu_tmpdir(), *path = tu_path_join(tmp, "q.db");
    struct db *db = NULL;
    struct dbq *q = NULL;
    struct perr err = { 0 };
    struct ctx ctx = { 0 };
    struct job_arg args[6];
    uv_loop_t loop;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(db_open(path, DB_READWRITE, &db, &err), 0);
    ck_assert_int_eq(dbq_new(&loop, db, &q), 0);
    for (int i = 0; i < 6; i++) {
        args[i] = (struct job_arg){ &ctx, i };
        ck_assert_int_eq(dbq_submit(q, work, done, &args[i]), 0);
    }
    ck_assert_int_eq((int)dbq_pending(q), 6);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(ctx.done, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(ctx.order[i], i);
    ck_assert_int_eq(ctx.results[3], -EIO);
    ck_assert_int_eq(ctx.results[4], 0);
    dbq_close(q, closed, &ctx);
    ck_assert(ctx.closed);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    tu_rmrf(tmp);
    free(tmp);
    free(path);
}
END_TEST

START_TEST(close_cancels_queued)
{
    char *tmp = tu_tmpdir(), *path = tu_path_join(tmp, "q.db");
    struct db *db = NULL;
    struct dbq *q = NULL;
    struct perr err = { 0 };
    struct ctx ctx = { 0 };
    struct job_arg args[4];
    uv_loop_t loop;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(db_open(path, DB_READWRITE, &db, &err), 0);
    ck_assert_int_eq(dbq_new(&loop, db, &q), 0);
    for (int i = 0; i < 4; i++) {
        args[i] = (struct job_arg){ &ctx, i };
        ck_assert_int_eq(dbq_submit(q, work, done, &args[i]), 0);
    }
    /* Job 0 is running on the pool; 1..3 are queued and get cancelled. */
    dbq_close(q, closed, &ctx);
    ck_assert_int_eq(ctx.results[1], -ECANCELED);
    ck_assert_int_eq(ctx.results[3], -ECANCELED);
    ck_assert(!ctx.closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert(ctx.closed);
    ck_assert_int_eq(ctx.results[0], 0);
    ck_assert_int_eq(ctx.done, 4);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    tu_rmrf(tmp);
    free(tmp);
    free(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dbq");
    TCase *tc = tcase_create("dbq");
    tcase_add_test(tc, serial_in_order);
    tcase_add_test(tc, close_cancels_queued);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
