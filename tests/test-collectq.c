#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectq.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION  "eu-central-1"
#define T_THING "thing"

/* What the callbacks saw, per test. */
static struct {
    int pages;
    int items;
    int oks;
    int fails;
    int frees;
    enum collect_status last_status;
    char last_detail[256];
} seen;

static int page_items(struct collectq *q, const json_t *output, void *ud)
{
    struct collect_run *run = collectq_run(q);
    size_t i;
    json_t *it;
    (void)ud;
    seen.pages++;
    json_array_foreach (json_object_get(output, "Things"), i, it) {
        struct resource *r = NULL;
        const char *name = json_string_value(json_object_get(it, "Name"));
        if (!name)
            return -EINVAL;
        ck_assert_int_eq(collect_new_resource(run, T_THING, NULL, name, &r), 0);
        ck_assert_int_eq(collect_add(run, r), 0);
        seen.items++;
    }
    return 0;
}

static void on_ok(struct collectq *q, void *ud)
{
    (void)ud;
    seen.oks++;
    collect_scope_status(collectq_run(q), T_THING, COLLECT_OK, NULL);
}

static void on_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    seen.fails++;
    seen.last_status = st;
    snprintf(seen.last_detail, sizeof(seen.last_detail), "%s", detail);
    collect_scope_status(collectq_run(q), T_THING, st, detail);
}

static void count_free(void *ud)
{
    (void)ud;
    seen.frees++;
}

static const char *const absent[] = { "NothingHere", NULL };

static int add_list(struct collectq *q, const char *op, bool manual, void *ud)
{
    return collectq_add(q, &(struct collectq_req){ .operation = op,
                                                   .params = json_pack("{s:i}", "Max", 10),
                                                   .in_token = manual ? "NextToken" : NULL,
                                                   .out_token = manual ? "NextToken" : NULL,
                                                   .all_pages = !manual,
                                                   .absent_codes = absent,
                                                   .page = page_items,
                                                   .ok = on_ok,
                                                   .fail = on_fail,
                                                   .ud = ud,
                                                   .ud_free = count_free });
}

/* A collector whose custom part lists "things" by hand-paging. */
static int custom_paged(struct collect_run *run)
{
    struct collectq *q = NULL;
    ck_assert_int_eq(collectq_new(run, &q), 0);
    ck_assert_int_eq(add_list(q, "ListThings", true, NULL), 0);
    collectq_release(q);
    return 0;
}

static const char *const thing_types[] = { T_THING, NULL };

static const struct collector_def paged_def = {
    .name = "qtest",
    .service = "thingsvc",
    .extra_types = thing_types,
    .custom = custom_paged,
};

static void reset(void)
{
    memset(&seen, 0, sizeof(seen));
}

START_TEST(manual_paging)
{
    static const struct fake_reply replies[] = {
        { "ListThings",
          "{\"NextToken\":\"t2\"}",
          { "{\"Things\":[{\"Name\":\"c\"}],\"NextToken\":\"t3\"}" } },
        { "ListThings", "{\"NextToken\":\"t3\"}", { "{\"Things\":[{\"Name\":\"d\"}]}" } },
        { "ListThings",
          NULL,
          { "{\"Things\":[{\"Name\":\"a\"},{\"Name\":\"b\"}],\"NextToken\":\"t2\"}" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    reset();
    fake_collect(&fr, &paged_def, replies, REGION, NULL);
    ck_assert_int_eq(fake_calls(&fr, "ListThings"), 3);
    /* Each page carries the previous token and keeps the other params. */
    ck_assert_ptr_null(json_object_get(fake_call_params(&fr, "ListThings", 0), "NextToken"));
    ck_assert_str_eq(
        json_string_value(json_object_get(fake_call_params(&fr, "ListThings", 1), "NextToken")),
        "t2");
    ck_assert_int_eq(
        json_integer_value(json_object_get(fake_call_params(&fr, "ListThings", 2), "Max")), 10);
    ck_assert(!fake_call_at(&fr, "ListThings", 0)->all_pages);
    ck_assert_int_eq(seen.pages, 3);
    ck_assert_int_eq((int)fake_count(&fr, T_THING), 4);
    ck_assert_int_eq(seen.oks, 1);
    ck_assert_int_eq(seen.fails, 0);
    ck_assert_int_eq(seen.frees, 1);
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(same_token_twice)
{
    static const struct fake_reply replies[] = {
        { "ListThings",
          "{\"NextToken\":\"t2\"}",
          { "{\"Things\":[{\"Name\":\"b\"}],\"NextToken\":\"t2\"}" } },
        { "ListThings", NULL, { "{\"Things\":[{\"Name\":\"a\"}],\"NextToken\":\"t2\"}" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    reset();
    fake_collect(&fr, &paged_def, replies, REGION, NULL);
    ck_assert_int_eq(fake_calls(&fr, "ListThings"), 2);
    ck_assert_int_eq(seen.fails, 1);
    ck_assert_int_eq(seen.oks, 0);
    ck_assert_str_eq(seen.last_detail, "the same page token came back twice");
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_ERROR);
    /* What was read stays. */
    ck_assert_int_eq((int)fake_count(&fr, T_THING), 2);
    ck_assert_int_eq(seen.frees, 1);
    fake_end(&fr);
}
END_TEST

START_TEST(absent_denied_and_bad_pages)
{
    static const struct fake_reply absent_replies[] = {
        { "ListThings", NULL, { NULL }, "NothingHere", AWS_ERR_NOT_FOUND },
        { NULL },
    };
    static const struct fake_reply denied[] = {
        { "ListThings",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "thingsvc:ListThings" },
        { NULL },
    };
    static const struct fake_reply other[] = {
        { "ListThings", NULL, { NULL }, "ValidationException", AWS_ERR_CLIENT },
        { NULL },
    };
    static const struct fake_reply bad_page[] = {
        { "ListThings", NULL, { "{\"Things\":[{\"Name\":\"a\"},{\"NoName\":1}]}" } },
        { NULL },
    };
    struct fake_run fr = { 0 };

    reset();
    fake_collect(&fr, &paged_def, absent_replies, REGION, NULL);
    ck_assert_int_eq(seen.oks, 1);
    ck_assert_int_eq(seen.pages, 0);
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_OK);
    fake_end(&fr);

    reset();
    fake_collect(&fr, &paged_def, denied, REGION, NULL);
    ck_assert_int_eq(seen.fails, 1);
    ck_assert_int_eq(seen.last_status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(seen.last_detail, "thingsvc:ListThings");
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_ACCESS_DENIED);
    fake_end(&fr);

    reset();
    fake_collect(&fr, &paged_def, other, REGION, NULL);
    ck_assert_int_eq(seen.last_status, COLLECT_ERROR);
    ck_assert_str_eq(seen.last_detail, "ValidationException: fake failure");
    fake_end(&fr);

    reset();
    fake_collect(&fr, &paged_def, bad_page, REGION, NULL);
    ck_assert_int_eq(seen.fails, 1);
    ck_assert_int_eq(seen.last_status, COLLECT_ERROR);
    ck_assert_str_eq(seen.last_detail, "could not map the response");
    ck_assert_int_eq(seen.frees, 1);
    fake_end(&fr);
}
END_TEST

/* Many calls: bounded concurrency, calls added from page handlers. */
static int fan_page(struct collectq *q, const json_t *output, void *ud)
{
    size_t i;
    json_t *it;
    (void)ud;
    json_array_foreach (json_object_get(output, "Groups"), i, it) {
        json_t *params = json_pack("{s:O}", "Group", it);
        ck_assert_int_eq(collectq_add(q, &(struct collectq_req){ .operation = "ListThings",
                                                                 .params = params,
                                                                 .all_pages = true,
                                                                 .page = page_items,
                                                                 .fail = on_fail,
                                                                 .ud_free = count_free }),
                         0);
    }
    return 0;
}

static int custom_fan(struct collect_run *run)
{
    struct collectq *q = NULL;
    ck_assert_int_eq(collectq_new(run, &q), 0);
    ck_assert_int_eq(collectq_add(q, &(struct collectq_req){ .operation = "ListGroups",
                                                             .page = fan_page,
                                                             .ok = on_ok,
                                                             .fail = on_fail }),
                     0);
    collectq_release(q);
    return 0;
}

static const struct collector_def fan_def = {
    .name = "qfan",
    .service = "thingsvc",
    .extra_types = thing_types,
    .custom = custom_fan,
};

static const struct fake_reply fan_replies[] = {
    { "ListGroups", NULL, { "{\"Groups\":[\"g1\",\"g2\",\"g3\",\"g4\",\"g5\",\"g6\"]}" } },
    { "ListThings", "{\"Group\":\"g4\"}", { NULL }, "Throttling", AWS_ERR_THROTTLED },
    { "ListThings",
      NULL,
      { "{\"Things\":[{\"Name\":\"x\"}]}", "{\"Things\":[{\"Name\":\"y\"}]}" } },
    { NULL },
};

START_TEST(fan_out)
{
    struct fake_run fr = { 0 };
    reset();
    fake_collect(&fr, &fan_def, fan_replies, REGION, NULL);
    ck_assert_int_eq(fake_calls(&fr, "ListThings"), 6);
    /* fake_collect runs with max_in_flight 2. */
    ck_assert_int_eq(fr.max_pending, 2);
    /* Two pages from each of the five groups that answered. */
    ck_assert_int_eq(seen.items, 10);
    ck_assert_int_eq(seen.frees, 6);
    ck_assert_int_eq(seen.fails, 1);
    ck_assert_int_eq(seen.last_status, COLLECT_THROTTLED);
    /* One failed call makes the whole type unknown, although the OK of
     * the group listing came first. */
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_THROTTLED);
    ck_assert_str_eq(fake_scope(&fr, T_THING, NULL)->detail, "Throttling: fake failure");
    fake_end(&fr);
}
END_TEST

START_TEST(cancelled)
{
    struct fake_run fr = { .cancel_after = 2 };
    reset();
    fake_collect(&fr, &fan_def, fan_replies, REGION, NULL);
    /* The group listing and one thing listing were answered; the calls in
     * flight came back cancelled, the queued ones were never issued. */
    ck_assert(fr.done);
    ck_assert_int_eq(seen.frees, 6);
    ck_assert_int_eq(seen.fails, 5);
    ck_assert_int_eq(fake_calls(&fr, "ListThings"), 3);
    ck_assert_str_eq(seen.last_detail, "cancelled");
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_ERROR);
    fake_end(&fr);
}
END_TEST

static int custom_bad_add(struct collect_run *run)
{
    struct collectq *q = NULL;
    json_t *params = json_object();
    ck_assert_int_eq(collectq_new(run, &q), 0);
    /* Refused requests release their params (the sanitizers check). */
    ck_assert_int_eq(
        collectq_add(q, &(struct collectq_req){ .operation = "ListThings", .params = params }),
        -EINVAL);
    ck_assert_int_eq(collectq_add(q, &(struct collectq_req){ .page = page_items }), -EINVAL);
    collect_scope_status(run, T_THING, COLLECT_OK, NULL);
    /* Releasing an empty queue ends the custom part at once. */
    collectq_release(q);
    return 0;
}

static const struct collector_def bad_def = {
    .name = "qbad",
    .service = "thingsvc",
    .extra_types = thing_types,
    .custom = custom_bad_add,
};

START_TEST(bad_requests_and_empty_queue)
{
    static const struct fake_reply replies[] = { { NULL } };
    struct fake_run fr = { 0 };
    reset();
    fake_collect(&fr, &bad_def, replies, REGION, NULL);
    ck_assert(fr.done);
    ck_assert_int_eq(fr.n_calls, 0);
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(unissued_call)
{
    /* No reply for the operation: the call is refused synchronously. */
    static const struct fake_reply replies[] = { { NULL } };
    struct fake_run fr = { 0 };
    reset();
    fake_collect(&fr, &paged_def, replies, REGION, NULL);
    ck_assert_int_eq(fr.unmatched, 1);
    ck_assert_int_eq(seen.fails, 1);
    ck_assert_str_eq(seen.last_detail, "the call could not be issued");
    ck_assert_int_eq(seen.frees, 1);
    ck_assert_int_eq(fake_scope(&fr, T_THING, NULL)->status, COLLECT_ERROR);
    fake_end(&fr);
}
END_TEST

START_TEST(helpers)
{
    struct aws_error denied = { .kind = AWS_ERR_ACCESS_DENIED,
                                .code = "AccessDenied",
                                .message = "no",
                                .iam_action = "svc:Op" };
    struct aws_error throttled = { .kind = AWS_ERR_THROTTLED, .code = "Throttling" };
    struct resource *r = NULL;
    char *detail = NULL;
    ck_assert_int_eq(collectq_status(-EIO, &denied, &detail), COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(detail, "svc:Op");
    free(detail);
    ck_assert_int_eq(collectq_status(-EIO, &throttled, &detail), COLLECT_THROTTLED);
    ck_assert_str_eq(detail, "Throttling");
    free(detail);
    ck_assert_int_eq(collectq_status(-ECANCELED, NULL, &detail), COLLECT_ERROR);
    ck_assert_str_eq(detail, "cancelled");
    free(detail);
    ck_assert_int_eq(collectq_status(-ETIMEDOUT, NULL, &detail), COLLECT_ERROR);
    ck_assert_str_eq(detail, strerror(ETIMEDOUT));
    free(detail);
    ck_assert_int_eq(resource_new(&r), 0);
    ck_assert_int_eq(collectq_tags_not_read(r), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:not read (one call per resource)");
    resource_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collectq");
    TCase *tc = tcase_create("collectq");
    tcase_add_test(tc, manual_paging);
    tcase_add_test(tc, same_token_twice);
    tcase_add_test(tc, absent_denied_and_bad_pages);
    tcase_add_test(tc, fan_out);
    tcase_add_test(tc, cancelled);
    tcase_add_test(tc, bad_requests_and_empty_queue);
    tcase_add_test(tc, unissued_call);
    tcase_add_test(tc, helpers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
