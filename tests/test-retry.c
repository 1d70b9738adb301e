/* lib/retry: standard retry mode and API budgets.  Time and randomness are
 * injected, so every number below follows from the documented constants. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"
#include "testutil.h"
#include "util.h"

/* ---- helpers ---------------------------------------------------------------- */

struct seq_random {
    const double *values;
    size_t n, next;
};

static double seq_next(void *ctx)
{
    struct seq_random *s = ctx;
    double v = s->values[s->next % s->n];
    s->next++;
    return v;
}

static double fixed_half(void *ctx)
{
    (void)ctx;
    return 0.5;
}

static const struct retry_outcome ok_200 = { .status = 200 };

static struct retry_outcome code_outcome(long status, const char *code)
{
    return (struct retry_outcome){ .status = status, .error_code = code };
}

static struct retry_outcome transport(int err)
{
    return (struct retry_outcome){ .transport_error = err };
}

/* ---- classification ---------------------------------------------------------- */

/* Our tables must match botocore's (the AWS reference implementation of
 * standard mode) code for code, and our constants its constants. */
START_TEST(tables_match_botocore)
{
    const char *argv[] = {
        "python3", "-c",
        "import json\n"
        "from botocore.retries import standard as s, quota as q\n"
        "print(json.dumps({'throttle': s.ThrottledRetryableChecker._THROTTLED_ERROR_CODES,\n"
        " 'transient': s.TransientRetryableChecker._TRANSIENT_ERROR_CODES,\n"
        " 'status': s.TransientRetryableChecker._TRANSIENT_STATUS_CODES,\n"
        " 'base': s.ExponentialBackoff._BASE, 'max_backoff': s.ExponentialBackoff._MAX_BACKOFF,\n"
        " 'quota': q.RetryQuota.INITIAL_CAPACITY, 'cost': s.RetryQuotaChecker._RETRY_COST,\n"
        " 'timeout_cost': s.RetryQuotaChecker._TIMEOUT_RETRY_REQUEST,\n"
        " 'no_retry': s.RetryQuotaChecker._NO_RETRY_INCREMENT,\n"
        " 'attempts': s.DEFAULT_MAX_ATTEMPTS}))\n",
        NULL
    };
    char *out = NULL, *err = NULL;
    json_t *j, *v;
    size_t i;

    if (tu_run(argv, NULL, &out, &err) != 0) {
        fprintf(stderr, "botocore not importable, cross-check not run: %s\n", err ? err : "");
        free(out);
        free(err);
        return;
    }
    j = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    json_array_foreach (json_object_get(j, "throttle"), i, v) {
        struct retry_outcome o = code_outcome(400, json_string_value(v));
        ck_assert_msg(retry_is_throttle_code(json_string_value(v)), "%s", json_string_value(v));
        ck_assert_int_eq(retry_classify(&o, 0), RETRY_THROTTLE);
    }
    json_array_foreach (json_object_get(j, "transient"), i, v) {
        ck_assert_msg(retry_is_transient_code(json_string_value(v)), "%s", json_string_value(v));
    }
    json_array_foreach (json_object_get(j, "status"), i, v) {
        struct retry_outcome o = { .status = (long)json_integer_value(v) };
        ck_assert_int_eq(retry_classify(&o, 0), RETRY_TRANSIENT);
    }
    /* 2^0 * 1 s is the first ceiling: botocore's rand * min(2^(n-1), 20). */
    ck_assert_int_eq(json_integer_value(json_object_get(j, "base")), 2);
    ck_assert_int_eq(RETRY_BASE_DELAY_MS, 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "max_backoff")) * 1000,
                     RETRY_MAX_BACKOFF_MS);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "quota")), RETRY_QUOTA_INITIAL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "cost")), RETRY_COST);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "timeout_cost")), RETRY_TIMEOUT_COST);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "no_retry")), RETRY_NO_RETRY_INCREMENT);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "attempts")),
                     RETRY_DEFAULT_MAX_ATTEMPTS);
    json_decref(j);
    free(out);
    free(err);
}
END_TEST

START_TEST(classification_table)
{
    static const struct {
        struct retry_outcome o;
        enum retry_class want;
    } cases[] = {
        { { .status = 200 }, RETRY_OK },
        { { .status = 204 }, RETRY_OK },
        { { .status = 429 }, RETRY_THROTTLE },
        { { .status = 400, .error_code = "ThrottlingException" }, RETRY_THROTTLE },
        /* JSON __type namespace and x-amzn-ErrorType suffix are ignored. */
        { { .status = 400,
            .error_code = "com.amazonaws.dynamodb.v20120810#"
                          "ProvisionedThroughputExceededException" },
          RETRY_THROTTLE },
        { { .status = 400, .error_code = "ThrottlingException:http://internal.amazon.com/" },
          RETRY_THROTTLE },
        /* EC2 and S3 throttle with 503: the code wins over the status. */
        { { .status = 503, .error_code = "RequestLimitExceeded" }, RETRY_THROTTLE },
        { { .status = 503, .error_code = "SlowDown" }, RETRY_THROTTLE },
        { { .status = 500 }, RETRY_TRANSIENT },
        { { .status = 502 }, RETRY_TRANSIENT },
        { { .status = 503 }, RETRY_TRANSIENT },
        { { .status = 504 }, RETRY_TRANSIENT },
        { { .status = 500, .error_code = "InternalError" }, RETRY_TRANSIENT },
        { { .status = 400, .error_code = "RequestTimeout" }, RETRY_TRANSIENT },
        { { .status = 408, .error_code = "RequestTimeoutException" }, RETRY_TRANSIENT },
        { { .status = 501 }, RETRY_FATAL },
        { { .status = 505 }, RETRY_FATAL },
        { { .status = 403, .error_code = "AccessDenied" }, RETRY_FATAL },
        { { .status = 400, .error_code = "ValidationException" }, RETRY_FATAL },
        { { .status = 404 }, RETRY_FATAL },
        { { .status = 301 }, RETRY_FATAL },
        /* A 200 that carries an error code (S3 CopyObject style) is no success. */
        { { .status = 200, .error_code = "InternalError" }, RETRY_FATAL },
        { { .status = 200, .error_code = "" }, RETRY_OK },
        /* case matters: AWS codes are exact */
        { { .status = 400, .error_code = "throttling" }, RETRY_FATAL },
        { { .transport_error = -ETIMEDOUT }, RETRY_TIMEOUT },
        { { .transport_error = -ECONNREFUSED }, RETRY_TRANSIENT },
        { { .transport_error = -ECONNRESET }, RETRY_TRANSIENT },
        { { .transport_error = -EHOSTUNREACH }, RETRY_TRANSIENT },
        { { .transport_error = -EPROTO }, RETRY_TRANSIENT },
        { { .transport_error = -EIO }, RETRY_TRANSIENT },
        { { .transport_error = -EMSGSIZE }, RETRY_FATAL },
        { { .transport_error = -EKEYREJECTED }, RETRY_FATAL },
        { { .transport_error = -ECANCELED }, RETRY_FATAL },
        { { .transport_error = -ENOMEM }, RETRY_FATAL },
        /* skew codes need the server's time to be fixable */
        { { .status = 403, .error_code = "RequestTimeTooSkewed" }, RETRY_FATAL },
        { { .status = 403,
            .error_code = "RequestTimeTooSkewed",
            .server_time_ms = 1000000,
            .local_time_ms = 1000000 },
          RETRY_CLOCK_SKEW },
        { { .status = 400,
            .error_code = "RequestExpired",
            .server_time_ms = 2000000,
            .local_time_ms = 1000000 },
          RETRY_CLOCK_SKEW },
        { { .status = 400,
            .error_code = "RequestInTheFuture",
            .server_time_ms = 1000000,
            .local_time_ms = 2000000 },
          RETRY_CLOCK_SKEW },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        enum retry_class got = retry_classify(&cases[i].o, 0);
        ck_assert_msg(got == cases[i].want, "case %zu (%ld %s %d): got %s, want %s", i,
                      cases[i].o.status, cases[i].o.error_code ? cases[i].o.error_code : "-",
                      cases[i].o.transport_error, retry_class_name(got),
                      retry_class_name(cases[i].want));
    }
    ck_assert_int_eq(retry_classify(NULL, 0), RETRY_FATAL);
    ck_assert(!retry_is_throttle_code(NULL));
    ck_assert(!retry_is_throttle_code(""));
    ck_assert(!retry_is_throttle_code("Throttling2"));
    ck_assert(!retry_is_throttle_code("Throttlin"));
}
END_TEST

/* Signature errors are skew only when the clocks really differ; the offset
 * already in use counts. */
START_TEST(signature_errors_and_skew_threshold)
{
    const char *codes[] = { "SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure" };
    const int64_t local = 1700000000000LL;

    for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
        struct retry_outcome near = { .status = 403,
                                      .error_code = codes[i],
                                      .server_time_ms = local + RETRY_SKEW_THRESHOLD_MS,
                                      .local_time_ms = local };
        struct retry_outcome far = near, nodate = near;
        far.server_time_ms = local - RETRY_SKEW_THRESHOLD_MS - 1;
        nodate.server_time_ms = 0;
        ck_assert(retry_is_maybe_skew_code(codes[i]));
        ck_assert_int_eq(retry_classify(&near, 0), RETRY_FATAL);
        ck_assert_int_eq(retry_classify(&far, 0), RETRY_CLOCK_SKEW);
        ck_assert_int_eq(retry_classify(&nodate, 0), RETRY_FATAL);
        /* Signed with the offset that makes our clock agree: not skew. */
        ck_assert_int_eq(retry_classify(&far, far.server_time_ms - local), RETRY_FATAL);
        /* An outdated offset: skew again. */
        ck_assert_int_eq(retry_classify(&near, -RETRY_SKEW_THRESHOLD_MS), RETRY_CLOCK_SKEW);
    }
}
END_TEST

/* ---- standard mode ------------------------------------------------------------ */

START_TEST(backoff_bounds_per_attempt)
{
    const double values[] = { 0.0, 0.5, 0.999999 };
    struct retry_quota q;

    for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
        struct seq_random rnd = { &values[v], 1, 0 };
        struct retry_policy p = { .max_attempts = 10, .random = seq_next, .random_ctx = &rnd };
        struct retry_state s;
        struct retry_outcome o = code_outcome(500, NULL);
        ck_assert_int_eq(retry_quota_init(&q, 0), 0);
        retry_state_init(&s, 0);
        for (unsigned n = 1; n < 10; n++) {
            struct retry_decision d;
            int64_t ceiling = MIN((int64_t)RETRY_BASE_DELAY_MS << (n - 1), RETRY_MAX_BACKOFF_MS);
            ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &o, &d), 0);
            ck_assert(d.retry);
            ck_assert_int_eq(d.cls, RETRY_TRANSIENT);
            ck_assert_str_eq(d.reason, "transient error");
            ck_assert_int_eq(d.delay_ms, (int64_t)(values[v] * (double)ceiling));
            ck_assert_int_lt(d.delay_ms, ceiling);
            ck_assert_int_eq(s.attempts, n);
        }
    }
}
END_TEST

START_TEST(backoff_with_custom_base_and_cap)
{
    struct retry_policy p = {
        .max_attempts = 6, .base_delay_ms = 100, .max_backoff_ms = 350, .random = fixed_half
    };
    struct retry_quota q;
    struct retry_state s;
    struct retry_outcome o = code_outcome(400, "Throttling");
    const int64_t ceilings[] = { 100, 200, 350, 350, 350 };

    retry_quota_init(&q, 0);
    retry_state_init(&s, 0);
    for (size_t i = 0; i < ARRAY_SIZE(ceilings); i++) {
        struct retry_decision d;
        ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &o, &d), 0);
        ck_assert(d.retry);
        ck_assert_str_eq(d.reason, "throttled");
        ck_assert_int_eq(d.delay_ms, ceilings[i] / 2);
    }
}
END_TEST

/* Without an injected source the delays still stay within their ceiling. */
START_TEST(default_random_stays_in_bounds)
{
    struct retry_policy p = { .max_attempts = 8 };
    struct retry_quota q;
    struct retry_outcome o = transport(-ECONNRESET);
    bool some_nonzero = false;

    for (int round = 0; round < 200; round++) {
        struct retry_state s;
        retry_quota_init(&q, 0);
        retry_state_init(&s, 0);
        for (unsigned n = 1; n < 8; n++) {
            struct retry_decision d;
            int64_t ceiling = MIN((int64_t)RETRY_BASE_DELAY_MS << (n - 1), RETRY_MAX_BACKOFF_MS);
            ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &o, &d), 0);
            ck_assert(d.retry);
            ck_assert_int_ge(d.delay_ms, 0);
            ck_assert_int_lt(d.delay_ms, ceiling);
            some_nonzero |= d.delay_ms > 0;
        }
    }
    ck_assert(some_nonzero);
}
END_TEST

START_TEST(max_attempts_stop_retries)
{
    struct retry_policy p = { .random = fixed_half };
    struct retry_policy once = { .max_attempts = 1, .random = fixed_half };
    struct retry_quota q;
    struct retry_state s;
    struct retry_decision d;
    struct retry_outcome o = code_outcome(503, NULL);

    retry_quota_init(&q, 0);
    retry_state_init(&s, 0);
    for (unsigned n = 1; n < RETRY_DEFAULT_MAX_ATTEMPTS; n++) {
        ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &o, &d), 0);
        ck_assert(d.retry);
    }
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &o, &d), 0);
    ck_assert(!d.retry);
    ck_assert_str_eq(d.reason, "max attempts reached");
    ck_assert_int_eq(d.cls, RETRY_TRANSIENT);
    ck_assert_uint_eq(s.attempts, RETRY_DEFAULT_MAX_ATTEMPTS);
    ck_assert_int_eq(q.available,
                     RETRY_QUOTA_INITIAL - (RETRY_DEFAULT_MAX_ATTEMPTS - 1) * RETRY_COST);

    retry_state_init(&s, 0);
    ck_assert_int_eq(retry_after_attempt(&once, &q, &s, &o, &d), 0);
    ck_assert(!d.retry);
    ck_assert_str_eq(d.reason, "max attempts reached");
}
END_TEST

START_TEST(fatal_errors_are_not_retried)
{
    struct retry_policy p = { .random = fixed_half };
    struct retry_quota q;
    struct retry_state s;
    struct retry_decision d;
    struct retry_outcome denied = code_outcome(403, "AccessDenied");
    struct retry_outcome big = transport(-EMSGSIZE);

    retry_quota_init(&q, 0);
    retry_state_init(&s, 0);
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &denied, &d), 0);
    ck_assert(!d.retry);
    ck_assert_int_eq(d.cls, RETRY_FATAL);
    ck_assert_str_eq(d.reason, "not retryable");
    retry_state_init(&s, 0);
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &big, &d), 0);
    ck_assert(!d.retry);
    ck_assert_int_eq(q.available, RETRY_QUOTA_INITIAL);
}
END_TEST

/* Every retry pays RETRY_COST (RETRY_TIMEOUT_COST after a timeout); when
 * the quota cannot pay, the error is returned at once. */
START_TEST(quota_exhaustion_stops_retries)
{
    struct retry_policy p = { .max_attempts = 1000, .random = fixed_half };
    struct retry_quota q;
    struct retry_state s;
    struct retry_decision d;
    struct retry_outcome thr = code_outcome(400, "Throttling");
    struct retry_outcome tmo = transport(-ETIMEDOUT);
    int retries = 0;

    retry_quota_init(&q, 0);
    retry_state_init(&s, 0);
    for (;;) {
        ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &thr, &d), 0);
        if (!d.retry)
            break;
        retries++;
    }
    ck_assert_int_eq(retries, RETRY_QUOTA_INITIAL / RETRY_COST);
    ck_assert_str_eq(d.reason, "retry quota exhausted");
    ck_assert_int_eq(d.cls, RETRY_THROTTLE);
    ck_assert_int_eq(q.available, RETRY_QUOTA_INITIAL % RETRY_COST);

    retries = 0;
    retry_quota_init(&q, 0);
    retry_state_init(&s, 0);
    for (;;) {
        ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &tmo, &d), 0);
        if (!d.retry)
            break;
        retries++;
    }
    ck_assert_int_eq(retries, RETRY_QUOTA_INITIAL / RETRY_TIMEOUT_COST);
    ck_assert_str_eq(d.reason, "retry quota exhausted");

    /* A clock-skew retry does not need quota. */
    {
        struct retry_outcome skew = { .status = 403,
                                      .error_code = "RequestTimeTooSkewed",
                                      .server_time_ms = 5000000,
                                      .local_time_ms = 1000000 };
        retry_state_init(&s, 0);
        ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &skew, &d), 0);
        ck_assert(d.retry);
        ck_assert_int_eq(q.available, 0);
    }
}
END_TEST

START_TEST(success_refunds_quota)
{
    struct retry_policy p = { .random = fixed_half };
    struct retry_quota q;
    struct retry_state s;
    struct retry_decision d;
    struct retry_outcome tmo = transport(-ETIMEDOUT), thr = code_outcome(429, NULL);
    int before;

    retry_quota_init(&q, 100);
    ck_assert_int_eq(q.max, 100);
    /* Success on the first attempt: +1, but never above the maximum. */
    retry_state_init(&s, 0);
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &ok_200, &d), 0);
    ck_assert(!d.retry);
    ck_assert_int_eq(d.cls, RETRY_OK);
    ck_assert_str_eq(d.reason, "success");
    ck_assert_int_eq(q.available, 100);

    /* timeout (pays 10), throttle (pays 5), success refunds the last 5 */
    retry_state_init(&s, 0);
    retry_after_attempt(&p, &q, &s, &tmo, &d);
    ck_assert_int_eq(q.available, 100 - RETRY_TIMEOUT_COST);
    retry_after_attempt(&p, &q, &s, &thr, &d);
    ck_assert_int_eq(q.available, 100 - RETRY_TIMEOUT_COST - RETRY_COST);
    before = q.available;
    retry_after_attempt(&p, &q, &s, &ok_200, &d);
    ck_assert_int_eq(q.available, before + RETRY_COST);
    ck_assert_int_eq(s.acquired, 0);

    /* a plain success afterwards gives back 1 */
    retry_state_init(&s, 0);
    retry_after_attempt(&p, &q, &s, &ok_200, &d);
    ck_assert_int_eq(q.available, before + RETRY_COST + RETRY_NO_RETRY_INCREMENT);
}
END_TEST

START_TEST(clock_skew_is_corrected_once)
{
    struct retry_policy p = { .random = fixed_half };
    struct retry_quota q;
    struct retry_state s;
    struct retry_decision d;
    const int64_t local = 1700000000000LL, ahead = 7 * 60 * 1000;
    struct retry_outcome skew = { .status = 403,
                                  .error_code = "RequestTimeTooSkewed",
                                  .server_time_ms = local + ahead,
                                  .local_time_ms = local };

    retry_quota_init(&q, 0);
    retry_state_init(&s, 0);
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &skew, &d), 0);
    ck_assert(d.retry);
    ck_assert_int_eq(d.cls, RETRY_CLOCK_SKEW);
    ck_assert_str_eq(d.reason, "clock skew");
    ck_assert_int_eq(d.delay_ms, 0);
    ck_assert_int_eq(d.clock_offset_ms, ahead);
    ck_assert_int_eq(s.clock_offset_ms, ahead);
    ck_assert_int_eq(q.available, RETRY_QUOTA_INITIAL);

    /* The corrected request still fails: give up rather than loop. */
    skew.local_time_ms += 1000;
    skew.server_time_ms += 1000 + ahead;
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &skew, &d), 0);
    ck_assert(!d.retry);
    ck_assert_str_eq(d.reason, "clock skew persists");
    ck_assert_int_eq(d.clock_offset_ms, ahead);

    /* A signature error with a far-off Date and a known offset of 0. */
    {
        struct retry_outcome sig = { .status = 403,
                                     .error_code = "SignatureDoesNotMatch",
                                     .server_time_ms = local - 10 * 60 * 1000,
                                     .local_time_ms = local };
        retry_state_init(&s, 0);
        ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &sig, &d), 0);
        ck_assert(d.retry);
        ck_assert_int_eq(d.clock_offset_ms, -10 * 60 * 1000);
    }
}
END_TEST

START_TEST(bad_arguments)
{
    struct retry_policy p = { 0 }, negative = { .base_delay_ms = -1 };
    struct retry_quota q;
    struct retry_state s;
    struct retry_decision d = { .delay_ms = 12345 };

    ck_assert_int_eq(retry_quota_init(&q, -1), -EINVAL);
    ck_assert_int_eq(retry_quota_init(NULL, 0), -EINVAL);
    retry_quota_init(&q, 0);
    retry_state_init(&s, 0);
    ck_assert_int_eq(retry_after_attempt(NULL, &q, &s, &ok_200, &d), -EINVAL);
    ck_assert_int_eq(retry_after_attempt(&p, NULL, &s, &ok_200, &d), -EINVAL);
    ck_assert_int_eq(retry_after_attempt(&p, &q, NULL, &ok_200, &d), -EINVAL);
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, NULL, &d), -EINVAL);
    ck_assert_int_eq(retry_after_attempt(&p, &q, &s, &ok_200, NULL), -EINVAL);
    ck_assert_int_eq(retry_after_attempt(&negative, &q, &s, &ok_200, &d), -EINVAL);
    ck_assert_int_eq(d.delay_ms, 12345); /* untouched */
    ck_assert_uint_eq(s.attempts, 0);
}
END_TEST

/* ---- budgets ------------------------------------------------------------------- */

static const struct retry_budget_key ec2_key = { "111111111111", "eu-central-1", "ec2",
                                                 "non-mutating" };

static struct retry_budget_info info_of(struct retry_budgets *b, int64_t now,
                                        const struct retry_budget_key *k)
{
    struct retry_budget_info i;
    ck_assert_int_eq(retry_budget_info(b, now, k, &i), 0);
    return i;
}

START_TEST(family_mapping)
{
    ck_assert_str_eq(retry_budget_family("ec2", "DescribeInstances", false), "unfiltered");
    ck_assert_str_eq(retry_budget_family("ec2", "DescribeSnapshots", false), "unfiltered");
    ck_assert_str_eq(retry_budget_family("ec2", "DescribeInstances", true), "non-mutating");
    ck_assert_str_eq(retry_budget_family("ec2", "DescribeVpcs", false), "non-mutating");
    ck_assert_str_eq(retry_budget_family("ec2", "GetEbsEncryptionByDefault", false),
                     "non-mutating");
    ck_assert_str_eq(retry_budget_family("ec2", "CreateTags", false), "mutating");
    ck_assert_str_eq(retry_budget_family("apigateway", "GetResources", false), "GetResources");
    ck_assert_str_eq(retry_budget_family("apigateway", "GetRestApis", false), "management");
    ck_assert_str_eq(retry_budget_family("cloudtrail", "LookupEvents", false), "LookupEvents");
    ck_assert_str_eq(retry_budget_family("cloudtrail", "DescribeTrails", false), "default");
    ck_assert_str_eq(retry_budget_family("s3", "ListBuckets", false), "default");
    ck_assert_str_eq(retry_budget_family(NULL, "X", false), "default");
}
END_TEST

START_TEST(seeded_limits_times_share)
{
    struct retry_budgets *b = NULL;
    struct retry_budget_key k = ec2_key;
    struct retry_budget_info i;
    const double share = RETRY_BUDGET_DEFAULT_SHARE;

    ck_assert_int_eq(retry_budgets_new(0, &b), 0);
    ck_assert_int_eq(retry_budget_acquire(b, 0, &k), 0);
    i = info_of(b, 0, &k);
    ck_assert_double_eq_tol(i.capacity, 100 * share, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 20 * share, 1e-9);
    ck_assert_double_eq_tol(i.share, share, 1e-9);
    ck_assert_double_eq_tol(i.factor, 1.0, 1e-9);
    ck_assert_double_eq_tol(i.tokens, 100 * share - 1, 1e-9);

    k.family = "unfiltered";
    retry_budget_acquire(b, 0, &k);
    i = info_of(b, 0, &k);
    ck_assert_double_eq_tol(i.capacity, 50 * share, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 10 * share, 1e-9);

    k.service = "apigateway";
    k.family = "GetResources";
    retry_budget_acquire(b, 0, &k);
    i = info_of(b, 0, &k);
    ck_assert_double_eq_tol(i.capacity, 5 * share, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 2.5 * share, 1e-9);

    k.family = "management";
    retry_budget_acquire(b, 0, &k);
    i = info_of(b, 0, &k);
    ck_assert_double_eq_tol(i.rate_per_s, 10 * share, 1e-9);

    /* an unknown service gets the conservative default */
    k.service = "kms";
    k.family = "default";
    retry_budget_acquire(b, 0, &k);
    i = info_of(b, 0, &k);
    ck_assert_double_eq_tol(i.capacity, 10 * share, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 5 * share, 1e-9);

    /* a capacity below one token is rounded up to one */
    k.service = "cloudtrail";
    k.family = "LookupEvents";
    ck_assert_int_eq(retry_budgets_set_share(b, "cloudtrail", 0.1), 0);
    retry_budget_acquire(b, 0, &k);
    i = info_of(b, 0, &k);
    ck_assert_double_eq_tol(i.capacity, 1.0, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 2 * 0.1, 1e-9);
    retry_budgets_free(b);
}
END_TEST

START_TEST(share_and_limits_are_configurable)
{
    struct retry_budgets *b = NULL;
    struct retry_budget_key ec2 = ec2_key;
    struct retry_budget_key iam = { "111111111111", "us-east-1", "iam", "default" };
    struct retry_budget_info i;

    ck_assert_int_eq(retry_budgets_new(1.0, &b), 0);
    ck_assert_int_eq(retry_budgets_set_share(b, "ec2", 0.25), 0);
    ck_assert_int_eq(retry_budgets_set_limit(b, "iam", NULL, 20, 8), 0);
    retry_budget_acquire(b, 0, &ec2);
    retry_budget_acquire(b, 0, &iam);
    i = info_of(b, 0, &ec2);
    ck_assert_double_eq_tol(i.capacity, 100 * 0.25, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 20 * 0.25, 1e-9);
    i = info_of(b, 0, &iam);
    ck_assert_double_eq_tol(i.capacity, 20, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 8, 1e-9);

    /* changes apply to existing buckets; a family entry beats the service
     * default */
    ck_assert_int_eq(retry_budgets_set_limit(b, "iam", "default", 4, 2), 0);
    ck_assert_int_eq(retry_budgets_set_share(b, NULL, 0.5), 0);
    i = info_of(b, 0, &iam);
    ck_assert_double_eq_tol(i.capacity, 4 * 0.5, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, 2 * 0.5, 1e-9);
    ck_assert_double_eq_tol(i.tokens, 4 * 0.5, 1e-9); /* clamped to the new capacity */
    i = info_of(b, 0, &ec2);
    ck_assert_double_eq_tol(i.share, 0.25, 1e-9); /* the per-service share stays */

    ck_assert_int_eq(retry_budgets_set_share(b, "ec2", 0), -EINVAL);
    ck_assert_int_eq(retry_budgets_set_share(b, "ec2", 1.5), -EINVAL);
    ck_assert_int_eq(retry_budgets_set_share(b, "", 0.5), -EINVAL);
    ck_assert_int_eq(retry_budgets_set_limit(b, "iam", NULL, 0.5, 1), -EINVAL);
    ck_assert_int_eq(retry_budgets_set_limit(b, "iam", NULL, 10, 0), -EINVAL);
    ck_assert_int_eq(retry_budgets_set_limit(b, "iam", "", 10, 1), -EINVAL);
    ck_assert_int_eq(retry_budgets_set_limit(b, NULL, NULL, 10, 1), -EINVAL);
    ck_assert_int_eq(retry_budgets_set_limit(b, "iam", NULL, INFINITY, 1), -EINVAL);
    retry_budgets_free(b);

    b = NULL;
    ck_assert_int_eq(retry_budgets_new(-0.1, &b), -EINVAL);
    ck_assert_int_eq(retry_budgets_new(1.01, &b), -EINVAL);
    ck_assert_int_eq(retry_budgets_new(NAN, &b), -EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_ptr_null(retry_budgets_free(NULL));
}
END_TEST

START_TEST(bucket_refill_math)
{
    struct retry_budgets *b = NULL;
    struct retry_budget_key k = ec2_key;
    const double cap = 100 * RETRY_BUDGET_DEFAULT_SHARE, rate = 20 * RETRY_BUDGET_DEFAULT_SHARE;
    const int64_t t0 = 1000000, per_token = (int64_t)(1000 / rate);
    int64_t w;

    ck_assert_int_eq(retry_budgets_new(0, &b), 0);
    /* a new bucket is full: the whole burst goes at once */
    for (int n = 0; n < (int)cap; n++)
        ck_assert_int_eq(retry_budget_acquire(b, t0, &k), 0);
    w = retry_budget_acquire(b, t0, &k);
    ck_assert_int_eq(w, per_token);
    /* halfway there: half the wait remains; nothing was taken meanwhile */
    ck_assert_int_eq(retry_budget_acquire(b, t0 + per_token / 2, &k), per_token - per_token / 2);
    ck_assert_int_eq(retry_budget_acquire(b, t0 + per_token, &k), 0);
    ck_assert_int_gt(retry_budget_acquire(b, t0 + per_token, &k), 0);
    /* a long pause refills to capacity, not beyond */
    ck_assert_double_eq_tol(info_of(b, t0 + 3600000, &k).tokens, cap, 1e-9);
    /* a clock that steps back adds nothing */
    ck_assert_double_eq_tol(info_of(b, t0, &k).tokens, cap, 1e-9);

    /* other accounts and regions have their own buckets */
    {
        struct retry_budget_key other = k;
        other.region = "eu-west-1";
        for (int n = 0; n < (int)cap; n++)
            ck_assert_int_eq(retry_budget_acquire(b, t0, &other), 0);
        other.account = "222222222222";
        ck_assert_int_eq(retry_budget_acquire(b, t0, &other), 0);
    }
    retry_budgets_free(b);
}
END_TEST

START_TEST(adaptive_decrease_and_recovery)
{
    struct retry_budgets *b = NULL;
    struct retry_budget_key k = ec2_key;
    const double rate = 20 * RETRY_BUDGET_DEFAULT_SHARE;
    int64_t t = 5000000;
    struct retry_budget_info i;
    double expect;

    ck_assert_int_eq(retry_budgets_new(0, &b), 0);
    ck_assert_int_eq(retry_budget_acquire(b, t, &k), 0);

    /* a throttle halves the factor and empties the bucket */
    ck_assert_int_eq(retry_budget_throttled(b, t, &k), 0);
    i = info_of(b, t, &k);
    ck_assert_double_eq_tol(i.factor, 0.5, 1e-9);
    ck_assert_double_eq_tol(i.rate_per_s, rate * 0.5, 1e-9);
    ck_assert_double_eq_tol(i.tokens, 0, 1e-9);
    ck_assert_int_eq(retry_budget_acquire(b, t, &k), (int64_t)ceil(1000 / (rate * 0.5)));

    /* more throttles for requests already in flight: no further decrease */
    ck_assert_int_eq(retry_budget_throttled(b, t + RETRY_BUDGET_ADAPT_INTERVAL_MS - 1, &k), 0);
    ck_assert_double_eq_tol(info_of(b, t, &k).factor, 0.5, 1e-9);
    /* a throttle after the interval halves again */
    t += RETRY_BUDGET_ADAPT_INTERVAL_MS;
    ck_assert_int_eq(retry_budget_throttled(b, t, &k), 0);
    ck_assert_double_eq_tol(info_of(b, t, &k).factor, 0.25, 1e-9);

    /* the factor never drops below the floor */
    for (int n = 0; n < 20; n++) {
        t += RETRY_BUDGET_ADAPT_INTERVAL_MS;
        retry_budget_throttled(b, t, &k);
    }
    ck_assert_double_eq_tol(info_of(b, t, &k).factor, RETRY_BUDGET_MIN_FACTOR, 1e-9);

    /* successes within the interval do not raise it */
    ck_assert_int_eq(retry_budget_succeeded(b, t + RETRY_BUDGET_ADAPT_INTERVAL_MS - 1, &k), 0);
    ck_assert_double_eq_tol(info_of(b, t, &k).factor, RETRY_BUDGET_MIN_FACTOR, 1e-9);

    /* one step per interval of successful traffic, up to 1 */
    expect = RETRY_BUDGET_MIN_FACTOR;
    for (int n = 0; n < 30; n++) {
        t += RETRY_BUDGET_ADAPT_INTERVAL_MS;
        retry_budget_succeeded(b, t, &k);
        retry_budget_succeeded(b, t + 1, &k); /* same interval: no effect */
        expect = MIN(1.0, expect + RETRY_BUDGET_RECOVERY_STEP);
        ck_assert_double_eq_tol(info_of(b, t, &k).factor, expect, 1e-9);
    }
    ck_assert_double_eq_tol(info_of(b, t, &k).factor, 1.0, 1e-9);
    ck_assert_double_eq_tol(info_of(b, t, &k).rate_per_s, rate, 1e-9);
    retry_budgets_free(b);
}
END_TEST

START_TEST(budget_bad_keys)
{
    struct retry_budgets *b = NULL;
    struct retry_budget_key k = ec2_key;
    struct retry_budget_info i;

    ck_assert_int_eq(retry_budgets_new(0, &b), 0);
    ck_assert_int_eq(retry_budget_info(b, 0, &k, &i), -ENOENT);
    k.account = NULL;
    ck_assert_int_eq(retry_budget_acquire(b, 0, &k), -EINVAL);
    k = ec2_key;
    k.family = "";
    ck_assert_int_eq(retry_budget_acquire(b, 0, &k), -EINVAL);
    ck_assert_int_eq(retry_budget_throttled(b, 0, &k), -EINVAL);
    ck_assert_int_eq(retry_budget_succeeded(b, 0, &k), -EINVAL);
    ck_assert_int_eq(retry_budget_acquire(NULL, 0, &ec2_key), -EINVAL);
    ck_assert_int_eq(retry_budget_acquire(b, 0, NULL), -EINVAL);
    ck_assert_int_eq(retry_budget_info(b, 0, &ec2_key, NULL), -EINVAL);
    retry_budgets_free(b);
}
END_TEST

static Suite *retry_suite(void)
{
    Suite *s = suite_create("retry");
    TCase *std = tcase_create("standard");
    TCase *bud = tcase_create("budgets");
    tcase_add_test(std, tables_match_botocore);
    tcase_add_test(std, classification_table);
    tcase_add_test(std, signature_errors_and_skew_threshold);
    tcase_add_test(std, backoff_bounds_per_attempt);
    tcase_add_test(std, backoff_with_custom_base_and_cap);
    tcase_add_test(std, default_random_stays_in_bounds);
    tcase_add_test(std, max_attempts_stop_retries);
    tcase_add_test(std, fatal_errors_are_not_retried);
    tcase_add_test(std, quota_exhaustion_stops_retries);
    tcase_add_test(std, success_refunds_quota);
    tcase_add_test(std, clock_skew_is_corrected_once);
    tcase_add_test(std, bad_arguments);
    tcase_add_test(bud, family_mapping);
    tcase_add_test(bud, seeded_limits_times_share);
    tcase_add_test(bud, share_and_limits_are_configurable);
    tcase_add_test(bud, bucket_refill_math);
    tcase_add_test(bud, adaptive_decrease_and_recovery);
    tcase_add_test(bud, budget_bad_keys);
    suite_add_tcase(s, std);
    suite_add_tcase(s, bud);
    return s;
}

int main(void)
{
    return tu_run_suite(retry_suite());
}
