#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "collect.h"
#include "testutil.h"

/* A fake AWS: canned responses per "Operation" or "Operation:param", served
 * from an idle handle so callbacks never run inside the call. */
struct fake_reply {
    const char *match;      /* "ListThings" or "GetDetail:thing-2" */
    const char *pages[3];   /* JSON pages */
    const char *error_code; /* set: the call fails with this code */
    enum aws_error_kind kind;
    const char *iam_action;
};

struct fake_call {
    struct fake_call *next;
    const struct fake_reply *reply;
    aws_page_cb page_cb;
    aws_done_cb done_cb;
    void *ud;
};

struct fake {
    uv_loop_t loop;
    uv_idle_t idle;
    const struct fake_reply *replies;
    struct fake_call *head, *tail;
    int calls;
    char last_region[32];
    /* "Operation:Name@region" of every call, in order. */
    char log[32][200];
    int n_log;
};

static void serve(uv_idle_t *h)
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
    if (c->reply->error_code) {
        struct aws_error e = { .kind = c->reply->kind,
                               .http_status = 400,
                               .code = c->reply->error_code,
                               .message = "nope",
                               .iam_action = c->reply->iam_action };
        c->done_cb(-EIO, &e, c->ud);
    } else {
        int r = 0;
        for (size_t i = 0; r == 0 && i < 3 && c->reply->pages[i]; i++) {
            json_t *o = json_loads(c->reply->pages[i], 0, NULL);
            struct aws_page p = { o, i };
            ck_assert_ptr_nonnull(o);
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
    struct fake *f = t;
    char key[128];
    const char *thing = json_string_value(json_object_get(req->params, "Name"));
    struct fake_call *c;
    snprintf(key, sizeof(key), "%s%s%s", req->operation, thing ? ":" : "", thing ? thing : "");
    snprintf(f->last_region, sizeof(f->last_region), "%s", req->region);
    if (f->n_log < 32)
        snprintf(f->log[f->n_log++], sizeof(f->log[0]), "%s@%s", key, req->region);
    for (const struct fake_reply *r = f->replies; r->match; r++) {
        if (!str_eq(r->match, key) && !str_eq(r->match, req->operation))
            continue;
        c = calloc(1, sizeof(*c));
        c->reply = r;
        c->page_cb = page_cb;
        c->done_cb = done_cb;
        c->ud = ud;
        if (f->tail)
            f->tail->next = c;
        else
            f->head = c;
        f->tail = c;
        f->calls++;
        uv_idle_start(&f->idle, serve);
        return 0;
    }
    return perr_set(err, -ENOENT, "no fake reply for %s", key);
}

/* The collector under test: "things" with a detail merged into each and a
 * child "thing_policy" per thing. */
static int map_thing(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *name = json_string_value(json_object_get(item, "Name"));
    if (str_eq(name, "skip-me"))
        return 1;
    str_replace(&r->id, name);
    collect_copy(r->attrs, "size", item, "Size");
    json_decref(r->tags);
    r->tags = collect_tags_from_list(json_object_get(item, "Tags"));
    return 0;
}

static int detail_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    *ret = json_pack("{s:s}", "Name", r->id);
    return 0;
}

static int merge_detail(struct collect_run *run, struct resource *parent, struct resource *child,
                        const json_t *output)
{
    json_object_set_new(parent->attrs, "encrypted",
                        output ? json_incref(json_object_get(output, "Encrypted")) : json_false());
    return 0;
}

static int merge_policy(struct collect_run *run, struct resource *parent, struct resource *child,
                        const json_t *output)
{
    if (!output)
        return 1; /* no policy: no child */
    collect_copy(child->attrs, "policy", output, "Policy");
    return 0;
}

static const char *const absent[] = { "NoSuchThingConfig", NULL };
static const char *const enc_attrs[] = { "encrypted", NULL };

static const struct collect_detail details[] = {
    { .operation = "GetDetail",
      .params = detail_params,
      .merge = merge_detail,
      .absent_codes = absent,
      .attrs = enc_attrs },
    { .operation = "GetPolicy",
      .params = detail_params,
      .merge = merge_policy,
      .absent_codes = absent,
      .child_type = "thing_policy" },
    { 0 },
};

static const struct collect_list lists[] = {
    { .type = "thing",
      .operation = "ListThings",
      .items = "Things[]",
      .all_pages = true,
      .map = map_thing,
      .details = details },
    { .type = "gadget", .operation = "ListGadgets", .items = "Gadgets[]", .map = map_thing },
    { 0 },
};

static const struct collector_def def = {
    .name = "things",
    .service = "thingsvc",
    .lists = lists,
};

struct outcome {
    bool done;
    struct collect_result copy;
    struct collect_run *run;
};

static void on_done(struct collect_run *run, const struct collect_result *res, void *ud)
{
    struct outcome *o = ud;
    o->done = true;
    o->copy = *res;
    o->run = run;
}

static const struct resource *find(const struct collect_result *res, const char *type,
                                   const char *id)
{
    for (size_t i = 0; i < res->resources.n; i++)
        if (str_eq(res->resources.items[i]->type, type) && str_eq(res->resources.items[i]->id, id))
            return res->resources.items[i];
    return NULL;
}

static const struct snapshot_scope *scope(const struct collect_result *res, const char *type)
{
    for (size_t i = 0; i < res->n_scopes; i++)
        if (str_eq(res->scopes[i].type, type))
            return &res->scopes[i];
    ck_abort_msg("no scope for %s", type);
    return NULL;
}

static void run_collector(const struct fake_reply *replies, const struct collector_def *d,
                          struct outcome *o, struct fake *f)
{
    struct collect_transport t = { fake_call, f };
    struct collect_options opts = { .transport = &t,
                                    .partition = "aws",
                                    .account = "111111111111",
                                    .region = "eu-central-1",
                                    .max_in_flight = 2,
                                    .now_ms = 1000 };
    struct collect_run *run = NULL;
    struct perr err = { 0 };
    memset(f, 0, sizeof(*f));
    f->replies = replies;
    ck_assert_int_eq(uv_loop_init(&f->loop), 0);
    uv_idle_init(&f->loop, &f->idle);
    f->idle.data = f;
    ck_assert_int_eq(collect_start(d, &opts, on_done, o, &run, &err), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ck_assert(o->done);
}

static void end(struct outcome *o, struct fake *f)
{
    collect_run_free(o->run);
    uv_close((uv_handle_t *)&f->idle, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&f->loop), 0);
}

START_TEST(lists_details_children)
{
    static const struct fake_reply replies[] = {
        { "ListThings",
          { "{\"Things\":[{\"Name\":\"thing-1\",\"Size\":3,\"Tags\":[{\"Key\":\"team\","
            "\"Value\":\"net\"}]},{\"Name\":\"skip-me\"}]}",
            "{\"Things\":[{\"Name\":\"thing-2\",\"Size\":5},{\"Name\":\"thing-3\"}]}" } },
        { "GetDetail:thing-1", { "{\"Encrypted\":true}" } },
        { "GetDetail:thing-2", { NULL }, "NoSuchThingConfig", AWS_ERR_NOT_FOUND },
        { "GetDetail:thing-3",
          { NULL },
          "AccessDenied",
          AWS_ERR_ACCESS_DENIED,
          "thingsvc:GetDetail" },
        { "GetPolicy:thing-1", { "{\"Policy\":\"{}\"}" } },
        { "GetPolicy:thing-2", { NULL }, "NoSuchThingConfig", AWS_ERR_NOT_FOUND },
        { "GetPolicy:thing-3", { NULL }, "Throttling", AWS_ERR_THROTTLED },
        { "ListGadgets", { "{\"Gadgets\":[{\"Name\":\"g1\"}]}" } },
        { NULL },
    };
    struct outcome o = { 0 };
    struct fake f;
    const struct resource *r;
    run_collector(replies, &def, &o, &f);

    ck_assert_int_eq(o.copy.items_skipped, 1);
    r = find(&o.copy, "thing", "thing-1");
    ck_assert_ptr_nonnull(r);
    ck_assert(json_is_true(json_object_get(r->attrs, "encrypted")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "net");
    ck_assert_str_eq(r->region, "eu-central-1");
    ck_assert_str_eq(r->source, "describe");
    /* Absent configuration merges as "not configured". */
    r = find(&o.copy, "thing", "thing-2");
    ck_assert(json_is_false(json_object_get(r->attrs, "encrypted")));
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    /* A denied detail makes its attribute unknown, naming the action. */
    r = find(&o.copy, "thing", "thing-3");
    ck_assert_ptr_null(json_object_get(r->attrs, "encrypted"));
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "encrypted")),
                     "access_denied:thingsvc:GetDetail");
    /* Children: one real, none for the absent one, a placeholder for the
     * throttled one. */
    ck_assert_ptr_nonnull(find(&o.copy, "thing_policy", "thing-1"));
    ck_assert_ptr_null(find(&o.copy, "thing_policy", "thing-2"));
    r = find(&o.copy, "thing_policy", "thing-3");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "*")),
                     "throttled:Throttling: nope");
    ck_assert_ptr_nonnull(find(&o.copy, "gadget", "g1"));
    /* Every scope read fine. */
    ck_assert_int_eq((int)o.copy.n_scopes, 3);
    ck_assert_int_eq(scope(&o.copy, "thing")->status, COLLECT_OK);
    ck_assert_int_eq(scope(&o.copy, "thing_policy")->status, COLLECT_OK);
    ck_assert_int_eq(scope(&o.copy, "gadget")->status, COLLECT_OK);
    ck_assert_int_eq(f.calls, 8);
    end(&o, &f);
}
END_TEST

START_TEST(denied_list_is_unknown)
{
    static const struct fake_reply replies[] = {
        { "ListThings", { NULL }, "AccessDenied", AWS_ERR_ACCESS_DENIED, "thingsvc:ListThings" },
        { "ListGadgets", { NULL }, "ThrottlingException", AWS_ERR_THROTTLED },
        { NULL },
    };
    struct outcome o = { 0 };
    struct fake f;
    run_collector(replies, &def, &o, &f);
    ck_assert_int_eq((int)o.copy.resources.n, 0);
    ck_assert_int_eq(scope(&o.copy, "thing")->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(scope(&o.copy, "thing")->detail, "thingsvc:ListThings");
    /* The child type is unknown as well: its parents were never listed. */
    ck_assert_int_eq(scope(&o.copy, "thing_policy")->status, COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(scope(&o.copy, "gadget")->status, COLLECT_THROTTLED);
    end(&o, &f);
}
END_TEST

static const struct collect_list global_lists[] = {
    { .type = "thing",
      .operation = "ListThings",
      .items = "Things[]",
      .regional_items = true,
      .map = map_thing },
    { 0 },
};

static const struct collector_def global_def = {
    .name = "gthings",
    .service = "thingsvc",
    .global = true,
    .lists = global_lists,
};

START_TEST(global_list_of_regional_items)
{
    static const struct fake_reply replies[] = {
        { "ListThings", { "{\"Things\":[{\"Name\":\"a\"}]}" } },
        { NULL },
    };
    static const char *const regions[] = { "eu-central-1", "eu-west-1", NULL };
    struct collect_transport t;
    struct outcome o = { 0 };
    struct fake f;
    struct collect_run *run = NULL;
    struct perr err = { 0 };
    struct collect_options opts = { .partition = "aws",
                                    .account = "111111111111",
                                    .region = "us-east-1",
                                    .regions = regions,
                                    .now_ms = 1 };
    memset(&f, 0, sizeof(f));
    f.replies = replies;
    t = (struct collect_transport){ fake_call, &f };
    opts.transport = &t;
    ck_assert_int_eq(uv_loop_init(&f.loop), 0);
    uv_idle_init(&f.loop, &f.idle);
    f.idle.data = &f;
    ck_assert_int_eq(collect_start(&global_def, &opts, on_done, &o, &run, &err), 0);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    ck_assert_str_eq(f.last_region, "us-east-1");
    /* A global listing covers the type in every scanned region. */
    ck_assert_int_eq((int)o.copy.n_scopes, 2);
    ck_assert_str_eq(o.copy.scopes[0].region, "eu-central-1");
    ck_assert_str_eq(o.copy.scopes[1].region, "eu-west-1");
    ck_assert_str_eq(o.copy.resources.items[0]->region, "global");
    end(&o, &f);
}
END_TEST

/* ---- gates: later details wait for a detail that moves the item ---- */

static int map_located(struct collect_run *run, const json_t *item, struct resource *r)
{
    str_replace(&r->id, json_string_value(json_object_get(item, "Name")));
    /* Not known yet: the gate finds out. */
    str_replace(&r->region, collect_options(run)->region);
    return 0;
}

static int locate_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    if (str_eq(r->id, "known"))
        return 1; /* already placed: no call */
    *ret = json_pack("{s:s}", "Name", r->id);
    return 0;
}

static int merge_location(struct collect_run *run, struct resource *parent, struct resource *child,
                          const json_t *output)
{
    const char *loc = json_string_value(json_object_get(output, "Region"));
    if (loc && str_replace(&parent->region, loc) < 0)
        return -ENOMEM;
    return 0;
}

static const char *const loc_attrs[] = { "region", NULL };
static const char *const inline_attrs[] = { "inline_policy", NULL };

static int merge_policy_inline(struct collect_run *run, struct resource *parent,
                               struct resource *child, const json_t *output)
{
    json_object_set_new(parent->attrs, "inline_policy",
                        output ? json_incref(json_object_get(output, "Policy")) : json_null());
    if (!output)
        return 1;
    collect_copy(child->attrs, "policy", output, "Policy");
    return 0;
}

static const struct collect_detail gated_details[] = {
    { .operation = "Locate",
      .params = locate_params,
      .merge = merge_location,
      .attrs = loc_attrs,
      .gate = true },
    { .operation = "GetDetail",
      .params = detail_params,
      .merge = merge_detail,
      .absent_codes = absent,
      .attrs = enc_attrs },
    { .operation = "GetPolicy",
      .params = detail_params,
      .merge = merge_policy_inline,
      .absent_codes = absent,
      .attrs = inline_attrs,
      .child_type = "thing_policy" },
    { 0 },
};

static const struct collect_list gated_lists[] = {
    { .type = "thing",
      .operation = "ListThings",
      .items = "Things[]",
      .regional_items = true,
      .map = map_located,
      .details = gated_details },
    { 0 },
};

static const struct collector_def gated_def = {
    .name = "gated",
    .service = "thingsvc",
    .global = true,
    .lists = gated_lists,
};

static int log_index(const struct fake *f, const char *entry)
{
    for (int i = 0; i < f->n_log; i++)
        if (str_eq(f->log[i], entry))
            return i;
    return -1;
}

START_TEST(gate_moves_later_details)
{
    static const struct fake_reply replies[] = {
        { "ListThings",
          { "{\"Things\":[{\"Name\":\"far\"},{\"Name\":\"lost\"},{\"Name\":\"known\"}]}" } },
        { "Locate:far", { "{\"Region\":\"eu-west-1\"}" } },
        { "Locate:lost", { NULL }, "AccessDenied", AWS_ERR_ACCESS_DENIED, "thingsvc:Locate" },
        { "GetDetail", { "{\"Encrypted\":true}" } },
        { "GetPolicy:far", { NULL }, "AccessDenied", AWS_ERR_ACCESS_DENIED, "thingsvc:GetPolicy" },
        { "GetPolicy", { "{\"Policy\":\"{}\"}" } },
        { NULL },
    };
    struct outcome o = { 0 };
    struct fake f;
    const struct resource *r;
    /* max_in_flight 2 in run_collector: without the gate the details of
     * "far" would start before its location is known. */
    run_collector(replies, &gated_def, &o, &f);

    ck_assert_int_eq(f.calls, 1 + 2 + 3 * 2);
    /* The located thing's later calls go to its own region, after the gate. */
    ck_assert_int_ge(log_index(&f, "GetDetail:far@eu-west-1"), 0);
    ck_assert_int_ge(log_index(&f, "GetPolicy:far@eu-west-1"), 0);
    ck_assert_int_gt(log_index(&f, "GetDetail:far@eu-west-1"),
                     log_index(&f, "Locate:far@eu-central-1"));
    r = find(&o.copy, "thing", "far");
    ck_assert_str_eq(r->region, "eu-west-1");
    ck_assert(json_is_true(json_object_get(r->attrs, "encrypted")));
    /* A child detail that fails marks the parent's inline attributes too. */
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "inline_policy")),
                     "access_denied:thingsvc:GetPolicy");
    r = find(&o.copy, "thing_policy", "far");
    ck_assert_str_eq(r->region, "eu-west-1");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "*")),
                     "access_denied:thingsvc:GetPolicy");
    /* A failed gate still lets the rest run, where the item stands. */
    r = find(&o.copy, "thing", "lost");
    ck_assert_str_eq(r->region, "eu-central-1");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "region")),
                     "access_denied:thingsvc:Locate");
    ck_assert_int_ge(log_index(&f, "GetDetail:lost@eu-central-1"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r->attrs, "inline_policy")), "{}");
    /* A gate skipped by its params function opens the next stage at once. */
    ck_assert_int_lt(log_index(&f, "Locate:known@eu-central-1"), 0);
    ck_assert_int_ge(log_index(&f, "GetPolicy:known@eu-central-1"), 0);
    ck_assert_ptr_nonnull(find(&o.copy, "thing_policy", "known"));
    end(&o, &f);
}
END_TEST

START_TEST(cancel_with_gate_pending)
{
    static const struct fake_reply replies[] = {
        { "ListThings", { "{\"Things\":[{\"Name\":\"far\"}]}" } },
        { "Locate", { "{\"Region\":\"eu-west-1\"}" } },
        { "GetDetail", { "{\"Encrypted\":true}" } },
        { "GetPolicy", { "{\"Policy\":\"{}\"}" } },
        { NULL },
    };
    struct collect_transport t;
    struct outcome o = { 0 };
    struct fake f;
    struct collect_run *run = NULL;
    struct perr err = { 0 };
    struct collect_options opts = {
        .partition = "aws", .account = "111111111111", .region = "eu-central-1", .now_ms = 1
    };
    const struct resource *r;
    memset(&f, 0, sizeof(f));
    f.replies = replies;
    t = (struct collect_transport){ fake_call, &f };
    opts.transport = &t;
    ck_assert_int_eq(uv_loop_init(&f.loop), 0);
    uv_idle_init(&f.loop, &f.idle);
    f.idle.data = &f;
    ck_assert_int_eq(collect_start(&gated_def, &opts, on_done, &o, &run, &err), 0);
    /* Serve the listing and start the gate, then cancel. */
    while (f.calls < 2)
        uv_run(&f.loop, UV_RUN_ONCE);
    collect_cancel(run);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    ck_assert(o.done);
    /* The stage behind the gate never started; its attributes and child are
     * unknown rather than silently missing. */
    ck_assert_int_eq(f.calls, 2);
    r = find(&o.copy, "thing", "far");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "encrypted")),
                     "error:cancelled");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "inline_policy")),
                     "error:cancelled");
    r = find(&o.copy, "thing_policy", "far");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "*")), "error:cancelled");
    end(&o, &f);
}
END_TEST

/* ---- custom code finishing from inside a call's callback ---- */

static void custom_call_done(struct collect_run *run, int result, const json_t *output,
                             const struct aws_error *err, void *userdata)
{
    collect_scope_status(run, "gizmo", result == 0 ? COLLECT_OK : collect_status_of(err), NULL);
    collect_custom_done(run);
}

static int custom_part(struct collect_run *run)
{
    return collect_call(run, NULL, "GetGizmo", NULL, false, NULL, custom_call_done, NULL);
}

static const char *const gizmo_types[] = { "gizmo", NULL };
static const struct collect_list no_lists[] = { { 0 } };
static const struct collector_def custom_def = {
    .name = "gizmos",
    .service = "thingsvc",
    .lists = no_lists,
    .extra_types = gizmo_types,
    .custom = custom_part,
};

struct freeing {
    bool done;
    enum collect_status status;
};

static void on_done_free(struct collect_run *run, const struct collect_result *res, void *ud)
{
    struct freeing *fr = ud;
    fr->done = true;
    fr->status = res->scopes[0].status;
    /* The pipeline may free the run right here (when it cannot queue the
     * write); the framework must not touch it afterwards. */
    collect_run_free(run);
}

START_TEST(custom_done_inside_callback)
{
    static const struct fake_reply replies[] = {
        { "GetGizmo", { "{}" } },
        { NULL },
    };
    struct collect_transport t;
    struct freeing fr = { 0 };
    struct fake f;
    struct collect_run *run = NULL;
    struct perr err = { 0 };
    struct collect_options opts = {
        .partition = "aws", .account = "111111111111", .region = "eu-central-1", .now_ms = 1
    };
    memset(&f, 0, sizeof(f));
    f.replies = replies;
    t = (struct collect_transport){ fake_call, &f };
    opts.transport = &t;
    ck_assert_int_eq(uv_loop_init(&f.loop), 0);
    uv_idle_init(&f.loop, &f.idle);
    f.idle.data = &f;
    ck_assert_int_eq(collect_start(&custom_def, &opts, on_done_free, &fr, &run, &err), 0);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    ck_assert(fr.done);
    ck_assert_int_eq(fr.status, COLLECT_OK);
    uv_close((uv_handle_t *)&f.idle, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&f.loop), 0);
}
END_TEST

START_TEST(error_details)
{
    struct aws_error denied = { .kind = AWS_ERR_ACCESS_DENIED,
                                .code = "AccessDenied",
                                .message = "no",
                                .iam_action = "s3:GetBucketPolicy" };
    struct aws_error denied_no_action = { .kind = AWS_ERR_ACCESS_DENIED, .code = "AccessDenied" };
    struct aws_error throttled = { .kind = AWS_ERR_THROTTLED,
                                   .code = "Throttling",
                                   .message = "Rate exceeded" };
    char *d = collect_error_detail(-EIO, &denied);
    ck_assert_str_eq(d, "s3:GetBucketPolicy");
    free(d);
    d = collect_error_detail(-EIO, &denied_no_action);
    ck_assert_str_eq(d, "AccessDenied");
    free(d);
    d = collect_error_detail(-EIO, &throttled);
    ck_assert_str_eq(d, "Throttling: Rate exceeded");
    free(d);
    d = collect_error_detail(-ETIMEDOUT, NULL);
    ck_assert_str_eq(d, strerror(ETIMEDOUT));
    free(d);
}
END_TEST

START_TEST(items_paths)
{
    json_t *out = json_loads("{\"Reservations\":[{\"Instances\":[{\"Id\":1},{\"Id\":2}]},"
                             "{\"Instances\":[{\"Id\":3}]}],\"Single\":{\"X\":[1,2]}}",
                             0, NULL);
    json_t *items = collect_items(out, "Reservations[].Instances[]");
    ck_assert_int_eq((int)json_array_size(items), 3);
    json_decref(items);
    items = collect_items(out, "Single.X[]");
    ck_assert_int_eq((int)json_array_size(items), 2);
    json_decref(items);
    items = collect_items(out, "Missing[]");
    ck_assert_int_eq((int)json_array_size(items), 0);
    json_decref(items);
    json_decref(out);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect");
    TCase *tc = tcase_create("collect");
    tcase_add_test(tc, lists_details_children);
    tcase_add_test(tc, denied_list_is_unknown);
    tcase_add_test(tc, global_list_of_regional_items);
    tcase_add_test(tc, items_paths);
    tcase_add_test(tc, error_details);
    tcase_add_test(tc, gate_moves_later_details);
    tcase_add_test(tc, cancel_with_gate_pending);
    tcase_add_test(tc, custom_done_inside_callback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
