/* lib/smtp against a real SMTP server on loopback: aiosmtpd driven by
 * tests/harness/smtp_sink.py (Debian's /usr/bin/python3).  Delivered mail
 * is decoded again with Python's email package (tests/harness/mime_parse.py). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "mime.h"
#include "smtp.h"
#include "testutil.h"

#define SINK_PYTHON "/usr/bin/python3"

struct sink {
    pid_t pid;
    int port;
    char *dir, *msgdir, *log;
    char url[64];
};

static void sink_start(struct sink *s, const char *scheme, const char *const *extra)
{
    char *script = tu_srcpath("tests/harness/smtp_sink.py");
    for (int attempt = 0; attempt < 3; attempt++) {
        char port[16], *ready;
        const char *argv[32];
        size_t n = 0;
        bool up = false;

        memset(s, 0, sizeof(*s));
        s->dir = tu_tmpdir();
        s->msgdir = tu_path_join(s->dir, "msgs");
        s->log = tu_path_join(s->dir, "sink.log");
        ready = tu_path_join(s->dir, "ready");
        ck_assert_int_eq(mkdir(s->msgdir, 0700), 0);
        s->port = tu_free_port();
        snprintf(port, sizeof(port), "%d", s->port);
        snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d", scheme, s->port);
        argv[n++] = SINK_PYTHON;
        argv[n++] = script;
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--dir";
        argv[n++] = s->msgdir;
        argv[n++] = "--ready";
        argv[n++] = ready;
        for (size_t i = 0; extra && extra[i] && n < 31; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        s->pid = tu_spawn(argv, NULL, s->log);
        /* Wait until it listens (or dies, e.g. because the port was
         * taken meanwhile). */
        for (int waited = 0; waited < 30000; waited += 50) {
            int st;
            if (access(ready, F_OK) == 0) {
                up = true;
                break;
            }
            if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
                s->pid = 0;
                break;
            }
            usleep(50000);
        }
        free(ready);
        if (up) {
            free(script);
            return;
        }
        if (s->pid > 0)
            tu_stop(s->pid, 1000);
        {
            char *log = tu_read_file(s->log);
            fprintf(stderr, "smtp sink did not start: %s\n", log ? log : "");
            free(log);
        }
        tu_rmrf(s->dir);
        free(s->dir);
        free(s->msgdir);
        free(s->log);
    }
    free(script);
    ck_abort_msg("the SMTP sink did not start");
}

static void sink_stop(struct sink *s)
{
    if (s->pid > 0)
        tu_stop(s->pid, 5000);
    tu_rmrf(s->dir);
    free(s->dir);
    free(s->msgdir);
    free(s->log);
    memset(s, 0, sizeof(*s));
}

static size_t sink_count(const struct sink *s)
{
    DIR *d = opendir(s->msgdir);
    struct dirent *e;
    size_t n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += str_has_suffix(e->d_name, ".eml");
    closedir(d);
    return n;
}

static char *sink_file(const struct sink *s, int n, const char *ext)
{
    char name[32], *path, *data;
    snprintf(name, sizeof(name), "%d.%s", n, ext);
    path = tu_path_join(s->msgdir, name);
    data = tu_read_file(path);
    ck_assert_msg(data != NULL, "the sink has no %s", name);
    free(path);
    return data;
}

static json_t *sink_envelope(const struct sink *s, int n)
{
    char *text = sink_file(s, n, "json");
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    free(text);
    return j;
}

/* ---- certificates for the TLS tests ---- */

static char *cert_dir;

/* A CA and a server certificate for 127.0.0.1/localhost signed by it,
 * made once by main() so that the forked tests share them. */
static void make_certs(void)
{
    static const char *const steps[] = {
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.pem -days 2 -subj /CN=plumb-test-ca",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
        "server.key -out server.csr -subj /CN=localhost",
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf && openssl x509 "
        "-req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
        "-extfile ext.cnf",
    };
    cert_dir = tu_tmpdir();
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        char *cmd = str_printf("cd '%s' && %s", cert_dir, steps[i]), *err = NULL;
        const char *argv[] = { "sh", "-c", cmd, NULL };
        int st = tu_run(argv, NULL, NULL, &err);
        if (st != 0) {
            fprintf(stderr, "openssl failed: %s\n", err);
            exit(99);
        }
        free(err);
        free(cmd);
    }
}

static char *certs(const char *name)
{
    return tu_path_join(cert_dir, name);
}

/* ---- messages ---- */

static const char *const rcpts[] = { "Ops Team <ops@example.org>", "sec@example.net", NULL };
static const char text_part[] = "Drift digest for 2026-W14\n.leading dot\nFrom here\nÄnderung: 3\n";
static const char html_part[] = "<p>Drift digest for <b>2026-W14</b></p>\n<p>Änderung: 3</p>\n";

static char *make_message(size_t *len, char **msgid)
{
    struct mime_message m = {
        .from = "plumb <plumb@example.org>",
        .to = rcpts,
        .subject = "Drift digest 2026-W14 – 3 Änderungen",
        .text = text_part,
        .html = html_part,
        .date_ms = 1774857600000LL,
        .utc_offset = 7200,
    };
    char *out = NULL;
    struct perr e = { 0 };
    ck_assert_msg(mime_build(&m, &out, len, msgid, &e) == 0, "%s", e.msg);
    return out;
}

static json_t *python_parse(const char *data)
{
    char *dir = tu_tmpdir(), *path = tu_path_join(dir, "m.eml");
    char *script = tu_srcpath("tests/harness/mime_parse.py"), *out = NULL, *err = NULL;
    const char *argv[] = { "python3", script, path, NULL };
    json_t *j;
    tu_write_file(path, data);
    ck_assert_msg(tu_run(argv, NULL, &out, &err) == 0, "%s", err);
    j = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    free(out);
    free(err);
    free(script);
    tu_rmrf(dir);
    free(path);
    free(dir);
    return j;
}

static char *crlf(const char *s)
{
    size_t o = 0;
    char *out = malloc(2 * strlen(s) + 1);
    ck_assert_ptr_nonnull(out);
    for (; *s; s++) {
        if (*s == '\n')
            out[o++] = '\r';
        out[o++] = *s;
    }
    out[o] = '\0';
    return out;
}

static const char *jstr(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static void expect_send(const struct smtp_options *o, const char *from, const char *const *to,
                        const char *msg, int code, const char *want_msg)
{
    struct perr e = { 0 };
    int r = smtp_send(o, from, to, msg, strlen(msg), &e);
    ck_assert_msg(r == code, "smtp_send = %d (want %d): %s", r, code, e.msg);
    if (want_msg)
        ck_assert_str_eq(e.msg, want_msg);
}

/* ---- delivery ---- */

START_TEST(delivers_to_two_recipients)
{
    struct sink s;
    struct smtp_options o = { 0 };
    char *msg, *msgid, *saved, *want_text, *want_html;
    size_t len;
    json_t *env, *parsed, *parts;
    struct perr e = { 0 };

    sink_start(&s, "smtp", NULL);
    o.url = s.url;
    o.tls = SMTP_TLS_NONE;
    msg = make_message(&len, &msgid);
    ck_assert_msg(smtp_send(&o, "plumb <plumb@example.org>", rcpts, msg, len, &e) == 0, "%s",
                  e.msg);
    ck_assert_uint_eq(sink_count(&s), 1);

    env = sink_envelope(&s, 1);
    ck_assert_str_eq(jstr(env, "mail_from"), "plumb@example.org");
    ck_assert_uint_eq(json_array_size(json_object_get(env, "rcpt_tos")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(env, "rcpt_tos"), 0)),
                     "ops@example.org");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(env, "rcpt_tos"), 1)),
                     "sec@example.net");
    ck_assert(json_is_false(json_object_get(env, "tls")));

    /* The server got exactly our bytes, and they decode to both parts. */
    saved = sink_file(&s, 1, "eml");
    ck_assert_str_eq(saved, msg);
    parsed = python_parse(saved);
    ck_assert_uint_eq(json_array_size(json_object_get(parsed, "defects")), 0);
    parts = json_object_get(parsed, "parts");
    ck_assert_uint_eq(json_array_size(parts), 2);
    want_text = crlf(text_part);
    want_html = crlf(html_part);
    ck_assert_str_eq(jstr(json_array_get(parts, 0), "content_type"), "text/plain");
    ck_assert_str_eq(jstr(json_array_get(parts, 0), "content"), want_text);
    ck_assert_str_eq(jstr(json_array_get(parts, 1), "content_type"), "text/html");
    ck_assert_str_eq(jstr(json_array_get(parts, 1), "content"), want_html);
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_object_get(parsed, "headers"), "subject"), 0)),
                     "Drift digest 2026-W14 – 3 Änderungen");
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_object_get(parsed, "headers"), "message-id"), 0)),
                     msgid);

    json_decref(parsed);
    json_decref(env);
    free(want_text);
    free(want_html);
    free(saved);
    free(msgid);
    free(msg);
    sink_stop(&s);
}
END_TEST

START_TEST(dot_lines_are_transparent)
{
    /* curl stuffs lines starting with "." and the server removes the
     * stuffing: what arrives is what was sent. */
    static const char raw[] = "From: a@example.org\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n"
                              ".\r\n..\r\n.leading\r\nmiddle . dot\r\n.\r\nend\r\n";
    static const char *const to[] = { "b@example.org", NULL };
    struct sink s;
    struct smtp_options o = { 0 };
    char *saved;

    sink_start(&s, "smtp", NULL);
    o.url = s.url;
    o.tls = SMTP_TLS_NONE;
    expect_send(&o, "a@example.org", to, raw, 0, NULL);
    saved = sink_file(&s, 1, "eml");
    ck_assert_str_eq(saved, raw);
    free(saved);
    sink_stop(&s);
}
END_TEST

/* ---- authentication ---- */

START_TEST(auth_success)
{
    static const char *const extra[] = { "--auth", "plumb:s3cr3t-pw", NULL };
    struct sink s;
    struct smtp_options o = { 0 };
    char *msg, *id;
    size_t len;
    json_t *env;
    struct perr e = { 0 };

    sink_start(&s, "smtp", extra);
    o.url = s.url;
    o.tls = SMTP_TLS_NONE;
    o.username = "plumb";
    o.password = "s3cr3t-pw";
    msg = make_message(&len, &id);
    ck_assert_msg(smtp_send(&o, "plumb@example.org", rcpts, msg, len, &e) == 0, "%s", e.msg);
    env = sink_envelope(&s, 1);
    ck_assert_str_eq(jstr(env, "login"), "plumb");
    json_decref(env);
    free(msg);
    free(id);

    /* Without credentials the server refuses MAIL: a permanent error with
     * the server's reply. */
    o.username = o.password = NULL;
    {
        char want[256];
        snprintf(want, sizeof(want),
                 "%s rejected MAIL FROM:<plumb@example.org> SIZE=17: 530 5.7.0 Authentication "
                 "required",
                 s.url);
        expect_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", -EREMOTEIO, want);
    }
    ck_assert_uint_eq(sink_count(&s), 1);
    sink_stop(&s);
}
END_TEST

START_TEST(auth_failure)
{
    static const char *const extra[] = { "--auth", "plumb:s3cr3t-pw", NULL };
    struct sink s;
    struct smtp_options o = { 0 };
    char want[256];

    sink_start(&s, "smtp", extra);
    o.url = s.url;
    o.tls = SMTP_TLS_NONE;
    o.username = "plumb";
    o.password = "wrong-password";
    snprintf(want, sizeof(want),
             "authentication failed at %s: 535 5.7.8 Authentication credentials invalid", s.url);
    expect_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", -EACCES, want);
    ck_assert_uint_eq(sink_count(&s), 0);
    sink_stop(&s);
}
END_TEST

START_TEST(auth_failure_never_shows_password)
{
    /* A server that echoes the credentials in its error reply. */
    static const char *const extra[] = { "--auth", "plumb:s3cr3t-pw", "--echo-auth", NULL };
    struct sink s;
    struct smtp_options o = { 0 };
    char want[256];
    struct perr e = { 0 };

    sink_start(&s, "smtp", extra);
    o.url = s.url;
    o.tls = SMTP_TLS_NONE;
    o.username = "plumb";
    o.password = "hunter2-wrong";
    snprintf(want, sizeof(want),
             "authentication failed at %s: 535 5.7.8 Authentication failed for plumb:***", s.url);
    expect_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", -EACCES, want);
    ck_assert_int_eq(smtp_send(&o, "plumb@example.org", rcpts, "x", 1, &e), -EACCES);
    ck_assert_ptr_null(strstr(e.msg, "hunter2"));
    sink_stop(&s);
}
END_TEST

/* ---- failures ---- */

START_TEST(server_down)
{
    struct smtp_options o = { 0 };
    char url[64], want[128];
    int port = tu_free_port();
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
    o.url = url;
    o.tls = SMTP_TLS_NONE;
    snprintf(want, sizeof(want), "cannot connect to %s: Connection refused", url);
    expect_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", -ECONNREFUSED, want);
}
END_TEST

START_TEST(rejected_recipient)
{
    static const char *const extra[] = { "--reject", "bad@example.org", NULL };
    static const char *const to[] = { "good@example.org", "Bad <bad@example.org>", NULL };
    struct sink s;
    struct smtp_options o = { 0 };
    char want[256];

    sink_start(&s, "smtp", extra);
    o.url = s.url;
    o.tls = SMTP_TLS_NONE;
    snprintf(want, sizeof(want),
             "%s rejected RCPT TO:<bad@example.org>: 550 5.1.1 <bad@example.org>: Recipient "
             "address rejected: User unknown",
             s.url);
    expect_send(&o, "plumb@example.org", to, "Subject: x\r\n\r\nx\r\n", -EREMOTEIO, want);
    /* One bad recipient and nobody gets it. */
    ck_assert_uint_eq(sink_count(&s), 0);
    sink_stop(&s);
}
END_TEST

START_TEST(deferred_recipient)
{
    static const char *const extra[] = { "--defer", "later@example.org", NULL };
    static const char *const to[] = { "later@example.org", NULL };
    struct sink s;
    struct smtp_options o = { 0 };
    char want[256];

    sink_start(&s, "smtp", extra);
    o.url = s.url;
    o.tls = SMTP_TLS_NONE;
    snprintf(want, sizeof(want),
             "%s temporarily rejected RCPT TO:<later@example.org>: 451 4.7.1 "
             "<later@example.org>: Greylisted, try again later",
             s.url);
    expect_send(&o, "plumb@example.org", to, "Subject: x\r\n\r\nx\r\n", -EAGAIN, want);
    ck_assert_uint_eq(sink_count(&s), 0);
    sink_stop(&s);
}
END_TEST

START_TEST(starttls_required)
{
    /* The default for smtp:// is STARTTLS, and this server has none. */
    struct sink s;
    struct smtp_options o = { 0 };
    char want[256];

    sink_start(&s, "smtp", NULL);
    o.url = s.url;
    snprintf(want, sizeof(want),
             "%s does not offer STARTTLS, which is required (tls=none is only for loopback test "
             "sinks)",
             s.url);
    expect_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", -EPROTO, want);
    o.tls = SMTP_TLS_STARTTLS;
    expect_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", -EPROTO, want);
    ck_assert_uint_eq(sink_count(&s), 0);
    sink_stop(&s);
}
END_TEST

START_TEST(starttls_delivers)
{
    char *cert = certs("server.pem"), *key = certs("server.key"), *ca = certs("ca.pem");
    const char *extra[] = {
        "--cert", cert, "--key", key, "--starttls", "--auth", "u:tls-pw", NULL
    };
    struct sink s;
    struct smtp_options o = { 0 };
    char *msg, *id, want[256];
    size_t len;
    json_t *env;
    struct perr e = { 0 };

    sink_start(&s, "smtp", extra);
    o.url = s.url;
    o.ca_file = ca;
    o.username = "u";
    o.password = "tls-pw";
    msg = make_message(&len, &id);
    ck_assert_msg(smtp_send(&o, "plumb@example.org", rcpts, msg, len, &e) == 0, "%s", e.msg);
    env = sink_envelope(&s, 1);
    ck_assert(json_is_true(json_object_get(env, "tls")));
    ck_assert_str_eq(jstr(env, "login"), "u");
    json_decref(env);

    /* The same server is not trusted without our CA. */
    o.ca_file = NULL;
    ck_assert_int_eq(smtp_send(&o, "plumb@example.org", rcpts, msg, len, &e), -EPROTO);
    snprintf(want, sizeof(want), "TLS with %s failed: ", s.url);
    ck_assert_msg(str_has_prefix(e.msg, want), "%s", e.msg);
    ck_assert_msg(strstr(e.msg, "certificate") != NULL, "%s", e.msg);
    ck_assert_uint_eq(sink_count(&s), 1);

    free(msg);
    free(id);
    sink_stop(&s);
    free(cert);
    free(key);
    free(ca);
}
END_TEST

START_TEST(implicit_tls_delivers)
{
    char *cert = certs("server.pem"), *key = certs("server.key"), *ca = certs("ca.pem");
    const char *extra[] = { "--cert", cert, "--key", key, "--implicit", NULL };
    struct sink s;
    struct smtp_options o = { 0 };
    char *msg, *id;
    size_t len;
    json_t *env;
    struct perr e = { 0 };

    sink_start(&s, "smtps", extra);
    o.url = s.url;
    o.ca_file = ca;
    msg = make_message(&len, &id);
    /* The default mode means implicit TLS on an smtps:// URL... */
    ck_assert_msg(smtp_send(&o, "plumb@example.org", rcpts, msg, len, &e) == 0, "%s", e.msg);
    /* ...as does asking for it. */
    o.tls = SMTP_TLS_IMPLICIT;
    ck_assert_msg(smtp_send(&o, "plumb@example.org", rcpts, msg, len, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(sink_count(&s), 2);
    env = sink_envelope(&s, 2);
    ck_assert(json_is_true(json_object_get(env, "tls")));
    json_decref(env);
    free(msg);
    free(id);
    sink_stop(&s);
    free(cert);
    free(key);
    free(ca);
}
END_TEST

START_TEST(connection_dropped)
{
    /* The server hangs up in the middle: the command it hung up on is
     * named, then curl's reason. */
    static const struct {
        const char *stage, *after;
    } stages[] = { { "mail", "MAIL FROM:<plumb@example.org> SIZE=18" },
                   { "rcpt", "RCPT TO:<ops@example.org>" },
                   { "data", "DATA" } };
    for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
        const char *extra[] = { "--close-at", stages[i].stage, NULL };
        struct sink s;
        struct smtp_options o = { 0 };
        struct perr e = { 0 };
        char want[256];

        sink_start(&s, "smtp", extra);
        o.url = s.url;
        o.tls = SMTP_TLS_NONE;
        ck_assert_int_eq(
            smtp_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", 18, &e), -EIO);
        snprintf(want, sizeof(want), "SMTP with %s failed after %s: ", s.url, stages[i].after);
        ck_assert_msg(str_has_prefix(e.msg, want), "%s", e.msg);
        ck_assert_uint_eq(sink_count(&s), 0);
        sink_stop(&s);
    }
}
END_TEST

START_TEST(silent_server_times_out)
{
    /* A socket that listens but never speaks: the kernel completes the
     * connection, the greeting never comes. */
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct smtp_options o = { 0 };
    char url[64], want[128];

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", ntohs(sa.sin_port));
    o.url = url;
    o.tls = SMTP_TLS_NONE;
    o.timeout_ms = 1500;
    snprintf(want, sizeof(want), "timed out talking to %s (after connecting)", url);
    expect_send(&o, "plumb@example.org", rcpts, "Subject: x\r\n\r\nx\r\n", -ETIMEDOUT, want);
    close(fd);
}
END_TEST

/* ---- checked before connecting ---- */

START_TEST(option_errors)
{
    static const char *const evil_to[] = { "ok@example.org", "x@y.z\r\nDATA", NULL };
    static const char *const none[] = { NULL };
    struct smtp_options o = { .url = "smtp://127.0.0.1:25", .tls = SMTP_TLS_NONE };
    const char *m = "Subject: x\r\n\r\nx\r\n";
    struct perr e = { 0 };

    o.url = NULL;
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL, "no SMTP URL");
    expect_send(NULL, "a@example.org", rcpts, m, -EINVAL, "no SMTP URL");
    o.url = "http://127.0.0.1:25";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "SMTP URL must look like smtp://host:port or smtps://host:port");
    o.url = "not a url";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "SMTP URL must look like smtp://host:port or smtps://host:port");
    o.url = "smtp://user:pw@127.0.0.1:25";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "SMTP URL must not contain a user name or password (use the username and "
                "password settings)");
    o.url = "smtps://127.0.0.1:465";
    o.tls = SMTP_TLS_NONE;
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "tls=none needs an smtp:// URL, not smtps://127.0.0.1:465");
    o.url = "smtp://127.0.0.1:25";
    o.tls = SMTP_TLS_IMPLICIT;
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "tls=implicit needs an smtps:// URL, not smtp://127.0.0.1:25");
    o.tls = (enum smtp_tls)9;
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL, "unknown TLS mode 9");

    /* No cleartext to anything but loopback. */
    o.tls = SMTP_TLS_NONE;
    o.url = "smtp://mail.example.org:25";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "tls=none is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost), not "
                "mail.example.org");
    o.url = "smtp://10.0.0.1:25";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "tls=none is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost), not "
                "10.0.0.1");
    o.url = "smtp://[2001:db8::1]:25";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "tls=none is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost), not "
                "[2001:db8::1]");
    o.url = "smtp://127.0.0.1.example.org:25";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "tls=none is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost), not "
                "127.0.0.1.example.org");
    /* Loopback forms pass the check and fail only at connect time. */
    {
        static const char *const loop_hosts[] = { "127.9.8.7", "localhost", "[::1]" };
        int port = tu_free_port();
        for (size_t i = 0; i < ARRAY_SIZE(loop_hosts); i++) {
            char url[64];
            int r;
            snprintf(url, sizeof(url), "smtp://%s:%d", loop_hosts[i], port);
            o.url = url;
            r = smtp_send(&o, "a@example.org", rcpts, m, strlen(m), &e);
            ck_assert_msg(r != -EINVAL && r < 0, "%s: %d %s", url, r, e.msg);
        }
    }

    o.url = "smtp://127.0.0.1:25";
    o.username = "u";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL, "SMTP user name given without a password");
    o.password = "pw\r\nRSET";
    expect_send(&o, "a@example.org", rcpts, m, -EINVAL,
                "SMTP user name or password contains a line break");
    o.username = o.password = NULL;
    expect_send(&o, "a@example.org\r\nRCPT TO:<x@y.z>", rcpts, m, -EINVAL,
                "envelope sender \"a@example.org\\r\\nRCPT TO:<x@y.z>\" contains a line break or "
                "control character");
    expect_send(&o, "not-an-address", rcpts, m, -EINVAL,
                "envelope sender \"not-an-address\" is not a valid address");
    expect_send(&o, "a@example.org", evil_to, m, -EINVAL,
                "recipient \"x@y.z\\r\\nDATA\" contains a line break or control character");
    expect_send(&o, "a@example.org", none, m, -EINVAL, "no recipients");
    expect_send(&o, "a@example.org", NULL, m, -EINVAL, "no recipients");
    expect_send(&o, "a@example.org", rcpts, "", -EINVAL, "empty message");
}
END_TEST

/* ---- on the loop ---- */

struct done {
    int calls;
    int result;
    char msg[512];
    bool on_loop_thread;
    uv_thread_t loop_thread;
};

static void on_done(int result, const struct perr *err, void *userdata)
{
    struct done *d = userdata;
    uv_thread_t self = uv_thread_self();
    d->calls++;
    d->result = result;
    snprintf(d->msg, sizeof(d->msg), "%s", err->msg);
    d->on_loop_thread = uv_thread_equal(&self, &d->loop_thread);
}

START_TEST(async_send)
{
    struct sink s;
    uv_loop_t loop;
    struct smtp_options o = { 0 };
    struct done ok = { 0 }, down = { 0 }, never = { 0 };
    char *msg, *id, *url, *copy_url, want[128];
    size_t len;
    struct perr e = { 0 };
    int port = tu_free_port();

    sink_start(&s, "smtp", NULL);
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ok.loop_thread = down.loop_thread = uv_thread_self();
    msg = make_message(&len, &id);

    /* Inputs are copied: free them right after queueing. */
    copy_url = strdup(s.url);
    o.url = copy_url;
    o.tls = SMTP_TLS_NONE;
    ck_assert_int_eq(
        smtp_send_async(&loop, &o, "plumb@example.org", rcpts, msg, len, on_done, &ok, &e), 0);
    memset(copy_url, 'x', strlen(copy_url));
    free(copy_url);

    url = str_printf("smtp://127.0.0.1:%d", port);
    o.url = url;
    ck_assert_int_eq(
        smtp_send_async(&loop, &o, "plumb@example.org", rcpts, msg, len, on_done, &down, &e), 0);

    /* Bad input fails now, and the callback never runs. */
    o.url = "smtp://mail.example.org:25";
    ck_assert_int_eq(
        smtp_send_async(&loop, &o, "plumb@example.org", rcpts, msg, len, on_done, &never, &e),
        -EINVAL);
    ck_assert_int_eq(
        smtp_send_async(&loop, &o, "plumb@example.org", rcpts, msg, len, NULL, &never, &e),
        -EINVAL);

    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(ok.calls, 1);
    ck_assert_msg(ok.result == 0, "%s", ok.msg);
    ck_assert(ok.on_loop_thread);
    ck_assert_int_eq(down.calls, 1);
    ck_assert_int_eq(down.result, -ECONNREFUSED);
    snprintf(want, sizeof(want), "cannot connect to %s: Connection refused", url);
    ck_assert_str_eq(down.msg, want);
    ck_assert(down.on_loop_thread);
    ck_assert_int_eq(never.calls, 0);
    ck_assert_uint_eq(sink_count(&s), 1);

    ck_assert_int_eq(uv_loop_close(&loop), 0);
    free(url);
    free(msg);
    free(id);
    sink_stop(&s);
}
END_TEST

static Suite *smtp_suite(void)
{
    Suite *s = suite_create("smtp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, delivers_to_two_recipients);
    tcase_add_test(tc, dot_lines_are_transparent);
    tcase_add_test(tc, auth_success);
    tcase_add_test(tc, auth_failure);
    tcase_add_test(tc, auth_failure_never_shows_password);
    tcase_add_test(tc, server_down);
    tcase_add_test(tc, rejected_recipient);
    tcase_add_test(tc, deferred_recipient);
    tcase_add_test(tc, starttls_required);
    tcase_add_test(tc, starttls_delivers);
    tcase_add_test(tc, implicit_tls_delivers);
    tcase_add_test(tc, connection_dropped);
    tcase_add_test(tc, silent_server_times_out);
    tcase_add_test(tc, option_errors);
    tcase_add_test(tc, async_send);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *argv[] = { SINK_PYTHON, "-c", "import aiosmtpd", NULL };
    int r;
    if (tu_run(argv, NULL, NULL, NULL) != 0)
        tu_skip(SINK_PYTHON " with aiosmtpd is needed for the SMTP sink");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 99;
    make_certs();
    r = tu_run_suite(smtp_suite());
    tu_rmrf(cert_dir);
    free(cert_dir);
    curl_global_cleanup();
    return r;
}
