/* lib/diff on a real SQLite store: declared rows written by lib/statesrc
 * from the real fixtures (shared/fixtures/tfstate, read at run time), live
 * documents written by lib/snapshot as a collector would produce them for
 * the same resources (following the type table), then altered in known
 * ways.  The drift items are also fed to lib/events to check the contract
 * (sorted, unique keys). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diff.h"
#include "events.h"
#include "ignore.h"
#include "normalize.h"
#include "resource.h"
#include "snapshot.h"
#include "statesrc.h"
#include "testutil.h"
#include "tfstate.h"
#include "typemap.h"

#define ACCT "111111111111"

static struct typemap *tm;
static struct db *db;
static char *tmp_dir;

static void setup(void)
{
    struct perr err = { 0 };
    char *path;
    ck_assert_msg(typemap_load_embedded(&tm, &err) == 0, "%s", err.msg);
    tmp_dir = tu_tmpdir();
    path = tu_path_join(tmp_dir, "plumb.db");
    ck_assert_msg(db_open(path, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    free(path);
}

static void teardown(void)
{
    db = db_close(db);
    tm = typemap_free(tm);
    tu_rmrf(tmp_dir);
    free(tmp_dir);
}

/* ---- a collector's view of declared attributes (as in test-normalize) ------------ */

static json_t *live_value(const struct typemap_attr *a, const json_t *v);

static json_t *live_block(const struct typemap_attr *a, const json_t *e)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!json_is_object(e))
        return json_deep_copy(e);
    json_object_foreach ((json_t *)e, k, v) {
        const struct typemap_attr *s = NULL;
        for (size_t i = 0; i < a->n_attrs; i++)
            if (str_eq(a->attrs[i].name, k))
                s = &a->attrs[i];
        json_object_set_new(out, k, s ? live_value(s, v) : json_deep_copy(v));
    }
    return out;
}

static json_t *live_value(const struct typemap_attr *a, const json_t *v)
{
    if (!v || json_is_null(v))
        return a->compare == TYPEMAP_COMPARE_DEFAULT ? json_deep_copy(a->default_value)
                                                     : json_null();
    if (json_is_array(v)) {
        bool unordered = a->kind == TYPEMAP_KIND_SET || a->compare == TYPEMAP_COMPARE_SET ||
                         a->compare == TYPEMAP_COMPARE_SET_OF_OBJECTS;
        json_t *out = json_array();
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(v, unordered ? n - 1 - i : i);
            json_array_append_new(out, a->n_attrs ? live_block(a, e) : json_deep_copy(e));
        }
        return out;
    }
    if (json_is_object(v))
        return a->n_attrs ? live_block(a, v) : json_deep_copy(v);
    return json_deep_copy(v);
}

static void fill_live(struct resource *r, const struct typemap_type *t, const json_t *declared)
{
    for (size_t i = 0; i < t->n_attrs; i++) {
        const struct typemap_attr *a = &t->attrs[i];
        const json_t *d = json_object_get(declared, a->name);
        if (a->in_tags) {
            const json_t *all = json_object_get(declared, "tags_all");
            const json_t *src = json_is_object(all) ? all : d;
            if (json_is_object(src))
                json_object_update(r->tags, (json_t *)src);
            continue;
        }
        if (d)
            json_object_set_new(r->attrs, a->name, live_value(a, d));
        else if (a->compare == TYPEMAP_COMPARE_DEFAULT)
            json_object_set_new(r->attrs, a->name, json_deep_copy(a->default_value));
    }
}

/* ---- the estate ---------------------------------------------------------------------- */

struct estate {
    struct resource **live;
    size_t n;
    json_t *scopes; /* "account/region/type" -> status */
};

static void estate_free(struct estate *e)
{
    for (size_t i = 0; i < e->n; i++)
        resource_free(e->live[i]);
    free(e->live);
    json_decref(e->scopes);
    memset(e, 0, sizeof(*e));
}

static struct resource *estate_add(struct estate *e, const char *account, const char *region,
                                   const char *type, const char *id)
{
    struct resource *r = NULL;
    char *k;
    ck_assert_int_eq(resource_new_with("aws", account, region, type, NULL, id, NULL, &r), 0);
    r->source = strdup("describe");
    e->live = realloc(e->live, (e->n + 1) * sizeof(*e->live));
    e->live[e->n++] = r;
    if (!e->scopes)
        e->scopes = json_object();
    k = resource_key_make(account, region, type, "");
    if (!json_object_get(e->scopes, k))
        json_object_set_new(e->scopes, k, json_string("ok"));
    free(k);
    return r;
}

static struct resource *estate_find(struct estate *e, const char *type, const char *id)
{
    for (size_t i = 0; i < e->n; i++)
        if (str_eq(e->live[i]->type, type) && str_eq(e->live[i]->id, id))
            return e->live[i];
    ck_abort_msg("no live %s %s", type, id);
    return NULL;
}

static void estate_remove(struct estate *e, const char *type, const char *id)
{
    for (size_t i = 0; i < e->n; i++)
        if (str_eq(e->live[i]->type, type) && str_eq(e->live[i]->id, id)) {
            resource_free(e->live[i]);
            e->live[i] = e->live[--e->n];
            return;
        }
    ck_abort_msg("no live %s %s", type, id);
}

static void estate_scope(struct estate *e, const char *account, const char *region,
                         const char *type, const char *status)
{
    char *k = resource_key_make(account, region, type, "");
    if (!e->scopes)
        e->scopes = json_object();
    json_object_set_new(e->scopes, k, json_string(status));
    free(k);
}

/* Write the estate as one snapshot batch. */
static void estate_write(struct estate *e)
{
    size_t n = json_object_size(e->scopes), i = 0;
    struct snapshot_scope *sc = calloc(n + 1, sizeof(*sc));
    char **keys = calloc(n + 1, sizeof(char *));
    const char *k;
    json_t *v;
    struct snapshot_batch b = { .cycle_id = 1, .observed_at = 1000 };
    struct perr err = { 0 };

    json_object_foreach (e->scopes, k, v) {
        char *a = strdup(k), *reg = strchr(a, '/'), *type;
        *reg++ = '\0';
        type = strchr(reg, '/');
        *type++ = '\0';
        type[strlen(type) - 1] = '\0';
        keys[i] = a;
        sc[i].account = a;
        sc[i].region = reg;
        sc[i].type = type;
        ck_assert_int_eq(collect_status_from_name(json_string_value(v), &sc[i].status), 0);
        sc[i].detail = sc[i].status == COLLECT_OK ? NULL : "test:Denied";
        i++;
    }
    b.scopes = sc;
    b.n_scopes = n;
    b.resources = e->live;
    b.n_resources = e->n;
    ck_assert_msg(snapshot_write(db, &b, NULL, &err) == 0, "%s", err.msg);
    for (i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(sc);
}

static char *attr_arn(const json_t *attrs)
{
    const char *a = json_string_value(json_object_get(attrs, "arn"));
    return a ? strdup(a) : NULL;
}

/* Store a state under source and add what it declares to the estate as
 * live, with default_region for rows whose region the state does not say. */
static void declare(struct estate *e, const char *source, struct tfstate *st,
                    const char *default_region, bool make_live)
{
    json_t *rows = NULL, *row;
    struct perr err = { 0 };
    struct statesrc_stored meta = { .location = source, .serial = st->serial };
    size_t i;

    ck_assert_msg(statesrc_declared_rows(st, tm, ACCT, &rows, &err) == 0, "%s", err.msg);
    ck_assert_msg(statesrc_store(db, source, &meta, rows, 1000, &err) == 0, "%s", err.msg);
    json_array_foreach (rows, i, row) {
        const char *type = json_string_value(json_object_get(row, "type"));
        const struct typemap_type *t = typemap_find(tm, type);
        const char *region = json_string_value(json_object_get(row, "region"));
        const char *account = json_string_value(json_object_get(row, "account"));
        const json_t *attrs = json_object_get(row, "attrs");
        struct resource *r;
        char *id = NULL;
        if (!make_live || !t || t->declared_only || !t->collector ||
            !str_eq(json_string_value(json_object_get(row, "mode")), "managed"))
            continue;
        ck_assert_int_eq(typemap_live_id(tm, type, attrs, &id, &err), 0);
        r = estate_add(e, account ? account : ACCT, region ? region : default_region, t->type, id);
        r->arn = attr_arn(attrs);
        fill_live(r, t, attrs);
        free(id);
    }
    json_decref(rows);
}

static struct tfstate *load_fixture(const char *rel)
{
    char *path = tu_fixture(rel);
    struct tfstate *st = NULL;
    struct perr err = { 0 };
    ck_assert_msg(tfstate_load(path, NULL, &st, &err) == 0, "%s", err.msg);
    free(path);
    return st;
}

static struct tfstate *parse_text(const char *text)
{
    struct tfstate *st = NULL;
    struct perr err = { 0 };
    ck_assert_msg(tfstate_parse("test", text, strlen(text), NULL, &st, &err) == 0, "%s", err.msg);
    return st;
}

static void declare_fixture(struct estate *e, const char *source, const char *rel, bool make_live)
{
    struct tfstate *st = load_fixture(rel);
    declare(e, source, st, "eu-west-3", make_live);
    tfstate_free(st);
}

static struct diff_result *run(const struct ignore_set *ign, bool include_defaults)
{
    struct diff_options o = { .tm = tm, .ignore = ign, .include_defaults = include_defaults };
    struct diff_result *res = NULL;
    struct perr err = { 0 };
    ck_assert_msg(diff_run(db, &o, &res, &err) == 0, "%s", err.msg);
    /* The items are sorted and unique by their event key. */
    for (size_t i = 1; i < res->n; i++)
        ck_assert_msg(strcmp(res->records[i - 1].key, res->records[i].key) < 0, "%s before %s",
                      res->records[i - 1].key, res->records[i].key);
    for (size_t i = 0; i < res->n; i++) {
        char *k = events_drift_key(&res->items[i]);
        ck_assert_str_eq(k, res->records[i].key);
        free(k);
    }
    return res;
}

static char *describe(const struct diff_result *res)
{
    json_t *a = json_array();
    char *s;
    for (size_t i = 0; i < res->n; i++)
        json_array_append_new(a, diff_record_json(&res->records[i]));
    for (size_t i = 0; i < res->n_unknown; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "unknown", res->unknown[i].address,
                                           "source", res->unknown[i].source, "reason",
                                           res->unknown[i].reason));
    s = json_dumps(a, JSON_INDENT(1));
    json_decref(a);
    return s;
}

static void assert_count(const struct diff_result *res, size_t n)
{
    if (res->n != n) {
        char *s = describe(res);
        ck_abort_msg("expected %zu drift records, got %zu:\n%s", n, res->n, s);
    }
}

static const struct diff_record *find(const struct diff_result *res, const char *category,
                                      const char *type, const char *id)
{
    for (size_t i = 0; i < res->n; i++)
        if (str_eq(res->records[i].item.category, category) &&
            str_eq(res->records[i].item.type, type) && str_eq(res->records[i].item.id, id))
            return &res->records[i];
    {
        char *s = describe(res);
        ck_abort_msg("no %s %s %s in:\n%s", category, type, id, s);
    }
    return NULL;
}

static const char *change_path(const struct diff_record *r, size_t i)
{
    return json_string_value(json_object_get(json_array_get(r->item.changes, i), "path"));
}

/* ---- a healthy estate -------------------------------------------------------------------- */

static const char *const healthy_fixtures[] = {
    "tfstate/driftctl/aws_kms_key.tfstate",
    "tfstate/driftctl/aws_s3_full.tfstate",
    "tfstate/driftctl/aws_lb_listener.tfstate",
    "tfstate/driftctl/aws_db_instance.tfstate",
    "tfstate/driftctl/aws_cloudfront_distribution.tfstate",
    "tfstate/driftctl/aws_cloudtrail.tfstate",
    "tfstate/driftctl/aws_ec2_instance.tfstate",
    "tfstate/driftctl/aws_launch_template.tfstate",
    NULL,
};

static void healthy(struct estate *e)
{
    for (size_t i = 0; healthy_fixtures[i]; i++) {
        char name[32];
        snprintf(name, sizeof(name), "state%zu", i);
        declare_fixture(e, name, healthy_fixtures[i], true);
    }
}

START_TEST(test_healthy_estate)
{
    struct estate e = { 0 };
    struct diff_result *res;

    healthy(&e);
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 0);
    ck_assert_int_eq(res->n_unknown, 0);
    ck_assert_int_gt(res->stats.declared, 15);
    ck_assert_int_eq(res->stats.matched, res->stats.live);
    ck_assert_int_eq(res->stats.missing + res->stats.changed + res->stats.unmanaged, 0);
    /* Types plumb does not collect are counted, not drifted. */
    ck_assert_int_gt(res->stats.unsupported, 0);
    ck_assert_ptr_nonnull(json_object_get(res->unsupported_types, "aws_lb_target_group"));
    ck_assert_ptr_nonnull(json_object_get(res->unsupported_types, "aws_s3_bucket_metric"));
    {
        int64_t data = 0;
        for (size_t i = 0; healthy_fixtures[i]; i++) {
            struct tfstate *st = load_fixture(healthy_fixtures[i]);
            for (size_t k = 0; k < st->n_instances; k++)
                data += st->instances[k].mode == TFSTATE_DATA;
            tfstate_free(st);
        }
        ck_assert_int_gt(data, 0);
        ck_assert_int_eq(res->stats.data, data);
    }
    diff_result_free(res);
    estate_free(&e);
}
END_TEST

START_TEST(test_changed_missing_unmanaged)
{
    struct estate e = { 0 };
    struct diff_result *res;
    struct tfstate *st = load_fixture("tfstate/driftctl/aws_kms_key.tfstate");
    const struct tfstate_instance *bar = NULL, *baz = NULL;
    const char *bar_id, *baz_id;
    const struct diff_record *r;
    struct resource *k;
    char acct[32], region[32], *want, *key;

    for (size_t i = 0; i < st->n_instances; i++) {
        if (str_eq(st->instances[i].address, "aws_kms_key.bar"))
            bar = &st->instances[i];
        if (str_eq(st->instances[i].address, "aws_kms_key.baz"))
            baz = &st->instances[i];
    }
    ck_assert_ptr_nonnull(bar);
    ck_assert_ptr_nonnull(baz);
    bar_id = json_string_value(json_object_get(bar->attributes, "key_id"));
    /* The account and region the fixture's ARNs name. */
    {
        const char *arn = json_string_value(json_object_get(bar->attributes, "arn"));
        const char *p3 = arn, *p4;
        for (int f = 0; f < 3; f++)
            p3 = strchr(p3, ':') + 1;
        p4 = strchr(p3, ':') + 1;
        snprintf(region, sizeof(region), "%.*s", (int)(p4 - p3 - 1), p3);
        snprintf(acct, sizeof(acct), "%.*s", (int)strcspn(p4, ":"), p4);
    }
    baz_id = json_string_value(json_object_get(baz->attributes, "key_id"));
    healthy(&e);

    /* The description of bar is edited in the console: medium. */
    k = estate_find(&e, "aws_kms_key", bar_id);
    json_object_set_new(k->attrs, "description", json_string("edited by hand"));
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 1);
    r = find(res, "changed", "aws_kms_key", bar_id);
    ck_assert_str_eq(change_path(r, 0), "description");
    ck_assert_int_eq(r->item.severity, SEVERITY_MEDIUM);
    ck_assert_str_eq(r->item.address, "aws_kms_key.bar");
    ck_assert_str_eq(r->item.source, "state0");
    ck_assert_str_eq(r->module, "");
    ck_assert_str_eq(r->name, "bar");
    ck_assert_ptr_null(r->index_key);
    key = resource_key(k);
    ck_assert_str_eq(r->item.resource_key, key);
    free(key);
    diff_result_free(res);

    /* Rotation switched off: a control reads it, so high. */
    json_object_set_new(
        k->attrs, "enable_key_rotation",
        json_boolean(!json_is_true(json_object_get(bar->attributes, "enable_key_rotation"))));
    estate_write(&e);
    res = run(NULL, false);
    r = find(res, "changed", "aws_kms_key", bar_id);
    ck_assert_int_eq(json_array_size(r->item.changes), 2);
    ck_assert_int_eq(r->item.severity, SEVERITY_HIGH);
    diff_result_free(res);

    /* baz is deleted: missing, as its scope was read. */
    estate_remove(&e, "aws_kms_key", baz_id);
    estate_write(&e);
    res = run(NULL, false);
    r = find(res, "missing", "aws_kms_key", baz_id);
    ck_assert_int_eq(r->item.severity, SEVERITY_HIGH);
    ck_assert_ptr_null(r->item.resource_key);
    ck_assert_str_eq(r->item.address, "aws_kms_key.baz");
    ck_assert_str_eq(r->key, "drift:missing:state0:aws_kms_key.baz");
    diff_result_free(res);

    /* The same, but KMS could not be listed there: unknown, not missing. */
    estate_scope(&e, acct, region, "aws_kms_key", "access_denied");
    estate_write(&e);
    res = run(NULL, false);
    for (size_t i = 0; i < res->n; i++)
        ck_assert_str_ne(res->records[i].item.category, "missing");
    ck_assert_int_eq(res->n_unknown, 1);
    ck_assert_str_eq(res->unknown[0].address, "aws_kms_key.baz");
    ck_assert_int_ge(asprintf(&want,
                              "%s/%s/aws_kms_key: access_denied (test:Denied) was not read "
                              "successfully",
                              acct, region),
                     0);
    ck_assert_str_eq(res->unknown[0].reason, want);
    free(want);
    diff_result_free(res);
    estate_scope(&e, acct, region, "aws_kms_key", "ok");

    /* A key nobody declared: unmanaged.  An AWS-managed key: excluded,
     * unless defaults are asked for. */
    k = estate_add(&e, acct, region, "aws_kms_key", "0000-made-by-hand");
    json_object_set_new(k->attrs, "key_manager", json_string("CUSTOMER"));
    k = estate_add(&e, acct, region, "aws_kms_key", "0000-aws-managed");
    json_object_set_new(k->attrs, "key_manager", json_string("AWS"));
    estate_write(&e);
    res = run(NULL, false);
    r = find(res, "unmanaged", "aws_kms_key", "0000-made-by-hand");
    ck_assert_int_eq(r->item.severity, SEVERITY_MEDIUM);
    ck_assert_ptr_null(r->item.address);
    ck_assert_int_eq(res->stats.excluded, 1);
    diff_result_free(res);
    res = run(NULL, true);
    find(res, "unmanaged", "aws_kms_key", "0000-aws-managed");
    diff_result_free(res);

    tfstate_free(st);
    estate_free(&e);
}
END_TEST

/* What `plumb drift` shows for the one open changed key: the library
 * listing, then the binary itself. */
static void check_listing(const char *bar_id)
{
    json_t *rows = NULL, *o;
    struct perr err = { 0 };
    char *cats[] = { (char *)"missing", NULL };
    struct diff_filter f = { 0 };
    char *plumb = tu_buildpath("daemon/plumb"), *dbpath = tu_path_join(tmp_dir, "plumb.db");
    char *out = NULL, *errout = NULL;
    json_t *j;

    ck_assert_int_eq(diff_list_open(db, tm, &f, &rows, &err), 0);
    ck_assert_int_eq(json_array_size(rows), 1);
    o = json_array_get(rows, 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "category")), "changed");
    ck_assert_str_eq(json_string_value(json_object_get(o, "id")), bar_id);
    ck_assert_str_eq(json_string_value(json_object_get(o, "address")), "aws_kms_key.bar");
    ck_assert_str_eq(json_string_value(json_object_get(o, "module")), "");
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "bar");
    ck_assert_str_eq(json_string_value(json_object_get(o, "first_seen")), "1970-01-01T00:00:05Z");
    ck_assert_int_eq(json_array_size(json_object_get(o, "changes")), 2);
    json_decref(rows);
    f.categories = cats;
    ck_assert_int_eq(diff_list_open(db, tm, &f, &rows, &err), 0);
    ck_assert_int_eq(json_array_size(rows), 0);
    json_decref(rows);

    {
        const char *argv[] = { plumb, "--db", dbpath, "drift", "-o", "json", NULL };
        ck_assert_int_eq(tu_run(argv, NULL, &out, &errout), 0);
        j = json_loads(out, 0, NULL);
        ck_assert_msg(json_is_array(j), "plumb drift -o json printed: %s", out);
        ck_assert_int_eq(json_array_size(j), 1);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "severity")),
                         "medium");
        json_decref(j);
        free(out);
        free(errout);
    }
    {
        const char *argv[] = { plumb, "--db", dbpath, "drift", "--exit-code", NULL };
        ck_assert_int_eq(tu_run(argv, NULL, &out, &errout), 3);
        ck_assert(strstr(out, "aws_kms_key.bar") != NULL);
        ck_assert(strstr(out, "description: Bar -> edited") != NULL);
        ck_assert(strstr(out, "key_usage: ") != NULL);
        free(out);
        free(errout);
    }
    {
        const char *argv[] = { plumb, "--db", dbpath, "drift", "--category", "missing", NULL };
        ck_assert_int_eq(tu_run(argv, NULL, &out, &errout), 0);
        ck_assert_str_eq(out, "No open drift matches.\n");
        free(out);
        free(errout);
    }
    {
        const char *argv[] = { plumb, "--db", dbpath, "drift", "--category", "moved", NULL };
        ck_assert_int_eq(tu_run(argv, NULL, &out, &errout), 2);
        ck_assert(strstr(errout, "--category: unknown category 'moved' (changed, missing, "
                                 "unmanaged, conflict)") != NULL);
        free(out);
        free(errout);
    }
    free(plumb);
    free(dbpath);
}

/* ---- conflicts, .driftignore, the events contract ---------------------------------------- */

START_TEST(test_conflict_ignore_events)
{
    struct estate e = { 0 };
    struct diff_result *res;
    struct ignore_set *ign = NULL;
    struct perr err = { 0 };
    struct tfstate *st = load_fixture("tfstate/driftctl/aws_kms_key.tfstate");
    const char *bar_id = NULL;
    struct resource *k;

    for (size_t i = 0; i < st->n_instances; i++)
        if (str_eq(st->instances[i].address, "aws_kms_key.bar"))
            bar_id = json_string_value(json_object_get(st->instances[i].attributes, "key_id"));
    declare(&e, "prod", st, "eu-west-3", true);
    /* The same state copied into a second source: every key twice. */
    declare(&e, "prod-copy", st, "eu-west-3", false);
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, st->n_instances);
    for (size_t i = 0; i < res->n; i++) {
        const struct diff_record *r = &res->records[i];
        json_t *decls = json_object_get(json_array_get(r->item.changes, 0), "declared");
        ck_assert_str_eq(r->item.category, "conflict");
        ck_assert_str_eq(change_path(r, 0), "declarations");
        ck_assert_int_eq(json_array_size(decls), 2);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(decls, 0), "source")),
                         "prod");
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(decls, 1), "source")),
                         "prod-copy");
        ck_assert(str_has_prefix(r->key, "drift:conflict:"));
    }
    diff_result_free(res);
    {
        char *keep[] = { (char *)"prod", NULL };
        ck_assert_int_eq(statesrc_prune(db, keep, &err), 1);
    }

    /* .driftignore: one resource, one attribute path. */
    k = estate_find(&e, "aws_kms_key", bar_id);
    json_object_set_new(k->attrs, "description", json_string("edited"));
    json_object_set_new(k->attrs, "key_usage", json_string("GENERATE_VERIFY_MAC"));
    estate_write(&e);
    ck_assert_int_eq(ignore_set_new(&ign), 0);
    ck_assert_int_eq(ignore_set_add(ign, "aws_kms_key.*.description", &err), 0);
    res = run(ign, false);
    assert_count(res, 1);
    ck_assert_int_eq(json_array_size(res->records[0].item.changes), 1);
    ck_assert_str_eq(change_path(&res->records[0], 0), "key_usage");
    diff_result_free(res);
    {
        char *rule = NULL;
        ck_assert_int_ge(asprintf(&rule, "aws_kms_key.%s", bar_id), 0);
        ck_assert_int_eq(ignore_set_add(ign, rule, &err), 0);
        free(rule);
    }
    res = run(ign, false);
    assert_count(res, 0);
    ck_assert_int_eq(res->stats.ignored, 1);
    diff_result_free(res);

    /* The items go straight into lib/events. */
    res = run(NULL, false);
    {
        struct events_ctx ev = { .db = db, .now_ms = 5000 };
        sqlite3_stmt *q;
        ck_assert_int_eq(db_begin(db, &err), 0);
        ck_assert_msg(events_apply_drift(&ev, res->items, res->n, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(db_commit(db, &err), 0);
        ck_assert_int_eq(ev.stats.opened, 1);
        ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
                                            "SELECT category, address, source, json_array_length("
                                            "changes) FROM drift",
                                            -1, &q, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "changed");
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 1), "aws_kms_key.bar");
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 2), "prod");
        ck_assert_int_eq(sqlite3_column_int(q, 3), 2);
        sqlite3_finalize(q);
    }
    diff_result_free(res);
    check_listing(bar_id);

    ignore_set_free(ign);
    tfstate_free(st);
    estate_free(&e);
}
END_TEST

/* ---- security groups: inline, aws_security_group_rule, vpc rule documents -------------- */

/* The blocks AWS and the provider report for the rules of one group:
 * one per rule, minus the rule `drop`, with the IPv6 source of `strip6`
 * removed. */
static json_t *inline_from_rules(const struct tfstate *st, const char *group, const char *dir,
                                 const char *drop, const char *strip6)
{
    json_t *blocks = json_array();
    for (size_t i = 0; i < st->n_instances; i++) {
        const json_t *a = st->instances[i].attributes;
        const char *addr = st->instances[i].address;
        json_t *b;
        if (!str_eq(json_string_value(json_object_get(a, "security_group_id")), group) ||
            !str_eq(json_string_value(json_object_get(a, "type")), dir) || str_eq(addr, drop))
            continue;
        b = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "protocol",
                      json_object_get(a, "protocol"), "from_port", json_object_get(a, "from_port"),
                      "to_port", json_object_get(a, "to_port"), "cidr_blocks",
                      json_object_get(a, "cidr_blocks"), "ipv6_cidr_blocks",
                      json_object_get(a, "ipv6_cidr_blocks"), "prefix_list_ids",
                      json_object_get(a, "prefix_list_ids"), "self", json_object_get(a, "self"),
                      "description", json_object_get(a, "description"));
        if (str_eq(addr, strip6))
            json_object_set_new(b, "ipv6_cidr_blocks", json_array());
        if (json_string_value(json_object_get(a, "source_security_group_id")))
            json_object_set_new(b, "security_groups",
                                json_pack("[O]", json_object_get(a, "source_security_group_id")));
        else
            json_object_set_new(b, "security_groups", json_array());
        json_array_append_new(blocks, b);
    }
    return blocks;
}

/* One aws_vpc_security_group_*_rule document per source of these blocks. */
static void add_rule_docs(struct estate *e, const char *group, const char *dir,
                          const json_t *blocks, int *seq)
{
    struct normalize_sg_atoms atoms = { 0 };
    ck_assert_int_eq(normalize_sg_atoms_inline(blocks, dir, group, 0, &atoms), 0);
    for (size_t i = 0; i < atoms.n; i++) {
        json_t *j = normalize_sg_atom_json(&atoms.v[i]);
        char id[32];
        struct resource *r;
        const char *k;
        json_t *v;
        snprintf(id, sizeof(id), "sgr-%08d", (*seq)++);
        r = estate_add(e, ACCT, "eu-west-3",
                       str_eq(dir, "ingress") ? "aws_vpc_security_group_ingress_rule"
                                              : "aws_vpc_security_group_egress_rule",
                       id);
        json_object_set_new(r->attrs, "security_group_id", json_string(group));
        json_object_set_new(r->attrs, "security_group_rule_id", json_string(id));
        json_object_set(r->attrs, "ip_protocol", json_object_get(j, "protocol"));
        json_object_set(r->attrs, "from_port", json_object_get(j, "from_port"));
        json_object_set(r->attrs, "to_port", json_object_get(j, "to_port"));
        json_object_set(r->attrs, "description", json_object_get(j, "description"));
        json_object_foreach (j, k, v) {
            const char *src = json_string_value(json_array_get(v, 0));
            if (str_eq(k, "cidr_blocks"))
                json_object_set_new(r->attrs, "cidr_ipv4", json_string(src));
            else if (str_eq(k, "ipv6_cidr_blocks"))
                json_object_set_new(r->attrs, "cidr_ipv6", json_string(src));
            else if (str_eq(k, "prefix_list_ids"))
                json_object_set_new(r->attrs, "prefix_list_id", json_string(src));
            else if (str_eq(k, "security_groups"))
                json_object_set_new(r->attrs, "referenced_security_group_id", json_string(src));
        }
        json_decref(j);
    }
    normalize_sg_atoms_clear(&atoms);
}

/* A state declaring the groups the rules name, without inline rules (as
 * Terraform stores them when separate rules manage them). */
static struct tfstate *groups_state(json_t *groups)
{
    json_t *res = json_array(), *doc;
    const char *g;
    json_t *v;
    char *text;
    struct tfstate *out;
    json_object_foreach (groups, g, v)
        json_array_append_new(
            res, json_pack("{s:s, s:s, s:s, s:s, s:[{s:i, s:{s:s, s:s, s:[], s:[], s:{}}}]}",
                           "mode", "managed", "type", "aws_security_group", "name", g + 3,
                           "provider", "provider[\"registry.terraform.io/hashicorp/aws\"]",
                           "instances", "schema_version", 1, "attributes", "id", g, "name", g,
                           "ingress", "egress", "tags"));
    doc = json_pack("{s:i, s:s, s:i, s:s, s:o}", "version", 4, "terraform_version", "1.5.7",
                    "serial", 1, "lineage", "groups", "resources", res);
    text = json_dumps(doc, 0);
    out = parse_text(text);
    free(text);
    json_decref(doc);
    return out;
}

struct sg_live {
    const char *drop;   /* rule address gone live */
    const char *strip6; /* rule address whose IPv6 source is gone */
    json_t *extra;      /* an extra ingress block on extra_group, or NULL */
    const char *extra_group;
    bool extra_doc; /* the extra block also has its rule document */
};

static void sg_estate(struct estate *e, const struct tfstate *rules, json_t *gids,
                      const struct sg_live *m)
{
    const char *g;
    json_t *v;
    int seq = 1;
    json_object_foreach (gids, g, v) {
        struct resource *sg = estate_add(e, ACCT, "eu-west-3", "aws_security_group", g);
        json_t *in = inline_from_rules(rules, g, "ingress", m->drop, m->strip6);
        json_t *out = inline_from_rules(rules, g, "egress", m->drop, m->strip6);
        json_object_set_new(sg->attrs, "name", json_string(g));
        add_rule_docs(e, g, "ingress", in, &seq);
        add_rule_docs(e, g, "egress", out, &seq);
        if (m->extra && str_eq(g, m->extra_group)) {
            json_t *one = json_pack("[O]", m->extra);
            if (m->extra_doc)
                add_rule_docs(e, g, "ingress", one, &seq);
            json_array_append(in, m->extra);
            json_decref(one);
        }
        json_object_set_new(sg->attrs, "ingress", in);
        json_object_set_new(sg->attrs, "egress", out);
    }
    estate_scope(e, ACCT, "eu-west-3", "aws_vpc_security_group_ingress_rule", "ok");
    estate_scope(e, ACCT, "eu-west-3", "aws_vpc_security_group_egress_rule", "ok");
}

START_TEST(test_security_group_rules)
{
    struct estate e = { 0 };
    struct diff_result *res;
    struct tfstate *rules = load_fixture("tfstate/driftctl/aws_vpc_security_group_rule.tfstate");
    struct tfstate *groups;
    json_t *gids = json_object();
    const char *dual = NULL, *single = NULL, *dual_id = NULL, *single_id = NULL;
    const char *some_group = NULL;
    const struct diff_record *r;
    struct sg_live m = { 0 };
    char *want;

    for (size_t i = 0; i < rules->n_instances; i++) {
        const json_t *a = rules->instances[i].attributes;
        const char *gid = json_string_value(json_object_get(a, "security_group_id"));
        json_object_set_new(gids, gid, json_true());
        /* A group whose ingress rules are declared separately. */
        if (!some_group && str_eq(json_string_value(json_object_get(a, "type")), "ingress"))
            some_group = gid;
        /* A rule with an IPv4 and an IPv6 source, one with a single CIDR. */
        if (!dual && json_array_size(json_object_get(a, "cidr_blocks")) == 1 &&
            json_array_size(json_object_get(a, "ipv6_cidr_blocks")) == 1 &&
            json_array_size(json_object_get(a, "prefix_list_ids")) == 0) {
            dual = rules->instances[i].address;
            dual_id = json_string_value(json_object_get(a, "id"));
        } else if (!single && json_array_size(json_object_get(a, "cidr_blocks")) == 1 &&
                   json_array_size(json_object_get(a, "ipv6_cidr_blocks")) == 0 &&
                   json_array_size(json_object_get(a, "prefix_list_ids")) == 0 &&
                   !json_string_value(json_object_get(a, "source_security_group_id")) &&
                   !json_is_true(json_object_get(a, "self"))) {
            single = rules->instances[i].address;
            single_id = json_string_value(json_object_get(a, "id"));
        }
    }
    ck_assert_ptr_nonnull(dual);
    ck_assert_ptr_nonnull(single);
    groups = groups_state(gids);
    declare(&e, "groups", groups, "eu-west-3", false);
    declare(&e, "rules", rules, "eu-west-3", false);

    /* Healthy: rules declared separately are neither drift of the groups'
     * inline rules nor unmanaged rule documents. */
    sg_estate(&e, rules, gids, &m);
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 0);
    ck_assert_int_eq(res->n_unknown, 0);
    diff_result_free(res);
    estate_free(&e);

    /* The single rule goes: missing.  The dual rule loses its IPv6 source:
     * changed, on that attribute. */
    m.drop = single;
    m.strip6 = dual;
    sg_estate(&e, rules, gids, &m);
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 2);
    r = find(res, "missing", "aws_security_group_rule", single_id);
    ck_assert_str_eq(r->item.address, single);
    ck_assert_str_eq(r->item.source, "rules");
    r = find(res, "changed", "aws_security_group_rule", dual_id);
    ck_assert_int_eq(json_array_size(r->item.changes), 1);
    ck_assert_str_eq(change_path(r, 0), "ipv6_cidr_blocks");
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(r->item.changes, 0), "live")),
                     0);
    diff_result_free(res);
    estate_free(&e);

    /* A rule added by hand: with its rule document it is an unmanaged
     * aws_vpc_security_group_ingress_rule; without, an unmanaged
     * aws_security_group_rule named as `terraform import` wants it. */
    memset(&m, 0, sizeof(m));
    m.extra = json_pack("{s:s, s:i, s:i, s:[s], s:s}", "protocol", "tcp", "from_port", 22,
                        "to_port", 22, "cidr_blocks", "203.0.113.0/24", "description", "");
    m.extra_group = some_group;
    m.extra_doc = true;
    sg_estate(&e, rules, gids, &m);
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 1);
    ck_assert_str_eq(res->records[0].item.category, "unmanaged");
    ck_assert_str_eq(res->records[0].item.type, "aws_vpc_security_group_ingress_rule");
    diff_result_free(res);
    estate_free(&e);
    m.extra_doc = false;
    sg_estate(&e, rules, gids, &m);
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 1);
    ck_assert_int_ge(asprintf(&want, "%s_ingress_tcp_22_22_203.0.113.0/24", some_group), 0);
    r = find(res, "unmanaged", "aws_security_group_rule", want);
    ck_assert_ptr_null(r->item.address);
    free(want);
    diff_result_free(res);
    estate_free(&e);

    json_decref(m.extra);
    tfstate_free(groups);
    tfstate_free(rules);
    json_decref(gids);
}
END_TEST

START_TEST(test_security_group_inline)
{
    struct estate e = { 0 };
    struct diff_result *res;
    struct tfstate *st = load_fixture("tfstate/inframap/aws_state_sgr.json");
    int seq = 1;
    const struct diff_record *r;

    /* The groups of this state declare their rules inline (and one rule
     * separately, without a direction: that one cannot be placed). */
    declare(&e, "app", st, "eu-west-3", false);
    for (size_t i = 0; i < st->n_instances; i++) {
        const struct tfstate_instance *in = &st->instances[i];
        const char *gid = json_string_value(json_object_get(in->attributes, "id"));
        struct resource *sg;
        const struct typemap_type *t = typemap_find(tm, "aws_security_group");
        if (!str_eq(in->type, "aws_security_group"))
            continue;
        sg = estate_add(&e, ACCT, "eu-west-3", "aws_security_group", gid);
        fill_live(sg, t, in->attributes);
        add_rule_docs(&e, gid, "ingress", json_object_get(sg->attrs, "ingress"), &seq);
        add_rule_docs(&e, gid, "egress", json_object_get(sg->attrs, "egress"), &seq);
    }
    estate_scope(&e, ACCT, "eu-west-3", "aws_vpc_security_group_ingress_rule", "ok");
    estate_scope(&e, ACCT, "eu-west-3", "aws_vpc_security_group_egress_rule", "ok");
    estate_write(&e);
    res = run(NULL, false);
    /* The groups' rule documents are part of the groups. */
    for (size_t i = 0; i < res->n; i++)
        ck_assert_msg(!str_has_prefix(res->records[i].item.type, "aws_vpc_security_group_"), "%s",
                      res->records[i].key);
    ck_assert_int_eq(res->stats.unmanaged, 0);
    {
        size_t n = 0;
        for (size_t i = 0; i < res->n_unknown; i++)
            if (str_eq(res->unknown[i].type, "aws_security_group_rule")) {
                ck_assert_str_eq(res->unknown[i].reason,
                                 "cannot be matched: no relation of the type table applies to "
                                 "it");
                n++;
            }
        ck_assert_int_eq(n, 1);
    }
    diff_result_free(res);

    /* One more inline rule live: drift of the group, not an unmanaged rule. */
    {
        struct resource *sg = NULL;
        json_t *extra = json_pack("[{s:s, s:i, s:i, s:[s]}]", "protocol", "tcp", "from_port", 3389,
                                  "to_port", 3389, "cidr_blocks", "0.0.0.0/0");
        for (size_t i = 0; i < e.n && !sg; i++)
            if (str_eq(e.live[i]->type, "aws_security_group"))
                sg = e.live[i];
        ck_assert_ptr_nonnull(sg);
        json_array_extend(json_object_get(sg->attrs, "ingress"), extra);
        add_rule_docs(&e, sg->id, "ingress", extra, &seq);
        json_decref(extra);
        estate_write(&e);
        res = run(NULL, false);
        assert_count(res, 1);
        r = find(res, "changed", "aws_security_group", sg->id);
        ck_assert_str_eq(change_path(r, 0), "ingress");
        /* A control reads ingress rules. */
        ck_assert_int_eq(r->item.severity, SEVERITY_HIGH);
        diff_result_free(res);
    }
    tfstate_free(st);
    estate_free(&e);
}
END_TEST

/* ---- IAM roles: inline policies and attachments as separate resources ------------------ */

static struct tfstate *state_of(json_t *resources)
{
    json_t *doc = json_pack("{s:i, s:s, s:i, s:s, s:o}", "version", 4, "terraform_version", "1.5.7",
                            "serial", 3, "lineage", "l", "resources", resources);
    char *text = json_dumps(doc, 0);
    struct tfstate *st = parse_text(text);
    free(text);
    json_decref(doc);
    return st;
}

static json_t *resource_json(const char *type, const char *name, json_t *attrs)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[{s:i, s:o}]}", "mode", "managed", "type", type,
                     "name", name, "provider", "provider[\"registry.terraform.io/hashicorp/aws\"]",
                     "instances", "schema_version", 0, "attributes", attrs);
}

static json_t *deny(const json_t *policy)
{
    json_t *doc = json_loads(json_string_value(policy), 0, NULL), *out;
    char *t;
    json_object_set_new(json_array_get(json_object_get(doc, "Statement"), 0), "Effect",
                        json_string("Deny"));
    t = json_dumps(doc, 0);
    out = json_string(t);
    free(t);
    json_decref(doc);
    return out;
}

START_TEST(test_iam_role_separates)
{
    struct tfstate *up = load_fixture("tfstate/driftctl/aws_iam_user_policy_multiple.tfstate");
    json_t *policy = json_incref(json_object_get(up->instances[0].attributes, "policy"));
    const char *ro = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    const char *assume = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                         "\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},\"Action\":"
                         "\"sts:AssumeRole\"}]}";
    struct tfstate *st;
    struct estate e = { 0 };
    struct diff_result *res;
    struct resource *role;
    const struct diff_record *r;
    char *role_arn = NULL;

    ck_assert_int_ge(asprintf(&role_arn, "arn:aws:iam::%s:role/app", ACCT), 0);
    st = state_of(json_pack(
        "[o, o, o]",
        resource_json("aws_iam_role", "app",
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:O}], s:[s], s:{}}", "id",
                                "app", "name", "app", "arn", role_arn, "path", "/",
                                "assume_role_policy", assume, "inline_policy", "name", "ro",
                                "policy", policy, "managed_policy_arns", ro, "tags")),
        resource_json("aws_iam_role_policy", "ro",
                      json_pack("{s:s, s:s, s:s, s:O}", "id", "app:ro", "role", "app", "name", "ro",
                                "policy", policy)),
        resource_json(
            "aws_iam_role_policy_attachment", "ro",
            json_pack("{s:s, s:s, s:s}", "id", "app-20240101", "role", "app", "policy_arn", ro))));
    declare(&e, "iam", st, "eu-west-3", true);
    role = estate_find(&e, "aws_iam_role", "app");
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 0);
    diff_result_free(res);

    /* The inline policy now denies: drift of aws_iam_role_policy, where it
     * is declared, not of the role. */
    json_object_set_new(json_array_get(json_object_get(role->attrs, "inline_policy"), 0), "policy",
                        deny(policy));
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 1);
    r = find(res, "changed", "aws_iam_role_policy", "app:ro");
    ck_assert_str_eq(change_path(r, 0), "policy");
    ck_assert_str_eq(r->item.address, "aws_iam_role_policy.ro");
    ck_assert_str_eq(r->item.region, "global");
    diff_result_free(res);

    /* An inline policy and an attachment made by hand; the declared
     * attachment detached. */
    json_array_append_new(json_object_get(role->attrs, "inline_policy"),
                          json_pack("{s:s, s:O}", "name", "by-hand", "policy", policy));
    json_object_set_new(role->attrs, "managed_policy_arns",
                        json_pack("[s]", "arn:aws:iam::aws:policy/AdministratorAccess"));
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 4);
    find(res, "changed", "aws_iam_role_policy", "app:ro");
    find(res, "unmanaged", "aws_iam_role_policy", "app:by-hand");
    find(res, "unmanaged", "aws_iam_role_policy_attachment",
         "app/arn:aws:iam::aws:policy/AdministratorAccess");
    r = find(res, "missing", "aws_iam_role_policy_attachment", "app-20240101");
    ck_assert_str_eq(r->item.account, ACCT);
    diff_result_free(res);

    free(role_arn);
    json_decref(policy);
    tfstate_free(st);
    tfstate_free(up);
    estate_free(&e);
}
END_TEST

/* ---- S3: v3 inline blocks and v4+ split resources -------------------------------------- */

START_TEST(test_s3_inline_and_split)
{
    struct estate e = { 0 };
    struct diff_result *res;
    struct tfstate *v4;
    struct resource *b, *ver;
    const struct diff_record *r;

    /* v3 style (the aws_s3_full fixture): the buckets' live split
     * documents are covered by the buckets; the bucket policies are
     * declared separately, so the buckets' inline policy is not compared. */
    declare_fixture(&e, "v3", "tfstate/driftctl/aws_s3_full.tfstate", true);
    for (size_t i = 0; i < e.n; i++)
        if (str_eq(e.live[i]->type, "aws_s3_bucket")) {
            struct resource *sv = estate_add(&e, e.live[i]->account, e.live[i]->region,
                                             "aws_s3_bucket_versioning", e.live[i]->id);
            json_object_set_new(sv->attrs, "bucket", json_string(e.live[i]->id));
            json_object_set_new(sv->attrs, "versioning_configuration",
                                json_pack("[{s:s}]", "status", "Suspended"));
            json_object_set_new(e.live[i]->attrs, "policy", json_string("{\"Statement\":[]}"));
        }
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 0);
    diff_result_free(res);

    /* v4 style: the bucket and its versioning resource. */
    v4 = state_of(json_pack(
        "[o, o]",
        resource_json("aws_s3_bucket", "logs",
                      json_pack("{s:s, s:s, s:s, s:s, s:[{s:b, s:b}], s:{}}", "id", "v4-logs",
                                "bucket", "v4-logs", "arn", "arn:aws:s3:::v4-logs", "region",
                                "eu-west-3", "versioning", "enabled", 1, "mfa_delete", 0, "tags")),
        resource_json("aws_s3_bucket_versioning", "logs",
                      json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", "v4-logs", "bucket", "v4-logs",
                                "versioning_configuration", "status", "Enabled", "mfa_delete",
                                ""))));
    declare(&e, "v4", v4, "eu-west-3", true);
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 0);
    diff_result_free(res);

    /* Versioning suspended by hand: drift of aws_s3_bucket_versioning only. */
    b = estate_find(&e, "aws_s3_bucket", "v4-logs");
    ver = estate_find(&e, "aws_s3_bucket_versioning", "v4-logs");
    json_object_set_new(b->attrs, "versioning",
                        json_pack("[{s:b, s:b}]", "enabled", 0, "mfa_delete", 0));
    json_object_set_new(json_array_get(json_object_get(ver->attrs, "versioning_configuration"), 0),
                        "status", json_string("Suspended"));
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 1);
    r = find(res, "changed", "aws_s3_bucket_versioning", "v4-logs");
    ck_assert_str_eq(change_path(r, 0), "versioning_configuration[0].status");
    diff_result_free(res);

    tfstate_free(v4);
    estate_free(&e);
}
END_TEST

/* ---- unknown accounts, scope checks, addresses ------------------------------------------ */

START_TEST(test_unknown_account)
{
    struct tfstate *st =
        state_of(json_pack("[o]", resource_json("aws_cloudwatch_log_group", "app",
                                                json_pack("{s:s, s:s, s:i}", "id", "/app", "name",
                                                          "/app", "retention_in_days", 30))));
    json_t *rows = NULL;
    struct perr err = { 0 };
    struct statesrc_stored meta = { .location = "x" };
    struct estate e = { 0 };
    struct diff_result *res;

    /* No ARN, no configured account: the account is unknown. */
    ck_assert_int_eq(statesrc_declared_rows(st, tm, NULL, &rows, &err), 0);
    ck_assert_ptr_null(json_string_value(json_object_get(json_array_get(rows, 0), "account")));
    ck_assert_int_eq(statesrc_store(db, "logs", &meta, rows, 1, &err), 0);
    json_decref(rows);
    estate_scope(&e, "222222222222", "eu-west-3", "aws_cloudwatch_log_group", "ok");
    estate_scope(&e, "333333333333", "eu-west-3", "aws_cloudwatch_log_group", "ok");
    estate_write(&e);
    res = run(NULL, false);
    assert_count(res, 0);
    ck_assert_int_eq(res->n_unknown, 1);
    ck_assert_str_eq(res->unknown[0].reason,
                     "aws_cloudwatch_log_group: the account is unknown (the state has no ARN "
                     "naming it; set account in its [state] section)");
    diff_result_free(res);
    /* With one account collected, it is that one: missing. */
    estate_scope(&e, "333333333333", "eu-west-3", "aws_cloudwatch_log_group", "not_collected");
    json_object_del(e.scopes, "333333333333/eu-west-3/aws_cloudwatch_log_group");
    {
        sqlite3_stmt *q;
        ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
                                            "DELETE FROM coverage WHERE account = '333333333333'",
                                            -1, &q, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_DONE);
        sqlite3_finalize(q);
    }
    res = run(NULL, false);
    assert_count(res, 1);
    ck_assert_str_eq(res->records[0].item.category, "missing");
    ck_assert_ptr_null(res->records[0].item.account);
    diff_result_free(res);

    /* Scope checks for lib/events. */
    ck_assert(
        diff_scope_ok(db, tm, "222222222222", "eu-west-3", "aws_cloudwatch_log_group", "logs"));
    ck_assert(
        !diff_scope_ok(db, tm, "222222222222", "eu-west-1", "aws_cloudwatch_log_group", NULL));
    /* A source that is no longer configured declares nothing. */
    ck_assert(diff_scope_ok(db, tm, "222222222222", "eu-west-3", "aws_cloudwatch_log_group",
                            "no-such-source"));
    /* Unknown account or region: every scope of the type. */
    ck_assert(diff_scope_ok(db, tm, NULL, NULL, "aws_cloudwatch_log_group", NULL));
    ck_assert(!diff_scope_ok(db, tm, NULL, NULL, "aws_kms_key", NULL));
    ck_assert_int_eq(statesrc_store_error(db, "logs", "x", "broken", 2, &err), 0);
    ck_assert(
        !diff_scope_ok(db, tm, "222222222222", "eu-west-3", "aws_cloudwatch_log_group", "logs"));

    tfstate_free(st);
    estate_free(&e);
}
END_TEST

START_TEST(test_split_address)
{
    char *m = NULL, *n = NULL;
    json_t *k = NULL;
    ck_assert_int_eq(diff_split_address("aws_s3_bucket.b", "aws_s3_bucket", &m, &n, &k), 0);
    ck_assert_str_eq(m, "");
    ck_assert_str_eq(n, "b");
    ck_assert_ptr_null(k);
    free(m);
    free(n);
    ck_assert_int_eq(diff_split_address("module.net[\"eu.aws_s3_bucket.x\"].module.sg[0]."
                                        "aws_security_group.web[\"x\"] (deposed 0badf00d)",
                                        "aws_security_group", &m, &n, &k),
                     0);
    ck_assert_str_eq(m, "module.net[\"eu.aws_s3_bucket.x\"].module.sg[0]");
    ck_assert_str_eq(n, "web");
    ck_assert_str_eq(json_string_value(k), "x");
    free(m);
    free(n);
    json_decref(k);
    ck_assert_int_eq(diff_split_address("module.a.aws_s3_bucket.b[3]", "aws_s3_bucket", &m, &n, &k),
                     0);
    ck_assert_str_eq(m, "module.a");
    ck_assert_int_eq(json_integer_value(k), 3);
    free(m);
    free(n);
    json_decref(k);
    ck_assert_int_eq(diff_split_address("aws_s3_bucket.b", "aws_kms_key", &m, &n, &k), -EINVAL);
    ck_assert_int_eq(diff_split_address("aws_s3_bucket.b[x]", "aws_s3_bucket", &m, &n, &k),
                     -EINVAL);
}
END_TEST

/* ---- the lifecycle through lib/events ---------------------------------------------------- */

static struct events_stats apply(int64_t now)
{
    struct diff_options o = { .tm = tm };
    struct events_ctx ev = { .db = db, .now_ms = now };
    struct perr err = { 0 };
    int64_t counts[4] = { -1, -1, -1, -1 };
    ck_assert_int_eq(db_begin(db, &err), 0);
    ck_assert_msg(diff_apply(db, &o, &ev, counts, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(db_commit(db, &err), 0);
    ck_assert_int_ge(counts[0], 0);
    return ev.stats;
}

START_TEST(test_apply_lifecycle)
{
    struct estate e = { 0 };
    struct tfstate *kms = load_fixture("tfstate/driftctl/aws_kms_key.tfstate"), *iam;
    const char *baz_id = NULL;
    struct resource *saved, *role;
    struct events_stats st;
    const char *policy = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                         "\"Resource\":\"*\"}]}";

    for (size_t i = 0; i < kms->n_instances; i++)
        if (str_eq(kms->instances[i].address, "aws_kms_key.baz"))
            baz_id = json_string_value(json_object_get(kms->instances[i].attributes, "key_id"));
    iam = state_of(json_pack(
        "[o, o]",
        resource_json("aws_iam_role", "app",
                      json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "id", "app", "name", "app",
                                "path", "/", "inline_policy", "name", "p", "policy", policy)),
        resource_json("aws_iam_role_policy", "p",
                      json_pack("{s:s, s:s, s:s, s:s}", "id", "app:p", "role", "app", "name", "p",
                                "policy", policy))));
    declare(&e, "kms", kms, "eu-west-3", true);
    declare(&e, "iam", iam, "eu-west-3", true);
    estate_write(&e);
    st = apply(1000);
    ck_assert_int_eq(st.opened, 0);

    /* baz deleted and an inline policy added by hand: two drifts open. */
    saved = estate_find(&e, "aws_kms_key", baz_id);
    {
        json_t *doc = resource_to_json(saved);
        ck_assert_int_eq(resource_from_json(doc, &saved), 0);
        json_decref(doc);
        saved->source = strdup("describe");
    }
    estate_remove(&e, "aws_kms_key", baz_id);
    role = estate_find(&e, "aws_iam_role", "app");
    json_array_append_new(json_object_get(role->attrs, "inline_policy"),
                          json_pack("{s:s, s:s}", "name", "by-hand", "policy", policy));
    estate_write(&e);
    st = apply(2000);
    ck_assert_int_eq(st.opened, 2);
    /* Nothing new: nothing raised. */
    st = apply(3000);
    ck_assert_int_eq(st.opened + st.updated + st.resolved, 0);

    /* Both undone: both resolve, the pseudo aws_iam_role_policy included
     * (its scope is the role's). */
    e.live = realloc(e.live, (e.n + 1) * sizeof(*e.live));
    e.live[e.n++] = saved;
    json_array_remove(json_object_get(role->attrs, "inline_policy"), 1);
    estate_write(&e);
    st = apply(4000);
    ck_assert_int_eq(st.resolved, 2);

    tfstate_free(kms);
    tfstate_free(iam);
    estate_free(&e);
}
END_TEST

static Suite *diff_suite(void)
{
    Suite *s = suite_create("diff");
    TCase *tc = tcase_create("diff");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_healthy_estate);
    tcase_add_test(tc, test_changed_missing_unmanaged);
    tcase_add_test(tc, test_conflict_ignore_events);
    tcase_add_test(tc, test_security_group_rules);
    tcase_add_test(tc, test_security_group_inline);
    tcase_add_test(tc, test_iam_role_separates);
    tcase_add_test(tc, test_s3_inline_and_split);
    tcase_add_test(tc, test_unknown_account);
    tcase_add_test(tc, test_split_address);
    tcase_add_test(tc, test_apply_lifecycle);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(diff_suite());
}
