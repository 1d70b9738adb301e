/* Executing a credentials plan (lib/creds.h) over the network: the source
 * step (STS AssumeRoleWithWebIdentity, the container endpoint, IMDSv2)
 * followed by the plan's STS AssumeRole steps and an optional last
 * AssumeRole of the caller's own (plumb's [account] role_arn).
 *
 * The HTTP requests to the instance metadata service and the container
 * endpoint go through lib/http directly.  STS calls go through a small
 * vtable so this module needs neither the service models nor the signer:
 * lib/awsclient passes its own call machinery, tests pass a fake.
 *
 * IMDS is IMDSv2 only: PUT /latest/api/token with the TTL header, then the
 * role name and the credential document with the token header.  A refused
 * token request is an error; there is never an IMDSv1 fallback.
 *
 * Runs on the loop thread; the callback is never called from inside
 * credsnet_fetch() or credsnet_cancel().  Error messages name the step and
 * the endpoint but never a secret (keys, session tokens, web identity or
 * container tokens). */
#ifndef PLUMB_CREDSNET_H
#define PLUMB_CREDSNET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "creds.h"
#include "http.h"
#include "util.h"

/* Per request to IMDS or the container endpoint. */
#define CREDSNET_DEFAULT_TIMEOUT_MS 5000
/* STS region when neither the plan nor the caller names one. */
#define CREDSNET_DEFAULT_STS_REGION "us-east-1"

/* An STS call's result: output is the parsed response (borrowed for the
 * callback only; it holds secrets, so do not copy it around); err says
 * what went wrong when result < 0. */
typedef void (*credsnet_sts_cb)(int result, const json_t *output, const struct perr *err,
                                void *userdata);

/* How STS is called.  call() runs `operation` ("AssumeRole",
 * "AssumeRoleWithWebIdentity") in `region` with `params` (borrowed for the
 * call only), signed with creds, or unsigned when creds is NULL.  It
 * returns 0 and later calls cb exactly once (never from inside call()),
 * or < 0 with err filled and never calls cb.  *ret_handle identifies the
 * call for cancel(), which makes cb report -ECANCELED later. */
struct credsnet_sts {
    int (*call)(void *ctx, const char *operation, const char *region, json_t *params,
                const struct aws_credentials *creds, credsnet_sts_cb cb, void *userdata,
                void **ret_handle, struct perr *err);
    void (*cancel)(void *ctx, void *handle);
    void *ctx;
};

struct credsnet_options {
    struct http_client *http;       /* IMDS and container requests */
    const struct credsnet_sts *sts; /* STS steps */
    /* STS region when the plan has none; NULL = CREDSNET_DEFAULT_STS_REGION. */
    const char *sts_region;
    /* A last AssumeRole on top of the plan, or NULL.  Borrowed until the
     * callback has run.  A NULL session_name means "plumb". */
    const struct creds_assume_role *role;
    int64_t timeout_ms; /* per IMDS/container request; 0 = default */
};

struct credsnet;

/* creds: the final credentials on success, owned by the callback (free
 * with aws_credentials_free()); NULL on failure.  err: NULL on success. */
typedef void (*credsnet_done_cb)(int result, struct aws_credentials *creds, const struct perr *err,
                                 void *userdata);

/* Whether executing plan (plus an extra role) needs the network at all:
 * false only for static keys with no AssumeRole step. */
bool credsnet_needed(const struct creds_plan *plan, const struct creds_assume_role *role);

/* Start executing plan (borrowed until the callback has run).  Returns 0
 * and calls cb exactly once later, or -EINVAL (a plan without network
 * steps, missing options) / -ENOMEM with err filled, and then never calls
 * cb.  *ret (may be NULL) is valid until cb returns. */
int credsnet_fetch(const struct creds_plan *plan, const struct credsnet_options *opts,
                   credsnet_done_cb cb, void *userdata, struct credsnet **ret, struct perr *err);

/* Cancel: cb reports -ECANCELED on a later loop iteration.  Must not be
 * called after cb has returned. */
void credsnet_cancel(struct credsnet *f);

/* A one-line description of where the credentials of plan (+ role) come
 * from, for `plumb doctor` and identities: "environment", "profile:ci
 * (shared credentials file)", "web identity (arn:...)", "container
 * (http://...)", "instance metadata (IMDSv2)", each followed by " -> assumed
 * role arn:..." per AssumeRole step.  No secrets.  malloc'd, NULL on OOM. */
char *credsnet_describe(const struct creds_plan *plan, const struct creds_assume_role *role);

/* Overwrite every string value inside v (recursively) with zero bytes, so
 * that freeing a parsed STS or credential document leaves no secret in
 * freed memory.  NULL is fine. */
void credsnet_json_wipe(json_t *v);

#endif
