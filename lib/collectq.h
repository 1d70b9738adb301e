/* A call queue for the custom part of a collector (collector_def.custom).
 *
 * Some collections do not fit the list/detail tables of lib/collect.h:
 *  - operations botocore has no paginator for (athena ListWorkGroups,
 *    backup ListReportPlans, events ListEventBuses) are paged here by
 *    their token members;
 *  - a call per item that yields many resources of another type (targets
 *    per EventBridge rule, recovery points per backup vault) must make that
 *    whole type UNKNOWN when it fails, or the resources it would have
 *    listed would be tombstoned;
 *  - "not configured" answers of a list call (Security Hub off, an
 *    alternate contact never set) are absent codes, not failures.
 * A collectq runs such calls through collect_call() with at most
 * collect_options.max_in_flight (default 4) in flight, in the order added,
 * lets page handlers add further calls, and ends the run's custom part
 * (collect_custom_done) once the creator has released it and the last
 * call is over.
 *
 * Ownership: the queue frees itself after collect_custom_done(); every
 * pointer it hands to callbacks is borrowed for the callback's duration. */
#ifndef PLUMB_COLLECTQ_H
#define PLUMB_COLLECTQ_H

#include <jansson.h>
#include <stdbool.h>

#include "collect.h"

struct collectq;

/* One page of output.  Return 0, or < 0 to end the call as failed (the
 * fail handler then gets COLLECT_ERROR). */
typedef int (*collectq_page_fn)(struct collectq *q, const json_t *output, void *ud);
/* The call failed (after its absent codes, which end a call like an empty
 * success): status and detail as for scopes (detail is the IAM action for
 * access denied, else "Code: message").  Pages already delivered stay
 * delivered. */
typedef void (*collectq_fail_fn)(struct collectq *q, enum collect_status status, const char *detail,
                                 void *ud);

/* The call ended well: every page delivered, or an absent code. */
typedef void (*collectq_ok_fn)(struct collectq *q, void *ud);

struct collectq_req {
    const char *service; /* NULL: the collector's */
    const char *operation;
    json_t *params; /* reference stolen, also on failure; NULL: none */
    /* Follow the model's paginator (AWS_CALL_ALL_PAGES) ... */
    bool all_pages;
    /* ... or page by hand: while the output member out_token is a
     * non-empty string, call again with the input member in_token set to
     * it (same token twice fails the call). */
    const char *in_token;
    const char *out_token;
    const char *const *absent_codes; /* NULL-terminated, may be NULL */
    collectq_page_fn page;           /* required */
    collectq_ok_fn ok;               /* may be NULL */
    collectq_fail_fn fail;           /* may be NULL */
    void *ud;
    /* Called with ud once the call is over (not when collectq_add fails). */
    void (*ud_free)(void *ud);
};

/* Create the queue for this run's custom part.  The caller holds it until
 * collectq_release(). */
int collectq_new(struct collect_run *run, struct collectq **ret);
/* Queue a call.  Returns 0, -EINVAL (no operation or page handler) or
 * -ENOMEM; on failure params is released and ud stays the caller's. */
int collectq_add(struct collectq *q, const struct collectq_req *req);
/* Drop the creator's hold: calls run on; when none is left the custom
 * part is done and the queue freed (possibly before this returns). */
void collectq_release(struct collectq *q);
struct collect_run *collectq_run(const struct collectq *q);

/* Mark a resource's tags as not read: for types whose tags take one more
 * call per resource, which the collectors skip (no control reads tags);
 * drift then leaves the tags alone instead of seeing them removed. */
int collectq_tags_not_read(struct resource *r);

/* The status and detail an AWS failure maps to (detail malloc'd; NULL on
 * out of memory): the IAM action for access denied, "Code: message" when
 * AWS answered, "cancelled", else the errno text. */
enum collect_status collectq_status(int result, const struct aws_error *err, char **ret_detail);

#endif
