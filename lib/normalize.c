#include "normalize.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "tfstate.h"

/* ---- scalars ------------------------------------------------------------ */

bool normalize_is_empty(const json_t *v)
{
    if (!v || json_is_null(v))
        return true;
    if (json_is_string(v))
        return json_string_length(v) == 0;
    if (json_is_array(v))
        return json_array_size(v) == 0;
    if (json_is_object(v))
        return json_object_size(v) == 0;
    return false;
}

/* A number from a JSON number or a numeric string. */
static bool as_number(const json_t *v, double *ret)
{
    if (json_is_number(v)) {
        *ret = json_number_value(v);
        return true;
    }
    if (json_is_string(v))
        return parse_double(json_string_value(v), ret) == 0;
    return false;
}

/* A bool from a JSON bool, "true"/"false"/"1"/"0" or 1/0. */
static bool as_bool(const json_t *v, bool *ret)
{
    if (json_is_boolean(v)) {
        *ret = json_is_true(v);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (str_eq(s, "true") || str_eq(s, "1")) {
            *ret = true;
            return true;
        }
        if (str_eq(s, "false") || str_eq(s, "0")) {
            *ret = false;
            return true;
        }
        return false;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *ret = json_integer_value(v) == 1;
        return true;
    }
    return false;
}

static bool scalar_equal(const json_t *a, const json_t *b)
{
    double x, y;
    bool p, q;
    if (normalize_is_empty(a) || normalize_is_empty(b))
        return normalize_is_empty(a) && normalize_is_empty(b);
    if (json_is_string(a) && json_is_string(b))
        return str_eq(json_string_value(a), json_string_value(b));
    if ((json_is_boolean(a) || json_is_boolean(b)) && as_bool(a, &p) && as_bool(b, &q))
        return p == q;
    if (as_number(a, &x) && as_number(b, &y))
        return x == y;
    return false;
}

bool normalize_equal(const json_t *a, const json_t *b)
{
    if (normalize_is_empty(a) || normalize_is_empty(b))
        return normalize_is_empty(a) && normalize_is_empty(b);
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!normalize_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)a, k, v)
            if (!normalize_equal(v, json_object_get(b, k)))
                return false;
        json_object_foreach ((json_t *)b, k, v)
            if (!json_object_get(a, k) && !normalize_is_empty(v))
                return false;
        return true;
    }
    if (json_is_array(a) || json_is_array(b) || json_is_object(a) || json_is_object(b))
        return false;
    return scalar_equal(a, b);
}

/* Canonical text of a scalar for set membership: numeric strings and
 * numbers meet as numbers, "true"/"false" and bools as bools. */
static char *scalar_key(const json_t *v)
{
    double d;
    bool b;
    if (json_is_boolean(v) || (json_is_string(v) && (str_eq(json_string_value(v), "true") ||
                                                     str_eq(json_string_value(v), "false")))) {
        as_bool(v, &b);
        return strdup(b ? "b:true" : "b:false");
    }
    if (as_number(v, &d) && isfinite(d))
        return str_printf("n:%.17g", d);
    if (json_is_string(v))
        return str_printf("s:%s", json_string_value(v));
    {
        char *c = json_canonical(v), *k = c ? str_printf("j:%s", c) : NULL;
        free(c);
        return k;
    }
}

/* ---- policies ------------------------------------------------------------ */

static bool is_account_id(const char *s)
{
    if (!s || strlen(s) != 12)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* A sorted, de-duplicated array of strings from a string or an array of
 * scalars (numbers and bools become their text). */
static json_t *string_set(const json_t *v, bool lower, bool principal)
{
    json_t *out = json_array(), *src = json_is_array(v) ? (json_t *)v : NULL;
    char **items = NULL;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = src ? json_array_get(src, i) : v;
        char *s;
        if (json_is_string(e))
            s = strdup(json_string_value(e));
        else if (json_is_integer(e))
            s = str_printf("%" JSON_INTEGER_FORMAT, json_integer_value(e));
        else if (json_is_real(e))
            s = str_printf("%.17g", json_real_value(e));
        else if (json_is_boolean(e))
            s = strdup(json_is_true(e) ? "true" : "false");
        else
            s = json_canonical(e);
        if (!s)
            goto oom;
        if (lower)
            str_lower(s);
        if (principal && is_account_id(s)) {
            char *arn = str_printf("arn:aws:iam::%s:root", s);
            free(s);
            if (!(s = arn))
                goto oom;
        }
        if (strv_contains(items, s)) {
            free(s);
            continue;
        }
        if (strv_consume(&items, s) < 0) {
            free(s);
            goto oom;
        }
    }
    n = strv_length(items);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
            char *t = items[j];
            items[j] = items[j - 1];
            items[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(out, json_string(items[i])) < 0)
            goto oom;
    strv_free(items);
    return out;
oom:
    strv_free(items);
    json_decref(out);
    return NULL;
}

static json_t *norm_principal(const json_t *p)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!out)
        return NULL;
    if (json_is_string(p)) {
        json_t *set = string_set(p, false, true);
        if (!set || json_object_set_new(out, "AWS", set) < 0)
            goto oom;
        return out;
    }
    json_object_foreach ((json_t *)p, k, v) {
        json_t *set = string_set(v, false, str_eq(k, "AWS"));
        if (!set || json_object_set_new(out, k, set) < 0)
            goto oom;
    }
    return out;
oom:
    json_decref(out);
    return NULL;
}

static json_t *norm_condition(const json_t *c)
{
    json_t *out = json_object();
    const char *op, *key;
    json_t *kv, *v;
    if (!out)
        return NULL;
    json_object_foreach ((json_t *)c, op, kv) {
        json_t *o = json_object();
        if (!o || json_object_set_new(out, op, o) < 0)
            goto oom;
        if (!json_is_object(kv))
            continue;
        json_object_foreach (kv, key, v) {
            char *lk = strdup(key);
            json_t *set = string_set(v, false, false);
            if (lk)
                str_lower(lk);
            if (!lk || !set || json_object_set_new(o, lk, set) < 0) {
                free(lk);
                goto oom;
            }
            free(lk);
        }
    }
    return out;
oom:
    json_decref(out);
    return NULL;
}

static json_t *norm_statement(const json_t *s)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!out)
        return NULL;
    json_object_foreach ((json_t *)s, k, v) {
        json_t *n;
        if (str_eq(k, "Sid") && normalize_is_empty(v))
            continue;
        if (str_eq(k, "Action") || str_eq(k, "NotAction"))
            n = string_set(v, true, false);
        else if (str_eq(k, "Resource") || str_eq(k, "NotResource"))
            n = string_set(v, false, false);
        else if (str_eq(k, "Principal") || str_eq(k, "NotPrincipal"))
            n = norm_principal(v);
        else if (str_eq(k, "Condition") && json_is_object(v))
            n = norm_condition(v);
        else
            n = json_deep_copy(v);
        if (!n || json_object_set_new(out, k, n) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static int cmp_canonical(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decode %XX escapes (policies from IAM APIs and Config items). */
static char *url_decode(const char *s)
{
    CURL *h = curl_easy_init();
    char *d = NULL, *out = NULL;
    int len = 0;
    if (!h)
        return NULL;
    d = curl_easy_unescape(h, s, 0, &len);
    if (d && (size_t)len == strlen(d))
        out = strdup(d);
    curl_free(d);
    curl_easy_cleanup(h);
    return out;
}

json_t *normalize_policy(const json_t *v)
{
    json_t *doc = NULL, *out = NULL, *stmts, *sorted = NULL;
    const char *k;
    json_t *x;
    char **texts = NULL;

    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        doc = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
        if (!doc && strchr(s, '%')) {
            char *d = url_decode(s);
            if (d)
                doc = json_loads(d, JSON_REJECT_DUPLICATES, NULL);
            free(d);
        }
    } else if (json_is_object(v)) {
        doc = json_incref((json_t *)v);
    }
    if (!json_is_object(doc))
        goto fail;
    out = json_object();
    if (!out)
        goto fail;
    json_object_foreach (doc, k, x) {
        if (str_eq(k, "Statement") || (str_eq(k, "Id") && normalize_is_empty(x)))
            continue;
        if (json_object_set(out, k, x) < 0)
            goto fail;
    }
    if (!json_object_get(out, "Version") &&
        json_object_set_new(out, "Version", json_string("2008-10-17")) < 0)
        goto fail;
    stmts = json_object_get(doc, "Statement");
    sorted = json_array();
    if (!sorted)
        goto fail;
    if (stmts) {
        size_t n = json_is_array(stmts) ? json_array_size(stmts) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_is_array(stmts) ? json_array_get(stmts, i) : stmts;
            json_t *ns = json_is_object(s) ? norm_statement(s) : json_deep_copy(s);
            char *t = ns ? json_canonical(ns) : NULL;
            json_decref(ns);
            if (!t || strv_consume(&texts, t) < 0) {
                free(t);
                goto fail;
            }
        }
        qsort(texts, strv_length(texts), sizeof(char *), cmp_canonical);
        for (size_t i = 0; texts[i]; i++)
            if (json_array_append_new(sorted, json_loads(texts[i], 0, NULL)) < 0)
                goto fail;
    }
    if (json_object_set_new(out, "Statement", sorted) < 0) {
        sorted = NULL;
        goto fail;
    }
    strv_free(texts);
    json_decref(doc);
    return out;
fail:
    strv_free(texts);
    json_decref(doc);
    json_decref(out);
    return NULL;
}

bool normalize_policy_equal(const json_t *a, const json_t *b)
{
    json_t *x, *y;
    bool eq;
    if (normalize_is_empty(a) || normalize_is_empty(b))
        return normalize_is_empty(a) && normalize_is_empty(b);
    x = normalize_policy(a);
    y = normalize_policy(b);
    if (x && y)
        eq = json_equal(x, y);
    else
        eq = normalize_equal(a, b);
    json_decref(x);
    json_decref(y);
    return eq;
}

/* ---- ARNs ------------------------------------------------------------------ */

static bool arn_names(const char *arn, const char *bare)
{
    struct typemap_arn a = { 0 };
    bool eq = false;
    const char *slash;
    if (typemap_arn_parse(arn, &a, NULL) < 0)
        return false;
    slash = strrchr(a.resource, '/');
    eq = str_eq(a.resource, bare) || str_eq(a.resource_id, bare) ||
         (slash && str_eq(slash + 1, bare));
    typemap_arn_clear(&a);
    return eq;
}

bool normalize_arn_equal(const char *a, const char *b)
{
    bool aa, ba;
    if (!a || !*a || !b || !*b)
        return (!a || !*a) && (!b || !*b);
    if (str_eq(a, b))
        return true;
    aa = str_has_prefix(a, "arn:");
    ba = str_has_prefix(b, "arn:");
    if (aa == ba)
        return false;
    return aa ? arn_names(a, b) : arn_names(b, a);
}

/* ---- the comparison walk ------------------------------------------------- */

struct walk {
    const struct normalize_input *in;
    json_t *changes;
    bool security;
    int n;
    char ***sens; /* the sensitive paths split into elements, NULL-terminated */
};

static void walk_done(struct walk *w)
{
    for (size_t i = 0; w->sens && w->sens[i]; i++)
        strv_free(w->sens[i]);
    free(w->sens);
}

/* Split the sensitive paths once per comparison.  A path that does not
 * split masks its first element (its attribute) whole. */
static int walk_init(struct walk *w, const struct normalize_input *in, json_t *changes)
{
    size_t n = json_array_size(in->sensitive), k = 0, i;
    json_t *s;
    memset(w, 0, sizeof(*w));
    w->in = in;
    w->changes = changes;
    w->sens = calloc(n + 1, sizeof(char **));
    if (!w->sens)
        return -ENOMEM;
    json_array_foreach ((json_t *)in->sensitive, i, s) {
        const char *text = json_string_value(s);
        char **v = NULL;
        if (!text)
            continue;
        if (ignore_path_split(text, &v) < 0) {
            size_t len = strcspn(text, ".[");
            char *first = str_ndup(text, len);
            v = NULL;
            if (!first || strv_consume(&v, first) < 0) {
                free(first);
                return -ENOMEM;
            }
        }
        w->sens[k++] = v;
    }
    return 0;
}

/* Paths are compared element by element, so tags.Api-Key and
 * tags["Api-Key"] are the same path. */
static bool elems_under(char *const *path, char *const *prefix)
{
    size_t i = 0;
    for (; prefix[i]; i++)
        if (!path[i] || !str_eq(path[i], prefix[i]))
            return false;
    return true;
}

/* The value at path is (inside) a masked one (below = false), or some
 * masked path lies strictly below path (below = true). */
static bool sensitive_rel(const struct walk *w, const char *path, bool below)
{
    char **p = NULL;
    bool hit = false;
    if (!w->sens || !w->sens[0])
        return false;
    if (ignore_path_split(path, &p) < 0)
        return true; /* when in doubt, mask */
    for (size_t i = 0; w->sens[i] && !hit; i++)
        hit = below ? elems_under(w->sens[i], p) && strv_length(w->sens[i]) > strv_length(p)
                    : elems_under(p, w->sens[i]);
    strv_free(p);
    return hit;
}

static bool sensitive_at(const struct walk *w, const char *path)
{
    return sensitive_rel(w, path, false);
}

static bool sensitive_below(const struct walk *w, const char *path)
{
    return sensitive_rel(w, path, true);
}

static bool controls_read(const struct typemap_attr *a)
{
    for (; a; a = a->parent)
        if (a->controls && a->controls[0])
            return true;
    return false;
}

static int emit(struct walk *w, const struct typemap_attr *a, const char *path, const json_t *d,
                const json_t *l)
{
    json_t *c, *dv, *lv;
    bool masked = sensitive_below(w, path);
    if (w->in->ignore &&
        ignore_attribute(w->in->ignore, w->in->ignore_type, w->in->ignore_id, path))
        return 0;
    if (masked) {
        dv = json_string(TFSTATE_SENSITIVE_MARKER);
        lv = json_string(TFSTATE_SENSITIVE_MARKER);
    } else {
        dv = d ? json_deep_copy(d) : json_null();
        lv = l ? json_deep_copy(l) : json_null();
    }
    c = json_pack("{s:s, s:o, s:o}", "path", path, "declared", dv, "live", lv);
    if (!c || json_array_append_new(w->changes, c) < 0)
        return -ENOMEM;
    if (a && controls_read(a))
        w->security = true;
    w->n++;
    return 0;
}

static int walk_attr(struct walk *w, const struct typemap_attr *a, const char *path,
                     const json_t *d, const json_t *l);

/* The attributes of one object (block element). known: the declared
 * object exists, so a key it lacks is "unknown to that provider version"
 * and skipped; otherwise (a missing element) absent means null. */
static int walk_object(struct walk *w, const struct typemap_attr *attrs, size_t n, const char *base,
                       const json_t *d, const json_t *l, bool known)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct typemap_attr *a = &attrs[i];
        const json_t *dv = json_object_get(d, a->name);
        char *p;
        if (a->compare == TYPEMAP_COMPARE_COMPUTED || a->plumb_only)
            continue;
        if (known && json_is_object(d) && !dv)
            continue;
        p = json_path_key(base, a->name);
        if (!p)
            return -ENOMEM;
        r = walk_attr(w, a, p, dv, json_object_get(l, a->name));
        free(p);
    }
    return r;
}

/* An element normalised for whole-element set comparison: computed and
 * plumb-only attributes dropped, defaults applied, nested sets sorted. */
static json_t *canon_elem(const struct typemap_attr *a, const json_t *e);

static json_t *canon_value(const struct typemap_attr *a, const json_t *v)
{
    if (a->compare == TYPEMAP_COMPARE_DEFAULT && normalize_is_empty(v))
        v = a->default_value;
    if (normalize_is_empty(v))
        return json_null();
    if (a->n_attrs && json_is_array(v)) {
        json_t *out = json_array();
        char **texts = NULL;
        for (size_t i = 0; out && i < json_array_size(v); i++) {
            json_t *c = canon_elem(a, json_array_get(v, i));
            if (!c || json_array_append_new(out, c) < 0) {
                json_decref(out);
                return NULL;
            }
        }
        if (out && (a->kind == TYPEMAP_KIND_SET || a->compare == TYPEMAP_COMPARE_SET_OF_OBJECTS)) {
            json_t *sorted = json_array();
            size_t i;
            json_t *e;
            json_array_foreach (out, i, e) {
                char *t = json_canonical(e);
                if (!t || strv_consume(&texts, t) < 0) {
                    free(t);
                    strv_free(texts);
                    json_decref(out);
                    json_decref(sorted);
                    return NULL;
                }
            }
            qsort(texts, strv_length(texts), sizeof(char *), cmp_canonical);
            for (i = 0; texts && texts[i]; i++)
                json_array_append_new(sorted, json_loads(texts[i], 0, NULL));
            strv_free(texts);
            json_decref(out);
            out = sorted;
        }
        return out;
    }
    if (a->n_attrs && json_is_object(v))
        return canon_elem(a, v);
    if (json_is_array(v) && (a->compare == TYPEMAP_COMPARE_SET || a->kind == TYPEMAP_KIND_SET)) {
        json_t *out = json_array();
        char **keys = NULL;
        size_t i;
        json_t *e;
        json_array_foreach ((json_t *)v, i, e) {
            char *k = scalar_key(e);
            if (!k || (!strv_contains(keys, k) && strv_push(&keys, k) < 0)) {
                free(k);
                strv_free(keys);
                json_decref(out);
                return NULL;
            }
            free(k);
        }
        qsort(keys, strv_length(keys), sizeof(char *), cmp_canonical);
        for (i = 0; keys && keys[i]; i++)
            json_array_append_new(out, json_string(keys[i]));
        strv_free(keys);
        return out;
    }
    if (a->compare == TYPEMAP_COMPARE_POLICY_JSON) {
        json_t *p = normalize_policy(v);
        return p ? p : json_deep_copy(v);
    }
    if (json_is_array(v) || json_is_object(v))
        return json_deep_copy(v);
    {
        char *k = scalar_key(v);
        json_t *out;
        if (k && a->compare == TYPEMAP_COMPARE_CASE_INSENSITIVE)
            str_lower(k);
        out = k ? json_string(k) : NULL;
        free(k);
        return out;
    }
}

static json_t *canon_elem(const struct typemap_attr *a, const json_t *e)
{
    json_t *out = json_object();
    if (!out)
        return NULL;
    for (size_t i = 0; i < a->n_attrs; i++) {
        const struct typemap_attr *s = &a->attrs[i];
        json_t *c;
        if (s->compare == TYPEMAP_COMPARE_COMPUTED || s->plumb_only)
            continue;
        c = canon_value(s, json_object_get(e, s->name));
        if (!c || json_object_set_new(out, s->name, c) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* The key of a set element: the canonical values of the key attributes. */
static char *elem_key(const struct typemap_attr *a, const json_t *e)
{
    json_t *k = json_array();
    char *text;
    for (size_t i = 0; k && a->key[i]; i++) {
        const struct typemap_attr *ka = NULL;
        for (size_t j = 0; j < a->n_attrs; j++)
            if (str_eq(a->attrs[j].name, a->key[i]))
                ka = &a->attrs[j];
        json_t *c = ka ? canon_value(ka, json_object_get(e, a->key[i]))
                       : json_deep_copy(json_object_get(e, a->key[i]));
        if (!c)
            c = json_null();
        if (json_array_append_new(k, c) < 0) {
            json_decref(k);
            return NULL;
        }
    }
    if (!k)
        return NULL;
    if (json_array_size(k) == 1 && json_is_string(json_array_get(k, 0))) {
        /* A single string key reads as the key itself ("s:name" -> name). */
        const char *s = json_string_value(json_array_get(k, 0));
        text = strdup(str_has_prefix(s, "s:") ? s + 2 : s);
    } else {
        text = json_canonical(k);
    }
    json_decref(k);
    return text;
}

static int walk_set_of_objects(struct walk *w, const struct typemap_attr *a, const char *path,
                               const json_t *d, const json_t *l)
{
    size_t nd = json_is_array(d) ? json_array_size(d) : 0;
    size_t nl = json_is_array(l) ? json_array_size(l) : 0;
    bool *used = calloc(nl + 1, sizeof(bool));
    json_t *only_d = NULL, *only_l = NULL;
    int r = 0;

    if (!used)
        return -ENOMEM;
    if (a->key && a->key[0]) {
        /* Keyed: pair elements, compare their attributes, report the rest. */
        for (size_t i = 0; i < nd && r == 0; i++) {
            json_t *de = json_array_get(d, i), *le = NULL;
            char *dk = elem_key(a, de), *p = NULL;
            for (size_t j = 0; dk && j < nl && !le; j++) {
                char *lk = used[j] ? NULL : elem_key(a, json_array_get(l, j));
                if (lk && str_eq(lk, dk)) {
                    le = json_array_get(l, j);
                    used[j] = true;
                }
                free(lk);
            }
            p = dk ? json_path_key(path, dk) : NULL;
            if (!p)
                r = -ENOMEM;
            else if (le)
                r = walk_object(w, a->attrs, a->n_attrs, p, de, le, true);
            else
                r = emit(w, a, p, de, NULL);
            free(dk);
            free(p);
        }
        for (size_t j = 0; j < nl && r == 0; j++) {
            char *lk, *p;
            if (used[j])
                continue;
            lk = elem_key(a, json_array_get(l, j));
            p = lk ? json_path_key(path, lk) : NULL;
            r = p ? emit(w, a, p, NULL, json_array_get(l, j)) : -ENOMEM;
            free(lk);
            free(p);
        }
        free(used);
        return r;
    }
    /* Whole elements: report the unmatched ones on each side together. */
    only_d = json_array();
    only_l = json_array();
    if (!only_d || !only_l) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nd; i++) {
        json_t *cd = canon_elem(a, json_array_get(d, i));
        bool found = false;
        for (size_t j = 0; cd && j < nl && !found; j++) {
            json_t *cl;
            if (used[j])
                continue;
            cl = canon_elem(a, json_array_get(l, j));
            if (cl && json_equal(cd, cl)) {
                used[j] = true;
                found = true;
            }
            json_decref(cl);
        }
        json_decref(cd);
        if (!found && json_array_append(only_d, json_array_get(d, i)) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    for (size_t j = 0; j < nl; j++)
        if (!used[j] && json_array_append(only_l, json_array_get(l, j)) < 0) {
            r = -ENOMEM;
            goto out;
        }
    if (json_array_size(only_d) || json_array_size(only_l))
        r = emit(w, a, path, only_d, only_l);
out:
    json_decref(only_d);
    json_decref(only_l);
    free(used);
    return r;
}

static bool set_equal(const json_t *d, const json_t *l)
{
    json_t *x = NULL, *y = NULL;
    struct typemap_attr fake = { .kind = TYPEMAP_KIND_SET, .compare = TYPEMAP_COMPARE_SET };
    bool eq;
    if (normalize_is_empty(d) || normalize_is_empty(l))
        return normalize_is_empty(d) && normalize_is_empty(l);
    if (!json_is_array(d) || !json_is_array(l))
        return normalize_equal(d, l);
    x = canon_value(&fake, d);
    y = canon_value(&fake, l);
    eq = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

static int walk_map(struct walk *w, const struct typemap_attr *a, const char *path, const json_t *d,
                    const json_t *l, bool skip_aws)
{
    const char *k;
    json_t *v;
    int r = 0;
    json_object_foreach ((json_t *)d, k, v) {
        json_t *lv = json_object_get(l, k);
        char *p;
        if (normalize_equal(v, lv))
            continue;
        p = json_path_key(path, k);
        r = p ? (sensitive_at(w, p) ? 0 : emit(w, a, p, v, lv)) : -ENOMEM;
        free(p);
        if (r < 0)
            return r;
    }
    json_object_foreach ((json_t *)l, k, v) {
        char *p;
        if (json_object_get(d, k) || normalize_is_empty(v) ||
            (skip_aws && str_has_prefix(k, "aws:")))
            continue;
        p = json_path_key(path, k);
        r = p ? (sensitive_at(w, p) ? 0 : emit(w, a, p, NULL, v)) : -ENOMEM;
        free(p);
        if (r < 0)
            return r;
    }
    return 0;
}

static int walk_list(struct walk *w, const struct typemap_attr *a, const char *path,
                     const json_t *d, const json_t *l)
{
    size_t nd = json_is_array(d) ? json_array_size(d) : 0;
    size_t nl = json_is_array(l) ? json_array_size(l) : 0;
    int r = 0;

    if (!a->n_attrs) {
        if (!normalize_equal(d, l))
            return emit(w, a, path, d, l);
        return 0;
    }
    for (size_t i = 0; i < MAX(nd, nl) && r == 0; i++) {
        json_t *de = json_array_get(d, i), *le = json_array_get(l, i);
        char *p = json_path_index(path, i);
        if (!p)
            return -ENOMEM;
        if (de && !json_is_object(de))
            r = normalize_equal(de, le) ? 0 : emit(w, a, p, de, le);
        else
            r = walk_object(w, a->attrs, a->n_attrs, p, de, le, de != NULL);
        free(p);
    }
    return r;
}

static int walk_attr(struct walk *w, const struct typemap_attr *a, const char *path,
                     const json_t *d, const json_t *l)
{
    if (sensitive_at(w, path))
        return 0; /* only a mask is declared */
    switch (a->compare) {
    case TYPEMAP_COMPARE_COMPUTED: return 0;
    case TYPEMAP_COMPARE_DEFAULT: {
        const json_t *dd = normalize_is_empty(d) ? a->default_value : d;
        const json_t *ll = normalize_is_empty(l) ? a->default_value : l;
        if (a->n_attrs || json_is_array(dd) || json_is_object(dd))
            break; /* a block with a default: compare as exact below */
        return normalize_equal(dd, ll) ? 0 : emit(w, a, path, d, l);
    }
    case TYPEMAP_COMPARE_SET: return set_equal(d, l) ? 0 : emit(w, a, path, d, l);
    case TYPEMAP_COMPARE_SET_OF_OBJECTS:
        if (normalize_is_empty(d) && normalize_is_empty(l))
            return 0;
        if (!a->n_attrs)
            return set_equal(d, l) ? 0 : emit(w, a, path, d, l);
        return walk_set_of_objects(w, a, path, d, l);
    case TYPEMAP_COMPARE_POLICY_JSON:
        return normalize_policy_equal(d, l) ? 0 : emit(w, a, path, d, l);
    case TYPEMAP_COMPARE_TAGS:
        if (normalize_is_empty(d) && normalize_is_empty(l))
            return 0;
        if ((d && !json_is_object(d) && !json_is_null(d)) ||
            (l && !json_is_object(l) && !json_is_null(l)))
            return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
        return walk_map(w, a, path, d, l, true);
    case TYPEMAP_COMPARE_ARN:
        if (json_is_string(d) || json_is_string(l)) {
            if ((d && !json_is_string(d) && !json_is_null(d)) ||
                (l && !json_is_string(l) && !json_is_null(l)))
                return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
            return normalize_arn_equal(json_string_value(d), json_string_value(l))
                       ? 0
                       : emit(w, a, path, d, l);
        }
        return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
    case TYPEMAP_COMPARE_CASE_INSENSITIVE:
        if (json_is_string(d) && json_is_string(l))
            return str_eq_ci(json_string_value(d), json_string_value(l)) ? 0
                                                                         : emit(w, a, path, d, l);
        return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
    case TYPEMAP_COMPARE_EXACT: break;
    }
    /* exact (and blocks with a default) */
    if (a->compare == TYPEMAP_COMPARE_DEFAULT) {
        if (normalize_is_empty(d))
            d = a->default_value;
        if (normalize_is_empty(l))
            l = a->default_value;
    }
    switch (a->kind) {
    case TYPEMAP_KIND_SET:
        if (a->n_attrs)
            return walk_set_of_objects(w, a, path, d, l);
        return set_equal(d, l) ? 0 : emit(w, a, path, d, l);
    case TYPEMAP_KIND_LIST:
        if ((d && !json_is_array(d) && !json_is_null(d)) ||
            (l && !json_is_array(l) && !json_is_null(l)))
            return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
        return walk_list(w, a, path, d, l);
    case TYPEMAP_KIND_MAP:
        if ((d && !json_is_object(d) && !json_is_null(d)) ||
            (l && !json_is_object(l) && !json_is_null(l)))
            return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
        if (a->n_attrs) {
            /* A map of blocks: key by key, each with the nested rules. */
            const char *k;
            json_t *v;
            int r = 0;
            json_object_foreach ((json_t *)d, k, v) {
                char *p = json_path_key(path, k);
                if (!p)
                    return -ENOMEM;
                r = walk_object(w, a->attrs, a->n_attrs, p, v, json_object_get(l, k), true);
                free(p);
                if (r < 0)
                    return r;
            }
            json_object_foreach ((json_t *)l, k, v) {
                char *p;
                if (json_object_get(d, k))
                    continue;
                p = json_path_key(path, k);
                r = p ? emit(w, a, p, NULL, v) : -ENOMEM;
                free(p);
                if (r < 0)
                    return r;
            }
            return 0;
        }
        return walk_map(w, a, path, d, l, false);
    case TYPEMAP_KIND_OBJECT:
        if (a->n_attrs && (json_is_object(d) || json_is_object(l)))
            return walk_object(w, a->attrs, a->n_attrs, path, d, l, json_is_object(d));
        return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
    default: return normalize_equal(d, l) ? 0 : emit(w, a, path, d, l);
    }
}

static bool in_list(const char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (str_eq(v[i], s))
            return true;
    return false;
}

int normalize_compare(const struct normalize_input *in, json_t *changes, bool *ret_security,
                      struct perr *err)
{
    struct walk w;
    const struct typemap_type *t = in->type;
    const struct resource *live = in->live;
    bool from_config = str_eq(live->source, "config") && t->config_type;
    int r = 0;

    if (!json_is_object(in->declared) || !json_is_array(changes))
        return perr_set(err, -EINVAL, "normalize: declared attributes must be an object");
    if (walk_init(&w, in, changes) < 0) {
        walk_done(&w);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < t->n_attrs && r == 0; i++) {
        const struct typemap_attr *a = &t->attrs[i];
        const json_t *d, *l;
        if (a->compare == TYPEMAP_COMPARE_COMPUTED || a->plumb_only)
            continue;
        if (in_list(in->skip, a->name) || json_object_get(live->unknown, a->name))
            continue;
        if (from_config && !a->config_path)
            continue;
        if (a->in_tags) {
            d = json_object_get(in->declared, "tags_all");
            if (!json_is_object(d))
                d = json_object_get(in->declared, a->name);
            if (!d && !json_object_get(in->declared, "tags_all") &&
                !json_object_get(in->declared, a->name))
                continue;
            l = live->tags;
        } else {
            d = json_object_get(in->declared, a->name);
            if (!d)
                continue; /* the provider version that wrote the state lacks it */
            l = json_object_get(live->attrs, a->name);
        }
        r = walk_attr(&w, a, a->name, d, l);
    }
    walk_done(&w);
    if (r < 0)
        return perr_set(err, r, "out of memory");
    if (ret_security)
        *ret_security = w.security;
    return w.n;
}

int normalize_compare_object(const struct typemap_attr *attrs, size_t n_attrs,
                             const json_t *declared, const json_t *live, const char *base,
                             const struct normalize_input *in, json_t *changes, bool *ret_security,
                             struct perr *err)
{
    struct walk w;
    int r = walk_init(&w, in, changes);
    if (r == 0)
        r = walk_object(&w, attrs, n_attrs, base, declared, live, true);
    walk_done(&w);
    if (r < 0)
        return perr_set(err, r, "out of memory");
    if (ret_security)
        *ret_security = w.security;
    return w.n;
}

/* ---- security group rules ------------------------------------------------- */

void normalize_sg_atoms_clear(struct normalize_sg_atoms *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].key);
        free(a->v[i].description);
    }
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

/* "tcp", "udp", "icmp", "icmpv6", "-1" (all), or the protocol as given. */
static void sg_proto(const json_t *v, char *buf, size_t size)
{
    static const struct {
        const char *num, *name;
    } names[] = { { "6", "tcp" }, { "17", "udp" }, { "1", "icmp" }, { "58", "icmpv6" } };
    double d;
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (as_number(v, &d))
        snprintf(buf, size, "%.0f", d);
    else
        snprintf(buf, size, "-1");
    str_lower(buf);
    if (str_eq(buf, "all") || !*buf)
        snprintf(buf, size, "-1");
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (str_eq(buf, names[i].num))
            snprintf(buf, size, "%s", names[i].name);
}

static long sg_port(const json_t *v)
{
    double d;
    return as_number(v, &d) ? (long)d : 0;
}

static int sg_add(struct normalize_sg_atoms *out, const char *dir, const char *proto, long from,
                  long to, const char *kind, const char *value, const json_t *description,
                  size_t owner)
{
    struct normalize_sg_atom *n;
    const char *desc = json_string_value(description);
    if (!value || !*value)
        return 0;
    if (str_eq(proto, "-1"))
        from = to = 0; /* ports mean nothing for "all protocols" (AWS says -1) */
    if (str_eq(kind, "sg") && strchr(value, '/'))
        value = strrchr(value, '/') + 1; /* "123456789012/sg-1" (another account) */
    n = realloc(out->v, (out->n + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    out->v = n;
    n = &out->v[out->n];
    n->key = str_printf("%s|%s|%ld|%ld|%s|%s", dir, proto, from, to, kind, value);
    n->description = strdup(desc ? desc : "");
    n->owner = owner;
    if (!n->key || !n->description) {
        free(n->key);
        free(n->description);
        return -ENOMEM;
    }
    out->n++;
    return 0;
}

static int sg_add_list(struct normalize_sg_atoms *out, const char *dir, const char *proto,
                       long from, long to, const char *kind, const json_t *list,
                       const json_t *description, size_t owner)
{
    size_t i;
    json_t *v;
    int r = 0;
    if (json_is_string(list))
        return sg_add(out, dir, proto, from, to, kind, json_string_value(list), description, owner);
    json_array_foreach ((json_t *)list, i, v)
        if (json_is_string(v) && (r = sg_add(out, dir, proto, from, to, kind, json_string_value(v),
                                             description, owner)) < 0)
            return r;
    return 0;
}

static bool truthy(const json_t *v)
{
    bool b = false;
    return as_bool(v, &b) && b;
}

int normalize_sg_atoms_inline(const json_t *blocks, const char *direction, const char *group_id,
                              size_t owner, struct normalize_sg_atoms *out)
{
    size_t i;
    json_t *b;
    json_array_foreach ((json_t *)blocks, i, b) {
        char proto[32];
        long from = sg_port(json_object_get(b, "from_port"));
        long to = sg_port(json_object_get(b, "to_port"));
        const json_t *desc = json_object_get(b, "description");
        int r;
        sg_proto(json_object_get(b, "protocol"), proto, sizeof(proto));
        if ((r = sg_add_list(out, direction, proto, from, to, "cidr",
                             json_object_get(b, "cidr_blocks"), desc, owner)) < 0 ||
            (r = sg_add_list(out, direction, proto, from, to, "cidr6",
                             json_object_get(b, "ipv6_cidr_blocks"), desc, owner)) < 0 ||
            (r = sg_add_list(out, direction, proto, from, to, "pl",
                             json_object_get(b, "prefix_list_ids"), desc, owner)) < 0 ||
            (r = sg_add_list(out, direction, proto, from, to, "sg",
                             json_object_get(b, "security_groups"), desc, owner)) < 0)
            return r;
        if (truthy(json_object_get(b, "self")) &&
            (r = sg_add(out, direction, proto, from, to, "sg", group_id, desc, owner)) < 0)
            return r;
    }
    return 0;
}

int normalize_sg_atoms_rule(const json_t *attrs, size_t owner, struct normalize_sg_atoms *out)
{
    const char *dir = json_string_value(json_object_get(attrs, "type"));
    const char *gid = json_string_value(json_object_get(attrs, "security_group_id"));
    const json_t *desc = json_object_get(attrs, "description");
    char proto[32];
    long from = sg_port(json_object_get(attrs, "from_port"));
    long to = sg_port(json_object_get(attrs, "to_port"));
    int r;

    if (!dir)
        return 0;
    sg_proto(json_object_get(attrs, "protocol"), proto, sizeof(proto));
    if ((r = sg_add_list(out, dir, proto, from, to, "cidr", json_object_get(attrs, "cidr_blocks"),
                         desc, owner)) < 0 ||
        (r = sg_add_list(out, dir, proto, from, to, "cidr6",
                         json_object_get(attrs, "ipv6_cidr_blocks"), desc, owner)) < 0 ||
        (r = sg_add_list(out, dir, proto, from, to, "pl", json_object_get(attrs, "prefix_list_ids"),
                         desc, owner)) < 0 ||
        (r = sg_add(out, dir, proto, from, to, "sg",
                    json_string_value(json_object_get(attrs, "source_security_group_id")), desc,
                    owner)) < 0)
        return r;
    if (truthy(json_object_get(attrs, "self")) &&
        (r = sg_add(out, dir, proto, from, to, "sg", gid, desc, owner)) < 0)
        return r;
    return 0;
}

int normalize_sg_atoms_vpc_rule(const json_t *attrs, const char *direction, size_t owner,
                                struct normalize_sg_atoms *out)
{
    const json_t *desc = json_object_get(attrs, "description");
    char proto[32];
    long from = sg_port(json_object_get(attrs, "from_port"));
    long to = sg_port(json_object_get(attrs, "to_port"));
    int r;

    sg_proto(json_object_get(attrs, "ip_protocol"), proto, sizeof(proto));
    if ((r = sg_add(out, direction, proto, from, to, "cidr",
                    json_string_value(json_object_get(attrs, "cidr_ipv4")), desc, owner)) < 0 ||
        (r = sg_add(out, direction, proto, from, to, "cidr6",
                    json_string_value(json_object_get(attrs, "cidr_ipv6")), desc, owner)) < 0 ||
        (r = sg_add(out, direction, proto, from, to, "pl",
                    json_string_value(json_object_get(attrs, "prefix_list_id")), desc, owner)) <
            0 ||
        (r = sg_add(out, direction, proto, from, to, "sg",
                    json_string_value(json_object_get(attrs, "referenced_security_group_id")), desc,
                    owner)) < 0)
        return r;
    return 0;
}

long normalize_sg_atoms_find(const struct normalize_sg_atoms *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (str_eq(a->v[i].key, key))
            return (long)i;
    return -1;
}

/* Split an atom key into its six fields (pointing into buf). */
static bool sg_split(const char *key, char *buf, size_t size, char *f[6])
{
    char *p = buf;
    snprintf(buf, size, "%s", key);
    for (int i = 0; i < 6; i++) {
        f[i] = p;
        if (i < 5) {
            p = strchr(p, '|');
            if (!p)
                return false;
            *p++ = '\0';
        }
    }
    return true;
}

json_t *normalize_sg_atom_json(const struct normalize_sg_atom *a)
{
    char buf[512], *f[6];
    const char *list;
    json_int_t from, to;
    if (!sg_split(a->key, buf, sizeof(buf), f))
        return NULL;
    list = str_eq(f[4], "cidr")    ? "cidr_blocks"
           : str_eq(f[4], "cidr6") ? "ipv6_cidr_blocks"
           : str_eq(f[4], "pl")    ? "prefix_list_ids"
                                   : "security_groups";
    from = strtoll(f[2], NULL, 10);
    to = strtoll(f[3], NULL, 10);
    return json_pack("{s:s, s:s, s:I, s:I, s:[s], s:s}", "type", f[0], "protocol", f[1],
                     "from_port", from, "to_port", to, list, f[5], "description", a->description);
}

char *normalize_sg_atom_import_id(const struct normalize_sg_atom *a, const char *group_id)
{
    char buf[512], *f[6];
    if (!sg_split(a->key, buf, sizeof(buf), f))
        return NULL;
    return str_printf("%s_%s_%s_%s_%s_%s", group_id, f[0], str_eq(f[1], "-1") ? "all" : f[1], f[2],
                      f[3], str_eq(f[5], group_id) ? "self" : f[5]);
}
