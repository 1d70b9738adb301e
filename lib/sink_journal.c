#include "sink_journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "buf.h"
#include "jsonutil.h"

/* Generated once (python3 -c 'import uuid; print(uuid.uuid4().hex)') and
 * never to be changed: journalctl -t plumbd MESSAGE_ID=... and the catalog
 * depend on them. */
const struct sink_journal_kind sink_journal_kinds[] = {
    { "drift.opened", "1043adb7ec3345a09b6d1c732388a443" },
    { "drift.updated", "7499adeefa0f44b38954ad4417acad35" },
    { "drift.resolved", "91b3e51b49034d40b3fb1f05724f974c" },
    { "drift.reminder", "93448ddc413043c79d71be860181b74c" },
    { "control.failed", "9774e541894b4421b4d00e119a2427a5" },
    { "control.resolved", "e1851c54a01e4b45b59688ce213e770b" },
    { "control.reminder", "d252ef1836504906ab7e3cd6f2a33479" },
    { "data.gap", "7aefc2de563c4d6a9c04c94cd4174528" },
    { "data.restored", "71c88c0c01ad49d28129cce6e3521c8c" },
    { "exception.expired", "f9129b4040c34eefaedad0eea84448ed" },
    { NULL, NULL },
};

const char *sink_journal_message_id(const char *kind)
{
    for (const struct sink_journal_kind *k = sink_journal_kinds; kind && k->kind; k++)
        if (str_eq(k->kind, kind))
            return k->message_id;
    return NULL;
}

int sink_journal_priority(const char *severity, const char *kind)
{
    int p = str_eq(severity, "critical") ? LOG_CRIT
            : str_eq(severity, "high")   ? LOG_ERR
            : str_eq(severity, "medium") ? LOG_WARNING
            : str_eq(severity, "low")    ? LOG_NOTICE
                                         : LOG_INFO;
    if (kind && (str_has_suffix(kind, ".resolved") || str_has_suffix(kind, ".restored")))
        p = MAX(p, LOG_NOTICE);
    return p;
}

/* Append "NAME=value" with value cut at a UTF-8 boundary; absent or empty
 * values add nothing. */
static int add(char ***v, const char *name, const char *value)
{
    size_t len;
    char *s;
    if (!value || !*value)
        return 0;
    len = strlen(value);
    if (len > SINK_JOURNAL_MAX_VALUE) {
        len = SINK_JOURNAL_MAX_VALUE;
        while (len > 0 && ((unsigned char)value[len] & 0xC0) == 0x80)
            len--;
    }
    s = str_printf("%s=%.*s", name, (int)len, value);
    if (!s || strv_consume(v, s) < 0) {
        free(s);
        return -ENOMEM;
    }
    return 0;
}

static char *join(const json_t *arr)
{
    struct buf b;
    size_t i;
    json_t *x;
    buf_init(&b, SINK_JOURNAL_MAX_VALUE * 2);
    json_array_foreach (arr, i, x) {
        if (!json_is_string(x))
            continue;
        if ((b.len && buf_append_char(&b, ',') < 0) || buf_append_str(&b, json_string_value(x)) < 0)
            break;
    }
    return buf_steal(&b, NULL);
}

int sink_journal_fields(const struct dispatch_event *ev, char ***ret, struct perr *err)
{
    const json_t *doc = ev->doc;
    const char *kind = ev->kind ? ev->kind : json_string_value(json_object_get(doc, "kind"));
    const char *id = ev->id ? ev->id : json_string_value(json_object_get(doc, "id"));
    const char *sev =
        ev->severity ? ev->severity : json_string_value(json_object_get(doc, "severity"));
    const char *summary = json_string_value(json_object_get(doc, "summary"));
    const char *resource = json_string_value(json_path_get(doc, "resource.key"));
    char **v = NULL, prio[4], *nis2 = NULL, *dora = NULL;
    int r;

    if (!id || !kind)
        return perr_set(err, -EINVAL, "event has no id or kind");
    if (!sev)
        sev = "info";
    if (!resource)
        resource = json_string_value(json_path_get(doc, "resource.arn"));
    if (!resource)
        resource = json_string_value(json_path_get(doc, "resource.address"));
    if (!resource)
        resource = ev->resource_key;
    snprintf(prio, sizeof(prio), "%d", sink_journal_priority(sev, kind));
    nis2 = join(json_object_get(doc, "nis2"));
    dora = join(json_object_get(doc, "dora"));
    r = nis2 && dora ? 0 : -ENOMEM;
    if (r == 0)
        r = add(&v, "MESSAGE", summary ? summary : kind);
    if (r == 0)
        r = add(&v, "MESSAGE_ID", sink_journal_message_id(kind));
    if (r == 0)
        r = add(&v, "PRIORITY", prio);
    if (r == 0)
        r = add(&v, "SYSLOG_IDENTIFIER", "plumbd");
    if (r == 0)
        r = add(&v, "PLUMB_EVENT_ID", id);
    if (r == 0)
        r = add(&v, "PLUMB_KIND", kind);
    if (r == 0)
        r = add(&v, "PLUMB_SEVERITY", sev);
    if (r == 0)
        r = add(&v, "PLUMB_DEDUPE_KEY",
                ev->dedupe_key ? ev->dedupe_key
                               : json_string_value(json_object_get(doc, "dedupe_key")));
    if (r == 0)
        r = add(&v, "PLUMB_CATEGORY", json_string_value(json_object_get(doc, "category")));
    if (r == 0)
        r = add(&v, "PLUMB_RESOURCE", resource);
    if (r == 0)
        r = add(&v, "PLUMB_TYPE", json_string_value(json_path_get(doc, "resource.type")));
    if (r == 0)
        r = add(&v, "PLUMB_ACCOUNT", json_string_value(json_object_get(doc, "account")));
    if (r == 0)
        r = add(&v, "PLUMB_REGION", json_string_value(json_object_get(doc, "region")));
    if (r == 0)
        r = add(&v, "PLUMB_NIS2", nis2);
    if (r == 0)
        r = add(&v, "PLUMB_DORA", dora);
    if (r == 0)
        r = add(&v, "PLUMB_CONTROL", json_string_value(json_path_get(doc, "control.id")));
    free(nis2);
    free(dora);
    if (r < 0) {
        strv_free(v);
        return perr_set(err, r, "out of memory");
    }
    *ret = v;
    return 0;
}

int sink_journal_send(sink_journal_send_fn send, char *const *fields, struct perr *err)
{
    size_t n = strv_length(fields);
    struct iovec *iov = calloc(n ? n : 1, sizeof(*iov));
    int r;

    if (!iov)
        return perr_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = fields[i];
        iov[i].iov_len = strlen(fields[i]);
    }
    r = send ? send(iov, (int)n) : sd_journal_sendv(iov, (int)n);
    free(iov);
    if (r < 0)
        return perr_set(err, r, "journal: %s", strerror(-r));
    return 0;
}

struct sink_journal {
    uv_loop_t *loop;
    sink_journal_send_fn send;
    uv_work_t work;
    struct dispatch_call *call; /* in flight */
    char **fields;
    struct perr err;
    int result;
};

int sink_journal_new(uv_loop_t *loop, sink_journal_send_fn send, struct sink_journal **ret,
                     struct perr *err)
{
    struct sink_journal *s = calloc(1, sizeof(*s));
    if (!s)
        return perr_set(err, -ENOMEM, "out of memory");
    s->loop = loop;
    s->send = send;
    s->work.data = s;
    *ret = s;
    return 0;
}

static void journal_work(uv_work_t *w)
{
    struct sink_journal *s = w->data;
    s->result = sink_journal_send(s->send, s->fields, &s->err);
}

static void journal_after(uv_work_t *w, int status)
{
    struct sink_journal *s = w->data;
    struct dispatch_call *call = s->call;
    struct dispatch_result res = { .status = DISPATCH_DELIVERED };

    s->call = NULL;
    s->fields = strv_free(s->fields);
    if (status == UV_ECANCELED) {
        res.status = DISPATCH_CANCELED;
    } else if (s->result < 0) {
        res.status = DISPATCH_RETRY;
        snprintf(res.error, sizeof(res.error), "%s", s->err.msg);
    }
    dispatch_call_done(call, &res);
}

static int journal_send(void *sink, struct dispatch_call *call, struct perr *err)
{
    struct sink_journal *s = sink;
    int r;
    if (s->call)
        return perr_set(err, -EBUSY, "journal: one entry at a time");
    r = sink_journal_fields(dispatch_call_event(call), &s->fields, err);
    if (r < 0)
        return r;
    s->call = call;
    perr_clear(&s->err);
    r = uv_queue_work(s->loop, &s->work, journal_work, journal_after);
    if (r < 0) {
        s->call = NULL;
        s->fields = strv_free(s->fields);
        return perr_set(err, -EIO, "journal: %s", uv_strerror(r));
    }
    return 0;
}

static void journal_cancel(void *sink, struct dispatch_call *call)
{
    struct sink_journal *s = sink;
    /* Only a send that has not started can be cancelled; a running one
     * reports its real outcome. */
    if (s->call == call)
        uv_cancel((uv_req_t *)&s->work);
}

static void journal_close(void *sink, void (*closed)(void *ud), void *ud)
{
    struct sink_journal *s = sink;
    strv_free(s->fields);
    free(s);
    if (closed)
        closed(ud);
}

const struct dispatch_sink_ops sink_journal_ops = {
    .send = journal_send,
    .cancel = journal_cancel,
    .close = journal_close,
};
