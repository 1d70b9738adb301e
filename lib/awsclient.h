/* The AWS client every collector, state source and `plumb doctor` uses.
 *
 * One struct aws_client per process (per loop): it owns the HTTP client
 * (libcurl on libuv), the embedded service models, the retry quota and the
 * client-side API budgets (token buckets per account, region, service and
 * API family).  One struct aws_account per set of credentials: the default
 * credential chain, a named profile, or an AssumeRole (with external id and
 * session name) on top of either; temporary credentials are refreshed before
 * they expire without blocking the loop.
 *
 * aws_call() runs one operation: it resolves the endpoint (partition
 * defaults, AWS_ENDPOINT_URL[_<SERVICE>], config override; path-style S3 when
 * overridden), serialises the parameters for the service's protocol, waits
 * for the API budget, signs with SigV4, sends, retries in AWS standard mode
 * (throttling, 5xx, connection errors, clock skew), parses the response by
 * the model into jansson and, with AWS_CALL_ALL_PAGES, follows the
 * operation's paginator delivering each page to the callback.
 *
 * Everything is asynchronous and runs on the loop thread; callbacks are
 * never called from inside aws_call().  Nothing here logs; secrets never
 * appear in errors.
 *
 * Credentials (lib/creds.h resolves the chain into a plan, lib/credsnet.h
 * runs its network steps) are fetched on first use, cached, and refreshed
 * on an unreferenced timer before they expire (creds_refresh_at); calls
 * that find no usable credentials wait for the one fetch in progress.  A
 * failed fetch is remembered for AWS_CREDS_RETRY_MS so a burst of calls
 * does not hammer the metadata service or STS.
 *
 * Per (service, region) the client keeps the clock offset learnt from
 * clock-skew errors (used to sign later requests) and, per account, the
 * retry quota of lib/retry.  Budgets are keyed by the account id once
 * aws_account_identify() has run (before that by the configured account
 * id, the role's account or the profile name), the signing region, the
 * endpoint prefix and the API family (retry_budget_family()). */
#ifndef PLUMB_AWSCLIENT_H
#define PLUMB_AWSCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct aws_client;
struct aws_account;
struct aws_call;
struct retry_budgets;

/* Reads one environment variable (injected so tests control it); NULL for
 * getenv. */
typedef const char *(*aws_getenv_fn)(const char *name);

struct aws_client_options {
    uv_loop_t *loop;
    aws_getenv_fn getenv;     /* NULL = getenv(3) */
    const char *endpoint_url; /* [plumb] endpoint_url; env overrides still win */
    const char *ca_bundle;    /* NULL = AWS_CA_BUNDLE, else the system default */
    int max_attempts;         /* standard retry mode; 0 = 3 */
    double budget_share;      /* 0 < share <= 1; 0 = 0.5 */
    int64_t timeout_ms;       /* per request; 0 = 60 s */
    unsigned max_per_host;    /* 0 = 8 */
    const char *user_agent;   /* NULL = "plumb/<version>" */
    size_t max_body;          /* response body cap; 0 = HTTP_DEFAULT_MAX_BODY */
    int retry_quota;          /* retry quota per account and endpoint; 0 = 500 */
    /* Uniform random number in [0, 1) for backoff jitter (tests pass one
     * that returns 0 so retries do not sleep); NULL = the kernel's CSPRNG. */
    double (*random)(void *ctx);
    void *random_ctx;
};

/* How long a failed credential fetch is remembered. */
#define AWS_CREDS_RETRY_MS 5000
/* Pages followed by one AWS_CALL_ALL_PAGES call at most. */
#define AWS_MAX_PAGES 100000

/* Create the client: copies the options (strings too), reads the
 * environment once through opts->getenv (the variables of the credential
 * chain and the endpoint overrides), loads the embedded models, creates
 * the HTTP client.  -EINVAL (no loop, bad option), -ENOENT/-EACCES (CA
 * bundle), -ENOMEM, with err filled. */
int aws_client_new(const struct aws_client_options *opts, struct aws_client **ret,
                   struct perr *err);
/* Cancel every call (callbacks report -ECANCELED), close every libuv
 * handle, then call done (may be NULL) from the loop; afterwards
 * uv_loop_close() succeeds.  Accounts not yet freed stay valid for
 * aws_account_free() only (every other use fails with -ESHUTDOWN); the
 * client's memory goes with the last of them. */
void aws_client_close(struct aws_client *c, void (*done)(void *userdata), void *userdata);

/* The client's API budgets, to set limits and shares from the
 * configuration (retry_budgets_set_limit/_set_share).  Borrowed. */
struct retry_budgets *aws_client_budgets(struct aws_client *c);
/* The clock offset (server minus local, ms) learnt for a service's
 * endpoint in a region (signing name and region, as used to sign), 0 when
 * none. */
int64_t aws_client_clock_offset(const struct aws_client *c, const char *signing_name,
                                const char *region);

/* Credentials for one account. */
struct aws_account_options {
    const char *profile;  /* NULL = AWS_PROFILE or "default" for the chain */
    const char *role_arn; /* AssumeRole on top of the source credentials */
    const char *external_id;
    const char *session_name;     /* default "plumb" */
    const char *sts_region;       /* region of the STS endpoint for AssumeRole */
    const char *expected_account; /* if set, a mismatch is an error at resolve time */
};
/* Resolve the credential chain into a plan now (reads the shared files;
 * no network): -ENOENT (no credentials, unknown profile), -EINVAL, -ENOTSUP,
 * -EIO... from creds_resolve(), or -ESHUTDOWN; err says what and where.
 * The options are copied. */
int aws_account_new(struct aws_client *c, const struct aws_account_options *opts,
                    struct aws_account **ret, struct perr *err);
/* Cancel the account's calls, identifies and credential fetch (their
 * callbacks still run, with -ECANCELED, from the loop) and free it once
 * they have.  NULL is fine. */
void aws_account_free(struct aws_account *a);
/* Where the credentials come from (see aws_identity.source), borrowed. */
const char *aws_account_source(const struct aws_account *a);

/* Resolve credentials now (chain, AssumeRole) and report where they came
 * from ("environment", "profile ci in ~/.aws/credentials", "web identity",
 * "container", "instance metadata (IMDSv2)", "assumed role arn:..."), the
 * account id (via STS GetCallerIdentity) and the caller ARN.  Used by
 * `plumb doctor` and at start. */
struct aws_identity {
    const char *source;
    const char *account;
    const char *arn;
    int64_t expires_ms;    /* 0 = static credentials */
    int64_t clock_skew_ms; /* server Date minus local clock */
};
/* result: 0 with id (borrowed for the callback) and err NULL, or < 0 with
 * id NULL and err saying why (credentials, the STS error, or "the
 * credentials from X belong to account A, but the configuration expects
 * account E" with -EACCES).  On success the account's id is known and
 * used for the budgets.  Returns < 0 (-ESHUTDOWN, -ENOMEM) without calling
 * cb. */
typedef void (*aws_identity_cb)(int result, const struct aws_identity *id, const struct perr *err,
                                void *userdata);
int aws_account_identify(struct aws_account *a, aws_identity_cb cb, void *userdata);

/* Kinds of failure callers act on, and the result code each finishes
 * with: ACCESS_DENIED -EACCES, THROTTLED -EBUSY, NOT_FOUND -ENOENT, AUTH
 * -EPERM (also for credentials that cannot be obtained: then the code is
 * the fetch's own, e.g. -ETIMEDOUT), CLIENT -EREMOTEIO, SERVER -EIO,
 * TRANSPORT the transport's code (-ETIMEDOUT, -ECONNREFUSED, -EMSGSIZE,
 * -EPROTO..., -EBADMSG for a body that cannot be parsed). */
enum aws_error_kind {
    AWS_ERR_NONE = 0,
    AWS_ERR_ACCESS_DENIED, /* AccessDenied, UnauthorizedOperation, ... */
    AWS_ERR_THROTTLED,     /* still throttled after all retries */
    AWS_ERR_NOT_FOUND,     /* e.g. NoSuchBucketPolicy: callers decide meaning */
    AWS_ERR_AUTH,          /* bad credentials / signature */
    AWS_ERR_CLIENT,        /* other 4xx: validation, unsupported, opt-in region */
    AWS_ERR_SERVER,        /* 5xx after retries */
    AWS_ERR_TRANSPORT,     /* connection, TLS, timeout, oversized/garbled body */
};

/* All strings borrowed for the callback; code is NULL for failures that are
 * not AWS errors (transport, credentials, cancel). */
struct aws_error {
    enum aws_error_kind kind;
    int http_status;
    const char *code; /* "AccessDeniedException" */
    const char *message;
    const char *request_id;
    const char *iam_action; /* for ACCESS_DENIED: "ec2:DescribeVolumes" */
};

/* Statistics of calls, accumulated per collection cycle. */
struct aws_stats {
    int64_t calls;     /* HTTP requests sent, retries included */
    int64_t throttled; /* throttling responses received */
    int64_t retries;
    int64_t errors;       /* calls that finally failed */
    int64_t budget_waits; /* attempts that had to wait for the API budget */
};

struct aws_page {
    const json_t *output; /* parsed output of this page (borrowed) */
    size_t page;          /* 0-based */
};

enum aws_call_flags {
    AWS_CALL_ALL_PAGES = 1 << 0, /* follow the paginator; page_cb per page */
};

/* page_cb: called for each successful page (return < 0 to stop: the call
 * then finishes with that code).  done_cb: called once at the end with 0 or
 * the error (error details in err, NULL on success).  */
typedef int (*aws_page_cb)(const struct aws_page *page, void *userdata);
typedef void (*aws_done_cb)(int result, const struct aws_error *err, void *userdata);

struct aws_request {
    const char *service;   /* model name: "ec2", "s3", "elbv2", "ssm-incidents", ... */
    const char *operation; /* "DescribeInstances" */
    const char *region;    /* signing/endpoint region; global services may pass any */
    const json_t *params;  /* input members by botocore name; NULL = none */
    unsigned flags;
    struct aws_stats *stats; /* may be NULL */
};

/* Start a call.  The model lookup, parameter validation, request
 * serialisation and endpoint resolution happen now: failures return
 * -EINVAL/-ENOENT/-ENOTSUP (err names the service, operation or parameter),
 * -ESHUTDOWN after aws_client_close() or aws_account_free(), or -ENOMEM,
 * and never call a callback.  req and params are copied.  page_cb may be
 * NULL.  *ret_call (may be NULL) is valid until done_cb returns.  With
 * AWS_CALL_ALL_PAGES and an operation that has no paginator there is one
 * page.  A page_cb that stops the call gets done_cb with its code and an
 * error of kind AWS_ERR_NONE. */
int aws_call(struct aws_account *a, const struct aws_request *req, aws_page_cb page_cb,
             aws_done_cb done_cb, void *userdata, struct aws_call **ret_call, struct perr *err);
/* done_cb then reports -ECANCELED (from the loop, never from inside
 * aws_call_cancel).  Harmless from inside page_cb; must not be called after
 * done_cb has returned. */
void aws_call_cancel(struct aws_call *call);

/* Raw S3 object read (for the S3 state backend): body returned as-is,
 * with the ETag; if_none_match may be NULL.  not_modified set on 304. */
struct aws_object {
    const char *body;
    size_t len;
    const char *etag;
    bool not_modified;
};
/* obj (borrowed for the callback; body NUL-terminated, len excludes the
 * NUL; etag NULL when the response had none) on success, err on failure
 * (NoSuchKey is AWS_ERR_NOT_FOUND).  The body is capped by max_body.
 * Returns < 0 without calling cb like aws_call(). */
typedef void (*aws_object_cb)(int result, const struct aws_object *obj, const struct aws_error *err,
                              void *userdata);
int aws_s3_get_object(struct aws_account *a, const char *region, const char *bucket,
                      const char *key, const char *if_none_match, struct aws_stats *stats,
                      aws_object_cb cb, void *userdata, struct perr *err);

/* The partition of a region ("aws", "aws-cn", "aws-us-gov"; the name of an
 * unsupported partition such as "aws-iso" for its regions). */
const char *aws_partition_of(const char *region);

#endif
