/* A fake AWS for the unit tests of the "net" collectors (header-only; each
 * includes it once).
 *
 * Responses come from tests/data/responses/<service>/index.json (recorded
 * from moto by tests/data/responses/record-net.py): a request is answered
 * when its operation and parameters equal an index entry, with that
 * entry's pages in order.  Overrides, checked first, inject errors or
 * inline pages.  Callbacks run from an idle handle on the test's own loop,
 * never inside the call, like the real client.  Every request is logged
 * ({"service","op","params","region","all_pages"}) so tests can assert
 * exactly which calls a collector made.
 *
 * Requests to services plumb has a model of are checked like the real
 * client would: the operation must be in lib/models, the parameters must
 * serialise (awsproto validation: member names and types), and
 * AWS_CALL_ALL_PAGES needs a paginator.
 *
 * It also carries the checks every collector test runs against the type
 * table (fake_check_typemap). */
#ifndef PLUMB_TESTS_NETFAKE_H
#define PLUMB_TESTS_NETFAKE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "awsmodel.h"
#include "awsproto.h"
#include "collect.h"
#include "jsonutil.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define FAKE_FN __attribute__((unused)) static

struct fake_override {
    const char *service;    /* NULL = any */
    const char *op;         /* NULL ends a table */
    const char *params;     /* JSON text the params must equal; NULL = any */
    const char *error_code; /* set: the call fails with this code */
    enum aws_error_kind kind;
    const char *iam_action;
    const char *pages[4]; /* inline JSON pages (when no error) */
    const char *fixture;  /* or: one page from PLUMB_FIXTURES/<fixture> */
};

struct fake_call {
    struct fake_call *next;
    json_t *pages; /* array of outputs */
    const struct fake_override *error;
    aws_page_cb page_cb;
    aws_done_cb done_cb;
    void *ud;
};

struct fake {
    uv_loop_t loop;
    uv_idle_t idle;
    json_t *services; /* {"ec2": [{"op","params","pages":[outputs]}]} */
    const struct fake_override *overrides;
    struct fake_call *head, *tail;
    json_t *log;
    int unmatched;
    int outstanding;     /* calls queued and not answered yet */
    int max_outstanding; /* the most at any time */
    struct awsmodels *models;
};

FAKE_FN json_t *fake_load_json(const char *path)
{
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    ck_assert_msg(v != NULL, "%s: %s (line %d)", path, jerr.text, jerr.line);
    return v;
}

/* Load tests/data/responses/<service>/index.json with its pages. */
FAKE_FN void fake_load(struct fake *f, const char *service)
{
    char rel[256];
    char *dir, *path;
    json_t *index, *entry;
    size_t i;
    snprintf(rel, sizeof(rel), "tests/data/responses/%s", service);
    dir = tu_srcpath(rel);
    path = tu_path_join(dir, "index.json");
    index = fake_load_json(path);
    free(path);
    json_array_foreach (index, i, entry) {
        json_t *pages = json_object_get(entry, "pages"), *loaded = json_array(), *p;
        const char *svc = json_string_value(json_object_get(entry, "service"));
        json_t *list;
        size_t k;
        json_array_foreach (pages, k, p) {
            char *pp = tu_path_join(dir, json_string_value(p));
            json_array_append_new(loaded, fake_load_json(pp));
            free(pp);
        }
        json_object_set_new(entry, "pages", loaded);
        /* An entry may belong to another service than its directory's. */
        svc = svc ? svc : service;
        list = json_object_get(f->services, svc);
        if (!list) {
            list = json_array();
            json_object_set_new(f->services, svc, list);
        }
        json_array_append(list, entry);
    }
    json_decref(index);
    free(dir);
}

/* The output an index entry serves (borrowed), for tests that compare a
 * document with the response it came from. */
FAKE_FN const json_t *fake_page(struct fake *f, const char *service, const char *op, size_t nth,
                                size_t page)
{
    json_t *index = json_object_get(f->services, service), *entry;
    size_t i;
    json_array_foreach (index, i, entry) {
        if (!str_eq(json_string_value(json_object_get(entry, "op")), op))
            continue;
        if (nth-- == 0)
            return json_array_get(json_object_get(entry, "pages"), page);
    }
    ck_abort_msg("no recorded %s %s", service, op);
    return NULL;
}

FAKE_FN void fake_serve(uv_idle_t *h)
{
    struct fake *f = h->data;
    struct fake_call *c = f->head;
    if (!c) {
        uv_idle_stop(h);
        return;
    }
    f->head = c->next;
    if (!f->head)
        f->tail = NULL;
    f->outstanding--;
    if (c->error) {
        struct aws_error e = { .kind = c->error->kind,
                               .http_status = 400,
                               .code = c->error->error_code,
                               .message = "injected",
                               .iam_action = c->error->iam_action };
        c->done_cb(-EIO, &e, c->ud);
    } else {
        int r = 0;
        size_t i;
        json_t *o;
        json_array_foreach (c->pages, i, o) {
            struct aws_page p = { o, i };
            r = c->page_cb(&p, c->ud);
            if (r < 0)
                break;
        }
        c->done_cb(r, NULL, c->ud);
    }
    json_decref(c->pages);
    free(c);
}

FAKE_FN bool fake_params_eq(const json_t *a, const char *text)
{
    json_t *b = json_loads(text, 0, NULL);
    json_t *empty = json_object();
    bool eq;
    ck_assert_msg(b != NULL, "bad override params %s", text);
    eq = json_equal(a ? (json_t *)a : empty, b);
    json_decref(b);
    json_decref(empty);
    return eq;
}

FAKE_FN int fake_call(void *t, const struct aws_request *req, aws_page_cb page_cb,
                      aws_done_cb done_cb, void *ud, struct perr *err)
{
    struct fake *f = t;
    struct fake_call *c = calloc(1, sizeof(*c));
    json_t *empty = json_object();
    const json_t *params = req->params ? req->params : empty;
    json_t *index = json_object_get(f->services, req->service), *entry;
    const struct awsmodel *model = awsmodels_get(f->models, req->service);
    size_t i;

    if (model) {
        const struct awsop *op = awsmodel_op(model, req->operation);
        struct awsrequest *built = NULL;
        struct perr perr = { 0 };
        ck_assert_msg(op != NULL, "%s has no operation %s in lib/models", req->service,
                      req->operation);
        ck_assert_msg(awsproto_build_request(model, op, (json_t *)params, &built, &perr) == 0,
                      "%s %s: %s", req->service, req->operation, perr.msg);
        awsrequest_free(built);
        ck_assert_msg(!(req->flags & AWS_CALL_ALL_PAGES) ||
                          awsmodel_paginator(model, req->operation) != NULL,
                      "%s %s: all pages asked but the operation has no paginator", req->service,
                      req->operation);
    }

    json_array_append_new(f->log, json_pack("{s:s, s:s, s:O, s:s, s:b}", "service", req->service,
                                            "op", req->operation, "params", (json_t *)params,
                                            "region", req->region, "all_pages",
                                            (req->flags & AWS_CALL_ALL_PAGES) != 0));
    c->page_cb = page_cb;
    c->done_cb = done_cb;
    c->ud = ud;
    for (const struct fake_override *o = f->overrides; o && o->op; o++) {
        if (!str_eq(o->op, req->operation) || (o->service && !str_eq(o->service, req->service)))
            continue;
        if (o->params && !fake_params_eq(params, o->params))
            continue;
        if (o->error_code) {
            c->error = o;
        } else if (o->fixture) {
            char *path = tu_fixture(o->fixture);
            c->pages = json_array();
            json_array_append_new(c->pages, fake_load_json(path));
            free(path);
        } else {
            c->pages = json_array();
            for (size_t k = 0; k < 4 && o->pages[k]; k++) {
                json_t *page = json_loads(o->pages[k], 0, NULL);
                ck_assert_msg(page != NULL, "bad override page %s", o->pages[k]);
                json_array_append_new(c->pages, page);
            }
        }
        goto queue;
    }
    json_array_foreach (index, i, entry) {
        if (!str_eq(json_string_value(json_object_get(entry, "op")), req->operation))
            continue;
        if (!json_equal((json_t *)params, json_object_get(entry, "params")))
            continue;
        c->pages = json_incref(json_object_get(entry, "pages"));
        goto queue;
    }
    f->unmatched++;
    free(c);
    {
        char *p = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
        perr_set(err, -ENOENT, "no fake reply for %s %s %s", req->service, req->operation, p);
        fprintf(stderr, "fake: %s\n", err ? err->msg : "no fake reply");
        free(p);
    }
    json_decref(empty);
    return -ENOENT;
queue:
    json_decref(empty);
    if (++f->outstanding > f->max_outstanding)
        f->max_outstanding = f->outstanding;
    if (f->tail)
        f->tail->next = c;
    else
        f->head = c;
    f->tail = c;
    uv_idle_start(&f->idle, fake_serve);
    return 0;
}

FAKE_FN void fake_init(struct fake *f, const struct fake_override *overrides)
{
    memset(f, 0, sizeof(*f));
    f->services = json_object();
    f->log = json_array();
    f->overrides = overrides;
    {
        struct perr err = { 0 };
        ck_assert_msg(awsmodels_load_embedded(&f->models, &err) == 0, "models: %s", err.msg);
    }
    ck_assert_int_eq(uv_loop_init(&f->loop), 0);
    uv_idle_init(&f->loop, &f->idle);
    f->idle.data = f;
}

FAKE_FN void fake_close(struct fake *f)
{
    uv_close((uv_handle_t *)&f->idle, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&f->loop), 0);
    json_decref(f->services);
    json_decref(f->log);
    awsmodels_free(f->models);
}

/* How many logged calls of op (with these params, when not NULL). */
FAKE_FN int fake_calls(const struct fake *f, const char *op, const char *params)
{
    size_t i;
    json_t *e;
    int n = 0;
    json_array_foreach (f->log, i, e) {
        if (!str_eq(json_string_value(json_object_get(e, "op")), op))
            continue;
        if (params && !fake_params_eq(json_object_get(e, "params"), params))
            continue;
        n++;
    }
    return n;
}

/* ---- running a collector ---- */

struct fake_run {
    bool done;
    struct collect_run *run;
    const struct collect_result *res;
};

FAKE_FN void fake_on_done(struct collect_run *run, const struct collect_result *res, void *ud)
{
    struct fake_run *o = ud;
    o->done = true;
    o->run = run;
    o->res = res;
}

FAKE_FN void fake_collect_in(struct fake *f, const struct collector_def *def, const char *region,
                             const char *const *regions, unsigned max_in_flight, struct fake_run *o)
{
    struct collect_transport t = { fake_call, f };
    struct collect_options opts = { .transport = &t,
                                    .partition = "aws",
                                    .account = "123456789012",
                                    .region = region,
                                    .regions = regions,
                                    .max_in_flight = max_in_flight,
                                    .now_ms = 1700000000000 };
    struct collect_run *run = NULL;
    struct perr err = { 0 };
    memset(o, 0, sizeof(*o));
    ck_assert_int_eq(collect_start(def, &opts, fake_on_done, o, &run, &err), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ck_assert(o->done);
    ck_assert_ptr_eq(o->run, run);
}

FAKE_FN void fake_collect(struct fake *f, const struct collector_def *def, struct fake_run *o)
{
    fake_collect_in(f, def, "eu-central-1", NULL, 2, o);
}

FAKE_FN void fake_run_free(struct fake_run *o)
{
    collect_run_free(o->run);
    o->run = NULL;
}

FAKE_FN const struct resource *fake_find(const struct collect_result *res, const char *type,
                                         const char *id)
{
    for (size_t i = 0; i < res->resources.n; i++)
        if (str_eq(res->resources.items[i]->type, type) && str_eq(res->resources.items[i]->id, id))
            return res->resources.items[i];
    return NULL;
}

FAKE_FN const struct resource *fake_get(const struct collect_result *res, const char *type,
                                        const char *id)
{
    const struct resource *r = fake_find(res, type, id);
    ck_assert_msg(r != NULL, "no %s %s", type, id);
    return r;
}

/* The resource of type whose tag key (or string attribute, by_attr) has
 * this value; fails the test when there is none. */
FAKE_FN const struct resource *fake_by_tag(const struct collect_result *res, const char *type,
                                           const char *key, const char *value)
{
    for (size_t i = 0; i < res->resources.n; i++) {
        const struct resource *r = res->resources.items[i];
        if (str_eq(r->type, type) &&
            str_eq(json_string_value(json_object_get(r->tags, key)), value))
            return r;
    }
    ck_abort_msg("no %s tagged %s=%s", type, key, value);
    return NULL;
}

FAKE_FN const struct resource *fake_by_attr(const struct collect_result *res, const char *type,
                                            const char *attr, const char *value)
{
    for (size_t i = 0; i < res->resources.n; i++) {
        const struct resource *r = res->resources.items[i];
        if (str_eq(r->type, type) &&
            str_eq(json_string_value(json_object_get(r->attrs, attr)), value))
            return r;
    }
    ck_abort_msg("no %s with %s=%s", type, attr, value);
    return NULL;
}

FAKE_FN int fake_count(const struct collect_result *res, const char *type)
{
    int n = 0;
    for (size_t i = 0; i < res->resources.n; i++)
        if (str_eq(res->resources.items[i]->type, type))
            n++;
    return n;
}

FAKE_FN const struct snapshot_scope *fake_scope(const struct collect_result *res, const char *type)
{
    for (size_t i = 0; i < res->n_scopes; i++)
        if (str_eq(res->scopes[i].type, type))
            return &res->scopes[i];
    ck_abort_msg("no scope for %s", type);
    return NULL;
}

/* Attribute at a Terraform-style path of r's document ("a[0].b"). */
FAKE_FN const json_t *fake_attr(const struct resource *r, const char *path)
{
    return json_path_get(r->attrs, path);
}

FAKE_FN const char *fake_str(const struct resource *r, const char *path)
{
    const json_t *v = fake_attr(r, path);
    ck_assert_msg(json_is_string(v), "%s %s: %s is not a string", r->type, r->id, path);
    return json_string_value(v);
}

FAKE_FN json_int_t fake_int(const struct resource *r, const char *path)
{
    const json_t *v = fake_attr(r, path);
    ck_assert_msg(json_is_integer(v), "%s %s: %s is not an integer", r->type, r->id, path);
    return json_integer_value(v);
}

FAKE_FN bool fake_bool(const struct resource *r, const char *path)
{
    const json_t *v = fake_attr(r, path);
    ck_assert_msg(json_is_boolean(v), "%s %s: %s is not a bool", r->type, r->id, path);
    return json_is_true(v);
}

FAKE_FN bool fake_null(const struct resource *r, const char *path)
{
    const json_t *v = fake_attr(r, path);
    return v != NULL && json_is_null(v);
}

/* Equal as JSON to the text (sets compared in the order given). */
FAKE_FN void fake_attr_eq(const struct resource *r, const char *path, const char *json_text)
{
    json_t *want = json_loads(json_text, JSON_DECODE_ANY, NULL);
    const json_t *got = fake_attr(r, path);
    char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    ck_assert_msg(want != NULL, "bad expectation %s", json_text);
    ck_assert_msg(got && json_equal((json_t *)got, want), "%s %s: %s is %s, want %s", r->type,
                  r->id, path, g ? g : "(absent)", json_text);
    free(g);
    json_decref(want);
}

FAKE_FN const char *fake_unknown(const struct resource *r, const char *attr)
{
    return json_string_value(json_object_get(r->unknown, attr));
}

FAKE_FN const char *fake_tag(const struct resource *r, const char *key)
{
    return json_string_value(json_object_get(r->tags, key));
}

/* ---- checks against the type table ---- */

FAKE_FN bool fake_op_in(const char *op, const char *const *ops)
{
    for (size_t i = 0; ops && ops[i]; i++)
        if (str_eq(op, ops[i]))
            return true;
    return false;
}

/* Every key of v (an attribute value at `path`) is an attribute the type
 * table knows, recursively through nested blocks. */
FAKE_FN void fake_check_known(const struct typemap_type *t, const char *path, const json_t *v,
                              const char *id)
{
    const struct typemap_attr *a = typemap_attr(t, path);
    ck_assert_msg(a != NULL, "%s %s: attribute %s is not in the type table", t->type, id, path);
    if (a->n_attrs == 0)
        return;
    if (a->kind == TYPEMAP_KIND_MAP && json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach ((json_t *)v, k, e) {
            const char *sk;
            json_t *sv;
            json_object_foreach (e, sk, sv) {
                char *p = str_printf("%s.%s", path, sk);
                fake_check_known(t, p, sv, id);
                free(p);
            }
        }
        return;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e) {
            const char *sk;
            json_t *sv;
            ck_assert_msg(json_is_object(e), "%s %s: %s[%zu] is not an object", t->type, id, path,
                          i);
            json_object_foreach (e, sk, sv) {
                char *p = str_printf("%s.%s", path, sk);
                fake_check_known(t, p, sv, id);
                free(p);
            }
        }
    }
}

/* For every resource of each type the collector delivers:
 *  - every top-level attribute of the type table that is derived (no
 *    source) or read from one of `ops` is in the document (attrs, or the
 *    tags for location "tags"), unless the resource marks it unknown;
 *  - every attribute in the document, nested ones included, is in the
 *    table;
 *  - ARNs built from the table's template equal the collected ARN, and the
 *    table's id templates, applied to the document, give the live id;
 *  - the region is "global" exactly for global/account-singleton types.
 * Also asserts that every type of the collector has a scope in the
 * result and at least one resource. */
FAKE_FN void fake_check_typemap(const struct collect_result *res, const char *collector,
                                const char *const *ops)
{
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    const struct typemap_type *types[64];
    size_t n;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    n = typemap_by_collector(tm, collector, types, 64);
    ck_assert_int_gt((int)n, 0);
    for (size_t ti = 0; ti < n; ti++) {
        const struct typemap_type *t = types[ti];
        int seen = 0;
        (void)fake_scope(res, t->type);
        for (size_t ri = 0; ri < res->resources.n; ri++) {
            const struct resource *r = res->resources.items[ri];
            const char *k;
            json_t *v;
            if (!str_eq(r->type, t->type))
                continue;
            seen++;
            for (size_t ai = 0; ai < t->n_attrs; ai++) {
                const struct typemap_attr *a = &t->attrs[ai];
                bool wanted = a->n_sources == 0;
                bool have;
                for (size_t si = 0; si < a->n_sources && !wanted; si++)
                    wanted = fake_op_in(a->sources[si].op, ops);
                if (!wanted || json_object_get(r->unknown, a->name))
                    continue;
                have = a->in_tags ? true : json_object_get(r->attrs, a->name) != NULL;
                ck_assert_msg(have, "%s %s: attribute %s missing", t->type, r->id, a->name);
            }
            json_object_foreach (r->attrs, k, v)
                fake_check_known(t, k, v, r->id);
            if (t->arn_template && r->arn) {
                char *arn = NULL;
                ck_assert_int_eq(typemap_arn_build(t, r->partition, r->region, r->account, r->id,
                                                   r->attrs, &arn),
                                 0);
                ck_assert_msg(str_eq(arn, r->arn), "%s %s: ARN %s, table builds %s", t->type, r->id,
                              r->arn, arn);
                free(arn);
            }
            {
                char *id = NULL;
                struct perr e2 = { 0 };
                int rc = typemap_live_id(tm, t->type, r->attrs, &id, &e2);
                if (rc == 0)
                    ck_assert_msg(str_eq(id, r->id), "%s: id %s, table builds %s", t->type, r->id,
                                  id);
                else
                    ck_assert_msg(rc == -ENODATA, "%s: typemap_live_id: %s", t->type, e2.msg);
                free(id);
            }
            if (t->scope == TYPEMAP_SCOPE_GLOBAL || t->scope == TYPEMAP_SCOPE_ACCOUNT_SINGLETON)
                ck_assert_str_eq(r->region, RESOURCE_REGION_GLOBAL);
            else
                ck_assert_str_ne(r->region, RESOURCE_REGION_GLOBAL);
        }
        ck_assert_msg(seen > 0, "no resource of %s", t->type);
    }
    typemap_free(tm);
}

#endif
