#include "events.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "util.h"

/* Drift is configuration change: NIS2 Art. 21(2)(e) (security in the
 * maintenance of network and information systems) and DORA Art. 9(4)(e)
 * (ICT change management). */
static const char *const drift_nis2[] = { "21.2.e", NULL };
static const char *const drift_dora[] = { "Art 9", NULL };

char *events_drift_key(const struct drift_item *d)
{
    const char *who = d->resource_key ? d->resource_key : d->address;
    /* A missing resource has no live key; its address is only unique
     * within its state (the workspaces of one configuration share every
     * address), so the source is part of the key.  A conflict is about one
     * live resource declared several times: keyed by that resource. */
    if (str_eq(d->category, "missing")) {
        if (d->source && d->address)
            return str_printf("drift:missing:%s:%s", d->source, d->address);
        who = d->address ? d->address : d->resource_key;
    }
    return str_printf("drift:%s:%s", d->category, who ? who : "");
}

char *events_finding_key(const struct finding_item *f)
{
    return str_printf("control:%s:%s", f->control, f->resource_key);
}

static json_t *strv_json(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && v[i]; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static bool glob_any(char *const *patterns, const char *s)
{
    for (size_t i = 0; patterns && patterns[i]; i++)
        if (s && fnmatch(patterns[i], s, 0) == 0)
            return true;
    return false;
}

static bool tags_match(char *const *wanted, const json_t *tags)
{
    for (size_t i = 0; wanted && wanted[i]; i++) {
        const char *eq = strchr(wanted[i], '=');
        char key[256];
        const json_t *v;
        size_t klen = eq ? (size_t)(eq - wanted[i]) : strlen(wanted[i]);
        if (klen >= sizeof(key))
            continue;
        memcpy(key, wanted[i], klen);
        key[klen] = '\0';
        v = tags ? json_object_get(tags, key) : NULL;
        if (v && (!eq || str_eq(json_string_value(v), eq + 1)))
            return true;
    }
    return false;
}

bool events_filter_match(const struct config_filter *f, const char *kind, enum severity sev,
                         const char *category, const char *account, const json_t *tags)
{
    if (!f)
        return true;
    if (sev < f->min_severity)
        return false;
    if (f->kinds && f->kinds[0] && !glob_any(f->kinds, kind))
        return false;
    if (f->categories && f->categories[0] && !(category && strv_contains(f->categories, category)))
        return false;
    if (f->accounts && f->accounts[0] && !(account && strv_contains(f->accounts, account)))
        return false;
    if (f->tags && f->tags[0] && !tags_match(f->tags, tags))
        return false;
    return true;
}

int events_emit(struct events_ctx *ctx, const char *kind, const char *dedupe_key,
                enum severity severity, const char *category, const char *resource_key,
                const char *account, const char *region, const json_t *tags, json_t *payload,
                char *ret_id, struct perr *err)
{
    char id[40], created[32];
    json_t *doc = json_deep_copy(payload);
    char *text = NULL;
    sqlite3_stmt *st;
    int64_t seq;
    int rc, r;
    bool digest = str_has_prefix(kind, "digest.");

    if (!doc)
        return perr_set(err, -ENOMEM, "out of memory");
    r = uuid_v4(id, sizeof(id));
    if (r < 0) {
        json_decref(doc);
        return perr_set(err, r, "no randomness for event ids");
    }
    time_format_iso8601_ms(ctx->now_ms, created, sizeof(created));
    if (json_object_set_new(doc, "schema", json_string(EVENT_SCHEMA)) < 0 ||
        json_object_set_new(doc, "id", json_string(id)) < 0 ||
        json_object_set_new(doc, "kind", json_string(kind)) < 0 ||
        json_object_set_new(doc, "dedupe_key", json_string(dedupe_key)) < 0 ||
        json_object_set_new(doc, "severity", json_string(severity_name(severity))) < 0 ||
        json_object_set_new(doc, "created_at", json_string(created)) < 0 ||
        !(text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS))) {
        json_decref(doc);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    json_decref(doc);
    st = db_stmt(ctx->db,
                 "INSERT INTO events (id, kind, dedupe_key, severity, resource_key, account, "
                 "region, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 err);
    if (!st) {
        free(text);
        return err->code;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, dedupe_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, severity_name(severity), -1, SQLITE_STATIC);
    db_bind_text(st, 5, resource_key);
    db_bind_text(st, 6, account);
    db_bind_text(st, 7, region);
    sqlite3_bind_text(st, 8, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, ctx->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(text);
    if (rc != SQLITE_DONE)
        return db_fail(ctx->db, rc, err, "events");
    seq = sqlite3_last_insert_rowid(db_handle(ctx->db));
    for (size_t i = 0; i < ctx->n_sinks; i++) {
        const struct event_sink *s = &ctx->sinks[i];
        if (s->digest != digest)
            continue;
        if (!digest && !events_filter_match(s->filter, kind, severity, category, account, tags))
            continue;
        st = db_stmt(ctx->db,
                     "INSERT INTO deliveries (event_seq, sink, state, attempts, next_attempt_at) "
                     "VALUES (?, ?, 'pending', 0, ?)",
                     err);
        if (!st)
            return err->code;
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_text(st, 2, s->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, ctx->now_ms);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(ctx->db, rc, err, "deliveries");
        ctx->stats.deliveries++;
    }
    ctx->stats.events++;
    if (ret_id)
        memcpy(ret_id, id, 37);
    return 0;
}

/* ---- drift ---- */

struct drift_row {
    char *key;
    char *category;
    char *resource_key;
    char *type;
    char *id;
    char *arn;
    char *account;
    char *region;
    char *address;
    char *source;
    char *changes;
    char *severity;
    char *exception;
    char *tags;
    int64_t first_seen;
    bool resolved;
};

static void drift_row_free(struct drift_row *r)
{
    free(r->key);
    free(r->category);
    free(r->resource_key);
    free(r->type);
    free(r->id);
    free(r->arn);
    free(r->account);
    free(r->region);
    free(r->address);
    free(r->source);
    free(r->changes);
    free(r->severity);
    free(r->exception);
    free(r->tags);
    memset(r, 0, sizeof(*r));
}

static int json_set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static json_t *drift_payload(struct events_ctx *ctx, const char *category, const char *resource_key,
                             const char *type, const char *id, const char *arn, const char *account,
                             const char *region, const char *address, const char *source,
                             const json_t *changes, int64_t first_seen, const char *exception)
{
    json_t *p = json_object(), *res = json_object();
    char fs[32], ls[32], *summary;
    size_t nchanges = json_array_size(changes);

    if (!p || !res)
        goto oom;
    time_format_iso8601(first_seen, fs, sizeof(fs));
    time_format_iso8601(ctx->now_ms, ls, sizeof(ls));
    if (str_eq(category, "changed"))
        summary = str_printf("%s %s changed outside Terraform (%zu attribute%s)", type,
                             id ? id : "", nchanges, nchanges == 1 ? "" : "s");
    else if (str_eq(category, "missing"))
        summary = str_printf("%s declared as %s is missing in AWS", type, address ? address : "");
    else if (str_eq(category, "unmanaged"))
        summary = str_printf("%s %s exists in AWS but in no Terraform state", type, id ? id : "");
    else
        summary = str_printf("%s %s is declared in several Terraform states", type, id ? id : "");
    if (!summary)
        goto oom;
    if (json_set_str(res, "key", resource_key) < 0 || json_set_str(res, "type", type) < 0 ||
        json_set_str(res, "id", id) < 0 || json_set_str(res, "arn", arn) < 0 ||
        json_set_str(res, "address", address) < 0 || json_set_str(res, "source", source) < 0 ||
        json_object_set_new(p, "category", json_string(category)) < 0 ||
        json_object_set_new(p, "summary", json_string(summary)) < 0 ||
        json_object_set(p, "resource", res) < 0 || json_set_str(p, "account", account) < 0 ||
        json_set_str(p, "region", region) < 0 ||
        json_object_set_new(p, "changes", changes ? json_deep_copy(changes) : json_array()) < 0 ||
        json_object_set_new(p, "first_seen", json_string(fs)) < 0 ||
        json_object_set_new(p, "last_seen", json_string(ls)) < 0 ||
        json_object_set_new(p, "nis2", strv_json(drift_nis2)) < 0 ||
        json_object_set_new(p, "dora", strv_json(drift_dora)) < 0 ||
        json_set_str(p, "exception", exception) < 0) {
        free(summary);
        goto oom;
    }
    free(summary);
    json_decref(res);
    return p;
oom:
    json_decref(p);
    json_decref(res);
    return NULL;
}

static int emit_drift(struct events_ctx *ctx, const char *kind, const char *key, enum severity sev,
                      const char *category, const char *resource_key, const char *type,
                      const char *id, const char *arn, const char *account, const char *region,
                      const char *address, const char *source, const json_t *changes,
                      const json_t *tags, int64_t first_seen, struct perr *err)
{
    json_t *p = drift_payload(ctx, category, resource_key, type, id, arn, account, region, address,
                              source, changes, first_seen, NULL);
    int r;
    if (!p)
        return perr_set(err, -ENOMEM, "out of memory");
    if (tags && json_object_set(p, "tags", (json_t *)tags) < 0) {
        json_decref(p);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    r = events_emit(ctx, kind, key, sev, category, resource_key, account, region, tags, p, NULL,
                    err);
    json_decref(p);
    return r;
}

static int load_drift_rows(struct events_ctx *ctx, struct drift_row **ret, size_t *ret_n,
                           struct perr *err)
{
    sqlite3_stmt *st;
    struct drift_row *rows = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    int rc;

    rc = sqlite3_prepare_v2(db_handle(ctx->db),
                            "SELECT key, category, resource_key, type, id, arn, account, region, "
                            "address, source, changes, severity, exception, first_seen, "
                            "resolved_at IS NOT NULL, tags FROM drift ORDER BY key",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(ctx->db, rc, err, "drift");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct drift_row *r;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct drift_row *nr = realloc(rows, nc * sizeof(*nr));
            if (!nr) {
                oom = true;
                break;
            }
            rows = nr;
            cap = nc;
        }
        r = &rows[n++];
        memset(r, 0, sizeof(*r));
        r->key = db_column_strdup(st, 0, &oom);
        r->category = db_column_strdup(st, 1, &oom);
        r->resource_key = db_column_strdup(st, 2, &oom);
        r->type = db_column_strdup(st, 3, &oom);
        r->id = db_column_strdup(st, 4, &oom);
        r->arn = db_column_strdup(st, 5, &oom);
        r->account = db_column_strdup(st, 6, &oom);
        r->region = db_column_strdup(st, 7, &oom);
        r->address = db_column_strdup(st, 8, &oom);
        r->source = db_column_strdup(st, 9, &oom);
        r->changes = db_column_strdup(st, 10, &oom);
        r->severity = db_column_strdup(st, 11, &oom);
        r->exception = db_column_strdup(st, 12, &oom);
        r->first_seen = sqlite3_column_int64(st, 13);
        r->resolved = sqlite3_column_int(st, 14) != 0;
        r->tags = db_column_strdup(st, 15, &oom);
        if (oom)
            break;
    }
    sqlite3_finalize(st);
    if (oom || (rc != SQLITE_DONE && rc != SQLITE_ROW)) {
        for (size_t i = 0; i < n; i++)
            drift_row_free(&rows[i]);
        free(rows);
        return oom ? perr_set(err, -ENOMEM, "out of memory") : db_fail(ctx->db, rc, err, "drift");
    }
    *ret = rows;
    *ret_n = n;
    return 0;
}

static int upsert_drift(struct events_ctx *ctx, const char *key, const struct drift_item *d,
                        const char *changes, const char *tags, const char *exception, bool reopen,
                        bool notified, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(
        ctx->db,
        "INSERT INTO drift (key, category, resource_key, type, id, arn, account, region, "
        "address, source, changes, severity, exception, tags, first_seen, last_seen, "
        "updated_at, notified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15, ?15, ?15, ?16) ON CONFLICT (key) DO UPDATE SET "
        "resource_key = excluded.resource_key, type = excluded.type, id = excluded.id, "
        "arn = excluded.arn, account = excluded.account, region = excluded.region, "
        "address = excluded.address, source = excluded.source, changes = excluded.changes, "
        "severity = excluded.severity, exception = excluded.exception, tags = excluded.tags, "
        "last_seen = excluded.last_seen, updated_at = excluded.updated_at, "
        "notified_at = COALESCE(excluded.notified_at, drift.notified_at), "
        "first_seen = CASE WHEN ?17 THEN excluded.first_seen ELSE drift.first_seen END, "
        "resolved_at = NULL",
        err);
    int rc;
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->category, -1, SQLITE_STATIC);
    db_bind_text(st, 3, d->resource_key);
    sqlite3_bind_text(st, 4, d->type, -1, SQLITE_STATIC);
    db_bind_text(st, 5, d->id);
    db_bind_text(st, 6, d->arn);
    db_bind_text(st, 7, d->account);
    db_bind_text(st, 8, d->region);
    db_bind_text(st, 9, d->address);
    db_bind_text(st, 10, d->source);
    db_bind_text(st, 11, changes);
    sqlite3_bind_text(st, 12, severity_name(d->severity), -1, SQLITE_STATIC);
    db_bind_text(st, 13, exception);
    db_bind_text(st, 14, tags);
    sqlite3_bind_int64(st, 15, ctx->now_ms);
    if (notified)
        sqlite3_bind_int64(st, 16, ctx->now_ms);
    else
        sqlite3_bind_null(st, 16);
    sqlite3_bind_int(st, 17, reopen);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(ctx->db, rc, err, "drift");
}

static int resolve_drift(struct events_ctx *ctx, const struct drift_row *row, struct perr *err)
{
    sqlite3_stmt *st =
        db_stmt(ctx->db, "UPDATE drift SET resolved_at = ?1, updated_at = ?1 WHERE key = ?2", err);
    enum severity sev = SEVERITY_MEDIUM;
    json_t *changes = NULL, *tags = NULL;
    int rc, r = 0;

    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, ctx->now_ms);
    sqlite3_bind_text(st, 2, row->key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(ctx->db, rc, err, "drift");
    ctx->stats.resolved++;
    if (row->exception)
        return 0; /* it was never announced */
    severity_from_name(row->severity, &sev);
    if (row->changes)
        changes = json_loads(row->changes, 0, NULL);
    if (row->tags)
        tags = json_loads(row->tags, 0, NULL);
    r = emit_drift(ctx, "drift.resolved", row->key, sev, row->category, row->resource_key,
                   row->type, row->id, row->arn, row->account, row->region, row->address,
                   row->source, changes, tags, row->first_seen, err);
    json_decref(changes);
    json_decref(tags);
    return r;
}

/* Reconcile one current item with its row (NULL when none). */
static int apply_one_drift(struct events_ctx *ctx, const char *key, const struct drift_item *d,
                           const struct drift_row *row, struct perr *err)
{
    const char *exception = NULL;
    char *changes = NULL, *tags = NULL;
    const char *kind = NULL;
    int r = 0;

    if (ctx->oracle && ctx->oracle->exception_for)
        exception = ctx->oracle->exception_for(ctx->oracle->userdata, d->type, d->id, NULL);
    if (d->changes && !(changes = json_canonical(d->changes)))
        return perr_set(err, -ENOMEM, "out of memory");
    if (d->tags && !(tags = json_canonical(d->tags))) {
        free(changes);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    if (!row || row->resolved) {
        kind = exception ? NULL : "drift.opened";
        ctx->stats.opened++;
        r = upsert_drift(ctx, key, d, changes, tags, exception, true, kind != NULL, err);
    } else {
        bool changes_differ = !str_eq(changes, row->changes);
        bool exception_lifted = row->exception && !exception;
        bool exception_added = !row->exception && exception;
        bool meta_differ = !str_eq(d->arn, row->arn) || !str_eq(tags, row->tags) ||
                           !str_eq(d->source, row->source) || !str_eq(d->address, row->address) ||
                           !str_eq(severity_name(d->severity), row->severity);
        if (exception_lifted)
            kind = "drift.opened";
        else if (changes_differ && !exception)
            kind = "drift.updated";
        if (kind || changes_differ || exception_added || meta_differ) {
            if (kind && str_eq(kind, "drift.updated"))
                ctx->stats.updated++;
            r = upsert_drift(ctx, key, d, changes, tags, exception, false, kind != NULL, err);
        }
    }
    if (r == 0 && kind)
        r = emit_drift(ctx, kind, key, d->severity, d->category, d->resource_key, d->type, d->id,
                       d->arn, d->account, d->region, d->address, d->source, d->changes, d->tags,
                       row && !row->resolved ? row->first_seen : ctx->now_ms, err);
    free(changes);
    free(tags);
    return r;
}

int events_apply_drift(struct events_ctx *ctx, const struct drift_item *items, size_t n,
                       struct perr *err)
{
    struct drift_row *rows = NULL;
    size_t nrows = 0, i = 0, j = 0;
    char *prev = NULL;
    int r = load_drift_rows(ctx, &rows, &nrows, err);
    if (r < 0)
        return r;
    while (r == 0 && (i < n || j < nrows)) {
        char *key = i < n ? events_drift_key(&items[i]) : NULL;
        int cmp;
        if (i < n && !key) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
        if (key && prev && strcmp(prev, key) >= 0) {
            r = perr_set(err, -EINVAL, "drift items are not sorted by key (%s after %s)", key,
                         prev);
            free(key);
            break;
        }
        cmp = !key ? 1 : j >= nrows ? -1 : strcmp(key, rows[j].key);
        if (cmp < 0) {
            r = apply_one_drift(ctx, key, &items[i], NULL, err);
            i++;
        } else if (cmp == 0) {
            r = apply_one_drift(ctx, key, &items[i], &rows[j], err);
            i++;
            j++;
        } else {
            const struct drift_row *row = &rows[j];
            if (!row->resolved && (!ctx->oracle || !ctx->oracle->scope_ok ||
                                   ctx->oracle->scope_ok(ctx->oracle->userdata, row->account,
                                                         row->region, row->type, row->source)))
                r = resolve_drift(ctx, row, err);
            j++;
        }
        if (key && cmp <= 0) {
            free(prev);
            prev = key;
        } else {
            free(key);
        }
    }
    free(prev);
    for (size_t k = 0; k < nrows; k++)
        drift_row_free(&rows[k]);
    free(rows);
    return r;
}

/* ---- findings ---- */

struct finding_row {
    char *key;
    char *control;
    char *resource_key;
    char *type;
    char *id;
    char *arn;
    char *account;
    char *region;
    char *status;
    char *severity;
    char *detail;
    char *exception;
    char *tags;
    int64_t first_seen;
    bool open; /* opened_at set */
    int64_t opened_at;
};

static void finding_row_free(struct finding_row *r)
{
    free(r->key);
    free(r->control);
    free(r->resource_key);
    free(r->type);
    free(r->id);
    free(r->arn);
    free(r->account);
    free(r->region);
    free(r->status);
    free(r->severity);
    free(r->detail);
    free(r->exception);
    free(r->tags);
    memset(r, 0, sizeof(*r));
}

static int log_transition(struct events_ctx *ctx, const char *key, const char *control,
                          const char *from, const char *to, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(ctx->db,
                               "INSERT INTO findings_log (finding_key, control, from_status, "
                               "to_status, at) VALUES (?, ?, ?, ?, ?)",
                               err);
    int rc;
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, control, -1, SQLITE_STATIC);
    db_bind_text(st, 3, from);
    sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, ctx->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(ctx->db, rc, err, "findings_log");
}

struct finding_view {
    const char *key;
    const char *control;
    const char *title;
    const json_t *nis2;
    const json_t *dora;
    const char *resource_key;
    const char *type;
    const char *id;
    const char *arn;
    const char *account;
    const char *region;
    const char *status;
    enum severity severity;
    const char *detail;
    const json_t *tags;
    int64_t first_seen;
};

static int emit_finding(struct events_ctx *ctx, const char *kind, const struct finding_view *f,
                        struct perr *err)
{
    json_t *p = json_object(), *res = json_object(), *control = json_object();
    char fs[32], ls[32], *summary = NULL;
    int r = -ENOMEM;

    time_format_iso8601(f->first_seen, fs, sizeof(fs));
    time_format_iso8601(ctx->now_ms, ls, sizeof(ls));
    summary = str_eq(kind, "control.resolved")
                  ? str_printf("%s passes again on %s %s", f->control, f->type ? f->type : "",
                               f->id ? f->id : "")
                  : str_printf("%s fails on %s %s: %s", f->control, f->type ? f->type : "",
                               f->id ? f->id : "", f->title ? f->title : "");
    if (!p || !res || !control || !summary)
        goto out;
    if (json_set_str(control, "id", f->control) < 0 ||
        json_set_str(control, "title", f->title) < 0 ||
        json_set_str(res, "key", f->resource_key) < 0 || json_set_str(res, "type", f->type) < 0 ||
        json_set_str(res, "id", f->id) < 0 || json_set_str(res, "arn", f->arn) < 0 ||
        json_object_set_new(p, "category", json_string("control")) < 0 ||
        json_object_set_new(p, "summary", json_string(summary)) < 0 ||
        json_object_set(p, "control", control) < 0 || json_object_set(p, "resource", res) < 0 ||
        json_set_str(p, "account", f->account) < 0 || json_set_str(p, "region", f->region) < 0 ||
        json_set_str(p, "status", f->status) < 0 || json_set_str(p, "detail", f->detail) < 0 ||
        json_object_set_new(p, "nis2", f->nis2 ? json_deep_copy(f->nis2) : json_array()) < 0 ||
        json_object_set_new(p, "dora", f->dora ? json_deep_copy(f->dora) : json_array()) < 0 ||
        json_object_set_new(p, "first_seen", json_string(fs)) < 0 ||
        json_object_set_new(p, "last_seen", json_string(ls)) < 0 ||
        (f->tags && json_object_set(p, "tags", (json_t *)f->tags) < 0))
        goto out;
    r = events_emit(ctx, kind, f->key, f->severity, "control", f->resource_key, f->account,
                    f->region, f->tags, p, NULL, err);
    free(summary);
    json_decref(p);
    json_decref(res);
    json_decref(control);
    return r;
out:
    free(summary);
    json_decref(p);
    json_decref(res);
    json_decref(control);
    return perr_set(err, -ENOMEM, "out of memory");
}

static int load_finding_rows(struct events_ctx *ctx, struct finding_row **ret, size_t *ret_n,
                             struct perr *err)
{
    sqlite3_stmt *st;
    struct finding_row *rows = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    int rc = sqlite3_prepare_v2(db_handle(ctx->db),
                                "SELECT key, control, resource_key, type, id, arn, account, "
                                "region, status, severity, detail, exception, first_seen, "
                                "opened_at, tags FROM findings ORDER BY key",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(ctx->db, rc, err, "findings");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct finding_row *r;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            struct finding_row *nr = realloc(rows, nc * sizeof(*nr));
            if (!nr) {
                oom = true;
                break;
            }
            rows = nr;
            cap = nc;
        }
        r = &rows[n++];
        memset(r, 0, sizeof(*r));
        r->key = db_column_strdup(st, 0, &oom);
        r->control = db_column_strdup(st, 1, &oom);
        r->resource_key = db_column_strdup(st, 2, &oom);
        r->type = db_column_strdup(st, 3, &oom);
        r->id = db_column_strdup(st, 4, &oom);
        r->arn = db_column_strdup(st, 5, &oom);
        r->account = db_column_strdup(st, 6, &oom);
        r->region = db_column_strdup(st, 7, &oom);
        r->status = db_column_strdup(st, 8, &oom);
        r->severity = db_column_strdup(st, 9, &oom);
        r->detail = db_column_strdup(st, 10, &oom);
        r->exception = db_column_strdup(st, 11, &oom);
        r->first_seen = sqlite3_column_int64(st, 12);
        r->open = sqlite3_column_type(st, 13) != SQLITE_NULL;
        r->opened_at = sqlite3_column_int64(st, 13);
        r->tags = db_column_strdup(st, 14, &oom);
        if (oom)
            break;
    }
    sqlite3_finalize(st);
    if (oom || (rc != SQLITE_DONE && rc != SQLITE_ROW)) {
        for (size_t i = 0; i < n; i++)
            finding_row_free(&rows[i]);
        free(rows);
        return oom ? perr_set(err, -ENOMEM, "out of memory")
                   : db_fail(ctx->db, rc, err, "findings");
    }
    *ret = rows;
    *ret_n = n;
    return 0;
}

/* Write the finding's new state.  opened: 1 set opened_at=now, -1 clear it
 * (resolved), 0 keep. */
static int write_finding(struct events_ctx *ctx, const struct finding_view *f,
                         const char *exception, const char *tags, bool status_changed, int opened,
                         bool notified, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(
        ctx->db,
        "INSERT INTO findings (key, control, resource_key, type, id, arn, account, region, "
        "status, severity, detail, exception, tags, first_seen, last_seen, status_since, "
        "opened_at, notified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14, ?14, ?14, CASE WHEN ?15 = 1 THEN ?14 END, CASE WHEN ?17 THEN ?14 END) "
        "ON CONFLICT (key) DO UPDATE SET type = excluded.type, id = excluded.id, "
        "arn = excluded.arn, account = excluded.account, region = excluded.region, "
        "status = excluded.status, severity = excluded.severity, detail = excluded.detail, "
        "exception = excluded.exception, tags = excluded.tags, last_seen = excluded.last_seen, "
        "status_since = CASE WHEN ?16 THEN excluded.status_since ELSE findings.status_since END, "
        "opened_at = CASE ?15 WHEN 1 THEN ?14 WHEN -1 THEN NULL ELSE findings.opened_at END, "
        "resolved_at = CASE ?15 WHEN -1 THEN ?14 ELSE findings.resolved_at END, "
        "notified_at = CASE WHEN ?17 THEN ?14 ELSE findings.notified_at END",
        err);
    int rc;
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, f->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->control, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f->resource_key, -1, SQLITE_STATIC);
    db_bind_text(st, 4, f->type);
    db_bind_text(st, 5, f->id);
    db_bind_text(st, 6, f->arn);
    db_bind_text(st, 7, f->account);
    db_bind_text(st, 8, f->region);
    sqlite3_bind_text(st, 9, f->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, severity_name(f->severity), -1, SQLITE_STATIC);
    db_bind_text(st, 11, f->detail);
    db_bind_text(st, 12, exception);
    db_bind_text(st, 13, tags);
    sqlite3_bind_int64(st, 14, ctx->now_ms);
    sqlite3_bind_int(st, 15, opened);
    sqlite3_bind_int(st, 16, status_changed);
    sqlite3_bind_int(st, 17, notified);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(ctx->db, rc, err, "findings");
}

/* Apply a new state (item) to a finding with its current row (or NULL). */
static int apply_one_finding(struct events_ctx *ctx, const struct finding_view *f,
                             const struct finding_row *row, struct perr *err)
{
    const char *exception = NULL;
    const char *kind = NULL;
    char *tags = NULL;
    bool status_changed = !row || !str_eq(row->status, f->status);
    bool failing = str_eq(f->status, "FAIL");
    bool resolving = str_eq(f->status, "PASS") || str_eq(f->status, "NOT_APPLICABLE");
    bool was_open = row && row->open;
    int opened = 0, r = 0;

    if (ctx->oracle && ctx->oracle->exception_for)
        exception = ctx->oracle->exception_for(ctx->oracle->userdata, f->type, f->id, f->control);
    if (f->tags && !(tags = json_canonical(f->tags)))
        return perr_set(err, -ENOMEM, "out of memory");
    if (failing && !was_open) {
        opened = 1;
        ctx->stats.opened++;
        if (!exception)
            kind = "control.failed";
    } else if (failing && was_open && row->exception && !exception) {
        kind = "control.failed"; /* its exception was lifted or expired */
    } else if (resolving && was_open) {
        opened = -1;
        ctx->stats.resolved++;
        if (!row->exception)
            kind = "control.resolved";
    }
    if (!row || status_changed || opened || kind || !str_eq(exception, row->exception) ||
        !str_eq(f->detail, row->detail) || !str_eq(tags, row->tags) ||
        !str_eq(severity_name(f->severity), row->severity) || !str_eq(f->arn, row->arn)) {
        r = write_finding(ctx, f, exception, tags, status_changed, opened, kind != NULL, err);
        if (r == 0 && status_changed)
            r = log_transition(ctx, f->key, f->control, row ? row->status : NULL, f->status, err);
    }
    if (r == 0 && kind)
        r = emit_finding(ctx, kind, f, err);
    free(tags);
    return r;
}

int events_apply_findings(struct events_ctx *ctx, const struct finding_item *items, size_t n,
                          struct perr *err)
{
    struct finding_row *rows = NULL;
    size_t nrows = 0, i = 0, j = 0;
    char *prev = NULL;
    int r = load_finding_rows(ctx, &rows, &nrows, err);
    if (r < 0)
        return r;
    while (r == 0 && (i < n || j < nrows)) {
        char *key = i < n ? events_finding_key(&items[i]) : NULL;
        int cmp;
        if (i < n && !key) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
        if (key && prev && strcmp(prev, key) >= 0) {
            r = perr_set(err, -EINVAL, "findings are not sorted by key (%s after %s)", key, prev);
            free(key);
            break;
        }
        cmp = !key ? 1 : j >= nrows ? -1 : strcmp(key, rows[j].key);
        if (cmp <= 0) {
            const struct finding_item *it = &items[i];
            const struct finding_row *row = cmp == 0 ? &rows[j] : NULL;
            struct finding_view v = {
                .key = key,
                .control = it->control,
                .title = it->title,
                .nis2 = it->nis2,
                .dora = it->dora,
                .resource_key = it->resource_key,
                .type = it->type,
                .id = it->id,
                .arn = it->arn,
                .account = it->account,
                .region = it->region,
                .status = it->status,
                .severity = it->severity,
                .detail = it->detail,
                .tags = it->tags,
                .first_seen = row ? (row->open ? row->opened_at : ctx->now_ms) : ctx->now_ms,
            };
            r = apply_one_finding(ctx, &v, row, err);
            i++;
            if (cmp == 0)
                j++;
        } else {
            /* In the database but not evaluated now: the control was
             * removed, or the resource is gone (its scope read fine). */
            const struct finding_row *row = &rows[j];
            bool known = !ctx->oracle || !ctx->oracle->control_known ||
                         ctx->oracle->control_known(ctx->oracle->userdata, row->control);
            bool gone = !known || !ctx->oracle || !ctx->oracle->scope_ok ||
                        ctx->oracle->scope_ok(ctx->oracle->userdata, row->account, row->region,
                                              row->type, NULL);
            if (gone && !str_eq(row->status, "NOT_APPLICABLE")) {
                enum severity sev = SEVERITY_MEDIUM;
                json_t *tags = row->tags ? json_loads(row->tags, 0, NULL) : NULL;
                struct finding_view v = {
                    .key = row->key,
                    .control = row->control,
                    .resource_key = row->resource_key,
                    .type = row->type,
                    .id = row->id,
                    .arn = row->arn,
                    .account = row->account,
                    .region = row->region,
                    .status = "NOT_APPLICABLE",
                    .detail = known ? "resource no longer exists" : "control no longer evaluated",
                    .tags = tags,
                    .first_seen = row->open ? row->opened_at : ctx->now_ms,
                };
                severity_from_name(row->severity, &sev);
                v.severity = sev;
                r = apply_one_finding(ctx, &v, row, err);
                json_decref(tags);
            }
            j++;
        }
        /* Only an item consumed in this round becomes the ordering
         * reference: a round that handled a stored row sees it again. */
        if (key && cmp <= 0) {
            free(prev);
            prev = key;
        } else {
            free(key);
        }
    }
    free(prev);
    for (size_t k = 0; k < nrows; k++)
        finding_row_free(&rows[k]);
    free(rows);
    return r;
}

/* ---- data gaps ---- */

int events_apply_gaps(struct events_ctx *ctx, struct perr *err)
{
    sqlite3_stmt *st;
    json_t *open_list = json_array(), *close_list = json_array();
    size_t i;
    json_t *v;
    int rc, r = 0;

    if (!open_list || !close_list) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    /* Gaps to open: unreadable long enough, not yet announced. */
    rc = sqlite3_prepare_v2(
        db_handle(ctx->db),
        "SELECT c.account, c.region, c.type, c.status, c.detail, c.unknown_since FROM coverage c "
        "LEFT JOIN gaps g ON g.key = c.account || '/' || c.region || '/' || c.type AND "
        "g.resolved_at IS NULL WHERE c.status NOT IN ('ok', 'not_collected') AND "
        "c.unknown_since <= ? AND g.key IS NULL ORDER BY 1, 2, 3",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        r = db_fail(ctx->db, rc, err, "coverage");
        goto out;
    }
    sqlite3_bind_int64(st, 1, ctx->now_ms - ctx->data_gap_after_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I}", "account", sqlite3_column_text(st, 0),
                      "region", sqlite3_column_text(st, 1), "type", sqlite3_column_text(st, 2),
                      "status", sqlite3_column_text(st, 3), "detail", sqlite3_column_text(st, 4),
                      "since", (json_int_t)sqlite3_column_int64(st, 5));
        if (!o || json_array_append_new(open_list, o) < 0) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
    }
    sqlite3_finalize(st);
    if (r < 0)
        goto out;
    /* Gaps to close: read successfully again (or no longer collected). */
    rc = sqlite3_prepare_v2(db_handle(ctx->db),
                            "SELECT g.key, g.account, g.region, g.type, g.opened_at FROM gaps g "
                            "JOIN coverage c ON g.key = c.account || '/' || c.region || '/' || "
                            "c.type WHERE g.resolved_at IS NULL AND c.status IN ('ok', "
                            "'not_collected') ORDER BY 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        r = db_fail(ctx->db, rc, err, "gaps");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:I}", "key", sqlite3_column_text(st, 0), "account",
                      sqlite3_column_text(st, 1), "region", sqlite3_column_text(st, 2), "type",
                      sqlite3_column_text(st, 3), "since", (json_int_t)sqlite3_column_int64(st, 4));
        if (!o || json_array_append_new(close_list, o) < 0) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
    }
    sqlite3_finalize(st);
    if (r < 0)
        goto out;

    json_array_foreach (open_list, i, v) {
        const char *account = json_string_value(json_object_get(v, "account"));
        const char *region = json_string_value(json_object_get(v, "region"));
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *status = json_string_value(json_object_get(v, "status"));
        const char *detail = json_string_value(json_object_get(v, "detail"));
        char *key = str_printf("%s/%s/%s", account, region, type);
        char *dkey = str_printf("gap:%s/%s/%s", account, region, type);
        char *summary =
            str_printf("%s in %s/%s cannot be read (%s%s%s): findings and drift there "
                       "are UNKNOWN",
                       type, account, region, status, detail ? ": " : "", detail ? detail : "");
        char since[32];
        json_t *p;
        if (!key || !dkey || !summary) {
            free(key);
            free(dkey);
            free(summary);
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
        time_format_iso8601(json_integer_value(json_object_get(v, "since")), since, sizeof(since));
        st = db_stmt(ctx->db,
                     "INSERT INTO gaps (key, account, region, type, status, detail, opened_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET status = "
                     "excluded.status, detail = excluded.detail, opened_at = excluded.opened_at, "
                     "resolved_at = NULL",
                     err);
        r = st ? 0 : err->code;
        if (r == 0) {
            sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, region, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
            db_bind_text(st, 6, detail);
            sqlite3_bind_int64(st, 7, ctx->now_ms);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                r = db_fail(ctx->db, rc, err, "gaps");
        }
        p = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s?, s:s}", "category", "data_gap",
                      "summary", summary, "account", account, "region", region, "resource", "type",
                      type, "status", status, "detail", detail, "unknown_since", since);
        if (r == 0)
            r = p ? events_emit(ctx, "data.gap", dkey, SEVERITY_MEDIUM, "data_gap", NULL, account,
                                region, NULL, p, NULL, err)
                  : perr_set(err, -ENOMEM, "out of memory");
        json_decref(p);
        free(key);
        free(dkey);
        free(summary);
        if (r < 0)
            break;
        ctx->stats.opened++;
    }
    json_array_foreach (close_list, i, v) {
        const char *key = json_string_value(json_object_get(v, "key"));
        const char *account = json_string_value(json_object_get(v, "account"));
        const char *region = json_string_value(json_object_get(v, "region"));
        const char *type = json_string_value(json_object_get(v, "type"));
        char *dkey, *summary;
        json_t *p;
        if (r < 0)
            break;
        st = db_stmt(ctx->db, "UPDATE gaps SET resolved_at = ? WHERE key = ?", err);
        if (!st) {
            r = err->code;
            break;
        }
        sqlite3_bind_int64(st, 1, ctx->now_ms);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            r = db_fail(ctx->db, rc, err, "gaps");
            break;
        }
        dkey = str_printf("gap:%s", key);
        summary = str_printf("%s in %s/%s is readable again", type, account, region);
        p = summary
                ? json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "category", "data_gap", "summary",
                            summary, "account", account, "region", region, "resource", "type", type)
                : NULL;
        r = p && dkey ? events_emit(ctx, "data.restored", dkey, SEVERITY_LOW, "data_gap", NULL,
                                    account, region, NULL, p, NULL, err)
                      : perr_set(err, -ENOMEM, "out of memory");
        json_decref(p);
        free(dkey);
        free(summary);
        ctx->stats.resolved++;
    }
out:
    json_decref(open_list);
    json_decref(close_list);
    return r;
}

/* ---- exceptions ---- */

int events_sync_exceptions(struct events_ctx *ctx, const struct config_exception *ex, size_t n,
                           struct perr *err)
{
    sqlite3_stmt *st;
    int rc, r = 0;

    /* Forget exceptions no longer configured. */
    rc = sqlite3_exec(db_handle(ctx->db),
                      "CREATE TEMP TABLE IF NOT EXISTS configured_exceptions "
                      "(name TEXT PRIMARY KEY); DELETE FROM "
                      "configured_exceptions",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(ctx->db, rc, err, "exceptions");
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct config_exception *e = &ex[i];
        st = db_stmt(ctx->db, "INSERT INTO configured_exceptions (name) VALUES (?)", err);
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(ctx->db, rc, err, "exceptions");
        /* A new or extended expiry clears the "expired" notice. */
        st = db_stmt(ctx->db,
                     "INSERT INTO exceptions (name, match, reason, owner, expires_at) VALUES (?1, "
                     "?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET match = excluded.match, "
                     "reason = excluded.reason, owner = excluded.owner, expires_at = "
                     "excluded.expires_at, expired_noticed_at = CASE WHEN excluded.expires_at IS "
                     "NULL OR excluded.expires_at > ?6 THEN NULL ELSE "
                     "exceptions.expired_noticed_at END",
                     err);
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->match, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, e->owner, -1, SQLITE_STATIC);
        if (e->expires_ms)
            sqlite3_bind_int64(st, 5, e->expires_ms);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_int64(st, 6, ctx->now_ms);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(ctx->db, rc, err, "exceptions");
    }
    rc = sqlite3_exec(db_handle(ctx->db),
                      "DELETE FROM exceptions WHERE name NOT IN (SELECT name FROM "
                      "configured_exceptions)",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(ctx->db, rc, err, "exceptions");

    for (;;) {
        char *name = NULL, *match = NULL, *reason = NULL, *owner = NULL;
        int64_t expires = 0;
        bool oom = false;
        char exp[32];
        json_t *p;
        char *dkey, *summary;

        st = db_stmt(ctx->db,
                     "SELECT name, match, reason, owner, expires_at FROM exceptions WHERE "
                     "expires_at IS NOT NULL AND expires_at <= ? AND expired_noticed_at IS NULL "
                     "ORDER BY name LIMIT 1",
                     err);
        if (!st)
            return err->code;
        sqlite3_bind_int64(st, 1, ctx->now_ms);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            name = db_column_strdup(st, 0, &oom);
            match = db_column_strdup(st, 1, &oom);
            reason = db_column_strdup(st, 2, &oom);
            owner = db_column_strdup(st, 3, &oom);
            expires = sqlite3_column_int64(st, 4);
        }
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW || oom) {
            free(name);
            free(match);
            free(reason);
            free(owner);
            return oom ? perr_set(err, -ENOMEM, "out of memory")
                       : db_fail(ctx->db, rc, err, "exceptions");
        }
        time_format_iso8601(expires, exp, sizeof(exp));
        dkey = str_printf("exception:%s", name);
        summary = str_printf("exception %s (%s, owner %s) expired on %.10s: what it covered is "
                             "reported again",
                             name, match, owner, exp);
        p = summary ? json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "category", "exception",
                                "summary", summary, "exception", "name", name, "match", match,
                                "reason", reason, "owner", owner, "expires_at", exp)
                    : NULL;
        r = p && dkey ? events_emit(ctx, "exception.expired", dkey, SEVERITY_MEDIUM, "exception",
                                    NULL, NULL, NULL, NULL, p, NULL, err)
                      : perr_set(err, -ENOMEM, "out of memory");
        json_decref(p);
        free(dkey);
        free(summary);
        if (r == 0) {
            st = db_stmt(ctx->db, "UPDATE exceptions SET expired_noticed_at = ? WHERE name = ?",
                         err);
            if (!st)
                r = err->code;
            else {
                sqlite3_bind_int64(st, 1, ctx->now_ms);
                sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                sqlite3_reset(st);
                if (rc != SQLITE_DONE)
                    r = db_fail(ctx->db, rc, err, "exceptions");
            }
        }
        free(name);
        free(match);
        free(reason);
        free(owner);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- reminders ---- */

int events_remind(struct events_ctx *ctx, struct perr *err)
{
    sqlite3_stmt *st;
    json_t *due = NULL;
    size_t i;
    json_t *v;
    int rc, r = 0;

    if (ctx->reminder_ms <= 0)
        return 0;
    due = json_array();
    if (!due)
        return perr_set(err, -ENOMEM, "out of memory");
    rc = sqlite3_prepare_v2(
        db_handle(ctx->db),
        "SELECT 'drift', key, severity, payload FROM drift d JOIN (SELECT dedupe_key, payload, "
        "max(seq) FROM events GROUP BY dedupe_key) e ON e.dedupe_key = d.key WHERE "
        "d.resolved_at IS NULL AND d.exception IS NULL AND d.notified_at <= ?1 UNION ALL "
        "SELECT 'control', key, severity, payload FROM findings f JOIN (SELECT dedupe_key, "
        "payload, max(seq) FROM events GROUP BY dedupe_key) e ON e.dedupe_key = f.key WHERE "
        "f.opened_at IS NOT NULL AND f.exception IS NULL AND f.notified_at <= ?1 ORDER BY 2",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        json_decref(due);
        return db_fail(ctx->db, rc, err, "reminders");
    }
    sqlite3_bind_int64(st, 1, ctx->now_ms - ctx->reminder_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        enum severity sev = SEVERITY_INFO;
        json_t *o;
        severity_from_name((const char *)sqlite3_column_text(st, 2), &sev);
        if (sev < ctx->reminder_min_severity)
            continue;
        o = json_pack("{s:s, s:s, s:i, s:s}", "what", sqlite3_column_text(st, 0), "key",
                      sqlite3_column_text(st, 1), "severity", (int)sev, "payload",
                      sqlite3_column_text(st, 3));
        if (!o || json_array_append_new(due, o) < 0) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
    }
    sqlite3_finalize(st);
    json_array_foreach (due, i, v) {
        const char *what = json_string_value(json_object_get(v, "what"));
        const char *key = json_string_value(json_object_get(v, "key"));
        json_t *last = json_loads(json_string_value(json_object_get(v, "payload")), 0, NULL);
        json_t *res;
        char kind[32];
        if (r < 0)
            break;
        if (!last) {
            r = perr_set(err, -EBADMSG, "stored event for %s is not JSON", key);
            break;
        }
        /* The reminder repeats the last event's content under a new id. */
        json_object_del(last, "id");
        json_object_del(last, "kind");
        json_object_del(last, "created_at");
        json_object_set_new(last, "reminder", json_true());
        res = json_object_get(last, "resource");
        snprintf(kind, sizeof(kind), "%s.reminder", what);
        r = events_emit(ctx, kind, key,
                        (enum severity)json_integer_value(json_object_get(v, "severity")),
                        json_string_value(json_object_get(last, "category")),
                        json_string_value(json_object_get(res, "key")),
                        json_string_value(json_object_get(last, "account")),
                        json_string_value(json_object_get(last, "region")),
                        json_object_get(last, "tags"), last, NULL, err);
        json_decref(last);
        if (r == 0) {
            st =
                db_stmt(ctx->db,
                        str_eq(what, "drift") ? "UPDATE drift SET notified_at = ? WHERE key = ?"
                                              : "UPDATE findings SET notified_at = ? WHERE key = ?",
                        err);
            if (!st) {
                r = err->code;
                break;
            }
            sqlite3_bind_int64(st, 1, ctx->now_ms);
            sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                r = db_fail(ctx->db, rc, err, "reminders");
        }
    }
    json_decref(due);
    return r;
}
