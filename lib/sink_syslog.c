#include "sink_syslog.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "jsonutil.h"

/* ---- formatting ---- */

static const char *const facilities[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7",
};

int sink_syslog_facility(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(facilities); i++)
        if (str_eq(facilities[i], name))
            return (int)i;
    return -EINVAL;
}

int sink_syslog_severity(const char *severity, const char *kind)
{
    int s = str_eq(severity, "critical") ? 2
            : str_eq(severity, "high")   ? 3
            : str_eq(severity, "medium") ? 4
            : str_eq(severity, "low")    ? 5
                                         : 6;
    if (kind && (str_has_suffix(kind, ".resolved") || str_has_suffix(kind, ".restored")))
        s = MAX(s, 5);
    return s;
}

/* A header field: printable US-ASCII (33..126), at most max characters,
 * "-" when empty. */
static int append_header_field(struct buf *b, const char *s, size_t max)
{
    size_t n = 0;
    int r = 0;
    for (; s && *s && n < max && r == 0; s++, n++) {
        unsigned char c = (unsigned char)*s;
        r = buf_append_char(b, c >= 33 && c <= 126 ? (char)c : '_');
    }
    if (r == 0 && n == 0)
        r = buf_append_char(b, '-');
    return r;
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t u8valid(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (n > avail)
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Append text with control characters turned into spaces, invalid UTF-8
 * into U+FFFD, the SD-PARAM escapes when `param`, and at most max bytes
 * (never splitting a character or an escape). */
static int append_text(struct buf *b, const char *s, size_t max, bool param)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t used = 0, avail = strlen((const char *)p);
    int r = 0;

    while (*p && r == 0) {
        size_t l = u8valid(p, avail);
        char esc[2];
        const char *out = (const char *)p;
        size_t outlen = l;
        if (l == 0) {
            out = "\xef\xbf\xbd";
            outlen = 3;
            l = 1;
        } else if (*p < 0x20 || *p == 0x7F) {
            out = " ";
            outlen = 1;
        } else if (param && (*p == '"' || *p == '\\' || *p == ']')) {
            esc[0] = '\\';
            esc[1] = (char)*p;
            out = esc;
            outlen = 2;
        }
        if (used + outlen > max)
            break;
        r = buf_append(b, out, outlen);
        used += outlen;
        p += l;
        avail -= l;
    }
    return r;
}

static int append_param(struct buf *b, const char *name, const char *value)
{
    int r;
    if (!value)
        return 0;
    r = buf_appendf(b, " %s=\"", name);
    if (r == 0)
        r = append_text(b, value, SINK_SYSLOG_MAX_VALUE, true);
    if (r == 0)
        r = buf_append_char(b, '"');
    return r;
}

static char *join(const json_t *arr)
{
    struct buf b;
    size_t i;
    json_t *x;
    buf_init(&b, SINK_SYSLOG_MAX_VALUE * 2);
    json_array_foreach (arr, i, x) {
        if (!json_is_string(x))
            continue;
        if ((b.len && buf_append_char(&b, ',') < 0) || buf_append_str(&b, json_string_value(x)) < 0)
            break;
    }
    return buf_steal(&b, NULL);
}

int sink_syslog_format_event(const struct sink_syslog_format *f, const struct dispatch_event *ev,
                             char **ret, size_t *ret_len, struct perr *err)
{
    const json_t *doc = ev->doc;
    const char *kind = ev->kind ? ev->kind : json_string_value(json_object_get(doc, "kind"));
    const char *id = ev->id ? ev->id : json_string_value(json_object_get(doc, "id"));
    const char *sev =
        ev->severity ? ev->severity : json_string_value(json_object_get(doc, "severity"));
    const char *summary = json_string_value(json_object_get(doc, "summary"));
    const char *resource = json_string_value(json_path_get(doc, "resource.key"));
    size_t max = f->max_len ? f->max_len : SINK_SYSLOG_MAX_MESSAGE;
    char ts[32], procid[24], *nis2 = NULL, *dora = NULL;
    struct buf b;
    int r;

    if (!id || !kind)
        return perr_set(err, -EINVAL, "event has no id or kind");
    if (f->facility < 0 || f->facility > 23)
        return perr_set(err, -EINVAL, "syslog facility %d is out of range", f->facility);
    if (!sev)
        sev = "info";
    if (!resource)
        resource = json_string_value(json_path_get(doc, "resource.arn"));
    if (!resource)
        resource = json_string_value(json_path_get(doc, "resource.address"));
    if (!resource)
        resource = ev->resource_key;
    time_format_iso8601_ms(ev->created_at, ts, sizeof(ts));
    if (f->procid > 0)
        snprintf(procid, sizeof(procid), "%ld", f->procid);
    else
        snprintf(procid, sizeof(procid), "-");
    nis2 = join(json_object_get(doc, "nis2"));
    dora = join(json_object_get(doc, "dora"));
    buf_init(&b, SIZE_MAX);
    r = nis2 && dora ? 0 : -ENOMEM;
    if (r == 0)
        r = buf_appendf(&b, "<%d>1 %s ", f->facility * 8 + sink_syslog_severity(sev, kind), ts);
    if (r == 0)
        r = append_header_field(&b, f->hostname, 255);
    if (r == 0)
        r = buf_append_char(&b, ' ');
    if (r == 0)
        r = append_header_field(&b, f->app_name ? f->app_name : "plumbd", 48);
    if (r == 0)
        r = buf_append_char(&b, ' ');
    if (r == 0)
        r = append_header_field(&b, procid, 128);
    if (r == 0)
        r = buf_append_char(&b, ' ');
    if (r == 0)
        r = append_header_field(&b, kind, 32);
    if (r == 0)
        r = buf_append_str(&b, " [" SINK_SYSLOG_SD_ID);
    if (r == 0)
        r = append_param(&b, "id", id);
    if (r == 0)
        r = append_param(&b, "kind", kind);
    if (r == 0)
        r = append_param(&b, "severity", sev);
    if (r == 0)
        r = append_param(&b, "resource", resource);
    if (r == 0)
        r = append_param(&b, "account", json_string_value(json_object_get(doc, "account")));
    if (r == 0)
        r = append_param(&b, "region", json_string_value(json_object_get(doc, "region")));
    if (r == 0)
        r = append_param(&b, "nis2", nis2 && *nis2 ? nis2 : NULL);
    if (r == 0)
        r = append_param(&b, "dora", dora && *dora ? dora : NULL);
    if (r == 0)
        r = append_param(&b, "dedupe_key",
                         ev->dedupe_key ? ev->dedupe_key
                                        : json_string_value(json_object_get(doc, "dedupe_key")));
    if (r == 0)
        r = buf_append_str(&b, "] \xef\xbb\xbf");
    /* The header and structured data are bounded (about 6 KiB at most);
     * the summary takes what is left. */
    if (r == 0 && b.len < max)
        r = append_text(&b, summary ? summary : kind, max - b.len, false);
    free(nis2);
    free(dora);
    if (r < 0) {
        buf_free(&b);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    if (b.len > max) {
        size_t len = b.len;
        buf_free(&b);
        return perr_set(err, -E2BIG, "syslog message of %zu bytes exceeds %zu", len, max);
    }
    *ret = buf_steal(&b, ret_len);
    if (!*ret)
        return perr_set(err, -ENOMEM, "out of memory");
    return 0;
}

int sink_syslog_parse_target(const char *target, enum sink_syslog_transport *ret_transport,
                             char **ret_host, int *ret_port, struct perr *err)
{
    enum sink_syslog_transport t;
    const char *rest, *hend, *colon;
    char *host;
    int64_t port;

    if (str_eq(target, "local")) {
        *ret_transport = SINK_SYSLOG_LOCAL;
        *ret_host = NULL;
        *ret_port = 0;
        return 0;
    }
    if (str_has_prefix(target, "tcp://"))
        t = SINK_SYSLOG_TCP, port = 514;
    else if (str_has_prefix(target, "tls://"))
        t = SINK_SYSLOG_TLS, port = 6514;
    else
        return perr_set(err, -EINVAL,
                        "[syslog] target: '%s' must be local, tcp://HOST:PORT or tls://HOST:PORT",
                        target ? target : "");
    rest = target + 6;
    if (*rest == '[') {
        hend = strchr(rest, ']');
        if (!hend || hend == rest + 1)
            return perr_set(err, -EINVAL, "[syslog] target: '%s': bad [IPv6] address", target);
        colon = hend[1] == ':' ? hend + 1 : NULL;
        if (hend[1] && !colon)
            return perr_set(err, -EINVAL, "[syslog] target: '%s': junk after the address", target);
        host = str_ndup(rest + 1, (size_t)(hend - rest - 1));
    } else {
        colon = strrchr(rest, ':');
        hend = colon ? colon : rest + strlen(rest);
        if (hend == rest || memchr(rest, '/', (size_t)(hend - rest)))
            return perr_set(err, -EINVAL, "[syslog] target: '%s': no host", target);
        host = str_ndup(rest, (size_t)(hend - rest));
    }
    if (!host)
        return perr_set(err, -ENOMEM, "out of memory");
    if (colon && (parse_int64(colon + 1, &port) < 0 || port < 1 || port > 65535)) {
        free(host);
        return perr_set(err, -EINVAL, "[syslog] target: '%s': bad port", target);
    }
    *ret_transport = t;
    *ret_host = host;
    *ret_port = (int)port;
    return 0;
}

/* ---- transports (pool thread only) ---- */

struct sink_syslog {
    uv_loop_t *loop;
    enum sink_syslog_transport transport;
    char *host;
    int port;
    char *path;
    char *ca_bundle;
    char *hostname;
    char *app_name;
    int facility;
    long procid;
    int64_t timeout_ms;
    bool curl_inited;

    /* The connection: used by one pool job at a time. */
    int fd;
    CURL *curl;
    char curl_err[CURL_ERROR_SIZE];

    /* The message in flight. */
    uv_work_t work;
    struct dispatch_call *call;
    char *msg;
    size_t msg_len;
    int result;
    char error[256];

    void (*closed)(void *ud);
    void *closed_ud;
};

static void conn_close(struct sink_syslog *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    s->curl = NULL;
}

static int set_error(struct sink_syslog *s, int code, const char *fmt, ...) PLUMB_PRINTF(3, 4);
static int set_error(struct sink_syslog *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    return code;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = events };
    for (;;) {
        int64_t left = deadline - time_mono_ms();
        int n;
        if (left <= 0)
            return -ETIMEDOUT;
        n = poll(&p, 1, (int)MIN(left, 60000));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int connect_local(struct sink_syslog *s)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(s->path) >= sizeof(sa.sun_path))
        return set_error(s, -ENAMETOOLONG, "syslog: %s: path too long", s->path);
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return set_error(s, -errno, "syslog: socket: %s", strerror(errno));
    if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        conn_close(s);
        return set_error(s, -e, "syslog: %s: %s", s->path, strerror(e));
    }
    return 0;
}

static int connect_tcp(struct sink_syslog *s, int64_t deadline)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL, *ai;
    char port[8];
    int rc, e = ECONNREFUSED;

    snprintf(port, sizeof(port), "%d", s->port);
    rc = getaddrinfo(s->host, port, &hints, &res);
    if (rc != 0)
        return set_error(s, -EHOSTUNREACH, "syslog: %s:%d: %s", s->host, s->port, gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            e = errno;
            close(fd);
            continue;
        }
        rc = wait_fd(fd, POLLOUT, deadline);
        if (rc < 0) {
            e = -rc;
            close(fd);
            continue;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
            e = soerr ? soerr : errno;
            close(fd);
            continue;
        }
        s->fd = fd;
        freeaddrinfo(res);
        return 0;
    }
    freeaddrinfo(res);
    return set_error(s, -e, "syslog: %s:%d: %s", s->host, s->port, strerror(e));
}

static int connect_tls(struct sink_syslog *s, int64_t deadline)
{
    char *url = NULL;
    CURLcode rc;
    long verify = 0;
    int64_t left = deadline - time_mono_ms();

    s->curl = curl_easy_init();
    if (!s->curl)
        return set_error(s, -ENOMEM, "syslog: out of memory");
    url = strchr(s->host, ':') ? str_printf("https://[%s]:%d/", s->host, s->port)
                               : str_printf("https://%s:%d/", s->host, s->port);
    if (!url) {
        conn_close(s);
        return set_error(s, -ENOMEM, "syslog: out of memory");
    }
    s->curl_err[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)MAX(left, 1));
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->curl_err);
    curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_bundle)
        curl_easy_setopt(s->curl, CURLOPT_CAINFO, s->ca_bundle);
    rc = curl_easy_perform(s->curl);
    free(url);
    if (rc == CURLE_OK)
        return 0;
    curl_easy_getinfo(s->curl, CURLINFO_SSL_VERIFYRESULT, &verify);
    set_error(s, 0, "syslog: %s:%d: %s%s%s", s->host, s->port, curl_easy_strerror(rc),
              s->curl_err[0] ? ": " : "", s->curl_err);
    conn_close(s);
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION: return -EKEYREJECTED;
    case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
    case CURLE_SSL_CONNECT_ERROR: return -EPROTO;
    default: return -EIO;
    }
}

/* Whether an open stream connection is still usable: a peer that closed
 * it makes the socket readable with EOF (a send would seem to succeed and
 * the message be lost). */
static bool conn_alive(struct sink_syslog *s)
{
    struct pollfd p = { .events = POLLIN };
    char scratch[512];

    if (s->transport == SINK_SYSLOG_LOCAL)
        return s->fd >= 0;
    if (s->transport == SINK_SYSLOG_TCP) {
        ssize_t n;
        if (s->fd < 0)
            return false;
        p.fd = s->fd;
        if (poll(&p, 1, 0) <= 0)
            return true;
        n = recv(s->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
    if (!s->curl)
        return false;
    {
        curl_socket_t sock = CURL_SOCKET_BAD;
        size_t got = 0;
        CURLcode rc;
        if (curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
            sock == CURL_SOCKET_BAD)
            return false;
        p.fd = sock;
        if (poll(&p, 1, 0) <= 0)
            return true;
        /* Readable: a close_notify, EOF, or data the server should not
         * send (discarded). */
        rc = curl_easy_recv(s->curl, scratch, sizeof(scratch), &got);
        return rc == CURLE_AGAIN || (rc == CURLE_OK && got > 0);
    }
}

static int send_stream(struct sink_syslog *s, const char *data, size_t len, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        if (s->transport == SINK_SYSLOG_TCP) {
            ssize_t n = send(s->fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                off += (size_t)n;
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return set_error(s, -errno, "syslog: %s:%d: %s", s->host, s->port, strerror(errno));
            n = wait_fd(s->fd, POLLOUT, deadline);
            if (n < 0)
                return set_error(s, (int)n, "syslog: %s:%d: send: %s", s->host, s->port,
                                 strerror((int)-n));
        } else {
            size_t sent = 0;
            curl_socket_t sock = CURL_SOCKET_BAD;
            CURLcode rc = curl_easy_send(s->curl, data + off, len - off, &sent);
            int w;
            if (rc == CURLE_OK) {
                off += sent;
                continue;
            }
            if (rc != CURLE_AGAIN)
                return set_error(s, -EIO, "syslog: %s:%d: send: %s", s->host, s->port,
                                 curl_easy_strerror(rc));
            curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &sock);
            w = wait_fd(sock, POLLOUT, deadline);
            if (w < 0)
                return set_error(s, w, "syslog: %s:%d: send: %s", s->host, s->port, strerror(-w));
        }
    }
    return 0;
}

static int conn_open(struct sink_syslog *s, int64_t deadline)
{
    switch (s->transport) {
    case SINK_SYSLOG_LOCAL: return connect_local(s);
    case SINK_SYSLOG_TCP: return connect_tcp(s, deadline);
    default: return connect_tls(s, deadline);
    }
}

static int send_once(struct sink_syslog *s, int64_t deadline)
{
    if (s->transport == SINK_SYSLOG_LOCAL) {
        if (send(s->fd, s->msg, s->msg_len, MSG_NOSIGNAL) < 0)
            return set_error(s, -errno, "syslog: %s: %s", s->path, strerror(errno));
        return 0;
    }
    return send_stream(s, s->msg, s->msg_len, deadline);
}

static void syslog_work(uv_work_t *w)
{
    struct sink_syslog *s = w->data;
    int64_t deadline = time_mono_ms() + s->timeout_ms;
    bool reused = false;
    int r = 0;

    s->error[0] = '\0';
    if ((s->fd >= 0 || s->curl) && conn_alive(s))
        reused = true;
    else
        conn_close(s);
    if (!reused)
        r = conn_open(s, deadline);
    if (r == 0) {
        r = send_once(s, deadline);
        /* An old connection may have died since the last message; nothing
         * of this one went through then, so try once on a fresh one. */
        if (r < 0 && reused) {
            conn_close(s);
            r = conn_open(s, deadline);
            if (r == 0)
                r = send_once(s, deadline);
        }
    }
    if (r < 0)
        conn_close(s);
    s->result = r;
}

static void syslog_after(uv_work_t *w, int status)
{
    struct sink_syslog *s = w->data;
    struct dispatch_call *call = s->call;
    struct dispatch_result res = { .status = DISPATCH_DELIVERED };

    s->call = NULL;
    free(s->msg);
    s->msg = NULL;
    if (status == UV_ECANCELED) {
        res.status = DISPATCH_CANCELED;
    } else if (s->result < 0) {
        res.status = DISPATCH_RETRY;
        snprintf(res.error, sizeof(res.error), "%s", s->error[0] ? s->error : strerror(-s->result));
    }
    dispatch_call_done(call, &res);
}

static int syslog_send(void *sink, struct dispatch_call *call, struct perr *err)
{
    struct sink_syslog *s = sink;
    struct sink_syslog_format f = {
        .facility = s->facility,
        .hostname = s->hostname,
        .app_name = s->app_name,
        .procid = s->procid,
    };
    char *msg = NULL;
    size_t len = 0;
    int r;

    if (s->call)
        return perr_set(err, -EBUSY, "syslog: one message at a time");
    r = sink_syslog_format_event(&f, dispatch_call_event(call), &msg, &len, err);
    if (r < 0)
        return r;
    if (s->transport != SINK_SYSLOG_LOCAL) {
        /* RFC 6587 octet counting: "MSG-LEN SP SYSLOG-MSG". */
        char *framed = str_printf("%zu %s", len, msg);
        free(msg);
        if (!framed)
            return perr_set(err, -ENOMEM, "out of memory");
        msg = framed;
        len = strlen(framed);
    }
    s->msg = msg;
    s->msg_len = len;
    s->call = call;
    r = uv_queue_work(s->loop, &s->work, syslog_work, syslog_after);
    if (r < 0) {
        s->call = NULL;
        free(s->msg);
        s->msg = NULL;
        return perr_set(err, -EIO, "syslog: %s", uv_strerror(r));
    }
    return 0;
}

static void syslog_cancel(void *sink, struct dispatch_call *call)
{
    struct sink_syslog *s = sink;
    if (s->call == call)
        uv_cancel((uv_req_t *)&s->work);
}

static void sink_free(struct sink_syslog *s)
{
    conn_close(s);
    if (s->curl_inited)
        curl_global_cleanup();
    free(s->host);
    free(s->path);
    free(s->ca_bundle);
    free(s->hostname);
    free(s->app_name);
    free(s->msg);
    free(s);
}

/* Closing a TLS connection sends close_notify, which may block: do it on
 * the pool too. */
static void close_work(uv_work_t *w)
{
    conn_close(w->data);
}

static void close_after(uv_work_t *w, int status)
{
    struct sink_syslog *s = w->data;
    void (*closed)(void *) = s->closed;
    void *ud = s->closed_ud;
    sink_free(s);
    if (closed)
        closed(ud);
}

static void syslog_close(void *sink, void (*closed)(void *ud), void *ud)
{
    struct sink_syslog *s = sink;
    s->closed = closed;
    s->closed_ud = ud;
    if ((s->fd >= 0 || s->curl) && uv_queue_work(s->loop, &s->work, close_work, close_after) == 0)
        return;
    close_after(&s->work, 0);
}

int sink_syslog_new(uv_loop_t *loop, const struct config_syslog *c,
                    const struct sink_syslog_options *o, struct sink_syslog **ret, struct perr *err)
{
    struct sink_syslog *s;
    char host[256];
    int r;

    s = calloc(1, sizeof(*s));
    if (!s)
        return perr_set(err, -ENOMEM, "out of memory");
    s->fd = -1;
    s->loop = loop;
    s->work.data = s;
    r = sink_syslog_parse_target(c->target ? c->target : "local", &s->transport, &s->host, &s->port,
                                 err);
    if (r < 0)
        goto fail;
    s->facility = sink_syslog_facility(c->facility ? c->facility : "daemon");
    if (s->facility < 0) {
        r = perr_set(err, -EINVAL,
                     "[syslog] facility: '%s' is not a syslog facility (daemon, local0..local7, "
                     "...)",
                     c->facility);
        goto fail;
    }
    if (o && o->hostname) {
        s->hostname = strdup(o->hostname);
    } else {
        if (gethostname(host, sizeof(host)) < 0 || !host[0])
            snprintf(host, sizeof(host), "-");
        host[sizeof(host) - 1] = '\0';
        s->hostname = strdup(host);
    }
    s->procid = o && o->procid ? o->procid : (long)getpid();
    s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 10000;
    s->path = strdup(o && o->local_path ? o->local_path : SINK_SYSLOG_DEFAULT_PATH);
    s->app_name = strdup(c->app_name ? c->app_name : "plumbd");
    if (!s->hostname || !s->path || !s->app_name ||
        (c->ca_bundle && !(s->ca_bundle = strdup(c->ca_bundle)))) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (s->transport == SINK_SYSLOG_TLS) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            r = perr_set(err, -EIO, "syslog: libcurl initialisation failed");
            goto fail;
        }
        s->curl_inited = true;
    }
    *ret = s;
    return 0;
fail:
    sink_free(s);
    return r;
}

const struct dispatch_sink_ops sink_syslog_ops = {
    .send = syslog_send,
    .cancel = syslog_cancel,
    .close = syslog_close,
};
