#include "collectmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const json_t *collectmap_get(const json_t *v, const char *path)
{
    char name[128];
    if (!path)
        return v;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n == 0 || n >= sizeof(name))
            return NULL;
        memcpy(name, path, n);
        name[n] = '\0';
        v = json_object_get(v, name);
        path += n;
        if (*path == '.')
            path++;
    }
    return v;
}

const char *collectmap_string(const json_t *v, const char *path)
{
    return json_string_value(collectmap_get(v, path));
}

int collectmap_set(json_t *attrs, const char *dst, json_t *value)
{
    if (!value)
        return -ENOMEM;
    return json_object_set_new(attrs, dst, value) == 0 ? 0 : -ENOMEM;
}

static int tag_add(json_t *o, const json_t *k, const json_t *v)
{
    if (!json_is_string(k))
        return 0;
    return json_object_set_new(o, json_string_value(k),
                               json_string(json_is_string(v) ? json_string_value(v) : "")) == 0
               ? 0
               : -ENOMEM;
}

json_t *collectmap_tags(const json_t *tags)
{
    static const char *const pairs[][2] = {
        { "Key", "Value" },
        { "key", "value" },
        { "TagKey", "TagValue" },
    };
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (json_is_object(tags)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)tags, k, v) {
            json_t *key = json_string(k);
            int r = key ? tag_add(o, key, v) : -ENOMEM;
            json_decref(key);
            if (r < 0)
                goto fail;
        }
        return o;
    }
    if (json_is_array(tags)) {
        size_t i;
        json_t *t;
        json_array_foreach (tags, i, t) {
            for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
                const json_t *k = json_object_get(t, pairs[p][0]);
                if (!k)
                    continue;
                if (tag_add(o, k, json_object_get(t, pairs[p][1])) < 0)
                    goto fail;
                break;
            }
        }
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *collectmap_json_text(const json_t *v)
{
    char *text;
    json_t *s;
    if (!v || json_is_null(v))
        return json_null();
    if (json_is_string(v))
        return json_string(json_string_value(v));
    text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!text)
        return NULL;
    s = json_string(text);
    free(text);
    return s;
}

json_t *collectmap_object(const json_t *src, const struct collectmap_field *fields)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (collectmap_apply(o, src, fields) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *map_value(const json_t *v, const struct collectmap_field *f)
{
    switch (f->how) {
    case CM_BLOCK: {
        json_t *list = json_array();
        if (!list || !json_is_object(v))
            return list;
        if (json_array_append_new(list, collectmap_object(v, f->nested)) < 0) {
            json_decref(list);
            return NULL;
        }
        return list;
    }
    case CM_LIST: {
        json_t *list = json_array();
        size_t i;
        json_t *e;
        if (!list || !json_is_array(v))
            return list;
        json_array_foreach (v, i, e) {
            if (json_array_append_new(list, collectmap_object(e, f->nested)) < 0) {
                json_decref(list);
                return NULL;
            }
        }
        return list;
    }
    case CM_EQ:
        if (!v || json_is_null(v))
            return json_null();
        return json_boolean(str_eq(json_string_value(v), f->arg));
    case CM_TAGS: return collectmap_tags(v);
    case CM_JSON_TEXT: return collectmap_json_text(v);
    case CM_COPY:
    default: return v ? json_deep_copy(v) : json_null();
    }
}

int collectmap_apply(json_t *attrs, const json_t *src, const struct collectmap_field *fields)
{
    for (const struct collectmap_field *f = fields; f && f->dst; f++) {
        const json_t *v = src ? collectmap_get(src, f->src) : NULL;
        if (collectmap_set(attrs, f->dst, map_value(v, f)) < 0)
            return -ENOMEM;
    }
    return 0;
}
