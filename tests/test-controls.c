#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controls.h"
#include "evaluate.h"
#include "testutil.h"
#include "util.h"

/* The shipped catalogue: $PLUMB_DATADIR/baseline (meson sets it to etc/). */
static char *baseline_dir(void)
{
    const char *d = getenv("PLUMB_DATADIR");
    char *p;
    ck_assert_msg(d != NULL, "PLUMB_DATADIR is not set");
    p = str_printf("%s/baseline", d);
    ck_assert_ptr_nonnull(p);
    return p;
}

static struct catalogue *load_shipped(const struct controls_overrides *ov)
{
    char *dir = baseline_dir();
    char *paths[] = { dir, NULL };
    struct catalogue *cat = NULL;
    struct perr err = { 0 };
    int r = controls_load(paths, ov, &cat, &err);
    ck_assert_msg(r == 0, "loading %s: %s", dir, err.msg);
    free(dir);
    return cat;
}

/* Write content to <dir>/<name> and return the path (malloc'd). */
static char *put(const char *dir, const char *name, const char *content)
{
    char *p = tu_path_join(dir, name);
    tu_write_file(p, content);
    return p;
}

/* Load one file and return the error message (static), asserting failure. */
static const char *load_error(const char *content, int want_code, char **ret_path)
{
    static struct perr err;
    char *dir = tu_tmpdir();
    char *path = put(dir, "bad.json", content);
    char *paths[] = { path, NULL };
    struct catalogue *cat = NULL;
    int r;

    memset(&err, 0, sizeof(err));
    r = controls_load(paths, NULL, &cat, &err);
    ck_assert_msg(r == want_code, "expected %d, got %d (%s)", want_code, r, err.msg);
    ck_assert_ptr_null(cat);
    *ret_path = path;
    tu_rmrf(dir);
    free(dir);
    return err.msg;
}

#define CONTROL_REST                                                          \
    "\"severity\": \"high\", \"nis2\": [\"21.2.h\"], \"dora\": [\"Art 9\"], " \
    "\"config_rule\": null, \"security_hub\": \"X.1\", \"prowler\": null, "   \
    "\"scope\": \"aws_db_instance\", \"remediation\": \"Fix it.\", \"references\": []"
#define CONTROL_OK "\"title\": \"T\", " CONTROL_REST

static void assert_load_error(const char *content, const char *suffix)
{
    char *path = NULL;
    const char *msg = load_error(content, -EINVAL, &path);
    char *want = str_printf("%s%s", path, suffix);
    ck_assert_str_eq(msg, want);
    free(want);
    free(path);
}

START_TEST(shipped_catalogue_is_complete)
{
    struct catalogue *cat = load_shipped(NULL);
    static const char *const prefixes[] = { "enc-", "tls-", "log-", "bck-", "acc-", "net-", "ir-" };

    ck_assert_uint_ge(cat->n, 60);
    ck_assert_uint_eq(controls_count_enabled(cat), cat->n);
    for (size_t i = 0; i < cat->n; i++) {
        const struct control *c = cat->controls[i];
        bool prefixed = false;
        for (size_t j = 0; j < ARRAY_SIZE(prefixes); j++)
            prefixed = prefixed || str_has_prefix(c->id, prefixes[j]);
        ck_assert_msg(prefixed, "%s: id without a category prefix", c->id);
        ck_assert_msg(c->title && c->title[0], "%s: no title", c->id);
        ck_assert_msg(c->remediation && strlen(c->remediation) > 20, "%s: no remediation", c->id);
        ck_assert_msg(strv_length(c->nis2) > 0, "%s: no NIS2 reference", c->id);
        ck_assert_msg(strv_length(c->dora) > 0, "%s: no DORA reference", c->id);
        for (size_t j = 0; c->nis2[j]; j++)
            ck_assert_msg(controls_nis2_ref_valid(c->nis2[j]), "%s: bad NIS2 %s", c->id,
                          c->nis2[j]);
        for (size_t j = 0; c->dora[j]; j++)
            ck_assert_msg(controls_dora_ref_valid(c->dora[j]), "%s: bad DORA %s", c->id,
                          c->dora[j]);
        ck_assert_msg(strv_length(c->references) > 0, "%s: no references", c->id);
        for (size_t j = 0; c->references[j]; j++)
            ck_assert_msg(str_has_prefix(c->references[j], "https://"), "%s: reference %s", c->id,
                          c->references[j]);
        ck_assert_msg(c->evaluation != NULL, "%s: not compiled", c->id);
        ck_assert_msg(c->severity >= CONTROL_SEVERITY_LOW &&
                          c->severity <= CONTROL_SEVERITY_CRITICAL,
                      "%s", c->id);
        ck_assert_ptr_nonnull(c->config_rule);
        ck_assert_ptr_nonnull(c->security_hub);
        ck_assert_ptr_nonnull(c->prowler);
        ck_assert_ptr_nonnull(c->proposed);
        ck_assert_msg(json_is_object(c->parameters), "%s", c->id);
        ck_assert_msg(str_has_suffix(c->source, ".json"), "%s: source %s", c->id, c->source);
        ck_assert_msg(c->scope_kind != CONTROL_SCOPE_RESOURCE || str_has_prefix(c->scope, "aws_") ||
                          str_has_prefix(c->scope, "plumb_"),
                      "%s: scope %s", c->id, c->scope);
    }
    controls_free(cat);
}
END_TEST

/* Every control of the reference catalogue (shared/reference) ships, with
 * the reference's severity. */
START_TEST(shipped_catalogue_covers_reference)
{
    char *path = tu_fixture("../reference/nis2-dora-controls.md");
    char *text = tu_read_file(path);
    struct catalogue *cat = load_shipped(NULL);
    size_t rows = 0;
    char *save = NULL;

    ck_assert_ptr_nonnull(text);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char id[64], *cells[16];
        size_t n = 0, len;
        const struct control *c;
        if (!str_has_prefix(line, "| ") || !strchr("etlbain", line[2]) || !strchr(line + 2, '-'))
            continue;
        len = strcspn(line + 2, " |");
        if (len == 0 || len >= sizeof(id))
            continue;
        memcpy(id, line + 2, len);
        id[len] = '\0';
        if (!(str_has_prefix(id, "enc-") || str_has_prefix(id, "tls-") ||
              str_has_prefix(id, "log-") || str_has_prefix(id, "bck-") ||
              str_has_prefix(id, "acc-") || str_has_prefix(id, "net-") ||
              str_has_prefix(id, "ir-")))
            continue;
        rows++;
        c = controls_find(cat, id);
        ck_assert_msg(c != NULL, "reference control %s is missing from the catalogue", id);
        /* The last cell is our severity. */
        for (char *p = line; *p && n < ARRAY_SIZE(cells); p++)
            if (*p == '|')
                cells[n++] = p;
        ck_assert_uint_ge(n, 3);
        {
            char sev[16];
            const char *s = cells[n - 2] + 1;
            size_t l;
            while (*s == ' ')
                s++;
            l = strcspn(s, " |");
            ck_assert_uint_lt(l, sizeof(sev));
            memcpy(sev, s, l);
            sev[l] = '\0';
            ck_assert_msg(str_eq(control_severity_name(c->severity), sev),
                          "%s: severity %s, reference says %s", id,
                          control_severity_name(c->severity), sev);
        }
    }
    ck_assert_uint_eq(rows, 63);
    controls_free(cat);
    free(text);
    free(path);
}
END_TEST

START_TEST(labels)
{
    char *s = controls_nis2_label("21.2.h");
    ck_assert_str_eq(s, "NIS2 Art. 21(2)(h)");
    free(s);
    s = controls_dora_label("Art 17");
    ck_assert_str_eq(s, "DORA Art. 17");
    free(s);
    ck_assert(controls_nis2_ref_valid("21.2.a"));
    ck_assert(controls_nis2_ref_valid("21.2.j"));
    ck_assert(!controls_nis2_ref_valid("21.2.k"));
    ck_assert(!controls_nis2_ref_valid("21.3.a"));
    ck_assert(!controls_nis2_ref_valid("21.2.hh"));
    ck_assert(controls_dora_ref_valid("Art 1"));
    ck_assert(controls_dora_ref_valid("Art 64"));
    ck_assert(!controls_dora_ref_valid("Art 65"));
    ck_assert(!controls_dora_ref_valid("Art 09"));
    ck_assert(!controls_dora_ref_valid("Article 9"));
}
END_TEST

START_TEST(override_disable)
{
    const char *dis[] = { "enc-rds-instance", "net-sg-all-ports", NULL };
    struct controls_overrides ov = { dis, NULL };
    struct catalogue *all = load_shipped(NULL), *cat = load_shipped(&ov);

    ck_assert_uint_eq(cat->n, all->n);
    ck_assert_uint_eq(controls_count_enabled(cat), all->n - 2);
    ck_assert(!controls_find(cat, "enc-rds-instance")->enabled);
    ck_assert(!controls_find(cat, "net-sg-all-ports")->enabled);
    ck_assert(controls_find(cat, "enc-rds-cluster")->enabled);
    controls_free(all);
    controls_free(cat);
}
END_TEST

START_TEST(override_params)
{
    json_error_t je;
    json_t *params = json_loads("{\"logs.retention_min_days\": 400, \"scan_unused\": true,"
                                " \"log-loggroup-retention\": {\"logs.retention_min_days\": 500},"
                                " \"acm.insecure_algos\": [\"RSA-1024\", \"RSA-2048\"]}",
                                0, &je);
    struct controls_overrides ov = { NULL, params };
    struct catalogue *cat = load_shipped(&ov);
    const struct control *trail = controls_find(cat, "log-cloudtrail-retention-12m");
    const struct control *lg = controls_find(cat, "log-loggroup-retention");
    const struct control *gd = controls_find(cat, "log-guardduty-all-regions");
    const struct control *acm = controls_find(cat, "tls-acm-key-strength");

    ck_assert_int_eq(
        json_integer_value(json_object_get(trail->parameters, "logs.retention_min_days")), 400);
    /* The per-control value wins over the global one, whatever the order. */
    ck_assert_int_eq(json_integer_value(json_object_get(lg->parameters, "logs.retention_min_days")),
                     500);
    ck_assert(json_is_true(json_object_get(gd->parameters, "scan_unused")));
    ck_assert_uint_eq(json_array_size(json_object_get(acm->parameters, "acm.insecure_algos")), 2);
    controls_free(cat);
    json_decref(params);
}
END_TEST

static void assert_override_error(const char *params_json, const char *const *disable,
                                  const char *want)
{
    json_error_t je;
    json_t *params = params_json ? json_loads(params_json, 0, &je) : NULL;
    struct controls_overrides ov = { disable, params };
    char *dir = baseline_dir();
    char *paths[] = { dir, NULL };
    struct catalogue *cat = NULL;
    struct perr err = { 0 };

    ck_assert(params_json == NULL || params != NULL);
    ck_assert_int_eq(controls_load(paths, &ov, &cat, &err), -EINVAL);
    ck_assert_ptr_null(cat);
    ck_assert_str_eq(err.msg, want);
    json_decref(params);
    free(dir);
}

START_TEST(override_errors)
{
    const char *dis[] = { "enc-rds-instance", "enc-nope", NULL };
    assert_override_error("{\"logs.retention_days\": 400}", NULL,
                          "params: unknown parameter 'logs.retention_days'");
    assert_override_error("{\"logs.retention_min_days\": \"400\"}", NULL,
                          "params: 'logs.retention_min_days' must be a number (got string)");
    assert_override_error("{\"scan_unused\": 1}", NULL,
                          "params: 'scan_unused' must be true or false (got number)");
    assert_override_error("{\"acm.insecure_algos\": [1024]}", NULL,
                          "params: 'acm.insecure_algos' must be an array of strings (got array)");
    assert_override_error(
        "{\"log-loggroup-retention\": {\"pwd.min_len\": 20}}", NULL,
        "params: control 'log-loggroup-retention' has no parameter 'pwd.min_len'");
    assert_override_error(
        "{\"log-loggroup-retention\": {\"logs.retention_min_days\": false}}", NULL,
        "params: 'log-loggroup-retention.logs.retention_min_days' must be a number (got boolean)");
    assert_override_error(NULL, dis, "disable: unknown control 'enc-nope'");
}
END_TEST

START_TEST(custom_and_override_files)
{
    char *dir = tu_tmpdir();
    char *shipped = baseline_dir();
    char *custom =
        put(dir, "custom.json",
            "{\"version\": 1, \"controls\": [\n"
            " {\"id\": \"x-db-tagged\", \"title\": \"DB instances carry an owner tag\","
            "  \"severity\": \"low\", \"nis2\": [\"21.2.a\"], \"dora\": [\"Art 8\"],"
            "  \"config_rule\": \"required-tags\", \"security_hub\": null,"
            "  \"prowler\": null, \"scope\": \"aws_db_instance\","
            "  \"parameters\": {\"tag\": \"owner\"},"
            "  \"evaluation\": {\"attr\": \"$tags.owner\", \"exists\": true},"
            "  \"remediation\": \"Tag it.\", \"references\": []},\n"
            " {\"id\": \"enc-rds-instance\", \"title\": \"Replaced\","
            "  \"severity\": \"critical\", \"nis2\": [\"21.2.h\"], \"dora\": [\"Art 9\"],"
            "  \"config_rule\": null, \"security_hub\": null, \"prowler\": null,"
            "  \"scope\": \"aws_db_instance\","
            "  \"evaluation\": {\"attr\": \"storage_encrypted\", \"eq\": true},"
            "  \"remediation\": \"Encrypt.\", \"references\": []}\n"
            "]}\n");
    char *paths[] = { shipped, custom, NULL };
    struct catalogue *base = load_shipped(NULL), *cat = NULL;
    struct perr err = { 0 };
    const struct control *c;
    size_t pos_before = 0, pos_after = 0;

    ck_assert_msg(controls_load(paths, NULL, &cat, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cat->n, base->n + 1);
    c = controls_find(cat, "x-db-tagged");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->source, custom);
    ck_assert_str_eq(c->config_rule[0], "required-tags");
    c = controls_find(cat, "enc-rds-instance");
    ck_assert_str_eq(c->title, "Replaced");
    ck_assert_int_eq(c->severity, CONTROL_SEVERITY_CRITICAL);
    ck_assert_str_eq(c->source, custom);
    /* A replaced control keeps its place in the catalogue order. */
    for (size_t i = 0; i < base->n; i++)
        if (str_eq(base->controls[i]->id, "enc-rds-instance"))
            pos_before = i;
    for (size_t i = 0; i < cat->n; i++)
        if (str_eq(cat->controls[i]->id, "enc-rds-instance"))
            pos_after = i;
    ck_assert_uint_eq(pos_before, pos_after);
    ck_assert_str_eq(cat->controls[cat->n - 1]->id, "x-db-tagged");
    controls_free(cat);
    controls_free(base);
    tu_rmrf(dir);
    free(dir);
    free(custom);
    free(shipped);
}
END_TEST

START_TEST(directory_order)
{
    char *dir = tu_tmpdir();
    char *a = put(dir, "20-b.json",
                  "{\"controls\": [{\"id\": \"c1\", \"title\": \"second\", " CONTROL_REST
                  ", \"evaluation\": {\"const\": true}}]}");
    char *b = put(dir, "10-a.json",
                  "{\"controls\": [{\"id\": \"c1\", \"title\": \"first\", " CONTROL_REST
                  ", \"evaluation\": {\"const\": true}}]}");
    char *ignored = put(dir, "notes.txt", "not json");
    char *hidden = put(dir, ".hidden.json", "{");
    char *paths[] = { dir, NULL };
    struct catalogue *cat = NULL;
    struct perr err = { 0 };

    ck_assert_msg(controls_load(paths, NULL, &cat, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cat->n, 1);
    /* 20-b.json is read after 10-a.json and wins. */
    ck_assert_str_eq(cat->controls[0]->title, "second");
    controls_free(cat);
    tu_rmrf(dir);
    free(dir);
    free(a);
    free(b);
    free(ignored);
    free(hidden);
}
END_TEST

START_TEST(malformed_syntax)
{
    char *path = NULL;
    const char *msg =
        load_error("{\"controls\": [\n  {\"id\": \"c1\",, \"title\": \"x\"}\n]}\n", -EINVAL, &path);
    char *want = str_printf("%s:2:15: string or '}' expected near ','", path);
    ck_assert_str_eq(msg, want);
    free(want);
    free(path);

    msg = load_error("{\"controls\": [], \"controls\": []}", -EINVAL, &path);
    want = str_printf("%s:1:27: duplicate object key near '\"controls\"'", path);
    ck_assert_str_eq(msg, want);
    free(want);
    free(path);
}
END_TEST

START_TEST(malformed_controls)
{
    assert_load_error("{\"controls\": [{\"id\": \"c1\", " CONTROL_OK
                      ", \"evaluation\": {\"all\": [{\"attr\": \"a\", \"eq\": 1}, "
                      "{\"attr\": \"b\", \"equals\": 2}]}}]}",
                      ": control 'c1': evaluation.all[1]: unknown operator 'equals'");
    assert_load_error("{\"controls\": [{\"id\": \"c1\", " CONTROL_OK
                      ", \"evaluation\": {\"attr\": \"a\", \"gte\": {\"param\": \"days\"}}}]}",
                      ": control 'c1': evaluation.gte: unknown parameter 'days'");
    assert_load_error("{\"controls\": [{\"id\": \"c1\", \"severity\": \"high\"}]}",
                      ": control 'c1': missing field 'title'");
    assert_load_error("{\"controls\": [{\"title\": \"no id\"}]}",
                      ": controls[0]: missing field 'id'");
    assert_load_error("{\"controls\": [{\"id\": \"c1\", " CONTROL_OK
                      ", \"evaluation\": {\"const\": true}}, {\"id\": \"c2\", \"title\": \"T\", "
                      "\"severity\": \"urgent\"}]}",
                      ": control 'c2': field 'severity': 'urgent' is not one of critical, high, "
                      "medium, low");
    assert_load_error("{\"controls\": [{\"id\": \"c1\", " CONTROL_OK "}]}",
                      ": control 'c1': missing field 'evaluation'");
    assert_load_error("{\"controls\": [{\"id\": \"c1\", " CONTROL_OK
                      ", \"evaluation\": {\"const\": true}, \"applies-if\": {\"const\": true}}]}",
                      ": control 'c1': unknown field 'applies-if'");
    assert_load_error("{\"controls\": [{\"id\": \"C 1\"}]}",
                      ": controls[0]: field 'id': 'C 1' is not a valid id (lower-case letters, "
                      "digits, '-', '_', '.'; at most 64)");
}
END_TEST

/* One control with a replaced field: {"id": "c1", <ok fields>, <extra>}. */
static char *control_with(const char *extra)
{
    char *s = str_printf("{\"controls\": [{\"id\": \"c1\", " CONTROL_OK ", %s}]}", extra);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void assert_field_error(const char *fields, const char *want_suffix)
{
    /* fields override CONTROL_OK's values: jansson rejects duplicate keys,
     * so build the control from scratch. */
    char *doc = str_printf("{\"controls\": [{\"id\": \"c1\", %s}]}", fields);
    ck_assert_ptr_nonnull(doc);
    assert_load_error(doc, want_suffix);
    free(doc);
}

START_TEST(malformed_fields)
{
    static const char *rest = "\"config_rule\": null, \"security_hub\": null, \"prowler\": null, "
                              "\"remediation\": \"R\", \"references\": [], "
                              "\"evaluation\": {\"const\": true}";
    char *f;

    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": [\"21.3.a\"], "
                   "\"dora\": [\"Art 9\"], \"scope\": \"account\", %s",
                   rest);
    assert_field_error(f, ": control 'c1': field 'nis2': '21.3.a' is not an Art. 21(2) reference "
                          "(21.2.a to 21.2.j)");
    free(f);
    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": [\"21.2.a\"], "
                   "\"dora\": [\"Article 9\"], \"scope\": \"account\", %s",
                   rest);
    assert_field_error(f,
                       ": control 'c1': field 'dora': 'Article 9' is not a DORA article (Art 1 to "
                       "Art 64)");
    free(f);
    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": \"21.2.a\", "
                   "\"dora\": [\"Art 9\"], \"scope\": \"account\", %s",
                   rest);
    assert_field_error(f,
                       ": control 'c1': field 'nis2': expected an array of strings (got string)");
    free(f);
    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": [\"21.2.a\"], "
                   "\"dora\": [\"Art 9\"], \"scope\": \"AWS::S3::Bucket\", %s",
                   rest);
    assert_field_error(f, ": control 'c1': field 'scope': 'AWS::S3::Bucket' is not \"account\", "
                          "\"region\" or a resource type");
    free(f);
    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": [\"21.2.a\"], "
                   "\"dora\": [\"Art 9\"], \"scope\": \"region\", \"proposed\": [\"nis3\"], %s",
                   rest);
    assert_field_error(f, ": control 'c1': field 'proposed': 'nis3' is not one of nis2, dora, "
                          "config_rule, security_hub, prowler, severity");
    free(f);
    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": [\"21.2.a\"], "
                   "\"dora\": [\"Art 9\"], \"scope\": \"region\", \"parameters\": "
                   "{\"x\": {\"a\": 1}}, %s",
                   rest);
    assert_field_error(f, ": control 'c1': field 'parameters': 'x' must be a number, string, "
                          "boolean or array of numbers/strings");
    free(f);
    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": [\"21.2.a\"], "
                   "\"dora\": [\"Art 9\"], \"scope\": \"region\", \"parameters\": "
                   "{\"scan_unused\": \"no\"}, %s",
                   rest);
    assert_field_error(f,
                       ": control 'c1': field 'parameters': 'scan_unused' must be true or false");
    free(f);
    f = str_printf("\"title\": 5, \"severity\": \"high\", \"nis2\": [\"21.2.a\"], "
                   "\"dora\": [\"Art 9\"], \"scope\": \"region\", %s",
                   rest);
    assert_field_error(f, ": control 'c1': field 'title': expected a string (got number)");
    free(f);
    f = str_printf("\"title\": \"T\", \"severity\": \"high\", \"nis2\": [\"21.2.a\"], "
                   "\"dora\": [\"Art 9\"], \"scope\": \"region\", \"config_rule\": [\"\"], "
                   "\"security_hub\": null, \"prowler\": null, \"remediation\": \"R\", "
                   "\"references\": [], \"evaluation\": {\"const\": true}");
    assert_field_error(f, ": control 'c1': field 'config_rule': item 0 must be a non-empty string");
    free(f);
}
END_TEST

START_TEST(malformed_predicates)
{
    static const struct {
        const char *eval;
        const char *msg;
    } cases[] = {
        { "{\"attr\": \"a..b\", \"eq\": 1}", "evaluation.attr: bad attribute path 'a..b'" },
        { "{\"attr\": \"a[x]\", \"eq\": 1}", "evaluation.attr: bad attribute path 'a[x]'" },
        { "{\"attr\": \"$nope\", \"eq\": 1}", "evaluation.attr: bad attribute path '$nope'" },
        { "{\"attr\": \"a\"}", "evaluation: missing operator for attribute 'a'" },
        { "{\"attr\": \"a\", \"eq\": 1, \"ne\": 2}",
          "evaluation: more than one operator ('eq' and 'ne')" },
        { "{\"attr\": \"a\", \"gte\": \"ten\"}", "evaluation.gte: expected a number (got string)" },
        { "{\"attr\": \"a\", \"in\": \"x\"}", "evaluation.in: expected an array (got string)" },
        { "{\"attr\": \"a\", \"exists\": 1}",
          "evaluation.exists: expected true or false (got number)" },
        { "{\"attr\": \"a\", \"regex\": \"(\"}",
          "evaluation.regex: bad regular expression '(': Unmatched ( or \\(" },
        { "{\"all\": []}", "evaluation.all: expected a non-empty array of predicates" },
        { "{\"any\": [{\"const\": true}], \"all\": [{\"const\": true}]}",
          "evaluation: more than one operator ('any' and 'all')" },
        { "{}", "evaluation: empty predicate" },
        { "[1]", "evaluation: expected a predicate object (got array)" },
        { "{\"not\": {\"attr\": \"a\", \"any_of\": {\"bogus\": 1}}}",
          "evaluation.not.any_of: unknown operator 'bogus'" },
        { "{\"related\": {\"match\": {\"a\": \"b\"}}}",
          "evaluation.related: missing field 'type'" },
        { "{\"related\": {\"type\": \"aws_vpc\", \"scope\": \"world\"}}",
          "evaluation.related.scope: expected \"region\" or \"account\"" },
        { "{\"related\": {\"type\": \"aws_vpc\", \"each\": {\"const\": true}}}",
          "evaluation.related: unknown field 'each'" },
        { "{\"related\": {\"type\": \"aws_vpc\", \"any\": {\"const\": true}, \"all\": {\"const\": "
          "true}}}",
          "evaluation.related: more than one of any/all/none" },
        { "{\"sg_rule_open\": {\"ports\": [70000]}}",
          "evaluation.sg_rule_open.ports: item 0 is not a port number" },
        { "{\"sg_rule_open\": {\"ports\": [22], \"all_ports\": true}}",
          "evaluation.sg_rule_open: needs exactly one of 'ports' and 'all_ports'" },
        { "{\"attr\": \"a\", \"param\": \"b\", \"eq\": 1}",
          "evaluation: a predicate tests either 'attr' or 'param'" },
        { "{\"param\": \"nope\", \"eq\": 1}", "evaluation.param: unknown parameter 'nope'" },
        { "{\"attr\": \"a\", \"eq\": {\"param\": 5}}",
          "evaluation.eq: a parameter reference is {\"param\": \"name\"}" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *extra = str_printf("\"evaluation\": %s", cases[i].eval);
        char *doc = control_with(extra);
        char *want = str_printf(": control 'c1': %s", cases[i].msg);
        assert_load_error(doc, want);
        free(extra);
        free(doc);
        free(want);
    }
}
END_TEST

START_TEST(malformed_files)
{
    char *dir = tu_tmpdir();
    char *missing = tu_path_join(dir, "missing.json");
    char *paths[] = { missing, NULL };
    struct catalogue *cat = NULL;
    struct perr err = { 0 };
    char *want;

    ck_assert_int_eq(controls_load(paths, NULL, &cat, &err), -ENOENT);
    want = str_printf("%s: No such file or directory", missing);
    ck_assert_str_eq(err.msg, want);
    free(want);
    assert_load_error("[]", ": expected an object with a \"controls\" array");
    assert_load_error("{\"controls\": {}}", ": expected an object with a \"controls\" array");
    assert_load_error("{\"version\": 2, \"controls\": []}",
                      ": unsupported version (this plumb reads version 1)");
    assert_load_error("{\"control\": []}", ": unknown top-level field 'control'");
    assert_load_error("{\"controls\": [{\"id\": \"c1\", " CONTROL_OK
                      ", \"evaluation\": {\"const\": true}}, {\"id\": \"c1\", " CONTROL_OK
                      ", \"evaluation\": {\"const\": false}}]}",
                      ": control 'c1': defined twice in this file");
    assert_load_error("{\"controls\": [5]}", ": controls[0]: expected an object (got number)");
    tu_rmrf(dir);
    free(dir);
    free(missing);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("controls");
    TCase *tc = tcase_create("controls");
    tcase_add_test(tc, shipped_catalogue_is_complete);
    tcase_add_test(tc, shipped_catalogue_covers_reference);
    tcase_add_test(tc, labels);
    tcase_add_test(tc, override_disable);
    tcase_add_test(tc, override_params);
    tcase_add_test(tc, override_errors);
    tcase_add_test(tc, custom_and_override_files);
    tcase_add_test(tc, directory_order);
    tcase_add_test(tc, malformed_syntax);
    tcase_add_test(tc, malformed_controls);
    tcase_add_test(tc, malformed_fields);
    tcase_add_test(tc, malformed_predicates);
    tcase_add_test(tc, malformed_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
