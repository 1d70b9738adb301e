/* JSON responses to JSON by shape (botocore's JSON parsers, in C). */
#include "awsjson.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int awsjson_read(const char *data, size_t len, size_t max_bytes, json_t **ret, struct perr *err)
{
    json_error_t jerr;
    json_t *v;
    size_t i;

    if (max_bytes == 0)
        max_bytes = AWSJSON_DEFAULT_MAX_BYTES;
    if (len > max_bytes)
        return perr_set(err, -E2BIG, "JSON body of %zu bytes is larger than the limit of %zu bytes",
                        len, max_bytes);
    for (i = 0; i < len; i++)
        if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
            break;
    if (i == len) {
        v = json_object();
        if (!v)
            return -ENOMEM;
        *ret = v;
        return 0;
    }
    v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return perr_set(err, -EBADMSG, "JSON body, line %d column %d: %s", jerr.line, jerr.column,
                        jerr.text);
    *ret = v;
    return 0;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int parse_value(const struct awsref *ref, json_t *wire, const char *what, json_t **ret,
                       struct perr *err);

static const char *wire_name(const struct awsmember *mem)
{
    return mem->ref.location_name ? mem->ref.location_name : mem->name;
}

static int parse_struct(const struct awsshape *s, json_t *wire, const char *what, json_t **ret,
                        struct perr *err)
{
    json_t *obj;
    int r;

    if (s->document) {
        *ret = json_deep_copy(wire);
        return *ret ? 0 : -ENOMEM;
    }
    if (json_is_null(wire)) {
        *ret = json_null();
        return 0;
    }
    if (!json_is_object(wire))
        return perr_set(err, -EBADMSG, "%s: expected an object, got %s", what,
                        json_type_name(wire));
    if (s->is_union) {
        const char *key, *tag = NULL;
        json_t *v;
        size_t set = 0;
        bool known = false;
        json_object_foreach (wire, key, v) {
            if (strcmp(key, "__type") == 0 || json_is_null(v))
                continue;
            if (set++ == 0)
                tag = key;
        }
        if (set != 1)
            return perr_set(err, -EBADMSG, "%s: union %s must have one and only one member set",
                            what, s->name);
        for (size_t i = 0; i < s->n_members; i++)
            if (str_eq(wire_name(&s->members[i]), tag))
                known = true;
        if (!known) {
            json_t *u = json_pack("{s:{s:s}}", "SDK_UNKNOWN_MEMBER", "name", tag);
            if (!u)
                return -ENOMEM;
            *ret = u;
            return 0;
        }
    }
    obj = json_object();
    if (!obj)
        return -ENOMEM;
    for (size_t i = 0; i < s->n_members; i++) {
        const struct awsmember *mem = &s->members[i];
        json_t *raw = json_object_get(wire, wire_name(mem)), *v;
        char mwhat[256];
        if (!raw || json_is_null(raw))
            continue;
        snprintf(mwhat, sizeof(mwhat), "member %s", mem->name);
        r = parse_value(&mem->ref, raw, mwhat, &v, err);
        if (r < 0)
            goto fail;
        if (json_object_set_new(obj, mem->name, v) < 0) {
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

static int parse_value(const struct awsref *ref, json_t *wire, const char *what, json_t **ret,
                       struct perr *err)
{
    const struct awsshape *s = ref->shape;
    json_t *out;
    int r;

    switch (s->type) {
    case AWS_SHAPE_STRUCTURE: return parse_struct(s, wire, what, ret, err);
    case AWS_SHAPE_LIST: {
        size_t i;
        json_t *item;
        if (!json_is_array(wire))
            return perr_set(err, -EBADMSG, "%s: expected a list, got %s", what,
                            json_type_name(wire));
        out = json_array();
        if (!out)
            return -ENOMEM;
        json_array_foreach (wire, i, item) {
            json_t *v;
            /* Lists are sparse when parsing, as in botocore. */
            if (json_is_null(item)) {
                v = json_null();
            } else {
                r = parse_value(&s->member, item, what, &v, err);
                if (r < 0) {
                    json_decref(out);
                    return r;
                }
            }
            if (json_array_append_new(out, v) < 0) {
                json_decref(out);
                return -ENOMEM;
            }
        }
        *ret = out;
        return 0;
    }
    case AWS_SHAPE_MAP: {
        const char *key;
        json_t *item;
        if (!json_is_object(wire))
            return perr_set(err, -EBADMSG, "%s: expected a map, got %s", what,
                            json_type_name(wire));
        out = json_object();
        if (!out)
            return -ENOMEM;
        json_object_foreach (wire, key, item) {
            json_t *v;
            if (json_is_null(item)) {
                v = json_null();
            } else {
                r = parse_value(&s->value, item, what, &v, err);
                if (r < 0) {
                    json_decref(out);
                    return r;
                }
            }
            if (json_object_set_new(out, key, v) < 0) {
                json_decref(out);
                return -ENOMEM;
            }
        }
        *ret = out;
        return 0;
    }
    case AWS_SHAPE_TIMESTAMP: {
        int64_t ms;
        char buf[AWS_TS_BUFSZ];
        if (json_is_number(wire))
            r = aws_ts_from_epoch(json_number_value(wire), &ms);
        else if (json_is_string(wire))
            r = aws_ts_parse(json_string_value(wire), &ms);
        else
            r = -EINVAL;
        if (r < 0)
            return perr_set(err, -EBADMSG, "%s: invalid timestamp (%s)", what,
                            json_is_string(wire) ? json_string_value(wire) : json_type_name(wire));
        aws_ts_format(ms, buf);
        out = json_string(buf);
        break;
    }
    case AWS_SHAPE_FLOAT:
    case AWS_SHAPE_DOUBLE:
        if (json_is_number(wire)) {
            out = awsmodel_json_float(json_number_value(wire));
            break;
        }
        if (json_is_string(wire) && (str_eq(json_string_value(wire), "NaN") ||
                                     str_eq(json_string_value(wire), "Infinity") ||
                                     str_eq(json_string_value(wire), "-Infinity"))) {
            out = json_incref(wire);
            break;
        }
        return perr_set(err, -EBADMSG, "%s: expected a number, got %s", what, json_type_name(wire));
    case AWS_SHAPE_INTEGER:
    case AWS_SHAPE_LONG:
        if (json_is_real(wire) && json_real_value(wire) == floor(json_real_value(wire)) &&
            fabs(json_real_value(wire)) < 9007199254740992.0) {
            out = json_integer((json_int_t)json_real_value(wire));
            break;
        }
        out = json_incref(wire);
        break;
    case AWS_SHAPE_STRING:
    case AWS_SHAPE_BOOLEAN:
    case AWS_SHAPE_BLOB:
    default:
        /* Passed through as sent, as botocore does (a blob stays base64). */
        out = json_incref(wire);
        break;
    }
    if (!out)
        return -ENOMEM;
    *ret = out;
    return 0;
}

int awsjson_parse_value(const struct awsref *ref, json_t *wire, json_t **ret, struct perr *err)
{
    return parse_value(ref, wire, ref->shape->name, ret, err);
}

static int merge_into(json_t *dst, json_t *src)
{
    int r = 0;
    if (json_is_object(src))
        r = json_object_update(dst, src) < 0 ? -ENOMEM : 0;
    json_decref(src);
    return r;
}

static int rest_payload(const struct awsshape *s, const struct awsresponse *resp, size_t max_bytes,
                        json_t *out, struct perr *err)
{
    json_t *body = NULL, *v = NULL;
    int r;

    if (s->payload) {
        const struct awsmember *pm = awsshape_member(s, s->payload);
        const struct awsshape *ps = pm->ref.shape;
        if (ps->type == AWS_SHAPE_STRING || ps->type == AWS_SHAPE_BLOB)
            return awsmodel_raw_payload(pm, resp, out, err);
        r = awsjson_read(resp->body, resp->body_len, max_bytes, &body, err);
        if (r < 0)
            return r;
        r = parse_value(&pm->ref, body, pm->name, &v, err);
        json_decref(body);
        if (r < 0)
            return r;
        return json_object_set_new(out, pm->name, v) < 0 ? -ENOMEM : 0;
    }
    r = awsjson_read(resp->body, resp->body_len, max_bytes, &body, err);
    if (r < 0)
        return r;
    r = parse_struct(s, body, s->name, &v, err);
    json_decref(body);
    if (r < 0)
        return r;
    return merge_into(out, v);
}

int awsjson_parse_output(const struct awsmodel *m, const struct awsop *op,
                         const struct awsresponse *resp, size_t max_bytes, json_t **ret,
                         struct perr *err)
{
    const struct awsshape *s = op->output.shape;
    json_t *out, *body = NULL, *v;
    int r;

    if (m->protocol != AWS_PROTOCOL_JSON && m->protocol != AWS_PROTOCOL_REST_JSON)
        return perr_set(err, -EINVAL, "%s is not a JSON protocol", awsprotocol_name(m->protocol));
    r = awsmodel_check_no_eventstream(s, err);
    if (r < 0)
        return r;
    out = json_object();
    if (!out)
        return -ENOMEM;
    if (m->protocol == AWS_PROTOCOL_REST_JSON) {
        r = awsmodel_rest_metadata(resp, out);
        if (r >= 0 && s)
            r = awsmodel_parse_http_bindings(s, resp, 0, out, err);
        if (r >= 0 && s)
            r = rest_payload(s, resp, max_bytes, out, err);
        if (r < 0)
            goto fail;
        *ret = out;
        return 0;
    }
    if (s) {
        r = awsjson_read(resp->body, resp->body_len, max_bytes, &body, err);
        if (r < 0)
            goto fail;
        r = parse_struct(s, body, s->name, &v, err);
        json_decref(body);
        if (r < 0)
            goto fail;
        r = merge_into(out, v);
        if (r < 0)
            goto fail;
    }
    if (awsresponse_header(resp, "x-amzn-requestid")) {
        v = json_pack("{s:s}", "RequestId", awsresponse_header(resp, "x-amzn-requestid"));
        if (!v || json_object_set_new(out, "ResponseMetadata", v) < 0) {
            r = -ENOMEM;
            goto fail;
        }
    }
    *ret = out;
    return 0;
fail:
    json_decref(out);
    return r;
}

int awsjson_parse_error_shape(const struct awsmodel *m, const struct awsshape *shape,
                              const struct awsresponse *resp, size_t max_bytes, json_t **ret,
                              struct perr *err)
{
    json_t *out = json_object(), *body = NULL, *v;
    int r;

    if (!out)
        return -ENOMEM;
    if (m->protocol == AWS_PROTOCOL_REST_JSON) {
        r = awsmodel_parse_http_bindings(shape, resp, 0, out, err);
        if (r >= 0)
            r = rest_payload(shape, resp, max_bytes, out, err);
        if (r < 0)
            goto fail;
        *ret = out;
        return 0;
    }
    r = awsjson_read(resp->body, resp->body_len, max_bytes, &body, err);
    if (r < 0)
        goto fail;
    r = parse_struct(shape, body, shape->name, &v, err);
    json_decref(body);
    if (r < 0)
        goto fail;
    r = merge_into(out, v);
    if (r < 0)
        goto fail;
    *ret = out;
    return 0;
fail:
    json_decref(out);
    return r;
}
