/* The drift engine: declared Terraform resources (table `declared`, written
 * by lib/statesrc) against the live estate (lib/snapshot), by the type
 * table (lib/typemap) and its comparison rules (lib/normalize).
 *
 * Matching.  A managed instance (data sources are never drifted) matches
 * the live resource of its type (declared aliases such as aws_alb count as
 * their type) whose id is typemap_live_id() of its attributes and whose
 * account and region equal the declared ones (a declared account or region
 * that could not be determined matches any).
 *
 * Categories:
 *   changed    matched, and normalize_compare() finds differences
 *   missing    declared, not live, and the (account, region, type) scope
 *              was read successfully; when it was not (or the scope is not
 *              known) the instance is UNKNOWN: listed in result->unknown,
 *              never missing
 *   unmanaged  live, declared nowhere, not an AWS-created default the type
 *              table excludes (unless include_defaults), not part of a
 *              declared parent (see relations), not .driftignore'd
 *   conflict   one live resource declared by several (source, address);
 *              reported instead of changed
 * .driftignore rules apply to resources (type and live id, and for
 * declared-only types the Terraform id) and to attribute paths.
 *
 * Relations (typemap relations): a parent whose inline attribute is also
 * declared through separate resources is not compared on that attribute.
 * Separate resources with a live document of their own (the S3 v4+
 * resources, aws_vpc_security_group_*_rule) are compared with it; those
 * without (aws_iam_role_policy, aws_iam_role_policy_attachment,
 * aws_security_group_rule) with the matching element of the parent's live
 * inline attribute, and are "missing" when no element matches.  Live
 * elements that no separate resource and no inline declaration covers are
 * reported as unmanaged resources of the separate type (a live
 * aws_vpc_security_group_*_rule document where the collector has one,
 * else a pseudo resource whose id is what `terraform import` takes).  The
 * live split documents of a parent that is declared without separate
 * resources (S3 v3-style inline blocks, security groups with inline rules)
 * are covered by the parent and never unmanaged.
 *
 * Severity (a proposal, documented in plumb(1)): missing high; changed
 * medium, high when a changed attribute (or its block) is read by a
 * baseline control; unmanaged low, medium for types some control reads;
 * conflict medium.
 *
 * Memory: the work is done family by family (a type with its aliases,
 * declared-only types and relation partners); a family's documents and
 * declarations are held as JSON text and parsed into trees only while one
 * of them is compared, so no estate, and no family, is ever held as JSON
 * trees at once.  The result holds the drift records, whose size is that
 * of the drift.  tests/bench/bench-diff measures it (100,000 resources).
 *
 * Runs on a database connection of the calling thread (the thread pool in
 * plumbd); nothing here logs. */
#ifndef PLUMB_DIFF_H
#define PLUMB_DIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "events.h"
#include "ignore.h"
#include "typemap.h"
#include "util.h"

struct diff_options {
    const struct typemap *tm;
    const struct ignore_set *ignore; /* may be NULL */
    bool include_defaults;           /* report AWS-created defaults as unmanaged */
    /* Only these types (canonical Terraform types); NULL = all. */
    char *const *types;
};

/* One drift item with what the CLI shows beyond struct drift_item. */
struct diff_record {
    struct drift_item item; /* strings point into this record */
    char *key;              /* events_drift_key(&item) */
    /* The Terraform address split: module path ("" for the root), resource
     * name and index key (a JSON number or string; NULL without one).  NULL
     * for unmanaged. */
    char *module;
    char *name;
    json_t *index_key;
    char *declared_type; /* as written in the state (aws_alb for aws_lb); NULL for unmanaged */
    /* owned storage behind item */
    char *s_resource_key, *s_type, *s_id, *s_arn, *s_account, *s_region, *s_address, *s_source;
    json_t *j_changes, *j_tags;
};

/* A declared instance whose drift cannot be decided. */
struct diff_unknown {
    char *source;
    char *address;
    char *type;
    char *id;
    char *account; /* may be NULL */
    char *region;  /* may be NULL */
    char *reason;  /* "aws_kms_key in 111111111111/eu-west-1: access_denied (kms:ListKeys)" */
};

struct diff_stats {
    int64_t declared;    /* managed instances considered */
    int64_t data;        /* data sources (not drifted) */
    int64_t unsupported; /* instances of types plumb does not collect */
    int64_t live;        /* live resources considered */
    int64_t matched;
    int64_t changed;
    int64_t missing;
    int64_t unmanaged;
    int64_t conflict;
    int64_t unknown;
    int64_t excluded; /* live defaults not reported (include_defaults off) */
    int64_t ignored;  /* dropped by .driftignore */
};

struct diff_result {
    struct diff_record *records; /* sorted by key */
    size_t n;
    struct drift_item *items;     /* n items, same order, for events_apply_drift() */
    struct diff_unknown *unknown; /* sorted by source, address */
    size_t n_unknown;
    json_t *unsupported_types; /* {"aws_route53_record": 12, ...} */
    struct diff_stats stats;
};

/* Compute the drift.  *ret is owned by the caller (diff_result_free()).
 * Errors: -ENOMEM, database errors (err says which query), -EINVAL for a
 * stored row that is not valid JSON (err names source and address). */
int diff_run(struct db *db, const struct diff_options *opts, struct diff_result **ret,
             struct perr *err);
struct diff_result *diff_result_free(struct diff_result *r);

/* diff_run() and events_apply_drift() in the caller's transaction, with
 * ectx's oracle for exceptions and diff_scope_ok() for what may resolve.
 * counts (may be NULL) gets changed, missing, unmanaged and conflict. */
int diff_apply(struct db *db, const struct diff_options *opts, struct events_ctx *ectx,
               int64_t counts[4], struct perr *err);

/* A record as the JSON object `plumb drift --output json` and the one-shot
 * scan print (without first_seen, which lives in the drift table): category,
 * type, declared_type, id, arn, address, module, name, index_key, source,
 * account, region, severity, resource_key, changes, tags.  New reference. */
json_t *diff_record_json(const struct diff_record *r);

/* For struct events_oracle.scope_ok on drift: whether (account, region,
 * type) was last read successfully (a NULL account or region: every
 * collected scope of the type in that account/region) and, when source is
 * not NULL, every document of the state source (NAME and NAME:*) was last
 * read successfully, or the source no longer exists.  Declared aliases
 * count as their type; declared-only types (aws_security_group_rule,
 * aws_iam_role_policy) as the type they are matched against. */
bool diff_scope_ok(struct db *db, const struct typemap *tm, const char *account, const char *region,
                   const char *type, const char *source);

/* What `plumb drift` lists: the open rows of the drift table. */
struct diff_filter {
    char *const *categories; /* changed, missing, unmanaged, conflict; NULL = all */
    const char *type;        /* Terraform type; NULL = any */
    const char *account;     /* NULL = any */
    const char *region;      /* NULL = any */
};

/* Open drift as a JSON array (new reference in *ret), most severe first,
 * then by category, type, id and address.  Each object: category, type,
 * id, arn, address, module, name, index_key (from the address, when tm
 * knows the type; null otherwise), source, account, region, severity,
 * first_seen, last_seen, updated_at (ISO 8601), resource_key, exception
 * (the covering exception's name, or null), changes ([{path, declared,
 * live}] for changed and conflict, else null) and tags.  tm may be NULL. */
int diff_list_open(struct db *db, const struct typemap *tm, const struct diff_filter *f,
                   json_t **ret, struct perr *err);

/* Split a Terraform address into module path, resource name and index key
 * given its type: "module.a[\"x\"].aws_s3_bucket.b[0]" -> "module.a[\"x\"]",
 * "b", 0.  Returns -EINVAL when type does not appear in it. */
int diff_split_address(const char *address, const char *type, char **ret_module, char **ret_name,
                       json_t **ret_index);

#endif
