/* The S3 state backend end to end: lib/statesrc through plumb's AWS client
 * (statesrc_aws_s3) against moto_server, with workspaces, an SSE-KMS
 * object, ETag skips, a broken object and a deleted workspace.  Exits 77
 * when moto_server is not installed. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "awsclient.h"
#include "db.h"
#include "dbq.h"
#include "statesrc.h"
#include "testutil.h"
#include "typemap.h"

static struct tu_moto moto;

/* The AWS client reads its environment through this. */
static const char *moto_getenv(const char *name)
{
    const char *const *env = tu_moto_env(&moto);
    size_t n = strlen(name);
    for (size_t i = 0; env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

static char *state_text(int serial, const char *bucket)
{
    char *s = NULL;
    ck_assert_int_ge(
        asprintf(&s,
                 "{\"version\": 4, \"terraform_version\": \"1.5.7\", \"serial\": %d, "
                 "\"lineage\": \"it\", \"outputs\": {}, \"resources\": [{\"mode\": \"managed\", "
                 "\"type\": \"aws_s3_bucket\", \"name\": \"b\", \"provider\": "
                 "\"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\", \"instances\": "
                 "[{\"schema_version\": 0, \"attributes\": {\"id\": \"%s\", \"bucket\": \"%s\", "
                 "\"arn\": \"arn:aws:s3:::%s\", \"region\": \"eu-central-1\"}}]}]}",
                 serial, bucket, bucket, bucket),
        0);
    return s;
}

static void put(const char *dir, const char *cmd, const char *key, const char *text)
{
    char *file = tu_path_join(dir, "object");
    const char *args[] = { cmd, "tfstate", key, file, NULL };
    tu_write_file(file, text);
    free(tu_moto_seed(&moto, "statesrc_s3.py", args));
    free(file);
}

struct rig {
    uv_loop_t loop;
    struct aws_client *aws;
    struct statesrc_aws *s3;
    struct dbq *q;
    char *dbpath;
};

struct captured {
    bool done;
    int error;
    char *message;
    json_t *docs;
};

static void capture(const struct statesrc_report *rep, void *ud)
{
    struct captured *c = ud;
    c->done = true;
    c->error = rep->error;
    free(c->message);
    c->message = strdup(rep->message);
    json_decref(c->docs);
    c->docs = json_array();
    for (size_t i = 0; i < rep->n_docs; i++)
        json_array_append_new(c->docs,
                              json_pack("{s:s, s:s, s:s}", "name", rep->docs[i].name, "outcome",
                                        statesrc_outcome_name(rep->docs[i].outcome), "message",
                                        rep->docs[i].message));
}

static const char *doc(const struct captured *c, size_t i, const char *field)
{
    json_t *d = json_array_get(c->docs, i);
    ck_assert_msg(d != NULL, "no document %zu", i);
    return json_string_value(json_object_get(d, field));
}

static void poll_once(struct rig *g, struct statesrc *s, struct captured *c)
{
    struct statesrc_env env = {
        .loop = &g->loop,
        .dbq = g->q,
        .s3 = &statesrc_aws_s3,
        .s3_userdata = g->s3,
    };
    struct perr err = { 0 };
    c->done = false;
    ck_assert_msg(statesrc_poll(&env, s, capture, c, &err) == 0, "%s", err.msg);
    while (!c->done)
        uv_run(&g->loop, UV_RUN_ONCE);
}

static void set_true(void *ud)
{
    *(bool *)ud = true;
}

static char *declared(struct rig *g)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    sqlite3_stmt *st;
    char *out = strdup("");
    ck_assert_int_eq(db_open(g->dbpath, DB_READONLY, &db, &err), 0);
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
                                        "SELECT source || '=' || id FROM declared ORDER BY source",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char *n = NULL;
        ck_assert_int_ge(asprintf(&n, "%s%s%s", out, *out ? " " : "", sqlite3_column_text(st, 0)),
                         0);
        free(out);
        out = n;
    }
    sqlite3_finalize(st);
    db_close(db);
    return out;
}

static void assert_declared(struct rig *g, const char *want)
{
    char *got = declared(g);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_s3_backend)
{
    char *dir = tu_tmpdir(), *t;
    struct rig g = { 0 };
    struct config_state cfg = { 0 };
    char *ws[] = { (char *)"*", NULL };
    struct statesrc *s = NULL;
    struct captured c = { 0 };
    struct perr err = { 0 };
    struct aws_client_options ao = { .getenv = moto_getenv };
    struct db *db = NULL;
    bool closed_a = false, closed_q = false;

    tu_moto_start(&moto);
    {
        const char *args[] = { "bucket", "tfstate", NULL };
        free(tu_moto_seed(&moto, "statesrc_s3.py", args));
    }
    t = state_text(1, "default-b");
    put(dir, "put", "net/terraform.tfstate", t);
    free(t);
    t = state_text(1, "dev-b");
    put(dir, "put", "env:/dev/net/terraform.tfstate", t);
    free(t);
    /* SSE-KMS is transparent to GetObject. */
    t = state_text(1, "prod-b");
    put(dir, "put-kms", "env:/prod/net/terraform.tfstate", t);
    free(t);

    ck_assert_int_eq(uv_loop_init(&g.loop), 0);
    ao.loop = &g.loop;
    ck_assert_msg(aws_client_new(&ao, &g.aws, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(statesrc_aws_new(g.aws, &g.s3, &err), 0);
    g.dbpath = tu_path_join(dir, "plumb.db");
    ck_assert_msg(db_open(g.dbpath, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dbq_new(&g.loop, db, &g.q), 0);

    cfg.name = (char *)"net";
    cfg.location = (char *)"s3://tfstate/net/terraform.tfstate";
    cfg.kind = STATE_S3;
    cfg.region = (char *)"eu-central-1";
    cfg.workspaces = ws;
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);

    poll_once(&g, s, &c);
    ck_assert_msg(c.error == 0, "%s", c.message);
    ck_assert_int_eq(json_array_size(c.docs), 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(doc(&c, i, "outcome"), "updated");
    assert_declared(&g, "net=default-b net:dev=dev-b net:prod=prod-b");

    /* Unchanged objects are skipped by ETag. */
    poll_once(&g, s, &c);
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(doc(&c, i, "outcome"), "unchanged");

    /* A broken object keeps its rows; a deleted workspace goes. */
    put(dir, "put", "env:/dev/net/terraform.tfstate", "{\"version\": 4, \"resources\": [");
    {
        const char *args[] = { "delete", "tfstate", "env:/prod/net/terraform.tfstate", NULL };
        free(tu_moto_seed(&moto, "statesrc_s3.py", args));
    }
    poll_once(&g, s, &c);
    ck_assert_int_eq(c.error, -EINVAL);
    {
        /* The parser's own message, naming the object. */
        const char *broken = "{\"version\": 4, \"resources\": [";
        const char *loc = "s3://tfstate/env:/dev/net/terraform.tfstate";
        struct tfstate *st = NULL;
        char *want = NULL;
        ck_assert_int_lt(tfstate_parse(loc, broken, strlen(broken), NULL, &st, &err), 0);
        ck_assert_int_ge(asprintf(&want, "state net: %s", err.msg), 0);
        ck_assert(str_has_prefix(want, "state net: s3://tfstate/env:/dev/net/terraform.tfstate"));
        ck_assert_str_eq(c.message, want);
        free(want);
    }
    ck_assert_str_eq(doc(&c, 0, "outcome"), "unchanged");
    ck_assert_str_eq(doc(&c, 1, "outcome"), "error");
    ck_assert_str_eq(doc(&c, 2, "name"), "net:prod");
    ck_assert_str_eq(doc(&c, 2, "outcome"), "removed");
    assert_declared(&g, "net=default-b net:dev=dev-b");

    /* A bucket that does not exist. */
    statesrc_free(s);
    cfg.location = (char *)"s3://no-such-bucket/net/terraform.tfstate";
    cfg.workspaces = NULL;
    cfg.name = (char *)"gone";
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);
    poll_once(&g, s, &c);
    ck_assert_int_eq(c.error, -ENOENT);
    ck_assert(str_has_prefix(c.message, "state gone: s3://no-such-bucket/net/terraform.tfstate: "
                                        "NoSuchBucket"));

    statesrc_free(s);
    free(c.message);
    json_decref(c.docs);
    statesrc_aws_free(g.s3);
    aws_client_close(g.aws, set_true, &closed_a);
    dbq_close(g.q, set_true, &closed_q);
    while (!closed_a || !closed_q)
        uv_run(&g.loop, UV_RUN_ONCE);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&g.loop), 0);
    tu_moto_stop(&moto);
    free(g.dbpath);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    const char *argv[] = { "sh", "-c", "command -v moto_server", NULL };
    Suite *s;
    if (tu_run(argv, NULL, NULL, NULL) != 0)
        tu_skip("moto_server is not installed (the test command installs moto[server])");
    s = suite_create("it-statesrc");
    TCase *tc = tcase_create("s3");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_s3_backend);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
