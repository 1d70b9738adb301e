#include "jsonutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static bool plain_key(const char *k)
{
    if (!*k || isdigit((unsigned char)*k))
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-')
            return false;
    return true;
}

char *json_path_key(const char *base, const char *key)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    if (base && *base && buf_append_str(&b, base) < 0)
        goto oom;
    if (plain_key(key)) {
        if ((base && *base && buf_append_char(&b, '.') < 0) || buf_append_str(&b, key) < 0)
            goto oom;
    } else {
        if (buf_append_str(&b, "[\"") < 0)
            goto oom;
        for (const char *p = key; *p; p++)
            if ((*p == '"' || *p == '\\')
                    ? buf_append_char(&b, '\\') < 0 || buf_append_char(&b, *p) < 0
                    : buf_append_char(&b, *p) < 0)
                goto oom;
        if (buf_append_str(&b, "\"]") < 0)
            goto oom;
    }
    return buf_steal(&b, NULL);
oom:
    buf_free(&b);
    return NULL;
}

char *json_path_index(const char *base, size_t index)
{
    return str_printf("%s[%zu]", base ? base : "", index);
}

json_t *json_path_get(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;
    char key[512];

    while (cur && *p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            p++;
            if (*p == '"') {
                size_t n = 0;
                p++;
                while (*p && *p != '"' && n + 1 < sizeof(key)) {
                    if (*p == '\\' && p[1])
                        p++;
                    key[n++] = *p++;
                }
                key[n] = '\0';
                if (*p != '"' || p[1] != ']')
                    return NULL;
                p += 2;
                cur = json_object_get(cur, key);
            } else {
                char *end;
                long idx = strtol(p, &end, 10);
                if (end == p || *end != ']' || idx < 0)
                    return NULL;
                p = end + 1;
                cur = json_array_get(cur, (size_t)idx);
            }
            continue;
        }
        {
            size_t n = 0;
            while (*p && *p != '.' && *p != '[' && n + 1 < sizeof(key))
                key[n++] = *p++;
            key[n] = '\0';
            cur = json_object_get(cur, key);
        }
    }
    return (json_t *)cur;
}

bool json_equal_loose(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach ((json_t *)a, k, v) {
            if (!json_equal_loose(v, json_object_get(b, k)))
                return false;
        }
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_equal_loose(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal(a, b);
}

static int diff_at(const char *path, const json_t *a, const json_t *b, json_diff_cb cb, void *ud)
{
    int r = 0;
    if (json_equal_loose(a, b))
        return 0;
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)a, k, v) {
            char *p = json_path_key(path, k);
            if (!p)
                return -ENOMEM;
            r = diff_at(p, v, json_object_get(b, k), cb, ud);
            free(p);
            if (r < 0)
                return r;
        }
        json_object_foreach ((json_t *)b, k, v) {
            char *p;
            if (json_object_get(a, k))
                continue;
            p = json_path_key(path, k);
            if (!p)
                return -ENOMEM;
            r = cb(p, NULL, v, ud);
            free(p);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t n = MAX(json_array_size(a), json_array_size(b));
        for (size_t i = 0; i < n; i++) {
            char *p = json_path_index(path, i);
            if (!p)
                return -ENOMEM;
            r = diff_at(p, json_array_get(a, i), json_array_get(b, i), cb, ud);
            free(p);
            if (r < 0)
                return r;
        }
        return 0;
    }
    return cb(path, a, b, ud);
}

int json_diff(const json_t *a, const json_t *b, json_diff_cb cb, void *userdata)
{
    return diff_at("", a, b, cb, userdata);
}

char *json_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
