/* Terraform state (format 4) parser.
 *
 * Turns the JSON of a Terraform or OpenTofu state file into "declared"
 * records, one per resource instance object, without provider binaries or
 * network access.  Everything below is read from the file alone.
 *
 * Accepted: format ("version") 4, written by any Terraform or OpenTofu
 * version (terraform_version is informational and may be anything, even
 * "invalid").  Unknown top-level keys, "outputs" and "check_results" are
 * ignored; outputs are not resources, so sensitive outputs never leave the
 * parser.
 *
 * Rejected with a one-line message naming the input (struct perr):
 *   -ENODATA          the input is empty;
 *   -EFBIG            the input is larger than opts->max_size;
 *   -EPROTONOSUPPORT  format 1-3 (Terraform 0.11 or older), format 5 or
 *                     newer, or an OpenTofu-encrypted state;
 *   -EINVAL           not JSON (with line:column), JSON that is not a state,
 *                     or a state whose resources/instances are malformed;
 *   -ENOMEM           out of memory.
 *
 * Addresses.  Each instance gets Terraform's absolute address:
 *   module.net["eu"].module.sg[0].aws_security_group.web["x"]
 *   data.aws_ami.ubuntu, module.x.data.aws_iam_policy_document.p[0]
 * Integer index keys (count) render as [N], string keys (for_each) as
 * ["key"] with '"', '\' and control characters escaped as in JSON.  A
 * deposed object has the same address as the current object of the same
 * instance and is told apart by its deposed key.
 *
 * Providers.  The provider configuration address is normalised to a
 * provider source plus an optional alias:
 *   provider["registry.terraform.io/hashicorp/aws"].eu -> source + "eu"
 *   module.m.provider["registry.terraform.io/hashicorp/aws"] -> source
 *   provider.aws, provider.aws.west (Terraform 0.12 "legacy" addresses)
 *                         -> registry.terraform.io/hashicorp/aws (+ "west")
 *   provider["registry.terraform.io/-/aws"] (the 0.13 upgrade's marker for
 *                         a legacy provider) -> registry.terraform.io/hashicorp/aws
 *   provider.terraform    -> terraform.io/builtin/terraform
 * Legacy addresses carry no namespace; like Terraform's own upgrade they
 * are assumed to be in the hashicorp namespace of the public registry.
 * An instance-level "instance_provider" (OpenTofu) overrides the
 * resource-level one.
 *
 * attributes_flat.  States upgraded from format 3 may keep the old flatmap
 * ("attributes_flat", every value a string).  It is converted to nested
 * JSON without a provider schema, so some choices are heuristic:
 *   - keys split on '.'; "P.#" = N makes P a list, "P.%" = N makes P a map;
 *   - a list whose element keys are all decimal numbers below N keeps that
 *     order (missing positions become null); otherwise it was a set keyed
 *     by hash codes and becomes a list ordered by the numeric value of the
 *     hash (so the order is stable, not meaningful);
 *   - a map whose count N equals its number of keys holds strings under
 *     keys taken whole, dots included ("tags.kubernetes.io/role" is the key
 *     "kubernetes.io/role"); any other map is split further on '.' as an
 *     object;
 *   - without a marker, "a.b" is the member b of object a;
 *   - values stay strings (a flatmap has no types: "80" may be a number,
 *     "true" a bool); the drift engine compares them loosely;
 *   - a key that is both a value and a prefix ("a" and "a.b") and keys
 *     nested deeper than TFSTATE_MAX_FLAT_DEPTH are rejected (-EINVAL).
 *
 * Numbers.  JSON numbers keep their JSON type.  jansson holds integers in 64
 * bits; a file with a larger integer (providers may store one) is decoded
 * with every number as a double and whole numbers up to 2^53 turned back
 * into integers, so in such a file alone larger numbers are approximate.
 *
 * Sensitive values.  Every path in an instance's "sensitive_attributes"
 * (steps {"type":"get_attr","value":"password"} or {"type":"index",
 * "value":{"value":0,"type":"number"}} / {"value":"k","type":"string"}) is
 * masked: the value is wiped in place (strings zeroed, numbers set to 0)
 * and replaced by the string TFSTATE_SENSITIVE_MARKER.  A step that cannot
 * be followed (an index into a set, an unknown step type) masks the value
 * reached so far, whole; at the top level that masks every attribute.  The
 * paths are listed in the record in dot/bracket notation: "password",
 * "settings[0].secret", "tags[\"Api-Key\"]" (the notation lib/ignore.h
 * splits with ignore_path_split()).  A declared path whose value is absent
 * or null is listed without anything to mask.  The private blob and the
 * outputs are never handed out; sensitive outputs, the sensitive_attributes
 * steps (an index into a set names the element by value) and a flatmap
 * source with sensitive paths are wiped before the parse tree is freed.  The caller's input buffer
 * still holds the original text: wipe it if it matters. */
#ifndef PLUMB_TFSTATE_H
#define PLUMB_TFSTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Default cap on the size of a state (bytes); see struct tfstate_opts. */
#define TFSTATE_DEFAULT_MAX_SIZE ((size_t)256 << 20)
/* What a masked sensitive value is replaced with. */
#define TFSTATE_SENSITIVE_MARKER "(sensitive)"
/* Deepest attributes_flat key accepted ("a.b.c" has depth 3). */
#define TFSTATE_MAX_FLAT_DEPTH 64

enum tfstate_mode {
    TFSTATE_MANAGED = 0,
    TFSTATE_DATA,
};
/* "managed" / "data". */
const char *tfstate_mode_name(enum tfstate_mode m);

enum tfstate_key_kind {
    TFSTATE_KEY_NONE = 0, /* a single instance */
    TFSTATE_KEY_INT,      /* count: index_key is a number */
    TFSTATE_KEY_STRING,   /* for_each: index_key is a string */
};

/* One resource instance object: the current object of an instance, or one
 * of its deposed objects (create_before_destroy left-overs). */
struct tfstate_instance {
    char *address; /* full absolute address, see above */
    char *module;  /* "" for the root module, else "module.a[0].module.b" */
    enum tfstate_mode mode;
    char *type; /* "aws_s3_bucket" */
    char *name; /* "logs" */
    enum tfstate_key_kind key_kind;
    int64_t index_int;     /* TFSTATE_KEY_INT */
    char *index_str;       /* TFSTATE_KEY_STRING, else NULL */
    char *provider;        /* "registry.terraform.io/hashicorp/aws", NULL if the state has none */
    char *provider_alias;  /* "eu", or NULL */
    char *provider_config; /* the address as written in the state, or NULL */
    int64_t schema_version;
    bool tainted;  /* "status": "tainted" */
    char *deposed; /* 8 hex digits for a deposed object, NULL for the current one */
    bool create_before_destroy;
    json_t *attributes; /* JSON object (one reference owned), sensitive values masked */
    char **sensitive;   /* masked paths (strv, never NULL, may be empty) */
    char **
        dependencies; /* addresses from "dependencies" and legacy "depends_on" (strv, never NULL) */
};

struct tfstate {
    int version;                        /* always 4 */
    char *terraform_version;            /* as written, NULL when absent */
    uint64_t serial;                    /* 0 when absent */
    char *lineage;                      /* NULL when absent */
    size_t n_resources;                 /* entries in "resources" */
    struct tfstate_instance *instances; /* in file order */
    size_t n_instances;
};

struct tfstate_opts {
    size_t max_size; /* refuse larger inputs (-EFBIG); 0 = TFSTATE_DEFAULT_MAX_SIZE */
};

/* Parse a state held in memory.  name (a path, "s3://bucket/key"...) only
 * appears in error messages.  data need not be NUL-terminated.  opts may be
 * NULL for the defaults.  On success *ret is a new state owned by the
 * caller (tfstate_free()); on failure nothing is allocated, *ret is
 * untouched and err says what is wrong and, where there is something to
 * do, what to do. */
int tfstate_parse(const char *name, const void *data, size_t len, const struct tfstate_opts *opts,
                  struct tfstate **ret, struct perr *err);
/* Read the file at path (refusing more than opts->max_size bytes) and parse
 * it, naming it by its path.  -ENOENT, -EACCES... when it cannot be read. */
int tfstate_load(const char *path, const struct tfstate_opts *opts, struct tfstate **ret,
                 struct perr *err);
/* Frees the state, its instances and their attributes.  NULL is a no-op;
 * returns NULL. */
struct tfstate *tfstate_free(struct tfstate *s);

/* The instance's "id" attribute (borrowed from attributes), or NULL when
 * it has none or it is not a string. */
const char *tfstate_instance_id(const struct tfstate_instance *inst);

/* The declared record as a JSON object (new reference, NULL on OOM):
 * address, module, mode, type, name, index_key (number, string or absent),
 * provider, provider_alias, schema_version, tainted, deposed,
 * create_before_destroy, attributes (a copy, masked), sensitive,
 * dependencies.  Absent optional fields are left out. */
json_t *tfstate_instance_to_json(const struct tfstate_instance *inst);
/* The whole state: version, terraform_version, serial, lineage,
 * resources (the count) and instances (array of the records above). */
json_t *tfstate_to_json(const struct tfstate *s);

#endif
