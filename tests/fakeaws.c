#include "fakeaws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "typemap.h"
#include "util.h"

struct fake_queued {
    struct fake_queued *next;
    const struct fake_reply *reply;
    bool all_pages;
    aws_page_cb page_cb;
    aws_done_cb done_cb;
    void *ud;
};

json_t *fake_load(const char *rel)
{
    char *sub = str_printf("tests/data/responses/%s", rel);
    char *path = tu_srcpath(sub);
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    ck_assert_msg(v != NULL, "%s: %s (line %d)", path, jerr.text, jerr.line);
    free(sub);
    free(path);
    return v;
}

static json_t *load_page(const char *page)
{
    json_error_t jerr;
    json_t *v;
    if (page[0] != '{')
        return fake_load(page);
    v = json_loads(page, 0, &jerr);
    ck_assert_msg(v != NULL, "inline page: %s", jerr.text);
    return v;
}

static void serve(uv_idle_t *h)
{
    struct fake_run *fr = h->data;
    struct fake_queued *c = fr->head;
    if (!c) {
        uv_idle_stop(h);
        return;
    }
    fr->head = c->next;
    if (!fr->head)
        fr->tail = NULL;
    /* Answered from here on: the caller may issue its next call. */
    fr->pending--;
    if (c->reply->error) {
        struct aws_error e = { .kind = c->reply->kind,
                               .http_status = c->reply->kind == AWS_ERR_THROTTLED ? 429 : 400,
                               .code = c->reply->error,
                               .message = "fake failure",
                               .iam_action = c->reply->iam_action };
        c->done_cb(-EIO, &e, c->ud);
    } else {
        int r = 0;
        size_t n = c->all_pages ? 4 : 1;
        for (size_t i = 0; r == 0 && i < n && c->reply->pages[i]; i++) {
            json_t *o = load_page(c->reply->pages[i]);
            struct aws_page p = { o, i };
            r = c->page_cb(&p, c->ud);
            json_decref(o);
        }
        c->done_cb(r, NULL, c->ud);
    }
    free(c);
    fr->served++;
    if (fr->cancel_after > 0 && fr->served == fr->cancel_after && !fr->done)
        collect_cancel(fr->run);
}

static bool params_match(const char *want_text, const json_t *params)
{
    json_t *want;
    const char *k;
    json_t *v;
    bool ok = true;
    if (!want_text)
        return true;
    want = json_loads(want_text, 0, NULL);
    ck_assert_msg(json_is_object(want), "bad params matcher %s", want_text);
    json_object_foreach (want, k, v) {
        if (!json_equal(v, json_object_get(params, k))) {
            ok = false;
            break;
        }
    }
    json_decref(want);
    return ok;
}

static int fake_call(void *t, const struct aws_request *req, aws_page_cb page_cb,
                     aws_done_cb done_cb, void *ud, struct perr *err)
{
    struct fake_run *fr = t;
    struct fake_call_rec *rec;
    ck_assert_int_lt(fr->n_calls, (int)(sizeof(fr->calls) / sizeof(fr->calls[0])));
    rec = &fr->calls[fr->n_calls++];
    snprintf(rec->op, sizeof(rec->op), "%s", req->operation);
    snprintf(rec->region, sizeof(rec->region), "%s", req->region);
    rec->params = req->params ? json_deep_copy(req->params) : NULL;
    rec->all_pages = req->flags & AWS_CALL_ALL_PAGES;
    for (const struct fake_reply *r = fr->replies; r->op; r++) {
        struct fake_queued *c;
        if (!str_eq(r->op, req->operation) || !params_match(r->params, req->params))
            continue;
        c = calloc(1, sizeof(*c));
        ck_assert_ptr_nonnull(c);
        c->reply = r;
        c->all_pages = rec->all_pages;
        c->page_cb = page_cb;
        c->done_cb = done_cb;
        c->ud = ud;
        if (fr->tail)
            fr->tail->next = c;
        else
            fr->head = c;
        fr->tail = c;
        if (++fr->pending > fr->max_pending)
            fr->max_pending = fr->pending;
        uv_idle_start(&fr->idle, serve);
        return 0;
    }
    fr->unmatched++;
    return perr_set(err, -ENOENT, "no fake reply for %s", req->operation);
}

static void on_done(struct collect_run *run, const struct collect_result *res, void *ud)
{
    struct fake_run *fr = ud;
    ck_assert(!fr->done);
    fr->done = true;
    fr->res = res;
    fr->run = run;
}

void fake_collect(struct fake_run *fr, const struct collector_def *def,
                  const struct fake_reply *replies, const char *region, const char *const *regions)
{
    struct collect_transport t = { fake_call, fr };
    struct collect_options opts = { .transport = &t,
                                    .partition = "aws",
                                    .account = "111111111111",
                                    .region = region,
                                    .regions = regions,
                                    .max_in_flight = 2,
                                    .now_ms = 1000 };
    struct perr err = { 0 };
    struct collect_run *run = NULL;
    int cancel_after = fr->cancel_after;
    memset(fr, 0, sizeof(*fr));
    fr->cancel_after = cancel_after;
    fr->replies = replies;
    ck_assert_int_eq(uv_loop_init(&fr->loop), 0);
    ck_assert_int_eq(uv_idle_init(&fr->loop, &fr->idle), 0);
    fr->idle.data = fr;
    ck_assert_int_eq(collect_start(def, &opts, on_done, fr, &run, &err), 0);
    fr->run = run;
    uv_run(&fr->loop, UV_RUN_DEFAULT);
    ck_assert_msg(fr->done, "collector %s never finished", def->name);
}

void fake_end(struct fake_run *fr)
{
    collect_run_free(fr->run);
    fr->run = NULL;
    for (int i = 0; i < fr->n_calls; i++)
        json_decref(fr->calls[i].params);
    uv_close((uv_handle_t *)&fr->idle, NULL);
    uv_run(&fr->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&fr->loop), 0);
}

const struct resource *fake_find(const struct fake_run *fr, const char *type, const char *id)
{
    for (size_t i = 0; i < fr->res->resources.n; i++) {
        const struct resource *r = fr->res->resources.items[i];
        if (str_eq(r->type, type) && str_eq(r->id, id))
            return r;
    }
    return NULL;
}

size_t fake_count(const struct fake_run *fr, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < fr->res->resources.n; i++)
        if (str_eq(fr->res->resources.items[i]->type, type))
            n++;
    return n;
}

const struct snapshot_scope *fake_scope(const struct fake_run *fr, const char *type,
                                        const char *region)
{
    for (size_t i = 0; i < fr->res->n_scopes; i++)
        if (str_eq(fr->res->scopes[i].type, type) &&
            (!region || str_eq(fr->res->scopes[i].region, region)))
            return &fr->res->scopes[i];
    ck_abort_msg("no scope for %s", type);
    return NULL;
}

const struct fake_call_rec *fake_call_at(const struct fake_run *fr, const char *op, int n)
{
    int seen = 0;
    for (int i = 0; i < fr->n_calls; i++)
        if (str_eq(fr->calls[i].op, op) && seen++ == n)
            return &fr->calls[i];
    ck_abort_msg("no call %d of %s (%d made)", n, op, seen);
    return NULL;
}

int fake_calls(const struct fake_run *fr, const char *op)
{
    int n = 0;
    for (int i = 0; i < fr->n_calls; i++)
        if (str_eq(fr->calls[i].op, op))
            n++;
    return n;
}

const json_t *fake_call_params(const struct fake_run *fr, const char *op, int n)
{
    return fake_call_at(fr, op, n)->params;
}

const json_t *fake_attr(const struct resource *r, const char *path)
{
    const json_t *v = r->attrs;
    char name[128];
    while (v && *path) {
        size_t n = 0;
        while (*path && *path != '.' && *path != '[' && n + 1 < sizeof(name))
            name[n++] = *path++;
        name[n] = '\0';
        if (n)
            v = json_object_get(v, name);
        if (*path == '[') {
            char *end;
            long idx = strtol(path + 1, &end, 10);
            ck_assert_msg(*end == ']', "bad path");
            v = json_array_get(v, (size_t)idx);
            path = end + 1;
        }
        if (*path == '.')
            path++;
    }
    return v;
}

const char *fake_str(const struct resource *r, const char *path)
{
    return json_string_value(fake_attr(r, path));
}

/* ---- type-table consistency ---- */

/* Every value a type-table member path reaches ("A[].B", "M{}", "" the
 * value itself); paths with a ["key"] selection are not followed. */
static void tm_walk(const json_t *v, const char *path, json_t *out)
{
    char name[128];
    size_t n = 0;
    if (!v)
        return;
    if (!*path) {
        json_array_append(out, (json_t *)v);
        return;
    }
    while (*path && *path != '.' && *path != '[' && *path != '{' && n + 1 < sizeof(name))
        name[n++] = *path++;
    name[n] = '\0';
    if (n)
        v = json_object_get(v, name);
    if (!v)
        return;
    if (str_has_prefix(path, "[]") || str_has_prefix(path, "{}")) {
        bool list = path[0] == '[';
        size_t i;
        const char *k;
        json_t *e;
        path += 2;
        if (*path == '.')
            path++;
        if (list) {
            json_array_foreach (v, i, e)
                tm_walk(e, path, out);
        } else {
            json_object_foreach ((json_t *)v, k, e)
                tm_walk(e, path, out);
        }
        return;
    }
    if (*path == '[')
        return;
    if (*path == '.')
        path++;
    tm_walk(v, path, out);
}

static bool in_list(const char *s, const char *const *l)
{
    for (size_t i = 0; l && l[i]; i++)
        if (str_eq(s, l[i]))
            return true;
    return false;
}

static bool source_called(const struct typemap_attr *a, const json_t *outputs)
{
    for (size_t i = 0; i < a->n_sources; i++)
        if (json_object_get(outputs, a->sources[i].op))
            return true;
    return false;
}

static void check_block(const char *where, const struct typemap_attr *a, const json_t *v)
{
    const json_t *el;
    ck_assert_msg(v && !json_is_null(v), "%s.%s: absent or null", where, a->name);
    if (a->n_attrs == 0)
        return;
    ck_assert_msg(json_is_array(v) && json_array_size(v) > 0, "%s.%s: empty block", where, a->name);
    el = json_array_get(v, 0);
    for (size_t i = 0; i < a->n_attrs; i++) {
        const struct typemap_attr *na = &a->attrs[i];
        char *w = str_printf("%s.%s[0]", where, a->name);
        check_block(w, na, json_object_get(el, na->name));
        free(w);
    }
}

void fake_check_typemap(const struct resource *r, const json_t *outputs, const char *const *derived)
{
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    const struct typemap_type *t;
    int checked = 0;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    t = typemap_find(tm, r->type);
    ck_assert_msg(t != NULL, "%s is not in the type table", r->type);
    for (size_t i = 0; i < t->n_attrs; i++) {
        const struct typemap_attr *a = &t->attrs[i];
        const json_t *v;
        if (a->n_sources == 0 || !source_called(a, outputs))
            continue;
        checked++;
        if (a->in_tags) {
            ck_assert_msg(json_object_size(r->tags) > 0, "%s %s: no tags", r->type, r->id);
            continue;
        }
        v = json_object_get(r->attrs, a->name);
        check_block(r->type, a, v);
        if (a->n_attrs == 0 && !json_is_array(v) && !json_is_object(v) &&
            !in_list(a->name, derived)) {
            bool found = false;
            for (size_t s = 0; s < a->n_sources && !found; s++) {
                const json_t *out = json_object_get(outputs, a->sources[s].op);
                json_t *leaves = json_array();
                size_t k;
                json_t *leaf;
                tm_walk(out, a->sources[s].path, leaves);
                json_array_foreach (leaves, k, leaf)
                    if (json_equal(leaf, (json_t *)v))
                        found = true;
                json_decref(leaves);
            }
            ck_assert_msg(found, "%s.%s: value not found at the type table's path", r->type,
                          a->name);
        }
    }
    ck_assert_msg(checked > 0, "%s: no attribute comes from the operations given", r->type);
    typemap_free(tm);
}
