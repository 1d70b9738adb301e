/* lib/http against tests/harness/http_server.py on loopback.  Every test
 * starts its own server (ephemeral port, reported through a port file),
 * drives a fresh libuv loop to completion, closes the client and checks
 * that uv_loop_close() succeeds, so leaked handles fail the test and leaked
 * memory fails the ASan/valgrind runs. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "testutil.h"

/* ---- the loopback server ------------------------------------------------ */

/* The real interpreter behind the pyenv shim, found once in main(): the
 * shim costs about a second per start. */
static char python_exe[4096] = "python3";

static void find_python(void)
{
    const char *argv[] = { "python3", "-c", "import sys; print(sys.executable)", NULL };
    char *out = NULL;
    if (tu_run(argv, NULL, &out, NULL) == 0 && out && out[0] == '/') {
        out[strcspn(out, "\n")] = '\0';
        snprintf(python_exe, sizeof(python_exe), "%s", out);
    }
    free(out);
}

struct srv {
    pid_t pid;
    int port;
    char *dir;
    char *cacert; /* for querying an HTTPS server's control endpoint */
    char url[96]; /* scheme://127.0.0.1:port */
    char hostport[64];
};

static void srv_start_full(struct srv *s, const char *script, const char *def, const char *cert,
                           const char *key)
{
    char *harness = tu_srcpath("tests/harness/http_server.py");
    char *portfile, *log;
    const char *argv[16];
    size_t n = 0;
    struct stat st;

    memset(s, 0, sizeof(*s));
    s->dir = tu_tmpdir();
    portfile = tu_path_join(s->dir, "port");
    log = tu_path_join(s->dir, "server.log");
    argv[n++] = python_exe;
    argv[n++] = harness;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--script";
    argv[n++] = script ? script : "[]";
    if (def) {
        argv[n++] = "--default";
        argv[n++] = def;
    }
    if (cert) {
        argv[n++] = "--tls-cert";
        argv[n++] = cert;
        argv[n++] = "--tls-key";
        argv[n++] = key;
    }
    argv[n] = NULL;
    s->pid = tu_spawn(argv, NULL, log);
    for (int i = 0; i < 1000 && stat(portfile, &st) < 0; i++) {
        ck_assert_msg(kill(s->pid, 0) == 0, "http_server.py exited; see %s", log);
        usleep(10000);
    }
    {
        char *txt = tu_read_file(portfile);
        ck_assert_msg(txt != NULL, "http_server.py did not report its port (%s)", log);
        s->port = (int)strtol(txt, NULL, 10);
        free(txt);
    }
    snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d", cert ? "https" : "http", s->port);
    snprintf(s->hostport, sizeof(s->hostport), "127.0.0.1:%d", s->port);
    if (cert)
        s->cacert = strdup(cert);
    free(portfile);
    free(log);
    free(harness);
}

static void srv_start(struct srv *s, const char *script, const char *def)
{
    srv_start_full(s, script, def, NULL, NULL);
}

static void srv_stop(struct srv *s)
{
    tu_stop(s->pid, 2000);
    tu_rmrf(s->dir);
    free(s->dir);
    free(s->cacert);
}

/* GET /_ctl/stats with the curl tool (not with the code under test). */
static json_t *srv_stats(struct srv *s)
{
    char url[160];
    char *out = NULL;
    json_t *j;
    const char *argv[] = {
        "curl", "-sf", "--cacert", s->cacert ? s->cacert : "/dev/null", url, NULL
    };
    snprintf(url, sizeof(url), "%s/_ctl/stats", s->url);
    ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
    j = json_loads(out, 0, NULL);
    ck_assert_msg(j != NULL, "bad stats: %s", out);
    free(out);
    return j;
}

static long stat_int(json_t *st, const char *key)
{
    json_t *v = json_object_get(st, key);
    ck_assert_msg(json_is_integer(v), "stats has no %s", key);
    return (long)json_integer_value(v);
}

/* ---- driving the client --------------------------------------------------- */

struct ctx {
    uv_loop_t loop;
    struct http_client *client;
    int expected, completed, order;
    bool in_api; /* set around calls that must not run callbacks */
    bool close_when_done;
    int closed;
};

struct res {
    struct ctx *ctx;
    int calls, error, seq;
    long status;
    char *msg, *body, *x_test;
    size_t body_len;
    bool cancel_again; /* call http_cancel from inside the callback */
    struct http_call *call;
};

static void on_closed(void *ud)
{
    struct ctx *ctx = ud;
    ck_assert(!ctx->in_api);
    ctx->closed++;
}

static void on_done(struct http_call *call, struct http_response *r, void *ud)
{
    struct res *res = ud;
    struct ctx *ctx = res->ctx;
    const char *h;

    ck_assert_msg(!ctx->in_api, "callback ran synchronously inside the API");
    ck_assert_ptr_eq(call, res->call);
    res->calls++;
    res->error = r->error;
    res->status = r->status;
    res->msg = strdup(r->error_msg);
    ck_assert(r->error != 0 || r->error_msg[0] == '\0');
    ck_assert(r->error == 0 || r->error_msg[0] != '\0');
    for (size_t i = 0; i < r->n_headers; i++)
        for (const char *p = r->headers[i].name; *p; p++)
            ck_assert_msg(*p < 'A' || *p > 'Z', "header %s not lower-cased", r->headers[i].name);
    h = http_response_header(r, "X-Test");
    res->x_test = h ? strdup(h) : NULL;
    ck_assert(r->body != NULL);
    ck_assert_int_eq(r->body[r->body_len], '\0');
    res->body = http_response_take_body(r, &res->body_len);
    ck_assert_ptr_null(r->body);
    res->seq = ctx->order++;
    if (res->cancel_again)
        http_cancel(call); /* must be a harmless no-op */
    if (++ctx->completed == ctx->expected && ctx->close_when_done) {
        ctx->in_api = true;
        http_client_close(ctx->client, on_closed, ctx);
        ctx->in_api = false;
    }
}

static void ctx_init(struct ctx *ctx, const struct http_client_options *opts)
{
    struct perr err = { 0 };
    memset(ctx, 0, sizeof(*ctx));
    ck_assert_int_eq(uv_loop_init(&ctx->loop), 0);
    ck_assert_int_eq(http_client_new(&ctx->loop, opts, &ctx->client, &err), 0);
    ctx->close_when_done = true;
}

static void send_req(struct ctx *ctx, struct res *res, const struct http_request *req)
{
    struct perr err = { 0 };
    int r;
    res->ctx = ctx;
    ctx->in_api = true;
    r = http_send(ctx->client, req, on_done, res, &res->call, &err);
    ctx->in_api = false;
    ck_assert_msg(r == 0, "http_send: %s", err.msg);
    ctx->expected++;
}

static void send_get(struct ctx *ctx, struct res *res, const char *base, const char *path)
{
    char url[256];
    struct http_request req = { .url = url };
    snprintf(url, sizeof(url), "%s%s", base, path);
    send_req(ctx, res, &req);
}

/* Run until every request completed and the client closed; the loop must
 * then close cleanly. */
static void ctx_run(struct ctx *ctx)
{
    uv_run(&ctx->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(ctx->completed, ctx->expected);
    if (!ctx->closed) {
        ck_assert_int_eq(http_client_pending(ctx->client), 0);
        http_client_close(ctx->client, on_closed, ctx);
        uv_run(&ctx->loop, UV_RUN_DEFAULT);
    }
    ck_assert_int_eq(ctx->closed, 1);
    ck_assert_int_eq(uv_loop_close(&ctx->loop), 0);
}

static void res_free(struct res *r)
{
    free(r->msg);
    free(r->body);
    free(r->x_test);
}

/* The expected message for this server (format with one %s: host:port). */
#define expect_msg(fmt, hostport) str_printf(fmt, hostport)

/* ---- tests ------------------------------------------------------------- */

START_TEST(get_with_body_and_headers)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };

    srv_start(&s,
              "[{\"status\": 200, \"body\": \"hello world\", "
              "\"headers\": {\"X-Test\": \"yes\", \"X-Folded-Name\": \"  padded  \"}}]",
              NULL);
    ctx_init(&ctx, NULL);
    send_get(&ctx, &r, s.url, "/thing");
    ctx_run(&ctx);

    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.error, 0);
    ck_assert_str_eq(r.msg, "");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello world");
    ck_assert_uint_eq(r.body_len, 11);
    ck_assert_str_eq(r.x_test, "yes");
    res_free(&r);
    srv_stop(&s);
}
END_TEST

/* The body (binary, with a NUL) and the headers arrive exactly as given;
 * curl's default Content-Type and Expect are not added; an empty header
 * value is sent empty rather than dropped. */
START_TEST(methods_bodies_and_request_headers)
{
    static const char body[] = "a\0b=c&d";
    const char *hdrs[] = { "X-Amz-Date: 20150830T123600Z", "X-Empty:", "x-lower: v", NULL };
    const char *methods[] = { "POST", "PUT", "DELETE", "GET" };
    struct res r[5] = { { 0 } };
    struct srv s;
    struct ctx ctx;
    char url[128];
    struct http_client_options opts = { .max_total = 1, .user_agent = "plumb-test/1" };

    srv_start(&s, "[]", "echo");
    ctx_init(&ctx, &opts);
    snprintf(url, sizeof(url), "%s/echo?x=1", s.url);
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        struct http_request req = { .method = methods[i], .url = url, .headers = hdrs };
        if (i < 2) {
            req.body = body;
            req.body_len = sizeof(body) - 1;
        }
        send_req(&ctx, &r[i], &req);
    }
    {
        struct http_request head = { .method = "HEAD", .url = url };
        send_req(&ctx, &r[4], &head);
    }
    ctx_run(&ctx);

    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        json_t *j, *h;
        ck_assert_int_eq(r[i].error, 0);
        ck_assert_int_eq(r[i].status, 200);
        j = json_loads(r[i].body, JSON_ALLOW_NUL, NULL);
        ck_assert_ptr_nonnull(j);
        h = json_object_get(j, "headers");
        ck_assert_str_eq(json_string_value(json_object_get(j, "method")), methods[i]);
        ck_assert_str_eq(json_string_value(json_object_get(j, "path")), "/echo?x=1");
        ck_assert_str_eq(json_string_value(json_object_get(h, "x-amz-date")), "20150830T123600Z");
        ck_assert_str_eq(json_string_value(json_object_get(h, "x-empty")), "");
        ck_assert_str_eq(json_string_value(json_object_get(h, "x-lower")), "v");
        ck_assert_str_eq(json_string_value(json_object_get(h, "user-agent")), "plumb-test/1");
        ck_assert_ptr_null(json_object_get(h, "content-type"));
        ck_assert_ptr_null(json_object_get(h, "expect"));
        if (i < 2) {
            json_t *b = json_object_get(j, "body");
            ck_assert_uint_eq(json_string_length(b), sizeof(body) - 1);
            ck_assert_mem_eq(json_string_value(b), body, sizeof(body) - 1);
        } else {
            ck_assert_str_eq(json_string_value(json_object_get(j, "body")), "");
        }
        json_decref(j);
    }
    /* HEAD: status and headers, no body. */
    ck_assert_int_eq(r[4].error, 0);
    ck_assert_int_eq(r[4].status, 200);
    ck_assert_uint_eq(r[4].body_len, 0);
    ck_assert_str_eq(r[4].body, "");
    for (size_t i = 0; i < ARRAY_SIZE(r); i++)
        res_free(&r[i]);
    srv_stop(&s);
}
END_TEST

START_TEST(many_concurrent_requests)
{
    enum { N = 50 };
    struct res r[N];
    struct srv s;
    struct ctx ctx;
    json_t *st;

    memset(r, 0, sizeof(r));
    srv_start(&s, "[]", "{\"echo\": true, \"delay\": 0.05}");
    ctx_init(&ctx, NULL);
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/req/%d", i);
        send_get(&ctx, &r[i], s.url, path);
    }
    ck_assert_uint_eq(http_client_pending(ctx.client), N);
    ctx_run(&ctx);
    for (int i = 0; i < N; i++) {
        char path[32];
        json_t *j;
        snprintf(path, sizeof(path), "/req/%d", i);
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].error, 0);
        ck_assert_int_eq(r[i].status, 200);
        j = json_loads(r[i].body, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(j, "path")), path);
        json_decref(j);
        res_free(&r[i]);
    }
    st = srv_stats(&s);
    ck_assert_int_eq(stat_int(st, "requests"), N);
    ck_assert_int_le(stat_int(st, "max_concurrent_requests"), HTTP_DEFAULT_MAX_PER_HOST);
    ck_assert_int_gt(stat_int(st, "max_concurrent_requests"), 1);
    json_decref(st);
    srv_stop(&s);
}
END_TEST

START_TEST(per_host_limit_holds)
{
    enum { N = 12 };
    struct res r[N];
    struct srv s;
    struct ctx ctx;
    json_t *st;
    struct http_client_options opts = { .max_per_host = 3 };

    memset(r, 0, sizeof(r));
    srv_start(&s, "[]", "{\"delay\": 0.2, \"body\": \"ok\"}");
    ctx_init(&ctx, &opts);
    for (int i = 0; i < N; i++)
        send_get(&ctx, &r[i], s.url, "/limited");
    ctx_run(&ctx);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].error, 0);
        ck_assert_int_eq(r[i].status, 200);
        res_free(&r[i]);
    }
    st = srv_stats(&s);
    ck_assert_int_eq(stat_int(st, "requests"), N);
    ck_assert_int_le(stat_int(st, "max_concurrent_requests"), 3);
    ck_assert_int_gt(stat_int(st, "max_concurrent_requests"), 1);
    ck_assert_int_le(stat_int(st, "max_concurrent_connections"), 3);
    json_decref(st);
    srv_stop(&s);
}
END_TEST

/* Two host keys (127.0.0.1 and localhost) reach the same server: the total
 * limit caps both together. */
START_TEST(total_limit_across_hosts)
{
    enum { N = 12 };
    struct res r[N];
    struct srv s;
    struct ctx ctx;
    json_t *st;
    char other[96];
    struct http_client_options opts = { .max_per_host = 3, .max_total = 4 };

    memset(r, 0, sizeof(r));
    srv_start(&s, "[]", "{\"delay\": 0.2, \"body\": \"ok\"}");
    snprintf(other, sizeof(other), "http://localhost:%d", s.port);
    ctx_init(&ctx, &opts);
    for (int i = 0; i < N; i++)
        send_get(&ctx, &r[i], i % 2 ? other : s.url, "/total");
    ctx_run(&ctx);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(r[i].error == 0, "request %d: %s", i, r[i].msg);
        res_free(&r[i]);
    }
    st = srv_stats(&s);
    ck_assert_int_eq(stat_int(st, "requests"), N);
    ck_assert_int_le(stat_int(st, "max_concurrent_requests"), 4);
    ck_assert_int_gt(stat_int(st, "max_concurrent_requests"), 1);
    json_decref(st);
    srv_stop(&s);
}
END_TEST

START_TEST(queue_is_fifo)
{
    enum { N = 6 };
    struct res r[N];
    struct srv s;
    struct ctx ctx;
    json_t *st, *log;
    struct http_client_options opts = { .max_total = 1 };

    memset(r, 0, sizeof(r));
    srv_start(&s, "[]", "{\"delay\": 0.02, \"body\": \"ok\"}");
    ctx_init(&ctx, &opts);
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/fifo/%d", i);
        send_get(&ctx, &r[i], s.url, path);
    }
    ctx_run(&ctx);
    st = srv_stats(&s);
    log = json_object_get(st, "log");
    ck_assert_uint_eq(json_array_size(log), N);
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/fifo/%d", i);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(log, i), "path")), path);
        ck_assert_int_eq(r[i].seq, i);
        res_free(&r[i]);
    }
    ck_assert_int_eq(stat_int(st, "max_concurrent_requests"), 1);
    json_decref(st);
    srv_stop(&s);
}
END_TEST

START_TEST(slow_response_times_out)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };
    char url[128];
    struct http_request req = { .url = url, .timeout_ms = 300 };
    char *want;

    srv_start(&s, "[\"slow:10\"]", NULL);
    ctx_init(&ctx, NULL);
    snprintf(url, sizeof(url), "%s/slow", s.url);
    send_req(&ctx, &r, &req);
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -ETIMEDOUT);
    want = expect_msg("request to %s timed out (limit 300 ms)", s.hostport);
    ck_assert_str_eq(r.msg, want);
    ck_assert_int_eq(r.status, 0);
    free(want);
    res_free(&r);
    srv_stop(&s);
}
END_TEST

START_TEST(stalled_body_hits_low_speed_limit)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };
    struct http_client_options opts = { .low_speed_limit = 100, .low_speed_time_ms = 1000 };
    char *want;

    srv_start(&s, "[\"stall:20\"]", NULL);
    ctx_init(&ctx, &opts);
    send_get(&ctx, &r, s.url, "/stall");
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -ETIMEDOUT);
    want = expect_msg("transfer from %s stalled (below 100 bytes/s for 1 s)", s.hostport);
    ck_assert_str_eq(r.msg, want);
    /* The status arrived, and so did the bytes sent before the stall. */
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "01234");
    free(want);
    res_free(&r);
    srv_stop(&s);
}
END_TEST

/* 64 MiB streamed without Content-Length against a 64 KiB cap: the transfer
 * is aborted early, so the server could not deliver it all. */
START_TEST(oversized_chunked_body_is_refused_early)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };
    struct http_client_options opts = { .max_body = 65536 };
    json_t *st = NULL;
    char *want;

    srv_start(&s, "[\"oversize:67108864\"]", NULL);
    ctx_init(&ctx, &opts);
    send_get(&ctx, &r, s.url, "/big");
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -EMSGSIZE);
    want = expect_msg("response body from %s exceeds the 65536-byte limit", s.hostport);
    ck_assert_str_eq(r.msg, want);
    ck_assert_uint_le(r.body_len, 65536);
    /* Wait for the server to notice the client went away. */
    for (int i = 0; i < 500; i++) {
        json_decref(st);
        st = srv_stats(&s);
        if (stat_int(st, "aborted_writes") > 0)
            break;
        usleep(20000);
    }
    ck_assert_int_eq(stat_int(st, "aborted_writes"), 1);
    ck_assert_int_lt(stat_int(st, "body_bytes_sent"), 67108864);
    json_decref(st);
    free(want);
    res_free(&r);
    srv_stop(&s);
}
END_TEST

START_TEST(oversized_content_length_is_refused)
{
    struct srv s;
    struct ctx ctx;
    struct res r[2] = { { 0 } };
    struct http_client_options opts = { .max_body = 65536, .max_total = 1 };
    char url[128];
    struct http_request big = { .url = url, .max_body = 200000 };
    char *want;

    srv_start(&s, "[\"oversize-cl:10000000\", \"oversize-cl:100000\"]", NULL);
    ctx_init(&ctx, &opts);
    send_get(&ctx, &r[0], s.url, "/cl");
    /* A request may raise the cap for itself. */
    snprintf(url, sizeof(url), "%s/cl-allowed", s.url);
    send_req(&ctx, &r[1], &big);
    ctx_run(&ctx);
    ck_assert_int_eq(r[0].error, -EMSGSIZE);
    want = expect_msg("response body from %s exceeds the 65536-byte limit", s.hostport);
    ck_assert_str_eq(r[0].msg, want);
    ck_assert_uint_eq(r[0].body_len, 0);
    ck_assert_int_eq(r[1].error, 0);
    ck_assert_uint_eq(r[1].body_len, 100000);
    free(want);
    res_free(&r[0]);
    res_free(&r[1]);
    srv_stop(&s);
}
END_TEST

/* More header lines than HTTP_MAX_HEADERS: refused while receiving. */
START_TEST(oversized_headers_are_refused)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };
    char *script, *want;
    size_t len = 0;
    FILE *f = open_memstream(&script, &len);

    fputs("[{\"body\": \"x\", \"headers\": {", f);
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
        fprintf(f, "%s\"X-H%d\": \"v\"", i ? ", " : "", i);
    fputs("}}]", f);
    fclose(f);
    srv_start(&s, script, NULL);
    ctx_init(&ctx, NULL);
    send_get(&ctx, &r, s.url, "/headers");
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -EMSGSIZE);
    want = expect_msg("response headers from %s exceed the limit", s.hostport);
    ck_assert_str_eq(r.msg, want);
    free(want);
    free(script);
    res_free(&r);
    srv_stop(&s);
}
END_TEST

START_TEST(truncated_body_is_a_protocol_error)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };
    char *want;

    srv_start(&s, "[\"truncate\"]", NULL);
    ctx_init(&ctx, NULL);
    send_get(&ctx, &r, s.url, "/short");
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -EPROTO);
    want = expect_msg("truncated response from %s: transfer closed with 90 bytes remaining to read",
                      s.hostport);
    ck_assert_str_eq(r.msg, want);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body_len, 10);
    free(want);
    res_free(&r);
    srv_stop(&s);
}
END_TEST

START_TEST(bad_chunking_is_a_protocol_error)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };
    char *want;

    srv_start(&s, "[\"bad-chunk\"]", NULL);
    ctx_init(&ctx, NULL);
    send_get(&ctx, &r, s.url, "/chunks");
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -EPROTO);
    want = expect_msg("malformed response from %s: ", s.hostport);
    ck_assert_msg(str_has_prefix(r.msg, want), "message: %s", r.msg);
    free(want);
    res_free(&r);
    srv_stop(&s);
}
END_TEST

START_TEST(connection_reset)
{
    struct srv s;
    struct ctx ctx;
    struct res r[2] = { { 0 } };
    struct http_client_options opts = { .max_total = 1 };
    char *want;

    srv_start(&s, "[\"reset\", \"close\"]", NULL);
    ctx_init(&ctx, &opts);
    send_get(&ctx, &r[0], s.url, "/reset");
    send_get(&ctx, &r[1], s.url, "/close");
    ctx_run(&ctx);
    ck_assert_msg(r[0].error == -ECONNRESET, "%d %s", r[0].error, r[0].msg);
    want = expect_msg("connection to %s reset by peer", s.hostport);
    ck_assert_str_eq(r[0].msg, want);
    free(want);
    ck_assert_int_eq(r[1].error, -ECONNRESET);
    want = expect_msg("%s closed the connection without a response", s.hostport);
    ck_assert_str_eq(r[1].msg, want);
    free(want);
    res_free(&r[0]);
    res_free(&r[1]);
    srv_stop(&s);
}
END_TEST

START_TEST(connection_refused)
{
    struct ctx ctx;
    struct res r = { 0 };
    char base[64], hostport[64], *want;
    int port = tu_free_port();

    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
    ctx_init(&ctx, NULL);
    send_get(&ctx, &r, base, "/nobody-home");
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -ECONNREFUSED);
    want = expect_msg("cannot connect to %s: Connection refused", hostport);
    ck_assert_str_eq(r.msg, want);
    ck_assert_int_eq(r.status, 0);
    free(want);
    res_free(&r);
}
END_TEST

/* AWS-style failures the retry layer will see: the client reports them as
 * successful transports with the status and body intact. */
START_TEST(aws_style_errors_pass_through)
{
    struct srv s;
    struct ctx ctx;
    struct res r[6];
    struct http_client_options opts = { .max_total = 1 };
    json_t *j;

    memset(r, 0, sizeof(r));
    srv_start(&s,
              "[\"throttle-json\", \"throttle-query\", \"throttle-ec2\", \"slowdown-s3\", "
              "\"too-many-429\", \"500\"]",
              NULL);
    ctx_init(&ctx, &opts);
    for (int i = 0; i < 6; i++)
        send_get(&ctx, &r[i], s.url, "/aws");
    ctx_run(&ctx);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(r[i].error, 0);
    ck_assert_int_eq(r[0].status, 400);
    j = json_loads(r[0].body, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "__type")), "ThrottlingException");
    json_decref(j);
    ck_assert_int_eq(r[1].status, 400);
    ck_assert_ptr_nonnull(strstr(r[1].body, "<Error><Type>Sender</Type><Code>Throttling</Code>"));
    ck_assert_int_eq(r[2].status, 503);
    ck_assert_ptr_nonnull(strstr(r[2].body, "<Code>RequestLimitExceeded</Code>"));
    ck_assert_int_eq(r[3].status, 503);
    ck_assert_ptr_nonnull(strstr(r[3].body, "<Error><Code>SlowDown</Code>"));
    ck_assert_int_eq(r[4].status, 429);
    ck_assert_int_eq(r[5].status, 500);
    for (int i = 0; i < 6; i++)
        res_free(&r[i]);
    srv_stop(&s);
}
END_TEST

struct cancel_ctx {
    struct ctx *ctx;
    struct res *res;
};

static void cancel_timer_cb(uv_timer_t *t)
{
    struct cancel_ctx *cc = t->data;
    cc->ctx->in_api = true;
    http_cancel(cc->res->call);
    cc->ctx->in_api = false;
    uv_close((uv_handle_t *)t, NULL);
}

START_TEST(cancel_in_flight)
{
    struct srv s;
    struct ctx ctx;
    struct res r = { .cancel_again = true };
    uv_timer_t timer;
    struct cancel_ctx cc = { &ctx, &r };
    json_t *st;
    char *want;

    srv_start(&s, "[\"slow:30\"]", NULL);
    ctx_init(&ctx, NULL);
    send_get(&ctx, &r, s.url, "/cancel-me");
    ck_assert_int_eq(uv_timer_init(&ctx.loop, &timer), 0);
    timer.data = &cc;
    ck_assert_int_eq(uv_timer_start(&timer, cancel_timer_cb, 200, 0), 0);
    ctx_run(&ctx);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.error, -ECANCELED);
    want = expect_msg("request to %s cancelled", s.hostport);
    ck_assert_str_eq(r.msg, want);
    st = srv_stats(&s);
    ck_assert_int_eq(stat_int(st, "requests"), 1);
    json_decref(st);
    free(want);
    res_free(&r);
    srv_stop(&s);
}
END_TEST

/* A queued request that is cancelled never reaches the server and is
 * reported before the running one finishes. */
START_TEST(cancel_queued)
{
    struct srv s;
    struct ctx ctx;
    struct res r[2] = { { 0 } };
    struct http_client_options opts = { .max_total = 1 };
    json_t *st;

    srv_start(&s, "[]", "{\"delay\": 0.3, \"body\": \"ok\"}");
    ctx_init(&ctx, &opts);
    send_get(&ctx, &r[0], s.url, "/first");
    send_get(&ctx, &r[1], s.url, "/second");
    ctx.in_api = true;
    http_cancel(r[1].call);
    ctx.in_api = false;
    ck_assert_int_eq(r[1].calls, 0); /* not synchronous */
    ctx_run(&ctx);
    ck_assert_int_eq(r[0].error, 0);
    ck_assert_int_eq(r[1].error, -ECANCELED);
    ck_assert_int_eq(r[1].seq, 0);
    ck_assert_int_eq(r[0].seq, 1);
    st = srv_stats(&s);
    ck_assert_int_eq(stat_int(st, "requests"), 1);
    json_decref(st);
    res_free(&r[0]);
    res_free(&r[1]);
    srv_stop(&s);
}
END_TEST

struct close_ctx {
    struct ctx *ctx;
    int send_after_close;
    char *send_msg;
};

static void close_timer_cb(uv_timer_t *t)
{
    struct close_ctx *cc = t->data;
    struct ctx *ctx = cc->ctx;
    struct perr err = { 0 };
    struct http_request req = { .url = "http://127.0.0.1:1/" };
    struct res dummy = { 0 };

    ctx->in_api = true;
    http_client_close(ctx->client, on_closed, ctx);
    http_client_close(ctx->client, on_closed, ctx); /* second call: no-op */
    ctx->in_api = false;
    ck_assert_int_eq(ctx->completed, 0);
    cc->send_after_close = http_send(ctx->client, &req, on_done, &dummy, NULL, &err);
    cc->send_msg = strdup(err.msg);
    uv_close((uv_handle_t *)t, NULL);
}

START_TEST(close_with_requests_in_flight)
{
    enum { N = 10 };
    struct srv s;
    struct ctx ctx;
    struct res r[N];
    uv_timer_t timer;
    struct close_ctx cc = { &ctx, 0, NULL };
    struct http_client_options opts = { .max_per_host = 4 };

    memset(r, 0, sizeof(r));
    srv_start(&s, "[]", "slow:30");
    ctx_init(&ctx, &opts);
    ctx.close_when_done = false;
    for (int i = 0; i < N; i++)
        send_get(&ctx, &r[i], s.url, "/forever");
    ck_assert_int_eq(uv_timer_init(&ctx.loop, &timer), 0);
    timer.data = &cc;
    ck_assert_int_eq(uv_timer_start(&timer, close_timer_cb, 300, 0), 0);
    uv_run(&ctx.loop, UV_RUN_DEFAULT);

    ck_assert_int_eq(ctx.closed, 1);
    ck_assert_int_eq(ctx.completed, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].error, -ECANCELED);
        res_free(&r[i]);
    }
    ck_assert_int_eq(cc.send_after_close, -ESHUTDOWN);
    ck_assert_str_eq(cc.send_msg, "http client is closing");
    free(cc.send_msg);
    ck_assert_int_eq(uv_loop_close(&ctx.loop), 0);
    srv_stop(&s);
}
END_TEST

START_TEST(close_idle_client)
{
    struct ctx ctx;
    ctx_init(&ctx, NULL);
    ctx.in_api = true;
    http_client_close(ctx.client, on_closed, &ctx);
    ctx.in_api = false;
    ck_assert_int_eq(ctx.closed, 0); /* asynchronous */
    uv_run(&ctx.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(ctx.closed, 1);
    ck_assert_int_eq(uv_loop_close(&ctx.loop), 0);
}
END_TEST

static void expect_send_error(struct ctx *ctx, const struct http_request *req, int code,
                              const char *msg)
{
    struct perr err = { 0 };
    struct res r = { 0 };
    struct http_call *call = NULL;
    ck_assert_int_eq(http_send(ctx->client, req, on_done, &r, &call, &err), code);
    ck_assert_str_eq(err.msg, msg);
    ck_assert_ptr_null(call);
    ck_assert_int_eq(r.calls, 0);
}

START_TEST(bad_requests_are_refused)
{
    struct ctx ctx;
    const char *crlf[] = { "X-Bad: a\r\nInjected: b", NULL };
    const char *noname[] = { "no colon here", NULL };
    const char *badname[] = { "Bad Name: v", NULL };
    static const char body[] = "x";

    ctx_init(&ctx, NULL);
    expect_send_error(&ctx, &(struct http_request){ .url = "not a url" }, -EINVAL,
                      "invalid URL: Bad scheme");
    expect_send_error(&ctx, &(struct http_request){ .url = "ftp://example.com/" }, -EINVAL,
                      "unsupported URL scheme ftp (only http and https)");
    expect_send_error(&ctx, &(struct http_request){ .url = "http://h/", .headers = crlf }, -EINVAL,
                      "request header X-Bad contains a line break");
    expect_send_error(&ctx, &(struct http_request){ .url = "http://h/", .headers = noname },
                      -EINVAL, "request header 1 has no valid name");
    expect_send_error(&ctx, &(struct http_request){ .url = "http://h/", .headers = badname },
                      -EINVAL, "request header 1 has no valid name");
    expect_send_error(&ctx, &(struct http_request){ .url = "http://h/", .method = "GE T" }, -EINVAL,
                      "invalid HTTP method");
    expect_send_error(
        &ctx,
        &(struct http_request){ .url = "http://h/", .method = "HEAD", .body = body, .body_len = 1 },
        -EINVAL, "a HEAD request cannot carry a body");
    expect_send_error(&ctx, &(struct http_request){ .url = "http://h/", .body_len = 3 }, -EINVAL,
                      "request body is NULL but body_len is 3");
    expect_send_error(&ctx, &(struct http_request){ .url = "http://h/", .timeout_ms = -1 }, -EINVAL,
                      "request timeout must not be negative");
    ck_assert_uint_eq(http_client_pending(ctx.client), 0);
    ctx_run(&ctx);
}
END_TEST

START_TEST(bad_client_options_are_refused)
{
    uv_loop_t loop;
    struct http_client *c = NULL;
    struct perr err = { 0 };
    struct http_client_options missing = { .ca_bundle = "/nonexistent/ca.pem" };
    struct http_client_options negative = { .timeout_ms = -5 };

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(http_client_new(&loop, &missing, &c, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "CA bundle /nonexistent/ca.pem: No such file or directory");
    ck_assert_int_eq(http_client_new(&loop, &negative, &c, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "http client timeouts and limits must not be negative");
    ck_assert_int_eq(http_client_new(NULL, NULL, &c, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "http client needs a loop");
    ck_assert_ptr_null(c);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- HTTPS ---------------------------------------------------------------- */

static void make_cert(const char *dir, const char *san, char **ret_cert, char **ret_key)
{
    char *cert = tu_path_join(dir, "cert.pem"), *key = tu_path_join(dir, "key.pem");
    char *errout = NULL;
    const char *argv[] = { "openssl",
                           "req",
                           "-x509",
                           "-newkey",
                           "ec",
                           "-pkeyopt",
                           "ec_paramgen_curve:prime256v1",
                           "-nodes",
                           "-keyout",
                           key,
                           "-out",
                           cert,
                           "-days",
                           "1",
                           "-subj",
                           "/CN=plumb test",
                           "-addext",
                           san,
                           NULL };
    int st = tu_run(argv, NULL, NULL, &errout);
    ck_assert_msg(st == 0, "openssl req failed: %s", errout ? errout : "");
    free(errout);
    *ret_cert = cert;
    *ret_key = key;
}

START_TEST(https_requires_the_ca)
{
    char *dir = tu_tmpdir(), *cert, *key, *want;
    struct srv s;
    struct ctx ctx;
    struct res r[3] = { { 0 } };
    char url[128];
    struct http_request insecure = { .url = url, .insecure_tls = true };

    make_cert(dir, "subjectAltName=IP:127.0.0.1", &cert, &key);
    srv_start_full(&s, "[]", NULL, cert, key);
    snprintf(url, sizeof(url), "%s/tls", s.url);

    /* Default trust store: the self-signed certificate is rejected. */
    ctx_init(&ctx, NULL);
    send_get(&ctx, &r[0], s.url, "/tls");
    /* The explicit per-request exception. */
    send_req(&ctx, &r[1], &insecure);
    ctx_run(&ctx);
    ck_assert_int_eq(r[0].error, -EKEYREJECTED);
    want = expect_msg("TLS certificate of %s did not verify: ", s.hostport);
    ck_assert_msg(str_has_prefix(r[0].msg, want), "message: %s", r[0].msg);
    ck_assert_int_eq(r[1].error, 0);
    ck_assert_str_eq(r[1].body, "ok");

    /* With the certificate as the CA bundle it verifies. */
    {
        struct http_client_options opts = { .ca_bundle = cert };
        ctx_init(&ctx, &opts);
        send_get(&ctx, &r[2], s.url, "/tls");
        ctx_run(&ctx);
        ck_assert_int_eq(r[2].error, 0);
        ck_assert_int_eq(r[2].status, 200);
        ck_assert_str_eq(r[2].body, "ok");
    }
    for (int i = 0; i < 3; i++)
        res_free(&r[i]);
    free(want);
    srv_stop(&s);
    free(cert);
    free(key);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* The CA is trusted but the certificate names another host: host
 * verification is on as well. */
START_TEST(https_checks_the_host_name)
{
    char *dir = tu_tmpdir(), *cert, *key, *want;
    struct srv s;
    struct ctx ctx;
    struct res r = { 0 };
    struct http_client_options opts;

    make_cert(dir, "subjectAltName=DNS:not-this-host.example", &cert, &key);
    srv_start_full(&s, "[]", NULL, cert, key);
    opts = (struct http_client_options){ .ca_bundle = cert };
    ctx_init(&ctx, &opts);
    send_get(&ctx, &r, s.url, "/tls");
    ctx_run(&ctx);
    ck_assert_int_eq(r.error, -EKEYREJECTED);
    want = expect_msg("TLS certificate of %s did not verify: ", s.hostport);
    ck_assert_msg(str_has_prefix(r.msg, want), "message: %s", r.msg);
    free(want);
    res_free(&r);
    srv_stop(&s);
    free(cert);
    free(key);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, get_with_body_and_headers);
    tcase_add_test(tc, methods_bodies_and_request_headers);
    tcase_add_test(tc, many_concurrent_requests);
    tcase_add_test(tc, per_host_limit_holds);
    tcase_add_test(tc, total_limit_across_hosts);
    tcase_add_test(tc, queue_is_fifo);
    tcase_add_test(tc, slow_response_times_out);
    tcase_add_test(tc, stalled_body_hits_low_speed_limit);
    tcase_add_test(tc, oversized_chunked_body_is_refused_early);
    tcase_add_test(tc, oversized_content_length_is_refused);
    tcase_add_test(tc, oversized_headers_are_refused);
    tcase_add_test(tc, truncated_body_is_a_protocol_error);
    tcase_add_test(tc, bad_chunking_is_a_protocol_error);
    tcase_add_test(tc, connection_reset);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, aws_style_errors_pass_through);
    tcase_add_test(tc, cancel_in_flight);
    tcase_add_test(tc, cancel_queued);
    tcase_add_test(tc, close_with_requests_in_flight);
    tcase_add_test(tc, close_idle_client);
    tcase_add_test(tc, bad_requests_are_refused);
    tcase_add_test(tc, bad_client_options_are_refused);
    tcase_add_test(tc, https_requires_the_ca);
    tcase_add_test(tc, https_checks_the_host_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* A server that vanished mid-write must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    find_python();
    return tu_run_suite(http_suite());
}
