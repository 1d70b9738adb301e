#include "tfstate.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Addresses and paths are short; this only guards against absurd input. */
#define TFSTATE_MAX_STRING ((size_t)64 << 10)

struct parser {
    const char *name; /* for messages */
    struct perr *err;
    json_t *seen; /* address (+ deposed key) -> true, to catch duplicates */
};

const char *tfstate_mode_name(enum tfstate_mode m)
{
    return m == TFSTATE_DATA ? "data" : "managed";
}

static void instance_clear(struct tfstate_instance *inst)
{
    free(inst->address);
    free(inst->module);
    free(inst->type);
    free(inst->name);
    free(inst->index_str);
    free(inst->provider);
    free(inst->provider_alias);
    free(inst->provider_config);
    free(inst->deposed);
    json_decref(inst->attributes);
    strv_free(inst->sensitive);
    strv_free(inst->dependencies);
    memset(inst, 0, sizeof(*inst));
}

struct tfstate *tfstate_free(struct tfstate *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->n_instances; i++)
        instance_clear(&s->instances[i]);
    free(s->instances);
    free(s->terraform_version);
    free(s->lineage);
    free(s);
    return NULL;
}

const char *tfstate_instance_id(const struct tfstate_instance *inst)
{
    json_t *id = inst ? json_object_get(inst->attributes, "id") : NULL;
    return json_is_string(id) ? json_string_value(id) : NULL;
}

static const char *json_kind(const json_t *v)
{
    if (!v)
        return "missing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a JSON value";
}

/* Overwrite every string and number below v so that a secret does not
 * linger in freed heap memory once v is released. */
static void wipe(json_t *v)
{
    const char *key;
    json_t *child;
    size_t i;

    if (!v)
        return;
    switch (json_typeof(v)) {
    case JSON_STRING:
        /* jansson owns a private, writable copy of every string. */
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: json_integer_set(v, 0); break;
    case JSON_REAL: json_real_set(v, 0.0); break;
    case JSON_OBJECT:
        json_object_foreach (v, key, child)
            wipe(child);
        break;
    case JSON_ARRAY:
        json_array_foreach (v, i, child)
            wipe(child);
        break;
    default: break;
    }
}

/* Append a string index key as ["..."], escaping like JSON. */
static int append_quoted_key(struct buf *b, const char *s)
{
    int r = buf_append_str(b, "[\"");
    for (const unsigned char *p = (const unsigned char *)s; r >= 0 && *p; p++) {
        switch (*p) {
        case '"': r = buf_append_str(b, "\\\""); break;
        case '\\': r = buf_append_str(b, "\\\\"); break;
        case '\n': r = buf_append_str(b, "\\n"); break;
        case '\r': r = buf_append_str(b, "\\r"); break;
        case '\t': r = buf_append_str(b, "\\t"); break;
        default:
            if (*p < 0x20)
                r = buf_appendf(b, "\\u%04x", *p);
            else
                r = buf_append_char(b, (char)*p);
        }
    }
    return r < 0 ? r : buf_append_str(b, "\"]");
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Length of one "module.NAME", "module.NAME[3]" or "module.NAME[\"k\"]"
 * step at s, or 0 if s does not start with one. */
static size_t scan_module_step(const char *s)
{
    const char *p = s;

    if (strncmp(p, "module.", 7) != 0)
        return 0;
    p += 7;
    if (!isalpha((unsigned char)*p) && *p != '_')
        return 0;
    while (is_name_char(*p))
        p++;
    if (*p == '[') {
        p++;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && !*++p)
                    return 0;
            if (*p != '"')
                return 0;
            p++;
        } else {
            if (!isdigit((unsigned char)*p))
                return 0;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (*p != ']')
            return 0;
        p++;
    }
    return (size_t)(p - s);
}

/* Length of the module instance path at the start of s ("" -> 0): steps
 * joined by '.', not including a trailing '.'. */
static size_t scan_module_path(const char *s)
{
    size_t n = 0, l;

    while ((l = scan_module_step(s + n)) > 0) {
        n += l;
        if (s[n] != '.' || scan_module_step(s + n + 1) == 0)
            break;
        n++;
    }
    return n;
}

static int dup_trimmed(const char *s, size_t len, char **ret)
{
    *ret = str_ndup(s, len);
    if (!*ret)
        return -ENOMEM;
    str_trim(*ret);
    return 0;
}

static bool is_identifier(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_name_char(*s))
            return false;
    return true;
}

/* Normalise a provider source ("hashicorp/aws", "registry.terraform.io/-/aws")
 * to hostname/namespace/type in lower case.  The namespace "-" is what
 * Terraform 0.13 wrote for providers it had not yet resolved from legacy
 * addresses; those are the hashicorp ones. */
static int normalise_source(const char *src, char **ret)
{
    const char *parts[3] = { 0 };
    size_t lens[3] = { 0 }, n = 0;
    const char *p = src, *host = "registry.terraform.io", *ns = "hashicorp";
    int host_len = (int)strlen(host), ns_len = (int)strlen(ns);
    char *out;

    for (;;) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 3 || l == 0 || l > 255)
            return -EINVAL;
        parts[n] = p;
        lens[n++] = l;
        if (!slash)
            break;
        p = slash + 1;
    }
    if (n == 3) {
        host = parts[0];
        host_len = (int)lens[0];
    }
    if (n >= 2 && !(lens[n - 2] == 1 && parts[n - 2][0] == '-')) {
        ns = parts[n - 2];
        ns_len = (int)lens[n - 2];
    }
    out = str_printf("%.*s/%.*s/%.*s", host_len, host, ns_len, ns, (int)lens[n - 1], parts[n - 1]);
    if (!out)
        return -ENOMEM;
    str_lower(out);
    *ret = out;
    return 0;
}

/* Split a provider configuration address into its normalised source and
 * alias.  Returns -EINVAL for an address it does not recognise. */
static int parse_provider(const char *addr, char **ret_source, char **ret_alias)
{
    const char *p = addr;
    char *source = NULL, *alias = NULL, *raw = NULL;
    size_t m;
    int r;

    while (isspace((unsigned char)*p))
        p++;
    m = scan_module_path(p);
    if (m > 0) {
        if (p[m] != '.')
            return -EINVAL;
        p += m + 1;
    }
    if (strncmp(p, "provider[\"", 10) == 0) {
        const char *q = p + 10, *end = strchr(q, '"');
        if (!end || end[1] != ']')
            return -EINVAL;
        raw = str_ndup(q, (size_t)(end - q));
        if (!raw)
            return -ENOMEM;
        r = normalise_source(raw, &source);
        free(raw);
        if (r < 0)
            return r;
        p = end + 2;
        if (*p == '.') {
            r = dup_trimmed(p + 1, strlen(p + 1), &alias);
            if (r < 0)
                goto fail;
        } else if (*p) {
            r = -EINVAL;
            goto fail;
        }
    } else if (strncmp(p, "provider", 8) == 0 && p[8 + strspn(p + 8, " \t")] == '.') {
        /* Terraform 0.12: provider.NAME or provider.NAME.ALIAS, sometimes
         * with stray blanks ("provider. null"). */
        const char *type = p + 8 + strspn(p + 8, " \t") + 1;
        const char *dot = strchr(type, '.');
        char *t = NULL;
        r = dup_trimmed(type, dot ? (size_t)(dot - type) : strlen(type), &t);
        if (r < 0)
            return r;
        if (!is_identifier(t)) {
            free(t);
            return -EINVAL;
        }
        if (str_eq(t, "terraform"))
            source = strdup("terraform.io/builtin/terraform");
        else
            source = str_printf("registry.terraform.io/hashicorp/%s", t);
        free(t);
        if (!source)
            return -ENOMEM;
        str_lower(source);
        if (dot) {
            r = dup_trimmed(dot + 1, strlen(dot + 1), &alias);
            if (r < 0)
                goto fail;
        }
    } else {
        return -EINVAL;
    }
    if (alias && !is_identifier(alias)) {
        r = -EINVAL;
        goto fail;
    }
    *ret_source = source;
    *ret_alias = alias;
    return 0;
fail:
    free(source);
    free(alias);
    return r;
}

/* ---- attributes_flat -------------------------------------------------- */

struct flat_ent {
    const char *key;  /* the whole key, for messages */
    const char *rest; /* what is left of it at the current level */
    const char *val;
};

static size_t seg_len(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot ? (size_t)(dot - s) : strlen(s);
}

static int cmp_seg(const void *a, const void *b)
{
    const struct flat_ent *x = a, *y = b;
    size_t lx = seg_len(x->rest), ly = seg_len(y->rest);
    int c = memcmp(x->rest, y->rest, MIN(lx, ly));
    if (c)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(x->rest, y->rest);
}

static void advance(struct flat_ent *e)
{
    e->rest += seg_len(e->rest);
    if (*e->rest == '.')
        e->rest++;
}

/* Numeric value of a list/set element key, for ordering. */
static bool key_number(const char *s, size_t len, int64_t *ret)
{
    char tmp[24];
    if (len == 0 || len >= sizeof(tmp))
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return parse_int64(tmp, ret) == 0;
}

struct flat_group {
    struct flat_ent *e;
    size_t n;
    bool numeric;
    int64_t num;
};

static int cmp_group(const void *a, const void *b)
{
    const struct flat_group *x = a, *y = b;
    if (x->numeric != y->numeric)
        return x->numeric ? -1 : 1;
    if (x->numeric && x->num != y->num)
        return x->num < y->num ? -1 : 1;
    return cmp_seg(x->e, y->e);
}

static int flat_value(struct parser *p, const char *addr, struct flat_ent *e, size_t n,
                      unsigned depth, json_t **ret);

/* End of the run of entries from i on that share e[i]'s first segment
 * (e is sorted by cmp_seg). */
static size_t next_group(struct flat_ent *e, size_t n, size_t i)
{
    size_t j = i + 1, l = seg_len(e[i].rest);
    while (j < n && seg_len(e[j].rest) == l && memcmp(e[j].rest, e[i].rest, l) == 0)
        j++;
    return j;
}

static int flat_object(struct parser *p, const char *addr, struct flat_ent *e, size_t n,
                       unsigned depth, json_t **ret)
{
    json_t *obj = json_object(), *child = NULL;
    int r;

    if (!obj)
        return -ENOMEM;
    if (n > 1)
        qsort(e, n, sizeof(*e), cmp_seg);
    for (size_t i = 0, j; i < n; i = j) {
        const char *name = e[i].rest;
        size_t l = seg_len(name);
        j = next_group(e, n, i);
        for (size_t k = i; k < j; k++)
            advance(&e[k]);
        r = flat_value(p, addr, e + i, j - i, depth + 1, &child);
        if (r < 0)
            goto fail;
        if (json_object_setn_new(obj, name, l, child) < 0) {
            r = -ENOMEM;
            goto fail;
        }
    }
    *ret = obj;
    return 0;
fail:
    json_decref(obj);
    return r;
}

static int flat_list(struct parser *p, const char *addr, struct flat_ent *e, size_t n,
                     unsigned depth, json_t **ret)
{
    struct flat_group *g = NULL;
    size_t ng = 0;
    json_t *arr = json_array(), *child = NULL;
    int r = -ENOMEM;

    if (!arr)
        goto fail;
    if (n > 0) {
        g = calloc(n, sizeof(*g));
        if (!g)
            goto fail;
    }
    if (n > 1)
        qsort(e, n, sizeof(*e), cmp_seg);
    for (size_t i = 0, j; i < n; i = j) {
        j = next_group(e, n, i);
        g[ng].e = e + i;
        g[ng].n = j - i;
        g[ng].numeric = key_number(e[i].rest, seg_len(e[i].rest), &g[ng].num);
        ng++;
    }
    /* List indexes sort into list order; set hash codes into a stable one. */
    if (ng > 1)
        qsort(g, ng, sizeof(*g), cmp_group);
    for (size_t i = 0; i < ng; i++) {
        for (size_t k = 0; k < g[i].n; k++)
            advance(&g[i].e[k]);
        r = flat_value(p, addr, g[i].e, g[i].n, depth + 1, &child);
        if (r < 0)
            goto fail;
        if (json_array_append_new(arr, child) < 0) {
            r = -ENOMEM;
            goto fail;
        }
    }
    free(g);
    *ret = arr;
    return 0;
fail:
    free(g);
    json_decref(arr);
    return r;
}

static int flat_value(struct parser *p, const char *addr, struct flat_ent *e, size_t n,
                      unsigned depth, json_t **ret)
{
    size_t map_at = n, list_at = n;

    if (depth > TFSTATE_MAX_FLAT_DEPTH)
        return perr_set(p->err, -EINVAL,
                        "%s: %s: attributes_flat key \"%s\" is nested deeper than %d levels",
                        p->name, addr, e[0].key, TFSTATE_MAX_FLAT_DEPTH);
    if (n == 1 && e[0].rest[0] == '\0') {
        *ret = json_string(e[0].val);
        return *ret ? 0 : -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (e[i].rest[0] == '\0')
            return perr_set(p->err, -EINVAL,
                            "%s: %s: attributes_flat key \"%s\" is both a value and the prefix of "
                            "other keys",
                            p->name, addr, e[i].key);
        if (str_eq(e[i].rest, "%"))
            map_at = i;
        else if (str_eq(e[i].rest, "#"))
            list_at = i;
    }
    if (map_at < n && list_at < n)
        return perr_set(p->err, -EINVAL,
                        "%s: %s: attributes_flat has both \"%s\" and \"%s\" (a map and a list)",
                        p->name, addr, e[map_at].key, e[list_at].key);
    if (list_at < n || map_at < n) {
        size_t at = list_at < n ? list_at : map_at;
        struct flat_ent marker = e[at];
        uint64_t count;
        /* Move the marker out of the way: the rest are the members. */
        e[at] = e[0];
        e[0] = marker;
        if (list_at < n)
            return flat_list(p, addr, e + 1, n - 1, depth, ret);
        if (parse_uint64(marker.val, &count) == 0 && count == n - 1) {
            json_t *obj = json_object();
            if (!obj)
                return -ENOMEM;
            for (size_t i = 1; i < n; i++) {
                if (json_object_set_new(obj, e[i].rest, json_string(e[i].val)) < 0) {
                    json_decref(obj);
                    return -ENOMEM;
                }
            }
            *ret = obj;
            return 0;
        }
        return flat_object(p, addr, e + 1, n - 1, depth, ret);
    }
    return flat_object(p, addr, e, n, depth, ret);
}

static int convert_flat(struct parser *p, const char *addr, json_t *flat, json_t **ret)
{
    struct flat_ent *e = NULL;
    size_t n = json_object_size(flat), i = 0;
    const char *key;
    json_t *v;
    int r;

    if (n > 0) {
        e = calloc(n, sizeof(*e));
        if (!e)
            return -ENOMEM;
    }
    json_object_foreach (flat, key, v) {
        if (!json_is_string(v)) {
            r = perr_set(p->err, -EINVAL,
                         "%s: %s: attributes_flat value \"%s\" is %s, expected a string", p->name,
                         addr, key, json_kind(v));
            goto out;
        }
        e[i].key = e[i].rest = key;
        e[i].val = json_string_value(v);
        i++;
    }
    r = flat_object(p, addr, e, n, 0, ret);
out:
    free(e);
    return r;
}

/* ---- sensitive paths ---------------------------------------------------- */

static int record_path(struct tfstate_instance *inst, const char *path)
{
    if (strv_contains(inst->sensitive, path))
        return 0;
    return strv_push(&inst->sensitive, path);
}

static int replace_with_marker(json_t *parent, const char *key, size_t idx)
{
    json_t *m = json_string(TFSTATE_SENSITIVE_MARKER);
    json_t *old = key ? json_object_get(parent, key) : json_array_get(parent, idx);

    if (!m)
        return -ENOMEM;
    wipe(old);
    if (key)
        return json_object_set_new(parent, key, m) < 0 ? -ENOMEM : 0;
    return json_array_set_new(parent, idx, m) < 0 ? -ENOMEM : 0;
}

/* Mask every top-level attribute (a sensitive path we cannot follow from
 * the very first step). */
static int mask_all(struct tfstate_instance *inst)
{
    const char *key;
    json_t *v;
    void *tmp;
    int r;

    json_object_foreach_safe (inst->attributes, tmp, key, v) {
        if (json_is_null(v))
            continue;
        r = replace_with_marker(inst->attributes, key, 0);
        if (r < 0)
            return r;
        r = record_path(inst, key);
        if (r < 0)
            return r;
    }
    return 0;
}

static bool json_whole_number(const json_t *v, int64_t *ret)
{
    if (json_is_integer(v)) {
        *ret = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18) {
            *ret = (int64_t)d;
            return true;
        }
    }
    return false;
}

static int append_attr(struct buf *b, const char *name)
{
    int r = b->len ? buf_append_char(b, '.') : 0;
    return r < 0 ? r : buf_append_str(b, name);
}

/* Follow one sensitive path and mask what it leads to.  The keys point
 * into the parse tree, which outlives this call. */
static int mask_one(struct parser *p, struct tfstate_instance *inst, json_t *steps, size_t pi)
{
    json_t *cur = inst->attributes, *parent = NULL, *step;
    const char *pkey = NULL;
    size_t pidx = 0, si;
    struct buf path;
    int r = 0;

    buf_init(&path, TFSTATE_MAX_STRING);
    if (!json_is_array(steps))
        goto malformed;
    json_array_foreach (steps, si, step) {
        const char *type = json_string_value(json_object_get(step, "type"));
        json_t *val = json_object_get(step, "value"), *kv, *child;
        const char *key = NULL;
        int64_t idx = 0;

        if (!type || !val)
            goto malformed;
        if (str_eq(type, "get_attr")) {
            if (!json_is_string(val))
                goto malformed;
            key = json_string_value(val);
        } else if (str_eq(type, "index")) {
            kv = json_object_get(val, "value");
            if (!kv)
                goto malformed;
            if (json_is_string(kv))
                key = json_string_value(kv);
            else if (!json_whole_number(kv, &idx))
                break; /* an index by value, into a set: mask the set */
        } else {
            break; /* a step this parser does not know: mask what we have */
        }
        if (key ? !json_is_object(cur) : !json_is_array(cur))
            break;
        if (key) {
            child = json_object_get(cur, key);
            r = str_eq(type, "get_attr") ? append_attr(&path, key) : append_quoted_key(&path, key);
        } else {
            child = idx >= 0 && (size_t)idx < json_array_size(cur)
                        ? json_array_get(cur, (size_t)idx)
                        : NULL;
            r = buf_appendf(&path, "[%" PRId64 "]", idx);
        }
        if (r == -E2BIG)
            r = perr_set(p->err, -EINVAL, "%s: %s: sensitive_attributes[%zu] is too long", p->name,
                         inst->address, pi);
        if (r < 0)
            goto out;
        if (!child || json_is_null(child)) {
            /* Nothing to hide; still say that the path is sensitive. */
            r = record_path(inst, buf_str(&path));
            goto out;
        }
        parent = cur;
        pkey = key;
        pidx = (size_t)idx;
        cur = child;
    }
    /* Mask cur: the end of the path, or as far as it could be followed. */
    if (!parent) {
        r = mask_all(inst);
    } else {
        r = replace_with_marker(parent, pkey, pidx);
        if (r >= 0)
            r = record_path(inst, buf_str(&path));
    }
    goto out;
malformed:
    r = perr_set(p->err, -EINVAL,
                 "%s: %s: sensitive_attributes[%zu] is not a list of {\"type\", \"value\"} steps",
                 p->name, inst->address, pi);
out:
    buf_free(&path);
    return r;
}

static int mask_sensitive(struct parser *p, struct tfstate_instance *inst, json_t *paths)
{
    json_t *steps;
    size_t i;
    int r;

    if (!paths || json_is_null(paths))
        return 0;
    if (!json_is_array(paths))
        return perr_set(p->err, -EINVAL, "%s: %s: sensitive_attributes is %s, expected a list",
                        p->name, inst->address, json_kind(paths));
    json_array_foreach (paths, i, steps) {
        r = mask_one(p, inst, steps, i);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- resources and instances ------------------------------------------ */

static int push_strings(struct parser *p, const char *addr, const char *field, json_t *list,
                        char ***v)
{
    json_t *item;
    size_t i;
    int r;

    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return perr_set(p->err, -EINVAL, "%s: %s: \"%s\" is %s, expected a list of addresses",
                        p->name, addr, field, json_kind(list));
    json_array_foreach (list, i, item) {
        if (!json_is_string(item))
            return perr_set(p->err, -EINVAL, "%s: %s: %s[%zu] is %s, expected an address", p->name,
                            addr, field, i, json_kind(item));
        if (strv_contains(*v, json_string_value(item)))
            continue;
        r = strv_push(v, json_string_value(item));
        if (r < 0)
            return r;
    }
    return 0;
}

/* An optional string member: NULL when absent, null or "".  ctx (NULL at
 * the top level) says where obj is, for the message. */
static int opt_string(struct parser *p, const char *ctx, json_t *obj, const char *key,
                      const char **ret)
{
    json_t *v = json_object_get(obj, key);
    *ret = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return perr_set(p->err, -EINVAL, "%s: %s%s\"%s\" is %s, expected a string", p->name,
                        ctx ? ctx : "", ctx ? ": " : "", key, json_kind(v));
    if (json_string_length(v) > TFSTATE_MAX_STRING)
        return perr_set(p->err, -EINVAL, "%s: %s%s\"%s\" is longer than %zu bytes", p->name,
                        ctx ? ctx : "", ctx ? ": " : "", key, TFSTATE_MAX_STRING);
    if (json_string_length(v) > 0)
        *ret = json_string_value(v);
    return 0;
}

struct resource_ctx {
    const char *base; /* address without the index key */
    const char *module;
    enum tfstate_mode mode;
    const char *type, *name;
    const char *provider_config;
    const char *provider, *alias; /* normalised */
};

static int fill_instance(struct parser *p, const struct resource_ctx *rc, json_t *io, size_t ii,
                         struct tfstate_instance *inst)
{
    json_t *key = json_object_get(io, "index_key"), *attrs, *flat, *v;
    const char *status, *deposed, *iprov, *cfg;
    struct buf addr;
    bool from_flat = false;
    int r;

    buf_init(&addr, TFSTATE_MAX_STRING);
    if (!json_is_object(io))
        return perr_set(p->err, -EINVAL, "%s: %s: instances[%zu] is %s, expected an object",
                        p->name, rc->base, ii, json_kind(io));
    r = buf_append_str(&addr, rc->base);
    if (r < 0)
        goto fail;
    if (key && !json_is_null(key)) {
        if (json_is_string(key)) {
            inst->key_kind = TFSTATE_KEY_STRING;
            inst->index_str = strdup(json_string_value(key));
            if (!inst->index_str) {
                r = -ENOMEM;
                goto fail;
            }
            r = append_quoted_key(&addr, inst->index_str);
        } else if (json_whole_number(key, &inst->index_int)) {
            inst->key_kind = TFSTATE_KEY_INT;
            r = buf_appendf(&addr, "[%" PRId64 "]", inst->index_int);
        } else {
            r = perr_set(p->err, -EINVAL,
                         "%s: %s: instances[%zu] has index_key %s, expected a whole number "
                         "(count) or a string (for_each)",
                         p->name, rc->base, ii, json_kind(key));
        }
        if (r < 0)
            goto fail;
    }
    inst->address = buf_steal(&addr, NULL);
    if (!inst->address) {
        r = -ENOMEM;
        goto fail;
    }

    r = opt_string(p, inst->address, io, "status", &status);
    if (r < 0)
        goto fail;
    if (status && !str_eq(status, "tainted")) {
        r = perr_set(p->err, -EINVAL,
                     "%s: %s: unknown instance status \"%s\" (expected \"tainted\")", p->name,
                     inst->address, status);
        goto fail;
    }
    inst->tainted = status != NULL;

    r = opt_string(p, inst->address, io, "deposed", &deposed);
    if (r < 0)
        goto fail;
    if (deposed) {
        bool ok = strlen(deposed) == 8;
        for (const char *c = deposed; ok && *c; c++)
            ok = isxdigit((unsigned char)*c);
        if (!ok) {
            r = perr_set(p->err, -EINVAL, "%s: %s: deposed key \"%s\" is not 8 hexadecimal digits",
                         p->name, inst->address, deposed);
            goto fail;
        }
        inst->deposed = strdup(deposed);
        if (!inst->deposed) {
            r = -ENOMEM;
            goto fail;
        }
    }

    v = json_object_get(io, "schema_version");
    if (v && !json_is_null(v) &&
        (!json_whole_number(v, &inst->schema_version) || inst->schema_version < 0)) {
        r = perr_set(p->err, -EINVAL, "%s: %s: schema_version is not a non-negative integer",
                     p->name, inst->address);
        goto fail;
    }
    inst->create_before_destroy = json_is_true(json_object_get(io, "create_before_destroy"));

    /* The module, type and name are shared by all instances of a resource. */
    inst->module = strdup(rc->module);
    inst->type = strdup(rc->type);
    inst->name = strdup(rc->name);
    if (!inst->module || !inst->type || !inst->name) {
        r = -ENOMEM;
        goto fail;
    }
    inst->mode = rc->mode;

    r = opt_string(p, inst->address, io, "instance_provider", &iprov);
    if (r < 0)
        goto fail;
    if (iprov) {
        r = parse_provider(iprov, &inst->provider, &inst->provider_alias);
        if (r == -EINVAL)
            r = perr_set(p->err, r, "%s: %s: unrecognised instance_provider \"%s\"", p->name,
                         inst->address, iprov);
        if (r < 0)
            goto fail;
    } else if (rc->provider) {
        inst->provider = strdup(rc->provider);
        if (!inst->provider || (rc->alias && !(inst->provider_alias = strdup(rc->alias)))) {
            r = -ENOMEM;
            goto fail;
        }
    }
    cfg = iprov ? iprov : rc->provider_config;
    if (cfg && !(inst->provider_config = strdup(cfg))) {
        r = -ENOMEM;
        goto fail;
    }

    attrs = json_object_get(io, "attributes");
    flat = json_object_get(io, "attributes_flat");
    if (attrs && !json_is_null(attrs)) {
        if (!json_is_object(attrs)) {
            r = perr_set(p->err, -EINVAL, "%s: %s: attributes is %s, expected an object", p->name,
                         inst->address, json_kind(attrs));
            goto fail;
        }
        inst->attributes = json_incref(attrs);
    } else if (flat && !json_is_null(flat)) {
        if (!json_is_object(flat)) {
            r = perr_set(p->err, -EINVAL, "%s: %s: attributes_flat is %s, expected an object",
                         p->name, inst->address, json_kind(flat));
            goto fail;
        }
        r = convert_flat(p, inst->address, flat, &inst->attributes);
        if (r < 0)
            goto fail;
        from_flat = true;
    } else {
        r = perr_set(p->err, -EINVAL,
                     "%s: %s: instance has neither \"attributes\" nor \"attributes_flat\"", p->name,
                     inst->address);
        goto fail;
    }

    inst->sensitive = strv_new();
    inst->dependencies = strv_new();
    if (!inst->sensitive || !inst->dependencies) {
        r = -ENOMEM;
        goto fail;
    }
    r = mask_sensitive(p, inst, json_object_get(io, "sensitive_attributes"));
    if (r < 0)
        goto fail;
    /* The flatmap source and the paths (an index into a set names the
     * element by its value) stay in the parse tree: wipe them too. */
    if (inst->sensitive[0] && from_flat)
        wipe(flat);
    wipe(json_object_get(io, "sensitive_attributes"));
    r = push_strings(p, inst->address, "dependencies", json_object_get(io, "dependencies"),
                     &inst->dependencies);
    if (r >= 0)
        r = push_strings(p, inst->address, "depends_on", json_object_get(io, "depends_on"),
                         &inst->dependencies);
    if (r < 0)
        goto fail;
    return 0;

fail:
    if (r == -E2BIG)
        r = perr_set(p->err, -EINVAL, "%s: %s: instance address is longer than %zu bytes", p->name,
                     rc->base, TFSTATE_MAX_STRING);
    buf_free(&addr);
    return r;
}

static int add_instance(struct parser *p, struct tfstate *s, size_t *cap,
                        const struct resource_ctx *rc, json_t *io, size_t ii)
{
    struct tfstate_instance inst = { 0 };
    char *seen_key = NULL;
    int r;

    r = fill_instance(p, rc, io, ii, &inst);
    if (r < 0)
        goto fail;
    seen_key = inst.deposed ? str_printf("%s deposed %s", inst.address, inst.deposed)
                            : strdup(inst.address);
    if (!seen_key) {
        r = -ENOMEM;
        goto fail;
    }
    if (json_object_get(p->seen, seen_key)) {
        if (inst.deposed)
            r = perr_set(p->err, -EINVAL,
                         "%s: %s: deposed object %s appears more than once in the state", p->name,
                         inst.address, inst.deposed);
        else
            r = perr_set(p->err, -EINVAL, "%s: %s appears more than once in the state", p->name,
                         inst.address);
        goto fail;
    }
    if (json_object_set_new(p->seen, seen_key, json_true()) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    if (s->n_instances == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct tfstate_instance *n = reallocarray(s->instances, ncap, sizeof(*n));
        if (!n) {
            r = -ENOMEM;
            goto fail;
        }
        s->instances = n;
        *cap = ncap;
    }
    s->instances[s->n_instances++] = inst;
    free(seen_key);
    return 0;
fail:
    free(seen_key);
    instance_clear(&inst);
    return r;
}

static int parse_resource(struct parser *p, struct tfstate *s, size_t *cap, json_t *ro, size_t ri)
{
    struct resource_ctx rc = { 0 };
    char where[32], *provider = NULL, *alias = NULL, *base = NULL;
    const char *mode, *module;
    json_t *instances, *io;
    size_t ii;
    int r;

    if (!json_is_object(ro))
        return perr_set(p->err, -EINVAL, "%s: resources[%zu] is %s, expected an object", p->name,
                        ri, json_kind(ro));
    snprintf(where, sizeof(where), "resources[%zu]", ri);
    r = opt_string(p, where, ro, "type", &rc.type);
    if (r >= 0)
        r = opt_string(p, where, ro, "name", &rc.name);
    if (r >= 0)
        r = opt_string(p, where, ro, "mode", &mode);
    if (r >= 0)
        r = opt_string(p, where, ro, "module", &module);
    if (r >= 0)
        r = opt_string(p, where, ro, "provider", &rc.provider_config);
    if (r < 0)
        return r;
    if (!rc.type)
        return perr_set(p->err, -EINVAL, "%s: resources[%zu] has no \"type\"", p->name, ri);
    if (!rc.name)
        return perr_set(p->err, -EINVAL, "%s: resources[%zu] (%s) has no \"name\"", p->name, ri,
                        rc.type);
    if (str_eq(mode, "managed"))
        rc.mode = TFSTATE_MANAGED;
    else if (str_eq(mode, "data"))
        rc.mode = TFSTATE_DATA;
    else
        return perr_set(p->err, -EINVAL,
                        "%s: resources[%zu] (%s.%s) has mode \"%s\", expected \"managed\" or "
                        "\"data\"",
                        p->name, ri, rc.type, rc.name, mode ? mode : "");
    rc.module = module ? module : "";
    if (module && scan_module_path(module) != strlen(module))
        return perr_set(p->err, -EINVAL,
                        "%s: resources[%zu] (%s.%s) has an invalid module address \"%s\"", p->name,
                        ri, rc.type, rc.name, module);
    base = str_printf("%s%s%s%s.%s", rc.module, module ? "." : "",
                      rc.mode == TFSTATE_DATA ? "data." : "", rc.type, rc.name);
    if (!base)
        return -ENOMEM;
    rc.base = base;
    if (rc.provider_config) {
        r = parse_provider(rc.provider_config, &provider, &alias);
        if (r == -EINVAL)
            r = perr_set(p->err, r, "%s: %s: unrecognised provider address \"%s\"", p->name, base,
                         rc.provider_config);
        if (r < 0)
            goto out;
        rc.provider = provider;
        rc.alias = alias;
    }
    instances = json_object_get(ro, "instances");
    if (!json_is_array(instances)) {
        r = perr_set(p->err, -EINVAL, "%s: %s has no \"instances\" list", p->name, base);
        goto out;
    }
    json_array_foreach (instances, ii, io) {
        r = add_instance(p, s, cap, &rc, io, ii);
        if (r < 0)
            goto out;
    }
    r = 0;
out:
    free(base);
    free(provider);
    free(alias);
    return r;
}

/* Format 1-3, 5+, and OpenTofu's encrypted envelope are refused with a
 * message saying what to do about it. */
static int check_version(struct parser *p, json_t *root)
{
    json_t *v = json_object_get(root, "version");
    json_int_t ver;

    if (!v) {
        if (json_object_get(root, "encrypted_data") || json_object_get(root, "encryption_version"))
            return perr_set(p->err, -EPROTONOSUPPORT,
                            "%s: the state is encrypted with OpenTofu state encryption; plumb "
                            "needs a plaintext state: export one with `tofu state pull` (with "
                            "the encryption key configured) or point plumb at a state source it "
                            "can read unencrypted",
                            p->name);
        return perr_set(p->err, -EINVAL,
                        "%s: not a Terraform state: the JSON object has no \"version\" key",
                        p->name);
    }
    if (!json_is_integer(v))
        return perr_set(p->err, -EINVAL, "%s: not a Terraform state: \"version\" is not an integer",
                        p->name);
    ver = json_integer_value(v);
    if (ver >= 1 && ver <= 3)
        return perr_set(p->err, -EPROTONOSUPPORT,
                        "%s: Terraform state format %lld (written by Terraform 0.11 or older) is "
                        "not supported; run `terraform init && terraform apply -refresh-only` "
                        "(`terraform refresh` before 0.15.4) with Terraform 0.12 or newer to "
                        "upgrade it to format 4",
                        p->name, (long long)ver);
    if (ver > 4)
        return perr_set(p->err, -EPROTONOSUPPORT,
                        "%s: Terraform state format %lld is newer than this plumb understands "
                        "(it reads format 4); upgrade plumb",
                        p->name, (long long)ver);
    if (ver != 4)
        return perr_set(p->err, -EINVAL, "%s: not a Terraform state: unknown state format %lld",
                        p->name, (long long)ver);
    return 0;
}

/* Outputs are never handed out, but sensitive ones should not linger in
 * freed memory either. */
static void wipe_sensitive_outputs(json_t *root)
{
    json_t *outputs = json_object_get(root, "outputs"), *o;
    const char *name;

    json_object_foreach (outputs, name, o)
        if (json_is_true(json_object_get(o, "sensitive")))
            wipe(json_object_get(o, "value"));
}

/* After a decode with JSON_DECODE_INT_AS_REAL, turn the numbers that were
 * integers back into integers: every whole number a double holds exactly. */
static int reals_to_ints(json_t *v)
{
    const double exact = 9007199254740992.0; /* 2^53 */
    const char *key;
    json_t *child;
    void *tmp;
    size_t i;
    int r;

    if (json_is_object(v)) {
        json_object_foreach_safe (v, tmp, key, child) {
            if (json_is_real(child) && floor(json_real_value(child)) == json_real_value(child) &&
                fabs(json_real_value(child)) <= exact)
                r = json_object_set_new(v, key, json_integer((json_int_t)json_real_value(child)));
            else
                r = reals_to_ints(child);
            if (r < 0)
                return -ENOMEM;
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, child) {
            if (json_is_real(child) && floor(json_real_value(child)) == json_real_value(child) &&
                fabs(json_real_value(child)) <= exact)
                r = json_array_set_new(v, i, json_integer((json_int_t)json_real_value(child)));
            else
                r = reals_to_ints(child);
            if (r < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* Decode JSON.  An integer beyond 64 bits (a provider may store one) makes
 * jansson fail; rather than refuse the whole state, decode it again with
 * numbers as doubles, which keeps such a number approximately. */
static int decode(struct parser *p, const void *data, size_t len, json_t **ret)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);

    if (!root && json_error_code(&jerr) == json_error_numeric_overflow) {
        root = json_loadb(data, len, JSON_DECODE_INT_AS_REAL, &jerr);
        if (root && reals_to_ints(root) < 0) {
            json_decref(root);
            return -ENOMEM;
        }
    }
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return -ENOMEM;
        return perr_set(p->err, -EINVAL, "%s:%d:%d: not valid JSON: %s", p->name, jerr.line,
                        jerr.column, jerr.text);
    }
    *ret = root;
    return 0;
}

static bool all_blank(const unsigned char *d, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace(d[i]))
            return false;
    return true;
}

int tfstate_parse(const char *name, const void *data, size_t len, const struct tfstate_opts *opts,
                  struct tfstate **ret, struct perr *err)
{
    struct parser p = { .name = name ? name : "state", .err = err };
    size_t max = opts && opts->max_size ? opts->max_size : TFSTATE_DEFAULT_MAX_SIZE;
    struct tfstate *s = NULL;
    json_t *root = NULL, *res, *ro;
    const char *tfv = NULL, *lineage = NULL;
    size_t cap = 0, ri;
    int r;

    if (len == 0 || all_blank(data, len))
        return perr_set(err, -ENODATA, "%s: the file is empty, expected a Terraform state (JSON)",
                        p.name);
    if (len > max)
        return perr_set(err, -EFBIG,
                        "%s: %zu bytes is larger than the state size limit of %zu bytes; raise "
                        "the limit if this really is a Terraform state",
                        p.name, len, max);
    r = decode(&p, data, len, &root);
    if (r < 0)
        return r;
    if (!json_is_object(root)) {
        r = perr_set(err, -EINVAL,
                     "%s: not a Terraform state: the JSON document is %s, expected an object",
                     p.name, json_kind(root));
        goto fail;
    }
    r = check_version(&p, root);
    if (r < 0)
        goto fail;

    s = calloc(1, sizeof(*s));
    p.seen = json_object();
    if (!s || !p.seen) {
        r = -ENOMEM;
        goto fail;
    }
    s->version = 4;
    r = opt_string(&p, NULL, root, "terraform_version", &tfv);
    if (r >= 0)
        r = opt_string(&p, NULL, root, "lineage", &lineage);
    if (r < 0)
        goto fail;
    if ((tfv && !(s->terraform_version = strdup(tfv))) ||
        (lineage && !(s->lineage = strdup(lineage)))) {
        r = -ENOMEM;
        goto fail;
    }
    if (json_object_get(root, "serial")) {
        json_t *serial = json_object_get(root, "serial");
        if (!json_is_integer(serial) || json_integer_value(serial) < 0) {
            r = perr_set(err, -EINVAL, "%s: \"serial\" is not a non-negative integer", p.name);
            goto fail;
        }
        s->serial = (uint64_t)json_integer_value(serial);
    }
    res = json_object_get(root, "resources");
    if (res && !json_is_null(res) && !json_is_array(res)) {
        r = perr_set(err, -EINVAL, "%s: \"resources\" is %s, expected a list", p.name,
                     json_kind(res));
        goto fail;
    }
    s->n_resources = json_array_size(res);
    json_array_foreach (res, ri, ro) {
        r = parse_resource(&p, s, &cap, ro, ri);
        if (r < 0)
            goto fail;
    }
    wipe_sensitive_outputs(root);
    json_decref(root);
    json_decref(p.seen);
    *ret = s;
    return 0;
fail:
    if (root)
        wipe_sensitive_outputs(root);
    json_decref(root);
    json_decref(p.seen);
    tfstate_free(s);
    return r;
}

int tfstate_load(const char *path, const struct tfstate_opts *opts, struct tfstate **ret,
                 struct perr *err)
{
    size_t max = opts && opts->max_size ? opts->max_size : TFSTATE_DEFAULT_MAX_SIZE;
    char *data = NULL;
    size_t len = 0;
    int r;

    r = read_file(path, max, &data, &len);
    if (r == -EFBIG)
        return perr_set(err, r,
                        "%s: larger than the state size limit of %zu bytes; raise the limit if "
                        "this really is a Terraform state",
                        path, max);
    if (r < 0)
        return perr_set(err, r, "%s: cannot read the state: %s", path, strerror(-r));
    r = tfstate_parse(path, data, len, opts, ret, err);
    /* The text may hold secrets that were masked in the parsed copy. */
    explicit_bzero(data, len);
    free(data);
    return r;
}

/* ---- serialisation ------------------------------------------------------ */

static json_t *strv_to_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && v && v[i]; i++) {
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int set_str(json_t *o, const char *key, const char *val)
{
    if (!val)
        return 0;
    return json_object_set_new(o, key, json_string(val));
}

json_t *tfstate_instance_to_json(const struct tfstate_instance *inst)
{
    json_t *o = json_object();
    int r = 0;

    if (!o)
        return NULL;
    r |= set_str(o, "address", inst->address);
    r |= set_str(o, "module", inst->module);
    r |= set_str(o, "mode", tfstate_mode_name(inst->mode));
    r |= set_str(o, "type", inst->type);
    r |= set_str(o, "name", inst->name);
    if (inst->key_kind == TFSTATE_KEY_INT)
        r |= json_object_set_new(o, "index_key", json_integer(inst->index_int));
    else if (inst->key_kind == TFSTATE_KEY_STRING)
        r |= set_str(o, "index_key", inst->index_str);
    r |= set_str(o, "provider", inst->provider);
    r |= set_str(o, "provider_alias", inst->provider_alias);
    r |= json_object_set_new(o, "schema_version", json_integer(inst->schema_version));
    r |= json_object_set_new(o, "tainted", json_boolean(inst->tainted));
    r |= set_str(o, "deposed", inst->deposed);
    r |= json_object_set_new(o, "create_before_destroy", json_boolean(inst->create_before_destroy));
    r |= json_object_set_new(o, "attributes", json_deep_copy(inst->attributes));
    r |= json_object_set_new(o, "sensitive", strv_to_json(inst->sensitive));
    r |= json_object_set_new(o, "dependencies", strv_to_json(inst->dependencies));
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *tfstate_to_json(const struct tfstate *s)
{
    json_t *o = json_object(), *list = json_array();
    int r = 0;

    if (!o || !list)
        goto fail;
    for (size_t i = 0; i < s->n_instances; i++)
        if (json_array_append_new(list, tfstate_instance_to_json(&s->instances[i])) < 0)
            goto fail;
    r |= json_object_set_new(o, "version", json_integer(s->version));
    r |= set_str(o, "terraform_version", s->terraform_version);
    r |= json_object_set_new(o, "serial", json_integer((json_int_t)s->serial));
    r |= set_str(o, "lineage", s->lineage);
    r |= json_object_set_new(o, "resources", json_integer((json_int_t)s->n_resources));
    r |= json_object_set(o, "instances", list);
    if (r)
        goto fail;
    json_decref(list);
    return o;
fail:
    json_decref(list);
    json_decref(o);
    return NULL;
}
