/* lib/normalize on real Terraform states (shared/fixtures/tfstate, read at
 * run time).  For each managed instance of a type in the type table the
 * test builds the live document a collector would produce for the same
 * resource, following the table: numbers and booleans typed by the
 * attribute's kind (flatmap states hold strings), sets in another order,
 * policies re-serialised by AWS with statements reordered and single values
 * as lists, tags as reported (including aws:* tags), computed attributes
 * with values of their own, and the attributes the state's provider
 * version did not know filled in.  That copy must show no drift; altering
 * one attribute on either side must show exactly that change. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ignore.h"
#include "jsonutil.h"
#include "normalize.h"
#include "resource.h"
#include "testutil.h"
#include "tfstate.h"
#include "typemap.h"

static struct typemap *tm;

static void load_tm(void)
{
    struct perr err = { 0 };
    ck_assert_msg(typemap_load_embedded(&tm, &err) == 0, "%s", err.msg);
}

static void free_tm(void)
{
    tm = typemap_free(tm);
}

/* ---- a collector's view of a declared instance ------------------------------- */

static json_t *live_value(const struct typemap_attr *a, const json_t *v);

/* Policies as AWS returns them: same meaning, different text. */
static json_t *reserialise_policy(const json_t *v)
{
    json_t *doc, *st, *rev;
    char *text;
    if (!json_is_string(v))
        return json_deep_copy(v);
    doc = json_loads(json_string_value(v), 0, NULL);
    if (!doc)
        return json_deep_copy(v);
    st = json_object_get(doc, "Statement");
    if (json_is_array(st)) {
        rev = json_array();
        for (size_t i = json_array_size(st); i > 0; i--) {
            json_t *s = json_deep_copy(json_array_get(st, i - 1));
            json_t *act = json_object_get(s, "Action");
            if (json_is_string(act))
                json_object_set_new(s, "Action", json_pack("[O]", act));
            else if (json_is_array(act) && json_array_size(act) == 1)
                json_object_set(s, "Action", json_array_get(act, 0));
            json_array_append_new(rev, s);
        }
        json_object_set_new(doc, "Statement", rev);
    }
    text = json_dumps(doc, JSON_INDENT(4));
    json_decref(doc);
    doc = json_string(text);
    free(text);
    return doc;
}

static json_t *typed_scalar(const struct typemap_attr *a, const json_t *v)
{
    double d;
    if (json_is_string(v) && a->kind == TYPEMAP_KIND_NUMBER &&
        parse_double(json_string_value(v), &d) == 0)
        return d == (double)(json_int_t)d ? json_integer((json_int_t)d) : json_real(d);
    if (json_is_string(v) && a->kind == TYPEMAP_KIND_BOOL) {
        bool b;
        if (parse_bool(json_string_value(v), &b) == 0)
            return json_boolean(b);
    }
    return json_deep_copy(v);
}

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
    if (!v || json_is_null(v)) {
        if (a->compare == TYPEMAP_COMPARE_DEFAULT)
            return json_deep_copy(a->default_value); /* AWS states its default */
        return json_null();
    }
    if (a->compare == TYPEMAP_COMPARE_POLICY_JSON)
        return reserialise_policy(v);
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
    return typed_scalar(a, v);
}

/* Something a computed attribute might say that the state does not. */
static json_t *other_value(const json_t *v)
{
    if (json_is_string(v))
        return json_sprintf("%s-as-collected", json_string_value(v));
    if (json_is_integer(v))
        return json_integer(json_integer_value(v) + 7);
    if (json_is_boolean(v))
        return json_boolean(!json_is_true(v));
    return json_string("collected");
}

static struct resource *live_of(const struct typemap_type *t, const json_t *declared)
{
    struct resource *r = NULL;
    ck_assert_int_eq(resource_new(&r), 0);
    r->type = strdup(t->type);
    r->id = strdup("x");
    r->source = strdup("describe");
    for (size_t i = 0; i < t->n_attrs; i++) {
        const struct typemap_attr *a = &t->attrs[i];
        const json_t *d = json_object_get(declared, a->name);
        if (a->in_tags) {
            const json_t *all = json_object_get(declared, "tags_all");
            json_t *tags = json_deep_copy(json_is_object(all) ? all
                                          : json_is_object(d) ? d
                                                              : json_object_get(r->attrs, "-"));
            if (!tags)
                tags = json_object();
            json_object_set_new(tags, "aws:cloudformation:stack-name", json_string("infra"));
            json_decref(r->tags);
            r->tags = tags;
            continue;
        }
        if (a->compare == TYPEMAP_COMPARE_COMPUTED || a->plumb_only) {
            json_object_set_new(r->attrs, a->name, d ? other_value(d) : json_string("collected"));
            continue;
        }
        if (!d) {
            /* The state's provider version did not know this attribute. */
            json_object_set_new(r->attrs, a->name,
                                a->compare == TYPEMAP_COMPARE_DEFAULT
                                    ? json_deep_copy(a->default_value)
                                    : json_string("only-in-newer-providers"));
            continue;
        }
        json_object_set_new(r->attrs, a->name, live_value(a, d));
    }
    return r;
}

/* ---- helpers ------------------------------------------------------------------ */

static int compare(const struct typemap_type *t, const json_t *declared, const json_t *sensitive,
                   const struct resource *live, const struct ignore_set *ign, json_t **ret)
{
    struct normalize_input in = {
        .type = t,
        .declared = declared,
        .sensitive = sensitive,
        .live = live,
        .ignore = ign,
        .ignore_type = t->type,
        .ignore_id = live->id,
    };
    struct perr err = { 0 };
    json_t *changes = json_array();
    int n = normalize_compare(&in, changes, NULL, &err);
    ck_assert_msg(n >= 0, "%s", err.msg);
    ck_assert_int_eq((size_t)n, json_array_size(changes));
    *ret = changes;
    return n;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void assert_no_drift(const char *what, const struct typemap_type *t, const json_t *declared,
                            const json_t *sensitive, const struct resource *live)
{
    json_t *changes;
    int n = compare(t, declared, sensitive, live, NULL, &changes);
    if (n != 0) {
        char *s = dump(changes);
        ck_abort_msg("%s: expected no drift, got %s", what, s);
    }
    json_decref(changes);
}

/* Exactly one change, at path, with these values (loosely equal). */
static void assert_one_change(const char *what, json_t *changes, const char *path,
                              const json_t *declared, const json_t *live)
{
    json_t *c = json_array_get(changes, 0);
    char *s = dump(changes);
    ck_assert_msg(json_array_size(changes) == 1, "%s: expected one change at %s, got %s", what,
                  path, s);
    ck_assert_msg(str_eq(json_string_value(json_object_get(c, "path")), path),
                  "%s: expected the change at %s, got %s", what, path, s);
    ck_assert_msg(normalize_equal(json_object_get(c, "declared"), declared),
                  "%s: declared value wrong in %s", what, s);
    ck_assert_msg(normalize_equal(json_object_get(c, "live"), live), "%s: live value wrong in %s",
                  what, s);
    free(s);
}

static json_t *altered(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (str_eq(s, "true") || str_eq(s, "false"))
            return json_string(str_eq(s, "true") ? "false" : "true");
        return json_sprintf("%s-drifted", s);
    }
    if (json_is_integer(v))
        return json_integer(json_integer_value(v) + 1);
    if (json_is_real(v))
        return json_real(json_real_value(v) + 1.5);
    if (json_is_boolean(v))
        return json_boolean(!json_is_true(v));
    return NULL;
}

/* Whether a block element says nothing beyond the defaults. */
static bool only_defaults(const struct typemap_attr *a, const json_t *e)
{
    for (size_t i = 0; i < a->n_attrs; i++) {
        const struct typemap_attr *s = &a->attrs[i];
        const json_t *v = json_object_get(e, s->name);
        if (s->compare == TYPEMAP_COMPARE_COMPUTED || s->plumb_only || normalize_is_empty(v))
            continue;
        if (s->compare == TYPEMAP_COMPARE_DEFAULT && normalize_equal(v, s->default_value))
            continue;
        if (s->n_attrs && json_is_array(v) && json_array_size(v) == 1 &&
            only_defaults(s, json_array_get(v, 0)))
            continue;
        return false;
    }
    return true;
}

/* ---- every instance of a real state ----------------------------------------------- */

struct fixture_stats {
    int instances;
    int mutations;
};

static void check_instance(const char *fixture, const struct tfstate_instance *inst,
                           struct fixture_stats *st)
{
    const struct typemap_type *t = typemap_find(tm, inst->type);
    json_t *declared = inst->attributes, *sens, *changes;
    struct resource *live;
    char what[512];

    if (!t || t->declared_only || inst->mode != TFSTATE_MANAGED)
        return;
    sens = json_array();
    for (size_t i = 0; inst->sensitive[i]; i++)
        json_array_append_new(sens, json_string(inst->sensitive[i]));
    snprintf(what, sizeof(what), "%s %s", fixture, inst->address);
    live = live_of(t, declared);
    assert_no_drift(what, t, declared, sens, live);
    st->instances++;

    for (size_t i = 0; i < t->n_attrs; i++) {
        const struct typemap_attr *a = &t->attrs[i];
        const json_t *d = json_object_get(declared, a->name);
        json_t *lv = json_object_get(live->attrs, a->name), *x, *dcopy;
        char w2[700];

        if (a->compare == TYPEMAP_COMPARE_COMPUTED || a->plumb_only || a->in_tags)
            continue;
        snprintf(w2, sizeof(w2), "%s.%s", what, a->name);
        if (d && !json_is_array(d) && !json_is_object(d) && !normalize_is_empty(d) &&
            a->compare != TYPEMAP_COMPARE_POLICY_JSON && (x = altered(lv))) {
            /* The live value moves. */
            json_t *keep = json_incref(lv);
            json_object_set_new(live->attrs, a->name, x);
            compare(t, declared, sens, live, NULL, &changes);
            assert_one_change(w2, changes, a->name, d, x);
            json_decref(changes);
            json_object_set_new(live->attrs, a->name, keep);
            /* The declared value moves. */
            dcopy = json_deep_copy(declared);
            x = altered(d);
            json_object_set_new(dcopy, a->name, x);
            compare(t, dcopy, sens, live, NULL, &changes);
            assert_one_change(w2, changes, a->name, x, lv);
            json_decref(changes);
            json_decref(dcopy);
            st->mutations += 2;
        } else if (a->compare == TYPEMAP_COMPARE_POLICY_JSON && json_is_string(d) &&
                   json_string_length(d) > 0) {
            /* Deny where the state allows. */
            json_t *doc = json_loads(json_string_value(lv), 0, NULL), *keep = json_incref(lv);
            json_t *s0;
            char *text;
            ck_assert_ptr_nonnull(doc);
            s0 = json_array_get(json_object_get(doc, "Statement"), 0);
            json_object_set_new(
                s0, "Effect",
                json_string(str_eq(json_string_value(json_object_get(s0, "Effect")), "Deny")
                                ? "Allow"
                                : "Deny"));
            text = json_dumps(doc, 0);
            x = json_string(text);
            json_object_set_new(live->attrs, a->name, x);
            compare(t, declared, sens, live, NULL, &changes);
            assert_one_change(w2, changes, a->name, d, x);
            json_decref(changes);
            json_object_set_new(live->attrs, a->name, keep);
            json_decref(doc);
            free(text);
            st->mutations++;
        } else if (a->compare == TYPEMAP_COMPARE_SET && json_is_array(d)) {
            /* One more element live. */
            json_t *grown = json_deep_copy(lv), *keep = json_incref(lv);
            json_array_append_new(grown, json_string("added-by-hand"));
            json_object_set_new(live->attrs, a->name, grown);
            compare(t, declared, sens, live, NULL, &changes);
            assert_one_change(w2, changes, a->name, d, grown);
            json_decref(changes);
            json_object_set_new(live->attrs, a->name, keep);
            st->mutations++;
        } else if (a->n_attrs && json_is_array(d) && json_array_size(d) > 0) {
            /* One element fewer live: the block or set shows a change. */
            json_t *shrunk = json_deep_copy(lv), *keep = json_incref(lv);
            size_t n;
            json_array_remove(shrunk, 0);
            json_object_set_new(live->attrs, a->name, shrunk);
            n = (size_t)compare(t, declared, sens, live, NULL, &changes);
            /* A block holding nothing but defaults is the same as none. */
            ck_assert_msg(n >= 1 || only_defaults(a, json_array_get(d, 0)),
                          "%s: removing an element shows no drift", w2);
            for (size_t k = 0; k < n; k++) {
                const char *p =
                    json_string_value(json_object_get(json_array_get(changes, k), "path"));
                ck_assert_msg(str_has_prefix(p, a->name), "%s: change at %s", w2, p);
            }
            json_decref(changes);
            json_object_set_new(live->attrs, a->name, keep);
            st->mutations++;
        }
    }

    /* Tags: one added by hand in the console. */
    for (size_t i = 0; i < t->n_attrs; i++)
        if (t->attrs[i].in_tags &&
            (json_object_get(declared, "tags") || json_object_get(declared, "tags_all"))) {
            json_object_set_new(live->tags, "DriftedBy", json_string("console"));
            compare(t, declared, sens, live, NULL, &changes);
            {
                json_t *want = json_string("console");
                assert_one_change(what, changes, "tags.DriftedBy", NULL, want);
                json_decref(want);
            }
            json_decref(changes);
            json_object_del(live->tags, "DriftedBy");
            st->mutations++;
        }
    resource_free(live);
    json_decref(sens);
}

static void check_fixture(const char *rel, int min_instances, int min_mutations)
{
    char *path = tu_fixture(rel);
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    struct fixture_stats st = { 0 };

    ck_assert_msg(tfstate_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < s->n_instances; i++)
        check_instance(rel, &s->instances[i], &st);
    printf("%s: %d instances, %d single-attribute alterations\n", rel, st.instances, st.mutations);
    ck_assert_int_ge(st.instances, min_instances);
    ck_assert_int_ge(st.mutations, min_mutations);
    tfstate_free(s);
    free(path);
}

START_TEST(test_fixture_s3_full)
{
    check_fixture("tfstate/driftctl/aws_s3_full.tfstate", 6, 10);
}
END_TEST

START_TEST(test_fixture_lb_listener)
{
    check_fixture("tfstate/driftctl/aws_lb_listener.tfstate", 4, 20);
}
END_TEST

START_TEST(test_fixture_kms_key)
{
    check_fixture("tfstate/driftctl/aws_kms_key.tfstate", 3, 9);
}
END_TEST

START_TEST(test_fixture_db_instance)
{
    check_fixture("tfstate/driftctl/aws_db_instance.tfstate", 1, 20);
}
END_TEST

START_TEST(test_fixture_cloudfront)
{
    check_fixture("tfstate/driftctl/aws_cloudfront_distribution.tfstate", 1, 5);
}
END_TEST

START_TEST(test_fixture_sgr)
{
    check_fixture("tfstate/inframap/aws_state_sgr.json", 5, 4);
}
END_TEST

START_TEST(test_fixture_more)
{
    check_fixture("tfstate/driftctl/aws_cloudtrail.tfstate", 1, 5);
    check_fixture("tfstate/driftctl/aws_ec2_instance.tfstate", 1, 5);
    check_fixture("tfstate/driftctl/aws_launch_template.tfstate", 1, 3);
}
END_TEST

/* ---- policies ------------------------------------------------------------------- */

static json_t *fixture_attr(const char *rel, const char *address, const char *attr)
{
    char *path = tu_fixture(rel);
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    json_t *v = NULL;
    ck_assert_msg(tfstate_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < s->n_instances; i++)
        if (str_eq(s->instances[i].address, address))
            v = json_incref(json_object_get(s->instances[i].attributes, attr));
    ck_assert_msg(v != NULL, "%s has no %s.%s", rel, address, attr);
    tfstate_free(s);
    free(path);
    return v;
}

static json_t *policy_variant(const json_t *policy, void (*edit)(json_t *doc))
{
    json_t *doc = json_loads(json_string_value(policy), 0, NULL), *out;
    char *text;
    ck_assert_ptr_nonnull(doc);
    edit(doc);
    text = json_dumps(doc, JSON_COMPACT);
    out = json_string(text);
    free(text);
    json_decref(doc);
    return out;
}

static void reverse_statements(json_t *doc)
{
    json_t *st = json_object_get(doc, "Statement"), *rev = json_array();
    for (size_t i = json_array_size(st); i > 0; i--)
        json_array_append(rev, json_array_get(st, i - 1));
    json_object_set_new(doc, "Statement", rev);
}

static void lists_to_strings(json_t *doc)
{
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(doc, "Statement"), i, s) {
        const char *k;
        json_t *v;
        json_object_foreach (s, k, v)
            if (json_is_array(v) && json_array_size(v) == 1)
                json_object_set(s, k, json_array_get(v, 0));
    }
}

static void strings_to_lists_and_case(json_t *doc)
{
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(doc, "Statement"), i, s) {
        json_t *a = json_object_get(s, "Action");
        if (json_is_string(a)) {
            char *up = strdup(json_string_value(a));
            for (char *c = up; *c; c++)
                if (*c >= 'a' && *c <= 'z' && c != up)
                    *c = (char)(*c - 'a' + 'A');
            json_object_set_new(s, "Action", json_pack("[s]", up));
            free(up);
        }
        if (json_is_string(json_object_get(s, "Resource")))
            json_object_set_new(s, "Resource", json_pack("[O]", json_object_get(s, "Resource")));
        json_object_set_new(s, "Sid", json_string(""));
    }
}

static void drop_version(json_t *doc)
{
    json_object_del(doc, "Version");
}

static void add_action(json_t *doc)
{
    json_t *s = json_array_get(json_object_get(doc, "Statement"), 0);
    json_t *a = json_object_get(s, "Action");
    if (json_is_string(a))
        json_object_set_new(s, "Action", json_pack("[O,s]", a, "iam:PassRole"));
    else
        json_array_append_new(a, json_string("iam:PassRole"));
}

static void root_principal_as_account(json_t *doc)
{
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(doc, "Statement"), i, s) {
        json_t *p = json_object_get(json_object_get(s, "Principal"), "AWS");
        const char *v = json_string_value(p);
        if (v && str_has_prefix(v, "arn:aws:iam::") && str_has_suffix(v, ":root")) {
            char *acct = strndup(v + strlen("arn:aws:iam::"), 12);
            json_object_set_new(json_object_get(s, "Principal"), "AWS", json_string(acct));
            free(acct);
        }
    }
}

START_TEST(test_policy_permutations)
{
    json_t *kms = fixture_attr("tfstate/driftctl/aws_kms_key.tfstate", "aws_kms_key.bar", "policy");
    json_t *user = fixture_attr("tfstate/driftctl/aws_iam_user_policy_multiple.tfstate",
                                "aws_iam_user_policy.test_ro", "policy");
    json_t *v;

    /* Same meaning. */
    v = policy_variant(kms, reverse_statements);
    ck_assert(normalize_policy_equal(kms, v));
    json_decref(v);
    v = policy_variant(kms, lists_to_strings);
    ck_assert(normalize_policy_equal(kms, v));
    json_decref(v);
    v = policy_variant(kms, root_principal_as_account);
    ck_assert(normalize_policy_equal(kms, v));
    json_decref(v);
    v = policy_variant(user, strings_to_lists_and_case);
    ck_assert(normalize_policy_equal(user, v));
    json_decref(v);
    /* URL-encoded, as IAM's APIs return documents. */
    {
        CURL *h = curl_easy_init();
        char *enc = curl_easy_escape(h, json_string_value(user), 0);
        ck_assert_ptr_nonnull(enc);
        ck_assert(strchr(enc, '%') != NULL);
        v = json_string(enc);
        ck_assert(normalize_policy_equal(user, v));
        json_decref(v);
        curl_free(enc);
        curl_easy_cleanup(h);
    }
    /* A document without Version means 2008-10-17, not 2012-10-17. */
    v = policy_variant(user, drop_version);
    ck_assert(!normalize_policy_equal(user, v));
    json_decref(v);
    /* Different meaning. */
    v = policy_variant(kms, add_action);
    ck_assert(!normalize_policy_equal(kms, v));
    json_decref(v);
    ck_assert(!normalize_policy_equal(kms, user));
    /* Principal "*" is {"AWS": "*"}. */
    {
        json_t *a = json_string("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                                "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}");
        json_t *b = json_string("{\"Version\":\"2008-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                "\"Principal\":{\"AWS\":[\"*\"]},\"Action\":[\"s3:getobject\"],"
                                "\"Resource\":\"*\"}}");
        json_t *c = json_string("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
                                "{\"Service\":\"s3.amazonaws.com\"},\"Action\":\"s3:GetObject\","
                                "\"Resource\":\"*\"}]}");
        ck_assert(normalize_policy_equal(a, b));
        ck_assert(!normalize_policy_equal(a, c));
        json_decref(a);
        json_decref(b);
        json_decref(c);
    }
    /* Not a policy: compared as text; empty equals absent. */
    v = json_string("not json");
    ck_assert_ptr_null(normalize_policy(v));
    ck_assert(normalize_policy_equal(v, v));
    ck_assert(!normalize_policy_equal(v, kms));
    ck_assert(normalize_policy_equal(json_null(), NULL));
    json_decref(v);

    json_decref(kms);
    json_decref(user);
}
END_TEST

/* ---- scalars, ARNs ------------------------------------------------------------------ */

START_TEST(test_scalars_and_arns)
{
    json_t *s80 = json_string("80"), *n80 = json_integer(80), *r80 = json_real(80.0);
    json_t *st = json_string("true"), *s1 = json_string("1"), *bt = json_true();
    json_t *empty = json_string(""), *ea = json_array(), *eo = json_object();

    ck_assert(normalize_equal(s80, n80));
    ck_assert(normalize_equal(n80, r80));
    ck_assert(normalize_equal(st, bt));
    ck_assert(normalize_equal(s1, bt));
    ck_assert(!normalize_equal(s80, bt));
    ck_assert(normalize_equal(empty, NULL));
    ck_assert(normalize_equal(ea, eo));
    ck_assert(normalize_equal(json_null(), ea));
    ck_assert(!normalize_equal(empty, s80));
    ck_assert(normalize_is_empty(NULL) && normalize_is_empty(eo) && !normalize_is_empty(bt));

    ck_assert(normalize_arn_equal("arn:aws:kms:eu-west-3:047081014315:key/8ee21d91", "8ee21d91"));
    ck_assert(normalize_arn_equal("alias/aws/s3", "arn:aws:kms:eu-west-1:1:alias/aws/s3"));
    ck_assert(normalize_arn_equal("arn:aws:iam::1:policy/a/b/Admin", "Admin"));
    ck_assert(
        !normalize_arn_equal("arn:aws:kms:eu-west-3:1:key/a", "arn:aws:kms:eu-west-3:1:key/b"));
    ck_assert(!normalize_arn_equal("arn:aws:kms:eu-west-3:1:key/a", "b"));
    ck_assert(normalize_arn_equal(NULL, ""));
    ck_assert(!normalize_arn_equal("a", NULL));

    json_decref(s80);
    json_decref(n80);
    json_decref(r80);
    json_decref(st);
    json_decref(s1);
    json_decref(empty);
    json_decref(ea);
    json_decref(eo);
}
END_TEST

/* ---- set order, flatmap strings --------------------------------------------------------- */

START_TEST(test_flatmap_and_set_order)
{
    char *path = tu_srcpath("tests/data/tfstate/attributes-flat.tfstate");
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    const struct typemap_type *t = typemap_find(tm, "aws_security_group");
    struct resource *live;
    json_t *declared, *ing, *changes, *e;

    ck_assert_msg(tfstate_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    declared = s->instances[0].attributes;
    /* The flatmap holds strings: "443". */
    ck_assert(json_is_string(json_path_get(declared, "ingress[0].from_port")));
    live = live_of(t, declared);
    ck_assert(json_is_integer(json_path_get(live->attrs, "ingress[0].from_port")));
    assert_no_drift("flatmap", t, declared, NULL, live);

    /* Reorder a CIDR list inside an element: still no drift. */
    ing = json_object_get(live->attrs, "ingress");
    json_array_foreach (ing, err.code, e) {
        json_t *c = json_object_get(e, "cidr_blocks");
        if (json_array_size(c) == 2) {
            json_t *first = json_incref(json_array_get(c, 0));
            json_array_remove(c, 0);
            json_array_append_new(c, first);
        }
    }
    assert_no_drift("cidr order", t, declared, NULL, live);

    /* Open port 22 to the world: the unmatched elements of both sides. */
    e = json_array_get(ing, 0);
    if (json_integer_value(json_object_get(e, "from_port")) != 22)
        e = json_array_get(ing, 1);
    json_array_append_new(json_object_get(e, "cidr_blocks"), json_string("0.0.0.0/0"));
    compare(t, declared, NULL, live, NULL, &changes);
    ck_assert_int_eq(json_array_size(changes), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "path")),
                     "ingress");
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(changes, 0), "declared")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(changes, 0), "live")), 1);
    {
        json_t *want = json_integer(22);
        ck_assert(
            normalize_equal(json_path_get(json_array_get(changes, 0), "live[0].from_port"), want));
        json_decref(want);
    }
    json_decref(changes);

    resource_free(live);
    tfstate_free(s);
    free(path);
}
END_TEST

/* ---- tags, tags_all, default_tags ---------------------------------------------------------- */

START_TEST(test_tags)
{
    const struct typemap_type *t = typemap_find(tm, "aws_kms_key");
    json_t *declared = json_pack("{s:s, s:{s:s}, s:{s:s, s:s}}", "description", "k", "tags", "Name",
                                 "k", "tags_all", "Name", "k", "env", "prod");
    struct resource *live = live_of(t, declared);
    json_t *changes;

    /* The live tags include the provider's default_tags (env) and aws:*. */
    ck_assert(json_object_get(live->tags, "env") != NULL);
    ck_assert(json_object_get(live->tags, "aws:cloudformation:stack-name") != NULL);
    assert_no_drift("tags_all", t, declared, NULL, live);

    /* A default tag removed by hand is drift of tags. */
    json_object_del(live->tags, "env");
    compare(t, declared, NULL, live, NULL, &changes);
    {
        json_t *want = json_string("prod");
        assert_one_change("default tag gone", changes, "tags.env", want, NULL);
        json_decref(want);
    }
    json_decref(changes);

    /* A state without tags_all (provider < 3.38): tags alone. */
    json_object_del(declared, "tags_all");
    compare(t, declared, NULL, live, NULL, &changes);
    ck_assert_int_eq(json_array_size(changes), 0);
    json_decref(changes);
    json_object_set_new(live->tags, "kubernetes.io/role", json_string("x"));
    compare(t, declared, NULL, live, NULL, &changes);
    {
        json_t *want = json_string("x");
        assert_one_change("key with dots", changes, "tags[\"kubernetes.io/role\"]", NULL, want);
        json_decref(want);
    }
    json_decref(changes);

    resource_free(live);
    json_decref(declared);
}
END_TEST

/* ---- what is never compared ------------------------------------------------------------------ */

START_TEST(test_not_compared)
{
    const struct typemap_type *t = typemap_find(tm, "aws_kms_key");
    json_t *kms = fixture_attr("tfstate/driftctl/aws_kms_key.tfstate", "aws_kms_key.bar", "policy");
    json_t *declared = json_pack("{s:s, s:b, s:O, s:s, s:{s:s, s:s}}", "description", "d",
                                 "enable_key_rotation", 1, "policy", kms, "key_id", "k1", "tags",
                                 "Name", "k", "Api-Key", TFSTATE_SENSITIVE_MARKER);
    json_t *sens = json_pack("[s]", "tags[\"Api-Key\"]"), *changes;
    struct resource *live = live_of(t, declared);
    struct ignore_set *ign = NULL;
    struct perr err = { 0 };
    const char *skip[] = { "description", NULL };
    struct normalize_input in = {
        .type = t, .declared = declared, .sensitive = sens, .live = live, .skip = skip
    };

    /* The live value of a sensitive tag is real, the declared one a mask. */
    json_object_set_new(live->tags, "Api-Key", json_string("live-secret"));
    assert_no_drift("sensitive tag", t, declared, sens, live);

    /* Unreadable attributes are not drift. */
    json_object_set_new(live->attrs, "enable_key_rotation", json_false());
    compare(t, declared, sens, live, NULL, &changes);
    ck_assert_int_eq(json_array_size(changes), 1);
    json_decref(changes);
    ck_assert_int_eq(resource_mark_unknown(live, "enable_key_rotation", COLLECT_ACCESS_DENIED,
                                           "kms:GetKeyRotationStatus"),
                     0);
    assert_no_drift("unknown attribute", t, declared, sens, live);

    /* .driftignore attribute rules. */
    json_object_set_new(live->attrs, "description", json_string("changed"));
    {
        const char *rules = "aws_kms_key.x.description\n";
        ck_assert_int_eq(ignore_parse("test", rules, strlen(rules), &ign, &err), 0);
    }
    compare(t, declared, sens, live, ign, &changes);
    ck_assert_int_eq(json_array_size(changes), 0);
    json_decref(changes);
    /* The caller's skip list. */
    changes = json_array();
    ck_assert_int_eq(normalize_compare(&in, changes, NULL, &err), 0);
    json_decref(changes);
    /* A document from AWS Config lacks what Config does not record:
     * rotation_period_in_days has no Config path in the table. */
    ck_assert_ptr_null(typemap_attr(t, "rotation_period_in_days")->config_path);
    json_object_set_new(declared, "rotation_period_in_days", json_integer(90));
    json_object_set_new(live->attrs, "rotation_period_in_days", json_integer(365));
    in.skip = NULL;
    in.ignore = ign;
    in.ignore_type = "aws_kms_key";
    in.ignore_id = "x";
    changes = json_array();
    ck_assert_int_eq(normalize_compare(&in, changes, NULL, &err), 1);
    json_decref(changes);
    free(live->source);
    live->source = strdup("config");
    changes = json_array();
    ck_assert_int_eq(normalize_compare(&in, changes, NULL, &err), 0);
    json_decref(changes);

    /* Masked values inside a reported value are shown masked. */
    {
        const struct typemap_type *sg = typemap_find(tm, "aws_security_group");
        json_t *d = json_pack("{s:[{s:s, s:i, s:i, s:[s], s:s}]}", "ingress", "protocol", "tcp",
                              "from_port", 22, "to_port", 22, "cidr_blocks", "10.0.0.0/8",
                              "description", TFSTATE_SENSITIVE_MARKER);
        json_t *s2 = json_pack("[s]", "ingress[0].description");
        struct resource *l2 = live_of(sg, d);
        json_object_set_new(json_array_get(json_object_get(l2->attrs, "ingress"), 0), "from_port",
                            json_integer(23));
        compare(sg, d, s2, l2, NULL, &changes);
        ck_assert_int_eq(json_array_size(changes), 1);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "declared")),
                         TFSTATE_SENSITIVE_MARKER);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "live")),
                         TFSTATE_SENSITIVE_MARKER);
        json_decref(changes);
        resource_free(l2);
        json_decref(d);
        json_decref(s2);
    }

    ignore_set_free(ign);
    resource_free(live);
    json_decref(declared);
    json_decref(sens);
    json_decref(kms);
}
END_TEST

/* ---- security group rule atoms ------------------------------------------------------------------
 */

START_TEST(test_sg_atoms)
{
    char *path = tu_fixture("tfstate/driftctl/aws_vpc_security_group_rule.tfstate");
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    struct normalize_sg_atoms rules = { 0 }, group = { 0 }, vpc = { 0 };
    size_t expected = 0;

    ck_assert_msg(tfstate_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < s->n_instances; i++) {
        const json_t *a = s->instances[i].attributes;
        size_t before = rules.n;
        ck_assert_int_eq(normalize_sg_atoms_rule(a, i, &rules), 0);
        /* One atom per source. */
        expected = json_array_size(json_object_get(a, "cidr_blocks")) +
                   json_array_size(json_object_get(a, "ipv6_cidr_blocks")) +
                   json_array_size(json_object_get(a, "prefix_list_ids")) +
                   (json_string_value(json_object_get(a, "source_security_group_id")) ? 1 : 0) +
                   (json_is_true(json_object_get(a, "self")) ? 1 : 0);
        ck_assert_int_eq(rules.n - before, expected);
        for (size_t k = before; k < rules.n; k++) {
            ck_assert_int_eq(rules.v[k].owner, i);
            ck_assert(
                str_has_prefix(rules.v[k].key, json_string_value(json_object_get(a, "type"))));
        }
    }
    /* "-1" means every protocol: its ports do not matter. */
    for (size_t k = 0; k < rules.n; k++)
        if (strstr(rules.v[k].key, "|-1|"))
            ck_assert(strstr(rules.v[k].key, "|-1|0|0|") != NULL);

    /* The same rules written inline, in Terraform's grouped form, give the
     * same atoms; so do the equivalent aws_vpc_security_group_*_rule
     * resources, one per source. */
    for (size_t i = 0; i < s->n_instances; i++) {
        const json_t *a = s->instances[i].attributes;
        const char *dir = json_string_value(json_object_get(a, "type"));
        const char *gid = json_string_value(json_object_get(a, "security_group_id"));
        json_t *block = json_pack(
            "[{s:O, s:O, s:O, s:O?, s:O?, s:O?, s:O?, s:O?}]", "protocol",
            json_object_get(a, "protocol"), "from_port", json_object_get(a, "from_port"), "to_port",
            json_object_get(a, "to_port"), "cidr_blocks", json_object_get(a, "cidr_blocks"),
            "ipv6_cidr_blocks", json_object_get(a, "ipv6_cidr_blocks"), "prefix_list_ids",
            json_object_get(a, "prefix_list_ids"), "self", json_object_get(a, "self"),
            "description", json_object_get(a, "description"));
        const char *src = json_string_value(json_object_get(a, "source_security_group_id"));
        if (src)
            json_object_set_new(json_array_get(block, 0), "security_groups", json_pack("[s]", src));
        ck_assert_int_eq(normalize_sg_atoms_inline(block, dir, gid, i, &group), 0);
        json_decref(block);
        /* vpc rules: one per CIDR, with AWS's numeric protocol. */
        {
            size_t k;
            json_t *c;
            json_array_foreach (json_object_get(a, "cidr_blocks"), k, c) {
                const char *p = json_string_value(json_object_get(a, "protocol"));
                json_t *v = json_pack("{s:s, s:O, s:O, s:O, s:O}", "ip_protocol",
                                      str_eq(p, "tcp") ? "6" : p, "from_port",
                                      json_object_get(a, "from_port"), "to_port",
                                      json_object_get(a, "to_port"), "cidr_ipv4", c, "description",
                                      json_object_get(a, "description"));
                ck_assert_int_eq(normalize_sg_atoms_vpc_rule(v, dir, i, &vpc), 0);
                json_decref(v);
            }
        }
    }
    ck_assert_int_eq(group.n, rules.n);
    for (size_t k = 0; k < rules.n; k++) {
        /* Atoms are per group: compare those of the same rule. */
        bool found = false;
        for (size_t g = 0; g < group.n && !found; g++)
            if (group.v[g].owner == rules.v[k].owner && str_eq(group.v[g].key, rules.v[k].key)) {
                ck_assert_str_eq(group.v[g].description, rules.v[k].description);
                found = true;
            }
        ck_assert_msg(found, "%s not found inline", rules.v[k].key);
    }
    for (size_t k = 0; k < vpc.n; k++)
        ck_assert_msg(normalize_sg_atoms_find(&rules, vpc.v[k].key) >= 0, "%s not found",
                      vpc.v[k].key);
    ck_assert_int_gt(vpc.n, 0);
    ck_assert_int_eq(normalize_sg_atoms_find(&rules, "ingress|tcp|1|2|cidr|192.0.2.0/24"), -1);

    /* Display and import forms. */
    {
        struct normalize_sg_atom a = { .key = (char *)"ingress|tcp|22|22|cidr|10.0.0.0/8",
                                       .description = (char *)"ssh" };
        struct normalize_sg_atom b = { .key = (char *)"egress|-1|0|0|sg|sg-1",
                                       .description = (char *)"" };
        json_t *j = normalize_sg_atom_json(&a);
        char *id = normalize_sg_atom_import_id(&a, "sg-9"),
             *id2 = normalize_sg_atom_import_id(&b, "sg-1");
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_str_eq(text, "{\"cidr_blocks\":[\"10.0.0.0/8\"],\"description\":\"ssh\","
                               "\"from_port\":22,\"protocol\":\"tcp\",\"to_port\":22,"
                               "\"type\":\"ingress\"}");
        ck_assert_str_eq(id, "sg-9_ingress_tcp_22_22_10.0.0.0/8");
        ck_assert_str_eq(id2, "sg-1_egress_all_0_0_self");
        free(text);
        free(id);
        free(id2);
        json_decref(j);
    }

    normalize_sg_atoms_clear(&rules);
    normalize_sg_atoms_clear(&group);
    normalize_sg_atoms_clear(&vpc);
    tfstate_free(s);
    free(path);
}
END_TEST

static Suite *normalize_suite(void)
{
    Suite *s = suite_create("normalize");
    TCase *tc = tcase_create("normalize");
    tcase_add_unchecked_fixture(tc, load_tm, free_tm);
    tcase_add_test(tc, test_fixture_s3_full);
    tcase_add_test(tc, test_fixture_lb_listener);
    tcase_add_test(tc, test_fixture_kms_key);
    tcase_add_test(tc, test_fixture_db_instance);
    tcase_add_test(tc, test_fixture_cloudfront);
    tcase_add_test(tc, test_fixture_sgr);
    tcase_add_test(tc, test_fixture_more);
    tcase_add_test(tc, test_policy_permutations);
    tcase_add_test(tc, test_scalars_and_arns);
    tcase_add_test(tc, test_flatmap_and_set_order);
    tcase_add_test(tc, test_tags);
    tcase_add_test(tc, test_not_compared);
    tcase_add_test(tc, test_sg_atoms);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(normalize_suite());
}
