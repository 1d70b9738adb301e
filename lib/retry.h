/* Retry decisions and client-side API budgets for AWS calls.  Pure logic:
 * no I/O, no clock reads, no logging.  The caller passes the time in and
 * may inject the random source, so every decision is reproducible.
 *
 * 1. Standard retry mode, as the AWS SDKs define it ("Retry behavior" in
 *    the AWS SDKs and Tools reference guide; botocore's
 *    botocore/retries/standard.py and quota.py are the reference
 *    implementation followed here, without the AWS_NEW_RETRIES_2026
 *    opt-in):
 *      - at most max_attempts attempts (default 3) per request;
 *      - a retryable failure waits rand[0,1) * min(base * 2^(n-1),
 *        max_backoff) before attempt n+1, with base 1 s and max_backoff
 *        20 s ("full jitter"; n = attempts made so far);
 *      - a retry quota shared by the requests of one client starts at 500
 *        tokens; a retry costs 5 (10 after a timeout) and is refused when
 *        the quota cannot pay; a success refunds what its last retry cost,
 *        or 1 token when it needed no retry, never above the start value;
 *      - retryable: throttling error codes and HTTP 429; transient errors
 *        (HTTP 500/502/503/504, RequestTimeout, RequestTimeoutException,
 *        PriorRequestNotComplete, connection failures, timeouts, truncated
 *        responses).
 *    plumb adds one rule the SDKs implement elsewhere: a clock-skew error
 *    sets a clock offset from the server's Date and is retried once,
 *    immediately and without quota (see retry_after_attempt).
 *
 * 2. Token buckets per (account, region, service, API family) that keep
 *    plumb within a share of each account's published API rate limits, and
 *    shrink that share while AWS is throttling (see retry_budget_*). */
#ifndef PLUMB_RETRY_H
#define PLUMB_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define RETRY_DEFAULT_MAX_ATTEMPTS 3
#define RETRY_BASE_DELAY_MS        1000
#define RETRY_MAX_BACKOFF_MS       20000
#define RETRY_QUOTA_INITIAL        500
#define RETRY_COST                 5
#define RETRY_TIMEOUT_COST         10
#define RETRY_NO_RETRY_INCREMENT   1
/* An InvalidSignatureException, SignatureDoesNotMatch or AuthFailure counts
 * as clock skew only when the server's clock differs from ours by more than
 * this (the threshold the AWS SDK for Java uses). */
#define RETRY_SKEW_THRESHOLD_MS (4 * 60 * 1000)

enum retry_class {
    RETRY_OK,         /* 2xx, nothing to retry; refunds quota */
    RETRY_FATAL,      /* a failure retrying cannot fix */
    RETRY_TRANSIENT,  /* 5xx, transient codes, connection failures */
    RETRY_TIMEOUT,    /* the transport timed out (-ETIMEDOUT) */
    RETRY_THROTTLE,   /* throttling codes, HTTP 429 */
    RETRY_CLOCK_SKEW, /* our clock is off; fixable with the server's Date */
};

/* What one attempt produced. */
struct retry_outcome {
    int transport_error; /* 0 or the negative errno from lib/http */
    long status;         /* HTTP status; 0 when no response arrived */
    /* AWS error code from the response, NULL if none.  A "namespace#" prefix
     * (JSON __type) and a ":..." suffix (x-amzn-ErrorType) are ignored. */
    const char *error_code;
    /* The server's time: the Date header, or the ServerTime of a
     * RequestTimeTooSkewed body; 0 when unknown.  Unix ms. */
    int64_t server_time_ms;
    int64_t local_time_ms; /* our raw wall clock when the response arrived */
};

/* Classify an attempt.  clock_offset_ms is the offset that was added to
 * the local clock when the request was signed (decides whether a generic
 * signature error is skew).  Transport errors: -ETIMEDOUT is a timeout;
 * -ECONNREFUSED, -ECONNRESET, -ECONNABORTED, -EHOSTUNREACH, -ENETUNREACH,
 * -ENOTCONN, -EPIPE, -EPROTO and -EIO are transient; anything else
 * (-EMSGSIZE, -EKEYREJECTED, -ECANCELED, -ENOMEM...) is fatal.  Clock skew
 * needs server_time_ms; without it the error is fatal. */
enum retry_class retry_classify(const struct retry_outcome *o, int64_t clock_offset_ms);
const char *retry_class_name(enum retry_class c);

/* Code tables (exact, case-sensitive, after the prefix/suffix stripping
 * described above). */
bool retry_is_throttle_code(const char *code);
bool retry_is_transient_code(const char *code);
/* RequestTimeTooSkewed, RequestExpired, RequestInTheFuture. */
bool retry_is_skew_code(const char *code);
/* InvalidSignatureException, SignatureDoesNotMatch, AuthFailure. */
bool retry_is_maybe_skew_code(const char *code);

struct retry_policy {
    unsigned max_attempts;  /* 0 = RETRY_DEFAULT_MAX_ATTEMPTS; 1 = never retry */
    int64_t base_delay_ms;  /* 0 = RETRY_BASE_DELAY_MS */
    int64_t max_backoff_ms; /* 0 = RETRY_MAX_BACKOFF_MS */
    /* Uniform random number in [0, 1).  NULL = from the kernel's CSPRNG. */
    double (*random)(void *ctx);
    void *random_ctx;
};

/* The retry quota of one client (one per service endpoint and account in
 * plumb).  Not thread-safe: use it from the loop thread. */
struct retry_quota {
    int max;
    int available;
};
/* capacity 0 = RETRY_QUOTA_INITIAL; negative is -EINVAL. */
int retry_quota_init(struct retry_quota *q, int capacity);

/* One logical request (all its attempts).  Initialise with
 * retry_state_init() before the first attempt. */
struct retry_state {
    unsigned attempts;       /* attempts made so far */
    int acquired;            /* quota paid for the last retry (refunded on success) */
    bool skew_retried;       /* the one clock-skew retry is used */
    int64_t clock_offset_ms; /* add to the local clock when signing */
};
/* clock_offset_ms: the offset currently known for this endpoint. */
void retry_state_init(struct retry_state *s, int64_t clock_offset_ms);

struct retry_decision {
    bool retry;
    enum retry_class cls;
    int64_t delay_ms;        /* wait this long before the next attempt */
    int64_t clock_offset_ms; /* offset to sign the next attempt with (and to
                              * remember for the endpoint) */
    /* Static text: "success", "not retryable", "max attempts reached",
     * "retry quota exhausted", "clock skew persists", or for a retry the
     * class name ("throttled", "transient error", "timeout", "clock
     * skew"). */
    const char *reason;
};

/* Call after every attempt (successful or not).  Counts the attempt,
 * settles the quota (refund on 2xx, payment for a retry) and decides.
 * A clock-skew outcome sets clock_offset_ms = server_time - local_time and
 * retries at once without paying quota, once per request.  Returns 0, or
 * -EINVAL for NULL arguments or an invalid policy (ret untouched). */
int retry_after_attempt(const struct retry_policy *p, struct retry_quota *q, struct retry_state *s,
                        const struct retry_outcome *o, struct retry_decision *ret);

/* ---- client-side API budgets ------------------------------------------

 * Each (account, region, service, family) has a token bucket.  Its size and
 * refill rate come from the limits table (seeded from AWS's published
 * numbers, overridable per service and family), multiplied by the share of
 * the account's budget plumb may use (default RETRY_BUDGET_DEFAULT_SHARE,
 * configurable globally and per service) and by an adaptive factor:
 *
 *   capacity = max(1, burst * share * factor)    rate = refill * share * factor
 *
 * Adaptive rule (AIMD): the factor starts at 1.  A throttling response
 * (retry_budget_throttled) halves it, down to RETRY_BUDGET_MIN_FACTOR, and
 * empties the bucket; throttles within RETRY_BUDGET_ADAPT_INTERVAL_MS of
 * the last decrease only empty the bucket, since they answer requests that
 * were already in flight.  A success (retry_budget_succeeded) at least
 * RETRY_BUDGET_ADAPT_INTERVAL_MS after the last change adds
 * RETRY_BUDGET_RECOVERY_STEP, up to 1.  So after one throttle the full rate
 * is back after five seconds of successful traffic; from the floor, after
 * ten.
 *
 * Seeded limits (burst / refill per second, per account and region):
 *   ec2 "unfiltered"     50 / 10   DescribeInstances, DescribeInstanceStatus,
 *                                  DescribeNetworkInterfaces,
 *                                  DescribeSecurityGroups, DescribeSnapshots,
 *                                  DescribeSpotInstanceRequests and
 *                                  DescribeVolumes without filter or paging
 *   ec2 "non-mutating"  100 / 20   other Describe*, Get*, List*, Search*
 *   ec2 "mutating"       50 / 5    everything else
 *       (all three: "Request throttling for the Amazon EC2 API")
 *   apigateway "GetResources"  5 / 2.5  (5 requests per 2 s, API Gateway quotas)
 *   apigateway (other)        10 / 10   (10 req/s for management calls; no
 *                                        burst is published, so burst = rate)
 *   cloudtrail "LookupEvents"  2 / 2    (2 per second, LookupEvents reference)
 *   iam (any)                 10 / 5    not published; conservative
 *   any other service         10 / 5    not published; conservative
 */

#define RETRY_BUDGET_DEFAULT_SHARE     0.5
#define RETRY_BUDGET_MIN_FACTOR        0.05
#define RETRY_BUDGET_RECOVERY_STEP     0.1
#define RETRY_BUDGET_ADAPT_INTERVAL_MS 1000

struct retry_budgets;

/* All four strings are required and compared exactly (use lower-case
 * service names as in endpoint prefixes: "ec2", "iam").  They are copied
 * when a bucket is created. */
struct retry_budget_key {
    const char *account;
    const char *region;
    const char *service;
    const char *family; /* from retry_budget_family() or a configured name */
};

struct retry_budget_info {
    double capacity, rate_per_s, tokens, factor, share;
};

/* share in (0, 1]; 0 = RETRY_BUDGET_DEFAULT_SHARE. */
int retry_budgets_new(double share, struct retry_budgets **ret);
struct retry_budgets *retry_budgets_free(struct retry_budgets *b);

/* Override a limit.  family NULL sets the service's default for families
 * without their own entry.  burst >= 1 and rate > 0, else -EINVAL.
 * Applies to existing buckets from their next use. */
int retry_budgets_set_limit(struct retry_budgets *b, const char *service, const char *family,
                            double burst, double rate_per_s);
/* Share for one service (service NULL: the default for all services). */
int retry_budgets_set_share(struct retry_budgets *b, const char *service, double share);

/* The family an operation draws from.  narrowed: the request carries a
 * filter, an id list or a page size (only EC2 distinguishes this).
 * Returns a static string. */
const char *retry_budget_family(const char *service, const char *operation, bool narrowed);

/* Take one token at now_ms (a monotonic clock).  Returns 0 when the
 * request may go now, a positive number of ms to wait before trying again
 * (no token taken), or -EINVAL (incomplete key) / -ENOMEM. */
int64_t retry_budget_acquire(struct retry_budgets *b, int64_t now_ms,
                             const struct retry_budget_key *key);
/* Feed back a throttling response / a success for this key. */
int retry_budget_throttled(struct retry_budgets *b, int64_t now_ms,
                           const struct retry_budget_key *key);
int retry_budget_succeeded(struct retry_budgets *b, int64_t now_ms,
                           const struct retry_budget_key *key);
/* Current numbers for a key (refilled to now_ms); -ENOENT if the bucket
 * does not exist yet. */
int retry_budget_info(struct retry_budgets *b, int64_t now_ms, const struct retry_budget_key *key,
                      struct retry_budget_info *ret);

#endif
