/* The collector framework: table-driven collection of live resources.
 *
 * A collector (lib/collect_<service>.c) is mostly data: a list of "list
 * specs", each naming an AWS operation whose (paginated) output holds items
 * of one Terraform type, a function mapping one item to a struct resource,
 * and optional per-item "detail specs" (one more call per item, e.g.
 * GetBucketEncryption per bucket) that either merge into the item's document
 * or create a child resource of another type (aws_s3_bucket_versioning).
 * Odd cases (a CSV credential report, a region singleton) use a custom hook
 * with the same async helpers.
 *
 * One run covers one collector in one (account, region) — or once per
 * account for global services — and produces:
 *  - the resources read (struct resource, attributes named as in the type
 *    table lib/typemap.json), and
 *  - one scope per (account, region, type) the collector is responsible
 *    for, with how the read went.  A type whose list call failed is
 *    access_denied/throttled/error (UNKNOWN), never "empty".  A detail call
 *    that fails marks the attributes it would have filled as unknown on the
 *    resource (resource_mark_unknown), so the resource is kept, drift skips
 *    those attributes and the baseline says UNKNOWN.
 * Calls go through a transport vtable (the real AWS client, or a fake in
 * tests); everything runs on the loop, with bounded concurrency. */
#ifndef PLUMB_COLLECT_H
#define PLUMB_COLLECT_H

#include <jansson.h>
#include <stdbool.h>

#include "awsclient.h"
#include "resource.h"
#include "snapshot.h"

struct collect_run;

/* How calls are made: aws_call() for real, a fake for tests. */
struct collect_transport {
    int (*call)(void *transport, const struct aws_request *req, aws_page_cb page_cb,
                aws_done_cb done_cb, void *userdata, struct perr *err);
    void *transport;
};

/* Map one item of a list operation's output to a resource.  The resource
 * comes with partition/account/region/type/aws_type set; the function sets
 * id (required), arn, attributes and tags.  Return 0, 1 to skip the item
 * (e.g. a terminated instance), or < 0 on error (the item is skipped and the
 * scope becomes "error"). */
typedef int (*collect_map_fn)(struct collect_run *run, const json_t *item, struct resource *r);

/* Build the parameters of a detail call for a resource (new reference in
 * *ret; NULL params allowed).  Return 1 to skip the detail for this
 * resource (e.g. rotation status of an AWS-managed key). */
typedef int (*collect_params_fn)(struct collect_run *run, const struct resource *r, json_t **ret);
/* Merge a detail call's output into the resource (output is NULL when the
 * call ended with one of the spec's absent codes, i.e. "not configured").
 * For child specs, child is the new resource of the child type (id, arn
 * preset from the parent) to fill; return 1 to drop it (e.g. not
 * configured). */
typedef int (*collect_merge_fn)(struct collect_run *run, struct resource *parent,
                                struct resource *child, const json_t *output);

/* One more call per item.  It goes to the item's region as it stands when
 * the call is issued (the run's region for items stored as "global"). */
struct collect_detail {
    const char *operation; /* same service as the collector unless service set */
    const char *service;   /* NULL = the collector's */
    collect_params_fn params;
    collect_merge_fn merge;
    /* Error codes meaning "not configured" (merge gets NULL). */
    const char *const *absent_codes;
    /* Attributes this detail fills on the parent (marked unknown when the
     * call fails, for child details too: their merge may also fill inline
     * attributes of the parent); NULL-terminated. */
    const char *const *attrs;
    /* When set, the detail creates a resource of this type instead of
     * merging into the parent. */
    const char *child_type;
    const char *child_aws_type;
    bool all_pages;
    /* The details after this one in the array start for a resource only
     * once this one has finished for it (merged, absent, failed or skipped
     * by params), so its merge can set what they need: the region the
     * later calls go to (a bucket's location), or attributes their params
     * functions read (a KMS key's manager).  Details up to the first gate
     * start together, as do those between two gates. */
    bool gate;
};

struct collect_list {
    const char *type;     /* Terraform type of the items */
    const char *aws_type; /* may be NULL */
    const char *operation;
    const char *service; /* NULL = the collector's */
    /* Input parameters as JSON text (e.g. "{\"MaxResults\":1000}"), or NULL. */
    const char *params;
    /* Where the items are in each page: a path of member names with "[]"
     * flattening lists, e.g. "Reservations[].Instances[]", "Buckets[]". */
    const char *items;
    bool all_pages;
    /* Items carry their own region although the list is global (S3
     * buckets): a successful list then covers the type in every scanned
     * region (collect_options.regions). */
    bool regional_items;
    collect_map_fn map;
    const struct collect_detail *details; /* NULL-terminated by operation == NULL */
};

struct collector_def {
    const char *name;    /* config name: "ec2", "s3", ... */
    const char *service; /* botocore service name */
    /* Global services run once per account, in the partition's home region
     * (us-east-1 for aws), and store resources with region "global" unless
     * the map function sets another (S3 buckets carry their own region). */
    bool global;
    const struct collect_list *lists; /* terminated by type == NULL */
    /* Types the collector is responsible for (scopes), beyond the lists'
     * own: child types and custom-hook types.  NULL-terminated. */
    const char *const *extra_types;
    /* Custom part, run after the lists are started; it must call
     * collect_custom_done() exactly once (or return < 0). */
    int (*custom)(struct collect_run *run);
    /* IAM actions the collector needs (for `plumb doctor` and the
     * documented policy), NULL-terminated: "ec2:DescribeInstances". */
    const char *const *iam_actions;
};

/* Registry of every collector, NULL-terminated; defined in collectors.c. */
extern const struct collector_def *const collector_registry[];
const struct collector_def *collector_find(const char *name);

struct collect_options {
    const struct collect_transport *transport;
    const char *partition;
    const char *account;
    const char *region; /* the region scanned; global collectors: the home region */
    /* Every region scanned in this account (for regional_items lists). */
    const char *const *regions;
    struct aws_stats *stats;
    unsigned max_in_flight; /* detail calls in flight per run; 0 = 4 */
    int64_t now_ms;
};

/* Outcome of a run: resources and scopes, owned by the run. */
struct collect_result {
    struct resource_list resources;
    struct snapshot_scope *scopes;
    size_t n_scopes;
    int64_t items_skipped;
};

typedef void (*collect_done_fn)(struct collect_run *run, const struct collect_result *result,
                                void *userdata);

/* Start a run; done is called once, from the loop — or before
 * collect_start returns when not a single call could be issued (every scope
 * then reports the error).  Returns < 0 (and never calls done) only when the
 * run could not be set up at all. */
int collect_start(const struct collector_def *def, const struct collect_options *opts,
                  collect_done_fn done, void *userdata, struct collect_run **ret, struct perr *err);
/* Cancel pending calls; done still comes, with the affected scopes in
 * error. */
void collect_cancel(struct collect_run *run);
/* Free a finished run (after done), including its result. */
void collect_run_free(struct collect_run *run);
/* Move the resources out of a finished run (the caller owns them). */
void collect_take_resources(struct collect_run *run, struct resource_list *into);

/* For map/merge/custom functions. */
const struct collect_options *collect_options(const struct collect_run *run);
const struct collector_def *collect_def(const struct collect_run *run);
/* Add a resource built by custom code (takes ownership). */
int collect_add(struct collect_run *run, struct resource *r);
/* New resource for this run's partition/account/region. */
int collect_new_resource(struct collect_run *run, const char *type, const char *aws_type,
                         const char *id, struct resource **ret);
/* Record how reading one type went (custom code; lists do it themselves). */
void collect_scope_status(struct collect_run *run, const char *type, enum collect_status status,
                          const char *detail);
/* Issue a call from custom code, in the run's region; the run waits for
 * it.  done gets the output of the (last) page.  done may issue more calls
 * and may call collect_custom_done(): the run finishes (and its done
 * callback runs) only after done has returned. */
typedef void (*collect_call_done)(struct collect_run *run, int result, const json_t *output,
                                  const struct aws_error *err, void *userdata);
int collect_call(struct collect_run *run, const char *service, const char *operation,
                 const json_t *params, bool all_pages, aws_page_cb page_cb, collect_call_done done,
                 void *userdata);
void collect_custom_done(struct collect_run *run);

/* Mapping helpers for map/merge functions. */
/* Copy item[src] (any JSON) to attrs[dst] when present. */
int collect_copy(json_t *attrs, const char *dst, const json_t *item, const char *src);
/* AWS tag lists ([{"Key","Value"}] or [{"key","value"}]) to a JSON object. */
json_t *collect_tags_from_list(const json_t *list);
/* Items at a path like "Reservations[].Instances[]" (new array). */
json_t *collect_items(const json_t *output, const char *path);
/* Translate an AWS error into the collection status it means. */
enum collect_status collect_status_of(const struct aws_error *err);
/* The detail the framework records with a failed read (malloc'd, NULL on
 * -ENOMEM): the IAM action of an access denial, else "Code: message", else
 * strerror(-result).  For custom code reporting its own scopes. */
char *collect_error_detail(int result, const struct aws_error *err);

#endif
