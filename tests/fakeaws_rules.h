/* A fake AWS for collector unit tests (the security collectors'; see
 * tests/fakeaws.h for the other one): canned parsed outputs served through
 * the collector framework's transport (struct collect_transport), on a
 * private libuv loop, never from inside the call.
 *
 * Replies are rules, tried in order; the first whose operation (and
 * optional parameter match and region) fits a call answers it.  A page is
 *   "file:<path>"     a JSON file below tests/data/responses/ (parsed
 *                     outputs recorded from moto, or written from the
 *                     botocore output shape)
 *   "fixture:<path>"  a cloud-custodian placebo recording below
 *                     $PLUMB_FIXTURES/aws-responses/cloud-custodian-placebo/
 *                     (its "data" without ResponseMetadata, datetimes as
 *                     the ISO 8601 strings our parser produces)
 *   anything else     inline JSON
 * Every call is recorded (service, operation, region, parameters) so
 * tests can assert what a collector asked for and where. */
#ifndef PLUMB_FAKEAWS_RULES_H
#define PLUMB_FAKEAWS_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "collect.h"
#include "typemap.h"

#define FAKEAWS_MAX_PAGES 4

struct fakeaws_rule {
    const char *operation; /* NULL terminates the rules */
    /* NULL, or "Param=value": the request's top-level Param is that string
     * (or a list holding it, or a number/bool printing as it). */
    const char *match;
    const char *pages[FAKEAWS_MAX_PAGES];
    /* Set: the call fails with this error code (no pages). */
    const char *error_code;
    enum aws_error_kind kind;
    const char *iam_action;
    const char *region; /* NULL, or the only region this rule answers in */
    int max_uses;       /* 0 = unlimited; then the rule stops matching */
};

struct fakeaws_call {
    char *service;
    char *operation;
    char *region;
    json_t *params; /* a copy, {} when the request had none */
    bool matched;
    /* When it was made and answered, on one clock of events. */
    unsigned long issued, served;
};

struct fakeaws_pending;

struct fakeaws {
    uv_loop_t loop;
    uv_idle_t idle;
    const struct fakeaws_rule *rules;
    int *uses; /* per rule */
    struct fakeaws_pending *head, *tail;
    struct fakeaws_call *calls;
    size_t n_calls;
    size_t n_unmatched;
    unsigned long clock;
    const char *account; /* the account collected; NULL = 123456789012 */
};

/* Set up (the loop included); fakeaws_free() tears down. */
void fakeaws_init(struct fakeaws *f, const struct fakeaws_rule *rules);
void fakeaws_free(struct fakeaws *f);
struct collect_transport fakeaws_transport(struct fakeaws *f);

/* Load one page spec (see above); aborts the test when it cannot. */
json_t *fakeaws_load(const char *spec);

/* Calls made of an operation (any service), optionally matching "P=v". */
size_t fakeaws_count(const struct fakeaws *f, const char *operation, const char *match);
const struct fakeaws_call *fakeaws_find(const struct fakeaws *f, const char *operation,
                                        const char *match);

/* The most calls of these operations that were ever in flight at once. */
size_t fakeaws_max_in_flight(const struct fakeaws *f, const char *const *operations);

/* Run one collector to the end against the rules. */
struct fakeaws_result {
    struct collect_run *run;
    const struct collect_result *res;
};
void fakeaws_collect(struct fakeaws *f, const struct collector_def *def, const char *region,
                     const char *const *regions, struct fakeaws_result *out);
/* Free the run of fakeaws_collect(). */
void fakeaws_result_free(struct fakeaws_result *out);

const struct resource *fakeaws_resource(const struct collect_result *res, const char *type,
                                        const char *id);
size_t fakeaws_count_type(const struct collect_result *res, const char *type);
/* The scope of (region, type); aborts the test when there is none. */
const struct snapshot_scope *fakeaws_scope(const struct collect_result *res, const char *region,
                                           const char *type);

/* The type table consistency check: every attribute of r's type (nested
 * block attributes included, looked for in every element present) whose
 * source operation is one of ops must be present in r (attributes, or tags
 * for location "tags").  Returns NULL, or a malloc'd list of what is
 * missing ("rule[0].filter, tags"). */
char *fakeaws_missing(const struct typemap *tm, const struct resource *r, const char *const *ops);

/* A JSON value of an attribute path ("rule[0].expiration[0].days") of a
 * resource's attributes, or NULL. */
const json_t *fakeaws_attr(const struct resource *r, const char *path);

#endif
