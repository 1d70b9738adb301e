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
 * appear in errors. */
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

/* Reads one environment variable (injected so tests control it); NULL for
 * getenv. */
typedef const char *(*aws_getenv_fn)(const char *name);

struct aws_client_options {
    uv_loop_t *loop;
    aws_getenv_fn getenv; /* NULL = getenv(3) */
    const char *endpoint_url; /* [plumb] endpoint_url; env overrides still win */
    const char *ca_bundle;    /* NULL = AWS_CA_BUNDLE, else the system default */
    int max_attempts;         /* standard retry mode; 0 = 3 */
    double budget_share;      /* 0 < share <= 1; 0 = 0.5 */
    int64_t timeout_ms;       /* per request; 0 = 60 s */
    unsigned max_per_host;    /* 0 = 8 */
    const char *user_agent;   /* NULL = "plumb/<version>" */
};

int aws_client_new(const struct aws_client_options *opts, struct aws_client **ret,
                   struct perr *err);
/* Cancel every call (callbacks report -ECANCELED), then free and call done. */
void aws_client_close(struct aws_client *c, void (*done)(void *userdata), void *userdata);

/* Credentials for one account. */
struct aws_account_options {
    const char *profile;      /* NULL = AWS_PROFILE or "default" for the chain */
    const char *role_arn;     /* AssumeRole on top of the source credentials */
    const char *external_id;
    const char *session_name; /* default "plumb" */
    const char *sts_region;   /* region of the STS endpoint for AssumeRole */
    const char *expected_account; /* if set, a mismatch is an error at resolve time */
};
int aws_account_new(struct aws_client *c, const struct aws_account_options *opts,
                    struct aws_account **ret, struct perr *err);
void aws_account_free(struct aws_account *a);

/* Resolve credentials now (chain, AssumeRole) and report where they came
 * from ("environment", "profile ci in ~/.aws/credentials", "web identity",
 * "container", "instance metadata (IMDSv2)", "assumed role arn:..."), the
 * account id (via STS GetCallerIdentity) and the caller ARN.  Used by
 * `plumb doctor` and at start. */
struct aws_identity {
    const char *source;
    const char *account;
    const char *arn;
    int64_t expires_ms; /* 0 = static credentials */
    int64_t clock_skew_ms; /* server Date minus local clock */
};
typedef void (*aws_identity_cb)(int result, const struct aws_identity *id,
                                const struct perr *err, void *userdata);
int aws_account_identify(struct aws_account *a, aws_identity_cb cb, void *userdata);

/* Kinds of failure callers act on. */
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

struct aws_error {
    enum aws_error_kind kind;
    int http_status;
    const char *code;       /* "AccessDeniedException" */
    const char *message;
    const char *request_id;
    const char *iam_action; /* for ACCESS_DENIED: "ec2:DescribeVolumes" */
};

/* Statistics of calls, accumulated per collection cycle. */
struct aws_stats {
    int64_t calls;     /* HTTP requests sent, retries included */
    int64_t throttled; /* throttling responses received */
    int64_t retries;
    int64_t errors;    /* calls that finally failed */
};

struct aws_page {
    const json_t *output;  /* parsed output of this page (borrowed) */
    size_t page;           /* 0-based */
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

int aws_call(struct aws_account *a, const struct aws_request *req, aws_page_cb page_cb,
             aws_done_cb done_cb, void *userdata, struct aws_call **ret_call, struct perr *err);
/* done_cb then reports -ECANCELED. */
void aws_call_cancel(struct aws_call *call);

/* Raw S3 object read (for the S3 state backend): body returned as-is,
 * with the ETag; if_none_match may be NULL.  not_modified set on 304. */
struct aws_object {
    const char *body;
    size_t len;
    const char *etag;
    bool not_modified;
};
typedef void (*aws_object_cb)(int result, const struct aws_object *obj,
                              const struct aws_error *err, void *userdata);
int aws_s3_get_object(struct aws_account *a, const char *region, const char *bucket,
                      const char *key, const char *if_none_match, struct aws_stats *stats,
                      aws_object_cb cb, void *userdata, struct perr *err);

/* The partition of a region ("aws", "aws-cn", "aws-us-gov"). */
const char *aws_partition_of(const char *region);

#endif
