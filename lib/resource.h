/* The canonical document for one live AWS resource, as collected.
 *
 * Every collector (AWS Config or describe APIs) produces these; the store
 * hashes them to keep one version per change; the drift engine and the
 * baseline read them back.  Attribute names follow the Terraform AWS
 * provider (v5) where the type has a Terraform equivalent, so drift compares
 * like with like; see doc/resource-types.md for every type's attributes.
 *
 * Ownership: a struct resource owns all of its strings and JSON values. */
#ifndef PLUMB_RESOURCE_H
#define PLUMB_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* Region used for resources of global services (IAM, CloudFront, the
 * account itself). */
#define RESOURCE_REGION_GLOBAL "global"

/* How a collection attempt went, for a whole (account, region, type) or for
 * some attributes of one resource. */
enum collect_status {
    COLLECT_OK = 0,
    COLLECT_ACCESS_DENIED,
    COLLECT_THROTTLED,
    COLLECT_ERROR,
    COLLECT_NOT_COLLECTED, /* collector disabled or not run yet */
};
const char *collect_status_name(enum collect_status s);
int collect_status_from_name(const char *name, enum collect_status *ret);

struct resource {
    char *partition; /* "aws", "aws-cn", "aws-us-gov" */
    char *account;   /* 12-digit account id */
    char *region;    /* "eu-central-1" or RESOURCE_REGION_GLOBAL */
    char *type;      /* Terraform type ("aws_s3_bucket") or a plumb_* pseudo type */
    char *aws_type;  /* CloudFormation/Config type ("AWS::S3::Bucket"), may be NULL */
    char *id;        /* the id Terraform imports it by */
    char *arn;       /* may be NULL */
    json_t *attrs;   /* JSON object, never NULL */
    json_t *tags;    /* JSON object of string values, never NULL */
    /* Attributes that could not be read, with why:
     * {"policy": "access_denied:s3:GetBucketPolicy"}.  Never NULL. */
    json_t *unknown;
    char *source;         /* "config" or "describe" */
    int64_t collected_at; /* Unix ms */
};

/* Allocate an empty resource (attrs/tags/unknown are empty objects). */
int resource_new(struct resource **ret);
/* Convenience: allocate and set the identity fields (copied). */
int resource_new_with(const char *partition, const char *account, const char *region,
                      const char *type, const char *aws_type, const char *id, const char *arn,
                      struct resource **ret);
struct resource *resource_free(struct resource *r);

/* "account/region/type/id": the primary key of a resource in the store.
 * malloc'd, NULL on OOM. */
char *resource_key(const struct resource *r);
char *resource_key_make(const char *account, const char *region, const char *type, const char *id);

/* Canonical JSON document (new reference).  Contains every field above
 * except collected_at and source, which are collection metadata and must
 * not make an unchanged resource look changed. */
json_t *resource_to_json(const struct resource *r);
/* Rebuild from resource_to_json() output (plus optional "source" and
 * "collected_at" members). */
int resource_from_json(const json_t *doc, struct resource **ret);
/* Serialised canonical form (sorted keys, compact) and its SHA-256. */
char *resource_canonical(const struct resource *r);
int resource_hash(const struct resource *r, unsigned char out[SHA256_LEN]);

/* Mark an attribute as unreadable (status + detail such as the IAM action). */
int resource_mark_unknown(struct resource *r, const char *attr, enum collect_status status,
                          const char *detail);

/* A growable list of resources, owning its elements. */
struct resource_list {
    struct resource **items;
    size_t n;
    size_t cap;
};
void resource_list_init(struct resource_list *l);
/* Takes ownership of r on success. */
int resource_list_push(struct resource_list *l, struct resource *r);
void resource_list_clear(struct resource_list *l);

#endif
