/* One full scan on a private event loop: the engine of `plumb scan --once`
 * (and of the demo).  Every enabled collector runs in every ready account
 * and region, the Terraform state sources are read, then one analysis
 * records drift, findings and events, and pending deliveries are sent to
 * the configured sinks (bounded time) — the same code paths as plumbd, so a
 * CI job sees the same lifecycle. */
#ifndef PLUMB_SCAN_H
#define PLUMB_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"
#include "awsclient.h"
#include "collect.h"
#include "config.h"
#include "db.h"
#include "runtime.h"

struct scan_options {
    const struct config *cfg;
    const struct runtime *rt;
    char *const *regions;    /* --region; NULL = config or all */
    char *const *states;     /* --state locations (added to the config's) */
    char *const *collectors; /* only these; NULL = every enabled one */
    FILE *progress;          /* one line per finished step; NULL = quiet */
    bool quiet;
    aws_getenv_fn getenv;
    /* Tests: replace AWS with a transport (no credentials, no client). */
    const struct collect_transport *transport;
    const char *account_id;
    /* How long to keep delivering events after the analysis (0 = 30 s;
     * negative = do not deliver). */
    int64_t deliver_ms;
};

struct scan_result {
    json_t *summary; /* the --output json contract */
    struct analysis_stats analysis;
    size_t accounts_ready;
    size_t accounts_failed;
    int64_t drift_open[5];   /* by severity */
    int64_t failing_open[5]; /* FAIL findings without exception, by severity */
};

/* Takes ownership of db (closed before returning). */
int scan_once(const struct scan_options *o, struct db *db, struct scan_result *res,
              struct perr *err);
void scan_result_free(struct scan_result *res);
int scan_print_summary(FILE *out, const struct scan_result *res, bool color);
/* Open drift or failing (non-excepted) controls at or above threshold. */
bool scan_has_findings(const struct scan_result *res, enum severity threshold);

#endif
