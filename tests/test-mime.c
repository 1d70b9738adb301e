/* lib/mime: every message is handed to Python's email package
 * (tests/harness/mime_parse.py, policy.default) in a child process, which
 * decodes headers and parts independently of us. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "testutil.h"

/* ---- helpers ---- */

/* Parse n messages with one Python process; returns a JSON array. */
static json_t *python_parse_many(char *const *msgs, const size_t *lens, size_t n)
{
    char *dir = tu_tmpdir(), *script = tu_srcpath("tests/harness/mime_parse.py");
    const char **argv = calloc(n + 4, sizeof(*argv));
    char **paths = calloc(n, sizeof(*paths));
    char *out = NULL, *err = NULL;
    json_error_t jerr;
    json_t *j;
    int st;

    ck_assert(argv && paths);
    argv[0] = "python3";
    argv[1] = script;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        FILE *f;
        snprintf(name, sizeof(name), "msg%zu.eml", i);
        paths[i] = tu_path_join(dir, name);
        f = fopen(paths[i], "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(msgs[i], 1, lens[i], f), lens[i]);
        ck_assert_int_eq(fclose(f), 0);
        argv[2 + i] = paths[i];
    }
    /* A dummy second file keeps the output a list even for one message. */
    argv[2 + n] = n == 1 ? paths[0] : NULL;
    st = tu_run(argv, NULL, &out, &err);
    ck_assert_msg(st == 0, "mime_parse.py failed (%d): %s", st, err);
    j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "bad JSON from mime_parse.py: %s", jerr.text);
    ck_assert_uint_eq(json_array_size(j), n == 1 ? 2 : n);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(argv);
    free(out);
    free(err);
    free(script);
    tu_rmrf(dir);
    free(dir);
    return j;
}

static json_t *python_parse(const char *msg, size_t len)
{
    char *m = (char *)msg;
    json_t *all = python_parse_many(&m, &len, 1), *one = json_array_get(all, 0);
    json_incref(one);
    json_decref(all);
    return one;
}

static const char *jstr(json_t *j, const char *path)
{
    /* "a.b.0.c": objects by key, arrays by index. */
    const char *p = path;
    while (*p && j) {
        char key[64];
        size_t n = strcspn(p, ".");
        ck_assert_uint_lt(n, sizeof(key));
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_is_array(j))
            j = json_array_get(j, strtoul(key, NULL, 10));
        else
            j = json_object_get(j, key);
        p += n;
        if (*p == '.')
            p++;
    }
    return json_string_value(j);
}

static json_t *jget(json_t *j, const char *key)
{
    return json_object_get(j, key);
}

/* The input with line breaks as the decoder gives them back (CRLF). */
static char *crlf(const char *s)
{
    size_t len = strlen(s), o = 0;
    char *out = malloc(2 * len + 1);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            if (s[i] == '\r' && s[i + 1] == '\n')
                i++;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Longest line of the header section and of the body, in bytes. */
static void line_lengths(const char *msg, size_t *ret_header, size_t *ret_body)
{
    const char *p = msg, *body = strstr(msg, "\r\n\r\n");
    size_t h = 0, b = 0;
    ck_assert_ptr_nonnull(body);
    while (*p) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (p <= body)
            h = MAX(h, len);
        else
            b = MAX(b, len);
        if (!e)
            break;
        p = e + 2;
    }
    *ret_header = h;
    *ret_body = b;
}

static const char *const default_to[] = { "Ops Team <ops@example.org>", "sec@example.net", NULL };

static struct mime_message base_msg(void)
{
    return (struct mime_message){
        .from = "plumb <plumb@example.org>",
        .to = default_to,
        .subject = "Weekly drift digest",
        .list_id = "digest.plumb.example.org",
        .list_name = "plumb digest",
        .text = "Hello\n",
        .html = "<p>Hello</p>\n",
        .date_ms = 1774857600000LL, /* 2026-03-30 */
        .utc_offset = 7200,
    };
}

static char *build(const struct mime_message *m, size_t *len, char **msgid)
{
    char *out = NULL;
    struct perr e = { 0 };
    int r = mime_build(m, &out, len, msgid, &e);
    ck_assert_msg(r == 0, "mime_build = %d: %s", r, e.msg);
    ck_assert_uint_eq(strlen(out), *len);
    return out;
}

static void assert_clean(json_t *j)
{
    json_t *lines = jget(j, "lines");
    ck_assert_msg(json_array_size(jget(j, "defects")) == 0, "defects: %s",
                  json_dumps(jget(j, "defects"), 0));
    ck_assert(json_is_false(jget(lines, "bare_lf")));
    ck_assert(json_is_false(jget(lines, "bare_cr")));
    ck_assert(json_is_false(jget(lines, "non_ascii")));
    ck_assert_int_le(json_integer_value(jget(lines, "max")), 998);
}

/* ---- round trips ---- */

static const char body_text[] =
    "Drift report for week 2026-W14\n"
    "\n"
    ".\n"
    ".. two dots\n"
    ".leading dot\n"
    "From the start of a line\n"
    "From \n"
    ">From quoted\n"
    "trailing spaces   \n"
    "trailing tab\t\n"
    "equals = and =3D and =\n"
    "Umlaute: äöü ÄÖÜ ß, emoji 🚨🎉, CJK 漂移检测\n"
    "crlf line\r\n"
    "lone cr line\r"
    "\ttab at start\n"
    "=_plumb_0000 and --=_plumb_ and --\n"
    "evil\r\nBcc: x@y\n"
    "A long line with words: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
    "eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis "
    "nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute "
    "irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla.\n"
    "no newline at the end";

static char *long_word(size_t n, char c)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(round_trip_encodings)
{
    static const enum mime_encoding encs[] = { MIME_ENC_AUTO, MIME_ENC_QP, MIME_ENC_BASE64 };
    char *unbroken = long_word(2000, 'x');
    char *text = str_printf("%s\n%s.%s\n", body_text, unbroken, unbroken);
    const char *html = "<!DOCTYPE html>\n<html><body>\n<h1 class=\"t\">Drift für KW 14 🚨</h1>\n"
                       "<p style=\"color:red\">.dot</p>\nFrom here\n</body></html>";
    char *want_text = crlf(text), *want_html = crlf(html);

    for (size_t a = 0; a < 3; a++) {
        for (size_t b = 0; b < 3; b++) {
            struct mime_message m = base_msg();
            char *msg, *msgid = NULL;
            size_t len, hmax, bmax;
            json_t *j, *parts;

            m.text = text;
            m.html = html;
            m.text_encoding = encs[a];
            m.html_encoding = encs[b];
            msg = build(&m, &len, &msgid);
            j = python_parse(msg, len);
            assert_clean(j);
            ck_assert_str_eq(jstr(j, "content_type"), "multipart/alternative");
            parts = jget(j, "parts");
            ck_assert_uint_eq(json_array_size(parts), 2);
            ck_assert_str_eq(jstr(parts, "0.content_type"), "text/plain");
            ck_assert_str_eq(jstr(parts, "0.charset"), "utf-8");
            ck_assert_str_eq(jstr(parts, "1.content_type"), "text/html");
            ck_assert_str_eq(jstr(parts, "1.charset"), "utf-8");
            ck_assert_str_eq(jstr(parts, "0.content"), want_text);
            ck_assert_str_eq(jstr(parts, "1.content"), want_html);
            /* The chosen encodings; AUTO takes quoted-printable for this
             * mostly-ASCII text. */
            ck_assert_str_eq(jstr(parts, "0.cte"),
                             encs[a] == MIME_ENC_BASE64 ? "base64" : "quoted-printable");
            ck_assert_str_eq(jstr(parts, "1.cte"),
                             encs[b] == MIME_ENC_BASE64 ? "base64" : "quoted-printable");
            ck_assert_str_eq(jstr(j, "headers.message-id.0"), msgid);
            ck_assert(strstr(msg, "\r\n\r\nThis is a multi-part message") != NULL);
            /* No body line passes 76 columns, no header line here either. */
            line_lengths(msg, &hmax, &bmax);
            ck_assert_uint_le(hmax, 76);
            ck_assert_uint_le(bmax, 76);
            /* No encoded line starts with "." or "From " (relays may
             * stuff or quote those). */
            for (const char *p = strstr(msg, "\r\n\r\n"); p; p = strstr(p + 2, "\r\n")) {
                ck_assert_msg(p[2] != '.', "a body line starts with a dot");
                ck_assert_msg(strncmp(p + 2, "From ", 5) != 0, "a body line starts with From");
            }
            json_decref(j);
            free(msgid);
            free(msg);
        }
    }
    free(want_text);
    free(want_html);
    free(text);
    free(unbroken);
}
END_TEST

START_TEST(headers_decode)
{
    static const char *const to[] = {
        "Ops Team <ops@example.org>",          "sec@example.net",
        "Jörg Müller 🚀 <joerg@example.de>",    "\"Ops, EU (24/7)\" <ops-eu@example.org>",
        "\"Say \\\"hi\\\"\" <hi@example.org>", NULL
    };
    static const struct {
        const char *name, *addr;
    } want[] = { { "Ops Team", "ops@example.org" },
                 { "", "sec@example.net" },
                 { "Jörg Müller 🚀", "joerg@example.de" },
                 { "Ops, EU (24/7)", "ops-eu@example.org" },
                 { "Say \"hi\"", "hi@example.org" } };
    struct mime_message m = base_msg();
    char *msg, *msgid;
    size_t len, hmax, bmax;
    json_t *j, *addrs;

    m.to = to;
    m.reply_to = "Plumb Support <support@example.org>";
    m.list_name = "plumb drift digest für Ops";
    msg = build(&m, &len, &msgid);
    j = python_parse(msg, len);
    assert_clean(j);
    addrs = jget(jget(j, "addresses"), "to");
    ck_assert_uint_eq(json_array_size(addrs), ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        ck_assert_str_eq(json_string_value(jget(json_array_get(addrs, i), "name")), want[i].name);
        ck_assert_str_eq(json_string_value(jget(json_array_get(addrs, i), "addr")), want[i].addr);
    }
    ck_assert_str_eq(jstr(j, "addresses.from.0.name"), "plumb");
    ck_assert_str_eq(jstr(j, "addresses.from.0.addr"), "plumb@example.org");
    ck_assert_str_eq(jstr(j, "addresses.reply-to.0.name"), "Plumb Support");
    ck_assert_str_eq(jstr(j, "addresses.reply-to.0.addr"), "support@example.org");
    ck_assert_str_eq(jstr(j, "headers.subject.0"), "Weekly drift digest");
    ck_assert_str_eq(jstr(j, "headers.list-id.0"),
                     "plumb drift digest für Ops <digest.plumb.example.org>");
    ck_assert_str_eq(jstr(j, "headers.auto-submitted.0"), "auto-generated");
    ck_assert_str_eq(jstr(j, "headers.mime-version.0"), "1.0");
    ck_assert_str_eq(jstr(j, "headers.message-id.0"), msgid);
    ck_assert(str_has_prefix(msgid, "<") && str_has_suffix(msgid, "@example.org>"));
    ck_assert_uint_eq(strlen(msgid), 1 + 32 + 1 + strlen("example.org") + 1);
    line_lengths(msg, &hmax, &bmax);
    ck_assert_uint_le(hmax, 76);
    /* Every header exactly once. */
    {
        static const char *const once[] = { "date",        "from",           "to",
                                            "reply-to",    "subject",        "message-id",
                                            "list-id",     "auto-submitted", "mime-version",
                                            "content-type" };
        for (size_t i = 0; i < ARRAY_SIZE(once); i++)
            ck_assert_uint_eq(json_array_size(jget(jget(j, "headers"), once[i])), 1);
        ck_assert_uint_eq(json_object_size(jget(j, "headers")), ARRAY_SIZE(once));
    }
    json_decref(j);
    free(msgid);
    free(msg);

    /* Without Reply-To and List-Id those headers are absent; the
     * Message-ID domain can be chosen. */
    m = base_msg();
    m.list_id = NULL;
    m.message_id_domain = "mail.example.com";
    msg = build(&m, &len, &msgid);
    j = python_parse(msg, len);
    ck_assert_ptr_null(jget(jget(j, "headers"), "reply-to"));
    ck_assert_ptr_null(jget(jget(j, "headers"), "list-id"));
    ck_assert(str_has_suffix(msgid, "@mail.example.com>"));
    json_decref(j);
    free(msgid);
    free(msg);
}
END_TEST

START_TEST(long_display_names)
{
    /* Names longer than one encoded-word: split into several words, which
     * the strict RFC 2047 decoder joins back exactly.  Mixed names keep
     * their ASCII words as plain atoms. */
    static const char *const names[] = {
        "Überwachung der Konfigurationsdrift für alle Konten der Gruppe Süd-Ost",
        "漂移检测团队漂移检测团队漂移检测团队漂移检测团队",
        "Team Ünïcödé Ops",
        "Ops (Zürich, Genève)",
        "double  space Jörg",
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        struct mime_message m = base_msg();
        char *to0 = str_printf("%s <n%zu@example.org>", names[i], i), *msg, *id, *want;
        const char *to[] = { to0, NULL };
        size_t len, hmax, bmax;
        json_t *j;
        m.to = to;
        m.from = to0;
        msg = build(&m, &len, &id);
        j = python_parse(msg, len);
        assert_clean(j);
        want = str_printf("%s <n%zu@example.org>", names[i], i);
        ck_assert_str_eq(jstr(j, "rfc2047.to.0"), want);
        ck_assert_str_eq(jstr(j, "rfc2047.from.0"), want);
        {
            char addr[64];
            snprintf(addr, sizeof(addr), "n%zu@example.org", i);
            ck_assert_str_eq(jstr(j, "addresses.to.0.addr"), addr);
        }
        line_lengths(msg, &hmax, &bmax);
        ck_assert_uint_le(hmax, 76);
        json_decref(j);
        free(want);
        free(id);
        free(msg);
        free(to0);
    }
}
END_TEST

START_TEST(message_ids_and_boundaries_differ)
{
    struct mime_message m = base_msg();
    char *a, *b, *ida, *idb;
    size_t la, lb;
    json_t *ja, *jb;
    a = build(&m, &la, &ida);
    b = build(&m, &lb, &idb);
    ck_assert_str_ne(ida, idb);
    ja = python_parse(a, la);
    jb = python_parse(b, lb);
    ck_assert_str_ne(jstr(ja, "boundary"), jstr(jb, "boundary"));
    ck_assert(str_has_prefix(jstr(ja, "boundary"), "=_plumb_"));
    /* The message id and the length are optional outputs. */
    {
        char *out = NULL;
        ck_assert_int_eq(mime_build(&m, &out, NULL, NULL, NULL), 0);
        ck_assert_ptr_nonnull(out);
        free(out);
    }
    json_decref(ja);
    json_decref(jb);
    free(a);
    free(b);
    free(ida);
    free(idb);
}
END_TEST

/* Build one message per subject, decode them all, compare. */
static void check_subjects(const char *const *subjects, const char *const *want, size_t n)
{
    char **msgs = calloc(n, sizeof(*msgs)), **ids = calloc(n, sizeof(*ids));
    size_t *lens = calloc(n, sizeof(*lens));
    json_t *all;

    ck_assert(msgs && ids && lens);
    for (size_t i = 0; i < n; i++) {
        struct mime_message m = base_msg();
        size_t hmax, bmax;
        m.subject = subjects[i];
        msgs[i] = build(&m, &lens[i], &ids[i]);
        line_lengths(msgs[i], &hmax, &bmax);
        ck_assert_msg(hmax <= 76, "a header line of %zu bytes for subject \"%s\"", hmax,
                      subjects[i]);
    }
    all = python_parse_many(msgs, lens, n);
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_array_get(all, i);
        assert_clean(j);
        ck_assert_uint_eq(json_array_size(jget(jget(j, "headers"), "subject")), 1);
        ck_assert_ptr_null(jget(jget(j, "headers"), "bcc"));
        ck_assert_str_eq(jstr(j, "headers.subject.0"), want[i]);
        free(msgs[i]);
        free(ids[i]);
    }
    json_decref(all);
    free(msgs);
    free(ids);
    free(lens);
}

START_TEST(subjects)
{
    static const char *const same[] = {
        "Weekly drift digest",
        "Drift-Bericht für KW 47 – Größe",
        "🚨 3 new drifts, 2 resolved 🎉",
        "漂移检测周报：本周共发现十二个新的配置漂移，其中三个涉及安全组规则，请尽快处理。"
        "漂移检测周报：本周共发现十二个新的配置漂移，其中三个涉及安全组规则，请尽快处理。",
        "=?utf-8?q?not_an_encoded_word?=",
        "  leading and trailing  ",
        "double  space",
        "a",
        "",
        "plumb: 14 drifted resources in account 123456789012 (eu-central-1, eu-west-1, "
        "us-east-1) for week 2026-W14, baseline NIS2/DORA: 3 controls failing, 97 passing",
        "arn:aws:iam::123456789012:role/service-role/some-very-long-role-name-that-goes-on-and-on",
        "mixed ASCII words and one ümlaut in a subject that is long enough to need folding "
        "across lines",
    };
    const char *all[ARRAY_SIZE(same) + 1];
    char *lw = long_word(150, 'w');
    for (size_t i = 0; i < ARRAY_SIZE(same); i++)
        all[i] = same[i];
    all[ARRAY_SIZE(same)] = lw;
    check_subjects(all, all, ARRAY_SIZE(all));
    free(lw);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(subject_injection_neutralised)
{
    /* Resource names and tags end up in the subject: line breaks and other
     * controls become spaces, they never start a header. */
    static const char *const in[] = {
        "drift in evil\r\nBcc: x@y",
        "evil\nBcc: x@y\n\nbody",
        "tab\there del\x7f nel\xc2\x85 ls\xe2\x80\xa8 ps\xe2\x80\xa9 end",
        "\r\nSubject: second",
    };
    static const char *const want[] = {
        "drift in evil  Bcc: x@y",
        "evil Bcc: x@y  body",
        "tab here del  nel  ls  ps  end",
        "  Subject: second",
    };
    check_subjects(in, want, ARRAY_SIZE(in));
}
END_TEST

START_TEST(body_injection_is_content)
{
    struct mime_message m = base_msg();
    const char *hostile = "name: evil\r\nBcc: x@y\r\n\r\n--=_plumb_\r\nContent-Type: text/html\r\n"
                          "\r\n<script>alert(1)</script>\r\n.\r\n";
    char *msg, *msgid, *want = crlf(hostile);
    size_t len;
    json_t *j;
    for (int enc = MIME_ENC_QP; enc <= MIME_ENC_BASE64; enc++) {
        m.text = hostile;
        m.html = hostile;
        m.text_encoding = m.html_encoding = (enum mime_encoding)enc;
        msg = build(&m, &len, &msgid);
        j = python_parse(msg, len);
        assert_clean(j);
        ck_assert_ptr_null(jget(jget(j, "headers"), "bcc"));
        ck_assert_uint_eq(json_array_size(jget(j, "parts")), 2);
        ck_assert_str_eq(jstr(j, "parts.0.content"), want);
        ck_assert_str_eq(jstr(j, "parts.1.content"), want);
        json_decref(j);
        free(msgid);
        free(msg);
    }
    free(want);
}
END_TEST

static void expect_error(const struct mime_message *m, int code, const char *msg)
{
    char *out = (char *)"untouched", *id = (char *)"untouched";
    size_t len = 42;
    struct perr e = { 0 };
    ck_assert_int_eq(mime_build(m, &out, &len, &id, &e), code);
    ck_assert_str_eq(e.msg, msg);
    ck_assert_str_eq(out, "untouched");
    ck_assert_str_eq(id, "untouched");
    ck_assert_uint_eq(len, 42);
}

START_TEST(header_injection_rejected)
{
    struct mime_message m;
    static const char *const evil_to[] = { "ops@example.org", "evil\r\nBcc: x@y", NULL };
    static const char *const evil_name[] = { "Evil\r\nBcc: x@y <ops@example.org>", NULL };
    static const char *const evil_lf[] = { "ops@example.org\nBcc: x@y", NULL };

    m = base_msg();
    m.to = evil_to;
    expect_error(&m, -EINVAL,
                 "To address \"evil\\r\\nBcc: x@y\" contains a line break or control character");
    m.to = evil_name;
    expect_error(&m, -EINVAL,
                 "To address \"Evil\\r\\nBcc: x@y <ops@example.org>\" contains a line break or "
                 "control character");
    m.to = evil_lf;
    expect_error(&m, -EINVAL,
                 "To address \"ops@example.org\\nBcc: x@y\" contains a line break or control "
                 "character");
    m = base_msg();
    m.from = "plumb <plumb@example.org>\r\nBcc: x@y";
    expect_error(&m, -EINVAL,
                 "From address \"plumb <plumb@example.org>\\r\\nBcc: x@y\" contains a line break "
                 "or control character");
    m = base_msg();
    m.reply_to = "x@y.z\rBcc: x@y";
    expect_error(&m, -EINVAL,
                 "Reply-To address \"x@y.z\\rBcc: x@y\" contains a line break or control "
                 "character");
    m = base_msg();
    m.list_name = "digest\r\nBcc: x@y";
    expect_error(&m, -EINVAL, "List-Id description \"digest\\r\\nBcc: x@y\" is not valid");
    m = base_msg();
    m.list_id = "digest.example.org>\r\nBcc: x@y";
    expect_error(&m, -EINVAL,
                 "List-Id \"digest.example.org>\\r\\nBcc: x@y\" is not valid (expected e.g. "
                 "digest.example.org)");
    m = base_msg();
    m.message_id_domain = "example.org>\r\nBcc: x@y";
    expect_error(&m, -EINVAL, "Message-ID domain \"example.org>\\r\\nBcc: x@y\" is not valid");
}
END_TEST

START_TEST(invalid_fields)
{
    static const struct {
        const char *addr, *msg;
    } bad[] = {
        { "no-at-sign", "To address \"no-at-sign\" is not a valid address" },
        { "a@", "To address \"a@\" is not a valid address" },
        { "@b.c", "To address \"@b.c\" is not a valid address" },
        { "a@b..c", "To address \"a@b..c\" is not a valid address" },
        { "a b@c.d", "To address \"a b@c.d\" is not a valid address" },
        { "<a@b.c", "To address \"<a@b.c\" is not a valid address" },
        { "Name <a@b.c> x", "To address \"Name <a@b.c> x\" is not a valid address" },
        { "Name <a@b.c", "To address \"Name <a@b.c\" is not a valid address" },
        { "jörg@example.org", "To address \"jörg@example.org\" is not a valid address" },
        { "a@-b.c", "To address \"a@-b.c\" is not a valid address" },
        { "a@b-.c", "To address \"a@b-.c\" is not a valid address" },
        { "a..b@c.d", "To address \"a..b@c.d\" is not a valid address" },
        { ".a@b.c", "To address \".a@b.c\" is not a valid address" },
        { "a\"b@c.d", "To address \"a\\\"b@c.d\" is not a valid address" },
        { "J. \"Bob\" <bob@example.org>",
          "To address \"J. \\\"Bob\\\" <bob@example.org>\" is not a valid address" },
        { "\"unterminated <a@b.c>", "To address \"\\\"unterminated <a@b.c>\" is not a valid "
                                    "address" },
        { "a@b.c\xff", "To address \"a@b.c\\xff\" is not valid UTF-8" },
        { "", "To address is missing" },
    };
    char local65[80], label64[100], toolong[1100];
    const char *to[2] = { NULL, NULL };
    struct mime_message m;
    char *lw;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        m = base_msg();
        to[0] = bad[i].addr;
        m.to = to;
        expect_error(&m, -EINVAL, bad[i].msg);
    }
    memset(local65, 'l', 65);
    snprintf(local65 + 65, sizeof(local65) - 65, "@example.org");
    to[0] = local65;
    m.to = to;
    ck_assert_int_eq(mime_build(&m, &(char *){ NULL }, NULL, NULL, NULL), -EINVAL);
    memset(label64, 'd', 64);
    snprintf(label64 + 64, sizeof(label64) - 64, ".org");
    {
        char addr[120];
        snprintf(addr, sizeof(addr), "a@%s", label64);
        to[0] = addr;
        ck_assert_int_eq(mime_build(&m, &(char *){ NULL }, NULL, NULL, NULL), -EINVAL);
        /* 63 is the longest label. */
        snprintf(addr, sizeof(addr), "a@%s", label64 + 1);
        {
            char *out = NULL;
            ck_assert_int_eq(mime_build(&m, &out, NULL, NULL, NULL), 0);
            free(out);
        }
    }
    memset(toolong, 'x', sizeof(toolong) - 1);
    toolong[sizeof(toolong) - 1] = '\0';
    to[0] = toolong;
    {
        struct perr e = { 0 };
        ck_assert_int_eq(mime_build(&m, &(char *){ NULL }, NULL, NULL, &e), -EINVAL);
        ck_assert(str_has_suffix(e.msg, "...\" is too long"));
    }

    m = base_msg();
    m.from = NULL;
    expect_error(&m, -EINVAL, "From address is missing");
    m = base_msg();
    to[0] = NULL;
    m.to = to;
    expect_error(&m, -EINVAL, "no recipients");
    m.to = NULL;
    expect_error(&m, -EINVAL, "no recipients");
    m = base_msg();
    m.subject = NULL;
    expect_error(&m, -EINVAL, "Subject is missing");
    m = base_msg();
    m.subject = "ab\xff";
    expect_error(&m, -EINVAL, "Subject \"ab\\xff\" is not valid UTF-8");
    m = base_msg();
    m.text = "ok\n\xff";
    expect_error(&m, -EINVAL, "text part is not valid UTF-8 (byte 3)");
    m = base_msg();
    m.html = "\xc0\xaf overlong";
    expect_error(&m, -EINVAL, "HTML part is not valid UTF-8 (byte 0)");
    m = base_msg();
    m.html = "surrogate \xed\xa0\x80";
    expect_error(&m, -EINVAL, "HTML part is not valid UTF-8 (byte 10)");
    m = base_msg();
    m.text = "beyond U+10FFFF \xf4\x90\x80\x80";
    expect_error(&m, -EINVAL, "text part is not valid UTF-8 (byte 16)");
    m = base_msg();
    m.text = "truncated \xe2\x82";
    expect_error(&m, -EINVAL, "text part is not valid UTF-8 (byte 10)");
    m = base_msg();
    m.text = NULL;
    expect_error(&m, -EINVAL, "text part is missing");
    m = base_msg();
    m.html = NULL;
    expect_error(&m, -EINVAL, "HTML part is missing");
    m = base_msg();
    m.text_encoding = (enum mime_encoding)7;
    expect_error(&m, -EINVAL, "text part: unknown transfer encoding 7");
    m = base_msg();
    m.list_id = "nodot";
    expect_error(&m, -EINVAL, "List-Id \"nodot\" is not valid (expected e.g. digest.example.org)");
    m = base_msg();
    m.message_id_domain = "-bad-.org";
    expect_error(&m, -EINVAL, "Message-ID domain \"-bad-.org\" is not valid");
    m = base_msg();
    m.date_ms = -5000000000000LL; /* 1811 */
    expect_error(&m, -EINVAL, "Date out of range");
    m = base_msg();
    m.utc_offset = 86400;
    expect_error(&m, -EINVAL, "Date out of range");
    m = base_msg();
    lw = long_word(5000, 'y');
    m.text = lw;
    m.max_size = 1000;
    expect_error(&m, -E2BIG, "message larger than 1000 bytes");
    m.text = "short";
    m.html = lw;
    expect_error(&m, -E2BIG, "message larger than 1000 bytes");
    m.html = "short";
    m.max_size = 200; /* the parts fit, the headers do not */
    expect_error(&m, -E2BIG, "message larger than 200 bytes");
    free(lw);
    expect_error(NULL, -EINVAL, "no message");
}
END_TEST

/* ---- dates ---- */

START_TEST(date_header)
{
    static const int32_t offsets[] = { 0,      3600,  7200,   -18000, 37800, 20700,
                                       -12600, 49500, -36000, 3208,   -3208 };
    static const int64_t instants[] = { 1774857600000LL, 946684799999LL, 4102444800000LL,
                                        1700000000123LL, 0 };
    enum { N = ARRAY_SIZE(offsets) * ARRAY_SIZE(instants) };
    char *msgs[N], *ids[N];
    size_t lens[N], n = 0;
    json_t *all;

    for (size_t i = 0; i < ARRAY_SIZE(offsets); i++) {
        for (size_t k = 0; k < ARRAY_SIZE(instants); k++, n++) {
            struct mime_message m = base_msg();
            m.date_ms = instants[k];
            m.utc_offset = offsets[i];
            msgs[n] = build(&m, &lens[n], &ids[n]);
        }
    }
    all = python_parse_many(msgs, lens, N);
    n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(offsets); i++) {
        for (size_t k = 0; k < ARRAY_SIZE(instants); k++, n++) {
            json_t *d = jget(json_array_get(all, n), "date");
            ck_assert_ptr_nonnull(d);
            /* Whole seconds, the offset in whole minutes (LMT +00:53:28 is
             * written +0053). */
            ck_assert(fabs(json_real_value(jget(d, "timestamp")) - (double)(instants[k] / 1000)) <
                      0.001);
            ck_assert_int_eq((int)json_real_value(jget(d, "utcoffset")), offsets[i] / 60 * 60);
            free(ids[n]);
            free(msgs[n]);
        }
    }
    json_decref(all);
}
END_TEST

START_TEST(auto_encoding_choice)
{
    struct mime_message m = base_msg();
    char *msg, *id;
    size_t len;
    json_t *j;
    m.text = "Переход конфигурации обнаружен в учётной записи. 配置漂移。Ελληνικά κείμενα.\n";
    m.html = "<p>plain ASCII html with a few = signs</p>";
    msg = build(&m, &len, &id);
    j = python_parse(msg, len);
    assert_clean(j);
    ck_assert_str_eq(jstr(j, "parts.0.cte"), "base64");
    ck_assert_str_eq(jstr(j, "parts.1.cte"), "quoted-printable");
    ck_assert_str_eq(
        jstr(j, "parts.0.content"),
        "Переход конфигурации обнаружен в учётной записи. 配置漂移。Ελληνικά κείμενα.\r\n");
    json_decref(j);
    free(id);
    free(msg);
}
END_TEST

START_TEST(parse_address_forms)
{
    static const struct {
        const char *in, *name, *addr;
    } ok[] = {
        { "ops@example.org", NULL, "ops@example.org" },
        { "  ops@example.org  ", NULL, "ops@example.org" },
        { "<ops@example.org>", NULL, "ops@example.org" },
        { "Ops <ops@example.org>", "Ops", "ops@example.org" },
        { "Ops Team   <ops@example.org>", "Ops Team", "ops@example.org" },
        { "\"Ops, EU\" <ops@example.org>", "Ops, EU", "ops@example.org" },
        { "\"\\\\back\\\"slash\" <b@example.org>", "\\back\"slash", "b@example.org" },
        { "\"\" <e@example.org>", NULL, "e@example.org" },
        { "Jörg <j@example.de>", "Jörg", "j@example.de" },
        { "root@localhost", NULL, "root@localhost" },
        { "a.b+tag!#$%&'*/=?^_`{|}~-x@sub-1.example.org", NULL,
          "a.b+tag!#$%&'*/=?^_`{|}~-x@sub-1.example.org" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        char *name = (char *)"x", *addr = NULL;
        struct perr e = { 0 };
        ck_assert_msg(mime_parse_address(ok[i].in, "Address", &name, &addr, &e) == 0, "%s: %s",
                      ok[i].in, e.msg);
        if (ok[i].name)
            ck_assert_str_eq(name, ok[i].name);
        else
            ck_assert_ptr_null(name);
        ck_assert_str_eq(addr, ok[i].addr);
        free(name);
        free(addr);
        /* The name is optional output. */
        ck_assert_int_eq(mime_parse_address(ok[i].in, NULL, NULL, &addr, NULL), 0);
        ck_assert_str_eq(addr, ok[i].addr);
        free(addr);
    }
    {
        struct perr e = { 0 };
        char *addr = NULL;
        ck_assert_int_eq(mime_parse_address("nope", NULL, NULL, &addr, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "address \"nope\" is not a valid address");
        ck_assert_int_eq(mime_parse_address(NULL, "Sender", NULL, &addr, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "Sender is missing");
        ck_assert_ptr_null(addr);
    }
}
END_TEST

static Suite *mime_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, round_trip_encodings);
    tcase_add_test(tc, headers_decode);
    tcase_add_test(tc, long_display_names);
    tcase_add_test(tc, message_ids_and_boundaries_differ);
    tcase_add_test(tc, subjects);
    tcase_add_test(tc, subject_injection_neutralised);
    tcase_add_test(tc, body_injection_is_content);
    tcase_add_test(tc, header_injection_rejected);
    tcase_add_test(tc, invalid_fields);
    tcase_add_test(tc, date_header);
    tcase_add_test(tc, auto_encoding_choice);
    tcase_add_test(tc, parse_address_forms);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *argv[] = { "python3", "-c", "import email.policy", NULL };
    if (tu_run(argv, NULL, NULL, NULL) != 0)
        tu_skip("python3 with the email package is needed to decode the messages");
    return tu_run_suite(mime_suite());
}
