/* AWS error responses, all protocols, as one typed error.
 *
 * awserr_parse() reads an error response (HTTP status >= 300) the way
 * botocore's parsers do:
 *   query    <ErrorResponse><Error><Type/><Code/><Message/></Error>
 *            <RequestId/></ErrorResponse>
 *   ec2      <Response><Errors><Error><Code/><Message/></Error></Errors>
 *            <RequestID/></Response>
 *   rest-xml S3's bare <Error><Code/><Message/><RequestId/><HostId/>
 *            </Error>, or ErrorResponse/Error like query (CloudFront)
 *   json     {"__type": "ns#Code:http://...", "message"|"Message": ...}
 *   rest-json the x-amzn-errortype header, else "code"/"Code", else
 *            "__type" in the body
 * Codes lose a "namespace#" prefix and a ":http..." suffix.  A service
 * migrated from query to JSON (x-amzn-query-error: Code;Sender) reports
 * the query code.  When the body says nothing usable (empty, HTML from a
 * proxy, not XML/JSON) the code is the HTTP status ("503") and the
 * message its reason phrase ("Service Unavailable"), as botocore does.
 * The request id comes from the body or the x-amzn-requestid,
 * x-amz-request-id headers; S3's x-amz-id-2 is host_id.  When the model
 * has an exception shape for the code, its members are parsed into
 * `fields` (as botocore merges them into the error).
 *
 * The classification helpers answer the questions the retry logic and
 * the collectors ask; "not found" is per operation and left to callers,
 * who compare `code` (see awserr_code_in). */
#ifndef PLUMB_AWSERR_H
#define PLUMB_AWSERR_H

#include <jansson.h>
#include <stdbool.h>

#include "awsmodel.h"
#include "util.h"

struct awserr {
    int status;             /* HTTP status */
    char *code;             /* never NULL or empty */
    char *message;          /* never NULL, may be "" */
    char *request_id;       /* NULL when the response has none */
    char *host_id;          /* S3 x-amz-id-2 / <HostId>, or NULL */
    char *type;             /* query <Type> ("Sender"/"Receiver") or NULL */
    char *query_error_code; /* x-amzn-query-error: the JSON code it replaced, or NULL */
    json_t *fields;         /* modeled exception members, or NULL */
};

/* Parse the error response resp to op of model m.  Only memory
 * exhaustion fails (-ENOMEM): an unreadable body still yields an error
 * with the status as its code.  The caller frees *ret with awserr_free. */
int awserr_parse(const struct awsmodel *m, const struct awsop *op, const struct awsresponse *resp,
                 struct awserr **ret, struct perr *err);
/* An error made by hand (tests, or a transport failure to report in the
 * same shape).  message may be NULL. */
int awserr_new(int status, const char *code, const char *message, struct awserr **ret);
struct awserr *awserr_free(struct awserr *e);

/* "Code: message (HTTP 403, request id X)"; malloc'd, NULL on OOM. */
char *awserr_describe(const struct awserr *e);

/* The reason phrase for an HTTP status ("Not Found"), "" if unknown. */
const char *awserr_reason_phrase(int status);

bool awserr_code_is(const struct awserr *e, const char *code);
/* True when the code is one of the NULL-terminated list. */
bool awserr_code_in(const struct awserr *e, const char *const *codes);

/* Throttled: botocore's throttling codes (Throttling, ThrottlingException,
 * ThrottledException, RequestThrottledException, TooManyRequestsException,
 * ProvisionedThroughputExceededException, TransactionInProgressException,
 * RequestLimitExceeded, BandwidthLimitExceeded, LimitExceededException,
 * RequestThrottled, SlowDown, PriorRequestNotComplete,
 * EC2ThrottledException) or HTTP 429. */
bool awserr_is_throttling(const struct awserr *e);
/* Transient (retry): HTTP 500, 502, 503, 504 or the codes RequestTimeout,
 * RequestTimeoutException, PriorRequestNotComplete, InternalError,
 * InternalFailure, ServiceUnavailable. */
bool awserr_is_transient(const struct awserr *e);

enum awserr_skew {
    AWSERR_SKEW_NO,
    AWSERR_SKEW_YES,   /* RequestTimeTooSkewed, RequestExpired, RequestInTheFuture */
    AWSERR_SKEW_MAYBE, /* InvalidSignatureException, SignatureDoesNotMatch, AuthFailure:
                        * skew only if the response Date disagrees with our clock */
};
enum awserr_skew awserr_clock_skew(const struct awserr *e);

/* Access denied: AccessDenied, AccessDeniedException, UnauthorizedOperation,
 * Client.UnauthorizedOperation, AuthorizationError,
 * AuthorizationErrorException, UnauthorizedException, UnauthorizedAccess,
 * Forbidden, ForbiddenException, NotAuthorized, NotAuthorizedException,
 * InsufficientPermissionsException, AllAccessDisabled. */
bool awserr_is_access_denied(const struct awserr *e);

/* The IAM action that was denied: taken from the message when AWS names
 * it ("... is not authorized to perform: ec2:DescribeInstances on ..."),
 * else "<signingName>:<operation>" (m and op may be NULL: then only the
 * message is used).  *ret is malloc'd.  -ENOENT when neither gives one. */
int awserr_iam_action(const struct awserr *e, const struct awsmodel *m, const struct awsop *op,
                      char **ret);

#endif
