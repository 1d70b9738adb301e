#include "sigv4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"

/* Year 10000 in Unix seconds: X-Amz-Date has four year digits. */
#define MAX_TIME_S 253402300800LL

enum placement { IN_HEADERS, IN_QUERY };

/* A header prepared for the canonical form. */
struct chdr {
    char *name;  /* lower case */
    char *value; /* trimmed, blank runs collapsed */
    size_t order;
};

/* A query parameter in canonical (encoded) form. */
struct qparam {
    char *key;
    char *value;
};

static const char *const unsigned_headers[] = {
    "connection", "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id",
};

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static bool is_upper_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int append_encoded(struct buf *b, const char *s, size_t len, bool keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int r;
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            r = buf_append_char(b, (char)c);
        } else {
            char esc[3] = { '%', digits[c >> 4], digits[c & 0xf] };
            r = buf_append(b, esc, sizeof(esc));
        }
        if (r < 0)
            return r;
    }
    return 0;
}

char *sigv4_uri_encode(const char *s, size_t len, bool keep_slash)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    if (append_encoded(&b, s, len, keep_slash) < 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

/* Percent-decode s[0..len) into a malloc'd string (may contain any byte
 * except NUL, which is refused).  Returns 0, -EINVAL or -ENOMEM. */
static int percent_decode(const char *s, size_t len, char **ret)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (len - i < 3) {
                free(out);
                return -EINVAL;
            }
            hi = hex_val((unsigned char)s[i + 1]);
            lo = hex_val((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return -EINVAL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *ret = out;
    return 0;
}

static bool is_token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_token_char((unsigned char)*s))
            return false;
    return true;
}

/* Region, service and access key id go into the credential scope, where a
 * '/' or a blank would change its meaning. */
static bool is_scope_part(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c >= 0x7f || c == '/')
            return false;
    }
    return true;
}

/* A header value may be folded (CRLF or LF followed by SP/HT) but must not
 * smuggle a line break or any other control character. */
static bool header_value_ok(const char *v)
{
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\r') {
            if (p[1] != '\n')
                return false;
        } else if (c == '\n') {
            if (p[1] != ' ' && p[1] != '\t')
                return false;
        } else if ((c < ' ' && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Trim and collapse every run of SP, HT, CR and LF into one space. */
static char *normalize_value(const char *v)
{
    size_t n = strlen(v), o = 0;
    char *out = malloc(n + 1);
    bool blank = false;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            blank = o > 0;
            continue;
        }
        if (blank)
            out[o++] = ' ';
        blank = false;
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

static bool is_signed_header(const char *lname)
{
    for (size_t i = 0; i < ARRAY_SIZE(unsigned_headers); i++)
        if (strcmp(lname, unsigned_headers[i]) == 0)
            return false;
    return true;
}

static int chdr_cmp(const void *a, const void *b)
{
    const struct chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

struct signer {
    const struct sigv4_request *req;
    const struct sigv4_credentials *creds;
    const struct sigv4_options *opts;
    enum placement where;
    struct perr *err;

    bool has_token;
    bool sign_token;
    bool add_sha_header;
    char amz_date[17]; /* 20150830T123600Z */
    char date[9];      /* 20150830 */
    char payload[65];  /* hex digest or UNSIGNED-PAYLOAD */
    char *scope;       /* date/region/service/aws4_request */
    char *credential;  /* akid/scope */
    struct chdr *hdrs; /* signed headers, sorted, merged */
    size_t n_hdrs;
    char *signed_names; /* "host;x-amz-date" */
    struct qparam *params;
    size_t n_params;
};

static void signer_free(struct signer *s)
{
    free(s->scope);
    free(s->credential);
    for (size_t i = 0; i < s->n_hdrs; i++) {
        free(s->hdrs[i].name);
        free(s->hdrs[i].value);
    }
    free(s->hdrs);
    free(s->signed_names);
    for (size_t i = 0; i < s->n_params; i++) {
        free(s->params[i].key);
        /* The value may be the session token. */
        str_free_secret(s->params[i].value);
    }
    free(s->params);
}

static int check_inputs(struct signer *s)
{
    const struct sigv4_request *req = s->req;
    const struct sigv4_credentials *cr = s->creds;
    const struct sigv4_options *o = s->opts;
    int64_t secs;

    if (!req || !cr || !o)
        return perr_set(s->err, -EINVAL, "sigv4: missing request, credentials or options");
    if (!is_token(req->method))
        return perr_set(s->err, -EINVAL, "sigv4: invalid HTTP method");
    if (!is_scope_part(cr->access_key_id))
        return perr_set(s->err, -EINVAL,
                        "sigv4: access key id is empty or contains '/', blanks or control "
                        "characters");
    if (!cr->secret_access_key || !*cr->secret_access_key)
        return perr_set(s->err, -EINVAL, "sigv4: secret access key is empty");
    if (!is_scope_part(o->region))
        return perr_set(s->err, -EINVAL,
                        "sigv4: region is empty or contains '/', blanks or control characters");
    if (!is_scope_part(o->service))
        return perr_set(s->err, -EINVAL,
                        "sigv4: service is empty or contains '/', blanks or control characters");
    if (o->time_ms < 0 || o->time_ms / 1000 >= MAX_TIME_S)
        return perr_set(s->err, -EINVAL, "sigv4: signing time %lld ms is out of range",
                        (long long)o->time_ms);
    if (s->where == IN_QUERY && (o->expires_s < 1 || o->expires_s > SIGV4_MAX_EXPIRES_S))
        return perr_set(s->err, -EINVAL, "sigv4: expiry must be between 1 and %d seconds, not %u",
                        SIGV4_MAX_EXPIRES_S, (unsigned)o->expires_s);
    if (req->body_len > 0 && !req->body)
        return perr_set(s->err, -EINVAL, "sigv4: body length without a body");
    if (req->n_headers > 0 && !req->headers)
        return perr_set(s->err, -EINVAL, "sigv4: header count without headers");
    if (cr->session_token) {
        for (const char *p = cr->session_token; *p; p++)
            if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f)
                return perr_set(s->err, -EINVAL,
                                "sigv4: session token contains control characters");
    }

    secs = o->time_ms / 1000;
    {
        time_t t = (time_t)secs;
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            return perr_set(s->err, -EINVAL, "sigv4: signing time is out of range");
        if (strftime(s->amz_date, sizeof(s->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16)
            return perr_set(s->err, -EINVAL, "sigv4: signing time is out of range");
        memcpy(s->date, s->amz_date, 8);
        s->date[8] = '\0';
    }
    s->has_token = cr->session_token && *cr->session_token;
    s->sign_token = s->has_token && !o->omit_session_token;
    s->add_sha_header = s->where == IN_HEADERS && (o->s3 || o->add_content_sha256);
    return 0;
}

static int compute_payload(struct signer *s)
{
    const struct sigv4_request *req = s->req;
    const char *h = req->payload_hash;

    if (!h && s->where == IN_QUERY && s->opts->s3)
        h = SIGV4_UNSIGNED_PAYLOAD;
    if (h) {
        size_t n = strlen(h);
        bool ok = strcmp(h, SIGV4_UNSIGNED_PAYLOAD) == 0;
        if (!ok && n == SHA256_HEX_LEN) {
            ok = true;
            for (size_t i = 0; i < n; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                    ok = false;
        }
        if (!ok)
            return perr_set(s->err, -EINVAL,
                            "sigv4: payload hash must be 64 lower-case hex digits or "
                            "UNSIGNED-PAYLOAD");
        memcpy(s->payload, h, n + 1);
        return 0;
    }
    return sha256_hex(req->body ? req->body : "", req->body_len, s->payload);
}

/* Collect, validate, normalise, sort and merge the headers to sign. */
static int prepare_headers(struct signer *s)
{
    const struct sigv4_request *req = s->req;
    size_t cap = req->n_headers + 3, n = 0, hosts = 0;
    struct chdr *h = calloc(cap, sizeof(*h));
    int r;

    if (!h)
        return -ENOMEM;
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct sigv4_header *in = &req->headers[i];
        char *lname;
        if (!is_token(in->name)) {
            r = perr_set(s->err, -EINVAL, "sigv4: invalid header name at index %zu", i);
            goto fail;
        }
        if (!in->value || !header_value_ok(in->value)) {
            r = perr_set(s->err, -EINVAL,
                         "sigv4: header %s has a missing value or a control character", in->name);
            goto fail;
        }
        if (strcasecmp(in->name, "authorization") == 0 || strcasecmp(in->name, "x-amz-date") == 0 ||
            strcasecmp(in->name, "x-amz-security-token") == 0 ||
            (s->add_sha_header && strcasecmp(in->name, "x-amz-content-sha256") == 0)) {
            r = perr_set(s->err, -EINVAL, "sigv4: header %s is set by the signer", in->name);
            goto fail;
        }
        if (strcasecmp(in->name, "host") == 0)
            hosts++;
        lname = strdup(in->name);
        if (!lname) {
            r = -ENOMEM;
            goto fail;
        }
        str_lower(lname);
        if (!is_signed_header(lname)) {
            free(lname);
            continue;
        }
        h[n].name = lname;
        h[n].order = i;
        h[n].value = normalize_value(in->value);
        n++;
        if (!h[n - 1].value) {
            r = -ENOMEM;
            goto fail;
        }
    }
    if (hosts == 0) {
        r = perr_set(s->err, -EINVAL, "sigv4: request has no Host header");
        goto fail;
    }
    if (hosts > 1) {
        r = perr_set(s->err, -EINVAL, "sigv4: request has more than one Host header");
        goto fail;
    }
    if (s->where == IN_HEADERS) {
        const char *extra_name[3], *extra_value[3];
        size_t ne = 0;
        extra_name[ne] = "x-amz-date";
        extra_value[ne++] = s->amz_date;
        if (s->sign_token) {
            extra_name[ne] = "x-amz-security-token";
            extra_value[ne++] = s->creds->session_token;
        }
        if (s->add_sha_header) {
            extra_name[ne] = "x-amz-content-sha256";
            extra_value[ne++] = s->payload;
        }
        for (size_t i = 0; i < ne; i++) {
            h[n].name = strdup(extra_name[i]);
            h[n].value = normalize_value(extra_value[i]);
            h[n].order = req->n_headers + i;
            n++;
            if (!h[n - 1].name || !h[n - 1].value) {
                r = -ENOMEM;
                goto fail;
            }
        }
    }
    qsort(h, n, sizeof(*h), chdr_cmp);

    /* Merge duplicates: "a:1", "a:2" -> "a:1,2", in the order given. */
    {
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            if (w > 0 && strcmp(h[w - 1].name, h[i].name) == 0) {
                char *joined = str_printf("%s,%s", h[w - 1].value, h[i].value);
                if (!joined) {
                    /* Keep the array consistent for the cleanup below. */
                    for (size_t j = i; j < n; j++) {
                        h[w] = h[j];
                        w++;
                    }
                    n = w;
                    r = -ENOMEM;
                    goto fail;
                }
                str_free_secret(h[w - 1].value);
                h[w - 1].value = joined;
                free(h[i].name);
                str_free_secret(h[i].value);
            } else {
                h[w++] = h[i];
            }
        }
        n = w;
    }
    s->hdrs = h;
    s->n_hdrs = n;

    {
        struct buf b;
        buf_init(&b, SIGV4_MAX_CANONICAL);
        for (size_t i = 0; i < n; i++) {
            r = buf_appendf(&b, "%s%s", i ? ";" : "", h[i].name);
            if (r < 0) {
                buf_free(&b);
                return r == -E2BIG ? perr_set(s->err, r, "sigv4: too many signed headers") : r;
            }
        }
        s->signed_names = buf_steal(&b, NULL);
        if (!s->signed_names)
            return -ENOMEM;
    }
    return 0;
fail:
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        str_free_secret(h[i].value);
    }
    free(h);
    return r;
}

static int push_param(struct signer *s, size_t *cap, const char *key, size_t klen,
                      const char *value, size_t vlen)
{
    struct qparam p = { 0 };
    if (s->n_params == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct qparam *np = realloc(s->params, nc * sizeof(*np));
        if (!np)
            return -ENOMEM;
        s->params = np;
        *cap = nc;
    }
    p.key = sigv4_uri_encode(key, klen, false);
    p.value = sigv4_uri_encode(value, vlen, false);
    if (!p.key || !p.value) {
        free(p.key);
        str_free_secret(p.value);
        return -ENOMEM;
    }
    s->params[s->n_params++] = p;
    return 0;
}

static const char *const auth_params[] = {
    "X-Amz-Algorithm", "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-SignedHeaders",
    "X-Amz-Expires",   "X-Amz-Security-Token", "X-Amz-Signature",
};

/* Parse the caller's query into canonical parameters (and, for query
 * signing, add the authentication parameters). */
static int prepare_query(struct signer *s)
{
    const char *q = s->req->query ? s->req->query : "";
    size_t cap = 0;
    int r;

    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        const char *v = eq ? eq + 1 : q + len;
        size_t vlen = eq ? len - klen - 1 : 0;
        char *key = NULL, *value = NULL;

        if (len == 0) {
            q++;
            continue;
        }
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)q[i];
            if (c <= ' ' || c == 0x7f || c == '#')
                return perr_set(s->err, -EINVAL,
                                "sigv4: query contains a blank, '#' or a control character");
        }
        r = percent_decode(q, klen, &key);
        if (r == 0) {
            r = percent_decode(v, vlen, &value);
            if (r < 0)
                free(key);
        }
        if (r == -EINVAL)
            return perr_set(s->err, r, "sigv4: query has an invalid percent-encoding");
        if (r < 0)
            return r;
        if (s->where == IN_QUERY) {
            for (size_t i = 0; i < ARRAY_SIZE(auth_params); i++) {
                if (strcasecmp(key, auth_params[i]) == 0) {
                    r = perr_set(s->err, -EINVAL, "sigv4: query already contains %s",
                                 auth_params[i]);
                    free(key);
                    str_free_secret(value);
                    return r;
                }
            }
        }
        r = push_param(s, &cap, key, strlen(key), value, strlen(value));
        free(key);
        str_free_secret(value);
        if (r < 0)
            return r;
        q += len;
        if (*q)
            q++;
    }

    if (s->where == IN_QUERY) {
        char expires[16];
        snprintf(expires, sizeof(expires), "%u", (unsigned)s->opts->expires_s);
        const char *kv[][2] = {
            { "X-Amz-Algorithm", SIGV4_ALGORITHM },
            { "X-Amz-Credential", s->credential },
            { "X-Amz-Date", s->amz_date },
            { "X-Amz-SignedHeaders", s->signed_names },
            { "X-Amz-Expires", expires },
            { "X-Amz-Security-Token", s->sign_token ? s->creds->session_token : NULL },
        };
        for (size_t i = 0; i < ARRAY_SIZE(kv); i++) {
            if (!kv[i][1])
                continue;
            r = push_param(s, &cap, kv[i][0], strlen(kv[i][0]), kv[i][1], strlen(kv[i][1]));
            if (r < 0)
                return r;
        }
    }
    if (s->n_params > 1)
        qsort(s->params, s->n_params, sizeof(*s->params), qparam_cmp);
    return 0;
}

/* Remove dot segments and empty segments, keeping a leading and (when
 * something is left) a trailing slash, as botocore does. */
static int normalize_path(const char *path, char **ret)
{
    size_t n = strlen(path);
    char *out = malloc(n + 2);
    size_t o = 0;
    size_t *marks = NULL, nmarks = 0;
    const char *p = path;

    if (!out)
        return -ENOMEM;
    marks = malloc((n / 2 + 2) * sizeof(*marks));
    if (!marks) {
        free(out);
        return -ENOMEM;
    }
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* skip */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (nmarks > 0)
                o = marks[--nmarks];
        } else {
            marks[nmarks++] = o;
            out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
        if (*p)
            p++;
    }
    if (o == 0 || (n > 0 && path[n - 1] == '/'))
        out[o++] = '/';
    out[o] = '\0';
    free(marks);
    *ret = out;
    return 0;
}

static int append_canonical_uri(struct signer *s, struct buf *b)
{
    const char *path = s->req->path ? s->req->path : "";
    char *norm = NULL;
    int r;

    if (*path && *path != '/')
        return perr_set(s->err, -EINVAL, "sigv4: path must start with '/'");
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < ' ' || c == 0x7f || c == '?' || c == '#')
            return perr_set(s->err, -EINVAL,
                            "sigv4: path contains '?', '#' or a control character at offset %zu",
                            (size_t)(p - path));
    }
    if (s->opts->s3) {
        /* S3 signs the path exactly as sent, so it must already be in its
         * canonical encoded form. */
        for (const char *p = path; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (is_unreserved(c) || c == '/')
                continue;
            if (c == '%' && is_upper_hex((unsigned char)p[1]) &&
                is_upper_hex((unsigned char)p[2])) {
                p += 2;
                continue;
            }
            return perr_set(s->err, -EINVAL,
                            "sigv4: S3 path must be percent-encoded (unexpected character at "
                            "offset %zu)",
                            (size_t)(p - path));
        }
        return buf_append_str(b, *path ? path : "/");
    }
    if (s->opts->no_normalize_path) {
        if (!*path)
            return buf_append_char(b, '/');
        return append_encoded(b, path, strlen(path), true);
    }
    r = normalize_path(path, &norm);
    if (r < 0)
        return r;
    r = append_encoded(b, norm, strlen(norm), true);
    free(norm);
    return r;
}

static int build_canonical_request(struct signer *s, char **ret)
{
    struct buf b;
    int r;

    buf_init(&b, SIGV4_MAX_CANONICAL);
    r = buf_appendf(&b, "%s\n", s->req->method);
    if (r < 0)
        goto fail;
    r = append_canonical_uri(s, &b);
    if (r < 0)
        goto fail;
    r = buf_append_char(&b, '\n');
    for (size_t i = 0; r == 0 && i < s->n_params; i++)
        r = buf_appendf(&b, "%s%s=%s", i ? "&" : "", s->params[i].key, s->params[i].value);
    if (r == 0)
        r = buf_append_char(&b, '\n');
    for (size_t i = 0; r == 0 && i < s->n_hdrs; i++)
        r = buf_appendf(&b, "%s:%s\n", s->hdrs[i].name, s->hdrs[i].value);
    if (r == 0)
        r = buf_appendf(&b, "\n%s\n%s", s->signed_names, s->payload);
    if (r < 0)
        goto fail;
    *ret = buf_steal(&b, NULL);
    if (!*ret) {
        r = -ENOMEM;
        goto fail;
    }
    return 0;
fail:
    /* The canonical request may hold the session token. */
    if (b.data)
        explicit_bzero(b.data, b.len);
    buf_free(&b);
    if (r == -E2BIG)
        return perr_set(s->err, r, "sigv4: canonical request larger than %u bytes",
                        SIGV4_MAX_CANONICAL);
    return r;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"), then the signature over the string to sign. */
static int compute_signature(struct signer *s, const char *sts, char out[65])
{
    const char *secret = s->creds->secret_access_key;
    size_t slen = strlen(secret);
    unsigned char k[SHA256_LEN], mac[SHA256_LEN];
    char *seed = malloc(slen + 5);
    int r;

    if (!seed)
        return -ENOMEM;
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, slen + 1);
    r = hmac_sha256(seed, slen + 4, s->date, strlen(s->date), k);
    explicit_bzero(seed, slen + 4);
    free(seed);
    if (r == 0)
        r = hmac_sha256(k, sizeof(k), s->opts->region, strlen(s->opts->region), k);
    if (r == 0)
        r = hmac_sha256(k, sizeof(k), s->opts->service, strlen(s->opts->service), k);
    if (r == 0)
        r = hmac_sha256(k, sizeof(k), "aws4_request", 12, k);
    if (r == 0)
        r = hmac_sha256(k, sizeof(k), sts, strlen(sts), mac);
    explicit_bzero(k, sizeof(k));
    if (r < 0)
        return r;
    hex_encode(mac, sizeof(mac), out);
    return 0;
}

static int set_header(struct sigv4_out_header *h, const char *name, const char *value)
{
    h->name = strdup(name);
    h->value = strdup(value);
    return h->name && h->value ? 0 : -ENOMEM;
}

static int sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                const struct sigv4_options *opts, enum placement where, struct sigv4_result *ret,
                struct perr *err)
{
    struct signer s = { .req = req, .creds = creds, .opts = opts, .where = where, .err = err };
    struct sigv4_result res = { 0 };
    char creq_hash[SHA256_HEX_LEN + 1];
    int r;

    r = check_inputs(&s);
    if (r < 0)
        return r;
    r = compute_payload(&s);
    if (r < 0)
        goto fail;
    s.scope = str_printf("%s/%s/%s/aws4_request", s.date, opts->region, opts->service);
    s.credential = s.scope ? str_printf("%s/%s", creds->access_key_id, s.scope) : NULL;
    if (!s.credential) {
        r = -ENOMEM;
        goto fail;
    }
    r = prepare_headers(&s);
    if (r < 0)
        goto fail;
    r = prepare_query(&s);
    if (r < 0)
        goto fail;
    r = build_canonical_request(&s, &res.canonical_request);
    if (r < 0)
        goto fail;
    r = sha256_hex(res.canonical_request, strlen(res.canonical_request), creq_hash);
    if (r < 0)
        goto fail;
    res.string_to_sign =
        str_printf("%s\n%s\n%s\n%s", SIGV4_ALGORITHM, s.amz_date, s.scope, creq_hash);
    if (!res.string_to_sign) {
        r = -ENOMEM;
        goto fail;
    }
    r = compute_signature(&s, res.string_to_sign, res.signature);
    if (r < 0)
        goto fail;

    if (where == IN_HEADERS) {
        char *authz = str_printf("%s Credential=%s, SignedHeaders=%s, Signature=%s",
                                 SIGV4_ALGORITHM, s.credential, s.signed_names, res.signature);
        if (!authz) {
            r = -ENOMEM;
            goto fail;
        }
        r = set_header(&res.headers[res.n_headers++], "X-Amz-Date", s.amz_date);
        if (r == 0 && s.has_token)
            r = set_header(&res.headers[res.n_headers++], "X-Amz-Security-Token",
                           creds->session_token);
        if (r == 0 && s.add_sha_header)
            r = set_header(&res.headers[res.n_headers++], "x-amz-content-sha256", s.payload);
        if (r == 0)
            r = set_header(&res.headers[res.n_headers++], "Authorization", authz);
        free(authz);
        if (r < 0)
            goto fail;
    } else {
        /* The caller's query stays as it was; the authentication
         * parameters follow in the order the AWS SDKs use. */
        const char *user = req->query ? req->query : "";
        char *cred = sigv4_uri_encode(s.credential, strlen(s.credential), false);
        char *names = sigv4_uri_encode(s.signed_names, strlen(s.signed_names), false);
        char *token = s.has_token ? sigv4_uri_encode(creds->session_token,
                                                     strlen(creds->session_token), false)
                                  : NULL;
        if (cred && names && (token || !s.has_token))
            res.query = str_printf(
                "%s%sX-Amz-Algorithm=%s&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-SignedHeaders=%s"
                "&X-Amz-Expires=%u%s%s&X-Amz-Signature=%s",
                user, *user ? "&" : "", SIGV4_ALGORITHM, cred, s.amz_date, names,
                (unsigned)opts->expires_s, token ? "&X-Amz-Security-Token=" : "",
                token ? token : "", res.signature);
        free(cred);
        free(names);
        str_free_secret(token);
        if (!res.query) {
            r = -ENOMEM;
            goto fail;
        }
    }
    signer_free(&s);
    *ret = res;
    return 0;
fail:
    signer_free(&s);
    sigv4_result_free(&res);
    return r;
}

int sigv4_sign_headers(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                       const struct sigv4_options *opts, struct sigv4_result *ret, struct perr *err)
{
    return sign(req, creds, opts, IN_HEADERS, ret, err);
}

int sigv4_sign_query(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                     const struct sigv4_options *opts, struct sigv4_result *ret, struct perr *err)
{
    return sign(req, creds, opts, IN_QUERY, ret, err);
}

void sigv4_result_free(struct sigv4_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_headers && i < ARRAY_SIZE(r->headers); i++) {
        free(r->headers[i].name);
        str_free_secret(r->headers[i].value);
    }
    str_free_secret(r->query);
    str_free_secret(r->canonical_request);
    free(r->string_to_sign);
    memset(r, 0, sizeof(*r));
}
