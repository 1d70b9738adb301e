#include "runtime.h"

#include "dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plumb-config.h"
#include "util.h"

static int add_error(char ***errors, const char *msg)
{
    return errors ? strv_push(errors, msg) : 0;
}

const char *runtime_default_baseline(void)
{
    /* Uninstalled builds (tests, the demo) point PLUMB_DATADIR at etc/. */
    static char path[4096];
    const char *d = getenv("PLUMB_DATADIR");
    if (d && *d) {
        snprintf(path, sizeof(path), "%s/baseline", d);
        return path;
    }
    return PLUMB_DATADIR "/baseline";
}

/* Parameter values from plumb.conf are text; give them the JSON type the
 * control declares: numbers and booleans as such, "a, b" as a list. */
static json_t *param_value(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    char **items = NULL;
    if (v && !json_is_object(v))
        return v;
    json_decref(v);
    if (strchr(text, ',')) {
        json_t *a = json_array();
        if (!a || strv_split(text, ",", &items) < 0) {
            json_decref(a);
            return NULL;
        }
        for (size_t i = 0; items[i]; i++)
            json_array_append_new(a, json_string(items[i]));
        strv_free(items);
        return a;
    }
    return json_string(text);
}

static int load_catalogue(const struct config *cfg, struct catalogue **ret, struct perr *err)
{
    json_t *params = json_object();
    char **paths = NULL;
    struct controls_overrides ov = { 0 };
    int r = -ENOMEM;

    if (!params)
        goto out;
    for (size_t i = 0; cfg->baseline_params && cfg->baseline_params[i]; i++) {
        const char *kv = cfg->baseline_params[i];
        const char *eq = strchr(kv, '=');
        char *name = eq ? str_ndup(kv, (size_t)(eq - kv)) : NULL;
        json_t *v = eq ? param_value(eq + 1) : NULL;
        if (!name || !v || json_object_set_new(params, name, v) < 0) {
            free(name);
            goto out;
        }
        free(name);
    }
    /* The built-in baseline path follows PLUMB_DATADIR for uninstalled
     * runs. */
    for (size_t i = 0; cfg->baseline_paths && cfg->baseline_paths[i]; i++)
        if (strv_push(&paths, str_eq(cfg->baseline_paths[i], PLUMB_DATADIR "/baseline")
                                  ? runtime_default_baseline()
                                  : cfg->baseline_paths[i]) < 0)
            goto out;
    if (!paths && strv_push(&paths, runtime_default_baseline()) < 0)
        goto out;
    ov.disable = (const char *const *)cfg->baseline_disable;
    ov.params = params;
    r = controls_load(paths, &ov, ret, err);
    if (r < 0 && str_has_prefix(err->msg, "params: ")) {
        /* Point at the plumb.conf line of the parameter named in quotes. */
        const char *q = strchr(err->msg, '\'');
        size_t n = q ? strcspn(q + 1, "'") : 0;
        for (size_t i = 0; q && cfg->baseline_params && cfg->baseline_params[i]; i++) {
            const char *kv = cfg->baseline_params[i];
            if (strcspn(kv, "=") == n && strncmp(kv, q + 1, n) == 0) {
                perr_prefix(err, "%s:%d: [baseline] ", cfg->path ? cfg->path : "plumb.conf",
                            cfg->baseline_param_lines[i]);
                break;
            }
        }
    } else if (r < 0 && str_has_prefix(err->msg, "disable: ")) {
        perr_prefix(err, "%s: [baseline] ", cfg->path ? cfg->path : "plumb.conf");
    }
out:
    json_decref(params);
    strv_free(paths);
    if (r == -ENOMEM && err && !err->msg[0])
        perr_set(err, r, "out of memory");
    return r;
}

static int compile_exception(const struct config_exception *e, struct runtime_exception *out,
                             struct perr *err)
{
    char **parts = NULL;
    int r;

    out->cfg = e;
    if (str_has_prefix(e->match, "control:")) {
        const char *rest = e->match + 8;
        const char *colon = strchr(rest, ':');
        out->control = true;
        out->control_id = colon ? str_ndup(rest, (size_t)(colon - rest)) : strdup(rest);
        if (!out->control_id)
            return perr_set(err, -ENOMEM, "out of memory");
        if (!*out->control_id)
            return perr_set(err, -EINVAL, "match: '%s' names no control (control:ID[:RESOURCE])",
                            e->match);
        if (colon && colon[1])
            return ignore_pattern_compile(colon + 1, 0, &out->id, err);
        return 0;
    }
    /* TYPE.ID with driftignore escaping; the id may contain dots. */
    r = ignore_path_split(e->match, &parts);
    if (r < 0)
        return perr_set(err, r, "match: '%s' is not TYPE.ID", e->match);
    if (strv_length(parts) < 2) {
        strv_free(parts);
        return perr_set(err, -EINVAL,
                        "match: '%s' is not TYPE.ID (e.g. aws_s3_bucket.legacy-*) or "
                        "control:ID[:RESOURCE]",
                        e->match);
    }
    r = ignore_pattern_compile(parts[0], 0, &out->type, err);
    if (r == 0) {
        /* Everything after the first dot is the id. */
        const char *dot = e->match + strlen(parts[0]);
        r = ignore_pattern_compile(*dot == '.' ? dot + 1 : parts[1], 0, &out->id, err);
    }
    strv_free(parts);
    return r;
}

int runtime_load(const struct config *cfg, struct runtime **ret, struct perr *err,
                 char ***ret_errors)
{
    struct runtime *rt = calloc(1, sizeof(*rt));
    char **errors = NULL;
    struct perr e = { 0 };
    int r;

    if (!rt)
        return perr_set(err, -ENOMEM, "out of memory");
    rt->cfg = cfg;
    r = typemap_load_embedded(&rt->tm, &e);
    if (r < 0 && add_error(&errors, e.msg) < 0)
        goto oom;
    perr_clear(&e);
    r = load_catalogue(cfg, &rt->cat, &e);
    if (r < 0 && add_error(&errors, e.msg) < 0)
        goto oom;
    if (cfg->driftignore) {
        perr_clear(&e);
        r = ignore_load(cfg->driftignore, &rt->driftignore, &e);
        if (r < 0) {
            char *m = str_printf("driftignore: %s", e.msg);
            if (!m || add_error(&errors, m) < 0) {
                free(m);
                goto oom;
            }
            free(m);
        }
    }
    if (cfg->n_exceptions) {
        rt->exceptions = calloc(cfg->n_exceptions, sizeof(*rt->exceptions));
        if (!rt->exceptions)
            goto oom;
        rt->n_exceptions = cfg->n_exceptions;
    }
    for (size_t i = 0; i < cfg->n_exceptions; i++) {
        perr_clear(&e);
        if (compile_exception(&cfg->exceptions[i], &rt->exceptions[i], &e) < 0) {
            char *m = str_printf("%s:%d: [exception %s] %s", cfg->path ? cfg->path : "plumb.conf",
                                 cfg->exceptions[i].line, cfg->exceptions[i].name, e.msg);
            if (!m || add_error(&errors, m) < 0) {
                free(m);
                goto oom;
            }
            free(m);
        } else if (rt->exceptions[i].control && rt->cat &&
                   !controls_find(rt->cat, rt->exceptions[i].control_id)) {
            char *m = str_printf("%s:%d: [exception %s] match: unknown control '%s'",
                                 cfg->path ? cfg->path : "plumb.conf", cfg->exceptions[i].line,
                                 cfg->exceptions[i].name, rt->exceptions[i].control_id);
            if (!m || add_error(&errors, m) < 0) {
                free(m);
                goto oom;
            }
            free(m);
        }
    }
    if (dispatch_event_sinks(cfg, &rt->sinks, &rt->n_sinks) < 0)
        goto oom;
    if (errors && errors[0]) {
        perr_set(err, -EINVAL, "%s", errors[0]);
        if (ret_errors)
            *ret_errors = errors;
        else
            strv_free(errors);
        runtime_free(rt);
        return -EINVAL;
    }
    strv_free(errors);
    *ret = rt;
    return 0;
oom:
    strv_free(errors);
    runtime_free(rt);
    return perr_set(err, -ENOMEM, "out of memory");
}

struct runtime *runtime_free(struct runtime *rt)
{
    if (!rt)
        return NULL;
    typemap_free(rt->tm);
    controls_free(rt->cat);
    ignore_set_free(rt->driftignore);
    for (size_t i = 0; i < rt->n_exceptions; i++) {
        ignore_pattern_free(rt->exceptions[i].type);
        ignore_pattern_free(rt->exceptions[i].id);
        free(rt->exceptions[i].control_id);
    }
    free(rt->exceptions);
    dispatch_event_sinks_free(rt->sinks, rt->n_sinks);
    free(rt);
    return NULL;
}

const char *runtime_exception_for(const struct runtime *rt, const char *type, const char *id,
                                  const char *control, int64_t now_ms)
{
    for (size_t i = 0; i < rt->n_exceptions; i++) {
        const struct runtime_exception *e = &rt->exceptions[i];
        if (e->cfg->expires_ms && e->cfg->expires_ms <= now_ms)
            continue;
        if (control) {
            if (!e->control || !str_eq(e->control_id, control))
                continue;
            if (e->id && !(id && ignore_pattern_match(e->id, id)))
                continue;
            return e->cfg->name;
        }
        if (e->control)
            continue;
        if (type && id && ignore_pattern_match(e->type, type) && ignore_pattern_match(e->id, id))
            return e->cfg->name;
    }
    return NULL;
}
