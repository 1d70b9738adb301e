/* The pipeline with a fake AWS transport: cycles over accounts x regions,
 * snapshot batches through the database queue, unknown scopes, global
 * collectors, busy collectors, closing while running. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "pipeline.h"
#include "snapshot.h"
#include "testutil.h"

struct fake {
    uv_loop_t *loop;
    uv_idle_t idle;
    struct call *head;
    int calls;
    bool deny_west; /* ListThings in eu-west-1 is denied */
    int version;    /* changes the items' attributes */
    bool hang;      /* never answer (to test closing) */
};

struct call {
    struct call *next;
    char region[32];
    char op[64];
    aws_page_cb page_cb;
    aws_done_cb done_cb;
    void *ud;
};

static void serve(uv_idle_t *h)
{
    struct fake *f = h->data;
    struct call *c = f->head;
    if (!c || f->hang) {
        uv_idle_stop(h);
        return;
    }
    f->head = c->next;
    if (str_eq(c->op, "DescribeRegions")) {
        json_t *o = json_loads("{\"Regions\":[{\"RegionName\":\"eu-central-1\"},"
                               "{\"RegionName\":\"eu-west-1\"},{\"RegionName\":\"ap-east-1\","
                               "\"OptInStatus\":\"not-opted-in\"}]}",
                               0, NULL);
        struct aws_page p = { o, 0 };
        int r = c->page_cb(&p, c->ud);
        json_decref(o);
        c->done_cb(r, NULL, c->ud);
    } else if (f->deny_west && str_eq(c->region, "eu-west-1")) {
        struct aws_error e = { .kind = AWS_ERR_ACCESS_DENIED,
                               .code = "AccessDenied",
                               .iam_action = "svc:ListThings" };
        c->done_cb(-EACCES, &e, c->ud);
    } else {
        char text[256];
        json_t *o;
        struct aws_page p = { NULL, 0 };
        int r;
        snprintf(text, sizeof(text),
                 "{\"Things\":[{\"Name\":\"a-%s\",\"V\":%d},{\"Name\":\"b-%s\",\"V\":1}]}",
                 c->region, f->version, c->region);
        o = json_loads(text, 0, NULL);
        p.output = o;
        r = c->page_cb(&p, c->ud);
        json_decref(o);
        c->done_cb(r, NULL, c->ud);
    }
    free(c);
}

static int fake_call(void *t, const struct aws_request *req, aws_page_cb page_cb,
                     aws_done_cb done_cb, void *ud, struct perr *err)
{
    struct fake *f = t;
    struct call *c = calloc(1, sizeof(*c)), **tail = &f->head;
    snprintf(c->region, sizeof(c->region), "%s", req->region);
    snprintf(c->op, sizeof(c->op), "%s", req->operation);
    c->page_cb = page_cb;
    c->done_cb = done_cb;
    c->ud = ud;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    f->calls++;
    if (req->stats)
        req->stats->calls++;
    uv_idle_start(&f->idle, serve);
    return 0;
}

static int map_thing(struct collect_run *run, const json_t *item, struct resource *r)
{
    str_replace(&r->id, json_string_value(json_object_get(item, "Name")));
    collect_copy(r->attrs, "v", item, "V");
    return 0;
}

static const struct collect_list lists[] = {
    { .type = "thing", .operation = "ListThings", .items = "Things[]", .map = map_thing },
    { 0 },
};
static const struct collector_def things = { .name = "things", .service = "svc", .lists = lists };
static const struct collector_def gthings = {
    .name = "gthings", .service = "svc", .global = true, .lists = lists
};
static const struct collector_def *const registry[] = { &things, &gthings, NULL };

struct env {
    uv_loop_t loop;
    struct fake fake;
    struct collect_transport transport;
    struct config *cfg;
    struct db *db;
    struct dbq *q;
    struct pipeline *p;
    char *tmp;
    int prepared;
    int cycle_result;
    struct pipeline_cycle last;
    json_t *last_unknown;
    int cycles;
    bool closed;
};

static void on_prepared(int result, const struct perr *err, void *ud)
{
    struct env *e = ud;
    e->prepared = result == 0 ? 1 : -1;
}

static void on_cycle(int result, const struct pipeline_cycle *c, const struct perr *err, void *ud)
{
    struct env *e = ud;
    e->cycle_result = result;
    e->last = *c;
    json_decref(e->last_unknown);
    e->last_unknown = json_incref(c->unknown);
    e->cycles++;
}

static void env_init(struct env *e, const char *regions_text)
{
    struct perr err = { 0 };
    struct pipeline_options po = { 0 };
    char *path;
    static char *const no_regions[] = { NULL };
    memset(e, 0, sizeof(*e));
    e->tmp = tu_tmpdir();
    path = tu_path_join(e->tmp, "p.db");
    ck_assert_int_eq(uv_loop_init(&e->loop), 0);
    uv_idle_init(&e->loop, &e->fake.idle);
    e->fake.idle.data = &e->fake;
    e->fake.loop = &e->loop;
    e->transport = (struct collect_transport){ fake_call, &e->fake };
    ck_assert_int_eq(config_load_string("t", regions_text, NULL, &e->cfg, &err, NULL), 0);
    ck_assert_int_eq(db_open(path, DB_READWRITE, &e->db, &err), 0);
    free(path);
    ck_assert_int_eq(dbq_new(&e->loop, e->db, &e->q), 0);
    po.loop = &e->loop;
    po.cfg = e->cfg;
    po.dbq = e->q;
    po.transport = &e->transport;
    po.account_id = "111111111111";
    po.registry = registry;
    po.regions = no_regions;
    ck_assert_int_eq(pipeline_new(&po, &e->p, &err), 0);
    ck_assert_int_eq(pipeline_prepare(e->p, on_prepared, e), 0);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(e->prepared, 1);
}

static void run_cycle(struct env *e, const char *name)
{
    struct perr err = { 0 };
    int before = e->cycles;
    ck_assert_int_eq(pipeline_collect(e->p, name, on_cycle, e, &err), 0);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(e->cycles, before + 1);
}

static void closed_cb(void *ud)
{
    ((struct env *)ud)->closed = true;
}

static void queue_closed(void *ud)
{
}

static void env_end(struct env *e)
{
    pipeline_close(e->p, closed_cb, e);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert(e->closed);
    dbq_close(e->q, queue_closed, NULL);
    uv_close((uv_handle_t *)&e->fake.idle, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&e->loop), 0);
    json_decref(e->last_unknown);
    config_free(e->cfg);
    tu_rmrf(e->tmp);
    free(e->tmp);
}

START_TEST(regions_from_describe_and_versions)
{
    struct env e;
    env_init(&e, "[plumb]\n");
    /* No region configured: the enabled ones, not the opt-in one. */
    ck_assert_int_eq((int)strv_length(pipeline_account(e.p, 0)->regions), 2);
    run_cycle(&e, "things");
    ck_assert_int_eq(e.cycle_result, 0);
    ck_assert_str_eq(e.last.status, "ok");
    ck_assert_int_eq(e.last.snap.resources_seen, 4);
    ck_assert_int_eq(e.last.snap.versions_written, 4);
    ck_assert_int_eq(e.last.aws.calls, 2);
    /* Unchanged: nothing written. */
    run_cycle(&e, "things");
    ck_assert_int_eq(e.last.snap.versions_written, 0);
    /* One attribute of one item per region changes. */
    e.fake.version = 2;
    run_cycle(&e, "things");
    ck_assert_int_eq(e.last.snap.versions_written, 2);
    env_end(&e);
}
END_TEST

START_TEST(denied_region_is_unknown_not_deleted)
{
    struct env e;
    json_t *u;
    env_init(&e, "[plumb]\nregions = eu-central-1, eu-west-1\n");
    run_cycle(&e, "things");
    e.fake.deny_west = true;
    run_cycle(&e, "things");
    ck_assert_str_eq(e.last.status, "partial");
    ck_assert_int_eq(e.last.snap.tombstones, 0);
    ck_assert_int_eq((int)json_array_size(e.last_unknown), 1);
    u = json_array_get(e.last_unknown, 0);
    ck_assert_str_eq(json_string_value(json_object_get(u, "region")), "eu-west-1");
    ck_assert_str_eq(json_string_value(json_object_get(u, "status")), "access_denied");
    ck_assert_str_eq(json_string_value(json_object_get(u, "detail")), "svc:ListThings");
    env_end(&e);
}
END_TEST

START_TEST(global_runs_once_per_account)
{
    struct env e;
    env_init(&e, "[plumb]\nregions = eu-central-1, eu-west-1\n");
    run_cycle(&e, "gthings");
    ck_assert_int_eq(e.last.aws.calls, 1);
    ck_assert_int_eq(e.last.snap.resources_seen, 2);
    env_end(&e);
}
END_TEST

START_TEST(busy_and_unknown_collectors)
{
    struct env e;
    struct perr err = { 0 };
    env_init(&e, "[plumb]\nregions = eu-central-1\n");
    e.fake.hang = true;
    ck_assert_int_eq(pipeline_collect(e.p, "things", on_cycle, &e, &err), 0);
    ck_assert_int_eq(pipeline_collect(e.p, "things", on_cycle, &e, &err), -EBUSY);
    ck_assert_str_eq(err.msg, "collector things is still running");
    ck_assert_int_eq(pipeline_collect(e.p, "nope", on_cycle, &e, &err), -ENOENT);
    /* Closing while a call hangs: the cycle ends as abandoned. */
    uv_run(&e.loop, UV_RUN_NOWAIT);
    pipeline_close(e.p, closed_cb, &e);
    e.fake.hang = false;
    uv_idle_start(&e.fake.idle, serve);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    ck_assert(e.closed);
    ck_assert_int_eq(e.cycles, 1);
    ck_assert_str_eq(e.last.status, "abandoned");
    dbq_close(e.q, queue_closed, NULL);
    uv_close((uv_handle_t *)&e.fake.idle, NULL);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&e.loop), 0);
    json_decref(e.last_unknown);
    config_free(e.cfg);
    tu_rmrf(e.tmp);
    free(e.tmp);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_add_test(tc, regions_from_describe_and_versions);
    tcase_add_test(tc, denied_region_is_unknown_not_deleted);
    tcase_add_test(tc, global_runs_once_per_account);
    tcase_add_test(tc, busy_and_unknown_collectors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
