#include "retry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- classification ------------------------------------------------------ */

/* botocore ThrottledRetryableChecker._THROTTLED_ERROR_CODES. */
static const char *const throttle_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

/* botocore TransientRetryableChecker._TRANSIENT_ERROR_CODES. */
static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

static const char *const skew_codes[] = {
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
};

static const char *const maybe_skew_codes[] = {
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
};

static bool in_table(const char *const *table, size_t n, const char *code, size_t len)
{
    if (!code)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strlen(table[i]) == len && memcmp(table[i], code, len) == 0)
            return true;
    return false;
}

/* The bare code: after the last '#', before the first ':'. */
static const char *bare_code(const char *code, size_t *ret_len)
{
    const char *hash, *colon;
    if (!code)
        return NULL;
    hash = strrchr(code, '#');
    if (hash)
        code = hash + 1;
    colon = strchr(code, ':');
    *ret_len = colon ? (size_t)(colon - code) : strlen(code);
    return code;
}

#define CODE_CHECK(name, table)                               \
    bool name(const char *code)                               \
    {                                                         \
        size_t len = 0;                                       \
        code = bare_code(code, &len);                         \
        return in_table(table, ARRAY_SIZE(table), code, len); \
    }

CODE_CHECK(retry_is_throttle_code, throttle_codes)
CODE_CHECK(retry_is_transient_code, transient_codes)
CODE_CHECK(retry_is_skew_code, skew_codes)
CODE_CHECK(retry_is_maybe_skew_code, maybe_skew_codes)

static enum retry_class classify_transport(int error)
{
    switch (error) {
    case -ETIMEDOUT: return RETRY_TIMEOUT;
    case -ECONNREFUSED:
    case -ECONNRESET:
    case -ECONNABORTED:
    case -EHOSTUNREACH:
    case -ENETUNREACH:
    case -ENOTCONN:
    case -EPIPE:
    case -EPROTO:
    case -EIO: return RETRY_TRANSIENT;
    default: return RETRY_FATAL;
    }
}

enum retry_class retry_classify(const struct retry_outcome *o, int64_t clock_offset_ms)
{
    const char *code;

    if (!o)
        return RETRY_FATAL;
    if (o->transport_error < 0)
        return classify_transport(o->transport_error);
    code = o->error_code && *o->error_code ? o->error_code : NULL;
    if (!code && o->status >= 200 && o->status < 300)
        return RETRY_OK;
    if (retry_is_throttle_code(code) || o->status == 429)
        return RETRY_THROTTLE;
    if (retry_is_skew_code(code) && o->server_time_ms > 0)
        return RETRY_CLOCK_SKEW;
    if (retry_is_maybe_skew_code(code) && o->server_time_ms > 0) {
        int64_t skew = o->server_time_ms - (o->local_time_ms + clock_offset_ms);
        if (llabs(skew) > RETRY_SKEW_THRESHOLD_MS)
            return RETRY_CLOCK_SKEW;
    }
    if (retry_is_transient_code(code))
        return RETRY_TRANSIENT;
    switch (o->status) {
    case 500:
    case 502:
    case 503:
    case 504: return RETRY_TRANSIENT;
    default: return RETRY_FATAL;
    }
}

const char *retry_class_name(enum retry_class c)
{
    switch (c) {
    case RETRY_OK: return "success";
    case RETRY_FATAL: return "not retryable";
    case RETRY_TRANSIENT: return "transient error";
    case RETRY_TIMEOUT: return "timeout";
    case RETRY_THROTTLE: return "throttled";
    case RETRY_CLOCK_SKEW: return "clock skew";
    }
    return "unknown";
}

/* ---- standard retry mode ------------------------------------------------- */

int retry_quota_init(struct retry_quota *q, int capacity)
{
    if (!q || capacity < 0)
        return -EINVAL;
    q->max = capacity ? capacity : RETRY_QUOTA_INITIAL;
    q->available = q->max;
    return 0;
}

void retry_state_init(struct retry_state *s, int64_t clock_offset_ms)
{
    s->attempts = 0;
    s->acquired = 0;
    s->skew_retried = false;
    s->clock_offset_ms = clock_offset_ms;
}

/* A uniform double in [0, 1) from 53 random bits; 0 if the kernel's
 * generator fails, which only makes the first retries faster. */
static double default_random(void *ctx)
{
    uint64_t v = 0;
    (void)ctx;
    if (random_bytes(&v, sizeof(v)) < 0)
        return 0.0;
    return (double)(v >> 11) / 9007199254740992.0; /* 2^53 */
}

static int64_t backoff_ms(const struct retry_policy *p, unsigned attempts)
{
    int64_t base = p->base_delay_ms ? p->base_delay_ms : RETRY_BASE_DELAY_MS;
    int64_t cap = p->max_backoff_ms ? p->max_backoff_ms : RETRY_MAX_BACKOFF_MS;
    int64_t ceiling = base;
    double r = p->random ? p->random(p->random_ctx) : default_random(NULL);

    /* base * 2^(attempts-1), saturating at cap. */
    for (unsigned i = 1; i < attempts && ceiling < cap; i++)
        ceiling = ceiling > INT64_MAX / 2 ? INT64_MAX : ceiling * 2;
    if (ceiling > cap)
        ceiling = cap;
    if (!(r >= 0.0))
        r = 0.0; /* also catches NaN */
    if (r >= 1.0)
        r = nextafter(1.0, 0.0);
    return (int64_t)(r * (double)ceiling);
}

static void quota_release(struct retry_quota *q, int amount)
{
    q->available = MIN(q->max, q->available + amount);
}

int retry_after_attempt(const struct retry_policy *p, struct retry_quota *q, struct retry_state *s,
                        const struct retry_outcome *o, struct retry_decision *ret)
{
    struct retry_decision d = { 0 };
    unsigned max_attempts;
    int cost;

    if (!p || !q || !s || !o || !ret || p->base_delay_ms < 0 || p->max_backoff_ms < 0)
        return -EINVAL;
    max_attempts = p->max_attempts ? p->max_attempts : RETRY_DEFAULT_MAX_ATTEMPTS;

    s->attempts++;
    d.cls = retry_classify(o, s->clock_offset_ms);
    d.clock_offset_ms = s->clock_offset_ms;

    if (d.cls == RETRY_OK) {
        quota_release(q, s->acquired ? s->acquired : RETRY_NO_RETRY_INCREMENT);
        s->acquired = 0;
        d.reason = "success";
        goto done;
    }
    if (d.cls == RETRY_FATAL) {
        d.reason = "not retryable";
        goto done;
    }
    if (s->attempts >= max_attempts) {
        d.reason = "max attempts reached";
        goto done;
    }
    if (d.cls == RETRY_CLOCK_SKEW) {
        if (s->skew_retried) {
            d.reason = "clock skew persists";
            goto done;
        }
        s->skew_retried = true;
        s->clock_offset_ms = o->server_time_ms - o->local_time_ms;
        d.clock_offset_ms = s->clock_offset_ms;
        d.retry = true;
        d.delay_ms = 0;
        d.reason = retry_class_name(d.cls);
        goto done;
    }
    cost = d.cls == RETRY_TIMEOUT ? RETRY_TIMEOUT_COST : RETRY_COST;
    if (q->available < cost) {
        d.reason = "retry quota exhausted";
        goto done;
    }
    q->available -= cost;
    s->acquired = cost;
    d.retry = true;
    d.delay_ms = backoff_ms(p, s->attempts);
    d.reason = retry_class_name(d.cls);
done:
    *ret = d;
    return 0;
}

/* ---- API budgets ----------------------------------------------------------- */

struct limit {
    char *service; /* "*" = any */
    char *family;  /* "*" = any */
    double burst, rate;
};

struct share {
    char *service;
    double share;
};

struct bucket {
    char *key; /* account \x1f region \x1f service \x1f family */
    char *service, *family;
    double tokens, factor;
    int64_t last_refill_ms, last_change_ms, last_decrease_ms;
    bool refilled_once, decreased_once;
    struct bucket *next;
};

#define BUCKET_SLOTS 256

struct retry_budgets {
    double share;
    struct limit *limits;
    size_t n_limits;
    struct share *shares;
    size_t n_shares;
    struct bucket *slots[BUCKET_SLOTS];
};

static const struct {
    const char *service, *family;
    double burst, rate;
} seeded_limits[] = {
    { "ec2", "unfiltered", 50, 10 },
    { "ec2", "non-mutating", 100, 20 },
    { "ec2", "mutating", 50, 5 },
    { "ec2", "*", 50, 5 },
    { "apigateway", "GetResources", 5, 2.5 },
    { "apigateway", "*", 10, 10 },
    { "cloudtrail", "LookupEvents", 2, 2 },
    { "iam", "*", 10, 5 },
    { "*", "*", 10, 5 },
};

static const char *const ec2_unfiltered_ops[] = {
    "DescribeInstances",      "DescribeInstanceStatus", "DescribeNetworkInterfaces",
    "DescribeSecurityGroups", "DescribeSnapshots",      "DescribeSpotInstanceRequests",
    "DescribeVolumes",
};

const char *retry_budget_family(const char *service, const char *operation, bool narrowed)
{
    if (!service || !operation)
        return "default";
    if (strcmp(service, "ec2") == 0) {
        for (size_t i = 0; i < ARRAY_SIZE(ec2_unfiltered_ops); i++)
            if (strcmp(operation, ec2_unfiltered_ops[i]) == 0 && !narrowed)
                return "unfiltered";
        if (str_has_prefix(operation, "Describe") || str_has_prefix(operation, "Get") ||
            str_has_prefix(operation, "List") || str_has_prefix(operation, "Search"))
            return "non-mutating";
        return "mutating";
    }
    if (strcmp(service, "apigateway") == 0)
        return strcmp(operation, "GetResources") == 0 ? "GetResources" : "management";
    if (strcmp(service, "cloudtrail") == 0 && strcmp(operation, "LookupEvents") == 0)
        return "LookupEvents";
    return "default";
}

static int set_limit(struct retry_budgets *b, const char *service, const char *family, double burst,
                     double rate)
{
    struct limit *nl;
    for (size_t i = 0; i < b->n_limits; i++) {
        if (strcmp(b->limits[i].service, service) == 0 &&
            strcmp(b->limits[i].family, family) == 0) {
            b->limits[i].burst = burst;
            b->limits[i].rate = rate;
            return 0;
        }
    }
    nl = realloc(b->limits, (b->n_limits + 1) * sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    b->limits = nl;
    nl = &b->limits[b->n_limits];
    nl->service = strdup(service);
    nl->family = strdup(family);
    if (!nl->service || !nl->family) {
        free(nl->service);
        free(nl->family);
        return -ENOMEM;
    }
    nl->burst = burst;
    nl->rate = rate;
    b->n_limits++;
    return 0;
}

static bool valid_share(double share)
{
    return share > 0.0 && share <= 1.0;
}

int retry_budgets_new(double share, struct retry_budgets **ret)
{
    struct retry_budgets *b;
    int r;

    if (!ret || (share != 0.0 && !valid_share(share)))
        return -EINVAL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->share = share > 0.0 ? share : RETRY_BUDGET_DEFAULT_SHARE;
    for (size_t i = 0; i < ARRAY_SIZE(seeded_limits); i++) {
        r = set_limit(b, seeded_limits[i].service, seeded_limits[i].family, seeded_limits[i].burst,
                      seeded_limits[i].rate);
        if (r < 0) {
            retry_budgets_free(b);
            return r;
        }
    }
    *ret = b;
    return 0;
}

struct retry_budgets *retry_budgets_free(struct retry_budgets *b)
{
    if (!b)
        return NULL;
    for (size_t i = 0; i < b->n_limits; i++) {
        free(b->limits[i].service);
        free(b->limits[i].family);
    }
    free(b->limits);
    for (size_t i = 0; i < b->n_shares; i++)
        free(b->shares[i].service);
    free(b->shares);
    for (size_t i = 0; i < BUCKET_SLOTS; i++) {
        struct bucket *k = b->slots[i], *next;
        for (; k; k = next) {
            next = k->next;
            free(k->key);
            free(k->service);
            free(k->family);
            free(k);
        }
    }
    free(b);
    return NULL;
}

int retry_budgets_set_limit(struct retry_budgets *b, const char *service, const char *family,
                            double burst, double rate_per_s)
{
    if (!b || !service || !*service || (family && !*family) || !(burst >= 1.0) ||
        !(rate_per_s > 0.0) || isinf(burst) || isinf(rate_per_s))
        return -EINVAL;
    return set_limit(b, service, family ? family : "*", burst, rate_per_s);
}

int retry_budgets_set_share(struct retry_budgets *b, const char *service, double share)
{
    struct share *ns;
    if (!b || !valid_share(share) || (service && !*service))
        return -EINVAL;
    if (!service) {
        b->share = share;
        return 0;
    }
    for (size_t i = 0; i < b->n_shares; i++) {
        if (strcmp(b->shares[i].service, service) == 0) {
            b->shares[i].share = share;
            return 0;
        }
    }
    ns = realloc(b->shares, (b->n_shares + 1) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    b->shares = ns;
    ns[b->n_shares].service = strdup(service);
    if (!ns[b->n_shares].service)
        return -ENOMEM;
    ns[b->n_shares].share = share;
    b->n_shares++;
    return 0;
}

/* Most specific entry wins: (service, family), (service, *), (*, *). */
static const struct limit *find_limit(const struct retry_budgets *b, const char *service,
                                      const char *family)
{
    const struct limit *svc = NULL, *any = NULL;
    for (size_t i = 0; i < b->n_limits; i++) {
        const struct limit *l = &b->limits[i];
        bool svc_match = strcmp(l->service, service) == 0;
        if (svc_match && strcmp(l->family, family) == 0)
            return l;
        if (svc_match && strcmp(l->family, "*") == 0)
            svc = l;
        if (strcmp(l->service, "*") == 0 && strcmp(l->family, "*") == 0)
            any = l;
    }
    return svc ? svc : any;
}

static double find_share(const struct retry_budgets *b, const char *service)
{
    for (size_t i = 0; i < b->n_shares; i++)
        if (strcmp(b->shares[i].service, service) == 0)
            return b->shares[i].share;
    return b->share;
}

static bool key_valid(const struct retry_budget_key *k)
{
    return k && k->account && *k->account && k->region && *k->region && k->service && *k->service &&
           k->family && *k->family;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static char *join_key(const struct retry_budget_key *k)
{
    return str_printf("%s\x1f%s\x1f%s\x1f%s", k->account, k->region, k->service, k->family);
}

static int find_bucket(struct retry_budgets *b, const struct retry_budget_key *k, bool create,
                       struct bucket **ret)
{
    char *key = join_key(k);
    struct bucket *bk;
    uint32_t slot;

    if (!key)
        return -ENOMEM;
    slot = fnv1a(key) % BUCKET_SLOTS;
    for (bk = b->slots[slot]; bk; bk = bk->next) {
        if (strcmp(bk->key, key) == 0) {
            free(key);
            *ret = bk;
            return 0;
        }
    }
    if (!create) {
        free(key);
        return -ENOENT;
    }
    bk = calloc(1, sizeof(*bk));
    if (!bk) {
        free(key);
        return -ENOMEM;
    }
    bk->key = key;
    bk->service = strdup(k->service);
    bk->family = strdup(k->family);
    if (!bk->service || !bk->family) {
        free(bk->service);
        free(bk->family);
        free(bk->key);
        free(bk);
        return -ENOMEM;
    }
    bk->factor = 1.0;
    bk->tokens = -1.0; /* filled to capacity on first use */
    bk->next = b->slots[slot];
    b->slots[slot] = bk;
    *ret = bk;
    return 0;
}

static void bucket_params(const struct retry_budgets *b, const struct bucket *bk,
                          double *ret_capacity, double *ret_rate, double *ret_share)
{
    const struct limit *l = find_limit(b, bk->service, bk->family);
    double share = find_share(b, bk->service);
    *ret_capacity = MAX(1.0, l->burst * share * bk->factor);
    *ret_rate = l->rate * share * bk->factor;
    if (ret_share)
        *ret_share = share;
}

static void refill(const struct retry_budgets *b, struct bucket *bk, int64_t now_ms)
{
    double cap, rate;
    bucket_params(b, bk, &cap, &rate, NULL);
    if (bk->tokens < 0.0) {
        bk->tokens = cap;
    } else if (bk->refilled_once && now_ms > bk->last_refill_ms) {
        bk->tokens += rate * (double)(now_ms - bk->last_refill_ms) / 1000.0;
    }
    if (bk->tokens > cap)
        bk->tokens = cap;
    if (!bk->refilled_once || now_ms > bk->last_refill_ms)
        bk->last_refill_ms = now_ms;
    bk->refilled_once = true;
}

/* The bucket for key, created on first use, refilled to now_ms. */
static int use_bucket(struct retry_budgets *b, int64_t now_ms, const struct retry_budget_key *key,
                      bool create, struct bucket **ret)
{
    int r;
    if (!b || !key_valid(key))
        return -EINVAL;
    r = find_bucket(b, key, create, ret);
    if (r < 0)
        return r;
    refill(b, *ret, now_ms);
    return 0;
}

int64_t retry_budget_acquire(struct retry_budgets *b, int64_t now_ms,
                             const struct retry_budget_key *key)
{
    struct bucket *bk;
    double cap, rate, wait;
    int r = use_bucket(b, now_ms, key, true, &bk);

    if (r < 0)
        return r;
    if (bk->tokens >= 1.0) {
        bk->tokens -= 1.0;
        return 0;
    }
    bucket_params(b, bk, &cap, &rate, NULL);
    wait = ceil((1.0 - bk->tokens) * 1000.0 / rate);
    return wait < 1.0 ? 1 : (int64_t)wait;
}

int retry_budget_throttled(struct retry_budgets *b, int64_t now_ms,
                           const struct retry_budget_key *key)
{
    struct bucket *bk;
    int r = use_bucket(b, now_ms, key, true, &bk);

    if (r < 0)
        return r;
    if (!bk->decreased_once || now_ms - bk->last_decrease_ms >= RETRY_BUDGET_ADAPT_INTERVAL_MS) {
        bk->factor = MAX(RETRY_BUDGET_MIN_FACTOR, bk->factor * 0.5);
        bk->last_decrease_ms = bk->last_change_ms = now_ms;
        bk->decreased_once = true;
    }
    bk->tokens = 0.0;
    return 0;
}

int retry_budget_succeeded(struct retry_budgets *b, int64_t now_ms,
                           const struct retry_budget_key *key)
{
    struct bucket *bk;
    /* Refilling first accounts for the time spent at the old rate. */
    int r = use_bucket(b, now_ms, key, true, &bk);

    if (r < 0)
        return r;
    if (bk->factor < 1.0 && now_ms - bk->last_change_ms >= RETRY_BUDGET_ADAPT_INTERVAL_MS) {
        bk->factor = MIN(1.0, bk->factor + RETRY_BUDGET_RECOVERY_STEP);
        bk->last_change_ms = now_ms;
    }
    return 0;
}

int retry_budget_info(struct retry_budgets *b, int64_t now_ms, const struct retry_budget_key *key,
                      struct retry_budget_info *ret)
{
    struct bucket *bk;
    struct retry_budget_info info;
    int r;

    if (!ret)
        return -EINVAL;
    r = use_bucket(b, now_ms, key, false, &bk);
    if (r < 0)
        return r;
    bucket_params(b, bk, &info.capacity, &info.rate_per_s, &info.share);
    info.tokens = bk->tokens;
    info.factor = bk->factor;
    *ret = info;
    return 0;
}
