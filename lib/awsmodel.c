/* Loading botocore service models into read-only C structures. */
#include "awsmodel.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"

#include "models-embed.h"

/* A model document larger than this is refused (the biggest botocore
 * model, ec2, is about 6 MB uncompressed). */
#define MODEL_MAX_BYTES (64u * 1024 * 1024)

const char *awsprotocol_name(enum awsprotocol p)
{
    switch (p) {
    case AWS_PROTOCOL_QUERY: return "query";
    case AWS_PROTOCOL_EC2: return "ec2";
    case AWS_PROTOCOL_REST_XML: return "rest-xml";
    case AWS_PROTOCOL_JSON: return "json";
    case AWS_PROTOCOL_REST_JSON: return "rest-json";
    }
    return "unknown";
}

static int protocol_from_name(const char *s, enum awsprotocol *ret)
{
    static const struct {
        const char *name;
        enum awsprotocol p;
    } map[] = {
        { "query", AWS_PROTOCOL_QUERY },         { "ec2", AWS_PROTOCOL_EC2 },
        { "rest-xml", AWS_PROTOCOL_REST_XML },   { "json", AWS_PROTOCOL_JSON },
        { "rest-json", AWS_PROTOCOL_REST_JSON },
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (str_eq(s, map[i].name)) {
            *ret = map[i].p;
            return 0;
        }
    return -EINVAL;
}

static int shape_type_from_name(const char *s, enum awsshape_type *ret)
{
    static const struct {
        const char *name;
        enum awsshape_type t;
    } map[] = {
        { "structure", AWS_SHAPE_STRUCTURE },
        { "list", AWS_SHAPE_LIST },
        { "map", AWS_SHAPE_MAP },
        { "string", AWS_SHAPE_STRING },
        { "character", AWS_SHAPE_STRING },
        { "integer", AWS_SHAPE_INTEGER },
        { "byte", AWS_SHAPE_INTEGER },
        { "short", AWS_SHAPE_INTEGER },
        { "long", AWS_SHAPE_LONG },
        { "float", AWS_SHAPE_FLOAT },
        { "double", AWS_SHAPE_DOUBLE },
        { "boolean", AWS_SHAPE_BOOLEAN },
        { "timestamp", AWS_SHAPE_TIMESTAMP },
        { "blob", AWS_SHAPE_BLOB },
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (str_eq(s, map[i].name)) {
            *ret = map[i].t;
            return 0;
        }
    return -EINVAL;
}

static const char *jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Apply the serialisation traits found in obj (a shape definition or a
 * shape reference) over r.  `what` names obj in error messages. */
static int traits_apply(json_t *obj, struct awsref *r, const char *what, struct perr *err)
{
    json_t *v;
    const char *s;

    if ((v = json_object_get(obj, "locationName")))
        r->location_name = json_string_value(v);
    if ((v = json_object_get(obj, "queryName")))
        r->query_name = json_string_value(v);
    if ((v = json_object_get(obj, "resultWrapper")))
        r->result_wrapper = json_string_value(v);
    if ((s = jstr(obj, "location"))) {
        if (str_eq(s, "header"))
            r->location = AWS_LOC_HEADER;
        else if (str_eq(s, "headers"))
            r->location = AWS_LOC_HEADERS;
        else if (str_eq(s, "querystring"))
            r->location = AWS_LOC_QUERYSTRING;
        else if (str_eq(s, "uri"))
            r->location = AWS_LOC_URI;
        else if (str_eq(s, "statusCode"))
            r->location = AWS_LOC_STATUS_CODE;
        else
            return perr_set(err, -EINVAL, "%s: unknown location \"%s\"", what, s);
    }
    if ((s = jstr(obj, "timestampFormat"))) {
        if (str_eq(s, "iso8601"))
            r->timestamp_format = AWS_TS_ISO8601;
        else if (str_eq(s, "unixTimestamp"))
            r->timestamp_format = AWS_TS_UNIX;
        else if (str_eq(s, "rfc822"))
            r->timestamp_format = AWS_TS_RFC822;
        else
            return perr_set(err, -EINVAL, "%s: unknown timestampFormat \"%s\"", what, s);
    }
    if ((v = json_object_get(obj, "xmlNamespace"))) {
        if (json_is_string(v)) {
            r->xmlns_uri = json_string_value(v);
            r->xmlns_prefix = NULL;
        } else if (json_is_object(v)) {
            r->xmlns_uri = jstr(v, "uri");
            r->xmlns_prefix = jstr(v, "prefix");
        }
    }
    if ((v = json_object_get(obj, "flattened")))
        r->flattened = json_is_true(v);
    if ((v = json_object_get(obj, "xmlAttribute")))
        r->xml_attribute = json_is_true(v);
    if ((v = json_object_get(obj, "jsonvalue")))
        r->jsonvalue = json_is_true(v);
    if ((v = json_object_get(obj, "hostLabel")))
        r->host_label = json_is_true(v);
    if ((v = json_object_get(obj, "streaming")))
        r->streaming = json_is_true(v);
    if ((v = json_object_get(obj, "idempotencyToken")))
        r->idempotency_token = json_is_true(v);
    if ((v = json_object_get(obj, "eventstream")))
        r->eventstream = json_is_true(v);
    return 0;
}

static int cmp_shape(const void *a, const void *b)
{
    return strcmp(((const struct awsshape *)a)->name, ((const struct awsshape *)b)->name);
}

static int cmp_op(const void *a, const void *b)
{
    return strcmp(((const struct awsop *)a)->name, ((const struct awsop *)b)->name);
}

static int cmp_pag(const void *a, const void *b)
{
    return strcmp(((const struct awspaginator *)a)->operation,
                  ((const struct awspaginator *)b)->operation);
}

const struct awsshape *awsmodel_shape(const struct awsmodel *m, const char *name)
{
    struct awsshape key = { .name = name };
    if (!m || !name)
        return NULL;
    return bsearch(&key, m->shapes, m->n_shapes, sizeof(*m->shapes), cmp_shape);
}

const struct awsop *awsmodel_op(const struct awsmodel *m, const char *name)
{
    struct awsop key = { .name = name };
    if (!m || !name)
        return NULL;
    return bsearch(&key, m->ops, m->n_ops, sizeof(*m->ops), cmp_op);
}

const struct awsmember *awsshape_member(const struct awsshape *s, const char *name)
{
    if (!s || !name)
        return NULL;
    for (size_t i = 0; i < s->n_members; i++)
        if (strcmp(s->members[i].name, name) == 0)
            return &s->members[i];
    return NULL;
}

const struct awsshape *awsmodel_error_shape(const struct awsmodel *m, const char *code)
{
    if (!m || !code)
        return NULL;
    for (size_t i = 0; i < m->n_shapes; i++)
        if (m->shapes[i].exception && str_eq(m->shapes[i].error_code, code))
            return &m->shapes[i];
    return NULL;
}

/* Resolve {"shape": "Name", ...traits} into r. */
static int ref_resolve(const struct awsmodel *m, json_t *refobj, struct awsref *r, const char *what,
                       struct perr *err)
{
    const char *name = jstr(refobj, "shape");
    const struct awsshape *target;

    if (!json_is_object(refobj) || !name)
        return perr_set(err, -EINVAL, "%s: shape reference without \"shape\"", what);
    target = awsmodel_shape(m, name);
    if (!target)
        return perr_set(err, -EINVAL, "%s: reference to undefined shape \"%s\"", what, name);
    *r = target->traits;
    return traits_apply(refobj, r, what, err);
}

/* A NULL-terminated array of the string(s) in v (a string or an array of
 * strings); an absent v gives an empty array. */
static int strings_of(json_t *v, const char *const **ret, const char *what, struct perr *err)
{
    const char **a;
    size_t n = 0;

    if (v && !json_is_string(v) && !json_is_array(v))
        return perr_set(err, -EINVAL, "%s: expected a string or a list of strings", what);
    a = calloc((json_is_array(v) ? json_array_size(v) : 1) + 1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    if (json_is_string(v)) {
        a[n++] = json_string_value(v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e) {
            if (!json_is_string(e)) {
                free(a);
                return perr_set(err, -EINVAL, "%s: expected a list of strings", what);
            }
            a[n++] = json_string_value(e);
        }
    }
    *ret = a;
    return 0;
}

static size_t strings_len(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

struct model_priv {
    struct awsmodel pub;
    char *service;
    struct awsshape *shapes;
    struct awsop *ops;
    struct awspaginator *pags;
    size_t n_pags;
};

struct awsmodel *awsmodel_free(struct awsmodel *m)
{
    struct model_priv *p = (struct model_priv *)m;
    if (!m)
        return NULL;
    if (p->shapes) {
        for (size_t i = 0; i < m->n_shapes; i++)
            free((void *)p->shapes[i].members);
        free(p->shapes);
    }
    if (p->ops) {
        for (size_t i = 0; i < m->n_ops; i++)
            free((void *)p->ops[i].errors);
        free(p->ops);
    }
    if (p->pags) {
        for (size_t i = 0; i < p->n_pags; i++) {
            free((void *)p->pags[i].input_tokens);
            free((void *)p->pags[i].output_tokens);
            free((void *)p->pags[i].result_keys);
        }
        free(p->pags);
    }
    free(p->service);
    json_decref(m->root);
    free(p);
    return NULL;
}

static int load_metadata(struct model_priv *p, json_t *md, struct perr *err)
{
    struct awsmodel *m = &p->pub;
    json_t *protocols = json_object_get(md, "protocols");
    int r;

    if (!json_is_object(md))
        return perr_set(err, -EINVAL, "model %s: no \"metadata\" object", p->service);
    m->service_id = jstr(md, "serviceId");
    m->endpoint_prefix = jstr(md, "endpointPrefix");
    m->signing_name = jstr(md, "signingName");
    if (!m->signing_name)
        m->signing_name = m->endpoint_prefix;
    m->api_version = jstr(md, "apiVersion");
    m->json_version = jstr(md, "jsonVersion");
    m->target_prefix = jstr(md, "targetPrefix");
    m->global_endpoint = jstr(md, "globalEndpoint");
    m->signature_version = jstr(md, "signatureVersion");
    m->query_compatible = json_object_get(md, "awsQueryCompatible") != NULL;

    /* As botocore: the first protocol of its priority list that the model
     * offers, among those plumb implements. */
    if (json_is_array(protocols) && json_array_size(protocols) > 0) {
        static const char *const prio[] = { "json", "rest-json", "rest-xml", "query", "ec2" };
        for (size_t i = 0; i < ARRAY_SIZE(prio); i++) {
            size_t j;
            json_t *e;
            json_array_foreach (protocols, j, e)
                if (str_eq(json_string_value(e), prio[i]))
                    return protocol_from_name(prio[i], &m->protocol);
        }
        return perr_set(err, -EOPNOTSUPP, "model %s: none of its protocols is supported",
                        p->service);
    }
    r = protocol_from_name(jstr(md, "protocol"), &m->protocol);
    if (r < 0)
        return perr_set(err, -EOPNOTSUPP, "model %s: unsupported protocol \"%s\"", p->service,
                        jstr(md, "protocol") ? jstr(md, "protocol") : "(none)");
    return 0;
}

static int load_shapes(struct model_priv *p, json_t *shapes, struct perr *err)
{
    struct awsmodel *m = &p->pub;
    const char *name;
    json_t *def;
    size_t n = 0;
    char what[300];
    int r;

    if (!json_is_object(shapes))
        return perr_set(err, -EINVAL, "model %s: no \"shapes\" object", p->service);
    p->shapes = calloc(json_object_size(shapes) + 1, sizeof(*p->shapes));
    if (!p->shapes)
        return -ENOMEM;
    /* Pass 1: names, types and each shape's own traits. */
    json_object_foreach (shapes, name, def) {
        struct awsshape *s = &p->shapes[n++];
        json_t *err_md;
        snprintf(what, sizeof(what), "model %s: shape %s", p->service, name);
        s->name = name;
        if (!json_is_object(def) || shape_type_from_name(jstr(def, "type"), &s->type) < 0)
            return perr_set(err, -EINVAL, "%s: unknown type \"%s\"", what,
                            json_is_object(def) && jstr(def, "type") ? jstr(def, "type") : "");
        s->traits.shape = s;
        r = traits_apply(def, &s->traits, what, err);
        if (r < 0)
            return r;
        s->payload = jstr(def, "payload");
        s->exception = json_is_true(json_object_get(def, "exception"));
        s->document = json_is_true(json_object_get(def, "document"));
        s->is_union = json_is_true(json_object_get(def, "union"));
        s->sensitive = json_is_true(json_object_get(def, "sensitive"));
        err_md = json_object_get(def, "error");
        s->error_code = jstr(err_md, "code") ? jstr(err_md, "code") : name;
        s->error_status = (int)json_integer_value(json_object_get(err_md, "httpStatusCode"));
    }
    m->n_shapes = n;
    m->shapes = p->shapes;
    qsort(p->shapes, n, sizeof(*p->shapes), cmp_shape);
    /* qsort moved the shapes: point traits.shape back at each one. */
    for (size_t i = 0; i < n; i++)
        p->shapes[i].traits.shape = &p->shapes[i];

    /* Pass 2: references, now that every shape has its final address. */
    for (size_t i = 0; i < n; i++) {
        struct awsshape *s = &p->shapes[i];
        json_t *d = json_object_get(shapes, s->name);
        snprintf(what, sizeof(what), "model %s: shape %s", p->service, s->name);
        if (s->type == AWS_SHAPE_STRUCTURE) {
            json_t *members = json_object_get(d, "members"), *req = json_object_get(d, "required");
            struct awsmember *mem;
            const char *mname;
            json_t *mref;
            size_t k = 0;

            if (members && !json_is_object(members))
                return perr_set(err, -EINVAL, "%s: \"members\" is not an object", what);
            mem = calloc(json_object_size(members) + 1, sizeof(*mem));
            if (!mem)
                return -ENOMEM;
            s->members = mem;
            json_object_foreach (members, mname, mref) {
                char mwhat[400];
                snprintf(mwhat, sizeof(mwhat), "%s member %s", what, mname);
                mem[k].name = mname;
                r = ref_resolve(m, mref, &mem[k].ref, mwhat, err);
                if (r < 0)
                    return r;
                k++;
            }
            s->n_members = k;
            if (req) {
                size_t j;
                json_t *e;
                json_array_foreach (req, j, e) {
                    size_t q;
                    for (q = 0; q < k; q++)
                        if (str_eq(mem[q].name, json_string_value(e)))
                            break;
                    if (q == k)
                        return perr_set(err, -EINVAL, "%s: required member %s is not a member",
                                        what, json_string_value(e) ? json_string_value(e) : "?");
                    mem[q].required = true;
                }
            }
            if (s->payload && !awsshape_member(s, s->payload))
                return perr_set(err, -EINVAL, "%s: payload %s is not a member", what, s->payload);
        } else if (s->type == AWS_SHAPE_LIST) {
            r = ref_resolve(m, json_object_get(d, "member"), &s->member, what, err);
            if (r < 0)
                return r;
        } else if (s->type == AWS_SHAPE_MAP) {
            r = ref_resolve(m, json_object_get(d, "key"), &s->key, what, err);
            if (r >= 0)
                r = ref_resolve(m, json_object_get(d, "value"), &s->value, what, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int load_paginators(struct model_priv *p, json_t *pags, struct perr *err)
{
    const char *name;
    json_t *def;
    size_t n = 0;
    char what[300];
    int r;

    if (!pags)
        return 0;
    if (!json_is_object(pags))
        return perr_set(err, -EINVAL, "model %s: \"paginators\" is not an object", p->service);
    p->pags = calloc(json_object_size(pags) + 1, sizeof(*p->pags));
    if (!p->pags)
        return -ENOMEM;
    json_object_foreach (pags, name, def) {
        struct awspaginator *g = &p->pags[n++];
        snprintf(what, sizeof(what), "model %s: paginator %s", p->service, name);
        g->operation = name;
        r = strings_of(json_object_get(def, "input_token"), &g->input_tokens, what, err);
        if (r >= 0)
            r = strings_of(json_object_get(def, "output_token"), &g->output_tokens, what, err);
        if (r >= 0)
            r = strings_of(json_object_get(def, "result_key"), &g->result_keys, what, err);
        p->n_pags = n;
        if (r < 0)
            return r;
        g->more_results = jstr(def, "more_results");
        g->limit_key = jstr(def, "limit_key");
        if (strings_len(g->input_tokens) == 0 ||
            strings_len(g->input_tokens) != strings_len(g->output_tokens))
            return perr_set(err, -EINVAL, "%s: input_token and output_token do not pair up", what);
    }
    qsort(p->pags, n, sizeof(*p->pags), cmp_pag);
    return 0;
}

static int load_ops(struct model_priv *p, json_t *ops, struct perr *err)
{
    struct awsmodel *m = &p->pub;
    const char *name;
    json_t *def;
    size_t n = 0;
    char what[300];
    int r;

    if (!json_is_object(ops))
        return perr_set(err, -EINVAL, "model %s: no \"operations\" object", p->service);
    p->ops = calloc(json_object_size(ops) + 1, sizeof(*p->ops));
    if (!p->ops)
        return -ENOMEM;
    json_object_foreach (ops, name, def) {
        struct awsop *o = &p->ops[n++];
        json_t *http = json_object_get(def, "http"), *v, *errors;
        const char *authtype;
        m->n_ops = n;
        snprintf(what, sizeof(what), "model %s: operation %s", p->service, name);
        o->name = name;
        o->method = jstr(http, "method") ? jstr(http, "method") : "POST";
        o->request_uri = jstr(http, "requestUri") ? jstr(http, "requestUri") : "/";
        o->response_code = (int)json_integer_value(json_object_get(http, "responseCode"));
        if ((v = json_object_get(def, "input"))) {
            r = ref_resolve(m, v, &o->input, what, err);
            if (r < 0)
                return r;
        }
        if ((v = json_object_get(def, "output"))) {
            r = ref_resolve(m, v, &o->output, what, err);
            if (r < 0)
                return r;
        }
        errors = json_object_get(def, "errors");
        if (json_is_array(errors) && json_array_size(errors) > 0) {
            const struct awsshape **e = calloc(json_array_size(errors) + 1, sizeof(*e));
            size_t j;
            json_t *ev;
            if (!e)
                return -ENOMEM;
            o->errors = e;
            json_array_foreach (errors, j, ev) {
                e[j] = awsmodel_shape(m, jstr(ev, "shape"));
                if (!e[j])
                    return perr_set(err, -EINVAL, "%s: error shape \"%s\" is not defined", what,
                                    jstr(ev, "shape") ? jstr(ev, "shape") : "");
            }
            o->n_errors = json_array_size(errors);
        }
        o->host_prefix = jstr(json_object_get(def, "endpoint"), "hostPrefix");
        authtype = jstr(def, "authtype");
        o->unsigned_request = str_eq(authtype, "none");
        if (!authtype) {
            /* Newer models say it with "auth": ["smithy.api#noAuth"]. */
            json_t *auth = json_object_get(def, "auth");
            o->unsigned_request =
                json_array_size(auth) == 1 &&
                str_eq(json_string_value(json_array_get(auth, 0)), "smithy.api#noAuth");
        }
    }
    m->ops = p->ops;
    qsort(p->ops, n, sizeof(*p->ops), cmp_op);
    for (size_t i = 0; i < n; i++) {
        struct awspaginator key = { .operation = p->ops[i].name };
        p->ops[i].paginator =
            p->pags ? bsearch(&key, p->pags, p->n_pags, sizeof(*p->pags), cmp_pag) : NULL;
    }
    return 0;
}

const struct awspaginator *awsmodel_paginator(const struct awsmodel *m, const char *operation)
{
    const struct model_priv *p = (const struct model_priv *)m;
    struct awspaginator key = { .operation = operation };
    if (!m || !operation || !p->pags)
        return NULL;
    return bsearch(&key, p->pags, p->n_pags, sizeof(*p->pags), cmp_pag);
}

int awsmodel_load_json(json_t *doc, const char *service, struct awsmodel **ret, struct perr *err)
{
    struct model_priv *p;
    int r;

    if (!json_is_object(doc) || !service)
        return perr_set(err, -EINVAL, "model %s: not a JSON object", service ? service : "?");
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->pub.root = json_incref(doc);
    p->service = strdup(service);
    if (!p->service) {
        r = -ENOMEM;
        goto fail;
    }
    p->pub.service = p->service;
    r = load_metadata(p, json_object_get(doc, "metadata"), err);
    if (r < 0)
        goto fail;
    r = load_shapes(p, json_object_get(doc, "shapes"), err);
    if (r < 0)
        goto fail;
    r = load_paginators(p, json_object_get(doc, "paginators"), err);
    if (r < 0)
        goto fail;
    r = load_ops(p, json_object_get(doc, "operations"), err);
    if (r < 0)
        goto fail;
    *ret = &p->pub;
    return 0;
fail:
    if (r == -ENOMEM)
        perr_set(err, r, "model %s: out of memory", service);
    awsmodel_free(&p->pub);
    return r;
}

static int load_text(const char *text, size_t len, const char *service, struct awsmodel **ret,
                     struct perr *err)
{
    json_error_t jerr;
    json_t *doc;
    int r;

    if (len > MODEL_MAX_BYTES)
        return perr_set(err, -EFBIG, "model %s: larger than %u bytes", service, MODEL_MAX_BYTES);
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return perr_set(err, -EINVAL, "model %s: line %d: %s", service, jerr.line, jerr.text);
    r = awsmodel_load_json(doc, service, ret, err);
    json_decref(doc);
    return r;
}

int awsmodel_load_file(const char *path, const char *service, struct awsmodel **ret,
                       struct perr *err)
{
    char *text = NULL, *stem = NULL;
    size_t len;
    int r;

    if (!service) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *dot = strrchr(base, '.');
        stem = str_ndup(base, dot ? (size_t)(dot - base) : strlen(base));
        if (!stem)
            return -ENOMEM;
        service = stem;
    }
    r = read_file(path, MODEL_MAX_BYTES, &text, &len);
    if (r < 0) {
        perr_set(err, r, "%s: %s", path, strerror(-r));
        goto out;
    }
    r = load_text(text, len, service, ret, err);
out:
    free(text);
    free(stem);
    return r;
}

int awsmodel_load_embedded(const char *service, struct awsmodel **ret, struct perr *err)
{
    size_t n = strlen(service);
    for (const struct embedded_file *f = aws_models_files; f->name; f++)
        if (strncmp(f->name, service, n) == 0 && str_eq(f->name + n, ".json"))
            return load_text(f->data, f->size, service, ret, err);
    return perr_set(err, -ENOENT, "no built-in model for service \"%s\"", service);
}

struct awsmodels {
    struct awsmodel **models; /* sorted by service */
    size_t n;
};

struct awsmodels *awsmodels_free(struct awsmodels *set)
{
    if (!set)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        awsmodel_free(set->models[i]);
    free(set->models);
    free(set);
    return NULL;
}

int awsmodels_load_embedded(struct awsmodels **ret, struct perr *err)
{
    struct awsmodels *set = calloc(1, sizeof(*set));
    size_t count = 0;
    int r = 0;

    if (!set)
        return -ENOMEM;
    for (const struct embedded_file *f = aws_models_files; f->name; f++)
        count++;
    set->models = calloc(count + 1, sizeof(*set->models));
    if (!set->models) {
        r = -ENOMEM;
        goto fail;
    }
    /* aws_models_files[] is sorted by file name, so the set is sorted by
     * service name. */
    for (const struct embedded_file *f = aws_models_files; f->name; f++) {
        char *stem;
        if (!str_has_suffix(f->name, ".json"))
            continue;
        stem = str_ndup(f->name, strlen(f->name) - 5);
        if (!stem) {
            r = -ENOMEM;
            goto fail;
        }
        r = load_text(f->data, f->size, stem, &set->models[set->n], err);
        free(stem);
        if (r < 0)
            goto fail;
        set->n++;
    }
    *ret = set;
    return 0;
fail:
    awsmodels_free(set);
    return r;
}

const struct awsmodel *awsmodels_get(const struct awsmodels *set, const char *service)
{
    size_t lo = 0, hi = set ? set->n : 0;
    if (!service)
        return NULL;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(service, set->models[mid]->service);
        if (c == 0)
            return set->models[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t awsmodels_count(const struct awsmodels *set)
{
    return set ? set->n : 0;
}

const struct awsmodel *awsmodels_at(const struct awsmodels *set, size_t i)
{
    return set && i < set->n ? set->models[i] : NULL;
}

const char *awsresponse_header(const struct awsresponse *r, const char *name)
{
    if (!r || !name)
        return NULL;
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* ---- timestamps ---- */

/* Earliest and latest instants accepted: years 0001 to 9999, which is what
 * ISO 8601 strings can say and what botocore's datetime can hold. */
#define TS_MIN_MS (-62135596800000LL)
#define TS_MAX_MS (253402300799999LL)

int aws_ts_from_epoch(double seconds, int64_t *ret_ms)
{
    double ms;
    if (!isfinite(seconds))
        return -EINVAL;
    ms = round(seconds * 1000.0);
    if (ms < (double)TS_MIN_MS || ms > (double)TS_MAX_MS)
        return -ERANGE;
    *ret_ms = (int64_t)ms;
    return 0;
}

static bool looks_numeric(const char *s)
{
    const char *p = s;
    bool digits = false;
    if (*p == '+' || *p == '-')
        p++;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (digits && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return digits && *p == '\0';
}

int aws_ts_parse(const char *s, int64_t *ret_ms)
{
    char buf[64];
    size_t len;
    int64_t ms;
    int r;

    if (!s)
        return -EINVAL;
    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';

    if (looks_numeric(buf)) {
        double d;
        r = parse_double(buf, &d);
        if (r < 0)
            return r;
        return aws_ts_from_epoch(d, ret_ms);
    }
    r = time_parse_iso8601(buf, &ms);
    if (r < 0)
        r = time_parse_http(buf, &ms);
    if (r < 0)
        return -EINVAL;
    if (ms < TS_MIN_MS || ms > TS_MAX_MS)
        return -ERANGE;
    *ret_ms = ms;
    return 0;
}

void aws_ts_format(int64_t ms, char buf[AWS_TS_BUFSZ])
{
    if (ms % 1000 != 0)
        time_format_iso8601_ms(ms, buf, AWS_TS_BUFSZ);
    else
        time_format_iso8601(ms, buf, AWS_TS_BUFSZ);
}

void aws_ts_format_wire(int64_t ms, enum awstsformat f, char buf[AWS_TS_BUFSZ])
{
    /* Floor division, so instants before 1970 keep a positive fraction. */
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int frac = (int)(ms - secs * 1000);

    switch (f) {
    case AWS_TS_UNIX:
        /* botocore sends whole seconds (its default precision). */
        snprintf(buf, AWS_TS_BUFSZ, "%lld", (long long)secs);
        return;
    case AWS_TS_RFC822: {
        static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(buf, AWS_TS_BUFSZ, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        return;
    }
    case AWS_TS_DEFAULT:
    case AWS_TS_ISO8601:
    default: {
        /* botocore writes microseconds when there is a fraction. */
        char base[AWS_TS_BUFSZ];
        time_format_iso8601(secs * 1000, base, sizeof(base));
        if (frac == 0) {
            memcpy(buf, base, strlen(base) + 1);
        } else {
            base[strlen(base) - 1] = '\0'; /* drop the Z */
            snprintf(buf, AWS_TS_BUFSZ, "%s.%03d000Z", base, frac);
        }
        return;
    }
    }
}

/* ---- scalar values from text (XML and HTTP headers) ---- */

json_t *awsmodel_json_float(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

/* Python's int(): optional sign, digits, surrounding whitespace. */
static int parse_py_int(const char *text, json_int_t *ret)
{
    char buf[64];
    const char *s = text;
    size_t len;
    int64_t v;

    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == '+' && buf[1] != '-' && buf[1] != '+') {
        if (parse_int64(buf + 1, &v) < 0)
            return -EINVAL;
    } else if (parse_int64(buf, &v) < 0) {
        return -EINVAL;
    }
    *ret = (json_int_t)v;
    return 0;
}

/* Python's float(): also "nan", "inf", "infinity" in any case. */
static int parse_py_float(const char *text, double *ret)
{
    char buf[128], *end;
    double d;
    const char *s = text;
    size_t len;

    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* strtod would also take hex floats and "nan(chars)"; Python does not.
     * Overflow gives an infinity, as in Python. */
    if (strpbrk(buf, "xX()"))
        return -EINVAL;
    errno = 0;
    d = strtod(buf, &end);
    if (end == buf || *end != '\0')
        return -EINVAL;
    *ret = d;
    return 0;
}

static bool is_b64_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int awsmodel_scalar_from_text(const struct awsref *ref, const char *text, bool strict_bool,
                              const char *what, json_t **ret, struct perr *err)
{
    const struct awsshape *s = ref->shape;
    json_t *v = NULL;

    if (!text)
        text = "";
    switch (s->type) {
    case AWS_SHAPE_STRING:
        if (ref->jsonvalue && ref->location == AWS_LOC_HEADER) {
            unsigned char *raw = NULL;
            size_t rawlen;
            json_error_t jerr;
            int r = base64_decode(text, &raw, &rawlen);
            if (r == -ENOMEM)
                return r;
            if (r < 0)
                return perr_set(err, -EBADMSG, "%s: header value is not base64", what);
            v = json_loadb((const char *)raw, rawlen, JSON_DECODE_ANY, &jerr);
            free(raw);
            if (!v)
                return perr_set(err, -EBADMSG, "%s: header value is not base64 JSON: %s", what,
                                jerr.text);
            break;
        }
        v = json_string(text);
        if (!v)
            return perr_set(err, -EBADMSG, "%s: not valid UTF-8", what);
        break;
    case AWS_SHAPE_INTEGER:
    case AWS_SHAPE_LONG: {
        json_int_t i;
        if (parse_py_int(text, &i) < 0)
            return perr_set(err, -EBADMSG, "%s: invalid integer \"%.64s\"", what, text);
        v = json_integer(i);
        break;
    }
    case AWS_SHAPE_FLOAT:
    case AWS_SHAPE_DOUBLE: {
        double d;
        if (parse_py_float(text, &d) < 0)
            return perr_set(err, -EBADMSG, "%s: invalid number \"%.64s\"", what, text);
        v = awsmodel_json_float(d);
        break;
    }
    case AWS_SHAPE_BOOLEAN:
        v = json_boolean(strict_bool ? strcmp(text, "true") == 0 : strcasecmp(text, "true") == 0);
        break;
    case AWS_SHAPE_TIMESTAMP: {
        int64_t ms;
        char buf[AWS_TS_BUFSZ];
        if (aws_ts_parse(text, &ms) < 0)
            return perr_set(err, -EBADMSG, "%s: invalid timestamp \"%.64s\"", what, text);
        aws_ts_format(ms, buf);
        v = json_string(buf);
        break;
    }
    case AWS_SHAPE_BLOB: {
        size_t n = strlen(text), k = 0;
        char *clean = malloc(n + 1);
        if (!clean)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (!is_b64_space(text[i]))
                clean[k++] = text[i];
        clean[k] = '\0';
        v = json_string(clean);
        free(clean);
        if (!v)
            return perr_set(err, -EBADMSG, "%s: not valid UTF-8", what);
        break;
    }
    case AWS_SHAPE_STRUCTURE:
    case AWS_SHAPE_LIST:
    case AWS_SHAPE_MAP:
        return perr_set(err, -EBADMSG, "%s: shape %s is not a scalar", what, s->name);
    }
    if (!v)
        return -ENOMEM;
    *ret = v;
    return 0;
}

/* A header bound to a list: RFC 7230 comma-separated items, each trimmed
 * (botocore does not honour quoting, neither do we). */
static int header_list(const struct awsref *ref, const char *value, bool strict_bool,
                       const char *what, json_t **ret, struct perr *err)
{
    json_t *list = json_array();
    char *copy = strdup(value), *p, *next;
    int r = -ENOMEM;

    if (!list || !copy)
        goto fail;
    for (p = copy; p; p = next) {
        json_t *item;
        struct awsref member = ref->shape->member;
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        member.location = AWS_LOC_HEADER;
        r = awsmodel_scalar_from_text(&member, str_trim(p), strict_bool, what, &item, err);
        if (r < 0)
            goto fail;
        r = json_array_append_new(list, item) < 0 ? -ENOMEM : 0;
        if (r < 0)
            goto fail;
    }
    free(copy);
    *ret = list;
    return 0;
fail:
    free(copy);
    json_decref(list);
    return r;
}

int awsmodel_parse_http_bindings(const struct awsshape *shape, const struct awsresponse *resp,
                                 unsigned flags, json_t *out, struct perr *err)
{
    bool strict_bool = flags & AWS_BIND_STRICT_BOOL;

    for (size_t i = 0; shape && i < shape->n_members; i++) {
        const struct awsmember *mem = &shape->members[i];
        const struct awsref *ref = &mem->ref;
        const char *hname = ref->location_name ? ref->location_name : mem->name;
        json_t *v = NULL;
        int r;

        switch (ref->location) {
        case AWS_LOC_STATUS_CODE:
            v = json_integer(resp->status);
            if (!v)
                return -ENOMEM;
            break;
        case AWS_LOC_HEADER: {
            const char *hv = awsresponse_header(resp, hname);
            char what[300];
            if (!hv)
                continue;
            snprintf(what, sizeof(what), "header %s (member %s)", hname, mem->name);
            if ((flags & AWS_BIND_S3_EXPIRES) && str_eq(ref->shape->name, "Expires") &&
                str_eq(ref->location_name, "Expires")) {
                int64_t ms;
                if (json_object_set_new(out, "ExpiresString", json_string(hv)) < 0)
                    return perr_set(err, -EBADMSG, "%s: not valid UTF-8", what);
                if (aws_ts_parse(hv, &ms) < 0)
                    continue;
            }
            if (ref->shape->type == AWS_SHAPE_LIST)
                r = header_list(ref, hv, strict_bool, what, &v, err);
            else
                r = awsmodel_scalar_from_text(ref, hv, strict_bool, what, &v, err);
            if (r < 0)
                return r;
            break;
        }
        case AWS_LOC_HEADERS: {
            size_t plen = strlen(ref->location_name ? ref->location_name : "");
            v = json_object();
            if (!v)
                return -ENOMEM;
            for (size_t h = 0; h < resp->n_headers; h++) {
                const char *n = resp->headers[h].name;
                if (!n || strncasecmp(n, hname, plen) != 0 || !resp->headers[h].value)
                    continue;
                if (json_object_set_new(v, n + plen, json_string(resp->headers[h].value)) < 0) {
                    json_decref(v);
                    return perr_set(err, -EBADMSG, "header %s: not valid UTF-8", n);
                }
            }
            break;
        }
        case AWS_LOC_BODY:
        case AWS_LOC_QUERYSTRING:
        case AWS_LOC_URI: continue;
        }
        if (json_object_set_new(out, mem->name, v) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int rm_set_str(json_t *obj, const char *key, const char *val)
{
    json_t *v = json_string(val ? val : "");
    if (!v || json_object_set_new(obj, key, v) < 0)
        return -ENOMEM;
    return 0;
}

int awsmodel_rest_metadata(const struct awsresponse *resp, json_t *out)
{
    const char *rid = awsresponse_header(resp, "x-amzn-requestid");
    json_t *md = json_object();
    int r = 0;

    if (!md)
        return -ENOMEM;
    if (rid) {
        r = rm_set_str(md, "RequestId", rid);
    } else if ((rid = awsresponse_header(resp, "x-amz-request-id"))) {
        r = rm_set_str(md, "RequestId", rid);
        if (r >= 0)
            r = rm_set_str(md, "HostId", awsresponse_header(resp, "x-amz-id-2"));
    }
    if (r >= 0 && json_object_size(md) > 0)
        return json_object_set_new(out, "ResponseMetadata", md) < 0 ? -ENOMEM : 0;
    json_decref(md);
    return r;
}

int awsmodel_raw_payload(const struct awsmember *pm, const struct awsresponse *resp, json_t *out,
                         struct perr *err)
{
    const char *body = resp->body ? resp->body : "";
    json_t *v;

    if (pm->ref.shape->type == AWS_SHAPE_STRING) {
        v = json_stringn(body, resp->body_len);
        if (!v)
            return perr_set(err, -EBADMSG, "payload %s: body is not valid UTF-8", pm->name);
    } else {
        char *b64 = base64_encode(body, resp->body_len);
        if (!b64)
            return -ENOMEM;
        v = json_string(b64);
        free(b64);
        if (!v)
            return -ENOMEM;
    }
    return json_object_set_new(out, pm->name, v) < 0 ? -ENOMEM : 0;
}

int awsmodel_check_no_eventstream(const struct awsshape *s, struct perr *err)
{
    for (size_t i = 0; s && i < s->n_members; i++)
        if (s->members[i].ref.eventstream)
            return perr_set(err, -EOPNOTSUPP, "%s: event streams are not supported", s->name);
    return 0;
}
