#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

int snapshot_cycle_begin(struct db *db, const char *collector, int64_t now_ms,
                         int64_t *ret_cycle_id, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db, "INSERT INTO cycles (collector, started_at) VALUES (?, ?)", err);
    int rc;
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, collector, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "cycles");
    *ret_cycle_id = sqlite3_last_insert_rowid(db_handle(db));
    return 0;
}

int snapshot_cycle_finish(struct db *db, int64_t cycle_id, const struct snapshot_cycle_end *end,
                          const struct snapshot_stats *stats, int64_t now_ms, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db,
                               "UPDATE cycles SET finished_at = ?, status = ?, api_calls = ?, "
                               "throttled = ?, errors = ?, resources_seen = ?, "
                               "versions_written = ?, tombstones = ?, unknown = ? WHERE id = ?",
                               err);
    char *unknown = NULL;
    int rc;
    if (!st)
        return err->code;
    if (end->unknown && json_array_size(end->unknown) > 0) {
        unknown = json_dumps(end->unknown, JSON_COMPACT);
        if (!unknown)
            return perr_set(err, -ENOMEM, "out of memory");
    }
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, end->status ? end->status : "ok", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, end->api_calls);
    sqlite3_bind_int64(st, 4, end->throttled);
    sqlite3_bind_int64(st, 5, end->errors);
    sqlite3_bind_int64(st, 6, stats ? stats->resources_seen : 0);
    sqlite3_bind_int64(st, 7, stats ? stats->versions_written : 0);
    sqlite3_bind_int64(st, 8, stats ? stats->tombstones : 0);
    db_bind_text(st, 9, unknown);
    sqlite3_bind_int64(st, 10, cycle_id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(unknown);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "cycles");
    return 0;
}

static int write_coverage(struct db *db, const struct snapshot_batch *b,
                          const struct snapshot_scope *s, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(
        db,
        "INSERT INTO coverage (account, region, type, status, detail, cycle_id, checked_at, "
        "last_ok_at, unknown_since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "CASE WHEN ?4 = 'ok' THEN ?7 END, CASE WHEN ?4 = 'ok' THEN NULL ELSE ?7 END) "
        "ON CONFLICT (account, region, type) DO UPDATE SET status = excluded.status, "
        "detail = excluded.detail, cycle_id = excluded.cycle_id, checked_at = excluded.checked_at, "
        "last_ok_at = COALESCE(excluded.last_ok_at, coverage.last_ok_at), "
        "unknown_since = CASE WHEN excluded.status = 'ok' THEN NULL "
        "ELSE COALESCE(coverage.unknown_since, excluded.unknown_since) END",
        err);
    int rc;
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, s->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, s->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, collect_status_name(s->status), -1, SQLITE_STATIC);
    db_bind_text(st, 5, s->detail);
    sqlite3_bind_int64(st, 6, b->cycle_id);
    sqlite3_bind_int64(st, 7, b->observed_at);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "coverage");
}

static int insert_version(struct db *db, const char *key, const unsigned char *hash,
                          const struct snapshot_batch *b, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(
        db, "INSERT INTO versions (resource_key, hash, cycle_id, observed_at) VALUES (?, ?, ?, ?)",
        err);
    int rc;
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (hash)
        sqlite3_bind_blob(st, 2, hash, SHA256_LEN, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, b->cycle_id);
    sqlite3_bind_int64(st, 4, b->observed_at);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "versions");
}

/* Store one resource; sets *changed when it wrote a version. */
static int write_resource(struct db *db, const struct snapshot_batch *b, const struct resource *r,
                          const char *key, bool *changed, struct perr *err)
{
    unsigned char hash[SHA256_LEN];
    char *doc = NULL;
    sqlite3_stmt *st;
    int rc, r2;

    *changed = false;
    doc = resource_canonical(r);
    if (!doc)
        return perr_set(err, -ENOMEM, "out of memory");
    r2 = sha256(doc, strlen(doc), hash);
    if (r2 < 0) {
        free(doc);
        return perr_set(err, r2, "sha256 failed");
    }
    st = db_stmt(db, "SELECT hash, deleted_at FROM resources WHERE key = ?", err);
    if (!st) {
        free(doc);
        return err->code;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) == SQLITE_NULL &&
        sqlite3_column_bytes(st, 0) == SHA256_LEN &&
        memcmp(sqlite3_column_blob(st, 0), hash, SHA256_LEN) == 0) {
        sqlite3_reset(st);
        free(doc);
        return 0;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(doc);
        return db_fail(db, rc, err, "resources");
    }

    st = db_stmt(db, "INSERT OR IGNORE INTO blobs (hash, doc) VALUES (?, ?)", err);
    if (!st) {
        free(doc);
        return err->code;
    }
    sqlite3_bind_blob(st, 1, hash, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, doc, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(doc);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "blobs");

    r2 = insert_version(db, key, hash, b, err);
    if (r2 < 0)
        return r2;

    st = db_stmt(
        db,
        "INSERT INTO resources (key, partition, account, region, type, aws_type, id, arn, "
        "hash, source, first_seen, changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11, ?11) ON CONFLICT (key) DO UPDATE SET partition = excluded.partition, "
        "aws_type = excluded.aws_type, arn = excluded.arn, hash = excluded.hash, "
        "source = excluded.source, changed_at = excluded.changed_at, deleted_at = NULL",
        err);
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->partition ? r->partition : "aws", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->type, -1, SQLITE_STATIC);
    db_bind_text(st, 6, r->aws_type);
    sqlite3_bind_text(st, 7, r->id, -1, SQLITE_STATIC);
    db_bind_text(st, 8, r->arn);
    sqlite3_bind_blob(st, 9, hash, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, r->source ? r->source : "describe", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, b->observed_at);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "resources");
    *changed = true;
    return 0;
}

/* Tombstone resources of a successfully read scope that the batch lacks. */
static int tombstone_scope(struct db *db, const struct snapshot_batch *b,
                           const struct snapshot_scope *s, json_t *seen, int64_t *count,
                           struct perr *err)
{
    sqlite3_stmt *st;
    char **gone = NULL;
    int rc, r = 0;

    st = db_stmt(db,
                 "SELECT key FROM resources WHERE account = ? AND region = ? AND type = ? "
                 "AND deleted_at IS NULL",
                 err);
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, s->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, s->type, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (json_object_get(seen, key))
            continue;
        if (strv_push(&gone, key) < 0) {
            sqlite3_reset(st);
            strv_free(gone);
            return perr_set(err, -ENOMEM, "out of memory");
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        strv_free(gone);
        return db_fail(db, rc, err, "resources");
    }
    for (size_t i = 0; gone && gone[i]; i++) {
        st = db_stmt(db, "UPDATE resources SET hash = NULL, deleted_at = ? WHERE key = ?", err);
        if (!st) {
            r = err->code;
            break;
        }
        sqlite3_bind_int64(st, 1, b->observed_at);
        sqlite3_bind_text(st, 2, gone[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            r = db_fail(db, rc, err, "resources");
            break;
        }
        r = insert_version(db, gone[i], NULL, b, err);
        if (r < 0)
            break;
        (*count)++;
    }
    strv_free(gone);
    return r;
}

static const struct snapshot_scope *scope_of(const struct snapshot_batch *b,
                                             const struct resource *r)
{
    for (size_t i = 0; i < b->n_scopes; i++) {
        const struct snapshot_scope *s = &b->scopes[i];
        if (str_eq(s->account, r->account) && str_eq(s->region, r->region) &&
            str_eq(s->type, r->type))
            return s;
    }
    return NULL;
}

int snapshot_write(struct db *db, const struct snapshot_batch *b, struct snapshot_stats *stats,
                   struct perr *err)
{
    struct snapshot_stats local = { 0 };
    json_t *seen = json_object();
    int r;

    if (!seen)
        return perr_set(err, -ENOMEM, "out of memory");
    /* Validate before touching the database: a resource outside the
     * declared scopes would escape tombstoning rules. */
    for (size_t i = 0; i < b->n_resources; i++) {
        const struct resource *res = b->resources[i];
        if (!res->account || !res->region || !res->type || !res->id || !*res->id) {
            json_decref(seen);
            return perr_set(err, -EINVAL, "resource %zu of the batch lacks account/region/type/id",
                            i);
        }
        if (!scope_of(b, res)) {
            json_decref(seen);
            return perr_set(err, -EINVAL, "resource %s/%s/%s/%s is outside the batch's scopes",
                            res->account, res->region, res->type, res->id);
        }
    }
    r = db_begin(db, err);
    if (r < 0) {
        json_decref(seen);
        return r;
    }
    for (size_t i = 0; i < b->n_scopes && r == 0; i++)
        r = write_coverage(db, b, &b->scopes[i], err);
    for (size_t i = 0; i < b->n_resources && r == 0; i++) {
        const struct resource *res = b->resources[i];
        char *key = resource_key(res);
        bool changed = false;
        if (!key) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
        r = write_resource(db, b, res, key, &changed, err);
        if (r == 0 && json_object_set_new(seen, key, json_true()) < 0)
            r = perr_set(err, -ENOMEM, "out of memory");
        free(key);
        local.resources_seen++;
        if (changed)
            local.versions_written++;
    }
    for (size_t i = 0; i < b->n_scopes && r == 0; i++)
        if (b->scopes[i].status == COLLECT_OK)
            r = tombstone_scope(db, b, &b->scopes[i], seen, &local.tombstones, err);
    json_decref(seen);
    if (r == 0)
        r = db_commit(db, err);
    if (r < 0) {
        db_rollback(db);
        return r;
    }
    if (stats) {
        stats->resources_seen += local.resources_seen;
        stats->versions_written += local.versions_written;
        stats->tombstones += local.tombstones;
    }
    return 0;
}

/* Decode a stored document plus the row's source. */
static int decode(const char *doc, const char *source, struct resource **ret, struct perr *err)
{
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    int r;
    if (!j)
        return perr_set(err, -EBADMSG, "stored document is not JSON: %s", jerr.text);
    r = resource_from_json(j, ret);
    json_decref(j);
    if (r < 0)
        return perr_set(err, r, "stored document is not a resource");
    if (source && str_replace(&(*ret)->source, source) < 0) {
        *ret = resource_free(*ret);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

int snapshot_foreach(struct db *db, const struct snapshot_filter *f, snapshot_resource_cb cb,
                     void *userdata, struct perr *err)
{
    /* The WHERE clause is assembled from fixed fragments so that each
     * combination uses the resources_scope/resources_type indexes. */
    struct buf sql;
    sqlite3_stmt *st = NULL;
    int rc, r = 0, idx = 1;

    buf_init(&sql, 4096);
    if (buf_append_str(&sql, "SELECT r.source, r.first_seen, r.changed_at, r.deleted_at, "
                             "COALESCE(b.doc, (SELECT b2.doc FROM versions v JOIN blobs b2 ON "
                             "b2.hash = v.hash WHERE v.resource_key = r.key ORDER BY v.id DESC "
                             "LIMIT 1)) FROM resources r LEFT JOIN blobs b ON b.hash = r.hash "
                             "WHERE 1") < 0 ||
        (f && f->type && buf_append_str(&sql, " AND r.type = ?") < 0) ||
        (f && f->account && buf_append_str(&sql, " AND r.account = ?") < 0) ||
        (f && f->region && buf_append_str(&sql, " AND r.region = ?") < 0) ||
        ((!f || !f->include_deleted) && buf_append_str(&sql, " AND r.deleted_at IS NULL") < 0) ||
        buf_append_str(&sql, " ORDER BY r.key") < 0) {
        buf_free(&sql);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    rc = sqlite3_prepare_v2(db_handle(db), buf_str(&sql), -1, &st, NULL);
    buf_free(&sql);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "resources");
    if (f && f->type)
        sqlite3_bind_text(st, idx++, f->type, -1, SQLITE_STATIC);
    if (f && f->account)
        sqlite3_bind_text(st, idx++, f->account, -1, SQLITE_STATIC);
    if (f && f->region)
        sqlite3_bind_text(st, idx++, f->region, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct resource *res = NULL;
        const char *doc = (const char *)sqlite3_column_text(st, 4);
        if (!doc)
            continue;
        r = decode(doc, (const char *)sqlite3_column_text(st, 0), &res, err);
        if (r < 0)
            break;
        r = cb(res, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
               sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3),
               userdata);
        resource_free(res);
        if (r < 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "resources");
    sqlite3_finalize(st);
    return r;
}

int snapshot_get(struct db *db, const char *key_or_arn, struct resource **ret, char **ret_key,
                 struct perr *err)
{
    sqlite3_stmt *st;
    const char *colon = strchr(key_or_arn, ':');
    char *key = NULL, *source = NULL, *doc = NULL;
    bool oom = false;
    int rc, r;

    if (str_has_prefix(key_or_arn, "arn:")) {
        st = db_stmt(db,
                     "SELECT key FROM resources WHERE arn = ? ORDER BY deleted_at IS NOT NULL "
                     "LIMIT 1",
                     err);
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, key_or_arn, -1, SQLITE_STATIC);
    } else if (colon && !strchr(key_or_arn, '/')) {
        st = db_stmt(db,
                     "SELECT key FROM resources WHERE type = ? AND id = ? ORDER BY deleted_at IS "
                     "NOT NULL, key LIMIT 1",
                     err);
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, key_or_arn, (int)(colon - key_or_arn), SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, colon + 1, -1, SQLITE_STATIC);
    } else {
        st = db_stmt(db, "SELECT key FROM resources WHERE key = ?", err);
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, key_or_arn, -1, SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        key = db_column_strdup(st, 0, &oom);
    sqlite3_reset(st);
    if (oom)
        return perr_set(err, -ENOMEM, "out of memory");
    if (rc == SQLITE_DONE)
        return perr_set(err, -ENOENT, "no resource %s in the database", key_or_arn);
    if (rc != SQLITE_ROW)
        return db_fail(db, rc, err, "resources");

    st = db_stmt(db,
                 "SELECT r.source, COALESCE(b.doc, (SELECT b2.doc FROM versions v JOIN blobs b2 "
                 "ON b2.hash = v.hash WHERE v.resource_key = r.key ORDER BY v.id DESC LIMIT 1)) "
                 "FROM resources r LEFT JOIN blobs b ON b.hash = r.hash WHERE r.key = ?",
                 err);
    if (!st) {
        free(key);
        return err->code;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        source = db_column_strdup(st, 0, &oom);
        doc = db_column_strdup(st, 1, &oom);
    }
    sqlite3_reset(st);
    r = oom                        ? perr_set(err, -ENOMEM, "out of memory")
        : rc != SQLITE_ROW || !doc ? perr_set(err, -ENOENT, "no document for %s", key)
                                   : decode(doc, source, ret, err);
    free(source);
    free(doc);
    if (r == 0 && ret_key)
        *ret_key = key;
    else
        free(key);
    return r;
}

int snapshot_history(struct db *db, const char *key, snapshot_version_cb cb, void *userdata,
                     struct perr *err)
{
    sqlite3_stmt *st;
    int rc, r = 0;
    rc = sqlite3_prepare_v2(db_handle(db),
                            "SELECT v.id, v.observed_at, b.doc FROM versions v LEFT JOIN blobs b "
                            "ON b.hash = v.hash WHERE v.resource_key = ? ORDER BY v.id",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "versions");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct resource *res = NULL;
        const char *doc = (const char *)sqlite3_column_text(st, 2);
        if (doc) {
            r = decode(doc, NULL, &res, err);
            if (r < 0)
                break;
        }
        r = cb(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), res, userdata);
        resource_free(res);
        if (r < 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "versions");
    sqlite3_finalize(st);
    return r;
}

int snapshot_coverage(struct db *db, const char *account, const char *region, const char *type,
                      enum collect_status *ret, char **ret_detail, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(
        db, "SELECT status, detail FROM coverage WHERE account = ? AND region = ? AND type = ?",
        err);
    bool oom = false;
    char *detail = NULL;
    int rc;
    enum collect_status s = COLLECT_NOT_COLLECTED;

    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (collect_status_from_name((const char *)sqlite3_column_text(st, 0), &s) < 0)
            s = COLLECT_ERROR;
        detail = db_column_strdup(st, 1, &oom);
    }
    sqlite3_reset(st);
    if (oom)
        return perr_set(err, -ENOMEM, "out of memory");
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, rc, err, "coverage");
    *ret = s;
    if (ret_detail)
        *ret_detail = detail;
    else
        free(detail);
    return 0;
}
