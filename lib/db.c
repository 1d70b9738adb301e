#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schema-embed.h"

#define STMT_CACHE_MAX  128
#define BUSY_TIMEOUT_MS 10000

struct cached_stmt {
    const char *sql; /* constant string: compared by pointer first */
    sqlite3_stmt *stmt;
};

struct db {
    sqlite3 *handle;
    char *path;
    struct cached_stmt cache[STMT_CACHE_MAX];
    size_t n_cache;
};

int db_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return -EBUSY;
    case SQLITE_NOMEM: return -ENOMEM;
    case SQLITE_READONLY: return -EROFS;
    case SQLITE_FULL: return -ENOSPC;
    case SQLITE_CANTOPEN: return -ENOENT;
    case SQLITE_PERM:
    case SQLITE_AUTH: return -EACCES;
    case SQLITE_CONSTRAINT: return -EEXIST;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return -EBADMSG;
    case SQLITE_TOOBIG: return -E2BIG;
    case SQLITE_INTERRUPT: return -EINTR;
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_ERROR: return -EINVAL;
    default: return -EIO;
    }
}

int db_fail(struct db *db, int rc, struct perr *err, const char *what)
{
    int e = db_errno(rc);
    if (e == 0)
        e = -EIO;
    return perr_set(err, e, "%s: %s", what,
                    db && db->handle ? sqlite3_errmsg(db->handle) : sqlite3_errstr(rc));
}

/* "0001_init.sql" -> 1; -1 for a name that does not start with digits. */
static int migration_version(const char *name)
{
    char *end;
    long v = strtol(name, &end, 10);
    if (end == name || *end != '_' || v <= 0 || v > 99999)
        return -1;
    return (int)v;
}

int db_schema_latest(void)
{
    int latest = 0;
    for (size_t i = 0; schema_migrations_files[i].name; i++) {
        int v = migration_version(schema_migrations_files[i].name);
        if (v > latest)
            latest = v;
    }
    return latest;
}

int db_schema_version(struct db *db, int *ret)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db->handle, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_errno(rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_errno(rc);
}

int db_exec(struct db *db, const char *sql, struct perr *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->handle, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int e = db_errno(rc);
        perr_set(err, e ? e : -EIO, "%s: %s", db->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return e ? e : -EIO;
    }
    return 0;
}

int db_migrate_to(struct db *db, int target, struct perr *err)
{
    int current = 0, r;

    r = db_schema_version(db, &current);
    if (r < 0)
        return db_fail(db, SQLITE_ERROR, err, db->path);
    for (size_t i = 0; schema_migrations_files[i].name; i++) {
        const struct embedded_file *f = &schema_migrations_files[i];
        int v = migration_version(f->name);
        char pragma[64];
        if (v < 0)
            return perr_set(err, -EINVAL, "migration file name %s does not start with NNNN_",
                            f->name);
        if (v <= current || v > target)
            continue;
        if (v != current + 1)
            return perr_set(err, -EINVAL, "%s: migration %s does not follow version %d", db->path,
                            f->name, current);
        r = db_begin(db, err);
        if (r < 0)
            return r;
        r = db_exec(db, f->data, err);
        if (r == 0) {
            snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v);
            r = db_exec(db, pragma, err);
        }
        if (r == 0)
            r = db_commit(db, err);
        if (r < 0) {
            db_rollback(db);
            perr_prefix(err, "migration %s failed: ", f->name);
            return r;
        }
        current = v;
    }
    return 0;
}

/* Create the file ourselves so it is 0600 from the start; SQLite gives the
 * -wal and -shm files the same mode. */
static int create_private(const char *path, struct perr *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat st;
    if (fd < 0)
        return perr_set(err, -errno, "%s: cannot create: %s", path, strerror(errno));
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) && st.st_size == 0)
        (void)fchmod(fd, 0600);
    close(fd);
    return 0;
}

int db_open(const char *path, enum db_open_flags flags, struct db **ret, struct perr *err)
{
    struct db *db = calloc(1, sizeof(*db));
    int rc, r, version = 0, latest = db_schema_latest();
    int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;

    if (!db)
        return perr_set(err, -ENOMEM, "out of memory");
    db->path = strdup(path);
    if (!db->path) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (flags != DB_READONLY) {
        r = create_private(path, err);
        if (r < 0)
            goto fail;
        oflags |= SQLITE_OPEN_READWRITE;
    } else {
        if (access(path, F_OK) < 0) {
            r = perr_set(err, -ENOENT,
                         "%s: no database yet (run `plumb scan --once` or start plumbd first)",
                         path);
            goto fail;
        }
        oflags |= SQLITE_OPEN_READONLY;
    }
    rc = sqlite3_open_v2(path, &db->handle, oflags, NULL);
    if (rc != SQLITE_OK) {
        r = db_fail(db, rc, err, path);
        goto fail;
    }
    sqlite3_extended_result_codes(db->handle, 1);
    sqlite3_busy_timeout(db->handle, BUSY_TIMEOUT_MS);
    /* A file that is not a database shows up on the first read. */
    r = db_schema_version(db, &version);
    if (r < 0) {
        r = perr_set(err, r, "%s: not a plumb database or damaged: %s", path,
                     sqlite3_errmsg(db->handle));
        goto fail;
    }
    if (version > latest) {
        r = perr_set(err, -EPROTONOSUPPORT,
                     "%s: database schema version %d is newer than this plumb supports (%d); "
                     "upgrade plumb or point it at another database",
                     path, version, latest);
        goto fail;
    }
    if (flags != DB_READONLY) {
        r = db_exec(db, "PRAGMA journal_mode = WAL", err);
        if (r == 0)
            r = db_exec(db, "PRAGMA synchronous = NORMAL", err);
        if (r < 0)
            goto fail;
    } else if (version < latest) {
        r = perr_set(err, -ESTALE,
                     "%s: database schema version %d is older than this plumb (%d); start "
                     "plumbd or run `plumb scan --once` to migrate it",
                     path, version, latest);
        goto fail;
    }
    r = db_exec(db, "PRAGMA foreign_keys = ON", err);
    if (r == 0)
        r = db_exec(db, "PRAGMA temp_store = MEMORY", err);
    if (r < 0)
        goto fail;
    if (flags == DB_READWRITE && version < latest) {
        r = db_migrate_to(db, latest, err);
        if (r < 0)
            goto fail;
    }
    *ret = db;
    return 0;
fail:
    db_close(db);
    return r;
}

struct db *db_close(struct db *db)
{
    if (!db)
        return NULL;
    for (size_t i = 0; i < db->n_cache; i++)
        sqlite3_finalize(db->cache[i].stmt);
    if (db->handle)
        sqlite3_close_v2(db->handle);
    free(db->path);
    free(db);
    return NULL;
}

sqlite3 *db_handle(struct db *db)
{
    return db->handle;
}

const char *db_path(const struct db *db)
{
    return db->path;
}

sqlite3_stmt *db_stmt(struct db *db, const char *sql, struct perr *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    for (size_t i = 0; i < db->n_cache; i++) {
        if (db->cache[i].sql == sql || strcmp(db->cache[i].sql, sql) == 0) {
            st = db->cache[i].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    rc = sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, err, "prepare");
        return NULL;
    }
    if (db->n_cache == STMT_CACHE_MAX) {
        /* Evict the oldest; callers only hold a statement until their next
         * db_stmt() call on this connection. */
        sqlite3_finalize(db->cache[0].stmt);
        memmove(&db->cache[0], &db->cache[1], (STMT_CACHE_MAX - 1) * sizeof(db->cache[0]));
        db->n_cache--;
    }
    db->cache[db->n_cache].sql = sql;
    db->cache[db->n_cache].stmt = st;
    db->n_cache++;
    return st;
}

int db_begin(struct db *db, struct perr *err)
{
    return db_exec(db, "BEGIN IMMEDIATE", err);
}

int db_commit(struct db *db, struct perr *err)
{
    return db_exec(db, "COMMIT", err);
}

void db_rollback(struct db *db)
{
    if (!sqlite3_get_autocommit(db->handle))
        (void)sqlite3_exec(db->handle, "ROLLBACK", NULL, NULL, NULL);
}

int db_state_set(struct db *db, const char *key, const char *value, int64_t now_ms,
                 struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db,
                               "INSERT INTO daemon_state (key, value, updated_at) VALUES (?, ?, ?) "
                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                               "updated_at = excluded.updated_at",
                               err);
    int rc;
    if (!st)
        return err ? err->code : -EIO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "daemon_state");
}

int db_state_get(struct db *db, const char *key, char **ret, int64_t *ret_updated, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db, "SELECT value, updated_at FROM daemon_state WHERE key = ?", err);
    int rc;
    char *v = NULL;
    if (!st)
        return err ? err->code : -EIO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        v = strdup((const char *)sqlite3_column_text(st, 0));
        if (!v) {
            sqlite3_reset(st);
            return perr_set(err, -ENOMEM, "out of memory");
        }
        if (ret_updated)
            *ret_updated = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        sqlite3_reset(st);
        return db_fail(db, rc, err, "daemon_state");
    }
    sqlite3_reset(st);
    *ret = v;
    return 0;
}

int db_integrity_check(struct db *db, struct perr *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db->handle, "PRAGMA integrity_check", -1, &st, NULL);
    int r = 0;
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "integrity_check");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (!str_eq(line, "ok")) {
            r = perr_set(err, -EBADMSG, "%s: integrity check: %s", db->path, line);
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "integrity_check");
    sqlite3_finalize(st);
    return r;
}

int db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

char *db_column_strdup(sqlite3_stmt *st, int col, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    char *s;
    if (!t)
        return NULL;
    s = strdup((const char *)t);
    if (!s && oom)
        *oom = true;
    return s;
}
