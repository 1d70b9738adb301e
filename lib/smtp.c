#include "smtp.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "mime.h"

/* What smtp_send() will do, checked before anything touches the network. */
struct plan {
    char *url;  /* as given, for messages */
    char *host; /* for the loopback check */
    bool implicit;
    bool tls;
    char *from;            /* bare address */
    struct curl_slist *to; /* "<addr>" for curl */
};

static void plan_done(struct plan *p)
{
    free(p->url);
    free(p->host);
    free(p->from);
    curl_slist_free_all(p->to);
    memset(p, 0, sizeof(*p));
}

static bool host_is_loopback(const char *host)
{
    char h[INET6_ADDRSTRLEN + 2];
    struct in_addr a4;
    struct in6_addr a6;
    size_t len = strlen(host);

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(h)) {
        memcpy(h, host + 1, len - 2);
        h[len - 2] = '\0';
    } else if (len < sizeof(h)) {
        memcpy(h, host, len + 1);
    } else {
        return false;
    }
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

static int plan_make(const struct smtp_options *o, const char *from, const char *const *rcpt,
                     const char *msg, size_t len, struct plan *p, struct perr *err)
{
    CURLU *u = NULL;
    char *scheme = NULL, *part = NULL, *addr = NULL;
    size_t n = 0;
    int r;

    memset(p, 0, sizeof(*p));
    if (!o || !o->url || !*o->url)
        return perr_set(err, -EINVAL, "no SMTP URL");
    u = curl_url();
    if (!u)
        return perr_set(err, -ENOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0)) {
        r = perr_set(err, -EINVAL, "SMTP URL must look like smtp://host:port or smtps://host:port");
        goto fail;
    }
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
        r = perr_set(err, -EINVAL,
                     "SMTP URL must not contain a user name or password (use the username and "
                     "password settings)");
        goto fail;
    }
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK) {
        r = perr_set(err, -EINVAL, "SMTP URL has no host");
        goto fail;
    }
    p->host = strdup(part);
    p->url = strdup(o->url);
    if (!p->host || !p->url)
        goto oom;
    p->implicit = strcmp(scheme, "smtps") == 0;

    switch (o->tls) {
    case SMTP_TLS_STARTTLS: p->tls = true; break;
    case SMTP_TLS_IMPLICIT:
        if (!p->implicit) {
            r = perr_set(err, -EINVAL, "tls=implicit needs an smtps:// URL, not %s", o->url);
            goto fail;
        }
        p->tls = true;
        break;
    case SMTP_TLS_NONE:
        if (p->implicit) {
            r = perr_set(err, -EINVAL, "tls=none needs an smtp:// URL, not %s", o->url);
            goto fail;
        }
        if (!host_is_loopback(p->host)) {
            r = perr_set(err, -EINVAL,
                         "tls=none is only allowed for loopback hosts (127.0.0.0/8, ::1, "
                         "localhost), not %s",
                         p->host);
            goto fail;
        }
        p->tls = false;
        break;
    default: r = perr_set(err, -EINVAL, "unknown TLS mode %d", (int)o->tls); goto fail;
    }
    if (o->username && !o->password) {
        r = perr_set(err, -EINVAL, "SMTP user name given without a password");
        goto fail;
    }
    if ((o->username && strpbrk(o->username, "\r\n")) ||
        (o->password && strpbrk(o->password, "\r\n"))) {
        r = perr_set(err, -EINVAL, "SMTP user name or password contains a line break");
        goto fail;
    }

    r = mime_parse_address(from, "envelope sender", NULL, &p->from, err);
    if (r < 0)
        goto fail;
    for (; rcpt && rcpt[n]; n++) {
        struct curl_slist *l;
        char *bracketed;
        r = mime_parse_address(rcpt[n], "recipient", NULL, &addr, err);
        if (r < 0)
            goto fail;
        bracketed = str_printf("<%s>", addr);
        free(addr);
        addr = NULL;
        if (!bracketed)
            goto oom;
        l = curl_slist_append(p->to, bracketed);
        free(bracketed);
        if (!l)
            goto oom;
        p->to = l;
    }
    if (n == 0) {
        r = perr_set(err, -EINVAL, "no recipients");
        goto fail;
    }
    if (!msg || len == 0) {
        r = perr_set(err, -EINVAL, "empty message");
        goto fail;
    }
    r = 0;
    goto out;
oom:
    r = perr_set(err, -ENOMEM, "out of memory");
fail:
    plan_done(p);
out:
    curl_free(scheme);
    curl_free(part);
    curl_url_cleanup(u);
    return r;
}

/* ---- the SMTP dialogue as curl's debug callback shows it ---- */

struct dialog {
    char cmd[256];   /* the last command sent (without credentials) */
    char reply[512]; /* the reply being received, lines joined */
    bool reply_done;
    char err_cmd[256];   /* the command that got the last error reply */
    char err_reply[512]; /* that reply */
    int err_code;
};

/* Copy server-controlled text for a message: printable ASCII only. */
static void clean_copy(char *dst, size_t size, size_t *pos, const char *src, size_t len)
{
    size_t o = *pos;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\r' || c == '\n')
            continue;
        dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[o] = '\0';
    *pos = o;
}

static void on_command(struct dialog *d, const char *line, size_t len)
{
    static const char *const verbs[] = { "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL",
                                         "RCPT", "DATA", "RSET",     "NOOP" };
    size_t vlen = 0, pos = 0, keep;
    while (vlen < len && line[vlen] != ' ' && line[vlen] != '\r' && line[vlen] != '\n')
        vlen++;
    /* Anything else (QUIT after a failure, the base64 answers of an AUTH
     * exchange, which hold the credentials) is not recorded. */
    for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
        if (vlen != strlen(verbs[i]) || strncasecmp(line, verbs[i], vlen) != 0)
            continue;
        keep = len;
        if (i == 3) {
            /* "AUTH PLAIN <initial response>": keep the mechanism only. */
            const char *sp = len > vlen + 1 ? memchr(line + vlen + 1, ' ', len - vlen - 1) : NULL;
            keep = sp ? (size_t)(sp - line) : len;
        }
        clean_copy(d->cmd, sizeof(d->cmd), &pos, line, keep);
        d->err_cmd[0] = '\0';
        d->err_reply[0] = '\0';
        d->err_code = 0;
        return;
    }
}

static void on_reply_line(struct dialog *d, const char *line, size_t len)
{
    size_t pos;
    int code;

    if (len < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
        line[2] < '0' || line[2] > '9')
        return;
    if (d->reply_done || !d->reply[0]) {
        d->reply[0] = '\0';
        pos = 0;
    } else {
        pos = strlen(d->reply);
        if (pos + 1 < sizeof(d->reply)) {
            d->reply[pos++] = ' ';
            d->reply[pos] = '\0';
        }
    }
    /* Continuation lines ("250-...") carry the code too; keep their text. */
    clean_copy(d->reply, sizeof(d->reply), &pos, pos ? line + 4 : line,
               pos ? (len > 4 ? len - 4 : 0) : len);
    d->reply_done = len == 3 || line[3] != '-';
    if (!d->reply_done)
        return;
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code >= 400) {
        d->err_code = code;
        memcpy(d->err_reply, d->reply, sizeof(d->reply));
        memcpy(d->err_cmd, d->cmd, sizeof(d->cmd));
    }
}

static void feed_lines(struct dialog *d, const char *data, size_t size, bool in)
{
    while (size > 0) {
        const char *nl = memchr(data, '\n', size);
        size_t len = nl ? (size_t)(nl - data) + 1 : size;
        if (in)
            on_reply_line(d, data, len - (nl ? 1 : 0) - (nl && len > 1 && nl[-1] == '\r'));
        else
            on_command(d, data, len);
        data += len;
        size -= len;
    }
}

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
    struct dialog *d = userp;
    if (type == CURLINFO_HEADER_IN)
        feed_lines(d, data, size, true);
    else if (type == CURLINFO_HEADER_OUT)
        feed_lines(d, data, size, false);
    return 0;
}

struct upload {
    const char *data;
    size_t left;
};

static size_t read_cb(char *buffer, size_t size, size_t nitems, void *userp)
{
    struct upload *u = userp;
    size_t n = MIN(size * nitems, u->left);
    memcpy(buffer, u->data, n);
    u->data += n;
    u->left -= n;
    return n;
}

/* Replace every occurrence of secret in msg by "***". */
static void redact(char *msg, size_t size, const char *secret)
{
    size_t sl;
    char *p;
    if (!secret || !*secret)
        return;
    sl = strlen(secret);
    while ((p = strstr(msg, secret)) != NULL) {
        size_t tail = strlen(p + sl);
        if (sl >= 3) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + sl, tail + 1);
        } else if ((size_t)(p - msg) + 3 + tail < size) {
            memmove(p + 3, p + sl, tail + 1);
            memcpy(p, "***", 3);
        } else {
            memset(p, '*', sl);
        }
    }
}

static void redact_credentials(struct perr *err, const struct smtp_options *o)
{
    char *b64, *plain;
    size_t ul, pl;
    if (!err || !o->password || !*o->password)
        return;
    redact(err->msg, sizeof(err->msg), o->password);
    /* The forms a server might echo: base64 of the password (LOGIN) and of
     * "\0user\0password" (PLAIN). */
    b64 = base64_encode(o->password, strlen(o->password));
    if (b64) {
        redact(err->msg, sizeof(err->msg), b64);
        free(b64);
    }
    ul = o->username ? strlen(o->username) : 0;
    pl = strlen(o->password);
    plain = malloc(ul + pl + 2);
    if (plain) {
        plain[0] = '\0';
        memcpy(plain + 1, o->username ? o->username : "", ul);
        plain[ul + 1] = '\0';
        memcpy(plain + ul + 2, o->password, pl);
        b64 = base64_encode(plain, ul + pl + 2);
        explicit_bzero(plain, ul + pl + 2);
        free(plain);
        if (b64) {
            redact(err->msg, sizeof(err->msg), b64);
            free(b64);
        }
    }
}

static int report(CURLcode c, CURL *h, const struct dialog *d, const struct plan *p,
                  const char *errbuf, struct perr *err)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);
    const char *after = d->cmd[0] ? d->cmd : "connecting";
    char eb[128];
    long os_errno = 0;

    switch (c) {
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno <= 0)
            os_errno = ECONNREFUSED;
        return perr_set(err, -(int)os_errno, "cannot connect to %s: %s", p->url,
                        strerror_r((int)os_errno, eb, sizeof(eb)));
    case CURLE_COULDNT_RESOLVE_HOST:
        return perr_set(err, -EHOSTUNREACH, "cannot resolve the host of %s: %s", p->url, why);
    case CURLE_OPERATION_TIMEDOUT:
        return perr_set(err, -ETIMEDOUT, "timed out talking to %s (after %s)", p->url, after);
    case CURLE_LOGIN_DENIED:
        return perr_set(err, -EACCES, "authentication failed at %s: %s", p->url,
                        d->err_code ? d->err_reply : why);
    case CURLE_USE_SSL_FAILED:
        return perr_set(err, -EPROTO,
                        "%s does not offer STARTTLS, which is required (tls=none is only for "
                        "loopback test sinks)",
                        p->url);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
        return perr_set(err, -EPROTO, "TLS with %s failed: %s", p->url, why);
    case CURLE_OUT_OF_MEMORY: return perr_set(err, -ENOMEM, "out of memory");
    default: break;
    }
    if (d->err_code >= 400 && d->err_code < 500)
        return perr_set(err, -EAGAIN, "%s temporarily rejected %s: %s", p->url,
                        d->err_cmd[0] ? d->err_cmd : "the connection", d->err_reply);
    if (d->err_code >= 500)
        return perr_set(err, -EREMOTEIO, "%s rejected %s: %s", p->url,
                        d->err_cmd[0] ? d->err_cmd : "the connection", d->err_reply);
    return perr_set(err, -EIO, "SMTP with %s failed after %s: %s", p->url, after, why);
}

int smtp_send(const struct smtp_options *o, const char *from, const char *const *rcpt,
              const char *msg, size_t len, struct perr *err)
{
    struct plan p;
    struct dialog d;
    struct upload up = { msg, len };
    char errbuf[CURL_ERROR_SIZE];
    CURL *h = NULL;
    CURLcode c = CURLE_OK;
    int r;

    r = plan_make(o, from, rcpt, msg, len, &p, err);
    if (r < 0)
        return r;
    memset(&d, 0, sizeof(d));
    errbuf[0] = '\0';
    h = curl_easy_init();
    if (!h) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }

#define SET(opt, val)                          \
    do {                                       \
        if (c == CURLE_OK)                     \
            c = curl_easy_setopt(h, opt, val); \
    } while (0)

    SET(CURLOPT_URL, p.url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USE_SSL, (long)(p.tls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (o->ca_file)
        SET(CURLOPT_CAINFO, o->ca_file);
    if (o->username) {
        SET(CURLOPT_USERNAME, o->username);
        SET(CURLOPT_PASSWORD, o->password);
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        o->connect_timeout_ms > 0 ? o->connect_timeout_ms : SMTP_DEFAULT_CONNECT_TIMEOUT_MS);
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : SMTP_DEFAULT_TIMEOUT_MS);
    SET(CURLOPT_MAIL_FROM, p.from);
    SET(CURLOPT_MAIL_RCPT, p.to);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_READFUNCTION, read_cb);
    SET(CURLOPT_READDATA, &up);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    /* The debug callback shows the dialogue, so errors can quote the
     * server's reply (curl's own messages only have the code). */
    SET(CURLOPT_DEBUGFUNCTION, debug_cb);
    SET(CURLOPT_DEBUGDATA, &d);
    SET(CURLOPT_VERBOSE, 1L);
#undef SET
    if (c != CURLE_OK) {
        r = perr_set(err, c == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL,
                     "cannot set up the SMTP transfer: %s", curl_easy_strerror(c));
        goto out;
    }
    c = curl_easy_perform(h);
    r = c == CURLE_OK ? 0 : report(c, h, &d, &p, errbuf, err);
    if (r < 0)
        redact_credentials(err, o);
out:
    if (h)
        curl_easy_cleanup(h);
    plan_done(&p);
    explicit_bzero(&d, sizeof(d));
    return r;
}

/* ---- on the thread pool ---- */

struct smtp_job {
    uv_work_t work;
    struct smtp_options opts;
    char *url, *ca_file, *username, *password;
    char *from;
    char **rcpt;
    char *msg;
    size_t len;
    smtp_done_fn done;
    void *userdata;
    int result;
    struct perr err;
};

static void job_free(struct smtp_job *j)
{
    if (!j)
        return;
    free(j->url);
    free(j->ca_file);
    free(j->username);
    str_free_secret(j->password);
    free(j->from);
    strv_free(j->rcpt);
    free(j->msg);
    free(j);
}

static void job_work(uv_work_t *w)
{
    struct smtp_job *j = w->data;
    j->result = smtp_send(&j->opts, j->from, (const char *const *)j->rcpt, j->msg, j->len, &j->err);
}

static void job_after(uv_work_t *w, int status)
{
    struct smtp_job *j = w->data;
    if (status == UV_ECANCELED) {
        j->result = -ECANCELED;
        perr_set(&j->err, -ECANCELED, "sending to %s was cancelled", j->url);
    }
    j->done(j->result, &j->err, j->userdata);
    job_free(j);
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

int smtp_send_async(uv_loop_t *loop, const struct smtp_options *opts, const char *from,
                    const char *const *rcpt, const char *msg, size_t len, smtp_done_fn done,
                    void *userdata, struct perr *err)
{
    struct smtp_job *j;
    struct plan p;
    bool oom = false;
    int r;

    if (!loop || !done)
        return perr_set(err, -EINVAL, "no loop or callback");
    /* Report bad input now rather than from the thread pool. */
    r = plan_make(opts, from, rcpt, msg, len, &p, err);
    if (r < 0)
        return r;
    plan_done(&p);

    j = calloc(1, sizeof(*j));
    if (!j)
        return perr_set(err, -ENOMEM, "out of memory");
    j->url = dup_or_null(opts->url, &oom);
    j->ca_file = dup_or_null(opts->ca_file, &oom);
    j->username = dup_or_null(opts->username, &oom);
    j->password = dup_or_null(opts->password, &oom);
    j->from = dup_or_null(from, &oom);
    j->rcpt = strv_copy((char *const *)rcpt);
    j->msg = malloc(len);
    if (oom || !j->rcpt || !j->msg) {
        job_free(j);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    memcpy(j->msg, msg, len);
    j->len = len;
    j->opts = *opts;
    j->opts.url = j->url;
    j->opts.ca_file = j->ca_file;
    j->opts.username = j->username;
    j->opts.password = j->password;
    j->done = done;
    j->userdata = userdata;
    j->work.data = j;
    r = uv_queue_work(loop, &j->work, job_work, job_after);
    if (r < 0) {
        job_free(j);
        return perr_set(err, r, "cannot queue the SMTP work: %s", uv_strerror(r));
    }
    return 0;
}
