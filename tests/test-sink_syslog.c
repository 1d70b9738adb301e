/* lib/sink_syslog: messages checked by a strict RFC 5424 parser written
 * here from the RFC's ABNF (section 6), facilities and severities, target
 * parsing, and the three transports: a unix datagram socket made by the
 * test, and tests/harness/syslog_listener.py over TCP and TLS (RFC 6587
 * octet counting, a throwaway CA), including reconnection after the server
 * closed the connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sink_syslog.h"
#include "sinkharness.h"

/* ---- a strict RFC 5424 parser ---- */

#define MAXP 16

struct rfc5424 {
    int pri;
    int version;
    char timestamp[64];
    char hostname[256];
    char app[64];
    char procid[160];
    char msgid[64];
    int n_sd;
    char sd_id[64];
    int n_params;
    char pname[MAXP][64];
    char pvalue[MAXP][SINK_SYSLOG_MAX_VALUE + 1];
    bool bom;
    char msg[SINK_SYSLOG_MAX_MESSAGE + 1];
};

static bool printusascii(unsigned char c)
{
    return c >= 33 && c <= 126;
}

/* Whether s[0..len) is valid UTF-8 (RFC 3629). */
static bool valid_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4;
        else
            return false;
        if (i + n > len)
            return false;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += n;
    }
    return true;
}

/* 1*max PRINTUSASCII (or "-") up to the next SP. */
static const char *token(const char *p, size_t max, char *out, size_t size, const char *what)
{
    size_t n = 0;
    while (*p && *p != ' ') {
        ck_assert_msg(printusascii((unsigned char)*p), "%s: byte 0x%02x", what, (unsigned char)*p);
        ck_assert_msg(n < max && n + 1 < size, "%s longer than %zu", what, max);
        out[n++] = *p++;
    }
    ck_assert_msg(n > 0, "%s empty", what);
    out[n] = '\0';
    ck_assert_msg(*p == ' ', "no SP after %s", what);
    return p + 1;
}

static bool digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* FULL-DATE "T" PARTIAL-TIME TIME-OFFSET (RFC 3339 as restricted by 5424). */
static void check_timestamp(const char *t)
{
    const char *p = t;
    ck_assert_msg(digits(p, 4) && p[4] == '-' && digits(p + 5, 2) && p[7] == '-' &&
                      digits(p + 8, 2) && p[10] == 'T' && digits(p + 11, 2) && p[13] == ':' &&
                      digits(p + 14, 2) && p[16] == ':' && digits(p + 17, 2),
                  "bad timestamp %s", t);
    p += 19;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            n++;
        ck_assert_msg(n >= 1 && n <= 6, "TIME-SECFRAC of %d digits in %s", n, t);
    }
    ck_assert_msg(str_eq(p, "Z") || ((p[0] == '+' || p[0] == '-') && digits(p + 1, 2) &&
                                     p[3] == ':' && digits(p + 4, 2) && !p[6]),
                  "bad TIME-OFFSET in %s", t);
}

static void parse5424(const char *m, size_t len, struct rfc5424 *r)
{
    const char *p = m, *end = m + len;
    char tmp[64];

    memset(r, 0, sizeof(*r));
    ck_assert_uint_eq(strlen(m), len); /* no NUL inside */
    ck_assert_uint_le(len, SINK_SYSLOG_MAX_MESSAGE);
    /* PRI */
    ck_assert_msg(*p == '<', "no PRI: %s", m);
    p++;
    {
        int n = 0;
        while (*p >= '0' && *p <= '9' && n < 3) {
            r->pri = r->pri * 10 + (*p++ - '0');
            n++;
        }
        ck_assert_msg(n >= 1 && *p == '>', "bad PRI: %s", m);
        ck_assert_int_le(r->pri, 191);
        p++;
    }
    /* VERSION */
    ck_assert_msg(*p >= '1' && *p <= '9', "bad VERSION");
    r->version = *p++ - '0';
    ck_assert_msg(*p == ' ', "VERSION not followed by SP");
    p++;
    p = token(p, 63, r->timestamp, sizeof(r->timestamp), "TIMESTAMP");
    if (!str_eq(r->timestamp, "-"))
        check_timestamp(r->timestamp);
    p = token(p, 255, r->hostname, sizeof(r->hostname), "HOSTNAME");
    p = token(p, 48, r->app, sizeof(r->app), "APP-NAME");
    p = token(p, 128, r->procid, sizeof(r->procid), "PROCID");
    p = token(p, 32, r->msgid, sizeof(r->msgid), "MSGID");
    /* STRUCTURED-DATA */
    if (*p == '-') {
        p++;
    } else {
        ck_assert_msg(*p == '[', "no STRUCTURED-DATA");
        while (*p == '[') {
            size_t n = 0;
            r->n_sd++;
            p++;
            while (*p && *p != ' ' && *p != ']') {
                ck_assert_msg(printusascii((unsigned char)*p) && *p != '=' && *p != '"',
                              "bad SD-ID byte");
                ck_assert(n < 32);
                tmp[n++] = *p++;
            }
            ck_assert(n > 0);
            tmp[n] = '\0';
            if (r->n_sd == 1)
                snprintf(r->sd_id, sizeof(r->sd_id), "%s", tmp);
            while (*p == ' ') {
                size_t vn = 0;
                const char *vstart;
                p++;
                n = 0;
                while (*p && *p != '=') {
                    ck_assert_msg(printusascii((unsigned char)*p) && *p != ']' && *p != '"' &&
                                      *p != ' ',
                                  "bad PARAM-NAME byte 0x%02x", (unsigned char)*p);
                    ck_assert(n < 32);
                    tmp[n++] = *p++;
                }
                ck_assert_msg(n > 0 && *p == '=' && p[1] == '"', "bad SD-PARAM");
                tmp[n] = '\0';
                ck_assert(r->n_params < MAXP);
                snprintf(r->pname[r->n_params], sizeof(r->pname[0]), "%s", tmp);
                p += 2;
                vstart = p;
                /* PARAM-VALUE: '"', '\' and ']' MUST be escaped. */
                while (*p && *p != '"') {
                    char c = *p;
                    ck_assert_msg(c != ']', "unescaped ] in a PARAM-VALUE");
                    if (c == '\\') {
                        ck_assert_msg(p[1] == '"' || p[1] == '\\' || p[1] == ']',
                                      "stray backslash in a PARAM-VALUE");
                        c = p[1];
                        p++;
                    }
                    ck_assert(vn < SINK_SYSLOG_MAX_VALUE);
                    r->pvalue[r->n_params][vn++] = c;
                    p++;
                }
                ck_assert_msg(*p == '"', "unterminated PARAM-VALUE");
                ck_assert_msg(valid_utf8((const unsigned char *)vstart, (size_t)(p - vstart)),
                              "PARAM-VALUE is not UTF-8");
                r->pvalue[r->n_params][vn] = '\0';
                r->n_params++;
                p++;
            }
            ck_assert_msg(*p == ']', "SD-ELEMENT not closed");
            p++;
        }
    }
    /* [SP MSG] */
    if (p < end) {
        ck_assert_msg(*p == ' ', "no SP before MSG");
        p++;
        if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
            r->bom = true;
            p += 3;
            ck_assert_msg(valid_utf8((const unsigned char *)p, (size_t)(end - p)),
                          "MSG-UTF8 is not UTF-8");
        }
        memcpy(r->msg, p, (size_t)(end - p));
        r->msg[end - p] = '\0';
    }
}

static const char *param(const struct rfc5424 *r, const char *name)
{
    for (int i = 0; i < r->n_params; i++)
        if (str_eq(r->pname[i], name))
            return r->pvalue[i];
    return NULL;
}

static const struct sink_syslog_format fmt = {
    .facility = 3,
    .hostname = "host.example",
    .app_name = "plumbd",
    .procid = 4242,
};

static void format_ev(const struct sink_syslog_format *f, const struct dispatch_event *ev,
                      struct rfc5424 *r)
{
    char *m = NULL;
    size_t len = 0;
    struct perr err = { 0 };
    ck_assert_msg(sink_syslog_format_event(f, ev, &m, &len, &err) == 0, "%s", err.msg);
    parse5424(m, len, r);
    free(m);
}

/* ---- formatting ---- */

START_TEST(format_drift)
{
    struct sh_events e;
    struct dispatch_event ev;
    struct rfc5424 r;
    char ts[32];

    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    ev = sh_event_of(&e, "drift.opened");
    format_ev(&fmt, &ev, &r);
    ck_assert_int_eq(r.pri, 3 * 8 + 3);
    ck_assert_int_eq(r.version, 1);
    time_format_iso8601_ms(ev.created_at, ts, sizeof(ts));
    ck_assert_str_eq(r.timestamp, ts);
    ck_assert_str_eq(r.timestamp, "1970-01-01T00:00:01.000Z");
    ck_assert_str_eq(r.hostname, "host.example");
    ck_assert_str_eq(r.app, "plumbd");
    ck_assert_str_eq(r.procid, "4242");
    ck_assert_str_eq(r.msgid, "drift.opened");
    ck_assert_int_eq(r.n_sd, 1);
    ck_assert_str_eq(r.sd_id, "plumb@32473");
    ck_assert_str_eq(param(&r, "id"), ev.id);
    ck_assert_str_eq(param(&r, "kind"), "drift.opened");
    ck_assert_str_eq(param(&r, "severity"), "high");
    ck_assert_str_eq(param(&r, "resource"), "111111111111/eu-central-1/aws_s3_bucket/logs");
    ck_assert_str_eq(param(&r, "account"), "111111111111");
    ck_assert_str_eq(param(&r, "region"), "eu-central-1");
    ck_assert_str_eq(param(&r, "nis2"), "21.2.e");
    ck_assert_str_eq(param(&r, "dora"), "Art 9");
    ck_assert_str_eq(param(&r, "dedupe_key"),
                     "drift:changed:111111111111/eu-central-1/aws_s3_bucket/logs");
    ck_assert_int_eq(r.n_params, 9);
    ck_assert(r.bom);
    ck_assert_str_eq(r.msg, "aws_s3_bucket logs changed outside Terraform (1 attribute)");
    sh_event_free(&ev);
    sh_events_close(&e);
}
END_TEST

START_TEST(format_every_kind)
{
    static const char *const kinds[] = { "drift.opened",     "drift.updated",  "drift.reminder",
                                         "drift.resolved",   "control.failed", "control.reminder",
                                         "control.resolved", "data.gap",       "data.restored",
                                         "exception.expired" };
    struct sh_events e;
    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        struct dispatch_event ev = sh_event_of(&e, kinds[i]);
        struct rfc5424 r;
        struct sink_syslog_format f = fmt;
        f.facility = 23; /* local7 */
        format_ev(&f, &ev, &r);
        ck_assert_str_eq(r.msgid, kinds[i]);
        ck_assert_int_eq(r.pri, 23 * 8 + sink_syslog_severity(ev.severity, kinds[i]));
        ck_assert_str_eq(r.msg, json_string_value(json_object_get(ev.doc, "summary")));
        ck_assert_str_eq(param(&r, "dedupe_key"), ev.dedupe_key);
        sh_event_free(&ev);
    }
    sh_events_close(&e);
}
END_TEST

START_TEST(format_hostile)
{
    static const char id[] = "a\"b\\c]d[x@1 k=\"v\"]\ne\rf\tg <script> \xc3\xa4";
    struct sh_events e;
    struct dispatch_event ev;
    struct rfc5424 r;
    struct sink_syslog_format f = fmt;

    sh_events_open(&e);
    sh_events_lifecycle(&e, id, NULL);
    ev = sh_event_of(&e, "drift.opened");
    /* Hostile header fields too: spaces and non-ASCII become '_'. */
    f.hostname = "my host\xc3\xa4";
    f.app_name = "a very long application name that exceeds forty-eight characters";
    format_ev(&f, &ev, &r);
    ck_assert_str_eq(r.hostname, "my_host__");
    ck_assert_uint_eq(strlen(r.app), 48);
    ck_assert_int_eq(r.n_sd, 1);
    ck_assert_int_eq(r.n_params, 9);
    /* The value comes back exactly, control characters as spaces. */
    ck_assert_str_eq(param(&r, "resource"), "111111111111/eu-central-1/aws_s3_bucket/"
                                            "a\"b\\c]d[x@1 k=\"v\"] e f g <script> \xc3\xa4");
    ck_assert_ptr_null(strchr(r.msg, '\n'));
    ck_assert_ptr_null(strchr(r.msg, '\r'));
    sh_event_free(&ev);
    /* Empty and absent header values are NILVALUE. */
    ev = sh_event_of(&e, "data.gap");
    f.hostname = NULL;
    f.procid = 0;
    format_ev(&f, &ev, &r);
    ck_assert_str_eq(r.hostname, "-");
    ck_assert_str_eq(r.procid, "-");
    /* A gap has no resource parameter. */
    ck_assert_ptr_null(param(&r, "resource"));
    ck_assert_str_eq(param(&r, "severity"), "medium");
    sh_event_free(&ev);
    sh_events_close(&e);
}
END_TEST

START_TEST(format_limits)
{
    struct sh_events e;
    struct dispatch_event ev;
    struct rfc5424 r;
    struct sink_syslog_format f = fmt;
    char *huge = malloc(20001), *m = NULL;
    size_t len;
    struct perr err = { 0 };

    for (int i = 0; i < 20000; i += 2)
        memcpy(huge + i, "\xc3\xa4", 2);
    huge[20000] = '\0';
    sh_events_open(&e);
    sh_events_lifecycle(&e, huge, NULL);
    ev = sh_event_of(&e, "drift.opened");
    format_ev(&f, &ev, &r);
    ck_assert_uint_le(strlen(param(&r, "resource")), SINK_SYSLOG_MAX_VALUE);
    ck_assert_uint_ge(strlen(param(&r, "resource")), SINK_SYSLOG_MAX_VALUE - 3);
    /* The summary (which contains the id) fills the rest of the 8192. */
    ck_assert_int_eq(sink_syslog_format_event(&f, &ev, &m, &len, &err), 0);
    ck_assert_uint_le(len, SINK_SYSLOG_MAX_MESSAGE);
    ck_assert_uint_ge(len, SINK_SYSLOG_MAX_MESSAGE - 3);
    free(m);
    /* A smaller cap cuts the message... */
    f.max_len = 3000;
    ck_assert_int_eq(sink_syslog_format_event(&f, &ev, &m, &len, &err), 0);
    ck_assert_uint_le(len, 3000);
    parse5424(m, len, &r);
    free(m);
    /* ...but not below what the header and structured data need. */
    f.max_len = 100;
    ck_assert_int_eq(sink_syslog_format_event(&f, &ev, &m, &len, &err), -E2BIG);
    ck_assert_msg(str_has_prefix(err.msg, "syslog message of ") &&
                      str_has_suffix(err.msg, " bytes exceeds 100"),
                  "%s", err.msg);
    f = fmt;
    f.facility = 24;
    ck_assert_int_eq(sink_syslog_format_event(&f, &ev, &m, &len, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "syslog facility 24 is out of range");
    sh_event_free(&ev);
    sh_events_close(&e);
    free(huge);
}
END_TEST

START_TEST(facilities_and_severities)
{
    ck_assert_int_eq(sink_syslog_facility("kern"), 0);
    ck_assert_int_eq(sink_syslog_facility("daemon"), 3);
    ck_assert_int_eq(sink_syslog_facility("authpriv"), 10);
    ck_assert_int_eq(sink_syslog_facility("local0"), 16);
    ck_assert_int_eq(sink_syslog_facility("local7"), 23);
    ck_assert_int_eq(sink_syslog_facility("Daemon"), -EINVAL);
    ck_assert_int_eq(sink_syslog_facility("local8"), -EINVAL);
    ck_assert_int_eq(sink_syslog_facility(NULL), -EINVAL);
    ck_assert_int_eq(sink_syslog_severity("critical", "control.failed"), 2);
    ck_assert_int_eq(sink_syslog_severity("high", "drift.opened"), 3);
    ck_assert_int_eq(sink_syslog_severity("medium", "data.gap"), 4);
    ck_assert_int_eq(sink_syslog_severity("low", "drift.opened"), 5);
    ck_assert_int_eq(sink_syslog_severity("info", "drift.opened"), 6);
    ck_assert_int_eq(sink_syslog_severity("critical", "control.resolved"), 5);
    ck_assert_int_eq(sink_syslog_severity("info", "data.restored"), 6);
}
END_TEST

START_TEST(targets)
{
    static const struct {
        const char *target;
        int transport;
        const char *host;
        int port;
    } good[] = {
        { "local", SINK_SYSLOG_LOCAL, NULL, 0 },
        { "tcp://logs.example:1514", SINK_SYSLOG_TCP, "logs.example", 1514 },
        { "tcp://10.0.0.1", SINK_SYSLOG_TCP, "10.0.0.1", 514 },
        { "tls://siem.example", SINK_SYSLOG_TLS, "siem.example", 6514 },
        { "tls://[2001:db8::1]:6515", SINK_SYSLOG_TLS, "2001:db8::1", 6515 },
        { "tls://[::1]", SINK_SYSLOG_TLS, "::1", 6514 },
    };
    static const struct {
        const char *target, *msg;
    } bad[] = {
        { "udp://x:514",
          "[syslog] target: 'udp://x:514' must be local, tcp://HOST:PORT or tls://HOST:PORT" },
        { "tcp://", "[syslog] target: 'tcp://': no host" },
        { "tcp://:514", "[syslog] target: 'tcp://:514': no host" },
        { "tcp://h/x:514", "[syslog] target: 'tcp://h/x:514': no host" },
        { "tcp://h:0", "[syslog] target: 'tcp://h:0': bad port" },
        { "tcp://h:65536", "[syslog] target: 'tcp://h:65536': bad port" },
        { "tls://h:x", "[syslog] target: 'tls://h:x': bad port" },
        { "tls://[::1", "[syslog] target: 'tls://[::1': bad [IPv6] address" },
        { "tls://[]:1", "[syslog] target: 'tls://[]:1': bad [IPv6] address" },
        { "tls://[::1]x", "[syslog] target: 'tls://[::1]x': junk after the address" },
    };
    struct perr err = { 0 };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        enum sink_syslog_transport t;
        char *host = (char *)"unset";
        int port = -1;
        ck_assert_msg(sink_syslog_parse_target(good[i].target, &t, &host, &port, &err) == 0,
                      "%s: %s", good[i].target, err.msg);
        ck_assert_int_eq(t, good[i].transport);
        ck_assert_int_eq(port, good[i].port);
        if (good[i].host)
            ck_assert_str_eq(host, good[i].host);
        else
            ck_assert_ptr_null(host);
        free(host);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        enum sink_syslog_transport t;
        char *host = NULL;
        int port;
        ck_assert_int_eq(sink_syslog_parse_target(bad[i].target, &t, &host, &port, &err), -EINVAL);
        ck_assert_str_eq(err.msg, bad[i].msg);
        ck_assert_ptr_null(host);
    }
}
END_TEST

START_TEST(new_checks)
{
    uv_loop_t loop;
    struct config_syslog c = { .enabled = true,
                               .target = (char *)"tcp://h:1",
                               .facility = (char *)"nope" };
    struct sink_syslog *s = NULL;
    struct perr err = { 0 };
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(sink_syslog_new(&loop, &c, NULL, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "[syslog] facility: 'nope' is not a syslog facility (daemon, "
                              "local0..local7, ...)");
    c.facility = (char *)"local3";
    c.target = (char *)"udp://x";
    ck_assert_int_eq(sink_syslog_new(&loop, &c, NULL, &s, &err), -EINVAL);
    c.target = (char *)"tls://h:6514";
    ck_assert_int_eq(sink_syslog_new(&loop, &c, NULL, &s, &err), 0);
    sink_syslog_ops.close(s, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- transports ---- */

struct rig {
    struct sh_events e;
    struct sh_dispatch h;
    char *dbpath;
};

static int64_t emit_one(struct rig *g, const char *key)
{
    static const struct event_sink sinks[] = { { "syslog", NULL, false } };
    struct events_ctx c = { .db = g->e.db, .now_ms = sh_now, .sinks = sinks, .n_sinks = 1 };
    struct perr err = { 0 };
    char *summary = str_printf("event %s", key);
    json_t *p = json_pack("{s:s, s:s}", "category", "changed", "summary", summary);
    ck_assert_int_eq(events_emit(&c, "drift.opened", key, SEVERITY_LOW, "changed", key, "1", "r",
                                 NULL, p, NULL, &err),
                     0);
    json_decref(p);
    free(summary);
    return sqlite3_last_insert_rowid(db_handle(g->e.db));
}

static void rig_open(struct rig *g, const char *target, const char *ca_bundle,
                     const char *local_path)
{
    struct config_syslog c = { .enabled = true,
                               .target = (char *)target,
                               .facility = (char *)"local0",
                               .app_name = (char *)"plumbd",
                               .ca_bundle = (char *)ca_bundle };
    struct sink_syslog_options o = {
        .hostname = "host.example", .local_path = local_path, .procid = 7, .timeout_ms = 5000
    };
    struct sink_syslog *s = NULL;
    struct perr err = { 0 };

    memset(g, 0, sizeof(*g));
    sh_events_open(&g->e);
    g->dbpath = tu_path_join(g->e.dir, "ev.db");
    sh_now = 1000000;
    sh_dispatch_open(&g->h, g->dbpath);
    ck_assert_msg(sink_syslog_new(&g->h.loop, &c, &o, &s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dispatch_add_sink(g->h.d, "syslog", &sink_syslog_ops, s, 1, 3600000, &err), 0);
}

static void rig_close(struct rig *g)
{
    sh_dispatch_close(&g->h);
    sh_events_close(&g->e);
    free(g->dbpath);
}

static int64_t count_state(struct db *db, const char *state)
{
    sqlite3_stmt *st;
    int64_t n;
    sqlite3_prepare_v2(db_handle(db), "SELECT count(*) FROM deliveries WHERE state = ?", -1, &st,
                       NULL);
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_step(st);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int bind_dgram(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

START_TEST(local_datagrams)
{
    struct rig g;
    char *path, *row, buf[SINK_SYSLOG_MAX_MESSAGE + 16];
    struct rfc5424 r;
    int fd;
    ssize_t n;
    int64_t a, b;

    rig_open(&g, "local", NULL, NULL);
    rig_close(&g);
    /* The socket is injectable; the test plays syslogd. */
    {
        char *dir = tu_tmpdir();
        path = tu_path_join(dir, "log.sock");
        fd = bind_dgram(path);
        rig_open(&g, "local", NULL, path);
        a = emit_one(&g, "k1");
        sh_dispatch_settle(&g.h);
        ck_assert_int_eq(count_state(g.e.db, "delivered"), 1);
        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        /* Unframed on a datagram socket. */
        parse5424(buf, (size_t)n, &r);
        ck_assert_int_eq(r.pri, 16 * 8 + 5);
        ck_assert_str_eq(r.procid, "7");
        ck_assert_str_eq(r.msg, "event k1");
        /* syslogd goes away: retried, with the reason. */
        close(fd);
        unlink(path);
        b = emit_one(&g, "k2");
        sh_dispatch_settle(&g.h);
        row = sh_delivery(g.e.db, b, "syslog");
        ck_assert_msg(str_has_prefix(row, "pending|1|syslog: ") && strstr(row, path), "%s", row);
        free(row);
        /* Back: delivered on the next attempt, over a new socket. */
        fd = bind_dgram(path);
        sh_now += DISPATCH_BACKOFF_MAX_MS;
        sh_dispatch_settle(&g.h);
        ck_assert_int_eq(count_state(g.e.db, "delivered"), 2);
        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        parse5424(buf, (size_t)n, &r);
        ck_assert_str_eq(r.msg, "event k2");
        close(fd);
        (void)a;
        rig_close(&g);
        tu_rmrf(dir);
        free(dir);
        free(path);
    }
}
END_TEST

/* Messages the listener got, parsed, in order; checks framing errors. */
static size_t listener_msgs(struct sh_server *s, struct rfc5424 *out, size_t max, size_t *closed)
{
    json_t *recs = sh_records(s), *rec;
    size_t i, n = 0;
    *closed = 0;
    json_array_foreach (recs, i, rec) {
        const char *m = json_string_value(json_object_get(rec, "msg"));
        ck_assert_msg(!json_object_get(rec, "error"), "listener: %s",
                      json_string_value(json_object_get(rec, "error")));
        if (json_object_get(rec, "closed")) {
            (*closed)++;
            continue;
        }
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_lt(n, max);
        parse5424(m, strlen(m), &out[n++]);
    }
    json_decref(recs);
    return n;
}

static void stream_transport(bool tls)
{
    struct rig g;
    struct sh_server srv;
    char *ca = tls ? tu_tmpdir() : NULL, *cert = NULL, *key = NULL, *cafile = NULL;
    char *target, *row;
    const char *args[8];
    size_t na = 0, n, closed;
    static struct rfc5424 msgs[64];
    int64_t seq;

    if (tls) {
        sh_make_ca(ca);
        cert = tu_path_join(ca, "server.pem");
        key = tu_path_join(ca, "server.key");
        cafile = tu_path_join(ca, "ca.pem");
        args[na++] = "--tls-cert";
        args[na++] = cert;
        args[na++] = "--tls-key";
        args[na++] = key;
    }
    args[na++] = "--close-after";
    args[na++] = "3";
    args[na] = NULL;
    sh_start(&srv, "syslog_listener.py", args);
    target = str_printf("%s://127.0.0.1:%d", tls ? "tls" : "tcp", srv.port);
    rig_open(&g, target, cafile, NULL);

    /* Batches of three: the listener closes the connection after each, and
     * the sink notices and reconnects before the next message. */
    for (int batch = 0; batch < 3; batch++) {
        for (int i = 0; i < 3; i++) {
            char k[16];
            snprintf(k, sizeof(k), "k%d", batch * 3 + i);
            emit_one(&g, k);
        }
        sh_dispatch_settle(&g.h);
        ck_assert_int_eq(count_state(g.e.db, "delivered"), (batch + 1) * 3);
        /* Wait until the listener has closed that connection. */
        for (int w = 0; w < 500; w++) {
            listener_msgs(&srv, msgs, ARRAY_SIZE(msgs), &closed);
            if (closed == (size_t)batch + 1)
                break;
            usleep(10000);
        }
        ck_assert_uint_eq(closed, (size_t)batch + 1);
    }
    n = listener_msgs(&srv, msgs, ARRAY_SIZE(msgs), &closed);
    ck_assert_uint_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof(want), "event k%zu", i);
        ck_assert_str_eq(msgs[i].msg, want);
        ck_assert(msgs[i].bom);
        ck_assert_str_eq(msgs[i].sd_id, "plumb@32473");
        ck_assert_str_eq(msgs[i].hostname, "host.example");
    }
    /* The listener is gone: retried with the reason. */
    sh_stop(&srv);
    seq = emit_one(&g, "k9");
    sh_dispatch_settle(&g.h);
    row = sh_delivery(g.e.db, seq, "syslog");
    ck_assert_msg(str_has_prefix(row, "pending|1|syslog: 127.0.0.1:"), "%s", row);
    free(row);
    rig_close(&g);
    sh_cleanup(&srv);

    if (tls) {
        /* A server whose certificate the CA bundle does not vouch for. */
        char *other = tu_path_join(ca, "other-ca.pem");
        const char *targs[] = { "--tls-cert", cert, "--tls-key", key, NULL };
        free(target);
        sh_start(&srv, "syslog_listener.py", targs);
        target = str_printf("tls://127.0.0.1:%d", srv.port);
        rig_open(&g, target, other, NULL);
        seq = emit_one(&g, "k1");
        sh_dispatch_settle(&g.h);
        row = sh_delivery(g.e.db, seq, "syslog");
        ck_assert_msg(str_has_prefix(row, "pending|1|syslog: 127.0.0.1:") &&
                          strstr(row, "certificate"),
                      "%s", row);
        free(row);
        rig_close(&g);
        /* The listener saw only handshakes that plumb aborted. */
        {
            json_t *recs = sh_records(&srv), *rec;
            size_t i;
            ck_assert_uint_ge(json_array_size(recs), 1);
            json_array_foreach (recs, i, rec) {
                const char *e = json_string_value(json_object_get(rec, "error"));
                ck_assert_msg(e && str_has_prefix(e, "tls: ") && strstr(e, "unknown ca"), "%s",
                              e ? e : "a message got through");
            }
            json_decref(recs);
        }
        sh_cleanup(&srv);
        free(other);
        tu_rmrf(ca);
    }
    free(target);
    free(ca);
    free(cert);
    free(key);
    free(cafile);
}

START_TEST(tcp_octet_counting)
{
    stream_transport(false);
}
END_TEST

START_TEST(tls_octet_counting)
{
    stream_transport(true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sink_syslog");
    TCase *tc = tcase_create("format");
    TCase *tr = tcase_create("transports");

    sh_find_python();
    tcase_add_test(tc, format_drift);
    tcase_add_test(tc, format_every_kind);
    tcase_add_test(tc, format_hostile);
    tcase_add_test(tc, format_limits);
    tcase_add_test(tc, facilities_and_severities);
    tcase_add_test(tc, targets);
    tcase_add_test(tc, new_checks);
    suite_add_tcase(s, tc);
    tcase_add_test(tr, local_datagrams);
    tcase_add_test(tr, tcp_octet_counting);
    tcase_add_test(tr, tls_octet_counting);
    tcase_set_timeout(tr, 120);
    suite_add_tcase(s, tr);
    return tu_run_suite(s);
}
