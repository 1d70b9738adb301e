/* AWS error responses to struct awserr. */
#include "awserr.h"

#include "retry.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "awsjson.h"
#include "awsxml.h"

/* An unparseable JSON error body becomes the message (as in botocore),
 * cut to this many bytes. */
#define RAW_MESSAGE_MAX 1024

const char *awserr_reason_phrase(int status)
{
    static const struct {
        int status;
        const char *phrase;
    } phrases[] = {
        { 301, "Moved Permanently" },
        { 302, "Found" },
        { 304, "Not Modified" },
        { 307, "Temporary Redirect" },
        { 308, "Permanent Redirect" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 408, "Request Timeout" },
        { 409, "Conflict" },
        { 411, "Length Required" },
        { 412, "Precondition Failed" },
        { 413, "Request Entity Too Large" },
        { 416, "Requested Range Not Satisfiable" },
        { 429, "Too Many Requests" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 502, "Bad Gateway" },
        { 503, "Service Unavailable" },
        { 504, "Gateway Timeout" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(phrases); i++)
        if (phrases[i].status == status)
            return phrases[i].phrase;
    return "";
}

struct awserr *awserr_free(struct awserr *e)
{
    if (!e)
        return NULL;
    free(e->code);
    free(e->message);
    free(e->request_id);
    free(e->host_id);
    free(e->type);
    free(e->query_error_code);
    json_decref(e->fields);
    free(e);
    return NULL;
}

int awserr_new(int status, const char *code, const char *message, struct awserr **ret)
{
    struct awserr *e = calloc(1, sizeof(*e));
    char sbuf[16];

    if (!e)
        return -ENOMEM;
    if (!code || !*code) {
        snprintf(sbuf, sizeof(sbuf), "%d", status);
        code = sbuf;
    }
    e->status = status;
    e->code = strdup(code);
    e->message = strdup(message ? message : "");
    if (!e->code || !e->message) {
        awserr_free(e);
        return -ENOMEM;
    }
    *ret = e;
    return 0;
}

/* "ns#Code:http://..." -> "Code", as botocore does (first cut at ':',
 * then keep what follows the last '#'). */
static int set_code(struct awserr *e, const char *raw)
{
    const char *colon = strchr(raw, ':');
    size_t len = colon ? (size_t)(colon - raw) : strlen(raw);
    char *c = str_ndup(raw, len), *hash;

    if (!c)
        return -ENOMEM;
    hash = strrchr(c, '#');
    if (hash) {
        memmove(c, hash + 1, strlen(hash + 1) + 1);
    }
    if (!*c) {
        free(c);
        return 0; /* keep whatever code we had */
    }
    free(e->code);
    e->code = c;
    return 0;
}

static int set_opt(char **dst, const char *src)
{
    if (!src)
        return 0;
    return str_replace(dst, src);
}

static bool looks_generic(const struct awsresponse *resp)
{
    const char *b = resp->body;
    size_t n = resp->body_len;

    if (resp->status < 500)
        return false;
    while (n > 0 && isspace((unsigned char)*b)) {
        b++;
        n--;
    }
    return n == 0 || (n >= 6 && strncmp(b, "<html>", 6) == 0);
}

/* Text of child `name` of node, or NULL (malloc'd into *ret). */
static int child_text(xmlNode *node, const char *name, char **ret)
{
    xmlNode *c = awsxml_child(node, name);
    *ret = NULL;
    if (!c)
        return 0;
    *ret = awsxml_text(c);
    return *ret ? 0 : -ENOMEM;
}

static int parse_xml(const struct awsmodel *m, const struct awsresponse *resp, struct awserr *e)
{
    xmlDoc *doc = NULL;
    xmlNode *root, *error;
    char *code = NULL, *msg = NULL, *type = NULL, *rid = NULL, *hid = NULL;
    int r;

    /* Without a readable body, the status and its reason phrase stand. */
    if (resp->body_len == 0 || awsxml_read(resp->body, resp->body_len, NULL, &doc, NULL) < 0)
        return str_replace(&e->message, awserr_reason_phrase(resp->status));
    root = xmlDocGetRootElement(doc);
    if (strcmp((const char *)root->name, "Error") == 0) {
        error = root; /* S3 */
    } else {
        error = awsxml_child(root, "Error");
        if (!error)
            error = awsxml_child(awsxml_child(root, "Errors"), "Error"); /* ec2 */
    }
    r = child_text(error, "Code", &code);
    if (r >= 0)
        r = child_text(error, "Message", &msg);
    if (r >= 0)
        r = child_text(error, "Type", &type);
    if (r >= 0)
        r = child_text(root == error ? error : root,
                       m->protocol == AWS_PROTOCOL_EC2 ? "RequestID" : "RequestId", &rid);
    if (r >= 0 && root == error)
        r = child_text(error, "HostId", &hid);
    if (r < 0)
        goto out;
    if (code && *code) {
        r = set_code(e, code);
        if (r >= 0)
            r = str_replace(&e->message, msg ? msg : "");
    } else {
        r = str_replace(&e->message, awserr_reason_phrase(resp->status));
    }
    if (r >= 0)
        r = set_opt(&e->type, type);
    /* rest-xml takes the request id from headers first (botocore), the
     * query protocols from the body. */
    if (r >= 0 && rid && *rid && (m->protocol != AWS_PROTOCOL_REST_XML || !e->request_id))
        r = str_replace(&e->request_id, rid);
    if (r >= 0 && hid && *hid && !e->host_id)
        r = str_replace(&e->host_id, hid);
out:
    free(code);
    free(msg);
    free(type);
    free(rid);
    free(hid);
    xmlFreeDoc(doc);
    return r;
}

static int parse_json(const struct awsmodel *m, const struct awsresponse *resp, struct awserr *e)
{
    json_t *body = NULL;
    const char *msg, *code = NULL, *hdr, *qe;
    int r = 0;

    if (awsjson_read(resp->body, resp->body_len, 0, &body, NULL) < 0) {
        /* botocore keeps an unparseable body as the message. */
        size_t n = MIN(resp->body_len, (size_t)RAW_MESSAGE_MAX);
        char *raw = str_ndup(resp->body, n);
        if (!raw)
            return -ENOMEM;
        free(e->message);
        e->message = raw;
        body = json_object();
        if (!body)
            return -ENOMEM;
    }
    msg = json_string_value(json_object_get(body, "message"));
    if (!msg)
        msg = json_string_value(json_object_get(body, "Message"));
    if (msg) {
        r = str_replace(&e->message, msg);
        if (r < 0)
            goto out;
    }
    hdr = awsresponse_header(resp, "x-amzn-errortype");
    if (m->protocol == AWS_PROTOCOL_REST_JSON) {
        code = hdr;
        if (!code)
            code = json_string_value(json_object_get(body, "code"));
        if (!code)
            code = json_string_value(json_object_get(body, "Code"));
        if (!code)
            code = json_string_value(json_object_get(body, "__type"));
    } else {
        code = json_string_value(json_object_get(body, "__type"));
        if (!code)
            code = hdr;
        if (!code)
            code = json_string_value(json_object_get(body, "code"));
        if (!code)
            code = json_string_value(json_object_get(body, "Code"));
    }
    if (code) {
        r = set_code(e, code);
        if (r < 0)
            goto out;
    }
    /* Services moved from query to JSON report the old query code. */
    qe = awsresponse_header(resp, "x-amzn-query-error");
    if (qe) {
        const char *semi = strchr(qe, ';');
        if (semi && semi != qe && !strchr(semi + 1, ';')) {
            char *qcode = str_ndup(qe, (size_t)(semi - qe));
            if (!qcode) {
                r = -ENOMEM;
                goto out;
            }
            free(e->query_error_code);
            e->query_error_code = e->code;
            e->code = qcode;
            r = str_replace(&e->type, semi + 1);
        }
    }
out:
    json_decref(body);
    return r;
}

int awserr_parse(const struct awsmodel *m, const struct awsop *op, const struct awsresponse *resp,
                 struct awserr **ret, struct perr *err)
{
    struct awserr *e = NULL;
    const struct awsshape *shape;
    const char *rid;
    int r;

    r = awserr_new(resp->status, NULL, "", &e);
    if (r < 0)
        goto fail;
    /* Header request ids first; the body may override them (query). */
    rid = awsresponse_header(resp, "x-amzn-requestid");
    if (!rid)
        rid = awsresponse_header(resp, "x-amz-request-id");
    r = set_opt(&e->request_id, rid);
    if (r >= 0)
        r = set_opt(&e->host_id, awsresponse_header(resp, "x-amz-id-2"));
    if (r < 0)
        goto fail;

    if (looks_generic(resp)) {
        r = str_replace(&e->message, awserr_reason_phrase(resp->status));
    } else {
        switch (m->protocol) {
        case AWS_PROTOCOL_QUERY:
        case AWS_PROTOCOL_EC2:
        case AWS_PROTOCOL_REST_XML: r = parse_xml(m, resp, e); break;
        case AWS_PROTOCOL_JSON:
        case AWS_PROTOCOL_REST_JSON: r = parse_json(m, resp, e); break;
        }
        if (r < 0)
            goto fail;
    }

    shape = awsmodel_error_shape(m, e->code);
    if (shape && resp->body_len > 0) {
        json_t *fields = NULL;
        if (m->protocol == AWS_PROTOCOL_JSON || m->protocol == AWS_PROTOCOL_REST_JSON)
            r = awsjson_parse_error_shape(m, shape, resp, 0, &fields, NULL);
        else
            r = awsxml_parse_error_shape(m, shape, resp, NULL, &fields, NULL);
        if (r == -ENOMEM)
            goto fail;
        /* A body that does not fit the model leaves the fields out. */
        e->fields = r >= 0 ? fields : NULL;
    }
    (void)op;
    *ret = e;
    return 0;
fail:
    awserr_free(e);
    return perr_set(err, -ENOMEM, "out of memory parsing an AWS error response");
}

char *awserr_describe(const struct awserr *e)
{
    if (e->request_id)
        return str_printf("%s: %s (HTTP %d, request id %s)", e->code, e->message, e->status,
                          e->request_id);
    return str_printf("%s: %s (HTTP %d)", e->code, e->message, e->status);
}

bool awserr_code_is(const struct awserr *e, const char *code)
{
    return e && str_eq(e->code, code);
}

bool awserr_code_in(const struct awserr *e, const char *const *codes)
{
    for (size_t i = 0; e && codes && codes[i]; i++)
        if (str_eq(e->code, codes[i]))
            return true;
    return false;
}

/* One set of code tables for plumb: the retry module's (botocore's). */
bool awserr_is_throttling(const struct awserr *e)
{
    return e && (e->status == 429 || retry_is_throttle_code(e->code));
}

bool awserr_is_transient(const struct awserr *e)
{
    if (!e)
        return false;
    if (e->status == 500 || e->status == 502 || e->status == 503 || e->status == 504)
        return true;
    return retry_is_transient_code(e->code);
}

enum awserr_skew awserr_clock_skew(const struct awserr *e)
{
    if (e && retry_is_skew_code(e->code))
        return AWSERR_SKEW_YES;
    if (e && retry_is_maybe_skew_code(e->code))
        return AWSERR_SKEW_MAYBE;
    return AWSERR_SKEW_NO;
}

bool awserr_is_access_denied(const struct awserr *e)
{
    static const char *const codes[] = {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "Client.UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "UnauthorizedException",
        "UnauthorizedAccess",
        "Forbidden",
        "ForbiddenException",
        "NotAuthorized",
        "NotAuthorizedException",
        "InsufficientPermissionsException",
        "AllAccessDisabled",
        NULL,
    };
    return awserr_code_in(e, codes);
}

static bool action_char(char c, bool service)
{
    if (isalnum((unsigned char)c))
        return true;
    return service ? c == '-' : c == '*';
}

/* Find "service:Action" right after "perform" (optionally followed by
 * ':' and blanks) in the message. */
static char *action_from_message(const char *msg)
{
    const char *p = msg;

    while ((p = strstr(p, "perform"))) {
        const char *s, *colon, *end;
        p += strlen("perform");
        s = p;
        if (*s == ':')
            s++;
        while (*s == ' ')
            s++;
        for (colon = s; action_char(*colon, true); colon++)
            ;
        if (colon == s || *colon != ':')
            continue;
        for (end = colon + 1; action_char(*end, false); end++)
            ;
        if (end == colon + 1 || !isalpha((unsigned char)colon[1]))
            continue;
        return str_ndup(s, (size_t)(end - s));
    }
    return NULL;
}

int awserr_iam_action(const struct awserr *e, const struct awsmodel *m, const struct awsop *op,
                      char **ret)
{
    char *a = NULL;

    if (e && e->message && strstr(e->message, "perform")) {
        a = action_from_message(e->message);
        if (a) {
            *ret = a;
            return 0;
        }
    }
    if (!m || !op || !m->signing_name)
        return -ENOENT;
    a = str_printf("%s:%s", m->signing_name, op->name);
    if (!a)
        return -ENOMEM;
    *ret = a;
    return 0;
}
