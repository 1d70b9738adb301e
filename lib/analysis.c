#include "analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "estate_db.h"
#include "evaluate.h"
#include "snapshot.h"
#include "util.h"

struct oracle_ctx {
    struct db *db;
    const struct runtime *rt;
    int64_t now_ms;
};

static bool scope_ok(void *ud, const char *account, const char *region, const char *type,
                     const char *source)
{
    struct oracle_ctx *o = ud;
    enum collect_status s = COLLECT_NOT_COLLECTED;
    /* Region- and account-level findings belong to no collected type: a
     * scope no longer in the evaluation is simply gone. */
    if (str_eq(type, "region") || str_eq(type, "account"))
        return true;
    if (!account || !region || !type)
        return false;
    if (snapshot_coverage(o->db, account, region, type, &s, NULL, NULL) < 0)
        return false;
    return s == COLLECT_OK;
}

static const char *exception_for(void *ud, const char *type, const char *id, const char *control)
{
    struct oracle_ctx *o = ud;
    return runtime_exception_for(o->rt, type, id, control, o->now_ms);
}

static bool control_known(void *ud, const char *control)
{
    struct oracle_ctx *o = ud;
    const struct control *c = controls_find(o->rt->cat, control);
    return c && c->enabled;
}

/* ---- baseline ---- */

struct control_refs {
    const struct control *c;
    json_t *nis2;
    json_t *dora;
};

struct collected {
    struct finding **f;
    char **keys;
    size_t n, cap;
    struct control_refs *refs;
    size_t n_refs;
    struct analysis_stats *stats;
};

static int keep_finding(const struct finding *f, void *ud)
{
    struct collected *c = ud;
    struct finding *copy;
    char *rkey, *key;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct finding **nf = realloc(c->f, cap * sizeof(*nf));
        char **nk;
        if (!nf)
            return -ENOMEM;
        c->f = nf;
        nk = realloc(c->keys, cap * sizeof(*nk));
        if (!nk)
            return -ENOMEM;
        c->keys = nk;
        c->cap = cap;
    }
    copy = finding_copy(f);
    rkey = resource_key_make(f->account, f->region, f->resource_type, f->resource_id);
    key = rkey ? str_printf("control:%s:%s", f->control->id, rkey) : NULL;
    free(rkey);
    if (!copy || !key) {
        finding_free(copy);
        free(key);
        return -ENOMEM;
    }
    c->f[c->n] = copy;
    c->keys[c->n] = key;
    c->n++;
    if ((size_t)f->status < ARRAY_SIZE(c->stats->findings))
        c->stats->findings[f->status]++;
    return 0;
}

static int cmp_index(const void *a, const void *b, void *ud)
{
    const struct collected *c = ud;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    return strcmp(c->keys[ia], c->keys[ib]);
}

static int cmp_control_scope(const void *a, const void *b)
{
    const struct control *ca = *(const struct control *const *)a;
    const struct control *cb = *(const struct control *const *)b;
    int r = strcmp(ca->scope, cb->scope);
    return r ? r : strcmp(ca->id, cb->id);
}

static json_t *strv_to_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && v && v[i]; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static const struct control_refs *refs_of(struct collected *c, const struct control *ctl)
{
    for (size_t i = 0; i < c->n_refs; i++)
        if (c->refs[i].c == ctl)
            return &c->refs[i];
    return NULL;
}

static int evaluate_baseline(struct db *db, const struct runtime *rt, struct events_ctx *ectx,
                             struct analysis_stats *stats, struct perr *err)
{
    struct estate_db *estate = NULL;
    struct evaluate *ev = NULL;
    struct collected col = { .stats = stats };
    const struct control **order = NULL;
    struct finding_item *items = NULL;
    size_t *idx = NULL;
    size_t n_controls = rt->cat->n;
    int r;

    r = estate_db_new(db, rt->tm, 0, &estate, err);
    if (r < 0)
        return r;
    r = evaluate_new(estate_db_ops(), estate, ectx->now_ms, &ev, err);
    if (r < 0)
        goto out;
    /* Controls reading the same type run one after the other, so the
     * estate decodes each group about once. */
    order = calloc(n_controls ? n_controls : 1, sizeof(*order));
    col.refs = calloc(n_controls ? n_controls : 1, sizeof(*col.refs));
    if (!order || !col.refs) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_controls; i++)
        order[i] = rt->cat->controls[i];
    qsort(order, n_controls, sizeof(*order), cmp_control_scope);
    for (size_t i = 0; i < n_controls; i++) {
        const struct control *ctl = order[i];
        if (!ctl->enabled)
            continue;
        col.refs[col.n_refs].c = ctl;
        col.refs[col.n_refs].nis2 = strv_to_json(ctl->nis2);
        col.refs[col.n_refs].dora = strv_to_json(ctl->dora);
        if (!col.refs[col.n_refs].nis2 || !col.refs[col.n_refs].dora) {
            col.n_refs++;
            r = perr_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        col.n_refs++;
        stats->controls++;
        r = evaluate_control(ev, ctl, keep_finding, &col, err);
        if (r < 0) {
            if (r == -ENOMEM && !err->msg[0])
                perr_set(err, r, "out of memory");
            else if (!err->msg[0])
                perr_set(err, r, "control %s: %s", ctl->id, estate_db_error(estate));
            goto out;
        }
    }
    idx = calloc(col.n ? col.n : 1, sizeof(*idx));
    items = calloc(col.n ? col.n : 1, sizeof(*items));
    if (!idx || !items) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < col.n; i++)
        idx[i] = i;
    qsort_r(idx, col.n, sizeof(*idx), cmp_index, &col);
    for (size_t i = 0; i < col.n; i++) {
        const struct finding *f = col.f[idx[i]];
        const struct control_refs *refs = refs_of(&col, f->control);
        char *rkey = resource_key_make(f->account, f->region, f->resource_type, f->resource_id);
        if (!rkey) {
            for (size_t j = 0; j < i; j++)
                free((char *)items[j].resource_key);
            r = perr_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        items[i] = (struct finding_item){
            .control = f->control->id,
            .title = f->control->title,
            .nis2 = refs ? refs->nis2 : NULL,
            .dora = refs ? refs->dora : NULL,
            .resource_key = rkey,
            .type = f->resource_type,
            .id = f->resource_id,
            .arn = f->arn,
            .account = f->account,
            .region = f->region,
            .status = finding_status_name(f->status),
            .severity = (enum severity)f->severity,
            .detail = f->detail,
        };
    }
    r = events_apply_findings(ectx, items, col.n, err);
    for (size_t i = 0; i < col.n; i++)
        free((char *)items[i].resource_key);
out:
    free(items);
    free(idx);
    for (size_t i = 0; i < col.n; i++) {
        finding_free(col.f[i]);
        free(col.keys[i]);
    }
    free(col.f);
    free(col.keys);
    for (size_t i = 0; i < col.n_refs; i++) {
        json_decref(col.refs[i].nis2);
        json_decref(col.refs[i].dora);
    }
    free(col.refs);
    free(order);
    evaluate_free(ev);
    estate_db_free(estate);
    return r;
}

int analysis_run(struct db *db, const struct runtime *rt, int64_t now_ms,
                 struct analysis_stats *stats, struct perr *err)
{
    struct oracle_ctx octx = { db, rt, now_ms };
    struct events_oracle oracle = { scope_ok, exception_for, control_known, &octx };
    struct events_ctx ectx = {
        .db = db,
        .now_ms = now_ms,
        .sinks = rt->sinks,
        .n_sinks = rt->n_sinks,
        .oracle = &oracle,
        .reminder_ms = rt->cfg->reminder_ms,
        .reminder_min_severity = rt->cfg->reminder_min_severity,
        .data_gap_after_ms = rt->cfg->data_gap_after_ms,
    };
    char when[32];
    int64_t started = time_mono_ms();
    int r;

    memset(stats, 0, sizeof(*stats));
    r = db_begin(db, err);
    if (r < 0)
        return r;
    r = events_sync_exceptions(&ectx, rt->cfg->exceptions, rt->cfg->n_exceptions, err);
    if (r == 0)
        r = evaluate_baseline(db, rt, &ectx, stats, err);
    if (r == 0)
        r = events_apply_gaps(&ectx, err);
    if (r == 0)
        r = events_remind(&ectx, err);
    if (r == 0) {
        time_format_iso8601(now_ms, when, sizeof(when));
        r = db_state_set(db, "last_analysis", when, now_ms, err);
    }
    if (r == 0)
        r = db_commit(db, err);
    if (r < 0) {
        db_rollback(db);
        return r;
    }
    stats->events = ectx.stats;
    stats->duration_ms = time_mono_ms() - started;
    return 0;
}
