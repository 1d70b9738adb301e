#include "estate_db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "snapshot.h"
#include "util.h"

#define DEFAULT_CACHE_BYTES (64u * 1024 * 1024)
#define MAX_DEPTH           8

struct group {
    char *key; /* account \t region \t type */
    struct resource_list list;
    size_t bytes;
    uint64_t used; /* LRU clock */
};

struct scope {
    char *partition;
    char *account;
    char *region;
    bool in_use;
};

struct estate_db {
    struct db *db;
    const struct typemap *tm;
    size_t cache_bytes;
    size_t cached;
    struct group *groups;
    size_t n_groups;
    uint64_t clock;
    int depth; /* nesting of iterations (statements cannot be shared) */
    struct scope *scopes;
    size_t n_scopes;
    struct perr err;
};

static char *group_key(const char *account, const char *region, const char *type)
{
    return str_printf("%s\t%s\t%s", account, region, type);
}

static struct group *cache_find(struct estate_db *e, const char *key)
{
    for (size_t i = 0; i < e->n_groups; i++)
        if (str_eq(e->groups[i].key, key)) {
            e->groups[i].used = ++e->clock;
            return &e->groups[i];
        }
    return NULL;
}

static void group_clear(struct group *g)
{
    free(g->key);
    resource_list_clear(&g->list);
}

/* Make room for bytes by dropping least recently used groups. */
static void cache_evict(struct estate_db *e, size_t bytes)
{
    while (e->n_groups > 0 && e->cached + bytes > e->cache_bytes) {
        size_t lru = 0;
        for (size_t i = 1; i < e->n_groups; i++)
            if (e->groups[i].used < e->groups[lru].used)
                lru = i;
        e->cached -= e->groups[lru].bytes;
        group_clear(&e->groups[lru]);
        e->groups[lru] = e->groups[--e->n_groups];
    }
}

static int cache_add(struct estate_db *e, char *key, struct resource_list *list, size_t bytes)
{
    struct group *ng;
    if (bytes > e->cache_bytes)
        return -E2BIG;
    cache_evict(e, bytes);
    ng = realloc(e->groups, (e->n_groups + 1) * sizeof(*ng));
    if (!ng)
        return -ENOMEM;
    e->groups = ng;
    ng = &e->groups[e->n_groups++];
    ng->key = key;
    ng->list = *list;
    ng->bytes = bytes;
    ng->used = ++e->clock;
    e->cached += bytes;
    return 0;
}

static int decode(const char *doc, const char *source, struct resource **ret)
{
    json_t *j = json_loads(doc, 0, NULL);
    int r;
    if (!j)
        return -EBADMSG;
    r = resource_from_json(j, ret);
    json_decref(j);
    if (r == 0 && source && str_replace(&(*ret)->source, source) < 0) {
        *ret = resource_free(*ret);
        r = -ENOMEM;
    }
    return r;
}

/* Load one group from the database (ordered by id). */
static int load_group(struct estate_db *e, const char *account, const char *region,
                      const char *type, struct resource_list *out, size_t *ret_bytes)
{
    sqlite3_stmt *st = NULL;
    size_t bytes = 0;
    int rc, r = 0;

    rc = sqlite3_prepare_v2(db_handle(e->db),
                            "SELECT b.doc, r.source FROM resources r JOIN blobs b ON b.hash = "
                            "r.hash WHERE r.account = ? AND r.region = ? AND r.type = ? AND "
                            "r.deleted_at IS NULL ORDER BY r.id",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(e->db, rc, &e->err, "estate");
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct resource *res = NULL;
        const char *doc = (const char *)sqlite3_column_text(st, 0);
        bytes += (size_t)sqlite3_column_bytes(st, 0) * 4; /* decoded trees are larger */
        r = decode(doc, (const char *)sqlite3_column_text(st, 1), &res);
        if (r < 0) {
            perr_set(&e->err, r, "stored document of a %s in %s/%s is damaged", type, account,
                     region);
            break;
        }
        r = resource_list_push(out, res);
        if (r < 0) {
            resource_free(res);
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(e->db, rc, &e->err, "estate");
    sqlite3_finalize(st);
    *ret_bytes = bytes;
    return r;
}

static int get_group(struct estate_db *e, const char *account, const char *region, const char *type,
                     const struct resource_list **ret, struct group **ret_tmp)
{
    char *key = group_key(account, region, type);
    struct group *g;
    struct resource_list list;
    size_t bytes = 0;
    int r;

    if (!key)
        return -ENOMEM;
    g = cache_find(e, key);
    if (g) {
        free(key);
        *ret = &g->list;
        return 0;
    }
    resource_list_init(&list);
    r = load_group(e, account, region, type, &list, &bytes);
    if (r < 0) {
        resource_list_clear(&list);
        free(key);
        return r;
    }
    /* Groups are only evicted outside of iterations (depth 0) so that a
     * list being walked is never freed under the walker. */
    if (e->depth == 0 && cache_add(e, key, &list, bytes) == 0) {
        *ret = &e->groups[e->n_groups - 1].list;
        return 0;
    }
    /* Not cached: hand out a temporary group the caller frees. */
    *ret_tmp = calloc(1, sizeof(**ret_tmp));
    if (!*ret_tmp) {
        resource_list_clear(&list);
        free(key);
        return -ENOMEM;
    }
    (*ret_tmp)->key = key;
    (*ret_tmp)->list = list;
    *ret = &(*ret_tmp)->list;
    return 0;
}

static int db_foreach_resource(void *estate, const char *type, const char *account,
                               const char *region, estate_resource_cb cb, void *userdata)
{
    struct estate_db *e = estate;
    const struct resource_list *list = NULL;
    struct group *tmp = NULL;
    int r;

    if (e->depth >= MAX_DEPTH)
        return -ELOOP;
    r = get_group(e, account, region, type, &list, &tmp);
    if (r < 0)
        return r;
    e->depth++;
    for (size_t i = 0; i < list->n; i++) {
        r = cb(list->items[i], userdata);
        if (r != 0)
            break;
    }
    e->depth--;
    if (tmp) {
        group_clear(tmp);
        free(tmp);
    }
    return r;
}

static int db_get_resource(void *estate, const char *type, const char *account, const char *region,
                           const char *id, estate_resource_cb cb, void *userdata)
{
    struct estate_db *e = estate;
    const struct resource_list *list = NULL;
    struct group *tmp = NULL;
    size_t lo = 0, hi;
    int r;

    if (e->depth >= MAX_DEPTH)
        return -ELOOP;
    r = get_group(e, account, region, type, &list, &tmp);
    if (r < 0)
        return r;
    /* Groups are ordered by id (SQLite's binary collation = strcmp). */
    hi = list->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(list->items[mid]->id, id);
        if (c == 0) {
            e->depth++;
            r = cb(list->items[mid], userdata);
            e->depth--;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (tmp) {
        group_clear(tmp);
        free(tmp);
    }
    return r;
}

static int db_coverage(void *estate, const char *account, const char *region, const char *type,
                       enum collect_status *ret)
{
    struct estate_db *e = estate;
    return snapshot_coverage(e->db, account, region, type, ret, NULL, &e->err);
}

static int db_foreach_scope(void *estate, estate_scope_cb cb, void *userdata)
{
    struct estate_db *e = estate;
    for (size_t i = 0; i < e->n_scopes; i++) {
        struct estate_scope s = { e->scopes[i].partition, e->scopes[i].account, e->scopes[i].region,
                                  e->scopes[i].in_use };
        int r = cb(&s, userdata);
        if (r != 0)
            return r;
    }
    return 0;
}

static bool db_type_is_global(void *estate, const char *type)
{
    struct estate_db *e = estate;
    const struct typemap_type *t = typemap_find(e->tm, type);
    return t && (t->scope == TYPEMAP_SCOPE_GLOBAL || t->scope == TYPEMAP_SCOPE_ACCOUNT_SINGLETON);
}

static const struct estate_ops ops = {
    .foreach_resource = db_foreach_resource,
    .get_resource = db_get_resource,
    .coverage = db_coverage,
    .foreach_scope = db_foreach_scope,
    .type_is_global = db_type_is_global,
};

const struct estate_ops *estate_db_ops(void)
{
    return &ops;
}

/* A region is in use when some regional resource there is not an
 * AWS-created default.  Singletons (EBS encryption by default, ...) exist
 * in every region and say nothing about use. */
static int region_in_use(struct estate_db *e, const char *account, const char *region, bool *ret)
{
    sqlite3_stmt *st = NULL;
    int rc, r = 0;
    *ret = false;
    rc = sqlite3_prepare_v2(db_handle(e->db),
                            "SELECT b.doc, r.type FROM resources r JOIN blobs b ON b.hash = r.hash "
                            "WHERE r.account = ? AND r.region = ? AND r.deleted_at IS NULL",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(e->db, rc, &e->err, "estate");
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, region, -1, SQLITE_STATIC);
    while (!*ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const struct typemap_type *t =
            typemap_find(e->tm, (const char *)sqlite3_column_text(st, 1));
        struct resource *res = NULL;
        if (!t || t->scope != TYPEMAP_SCOPE_REGIONAL)
            continue;
        r = decode((const char *)sqlite3_column_text(st, 0), NULL, &res);
        if (r < 0) {
            perr_set(&e->err, r, "stored document of a %s in %s/%s is damaged",
                     (const char *)sqlite3_column_text(st, 1), account, region);
            break;
        }
        if (!typemap_unmanaged_excluded(e->tm, res, TYPEMAP_PARENT_UNKNOWN, NULL))
            *ret = true;
        resource_free(res);
    }
    if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = db_fail(e->db, rc, &e->err, "estate");
    sqlite3_finalize(st);
    return r;
}

static int load_scopes(struct estate_db *e)
{
    sqlite3_stmt *st = NULL;
    int rc, r = 0;
    rc = sqlite3_prepare_v2(db_handle(e->db),
                            "SELECT DISTINCT account, region FROM coverage WHERE region != "
                            "'global' ORDER BY account, region",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(e->db, rc, &e->err, "coverage");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct scope *ns = realloc(e->scopes, (e->n_scopes + 1) * sizeof(*ns));
        const char *region = (const char *)sqlite3_column_text(st, 1);
        const char *partition = endpoint_partition(region);
        if (!ns) {
            r = -ENOMEM;
            break;
        }
        e->scopes = ns;
        ns = &e->scopes[e->n_scopes];
        memset(ns, 0, sizeof(*ns));
        ns->account = strdup((const char *)sqlite3_column_text(st, 0));
        ns->region = strdup(region);
        ns->partition = strdup(partition ? partition : "aws");
        e->n_scopes++;
        if (!ns->account || !ns->region || !ns->partition) {
            r = -ENOMEM;
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(e->db, rc, &e->err, "coverage");
    sqlite3_finalize(st);
    for (size_t i = 0; r == 0 && i < e->n_scopes; i++)
        r = region_in_use(e, e->scopes[i].account, e->scopes[i].region, &e->scopes[i].in_use);
    return r;
}

int estate_db_new(struct db *db, const struct typemap *tm, size_t cache_bytes,
                  struct estate_db **ret, struct perr *err)
{
    struct estate_db *e = calloc(1, sizeof(*e));
    int r;
    if (!e)
        return perr_set(err, -ENOMEM, "out of memory");
    e->db = db;
    e->tm = tm;
    e->cache_bytes = cache_bytes ? cache_bytes : DEFAULT_CACHE_BYTES;
    r = load_scopes(e);
    if (r < 0) {
        if (e->err.code && err)
            *err = e->err;
        else
            perr_set(err, r, "cannot read the estate's scopes: %s", strerror(-r));
        estate_db_free(e);
        return r;
    }
    *ret = e;
    return 0;
}

struct estate_db *estate_db_free(struct estate_db *e)
{
    if (!e)
        return NULL;
    for (size_t i = 0; i < e->n_groups; i++)
        group_clear(&e->groups[i]);
    free(e->groups);
    for (size_t i = 0; i < e->n_scopes; i++) {
        free(e->scopes[i].partition);
        free(e->scopes[i].account);
        free(e->scopes[i].region);
    }
    free(e->scopes);
    free(e);
    return NULL;
}

const char *estate_db_error(const struct estate_db *e)
{
    return e->err.msg;
}
