/* Asynchronous HTTP(S) client on a libuv loop, built on libcurl's multi
 * socket API (one uv_poll_t per socket, one uv_timer_t for curl's timeouts).
 *
 * Everything runs on the loop thread: http_client_new, http_send,
 * http_cancel and http_client_close must be called from that thread, and
 * every callback is invoked from it.  Nothing here blocks, logs or keeps
 * global state (the client calls curl_global_init/curl_global_cleanup,
 * which libcurl reference-counts).
 *
 * Policy decisions that are not options:
 *  - TLS peer and host verification are always on.  The only exception is
 *    the explicit per-request `insecure_tls` field, which the caller must
 *    log; there is no client-wide switch.
 *  - Only http:// and https:// URLs are accepted; redirects are not
 *    followed (AWS answers redirects with information the caller needs).
 *  - Proxies come from curl's standard environment variables (http_proxy,
 *    https_proxy, no_proxy); nothing here overrides them.
 *  - Response bodies are capped while they are received, never after.
 *  - Requests are queued FIFO when the per-host or total limit of
 *    transfers in flight is reached; their timeouts start when they leave
 *    the queue.
 *
 * Error codes reported in struct http_response.error (transport failures;
 * an HTTP error status is NOT an error here):
 *   -ETIMEDOUT        connect timeout, total timeout or stalled transfer
 *                     (below the low-speed limit for the low-speed time)
 *   -ECONNREFUSED     the server refused the connection
 *   -ECONNRESET       reset by peer, or closed before any response
 *   -EHOSTUNREACH     name resolution or routing failure
 *   -EMSGSIZE         the response body exceeds the size limit
 *   -EPROTO           truncated body, bad chunked encoding, malformed
 *                     response, TLS handshake failure
 *   -EKEYREJECTED     the server's TLS certificate did not verify
 *   -ECANCELED        http_cancel() or http_client_close()
 *   -EIO, -ENOMEM     anything else / out of memory
 * error_msg then holds a one-line explanation naming host:port (never the
 * full URL, whose query may carry a presigned signature or token).
 *
 * URL encoding is not provided here: curl_easy_escape() encodes everything
 * but RFC 3986 unreserved characters, which is what SigV4 canonical URIs
 * and queries need, and CURLU parses and builds URLs. */
#ifndef PLUMB_HTTP_H
#define PLUMB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

/* Defaults used when an option is left 0 (or NULL). */
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define HTTP_DEFAULT_TIMEOUT_MS         60000
#define HTTP_DEFAULT_LOW_SPEED_LIMIT    1 /* bytes per second */
#define HTTP_DEFAULT_LOW_SPEED_TIME_MS  30000
#define HTTP_DEFAULT_MAX_BODY           (64u * 1024 * 1024)
#define HTTP_DEFAULT_MAX_PER_HOST       8
#define HTTP_DEFAULT_MAX_TOTAL          64
#define HTTP_DEFAULT_USER_AGENT         "plumb"
/* Response headers beyond these limits fail the request with -EMSGSIZE. */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
#define HTTP_MAX_HEADERS      200

struct http_client_options {
    int64_t connect_timeout_ms; /* TCP + TLS handshake */
    int64_t timeout_ms;         /* whole transfer; a request may override */
    /* A transfer slower than low_speed_limit bytes/s for low_speed_time_ms
     * fails with -ETIMEDOUT.  libcurl measures in whole seconds, so the time
     * is rounded up to the next second. */
    long low_speed_limit;
    int64_t low_speed_time_ms;
    size_t max_body;       /* bytes; a request may lower or raise it */
    unsigned max_per_host; /* transfers in flight per scheme://host:port */
    unsigned max_total;    /* transfers in flight in total */
    /* PEM CA bundle (the caller resolves AWS_CA_BUNDLE); NULL = the system
     * default.  Copied. */
    const char *ca_bundle;
    const char *user_agent; /* copied; NULL = HTTP_DEFAULT_USER_AGENT */
};

struct http_request {
    const char *method; /* "GET", "HEAD", "POST", "PUT", "DELETE"...; NULL = GET */
    const char *url;    /* http:// or https:// only */
    /* NULL-terminated "Name: value" lines, or NULL.  CR and LF are refused.
     * libcurl adds Host, Content-Length and Accept when they are absent;
     * its default Content-Type for bodies and its "Expect: 100-continue" are
     * suppressed, so a signed request goes out with exactly the headers the
     * caller signed plus those three. */
    const char *const *headers;
    const void *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    int64_t timeout_ms; /* 0 = the client's timeout_ms */
    size_t max_body;    /* 0 = the client's max_body */
    /* Skip TLS verification for this request only.  The caller must log a
     * warning every time it sets this. */
    bool insecure_tls;
};

struct http_header {
    char *name; /* lower-cased */
    char *value;
};

struct http_response {
    int error;             /* 0, or a negative errno code (see above) */
    const char *error_msg; /* "" when error is 0 */
    long status;           /* HTTP status; 0 when no response arrived */
    /* Headers of the final response, in arrival order, names lower-cased. */
    struct http_header *headers;
    size_t n_headers;
    /* The body, NUL-terminated (the NUL is not counted).  On a transport
     * error it holds whatever arrived before the failure. */
    char *body;
    size_t body_len;
};

struct http_client;
struct http_call;

/* Called exactly once for every successful http_send, from the loop and
 * never from inside http_send/http_cancel/http_client_close.  resp and
 * everything it points to are owned by the library and freed when the
 * callback returns, except what the callback takes with
 * http_response_take_body().  The call handle is freed after the callback
 * returns. */
typedef void (*http_done_cb)(struct http_call *call, struct http_response *resp, void *userdata);
typedef void (*http_close_cb)(void *userdata);

/* Create a client on loop.  opts may be NULL (all defaults).  Validates the
 * options (a ca_bundle that cannot be read is -ENOENT/-EACCES, limits of 0
 * mean defaults) and fills err on failure. */
int http_client_new(uv_loop_t *loop, const struct http_client_options *opts,
                    struct http_client **ret, struct perr *err);

/* Start (or queue) a request.  Everything in req is copied, so req and the
 * strings and body it points to may be freed as soon as this returns.
 * ret_call (may be NULL) receives a handle valid until the callback
 * returns.  Fails with -EINVAL (bad method, URL, scheme or header, with
 * err filled), -ESHUTDOWN (client closing) or -ENOMEM, and then never calls
 * cb. */
int http_send(struct http_client *client, const struct http_request *req, http_done_cb cb,
              void *userdata, struct http_call **ret_call, struct perr *err);

/* Cancel a request that is queued or in flight: its callback reports
 * -ECANCELED on a later loop iteration.  A request that already finished
 * but whose callback has not run yet keeps its real result, and a call
 * whose callback is running is left alone (so cancelling from inside the
 * callback is harmless).  Must not be called after the callback has
 * returned: the handle is gone. */
void http_cancel(struct http_call *call);

/* Cancel everything (each callback reports -ECANCELED), close every libuv
 * handle the client owns, free the client and then call done (may be NULL)
 * from the loop.  After done, uv_loop_close() succeeds unless the caller
 * has handles of its own.  The client must not be used after this call
 * except that pending callbacks still run.  Calling it twice is a no-op. */
void http_client_close(struct http_client *client, http_close_cb done, void *userdata);

/* Number of requests accepted and not yet completed (queued + in flight). */
size_t http_client_pending(const struct http_client *client);

/* First header with this name (ASCII case-insensitive), or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);

/* Take ownership of the body (free() it); resp->body becomes NULL.  Returns
 * the body, never NULL for a delivered response (an empty body is ""). */
char *http_response_take_body(struct http_response *resp, size_t *ret_len);

#endif
