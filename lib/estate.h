/* Read access to a collected estate, for the baseline evaluator.
 *
 * The evaluator never holds the estate in memory: it asks for the
 * resources of one type in one (account, region) at a time through a
 * struct estate_ops vtable, so a store-backed implementation can stream
 * rows and decode one document at a time.  This header also provides the
 * in-memory implementation used by tests and small tools (struct
 * estate_mem).
 *
 * Contract for every implementation:
 *  - callbacks receive borrowed pointers, valid only until the callback
 *    returns; a callback returning non-zero stops the iteration and that
 *    value is returned by the iterating function;
 *  - iterations may nest (the evaluator looks up flow logs while iterating
 *    VPCs), so an implementation must not reuse one cursor for both;
 *  - functions return 0 on success or a negative errno code, and never
 *    call the callback after failing. */
#ifndef PLUMB_ESTATE_H
#define PLUMB_ESTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "resource.h"

/* One (account, region) in scope of the evaluation.  region is never
 * RESOURCE_REGION_GLOBAL: the global pseudo-region is implicitly in scope
 * for every account that has at least one scope.  in_use says whether the
 * region holds at least one resource that is not an AWS-created default. */
struct estate_scope {
    const char *partition; /* "aws", "aws-cn", "aws-us-gov" */
    const char *account;
    const char *region;
    bool in_use;
};

typedef int (*estate_resource_cb)(const struct resource *r, void *userdata);
typedef int (*estate_scope_cb)(const struct estate_scope *s, void *userdata);

struct estate_ops {
    /* Every resource of type in (account, region), ordered by id.  region
     * is a real region or RESOURCE_REGION_GLOBAL. */
    int (*foreach_resource)(void *estate, const char *type, const char *account, const char *region,
                            estate_resource_cb cb, void *userdata);
    /* The resource of type with this id in (account, region): cb is called
     * once if it exists, never otherwise. */
    int (*get_resource)(void *estate, const char *type, const char *account, const char *region,
                        const char *id, estate_resource_cb cb, void *userdata);
    /* How the last collection of (account, region, type) went.  A scope
     * that was never collected is COLLECT_NOT_COLLECTED. */
    int (*coverage)(void *estate, const char *account, const char *region, const char *type,
                    enum collect_status *ret);
    /* Every (account, region) in scope, ordered by account then region. */
    int (*foreach_scope)(void *estate, estate_scope_cb cb, void *userdata);
    /* Whether resources of type live in RESOURCE_REGION_GLOBAL (IAM,
     * CloudFront, account settings) rather than in regions. */
    bool (*type_is_global)(void *estate, const char *type);
};

/* The in-memory estate.  Not thread-safe while being filled; once filled,
 * concurrent readers are fine after one call to estate_mem_seal(). */
struct estate_mem;

int estate_mem_new(struct estate_mem **ret);
struct estate_mem *estate_mem_free(struct estate_mem *m);
/* Add a resource; takes ownership of r on success only.  r->type,
 * r->account, r->region and r->id must be set (-EINVAL otherwise). */
int estate_mem_add(struct estate_mem *m, struct resource *r);
/* Record (or replace) the coverage of (account, region, type). */
int estate_mem_set_coverage(struct estate_mem *m, const char *account, const char *region,
                            const char *type, enum collect_status status);
/* Mark (account, region) ok for every type in types (NULL-terminated). */
int estate_mem_cover_all(struct estate_mem *m, const char *account, const char *region,
                         const char *const *types);
/* Add (or update) a scope.  region must not be RESOURCE_REGION_GLOBAL;
 * partition NULL means "aws". */
int estate_mem_add_scope(struct estate_mem *m, const char *partition, const char *account,
                         const char *region, bool in_use);
/* Declare type as global (its resources live in RESOURCE_REGION_GLOBAL). */
int estate_mem_add_global_type(struct estate_mem *m, const char *type);
/* Sort the indexes now instead of on the first query. */
int estate_mem_seal(struct estate_mem *m);
/* The vtable; pass the struct estate_mem as the estate pointer. */
const struct estate_ops *estate_mem_ops(void);

#endif
