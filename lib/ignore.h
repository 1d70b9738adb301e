/* .driftignore rules and the glob patterns shared by every matcher in
 * plumb (.driftignore, [exception] match = ..., sink filters).
 *
 * Patterns.  A pattern is text in which '*' matches any run of characters
 * (including none, and including dots), and '\' makes the next character
 * literal ("\*", "\.", "\\").  Nothing else is special: there is no '?',
 * no character class.  Matching is linear in practice: a pattern is a list
 * of literal pieces between stars, found left to right.
 *
 * .driftignore (driftctl's syntax).  One rule per line; blank lines and
 * lines whose first non-blank character is '#' are skipped; leading and
 * trailing blanks are dropped.  A rule is split on the dots that are not
 * escaped:
 *   TYPE                  every resource of the types TYPE matches
 *                         ("*" alone: everything; "aws_iam_*")
 *   TYPE.ID               the resources whose type and id match
 *                         ("aws_instance.*", "*role.*Amazon*",
 *                          "aws_s3_bucket.my\.bucket" for the id my.bucket)
 *   TYPE.ID.PATH.TO.FIELD one attribute (and everything below it) of the
 *                         matching resources ("aws_lambda_function.*.environment");
 *                         each path element is a pattern matching one
 *                         element of the attribute path, compared without
 *                         regard to ASCII case as driftctl does
 *   !RULE                 the opposite: do not ignore what RULE matches
 * The last rule that matches decides, so a later line overrides an earlier
 * one ("*" then "!aws_iam_*" ignores everything except IAM).  An attribute
 * rule never ignores, nor un-ignores, a whole resource; a resource rule
 * covers every attribute of the resources it matches.  "\#" and "\!" start
 * a rule with a literal '#' or '!'.  Type and id comparisons are
 * case-sensitive.
 *
 * Attribute paths are given in the notation lib/tfstate.h uses for masked
 * paths: "password", "settings[0].secret", "tags[\"Api-Key\"]"; a bracket
 * index is one path element, so the rule path "settings.0.secret" or
 * "tags.Api-Key" matches them.  See ignore_path_split().
 *
 * Nothing here logs or keeps global state; sets are immutable once built
 * and may be shared read-only between threads. */
#ifndef PLUMB_IGNORE_H
#define PLUMB_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Largest .driftignore ignore_load() accepts. */
#define IGNORE_MAX_FILE_SIZE ((size_t)1 << 20)

/* ---- patterns ---------------------------------------------------------- */

/* Compare without regard to ASCII case. */
#define IGNORE_PATTERN_ICASE 0x1u

struct ignore_pattern;

/* Compile text (see above) into *ret, owned by the caller.  -EINVAL, with
 * a message in err, for an empty pattern or one ending in an unfinished
 * escape ('\' as its last character).  flags: IGNORE_PATTERN_*. */
int ignore_pattern_compile(const char *text, unsigned flags, struct ignore_pattern **ret,
                           struct perr *err);
/* True when the whole of s matches. */
bool ignore_pattern_match(const struct ignore_pattern *p, const char *s);
/* The text the pattern was compiled from (borrowed). */
const char *ignore_pattern_text(const struct ignore_pattern *p);
/* True when the pattern has no '*' (it matches one string only). */
bool ignore_pattern_is_literal(const struct ignore_pattern *p);
/* NULL is a no-op; returns NULL. */
struct ignore_pattern *ignore_pattern_free(struct ignore_pattern *p);

/* ---- .driftignore ------------------------------------------------------ */

struct ignore_set;

/* An empty set (ignores nothing). */
int ignore_set_new(struct ignore_set **ret);
/* Add one line of .driftignore text (comments and blank lines are
 * accepted and add nothing).  On -EINVAL err says what is wrong with the
 * line, without a location: callers prefix "file:line: ".  The set is
 * unchanged on failure. */
int ignore_set_add(struct ignore_set *set, const char *line, struct perr *err);
/* Number of rules. */
size_t ignore_set_size(const struct ignore_set *set);
struct ignore_set *ignore_set_free(struct ignore_set *set);

/* Parse .driftignore text (len bytes, need not be NUL-terminated); name
 * appears in messages as "name:LINE: ...".  Fails on the first bad line,
 * on a NUL byte, and returns nothing in that case. */
int ignore_parse(const char *name, const char *text, size_t len, struct ignore_set **ret,
                 struct perr *err);
/* Read and parse a file (at most IGNORE_MAX_FILE_SIZE bytes).  A missing
 * file is -ENOENT (with a message): callers that treat "no .driftignore"
 * as "ignore nothing" check for it. */
int ignore_load(const char *path, struct ignore_set **ret, struct perr *err);

/* Whether drift on the resource (type, id) is ignored.  set may be NULL
 * (nothing is ignored). */
bool ignore_resource(const struct ignore_set *set, const char *type, const char *id);
/* Whether drift on the attribute at path (tfstate notation, see above) of
 * the resource (type, id) is ignored: by a rule on the resource itself or
 * by an attribute rule matching path or one of its ancestors. */
bool ignore_attribute(const struct ignore_set *set, const char *type, const char *id,
                      const char *path);

/* Split an attribute path in tfstate notation into its elements:
 * "a.b[0][\"k.x\"]" -> a, b, 0, k.x.  Bracket keys use JSON string
 * escapes.  -EINVAL for a malformed path (unbalanced brackets, an empty
 * element, a bad escape), -ENOMEM; *ret is a strv owned by the caller. */
int ignore_path_split(const char *path, char ***ret);

#endif
