/* The outbox dispatcher: delivers pending events to their sinks from the
 * libuv loop.
 *
 * It finds due deliveries through dbq jobs (lib/outbox.h: pending,
 * next_attempt_at <= now, not held back by an earlier pending delivery of
 * the same dedupe key or resource to the same sink), hands each to its sink
 * driver and records the outcome through another dbq job.  The loop thread
 * never runs SQL.
 *
 * Guarantees:
 *  - at-least-once: a delivery changes state only after the sink reported
 *    it, so a crash (or dispatch_close()) at any moment loses nothing; the
 *    price is that a delivery interrupted after the receiver got it (a
 *    timeout, a crash before the outcome was written) is sent again with
 *    the same event id, which receivers use as the idempotency key;
 *  - in order per sink for each dedupe key and each resource key (see
 *    lib/outbox.h); a dead letter stops holding later events back;
 *  - bounded concurrency per sink; after DISPATCH_PROBE_AFTER transient
 *    failures in a row a sink gets one delivery at a time until one
 *    succeeds, so a receiver that is down is not hammered;
 *  - transient failures are retried with exponential backoff and jitter
 *    (dispatch_backoff_ms()) until the sink's max_age since the event was
 *    created: one last attempt is made at that deadline, and if it fails
 *    too the delivery becomes a dead letter ('failed' with last_error).
 *    Permanent failures (DISPATCH_REJECTED) are dead letters at once.
 *
 * It wakes at the next due time (a uv timer), after each recorded outcome,
 * on dispatch_kick() (call it after committing new events), and at least
 * every poll_ms so that deliveries requeued by another process (`plumb
 * events --retry-failed`) and jumps of the wall clock are picked up.
 *
 * Clock and randomness are injectable so tests can simulate hours of
 * downtime: the timer only approximates the injected clock, so such tests
 * advance their clock and call dispatch_kick().
 *
 * Everything here runs on the loop thread; callbacks are invoked from it. */
#ifndef PLUMB_DISPATCH_H
#define PLUMB_DISPATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dbq.h"
#include "events.h"
#include "outbox.h"
#include "util.h"

#define DISPATCH_BACKOFF_BASE_MS 5000
#define DISPATCH_BACKOFF_MAX_MS  (15 * 60 * 1000)
#define DISPATCH_POLL_MS         30000
#define DISPATCH_PROBE_AFTER     3
/* Concurrency of the built-in drivers. */
#define DISPATCH_WEBHOOK_CONCURRENCY 4

struct dispatch;
struct dispatch_call;

/* One event as handed to a sink.  Everything is borrowed from the
 * dispatcher and stays valid until the call is reported. */
struct dispatch_event {
    int64_t seq;
    const char *id; /* the idempotency key */
    const char *kind;
    const char *dedupe_key;
    const char *severity;
    const char *resource_key; /* may be NULL */
    const char *payload;      /* the stored JSON text (plumb.event/v1) */
    const json_t *doc;        /* the same, parsed */
    int64_t created_at;
    int64_t attempt; /* 1 for the first attempt */
};

enum dispatch_status {
    DISPATCH_DELIVERED, /* the sink confirmed it */
    DISPATCH_RETRY,     /* transient failure: retried with backoff */
    DISPATCH_REJECTED,  /* permanent failure: dead letter now */
    DISPATCH_CANCELED,  /* interrupted by dispatch_close(): stays pending */
};

struct dispatch_result {
    enum dispatch_status status;
    /* RETRY: the receiver asked to wait at least this long (Retry-After);
     * 0 = no wish. */
    int64_t retry_after_ms;
    /* RETRY, REJECTED: one line for last_error and the logs; never a
     * secret. */
    char error[OUTBOX_MAX_ERROR];
};

/* A sink driver.  `sink` is the driver's own state given to
 * dispatch_add_sink(). */
struct dispatch_sink_ops {
    /* Start one delivery.  Report it exactly once with
     * dispatch_call_done(), from the loop thread.  Returns 0, or a negative
     * errno with err filled when it cannot start; nothing is reported then,
     * and the delivery is dead-lettered for -EINVAL, -E2BIG and -EMSGSIZE
     * (the event cannot be rendered for this sink) and retried otherwise. */
    int (*send)(void *sink, struct dispatch_call *call, struct perr *err);
    /* Interrupt a call in flight (dispatch_close()).  It must still be
     * reported: with DISPATCH_CANCELED, or with its real outcome when it
     * already had one. */
    void (*cancel)(void *sink, struct dispatch_call *call);
    /* Free the sink; no call is in flight.  closed(ud) is called from the
     * loop when done (possibly before close returns). */
    void (*close)(void *sink, void (*closed)(void *ud), void *ud);
};

/* The event of a call. */
const struct dispatch_event *dispatch_call_event(const struct dispatch_call *call);
/* A slot for the sink's per-call state (NULL initially). */
void dispatch_call_set_data(struct dispatch_call *call, void *data);
void *dispatch_call_data(const struct dispatch_call *call);
/* Report the outcome of a call (copied).  The call handle is invalid
 * afterwards. */
void dispatch_call_done(struct dispatch_call *call, const struct dispatch_result *res);

struct dispatch_options {
    int64_t (*now_ms)(void *ud);  /* NULL = time_now_ms() */
    uint64_t (*random)(void *ud); /* NULL = random_bytes() */
    void *clock_ud;
    int64_t backoff_base_ms; /* 0 = DISPATCH_BACKOFF_BASE_MS */
    int64_t backoff_max_ms;  /* 0 = DISPATCH_BACKOFF_MAX_MS */
    int64_t poll_ms;         /* 0 = DISPATCH_POLL_MS */
    /* Called on the loop after each outcome was written: state, the time
     * of the next attempt (RETRY) and the error (RETRY, FAILED).  For the
     * daemon's log; may be NULL. */
    void (*on_outcome)(void *ud, const char *sink, const struct dispatch_event *ev,
                       enum outbox_state state, int64_t next_attempt_at, const char *error);
    /* Called on the loop when a database job failed (the deliveries
     * concerned stay pending and are retried); may be NULL. */
    void (*on_error)(void *ud, const struct perr *err);
    void *ud;
};

/* Create a dispatcher on loop using the (borrowed) queue q, which must
 * outlive it: close the dispatcher first, then the queue.  opts may be
 * NULL.  Nothing happens until dispatch_kick(). */
int dispatch_new(uv_loop_t *loop, struct dbq *q, const struct dispatch_options *opts,
                 struct dispatch **ret, struct perr *err);

/* Register a sink under name, the value of deliveries.sink.  Takes
 * ownership of `sink` on success only (it is closed with ops->close by
 * dispatch_close()).  concurrency >= 1; max_age_ms > 0.  -EEXIST for a
 * name registered twice, -EINVAL for bad arguments, -ESHUTDOWN while
 * closing. */
int dispatch_add_sink(struct dispatch *d, const char *name, const struct dispatch_sink_ops *ops,
                      void *sink, unsigned concurrency, int64_t max_age_ms, struct perr *err);

/* What the built-in drivers need besides the configuration. */
struct dispatch_env {
    const char *hostname;    /* NULL = gethostname() */
    const char *syslog_path; /* local syslog socket; NULL = /dev/log */
};

/* Create and register the driver for one configured sink, chosen by the
 * name: "webhook:NAME" (the [webhook NAME] section), "journal", "syslog".
 * -ENOENT when no driver or section matches (digest:NAME sinks are sent by
 * the digest, not here). */
int dispatch_open_sink(struct dispatch *d, const char *name, const struct config *cfg,
                       const struct dispatch_env *env, struct perr *err);
/* dispatch_open_sink() for every enabled webhook, journal and syslog
 * sink of cfg; stops at the first failure (sinks opened before it stay
 * registered). */
int dispatch_open_configured(struct dispatch *d, const struct config *cfg,
                             const struct dispatch_env *env, struct perr *err);

/* The sinks lib/events routes to, matching what dispatch_open_configured()
 * registers ("webhook:NAME", "journal", "syslog") plus "digest:NAME" for
 * each digest.  Names are malloc'd, filters point into cfg (which must
 * outlive the array).  Free with dispatch_event_sinks_free(). */
int dispatch_event_sinks(const struct config *cfg, struct event_sink **ret, size_t *ret_n);
void dispatch_event_sinks_free(struct event_sink *sinks, size_t n);

/* Look for due deliveries now. */
void dispatch_kick(struct dispatch *d);

/* Cancel what is in flight (those deliveries stay pending), wait for the
 * dispatcher's database jobs and the sinks' calls, close the sinks and the
 * timer, free everything and call done(ud) from the loop.  Calling it
 * twice is a no-op; d must not be used afterwards. */
void dispatch_close(struct dispatch *d, void (*done)(void *ud), void *ud);

/* No database job queued or running and no call in flight. */
bool dispatch_idle(const struct dispatch *d);
/* When the timer will look next (dispatcher clock), 0 = not armed. */
int64_t dispatch_next_wakeup(const struct dispatch *d);

struct dispatch_stats {
    uint64_t delivered;
    uint64_t retried;
    uint64_t failed;
    unsigned in_flight; /* calls at a sink or having their outcome recorded */
    unsigned db_jobs;   /* database jobs queued or running */
};
void dispatch_get_stats(const struct dispatch *d, struct dispatch_stats *ret);

/* The delay before attempt `attempt`+1 after `attempt` attempts failed:
 * uniform in [base, min(max, base * 2^(attempt-1))] (full jitter above a
 * floor of base, so a retry never comes sooner than base), drawn from rnd. */
int64_t dispatch_backoff_ms(int64_t attempt, int64_t base_ms, int64_t max_ms, uint64_t rnd);

#endif
