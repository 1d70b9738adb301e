#include "controls.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evaluate.h"
#include "util.h"

static const char *const severity_names[] = {
    [CONTROL_SEVERITY_LOW] = "low",
    [CONTROL_SEVERITY_MEDIUM] = "medium",
    [CONTROL_SEVERITY_HIGH] = "high",
    [CONTROL_SEVERITY_CRITICAL] = "critical",
};

const char *control_severity_name(enum control_severity s)
{
    if ((size_t)s >= ARRAY_SIZE(severity_names) || !severity_names[s])
        return "medium";
    return severity_names[s];
}

int control_severity_from_name(const char *name, enum control_severity *ret)
{
    for (size_t i = CONTROL_SEVERITY_LOW; i < ARRAY_SIZE(severity_names); i++)
        if (str_eq(name, severity_names[i])) {
            *ret = (enum control_severity)i;
            return 0;
        }
    return -EINVAL;
}

bool controls_nis2_ref_valid(const char *ref)
{
    return ref && strlen(ref) == 6 && str_has_prefix(ref, "21.2.") && ref[5] >= 'a' &&
           ref[5] <= 'j';
}

bool controls_dora_ref_valid(const char *ref)
{
    int64_t n;
    if (!ref || !str_has_prefix(ref, "Art ") || ref[4] == '0')
        return false;
    return parse_int64(ref + 4, &n) == 0 && n >= 1 && n <= 64;
}

char *controls_nis2_label(const char *ref)
{
    if (!controls_nis2_ref_valid(ref))
        return str_printf("NIS2 %s", ref ? ref : "?");
    return str_printf("NIS2 Art. 21(2)(%c)", ref[5]);
}

char *controls_dora_label(const char *ref)
{
    if (!controls_dora_ref_valid(ref))
        return str_printf("DORA %s", ref ? ref : "?");
    return str_printf("DORA Art. %s", ref + 4);
}

static struct control *control_free(struct control *c)
{
    if (!c)
        return NULL;
    free(c->id);
    free(c->title);
    free(c->description);
    strv_free(c->nis2);
    strv_free(c->nis2_cir);
    strv_free(c->dora);
    strv_free(c->proposed);
    strv_free(c->config_rule);
    strv_free(c->security_hub);
    strv_free(c->prowler);
    strv_free(c->references);
    free(c->remediation);
    free(c->scope);
    json_decref(c->parameters);
    evaluate_pred_free(c->evaluation);
    evaluate_pred_free(c->applies_if);
    evaluate_pred_free(c->warn_if);
    free(c->source);
    json_decref(c->definition);
    free(c);
    return NULL;
}

struct catalogue *controls_free(struct catalogue *cat)
{
    if (!cat)
        return NULL;
    for (size_t i = 0; i < cat->n; i++)
        control_free(cat->controls[i]);
    free(cat->controls);
    free(cat);
    return NULL;
}

const struct control *controls_find(const struct catalogue *cat, const char *id)
{
    for (size_t i = 0; i < cat->n; i++)
        if (str_eq(cat->controls[i]->id, id))
            return cat->controls[i];
    return NULL;
}

static struct control *find_mut(struct catalogue *cat, const char *id)
{
    return (struct control *)controls_find(cat, id);
}

size_t controls_count_enabled(const struct catalogue *cat)
{
    size_t n = 0;
    for (size_t i = 0; i < cat->n; i++)
        n += cat->controls[i]->enabled;
    return n;
}

/* ---- parsing one control ---- */

static const char *const known_fields[] = {
    "id",         "title",      "description", "severity",     "nis2",        "nis2_cir",
    "dora",       "proposed",   "config_rule", "security_hub", "prowler",     "scope",
    "evaluation", "applies_if", "warn_if",     "parameters",   "remediation", "references",
};

static const char *const proposable[] = { "nis2",         "dora",    "config_rule",
                                          "security_hub", "prowler", "severity" };

static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
              ch == '.'))
            return false;
    }
    return true;
}

static bool type_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}

static bool param_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
            return false;
    }
    return s[0] != '.' && s[n - 1] != '.';
}

/* Where a message about a control starts: "<file>: control '<id>': ". */
struct ctx {
    const char *file;
    const char *id; /* NULL until known */
    size_t index;
    struct perr *err;
};

static int fail(const struct ctx *x, const char *fmt, ...) PLUMB_PRINTF(2, 3);
static int fail(const struct ctx *x, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (x->id)
        return perr_set(x->err, -EINVAL, "%s: control '%s': %s", x->file, x->id, msg);
    return perr_set(x->err, -EINVAL, "%s: controls[%zu]: %s", x->file, x->index, msg);
}

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int get_string(const struct ctx *x, const json_t *o, const char *field, bool required,
                      char **ret)
{
    const json_t *v = json_object_get(o, field);
    if (!v) {
        if (required)
            return fail(x, "missing field '%s'", field);
        return 0;
    }
    if (!json_is_string(v))
        return fail(x, "field '%s': expected a string (got %s)", field, kind_of(v));
    if (required && json_string_length(v) == 0)
        return fail(x, "field '%s': must not be empty", field);
    *ret = strdup(json_string_value(v));
    return *ret ? 0 : -ENOMEM;
}

/* A list field: an array of non-empty strings; with allow_scalar also a
 * single string or null (for the cross-reference fields). */
static int get_strv(const struct ctx *x, const json_t *o, const char *field, bool required,
                    bool allow_scalar, char ***ret)
{
    const json_t *v = json_object_get(o, field);
    char **out = strv_new();
    size_t i;
    json_t *it;

    if (!out)
        return -ENOMEM;
    if (!v) {
        if (required) {
            strv_free(out);
            return fail(x, "missing field '%s'", field);
        }
    } else if (allow_scalar && json_is_null(v)) {
        /* no mapping */
    } else if (allow_scalar && json_is_string(v)) {
        if (json_string_length(v) == 0) {
            strv_free(out);
            return fail(x, "field '%s': must not be empty", field);
        }
        if (strv_push(&out, json_string_value(v)) < 0) {
            strv_free(out);
            return -ENOMEM;
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, it) {
            if (!json_is_string(it) || json_string_length(it) == 0) {
                strv_free(out);
                return fail(x, "field '%s': item %zu must be a non-empty string", field, i);
            }
            if (strv_push(&out, json_string_value(it)) < 0) {
                strv_free(out);
                return -ENOMEM;
            }
        }
    } else {
        strv_free(out);
        return fail(x, "field '%s': expected %s (got %s)", field,
                    allow_scalar ? "a string, an array of strings or null" : "an array of strings",
                    kind_of(v));
    }
    *ret = out;
    return 0;
}

static bool param_value_valid(const json_t *v)
{
    size_t i;
    json_t *it;
    if (json_is_number(v) || json_is_string(v) || json_is_boolean(v))
        return true;
    if (!json_is_array(v))
        return false;
    json_array_foreach (v, i, it) {
        if (!json_is_number(it) && !json_is_string(it))
            return false;
    }
    return true;
}

static int parse_control(const json_t *o, const char *file, size_t index, struct control **ret,
                         struct perr *err)
{
    struct ctx x = { file, NULL, index, err };
    struct control *c = NULL;
    const char *key;
    const json_t *v;
    char *sev = NULL;
    int e;

    if (!json_is_object(o))
        return fail(&x, "expected an object (got %s)", kind_of(o));
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->enabled = true;
    e = get_string(&x, o, "id", true, &c->id);
    if (e < 0)
        goto out;
    if (!id_valid(c->id)) {
        e = fail(&x,
                 "field 'id': '%s' is not a valid id (lower-case letters, digits, '-', "
                 "'_', '.'; at most 64)",
                 c->id);
        goto out;
    }
    x.id = c->id;
    json_object_foreach ((json_t *)o, key, v) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(known_fields); i++)
            known = known || str_eq(key, known_fields[i]);
        if (!known) {
            e = fail(&x, "unknown field '%s'", key);
            goto out;
        }
    }
    if ((e = get_string(&x, o, "title", true, &c->title)) < 0 ||
        (e = get_string(&x, o, "description", false, &c->description)) < 0 ||
        (e = get_string(&x, o, "severity", true, &sev)) < 0)
        goto out;
    if (control_severity_from_name(sev, &c->severity) < 0) {
        e = fail(&x, "field 'severity': '%s' is not one of critical, high, medium, low", sev);
        goto out;
    }
    if ((e = get_strv(&x, o, "nis2", true, false, &c->nis2)) < 0)
        goto out;
    for (size_t i = 0; c->nis2[i]; i++)
        if (!controls_nis2_ref_valid(c->nis2[i])) {
            e = fail(&x, "field 'nis2': '%s' is not an Art. 21(2) reference (21.2.a to 21.2.j)",
                     c->nis2[i]);
            goto out;
        }
    if ((e = get_strv(&x, o, "nis2_cir", false, false, &c->nis2_cir)) < 0 ||
        (e = get_strv(&x, o, "dora", true, false, &c->dora)) < 0)
        goto out;
    for (size_t i = 0; c->dora[i]; i++)
        if (!controls_dora_ref_valid(c->dora[i])) {
            e = fail(&x, "field 'dora': '%s' is not a DORA article (Art 1 to Art 64)", c->dora[i]);
            goto out;
        }
    v = json_object_get(o, "proposed");
    if (json_is_true(v)) {
        if (strv_push(&c->proposed, "nis2") < 0 || strv_push(&c->proposed, "dora") < 0) {
            e = -ENOMEM;
            goto out;
        }
    } else if (v && !json_is_false(v)) {
        if ((e = get_strv(&x, o, "proposed", false, false, &c->proposed)) < 0)
            goto out;
        for (size_t i = 0; c->proposed[i]; i++) {
            bool ok = false;
            for (size_t j = 0; j < ARRAY_SIZE(proposable); j++)
                ok = ok || str_eq(c->proposed[i], proposable[j]);
            if (!ok) {
                e = fail(&x,
                         "field 'proposed': '%s' is not one of nis2, dora, config_rule, "
                         "security_hub, prowler, severity",
                         c->proposed[i]);
                goto out;
            }
        }
    }
    if (!c->proposed && !(c->proposed = strv_new())) {
        e = -ENOMEM;
        goto out;
    }
    if ((e = get_strv(&x, o, "config_rule", true, true, &c->config_rule)) < 0 ||
        (e = get_strv(&x, o, "security_hub", true, true, &c->security_hub)) < 0 ||
        (e = get_strv(&x, o, "prowler", true, true, &c->prowler)) < 0 ||
        (e = get_string(&x, o, "scope", true, &c->scope)) < 0)
        goto out;
    if (str_eq(c->scope, "account")) {
        c->scope_kind = CONTROL_SCOPE_ACCOUNT;
    } else if (str_eq(c->scope, "region")) {
        c->scope_kind = CONTROL_SCOPE_REGION;
    } else if (type_name_valid(c->scope)) {
        c->scope_kind = CONTROL_SCOPE_RESOURCE;
    } else {
        e = fail(&x, "field 'scope': '%s' is not \"account\", \"region\" or a resource type",
                 c->scope);
        goto out;
    }
    if (!json_object_get(o, "evaluation")) {
        e = fail(&x, "missing field 'evaluation'");
        goto out;
    }
    v = json_object_get(o, "parameters");
    if (v) {
        const char *pk;
        const json_t *pv;
        if (!json_is_object(v)) {
            e = fail(&x, "field 'parameters': expected an object (got %s)", kind_of(v));
            goto out;
        }
        json_object_foreach ((json_t *)v, pk, pv) {
            if (!param_name_valid(pk)) {
                e = fail(&x, "field 'parameters': '%s' is not a valid parameter name", pk);
                goto out;
            }
            if (!param_value_valid(pv)) {
                e = fail(&x,
                         "field 'parameters': '%s' must be a number, string, boolean or array "
                         "of numbers/strings",
                         pk);
                goto out;
            }
        }
        pv = json_object_get(v, "scan_unused");
        if (pv && !json_is_boolean(pv)) {
            e = fail(&x, "field 'parameters': 'scan_unused' must be true or false");
            goto out;
        }
        c->parameters = json_deep_copy(v);
    } else {
        c->parameters = json_object();
    }
    if (!c->parameters) {
        e = -ENOMEM;
        goto out;
    }
    if ((e = get_string(&x, o, "remediation", true, &c->remediation)) < 0 ||
        (e = get_strv(&x, o, "references", true, false, &c->references)) < 0)
        goto out;
    c->source = strdup(file);
    c->definition = json_deep_copy(o);
    if (!c->source || !c->definition) {
        e = -ENOMEM;
        goto out;
    }
    e = 0;
out:
    free(sev);
    if (e < 0) {
        control_free(c);
        return e;
    }
    *ret = c;
    return 0;
}

/* ---- files ---- */

static int cat_put(struct catalogue *cat, struct control *c)
{
    struct control **nv;
    for (size_t i = 0; i < cat->n; i++)
        if (str_eq(cat->controls[i]->id, c->id)) {
            control_free(cat->controls[i]);
            cat->controls[i] = c;
            return 0;
        }
    nv = realloc(cat->controls, (cat->n + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    cat->controls = nv;
    cat->controls[cat->n++] = c;
    return 0;
}

static int load_file(struct catalogue *cat, const char *path, struct perr *err)
{
    char *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    json_error_t jerr;
    const json_t *arr, *v;
    const char *key;
    size_t i;
    int e;

    e = read_file(path, CONTROLS_FILE_MAX, &data, &len);
    if (e == -EFBIG)
        return perr_set(err, e, "%s: larger than %u bytes", path, CONTROLS_FILE_MAX);
    if (e < 0)
        return perr_set(err, e, "%s: %s", path, strerror(-e));
    doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    free(data);
    if (!doc)
        return perr_set(err, -EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(doc)) {
        e = perr_set(err, -EINVAL, "%s: expected an object with a \"controls\" array", path);
        goto out;
    }
    json_object_foreach (doc, key, v) {
        if (str_eq(key, "controls") || str_eq(key, "description"))
            continue;
        if (str_eq(key, "version")) {
            if (!json_is_integer(v) || json_integer_value(v) != 1) {
                e = perr_set(err, -EINVAL, "%s: unsupported version (this plumb reads version 1)",
                             path);
                goto out;
            }
            continue;
        }
        e = perr_set(err, -EINVAL, "%s: unknown top-level field '%s'", path, key);
        goto out;
    }
    arr = json_object_get(doc, "controls");
    if (!json_is_array(arr)) {
        e = perr_set(err, -EINVAL, "%s: expected an object with a \"controls\" array", path);
        goto out;
    }
    json_array_foreach (arr, i, v) {
        struct control *c = NULL;
        e = parse_control(v, path, i, &c, err);
        if (e < 0)
            goto out;
        /* Two controls with one id in one file is a mistake, not an
         * override. */
        for (size_t j = 0; j < i; j++) {
            const json_t *prev = json_object_get(json_array_get(arr, j), "id");
            if (str_eq(json_string_value(prev), c->id)) {
                e = perr_set(err, -EINVAL, "%s: control '%s': defined twice in this file", path,
                             c->id);
                control_free(c);
                goto out;
            }
        }
        e = cat_put(cat, c);
        if (e < 0) {
            control_free(c);
            goto out;
        }
    }
    e = 0;
out:
    json_decref(doc);
    return e;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct catalogue *cat, const char *path, struct perr *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = strv_new();
    int e = 0;

    if (!d) {
        e = -errno;
        strv_free(names);
        return perr_set(err, e, "%s: %s", path, strerror(-e));
    }
    if (!names) {
        closedir(d);
        return -ENOMEM;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".json"))
            continue;
        if (strv_push(&names, de->d_name) < 0) {
            e = -ENOMEM;
            break;
        }
    }
    closedir(d);
    if (e == 0)
        qsort(names, strv_length(names), sizeof(*names), name_cmp);
    for (size_t i = 0; e == 0 && names[i]; i++) {
        char *p = str_printf("%s/%s", path, names[i]);
        if (!p) {
            e = -ENOMEM;
            break;
        }
        e = load_file(cat, p, err);
        free(p);
    }
    strv_free(names);
    return e;
}

/* ---- overrides ---- */

static bool same_kind(const json_t *a, const json_t *b)
{
    if (json_is_number(a))
        return json_is_number(b);
    if (json_is_boolean(a))
        return json_is_boolean(b);
    if (json_is_string(a))
        return json_is_string(b);
    if (json_is_array(a)) {
        const json_t *proto = json_array_get(a, 0);
        size_t i;
        json_t *x;
        if (!json_is_array(b))
            return false;
        json_array_foreach (b, i, x) {
            if (proto ? !same_kind(proto, x) : !(json_is_string(x) || json_is_number(x)))
                return false;
        }
        return true;
    }
    return false;
}

static const char *kind_word(const json_t *v)
{
    if (json_is_number(v))
        return "a number";
    if (json_is_boolean(v))
        return "true or false";
    if (json_is_string(v))
        return "a string";
    if (json_is_array(v)) {
        const json_t *p = json_array_get(v, 0);
        return json_is_number(p) ? "an array of numbers" : "an array of strings";
    }
    return "a value";
}

static int set_param(struct control *c, const char *name, const json_t *v, const char *label,
                     struct perr *err)
{
    const json_t *dflt = json_object_get(c->parameters, name);
    if (!same_kind(dflt, v))
        return perr_set(err, -EINVAL, "params: '%s' must be %s (got %s)", label, kind_word(dflt),
                        kind_of(v));
    if (json_object_set(c->parameters, name, (json_t *)v) < 0)
        return -ENOMEM;
    return 0;
}

static int apply_overrides(struct catalogue *cat, const struct controls_overrides *ov,
                           struct perr *err)
{
    const char *key;
    const json_t *v;
    int e;

    if (!ov)
        return 0;
    for (size_t i = 0; ov->disable && ov->disable[i]; i++) {
        struct control *c = find_mut(cat, ov->disable[i]);
        if (!c)
            return perr_set(err, -EINVAL, "disable: unknown control '%s'", ov->disable[i]);
        c->enabled = false;
    }
    if (!ov->params)
        return 0;
    if (!json_is_object(ov->params))
        return perr_set(err, -EINVAL, "params: expected an object");
    /* Global names first, so that per-control values win. */
    json_object_foreach ((json_t *)ov->params, key, v) {
        bool used = false;
        if (find_mut(cat, key) && json_is_object(v))
            continue;
        for (size_t i = 0; i < cat->n; i++) {
            if (!json_object_get(cat->controls[i]->parameters, key))
                continue;
            used = true;
            e = set_param(cat->controls[i], key, v, key, err);
            if (e < 0)
                return e;
        }
        if (!used)
            return perr_set(err, -EINVAL, "params: unknown parameter '%s'", key);
    }
    json_object_foreach ((json_t *)ov->params, key, v) {
        struct control *c = find_mut(cat, key);
        const char *pk;
        const json_t *pv;
        if (!c || !json_is_object(v))
            continue;
        json_object_foreach ((json_t *)v, pk, pv) {
            char label[200];
            if (!json_object_get(c->parameters, pk))
                return perr_set(err, -EINVAL, "params: control '%s' has no parameter '%s'", key,
                                pk);
            snprintf(label, sizeof(label), "%s.%s", key, pk);
            e = set_param(c, pk, pv, label, err);
            if (e < 0)
                return e;
        }
    }
    return 0;
}

static int compile_control(struct control *c, struct perr *err)
{
    static const char *const fields[] = { "evaluation", "applies_if", "warn_if" };
    struct pred **dst[] = { &c->evaluation, &c->applies_if, &c->warn_if };

    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const json_t *def = json_object_get(c->definition, fields[i]);
        int e;
        if (!def)
            continue;
        e = evaluate_compile(def, c->parameters, fields[i], dst[i], err);
        if (e == -EINVAL)
            perr_prefix(err, "%s: control '%s': ", c->source, c->id);
        if (e < 0)
            return e;
    }
    return 0;
}

int controls_load(char *const *paths, const struct controls_overrides *ov, struct catalogue **ret,
                  struct perr *err)
{
    struct catalogue *cat = calloc(1, sizeof(*cat));
    int e = 0;

    if (!cat)
        return perr_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; paths && paths[i] && e == 0; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0) {
            e = -errno;
            perr_set(err, e, "%s: %s", paths[i], strerror(-e));
        } else if (S_ISDIR(st.st_mode)) {
            e = load_dir(cat, paths[i], err);
        } else {
            e = load_file(cat, paths[i], err);
        }
    }
    if (e == 0)
        e = apply_overrides(cat, ov, err);
    for (size_t i = 0; e == 0 && i < cat->n; i++)
        e = compile_control(cat->controls[i], err);
    if (e < 0) {
        if (e == -ENOMEM)
            perr_set(err, e, "out of memory");
        controls_free(cat);
        return e;
    }
    *ret = cat;
    return 0;
}
