/* The SQLite store: opening with plumb's pragmas, schema migrations from
 * schema/ (compiled in), transactions, a prepared-statement cache and
 * SQLite-to-errno translation.
 *
 * A struct db is one connection, used by one thread at a time.  The daemon
 * keeps one writer connection (used from the libuv thread pool, one job at
 * a time); readers such as the CLI open their own, read-only.  WAL mode lets
 * them read while the daemon writes. */
#ifndef PLUMB_DB_H
#define PLUMB_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db;

enum db_open_flags {
    DB_READONLY = 0,            /* refuse to create or migrate */
    DB_READWRITE = 1,           /* create (mode 0600) and migrate as needed */
    DB_READWRITE_NOMIGRATE = 2, /* create but leave the schema alone (tests) */
};

/* Open (and for DB_READWRITE create and migrate) the database.  A database
 * written by a newer plumb (schema version above what this binary knows) is
 * refused with -EPROTONOSUPPORT; a read-only open of an older schema with
 * -ESTALE.  err says what to do. */
int db_open(const char *path, enum db_open_flags flags, struct db **ret, struct perr *err);
struct db *db_close(struct db *db);

sqlite3 *db_handle(struct db *db);
const char *db_path(const struct db *db);

/* Schema versions: what the file has, and the newest this binary knows. */
int db_schema_version(struct db *db, int *ret);
int db_schema_latest(void);
/* Apply migrations up to `target` (tests use it to build old versions);
 * db_open() migrates to the latest. */
int db_migrate_to(struct db *db, int target, struct perr *err);

/* Translate an SQLite result code into a negative errno. */
int db_errno(int sqlite_rc);
/* Fill err with "<what>: <sqlite message>" and return the errno. */
int db_fail(struct db *db, int sqlite_rc, struct perr *err, const char *what);

/* A cached prepared statement for a constant SQL string, reset and with
 * bindings cleared.  Owned by the db; do not finalize.  Returns NULL and
 * fills err on failure. */
sqlite3_stmt *db_stmt(struct db *db, const char *sql, struct perr *err);
/* Run one statement without parameters or results (DDL, PRAGMA). */
int db_exec(struct db *db, const char *sql, struct perr *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails loudly). */
int db_begin(struct db *db, struct perr *err);
int db_commit(struct db *db, struct perr *err);
void db_rollback(struct db *db);

/* daemon_state key/value helpers (for `plumb status`). */
int db_state_set(struct db *db, const char *key, const char *value, int64_t now_ms,
                 struct perr *err);
/* *ret is malloc'd, NULL when the key is absent. */
int db_state_get(struct db *db, const char *key, char **ret, int64_t *ret_updated,
                 struct perr *err);

/* PRAGMA integrity_check; 0 when "ok". */
int db_integrity_check(struct db *db, struct perr *err);

/* Bind helpers that treat NULL as SQL NULL. */
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Column as malloc'd string (NULL for SQL NULL); sets *oom on failure. */
char *db_column_strdup(sqlite3_stmt *st, int col, bool *oom);

#endif
