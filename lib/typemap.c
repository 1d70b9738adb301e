#include "typemap.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "typemap-embed.h"

/* ---- compiled predicates ------------------------------------------------ */

enum pred_kind { PRED_ALL, PRED_ANY, PRED_NOT, PRED_ATTR, PRED_TAG, PRED_PARENT };
enum pred_op { OP_EQ, OP_NE, OP_IN, OP_PREFIX, OP_SUFFIX, OP_CONTAINS, OP_EXISTS };
enum parent_mode { PARENT_EXCLUDED, PARENT_EXCLUDED_OR_UNMANAGED };

struct pred {
    enum pred_kind kind;
    struct pred *subs; /* all/any/not */
    size_t n_subs;
    const char *path; /* attr path, "@field" or tag key */
    enum pred_op op;
    const json_t *value; /* borrowed from the document */
    bool exists;
    enum parent_mode parent;
};

struct state_template {
    const char *text;
    struct pred *cond; /* NULL: always */
};

struct exclusion {
    const char *reason;
    struct pred when;
};

struct typemap_type_rules {
    struct state_template *state;
    size_t n_state;
    const char **region; /* templates giving a declared instance's region */
    size_t n_region;
    struct exclusion *excl;
    size_t n_excl;
};

struct relation_priv {
    struct typemap_relation pub;
    struct typemap_relation_separate *sep;
    struct pred **when; /* per separate entry, NULL: always */
};

struct typemap {
    json_t *doc;
    json_t *owned_json; /* array keeping parsed default values alive */
    void **owned;       /* every other allocation, freed at the end */
    size_t n_owned, cap_owned;
    struct typemap_type *types;
    size_t n_types;
    struct relation_priv *rels;
    size_t n_rels;
};

/* ---- names -------------------------------------------------------------- */

static const char *const scope_names[] = {
    [TYPEMAP_SCOPE_REGIONAL] = "regional",
    [TYPEMAP_SCOPE_GLOBAL] = "global",
    [TYPEMAP_SCOPE_REGION_SINGLETON] = "region_singleton",
    [TYPEMAP_SCOPE_ACCOUNT_SINGLETON] = "account_singleton",
};

static const char *const kind_names[] = {
    [TYPEMAP_KIND_STRING] = "string", [TYPEMAP_KIND_NUMBER] = "number",
    [TYPEMAP_KIND_BOOL] = "bool",     [TYPEMAP_KIND_LIST] = "list",
    [TYPEMAP_KIND_SET] = "set",       [TYPEMAP_KIND_MAP] = "map",
    [TYPEMAP_KIND_OBJECT] = "object",
};

static const char *const compare_names[] = {
    [TYPEMAP_COMPARE_EXACT] = "exact",
    [TYPEMAP_COMPARE_SET] = "set",
    [TYPEMAP_COMPARE_SET_OF_OBJECTS] = "set_of_objects",
    [TYPEMAP_COMPARE_POLICY_JSON] = "policy_json",
    [TYPEMAP_COMPARE_TAGS] = "tags",
    [TYPEMAP_COMPARE_ARN] = "arn",
    [TYPEMAP_COMPARE_CASE_INSENSITIVE] = "case_insensitive",
    [TYPEMAP_COMPARE_COMPUTED] = "computed",
    [TYPEMAP_COMPARE_DEFAULT] = "default:<value>",
};

const char *typemap_scope_name(enum typemap_scope s)
{
    return (size_t)s < ARRAY_SIZE(scope_names) ? scope_names[s] : "?";
}

const char *typemap_kind_name(enum typemap_kind k)
{
    return (size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

const char *typemap_compare_name(enum typemap_compare c)
{
    return (size_t)c < ARRAY_SIZE(compare_names) ? compare_names[c] : "?";
}

static int lookup_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && str_eq(names[i], s))
            return (int)i;
    return -1;
}

/* ---- allocation bookkeeping --------------------------------------------- */

/* Remember p so that typemap_free() releases it.  On failure p is freed and
 * NULL returned, so callers only check the result. */
static void *own(struct typemap *tm, void *p)
{
    if (!p)
        return NULL;
    if (tm->n_owned == tm->cap_owned) {
        size_t cap = tm->cap_owned ? tm->cap_owned * 2 : 64;
        void **n = realloc(tm->owned, cap * sizeof(*n));
        if (!n) {
            free(p);
            return NULL;
        }
        tm->owned = n;
        tm->cap_owned = cap;
    }
    tm->owned[tm->n_owned++] = p;
    return p;
}

static void *own_calloc(struct typemap *tm, size_t n, size_t size)
{
    return own(tm, calloc(n ? n : 1, size));
}

static char *own_printf(struct typemap *tm, const char *fmt, ...) PLUMB_PRINTF(2, 3);
static char *own_printf(struct typemap *tm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = str_vprintf(fmt, ap);
    va_end(ap);
    return own(tm, s);
}

struct typemap *typemap_free(struct typemap *tm)
{
    if (!tm)
        return NULL;
    for (size_t i = 0; i < tm->n_owned; i++)
        free(tm->owned[i]);
    free(tm->owned);
    json_decref(tm->owned_json);
    json_decref(tm->doc);
    free(tm);
    return NULL;
}

/* ---- small validation helpers ------------------------------------------- */

/* ctx is a human prefix such as "aws_instance: attribute metadata_options". */
static int fail(struct perr *err, const char *ctx, const char *fmt, ...) PLUMB_PRINTF(3, 4);
static int fail(struct perr *err, const char *ctx, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return perr_set(err, -EINVAL, "%s: %s", ctx, msg);
}

static int check_keys(const json_t *obj, const char *const *allowed, const char *ctx,
                      struct perr *err)
{
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (str_eq(key, allowed[i])) {
                ok = true;
                break;
            }
        if (!ok)
            return fail(err, ctx, "unknown key '%s'", key);
    }
    return 0;
}

/* A string member.  Absent or null gives NULL when !required. */
static int get_string(const json_t *obj, const char *key, bool required, const char **ret,
                      const char *ctx, struct perr *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, ctx, "'%s' is required", key);
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return fail(err, ctx, "'%s' must be a string", key);
    if (required && json_string_length(v) == 0)
        return fail(err, ctx, "'%s' must not be empty", key);
    *ret = json_string_value(v);
    return 0;
}

static int get_bool(const json_t *obj, const char *key, bool dflt, bool *ret, const char *ctx,
                    struct perr *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        *ret = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return fail(err, ctx, "'%s' must be true or false", key);
    *ret = json_is_true(v);
    return 0;
}

/* A NULL-terminated vector of the strings of an array member (borrowed
 * strings, owned vector).  Absent gives an empty vector. */
static int get_strv(struct typemap *tm, const json_t *obj, const char *key, char ***ret,
                    const char *ctx, struct perr *err)
{
    const json_t *v = json_object_get(obj, key);
    size_t n = v ? json_array_size(v) : 0;
    if (v && !json_is_array(v))
        return fail(err, ctx, "'%s' must be a list of strings", key);
    char **out = own_calloc(tm, n + 1, sizeof(char *));
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) == 0)
            return fail(err, ctx, "'%s' must be a list of non-empty strings", key);
        out[i] = (char *)json_string_value(s);
    }
    *ret = out;
    return 0;
}

static bool is_ident(const char *s, bool allow_at)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
              (allow_at && p == s && *p == '@')))
            return false;
    return true;
}

/* Botocore member path syntax: segments "Name" with suffixes "[]", "{}" or
 * "[\"key\"]", separated by '.'.  The empty path is the item root. */
static bool path_valid(const char *p)
{
    if (!*p)
        return true;
    for (;;) {
        const char *start = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        if (p == start)
            return false;
        for (;;) {
            if (p[0] == '[' && p[1] == ']')
                p += 2;
            else if (p[0] == '{' && p[1] == '}')
                p += 2;
            else if (p[0] == '[' && p[1] == '"') {
                const char *q = strchr(p + 2, '"');
                if (!q || q[1] != ']')
                    return false;
                p = q + 2;
            } else
                break;
        }
        if (*p == '\0')
            return true;
        if (*p != '.')
            return false;
        p++;
    }
}

static char *join_path(struct typemap *tm, const char *a, const char *b)
{
    if (!a || !*a)
        return own_printf(tm, "%s", b);
    if (!*b)
        return own_printf(tm, "%s", a);
    return own_printf(tm, "%s.%s", a, b);
}

/* ---- predicates --------------------------------------------------------- */

static const char *const pred_ops[] = {
    [OP_EQ] = "eq",         [OP_NE] = "ne",         [OP_IN] = "in",
    [OP_PREFIX] = "prefix", [OP_SUFFIX] = "suffix", [OP_CONTAINS] = "contains",
    [OP_EXISTS] = "exists",
};

static const struct typemap_attr *attr_lookup(const struct typemap_attr *attrs, size_t n,
                                              const char *path);

static bool at_field_valid(const char *f)
{
    return str_eq(f, "@id") || str_eq(f, "@arn") || str_eq(f, "@region") || str_eq(f, "@account");
}

/* Compile p from j.  t (may be NULL) is used to check attribute paths;
 * has_parent says whether {"parent": ...} is meaningful. */
static int compile_pred(struct typemap *tm, const json_t *j, const struct typemap_type *t,
                        bool has_parent, struct pred *p, const char *ctx, struct perr *err)
{
    if (!json_is_object(j) || json_object_size(j) == 0)
        return fail(err, ctx, "a condition must be a non-empty object");

    const json_t *v;
    if ((v = json_object_get(j, "all")) || (v = json_object_get(j, "any"))) {
        p->kind = json_object_get(j, "all") ? PRED_ALL : PRED_ANY;
        if (json_object_size(j) != 1)
            return fail(err, ctx, "'%s' must be the only key of its condition",
                        p->kind == PRED_ALL ? "all" : "any");
        if (!json_is_array(v) || json_array_size(v) == 0)
            return fail(err, ctx, "'%s' must be a non-empty list of conditions",
                        p->kind == PRED_ALL ? "all" : "any");
        p->n_subs = json_array_size(v);
        p->subs = own_calloc(tm, p->n_subs, sizeof(*p->subs));
        if (!p->subs)
            return -ENOMEM;
        for (size_t i = 0; i < p->n_subs; i++) {
            int r = compile_pred(tm, json_array_get(v, i), t, has_parent, &p->subs[i], ctx, err);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if ((v = json_object_get(j, "not"))) {
        if (json_object_size(j) != 1)
            return fail(err, ctx, "'not' must be the only key of its condition");
        p->kind = PRED_NOT;
        p->n_subs = 1;
        p->subs = own_calloc(tm, 1, sizeof(*p->subs));
        if (!p->subs)
            return -ENOMEM;
        return compile_pred(tm, v, t, has_parent, p->subs, ctx, err);
    }
    if ((v = json_object_get(j, "parent"))) {
        if (json_object_size(j) != 1)
            return fail(err, ctx, "'parent' must be the only key of its condition");
        if (!has_parent)
            return fail(err, ctx, "a 'parent' condition needs the type to declare a parent");
        p->kind = PRED_PARENT;
        if (str_eq(json_string_value(v), "excluded"))
            p->parent = PARENT_EXCLUDED;
        else if (str_eq(json_string_value(v), "excluded_or_unmanaged"))
            p->parent = PARENT_EXCLUDED_OR_UNMANAGED;
        else
            return fail(err, ctx, "'parent' must be \"excluded\" or \"excluded_or_unmanaged\"");
        return 0;
    }

    const json_t *a = json_object_get(j, "attr"), *tg = json_object_get(j, "tag");
    if (!a && !tg)
        return fail(err, ctx,
                    "a condition needs one of attr, tag, parent, all, any or not (got %s)",
                    json_object_iter_key(json_object_iter((json_t *)j)));
    if (a && tg)
        return fail(err, ctx, "a condition has either 'attr' or 'tag', not both");
    if (json_object_size(j) != 2)
        return fail(err, ctx, "a condition on '%s' needs exactly one operator",
                    json_string_value(a ? a : tg) ? json_string_value(a ? a : tg) : "?");
    if (!json_is_string(a ? a : tg) || json_string_length(a ? a : tg) == 0)
        return fail(err, ctx, "'%s' must be a non-empty string", a ? "attr" : "tag");
    p->kind = a ? PRED_ATTR : PRED_TAG;
    p->path = json_string_value(a ? a : tg);

    const char *key;
    const json_t *opv = NULL;
    const char *opname = NULL;
    json_object_foreach ((json_t *)j, key, v) {
        if (!str_eq(key, "attr") && !str_eq(key, "tag")) {
            opname = key;
            opv = v;
        }
    }
    int op = lookup_name(pred_ops, ARRAY_SIZE(pred_ops), opname);
    if (op < 0)
        return fail(err, ctx,
                    "unknown operator '%s' (expected eq, ne, in, prefix, suffix, contains or "
                    "exists)",
                    opname);
    p->op = (enum pred_op)op;
    p->value = opv;
    if (p->op == OP_IN && !json_is_array(opv))
        return fail(err, ctx, "'in' needs a list of values");
    if ((p->op == OP_PREFIX || p->op == OP_SUFFIX || p->op == OP_CONTAINS) && !json_is_string(opv))
        return fail(err, ctx, "'%s' needs a string", opname);
    if (p->op == OP_EXISTS) {
        if (!json_is_boolean(opv))
            return fail(err, ctx, "'exists' needs true or false");
        p->exists = json_is_true(opv);
    }

    if (p->kind == PRED_ATTR && t) {
        if (p->path[0] == '@') {
            if (!at_field_valid(p->path))
                return fail(err, ctx,
                            "unknown resource field '%s' (expected @id, @arn, "
                            "@region or @account)",
                            p->path);
        } else if (!attr_lookup(t->attrs, t->n_attrs, p->path))
            return fail(err, ctx, "condition on unknown attribute '%s'", p->path);
    }
    return 0;
}

/* Numbers compare by value (1 == 1.0); everything else with json_equal. */
static bool value_eq(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

/* Apply op to one value (NULL: absent). */
static bool op_holds(const struct pred *p, const json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    const char *w = json_is_string(p->value) ? json_string_value(p->value) : NULL;
    switch (p->op) {
    case OP_EQ:
        if (!v || json_is_null(v))
            return json_is_null(p->value);
        return value_eq(v, p->value);
    case OP_NE:
        if (!v || json_is_null(v))
            return !json_is_null(p->value);
        return !value_eq(v, p->value);
    case OP_IN: {
        size_t i;
        const json_t *e;
        json_array_foreach (p->value, i, e) {
            if (json_is_null(e) && (!v || json_is_null(v)))
                return true;
            if (v && value_eq(v, e))
                return true;
        }
        return false;
    }
    case OP_PREFIX: return s && w && str_has_prefix(s, w);
    case OP_SUFFIX: return s && w && str_has_suffix(s, w);
    case OP_CONTAINS:
        if (s && w)
            return strstr(s, w) != NULL;
        if (json_is_array(v)) {
            size_t i;
            const json_t *e;
            json_array_foreach (v, i, e)
                if (value_eq(e, p->value))
                    return true;
        }
        return false;
    case OP_EXISTS: return (v && !json_is_null(v)) == p->exists;
    }
    return false;
}

/* Walk "a[0].b[*].c" from node; call back on every value reached (any
 * semantics).  A list met where a name is expected is entered element by
 * element, so indices are optional.  Returns true as soon as the predicate
 * holds for some reached value; *reached tells whether any value exists. */
static bool walk_any(const json_t *node, const char *path, const struct pred *p, bool *reached)
{
    if (!node || json_is_null(node))
        return false;
    if (*path == '\0') {
        *reached = true;
        return op_holds(p, node);
    }
    if (*path == '.')
        path++;
    if (*path == '[') {
        const char *close = strchr(path, ']');
        if (!close || !json_is_array(node))
            return false;
        const char *rest = close + 1;
        if (close == path + 2 && path[1] == '*') {
            size_t i;
            const json_t *e;
            json_array_foreach (node, i, e)
                if (walk_any(e, rest, p, reached))
                    return true;
            return false;
        }
        char *end;
        unsigned long idx = strtoul(path + 1, &end, 10);
        if (end != close)
            return false;
        return walk_any(json_array_get(node, idx), rest, p, reached);
    }
    if (json_is_array(node)) {
        size_t i;
        const json_t *e;
        json_array_foreach (node, i, e)
            if (walk_any(e, path, p, reached))
                return true;
        return false;
    }
    if (!json_is_object(node))
        return false;
    size_t n = strcspn(path, ".[");
    char name[128];
    if (n == 0 || n >= sizeof(name))
        return false;
    memcpy(name, path, n);
    name[n] = '\0';
    return walk_any(json_object_get(node, name), path + n, p, reached);
}

static bool eval_pred(const struct pred *p, const json_t *attrs, const struct resource *r,
                      enum typemap_parent_state parent)
{
    switch (p->kind) {
    case PRED_ALL:
        for (size_t i = 0; i < p->n_subs; i++)
            if (!eval_pred(&p->subs[i], attrs, r, parent))
                return false;
        return true;
    case PRED_ANY:
        for (size_t i = 0; i < p->n_subs; i++)
            if (eval_pred(&p->subs[i], attrs, r, parent))
                return true;
        return false;
    case PRED_NOT: return !eval_pred(p->subs, attrs, r, parent);
    case PRED_PARENT:
        if (parent == TYPEMAP_PARENT_EXCLUDED)
            return true;
        return p->parent == PARENT_EXCLUDED_OR_UNMANAGED && parent == TYPEMAP_PARENT_UNMANAGED;
    case PRED_TAG: {
        const json_t *v = r ? json_object_get(r->tags, p->path) : NULL;
        return op_holds(p, v);
    }
    case PRED_ATTR: break;
    }
    if (p->path[0] == '@') {
        const char *s = NULL;
        if (r) {
            if (str_eq(p->path, "@id"))
                s = r->id;
            else if (str_eq(p->path, "@arn"))
                s = r->arn;
            else if (str_eq(p->path, "@region"))
                s = r->region;
            else if (str_eq(p->path, "@account"))
                s = r->account;
        }
        json_t *tmp = s ? json_string(s) : NULL;
        bool res = op_holds(p, tmp);
        json_decref(tmp);
        return res;
    }
    bool reached = false;
    bool res = walk_any(attrs, p->path, p, &reached);
    if (reached)
        return res;
    /* Nothing there: the operators decide what absence means. */
    return op_holds(p, NULL);
}

/* ---- templates ---------------------------------------------------------- */

static const char *const filters[] = { "lower", "last_segment", "first_csv", "before_colon", NULL };

/* Check "{name|filter}" placeholders: each name must satisfy name_ok. */
static int check_template(const char *tpl, const struct typemap_type *t, bool arn, const char *ctx,
                          struct perr *err)
{
    const char *p = tpl;
    while ((p = strchr(p, '{'))) {
        const char *close = strchr(p, '}');
        if (!close)
            return fail(err, ctx, "template '%s': unclosed '{'", tpl);
        char inner[128];
        size_t n = (size_t)(close - p - 1);
        if (n == 0 || n >= sizeof(inner))
            return fail(err, ctx, "template '%s': empty or overlong placeholder", tpl);
        memcpy(inner, p + 1, n);
        inner[n] = '\0';
        char *bar = strchr(inner, '|');
        char *filt = NULL;
        if (bar) {
            *bar = '\0';
            filt = bar + 1;
        }
        bool builtin =
            str_eq(inner, "id") || (arn && (str_eq(inner, "partition") || str_eq(inner, "region") ||
                                            str_eq(inner, "account")));
        if (!builtin && !attr_lookup(t->attrs, t->n_attrs, inner))
            return fail(err, ctx, "template '%s': unknown attribute '%s'", tpl, inner);
        while (filt) {
            char *next = strchr(filt, '|');
            if (next)
                *next++ = '\0';
            bool ok = false;
            for (size_t i = 0; filters[i]; i++)
                ok = ok || str_eq(filt, filters[i]);
            if (!ok)
                return fail(err, ctx,
                            "template '%s': unknown filter '%s' (expected lower, last_segment, "
                            "first_csv or before_colon)",
                            tpl, filt);
            filt = next;
        }
        p = close + 1;
    }
    return 0;
}

/* A value for a placeholder: builtins first, then the attribute (strings
 * and integers).  NULL when absent or empty. */
struct tvars {
    const char *partition, *region, *account, *id;
    const json_t *attrs;
    bool arn;
};

/* Copy the value of placeholder name into out.  Returns 1 for an ARN
 * builtin that may legitimately be empty (the region of a global resource,
 * the account of an S3 bucket), 0 for other values, -ENODATA when there is
 * none, -E2BIG when it does not fit. */
static int placeholder_value(const struct tvars *vars, const char *name, char *out, size_t size)
{
    const char *s = NULL;
    int builtin = 0;
    if (vars->arn) {
        builtin = 1;
        if (str_eq(name, "partition"))
            s = vars->partition;
        else if (str_eq(name, "region"))
            s = vars->region;
        else if (str_eq(name, "account"))
            s = vars->account;
        else if (str_eq(name, "id"))
            s = vars->id;
        else
            builtin = 0;
        if (builtin && str_eq(name, "id"))
            builtin = 0; /* the id is never empty */
    }
    if (!s && !builtin) {
        const json_t *v = json_object_get(vars->attrs, name);
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v)) {
            snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            return 0;
        }
    }
    if (!s || (!*s && !builtin))
        return -ENODATA;
    if (strlen(s) >= size)
        return -E2BIG;
    memcpy(out, s, strlen(s) + 1);
    return builtin;
}

static void apply_filter(char *v, const char *filt)
{
    if (str_eq(filt, "lower"))
        str_lower(v);
    else if (str_eq(filt, "last_segment")) {
        char *slash = strrchr(v, '/');
        if (slash)
            memmove(v, slash + 1, strlen(slash + 1) + 1);
    } else if (str_eq(filt, "first_csv")) {
        char *c = strchr(v, ',');
        if (c)
            *c = '\0';
    } else if (str_eq(filt, "before_colon")) {
        char *c = strchr(v, ':');
        if (c)
            *c = '\0';
    }
}

/* Expand a validated template.  -ENODATA names the missing placeholder in
 * *ret_missing (static storage of the caller: a buffer of 128 bytes). */
static int expand_template(const char *tpl, const struct tvars *vars, char **ret, char *missing)
{
    struct buf b;
    int r = 0;
    buf_init(&b, 64 * 1024);
    const char *p = tpl;
    while (*p) {
        if (*p != '{') {
            const char *next = strchr(p, '{');
            size_t n = next ? (size_t)(next - p) : strlen(p);
            if ((r = buf_append(&b, p, n)) < 0)
                goto fail;
            p += n;
            continue;
        }
        const char *close = strchr(p, '}');
        char inner[128], value[4096];
        size_t n = (size_t)(close - p - 1);
        memcpy(inner, p + 1, n);
        inner[n] = '\0';
        char *filt = strchr(inner, '|');
        if (filt)
            *filt++ = '\0';
        r = placeholder_value(vars, inner, value, sizeof(value));
        if (r < 0) {
            if (missing)
                snprintf(missing, 128, "%s", inner);
            goto fail;
        }
        bool may_be_empty = r == 1;
        while (filt) {
            char *next = strchr(filt, '|');
            if (next)
                *next++ = '\0';
            apply_filter(value, filt);
            filt = next;
        }
        if (!*value && !may_be_empty) {
            if (missing)
                snprintf(missing, 128, "%s", inner);
            r = -ENODATA;
            goto fail;
        }
        if ((r = buf_append_str(&b, value)) < 0)
            goto fail;
        p = close + 1;
    }
    char *s = buf_steal(&b, NULL);
    if (!s) {
        r = -ENOMEM;
        goto fail;
    }
    *ret = s;
    return 0;
fail:
    buf_free(&b);
    return r;
}

/* ---- parsing the table -------------------------------------------------- */

static const char *const type_keys[] = {
    "type",   "aws_type",      "service",          "collector",  "scope",
    "config", "declared_only", "declared_aliases", "unmanaged",  "parent",
    "id",     "arn",           "operations",       "attributes", "unmanaged_exclude",
    "note",   "note2",         "filter",           NULL
};
static const char *const attr_keys[] = { "kind",       "from",      "select",
                                         "csv_column", "config",    "config_verified",
                                         "compare",    "key",       "location",
                                         "plumb_only", "max_items", "attributes",
                                         "controls",   "note",      NULL };
static const char *const id_keys[] = { "live", "import", "from", "state", "match", "region", NULL };
static const char *const arn_keys[] = { "template", "from", "csv_column", "note", NULL };
static const char *const config_keys[] = { "type", "mirrors", "case", NULL };
static const char *const parent_keys[] = { "type", "attr", NULL };
static const char *const excl_keys[] = { "reason", "when", NULL };
static const char *const filter_keys[] = { "note", "from", "eq", NULL };

struct parse_ctx {
    struct typemap *tm;
    struct typemap_type *t;
    const json_t *ops; /* operations object */
    const char *config_mirrors;
    const char *config_case; /* "lower", "as_is", "upper" */
    struct perr *err;
};

static char *recase(struct typemap *tm, const char *path, const char *mode)
{
    char *s = own_printf(tm, "%s", path);
    if (!s || str_eq(mode, "as_is"))
        return s;
    bool start = true;
    for (char *p = s; *p; p++) {
        if (start && isalpha((unsigned char)*p))
            *p = str_eq(mode, "upper") ? (char)toupper((unsigned char)*p)
                                       : (char)tolower((unsigned char)*p);
        start = *p == '.';
    }
    return s;
}

/* Resolve one "from" reference.  parent: the enclosing attribute's first
 * source (relative references), or NULL at top level. */
static int resolve_source(struct parse_ctx *pc, const char *ref,
                          const struct typemap_source *parent, struct typemap_source *out,
                          const char **ret_rel, const char *ctx)
{
    const char *colon = strchr(ref, ':');
    const char *quote = strchr(ref, '"');
    if (colon && (!quote || colon < quote)) {
        size_t n = (size_t)(colon - ref);
        char op[128];
        if (n == 0 || n >= sizeof(op))
            return fail(pc->err, ctx, "from '%s': empty operation name", ref);
        memcpy(op, ref, n);
        op[n] = '\0';
        const json_t *root = json_object_get(pc->ops, op);
        if (!root)
            return fail(pc->err, ctx, "from '%s': operation %s is not listed in operations", ref,
                        op);
        if (!path_valid(colon + 1))
            return fail(pc->err, ctx, "from '%s': malformed member path", ref);
        out->op = json_object_iter_key(json_object_iter_at((json_t *)pc->ops, op));
        out->path = join_path(pc->tm, json_string_value(root), colon + 1);
        if (!out->path)
            return -ENOMEM;
        *ret_rel = colon + 1;
        return 1; /* absolute */
    }
    if (!parent)
        return fail(pc->err, ctx,
                    "from '%s' is relative but the attribute has no enclosing source (write "
                    "Operation:Path)",
                    ref);
    if (!path_valid(ref))
        return fail(pc->err, ctx, "from '%s': malformed member path", ref);
    out->op = parent->op;
    out->path = join_path(pc->tm, parent->path, ref);
    if (!out->path)
        return -ENOMEM;
    *ret_rel = ref;
    return 0; /* relative */
}

static bool is_config_root(const char *c)
{
    return str_has_prefix(c, "configuration") || str_has_prefix(c, "supplementaryConfiguration") ||
           str_eq(c, "tags") || str_eq(c, "resourceName") || str_eq(c, "resourceId") ||
           str_eq(c, "arn");
}

static int parse_attrs(struct parse_ctx *pc, const json_t *obj, const struct typemap_attr *parent,
                       const char *parent_config, struct typemap_attr **ret, size_t *ret_n,
                       const char *ctx);

static int parse_attr(struct parse_ctx *pc, const char *name, const json_t *j,
                      const struct typemap_attr *parent, const char *parent_config,
                      struct typemap_attr *a, const char *pctx)
{
    struct typemap *tm = pc->tm;
    struct perr *err = pc->err;
    char ctx[256];
    int r;

    snprintf(ctx, sizeof(ctx), "%s%s%s", pctx, parent ? "." : ": attribute ", name);
    a->name = name;
    a->parent = parent;
    if (!is_ident(name, false))
        return fail(err, ctx, "attribute names are lower-case letters, digits and '_'");
    if (!json_is_object(j))
        return fail(err, ctx, "must be an object");
    if ((r = check_keys(j, attr_keys, ctx, err)) < 0)
        return r;

    const char *s;
    if ((r = get_string(j, "kind", true, &s, ctx, err)) < 0)
        return r;
    int k = lookup_name(kind_names, ARRAY_SIZE(kind_names), s);
    if (k < 0)
        return fail(err, ctx,
                    "unknown kind '%s' (expected string, number, bool, list, set, map or object)",
                    s);
    a->kind = (enum typemap_kind)k;

    if ((r = get_string(j, "compare", true, &s, ctx, err)) < 0)
        return r;
    if (str_has_prefix(s, "default:")) {
        const char *v = s + strlen("default:");
        json_t *dv = json_loads(v, JSON_DECODE_ANY, NULL);
        if (dv && (json_is_object(dv) || json_is_array(dv))) {
            json_decref(dv);
            return fail(err, ctx, "compare '%s': the default must be a scalar", s);
        }
        if (!dv)
            dv = json_string(v);
        if (!dv || json_array_append_new(tm->owned_json, dv) < 0)
            return -ENOMEM;
        a->compare = TYPEMAP_COMPARE_DEFAULT;
        a->default_value = dv;
    } else {
        int c = lookup_name(compare_names, ARRAY_SIZE(compare_names) - 1, s);
        if (c < 0)
            return fail(err, ctx,
                        "unknown compare '%s' (expected exact, set, set_of_objects, policy_json, "
                        "tags, arn, case_insensitive, computed or default:<value>)",
                        s);
        a->compare = (enum typemap_compare)c;
    }

    if ((r = get_bool(j, "plumb_only", false, &a->plumb_only, ctx, err)) < 0)
        return r;
    if (a->plumb_only && a->compare != TYPEMAP_COMPARE_COMPUTED)
        return fail(err, ctx, "plumb_only attributes must use compare computed");
    if ((r = get_bool(j, "config_verified", true, &a->config_verified, ctx, err)) < 0)
        return r;
    if (parent && !parent->config_verified)
        a->config_verified = false;
    if ((r = get_string(j, "note", false, &a->note, ctx, err)) < 0)
        return r;
    if ((r = get_string(j, "csv_column", false, &a->csv_column, ctx, err)) < 0)
        return r;
    if ((r = get_strv(tm, j, "controls", &a->controls, ctx, err)) < 0)
        return r;
    for (char **c = a->controls; *c; c++) {
        const char *dash = strchr(*c, '-');
        if (!dash || dash == *c)
            return fail(err, ctx, "control id '%s' is not of the form area-name", *c);
        for (const char *p = *c; *p; p++)
            if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
                return fail(err, ctx, "control id '%s' is not of the form area-name", *c);
    }

    const json_t *loc = json_object_get(j, "location");
    if (loc) {
        if (!str_eq(json_string_value(loc), "tags"))
            return fail(err, ctx, "location must be \"tags\"");
        a->in_tags = true;
    }
    if (a->compare == TYPEMAP_COMPARE_TAGS && (a->kind != TYPEMAP_KIND_MAP || !a->in_tags))
        return fail(err, ctx, "compare tags needs kind map and location \"tags\"");
    if (a->in_tags && a->compare != TYPEMAP_COMPARE_TAGS)
        return fail(err, ctx, "location \"tags\" needs compare tags");

    const json_t *mi = json_object_get(j, "max_items");
    if (mi) {
        if (!json_is_integer(mi) || json_integer_value(mi) < 1 || json_integer_value(mi) > 1000)
            return fail(err, ctx, "max_items must be a positive integer");
        if (a->kind != TYPEMAP_KIND_LIST && a->kind != TYPEMAP_KIND_SET)
            return fail(err, ctx, "max_items needs kind list or set");
        a->max_items = (int)json_integer_value(mi);
    }

    /* Sources. */
    const json_t *from = json_object_get(j, "from");
    if (!from)
        return fail(err, ctx, "'from' is required (null when derived)");
    size_t nf = json_is_array(from) ? json_array_size(from) : json_is_null(from) ? 0 : 1;
    if (!json_is_array(from) && !json_is_null(from) && !json_is_string(from))
        return fail(err, ctx, "'from' must be a string, a list of strings or null");
    struct typemap_source *src = own_calloc(tm, nf, sizeof(*src));
    if (!src)
        return -ENOMEM;
    const struct typemap_source *psrc = parent && parent->n_sources ? &parent->sources[0] : NULL;
    const char *first_rel = NULL;
    int first_abs = -1;
    for (size_t i = 0; i < nf; i++) {
        const json_t *f = json_is_array(from) ? json_array_get(from, i) : from;
        if (!json_is_string(f))
            return fail(err, ctx, "'from' must be a string, a list of strings or null");
        const char *rel;
        r = resolve_source(pc, json_string_value(f), psrc, &src[i], &rel, ctx);
        if (r < 0)
            return r;
        if (i == 0) {
            first_rel = rel;
            first_abs = r;
        }
    }
    a->sources = src;
    a->n_sources = nf;

    const json_t *sel = json_object_get(j, "select");
    if (sel) {
        const char *key;
        const json_t *v;
        if (!json_is_object(sel) || json_object_size(sel) != 1)
            return fail(err, ctx, "select must be an object with one member");
        json_object_foreach ((json_t *)sel, key, v) {
            if (!json_is_string(v))
                return fail(err, ctx, "select value must be a string");
            a->select_member = key;
            a->select_value = json_string_value(v);
        }
        if (nf == 0)
            return fail(err, ctx, "select needs a 'from'");
    }

    /* Config path. */
    const json_t *cfg = json_object_get(j, "config");
    if (cfg) {
        if (json_is_null(cfg))
            a->config_path = NULL;
        else if (!json_is_string(cfg) || json_string_length(cfg) == 0)
            return fail(err, ctx, "config must be a non-empty string or null");
        else if (!pc->t->config_type)
            return fail(err, ctx, "config path given but the type is not recorded by AWS Config");
        else if (parent && !is_config_root(json_string_value(cfg))) {
            if (!parent_config)
                return fail(err, ctx, "relative config path but the enclosing block has none");
            a->config_path = join_path(tm, parent_config, json_string_value(cfg));
            if (!a->config_path)
                return -ENOMEM;
        } else
            a->config_path = json_string_value(cfg);
    } else if (pc->t->config_type) {
        if (a->in_tags)
            a->config_path = "tags";
        else if (first_abs == 1 && pc->config_mirrors && str_eq(src[0].op, pc->config_mirrors)) {
            char *rc = recase(tm, first_rel, pc->config_case);
            if (!rc || !(a->config_path = join_path(tm, "configuration", rc)))
                return -ENOMEM;
        } else if (first_abs == 0 && parent_config) {
            char *rc = recase(tm, first_rel, pc->config_case);
            if (!rc || !(a->config_path = join_path(tm, parent_config, rc)))
                return -ENOMEM;
        }
    }

    /* Nested attributes and set keys. */
    const json_t *nested = json_object_get(j, "attributes");
    if (nested) {
        if (a->kind != TYPEMAP_KIND_LIST && a->kind != TYPEMAP_KIND_SET &&
            a->kind != TYPEMAP_KIND_MAP && a->kind != TYPEMAP_KIND_OBJECT)
            return fail(err, ctx, "nested attributes need kind list, set, map or object");
        struct typemap_attr *sub;
        size_t nsub;
        if ((r = parse_attrs(pc, nested, a, a->config_path, &sub, &nsub, ctx)) < 0)
            return r;
        a->attrs = sub;
        a->n_attrs = nsub;
    }
    if (a->compare == TYPEMAP_COMPARE_SET_OF_OBJECTS) {
        if (a->kind != TYPEMAP_KIND_LIST && a->kind != TYPEMAP_KIND_SET)
            return fail(err, ctx, "compare set_of_objects needs kind list or set");
        if (!a->n_attrs)
            return fail(err, ctx, "compare set_of_objects needs nested attributes");
    }
    const json_t *key = json_object_get(j, "key");
    if (key) {
        if (a->compare != TYPEMAP_COMPARE_SET_OF_OBJECTS)
            return fail(err, ctx, "'key' is only used with compare set_of_objects");
        if ((r = get_strv(tm, j, "key", &a->key, ctx, err)) < 0)
            return r;
        if (!a->key[0])
            return fail(err, ctx, "'key' must name at least one nested attribute");
        for (char **kk = a->key; *kk; kk++)
            if (!attr_lookup(a->attrs, a->n_attrs, *kk))
                return fail(err, ctx, "key '%s' is not a nested attribute", *kk);
    }
    return 0;
}

static int parse_attrs(struct parse_ctx *pc, const json_t *obj, const struct typemap_attr *parent,
                       const char *parent_config, struct typemap_attr **ret, size_t *ret_n,
                       const char *ctx)
{
    if (!json_is_object(obj) || json_object_size(obj) == 0)
        return fail(pc->err, ctx, "'attributes' must be a non-empty object");
    size_t n = json_object_size(obj);
    struct typemap_attr *attrs = own_calloc(pc->tm, n, sizeof(*attrs));
    if (!attrs)
        return -ENOMEM;
    size_t i = 0;
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        int r = parse_attr(pc, key, v, parent, parent_config, &attrs[i], ctx);
        if (r < 0)
            return r;
        i++;
    }
    *ret = attrs;
    *ret_n = n;
    return 0;
}

static int parse_type_source(struct parse_ctx *pc, const json_t *obj, const char *what,
                             const struct typemap_source **ret, const char *ctx)
{
    const char *ref;
    int r = get_string(obj, "from", false, &ref, ctx, pc->err);
    if (r < 0)
        return r;
    if (!ref) {
        *ret = NULL;
        return 0;
    }
    struct typemap_source *s = own_calloc(pc->tm, 1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    const char *rel;
    char c[384];
    snprintf(c, sizeof(c), "%s: %s", ctx, what);
    if ((r = resolve_source(pc, ref, NULL, s, &rel, c)) < 0)
        return r;
    *ret = s;
    return 0;
}

/* First pass over one type: everything that does not refer to other types. */
static int parse_type(struct typemap *tm, const json_t *j, size_t index, struct typemap_type *t,
                      struct perr *err)
{
    char ctx[256];
    const char *s;
    int r;

    snprintf(ctx, sizeof(ctx), "types[%zu]", index);
    if (!json_is_object(j))
        return fail(err, ctx, "must be an object");
    if ((r = get_string(j, "type", true, &t->type, ctx, err)) < 0)
        return r;
    if (!(str_has_prefix(t->type, "aws_") || str_has_prefix(t->type, "plumb_")) ||
        !is_ident(t->type, false))
        return fail(err, ctx, "type '%s' must be aws_<name> or plumb_<name> in lower case",
                    t->type);
    snprintf(ctx, sizeof(ctx), "%s", t->type);
    if ((r = check_keys(j, type_keys, ctx, err)) < 0)
        return r;

    if ((r = get_string(j, "aws_type", false, &t->aws_type, ctx, err)) < 0)
        return r;
    if (!json_object_get(j, "aws_type"))
        return fail(err, ctx, "'aws_type' is required (null when there is none)");
    if (t->aws_type && !str_has_prefix(t->aws_type, "AWS::"))
        return fail(err, ctx, "aws_type '%s' must start with AWS::", t->aws_type);
    if ((r = get_string(j, "service", true, &t->service, ctx, err)) < 0)
        return r;
    if ((r = get_bool(j, "declared_only", false, &t->declared_only, ctx, err)) < 0)
        return r;
    if (!json_object_get(j, "collector"))
        return fail(err, ctx, "'collector' is required (null for declared_only types)");
    if ((r = get_string(j, "collector", false, &t->collector, ctx, err)) < 0)
        return r;
    if (t->declared_only && t->collector)
        return fail(err, ctx, "declared_only types have no collector");
    if (!t->declared_only && !t->collector)
        return fail(err, ctx, "'collector' is required (null for declared_only types)");
    if (t->collector && !str_has_prefix(t->collector, "collect_"))
        return fail(err, ctx, "collector '%s' must be a collect_<name> module", t->collector);
    if ((r = get_string(j, "scope", true, &s, ctx, err)) < 0)
        return r;
    int sc = lookup_name(scope_names, ARRAY_SIZE(scope_names), s);
    if (sc < 0)
        return fail(err, ctx,
                    "unknown scope '%s' (expected regional, global, region_singleton or "
                    "account_singleton)",
                    s);
    t->scope = (enum typemap_scope)sc;
    bool plumb = str_has_prefix(t->type, "plumb_");
    if ((r = get_bool(j, "unmanaged", !plumb && !t->declared_only, &t->unmanaged, ctx, err)) < 0)
        return r;
    if (plumb && t->unmanaged)
        return fail(err, ctx, "plumb_* types are not Terraform resources: unmanaged must be false");
    if ((r = get_strv(tm, j, "declared_aliases", &t->aliases, ctx, err)) < 0)
        return r;

    struct parse_ctx pc = { .tm = tm, .t = t, .err = err, .config_case = "lower" };
    pc.ops = json_object_get(j, "operations");
    if (!pc.ops || !json_is_object(pc.ops))
        return fail(err, ctx, "'operations' must be an object (empty for declared_only types)");
    {
        const char *op;
        const json_t *root;
        json_object_foreach ((json_t *)pc.ops, op, root) {
            if (!*op || !isupper((unsigned char)op[0]))
                return fail(err, ctx, "operation '%s' must be an API operation name", op);
            if (!json_is_string(root) || !path_valid(json_string_value(root)))
                return fail(err, ctx, "operations: the item root of %s is not a member path", op);
        }
    }
    {
        struct typemap_source *ops = own_calloc(tm, json_object_size(pc.ops), sizeof(*ops));
        const char *op;
        const json_t *root;
        if (!ops)
            return -ENOMEM;
        json_object_foreach ((json_t *)pc.ops, op, root) {
            ops[t->n_ops].op = op;
            ops[t->n_ops].path = json_string_value(root);
            t->n_ops++;
        }
        t->ops = ops;
    }
    if (!t->declared_only && json_object_size(pc.ops) == 0)
        return fail(err, ctx, "'operations' must list at least one API operation");

    const json_t *cfg = json_object_get(j, "config");
    if (!cfg)
        return fail(err, ctx, "'config' is required (null when AWS Config does not record it)");
    if (!json_is_null(cfg)) {
        char c[384];
        snprintf(c, sizeof(c), "%s: config", ctx);
        if (!json_is_object(cfg))
            return fail(err, c, "must be an object or null");
        if ((r = check_keys(cfg, config_keys, c, err)) < 0)
            return r;
        if ((r = get_string(cfg, "type", true, &t->config_type, c, err)) < 0)
            return r;
        if (!str_has_prefix(t->config_type, "AWS::"))
            return fail(err, c, "type '%s' must start with AWS::", t->config_type);
        if ((r = get_string(cfg, "mirrors", false, &pc.config_mirrors, c, err)) < 0)
            return r;
        if (pc.config_mirrors && !json_object_get(pc.ops, pc.config_mirrors))
            return fail(err, c, "mirrors %s, which is not listed in operations", pc.config_mirrors);
        const char *cs;
        if ((r = get_string(cfg, "case", false, &cs, c, err)) < 0)
            return r;
        if (cs) {
            if (!str_eq(cs, "lower") && !str_eq(cs, "as_is") && !str_eq(cs, "upper"))
                return fail(err, c, "case must be lower, as_is or upper");
            pc.config_case = cs;
        }
    }

    /* Attributes before the id and arn rules, which refer to them. */
    struct typemap_attr *attrs;
    if ((r = parse_attrs(&pc, json_object_get(j, "attributes"), NULL, NULL, &attrs, &t->n_attrs,
                         ctx)) < 0)
        return r;
    t->attrs = attrs;

    struct typemap_type_rules *rules = own_calloc(tm, 1, sizeof(*rules));
    if (!rules)
        return -ENOMEM;
    t->rules = rules;

    const json_t *id = json_object_get(j, "id");
    char c[384];
    snprintf(c, sizeof(c), "%s: id", ctx);
    if (!id || !json_is_object(id))
        return fail(err, ctx, "'id' must be an object");
    if ((r = check_keys(id, id_keys, c, err)) < 0)
        return r;
    if ((r = get_string(id, "live", true, &t->id_live, c, err)) < 0 ||
        (r = get_string(id, "import", true, &t->id_import, c, err)) < 0 ||
        (r = get_string(id, "match", false, &t->match_type, c, err)) < 0)
        return r;
    if (t->declared_only && !t->match_type)
        return fail(err, c, "declared_only types must name the type they 'match'");
    if (!t->declared_only && t->match_type)
        return fail(err, c, "'match' is only for declared_only types");
    if (!t->match_type)
        t->match_type = t->type;
    if ((r = parse_type_source(&pc, id, "id.from", &t->id_source, ctx)) < 0)
        return r;
    const json_t *state = json_object_get(id, "state");
    if (!json_is_array(state))
        return fail(err, c, "'state' must be a list of templates");
    if (plumb && json_array_size(state) > 0)
        return fail(err, c, "plumb_* types are not declared in Terraform: 'state' must be empty");
    if (!plumb && json_array_size(state) == 0)
        return fail(err, c, "'state' needs at least one template");
    rules->n_state = json_array_size(state);
    rules->state = own_calloc(tm, rules->n_state, sizeof(*rules->state));
    if (!rules->state)
        return -ENOMEM;
    for (size_t i = 0; i < rules->n_state; i++) {
        const json_t *e = json_array_get(state, i);
        struct state_template *st = &rules->state[i];
        if (json_is_object(e)) {
            const json_t *cond = json_object_get(e, "if");
            const json_t *tpl = json_object_get(e, "template");
            if (!cond || !json_is_string(tpl) || json_object_size(e) != 2)
                return fail(err, c, "a conditional template is {\"if\": ..., \"template\": ...}");
            st->cond = own_calloc(tm, 1, sizeof(*st->cond));
            if (!st->cond)
                return -ENOMEM;
            if ((r = compile_pred(tm, cond, t, false, st->cond, c, err)) < 0)
                return r;
            st->text = json_string_value(tpl);
        } else if (json_is_string(e))
            st->text = json_string_value(e);
        else
            return fail(err, c, "'state' entries are templates or conditional templates");
        if (!*st->text)
            return fail(err, c, "empty template");
        if ((r = check_template(st->text, t, false, c, err)) < 0)
            return r;
    }

    const json_t *region = json_object_get(id, "region");
    if (region) {
        if (!json_is_array(region) || json_array_size(region) == 0)
            return fail(err, c, "'region' must be a non-empty list of templates");
        if (t->scope == TYPEMAP_SCOPE_GLOBAL || t->scope == TYPEMAP_SCOPE_ACCOUNT_SINGLETON)
            return fail(err, c, "'region' makes no sense for a %s type",
                        typemap_scope_name(t->scope));
        rules->n_region = json_array_size(region);
        rules->region = own_calloc(tm, rules->n_region, sizeof(*rules->region));
        if (!rules->region)
            return -ENOMEM;
        for (size_t i = 0; i < rules->n_region; i++) {
            const json_t *e = json_array_get(region, i);
            if (!json_is_string(e) || json_string_length(e) == 0)
                return fail(err, c, "'region' entries are templates");
            rules->region[i] = json_string_value(e);
            if ((r = check_template(rules->region[i], t, false, c, err)) < 0)
                return r;
        }
    }

    const json_t *arn = json_object_get(j, "arn");
    snprintf(c, sizeof(c), "%s: arn", ctx);
    if (!arn)
        return fail(err, ctx, "'arn' is required (null when the type has none)");
    if (!json_is_null(arn)) {
        if (!json_is_object(arn))
            return fail(err, c, "must be an object or null");
        if ((r = check_keys(arn, arn_keys, c, err)) < 0)
            return r;
        if ((r = get_string(arn, "template", false, &t->arn_template, c, err)) < 0)
            return r;
        if (t->arn_template) {
            if (!str_has_prefix(t->arn_template, "arn:{partition}:"))
                return fail(err, c,
                            "template '%s' must start with arn:{partition}:", t->arn_template);
            if ((r = check_template(t->arn_template, t, true, c, err)) < 0)
                return r;
        }
        if ((r = parse_type_source(&pc, arn, "arn.from", &t->arn_source, ctx)) < 0)
            return r;
    }

    const json_t *excl = json_object_get(j, "unmanaged_exclude");
    rules->n_excl = excl ? json_array_size(excl) : 0;
    if (excl && !json_is_array(excl))
        return fail(err, ctx, "'unmanaged_exclude' must be a list");
    rules->excl = own_calloc(tm, rules->n_excl, sizeof(*rules->excl));
    if (!rules->excl)
        return -ENOMEM;
    /* parent is parsed in the second pass; predicates on it need to know
     * whether one is declared. */
    bool has_parent = json_object_get(j, "parent") != NULL;
    for (size_t i = 0; i < rules->n_excl; i++) {
        const json_t *e = json_array_get(excl, i);
        snprintf(c, sizeof(c), "%s: unmanaged_exclude[%zu]", ctx, i);
        if (!json_is_object(e))
            return fail(err, c, "must be an object");
        if ((r = check_keys(e, excl_keys, c, err)) < 0)
            return r;
        if ((r = get_string(e, "reason", true, &rules->excl[i].reason, c, err)) < 0)
            return r;
        const json_t *when = json_object_get(e, "when");
        if (!when)
            return fail(err, c, "'when' is required");
        if ((r = compile_pred(tm, when, t, has_parent, &rules->excl[i].when, c, err)) < 0)
            return r;
    }

    const json_t *filter = json_object_get(j, "filter");
    if (filter) {
        snprintf(c, sizeof(c), "%s: filter", ctx);
        if (!json_is_object(filter))
            return fail(err, c, "must be an object");
        if ((r = check_keys(filter, filter_keys, c, err)) < 0)
            return r;
        if ((r = parse_type_source(&pc, filter, "filter.from", &t->filter_source, ctx)) < 0)
            return r;
        t->filter_value = json_object_get(filter, "eq");
        if (!t->filter_source || !t->filter_value)
            return fail(err, c, "needs 'from' and 'eq'");
    }
    const char *note2;
    if ((r = get_string(j, "note", false, &t->note, ctx, err)) < 0 ||
        (r = get_string(j, "note2", false, &note2, ctx, err)) < 0)
        return r;
    return 0;
}

static const struct typemap_type *find_exact(const struct typemap *tm, const char *type)
{
    for (size_t i = 0; i < tm->n_types; i++)
        if (str_eq(tm->types[i].type, type))
            return &tm->types[i];
    return NULL;
}

/* Second pass: references between types and uniqueness. */
static int link_type(struct typemap *tm, const json_t *j, struct typemap_type *t, struct perr *err)
{
    const char *ctx = t->type;
    int r;

    for (struct typemap_type *o = tm->types; o < t; o++) {
        if (str_eq(o->type, t->type))
            return fail(err, ctx, "duplicate type");
        if (t->aws_type && str_eq(o->aws_type, t->aws_type))
            return fail(err, ctx, "aws_type %s is already the aws_type of %s", t->aws_type,
                        o->type);
        for (char **a = t->aliases; *a; a++)
            if (str_eq(o->type, *a) || strv_contains(o->aliases, *a))
                return fail(err, ctx, "declared alias %s is already used by %s", *a, o->type);
    }
    for (char **a = t->aliases; *a; a++)
        if (find_exact(tm, *a))
            return fail(err, ctx, "declared alias %s is itself a type of the table", *a);

    if (t->declared_only) {
        const struct typemap_type *m = find_exact(tm, t->match_type);
        if (!m)
            return fail(err, ctx, "id: match names unknown type %s", t->match_type);
        if (m->declared_only)
            return fail(err, ctx, "id: match names %s, which is itself declared_only",
                        t->match_type);
    }

    const json_t *parent = json_object_get(j, "parent");
    if (parent) {
        char c[384];
        snprintf(c, sizeof(c), "%s: parent", ctx);
        if (!json_is_object(parent))
            return fail(err, c, "must be an object");
        if ((r = check_keys(parent, parent_keys, c, err)) < 0)
            return r;
        if ((r = get_string(parent, "type", true, &t->parent_type, c, err)) < 0 ||
            (r = get_string(parent, "attr", true, &t->parent_attr, c, err)) < 0)
            return r;
        if (!find_exact(tm, t->parent_type))
            return fail(err, c, "unknown type %s", t->parent_type);
        if (str_eq(t->parent_type, t->type))
            return fail(err, c, "a type cannot be its own parent");
        if (!attr_lookup(t->attrs, t->n_attrs, t->parent_attr))
            return fail(err, c, "attr '%s' is not an attribute of %s", t->parent_attr, t->type);
    }
    return 0;
}

static const char *const rel_keys[] = { "parent", "inline", "join", "separate", NULL };
static const char *const sep_keys[] = { "type", "when", NULL };

static int parse_relations(struct typemap *tm, const json_t *rels, struct perr *err)
{
    int r;
    if (!rels) {
        tm->n_rels = 0;
        return 0;
    }
    if (!json_is_array(rels))
        return fail(err, "relations", "must be a list");
    tm->n_rels = json_array_size(rels);
    tm->rels = own_calloc(tm, tm->n_rels, sizeof(*tm->rels));
    if (!tm->rels)
        return -ENOMEM;
    for (size_t i = 0; i < tm->n_rels; i++) {
        const json_t *j = json_array_get(rels, i);
        struct relation_priv *rp = &tm->rels[i];
        char c[384];
        const char *s;
        snprintf(c, sizeof(c), "relations[%zu]", i);
        if (!json_is_object(j))
            return fail(err, c, "must be an object");
        if ((r = check_keys(j, rel_keys, c, err)) < 0)
            return r;
        if ((r = get_string(j, "parent", true, &s, c, err)) < 0)
            return r;
        rp->pub.parent = find_exact(tm, s);
        if (!rp->pub.parent)
            return fail(err, c, "unknown parent type %s", s);
        if ((r = get_string(j, "inline", true, &s, c, err)) < 0)
            return r;
        rp->pub.inline_attr = attr_lookup(rp->pub.parent->attrs, rp->pub.parent->n_attrs, s);
        if (!rp->pub.inline_attr)
            return fail(err, c, "inline '%s' is not an attribute of %s", s, rp->pub.parent->type);
        if ((r = get_string(j, "join", true, &rp->pub.join, c, err)) < 0)
            return r;
        const json_t *sep = json_object_get(j, "separate");
        if (!json_is_array(sep) || json_array_size(sep) == 0)
            return fail(err, c, "'separate' must be a non-empty list");
        rp->pub.n_separate = json_array_size(sep);
        rp->sep = own_calloc(tm, rp->pub.n_separate, sizeof(*rp->sep));
        rp->when = own_calloc(tm, rp->pub.n_separate, sizeof(*rp->when));
        if (!rp->sep || !rp->when)
            return -ENOMEM;
        rp->pub.separate = rp->sep;
        for (size_t k = 0; k < rp->pub.n_separate; k++) {
            const json_t *e = json_array_get(sep, k);
            char cc[512];
            snprintf(cc, sizeof(cc), "%s: separate[%zu]", c, k);
            if (!json_is_object(e))
                return fail(err, cc, "must be an object");
            if ((r = check_keys(e, sep_keys, cc, err)) < 0)
                return r;
            if ((r = get_string(e, "type", true, &s, cc, err)) < 0)
                return r;
            const struct typemap_type *st = find_exact(tm, s);
            if (!st)
                return fail(err, cc, "unknown type %s", s);
            rp->sep[k].type = st;
            if (!attr_lookup(st->attrs, st->n_attrs, rp->pub.join))
                return fail(err, cc, "join '%s' is not an attribute of %s", rp->pub.join, s);
            const json_t *when = json_object_get(e, "when");
            if (when) {
                rp->when[k] = own_calloc(tm, 1, sizeof(struct pred));
                if (!rp->when[k])
                    return -ENOMEM;
                if ((r = compile_pred(tm, when, st, false, rp->when[k], cc, err)) < 0)
                    return r;
            }
        }
    }
    return 0;
}

static const char *const top_keys[] = { "format", "types", "relations", NULL };

int typemap_load_string(const char *text, size_t len, const char *name, struct typemap **ret,
                        struct perr *err)
{
    struct typemap *tm = NULL;
    json_error_t jerr;
    int r;

    if (!name)
        name = "typemap";
    if (len > TYPEMAP_MAX_SIZE)
        return perr_set(err, -EFBIG, "%s: larger than %u bytes", name, TYPEMAP_MAX_SIZE);
    tm = calloc(1, sizeof(*tm));
    if (!tm)
        return -ENOMEM;
    tm->owned_json = json_array();
    if (!tm->owned_json) {
        r = -ENOMEM;
        goto fail;
    }
    tm->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!tm->doc) {
        r = perr_set(err, -EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        goto fail;
    }
    if (!json_is_object(tm->doc)) {
        r = perr_set(err, -EINVAL, "%s: the table must be a JSON object", name);
        goto fail;
    }
    if ((r = check_keys(tm->doc, top_keys, "top level", err)) < 0)
        goto fail_named;
    const json_t *fmt = json_object_get(tm->doc, "format");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != 1) {
        r = perr_set(err, -EINVAL, "%s: unsupported format (expected \"format\": 1)", name);
        goto fail;
    }
    const json_t *types = json_object_get(tm->doc, "types");
    if (!json_is_array(types) || json_array_size(types) == 0) {
        r = perr_set(err, -EINVAL, "%s: 'types' must be a non-empty list", name);
        goto fail;
    }
    tm->n_types = json_array_size(types);
    tm->types = own_calloc(tm, tm->n_types, sizeof(*tm->types));
    if (!tm->types) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < tm->n_types; i++)
        if ((r = parse_type(tm, json_array_get(types, i), i, &tm->types[i], err)) < 0)
            goto fail_named;
    for (size_t i = 0; i < tm->n_types; i++)
        if ((r = link_type(tm, json_array_get(types, i), &tm->types[i], err)) < 0)
            goto fail_named;
    if ((r = parse_relations(tm, json_object_get(tm->doc, "relations"), err)) < 0)
        goto fail_named;
    *ret = tm;
    return 0;

fail_named:
    if (r != -ENOMEM)
        perr_prefix(err, "%s: ", name);
fail:
    if (r == -ENOMEM)
        perr_set(err, -ENOMEM, "%s: out of memory", name);
    typemap_free(tm);
    return r;
}

int typemap_load_file(const char *path, struct typemap **ret, struct perr *err)
{
    char *text = NULL;
    size_t len = 0;
    int r = read_file(path, TYPEMAP_MAX_SIZE, &text, &len);
    if (r < 0)
        return perr_set(err, r, "%s: %s", path, strerror(-r));
    r = typemap_load_string(text, len, path, ret, err);
    free(text);
    return r;
}

int typemap_load_embedded(struct typemap **ret, struct perr *err)
{
    for (const struct embedded_file *f = typemap_data_files; f->name; f++)
        if (str_eq(f->name, "typemap.json"))
            return typemap_load_string(f->data, f->size, "typemap.json (embedded)", ret, err);
    return perr_set(err, -ENOENT, "typemap.json is not embedded in this build");
}

/* ---- lookups ------------------------------------------------------------ */

size_t typemap_count(const struct typemap *tm)
{
    return tm->n_types;
}

const struct typemap_type *typemap_type_at(const struct typemap *tm, size_t i)
{
    return i < tm->n_types ? &tm->types[i] : NULL;
}

const struct typemap_type *typemap_find(const struct typemap *tm, const char *type)
{
    if (!type)
        return NULL;
    const struct typemap_type *t = find_exact(tm, type);
    if (t)
        return t;
    for (size_t i = 0; i < tm->n_types; i++)
        if (strv_contains(tm->types[i].aliases, type))
            return &tm->types[i];
    return NULL;
}

const struct typemap_type *typemap_find_aws(const struct typemap *tm, const char *aws_type)
{
    if (!aws_type)
        return NULL;
    for (size_t i = 0; i < tm->n_types; i++)
        if (str_eq(tm->types[i].aws_type, aws_type))
            return &tm->types[i];
    return NULL;
}

size_t typemap_by_config_type(const struct typemap *tm, const char *config_type,
                              const struct typemap_type **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; config_type && i < tm->n_types; i++)
        if (str_eq(tm->types[i].config_type, config_type)) {
            if (n < max)
                out[n] = &tm->types[i];
            n++;
        }
    return n;
}

size_t typemap_by_collector(const struct typemap *tm, const char *collector,
                            const struct typemap_type **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; collector && i < tm->n_types; i++)
        if (str_eq(tm->types[i].collector, collector)) {
            if (n < max)
                out[n] = &tm->types[i];
            n++;
        }
    return n;
}

/* "a[0].b", "a.b", "a[*].b": the b rule inside block a. */
static const struct typemap_attr *attr_lookup(const struct typemap_attr *attrs, size_t n,
                                              const char *path)
{
    while (path && *path) {
        size_t len = strcspn(path, ".[");
        const struct typemap_attr *found = NULL;
        for (size_t i = 0; i < n; i++)
            if (strlen(attrs[i].name) == len && strncmp(attrs[i].name, path, len) == 0) {
                found = &attrs[i];
                break;
            }
        if (!found)
            return NULL;
        path += len;
        while (*path == '[') {
            const char *close = strchr(path, ']');
            if (!close)
                return NULL;
            path = close + 1;
        }
        if (*path == '\0')
            return found;
        if (*path != '.')
            return NULL;
        path++;
        attrs = found->attrs;
        n = found->n_attrs;
    }
    return NULL;
}

const struct typemap_attr *typemap_attr(const struct typemap_type *t, const char *path)
{
    return t ? attr_lookup(t->attrs, t->n_attrs, path) : NULL;
}

size_t typemap_relation_count(const struct typemap *tm)
{
    return tm->n_rels;
}

const struct typemap_relation *typemap_relation_at(const struct typemap *tm, size_t i)
{
    return i < tm->n_rels ? &tm->rels[i].pub : NULL;
}

bool typemap_relation_applies(const struct typemap *tm, size_t relation, size_t separate,
                              const json_t *declared_attrs)
{
    if (relation >= tm->n_rels || separate >= tm->rels[relation].pub.n_separate)
        return false;
    const struct pred *p = tm->rels[relation].when[separate];
    return !p || eval_pred(p, declared_attrs, NULL, TYPEMAP_PARENT_UNKNOWN);
}

/* ---- ids, exclusions, ARNs ---------------------------------------------- */

int typemap_live_id(const struct typemap *tm, const char *type, const json_t *declared_attrs,
                    char **ret_id, struct perr *err)
{
    const struct typemap_type *t = typemap_find(tm, type);
    char missing[128] = "";
    struct buf tried;

    if (!t)
        return perr_set(err, -ENOENT, "%s: not a type of the type table", type ? type : "(null)");
    if (t->rules->n_state == 0)
        return perr_set(err, -EOPNOTSUPP, "%s: not a Terraform resource type", t->type);
    if (!json_is_object(declared_attrs))
        return perr_set(err, -EINVAL, "%s: declared attributes must be a JSON object", type);

    struct tvars vars = { .attrs = declared_attrs };
    buf_init(&tried, 1024);
    for (size_t i = 0; i < t->rules->n_state; i++) {
        const struct state_template *st = &t->rules->state[i];
        if (st->cond && !eval_pred(st->cond, declared_attrs, NULL, TYPEMAP_PARENT_UNKNOWN))
            continue;
        int r = expand_template(st->text, &vars, ret_id, missing);
        if (r == 0) {
            buf_free(&tried);
            return 0;
        }
        if (r != -ENODATA) {
            buf_free(&tried);
            return perr_set(err, r, "%s: %s", type, strerror(-r));
        }
        if (buf_append_str(&tried, i && tried.len ? ", " : "") < 0 ||
            buf_append_str(&tried, missing) < 0) {
            buf_free(&tried);
            return perr_set(err, -ENOMEM, "%s: out of memory", type);
        }
    }
    perr_set(err, -ENODATA, "%s: cannot derive the live id: the declared attributes lack %s", type,
             tried.len ? buf_str(&tried) : "every templated attribute");
    buf_free(&tried);
    return -ENODATA;
}

bool typemap_unmanaged_excluded(const struct typemap *tm, const struct resource *r,
                                enum typemap_parent_state parent, const char **ret_reason)
{
    const struct typemap_type *t = r ? typemap_find(tm, r->type) : NULL;
    if (!t)
        return false;
    if (!t->unmanaged) {
        if (ret_reason)
            *ret_reason = t->declared_only ? "declared-only type" : "not a Terraform resource";
        return true;
    }
    for (size_t i = 0; i < t->rules->n_excl; i++)
        if (eval_pred(&t->rules->excl[i].when, r->attrs, r, parent)) {
            if (ret_reason)
                *ret_reason = t->rules->excl[i].reason;
            return true;
        }
    return false;
}

int typemap_arn_build(const struct typemap_type *t, const char *partition, const char *region,
                      const char *account, const char *id, const json_t *attrs, char **ret)
{
    if (!t->arn_template)
        return -ENOENT;
    json_t *empty = NULL;
    if (!attrs) {
        empty = json_object();
        if (!empty)
            return -ENOMEM;
        attrs = empty;
    }
    /* Global resources have an empty region field in their ARN. */
    if (str_eq(region, RESOURCE_REGION_GLOBAL))
        region = "";
    struct tvars vars = { .partition = partition ? partition : "aws",
                          .region = region,
                          .account = account,
                          .id = id,
                          .attrs = attrs,
                          .arn = true };
    int r = expand_template(t->arn_template, &vars, ret, NULL);
    json_decref(empty);
    return r;
}

int typemap_arn_parse(const char *arn, struct typemap_arn *ret, struct perr *err)
{
    struct typemap_arn a = { 0 };
    char *f[6];

    if (!arn || !str_has_prefix(arn, "arn:"))
        return perr_set(err, -EINVAL, "'%s' is not an ARN (does not start with arn:)",
                        arn ? arn : "(null)");
    /* Two copies: the fields of the first are NUL-separated in place, the
     * second holds RESOURCE split into type and id. */
    size_t len = strlen(arn);
    a.buf = malloc(2 * (len + 1));
    if (!a.buf)
        return perr_set(err, -ENOMEM, "out of memory");
    memcpy(a.buf, arn, len + 1);
    char *p = a.buf;
    for (int i = 0; i < 5; i++) {
        f[i] = p;
        p = strchr(p, ':');
        if (!p) {
            free(a.buf);
            return perr_set(err, -EINVAL, "'%s' is not an ARN (expected 6 ':'-separated fields)",
                            arn);
        }
        *p++ = '\0';
    }
    f[5] = p;
    a.partition = f[1];
    a.service = f[2];
    a.region = f[3];
    a.account = f[4];
    a.resource = f[5];
    if (!*a.partition || !*a.service || !*a.resource) {
        free(a.buf);
        return perr_set(err, -EINVAL, "'%s' is not an ARN (empty partition, service or resource)",
                        arn);
    }
    char *copy = a.buf + len + 1;
    size_t rl = strlen(a.resource);
    memcpy(copy, a.resource, rl + 1);
    size_t sep = strcspn(copy, "/:");
    if (copy[sep] == '\0') {
        a.resource_type = copy + rl; /* "" */
        a.resource_id = copy;
    } else {
        copy[sep] = '\0';
        a.resource_type = copy;
        a.resource_id = copy + sep + 1;
    }
    *ret = a;
    return 0;
}

void typemap_arn_clear(struct typemap_arn *a)
{
    if (a) {
        free(a->buf);
        memset(a, 0, sizeof(*a));
    }
}

int typemap_declared_region(const struct typemap_type *t, const json_t *declared_attrs, char **ret)
{
    if (t->scope == TYPEMAP_SCOPE_GLOBAL || t->scope == TYPEMAP_SCOPE_ACCOUNT_SINGLETON) {
        char *s = strdup(RESOURCE_REGION_GLOBAL);
        if (!s)
            return -ENOMEM;
        *ret = s;
        return 0;
    }
    if (!json_is_object(declared_attrs))
        return -ENODATA;
    struct tvars vars = { .attrs = declared_attrs };
    for (size_t i = 0; i < t->rules->n_region; i++) {
        int r = expand_template(t->rules->region[i], &vars, ret, NULL);
        if (r != -ENODATA)
            return r;
    }
    const json_t *arn = json_object_get(declared_attrs, "arn");
    struct typemap_arn a;
    if (!json_is_string(arn) || typemap_arn_parse(json_string_value(arn), &a, NULL) < 0)
        return -ENODATA;
    int r = -ENODATA;
    if (*a.region) {
        char *s = strdup(a.region);
        r = s ? 0 : -ENOMEM;
        if (s)
            *ret = s;
    }
    typemap_arn_clear(&a);
    return r;
}
