/* The journal sink: each event as one structured journal entry.
 *
 * Fields (sink_journal_fields(), pure): MESSAGE (the summary),
 * MESSAGE_ID (one fixed 128-bit id per event kind, explained in
 * systemd/plumb.catalog; absent for kinds without one), PRIORITY,
 * SYSLOG_IDENTIFIER=plumbd, PLUMB_EVENT_ID, PLUMB_KIND, PLUMB_SEVERITY,
 * PLUMB_DEDUPE_KEY, PLUMB_CATEGORY, PLUMB_RESOURCE (key, else ARN, else
 * Terraform address), PLUMB_TYPE, PLUMB_ACCOUNT, PLUMB_REGION, PLUMB_NIS2
 * and PLUMB_DORA (comma-separated), PLUMB_CONTROL.  Fields without a value
 * are left out; values are cut to SINK_JOURNAL_MAX_VALUE bytes at a UTF-8
 * boundary.
 *
 * PRIORITY follows the severity (critical 2, high 3, medium 4, low 5,
 * info 6), except that the good news (*.resolved, data.restored) is never
 * louder than notice (5).
 *
 * sd_journal_sendv() can block when journald is slow, so the send runs on
 * the libuv thread pool, one entry at a time.  Without a journald socket
 * sd_journal_sendv() drops the entry and reports success, so the daemon
 * should only enable this sink where a journal runs. */
#ifndef PLUMB_SINK_JOURNAL_H
#define PLUMB_SINK_JOURNAL_H

#include <sys/uio.h>
#include <uv.h>

#include "dispatch.h"

#define SINK_JOURNAL_MAX_VALUE 4096

struct sink_journal_kind {
    const char *kind;
    const char *message_id; /* 32 lower-case hex digits */
};
/* Every event kind with its MESSAGE_ID; ends with a NULL kind. */
extern const struct sink_journal_kind sink_journal_kinds[];

/* MESSAGE_ID of a kind, or NULL. */
const char *sink_journal_message_id(const char *kind);
/* syslog(3) priority of an event. */
int sink_journal_priority(const char *severity, const char *kind);

/* The entry's "FIELD=value" strings (a NULL-terminated strv, free with
 * strv_free()).  -EINVAL (err filled) for an event without id or kind. */
int sink_journal_fields(const struct dispatch_event *ev, char ***ret, struct perr *err);

/* How an entry is written: sd_journal_sendv() unless a test injects
 * another function with its contract (returns 0 or a negative errno; runs
 * on a pool thread). */
typedef int (*sink_journal_send_fn)(const struct iovec *iov, int n);

/* Send fields with send (NULL = sd_journal_sendv), blocking. */
int sink_journal_send(sink_journal_send_fn send, char *const *fields, struct perr *err);

struct sink_journal;

int sink_journal_new(uv_loop_t *loop, sink_journal_send_fn send, struct sink_journal **ret,
                     struct perr *err);

/* The driver; `sink` is a struct sink_journal.  Send failures are retried
 * (journald restarting); close() may be given a NULL callback. */
extern const struct dispatch_sink_ops sink_journal_ops;

#endif
