/* Per-type comparison of a declared Terraform instance with a live
 * resource, driven by the type table (lib/typemap.h).
 *
 * normalize_compare() walks the attributes the table lists for the type
 * and compares each by its rule, after normalisation:
 *   exact             scalars loosely ("80" == 80, "true" == true == "1",
 *                     1 == 1.0, as flatmap states and collectors differ);
 *                     lists in order, element by element; maps key by key;
 *                     nested blocks attribute by attribute, a missing
 *                     element counting as one with every attribute absent
 *                     (so [] equals [{"enabled": false}] under default:false)
 *   set               unordered, duplicates ignored
 *   set_of_objects    elements matched by the rule's key attributes, else
 *                     compared whole (after normalising each element)
 *   policy_json       IAM / resource policies semantically (see
 *                     normalize_policy())
 *   tags              the declared tags_all (which includes the provider's
 *                     default_tags) or, for states without it, tags, against
 *                     the live tags; "aws:*" tags (set by AWS, not settable
 *                     through Terraform) are not compared
 *   arn               equal when both name the same resource, ARN or bare id
 *   case_insensitive  ASCII case ignored
 *   computed          never compared (nor plumb_only attributes)
 *   default:V         an absent (or null) value on either side counts as V
 * Everywhere, absent, null, "", [] and {} are equal to each other (except
 * where a default says what absent means).
 *
 * What is not compared: attributes the state does not have at all (the
 * provider version that wrote it did not know them), attributes the live
 * document could not read (resource.unknown), attributes an AWS Config
 * item does not carry when the document came from Config, attributes the
 * caller covers otherwise (skip, e.g. inline blocks of a parent whose
 * separate resources are declared), sensitive attributes (the state holds
 * only a mask), and attribute paths .driftignore ignores.
 *
 * Changes are {"path", "declared", "live"} objects with paths in the
 * notation of lib/tfstate.h ("versioning[0].enabled", "tags.Owner",
 * "tags[\"kubernetes.io/role\"]", "inline_policy.p1.policy" for the
 * element of a keyed set).  A value containing a sensitive path is shown
 * as TFSTATE_SENSITIVE_MARKER.
 *
 * Security groups: Terraform groups inline rules by protocol, ports and
 * description, separate rule resources hold one or several sources each,
 * and AWS keeps one rule per source.  normalize_sg_* reduce all three to
 * atoms (direction, protocol, ports, one source) so they can be matched.
 *
 * Pure functions: nothing here logs, allocates globally or touches the
 * database; all of it may run on any thread. */
#ifndef PLUMB_NORMALIZE_H
#define PLUMB_NORMALIZE_H

#include <jansson.h>
#include <stdbool.h>

#include "ignore.h"
#include "resource.h"
#include "typemap.h"
#include "util.h"

/* True for NULL, JSON null, "", [] and {}. */
bool normalize_is_empty(const json_t *v);
/* Loose equality of scalars (see above); empty values equal each other.
 * Arrays and objects compare structurally with the same looseness. */
bool normalize_equal(const json_t *a, const json_t *b);

/* A policy document (a JSON string or object) in canonical form (new
 * reference): statements sorted; single values turned into one-element
 * lists, sorted and de-duplicated (Action, NotAction, Resource,
 * NotResource, principals, condition values); actions and condition keys
 * lower-cased; "Principal": "*" as {"AWS": ["*"]}; a 12-digit AWS principal
 * as arn:aws:iam::ID:root; an empty Sid or Id dropped; a missing Version
 * as "2008-10-17" (IAM's default); URL-encoded text decoded.  NULL when v
 * is not a policy (not JSON, or not an object). */
json_t *normalize_policy(const json_t *v);
/* Semantic equality; text that is not a policy compares as text. */
bool normalize_policy_equal(const json_t *a, const json_t *b);

/* Whether a and b (ARNs or bare ids/names) name the same resource:
 * equal strings, or an ARN whose resource part, resource id or last
 * segment equals the bare value. */
bool normalize_arn_equal(const char *a, const char *b);

struct normalize_input {
    const struct typemap_type *type;
    const json_t *declared;  /* the declared attributes (sensitive values masked) */
    const json_t *sensitive; /* JSON array of masked paths; may be NULL */
    const struct resource *live;
    const struct ignore_set *ignore; /* may be NULL */
    const char *ignore_type;         /* (type, id) .driftignore rules are matched against */
    const char *ignore_id;
    const char *const *skip; /* top-level attributes not compared; NULL-terminated, may be NULL */
};

/* Compare; append one object per difference to changes (a JSON array).
 * *ret_security (may be NULL) is set when a difference is on an attribute
 * (or inside a block) some baseline control reads.  Returns the number of
 * changes appended, or -ENOMEM / -EINVAL (err filled). */
int normalize_compare(const struct normalize_input *in, json_t *changes, bool *ret_security,
                      struct perr *err);

/* Compare one declared object with one live object by the nested rules
 * attrs[0..n) (an element of a block or set), appending changes under
 * base ("inline_policy.p1").  Used for separate resources matched against
 * an element of their parent's inline attribute.  Only attributes present
 * in both rule sets' names are compared. */
int normalize_compare_object(const struct typemap_attr *attrs, size_t n_attrs,
                             const json_t *declared, const json_t *live, const char *base,
                             const struct normalize_input *in, json_t *changes, bool *ret_security,
                             struct perr *err);

/* ---- security group rules ------------------------------------------------- */

/* One source of one rule.  key identifies it ("ingress|tcp|22|22|cidr|10.0.0.0/8");
 * description is compared separately. */
struct normalize_sg_atom {
    char *key;
    char *description; /* "" when none */
    size_t owner;      /* caller's tag (which record it came from) */
};

struct normalize_sg_atoms {
    struct normalize_sg_atom *v;
    size_t n;
};

void normalize_sg_atoms_clear(struct normalize_sg_atoms *a);
/* From an aws_security_group's ingress or egress value (Terraform's
 * grouped blocks); group_id resolves "self". */
int normalize_sg_atoms_inline(const json_t *blocks, const char *direction, const char *group_id,
                              size_t owner, struct normalize_sg_atoms *out);
/* From an aws_security_group_rule's attributes (its "type" is the
 * direction). */
int normalize_sg_atoms_rule(const json_t *attrs, size_t owner, struct normalize_sg_atoms *out);
/* From an aws_vpc_security_group_ingress_rule / _egress_rule. */
int normalize_sg_atoms_vpc_rule(const json_t *attrs, const char *direction, size_t owner,
                                struct normalize_sg_atoms *out);
/* Index of the atom with this key, or -1. */
long normalize_sg_atoms_find(const struct normalize_sg_atoms *a, const char *key);
/* A rule in Terraform's inline form for display:
 * {"protocol", "from_port", "to_port", "cidr_blocks"|..., "description"}. */
json_t *normalize_sg_atom_json(const struct normalize_sg_atom *a);
/* The id `terraform import aws_security_group_rule` takes for it:
 * SGID_TYPE_PROTOCOL_FROMPORT_TOPORT_SOURCE (malloc'd). */
char *normalize_sg_atom_import_id(const struct normalize_sg_atom *a, const char *group_id);

#endif
