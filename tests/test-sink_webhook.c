/* lib/sink_webhook: the four body formats (from events stored by
 * lib/events, hostile names included), the signature (checked by an
 * independent Python computation), response classification, and the wire:
 * requests through the dispatcher to tests/harness/webhook_receiver.py,
 * which verifies the HMAC and timestamp, over HTTP and HTTPS with a
 * throwaway CA. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "jsonutil.h"
#include "plumb-config.h"
#include "sink_webhook.h"
#include "sinkharness.h"

static const char *const all_kinds[] = {
    "drift.opened",
    "drift.updated",
    "drift.reminder",
    "drift.resolved",
    "control.failed",
    "control.reminder",
    "control.resolved",
    "data.gap",
    "data.restored",
    "exception.expired",
    NULL,
};

static size_t u8count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static json_t *render(enum webhook_format fmt, const struct dispatch_event *ev, const char **ct)
{
    struct sink_webhook_render r = {
        .format = fmt,
        .hostname = "host.example",
        .routing_key = "R0UT1NGKEY",
    };
    struct perr err = { 0 };
    char *body = NULL;
    size_t len = 0;
    const char *ctype = NULL;
    json_error_t je;
    json_t *j;

    ck_assert_msg(sink_webhook_render(&r, ev, &body, &len, &ctype, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(len, strlen(body));
    j = json_loads(body, 0, &je);
    ck_assert_msg(j != NULL, "format %d: not JSON (%s): %s", (int)fmt, je.text, body);
    if (ct)
        *ct = ctype;
    free(body);
    return j;
}

/* ---- plumb ---- */

START_TEST(plumb_is_the_stored_event)
{
    struct sh_events e;
    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    for (const char *const *k = all_kinds; *k; k++) {
        struct dispatch_event ev = sh_event_of(&e, *k);
        struct sink_webhook_render r = { .format = WEBHOOK_PLUMB };
        struct perr err = { 0 };
        char *body = NULL;
        size_t len = 0;
        const char *ct = NULL;
        json_t *doc;
        ck_assert_int_eq(sink_webhook_render(&r, &ev, &body, &len, &ct, &err), 0);
        ck_assert_str_eq(body, ev.payload);
        ck_assert_str_eq(ct, "application/json");
        doc = json_loads(body, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(doc, "schema")), "plumb.event/v1");
        ck_assert_str_eq(json_string_value(json_object_get(doc, "kind")), *k);
        json_decref(doc);
        free(body);
        sh_event_free(&ev);
    }
    sh_events_close(&e);
}
END_TEST

/* ---- CloudEvents ---- */

START_TEST(cloudevents_attributes)
{
    struct sh_events e;
    regex_t name_re;
    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    /* Attribute names: lower-case letters and digits, at most 20. */
    ck_assert_int_eq(regcomp(&name_re, "^[a-z0-9]{1,20}$", REG_EXTENDED | REG_NOSUB), 0);
    for (const char *const *k = all_kinds; *k; k++) {
        struct dispatch_event ev = sh_event_of(&e, *k);
        const char *ct = NULL, *key;
        json_t *ce = render(WEBHOOK_CLOUDEVENTS, &ev, &ct), *v;
        char type[64];
        int64_t t;

        ck_assert_str_eq(ct, "application/cloudevents+json; charset=utf-8");
        json_object_foreach (ce, key, v) {
            ck_assert_msg(regexec(&name_re, key, 0, NULL, 0) == 0, "attribute name %s", key);
            if (!str_eq(key, "data"))
                ck_assert_msg(json_is_string(v), "attribute %s is not a string", key);
        }
        /* Required: specversion, id, source, type; non-empty. */
        ck_assert_str_eq(json_string_value(json_object_get(ce, "specversion")), "1.0");
        ck_assert_str_eq(json_string_value(json_object_get(ce, "id")), ev.id);
        ck_assert_str_eq(json_string_value(json_object_get(ce, "source")),
                         "urn:plumb:host.example");
        snprintf(type, sizeof(type), "io.plumb.%s", *k);
        ck_assert_str_eq(json_string_value(json_object_get(ce, "type")), type);
        ck_assert_str_eq(json_string_value(json_object_get(ce, "datacontenttype")),
                         "application/json");
        ck_assert_str_eq(json_string_value(json_object_get(ce, "time")),
                         json_string_value(json_object_get(ev.doc, "created_at")));
        ck_assert_int_eq(time_parse_iso8601(json_string_value(json_object_get(ce, "time")), &t), 0);
        ck_assert_int_eq(t, ev.created_at);
        ck_assert(json_equal(json_object_get(ce, "data"), (json_t *)ev.doc));
        ck_assert_str_eq(json_string_value(json_object_get(ce, "plumbseverity")), ev.severity);
        ck_assert_str_eq(json_string_value(json_object_get(ce, "plumbdedupekey")), ev.dedupe_key);
        if (str_has_prefix(*k, "data."))
            ck_assert_str_eq(json_string_value(json_object_get(ce, "subject")), ev.dedupe_key);
        else if (str_eq(*k, "exception.expired"))
            ck_assert_str_eq(json_string_value(json_object_get(ce, "subject")), "exception:logs");
        else
            ck_assert_str_eq(json_string_value(json_object_get(ce, "subject")),
                             "111111111111/eu-central-1/aws_s3_bucket/logs");
        json_decref(ce);
        sh_event_free(&ev);
    }
    regfree(&name_re);
    /* A configured source wins. */
    {
        struct dispatch_event ev = sh_event_of(&e, "drift.opened");
        struct sink_webhook_render r = { .format = WEBHOOK_CLOUDEVENTS, .source = "/plumb/prod" };
        struct perr err = { 0 };
        char *body = NULL;
        size_t len;
        const char *ct;
        json_t *ce;
        ck_assert_int_eq(sink_webhook_render(&r, &ev, &body, &len, &ct, &err), 0);
        ce = json_loads(body, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(ce, "source")), "/plumb/prod");
        json_decref(ce);
        free(body);
        sh_event_free(&ev);
    }
    sh_events_close(&e);
}
END_TEST

/* ---- PagerDuty ---- */

START_TEST(pagerduty_fields)
{
    static const struct {
        const char *kind, *action, *severity;
    } want[] = {
        { "drift.opened", "trigger", "error" },      { "drift.updated", "trigger", "error" },
        { "drift.reminder", "trigger", "error" },    { "drift.resolved", "resolve", NULL },
        { "control.failed", "trigger", "critical" }, { "control.reminder", "trigger", "critical" },
        { "control.resolved", "resolve", NULL },     { "data.gap", "trigger", "warning" },
        { "data.restored", "resolve", NULL },        { "exception.expired", "trigger", "warning" },
    };
    struct sh_events e;
    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        struct dispatch_event ev = sh_event_of(&e, want[i].kind);
        const char *ct = NULL;
        json_t *pd = render(WEBHOOK_PAGERDUTY, &ev, &ct), *p;
        ck_assert_str_eq(ct, "application/json");
        ck_assert_str_eq(json_string_value(json_object_get(pd, "routing_key")), "R0UT1NGKEY");
        ck_assert_str_eq(json_string_value(json_object_get(pd, "event_action")), want[i].action);
        ck_assert_str_eq(json_string_value(json_object_get(pd, "dedup_key")), ev.dedupe_key);
        ck_assert_str_eq(json_string_value(json_object_get(pd, "client")), "plumb");
        p = json_object_get(pd, "payload");
        if (!want[i].severity) {
            /* resolve: routing_key, event_action, dedup_key (and client). */
            ck_assert_ptr_null(p);
            ck_assert_uint_eq(json_object_size(pd), 4);
        } else {
            char prefix[32];
            const char *summary = json_string_value(json_object_get(p, "summary"));
            ck_assert_str_eq(json_string_value(json_object_get(p, "severity")), want[i].severity);
            snprintf(prefix, sizeof(prefix), "[%s] ", ev.severity);
            ck_assert_msg(str_has_prefix(summary, prefix), "%s", summary);
            ck_assert_str_eq(summary + strlen(prefix),
                             json_string_value(json_object_get(ev.doc, "summary")));
            ck_assert_str_eq(json_string_value(json_object_get(p, "timestamp")),
                             json_string_value(json_object_get(ev.doc, "created_at")));
            ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "source")));
            if (json_object_get(ev.doc, "account"))
                ck_assert_str_eq(json_string_value(json_object_get(p, "group")), "111111111111");
            else
                ck_assert_ptr_null(json_object_get(p, "group"));
            ck_assert_str_eq(json_string_value(json_object_get(p, "class")),
                             json_string_value(json_object_get(ev.doc, "category")));
            ck_assert(json_equal(json_object_get(p, "custom_details"), (json_t *)ev.doc));
            if (str_has_prefix(want[i].kind, "drift.") || str_has_prefix(want[i].kind, "control."))
                ck_assert_str_eq(json_string_value(json_object_get(p, "source")),
                                 "arn:aws:s3:::bucket");
            if (str_has_prefix(want[i].kind, "data.") || str_has_prefix(want[i].kind, "drift.") ||
                str_has_prefix(want[i].kind, "control."))
                ck_assert_str_eq(json_string_value(json_object_get(p, "component")),
                                 "aws_s3_bucket");
        }
        json_decref(pd);
        sh_event_free(&ev);
    }
    sh_events_close(&e);
    /* The mappings themselves. */
    ck_assert_str_eq(sink_webhook_pd_severity("critical"), "critical");
    ck_assert_str_eq(sink_webhook_pd_severity("high"), "error");
    ck_assert_str_eq(sink_webhook_pd_severity("medium"), "warning");
    ck_assert_str_eq(sink_webhook_pd_severity("low"), "info");
    ck_assert_str_eq(sink_webhook_pd_severity("info"), "info");
    ck_assert_str_eq(sink_webhook_pd_severity(NULL), "info");
    ck_assert_str_eq(sink_webhook_pd_action("data.restored"), "resolve");
    ck_assert_str_eq(sink_webhook_pd_action("digest.weekly"), "trigger");
}
END_TEST

START_TEST(pagerduty_trigger_and_resolve_pair_up)
{
    struct sh_events e;
    char id[400];
    const char *pairs[][2] = { { "drift.opened", "drift.resolved" },
                               { "drift.updated", "drift.resolved" },
                               { "control.failed", "control.resolved" },
                               { "data.gap", "data.restored" } };
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    /* Both a normal name and one whose dedupe key exceeds 255 characters. */
    for (int round = 0; round < 2; round++) {
        sh_events_open(&e);
        sh_events_lifecycle(&e, round ? id : "logs", NULL);
        for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
            struct dispatch_event a = sh_event_of(&e, pairs[i][0]);
            struct dispatch_event b = sh_event_of(&e, pairs[i][1]);
            json_t *ta = render(WEBHOOK_PAGERDUTY, &a, NULL);
            json_t *tb = render(WEBHOOK_PAGERDUTY, &b, NULL);
            const char *ka = json_string_value(json_object_get(ta, "dedup_key"));
            ck_assert_str_eq(json_string_value(json_object_get(ta, "event_action")), "trigger");
            ck_assert_str_eq(json_string_value(json_object_get(tb, "event_action")), "resolve");
            ck_assert_str_eq(ka, json_string_value(json_object_get(tb, "dedup_key")));
            ck_assert_uint_le(u8count(ka), SINK_WEBHOOK_PD_DEDUP_MAX);
            if (round && !str_has_prefix(pairs[i][0], "data.")) {
                char hex[SHA256_HEX_LEN + 1], want[128];
                ck_assert_uint_gt(strlen(a.dedupe_key), SINK_WEBHOOK_PD_DEDUP_MAX);
                ck_assert_int_eq(sha256_hex(a.dedupe_key, strlen(a.dedupe_key), hex), 0);
                snprintf(want, sizeof(want), "plumb:sha256:%s", hex);
                ck_assert_str_eq(ka, want);
                /* The summary is capped. */
                ck_assert_uint_le(u8count(json_string_value(json_path_get(ta, "payload.summary"))),
                                  SINK_WEBHOOK_PD_SUMMARY_MAX);
            }
            json_decref(ta);
            json_decref(tb);
            sh_event_free(&a);
            sh_event_free(&b);
        }
        sh_events_close(&e);
    }
}
END_TEST

START_TEST(pagerduty_needs_routing_key)
{
    struct sh_events e;
    struct dispatch_event ev;
    struct sink_webhook_render r = { .format = WEBHOOK_PAGERDUTY };
    struct perr err = { 0 };
    char *body = NULL;
    size_t len;
    const char *ct;
    sh_events_open(&e);
    sh_events_lifecycle(&e, "logs", NULL);
    ev = sh_event_of(&e, "drift.opened");
    ck_assert_int_eq(sink_webhook_render(&r, &ev, &body, &len, &ct, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "PagerDuty needs a routing key");
    ck_assert_ptr_null(body);
    r.format = (enum webhook_format)9;
    ck_assert_int_eq(sink_webhook_render(&r, &ev, &body, &len, &ct, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "unknown webhook format 9");
    sh_event_free(&ev);
    /* An event without id or kind. */
    ev.doc = json_pack("{s:s}", "summary", "x");
    r.format = WEBHOOK_PLUMB;
    ck_assert_int_eq(sink_webhook_render(&r, &ev, &body, &len, &ct, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "event has no id or kind");
    json_decref((json_t *)ev.doc);
    sh_events_close(&e);
}
END_TEST

/* ---- Slack ---- */

/* Every text of a Slack message within Block Kit's limits, and no raw '<'
 * in mrkdwn (only &lt; entities). */
static void check_slack_limits(const json_t *msg)
{
    const json_t *blocks = json_object_get(msg, "blocks"), *b;
    size_t i;
    const char *text = json_string_value(json_object_get(msg, "text"));
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_le(u8count(text), 3000);
    ck_assert_ptr_null(strchr(text, '<'));
    ck_assert(json_is_array(blocks));
    ck_assert_uint_le(json_array_size(blocks), 50);
    json_array_foreach (blocks, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (str_eq(type, "header")) {
            ck_assert_str_eq(json_string_value(json_path_get(b, "text.type")), "plain_text");
            ck_assert_uint_le(u8count(json_string_value(json_path_get(b, "text.text"))), 150);
        } else if (str_eq(type, "section")) {
            const json_t *fields = json_object_get(b, "fields"), *f;
            size_t k;
            if (fields) {
                ck_assert_uint_ge(json_array_size(fields), 1);
                ck_assert_uint_le(json_array_size(fields), 10);
                json_array_foreach (fields, k, f) {
                    ck_assert_str_eq(json_string_value(json_object_get(f, "type")), "mrkdwn");
                    ck_assert_uint_le(u8count(json_string_value(json_object_get(f, "text"))), 2000);
                    ck_assert_ptr_null(strchr(json_string_value(json_object_get(f, "text")), '<'));
                }
            } else {
                ck_assert_str_eq(json_string_value(json_path_get(b, "text.type")), "mrkdwn");
                ck_assert_uint_le(u8count(json_string_value(json_path_get(b, "text.text"))), 3000);
                ck_assert_ptr_null(strchr(json_string_value(json_path_get(b, "text.text")), '<'));
            }
        } else {
            ck_assert_str_eq(type, "context");
            ck_assert_uint_le(json_array_size(json_object_get(b, "elements")), 10);
            ck_assert_ptr_null(
                strchr(json_string_value(json_path_get(b, "elements[0].text")), '<'));
        }
    }
}

START_TEST(slack_shape_and_escaping)
{
    struct sh_events e;
    struct dispatch_event ev;
    json_t *m, *fields;
    const char *section, *ct = NULL;
    const char *id = "<!channel> & <script>alert(1)</script>";

    sh_events_open(&e);
    sh_events_lifecycle(&e, id, NULL);
    ev = sh_event_of(&e, "drift.updated");
    m = render(WEBHOOK_SLACK, &ev, &ct);
    ck_assert_str_eq(ct, "application/json");
    check_slack_limits(m);
    /* Fallback text: severity and the escaped summary. */
    ck_assert_str_eq(json_string_value(json_object_get(m, "text")),
                     "[high] aws_s3_bucket &lt;!channel&gt; &amp; "
                     "&lt;script&gt;alert(1)&lt;/script&gt; changed outside Terraform (2 "
                     "attributes)");
    /* Header: plain text, not escaped. */
    ck_assert_str_eq(json_string_value(json_path_get(m, "blocks[0].text.text")),
                     "Drift updated: aws_s3_bucket <!channel> & <script>alert(1)</script>");
    section = json_string_value(json_path_get(m, "blocks[1].text.text"));
    ck_assert_str_eq(section, "aws_s3_bucket &lt;!channel&gt; &amp; "
                              "&lt;script&gt;alert(1)&lt;/script&gt; changed outside Terraform "
                              "(2 attributes)");
    fields = json_path_get(m, "blocks[2].fields");
    ck_assert_str_eq(json_string_value(json_path_get(fields, "[0].text")), "*Severity*\nhigh");
    ck_assert_str_eq(json_string_value(json_path_get(fields, "[1].text")),
                     "*Account*\n111111111111");
    ck_assert_str_eq(json_string_value(json_path_get(fields, "[2].text")),
                     "*Region*\neu-central-1");
    ck_assert_str_eq(json_string_value(json_path_get(fields, "[3].text")),
                     "*Resource*\n111111111111/eu-central-1/aws_s3_bucket/&lt;!channel&gt; "
                     "&amp; &lt;script&gt;alert(1)&lt;/script&gt;");
    ck_assert_str_eq(json_string_value(json_path_get(m, "blocks[3].text.text")),
                     "*Changed attributes* (2)\n\xe2\x80\xa2 versioning[0].status\n"
                     "\xe2\x80\xa2 acl");
    {
        char want[256];
        snprintf(want, sizeof(want),
                 "plumb \xc2\xb7 drift.updated \xc2\xb7 NIS2 21.2.e \xc2\xb7 DORA Art 9 "
                 "\xc2\xb7 event %s",
                 ev.id);
        ck_assert_str_eq(json_string_value(json_path_get(m, "blocks[4].elements[0].text")), want);
    }
    ck_assert_uint_eq(json_array_size(json_object_get(m, "blocks")), 5);
    json_decref(m);
    sh_event_free(&ev);
    /* A control finding has a Control field and no changes block. */
    ev = sh_event_of(&e, "control.failed");
    m = render(WEBHOOK_SLACK, &ev, NULL);
    check_slack_limits(m);
    ck_assert_str_eq(json_string_value(json_path_get(m, "blocks[2].fields[4].text")),
                     "*Control*\nS3.1");
    ck_assert_uint_eq(json_array_size(json_object_get(m, "blocks")), 4);
    json_decref(m);
    sh_event_free(&ev);
    sh_events_close(&e);
}
END_TEST

START_TEST(slack_caps_everything)
{
    struct sh_events e;
    struct dispatch_event ev;
    json_t *m, *changes;
    char *huge = malloc(30001), *body = NULL, want[64];
    struct sink_webhook_render r = { .format = WEBHOOK_SLACK };
    struct perr err = { 0 };
    size_t len;
    const char *ct;

    /* 30000 characters that escape to 4 or 5 each. */
    for (int i = 0; i < 30000; i++)
        huge[i] = "<&>"[i % 3];
    huge[30000] = '\0';
    sh_events_open(&e);
    sh_events_lifecycle(&e, huge, NULL);
    ev = sh_event_of(&e, "drift.opened");
    /* 15 changed attributes: 10 are listed. */
    changes = json_array();
    for (int i = 0; i < 15; i++)
        json_array_append_new(changes, json_pack("{s:s+}", "path", "attr_", huge + (i % 3)));
    json_object_set_new((json_t *)ev.doc, "changes", changes);
    ck_assert_int_eq(sink_webhook_render(&r, &ev, &body, &len, &ct, &err), 0);
    ck_assert_uint_le(len, SINK_WEBHOOK_SLACK_MAX_BODY);
    m = json_loads(body, 0, NULL);
    ck_assert_ptr_nonnull(m);
    check_slack_limits(m);
    {
        const char *list = json_string_value(json_path_get(m, "blocks[3].text.text"));
        size_t bullets = 0;
        for (const char *p = list; (p = strstr(p, "\xe2\x80\xa2 ")); p++)
            bullets++;
        ck_assert_uint_eq(bullets, SINK_WEBHOOK_SLACK_MAX_CHANGES);
        snprintf(want, sizeof(want), "\n_and %d more_", 15 - SINK_WEBHOOK_SLACK_MAX_CHANGES);
        ck_assert(str_has_suffix(list, want));
        ck_assert(str_has_prefix(list, "*Changed attributes* (15)"));
    }
    /* Cut text ends with an ellipsis and never inside an entity. */
    {
        const char *sec = json_string_value(json_path_get(m, "blocks[1].text.text"));
        ck_assert(str_has_suffix(sec, "\xe2\x80\xa6"));
        ck_assert_uint_eq(u8count(sec), u8count(sec));
        for (const char *p = sec; (p = strchr(p, '&')); p++)
            ck_assert(str_has_prefix(p, "&amp;") || str_has_prefix(p, "&lt;") ||
                      str_has_prefix(p, "&gt;"));
    }
    json_decref(m);
    free(body);
    sh_event_free(&ev);
    sh_events_close(&e);
    free(huge);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(hostile_names_stay_in_their_strings)
{
    static const char id[] = "evil\"quote\\back\nnew\r\tline <script>alert('x')</script> &amp; "
                             "\xe2\x80\xae rtl \xf0\x9f\x98\x80 \x7f end";
    struct sh_events e;
    json_t *tags = json_pack("{s:s, s:s, s:s}", "a\"b", "c\nd", "<k>", "&", "}", "]");
    const enum webhook_format fmts[] = { WEBHOOK_PLUMB, WEBHOOK_CLOUDEVENTS, WEBHOOK_SLACK,
                                         WEBHOOK_PAGERDUTY };

    sh_events_open(&e);
    sh_events_lifecycle(&e, id, tags);
    for (const char *const *k = all_kinds; *k; k++) {
        struct dispatch_event ev = sh_event_of(&e, *k);
        for (size_t f = 0; f < ARRAY_SIZE(fmts); f++) {
            json_t *j = render(fmts[f], &ev, NULL);
            const json_t *event = fmts[f] == WEBHOOK_PLUMB         ? j
                                  : fmts[f] == WEBHOOK_CLOUDEVENTS ? json_object_get(j, "data")
                                  : fmts[f] == WEBHOOK_PAGERDUTY
                                      ? json_path_get(j, "payload.custom_details")
                                      : NULL;
            /* The event travels intact (resolve events carry none). */
            if (event)
                ck_assert(json_equal((json_t *)event, (json_t *)ev.doc));
            if (event && json_object_get(event, "tags"))
                ck_assert(json_equal(json_object_get(event, "tags"), tags));
            if (fmts[f] == WEBHOOK_SLACK)
                check_slack_limits(j);
            /* Nothing leaked into new top-level members. */
            if (fmts[f] == WEBHOOK_CLOUDEVENTS)
                ck_assert_uint_eq(json_object_size(j), 10);
            if (fmts[f] == WEBHOOK_SLACK)
                ck_assert_uint_eq(json_object_size(j), 2);
            json_decref(j);
        }
        sh_event_free(&ev);
    }
    {
        struct dispatch_event ev = sh_event_of(&e, "drift.opened");
        ck_assert_str_eq(json_string_value(json_path_get(ev.doc, "resource.id")), id);
        sh_event_free(&ev);
    }
    json_decref(tags);
    sh_events_close(&e);
}
END_TEST

/* ---- signature ---- */

START_TEST(signature_matches_python)
{
    static const char secret[] = "k\xc3\xa4y with spaces";
    static const char body[] = "{\"summary\":\"\xc3\xbc\\n<x>\"}";
    char sig[SINK_WEBHOOK_SIGNATURE_SIZE], sig2[SINK_WEBHOOK_SIGNATURE_SIZE];
    regex_t re;
    char *out = NULL, *script;

    ck_assert_int_eq(
        sink_webhook_signature(secret, strlen(secret), 1767225600, body, strlen(body), sig), 0);
    ck_assert_int_eq(regcomp(&re, "^t=1767225600,v1=[0-9a-f]{64}$", REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg(regexec(&re, sig, 0, NULL, 0) == 0, "%s", sig);
    regfree(&re);
    /* An independent computation. */
    script = str_printf("import hmac, hashlib, sys\n"
                        "s = bytes.fromhex(sys.argv[1]); b = bytes.fromhex(sys.argv[2])\n"
                        "print('t=1767225600,v1=' + hmac.new(s, b'1767225600.' + b, "
                        "hashlib.sha256).hexdigest())\n");
    {
        char hs[2 * sizeof(secret)], hb[2 * sizeof(body)];
        hex_encode((const unsigned char *)secret, strlen(secret), hs);
        hex_encode((const unsigned char *)body, strlen(body), hb);
        {
            const char *full[] = { sh_python, "-c", script, hs, hb, NULL };
            ck_assert_int_eq(tu_run(full, NULL, &out, NULL), 0);
        }
    }
    out[strcspn(out, "\n")] = '\0';
    ck_assert_str_eq(sig, out);
    free(out);
    free(script);
    /* Another timestamp, another signature. */
    ck_assert_int_eq(
        sink_webhook_signature(secret, strlen(secret), 1767225601, body, strlen(body), sig2), 0);
    ck_assert_str_ne(sig + 17, sig2 + 17);
}
END_TEST

/* ---- classification ---- */

static struct dispatch_result classify(int error, long status, const char *body,
                                       const char *retry_after)
{
    struct http_header h = { (char *)"retry-after", (char *)retry_after };
    struct http_response resp = {
        .error = error,
        .error_msg = error ? "connection refused (127.0.0.1:9)" : "",
        .status = status,
        .headers = retry_after ? &h : NULL,
        .n_headers = retry_after ? 1 : 0,
        .body = (char *)body,
        .body_len = body ? strlen(body) : 0,
    };
    struct dispatch_result res;
    sink_webhook_classify(&resp, &res);
    return res;
}

START_TEST(classification)
{
    struct dispatch_result r;
    static const long delivered[] = { 200, 201, 202, 204, 299 };
    static const long rejected[] = { 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 499 };
    static const long retried[] = { 408, 425, 429, 500, 502, 503, 504, 301, 302, 100 };
    char want[64];

    for (size_t i = 0; i < ARRAY_SIZE(delivered); i++)
        ck_assert_int_eq(classify(0, delivered[i], "", NULL).status, DISPATCH_DELIVERED);
    for (size_t i = 0; i < ARRAY_SIZE(rejected); i++) {
        r = classify(0, rejected[i], "nope", NULL);
        ck_assert_int_eq(r.status, DISPATCH_REJECTED);
        snprintf(want, sizeof(want), "HTTP %ld: nope", rejected[i]);
        ck_assert_str_eq(r.error, want);
    }
    for (size_t i = 0; i < ARRAY_SIZE(retried); i++) {
        r = classify(0, retried[i], "", NULL);
        ck_assert_int_eq(r.status, DISPATCH_RETRY);
        snprintf(want, sizeof(want), "HTTP %ld", retried[i]);
        ck_assert_str_eq(r.error, want);
    }
    /* Transport errors are retried with their message. */
    r = classify(-ECONNREFUSED, 0, NULL, NULL);
    ck_assert_int_eq(r.status, DISPATCH_RETRY);
    ck_assert_str_eq(r.error, "connection refused (127.0.0.1:9)");
    ck_assert_int_eq(classify(-ECANCELED, 0, NULL, NULL).status, DISPATCH_CANCELED);
    /* A 2xx body over the limit is still delivered; a 5xx one retried. */
    ck_assert_int_eq(classify(-EMSGSIZE, 200, "x", NULL).status, DISPATCH_DELIVERED);
    ck_assert_int_eq(classify(-EMSGSIZE, 500, "x", NULL).status, DISPATCH_RETRY);
    /* Retry-After: seconds or an HTTP date; junk ignored. */
    ck_assert_int_eq(classify(0, 429, "", "120").retry_after_ms, 120000);
    ck_assert_int_eq(classify(0, 503, "", "junk").retry_after_ms, 0);
    ck_assert_int_eq(classify(0, 503, "", "-5").retry_after_ms, 0);
    ck_assert_int_eq(classify(0, 503, "", "Tue, 01 Mar 2022 10:00:00 GMT").retry_after_ms, 0);
    {
        char date[64];
        time_t t = time(NULL) + 3600;
        struct tm tm;
        int64_t ms;
        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        ms = classify(0, 503, "", date).retry_after_ms;
        ck_assert_int_gt(ms, 3500 * 1000);
        ck_assert_int_le(ms, 3600 * 1000);
    }
}
END_TEST

START_TEST(error_excerpt_is_clean)
{
    struct dispatch_result r;
    char body[1000];
    /* Control characters collapse to one space; invalid UTF-8 becomes '?'. */
    r = classify(0, 400, "{\"error\":\r\n\t\"bad\"}\n\xff\xfe ok \xc3\xa4", NULL);
    ck_assert_str_eq(r.error, "HTTP 400: {\"error\": \"bad\"} ?? ok \xc3\xa4");
    /* Long bodies are cut after SINK_WEBHOOK_EXCERPT bytes with an ellipsis,
     * never inside a character. */
    for (size_t i = 0; i + 2 < sizeof(body); i += 2)
        memcpy(body + i, "\xc3\xa4", 2);
    body[sizeof(body) - 2] = '\0';
    r = classify(0, 422, body, NULL);
    ck_assert(str_has_prefix(r.error, "HTTP 422: \xc3\xa4"));
    ck_assert(str_has_suffix(r.error, "\xc3\xa4\xe2\x80\xa6"));
    ck_assert_uint_eq(strlen(r.error), strlen("HTTP 422: ") + SINK_WEBHOOK_EXCERPT + 3);
    /* A truncated multi-byte character at the very end is not copied. */
    r = classify(0, 400, "abc\xc3", NULL);
    ck_assert_str_eq(r.error, "HTTP 400: abc?");
    r = classify(0, 400, "\x01\x02", NULL);
    ck_assert_str_eq(r.error, "HTTP 400");
}
END_TEST

/* ---- on the wire ---- */

struct wire {
    struct sh_server rx;
    struct sh_events e;
    struct sh_dispatch h;
    char *secret_path;
    char *dbpath;
};

/* A receiver (extra args), stored events routed to sink "webhook:w", and a
 * dispatcher with that sink opened from a [webhook w] section. */
static void wire_start(struct wire *w, const char *format, const char *const *rx_args,
                       const char *url_scheme, const char *extra_conf)
{
    const char *args[16];
    size_t n = 0;
    char *conf;
    struct config *cfg = NULL;
    struct config_env env = { 0 };
    struct perr err = { 0 };
    char **errors = NULL;

    memset(w, 0, sizeof(*w));
    sh_events_open(&w->e);
    w->secret_path = tu_path_join(w->e.dir, "secret");
    tu_write_file(w->secret_path, "whsec_\xc3\xa4 test secret\n");
    args[n++] = "--secret-file";
    args[n++] = w->secret_path;
    for (size_t i = 0; rx_args && rx_args[i]; i++)
        args[n++] = rx_args[i];
    args[n] = NULL;
    sh_start(&w->rx, "webhook_receiver.py", args);
    sh_events_lifecycle(&w->e, "logs", NULL);
    ck_assert_int_eq(db_exec(w->e.db, "UPDATE deliveries SET sink = 'webhook:w'", &err), 0);
    w->dbpath = tu_path_join(w->e.dir, "ev.db");
    conf = str_printf("[webhook w]\nurl = %s://127.0.0.1:%d/hook\nformat = %s\nsecret_file = "
                      "%s\nrouting_key_file = %s\n%s",
                      url_scheme, w->rx.port, format, w->secret_path, w->secret_path,
                      extra_conf ? extra_conf : "");
    ck_assert_msg(config_load_string("wire.conf", conf, &env, &cfg, &err, &errors) == 0, "%s",
                  errors ? errors[0] : err.msg);
    /* The dispatcher's (simulated) clock starts just after the events were
     * made; signatures still carry the real time. */
    sh_now = 7000;
    sh_dispatch_open(&w->h, w->dbpath);
    ck_assert_msg(dispatch_open_sink(w->h.d, "webhook:w", cfg, NULL, &err) == 0, "%s", err.msg);
    config_free(cfg);
    free(conf);
}

static void wire_stop(struct wire *w)
{
    sh_dispatch_close(&w->h);
    sh_cleanup(&w->rx);
    sh_events_close(&w->e);
    free(w->secret_path);
    free(w->dbpath);
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

START_TEST(wire_every_format)
{
    static const struct {
        const char *name, *ct;
    } fmts[] = {
        { "plumb", "application/json" },
        { "cloudevents", "application/cloudevents+json; charset=utf-8" },
        { "slack", "application/json" },
        { "pagerduty", "application/json" },
    };
    for (size_t f = 0; f < ARRAY_SIZE(fmts); f++) {
        struct wire w;
        json_t *recs, *rec;
        size_t i;
        wire_start(&w, fmts[f].name, NULL, "http", NULL);
        sh_dispatch_settle(&w.h);
        ck_assert_int_eq(count_state(w.e.db, "delivered"), 10);
        recs = sh_records(&w.rx);
        ck_assert_uint_eq(json_array_size(recs), 10);
        json_array_foreach (recs, i, rec) {
            const char *id = json_string_value(json_object_get(rec, "event_id"));
            json_t *body = json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL);
            ck_assert_msg(json_is_true(json_object_get(rec, "signature_ok")), "%s: bad signature",
                          fmts[f].name);
            ck_assert(json_is_true(json_object_get(rec, "timestamp_ok")));
            ck_assert_int_eq(json_integer_value(json_object_get(rec, "status")), 204);
            ck_assert_int_eq((int)strlen(id), 36);
            ck_assert_str_eq(json_string_value(json_object_get(rec, "idempotency_key")), id);
            ck_assert_str_eq(json_string_value(json_object_get(rec, "user_agent")),
                             "plumb/" PLUMB_VERSION);
            ck_assert_str_eq(json_string_value(json_object_get(rec, "content_type")), fmts[f].ct);
            ck_assert_str_eq(json_string_value(json_object_get(rec, "path")), "/hook");
            ck_assert_ptr_nonnull(body);
            if (f == 0)
                ck_assert_str_eq(json_string_value(json_object_get(body, "id")), id);
            if (f == 1)
                ck_assert_str_eq(json_string_value(json_object_get(body, "id")), id);
            if (f == 3)
                ck_assert_str_eq(json_string_value(json_object_get(body, "routing_key")),
                                 "whsec_\xc3\xa4 test secret");
            json_decref(body);
        }
        /* Order per dedupe key: opened, reminder, updated, resolved. */
        {
            const char *want[] = { "drift.opened", "drift.reminder", "drift.updated",
                                   "drift.resolved" };
            size_t k = 0;
            json_array_foreach (recs, i, rec)
                if (str_has_prefix(json_string_value(json_object_get(rec, "kind")), "drift."))
                    ck_assert_str_eq(json_string_value(json_object_get(rec, "kind")), want[k++]);
            ck_assert_uint_eq(k, 4);
        }
        json_decref(recs);
        wire_stop(&w);
    }
}
END_TEST

START_TEST(wire_failures)
{
    struct wire w;
    char *row;
    int64_t first;
    const char *mode400[] = { "--mode", "400", NULL };
    const char *hang[] = { "--mode", "hang", "--count", "1", "--hang", "4", NULL };

    /* 400: a dead letter with the status and the body excerpt. */
    wire_start(&w, "plumb", mode400, "http", NULL);
    sh_dispatch_settle(&w.h);
    ck_assert_int_eq(count_state(w.e.db, "failed"), 10);
    row = sh_delivery(w.e.db, 1, "webhook:w");
    ck_assert_str_eq(row, "failed|1|HTTP 400: {\"error\":\"unknown field \\\"x\\\"\", "
                          "\"detail\":\"rejected\"}");
    free(row);
    wire_stop(&w);

    /* 500, then the receiver closing without an answer: retried. */
    wire_start(&w, "plumb", NULL, "http", NULL);
    sh_webhook_mode(&w.rx, "500", 0, NULL);
    sh_dispatch_settle(&w.h);
    ck_assert_int_eq(count_state(w.e.db, "pending"), 10);
    first = 1;
    row = sh_delivery(w.e.db, first, "webhook:w");
    ck_assert_str_eq(row, "pending|1|HTTP 500: internal error stack trace follows");
    free(row);
    sh_webhook_mode(&w.rx, "close", 0, NULL);
    sh_now += DISPATCH_BACKOFF_MAX_MS;
    sh_dispatch_settle(&w.h);
    row = sh_delivery(w.e.db, first, "webhook:w");
    ck_assert_msg(str_has_prefix(row, "pending|2|"), "%s", row);
    ck_assert_msg(strstr(row, "127.0.0.1:"), "%s", row);
    free(row);
    /* Back to normal: everything arrives. */
    sh_webhook_mode(&w.rx, "ok", 0, NULL);
    sh_now += 2 * DISPATCH_BACKOFF_MAX_MS;
    sh_dispatch_settle(&w.h);
    ck_assert_int_eq(count_state(w.e.db, "delivered"), 10);
    wire_stop(&w);

    /* A receiver that hangs past the timeout: retried, and the event is sent
     * again with the same idempotency key (at-least-once). */
    wire_start(&w, "plumb", hang, "http", "timeout = 2s\n");
    sh_dispatch_settle(&w.h);
    /* The hung event (attempted once) and those of the same resource that
     * wait for it (not attempted) are pending. */
    ck_assert_int_gt(count_state(w.e.db, "pending"), 1);
    {
        sqlite3_stmt *st;
        const char *e;
        ck_assert_int_eq(sqlite3_prepare_v2(db_handle(w.e.db),
                                            "SELECT attempts, last_error FROM deliveries "
                                            "WHERE state = 'pending' AND attempts > 0",
                                            -1, &st, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
        e = (const char *)sqlite3_column_text(st, 1);
        ck_assert_msg(str_has_prefix(e, "request to 127.0.0.1:") &&
                          str_has_suffix(e, " timed out (limit 2000 ms)"),
                      "%s", e);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    sh_now += DISPATCH_BACKOFF_MAX_MS;
    sh_dispatch_settle(&w.h);
    ck_assert_int_eq(count_state(w.e.db, "delivered"), 10);
    {
        json_t *recs = sh_records(&w.rx);
        const char *k0 = json_string_value(json_path_get(recs, "[0].idempotency_key"));
        size_t i, seen = 0;
        json_t *rec;
        ck_assert_str_eq(json_string_value(json_path_get(recs, "[0].mode")), "hang");
        json_array_foreach (recs, i, rec)
            if (str_eq(json_string_value(json_object_get(rec, "idempotency_key")), k0))
                seen++;
        ck_assert_uint_eq(seen, 2);
        ck_assert_uint_eq(json_array_size(recs), 11);
        json_decref(recs);
    }
    wire_stop(&w);
}
END_TEST

START_TEST(wire_tls)
{
    struct wire w;
    char *ca = tu_tmpdir(), *cert = tu_path_join(ca, "server.pem");
    char *key = tu_path_join(ca, "server.key"), *good = tu_path_join(ca, "ca.pem");
    char *other = tu_path_join(ca, "other-ca.pem"), *conf;
    const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };
    char *row;

    sh_make_ca(ca);
    /* Verified against the CA that signed the server certificate. */
    conf = str_printf("ca_bundle = %s\n", good);
    wire_start(&w, "cloudevents", args, "https", conf);
    sh_dispatch_settle(&w.h);
    ck_assert_int_eq(count_state(w.e.db, "delivered"), 10);
    wire_stop(&w);
    free(conf);
    /* Another CA: refused, kept for later. */
    conf = str_printf("ca_bundle = %s\n", other);
    wire_start(&w, "cloudevents", args, "https", conf);
    sh_dispatch_settle(&w.h);
    ck_assert_int_eq(count_state(w.e.db, "pending"), 10);
    row = sh_delivery(w.e.db, 1, "webhook:w");
    ck_assert_msg(str_has_prefix(row, "pending|1|") && strstr(row, "certificate"), "%s", row);
    free(row);
    wire_stop(&w);
    free(conf);
    /* insecure_tls: delivered even so. */
    conf = str_printf("ca_bundle = %s\ninsecure_tls = yes\n", other);
    wire_start(&w, "cloudevents", args, "https", conf);
    sh_dispatch_settle(&w.h);
    ck_assert_int_eq(count_state(w.e.db, "delivered"), 10);
    wire_stop(&w);
    free(conf);
    tu_rmrf(ca);
    free(ca);
    free(cert);
    free(key);
    free(good);
    free(other);
}
END_TEST

START_TEST(sink_new_checks)
{
    uv_loop_t loop;
    struct config_webhook wh = { .name = (char *)"x", .url = (char *)"https://h/x" };
    struct sink_webhook *s = NULL;
    struct perr err = { 0 };
    bool done = false;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(sink_webhook_new(&loop, &wh, NULL, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "[webhook x] secret: missing");
    wh.secret = (char *)"s";
    wh.format = WEBHOOK_PAGERDUTY;
    ck_assert_int_eq(sink_webhook_new(&loop, &wh, NULL, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "[webhook x] routing_key: PagerDuty needs one");
    wh.url = NULL;
    ck_assert_int_eq(sink_webhook_new(&loop, &wh, NULL, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "[webhook x] url: missing");
    wh.url = (char *)"https://h/x";
    wh.format = WEBHOOK_SLACK;
    wh.ca_bundle = (char *)"/nonexistent/ca.pem";
    ck_assert_int_lt(sink_webhook_new(&loop, &wh, NULL, &s, &err), 0);
    ck_assert_msg(str_has_prefix(err.msg, "[webhook x] "), "%s", err.msg);
    wh.ca_bundle = NULL;
    wh.insecure_tls = true;
    ck_assert_int_eq(sink_webhook_new(&loop, &wh, NULL, &s, &err), 0);
    ck_assert(sink_webhook_insecure_tls(s));
    sink_webhook_ops.close(s, sh_set_true, &done);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sink_webhook");
    TCase *tc = tcase_create("formats");
    TCase *wire = tcase_create("wire");

    sh_find_python();
    tcase_add_test(tc, plumb_is_the_stored_event);
    tcase_add_test(tc, cloudevents_attributes);
    tcase_add_test(tc, pagerduty_fields);
    tcase_add_test(tc, pagerduty_trigger_and_resolve_pair_up);
    tcase_add_test(tc, pagerduty_needs_routing_key);
    tcase_add_test(tc, slack_shape_and_escaping);
    tcase_add_test(tc, slack_caps_everything);
    tcase_add_test(tc, hostile_names_stay_in_their_strings);
    tcase_add_test(tc, signature_matches_python);
    tcase_add_test(tc, classification);
    tcase_add_test(tc, error_excerpt_is_clean);
    tcase_add_test(tc, sink_new_checks);
    suite_add_tcase(s, tc);
    tcase_add_test(wire, wire_every_format);
    tcase_add_test(wire, wire_failures);
    tcase_add_test(wire, wire_tls);
    tcase_set_timeout(wire, 120);
    suite_add_tcase(s, wire);
    return tu_run_suite(s);
}
