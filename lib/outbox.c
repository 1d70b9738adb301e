#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void outbox_item_clear(struct outbox_item *item)
{
    free(item->sink);
    free(item->id);
    free(item->kind);
    free(item->dedupe_key);
    free(item->severity);
    free(item->resource_key);
    free(item->payload);
    memset(item, 0, sizeof(*item));
}

struct outbox_item *outbox_items_free(struct outbox_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        outbox_item_clear(&items[i]);
    free(items);
    return NULL;
}

/* The scan walks the sink's pending deliveries in event order (index
 * deliveries_sink, which covers next_attempt_at) and stops after `limit`,
 * so a large backlog costs one index walk and no sort.  A candidate is held
 * back by an earlier pending delivery to the same sink of the same dedupe
 * key (index events_dedupe) or the same resource (index events_resource),
 * each checked from the (few) earlier events of that key.  INDEXED BY and
 * CROSS JOIN pin this plan: without statistics SQLite prefers
 * deliveries_due plus a sort, which evaluates the checks for every due
 * row. */
static const char due_sql[] =
    "SELECT d.event_seq, d.attempts, d.next_attempt_at, e.id, e.kind, e.dedupe_key, "
    "e.severity, e.resource_key, e.payload, e.created_at "
    "FROM deliveries d INDEXED BY deliveries_sink JOIN events e ON e.seq = d.event_seq "
    "WHERE d.sink = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2 "
    "AND NOT EXISTS (SELECT 1 FROM events e2 CROSS JOIN deliveries d2 "
    "  ON d2.event_seq = e2.seq AND d2.sink = ?1 "
    "  WHERE e2.dedupe_key = e.dedupe_key AND e2.seq < e.seq AND d2.state = 'pending') "
    "AND (e.resource_key IS NULL OR NOT EXISTS (SELECT 1 FROM events e3 CROSS JOIN deliveries d3 "
    "  ON d3.event_seq = e3.seq AND d3.sink = ?1 "
    "  WHERE e3.resource_key = e.resource_key AND e3.seq < e.seq AND d3.state = 'pending')) "
    "ORDER BY d.event_seq LIMIT ?3";

int outbox_due(struct db *db, const char *sink, int64_t now_ms, size_t limit,
               struct outbox_item **ret, size_t *ret_n, struct perr *err)
{
    struct outbox_item *items = NULL;
    size_t n = 0;
    sqlite3_stmt *st;
    bool oom = false;
    int rc = SQLITE_DONE;

    if (limit == 0) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    st = db_stmt(db, due_sql, err);
    if (!st)
        return err->code;
    items = calloc(limit, sizeof(*items));
    if (!items)
        return perr_set(err, -ENOMEM, "out of memory");
    sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct outbox_item *it = &items[n++];
        it->seq = sqlite3_column_int64(st, 0);
        it->attempts = sqlite3_column_int64(st, 1);
        it->next_attempt_at = sqlite3_column_int64(st, 2);
        it->sink = strdup(sink);
        if (!it->sink)
            oom = true;
        it->id = db_column_strdup(st, 3, &oom);
        it->kind = db_column_strdup(st, 4, &oom);
        it->dedupe_key = db_column_strdup(st, 5, &oom);
        it->severity = db_column_strdup(st, 6, &oom);
        it->resource_key = db_column_strdup(st, 7, &oom);
        it->payload = db_column_strdup(st, 8, &oom);
        it->created_at = sqlite3_column_int64(st, 9);
        if (oom)
            break;
    }
    if (n == limit && !oom)
        rc = SQLITE_DONE;
    sqlite3_reset(st);
    if (oom) {
        outbox_items_free(items, n);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    if (rc != SQLITE_DONE) {
        outbox_items_free(items, n);
        return db_fail(db, rc, err, "outbox");
    }
    if (n == 0)
        items = outbox_items_free(items, 0);
    *ret = items;
    *ret_n = n;
    return 0;
}

int outbox_next_due(struct db *db, const char *const *sinks, int64_t after_ms, int64_t *ret_ms,
                    struct perr *err)
{
    int64_t best = 0;
    for (size_t i = 0; sinks && sinks[i]; i++) {
        sqlite3_stmt *st = db_stmt(db,
                                   "SELECT min(next_attempt_at) FROM deliveries WHERE sink = ?1 "
                                   "AND state = 'pending' AND next_attempt_at > ?2",
                                   err);
        int rc;
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, sinks[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, after_ms);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            int64_t t = sqlite3_column_int64(st, 0);
            if (best == 0 || t < best)
                best = t;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return db_fail(db, rc, err, "outbox");
    }
    *ret_ms = best;
    return 0;
}

/* Length of the longest prefix of s, at most max bytes, that does not end
 * inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

int outbox_record(struct db *db, int64_t seq, const char *sink, enum outbox_state state,
                  int64_t at_ms, const char *error, struct perr *err)
{
    sqlite3_stmt *st;
    int rc;

    switch (state) {
    case OUTBOX_DELIVERED:
        st = db_stmt(db,
                     "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, "
                     "delivered_at = ?3, last_error = NULL WHERE event_seq = ?1 AND sink = ?2 "
                     "AND state = 'pending'",
                     err);
        break;
    case OUTBOX_RETRY:
        st = db_stmt(db,
                     "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?3, "
                     "last_error = ?4 WHERE event_seq = ?1 AND sink = ?2 AND state = 'pending'",
                     err);
        break;
    case OUTBOX_FAILED:
        st = db_stmt(db,
                     "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, "
                     "last_error = ?4 WHERE event_seq = ?1 AND sink = ?2 AND state = 'pending' "
                     "AND ?3 = ?3",
                     err);
        break;
    default: return perr_set(err, -EINVAL, "unknown delivery state %d", (int)state);
    }
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, at_ms);
    if (state != OUTBOX_DELIVERED) {
        const char *e = error ? error : "unknown error";
        sqlite3_bind_text(st, 4, e, (int)utf8_cut(e, OUTBOX_MAX_ERROR), SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "deliveries");
    return sqlite3_changes(db_handle(db)) > 0 ? 1 : 0;
}

static int set_time(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
    char t[32];
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_object_set_new(o, key, json_null());
    time_format_iso8601_ms(sqlite3_column_int64(st, col), t, sizeof(t));
    return json_object_set_new(o, key, json_string(t));
}

static int set_text(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    json_t *v = s ? json_string(s) : json_null();
    /* A string that is not UTF-8 (never written by plumb) shows as null
     * rather than failing the listing. */
    return json_object_set_new(o, key, v ? v : json_null());
}

static int add_deliveries(struct db *db, json_t *ev, int64_t seq, const char *sink,
                          struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db,
                               "SELECT sink, state, attempts, last_error, delivered_at, "
                               "CASE WHEN state = 'pending' THEN next_attempt_at END "
                               "FROM deliveries WHERE event_seq = ?1 AND (?2 IS NULL OR sink = ?2) "
                               "ORDER BY sink",
                               err);
    json_t *list = json_array();
    int rc, r = 0;

    if (!st) {
        json_decref(list);
        return err->code;
    }
    if (!list)
        return perr_set(err, -ENOMEM, "out of memory");
    sqlite3_bind_int64(st, 1, seq);
    db_bind_text(st, 2, sink);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *d = json_object();
        if (!d || set_text(d, "sink", st, 0) < 0 || set_text(d, "state", st, 1) < 0 ||
            json_object_set_new(d, "attempts", json_integer(sqlite3_column_int64(st, 2))) < 0 ||
            set_text(d, "last_error", st, 3) < 0 || set_time(d, "delivered_at", st, 4) < 0 ||
            set_time(d, "next_attempt_at", st, 5) < 0) {
            json_decref(d);
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
        if (json_array_append_new(list, d) < 0) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
    }
    sqlite3_reset(st);
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "deliveries");
    if (r == 0 && json_object_set_new(ev, "deliveries", list) < 0)
        return perr_set(err, -ENOMEM, "out of memory");
    if (r < 0)
        json_decref(list);
    return r;
}

/* Copy key from the stored payload (null when absent or unreadable). */
static int copy_from_payload(json_t *ev, const json_t *payload, const char *key)
{
    json_t *v = payload ? json_object_get(payload, key) : NULL;
    return json_object_set_new(ev, key, v ? json_deep_copy(v) : json_null());
}

static const char list_sql[] =
    "SELECT seq, id, kind, dedupe_key, severity, payload, created_at, account, region "
    "FROM events e WHERE (?1 = 0 OR created_at >= ?1) AND (?2 IS NULL OR kind GLOB ?2) "
    "AND (?3 = 0 OR EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq "
    "  AND d.state = 'failed' AND (?4 IS NULL OR d.sink = ?4))) "
    "AND (?4 IS NULL OR EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq "
    "  AND d.sink = ?4)) "
    "ORDER BY seq DESC LIMIT ?5";

int outbox_list(struct db *db, const struct outbox_filter *f, json_t **ret, struct perr *err)
{
    sqlite3_stmt *st;
    json_t *out = json_array(), *rev = NULL;
    int rc, r = 0;
    size_t i;

    if (!out)
        return perr_set(err, -ENOMEM, "out of memory");
    /* The statement is not cached: add_deliveries() uses the cache while
     * this one is being stepped. */
    rc = sqlite3_prepare_v2(db_handle(db), list_sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        json_decref(out);
        return db_fail(db, rc, err, "events");
    }
    sqlite3_bind_int64(st, 1, f->since_ms);
    db_bind_text(st, 2, f->kind_glob);
    sqlite3_bind_int(st, 3, f->failed_only);
    db_bind_text(st, 4, f->sink);
    sqlite3_bind_int64(st, 5, f->limit ? (int64_t)MIN(f->limit, (size_t)INT64_MAX) : -1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 5);
        json_t *payload = text ? json_loads(text, 0, NULL) : NULL;
        json_t *ev = json_object();
        int64_t seq = sqlite3_column_int64(st, 0);
        if (!ev || json_object_set_new(ev, "seq", json_integer(seq)) < 0 ||
            set_text(ev, "id", st, 1) < 0 || set_text(ev, "kind", st, 2) < 0 ||
            set_text(ev, "dedupe_key", st, 3) < 0 || set_text(ev, "severity", st, 4) < 0 ||
            copy_from_payload(ev, payload, "category") < 0 ||
            copy_from_payload(ev, payload, "resource") < 0 || set_text(ev, "account", st, 7) < 0 ||
            set_text(ev, "region", st, 8) < 0 || set_time(ev, "created_at", st, 6) < 0 ||
            copy_from_payload(ev, payload, "summary") < 0) {
            json_decref(payload);
            json_decref(ev);
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
        json_decref(payload);
        r = add_deliveries(db, ev, seq, f->sink, err);
        if (r < 0 || json_array_append_new(out, ev) < 0) {
            if (r == 0)
                r = perr_set(err, -ENOMEM, "out of memory");
            else
                json_decref(ev);
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "events");
    sqlite3_finalize(st);
    if (r < 0) {
        json_decref(out);
        return r;
    }
    /* Selected newest first (for the limit); shown oldest first. */
    rev = json_array();
    if (!rev) {
        json_decref(out);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    for (i = json_array_size(out); i > 0; i--)
        if (json_array_append(rev, json_array_get(out, i - 1)) < 0) {
            json_decref(out);
            json_decref(rev);
            return perr_set(err, -ENOMEM, "out of memory");
        }
    json_decref(out);
    *ret = rev;
    return 0;
}

int outbox_requeue_failed(struct db *db, const struct outbox_filter *f, int64_t now_ms,
                          int64_t *ret_count, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db,
                               "UPDATE deliveries SET state = 'pending', next_attempt_at = ?1 "
                               "WHERE state = 'failed' AND (?2 IS NULL OR sink = ?2) "
                               "AND event_seq IN (SELECT seq FROM events WHERE "
                               "(?3 = 0 OR created_at >= ?3) AND (?4 IS NULL OR kind GLOB ?4))",
                               err);
    int rc;
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, now_ms);
    db_bind_text(st, 2, f->sink);
    sqlite3_bind_int64(st, 3, f->since_ms);
    db_bind_text(st, 4, f->kind_glob);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "deliveries");
    if (ret_count)
        *ret_count = sqlite3_changes(db_handle(db));
    return 0;
}
