/* lib/statesrc: local files and patterns, the http backend and Terraform
 * Cloud against tests/harness/state_backend.py on loopback, S3 through a
 * fake of struct statesrc_s3_ops, unchanged-skips, and bad input that must
 * keep what was stored.  Every poll runs on a fresh libuv loop with a real
 * SQLite database, which the test then reads with its own connection. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "db.h"
#include "dbq.h"
#include "http.h"
#include "statesrc.h"
#include "testutil.h"
#include "typemap.h"

static char python_exe[4096] = "python3";

static void find_python(void)
{
    const char *argv[] = { (char *)"python3", "-c", "import sys; print(sys.executable)", NULL };
    char *out = NULL;
    if (tu_run(argv, NULL, &out, NULL) == 0 && out && out[0] == '/') {
        out[strcspn(out, "\n")] = '\0';
        snprintf(python_exe, sizeof(python_exe), "%s", out);
    }
    free(out);
}

/* A small state with a serial, a lineage and one bucket. */
static char *state_text(int serial, const char *lineage, const char *bucket)
{
    char *s = NULL;
    ck_assert_int_ge(
        asprintf(&s,
                 "{\"version\": 4, \"terraform_version\": \"1.5.7\", \"serial\": %d, "
                 "\"lineage\": \"%s\", \"outputs\": {}, \"resources\": [{\"mode\": \"managed\", "
                 "\"type\": \"aws_s3_bucket\", \"name\": \"b\", \"provider\": "
                 "\"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\", \"instances\": "
                 "[{\"schema_version\": 0, \"attributes\": {\"id\": \"%s\", \"bucket\": \"%s\", "
                 "\"arn\": \"arn:aws:s3:::%s\", \"region\": \"eu-central-1\"}}]}]}",
                 serial, lineage, bucket, bucket, bucket),
        0);
    return s;
}

/* ---- the rig: loop, database queue, HTTP client --------------------------- */

struct rig {
    char *dir;
    char *dbpath;
    uv_loop_t loop;
    struct dbq *q;
    struct http_client *http;
    struct typemap *tm;
    struct statesrc_env env;
};

struct captured {
    bool done;
    int error;
    char *message;
    json_t *docs; /* [{name, location, outcome, error, message, n}] */
};

static void rig_init(struct rig *g)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    memset(g, 0, sizeof(*g));
    g->dir = tu_tmpdir();
    g->dbpath = tu_path_join(g->dir, "plumb.db");
    ck_assert_int_eq(uv_loop_init(&g->loop), 0);
    ck_assert_msg(db_open(g->dbpath, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dbq_new(&g->loop, db, &g->q), 0);
    ck_assert_msg(http_client_new(&g->loop, NULL, &g->http, &err) == 0, "%s", err.msg);
    ck_assert_msg(typemap_load_embedded(&g->tm, &err) == 0, "%s", err.msg);
    g->env.loop = &g->loop;
    g->env.dbq = g->q;
    g->env.http = g->http;
    g->env.tm = g->tm;
}

static void set_true(void *ud)
{
    *(bool *)ud = true;
}

static void rig_close(struct rig *g)
{
    bool a = false, b = false;
    http_client_close(g->http, set_true, &a);
    dbq_close(g->q, set_true, &b);
    while (!a || !b)
        uv_run(&g->loop, UV_RUN_ONCE);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&g->loop), 0);
    typemap_free(g->tm);
    tu_rmrf(g->dir);
    free(g->dir);
    free(g->dbpath);
}

static void capture(const struct statesrc_report *rep, void *ud)
{
    struct captured *c = ud;
    c->done = true;
    c->error = rep->error;
    c->message = strdup(rep->message);
    c->docs = json_array();
    for (size_t i = 0; i < rep->n_docs; i++) {
        const struct statesrc_doc_result *d = &rep->docs[i];
        json_array_append_new(
            c->docs, json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:I}", "name", d->name, "location",
                               d->location, "outcome", statesrc_outcome_name(d->outcome), "error",
                               d->error, "message", d->message, "n", (json_int_t)d->n_declared,
                               "serial", (json_int_t)d->serial));
    }
}

static void captured_clear(struct captured *c)
{
    free(c->message);
    json_decref(c->docs);
    memset(c, 0, sizeof(*c));
}

static void rig_poll(struct rig *g, struct statesrc *s, struct captured *c)
{
    struct perr err = { 0 };
    captured_clear(c);
    ck_assert_msg(statesrc_poll(&g->env, s, capture, c, &err) == 0, "%s", err.msg);
    ck_assert(statesrc_busy(s));
    while (!c->done)
        uv_run(&g->loop, UV_RUN_ONCE);
    ck_assert(!statesrc_busy(s));
}

static const char *doc_field(const struct captured *c, size_t i, const char *field)
{
    json_t *d = json_array_get(c->docs, i);
    ck_assert_msg(d != NULL, "no document %zu in the report", i);
    return json_string_value(json_object_get(d, field));
}

static long long doc_int(const struct captured *c, size_t i, const char *field)
{
    return json_integer_value(json_object_get(json_array_get(c->docs, i), field));
}

/* Query with a separate read-only connection; returns the first column of
 * every row joined by '\n' (NULL as "-"). */
static char *q(struct rig *g, const char *sql, const char *arg)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    sqlite3_stmt *st;
    char *out = strdup("");
    ck_assert_msg(db_open(g->dbpath, DB_READONLY, &db, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        char *n = NULL;
        ck_assert_int_ge(asprintf(&n, "%s%s%s", out, *out ? "\n" : "", v ? v : "-"), 0);
        free(out);
        out = n;
    }
    sqlite3_finalize(st);
    db_close(db);
    return out;
}

static void assert_q(struct rig *g, const char *sql, const char *arg, const char *want)
{
    char *got = q(g, sql, arg);
    ck_assert_msg(strcmp(got, want) == 0, "%s [%s]:\n got: %s\nwant: %s", sql, arg ? arg : "", got,
                  want);
    free(got);
}

static struct statesrc *local_source(const char *name, const char *location)
{
    struct config_state cfg = { 0 };
    struct statesrc *s = NULL;
    struct perr err = { 0 };
    cfg.name = (char *)name;
    cfg.location = (char *)location;
    cfg.kind = STATE_LOCAL;
    cfg.interval_ms = 60000;
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);
    return s;
}

/* ---- pattern expansion ----------------------------------------------------- */

static void mkdirs(const char *dir, const char *rel)
{
    char *p = tu_path_join(dir, rel);
    for (char *c = p + strlen(dir) + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            mkdir(p, 0700);
            *c = '/';
        }
    mkdir(p, 0700);
    free(p);
}

static void touch(const char *dir, const char *rel)
{
    char *p = tu_path_join(dir, rel);
    tu_write_file(p, "{}");
    free(p);
}

START_TEST(test_expand)
{
    char *dir = tu_tmpdir(), *pat, *link, *target, *joined;
    char **v = NULL;
    struct perr err = { 0 };

    mkdirs(dir, "tf/prod/net");
    mkdirs(dir, "tf/dev");
    mkdirs(dir, "tf/.hidden");
    mkdirs(dir, "elsewhere");
    touch(dir, "tf/terraform.tfstate");
    touch(dir, "tf/prod/terraform.tfstate");
    touch(dir, "tf/prod/net/terraform.tfstate");
    touch(dir, "tf/prod/net/notes.txt");
    touch(dir, "tf/dev/a.tfstate");
    touch(dir, "tf/.hidden/terraform.tfstate");
    touch(dir, "elsewhere/terraform.tfstate");
    /* A symbolic link to a directory is not followed by "**". */
    link = tu_path_join(dir, "tf/link");
    target = tu_path_join(dir, "elsewhere");
    ck_assert_int_eq(symlink(target, link), 0);

    ck_assert_int_ge(asprintf(&pat, "%s/tf/**/*.tfstate", dir), 0);
    ck_assert_msg(statesrc_expand(pat, &v, &err) == 0, "%s", err.msg);
    joined = strv_join(v, ",");
    {
        char *want = NULL;
        ck_assert_int_ge(asprintf(&want,
                                  "%s/tf/dev/a.tfstate,%s/tf/prod/net/terraform.tfstate,"
                                  "%s/tf/prod/terraform.tfstate,%s/tf/terraform.tfstate",
                                  dir, dir, dir, dir),
                         0);
        ck_assert_str_eq(joined, want);
        free(want);
    }
    free(joined);
    strv_free(v);
    free(pat);

    /* One level of '*', and '?' */
    ck_assert_int_ge(asprintf(&pat, "%s/tf/*/terraform.tfstat?", dir), 0);
    ck_assert_msg(statesrc_expand(pat, &v, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(strv_length(v), 2); /* prod and the link (a plain '*' follows links) */
    ck_assert(str_has_suffix(v[0], "/tf/link/terraform.tfstate"));
    ck_assert(str_has_suffix(v[1], "/tf/prod/terraform.tfstate"));
    strv_free(v);
    free(pat);

    /* Nothing matches. */
    ck_assert_int_ge(asprintf(&pat, "%s/tf/**/*.json", dir), 0);
    ck_assert_int_eq(statesrc_expand(pat, &v, &err), -ENOENT);
    {
        char *want = NULL;
        ck_assert_int_ge(asprintf(&want, "%s: matches no file", pat), 0);
        ck_assert_str_eq(err.msg, want);
        free(want);
    }
    free(pat);

    /* "**" must be a whole element; paths must be absolute. */
    ck_assert_int_ge(asprintf(&pat, "%s/tf/a**/x", dir), 0);
    ck_assert_int_eq(statesrc_expand(pat, &v, &err), -EINVAL);
    ck_assert(strstr(err.msg, ": \"**\" must be a whole path element (a/**/b)") != NULL);
    free(pat);
    ck_assert_int_eq(statesrc_expand("tf/*.tfstate", &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "tf/*.tfstate: not an absolute path");

    /* A plain path is returned without looking at it. */
    ck_assert_int_eq(statesrc_expand("/nonexistent/terraform.tfstate", &v, &err), 0);
    ck_assert_int_eq(strv_length(v), 1);
    ck_assert_str_eq(v[0], "/nonexistent/terraform.tfstate");
    strv_free(v);

    free(link);
    free(target);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- sources from the configuration ------------------------------------------ */

START_TEST(test_new_errors)
{
    struct config_state cfg = { 0 };
    struct statesrc *s = NULL;
    struct perr err = { 0 };

    cfg.name = (char *)"x";
    cfg.location = (char *)"s3://bucket-only";
    cfg.kind = STATE_S3;
    ck_assert_int_eq(statesrc_new(&cfg, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg,
                     "[state x] location: expected s3://BUCKET/KEY, got 's3://bucket-only'");
    cfg.location = (char *)"tfc://org/ws";
    cfg.kind = STATE_TFC;
    ck_assert_int_eq(statesrc_new(&cfg, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "[state x] Terraform Cloud needs an API token");
    cfg.token = (char *)"t";
    cfg.location = (char *)"tfc://a/b/c/d";
    ck_assert_int_eq(statesrc_new(&cfg, &s, &err), -EINVAL);
    ck_assert_str_eq(
        err.msg, "[state x] location: 'tfc://a/b/c/d' is not tfc://[HOST/]ORGANIZATION/WORKSPACE");
    cfg.location = (char *)"tfc://org/w%20s";
    ck_assert_int_eq(statesrc_new(&cfg, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg,
                     "[state x] location: 'w%20s' is not a valid organization or workspace name");
    cfg.location = (char *)"/srv/terraform.tfstate";
    ck_assert_int_eq(statesrc_new(&cfg, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg,
                     "[state x] location '/srv/terraform.tfstate' does not match the source kind");
    cfg.kind = STATE_LOCAL;
    cfg.token = NULL;
    ck_assert_int_eq(statesrc_new(&cfg, &s, &err), 0);
    ck_assert_str_eq(statesrc_name(s), "x");
    ck_assert_int_eq(statesrc_kind(s), STATE_LOCAL);
    statesrc_free(s);
    ck_assert_int_eq(statesrc_new_location("relative/x.tfstate", NULL, NULL, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "[state relative/x.tfstate] location: 'relative/x.tfstate' is not an "
                              "absolute path");
}
END_TEST

/* ---- declared rows from real states ------------------------------------------- */

static json_t *rows_of(const char *fixture, const struct typemap *tm, const char *account)
{
    char *path = tu_fixture(fixture);
    struct tfstate *st = NULL;
    struct perr err = { 0 };
    json_t *rows = NULL;
    ck_assert_msg(tfstate_load(path, NULL, &st, &err) == 0, "%s", err.msg);
    ck_assert_msg(statesrc_declared_rows(st, tm, account, &rows, &err) == 0, "%s", err.msg);
    tfstate_free(st);
    free(path);
    return rows;
}

static json_t *row_at(json_t *rows, const char *address)
{
    size_t i;
    json_t *r;
    json_array_foreach (rows, i, r)
        if (str_eq(json_string_value(json_object_get(r, "address")), address))
            return r;
    ck_abort_msg("no row %s", address);
    return NULL;
}

static void assert_row(json_t *rows, const char *address, const char *id, const char *arn,
                       const char *account, const char *region, const char *mode)
{
    json_t *r = row_at(rows, address);
#define CHECK(field, want)                                                         \
    do {                                                                           \
        const char *got = json_string_value(json_object_get(r, field));            \
        ck_assert_msg(str_eq(got, want), "%s %s: got %s, want %s", address, field, \
                      got ? got : "null", (want) ? (want) : "null");               \
    } while (0)
    CHECK("id", id);
    CHECK("arn", arn);
    CHECK("account", account);
    CHECK("region", region);
    CHECK("mode", mode);
#undef CHECK
}

/* Field n (0-based) of an ARN, split on ':' (malloc'd). */
static char *arn_field(const char *arn, int n)
{
    const char *p = arn;
    for (int i = 0; i < n; i++) {
        p = strchr(p, ':');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    return strndup(p, strcspn(p, ":"));
}

static const char *attr_of(json_t *rows, const char *address, const char *attr)
{
    return json_string_value(
        json_object_get(json_object_get(row_at(rows, address), "attrs"), attr));
}

START_TEST(test_declared_rows)
{
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    json_t *rows, *r;
    char *acct, *region;
    const char *arn;

    ck_assert_msg(typemap_load_embedded(&tm, &err) == 0, "%s", err.msg);

    /* ARNs give account and region; the id is the key id. */
    rows = rows_of("tfstate/driftctl/aws_kms_key.tfstate", tm, "111111111111");
    ck_assert_int_eq(json_array_size(rows), 3);
    arn = attr_of(rows, "aws_kms_key.bar", "arn");
    acct = arn_field(arn, 4);
    region = arn_field(arn, 3);
    ck_assert_str_ne(acct, "111111111111");
    assert_row(rows, "aws_kms_key.bar", attr_of(rows, "aws_kms_key.bar", "key_id"), arn, acct,
               region, "managed");
    free(acct);
    free(region);
    json_decref(rows);

    /* Buckets: ARN without account or region; the region attribute, the
     * configured account (no other ARN in the state names one). */
    rows = rows_of("tfstate/driftctl/aws_s3_full.tfstate", tm, "111111111111");
    region = strdup(attr_of(rows, "aws_s3_bucket.bucket", "region"));
    assert_row(rows, "aws_s3_bucket.bucket", attr_of(rows, "aws_s3_bucket.bucket", "bucket"),
               attr_of(rows, "aws_s3_bucket.bucket", "arn"), "111111111111", region, "managed");
    /* The bucket policy has no ARN: the provider's region, learnt from the
     * buckets; its id is the bucket's name. */
    assert_row(rows, "aws_s3_bucket_policy.bucket_policy",
               attr_of(rows, "aws_s3_bucket_policy.bucket_policy", "bucket"), NULL, "111111111111",
               region, "managed");
    free(region);
    /* A type outside the table keeps its state id. */
    ck_assert_ptr_null(typemap_find(tm, "aws_s3_bucket_metric"));
    assert_row(rows, "aws_s3_bucket_metric.metrics-cls-test",
               attr_of(rows, "aws_s3_bucket_metric.metrics-cls-test", "id"), NULL, "111111111111",
               attr_of(rows, "aws_s3_bucket.bucket", "region"), "managed");
    json_decref(rows);

    /* Data sources are stored as such; ids that are ARNs are ARNs; the
     * provider's account and region come from the other resources. */
    rows = rows_of("tfstate/driftctl/aws_lb_listener.tfstate", tm, NULL);
    assert_row(rows, "data.azurerm_resource_group.raphael-dev",
               attr_of(rows, "data.azurerm_resource_group.raphael-dev", "id"), NULL, NULL, NULL,
               "data");
    arn = attr_of(rows, "aws_lb.test", "arn");
    acct = arn_field(arn, 4);
    region = arn_field(arn, 3);
    assert_row(rows, "aws_lb.test", arn, arn, acct, region, "managed");
    /* The internet gateway's ARN says the same. */
    ck_assert_str_eq(
        json_string_value(json_object_get(row_at(rows, "aws_internet_gateway.gw"), "region")),
        region);
    free(acct);
    free(region);
    json_decref(rows);

    /* Security group rules have no ARN and nothing else in that state has
     * one: the region is unknown, the account the configured one.  A
     * declared-only type keeps its Terraform id. */
    rows = rows_of("tfstate/driftctl/aws_vpc_security_group_rule.tfstate", tm, "222222222222");
    assert_row(rows, "aws_security_group_rule.egress",
               attr_of(rows, "aws_security_group_rule.egress", "id"), NULL, "222222222222", NULL,
               "managed");
    json_decref(rows);

    /* IAM is global. */
    rows = rows_of("tfstate/driftctl/module.iam_iam-user.tfstate", tm, NULL);
    {
        size_t i;
        json_t *row;
        bool seen = false;
        json_array_foreach (rows, i, row)
            if (str_eq(json_string_value(json_object_get(row, "type")), "aws_iam_user")) {
                ck_assert_str_eq(json_string_value(json_object_get(row, "region")), "global");
                seen = true;
            }
        ck_assert(seen);
    }
    json_decref(rows);

    /* Sensitive paths travel with the row, values masked. */
    rows =
        rows_of("tfstate/terraform-v1.5.7/show-json-state-sensitive-variables.tfstate", tm, NULL);
    r = json_array_get(rows, 0);
    ck_assert_int_gt(json_array_size(json_object_get(r, "sensitive")), 0);
    {
        const char *p = json_string_value(json_array_get(json_object_get(r, "sensitive"), 0));
        json_t *attrs = json_object_get(r, "attrs");
        ck_assert_str_eq(json_string_value(json_object_get(attrs, p)), TFSTATE_SENSITIVE_MARKER);
    }
    json_decref(rows);

    typemap_free(tm);
}
END_TEST

/* ---- local files ------------------------------------------------------------------ */

START_TEST(test_local_unchanged_and_broken)
{
    struct rig g;
    struct captured c = { 0 };
    struct statesrc *s;
    char *path, *text, *want;
    struct tfstate *st = NULL;
    struct perr err = { 0 };

    rig_init(&g);
    path = tu_path_join(g.dir, "main.tfstate");
    text = state_text(7, "lin-1", "logs");
    tu_write_file(path, text);
    free(text);
    s = local_source("main", path);

    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, 0);
    ck_assert_int_eq(json_array_size(c.docs), 1);
    ck_assert_str_eq(doc_field(&c, 0, "name"), "main");
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "updated");
    ck_assert_int_eq(doc_int(&c, 0, "n"), 1);
    ck_assert_int_eq(doc_int(&c, 0, "serial"), 7);
    assert_q(&g,
             "SELECT address || ' ' || type || ' ' || id || ' ' || region FROM declared "
             "WHERE source = ?",
             "main", "aws_s3_bucket.b aws_s3_bucket logs eu-central-1");
    assert_q(&g,
             "SELECT status || ' ' || serial || ' ' || lineage FROM state_sources WHERE name = ?",
             "main", "ok 7 lin-1");

    /* Same bytes: skipped by digest. */
    rig_poll(&g, s, &c);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "unchanged");

    /* Different bytes, same serial and lineage: the same state. */
    text = state_text(7, "lin-1", "logs");
    {
        char *spaced = NULL;
        ck_assert_int_ge(asprintf(&spaced, "%s\n\n", text), 0);
        tu_write_file(path, spaced);
        free(spaced);
    }
    free(text);
    rig_poll(&g, s, &c);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "unchanged");

    /* A new serial is read. */
    text = state_text(8, "lin-1", "logs2");
    tu_write_file(path, text);
    free(text);
    rig_poll(&g, s, &c);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "updated");
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "main", "logs2");

    /* Broken JSON: the rows stay, the error is recorded. */
    tu_write_file(path, "{\"version\": 4, \"resources\": [");
    ck_assert_int_lt(tfstate_load(path, NULL, &st, &err), 0);
    ck_assert_int_ge(asprintf(&want, "state main: %s", err.msg), 0);
    ck_assert(strstr(want, path) != NULL);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -EINVAL);
    ck_assert_str_eq(c.message, want);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "error");
    ck_assert_str_eq(doc_field(&c, 0, "message"), want);
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "main", "logs2");
    {
        char *row = NULL;
        ck_assert_int_ge(asprintf(&row, "error 8 %s", want), 0);
        assert_q(&g,
                 "SELECT status || ' ' || serial || ' ' || error FROM state_sources "
                 "WHERE name = ?",
                 "main", row);
        free(row);
    }
    free(want);

    /* A state Terraform no longer writes (format 3) is rejected the same way. */
    tu_write_file(path, "{\"version\": 3, \"serial\": 9, \"modules\": []}");
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -EPROTONOSUPPORT);
    assert_q(&g, "SELECT count(*) FROM declared WHERE source = ?", "main", "1");

    /* The file disappears. */
    unlink(path);
    ck_assert_int_ge(
        asprintf(&want, "state main: %s: cannot read: No such file or directory", path), 0);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -ENOENT);
    ck_assert_str_eq(c.message, want);
    assert_q(&g, "SELECT error FROM state_sources WHERE name = ?", "main", want);
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "main", "logs2");
    free(want);

    /* Back to good: ok again, new rows. */
    text = state_text(10, "lin-1", "logs3");
    tu_write_file(path, text);
    free(text);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, 0);
    assert_q(&g, "SELECT status || ' ' || coalesce(error, '-') FROM state_sources WHERE name = ?",
             "main", "ok -");
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "main", "logs3");

    captured_clear(&c);
    statesrc_free(s);
    free(path);
    rig_close(&g);
}
END_TEST

START_TEST(test_local_pattern)
{
    struct rig g;
    struct captured c = { 0 };
    struct statesrc *s;
    char *pat, *a, *b, *text, *want;

    rig_init(&g);
    mkdirs(g.dir, "tf/net");
    mkdirs(g.dir, "tf/app/eu");
    a = tu_path_join(g.dir, "tf/net/terraform.tfstate");
    b = tu_path_join(g.dir, "tf/app/eu/terraform.tfstate");
    text = state_text(1, "lin-a", "net-logs");
    tu_write_file(a, text);
    free(text);
    text = state_text(1, "lin-b", "app-logs");
    tu_write_file(b, text);
    free(text);
    ck_assert_int_ge(asprintf(&pat, "%s/tf/**/terraform.tfstate", g.dir), 0);
    s = local_source("all", pat);

    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, 0);
    ck_assert_int_eq(json_array_size(c.docs), 2);
    ck_assert_str_eq(doc_field(&c, 0, "name"), "all:app/eu/terraform.tfstate");
    ck_assert_str_eq(doc_field(&c, 0, "location"), b);
    ck_assert_str_eq(doc_field(&c, 1, "name"), "all:net/terraform.tfstate");
    assert_q(&g, "SELECT name || ' ' || status FROM state_sources ORDER BY name", NULL,
             "all ok\nall:app/eu/terraform.tfstate ok\nall:net/terraform.tfstate ok");
    assert_q(&g, "SELECT source || ' ' || id FROM declared ORDER BY source", NULL,
             "all:app/eu/terraform.tfstate app-logs\nall:net/terraform.tfstate net-logs");

    /* One file broken, one unchanged. */
    tu_write_file(a, "not json");
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -EINVAL);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "unchanged");
    ck_assert_str_eq(doc_field(&c, 1, "outcome"), "error");
    ck_assert(str_has_prefix(doc_field(&c, 1, "message"), "state all: "));
    assert_q(&g, "SELECT count(*) FROM declared", NULL, "2");

    /* One file goes away: its document and rows go with it. */
    unlink(b);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(json_array_size(c.docs), 2);
    ck_assert_str_eq(doc_field(&c, 0, "name"), "all:net/terraform.tfstate");
    ck_assert_str_eq(doc_field(&c, 1, "name"), "all:app/eu/terraform.tfstate");
    ck_assert_str_eq(doc_field(&c, 1, "outcome"), "removed");
    assert_q(&g, "SELECT source || ' ' || id FROM declared ORDER BY source", NULL,
             "all:net/terraform.tfstate net-logs");

    /* Nothing matches any more (an unmounted share?): nothing is removed. */
    unlink(a);
    ck_assert_int_ge(asprintf(&want, "state all: %s: matches no file", pat), 0);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -ENOENT);
    ck_assert_str_eq(c.message, want);
    ck_assert_int_eq(json_array_size(c.docs), 0);
    assert_q(&g, "SELECT name || ' ' || status FROM state_sources ORDER BY name", NULL,
             "all error\nall:net/terraform.tfstate error");
    assert_q(&g, "SELECT error FROM state_sources WHERE name = ?", "all", want);
    assert_q(&g, "SELECT count(*) FROM declared", NULL, "1");
    free(want);

    /* statesrc_prune() forgets sources that left the configuration. */
    {
        struct db *db = NULL;
        struct perr err = { 0 };
        char *keep[] = { (char *)"other", NULL };
        ck_assert_int_eq(db_open(g.dbpath, DB_READWRITE, &db, &err), 0);
        ck_assert_int_eq(statesrc_prune(db, keep, &err), 2);
        db_close(db);
        assert_q(&g, "SELECT count(*) FROM declared", NULL, "0");
        assert_q(&g, "SELECT count(*) FROM state_sources", NULL, "0");
    }

    captured_clear(&c);
    statesrc_free(s);
    free(pat);
    free(a);
    free(b);
    rig_close(&g);
}
END_TEST

/* ---- the loopback backends ---------------------------------------------------------- */

struct backend {
    pid_t pid;
    int port;
    char *dir;
    char base[64];
};

static void backend_start(struct backend *b)
{
    char *harness = tu_srcpath("tests/harness/state_backend.py");
    char *portfile, *log;
    struct stat st;
    memset(b, 0, sizeof(*b));
    b->dir = tu_tmpdir();
    portfile = tu_path_join(b->dir, "port");
    log = tu_path_join(b->dir, "server.log");
    {
        const char *argv[] = { python_exe, harness, "--port-file", portfile, NULL };
        b->pid = tu_spawn(argv, NULL, log);
    }
    for (int i = 0; i < 1000 && stat(portfile, &st) < 0; i++) {
        ck_assert_msg(kill(b->pid, 0) == 0, "state_backend.py exited; see %s", log);
        usleep(10000);
    }
    {
        char *txt = tu_read_file(portfile);
        ck_assert_msg(txt != NULL, "state_backend.py did not report its port (%s)", log);
        b->port = (int)strtol(txt, NULL, 10);
        free(txt);
    }
    snprintf(b->base, sizeof(b->base), "http://127.0.0.1:%d", b->port);
    free(portfile);
    free(log);
    free(harness);
}

static void backend_stop(struct backend *b)
{
    tu_stop(b->pid, 2000);
    tu_rmrf(b->dir);
    free(b->dir);
}

/* POST a config (or reset the log) with the curl tool, not the code under test. */
static void backend_post(struct backend *b, const char *path, json_t *body)
{
    char url[128], *text = json_dumps(body, JSON_COMPACT), *file = tu_path_join(b->dir, "post");
    char *data = NULL;
    tu_write_file(file, text);
    ck_assert_int_ge(asprintf(&data, "@%s", file), 0);
    snprintf(url, sizeof(url), "%s%s", b->base, path);
    {
        const char *argv[] = {
            (char *)"curl", "-sf", "-X", "POST", "--data-binary", data, url, NULL
        };
        ck_assert_int_eq(tu_run(argv, NULL, NULL, NULL), 0);
    }
    free(data);
    free(text);
    free(file);
    json_decref(body);
}

static json_t *backend_log(struct backend *b)
{
    char url[128], *out = NULL;
    json_t *j;
    snprintf(url, sizeof(url), "%s/_ctl/log", b->base);
    {
        const char *argv[] = { (char *)"curl", "-sf", url, NULL };
        ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
    }
    j = json_loads(out, 0, NULL);
    ck_assert(json_is_array(j));
    free(out);
    backend_post(b, "/_ctl/reset_log", json_object());
    return j;
}

static const char *log_field(json_t *log, size_t i, const char *field)
{
    json_t *e = json_array_get(log, i);
    ck_assert_msg(e != NULL, "no request %zu in the log", i);
    return json_string_value(json_object_get(e, field));
}

START_TEST(test_http_backend)
{
    struct rig g;
    struct backend b;
    struct captured c = { 0 };
    struct config_state cfg = { 0 };
    struct statesrc *s = NULL;
    struct perr err = { 0 };
    char *url = NULL, *want = NULL, *t1 = state_text(3, "lin-h", "h1"), *t2;
    char *headers[] = { (char *)"X-Team: core", NULL };
    json_t *log;

    rig_init(&g);
    backend_start(&b);
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s, s:s}", "states", "platform", t1, "user", "plumb",
                           "password", "s3cret", "header", "X-Team: core"));
    ck_assert_int_ge(asprintf(&url, "%s/state/platform?lock=no", b.base), 0);
    cfg.name = (char *)"platform";
    cfg.location = url;
    cfg.kind = STATE_HTTP;
    cfg.username = (char *)"plumb";
    cfg.password = (char *)"s3cret";
    cfg.headers = headers;
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);

    rig_poll(&g, s, &c);
    ck_assert_msg(c.error == 0, "%s", c.message);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "updated");
    /* Locations are shown without the query string. */
    {
        char *loc = NULL;
        ck_assert_int_ge(asprintf(&loc, "%s/state/platform", b.base), 0);
        ck_assert_str_eq(doc_field(&c, 0, "location"), loc);
        free(loc);
    }
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "platform", "h1");
    log = backend_log(&b);
    ck_assert_int_eq(json_array_size(log), 1);
    ck_assert_str_eq(log_field(log, 0, "auth"), "basic-ok");
    ck_assert_str_eq(log_field(log, 0, "header"), "core");
    ck_assert_ptr_null(log_field(log, 0, "if_none_match"));
    json_decref(log);

    /* Second poll: If-None-Match with the stored ETag, 304. */
    rig_poll(&g, s, &c);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "unchanged");
    log = backend_log(&b);
    ck_assert_ptr_nonnull(log_field(log, 0, "if_none_match"));
    json_decref(log);

    /* A new state is fetched. */
    t2 = state_text(4, "lin-h", "h2");
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s, s:s}", "states", "platform", t2, "user", "plumb",
                           "password", "s3cret", "header", "X-Team: core"));
    rig_poll(&g, s, &c);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "updated");
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "platform", "h2");
    json_decref(backend_log(&b));

    /* The password changes on the server: 401, rows kept. */
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s}", "states", "platform", t2, "user", "plumb",
                           "password", "rotated"));
    ck_assert_int_ge(asprintf(&want,
                              "state platform: %s/state/platform: HTTP 401 (check the "
                              "credentials)",
                              b.base),
                     0);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -EIO);
    ck_assert_str_eq(c.message, want);
    {
        char *row = NULL;
        ck_assert_int_ge(asprintf(&row, "error %s", want), 0);
        assert_q(&g, "SELECT status || ' ' || error FROM state_sources WHERE name = ?", "platform",
                 row);
        free(row);
    }
    free(want);
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "platform", "h2");
    log = backend_log(&b);
    ck_assert_str_eq(log_field(log, 0, "auth"), "basic-bad");
    json_decref(log);
    statesrc_free(s);

    /* An unknown state is an error, not an empty state. */
    free(url);
    ck_assert_int_ge(asprintf(&url, "%s/state/nothing", b.base), 0);
    cfg.name = (char *)"nothing";
    cfg.location = url;
    cfg.username = NULL;
    cfg.password = NULL;
    cfg.headers = NULL;
    backend_post(&b, "/_ctl/config", json_pack("{s:{s:s}}", "states", "platform", t2));
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);
    rig_poll(&g, s, &c);
    ck_assert_int_ge(asprintf(&want, "state nothing: %s: HTTP 404 (not found)", url), 0);
    ck_assert_str_eq(c.message, want);
    free(want);
    statesrc_free(s);

    /* Nobody listening. */
    backend_stop(&b);
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -ECONNREFUSED);
    ck_assert(str_has_prefix(c.message, "state nothing: "));
    statesrc_free(s);

    captured_clear(&c);
    free(url);
    free(t1);
    free(t2);
    rig_close(&g);
}
END_TEST

START_TEST(test_tfc)
{
    struct rig g;
    struct backend b;
    struct captured c = { 0 };
    struct config_state cfg = { 0 };
    struct statesrc *s = NULL;
    struct perr err = { 0 };
    char *loc = NULL, *want = NULL, *t1 = state_text(5, "lin-t", "t1"), *t2 = NULL;
    json_t *log;

    rig_init(&g);
    backend_start(&b);
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s, s:s, s:s, s:s}", "states", "s1", t1, "token",
                           "tfc-token", "org", "acme", "workspace", "prod", "tfc_state", "s1", "sv",
                           "sv-1"));
    ck_assert_int_ge(asprintf(&loc, "tfc://127.0.0.1:%d/acme/prod", b.port), 0);
    cfg.name = (char *)"apps";
    cfg.location = loc;
    cfg.kind = STATE_TFC;
    cfg.token = (char *)"tfc-token";
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);

    rig_poll(&g, s, &c);
    ck_assert_msg(c.error == 0, "%s", c.message);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "updated");
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "apps", "t1");
    assert_q(&g, "SELECT etag FROM state_sources WHERE name = ?", "apps", "sv-1");
    log = backend_log(&b);
    ck_assert_int_eq(json_array_size(log), 3);
    ck_assert_str_eq(log_field(log, 0, "path"), "/api/v2/organizations/acme/workspaces/prod");
    ck_assert_str_eq(log_field(log, 0, "auth"), "bearer-ok");
    ck_assert_str_eq(log_field(log, 1, "path"), "/api/v2/workspaces/ws-prod/current-state-version");
    ck_assert_str_eq(log_field(log, 1, "auth"), "bearer-ok");
    ck_assert_str_eq(log_field(log, 2, "path"), "/_archivist/sv-1");
    ck_assert_str_eq(log_field(log, 2, "auth"), "bearer-ok"); /* same origin as the API */
    json_decref(log);

    /* Same state version: no download. */
    rig_poll(&g, s, &c);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "unchanged");
    log = backend_log(&b);
    ck_assert_int_eq(json_array_size(log), 2);
    json_decref(log);

    /* A new version served from another origin: the token stays home. */
    t2 = state_text(6, "lin-t", "t2");
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s, s:s, s:s, s:s, s:s}", "states", "s2", t2, "token",
                           "tfc-token", "org", "acme", "workspace", "prod", "tfc_state", "s2", "sv",
                           "sv-2", "download_host", "localhost"));
    rig_poll(&g, s, &c);
    ck_assert_msg(c.error == 0, "%s", c.message);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "updated");
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "apps", "t2");
    log = backend_log(&b);
    ck_assert_int_eq(json_array_size(log), 3);
    ck_assert_str_eq(log_field(log, 2, "path"), "/_archivist/sv-2");
    ck_assert_str_eq(log_field(log, 2, "auth"), "none");
    json_decref(log);

    /* A rejected token. */
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s, s:s, s:s}", "states", "s2", t2, "token", "other",
                           "org", "acme", "workspace", "prod", "tfc_state", "s2"));
    ck_assert_int_ge(asprintf(&want,
                              "state apps: %s: workspace: HTTP 401 (the API token was "
                              "rejected)",
                              loc),
                     0);
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -EIO);
    ck_assert_str_eq(c.message, want);
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "apps", "t2");
    free(want);

    /* A workspace without state. */
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s, s:s, s:s, s:b}", "states", "s2", t2, "token",
                           "tfc-token", "org", "acme", "workspace", "prod", "tfc_state", "s2",
                           "no_state", 1));
    ck_assert_int_ge(asprintf(&want,
                              "state apps: %s: current state version: HTTP 404 (not found, "
                              "or not readable with this token)",
                              loc),
                     0);
    rig_poll(&g, s, &c);
    ck_assert_str_eq(c.message, want);
    free(want);

    /* An unknown workspace. */
    backend_post(&b, "/_ctl/config",
                 json_pack("{s:{s:s}, s:s, s:s, s:s, s:s}", "states", "s2", t2, "token",
                           "tfc-token", "org", "acme", "workspace", "staging", "tfc_state", "s2"));
    ck_assert_int_ge(asprintf(&want,
                              "state apps: %s: workspace: HTTP 404 (not found, or not "
                              "readable with this token)",
                              loc),
                     0);
    rig_poll(&g, s, &c);
    ck_assert_str_eq(c.message, want);
    assert_q(&g, "SELECT id FROM declared WHERE source = ?", "apps", "t2");
    free(want);

    captured_clear(&c);
    statesrc_free(s);
    backend_stop(&b);
    free(loc);
    free(t1);
    free(t2);
    rig_close(&g);
}
END_TEST

/* ---- S3 through a fake of the AWS client ------------------------------------------- */

struct fake_s3 {
    uv_loop_t *loop;
    json_t *objects; /* key -> {"body", "etag"} */
    const char *list_error;
    json_t *calls; /* ["get KEY IF-NONE-MATCH", "list PREFIX"] */
};

struct deferred {
    uv_timer_t timer;
    struct fake_s3 *f;
    char *key;
    char *inm;
    bool list;
    statesrc_s3_get_done get_done;
    statesrc_s3_list_done list_done;
    void *done_ud;
};

static void deferred_closed(uv_handle_t *h)
{
    struct deferred *d = h->data;
    free(d->key);
    free(d->inm);
    free(d);
}

static void deferred_fire(uv_timer_t *t)
{
    struct deferred *d = t->data;
    struct fake_s3 *f = d->f;
    if (d->list) {
        if (f->list_error) {
            d->list_done(-EACCES, f->list_error, NULL, 0, d->done_ud);
        } else {
            char **keys = NULL;
            const char *k;
            json_t *v;
            json_object_foreach (f->objects, k, v)
                if (str_has_prefix(k, d->key))
                    strv_push(&keys, k);
            d->list_done(0, "", keys, strv_length(keys), d->done_ud);
            strv_free(keys);
        }
    } else {
        json_t *o = json_object_get(f->objects, d->key);
        struct statesrc_s3_object obj = { .error_msg = "" };
        if (!o) {
            obj.error = -ENOENT;
            obj.error_msg = "NoSuchKey: The specified key does not exist.";
        } else if (d->inm && str_eq(d->inm, json_string_value(json_object_get(o, "etag")))) {
            obj.not_modified = true;
        } else {
            obj.body = strdup(json_string_value(json_object_get(o, "body")));
            obj.len = strlen(obj.body);
            obj.etag = json_string_value(json_object_get(o, "etag"));
        }
        d->get_done(&obj, d->done_ud);
    }
    uv_close((uv_handle_t *)&d->timer, deferred_closed);
}

static void defer(struct deferred *d)
{
    uv_timer_init(d->f->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, deferred_fire, 0, 0);
}

static int fake_get(void *userdata, const char *profile, const char *region, const char *bucket,
                    const char *key, const char *if_none_match, size_t max_size,
                    statesrc_s3_get_done done, void *done_ud, struct perr *err)
{
    struct fake_s3 *f = userdata;
    struct deferred *d = calloc(1, sizeof(*d));
    ck_assert_str_eq(bucket, "tfstate-bucket");
    ck_assert_str_eq(region, "eu-central-1");
    ck_assert_str_eq(profile, "reader");
    json_array_append_new(f->calls,
                          json_sprintf("get %s %s", key, if_none_match ? if_none_match : "-"));
    d->f = f;
    d->key = strdup(key);
    d->inm = if_none_match ? strdup(if_none_match) : NULL;
    d->get_done = done;
    d->done_ud = done_ud;
    defer(d);
    return 0;
}

static int fake_list(void *userdata, const char *profile, const char *region, const char *bucket,
                     const char *prefix, statesrc_s3_list_done done, void *done_ud,
                     struct perr *err)
{
    struct fake_s3 *f = userdata;
    struct deferred *d = calloc(1, sizeof(*d));
    json_array_append_new(f->calls, json_sprintf("list %s", prefix));
    d->f = f;
    d->key = strdup(prefix);
    d->list = true;
    d->list_done = done;
    d->done_ud = done_ud;
    defer(d);
    return 0;
}

static const struct statesrc_s3_ops fake_ops = { fake_get, fake_list };

static void put_object(struct fake_s3 *f, const char *key, char *body, const char *etag)
{
    json_object_set_new(f->objects, key, json_pack("{s:s, s:s}", "body", body, "etag", etag));
    free(body);
}

static char *calls(struct fake_s3 *f)
{
    char **v = NULL, *j;
    size_t i;
    json_t *c;
    json_array_foreach (f->calls, i, c)
        strv_push(&v, json_string_value(c));
    json_array_clear(f->calls);
    j = strv_join(v, "|");
    strv_free(v);
    return j;
}

static void assert_calls(struct fake_s3 *f, const char *want)
{
    char *got = calls(f);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_s3)
{
    struct rig g;
    struct captured c = { 0 };
    struct config_state cfg = { 0 };
    struct statesrc *s = NULL;
    struct perr err = { 0 };
    struct fake_s3 f = { 0 };
    char *ws[] = { (char *)"*", NULL };

    rig_init(&g);
    f.loop = &g.loop;
    f.objects = json_object();
    f.calls = json_array();
    put_object(&f, "net/terraform.tfstate", state_text(1, "l0", "default-b"), "\"e0\"");
    put_object(&f, "env:/dev/net/terraform.tfstate", state_text(1, "l1", "dev-b"), "\"e1\"");
    put_object(&f, "env:/prod/net/terraform.tfstate", state_text(1, "l2", "prod-b"), "\"e2\"");
    put_object(&f, "env:/prod/other/terraform.tfstate", state_text(1, "l3", "other"), "\"e3\"");
    put_object(&f, "env:/x/y/net/terraform.tfstate", state_text(1, "l4", "nested"), "\"e4\"");

    cfg.name = (char *)"net";
    cfg.location = (char *)"s3://tfstate-bucket/net/terraform.tfstate";
    cfg.kind = STATE_S3;
    cfg.region = (char *)"eu-central-1";
    cfg.profile = (char *)"reader";
    cfg.workspaces = ws;
    ck_assert_msg(statesrc_new(&cfg, &s, &err) == 0, "%s", err.msg);

    /* Without the AWS client there is no S3. */
    ck_assert_int_eq(statesrc_poll(&g.env, s, capture, &c, &err), -ENOTSUP);
    ck_assert_str_eq(err.msg, "state net: S3 state sources need plumb's AWS client");
    g.env.s3 = &fake_ops;
    g.env.s3_userdata = &f;

    rig_poll(&g, s, &c);
    ck_assert_msg(c.error == 0, "%s", c.message);
    ck_assert_int_eq(json_array_size(c.docs), 3);
    ck_assert_str_eq(doc_field(&c, 0, "name"), "net");
    ck_assert_str_eq(doc_field(&c, 0, "location"), "s3://tfstate-bucket/net/terraform.tfstate");
    ck_assert_str_eq(doc_field(&c, 1, "name"), "net:dev");
    ck_assert_str_eq(doc_field(&c, 1, "location"),
                     "s3://tfstate-bucket/env:/dev/net/terraform.tfstate");
    ck_assert_str_eq(doc_field(&c, 2, "name"), "net:prod");
    assert_calls(&f, "list env:/|get net/terraform.tfstate -|get env:/dev/net/terraform.tfstate "
                     "-|get env:/prod/net/terraform.tfstate -");
    assert_q(&g, "SELECT source || ' ' || id FROM declared ORDER BY source", NULL,
             "net default-b\nnet:dev dev-b\nnet:prod prod-b");

    /* ETags make the second poll cheap. */
    rig_poll(&g, s, &c);
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(doc_field(&c, i, "outcome"), "unchanged");
    assert_calls(&f, "list env:/|get net/terraform.tfstate \"e0\"|get "
                     "env:/dev/net/terraform.tfstate \"e1\"|get env:/prod/net/terraform.tfstate "
                     "\"e2\"");

    /* A workspace deleted from the bucket goes away. */
    json_object_del(f.objects, "env:/prod/net/terraform.tfstate");
    rig_poll(&g, s, &c);
    ck_assert_int_eq(json_array_size(c.docs), 3);
    ck_assert_str_eq(doc_field(&c, 2, "name"), "net:prod");
    ck_assert_str_eq(doc_field(&c, 2, "outcome"), "removed");
    assert_q(&g, "SELECT source FROM declared ORDER BY source", NULL, "net\nnet:dev");
    json_array_clear(f.calls);

    /* Listing denied: the default workspace is still read, nothing goes. */
    f.list_error = "AccessDenied: Access Denied";
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -EACCES);
    ck_assert_str_eq(c.message, "state net: s3://tfstate-bucket/env:/: cannot list workspaces: "
                                "AccessDenied: Access Denied");
    ck_assert_int_eq(json_array_size(c.docs), 1);
    ck_assert_str_eq(doc_field(&c, 0, "outcome"), "unchanged");
    assert_q(&g, "SELECT source FROM declared ORDER BY source", NULL, "net\nnet:dev");
    f.list_error = NULL;
    json_array_clear(f.calls);

    /* The default state object vanishes: an error, rows kept. */
    json_object_del(f.objects, "net/terraform.tfstate");
    rig_poll(&g, s, &c);
    ck_assert_int_eq(c.error, -ENOENT);
    ck_assert_str_eq(c.message, "state net: s3://tfstate-bucket/net/terraform.tfstate: NoSuchKey: "
                                "The specified key does not exist.");
    assert_q(&g, "SELECT source FROM declared ORDER BY source", NULL, "net\nnet:dev");

    captured_clear(&c);
    statesrc_free(s);
    json_decref(f.objects);
    json_decref(f.calls);
    rig_close(&g);
}
END_TEST

/* ---- one-shot ------------------------------------------------------------------------ */

static void count_report(const struct statesrc_report *rep, void *ud)
{
    json_array_append_new(ud, json_pack("{s:s, s:i, s:s}", "source", rep->source, "error",
                                        rep->error, "message", rep->message));
}

START_TEST(test_once)
{
    char *dir = tu_tmpdir(), *good = tu_path_join(dir, "good.tfstate");
    char *bad = tu_path_join(dir, "bad.tfstate"), *dbpath = tu_path_join(dir, "once.db");
    char *text = state_text(1, "l", "once-b"), *want = NULL;
    const char *locs[] = { bad, good };
    struct statesrc_once_options o = { .db_path = dbpath, .account = "123456789012" };
    struct perr err = { 0 };
    json_t *reps = json_array();
    struct db *db = NULL;
    sqlite3_stmt *st;

    tu_write_file(good, text);
    tu_write_file(bad, "[]");
    ck_assert_int_eq(statesrc_once(locs, 2, &o, count_report, reps, &err), -EIO);
    ck_assert_int_eq(json_array_size(reps), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(reps, 0), "source")), bad);
    ck_assert(str_has_prefix(err.msg, "state "));
    ck_assert_str_eq(err.msg,
                     json_string_value(json_object_get(json_array_get(reps, 0), "message")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(reps, 1), "error")), 0);

    ck_assert_int_eq(db_open(dbpath, DB_READONLY, &db, &err), 0);
    ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), "SELECT source, id, account FROM declared",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), good);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "once-b");
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), "123456789012");
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    db_close(db);

    /* Only good input: 0. */
    ck_assert_int_eq(statesrc_once(locs + 1, 1, &o, NULL, NULL, &err), 0);
    /* A location that cannot be a source fails before anything runs. */
    locs[0] = "s3://just-a-bucket";
    ck_assert_int_eq(statesrc_once(locs, 1, &o, NULL, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "[state s3://just-a-bucket] location: expected s3://BUCKET/KEY, got "
                              "'s3://just-a-bucket'");
    /* No AWS client: S3 locations are reported failed. */
    locs[0] = "s3://b/k.tfstate";
    ck_assert_int_eq(statesrc_once(locs, 1, &o, NULL, NULL, &err), -EIO);
    ck_assert_str_eq(err.msg, "state s3://b/k.tfstate: S3 state sources need plumb's AWS client");

    json_decref(reps);
    free(want);
    free(text);
    free(good);
    free(bad);
    free(dbpath);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *statesrc_suite(void)
{
    Suite *s = suite_create("statesrc");
    TCase *tc = tcase_create("statesrc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_expand);
    tcase_add_test(tc, test_new_errors);
    tcase_add_test(tc, test_declared_rows);
    tcase_add_test(tc, test_local_unchanged_and_broken);
    tcase_add_test(tc, test_local_pattern);
    tcase_add_test(tc, test_http_backend);
    tcase_add_test(tc, test_tfc);
    tcase_add_test(tc, test_s3);
    tcase_add_test(tc, test_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    find_python();
    return tu_run_suite(statesrc_suite());
}
