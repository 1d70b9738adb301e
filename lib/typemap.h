/* The type table: the contract between the collectors, the drift engine and
 * the baseline.
 *
 * lib/typemap.json (embedded into the binary; lib/typemap.md is its
 * generated index) lists every resource type plumb collects: its Terraform
 * AWS provider v5 type name (or a plumb_* pseudo type for data Terraform has
 * no resource for), the CloudFormation/AWS Config type, the botocore service
 * and the collector module that delivers it, how the live id is formed and
 * how a declared Terraform instance's attributes map to it, how the ARN is
 * built, and every attribute the live document carries, named exactly as
 * Terraform stores it in state, with where it is read from and how drift
 * compares it.
 *
 * Format (format 1).  The top level is {"format": 1, "types": [...],
 * "relations": [...]}; unknown keys anywhere are errors, so a typo never
 * silently drops a rule.  A type:
 *
 *   type            "aws_instance" / "plumb_iam_credential_report"
 *   aws_type        "AWS::EC2::Instance" or null (unique across the table)
 *   service         botocore service name ("ec2", "elbv2", "s3control")
 *   collector       collector module ("collect_ec2"), null for declared_only
 *   scope           regional | global (region "global") | region_singleton
 *                   (at most one per account and region) | account_singleton
 *   config          null, or {"type": "AWS::EC2::Instance", "mirrors": OP,
 *                   "case": "lower"|"as_is"|"upper"}: AWS Config records it;
 *                   the Config item's configuration mirrors OP's item with the
 *                   member names re-cased (default "lower": first letter
 *                   lower-cased), so an attribute read from OP has a derived
 *                   Config path unless it gives "config" itself
 *   declared_only   true: Terraform-only type matched against another type's
 *                   live document (aws_security_group_rule, aws_iam_role_policy)
 *   declared_aliases Terraform types that declare the same thing
 *                   (aws_alb -> aws_lb, aws_default_vpc -> aws_vpc)
 *   unmanaged       false: never reported as unmanaged (plumb_* data)
 *   parent          {"type", "attr"}: attr holds the parent's live id
 *   id              {"live": text, "import": text, "from": "Op:Path",
 *                   "state": [TEMPLATE | {"if": PRED, "template": TEMPLATE}],
 *                   "match": type, "region": [TEMPLATE]}: the state
 *                   templates, tried in order, build the live id from a
 *                   declared instance's attributes; "match" names the type
 *                   whose live id they build when it is not the type itself
 *                   (declared_only types); "region" templates give the
 *                   instance's region where its ARN does not (singletons whose
 *                   id is the region, S3 buckets)
 *   arn             null, or {"template": "arn:{partition}:...:{id}",
 *                   "from": "Op:Path", "csv_column", "note"}
 *   operations      {"Op": "item root path"}: every API operation the type is
 *                   read with and where its items sit in the output
 *                   ("Reservations[].Instances[]", "" for the output itself)
 *   attributes      {name: ATTR}
 *   unmanaged_exclude [{"reason": text, "when": PRED}]
 *   filter          {"from": "Op:Path", "eq": value, "note"}: the items of Op
 *                   that are of this type (IsEgress false: ingress rules)
 *   note, note2     free text
 *
 * An attribute:
 *
 *   kind            string | number | bool | list | set | map | object
 *   from            "Op:Path" (Path relative to the op's item root), a Path
 *                   relative to the parent attribute's source (nested), a list
 *                   of those (alternatives), or null (derived, see note).
 *                   Paths use botocore member names: "A.B", "A[]" (list
 *                   element), "A{}" (map value), "A[\"k\"]" (one map key)
 *   select          {"Member": "value"}: the list element whose Member equals
 *                   value (key/value attribute lists)
 *   csv_column      column of a CSV document (credential report)
 *   config          Config item path, or null when the Config item lacks it;
 *                   nested paths are relative to the parent's
 *   config_verified false: the path is not in the published Config schema
 *   compare         exact | set (unordered scalars) | set_of_objects (with
 *                   optional "key": [nested attribute names]; no key = whole
 *                   element) | policy_json (semantic JSON/IAM policy) | tags
 *                   (declared tags_all, including provider default_tags,
 *                   against the live tags) | arn (equal when both name the
 *                   same resource, ARN or bare id) | case_insensitive |
 *                   computed (never compared) | default:<value> (exact, an
 *                   absent value on either side counts as <value>; <value> is
 *                   a JSON scalar or else a bare string, "default:" = "")
 *   location        "tags": the value lives in resource.tags, not attrs
 *   plumb_only      true: not a Terraform attribute (then compare computed)
 *   max_items       1 for Terraform's single nested blocks (list of one)
 *   attributes      nested block element attributes (list/set/map/object)
 *   controls        baseline control ids reading this attribute
 *   note            free text
 *
 * Only listed attributes are compared: declared attributes the table does
 * not list (Terraform-only arguments such as force_destroy, skip_final_snapshot
 * or password, the provider v6 "region" argument, timeouts) are ignored.
 *
 * Nested blocks are lists of objects as Terraform stores them
 * (metadata_options[0].http_tokens).  A block compared "exact" is compared
 * element by element in order, each element attribute with its own rule;
 * "set_of_objects" matches elements by key first.
 *
 * Predicates (PRED, used by unmanaged_exclude, "if" and relations):
 *   {"attr": PATH, OP: VALUE} where PATH is an attribute path
 *   ("versioning_configuration[0].status", "[*]" = any element) or one of
 *   @id @arn @region @account; OP is eq, ne, in (a list; null in it matches
 *   an absent value), prefix, suffix, contains, exists (bool);
 *   {"tag": KEY, OP: VALUE} on the resource's tags; {"parent": "excluded" |
 *   "excluded_or_unmanaged"} on the parent's status as the caller knows it;
 *   {"all": [PRED...]}, {"any": [PRED...]}, {"not": PRED}.
 *
 * Templates: "{attr}" or "{attr|filter|...}" with the filters lower,
 * last_segment (after the last '/'), first_csv (before the first ','),
 * before_colon (before the first ':').  id.state templates read the declared
 * attributes ("id" is always allowed); arn templates also know {partition},
 * {region}, {account} and {id} (the live id).  A template whose attribute is
 * absent, null or empty does not apply.
 *
 * Relations: [{"parent": type, "inline": attribute of parent, "join":
 * attribute of the separate types holding the parent's live id, "separate":
 * [{"type": type, "when": PRED}]}].  Rule for the drift engine: when the
 * declared state holds a separate resource joined to a declared parent (a
 * separate type's "when", if any, must hold), the parent's inline attribute
 * is not compared; each separate resource is compared with its own live
 * document, or, for a declared_only type, with the matching element of the
 * parent's live inline attribute; live elements no separate resource covers
 * are unmanaged parts of the parent.  Without separate resources the inline
 * attribute is compared as declared, and the live documents of the separate
 * types joined to that parent (its aws_vpc_security_group_*_rule documents)
 * are parts of it, never unmanaged on their own.
 *
 * Ownership and threads: a struct typemap owns everything reachable from it;
 * every pointer handed out is borrowed and valid until typemap_free().  After
 * loading nothing is modified, so lookups may run on any number of threads
 * (do not json_incref() the borrowed json_t values from several threads). */
#ifndef PLUMB_TYPEMAP_H
#define PLUMB_TYPEMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "resource.h"
#include "util.h"

/* Refuse table files larger than this (the embedded one is far smaller). */
#define TYPEMAP_MAX_SIZE (8u * 1024 * 1024)

enum typemap_scope {
    TYPEMAP_SCOPE_REGIONAL,
    TYPEMAP_SCOPE_GLOBAL,
    TYPEMAP_SCOPE_REGION_SINGLETON,
    TYPEMAP_SCOPE_ACCOUNT_SINGLETON,
};

enum typemap_kind {
    TYPEMAP_KIND_STRING,
    TYPEMAP_KIND_NUMBER,
    TYPEMAP_KIND_BOOL,
    TYPEMAP_KIND_LIST,
    TYPEMAP_KIND_SET,
    TYPEMAP_KIND_MAP,
    TYPEMAP_KIND_OBJECT,
};

enum typemap_compare {
    TYPEMAP_COMPARE_EXACT,
    TYPEMAP_COMPARE_SET,
    TYPEMAP_COMPARE_SET_OF_OBJECTS,
    TYPEMAP_COMPARE_POLICY_JSON,
    TYPEMAP_COMPARE_TAGS,
    TYPEMAP_COMPARE_ARN,
    TYPEMAP_COMPARE_CASE_INSENSITIVE,
    TYPEMAP_COMPARE_COMPUTED,
    TYPEMAP_COMPARE_DEFAULT,
};

/* What the caller knows about a resource's parent (struct typemap_type
 * .parent_type) when asking whether it is excluded from "unmanaged". */
enum typemap_parent_state {
    TYPEMAP_PARENT_UNKNOWN = 0, /* no parent, or not known */
    TYPEMAP_PARENT_MANAGED,     /* declared in some Terraform state */
    TYPEMAP_PARENT_UNMANAGED,   /* reported as unmanaged itself */
    TYPEMAP_PARENT_EXCLUDED,    /* excluded from unmanaged itself */
};

const char *typemap_scope_name(enum typemap_scope s);
const char *typemap_kind_name(enum typemap_kind k);
const char *typemap_compare_name(enum typemap_compare c);

/* One place an attribute is read from: an API operation and the member path
 * in its output, resolved to be absolute (item root and parent paths
 * joined): {"DescribeInstances", "Reservations[].Instances[].MetadataOptions.HttpTokens"}. */
struct typemap_source {
    const char *op;
    const char *path;
};

struct typemap_attr {
    const char *name;
    enum typemap_kind kind;
    enum typemap_compare compare;
    /* For TYPEMAP_COMPARE_DEFAULT: the value an absent side counts as. */
    const json_t *default_value;
    /* For set_of_objects: nested attribute names identifying an element, or
     * NULL (the whole element). NULL-terminated. */
    char **key;
    const struct typemap_source *sources; /* n_sources entries, may be 0 */
    size_t n_sources;
    const char *select_member; /* "Key" of {"Key": "..."}, or NULL */
    const char *select_value;
    const char *csv_column;  /* or NULL */
    const char *config_path; /* resolved full Config item path, or NULL */
    bool config_verified;
    bool plumb_only;
    bool in_tags;    /* location "tags" */
    int max_items;   /* 0: no limit */
    char **controls; /* NULL-terminated, never NULL */
    const char *note;
    const struct typemap_attr *parent; /* enclosing block, NULL at top level */
    const struct typemap_attr *attrs;  /* nested, n_attrs entries */
    size_t n_attrs;
};

struct typemap_type_rules; /* compiled id templates and predicates (private) */

struct typemap_type {
    const char *type;
    const char *aws_type; /* or NULL */
    const char *service;
    const char *collector; /* NULL for declared_only types */
    enum typemap_scope scope;
    const char *config_type; /* AWS Config type recording it, or NULL */
    bool declared_only;
    bool unmanaged;          /* may be reported as unmanaged */
    char **aliases;          /* declared_aliases, NULL-terminated, never NULL */
    const char *parent_type; /* or NULL */
    const char *parent_attr;
    const char *id_live;                    /* what the live id is (text) */
    const char *id_import;                  /* what terraform import takes (text) */
    const struct typemap_source *id_source; /* or NULL */
    const char *match_type;                 /* type whose live id typemap_live_id() returns */
    /* Every operation the type is read with and its item root path. */
    const struct typemap_source *ops;
    size_t n_ops;
    const char *arn_template;                /* or NULL */
    const struct typemap_source *arn_source; /* or NULL */
    /* "filter": the collector keeps only the items whose filter_source
     * member equals filter_value (ingress vs egress rules); or NULL. */
    const struct typemap_source *filter_source;
    const json_t *filter_value;
    const char *note; /* or NULL */
    const struct typemap_attr *attrs;
    size_t n_attrs;
    const struct typemap_type_rules *rules;
};

struct typemap;

/* Load and validate the table compiled into the binary. */
int typemap_load_embedded(struct typemap **ret, struct perr *err);
/* Load and validate a table from memory (name is used in messages) or from
 * a file.  Errors are -EINVAL (malformed; err says where and what),
 * -EFBIG, -ENOMEM, or a read error from the file. */
int typemap_load_string(const char *text, size_t len, const char *name, struct typemap **ret,
                        struct perr *err);
int typemap_load_file(const char *path, struct typemap **ret, struct perr *err);
struct typemap *typemap_free(struct typemap *tm);

/* Types in table order. */
size_t typemap_count(const struct typemap *tm);
const struct typemap_type *typemap_type_at(const struct typemap *tm, size_t i);

/* By Terraform type; declared aliases (aws_alb) find their type (aws_lb).
 * NULL when unknown. */
const struct typemap_type *typemap_find(const struct typemap *tm, const char *type);
/* By CloudFormation/Config type ("AWS::EC2::Instance"): the type whose
 * aws_type it is, or NULL. */
const struct typemap_type *typemap_find_aws(const struct typemap *tm, const char *aws_type);
/* All types an AWS Config item of config_type delivers (AWS::S3::Bucket
 * gives aws_s3_bucket and the split bucket resources), in table order, and
 * all types of a collector.  Up to max are stored in out (may be NULL when
 * max is 0); the return value is the total number. */
size_t typemap_by_config_type(const struct typemap *tm, const char *config_type,
                              const struct typemap_type **out, size_t max);
size_t typemap_by_collector(const struct typemap *tm, const char *collector,
                            const struct typemap_type **out, size_t max);

/* The rule for an attribute path: "metadata_options[0].http_tokens",
 * "metadata_options.http_tokens" and "metadata_options[*].http_tokens" all
 * give the http_tokens rule.  NULL when the type has no such attribute. */
const struct typemap_attr *typemap_attr(const struct typemap_type *t, const char *path);

/* The live id a declared Terraform instance of `type` corresponds to,
 * computed from its state attributes with the type's id.state templates.
 * For declared_only types this is the live id of t->match_type (the
 * parent).  *ret_id is malloc'd.  -ENOENT: unknown type; -EOPNOTSUPP: a
 * plumb_* type (not declarable); -ENODATA: no template applies (err names
 * the attributes that were missing); -EINVAL: declared_attrs not an object. */
int typemap_live_id(const struct typemap *tm, const char *type, const json_t *declared_attrs,
                    char **ret_id, struct perr *err);

/* Whether r (whose type is in the table) is an AWS-created default or
 * otherwise excluded from "unmanaged" reports.  parent says what the caller
 * knows about its parent.  On true, *ret_reason (if non-NULL) points to the
 * matching rule's reason (borrowed).  Types with unmanaged false are always
 * excluded; unknown types never are. */
bool typemap_unmanaged_excluded(const struct typemap *tm, const struct resource *r,
                                enum typemap_parent_state parent, const char **ret_reason);

/* Relations (see the format above), in table order. */
struct typemap_relation_separate {
    const struct typemap_type *type;
};
struct typemap_relation {
    const struct typemap_type *parent;
    const struct typemap_attr *inline_attr;
    const char *join;
    const struct typemap_relation_separate *separate;
    size_t n_separate;
};
size_t typemap_relation_count(const struct typemap *tm);
const struct typemap_relation *typemap_relation_at(const struct typemap *tm, size_t i);
/* Whether separate entry `separate` of relation `relation` covers a declared
 * instance with these attributes: its "when" holds (true when it has none).
 * False for out-of-range indices. */
bool typemap_relation_applies(const struct typemap *tm, size_t relation, size_t separate,
                              const json_t *declared_attrs);

/* Build the live ARN of a resource of type t from its arn.template (NULL
 * when the type has no template).  attrs supplies the other placeholders.
 * Returns 0 and a malloc'd *ret, -ENODATA when a placeholder has no value,
 * -ENOENT when t has no template, -ENOMEM. */
int typemap_arn_build(const struct typemap_type *t, const char *partition, const char *region,
                      const char *account, const char *id, const json_t *attrs, char **ret);

/* An ARN split into its parts ("arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE").
 * resource_type/resource_id split RESOURCE at its first '/' or ':'
 * ("key/1234" -> "key", "1234"; "db:mydb" -> "db", "mydb"); a RESOURCE
 * without either ("my-bucket") has resource_type "" and resource_id equal to
 * it.  All fields point into `buf`, owned by the struct. */
struct typemap_arn {
    char *buf;
    const char *partition;
    const char *service;
    const char *region;  /* "" for global services */
    const char *account; /* "" for S3 buckets */
    const char *resource;
    const char *resource_type;
    const char *resource_id;
};
/* Returns 0, -EINVAL (err says why: not starting with "arn:", too few
 * fields, empty partition/service/resource) or -ENOMEM. */
int typemap_arn_parse(const char *arn, struct typemap_arn *ret, struct perr *err);
void typemap_arn_clear(struct typemap_arn *a);

/* The region a declared instance lives in: "global" for global and
 * account_singleton types, else from the type's id.region templates, else
 * from its "arn" attribute.  *ret malloc'd; -ENODATA when none of these
 * gives a region (an S3 split resource: use its bucket's). */
int typemap_declared_region(const struct typemap_type *t, const json_t *declared_attrs, char **ret);

#endif
