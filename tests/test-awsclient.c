/* lib/awsclient against tests/harness/http_server.py on loopback: the
 * whole request path (model, serialisation, endpoint override, SigV4,
 * HTTP, retry, parsing, paging) with a misbehaving server.  Every test
 * starts its own server and loop, closes the client and checks that
 * uv_loop_close() succeeds.  The environment is injected (never the real
 * one); the backoff jitter is injected as 0 so retries do not sleep. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "awsclient.h"
#include "retry.h"
#include "srvutil.h"
#include "testutil.h"

#define KEY_ID "AKIDPLUMBUNITTEST001"
#define SECRET "unit/test/secret/0123456789abcdefghijklmn"
#define TOKEN  "unit-test-session-token-0123456789"

/* ---- injected environment ---- */

static struct {
    const char *name;
    char *value;
} env_tab[64];
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

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < n_env; i++)
        if (strcmp(env_tab[i].name, name) == 0)
            return env_tab[i].value;
    return NULL;
}

static void env_defaults(const char *endpoint)
{
    env_set("AWS_ACCESS_KEY_ID", KEY_ID);
    env_set("AWS_SECRET_ACCESS_KEY", SECRET);
    env_set("AWS_ENDPOINT_URL", endpoint);
    env_set("AWS_CONFIG_FILE", "/dev/null");
    env_set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    env_set("AWS_EC2_METADATA_DISABLED", "true");
    env_set("AWS_REGION", "eu-central-1");
}

static double zero_random(void *ctx)
{
    return 0.0;
}

/* No error text may ever carry a secret. */
static void assert_no_secret(const char *s)
{
    if (!s)
        return;
    ck_assert_msg(strstr(s, SECRET) == NULL, "secret key in \"%s\"", s);
    ck_assert_msg(strstr(s, TOKEN) == NULL, "session token in \"%s\"", s);
}

/* ---- the fixture ---- */

struct t {
    uv_loop_t loop;
    struct aws_client *c;
    struct aws_account *a;
    struct aws_stats stats;
    struct tsrv srv;
    bool in_api;
    int closed;
};

static void t_start_server(struct t *t, json_t *script, const char *def)
{
    char *text = json_dumps(script, JSON_COMPACT);
    const char *args[] = { "--script", text, "--default", def ? def : "404", NULL };
    tsrv_start(&t->srv, "http_server.py", args);
    free(text);
    json_decref(script);
}

static void t_client(struct t *t, const struct aws_client_options *extra)
{
    struct aws_client_options o = { 0 };
    struct perr err = { 0 };
    if (extra)
        o = *extra;
    o.loop = &t->loop;
    o.getenv = fake_getenv;
    if (!o.random)
        o.random = zero_random;
    ck_assert_int_eq(uv_loop_init(&t->loop), 0);
    ck_assert_msg(aws_client_new(&o, &t->c, &err) == 0, "aws_client_new: %s", err.msg);
}

static void t_account(struct t *t, const struct aws_account_options *ao)
{
    struct perr err = { 0 };
    ck_assert_msg(aws_account_new(t->c, ao, &t->a, &err) == 0, "aws_account_new: %s", err.msg);
}

/* Server with a script, default env pointing at it, client and account. */
static void t_init(struct t *t, json_t *script, const struct aws_client_options *extra)
{
    memset(t, 0, sizeof(*t));
    t_start_server(t, script, NULL);
    env_defaults(t->srv.url);
    t_client(t, extra);
    t_account(t, NULL);
}

static void on_closed(void *ud)
{
    struct t *t = ud;
    ck_assert(!t->in_api);
    t->closed++;
}

static void t_finish(struct t *t)
{
    aws_account_free(t->a);
    t->in_api = true;
    aws_client_close(t->c, on_closed, t);
    t->in_api = false;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->closed, 1);
    ck_assert_int_eq(uv_loop_close(&t->loop), 0);
    tsrv_stop(&t->srv);
}

struct res {
    struct t *t;
    int done, result, pages, stop_at;
    enum aws_error_kind kind;
    int status;
    char *code, *message, *action, *request_id;
    json_t *outputs;
    bool cancel_in_page;
    struct aws_call *call;
};

static int on_page(const struct aws_page *p, void *ud)
{
    struct res *r = ud;
    ck_assert(!r->t->in_api);
    ck_assert_uint_eq(p->page, (size_t)r->pages);
    ck_assert_ptr_nonnull(p->output);
    if (!r->outputs)
        r->outputs = json_array();
    json_array_append_new(r->outputs, json_deep_copy(p->output));
    r->pages++;
    if (r->cancel_in_page)
        aws_call_cancel(r->call);
    return r->stop_at == r->pages ? -EINTR : 0;
}

static void on_done(int result, const struct aws_error *e, void *ud)
{
    struct res *r = ud;
    ck_assert_msg(!r->t->in_api, "callback ran inside the API");
    r->done++;
    r->result = result;
    if (result == 0) {
        ck_assert_ptr_null(e);
        return;
    }
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(e->message);
    assert_no_secret(e->message);
    assert_no_secret(e->code);
    r->kind = e->kind;
    r->status = e->http_status;
    r->code = e->code ? strdup(e->code) : NULL;
    r->message = strdup(e->message);
    r->action = e->iam_action ? strdup(e->iam_action) : NULL;
    r->request_id = e->request_id ? strdup(e->request_id) : NULL;
}

static void res_free(struct res *r)
{
    free(r->code);
    free(r->message);
    free(r->action);
    free(r->request_id);
    json_decref(r->outputs);
}

static int start_call(struct t *t, struct res *r, const char *service, const char *op,
                      const char *params, unsigned flags, struct perr *err)
{
    json_t *p = params ? json_loads(params, 0, NULL) : NULL;
    struct aws_request req = {
        .service = service,
        .operation = op,
        .region = "eu-central-1",
        .params = p,
        .flags = flags,
        .stats = &t->stats,
    };
    int rc;
    ck_assert(!params || p);
    r->t = t;
    t->in_api = true;
    rc = aws_call(t->a, &req, on_page, on_done, r, &r->call, err);
    t->in_api = false;
    json_decref(p);
    if (rc < 0)
        assert_no_secret(err->msg);
    return rc;
}

static void call(struct t *t, struct res *r, const char *service, const char *op,
                 const char *params, unsigned flags)
{
    struct perr err = { 0 };
    int rc = start_call(t, r, service, op, params, flags, &err);
    ck_assert_msg(rc == 0, "aws_call: %s", err.msg);
}

/* ---- canned responses ---- */

static json_t *ok(const char *body)
{
    return json_pack("{s:i, s:s}", "status", 200, "body", body);
}

static json_t *aws_error(int status, const char *protocol, const char *code, const char *msg)
{
    return json_pack("{s:i, s:{s:s, s:s, s:s}}", "status", status, "aws_error", "protocol",
                     protocol, "code", code, "message", msg);
}

#define KMS_KEYS "{\"Keys\":[{\"KeyId\":\"k1\",\"KeyArn\":\"arn:aws:kms:eu-central-1:1:key/k1\"}]}"
#define IAM_USERS                                                                              \
    "<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListUsersResult>" \
    "<IsTruncated>false</IsTruncated><Users><member><UserName>alice</UserName>"                \
    "<UserId>AIDA1</UserId><Arn>arn:aws:iam::123456789012:user/alice</Arn><Path>/</Path>"      \
    "<CreateDate>2024-01-01T00:00:00Z</CreateDate></member></Users></ListUsersResult>"         \
    "<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ListUsersResponse>"
#define EC2_VOLUMES                                                                       \
    "<DescribeVolumesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"        \
    "<requestId>r2</requestId><volumeSet><item><volumeId>vol-1</volumeId><encrypted>true" \
    "</encrypted></item></volumeSet></DescribeVolumesResponse>"
#define S3_BUCKETS                                                                           \
    "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>o" \
    "</ID></Owner><Buckets><Bucket><Name>b1</Name><CreationDate>2024-01-01T00:00:00.000Z"    \
    "</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"
#define APIGW_APIS "{\"item\":[{\"id\":\"a1\",\"name\":\"api\"}]}"
#define STS_IDENTITY                                                                        \
    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"       \
    "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDA1" \
    "</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata>"  \
    "<RequestId>r3</RequestId></ResponseMetadata></GetCallerIdentityResponse>"

/* "20261122T220311Z" to Unix ms. */
static int64_t amz_date_ms(const char *s)
{
    struct tm tm = { 0 };
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000;
}

/* ---- tests: the request path ---- */

/* A JSON-protocol call: target header, signed with the environment's keys
 * for the request's region and the model's signing name, parsed output. */
START_TEST(json_call_is_signed_and_parsed)
{
    struct t t;
    struct res r = { 0 };
    json_t *log;
    const char *auth;
    char want[128];

    t_init(&t, json_pack("[o]", ok(KMS_KEYS)), NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);

    ck_assert_int_eq(r.done, 1);
    ck_assert_int_eq(r.result, 0);
    ck_assert_int_eq(r.pages, 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(r.outputs, 0), "Keys"), 0), "KeyId")),
        "k1");
    ck_assert_int_eq(t.stats.calls, 1);
    ck_assert_int_eq(t.stats.retries, 0);
    ck_assert_int_eq(t.stats.errors, 0);

    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 1);
    ck_assert_str_eq(tsrv_log_str(log, 0, "method"), "POST");
    ck_assert_str_eq(tsrv_log_str(log, 0, "path"), "/");
    ck_assert_str_eq(tsrv_log_header(log, 0, "x-amz-target"), "TrentService.ListKeys");
    ck_assert_str_eq(tsrv_log_header(log, 0, "content-type"), "application/x-amz-json-1.1");
    ck_assert_str_eq(tsrv_log_header(log, 0, "host"), t.srv.url + 7);
    ck_assert_str_eq(tsrv_log_str(log, 0, "body"), "{}");
    ck_assert_ptr_null(tsrv_log_header(log, 0, "x-amz-security-token"));
    auth = tsrv_log_header(log, 0, "authorization");
    snprintf(want, sizeof(want),
             "AWS4-HMAC-SHA256 Credential=%s/%.8s/eu-central-1/kms/aws4_request", KEY_ID,
             tsrv_log_header(log, 0, "x-amz-date"));
    ck_assert_msg(auth && strncmp(auth, want, strlen(want)) == 0, "authorization %s", auth);
    ck_assert_ptr_nonnull(strstr(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-target"));
    ck_assert_ptr_nonnull(strstr(tsrv_log_header(log, 0, "user-agent"), "plumb/"));
    json_decref(log);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* A session token travels as X-Amz-Security-Token and is signed. */
START_TEST(session_token_is_sent)
{
    struct t t;
    struct res r = { 0 };
    json_t *log;

    memset(&t, 0, sizeof(t));
    t_start_server(&t, json_pack("[o]", ok(KMS_KEYS)), NULL);
    env_defaults(t.srv.url);
    env_set("AWS_SESSION_TOKEN", TOKEN);
    t_client(&t, NULL);
    t_account(&t, NULL);
    ck_assert_str_eq(aws_account_source(t.a), "environment");
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, 0);
    log = tsrv_log(&t.srv);
    ck_assert_str_eq(tsrv_log_header(log, 0, "x-amz-security-token"), TOKEN);
    ck_assert_ptr_nonnull(strstr(tsrv_log_header(log, 0, "authorization"),
                                 "x-amz-date;x-amz-security-token;x-amz-target"));
    json_decref(log);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* Query, EC2, REST-XML and REST-JSON calls go out in their protocol's
 * shape and come back parsed. */
START_TEST(other_protocols)
{
    struct t t;
    struct res r[4] = { { 0 } };
    json_t *log;
    struct aws_client_options o = { .max_per_host = 1 };

    t_init(&t,
           json_pack("[o,o,o,o]", ok(IAM_USERS), ok(EC2_VOLUMES), ok(S3_BUCKETS), ok(APIGW_APIS)),
           &o);
    call(&t, &r[0], "iam", "ListUsers", NULL, 0);
    call(&t, &r[1], "ec2", "DescribeVolumes", "{\"VolumeIds\":[\"vol-1\"]}", 0);
    call(&t, &r[2], "s3", "ListBuckets", NULL, 0);
    call(&t, &r[3], "apigateway", "GetRestApis", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(r[i].result == 0, "call %d: %s", i, r[i].message);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(r[0].outputs, 0), "Users"), 0),
            "UserName")),
        "alice");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(r[1].outputs, 0), "Volumes"), 0),
            "VolumeId")),
        "vol-1");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(r[2].outputs, 0), "Buckets"), 0),
            "Name")),
        "b1");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(r[3].outputs, 0), "items"), 0), "id")),
        "a1");

    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 4);
    for (size_t i = 0; i < 4; i++) {
        const char *body = tsrv_log_str(log, i, "body");
        const char *auth = tsrv_log_header(log, i, "authorization");
        if (strstr(body, "Action=ListUsers")) {
            ck_assert_str_eq(body, "Action=ListUsers&Version=2010-05-08");
            /* IAM is global: signed for us-east-1 whatever the call's region. */
            ck_assert_ptr_nonnull(strstr(auth, "/us-east-1/iam/aws4_request"));
        } else if (strstr(body, "Action=DescribeVolumes")) {
            ck_assert_str_eq(body, "Action=DescribeVolumes&Version=2016-11-15&VolumeId.1=vol-1");
            ck_assert_ptr_nonnull(strstr(auth, "/eu-central-1/ec2/aws4_request"));
        } else if (strcmp(tsrv_log_str(log, i, "method"), "GET") == 0 &&
                   strcmp(tsrv_log_str(log, i, "path"), "/") == 0) {
            ck_assert_ptr_nonnull(strstr(auth, "/eu-central-1/s3/aws4_request"));
            ck_assert_str_eq(tsrv_log_header(log, i, "x-amz-content-sha256"),
                             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        } else {
            ck_assert_str_eq(tsrv_log_str(log, i, "path"), "/restapis");
            ck_assert_ptr_nonnull(strstr(auth, "/eu-central-1/apigateway/aws4_request"));
        }
    }
    json_decref(log);
    for (int i = 0; i < 4; i++)
        res_free(&r[i]);
    t_finish(&t);
}
END_TEST

/* AWS_ENDPOINT_URL_<SERVICE> wins over AWS_ENDPOINT_URL. */
START_TEST(service_endpoint_variable_wins)
{
    struct t t, other;
    struct res r = { 0 };
    json_t *log;

    memset(&t, 0, sizeof(t));
    memset(&other, 0, sizeof(other));
    t_start_server(&t, json_pack("[o]", ok(KMS_KEYS)), NULL);
    t_start_server(&other, json_pack("[]"), NULL);
    env_defaults(other.srv.url);
    env_set("AWS_ENDPOINT_URL_KMS", t.srv.url);
    t_client(&t, NULL);
    t_account(&t, NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, 0);
    log = tsrv_log(&other.srv);
    ck_assert_uint_eq(json_array_size(log), 0);
    json_decref(log);
    tsrv_stop(&other.srv);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* ---- tests: retries ---- */

static void throttled_then_ok(const char *spec, const char *service, const char *op,
                              const char *body, const char *want_code)
{
    struct t t;
    struct res r = { 0 };
    json_t *log;

    t_init(&t, json_pack("[s,s,o]", spec, spec, ok(body)), NULL);
    call(&t, &r, service, op, NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_msg(r.result == 0, "%s: %s", spec, r.message);
    ck_assert_int_eq(r.pages, 1);
    ck_assert_int_eq(t.stats.calls, 3);
    ck_assert_int_eq(t.stats.throttled, 2);
    ck_assert_int_eq(t.stats.retries, 2);
    ck_assert_int_eq(t.stats.errors, 0);
    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 3);
    json_decref(log);
    res_free(&r);
    t_finish(&t);

    /* Throttled on every attempt: AWS_ERR_THROTTLED with the code. */
    memset(&r, 0, sizeof(r));
    t_init(&t, json_pack("[s,s,s]", spec, spec, spec), NULL);
    call(&t, &r, service, op, NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -EBUSY);
    ck_assert_int_eq(r.kind, AWS_ERR_THROTTLED);
    ck_assert_str_eq(r.code, want_code);
    ck_assert_int_eq(r.pages, 0);
    ck_assert_int_eq(t.stats.calls, 3);
    ck_assert_int_eq(t.stats.throttled, 3);
    ck_assert_int_eq(t.stats.retries, 2);
    ck_assert_int_eq(t.stats.errors, 1);
    res_free(&r);
    t_finish(&t);
}

START_TEST(throttling_json)
{
    throttled_then_ok("throttle-json", "kms", "ListKeys", KMS_KEYS, "ThrottlingException");
}
END_TEST

START_TEST(throttling_query)
{
    throttled_then_ok("throttle-query", "iam", "ListUsers", IAM_USERS, "Throttling");
}
END_TEST

START_TEST(throttling_ec2)
{
    throttled_then_ok("throttle-ec2", "ec2", "DescribeVolumes", EC2_VOLUMES,
                      "RequestLimitExceeded");
}
END_TEST

START_TEST(throttling_s3_slowdown)
{
    throttled_then_ok("slowdown-s3", "s3", "ListBuckets", S3_BUCKETS, "SlowDown");
}
END_TEST

START_TEST(throttling_429)
{
    throttled_then_ok("too-many-429", "apigateway", "GetRestApis", APIGW_APIS,
                      "TooManyRequestsException");
}
END_TEST

/* 5xx is retried; after max attempts it is AWS_ERR_SERVER. */
START_TEST(server_errors)
{
    struct t t;
    struct res r = { 0 };

    t_init(&t, json_pack("[s,s,o]", "500", "503", ok(KMS_KEYS)), NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, 0);
    ck_assert_int_eq(t.stats.calls, 3);
    ck_assert_int_eq(t.stats.retries, 2);
    ck_assert_int_eq(t.stats.throttled, 0);
    res_free(&r);
    t_finish(&t);

    memset(&r, 0, sizeof(r));
    t_init(&t, json_pack("[s,s,s]", "500", "500", "502"), NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -EIO);
    ck_assert_int_eq(r.kind, AWS_ERR_SERVER);
    ck_assert_int_eq(r.status, 502);
    ck_assert_str_eq(r.code, "502");
    /* A JSON service's unreadable error body is the message (botocore). */
    ck_assert_str_eq(r.message, "status 502");
    ck_assert_int_eq(t.stats.errors, 1);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* A retry quota of 5 pays for one retry; the second is refused. */
START_TEST(retry_quota_exhausted)
{
    struct t t;
    struct res r = { 0 };
    struct aws_client_options o = { .retry_quota = 5, .max_attempts = 5 };

    t_init(&t, json_pack("[s,s,s,s]", "500", "500", "500", "500"), &o);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -EIO);
    ck_assert_int_eq(r.kind, AWS_ERR_SERVER);
    ck_assert_int_eq(t.stats.calls, 2);
    ck_assert_int_eq(t.stats.retries, 1);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* A truncated body is a transport error (retried, then reported). */
START_TEST(truncated_body)
{
    struct t t;
    struct res r = { 0 };
    struct aws_client_options o = { .max_attempts = 1 };
    char *want;

    t_init(&t, json_pack("[s,s]", "truncate", "truncate"), &o);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -EPROTO);
    ck_assert_int_eq(r.kind, AWS_ERR_TRANSPORT);
    ck_assert_ptr_null(r.code);
    want = str_printf("truncated response from %s: transfer closed with 90 bytes remaining to "
                      "read (max attempts reached)",
                      t.srv.url + 7);
    ck_assert_str_eq(r.message, want);
    ck_assert_int_eq(t.stats.calls, 1);
    free(want);
    res_free(&r);
    t_finish(&t);

    memset(&r, 0, sizeof(r));
    t_init(&t, json_pack("[s,o]", "truncate", ok(KMS_KEYS)), NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, 0);
    ck_assert_int_eq(t.stats.retries, 1);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* A body above the cap is refused while it arrives and not retried. */
START_TEST(oversized_body)
{
    struct t t;
    struct res r = { 0 };
    struct aws_client_options o = { .max_body = 4096 };

    t_init(&t, json_pack("[s,s]", "oversize:100000", "oversize:100000"), &o);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -EMSGSIZE);
    ck_assert_int_eq(r.kind, AWS_ERR_TRANSPORT);
    ck_assert_ptr_nonnull(strstr(r.message, "(not retryable)"));
    ck_assert_int_eq(t.stats.calls, 1);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* Garbage where the model expects XML or JSON: a transport error naming
 * the operation, no retry, no crash. */
START_TEST(garbage_bodies)
{
    static const struct {
        const char *service, *op, *body;
    } cases[] = {
        { "iam", "ListUsers", "<<<not xml" },
        { "iam", "ListUsers", "<ListUsersResponse><ListUsersResult>" },
        { "kms", "ListKeys", "{\"Keys\": [" },
        { "kms", "ListKeys", "not json at all" },
        { "ec2", "DescribeVolumes", "{\"json\": \"for an xml service\"}" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct t t;
        struct res r = { 0 };
        char want[128];
        t_init(&t, json_pack("[o,o]", ok(cases[i].body), ok(cases[i].body)), NULL);
        call(&t, &r, cases[i].service, cases[i].op, NULL, 0);
        uv_run(&t.loop, UV_RUN_DEFAULT);
        ck_assert_int_eq(r.result, -EBADMSG);
        ck_assert_int_eq(r.kind, AWS_ERR_TRANSPORT);
        snprintf(want, sizeof(want), "cannot parse the %s response (HTTP 200): ", cases[i].op);
        ck_assert_msg(strncmp(r.message, want, strlen(want)) == 0, "case %zu: %s", i, r.message);
        ck_assert_int_eq(t.stats.calls, 1);
        res_free(&r);
        t_finish(&t);
    }
}
END_TEST

START_TEST(slow_response_times_out)
{
    struct t t;
    struct res r = { 0 };
    struct aws_client_options o = { .max_attempts = 1, .timeout_ms = 300 };

    t_init(&t, json_pack("[s]", "slow:3"), &o);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -ETIMEDOUT);
    ck_assert_int_eq(r.kind, AWS_ERR_TRANSPORT);
    ck_assert_int_eq(r.status, 0);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* The server's clock is 15 minutes ahead: the signature error carries its
 * Date, the client learns the offset, re-signs once at once and
 * remembers the offset for the endpoint. */
START_TEST(clock_skew_is_corrected)
{
    struct t t;
    struct res r = { 0 }, r2 = { 0 };
    json_t *skew = aws_error(400, "json", "InvalidSignatureException", "Signature expired");
    json_t *log;
    int64_t off, d0, d1;

    json_object_set_new(skew, "date_offset", json_integer(900));
    t_init(&t, json_pack("[o,o,o]", skew, ok(KMS_KEYS), ok(KMS_KEYS)), NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_msg(r.result == 0, "%s", r.message);
    ck_assert_int_eq(t.stats.calls, 2);
    ck_assert_int_eq(t.stats.retries, 1);
    off = aws_client_clock_offset(t.c, "kms", "eu-central-1");
    ck_assert_msg(off > 890000 && off < 910000, "offset %lld", (long long)off);
    ck_assert_int_eq(aws_client_clock_offset(t.c, "ec2", "eu-central-1"), 0);

    /* The next call is signed with the offset from the start. */
    call(&t, &r2, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r2.result, 0);
    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 3);
    d0 = amz_date_ms(tsrv_log_header(log, 0, "x-amz-date"));
    d1 = amz_date_ms(tsrv_log_header(log, 1, "x-amz-date"));
    ck_assert_msg(d1 - d0 > 890000 && d1 - d0 < 910000, "dates %lld", (long long)(d1 - d0));
    d1 = amz_date_ms(tsrv_log_header(log, 2, "x-amz-date"));
    ck_assert_msg(d1 - d0 > 890000 && d1 - d0 < 910000, "dates %lld", (long long)(d1 - d0));
    json_decref(log);
    res_free(&r);
    res_free(&r2);
    t_finish(&t);
}
END_TEST

/* Skew is corrected once per request: if the server still complains the
 * call fails as an authentication error. */
START_TEST(clock_skew_persisting_fails)
{
    struct t t;
    struct res r = { 0 };
    json_t *s1 = aws_error(403, "query", "RequestTimeTooSkewed", "too skewed");
    json_t *s2 = aws_error(403, "query", "RequestTimeTooSkewed", "too skewed");

    json_object_set_new(s1, "date_offset", json_integer(-1200));
    json_object_set_new(s2, "date_offset", json_integer(1200));
    t_init(&t, json_pack("[o,o]", s1, s2), NULL);
    call(&t, &r, "iam", "ListUsers", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -EPERM);
    ck_assert_int_eq(r.kind, AWS_ERR_AUTH);
    ck_assert_str_eq(r.code, "RequestTimeTooSkewed");
    ck_assert_int_eq(t.stats.calls, 2);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* ---- tests: error kinds ---- */

START_TEST(error_kinds)
{
    static const struct {
        const char *service, *op, *params, *protocol, *code, *msg;
        int status;
        enum aws_error_kind kind;
        int result;
        const char *action;
    } cases[] = {
        { "kms", "ListKeys", NULL, "json", "AccessDeniedException",
          "User: arn:aws:iam::123456789012:user/x is not authorized to perform: kms:ListKeys on "
          "resource: *",
          400, AWS_ERR_ACCESS_DENIED, -EACCES, "kms:ListKeys" },
        { "ec2", "DescribeVolumes", NULL, "ec2", "UnauthorizedOperation",
          "You are not authorized to perform this operation.", 403, AWS_ERR_ACCESS_DENIED, -EACCES,
          "ec2:DescribeVolumes" },
        { "iam", "ListUsers", NULL, "query", "InvalidClientTokenId",
          "The security token included in the request is invalid.", 403, AWS_ERR_AUTH, -EPERM,
          NULL },
        { "s3", "ListBuckets", NULL, "rest-xml", "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided.", 403,
          AWS_ERR_AUTH, -EPERM, NULL },
        { "ec2", "DescribeVolumes", NULL, "ec2", "AuthFailure", "AWS was not able to validate", 401,
          AWS_ERR_AUTH, -EPERM, NULL },
        { "kms", "ListKeys", NULL, "json", "UnrecognizedClientException", "bad token", 400,
          AWS_ERR_AUTH, -EPERM, NULL },
        { "sts", "GetCallerIdentity", NULL, "query", "ExpiredToken", "expired", 400, AWS_ERR_AUTH,
          -EPERM, NULL },
        { "s3", "GetBucketPolicy", "{\"Bucket\":\"b1\"}", "rest-xml", "NoSuchBucketPolicy",
          "The bucket policy does not exist", 404, AWS_ERR_NOT_FOUND, -ENOENT, NULL },
        { "ec2", "DescribeVolumes", NULL, "ec2", "InvalidVolume.NotFound", "no such volume", 400,
          AWS_ERR_NOT_FOUND, -ENOENT, NULL },
        { "kms", "DescribeKey", "{\"KeyId\":\"k\"}", "json", "NotFoundException", "no key", 400,
          AWS_ERR_NOT_FOUND, -ENOENT, NULL },
        { "iam", "ListUsers", NULL, "query", "NoSuchEntity", "no user", 404, AWS_ERR_NOT_FOUND,
          -ENOENT, NULL },
        { "kms", "ListKeys", NULL, "json", "ValidationException", "bad limit", 400, AWS_ERR_CLIENT,
          -EREMOTEIO, NULL },
        { "ec2", "DescribeVolumes", NULL, "ec2", "OptInRequired", "region not enabled", 401,
          AWS_ERR_CLIENT, -EREMOTEIO, NULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct t t;
        struct res r = { 0 };
        t_init(&t,
               json_pack("[o]", aws_error(cases[i].status, cases[i].protocol, cases[i].code,
                                          cases[i].msg)),
               NULL);
        call(&t, &r, cases[i].service, cases[i].op, cases[i].params, 0);
        uv_run(&t.loop, UV_RUN_DEFAULT);
        ck_assert_msg(r.result == cases[i].result, "case %zu: result %d", i, r.result);
        ck_assert_msg(r.kind == cases[i].kind, "case %zu: kind %d", i, r.kind);
        ck_assert_int_eq(r.status, cases[i].status);
        ck_assert_str_eq(r.code, cases[i].code);
        ck_assert_str_eq(r.message, cases[i].msg);
        if (cases[i].action)
            ck_assert_str_eq(r.action, cases[i].action);
        else
            ck_assert_ptr_null(r.action);
        /* None of these is retried. */
        ck_assert_int_eq(t.stats.calls, 1);
        ck_assert_int_eq(t.stats.errors, 1);
        res_free(&r);
        t_finish(&t);
    }
}
END_TEST

/* Problems found before anything is sent come back from aws_call(). */
START_TEST(synchronous_errors)
{
    static const struct {
        const char *service, *op, *params, *region;
        int code;
        const char *msg;
    } cases[] = {
        { "nope", "ListThings", NULL, "eu-central-1", -ENOENT,
          "plumb has no model of the AWS service 'nope'" },
        { "kms", "ScheduleKeyDeletion", NULL, "eu-central-1", -ENOENT,
          "plumb's model of kms has no operation ScheduleKeyDeletion" },
        { "kms", "ListKeys", NULL, "", -EINVAL, "kms:ListKeys: no region" },
        { "kms", "ListKeys", "[1]", "eu-central-1", -EINVAL,
          "kms:ListKeys: parameters must be a JSON object" },
        { "kms", "DescribeKey", "{}", "eu-central-1", -EINVAL, "kms:DescribeKey: " },
        { "kms", "ListKeys", "{\"Bogus\":1}", "eu-central-1", -EINVAL, "kms:ListKeys: " },
        { "kms", "ListKeys", NULL, "bad region!", -EINVAL, "kms:ListKeys: " },
    };
    struct t t;
    t_init(&t, json_pack("[]"), NULL);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct res r = { 0 };
        struct perr err = { 0 };
        json_t *p = cases[i].params ? json_loads(cases[i].params, 0, NULL) : NULL;
        struct aws_request req = { .service = cases[i].service,
                                   .operation = cases[i].op,
                                   .region = cases[i].region,
                                   .params = p };
        r.t = &t;
        t.in_api = true;
        ck_assert_int_eq(aws_call(t.a, &req, on_page, on_done, &r, NULL, &err), cases[i].code);
        t.in_api = false;
        ck_assert_msg(strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) == 0, "case %zu: %s", i,
                      err.msg);
        ck_assert_msg(strlen(err.msg) > strlen(cases[i].msg) ||
                          cases[i].msg[strlen(cases[i].msg) - 1] != ' ',
                      "case %zu: no detail in %s", i, err.msg);
        json_decref(p);
        uv_run(&t.loop, UV_RUN_DEFAULT);
        ck_assert_int_eq(r.done, 0);
    }
    t_finish(&t);
}
END_TEST

/* ---- tests: paging ---- */

START_TEST(all_pages)
{
    struct t t;
    struct res r = { 0 };
    json_t *log, *body;

    t_init(&t,
           json_pack("[o,o,o]",
                     ok("{\"Keys\":[{\"KeyId\":\"k1\"}],\"NextMarker\":\"m1\",\"Truncated\":true}"),
                     ok("{\"Keys\":[{\"KeyId\":\"k2\"}],\"NextMarker\":\"m2\",\"Truncated\":true}"),
                     ok("{\"Keys\":[{\"KeyId\":\"k3\"}],\"Truncated\":false}")),
           NULL);
    call(&t, &r, "kms", "ListKeys", "{\"Limit\":1}", AWS_CALL_ALL_PAGES);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_msg(r.result == 0, "%s", r.message);
    ck_assert_int_eq(r.pages, 3);
    for (int i = 0; i < 3; i++) {
        char want[8];
        snprintf(want, sizeof(want), "k%d", i + 1);
        ck_assert_str_eq(
            json_string_value(json_object_get(
                json_array_get(json_object_get(json_array_get(r.outputs, (size_t)i), "Keys"), 0),
                "KeyId")),
            want);
    }
    ck_assert_int_eq(t.stats.calls, 3);
    log = tsrv_log(&t.srv);
    body = json_loads(tsrv_log_str(log, 0, "body"), 0, NULL);
    ck_assert_ptr_null(json_object_get(body, "Marker"));
    ck_assert_int_eq(json_integer_value(json_object_get(body, "Limit")), 1);
    json_decref(body);
    body = json_loads(tsrv_log_str(log, 2, "body"), 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(body, "Marker")), "m2");
    ck_assert_int_eq(json_integer_value(json_object_get(body, "Limit")), 1);
    json_decref(body);
    json_decref(log);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* Without AWS_CALL_ALL_PAGES one page is one call. */
START_TEST(one_page_only)
{
    struct t t;
    struct res r = { 0 };

    t_init(&t, json_pack("[o]", ok("{\"Keys\":[],\"NextMarker\":\"m1\",\"Truncated\":true}")),
           NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, 0);
    ck_assert_int_eq(r.pages, 1);
    ck_assert_int_eq(t.stats.calls, 1);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* A page callback stops the paging with its own code. */
START_TEST(page_callback_stops)
{
    struct t t;
    struct res r = { .stop_at = 1 };

    t_init(&t,
           json_pack("[o,o]", ok("{\"Keys\":[],\"NextMarker\":\"m1\",\"Truncated\":true}"),
                     ok("{\"Keys\":[],\"Truncated\":false}")),
           NULL);
    call(&t, &r, "kms", "ListKeys", NULL, AWS_CALL_ALL_PAGES);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -EINTR);
    ck_assert_int_eq(r.kind, AWS_ERR_NONE);
    ck_assert_str_eq(r.message, "stopped by the caller");
    ck_assert_int_eq(r.pages, 1);
    ck_assert_int_eq(t.stats.calls, 1);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* A service that repeats its page token cannot loop the client. */
START_TEST(repeated_page_token)
{
    struct t t;
    struct res r = { 0 };

    t_init(&t,
           json_pack("[o,o,o]", ok("{\"Keys\":[],\"NextMarker\":\"m1\",\"Truncated\":true}"),
                     ok("{\"Keys\":[],\"NextMarker\":\"m1\",\"Truncated\":true}"),
                     ok("{\"Keys\":[],\"NextMarker\":\"m1\",\"Truncated\":true}")),
           NULL);
    call(&t, &r, "kms", "ListKeys", NULL, AWS_CALL_ALL_PAGES);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -ELOOP);
    ck_assert_int_eq(r.kind, AWS_ERR_SERVER);
    ck_assert_str_eq(r.message, "ListKeys page 2: the service returned the same page token twice");
    ck_assert_int_eq(r.pages, 2);
    ck_assert_int_eq(t.stats.calls, 2);
    res_free(&r);
    t_finish(&t);
}
END_TEST

/* ---- tests: budgets ---- */

/* A bucket of one token refilled 20 times a second: of three calls made
 * at once, two wait for the budget; all succeed. */
START_TEST(budget_makes_calls_wait)
{
    struct t t;
    struct res r[3] = { { 0 } };
    struct retry_budget_info info;
    struct retry_budget_key key = { "profile:default", "eu-central-1", "kms", NULL };

    t_init(&t, json_pack("[o,o,o]", ok(KMS_KEYS), ok(KMS_KEYS), ok(KMS_KEYS)), NULL);
    ck_assert_int_eq(retry_budgets_set_limit(aws_client_budgets(t.c), "kms", NULL, 1, 20), 0);
    ck_assert_int_eq(retry_budgets_set_share(aws_client_budgets(t.c), NULL, 1), 0);
    for (int i = 0; i < 3; i++)
        call(&t, &r[i], "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(r[i].result, 0);
    ck_assert_int_eq(t.stats.budget_waits, 2);
    ck_assert_int_eq(t.stats.calls, 3);
    key.family = retry_budget_family("kms", "ListKeys", false);
    ck_assert_int_eq(retry_budget_info(aws_client_budgets(t.c), time_mono_ms(), &key, &info), 0);
    ck_assert(info.capacity == 1);
    for (int i = 0; i < 3; i++)
        res_free(&r[i]);
    t_finish(&t);
}
END_TEST

/* ---- tests: cancel and close ---- */

START_TEST(cancel_before_and_during)
{
    struct t t;
    struct res r1 = { 0 }, r2 = { 0 };

    t_init(&t, json_pack("[s,s]", "slow:5", "slow:5"), NULL);
    /* Cancelled before the loop ran: nothing is sent. */
    call(&t, &r1, "kms", "ListKeys", NULL, 0);
    t.in_api = true;
    aws_call_cancel(r1.call);
    aws_call_cancel(r1.call); /* twice is harmless */
    t.in_api = false;
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r1.done, 1);
    ck_assert_int_eq(r1.result, -ECANCELED);
    ck_assert_str_eq(r1.message, "cancelled");
    ck_assert_int_eq(t.stats.calls, 0);

    /* Cancelled while in flight. */
    call(&t, &r2, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_NOWAIT);
    t.in_api = true;
    aws_call_cancel(r2.call);
    t.in_api = false;
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r2.done, 1);
    ck_assert_int_eq(r2.result, -ECANCELED);
    ck_assert_int_eq(t.stats.errors, 2);
    res_free(&r1);
    res_free(&r2);
    t_finish(&t);
}
END_TEST

/* Cancelling from inside the page callback ends the paging. */
START_TEST(cancel_in_page_callback)
{
    struct t t;
    struct res r = { .cancel_in_page = true };

    t_init(&t,
           json_pack("[o,o]", ok("{\"Keys\":[],\"NextMarker\":\"m1\",\"Truncated\":true}"),
                     ok("{\"Keys\":[],\"Truncated\":false}")),
           NULL);
    call(&t, &r, "kms", "ListKeys", NULL, AWS_CALL_ALL_PAGES);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -ECANCELED);
    ck_assert_int_eq(r.pages, 1);
    ck_assert_int_eq(t.stats.calls, 1);
    res_free(&r);
    t_finish(&t);
}
END_TEST

static void close_in_done(int result, const struct aws_error *e, void *ud)
{
    struct res *r = ud;
    on_done(result, e, ud);
    /* Freeing the account from a callback is fine. */
    aws_account_free(r->t->a);
    r->t->a = NULL;
}

/* Closing the client cancels everything; done comes once, after every
 * callback, and the loop closes. */
START_TEST(close_cancels_everything)
{
    struct t t;
    struct res r[3] = { { 0 } };
    struct perr err = { 0 };

    t_init(&t, json_pack("[s,s,s]", "slow:5", "slow:5", "slow:5"), NULL);
    for (int i = 0; i < 3; i++)
        call(&t, &r[i], "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_NOWAIT);
    t.in_api = true;
    aws_client_close(t.c, on_closed, &t);
    t.in_api = false;
    /* Nothing new is accepted. */
    {
        struct res x = { 0 };
        ck_assert_int_eq(start_call(&t, &x, "kms", "ListKeys", NULL, 0, &err), -ESHUTDOWN);
        ck_assert_str_eq(err.msg, "the AWS client is shutting down");
    }
    uv_run(&t.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r[i].done, 1);
        ck_assert_int_eq(r[i].result, -ECANCELED);
        res_free(&r[i]);
    }
    ck_assert_int_eq(t.closed, 1);
    ck_assert_int_eq(uv_loop_close(&t.loop), 0);
    /* The account outlives the client's close. */
    aws_account_free(t.a);
    tsrv_stop(&t.srv);
}
END_TEST

/* Freeing the account cancels its calls (callbacks still run). */
START_TEST(account_free_cancels_calls)
{
    struct t t;
    struct res r = { 0 }, r2 = { 0 };

    /* Whichever call the server answers first, the first one is cancelled
     * before its answer is processed. */
    t_init(&t, json_pack("[o,o]", ok(KMS_KEYS), ok(KMS_KEYS)), NULL);
    call(&t, &r, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_NOWAIT);
    aws_account_free(t.a);
    t_account(&t, NULL);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r.result, -ECANCELED);
    ck_assert_int_eq(r.done, 1);
    res_free(&r);

    /* The new account works; freeing it from its own callback is fine. */
    r2.t = &t;
    {
        struct aws_request req = { .service = "kms",
                                   .operation = "ListKeys",
                                   .region = "eu-central-1" };
        struct perr err = { 0 };
        ck_assert_int_eq(aws_call(t.a, &req, NULL, close_in_done, &r2, NULL, &err), 0);
    }
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r2.result, 0);
    ck_assert_ptr_null(t.a);
    res_free(&r2);
    t_finish(&t);
}
END_TEST

/* ---- tests: S3 objects ---- */

struct obj {
    struct t *t;
    int done, result;
    char *body;
    size_t len;
    char *etag;
    bool not_modified;
    enum aws_error_kind kind;
    char *code;
};

static void on_object(int result, const struct aws_object *o, const struct aws_error *e, void *ud)
{
    struct obj *x = ud;
    ck_assert(!x->t->in_api);
    x->done++;
    x->result = result;
    if (result < 0) {
        ck_assert_ptr_null(o);
        x->kind = e->kind;
        x->code = e->code ? strdup(e->code) : NULL;
        return;
    }
    ck_assert_ptr_null(e);
    ck_assert_int_eq(o->body[o->len], '\0');
    x->body = malloc(o->len + 1);
    memcpy(x->body, o->body, o->len + 1);
    x->len = o->len;
    x->etag = o->etag ? strdup(o->etag) : NULL;
    x->not_modified = o->not_modified;
}

/* The body comes back as it is, even when it looks like broken XML; the
 * ETag and If-None-Match/304 work; NoSuchKey is "not found". */
START_TEST(s3_get_object)
{
    static const char body[] = "<not xml at all & {\"version\": 4}";
    struct t t;
    struct obj o1 = { 0 }, o2 = { 0 }, o3 = { 0 };
    struct perr err = { 0 };
    json_t *b1 = json_pack("{s:i, s:s, s:{s:s, s:s}}", "status", 200, "body", body, "headers",
                           "ETag", "\"abc123\"", "Content-Type", "application/xml");
    json_t *b2 = json_pack("{s:i, s:s, s:{s:s}}", "status", 304, "body", "", "headers", "ETag",
                           "\"abc123\"");
    json_t *log;

    t_init(&t, json_pack("[o,o,o]", b1, b2, aws_error(404, "rest-xml", "NoSuchKey", "no key")),
           NULL);
    o1.t = o2.t = o3.t = &t;
    t.in_api = true;
    ck_assert_int_eq(aws_s3_get_object(t.a, "eu-central-1", "state-bucket", "env/prod/tf.state",
                                       NULL, &t.stats, on_object, &o1, &err),
                     0);
    t.in_api = false;
    uv_run(&t.loop, UV_RUN_DEFAULT);
    t.in_api = true;
    ck_assert_int_eq(aws_s3_get_object(t.a, "eu-central-1", "state-bucket", "env/prod/tf.state",
                                       "\"abc123\"", &t.stats, on_object, &o2, &err),
                     0);
    ck_assert_int_eq(aws_s3_get_object(t.a, "eu-central-1", "state-bucket", "missing", NULL,
                                       &t.stats, on_object, &o3, &err),
                     0);
    t.in_api = false;
    uv_run(&t.loop, UV_RUN_DEFAULT);

    ck_assert_int_eq(o1.result, 0);
    ck_assert_uint_eq(o1.len, strlen(body));
    ck_assert_str_eq(o1.body, body);
    ck_assert_str_eq(o1.etag, "\"abc123\"");
    ck_assert(!o1.not_modified);
    ck_assert_int_eq(o2.result, 0);
    ck_assert(o2.not_modified);
    ck_assert_uint_eq(o2.len, 0);
    ck_assert_int_eq(o3.result, -ENOENT);
    ck_assert_int_eq(o3.kind, AWS_ERR_NOT_FOUND);
    ck_assert_str_eq(o3.code, "NoSuchKey");

    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 3);
    /* Path-style, because the endpoint is overridden. */
    ck_assert_str_eq(tsrv_log_str(log, 0, "path"), "/state-bucket/env/prod/tf.state");
    ck_assert_ptr_null(tsrv_log_header(log, 0, "if-none-match"));
    ck_assert_str_eq(tsrv_log_header(log, 1, "if-none-match"), "\"abc123\"");
    ck_assert_ptr_nonnull(strstr(tsrv_log_header(log, 0, "authorization"), "/s3/aws4_request"));
    json_decref(log);
    ck_assert_int_eq(t.stats.calls, 3);
    free(o1.body);
    free(o1.etag);
    free(o2.body);
    free(o2.etag);
    free(o3.code);
    t_finish(&t);
}
END_TEST

/* ---- tests: credentials and identity ---- */

struct ident {
    struct t *t;
    int done, result;
    char *source, *account, *arn, *msg;
    int64_t skew, expires;
};

static void on_identity(int result, const struct aws_identity *id, const struct perr *err, void *ud)
{
    struct ident *x = ud;
    ck_assert(!x->t->in_api);
    x->done++;
    x->result = result;
    if (result < 0) {
        ck_assert_ptr_null(id);
        ck_assert_ptr_nonnull(err);
        assert_no_secret(err->msg);
        x->msg = strdup(err->msg);
        return;
    }
    ck_assert_ptr_null(err);
    x->source = strdup(id->source);
    x->account = strdup(id->account);
    x->arn = strdup(id->arn);
    x->skew = id->clock_skew_ms;
    x->expires = id->expires_ms;
}

static void ident_free(struct ident *x)
{
    free(x->source);
    free(x->account);
    free(x->arn);
    free(x->msg);
}

static void identify(struct t *t, struct ident *x)
{
    x->t = t;
    t->in_api = true;
    ck_assert_int_eq(aws_account_identify(t->a, on_identity, x), 0);
    t->in_api = false;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(x->done, 1);
}

/* GetCallerIdentity: account, ARN, source, the server's clock offset. */
START_TEST(identify_reports_identity_and_skew)
{
    struct t t;
    struct ident x = { 0 };
    json_t *resp = ok(STS_IDENTITY), *log;

    json_object_set_new(resp, "date_offset", json_integer(120));
    t_init(&t, json_pack("[o]", resp), NULL);
    identify(&t, &x);
    ck_assert_int_eq(x.result, 0);
    ck_assert_str_eq(x.account, "123456789012");
    ck_assert_str_eq(x.arn, "arn:aws:iam::123456789012:user/alice");
    ck_assert_str_eq(x.source, "environment");
    ck_assert_int_eq(x.expires, 0);
    ck_assert_msg(x.skew > 118000 && x.skew < 122000, "skew %lld", (long long)x.skew);
    log = tsrv_log(&t.srv);
    ck_assert_str_eq(tsrv_log_str(log, 0, "body"), "Action=GetCallerIdentity&Version=2011-06-15");
    ck_assert_ptr_nonnull(
        strstr(tsrv_log_header(log, 0, "authorization"), "/eu-central-1/sts/aws4_request"));
    json_decref(log);
    ident_free(&x);
    t_finish(&t);
}
END_TEST

START_TEST(identify_expected_account_mismatch)
{
    struct t t;
    struct ident x = { 0 };
    struct aws_account_options ao = { .expected_account = "210987654321" };

    memset(&t, 0, sizeof(t));
    t_start_server(&t, json_pack("[o]", ok(STS_IDENTITY)), NULL);
    env_defaults(t.srv.url);
    t_client(&t, NULL);
    t_account(&t, &ao);
    identify(&t, &x);
    ck_assert_int_eq(x.result, -EACCES);
    ck_assert_str_eq(x.msg, "the credentials from environment belong to account 123456789012, "
                            "but the configuration expects account 210987654321");
    ident_free(&x);
    t_finish(&t);
}
END_TEST

START_TEST(identify_reports_sts_errors)
{
    struct t t;
    struct ident x = { 0 };

    t_init(&t,
           json_pack("[o]", aws_error(403, "query", "InvalidClientTokenId",
                                      "The security token included in the request is invalid.")),
           NULL);
    identify(&t, &x);
    ck_assert_int_eq(x.result, -EPERM);
    ck_assert_str_eq(x.msg, "sts:GetCallerIdentity with environment: InvalidClientTokenId: The "
                            "security token included in the request is invalid. (HTTP 403, "
                            "request id 00000000-0000-0000-0000-000000000000)");
    ident_free(&x);
    t_finish(&t);
}
END_TEST

/* Accounts fail at creation when the chain has nothing. */
START_TEST(account_without_credentials)
{
    struct t t;
    struct perr err = { 0 };
    struct aws_account *a = NULL;
    struct aws_account_options ao = { .profile = "nosuch" };

    memset(&t, 0, sizeof(t));
    t_start_server(&t, json_pack("[]"), NULL);
    env_defaults(t.srv.url);
    env_set("AWS_ACCESS_KEY_ID", NULL);
    env_set("AWS_SECRET_ACCESS_KEY", NULL);
    t_client(&t, NULL);
    ck_assert_int_eq(aws_account_new(t.c, NULL, &a, &err), -ENOENT);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(err.msg, "AWS_EC2_METADATA_DISABLED"));
    ck_assert_int_eq(aws_account_new(t.c, &ao, &a, &err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nosuch"));
    aws_client_close(t.c, on_closed, &t);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&t.loop), 0);
    tsrv_stop(&t.srv);
}
END_TEST

static char *creds_doc(const char *key, const char *secret, const char *token,
                       int64_t expires_in_ms)
{
    char exp[32];
    json_t *d;
    char *s;
    time_format_iso8601(time_now_ms() + expires_in_ms, exp, sizeof(exp));
    d = json_pack("{s:s, s:s, s:s, s:s}", "AccessKeyId", key, "SecretAccessKey", secret, "Token",
                  token, "Expiration", exp);
    s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return s;
}

/* Container credentials: fetched once for concurrent calls, with the
 * authorization token, used to sign, and refreshed before they expire. */
START_TEST(container_credentials_fetch_and_refresh)
{
    struct t t;
    struct res r[3] = { { 0 } }, r4 = { 0 };
    json_t *log;
    char *doc1 = creds_doc("ASIACONTAINER0000001", SECRET, TOKEN, 2 * 60 * 1000);
    char *doc2 = creds_doc("ASIACONTAINER0000002", SECRET, TOKEN, 3600 * 1000);
    char url[128];
    size_t n_creds = 0;

    memset(&t, 0, sizeof(t));
    t_start_server(&t,
                   json_pack("[o,o,o,o,o,o]", ok(doc1), ok(KMS_KEYS), ok(KMS_KEYS), ok(KMS_KEYS),
                             ok(doc2), ok(KMS_KEYS)),
                   NULL);
    env_defaults(t.srv.url);
    env_set("AWS_ACCESS_KEY_ID", NULL);
    env_set("AWS_SECRET_ACCESS_KEY", NULL);
    snprintf(url, sizeof(url), "%s/v2/credentials/abc", t.srv.url);
    env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
    env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token");
    t_client(&t, &(struct aws_client_options){ .max_per_host = 1 });
    t_account(&t, NULL);
    ck_assert_msg(str_has_prefix(aws_account_source(t.a), "container (http://127.0.0.1:"), "%s",
                  aws_account_source(t.a));
    for (int i = 0; i < 3; i++)
        call(&t, &r[i], "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(r[i].result == 0, "call %d: %s", i, r[i].message);
    /* The credentials expire in two minutes: the refresh is due now and
     * runs on the loop; the next call signs with the new keys. */
    call(&t, &r4, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r4.result, 0);

    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 6);
    for (size_t i = 0; i < json_array_size(log); i++) {
        if (strcmp(tsrv_log_str(log, i, "path"), "/v2/credentials/abc") == 0) {
            n_creds++;
            ck_assert_str_eq(tsrv_log_str(log, i, "method"), "GET");
            ck_assert_str_eq(tsrv_log_header(log, i, "authorization"), "container-auth-token");
        } else {
            ck_assert_str_eq(tsrv_log_header(log, i, "x-amz-security-token"), TOKEN);
        }
    }
    ck_assert_uint_eq(n_creds, 2);
    ck_assert_str_eq(tsrv_log_str(log, 0, "path"), "/v2/credentials/abc");
    for (size_t i = 1; i < 4; i++)
        ck_assert_ptr_nonnull(
            strstr(tsrv_log_header(log, i, "authorization"), "Credential=ASIACONTAINER0000001/"));
    ck_assert_ptr_nonnull(
        strstr(tsrv_log_header(log, 5, "authorization"), "Credential=ASIACONTAINER0000002/"));
    json_decref(log);
    for (int i = 0; i < 3; i++)
        res_free(&r[i]);
    res_free(&r4);
    free(doc1);
    free(doc2);
    t_finish(&t);
}
END_TEST

/* A credential fetch that fails fails the calls waiting for it as
 * authentication errors, without secrets in the message; the failure is
 * remembered for a few seconds. */
START_TEST(container_credentials_failure)
{
    struct t t;
    struct res r[2] = { { 0 } }, r3 = { 0 };
    char url[128], want[400];
    json_t *log;

    memset(&t, 0, sizeof(t));
    t_start_server(&t, json_pack("[s]", "403"), NULL);
    env_defaults(t.srv.url);
    env_set("AWS_ACCESS_KEY_ID", NULL);
    env_set("AWS_SECRET_ACCESS_KEY", NULL);
    snprintf(url, sizeof(url), "%s/creds", t.srv.url);
    env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
    env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN);
    t_client(&t, NULL);
    t_account(&t, NULL);
    call(&t, &r[0], "kms", "ListKeys", NULL, 0);
    call(&t, &r[1], "iam", "ListUsers", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    snprintf(want, sizeof(want),
             "credentials (container (%s)): container credentials at %s: HTTP 403", url, url);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(r[i].result, -EACCES);
        ck_assert_int_eq(r[i].kind, AWS_ERR_AUTH);
        ck_assert_str_eq(r[i].message, want);
        ck_assert_ptr_null(r[i].code);
    }
    call(&t, &r3, "kms", "ListKeys", NULL, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(r3.result, -EACCES);
    ck_assert_str_eq(r3.message, want);
    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 1);
    json_decref(log);
    for (int i = 0; i < 2; i++)
        res_free(&r[i]);
    res_free(&r3);
    t_finish(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("awsclient");
    TCase *tc = tcase_create("awsclient");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, json_call_is_signed_and_parsed);
    tcase_add_test(tc, session_token_is_sent);
    tcase_add_test(tc, other_protocols);
    tcase_add_test(tc, service_endpoint_variable_wins);
    tcase_add_test(tc, throttling_json);
    tcase_add_test(tc, throttling_query);
    tcase_add_test(tc, throttling_ec2);
    tcase_add_test(tc, throttling_s3_slowdown);
    tcase_add_test(tc, throttling_429);
    tcase_add_test(tc, server_errors);
    tcase_add_test(tc, retry_quota_exhausted);
    tcase_add_test(tc, truncated_body);
    tcase_add_test(tc, oversized_body);
    tcase_add_test(tc, garbage_bodies);
    tcase_add_test(tc, slow_response_times_out);
    tcase_add_test(tc, clock_skew_is_corrected);
    tcase_add_test(tc, clock_skew_persisting_fails);
    tcase_add_test(tc, error_kinds);
    tcase_add_test(tc, synchronous_errors);
    tcase_add_test(tc, all_pages);
    tcase_add_test(tc, one_page_only);
    tcase_add_test(tc, page_callback_stops);
    tcase_add_test(tc, repeated_page_token);
    tcase_add_test(tc, budget_makes_calls_wait);
    tcase_add_test(tc, cancel_before_and_during);
    tcase_add_test(tc, cancel_in_page_callback);
    tcase_add_test(tc, close_cancels_everything);
    tcase_add_test(tc, account_free_cancels_calls);
    tcase_add_test(tc, s3_get_object);
    tcase_add_test(tc, identify_reports_identity_and_skew);
    tcase_add_test(tc, identify_expected_account_mismatch);
    tcase_add_test(tc, identify_reports_sts_errors);
    tcase_add_test(tc, account_without_credentials);
    tcase_add_test(tc, container_credentials_fetch_and_refresh);
    tcase_add_test(tc, container_credentials_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    tsrv_find_python();
    return tu_run_suite(suite());
}
