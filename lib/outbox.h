/* The outbox seen from the delivery side: which deliveries are due, how an
 * attempt's outcome is recorded, and the listing and requeueing behind
 * `plumb events`.
 *
 * Events and their deliveries are written by lib/events.c (one row in
 * `deliveries` per event and matching sink, state 'pending').  A delivery
 * leaves 'pending' only when its sink confirmed it ('delivered') or it was
 * given up ('failed', a dead letter with last_error); a crash in between
 * leaves it pending, so it is sent again: delivery is at-least-once and the
 * event id is the idempotency key.
 *
 * Order: a sink receives the events of one dedupe key, and the events of
 * one resource key, in the order they were written.  A delivery is held
 * back while an earlier delivery to the same sink of an event with the same
 * dedupe key or the same resource key is still pending (in flight or
 * waiting for a retry); a dead letter no longer holds anything back.
 *
 * Every function runs SQL on the connection it is given, so it blocks: the
 * daemon calls them from dbq jobs (the thread pool), the CLI directly. */
#ifndef PLUMB_OUTBOX_H
#define PLUMB_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* One pending delivery with its event. */
struct outbox_item {
    int64_t seq; /* events.seq */
    char *sink;
    int64_t attempts; /* attempts made so far */
    int64_t next_attempt_at;
    char *id;
    char *kind;
    char *dedupe_key;
    char *severity;
    char *resource_key; /* may be NULL */
    char *payload;      /* the stored event JSON (plumb.event/v1) */
    int64_t created_at;
};

/* Free the strings of one item (not the item itself); safe on a zeroed or
 * half-filled item. */
void outbox_item_clear(struct outbox_item *item);
/* Clear n items and free the array; returns NULL. */
struct outbox_item *outbox_items_free(struct outbox_item *items, size_t n);

/* Up to `limit` deliveries to `sink` that are pending, due (next_attempt_at
 * <= now_ms) and not held back by an earlier pending one (see above), in
 * event order.  *ret (malloc'd array, NULL when none) and *ret_n are set on
 * success. */
int outbox_due(struct db *db, const char *sink, int64_t now_ms, size_t limit,
               struct outbox_item **ret, size_t *ret_n, struct perr *err);

/* The earliest next_attempt_at later than after_ms among the pending
 * deliveries to any of `sinks` (NULL-terminated), or 0 when there is
 * none. */
int outbox_next_due(struct db *db, const char *const *sinks, int64_t after_ms, int64_t *ret_ms,
                    struct perr *err);

enum outbox_state {
    OUTBOX_DELIVERED, /* the sink confirmed it */
    OUTBOX_RETRY,     /* try again at `at_ms` */
    OUTBOX_FAILED,    /* dead letter */
};

/* Record the outcome of one attempt: attempts is incremented, and
 * delivered_at (OUTBOX_DELIVERED) or next_attempt_at (OUTBOX_RETRY) set to
 * at_ms; last_error is set to error (RETRY, FAILED; cut to
 * OUTBOX_MAX_ERROR bytes at a UTF-8 boundary) or cleared (DELIVERED).  Only
 * a pending delivery is changed: returns 1 when it was, 0 when the delivery
 * is gone or no longer pending. */
#define OUTBOX_MAX_ERROR 512
int outbox_record(struct db *db, int64_t seq, const char *sink, enum outbox_state state,
                  int64_t at_ms, const char *error, struct perr *err);

/* Which events `plumb events` shows (and --retry-failed touches). */
struct outbox_filter {
    int64_t since_ms;      /* events created at or after; 0 = all */
    bool failed_only;      /* only events with a dead-lettered delivery */
    const char *kind_glob; /* fnmatch-style glob on the kind; NULL = all */
    const char *sink;      /* only deliveries to this sink; NULL = all */
    size_t limit;          /* the newest `limit` events; 0 = no limit */
};

/* Events as a JSON array, oldest first, each
 *   {"seq", "id", "kind", "dedupe_key", "severity", "category",
 *    "resource" (the payload's resource object, or null), "account",
 *    "region", "created_at" (ISO 8601 with ms), "summary",
 *    "deliveries": [{"sink", "state", "attempts", "last_error",
 *                    "delivered_at", "next_attempt_at"}]}
 * (times ISO 8601 or null).  With a sink filter, only that sink's
 * deliveries are listed and events without one are left out.  *ret is a
 * new reference. */
int outbox_list(struct db *db, const struct outbox_filter *f, json_t **ret, struct perr *err);

/* Put dead letters matching f (since_ms, kind_glob, sink; failed_only and
 * limit are ignored) back to pending, due at now_ms; their attempts and
 * last_error are kept.  *ret_count (may be NULL) receives how many. */
int outbox_requeue_failed(struct db *db, const struct outbox_filter *f, int64_t now_ms,
                          int64_t *ret_count, struct perr *err);

#endif
