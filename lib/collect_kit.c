#include "collect_kit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DEFAULT_IN_FLIGHT 4

/* ---- field tables ---- */

const json_t *ck_get(const json_t *item, const char *path)
{
    char name[128];
    const json_t *v = item;
    if (!path)
        return item;
    while (v && *path) {
        size_t n = 0;
        while (*path && *path != '.') {
            if (n + 1 >= sizeof(name))
                return NULL;
            name[n++] = *path++;
        }
        name[n] = '\0';
        if (*path == '.')
            path++;
        v = json_object_get(v, name);
    }
    return v;
}

const char *ck_str(const json_t *item, const char *path)
{
    return json_string_value(ck_get(item, path));
}

int ck_set(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return -ENOMEM;
    return json_object_set_new(obj, key, value) == 0 ? 0 : -ENOMEM;
}

int ck_set_str(json_t *obj, const char *key, const char *s)
{
    return ck_set(obj, key, s ? json_string(s) : json_null());
}

static json_t *copy_or(const json_t *v, json_t *dflt)
{
    if (!v || json_is_null(v))
        return dflt;
    json_decref(dflt);
    return json_deep_copy(v);
}

static json_t *list_of(const json_t *item, const char *path)
{
    json_t *found, *out;
    if (!path)
        return json_array();
    found = collect_items(item, path);
    if (!found)
        return NULL;
    out = json_deep_copy(found);
    json_decref(found);
    return out;
}

static bool present(const json_t *v)
{
    if (!v || json_is_null(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return true;
}

static json_t *field_value(const json_t *item, const struct ck_field *f)
{
    const json_t *v;
    if (f->how == CK_LIST)
        return list_of(item, f->path);
    v = ck_get(item, f->path);
    switch (f->how) {
    case CK_COPY: return copy_or(v, json_null());
    case CK_OR_EMPTY: return copy_or(v, json_string(""));
    case CK_OR_ZERO: return copy_or(v, json_integer(0));
    case CK_OR_FALSE: return copy_or(v, json_false());
    case CK_PRESENT: return json_boolean(present(v));
    case CK_STRBOOL:
        if (json_is_boolean(v))
            return json_string(json_is_true(v) ? "true" : "false");
        return json_string("");
    case CK_TAGMAP: return v ? collect_tags_from_list(v) : json_object();
    case CK_CONV: return f->conv(v);
    case CK_BLOCK: {
        json_t *arr = json_array();
        json_t *o;
        if (!arr || !json_is_object(v))
            return arr;
        o = ck_object(v, f->nested);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
        return arr;
    }
    case CK_BLOCKS: {
        json_t *arr = json_array();
        size_t i;
        json_t *e;
        if (!arr || !json_is_array(v))
            return arr;
        json_array_foreach (v, i, e) {
            json_t *o = ck_object(e, f->nested);
            if (!o || json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    case CK_LIST: break;
    }
    return NULL;
}

int ck_map(json_t *obj, const json_t *item, const struct ck_field *fields)
{
    for (const struct ck_field *f = fields; f && f->attr; f++)
        if (ck_set(obj, f->attr, field_value(item, f)) < 0)
            return -ENOMEM;
    return 0;
}

json_t *ck_object(const json_t *item, const struct ck_field *fields)
{
    json_t *o = json_object();
    if (o && ck_map(o, item, fields) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ck_conv_last_segment(const json_t *value)
{
    const char *s = json_string_value(value), *slash;
    if (!s)
        return json_null();
    slash = strrchr(s, '/');
    return json_string(slash ? slash + 1 : s);
}

json_t *ck_conv_first(const json_t *value)
{
    const json_t *first = json_array_get(value, 0);
    return first ? json_deep_copy(first) : json_null();
}

json_t *ck_conv_bool_text(const json_t *value)
{
    const char *s = json_string_value(value);
    if (json_is_boolean(value))
        return json_copy((json_t *)value);
    if (s && str_eq_ci(s, "true"))
        return json_true();
    if (s && str_eq_ci(s, "false"))
        return json_false();
    return json_null();
}

json_t *ck_conv_int_text(const json_t *value)
{
    const char *s = json_string_value(value);
    int64_t n;
    if (json_is_integer(value))
        return json_copy((json_t *)value);
    if (s && parse_int64(s, &n) == 0)
        return json_integer(n);
    return json_null();
}

json_t *ck_conv_csv_list(const json_t *value)
{
    const char *s = json_string_value(value);
    json_t *arr = json_array();
    if (!arr || !s)
        return arr;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        char *part = str_ndup(s, n);
        if (!part) {
            json_decref(arr);
            return NULL;
        }
        str_trim(part);
        if (*part && json_array_append_new(arr, json_string(part)) < 0) {
            free(part);
            json_decref(arr);
            return NULL;
        }
        free(part);
        s += n;
        if (*s == ',')
            s++;
    }
    return arr;
}

json_t *ck_conv_object(const json_t *value)
{
    return json_is_object(value) ? json_deep_copy(value) : json_object();
}

int ck_unknown1(struct resource *r, const char *attr, enum collect_status status,
                const char *detail)
{
    if (str_eq(attr, "tags"))
        json_object_clear(r->tags);
    else
        json_object_del(r->attrs, attr);
    return resource_mark_unknown(r, attr, status, detail);
}

int ck_unknown(struct resource *r, const char *const *attrs, enum collect_status status,
               const char *detail)
{
    for (size_t i = 0; attrs && attrs[i]; i++)
        if (ck_unknown1(r, attrs[i], status, detail) < 0)
            return -ENOMEM;
    return 0;
}

int ck_resource(struct collect_run *run, const char *type, const char *aws_type, const char *id,
                const char *arn, bool with_arn_attr, struct resource **ret)
{
    struct resource *r = NULL;
    int e = collect_new_resource(run, type, aws_type, id, &r);
    if (e < 0)
        return e;
    if (arn && str_replace(&r->arn, arn) < 0)
        goto oom;
    if (with_arn_attr && ck_set_str(r->attrs, "arn", arn) < 0)
        goto oom;
    *ret = r;
    return 0;
oom:
    resource_free(r);
    return -ENOMEM;
}

int ck_add(struct collect_run *run, struct resource *r)
{
    if (collect_add(run, r) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    return 0;
}

char *ck_error_detail(int result, const struct aws_error *err)
{
    if (err && err->kind == AWS_ERR_ACCESS_DENIED && err->iam_action)
        return strdup(err->iam_action);
    if (err && err->code)
        return str_printf("%s%s%s", err->code, err->message ? ": " : "",
                          err->message ? err->message : "");
    return str_printf("%s", strerror(result < 0 ? -result : EIO));
}

/* ---- the call queue ---- */

struct ck_job {
    struct ck_job *next;
    struct ck *ck;
    char *service;
    char *operation;
    json_t *params;
    char *items_path;
    bool all_pages;
    const char *const *absent_codes;
    ck_reply_fn reply;
    void *ud;
    json_t *items;
    json_t *last;
};

struct ck {
    struct collect_run *run;
    struct ck_job *head, *tail;
    unsigned in_flight;
    unsigned max;
    bool running;
    bool pumping;
    ck_idle_fn idle;
    void *idle_ud;
};

static void job_free(struct ck_job *j)
{
    if (!j)
        return;
    free(j->service);
    free(j->operation);
    json_decref(j->params);
    free(j->items_path);
    json_decref(j->items);
    json_decref(j->last);
    free(j);
}

int ck_new(struct collect_run *run, struct ck **ret)
{
    struct ck *ck = calloc(1, sizeof(*ck));
    const struct collect_options *o = collect_options(run);
    if (!ck)
        return -ENOMEM;
    ck->run = run;
    ck->max = o->max_in_flight ? o->max_in_flight : DEFAULT_IN_FLIGHT;
    *ret = ck;
    return 0;
}

void ck_free(struct ck *ck)
{
    if (!ck)
        return;
    while (ck->head) {
        struct ck_job *j = ck->head;
        ck->head = j->next;
        job_free(j);
    }
    free(ck);
}

struct collect_run *ck_collect_run(const struct ck *ck)
{
    return ck->run;
}

int ck_call(struct ck *ck, const struct ck_request *req, ck_reply_fn reply, void *userdata)
{
    struct ck_job *j = calloc(1, sizeof(*j));
    if (!j) {
        json_decref(req->params);
        return -ENOMEM;
    }
    j->ck = ck;
    j->params = req->params;
    j->all_pages = req->all_pages;
    j->absent_codes = req->absent_codes;
    j->reply = reply;
    j->ud = userdata;
    j->operation = strdup(req->operation);
    j->service = req->service ? strdup(req->service) : NULL;
    j->items_path = req->items ? strdup(req->items) : NULL;
    j->items = json_array();
    if (!j->operation || (req->service && !j->service) || (req->items && !j->items_path) ||
        !j->items) {
        job_free(j);
        return -ENOMEM;
    }
    if (ck->tail)
        ck->tail->next = j;
    else
        ck->head = j;
    ck->tail = j;
    return 0;
}

static bool code_in(const char *code, const char *const *codes)
{
    for (size_t i = 0; code && codes && codes[i]; i++)
        if (str_eq(code, codes[i]))
            return true;
    return false;
}

static void deliver(struct ck_job *j, int result, const struct aws_error *err)
{
    struct ck_reply rep = { .result = result, .items = j->items, .output = j->last };
    char *detail = NULL;
    if (result < 0 && err && code_in(err->code, j->absent_codes)) {
        rep.result = 0;
        rep.absent = true;
        rep.output = NULL;
        json_array_clear(j->items);
    } else if (result < 0) {
        rep.status = result == -ECANCELED ? COLLECT_ERROR : collect_status_of(err);
        detail = result == -ECANCELED ? strdup("cancelled") : ck_error_detail(result, err);
        rep.detail = detail ? detail : "out of memory";
        rep.output = NULL;
    }
    j->reply(j->ck, &rep, j->ud);
    free(detail);
}

static int on_page(const struct aws_page *page, void *ud)
{
    struct ck_job *j = ud;
    json_decref(j->last);
    j->last = json_incref((json_t *)page->output);
    if (j->items_path) {
        json_t *found = collect_items(page->output, j->items_path);
        if (!found || json_array_extend(j->items, found) < 0) {
            json_decref(found);
            return -ENOMEM;
        }
        json_decref(found);
    }
    return 0;
}

static void pump(struct ck *ck);

static void on_done(struct collect_run *run, int result, const json_t *output,
                    const struct aws_error *err, void *ud)
{
    struct ck_job *j = ud;
    struct ck *ck = j->ck;
    (void)run;
    (void)output;
    ck->in_flight--;
    deliver(j, result, err);
    job_free(j);
    pump(ck);
}

static void pump(struct ck *ck)
{
    if (ck->pumping)
        return;
    ck->pumping = true;
    for (;;) {
        while (ck->head && ck->in_flight < ck->max) {
            struct ck_job *j = ck->head;
            int r;
            ck->head = j->next;
            if (!ck->head)
                ck->tail = NULL;
            j->next = NULL;
            /* in_flight first: a transport may complete synchronously. */
            ck->in_flight++;
            r = collect_call(ck->run, j->service, j->operation, j->params, j->all_pages, on_page,
                             on_done, j);
            if (r < 0) {
                ck->in_flight--;
                deliver(j, r, NULL);
                job_free(j);
            }
        }
        if (ck->head || ck->in_flight > 0 || !ck->running)
            break;
        if (ck->idle(ck, ck->idle_ud))
            continue;
        /* Finished: nothing may touch ck after this. */
        {
            struct collect_run *run = ck->run;
            ck_free(ck);
            collect_custom_done(run);
        }
        return;
    }
    ck->pumping = false;
}

void ck_run(struct ck *ck, ck_idle_fn idle, void *userdata)
{
    ck->idle = idle;
    ck->idle_ud = userdata;
    ck->running = true;
    pump(ck);
}

/* ---- slots ---- */

void ck_slot_init(struct ck_slot *s)
{
    memset(s, 0, sizeof(*s));
}

void ck_slot_clear(struct ck_slot *s)
{
    free(s->detail);
    json_decref(s->items);
    json_decref(s->output);
    ck_slot_init(s);
}

static void slot_reply(struct ck *ck, const struct ck_reply *rep, void *ud)
{
    struct ck_slot *s = ud;
    (void)ck;
    if (s->failed)
        return;
    if (rep->result < 0) {
        s->failed = true;
        s->status = rep->status;
        s->detail = strdup(rep->detail);
        return;
    }
    if (rep->absent)
        s->absent = true;
    if (json_array_extend(s->items, rep->items) < 0) {
        s->failed = true;
        s->status = COLLECT_ERROR;
        s->detail = strdup("out of memory");
        return;
    }
    if (rep->output) {
        json_decref(s->output);
        s->output = json_incref((json_t *)rep->output);
    }
}

int ck_call_slot(struct ck *ck, const struct ck_request *req, struct ck_slot *slot)
{
    int r;
    if (!slot->items) {
        slot->items = json_array();
        if (!slot->items) {
            json_decref(req->params);
            return -ENOMEM;
        }
    }
    r = ck_call(ck, req, slot_reply, slot);
    if (r == 0)
        slot->calls++;
    return r;
}

bool ck_slot_ok(const struct ck_slot *s)
{
    return s->calls > 0 && !s->failed;
}
