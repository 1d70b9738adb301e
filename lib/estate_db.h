/* The estate as stored in SQLite, for the baseline evaluator (estate.h).
 *
 * Resources are decoded from their stored documents as the evaluator walks
 * one (account, region, type) at a time.  Recently walked groups are kept
 * decoded, up to a byte budget, because several controls read the same
 * type: the analysis evaluates controls grouped by type so that each group
 * is decoded about once.  Scopes are the (account, region) pairs that have
 * coverage rows; a region is "in use" when it holds a regional resource that
 * is not an AWS-created default (the type table's unmanaged exclusions).
 *
 * Uses the caller's connection and thread; not thread-safe. */
#ifndef PLUMB_ESTATE_DB_H
#define PLUMB_ESTATE_DB_H

#include <stddef.h>

#include "db.h"
#include "estate.h"
#include "typemap.h"

struct estate_db;

/* cache_bytes: budget for decoded groups (0 = 64 MiB). */
int estate_db_new(struct db *db, const struct typemap *tm, size_t cache_bytes,
                  struct estate_db **ret, struct perr *err);
struct estate_db *estate_db_free(struct estate_db *e);
const struct estate_ops *estate_db_ops(void);

/* The last database error (for messages after an estate call failed). */
const char *estate_db_error(const struct estate_db *e);

#endif
