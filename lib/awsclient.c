#include "awsclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserr.h"
#include "awsmodel.h"
#include "awsproto.h"
#include "buf.h"
#include "creds.h"
#include "credsnet.h"
#include "endpoint.h"
#include "http.h"
#include "paginate.h"
#include "plumb-config.h"
#include "retry.h"
#include "sigv4.h"

/* The environment variables the credential chain, the endpoint resolver
 * and the client read; AWS_ENDPOINT_URL_<SERVICE> is added per model. */
static const char *const env_names[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "HOME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CA_BUNDLE",
};

/* Error codes that mean the credentials or the signature are wrong. */
static const char *const auth_codes[] = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidToken",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "RequestExpired",
    "RequestTimeTooSkewed",
    "RequestInTheFuture",
    "TokenRefreshRequired",
    "InvalidSecurity",
    NULL,
};

#define REFRESH_RETRY_MS 60000

/* State per (service, region) endpoint. */
struct clock_entry {
    char *key;
    int64_t offset_ms;
};

struct quota_entry {
    char *key;
    struct retry_quota q;
};

enum call_state {
    ST_KICK,    /* timer: start */
    ST_CREDS,   /* waiting for the account's credentials */
    ST_BUDGET,  /* timer: waiting for the API budget */
    ST_HTTP,    /* request in flight */
    ST_BACKOFF, /* timer: waiting before a retry */
    ST_FINISH,  /* timer: report a deferred result */
};

struct aws_client {
    uv_loop_t *loop;
    aws_getenv_fn getenv;
    char *endpoint_url;
    char **envp; /* snapshot; holds secrets */
    struct http_client *http;
    struct awsmodels *models;
    struct retry_budgets *budgets;
    struct retry_policy policy;
    int quota_capacity;
    size_t max_body;
    struct clock_entry *clocks;
    size_t n_clocks;
    struct aws_call *calls; /* live calls */
    struct aws_account *accounts;
    unsigned handles_closing;
    bool closing, http_closed, done_called;
    void (*done)(void *userdata);
    void *done_userdata;
};

struct aws_account {
    struct aws_client *c;
    struct aws_account *prev, *next;
    char *sts_region;
    char *expected;
    struct creds_assume_role role; /* role_arn NULL when none */
    struct creds_plan *plan;
    char *source;
    char *budget_key;
    char *id;
    struct aws_credentials *creds;
    struct credsnet *fetch;
    struct credsnet_sts sts; /* STS transport for the fetch; ctx = this account */
    struct aws_call *waiters;
    int64_t fail_until;
    struct perr fail_err;
    uv_timer_t refresh;
    bool refresh_open;
    struct quota_entry *quotas;
    size_t n_quotas;
    unsigned refs;
    bool freed;
};

struct aws_call;
typedef void (*call_fin_fn)(struct aws_call *call, int result);

struct aws_call {
    struct aws_client *c;
    struct aws_account *a;
    struct aws_call *prev, *next; /* client list */
    struct aws_call *wait_next;
    bool waiting;
    const struct awsmodel *m;
    const struct awsop *op;
    char *region;
    json_t *params;
    unsigned flags;
    struct aws_stats *stats;
    call_fin_fn fin;
    aws_page_cb page_cb;
    aws_done_cb done_cb;
    void *userdata;
    /* internal calls */
    const struct aws_credentials *creds; /* sign with these instead */
    bool no_sign;
    bool raw;       /* S3 GetObject: the body is the result */
    bool sensitive; /* wipe bodies and outputs (STS credentials) */
    /* the current page */
    struct awsrequest *req;
    struct endpoint ep;
    char *url, *host, *sign_path, *key;
    const char *family;
    struct retry_state rs;
    bool waited;
    /* the attempt in flight */
    enum call_state state;
    uv_timer_t timer;
    struct http_call *http;
    bool cancelled, finished;
    int deferred;
    size_t page;
    /* results */
    json_t *output;
    long status;
    int64_t server_date_ms, local_ms;
    char *body;
    size_t body_len;
    char *etag;
    struct aws_error err;
    char *e_code, *e_message, *e_request_id, *e_action;
    int result;
};

/* ---- small helpers ---- */

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i][n + 1] ? envp[i] + n + 1 : NULL;
    return NULL;
}

static void envp_free(char **envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        str_free_secret(envp[i]);
    free(envp);
}

static int envp_add(struct aws_client *c, char ***v, const char *name)
{
    const char *val = c->getenv ? c->getenv(name) : getenv(name);
    char *e;
    int r;
    if (!val || env_lookup(*v, name))
        return 0;
    e = str_printf("%s=%s", name, val);
    if (!e)
        return -ENOMEM;
    r = strv_consume(v, e);
    if (r < 0)
        str_free_secret(e);
    return r;
}

static int build_envp(struct aws_client *c)
{
    char **v = strv_new();
    int r = 0;
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(env_names); i++)
        r = envp_add(c, &v, env_names[i]);
    for (size_t i = 0; r == 0 && i < awsmodels_count(c->models); i++) {
        char *name = endpoint_env_name(awsmodels_at(c->models, i)->service_id);
        r = name ? envp_add(c, &v, name) : -ENOMEM;
        free(name);
    }
    if (r < 0) {
        envp_free(v);
        return r;
    }
    c->envp = v;
    return 0;
}

static double default_random(void *ctx)
{
    uint32_t x = 0;
    (void)ctx;
    if (random_bytes(&x, sizeof(x)) < 0)
        return 0.5;
    return (double)x / 4294967296.0;
}

static uint32_t random_u32(void)
{
    uint32_t x = 0x80000000u;
    (void)random_bytes(&x, sizeof(x));
    return x;
}

/* The 12-digit account of an IAM ARN, or NULL. */
static char *arn_account(const char *arn)
{
    const char *p = arn;
    for (int i = 0; p && i < 4; i++) {
        p = strchr(p, ':');
        if (p)
            p++;
    }
    if (!p || strlen(p) < 13 || p[12] != ':')
        return NULL;
    for (int i = 0; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return NULL;
    return str_ndup(p, 12);
}

/* ---- per-endpoint state ---- */

static struct clock_entry *clock_find(const struct aws_client *c, const char *key)
{
    for (size_t i = 0; i < c->n_clocks; i++)
        if (str_eq(c->clocks[i].key, key))
            return &c->clocks[i];
    return NULL;
}

static int64_t clock_get(const struct aws_client *c, const char *key)
{
    const struct clock_entry *e = clock_find(c, key);
    return e ? e->offset_ms : 0;
}

static void clock_set(struct aws_client *c, const char *key, int64_t offset)
{
    struct clock_entry *e = clock_find(c, key), *n;
    if (e) {
        e->offset_ms = offset;
        return;
    }
    /* Out of memory only costs another clock-skew retry later. */
    n = realloc(c->clocks, (c->n_clocks + 1) * sizeof(*n));
    if (!n)
        return;
    c->clocks = n;
    n[c->n_clocks].key = strdup(key);
    if (!n[c->n_clocks].key)
        return;
    n[c->n_clocks++].offset_ms = offset;
}

int64_t aws_client_clock_offset(const struct aws_client *c, const char *signing_name,
                                const char *region)
{
    char key[256];
    snprintf(key, sizeof(key), "%s/%s", signing_name ? signing_name : "", region ? region : "");
    return clock_get(c, key);
}

static struct retry_quota *quota_get(struct aws_account *a, const char *key)
{
    struct quota_entry *n;
    for (size_t i = 0; i < a->n_quotas; i++)
        if (str_eq(a->quotas[i].key, key))
            return &a->quotas[i].q;
    n = realloc(a->quotas, (a->n_quotas + 1) * sizeof(*n));
    if (!n)
        return NULL;
    a->quotas = n;
    n = &a->quotas[a->n_quotas];
    n->key = strdup(key);
    if (!n->key || retry_quota_init(&n->q, a->c->quota_capacity) < 0) {
        free(n->key);
        return NULL;
    }
    a->n_quotas++;
    return &n->q;
}

/* ---- client lifetime ---- */

static void client_free(struct aws_client *c)
{
    envp_free(c->envp);
    free(c->endpoint_url);
    awsmodels_free(c->models);
    retry_budgets_free(c->budgets);
    for (size_t i = 0; i < c->n_clocks; i++)
        free(c->clocks[i].key);
    free(c->clocks);
    free(c);
}

static void client_maybe_closed(struct aws_client *c)
{
    if (!c->closing || c->done_called || !c->http_closed || c->calls || c->handles_closing)
        return;
    for (struct aws_account *a = c->accounts; a; a = a->next)
        if (a->fetch)
            return;
    c->done_called = true;
    if (c->done)
        c->done(c->done_userdata);
    if (!c->accounts)
        client_free(c);
}

int aws_client_new(const struct aws_client_options *opts, struct aws_client **ret, struct perr *err)
{
    struct aws_client *c;
    struct http_client_options ho = { 0 };
    char ua[64];
    int r;

    if (!opts || !opts->loop)
        return perr_set(err, -EINVAL, "aws client: no event loop");
    if (opts->budget_share < 0 || opts->budget_share > 1)
        return perr_set(err, -EINVAL, "aws client: the API budget share must be in (0, 1]");
    if (opts->max_attempts < 0 || opts->retry_quota < 0 || opts->timeout_ms < 0)
        return perr_set(err, -EINVAL, "aws client: negative retry or timeout setting");
    c = calloc(1, sizeof(*c));
    if (!c)
        return perr_set(err, -ENOMEM, "out of memory");
    c->loop = opts->loop;
    c->getenv = opts->getenv;
    c->quota_capacity = opts->retry_quota;
    c->max_body = opts->max_body ? opts->max_body : HTTP_DEFAULT_MAX_BODY;
    c->policy.max_attempts = opts->max_attempts > 0 ? (unsigned)opts->max_attempts : 0;
    c->policy.random = opts->random ? opts->random : default_random;
    c->policy.random_ctx = opts->random ? opts->random_ctx : NULL;
    r = awsmodels_load_embedded(&c->models, err);
    if (r < 0)
        goto fail;
    r = build_envp(c);
    if (r < 0) {
        perr_set(err, r, "out of memory");
        goto fail;
    }
    r = retry_budgets_new(opts->budget_share, &c->budgets);
    if (r < 0) {
        perr_set(err, r, "aws client: cannot create the API budgets");
        goto fail;
    }
    if (opts->endpoint_url && !(c->endpoint_url = strdup(opts->endpoint_url))) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(ua, sizeof(ua), "plumb/%s", PLUMB_VERSION);
    ho.timeout_ms = opts->timeout_ms;
    ho.max_per_host = opts->max_per_host;
    ho.max_body = c->max_body;
    ho.ca_bundle = opts->ca_bundle ? opts->ca_bundle : env_lookup(c->envp, "AWS_CA_BUNDLE");
    ho.user_agent = opts->user_agent ? opts->user_agent : ua;
    r = http_client_new(c->loop, &ho, &c->http, err);
    if (r < 0)
        goto fail;
    *ret = c;
    return 0;
fail:
    client_free(c);
    return r;
}

struct retry_budgets *aws_client_budgets(struct aws_client *c)
{
    return c->budgets;
}

/* ---- calls: lifetime ---- */

static void account_release(struct aws_account *a);
static void step_creds(struct aws_call *call);
static void step_budget(struct aws_call *call);
static void call_finish(struct aws_call *call, int result);

static void clear_error(struct aws_call *call)
{
    free(call->e_code);
    free(call->e_message);
    free(call->e_request_id);
    free(call->e_action);
    call->e_code = call->e_message = call->e_request_id = call->e_action = NULL;
    memset(&call->err, 0, sizeof(call->err));
}

static void free_output(struct aws_call *call)
{
    if (call->sensitive)
        credsnet_json_wipe(call->output);
    json_decref(call->output);
    call->output = NULL;
}

static void free_request(struct aws_call *call)
{
    if (call->req && call->sensitive && call->req->body)
        explicit_bzero(call->req->body, call->req->body_len);
    call->req = awsrequest_free(call->req);
    endpoint_free(&call->ep);
    free(call->url);
    free(call->host);
    free(call->sign_path);
    free(call->key);
    call->url = call->host = call->sign_path = call->key = NULL;
}

static void on_call_closed(uv_handle_t *h)
{
    struct aws_call *call = h->data;
    struct aws_client *c = call->c;
    struct aws_account *a = call->a;

    free_request(call);
    free_output(call);
    if (call->sensitive && call->params)
        credsnet_json_wipe(call->params);
    json_decref(call->params);
    if (call->body)
        explicit_bzero(call->body, call->body_len);
    free(call->body);
    free(call->etag);
    free(call->region);
    clear_error(call);
    free(call);
    c->handles_closing--;
    account_release(a);
    client_maybe_closed(c);
}

static void unlink_call(struct aws_call *call)
{
    struct aws_client *c = call->c;
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

static void remove_waiter(struct aws_call *call)
{
    struct aws_call **p;
    if (!call->waiting)
        return;
    for (p = &call->a->waiters; *p; p = &(*p)->wait_next)
        if (*p == call) {
            *p = call->wait_next;
            break;
        }
    call->wait_next = NULL;
    call->waiting = false;
}

static void call_finish(struct aws_call *call, int result)
{
    if (call->finished)
        return;
    call->finished = true;
    remove_waiter(call);
    uv_timer_stop(&call->timer);
    call->result = result;
    if (result < 0 && call->stats)
        call->stats->errors++;
    call->fin(call, result);
    unlink_call(call);
    call->c->handles_closing++;
    uv_close((uv_handle_t *)&call->timer, on_call_closed);
}

static void on_timer(uv_timer_t *t);

static void arm(struct aws_call *call, enum call_state st, int64_t delay_ms)
{
    call->state = st;
    uv_timer_start(&call->timer, on_timer, (uint64_t)(delay_ms > 0 ? delay_ms : 0), 0);
}

/* Report result on a later loop iteration (the error fields must be set). */
static void finish_later(struct aws_call *call, int result)
{
    call->deferred = result;
    remove_waiter(call);
    arm(call, ST_FINISH, 0);
}

static void set_error(struct aws_call *call, enum aws_error_kind kind, const char *fmt, ...)
    PLUMB_PRINTF(3, 4);

/* An error that is not an AWS error response. */
static void set_error(struct aws_call *call, enum aws_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    clear_error(call);
    va_start(ap, fmt);
    call->e_message = str_vprintf(fmt, ap);
    va_end(ap);
    call->err.kind = kind;
    call->err.http_status = (int)call->status;
    call->err.message = call->e_message ? call->e_message : "out of memory";
}

static void fail(struct aws_call *call, int result, enum aws_error_kind kind, const char *fmt, ...)
    PLUMB_PRINTF(4, 5);

static void fail(struct aws_call *call, int result, enum aws_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_error(call, kind, "%s", msg);
    call_finish(call, result);
}

void aws_call_cancel(struct aws_call *call)
{
    if (!call || call->finished || call->cancelled)
        return;
    call->cancelled = true;
    if (call->state == ST_HTTP && call->http) {
        /* The HTTP callback reports it; a response that already arrived is
         * turned into -ECANCELED there. */
        http_cancel(call->http);
        return;
    }
    if (call->state == ST_FINISH)
        return;
    set_error(call, AWS_ERR_TRANSPORT, "cancelled");
    finish_later(call, -ECANCELED);
}

/* ---- building the request of a page ---- */

/* Whether a request is narrowed by filters, ids or a page size (EC2's
 * "unfiltered" budget family is for the others). */
static bool narrowed(const struct awsop *op, const json_t *params)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)params, k, v) {
        if (json_is_null(v))
            continue;
        if (str_has_suffix(k, "Ids") || str_has_suffix(k, "Names") || str_eq(k, "Filters") ||
            str_eq(k, "Filter") || str_eq(k, "NextToken") ||
            (op->paginator && str_eq(k, op->paginator->limit_key)))
            return true;
    }
    return false;
}

/* Split ep->url into host[:port] and base path. */
static int split_url(const char *url, char **ret_host, const char **ret_path)
{
    const char *h = strstr(url, "://"), *slash;
    if (!h)
        return -EINVAL;
    h += 3;
    slash = strchr(h, '/');
    *ret_host = slash ? str_ndup(h, (size_t)(slash - h)) : strdup(h);
    *ret_path = slash ? slash : "";
    return *ret_host ? 0 : -ENOMEM;
}

static int prepare(struct aws_call *call, struct perr *err)
{
    const struct awsmodel *m = call->m;
    struct endpoint_service svc = {
        .service_id = m->service_id,
        .endpoint_prefix = m->endpoint_prefix,
        .signing_name = m->signing_name,
        .global = m->global_endpoint != NULL,
        .global_endpoint = m->global_endpoint,
    };
    struct endpoint_params ep = {
        .service = &svc,
        .region = call->region,
        .envp = call->c->envp,
        .config_global_url = call->c->endpoint_url,
    };
    bool s3 = str_eq(m->endpoint_prefix, "s3");
    bool s3control = str_eq(m->service_id, "S3 Control");
    const char *base, *path;
    int r;

    free_request(call);
    r = awsproto_build_request(m, call->op, call->params, &call->req, err);
    if (r < 0)
        return r;
    if (s3)
        ep.bucket = json_string_value(json_object_get(call->params, "Bucket"));
    if (s3control)
        ep.account_id = json_string_value(json_object_get(call->params, "AccountId"));
    r = endpoint_resolve(&ep, &call->ep, err);
    if (r < 0)
        return r;
    r = split_url(call->ep.url, &call->host, &base);
    if (r < 0)
        return perr_set(err, r, "%s: bad endpoint URL", m->service);
    path = call->req->path;
    /* The serialiser always writes /{Bucket}/...; a virtual-hosted
     * endpoint already carries the bucket in the host name. */
    if (s3 && ep.bucket && !call->ep.s3_path_style) {
        size_t n = strlen(ep.bucket);
        if (path[0] == '/' && strncmp(path + 1, ep.bucket, n) == 0 &&
            (path[n + 1] == '/' || path[n + 1] == '\0'))
            path += n + 1;
        if (!*path)
            path = "/";
    }
    /* A hostPrefix ("{AccountId}.") is applied to default endpoints only;
     * S3 Control's endpoint resolution puts the account in the host
     * itself, and an overridden endpoint (a local emulator) is used as
     * given, as with the SDKs' disable_host_prefix_injection. */
    if (call->req->host_prefix && !call->ep.overridden && !s3control) {
        char *h = str_printf("%s%s", call->req->host_prefix, call->host);
        if (!h)
            return perr_set(err, -ENOMEM, "out of memory");
        free(call->host);
        call->host = h;
    }
    call->sign_path = str_printf("%s%s", base, path);
    if (!call->sign_path)
        return perr_set(err, -ENOMEM, "out of memory");
    {
        const char *scheme_end = strstr(call->ep.url, "://");
        call->url = str_printf("%.*s://%s%s%s%s", (int)(scheme_end - call->ep.url), call->ep.url,
                               call->host, call->sign_path, call->req->query[0] ? "?" : "",
                               call->req->query);
    }
    call->key = str_printf("%s/%s", call->ep.signing_name, call->ep.signing_region);
    if (!call->url || !call->key)
        return perr_set(err, -ENOMEM, "out of memory");
    call->family =
        retry_budget_family(m->endpoint_prefix, call->op->name, narrowed(call->op, call->params));
    return 0;
}

/* ---- the attempt ---- */

static void on_http(struct http_call *hc, struct http_response *resp, void *userdata);

static const struct aws_credentials *signing_creds(const struct aws_call *call)
{
    return call->creds ? call->creds : call->a->creds;
}

static void step_send(struct aws_call *call)
{
    const struct awsrequest *q = call->req;
    bool sign = !call->no_sign && !q->unsigned_request;
    struct sigv4_header *sh = NULL;
    struct sigv4_result sr = { 0 };
    const char **hdrs = NULL;
    char **owned = NULL;
    size_t n = 0, no = 0;
    struct perr err = { 0 };
    int r = -ENOMEM;

    sh = calloc(q->n_headers + 1, sizeof(*sh));
    hdrs = calloc(q->n_headers + 6, sizeof(*hdrs));
    owned = calloc(q->n_headers + 6, sizeof(*owned));
    if (!sh || !hdrs || !owned)
        goto oom;
    sh[0].name = "Host";
    sh[0].value = call->host;
    for (size_t i = 0; i < q->n_headers; i++) {
        sh[i + 1].name = q->headers[i].name;
        sh[i + 1].value = q->headers[i].value;
    }
    if (sign) {
        const struct aws_credentials *cr = signing_creds(call);
        struct sigv4_credentials sc = {
            .access_key_id = cr ? cr->access_key_id : NULL,
            .secret_access_key = cr ? cr->secret_access_key : NULL,
            .session_token = cr ? cr->session_token : NULL,
        };
        struct sigv4_request sq = {
            .method = q->method,
            .path = call->sign_path,
            .query = q->query,
            .headers = sh,
            .n_headers = q->n_headers + 1,
            .body = q->body,
            .body_len = q->body_len,
        };
        struct sigv4_options so = {
            .region = call->ep.signing_region,
            .service = call->ep.signing_name,
            .time_ms = time_now_ms() + call->rs.clock_offset_ms,
            .s3 = str_eq(call->ep.signing_name, "s3"),
        };
        r = sigv4_sign_headers(&sq, &sc, &so, &sr, &err);
        if (r < 0) {
            fail(call, r, AWS_ERR_CLIENT, "cannot sign the request: %s", err.msg);
            goto out;
        }
    }
    for (size_t i = 0; i < q->n_headers + 1; i++) {
        char *h = str_printf("%s: %s", sh[i].name, sh[i].value);
        if (!h)
            goto oom;
        owned[no++] = h;
        hdrs[n++] = h;
    }
    for (size_t i = 0; i < sr.n_headers; i++) {
        char *h = str_printf("%s: %s", sr.headers[i].name, sr.headers[i].value);
        if (!h)
            goto oom;
        owned[no++] = h;
        hdrs[n++] = h;
    }
    {
        struct http_request hr = {
            .method = q->method,
            .url = call->url,
            .headers = hdrs,
            .body = q->body,
            .body_len = q->body_len,
            .max_body = call->c->max_body,
        };
        r = http_send(call->c->http, &hr, on_http, call, &call->http, &err);
    }
    if (r < 0) {
        fail(call, r, r == -ESHUTDOWN ? AWS_ERR_TRANSPORT : AWS_ERR_CLIENT,
             "cannot send the request: %s", err.msg);
        goto out;
    }
    call->state = ST_HTTP;
    if (call->stats)
        call->stats->calls++;
    goto out;
oom:
    fail(call, -ENOMEM, AWS_ERR_TRANSPORT, "out of memory");
out:
    /* The header copies may hold the session token. */
    for (size_t i = 0; i < no; i++)
        str_free_secret(owned[i]);
    free(owned);
    free(hdrs);
    free(sh);
    sigv4_result_free(&sr);
}

static void budget_key(const struct aws_call *call, struct retry_budget_key *k)
{
    k->account = call->a->id ? call->a->id : call->a->budget_key;
    k->region = call->ep.signing_region;
    k->service = call->m->endpoint_prefix;
    k->family = call->family;
}

static void step_budget(struct aws_call *call)
{
    struct retry_budget_key k;
    int64_t wait;

    budget_key(call, &k);
    wait = retry_budget_acquire(call->c->budgets, time_mono_ms(), &k);
    if (wait < 0) {
        fail(call, (int)wait, AWS_ERR_TRANSPORT, "API budget: %s", strerror((int)-wait));
        return;
    }
    if (wait > 0) {
        if (!call->waited && call->stats)
            call->stats->budget_waits++;
        call->waited = true;
        arm(call, ST_BUDGET, wait);
        return;
    }
    step_send(call);
}

static int account_creds(struct aws_account *a, struct aws_call *call, struct perr *err);

static void step_creds(struct aws_call *call)
{
    struct perr err = { 0 };
    int r;

    call->waited = false;
    if (call->no_sign || call->req->unsigned_request || call->creds) {
        step_budget(call);
        return;
    }
    r = account_creds(call->a, call, &err);
    if (r < 0)
        fail(call, r, AWS_ERR_AUTH, "%s", err.msg);
    else if (r == 0)
        step_budget(call);
    /* r == 1: waiting for the fetch in progress */
}

static void on_timer(uv_timer_t *t)
{
    struct aws_call *call = t->data;
    switch (call->state) {
    case ST_KICK:
    case ST_BACKOFF: step_creds(call); break;
    case ST_BUDGET: step_budget(call); break;
    case ST_FINISH: call_finish(call, call->deferred); break;
    default: break;
    }
}

/* ---- the response ---- */

static bool is_not_found(const struct awserr *e)
{
    const char *c = e->code;
    return e->status == 404 || str_has_prefix(c, "NoSuch") || str_has_suffix(c, "NotFound") ||
           str_has_suffix(c, "NotFoundException") || str_has_suffix(c, "NotFoundError") ||
           str_has_suffix(c, "NotFoundFault");
}

static int error_from_awserr(struct aws_call *call, const struct awserr *e)
{
    enum aws_error_kind kind;
    int result;

    clear_error(call);
    if (awserr_is_throttling(e)) {
        kind = AWS_ERR_THROTTLED;
        result = -EBUSY;
    } else if (awserr_code_in(e, auth_codes)) {
        kind = AWS_ERR_AUTH;
        result = -EPERM;
    } else if (awserr_is_access_denied(e)) {
        kind = AWS_ERR_ACCESS_DENIED;
        result = -EACCES;
        if (awserr_iam_action(e, call->m, call->op, &call->e_action) < 0)
            call->e_action = NULL;
    } else if (is_not_found(e)) {
        kind = AWS_ERR_NOT_FOUND;
        result = -ENOENT;
    } else if (e->status >= 500) {
        kind = AWS_ERR_SERVER;
        result = -EIO;
    } else {
        kind = AWS_ERR_CLIENT;
        result = -EREMOTEIO;
    }
    call->e_code = strdup(e->code);
    call->e_message = strdup(e->message);
    call->e_request_id = e->request_id ? strdup(e->request_id) : NULL;
    call->err.kind = kind;
    call->err.http_status = e->status;
    call->err.code = call->e_code;
    call->err.message = call->e_message ? call->e_message : "";
    call->err.request_id = call->e_request_id;
    call->err.iam_action = call->e_action;
    return result;
}

static void handle_page(struct aws_call *call);

static void on_http(struct http_call *hc, struct http_response *resp, void *userdata)
{
    struct aws_call *call = userdata;
    struct aws_client *c = call->c;
    struct awsheader *hv = NULL;
    struct awsresponse ar = { 0 };
    struct awserr *ae = NULL;
    struct retry_outcome o = { 0 };
    struct retry_decision d = { 0 };
    struct retry_budget_key bk;
    struct retry_quota *quota;
    struct perr perr = { 0 };
    const char *date;
    int parsed = 0, r;
    bool raw_ok;

    call->http = NULL;
    if (call->cancelled || resp->error == -ECANCELED) {
        set_error(call, AWS_ERR_TRANSPORT, "cancelled");
        call_finish(call, -ECANCELED);
        return;
    }
    call->status = resp->status;
    o.transport_error = resp->error;
    o.status = resp->status;
    o.local_time_ms = time_now_ms();
    date = http_response_header(resp, "date");
    if (date && time_parse_http(date, &o.server_time_ms) < 0)
        o.server_time_ms = 0;
    call->server_date_ms = o.server_time_ms;
    call->local_ms = o.local_time_ms;

    raw_ok = call->raw && resp->error == 0 &&
             ((resp->status >= 200 && resp->status < 300) || resp->status == 304);
    if (resp->error == 0 && !raw_ok) {
        hv = calloc(resp->n_headers + 1, sizeof(*hv));
        if (!hv) {
            fail(call, -ENOMEM, AWS_ERR_TRANSPORT, "out of memory");
            return;
        }
        for (size_t i = 0; i < resp->n_headers; i++) {
            hv[i].name = resp->headers[i].name;
            hv[i].value = resp->headers[i].value;
        }
        ar.status = (int)resp->status;
        ar.headers = hv;
        ar.n_headers = resp->n_headers;
        ar.body = resp->body;
        ar.body_len = resp->body_len;
        free_output(call);
        if (call->raw)
            parsed = awserr_parse(call->m, call->op, &ar, &ae, &perr) < 0 ? -ENOMEM : 1;
        else
            parsed = awsproto_parse_response(call->m, call->op, &ar, &call->output, &ae, &perr);
        free(hv);
        if (call->sensitive)
            explicit_bzero(resp->body, resp->body_len);
        if (parsed == -ENOMEM) {
            fail(call, -ENOMEM, AWS_ERR_TRANSPORT, "out of memory");
            return;
        }
        if (parsed < 0) {
            /* A body the model cannot read is not retried: it is the same
             * body next time. */
            o.transport_error = -EBADMSG;
        }
        if (ae)
            o.error_code = ae->code;
    }
    if (raw_ok)
        o.status = 200; /* 304 Not Modified is a success here */

    quota = quota_get(call->a, call->key);
    if (!quota) {
        awserr_free(ae);
        fail(call, -ENOMEM, AWS_ERR_TRANSPORT, "out of memory");
        return;
    }
    r = retry_after_attempt(&c->policy, quota, &call->rs, &o, &d);
    if (r < 0) {
        awserr_free(ae);
        fail(call, r, AWS_ERR_TRANSPORT, "retry: invalid policy");
        return;
    }
    budget_key(call, &bk);
    if (d.cls == RETRY_THROTTLE) {
        if (call->stats)
            call->stats->throttled++;
        retry_budget_throttled(c->budgets, time_mono_ms(), &bk);
    } else if (d.cls == RETRY_OK) {
        retry_budget_succeeded(c->budgets, time_mono_ms(), &bk);
    } else if (d.cls == RETRY_CLOCK_SKEW) {
        clock_set(c, call->key, d.clock_offset_ms);
    }
    if (d.retry) {
        awserr_free(ae);
        free_output(call);
        if (call->stats)
            call->stats->retries++;
        arm(call, ST_BACKOFF, d.delay_ms);
        return;
    }
    if (d.cls == RETRY_OK && parsed == 0) {
        awserr_free(ae);
        if (call->raw) {
            const char *etag = http_response_header(resp, "etag");
            call->body = http_response_take_body(resp, &call->body_len);
            if (etag)
                call->etag = strdup(etag);
            if (!call->body || (etag && !call->etag)) {
                fail(call, -ENOMEM, AWS_ERR_TRANSPORT, "out of memory");
                return;
            }
        }
        handle_page(call);
        return;
    }
    /* Final failure. */
    if (ae) {
        int result = error_from_awserr(call, ae);
        awserr_free(ae);
        call_finish(call, result);
    } else if (resp->error < 0) {
        fail(call, resp->error, AWS_ERR_TRANSPORT, "%s (%s)", resp->error_msg, d.reason);
    } else {
        fail(call, -EBADMSG, AWS_ERR_TRANSPORT, "cannot parse the %s response (HTTP %ld): %s",
             call->op->name, resp->status, perr.msg);
    }
}

static void handle_page(struct aws_call *call)
{
    struct perr err = { 0 };
    json_t *next = NULL;
    int r;

    if (call->page_cb) {
        struct aws_page page = { .output = call->output, .page = call->page };
        r = call->page_cb(&page, call->userdata);
        if (r < 0) {
            set_error(call, AWS_ERR_NONE, "stopped by the caller");
            call_finish(call, r);
            return;
        }
    }
    if (call->cancelled) {
        set_error(call, AWS_ERR_TRANSPORT, "cancelled");
        call_finish(call, -ECANCELED);
        return;
    }
    if (!(call->flags & AWS_CALL_ALL_PAGES) || !call->op->paginator) {
        call_finish(call, 0);
        return;
    }
    r = paginate_next(call->op->paginator, call->params, call->output, &next, &err);
    if (r == 1) {
        call_finish(call, 0);
        return;
    }
    if (r < 0) {
        fail(call, r, r == -ENOMEM ? AWS_ERR_TRANSPORT : AWS_ERR_SERVER, "%s page %zu: %s",
             call->op->name, call->page + 1,
             r == -ELOOP ? "the service returned the same page token twice" : err.msg);
        return;
    }
    if (call->page + 1 >= AWS_MAX_PAGES) {
        json_decref(next);
        fail(call, -E2BIG, AWS_ERR_SERVER, "%s: more than %d pages", call->op->name, AWS_MAX_PAGES);
        return;
    }
    json_decref(call->params);
    call->params = next;
    call->page++;
    r = prepare(call, &err);
    if (r < 0) {
        fail(call, r, AWS_ERR_CLIENT, "%s page %zu: %s", call->op->name, call->page + 1, err.msg);
        return;
    }
    retry_state_init(&call->rs, clock_get(call->c, call->key));
    step_creds(call);
}

/* ---- starting calls ---- */

struct call_spec {
    const char *service;
    const char *operation;
    const char *region;
    const json_t *params;
    unsigned flags;
    struct aws_stats *stats;
    const struct aws_credentials *creds;
    bool no_sign, raw, sensitive;
    call_fin_fn fin;
    aws_page_cb page_cb;
    aws_done_cb done_cb;
    void *userdata;
};

static int call_start(struct aws_account *a, const struct call_spec *s, struct aws_call **ret,
                      struct perr *err)
{
    struct aws_client *c = a->c;
    struct aws_call *call;
    int r;

    if (c->closing || a->freed)
        return perr_set(err, -ESHUTDOWN, "the AWS client is shutting down");
    if (!s->service || !s->operation)
        return perr_set(err, -EINVAL, "aws call: service and operation are required");
    if (!s->region || !*s->region)
        return perr_set(err, -EINVAL, "%s:%s: no region", s->service, s->operation);
    if (s->params && !json_is_object(s->params))
        return perr_set(err, -EINVAL, "%s:%s: parameters must be a JSON object", s->service,
                        s->operation);
    call = calloc(1, sizeof(*call));
    if (!call)
        return perr_set(err, -ENOMEM, "out of memory");
    call->c = c;
    call->a = a;
    call->m = awsmodels_get(c->models, s->service);
    if (!call->m) {
        r = perr_set(err, -ENOENT, "plumb has no model of the AWS service '%s'", s->service);
        goto fail;
    }
    call->op = awsmodel_op(call->m, s->operation);
    if (!call->op) {
        r = perr_set(err, -ENOENT, "plumb's model of %s has no operation %s", s->service,
                     s->operation);
        goto fail;
    }
    call->region = strdup(s->region);
    call->params = s->params ? json_deep_copy(s->params) : json_object();
    if (!call->region || !call->params) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    call->flags = s->flags;
    call->stats = s->stats;
    call->creds = s->creds;
    call->no_sign = s->no_sign;
    call->raw = s->raw;
    call->sensitive = s->sensitive;
    call->fin = s->fin;
    call->page_cb = s->page_cb;
    call->done_cb = s->done_cb;
    call->userdata = s->userdata;
    r = prepare(call, err);
    if (r < 0) {
        perr_prefix(err, "%s:%s: ", s->service, s->operation);
        goto fail;
    }
    retry_state_init(&call->rs, clock_get(c, call->key));
    r = uv_timer_init(c->loop, &call->timer);
    if (r < 0) {
        r = perr_set(err, -EIO, "cannot create a timer: %s", uv_strerror(r));
        goto fail;
    }
    call->timer.data = call;
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    a->refs++;
    /* Start from the loop so no callback runs inside aws_call(). */
    arm(call, ST_KICK, 0);
    if (ret)
        *ret = call;
    return 0;
fail:
    free_request(call);
    if (call->sensitive && call->params)
        credsnet_json_wipe(call->params);
    json_decref(call->params);
    free(call->region);
    free(call);
    return r;
}

static void public_fin(struct aws_call *call, int result)
{
    call->done_cb(result, result < 0 ? &call->err : NULL, call->userdata);
}

int aws_call(struct aws_account *a, const struct aws_request *req, aws_page_cb page_cb,
             aws_done_cb done_cb, void *userdata, struct aws_call **ret_call, struct perr *err)
{
    struct call_spec s = { 0 };
    if (!a || !req || !done_cb)
        return perr_set(err, -EINVAL, "aws call: missing arguments");
    s.service = req->service;
    s.operation = req->operation;
    s.region = req->region;
    s.params = req->params;
    s.flags = req->flags;
    s.stats = req->stats;
    s.fin = public_fin;
    s.page_cb = page_cb;
    s.done_cb = done_cb;
    s.userdata = userdata;
    return call_start(a, &s, ret_call, err);
}

/* A one-line description of a failed call for perr messages. */
static void describe_error(const struct aws_call *call, int result, char *buf, size_t size)
{
    const struct aws_error *e = &call->err;
    if (e->code)
        snprintf(buf, size, "%s: %s (HTTP %d%s%s)", e->code, e->message, e->http_status,
                 e->request_id ? ", request id " : "", e->request_id ? e->request_id : "");
    else if (e->message)
        snprintf(buf, size, "%s", e->message);
    else
        snprintf(buf, size, "%s", strerror(-result));
}

/* ---- STS for the credential steps ---- */

struct sts_ctx {
    credsnet_sts_cb cb;
    void *userdata;
};

static void sts_fin(struct aws_call *call, int result)
{
    struct sts_ctx *x = call->userdata;
    struct perr err = { .code = result };
    if (result < 0)
        describe_error(call, result, err.msg, sizeof(err.msg));
    x->cb(result, result < 0 ? NULL : call->output, result < 0 ? &err : NULL, x->userdata);
    free(x);
}

static int sts_call(void *ctx, const char *operation, const char *region, json_t *params,
                    const struct aws_credentials *creds, credsnet_sts_cb cb, void *userdata,
                    void **ret_handle, struct perr *err)
{
    struct aws_account *a = ctx;
    struct sts_ctx *x = calloc(1, sizeof(*x));
    struct call_spec s = {
        .service = "sts",
        .operation = operation,
        .region = region,
        .params = params,
        .creds = creds,
        .no_sign = creds == NULL,
        .sensitive = true,
        .fin = sts_fin,
        .userdata = x,
    };
    struct aws_call *call;
    int r;

    if (!x)
        return perr_set(err, -ENOMEM, "out of memory");
    x->cb = cb;
    x->userdata = userdata;
    r = call_start(a, &s, &call, err);
    if (r < 0) {
        free(x);
        return r;
    }
    *ret_handle = call;
    return 0;
}

static void sts_cancel(void *ctx, void *handle)
{
    aws_call_cancel(handle);
}

/* ---- accounts and credentials ---- */

static void account_free_now(struct aws_account *a)
{
    struct aws_client *c = a->c;
    if (a->prev)
        a->prev->next = a->next;
    else
        c->accounts = a->next;
    if (a->next)
        a->next->prev = a->prev;
    free(a->sts_region);
    free(a->expected);
    free(a->role.role_arn);
    free(a->role.session_name);
    free(a->role.external_id);
    creds_plan_free(a->plan);
    free(a->source);
    free(a->budget_key);
    free(a->id);
    aws_credentials_free(a->creds);
    for (size_t i = 0; i < a->n_quotas; i++)
        free(a->quotas[i].key);
    free(a->quotas);
    free(a);
    if (c->done_called && !c->accounts)
        client_free(c);
}

static void account_maybe_free(struct aws_account *a)
{
    if (a->freed && a->refs == 0 && !a->fetch && !a->refresh_open)
        account_free_now(a);
}

static void account_release(struct aws_account *a)
{
    a->refs--;
    account_maybe_free(a);
}

static void on_refresh_closed(uv_handle_t *h)
{
    struct aws_account *a = h->data;
    struct aws_client *c = a->c;
    a->refresh_open = false;
    c->handles_closing--;
    account_maybe_free(a);
    client_maybe_closed(c);
}

static void close_refresh(struct aws_account *a)
{
    if (!a->refresh_open || uv_is_closing((uv_handle_t *)&a->refresh))
        return;
    a->c->handles_closing++;
    uv_close((uv_handle_t *)&a->refresh, on_refresh_closed);
}

static int start_fetch(struct aws_account *a, struct perr *err);

static void on_refresh(uv_timer_t *t)
{
    struct aws_account *a = t->data;
    struct perr err = { 0 };
    if (a->fetch || a->freed || a->c->closing)
        return;
    if (start_fetch(a, &err) < 0)
        uv_timer_start(&a->refresh, on_refresh, REFRESH_RETRY_MS, 0);
}

static void schedule_refresh(struct aws_account *a, int64_t at_ms)
{
    int64_t now = time_now_ms();
    if (!a->refresh_open || a->freed || a->c->closing)
        return;
    uv_timer_start(&a->refresh, on_refresh, (uint64_t)(at_ms > now ? at_ms - now : 0), 0);
}

static void fetch_done(int result, struct aws_credentials *creds, const struct perr *err,
                       void *userdata)
{
    struct aws_account *a = userdata;
    struct aws_client *c = a->c;
    struct aws_call *w, *next;
    int64_t now = time_now_ms();

    a->fetch = NULL;
    if (result >= 0) {
        aws_credentials_free(a->creds);
        a->creds = creds;
        a->fail_until = 0;
        if (creds->expiration_ms > 0)
            schedule_refresh(a, creds_refresh_at(creds->expiration_ms, now, random_u32()));
    } else if (result != -ECANCELED) {
        perr_set(&a->fail_err, result, "credentials (%s): %s", a->source,
                 err ? err->msg : strerror(-result));
        a->fail_until = now + AWS_CREDS_RETRY_MS;
        /* Still-valid credentials are kept; try again later. */
        if (a->creds && a->creds->expiration_ms > 0)
            schedule_refresh(
                a, MIN(now + REFRESH_RETRY_MS, a->creds->expiration_ms - CREDS_USABLE_MARGIN_MS));
    }
    w = a->waiters;
    a->waiters = NULL;
    for (; w; w = next) {
        next = w->wait_next;
        w->wait_next = NULL;
        w->waiting = false;
        if (result >= 0)
            step_budget(w);
        else if (result == -ECANCELED)
            fail(w, -ECANCELED, AWS_ERR_TRANSPORT, "cancelled");
        else
            fail(w, result, AWS_ERR_AUTH, "%s", a->fail_err.msg);
    }
    a->refs--;
    account_maybe_free(a);
    client_maybe_closed(c);
}

static int start_fetch(struct aws_account *a, struct perr *err)
{
    struct aws_client *c = a->c;
    struct credsnet_options o = {
        .http = c->http,
        .sts = &a->sts,
        .sts_region = a->sts_region,
        .role = a->role.role_arn ? &a->role : NULL,
    };
    int r;

    r = credsnet_fetch(a->plan, &o, fetch_done, a, &a->fetch, err);
    if (r < 0)
        return r;
    a->refs++;
    return 0;
}

/* 0: usable credentials now; 1: call queued until the fetch ends; < 0. */
static int account_creds(struct aws_account *a, struct aws_call *call, struct perr *err)
{
    int64_t now = time_now_ms();
    int r;

    if (a->creds && creds_usable(a->creds, now))
        return 0;
    if (!credsnet_needed(a->plan, a->role.role_arn ? &a->role : NULL))
        return perr_set(err, -EKEYEXPIRED, "credentials (%s) expired", a->source);
    if (!a->fetch && a->fail_until > now) {
        *err = a->fail_err;
        return a->fail_err.code;
    }
    if (!a->fetch) {
        r = start_fetch(a, err);
        if (r < 0) {
            perr_prefix(err, "credentials (%s): ", a->source);
            return r;
        }
    }
    call->state = ST_CREDS;
    call->waiting = true;
    call->wait_next = a->waiters;
    a->waiters = call;
    return 1;
}

static int dup_opt(char **dst, const char *src)
{
    if (!src || !*src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

int aws_account_new(struct aws_client *c, const struct aws_account_options *opts,
                    struct aws_account **ret, struct perr *err)
{
    struct aws_account_options none = { 0 };
    struct creds_options co = { .envp = c->envp, .now_ms = time_now_ms() };
    struct aws_account *a;
    char *acct = NULL;
    int r;

    if (c->closing)
        return perr_set(err, -ESHUTDOWN, "the AWS client is shutting down");
    if (!opts)
        opts = &none;
    a = calloc(1, sizeof(*a));
    if (!a)
        return perr_set(err, -ENOMEM, "out of memory");
    a->c = c;
    a->sts.call = sts_call;
    a->sts.cancel = sts_cancel;
    a->sts.ctx = a;
    if (dup_opt(&a->sts_region, opts->sts_region) < 0 ||
        dup_opt(&a->expected, opts->expected_account) < 0 ||
        dup_opt(&a->role.role_arn, opts->role_arn) < 0 ||
        dup_opt(&a->role.external_id, opts->external_id) < 0 ||
        dup_opt(&a->role.session_name, opts->session_name ? opts->session_name : "plumb") < 0) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    co.profile = opts->profile && *opts->profile ? opts->profile : NULL;
    r = creds_resolve(&co, &a->plan, err);
    if (r < 0)
        goto fail;
    a->source = credsnet_describe(a->plan, a->role.role_arn ? &a->role : NULL);
    if (a->role.role_arn)
        acct = arn_account(a->role.role_arn);
    a->budget_key = a->expected ? strdup(a->expected)
                    : acct
                        ? strdup(acct)
                        : str_printf("profile:%s", a->plan->profile ? a->plan->profile : "default");
    free(acct);
    if (!a->source || !a->budget_key) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (!credsnet_needed(a->plan, a->role.role_arn ? &a->role : NULL)) {
        a->creds = aws_credentials_copy(a->plan->creds);
        if (!a->creds) {
            r = perr_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    r = uv_timer_init(c->loop, &a->refresh);
    if (r < 0) {
        r = perr_set(err, -EIO, "cannot create a timer: %s", uv_strerror(r));
        goto fail;
    }
    a->refresh.data = a;
    a->refresh_open = true;
    /* The refresh timer alone must not keep the loop running. */
    uv_unref((uv_handle_t *)&a->refresh);
    a->next = c->accounts;
    if (c->accounts)
        c->accounts->prev = a;
    c->accounts = a;
    *ret = a;
    return 0;
fail:
    free(a->sts_region);
    free(a->expected);
    free(a->role.role_arn);
    free(a->role.external_id);
    free(a->role.session_name);
    creds_plan_free(a->plan);
    free(a->source);
    free(a->budget_key);
    aws_credentials_free(a->creds);
    free(a);
    return r;
}

const char *aws_account_source(const struct aws_account *a)
{
    return a->source;
}

void aws_account_free(struct aws_account *a)
{
    if (!a || a->freed)
        return;
    a->freed = true;
    for (struct aws_call *call = a->c->calls; call; call = call->next)
        if (call->a == a)
            aws_call_cancel(call);
    if (a->fetch)
        credsnet_cancel(a->fetch);
    close_refresh(a);
    account_maybe_free(a);
}

/* ---- client close ---- */

static void on_http_closed(void *userdata)
{
    struct aws_client *c = userdata;
    c->http_closed = true;
    client_maybe_closed(c);
}

void aws_client_close(struct aws_client *c, void (*done)(void *userdata), void *userdata)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    c->done = done;
    c->done_userdata = userdata;
    for (struct aws_call *call = c->calls; call; call = call->next)
        aws_call_cancel(call);
    for (struct aws_account *a = c->accounts; a; a = a->next) {
        if (a->fetch)
            credsnet_cancel(a->fetch);
        close_refresh(a);
    }
    /* Cancels what is still in flight (IMDS, container) and closes the
     * HTTP client's handles. */
    http_client_close(c->http, on_http_closed, c);
}

/* ---- identity ---- */

struct identify_ctx {
    aws_identity_cb cb;
    void *userdata;
};

static void identify_fin(struct aws_call *call, int result)
{
    struct identify_ctx *x = call->userdata;
    struct aws_account *a = call->a;
    struct perr err = { .code = result };
    struct aws_identity id = { 0 };
    char detail[480];

    if (result < 0) {
        describe_error(call, result, detail, sizeof(detail));
        if (call->err.code)
            snprintf(err.msg, sizeof(err.msg), "sts:GetCallerIdentity with %s: %s", a->source,
                     detail);
        else
            snprintf(err.msg, sizeof(err.msg), "%s", detail);
        x->cb(result, NULL, &err, x->userdata);
        goto out;
    }
    id.account = json_string_value(json_object_get(call->output, "Account"));
    id.arn = json_string_value(json_object_get(call->output, "Arn"));
    if (!id.account || !id.arn) {
        perr_set(&err, -EBADMSG, "sts:GetCallerIdentity: the answer has no Account or Arn");
        x->cb(err.code, NULL, &err, x->userdata);
        goto out;
    }
    if (a->expected && !str_eq(a->expected, id.account)) {
        perr_set(&err, -EACCES,
                 "the credentials from %s belong to account %s, but the configuration expects "
                 "account %s",
                 a->source, id.account, a->expected);
        x->cb(err.code, NULL, &err, x->userdata);
        goto out;
    }
    if (str_replace(&a->id, id.account) < 0) {
        perr_set(&err, -ENOMEM, "out of memory");
        x->cb(err.code, NULL, &err, x->userdata);
        goto out;
    }
    id.source = a->source;
    id.expires_ms = a->creds ? a->creds->expiration_ms : 0;
    id.clock_skew_ms = call->server_date_ms ? call->server_date_ms - call->local_ms : 0;
    x->cb(0, &id, NULL, x->userdata);
out:
    free(x);
}

int aws_account_identify(struct aws_account *a, aws_identity_cb cb, void *userdata)
{
    struct identify_ctx *x;
    struct perr err = { 0 };
    struct call_spec s = {
        .service = "sts",
        .operation = "GetCallerIdentity",
        .fin = identify_fin,
    };
    int r;

    if (!a || !cb)
        return -EINVAL;
    s.region = a->sts_region     ? a->sts_region
               : a->plan->region ? a->plan->region
                                 : CREDSNET_DEFAULT_STS_REGION;
    x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->cb = cb;
    x->userdata = userdata;
    s.userdata = x;
    r = call_start(a, &s, NULL, &err);
    if (r < 0)
        free(x);
    return r;
}

/* ---- S3 objects ---- */

struct object_ctx {
    aws_object_cb cb;
    void *userdata;
};

static void object_fin(struct aws_call *call, int result)
{
    struct object_ctx *x = call->userdata;
    struct aws_object obj = { 0 };
    if (result < 0) {
        x->cb(result, NULL, &call->err, x->userdata);
    } else {
        obj.not_modified = call->status == 304;
        obj.body = call->body ? call->body : "";
        obj.len = call->body ? call->body_len : 0;
        obj.etag = call->etag;
        x->cb(0, &obj, NULL, x->userdata);
    }
    free(x);
}

int aws_s3_get_object(struct aws_account *a, const char *region, const char *bucket,
                      const char *key, const char *if_none_match, struct aws_stats *stats,
                      aws_object_cb cb, void *userdata, struct perr *err)
{
    struct object_ctx *x;
    json_t *params;
    struct call_spec s = {
        .service = "s3",
        .operation = "GetObject",
        .region = region,
        .stats = stats,
        .raw = true,
        .fin = object_fin,
    };
    int r;

    if (!a || !bucket || !key || !cb)
        return perr_set(err, -EINVAL, "s3 get object: missing arguments");
    params = json_pack("{s:s, s:s}", "Bucket", bucket, "Key", key);
    x = calloc(1, sizeof(*x));
    if (!params || !x ||
        (if_none_match &&
         json_object_set_new(params, "IfNoneMatch", json_string(if_none_match)) < 0)) {
        json_decref(params);
        free(x);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    x->cb = cb;
    x->userdata = userdata;
    s.params = params;
    s.userdata = x;
    r = call_start(a, &s, NULL, err);
    json_decref(params);
    if (r < 0)
        free(x);
    return r;
}

const char *aws_partition_of(const char *region)
{
    return endpoint_partition(region);
}
