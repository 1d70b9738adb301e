/* AWS request serialisation (botocore's serializers, in C) and the
 * response parsing entry point. */
#include "awsproto.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <libxml/tree.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "awsjson.h"
#include "awsxml.h"
#include "buf.h"
#include "crypto.h"

/* Requests are built from trusted parameters, but still capped. */
#define REQUEST_MAX_BYTES (64u * 1024 * 1024)

struct awsrequest *awsrequest_free(struct awsrequest *r)
{
    if (!r)
        return NULL;
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->host_prefix);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r);
    return NULL;
}

const char *awsrequest_header(const struct awsrequest *r, const char *name)
{
    for (size_t i = 0; r && i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* Set (replace) a header. */
static int set_header(struct awsrequest *r, const char *name, const char *value)
{
    struct awsreq_header *h;
    char *v;

    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return str_replace(&r->headers[i].value, value);
    h = realloc(r->headers, (r->n_headers + 1) * sizeof(*h));
    if (!h)
        return -ENOMEM;
    r->headers = h;
    h[r->n_headers].name = strdup(name);
    v = strdup(value);
    if (!h[r->n_headers].name || !v) {
        free(h[r->n_headers].name);
        free(v);
        return -ENOMEM;
    }
    h[r->n_headers].value = v;
    r->n_headers++;
    return 0;
}

int awsproto_percent_encode(struct buf *out, const char *s, bool keep_slash)
{
    /* curl escapes exactly RFC 3986's reserved set (everything but
     * A-Z a-z 0-9 - . _ ~); a greedy label keeps its slashes, so each
     * segment is escaped on its own. */
    const char *seg = s;
    int r = 0;

    for (;;) {
        const char *slash = keep_slash ? strchr(seg, '/') : NULL;
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        char *esc;
        if (len > INT_MAX)
            return -E2BIG;
        esc = len ? curl_easy_escape(NULL, seg, (int)len) : NULL;
        if (len && !esc)
            return -ENOMEM;
        if (esc)
            r = buf_append_str(out, esc);
        curl_free(esc);
        if (r >= 0 && slash)
            r = buf_append_char(out, '/');
        if (r < 0 || !slash)
            return r;
        seg = slash + 1;
    }
}

/* ---- validation (botocore's ParamValidator, the parts that matter) ---- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static bool is_special_float(const json_t *v)
{
    const char *s = json_string_value(v);
    return s &&
           (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0);
}

static bool integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    return json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
           fabs(json_real_value(v)) < 9007199254740992.0;
}

static int param_ms(const json_t *v, int64_t *ret)
{
    if (json_is_string(v))
        return aws_ts_parse(json_string_value(v), ret);
    if (json_is_number(v))
        return aws_ts_from_epoch(json_number_value(v), ret);
    return -EINVAL;
}

static int validate(const struct awsref *ref, json_t *v, const char *path, struct perr *err)
{
    const struct awsshape *s = ref->shape;
    const char *want = NULL;
    char sub[512];
    int r;

    switch (s->type) {
    case AWS_SHAPE_STRUCTURE: {
        const char *key;
        json_t *mv;
        if (s->document)
            return 0;
        if (!json_is_object(v)) {
            want = "an object";
            break;
        }
        json_object_foreach (v, key, mv) {
            const struct awsmember *mem = awsshape_member(s, key);
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
            if (!mem)
                return perr_set(err, -EINVAL, "unknown parameter %s", sub);
            if (json_is_null(mv))
                continue;
            r = validate(&mem->ref, mv, sub, err);
            if (r < 0)
                return r;
        }
        for (size_t i = 0; i < s->n_members; i++) {
            json_t *mv2 = json_object_get(v, s->members[i].name);
            if (s->members[i].required && (!mv2 || json_is_null(mv2))) {
                snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", s->members[i].name);
                return perr_set(err, -EINVAL, "missing required parameter %s", sub);
            }
        }
        return 0;
    }
    case AWS_SHAPE_LIST: {
        size_t i;
        json_t *item;
        if (!json_is_array(v)) {
            want = "a list";
            break;
        }
        json_array_foreach (v, i, item) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (json_is_null(item))
                return perr_set(err, -EINVAL, "parameter %s: null in a list", sub);
            r = validate(&s->member, item, sub, err);
            if (r < 0)
                return r;
        }
        return 0;
    }
    case AWS_SHAPE_MAP: {
        const char *key;
        json_t *mv;
        if (!json_is_object(v)) {
            want = "a map";
            break;
        }
        json_object_foreach (v, key, mv) {
            snprintf(sub, sizeof(sub), "%s{%s}", path, key);
            if (json_is_null(mv))
                return perr_set(err, -EINVAL, "parameter %s: null in a map", sub);
            r = validate(&s->value, mv, sub, err);
            if (r < 0)
                return r;
        }
        return 0;
    }
    case AWS_SHAPE_STRING:
        if (!json_is_string(v))
            want = "a string";
        break;
    case AWS_SHAPE_INTEGER:
    case AWS_SHAPE_LONG:
        if (!integral(v))
            want = "an integer";
        break;
    case AWS_SHAPE_FLOAT:
    case AWS_SHAPE_DOUBLE:
        if (!json_is_number(v) && !is_special_float(v))
            want = "a number";
        break;
    case AWS_SHAPE_BOOLEAN:
        if (!json_is_boolean(v))
            want = "a boolean";
        break;
    case AWS_SHAPE_TIMESTAMP: {
        int64_t ms;
        if (param_ms(v, &ms) < 0)
            return perr_set(err, -EINVAL, "parameter %s: not a timestamp", path);
        break;
    }
    case AWS_SHAPE_BLOB: {
        unsigned char *raw = NULL;
        size_t len;
        if (!json_is_string(v)) {
            want = "a base64 string";
            break;
        }
        r = base64_decode(json_string_value(v), &raw, &len);
        free(raw);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return perr_set(err, -EINVAL, "parameter %s: blobs are given as base64", path);
        break;
    }
    }
    if (want)
        return perr_set(err, -EINVAL, "parameter %s: expected %s, got %s", path, want,
                        type_name(v));
    return 0;
}

/* ---- scalars as text ---- */

/* Python's repr(float), which botocore's str() of a float produces. */
static void py_float_repr(double d, char *out, size_t size)
{
    char tmp[40], digits[24];
    int exp10, nd = 0;

    if (isnan(d)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(out, size, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (d == 0) {
        snprintf(out, size, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest digits that read back as d. */
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    {
        const char *p = tmp, *e = strchr(tmp, 'e');
        if (*p == '-')
            p++;
        for (; p < e; p++)
            if (isdigit((unsigned char)*p))
                digits[nd++] = *p;
        digits[nd] = '\0';
        exp10 = (int)strtol(e + 1, NULL, 10);
    }
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    if (exp10 >= 16 || exp10 < -4) {
        snprintf(out, size, "%s%c%s%s%se%c%02d", d < 0 ? "-" : "", digits[0], nd > 1 ? "." : "",
                 nd > 1 ? digits + 1 : "", "", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        snprintf(out, size, "%s0.%0*d%s", d < 0 ? "-" : "", -exp10 - 1, 0, digits);
        /* "%0*d" with width 0 still prints one zero; fix that case. */
        if (exp10 == -1)
            snprintf(out, size, "%s0.%s", d < 0 ? "-" : "", digits);
    } else {
        char intpart[24], frac[24];
        int ilen = exp10 + 1;
        for (int i = 0; i < ilen; i++)
            intpart[i] = i < nd ? digits[i] : '0';
        intpart[ilen] = '\0';
        if (nd > ilen)
            snprintf(frac, sizeof(frac), "%s", digits + ilen);
        else
            snprintf(frac, sizeof(frac), "0");
        snprintf(out, size, "%s%s.%s", d < 0 ? "-" : "", intpart, frac);
    }
}

static double float_of(const json_t *v)
{
    const char *s = json_string_value(v);
    if (s)
        return strcmp(s, "NaN") == 0 ? NAN : (s[0] == '-' ? -INFINITY : INFINITY);
    return json_number_value(v);
}

/* A scalar parameter as text: how query forms, URIs, query strings and
 * headers carry it.  `tsfmt` is the timestamp format to use. */
static int scalar_text(const struct awsref *ref, json_t *v, enum awstsformat tsfmt, char **ret)
{
    char buf[64];
    const char *s = buf;

    switch (ref->shape->type) {
    case AWS_SHAPE_BOOLEAN: s = json_is_true(v) ? "true" : "false"; break;
    case AWS_SHAPE_INTEGER:
    case AWS_SHAPE_LONG:
        snprintf(buf, sizeof(buf), "%lld",
                 json_is_integer(v) ? (long long)json_integer_value(v)
                                    : (long long)json_real_value(v));
        break;
    case AWS_SHAPE_FLOAT:
    case AWS_SHAPE_DOUBLE: py_float_repr(float_of(v), buf, sizeof(buf)); break;
    case AWS_SHAPE_TIMESTAMP: {
        int64_t ms;
        int r = param_ms(v, &ms);
        if (r < 0)
            return r;
        aws_ts_format_wire(ms, ref->timestamp_format ? ref->timestamp_format : tsfmt, buf);
        break;
    }
    default:
        s = json_string_value(v);
        if (!s)
            return -EINVAL;
        break;
    }
    *ret = strdup(s);
    return *ret ? 0 : -ENOMEM;
}

/* ---- query and ec2: form bodies ---- */

struct form {
    struct buf body;
    bool ec2;
};

static int form_add(struct form *f, const char *key, const char *value)
{
    int r = 0;
    if (f->body.len > 0)
        r = buf_append_char(&f->body, '&');
    if (r >= 0)
        r = awsproto_percent_encode(&f->body, key, false);
    if (r >= 0)
        r = buf_append_char(&f->body, '=');
    if (r >= 0)
        r = awsproto_percent_encode(&f->body, value, false);
    return r;
}

/* EC2Serializer._get_serialized_name / Serializer._get_serialized_name. */
static int form_name(const struct form *f, const struct awsref *ref, const char *dflt, char **ret)
{
    if (f->ec2 && ref->query_name) {
        *ret = strdup(ref->query_name);
    } else if (f->ec2 && ref->location_name) {
        *ret = strdup(ref->location_name);
        if (*ret)
            (*ret)[0] = (char)toupper((unsigned char)(*ret)[0]);
    } else {
        *ret = strdup(!f->ec2 && ref->location_name ? ref->location_name : dflt);
    }
    return *ret ? 0 : -ENOMEM;
}

static char *join(const char *prefix, const char *name)
{
    return *prefix ? str_printf("%s.%s", prefix, name) : strdup(name);
}

static int form_value(struct form *f, const struct awsref *ref, json_t *v, const char *prefix);

static int form_struct(struct form *f, const struct awsshape *s, json_t *v, const char *prefix)
{
    const char *key;
    json_t *mv;
    json_object_foreach (v, key, mv) {
        const struct awsmember *mem = awsshape_member(s, key);
        char *name = NULL, *full;
        int r;
        if (json_is_null(mv))
            continue;
        r = form_name(f, &mem->ref, key, &name);
        if (r < 0)
            return r;
        full = join(prefix, name);
        free(name);
        if (!full)
            return -ENOMEM;
        r = form_value(f, &mem->ref, mv, full);
        free(full);
        if (r < 0)
            return r;
    }
    return 0;
}

static int form_list(struct form *f, const struct awsref *ref, json_t *v, const char *prefix)
{
    const struct awsshape *s = ref->shape;
    char *list_prefix = NULL;
    size_t i;
    json_t *item;
    int r = 0;

    if (f->ec2) {
        list_prefix = strdup(prefix);
    } else {
        if (json_array_size(v) == 0)
            return form_add(f, prefix, ""); /* the query protocol sends empty lists */
        if (ref->flattened) {
            if (s->member.location_name) {
                /* Replace the last component with the member's name. */
                const char *dot = strrchr(prefix, '.');
                list_prefix = dot ? str_printf("%.*s.%s", (int)(dot - prefix), prefix,
                                               s->member.location_name)
                                  : strdup(s->member.location_name);
            } else {
                list_prefix = strdup(prefix);
            }
        } else {
            list_prefix = str_printf("%s.%s", prefix,
                                     s->member.location_name ? s->member.location_name : "member");
        }
    }
    if (!list_prefix)
        return -ENOMEM;
    json_array_foreach (v, i, item) {
        char *ip = str_printf("%s.%zu", list_prefix, i + 1);
        if (!ip) {
            r = -ENOMEM;
            break;
        }
        r = form_value(f, &s->member, item, ip);
        free(ip);
        if (r < 0)
            break;
    }
    free(list_prefix);
    return r;
}

static int form_map(struct form *f, const struct awsref *ref, json_t *v, const char *prefix)
{
    const struct awsshape *s = ref->shape;
    char *kname = NULL, *vname = NULL;
    const char *key;
    json_t *mv;
    size_t i = 0;
    int r;

    r = form_name(f, &s->key, "key", &kname);
    if (r >= 0)
        r = form_name(f, &s->value, "value", &vname);
    json_object_foreach (v, key, mv) {
        char *kp, *vp;
        json_t *kv;
        if (r < 0)
            break;
        i++;
        kp = ref->flattened ? str_printf("%s.%zu.%s", prefix, i, kname)
                            : str_printf("%s.entry.%zu.%s", prefix, i, kname);
        vp = ref->flattened ? str_printf("%s.%zu.%s", prefix, i, vname)
                            : str_printf("%s.entry.%zu.%s", prefix, i, vname);
        kv = json_string(key);
        if (!kp || !vp || !kv)
            r = -ENOMEM;
        if (r >= 0)
            r = form_value(f, &s->key, kv, kp);
        if (r >= 0)
            r = form_value(f, &s->value, mv, vp);
        json_decref(kv);
        free(kp);
        free(vp);
    }
    free(kname);
    free(vname);
    return r;
}

static int form_value(struct form *f, const struct awsref *ref, json_t *v, const char *prefix)
{
    char *text = NULL;
    int r;

    switch (ref->shape->type) {
    case AWS_SHAPE_STRUCTURE: return form_struct(f, ref->shape, v, prefix);
    case AWS_SHAPE_LIST: return form_list(f, ref, v, prefix);
    case AWS_SHAPE_MAP: return form_map(f, ref, v, prefix);
    default:
        r = scalar_text(ref, v, AWS_TS_ISO8601, &text);
        if (r >= 0)
            r = form_add(f, prefix, text);
        free(text);
        return r;
    }
}

/* ---- JSON bodies ---- */

static int json_value(const struct awsref *ref, json_t *v, json_t **ret);

static int json_struct(const struct awsshape *s, json_t *v, json_t **ret)
{
    json_t *obj;
    const char *key;
    json_t *mv;

    if (s->document) {
        *ret = json_deep_copy(v);
        return *ret ? 0 : -ENOMEM;
    }
    obj = json_object();
    if (!obj)
        return -ENOMEM;
    json_object_foreach (v, key, mv) {
        const struct awsmember *mem = awsshape_member(s, key);
        json_t *out;
        int r;
        if (json_is_null(mv))
            continue;
        r = json_value(&mem->ref, mv, &out);
        if (r < 0 || json_object_set_new(obj, mem->ref.location_name ? mem->ref.location_name : key,
                                         out) < 0) {
            json_decref(obj);
            return r < 0 ? r : -ENOMEM;
        }
    }
    *ret = obj;
    return 0;
}

static int json_value(const struct awsref *ref, json_t *v, json_t **ret)
{
    const struct awsshape *s = ref->shape;
    json_t *out = NULL;
    int r;

    switch (s->type) {
    case AWS_SHAPE_STRUCTURE: return json_struct(s, v, ret);
    case AWS_SHAPE_LIST: {
        size_t i;
        json_t *item, *o;
        out = json_array();
        if (!out)
            return -ENOMEM;
        json_array_foreach (v, i, item) {
            r = json_value(&s->member, item, &o);
            if (r < 0 || json_array_append_new(out, o) < 0) {
                json_decref(out);
                return r < 0 ? r : -ENOMEM;
            }
        }
        break;
    }
    case AWS_SHAPE_MAP: {
        const char *key;
        json_t *item, *o;
        out = json_object();
        if (!out)
            return -ENOMEM;
        json_object_foreach (v, key, item) {
            r = json_value(&s->value, item, &o);
            if (r < 0 || json_object_set_new(out, key, o) < 0) {
                json_decref(out);
                return r < 0 ? r : -ENOMEM;
            }
        }
        break;
    }
    case AWS_SHAPE_TIMESTAMP: {
        int64_t ms;
        char buf[AWS_TS_BUFSZ];
        enum awstsformat f = ref->timestamp_format ? ref->timestamp_format : AWS_TS_UNIX;
        r = param_ms(v, &ms);
        if (r < 0)
            return r;
        if (f == AWS_TS_UNIX) {
            /* botocore sends whole epoch seconds as a JSON integer. */
            int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
            out = json_integer(secs);
        } else {
            aws_ts_format_wire(ms, f, buf);
            out = json_string(buf);
        }
        break;
    }
    case AWS_SHAPE_FLOAT:
    case AWS_SHAPE_DOUBLE:
        out = json_is_string(v) ? json_incref(v) : json_real(json_number_value(v));
        break;
    case AWS_SHAPE_INTEGER:
    case AWS_SHAPE_LONG:
        out = json_is_integer(v) ? json_incref(v) : json_integer((json_int_t)json_real_value(v));
        break;
    default: out = json_incref(v); break;
    }
    if (!out)
        return -ENOMEM;
    *ret = out;
    return 0;
}

static int json_dump_into(json_t *v, char **ret, size_t *ret_len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (!s)
        return -ENOMEM;
    *ret = s;
    *ret_len = strlen(s);
    return 0;
}

/* ---- XML bodies (rest-xml) ---- */

/* The model's xmlNamespace as an xmlns attribute, as botocore writes it. */
static int xml_ns(const struct awsref *ref, xmlNode *node)
{
    char attr[128];

    if (!ref->xmlns_uri)
        return 0;
    if (ref->xmlns_prefix)
        snprintf(attr, sizeof(attr), "xmlns:%s", ref->xmlns_prefix);
    else
        snprintf(attr, sizeof(attr), "xmlns");
    return xmlSetProp(node, BAD_CAST attr, BAD_CAST ref->xmlns_uri) ? 0 : -ENOMEM;
}

static int xml_value(const struct awsref *ref, json_t *v, xmlNode *parent, const char *name);

static int xml_text_child(const struct awsref *ref, xmlNode *parent, const char *name,
                          const char *text)
{
    xmlNode *n = xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST text);
    if (!n)
        return -ENOMEM;
    return xml_ns(ref, n);
}

static int xml_value(const struct awsref *ref, json_t *v, xmlNode *parent, const char *name)
{
    const struct awsshape *s = ref->shape;
    xmlNode *node;
    char *text = NULL;
    int r;

    switch (s->type) {
    case AWS_SHAPE_STRUCTURE:
        node = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
        if (!node || xml_ns(ref, node) < 0)
            return -ENOMEM;
        /* Model order, which is the order AWS's XML schemas want. */
        for (size_t i = 0; i < s->n_members; i++) {
            const struct awsmember *mem = &s->members[i];
            const char *mname = mem->ref.location_name ? mem->ref.location_name : mem->name;
            json_t *mv = json_object_get(v, mem->name);
            if (!mv || json_is_null(mv))
                continue;
            if (mem->ref.xml_attribute) {
                r = scalar_text(&mem->ref, mv, AWS_TS_ISO8601, &text);
                if (r < 0)
                    return r;
                r = xmlSetProp(node, BAD_CAST mname, BAD_CAST text) ? 0 : -ENOMEM;
                free(text);
                text = NULL;
                if (r < 0)
                    return r;
                continue;
            }
            r = xml_value(&mem->ref, mv, node, mname);
            if (r < 0)
                return r;
        }
        return 0;
    case AWS_SHAPE_LIST: {
        const char *ename;
        xmlNode *list_node;
        size_t i;
        json_t *item;
        if (ref->flattened) {
            ename = name;
            list_node = parent;
        } else {
            ename = s->member.location_name ? s->member.location_name : "member";
            list_node = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
            if (!list_node)
                return -ENOMEM;
        }
        if (xml_ns(ref, list_node) < 0)
            return -ENOMEM;
        json_array_foreach (v, i, item) {
            r = xml_value(&s->member, item, list_node, ename);
            if (r < 0)
                return r;
        }
        return 0;
    }
    case AWS_SHAPE_MAP: {
        const char *key, *kname = s->key.location_name ? s->key.location_name : "key";
        const char *vname = s->value.location_name ? s->value.location_name : "value";
        xmlNode *map_node = NULL;
        json_t *mv;
        if (!ref->flattened) {
            map_node = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
            if (!map_node || xml_ns(ref, map_node) < 0)
                return -ENOMEM;
        }
        json_object_foreach (v, key, mv) {
            xmlNode *entry = ref->flattened ? xmlNewChild(parent, NULL, BAD_CAST name, NULL)
                                            : xmlNewChild(map_node, NULL, BAD_CAST "entry", NULL);
            json_t *kv = json_string(key);
            if (!entry || !kv) {
                json_decref(kv);
                return -ENOMEM;
            }
            r = xml_value(&s->key, kv, entry, kname);
            json_decref(kv);
            if (r >= 0)
                r = xml_value(&s->value, mv, entry, vname);
            if (r < 0)
                return r;
        }
        return 0;
    }
    default:
        r = scalar_text(ref, v, AWS_TS_ISO8601, &text);
        if (r >= 0)
            r = xml_text_child(ref, parent, name, text);
        free(text);
        return r;
    }
}

/* Serialise params (members of shape, or the payload value) under a root
 * element named by ref's locationName. */
static int xml_body(const struct awsref *ref, json_t *v, char **ret, size_t *ret_len,
                    struct perr *err)
{
    xmlNode *holder;
    xmlBuffer *xb;
    int r;

    if (!ref->location_name)
        return perr_set(err, -EINVAL, "shape %s has no XML root name", ref->shape->name);
    holder = xmlNewNode(NULL, BAD_CAST "holder");
    xb = xmlBufferCreate();
    if (!holder || !xb) {
        r = -ENOMEM;
        goto out;
    }
    r = xml_value(ref, v, holder, ref->location_name);
    if (r < 0)
        goto out;
    if (xmlNodeDump(xb, NULL, holder->children, 0, 0) < 0) {
        r = -ENOMEM;
        goto out;
    }
    *ret = str_ndup((const char *)xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
    *ret_len = (size_t)xmlBufferLength(xb);
    r = *ret ? 0 : -ENOMEM;
out:
    xmlBufferFree(xb);
    xmlFreeNode(holder);
    return r;
}

/* ---- rest protocols ---- */

static int header_text(const struct awsref *ref, json_t *v, char **ret)
{
    const struct awsshape *s = ref->shape;

    if (s->type == AWS_SHAPE_TIMESTAMP) {
        int64_t ms;
        char buf[AWS_TS_BUFSZ];
        int r = param_ms(v, &ms);
        if (r < 0)
            return r;
        /* botocore passes whole seconds to header timestamps. */
        ms = (ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)) * 1000;
        aws_ts_format_wire(ms, ref->timestamp_format ? ref->timestamp_format : AWS_TS_RFC822, buf);
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
    }
    if (s->type == AWS_SHAPE_LIST) {
        struct buf b;
        size_t i;
        json_t *item;
        int r = 0;
        buf_init(&b, REQUEST_MAX_BYTES);
        json_array_foreach (v, i, item) {
            char *t = NULL;
            if (i > 0)
                r = buf_append_char(&b, ',');
            if (r >= 0 && s->member.shape->type == AWS_SHAPE_STRING) {
                const char *str = json_string_value(item);
                if (strpbrk(str, "\",")) {
                    r = buf_append_char(&b, '"');
                    for (const char *p = str; *p && r >= 0; p++)
                        r = *p == '"' ? buf_append(&b, "\\\"", 2) : buf_append_char(&b, *p);
                    if (r >= 0)
                        r = buf_append_char(&b, '"');
                } else {
                    r = buf_append_str(&b, str);
                }
            } else if (r >= 0) {
                r = header_text(&s->member, item, &t);
                if (r >= 0)
                    r = buf_append_str(&b, t);
                free(t);
            }
            if (r < 0) {
                buf_free(&b);
                return r;
            }
        }
        *ret = buf_steal(&b, NULL);
        return *ret ? 0 : -ENOMEM;
    }
    if (s->type == AWS_SHAPE_STRING && ref->jsonvalue) {
        char *dumped, *b64;
        size_t len;
        int r = json_dump_into(v, &dumped, &len);
        if (r < 0)
            return r;
        b64 = base64_encode(dumped, len);
        free(dumped);
        *ret = b64;
        return b64 ? 0 : -ENOMEM;
    }
    return scalar_text(ref, v, AWS_TS_ISO8601, ret);
}

/* Render requestUri's path part with the uri-bound members. */
static int render_path(const struct awsshape *in, json_t *params, const char *tmpl, size_t len,
                       struct buf *out, struct perr *err)
{
    const char *p = tmpl, *end = tmpl + len;
    int r = 0;

    while (p < end && r >= 0) {
        const char *open = memchr(p, '{', (size_t)(end - p)), *close;
        char label[128];
        bool greedy;
        size_t llen;
        const struct awsmember *mem = NULL;
        json_t *v = NULL;
        char *text = NULL;

        if (!open)
            return buf_append(out, p, (size_t)(end - p));
        r = buf_append(out, p, (size_t)(open - p));
        close = memchr(open, '}', (size_t)(end - open));
        if (r < 0 || !close)
            return r < 0 ? r : perr_set(err, -EINVAL, "bad requestUri template %s", tmpl);
        llen = (size_t)(close - open - 1);
        greedy = llen > 0 && open[llen] == '+';
        if (greedy)
            llen--;
        if (llen >= sizeof(label))
            return perr_set(err, -EINVAL, "bad requestUri template %s", tmpl);
        memcpy(label, open + 1, llen);
        label[llen] = '\0';
        /* The label is the member's locationName (or its name). */
        for (size_t i = 0; in && i < in->n_members; i++) {
            const struct awsmember *c = &in->members[i];
            if (c->ref.location == AWS_LOC_URI &&
                str_eq(c->ref.location_name ? c->ref.location_name : c->name, label))
                mem = c;
        }
        if (mem)
            v = json_object_get(params, mem->name);
        if (!mem || !v || json_is_null(v))
            return perr_set(err, -EINVAL, "missing required parameter %s", mem ? mem->name : label);
        r = scalar_text(&mem->ref, v, AWS_TS_ISO8601, &text);
        if (r >= 0 && !*text)
            r = perr_set(err, -EINVAL, "parameter %s: must not be empty (it is part of the path)",
                         mem->name);
        if (r >= 0)
            r = awsproto_percent_encode(out, text, greedy);
        free(text);
        p = close + 1;
    }
    return r;
}

static int query_add(struct buf *q, const char *key, const char *value)
{
    int r = q->len > 0 ? buf_append_char(q, '&') : 0;
    if (r >= 0)
        r = awsproto_percent_encode(q, key, false);
    if (r >= 0)
        r = buf_append_char(q, '=');
    if (r >= 0)
        r = awsproto_percent_encode(q, value, false);
    return r;
}

static int rest_request(const struct awsmodel *m, const struct awsop *op, json_t *params,
                        struct awsrequest *req, struct perr *err)
{
    const struct awsshape *in = op->input.shape;
    const char *uri = op->request_uri, *qmark = strchr(uri, '?');
    bool rest_json = m->protocol == AWS_PROTOCOL_REST_JSON;
    struct buf path, query;
    json_t *body_members = NULL;
    bool streaming = false;
    int r;

    buf_init(&path, REQUEST_MAX_BYTES);
    buf_init(&query, REQUEST_MAX_BYTES);
    r = render_path(in, params, uri, qmark ? (size_t)(qmark - uri) : strlen(uri), &path, err);
    if (r >= 0 && qmark && qmark[1])
        r = buf_append_str(&query, qmark + 1);
    if (r < 0)
        goto out;

    body_members = json_object();
    if (!body_members) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; in && i < in->n_members && r >= 0; i++) {
        const struct awsmember *mem = &in->members[i];
        const char *wire = mem->ref.location_name ? mem->ref.location_name : mem->name;
        json_t *v = json_object_get(params, mem->name);
        char *text = NULL;

        if (!v || json_is_null(v))
            continue;
        switch (mem->ref.location) {
        case AWS_LOC_URI: break; /* rendered above */
        case AWS_LOC_QUERYSTRING:
            if (mem->ref.shape->type == AWS_SHAPE_MAP) {
                const char *k;
                json_t *mv;
                json_object_foreach (v, k, mv) {
                    if (json_is_array(mv)) {
                        size_t j;
                        json_t *e;
                        json_array_foreach (mv, j, e)
                            if (r >= 0)
                                r = query_add(&query, k, json_string_value(e));
                    } else if (r >= 0) {
                        r = query_add(&query, k, json_string_value(mv));
                    }
                }
            } else if (mem->ref.shape->type == AWS_SHAPE_LIST) {
                size_t j;
                json_t *e;
                json_array_foreach (v, j, e) {
                    if (r < 0)
                        break;
                    r = scalar_text(&mem->ref.shape->member, e, AWS_TS_ISO8601, &text);
                    if (r >= 0)
                        r = query_add(&query, wire, text);
                    free(text);
                    text = NULL;
                }
            } else {
                r = scalar_text(&mem->ref, v, AWS_TS_ISO8601, &text);
                if (r >= 0)
                    r = query_add(&query, wire, text);
            }
            break;
        case AWS_LOC_HEADER:
            if (mem->ref.shape->type == AWS_SHAPE_LIST && json_array_size(v) == 0)
                break; /* empty lists are not sent */
            r = header_text(&mem->ref, v, &text);
            if (r >= 0)
                r = set_header(req, wire, text);
            break;
        case AWS_LOC_HEADERS: {
            const char *k;
            json_t *mv;
            json_object_foreach (v, k, mv) {
                char *hn =
                    str_printf("%s%s", mem->ref.location_name ? mem->ref.location_name : "", k);
                r = hn ? set_header(req, hn, json_string_value(mv)) : -ENOMEM;
                free(hn);
                if (r < 0)
                    break;
            }
            break;
        }
        case AWS_LOC_STATUS_CODE:
        case AWS_LOC_BODY:
            if (json_object_set(body_members, mem->name, v) < 0)
                r = -ENOMEM;
            break;
        }
        free(text);
    }
    if (r < 0)
        goto out;

    /* The body: a payload member, or the members left for it. */
    if (in && in->payload) {
        const struct awsmember *pm = awsshape_member(in, in->payload);
        json_t *pv = json_object_get(params, pm->name);
        if (pm->ref.shape->type == AWS_SHAPE_BLOB || pm->ref.shape->type == AWS_SHAPE_STRING) {
            streaming = true;
            if (pv && json_is_string(pv)) {
                if (pm->ref.shape->type == AWS_SHAPE_BLOB) {
                    unsigned char *raw = NULL;
                    size_t len = 0;
                    r = base64_decode(json_string_value(pv), &raw, &len);
                    if (r >= 0) {
                        req->body = str_ndup((const char *)raw, len);
                        req->body_len = len;
                        r = req->body ? 0 : -ENOMEM;
                    }
                    free(raw);
                } else {
                    req->body = strdup(json_string_value(pv));
                    req->body_len = strlen(json_string_value(pv));
                    r = req->body ? 0 : -ENOMEM;
                }
            }
        } else if (pv && !json_is_null(pv)) {
            if (rest_json) {
                json_t *b = NULL;
                r = json_value(&pm->ref, pv, &b);
                if (r >= 0)
                    r = json_dump_into(b, &req->body, &req->body_len);
                json_decref(b);
            } else {
                r = xml_body(&pm->ref, pv, &req->body, &req->body_len, err);
            }
        } else if (rest_json) {
            req->body = strdup("{}");
            req->body_len = 2;
            r = req->body ? 0 : -ENOMEM;
        }
    } else if (json_object_size(body_members) > 0) {
        if (rest_json) {
            json_t *b = NULL;
            r = json_struct(in, body_members, &b);
            if (r >= 0)
                r = json_dump_into(b, &req->body, &req->body_len);
            json_decref(b);
        } else {
            r = xml_body(&op->input, body_members, &req->body, &req->body_len, err);
        }
    } else if (rest_json && in) {
        /* botocore sends "{}" when the input has any body member. */
        for (size_t i = 0; i < in->n_members; i++)
            if (in->members[i].ref.location == AWS_LOC_BODY) {
                req->body = strdup("{}");
                req->body_len = 2;
                r = req->body ? 0 : -ENOMEM;
                break;
            }
    }
    if (r < 0)
        goto out;
    if (rest_json && !streaming && req->body_len > 0 && !awsrequest_header(req, "Content-Type"))
        r = set_header(req, "Content-Type", "application/json");
    if (r < 0)
        goto out;
    req->path = buf_steal(&path, NULL);
    req->query = buf_steal(&query, NULL);
    if (!req->path || !req->query)
        r = -ENOMEM;
out:
    json_decref(body_members);
    buf_free(&path);
    buf_free(&query);
    return r;
}

/* ---- the entry points ---- */

static bool host_label_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
            return false;
    return true;
}

static int expand_host_prefix(const struct awsop *op, json_t *params, char **ret, struct perr *err)
{
    struct buf b;
    const char *p = op->host_prefix;
    int r = 0;

    buf_init(&b, 1024);
    while (*p && r >= 0) {
        const char *open = strchr(p, '{'), *close;
        const struct awsmember *mem;
        const char *v;
        char label[128];
        if (!open) {
            r = buf_append_str(&b, p);
            break;
        }
        close = strchr(open, '}');
        if (!close || (size_t)(close - open - 1) >= sizeof(label)) {
            r = perr_set(err, -EINVAL, "bad hostPrefix %s", op->host_prefix);
            break;
        }
        r = buf_append(&b, p, (size_t)(open - p));
        memcpy(label, open + 1, (size_t)(close - open - 1));
        label[close - open - 1] = '\0';
        mem = awsshape_member(op->input.shape, label);
        v = mem ? json_string_value(json_object_get(params, label)) : NULL;
        if (r >= 0 && (!v || !host_label_ok(v)))
            r = perr_set(err, -EINVAL,
                         "invalid value for parameter %s: must contain only alphanumeric "
                         "characters, hyphen, or period",
                         label);
        if (r >= 0)
            r = buf_append_str(&b, v);
        p = close + 1;
    }
    if (r < 0) {
        buf_free(&b);
        return r;
    }
    *ret = buf_steal(&b, NULL);
    return *ret ? 0 : -ENOMEM;
}

int awsproto_build_request(const struct awsmodel *m, const struct awsop *op, json_t *params,
                           struct awsrequest **ret, struct perr *err)
{
    struct awsrequest *req;
    json_t *empty = NULL;
    int r;

    if (!params) {
        empty = json_object();
        if (!empty)
            return -ENOMEM;
        params = empty;
    }
    if (!json_is_object(params)) {
        r = perr_set(err, -EINVAL, "%s: parameters must be a JSON object", op->name);
        goto done;
    }
    if (op->input.shape) {
        r = validate(&op->input, params, "", err);
        if (r < 0)
            goto done;
    } else if (json_object_size(params) > 0) {
        r = perr_set(err, -EINVAL, "%s takes no parameters", op->name);
        goto done;
    }
    req = calloc(1, sizeof(*req));
    if (!req) {
        r = -ENOMEM;
        goto done;
    }
    req->method = strdup(op->method);
    req->unsigned_request = op->unsigned_request;
    r = req->method ? 0 : -ENOMEM;
    if (r >= 0 && op->host_prefix)
        r = expand_host_prefix(op, params, &req->host_prefix, err);
    if (r < 0)
        goto fail;

    switch (m->protocol) {
    case AWS_PROTOCOL_QUERY:
    case AWS_PROTOCOL_EC2: {
        struct form f = { .ec2 = m->protocol == AWS_PROTOCOL_EC2 };
        buf_init(&f.body, REQUEST_MAX_BYTES);
        r = form_add(&f, "Action", op->name);
        if (r >= 0)
            r = form_add(&f, "Version", m->api_version ? m->api_version : "");
        if (r >= 0 && op->input.shape)
            r = form_struct(&f, op->input.shape, params, "");
        if (r >= 0) {
            req->body = buf_steal(&f.body, &req->body_len);
            r = req->body ? 0 : -ENOMEM;
        }
        buf_free(&f.body);
        if (r >= 0)
            r = set_header(req, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
        if (r >= 0) {
            req->path = strdup(op->request_uri);
            req->query = strdup("");
            r = req->path && req->query ? 0 : -ENOMEM;
        }
        break;
    }
    case AWS_PROTOCOL_JSON: {
        char target[256], ctype[64];
        json_t *body = NULL;
        snprintf(target, sizeof(target), "%s.%s", m->target_prefix ? m->target_prefix : "",
                 op->name);
        snprintf(ctype, sizeof(ctype), "application/x-amz-json-%s",
                 m->json_version ? m->json_version : "1.0");
        r = set_header(req, "X-Amz-Target", target);
        if (r >= 0)
            r = set_header(req, "Content-Type", ctype);
        if (r >= 0 && m->query_compatible)
            r = set_header(req, "x-amzn-query-mode", "true");
        if (r >= 0)
            r = op->input.shape ? json_struct(op->input.shape, params, &body)
                                : ((body = json_object()) ? 0 : -ENOMEM);
        if (r >= 0)
            r = json_dump_into(body, &req->body, &req->body_len);
        json_decref(body);
        if (r >= 0) {
            req->path = strdup(op->request_uri);
            req->query = strdup("");
            r = req->path && req->query ? 0 : -ENOMEM;
        }
        break;
    }
    case AWS_PROTOCOL_REST_XML:
    case AWS_PROTOCOL_REST_JSON: r = rest_request(m, op, params, req, err); break;
    }
    if (r >= 0 && !req->body) {
        req->body = strdup("");
        r = req->body ? 0 : -ENOMEM;
    }
    if (r < 0)
        goto fail;
    *ret = req;
    r = 0;
    goto done;
fail:
    if (r == -ENOMEM)
        perr_set(err, r, "%s: out of memory building the request", op->name);
    awsrequest_free(req);
done:
    json_decref(empty);
    return r;
}

int awsproto_parse_response(const struct awsmodel *m, const struct awsop *op,
                            const struct awsresponse *resp, json_t **ret_output,
                            struct awserr **ret_error, struct perr *err)
{
    int r;

    if (resp->status >= 300) {
        r = awserr_parse(m, op, resp, ret_error, err);
        return r < 0 ? r : 1;
    }
    switch (m->protocol) {
    case AWS_PROTOCOL_JSON:
    case AWS_PROTOCOL_REST_JSON: return awsjson_parse_output(m, op, resp, 0, ret_output, err);
    default: return awsxml_parse_output(m, op, resp, NULL, ret_output, err);
    }
}
