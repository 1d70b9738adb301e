/* Mapping helpers for collectors: AWS output members to attributes shaped
 * as the Terraform AWS provider stores them (lib/typemap.json).
 *
 * Most of a collector's map and merge functions is renaming members and
 * turning nested structures into Terraform's blocks (lists of objects).
 * collectmap_apply() does that from a table:
 *
 *     static const struct collectmap_field expiration[] = {
 *         { "days", "Days" }, { "date", "Date" }, { NULL },
 *     };
 *     static const struct collectmap_field rule[] = {
 *         { "id", "ID" },
 *         { "expiration", "Expiration", CM_BLOCK, .nested = expiration },
 *         { NULL },
 *     };
 *
 * Absent and null are different things in a live document: an attribute
 * that is absent was not collected (drift skips it), null means AWS said it
 * is not set.  So a field whose member is missing from a response that was
 * read becomes null (or [] / {} for blocks, lists and tags, which is how
 * Terraform stores an empty block); callers leave out whole fields they do
 * not read.
 *
 * Nothing here allocates beyond the JSON values it returns; no state. */
#ifndef PLUMB_COLLECTMAP_H
#define PLUMB_COLLECTMAP_H

#include <jansson.h>

enum collectmap_how {
    /* The member as it is (a deep copy); null when absent. */
    CM_COPY = 0,
    /* An object mapped by .nested, as a one-element list; [] when absent. */
    CM_BLOCK,
    /* A list of objects, each mapped by .nested; [] when absent. */
    CM_LIST,
    /* true when the member is the string .arg, false when it is another
     * value; null when absent. */
    CM_EQ,
    /* An AWS tag list ([{"Key","Value"}], [{"key","value"}] or
     * [{"TagKey","TagValue"}]) or a tag map, as an object of strings; {} when
     * absent. */
    CM_TAGS,
    /* A policy document as JSON text: a string stays as it is, an object
     * (IAM documents, which the parser decodes as botocore does) is
     * serialised compactly with sorted keys; null when absent. */
    CM_JSON_TEXT,
};

struct collectmap_field {
    const char *dst; /* attribute name; NULL terminates a table */
    /* Dotted member path relative to the mapped object ("Grantee.ID"); ""
     * is the object itself (a block built from the whole output). */
    const char *src;
    enum collectmap_how how;
    const char *arg;                       /* CM_EQ: the value meaning true */
    const struct collectmap_field *nested; /* CM_BLOCK, CM_LIST */
};

/* Set attrs[f->dst] for every field of the table from src (an object; NULL
 * is treated as an empty one).  Returns 0 or -ENOMEM (attrs may then hold
 * some of the fields). */
int collectmap_apply(json_t *attrs, const json_t *src, const struct collectmap_field *fields);
/* A new object with the table applied to src; NULL on -ENOMEM. */
json_t *collectmap_object(const json_t *src, const struct collectmap_field *fields);

/* The member at a dotted path ("A.B"; "" is v itself), or NULL.  Borrowed. */
const json_t *collectmap_get(const json_t *v, const char *path);
/* The string at a path, or NULL. */
const char *collectmap_string(const json_t *v, const char *path);
/* attrs[dst] = value, taking the reference; value NULL (a failed
 * allocation) gives -ENOMEM. */
int collectmap_set(json_t *attrs, const char *dst, json_t *value);
/* See CM_TAGS; a new object, NULL on -ENOMEM.  Entries without a string
 * key are skipped; a missing value is "". */
json_t *collectmap_tags(const json_t *tags);
/* See CM_JSON_TEXT; a new string value (JSON null for NULL/null input), or
 * NULL on -ENOMEM. */
json_t *collectmap_json_text(const json_t *v);

#endif
