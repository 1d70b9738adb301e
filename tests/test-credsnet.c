/* lib/credsnet: credential plans executed against a fake IMDS / container
 * endpoint (tests/harness/imds_server.py, which refuses IMDSv1 requests)
 * and a fake STS transport that records what it was asked.  Plans come
 * from the real chain (creds_resolve) with an injected environment. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "credsnet.h"
#include "srvutil.h"
#include "testutil.h"

#define SECRET_A      "web/identity/secret/aaaaaaaaaaaaaaaaaaaaaaaa"
#define SECRET_B      "assumed/role/secret/bbbbbbbbbbbbbbbbbbbbbbbbb"
#define STATIC_SECRET "static/source/secret/cccccccccccccccccccccc"
#define IMDS_SECRET   "imds/fake/secret/key/0000000000000000000"
#define WEB_TOKEN     "eyJhbGciOi.web-identity-token.sig"

static void assert_no_secret(const char *s)
{
    static const char *const secrets[] = { SECRET_A,
                                           SECRET_B,
                                           STATIC_SECRET,
                                           IMDS_SECRET,
                                           WEB_TOKEN,
                                           "container-token-xyz",
                                           "imds-fake-session-token" };
    for (size_t i = 0; s && i < ARRAY_SIZE(secrets); i++)
        ck_assert_msg(strstr(s, secrets[i]) == NULL, "secret %s in \"%s\"", secrets[i], s);
}

/* ---- fake STS ---- */

struct sts_answer {
    int result;
    const char *key, *secret, *token, *error;
};

struct fake_sts;

struct sts_pending {
    uv_timer_t timer;
    struct fake_sts *f;
    credsnet_sts_cb cb;
    void *userdata;
    struct sts_answer answer;
    bool cancelled;
};

struct fake_sts {
    uv_loop_t *loop;
    struct sts_answer answers[4];
    size_t n_answers, next;
    json_t *calls; /* [{operation, region, params, key}] */
    struct sts_pending *last;
    bool in_api;
};

static void pending_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sts_fire(uv_timer_t *t)
{
    struct sts_pending *p = t->data;
    if (p->cancelled) {
        struct perr err = { .code = -ECANCELED, .msg = "cancelled" };
        p->cb(-ECANCELED, NULL, &err, p->userdata);
    } else if (p->answer.result < 0) {
        struct perr err = { .code = p->answer.result };
        snprintf(err.msg, sizeof(err.msg), "%s", p->answer.error);
        p->cb(p->answer.result, NULL, &err, p->userdata);
    } else {
        json_t *out = json_pack("{s:{s:s, s:s, s:s, s:s}}", "Credentials", "AccessKeyId",
                                p->answer.key, "SecretAccessKey", p->answer.secret, "SessionToken",
                                p->answer.token, "Expiration", "2030-01-01T00:00:00Z");
        p->cb(0, out, NULL, p->userdata);
        json_decref(out);
    }
    if (p->f->last == p)
        p->f->last = NULL;
    uv_close((uv_handle_t *)&p->timer, pending_closed);
}

static int sts_call(void *ctx, const char *operation, const char *region, json_t *params,
                    const struct aws_credentials *creds, credsnet_sts_cb cb, void *userdata,
                    void **ret_handle, struct perr *err)
{
    struct fake_sts *f = ctx;
    struct sts_pending *p;
    ck_assert_uint_lt(f->next, f->n_answers);
    json_array_append_new(f->calls,
                          json_pack("{s:s, s:s, s:O, s:o, s:s?}", "operation", operation, "region",
                                    region, "params", params, "sent", json_deep_copy(params), "key",
                                    creds ? creds->access_key_id : NULL));
    p = calloc(1, sizeof(*p));
    p->f = f;
    p->cb = cb;
    p->userdata = userdata;
    p->answer = f->answers[f->next++];
    ck_assert_int_eq(uv_timer_init(f->loop, &p->timer), 0);
    p->timer.data = p;
    uv_timer_start(&p->timer, sts_fire, 0, 0);
    f->last = p;
    *ret_handle = p;
    return 0;
}

static void sts_cancel(void *ctx, void *handle)
{
    struct sts_pending *p = handle;
    p->cancelled = true;
}

/* ---- fixture ---- */

struct t {
    uv_loop_t loop;
    struct http_client *http;
    struct fake_sts fake;
    struct credsnet_sts sts;
    struct creds_plan *plan;
    char **envp;
    char *dir;
    /* result */
    int done, result;
    struct aws_credentials *creds;
    char msg[512];
    bool in_api;
    struct credsnet *f;
};

static void t_init(struct t *t, const char *const *env)
{
    struct perr err = { 0 };
    memset(t, 0, sizeof(*t));
    ck_assert_int_eq(uv_loop_init(&t->loop), 0);
    ck_assert_int_eq(http_client_new(&t->loop, NULL, &t->http, &err), 0);
    t->fake.loop = &t->loop;
    t->fake.calls = json_array();
    t->sts.call = sts_call;
    t->sts.cancel = sts_cancel;
    t->sts.ctx = &t->fake;
    t->dir = tu_tmpdir();
    strv_push(&t->envp, "AWS_CONFIG_FILE=/dev/null");
    strv_push(&t->envp, "AWS_SHARED_CREDENTIALS_FILE=/dev/null");
    for (size_t i = 0; env && env[i]; i++)
        strv_push(&t->envp, env[i]);
}

static void t_plan(struct t *t, const char *profile)
{
    struct perr err = { 0 };
    struct creds_options o = { .envp = t->envp, .profile = profile, .now_ms = time_now_ms() };
    ck_assert_msg(creds_resolve(&o, &t->plan, &err) == 0, "creds_resolve: %s", err.msg);
}

static void on_done(int result, struct aws_credentials *creds, const struct perr *err, void *ud)
{
    struct t *t = ud;
    ck_assert(!t->in_api);
    t->done++;
    t->result = result;
    if (result < 0) {
        ck_assert_ptr_null(creds);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, result);
        assert_no_secret(err->msg);
        snprintf(t->msg, sizeof(t->msg), "%s", err->msg);
    } else {
        ck_assert_ptr_null(err);
        ck_assert_ptr_nonnull(creds);
        t->creds = creds;
    }
}

static int t_fetch(struct t *t, const struct creds_assume_role *role, const char *sts_region,
                   struct perr *err)
{
    struct credsnet_options o = {
        .http = t->http,
        .sts = &t->sts,
        .sts_region = sts_region,
        .role = role,
        .timeout_ms = 2000,
    };
    int r;
    t->in_api = true;
    r = credsnet_fetch(t->plan, &o, on_done, t, &t->f, err);
    t->in_api = false;
    return r;
}

static void t_run(struct t *t, const struct creds_assume_role *role, const char *sts_region)
{
    struct perr err = { 0 };
    ck_assert_msg(t_fetch(t, role, sts_region, &err) == 0, "credsnet_fetch: %s", err.msg);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->done, 1);
}

static void t_finish(struct t *t)
{
    http_client_close(t->http, NULL, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&t->loop), 0);
    aws_credentials_free(t->creds);
    creds_plan_free(t->plan);
    strv_free(t->envp);
    json_decref(t->fake.calls);
    tu_rmrf(t->dir);
    free(t->dir);
}

static void imds_env(struct t *t, const struct tsrv *s)
{
    char *e = str_printf("AWS_EC2_METADATA_SERVICE_ENDPOINT=%s", s->url);
    strv_consume(&t->envp, e);
}

static const char *log_str(json_t *log, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(log, i), key));
}

/* ---- IMDSv2 ---- */

START_TEST(imds_v2_flow)
{
    struct tsrv s;
    struct t t;
    const char *args[] = { "--expiration", "2030-01-01T00:00:00Z", NULL };
    json_t *st, *log;
    char *desc, want[128];
    int64_t exp;

    tsrv_start(&s, "imds_server.py", args);
    t_init(&t, NULL);
    imds_env(&t, &s);
    t_plan(&t, NULL);
    ck_assert_int_eq(t.plan->source, CREDS_SOURCE_IMDS);
    ck_assert(credsnet_needed(t.plan, NULL));
    desc = credsnet_describe(t.plan, NULL);
    snprintf(want, sizeof(want), "instance metadata (IMDSv2 at %s)", s.url);
    ck_assert_str_eq(desc, want);
    free(desc);

    t_run(&t, NULL, NULL);
    ck_assert_int_eq(t.result, 0);
    ck_assert_str_eq(t.creds->access_key_id, "ASIAIMDSFAKE00000001");
    ck_assert_str_eq(t.creds->secret_access_key, IMDS_SECRET);
    ck_assert_str_eq(t.creds->session_token, "imds-fake-session-token");
    ck_assert_int_eq(time_parse_iso8601("2030-01-01T00:00:00Z", &exp), 0);
    ck_assert_int_eq(t.creds->expiration_ms, exp);
    ck_assert_uint_eq(json_array_size(t.fake.calls), 0);

    st = tsrv_stats(&s);
    log = json_object_get(st, "log");
    ck_assert_uint_eq(json_array_size(log), 3);
    ck_assert_str_eq(log_str(log, 0, "method"), "PUT");
    ck_assert_str_eq(log_str(log, 0, "path"), "/latest/api/token");
    ck_assert_str_eq(log_str(log, 0, "ttl"), "21600");
    ck_assert_str_eq(log_str(log, 1, "method"), "GET");
    ck_assert_str_eq(log_str(log, 1, "path"), "/latest/meta-data/iam/security-credentials/");
    ck_assert_str_eq(log_str(log, 1, "token"), "valid");
    ck_assert_str_eq(log_str(log, 2, "path"),
                     "/latest/meta-data/iam/security-credentials/plumb-instance-role");
    ck_assert_str_eq(log_str(log, 2, "token"), "valid");
    json_decref(st);
    t_finish(&t);
    tsrv_stop(&s);
}
END_TEST

/* An IMDS that refuses the token request (IMDSv2 unavailable or
 * disabled) is an error: no IMDSv1 GET follows. */
START_TEST(imds_token_refused_no_v1_fallback)
{
    struct tsrv s;
    struct t t;
    const char *args[] = { "--refuse-token", NULL };
    json_t *st;
    char want[256];

    tsrv_start(&s, "imds_server.py", args);
    t_init(&t, NULL);
    imds_env(&t, &s);
    t_plan(&t, NULL);
    t_run(&t, NULL, NULL);
    ck_assert_int_eq(t.result, -EACCES);
    snprintf(want, sizeof(want),
             "instance metadata (IMDSv2) at %s: the IMDSv2 token request was refused (HTTP 403); "
             "plumb never falls back to IMDSv1",
             s.url);
    ck_assert_str_eq(t.msg, want);
    st = tsrv_stats(&s);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "requests")), 1);
    json_decref(st);
    t_finish(&t);
    tsrv_stop(&s);
}
END_TEST

START_TEST(imds_errors)
{
    static const struct {
        const char *arg;
        int result;
        const char *tail;
    } cases[] = {
        { "--no-role", -ENOENT, "no IAM role is attached to the instance (HTTP 404)" },
        { "--bad-document", -EINVAL,
          "imds: credential document is not valid JSON (line 1, column 35)" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct tsrv s;
        struct t t;
        const char *args[] = { cases[i].arg, NULL };
        char want[256];
        tsrv_start(&s, "imds_server.py", args);
        t_init(&t, NULL);
        imds_env(&t, &s);
        t_plan(&t, NULL);
        t_run(&t, NULL, NULL);
        ck_assert_int_eq(t.result, cases[i].result);
        snprintf(want, sizeof(want), "instance metadata (IMDSv2) at %s: %s", s.url, cases[i].tail);
        ck_assert_str_eq(t.msg, want);
        t_finish(&t);
        tsrv_stop(&s);
    }
}
END_TEST

START_TEST(imds_unreachable)
{
    struct t t;
    char env[96], want[256];
    int port = tu_free_port();
    const char *e[] = { env, NULL };

    snprintf(env, sizeof(env), "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:%d", port);
    t_init(&t, e);
    t_plan(&t, NULL);
    t_run(&t, NULL, NULL);
    ck_assert_int_eq(t.result, -ECONNREFUSED);
    snprintf(want, sizeof(want), "instance metadata (IMDSv2) at http://127.0.0.1:%d: ", port);
    ck_assert_msg(strncmp(t.msg, want, strlen(want)) == 0, "%s", t.msg);
    t_finish(&t);
}
END_TEST

/* ---- container ---- */

START_TEST(container_with_token_file)
{
    struct tsrv s;
    struct t t;
    const char *args[] = { "--container-path", "/v2/creds", "--container-token",
                           "container-token-xyz", NULL };
    char *file, *e1, *e2, want[256];
    json_t *st, *log;

    tsrv_start(&s, "imds_server.py", args);
    t_init(&t, NULL);
    file = tu_path_join(t.dir, "token");
    tu_write_file(file, "  container-token-xyz\n");
    e1 = str_printf("AWS_CONTAINER_CREDENTIALS_FULL_URI=%s/v2/creds", s.url);
    e2 = str_printf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s", file);
    strv_consume(&t.envp, e1);
    strv_consume(&t.envp, e2);
    strv_push(&t.envp, "AWS_EC2_METADATA_DISABLED=true");
    t_plan(&t, NULL);
    ck_assert_int_eq(t.plan->source, CREDS_SOURCE_CONTAINER);
    t_run(&t, NULL, NULL);
    ck_assert_msg(t.result == 0, "%s", t.msg);
    ck_assert_str_eq(t.creds->access_key_id, "ASIAIMDSFAKE00000001");
    st = tsrv_stats(&s);
    log = json_object_get(st, "log");
    ck_assert_uint_eq(json_array_size(log), 1);
    ck_assert_str_eq(log_str(log, 0, "authorization"), "valid");
    json_decref(st);
    aws_credentials_free(t.creds);
    t.creds = NULL;

    /* A wrong token is refused by the endpoint. */
    tu_write_file(file, "wrong-token");
    t.done = 0;
    t_run(&t, NULL, NULL);
    ck_assert_int_eq(t.result, -EACCES);
    snprintf(want, sizeof(want), "container credentials at %s/v2/creds: HTTP 401", s.url);
    ck_assert_str_eq(t.msg, want);

    /* A missing token file fails before anything is sent. */
    unlink(file);
    {
        struct perr err = { 0 };
        ck_assert_int_eq(t_fetch(&t, NULL, NULL, &err), -ENOENT);
        snprintf(want, sizeof(want),
                 "container credentials at %s/v2/creds: %s: cannot read token file: ", s.url, file);
        ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    }
    free(file);
    t_finish(&t);
    tsrv_stop(&s);
}
END_TEST

/* ---- STS steps ---- */

/* Web identity (unsigned, token read from the file), then the caller's
 * role (signed with the web identity credentials, external id). */
START_TEST(web_identity_then_role)
{
    struct t t;
    char *file, *e1;
    char arn[] = "arn:aws:iam::222222222222:role/plumb-reader", sess[] = "plumb-test",
         ext[] = "ext-1";
    struct creds_assume_role role = { .role_arn = arn, .session_name = sess, .external_id = ext };
    json_t *c0, *c1;
    char *desc, *want;

    t_init(&t, NULL);
    file = tu_path_join(t.dir, "jwt");
    tu_write_file(file, WEB_TOKEN "\n");
    e1 = str_printf("AWS_WEB_IDENTITY_TOKEN_FILE=%s", file);
    strv_consume(&t.envp, e1);
    strv_push(&t.envp, "AWS_ROLE_ARN=arn:aws:iam::111111111111:role/ci");
    strv_push(&t.envp, "AWS_ROLE_SESSION_NAME=ci-session");
    strv_push(&t.envp, "AWS_REGION=eu-north-1");
    t_plan(&t, NULL);
    ck_assert_int_eq(t.plan->source, CREDS_SOURCE_WEB_IDENTITY);
    desc = credsnet_describe(t.plan, &role);
    want = str_printf("web identity (arn:aws:iam::111111111111:role/ci, token file %s) -> assumed "
                      "role arn:aws:iam::222222222222:role/plumb-reader",
                      file);
    ck_assert_str_eq(desc, want);
    free(want);
    free(desc);
    t.fake.answers[0] = (struct sts_answer){ 0, "ASIAWEBIDENTITY00001", SECRET_A, "tok-a", NULL };
    t.fake.answers[1] = (struct sts_answer){ 0, "ASIAASSUMED000000001", SECRET_B, "tok-b", NULL };
    t.fake.n_answers = 2;
    t_run(&t, &role, NULL);
    ck_assert_msg(t.result == 0, "%s", t.msg);
    ck_assert_str_eq(t.creds->access_key_id, "ASIAASSUMED000000001");
    ck_assert_str_eq(t.creds->secret_access_key, SECRET_B);
    ck_assert_str_eq(t.creds->session_token, "tok-b");
    ck_assert_str_eq(t.creds->source, "assume role arn:aws:iam::222222222222:role/plumb-reader");

    ck_assert_uint_eq(json_array_size(t.fake.calls), 2);
    c0 = json_array_get(t.fake.calls, 0);
    ck_assert_str_eq(json_string_value(json_object_get(c0, "operation")),
                     "AssumeRoleWithWebIdentity");
    ck_assert_str_eq(json_string_value(json_object_get(c0, "region")), "eu-north-1");
    ck_assert(json_is_null(json_object_get(c0, "key")));
    {
        json_t *sent = json_object_get(c0, "sent");
        /* The params were wiped after the call: the fake kept a reference
         * to the very object, so its strings are zeros now. */
        json_t *p = json_object_get(c0, "params");
        ck_assert_str_eq(json_string_value(json_object_get(sent, "WebIdentityToken")), WEB_TOKEN);
        ck_assert_str_eq(json_string_value(json_object_get(sent, "RoleArn")),
                         "arn:aws:iam::111111111111:role/ci");
        ck_assert_str_eq(json_string_value(json_object_get(sent, "RoleSessionName")), "ci-session");
        ck_assert_uint_eq(json_object_size(p), 3);
        ck_assert_str_eq(json_string_value(json_object_get(p, "WebIdentityToken")), "");
    }
    c1 = json_array_get(t.fake.calls, 1);
    ck_assert_str_eq(json_string_value(json_object_get(c1, "operation")), "AssumeRole");
    ck_assert_str_eq(json_string_value(json_object_get(c1, "key")), "ASIAWEBIDENTITY00001");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c1, "params"), "RoleArn")),
                     "arn:aws:iam::222222222222:role/plumb-reader");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(c1, "params"), "RoleSessionName")),
        "plumb-test");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(c1, "params"), "ExternalId")), "ext-1");
    ck_assert_ptr_null(json_object_get(json_object_get(c1, "params"), "DurationSeconds"));
    free(file);
    t_finish(&t);
}
END_TEST

/* The token file is read on every fetch: its content goes out as is. */
START_TEST(web_identity_token_is_sent)
{
    struct t t;
    char *file, *e1;
    struct perr err = { 0 };
    json_t *sent;

    t_init(&t, NULL);
    file = tu_path_join(t.dir, "jwt");
    tu_write_file(file, WEB_TOKEN);
    e1 = str_printf("AWS_WEB_IDENTITY_TOKEN_FILE=%s", file);
    strv_consume(&t.envp, e1);
    strv_push(&t.envp, "AWS_ROLE_ARN=arn:aws:iam::111111111111:role/ci");
    t_plan(&t, NULL);
    t.fake.answers[0] = (struct sts_answer){ 0, "ASIAWEBIDENTITY00001", SECRET_A, "tok-a", NULL };
    t.fake.n_answers = 1;
    ck_assert_int_eq(t_fetch(&t, NULL, "us-west-2", &err), 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.result, 0);
    sent = json_object_get(json_array_get(t.fake.calls, 0), "sent");
    ck_assert_str_eq(json_string_value(json_object_get(sent, "WebIdentityToken")), WEB_TOKEN);
    /* Without AWS_ROLE_SESSION_NAME the chain makes one up. */
    ck_assert(str_has_prefix(json_string_value(json_object_get(sent, "RoleSessionName")),
                             CREDS_DEFAULT_ROLE_PREFIX));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(t.fake.calls, 0), "region")),
                     "us-west-2");
    ck_assert_str_eq(t.creds->source, "web identity arn:aws:iam::111111111111:role/ci");

    /* An empty token file is refused before STS is asked. */
    tu_write_file(file, "\n");
    {
        char want[256];
        ck_assert_int_eq(t_fetch(&t, NULL, NULL, &err), -EINVAL);
        snprintf(want, sizeof(want),
                 "web identity for arn:aws:iam::111111111111:role/ci: %s: token file is empty",
                 file);
        ck_assert_str_eq(err.msg, want);
    }
    free(file);
    t_finish(&t);
}
END_TEST

/* Static keys of a source profile, AssumeRole from the profile (external
 * id, duration), then the caller's role. */
START_TEST(profile_role_chain)
{
    struct t t;
    char *config, *e1;
    char arn[] = "arn:aws:iam::333333333333:role/final";
    struct creds_assume_role role = { .role_arn = arn };
    json_t *c0, *c1;
    char *desc;

    t_init(&t, NULL);
    config = tu_path_join(t.dir, "config");
    tu_write_file(config, "[profile src]\n"
                          "aws_access_key_id = AKIASTATICSOURCE0001\n"
                          "aws_secret_access_key = " STATIC_SECRET "\n"
                          "[profile dst]\n"
                          "role_arn = arn:aws:iam::222222222222:role/mid\n"
                          "source_profile = src\n"
                          "external_id = mid-ext\n"
                          "duration_seconds = 900\n"
                          "role_session_name = mid-session\n"
                          "region = ap-southeast-2\n");
    e1 = str_printf("AWS_CONFIG_FILE=%s", config);
    free(t.envp[0]);
    t.envp[0] = e1;
    t_plan(&t, "dst");
    ck_assert_int_eq(t.plan->source, CREDS_SOURCE_STATIC);
    ck_assert_uint_eq(t.plan->n_roles, 1);
    desc = credsnet_describe(t.plan, &role);
    ck_assert_str_eq(desc, "profile:src (shared config file) -> assumed role "
                           "arn:aws:iam::222222222222:role/mid -> assumed role "
                           "arn:aws:iam::333333333333:role/final");
    free(desc);
    t.fake.answers[0] = (struct sts_answer){ 0, "ASIAMID0000000000001", SECRET_A, "tok-a", NULL };
    t.fake.answers[1] = (struct sts_answer){ 0, "ASIAFINAL00000000001", SECRET_B, "tok-b", NULL };
    t.fake.n_answers = 2;
    t_run(&t, &role, NULL);
    ck_assert_msg(t.result == 0, "%s", t.msg);
    ck_assert_str_eq(t.creds->access_key_id, "ASIAFINAL00000000001");
    c0 = json_array_get(t.fake.calls, 0);
    ck_assert_str_eq(json_string_value(json_object_get(c0, "key")), "AKIASTATICSOURCE0001");
    ck_assert_str_eq(json_string_value(json_object_get(c0, "region")), "ap-southeast-2");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(c0, "params"), "ExternalId")), "mid-ext");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(c0, "params"), "DurationSeconds")), 900);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(c0, "params"), "RoleSessionName")),
        "mid-session");
    c1 = json_array_get(t.fake.calls, 1);
    ck_assert_str_eq(json_string_value(json_object_get(c1, "key")), "ASIAMID0000000000001");
    /* The caller's role has no session name: "plumb". */
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(c1, "params"), "RoleSessionName")),
        "plumb");
    free(config);
    t_finish(&t);
}
END_TEST

START_TEST(sts_error_names_the_role)
{
    struct t t;
    const char *env[] = { "AWS_ACCESS_KEY_ID=AKIASTATICSOURCE0001",
                          "AWS_SECRET_ACCESS_KEY=" STATIC_SECRET, NULL };
    char arn[] = "arn:aws:iam::333333333333:role/final";
    struct creds_assume_role role = { .role_arn = arn };

    t_init(&t, env);
    t_plan(&t, NULL);
    ck_assert(!credsnet_needed(t.plan, NULL));
    ck_assert(credsnet_needed(t.plan, &role));
    t.fake.answers[0] =
        (struct sts_answer){ -EACCES, NULL, NULL, NULL, "AccessDenied: not allowed (HTTP 403)" };
    t.fake.n_answers = 1;
    t_run(&t, &role, NULL);
    ck_assert_int_eq(t.result, -EACCES);
    ck_assert_str_eq(t.msg,
                     "assume role arn:aws:iam::333333333333:role/final: AccessDenied: not allowed "
                     "(HTTP 403)");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(t.fake.calls, 0), "region")),
                     CREDSNET_DEFAULT_STS_REGION);
    t_finish(&t);
}
END_TEST

/* An STS answer without usable credentials is an error, not a crash. */
START_TEST(sts_answer_without_credentials)
{
    struct t t;
    const char *env[] = { "AWS_ACCESS_KEY_ID=AKIASTATICSOURCE0001",
                          "AWS_SECRET_ACCESS_KEY=" STATIC_SECRET, NULL };
    char arn[] = "arn:aws:iam::333333333333:role/final";
    struct creds_assume_role role = { .role_arn = arn };

    t_init(&t, env);
    t_plan(&t, NULL);
    t.fake.answers[0] = (struct sts_answer){ 0, "", SECRET_B, "tok", NULL };
    t.fake.n_answers = 1;
    t_run(&t, &role, NULL);
    ck_assert_int_eq(t.result, -EINVAL);
    ck_assert(str_has_prefix(t.msg, "assume role arn:aws:iam::333333333333:role/final: "));
    t_finish(&t);
}
END_TEST

/* ---- cancel and bad calls ---- */

START_TEST(cancel_http_and_sts)
{
    struct tsrv s;
    struct t t;
    const char *args[] = { "--script", "[\"slow:5\"]", NULL };
    const char *env[] = { "AWS_ACCESS_KEY_ID=AKIASTATICSOURCE0001",
                          "AWS_SECRET_ACCESS_KEY=" STATIC_SECRET, NULL };
    char arn[] = "arn:aws:iam::333333333333:role/final";
    struct creds_assume_role role = { .role_arn = arn };
    struct perr err = { 0 };
    char want[256];

    /* IMDS request in flight. */
    tsrv_start(&s, "http_server.py", args);
    t_init(&t, NULL);
    imds_env(&t, &s);
    t_plan(&t, NULL);
    ck_assert_int_eq(t_fetch(&t, NULL, NULL, &err), 0);
    uv_run(&t.loop, UV_RUN_NOWAIT);
    t.in_api = true;
    credsnet_cancel(t.f);
    t.in_api = false;
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.result, -ECANCELED);
    snprintf(want, sizeof(want), "instance metadata (IMDSv2) at %s: cancelled", s.url);
    ck_assert_str_eq(t.msg, want);
    t_finish(&t);
    tsrv_stop(&s);

    /* STS call pending. */
    t_init(&t, env);
    t_plan(&t, NULL);
    t.fake.answers[0] = (struct sts_answer){ 0, "ASIAFINAL00000000001", SECRET_B, "tok-b", NULL };
    t.fake.n_answers = 1;
    ck_assert_int_eq(t_fetch(&t, &role, NULL, &err), 0);
    t.in_api = true;
    credsnet_cancel(t.f);
    credsnet_cancel(t.f);
    t.in_api = false;
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(t.result, -ECANCELED);
    ck_assert_str_eq(t.msg, "assume role arn:aws:iam::333333333333:role/final: cancelled");
    t_finish(&t);
}
END_TEST

START_TEST(bad_arguments)
{
    struct t t;
    const char *env[] = { "AWS_ACCESS_KEY_ID=AKIASTATICSOURCE0001",
                          "AWS_SECRET_ACCESS_KEY=" STATIC_SECRET, NULL };
    struct perr err = { 0 };
    char *desc;

    t_init(&t, env);
    t_plan(&t, NULL);
    desc = credsnet_describe(t.plan, NULL);
    ck_assert_str_eq(desc, "environment");
    free(desc);
    ck_assert_int_eq(t_fetch(&t, NULL, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "credsnet: the plan needs no network step");
    ck_assert_int_eq(credsnet_fetch(NULL, NULL, on_done, &t, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "credsnet: missing arguments");
    ck_assert_int_eq(t.done, 0);
    t_finish(&t);
}
END_TEST

START_TEST(json_wipe)
{
    json_t *j = json_pack("{s:s, s:[s, {s:s}], s:i}", "a", "secret-one", "b", "secret-two", "c",
                          "secret-three", "n", 5);
    const char *s1 = json_string_value(json_object_get(j, "a"));
    credsnet_json_wipe(j);
    ck_assert_uint_eq(json_string_length(json_object_get(j, "a")), 10);
    for (size_t i = 0; i < 10; i++)
        ck_assert_int_eq(s1[i], 0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "b"), 0)), "");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "b"), 1), "c")), "");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n")), 5);
    credsnet_json_wipe(NULL);
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("credsnet");
    TCase *tc = tcase_create("credsnet");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, imds_v2_flow);
    tcase_add_test(tc, imds_token_refused_no_v1_fallback);
    tcase_add_test(tc, imds_errors);
    tcase_add_test(tc, imds_unreachable);
    tcase_add_test(tc, container_with_token_file);
    tcase_add_test(tc, web_identity_then_role);
    tcase_add_test(tc, web_identity_token_is_sent);
    tcase_add_test(tc, profile_role_chain);
    tcase_add_test(tc, sts_error_names_the_role);
    tcase_add_test(tc, sts_answer_without_credentials);
    tcase_add_test(tc, cancel_http_and_sts);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, json_wipe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    tsrv_find_python();
    return tu_run_suite(suite());
}
