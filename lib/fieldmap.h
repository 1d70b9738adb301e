/* Table-driven mapping of one AWS output item to Terraform-named attributes.
 *
 * Collectors describe each type's attributes as a table of
 * {attribute, member path, kind}; fieldmap_apply() builds the attributes of
 * the live document from an item of a parsed AWS output (botocore member
 * names) with it.  The rules keep the document honest about what AWS said:
 * a member the item lacks becomes JSON null ("AWS says not set"), never
 * silently absent (absent means "not collected"); nested blocks follow the
 * Terraform state layout (lists of objects, [] when AWS has none).
 *
 * Paths are member names joined by '.', "" meaning the item itself; "[]"
 * after a name walks every element of a list ("VpcSecurityGroups[].
 * VpcSecurityGroupId").
 *
 * Pure functions: no state, no I/O. */
#ifndef PLUMB_FIELDMAP_H
#define PLUMB_FIELDMAP_H

#include <jansson.h>

enum fieldmap_kind {
    /* The value at src as AWS gives it (scalar, list or map), deep-copied;
     * null when absent. */
    FIELDMAP_VALUE = 0,
    /* Every value a path through lists reaches ("A[].B"), as a list; []
     * when none. */
    FIELDMAP_LIST,
    /* The first value such a path reaches; null when none. */
    FIELDMAP_FIRST,
    /* The object at src as a Terraform single nested block: a list of one
     * object mapped with sub; [] when absent. */
    FIELDMAP_BLOCK,
    /* The list of objects at src, each mapped with sub; [] when absent. */
    FIELDMAP_BLOCKS,
    /* The map at src as a list of objects, one per key in key order: the
     * attribute named by key holds the map key, the others are mapped
     * with sub from the map value; [] when absent. */
    FIELDMAP_KEYED,
    /* The map at src with each value replaced by its member named by key
     * ({"p": {"variable": "X"}} -> {"p": "X"}); null when absent. */
    FIELDMAP_MAP_MEMBER,
};

struct fieldmap {
    const char *dst; /* attribute name; NULL ends a table */
    const char *src; /* member path in the item */
    enum fieldmap_kind kind;
    const struct fieldmap *sub; /* FIELDMAP_BLOCK, _BLOCKS, _KEYED */
    const char *key;            /* FIELDMAP_KEYED, FIELDMAP_MAP_MEMBER */
};

/* Set in attrs (an object) every attribute of map from item (any JSON
 * value; a non-object item has no members).  Returns 0, -EINVAL for a bad
 * table (a block kind without sub, a keyed kind without key) or -ENOMEM;
 * attrs may be partly filled on failure. */
int fieldmap_apply(json_t *attrs, const json_t *item, const struct fieldmap *map);

/* The value at a path without "[]" (borrowed), or NULL when absent. */
json_t *fieldmap_get(const json_t *item, const char *path);

/* A string member at a path, or NULL when absent or not a string. */
const char *fieldmap_string(const json_t *item, const char *path);

#endif
