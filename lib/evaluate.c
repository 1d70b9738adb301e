#include "evaluate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DAY_MS (86400000LL)

/* Three-valued logic. */
enum tv {
    TV_UNKNOWN = -1,
    TV_FALSE = 0,
    TV_TRUE = 1,
};

/* ---- compiled form ---- */

enum root {
    ROOT_NODE,    /* relative to the current object */
    ROOT_SELF,    /* "@": the current list element itself */
    ROOT_ID,      /* "$id" */
    ROOT_ARN,     /* "$arn" */
    ROOT_REGION,  /* "$region" */
    ROOT_ACCOUNT, /* "$account" */
    ROOT_TYPE,    /* "$type" */
    ROOT_TAGS,    /* "$tags" */
    ROOT_CONST,   /* a parameter or literal value */
};

struct seg {
    char *key; /* NULL for an index */
    size_t index;
};

struct path {
    enum root root;
    struct seg *segs;
    size_t n;
    char *text;
    json_t *value; /* ROOT_CONST */
};

enum op {
    OP_EQ,
    OP_NE,
    OP_IN,
    OP_NOT_IN,
    OP_GT,
    OP_GTE,
    OP_LT,
    OP_LTE,
    OP_EXISTS,
    OP_ABSENT,
    OP_EMPTY,
    OP_PREFIX,
    OP_SUFFIX,
    OP_CONTAINS,
    OP_MATCHES,
    OP_REGEX,
    OP_OLDER,
    OP_NEWER,
    OP_AHEAD,
    OP_ANY_OF,
    OP_ALL_OF,
    OP_NONE_OF,
    OP_POLICY_TLS,
};

enum operand_kind {
    OPND_ANY,
    OPND_ARRAY,
    OPND_NUMBER,
    OPND_BOOL,
    OPND_STRINGS, /* a string or an array of strings */
    OPND_SCALAR,
    OPND_PRED,
    OPND_TRUE,
};

static const struct opdef {
    const char *name;
    enum op op;
    enum operand_kind kind;
    const char *phrase; /* for details: "expected <phrase> <operand>" */
} opdefs[] = {
    { "eq", OP_EQ, OPND_ANY, "" },
    { "ne", OP_NE, OPND_ANY, "not" },
    { "in", OP_IN, OPND_ARRAY, "one of" },
    { "not_in", OP_NOT_IN, OPND_ARRAY, "none of" },
    { "gt", OP_GT, OPND_NUMBER, ">" },
    { "gte", OP_GTE, OPND_NUMBER, ">=" },
    { "lt", OP_LT, OPND_NUMBER, "<" },
    { "lte", OP_LTE, OPND_NUMBER, "<=" },
    { "exists", OP_EXISTS, OPND_BOOL, "exists" },
    { "absent", OP_ABSENT, OPND_BOOL, "absent" },
    { "empty", OP_EMPTY, OPND_BOOL, "empty" },
    { "prefix", OP_PREFIX, OPND_STRINGS, "prefix" },
    { "suffix", OP_SUFFIX, OPND_STRINGS, "suffix" },
    { "contains", OP_CONTAINS, OPND_SCALAR, "to contain" },
    { "matches", OP_MATCHES, OPND_STRINGS, "to match" },
    { "regex", OP_REGEX, OPND_STRINGS, "to match" },
    { "older_than_days", OP_OLDER, OPND_NUMBER, "older than days:" },
    { "newer_than_days", OP_NEWER, OPND_NUMBER, "newer than days:" },
    { "more_than_days_ahead", OP_AHEAD, OPND_NUMBER, "more than days ahead:" },
    { "any_of", OP_ANY_OF, OPND_PRED, "" },
    { "all_of", OP_ALL_OF, OPND_PRED, "" },
    { "none_of", OP_NONE_OF, OPND_PRED, "" },
    { "policy_denies_insecure_transport", OP_POLICY_TLS, OPND_TRUE, "" },
};

enum pkind {
    PK_ALL,
    PK_ANY,
    PK_NOT,
    PK_CONST,
    PK_ATTR,
    PK_RELATED,
    PK_SG_OPEN,
};

enum quant {
    Q_ANY,
    Q_ALL,
    Q_NONE,
};

enum rel_scope {
    REL_DEFAULT, /* region for resource/region contexts, account otherwise */
    REL_REGION,
    REL_ACCOUNT,
};

struct match {
    struct path rel;  /* in the related resource */
    struct path self; /* in the current context */
};

struct pred {
    enum pkind kind;
    /* PK_ALL / PK_ANY / PK_NOT */
    struct pred **kids;
    size_t n_kids;
    /* PK_CONST */
    bool value;
    /* PK_ATTR */
    struct path path;
    const struct opdef *op;
    json_t *operand; /* resolved */
    double num;      /* numeric operand */
    json_t *dflt;    /* value used when the attribute is absent, or NULL */
    bool secret;     /* the attribute holds a secret: never print its value */
    /* PK_ATTR quantifiers and PK_RELATED */
    struct pred *sub;
    /* PK_RELATED */
    char *type;
    enum rel_scope scope;
    struct match *matches;
    size_t n_matches;
    enum quant quant;
    bool missing_unknown;
    /* OP_REGEX */
    regex_t *regs;
    size_t n_regs;
    /* PK_SG_OPEN */
    long *ports;
    size_t n_ports;
    bool all_ports;
    char **protocols;
};

static void path_done(struct path *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->segs[i].key);
    free(p->segs);
    free(p->text);
    json_decref(p->value);
    memset(p, 0, sizeof(*p));
}

struct pred *evaluate_pred_free(struct pred *p)
{
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n_kids; i++)
        evaluate_pred_free(p->kids[i]);
    free(p->kids);
    path_done(&p->path);
    json_decref(p->operand);
    json_decref(p->dflt);
    evaluate_pred_free(p->sub);
    free(p->type);
    for (size_t i = 0; i < p->n_matches; i++) {
        path_done(&p->matches[i].rel);
        path_done(&p->matches[i].self);
    }
    free(p->matches);
    for (size_t i = 0; i < p->n_regs; i++)
        regfree(&p->regs[i]);
    free(p->regs);
    free(p->ports);
    strv_free(p->protocols);
    free(p);
    return NULL;
}

/* ---- compiling ---- */

/* The location being compiled, for error messages: "evaluation.all[1]". */
struct where {
    char s[256];
    size_t len;
};

static size_t where_push(struct where *w, const char *fmt, ...) PLUMB_PRINTF(2, 3);
static size_t where_push(struct where *w, const char *fmt, ...)
{
    size_t old = w->len;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(w->s + w->len, sizeof(w->s) - w->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len = MIN(w->len + (size_t)n, sizeof(w->s) - 1);
    return old;
}

static void where_pop(struct where *w, size_t old)
{
    w->len = old;
    w->s[old] = '\0';
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static const char *const root_names[] = {
    [ROOT_ID] = "$id",           [ROOT_ARN] = "$arn",   [ROOT_REGION] = "$region",
    [ROOT_ACCOUNT] = "$account", [ROOT_TYPE] = "$type", [ROOT_TAGS] = "$tags",
};

static int path_add_seg(struct path *p, const char *key, size_t klen, size_t index)
{
    struct seg *ns;
    if (p->n >= EVALUATE_MAX_DEPTH)
        return -E2BIG;
    ns = realloc(p->segs, (p->n + 1) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    p->segs = ns;
    p->segs[p->n].key = NULL;
    p->segs[p->n].index = index;
    if (key) {
        p->segs[p->n].key = str_ndup(key, klen);
        if (!p->segs[p->n].key)
            return -ENOMEM;
    }
    p->n++;
    return 0;
}

/* Parse "a.b[0].c", '["dotted.key"]', "$id", "$tags.Name", "@". */
static int path_parse(const char *text, struct path *ret)
{
    struct path p = { 0 };
    const char *s = text;
    int e = -EINVAL;

    p.text = strdup(text);
    if (!p.text)
        return -ENOMEM;
    if (*s == '$') {
        size_t i;
        for (i = 0; i < ARRAY_SIZE(root_names); i++) {
            size_t l;
            if (!root_names[i])
                continue;
            l = strlen(root_names[i]);
            if (strncmp(s, root_names[i], l) == 0 && (s[l] == '\0' || s[l] == '.' || s[l] == '['))
                break;
        }
        if (i == ARRAY_SIZE(root_names))
            goto fail;
        p.root = (enum root)i;
        s += strlen(root_names[i]);
        if (*s && p.root != ROOT_TAGS)
            goto fail;
        if (*s == '.')
            s++;
        else if (*s)
            goto fail;
        if (p.root == ROOT_TAGS && *s == '\0' && s[-1] == '.')
            goto fail;
    } else if (*s == '@') {
        p.root = ROOT_SELF;
        s++;
        if (*s == '.')
            s++;
        else if (*s && *s != '[')
            goto fail;
        if (*s == '\0' && s[-1] == '.')
            goto fail;
    } else if (*s == '\0') {
        goto fail;
    }
    while (*s) {
        if (*s == '[') {
            s++;
            if (*s == '"') {
                const char *q = strchr(s + 1, '"');
                if (!q || q == s + 1 || q[1] != ']')
                    goto fail;
                e = path_add_seg(&p, s + 1, (size_t)(q - s - 1), 0);
                if (e < 0)
                    goto fail;
                e = -EINVAL;
                s = q + 2;
            } else {
                size_t idx = 0, nd = 0;
                while (*s >= '0' && *s <= '9' && nd < 9) {
                    idx = idx * 10 + (size_t)(*s - '0');
                    s++;
                    nd++;
                }
                if (nd == 0 || *s != ']')
                    goto fail;
                s++;
                e = path_add_seg(&p, NULL, 0, idx);
                if (e < 0)
                    goto fail;
                e = -EINVAL;
            }
        } else {
            size_t l = strcspn(s, ".[");
            if (l == 0)
                goto fail;
            e = path_add_seg(&p, s, l, 0);
            if (e < 0)
                goto fail;
            e = -EINVAL;
            s += l;
        }
        if (*s == '.') {
            s++;
            if (*s == '\0' || *s == '.' || *s == '[')
                goto fail;
        } else if (*s && *s != '[') {
            goto fail;
        }
    }
    *ret = p;
    return 0;
fail:
    path_done(&p);
    return e == -E2BIG ? -EINVAL : e;
}

/* Replace {"param": "name"} by its value; other values are returned as a
 * new reference unchanged.  Parameter references inside arrays are
 * resolved too ("ports": [22, {"param": "x"}] is not supported: a
 * parameter stands for a whole operand). */
static int resolve(const json_t *v, const json_t *params, const struct where *w, json_t **ret,
                   struct perr *err)
{
    if (json_is_object(v) && json_object_get(v, "param")) {
        const json_t *name = json_object_get(v, "param");
        const json_t *val;
        if (json_object_size(v) != 1 || !json_is_string(name))
            return perr_set(err, -EINVAL, "%s: a parameter reference is {\"param\": \"name\"}",
                            w->s);
        val = params ? json_object_get(params, json_string_value(name)) : NULL;
        if (!val)
            return perr_set(err, -EINVAL, "%s: unknown parameter '%s'", w->s,
                            json_string_value(name));
        *ret = json_incref((json_t *)val);
        return 0;
    }
    *ret = json_incref((json_t *)v);
    return 0;
}

static int compile(const json_t *def, const json_t *params, struct where *w, int depth,
                   struct pred **ret, struct perr *err);

static int compile_path(const json_t *v, struct where *w, struct path *ret, struct perr *err)
{
    int e;
    if (!json_is_string(v))
        return perr_set(err, -EINVAL, "%s: expected an attribute path string (got %s)", w->s,
                        json_kind(v));
    e = path_parse(json_string_value(v), ret);
    if (e == -EINVAL)
        return perr_set(err, e, "%s: bad attribute path '%s'", w->s, json_string_value(v));
    return e;
}

static int check_operand(const struct opdef *od, const json_t *v, const struct where *w,
                         struct perr *err)
{
    switch (od->kind) {
    case OPND_ANY: return 0;
    case OPND_ARRAY:
        if (json_is_array(v))
            return 0;
        return perr_set(err, -EINVAL, "%s: expected an array (got %s)", w->s, json_kind(v));
    case OPND_NUMBER:
        if (json_is_number(v))
            return 0;
        return perr_set(err, -EINVAL, "%s: expected a number (got %s)", w->s, json_kind(v));
    case OPND_BOOL:
        if (json_is_boolean(v))
            return 0;
        return perr_set(err, -EINVAL, "%s: expected true or false (got %s)", w->s, json_kind(v));
    case OPND_TRUE:
        if (json_is_true(v))
            return 0;
        return perr_set(err, -EINVAL, "%s: expected true", w->s);
    case OPND_STRINGS:
        if (json_is_string(v))
            return 0;
        if (json_is_array(v)) {
            size_t i;
            json_t *x;
            json_array_foreach (v, i, x) {
                if (!json_is_string(x))
                    return perr_set(err, -EINVAL, "%s: expected strings (item %zu is %s)", w->s, i,
                                    json_kind(x));
            }
            return 0;
        }
        return perr_set(err, -EINVAL, "%s: expected a string or an array of strings (got %s)", w->s,
                        json_kind(v));
    case OPND_SCALAR:
        if (!json_is_object(v) && !json_is_array(v) && !json_is_null(v))
            return 0;
        return perr_set(err, -EINVAL, "%s: expected a string, number or boolean (got %s)", w->s,
                        json_kind(v));
    case OPND_PRED: return 0;
    }
    return -EINVAL;
}

static const struct opdef *find_op(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(opdefs); i++)
        if (str_eq(opdefs[i].name, name))
            return &opdefs[i];
    return NULL;
}

static bool secret_name(const char *key);
static const char *path_last_key(const struct path *p);

static int compile_regex(struct pred *p, const struct where *w, struct perr *err)
{
    size_t n = json_is_array(p->operand) ? json_array_size(p->operand) : 1;
    p->regs = calloc(n, sizeof(*p->regs));
    if (!p->regs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_is_array(p->operand) ? json_array_get(p->operand, i) : p->operand;
        int r = regcomp(&p->regs[i], json_string_value(x), REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
            char msg[128];
            regerror(r, &p->regs[i], msg, sizeof(msg));
            return perr_set(err, -EINVAL, "%s: bad regular expression '%s': %s", w->s,
                            json_string_value(x), msg);
        }
        p->n_regs++;
    }
    return 0;
}

static int compile_attr(const json_t *def, const json_t *params, struct where *w, int depth,
                        struct pred *p, struct perr *err)
{
    const char *key;
    const json_t *v;
    size_t old;
    int e;

    if (json_object_get(def, "attr") && json_object_get(def, "param"))
        return perr_set(err, -EINVAL, "%s: a predicate tests either 'attr' or 'param'", w->s);
    if (json_object_get(def, "param")) {
        /* The subject is a parameter value: {"param": "x", "eq": "warn"}. */
        const json_t *name = json_object_get(def, "param");
        json_t *ref = json_pack("{sO}", "param", name);
        old = where_push(w, ".param");
        e = ref ? resolve(ref, params, w, &p->path.value, err) : -ENOMEM;
        json_decref(ref);
        where_pop(w, old);
        if (e < 0)
            return e;
        p->path.root = ROOT_CONST;
        p->path.text = str_printf("parameter %s", json_string_value(name));
        if (!p->path.text)
            return -ENOMEM;
    } else {
        old = where_push(w, ".attr");
        e = compile_path(json_object_get(def, "attr"), w, &p->path, err);
        where_pop(w, old);
        if (e < 0)
            return e;
    }
    json_object_foreach ((json_t *)def, key, v) {
        const struct opdef *od;
        if (str_eq(key, "attr") || str_eq(key, "param"))
            continue;
        if (str_eq(key, "default")) {
            p->dflt = json_incref((json_t *)v);
            continue;
        }
        od = find_op(key);
        if (!od)
            return perr_set(err, -EINVAL, "%s: unknown operator '%s'", w->s, key);
        if (p->op)
            return perr_set(err, -EINVAL, "%s: more than one operator ('%s' and '%s')", w->s,
                            p->op->name, key);
        p->op = od;
        old = where_push(w, ".%s", key);
        if (od->kind == OPND_PRED) {
            e = compile(v, params, w, depth + 1, &p->sub, err);
        } else {
            e = resolve(v, params, w, &p->operand, err);
            if (e >= 0)
                e = check_operand(od, p->operand, w, err);
            if (e >= 0 && json_is_number(p->operand))
                p->num = json_number_value(p->operand);
            if (e >= 0 && od->op == OP_REGEX)
                e = compile_regex(p, w, err);
        }
        where_pop(w, old);
        if (e < 0)
            return e;
    }
    if (!p->op)
        return perr_set(err, -EINVAL, "%s: missing operator for attribute '%s'", w->s,
                        p->path.text);
    p->secret = secret_name(path_last_key(&p->path));
    return 0;
}

static int compile_related(const json_t *def, const json_t *params, struct where *w, int depth,
                           struct pred *p, struct perr *err)
{
    const char *key;
    const json_t *v;
    size_t old = where_push(w, ".related");
    int e = 0;
    bool have_quant = false;

    if (!json_is_object(def)) {
        e = perr_set(err, -EINVAL, "%s: expected an object (got %s)", w->s, json_kind(def));
        goto out;
    }
    p->quant = Q_ANY;
    json_object_foreach ((json_t *)def, key, v) {
        if (str_eq(key, "type")) {
            if (!json_is_string(v) || json_string_length(v) == 0) {
                e = perr_set(err, -EINVAL, "%s.type: expected a resource type", w->s);
                goto out;
            }
            p->type = strdup(json_string_value(v));
            if (!p->type) {
                e = -ENOMEM;
                goto out;
            }
        } else if (str_eq(key, "scope")) {
            if (str_eq(json_string_value(v), "region")) {
                p->scope = REL_REGION;
            } else if (str_eq(json_string_value(v), "account")) {
                p->scope = REL_ACCOUNT;
            } else {
                e = perr_set(err, -EINVAL, "%s.scope: expected \"region\" or \"account\"", w->s);
                goto out;
            }
        } else if (str_eq(key, "missing")) {
            if (str_eq(json_string_value(v), "unknown")) {
                p->missing_unknown = true;
            } else if (str_eq(json_string_value(v), "false")) {
                p->missing_unknown = false;
            } else {
                e = perr_set(err, -EINVAL, "%s.missing: expected \"unknown\" or \"false\"", w->s);
                goto out;
            }
        } else if (str_eq(key, "match")) {
            const char *rk;
            const json_t *sv;
            size_t o2;
            if (!json_is_object(v) || json_object_size(v) == 0 ||
                json_object_size(v) > EVALUATE_MAX_DEPTH) {
                e = perr_set(err, -EINVAL, "%s.match: expected an object of related path: own path",
                             w->s);
                goto out;
            }
            p->matches = calloc(json_object_size(v), sizeof(*p->matches));
            if (!p->matches) {
                e = -ENOMEM;
                goto out;
            }
            o2 = where_push(w, ".match");
            json_object_foreach ((json_t *)v, rk, sv) {
                struct match *m = &p->matches[p->n_matches];
                json_t *rkj = json_string(rk);
                if (!rkj) {
                    e = -ENOMEM;
                    break;
                }
                e = compile_path(rkj, w, &m->rel, err);
                json_decref(rkj);
                if (e >= 0 && json_is_object(sv) && json_object_get(sv, "value") &&
                    json_object_size(sv) == 1) {
                    m->self.root = ROOT_CONST;
                    m->self.value = json_incref(json_object_get(sv, "value"));
                    m->self.text = json_dumps(m->self.value, JSON_ENCODE_ANY | JSON_COMPACT);
                    if (!m->self.text)
                        e = -ENOMEM;
                } else if (e >= 0 && json_is_object(sv)) {
                    m->self.root = ROOT_CONST;
                    e = resolve(sv, params, w, &m->self.value, err);
                    if (e >= 0 && !json_object_get(sv, "param"))
                        e = perr_set(err, -EINVAL,
                                     "%s: expected a path, {\"value\": ...} or {\"param\": ...}",
                                     w->s);
                    if (e >= 0 && !(m->self.text = strdup("parameter")))
                        e = -ENOMEM;
                } else if (e >= 0) {
                    e = compile_path(sv, w, &m->self, err);
                }
                p->n_matches++;
                if (e < 0)
                    break;
            }
            where_pop(w, o2);
            if (e < 0)
                goto out;
        } else if (str_eq(key, "any") || str_eq(key, "all") || str_eq(key, "none")) {
            size_t o2;
            if (have_quant) {
                e = perr_set(err, -EINVAL, "%s: more than one of any/all/none", w->s);
                goto out;
            }
            have_quant = true;
            p->quant = str_eq(key, "any") ? Q_ANY : str_eq(key, "all") ? Q_ALL : Q_NONE;
            o2 = where_push(w, ".%s", key);
            e = compile(v, params, w, depth + 1, &p->sub, err);
            where_pop(w, o2);
            if (e < 0)
                goto out;
        } else {
            e = perr_set(err, -EINVAL, "%s: unknown field '%s'", w->s, key);
            goto out;
        }
    }
    if (!p->type)
        e = perr_set(err, -EINVAL, "%s: missing field 'type'", w->s);
out:
    where_pop(w, old);
    return e;
}

static int compile_sg(const json_t *def, const json_t *params, struct where *w, struct pred *p,
                      struct perr *err)
{
    const char *key;
    const json_t *v;
    size_t old = where_push(w, ".sg_rule_open");
    int e = 0;
    bool have_ports = false;

    if (!json_is_object(def)) {
        e = perr_set(err, -EINVAL, "%s: expected an object (got %s)", w->s, json_kind(def));
        goto out;
    }
    json_object_foreach ((json_t *)def, key, v) {
        json_t *val = NULL;
        size_t i;
        json_t *x;
        size_t o2 = where_push(w, ".%s", key);
        e = resolve(v, params, w, &val, err);
        if (e < 0) {
            where_pop(w, o2);
            goto out;
        }
        if (str_eq(key, "ports")) {
            have_ports = true;
            if (!json_is_array(val) || json_array_size(val) == 0) {
                e = perr_set(err, -EINVAL, "%s: expected a non-empty array of ports", w->s);
            } else if (!(p->ports = calloc(json_array_size(val), sizeof(*p->ports)))) {
                e = -ENOMEM;
            } else {
                json_array_foreach (val, i, x) {
                    if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                        json_integer_value(x) > 65535) {
                        e = perr_set(err, -EINVAL, "%s: item %zu is not a port number", w->s, i);
                        break;
                    }
                    p->ports[p->n_ports++] = (long)json_integer_value(x);
                }
            }
        } else if (str_eq(key, "all_ports")) {
            if (!json_is_true(val))
                e = perr_set(err, -EINVAL, "%s: expected true", w->s);
            p->all_ports = true;
        } else if (str_eq(key, "protocols")) {
            if (!json_is_array(val) || json_array_size(val) == 0) {
                e = perr_set(err, -EINVAL, "%s: expected a non-empty array of protocols", w->s);
            } else {
                json_array_foreach (val, i, x) {
                    if (!json_is_string(x)) {
                        e = perr_set(err, -EINVAL, "%s: item %zu is not a string", w->s, i);
                        break;
                    }
                    if (strv_push(&p->protocols, json_string_value(x)) < 0) {
                        e = -ENOMEM;
                        break;
                    }
                }
            }
        } else {
            e = perr_set(err, -EINVAL, "%s: unknown field '%s'", w->s, key);
        }
        json_decref(val);
        where_pop(w, o2);
        if (e < 0)
            goto out;
    }
    if (have_ports == p->all_ports) {
        e = perr_set(err, -EINVAL, "%s: needs exactly one of 'ports' and 'all_ports'", w->s);
        goto out;
    }
    if (!p->protocols) {
        if (strv_push(&p->protocols, "tcp") < 0)
            e = -ENOMEM;
    }
out:
    where_pop(w, old);
    return e;
}

static int compile(const json_t *def, const json_t *params, struct where *w, int depth,
                   struct pred **ret, struct perr *err)
{
    struct pred *p = NULL;
    const char *first;
    int e;

    if (depth > EVALUATE_MAX_DEPTH)
        return perr_set(err, -EINVAL, "%s: predicate nested too deeply", w->s);
    if (!json_is_object(def))
        return perr_set(err, -EINVAL, "%s: expected a predicate object (got %s)", w->s,
                        json_kind(def));
    if (json_object_size(def) == 0)
        return perr_set(err, -EINVAL, "%s: empty predicate", w->s);
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    first = json_object_iter_key(json_object_iter((json_t *)def));

    if (json_object_get(def, "attr") || json_object_get(def, "param")) {
        p->kind = PK_ATTR;
        e = compile_attr(def, params, w, depth, p, err);
    } else if (json_object_size(def) != 1) {
        static const char *const known[] = {
            "all", "any", "not", "const", "related", "sg_rule_open"
        };
        const char *k, *unknown = NULL, *seen[2] = { NULL, NULL };
        const json_t *v;
        json_object_foreach ((json_t *)def, k, v) {
            bool ok = false;
            for (size_t i = 0; i < ARRAY_SIZE(known); i++)
                ok = ok || str_eq(k, known[i]);
            if (!ok && !unknown)
                unknown = k;
            else if (ok && !seen[1])
                seen[seen[0] ? 1 : 0] = k;
        }
        if (unknown)
            e = perr_set(err, -EINVAL, "%s: unknown operator '%s'", w->s, unknown);
        else
            e = perr_set(err, -EINVAL, "%s: more than one operator ('%s' and '%s')", w->s, seen[0],
                         seen[1]);
    } else if (str_eq(first, "all") || str_eq(first, "any")) {
        const json_t *arr = json_object_get(def, first);
        p->kind = str_eq(first, "all") ? PK_ALL : PK_ANY;
        if (!json_is_array(arr) || json_array_size(arr) == 0) {
            e = perr_set(err, -EINVAL, "%s.%s: expected a non-empty array of predicates", w->s,
                         first);
        } else if (!(p->kids = calloc(json_array_size(arr), sizeof(*p->kids)))) {
            e = -ENOMEM;
        } else {
            size_t i;
            json_t *x;
            e = 0;
            json_array_foreach (arr, i, x) {
                size_t old = where_push(w, ".%s[%zu]", first, i);
                e = compile(x, params, w, depth + 1, &p->kids[i], err);
                where_pop(w, old);
                if (e < 0)
                    break;
                p->n_kids++;
            }
        }
    } else if (str_eq(first, "not")) {
        size_t old = where_push(w, ".not");
        p->kind = PK_NOT;
        p->kids = calloc(1, sizeof(*p->kids));
        if (!p->kids) {
            e = -ENOMEM;
        } else {
            e = compile(json_object_get(def, "not"), params, w, depth + 1, &p->kids[0], err);
            if (e >= 0)
                p->n_kids = 1;
        }
        where_pop(w, old);
    } else if (str_eq(first, "const")) {
        p->kind = PK_CONST;
        p->value = json_is_true(json_object_get(def, "const"));
        e = json_is_boolean(json_object_get(def, "const"))
                ? 0
                : perr_set(err, -EINVAL, "%s.const: expected true or false", w->s);
    } else if (str_eq(first, "related")) {
        p->kind = PK_RELATED;
        e = compile_related(json_object_get(def, "related"), params, w, depth, p, err);
    } else if (str_eq(first, "sg_rule_open")) {
        p->kind = PK_SG_OPEN;
        e = compile_sg(json_object_get(def, "sg_rule_open"), params, w, p, err);
    } else {
        e = perr_set(err, -EINVAL, "%s: unknown operator '%s'", w->s, first);
    }
    if (e < 0) {
        evaluate_pred_free(p);
        return e;
    }
    *ret = p;
    return 0;
}

int evaluate_compile(const json_t *def, const json_t *params, const char *where, struct pred **ret,
                     struct perr *err)
{
    struct where w = { .len = 0 };
    struct pred *p = NULL;
    int e;

    w.s[0] = '\0';
    where_push(&w, "%s", where ? where : "predicate");
    e = compile(def, params, &w, 0, &p, err);
    if (e < 0)
        return e;
    *ret = p;
    return 0;
}

/* ---- findings ---- */

const char *finding_status_name(enum finding_status s)
{
    switch (s) {
    case FINDING_PASS: return "PASS";
    case FINDING_FAIL: return "FAIL";
    case FINDING_NOT_APPLICABLE: return "NOT_APPLICABLE";
    case FINDING_UNKNOWN: return "UNKNOWN";
    }
    return "UNKNOWN";
}

struct finding *finding_free(struct finding *f)
{
    /* The strings live in the same allocation. */
    free(f);
    return NULL;
}

static size_t opt_len(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copy src (may be NULL) to *at and advance it; returns the copy. */
static char *place(char **at, const char *src)
{
    char *d;
    size_t l;
    if (!src)
        return NULL;
    l = strlen(src) + 1;
    d = *at;
    memcpy(d, src, l);
    *at += l;
    return d;
}

/* One allocation holding the struct and every string. */
static struct finding *finding_build(const struct control *control, enum finding_status status,
                                     enum control_severity severity, bool warning,
                                     const char *partition, const char *account, const char *region,
                                     const char *rtype, const char *rid, const char *aws_type,
                                     const char *arn, const char *detail, int64_t time,
                                     int64_t first_seen)
{
    size_t len = opt_len(partition) + opt_len(account) + opt_len(region) + opt_len(rtype) +
                 opt_len(rid) + opt_len(aws_type) + opt_len(arn) + opt_len(detail ? detail : "");
    struct finding *f = calloc(1, sizeof(*f) + len);
    char *at;
    if (!f)
        return NULL;
    at = (char *)(f + 1);
    f->control = control;
    f->status = status;
    f->severity = severity;
    f->warning = warning;
    f->partition = place(&at, partition);
    f->account = place(&at, account);
    f->region = place(&at, region);
    f->resource_type = place(&at, rtype);
    f->resource_id = place(&at, rid);
    f->aws_type = place(&at, aws_type);
    f->arn = place(&at, arn);
    f->detail = place(&at, detail ? detail : "");
    f->time = time;
    f->first_seen = first_seen;
    return f;
}

struct finding *finding_copy(const struct finding *f)
{
    return finding_build(f->control, f->status, f->severity, f->warning, f->partition, f->account,
                         f->region, f->resource_type, f->resource_id, f->aws_type, f->arn,
                         f->detail, f->time, f->first_seen);
}

/* ---- the evaluator ---- */

struct scope_rec {
    char *partition;
    char *account;
    char *region;
    bool in_use;
};

struct evaluate {
    const struct estate_ops *ops;
    void *estate;
    int64_t now;
    struct scope_rec *scopes; /* ordered by account, then region */
    size_t n_scopes;
    char **accounts; /* distinct, in scope order */
};

static int collect_scope(const struct estate_scope *s, void *userdata)
{
    struct evaluate *ev = userdata;
    struct scope_rec *ns, *r;

    if (!s->account || !s->region || str_eq(s->region, RESOURCE_REGION_GLOBAL))
        return -EINVAL;
    ns = realloc(ev->scopes, (ev->n_scopes + 1) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    ev->scopes = ns;
    r = &ev->scopes[ev->n_scopes];
    memset(r, 0, sizeof(*r));
    r->partition = strdup(s->partition ? s->partition : "aws");
    r->account = strdup(s->account);
    r->region = strdup(s->region);
    r->in_use = s->in_use;
    ev->n_scopes++;
    if (!r->partition || !r->account || !r->region)
        return -ENOMEM;
    if (!strv_contains(ev->accounts, s->account) && strv_push(&ev->accounts, s->account) < 0)
        return -ENOMEM;
    return 0;
}

struct evaluate *evaluate_free(struct evaluate *ev)
{
    if (!ev)
        return NULL;
    for (size_t i = 0; i < ev->n_scopes; i++) {
        free(ev->scopes[i].partition);
        free(ev->scopes[i].account);
        free(ev->scopes[i].region);
    }
    free(ev->scopes);
    strv_free(ev->accounts);
    free(ev);
    return NULL;
}

int evaluate_new(const struct estate_ops *ops, void *estate, int64_t now_ms, struct evaluate **ret,
                 struct perr *err)
{
    struct evaluate *ev;
    int e;

    if (!ops || !ops->foreach_resource || !ops->get_resource || !ops->coverage ||
        !ops->foreach_scope || !ops->type_is_global)
        return perr_set(err, -EINVAL, "estate: incomplete operations table");
    ev = calloc(1, sizeof(*ev));
    if (!ev)
        return perr_set(err, -ENOMEM, "out of memory");
    ev->ops = ops;
    ev->estate = estate;
    ev->now = now_ms;
    ev->accounts = strv_new();
    if (!ev->accounts) {
        evaluate_free(ev);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    e = ops->foreach_scope(estate, collect_scope, ev);
    if (e < 0) {
        evaluate_free(ev);
        if (e == -EINVAL)
            return perr_set(err, e,
                            "estate: a scope without account or region, or in the "
                            "global pseudo-region");
        return perr_set(err, e, "estate: cannot list scopes: %s", strerror(-e));
    }
    *ret = ev;
    return 0;
}

static const char *account_partition(const struct evaluate *ev, const char *account)
{
    for (size_t i = 0; i < ev->n_scopes; i++)
        if (str_eq(ev->scopes[i].account, account))
            return ev->scopes[i].partition;
    return "aws";
}

/* The evaluation context of one predicate. */
struct ectx {
    struct evaluate *ev;
    const struct resource *res; /* NULL for region and account contexts */
    const json_t *node;         /* relative paths start here; may be NULL */
    bool top;                   /* node is res->attrs: the unknown map applies */
    const char *account;
    const char *region;
    int err; /* first hard error (-ENOMEM, estate failure) */
};

/* Detail buffers: d == NULL means "no detail wanted" (the fast path). */
static void dset(char *d, size_t n, const char *fmt, ...) PLUMB_PRINTF(3, 4);
static void dcat(char *d, size_t n, const char *fmt, ...) PLUMB_PRINTF(3, 4);

static void dvcat(char *d, size_t n, size_t at, const char *fmt, va_list ap) PLUMB_PRINTF(4, 0);
static void dvcat(char *d, size_t n, size_t at, const char *fmt, va_list ap)
{
    int r;
    if (!d || n == 0 || at >= n)
        return;
    r = vsnprintf(d + at, n - at, fmt, ap);
    if (r >= 0 && (size_t)r >= n - at && n >= 4)
        memcpy(d + n - 4, "...", 4);
}

static void dset(char *d, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (!d || n == 0)
        return;
    d[0] = '\0';
    va_start(ap, fmt);
    dvcat(d, n, 0, fmt, ap);
    va_end(ap);
}

static void dcat(char *d, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (!d || n == 0)
        return;
    va_start(ap, fmt);
    dvcat(d, n, strnlen(d, n), fmt, ap);
    va_end(ap);
}

/* Attribute names that hold secrets end like this (checked on the last
 * path key, case-insensitively): "master_password", "auth_token",
 * "secret_access_key".  "password_enabled" or "http_tokens" do not. */
static bool secret_name(const char *key)
{
    static const char *const suffixes[] = { "password",    "passwd",     "passphrase",
                                            "secret",      "secret_key", "token",
                                            "private_key", "credential", "credentials" };
    char low[64];
    size_t i;
    if (!key)
        return false;
    for (i = 0; key[i] && i < sizeof(low) - 1; i++)
        low[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
    low[i] = '\0';
    for (i = 0; i < ARRAY_SIZE(suffixes); i++)
        if (str_has_suffix(low, suffixes[i]))
            return true;
    return false;
}

static const char *path_last_key(const struct path *p)
{
    for (size_t i = p->n; i > 0; i--)
        if (p->segs[i - 1].key)
            return p->segs[i - 1].key;
    return NULL;
}

/* A short rendering of a JSON value for details. */
static void fmt_value(const json_t *v, char *out, size_t n)
{
    char *s;
    if (n == 0)
        return;
    out[0] = '\0';
    if (!v) {
        snprintf(out, n, "absent");
        return;
    }
    if (json_is_string(v)) {
        const char *x = json_string_value(v);
        size_t l = strlen(x);
        if (l > 60)
            snprintf(out, n, "\"%.57s...\"", x);
        else
            snprintf(out, n, "\"%s\"", x);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_INTEGER: snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); return;
    case JSON_REAL: snprintf(out, n, "%.17g", json_real_value(v)); return;
    case JSON_TRUE: snprintf(out, n, "true"); return;
    case JSON_FALSE: snprintf(out, n, "false"); return;
    case JSON_NULL: snprintf(out, n, "null"); return;
    default: break;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        snprintf(out, n, "(%s)", json_kind(v));
        return;
    }
    if (strlen(s) > 60)
        snprintf(out, n, "%.57s...", s);
    else
        snprintf(out, n, "%s", s);
    free(s);
}

enum lookup {
    LK_FOUND,
    LK_MISSING,
    LK_UNKNOWN,
};

/* Resolve a path in the context.  *tmp receives a new reference when the
 * value had to be made up (pseudo attributes); the caller releases it. */
static enum lookup lookup(struct ectx *c, const struct path *p, const json_t **ret, json_t **tmp,
                          const char **why)
{
    const json_t *v = NULL;
    const char *s = NULL;
    size_t i = 0;

    *tmp = NULL;
    *ret = NULL;
    *why = NULL;
    switch (p->root) {
    case ROOT_NODE: v = c->node; break;
    case ROOT_SELF: v = c->node; break;
    case ROOT_TAGS: v = c->res ? c->res->tags : NULL; break;
    case ROOT_ID:
        /* Region and account contexts are identified like their findings. */
        if (c->res)
            s = c->res->id;
        else
            s = str_eq(c->region, RESOURCE_REGION_GLOBAL) ? c->account : c->region;
        break;
    case ROOT_ARN: s = c->res ? c->res->arn : NULL; break;
    case ROOT_REGION: s = c->res ? c->res->region : c->region; break;
    case ROOT_ACCOUNT: s = c->res ? c->res->account : c->account; break;
    case ROOT_TYPE: s = c->res ? c->res->type : NULL; break;
    case ROOT_CONST:
        if (!p->value || json_is_null(p->value))
            return LK_MISSING;
        *ret = p->value;
        return LK_FOUND;
    }
    if (p->root != ROOT_NODE && p->root != ROOT_SELF && p->root != ROOT_TAGS) {
        if (!s)
            return LK_MISSING;
        *tmp = json_string(s);
        if (!*tmp) {
            c->err = -ENOMEM;
            *why = "out of memory";
            return LK_UNKNOWN;
        }
        *ret = *tmp;
        return LK_FOUND;
    }
    if (p->root == ROOT_NODE && c->top && c->res && p->n > 0 && p->segs[0].key) {
        const json_t *u = json_object_get(c->res->unknown, p->segs[0].key);
        if (!u)
            u = json_object_get(c->res->unknown, p->text);
        if (u) {
            *why = json_is_string(u) ? json_string_value(u) : "not collected";
            return LK_UNKNOWN;
        }
    }
    for (i = 0; v && i < p->n; i++) {
        if (p->segs[i].key)
            v = json_is_object(v) ? json_object_get(v, p->segs[i].key) : NULL;
        else
            v = json_is_array(v) ? json_array_get(v, p->segs[i].index) : NULL;
    }
    if (!v || json_is_null(v))
        return LK_MISSING;
    *ret = v;
    return LK_FOUND;
}

static bool is_empty_value(const json_t *v)
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

/* Equality with numbers compared by value (1 == 1.0). */
static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static bool in_array(const json_t *arr, const json_t *v)
{
    size_t i;
    json_t *x;
    json_array_foreach (arr, i, x) {
        if (values_equal(x, v))
            return true;
    }
    return false;
}

/* A number from a JSON number or a numeric string (credential reports
 * and ELB attributes carry numbers as strings). */
static bool number_of(const json_t *v, double *ret)
{
    if (json_is_number(v)) {
        *ret = json_number_value(v);
        return true;
    }
    if (json_is_string(v) && parse_double(json_string_value(v), ret) == 0)
        return true;
    return false;
}

static bool string_op(enum op op, const char *s, const char *pat)
{
    switch (op) {
    case OP_PREFIX: return str_has_prefix(s, pat);
    case OP_SUFFIX: return str_has_suffix(s, pat);
    case OP_MATCHES: return fnmatch(pat, s, 0) == 0;
    default: return false;
    }
}

static enum tv eval(struct ectx *c, const struct pred *p, char *d, size_t dn);

/* Is the IPv4/IPv6 CIDR (or bare address) a /0, i.e. the whole internet? */
static bool cidr_is_world(const char *cidr)
{
    const char *slash = strchr(cidr, '/');
    char addr[64];
    unsigned char buf[16];
    int64_t bits;
    if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
        return false;
    memcpy(addr, cidr, (size_t)(slash - cidr));
    addr[slash - cidr] = '\0';
    if (parse_int64(slash + 1, &bits) < 0 || bits != 0)
        return false;
    return inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1;
}

/* A security group rule (inline ingress block of aws_security_group, or an
 * aws_vpc_security_group_ingress_rule) open to the internet on one of the
 * ports. */
static enum tv eval_sg(struct ectx *c, const struct pred *p, char *d, size_t dn)
{
    const json_t *n = c->node;
    const json_t *proto, *from, *to, *v;
    const char *ps;
    char pbuf[16];
    const char *world = NULL;
    double fromd, tod;
    bool all_proto, proto_ok = false;

    if (!json_is_object(n)) {
        dset(d, dn, "security group rule not available");
        return TV_UNKNOWN;
    }
    proto = json_object_get(n, "protocol");
    if (!proto)
        proto = json_object_get(n, "ip_protocol");
    if (json_is_integer(proto)) {
        snprintf(pbuf, sizeof(pbuf), "%lld", (long long)json_integer_value(proto));
        ps = pbuf;
    } else if (json_is_string(proto)) {
        ps = json_string_value(proto);
    } else {
        dset(d, dn, "rule protocol absent");
        return TV_UNKNOWN;
    }
    all_proto = str_eq(ps, "-1") || str_eq_ci(ps, "all");
    if (!all_proto)
        for (size_t i = 0; p->protocols[i]; i++) {
            const char *want = p->protocols[i];
            if (str_eq_ci(ps, want) || (str_eq_ci(want, "tcp") && str_eq(ps, "6")) ||
                (str_eq_ci(want, "udp") && str_eq(ps, "17")))
                proto_ok = true;
        }
    /* Sources: the first world-open CIDR wins. */
    v = json_object_get(n, "cidr_blocks");
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach (v, i, x) {
            if (!world && json_is_string(x) && cidr_is_world(json_string_value(x)))
                world = json_string_value(x);
        }
    }
    v = json_object_get(n, "ipv6_cidr_blocks");
    if (!world && json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach (v, i, x) {
            if (!world && json_is_string(x) && cidr_is_world(json_string_value(x)))
                world = json_string_value(x);
        }
    }
    v = json_object_get(n, "cidr_ipv4");
    if (!world && json_is_string(v) && cidr_is_world(json_string_value(v)))
        world = json_string_value(v);
    v = json_object_get(n, "cidr_ipv6");
    if (!world && json_is_string(v) && cidr_is_world(json_string_value(v)))
        world = json_string_value(v);
    if (!world) {
        dset(d, dn, "rule (%s) is not open to 0.0.0.0/0 or ::/0", ps);
        return TV_FALSE;
    }
    if (!all_proto && !proto_ok) {
        dset(d, dn, "rule from %s uses protocol %s", world, ps);
        return TV_FALSE;
    }
    if (all_proto) {
        dset(d, dn, "rule allows all protocols and ports from %s", world);
        return TV_TRUE;
    }
    from = json_object_get(n, "from_port");
    to = json_object_get(n, "to_port");
    if (!number_of(from, &fromd) || !number_of(to, &tod)) {
        dset(d, dn, "rule from %s has no port range", world);
        return TV_UNKNOWN;
    }
    if (p->all_ports) {
        if (fromd <= 1 && tod >= 65535) {
            dset(d, dn, "rule allows %s ports %.0f-%.0f from %s", ps, fromd, tod, world);
            return TV_TRUE;
        }
        dset(d, dn, "rule from %s is limited to %s ports %.0f-%.0f", world, ps, fromd, tod);
        return TV_FALSE;
    }
    /* A -1 range with a port protocol means "all ports" in some APIs. */
    if (fromd < 0 && tod < 0) {
        fromd = 0;
        tod = 65535;
    }
    for (size_t i = 0; i < p->n_ports; i++)
        if ((double)p->ports[i] >= fromd && (double)p->ports[i] <= tod) {
            if (fromd == tod)
                dset(d, dn, "rule allows %s port %ld from %s", ps, p->ports[i], world);
            else
                dset(d, dn, "rule allows %s ports %.0f-%.0f (incl. %ld) from %s", ps, fromd, tod,
                     p->ports[i], world);
            return TV_TRUE;
        }
    dset(d, dn, "rule from %s covers %s ports %.0f-%.0f only", world, ps, fromd, tod);
    return TV_FALSE;
}

static bool json_str_or_list_has(const json_t *v, bool (*pred)(const char *))
{
    size_t i;
    json_t *x;
    if (json_is_string(v))
        return pred(json_string_value(v));
    if (json_is_array(v))
        json_array_foreach (v, i, x) {
            if (json_is_string(x) && pred(json_string_value(x)))
                return true;
        }
    return false;
}

static bool is_star(const char *s)
{
    return str_eq(s, "*");
}

static bool is_s3_all(const char *s)
{
    return str_eq(s, "*") || str_eq_ci(s, "s3:*");
}

static bool is_false_str(const char *s)
{
    return str_eq_ci(s, "false");
}

/* Does the statement deny requests that are not made over TLS? */
static bool statement_denies_plain(const json_t *st)
{
    const json_t *pr, *cond, *k, *b;
    const char *ck;
    bool any_principal = false;

    if (!json_is_object(st) || !str_eq(json_string_value(json_object_get(st, "Effect")), "Deny"))
        return false;
    pr = json_object_get(st, "Principal");
    if (json_is_string(pr))
        any_principal = is_star(json_string_value(pr));
    else if (json_is_object(pr))
        any_principal = json_str_or_list_has(json_object_get(pr, "AWS"), is_star);
    if (!any_principal)
        return false;
    if (!json_str_or_list_has(json_object_get(st, "Action"), is_s3_all))
        return false;
    cond = json_object_get(st, "Condition");
    if (!json_is_object(cond))
        return false;
    json_object_foreach ((json_t *)cond, ck, b) {
        const char *kk;
        if (!str_eq_ci(ck, "Bool") || !json_is_object(b))
            continue;
        /* Condition keys are case-insensitive in IAM. */
        json_object_foreach ((json_t *)b, kk, k) {
            if (!str_eq_ci(kk, "aws:SecureTransport"))
                continue;
            if (json_is_false(k) || json_str_or_list_has(k, is_false_str))
                return true;
        }
    }
    return false;
}

static enum tv eval_policy_tls(const json_t *v, char *d, size_t dn)
{
    json_t *doc = NULL;
    const json_t *st;
    json_error_t jerr;
    enum tv r = TV_FALSE;

    if (json_is_string(v)) {
        if (json_string_length(v) == 0) {
            dset(d, dn, "no bucket policy");
            return TV_FALSE;
        }
        if (json_string_length(v) > EVALUATE_POLICY_MAX) {
            dset(d, dn, "policy too large to check");
            return TV_UNKNOWN;
        }
        doc = json_loads(json_string_value(v), 0, &jerr);
        if (!doc) {
            dset(d, dn, "policy is not valid JSON (line %d)", jerr.line);
            return TV_UNKNOWN;
        }
    } else if (json_is_object(v)) {
        doc = json_incref((json_t *)v);
    } else {
        dset(d, dn, "policy is a %s", json_kind(v));
        return TV_UNKNOWN;
    }
    st = json_object_get(doc, "Statement");
    if (json_is_object(st)) {
        if (statement_denies_plain(st))
            r = TV_TRUE;
    } else if (json_is_array(st)) {
        size_t i;
        json_t *x;
        json_array_foreach (st, i, x) {
            if (statement_denies_plain(x))
                r = TV_TRUE;
        }
    }
    if (r == TV_TRUE)
        dset(d, dn, "policy denies aws:SecureTransport=false");
    else
        dset(d, dn, "policy has no Deny statement for aws:SecureTransport=false");
    json_decref(doc);
    return r;
}

static enum tv eval_quant(struct ectx *c, const struct pred *p, const json_t *list, char *d,
                          size_t dn)
{
    struct ectx sub = *c;
    char tmp[EVALUATE_DETAIL_MAX];
    char *td = d ? tmp : NULL;
    char unk[EVALUATE_DETAIL_MAX] = "";
    char miss[EVALUATE_DETAIL_MAX] = "";
    bool unknown = false;
    const char *name = p->path.text;
    enum op op = p->op->op;
    void *it = NULL;
    size_t n;

    if (!json_is_array(list) && !json_is_object(list)) {
        dset(d, dn, "%s is not a list", name);
        return TV_UNKNOWN;
    }
    n = json_is_array(list) ? json_array_size(list) : json_object_size(list);
    if (n == 0) {
        dset(d, dn, "%s is empty", name);
        return op == OP_ANY_OF ? TV_FALSE : TV_TRUE;
    }
    sub.top = false;
    if (json_is_object(list))
        it = json_object_iter((json_t *)list);
    for (size_t i = 0; i < n; i++) {
        char label[96];
        const char *sep, *body;
        enum tv r;
        if (json_is_array(list)) {
            sub.node = json_array_get(list, i);
            snprintf(label, sizeof(label), "%s[%zu]", name, i);
        } else {
            sub.node = json_object_iter_value(it);
            snprintf(label, sizeof(label), "%s[\"%s\"]", name, json_object_iter_key(it));
            it = json_object_iter_next((json_t *)list, it);
        }
        if (td)
            td[0] = '\0';
        r = eval(&sub, p->sub, td, sizeof(tmp));
        if (sub.err) {
            c->err = sub.err;
            return TV_UNKNOWN;
        }
        /* "l[1]: @ is 5" reads better as "l[1] is 5". */
        sep = td && str_has_prefix(tmp, "@ ") ? "" : ": ";
        body = td && !sep[0] ? tmp + 1 : tmp;
        /* The decisive element ends the walk. */
        if ((op == OP_ANY_OF && r == TV_TRUE) || (op == OP_ALL_OF && r == TV_FALSE) ||
            (op == OP_NONE_OF && r == TV_TRUE)) {
            dset(d, dn, "%s%s%s", label, sep, body);
            return op == OP_ANY_OF ? TV_TRUE : TV_FALSE;
        }
        if (r == TV_UNKNOWN && !unknown) {
            unknown = true;
            if (d)
                dset(unk, sizeof(unk), "%s%s%s", label, sep, body);
        } else if (r == TV_FALSE && op == OP_ANY_OF && d && !miss[0]) {
            dset(miss, sizeof(miss), "%s%s%s", label, sep, body);
        }
    }
    if (unknown) {
        dset(d, dn, "%s", unk);
        return TV_UNKNOWN;
    }
    if (op == OP_ANY_OF) {
        if (n == 1)
            dset(d, dn, "%s", miss);
        else
            dset(d, dn, "no element of %s qualifies (%s)", name, miss);
        return TV_FALSE;
    }
    if (op == OP_ALL_OF)
        dset(d, dn, "all %zu elements of %s qualify", n, name);
    else
        dset(d, dn, "no element of %s matches", name);
    return TV_TRUE;
}

static enum tv eval_attr(struct ectx *c, const struct pred *p, char *d, size_t dn)
{
    const json_t *v;
    json_t *tmp = NULL;
    const char *why;
    enum lookup lk = lookup(c, &p->path, &v, &tmp, &why);
    const char *name = p->path.text;
    enum op op = p->op->op;
    enum tv r = TV_UNKNOWN;
    char vb[96], ob[96];
    bool hide = p->secret;

    if (lk == LK_UNKNOWN) {
        dset(d, dn, "%s unknown (%s)", name, why);
        goto out;
    }
    if (lk == LK_MISSING && p->dflt) {
        v = p->dflt;
        lk = LK_FOUND;
    }
    if (op == OP_EXISTS || op == OP_ABSENT || op == OP_EMPTY) {
        bool want = json_is_true(p->operand);
        bool have = op == OP_EMPTY ? is_empty_value(v) : (lk == LK_FOUND);
        if (op == OP_ABSENT)
            want = !want;
        r = have == want ? TV_TRUE : TV_FALSE;
        if (d) {
            if (lk != LK_FOUND)
                dset(d, dn, "%s is absent", name);
            else if (op == OP_EMPTY && have)
                dset(d, dn, "%s is empty", name);
            else if (hide)
                dset(d, dn, "%s is set", name);
            else {
                fmt_value(v, vb, sizeof(vb));
                dset(d, dn, "%s is %s", name, vb);
            }
        }
        goto out;
    }
    if (lk == LK_MISSING) {
        dset(d, dn, "%s is absent", name);
        r = TV_UNKNOWN;
        goto out;
    }
    if (op == OP_ANY_OF || op == OP_ALL_OF || op == OP_NONE_OF) {
        r = eval_quant(c, p, v, d, dn);
        goto out;
    }
    if (op == OP_POLICY_TLS) {
        r = eval_policy_tls(v, d, dn);
        goto out;
    }
    if (d) {
        if (hide)
            snprintf(vb, sizeof(vb), "set");
        else
            fmt_value(v, vb, sizeof(vb));
    }
    switch (op) {
    case OP_EQ: r = values_equal(v, p->operand) ? TV_TRUE : TV_FALSE; break;
    case OP_NE: r = values_equal(v, p->operand) ? TV_FALSE : TV_TRUE; break;
    case OP_IN: r = in_array(p->operand, v) ? TV_TRUE : TV_FALSE; break;
    case OP_NOT_IN: r = in_array(p->operand, v) ? TV_FALSE : TV_TRUE; break;
    case OP_GT:
    case OP_GTE:
    case OP_LT:
    case OP_LTE: {
        double x;
        if (!number_of(v, &x)) {
            dset(d, dn, "%s is %s, not a number", name, vb);
            r = TV_UNKNOWN;
            goto out;
        }
        r = (op == OP_GT    ? x > p->num
             : op == OP_GTE ? x >= p->num
             : op == OP_LT  ? x < p->num
                            : x <= p->num)
                ? TV_TRUE
                : TV_FALSE;
        break;
    }
    case OP_REGEX:
        if (!json_is_string(v)) {
            dset(d, dn, "%s is %s, not a string", name, vb);
            r = TV_UNKNOWN;
            goto out;
        }
        r = TV_FALSE;
        for (size_t i = 0; i < p->n_regs; i++)
            if (regexec(&p->regs[i], json_string_value(v), 0, NULL, 0) == 0)
                r = TV_TRUE;
        break;
    case OP_PREFIX:
    case OP_SUFFIX:
    case OP_MATCHES:
        if (!json_is_string(v)) {
            dset(d, dn, "%s is %s, not a string", name, vb);
            r = TV_UNKNOWN;
            goto out;
        }
        r = TV_FALSE;
        if (json_is_string(p->operand)) {
            if (string_op(op, json_string_value(v), json_string_value(p->operand)))
                r = TV_TRUE;
        } else {
            size_t i;
            json_t *x;
            json_array_foreach (p->operand, i, x) {
                if (string_op(op, json_string_value(v), json_string_value(x)))
                    r = TV_TRUE;
            }
        }
        break;
    case OP_CONTAINS:
        if (json_is_array(v)) {
            r = in_array(v, p->operand) ? TV_TRUE : TV_FALSE;
        } else if (json_is_string(v) && json_is_string(p->operand)) {
            r = strstr(json_string_value(v), json_string_value(p->operand)) ? TV_TRUE : TV_FALSE;
        } else {
            dset(d, dn, "%s is %s, not a list or string", name, vb);
            r = TV_UNKNOWN;
            goto out;
        }
        break;
    case OP_OLDER:
    case OP_NEWER:
    case OP_AHEAD: {
        int64_t t, lim;
        if (!json_is_string(v) || time_parse_iso8601(json_string_value(v), &t) < 0) {
            dset(d, dn, "%s is %s, not a time", name, vb);
            r = TV_UNKNOWN;
            goto out;
        }
        if (op == OP_AHEAD) {
            lim = c->ev->now + (int64_t)(p->num * (double)DAY_MS);
            r = t > lim ? TV_TRUE : TV_FALSE;
        } else {
            lim = c->ev->now - (int64_t)(p->num * (double)DAY_MS);
            r = (op == OP_OLDER ? t < lim : t > lim) ? TV_TRUE : TV_FALSE;
        }
        if (d) {
            double days = floor((double)(t - c->ev->now) / (double)DAY_MS);
            if (op == OP_AHEAD && days >= 0)
                dset(d, dn, "%s is %s (%.0f days from now)", name, vb, days);
            else if (op == OP_AHEAD)
                dset(d, dn, "%s is %s (%.0f days ago)", name, vb, -days);
            else
                dset(d, dn, "%s is %s (%.0f days ago)", name, vb, -days);
            if (r != TV_TRUE)
                dcat(d, dn, ", expected %s %g days", op == OP_NEWER ? "less than" : "more than",
                     p->num);
        }
        goto out;
    }
    default: break;
    }
    if (d) {
        fmt_value(p->operand, ob, sizeof(ob));
        if (r == TV_TRUE)
            dset(d, dn, "%s is %s", name, vb);
        else if (op == OP_EQ)
            dset(d, dn, "%s is %s, expected %s", name, vb, ob);
        else
            dset(d, dn, "%s is %s, expected %s %s", name, vb, p->op->phrase, ob);
    }
out:
    json_decref(tmp);
    return r;
}

/* ---- relations ---- */

struct rel_state {
    struct ectx *outer;
    const struct pred *p;
    const json_t **selfvals; /* one per match */
    int seen;                /* candidates evaluated */
    bool saw_true, saw_false, saw_unknown;
    bool want_detail;
    /* The candidate that decides (or, for "any", the first that failed)
     * and the first one that could not be evaluated. */
    char dec_id[96];
    char dec[EVALUATE_DETAIL_MAX];
    char unk_id[96];
    char unk[EVALUATE_DETAIL_MAX];
};

/* Relation keys compare as values, except that an ARN with a trailing
 * ":*" (CloudTrail stores log group ARNs that way) equals the ARN without. */
static bool match_equal(const json_t *a, const json_t *b)
{
    const char *x, *y;
    size_t lx, ly;
    if (values_equal(a, b))
        return true;
    if (!json_is_string(a) || !json_is_string(b))
        return false;
    x = json_string_value(a);
    y = json_string_value(b);
    lx = strlen(x);
    ly = strlen(y);
    if (lx == ly + 2 && str_has_suffix(x, ":*") && strncmp(x, y, ly) == 0)
        return str_has_prefix(x, "arn:");
    if (ly == lx + 2 && str_has_suffix(y, ":*") && strncmp(x, y, lx) == 0)
        return str_has_prefix(y, "arn:");
    return false;
}

static void rel_note(char *id, size_t idn, char *slot, size_t sn, const char *rid,
                     const char *detail)
{
    snprintf(id, idn, "%s", rid);
    snprintf(slot, sn, "%s", detail);
}

static int rel_visit(const struct resource *r, void *userdata)
{
    struct rel_state *st = userdata;
    struct ectx sub = { 0 };
    char tmp[EVALUATE_DETAIL_MAX] = "";
    enum quant q = st->p->quant;
    enum tv v;

    sub.ev = st->outer->ev;
    sub.res = r;
    sub.node = r->attrs;
    sub.top = true;
    sub.account = r->account;
    sub.region = r->region;
    for (size_t i = 0; i < st->p->n_matches; i++) {
        const json_t *rv;
        json_t *t;
        const char *why;
        enum lookup lk = lookup(&sub, &st->p->matches[i].rel, &rv, &t, &why);
        bool eq = lk == LK_FOUND && match_equal(rv, st->selfvals[i]);
        json_decref(t);
        if (sub.err)
            return sub.err;
        if (!eq)
            return 0;
    }
    st->seen++;
    if (st->p->sub) {
        v = eval(&sub, st->p->sub, st->want_detail ? tmp : NULL, sizeof(tmp));
    } else {
        v = TV_TRUE;
        dset(st->want_detail ? tmp : NULL, sizeof(tmp), "exists");
    }
    if (sub.err)
        return sub.err;
    if (v == TV_TRUE)
        st->saw_true = true;
    else if (v == TV_FALSE)
        st->saw_false = true;
    if ((q != Q_ALL && v == TV_TRUE) || (q == Q_ALL && v == TV_FALSE)) {
        rel_note(st->dec_id, sizeof(st->dec_id), st->dec, sizeof(st->dec), r->id, tmp);
        return 1; /* decided */
    }
    if (v == TV_FALSE && q == Q_ANY && !st->dec_id[0])
        rel_note(st->dec_id, sizeof(st->dec_id), st->dec, sizeof(st->dec), r->id, tmp);
    if (v == TV_UNKNOWN && !st->saw_unknown)
        rel_note(st->unk_id, sizeof(st->unk_id), st->unk, sizeof(st->unk), r->id, tmp);
    if (v == TV_UNKNOWN)
        st->saw_unknown = true;
    return 0;
}

static enum tv eval_related(struct ectx *c, const struct pred *p, char *d, size_t dn)
{
    struct rel_state st = { 0 };
    const json_t *selfvals[EVALUATE_MAX_DEPTH];
    json_t *tmps[EVALUATE_MAX_DEPTH] = { 0 };
    const char *regions_one[1];
    const char **regions = regions_one;
    size_t n_regions = 0;
    bool global = c->ev->ops->type_is_global(c->ev->estate, p->type);
    enum rel_scope scope = p->scope;
    char gap[160] = "";
    bool by_id = false, no_match = false;
    enum tv r = TV_UNKNOWN;
    int e = 0;

    if (scope == REL_DEFAULT)
        scope = (c->res || !str_eq(c->region, RESOURCE_REGION_GLOBAL)) ? REL_REGION : REL_ACCOUNT;
    /* "The same region" as a global resource means the whole account. */
    if (scope == REL_REGION && !global &&
        str_eq(c->res ? c->res->region : c->region, RESOURCE_REGION_GLOBAL))
        scope = REL_ACCOUNT;
    /* Values on our side of the match. */
    for (size_t i = 0; i < p->n_matches; i++) {
        const char *why;
        enum lookup lk = lookup(c, &p->matches[i].self, &selfvals[i], &tmps[i], &why);
        if (lk == LK_UNKNOWN) {
            dset(d, dn, "%s unknown (%s)", p->matches[i].self.text, why);
            goto out;
        }
        if (lk == LK_MISSING)
            no_match = true;
    }
    by_id = p->n_matches == 1 && p->matches[0].rel.root == ROOT_ID && !no_match &&
            json_is_string(selfvals[0]);

    /* Which regions to look in. */
    if (global) {
        regions_one[0] = RESOURCE_REGION_GLOBAL;
        n_regions = 1;
    } else if (scope == REL_REGION) {
        regions_one[0] = c->res ? c->res->region : c->region;
        n_regions = 1;
    } else {
        regions = calloc(c->ev->n_scopes + 1, sizeof(*regions));
        if (!regions) {
            c->err = -ENOMEM;
            regions = regions_one;
            goto out;
        }
        for (size_t i = 0; i < c->ev->n_scopes; i++)
            if (str_eq(c->ev->scopes[i].account, c->account))
                regions[n_regions++] = c->ev->scopes[i].region;
    }

    st.outer = c;
    st.p = p;
    st.selfvals = selfvals;
    st.want_detail = d != NULL;
    for (size_t i = 0; i < n_regions; i++) {
        enum collect_status cs;
        e = c->ev->ops->coverage(c->ev->estate, c->account, regions[i], p->type, &cs);
        if (e < 0)
            break;
        if (cs != COLLECT_OK) {
            if (!gap[0])
                snprintf(gap, sizeof(gap), "%s not collected in %s/%s: %s", p->type, c->account,
                         regions[i], collect_status_name(cs));
            continue;
        }
        if (no_match)
            continue;
        if (by_id)
            e = c->ev->ops->get_resource(c->ev->estate, p->type, c->account, regions[i],
                                         json_string_value(selfvals[0]), rel_visit, &st);
        else
            e = c->ev->ops->foreach_resource(c->ev->estate, p->type, c->account, regions[i],
                                             rel_visit, &st);
        if (e < 0)
            break;
        if (e > 0) { /* decided */
            e = 0;
            break;
        }
    }
    if (e < 0) {
        c->err = e;
        dset(d, dn, "cannot read %s: %s", p->type, strerror(-e));
        goto out;
    }

    switch (p->quant) {
    case Q_ANY:
        if (st.saw_true) {
            r = TV_TRUE;
            dset(d, dn, "%s %s: %s", p->type, st.dec_id, st.dec);
        } else if (st.saw_unknown) {
            r = TV_UNKNOWN;
            dset(d, dn, "%s %s: %s", p->type, st.unk_id, st.unk);
        } else if (gap[0]) {
            r = TV_UNKNOWN;
            dset(d, dn, "%s", gap);
        } else if (st.seen == 0) {
            r = p->missing_unknown ? TV_UNKNOWN : TV_FALSE;
            dset(d, dn, "no %s", p->type);
            for (size_t i = 0; d && i < p->n_matches; i++) {
                char vb[96];
                fmt_value(no_match ? NULL : selfvals[i], vb, sizeof(vb));
                dcat(d, dn, "%s %s = %s", i ? " and" : " with", p->matches[i].rel.text, vb);
            }
            if (scope == REL_ACCOUNT || global)
                dcat(d, dn, " in account %s", c->account);
            else
                dcat(d, dn, " in %s", regions[0]);
        } else {
            r = TV_FALSE;
            if (st.seen == 1)
                dset(d, dn, "%s %s: %s", p->type, st.dec_id, st.dec);
            else
                dset(d, dn, "none of %d %s qualifies (%s: %s)", st.seen, p->type, st.dec_id,
                     st.dec);
        }
        break;
    case Q_ALL:
    case Q_NONE:
        if ((p->quant == Q_ALL && st.saw_false) || (p->quant == Q_NONE && st.saw_true)) {
            r = TV_FALSE;
            dset(d, dn, "%s %s: %s", p->type, st.dec_id, st.dec);
        } else if (st.saw_unknown) {
            r = TV_UNKNOWN;
            dset(d, dn, "%s %s: %s", p->type, st.unk_id, st.unk);
        } else if (gap[0]) {
            r = TV_UNKNOWN;
            dset(d, dn, "%s", gap);
        } else if (st.seen == 0 && p->missing_unknown) {
            r = TV_UNKNOWN;
            dset(d, dn, "no %s found", p->type);
        } else {
            r = TV_TRUE;
            dset(d, dn, "%d %s checked", st.seen, p->type);
        }
        break;
    }
out:
    for (size_t i = 0; i < p->n_matches; i++)
        json_decref(tmps[i]);
    if (regions != regions_one)
        free(regions);
    return r;
}

/* A test of a parameter or of presence: a switch rather than a finding. */
static bool is_guard(const struct pred *p)
{
    if (p->kind != PK_ATTR)
        return false;
    return p->path.root == ROOT_CONST || p->op->op == OP_EXISTS || p->op->op == OP_ABSENT ||
           p->op->op == OP_EMPTY;
}

/* Join child details: "a; b" (a part already there is not repeated). */
static void djoin(char *d, size_t dn, const char *part)
{
    if (!d || !part[0] || strstr(d, part))
        return;
    if (d[0])
        dcat(d, dn, "; %s", part);
    else
        dset(d, dn, "%s", part);
}

static enum tv eval(struct ectx *c, const struct pred *p, char *d, size_t dn)
{
    char tmp[EVALUATE_DETAIL_MAX];
    char first_unknown[EVALUATE_DETAIL_MAX];
    char guards[EVALUATE_DETAIL_MAX];
    char *td = d ? tmp : NULL;
    bool unknown = false;
    enum tv r;

    if (d)
        d[0] = '\0';
    switch (p->kind) {
    case PK_CONST:
        dset(d, dn, "%s", p->value ? "always" : "never");
        return p->value ? TV_TRUE : TV_FALSE;
    case PK_NOT:
        r = eval(c, p->kids[0], d, dn);
        return r == TV_UNKNOWN ? TV_UNKNOWN : r == TV_TRUE ? TV_FALSE : TV_TRUE;
    case PK_ALL:
        first_unknown[0] = '\0';
        for (size_t i = 0; i < p->n_kids; i++) {
            r = eval(c, p->kids[i], td, sizeof(tmp));
            if (c->err)
                return TV_UNKNOWN;
            if (r == TV_FALSE) {
                dset(d, dn, "%s", tmp);
                return TV_FALSE;
            }
            if (r == TV_UNKNOWN && !unknown) {
                unknown = true;
                if (d)
                    snprintf(first_unknown, sizeof(first_unknown), "%s", tmp);
            } else if (r == TV_TRUE) {
                djoin(d, dn, tmp);
            }
        }
        if (unknown) {
            dset(d, dn, "%s", first_unknown);
            return TV_UNKNOWN;
        }
        return TV_TRUE;
    case PK_ANY:
        first_unknown[0] = '\0';
        guards[0] = '\0';
        for (size_t i = 0; i < p->n_kids; i++) {
            r = eval(c, p->kids[i], td, sizeof(tmp));
            if (c->err)
                return TV_UNKNOWN;
            if (r == TV_TRUE) {
                dset(d, dn, "%s", tmp);
                return TV_TRUE;
            }
            if (r == TV_UNKNOWN && !unknown) {
                unknown = true;
                if (d)
                    dset(first_unknown, sizeof(first_unknown), "%s", tmp);
            } else if (r == TV_FALSE && d) {
                /* Alternatives that only switch the rule on or off (a
                 * parameter, "x is empty") say little about why it
                 * failed; they are kept only if nothing else is. */
                if (is_guard(p->kids[i]))
                    djoin(guards, sizeof(guards), tmp);
                else
                    djoin(d, dn, tmp);
            }
        }
        if (unknown) {
            dset(d, dn, "%s", first_unknown);
            return TV_UNKNOWN;
        }
        if (d && !d[0])
            dset(d, dn, "%s", guards);
        return TV_FALSE;
    case PK_ATTR: return eval_attr(c, p, d, dn);
    case PK_RELATED: return eval_related(c, p, d, dn);
    case PK_SG_OPEN: return eval_sg(c, p, d, dn);
    }
    return TV_UNKNOWN;
}

/* Evaluate fast, and again with details when the answer needs explaining
 * (details cost formatting that passing resources never need). */
static enum tv eval_top(struct ectx *c, const struct pred *p, bool explain_true, char *d, size_t dn)
{
    enum tv r = eval(c, p, NULL, 0);
    if (c->err)
        return TV_UNKNOWN;
    if (r != TV_TRUE || explain_true) {
        enum tv r2 = eval(c, p, d, dn);
        (void)r2;
    } else {
        d[0] = '\0';
    }
    return r;
}

int evaluate_pred(struct evaluate *ev, const struct pred *p, const struct resource *r,
                  int *ret_value, char *detail, size_t detail_size, struct perr *err)
{
    struct ectx c = { 0 };
    char d[EVALUATE_DETAIL_MAX];
    enum tv v;

    c.ev = ev;
    c.res = r;
    c.node = r ? r->attrs : NULL;
    c.top = r != NULL;
    c.account = r ? r->account : NULL;
    c.region = r ? r->region : NULL;
    v = eval_top(&c, p, true, d, sizeof(d));
    if (c.err < 0)
        return perr_set(err, c.err, "evaluation failed: %s", strerror(-c.err));
    if (detail && detail_size)
        snprintf(detail, detail_size, "%s", d);
    *ret_value = v == TV_TRUE ? 1 : v == TV_FALSE ? 0 : -1;
    return 0;
}

/* ---- running controls ---- */

struct flist {
    struct finding **v;
    size_t n, cap;
};

static void flist_clear(struct flist *l)
{
    for (size_t i = 0; i < l->n; i++)
        finding_free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

struct run {
    struct evaluate *ev;
    const struct control *c;
    struct flist out;
    bool skip_unused;
    /* for resource scopes */
    const char *partition;
    bool in_use;
    enum collect_status cov;
};

static int emit(struct run *run, enum finding_status st, const char *partition, const char *account,
                const char *region, const char *rtype, const char *rid, const char *aws_type,
                const char *arn, const char *detail, bool warning)
{
    struct finding *f;
    if (run->out.n == run->out.cap) {
        size_t cap = run->out.cap ? run->out.cap * 2 : 64;
        struct finding **nv = realloc(run->out.v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        run->out.v = nv;
        run->out.cap = cap;
    }
    f = finding_build(run->c, st, warning ? CONTROL_SEVERITY_LOW : run->c->severity, warning,
                      partition ? partition : "aws", account, region, rtype, rid, aws_type, arn,
                      detail, run->ev->now, 0);
    if (!f)
        return -ENOMEM;
    run->out.v[run->out.n++] = f;
    return 0;
}

/* Evaluate the control in one context and emit its finding. */
static int judge(struct run *run, struct ectx *c, const char *partition, const char *rtype,
                 const char *rid, const char *aws_type, const char *arn)
{
    const struct control *ctl = run->c;
    char d[EVALUATE_DETAIL_MAX];
    char full[EVALUATE_DETAIL_MAX + 32];
    enum tv v;
    bool warning = false;

    d[0] = '\0';
    if (ctl->applies_if) {
        v = eval_top(c, ctl->applies_if, false, d, sizeof(d));
        if (c->err)
            return c->err;
        if (v == TV_FALSE) {
            snprintf(full, sizeof(full), "not applicable: %s", d);
            return emit(run, FINDING_NOT_APPLICABLE, partition, c->account, c->region, rtype, rid,
                        aws_type, arn, full, false);
        }
        if (v == TV_UNKNOWN)
            return emit(run, FINDING_UNKNOWN, partition, c->account, c->region, rtype, rid,
                        aws_type, arn, d, false);
    }
    v = eval_top(c, ctl->evaluation, false, d, sizeof(d));
    if (c->err)
        return c->err;
    if (v == TV_FALSE && ctl->warn_if) {
        char wd[EVALUATE_DETAIL_MAX];
        enum tv w = eval_top(c, ctl->warn_if, false, wd, sizeof(wd));
        if (c->err)
            return c->err;
        warning = w == TV_TRUE;
    }
    return emit(run,
                v == TV_TRUE    ? FINDING_PASS
                : v == TV_FALSE ? FINDING_FAIL
                                : FINDING_UNKNOWN,
                partition, c->account, c->region, rtype, rid, aws_type, arn, d, warning);
}

static int judge_resource(const struct resource *r, void *userdata)
{
    struct run *run = userdata;
    struct ectx c = { 0 };
    const char *part = r->partition ? r->partition : run->partition;
    char d[160];

    c.ev = run->ev;
    c.res = r;
    c.node = r->attrs;
    c.top = true;
    c.account = r->account;
    c.region = r->region;
    if (!run->in_use && run->skip_unused)
        return emit(run, FINDING_NOT_APPLICABLE, part, r->account, r->region, r->type, r->id,
                    r->aws_type, r->arn, "region unused", false);
    if (run->cov != COLLECT_OK) {
        snprintf(d, sizeof(d), "%s not collected in %s/%s: %s", r->type, r->account, r->region,
                 collect_status_name(run->cov));
        return emit(run, FINDING_UNKNOWN, part, r->account, r->region, r->type, r->id, r->aws_type,
                    r->arn, d, false);
    }
    return judge(run, &c, part, r->type, r->id, r->aws_type, r->arn);
}

static int run_resource_scope(struct run *run, const char *account, const char *partition,
                              const char *region, bool in_use)
{
    struct evaluate *ev = run->ev;
    const char *type = run->c->scope;
    int e = ev->ops->coverage(ev->estate, account, region, type, &run->cov);
    if (e < 0)
        return e;
    run->partition = partition;
    run->in_use = in_use;
    if (run->cov != COLLECT_OK && !(!in_use && run->skip_unused)) {
        char d[160];
        bool global = str_eq(region, RESOURCE_REGION_GLOBAL);
        snprintf(d, sizeof(d), "%s not collected in %s/%s: %s", type, account, region,
                 collect_status_name(run->cov));
        e = emit(run, FINDING_UNKNOWN, partition, account, region, global ? "account" : "region",
                 global ? account : region, NULL, NULL, d, false);
        if (e < 0)
            return e;
    }
    return ev->ops->foreach_resource(ev->estate, type, account, region, judge_resource, run);
}

static bool control_skips_unused(const struct control *c)
{
    const json_t *v = json_object_get(c->parameters, "scan_unused");
    return v && json_is_false(v);
}

int evaluate_control(struct evaluate *ev, const struct control *c, evaluate_finding_cb cb,
                     void *userdata, struct perr *err)
{
    struct run run = { 0 };
    int e = 0;

    if (!c->enabled)
        return 0;
    run.ev = ev;
    run.c = c;
    run.skip_unused = control_skips_unused(c);

    switch (c->scope_kind) {
    case CONTROL_SCOPE_RESOURCE:
        if (ev->ops->type_is_global(ev->estate, c->scope)) {
            for (size_t i = 0; ev->accounts[i] && e >= 0; i++)
                e = run_resource_scope(&run, ev->accounts[i],
                                       account_partition(ev, ev->accounts[i]),
                                       RESOURCE_REGION_GLOBAL, true);
        } else {
            for (size_t i = 0; i < ev->n_scopes && e >= 0; i++)
                e = run_resource_scope(&run, ev->scopes[i].account, ev->scopes[i].partition,
                                       ev->scopes[i].region, ev->scopes[i].in_use);
        }
        break;
    case CONTROL_SCOPE_REGION:
        for (size_t i = 0; i < ev->n_scopes && e >= 0; i++) {
            const struct scope_rec *s = &ev->scopes[i];
            struct ectx ctx = { 0 };
            if (!s->in_use && run.skip_unused) {
                e = emit(&run, FINDING_NOT_APPLICABLE, s->partition, s->account, s->region,
                         "region", s->region, NULL, NULL, "region unused", false);
                continue;
            }
            ctx.ev = ev;
            ctx.account = s->account;
            ctx.region = s->region;
            e = judge(&run, &ctx, s->partition, "region", s->region, NULL, NULL);
        }
        break;
    case CONTROL_SCOPE_ACCOUNT:
        for (size_t i = 0; ev->accounts[i] && e >= 0; i++) {
            struct ectx ctx = { 0 };
            ctx.ev = ev;
            ctx.account = ev->accounts[i];
            ctx.region = RESOURCE_REGION_GLOBAL;
            e = judge(&run, &ctx, account_partition(ev, ev->accounts[i]), "account",
                      ev->accounts[i], NULL, NULL);
        }
        break;
    }
    if (e < 0) {
        flist_clear(&run.out);
        if (e == -ENOMEM)
            return perr_set(err, e, "control '%s': out of memory", c->id);
        return perr_set(err, e, "control '%s': cannot read the estate: %s", c->id, strerror(-e));
    }
    for (size_t i = 0; i < run.out.n; i++) {
        e = cb(run.out.v[i], userdata);
        if (e != 0)
            break;
    }
    flist_clear(&run.out);
    return e;
}

int evaluate_catalogue(struct evaluate *ev, const struct catalogue *cat, evaluate_finding_cb cb,
                       void *userdata, struct perr *err)
{
    for (size_t i = 0; i < cat->n; i++) {
        int e = evaluate_control(ev, cat->controls[i], cb, userdata, err);
        if (e != 0)
            return e;
    }
    return 0;
}
