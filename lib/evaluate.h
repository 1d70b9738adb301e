/* Baseline evaluation: the predicate language and the evaluator.
 *
 * Predicates are JSON (documented in etc/baseline/README.md) compiled once
 * at load time into a tree (struct pred) with parameters substituted and
 * attribute paths split, so evaluating a resource walks C structures and
 * never parses JSON (except policy documents, which are data).
 *
 * Logic is three-valued: a predicate is true, false or unknown.  Unknown
 * comes from missing data (the attribute is in the resource's "unknown"
 * map, is absent where a value is needed, or the coverage of a related
 * type is not ok) and propagates like SQL NULL (Kleene logic), so missing
 * data never turns into PASS or FAIL by accident.
 *
 * The evaluator reads the estate through struct estate_ops (estate.h) one
 * (account, region, type) at a time and produces findings control by
 * control. */
#ifndef PLUMB_EVALUATE_H
#define PLUMB_EVALUATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "controls.h"
#include "estate.h"
#include "resource.h"
#include "util.h"

/* Nesting limit of predicates and of attribute paths. */
#define EVALUATE_MAX_DEPTH 32
/* Details are cut at this many bytes (with "..."). */
#define EVALUATE_DETAIL_MAX 320
/* Policy documents larger than this are not parsed (UNKNOWN). */
#define EVALUATE_POLICY_MAX (128u * 1024)

/* Compile def.  params is the object of parameter values ({"param": name}
 * operands are replaced by them; may be NULL).  where names def in error
 * messages ("evaluation"), which read "<where>.all[1]: unknown operator
 * 'equals'".  Returns 0 or -EINVAL / -ENOMEM. */
int evaluate_compile(const json_t *def, const json_t *params, const char *where, struct pred **ret,
                     struct perr *err);
struct pred *evaluate_pred_free(struct pred *p);

enum finding_status {
    FINDING_PASS,
    FINDING_FAIL,
    FINDING_NOT_APPLICABLE,
    FINDING_UNKNOWN,
};
/* "PASS", "FAIL", "NOT_APPLICABLE", "UNKNOWN". */
const char *finding_status_name(enum finding_status s);

/* One result.  The struct and all its strings are one allocation: free
 * it with finding_free() and do not replace or free the strings
 * individually (scalar fields may be changed). */
struct finding {
    const struct control *control; /* borrowed from the catalogue */
    enum finding_status status;
    /* The control's severity, or low for a FAIL downgraded by warn_if. */
    enum control_severity severity;
    bool warning;    /* FAIL downgraded by the control's warn_if */
    char *partition; /* "aws" */
    char *account;
    char *region; /* a region or RESOURCE_REGION_GLOBAL */
    /* The resource: a Terraform type and id, or "region" + region name,
     * or "account" + account id for region/account findings and for
     * collection gaps. */
    char *resource_type;
    char *resource_id;
    char *aws_type; /* "AWS::RDS::DBInstance", may be NULL */
    char *arn;      /* may be NULL */
    char *detail;   /* short, human; never NULL (may be empty for PASS) */
    int64_t time;   /* evaluation time, Unix ms */
    /* When this (control, resource) was first seen failing or passing:
     * filled from the store by the caller; 0 means "now" (== time). */
    int64_t first_seen;
};
struct finding *finding_free(struct finding *f);
/* Deep copy (control stays borrowed); f may be a caller-built struct with
 * borrowed strings.  NULL on OOM. */
struct finding *finding_copy(const struct finding *f);

typedef int (*evaluate_finding_cb)(const struct finding *f, void *userdata);

/* An evaluator over one estate at one point in time.  It reads the list
 * of scopes once when created. */
struct evaluate;
int evaluate_new(const struct estate_ops *ops, void *estate, int64_t now_ms, struct evaluate **ret,
                 struct perr *err);
struct evaluate *evaluate_free(struct evaluate *ev);

/* Evaluate one control (disabled controls produce nothing) and call cb for
 * each finding, after the whole control has been evaluated: on failure cb
 * has not been called.  A non-zero return from cb stops the delivery and
 * is returned.  Memory: the findings of one control are held until
 * delivered. */
int evaluate_control(struct evaluate *ev, const struct control *c, evaluate_finding_cb cb,
                     void *userdata, struct perr *err);
/* evaluate_control for every control in order.  On failure, the findings
 * of the controls before the failing one have been delivered. */
int evaluate_catalogue(struct evaluate *ev, const struct catalogue *cat, evaluate_finding_cb cb,
                       void *userdata, struct perr *err);

/* Evaluate a compiled predicate against one resource (relations are
 * looked up in ev's estate).  *ret_value is 1 (true), 0 (false) or -1
 * (unknown); detail (may be NULL, size >= 1) receives the explanation.
 * For tools and tests. */
int evaluate_pred(struct evaluate *ev, const struct pred *p, const struct resource *r,
                  int *ret_value, char *detail, size_t detail_size, struct perr *err);

#endif
