/* AWS Signature Version 4 (AWS4-HMAC-SHA256), header and query signing.
 *
 * Pure computation: no I/O, no global state, safe from any thread.  The
 * signer never modifies the request; it returns what has to be added to
 * it (headers, or the complete query string for a presigned URL), plus the
 * canonical request and string to sign so tests and `plumb doctor` can
 * show what was signed.
 *
 * Request conventions:
 *  - path is the path as it goes on the wire (percent-encoded by the
 *    caller), without the query.  "" means "/".  For ordinary services it
 *    is normalised (dot segments and repeated slashes removed) and then
 *    URI-encoded once more ("double encoding"), as AWS expects.  With the
 *    S3 rules it is used verbatim, so it must already be strictly encoded:
 *    only unreserved characters, '/' and %XX with upper-case hex (use
 *    sigv4_uri_encode() on object keys).
 *  - query is the raw query string without '?' (NULL or "" for none).  For
 *    the canonical form each name and value is percent-decoded and
 *    re-encoded; '+' is a literal plus, so encode spaces as %20.
 *  - headers must include Host exactly as it will be sent (with the port
 *    when it is not the scheme's default).  Names are case-insensitive,
 *    duplicates are allowed (their values are joined with ','), values may
 *    be folded (CRLF/LF followed by blanks) and contain runs of blanks.
 *    Connection, Expect, Transfer-Encoding, User-Agent and X-Amzn-Trace-Id
 *    are not signed because proxies and the HTTP stack may change them.
 *    Authorization, X-Amz-Date and X-Amz-Security-Token belong to the
 *    signer and are refused; so is x-amz-content-sha256 when the signer
 *    adds it (S3 rules or add_content_sha256).
 *  - the payload is either payload_hash (64 lower-case hex digits or
 *    SIGV4_UNSIGNED_PAYLOAD) or, when that is NULL, the SHA-256 of
 *    body/body_len (NULL/0 is the empty body).  Query signing with the S3
 *    rules and no payload_hash uses UNSIGNED-PAYLOAD, as presigned S3 URLs
 *    do.
 *
 * Secrets: the secret key never appears in any output or error message,
 * and neither does the session token in error messages.  The session token
 * does appear in the result (header or query), which is why
 * sigv4_result_free() wipes it. */
#ifndef PLUMB_SIGV4_H
#define PLUMB_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SIGV4_ALGORITHM        "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Longest validity a presigned URL may have (7 days). */
#define SIGV4_MAX_EXPIRES_S 604800
/* Cap on the canonical request; the inputs are ours, but a query can carry
 * a pagination token chosen by the remote side. */
#define SIGV4_MAX_CANONICAL (8u * 1024 * 1024)

/* A borrowed header (name, value). */
struct sigv4_header {
    const char *name;
    const char *value;
};

/* Borrowed credentials.  session_token may be NULL or "" (none). */
struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
};

/* The request to sign; every pointer is borrowed for the call only. */
struct sigv4_request {
    const char *method; /* "GET", "POST"... */
    const char *path;
    const char *query;
    const struct sigv4_header *headers;
    size_t n_headers;
    const void *body;
    size_t body_len;
    const char *payload_hash; /* NULL: hash body */
};

struct sigv4_options {
    const char *region;  /* signing region, e.g. "eu-west-1" */
    const char *service; /* signing name, e.g. "ec2", "s3" */
    int64_t time_ms;     /* signing time, Unix ms (whole seconds are used) */
    /* S3 rules: path neither normalised nor re-encoded, and (header
     * signing) x-amz-content-sha256 is always added and signed. */
    bool s3;
    /* Keep dot segments and repeated slashes but still encode the path
     * (what the AWS CRT test suite calls "unnormalized"). */
    bool no_normalize_path;
    /* Header signing: add and sign x-amz-content-sha256 (implied by s3). */
    bool add_content_sha256;
    /* Add the session token after signing instead of signing it (a few
     * services, e.g. IoT, want it that way). */
    bool omit_session_token;
    /* Query signing only: X-Amz-Expires, 1..SIGV4_MAX_EXPIRES_S. */
    uint32_t expires_s;
};

/* An owned header to add to the request. */
struct sigv4_out_header {
    char *name;
    char *value;
};

/* The result of signing; owned by the caller, release with
 * sigv4_result_free(). */
struct sigv4_result {
    /* Header signing: X-Amz-Date, X-Amz-Security-Token (with a token),
     * x-amz-content-sha256 (when added) and Authorization, in that order.
     * Query signing: none. */
    struct sigv4_out_header headers[4];
    size_t n_headers;
    /* Query signing: the query string to send (without '?'): the caller's
     * query unchanged, then the X-Amz-* parameters ending with
     * X-Amz-Signature.  Header signing: NULL. */
    char *query;
    char *canonical_request;
    char *string_to_sign;
    char signature[65]; /* lower-case hex */
};

/* Sign for the Authorization header.  Returns 0, -EINVAL (bad input, err
 * says which), -E2BIG (canonical request above SIGV4_MAX_CANONICAL),
 * -ENOMEM or -EIO (libcrypto failure).  *ret is untouched on failure. */
int sigv4_sign_headers(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                       const struct sigv4_options *opts, struct sigv4_result *ret,
                       struct perr *err);

/* Sign in the query string (presigned URL); same contract. */
int sigv4_sign_query(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                     const struct sigv4_options *opts, struct sigv4_result *ret, struct perr *err);

/* Free the members of r (wiping the session token) and zero it.  NULL and
 * a zeroed result are fine. */
void sigv4_result_free(struct sigv4_result *r);

/* RFC 3986 encoding as SigV4 wants it: every byte except A-Z a-z 0-9 - . _ ~
 * becomes %XX (upper-case hex); '/' is kept when keep_slash.  Returns a
 * malloc'd string or NULL on OOM. */
char *sigv4_uri_encode(const char *s, size_t len, bool keep_slash);

#endif
