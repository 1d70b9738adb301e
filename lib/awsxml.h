/* XML responses (query, ec2 and rest-xml protocols) to JSON, by shape.
 *
 * The result is a jansson object keyed by botocore member names, built
 * exactly as botocore's QueryParser, EC2QueryParser and RestXMLParser
 * build their dicts: the query <OpResult> wrapper is skipped, lists are
 * <member>/<item> children of a wrapper or repeated elements when
 * flattened, maps are <entry><key/><value/></entry> (or the names the
 * model gives them), element names come from locationName, elements from
 * any namespace match by local name, xmlAttribute members come from
 * attributes, rest-xml members bound to headers and the status code are
 * read from there, and a payload member takes the whole body.  Scalars
 * follow awsmodel_scalar_from_text() (timestamps: see awsmodel.h; blobs
 * stay base64 text; a rest-xml blob payload is base64-encoded from the raw
 * body, a string payload is the body text).  Members absent from the
 * response are absent from the object.
 *
 * Like botocore, the object also gets "ResponseMetadata": {"RequestId":
 * ...} when the response carries a request id (query: the
 * <ResponseMetadata> element, all of its children; ec2: <requestId>;
 * rest-xml: the x-amzn-requestid or x-amz-request-id header, plus
 * "HostId" from x-amz-id-2).
 *
 * Three botocore customisations are built in because plumb calls these
 * operations: S3 GetBucketLocation (the body is a bare
 * <LocationConstraint> element), S3's Expires header (GetObject,
 * HeadObject: the raw value is also "ExpiresString", and a value that is
 * no date is dropped rather than failing the call) and IAM policy
 * documents (members of shape "policyDocumentType" are URL-encoded JSON;
 * they are decoded into JSON values, and left as strings if they do not
 * decode).
 *
 * Safety: documents are parsed with libxml2 without network access,
 * without entity substitution, without loading or accepting any DTD (a
 * <!DOCTYPE> is an error, so entity tricks never start), with a size cap
 * checked before parsing and an element depth cap enforced while parsing;
 * errors name the limit.  libxml2 never prints: its messages go to perr.
 *
 * Threads: call awsxml_init() once from the main thread before any other
 * thread parses XML; after that every function here may run on any thread
 * (libuv workers included) concurrently. */
#ifndef PLUMB_AWSXML_H
#define PLUMB_AWSXML_H

#include <jansson.h>
#include <libxml/tree.h>
#include <stddef.h>

#include "awsmodel.h"
#include "util.h"

#define AWSXML_DEFAULT_MAX_BYTES (32u * 1024 * 1024)
#define AWSXML_DEFAULT_MAX_DEPTH 128u

struct awsxml_limits {
    size_t max_bytes;   /* body size cap (-E2BIG) */
    unsigned max_depth; /* element nesting cap (-EBADMSG) */
};

/* Initialise libxml2 (xmlInitParser); idempotent.  The daemon calls it at
 * start, before starting threads.  awsxml_cleanup() releases libxml2's
 * global memory at exit (optional, after all threads are done). */
void awsxml_init(void);
void awsxml_cleanup(void);

/* Parse an XML document under the limits (NULL: the defaults).  On
 * success *ret is a document the caller frees with xmlFreeDoc().
 * Errors: -E2BIG (too large), -EBADMSG (not well-formed, DOCTYPE, too
 * deep; err says which and where), -ENOMEM. */
int awsxml_read(const char *data, size_t len, const struct awsxml_limits *lim, xmlDoc **ret,
                struct perr *err);

/* The text of an element as ElementTree's .text: the character data
 * before its first child element ("" when none).  Malloc'd; NULL on OOM. */
char *awsxml_text(const xmlNode *node);
/* First child element with this local name, or NULL. */
xmlNode *awsxml_child(const xmlNode *node, const char *name);

/* Parse a successful response to op (m must be a query, ec2 or rest-xml
 * model).  *ret is a new JSON object owned by the caller. */
int awsxml_parse_output(const struct awsmodel *m, const struct awsop *op,
                        const struct awsresponse *resp, const struct awsxml_limits *lim,
                        json_t **ret, struct perr *err);

/* Parse an error response against a modeled exception shape: the members
 * of `shape` read from the <Error> element (query: ErrorResponse/Error,
 * ec2: Response/Errors/Error, rest-xml: the root <Error> or
 * ErrorResponse/Error) and, for rest-xml, from headers.  *ret is a new
 * JSON object. */
int awsxml_parse_error_shape(const struct awsmodel *m, const struct awsshape *shape,
                             const struct awsresponse *resp, const struct awsxml_limits *lim,
                             json_t **ret, struct perr *err);

#endif
