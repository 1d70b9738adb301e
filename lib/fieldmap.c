#include "fieldmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128

/* Split the first segment off *path: its name (into name), whether it ends
 * in "[]", and advance *path past it and its '.'.  -EINVAL for a name too
 * long to be a member. */
static int next_segment(const char **path, char name[NAME_MAX_LEN], bool *flatten)
{
    const char *p = *path;
    size_t n = 0;
    while (*p && *p != '.' && *p != '[') {
        if (n + 1 >= NAME_MAX_LEN)
            return -EINVAL;
        name[n++] = *p++;
    }
    name[n] = '\0';
    *flatten = false;
    if (p[0] == '[' && p[1] == ']') {
        *flatten = true;
        p += 2;
    }
    if (*p == '.')
        p++;
    *path = p;
    return 0;
}

json_t *fieldmap_get(const json_t *item, const char *path)
{
    char name[NAME_MAX_LEN];
    const json_t *v = item;
    bool flatten;
    if (!path)
        return NULL;
    while (v && *path) {
        if (next_segment(&path, name, &flatten) < 0 || flatten)
            return NULL;
        v = json_object_get(v, name);
    }
    return (json_t *)v;
}

const char *fieldmap_string(const json_t *item, const char *path)
{
    return json_string_value(fieldmap_get(item, path));
}

/* Append every value path reaches from v to out. */
static int walk(const json_t *v, const char *path, json_t *out)
{
    char name[NAME_MAX_LEN];
    bool flatten;
    const json_t *child;
    if (!v)
        return 0;
    if (!*path)
        return json_array_append(out, (json_t *)v) == 0 ? 0 : -ENOMEM;
    if (next_segment(&path, name, &flatten) < 0)
        return -EINVAL;
    child = *name ? json_object_get(v, name) : v;
    if (!child)
        return 0;
    if (flatten) {
        size_t i;
        json_t *e;
        if (!json_is_array(child))
            return 0;
        json_array_foreach (child, i, e) {
            int r = walk(e, path, out);
            if (r < 0)
                return r;
        }
        return 0;
    }
    return walk(child, path, out);
}

static json_t *map_object(const json_t *item, const struct fieldmap *map, int *err)
{
    json_t *o = json_object();
    int r;
    if (!o) {
        *err = -ENOMEM;
        return NULL;
    }
    r = fieldmap_apply(o, item, map);
    if (r < 0) {
        json_decref(o);
        *err = r;
        return NULL;
    }
    return o;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FIELDMAP_KEYED: one object per key of the map at v, in key order. */
static json_t *map_keyed(const json_t *m, const struct fieldmap *f, int *err)
{
    json_t *out = json_array();
    const char **keys = NULL;
    size_t n = 0;
    const char *k;
    json_t *v;
    if (!out)
        goto oom;
    if (!json_is_object(m))
        return out;
    keys = calloc(json_object_size(m) + 1, sizeof(*keys));
    if (!keys)
        goto oom;
    json_object_foreach ((json_t *)m, k, v)
        keys[n++] = k;
    qsort(keys, n, sizeof(*keys), cmp_keys);
    for (size_t i = 0; i < n; i++) {
        json_t *o = map_object(json_object_get(m, keys[i]), f->sub, err);
        if (!o)
            goto fail;
        if (json_object_set_new(o, f->key, json_string(keys[i])) < 0 ||
            json_array_append_new(out, o) < 0)
            goto oom;
    }
    free(keys);
    return out;
oom:
    *err = -ENOMEM;
fail:
    free(keys);
    json_decref(out);
    return NULL;
}

static json_t *map_member(const json_t *m, const char *member, int *err)
{
    json_t *out;
    const char *k;
    json_t *v;
    if (!json_is_object(m))
        return json_null();
    out = json_object();
    if (!out)
        goto oom;
    json_object_foreach ((json_t *)m, k, v) {
        json_t *x = json_object_get(v, member);
        if (json_object_set_new(out, k, x ? json_deep_copy(x) : json_null()) < 0)
            goto oom;
    }
    return out;
oom:
    json_decref(out);
    *err = -ENOMEM;
    return NULL;
}

static json_t *map_one(const json_t *item, const struct fieldmap *f, int *err)
{
    const char *src = f->src ? f->src : "";
    bool needs_sub =
        f->kind == FIELDMAP_BLOCK || f->kind == FIELDMAP_BLOCKS || f->kind == FIELDMAP_KEYED;
    bool needs_key = f->kind == FIELDMAP_KEYED || f->kind == FIELDMAP_MAP_MEMBER;
    json_t *v = NULL, *out = NULL;
    size_t i;
    json_t *e;

    if ((needs_sub && !f->sub) || (needs_key && !f->key)) {
        *err = -EINVAL;
        return NULL;
    }
    *err = -ENOMEM;
    switch (f->kind) {
    case FIELDMAP_VALUE: v = fieldmap_get(item, src); return v ? json_deep_copy(v) : json_null();
    case FIELDMAP_LIST:
    case FIELDMAP_FIRST:
        v = json_array();
        if (!v)
            return NULL;
        if ((*err = walk(item, src, v)) < 0) {
            json_decref(v);
            return NULL;
        }
        *err = -ENOMEM;
        if (f->kind == FIELDMAP_LIST) {
            out = json_deep_copy(v);
        } else {
            e = json_array_get(v, 0);
            out = e ? json_deep_copy(e) : json_null();
        }
        json_decref(v);
        return out;
    case FIELDMAP_BLOCK:
        out = json_array();
        if (!out)
            return NULL;
        v = fieldmap_get(item, src);
        if (json_is_object(v)) {
            json_t *o = map_object(v, f->sub, err);
            if (!o || json_array_append_new(out, o) < 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case FIELDMAP_BLOCKS:
        out = json_array();
        if (!out)
            return NULL;
        v = fieldmap_get(item, src);
        json_array_foreach (v, i, e) {
            json_t *o = map_object(e, f->sub, err);
            if (!o || json_array_append_new(out, o) < 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case FIELDMAP_KEYED: return map_keyed(fieldmap_get(item, src), f, err);
    case FIELDMAP_MAP_MEMBER: return map_member(fieldmap_get(item, src), f->key, err);
    }
    *err = -EINVAL;
    return NULL;
}

int fieldmap_apply(json_t *attrs, const json_t *item, const struct fieldmap *map)
{
    if (!json_is_object(attrs) || !map)
        return -EINVAL;
    for (const struct fieldmap *f = map; f->dst; f++) {
        int err = -ENOMEM;
        json_t *v = map_one(item, f, &err);
        if (!v)
            return err;
        if (json_object_set_new(attrs, f->dst, v) < 0)
            return -ENOMEM;
    }
    return 0;
}
