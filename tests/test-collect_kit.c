#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_kit.h"
#include "netfake.h"

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    ck_assert_msg(want != NULL, "bad expectation %s", want_text);
    ck_assert_msg(json_equal((json_t *)got, want), "got %s, want %s", g, want_text);
    free(g);
    json_decref(want);
}

static const struct ck_field inner[] = {
    { "code", "Code", CK_COPY },
    { "note", "Note", CK_OR_EMPTY },
    { NULL },
};

static const struct ck_field table[] = {
    { "name", "Name", CK_COPY },
    { "missing", "Nope", CK_COPY },
    { "zone", "Placement.Zone", CK_COPY },
    { "deep_missing", "Placement.Nope.Deeper", CK_COPY },
    { "empty", "Nope", CK_OR_EMPTY },
    { "zero", "Nope", CK_OR_ZERO },
    { "no", "Nope", CK_OR_FALSE },
    { "kept_zero", "Count", CK_OR_ZERO },
    { "ids", "Groups[].Id", CK_LIST },
    { "none", "Nope[].Id", CK_LIST },
    { "plain_list", "Names", CK_LIST },
    { "public", "PublicIp", CK_PRESENT },
    { "public_empty", "EmptyString", CK_PRESENT },
    { "public_absent", "Nope", CK_PRESENT },
    { "block", "Placement", CK_BLOCK, inner },
    { "no_block", "Nope", CK_BLOCK, inner },
    { "blocks", "Items", CK_BLOCKS, inner },
    { "no_blocks", "Nope", CK_BLOCKS, inner },
    { "opt_true", "Flag", CK_STRBOOL },
    { "opt_false", "Off", CK_STRBOOL },
    { "opt_unset", "Nope", CK_STRBOOL },
    { "tags", "Tags", CK_TAGMAP },
    { "no_tags", "Nope", CK_TAGMAP },
    { "profile", "Profile.Arn", CK_CONV, NULL, ck_conv_last_segment },
    { "no_profile", "Nope", CK_CONV, NULL, ck_conv_last_segment },
    { NULL },
};

START_TEST(field_table)
{
    json_t *item = json_loads(
        "{\"Name\":\"a\",\"Placement\":{\"Zone\":\"z1\",\"Code\":7},\"Count\":0,"
        "\"Groups\":[{\"Id\":\"g1\"},{\"Id\":\"g2\"},{\"Other\":1}],\"Names\":[\"x\",\"y\"],"
        "\"PublicIp\":\"1.2.3.4\",\"EmptyString\":\"\",\"Items\":[{\"Code\":1,\"Note\":\"n\"},"
        "{\"Code\":2}],\"Flag\":true,\"Off\":false,\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"}],"
        "\"Profile\":{\"Arn\":\"arn:aws:iam::1:instance-profile/path/web\"}}",
        0, NULL);
    json_t *out = json_object();
    ck_assert_int_eq(ck_map(out, item, table), 0);
    assert_json(out,
                "{\"name\":\"a\",\"missing\":null,\"zone\":\"z1\",\"deep_missing\":null,"
                "\"empty\":\"\",\"zero\":0,\"no\":false,\"kept_zero\":0,\"ids\":[\"g1\",\"g2\"],"
                "\"none\":[],\"plain_list\":[\"x\",\"y\"],\"public\":true,\"public_empty\":false,"
                "\"public_absent\":false,\"block\":[{\"code\":7,\"note\":\"\"}],\"no_block\":[],"
                "\"blocks\":[{\"code\":1,\"note\":\"n\"},{\"code\":2,\"note\":\"\"}],"
                "\"no_blocks\":[],\"opt_true\":\"true\",\"opt_false\":\"false\","
                "\"opt_unset\":\"\",\"tags\":{\"k\":\"v\"},\"no_tags\":{},\"profile\":\"web\","
                "\"no_profile\":null}");
    /* The document owns copies: changing the item leaves it alone. */
    json_object_set_new(json_array_get(json_object_get(item, "Items"), 0), "Code",
                        json_integer(99));
    assert_json(json_object_get(out, "blocks"),
                "[{\"code\":1,\"note\":\"n\"},{\"code\":2,\"note\":\"\"}]");
    json_decref(out);
    json_decref(item);
}
END_TEST

START_TEST(conversions)
{
    struct {
        ck_conv_fn fn;
        const char *in; /* NULL = absent */
        const char *want;
    } cases[] = {
        { ck_conv_last_segment, "\"a/b/c\"", "\"c\"" },
        { ck_conv_last_segment, "\"plain\"", "\"plain\"" },
        { ck_conv_last_segment, "7", "null" },
        { ck_conv_first, "[\"h2\",\"h1\"]", "\"h2\"" },
        { ck_conv_first, "[]", "null" },
        { ck_conv_first, NULL, "null" },
        { ck_conv_bool_text, "\"true\"", "true" },
        { ck_conv_bool_text, "\"FALSE\"", "false" },
        { ck_conv_bool_text, "\"maybe\"", "null" },
        { ck_conv_bool_text, "true", "true" },
        { ck_conv_bool_text, NULL, "null" },
        { ck_conv_int_text, "\"60\"", "60" },
        { ck_conv_int_text, "\"-1\"", "-1" },
        { ck_conv_int_text, "\"6x\"", "null" },
        { ck_conv_int_text, "\"\"", "null" },
        { ck_conv_int_text, "12", "12" },
        { ck_conv_csv_list, "\"subnet-1,subnet-2\"", "[\"subnet-1\",\"subnet-2\"]" },
        { ck_conv_csv_list, "\" a , ,b,\"", "[\"a\",\"b\"]" },
        { ck_conv_csv_list, "\"\"", "[]" },
        { ck_conv_csv_list, NULL, "[]" },
        { ck_conv_object, "{\"a\":1}", "{\"a\":1}" },
        { ck_conv_object, "[1]", "{}" },
        { ck_conv_object, NULL, "{}" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *in = cases[i].in ? json_loads(cases[i].in, JSON_DECODE_ANY, NULL) : NULL;
        json_t *out = cases[i].fn(in);
        ck_assert_ptr_nonnull(out);
        assert_json(out, cases[i].want);
        json_decref(out);
        json_decref(in);
    }
}
END_TEST

START_TEST(paths)
{
    json_t *item = json_loads("{\"A\":{\"B\":{\"C\":\"x\"}},\"S\":\"s\"}", 0, NULL);
    ck_assert_str_eq(ck_str(item, "A.B.C"), "x");
    ck_assert_ptr_eq(ck_get(item, NULL), item);
    ck_assert_ptr_null(ck_get(item, "A.X.C"));
    ck_assert_ptr_null(ck_str(item, "A.B"));
    ck_assert_ptr_null(ck_get(item, "S.T"));
    json_decref(item);
}
END_TEST

START_TEST(unknown_marks)
{
    struct resource *r = NULL;
    static const char *const attrs[] = { "a", "tags", "never_set", NULL };
    ck_assert_int_eq(resource_new(&r), 0);
    json_object_set_new(r->attrs, "a", json_integer(1));
    json_object_set_new(r->attrs, "b", json_integer(2));
    json_object_set_new(r->tags, "team", json_string("net"));
    ck_assert_int_eq(ck_unknown(r, attrs, COLLECT_ACCESS_DENIED, "ec2:DescribeThing"), 0);
    ck_assert_ptr_null(json_object_get(r->attrs, "a"));
    ck_assert_int_eq((int)json_integer_value(json_object_get(r->attrs, "b")), 2);
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "a")),
                     "access_denied:ec2:DescribeThing");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "access_denied:ec2:DescribeThing");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "never_set")),
                     "access_denied:ec2:DescribeThing");
    ck_assert_int_eq(ck_unknown1(r, "b", COLLECT_THROTTLED, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "b")), "throttled");
    resource_free(r);
}
END_TEST

START_TEST(error_details)
{
    struct aws_error denied = { .kind = AWS_ERR_ACCESS_DENIED,
                                .code = "AccessDenied",
                                .message = "no",
                                .iam_action = "ec2:DescribeVpcs" };
    struct aws_error other = { .kind = AWS_ERR_CLIENT, .code = "Invalid", .message = "bad" };
    struct aws_error bare = { .kind = AWS_ERR_SERVER, .code = "InternalError" };
    char *d;
    d = ck_error_detail(-EIO, &denied);
    ck_assert_str_eq(d, "ec2:DescribeVpcs");
    free(d);
    d = ck_error_detail(-EIO, &other);
    ck_assert_str_eq(d, "Invalid: bad");
    free(d);
    d = ck_error_detail(-EIO, &bare);
    ck_assert_str_eq(d, "InternalError");
    free(d);
    d = ck_error_detail(-ETIMEDOUT, NULL);
    ck_assert_str_eq(d, strerror(ETIMEDOUT));
    free(d);
}
END_TEST

/* ---- the queue, driven through a collector with a custom hook ---- */

struct widget_state {
    struct ck_slot many, pair, lone;
    int replies;
    int phase;
    bool saw_absent;
    char denied_detail[64];
    enum collect_status denied_status;
    char unmatched_detail[128];
    int idle_calls;
};

static struct widget_state *g_state; /* inspected by the tests after the run */

static void on_reply(struct ck *ck, const struct ck_reply *rep, void *ud)
{
    struct widget_state *s = ud;
    (void)ck;
    s->replies++;
    if (rep->absent) {
        s->saw_absent = true;
        ck_assert_int_eq(rep->result, 0);
        ck_assert_int_eq((int)json_array_size(rep->items), 0);
        ck_assert_ptr_null(rep->output);
    }
}

static void on_denied(struct ck *ck, const struct ck_reply *rep, void *ud)
{
    struct widget_state *s = ud;
    (void)ck;
    ck_assert_int_lt(rep->result, 0);
    s->denied_status = rep->status;
    snprintf(s->denied_detail, sizeof(s->denied_detail), "%s", rep->detail);
}

static void on_unmatched(struct ck *ck, const struct ck_reply *rep, void *ud)
{
    struct widget_state *s = ud;
    (void)ck;
    ck_assert_int_lt(rep->result, 0);
    ck_assert_int_eq(rep->status, COLLECT_ERROR);
    snprintf(s->unmatched_detail, sizeof(s->unmatched_detail), "%s", rep->detail);
}

static const char *const absent_codes[] = { "NoSuchWidgetConfig", NULL };

static bool widget_idle(struct ck *ck, void *ud)
{
    struct widget_state *s = ud;
    struct collect_run *run = ck_collect_run(ck);
    s->idle_calls++;
    if (s->phase++ == 0) {
        /* A second phase, queued from the idle callback. */
        struct ck_request req = { .operation = "GetLone", .items = "Lone" };
        ck_assert_int_eq(ck_call_slot(ck, &req, &s->lone), 0);
        return true;
    }
    collect_scope_status(run, "widget", ck_slot_ok(&s->many) ? COLLECT_OK : s->many.status,
                         s->many.detail);
    collect_scope_status(run, "gadget", ck_slot_ok(&s->pair) ? COLLECT_OK : s->pair.status,
                         s->pair.detail);
    return false;
}

static int widget_custom(struct collect_run *run)
{
    struct widget_state *s = g_state;
    struct ck *ck = NULL;
    ck_assert_int_eq(ck_new(run, &ck), 0);
    ck_slot_init(&s->many);
    ck_slot_init(&s->pair);
    ck_slot_init(&s->lone);
    for (int i = 0; i < 6; i++) {
        struct ck_request req = { .operation = "ListWidgets",
                                  .params = json_pack("{s:i}", "Page", i),
                                  .items = "Widgets[].Name",
                                  .all_pages = true };
        ck_assert_int_eq(ck_call_slot(ck, &req, &s->many), 0);
    }
    {
        struct ck_request a = { .operation = "GetPair",
                                .params = json_pack("{s:s}", "N", "a"),
                                .items = "Pair[]" };
        struct ck_request b = { .operation = "GetPair",
                                .params = json_pack("{s:s}", "N", "b"),
                                .items = "Pair[]" };
        struct ck_request c = { .operation = "GetPair",
                                .params = json_pack("{s:s}", "N", "c"),
                                .items = "Pair[]" };
        ck_assert_int_eq(ck_call_slot(ck, &a, &s->pair), 0);
        ck_assert_int_eq(ck_call_slot(ck, &b, &s->pair), 0);
        ck_assert_int_eq(ck_call_slot(ck, &c, &s->pair), 0);
    }
    {
        struct ck_request req = { .operation = "GetConfig", .absent_codes = absent_codes };
        struct ck_request d = { .operation = "GetSecret" };
        struct ck_request u = { .service = "othersvc", .operation = "Unknown" };
        ck_assert_int_eq(ck_call(ck, &req, on_reply, s), 0);
        ck_assert_int_eq(ck_call(ck, &d, on_denied, s), 0);
        ck_assert_int_eq(ck_call(ck, &u, on_unmatched, s), 0);
    }
    /* Nothing is answered before the queue runs. */
    ck_assert_int_eq(s->replies, 0);
    ck_run(ck, widget_idle, s);
    return 0;
}

static const char *const widget_types[] = { "widget", "gadget", NULL };
static const struct collector_def widget_def = {
    .name = "widgets",
    .service = "widgetsvc",
    .extra_types = widget_types,
    .custom = widget_custom,
};

static const struct fake_override widget_replies[] = {
    { .op = "ListWidgets",
      .params = "{\"Page\":0}",
      .pages = { "{\"Widgets\":[{\"Name\":\"w1\"},{\"Name\":\"w2\"}]}",
                 "{\"Widgets\":[{\"Name\":\"w3\"}]}" } },
    { .op = "ListWidgets", .pages = { "{\"Widgets\":[{\"Name\":\"wx\"}]}" } },
    { .op = "GetPair",
      .params = "{\"N\":\"b\"}",
      .error_code = "Throttling",
      .kind = AWS_ERR_THROTTLED },
    { .op = "GetPair",
      .params = "{\"N\":\"c\"}",
      .error_code = "AccessDenied",
      .kind = AWS_ERR_ACCESS_DENIED,
      .iam_action = "widgetsvc:GetPair" },
    { .op = "GetPair", .pages = { "{\"Pair\":[1,2]}" } },
    { .op = "GetConfig", .error_code = "NoSuchWidgetConfig", .kind = AWS_ERR_NOT_FOUND },
    { .op = "GetSecret",
      .error_code = "AccessDenied",
      .kind = AWS_ERR_ACCESS_DENIED,
      .iam_action = "widgetsvc:GetSecret" },
    { .op = "GetLone", .pages = { "{\"Lone\":{\"x\":1}}" } },
    { NULL },
};

START_TEST(queue_phases_slots)
{
    struct fake f;
    struct fake_run o;
    struct widget_state s;
    memset(&s, 0, sizeof(s));
    g_state = &s;
    fake_init(&f, widget_replies);
    fake_collect_in(&f, &widget_def, "eu-central-1", NULL, 2, &o);

    /* Bounded: never more than max_in_flight calls outstanding. */
    ck_assert_int_eq(f.max_outstanding, 2);
    ck_assert_int_eq((int)json_array_size(f.log), 6 + 3 + 3 + 1);
    ck_assert_int_eq(f.unmatched, 1);
    /* Every page's items, in order of the calls. */
    ck_assert(ck_slot_ok(&s.many));
    ck_assert_int_eq((int)json_array_size(s.many.items), 8);
    ck_assert_str_eq(json_string_value(json_array_get(s.many.items, 0)), "w1");
    ck_assert_str_eq(json_string_value(json_array_get(s.many.items, 2)), "w3");
    ck_assert_str_eq(json_string_value(json_array_get(s.many.items, 3)), "wx");
    ck_assert_int_eq((int)s.many.calls, 6);
    /* A slot fails as a whole with its first failure. */
    ck_assert(!ck_slot_ok(&s.pair));
    ck_assert_int_eq(s.pair.status, COLLECT_THROTTLED);
    ck_assert_str_eq(s.pair.detail, "Throttling: injected");
    /* Absent codes mean "not configured", not failure. */
    ck_assert(s.saw_absent);
    ck_assert_int_eq(s.denied_status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(s.denied_detail, "widgetsvc:GetSecret");
    /* A call the transport refused is a failure like any other. */
    ck_assert_str_eq(s.unmatched_detail, strerror(ENOENT));
    /* The phase queued from idle ran, then idle finished the work. */
    ck_assert(ck_slot_ok(&s.lone));
    ck_assert_int_eq((int)json_array_size(s.lone.items), 1);
    ck_assert_int_eq(s.idle_calls, 2);
    /* Scopes as the idle callback set them. */
    ck_assert_int_eq(fake_scope(o.res, "widget")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "gadget")->status, COLLECT_THROTTLED);

    ck_slot_clear(&s.many);
    ck_slot_clear(&s.pair);
    ck_slot_clear(&s.lone);
    fake_run_free(&o);
    fake_close(&f);
}
END_TEST

/* A custom hook whose queue has nothing to do finishes at once. */
static bool empty_idle(struct ck *ck, void *ud)
{
    (void)ud;
    collect_scope_status(ck_collect_run(ck), "widget", COLLECT_OK, NULL);
    return false;
}

static int empty_custom(struct collect_run *run)
{
    struct ck *ck = NULL;
    ck_assert_int_eq(ck_new(run, &ck), 0);
    ck_run(ck, empty_idle, NULL);
    return 0;
}

static const char *const empty_types[] = { "widget", NULL };
static const struct collector_def empty_def = {
    .name = "empty",
    .service = "widgetsvc",
    .extra_types = empty_types,
    .custom = empty_custom,
};

START_TEST(queue_empty)
{
    struct fake f;
    struct fake_run o;
    fake_init(&f, NULL);
    fake_collect(&f, &empty_def, &o);
    ck_assert_int_eq((int)json_array_size(f.log), 0);
    ck_assert_int_eq(fake_scope(o.res, "widget")->status, COLLECT_OK);
    fake_run_free(&o);
    fake_close(&f);
}
END_TEST

/* Cancelled while calls are in flight: they end as cancelled, the idle
 * callback still runs once the queue drains, and the run finishes. */
START_TEST(queue_cancelled)
{
    struct fake f;
    struct widget_state st;
    struct fake_run o = { 0 };
    struct collect_transport t;
    struct collect_options opts = { .partition = "aws",
                                    .account = "123456789012",
                                    .region = "eu-central-1",
                                    .max_in_flight = 2,
                                    .now_ms = 1 };
    struct collect_run *run = NULL;
    struct perr err = { 0 };
    memset(&st, 0, sizeof(st));
    g_state = &st;
    fake_init(&f, widget_replies);
    t = (struct collect_transport){ fake_call, &f };
    opts.transport = &t;
    ck_assert_int_eq(collect_start(&widget_def, &opts, fake_on_done, &o, &run, &err), 0);
    collect_cancel(run);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    ck_assert(o.done);
    /* Only the first two calls were ever issued. */
    ck_assert_int_eq((int)json_array_size(f.log), 2);
    ck_assert(!ck_slot_ok(&st.many));
    ck_assert_int_eq(st.many.status, COLLECT_ERROR);
    ck_assert_str_eq(st.many.detail, "cancelled");
    ck_assert_int_eq(fake_scope(o.res, "widget")->status, COLLECT_ERROR);
    ck_assert_str_eq(fake_scope(o.res, "widget")->detail, "cancelled");
    ck_slot_clear(&st.many);
    ck_slot_clear(&st.pair);
    ck_slot_clear(&st.lone);
    fake_run_free(&o);
    fake_close(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_kit");
    TCase *tc = tcase_create("kit");
    tcase_add_test(tc, field_table);
    tcase_add_test(tc, conversions);
    tcase_add_test(tc, paths);
    tcase_add_test(tc, unknown_marks);
    tcase_add_test(tc, error_details);
    tcase_add_test(tc, queue_phases_slots);
    tcase_add_test(tc, queue_empty);
    tcase_add_test(tc, queue_cancelled);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
