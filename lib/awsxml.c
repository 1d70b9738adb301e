/* XML responses to JSON by shape (botocore's XML parsers, in C). */
#include "awsxml.h"

#include <errno.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void awsxml_init(void)
{
    xmlInitParser();
}

void awsxml_cleanup(void)
{
    xmlCleanupParser();
}

/* Per-parse state reached from the SAX callbacks through ctxt->_private. */
struct guard {
    unsigned depth;
    unsigned max_depth;
    bool refused; /* one of our own checks stopped the parser */
    char msg[256];
};

static void guard_refuse(xmlParserCtxtPtr ctxt, const char *why)
{
    struct guard *g = ctxt->_private;
    if (!g->refused) {
        g->refused = true;
        snprintf(g->msg, sizeof(g->msg), "XML line %d: %s", xmlSAX2GetLineNumber(ctxt), why);
    }
    xmlStopParser(ctxt);
}

static void guard_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                        const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                        int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct guard *g = ctxt->_private;

    if (++g->depth > g->max_depth) {
        char why[128];
        snprintf(why, sizeof(why), "elements nested deeper than the limit of %u", g->max_depth);
        guard_refuse(ctxt, why);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void guard_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                      const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct guard *g = ctxt->_private;

    if (g->depth > 0)
        g->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* AWS never sends a DOCTYPE.  Refusing it at the declaration means no
 * entity is ever declared, so neither "billion laughs" expansion nor
 * external entities (file://, http://) can happen. */
static void guard_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
                      const xmlChar *system_id)
{
    guard_refuse(ctx, "document type declarations (DOCTYPE) are not allowed");
}

static void guard_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                              const xmlChar *system_id, xmlChar *content)
{
    guard_refuse(ctx, "entity declarations are not allowed");
}

/* Keep libxml2's first complaint instead of letting it print. */
static void guard_error(void *ctx, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct guard *g = ctxt ? ctxt->_private : NULL;
    size_t n;

    if (!g || g->msg[0] || !e || !e->message)
        return;
    snprintf(g->msg, sizeof(g->msg), "XML line %d: %s", e->line, e->message);
    n = strlen(g->msg);
    while (n > 0 && (g->msg[n - 1] == '\n' || g->msg[n - 1] == ' '))
        g->msg[--n] = '\0';
}

int awsxml_read(const char *data, size_t len, const struct awsxml_limits *lim, xmlDoc **ret,
                struct perr *err)
{
    struct awsxml_limits def = { AWSXML_DEFAULT_MAX_BYTES, AWSXML_DEFAULT_MAX_DEPTH };
    struct guard g = { 0 };
    xmlParserCtxtPtr ctxt;
    xmlDoc *doc;
    int r;

    if (!lim)
        lim = &def;
    /* Checked before the data is touched: a caller's claimed length is
     * enough to refuse. */
    if (len > lim->max_bytes || len > INT_MAX)
        return perr_set(err, -E2BIG, "XML body of %zu bytes is larger than the limit of %zu bytes",
                        len, lim->max_bytes);
    if (len == 0 || !data)
        return perr_set(err, -EBADMSG, "XML body is empty");
    g.max_depth = lim->max_depth;

    ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
    if (!ctxt)
        return -ENOMEM;
    /* No network, no entity substitution (no XML_PARSE_NOENT), no DTD
     * loading (no XML_PARSE_DTDLOAD), no XML_PARSE_HUGE, and quiet. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING);
    /* The same, whatever process-wide defaults someone else may have
     * changed (xmlSubstituteEntitiesDefault, xmlLoadExtDtdDefaultValue). */
    ctxt->replaceEntities = 0;
    ctxt->loadsubset = 0;
    ctxt->validate = 0;
    ctxt->_private = &g;
    ctxt->sax->startElementNs = guard_start;
    ctxt->sax->endElementNs = guard_end;
    ctxt->sax->internalSubset = guard_dtd;
    ctxt->sax->externalSubset = guard_dtd;
    ctxt->sax->entityDecl = guard_entity_decl;
    ctxt->sax->serror = guard_error;

    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    if (g.refused || !ctxt->wellFormed || !doc || !xmlDocGetRootElement(doc)) {
        if (ctxt->errNo == XML_ERR_NO_MEMORY)
            r = -ENOMEM;
        else
            r = perr_set(err, -EBADMSG, "%s", g.msg[0] ? g.msg : "XML is not well-formed");
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return r;
    }
    xmlFreeParserCtxt(ctxt);
    *ret = doc;
    return 0;
}

static bool is_elem(const xmlNode *n)
{
    return n && n->type == XML_ELEMENT_NODE;
}

static bool tag_is(const xmlNode *n, const char *name)
{
    return is_elem(n) && strcmp((const char *)n->name, name) == 0;
}

xmlNode *awsxml_child(const xmlNode *node, const char *name)
{
    for (xmlNode *c = node ? node->children : NULL; c; c = c->next)
        if (tag_is(c, name))
            return c;
    return NULL;
}

char *awsxml_text(const xmlNode *node)
{
    size_t len = 0;
    char *s, *p;
    const xmlNode *c;

    for (c = node ? node->children : NULL; c && !is_elem(c); c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            len += strlen((const char *)c->content);
    s = malloc(len + 1);
    if (!s)
        return NULL;
    p = s;
    for (c = node ? node->children : NULL; c && !is_elem(c); c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            size_t n = strlen((const char *)c->content);
            memcpy(p, c->content, n);
            p += n;
        }
    *p = '\0';
    return s;
}

/* ---- shape-directed walk ---- */

struct xctx {
    const struct awsmodel *m;
    bool iam_policies; /* decode IAM policyDocumentType members */
    unsigned in_map;   /* botocore's policy decoder does not descend into maps */
    struct perr *err;
};

/* Elements with the same local name among the children of a parent:
 * the first one and how many there are (botocore groups repeated tags). */
struct group {
    xmlNode *first;
    size_t count;
};

static xmlNode *next_same(xmlNode *n)
{
    for (xmlNode *c = n->next; c; c = c->next)
        if (tag_is(c, (const char *)n->name))
            return c;
    return NULL;
}

static struct group find_group(const xmlNode *parent, const char *name)
{
    struct group g = { NULL, 0 };
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (tag_is(c, name)) {
            if (!g.first)
                g.first = c;
            g.count++;
        }
    return g;
}

static int parse_value(struct xctx *x, const struct awsref *ref, struct group g, const char *what,
                       json_t **ret);

/* botocore's _member_key_name. */
static const char *member_xml_name(const struct awsmember *mem)
{
    const struct awsref *r = &mem->ref;
    if (r->shape->type == AWS_SHAPE_LIST && r->flattened && r->shape->member.location_name)
        return r->shape->member.location_name;
    return r->location_name ? r->location_name : mem->name;
}

static xmlNode *error_root(const struct xctx *x, xmlNode *root)
{
    if (x->m->protocol == AWS_PROTOCOL_EC2) {
        xmlNode *errors = awsxml_child(root, "Errors"), *e = awsxml_child(errors, "Error");
        return e ? e : root;
    }
    if (tag_is(root, "ErrorResponse")) {
        xmlNode *e = awsxml_child(root, "Error");
        return e ? e : root;
    }
    return root;
}

static const char *attr_value(const xmlNode *node, const char *location_name)
{
    const char *colon = strchr(location_name, ':');
    for (const xmlAttr *a = node->properties; a; a = a->next) {
        bool match = colon ? a->ns && strcmp((const char *)a->name, colon + 1) == 0
                           : !a->ns && strcmp((const char *)a->name, location_name) == 0;
        if (match && a->children && a->children->content)
            return (const char *)a->children->content;
        if (match)
            return "";
    }
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Python's urllib.parse.unquote: %XX escapes only ('+' stays). */
static int url_unquote(const char *s, char **ret)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1), *p = out;
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *p++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *p++ = s[i];
        }
    }
    *p = '\0';
    *ret = out;
    return 0;
}

/* IAM returns policy documents as urlencode(json); botocore's
 * json_decode_policies handler turns them into dicts.  Same here; a value
 * that does not decode stays the string it was. */
static int decode_policy(json_t **v)
{
    char *plain;
    json_t *doc;
    int r;

    if (!json_is_string(*v))
        return 0;
    r = url_unquote(json_string_value(*v), &plain);
    if (r < 0)
        return r;
    doc = json_loads(plain, JSON_DECODE_ANY, NULL);
    free(plain);
    if (doc) {
        json_decref(*v);
        *v = doc;
    }
    return 0;
}

static int parse_struct(struct xctx *x, const struct awsshape *s, xmlNode *node, const char *what,
                        json_t **ret)
{
    json_t *obj;
    int r;

    if (s->exception)
        node = error_root(x, node);
    if (s->is_union) {
        /* botocore: exactly one member must be set; an unknown one is
         * reported as SDK_UNKNOWN_MEMBER. */
        size_t distinct = 0;
        xmlNode *first = NULL;
        for (xmlNode *c = node->children; c; c = c->next) {
            bool seen = false;
            if (!is_elem(c) || strcmp((const char *)c->name, "__type") == 0)
                continue;
            for (xmlNode *d = node->children; d != c; d = d->next)
                if (tag_is(d, (const char *)c->name))
                    seen = true;
            if (!seen && distinct++ == 0)
                first = c;
        }
        if (distinct != 1)
            return perr_set(x->err, -EBADMSG, "%s: union %s must have one and only one member set",
                            what, s->name);
        bool known = false;
        for (size_t i = 0; i < s->n_members; i++)
            if (str_eq(member_xml_name(&s->members[i]), (const char *)first->name))
                known = true;
        if (!known) {
            json_t *u =
                json_pack("{s:{s:s}}", "SDK_UNKNOWN_MEMBER", "name", (const char *)first->name);
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
        const char *xname;
        struct group g;
        json_t *v = NULL;

        if (mem->ref.location == AWS_LOC_HEADER || mem->ref.location == AWS_LOC_HEADERS ||
            mem->ref.location == AWS_LOC_STATUS_CODE)
            continue;
        xname = member_xml_name(mem);
        g = find_group(node, xname);
        if (g.count > 0) {
            char mwhat[256];
            snprintf(mwhat, sizeof(mwhat), "member %s", mem->name);
            r = parse_value(x, &mem->ref, g, mwhat, &v);
            if (r < 0)
                goto fail;
            if (x->iam_policies && !x->in_map && mem->ref.shape->type == AWS_SHAPE_STRING &&
                str_eq(mem->ref.shape->name, "policyDocumentType")) {
                r = decode_policy(&v);
                if (r < 0) {
                    json_decref(v);
                    goto fail;
                }
            }
        } else if (mem->ref.xml_attribute && mem->ref.location_name) {
            const char *a = attr_value(node, mem->ref.location_name);
            if (!a)
                continue;
            v = json_string(a);
            if (!v) {
                r = -ENOMEM;
                goto fail;
            }
        } else {
            continue;
        }
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

static int parse_list(struct xctx *x, const struct awsref *ref, struct group g, const char *what,
                      json_t **ret)
{
    const struct awsshape *s = ref->shape;
    json_t *arr = json_array();
    xmlNode *item;
    int r;

    if (!arr)
        return -ENOMEM;
    if (ref->flattened) {
        /* Every element of the group is one item. */
        for (item = g.first; item; item = next_same(item)) {
            json_t *v;
            struct group one = { item, 1 };
            r = parse_value(x, &s->member, one, what, &v);
            if (r < 0)
                goto fail;
            if (json_array_append_new(arr, v) < 0) {
                r = -ENOMEM;
                goto fail;
            }
        }
    } else {
        /* Every child element of the wrapper is one item, whatever its
         * name (botocore iterates the wrapper). */
        for (item = g.first->children; item; item = item->next) {
            json_t *v;
            struct group one = { item, 1 };
            if (!is_elem(item))
                continue;
            r = parse_value(x, &s->member, one, what, &v);
            if (r < 0)
                goto fail;
            if (json_array_append_new(arr, v) < 0) {
                r = -ENOMEM;
                goto fail;
            }
        }
    }
    *ret = arr;
    return 0;
fail:
    json_decref(arr);
    return r;
}

static int parse_map_entry(struct xctx *x, const struct awsshape *s, xmlNode *entry, json_t *obj,
                           const char *what)
{
    const char *kname = s->key.location_name ? s->key.location_name : "key";
    const char *vname = s->value.location_name ? s->value.location_name : "value";
    xmlNode *knode = NULL, *vnode = NULL;
    char *key;
    json_t *v;
    int r;

    for (xmlNode *c = entry->children; c; c = c->next) {
        if (!is_elem(c))
            continue;
        if (strcmp((const char *)c->name, kname) == 0)
            knode = c;
        else if (strcmp((const char *)c->name, vname) == 0)
            vnode = c;
        else
            return perr_set(x->err, -EBADMSG, "%s: unknown tag <%s> in a map entry", what,
                            (const char *)c->name);
    }
    if (!knode || !vnode)
        return perr_set(x->err, -EBADMSG, "%s: map entry without <%s>", what,
                        knode ? vname : kname);
    key = awsxml_text(knode);
    if (!key)
        return -ENOMEM;
    x->in_map++;
    r = parse_value(x, &s->value, (struct group){ vnode, 1 }, what, &v);
    x->in_map--;
    if (r >= 0 && json_object_set_new(obj, key, v) < 0)
        r = perr_set(x->err, -EBADMSG, "%s: map key is not valid UTF-8", what);
    free(key);
    return r;
}

static int parse_map(struct xctx *x, const struct awsref *ref, struct group g, const char *what,
                     json_t **ret)
{
    json_t *obj = json_object();
    int r = 0;

    if (!obj)
        return -ENOMEM;
    if (ref->flattened) {
        for (xmlNode *e = g.first; e && r >= 0; e = next_same(e))
            r = parse_map_entry(x, ref->shape, e, obj, what);
    } else {
        for (xmlNode *e = g.first->children; e && r >= 0; e = e->next)
            if (is_elem(e))
                r = parse_map_entry(x, ref->shape, e, obj, what);
    }
    if (r < 0) {
        json_decref(obj);
        return r;
    }
    *ret = obj;
    return 0;
}

static int parse_value(struct xctx *x, const struct awsref *ref, struct group g, const char *what,
                       json_t **ret)
{
    char *text;
    int r;

    switch (ref->shape->type) {
    case AWS_SHAPE_STRUCTURE: return parse_struct(x, ref->shape, g.first, what, ret);
    case AWS_SHAPE_LIST: return parse_list(x, ref, g, what, ret);
    case AWS_SHAPE_MAP: return parse_map(x, ref, g, what, ret);
    default:
        text = awsxml_text(g.first);
        if (!text)
            return -ENOMEM;
        r = awsmodel_scalar_from_text(ref, text, true, what, ret, x->err);
        free(text);
        return r;
    }
}

/* ---- responses ---- */

static int set_str(json_t *obj, const char *key, const char *val)
{
    json_t *v = json_string(val ? val : "");
    if (!v || json_object_set_new(obj, key, v) < 0)
        return -ENOMEM;
    return 0;
}

/* query: every child of <ResponseMetadata>; ec2: <requestId>. */
static int body_metadata(const struct awsmodel *m, xmlNode *root, json_t *out)
{
    json_t *md;
    int r = 0;

    if (m->protocol == AWS_PROTOCOL_EC2) {
        xmlNode *rid = awsxml_child(root, "requestId");
        char *t;
        if (!rid)
            return 0;
        t = awsxml_text(rid);
        md = json_object();
        if (!t || !md || set_str(md, "RequestId", t) < 0)
            r = -ENOMEM;
        free(t);
    } else {
        xmlNode *rm = awsxml_child(root, "ResponseMetadata");
        if (!rm)
            return 0;
        md = json_object();
        if (!md)
            return -ENOMEM;
        for (xmlNode *c = rm->children; c && r >= 0; c = c->next) {
            char *t;
            if (!is_elem(c))
                continue;
            t = awsxml_text(c);
            r = t ? set_str(md, (const char *)c->name, t) : -ENOMEM;
            free(t);
        }
    }
    if (r >= 0 && json_object_set_new(out, "ResponseMetadata", md) < 0)
        return -ENOMEM;
    if (r < 0)
        json_decref(md);
    return r;
}

/* Merge src's members into dst (src is consumed). */
static int merge_into(json_t *dst, json_t *src)
{
    int r = json_object_update(dst, src) < 0 ? -ENOMEM : 0;
    json_decref(src);
    return r;
}

static int rest_payload(struct xctx *x, const struct awsshape *s, const struct awsresponse *resp,
                        const struct awsxml_limits *lim, json_t *out)
{
    xmlDoc *doc = NULL;
    json_t *v = NULL;
    int r;

    if (s->payload) {
        const struct awsmember *pm = awsshape_member(s, s->payload);
        const struct awsshape *ps = pm->ref.shape;
        if (ps->type == AWS_SHAPE_STRING || ps->type == AWS_SHAPE_BLOB)
            return awsmodel_raw_payload(pm, resp, out, x->err);
        if (resp->body_len == 0) {
            v = json_object(); /* botocore parses an empty element */
            if (!v)
                return -ENOMEM;
        } else {
            r = awsxml_read(resp->body, resp->body_len, lim, &doc, x->err);
            if (r < 0)
                return r;
            r = parse_value(x, &pm->ref, (struct group){ xmlDocGetRootElement(doc), 1 }, pm->name,
                            &v);
            xmlFreeDoc(doc);
            if (r < 0)
                return r;
        }
        return json_object_set_new(out, pm->name, v) < 0 ? -ENOMEM : 0;
    }
    if (resp->body_len == 0)
        return 0;
    r = awsxml_read(resp->body, resp->body_len, lim, &doc, x->err);
    if (r < 0)
        return r;
    r = parse_struct(x, s, xmlDocGetRootElement(doc), s->name, &v);
    xmlFreeDoc(doc);
    if (r < 0)
        return r;
    return merge_into(out, v);
}

/* botocore's parse_get_bucket_location handler: the body is
 * <LocationConstraint>region</LocationConstraint>, empty for us-east-1. */
static int s3_bucket_location(struct xctx *x, const struct awsresponse *resp,
                              const struct awsxml_limits *lim, json_t *out)
{
    xmlDoc *doc;
    char *t;
    json_t *v;
    int r;

    if (resp->body_len == 0)
        return 0;
    r = awsxml_read(resp->body, resp->body_len, lim, &doc, x->err);
    if (r < 0)
        return r;
    t = awsxml_text(xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    if (!t)
        return -ENOMEM;
    v = t[0] ? json_string(t) : json_null();
    free(t);
    if (!v)
        return perr_set(x->err, -EBADMSG, "LocationConstraint is not valid UTF-8");
    return json_object_set_new(out, "LocationConstraint", v) < 0 ? -ENOMEM : 0;
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static unsigned xml_bind_flags(const struct awsmodel *m)
{
    return AWS_BIND_STRICT_BOOL | (str_eq(m->service_id, "S3") ? AWS_BIND_S3_EXPIRES : 0);
}

int awsxml_parse_output(const struct awsmodel *m, const struct awsop *op,
                        const struct awsresponse *resp, const struct awsxml_limits *lim,
                        json_t **ret, struct perr *err)
{
    struct xctx x = { .m = m, .err = err, .iam_policies = str_eq(m->service_id, "IAM") };
    const struct awsshape *s = op->output.shape;
    xmlDoc *doc = NULL;
    json_t *out = NULL, *v;
    int r;

    r = awsmodel_check_no_eventstream(s, err);
    if (r < 0)
        return r;
    if (m->protocol == AWS_PROTOCOL_REST_XML) {
        out = json_object();
        if (!out)
            return -ENOMEM;
        r = awsmodel_rest_metadata(resp, out);
        if (r >= 0 && s)
            r = awsmodel_parse_http_bindings(s, resp, xml_bind_flags(m), out, err);
        if (r >= 0 && s)
            r = rest_payload(&x, s, resp, lim, out);
        if (r >= 0 && str_eq(m->service_id, "S3") && str_eq(op->name, "GetBucketLocation"))
            r = s3_bucket_location(&x, resp, lim, out);
        if (r < 0)
            goto fail;
        *ret = out;
        return 0;
    }
    if (m->protocol != AWS_PROTOCOL_QUERY && m->protocol != AWS_PROTOCOL_EC2)
        return perr_set(err, -EINVAL, "%s is not an XML protocol", awsprotocol_name(m->protocol));

    out = json_object();
    if (!out)
        return -ENOMEM;
    /* An operation without output may answer with nothing at all. */
    if (!s && (resp->body_len == 0 || blank(resp->body, resp->body_len))) {
        *ret = out;
        return 0;
    }
    r = awsxml_read(resp->body, resp->body_len, lim, &doc, err);
    if (r < 0)
        goto fail;
    if (s) {
        xmlNode *start = xmlDocGetRootElement(doc);
        if (op->output.result_wrapper)
            start = awsxml_child(start, op->output.result_wrapper);
        /* A missing <OpResult> wrapper is taken as an empty result. */
        if (start) {
            r = parse_struct(&x, s, start, s->name, &v);
            if (r < 0)
                goto fail;
            r = merge_into(out, v);
            if (r < 0)
                goto fail;
        }
    }
    r = body_metadata(m, xmlDocGetRootElement(doc), out);
    if (r < 0)
        goto fail;
    xmlFreeDoc(doc);
    *ret = out;
    return 0;
fail:
    xmlFreeDoc(doc);
    json_decref(out);
    return r;
}

int awsxml_parse_error_shape(const struct awsmodel *m, const struct awsshape *shape,
                             const struct awsresponse *resp, const struct awsxml_limits *lim,
                             json_t **ret, struct perr *err)
{
    struct xctx x = { .m = m, .err = err };
    xmlDoc *doc = NULL;
    json_t *out, *v;
    int r;

    out = json_object();
    if (!out)
        return -ENOMEM;
    if (m->protocol == AWS_PROTOCOL_REST_XML) {
        r = awsmodel_parse_http_bindings(shape, resp, xml_bind_flags(m), out, err);
        if (r >= 0)
            r = rest_payload(&x, shape, resp, lim, out);
        if (r < 0)
            goto fail;
        *ret = out;
        return 0;
    }
    if (resp->body_len > 0) {
        r = awsxml_read(resp->body, resp->body_len, lim, &doc, err);
        if (r < 0)
            goto fail;
        r = parse_struct(&x, shape, xmlDocGetRootElement(doc), shape->name, &v);
        xmlFreeDoc(doc);
        if (r < 0)
            goto fail;
        r = merge_into(out, v);
        if (r < 0)
            goto fail;
    }
    *ret = out;
    return 0;
fail:
    json_decref(out);
    return r;
}
