#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controls.h"
#include "estate.h"
#include "evaluate.h"
#include "testutil.h"
#include "util.h"

#define ACCOUNT "111111111111"
#define REGION  "eu-west-1"

/* 2025-06-01T00:00:00Z: every case is evaluated at this fixed time. */
#define NOW_MS 1748736000000LL

static json_t *load_json_file(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(j != NULL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    return j;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    ck_assert_msg(j != NULL, "bad test JSON at %d:%d: %s: %s", je.line, je.column, je.text, text);
    return j;
}

static char *baseline_dir(void)
{
    const char *d = getenv("PLUMB_DATADIR");
    char *p;
    ck_assert_msg(d != NULL, "PLUMB_DATADIR is not set");
    p = str_printf("%s/baseline", d);
    ck_assert_ptr_nonnull(p);
    return p;
}

static struct catalogue *load_catalogue(const json_t *params)
{
    char *dir = baseline_dir();
    char *paths[] = { dir, NULL };
    struct controls_overrides ov = { NULL, params };
    struct catalogue *cat = NULL;
    struct perr err = { 0 };
    int r = controls_load(paths, &ov, &cat, &err);
    ck_assert_msg(r == 0, "loading the catalogue: %s", err.msg);
    free(dir);
    return cat;
}

/* A resource from {"type", "id", "account"?, "region"?, "arn"?,
 * "attributes"?, "tags"?, "unknown"?}; region defaults to "global" for
 * global types. */
static struct resource *make_resource(const json_t *doc, char *const *global_types)
{
    json_t *d = json_deep_copy(doc);
    struct resource *r = NULL;
    const char *type = json_string_value(json_object_get(d, "type"));

    ck_assert_ptr_nonnull(d);
    if (!json_object_get(d, "account"))
        json_object_set_new(d, "account", json_string(ACCOUNT));
    if (!json_object_get(d, "region"))
        json_object_set_new(
            d, "region",
            json_string(strv_contains(global_types, type) ? RESOURCE_REGION_GLOBAL : REGION));
    if (!json_object_get(d, "partition"))
        json_object_set_new(d, "partition", json_string("aws"));
    ck_assert_msg(resource_from_json(d, &r) == 0, "bad resource in test data");
    json_decref(d);
    return r;
}

/* ---- findings collection ---- */

struct found {
    struct finding **v;
    size_t n;
};

static int collect(const struct finding *f, void *userdata)
{
    struct found *fs = userdata;
    struct finding **nv = realloc(fs->v, (fs->n + 1) * sizeof(*nv));
    ck_assert_ptr_nonnull(nv);
    fs->v = nv;
    fs->v[fs->n] = finding_copy(f);
    ck_assert_ptr_nonnull(fs->v[fs->n]);
    fs->n++;
    return 0;
}

static void found_clear(struct found *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        finding_free(fs->v[i]);
    free(fs->v);
    fs->v = NULL;
    fs->n = 0;
}

static const struct finding *find(const struct found *fs, const char *rtype, const char *rid)
{
    for (size_t i = 0; i < fs->n; i++)
        if (str_eq(fs->v[i]->resource_type, rtype) && str_eq(fs->v[i]->resource_id, rid))
            return fs->v[i];
    return NULL;
}

static void run_control(struct estate_mem *m, const struct control *c, struct found *out)
{
    struct evaluate *ev = NULL;
    struct perr err = { 0 };
    ck_assert_msg(evaluate_new(estate_mem_ops(), m, NOW_MS, &ev, &err) == 0, "%s", err.msg);
    ck_assert_msg(evaluate_control(ev, c, collect, out, &err) == 0, "%s: %s", c->id, err.msg);
    evaluate_free(ev);
}

/* ---- the catalogue cases (tests/data/baseline-cases.json) ---- */

/* Every resource type a control reads: its scope and all related types. */
static void collect_types(const json_t *v, char ***types)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        const json_t *rel = json_object_get(v, "related");
        if (json_is_object(rel) && json_is_string(json_object_get(rel, "type")) &&
            !strv_contains(*types, json_string_value(json_object_get(rel, "type"))))
            ck_assert_int_eq(strv_push(types, json_string_value(json_object_get(rel, "type"))), 0);
        json_object_foreach ((json_t *)v, k, x)
            collect_types(x, types);
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, x)
            collect_types(x, types);
    }
}

static enum finding_status status_of(const char *s)
{
    if (str_eq(s, "PASS"))
        return FINDING_PASS;
    if (str_eq(s, "FAIL"))
        return FINDING_FAIL;
    if (str_eq(s, "NOT_APPLICABLE"))
        return FINDING_NOT_APPLICABLE;
    ck_assert_msg(str_eq(s, "UNKNOWN"), "bad expected status %s", s ? s : "(null)");
    return FINDING_UNKNOWN;
}

/* Run one case; returns its expected status. */
static enum finding_status run_case(const struct control *shipped, const json_t *tc,
                                    char *const *global_types, const char *label)
{
    const json_t *params = json_object_get(tc, "params");
    struct catalogue *cat = params ? load_catalogue(params) : NULL;
    const struct control *c = cat ? controls_find(cat, shipped->id) : shipped;
    struct estate_mem *m = NULL;
    const json_t *scopes = json_object_get(tc, "scopes"), *x, *target;
    const char *want_detail = json_string_value(json_object_get(tc, "detail"));
    enum finding_status want = status_of(json_string_value(json_object_get(tc, "expect")));
    bool want_warning = json_is_true(json_object_get(tc, "warning"));
    char **types = strv_new();
    char **regions = strv_new();
    struct found fs = { 0 };
    const struct finding *f;
    const char *rtype, *rid;
    size_t i;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    for (i = 0; global_types[i]; i++)
        ck_assert_int_eq(estate_mem_add_global_type(m, global_types[i]), 0);
    if (scopes) {
        json_array_foreach (scopes, i, x) {
            const char *reg = json_string_value(json_object_get(x, "region"));
            ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, reg,
                                                  !json_is_false(json_object_get(x, "in_use"))),
                             0);
            ck_assert_int_eq(strv_push(&regions, reg), 0);
        }
    } else {
        ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, REGION, true), 0);
        ck_assert_int_eq(strv_push(&regions, REGION), 0);
    }
    ck_assert_int_eq(strv_push(&regions, RESOURCE_REGION_GLOBAL), 0);
    if (c->scope_kind == CONTROL_SCOPE_RESOURCE)
        ck_assert_int_eq(strv_push(&types, c->scope), 0);
    collect_types(c->definition, &types);
    json_array_foreach (json_object_get(tc, "resources"), i, x) {
        struct resource *r = make_resource(x, global_types);
        if (!strv_contains(types, r->type))
            ck_assert_int_eq(strv_push(&types, r->type), 0);
        ck_assert_int_eq(estate_mem_add(m, r), 0);
    }
    for (i = 0; regions[i]; i++)
        ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, regions[i], (const char *const *)types),
                         0);
    json_array_foreach (json_object_get(tc, "gaps"), i, x) {
        enum collect_status st;
        const char *reg = json_string_value(json_object_get(x, "region"));
        ck_assert_int_eq(
            collect_status_from_name(json_string_value(json_object_get(x, "status")), &st), 0);
        ck_assert_int_eq(estate_mem_set_coverage(m, ACCOUNT, reg ? reg : REGION,
                                                 json_string_value(json_object_get(x, "type")), st),
                         0);
    }

    run_control(m, c, &fs);

    /* Which finding the case is about. */
    target = json_object_get(tc, "target");
    if (target) {
        rtype = json_string_value(json_object_get(target, "type"));
        rid = json_string_value(json_object_get(target, "id"));
    } else if (c->scope_kind == CONTROL_SCOPE_REGION) {
        rtype = "region";
        rid = regions[0];
    } else if (c->scope_kind == CONTROL_SCOPE_ACCOUNT) {
        rtype = "account";
        rid = ACCOUNT;
    } else {
        rtype = c->scope;
        rid = json_string_value(
            json_object_get(json_array_get(json_object_get(tc, "resources"), 0), "id"));
    }
    f = find(&fs, rtype, rid);
    if (!f) {
        for (i = 0; i < fs.n; i++)
            fprintf(stderr, "  have: %s %s %s\n", fs.v[i]->resource_type, fs.v[i]->resource_id,
                    finding_status_name(fs.v[i]->status));
    }
    ck_assert_msg(f != NULL, "%s: no finding for %s %s", label, rtype, rid);
    ck_assert_msg(f->status == want, "%s: got %s (%s), expected %s", label,
                  finding_status_name(f->status), f->detail, finding_status_name(want));
    if (want_detail)
        ck_assert_msg(str_eq(f->detail, want_detail), "%s: detail\n  got:  %s\n  want: %s", label,
                      f->detail, want_detail);
    else if (want != FINDING_PASS)
        ck_assert_msg(0, "%s: a %s case must state its detail (got: %s)", label,
                      finding_status_name(want), f->detail);
    ck_assert_msg(f->warning == want_warning, "%s: warning %d", label, f->warning);
    ck_assert_int_eq(f->severity, want_warning ? CONTROL_SEVERITY_LOW : c->severity);
    ck_assert_str_eq(f->account, ACCOUNT);
    ck_assert_int_eq(f->time, NOW_MS);

    found_clear(&fs);
    strv_free(types);
    strv_free(regions);
    estate_mem_free(m);
    controls_free(cat);
    return want;
}

static json_t *load_cases(void)
{
    char *path = tu_srcpath("tests/data/baseline-cases.json");
    json_t *j = load_json_file(path);
    free(path);
    return j;
}

static char **case_global_types(const json_t *cases)
{
    char **v = strv_new();
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get(cases, "global_types"), i, x)
        ck_assert_int_eq(strv_push(&v, json_string_value(x)), 0);
    return v;
}

/* Every shipped control has at least a PASS, a FAIL and an UNKNOWN case,
 * and every case holds.  A new control cannot ship untested. */
START_TEST(catalogue_cases)
{
    json_t *cases = load_cases();
    const json_t *bycontrol = json_object_get(cases, "controls");
    char **global_types = case_global_types(cases);
    struct catalogue *cat = load_catalogue(NULL);
    const char *id;
    json_t *list;
    size_t missing = 0, total = 0;

    ck_assert_int_eq(time_parse_iso8601("2025-06-01T00:00:00Z", &(int64_t){ 0 }), 0);
    json_object_foreach ((json_t *)bycontrol, id, list) {
        ck_assert_msg(controls_find(cat, id) != NULL, "cases for unknown control %s", id);
    }
    for (size_t k = 0; k < cat->n; k++) {
        const struct control *c = cat->controls[k];
        bool seen[4] = { false, false, false, false };
        size_t i;
        json_t *tc;
        list = json_object_get(bycontrol, c->id);
        json_array_foreach (list, i, tc) {
            char label[128];
            snprintf(label, sizeof(label), "%s case %zu (%s)", c->id, i,
                     json_string_value(json_object_get(tc, "name")));
            seen[run_case(c, tc, global_types, label)] = true;
            total++;
        }
        if (!seen[FINDING_PASS] || !seen[FINDING_FAIL] || !seen[FINDING_UNKNOWN]) {
            fprintf(stderr, "%s lacks a%s%s%s case\n", c->id, seen[FINDING_PASS] ? "" : " PASS",
                    seen[FINDING_FAIL] ? "" : " FAIL", seen[FINDING_UNKNOWN] ? "" : " UNKNOWN");
            missing++;
        }
    }
    ck_assert_msg(missing == 0, "%zu controls lack their PASS/FAIL/UNKNOWN cases", missing);
    ck_assert_uint_ge(total, 3 * cat->n);
    controls_free(cat);
    strv_free(global_types);
    json_decref(cases);
}
END_TEST

/* ---- the language, on single resources ---- */

struct lang {
    struct estate_mem *m;
    struct evaluate *ev;
};

static void lang_init(struct lang *l, const char *resources_json)
{
    json_t *arr = resources_json ? parse(resources_json) : NULL;
    size_t i;
    json_t *x;
    struct perr err = { 0 };
    static const char *const types[] = { "aws_flow_log",           "aws_vpc",      "aws_s3_bucket",
                                         "aws_guardduty_detector", "aws_iam_user", NULL };
    char *none[] = { NULL };

    ck_assert_int_eq(estate_mem_new(&l->m), 0);
    ck_assert_int_eq(estate_mem_add_scope(l->m, NULL, ACCOUNT, REGION, true), 0);
    ck_assert_int_eq(estate_mem_add_scope(l->m, NULL, ACCOUNT, "us-east-1", true), 0);
    ck_assert_int_eq(estate_mem_add_global_type(l->m, "aws_iam_user"), 0);
    ck_assert_int_eq(estate_mem_cover_all(l->m, ACCOUNT, REGION, types), 0);
    ck_assert_int_eq(estate_mem_cover_all(l->m, ACCOUNT, "us-east-1", types), 0);
    ck_assert_int_eq(estate_mem_cover_all(l->m, ACCOUNT, RESOURCE_REGION_GLOBAL, types), 0);
    json_array_foreach (arr, i, x)
        ck_assert_int_eq(estate_mem_add(l->m, make_resource(x, none)), 0);
    json_decref(arr);
    ck_assert_msg(evaluate_new(estate_mem_ops(), l->m, NOW_MS, &l->ev, &err) == 0, "%s", err.msg);
}

static void lang_done(struct lang *l)
{
    evaluate_free(l->ev);
    estate_mem_free(l->m);
}

/* Evaluate pred_json against the resource (attributes, unknown map) and
 * check the value (1 true, 0 false, -1 unknown) and the detail. */
static void check_with(struct lang *l, const char *attrs_json, const char *unknown_json,
                       const char *pred_json, int want, const char *want_detail)
{
    json_t *def = parse(pred_json), *params = parse("{\"limit\": 10, \"ports\": [22, 3389]}");
    struct pred *p = NULL;
    struct perr err = { 0 };
    struct resource *r = NULL;
    char detail[EVALUATE_DETAIL_MAX];
    int v = 99;

    ck_assert_int_eq(resource_new_with("aws", ACCOUNT, REGION, "aws_vpc", NULL, "vpc-1",
                                       "arn:aws:ec2:eu-west-1:111111111111:vpc/vpc-1", &r),
                     0);
    json_decref(r->attrs);
    r->attrs = parse(attrs_json);
    if (unknown_json) {
        json_decref(r->unknown);
        r->unknown = parse(unknown_json);
    }
    json_object_set_new(r->tags, "Name", json_string("main"));
    ck_assert_msg(evaluate_compile(def, params, "p", &p, &err) == 0, "%s: %s", pred_json, err.msg);
    ck_assert_int_eq(evaluate_pred(l->ev, p, r, &v, detail, sizeof(detail), &err), 0);
    ck_assert_msg(v == want, "%s on %s: got %d (%s), want %d", pred_json, attrs_json, v, detail,
                  want);
    if (want_detail)
        ck_assert_msg(str_eq(detail, want_detail), "%s on %s:\n  got:  %s\n  want: %s", pred_json,
                      attrs_json, detail, want_detail);
    evaluate_pred_free(p);
    resource_free(r);
    json_decref(def);
    json_decref(params);
}

static void check(struct lang *l, const char *attrs, const char *pred, int want, const char *detail)
{
    check_with(l, attrs, NULL, pred, want, detail);
}

START_TEST(lang_comparisons)
{
    struct lang l;
    lang_init(&l, NULL);
    check(&l, "{\"a\": true}", "{\"attr\": \"a\", \"eq\": true}", 1, "a is true");
    check(&l, "{\"a\": false}", "{\"attr\": \"a\", \"eq\": true}", 0, "a is false, expected true");
    check(&l, "{\"a\": 1}", "{\"attr\": \"a\", \"eq\": 1.0}", 1, "a is 1");
    check(&l, "{\"a\": \"true\"}", "{\"attr\": \"a\", \"eq\": true}", 0,
          "a is \"true\", expected true");
    check(&l, "{\"a\": \"x\"}", "{\"attr\": \"a\", \"ne\": \"x\"}", 0,
          "a is \"x\", expected not \"x\"");
    check(&l, "{\"a\": \"b\"}", "{\"attr\": \"a\", \"in\": [\"a\", \"b\"]}", 1, "a is \"b\"");
    check(&l, "{\"a\": \"c\"}", "{\"attr\": \"a\", \"in\": [\"a\", \"b\"]}", 0,
          "a is \"c\", expected one of [\"a\",\"b\"]");
    check(&l, "{\"a\": \"c\"}", "{\"attr\": \"a\", \"not_in\": [\"c\"]}", 0,
          "a is \"c\", expected none of [\"c\"]");
    check(&l, "{\"a\": 10}", "{\"attr\": \"a\", \"gte\": {\"param\": \"limit\"}}", 1, "a is 10");
    check(&l, "{\"a\": 9}", "{\"attr\": \"a\", \"gte\": {\"param\": \"limit\"}}", 0,
          "a is 9, expected >= 10");
    check(&l, "{\"a\": 10}", "{\"attr\": \"a\", \"gt\": 10}", 0, "a is 10, expected > 10");
    check(&l, "{\"a\": 10}", "{\"attr\": \"a\", \"lt\": 10}", 0, "a is 10, expected < 10");
    check(&l, "{\"a\": 10}", "{\"attr\": \"a\", \"lte\": 10}", 1, "a is 10");
    check(&l, "{\"a\": \"12\"}", "{\"attr\": \"a\", \"gte\": 10}", 1, "a is \"12\"");
    check(&l, "{\"a\": \"ten\"}", "{\"attr\": \"a\", \"gte\": 10}", -1,
          "a is \"ten\", not a number");
    check(&l, "{\"a\": \"ELBSecurityPolicy-TLS13-1-2-2021-06\"}",
          "{\"attr\": \"a\", \"matches\": [\"x*\", \"ELBSecurityPolicy-TLS13-*\"]}", 1, NULL);
    check(&l, "{\"a\": \"ELBSecurityPolicy-2016-08\"}",
          "{\"attr\": \"a\", \"matches\": \"ELBSecurityPolicy-TLS13-*\"}", 0,
          "a is \"ELBSecurityPolicy-2016-08\", expected to match \"ELBSecurityPolicy-TLS13-*\"");
    check(&l, "{\"a\": \"cron(0 5 ? * * *)\"}",
          "{\"attr\": \"a\", \"regex\": \"^cron\\\\([^ ]+ [^ ]+ [*?] \\\\* [*?] [^ ]+\\\\)$\"}", 1,
          NULL);
    check(&l, "{\"a\": \"cron(0 5 1 * ? *)\"}",
          "{\"attr\": \"a\", \"regex\": \"^cron\\\\([^ ]+ [^ ]+ [*?] \\\\* [*?] [^ ]+\\\\)$\"}", 0,
          NULL);
    check(&l, "{\"a\": \"arn:aws:iam::1:mfa/root-account-mfa-device\"}",
          "{\"attr\": \"a\", \"suffix\": \":mfa/root-account-mfa-device\"}", 1, NULL);
    check(&l, "{\"a\": \"arn:aws:x\"}", "{\"attr\": \"a\", \"prefix\": [\"arn:aws-cn:\"]}", 0,
          "a is \"arn:aws:x\", expected prefix [\"arn:aws-cn:\"]");
    check(&l, "{\"a\": \"{\\\"source\\\": [\\\"aws.guardduty\\\"]}\"}",
          "{\"attr\": \"a\", \"contains\": \"aws.guardduty\"}", 1, NULL);
    check(&l, "{\"a\": [\"x\", \"Management\"]}", "{\"attr\": \"a\", \"contains\": \"Management\"}",
          1, NULL);
    check(&l, "{\"a\": 5}", "{\"attr\": \"a\", \"contains\": \"x\"}", -1,
          "a is 5, not a list or string");
    /* Pseudo attributes. */
    check(&l, "{}", "{\"attr\": \"$id\", \"eq\": \"vpc-1\"}", 1, "$id is \"vpc-1\"");
    check(&l, "{}", "{\"attr\": \"$region\", \"eq\": \"eu-west-1\"}", 1, NULL);
    check(&l, "{}", "{\"attr\": \"$account\", \"eq\": \"111111111111\"}", 1, NULL);
    check(&l, "{}", "{\"attr\": \"$type\", \"eq\": \"aws_vpc\"}", 1, NULL);
    check(&l, "{}", "{\"attr\": \"$arn\", \"prefix\": \"arn:aws:ec2:\"}", 1, NULL);
    check(&l, "{}", "{\"attr\": \"$tags.Name\", \"eq\": \"main\"}", 1, "$tags.Name is \"main\"");
    check(&l, "{}", "{\"attr\": \"$tags.Owner\", \"exists\": true}", 0, "$tags.Owner is absent");
    /* Parameters as subjects. */
    check(&l, "{}", "{\"param\": \"limit\", \"eq\": 10}", 1, "parameter limit is 10");
    check(&l, "{}", "{\"param\": \"limit\", \"gt\": 10}", 0,
          "parameter limit is 10, expected > 10");
    lang_done(&l);
}
END_TEST

START_TEST(lang_missing_and_unknown)
{
    struct lang l;
    lang_init(&l, NULL);
    /* Absent values: unknown unless the operator is about presence or a
     * default is given. */
    check(&l, "{}", "{\"attr\": \"a\", \"eq\": true}", -1, "a is absent");
    check(&l, "{\"a\": null}", "{\"attr\": \"a\", \"eq\": true}", -1, "a is absent");
    check(&l, "{}", "{\"attr\": \"a\", \"eq\": true, \"default\": false}", 0,
          "a is false, expected true");
    check(&l, "{}", "{\"attr\": \"a\", \"exists\": true}", 0, "a is absent");
    check(&l, "{}", "{\"attr\": \"a\", \"absent\": true}", 1, "a is absent");
    check(&l, "{\"a\": 0}", "{\"attr\": \"a\", \"absent\": true}", 0, "a is 0");
    check(&l, "{\"a\": \"\"}", "{\"attr\": \"a\", \"empty\": true}", 1, "a is empty");
    check(&l, "{\"a\": []}", "{\"attr\": \"a\", \"empty\": false}", 0, "a is empty");
    check(&l, "{\"a\": {}}", "{\"attr\": \"a\", \"empty\": true}", 1, NULL);
    check(&l, "{\"a\": [1]}", "{\"attr\": \"a\", \"empty\": true}", 0, "a is [1]");
    check(&l, "{\"a\": [{\"b\": 1}]}", "{\"attr\": \"a[0].b\", \"eq\": 1}", 1, "a[0].b is 1");
    check(&l, "{\"a\": []}", "{\"attr\": \"a[0].b\", \"eq\": 1}", -1, "a[0].b is absent");
    check(&l, "{\"a\": {\"*/*\": {\"b\": \"INFO\"}}}",
          "{\"attr\": \"a[\\\"*/*\\\"].b\", \"eq\": \"INFO\"}", 1, NULL);
    check(&l, "{\"a\": \"x\"}", "{\"attr\": \"a.b\", \"eq\": 1}", -1, "a.b is absent");
    /* The unknown map wins over whatever value is there. */
    check_with(&l, "{\"policy\": \"{}\"}", "{\"policy\": \"access_denied:s3:GetBucketPolicy\"}",
               "{\"attr\": \"policy\", \"exists\": true}", -1,
               "policy unknown (access_denied:s3:GetBucketPolicy)");
    check_with(&l, "{}", "{\"metadata_options\": \"error:timeout\"}",
               "{\"attr\": \"metadata_options[0].http_tokens\", \"eq\": \"required\"}", -1,
               "metadata_options[0].http_tokens unknown (error:timeout)");
    /* Secrets are never printed. */
    check(&l, "{\"master_password\": \"hunter2\"}",
          "{\"attr\": \"master_password\", \"eq\": \"x\"}", 0,
          "master_password is set, expected \"x\"");
    check(&l, "{\"auth_token\": \"abc\"}", "{\"attr\": \"auth_token\", \"exists\": false}", 0,
          "auth_token is set");
    /* Long values are shortened. */
    check(&l, "{\"a\": \"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
          "{\"attr\": \"a\", \"eq\": \"x\"}", 0,
          "a is \"012345678901234567890123456789012345678901234567890123456...\", expected \"x\"");
    lang_done(&l);
}
END_TEST

START_TEST(lang_logic)
{
    struct lang l;
    const char *t = "{\"const\": true}", *f = "{\"const\": false}";
    const char *u = "{\"attr\": \"nope\", \"eq\": 1}";
    char buf[256];
    lang_init(&l, NULL);
    /* Kleene tables. */
    snprintf(buf, sizeof(buf), "{\"all\": [%s, %s]}", u, f);
    check(&l, "{}", buf, 0, "never");
    snprintf(buf, sizeof(buf), "{\"all\": [%s, %s]}", t, u);
    check(&l, "{}", buf, -1, "nope is absent");
    snprintf(buf, sizeof(buf), "{\"all\": [%s, %s]}", t, t);
    check(&l, "{}", buf, 1, "always");
    snprintf(buf, sizeof(buf), "{\"any\": [%s, %s]}", u, t);
    check(&l, "{}", buf, 1, "always");
    snprintf(buf, sizeof(buf), "{\"any\": [%s, %s]}", f, u);
    check(&l, "{}", buf, -1, "nope is absent");
    snprintf(buf, sizeof(buf), "{\"any\": [%s, %s]}", f, f);
    check(&l, "{}", buf, 0, "never");
    snprintf(buf, sizeof(buf), "{\"not\": %s}", u);
    check(&l, "{}", buf, -1, "nope is absent");
    check(&l, "{\"a\": 1}", "{\"not\": {\"attr\": \"a\", \"eq\": 1}}", 0, "a is 1");
    check(&l, "{\"a\": 2, \"b\": 3}",
          "{\"any\": [{\"attr\": \"a\", \"eq\": 1}, {\"attr\": \"b\", \"eq\": 1}]}", 0,
          "a is 2, expected 1; b is 3, expected 1");
    lang_done(&l);
}
END_TEST

START_TEST(lang_quantifiers)
{
    struct lang l;
    lang_init(&l, NULL);
    check(&l, "{\"l\": [{\"x\": 1}, {\"x\": 2}]}",
          "{\"attr\": \"l\", \"any_of\": {\"attr\": \"x\", \"eq\": 2}}", 1, "l[1]: x is 2");
    check(&l, "{\"l\": [{\"x\": 1}, {\"x\": 2}]}",
          "{\"attr\": \"l\", \"any_of\": {\"attr\": \"x\", \"eq\": 3}}", 0,
          "no element of l qualifies (l[0]: x is 1, expected 3)");
    check(&l, "{\"l\": [{\"x\": 1}, {\"x\": 2}]}",
          "{\"attr\": \"l\", \"all_of\": {\"attr\": \"x\", \"lt\": 2}}", 0,
          "l[1]: x is 2, expected < 2");
    check(&l, "{\"l\": [{\"x\": 1}, {\"x\": 2}]}",
          "{\"attr\": \"l\", \"all_of\": {\"attr\": \"x\", \"lt\": 3}}", 1,
          "all 2 elements of l qualify");
    check(&l, "{\"l\": [\"TLSv1.2\", \"TLSv1\"]}",
          "{\"attr\": \"l\", \"none_of\": {\"attr\": \"@\", \"in\": [\"SSLv3\", \"TLSv1\"]}}", 0,
          "l[1] is \"TLSv1\"");
    check(&l, "{\"l\": []}", "{\"attr\": \"l\", \"any_of\": {\"const\": true}}", 0, "l is empty");
    check(&l, "{\"l\": []}", "{\"attr\": \"l\", \"all_of\": {\"const\": false}}", 1, "l is empty");
    check(&l, "{}", "{\"attr\": \"l\", \"all_of\": {\"const\": false}}", -1, "l is absent");
    check(&l, "{}", "{\"attr\": \"l\", \"default\": [], \"none_of\": {\"const\": true}}", 1,
          "l is empty");
    check(&l, "{\"l\": [{\"x\": 1}, {}]}",
          "{\"attr\": \"l\", \"all_of\": {\"attr\": \"x\", \"eq\": 1}}", -1, "l[1]: x is absent");
    check(&l, "{\"l\": [{}, {\"x\": 2}]}",
          "{\"attr\": \"l\", \"all_of\": {\"attr\": \"x\", \"eq\": 1}}", 0,
          "l[1]: x is 2, expected 1");
    check(&l, "{\"m\": {\"*/*\": {\"c\": true}, \"GET/x\": {\"c\": false}}}",
          "{\"attr\": \"m\", \"all_of\": {\"attr\": \"c\", \"eq\": true}}", 0,
          "m[\"GET/x\"]: c is false, expected true");
    check(&l, "{\"l\": 5}", "{\"attr\": \"l\", \"any_of\": {\"const\": true}}", -1,
          "l is not a list");
    lang_done(&l);
}
END_TEST

START_TEST(lang_time)
{
    struct lang l;
    lang_init(&l, NULL);
    check(&l, "{\"t\": \"2025-01-01T00:00:00Z\"}", "{\"attr\": \"t\", \"older_than_days\": 90}", 1,
          "t is \"2025-01-01T00:00:00Z\" (151 days ago)");
    check(&l, "{\"t\": \"2025-05-01T00:00:00Z\"}", "{\"attr\": \"t\", \"older_than_days\": 90}", 0,
          "t is \"2025-05-01T00:00:00Z\" (31 days ago), expected more than 90 days");
    check(&l, "{\"t\": \"2025-01-01T00:00:00Z\"}", "{\"attr\": \"t\", \"newer_than_days\": 90}", 0,
          "t is \"2025-01-01T00:00:00Z\" (151 days ago), expected less than 90 days");
    check(&l, "{\"t\": \"2025-06-20T00:00:00Z\"}",
          "{\"attr\": \"t\", \"more_than_days_ahead\": 30}", 0,
          "t is \"2025-06-20T00:00:00Z\" (19 days from now), expected more than 30 days");
    check(&l, "{\"t\": \"2026-06-20T00:00:00+02:00\"}",
          "{\"attr\": \"t\", \"more_than_days_ahead\": 30}", 1, NULL);
    check(&l, "{\"t\": \"N/A\"}", "{\"attr\": \"t\", \"older_than_days\": 1}", -1,
          "t is \"N/A\", not a time");
    lang_done(&l);
}
END_TEST

START_TEST(lang_policy)
{
    struct lang l;
    static const char *const good[] = {
        /* Statement object, Principal "*", Action string. */
        "{\"Statement\": {\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"s3:*\", "
        "\"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"false\"}}}}",
        /* Array, Principal {"AWS": ["*"]}, Action list, boolean false, key case. */
        "{\"Statement\": [{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:Get*\"},"
        " {\"Effect\": \"Deny\", \"Principal\": {\"AWS\": [\"*\"]}, \"Action\": [\"s3:GetObject\", "
        "\"*\"], \"Condition\": {\"Bool\": {\"AWS:SecureTransport\": false}}}]}",
    };
    static const char *const bad[] = {
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:*\", "
        "\"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"false\"}}}}",
        "{\"Statement\": {\"Effect\": \"Deny\", \"Principal\": {\"AWS\": \"arn:aws:iam::1:root\"}, "
        "\"Action\": \"s3:*\", \"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"false\"}}}}",
        "{\"Statement\": {\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": "
        "\"s3:GetObject\", "
        "\"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"false\"}}}}",
        "{\"Statement\": {\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"s3:*\", "
        "\"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"true\"}}}}",
        "{\"Statement\": {\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"s3:*\"}}",
    };
    const char *pred = "{\"attr\": \"policy\", \"policy_denies_insecure_transport\": true}";

    lang_init(&l, NULL);
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        json_t *a = json_pack("{ss}", "policy", good[i]);
        char *s = json_dumps(a, 0);
        check(&l, s, pred, 1, "policy denies aws:SecureTransport=false");
        free(s);
        json_decref(a);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        json_t *a = json_pack("{ss}", "policy", bad[i]);
        char *s = json_dumps(a, 0);
        check(&l, s, pred, 0, "policy has no Deny statement for aws:SecureTransport=false");
        free(s);
        json_decref(a);
    }
    /* An object (not a string) works too; junk is unknown, "" is no policy. */
    check(&l,
          "{\"policy\": {\"Statement\": {\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": "
          "\"*\", \"Condition\": {\"Bool\": {\"aws:SecureTransport\": [\"false\"]}}}}}",
          pred, 1, NULL);
    check(&l, "{\"policy\": \"{not json\"}", pred, -1, "policy is not valid JSON (line 1)");
    check(&l, "{\"policy\": \"\"}", pred, 0, "no bucket policy");
    check(&l, "{\"policy\": 5}", pred, -1, "policy is a number");
    lang_done(&l);
}
END_TEST

START_TEST(lang_sg_rules)
{
    struct lang l;
    const char *admin = "{\"sg_rule_open\": {\"ports\": {\"param\": \"ports\"}}}";
    const char *all =
        "{\"sg_rule_open\": {\"all_ports\": true, \"protocols\": [\"tcp\", \"udp\"]}}";
    lang_init(&l, NULL);
    check(&l,
          "{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22, \"cidr_blocks\": "
          "[\"10.0.0.0/8\", \"0.0.0.0/0\"]}",
          admin, 1, "rule allows tcp port 22 from 0.0.0.0/0");
    check(&l,
          "{\"protocol\": \"6\", \"from_port\": 3000, \"to_port\": 4000, \"ipv6_cidr_blocks\": "
          "[\"::/0\"]}",
          admin, 1, "rule allows 6 ports 3000-4000 (incl. 3389) from ::/0");
    check(&l,
          "{\"protocol\": \"-1\", \"from_port\": 0, \"to_port\": 0, \"cidr_blocks\": "
          "[\"0.0.0.0/0\"]}",
          admin, 1, "rule allows all protocols and ports from 0.0.0.0/0");
    check(&l,
          "{\"ip_protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22, \"cidr_ipv4\": "
          "\"0.0.0.0/0\"}",
          admin, 1, "rule allows tcp port 22 from 0.0.0.0/0");
    check(
        &l,
        "{\"ip_protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22, \"cidr_ipv6\": \"::0/0\"}",
        admin, 1, "rule allows tcp port 22 from ::0/0");
    check(&l,
          "{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22, \"cidr_blocks\": "
          "[\"10.0.0.0/8\"], \"ipv6_cidr_blocks\": [\"2001:db8::/32\"]}",
          admin, 0, "rule (tcp) is not open to 0.0.0.0/0 or ::/0");
    check(&l,
          "{\"protocol\": \"udp\", \"from_port\": 0, \"to_port\": 65535, \"cidr_blocks\": "
          "[\"0.0.0.0/0\"]}",
          admin, 0, "rule from 0.0.0.0/0 uses protocol udp");
    check(&l,
          "{\"protocol\": \"tcp\", \"from_port\": 80, \"to_port\": 443, \"cidr_blocks\": "
          "[\"0.0.0.0/0\"]}",
          admin, 0, "rule from 0.0.0.0/0 covers tcp ports 80-443 only");
    check(&l, "{\"protocol\": \"tcp\", \"cidr_blocks\": [\"0.0.0.0/0\"]}", admin, -1,
          "rule from 0.0.0.0/0 has no port range");
    check(&l, "{\"cidr_blocks\": [\"0.0.0.0/0\"]}", admin, -1, "rule protocol absent");
    check(&l,
          "{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22, \"cidr_blocks\": "
          "[\"0.0.0.0/1\"]}",
          admin, 0, "rule (tcp) is not open to 0.0.0.0/0 or ::/0");
    check(&l,
          "{\"protocol\": \"udp\", \"from_port\": 1, \"to_port\": 65535, \"cidr_blocks\": "
          "[\"0.0.0.0/0\"]}",
          all, 1, "rule allows udp ports 1-65535 from 0.0.0.0/0");
    check(&l,
          "{\"protocol\": \"tcp\", \"from_port\": 1024, \"to_port\": 65535, \"cidr_blocks\": "
          "[\"0.0.0.0/0\"]}",
          all, 0, "rule from 0.0.0.0/0 is limited to tcp ports 1024-65535");
    check(&l,
          "{\"protocol\": \"icmp\", \"from_port\": -1, \"to_port\": -1, \"cidr_blocks\": "
          "[\"0.0.0.0/0\"]}",
          all, 0, "rule from 0.0.0.0/0 uses protocol icmp");
    lang_done(&l);
}
END_TEST

START_TEST(lang_relations)
{
    struct lang l;
    lang_init(&l, "[{\"type\": \"aws_flow_log\", \"id\": \"fl-1\", \"attributes\": {\"vpc_id\": "
                  "\"vpc-1\", \"flow_log_status\": \"ACTIVE\", \"traffic_type\": \"ALL\"}},"
                  " {\"type\": \"aws_flow_log\", \"id\": \"fl-2\", \"attributes\": {\"vpc_id\": "
                  "\"vpc-1\", \"flow_log_status\": \"ERROR\", \"traffic_type\": \"ACCEPT\"}},"
                  " {\"type\": \"aws_flow_log\", \"id\": \"fl-3\", \"region\": \"us-east-1\", "
                  "\"attributes\": {\"vpc_id\": \"vpc-9\"}},"
                  " {\"type\": \"aws_s3_bucket\", \"id\": \"logs\", \"region\": \"us-east-1\", "
                  "\"attributes\": {\"arn\": \"arn:aws:logs:us-east-1:1:log-group:x\"}},"
                  " {\"type\": \"aws_iam_user\", \"id\": \"alice\", \"region\": \"global\"}]");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"match\": {\"vpc_id\": \"$id\"}, \"any\": "
          "{\"attr\": \"flow_log_status\", \"eq\": \"ACTIVE\"}}}",
          1, "aws_flow_log fl-1: flow_log_status is \"ACTIVE\"");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"match\": {\"vpc_id\": \"$id\"}, \"all\": "
          "{\"attr\": \"flow_log_status\", \"eq\": \"ACTIVE\"}}}",
          0, "aws_flow_log fl-2: flow_log_status is \"ERROR\", expected \"ACTIVE\"");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"match\": {\"vpc_id\": \"$id\"}, \"none\": "
          "{\"attr\": \"traffic_type\", \"eq\": \"ACCEPT\"}}}",
          0, "aws_flow_log fl-2: traffic_type is \"ACCEPT\"");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"match\": {\"vpc_id\": \"$id\"}, \"any\": "
          "{\"attr\": \"traffic_type\", \"eq\": \"REJECT\"}}}",
          0,
          "none of 2 aws_flow_log qualifies (fl-1: traffic_type is \"ALL\", expected \"REJECT\")");
    /* Region scope does not see us-east-1; account scope does. */
    check(&l, "{\"v\": \"vpc-9\"}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"match\": {\"vpc_id\": \"v\"}}}", 0,
          "no aws_flow_log with vpc_id = \"vpc-9\" in eu-west-1");
    check(&l, "{\"v\": \"vpc-9\"}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"scope\": \"account\", \"match\": "
          "{\"vpc_id\": \"v\"}}}",
          1, "aws_flow_log fl-3: exists");
    /* Indexed lookups, literal values, global types, missing. */
    check(&l, "{\"b\": \"logs\"}",
          "{\"related\": {\"type\": \"aws_s3_bucket\", \"scope\": \"account\", \"match\": "
          "{\"$id\": \"b\"}}}",
          1, NULL);
    check(&l, "{\"b\": \"other\"}",
          "{\"related\": {\"type\": \"aws_s3_bucket\", \"scope\": \"account\", \"match\": "
          "{\"$id\": \"b\"}, \"missing\": \"unknown\"}}",
          -1, "no aws_s3_bucket with $id = \"other\" in account 111111111111");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_iam_user\", \"match\": {\"$id\": {\"value\": "
          "\"alice\"}}}}",
          1, "aws_iam_user alice: exists");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_s3_bucket\", \"scope\": \"account\", \"match\": "
          "{\"arn\": {\"value\": \"arn:aws:logs:us-east-1:1:log-group:x:*\"}}}}",
          1, NULL);
    check(&l, "{}", "{\"related\": {\"type\": \"aws_s3_bucket\", \"match\": {\"$id\": \"nope\"}}}",
          0, "no aws_s3_bucket with $id = absent in eu-west-1");
    check_with(&l, "{}", "{\"b\": \"throttled\"}",
               "{\"related\": {\"type\": \"aws_s3_bucket\", \"match\": {\"$id\": \"b\"}}}", -1,
               "b unknown (throttled)");
    /* A type that was never collected is unknown... */
    check(&l, "{}", "{\"related\": {\"type\": \"aws_kms_key\"}}", -1,
          "aws_kms_key not collected in 111111111111/eu-west-1: not_collected");
    lang_done(&l);
}
END_TEST

/* ...unless a related resource decides the answer anyway. */
START_TEST(lang_relations_partial_coverage)
{
    struct lang l;
    lang_init(&l, "[{\"type\": \"aws_flow_log\", \"id\": \"fl-1\", \"attributes\": {\"vpc_id\": "
                  "\"vpc-1\"}}]");
    ck_assert_int_eq(
        estate_mem_set_coverage(l.m, ACCOUNT, "us-east-1", "aws_flow_log", COLLECT_ACCESS_DENIED),
        0);
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"scope\": \"account\", \"any\": {\"attr\": "
          "\"vpc_id\", \"eq\": \"vpc-1\"}}}",
          1, "aws_flow_log fl-1: vpc_id is \"vpc-1\"");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"scope\": \"account\", \"any\": {\"attr\": "
          "\"vpc_id\", \"eq\": \"vpc-2\"}}}",
          -1, "aws_flow_log not collected in 111111111111/us-east-1: access_denied");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"scope\": \"account\", \"none\": {\"attr\": "
          "\"vpc_id\", \"eq\": \"vpc-1\"}}}",
          0, "aws_flow_log fl-1: vpc_id is \"vpc-1\"");
    check(&l, "{}",
          "{\"related\": {\"type\": \"aws_flow_log\", \"scope\": \"account\", \"all\": {\"attr\": "
          "\"vpc_id\", \"eq\": \"vpc-1\"}}}",
          -1, "aws_flow_log not collected in 111111111111/us-east-1: access_denied");
    lang_done(&l);
}
END_TEST

/* ---- control runs: scopes, unused regions, gaps ---- */

static struct catalogue *one_control(const char *json)
{
    char *dir = tu_tmpdir();
    char *path = tu_path_join(dir, "c.json");
    char *paths[] = { path, NULL };
    struct catalogue *cat = NULL;
    struct perr err = { 0 };
    tu_write_file(path, json);
    ck_assert_msg(controls_load(paths, NULL, &cat, &err) == 0, "%s", err.msg);
    tu_rmrf(dir);
    free(dir);
    free(path);
    return cat;
}

#define CTL_HEAD                                                                                \
    "{\"controls\": [{\"id\": \"t1\", \"title\": \"T\", \"severity\": \"high\", \"nis2\": [], " \
    "\"dora\": [], \"config_rule\": null, \"security_hub\": null, \"prowler\": null, "          \
    "\"remediation\": \"R\", \"references\": [], "

START_TEST(region_controls_and_unused_regions)
{
    struct catalogue *cat = one_control(
        CTL_HEAD "\"scope\": \"region\", \"parameters\": {\"scan_unused\": false}, "
                 "\"evaluation\": {\"related\": {\"type\": \"aws_guardduty_detector\", \"any\": "
                 "{\"attr\": \"enable\", \"eq\": true}}}}]}");
    struct estate_mem *m = NULL;
    struct found fs = { 0 };
    struct resource *r = NULL;
    static const char *const types[] = { "aws_guardduty_detector", NULL };
    const struct finding *f;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "eu-west-1", true), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "eu-central-1", true), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "ap-south-1", false), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, "aws", "222222222222", "eu-west-1", true), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, "eu-west-1", types), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, "eu-central-1", types), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, "ap-south-1", types), 0);
    ck_assert_int_eq(estate_mem_set_coverage(m, "222222222222", "eu-west-1",
                                             "aws_guardduty_detector", COLLECT_THROTTLED),
                     0);
    ck_assert_int_eq(resource_new_with("aws", ACCOUNT, "eu-west-1", "aws_guardduty_detector", NULL,
                                       "det1", NULL, &r),
                     0);
    json_object_set_new(r->attrs, "enable", json_true());
    ck_assert_int_eq(estate_mem_add(m, r), 0);

    run_control(m, cat->controls[0], &fs);
    ck_assert_uint_eq(fs.n, 4);
    f = find(&fs, "region", "eu-west-1");
    ck_assert_int_eq(f->status, FINDING_PASS);
    ck_assert_str_eq(f->account, ACCOUNT);
    f = find(&fs, "region", "eu-central-1");
    ck_assert_int_eq(f->status, FINDING_FAIL);
    ck_assert_str_eq(f->detail, "no aws_guardduty_detector in eu-central-1");
    f = find(&fs, "region", "ap-south-1");
    ck_assert_int_eq(f->status, FINDING_NOT_APPLICABLE);
    ck_assert_str_eq(f->detail, "region unused");
    for (size_t i = 0; i < fs.n; i++)
        if (str_eq(fs.v[i]->account, "222222222222")) {
            ck_assert_int_eq(fs.v[i]->status, FINDING_UNKNOWN);
            ck_assert_str_eq(fs.v[i]->detail, "aws_guardduty_detector not collected in "
                                              "222222222222/eu-west-1: throttled");
        }
    found_clear(&fs);
    controls_free(cat);

    /* scan_unused = true evaluates the unused region too. */
    cat = one_control(CTL_HEAD "\"scope\": \"region\", \"parameters\": {\"scan_unused\": true}, "
                               "\"evaluation\": {\"related\": {\"type\": "
                               "\"aws_guardduty_detector\"}}}]}");
    run_control(m, cat->controls[0], &fs);
    f = find(&fs, "region", "ap-south-1");
    ck_assert_int_eq(f->status, FINDING_FAIL);
    ck_assert_str_eq(f->detail, "no aws_guardduty_detector in ap-south-1");
    found_clear(&fs);
    controls_free(cat);
    estate_mem_free(m);
}
END_TEST

START_TEST(resource_controls_and_gaps)
{
    struct catalogue *cat = one_control(
        CTL_HEAD "\"scope\": \"aws_security_group\", \"parameters\": {\"scan_unused\": false}, "
                 "\"applies_if\": {\"attr\": \"name\", \"eq\": \"default\"}, "
                 "\"evaluation\": {\"attr\": \"ingress\", \"empty\": true}}]}");
    struct estate_mem *m = NULL;
    struct found fs = { 0 };
    static const char *const regions[] = { "eu-west-1", "eu-central-1", "ap-south-1", "us-east-1" };
    const struct finding *f;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    for (size_t i = 0; i < ARRAY_SIZE(regions); i++) {
        struct resource *r = NULL;
        char id[32];
        ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, regions[i], i != 2), 0);
        snprintf(id, sizeof(id), "sg-%zu", i);
        ck_assert_int_eq(resource_new_with("aws", ACCOUNT, regions[i], "aws_security_group",
                                           "AWS::EC2::SecurityGroup", id, NULL, &r),
                         0);
        json_object_set_new(r->attrs, "name", json_string("default"));
        json_object_set_new(r->attrs, "ingress", json_pack("[{si}]", "from_port", 22));
        ck_assert_int_eq(estate_mem_add(m, r), 0);
        ck_assert_int_eq(estate_mem_set_coverage(m, ACCOUNT, regions[i], "aws_security_group",
                                                 i == 1 ? COLLECT_ACCESS_DENIED : COLLECT_OK),
                         0);
    }
    /* A non-default group is not applicable. */
    {
        struct resource *r = NULL;
        ck_assert_int_eq(resource_new_with("aws", ACCOUNT, "eu-west-1", "aws_security_group", NULL,
                                           "sg-web", NULL, &r),
                         0);
        json_object_set_new(r->attrs, "name", json_string("web"));
        ck_assert_int_eq(estate_mem_add(m, r), 0);
    }
    /* us-east-1 was never collected: no coverage record at all. */
    ck_assert_int_eq(estate_mem_set_coverage(m, ACCOUNT, "us-east-1", "aws_security_group",
                                             COLLECT_NOT_COLLECTED),
                     0);

    run_control(m, cat->controls[0], &fs);
    f = find(&fs, "aws_security_group", "sg-0");
    ck_assert_int_eq(f->status, FINDING_FAIL);
    ck_assert_str_eq(f->detail, "ingress is [{\"from_port\":22}]");
    ck_assert_str_eq(f->aws_type, "AWS::EC2::SecurityGroup");
    ck_assert_str_eq(f->region, "eu-west-1");
    f = find(&fs, "aws_security_group", "sg-web");
    ck_assert_int_eq(f->status, FINDING_NOT_APPLICABLE);
    ck_assert_str_eq(f->detail, "not applicable: name is \"web\", expected \"default\"");
    /* The gap: the region itself and the stale resource are UNKNOWN. */
    f = find(&fs, "region", "eu-central-1");
    ck_assert_int_eq(f->status, FINDING_UNKNOWN);
    ck_assert_str_eq(
        f->detail, "aws_security_group not collected in 111111111111/eu-central-1: access_denied");
    f = find(&fs, "aws_security_group", "sg-1");
    ck_assert_int_eq(f->status, FINDING_UNKNOWN);
    ck_assert_str_eq(
        f->detail, "aws_security_group not collected in 111111111111/eu-central-1: access_denied");
    /* Unused region: not applicable, no gap finding. */
    f = find(&fs, "aws_security_group", "sg-2");
    ck_assert_int_eq(f->status, FINDING_NOT_APPLICABLE);
    ck_assert_str_eq(f->detail, "region unused");
    ck_assert_ptr_null(find(&fs, "region", "ap-south-1"));
    f = find(&fs, "region", "us-east-1");
    ck_assert_int_eq(f->status, FINDING_UNKNOWN);
    ck_assert_str_eq(f->detail,
                     "aws_security_group not collected in 111111111111/us-east-1: not_collected");
    ck_assert_uint_eq(fs.n, 7);
    found_clear(&fs);
    controls_free(cat);
    estate_mem_free(m);
}
END_TEST

START_TEST(global_and_account_controls)
{
    struct catalogue *cat = one_control(
        CTL_HEAD
        "\"scope\": \"aws_iam_user\", \"evaluation\": {\"attr\": \"path\", \"eq\": \"/\"}},"
        "{\"id\": \"t2\", \"title\": \"T\", \"severity\": \"low\", \"nis2\": [], "
        "\"dora\": [], \"config_rule\": null, \"security_hub\": null, \"prowler\": null, "
        "\"remediation\": \"R\", \"references\": [], \"scope\": \"account\", "
        "\"evaluation\": {\"related\": {\"type\": \"aws_iam_user\", \"all\": {\"attr\": "
        "\"path\", \"eq\": \"/\"}}}}]}");
    struct estate_mem *m = NULL;
    struct found fs = { 0 };
    struct resource *r = NULL;
    static const char *const types[] = { "aws_iam_user", NULL };
    const struct finding *f;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    ck_assert_int_eq(estate_mem_add_global_type(m, "aws_iam_user"), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, "aws-cn", ACCOUNT, "cn-north-1", true), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, "aws-cn", ACCOUNT, "cn-northwest-1", true), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, RESOURCE_REGION_GLOBAL, types), 0);
    ck_assert_int_eq(resource_new_with(NULL, ACCOUNT, RESOURCE_REGION_GLOBAL, "aws_iam_user", NULL,
                                       "bob", "arn:aws-cn:iam::111111111111:user/ops/bob", &r),
                     0);
    free(r->partition);
    r->partition = NULL;
    json_object_set_new(r->attrs, "path", json_string("/ops/"));
    ck_assert_int_eq(estate_mem_add(m, r), 0);

    run_control(m, cat->controls[0], &fs);
    /* One finding per user, not one per region. */
    ck_assert_uint_eq(fs.n, 1);
    ck_assert_int_eq(fs.v[0]->status, FINDING_FAIL);
    ck_assert_str_eq(fs.v[0]->region, RESOURCE_REGION_GLOBAL);
    ck_assert_str_eq(fs.v[0]->partition, "aws-cn");
    ck_assert_str_eq(fs.v[0]->arn, "arn:aws-cn:iam::111111111111:user/ops/bob");
    found_clear(&fs);

    run_control(m, cat->controls[1], &fs);
    ck_assert_uint_eq(fs.n, 1);
    f = find(&fs, "account", ACCOUNT);
    ck_assert_int_eq(f->status, FINDING_FAIL);
    ck_assert_str_eq(f->detail, "aws_iam_user bob: path is \"/ops/\", expected \"/\"");
    ck_assert_str_eq(f->region, RESOURCE_REGION_GLOBAL);
    ck_assert_str_eq(f->partition, "aws-cn");
    found_clear(&fs);
    controls_free(cat);
    estate_mem_free(m);
}
END_TEST

/* From a global resource, "the same region" is the whole account, and
 * $id of region and account contexts is what their findings carry. */
START_TEST(relations_from_global_contexts)
{
    struct catalogue *cat = one_control(
        CTL_HEAD "\"scope\": \"aws_iam_user\", \"evaluation\": {\"related\": {\"type\": "
                 "\"aws_flow_log\", \"match\": {\"vpc_id\": \"vpc\"}}}},"
                 "{\"id\": \"t2\", \"title\": \"T\", \"severity\": \"low\", \"nis2\": [], "
                 "\"dora\": [], \"config_rule\": null, \"security_hub\": null, \"prowler\": null, "
                 "\"remediation\": \"R\", \"references\": [], \"scope\": \"account\", "
                 "\"evaluation\": {\"attr\": \"$id\", \"eq\": \"x\"}},"
                 "{\"id\": \"t3\", \"title\": \"T\", \"severity\": \"low\", \"nis2\": [], "
                 "\"dora\": [], \"config_rule\": null, \"security_hub\": null, \"prowler\": null, "
                 "\"remediation\": \"R\", \"references\": [], \"scope\": \"region\", "
                 "\"evaluation\": {\"attr\": \"$id\", \"eq\": \"x\"}}]}");
    struct estate_mem *m = NULL;
    struct found fs = { 0 };
    struct resource *r = NULL;
    static const char *const types[] = { "aws_iam_user", "aws_flow_log", NULL };

    ck_assert_int_eq(estate_mem_new(&m), 0);
    ck_assert_int_eq(estate_mem_add_global_type(m, "aws_iam_user"), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "eu-west-1", true), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "us-east-1", true), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, "eu-west-1", types), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, "us-east-1", types), 0);
    ck_assert_int_eq(estate_mem_cover_all(m, ACCOUNT, RESOURCE_REGION_GLOBAL, types), 0);
    ck_assert_int_eq(resource_new_with(NULL, ACCOUNT, RESOURCE_REGION_GLOBAL, "aws_iam_user", NULL,
                                       "bob", NULL, &r),
                     0);
    json_object_set_new(r->attrs, "vpc", json_string("vpc-9"));
    ck_assert_int_eq(estate_mem_add(m, r), 0);
    ck_assert_int_eq(
        resource_new_with(NULL, ACCOUNT, "us-east-1", "aws_flow_log", NULL, "fl-9", NULL, &r), 0);
    json_object_set_new(r->attrs, "vpc_id", json_string("vpc-9"));
    ck_assert_int_eq(estate_mem_add(m, r), 0);

    run_control(m, cat->controls[0], &fs);
    ck_assert_uint_eq(fs.n, 1);
    ck_assert_int_eq(fs.v[0]->status, FINDING_PASS);
    found_clear(&fs);
    run_control(m, cat->controls[1], &fs);
    ck_assert_uint_eq(fs.n, 1);
    ck_assert_str_eq(fs.v[0]->detail, "$id is \"111111111111\", expected \"x\"");
    found_clear(&fs);
    run_control(m, cat->controls[2], &fs);
    ck_assert_uint_eq(fs.n, 2);
    ck_assert_str_eq(find(&fs, "region", "us-east-1")->detail,
                     "$id is \"us-east-1\", expected \"x\"");
    found_clear(&fs);
    controls_free(cat);
    estate_mem_free(m);
}
END_TEST

static int stop_after_one(const struct finding *f, void *userdata)
{
    int *n = userdata;
    (*n)++;
    return 42;
}

START_TEST(callbacks_and_disabled)
{
    const char *dis[] = { "t1", NULL };
    struct catalogue *cat = one_control(CTL_HEAD "\"scope\": \"region\", \"evaluation\": "
                                                 "{\"const\": true}}]}");
    struct estate_mem *m = NULL;
    struct evaluate *ev = NULL;
    struct perr err = { 0 };
    int n = 0;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "eu-west-1", true), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "eu-west-2", true), 0);
    ck_assert_int_eq(evaluate_new(estate_mem_ops(), m, NOW_MS, &ev, &err), 0);
    ck_assert_int_eq(evaluate_control(ev, cat->controls[0], stop_after_one, &n, &err), 42);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(evaluate_catalogue(ev, cat, stop_after_one, &n, &err), 42);
    ck_assert_int_eq(n, 1);
    controls_free(cat);

    {
        char *dir = tu_tmpdir();
        char *path = tu_path_join(dir, "c.json");
        char *paths[] = { path, NULL };
        struct controls_overrides ov = { dis, NULL };
        tu_write_file(path, CTL_HEAD "\"scope\": \"region\", \"evaluation\": {\"const\": true}}]}");
        ck_assert_int_eq(controls_load(paths, &ov, &cat, &err), 0);
        n = 0;
        ck_assert_int_eq(evaluate_catalogue(ev, cat, stop_after_one, &n, &err), 0);
        ck_assert_int_eq(n, 0);
        controls_free(cat);
        tu_rmrf(dir);
        free(dir);
        free(path);
    }
    evaluate_free(ev);
    estate_mem_free(m);
}
END_TEST

/* A broken estate: the evaluator reports the failure and delivers nothing. */
static int failing_foreach(void *estate, const char *type, const char *account, const char *region,
                           estate_resource_cb cb, void *userdata)
{
    return -EIO;
}

START_TEST(estate_errors)
{
    struct catalogue *cat = one_control(CTL_HEAD "\"scope\": \"aws_vpc\", \"evaluation\": "
                                                 "{\"const\": true}}]}");
    struct estate_mem *m = NULL;
    struct estate_ops ops = *estate_mem_ops();
    struct evaluate *ev = NULL;
    struct perr err = { 0 };
    int n = 0;

    ck_assert_int_eq(estate_mem_new(&m), 0);
    ck_assert_int_eq(estate_mem_add_scope(m, NULL, ACCOUNT, "eu-west-1", true), 0);
    ops.foreach_resource = failing_foreach;
    ck_assert_int_eq(evaluate_new(&ops, m, NOW_MS, &ev, &err), 0);
    ck_assert_int_eq(evaluate_control(ev, cat->controls[0], stop_after_one, &n, &err), -EIO);
    ck_assert_str_eq(err.msg, "control 't1': cannot read the estate: Input/output error");
    ck_assert_int_eq(n, 0);
    evaluate_free(ev);
    ops.type_is_global = NULL;
    ck_assert_int_eq(evaluate_new(&ops, m, NOW_MS, &ev, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "estate: incomplete operations table");
    controls_free(cat);
    estate_mem_free(m);
}
END_TEST

/* ---- the catalogue against the type table ---- */

/* When lib/typemap.json is in the tree (it is written in parallel), every
 * attribute path the catalogue reads must exist there, and the global
 * types of the test data must be the table's. */
static const json_t *tm_type(const json_t *tm, const char *type)
{
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(tm, "types"), i, e) {
        if (str_eq(json_string_value(json_object_get(e, "type")), type))
            return e;
    }
    return NULL;
}

/* Resolve path in the attribute table attrs; returns the attribute's
 * definition, NULL (and a message) if it does not exist. */
static const json_t *tm_resolve(const json_t *attrs, const char *path, char *why, size_t n)
{
    json_t *cur = json_pack("{sOss}", "attributes", attrs, "kind", "object");
    const json_t *ret = NULL;
    const char *s = path;

    while (*s) {
        if (*s == '[') {
            const char *e = strchr(s, ']');
            const char *k = json_string_value(json_object_get(cur, "kind"));
            bool quoted = s[1] == '"';
            if (!e || (quoted ? !str_eq(k, "map") : !(str_eq(k, "list") || str_eq(k, "set")))) {
                snprintf(why, n, "'%s': %s on a %s", path, quoted ? "key" : "index", k);
                goto out;
            }
            json_object_set_new(cur, "kind", json_string("object"));
            s = e + 1;
        } else {
            size_t l = strcspn(s, ".[");
            char name[128];
            const json_t *a;
            snprintf(name, sizeof(name), "%.*s", (int)l, s);
            a = json_object_get(json_object_get(cur, "attributes"), name);
            if (!a) {
                snprintf(why, n, "'%s': no attribute '%s'", path, name);
                goto out;
            }
            a = json_deep_copy(a);
            json_decref(cur);
            cur = (json_t *)a;
            ck_assert_ptr_nonnull(cur);
            s += l;
        }
        if (*s == '.')
            s++;
    }
    ret = cur;
    cur = NULL;
out:
    json_decref(cur);
    return ret;
}

static void tm_walk(const json_t *tm, const json_t *p, const json_t *attrs, const char *cid,
                    size_t *problems)
{
    size_t i;
    json_t *x;
    const json_t *rel, *a;
    char why[256];

    if (!json_is_object(p))
        return;
    json_array_foreach (json_object_get(p, "all"), i, x)
        tm_walk(tm, x, attrs, cid, problems);
    json_array_foreach (json_object_get(p, "any"), i, x)
        tm_walk(tm, x, attrs, cid, problems);
    tm_walk(tm, json_object_get(p, "not"), attrs, cid, problems);
    rel = json_object_get(p, "related");
    if (rel) {
        const char *t = json_string_value(json_object_get(rel, "type"));
        const json_t *e = tm_type(tm, t);
        const char *k;
        const json_t *v;
        if (!e) {
            fprintf(stderr, "%s: related type %s is not in the typemap\n", cid, t);
            (*problems)++;
            return;
        }
        json_object_foreach ((json_t *)json_object_get(rel, "match"), k, v) {
            const json_t *d;
            if (k[0] != '$') {
                if (!(d = tm_resolve(json_object_get(e, "attributes"), k, why, sizeof(why)))) {
                    fprintf(stderr, "%s: %s: %s\n", cid, t, why);
                    (*problems)++;
                }
                json_decref((json_t *)d);
            }
            if (json_is_string(v) && json_string_value(v)[0] != '$') {
                if (!attrs) {
                    fprintf(stderr, "%s: match reads '%s' without a resource\n", cid,
                            json_string_value(v));
                    (*problems)++;
                } else if (!(d = tm_resolve(attrs, json_string_value(v), why, sizeof(why)))) {
                    fprintf(stderr, "%s: %s\n", cid, why);
                    (*problems)++;
                } else {
                    json_decref((json_t *)d);
                }
            }
        }
        tm_walk(tm, json_object_get(rel, "any"), json_object_get(e, "attributes"), cid, problems);
        tm_walk(tm, json_object_get(rel, "all"), json_object_get(e, "attributes"), cid, problems);
        tm_walk(tm, json_object_get(rel, "none"), json_object_get(e, "attributes"), cid, problems);
        return;
    }
    a = json_object_get(p, "attr");
    if (json_is_string(a) && json_string_value(a)[0] != '$' && json_string_value(a)[0] != '@') {
        static const char *const quants[] = { "any_of", "all_of", "none_of" };
        const json_t *d;
        if (!attrs) {
            fprintf(stderr, "%s: reads '%s' without a resource\n", cid, json_string_value(a));
            (*problems)++;
            return;
        }
        d = tm_resolve(attrs, json_string_value(a), why, sizeof(why));
        if (!d) {
            fprintf(stderr, "%s: %s\n", cid, why);
            (*problems)++;
            return;
        }
        for (size_t q = 0; q < ARRAY_SIZE(quants); q++)
            if (json_object_get(p, quants[q]))
                tm_walk(tm, json_object_get(p, quants[q]), json_object_get(d, "attributes"), cid,
                        problems);
        json_decref((json_t *)d);
    }
}

START_TEST(catalogue_matches_typemap)
{
    char *path = tu_srcpath("lib/typemap.json");
    json_t *tm = load_json_file(path);
    json_t *cases = load_cases();
    char **global_types = case_global_types(cases);
    struct catalogue *cat = load_catalogue(NULL);
    size_t problems = 0, i;
    json_t *e;

    for (size_t k = 0; k < cat->n; k++) {
        const struct control *c = cat->controls[k];
        const json_t *attrs = NULL;
        if (c->scope_kind == CONTROL_SCOPE_RESOURCE) {
            const json_t *te = tm_type(tm, c->scope);
            ck_assert_msg(te != NULL, "%s: scope type %s is not in the typemap", c->id, c->scope);
            attrs = json_object_get(te, "attributes");
        }
        tm_walk(tm, json_object_get(c->definition, "applies_if"), attrs, c->id, &problems);
        tm_walk(tm, json_object_get(c->definition, "evaluation"), attrs, c->id, &problems);
        tm_walk(tm, json_object_get(c->definition, "warn_if"), attrs, c->id, &problems);
    }
    ck_assert_msg(problems == 0, "%zu catalogue attributes are not in the typemap", problems);
    json_array_foreach (json_object_get(tm, "types"), i, e) {
        const char *scope = json_string_value(json_object_get(e, "scope"));
        const char *t = json_string_value(json_object_get(e, "type"));
        bool global = str_eq(scope, "global") || str_eq(scope, "account_singleton");
        ck_assert_msg(global == strv_contains(global_types, t),
                      "%s: global in the typemap (%s) but not in the test data, or the reverse", t,
                      scope);
    }
    controls_free(cat);
    strv_free(global_types);
    json_decref(cases);
    json_decref(tm);
    free(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("evaluate");
    TCase *tc = tcase_create("evaluate");
    char *tm = tu_srcpath("lib/typemap.json");

    tcase_add_test(tc, lang_comparisons);
    tcase_add_test(tc, lang_missing_and_unknown);
    tcase_add_test(tc, lang_logic);
    tcase_add_test(tc, lang_quantifiers);
    tcase_add_test(tc, lang_time);
    tcase_add_test(tc, lang_policy);
    tcase_add_test(tc, lang_sg_rules);
    tcase_add_test(tc, lang_relations);
    tcase_add_test(tc, lang_relations_partial_coverage);
    tcase_add_test(tc, region_controls_and_unused_regions);
    tcase_add_test(tc, resource_controls_and_gaps);
    tcase_add_test(tc, global_and_account_controls);
    tcase_add_test(tc, relations_from_global_contexts);
    tcase_add_test(tc, callbacks_and_disabled);
    tcase_add_test(tc, estate_errors);
    tcase_add_test(tc, catalogue_cases);
    if (access(tm, R_OK) == 0)
        tcase_add_test(tc, catalogue_matches_typemap);
    else
        fprintf(stderr, "note: %s not in this tree; the catalogue/typemap cross-check is not run\n",
                tm);
    free(tm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
