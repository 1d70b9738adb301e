/* The syslog sink: RFC 5424 messages for SIEMs.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM MSG
 *
 * PRI = facility * 8 + severity (critical 2, high 3, medium 4, low 5,
 * info 6; *.resolved and data.restored at most notice, 5); TIMESTAMP is
 * the event's creation time (RFC 3339, UTC, milliseconds); MSGID is the
 * event kind; one SD-ELEMENT
 *   [plumb@32473 id="..." kind="..." severity="..." resource="..."
 *    account="..." region="..." nis2="..." dora="..." dedupe_key="..."]
 * with '"', '\' and ']' escaped and parameters without a value left out;
 * MSG is a UTF-8 BOM and the summary.  Control characters in values and in
 * MSG become spaces (SIEMs split on newlines whatever the framing says),
 * header fields are cut to RFC 5424's lengths and limited to printable
 * US-ASCII, and the whole message to SINK_SYSLOG_MAX_MESSAGE bytes by
 * cutting MSG at a UTF-8 boundary.
 *
 * 32473 is the IANA example Private Enterprise Number (RFC 5612), which is
 * what documentation and unregistered software use; the SD-ID should
 * become configurable (or plumb get its own PEN) later.
 *
 * Transports (config target):
 *   local            unix datagram socket /dev/log (path injectable)
 *   tcp://HOST:PORT  RFC 6587 octet-counting framing ("LEN SP MSG"),
 *                    port 514 when omitted
 *   tls://HOST:PORT  RFC 5425 (octet counting inside TLS), port 6514 when
 *                    omitted; TLS by libcurl (CONNECT_ONLY on an https URL:
 *                    the handshake with full peer and host verification,
 *                    then curl_easy_send), CA bundle from the config
 * One connection is kept open and reopened after a failure (once at once
 * when an old connection turns out dead, otherwise at the next attempt).
 * The blocking I/O runs on the libuv thread pool, one message at a time.
 *
 * Delivery means the kernel (or the TLS layer) accepted the bytes: syslog
 * has no acknowledgement, so a connection that dies right after a send can
 * lose that message.  This is the limit of the protocol. */
#ifndef PLUMB_SINK_SYSLOG_H
#define PLUMB_SINK_SYSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dispatch.h"

#define SINK_SYSLOG_SD_ID        "plumb@32473"
#define SINK_SYSLOG_MAX_MESSAGE  8192 /* RFC 5425 receivers SHOULD take 8192 */
#define SINK_SYSLOG_MAX_VALUE    1024 /* bytes per SD-PARAM value */
#define SINK_SYSLOG_DEFAULT_PATH "/dev/log"

/* Facility number of a name (kern, user, mail, daemon, auth, syslog, lpr,
 * news, uucp, cron, authpriv, ftp, ntp, security, console, local0..local7),
 * or -EINVAL. */
int sink_syslog_facility(const char *name);
/* RFC 5424 severity (0..7) of an event. */
int sink_syslog_severity(const char *severity, const char *kind);

struct sink_syslog_format {
    int facility;         /* 0..23 */
    const char *hostname; /* NULL = "-" */
    const char *app_name; /* NULL = "plumbd" */
    long procid;          /* <= 0: "-" */
    size_t max_len;       /* 0 = SINK_SYSLOG_MAX_MESSAGE */
};

/* Format one event (pure).  *ret is malloc'd, *ret_len bytes, not framed.
 * -EINVAL (err filled) for an event without id or kind or a facility out
 * of range. */
int sink_syslog_format_event(const struct sink_syslog_format *f, const struct dispatch_event *ev,
                             char **ret, size_t *ret_len, struct perr *err);

enum sink_syslog_transport {
    SINK_SYSLOG_LOCAL,
    SINK_SYSLOG_TCP,
    SINK_SYSLOG_TLS,
};

/* Parse a target ("local", "tcp://HOST[:PORT]", "tls://HOST[:PORT]",
 * HOST may be [IPv6]).  *ret_host is malloc'd (NULL for local). */
int sink_syslog_parse_target(const char *target, enum sink_syslog_transport *ret_transport,
                             char **ret_host, int *ret_port, struct perr *err);

struct sink_syslog_options {
    const char *hostname;   /* NULL = gethostname() */
    const char *local_path; /* NULL = SINK_SYSLOG_DEFAULT_PATH */
    long procid;            /* 0 = getpid() */
    int64_t timeout_ms;     /* connect and send; 0 = 10 s */
};

struct sink_syslog;

/* Create the sink for the [syslog] section c (copied).  Validates the
 * target and facility (-EINVAL with err filled); connects lazily. */
int sink_syslog_new(uv_loop_t *loop, const struct config_syslog *c,
                    const struct sink_syslog_options *o, struct sink_syslog **ret,
                    struct perr *err);

/* The driver; `sink` is a struct sink_syslog.  close() may be given a NULL
 * callback. */
extern const struct dispatch_sink_ops sink_syslog_ops;

#endif
