/* The AWS client against moto_server with moto's signature and IAM
 * checking on: signed calls to EC2, S3, IAM, STS, Config, KMS and
 * CloudTrail; bad secrets; IAM denials naming the action; AssumeRole with
 * an external id; web identity; IMDSv2 from tests/harness/imds_server.py;
 * and `plumb doctor` (table and JSON) with restricted, admin and broken
 * credentials.  tests/seed/client.py creates the principals and data. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "awsclient.h"
#include "srvutil.h"
#include "collect.h"
#include "testutil.h"

static struct tu_moto moto;
static json_t *seed; /* tests/seed/client.py's output */

/* ---- injected environment ---- */

static struct {
    const char *name;
    char *value;
} env_tab[32];
static size_t n_env;

static void env_set(const char *name, const char *value)
{
    for (size_t i = 0; i < n_env; i++)
        if (strcmp(env_tab[i].name, name) == 0) {
            free(env_tab[i].value);
            env_tab[i].value = value ? strdup(value) : NULL;
            return;
        }
    ck_assert_uint_lt(n_env, ARRAY_SIZE(env_tab));
    env_tab[n_env].name = name;
    env_tab[n_env++].value = value ? strdup(value) : NULL;
}

static void env_clear(void)
{
    for (size_t i = 0; i < n_env; i++)
        free(env_tab[i].value);
    n_env = 0;
}

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < n_env; i++)
        if (strcmp(env_tab[i].name, name) == 0)
            return env_tab[i].value;
    return NULL;
}

static const char *seed_str(const char *a, const char *b)
{
    json_t *v = json_object_get(seed, a);
    const char *s = json_string_value(b ? json_object_get(v, b) : v);
    ck_assert_msg(s != NULL, "seed has no %s.%s", a, b ? b : "");
    return s;
}

/* Environment with the keys of one seeded principal (NULL: none). */
static void env_for(const char *who)
{
    env_clear();
    env_set("AWS_ENDPOINT_URL", moto.endpoint);
    env_set("AWS_CONFIG_FILE", "/dev/null");
    env_set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    env_set("AWS_EC2_METADATA_DISABLED", "true");
    env_set("AWS_REGION", "eu-central-1");
    if (who) {
        env_set("AWS_ACCESS_KEY_ID", seed_str(who, "key"));
        env_set("AWS_SECRET_ACCESS_KEY", seed_str(who, "secret"));
    }
}

static void assert_no_secret(const char *s)
{
    static const char *const who[] = { "reader", "limited", "admin" };
    for (size_t i = 0; s && i < ARRAY_SIZE(who); i++) {
        const char *secret =
            json_string_value(json_object_get(json_object_get(seed, who[i]), "secret"));
        if (secret)
            ck_assert_msg(strstr(s, secret) == NULL, "secret of %s in \"%s\"", who[i], s);
    }
}

/* ---- fixture ---- */

struct t {
    uv_loop_t loop;
    struct aws_client *c;
    struct aws_account *a;
    struct aws_stats stats;
};

static void t_init(struct t *t, const struct aws_account_options *ao)
{
    struct aws_client_options o = { .getenv = fake_getenv, .max_attempts = 2 };
    struct perr err = { 0 };
    memset(t, 0, sizeof(*t));
    ck_assert_int_eq(uv_loop_init(&t->loop), 0);
    o.loop = &t->loop;
    ck_assert_msg(aws_client_new(&o, &t->c, &err) == 0, "%s", err.msg);
    ck_assert_msg(aws_account_new(t->c, ao, &t->a, &err) == 0, "%s", err.msg);
}

static void t_finish(struct t *t)
{
    aws_account_free(t->a);
    aws_client_close(t->c, NULL, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&t->loop), 0);
}

struct res {
    int done, result;
    enum aws_error_kind kind;
    char *code, *message, *action;
    json_t *out; /* pages' outputs */
};

static int on_page(const struct aws_page *p, void *ud)
{
    struct res *r = ud;
    if (!r->out)
        r->out = json_array();
    json_array_append_new(r->out, json_deep_copy(p->output));
    return 0;
}

static void on_done(int result, const struct aws_error *e, void *ud)
{
    struct res *r = ud;
    r->done++;
    r->result = result;
    if (result < 0) {
        assert_no_secret(e->message);
        r->kind = e->kind;
        r->code = e->code ? strdup(e->code) : NULL;
        r->message = strdup(e->message);
        r->action = e->iam_action ? strdup(e->iam_action) : NULL;
    }
}

static void res_free(struct res *r)
{
    free(r->code);
    free(r->message);
    free(r->action);
    json_decref(r->out);
    memset(r, 0, sizeof(*r));
}

static void run_call(struct t *t, struct res *r, const char *service, const char *op,
                     const char *params)
{
    json_t *p = params ? json_loads(params, 0, NULL) : NULL;
    struct aws_request req = { .service = service,
                               .operation = op,
                               .region = "eu-central-1",
                               .params = p,
                               .flags = AWS_CALL_ALL_PAGES,
                               .stats = &t->stats };
    struct perr err = { 0 };
    ck_assert_msg(aws_call(t->a, &req, on_page, on_done, r, NULL, &err) == 0, "%s", err.msg);
    json_decref(p);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r->done, 1);
}

/* The first page's value at a member path "A.B" (borrowed). */
static json_t *out_get(struct res *r, const char *a, const char *b)
{
    json_t *v = json_object_get(json_array_get(r->out, 0), a);
    return b ? json_object_get(v, b) : v;
}

struct ident {
    int done, result;
    char *source, *account, *arn, *msg;
    int64_t expires;
};

static void on_identity(int result, const struct aws_identity *id, const struct perr *err, void *ud)
{
    struct ident *x = ud;
    x->done++;
    x->result = result;
    if (result < 0) {
        assert_no_secret(err->msg);
        x->msg = strdup(err->msg);
        return;
    }
    x->source = strdup(id->source);
    x->account = strdup(id->account);
    x->arn = strdup(id->arn);
    x->expires = id->expires_ms;
}

static void identify(struct t *t, struct ident *x)
{
    memset(x, 0, sizeof(*x));
    ck_assert_int_eq(aws_account_identify(t->a, on_identity, x), 0);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(x->done, 1);
}

static void ident_free(struct ident *x)
{
    free(x->source);
    free(x->account);
    free(x->arn);
    free(x->msg);
}

/* ---- the tests ---- */

START_TEST(signed_calls_succeed)
{
    struct t t;
    struct res r = { 0 };
    struct ident id;
    size_t i;
    json_t *v;
    bool found = false;

    env_for("reader");
    t_init(&t, NULL);
    identify(&t, &id);
    ck_assert_msg(id.result == 0, "%s", id.msg);
    ck_assert_str_eq(id.account, "123456789012");
    ck_assert_str_eq(id.arn, "arn:aws:iam::123456789012:user/plumb-reader");
    ck_assert_str_eq(id.source, "environment");
    ident_free(&id);

    run_call(&t, &r, "ec2", "DescribeVolumes", NULL);
    ck_assert_msg(r.result == 0, "ec2: %s", r.message);
    ck_assert_uint_ge(json_array_size(out_get(&r, "Volumes", NULL)), 1);
    ck_assert(json_is_true(
        json_object_get(json_array_get(out_get(&r, "Volumes", NULL), 0), "Encrypted")));
    res_free(&r);

    run_call(&t, &r, "s3", "ListBuckets", NULL);
    ck_assert_msg(r.result == 0, "s3: %s", r.message);
    json_array_foreach (out_get(&r, "Buckets", NULL), i, v)
        found |= str_eq(json_string_value(json_object_get(v, "Name")), seed_str("bucket", NULL));
    ck_assert(found);
    res_free(&r);

    run_call(&t, &r, "iam", "ListUsers", NULL);
    ck_assert_msg(r.result == 0, "iam: %s", r.message);
    ck_assert_uint_ge(json_array_size(out_get(&r, "Users", NULL)), 2);
    res_free(&r);

    run_call(&t, &r, "kms", "ListKeys", NULL);
    ck_assert_msg(r.result == 0, "kms: %s", r.message);
    /* The encrypted volume made an aws/ebs key too. */
    found = false;
    json_array_foreach (out_get(&r, "Keys", NULL), i, v)
        found |= str_eq(json_string_value(json_object_get(v, "KeyId")), seed_str("kms_key", NULL));
    ck_assert(found);
    res_free(&r);

    run_call(&t, &r, "cloudtrail", "DescribeTrails", NULL);
    ck_assert_msg(r.result == 0, "cloudtrail: %s", r.message);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(out_get(&r, "trailList", NULL), 0), "Name")),
                     seed_str("trail", NULL));
    res_free(&r);

    run_call(&t, &r, "config", "DescribeConfigurationRecorders", NULL);
    ck_assert_msg(r.result == 0, "config: %s", r.message);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(out_get(&r, "ConfigurationRecorders", NULL), 0), "name")),
                     "default");
    res_free(&r);

    ck_assert_int_eq(t.stats.errors, 0);
    ck_assert_int_eq(t.stats.calls, 6);
    t_finish(&t);
}
END_TEST

struct obj {
    int done, result;
    char *body, *etag;
    bool not_modified;
    enum aws_error_kind kind;
};

static void on_object(int result, const struct aws_object *o, const struct aws_error *e, void *ud)
{
    struct obj *x = ud;
    x->done++;
    x->result = result;
    if (result < 0) {
        x->kind = e->kind;
        return;
    }
    x->body = strdup(o->body);
    x->etag = o->etag ? strdup(o->etag) : NULL;
    x->not_modified = o->not_modified;
}

/* The S3 state backend's read: the object as it is, its ETag, 304 on a
 * matching If-None-Match, NoSuchKey as not found. */
START_TEST(s3_object)
{
    struct t t;
    struct obj o1 = { 0 }, o2 = { 0 }, o3 = { 0 };
    struct perr err = { 0 };

    env_for("reader");
    t_init(&t, NULL);
    ck_assert_int_eq(aws_s3_get_object(t.a, "eu-central-1", seed_str("bucket", NULL),
                                       seed_str("object_key", NULL), NULL, NULL, on_object, &o1,
                                       &err),
                     0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_msg(o1.result == 0, "get object: %d", o1.result);
    ck_assert_str_eq(o1.body, seed_str("object_body", NULL));
    ck_assert_ptr_nonnull(o1.etag);
    ck_assert_int_eq(aws_s3_get_object(t.a, "eu-central-1", seed_str("bucket", NULL),
                                       seed_str("object_key", NULL), o1.etag, NULL, on_object, &o2,
                                       &err),
                     0);
    ck_assert_int_eq(aws_s3_get_object(t.a, "eu-central-1", seed_str("bucket", NULL),
                                       "env/none/terraform.tfstate", NULL, NULL, on_object, &o3,
                                       &err),
                     0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(o2.result, 0);
    ck_assert(o2.not_modified);
    ck_assert_int_eq(o3.result, -ENOENT);
    ck_assert_int_eq(o3.kind, AWS_ERR_NOT_FOUND);
    free(o1.body);
    free(o1.etag);
    free(o2.body);
    free(o2.etag);
    t_finish(&t);
}
END_TEST

/* A wrong secret, an unknown key: authentication errors with AWS's own
 * codes and messages, never the secret. */
START_TEST(bad_credentials)
{
    static const struct {
        const char *service, *op, *code;
    } cases[] = {
        { "sts", "GetCallerIdentity", "SignatureDoesNotMatch" },
        { "ec2", "DescribeVolumes", "AuthFailure" },
        { "s3", "ListBuckets", "SignatureDoesNotMatch" },
        { "iam", "ListUsers", "SignatureDoesNotMatch" },
    };
    struct t t;

    env_for("reader");
    env_set("AWS_SECRET_ACCESS_KEY", "wrong/secret/wrong/secret/wrong/secret00");
    t_init(&t, NULL);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct res r = { 0 };
        run_call(&t, &r, cases[i].service, cases[i].op, NULL);
        ck_assert_int_eq(r.result, -EPERM);
        ck_assert_int_eq(r.kind, AWS_ERR_AUTH);
        ck_assert_str_eq(r.code, cases[i].code);
        ck_assert_ptr_nonnull(r.message);
        res_free(&r);
    }
    t_finish(&t);

    env_for("reader");
    env_set("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000000");
    t_init(&t, NULL);
    {
        struct ident id;
        identify(&t, &id);
        ck_assert_int_eq(id.result, -EPERM);
        ck_assert_msg(str_has_prefix(id.msg, "sts:GetCallerIdentity with environment: "
                                             "InvalidClientTokenId: The security token included "
                                             "in the request is invalid. (HTTP 403"),
                      "%s", id.msg);
        ident_free(&id);
    }
    t_finish(&t);
}
END_TEST

/* A user whose policy lacks the action: access denied, naming it. */
START_TEST(access_denied_names_the_action)
{
    struct t t;
    struct res r = { 0 };

    env_for("limited");
    t_init(&t, NULL);
    run_call(&t, &r, "ec2", "DescribeVolumes", NULL);
    ck_assert_msg(r.result == 0, "%s", r.message);
    res_free(&r);

    run_call(&t, &r, "ec2", "DescribeInstances", NULL);
    ck_assert_int_eq(r.result, -EACCES);
    ck_assert_int_eq(r.kind, AWS_ERR_ACCESS_DENIED);
    ck_assert_str_eq(r.action, "ec2:DescribeInstances");
    res_free(&r);

    run_call(&t, &r, "iam", "ListUsers", NULL);
    ck_assert_int_eq(r.kind, AWS_ERR_ACCESS_DENIED);
    ck_assert_str_eq(r.action, "iam:ListUsers");
    res_free(&r);

    run_call(&t, &r, "s3", "ListBuckets", NULL);
    ck_assert_int_eq(r.kind, AWS_ERR_ACCESS_DENIED);
    ck_assert_str_eq(r.code, "AccessDenied");
    ck_assert_str_eq(r.action, "s3:ListBuckets");
    res_free(&r);

    /* moto answers JSON services' denials with a query-style XML body that
     * names no code a JSON parser finds: still access denied, with the
     * action from the message. */
    run_call(&t, &r, "kms", "ListKeys", NULL);
    ck_assert_int_eq(r.kind, AWS_ERR_ACCESS_DENIED);
    ck_assert_str_eq(r.action, "kms:ListKeys");
    res_free(&r);
    run_call(&t, &r, "config", "DescribeConfigurationRecorders", NULL);
    ck_assert_int_eq(r.kind, AWS_ERR_ACCESS_DENIED);
    ck_assert_str_eq(r.action, "config:DescribeConfigurationRecorders");
    res_free(&r);
    ck_assert_int_eq(t.stats.errors, 5);
    t_finish(&t);
}
END_TEST

/* AssumeRole into a role whose trust policy requires the external id. */
START_TEST(assume_role_with_external_id)
{
    struct t t;
    struct ident id;
    struct res r = { 0 };
    struct aws_account_options ao = {
        .role_arn = seed_str("role_arn", NULL),
        .external_id = seed_str("external_id", NULL),
        .session_name = "plumb-it",
        .sts_region = "eu-central-1",
    };
    char want[256];

    env_for("reader");
    t_init(&t, &ao);
    identify(&t, &id);
    ck_assert_msg(id.result == 0, "%s", id.msg);
    ck_assert_str_eq(id.arn, "arn:aws:sts::123456789012:assumed-role/plumb-audit/plumb-it");
    snprintf(want, sizeof(want), "environment -> assumed role %s", ao.role_arn);
    ck_assert_str_eq(id.source, want);
    ck_assert_int_gt(id.expires, time_now_ms());
    ident_free(&id);
    /* The role's own policy applies now. */
    run_call(&t, &r, "ec2", "DescribeVolumes", NULL);
    ck_assert_msg(r.result == 0, "%s", r.message);
    res_free(&r);
    run_call(&t, &r, "ec2", "DescribeInstances", NULL);
    ck_assert_int_eq(r.kind, AWS_ERR_ACCESS_DENIED);
    ck_assert_str_eq(r.action, "ec2:DescribeInstances");
    res_free(&r);
    t_finish(&t);

    /* The wrong external id: the trust policy refuses. */
    ao.external_id = "wrong-external-id";
    t_init(&t, &ao);
    identify(&t, &id);
    ck_assert_int_eq(id.result, -EACCES);
    snprintf(want, sizeof(want),
             "credentials (environment -> assumed role %s): assume role %s: AccessDenied: ",
             ao.role_arn, ao.role_arn);
    ck_assert_msg(strncmp(id.msg, want, strlen(want)) == 0, "%s", id.msg);
    ident_free(&id);
    t_finish(&t);
}
END_TEST

/* Web identity: the token file is read and sent unsigned to STS.  moto
 * cannot route an unsigned STS request while its authentication is on, so
 * this one test runs with it off. */
START_TEST(web_identity)
{
    struct t t;
    struct ident id;
    char *dir = tu_tmpdir(), *file = tu_path_join(dir, "token");

    tu_write_file(file, "eyJhbGciOiJSUzI1NiJ9.plumb-it-web-identity.signature\n");
    tu_moto_auth(&moto, false);
    env_for(NULL);
    env_set("AWS_WEB_IDENTITY_TOKEN_FILE", file);
    env_set("AWS_ROLE_ARN", seed_str("role_arn", NULL));
    env_set("AWS_ROLE_SESSION_NAME", "plumb-wi");
    t_init(&t, NULL);
    identify(&t, &id);
    ck_assert_msg(id.result == 0, "%s", id.msg);
    ck_assert_str_eq(id.arn, "arn:aws:sts::123456789012:assumed-role/plumb-audit/plumb-wi");
    ck_assert(
        str_has_prefix(id.source, "web identity (arn:aws:iam::123456789012:role/plumb-audit"));
    ck_assert_int_gt(id.expires, time_now_ms());
    ident_free(&id);
    t_finish(&t);
    tu_moto_auth(&moto, true);
    tu_rmrf(dir);
    free(dir);
    free(file);
}
END_TEST

/* IMDSv2 (the fake refuses IMDSv1) handing out the reader's keys. */
START_TEST(imds_v2)
{
    struct tsrv s;
    struct t t;
    struct ident id;
    json_t *st, *log;
    size_t i;
    json_t *e;
    const char *args[] = { "--access-key",
                           seed_str("reader", "key"),
                           "--secret-key",
                           seed_str("reader", "secret"),
                           "--session-token",
                           "",
                           "--expiration",
                           "2099-01-01T00:00:00Z",
                           NULL };

    tsrv_start(&s, "imds_server.py", args);
    env_for(NULL);
    env_set("AWS_EC2_METADATA_DISABLED", NULL);
    env_set("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url);
    t_init(&t, NULL);
    identify(&t, &id);
    ck_assert_msg(id.result == 0, "%s", id.msg);
    ck_assert_str_eq(id.arn, "arn:aws:iam::123456789012:user/plumb-reader");
    ck_assert(str_has_prefix(id.source, "instance metadata (IMDSv2 at http://127.0.0.1:"));
    ident_free(&id);
    t_finish(&t);

    st = tsrv_stats(&s);
    log = json_object_get(st, "log");
    ck_assert_uint_eq(json_array_size(log), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(log, 0), "method")), "PUT");
    json_array_foreach (log, i, e)
        if (i > 0)
            ck_assert_str_eq(json_string_value(json_object_get(e, "token")), "valid");
    json_decref(st);
    tsrv_stop(&s);
}
END_TEST

/* ---- plumb doctor, the binary ---- */

/* A configuration enabling only the ec2 collector. */
static const char *doctor_conf(void)
{
    static char path[512];
    char *text = NULL, *dir;
    size_t len = 0;
    FILE *f;
    if (path[0])
        return path;
    dir = tu_tmpdir();
    snprintf(path, sizeof(path), "%s/doctor.conf", dir);
    free(dir);
    f = open_memstream(&text, &len);
    fprintf(f, "[plumb]\nregions = eu-central-1\n");
    for (size_t i = 0; collector_registry[i]; i++)
        if (!str_eq(collector_registry[i]->name, "ec2"))
            fprintf(f, "[collector %s]\nenabled = no\n", collector_registry[i]->name);
    fclose(f);
    tu_write_file(path, text);
    free(text);
    return path;
}

static int run_doctor(const char *who, const char *secret, const char *const *extra_args,
                      char **out, char **err)
{
    char *plumb = tu_buildpath("daemon/plumb");
    char e_ep[128], e_key[96], e_secret[160];
    const char *env[] = { e_ep,
                          e_key,
                          e_secret,
                          "AWS_REGION=eu-central-1",
                          "AWS_CONFIG_FILE=/dev/null",
                          "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
                          "AWS_EC2_METADATA_DISABLED=true",
                          "NO_COLOR=1",
                          NULL };
    const char *argv[16];
    size_t n = 0;
    int st;

    snprintf(e_ep, sizeof(e_ep), "AWS_ENDPOINT_URL=%s", moto.endpoint);
    snprintf(e_key, sizeof(e_key), "AWS_ACCESS_KEY_ID=%s", seed_str(who, "key"));
    snprintf(e_secret, sizeof(e_secret), "AWS_SECRET_ACCESS_KEY=%s",
             secret ? secret : seed_str(who, "secret"));
    argv[n++] = plumb;
    argv[n++] = "doctor";
    /* moto implements only part of what the collectors read (no AppStream,
     * Access Analyzer, Incident Manager...): check one collector. */
    argv[n++] = "-c";
    argv[n++] = doctor_conf();
    for (size_t i = 0; extra_args && extra_args[i] && n < 15; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    st = tu_run(argv, env, out, err);
    assert_no_secret(*out);
    assert_no_secret(*err);
    free(plumb);
    return st;
}

static json_t *find_check(json_t *report, const char *check, const char *subject)
{
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(report, "checks"), i, c)
        if (str_eq(json_string_value(json_object_get(c, "check")), check) &&
            (!subject || str_eq(json_string_value(json_object_get(c, "subject")), subject)))
            return c;
    ck_abort_msg("no %s check", check);
    return NULL;
}

static const char *field(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

START_TEST(doctor_restricted_user)
{
    const char *json_args[] = { "--output", "json", NULL };
    char *out = NULL, *err = NULL;
    json_t *rep, *c;

    /* Table: the limited user may only describe volumes, so the ec2
     * collector's permission check fails naming the action it lacks, and
     * the over-broad check could not run. */
    ck_assert_int_eq(run_doctor("limited", NULL, NULL, &out, &err), 3);
    ck_assert_msg(strstr(out, "ACCOUNT  CHECK") != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "arn:aws:iam::123456789012:user/plumb-limited"));
    ck_assert_ptr_nonnull(strstr(out, "static keys ("));
    ck_assert_ptr_nonnull(strstr(out, "could not check: access denied to "
                                      "iam:ListAttachedUserPolicies"));
    ck_assert_msg(strstr(out, "ec2:DescribeSubnets") != NULL, "%s", out);
    ck_assert_ptr_null(strstr(out, "All checks passed."));
    /* Nothing on stderr from plumb itself (sanitizer builds may add their
     * own reports of other modules). */
    ck_assert_msg(strstr(err, "plumb:") == NULL, "%s", err);
    free(out);
    free(err);

    ck_assert_int_eq(run_doctor("limited", NULL, json_args, &out, &err), 3);
    rep = json_loads(out, 0, NULL);
    ck_assert_msg(rep != NULL, "not JSON: %s", out);
    ck_assert_str_eq(field(rep, "status"), "fail");
    c = find_check(rep, "permission", "ec2");
    ck_assert_str_eq(field(c, "status"), "fail");
    ck_assert_msg(strstr(field(c, "detail"), "ec2:DescribeSubnets") != NULL, "%s",
                  field(c, "detail"));
    c = json_array_get(json_object_get(rep, "accounts"), 0);
    ck_assert_str_eq(field(c, "name"), "default");
    ck_assert_str_eq(field(c, "region"), "eu-central-1");
    ck_assert_str_eq(field(c, "source"), "environment");
    ck_assert_str_eq(field(c, "account_id"), "123456789012");
    ck_assert_str_eq(field(c, "arn"), "arn:aws:iam::123456789012:user/plumb-limited");
    ck_assert(json_is_integer(json_object_get(c, "clock_skew_ms")));
    ck_assert_str_eq(field(find_check(rep, "credentials", NULL), "status"), "ok");
    ck_assert_str_eq(field(find_check(rep, "identity", NULL), "subject"), "123456789012");
    ck_assert_str_eq(field(find_check(rep, "clock", NULL), "status"), "ok");
    ck_assert_str_eq(field(find_check(rep, "endpoint", "sts"), "status"), "ok");
    ck_assert_str_eq(field(find_check(rep, "endpoint", "iam"), "status"), "ok");
    c = find_check(rep, "over-broad", NULL);
    ck_assert_str_eq(field(c, "status"), "skip");
    ck_assert_str_eq(field(c, "detail"),
                     "could not check: access denied to iam:ListAttachedUserPolicies");
    json_decref(rep);
    free(out);
    free(err);
}
END_TEST

START_TEST(doctor_admin_and_broken)
{
    const char *json_args[] = { "--output", "json", NULL };
    char *out = NULL, *err = NULL;
    json_t *rep, *c;

    if (json_is_null(json_object_get(seed, "admin"))) {
        fprintf(stderr, "moto has no AWS managed policies: admin case left out\n");
    } else {
        ck_assert_int_eq(run_doctor("admin", NULL, json_args, &out, &err), 3);
        rep = json_loads(out, 0, NULL);
        ck_assert_ptr_nonnull(rep);
        ck_assert_str_eq(field(rep, "status"), "warn");
        c = find_check(rep, "over-broad", NULL);
        ck_assert_str_eq(field(c, "status"), "warn");
        ck_assert_str_eq(field(c, "detail"),
                         "AdministratorAccess is attached to user plumb-admin; plumb needs only "
                         "read access (plumb doctor --policy)");
        json_decref(rep);
        free(out);
        free(err);
    }

    /* A wrong secret: the identity check fails, the rest is skipped. */
    ck_assert_int_eq(
        run_doctor("reader", "wrong/secret/wrong/secret/wrong/secret00", NULL, &out, &err), 3);
    ck_assert_ptr_nonnull(strstr(out, "SignatureDoesNotMatch"));
    ck_assert_ptr_nonnull(strstr(out, "not checked: the caller's identity is unknown"));
    ck_assert_ptr_nonnull(strstr(out, "1 problem: 1 failed, 0 warnings."));
    free(out);
    free(err);
}
END_TEST

/* A configured account id that is not the credentials' account. */
START_TEST(doctor_expected_account)
{
    char *dir = tu_tmpdir(), *conf = tu_path_join(dir, "plumb.conf");
    const char *args[] = { "-c", conf, "--output", "json", NULL };
    char *out = NULL, *err = NULL;
    json_t *rep, *c;

    tu_write_file(conf, "[plumb]\ndatabase = /tmp/plumb-it-client.db\n\n"
                        "[account prod]\nid = 210987654321\n");
    ck_assert_int_eq(run_doctor("reader", NULL, args, &out, &err), 3);
    rep = json_loads(out, 0, NULL);
    ck_assert_msg(rep != NULL, "%s / %s", out, err);
    c = find_check(rep, "identity", NULL);
    ck_assert_str_eq(field(c, "account"), "prod");
    ck_assert_str_eq(field(c, "status"), "fail");
    ck_assert_str_eq(field(c, "detail"),
                     "the credentials from environment belong to account 123456789012, but the "
                     "configuration expects account 210987654321");
    json_decref(rep);
    free(out);
    free(err);
    tu_rmrf(dir);
    free(dir);
    free(conf);
}
END_TEST

START_TEST(doctor_policy_and_usage)
{
    const char *policy[] = { "--policy", NULL };
    const char *bad[] = { "--bogus", NULL };
    char *out = NULL, *err = NULL;
    json_t *p;

    ck_assert_int_eq(run_doctor("reader", NULL, policy, &out, &err), 0);
    p = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(field(p, "Version"), "2012-10-17");
    ck_assert_str_eq(field(json_array_get(json_object_get(p, "Statement"), 0), "Effect"), "Allow");
    json_decref(p);
    free(out);
    free(err);
    ck_assert_int_eq(run_doctor("reader", NULL, bad, &out, &err), 2);
    ck_assert_str_eq(err, "plumb: unknown option '--bogus' (see plumb doctor --help)\n");
    free(out);
    free(err);
}
END_TEST

/* Seeding once is enough: the tests only read (and moto takes long to
 * load its managed policies). */
static void seed_moto(void)
{
    char *path = tu_srcpath("tests/seed/client.py"), *out = NULL, *err = NULL;
    const char *argv[] = { tsrv_python, path, NULL };
    int st;

    /* Not tu_moto_seed() or tu_moto_auth(): this runs outside any test,
     * where Check's assertions (even passing ones) cannot report.  A new
     * moto starts with its authentication off. */
    st = tu_run(argv, tu_moto_env(&moto), &out, &err);
    seed = st == 0 ? json_loads(out, 0, NULL) : NULL;
    if (!seed) {
        fprintf(stderr, "seeding moto failed (%d): %s%s\n", st, out ? out : "", err ? err : "");
        exit(EXIT_FAILURE);
    }
    free(out);
    free(err);
    free(path);
}

static void setup(void)
{
    tu_moto_auth(&moto, true);
}

static void teardown(void)
{
    tu_moto_auth(&moto, false);
}

static Suite *suite(void)
{
    Suite *s = suite_create("it-client");
    TCase *tc = tcase_create("moto");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, signed_calls_succeed);
    tcase_add_test(tc, s3_object);
    tcase_add_test(tc, bad_credentials);
    tcase_add_test(tc, access_denied_names_the_action);
    tcase_add_test(tc, assume_role_with_external_id);
    tcase_add_test(tc, web_identity);
    tcase_add_test(tc, imds_v2);
    tcase_add_test(tc, doctor_restricted_user);
    tcase_add_test(tc, doctor_admin_and_broken);
    tcase_add_test(tc, doctor_expected_account);
    tcase_add_test(tc, doctor_policy_and_usage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc;
    tsrv_find_python();
    /* AWS managed policies (AdministratorAccess) for the over-broad check. */
    setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true", 1);
    tu_moto_start(&moto);
    seed_moto();
    rc = tu_run_suite(suite());
    tu_moto_stop(&moto);
    json_decref(seed);
    env_clear();
    return rc;
}
