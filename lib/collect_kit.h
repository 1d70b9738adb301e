/* Building blocks for collectors whose types do not fit the list/detail
 * tables of lib/collect.h: joins of several listings (instances with their
 * volumes), one call yielding several types (security group rules split
 * into ingress and egress), children that come many per parent (API stages,
 * load balancer listeners) and batched calls (tags of 20 resources at a
 * time).
 *
 * Two parts:
 *
 *  - Field tables (struct ck_field): how each attribute of a document is
 *    derived from an AWS item, including Terraform's nested blocks (a
 *    nested object becomes a list of one object, an absent one an empty
 *    list).  ck_map() applies a table.
 *
 *  - A call queue for a collector's custom hook (struct ck): calls go
 *    through collect_call() with at most collect_options.max_in_flight
 *    (default 4) in flight; every page's items at an item path are gathered
 *    into one array that the reply callback receives with the outcome.  When
 *    the queue drains, the idle callback runs; it may queue more calls (a
 *    next phase) or finish, after which the queue frees itself and calls
 *    collect_custom_done().
 *
 * Everything runs on the loop thread of the collector run.  Nothing here
 * logs or keeps global state. */
#ifndef PLUMB_COLLECT_KIT_H
#define PLUMB_COLLECT_KIT_H

#include <jansson.h>
#include <stdbool.h>

#include "collect.h"

/* ---- field tables ---- */

enum ck_how {
    CK_COPY = 0, /* the value at path; null when absent */
    CK_OR_EMPTY, /* the value; "" when absent (Terraform's unset string) */
    CK_OR_ZERO,  /* the value; 0 when absent */
    CK_OR_FALSE, /* the value; false when absent */
    CK_LIST,     /* path with "[]" steps: the values found, [] when none */
    CK_PRESENT,  /* true when a non-empty value is present, else false */
    CK_BLOCK,    /* object -> [ {nested} ], absent -> [] */
    CK_BLOCKS,   /* list of objects -> [ {nested}, ... ], absent -> [] */
    CK_STRBOOL,  /* optional bool as Terraform keeps it: "true"/"false"/"" */
    CK_TAGMAP,   /* [{"Key","Value"}] -> {"k": "v"}; absent -> {} */
    CK_CONV,     /* conv(value at path or NULL) */
};

/* A conversion: new reference from the value found (NULL when absent), or
 * NULL on out of memory. */
typedef json_t *(*ck_conv_fn)(const json_t *value);

struct ck_field {
    const char *attr; /* attribute name; NULL ends a table */
    const char *path; /* member path: "A.B", "A[].B"; NULL = the item itself */
    enum ck_how how;
    const struct ck_field *nested; /* CK_BLOCK, CK_BLOCKS */
    ck_conv_fn conv;               /* CK_CONV */
};

/* Set every attribute of the table in obj from item.  Returns 0 or
 * -ENOMEM. */
int ck_map(json_t *obj, const json_t *item, const struct ck_field *fields);
/* One block element: a new object built by the table (NULL on OOM). */
json_t *ck_object(const json_t *item, const struct ck_field *fields);
/* The value at a dotted path ("Placement.AvailabilityZone"); borrowed, NULL
 * when absent.  NULL path = item. */
const json_t *ck_get(const json_t *item, const char *path);
/* The string at path, or NULL. */
const char *ck_str(const json_t *item, const char *path);
/* Set obj[key] = value (stolen); value NULL means out of memory. */
int ck_set(json_t *obj, const char *key, json_t *value);
/* Set obj[key] to a string, or null when s is NULL. */
int ck_set_str(json_t *obj, const char *key, const char *s);

/* Common conversions. */
json_t *ck_conv_last_segment(const json_t *value); /* "a/b/c" -> "c" */
json_t *ck_conv_first(const json_t *value);        /* list -> first element or null */
json_t *ck_conv_bool_text(const json_t *value);    /* "true"/"false" -> bool, else null */
json_t *ck_conv_int_text(const json_t *value);     /* "60" -> 60, else null */
json_t *ck_conv_csv_list(const json_t *value);     /* "a,b" -> ["a","b"], absent -> [] */
json_t *ck_conv_object(const json_t *value);       /* the object, {} when absent */

/* Mark attributes of r as not read (removed from attrs/tags and recorded in
 * r->unknown with status and detail).  "tags" means r->tags.  attrs is
 * NULL-terminated. */
int ck_unknown(struct resource *r, const char *const *attrs, enum collect_status status,
               const char *detail);
/* Same for one attribute. */
int ck_unknown1(struct resource *r, const char *attr, enum collect_status status,
                const char *detail);

/* New resource of the run (id and arn copied; arn may be NULL) with the
 * "arn" attribute set when with_arn_attr.  The caller adds it with
 * collect_add() or frees it. */
int ck_resource(struct collect_run *run, const char *type, const char *aws_type, const char *id,
                const char *arn, bool with_arn_attr, struct resource **ret);
/* collect_add(), freeing r when that fails. */
int ck_add(struct collect_run *run, struct resource *r);

/* ---- the call queue ---- */

struct ck;

struct ck_reply {
    int result;                 /* 0, or < 0 when the call failed */
    bool absent;                /* failed with one of the absent codes */
    enum collect_status status; /* failure: how the read went */
    const char *detail;         /* failure: IAM action or error text */
    json_t *items;              /* items of every page (an array, possibly empty) */
    const json_t *output;       /* the last page; NULL when there was none */
};

typedef void (*ck_reply_fn)(struct ck *ck, const struct ck_reply *reply, void *userdata);
/* Return true when more calls were queued (a next phase), false when the
 * work is finished (the callback has released its own state then). */
typedef bool (*ck_idle_fn)(struct ck *ck, void *userdata);

struct ck_request {
    const char *service; /* NULL = the collector's */
    const char *operation;
    json_t *params;    /* stolen by ck_call (even on failure); may be NULL */
    const char *items; /* item path ("Reservations[].Instances[]"); NULL = none */
    bool all_pages;
    const char *const *absent_codes; /* NULL-terminated, may be NULL */
};

int ck_new(struct collect_run *run, struct ck **ret);
/* Queue a call; reply is called exactly once, later (never from ck_call
 * itself).  Returns 0 or -ENOMEM (then reply is never called). */
int ck_call(struct ck *ck, const struct ck_request *req, ck_reply_fn reply, void *userdata);
/* Start the queue; idle runs whenever nothing is queued or in flight.  Once
 * idle returns false, ck is freed and collect_custom_done() called. */
void ck_run(struct ck *ck, ck_idle_fn idle, void *userdata);
/* Free a queue that was never run (nothing queued). */
void ck_free(struct ck *ck);
struct collect_run *ck_collect_run(const struct ck *ck);

/* A reply kept for later (joins): the items and outcome of one or more
 * calls (a batch split into several calls fails as a whole when one
 * fails). */
struct ck_slot {
    unsigned calls; /* calls queued into the slot */
    bool failed;
    bool absent; /* a call ended with one of its absent codes */
    enum collect_status status;
    char *detail;
    json_t *items;  /* all items of all calls (array) */
    json_t *output; /* last page of the last call, or NULL */
};
void ck_slot_init(struct ck_slot *s);
void ck_slot_clear(struct ck_slot *s);
/* Queue a call whose reply is kept in slot. */
int ck_call_slot(struct ck *ck, const struct ck_request *req, struct ck_slot *slot);
/* True when every call of the slot succeeded (and there was at least one). */
bool ck_slot_ok(const struct ck_slot *s);

/* How an AWS error reads in scope details and unknown markers: the IAM
 * action for a denial, "Code: message" otherwise, strerror without an
 * error.  malloc'd (NULL on OOM). */
char *ck_error_detail(int result, const struct aws_error *err);

#endif
