#include "resource.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const status_names[] = {
    [COLLECT_OK] = "ok",
    [COLLECT_ACCESS_DENIED] = "access_denied",
    [COLLECT_THROTTLED] = "throttled",
    [COLLECT_ERROR] = "error",
    [COLLECT_NOT_COLLECTED] = "not_collected",
};

const char *collect_status_name(enum collect_status s)
{
    if ((size_t)s >= ARRAY_SIZE(status_names))
        return "error";
    return status_names[s];
}

int collect_status_from_name(const char *name, enum collect_status *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
        if (str_eq(name, status_names[i])) {
            *ret = (enum collect_status)i;
            return 0;
        }
    return -EINVAL;
}

int resource_new(struct resource **ret)
{
    struct resource *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->attrs = json_object();
    r->tags = json_object();
    r->unknown = json_object();
    if (!r->attrs || !r->tags || !r->unknown) {
        resource_free(r);
        return -ENOMEM;
    }
    *ret = r;
    return 0;
}

int resource_new_with(const char *partition, const char *account, const char *region,
                      const char *type, const char *aws_type, const char *id, const char *arn,
                      struct resource **ret)
{
    struct resource *r = NULL;
    int e = resource_new(&r);
    if (e < 0)
        return e;
    if (str_replace(&r->partition, partition ? partition : "aws") < 0 ||
        str_replace(&r->account, account) < 0 || str_replace(&r->region, region) < 0 ||
        str_replace(&r->type, type) < 0 || str_replace(&r->aws_type, aws_type) < 0 ||
        str_replace(&r->id, id) < 0 || str_replace(&r->arn, arn) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    *ret = r;
    return 0;
}

struct resource *resource_free(struct resource *r)
{
    if (!r)
        return NULL;
    free(r->partition);
    free(r->account);
    free(r->region);
    free(r->type);
    free(r->aws_type);
    free(r->id);
    free(r->arn);
    free(r->source);
    json_decref(r->attrs);
    json_decref(r->tags);
    json_decref(r->unknown);
    free(r);
    return NULL;
}

char *resource_key_make(const char *account, const char *region, const char *type, const char *id)
{
    return str_printf("%s/%s/%s/%s", account ? account : "", region ? region : "", type ? type : "",
                      id ? id : "");
}

char *resource_key(const struct resource *r)
{
    return resource_key_make(r->account, r->region, r->type, r->id);
}

static int set_str(json_t *o, const char *key, const char *v)
{
    if (!v)
        return 0;
    return json_object_set_new(o, key, json_string(v)) == 0 ? 0 : -ENOMEM;
}

json_t *resource_to_json(const struct resource *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (set_str(o, "partition", r->partition) < 0 || set_str(o, "account", r->account) < 0 ||
        set_str(o, "region", r->region) < 0 || set_str(o, "type", r->type) < 0 ||
        set_str(o, "aws_type", r->aws_type) < 0 || set_str(o, "id", r->id) < 0 ||
        set_str(o, "arn", r->arn) < 0 || json_object_set(o, "attributes", r->attrs) < 0 ||
        json_object_set(o, "tags", r->tags) < 0 ||
        (json_object_size(r->unknown) > 0 && json_object_set(o, "unknown", r->unknown) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int get_str(const json_t *doc, const char *key, char **dst)
{
    const json_t *v = json_object_get(doc, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EINVAL;
    return str_replace(dst, json_string_value(v));
}

int resource_from_json(const json_t *doc, struct resource **ret)
{
    struct resource *r = NULL;
    const json_t *v;
    int e;

    if (!json_is_object(doc))
        return -EINVAL;
    e = resource_new(&r);
    if (e < 0)
        return e;
    if ((e = get_str(doc, "partition", &r->partition)) < 0 ||
        (e = get_str(doc, "account", &r->account)) < 0 ||
        (e = get_str(doc, "region", &r->region)) < 0 || (e = get_str(doc, "type", &r->type)) < 0 ||
        (e = get_str(doc, "aws_type", &r->aws_type)) < 0 || (e = get_str(doc, "id", &r->id)) < 0 ||
        (e = get_str(doc, "arn", &r->arn)) < 0 || (e = get_str(doc, "source", &r->source)) < 0)
        goto fail;
    e = -EINVAL;
    if (!r->type || !r->id)
        goto fail;
    if ((v = json_object_get(doc, "attributes"))) {
        if (!json_is_object(v))
            goto fail;
        json_decref(r->attrs);
        r->attrs = json_deep_copy(v);
    }
    if ((v = json_object_get(doc, "tags"))) {
        if (!json_is_object(v))
            goto fail;
        json_decref(r->tags);
        r->tags = json_deep_copy(v);
    }
    if ((v = json_object_get(doc, "unknown"))) {
        if (!json_is_object(v))
            goto fail;
        json_decref(r->unknown);
        r->unknown = json_deep_copy(v);
    }
    e = -ENOMEM;
    if (!r->attrs || !r->tags || !r->unknown)
        goto fail;
    if ((v = json_object_get(doc, "collected_at")) && json_is_integer(v))
        r->collected_at = json_integer_value(v);
    *ret = r;
    return 0;
fail:
    resource_free(r);
    return e;
}

char *resource_canonical(const struct resource *r)
{
    json_t *doc = resource_to_json(r);
    char *s;
    if (!doc)
        return NULL;
    s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return s;
}

int resource_hash(const struct resource *r, unsigned char out[SHA256_LEN])
{
    char *s = resource_canonical(r);
    int e;
    if (!s)
        return -ENOMEM;
    e = sha256(s, strlen(s), out);
    free(s);
    return e;
}

int resource_mark_unknown(struct resource *r, const char *attr, enum collect_status status,
                          const char *detail)
{
    char *v = detail ? str_printf("%s:%s", collect_status_name(status), detail)
                     : str_printf("%s", collect_status_name(status));
    int e;
    if (!v)
        return -ENOMEM;
    e = json_object_set_new(r->unknown, attr, json_string(v)) == 0 ? 0 : -ENOMEM;
    free(v);
    return e;
}

void resource_list_init(struct resource_list *l)
{
    l->items = NULL;
    l->n = 0;
    l->cap = 0;
}

int resource_list_push(struct resource_list *l, struct resource *r)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct resource **ni = realloc(l->items, cap * sizeof(*ni));
        if (!ni)
            return -ENOMEM;
        l->items = ni;
        l->cap = cap;
    }
    l->items[l->n++] = r;
    return 0;
}

void resource_list_clear(struct resource_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        resource_free(l->items[i]);
    free(l->items);
    resource_list_init(l);
}
