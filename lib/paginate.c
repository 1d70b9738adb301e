/* AWS pagination (botocore's PageIterator, as a pure function). */
#include "paginate.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* JMESPath truthiness, which botocore's paginator relies on. */
static bool truthy(json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return true;
}

/* One "a.b[0].c" path from p to end. */
static int eval_path(const char *p, const char *end, json_t *root, json_t **ret, const char *expr,
                     struct perr *err)
{
    json_t *cur = root;

    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (p == end)
        return perr_set(err, -EINVAL, "pagination expression \"%s\": empty term", expr);
    while (p < end) {
        const char *s = p;
        char name[256];
        while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        if (p == s || (size_t)(p - s) >= sizeof(name))
            return perr_set(err, -EINVAL, "pagination expression \"%s\": unsupported syntax", expr);
        memcpy(name, s, (size_t)(p - s));
        name[p - s] = '\0';
        cur = json_is_object(cur) ? json_object_get(cur, name) : NULL;
        while (p < end && *p == '[') {
            char *num_end;
            long idx;
            p++;
            idx = strtol(p, &num_end, 10);
            if (num_end == p || num_end >= end || *num_end != ']')
                return perr_set(err, -EINVAL, "pagination expression \"%s\": unsupported syntax",
                                expr);
            p = num_end + 1;
            if (!json_is_array(cur)) {
                cur = NULL;
                continue;
            }
            if (idx < 0)
                idx += (long)json_array_size(cur);
            cur = idx >= 0 ? json_array_get(cur, (size_t)idx) : NULL;
        }
        if (p < end) {
            if (*p != '.' || p + 1 == end)
                return perr_set(err, -EINVAL, "pagination expression \"%s\": unsupported syntax",
                                expr);
            p++;
        }
    }
    *ret = cur;
    return 0;
}

int paginate_eval(const char *expr, json_t *root, json_t **ret, struct perr *err)
{
    const char *p = expr;
    json_t *v = NULL;

    if (!expr)
        return perr_set(err, -EINVAL, "no pagination expression");
    for (;;) {
        const char *bar = strstr(p, "||"), *end = bar ? bar : p + strlen(p);
        int r = eval_path(p, end, root, &v, expr, err);
        if (r < 0)
            return r;
        if (truthy(v) || !bar)
            break;
        p = bar + 2;
    }
    *ret = v;
    return 0;
}

int paginate_next(const struct awspaginator *pag, json_t *request_params, json_t *response,
                  json_t **ret_next, struct perr *err)
{
    size_t n = 0, set = 0, same = 0;
    json_t *tokens[16] = { 0 }, *next;
    int r;

    if (!pag)
        return perr_set(err, -EINVAL, "operation has no paginator");
    while (pag->input_tokens[n])
        n++;
    if (n > ARRAY_SIZE(tokens))
        return perr_set(err, -EINVAL, "paginator %s: too many tokens", pag->operation);
    if (pag->more_results) {
        json_t *more;
        r = paginate_eval(pag->more_results, response, &more, err);
        if (r < 0)
            return r;
        if (!truthy(more))
            return 1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t, *prev;
        r = paginate_eval(pag->output_tokens[i], response, &t, err);
        if (r < 0)
            return r;
        /* Empty strings are no token, as in botocore. */
        tokens[i] = truthy(t) ? t : NULL;
        if (tokens[i])
            set++;
        prev = request_params ? json_object_get(request_params, pag->input_tokens[i]) : NULL;
        if ((!tokens[i] && (!prev || json_is_null(prev))) ||
            (tokens[i] && prev && json_equal(tokens[i], prev)))
            same++;
    }
    if (set == 0)
        return 1;
    if (same == n)
        return perr_set(err, -ELOOP, "paginator %s: the same next token was received twice",
                        pag->operation);
    next = request_params ? json_deep_copy(request_params) : json_object();
    if (!next)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (tokens[i] &&
            !(json_is_string(tokens[i]) && str_eq(json_string_value(tokens[i]), "None")))
            r = json_object_set(next, pag->input_tokens[i], tokens[i]);
        else
            r = json_object_del(next, pag->input_tokens[i]) < 0 ? 0 : 0;
        if (r < 0) {
            json_decref(next);
            return -ENOMEM;
        }
    }
    *ret_next = next;
    return 0;
}

int paginate_set_limit(const struct awspaginator *pag, json_t *params, json_int_t limit)
{
    if (!pag || !pag->limit_key)
        return -ENOENT;
    return json_object_set_new(params, pag->limit_key, json_integer(limit)) < 0 ? -ENOMEM : 0;
}

json_t *paginate_result(const struct awspaginator *pag, size_t i, json_t *response)
{
    json_t *v = NULL;
    for (size_t k = 0; pag && pag->result_keys[k]; k++)
        if (k == i)
            return paginate_eval(pag->result_keys[k], response, &v, NULL) < 0 ? NULL : v;
    return NULL;
}
