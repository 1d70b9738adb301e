/* Sending one message through an SMTP server with libcurl.
 *
 * smtp_send() is BLOCKING (connect, TLS, the SMTP dialogue): never call it
 * on the event loop thread.  Run it on the libuv thread pool, for which
 * smtp_send_async() is the ready-made wrapper: it copies its inputs, runs
 * smtp_send() in uv_queue_work() and calls back on the loop thread.
 *
 * TLS is required unless explicitly turned off: an smtp:// URL uses
 * STARTTLS and fails if the server does not offer it (CURLUSESSL_ALL), an
 * smtps:// URL uses implicit TLS (port 465).  Certificates and host names
 * are always verified.  tls=none (no encryption at all) is only accepted for
 * loopback hosts, i.e. for local test sinks and relays on the same host.
 *
 * The caller must have called curl_global_init() once before any thread
 * uses this module (the daemon does so at start-up).  No global state here;
 * every call has its own curl handle. */
#ifndef PLUMB_SMTP_H
#define PLUMB_SMTP_H

#include <stddef.h>
#include <uv.h>

#include "util.h"

/* (config.h uses this type for the "tls" key of [digest] sections.) */
enum smtp_tls {
    /* The default: TLS required.  STARTTLS on an smtp:// URL (fail if the
     * server does not offer it), implicit TLS on an smtps:// URL. */
    SMTP_TLS_STARTTLS = 0,
    SMTP_TLS_IMPLICIT, /* smtps:// only */
    SMTP_TLS_NONE,     /* smtp:// to a loopback host only; no encryption */
};

#define SMTP_DEFAULT_CONNECT_TIMEOUT_MS 30000L
#define SMTP_DEFAULT_TIMEOUT_MS         300000L

struct smtp_options {
    /* "smtp://mail.example.org:587" or "smtps://mail.example.org:465".  A
     * path sets the name sent in EHLO ("smtp://relay:25/plumb.example.org";
     * without one curl sends this machine's host name).  No user name or
     * password in the URL: use the fields below. */
    const char *url;
    enum smtp_tls tls;
    /* PEM CA bundle to verify the server with; NULL means the system's. */
    const char *ca_file;
    /* AUTH (whichever mechanism the server offers that curl supports)
     * when username is not NULL.  The password is read by the caller from
     * a file or systemd credential; it never appears in error messages. */
    const char *username;
    const char *password;
    long connect_timeout_ms; /* 0: SMTP_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;         /* the whole transaction; 0: SMTP_DEFAULT_TIMEOUT_MS */
};

/* Send msg (len bytes, a complete RFC 5322 message with CRLF line endings,
 * e.g. from mime_build()) from the envelope sender `from` to every address
 * in the NULL-terminated rcpt list.  Addresses may be bare
 * ("ops@example.org") or with a display name ("Ops <ops@example.org>");
 * only the address is used.  If the server rejects any recipient, nothing
 * is sent.
 *
 * Returns 0 once the server accepted the message, or:
 *  -EINVAL        bad options, addresses or message (nothing was sent);
 *  -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH... the connection failed;
 *  -ETIMEDOUT     a timeout expired;
 *  -EPROTO        TLS failed: STARTTLS not offered, certificate not
 *                 trusted, handshake error;
 *  -EACCES        authentication failed;
 *  -EAGAIN        the server answered with a temporary (4xx) error;
 *  -EREMOTEIO     the server answered with a permanent (5xx) error;
 *  -EIO           the connection broke or the server spoke nonsense;
 *  -ENOMEM.
 * err then names the server, the command that failed and the server's
 * reply ("smtp://mail:25 rejected RCPT TO:<x@y>: 550 5.1.1 User unknown");
 * the password is never part of it. */
int smtp_send(const struct smtp_options *opts, const char *from, const char *const *rcpt,
              const char *msg, size_t len, struct perr *err);

/* Called on the loop thread when an asynchronous send is over: result is
 * what smtp_send() returned (-ECANCELED if the work was cancelled), err its
 * report (valid during the call only). */
typedef void (*smtp_done_fn)(int result, const struct perr *err, void *userdata);

/* smtp_send() on the libuv thread pool.  Everything is copied (the
 * password too, and wiped when done), so the caller may free its inputs
 * on return.  done is called exactly once, on the loop thread, if and only
 * if this returns 0; keep the loop running until then.  Returns 0, -EINVAL
 * (checked up front: the same as smtp_send() would report), -ENOMEM or the
 * error of uv_queue_work(). */
int smtp_send_async(uv_loop_t *loop, const struct smtp_options *opts, const char *from,
                    const char *const *rcpt, const char *msg, size_t len, smtp_done_fn done,
                    void *userdata, struct perr *err);

#endif
