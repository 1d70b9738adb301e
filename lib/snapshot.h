/* Resource snapshots with history: content-addressed versions, tombstones,
 * coverage and per-cycle records.
 *
 * Writing: a collector run is a cycle (snapshot_cycle_begin/end).  Its
 * results arrive as batches; each batch names the scopes it covers
 * ((account, region, type) with how the read went) and carries the
 * resources read.  snapshot_write() applies a batch in one transaction:
 *  - a resource whose canonical document is unchanged writes nothing;
 *  - a changed or new one writes one version (its document stored once,
 *    by SHA-256, in blobs);
 *  - a resource of a scope read successfully that is absent from the batch
 *    gets a tombstone;
 *  - a scope that could not be read (access denied, throttled, error) is
 *    recorded as such in coverage and nothing of it is tombstoned: it is
 *    UNKNOWN, never "deleted".
 *
 * All functions take the connection of the calling thread; none logs. */
#ifndef PLUMB_SNAPSHOT_H
#define PLUMB_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "resource.h"

struct snapshot_scope {
    const char *account;
    const char *region;
    const char *type;
    enum collect_status status;
    const char *detail; /* e.g. "ec2:DescribeVolumes" for access_denied; may be NULL */
};

struct snapshot_batch {
    int64_t cycle_id;
    int64_t observed_at; /* Unix ms */
    const struct snapshot_scope *scopes;
    size_t n_scopes;
    /* Resources read; each must belong to one of the scopes. Borrowed. */
    struct resource *const *resources;
    size_t n_resources;
};

struct snapshot_stats {
    int64_t resources_seen;
    int64_t versions_written;
    int64_t tombstones;
};

/* Start a cycle record for a collector (or "scan"). */
int snapshot_cycle_begin(struct db *db, const char *collector, int64_t now_ms,
                         int64_t *ret_cycle_id, struct perr *err);

struct snapshot_cycle_end {
    const char *status; /* ok, partial, failed, abandoned */
    int64_t api_calls;
    int64_t throttled;
    int64_t errors;
    const json_t *unknown; /* array of {type, region, account, status, detail}; may be NULL */
};
/* Close the cycle, adding the batch statistics accumulated in stats. */
int snapshot_cycle_finish(struct db *db, int64_t cycle_id, const struct snapshot_cycle_end *end,
                          const struct snapshot_stats *stats, int64_t now_ms, struct perr *err);

/* Apply one batch in one transaction; stats are added to *stats. */
int snapshot_write(struct db *db, const struct snapshot_batch *batch, struct snapshot_stats *stats,
                   struct perr *err);

/* Reading. */
struct snapshot_filter {
    const char *type;    /* NULL = any */
    const char *region;  /* NULL = any */
    const char *account; /* NULL = any */
    bool include_deleted;
};

/* Call cb for each current resource matching filter, in key order.  The
 * resource is valid during the callback only.  cb returning < 0 stops the
 * walk and that value is returned. */
typedef int (*snapshot_resource_cb)(const struct resource *r, int64_t first_seen,
                                    int64_t changed_at, int64_t deleted_at, void *userdata);
int snapshot_foreach(struct db *db, const struct snapshot_filter *filter, snapshot_resource_cb cb,
                     void *userdata, struct perr *err);

/* Current document of one resource by key, or by ARN when key_or_arn
 * starts with "arn:", or by "type:id" (first match).  -ENOENT if absent. */
int snapshot_get(struct db *db, const char *key_or_arn, struct resource **ret, char **ret_key,
                 struct perr *err);

/* Versions of one resource, oldest first; r is NULL for a tombstone. */
typedef int (*snapshot_version_cb)(int64_t version_id, int64_t observed_at,
                                   const struct resource *r, void *userdata);
int snapshot_history(struct db *db, const char *key, snapshot_version_cb cb, void *userdata,
                     struct perr *err);

/* Coverage of (account, region, type): COLLECT_NOT_COLLECTED when never
 * tried.  detail (malloc'd, may be NULL) says why when not ok. */
int snapshot_coverage(struct db *db, const char *account, const char *region, const char *type,
                      enum collect_status *ret, char **ret_detail, struct perr *err);

#endif
