#include "creds.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* ---- credentials objects ---- */

int aws_credentials_new(const char *access_key_id, const char *secret_access_key,
                        const char *session_token, int64_t expiration_ms, const char *source,
                        struct aws_credentials **ret)
{
    struct aws_credentials *c;

    if (!access_key_id || !*access_key_id || !secret_access_key || !*secret_access_key)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->access_key_id = strdup(access_key_id);
    c->secret_access_key = strdup(secret_access_key);
    c->session_token = session_token && *session_token ? strdup(session_token) : NULL;
    c->source = strdup(source ? source : "");
    c->expiration_ms = expiration_ms;
    if (!c->access_key_id || !c->secret_access_key || !c->source ||
        (session_token && *session_token && !c->session_token)) {
        aws_credentials_free(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

struct aws_credentials *aws_credentials_copy(const struct aws_credentials *c)
{
    struct aws_credentials *n = NULL;
    if (!c)
        return NULL;
    if (aws_credentials_new(c->access_key_id, c->secret_access_key, c->session_token,
                            c->expiration_ms, c->source, &n) < 0)
        return NULL;
    return n;
}

struct aws_credentials *aws_credentials_free(struct aws_credentials *c)
{
    if (!c)
        return NULL;
    free(c->access_key_id);
    str_free_secret(c->secret_access_key);
    str_free_secret(c->session_token);
    free(c->source);
    explicit_bzero(c, sizeof(*c));
    free(c);
    return NULL;
}

/* ---- environment ---- */

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i][n + 1] ? envp[i] + n + 1 : NULL;
    return NULL;
}

/* ---- shared config and credentials files ---- */

enum file_kind { FILE_CONFIG, FILE_CREDENTIALS };

static const char *const file_label[] = { "shared config file", "shared credentials file" };

struct kv {
    char *key;
    char *value; /* may be a secret: always wiped */
    int line;
};

struct section {
    char *profile;
    enum file_kind kind;
    struct kv *kvs;
    size_t n_kvs;
};

struct shared {
    char *path[2]; /* NULL when the default path cannot be expanded */
    struct section *secs;
    size_t n_secs;
};

static void shared_free(struct shared *sh)
{
    for (size_t i = 0; i < sh->n_secs; i++) {
        for (size_t j = 0; j < sh->secs[i].n_kvs; j++) {
            free(sh->secs[i].kvs[j].key);
            str_free_secret(sh->secs[i].kvs[j].value);
        }
        free(sh->secs[i].kvs);
        free(sh->secs[i].profile);
    }
    free(sh->secs);
    free(sh->path[0]);
    free(sh->path[1]);
}

static struct section *find_section(const struct shared *sh, const char *profile,
                                    enum file_kind kind)
{
    for (size_t i = 0; i < sh->n_secs; i++)
        if (sh->secs[i].kind == kind && strcmp(sh->secs[i].profile, profile) == 0)
            return &sh->secs[i];
    return NULL;
}

static struct kv *sec_get(const struct section *s, const char *key)
{
    for (size_t i = 0; s && i < s->n_kvs; i++)
        if (strcmp(s->kvs[i].key, key) == 0)
            return &s->kvs[i];
    return NULL;
}

/* inih (as packaged) reads lines into a 200-byte buffer and section names
 * into 50 bytes, which a session token or a long profile name exceeds.  The
 * reader below hands inih every line that fits unchanged; for a line that
 * does not, it keeps the long part (a value, or a section name) aside and
 * gives inih a short stand-in "\x1f<index>" that the handler swaps back.
 * Files containing \x1f are refused up front, so stand-ins are
 * unambiguous. */
#define INI_SECTION_MAX 49
#define STANDIN         '\x1f'

struct ini_ctx {
    const char *data;
    size_t len, pos;
    int line;           /* physical line last handed to inih */
    bool line_indented; /* it started with a blank (a continuation) */
    char **stash;
    size_t n_stash;
    struct shared *sh;
    enum file_kind kind;
    const char *path;
    char *last_section; /* for continuations */
    char *last_key;
    int fail; /* first error of ours, 0 if none */
    struct perr *err;
};

static int ini_fail(struct ini_ctx *c, int code, const char *fmt, ...) PLUMB_PRINTF(3, 4);
static int ini_fail(struct ini_ctx *c, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    if (c->fail)
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->fail = code;
    perr_set(c->err, code, "%s:%d: %s", c->path, c->line, msg);
    return 0;
}

/* Keep s[0..n) aside; returns its index or -1 (out of memory). */
static long stash_put(struct ini_ctx *c, const char *s, size_t n)
{
    char **ns = realloc(c->stash, (c->n_stash + 1) * sizeof(*ns));
    char *copy;
    if (!ns)
        return -1;
    c->stash = ns;
    copy = str_ndup(s, n);
    if (!copy)
        return -1;
    c->stash[c->n_stash] = copy;
    return (long)c->n_stash++;
}

/* inih's inline comments: ';' preceded by a blank ends the value. */
static size_t value_end(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (s[i] == ';' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
            return i;
    return n;
}

static void trim_span(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static char *read_line(char *str, int num, void *stream)
{
    struct ini_ctx *c = stream;
    const char *l;
    size_t len, eol, s = 0, room;
    long idx;

    if (c->pos >= c->len)
        return NULL;
    if (num < 24) {
        ini_fail(c, -EINVAL, "INI parser line buffer too small");
        return NULL;
    }
    room = (size_t)num - 2; /* the newline and the NUL */
    l = c->data + c->pos;
    eol = c->pos;
    while (eol < c->len && c->data[eol] != '\n')
        eol++;
    len = eol - c->pos;
    c->pos = eol < c->len ? eol + 1 : eol;
    c->line++;
    if (len > 0 && l[len - 1] == '\r')
        len--;
    c->line_indented = len > 0 && (l[0] == ' ' || l[0] == '\t');
    while (s < len && isspace((unsigned char)l[s]))
        s++;

    if (s < len && l[s] == '[') {
        const char *close = memchr(l + s, ']', len - s);
        if (close) {
            size_t nlen = (size_t)(close - (l + s + 1));
            if (nlen < INI_SECTION_MAX && len <= room)
                goto verbatim;
            idx = stash_put(c, l + s + 1, nlen);
            if (idx < 0) {
                ini_fail(c, -ENOMEM, "out of memory");
                snprintf(str, (size_t)num, "[]\n");
                return str;
            }
            snprintf(str, (size_t)num, "[%c%ld]\n", STANDIN, idx);
            return str;
        }
    }
    if (len <= room)
        goto verbatim;

    /* A line too long for inih's buffer. */
    if (s < len && (l[s] == ';' || l[s] == '#')) {
        snprintf(str, (size_t)num, "#\n");
        return str;
    }
    if (c->line_indented) {
        const char *v = l + s;
        size_t vn = value_end(v, len - s);
        trim_span(&v, &vn);
        idx = stash_put(c, v, vn);
        if (idx < 0)
            goto oom;
        snprintf(str, (size_t)num, " %c%ld\n", STANDIN, idx);
        return str;
    } else {
        const char *sep = NULL, *name = l + s, *v;
        size_t nn, vn;
        for (size_t i = s; i < len && !sep; i++) {
            if (l[i] == '=' || l[i] == ':')
                sep = l + i;
            else if (l[i] == ';' && i > s && (l[i - 1] == ' ' || l[i - 1] == '\t'))
                break;
        }
        nn = sep ? (size_t)(sep - name) : 0;
        trim_span(&name, &nn);
        if (!sep || nn == 0 || nn + 24 > room) {
            /* No '=' (or an absurd key): let inih report the line. */
            snprintf(str, (size_t)num, "%c\n", STANDIN);
            return str;
        }
        v = sep + 1;
        vn = value_end(v, len - (size_t)(v - l));
        trim_span(&v, &vn);
        idx = stash_put(c, v, vn);
        if (idx < 0)
            goto oom;
        snprintf(str, (size_t)num, "%.*s=%c%ld\n", (int)nn, name, STANDIN, idx);
        return str;
    }
verbatim:
    memcpy(str, l, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
oom:
    ini_fail(c, -ENOMEM, "out of memory");
    snprintf(str, (size_t)num, "#\n");
    return str;
}

static const char *unstash(struct ini_ctx *c, const char *s)
{
    char *end;
    unsigned long idx;
    if (!s || s[0] != STANDIN)
        return s;
    idx = strtoul(s + 1, &end, 10);
    if (*end || idx >= c->n_stash)
        return s;
    return c->stash[idx];
}

/* The profile a section header names, or NULL for sections that are not
 * profiles ([sso-session x], [services x], [plugins]...). */
static char *section_profile(enum file_kind kind, const char *header)
{
    char *h = strdup(header), *p;
    if (!h)
        return NULL;
    str_trim(h);
    if (kind == FILE_CREDENTIALS)
        return h;
    if (strcmp(h, "default") == 0)
        return h;
    if (strncmp(h, "profile", 7) == 0 && (h[7] == ' ' || h[7] == '\t')) {
        p = h + 7;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && !strpbrk(p, " \t")) {
            memmove(h, p, strlen(p) + 1);
            return h;
        }
    }
    free(h);
    return NULL;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    const char *sec = unstash(c, section), *val = unstash(c, value);
    struct section *s;
    struct kv *kv;
    char *profile, *key;

    if (c->fail)
        return 1;
    if (!*sec)
        return ini_fail(c, -EINVAL, "setting outside of a [section]");
    key = strdup(name);
    if (!key)
        return ini_fail(c, -ENOMEM, "out of memory");
    str_lower(key);
    /* A continuation line ("key =" then indented lines) appends to the
     * value, as Python's configparser does. */
    if (c->line_indented && str_eq(c->last_section, sec) && str_eq(c->last_key, key)) {
        free(key);
        profile = section_profile(c->kind, sec);
        s = profile ? find_section(c->sh, profile, c->kind) : NULL;
        free(profile);
        kv = s ? sec_get(s, c->last_key) : NULL;
        if (kv) {
            char *joined = str_printf("%s\n%s", kv->value, val);
            if (!joined)
                return ini_fail(c, -ENOMEM, "out of memory");
            str_free_secret(kv->value);
            kv->value = joined;
        }
        return 1;
    }
    if (str_replace(&c->last_section, sec) < 0) {
        free(key);
        return ini_fail(c, -ENOMEM, "out of memory");
    }
    free(c->last_key);
    c->last_key = key;

    profile = section_profile(c->kind, sec);
    if (!profile)
        return 1;
    s = find_section(c->sh, profile, c->kind);
    if (!s) {
        struct section *ns = realloc(c->sh->secs, (c->sh->n_secs + 1) * sizeof(*ns));
        if (!ns) {
            free(profile);
            return ini_fail(c, -ENOMEM, "out of memory");
        }
        c->sh->secs = ns;
        s = &ns[c->sh->n_secs++];
        *s = (struct section){ .profile = profile, .kind = c->kind };
    } else {
        free(profile);
    }
    if (sec_get(s, key))
        return ini_fail(c, -EINVAL, "duplicate key '%s' in profile '%s'", key, s->profile);
    kv = realloc(s->kvs, (s->n_kvs + 1) * sizeof(*kv));
    if (!kv)
        return ini_fail(c, -ENOMEM, "out of memory");
    s->kvs = kv;
    kv = &s->kvs[s->n_kvs];
    kv->key = strdup(key);
    kv->value = strdup(val);
    kv->line = c->line;
    if (!kv->key || !kv->value) {
        free(kv->key);
        free(kv->value);
        return ini_fail(c, -ENOMEM, "out of memory");
    }
    s->n_kvs++;
    return 1;
}

static int load_file(struct shared *sh, enum file_kind kind, struct perr *err)
{
    const char *path = sh->path[kind];
    struct ini_ctx c = { .sh = sh, .kind = kind, .path = path, .err = err };
    char *data = NULL;
    size_t len = 0;
    int r, line = 1;

    if (!path)
        return 0;
    r = read_file(path, CREDS_MAX_FILE, &data, &len);
    if (r == -ENOENT)
        return 0;
    if (r == -EFBIG)
        return perr_set(err, r, "%s: larger than %d bytes", path, CREDS_MAX_FILE);
    if (r < 0)
        return perr_set(err, r, "%s: cannot read: %s", path, strerror(-r));
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\n')
            line++;
        else if ((ch < ' ' && ch != '\t' && ch != '\r') || ch == STANDIN) {
            r = perr_set(err, -EINVAL, "%s:%d: control character in file", path, line);
            goto out;
        }
    }
    c.data = data;
    c.len = len;
    r = ini_parse_stream(read_line, &c, on_key, &c);
    if (c.fail) {
        r = c.fail;
    } else if (r > 0) {
        r = perr_set(err, -EINVAL, "%s:%d: syntax error (expected [section] or key = value)", path,
                     r);
    } else if (r < 0) {
        r = perr_set(err, -ENOMEM, "%s: the INI parser failed", path);
    }
out:
    for (size_t i = 0; i < c.n_stash; i++)
        str_free_secret(c.stash[i]);
    free(c.stash);
    free(c.last_section);
    free(c.last_key);
    if (data) {
        explicit_bzero(data, len);
        free(data);
    }
    return r;
}

/* ---- the resolver ---- */

struct resolver {
    const struct creds_options *o;
    struct perr *err;
    struct shared sh;
    const char *visited[CREDS_MAX_CHAIN + 1];
    size_t n_visited;
    /* Roles collected from the top profile down to the source. */
    struct creds_assume_role roles[CREDS_MAX_CHAIN + 1];
    size_t n_roles;
};

static const char *env(const struct resolver *r, const char *name)
{
    return env_get(r->o->envp, name);
}

/* A key of a profile: the credentials file first, then the config file. */
static struct kv *prof_get(const struct resolver *r, const char *profile, const char *key,
                           enum file_kind *where)
{
    static const enum file_kind order[] = { FILE_CREDENTIALS, FILE_CONFIG };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        struct kv *kv = sec_get(find_section(&r->sh, profile, order[i]), key);
        if (kv) {
            if (where)
                *where = order[i];
            return kv;
        }
    }
    return NULL;
}

static const char *prof_value(const struct resolver *r, const char *profile, const char *key)
{
    struct kv *kv = prof_get(r, profile, key, NULL);
    return kv && *kv->value ? kv->value : NULL;
}

static bool profile_exists(const struct resolver *r, const char *profile)
{
    return find_section(&r->sh, profile, FILE_CONFIG) ||
           find_section(&r->sh, profile, FILE_CREDENTIALS);
}

/* Error at a key's file:line. */
static int fail_at(struct resolver *r, int code, const char *profile, const char *key,
                   const char *fmt, ...) PLUMB_PRINTF(5, 6);
static int fail_at(struct resolver *r, int code, const char *profile, const char *key,
                   const char *fmt, ...)
{
    char msg[400];
    enum file_kind where = FILE_CONFIG;
    struct kv *kv = prof_get(r, profile, key, &where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (kv)
        return perr_set(r->err, code, "%s:%d: %s", r->sh.path[where], kv->line, msg);
    return perr_set(r->err, code, "%s", msg);
}

static bool has_static(const struct resolver *r, const char *profile)
{
    return prof_get(r, profile, "aws_access_key_id", NULL) ||
           prof_get(r, profile, "aws_secret_access_key", NULL);
}

/* botocore: role_arn without web_identity_token_file means AssumeRole. */
static bool has_assume_role(const struct resolver *r, const char *profile)
{
    return prof_get(r, profile, "role_arn", NULL) &&
           !prof_get(r, profile, "web_identity_token_file", NULL);
}

static int expand_path(struct resolver *r, const char *var, const char *def, char **ret)
{
    const char *value = env(r, var), *home;
    bool is_default = value == NULL;

    *ret = NULL;
    if (!value)
        value = def;
    if (value[0] == '~' && value[1] == '/') {
        home = env(r, "HOME");
        if (!home) {
            if (is_default)
                return 0;
            return perr_set(r->err, -EINVAL, "%s: cannot expand '~' because HOME is not set", var);
        }
        *ret = str_printf("%s%s", home, value + 1);
    } else {
        *ret = strdup(value);
    }
    return *ret ? 0 : -ENOMEM;
}

static int load_shared(struct resolver *r)
{
    int k;
    k = expand_path(r, "AWS_CONFIG_FILE", "~/.aws/config", &r->sh.path[FILE_CONFIG]);
    if (k < 0)
        return k;
    k = expand_path(r, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials",
                    &r->sh.path[FILE_CREDENTIALS]);
    if (k < 0)
        return k;
    k = load_file(&r->sh, FILE_CONFIG, r->err);
    if (k < 0)
        return k;
    return load_file(&r->sh, FILE_CREDENTIALS, r->err);
}

/* Environment keys.  Returns 1 with *ret, 0 when not set, or an error. */
static int env_static(struct resolver *r, struct aws_credentials **ret)
{
    const char *akid = env(r, "AWS_ACCESS_KEY_ID"), *sk = env(r, "AWS_SECRET_ACCESS_KEY");
    const char *token = env(r, "AWS_SESSION_TOKEN"), *exp = env(r, "AWS_CREDENTIAL_EXPIRATION");
    int64_t exp_ms = 0;
    int k;

    if (!akid && !sk)
        return 0;
    if (!sk)
        return perr_set(r->err, -EINVAL,
                        "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    if (!akid)
        return perr_set(r->err, -EINVAL,
                        "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    if (!token)
        token = env(r, "AWS_SECURITY_TOKEN");
    if (exp && time_parse_iso8601(exp, &exp_ms) < 0)
        return perr_set(r->err, -EINVAL, "AWS_CREDENTIAL_EXPIRATION: not an ISO 8601 time");
    k = aws_credentials_new(akid, sk, token, exp_ms, "env", ret);
    return k < 0 ? k : 1;
}

/* Keys of one profile in one file.  Returns 1, 0 or an error. */
static int file_static(struct resolver *r, const char *profile, enum file_kind kind,
                       struct aws_credentials **ret)
{
    const struct section *s = find_section(&r->sh, profile, kind);
    const struct kv *akid = sec_get(s, "aws_access_key_id");
    const struct kv *sk = sec_get(s, "aws_secret_access_key");
    const struct kv *token = sec_get(s, "aws_session_token");
    char *label;
    int k;

    if (!akid && !sk)
        return 0;
    if (!token)
        token = sec_get(s, "aws_security_token");
    if (!sk || !*sk->value)
        return perr_set(r->err, -EINVAL,
                        "%s:%d: profile '%s' has aws_access_key_id but no aws_secret_access_key",
                        r->sh.path[kind], akid->line, profile);
    if (!akid || !*akid->value)
        return perr_set(r->err, -EINVAL,
                        "%s:%d: profile '%s' has aws_secret_access_key but no aws_access_key_id",
                        r->sh.path[kind], sk->line, profile);
    label = str_printf("profile:%s (%s)", profile, file_label[kind]);
    if (!label)
        return -ENOMEM;
    k = aws_credentials_new(akid->value, sk->value, token ? token->value : NULL, 0, label, ret);
    free(label);
    return k < 0 ? k : 1;
}

static int set_str(char **dst, const char *src)
{
    return str_replace(dst, src);
}

/* Role session names: 2-64 of [\w+=,.@-] (the STS constraint). */
static bool session_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_+=,.@-", *s))
            return false;
    return true;
}

static char *default_session_name(const struct resolver *r)
{
    return str_printf(CREDS_DEFAULT_ROLE_PREFIX "%lld", (long long)(r->o->now_ms / 1000));
}

/* Web identity from the environment (unless use_env is false) and/or the
 * profile.  Returns 1 with the plan filled, 0 when not configured. */
static int web_identity(struct resolver *r, struct creds_plan *plan, const char *profile,
                        bool use_env)
{
    const char *file = use_env ? env(r, "AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
    const char *arn = use_env ? env(r, "AWS_ROLE_ARN") : NULL;
    const char *session = use_env ? env(r, "AWS_ROLE_SESSION_NAME") : NULL;
    bool from_env = file != NULL;

    if (!file && profile)
        file = prof_value(r, profile, "web_identity_token_file");
    if (!file)
        return 0;
    if (!arn && profile)
        arn = prof_value(r, profile, "role_arn");
    if (!session && profile)
        session = prof_value(r, profile, "role_session_name");
    if (!arn)
        return perr_set(r->err, -EINVAL,
                        "web identity token file configured (%s) but no role: set AWS_ROLE_ARN "
                        "or role_arn",
                        from_env ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "web_identity_token_file");
    if (!str_has_prefix(arn, "arn:"))
        return perr_set(r->err, -EINVAL, "web identity role '%s' is not an ARN", arn);
    if (session && !session_name_ok(session))
        return perr_set(r->err, -EINVAL,
                        "role session name must be 2-64 characters of letters, digits and "
                        "_+=,.@-");
    plan->source = CREDS_SOURCE_WEB_IDENTITY;
    if (set_str(&plan->web_identity.token_file, file) < 0 ||
        set_str(&plan->web_identity.role_arn, arn) < 0)
        return -ENOMEM;
    plan->web_identity.session_name = session ? strdup(session) : default_session_name(r);
    if (!plan->web_identity.session_name)
        return -ENOMEM;
    return 1;
}

static bool host_allowed_for_http(const char *host)
{
    static const char *const allowed[] = { "169.254.170.2", "169.254.170.23", "fd00:ec2::23",
                                           "localhost" };
    char h[64];
    size_t n = strlen(host);
    struct in_addr a4;
    struct in6_addr a6;

    if (host[0] == '[' && n > 2 && n - 2 < sizeof(h)) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
    } else if (n < sizeof(h)) {
        memcpy(h, host, n + 1);
    } else {
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
        if (strcasecmp(h, allowed[i]) == 0)
            return true;
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* Validate an http(s) URL with curl's parser; *ret_http tells the scheme
 * and *ret_host receives the host (curl_free'd by the caller). */
static int check_url(struct resolver *r, const char *var, const char *value, bool *ret_http,
                     char **ret_host)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int k = 0;

    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, value, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        k = perr_set(r->err, -EINVAL, "%s: not a valid http or https URL", var);
        curl_free(host);
        host = NULL;
    } else {
        *ret_http = strcmp(scheme, "http") == 0;
        *ret_host = host;
    }
    curl_free(scheme);
    curl_url_cleanup(u);
    return k;
}

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* Container credentials.  Returns 1, 0 or an error. */
static int container(struct resolver *r, struct creds_plan *plan)
{
    const char *rel = env(r, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env(r, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *token = env(r, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const char *token_file = env(r, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    char *url = NULL, *host = NULL;
    bool http = false;
    int k;

    if (!rel && !full)
        return 0;
    if (rel) {
        if (rel[0] != '/')
            return perr_set(r->err, -EINVAL,
                            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
        url = str_printf("%s%s", CREDS_CONTAINER_HOST, rel);
        if (!url)
            return -ENOMEM;
        k = check_url(r, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", url, &http, &host);
    } else {
        url = strdup(full);
        if (!url)
            return -ENOMEM;
        k = check_url(r, "AWS_CONTAINER_CREDENTIALS_FULL_URI", full, &http, &host);
        if (k == 0 && http && !host_allowed_for_http(host))
            k = perr_set(r->err, -EINVAL,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is only allowed to a "
                         "loopback address or the ECS/EKS endpoints; use https");
    }
    curl_free(host);
    if (k < 0) {
        free(url);
        return k;
    }
    if (token && has_line_break(token)) {
        free(url);
        return perr_set(r->err, -EINVAL, "AWS_CONTAINER_AUTHORIZATION_TOKEN contains a line break");
    }
    plan->source = CREDS_SOURCE_CONTAINER;
    plan->container.url = url;
    if ((token && set_str(&plan->container.token, token) < 0) ||
        (token_file && set_str(&plan->container.token_file, token_file) < 0))
        return -ENOMEM;
    return 1;
}

/* IMDSv2.  Returns 1, 0 (disabled) or an error. */
static int imds(struct resolver *r, struct creds_plan *plan)
{
    const char *disabled = env(r, "AWS_EC2_METADATA_DISABLED");
    const char *ep = env(r, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = env(r, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    bool off = false, http;
    char *host = NULL;
    size_t n;
    int k;

    if (disabled && parse_bool(disabled, &off) < 0)
        return perr_set(r->err, -EINVAL, "AWS_EC2_METADATA_DISABLED: expected true or false");
    if (off)
        return 0;
    if (ep) {
        k = check_url(r, "AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, &http, &host);
        curl_free(host);
        if (k < 0)
            return k;
    } else if (!mode || strcasecmp(mode, "IPv4") == 0) {
        ep = CREDS_IMDS_ENDPOINT_IPV4;
    } else if (strcasecmp(mode, "IPv6") == 0) {
        ep = CREDS_IMDS_ENDPOINT_IPV6;
    } else {
        return perr_set(r->err, -EINVAL,
                        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: expected IPv4 or IPv6");
    }
    n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/')
        n--;
    plan->source = CREDS_SOURCE_IMDS;
    plan->imds.endpoint = str_ndup(ep, n);
    return plan->imds.endpoint ? 1 : -ENOMEM;
}

/* What botocore calls the profile providers: web identity, IAM Identity
 * Center, keys in the credentials file, credential_process, keys in the
 * config file.  Returns 1, 0 or an error. */
static int profile_providers(struct resolver *r, struct creds_plan *plan, const char *profile,
                             bool use_env)
{
    int k = web_identity(r, plan, profile, use_env);
    if (k != 0 || !profile)
        return k;
    if (prof_get(r, profile, "sso_session", NULL) || prof_get(r, profile, "sso_start_url", NULL))
        return fail_at(r, -ENOTSUP, profile,
                       prof_get(r, profile, "sso_session", NULL) ? "sso_session" : "sso_start_url",
                       "profile '%s' uses IAM Identity Center (sso_*), which plumb does not "
                       "support; configure a role or keys",
                       profile);
    k = file_static(r, profile, FILE_CREDENTIALS, &plan->creds);
    if (k != 0)
        return k;
    if (prof_get(r, profile, "credential_process", NULL))
        return fail_at(r, -ENOTSUP, profile, "credential_process",
                       "profile '%s' uses credential_process, which plumb does not support",
                       profile);
    return file_static(r, profile, FILE_CONFIG, &plan->creds);
}

static int role_step(struct resolver *r, const char *profile, struct creds_assume_role *role,
                     const char **ret_source_profile, const char **ret_credential_source)
{
    const char *arn = prof_value(r, profile, "role_arn");
    const char *src = prof_value(r, profile, "source_profile");
    const char *cs = prof_value(r, profile, "credential_source");
    const char *ext = prof_value(r, profile, "external_id");
    const char *session = prof_value(r, profile, "role_session_name");
    const char *duration = prof_value(r, profile, "duration_seconds");

    if (!arn || !str_has_prefix(arn, "arn:"))
        return fail_at(r, -EINVAL, profile, "role_arn", "role_arn of profile '%s' is not an ARN",
                       profile);
    if (src && cs)
        return fail_at(r, -EINVAL, profile, "credential_source",
                       "profile '%s' has both source_profile and credential_source", profile);
    if (!src && !cs)
        return fail_at(r, -EINVAL, profile, "role_arn",
                       "profile '%s' has role_arn but neither source_profile nor "
                       "credential_source",
                       profile);
    if (prof_get(r, profile, "mfa_serial", NULL))
        return fail_at(r, -ENOTSUP, profile, "mfa_serial",
                       "profile '%s' needs an MFA code (mfa_serial), which a daemon cannot enter",
                       profile);
    if (session && !session_name_ok(session))
        return fail_at(r, -EINVAL, profile, "role_session_name",
                       "role_session_name must be 2-64 characters of letters, digits and "
                       "_+=,.@-");
    if (ext && (strlen(ext) < 2 || strlen(ext) > 1224))
        return fail_at(r, -EINVAL, profile, "external_id", "external_id must be 2-1224 characters");
    if (duration) {
        int64_t d;
        if (parse_int64(duration, &d) < 0 || d < 900 || d > 43200)
            return fail_at(r, -EINVAL, profile, "duration_seconds",
                           "duration_seconds must be a number of seconds from 900 to 43200");
        role->duration_s = (int32_t)d;
    }
    role->role_arn = strdup(arn);
    role->profile = strdup(profile);
    role->session_name = session ? strdup(session) : default_session_name(r);
    role->external_id = ext ? strdup(ext) : NULL;
    if (!role->role_arn || !role->profile || !role->session_name || (ext && !role->external_id))
        return -ENOMEM;
    *ret_source_profile = src;
    *ret_credential_source = cs;
    return 0;
}

static int credential_source(struct resolver *r, struct creds_plan *plan, const char *profile,
                             const char *cs)
{
    int k;
    if (strcmp(cs, "Environment") == 0) {
        k = env_static(r, &plan->creds);
        if (k == 0)
            return fail_at(r, -ENOENT, profile, "credential_source",
                           "credential_source Environment of profile '%s': AWS_ACCESS_KEY_ID "
                           "and AWS_SECRET_ACCESS_KEY are not set",
                           profile);
    } else if (strcmp(cs, "Ec2InstanceMetadata") == 0) {
        k = imds(r, plan);
        if (k == 0)
            return fail_at(r, -ENOENT, profile, "credential_source",
                           "credential_source Ec2InstanceMetadata of profile '%s', but "
                           "AWS_EC2_METADATA_DISABLED is set",
                           profile);
    } else if (strcmp(cs, "EcsContainer") == 0) {
        k = container(r, plan);
        if (k == 0)
            return fail_at(r, -ENOENT, profile, "credential_source",
                           "credential_source EcsContainer of profile '%s', but neither "
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
                           profile);
    } else {
        return fail_at(r, -EINVAL, profile, "credential_source",
                       "credential_source must be Environment, Ec2InstanceMetadata or "
                       "EcsContainer");
    }
    return k < 0 ? k : 1;
}

static bool visited(const struct resolver *r, const char *profile)
{
    for (size_t i = 0; i < r->n_visited; i++)
        if (strcmp(r->visited[i], profile) == 0)
            return true;
    return false;
}

static int loop_error(struct resolver *r, const char *profile, const char *src)
{
    struct buf b;
    buf_init(&b, 300);
    for (size_t i = 0; i < r->n_visited; i++)
        buf_appendf(&b, "%s -> ", r->visited[i]);
    buf_append_str(&b, src);
    fail_at(r, -EINVAL, profile, "source_profile", "source_profile loop: %s%s", buf_str(&b),
            b.len >= b.max ? "..." : "");
    buf_free(&b);
    return -EINVAL;
}

/* AssumeRole for profile, then its source, following source_profile. */
static int assume_role_chain(struct resolver *r, struct creds_plan *plan, const char *profile)
{
    const char *name = profile;
    int k;

    r->visited[r->n_visited++] = profile;
    for (;;) {
        const char *src = NULL, *cs = NULL;
        if (r->n_roles >= CREDS_MAX_CHAIN)
            return fail_at(r, -EINVAL, name, "source_profile",
                           "more than %d profiles chained through source_profile", CREDS_MAX_CHAIN);
        k = role_step(r, name, &r->roles[r->n_roles++], &src, &cs);
        if (k < 0)
            return k;
        if (cs)
            return credential_source(r, plan, name, cs);
        if (!profile_exists(r, src))
            return fail_at(r, -ENOENT, name, "source_profile",
                           "source_profile '%s' of profile '%s' does not exist", src, name);
        /* botocore: a profile may name itself to use its own keys; any
         * other repeat is a loop. */
        if (visited(r, src) && (strcmp(src, name) != 0 || !has_static(r, src)))
            return loop_error(r, name, src);
        if (!visited(r, src))
            r->visited[r->n_visited++] = src;
        if (has_static(r, src) || !has_assume_role(r, src)) {
            k = profile_providers(r, plan, src, false);
            if (k == 0)
                return fail_at(r, -ENOENT, name, "source_profile",
                               "source profile '%s' of profile '%s' has no credentials", src, name);
            return k;
        }
        name = src;
    }
}

static int describe(struct creds_plan *plan)
{
    struct buf b;
    int k = 0;

    buf_init(&b, 4096);
    switch (plan->source) {
    case CREDS_SOURCE_STATIC:
        k = buf_appendf(&b, "static keys from %s", plan->creds->source);
        break;
    case CREDS_SOURCE_WEB_IDENTITY:
        k = buf_appendf(&b, "web identity token %s for %s", plan->web_identity.token_file,
                        plan->web_identity.role_arn);
        break;
    case CREDS_SOURCE_CONTAINER:
        k = buf_appendf(&b, "container credentials from %s%s", plan->container.url,
                        plan->container.token_file ? " (token from file)"
                        : plan->container.token    ? " (token)"
                                                   : "");
        break;
    case CREDS_SOURCE_IMDS:
        k = buf_appendf(&b, "instance metadata (IMDSv2) at %s", plan->imds.endpoint);
        break;
    }
    for (size_t i = 0; k == 0 && i < plan->n_roles; i++)
        k = buf_appendf(&b, " -> assume role %s (profile:%s)", plan->roles[i].role_arn,
                        plan->roles[i].profile);
    if (k == 0 && plan->region)
        k = buf_appendf(&b, "; STS region %s", plan->region);
    /* The description is informative; a long chain is cut, not an error. */
    if (k < 0 && k != -E2BIG) {
        buf_free(&b);
        return k;
    }
    plan->description = buf_steal(&b, NULL);
    if (!plan->description)
        return -ENOMEM;

    if (plan->n_roles > 0)
        plan->label =
            str_printf("profile:%s (assume role %s)", plan->roles[plan->n_roles - 1].profile,
                       plan->roles[plan->n_roles - 1].role_arn);
    else if (plan->source == CREDS_SOURCE_STATIC)
        plan->label = strdup(plan->creds->source);
    else if (plan->source == CREDS_SOURCE_WEB_IDENTITY)
        plan->label = plan->profile ? str_printf("profile:%s (web identity)", plan->profile)
                                    : strdup("web identity");
    else
        plan->label = strdup(plan->source == CREDS_SOURCE_CONTAINER ? "container" : "imds");
    return plan->label ? 0 : -ENOMEM;
}

static void role_clear(struct creds_assume_role *role)
{
    free(role->role_arn);
    free(role->session_name);
    free(role->external_id);
    free(role->profile);
    memset(role, 0, sizeof(*role));
}

struct creds_plan *creds_plan_free(struct creds_plan *p)
{
    if (!p)
        return NULL;
    aws_credentials_free(p->creds);
    free(p->web_identity.role_arn);
    free(p->web_identity.session_name);
    free(p->web_identity.token_file);
    free(p->container.url);
    str_free_secret(p->container.token);
    free(p->container.token_file);
    free(p->imds.endpoint);
    for (size_t i = 0; i < p->n_roles; i++)
        role_clear(&p->roles[i]);
    free(p->roles);
    free(p->region);
    free(p->profile);
    free(p->label);
    free(p->description);
    free(p);
    return NULL;
}

static int resolve(struct resolver *r, struct creds_plan *plan)
{
    const struct creds_options *o = r->o;
    const char *profile = o->profile && *o->profile ? o->profile : NULL;
    const char *region = env(r, "AWS_REGION");
    bool explicit_profile = profile != NULL, named;
    int k;

    if (!profile)
        profile = env(r, "AWS_PROFILE");
    if (!profile)
        profile = env(r, "AWS_DEFAULT_PROFILE");
    named = profile != NULL;
    if (!profile)
        profile = "default";
    if (!region)
        region = env(r, "AWS_DEFAULT_REGION");

    /* The files are read even when the environment answers, as botocore
     * does: a broken file or a misspelt profile is reported now, not when
     * the keys are rotated away. */
    k = load_shared(r);
    if (k < 0)
        return k;
    if (!profile_exists(r, profile)) {
        if (named)
            return perr_set(r->err, -ENOENT, "profile '%s' not found in %s or %s", profile,
                            r->sh.path[FILE_CONFIG] ? r->sh.path[FILE_CONFIG] : "~/.aws/config",
                            r->sh.path[FILE_CREDENTIALS] ? r->sh.path[FILE_CREDENTIALS]
                                                         : "~/.aws/credentials");
        profile = NULL;
    }
    if (!region && profile)
        region = prof_value(r, profile, "region");
    if (!explicit_profile) {
        k = env_static(r, &plan->creds);
        if (k != 0)
            goto done;
    }
    if (profile && set_str(&plan->profile, profile) < 0)
        return -ENOMEM;

    if (profile && has_assume_role(r, profile)) {
        k = assume_role_chain(r, plan, profile);
        goto done;
    }
    /* An explicit profile also turns off the web identity variables
     * (botocore's disable_env_vars). */
    k = profile_providers(r, plan, profile, !explicit_profile);
    if (k != 0)
        goto done;
    k = container(r, plan);
    if (k != 0)
        goto done;
    k = imds(r, plan);
    if (k == 0)
        return perr_set(r->err, -ENOENT,
                        "no AWS credentials: none in the environment, %s, no container "
                        "credentials, and instance metadata is disabled "
                        "(AWS_EC2_METADATA_DISABLED)",
                        profile ? "no usable keys or role in the profile" : "no profile");
done:
    if (k < 0)
        return k;
    if (region && set_str(&plan->region, region) < 0)
        return -ENOMEM;
    if (plan->creds)
        plan->source = CREDS_SOURCE_STATIC;
    /* Roles were collected from the top profile down; execute bottom up. */
    if (r->n_roles > 0) {
        plan->roles = calloc(r->n_roles, sizeof(*plan->roles));
        if (!plan->roles)
            return -ENOMEM;
        for (size_t i = 0; i < r->n_roles; i++) {
            plan->roles[i] = r->roles[r->n_roles - 1 - i];
            memset(&r->roles[r->n_roles - 1 - i], 0, sizeof(r->roles[0]));
        }
        plan->n_roles = r->n_roles;
        r->n_roles = 0;
    }
    return describe(plan);
}

int creds_resolve(const struct creds_options *o, struct creds_plan **ret, struct perr *err)
{
    struct resolver r = { .o = o, .err = err };
    struct creds_plan *plan;
    int k;

    if (!o)
        return perr_set(err, -EINVAL, "creds: no options");
    plan = calloc(1, sizeof(*plan));
    if (!plan)
        return -ENOMEM;
    k = resolve(&r, plan);
    for (size_t i = 0; i < r.n_roles; i++)
        role_clear(&r.roles[i]);
    shared_free(&r.sh);
    if (k < 0) {
        creds_plan_free(plan);
        return k;
    }
    *ret = plan;
    return 0;
}

/* ---- parsers ---- */

static int from_fields(const json_t *obj, const char *token_key, bool sts, const char *source,
                       struct aws_credentials **ret, struct perr *err)
{
    const char *what = source && *source ? source : "credentials";
    const json_t *akid = json_object_get(obj, "AccessKeyId");
    const json_t *sk = json_object_get(obj, "SecretAccessKey");
    const json_t *tok = json_object_get(obj, token_key);
    const json_t *exp = json_object_get(obj, "Expiration");
    int64_t exp_ms = 0;
    int k;

    if (!json_is_object(obj))
        return perr_set(err, -EINVAL, "%s: credentials are not a JSON object", what);
    if (!json_is_string(akid) || !*json_string_value(akid))
        return perr_set(err, -EINVAL, "%s: no AccessKeyId", what);
    if (!json_is_string(sk) || !*json_string_value(sk))
        return perr_set(err, -EINVAL, "%s: no SecretAccessKey", what);
    if (tok && !json_is_null(tok) && !json_is_string(tok))
        return perr_set(err, -EINVAL, "%s: %s is not a string", what, token_key);
    if (sts && (!json_is_string(tok) || !*json_string_value(tok)))
        return perr_set(err, -EINVAL, "%s: no %s", what, token_key);
    if (json_is_string(tok) && has_line_break(json_string_value(tok)))
        return perr_set(err, -EINVAL, "%s: %s contains a line break", what, token_key);
    if (exp && !json_is_null(exp)) {
        if (json_is_string(exp)) {
            if (time_parse_iso8601(json_string_value(exp), &exp_ms) < 0)
                return perr_set(err, -EINVAL, "%s: Expiration is not an ISO 8601 time", what);
        } else if (json_is_integer(exp) && json_integer_value(exp) > 0 &&
                   json_integer_value(exp) < INT64_MAX / 1000) {
            exp_ms = (int64_t)json_integer_value(exp) * 1000;
        } else {
            return perr_set(err, -EINVAL, "%s: Expiration is not a time", what);
        }
    } else if (sts) {
        return perr_set(err, -EINVAL, "%s: no Expiration", what);
    }
    k = aws_credentials_new(json_string_value(akid), json_string_value(sk),
                            json_is_string(tok) ? json_string_value(tok) : NULL, exp_ms, source,
                            ret);
    return k;
}

int creds_parse_document(const char *body, size_t len, const char *source,
                         struct aws_credentials **ret, struct perr *err)
{
    const char *what = source && *source ? source : "credentials";
    json_error_t jerr;
    json_t *doc, *code;
    int k;

    if (len > CREDS_MAX_DOCUMENT)
        return perr_set(err, -E2BIG, "%s: credential document larger than %d bytes", what,
                        CREDS_MAX_DOCUMENT);
    doc = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    /* jansson's message can quote the input, which holds the secret: only
     * the position is reported. */
    if (!doc)
        return perr_set(err, -EINVAL,
                        "%s: credential document is not valid JSON (line %d, column %d)", what,
                        jerr.line, jerr.column);
    code = json_object_get(doc, "Code");
    if (code && (!json_is_string(code) || strcmp(json_string_value(code), "Success") != 0)) {
        const char *c = json_is_string(code) ? json_string_value(code) : "";
        bool printable = strlen(c) <= 64;
        for (const char *p = c; printable && *p; p++)
            printable = isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-';
        k = perr_set(err, -EINVAL, "%s: credential document has Code %s", what,
                     printable && *c ? c : "(not a simple string)");
    } else {
        k = from_fields(doc, "Token", false, source, ret, err);
    }
    json_decref(doc);
    return k;
}

int creds_from_sts(const json_t *credentials, const char *source, struct aws_credentials **ret,
                   struct perr *err)
{
    return from_fields(credentials, "SessionToken", true, source, ret, err);
}

int creds_read_token_file(const char *path, char **ret, struct perr *err)
{
    char *data = NULL;
    size_t len = 0;
    int k;

    k = read_file(path, CREDS_MAX_TOKEN_FILE, &data, &len);
    if (k == -EFBIG)
        return perr_set(err, k, "%s: token file larger than %d bytes", path, CREDS_MAX_TOKEN_FILE);
    if (k < 0)
        return perr_set(err, k, "%s: cannot read token file: %s", path, strerror(-k));
    if (strlen(data) != len) {
        k = perr_set(err, -EINVAL, "%s: token file contains a NUL byte", path);
        goto fail;
    }
    str_trim(data);
    if (!*data) {
        k = perr_set(err, -EINVAL, "%s: token file is empty", path);
        goto fail;
    }
    for (const char *p = data; *p; p++) {
        if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f) {
            k = perr_set(err, -EINVAL, "%s: token file contains control characters", path);
            goto fail;
        }
    }
    *ret = data;
    return 0;
fail:
    explicit_bzero(data, len);
    free(data);
    return k;
}

/* ---- refresh policy ---- */

int64_t creds_refresh_at(int64_t expiration_ms, int64_t now_ms, uint32_t random)
{
    int64_t margin, t;
    if (expiration_ms == 0)
        return INT64_MAX;
    margin = CREDS_REFRESH_MIN_MS +
             (int64_t)((uint64_t)random * (uint64_t)CREDS_REFRESH_JITTER_MS / UINT32_MAX);
    t = expiration_ms - margin;
    return t > now_ms ? t : now_ms;
}

bool creds_usable(const struct aws_credentials *c, int64_t now_ms)
{
    return c && (c->expiration_ms == 0 || now_ms < c->expiration_ms - CREDS_USABLE_MARGIN_MS);
}
