#include "estate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct cov_entry {
    char *account;
    char *region;
    char *type;
    enum collect_status status;
};

struct scope_entry {
    char *partition;
    char *account;
    char *region;
    bool in_use;
};

struct estate_mem {
    struct resource_list res; /* sorted by (type, account, region, id) when sealed */
    struct cov_entry *cov;    /* sorted by (account, region, type) when sealed */
    size_t n_cov, cap_cov;
    struct scope_entry *scopes; /* sorted by (account, region) when sealed */
    size_t n_scopes, cap_scopes;
    char **global_types;
    bool dirty;
};

int estate_mem_new(struct estate_mem **ret)
{
    struct estate_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    resource_list_init(&m->res);
    *ret = m;
    return 0;
}

struct estate_mem *estate_mem_free(struct estate_mem *m)
{
    if (!m)
        return NULL;
    resource_list_clear(&m->res);
    for (size_t i = 0; i < m->n_cov; i++) {
        free(m->cov[i].account);
        free(m->cov[i].region);
        free(m->cov[i].type);
    }
    free(m->cov);
    for (size_t i = 0; i < m->n_scopes; i++) {
        free(m->scopes[i].partition);
        free(m->scopes[i].account);
        free(m->scopes[i].region);
    }
    free(m->scopes);
    strv_free(m->global_types);
    free(m);
    return NULL;
}

int estate_mem_add(struct estate_mem *m, struct resource *r)
{
    int e;
    if (!r || !r->type || !r->account || !r->region || !r->id)
        return -EINVAL;
    e = resource_list_push(&m->res, r);
    if (e < 0)
        return e;
    m->dirty = true;
    return 0;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    void *nv;
    size_t ncap;
    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    nv = realloc(*v, ncap * size);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

int estate_mem_set_coverage(struct estate_mem *m, const char *account, const char *region,
                            const char *type, enum collect_status status)
{
    struct cov_entry c = { 0 };

    if (!account || !region || !type)
        return -EINVAL;
    for (size_t i = 0; i < m->n_cov; i++)
        if (str_eq(m->cov[i].account, account) && str_eq(m->cov[i].region, region) &&
            str_eq(m->cov[i].type, type)) {
            m->cov[i].status = status;
            return 0;
        }
    if (grow((void **)&m->cov, &m->cap_cov, m->n_cov, sizeof(*m->cov)) < 0)
        return -ENOMEM;
    c.account = strdup(account);
    c.region = strdup(region);
    c.type = strdup(type);
    c.status = status;
    if (!c.account || !c.region || !c.type) {
        free(c.account);
        free(c.region);
        free(c.type);
        return -ENOMEM;
    }
    m->cov[m->n_cov++] = c;
    m->dirty = true;
    return 0;
}

int estate_mem_cover_all(struct estate_mem *m, const char *account, const char *region,
                         const char *const *types)
{
    for (size_t i = 0; types && types[i]; i++) {
        int e = estate_mem_set_coverage(m, account, region, types[i], COLLECT_OK);
        if (e < 0)
            return e;
    }
    return 0;
}

int estate_mem_add_scope(struct estate_mem *m, const char *partition, const char *account,
                         const char *region, bool in_use)
{
    struct scope_entry s = { 0 };

    if (!account || !region || str_eq(region, RESOURCE_REGION_GLOBAL))
        return -EINVAL;
    for (size_t i = 0; i < m->n_scopes; i++)
        if (str_eq(m->scopes[i].account, account) && str_eq(m->scopes[i].region, region)) {
            m->scopes[i].in_use = in_use;
            return str_replace(&m->scopes[i].partition, partition ? partition : "aws");
        }
    if (grow((void **)&m->scopes, &m->cap_scopes, m->n_scopes, sizeof(*m->scopes)) < 0)
        return -ENOMEM;
    s.partition = strdup(partition ? partition : "aws");
    s.account = strdup(account);
    s.region = strdup(region);
    s.in_use = in_use;
    if (!s.partition || !s.account || !s.region) {
        free(s.partition);
        free(s.account);
        free(s.region);
        return -ENOMEM;
    }
    m->scopes[m->n_scopes++] = s;
    m->dirty = true;
    return 0;
}

int estate_mem_add_global_type(struct estate_mem *m, const char *type)
{
    if (!type)
        return -EINVAL;
    if (strv_contains(m->global_types, type))
        return 0;
    return strv_push(&m->global_types, type);
}

static int cmp3(const char *a1, const char *a2, const char *a3, const char *b1, const char *b2,
                const char *b3)
{
    int c = strcmp(a1, b1);
    if (c == 0)
        c = strcmp(a2, b2);
    if (c == 0)
        c = strcmp(a3, b3);
    return c;
}

static int res_cmp(const void *a, const void *b)
{
    const struct resource *x = *(const struct resource *const *)a;
    const struct resource *y = *(const struct resource *const *)b;
    int c = cmp3(x->type, x->account, x->region, y->type, y->account, y->region);
    return c ? c : strcmp(x->id, y->id);
}

static int cov_cmp(const void *a, const void *b)
{
    const struct cov_entry *x = a, *y = b;
    return cmp3(x->account, x->region, x->type, y->account, y->region, y->type);
}

static int scope_cmp(const void *a, const void *b)
{
    const struct scope_entry *x = a, *y = b;
    int c = strcmp(x->account, y->account);
    return c ? c : strcmp(x->region, y->region);
}

int estate_mem_seal(struct estate_mem *m)
{
    if (!m->dirty)
        return 0;
    if (m->res.n > 1)
        qsort(m->res.items, m->res.n, sizeof(*m->res.items), res_cmp);
    for (size_t i = 1; i < m->res.n; i++)
        if (res_cmp(&m->res.items[i - 1], &m->res.items[i]) == 0)
            return -EEXIST;
    if (m->n_cov > 1)
        qsort(m->cov, m->n_cov, sizeof(*m->cov), cov_cmp);
    if (m->n_scopes > 1)
        qsort(m->scopes, m->n_scopes, sizeof(*m->scopes), scope_cmp);
    m->dirty = false;
    return 0;
}

/* First index whose (type, account, region, id) is >= the key. */
static size_t res_lower_bound(const struct estate_mem *m, const char *type, const char *account,
                              const char *region, const char *id)
{
    size_t lo = 0, hi = m->res.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct resource *r = m->res.items[mid];
        int c = cmp3(r->type, r->account, r->region, type, account, region);
        if (c == 0)
            c = strcmp(r->id, id);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int mem_foreach_resource(void *estate, const char *type, const char *account,
                                const char *region, estate_resource_cb cb, void *userdata)
{
    struct estate_mem *m = estate;
    int e = estate_mem_seal(m);
    if (e < 0)
        return e;
    for (size_t i = res_lower_bound(m, type, account, region, ""); i < m->res.n; i++) {
        const struct resource *r = m->res.items[i];
        if (!str_eq(r->type, type) || !str_eq(r->account, account) || !str_eq(r->region, region))
            break;
        e = cb(r, userdata);
        if (e != 0)
            return e;
    }
    return 0;
}

static int mem_get_resource(void *estate, const char *type, const char *account, const char *region,
                            const char *id, estate_resource_cb cb, void *userdata)
{
    struct estate_mem *m = estate;
    size_t i;
    int e = estate_mem_seal(m);
    if (e < 0)
        return e;
    i = res_lower_bound(m, type, account, region, id);
    if (i < m->res.n) {
        const struct resource *r = m->res.items[i];
        if (str_eq(r->type, type) && str_eq(r->account, account) && str_eq(r->region, region) &&
            str_eq(r->id, id))
            return cb(r, userdata);
    }
    return 0;
}

static int mem_coverage(void *estate, const char *account, const char *region, const char *type,
                        enum collect_status *ret)
{
    struct estate_mem *m = estate;
    struct cov_entry key = { (char *)account, (char *)region, (char *)type, COLLECT_OK };
    const struct cov_entry *c;
    int e = estate_mem_seal(m);
    if (e < 0)
        return e;
    c = m->n_cov ? bsearch(&key, m->cov, m->n_cov, sizeof(*m->cov), cov_cmp) : NULL;
    *ret = c ? c->status : COLLECT_NOT_COLLECTED;
    return 0;
}

static int mem_foreach_scope(void *estate, estate_scope_cb cb, void *userdata)
{
    struct estate_mem *m = estate;
    int e = estate_mem_seal(m);
    if (e < 0)
        return e;
    for (size_t i = 0; i < m->n_scopes; i++) {
        struct estate_scope s = { m->scopes[i].partition, m->scopes[i].account, m->scopes[i].region,
                                  m->scopes[i].in_use };
        e = cb(&s, userdata);
        if (e != 0)
            return e;
    }
    return 0;
}

static bool mem_type_is_global(void *estate, const char *type)
{
    struct estate_mem *m = estate;
    return strv_contains(m->global_types, type);
}

static const struct estate_ops mem_ops = {
    .foreach_resource = mem_foreach_resource,
    .get_resource = mem_get_resource,
    .coverage = mem_coverage,
    .foreach_scope = mem_foreach_scope,
    .type_is_global = mem_type_is_global,
};

const struct estate_ops *estate_mem_ops(void)
{
    return &mem_ops;
}
