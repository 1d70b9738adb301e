/* One analysis pass over the stored estate, in one transaction: exceptions
 * are synced, the baseline is evaluated (and, with state sources, drift is
 * computed), and the lifecycle of drift, findings and data gaps is
 * reconciled into events and outbox deliveries (lib/events.h).  Because it
 * all commits together, an event exists if and only if the change that
 * caused it is recorded.
 *
 * Runs on the thread that owns the writer connection (a dbq job in the
 * daemon, the CLI's own thread for `plumb scan --once`). */
#ifndef PLUMB_ANALYSIS_H
#define PLUMB_ANALYSIS_H

#include <stdint.h>

#include "db.h"
#include "events.h"
#include "runtime.h"

struct analysis_stats {
    int64_t controls;
    int64_t findings[4];  /* by enum finding_status */
    int64_t drift[4];     /* changed, missing, unmanaged, conflict */
    bool drift_evaluated; /* false without any state source */
    struct events_stats events;
    int64_t duration_ms;
};

int analysis_run(struct db *db, const struct runtime *rt, int64_t now_ms,
                 struct analysis_stats *stats, struct perr *err);

#endif
