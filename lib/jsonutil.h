/* Small jansson helpers: attribute paths and structural differences.
 *
 * Paths use Terraform-like notation: `a.b[0].c`, and `tags["k.with.dots"]`
 * for keys that are not plain identifiers. */
#ifndef PLUMB_JSONUTIL_H
#define PLUMB_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>

/* Borrowed reference to the value at path, or NULL. */
json_t *json_path_get(const json_t *root, const char *path);

/* Append one step to a path: a key (quoted when needed) or an index.
 * Return a malloc'd string or NULL on OOM. */
char *json_path_key(const char *base, const char *key);
char *json_path_index(const char *base, size_t index);

/* Call cb for every leaf-level difference between a and b (either may be
 * NULL = absent).  Objects are compared key by key, arrays index by index
 * (a length change reports the extra elements), scalars by value (integers
 * and reals compare numerically).  cb returning < 0 stops the walk. */
typedef int (*json_diff_cb)(const char *path, const json_t *old, const json_t *new_value,
                            void *userdata);
int json_diff(const json_t *a, const json_t *b, json_diff_cb cb, void *userdata);

/* Deep equality with numeric integer/real equivalence. */
bool json_equal_loose(const json_t *a, const json_t *b);

/* Compact canonical text (sorted keys), malloc'd. */
char *json_canonical(const json_t *v);

#endif
