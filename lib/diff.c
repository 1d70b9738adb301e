#include "diff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonutil.h"
#include "normalize.h"
#include "resource.h"
#include "snapshot.h"
#include "tfstate.h"

/* One declared managed instance of the family being processed. */
struct decl {
    char *source;
    char *address;
    char *type; /* as written (aws_alb) */
    char *tf_id;
    char *arn;
    char *account; /* NULL = unknown */
    char *region;  /* NULL = unknown */
    char *text;    /* the attributes as stored (JSON text) */
    json_t *attrs; /* parsed from text while needed (decl_load), else NULL */
    json_t *joins; /* relation join attribute -> its value (strings) */
    json_t *sensitive;
    const struct typemap_type *t; /* canonical */
    char *live_id;                /* NULL when it cannot be computed */
    char *id_error;
    bool handled; /* reported by relation processing */
};

/* One live resource of the family.  r always has its identity (type, id,
 * account, region, arn, source); its attrs, tags and unknown are empty
 * objects except while loaded (live_load), so that a family's documents
 * are held as text, not as JSON trees. */
struct live {
    struct resource *r;
    char *text; /* resource_to_json() of the document */
    bool loaded;
    json_t *vals; /* relation join and parent attributes -> their values */
    char *key;
    size_t *decls; /* indices of the declarations matching it */
    size_t n_decls;
    bool covered;  /* part of a declared parent: never unmanaged */
    char **skip;   /* inline attributes not compared (separate resources declared) */
    json_t *extra; /* changes found by relation processing, or NULL */
};

struct vec {
    void *v;
    size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void *n = realloc(v->v, cap * v->size);
        if (!n)
            return NULL;
        v->v = n;
        v->cap = cap;
    }
    memset((char *)v->v + v->n * v->size, 0, v->size);
    return (char *)v->v + v->n++ * v->size;
}

struct ctx {
    struct db *db;
    const struct diff_options *o;
    const struct typemap *tm;
    struct perr *err;
    json_t *coverage;     /* "account/region/type" -> "status" or "status: detail" */
    json_t *cov_accounts; /* type -> {account: true} */
    json_t *status;       /* live key of a parent type -> "managed"|"unmanaged"|"excluded" */
    json_t *parent_types; /* type -> true: some type names it as parent */
    struct vec records;   /* struct diff_record */
    struct vec unknown;   /* struct diff_unknown */
    struct diff_stats stats;
    /* the family */
    struct decl *d;
    size_t nd;
    struct live *l;
    size_t nl;
    json_t *index; /* "type|id" -> [live indices] */
    /* "d|VALUE" -> [decl indices], "l|VALUE" -> [live indices]: the
     * declarations and documents whose relation join attribute (or, for
     * declarations, joined parent id) is VALUE. */
    json_t *joins;
};

/* ---- small helpers ----------------------------------------------------------- */

static int oom(struct ctx *c)
{
    return perr_set(c->err, -ENOMEM, "out of memory");
}

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool compatible(const char *declared, const char *live)
{
    return !declared || !*declared || str_eq(declared, live);
}

static bool strv_has(char **v, const char *s)
{
    return v && strv_contains(v, s);
}

static const char *attr_s(const json_t *attrs, const char *name)
{
    const char *s = json_string_value(json_object_get(attrs, name));
    return s && *s ? s : NULL;
}

/* The tags a declaration says a resource has. */
static const json_t *declared_tags(const json_t *attrs)
{
    const json_t *t = json_object_get(attrs, "tags_all");
    return json_is_object(t) ? t : json_object_get(attrs, "tags");
}

static bool type_wanted(const struct ctx *c, const char *type)
{
    return !c->o->types || strv_contains(c->o->types, type);
}

/* Parse a declaration's attributes for a while (decl_unload() drops them). */
static int decl_load(struct ctx *c, struct decl *d)
{
    json_error_t je;
    if (d->attrs)
        return 0;
    d->attrs = json_loads(d->text, 0, &je);
    if (!d->attrs)
        return perr_set(c->err, -ENOMEM, "declared %s %s: %s", d->source, d->address, je.text);
    return 0;
}

static void decl_unload(struct decl *d)
{
    json_decref(d->attrs);
    d->attrs = NULL;
}

/* Give a live resource its attributes, tags and unknown for a while. */
static int live_load(struct ctx *c, struct live *l)
{
    json_t *doc;
    struct resource *full = NULL;
    if (l->loaded)
        return 0;
    doc = json_loads(l->text, 0, NULL);
    if (!doc || resource_from_json(doc, &full) < 0) {
        json_decref(doc);
        return oom(c);
    }
    json_decref(doc);
    json_decref(l->r->attrs);
    json_decref(l->r->tags);
    json_decref(l->r->unknown);
    l->r->attrs = json_incref(full->attrs);
    l->r->tags = json_incref(full->tags);
    l->r->unknown = json_incref(full->unknown);
    resource_free(full);
    l->loaded = true;
    return 0;
}

static void live_unload(struct live *l)
{
    json_t *a = json_object(), *t = json_object(), *u = json_object();
    if (!l->loaded || !a || !t || !u) {
        json_decref(a);
        json_decref(t);
        json_decref(u);
        return; /* keep it loaded rather than leave it without objects */
    }
    json_decref(l->r->attrs);
    json_decref(l->r->tags);
    json_decref(l->r->unknown);
    l->r->attrs = a;
    l->r->tags = t;
    l->r->unknown = u;
    l->loaded = false;
}

static const char *lval(const struct live *l, const char *name)
{
    return json_string_value(json_object_get(l->vals, name));
}

/* ---- addresses ------------------------------------------------------------------ */

int diff_split_address(const char *address, const char *type, char **ret_module, char **ret_name,
                       json_t **ret_index)
{
    size_t tl = strlen(type), depth = 0, len = strlen(address);
    const char *hit = NULL, *deposed = strstr(address, " (deposed ");
    bool quoted = false;
    char *module = NULL, *name = NULL;
    json_t *index = NULL;

    if (deposed)
        len = (size_t)(deposed - address);
    for (size_t i = 0; i < len; i++) {
        char ch = address[i];
        if (quoted) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                quoted = false;
            continue;
        }
        if (ch == '"')
            quoted = true;
        else if (ch == '[')
            depth++;
        else if (ch == ']' && depth)
            depth--;
        else if (depth == 0 && (i == 0 || address[i - 1] == '.') && i + tl < len &&
                 strncmp(address + i, type, tl) == 0 && address[i + tl] == '.')
            hit = address + i;
    }
    if (!hit)
        return -EINVAL;
    {
        const char *n = hit + tl + 1, *end = n;
        while (end < address + len && *end != '[')
            end++;
        module = str_ndup(address, hit > address ? (size_t)(hit - address - 1) : 0);
        name = str_ndup(n, (size_t)(end - n));
        if (!module || !name)
            goto oom;
        if (end < address + len) {
            char *inner = str_ndup(end + 1, (size_t)(address + len - end - 2));
            if (!inner)
                goto oom;
            index = json_loads(inner, JSON_DECODE_ANY, NULL);
            free(inner);
            if (!index || !(json_is_integer(index) || json_is_string(index))) {
                json_decref(index);
                free(module);
                free(name);
                return -EINVAL;
            }
        }
    }
    *ret_module = module;
    *ret_name = name;
    *ret_index = index;
    return 0;
oom:
    free(module);
    free(name);
    return -ENOMEM;
}

/* ---- records ----------------------------------------------------------------------- */

static void record_clear(struct diff_record *r)
{
    free(r->key);
    free(r->module);
    free(r->name);
    json_decref(r->index_key);
    free(r->declared_type);
    free(r->s_resource_key);
    free(r->s_type);
    free(r->s_id);
    free(r->s_arn);
    free(r->s_account);
    free(r->s_region);
    free(r->s_address);
    free(r->s_source);
    json_decref(r->j_changes);
    json_decref(r->j_tags);
}

struct rec_in {
    const char *category;
    enum severity severity;
    const char *resource_key;
    const char *type;
    const char *id;
    const char *arn;
    const char *account;
    const char *region;
    const char *address;
    const char *source;
    const char *declared_type;
    json_t *changes; /* stolen */
    const json_t *tags;
};

static int add_record(struct ctx *c, const struct rec_in *in)
{
    struct diff_record *r = vec_push(&c->records);
    if (!r) {
        json_decref(in->changes);
        return oom(c);
    }
    r->j_changes = in->changes;
    r->s_resource_key = dup0(in->resource_key);
    r->s_type = dup0(in->type);
    r->s_id = dup0(in->id);
    r->s_arn = dup0(in->arn);
    r->s_account = dup0(in->account);
    r->s_region = dup0(in->region);
    r->s_address = dup0(in->address);
    r->s_source = dup0(in->source);
    r->declared_type = dup0(in->declared_type);
    r->j_tags = in->tags ? json_deep_copy(in->tags) : NULL;
    if ((in->resource_key && !r->s_resource_key) || (in->type && !r->s_type) ||
        (in->id && !r->s_id) || (in->arn && !r->s_arn) || (in->account && !r->s_account) ||
        (in->region && !r->s_region) || (in->address && !r->s_address) ||
        (in->source && !r->s_source) || (in->declared_type && !r->declared_type) ||
        (in->tags && !r->j_tags))
        goto fail;
    if (in->address && in->declared_type &&
        diff_split_address(in->address, in->declared_type, &r->module, &r->name, &r->index_key) ==
            -ENOMEM)
        goto fail;
    r->item = (struct drift_item){
        .category = in->category,
        .resource_key = r->s_resource_key,
        .type = r->s_type,
        .id = r->s_id,
        .arn = r->s_arn,
        .account = r->s_account,
        .region = r->s_region,
        .address = r->s_address,
        .source = r->s_source,
        .changes = r->j_changes,
        .tags = r->j_tags,
        .severity = in->severity,
    };
    r->key = events_drift_key(&r->item);
    if (!r->key)
        goto fail;
    if (str_eq(in->category, "changed"))
        c->stats.changed++;
    else if (str_eq(in->category, "missing"))
        c->stats.missing++;
    else if (str_eq(in->category, "unmanaged"))
        c->stats.unmanaged++;
    else
        c->stats.conflict++;
    return 0;
fail:
    record_clear(r);
    c->records.n--;
    return oom(c);
}

static int add_unknown(struct ctx *c, const struct decl *d, const char *type, const char *reason)
{
    struct diff_unknown *u = vec_push(&c->unknown);
    if (!u)
        return oom(c);
    u->source = dup0(d->source);
    u->address = dup0(d->address);
    u->type = dup0(type);
    u->id = dup0(d->live_id ? d->live_id : d->tf_id);
    u->account = dup0(d->account);
    u->region = dup0(d->region);
    u->reason = dup0(reason);
    c->stats.unknown++;
    if (!u->source || !u->address || !u->type || !u->reason)
        return oom(c);
    return 0;
}

/* Severity of a type's unmanaged resources: medium when a control reads it. */
static bool attrs_controlled(const struct typemap_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((a[i].controls && a[i].controls[0]) || attrs_controlled(a[i].attrs, a[i].n_attrs))
            return true;
    return false;
}

/* Whether a change at path is on an attribute a control reads. */
static bool controls_of_path(const struct typemap_type *t, const char *path)
{
    const struct typemap_attr *a = path ? typemap_attr(t, path) : NULL;
    if (!a && path) {
        char *top = str_ndup(path, strcspn(path, ".["));
        a = top ? typemap_attr(t, top) : NULL;
        free(top);
    }
    for (; a; a = a->parent)
        if (a->controls && a->controls[0])
            return true;
    return false;
}

/* ---- coverage --------------------------------------------------------------------- */

static int load_coverage(struct ctx *c)
{
    sqlite3_stmt *st =
        db_stmt(c->db, "SELECT account, region, type, status, detail FROM coverage", c->err);
    int rc;
    if (!st)
        return c->err->code;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *acct = (const char *)sqlite3_column_text(st, 0);
        const char *region = (const char *)sqlite3_column_text(st, 1);
        const char *type = (const char *)sqlite3_column_text(st, 2);
        const char *status = (const char *)sqlite3_column_text(st, 3);
        const char *detail = (const char *)sqlite3_column_text(st, 4);
        char *key = resource_key_make(acct, region, type, "");
        char *val = detail && *detail ? str_printf("%s (%s)", status, detail) : strdup(status);
        json_t *accts = json_object_get(c->cov_accounts, type);
        if (!key || !val) {
            free(key);
            free(val);
            sqlite3_reset(st);
            return oom(c);
        }
        key[strlen(key) - 1] = '\0'; /* "account/region/type" */
        json_object_set_new(c->coverage, key, json_string(val));
        if (!accts) {
            accts = json_object();
            json_object_set_new(c->cov_accounts, type, accts);
        }
        json_object_set_new(accts, acct, json_true());
        free(key);
        free(val);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(c->db, rc, c->err, "coverage");
    return 0;
}

/* Whether a declared instance that matched nothing is missing (1) or
 * unknown (0, with *reason malloc'd). */
static int decide_missing(struct ctx *c, const char *type, const char *account, const char *region,
                          char **reason)
{
    json_t *accts = json_object_get(c->cov_accounts, type);
    const char *acct = account;
    const char *k;
    json_t *v;
    size_t seen = 0, ok = 0;
    char first_bad[512] = "";

    if (!acct) {
        if (json_object_size(accts) == 1) {
            json_object_foreach (accts, k, v)
                acct = k;
        } else {
            *reason = json_object_size(accts) == 0
                          ? str_printf("%s has never been collected", type)
                          : str_printf("%s: the account is unknown (the state has no ARN naming "
                                       "it; set account in its [state] section)",
                                       type);
            return *reason ? 0 : -ENOMEM;
        }
    }
    json_object_foreach (c->coverage, k, v) {
        char *want;
        bool same;
        if (region) {
            want = str_printf("%s/%s/%s", acct, region, type);
            same = want && str_eq(k, want);
        } else {
            char *pre = str_printf("%s/", acct), *post = str_printf("/%s", type);
            /* Account ids and types hold no '/': the middle is the region. */
            same = pre && post && str_has_prefix(k, pre) && str_has_suffix(k, post) &&
                   strlen(k) > strlen(pre) + strlen(post);
            free(pre);
            free(post);
            want = NULL;
        }
        free(want);
        if (!same)
            continue;
        seen++;
        if (str_eq(json_string_value(v), "ok"))
            ok++;
        else if (!first_bad[0])
            snprintf(first_bad, sizeof(first_bad), "%s: %s", k, json_string_value(v));
    }
    if (seen > 0 && ok == seen)
        return 1;
    if (seen == 0)
        *reason = str_printf("%s in %s/%s has not been collected", type, acct,
                             region ? region : "(any region)");
    else
        *reason = str_printf("%s was not read successfully", first_bad);
    return *reason ? 0 : -ENOMEM;
}

/* Report a declaration that matched nothing: missing or unknown. */
static int report_absent(struct ctx *c, struct decl *d, const char *cov_type, const char *type,
                         const char *id, const char *account, const char *region)
{
    char *reason = NULL;
    bool was_loaded = d->attrs != NULL;
    int r = decide_missing(c, cov_type, account ? account : d->account, region ? region : d->region,
                           &reason);
    if (r < 0)
        return oom(c);
    if (r == 0) {
        r = add_unknown(c, d, type, reason);
        free(reason);
        return r;
    }
    if (c->o->ignore && (ignore_resource(c->o->ignore, type, id ? id : "") ||
                         (d->tf_id && ignore_resource(c->o->ignore, type, d->tf_id)))) {
        c->stats.ignored++;
        return 0;
    }
    r = decl_load(c, d);
    if (r < 0)
        return r;
    {
        struct rec_in in = {
            .category = "missing",
            .severity = SEVERITY_HIGH,
            .type = type,
            .id = id,
            .arn = d->arn,
            .account = account ? account : d->account,
            .region = region ? region : d->region,
            .address = d->address,
            .source = d->source,
            .declared_type = d->type,
            .tags = declared_tags(d->attrs),
        };
        r = add_record(c, &in);
    }
    if (!was_loaded)
        decl_unload(d);
    return r;
}

/* ---- loading a family ------------------------------------------------------------- */

static void family_free(struct ctx *c)
{
    for (size_t i = 0; i < c->nd; i++) {
        struct decl *d = &c->d[i];
        free(d->source);
        free(d->address);
        free(d->type);
        free(d->tf_id);
        free(d->arn);
        free(d->account);
        free(d->region);
        free(d->text);
        json_decref(d->attrs);
        json_decref(d->joins);
        json_decref(d->sensitive);
        free(d->live_id);
        free(d->id_error);
    }
    free(c->d);
    c->d = NULL;
    c->nd = 0;
    for (size_t i = 0; i < c->nl; i++) {
        resource_free(c->l[i].r);
        free(c->l[i].text);
        json_decref(c->l[i].vals);
        free(c->l[i].key);
        free(c->l[i].decls);
        strv_free(c->l[i].skip);
        json_decref(c->l[i].extra);
    }
    free(c->l);
    c->l = NULL;
    c->nl = 0;
    json_decref(c->index);
    c->index = NULL;
    json_decref(c->joins);
    c->joins = NULL;
}

static int load_decls(struct ctx *c, char **names)
{
    struct buf sql;
    sqlite3_stmt *st = NULL;
    struct vec v = { .size = sizeof(struct decl) };
    int rc, r = 0, n = (int)strv_length(names);

    buf_init(&sql, 1 << 16);
    if (buf_append_str(&sql, "SELECT source, address, type, id, arn, account, region, mode, "
                             "attrs, sensitive FROM declared WHERE type IN (") < 0)
        goto oom;
    for (int i = 0; i < n; i++)
        if (buf_append_str(&sql, i ? ", ?" : "?") < 0)
            goto oom;
    if (buf_append_str(&sql, ") ORDER BY source, address") < 0)
        goto oom;
    rc = sqlite3_prepare_v2(db_handle(c->db), buf_str(&sql), -1, &st, NULL);
    buf_free(&sql);
    if (rc != SQLITE_OK)
        return db_fail(c->db, rc, c->err, "declared");
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, names[i], -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct decl *d;
        bool o = false;
        json_error_t je;
        if (str_eq((const char *)sqlite3_column_text(st, 7), "data")) {
            c->stats.data++;
            continue;
        }
        d = vec_push(&v);
        if (!d) {
            r = oom(c);
            break;
        }
        d->source = db_column_strdup(st, 0, &o);
        d->address = db_column_strdup(st, 1, &o);
        d->type = db_column_strdup(st, 2, &o);
        d->tf_id = db_column_strdup(st, 3, &o);
        d->arn = db_column_strdup(st, 4, &o);
        d->account = db_column_strdup(st, 5, &o);
        d->region = db_column_strdup(st, 6, &o);
        if (o) {
            r = oom(c);
            break;
        }
        d->text = db_column_strdup(st, 8, &o);
        d->attrs = d->text ? json_loads(d->text, 0, &je) : NULL;
        d->sensitive = sqlite3_column_type(st, 9) == SQLITE_NULL
                           ? json_array()
                           : json_loads((const char *)sqlite3_column_text(st, 9), 0, NULL);
        if (o) {
            r = oom(c);
            break;
        }
        if (!json_is_object(d->attrs) || !json_is_array(d->sensitive)) {
            r = perr_set(c->err, -EINVAL, "declared %s %s: stored attributes are not valid JSON",
                         d->source, d->address);
            break;
        }
        /* The id column holds the live id statesrc computed; the
         * Terraform id is the "id" attribute. */
        if (attr_s(d->attrs, "id") && str_replace(&d->tf_id, attr_s(d->attrs, "id")) < 0) {
            r = oom(c);
            break;
        }
        d->t = typemap_find(c->tm, d->type);
        d->joins = json_object();
        for (size_t ri = 0; d->joins && ri < typemap_relation_count(c->tm); ri++) {
            const char *j = typemap_relation_at(c->tm, ri)->join;
            if (attr_s(d->attrs, j))
                json_object_set_new(d->joins, j, json_string(attr_s(d->attrs, j)));
        }
        if (!d->joins) {
            r = oom(c);
            break;
        }
        /* Live ids now, while the attributes are parsed. */
        {
            struct perr e = { 0 };
            if (typemap_live_id(c->tm, d->type, d->attrs, &d->live_id, &e) < 0) {
                d->live_id = NULL;
                if (!(d->id_error = strdup(e.msg))) {
                    r = oom(c);
                    break;
                }
            }
        }
        json_decref(d->attrs);
        d->attrs = NULL;
        c->stats.declared++;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(c->db, rc, c->err, "declared");
    sqlite3_finalize(st);
    c->d = v.v;
    c->nd = v.n;
    return r;
oom:
    buf_free(&sql);
    return oom(c);
}

static int copy_live(const struct resource *r, int64_t first_seen, int64_t changed_at,
                     int64_t deleted_at, void *ud)
{
    struct ctx *c = ud;
    struct live *l;
    json_t *doc;
    struct resource *copy = NULL;
    if (c->nl % 64 == 0) {
        struct live *n = realloc(c->l, (c->nl + 64) * sizeof(*n));
        if (!n)
            return oom(c);
        c->l = n;
    }
    doc = resource_to_json(r);
    if (!doc ||
        resource_new_with(r->partition, r->account, r->region, r->type, r->aws_type, r->id, r->arn,
                          &copy) < 0 ||
        (r->source && str_replace(&copy->source, r->source) < 0)) {
        json_decref(doc);
        resource_free(copy);
        return oom(c);
    }
    l = &c->l[c->nl++];
    memset(l, 0, sizeof(*l));
    l->r = copy;
    l->text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    l->key = resource_key(copy);
    l->vals = json_object();
    if (!l->text || !l->key || !l->vals)
        return oom(c);
    /* What the indexes and parent lookups need, kept as strings. */
    for (size_t ri = 0; ri < typemap_relation_count(c->tm); ri++) {
        const char *j = typemap_relation_at(c->tm, ri)->join;
        if (attr_s(r->attrs, j) &&
            json_object_set_new(l->vals, j, json_string(attr_s(r->attrs, j))) < 0)
            return oom(c);
    }
    {
        const struct typemap_type *t = typemap_find(c->tm, r->type);
        if (t && t->parent_attr && attr_s(r->attrs, t->parent_attr) &&
            json_object_set_new(l->vals, t->parent_attr,
                                json_string(attr_s(r->attrs, t->parent_attr))) < 0)
            return oom(c);
    }
    c->stats.live++;
    return 0;
}

static int index_live(struct ctx *c)
{
    c->index = json_object();
    if (!c->index)
        return oom(c);
    for (size_t i = 0; i < c->nl; i++) {
        char *k = str_printf("%s|%s", c->l[i].r->type, c->l[i].r->id);
        json_t *a;
        if (!k)
            return oom(c);
        a = json_object_get(c->index, k);
        if (!a) {
            a = json_array();
            if (!a || json_object_set_new(c->index, k, a) < 0) {
                free(k);
                return oom(c);
            }
        }
        free(k);
        if (json_array_append_new(a, json_integer((json_int_t)i)) < 0)
            return oom(c);
    }
    return 0;
}

static int join_add(struct ctx *c, char kind, const char *value, size_t i)
{
    char *k;
    json_t *a, *last;
    if (!value)
        return 0;
    k = str_printf("%c|%s", kind, value);
    if (!k)
        return oom(c);
    a = json_object_get(c->joins, k);
    if (!a) {
        a = json_array();
        if (!a || json_object_set_new(c->joins, k, a) < 0) {
            free(k);
            return oom(c);
        }
    }
    free(k);
    last = json_array_get(a, json_array_size(a) - 1);
    if (last && (size_t)json_integer_value(last) == i)
        return 0; /* the same element under another join attribute */
    return json_array_append_new(a, json_integer((json_int_t)i)) < 0 ? oom(c) : 0;
}

static const char *joined_parent(const struct decl *x, const char *join);

static int index_joins(struct ctx *c)
{
    int r = 0;
    c->joins = json_object();
    if (!c->joins)
        return oom(c);
    /* Element outermost, so that one element's entries under several join
     * attributes are adjacent and join_add() keeps one. */
    for (size_t i = 0; i < c->nd && r == 0; i++)
        for (size_t ri = 0; ri < typemap_relation_count(c->tm) && r == 0; ri++)
            r = join_add(c, 'd', joined_parent(&c->d[i], typemap_relation_at(c->tm, ri)->join), i);
    for (size_t i = 0; i < c->nl && r == 0; i++)
        for (size_t ri = 0; ri < typemap_relation_count(c->tm) && r == 0; ri++)
            r = join_add(c, 'l', lval(&c->l[i], typemap_relation_at(c->tm, ri)->join), i);
    return r;
}

/* The indices joined to parent id value ('d' declarations, 'l' documents). */
static const json_t *joined(const struct ctx *c, char kind, const char *value)
{
    char key[1024];
    snprintf(key, sizeof(key), "%c|%s", kind, value ? value : "");
    return json_object_get(c->joins, key);
}

/* Live resources of type with this id, compatible with account/region. */
static size_t find_live(struct ctx *c, const char *type, const char *id, const char *account,
                        const char *region, size_t *out, size_t max)
{
    char *k = str_printf("%s|%s", type, id ? id : "");
    json_t *a = k ? json_object_get(c->index, k) : NULL;
    size_t i, n = 0;
    json_t *v;
    free(k);
    json_array_foreach (a, i, v) {
        struct live *l = &c->l[json_integer_value(v)];
        if (!compatible(account, l->r->account) || !compatible(region, l->r->region))
            continue;
        if (n < max)
            out[n] = (size_t)json_integer_value(v);
        n++;
    }
    return n;
}

static int add_skip(struct live *l, const char *attr)
{
    if (strv_has(l->skip, attr))
        return 0;
    return strv_push(&l->skip, attr);
}

static int add_extra(struct ctx *c, struct live *l, const char *path, json_t *declared,
                     json_t *live)
{
    json_t *ch = json_pack("{s:s, s:o, s:o}", "path", path, "declared",
                           declared ? declared : json_null(), "live", live ? live : json_null());
    if (!ch)
        return oom(c);
    if (!l->extra && !(l->extra = json_array())) {
        json_decref(ch);
        return oom(c);
    }
    if (json_array_append_new(l->extra, ch) < 0)
        return oom(c);
    return 0;
}

static int severity_unmanaged(const struct typemap_type *t)
{
    return t && attrs_controlled(t->attrs, t->n_attrs) ? SEVERITY_MEDIUM : SEVERITY_LOW;
}

/* A pseudo resource of a separate type that lives inside its parent's
 * document (an inline policy, an attachment, an inline rule). */
static int add_pseudo_unmanaged(struct ctx *c, const struct live *p, const char *type,
                                const char *id)
{
    const struct typemap_type *t = typemap_find(c->tm, type);
    char *key;
    int r;
    if (c->o->ignore && ignore_resource(c->o->ignore, type, id)) {
        c->stats.ignored++;
        return 0;
    }
    key = resource_key_make(p->r->account, p->r->region, type, id);
    if (!key)
        return oom(c);
    {
        struct rec_in in = {
            .category = "unmanaged",
            .severity = severity_unmanaged(t),
            .resource_key = key,
            .type = type,
            .id = id,
            .account = p->r->account,
            .region = p->r->region,
            .tags = p->r->tags,
        };
        r = add_record(c, &in);
    }
    free(key);
    return r;
}

/* A separate resource compared with its parent's document. */
static int add_separate_changed(struct ctx *c, const struct live *p, const struct decl *x,
                                json_t *changes, bool security)
{
    char *key =
        resource_key_make(p->r->account, p->r->region, x->t->type, x->tf_id ? x->tf_id : "");
    int r;
    if (!key) {
        json_decref(changes);
        return oom(c);
    }
    {
        struct rec_in in = {
            .category = "changed",
            .severity = security ? SEVERITY_HIGH : SEVERITY_MEDIUM,
            .resource_key = key,
            .type = x->t->type,
            .id = x->tf_id,
            .account = p->r->account,
            .region = p->r->region,
            .address = x->address,
            .source = x->source,
            .declared_type = x->type,
            .changes = changes,
            .tags = p->r->tags,
        };
        r = add_record(c, &in);
    }
    free(key);
    return r;
}

static int add_separate_missing(struct ctx *c, const struct live *p, const struct decl *x)
{
    if (c->o->ignore && x->tf_id && ignore_resource(c->o->ignore, x->t->type, x->tf_id)) {
        c->stats.ignored++;
        return 0;
    }
    struct rec_in in = {
        .category = "missing",
        .severity = SEVERITY_HIGH,
        .type = x->t->type,
        .id = x->tf_id,
        .arn = x->arn,
        .account = p->r->account,
        .region = p->r->region,
        .address = x->address,
        .source = x->source,
        .declared_type = x->type,
        .tags = declared_tags(x->attrs),
    };
    return add_record(c, &in);
}

/* The declaration of a live resource when there is exactly one. */
static const struct decl *sole_decl(const struct ctx *c, const struct live *l)
{
    return l->n_decls == 1 ? &c->d[l->decls[0]] : NULL;
}

/* ---- generic relations: declared-only separates against an inline attribute ----- */

/* The attribute of a declared-only separate that holds a scalar set's
 * element (policy_arn of aws_iam_role_policy_attachment). */
static const struct typemap_attr *element_attr(const struct typemap_type *sep, const char *join)
{
    const struct typemap_attr *found = NULL;
    for (size_t i = 0; i < sep->n_attrs; i++) {
        const struct typemap_attr *a = &sep->attrs[i];
        if (str_eq(a->name, join) || a->compare == TYPEMAP_COMPARE_COMPUTED || a->plumb_only)
            continue;
        if (found)
            return NULL;
        found = a;
    }
    return found;
}

static char *elem_key_of(const struct typemap_attr *A, const json_t *e)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    for (size_t i = 0; A->key && A->key[i]; i++) {
        const json_t *v = json_object_get(e, A->key[i]);
        char *t = json_is_string(v) ? strdup(json_string_value(v)) : json_canonical(v);
        if (!t || (i && buf_append_char(&b, '|') < 0) || buf_append_str(&b, t) < 0) {
            free(t);
            buf_free(&b);
            return NULL;
        }
        free(t);
    }
    return buf_steal(&b, NULL);
}

static bool scalar_match(const struct typemap_attr *va, const json_t *a, const json_t *b)
{
    if (va && va->compare == TYPEMAP_COMPARE_ARN && json_is_string(a) && json_is_string(b))
        return normalize_arn_equal(json_string_value(a), json_string_value(b));
    return normalize_equal(a, b);
}

static bool separate_of(const struct typemap_relation *R, const struct typemap_type *t,
                        size_t *ret_k)
{
    for (size_t k = 0; k < R->n_separate; k++)
        if (R->separate[k].type == t) {
            *ret_k = k;
            return true;
        }
    return false;
}

/* The parent live id a separate declaration names. */
static const char *joined_parent(const struct decl *x, const char *join)
{
    const char *p = json_string_value(json_object_get(x->joins, join));
    return p ? p : x->live_id;
}

static int relation_generic(struct ctx *c, size_t ri, const struct typemap_relation *R)
{
    const struct typemap_attr *A = R->inline_attr;
    const char *pseudo_type = NULL;
    int r = 0;

    for (size_t k = 0; k < R->n_separate; k++)
        if (R->separate[k].type->declared_only && !pseudo_type)
            pseudo_type = R->separate[k].type->type;
    if (!pseudo_type)
        return 0; /* only separates with documents of their own */

    for (size_t pi = 0; pi < c->nl && r == 0; pi++) {
        struct live *p = &c->l[pi];
        const json_t *lv, *D = NULL;
        size_t nlv, *seps = NULL, ns = 0, ji;
        json_t *jv;
        bool *used = NULL;
        const struct decl *pd;

        if (p->r->type == NULL || !str_eq(p->r->type, R->parent->type))
            continue;
        seps = calloc(c->nd + 1, sizeof(size_t));
        if (!seps)
            return oom(c);
        json_array_foreach ((json_t *)joined(c, 'd', p->r->id), ji, jv) {
            size_t i = (size_t)json_integer_value(jv);
            struct decl *x = &c->d[i];
            size_t k;
            if (!x->t || !x->t->declared_only || !separate_of(R, x->t, &k))
                continue;
            if (!str_eq(joined_parent(x, R->join), p->r->id) ||
                !compatible(x->account, p->r->account) || !compatible(x->region, p->r->region) ||
                ns >= c->nd)
                continue;
            if (decl_load(c, x) < 0) {
                free(seps);
                return c->err->code;
            }
            if (!typemap_relation_applies(c->tm, ri, k, x->attrs)) {
                decl_unload(x);
                continue;
            }
            seps[ns++] = i;
        }
        if (ns == 0) {
            free(seps);
            continue;
        }
        if (live_load(c, p) < 0 || (p->n_decls == 1 && decl_load(c, &c->d[p->decls[0]]) < 0)) {
            free(seps);
            return c->err->code;
        }
        if (add_skip(p, A->name) < 0) {
            free(seps);
            return oom(c);
        }
        lv = json_object_get(p->r->attrs, A->name);
        nlv = json_is_array(lv) ? json_array_size(lv) : 0;
        used = calloc(nlv + 1, sizeof(bool));
        if (!used) {
            free(seps);
            return oom(c);
        }
        pd = sole_decl(c, p);
        if (pd && json_is_array(json_object_get(pd->attrs, A->name)))
            D = json_object_get(pd->attrs, A->name);

        for (size_t s = 0; s < ns && r == 0; s++) {
            struct decl *x = &c->d[seps[s]];
            x->handled = true;
            if (A->n_attrs == 0) {
                const struct typemap_attr *va = element_attr(x->t, R->join);
                const json_t *xv = va ? json_object_get(x->attrs, va->name) : NULL;
                bool found = false;
                if (!va || !xv) {
                    r = add_unknown(c, x, x->t->type,
                                    "no attribute names the element of its parent");
                    continue;
                }
                for (size_t j = 0; j < nlv && !found; j++)
                    if (scalar_match(va, xv, json_array_get(lv, j)))
                        used[j] = found = true;
                if (!found)
                    r = add_separate_missing(c, p, x);
            } else if (A->key && A->key[0]) {
                char *xk = elem_key_of(A, x->attrs);
                bool found = false;
                if (!xk)
                    return oom(c);
                for (size_t j = 0; j < nlv && !found && r == 0; j++) {
                    char *lk = elem_key_of(A, json_array_get(lv, j));
                    if (!lk) {
                        r = oom(c);
                        break;
                    }
                    if (str_eq(lk, xk)) {
                        struct normalize_input in = {
                            .type = x->t,
                            .declared = x->attrs,
                            .sensitive = x->sensitive,
                            .live = p->r,
                            .ignore = c->o->ignore,
                            .ignore_type = x->t->type,
                            .ignore_id = x->tf_id,
                        };
                        json_t *changes = json_array();
                        bool sec = false;
                        int n;
                        used[j] = found = true;
                        n = changes ? normalize_compare_object(A->attrs, A->n_attrs, x->attrs,
                                                               json_array_get(lv, j), "", &in,
                                                               changes, &sec, c->err)
                                    : -ENOMEM;
                        if (n < 0)
                            r = n;
                        else if (n > 0)
                            r = add_separate_changed(c, p, x, changes, sec), changes = NULL;
                        json_decref(changes);
                    }
                    free(lk);
                }
                free(xk);
                if (r == 0 && !found)
                    r = add_separate_missing(c, p, x);
            } else {
                r = add_unknown(c, x, x->t->type,
                                "its parent's inline attribute has no key to match it by");
            }
        }
        /* Live elements no separate resource covers. */
        for (size_t j = 0; j < nlv && r == 0; j++) {
            const json_t *e = json_array_get(lv, j);
            const json_t *de = NULL;
            char *id = NULL, *ek = NULL;
            size_t di;
            json_t *dv;
            if (used[j])
                continue;
            if (A->n_attrs == 0) {
                json_array_foreach ((json_t *)D, di, dv)
                    if (normalize_equal(dv, e))
                        de = dv;
                if (de)
                    continue; /* declared inline */
                id = str_printf("%s/%s", p->r->id, json_is_string(e) ? json_string_value(e) : "?");
            } else {
                ek = elem_key_of(A, e);
                if (!ek)
                    return oom(c);
                json_array_foreach ((json_t *)D, di, dv) {
                    char *dk = elem_key_of(A, dv);
                    if (dk && str_eq(dk, ek))
                        de = dv;
                    free(dk);
                }
                if (de) {
                    /* Declared inline on the parent: compare there. */
                    struct normalize_input in = {
                        .type = p->r ? typemap_find(c->tm, p->r->type) : NULL,
                        .declared = pd->attrs,
                        .sensitive = pd->sensitive,
                        .live = p->r,
                        .ignore = c->o->ignore,
                        .ignore_type = p->r->type,
                        .ignore_id = p->r->id,
                    };
                    char *base = json_path_key(A->name, ek);
                    if (!p->extra)
                        p->extra = json_array();
                    if (!base || !p->extra ||
                        normalize_compare_object(A->attrs, A->n_attrs, de, e, base, &in, p->extra,
                                                 NULL, c->err) < 0)
                        r = oom(c);
                    free(base);
                    free(ek);
                    continue;
                }
                id = str_printf("%s:%s", p->r->id, ek);
            }
            r = id ? add_pseudo_unmanaged(c, p, pseudo_type, id) : oom(c);
            free(id);
            free(ek);
        }
        /* Inline declarations nothing live has. */
        if (r == 0 && D) {
            size_t di;
            json_t *dv;
            json_array_foreach ((json_t *)D, di, dv) {
                bool live_has = false, sep_has = false;
                char *dk = A->n_attrs ? elem_key_of(A, dv) : NULL;
                for (size_t j = 0; j < nlv && !live_has; j++) {
                    if (A->n_attrs) {
                        char *lk = elem_key_of(A, json_array_get(lv, j));
                        live_has = lk && dk && str_eq(lk, dk);
                        free(lk);
                    } else {
                        live_has = normalize_equal(dv, json_array_get(lv, j));
                    }
                }
                for (size_t s = 0; s < ns && !sep_has; s++) {
                    const struct decl *x = &c->d[seps[s]];
                    if (A->n_attrs) {
                        char *xk = elem_key_of(A, x->attrs);
                        sep_has = xk && dk && str_eq(xk, dk);
                        free(xk);
                    } else {
                        const struct typemap_attr *va = element_attr(x->t, R->join);
                        sep_has = va && scalar_match(va, json_object_get(x->attrs, va->name), dv);
                    }
                }
                if (!live_has && !sep_has) {
                    char *path = dk ? json_path_key(A->name, dk) : strdup(A->name);
                    r = path ? add_extra(c, p, path, json_deep_copy(dv), NULL) : oom(c);
                    free(path);
                }
                free(dk);
                if (r < 0)
                    break;
            }
        }
        for (size_t k = 0; k < ns; k++)
            decl_unload(&c->d[seps[k]]);
        if (p->n_decls == 1)
            decl_unload(&c->d[p->decls[0]]);
        live_unload(p);
        free(used);
        free(seps);
    }
    return r;
}

/* ---- security groups: rules declared three ways ------------------------------------ */

static const char *vpc_rule_type(const char *dir)
{
    return str_eq(dir, "ingress") ? "aws_vpc_security_group_ingress_rule"
                                  : "aws_vpc_security_group_egress_rule";
}

/* The aws_security_group_rule attribute a source kind is declared in. */
static const char *rule_attr_of_kind(const char *key, const char *group_id)
{
    char buf[512];
    const char *kind, *value;
    char *bar;
    snprintf(buf, sizeof(buf), "%s", key);
    /* dir|proto|from|to|kind|value */
    kind = buf;
    for (int i = 0; i < 4 && kind; i++) {
        kind = strchr(kind, '|');
        if (kind)
            kind++;
    }
    if (!kind)
        return "rule";
    bar = strchr(kind, '|');
    if (!bar)
        return "rule";
    *bar = '\0';
    value = bar + 1;
    if (str_eq(kind, "cidr"))
        return "cidr_blocks";
    if (str_eq(kind, "cidr6"))
        return "ipv6_cidr_blocks";
    if (str_eq(kind, "pl"))
        return "prefix_list_ids";
    return str_eq(value, group_id) ? "self" : "source_security_group_id";
}

/* "ingress" or "egress": the first field of an atom key. */
static const char *sg_direction(const struct normalize_sg_atoms *a)
{
    return a->n && str_has_prefix(a->v[0].key, "egress|") ? "egress" : "ingress";
}

static int sg_rule_changes(struct ctx *c, struct live *g, struct decl *x,
                           const struct normalize_sg_atoms *xa, const struct normalize_sg_atoms *L)
{
    json_t *changes = json_array(), *missing_by_attr = json_object();
    bool any_found = false, any_missing = false;
    const char *k;
    json_t *v;
    int r = 0;

    if (!changes || !missing_by_attr)
        goto oom;
    for (size_t i = 0; i < xa->n; i++) {
        long j = normalize_sg_atoms_find(L, xa->v[i].key);
        if (j < 0) {
            const char *attr = rule_attr_of_kind(xa->v[i].key, g->r->id);
            json_t *list = json_object_get(missing_by_attr, attr);
            if (!list) {
                list = json_array();
                if (!list || json_object_set_new(missing_by_attr, attr, list) < 0)
                    goto oom;
            }
            json_array_append_new(list, json_string(strrchr(xa->v[i].key, '|') + 1));
            any_missing = true;
            continue;
        }
        any_found = true;
        if (!str_eq(L->v[j].description, xa->v[i].description) &&
            !(c->o->ignore && ignore_attribute(c->o->ignore, x->t->type, x->tf_id ? x->tf_id : "",
                                               "description"))) {
            bool seen = false;
            size_t ci;
            json_t *ch;
            json_array_foreach (changes, ci, ch)
                seen |= str_eq(json_string_value(json_object_get(ch, "path")), "description");
            if (!seen &&
                json_array_append_new(changes, json_pack("{s:s, s:s, s:s}", "path", "description",
                                                         "declared", xa->v[i].description, "live",
                                                         L->v[j].description)) < 0)
                goto oom;
        }
    }
    if (!any_found) {
        json_decref(changes);
        json_decref(missing_by_attr);
        return add_separate_missing(c, g, x);
    }
    if (any_missing) {
        json_object_foreach (missing_by_attr, k, v) {
            json_t *declared = json_deep_copy(json_object_get(x->attrs, k));
            if (c->o->ignore &&
                ignore_attribute(c->o->ignore, x->t->type, x->tf_id ? x->tf_id : "", k)) {
                json_decref(declared);
                continue;
            }
            /* What of it is live: the declared sources minus the missing ones. */
            json_t *live = json_array();
            size_t di;
            json_t *dv;
            if (json_is_array(declared)) {
                json_array_foreach (declared, di, dv) {
                    bool gone = false;
                    size_t mi;
                    json_t *mv;
                    json_array_foreach (v, mi, mv)
                        gone |= json_equal(mv, dv);
                    if (!gone)
                        json_array_append(live, dv);
                }
            }
            if (json_array_append_new(
                    changes,
                    json_pack("{s:s, s:o, s:o}", "path", k, "declared",
                              declared ? declared : json_null(), "live",
                              json_is_array(declared) ? live : (json_decref(live), json_null()))) <
                0)
                goto oom;
        }
    }
    json_decref(missing_by_attr);
    if (json_array_size(changes) == 0) {
        json_decref(changes);
        return 0;
    }
    r = add_separate_changed(c, g, x, changes,
                             controls_of_path(typemap_find(c->tm, g->r->type), sg_direction(xa)));
    return r;
oom:
    json_decref(changes);
    json_decref(missing_by_attr);
    return oom(c);
}

static int relation_sg(struct ctx *c, size_t ri, const struct typemap_relation *R)
{
    const char *dir = R->inline_attr->name;
    int r = 0;

    if (!str_eq(dir, "ingress") && !str_eq(dir, "egress"))
        return relation_generic(c, ri, R);
    for (size_t gi = 0; gi < c->nl && r == 0; gi++) {
        struct live *g = &c->l[gi];
        struct normalize_sg_atoms L = { 0 }, C = { 0 }, I = { 0 }, V = { 0 };
        size_t n_old = 0, n_new = 0, ji, n_loaded = 0;
        size_t *loaded = NULL;
        json_t *jv;
        struct decl *gd;

        if (!str_eq(g->r->type, "aws_security_group"))
            continue;
        gd = g->n_decls == 1 ? &c->d[g->decls[0]] : NULL;
        loaded = calloc(json_array_size(joined(c, 'd', g->r->id)) + 1, sizeof(size_t));
        if (!loaded)
            return oom(c);
        /* The separate declarations of this group and direction. */
        json_array_foreach ((json_t *)joined(c, 'd', g->r->id), ji, jv) {
            size_t i = (size_t)json_integer_value(jv);
            struct decl *x = &c->d[i];
            size_t k;
            if (r < 0)
                break;
            if (!x->t || !separate_of(R, x->t, &k) ||
                !str_eq(joined_parent(x, R->join), g->r->id) ||
                !compatible(x->account, g->r->account) || !compatible(x->region, g->r->region))
                continue;
            if ((r = decl_load(c, x)) < 0)
                break;
            if (!typemap_relation_applies(c->tm, ri, k, x->attrs)) {
                decl_unload(x);
                continue;
            }
            loaded[n_loaded++] = i;
            if (x->t->declared_only) {
                n_old++;
                r = normalize_sg_atoms_rule(x->attrs, i, &C);
            } else {
                n_new++;
                r = normalize_sg_atoms_vpc_rule(x->attrs, dir, i, &C);
            }
        }
        /* The live rule documents of this group and direction. */
        json_array_foreach ((json_t *)joined(c, 'l', g->r->id), ji, jv) {
            size_t i = (size_t)json_integer_value(jv);
            if (r < 0)
                break;
            if (str_eq(c->l[i].r->type, vpc_rule_type(dir)) &&
                str_eq(lval(&c->l[i], "security_group_id"), g->r->id) &&
                str_eq(c->l[i].r->account, g->r->account) &&
                str_eq(c->l[i].r->region, g->r->region)) {
                bool was = c->l[i].loaded;
                r = live_load(c, &c->l[i]);
                if (r == 0)
                    r = normalize_sg_atoms_vpc_rule(c->l[i].r->attrs, dir, i, &V);
                if (!was)
                    live_unload(&c->l[i]);
            }
        }
        if (r < 0)
            goto done;
        if (n_old + n_new == 0) {
            /* Rules inline only: the group's own comparison covers them, and
             * its live rule documents are part of it. */
            if (gd)
                for (size_t i = 0; i < V.n; i++)
                    c->l[V.v[i].owner].covered = true;
            goto done;
        }
        if (add_skip(g, dir) < 0) {
            r = oom(c);
            goto done;
        }
        if ((r = live_load(c, g)) < 0 || (gd && (r = decl_load(c, gd)) < 0))
            goto done;
        r = normalize_sg_atoms_inline(json_object_get(g->r->attrs, dir), dir, g->r->id, 0, &L);
        if (r == 0 && gd)
            r = normalize_sg_atoms_inline(json_object_get(gd->attrs, dir), dir, g->r->id, 0, &I);
        if (r < 0)
            goto done;
        /* aws_security_group_rule: matched against the group's live rules. */
        json_array_foreach ((json_t *)joined(c, 'd', g->r->id), ji, jv) {
            size_t i = (size_t)json_integer_value(jv);
            struct decl *x = &c->d[i];
            struct normalize_sg_atoms xa = { 0 };
            size_t k;
            if (r < 0)
                break;
            if (!x->t || !x->t->declared_only || !separate_of(R, x->t, &k) || !x->attrs ||
                !typemap_relation_applies(c->tm, ri, k, x->attrs) ||
                !str_eq(joined_parent(x, R->join), g->r->id) ||
                !compatible(x->account, g->r->account) || !compatible(x->region, g->r->region))
                continue;
            x->handled = true;
            r = normalize_sg_atoms_rule(x->attrs, i, &xa);
            if (r == 0 && xa.n == 0)
                r = add_unknown(c, x, x->t->type, "the rule names no source");
            else if (r == 0)
                r = sg_rule_changes(c, g, x, &xa, &L);
            normalize_sg_atoms_clear(&xa);
        }
        /* Live rule documents: covered when some declaration says so. */
        for (size_t i = 0; i < V.n; i++) {
            struct live *v = &c->l[V.v[i].owner];
            if (v->n_decls == 0 && (normalize_sg_atoms_find(&C, V.v[i].key) >= 0 ||
                                    normalize_sg_atoms_find(&I, V.v[i].key) >= 0))
                v->covered = true;
        }
        /* Live rules nothing declares and no rule document stands for. */
        for (size_t i = 0; i < L.n && r == 0; i++) {
            char *id;
            if (normalize_sg_atoms_find(&C, L.v[i].key) >= 0 ||
                normalize_sg_atoms_find(&I, L.v[i].key) >= 0 ||
                normalize_sg_atoms_find(&V, L.v[i].key) >= 0)
                continue;
            id = normalize_sg_atom_import_id(&L.v[i], g->r->id);
            r = id ? add_pseudo_unmanaged(c, g, "aws_security_group_rule", id) : oom(c);
            free(id);
        }
        /* Inline declarations that are gone and no separate resource holds. */
        if (r == 0 && gd) {
            json_t *gone = json_array();
            for (size_t i = 0; gone && i < I.n; i++)
                if (normalize_sg_atoms_find(&L, I.v[i].key) < 0 &&
                    normalize_sg_atoms_find(&C, I.v[i].key) < 0)
                    json_array_append_new(gone, normalize_sg_atom_json(&I.v[i]));
            if (!gone)
                r = oom(c);
            else if (json_array_size(gone) &&
                     !(c->o->ignore && ignore_attribute(c->o->ignore, g->r->type, g->r->id, dir)))
                r = add_extra(c, g, dir, gone, NULL);
            else
                json_decref(gone);
        }
    done:
        for (size_t k = 0; k < n_loaded; k++)
            decl_unload(&c->d[loaded[k]]);
        free(loaded);
        if (gd)
            decl_unload(gd);
        live_unload(g);
        normalize_sg_atoms_clear(&L);
        normalize_sg_atoms_clear(&C);
        normalize_sg_atoms_clear(&I);
        normalize_sg_atoms_clear(&V);
        if (r < 0 && r != -ENOMEM)
            r = oom(c);
    }
    return r;
}

/* ---- one family ------------------------------------------------------------------------ */

struct family {
    char **types; /* canonical types, parents before children */
    char **names; /* declared type names: the types and their aliases */
    int rank;     /* parent families first */
    size_t first; /* table order of its first type */
};

static bool in_family(const struct family *f, const char *type)
{
    return strv_has(f->types, type);
}

static enum typemap_parent_state parent_state(struct ctx *c, const struct resource *r,
                                              const struct typemap_type *t)
{
    const char *pid, *st;
    char *key;
    if (!t->parent_type || !t->parent_attr)
        return TYPEMAP_PARENT_UNKNOWN;
    pid = attr_s(r->attrs, t->parent_attr);
    if (!pid)
        return TYPEMAP_PARENT_UNKNOWN;
    key = resource_key_make(r->account, r->region, t->parent_type, pid);
    st = key ? json_string_value(json_object_get(c->status, key)) : NULL;
    free(key);
    if (str_eq(st, "managed"))
        return TYPEMAP_PARENT_MANAGED;
    if (str_eq(st, "unmanaged"))
        return TYPEMAP_PARENT_UNMANAGED;
    if (str_eq(st, "excluded"))
        return TYPEMAP_PARENT_EXCLUDED;
    return TYPEMAP_PARENT_UNKNOWN;
}

static int set_status(struct ctx *c, const struct live *l, const char *status)
{
    if (!json_object_get(c->parent_types, l->r->type))
        return 0;
    if (json_object_set_new(c->status, l->key, json_string(status)) < 0)
        return oom(c);
    return 0;
}

/* A live document of a separate type whose declared parent holds the same
 * configuration inline (a v3-style bucket, a group with inline rules). */
static bool covered_by_parent(struct ctx *c, const struct live *l)
{
    for (size_t ri = 0; ri < typemap_relation_count(c->tm); ri++) {
        const struct typemap_relation *R = typemap_relation_at(c->tm, ri);
        const char *pid;
        size_t k, idx[4], n;
        if (!separate_of(R, typemap_find(c->tm, l->r->type), &k) ||
            R->separate[k].type->declared_only)
            continue;
        pid = lval(l, R->join);
        if (!pid)
            continue;
        n = find_live(c, R->parent->type, pid, l->r->account, l->r->region, idx, 4);
        if (n != 1)
            continue;
        if (c->l[idx[0]].n_decls > 0 && !strv_has(c->l[idx[0]].skip, R->inline_attr->name))
            return true;
    }
    return false;
}

static int compare_loaded(struct ctx *c, struct live *l)
{
    const struct decl *d = &c->d[l->decls[0]];
    const struct typemap_type *t = typemap_find(c->tm, l->r->type);
    struct normalize_input in = {
        .type = t,
        .declared = d->attrs,
        .sensitive = d->sensitive,
        .live = l->r,
        .ignore = c->o->ignore,
        .ignore_type = t->type,
        .ignore_id = l->r->id,
        .skip = (const char *const *)l->skip,
    };
    json_t *changes = json_array();
    bool security = false;
    int n;

    if (!changes)
        return oom(c);
    n = normalize_compare(&in, changes, &security, c->err);
    if (n < 0) {
        json_decref(changes);
        return n;
    }
    if (l->extra) {
        size_t i;
        json_t *e;
        json_array_foreach (l->extra, i, e) {
            json_array_append(changes, e);
            security |= controls_of_path(t, json_string_value(json_object_get(e, "path")));
        }
    }
    if (json_array_size(changes) == 0) {
        json_decref(changes);
        return 0;
    }
    {
        struct rec_in r = {
            .category = "changed",
            .severity = security ? SEVERITY_HIGH : SEVERITY_MEDIUM,
            .resource_key = l->key,
            .type = t->type,
            .id = l->r->id,
            .arn = l->r->arn,
            .account = l->r->account,
            .region = l->r->region,
            .address = d->address,
            .source = d->source,
            .declared_type = d->type,
            .changes = changes,
            .tags = l->r->tags,
        };
        return add_record(c, &r);
    }
}

static int compare_matched(struct ctx *c, struct live *l)
{
    struct decl *d = &c->d[l->decls[0]];
    int r = decl_load(c, d);
    if (r == 0)
        r = live_load(c, l);
    if (r == 0)
        r = compare_loaded(c, l);
    decl_unload(d);
    live_unload(l);
    return r;
}

static int conflict_loaded(struct ctx *c, struct live *l);

static int report_conflict(struct ctx *c, struct live *l)
{
    int r = live_load(c, l);
    if (r == 0)
        r = conflict_loaded(c, l);
    live_unload(l);
    return r;
}

static int conflict_loaded(struct ctx *c, struct live *l)
{
    const struct typemap_type *t = typemap_find(c->tm, l->r->type);
    json_t *decls = json_array(), *changes;
    const struct decl *first = &c->d[l->decls[0]];
    for (size_t i = 0; decls && i < l->n_decls; i++) {
        const struct decl *d = &c->d[l->decls[i]];
        if (json_array_append_new(
                decls, json_pack("{s:s, s:s}", "source", d->source, "address", d->address)) < 0) {
            json_decref(decls);
            decls = NULL;
        }
    }
    changes = decls ? json_pack("[{s:s, s:o, s:s}]", "path", "declarations", "declared", decls,
                                "live", l->key)
                    : NULL;
    if (!changes)
        return oom(c);
    {
        struct rec_in r = {
            .category = "conflict",
            .severity = SEVERITY_MEDIUM,
            .resource_key = l->key,
            .type = t->type,
            .id = l->r->id,
            .arn = l->r->arn,
            .account = l->r->account,
            .region = l->r->region,
            .address = first->address,
            .source = first->source,
            .declared_type = first->type,
            .changes = changes,
            .tags = l->r->tags,
        };
        return add_record(c, &r);
    }
}

static int unmanaged_loaded(struct ctx *c, struct live *l);

static int decide_unmanaged(struct ctx *c, struct live *l)
{
    int r;
    if (l->n_decls > 0 || l->covered || covered_by_parent(c, l))
        return set_status(c, l, "managed");
    r = live_load(c, l);
    if (r == 0)
        r = unmanaged_loaded(c, l);
    live_unload(l);
    return r;
}

static int unmanaged_loaded(struct ctx *c, struct live *l)
{
    const struct typemap_type *t = typemap_find(c->tm, l->r->type);
    enum typemap_parent_state ps;
    bool excl, excl_default;

    if (l->n_decls > 0 || l->covered || covered_by_parent(c, l))
        return set_status(c, l, "managed");
    if (!t || !t->unmanaged || t->declared_only)
        return set_status(c, l, "excluded");
    ps = parent_state(c, l->r, t);
    excl = typemap_unmanaged_excluded(c->tm, l->r, ps, NULL);
    /* With include_defaults, only folds into an unmanaged or excluded
     * parent still apply: evaluated as if the parent were managed, a rule
     * that still excludes is about the resource itself (an AWS default). */
    excl_default = excl && typemap_unmanaged_excluded(c->tm, l->r, TYPEMAP_PARENT_MANAGED, NULL);
    if (excl && !(c->o->include_defaults && excl_default)) {
        c->stats.excluded++;
        return set_status(c, l, "excluded");
    }
    if (c->o->ignore && ignore_resource(c->o->ignore, l->r->type, l->r->id)) {
        c->stats.ignored++;
        return set_status(c, l, "excluded");
    }
    {
        struct rec_in r = {
            .category = "unmanaged",
            .severity = severity_unmanaged(t),
            .resource_key = l->key,
            .type = t->type,
            .id = l->r->id,
            .arn = l->r->arn,
            .account = l->r->account,
            .region = l->r->region,
            .tags = l->r->tags,
        };
        int e = add_record(c, &r);
        if (e < 0)
            return e;
    }
    return set_status(c, l, "unmanaged");
}

static int process_family(struct ctx *c, const struct family *f)
{
    int r;

    r = load_decls(c, f->names);
    if (r < 0)
        return r;
    for (size_t i = 0; f->types[i]; i++) {
        const struct typemap_type *t = typemap_find(c->tm, f->types[i]);
        struct snapshot_filter filter = { .type = f->types[i] };
        if (t->declared_only || !t->collector)
            continue;
        r = snapshot_foreach(c->db, &filter, copy_live, c, c->err);
        if (r < 0)
            return r;
    }
    r = index_live(c);
    if (r < 0)
        return r;

    r = index_joins(c);
    if (r < 0)
        return r;

    /* Separates with documents of their own: their parents skip the inline
     * attribute. */
    for (size_t ri = 0; ri < typemap_relation_count(c->tm); ri++) {
        const struct typemap_relation *R = typemap_relation_at(c->tm, ri);
        if (!in_family(f, R->parent->type))
            continue;
        for (size_t i = 0; i < c->nd; i++) {
            struct decl *x = &c->d[i];
            size_t k, idx[4], n;
            bool applies;
            if (!x->t || x->t->declared_only || !separate_of(R, x->t, &k))
                continue;
            if ((r = decl_load(c, x)) < 0)
                return r;
            applies = typemap_relation_applies(c->tm, ri, k, x->attrs);
            decl_unload(x);
            if (!applies)
                continue;
            n = find_live(c, R->parent->type, joined_parent(x, R->join), x->account, x->region, idx,
                          4);
            for (size_t j = 0; j < n && j < 4; j++)
                if (add_skip(&c->l[idx[j]], R->inline_attr->name) < 0)
                    return oom(c);
        }
    }

    /* Primary matching. */
    for (size_t i = 0; i < c->nd; i++) {
        struct decl *d = &c->d[i];
        size_t idx[8], n;
        if (!d->t || d->t->declared_only)
            continue;
        if (!d->live_id) {
            char *why = str_printf("no live id: %s", d->id_error ? d->id_error : "?");
            r = why ? add_unknown(c, d, d->t->type, why) : oom(c);
            free(why);
            if (r < 0)
                return r;
            continue;
        }
        n = find_live(c, d->t->type, d->live_id, d->account, d->region, idx, 8);
        if (n == 0) {
            r = report_absent(c, d, d->t->type, d->t->type, d->live_id, NULL, NULL);
        } else if (n == 1) {
            struct live *l = &c->l[idx[0]];
            size_t *nd = realloc(l->decls, (l->n_decls + 1) * sizeof(size_t));
            if (!nd)
                return oom(c);
            l->decls = nd;
            l->decls[l->n_decls++] = i;
            c->stats.matched++;
        } else {
            char *why = str_printf("matches %zu live resources in different accounts or regions "
                                   "(the state does not say which)",
                                   n);
            r = why ? add_unknown(c, d, d->t->type, why) : oom(c);
            free(why);
        }
        if (r < 0)
            return r;
    }

    /* Relations with declared-only separates. */
    for (size_t ri = 0; ri < typemap_relation_count(c->tm); ri++) {
        const struct typemap_relation *R = typemap_relation_at(c->tm, ri);
        if (!in_family(f, R->parent->type))
            continue;
        r = str_eq(R->parent->type, "aws_security_group") ? relation_sg(c, ri, R)
                                                          : relation_generic(c, ri, R);
        if (r < 0)
            return r;
    }
    /* Declared-only instances no relation could place. */
    for (size_t i = 0; i < c->nd; i++) {
        struct decl *d = &c->d[i];
        const struct typemap_type *m;
        size_t idx[2];
        if (!d->t || !d->t->declared_only || d->handled)
            continue;
        m = d->t->match_type ? typemap_find(c->tm, d->t->match_type) : NULL;
        if (m && d->live_id &&
            find_live(c, m->type, d->live_id, d->account, d->region, idx, 2) == 0)
            r = report_absent(c, d, m->type, d->t->type, d->tf_id, NULL, NULL);
        else
            r = add_unknown(c, d, d->t->type,
                            d->live_id ? "cannot be matched: no relation of the type table "
                                         "applies to it"
                                       : "names no parent");
        if (r < 0)
            return r;
    }

    /* Compare, then decide what is unmanaged, parents first. */
    for (size_t i = 0; i < c->nl; i++) {
        struct live *l = &c->l[i];
        if (l->n_decls >= 2) {
            bool distinct = false;
            for (size_t k = 1; k < l->n_decls; k++)
                distinct |= !str_eq(c->d[l->decls[k]].source, c->d[l->decls[0]].source) ||
                            !str_eq(c->d[l->decls[k]].address, c->d[l->decls[0]].address);
            r = distinct ? report_conflict(c, l) : compare_matched(c, l);
        } else if (l->n_decls == 1) {
            if (c->o->ignore && ignore_resource(c->o->ignore, l->r->type, l->r->id))
                c->stats.ignored++;
            else
                r = compare_matched(c, l);
        }
        if (r < 0)
            return r;
    }
    for (size_t ti = 0; f->types[ti]; ti++)
        for (size_t i = 0; i < c->nl; i++)
            if (str_eq(c->l[i].r->type, f->types[ti]) && (r = decide_unmanaged(c, &c->l[i])) < 0)
                return r;
    return 0;
}

/* ---- families ------------------------------------------------------------------------- */

static size_t uf_find(size_t *parent, size_t i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

static void uf_union(size_t *parent, size_t a, size_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a != b)
        parent[a < b ? b : a] = a < b ? a : b;
}

static long type_index(const struct typemap *tm, const char *type)
{
    for (size_t i = 0; type && i < typemap_count(tm); i++)
        if (str_eq(typemap_type_at(tm, i)->type, type))
            return (long)i;
    return -1;
}

/* Depth of a type in the parent chain (0 for types without a parent). */
static int parent_depth(const struct typemap *tm, const struct typemap_type *t)
{
    int d = 0;
    while (t && t->parent_type && d < 16) {
        t = typemap_find(tm, t->parent_type);
        d++;
    }
    return d;
}

static void families_free(struct family *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++) {
        strv_free(f[i].types);
        strv_free(f[i].names);
    }
    free(f);
}

static int cmp_family(const void *a, const void *b)
{
    const struct family *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int build_families(struct ctx *c, struct family **ret, size_t *ret_n)
{
    size_t n = typemap_count(c->tm), nf = 0;
    size_t *uf = calloc(n + 1, sizeof(size_t));
    struct family *f = calloc(n + 1, sizeof(*f));
    long *fam_of = calloc(n + 1, sizeof(long));

    if (!uf || !f || !fam_of)
        goto oom;
    for (size_t i = 0; i < n; i++)
        uf[i] = i;
    for (size_t i = 0; i < n; i++) {
        const struct typemap_type *t = typemap_type_at(c->tm, i);
        long m = t->declared_only ? type_index(c->tm, t->match_type) : -1;
        if (m >= 0)
            uf_union(uf, i, (size_t)m);
        if (t->parent_type && json_object_set_new(c->parent_types, t->parent_type, json_true()) < 0)
            goto oom;
    }
    for (size_t ri = 0; ri < typemap_relation_count(c->tm); ri++) {
        const struct typemap_relation *R = typemap_relation_at(c->tm, ri);
        long p = type_index(c->tm, R->parent->type);
        for (size_t k = 0; k < R->n_separate; k++) {
            long s = type_index(c->tm, R->separate[k].type->type);
            if (p >= 0 && s >= 0)
                uf_union(uf, (size_t)p, (size_t)s);
        }
    }
    for (size_t i = 0; i < n; i++)
        fam_of[i] = -1;
    /* Members in parent-depth order, so parents are decided first. */
    for (int depth = 0; depth < 17; depth++)
        for (size_t i = 0; i < n; i++) {
            const struct typemap_type *t = typemap_type_at(c->tm, i);
            size_t root = uf_find(uf, i);
            struct family *fm;
            if (parent_depth(c->tm, t) != depth)
                continue;
            if (fam_of[root] < 0) {
                fam_of[root] = (long)nf;
                f[nf].first = root;
                nf++;
            }
            fm = &f[fam_of[root]];
            if (strv_push(&fm->types, t->type) < 0 || strv_push(&fm->names, t->type) < 0)
                goto oom;
            for (size_t a = 0; t->aliases[a]; a++)
                if (strv_push(&fm->names, t->aliases[a]) < 0)
                    goto oom;
            if (depth > fm->rank)
                fm->rank = depth;
        }
    qsort(f, nf, sizeof(*f), cmp_family);
    free(uf);
    free(fam_of);
    *ret = f;
    *ret_n = nf;
    return 0;
oom:
    free(uf);
    free(fam_of);
    families_free(f, nf);
    return oom(c);
}

/* Declared types the table does not know, and data sources of those. */
static int count_unsupported(struct ctx *c, json_t *out)
{
    sqlite3_stmt *st =
        db_stmt(c->db, "SELECT type, mode, count(*) FROM declared GROUP BY type, mode", c->err);
    int rc;
    if (!st)
        return c->err->code;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *mode = (const char *)sqlite3_column_text(st, 1);
        int64_t n = sqlite3_column_int64(st, 2);
        const struct typemap_type *t = typemap_find(c->tm, type);
        if (t && !str_has_prefix(t->type, "plumb_"))
            continue;
        if (str_eq(mode, "data")) {
            c->stats.data += n;
            continue;
        }
        c->stats.unsupported += n;
        if (json_object_set_new(out, type, json_integer(n)) < 0) {
            sqlite3_reset(st);
            return oom(c);
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(c->db, rc, c->err, "declared");
    return 0;
}

static int cmp_record(const void *a, const void *b)
{
    return strcmp(((const struct diff_record *)a)->key, ((const struct diff_record *)b)->key);
}

static int cmp_unknown(const void *a, const void *b)
{
    const struct diff_unknown *x = a, *y = b;
    int r = strcmp(x->source, y->source);
    return r ? r : strcmp(x->address, y->address);
}

static void unknown_clear(struct diff_unknown *u)
{
    free(u->source);
    free(u->address);
    free(u->type);
    free(u->id);
    free(u->account);
    free(u->region);
    free(u->reason);
}

struct diff_result *diff_result_free(struct diff_result *r)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        record_clear(&r->records[i]);
    free(r->records);
    free(r->items);
    for (size_t i = 0; i < r->n_unknown; i++)
        unknown_clear(&r->unknown[i]);
    free(r->unknown);
    json_decref(r->unsupported_types);
    free(r);
    return NULL;
}

int diff_run(struct db *db, const struct diff_options *opts, struct diff_result **ret,
             struct perr *err)
{
    struct ctx c = {
        .db = db,
        .o = opts,
        .tm = opts->tm,
        .err = err,
        .records = { .size = sizeof(struct diff_record) },
        .unknown = { .size = sizeof(struct diff_unknown) },
    };
    struct diff_result *res = calloc(1, sizeof(*res));
    struct family *fams = NULL;
    size_t nf = 0;
    struct perr local = { 0 };
    int r;

    if (!err)
        c.err = err = &local;
    c.coverage = json_object();
    c.cov_accounts = json_object();
    c.status = json_object();
    c.parent_types = json_object();
    if (!res || !c.coverage || !c.cov_accounts || !c.status || !c.parent_types ||
        !(res->unsupported_types = json_object())) {
        r = oom(&c);
        goto fail;
    }
    r = load_coverage(&c);
    if (r < 0)
        goto fail;
    r = build_families(&c, &fams, &nf);
    if (r < 0)
        goto fail;
    for (size_t i = 0; i < nf; i++) {
        bool wanted = false;
        for (size_t k = 0; fams[i].types[k]; k++)
            wanted |= type_wanted(&c, fams[i].types[k]);
        if (!wanted)
            continue;
        r = process_family(&c, &fams[i]);
        family_free(&c);
        if (r < 0)
            goto fail;
    }
    if (!opts->types) {
        r = count_unsupported(&c, res->unsupported_types);
        if (r < 0)
            goto fail;
    }
    /* Drop the records of types not asked for (relation partners). */
    if (opts->types) {
        size_t k = 0;
        struct diff_record *rec = c.records.v;
        for (size_t i = 0; i < c.records.n; i++) {
            if (type_wanted(&c, rec[i].item.type))
                rec[k++] = rec[i];
            else
                record_clear(&rec[i]);
        }
        c.records.n = k;
    }
    qsort(c.records.v, c.records.n, sizeof(struct diff_record), cmp_record);
    if (c.unknown.n)
        qsort(c.unknown.v, c.unknown.n, sizeof(struct diff_unknown), cmp_unknown);
    res->records = c.records.v;
    res->n = c.records.n;
    res->unknown = c.unknown.v;
    res->n_unknown = c.unknown.n;
    c.records.v = c.unknown.v = NULL;
    c.records.n = c.unknown.n = 0;
    res->items = calloc(res->n + 1, sizeof(struct drift_item));
    if (!res->items) {
        r = oom(&c);
        goto fail;
    }
    for (size_t i = 0; i < res->n; i++) {
        /* Strings live in the record; re-point after the sort moved it. */
        struct diff_record *rec = &res->records[i];
        rec->item.resource_key = rec->s_resource_key;
        rec->item.type = rec->s_type;
        rec->item.id = rec->s_id;
        rec->item.arn = rec->s_arn;
        rec->item.account = rec->s_account;
        rec->item.region = rec->s_region;
        rec->item.address = rec->s_address;
        rec->item.source = rec->s_source;
        rec->item.changes = rec->j_changes;
        rec->item.tags = rec->j_tags;
        res->items[i] = rec->item;
    }
    res->stats = c.stats;
    json_decref(c.coverage);
    json_decref(c.cov_accounts);
    json_decref(c.status);
    json_decref(c.parent_types);
    families_free(fams, nf);
    *ret = res;
    return 0;
fail:
    family_free(&c);
    for (size_t i = 0; i < c.records.n; i++)
        record_clear(&((struct diff_record *)c.records.v)[i]);
    free(c.records.v);
    for (size_t i = 0; i < c.unknown.n; i++)
        unknown_clear(&((struct diff_unknown *)c.unknown.v)[i]);
    free(c.unknown.v);
    json_decref(c.coverage);
    json_decref(c.cov_accounts);
    json_decref(c.status);
    json_decref(c.parent_types);
    families_free(fams, nf);
    diff_result_free(res);
    return r;
}

json_t *diff_record_json(const struct diff_record *r)
{
    const struct drift_item *d = &r->item;
    return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:O?, s:s?, s:s?, s:s?, "
                     "s:s, s:s?, s:O?, s:O?}",
                     "category", d->category, "type", d->type, "declared_type", r->declared_type,
                     "id", d->id, "arn", d->arn, "address", d->address, "module", r->module, "name",
                     r->name, "index_key", r->index_key, "source", d->source, "account", d->account,
                     "region", d->region, "severity", severity_name(d->severity), "resource_key",
                     d->resource_key, "changes", d->changes, "tags", d->tags);
}

bool diff_scope_ok(struct db *db, const struct typemap *tm, const char *account, const char *region,
                   const char *type, const char *source)
{
    const struct typemap_type *t = tm ? typemap_find(tm, type) : NULL;
    sqlite3_stmt *q;
    bool ok;

    if (t && t->declared_only && t->match_type)
        t = typemap_find(tm, t->match_type);
    if (t)
        type = t->type;
    /* An account or region the state does not say: every scope of the
     * type that could hold it. */
    q = db_stmt(db,
                "SELECT count(*), sum(status = 'ok') FROM coverage WHERE type = ?1 AND "
                "(?2 IS NULL OR account = ?2) AND (?3 IS NULL OR region = ?3)",
                NULL);
    if (!q)
        return false;
    db_bind_text(q, 1, type);
    db_bind_text(q, 2, account);
    db_bind_text(q, 3, region);
    ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0 &&
         sqlite3_column_int64(q, 0) == sqlite3_column_int64(q, 1);
    sqlite3_reset(q);
    if (!ok || !source)
        return ok;
    /* A source that is gone (removed from the configuration) declares
     * nothing any more; one that failed says nothing new. */
    q = db_stmt(db,
                "SELECT count(*), sum(status = 'ok') FROM state_sources WHERE name = ?1 OR "
                "(substr(name, 1, length(?1) + 1) = ?1 || ':')",
                NULL);
    if (!q)
        return false;
    db_bind_text(q, 1, source);
    ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) == sqlite3_column_int64(q, 1);
    sqlite3_reset(q);
    return ok;
}

/* ---- into events ---------------------------------------------------------------------------- */

struct apply_oracle {
    const struct events_oracle *orig;
    struct db *db;
    const struct typemap *tm;
};

static bool apply_scope_ok(void *ud, const char *account, const char *region, const char *type,
                           const char *source)
{
    struct apply_oracle *o = ud;
    return diff_scope_ok(o->db, o->tm, account, region, type, source);
}

static const char *apply_exception_for(void *ud, const char *type, const char *id,
                                       const char *control)
{
    struct apply_oracle *o = ud;
    return o->orig && o->orig->exception_for
               ? o->orig->exception_for(o->orig->userdata, type, id, control)
               : NULL;
}

static bool apply_control_known(void *ud, const char *control)
{
    struct apply_oracle *o = ud;
    return o->orig && o->orig->control_known ? o->orig->control_known(o->orig->userdata, control)
                                             : true;
}

int diff_apply(struct db *db, const struct diff_options *opts, struct events_ctx *ectx,
               int64_t counts[4], struct perr *err)
{
    struct diff_result *res = NULL;
    struct apply_oracle ao = { ectx->oracle, db, opts->tm };
    struct events_oracle oracle = { apply_scope_ok, apply_exception_for, apply_control_known, &ao };
    const struct events_oracle *saved = ectx->oracle;
    int r = diff_run(db, opts, &res, err);
    if (r < 0)
        return r;
    ectx->oracle = &oracle;
    r = events_apply_drift(ectx, res->items, res->n, err);
    ectx->oracle = saved;
    if (r == 0 && counts) {
        counts[0] = res->stats.changed;
        counts[1] = res->stats.missing;
        counts[2] = res->stats.unmanaged;
        counts[3] = res->stats.conflict;
    }
    diff_result_free(res);
    return r;
}

/* ---- listing open drift ------------------------------------------------------------------- */

static json_t *iso_or_null(sqlite3_stmt *st, int col)
{
    char buf[32];
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    time_format_iso8601(sqlite3_column_int64(st, col), buf, sizeof(buf));
    return json_string(buf);
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    return s ? json_string(s) : json_null();
}

static json_t *json_col(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    return j ? j : json_null();
}

/* module/name/index_key of an address, trying the type and its aliases. */
static void address_parts(const struct typemap *tm, json_t *o, const char *type,
                          const char *address)
{
    const struct typemap_type *t = tm && type ? typemap_find(tm, type) : NULL;
    char *m = NULL, *n = NULL;
    json_t *k = NULL;
    bool ok = address && type && diff_split_address(address, type, &m, &n, &k) == 0;
    for (size_t i = 0; !ok && t && address && t->aliases[i]; i++)
        ok = diff_split_address(address, t->aliases[i], &m, &n, &k) == 0;
    json_object_set_new(o, "module", ok ? json_string(m) : json_null());
    json_object_set_new(o, "name", ok ? json_string(n) : json_null());
    json_object_set_new(o, "index_key", ok && k ? k : json_null());
    free(m);
    free(n);
}

int diff_list_open(struct db *db, const struct typemap *tm, const struct diff_filter *f,
                   json_t **ret, struct perr *err)
{
    json_t *out = json_array();
    struct buf sql;
    sqlite3_stmt *st = NULL;
    int rc, r = 0, idx = 1;

    buf_init(&sql, 1 << 14);
    if (!out ||
        buf_append_str(&sql, "SELECT category, type, id, arn, address, source, account, region, "
                             "severity, first_seen, last_seen, updated_at, resource_key, "
                             "exception, changes, tags FROM drift WHERE resolved_at IS NULL") < 0)
        goto oom;
    if (f && f->categories) {
        if (buf_append_str(&sql, " AND category IN (") < 0)
            goto oom;
        for (size_t i = 0; f->categories[i]; i++)
            if (buf_append_str(&sql, i ? ", ?" : "?") < 0)
                goto oom;
        if (buf_append_str(&sql, ")") < 0)
            goto oom;
    }
    if ((f && f->type && buf_append_str(&sql, " AND type = ?") < 0) ||
        (f && f->account && buf_append_str(&sql, " AND account = ?") < 0) ||
        (f && f->region && buf_append_str(&sql, " AND region = ?") < 0) ||
        buf_append_str(&sql, " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "
                             "WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, category, type, "
                             "id, address") < 0)
        goto oom;
    rc = sqlite3_prepare_v2(db_handle(db), buf_str(&sql), -1, &st, NULL);
    buf_free(&sql);
    if (rc != SQLITE_OK) {
        json_decref(out);
        return db_fail(db, rc, err, "drift");
    }
    for (size_t i = 0; f && f->categories && f->categories[i]; i++)
        sqlite3_bind_text(st, idx++, f->categories[i], -1, SQLITE_STATIC);
    if (f && f->type)
        sqlite3_bind_text(st, idx++, f->type, -1, SQLITE_STATIC);
    if (f && f->account)
        sqlite3_bind_text(st, idx++, f->account, -1, SQLITE_STATIC);
    if (f && f->region)
        sqlite3_bind_text(st, idx++, f->region, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cat = (const char *)sqlite3_column_text(st, 0);
        json_t *o = json_object();
        if (!o || json_array_append_new(out, o) < 0) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
        json_object_set_new(o, "category", text_or_null(st, 0));
        json_object_set_new(o, "type", text_or_null(st, 1));
        json_object_set_new(o, "id", text_or_null(st, 2));
        json_object_set_new(o, "arn", text_or_null(st, 3));
        json_object_set_new(o, "address", text_or_null(st, 4));
        address_parts(tm, o, (const char *)sqlite3_column_text(st, 1),
                      (const char *)sqlite3_column_text(st, 4));
        json_object_set_new(o, "source", text_or_null(st, 5));
        json_object_set_new(o, "account", text_or_null(st, 6));
        json_object_set_new(o, "region", text_or_null(st, 7));
        json_object_set_new(o, "severity", text_or_null(st, 8));
        json_object_set_new(o, "first_seen", iso_or_null(st, 9));
        json_object_set_new(o, "last_seen", iso_or_null(st, 10));
        json_object_set_new(o, "updated_at", iso_or_null(st, 11));
        json_object_set_new(o, "resource_key", text_or_null(st, 12));
        json_object_set_new(o, "exception", text_or_null(st, 13));
        json_object_set_new(o, "changes",
                            str_eq(cat, "changed") || str_eq(cat, "conflict") ? json_col(st, 14)
                                                                              : json_null());
        json_object_set_new(o, "tags", json_col(st, 15));
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "drift");
    sqlite3_finalize(st);
    if (r < 0) {
        json_decref(out);
        return r;
    }
    *ret = out;
    return 0;
oom:
    buf_free(&sql);
    json_decref(out);
    return perr_set(err, -ENOMEM, "out of memory");
}
