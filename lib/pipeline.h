/* The collection pipeline: accounts x regions x collectors -> snapshots.
 *
 * pipeline_prepare() resolves the accounts to scan (configured [account]
 * sections with AssumeRole, or the default credential chain) and their
 * regions (configured, or every enabled region via EC2 DescribeRegions).
 * pipeline_collect() then runs one collector everywhere it applies: once
 * per account for global services, once per (account, region) otherwise,
 * a few runs at a time; every run's resources and scopes are written as one
 * snapshot batch through the database queue (off the loop), inside a cycle
 * record with the run's figures.
 *
 * Used by plumbd (one call per collector schedule) and by
 * `plumb scan --once` (every enabled collector). */
#ifndef PLUMB_PIPELINE_H
#define PLUMB_PIPELINE_H

#include <stdint.h>
#include <uv.h>

#include "awsclient.h"
#include "collect.h"
#include "config.h"
#include "dbq.h"

struct pipeline;

struct pipeline_options {
    uv_loop_t *loop;
    const struct config *cfg; /* borrowed; outlives the pipeline */
    struct aws_client *aws;   /* NULL only with transport set */
    struct dbq *dbq;
    /* Regions from the command line (--region); NULL = config or all. */
    char *const *regions;
    aws_getenv_fn getenv; /* NULL = getenv(3) */
    unsigned max_runs;    /* runs in flight per collector; 0 = 4 */
    /* Tests: every account uses this transport, with this account id and
     * no credential resolution. */
    const struct collect_transport *transport;
    const char *account_id;
    /* Collectors to look names up in; NULL = collector_registry. */
    const struct collector_def *const *registry;
};

/* One account being scanned. */
struct pipeline_account {
    char *name; /* config section name, or "default" */
    char *id;
    char *partition;
    char *home_region;
    char **regions;
    char *identity_source; /* where the credentials came from */
    struct aws_account *aws;
    struct collect_transport transport;
    bool ready;  /* credentials resolved */
    char *error; /* why not, for `plumb status` and logs */
};

int pipeline_new(const struct pipeline_options *opts, struct pipeline **ret, struct perr *err);

/* Resolve accounts and regions.  done gets 0 when at least one account is
 * ready (the others carry their error), or the first error. */
typedef void (*pipeline_done_fn)(int result, const struct perr *err, void *userdata);
int pipeline_prepare(struct pipeline *p, pipeline_done_fn done, void *userdata);

size_t pipeline_n_accounts(const struct pipeline *p);
const struct pipeline_account *pipeline_account(const struct pipeline *p, size_t i);

/* Figures of one collector cycle. */
struct pipeline_cycle {
    const char *collector;
    int64_t cycle_id;
    int64_t started_ms;
    int64_t finished_ms;
    struct aws_stats aws;
    struct snapshot_stats snap;
    /* Scopes that could not be read: [{account, region, type, status, detail}]. */
    json_t *unknown;
    const char *status; /* ok, partial, failed */
};
typedef void (*pipeline_cycle_fn)(int result, const struct pipeline_cycle *cycle,
                                  const struct perr *err, void *userdata);

/* Run one collector over every ready account (and region).  Fails with
 * -EBUSY if that collector is already running. */
int pipeline_collect(struct pipeline *p, const char *collector, pipeline_cycle_fn done,
                     void *userdata, struct perr *err);
bool pipeline_busy(const struct pipeline *p, const char *collector);

/* Cancel running collectors; their cycles finish as "abandoned"; then
 * free and call done. */
void pipeline_close(struct pipeline *p, void (*done)(void *userdata), void *userdata);

#endif
