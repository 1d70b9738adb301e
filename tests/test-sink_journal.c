/* lib/sink_journal: the field list of every event kind (from events stored
 * by lib/events), priorities, the MESSAGE_ID table against
 * systemd/plumb.catalog (parsed here, and by journalctl itself when it is
 * installed), the send wrapper with an injected send function and with the
 * real sd_journal_sendv, and the driver through the dispatcher. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "sink_journal.h"
#include "sinkharness.h"

static const char *field(char *const *fields, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; fields && fields[i]; i++)
        if (strncmp(fields[i], name, n) == 0 && fields[i][n] == '=')
            return fields[i] + n + 1;
    return NULL;
}

static char **fields_of(const struct dispatch_event *ev)
{
    char **f = NULL;
    struct perr err = { 0 };
    regex_t re;
    ck_assert_msg(sink_journal_fields(ev, &f, &err) == 0, "%s", err.msg);
    /* Journal field names: upper case, digits and '_', not starting with
     * '_' (those are trusted fields) or a digit. */
    ck_assert_int_eq(regcomp(&re, "^[A-Z][A-Z0-9_]*=", REG_EXTENDED | REG_NOSUB), 0);
    for (size_t i = 0; f[i]; i++) {
        ck_assert_msg(regexec(&re, f[i], 0, NULL, 0) == 0, "bad field %s", f[i]);
        /* No field twice. */
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcspn(f[i], "=") != strcspn(f[j], "=") ||
                              strncmp(f[i], f[j], strcspn(f[i], "=")) != 0,
                          "field twice: %s", f[i]);
    }
    regfree(&re);
    return f;
}

START_TEST(fields_of_a_drift)
{
    struct sh_events e;
    struct dispatch_event ev;
    char **f;
    char prio[4];

    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    ev = sh_event_of(&e, "drift.opened");
    f = fields_of(&ev);
    ck_assert_str_eq(field(f, "MESSAGE"),
                     "aws_s3_bucket logs changed outside Terraform (1 attribute)");
    ck_assert_str_eq(field(f, "MESSAGE_ID"), "1043adb7ec3345a09b6d1c732388a443");
    snprintf(prio, sizeof(prio), "%d", LOG_ERR);
    ck_assert_str_eq(field(f, "PRIORITY"), prio);
    ck_assert_str_eq(field(f, "SYSLOG_IDENTIFIER"), "plumbd");
    ck_assert_str_eq(field(f, "PLUMB_EVENT_ID"), ev.id);
    ck_assert_str_eq(field(f, "PLUMB_KIND"), "drift.opened");
    ck_assert_str_eq(field(f, "PLUMB_SEVERITY"), "high");
    ck_assert_str_eq(field(f, "PLUMB_DEDUPE_KEY"),
                     "drift:changed:111111111111/eu-central-1/aws_s3_bucket/logs");
    ck_assert_str_eq(field(f, "PLUMB_CATEGORY"), "changed");
    ck_assert_str_eq(field(f, "PLUMB_RESOURCE"), "111111111111/eu-central-1/aws_s3_bucket/logs");
    ck_assert_str_eq(field(f, "PLUMB_TYPE"), "aws_s3_bucket");
    ck_assert_str_eq(field(f, "PLUMB_ACCOUNT"), "111111111111");
    ck_assert_str_eq(field(f, "PLUMB_REGION"), "eu-central-1");
    ck_assert_str_eq(field(f, "PLUMB_NIS2"), "21.2.e");
    ck_assert_str_eq(field(f, "PLUMB_DORA"), "Art 9");
    ck_assert_ptr_null(field(f, "PLUMB_CONTROL"));
    ck_assert_uint_eq(strv_length(f), 15);
    strv_free(f);
    sh_event_free(&ev);

    ev = sh_event_of(&e, "control.failed");
    f = fields_of(&ev);
    ck_assert_str_eq(field(f, "PLUMB_CONTROL"), "S3.1");
    ck_assert_str_eq(field(f, "PLUMB_NIS2"), "21.2.c,21.2.h");
    ck_assert_str_eq(field(f, "PLUMB_CATEGORY"), "control");
    snprintf(prio, sizeof(prio), "%d", LOG_CRIT);
    ck_assert_str_eq(field(f, "PRIORITY"), prio);
    strv_free(f);
    sh_event_free(&ev);

    /* A data gap has no resource key; its type and scope are still there. */
    ev = sh_event_of(&e, "data.gap");
    f = fields_of(&ev);
    ck_assert_ptr_null(field(f, "PLUMB_RESOURCE"));
    ck_assert_str_eq(field(f, "PLUMB_TYPE"), "aws_s3_bucket");
    ck_assert_str_eq(field(f, "PLUMB_ACCOUNT"), "111111111111");
    ck_assert_str_eq(field(f, "MESSAGE_ID"), "7aefc2de563c4d6a9c04c94cd4174528");
    strv_free(f);
    sh_event_free(&ev);
    sh_events_close(&e);
}
END_TEST

START_TEST(every_kind_has_fields)
{
    struct sh_events e;
    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    for (const struct sink_journal_kind *k = sink_journal_kinds; k->kind; k++) {
        struct dispatch_event ev = sh_event_of(&e, k->kind);
        char **f = fields_of(&ev);
        ck_assert_str_eq(field(f, "MESSAGE_ID"), k->message_id);
        ck_assert_str_eq(field(f, "PLUMB_KIND"), k->kind);
        ck_assert_str_eq(field(f, "MESSAGE"),
                         json_string_value(json_object_get(ev.doc, "summary")));
        strv_free(f);
        sh_event_free(&ev);
    }
    sh_events_close(&e);
}
END_TEST

START_TEST(hostile_values)
{
    struct sh_events e;
    struct dispatch_event ev;
    char **f;
    char *huge = malloc(10001);
    const char *id = "line1\nMESSAGE_ID=00000000000000000000000000000000\nPRIORITY=0";

    sh_events_open(&e);
    sh_events_lifecycle(&e, id, NULL);
    ev = sh_event_of(&e, "drift.opened");
    f = fields_of(&ev);
    /* A newline in a value stays inside that value (sd_journal_sendv sends
     * such values in its binary-safe form): the injected lines are not
     * fields of their own. */
    ck_assert_str_eq(field(f, "MESSAGE_ID"), "1043adb7ec3345a09b6d1c732388a443");
    ck_assert_str_eq(field(f, "PRIORITY"), "3");
    ck_assert_ptr_nonnull(strstr(field(f, "PLUMB_RESOURCE"), id));
    strv_free(f);
    sh_event_free(&ev);
    sh_events_close(&e);

    /* Long values are cut at SINK_JOURNAL_MAX_VALUE bytes, at a character
     * boundary. */
    for (int i = 0; i < 10000; i += 2)
        memcpy(huge + i, "\xc3\xa4", 2);
    huge[10000] = '\0';
    sh_events_open(&e);
    sh_events_lifecycle(&e, huge, NULL);
    ev = sh_event_of(&e, "drift.opened");
    f = fields_of(&ev);
    {
        const char *r = field(f, "PLUMB_RESOURCE");
        size_t len = strlen(r);
        ck_assert_uint_le(len, SINK_JOURNAL_MAX_VALUE);
        ck_assert_uint_ge(len, SINK_JOURNAL_MAX_VALUE - 3);
        ck_assert_int_ne((unsigned char)r[len - 1], 0xc3);
        ck_assert_uint_le(strlen(field(f, "MESSAGE")), SINK_JOURNAL_MAX_VALUE);
    }
    strv_free(f);
    sh_event_free(&ev);
    sh_events_close(&e);
    free(huge);

    /* No id or kind: refused. */
    {
        struct dispatch_event bad = { .doc = json_pack("{s:s}", "summary", "x") };
        struct perr err = { 0 };
        ck_assert_int_eq(sink_journal_fields(&bad, &f, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "event has no id or kind");
        json_decref((json_t *)bad.doc);
    }
}
END_TEST

START_TEST(priorities)
{
    ck_assert_int_eq(sink_journal_priority("critical", "control.failed"), LOG_CRIT);
    ck_assert_int_eq(sink_journal_priority("high", "drift.opened"), LOG_ERR);
    ck_assert_int_eq(sink_journal_priority("medium", "data.gap"), LOG_WARNING);
    ck_assert_int_eq(sink_journal_priority("low", "drift.opened"), LOG_NOTICE);
    ck_assert_int_eq(sink_journal_priority("info", "drift.opened"), LOG_INFO);
    ck_assert_int_eq(sink_journal_priority(NULL, "drift.opened"), LOG_INFO);
    /* Good news is never louder than notice. */
    ck_assert_int_eq(sink_journal_priority("critical", "control.resolved"), LOG_NOTICE);
    ck_assert_int_eq(sink_journal_priority("high", "drift.resolved"), LOG_NOTICE);
    ck_assert_int_eq(sink_journal_priority("low", "data.restored"), LOG_NOTICE);
    ck_assert_int_eq(sink_journal_priority("info", "drift.resolved"), LOG_INFO);
    ck_assert_ptr_null(sink_journal_message_id("digest.weekly"));
    ck_assert_ptr_null(sink_journal_message_id(NULL));
}
END_TEST

/* The catalog's entry ids, parsed the way systemd does: a line "-- ID"
 * (optionally followed by a language) starts an entry, which needs a
 * Subject header and a body. */
static char **catalog_ids(const char *text)
{
    char **ids = NULL;
    const char *p = text;
    regex_t head;
    ck_assert_int_eq(regcomp(&head, "^-- ([0-9a-f]{32})( [a-z_A-Z@.]+)?$", REG_EXTENDED), 0);
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = str_ndup(p, len);
        regmatch_t m[3];
        if (str_has_prefix(line, "--")) {
            const char *q;
            bool subject = false, body = false, in_body = false;
            ck_assert_msg(regexec(&head, line, 3, m, 0) == 0, "bad entry line: %s", line);
            line[m[1].rm_eo] = '\0';
            ck_assert_msg(!strv_contains(ids, line + 3), "entry %s twice", line + 3);
            ck_assert_int_eq(strv_push(&ids, line + 3), 0);
            /* Headers until an empty line, then the body until the next
             * entry. */
            for (q = eol ? eol + 1 : p + len; *q && !str_has_prefix(q, "--");) {
                const char *e2 = strchr(q, '\n');
                size_t l2 = e2 ? (size_t)(e2 - q) : strlen(q);
                if (!in_body && l2 == 0)
                    in_body = true;
                else if (!in_body)
                    subject |= str_has_prefix(q, "Subject: ") && l2 > 9;
                else if (l2 > 0)
                    body = true;
                q = e2 ? e2 + 1 : q + l2;
            }
            ck_assert_msg(subject, "entry %s has no Subject", ids[strv_length(ids) - 1]);
            ck_assert_msg(body, "entry %s has no text", ids[strv_length(ids) - 1]);
        }
        free(line);
        p = eol ? eol + 1 : p + len;
    }
    regfree(&head);
    return ids;
}

START_TEST(catalog_matches_the_table)
{
    char *path = tu_srcpath("systemd/plumb.catalog");
    char *text = tu_read_file(path);
    char **ids;
    size_t n = 0;

    ck_assert_ptr_nonnull(text);
    ids = catalog_ids(text);
    for (const struct sink_journal_kind *k = sink_journal_kinds; k->kind; k++, n++) {
        ck_assert_msg(strv_contains(ids, k->message_id), "no catalog entry for %s (%s)", k->kind,
                      k->message_id);
        /* The table has no duplicate either. */
        for (const struct sink_journal_kind *j = sink_journal_kinds; j < k; j++)
            ck_assert_str_ne(j->message_id, k->message_id);
    }
    ck_assert_msg(strv_length(ids) == n, "the catalog has %zu entries, the table %zu",
                  strv_length(ids), n);
    strv_free(ids);
    free(text);

    /* journalctl's own parser agrees, when it is installed. */
    {
        const char *which[] = { "sh", "-c", "command -v journalctl", NULL };
        if (tu_run(which, NULL, NULL, NULL) == 0) {
            char *root = tu_tmpdir(), *out = NULL, *errs = NULL, *cmd;
            cmd = str_printf("mkdir -p '%s/usr/lib/systemd/catalog' '%s/var/lib/systemd/catalog' "
                             "&& cp '%s' '%s/usr/lib/systemd/catalog/' && journalctl "
                             "--root='%s' --update-catalog && journalctl --root='%s' "
                             "--list-catalog",
                             root, root, path, root, root, root);
            {
                const char *argv[] = { "sh", "-c", cmd, NULL };
                ck_assert_msg(tu_run(argv, NULL, &out, &errs) == 0, "journalctl: %s", errs);
            }
            n = 0;
            for (const struct sink_journal_kind *k = sink_journal_kinds; k->kind; k++, n++)
                ck_assert_msg(strstr(out, k->message_id), "journalctl does not list %s", k->kind);
            /* One line per entry. */
            {
                size_t lines = 0;
                for (const char *p = out; *p; p++)
                    lines += *p == '\n';
                ck_assert_uint_eq(lines, n);
            }
            free(out);
            free(errs);
            free(cmd);
            tu_rmrf(root);
            free(root);
        }
    }
    free(path);
}
END_TEST

/* ---- sending ---- */

static char captured[64][SINK_JOURNAL_MAX_VALUE + 64];
static int n_captured, fake_result;

static int fake_sendv(const struct iovec *iov, int n)
{
    n_captured = 0;
    for (int i = 0; i < n && i < 64; i++) {
        snprintf(captured[i], sizeof(captured[i]), "%.*s", (int)iov[i].iov_len,
                 (const char *)iov[i].iov_base);
        n_captured++;
    }
    return fake_result;
}

START_TEST(send_wrapper)
{
    char *fields[] = { (char *)"MESSAGE=hi\nthere", (char *)"PLUMB_KIND=drift.opened", NULL };
    struct perr err = { 0 };
    struct stat st;
    int r;

    fake_result = 0;
    ck_assert_int_eq(sink_journal_send(fake_sendv, fields, &err), 0);
    ck_assert_int_eq(n_captured, 2);
    ck_assert_str_eq(captured[0], "MESSAGE=hi\nthere");
    ck_assert_str_eq(captured[1], "PLUMB_KIND=drift.opened");
    fake_result = -ECONNREFUSED;
    ck_assert_int_eq(sink_journal_send(fake_sendv, fields, &err), -ECONNREFUSED);
    ck_assert_str_eq(err.msg, "journal: Connection refused");
    /* The real thing succeeds, also without a journald: sd_journal_sendv()
     * then drops the entry and returns 0 (libsystemd's choice, documented
     * in the header). */
    r = sink_journal_send(NULL, fields, &err);
    ck_assert_msg(r == 0, "%s (journald socket %s)", err.msg,
                  stat("/run/systemd/journal/socket", &st) == 0 ? "present" : "absent");
}
END_TEST

START_TEST(driver_through_the_dispatcher)
{
    struct sh_events e;
    struct sh_dispatch h;
    struct sink_journal *s = NULL;
    struct perr err = { 0 };
    char *path, *row;

    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    ck_assert_int_eq(db_exec(e.db, "UPDATE deliveries SET sink = 'journal'", &err), 0);
    path = tu_path_join(e.dir, "ev.db");
    sh_now = 7000;
    sh_dispatch_open(&h, path);
    ck_assert_int_eq(sink_journal_new(&h.loop, fake_sendv, &s, &err), 0);
    ck_assert_int_eq(dispatch_add_sink(h.d, "journal", &sink_journal_ops, s, 1, 3600000, &err), 0);
    /* journald away: retried with the reason. */
    fake_result = -ENOENT;
    sh_dispatch_settle(&h);
    row = sh_delivery(e.db, 1, "journal");
    ck_assert_str_eq(row, "pending|1|journal: No such file or directory");
    free(row);
    /* Back: all ten events, the last one sent being an entry of ours. */
    fake_result = 0;
    sh_now += DISPATCH_BACKOFF_MAX_MS;
    for (int i = 0; i < 20; i++)
        sh_dispatch_settle(&h);
    {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db_handle(e.db),
                           "SELECT count(*) FROM deliveries WHERE state = 'delivered'", -1, &st,
                           NULL);
        sqlite3_step(st);
        ck_assert_int_eq(sqlite3_column_int(st, 0), 10);
        sqlite3_finalize(st);
    }
    ck_assert_int_ge(n_captured, 5);
    ck_assert_str_eq(captured[3], "SYSLOG_IDENTIFIER=plumbd");
    sh_dispatch_close(&h);
    free(path);
    sh_events_close(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sink_journal");
    TCase *tc = tcase_create("journal");
    tcase_add_test(tc, fields_of_a_drift);
    tcase_add_test(tc, every_kind_has_fields);
    tcase_add_test(tc, hostile_values);
    tcase_add_test(tc, priorities);
    tcase_add_test(tc, catalog_matches_the_table);
    tcase_add_test(tc, send_wrapper);
    tcase_add_test(tc, driver_through_the_dispatcher);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
