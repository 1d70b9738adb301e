#include "statesrc.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "awsclient.h"
#include "buf.h"
#include "crypto.h"
#include "jsonutil.h"
#include "resource.h"
#include "typemap.h"

#define TFC_DEFAULT_HOST "app.terraform.io"

struct statesrc {
    char *name;
    char *location;
    enum state_kind kind;
    int64_t interval_ms;
    bool by_location; /* one-shot: documents named by their location */
    char *account;
    /* s3 */
    char *region;
    char *profile;
    char *wkp; /* workspace_key_prefix */
    char **workspaces;
    char *bucket;
    char *key;
    /* http */
    char **headers;
    char *username;
    char *password; /* secret */
    /* tfc */
    char *token;    /* secret */
    char *tfc_base; /* "https://host[:port]" */
    char *tfc_org;
    char *tfc_ws;
    /* local */
    bool pattern;
    char *pattern_dir; /* the directory before the first wildcard, with a trailing '/' */

    struct poll *poll; /* running poll, NULL when idle */
};

const char *statesrc_outcome_name(enum statesrc_outcome o)
{
    switch (o) {
    case STATESRC_UPDATED: return "updated";
    case STATESRC_UNCHANGED: return "unchanged";
    case STATESRC_ERROR: return "error";
    case STATESRC_REMOVED: return "removed";
    }
    return "?";
}

/* ---- locations ---------------------------------------------------------- */

static bool has_wildcard(const char *s)
{
    for (; *s; s++)
        if (*s == '*' || *s == '?' || *s == '[')
            return true;
    return false;
}

static bool loopback_host(const char *host)
{
    return str_has_prefix(host, "127.") || str_eq(host, "localhost") ||
           str_has_prefix(host, "localhost:") || str_has_prefix(host, "[::1]");
}

/* tfc://[HOST/]ORG/WORKSPACE */
static int parse_tfc(struct statesrc *s, struct perr *err)
{
    char **parts = NULL;
    const char *host;
    int r, n;

    r = strv_split(s->location + strlen("tfc://"), "/", &parts);
    if (r < 0)
        return perr_set(err, r, "out of memory");
    n = (int)strv_length(parts);
    if (n != 2 && n != 3) {
        strv_free(parts);
        return perr_set(err, -EINVAL,
                        "[state %s] location: '%s' is not tfc://[HOST/]ORGANIZATION/WORKSPACE",
                        s->name, s->location);
    }
    for (int i = n - 2; i < n; i++)
        for (const char *c = parts[i]; *c; c++)
            if (!(*c == '-' || *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
                  (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) {
                r = perr_set(err, -EINVAL,
                             "[state %s] location: '%s' is not a valid organization or "
                             "workspace name",
                             s->name, parts[i]);
                strv_free(parts);
                return r;
            }
    host = n == 3 ? parts[0] : TFC_DEFAULT_HOST;
    s->tfc_base = str_printf("%s://%s", loopback_host(host) ? "http" : "https", host);
    s->tfc_org = strdup(parts[n - 2]);
    s->tfc_ws = strdup(parts[n - 1]);
    strv_free(parts);
    if (!s->tfc_base || !s->tfc_org || !s->tfc_ws)
        return perr_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int parse_location(struct statesrc *s, struct perr *err)
{
    const char *loc = s->location;

    switch (s->kind) {
    case STATE_S3: {
        const char *slash = strchr(loc + 5, '/');
        if (!slash || slash == loc + 5 || !slash[1])
            return perr_set(err, -EINVAL, "[state %s] location: expected s3://BUCKET/KEY, got '%s'",
                            s->name, loc);
        s->bucket = str_ndup(loc + 5, (size_t)(slash - loc - 5));
        s->key = strdup(slash + 1);
        if (!s->bucket || !s->key)
            return perr_set(err, -ENOMEM, "out of memory");
        if (!s->wkp && !(s->wkp = strdup("env:")))
            return perr_set(err, -ENOMEM, "out of memory");
        return 0;
    }
    case STATE_TFC: return parse_tfc(s, err);
    case STATE_HTTP: return 0;
    case STATE_LOCAL:
        if (loc[0] != '/')
            return perr_set(err, -EINVAL, "[state %s] location: '%s' is not an absolute path",
                            s->name, loc);
        s->pattern = has_wildcard(loc);
        if (s->pattern) {
            const char *w = loc, *dir_end = loc;
            while (*w && *w != '*' && *w != '?' && *w != '[')
                w++;
            for (const char *p = loc; p < w; p++)
                if (*p == '/')
                    dir_end = p;
            s->pattern_dir = str_ndup(loc, (size_t)(dir_end - loc) + 1);
            if (!s->pattern_dir)
                return perr_set(err, -ENOMEM, "out of memory");
        }
        return 0;
    }
    return perr_set(err, -EINVAL, "[state %s] location: unknown kind", s->name);
}

static enum state_kind kind_of(const char *loc)
{
    if (str_has_prefix(loc, "s3://"))
        return STATE_S3;
    if (str_has_prefix(loc, "https://") || str_has_prefix(loc, "http://"))
        return STATE_HTTP;
    if (str_has_prefix(loc, "tfc://"))
        return STATE_TFC;
    return STATE_LOCAL;
}

struct statesrc *statesrc_free(struct statesrc *s)
{
    if (!s)
        return NULL;
    free(s->name);
    free(s->location);
    free(s->account);
    free(s->region);
    free(s->profile);
    free(s->wkp);
    strv_free(s->workspaces);
    free(s->bucket);
    free(s->key);
    if (s->headers) {
        /* Headers may carry tokens. */
        for (size_t i = 0; s->headers[i]; i++) {
            str_free_secret(s->headers[i]);
            s->headers[i] = NULL;
        }
        free(s->headers);
    }
    free(s->username);
    str_free_secret(s->password);
    str_free_secret(s->token);
    free(s->tfc_base);
    free(s->tfc_org);
    free(s->tfc_ws);
    free(s->pattern_dir);
    free(s);
    return NULL;
}

static int dup_opt(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

int statesrc_new(const struct config_state *cfg, struct statesrc **ret, struct perr *err)
{
    struct statesrc *s = calloc(1, sizeof(*s));
    int r = -ENOMEM;

    if (!s)
        return perr_set(err, -ENOMEM, "out of memory");
    if (!cfg->name || !cfg->location) {
        r = perr_set(err, -EINVAL, "[state] needs a name and a location");
        goto fail;
    }
    s->kind = cfg->kind;
    s->interval_ms = cfg->interval_ms;
    if (dup_opt(&s->name, cfg->name) < 0 || dup_opt(&s->location, cfg->location) < 0 ||
        dup_opt(&s->account, cfg->account) < 0 || dup_opt(&s->region, cfg->region) < 0 ||
        dup_opt(&s->profile, cfg->profile) < 0 || dup_opt(&s->wkp, cfg->workspace_key_prefix) < 0 ||
        dup_opt(&s->username, cfg->username) < 0 || dup_opt(&s->password, cfg->password) < 0 ||
        dup_opt(&s->token, cfg->token) < 0)
        goto oom;
    if (cfg->workspaces && !(s->workspaces = strv_copy(cfg->workspaces)))
        goto oom;
    if (cfg->headers && !(s->headers = strv_copy(cfg->headers)))
        goto oom;
    if (kind_of(s->location) != s->kind) {
        r = perr_set(err, -EINVAL, "[state %s] location '%s' does not match the source kind",
                     s->name, s->location);
        goto fail;
    }
    if (s->kind == STATE_TFC && !s->token) {
        r = perr_set(err, -EINVAL, "[state %s] Terraform Cloud needs an API token", s->name);
        goto fail;
    }
    r = parse_location(s, err);
    if (r < 0)
        goto fail;
    *ret = s;
    return 0;
oom:
    r = perr_set(err, -ENOMEM, "out of memory");
fail:
    statesrc_free(s);
    return r;
}

int statesrc_new_location(const char *location, const char *account, const char *token,
                          struct statesrc **ret, struct perr *err)
{
    struct config_state cfg = { 0 };
    struct statesrc *s = NULL;
    int r;

    cfg.name = (char *)location;
    cfg.location = (char *)location;
    cfg.kind = kind_of(location);
    cfg.account = (char *)account;
    cfg.token = (char *)token;
    r = statesrc_new(&cfg, &s, err);
    if (r < 0)
        return r;
    s->by_location = true;
    *ret = s;
    return 0;
}

const char *statesrc_name(const struct statesrc *s)
{
    return s->name;
}

enum state_kind statesrc_kind(const struct statesrc *s)
{
    return s->kind;
}

int64_t statesrc_interval_ms(const struct statesrc *s)
{
    return s->interval_ms;
}

bool statesrc_busy(const struct statesrc *s)
{
    return s->poll != NULL;
}

/* A URL for messages: without query, fragment or credentials. */
static char *redact_url(const char *url)
{
    CURLU *u = curl_url();
    char *out = NULL, *tmp = NULL;
    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &tmp, 0) == CURLUE_OK)
        out = strdup(tmp);
    else
        out = strdup("(unparsable URL)");
    curl_free(tmp);
    curl_url_cleanup(u);
    return out;
}

/* "scheme://host[:port]" of a URL (malloc'd) or NULL. */
static char *url_origin(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
            port = NULL;
        out = str_printf("%s://%s:%s", scheme, host, port ? port : "");
        if (out)
            str_lower(out);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

/* ---- local patterns ----------------------------------------------------- */

struct expand {
    char **out;
    size_t n;
    struct perr *err;
};

static int expand_add(struct expand *e, const char *path)
{
    if (strv_contains(e->out, path))
        return 0;
    if (e->n >= STATESRC_MAX_FILES)
        return perr_set(e->err, -E2BIG, "matches more than %d files", STATESRC_MAX_FILES);
    if (strv_push(&e->out, path) < 0)
        return perr_set(e->err, -ENOMEM, "out of memory");
    e->n++;
    return 0;
}

static int expand_rest(struct expand *e, const char *base, char **segs, size_t depth);

/* Apply "**": base itself and every non-hidden directory below it (not
 * following symbolic links), each followed by the remaining segments. */
static int expand_globstar(struct expand *e, const char *dir, char **rest, size_t depth)
{
    DIR *d;
    struct dirent *de;
    int r = expand_rest(e, dir, rest, depth);

    if (r < 0)
        return r;
    if (depth >= STATESRC_MAX_DEPTH)
        return 0;
    d = opendir(dir);
    if (!d)
        return 0; /* unreadable directories are skipped, as glob(3) does */
    while ((de = readdir(d))) {
        char *sub;
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        sub = str_printf("%s%s%s", dir, str_has_suffix(dir, "/") ? "" : "/", de->d_name);
        if (!sub) {
            r = perr_set(e->err, -ENOMEM, "out of memory");
            break;
        }
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            r = expand_globstar(e, sub, rest, depth + 1);
        free(sub);
        if (r < 0)
            break;
    }
    closedir(d);
    return r;
}

/* Match segs (path elements) below base. */
static int expand_rest(struct expand *e, const char *base, char **segs, size_t depth)
{
    size_t n = 0;
    struct buf pat;
    glob_t g;
    int r = 0, gr;

    if (!segs[0]) {
        struct stat st;
        if (stat(base, &st) == 0 && S_ISREG(st.st_mode))
            return expand_add(e, base);
        return 0;
    }
    /* Take the elements up to the next "**" and glob(3) them at once. */
    while (segs[n] && !str_eq(segs[n], "**"))
        n++;
    if (n == 0)
        return expand_globstar(e, base, segs + 1, depth);
    buf_init(&pat, 1 << 16);
    if (buf_append_str(&pat, base) < 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if ((!str_has_suffix(buf_str(&pat), "/") && buf_append_char(&pat, '/') < 0) ||
            buf_append_str(&pat, segs[i]) < 0)
            goto oom;
    gr = glob(buf_str(&pat), GLOB_NOSORT | (segs[n] ? GLOB_ONLYDIR : 0), NULL, &g);
    buf_free(&pat);
    if (gr == GLOB_NOSPACE)
        return perr_set(e->err, -ENOMEM, "out of memory");
    if (gr != 0)
        return 0; /* GLOB_NOMATCH, GLOB_ABORTED: nothing here */
    for (size_t i = 0; i < g.gl_pathc && r >= 0; i++) {
        struct stat st;
        if (segs[n]) {
            if (stat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode))
                r = expand_rest(e, g.gl_pathv[i], segs + n, depth);
        } else if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            r = expand_add(e, g.gl_pathv[i]);
        }
    }
    globfree(&g);
    return r;
oom:
    buf_free(&pat);
    return perr_set(e->err, -ENOMEM, "out of memory");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int statesrc_expand(const char *pattern, char ***ret, struct perr *err)
{
    struct expand e = { .err = err };
    char **segs = NULL;
    int r;

    if (pattern[0] != '/')
        return perr_set(err, -EINVAL, "%s: not an absolute path", pattern);
    if (!has_wildcard(pattern)) {
        char **v = NULL;
        if (strv_push(&v, pattern) < 0)
            return perr_set(err, -ENOMEM, "out of memory");
        *ret = v;
        return 0;
    }
    r = strv_split(pattern, "/", &segs);
    if (r < 0)
        return perr_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; segs[i]; i++)
        if (strstr(segs[i], "**") && !str_eq(segs[i], "**")) {
            r = perr_set(err, -EINVAL, "%s: \"**\" must be a whole path element (a/**/b)", pattern);
            goto out;
        }
    r = expand_rest(&e, "/", segs, 0);
    if (r < 0) {
        perr_prefix(err, "%s: ", pattern);
        goto out;
    }
    if (e.n == 0) {
        r = perr_set(err, -ENOENT, "%s: matches no file", pattern);
        goto out;
    }
    qsort(e.out, e.n, sizeof(char *), cmp_str);
    *ret = e.out;
    e.out = NULL;
    r = 0;
out:
    strv_free(e.out);
    strv_free(segs);
    return r;
}

/* ---- declared rows -------------------------------------------------------- */

/* Votes for the account and region of one provider configuration. */
struct provider_guess {
    const char *config; /* provider_config (borrowed), "" when absent */
    json_t *regions;    /* region -> count */
    json_t *accounts;   /* account -> count */
};

static void vote(json_t *counts, const char *value)
{
    json_t *c;
    if (!value || !*value)
        return;
    c = json_object_get(counts, value);
    json_object_set_new(counts, value, json_integer(c ? json_integer_value(c) + 1 : 1));
}

/* The value with most votes; ties go to the smallest, for determinism. */
static const char *winner(const json_t *counts)
{
    const char *best = NULL, *k;
    json_int_t best_n = 0;
    json_t *v;
    json_object_foreach ((json_t *)counts, k, v) {
        json_int_t n = json_integer_value(v);
        if (n > best_n || (n == best_n && best && strcmp(k, best) < 0)) {
            best = k;
            best_n = n;
        }
    }
    return best;
}

static const char *attr_str(const json_t *attrs, const char *name)
{
    const char *s = json_string_value(json_object_get(attrs, name));
    return s && *s ? s : NULL;
}

/* The instance's ARN: the "arn" attribute, else an "id" that is one. */
static const char *instance_arn(const struct tfstate_instance *inst)
{
    const char *arn = attr_str(inst->attributes, "arn");
    if (arn && str_has_prefix(arn, "arn:"))
        return arn;
    arn = attr_str(inst->attributes, "id");
    return arn && str_has_prefix(arn, "arn:") ? arn : NULL;
}

static bool global_scope(const struct typemap_type *t)
{
    return t && (t->scope == TYPEMAP_SCOPE_GLOBAL || t->scope == TYPEMAP_SCOPE_ACCOUNT_SINGLETON);
}

static struct provider_guess *guess_for(struct provider_guess *g, size_t n,
                                        const struct tfstate_instance *inst)
{
    const char *pc = inst->provider_config ? inst->provider_config : "";
    for (size_t i = 0; i < n; i++)
        if (str_eq(g[i].config, pc))
            return &g[i];
    return NULL;
}

int statesrc_declared_rows(const struct tfstate *st, const struct typemap *tm,
                           const char *default_account, json_t **ret, struct perr *err)
{
    struct provider_guess *g = calloc(st->n_instances + 1, sizeof(*g));
    size_t ng = 0;
    json_t *rows = json_array();
    int r = -ENOMEM;

    if (!g || !rows)
        goto oom;
    /* First pass: what the ARNs say about each provider configuration. */
    for (size_t i = 0; i < st->n_instances; i++) {
        const struct tfstate_instance *inst = &st->instances[i];
        const struct typemap_type *t = tm ? typemap_find(tm, inst->type) : NULL;
        struct provider_guess *pg = guess_for(g, ng, inst);
        const char *arn = instance_arn(inst);
        struct typemap_arn a = { 0 };

        if (!pg) {
            pg = &g[ng++];
            pg->config = inst->provider_config ? inst->provider_config : "";
            pg->regions = json_object();
            pg->accounts = json_object();
            if (!pg->regions || !pg->accounts)
                goto oom;
        }
        if (arn && typemap_arn_parse(arn, &a, NULL) == 0) {
            if (!global_scope(t))
                vote(pg->regions, *a.region ? a.region : attr_str(inst->attributes, "region"));
            vote(pg->accounts, a.account);
            typemap_arn_clear(&a);
        } else if (!global_scope(t)) {
            vote(pg->regions, attr_str(inst->attributes, "region"));
        }
    }
    for (size_t i = 0; i < st->n_instances; i++) {
        const struct tfstate_instance *inst = &st->instances[i];
        const struct typemap_type *t = tm ? typemap_find(tm, inst->type) : NULL;
        const struct provider_guess *pg = guess_for(g, ng, inst);
        const char *arn = instance_arn(inst), *region = NULL, *account = NULL;
        struct typemap_arn a = { 0 };
        bool have_arn = arn && typemap_arn_parse(arn, &a, NULL) == 0;
        char *id = NULL, *address = NULL, *tm_region = NULL;
        json_t *sens = json_array(), *row = NULL;
        struct perr ignored;

        if (!sens)
            goto oom;
        for (size_t k = 0; inst->sensitive[k]; k++)
            if (json_array_append_new(sens, json_string(inst->sensitive[k])) < 0) {
                json_decref(sens);
                typemap_arn_clear(&a);
                goto oom;
            }
        if (t && !t->declared_only && inst->mode == TFSTATE_MANAGED &&
            typemap_live_id(tm, inst->type, inst->attributes, &id, &ignored) < 0)
            id = NULL;
        if (!id && tfstate_instance_id(inst))
            id = strdup(tfstate_instance_id(inst));
        if (t && typemap_declared_region(t, inst->attributes, &tm_region) == 0)
            region = tm_region;
        else if (have_arn && *a.region)
            region = a.region;
        else if (global_scope(t))
            region = RESOURCE_REGION_GLOBAL;
        else if (attr_str(inst->attributes, "region"))
            region = attr_str(inst->attributes, "region");
        else if (pg)
            region = winner(pg->regions);
        if (have_arn && *a.account)
            account = a.account;
        else if (pg && winner(pg->accounts))
            account = winner(pg->accounts);
        else
            account = default_account;
        address = inst->deposed ? str_printf("%s (deposed %s)", inst->address, inst->deposed)
                                : strdup(inst->address);
        if (address)
            row = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:O, s:o}", "address", address,
                            "type", inst->type, "id", id, "arn", arn, "account", account, "region",
                            region, "mode", tfstate_mode_name(inst->mode), "attrs",
                            inst->attributes, "sensitive", sens);
        else
            json_decref(sens);
        free(id);
        free(address);
        free(tm_region);
        typemap_arn_clear(&a);
        if (!row || json_array_append_new(rows, row) < 0)
            goto oom;
    }
    for (size_t i = 0; i < ng; i++) {
        json_decref(g[i].regions);
        json_decref(g[i].accounts);
    }
    free(g);
    *ret = rows;
    return 0;
oom:
    r = perr_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; g && i < ng; i++) {
        json_decref(g[i].regions);
        json_decref(g[i].accounts);
    }
    free(g);
    json_decref(rows);
    return r;
}

/* ---- storing ------------------------------------------------------------ */

static int step_done(struct db *db, sqlite3_stmt *st, struct perr *err, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, what);
    return 0;
}

int statesrc_store(struct db *db, const char *name, const struct statesrc_stored *meta,
                   const json_t *rows, int64_t now_ms, struct perr *err)
{
    sqlite3_stmt *st;
    size_t i;
    json_t *row;
    int r;

    r = db_begin(db, err);
    if (r < 0)
        return r;
    st = db_stmt(db,
                 "INSERT INTO state_sources (name, location, serial, lineage, etag, digest, "
                 "fetched_at, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, 'ok', NULL) "
                 "ON CONFLICT (name) DO UPDATE SET location = excluded.location, "
                 "serial = excluded.serial, lineage = excluded.lineage, etag = excluded.etag, "
                 "digest = excluded.digest, fetched_at = excluded.fetched_at, status = 'ok', "
                 "error = NULL",
                 err);
    if (!st) {
        r = err ? err->code : -EIO;
        goto fail;
    }
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, meta->location);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)meta->serial);
    db_bind_text(st, 4, meta->lineage);
    db_bind_text(st, 5, meta->etag);
    db_bind_text(st, 6, meta->digest);
    sqlite3_bind_int64(st, 7, now_ms);
    r = step_done(db, st, err, "state_sources");
    if (r < 0)
        goto fail;
    st = db_stmt(db, "DELETE FROM declared WHERE source = ?", err);
    if (!st) {
        r = err ? err->code : -EIO;
        goto fail;
    }
    db_bind_text(st, 1, name);
    r = step_done(db, st, err, "declared");
    if (r < 0)
        goto fail;
    json_array_foreach ((json_t *)rows, i, row) {
        char *attrs = json_dumps(json_object_get(row, "attrs"), JSON_COMPACT | JSON_SORT_KEYS);
        char *sens = json_dumps(json_object_get(row, "sensitive"), JSON_COMPACT);
        st = attrs && sens ? db_stmt(db,
                                     "INSERT INTO declared (source, address, type, id, arn, "
                                     "account, region, mode, attrs, sensitive) VALUES "
                                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     err)
                           : NULL;
        if (!st) {
            if (attrs && sens)
                r = err ? err->code : -EIO;
            else
                r = perr_set(err, -ENOMEM, "out of memory");
            free(attrs);
            free(sens);
            goto fail;
        }
        db_bind_text(st, 1, name);
        db_bind_text(st, 2, json_string_value(json_object_get(row, "address")));
        db_bind_text(st, 3, json_string_value(json_object_get(row, "type")));
        db_bind_text(st, 4, json_string_value(json_object_get(row, "id")));
        db_bind_text(st, 5, json_string_value(json_object_get(row, "arn")));
        db_bind_text(st, 6, json_string_value(json_object_get(row, "account")));
        db_bind_text(st, 7, json_string_value(json_object_get(row, "region")));
        db_bind_text(st, 8, json_string_value(json_object_get(row, "mode")));
        db_bind_text(st, 9, attrs);
        db_bind_text(st, 10, sens);
        r = step_done(db, st, err, "declared");
        /* The bindings are reset with the next db_stmt(); clear them now
         * so the statement does not keep pointers to freed text. */
        sqlite3_clear_bindings(st);
        sqlite3_reset(st);
        free(attrs);
        free(sens);
        if (r < 0) {
            perr_prefix(err, "%s: ", json_string_value(json_object_get(row, "address")));
            goto fail;
        }
    }
    r = db_commit(db, err);
    if (r < 0)
        goto fail;
    return 0;
fail:
    db_rollback(db);
    return r;
}

int statesrc_store_error(struct db *db, const char *name, const char *location, const char *msg,
                         int64_t now_ms, struct perr *err)
{
    sqlite3_stmt *st =
        db_stmt(db,
                "INSERT INTO state_sources (name, location, fetched_at, status, "
                "error) VALUES (?, ?, ?, 'error', ?) ON CONFLICT (name) DO UPDATE "
                "SET location = excluded.location, fetched_at = excluded.fetched_at, "
                "status = 'error', error = excluded.error",
                err);
    int r;
    if (!st)
        return err ? err->code : -EIO;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, location);
    sqlite3_bind_int64(st, 3, now_ms);
    db_bind_text(st, 4, msg);
    r = step_done(db, st, err, "state_sources");
    sqlite3_clear_bindings(st);
    return r;
}

/* An unchanged document: the last read is now, and it went fine. */
static int store_unchanged(struct db *db, const char *name, const char *location, const char *etag,
                           const char *digest, int64_t now_ms, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db,
                               "UPDATE state_sources SET location = ?, fetched_at = ?, "
                               "status = 'ok', error = NULL, etag = COALESCE(?, etag), "
                               "digest = COALESCE(?, digest) WHERE name = ?",
                               err);
    int r;
    if (!st)
        return err ? err->code : -EIO;
    db_bind_text(st, 1, location);
    sqlite3_bind_int64(st, 2, now_ms);
    db_bind_text(st, 3, etag);
    db_bind_text(st, 4, digest);
    db_bind_text(st, 5, name);
    r = step_done(db, st, err, "state_sources");
    sqlite3_clear_bindings(st);
    return r;
}

/* The listing row of a multi-document source (no declared rows of its own). */
static int store_listing_ok(struct db *db, const char *name, const char *location, int64_t now_ms,
                            struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db,
                               "INSERT INTO state_sources (name, location, fetched_at, status) "
                               "VALUES (?, ?, ?, 'ok') ON CONFLICT (name) DO UPDATE SET "
                               "location = excluded.location, fetched_at = excluded.fetched_at, "
                               "status = 'ok', error = NULL",
                               err);
    int r;
    if (!st)
        return err ? err->code : -EIO;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, location);
    sqlite3_bind_int64(st, 3, now_ms);
    r = step_done(db, st, err, "state_sources");
    sqlite3_clear_bindings(st);
    return r;
}

/* ---- polling ------------------------------------------------------------ */

/* What state_sources says about a document from the last poll. */
struct stored {
    char *name;
    char *etag;
    char *digest;
    char *lineage;
    uint64_t serial;
    bool ok;
};

struct doc {
    char *name;
    char *location; /* for messages and state_sources.location */
    char *path;     /* local */
    char *url;      /* http */
    char *s3_key;   /* s3 */
    const struct stored *old;

    char *body; /* fetched, NUL-terminated; wiped after parsing */
    size_t len;
    char *etag; /* from the response: ETag, TFC state version id */

    json_t *rows;
    uint64_t serial;
    char *lineage;
    char digest[SHA256_HEX_LEN + 1];
    bool have_digest;

    struct statesrc_doc_result res;
    char *message;
};

struct poll {
    struct statesrc *src;
    struct statesrc_env env;
    statesrc_done_fn done;
    void *userdata;
    int64_t now;

    struct stored *stored;
    size_t n_stored;

    struct doc *docs;
    size_t n_docs;
    size_t cur;
    bool listed;        /* the listing worked: vanished documents may go */
    char *list_message; /* why the listing failed */
    int list_error;
    char **removed; /* names of documents removed */

    int fatal; /* -ECANCELED, a database error: stop here */
    char *fatal_message;
    bool cancelled;
    struct http_call *call;
    uv_work_t work;
    struct perr werr;

    char *tfc_ws_id;
};

static void doc_clear(struct doc *d)
{
    free(d->name);
    free(d->location);
    free(d->path);
    free(d->url);
    free(d->s3_key);
    if (d->body) {
        explicit_bzero(d->body, d->len);
        free(d->body);
    }
    free(d->etag);
    json_decref(d->rows);
    free(d->lineage);
    free(d->message);
}

static void poll_free(struct poll *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_stored; i++) {
        free(p->stored[i].name);
        free(p->stored[i].etag);
        free(p->stored[i].digest);
        free(p->stored[i].lineage);
    }
    free(p->stored);
    for (size_t i = 0; i < p->n_docs; i++)
        doc_clear(&p->docs[i]);
    free(p->docs);
    strv_free(p->removed);
    free(p->list_message);
    free(p->fatal_message);
    free(p->tfc_ws_id);
    free(p);
}

static void set_fatal(struct poll *p, int code, const char *msg)
{
    if (p->fatal)
        return;
    p->fatal = code;
    free(p->fatal_message);
    p->fatal_message = str_printf("state %s: %s", p->src->name, msg);
}

/* Mark the current document failed with "state NAME: LOCATION: why". */
static void doc_fail(struct poll *p, struct doc *d, int code, const char *fmt, ...)
    PLUMB_PRINTF(4, 5);
static void doc_fail(struct poll *p, struct doc *d, int code, const char *fmt, ...)
{
    va_list ap;
    char *why;
    va_start(ap, fmt);
    why = str_vprintf(fmt, ap);
    va_end(ap);
    free(d->message);
    d->message =
        str_printf("state %s: %s: %s", p->src->name, d->location, why ? why : "out of memory");
    free(why);
    d->res.outcome = STATESRC_ERROR;
    d->res.error = code < 0 ? code : -EIO;
}

static void poll_finish(struct poll *p);
static void next_doc(struct poll *p);
static void store_doc(struct poll *p);

/* -- stage 1: what was stored ---------------------------------------------- */

static int load_work(struct db *db, void *ud)
{
    struct poll *p = ud;
    char *lo = str_printf("%s:", p->src->name), *hi = str_printf("%s;", p->src->name);
    sqlite3_stmt *st = NULL;
    int rc, r = 0;

    if (!lo || !hi) {
        r = perr_set(&p->werr, -ENOMEM, "out of memory");
        goto out;
    }
    st = db_stmt(db,
                 "SELECT name, etag, digest, lineage, serial, status FROM state_sources "
                 "WHERE name = ? OR (name >= ? AND name < ?) ORDER BY name",
                 &p->werr);
    if (!st) {
        r = p->werr.code;
        goto out;
    }
    db_bind_text(st, 1, p->src->name);
    db_bind_text(st, 2, lo);
    db_bind_text(st, 3, hi);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct stored *n = realloc(p->stored, (p->n_stored + 1) * sizeof(*n)), *s;
        bool oom = false;
        if (!n) {
            r = perr_set(&p->werr, -ENOMEM, "out of memory");
            break;
        }
        p->stored = n;
        s = &p->stored[p->n_stored++];
        memset(s, 0, sizeof(*s));
        s->name = db_column_strdup(st, 0, &oom);
        s->etag = db_column_strdup(st, 1, &oom);
        s->digest = db_column_strdup(st, 2, &oom);
        s->lineage = db_column_strdup(st, 3, &oom);
        s->serial = (uint64_t)sqlite3_column_int64(st, 4);
        s->ok = str_eq((const char *)sqlite3_column_text(st, 5), "ok");
        if (oom || !s->name) {
            r = perr_set(&p->werr, -ENOMEM, "out of memory");
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, &p->werr, "state_sources");
    sqlite3_reset(st);
out:
    free(lo);
    free(hi);
    return r;
}

static const struct stored *find_stored(const struct poll *p, const char *name)
{
    for (size_t i = 0; i < p->n_stored; i++)
        if (str_eq(p->stored[i].name, name))
            return &p->stored[i];
    return NULL;
}

static int add_doc(struct poll *p, char *name, char *location)
{
    struct doc *n;
    if (!name || !location)
        goto oom;
    n = realloc(p->docs, (p->n_docs + 1) * sizeof(*n));
    if (!n)
        goto oom;
    p->docs = n;
    n = &p->docs[p->n_docs++];
    memset(n, 0, sizeof(*n));
    n->name = name;
    n->location = location;
    n->old = find_stored(p, name);
    return 0;
oom:
    free(name);
    free(location);
    return -ENOMEM;
}

/* -- stage 2: listing -------------------------------------------------------- */

static void list_local_work(uv_work_t *w)
{
    struct poll *p = w->data;
    char **paths = NULL;
    int r = statesrc_expand(p->src->location, &paths, &p->werr);
    if (r < 0) {
        p->list_error = r;
        p->list_message = str_printf("state %s: %s", p->src->name, p->werr.msg);
        return;
    }
    p->listed = true;
    for (size_t i = 0; paths[i] && r == 0; i++) {
        char *name;
        if (!p->src->pattern)
            name = strdup(p->src->name);
        else if (p->src->by_location)
            name = strdup(paths[i]);
        else
            name = str_printf("%s:%s", p->src->name, paths[i] + strlen(p->src->pattern_dir));
        r = add_doc(p, name, strdup(paths[i]));
        if (r == 0 && !(p->docs[p->n_docs - 1].path = strdup(paths[i])))
            r = -ENOMEM;
    }
    strv_free(paths);
    if (r < 0) {
        p->listed = false;
        p->list_error = r;
        p->list_message = str_printf("state %s: out of memory", p->src->name);
    }
}

static void list_local_after(uv_work_t *w, int status)
{
    struct poll *p = w->data;
    if (status < 0)
        set_fatal(p, -ECANCELED, "cancelled");
    next_doc(p);
}

static char *s3_location(const char *bucket, const char *key)
{
    return str_printf("s3://%s/%s", bucket, key);
}

static int add_s3_doc(struct poll *p, const char *workspace)
{
    struct statesrc *s = p->src;
    char *key, *name;
    int r;
    if (!workspace || str_eq(workspace, "default")) {
        key = strdup(s->key);
        name = strdup(s->name);
    } else {
        key = str_printf("%s/%s/%s", s->wkp, workspace, s->key);
        name = s->by_location && key ? s3_location(s->bucket, key)
                                     : str_printf("%s:%s", s->name, workspace);
    }
    if (!key) {
        free(name);
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->n_docs; i++)
        if (str_eq(p->docs[i].s3_key, key)) {
            free(key);
            free(name);
            return 0;
        }
    r = add_doc(p, name, s3_location(s->bucket, key));
    if (r < 0) {
        free(key);
        return r;
    }
    p->docs[p->n_docs - 1].s3_key = key;
    return 0;
}

static void s3_listed(int error, const char *error_msg, char *const *keys, size_t n_keys, void *ud)
{
    struct poll *p = ud;
    struct statesrc *s = p->src;
    size_t plen = strlen(s->wkp) + 1;
    int r = 0;

    if (error < 0) {
        p->list_error = error;
        p->list_message = str_printf("state %s: s3://%s/%s/: cannot list workspaces: %s", s->name,
                                     s->bucket, s->wkp, error_msg ? error_msg : "");
    } else {
        p->listed = true;
        /* PREFIX/WORKSPACE/KEY, with no '/' in WORKSPACE. */
        for (size_t i = 0; i < n_keys && r == 0; i++) {
            const char *ws, *slash;
            char *name;
            if (!str_has_prefix(keys[i], s->wkp) || keys[i][plen - 1] != '/')
                continue;
            ws = keys[i] + plen;
            slash = strchr(ws, '/');
            if (!slash || slash == ws || !str_eq(slash + 1, s->key))
                continue;
            if (p->n_docs > STATESRC_MAX_WORKSPACES) {
                p->listed = false;
                p->list_error = -E2BIG;
                p->list_message = str_printf("state %s: more than %d workspaces", s->name,
                                             STATESRC_MAX_WORKSPACES);
                break;
            }
            name = str_ndup(ws, (size_t)(slash - ws));
            r = name ? add_s3_doc(p, name) : -ENOMEM;
            free(name);
        }
        if (r < 0)
            set_fatal(p, r, "out of memory");
    }
    if (p->cancelled)
        set_fatal(p, -ECANCELED, "cancelled");
    next_doc(p);
}

static void start_listing(struct poll *p)
{
    struct statesrc *s = p->src;
    int r = 0;

    switch (s->kind) {
    case STATE_LOCAL:
        p->work.data = p;
        r = uv_queue_work(p->env.loop, &p->work, list_local_work, list_local_after);
        if (r < 0)
            set_fatal(p, -EIO, "cannot queue work on the thread pool");
        else
            return;
        break;
    case STATE_HTTP: {
        char *loc = redact_url(s->location);
        r = add_doc(p, strdup(s->name), loc);
        if (r == 0 && !(p->docs[0].url = strdup(s->location)))
            r = -ENOMEM;
        p->listed = true;
        break;
    }
    case STATE_TFC:
        r = add_doc(p, strdup(s->name), strdup(s->location));
        p->listed = true;
        break;
    case STATE_S3: {
        bool all = strv_contains(s->workspaces, "*");
        r = add_s3_doc(p, NULL);
        for (size_t i = 0; r == 0 && s->workspaces && s->workspaces[i]; i++)
            if (!str_eq(s->workspaces[i], "*"))
                r = add_s3_doc(p, s->workspaces[i]);
        if (r == 0 && all) {
            char *prefix = str_printf("%s/", s->wkp);
            struct perr err = { 0 };
            if (!prefix) {
                r = -ENOMEM;
                break;
            }
            r = p->env.s3->list_keys(p->env.s3_userdata, s->profile, s->region, s->bucket, prefix,
                                     s3_listed, p, &err);
            free(prefix);
            if (r == 0)
                return;
            p->list_error = r;
            p->list_message = str_printf("state %s: s3://%s/%s/: cannot list workspaces: %s",
                                         s->name, s->bucket, s->wkp, err.msg);
            r = 0;
        } else {
            p->listed = true;
        }
        break;
    }
    }
    if (r < 0)
        set_fatal(p, r, "out of memory");
    next_doc(p);
}

static void load_done(int result, void *ud)
{
    struct poll *p = ud;
    if (result < 0) {
        set_fatal(p, result, result == -ECANCELED ? "cancelled" : p->werr.msg);
        poll_finish(p);
        return;
    }
    start_listing(p);
}

/* -- stage 3: fetching --------------------------------------------------- */

static void after_fetch(struct poll *p, struct doc *d);

static void parse_work(uv_work_t *w)
{
    struct poll *p = w->data;
    struct doc *d = &p->docs[p->cur];
    size_t max = p->env.max_size ? p->env.max_size : TFSTATE_DEFAULT_MAX_SIZE;
    struct tfstate_opts opts = { .max_size = max };
    struct tfstate *st = NULL;
    struct perr err = { 0 };
    int r;

    if (d->path && !d->body) {
        r = read_file(d->path, max, &d->body, &d->len);
        if (r == -EFBIG) {
            doc_fail(p, d, r, "larger than %zu bytes", max);
            return;
        }
        if (r < 0) {
            doc_fail(p, d, r, "cannot read: %s", strerror(-r));
            return;
        }
    }
    if (sha256_hex(d->body, d->len, d->digest) < 0) {
        doc_fail(p, d, -ENOMEM, "out of memory");
        goto out;
    }
    d->have_digest = true;
    if (d->old && d->old->digest && str_eq(d->old->digest, d->digest)) {
        d->res.outcome = STATESRC_UNCHANGED;
        goto out;
    }
    r = tfstate_parse(d->location, d->body, d->len, &opts, &st, &err);
    if (r < 0) {
        free(d->message);
        d->message = str_printf("state %s: %s", p->src->name, err.msg);
        d->res.outcome = STATESRC_ERROR;
        d->res.error = r;
        goto out;
    }
    d->serial = st->serial;
    if (st->lineage && !(d->lineage = strdup(st->lineage))) {
        doc_fail(p, d, -ENOMEM, "out of memory");
        goto out;
    }
    if (d->old && d->old->lineage && str_eq(d->old->lineage, st->lineage) &&
        d->old->serial == st->serial) {
        /* Same serial and lineage: the same state, serialised differently. */
        d->res.outcome = STATESRC_UNCHANGED;
        goto out;
    }
    r = statesrc_declared_rows(st, p->env.tm, p->src->account, &d->rows, &err);
    if (r < 0) {
        doc_fail(p, d, r, "%s", err.msg);
        goto out;
    }
    d->res.outcome = STATESRC_UPDATED;
    d->res.n_declared = json_array_size(d->rows);
    d->res.serial = st->serial;
out:
    tfstate_free(st);
    /* The text holds the sensitive values the parser masked. */
    explicit_bzero(d->body, d->len);
    free(d->body);
    d->body = NULL;
}

static void parse_after(uv_work_t *w, int status)
{
    struct poll *p = w->data;
    if (status < 0) {
        set_fatal(p, -ECANCELED, "cancelled");
        poll_finish(p);
        return;
    }
    store_doc(p);
}

static void after_fetch(struct poll *p, struct doc *d)
{
    int r;
    if (p->fatal) {
        poll_finish(p);
        return;
    }
    if (d->res.outcome == STATESRC_ERROR || d->res.outcome == STATESRC_UNCHANGED ||
        (!d->body && !d->path)) {
        store_doc(p);
        return;
    }
    p->work.data = p;
    r = uv_queue_work(p->env.loop, &p->work, parse_work, parse_after);
    if (r < 0) {
        set_fatal(p, -EIO, "cannot queue work on the thread pool");
        poll_finish(p);
    }
}

static const char *status_hint(long status)
{
    switch (status) {
    case 401: return " (check the credentials)";
    case 403: return " (access denied)";
    case 404: return " (not found)";
    default: return "";
    }
}

/* Take a 200 response's body, or fail the document. */
static bool take_body(struct poll *p, struct doc *d, struct http_response *resp)
{
    if (resp->error) {
        if (resp->error == -ECANCELED)
            set_fatal(p, -ECANCELED, "cancelled");
        else if (resp->error == -EMSGSIZE)
            doc_fail(p, d, resp->error, "larger than %zu bytes",
                     p->env.max_size ? p->env.max_size : TFSTATE_DEFAULT_MAX_SIZE);
        else
            doc_fail(p, d, resp->error, "%s", resp->error_msg);
        return false;
    }
    if (resp->status != 200) {
        doc_fail(p, d, -EIO, "HTTP %ld%s", resp->status, status_hint(resp->status));
        return false;
    }
    d->body = http_response_take_body(resp, &d->len);
    return true;
}

static void http_fetched(struct http_call *call, struct http_response *resp, void *ud)
{
    struct poll *p = ud;
    struct doc *d = &p->docs[p->cur];
    const char *etag;

    p->call = NULL;
    if (!resp->error && resp->status == 304 && d->old && d->old->etag) {
        d->res.outcome = STATESRC_UNCHANGED;
    } else if (take_body(p, d, resp)) {
        etag = http_response_header(resp, "etag");
        if (etag && !(d->etag = strdup(etag)))
            doc_fail(p, d, -ENOMEM, "out of memory");
    }
    after_fetch(p, d);
}

static int send_get(struct poll *p, const char *url, char **headers, size_t max_body,
                    http_done_cb cb, struct perr *err)
{
    struct http_request req = {
        .method = "GET",
        .url = url,
        .headers = (const char *const *)headers,
        .max_body = max_body,
    };
    return http_send(p->env.http, &req, cb, p, &p->call, err);
}

static void free_headers(char **h)
{
    for (size_t i = 0; h && h[i]; i++) {
        str_free_secret(h[i]);
        h[i] = NULL;
    }
    free(h);
}

static void fetch_http(struct poll *p, struct doc *d)
{
    struct statesrc *s = p->src;
    char **h = NULL;
    struct perr err = { 0 };
    int r = 0;

    for (size_t i = 0; r == 0 && s->headers && s->headers[i]; i++)
        r = strv_push(&h, s->headers[i]);
    if (r == 0 && s->username) {
        char *cred = str_printf("%s:%s", s->username, s->password ? s->password : "");
        char *b64 = cred ? base64_encode(cred, strlen(cred)) : NULL;
        char *line = b64 ? str_printf("Authorization: Basic %s", b64) : NULL;
        str_free_secret(cred);
        str_free_secret(b64);
        r = line ? strv_consume(&h, line) : -ENOMEM;
        if (r < 0)
            str_free_secret(line);
    }
    if (r == 0 && d->old && d->old->etag) {
        char *line = str_printf("If-None-Match: %s", d->old->etag);
        r = line ? strv_consume(&h, line) : -ENOMEM;
        if (r < 0)
            free(line);
    }
    if (r == 0)
        r = send_get(p, d->url, h, p->env.max_size ? p->env.max_size : TFSTATE_DEFAULT_MAX_SIZE,
                     http_fetched, &err);
    else
        err = (struct perr){ .code = r, .msg = "out of memory" };
    free_headers(h);
    if (r < 0) {
        doc_fail(p, d, r, "%s", err.msg);
        after_fetch(p, d);
    }
}

/* Terraform Cloud: workspace -> current state version -> download. */

static int tfc_send(struct poll *p, const char *url, bool token, const char *accept,
                    size_t max_body, http_done_cb cb, struct perr *err)
{
    char **h = NULL;
    int r = 0;
    if (token) {
        char *line = str_printf("Authorization: Bearer %s", p->src->token);
        r = line ? strv_consume(&h, line) : -ENOMEM;
        if (r < 0)
            str_free_secret(line);
    }
    if (r == 0) {
        char *line = str_printf("Accept: %s", accept);
        r = line ? strv_consume(&h, line) : -ENOMEM;
        if (r < 0)
            free(line);
    }
    if (r == 0)
        r = send_get(p, url, h, max_body, cb, err);
    else
        perr_set(err, r, "out of memory");
    free_headers(h);
    return r;
}

/* Parse a JSON:API answer; fails the document with a message on error. */
static json_t *tfc_json(struct poll *p, struct doc *d, struct http_response *resp, const char *what)
{
    json_t *j;
    json_error_t je;
    if (resp->error) {
        if (resp->error == -ECANCELED)
            set_fatal(p, -ECANCELED, "cancelled");
        else
            doc_fail(p, d, resp->error, "%s: %s", what, resp->error_msg);
        return NULL;
    }
    if (resp->status != 200) {
        const char *hint = resp->status == 401   ? " (the API token was rejected)"
                           : resp->status == 404 ? " (not found, or not readable with this token)"
                                                 : "";
        doc_fail(p, d, -EIO, "%s: HTTP %ld%s", what, resp->status, hint);
        return NULL;
    }
    j = json_loadb(resp->body, resp->body_len, 0, &je);
    if (!j || !json_is_object(json_object_get(j, "data"))) {
        doc_fail(p, d, -EPROTO, "%s: not a JSON:API document%s%s", what, j ? "" : ": ",
                 j ? "" : je.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

static void tfc_downloaded(struct http_call *call, struct http_response *resp, void *ud)
{
    struct poll *p = ud;
    struct doc *d = &p->docs[p->cur];
    p->call = NULL;
    take_body(p, d, resp);
    after_fetch(p, d);
}

static void tfc_state_version(struct http_call *call, struct http_response *resp, void *ud)
{
    struct poll *p = ud;
    struct doc *d = &p->docs[p->cur];
    json_t *j;
    const char *sv, *url;
    struct perr err = { 0 };
    char *abs = NULL, *api_origin = NULL, *dl_origin = NULL;
    int r;

    p->call = NULL;
    j = tfc_json(p, d, resp, "current state version");
    if (!j) {
        after_fetch(p, d);
        return;
    }
    sv = json_string_value(json_path_get(j, "data.id"));
    url = json_string_value(json_path_get(j, "data.attributes[\"hosted-state-download-url\"]"));
    if (!sv || !*sv) {
        doc_fail(p, d, -EPROTO, "current state version: no id");
    } else if (d->old && str_eq(d->old->etag, sv)) {
        d->res.outcome = STATESRC_UNCHANGED;
    } else if (!url || !*url) {
        doc_fail(p, d, -EAGAIN, "state version %s has no download URL yet", sv);
    } else if (!(d->etag = strdup(sv)) ||
               !(abs = url[0] == '/' ? str_printf("%s%s", p->src->tfc_base, url) : strdup(url))) {
        doc_fail(p, d, -ENOMEM, "out of memory");
    } else {
        /* The token goes to the API host only. */
        api_origin = url_origin(p->src->tfc_base);
        dl_origin = url_origin(abs);
        r = tfc_send(p, abs, api_origin && str_eq(api_origin, dl_origin), "application/json",
                     p->env.max_size ? p->env.max_size : TFSTATE_DEFAULT_MAX_SIZE, tfc_downloaded,
                     &err);
        if (r < 0)
            doc_fail(p, d, r, "download: %s", err.msg);
    }
    json_decref(j);
    free(abs);
    free(api_origin);
    free(dl_origin);
    if (!p->call)
        after_fetch(p, d);
}

static void tfc_get_state_version(struct poll *p, struct doc *d)
{
    char *url =
        str_printf("%s/api/v2/workspaces/%s/current-state-version", p->src->tfc_base, p->tfc_ws_id);
    struct perr err = { 0 };
    int r = url ? tfc_send(p, url, true, "application/vnd.api+json", STATESRC_MAX_API_BODY,
                           tfc_state_version, &err)
                : -ENOMEM;
    free(url);
    if (r < 0) {
        doc_fail(p, d, r, "%s", url ? err.msg : "out of memory");
        after_fetch(p, d);
    }
}

static void tfc_workspace(struct http_call *call, struct http_response *resp, void *ud)
{
    struct poll *p = ud;
    struct doc *d = &p->docs[p->cur];
    json_t *j;
    const char *id;

    p->call = NULL;
    j = tfc_json(p, d, resp, "workspace");
    if (!j) {
        after_fetch(p, d);
        return;
    }
    id = json_string_value(json_path_get(j, "data.id"));
    if (!id || !*id || strchr(id, '/') || strchr(id, '?'))
        doc_fail(p, d, -EPROTO, "workspace: no usable id in the answer");
    else if (!(p->tfc_ws_id = strdup(id)))
        doc_fail(p, d, -ENOMEM, "out of memory");
    json_decref(j);
    if (d->res.outcome == STATESRC_ERROR || p->fatal) {
        after_fetch(p, d);
        return;
    }
    tfc_get_state_version(p, d);
}

static void fetch_tfc(struct poll *p, struct doc *d)
{
    struct statesrc *s = p->src;
    char *url;
    struct perr err = { 0 };
    int r;

    if (p->tfc_ws_id) {
        tfc_get_state_version(p, d);
        return;
    }
    url =
        str_printf("%s/api/v2/organizations/%s/workspaces/%s", s->tfc_base, s->tfc_org, s->tfc_ws);
    r = url ? tfc_send(p, url, true, "application/vnd.api+json", STATESRC_MAX_API_BODY,
                       tfc_workspace, &err)
            : -ENOMEM;
    free(url);
    if (r < 0) {
        doc_fail(p, d, r, "%s", err.msg[0] ? err.msg : "out of memory");
        after_fetch(p, d);
    }
}

static void s3_fetched(const struct statesrc_s3_object *obj, void *ud)
{
    struct poll *p = ud;
    struct doc *d = &p->docs[p->cur];

    if (obj->error < 0) {
        if (obj->error == -ECANCELED)
            set_fatal(p, -ECANCELED, "cancelled");
        else
            doc_fail(p, d, obj->error, "%s", obj->error_msg ? obj->error_msg : "");
        free(obj->body);
    } else if (obj->not_modified) {
        d->res.outcome = STATESRC_UNCHANGED;
        free(obj->body);
    } else {
        d->body = obj->body;
        d->len = obj->len;
        if (!d->body)
            doc_fail(p, d, -EPROTO, "no body in the answer");
        else if (obj->etag && !(d->etag = strdup(obj->etag)))
            doc_fail(p, d, -ENOMEM, "out of memory");
    }
    if (p->cancelled)
        set_fatal(p, -ECANCELED, "cancelled");
    after_fetch(p, d);
}

static void fetch_s3(struct poll *p, struct doc *d)
{
    struct statesrc *s = p->src;
    struct perr err = { 0 };
    int r = p->env.s3->get_object(p->env.s3_userdata, s->profile, s->region, s->bucket, d->s3_key,
                                  d->old ? d->old->etag : NULL,
                                  p->env.max_size ? p->env.max_size : TFSTATE_DEFAULT_MAX_SIZE,
                                  s3_fetched, p, &err);
    if (r < 0) {
        doc_fail(p, d, r, "%s", err.msg);
        after_fetch(p, d);
    }
}

/* -- stage 4: storing ------------------------------------------------------- */

static int store_work(struct db *db, void *ud)
{
    struct poll *p = ud;
    struct doc *d = &p->docs[p->cur];
    struct statesrc_stored meta = {
        .location = d->location,
        .serial = d->serial,
        .lineage = d->lineage,
        .etag = d->etag,
        .digest = d->have_digest ? d->digest : NULL,
    };
    int r;

    switch (d->res.outcome) {
    case STATESRC_UPDATED:
        r = statesrc_store(db, d->name, &meta, d->rows, p->now, &p->werr);
        if (r >= 0)
            return 0;
        /* A row the database refuses is this document's problem. */
        doc_fail(p, d, r, "cannot store: %s", p->werr.msg);
        break;
    case STATESRC_UNCHANGED:
        return store_unchanged(db, d->name, d->location, d->etag, meta.digest, p->now, &p->werr);
    default: break;
    }
    return statesrc_store_error(db, d->name, d->location, d->message, p->now, &p->werr);
}

static void store_done(int result, void *ud)
{
    struct poll *p = ud;
    struct doc *d = &p->docs[p->cur];
    if (result < 0) {
        set_fatal(p, result, result == -ECANCELED ? "cancelled" : p->werr.msg);
        poll_finish(p);
        return;
    }
    json_decref(d->rows);
    d->rows = NULL;
    p->cur++;
    next_doc(p);
}

static void store_doc(struct poll *p)
{
    int r = dbq_submit(p->env.dbq, store_work, store_done, p);
    if (r < 0) {
        set_fatal(p, r, "cannot queue the database job");
        poll_finish(p);
    }
}

/* -- stage 5: the listing row and vanished documents ------------------------ */

static int final_work(struct db *db, void *ud)
{
    struct poll *p = ud;
    struct statesrc *s = p->src;
    size_t plen = strlen(s->name);
    int r = 0;

    if (s->by_location)
        return 0;
    if (s->kind == STATE_LOCAL && s->pattern) {
        r = p->listed
                ? store_listing_ok(db, s->name, s->location, p->now, &p->werr)
                : statesrc_store_error(db, s->name, s->location, p->list_message, p->now, &p->werr);
        if (r < 0)
            return r;
    }
    if (!p->listed)
        return 0;
    r = db_begin(db, &p->werr);
    if (r < 0)
        return r;
    for (size_t i = 0; i < p->n_stored && r == 0; i++) {
        const char *name = p->stored[i].name;
        bool listed = false;
        sqlite3_stmt *st;
        if (!str_has_prefix(name, s->name) || name[plen] != ':')
            continue;
        for (size_t k = 0; k < p->n_docs && !listed; k++)
            listed = str_eq(p->docs[k].name, name);
        if (listed)
            continue;
        st = db_stmt(db, "DELETE FROM state_sources WHERE name = ?", &p->werr);
        if (!st) {
            r = p->werr.code;
            break;
        }
        db_bind_text(st, 1, name);
        r = step_done(db, st, &p->werr, "state_sources");
        if (r == 0)
            r = strv_push(&p->removed, name);
    }
    if (r == 0)
        r = db_commit(db, &p->werr);
    if (r < 0) {
        db_rollback(db);
        strv_free(p->removed);
        p->removed = NULL;
    }
    return r;
}

static void final_done(int result, void *ud)
{
    struct poll *p = ud;
    if (result < 0)
        set_fatal(p, result, result == -ECANCELED ? "cancelled" : p->werr.msg);
    poll_finish(p);
}

static void next_doc(struct poll *p)
{
    struct doc *d;
    int r;

    if (p->cancelled)
        set_fatal(p, -ECANCELED, "cancelled");
    if (p->fatal) {
        poll_finish(p);
        return;
    }
    if (p->cur >= p->n_docs) {
        if (p->src->by_location) {
            poll_finish(p);
            return;
        }
        r = dbq_submit(p->env.dbq, final_work, final_done, p);
        if (r < 0) {
            set_fatal(p, r, "cannot queue the database job");
            poll_finish(p);
        }
        return;
    }
    d = &p->docs[p->cur];
    switch (p->src->kind) {
    case STATE_LOCAL: after_fetch(p, d); break;
    case STATE_HTTP: fetch_http(p, d); break;
    case STATE_TFC: fetch_tfc(p, d); break;
    case STATE_S3: fetch_s3(p, d); break;
    }
}

/* -- the end ------------------------------------------------------------------ */

static void poll_finish(struct poll *p)
{
    struct statesrc_doc_result *res = NULL;
    struct statesrc_report rep = { .source = p->src->name, .message = "" };
    size_t n_removed = strv_length(p->removed), n = 0;

    res = calloc(p->n_docs + n_removed + 1, sizeof(*res));
    if (res) {
        for (size_t i = 0; i < p->n_docs; i++) {
            struct doc *d = &p->docs[i];
            /* Documents never reached (a fatal error) are not reported. */
            if (i >= p->cur && d->res.outcome != STATESRC_ERROR)
                continue;
            res[n] = d->res;
            res[n].name = d->name;
            res[n].location = d->location;
            res[n].message = d->message ? d->message : "";
            n++;
        }
        for (size_t i = 0; i < n_removed; i++) {
            res[n].name = p->removed[i];
            res[n].location = "";
            res[n].outcome = STATESRC_REMOVED;
            res[n].message = "";
            n++;
        }
    }
    rep.docs = res;
    rep.n_docs = n;
    if (p->fatal) {
        rep.error = p->fatal;
        rep.message = p->fatal_message ? p->fatal_message : "out of memory";
    } else if (p->list_error) {
        rep.error = p->list_error;
        rep.message = p->list_message ? p->list_message : "out of memory";
    } else {
        for (size_t i = 0; i < n; i++)
            if (res[i].outcome == STATESRC_ERROR) {
                rep.error = res[i].error;
                rep.message = res[i].message;
                break;
            }
    }
    if (!res && !rep.error) {
        rep.error = -ENOMEM;
        rep.message = "out of memory";
    }
    p->src->poll = NULL;
    p->done(&rep, p->userdata);
    free(res);
    poll_free(p);
}

int statesrc_poll(const struct statesrc_env *env, struct statesrc *s, statesrc_done_fn done,
                  void *userdata, struct perr *err)
{
    struct poll *p;
    int r;

    if (s->poll)
        return perr_set(err, -EBUSY, "state %s: a poll is already running", s->name);
    if (s->kind == STATE_S3 && (!env->s3 || !env->s3->get_object || !env->s3->list_keys))
        return perr_set(err, -ENOTSUP, "state %s: S3 state sources need plumb's AWS client",
                        s->name);
    if ((s->kind == STATE_HTTP || s->kind == STATE_TFC) && !env->http)
        return perr_set(err, -ENOTSUP, "state %s: no HTTP client", s->name);
    p = calloc(1, sizeof(*p));
    if (!p)
        return perr_set(err, -ENOMEM, "out of memory");
    p->src = s;
    p->env = *env;
    p->done = done;
    p->userdata = userdata;
    p->now = time_now_ms();
    r = dbq_submit(env->dbq, load_work, load_done, p);
    if (r < 0) {
        free(p);
        return perr_set(err, r, "state %s: cannot queue the database job", s->name);
    }
    s->poll = p;
    return 0;
}

void statesrc_cancel(struct statesrc *s)
{
    if (!s->poll)
        return;
    s->poll->cancelled = true;
    if (s->poll->call)
        http_cancel(s->poll->call);
}

int statesrc_prune(struct db *db, char *const *keep, struct perr *err)
{
    sqlite3_stmt *st = db_stmt(db, "SELECT name FROM state_sources", err);
    char **doomed = NULL;
    int rc, r = 0;

    if (!st)
        return err ? err->code : -EIO;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        bool kept = false;
        for (size_t i = 0; keep && keep[i] && !kept; i++) {
            size_t n = strlen(keep[i]);
            kept = str_eq(name, keep[i]) || (strncmp(name, keep[i], n) == 0 && name[n] == ':');
        }
        if (!kept && strv_push(&doomed, name) < 0) {
            r = perr_set(err, -ENOMEM, "out of memory");
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "state_sources");
    sqlite3_reset(st);
    if (r < 0 || !doomed)
        goto out;
    r = db_begin(db, err);
    if (r < 0)
        goto out;
    for (size_t i = 0; doomed[i] && r == 0; i++) {
        st = db_stmt(db, "DELETE FROM state_sources WHERE name = ?", err);
        if (!st) {
            r = err ? err->code : -EIO;
            break;
        }
        db_bind_text(st, 1, doomed[i]);
        r = step_done(db, st, err, "state_sources");
    }
    if (r == 0)
        r = db_commit(db, err);
    if (r < 0)
        db_rollback(db);
    else
        r = (int)strv_length(doomed);
out:
    strv_free(doomed);
    return r;
}

/* ---- one-shot ----------------------------------------------------------- */

struct once {
    bool finished;
    int failures;
    struct perr *err;
    statesrc_done_fn report;
    void *userdata;
};

static void once_done(const struct statesrc_report *rep, void *ud)
{
    struct once *o = ud;
    o->finished = true;
    if (rep->error) {
        if (o->failures++ == 0)
            perr_set(o->err, -EIO, "%s", rep->message);
    }
    if (o->report)
        o->report(rep, o->userdata);
}

static void once_closed(void *ud)
{
    *(bool *)ud = true;
}

int statesrc_once(const char *const *locations, size_t n_locations,
                  const struct statesrc_once_options *opts, statesrc_done_fn report, void *userdata,
                  struct perr *err)
{
    struct statesrc **srcs = calloc(n_locations + 1, sizeof(*srcs));
    uv_loop_t loop;
    bool loop_ok = false, need_http = false, closed_http = true, closed_q = true;
    struct db *db = NULL;
    struct dbq *q = NULL;
    struct http_client *http = NULL;
    struct once o = { .err = err, .report = report, .userdata = userdata };
    int r;

    if (!srcs)
        return perr_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n_locations; i++) {
        r = statesrc_new_location(locations[i], opts->account, opts->tfc_token, &srcs[i], err);
        if (r < 0)
            goto out;
        need_http |= srcs[i]->kind == STATE_HTTP || srcs[i]->kind == STATE_TFC;
    }
    r = uv_loop_init(&loop);
    if (r < 0) {
        r = perr_set(err, -EIO, "cannot create an event loop: %s", uv_strerror(r));
        goto out;
    }
    loop_ok = true;
    r = db_open(opts->db_path, DB_READWRITE, &db, err);
    if (r < 0)
        goto out;
    r = dbq_new(&loop, db, &q);
    if (r < 0) {
        r = perr_set(err, r, "out of memory");
        goto out;
    }
    db = NULL;
    closed_q = false;
    if (need_http) {
        struct http_client_options ho = { .ca_bundle = opts->ca_bundle,
                                          .timeout_ms = opts->http_timeout_ms };
        r = http_client_new(&loop, &ho, &http, err);
        if (r < 0)
            goto out;
        closed_http = false;
    }
    for (size_t i = 0; i < n_locations; i++) {
        struct statesrc_env env = {
            .loop = &loop,
            .dbq = q,
            .http = http,
            .tm = opts->tm,
            .s3 = opts->s3,
            .s3_userdata = opts->s3_userdata,
        };
        struct perr perr = { 0 };
        o.finished = false;
        r = statesrc_poll(&env, srcs[i], once_done, &o, &perr);
        if (r < 0) {
            struct statesrc_report rep = { .source = srcs[i]->name,
                                           .error = r,
                                           .message = perr.msg };
            once_done(&rep, &o);
            continue;
        }
        while (!o.finished)
            uv_run(&loop, UV_RUN_ONCE);
    }
    r = o.failures ? -EIO : 0;
out:
    if (http)
        http_client_close(http, once_closed, &closed_http);
    if (q)
        dbq_close(q, once_closed, &closed_q);
    if (loop_ok) {
        while (!closed_http || !closed_q)
            uv_run(&loop, UV_RUN_ONCE);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    db_close(db);
    for (size_t i = 0; i < n_locations; i++)
        statesrc_free(srcs[i]);
    free(srcs);
    return r;
}

/* ---- S3 through plumb's AWS client ---------------------------------------------- */

#define STATESRC_S3_DEFAULT_REGION "us-east-1"
#define STATESRC_S3_MAX_KEYS       100000

struct statesrc_aws {
    struct aws_client *client;
    char **profiles; /* "" for the default chain */
    struct aws_account **accounts;
    size_t n;
};

int statesrc_aws_new(struct aws_client *client, struct statesrc_aws **ret, struct perr *err)
{
    struct statesrc_aws *a = calloc(1, sizeof(*a));
    if (!a)
        return perr_set(err, -ENOMEM, "out of memory");
    a->client = client;
    *ret = a;
    return 0;
}

struct statesrc_aws *statesrc_aws_free(struct statesrc_aws *a)
{
    if (!a)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        aws_account_free(a->accounts[i]);
    free(a->accounts);
    strv_free(a->profiles);
    free(a);
    return NULL;
}

static int aws_account_for(struct statesrc_aws *a, const char *profile, struct aws_account **ret,
                           struct perr *err)
{
    const char *p = profile ? profile : "";
    struct aws_account_options o = { .profile = profile };
    struct aws_account **n;
    int r;
    for (size_t i = 0; i < a->n; i++)
        if (str_eq(a->profiles[i], p)) {
            *ret = a->accounts[i];
            return 0;
        }
    n = realloc(a->accounts, (a->n + 1) * sizeof(*n));
    if (!n)
        return perr_set(err, -ENOMEM, "out of memory");
    a->accounts = n;
    if (strv_push(&a->profiles, p) < 0)
        return perr_set(err, -ENOMEM, "out of memory");
    r = aws_account_new(a->client, &o, &a->accounts[a->n], err);
    if (r < 0) {
        free(a->profiles[a->n]);
        a->profiles[a->n] = NULL;
        return r;
    }
    *ret = a->accounts[a->n++];
    return 0;
}

static int aws_errno(const struct aws_error *e)
{
    switch (e ? e->kind : AWS_ERR_TRANSPORT) {
    case AWS_ERR_ACCESS_DENIED: return -EACCES;
    case AWS_ERR_NOT_FOUND: return -ENOENT;
    case AWS_ERR_THROTTLED: return -EBUSY;
    case AWS_ERR_AUTH: return -EPERM;
    default: return -EIO;
    }
}

static char *aws_message(int result, const struct aws_error *e)
{
    if (e && e->code && e->message)
        return str_printf("%s: %s", e->code, e->message);
    if (e && (e->code || e->message))
        return strdup(e->code ? e->code : e->message);
    return strdup(strerror(-result));
}

struct s3_get_ctx {
    statesrc_s3_get_done done;
    void *done_ud;
    size_t max;
};

static void s3_got(int result, const struct aws_object *obj, const struct aws_error *e, void *ud)
{
    struct s3_get_ctx *g = ud;
    struct statesrc_s3_object out = { .error_msg = "" };
    char *msg = NULL;

    if (result < 0) {
        out.error = result == -ECANCELED ? -ECANCELED : aws_errno(e);
        msg = aws_message(result, e);
        out.error_msg = msg ? msg : "out of memory";
    } else if (obj->not_modified) {
        out.not_modified = true;
    } else if (obj->len > g->max) {
        out.error = -EFBIG;
        msg = str_printf("larger than %zu bytes", g->max);
        out.error_msg = msg ? msg : "too large";
    } else {
        out.body = malloc(obj->len + 1);
        if (!out.body) {
            out.error = -ENOMEM;
            out.error_msg = "out of memory";
        } else {
            memcpy(out.body, obj->body, obj->len);
            out.body[obj->len] = '\0';
            out.len = obj->len;
            out.etag = obj->etag;
        }
    }
    g->done(&out, g->done_ud);
    free(msg);
    free(g);
}

static int s3_get(void *userdata, const char *profile, const char *region, const char *bucket,
                  const char *key, const char *if_none_match, size_t max_size,
                  statesrc_s3_get_done done, void *done_ud, struct perr *err)
{
    struct statesrc_aws *a = userdata;
    struct aws_account *acct = NULL;
    struct s3_get_ctx *g;
    int r = aws_account_for(a, profile, &acct, err);
    if (r < 0)
        return r;
    g = calloc(1, sizeof(*g));
    if (!g)
        return perr_set(err, -ENOMEM, "out of memory");
    g->done = done;
    g->done_ud = done_ud;
    g->max = max_size;
    r = aws_s3_get_object(acct, region ? region : STATESRC_S3_DEFAULT_REGION, bucket, key,
                          if_none_match, NULL, s3_got, g, err);
    if (r < 0)
        free(g);
    return r;
}

struct s3_list_ctx {
    statesrc_s3_list_done done;
    void *done_ud;
    char **keys;
    size_t n;
    bool too_many;
};

static int s3_list_page(const struct aws_page *page, void *ud)
{
    struct s3_list_ctx *l = ud;
    size_t i;
    json_t *o;
    json_array_foreach (json_object_get(page->output, "Contents"), i, o) {
        const char *k = json_string_value(json_object_get(o, "Key"));
        if (!k)
            continue;
        if (l->n >= STATESRC_S3_MAX_KEYS) {
            l->too_many = true;
            return -E2BIG;
        }
        if (strv_push(&l->keys, k) < 0)
            return -ENOMEM;
        l->n++;
    }
    return 0;
}

static void s3_listed_done(int result, const struct aws_error *e, void *ud)
{
    struct s3_list_ctx *l = ud;
    char *msg = NULL;
    if (result < 0) {
        msg = l->too_many ? str_printf("more than %d keys", STATESRC_S3_MAX_KEYS)
                          : aws_message(result, e);
        l->done(result == -ECANCELED || result == -E2BIG || result == -ENOMEM ? result
                                                                              : aws_errno(e),
                msg ? msg : "out of memory", NULL, 0, l->done_ud);
    } else {
        l->done(0, "", l->keys, l->n, l->done_ud);
    }
    free(msg);
    strv_free(l->keys);
    free(l);
}

static int s3_list(void *userdata, const char *profile, const char *region, const char *bucket,
                   const char *prefix, statesrc_s3_list_done done, void *done_ud, struct perr *err)
{
    struct statesrc_aws *a = userdata;
    struct aws_account *acct = NULL;
    struct s3_list_ctx *l;
    json_t *params;
    struct aws_request req = {
        .service = "s3",
        .operation = "ListObjectsV2",
        .region = region ? region : STATESRC_S3_DEFAULT_REGION,
        .flags = AWS_CALL_ALL_PAGES,
    };
    int r = aws_account_for(a, profile, &acct, err);
    if (r < 0)
        return r;
    l = calloc(1, sizeof(*l));
    params = json_pack("{s:s, s:s}", "Bucket", bucket, "Prefix", prefix);
    if (!l || !params) {
        free(l);
        json_decref(params);
        return perr_set(err, -ENOMEM, "out of memory");
    }
    l->done = done;
    l->done_ud = done_ud;
    req.params = params;
    r = aws_call(acct, &req, s3_list_page, s3_listed_done, l, NULL, err);
    json_decref(params);
    if (r < 0)
        free(l);
    return r;
}

const struct statesrc_s3_ops statesrc_aws_s3 = { s3_get, s3_list };
