/* AWS service models: operations, shapes and paginators, as botocore
 * describes them (service-2.json + paginators-1.json), loaded into
 * read-only C structures.
 *
 * The models plumb ships are generated subsets (tools/gen-models.py,
 * lib/models/<service>.json) compiled into the binary; full botocore
 * models load the same way (awsmodel_load_file), which the tests use.
 *
 * A loaded model is immutable: every structure below is read-only, and
 * one model may be used by any number of threads at once without locking.
 * All strings point into the model and live as long as it does.
 *
 * Traits: a shape reference (a structure member, a list member, a map
 * key or value, an operation's input or output) carries the serialisation
 * traits of its target shape with the reference's own traits merged over
 * them, exactly as botocore's ShapeResolver does.  struct awsref holds the
 * merged result, so protocol code never looks at two places.
 *
 * This header also holds the few wire-level types and helpers the
 * protocol modules (awsxml, awsjson, awserr, awsproto, paginate) share:
 * the response view (struct awsresponse) and the timestamp convention. */
#ifndef PLUMB_AWSMODEL_H
#define PLUMB_AWSMODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum awsprotocol {
    AWS_PROTOCOL_QUERY,
    AWS_PROTOCOL_EC2,
    AWS_PROTOCOL_REST_XML,
    AWS_PROTOCOL_JSON,
    AWS_PROTOCOL_REST_JSON,
};
/* "query", "ec2", "rest-xml", "json", "rest-json". */
const char *awsprotocol_name(enum awsprotocol p);

enum awsshape_type {
    AWS_SHAPE_STRUCTURE,
    AWS_SHAPE_LIST,
    AWS_SHAPE_MAP,
    AWS_SHAPE_STRING,
    AWS_SHAPE_INTEGER, /* also botocore's byte and short */
    AWS_SHAPE_LONG,
    AWS_SHAPE_FLOAT,
    AWS_SHAPE_DOUBLE,
    AWS_SHAPE_BOOLEAN,
    AWS_SHAPE_TIMESTAMP,
    AWS_SHAPE_BLOB,
};

/* Where a structure member lives in an HTTP request or response (the
 * "location" trait).  BODY is the default. */
enum awsloc {
    AWS_LOC_BODY,
    AWS_LOC_HEADER,      /* one header named by location_name */
    AWS_LOC_HEADERS,     /* a map of all headers starting with location_name */
    AWS_LOC_QUERYSTRING, /* rest protocols: a query parameter */
    AWS_LOC_URI,         /* rest protocols: a {label} in requestUri */
    AWS_LOC_STATUS_CODE, /* response: the HTTP status */
};

enum awstsformat {
    AWS_TS_DEFAULT, /* the protocol's default for where the value travels */
    AWS_TS_ISO8601,
    AWS_TS_UNIX,   /* "unixTimestamp": epoch seconds, may have a fraction */
    AWS_TS_RFC822, /* HTTP date */
};

struct awsshape;

/* A reference to a shape with the merged serialisation traits. */
struct awsref {
    const struct awsshape *shape; /* NULL only for an absent input/output */
    const char *location_name;    /* "locationName" or NULL */
    const char *query_name;       /* "queryName" (ec2) or NULL */
    enum awsloc location;
    enum awstsformat timestamp_format;
    const char *xmlns_uri;      /* "xmlNamespace" uri, or NULL */
    const char *xmlns_prefix;   /* its prefix, or NULL */
    const char *result_wrapper; /* query output wrapper element, or NULL */
    bool flattened;
    bool xml_attribute;
    bool jsonvalue; /* header value is base64(JSON) */
    bool host_label;
    bool streaming;
    bool idempotency_token;
    bool eventstream;
};

struct awsmember {
    const char *name; /* botocore member name (PascalCase usually) */
    struct awsref ref;
    bool required;
};

struct awsshape {
    const char *name;
    enum awsshape_type type;
    struct awsref traits; /* the shape's own traits; traits.shape == this */
    /* structure */
    const struct awsmember *members; /* in model order */
    size_t n_members;
    const char *payload; /* member bound to the whole body, or NULL */
    bool exception;
    bool document; /* free-form JSON document */
    bool is_union;
    bool sensitive;
    const char *error_code; /* exception: error.code, else the shape name */
    int error_status;       /* exception: error.httpStatusCode or 0 */
    /* list: member; map: key and value */
    struct awsref member;
    struct awsref key;
    struct awsref value;
};

struct awspaginator {
    const char *operation;
    const char *const *input_tokens;  /* NULL-terminated, at least one */
    const char *const *output_tokens; /* same length as input_tokens */
    const char *more_results;         /* expression, or NULL */
    const char *limit_key;            /* or NULL */
    const char *const *result_keys;   /* NULL-terminated, may be empty */
};

struct awsop {
    const char *name;
    const char *method;      /* "POST" when the model has none */
    const char *request_uri; /* "/" when the model has none */
    int response_code;       /* 0 when not modeled */
    struct awsref input;     /* input.shape NULL when there is no input */
    struct awsref output;    /* output.shape NULL when there is no output */
    const struct awsshape *const *errors;
    size_t n_errors;
    const char *host_prefix;              /* endpoint.hostPrefix template, or NULL */
    bool unsigned_request;                /* authtype "none" (e.g. AssumeRoleWithWebIdentity) */
    const struct awspaginator *paginator; /* or NULL */
};

struct awsmodel {
    const char *service; /* file stem / botocore service name ("ec2", "elbv2") */
    const char *service_id;
    const char *endpoint_prefix;
    const char *signing_name; /* falls back to endpoint_prefix */
    const char *api_version;
    const char *json_version;  /* "1.0"/"1.1" or NULL */
    const char *target_prefix; /* json protocol, or NULL */
    const char *global_endpoint;
    const char *signature_version;
    enum awsprotocol protocol;
    bool query_compatible;   /* "awsQueryCompatible" */
    const struct awsop *ops; /* sorted by name */
    size_t n_ops;
    const struct awsshape *shapes; /* sorted by name */
    size_t n_shapes;
    /* private: the document every string above points into */
    json_t *root;
};

/* Load a model from a botocore-style JSON document (service-2.json layout,
 * optionally with "paginators" holding paginators-1.json's "pagination"
 * object).  `service` names it (copied).  The model takes its own
 * reference to doc and the caller keeps its own; nobody may modify doc
 * afterwards.  On success *ret is the caller's, freed with
 * awsmodel_free(); on failure nothing is allocated.  Errors: -EINVAL
 * (err names the offending shape, member, operation or paginator),
 * -EOPNOTSUPP (no protocol plumb implements), -ENOMEM. */
int awsmodel_load_json(json_t *doc, const char *service, struct awsmodel **ret, struct perr *err);
/* Load a model file (.json, at most 64 MiB); service NULL means the file
 * stem.  Errors as above plus read_file()'s (-ENOENT...). */
int awsmodel_load_file(const char *path, const char *service, struct awsmodel **ret,
                       struct perr *err);
/* Load one of the models compiled into the binary ("ec2", "s3"...).
 * -ENOENT when plumb ships no such model. */
int awsmodel_load_embedded(const char *service, struct awsmodel **ret, struct perr *err);

/* Frees everything, including every pointer handed out; NULL is fine.
 * Returns NULL. */
struct awsmodel *awsmodel_free(struct awsmodel *m);

/* Lookups; NULL when absent.  Pointers live as long as the model. */
const struct awsop *awsmodel_op(const struct awsmodel *m, const char *name);
const struct awsshape *awsmodel_shape(const struct awsmodel *m, const char *name);
const struct awsmember *awsshape_member(const struct awsshape *s, const char *name);
/* The paginator entry for an operation name, also for models that list
 * paginators of operations they do not define (tests load botocore's
 * paginators-1.json on their own). */
const struct awspaginator *awsmodel_paginator(const struct awsmodel *m, const char *operation);
/* The exception shape for an error code: a shape whose error.code, or
 * whose name when it has no code, equals code (botocore's
 * shape_for_error_code).  NULL if the model has none. */
const struct awsshape *awsmodel_error_shape(const struct awsmodel *m, const char *code);

/* The set of all embedded models, loaded once at start (the daemon does
 * it before starting threads) and shared read-only by everything
 * afterwards.  *ret is freed with awsmodels_free(), which frees the
 * models too. */
struct awsmodels;
int awsmodels_load_embedded(struct awsmodels **ret, struct perr *err);
/* NULL when the set has no such service. */
const struct awsmodel *awsmodels_get(const struct awsmodels *set, const char *service);
size_t awsmodels_count(const struct awsmodels *set);
/* The i-th model in service-name order; NULL when i is out of range. */
const struct awsmodel *awsmodels_at(const struct awsmodels *set, size_t i);
struct awsmodels *awsmodels_free(struct awsmodels *set);

/* ---- Shared wire-level helpers ------------------------------------- */

/* A borrowed view of an HTTP response, as the protocol parsers need it.
 * Header names are matched case-insensitively; duplicates should have
 * been joined with "," by the HTTP layer. */
struct awsheader {
    const char *name;
    const char *value;
};
struct awsresponse {
    int status;
    const struct awsheader *headers;
    size_t n_headers;
    const char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
};
/* Value of the first header called name, or NULL. */
const char *awsresponse_header(const struct awsresponse *r, const char *name);

/* Timestamps.  Every parser turns every AWS timestamp, whatever its wire
 * format (ISO 8601 with any offset and fraction, epoch seconds with or
 * without a fraction as number or string, RFC 822/1123 HTTP dates), into
 * ONE representation: an ISO 8601 UTC string, "2015-01-25T08:00:00Z", with
 * ".mmm" milliseconds only when they are not zero
 * ("2015-01-25T08:00:00.123Z").  Precision beyond milliseconds is dropped
 * (truncated for ISO input, rounded for epoch numbers). */
#define AWS_TS_BUFSZ 32
/* Parse any of the formats above (surrounding whitespace allowed). */
int aws_ts_parse(const char *s, int64_t *ret_ms);
int aws_ts_from_epoch(double seconds, int64_t *ret_ms);
void aws_ts_format(int64_t ms, char buf[AWS_TS_BUFSZ]);
/* Format for a request in the given wire format (never AWS_TS_DEFAULT):
 * ISO 8601 as above, epoch seconds ("1422172800" or "1422172800.123"),
 * or an HTTP date (seconds only). */
void aws_ts_format_wire(int64_t ms, enum awstsformat f, char buf[AWS_TS_BUFSZ]);

/* Convert the text of a scalar value (an XML element's text or an HTTP
 * header) to JSON by the shape ref points at, as botocore does: strings as
 * they are (a "jsonvalue" header is base64-decoded and parsed as JSON),
 * integers and longs as JSON integers, floats and doubles as JSON reals
 * except "NaN", "Infinity" and "-Infinity", which stay strings (JSON has
 * no such numbers), booleans true only for "true" (case-insensitively
 * unless strict_bool, the XML rule), timestamps as described above, blobs
 * as their base64 text with whitespace removed.  `what` names the value in
 * error messages (-EBADMSG). */
int awsmodel_scalar_from_text(const struct awsref *ref, const char *text, bool strict_bool,
                              const char *what, json_t **ret, struct perr *err);
/* Rest protocols: set in `out` the members of `shape` bound to response
 * headers ("header", "headers") and to the status code.  Flags:
 * AWS_BIND_STRICT_BOOL for the XML rule above; AWS_BIND_S3_EXPIRES for
 * botocore's S3 handle_expires_header: a member "Expires" bound to the
 * Expires header also yields "ExpiresString" (the raw header), and an
 * Expires header that is no timestamp is left out instead of failing. */
#define AWS_BIND_STRICT_BOOL 1u
#define AWS_BIND_S3_EXPIRES  2u
int awsmodel_parse_http_bindings(const struct awsshape *shape, const struct awsresponse *resp,
                                 unsigned flags, json_t *out, struct perr *err);
/* Rest protocols: add "ResponseMetadata" {"RequestId", and "HostId" for
 * S3} to out from the x-amzn-requestid or x-amz-request-id and x-amz-id-2
 * headers (botocore's _populate_response_metadata); nothing when the
 * response has neither. */
int awsmodel_rest_metadata(const struct awsresponse *resp, json_t *out);
/* Rest protocols: a string or blob payload member is the raw body, as
 * the body text (it must be UTF-8) or as base64.  Sets out[pm->name];
 * -EBADMSG for a string body that is not UTF-8. */
int awsmodel_raw_payload(const struct awsmember *pm, const struct awsresponse *resp, json_t *out,
                         struct perr *err);
/* -EOPNOTSUPP with err set when the shape has an event stream member
 * (plumb calls no such operation and does not parse event streams). */
int awsmodel_check_no_eventstream(const struct awsshape *s, struct perr *err);
/* JSON for a float that may not be finite ("NaN", "Infinity", "-Infinity"
 * strings).  NULL on OOM. */
json_t *awsmodel_json_float(double d);

#endif
