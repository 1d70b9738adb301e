/* A fake AWS for collector unit tests: canned parsed outputs (recorded
 * from moto, or written from the botocore output shapes where moto lacks a
 * service) served through a struct collect_transport, with every call
 * recorded; plus the type-table consistency check.
 *
 * Response files live in tests/data/responses/<service>/ (see README.md
 * there); a page given as text starting with '{' is inline JSON. */
#ifndef PLUMB_FAKEAWS_H
#define PLUMB_FAKEAWS_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "collect.h"

struct fake_reply {
    const char *op;
    /* JSON object the request parameters must contain (members compared
     * with json_equal), or NULL for any. */
    const char *params;
    /* Pages: files below tests/data/responses/ or inline JSON.  Calls
     * without AWS_CALL_ALL_PAGES get the first page only. */
    const char *pages[4];
    const char *error; /* set: the call fails with this code ... */
    enum aws_error_kind kind;
    const char *iam_action; /* ... and, for access denied, this action */
};

struct fake_call_rec {
    char op[64];
    char region[32];
    json_t *params; /* copy, may be NULL */
    bool all_pages;
};

struct fake_run {
    uv_loop_t loop;
    uv_idle_t idle;
    const struct fake_reply *replies;
    struct fake_queued *head, *tail;
    struct fake_call_rec calls[256];
    int n_calls;
    int unmatched;    /* calls no reply matched (refused synchronously) */
    int cancel_after; /* > 0: collect_cancel() after this many served calls */
    int served;
    int pending;     /* accepted, not yet answered */
    int max_pending; /* the most calls ever in flight at once */
    struct collect_run *run;
    const struct collect_result *res;
    bool done;
};

/* Run def in account 111111111111, partition aws, the given region
 * (regions: NULL or a NULL-terminated list of every scanned region),
 * max_in_flight 2, now 1000 ms, until it is done. */
void fake_collect(struct fake_run *fr, const struct collector_def *def,
                  const struct fake_reply *replies, const char *region, const char *const *regions);
/* Free the run and the loop. */
void fake_end(struct fake_run *fr);

const struct resource *fake_find(const struct fake_run *fr, const char *type, const char *id);
size_t fake_count(const struct fake_run *fr, const char *type);
/* The scope of type (in region, or the only one when region is NULL);
 * fails the test when there is none. */
const struct snapshot_scope *fake_scope(const struct fake_run *fr, const char *type,
                                        const char *region);
/* Number of calls of op, and the parameters of the n-th (0-based). */
int fake_calls(const struct fake_run *fr, const char *op);
const json_t *fake_call_params(const struct fake_run *fr, const char *op, int n);
const struct fake_call_rec *fake_call_at(const struct fake_run *fr, const char *op, int n);

/* A response file below tests/data/responses/ (new reference). */
json_t *fake_load(const char *rel);

/* Attribute value helpers: attrs[path] with "a.b" and "a[0].b" steps. */
const json_t *fake_attr(const struct resource *r, const char *path);
const char *fake_str(const struct resource *r, const char *path);

/* The type-table consistency check for one resource built from a fully
 * populated response.  outputs maps every operation the collector called
 * for it to that operation's (full) output.  Every attribute the type
 * table reads from one of those operations must be present and not null
 * (blocks non-empty, recursively on their first element; tags non-empty);
 * top-level scalars must equal a value the table's member path reaches in
 * that output, except the attributes named in derived (NULL-terminated,
 * may be NULL), whose values the collector computes. */
void fake_check_typemap(const struct resource *r, const json_t *outputs,
                        const char *const *derived);

#endif
