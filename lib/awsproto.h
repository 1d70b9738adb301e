/* AWS requests from JSON parameters, and the one entry point for parsing
 * responses, for all five protocols (query, ec2, rest-xml, json,
 * rest-json).
 *
 * awsproto_build_request() does what botocore's serializers do with a
 * validated parameter dict: parameters are a JSON object keyed by
 * botocore member names (PascalCase), exactly what the response parsers
 * produce, so a response member can be fed back as a parameter.
 *
 *   query/ec2  POST form body "Action=Op&Version=...&...": lists as
 *              Name.member.N (query; flattened lists Name.N, empty lists
 *              "Name=") or Name.N (ec2, whose names are queryName or the
 *              capitalised locationName), maps as Name.entry.N.key/value,
 *              structures as Name.Member, Content-Type
 *              "application/x-www-form-urlencoded; charset=utf-8".
 *   json       POST "/", X-Amz-Target: <targetPrefix>.<Op>, Content-Type
 *              application/x-amz-json-1.0|1.1, JSON body with wire names
 *              (locationName), "{}" when there is no input.
 *   rest-*     method and requestUri from the model; {Label} and greedy
 *              {Label+} path segments RFC 3986-encoded (greedy keeps '/');
 *              querystring members become query parameters (a map adds its
 *              entries, a list repeats the key); header members become
 *              headers (timestamps as HTTP dates unless the model says
 *              otherwise, lists comma-joined, "jsonvalue" as base64 JSON),
 *              a "headers" map adds prefixed headers; the payload member or
 *              the remaining members form the body (JSON, or XML with the
 *              model's root name and namespace; a blob/string payload is the
 *              raw body).  rest-json sends "{}" when the input has body
 *              members but none is set, and Content-Type application/json
 *              with a non-empty non-streaming body.
 *
 * Values: timestamps may be given as any string aws_ts_parse() accepts or
 * as epoch seconds; they are written in the wire format the protocol or
 * the model asks for (see aws_ts_format_wire).  Blobs are given as base64
 * strings, the representation the parsers produce (a blob payload is
 * decoded to its raw bytes for the body).  Floats may be numbers or
 * "NaN"/"Infinity"/"-Infinity".  A JSON null is the same as an absent
 * member.
 *
 * Validation comes first, as with botocore's parameter validator: an
 * unknown member, a missing required member or a value of the wrong JSON
 * type fails with -EINVAL and an error naming the parameter path
 * ("Filters[0].Name").  Not done (no operation plumb calls needs it):
 * idempotency-token auto-fill, event streams, checksums, S3 virtual-host
 * addressing (the path is always path-style: /{Bucket}/{Key}; the endpoint
 * layer moves the bucket into the host when it wants to).
 *
 * Everything here is reentrant; the model is only read. */
#ifndef PLUMB_AWSPROTO_H
#define PLUMB_AWSPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "awserr.h"
#include "awsmodel.h"
#include "util.h"

struct awsreq_header {
    char *name;
    char *value;
};

/* A serialised request.  Everything is owned by the struct. */
struct awsrequest {
    char *method;      /* "GET", "POST"... */
    char *path;        /* encoded path, starts with '/', no query */
    char *query;       /* encoded query string without '?', "" if none;
                        * the requestUri's own part ("policy",
                        * "list-type=2") comes first */
    char *host_prefix; /* expanded endpoint hostPrefix ("123456789012."), or NULL */
    struct awsreq_header *headers;
    size_t n_headers;
    char *body; /* NUL-terminated for convenience; may hold binary data */
    size_t body_len;
    bool unsigned_request; /* the operation is not signed (authtype none) */
};

/* Build the request for op from params (a JSON object, or NULL for no
 * parameters).  On success *ret is owned by the caller (awsrequest_free).
 * -EINVAL with err naming the parameter on invalid input; -ENOMEM. */
int awsproto_build_request(const struct awsmodel *m, const struct awsop *op, json_t *params,
                           struct awsrequest **ret, struct perr *err);
struct awsrequest *awsrequest_free(struct awsrequest *r);
/* First header called name (case-insensitive), or NULL. */
const char *awsrequest_header(const struct awsrequest *r, const char *name);

/* RFC 3986 percent-encoding (curl_easy_escape): every byte but A-Z a-z
 * 0-9 - _ . ~ (and '/' when keep_slash) as %XX.  Appends to *out;
 * -ENOMEM / -E2BIG. */
struct buf;
int awsproto_percent_encode(struct buf *out, const char *s, bool keep_slash);

/* Parse a response to op.  For a status below 300, returns 0 with the
 * parsed output in *ret_output (see awsxml.h / awsjson.h).  For 300 and
 * above, returns 1 with the service's error in *ret_error (awserr.h).
 * Negative on a body that cannot be parsed by the model (-EBADMSG, -E2BIG
 * with err saying why) or -ENOMEM; then neither output is set. */
int awsproto_parse_response(const struct awsmodel *m, const struct awsop *op,
                            const struct awsresponse *resp, json_t **ret_output,
                            struct awserr **ret_error, struct perr *err);

#endif
