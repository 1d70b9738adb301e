/* Event lifecycle and the outbox.
 *
 * After each analysis (diff + baseline), the current drift items and
 * findings are reconciled with what the database says is open:
 *   new drift          -> drift.opened
 *   changed drift      -> drift.updated (the attribute changes differ)
 *   drift gone         -> drift.resolved, only when the resource's scope was
 *                         read successfully (UNKNOWN never resolves)
 *   control now FAIL   -> control.failed;  FAIL -> PASS/N/A -> control.resolved
 *   UNKNOWN too long   -> data.gap;  read again -> data.restored
 *   exception expired  -> exception.expired (and the drift/finding re-opens)
 *   optional reminders -> drift.reminder / control.reminder
 * An unchanged drift raises nothing, also across restarts: the state lives in
 * the drift/findings/gaps tables.  Every event is written, with one delivery
 * row per matching sink, in the caller's transaction (the same one as the
 * diff that caused it), so a crash loses nothing.
 *
 * Dedupe keys are stable: "drift:<category>:<resource key>" (changed,
 * unmanaged, conflict), "drift:missing:<source>:<address>",
 * "control:<control id>:<resource key>", "gap:<account>/<region>/<type>",
 * "exception:<name>".  Event ids are random UUIDs and serve as the
 * idempotency key receivers dedupe on. */
#ifndef PLUMB_EVENTS_H
#define PLUMB_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

#define EVENT_SCHEMA "plumb.event/v1"

/* Where events go: one entry per configured sink. */
struct event_sink {
    const char *name;                   /* "webhook:oncall", "journal", "syslog", "digest:weekly" */
    const struct config_filter *filter; /* NULL = everything */
    bool digest;                        /* takes digest.weekly events only */
};

/* One drift item as computed by the diff engine. */
struct drift_item {
    const char *category;     /* changed, missing, unmanaged, conflict */
    const char *resource_key; /* live key; NULL for missing */
    const char *type;
    const char *id;
    const char *arn;
    const char *account;
    const char *region;
    const char *address;   /* Terraform address; NULL for unmanaged */
    const char *source;    /* state source name(s); NULL for unmanaged */
    const json_t *changes; /* [{"path","declared","live"}] (masked); NULL unless changed/conflict */
    const json_t *tags;    /* resource tags (routing/digest); may be NULL */
    enum severity severity;
};

/* One baseline result for (control, resource). */
struct finding_item {
    const char *control;
    const char *title;
    const json_t *nis2; /* array of strings */
    const json_t *dora;
    const char *resource_key; /* for account/region-level controls: "account/region/scope" */
    const char *type;
    const char *id;
    const char *arn;
    const char *account;
    const char *region;
    const char *status; /* PASS, FAIL, NOT_APPLICABLE, UNKNOWN */
    enum severity severity;
    const char *detail;
    const json_t *tags;
};

/* Callbacks into the caller's knowledge. */
struct events_oracle {
    /* Whether (account, region, type) was read successfully this time and,
     * for drift with a state source, whether that source was read too: only
     * then may an absent item resolve. */
    bool (*scope_ok)(void *userdata, const char *account, const char *region, const char *type,
                     const char *source);
    /* Name of an active exception covering this drift (control == NULL) or
     * finding, or NULL.  The returned string stays valid during the call. */
    const char *(*exception_for)(void *userdata, const char *type, const char *id,
                                 const char *control);
    /* Whether this control is still in the catalogue (findings of removed
     * controls are closed). */
    bool (*control_known)(void *userdata, const char *control);
    void *userdata;
};

struct events_stats {
    int64_t opened;
    int64_t updated;
    int64_t resolved;
    int64_t events;
    int64_t deliveries;
};

struct events_ctx {
    struct db *db;
    int64_t now_ms;
    const struct event_sink *sinks;
    size_t n_sinks;
    const struct events_oracle *oracle;
    int64_t reminder_ms; /* 0 = off */
    enum severity reminder_min_severity;
    int64_t data_gap_after_ms;
    struct events_stats stats;
};

/* Reconcile drift.  items must be sorted by their dedupe key
 * (events_drift_key()); call inside a transaction. */
int events_apply_drift(struct events_ctx *ctx, const struct drift_item *items, size_t n,
                       struct perr *err);
/* Reconcile findings (every status, including PASS); items sorted by
 * events_finding_key(). */
int events_apply_findings(struct events_ctx *ctx, const struct finding_item *items, size_t n,
                          struct perr *err);
/* Open/resolve data gaps from the coverage table. */
int events_apply_gaps(struct events_ctx *ctx, struct perr *err);
/* Store the configured exceptions; raise exception.expired once for each
 * that has expired. */
int events_sync_exceptions(struct events_ctx *ctx, const struct config_exception *ex, size_t n,
                           struct perr *err);
/* Reminders for long-open events (no-op when reminder_ms is 0). */
int events_remind(struct events_ctx *ctx, struct perr *err);

/* Emit one event with deliveries to the matching sinks.  payload is a JSON
 * object (borrowed) to which id, kind, schema, severity and created_at are
 * added in the stored copy.  ret_id (37 bytes) may be NULL. */
int events_emit(struct events_ctx *ctx, const char *kind, const char *dedupe_key,
                enum severity severity, const char *category, const char *resource_key,
                const char *account, const char *region, const json_t *tags, json_t *payload,
                char *ret_id, struct perr *err);

/* Dedupe keys (malloc'd). */
char *events_drift_key(const struct drift_item *d);
char *events_finding_key(const struct finding_item *f);

/* Whether an event matches a routing filter.  tags may be NULL. */
bool events_filter_match(const struct config_filter *f, const char *kind, enum severity sev,
                         const char *category, const char *account, const json_t *tags);

#endif
