/* JSON responses (json 1.0/1.1 and rest-json protocols) to JSON, by shape.
 *
 * The result is a jansson object keyed by botocore member names, built as
 * botocore's JSONParser and RestJSONParser build their dicts: wire names
 * come from locationName, null members are left out, lists keep null
 * items, documents are copied as they are, a union must have exactly one
 * member set (an unknown one becomes {"SDK_UNKNOWN_MEMBER": {"name":
 * ...}}), rest-json members bound to headers and the status code are read
 * from there ("jsonvalue" headers decoded), and a payload member takes the
 * whole body (a string payload is the body text, a blob payload the base64
 * of the body, anything else the parsed body).  Timestamps are converted
 * to plumb's one representation (see awsmodel.h) from epoch numbers or
 * strings in any format; floats may be the strings "NaN", "Infinity" and
 * "-Infinity"; blobs stay base64 strings; other scalars pass through with
 * the JSON type the service sent, as in botocore.
 *
 * The object also gets "ResponseMetadata": {"RequestId": ...} from the
 * x-amzn-requestid header (rest-json: also x-amz-request-id + x-amz-id-2).
 *
 * Bodies are capped (-E2BIG, checked before parsing); jansson limits the
 * nesting depth of what it parses.  Everything here is reentrant. */
#ifndef PLUMB_AWSJSON_H
#define PLUMB_AWSJSON_H

#include <jansson.h>
#include <stddef.h>

#include "awsmodel.h"
#include "util.h"

#define AWSJSON_DEFAULT_MAX_BYTES (32u * 1024 * 1024)

/* Parse a JSON body of any JSON type under max_bytes (0: the default).
 * An empty or all-blank body is {}.  -E2BIG, -EBADMSG (with jansson's
 * line and message), -ENOMEM. */
int awsjson_read(const char *data, size_t len, size_t max_bytes, json_t **ret, struct perr *err);

/* Convert a wire JSON value by the shape ref points at.  *ret is a new
 * reference the caller json_decref()s. */
int awsjson_parse_value(const struct awsref *ref, json_t *wire, json_t **ret, struct perr *err);

/* Parse a successful response to op (m must be a json or rest-json
 * model); max_bytes 0 means the default.  *ret is a new object the caller
 * json_decref()s. */
int awsjson_parse_output(const struct awsmodel *m, const struct awsop *op,
                         const struct awsresponse *resp, size_t max_bytes, json_t **ret,
                         struct perr *err);

/* Parse an error response against a modeled exception shape (body
 * members, and for rest-json also headers).  *ret is a new object. */
int awsjson_parse_error_shape(const struct awsmodel *m, const struct awsshape *shape,
                              const struct awsresponse *resp, size_t max_bytes, json_t **ret,
                              struct perr *err);

#endif
