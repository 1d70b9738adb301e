#include "fakeaws_rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awsmodel.h"
#include "testutil.h"
#include "util.h"

struct fakeaws_pending {
    struct fakeaws_pending *next;
    struct fakeaws *f;
    size_t call; /* index into f->calls */
    const struct fakeaws_rule *rule;
    aws_page_cb page_cb;
    aws_done_cb done_cb;
    void *ud;
};

/* ---- page specs ---- */

/* Placebo stores datetimes as {"__class__": "datetime", "year": ...}. */
static json_t *placebo_datetime(const json_t *o)
{
    char text[64];
    char buf[AWS_TS_BUFSZ];
    int64_t ms;
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             (int)json_integer_value(json_object_get(o, "year")),
             (int)json_integer_value(json_object_get(o, "month")),
             (int)json_integer_value(json_object_get(o, "day")),
             (int)json_integer_value(json_object_get(o, "hour")),
             (int)json_integer_value(json_object_get(o, "minute")),
             (int)json_integer_value(json_object_get(o, "second")),
             (int)(json_integer_value(json_object_get(o, "microsecond")) / 1000));
    ck_assert_int_eq(aws_ts_parse(text, &ms), 0);
    aws_ts_format(ms, buf);
    return json_string(buf);
}

static json_t *placebo_convert(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *out;
        const char *k;
        json_t *m;
        if (str_eq(json_string_value(json_object_get(v, "__class__")), "datetime"))
            return placebo_datetime(v);
        out = json_object();
        json_object_foreach ((json_t *)v, k, m) {
            if (str_eq(k, "ResponseMetadata"))
                continue;
            json_object_set_new(out, k, placebo_convert(m));
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach (v, i, m)
            json_array_append_new(out, placebo_convert(m));
        return out;
    }
    return json_deep_copy(v);
}

static json_t *load_path(const char *path)
{
    json_error_t e;
    json_t *v = json_load_file(path, 0, &e);
    ck_assert_msg(v != NULL, "%s: %s (line %d)", path, e.text, e.line);
    return v;
}

json_t *fakeaws_load(const char *spec)
{
    if (str_has_prefix(spec, "file:")) {
        char *rel = str_printf("tests/data/responses/%s", spec + 5);
        char *path = tu_srcpath(rel);
        json_t *v = load_path(path);
        free(rel);
        free(path);
        return v;
    }
    if (str_has_prefix(spec, "fixture:")) {
        char *rel = str_printf("aws-responses/cloud-custodian-placebo/%s", spec + 8);
        char *path = tu_fixture(rel);
        json_t *doc = load_path(path);
        json_t *data = json_object_get(doc, "data");
        json_t *v;
        ck_assert_msg(json_is_object(data), "%s: no data", path);
        v = placebo_convert(data);
        json_decref(doc);
        free(rel);
        free(path);
        return v;
    }
    {
        json_error_t e;
        json_t *v = json_loads(spec, 0, &e);
        ck_assert_msg(v != NULL, "bad inline page %s: %s", spec, e.text);
        return v;
    }
}

/* ---- the transport ---- */

static bool param_matches(const json_t *params, const char *match)
{
    char name[128];
    const char *eq;
    const json_t *v;
    if (!match)
        return true;
    eq = strchr(match, '=');
    ck_assert_msg(eq && (size_t)(eq - match) < sizeof(name), "bad match %s", match);
    memcpy(name, match, (size_t)(eq - match));
    name[eq - match] = '\0';
    eq++;
    v = json_object_get(params, name);
    if (json_is_string(v))
        return str_eq(json_string_value(v), eq);
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e)
            if (str_eq(json_string_value(e), eq))
                return true;
        return false;
    }
    if (v) {
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        bool same = str_eq(text, eq);
        free(text);
        return same;
    }
    return false;
}

static void serve(uv_idle_t *h)
{
    struct fakeaws *f = h->data;
    struct fakeaws_pending *c = f->head;
    if (!c) {
        uv_idle_stop(h);
        return;
    }
    f->head = c->next;
    if (!f->head)
        f->tail = NULL;
    f->calls[c->call].served = ++f->clock;
    if (c->rule->error_code) {
        struct aws_error e = { .kind = c->rule->kind,
                               .http_status = c->rule->kind == AWS_ERR_THROTTLED ? 429 : 400,
                               .code = c->rule->error_code,
                               .message = "fake error",
                               .request_id = "fake",
                               .iam_action = c->rule->iam_action };
        c->done_cb(-EIO, &e, c->ud);
    } else {
        int r = 0;
        for (size_t i = 0; r == 0 && i < FAKEAWS_MAX_PAGES && c->rule->pages[i]; i++) {
            json_t *o = fakeaws_load(c->rule->pages[i]);
            struct aws_page p = { o, i };
            r = c->page_cb(&p, c->ud);
            json_decref(o);
        }
        c->done_cb(r, NULL, c->ud);
    }
    free(c);
}

static int fake_call(void *t, const struct aws_request *req, aws_page_cb page_cb,
                     aws_done_cb done_cb, void *ud, struct perr *err)
{
    struct fakeaws *f = t;
    struct fakeaws_call *nc = realloc(f->calls, (f->n_calls + 1) * sizeof(*nc));
    struct fakeaws_call *call;
    ck_assert_ptr_nonnull(nc);
    f->calls = nc;
    call = &f->calls[f->n_calls++];
    call->service = strdup(req->service);
    call->operation = strdup(req->operation);
    call->region = strdup(req->region ? req->region : "");
    call->params = req->params ? json_deep_copy(req->params) : json_object();
    call->matched = false;
    call->issued = ++f->clock;
    call->served = 0;
    for (size_t i = 0; f->rules[i].operation; i++) {
        const struct fakeaws_rule *r = &f->rules[i];
        struct fakeaws_pending *p;
        if (!str_eq(r->operation, req->operation) || !param_matches(req->params, r->match))
            continue;
        if (r->region && !str_eq(r->region, req->region))
            continue;
        if (r->max_uses && f->uses[i] >= r->max_uses)
            continue;
        f->uses[i]++;
        call->matched = true;
        p = calloc(1, sizeof(*p));
        ck_assert_ptr_nonnull(p);
        p->f = f;
        p->call = f->n_calls - 1;
        p->rule = r;
        p->page_cb = page_cb;
        p->done_cb = done_cb;
        p->ud = ud;
        if (f->tail)
            f->tail->next = p;
        else
            f->head = p;
        f->tail = p;
        uv_idle_start(&f->idle, serve);
        return 0;
    }
    f->n_unmatched++;
    call->served = call->issued; /* refused at once */
    return perr_set(err, -ENOENT, "no fake reply for %s %s", req->service, req->operation);
}

void fakeaws_init(struct fakeaws *f, const struct fakeaws_rule *rules)
{
    size_t n = 0;
    memset(f, 0, sizeof(*f));
    f->rules = rules;
    while (rules[n].operation)
        n++;
    f->uses = calloc(n + 1, sizeof(*f->uses));
    ck_assert_ptr_nonnull(f->uses);
    ck_assert_int_eq(uv_loop_init(&f->loop), 0);
    ck_assert_int_eq(uv_idle_init(&f->loop, &f->idle), 0);
    f->idle.data = f;
}

void fakeaws_free(struct fakeaws *f)
{
    uv_close((uv_handle_t *)&f->idle, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&f->loop), 0);
    for (size_t i = 0; i < f->n_calls; i++) {
        free(f->calls[i].service);
        free(f->calls[i].operation);
        free(f->calls[i].region);
        json_decref(f->calls[i].params);
    }
    free(f->calls);
    free(f->uses);
}

struct collect_transport fakeaws_transport(struct fakeaws *f)
{
    return (struct collect_transport){ fake_call, f };
}

size_t fakeaws_count(const struct fakeaws *f, const char *operation, const char *match)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_calls; i++)
        if (str_eq(f->calls[i].operation, operation) && param_matches(f->calls[i].params, match))
            n++;
    return n;
}

const struct fakeaws_call *fakeaws_find(const struct fakeaws *f, const char *operation,
                                        const char *match)
{
    for (size_t i = 0; i < f->n_calls; i++)
        if (str_eq(f->calls[i].operation, operation) && param_matches(f->calls[i].params, match))
            return &f->calls[i];
    return NULL;
}

static bool op_in(const char *op, const char *const *ops)
{
    for (size_t i = 0; ops[i]; i++)
        if (str_eq(op, ops[i]))
            return true;
    return false;
}

size_t fakeaws_max_in_flight(const struct fakeaws *f, const char *const *operations)
{
    size_t max = 0;
    /* At each call's start, count the calls of the set started and not yet
     * answered. */
    for (size_t i = 0; i < f->n_calls; i++) {
        size_t n = 0;
        if (!op_in(f->calls[i].operation, operations))
            continue;
        for (size_t j = 0; j < f->n_calls; j++)
            if (op_in(f->calls[j].operation, operations) &&
                f->calls[j].issued <= f->calls[i].issued &&
                (f->calls[j].served == 0 || f->calls[j].served > f->calls[i].issued))
                n++;
        if (n > max)
            max = n;
    }
    return max;
}

/* ---- running a collector ---- */

static void on_done(struct collect_run *run, const struct collect_result *res, void *ud)
{
    struct fakeaws_result *out = ud;
    out->run = run;
    out->res = res;
}

void fakeaws_collect(struct fakeaws *f, const struct collector_def *def, const char *region,
                     const char *const *regions, struct fakeaws_result *out)
{
    struct collect_transport t = fakeaws_transport(f);
    struct collect_options opts = { .transport = &t,
                                    .partition = "aws",
                                    .account = f->account ? f->account : "123456789012",
                                    .region = region,
                                    .regions = regions,
                                    .max_in_flight = 3,
                                    .now_ms = 1700000000000 };
    struct collect_run *run = NULL;
    struct perr err = { 0 };
    memset(out, 0, sizeof(*out));
    ck_assert_msg(collect_start(def, &opts, on_done, out, &run, &err) == 0, "collect_start: %s",
                  err.msg);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ck_assert_msg(out->res != NULL, "the run never finished");
    ck_assert_ptr_eq(out->run, run);
}

void fakeaws_result_free(struct fakeaws_result *out)
{
    collect_run_free(out->run);
    memset(out, 0, sizeof(*out));
}

const struct resource *fakeaws_resource(const struct collect_result *res, const char *type,
                                        const char *id)
{
    for (size_t i = 0; i < res->resources.n; i++)
        if (str_eq(res->resources.items[i]->type, type) && str_eq(res->resources.items[i]->id, id))
            return res->resources.items[i];
    return NULL;
}

size_t fakeaws_count_type(const struct collect_result *res, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < res->resources.n; i++)
        if (str_eq(res->resources.items[i]->type, type))
            n++;
    return n;
}

const struct snapshot_scope *fakeaws_scope(const struct collect_result *res, const char *region,
                                           const char *type)
{
    for (size_t i = 0; i < res->n_scopes; i++)
        if (str_eq(res->scopes[i].type, type) && str_eq(res->scopes[i].region, region))
            return &res->scopes[i];
    ck_abort_msg("no scope for %s in %s", type, region);
    return NULL;
}

/* ---- the type table check ---- */

static bool from_ops(const struct typemap_attr *a, const char *const *ops)
{
    for (size_t i = 0; i < a->n_sources; i++)
        for (size_t j = 0; ops[j]; j++)
            if (str_eq(a->sources[i].op, ops[j]))
                return true;
    return false;
}

static void add_missing(char **acc, const char *prefix, const char *name)
{
    char *n = str_printf("%s%s%s%s", *acc ? *acc : "", *acc ? ", " : "", prefix, name);
    ck_assert_ptr_nonnull(n);
    free(*acc);
    *acc = n;
}

static void check_attrs(const struct typemap_attr *attrs, size_t n, const json_t *obj,
                        const char *prefix, const char *const *ops, char **acc)
{
    for (size_t i = 0; i < n; i++) {
        const struct typemap_attr *a = &attrs[i];
        const json_t *v;
        if (a->in_tags || !from_ops(a, ops))
            continue;
        v = json_object_get(obj, a->name);
        if (!v) {
            add_missing(acc, prefix, a->name);
            continue;
        }
        if (a->n_attrs == 0)
            continue;
        if (json_is_array(v)) {
            size_t j;
            json_t *e;
            json_array_foreach (v, j, e) {
                char *p = str_printf("%s%s[%zu].", prefix, a->name, j);
                check_attrs(a->attrs, a->n_attrs, e, p, ops, acc);
                free(p);
            }
        } else if (json_is_object(v)) {
            char *p = str_printf("%s%s.", prefix, a->name);
            check_attrs(a->attrs, a->n_attrs, v, p, ops, acc);
            free(p);
        }
    }
}

char *fakeaws_missing(const struct typemap *tm, const struct resource *r, const char *const *ops)
{
    const struct typemap_type *t = typemap_find(tm, r->type);
    char *acc = NULL;
    ck_assert_msg(t != NULL, "%s is not in the type table", r->type);
    check_attrs(t->attrs, t->n_attrs, r->attrs, "", ops, &acc);
    for (size_t i = 0; i < t->n_attrs; i++)
        if (t->attrs[i].in_tags && from_ops(&t->attrs[i], ops) && json_object_size(r->tags) == 0)
            add_missing(&acc, "", "tags");
    return acc;
}

const json_t *fakeaws_attr(const struct resource *r, const char *path)
{
    const json_t *v = r->attrs;
    char name[128];
    while (v && *path) {
        size_t n = strcspn(path, ".[");
        if (n > 0) {
            ck_assert(n < sizeof(name));
            memcpy(name, path, n);
            name[n] = '\0';
            v = json_object_get(v, name);
            path += n;
        }
        if (*path == '[') {
            char *end;
            unsigned long idx = strtoul(path + 1, &end, 10);
            ck_assert(*end == ']');
            v = json_array_get(v, idx);
            path = end + 1;
        }
        if (*path == '.')
            path++;
    }
    return v;
}
