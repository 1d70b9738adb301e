#include "credsnet.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

enum stage {
    STAGE_IMDS_TOKEN,
    STAGE_IMDS_ROLE,
    STAGE_IMDS_CREDS,
    STAGE_CONTAINER,
    STAGE_WEB_IDENTITY,
    STAGE_ROLE,
};

struct credsnet {
    const struct creds_plan *plan;
    struct credsnet_options o;
    credsnet_done_cb cb;
    void *userdata;
    enum stage stage;
    size_t role;                 /* next AssumeRole step; n_roles = the caller's */
    struct aws_credentials *cur; /* credentials of the last finished step */
    char *imds_token;            /* secret */
    char *imds_role;
    struct http_call *http;
    void *sts;
    bool cancelled;
};

void credsnet_json_wipe(json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;

    if (json_is_string(v)) {
        /* jansson offers no way to wipe its copy; the buffer is ours to
         * overwrite because nothing else refers to this document. */
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        json_object_foreach (v, k, x)
            credsnet_json_wipe(x);
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, x)
            credsnet_json_wipe(x);
    }
}

bool credsnet_needed(const struct creds_plan *plan, const struct creds_assume_role *role)
{
    return plan->source != CREDS_SOURCE_STATIC || plan->n_roles > 0 || (role && role->role_arn);
}

char *credsnet_describe(const struct creds_plan *plan, const struct creds_assume_role *role)
{
    struct buf b;
    int k = 0;

    buf_init(&b, 4096);
    switch (plan->source) {
    case CREDS_SOURCE_STATIC:
        k = buf_append_str(&b, str_eq(plan->creds->source, "env") ? "environment"
                                                                  : plan->creds->source);
        break;
    case CREDS_SOURCE_WEB_IDENTITY:
        k = buf_appendf(&b, "web identity (%s, token file %s)", plan->web_identity.role_arn,
                        plan->web_identity.token_file);
        break;
    case CREDS_SOURCE_CONTAINER: k = buf_appendf(&b, "container (%s)", plan->container.url); break;
    case CREDS_SOURCE_IMDS:
        if (str_eq(plan->imds.endpoint, CREDS_IMDS_ENDPOINT_IPV4))
            k = buf_append_str(&b, "instance metadata (IMDSv2)");
        else
            k = buf_appendf(&b, "instance metadata (IMDSv2 at %s)", plan->imds.endpoint);
        break;
    }
    for (size_t i = 0; k == 0 && i < plan->n_roles; i++)
        k = buf_appendf(&b, " -> assumed role %s", plan->roles[i].role_arn);
    if (k == 0 && role && role->role_arn)
        k = buf_appendf(&b, " -> assumed role %s", role->role_arn);
    /* Informative only: a very long chain is cut rather than refused. */
    if (k < 0 && k != -E2BIG) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

static void finish(struct credsnet *f, int result, const struct perr *err)
{
    struct aws_credentials *creds = NULL;
    if (result >= 0) {
        creds = f->cur;
        f->cur = NULL;
    }
    f->cb(result, creds, result < 0 ? err : NULL, f->userdata);
    aws_credentials_free(f->cur);
    str_free_secret(f->imds_token);
    free(f->imds_role);
    free(f);
}

static void finish_code(struct credsnet *f, int code, const char *fmt, ...) PLUMB_PRINTF(3, 4);

static void finish_code(struct credsnet *f, int code, const char *fmt, ...)
{
    struct perr err = { .code = code };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    finish(f, code, &err);
}

static const char *sts_region(const struct credsnet *f)
{
    if (f->o.sts_region && *f->o.sts_region)
        return f->o.sts_region;
    if (f->plan->region && *f->plan->region)
        return f->plan->region;
    return CREDSNET_DEFAULT_STS_REGION;
}

/* ---- HTTP steps (IMDS, container) ---- */

static void on_http(struct http_call *call, struct http_response *resp, void *userdata);

static int send_http(struct credsnet *f, const char *method, const char *url,
                     const char *const *headers, struct perr *err)
{
    struct http_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .timeout_ms = f->o.timeout_ms > 0 ? f->o.timeout_ms : CREDSNET_DEFAULT_TIMEOUT_MS,
        .max_body = CREDS_MAX_DOCUMENT,
    };
    return http_send(f->o.http, &req, on_http, f, &f->http, err);
}

static int imds_get(struct credsnet *f, const char *path, struct perr *err)
{
    char *url = NULL, *hdr = NULL;
    const char *headers[2] = { NULL, NULL };
    int r = -ENOMEM;

    url = str_printf("%s%s", f->plan->imds.endpoint, path);
    hdr = str_printf("X-aws-ec2-metadata-token: %s", f->imds_token);
    if (!url || !hdr) {
        perr_set(err, r, "out of memory");
        goto out;
    }
    headers[0] = hdr;
    r = send_http(f, "GET", url, headers, err);
out:
    free(url);
    str_free_secret(hdr);
    return r;
}

static int start_imds(struct credsnet *f, struct perr *err)
{
    char ttl[64];
    const char *const headers[] = { ttl, NULL };
    char *url = str_printf("%s/latest/api/token", f->plan->imds.endpoint);
    int r;
    if (!url)
        return perr_set(err, -ENOMEM, "out of memory");
    snprintf(ttl, sizeof(ttl), "X-aws-ec2-metadata-token-ttl-seconds: %d", CREDS_IMDS_TOKEN_TTL_S);
    f->stage = STAGE_IMDS_TOKEN;
    r = send_http(f, "PUT", url, headers, err);
    free(url);
    return r;
}

static int start_container(struct credsnet *f, struct perr *err)
{
    const struct creds_container *c = &f->plan->container;
    char *token = NULL, *hdr = NULL;
    const char *headers[2] = { NULL, NULL };
    int r = 0;

    /* The token file is rotated by the platform: read it every time. */
    if (c->token_file)
        r = creds_read_token_file(c->token_file, &token, err);
    else if (c->token && !(token = strdup(c->token)))
        r = perr_set(err, -ENOMEM, "out of memory");
    if (r < 0)
        return r;
    if (token) {
        hdr = str_printf("Authorization: %s", token);
        if (!hdr) {
            r = perr_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        headers[0] = hdr;
    }
    f->stage = STAGE_CONTAINER;
    r = send_http(f, "GET", c->url, headers, err);
out:
    str_free_secret(token);
    str_free_secret(hdr);
    return r;
}

/* The role name IMDS lists: the first line, a valid IAM role name. */
static int imds_role_name(const char *body, char **ret)
{
    size_t n = strcspn(body, "\r\n");
    if (n == 0 || n > 64)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)body[i]) && !strchr("+=,.@_-", body[i]))
            return -EINVAL;
    *ret = str_ndup(body, n);
    return *ret ? 0 : -ENOMEM;
}

static int next_step(struct credsnet *f, struct perr *err);

static void on_http(struct http_call *call, struct http_response *resp, void *userdata)
{
    struct credsnet *f = userdata;
    const char *ep = f->stage == STAGE_CONTAINER ? f->plan->container.url : f->plan->imds.endpoint;
    const char *what =
        f->stage == STAGE_CONTAINER ? "container credentials at" : "instance metadata (IMDSv2) at";
    struct perr err = { 0 };
    int r;

    f->http = NULL;
    if (f->cancelled || resp->error == -ECANCELED) {
        finish_code(f, -ECANCELED, "%s %s: cancelled", what, ep);
        return;
    }
    if (resp->error < 0) {
        finish_code(f, resp->error, "%s %s: %s", what, ep, resp->error_msg);
        return;
    }
    switch (f->stage) {
    case STAGE_IMDS_TOKEN:
        if (resp->status != 200) {
            finish_code(f, -EACCES,
                        "%s %s: the IMDSv2 token request was refused (HTTP %ld); plumb never "
                        "falls back to IMDSv1",
                        what, ep, resp->status);
            return;
        }
        str_trim(resp->body);
        for (const char *p = resp->body; *p; p++)
            if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f) {
                finish_code(f, -EBADMSG, "%s %s: malformed IMDSv2 token", what, ep);
                return;
            }
        if (!resp->body[0]) {
            finish_code(f, -EBADMSG, "%s %s: empty IMDSv2 token", what, ep);
            return;
        }
        f->imds_token = http_response_take_body(resp, NULL);
        f->stage = STAGE_IMDS_ROLE;
        r = imds_get(f, "/latest/meta-data/iam/security-credentials/", &err);
        break;
    case STAGE_IMDS_ROLE:
        if (resp->status == 404) {
            finish_code(f, -ENOENT, "%s %s: no IAM role is attached to the instance (HTTP 404)",
                        what, ep);
            return;
        }
        if (resp->status != 200) {
            finish_code(f, -EACCES, "%s %s: listing the instance role failed (HTTP %ld)", what, ep,
                        resp->status);
            return;
        }
        r = imds_role_name(resp->body, &f->imds_role);
        if (r < 0) {
            finish_code(f, r == -ENOMEM ? r : -EBADMSG, "%s %s: %s", what, ep,
                        r == -ENOMEM ? "out of memory" : "the instance role name is malformed");
            return;
        }
        {
            char path[160];
            snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s",
                     f->imds_role);
            f->stage = STAGE_IMDS_CREDS;
            r = imds_get(f, path, &err);
        }
        break;
    case STAGE_IMDS_CREDS:
    case STAGE_CONTAINER:
        if (resp->status != 200) {
            if (f->stage == STAGE_IMDS_CREDS)
                finish_code(f, -EACCES,
                            "%s %s: reading the credentials of role %s failed (HTTP %ld)", what, ep,
                            f->imds_role, resp->status);
            else
                finish_code(f, -EACCES, "%s %s: HTTP %ld", what, ep, resp->status);
            return;
        }
        r = creds_parse_document(resp->body, resp->body_len,
                                 f->stage == STAGE_CONTAINER ? "container" : "imds", &f->cur, &err);
        explicit_bzero(resp->body, resp->body_len);
        if (r < 0) {
            perr_prefix(&err, "%s %s: ", what, ep);
            break;
        }
        r = next_step(f, &err);
        break;
    default: r = perr_set(&err, -EINVAL, "internal error: unexpected HTTP answer"); break;
    }
    if (r < 0)
        finish(f, r, &err);
}

/* ---- STS steps ---- */

static void on_sts(int result, const json_t *output, const struct perr *err, void *userdata)
{
    struct credsnet *f = userdata;
    const char *arn = f->stage == STAGE_WEB_IDENTITY ? f->plan->web_identity.role_arn
                      : f->role < f->plan->n_roles   ? f->plan->roles[f->role].role_arn
                                                     : f->o.role->role_arn;
    char *label;
    struct perr e = { 0 };
    struct aws_credentials *c = NULL;
    int r;

    f->sts = NULL;
    if (f->cancelled || result == -ECANCELED) {
        finish_code(f, -ECANCELED, "assume role %s: cancelled", arn);
        return;
    }
    if (result < 0) {
        finish_code(f, result, "%s %s: %s",
                    f->stage == STAGE_WEB_IDENTITY ? "web identity for" : "assume role", arn,
                    err ? err->msg : strerror(-result));
        return;
    }
    r = creds_from_sts(json_object_get(output, "Credentials"),
                       f->stage == STAGE_WEB_IDENTITY ? "web identity" : "assume role", &c, &e);
    if (r < 0) {
        finish_code(f, r, "%s %s: %s",
                    f->stage == STAGE_WEB_IDENTITY ? "web identity for" : "assume role", arn,
                    e.msg);
        return;
    }
    label =
        str_printf("%s %s", f->stage == STAGE_WEB_IDENTITY ? "web identity" : "assume role", arn);
    if (!label) {
        aws_credentials_free(c);
        finish_code(f, -ENOMEM, "out of memory");
        return;
    }
    free(c->source);
    c->source = label;
    aws_credentials_free(f->cur);
    f->cur = c;
    if (f->stage == STAGE_ROLE)
        f->role++;
    r = next_step(f, &e);
    if (r < 0)
        finish(f, r, &e);
}

/* Set a string member, reporting OOM. */
static int set_str(json_t *o, const char *key, const char *value)
{
    return json_object_set_new(o, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

static int start_role(struct credsnet *f, const struct creds_assume_role *role, struct perr *err)
{
    json_t *params = json_object();
    int r = -ENOMEM;

    if (!params)
        return perr_set(err, r, "out of memory");
    if (set_str(params, "RoleArn", role->role_arn) < 0 ||
        set_str(params, "RoleSessionName",
                role->session_name && *role->session_name ? role->session_name : "plumb") < 0 ||
        (role->external_id && set_str(params, "ExternalId", role->external_id) < 0) ||
        (role->duration_s > 0 &&
         json_object_set_new(params, "DurationSeconds", json_integer(role->duration_s)) < 0)) {
        perr_set(err, r, "out of memory");
        goto out;
    }
    f->stage = STAGE_ROLE;
    r = f->o.sts->call(f->o.sts->ctx, "AssumeRole", sts_region(f), params, f->cur, on_sts, f,
                       &f->sts, err);
    if (r < 0)
        perr_prefix(err, "assume role %s: ", role->role_arn);
out:
    json_decref(params);
    return r;
}

static int start_web_identity(struct credsnet *f, struct perr *err)
{
    const struct creds_web_identity *w = &f->plan->web_identity;
    char *token = NULL;
    json_t *params = NULL;
    int r;

    /* The token is rotated by the platform: read it every time. */
    r = creds_read_token_file(w->token_file, &token, err);
    if (r < 0)
        return r;
    params = json_pack("{s:s, s:s, s:s}", "RoleArn", w->role_arn, "RoleSessionName",
                       w->session_name && *w->session_name ? w->session_name : "plumb",
                       "WebIdentityToken", token);
    if (!params) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    f->stage = STAGE_WEB_IDENTITY;
    r = f->o.sts->call(f->o.sts->ctx, "AssumeRoleWithWebIdentity", sts_region(f), params, NULL,
                       on_sts, f, &f->sts, err);
out:
    credsnet_json_wipe(params);
    json_decref(params);
    str_free_secret(token);
    return r;
}

/* After the source: the plan's roles, then the caller's. */
static int next_step(struct credsnet *f, struct perr *err)
{
    if (f->role < f->plan->n_roles)
        return start_role(f, &f->plan->roles[f->role], err);
    if (f->role == f->plan->n_roles && f->o.role && f->o.role->role_arn)
        return start_role(f, f->o.role, err);
    finish(f, 0, NULL);
    return 0;
}

int credsnet_fetch(const struct creds_plan *plan, const struct credsnet_options *opts,
                   credsnet_done_cb cb, void *userdata, struct credsnet **ret, struct perr *err)
{
    struct credsnet *f;
    int r;

    if (!plan || !opts || !cb)
        return perr_set(err, -EINVAL, "credsnet: missing arguments");
    if (!credsnet_needed(plan, opts->role))
        return perr_set(err, -EINVAL, "credsnet: the plan needs no network step");
    if (!opts->sts || (plan->source != CREDS_SOURCE_STATIC && !opts->http &&
                       plan->source != CREDS_SOURCE_WEB_IDENTITY))
        return perr_set(err, -EINVAL, "credsnet: missing HTTP client or STS transport");
    f = calloc(1, sizeof(*f));
    if (!f)
        return perr_set(err, -ENOMEM, "out of memory");
    f->plan = plan;
    f->o = *opts;
    f->cb = cb;
    f->userdata = userdata;
    switch (plan->source) {
    case CREDS_SOURCE_STATIC:
        f->cur = aws_credentials_copy(plan->creds);
        r = f->cur ? 0 : perr_set(err, -ENOMEM, "out of memory");
        /* credsnet_needed() made sure there is a role to assume, so this
         * does not finish synchronously. */
        if (r == 0)
            r = next_step(f, err);
        break;
    case CREDS_SOURCE_WEB_IDENTITY:
        r = start_web_identity(f, err);
        if (r < 0)
            perr_prefix(err, "web identity for %s: ", plan->web_identity.role_arn);
        break;
    case CREDS_SOURCE_CONTAINER:
        r = start_container(f, err);
        if (r < 0)
            perr_prefix(err, "container credentials at %s: ", plan->container.url);
        break;
    case CREDS_SOURCE_IMDS:
        r = start_imds(f, err);
        if (r < 0)
            perr_prefix(err, "instance metadata (IMDSv2) at %s: ", plan->imds.endpoint);
        break;
    default: r = perr_set(err, -EINVAL, "credsnet: unknown credential source"); break;
    }
    if (r < 0) {
        aws_credentials_free(f->cur);
        free(f);
        return r;
    }
    if (ret)
        *ret = f;
    return 0;
}

void credsnet_cancel(struct credsnet *f)
{
    if (!f || f->cancelled)
        return;
    f->cancelled = true;
    if (f->http)
        http_cancel(f->http);
    else if (f->sts)
        f->o.sts->cancel(f->o.sts->ctx, f->sts);
}
