#include "sink_webhook.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "jsonutil.h"
#include "plumb-config.h"

/* ---- text helpers ---- */

/* Bytes of the UTF-8 sequence starting with c (1 for stray bytes, which
 * jansson never lets into a stored event anyway). */
static size_t u8len(unsigned char c)
{
    if (c >= 0xF0)
        return 4;
    if (c >= 0xE0)
        return 3;
    if (c >= 0xC0)
        return 2;
    return 1;
}

static size_t u8chars(const char *s)
{
    size_t n = 0;
    for (; *s; n++) {
        size_t l = u8len((unsigned char)*s);
        for (size_t i = 0; i < l && *s; i++)
            s++;
    }
    return n;
}

/* Append s to b, at most max_chars characters; when s is longer, its first
 * max_chars - 1 characters and "…".  slack: escape &, < and > (an entity
 * counts as its length and is never cut). */
static int append_cut(struct buf *b, const char *s, size_t max_chars, bool slack)
{
    size_t total = 0, chars = 0;
    const char *p;

    if (!s)
        s = "";
    for (p = s; *p;) {
        size_t l = u8len((unsigned char)*p);
        total += !slack ? 1 : *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
        for (size_t i = 0; i < l && *p; i++)
            p++;
    }
    if (total <= max_chars)
        max_chars = SIZE_MAX;
    else if (max_chars > 0)
        max_chars--; /* room for the ellipsis */
    for (p = s; *p;) {
        size_t l = u8len((unsigned char)*p), w = 1;
        const char *rep = NULL;
        int r;
        if (slack && *p == '&')
            rep = "&amp;", w = 5;
        else if (slack && *p == '<')
            rep = "&lt;", w = 4;
        else if (slack && *p == '>')
            rep = "&gt;", w = 4;
        if (chars + w > max_chars)
            break;
        if (rep) {
            r = buf_append_str(b, rep);
        } else {
            size_t avail = strnlen(p, l);
            r = buf_append(b, p, avail);
            l = avail;
        }
        if (r < 0)
            return r;
        chars += w;
        p += l;
    }
    if (*p)
        return buf_append_str(b, "\xe2\x80\xa6");
    return 0;
}

/* A cut (and optionally escaped) copy as a JSON string. */
static json_t *jcut(const char *s, size_t max_chars, bool slack)
{
    struct buf b;
    json_t *v = NULL;
    buf_init(&b, SIZE_MAX);
    if (append_cut(&b, s, max_chars, slack) == 0)
        v = json_string(buf_str(&b));
    buf_free(&b);
    return v;
}

static const char *jstr(const json_t *doc, const char *path)
{
    return json_string_value(json_path_get(doc, path));
}

/* The most specific name of what an event is about. */
static const char *event_subject(const json_t *doc, const struct dispatch_event *ev)
{
    const char *s = jstr(doc, "resource.key");
    if (!s)
        s = jstr(doc, "resource.arn");
    if (!s)
        s = jstr(doc, "resource.address");
    if (!s)
        s = ev->resource_key;
    if (!s)
        s = ev->dedupe_key;
    if (!s)
        s = jstr(doc, "dedupe_key");
    return s;
}

static const char *ev_id(const struct dispatch_event *ev)
{
    return ev->id ? ev->id : jstr(ev->doc, "id");
}

static const char *ev_kind(const struct dispatch_event *ev)
{
    return ev->kind ? ev->kind : jstr(ev->doc, "kind");
}

static const char *ev_severity(const struct dispatch_event *ev)
{
    const char *s = ev->severity ? ev->severity : jstr(ev->doc, "severity");
    return s ? s : "info";
}

static const char *ev_dedupe(const struct dispatch_event *ev)
{
    return ev->dedupe_key ? ev->dedupe_key : jstr(ev->doc, "dedupe_key");
}

/* created_at as stored (RFC 3339 with ms), or from the row. */
static void ev_time(const struct dispatch_event *ev, char *buf, size_t size)
{
    const char *t = jstr(ev->doc, "created_at");
    if (t && strlen(t) < size)
        snprintf(buf, size, "%s", t);
    else
        time_format_iso8601_ms(ev->created_at, buf, size);
}

/* "drift.opened" -> "Drift opened". */
static void kind_title(const char *kind, char *out, size_t size)
{
    size_t i;
    for (i = 0; kind[i] && i + 1 < size; i++)
        out[i] = kind[i] == '.' || kind[i] == '_' ? ' ' : kind[i];
    out[i] = '\0';
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
}

static json_t *str_list(const json_t *arr, const char *sep)
{
    struct buf b;
    size_t i;
    json_t *v, *out = NULL;
    buf_init(&b, 4096);
    json_array_foreach (arr, i, v) {
        if (!json_is_string(v))
            continue;
        if ((b.len && buf_append_str(&b, sep) < 0) || buf_append_str(&b, json_string_value(v)) < 0)
            break;
    }
    out = json_string(buf_str(&b));
    buf_free(&b);
    return out;
}

/* ---- formats ---- */

static int render_plumb(const struct dispatch_event *ev, char **body, size_t *len)
{
    if (ev->payload) {
        *body = strdup(ev->payload);
        *len = strlen(ev->payload);
    } else {
        *body = json_dumps(ev->doc, JSON_COMPACT | JSON_SORT_KEYS);
        *len = *body ? strlen(*body) : 0;
    }
    return *body ? 0 : -ENOMEM;
}

static int render_cloudevents(const struct sink_webhook_render *r, const struct dispatch_event *ev,
                              char **body, size_t *len)
{
    char t[40], type[160], *source = NULL;
    json_t *o;
    int rc = -ENOMEM;

    ev_time(ev, t, sizeof(t));
    snprintf(type, sizeof(type), "io.plumb.%s", ev_kind(ev));
    source = r->source ? strdup(r->source)
                       : str_printf("urn:plumb:%s", r->hostname ? r->hostname : "localhost");
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s*, s:s*, s:O}", "specversion", "1.0",
                  "id", ev_id(ev), "source", source ? source : "", "type", type, "time", t,
                  "datacontenttype", "application/json", "plumbseverity", ev_severity(ev),
                  "subject", event_subject(ev->doc, ev), "plumbdedupekey", ev_dedupe(ev), "data",
                  ev->doc);
    if (source && o) {
        *body = json_dumps(o, JSON_COMPACT);
        if (*body) {
            *len = strlen(*body);
            rc = 0;
        }
    }
    json_decref(o);
    free(source);
    return rc;
}

static json_t *mrkdwn(json_t *text)
{
    return text ? json_pack("{s:s, s:o}", "type", "mrkdwn", "text", text) : NULL;
}

/* A Slack field "*Label*\nvalue" (value escaped and cut). */
static int slack_field(json_t *fields, const char *label, const char *value)
{
    struct buf b;
    json_t *f;
    int r;
    if (!value || !*value)
        return 0;
    buf_init(&b, SIZE_MAX);
    r = buf_appendf(&b, "*%s*\n", label);
    if (r == 0)
        r = append_cut(&b, value, 300, true);
    f = r == 0 ? mrkdwn(json_string(buf_str(&b))) : NULL;
    buf_free(&b);
    if (!f || json_array_append_new(fields, f) < 0)
        return -ENOMEM;
    return 0;
}

static json_t *slack_changes(const json_t *changes)
{
    struct buf b;
    size_t i, n = json_array_size(changes), shown = 0;
    json_t *c, *out = NULL;

    buf_init(&b, SIZE_MAX);
    if (buf_appendf(&b, "*Changed attributes* (%zu)", n) < 0)
        goto out;
    json_array_foreach (changes, i, c) {
        const char *path = json_string_value(json_object_get(c, "path"));
        if (!path)
            continue;
        if (shown == SINK_WEBHOOK_SLACK_MAX_CHANGES)
            break;
        if (buf_append_str(&b, "\n\xe2\x80\xa2 ") < 0 || append_cut(&b, path, 200, true) < 0)
            goto out;
        shown++;
    }
    if (shown < n && buf_appendf(&b, "\n_and %zu more_", n - shown) < 0)
        goto out;
    out = json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn(json_string(buf_str(&b))));
out:
    buf_free(&b);
    return out;
}

static int render_slack(const struct dispatch_event *ev, char **body, size_t *len, struct perr *err)
{
    const json_t *doc = ev->doc;
    const char *summary = jstr(doc, "summary"), *kind = ev_kind(ev);
    const char *type = jstr(doc, "resource.type"), *id = jstr(doc, "resource.id");
    const char *control = jstr(doc, "control.id");
    json_t *msg = NULL, *blocks = json_array(), *fields = json_array(), *b;
    struct buf t;
    char title[64];
    int r = -ENOMEM;

    buf_init(&t, SIZE_MAX);
    if (!blocks || !fields)
        goto out;
    kind_title(kind, title, sizeof(title));
    /* Header: plain text, shown verbatim (no escaping), 150 characters. */
    if (buf_appendf(&t, "%s: %s%s%s", title, type ? type : "", type && id ? " " : "",
                    id ? id : (type ? "" : event_subject(doc, ev))) < 0)
        goto out;
    b = json_pack("{s:s, s:{s:s, s:o, s:b}}", "type", "header", "text", "type", "plain_text",
                  "text", jcut(buf_str(&t), 150, false), "emoji", 1);
    if (!b || json_array_append_new(blocks, b) < 0)
        goto out;
    b = json_pack("{s:s, s:o}", "type", "section", "text",
                  mrkdwn(jcut(summary ? summary : kind, 3000, true)));
    if (!b || json_array_append_new(blocks, b) < 0)
        goto out;
    if (slack_field(fields, "Severity", ev_severity(ev)) < 0 ||
        slack_field(fields, "Account", jstr(doc, "account")) < 0 ||
        slack_field(fields, "Region", jstr(doc, "region")) < 0 ||
        slack_field(fields, "Resource", event_subject(doc, ev)) < 0 ||
        slack_field(fields, "Control", control) < 0 ||
        slack_field(fields, "Exception", jstr(doc, "exception.name")) < 0)
        goto out;
    b = json_pack("{s:s, s:O}", "type", "section", "fields", fields);
    if (!b || json_array_append_new(blocks, b) < 0)
        goto out;
    if (json_array_size(json_object_get(doc, "changes")) > 0) {
        b = slack_changes(json_object_get(doc, "changes"));
        if (!b || json_array_append_new(blocks, b) < 0)
            goto out;
    }
    buf_reset(&t);
    {
        json_t *nis2 = str_list(json_object_get(doc, "nis2"), ", ");
        json_t *dora = str_list(json_object_get(doc, "dora"), ", ");
        int e = nis2 && dora ? 0 : -ENOMEM;
        if (e == 0)
            e = buf_appendf(&t, "plumb \xc2\xb7 %s", kind);
        if (e == 0 && json_string_length(nis2))
            e = buf_appendf(&t, " \xc2\xb7 NIS2 %s", json_string_value(nis2));
        if (e == 0 && json_string_length(dora))
            e = buf_appendf(&t, " \xc2\xb7 DORA %s", json_string_value(dora));
        if (e == 0)
            e = buf_appendf(&t, " \xc2\xb7 event %s", ev_id(ev));
        json_decref(nis2);
        json_decref(dora);
        if (e < 0)
            goto out;
    }
    b = json_pack("{s:s, s:[o]}", "type", "context", "elements",
                  mrkdwn(jcut(buf_str(&t), 2000, true)));
    if (!b || json_array_append_new(blocks, b) < 0)
        goto out;
    buf_reset(&t);
    if (buf_appendf(&t, "[%s] ", ev_severity(ev)) < 0 ||
        append_cut(&t, summary ? summary : kind, 2900, true) < 0)
        goto out;
    msg = json_pack("{s:s, s:O}", "text", buf_str(&t), "blocks", blocks);
    if (!msg)
        goto out;
    *body = json_dumps(msg, JSON_COMPACT);
    if (!*body)
        goto out;
    *len = strlen(*body);
    r = 0;
    if (*len > SINK_WEBHOOK_SLACK_MAX_BODY) {
        free(*body);
        *body = NULL;
        r = perr_set(err, -E2BIG, "Slack message of %zu bytes exceeds %d", *len,
                     SINK_WEBHOOK_SLACK_MAX_BODY);
    }
out:
    if (r == -ENOMEM)
        perr_set(err, r, "out of memory");
    buf_free(&t);
    json_decref(msg);
    json_decref(blocks);
    json_decref(fields);
    return r;
}

const char *sink_webhook_pd_action(const char *kind)
{
    if (kind && (str_has_suffix(kind, ".resolved") || str_has_suffix(kind, ".restored")))
        return "resolve";
    return "trigger";
}

const char *sink_webhook_pd_severity(const char *severity)
{
    if (str_eq(severity, "critical"))
        return "critical";
    if (str_eq(severity, "high"))
        return "error";
    if (str_eq(severity, "medium"))
        return "warning";
    return "info";
}

/* The event as custom_details, without its changes list when large. */
static json_t *pd_details(const json_t *doc)
{
    json_t *d = json_deep_copy(doc);
    char *text;
    size_t len;
    if (!d)
        return NULL;
    text = json_dumps(d, JSON_COMPACT);
    if (!text) {
        json_decref(d);
        return NULL;
    }
    len = strlen(text);
    free(text);
    if (len > SINK_WEBHOOK_PD_DETAILS_MAX) {
        size_t n = json_array_size(json_object_get(d, "changes"));
        if (json_object_set_new(d, "changes", json_array()) < 0 ||
            json_object_set_new(d, "changes_omitted", json_integer((json_int_t)n)) < 0) {
            json_decref(d);
            return NULL;
        }
    }
    return d;
}

static int render_pagerduty(const struct sink_webhook_render *r, const struct dispatch_event *ev,
                            char **body, size_t *len, struct perr *err)
{
    const json_t *doc = ev->doc;
    const char *action = sink_webhook_pd_action(ev_kind(ev)), *dedupe = ev_dedupe(ev);
    const char *account = jstr(doc, "account"), *region = jstr(doc, "region");
    char dedup[SINK_WEBHOOK_PD_DEDUP_MAX + 1], t[40];
    char *source = NULL;
    json_t *o = NULL, *summary = NULL;
    struct buf s;
    int rc = -ENOMEM;

    if (!r->routing_key || !*r->routing_key)
        return perr_set(err, -EINVAL, "PagerDuty needs a routing key");
    if (!dedupe)
        return perr_set(err, -EINVAL, "event has no dedupe key");
    if (u8chars(dedupe) <= SINK_WEBHOOK_PD_DEDUP_MAX && strlen(dedupe) < sizeof(dedup)) {
        snprintf(dedup, sizeof(dedup), "%s", dedupe);
    } else {
        char hex[SHA256_HEX_LEN + 1];
        if (sha256_hex(dedupe, strlen(dedupe), hex) < 0)
            return perr_set(err, -ENOMEM, "out of memory");
        snprintf(dedup, sizeof(dedup), "plumb:sha256:%s", hex);
    }
    buf_init(&s, SIZE_MAX);
    if (str_eq(action, "resolve")) {
        o = json_pack("{s:s, s:s, s:s, s:s}", "routing_key", r->routing_key, "event_action", action,
                      "dedup_key", dedup, "client", "plumb");
    } else {
        const char *src = jstr(doc, "resource.arn");
        if (!src)
            src = jstr(doc, "resource.key");
        if (!src)
            src = jstr(doc, "resource.address");
        if (!src && account)
            src = source = str_printf("aws:%s/%s", account, region ? region : "-");
        if (!src)
            src = r->hostname ? r->hostname : "localhost";
        ev_time(ev, t, sizeof(t));
        if (buf_appendf(&s, "[%s] ", ev_severity(ev)) < 0 ||
            append_cut(&s, jstr(doc, "summary") ? jstr(doc, "summary") : ev_kind(ev),
                       SINK_WEBHOOK_PD_SUMMARY_MAX - s.len, false) < 0)
            goto out;
        summary = json_string(buf_str(&s));
        o = json_pack("{s:s, s:s, s:s, s:s, s:{s:O, s:o, s:s, s:s, s:s*, s:s*, s:s*, s:o}}",
                      "routing_key", r->routing_key, "event_action", action, "dedup_key", dedup,
                      "client", "plumb", "payload", "summary", summary, "source",
                      jcut(src, 255, false), "severity", sink_webhook_pd_severity(ev_severity(ev)),
                      "timestamp", t, "component", jstr(doc, "resource.type"), "group", account,
                      "class", jstr(doc, "category"), "custom_details", pd_details(doc));
    }
    if (o) {
        *body = json_dumps(o, JSON_COMPACT);
        if (*body) {
            *len = strlen(*body);
            rc = 0;
        }
    }
out:
    if (rc < 0)
        perr_set(err, rc, "out of memory");
    buf_free(&s);
    json_decref(summary);
    json_decref(o);
    free(source);
    return rc;
}

int sink_webhook_render(const struct sink_webhook_render *r, const struct dispatch_event *ev,
                        char **ret_body, size_t *ret_len, const char **ret_content_type,
                        struct perr *err)
{
    char *body = NULL;
    size_t len = 0;
    const char *ct = "application/json";
    int rc;

    if (!ev->doc || !json_is_object(ev->doc))
        return perr_set(err, -EINVAL, "event is not a JSON object");
    if (!ev_id(ev) || !ev_kind(ev))
        return perr_set(err, -EINVAL, "event has no id or kind");
    switch (r->format) {
    case WEBHOOK_PLUMB:
        rc = render_plumb(ev, &body, &len);
        if (rc < 0)
            perr_set(err, rc, "out of memory");
        break;
    case WEBHOOK_CLOUDEVENTS:
        ct = "application/cloudevents+json; charset=utf-8";
        rc = render_cloudevents(r, ev, &body, &len);
        if (rc < 0)
            perr_set(err, rc, "out of memory");
        break;
    case WEBHOOK_SLACK: rc = render_slack(ev, &body, &len, err); break;
    case WEBHOOK_PAGERDUTY: rc = render_pagerduty(r, ev, &body, &len, err); break;
    default: return perr_set(err, -EINVAL, "unknown webhook format %d", (int)r->format);
    }
    if (rc < 0)
        return rc;
    *ret_body = body;
    *ret_len = len;
    *ret_content_type = ct;
    return 0;
}

int sink_webhook_signature(const void *secret, size_t secret_len, int64_t unix_s, const void *body,
                           size_t body_len, char out[SINK_WEBHOOK_SIGNATURE_SIZE])
{
    unsigned char mac[SHA256_LEN];
    char ts[24], hex[SHA256_HEX_LEN + 1];
    struct buf b;
    int n = snprintf(ts, sizeof(ts), "%lld", (long long)unix_s), r;

    buf_init(&b, SIZE_MAX);
    r = buf_append(&b, ts, (size_t)n);
    if (r == 0)
        r = buf_append_char(&b, '.');
    if (r == 0)
        r = buf_append(&b, body, body_len);
    if (r == 0)
        r = hmac_sha256(secret, secret_len, b.data, b.len, mac);
    buf_free(&b);
    if (r < 0)
        return r;
    hex_encode(mac, sizeof(mac), hex);
    snprintf(out, SINK_WEBHOOK_SIGNATURE_SIZE, "t=%s,v1=%s", ts, hex);
    return 0;
}

/* ---- responses ---- */

/* A printable one-line excerpt of a response body for last_error. */
static void excerpt(const char *body, size_t len, char *out, size_t size)
{
    size_t o = 0, i = 0;
    bool space = false;
    while (i < len && o + 5 < size && i < SINK_WEBHOOK_EXCERPT) {
        unsigned char c = (unsigned char)body[i];
        size_t l = u8len(c), k;
        bool valid = c >= 0x80 ? c >= 0xC2 && c <= 0xF4 && i + l <= len : true;
        for (k = 1; valid && k < l; k++)
            valid = ((unsigned char)body[i + k] & 0xC0) == 0x80;
        if (c < 0x80 && (c < 0x20 || c == 0x7F)) {
            if (!space && o > 0)
                out[o++] = ' ';
            space = true;
            i++;
            continue;
        }
        space = false;
        if (!valid) {
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + l + 4 >= size)
            break;
        memcpy(out + o, body + i, l);
        o += l;
        i += l;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    if (i < len && o + 4 < size) {
        memcpy(out + o, "\xe2\x80\xa6", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int64_t retry_after(const struct http_response *resp)
{
    const char *v = http_response_header(resp, "retry-after");
    int64_t n, t;
    if (!v)
        return 0;
    if (parse_int64(v, &n) == 0)
        return n > 0 && n < INT64_MAX / 1000 ? n * 1000 : 0;
    if (time_parse_http(v, &t) == 0) {
        int64_t now = time_now_ms();
        return t > now ? t - now : 0;
    }
    return 0;
}

void sink_webhook_classify(const struct http_response *resp, struct dispatch_result *res)
{
    char ex[SINK_WEBHOOK_EXCERPT * 2 + 8];
    long st = resp->status;

    memset(res, 0, sizeof(*res));
    if (resp->error == -ECANCELED) {
        res->status = DISPATCH_CANCELED;
        snprintf(res->error, sizeof(res->error), "canceled");
        return;
    }
    /* A body over the limit does not matter once the status is known. */
    if (resp->error != 0 && !(resp->error == -EMSGSIZE && st >= 200)) {
        res->status = DISPATCH_RETRY;
        snprintf(res->error, sizeof(res->error), "%s",
                 resp->error_msg && *resp->error_msg ? resp->error_msg : strerror(-resp->error));
        return;
    }
    if (st >= 200 && st < 300) {
        res->status = DISPATCH_DELIVERED;
        return;
    }
    excerpt(resp->body ? resp->body : "", resp->body ? resp->body_len : 0, ex, sizeof(ex));
    if (st >= 400 && st < 500 && st != 408 && st != 425 && st != 429) {
        res->status = DISPATCH_REJECTED;
    } else {
        res->status = DISPATCH_RETRY;
        res->retry_after_ms = retry_after(resp);
    }
    snprintf(res->error, sizeof(res->error), "HTTP %ld%s%s", st, ex[0] ? ": " : "", ex);
}

/* ---- the sink ---- */

struct sink_webhook {
    uv_loop_t *loop;
    struct http_client *http;
    char *name;
    char *url;
    enum webhook_format format;
    char *secret;
    size_t secret_len;
    char *routing_key;
    char *hostname;
    char *source;
    int64_t timeout_ms;
    bool insecure_tls;
    int64_t (*now_ms)(void *ud);
    void *clock_ud;
    void (*closed)(void *ud);
    void *closed_ud;
};

static void sink_free(struct sink_webhook *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->url);
    str_free_secret(s->secret);
    str_free_secret(s->routing_key);
    free(s->hostname);
    free(s->source);
    free(s);
}

int sink_webhook_new(uv_loop_t *loop, const struct config_webhook *w,
                     const struct sink_webhook_options *o, struct sink_webhook **ret,
                     struct perr *err)
{
    struct http_client_options ho = { 0 };
    struct sink_webhook *s;
    char host[256];
    int r;

    if (!w->url || !*w->url)
        return perr_set(err, -EINVAL, "[webhook %s] url: missing", w->name ? w->name : "");
    if (!w->secret || !*w->secret)
        return perr_set(err, -EINVAL, "[webhook %s] secret: missing", w->name ? w->name : "");
    if (w->format == WEBHOOK_PAGERDUTY && (!w->routing_key || !*w->routing_key))
        return perr_set(err, -EINVAL, "[webhook %s] routing_key: PagerDuty needs one",
                        w->name ? w->name : "");
    s = calloc(1, sizeof(*s));
    if (!s)
        return perr_set(err, -ENOMEM, "out of memory");
    s->loop = loop;
    s->format = w->format;
    s->timeout_ms = w->timeout_ms > 0 ? w->timeout_ms : 10000;
    s->insecure_tls = w->insecure_tls;
    s->secret_len = strlen(w->secret);
    if (o && o->hostname) {
        s->hostname = strdup(o->hostname);
    } else {
        if (gethostname(host, sizeof(host)) < 0 || !host[0])
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        s->hostname = strdup(host);
    }
    if (o) {
        s->now_ms = o->now_ms;
        s->clock_ud = o->clock_ud;
    }
    if (!(s->name = strdup(w->name ? w->name : "")) || !(s->url = strdup(w->url)) ||
        !(s->secret = strdup(w->secret)) ||
        (w->routing_key && !(s->routing_key = strdup(w->routing_key))) || !s->hostname ||
        (o && o->source && !(s->source = strdup(o->source)))) {
        sink_free(s);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    ho.timeout_ms = s->timeout_ms;
    ho.connect_timeout_ms = MIN(s->timeout_ms, (int64_t)HTTP_DEFAULT_CONNECT_TIMEOUT_MS);
    ho.max_body = SINK_WEBHOOK_MAX_RESPONSE;
    ho.max_per_host = DISPATCH_WEBHOOK_CONCURRENCY;
    ho.max_total = DISPATCH_WEBHOOK_CONCURRENCY;
    ho.ca_bundle = w->ca_bundle;
    ho.user_agent = "plumb/" PLUMB_VERSION;
    r = http_client_new(loop, &ho, &s->http, err);
    if (r < 0) {
        perr_prefix(err, "[webhook %s] ", s->name);
        sink_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

bool sink_webhook_insecure_tls(const struct sink_webhook *s)
{
    return s->insecure_tls;
}

static void on_response(struct http_call *hc, struct http_response *resp, void *ud)
{
    struct dispatch_call *call = ud;
    struct dispatch_result res;
    sink_webhook_classify(resp, &res);
    dispatch_call_set_data(call, NULL);
    dispatch_call_done(call, &res);
}

static int wh_send(void *sink, struct dispatch_call *call, struct perr *err)
{
    struct sink_webhook *s = sink;
    const struct dispatch_event *ev = dispatch_call_event(call);
    struct sink_webhook_render rr = {
        .format = s->format,
        .source = s->source,
        .hostname = s->hostname,
        .routing_key = s->routing_key,
    };
    char sig[SINK_WEBHOOK_SIGNATURE_SIZE];
    char *body = NULL, *h_ct = NULL, *h_id = NULL, *h_idem = NULL, *h_kind = NULL, *h_sig = NULL;
    const char *ct = NULL;
    size_t len = 0;
    struct http_call *hc = NULL;
    int64_t now = s->now_ms ? s->now_ms(s->clock_ud) : time_now_ms();
    int r;

    r = sink_webhook_render(&rr, ev, &body, &len, &ct, err);
    if (r < 0)
        return r;
    r = sink_webhook_signature(s->secret, s->secret_len, now / 1000, body, len, sig);
    if (r < 0) {
        perr_set(err, r, "cannot sign the request");
        goto out;
    }
    h_ct = str_printf("Content-Type: %s", ct);
    h_id = str_printf("X-Plumb-Event-Id: %s", ev->id);
    h_idem = str_printf("Idempotency-Key: %s", ev->id);
    h_kind = str_printf("X-Plumb-Event-Kind: %s", ev->kind);
    h_sig = str_printf("X-Plumb-Signature: %s", sig);
    if (!h_ct || !h_id || !h_idem || !h_kind || !h_sig) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    {
        const char *headers[] = { h_ct, h_id, h_idem, h_kind, h_sig, NULL };
        struct http_request req = {
            .method = "POST",
            .url = s->url,
            .headers = headers,
            .body = body,
            .body_len = len,
            .timeout_ms = s->timeout_ms,
            .insecure_tls = s->insecure_tls,
        };
        r = http_send(s->http, &req, on_response, call, &hc, err);
        if (r < 0) {
            /* A url the client refuses is a configuration error that every
             * event would hit: keep the events for when it is fixed. */
            if (r == -EINVAL)
                r = -EIO;
            goto out;
        }
    }
    dispatch_call_set_data(call, hc);
out:
    /* The body may hold a PagerDuty routing key. */
    if (body)
        explicit_bzero(body, len);
    free(body);
    free(h_ct);
    free(h_id);
    free(h_idem);
    free(h_kind);
    free(h_sig);
    return r;
}

static void wh_cancel(void *sink, struct dispatch_call *call)
{
    struct http_call *hc = dispatch_call_data(call);
    if (hc)
        http_cancel(hc);
}

static void http_closed(void *ud)
{
    struct sink_webhook *s = ud;
    void (*closed)(void *) = s->closed;
    void *cud = s->closed_ud;
    sink_free(s);
    if (closed)
        closed(cud);
}

static void wh_close(void *sink, void (*closed)(void *ud), void *ud)
{
    struct sink_webhook *s = sink;
    s->closed = closed;
    s->closed_ud = ud;
    http_client_close(s->http, http_closed, s);
}

const struct dispatch_sink_ops sink_webhook_ops = {
    .send = wh_send,
    .cancel = wh_cancel,
    .close = wh_close,
};
