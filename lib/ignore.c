#include "ignore.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

/* ---- patterns ---------------------------------------------------------- */

struct ignore_pattern {
    char *text;
    unsigned flags;
    size_t n;     /* literal pieces; a '*' sits between each two */
    char **piece; /* unescaped, NUL-terminated */
    size_t *len;
};

struct ignore_pattern *ignore_pattern_free(struct ignore_pattern *p)
{
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        free(p->piece[i]);
    free(p->piece);
    free(p->len);
    free(p->text);
    free(p);
    return NULL;
}

static int push_piece(struct ignore_pattern *p, struct buf *b)
{
    char **np = reallocarray(p->piece, p->n + 1, sizeof(*np));
    size_t *nl;
    size_t len = b->len;
    char *s;

    if (!np)
        return -ENOMEM;
    p->piece = np;
    nl = reallocarray(p->len, p->n + 1, sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    p->len = nl;
    s = buf_steal(b, NULL);
    if (!s)
        return -ENOMEM;
    p->piece[p->n] = s;
    p->len[p->n] = len;
    p->n++;
    return 0;
}

int ignore_pattern_compile(const char *text, unsigned flags, struct ignore_pattern **ret,
                           struct perr *err)
{
    struct ignore_pattern *p = NULL;
    struct buf b;
    int r = -ENOMEM;

    buf_init(&b, SIZE_MAX);
    if (!text || !*text)
        return perr_set(err, -EINVAL, "empty pattern");
    p = calloc(1, sizeof(*p));
    if (!p)
        goto fail;
    p->flags = flags;
    p->text = strdup(text);
    if (!p->text)
        goto fail;
    for (const char *c = text; *c; c++) {
        if (*c == '*') {
            r = push_piece(p, &b);
        } else if (*c == '\\') {
            if (!c[1]) {
                r = perr_set(err, -EINVAL,
                             "pattern \"%s\" ends with an unfinished escape: write a literal "
                             "backslash as \"\\\\\"",
                             text);
                goto fail;
            }
            r = buf_append_char(&b, *++c);
        } else {
            r = buf_append_char(&b, *c);
        }
        if (r < 0)
            goto fail;
    }
    r = push_piece(p, &b);
    if (r < 0)
        goto fail;
    *ret = p;
    return 0;
fail:
    buf_free(&b);
    ignore_pattern_free(p);
    return r;
}

const char *ignore_pattern_text(const struct ignore_pattern *p)
{
    return p->text;
}

bool ignore_pattern_is_literal(const struct ignore_pattern *p)
{
    return p->n == 1;
}

static bool same(const char *a, const char *b, size_t n, bool icase)
{
    return icase ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

/* Leftmost occurrence of needle in [s, end), or NULL. */
static const char *find(const char *s, const char *end, const char *needle, size_t n, bool icase)
{
    if (!icase)
        return memmem(s, (size_t)(end - s), needle, n);
    for (; (size_t)(end - s) >= n; s++)
        if (same(s, needle, n, true))
            return s;
    return NULL;
}

/* With '*' the only wildcard, taking every middle piece at its leftmost
 * place between a fixed prefix and suffix is enough to decide a match. */
bool ignore_pattern_match(const struct ignore_pattern *p, const char *s)
{
    bool icase = p->flags & IGNORE_PATTERN_ICASE;
    size_t slen, first, last;
    const char *cur, *end;

    if (!s)
        return false;
    slen = strlen(s);
    if (p->n == 1)
        return slen == p->len[0] && same(s, p->piece[0], slen, icase);
    first = p->len[0];
    last = p->len[p->n - 1];
    if (slen < first + last || !same(s, p->piece[0], first, icase) ||
        !same(s + slen - last, p->piece[p->n - 1], last, icase))
        return false;
    cur = s + first;
    end = s + slen - last;
    for (size_t i = 1; i + 1 < p->n; i++) {
        const char *at = find(cur, end, p->piece[i], p->len[i], icase);
        if (!at)
            return false;
        cur = at + p->len[i];
    }
    return true;
}

/* ---- attribute paths ---------------------------------------------------- */

/* Decode the JSON string starting at *pp (on its opening quote) and move
 * *pp past the closing quote. */
static int decode_json_key(const char **pp, char **ret)
{
    const char *start = *pp, *c = start + 1;
    json_t *j;
    int r;

    while (*c && *c != '"') {
        if (*c == '\\' && c[1])
            c++;
        c++;
    }
    if (*c != '"')
        return -EINVAL;
    j = json_loadb(start, (size_t)(c - start) + 1, JSON_DECODE_ANY, NULL);
    if (!json_is_string(j)) {
        json_decref(j);
        return -EINVAL;
    }
    *ret = strdup(json_string_value(j));
    r = *ret ? 0 : -ENOMEM;
    json_decref(j);
    *pp = c + 1;
    return r;
}

int ignore_path_split(const char *path, char ***ret)
{
    char **v = strv_new(), *elem = NULL;
    const char *c = path;
    int r = -ENOMEM;

    if (!v)
        return -ENOMEM;
    if (!path || !*path)
        goto invalid;
    while (*c) {
        if (*c == '[') {
            c++;
            if (*c == '"') {
                r = decode_json_key(&c, &elem);
                if (r < 0)
                    goto fail;
            } else {
                size_t n = strspn(c, "0123456789");
                if (n == 0)
                    goto invalid;
                elem = str_ndup(c, n);
                if (!elem)
                    goto fail;
                c += n;
            }
            if (*c != ']')
                goto invalid;
            c++;
        } else {
            size_t n = strcspn(c, ".[");
            /* A name must start the path or follow a dot. */
            if (n == 0 || (c != path && c[-1] != '.'))
                goto invalid;
            elem = str_ndup(c, n);
            if (!elem)
                goto fail;
            c += n;
        }
        r = strv_consume(&v, elem);
        if (r < 0)
            goto fail;
        elem = NULL;
        if (*c == '.') {
            c++;
            if (!*c || *c == '.' || *c == '[')
                goto invalid;
        } else if (*c && *c != '[') {
            goto invalid;
        }
    }
    *ret = v;
    return 0;
invalid:
    r = -EINVAL;
fail:
    free(elem);
    strv_free(v);
    return r;
}

/* ---- rules -------------------------------------------------------------- */

struct ignore_rule {
    bool negate;
    struct ignore_pattern *type;
    struct ignore_pattern *id; /* NULL: any id */
    struct ignore_pattern **path;
    size_t n_path; /* 0: a rule on whole resources */
};

struct ignore_set {
    struct ignore_rule *rules;
    size_t n, cap;
};

static void rule_clear(struct ignore_rule *r)
{
    ignore_pattern_free(r->type);
    ignore_pattern_free(r->id);
    for (size_t i = 0; i < r->n_path; i++)
        ignore_pattern_free(r->path[i]);
    free(r->path);
    memset(r, 0, sizeof(*r));
}

int ignore_set_new(struct ignore_set **ret)
{
    *ret = calloc(1, sizeof(**ret));
    return *ret ? 0 : -ENOMEM;
}

struct ignore_set *ignore_set_free(struct ignore_set *set)
{
    if (!set)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        rule_clear(&set->rules[i]);
    free(set->rules);
    free(set);
    return NULL;
}

size_t ignore_set_size(const struct ignore_set *set)
{
    return set ? set->n : 0;
}

/* Split a rule on its unescaped dots, keeping the escapes (the pattern
 * compiler removes them). */
static int split_rule(const char *rule, char ***ret, struct perr *err)
{
    char **v = NULL, *s;
    const char *start = rule, *c = rule;
    int r;

    for (;; c++) {
        if (*c == '\\' && c[1]) {
            c++;
            continue;
        }
        if (*c != '.' && *c)
            continue;
        if (c == start) {
            strv_free(v);
            return perr_set(err, -EINVAL,
                            "\"%s\": empty element (a rule is TYPE.ID[.ATTRIBUTE...]; write a "
                            "dot inside an id as \"\\.\")",
                            rule);
        }
        s = str_ndup(start, (size_t)(c - start));
        r = s ? strv_consume(&v, s) : -ENOMEM;
        if (r < 0) {
            free(s);
            strv_free(v);
            return r;
        }
        if (!*c)
            break;
        start = c + 1;
    }
    *ret = v;
    return 0;
}

int ignore_set_add(struct ignore_set *set, const char *line, struct perr *err)
{
    struct ignore_rule rule = { 0 };
    char *text = strdup(line), *body, **parts = NULL;
    size_t n;
    int r;

    if (!text)
        return -ENOMEM;
    str_trim(text);
    if (!*text || *text == '#') {
        free(text);
        return 0;
    }
    body = text;
    if (*body == '!') {
        rule.negate = true;
        body++;
        if (!*body) {
            r = perr_set(err, -EINVAL, "\"!\" alone negates nothing (write !TYPE or !TYPE.ID)");
            goto fail;
        }
    }
    r = split_rule(body, &parts, err);
    if (r < 0)
        goto fail;
    n = strv_length(parts);
    if (!parts || n == 0) {
        r = -EINVAL; /* split_rule() never returns an empty list */
        goto fail;
    }
    r = ignore_pattern_compile(parts[0], 0, &rule.type, err);
    if (r >= 0 && n > 1)
        r = ignore_pattern_compile(parts[1], 0, &rule.id, err);
    if (r >= 0 && n > 2) {
        rule.path = calloc(n - 2, sizeof(*rule.path));
        if (!rule.path)
            r = -ENOMEM;
        for (size_t i = 2; r >= 0 && i < n; i++) {
            r = ignore_pattern_compile(parts[i], IGNORE_PATTERN_ICASE, &rule.path[i - 2], err);
            if (r >= 0)
                rule.n_path++;
        }
    }
    if (r < 0)
        goto fail;
    if (set->n == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 16;
        struct ignore_rule *nr = reallocarray(set->rules, ncap, sizeof(*nr));
        if (!nr) {
            r = -ENOMEM;
            goto fail;
        }
        set->rules = nr;
        set->cap = ncap;
    }
    set->rules[set->n++] = rule;
    strv_free(parts);
    free(text);
    return 0;
fail:
    rule_clear(&rule);
    strv_free(parts);
    free(text);
    return r;
}

int ignore_parse(const char *name, const char *text, size_t len, struct ignore_set **ret,
                 struct perr *err)
{
    struct ignore_set *set = NULL;
    size_t pos = 0;
    unsigned lineno = 0;
    int r;

    if (!name)
        name = ".driftignore";
    r = ignore_set_new(&set);
    if (r < 0)
        return r;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *line;

        lineno++;
        if (memchr(text + pos, '\0', l)) {
            r = perr_set(err, -EINVAL, "%s:%u: the line contains a NUL byte", name, lineno);
            goto fail;
        }
        line = str_ndup(text + pos, l);
        if (!line) {
            r = -ENOMEM;
            goto fail;
        }
        r = ignore_set_add(set, line, err);
        free(line);
        if (r == -EINVAL)
            perr_prefix(err, "%s:%u: ", name, lineno);
        if (r < 0)
            goto fail;
        pos += l + 1;
    }
    *ret = set;
    return 0;
fail:
    ignore_set_free(set);
    return r;
}

int ignore_load(const char *path, struct ignore_set **ret, struct perr *err)
{
    char *text = NULL;
    size_t len = 0;
    int r;

    r = read_file(path, IGNORE_MAX_FILE_SIZE, &text, &len);
    if (r == -EFBIG)
        return perr_set(err, r, "%s: larger than %zu bytes, is it really a .driftignore?", path,
                        IGNORE_MAX_FILE_SIZE);
    if (r < 0)
        return perr_set(err, r, "%s: cannot read: %s", path, strerror(-r));
    r = ignore_parse(path, text, len, ret, err);
    free(text);
    return r;
}

/* ---- matching ------------------------------------------------------------ */

static bool rule_covers(const struct ignore_rule *rule, const char *type, const char *id)
{
    return ignore_pattern_match(rule->type, type) &&
           (!rule->id || ignore_pattern_match(rule->id, id));
}

bool ignore_resource(const struct ignore_set *set, const char *type, const char *id)
{
    if (!set || !type || !id)
        return false;
    for (size_t i = set->n; i-- > 0;) {
        const struct ignore_rule *rule = &set->rules[i];
        if (rule->n_path == 0 && rule_covers(rule, type, id))
            return !rule->negate;
    }
    return false;
}

bool ignore_attribute(const struct ignore_set *set, const char *type, const char *id,
                      const char *path)
{
    char **elems = NULL, *whole[2] = { NULL, NULL };
    char *const *e;
    size_t n;
    bool result = false;

    if (!set || !type || !id || !path)
        return false;
    /* A path the notation does not describe is one element; out of memory
     * leaves only the resource rules (drift is then reported, not hidden). */
    if (ignore_path_split(path, &elems) == -EINVAL) {
        whole[0] = (char *)path;
        e = whole;
    } else {
        e = elems;
    }
    n = strv_length(e);
    for (size_t i = set->n; i-- > 0;) {
        const struct ignore_rule *rule = &set->rules[i];
        bool hit;
        if (!rule_covers(rule, type, id))
            continue;
        hit = rule->n_path <= n;
        for (size_t k = 0; hit && k < rule->n_path; k++)
            hit = ignore_pattern_match(rule->path[k], e[k]);
        if (hit) {
            result = !rule->negate;
            break;
        }
    }
    strv_free(elems);
    return result;
}
