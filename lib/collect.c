#include "collect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DEFAULT_IN_FLIGHT 4

struct scope_state {
    char *region;
    char *type;
    enum collect_status status;
    bool set;
    char *detail;
};

struct detail_job {
    const struct collect_list *list;
    const struct collect_detail *detail;
    struct resource *parent;
};

struct collect_run {
    const struct collector_def *def;
    struct collect_options opts;
    collect_done_fn done;
    void *userdata;
    struct collect_result result;

    struct scope_state *scopes;
    size_t n_scopes;

    struct detail_job *queue;
    size_t q_head, q_len, q_cap;
    unsigned in_flight;
    unsigned pending; /* list calls + detail calls + custom calls in flight */
    bool custom_pending;
    /* > 0 while call_done runs: finishing (and the done callback, which
     * may free the run) is deferred to its end. */
    unsigned depth;
    bool started;
    bool finished;
    bool cancelled;
};

/* One call in flight. */
struct pending_call {
    struct collect_run *run;
    const struct collect_list *list; /* list call */
    struct detail_job job;           /* detail call (job.detail set) */
    collect_call_done custom_done;   /* custom call */
    aws_page_cb custom_page;
    void *custom_ud;
    json_t *last_output;
};

static void maybe_finish(struct collect_run *run);
static void pump(struct collect_run *run);

enum collect_status collect_status_of(const struct aws_error *err)
{
    if (!err)
        return COLLECT_ERROR;
    switch (err->kind) {
    case AWS_ERR_ACCESS_DENIED: return COLLECT_ACCESS_DENIED;
    case AWS_ERR_THROTTLED: return COLLECT_THROTTLED;
    default: return COLLECT_ERROR;
    }
}

char *collect_error_detail(int result, const struct aws_error *err)
{
    if (err && err->kind == AWS_ERR_ACCESS_DENIED && err->iam_action)
        return strdup(err->iam_action);
    if (err && err->code)
        return str_printf("%s%s%s", err->code, err->message ? ": " : "",
                          err->message ? err->message : "");
    return str_printf("%s", strerror(-result));
}

static struct scope_state *find_scope(struct collect_run *run, const char *region, const char *type)
{
    for (size_t i = 0; i < run->n_scopes; i++)
        if (str_eq(run->scopes[i].type, type) && str_eq(run->scopes[i].region, region))
            return &run->scopes[i];
    return NULL;
}

static int add_scope(struct collect_run *run, const char *region, const char *type)
{
    struct scope_state *ns;
    if (find_scope(run, region, type))
        return 0;
    ns = realloc(run->scopes, (run->n_scopes + 1) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    run->scopes = ns;
    ns = &run->scopes[run->n_scopes];
    memset(ns, 0, sizeof(*ns));
    ns->region = strdup(region);
    ns->type = strdup(type);
    if (!ns->region || !ns->type) {
        free(ns->region);
        free(ns->type);
        return -ENOMEM;
    }
    run->n_scopes++;
    return 0;
}

/* Region under which a collector stores resources of a list. */
static const char *store_region(const struct collect_run *run)
{
    return run->def->global ? RESOURCE_REGION_GLOBAL : run->opts.region;
}

/* Set the status of a type in every scope region it has.  The first
 * failure wins over a later success (a partial read is not ok). */
static void set_type_status(struct collect_run *run, const char *type, enum collect_status status,
                            const char *detail)
{
    for (size_t i = 0; i < run->n_scopes; i++) {
        struct scope_state *s = &run->scopes[i];
        if (!str_eq(s->type, type))
            continue;
        if (s->set && s->status != COLLECT_OK && status == COLLECT_OK)
            continue;
        if (s->set && s->status != COLLECT_OK)
            continue; /* keep the first failure */
        s->status = status;
        s->set = true;
        free(s->detail);
        s->detail = detail ? strdup(detail) : NULL;
    }
}

void collect_scope_status(struct collect_run *run, const char *type, enum collect_status status,
                          const char *detail)
{
    set_type_status(run, type, status, detail);
}

const struct collect_options *collect_options(const struct collect_run *run)
{
    return &run->opts;
}

const struct collector_def *collect_def(const struct collect_run *run)
{
    return run->def;
}

int collect_new_resource(struct collect_run *run, const char *type, const char *aws_type,
                         const char *id, struct resource **ret)
{
    struct resource *r = NULL;
    int e = resource_new_with(run->opts.partition, run->opts.account, store_region(run), type,
                              aws_type, id, NULL, &r);
    if (e < 0)
        return e;
    r->source = strdup("describe");
    if (!r->source) {
        resource_free(r);
        return -ENOMEM;
    }
    r->collected_at = run->opts.now_ms;
    *ret = r;
    return 0;
}

int collect_add(struct collect_run *run, struct resource *r)
{
    return resource_list_push(&run->result.resources, r);
}

static int enqueue(struct collect_run *run, const struct collect_list *list,
                   const struct collect_detail *d, struct resource *parent)
{
    if (run->q_head + run->q_len == run->q_cap) {
        if (run->q_head > 0) {
            memmove(run->queue, run->queue + run->q_head, run->q_len * sizeof(*run->queue));
            run->q_head = 0;
        } else {
            size_t cap = run->q_cap ? run->q_cap * 2 : 64;
            struct detail_job *nq = realloc(run->queue, cap * sizeof(*nq));
            if (!nq)
                return -ENOMEM;
            run->queue = nq;
            run->q_cap = cap;
        }
    }
    run->queue[run->q_head + run->q_len++] = (struct detail_job){ list, d, parent };
    return 0;
}

static void detail_failed(struct collect_run *run, const struct detail_job *job,
                          enum collect_status status, const char *detail);

/* Queue a resource's details from d on, up to and including the next gate
 * (whose completion queues the rest).  In a cancelled run nothing more
 * starts: every remaining detail fails at once. */
static int enqueue_stage(struct collect_run *run, const struct collect_list *list,
                         const struct collect_detail *d, struct resource *parent)
{
    for (; d && d->operation; d++) {
        if (run->cancelled) {
            struct detail_job job = { list, d, parent };
            detail_failed(run, &job, COLLECT_ERROR, "cancelled");
            continue;
        }
        if (enqueue(run, list, d, parent) < 0)
            return -ENOMEM;
        if (d->gate)
            break;
    }
    return 0;
}

/* A detail has finished for a resource (whatever the outcome, skipped
 * included): if it was a gate, the next stage may start. */
static void stage_done(struct collect_run *run, const struct detail_job *job)
{
    if (!job->detail->gate)
        return;
    if (enqueue_stage(run, job->list, job->detail + 1, job->parent) < 0)
        set_type_status(run, job->list->type, COLLECT_ERROR, "out of memory");
}

static bool code_in(const char *code, const char *const *codes)
{
    for (size_t i = 0; code && codes && codes[i]; i++)
        if (str_eq(code, codes[i]))
            return true;
    return false;
}

/* A failed detail: the attributes it fills become unknown; a child type
 * gets a placeholder whose whole document is unknown, so it is neither
 * tombstoned nor compared. */
static void detail_failed(struct collect_run *run, const struct detail_job *job,
                          enum collect_status status, const char *detail)
{
    const struct collect_detail *d = job->detail;
    if (d->child_type) {
        struct resource *child = NULL;
        if (collect_new_resource(run, d->child_type, d->child_aws_type, job->parent->id, &child) <
            0)
            goto oom;
        if (str_replace(&child->region, job->parent->region) < 0 ||
            str_replace(&child->arn, job->parent->arn) < 0 ||
            resource_mark_unknown(child, "*", status, detail) < 0 || collect_add(run, child) < 0) {
            resource_free(child);
            goto oom;
        }
    }
    for (size_t i = 0; d->attrs && d->attrs[i]; i++)
        if (resource_mark_unknown(job->parent, d->attrs[i], status, detail) < 0)
            goto oom;
    return;
oom:
    set_type_status(run, job->list->type, COLLECT_ERROR, "out of memory");
}

static void apply_detail(struct collect_run *run, const struct detail_job *job,
                         const json_t *output)
{
    const struct collect_detail *d = job->detail;
    struct resource *child = NULL;
    int r;
    if (d->child_type) {
        if (collect_new_resource(run, d->child_type, d->child_aws_type, job->parent->id, &child) <
                0 ||
            str_replace(&child->region, job->parent->region) < 0 ||
            str_replace(&child->arn, job->parent->arn) < 0) {
            resource_free(child);
            set_type_status(run, d->child_type, COLLECT_ERROR, "out of memory");
            return;
        }
    }
    r = d->merge(run, job->parent, child, output);
    if (child) {
        if (r == 0 && collect_add(run, child) == 0)
            child = NULL;
        else if (r < 0)
            set_type_status(run, d->child_type, COLLECT_ERROR, "could not map the response");
        resource_free(child);
    } else if (r < 0) {
        detail_failed(run, job, COLLECT_ERROR, "could not map the response");
    }
}

static int call_page(const struct aws_page *page, void *ud)
{
    struct pending_call *pc = ud;
    struct collect_run *run = pc->run;

    if (run->cancelled)
        return -ECANCELED;
    if (pc->list) {
        json_t *items = collect_items(page->output, pc->list->items);
        size_t i;
        json_t *item;
        if (!items)
            return -ENOMEM;
        json_array_foreach (items, i, item) {
            struct resource *r = NULL;
            int m;
            if (collect_new_resource(run, pc->list->type, pc->list->aws_type, "", &r) < 0) {
                json_decref(items);
                return -ENOMEM;
            }
            m = pc->list->map(run, item, r);
            if (m != 0 || !r->id || !*r->id) {
                resource_free(r);
                /* 1 means "skip this item"; anything else is a mapping
                 * failure and the type's read is not complete. */
                if (m != 1)
                    set_type_status(run, pc->list->type, COLLECT_ERROR,
                                    "an item could not be mapped");
                run->result.items_skipped++;
                continue;
            }
            if (collect_add(run, r) < 0) {
                resource_free(r);
                json_decref(items);
                return -ENOMEM;
            }
            if (enqueue_stage(run, pc->list, pc->list->details, r) < 0) {
                json_decref(items);
                return -ENOMEM;
            }
        }
        json_decref(items);
        pump(run);
        return 0;
    }
    if (pc->job.detail && !pc->job.detail->all_pages) {
        json_decref(pc->last_output);
        pc->last_output = json_incref((json_t *)page->output);
        return 0;
    }
    if (pc->job.detail) {
        apply_detail(run, &pc->job, page->output);
        return 0;
    }
    if (pc->custom_page)
        return pc->custom_page(page, pc->custom_ud);
    json_decref(pc->last_output);
    pc->last_output = json_incref((json_t *)page->output);
    return 0;
}

static void call_done(int result, const struct aws_error *err, void *ud)
{
    struct pending_call *pc = ud;
    struct collect_run *run = pc->run;
    char *detail = NULL;

    run->pending--;
    run->depth++;
    if (pc->list) {
        if (result < 0) {
            detail = collect_error_detail(result, err);
            set_type_status(run, pc->list->type, collect_status_of(err), detail);
            for (const struct collect_detail *d = pc->list->details; d && d->operation; d++)
                if (d->child_type)
                    set_type_status(run, d->child_type, collect_status_of(err), detail);
        } else {
            set_type_status(run, pc->list->type, COLLECT_OK, NULL);
            for (const struct collect_detail *d = pc->list->details; d && d->operation; d++)
                if (d->child_type)
                    set_type_status(run, d->child_type, COLLECT_OK, NULL);
        }
    } else if (pc->job.detail) {
        run->in_flight--;
        if (result == 0) {
            if (!pc->job.detail->all_pages)
                apply_detail(run, &pc->job, pc->last_output);
        } else if (err && code_in(err->code, pc->job.detail->absent_codes)) {
            apply_detail(run, &pc->job, NULL);
        } else {
            detail = collect_error_detail(result, err);
            detail_failed(run, &pc->job,
                          result == -ECANCELED ? COLLECT_ERROR : collect_status_of(err), detail);
        }
        stage_done(run, &pc->job);
    } else if (pc->custom_done) {
        pc->custom_done(run, result, pc->last_output, err, pc->custom_ud);
    }
    free(detail);
    json_decref(pc->last_output);
    free(pc);
    pump(run);
    run->depth--;
    maybe_finish(run);
}

static int issue(struct collect_run *run, struct pending_call *pc, const char *service,
                 const char *operation, const char *region, const json_t *params, bool all_pages,
                 struct perr *err)
{
    struct aws_request req = {
        .service = service ? service : run->def->service,
        .operation = operation,
        .region = region,
        .params = params,
        .flags = all_pages ? AWS_CALL_ALL_PAGES : 0,
        .stats = run->opts.stats,
    };
    int r = run->opts.transport->call(run->opts.transport->transport, &req, call_page, call_done,
                                      pc, err);
    if (r == 0)
        run->pending++;
    return r;
}

static const char *call_region(const struct collect_run *run, const struct resource *r)
{
    if (r && r->region && !str_eq(r->region, RESOURCE_REGION_GLOBAL))
        return r->region;
    return run->opts.region;
}

static void pump(struct collect_run *run)
{
    unsigned max = run->opts.max_in_flight ? run->opts.max_in_flight : DEFAULT_IN_FLIGHT;
    while (!run->cancelled && run->q_len > 0 && run->in_flight < max) {
        struct detail_job job = run->queue[run->q_head++];
        struct pending_call *pc;
        json_t *params = NULL;
        struct perr err = { 0 };
        int r = 0;
        run->q_len--;
        if (job.detail->params)
            r = job.detail->params(run, job.parent, &params);
        if (r == 1) {
            stage_done(run, &job);
            continue;
        }
        pc = r < 0 ? NULL : calloc(1, sizeof(*pc));
        if (!pc) {
            json_decref(params);
            detail_failed(run, &job, COLLECT_ERROR, "could not build the request");
            stage_done(run, &job);
            continue;
        }
        pc->run = run;
        pc->job = job;
        r = issue(run, pc, job.detail->service, job.detail->operation, call_region(run, job.parent),
                  params, job.detail->all_pages, &err);
        json_decref(params);
        if (r < 0) {
            free(pc);
            detail_failed(run, &job, COLLECT_ERROR, err.msg);
            stage_done(run, &job);
            continue;
        }
        run->in_flight++;
    }
}

static void finish(struct collect_run *run)
{
    size_t n = 0;
    run->finished = true;
    run->result.scopes = calloc(run->n_scopes ? run->n_scopes : 1, sizeof(struct snapshot_scope));
    if (run->result.scopes) {
        for (size_t i = 0; i < run->n_scopes; i++) {
            struct scope_state *s = &run->scopes[i];
            struct snapshot_scope *out = &run->result.scopes[n++];
            if (!s->set) {
                s->status = COLLECT_ERROR;
                s->set = true;
                if (!s->detail)
                    s->detail = strdup(run->cancelled ? "cancelled" : "not read");
            }
            out->account = run->opts.account;
            out->region = s->region;
            out->type = s->type;
            out->status = s->status;
            out->detail = s->detail;
        }
    }
    run->result.n_scopes = n;
    /* Resources of a type whose read failed are still valid as far as they
     * go; the snapshot keeps them and tombstones nothing of that scope. */
    run->done(run, &run->result, run->userdata);
}

static void maybe_finish(struct collect_run *run)
{
    if (!run->started || run->finished || run->depth > 0 || run->pending > 0 ||
        run->custom_pending || (run->q_len > 0 && !run->cancelled))
        return;
    finish(run);
}

void collect_custom_done(struct collect_run *run)
{
    run->custom_pending = false;
    maybe_finish(run);
}

int collect_call(struct collect_run *run, const char *service, const char *operation,
                 const json_t *params, bool all_pages, aws_page_cb page_cb, collect_call_done done,
                 void *userdata)
{
    struct pending_call *pc;
    struct perr err = { 0 };
    int r;
    if (run->cancelled)
        return -ECANCELED;
    pc = calloc(1, sizeof(*pc));
    if (!pc)
        return -ENOMEM;
    pc->run = run;
    pc->custom_done = done;
    pc->custom_page = page_cb;
    pc->custom_ud = userdata;
    r = issue(run, pc, service, operation, run->opts.region, params, all_pages, &err);
    if (r < 0)
        free(pc);
    return r;
}

int collect_start(const struct collector_def *def, const struct collect_options *opts,
                  collect_done_fn done, void *userdata, struct collect_run **ret, struct perr *err)
{
    struct collect_run *run = calloc(1, sizeof(*run));
    const char *sregion;
    int r = -ENOMEM;

    if (!run)
        return perr_set(err, -ENOMEM, "out of memory");
    run->def = def;
    run->opts = *opts;
    run->done = done;
    run->userdata = userdata;
    resource_list_init(&run->result.resources);
    sregion = store_region(run);
    /* Declare every scope up front so a type that is never reached is
     * reported as not read rather than forgotten. */
    for (const struct collect_list *l = def->lists; l && l->type; l++) {
        if (l->regional_items && opts->regions) {
            for (size_t i = 0; opts->regions[i]; i++)
                if (add_scope(run, opts->regions[i], l->type) < 0)
                    goto fail;
        } else if (add_scope(run, sregion, l->type) < 0) {
            goto fail;
        }
        for (const struct collect_detail *d = l->details; d && d->operation; d++) {
            if (!d->child_type)
                continue;
            if (l->regional_items && opts->regions) {
                for (size_t i = 0; opts->regions[i]; i++)
                    if (add_scope(run, opts->regions[i], d->child_type) < 0)
                        goto fail;
            } else if (add_scope(run, sregion, d->child_type) < 0) {
                goto fail;
            }
        }
    }
    for (size_t i = 0; def->extra_types && def->extra_types[i]; i++)
        if (add_scope(run, sregion, def->extra_types[i]) < 0)
            goto fail;
    for (const struct collect_list *l = def->lists; l && l->type; l++) {
        struct pending_call *pc = calloc(1, sizeof(*pc));
        json_t *params = NULL;
        if (!pc)
            goto fail_started;
        if (l->params) {
            json_error_t jerr;
            params = json_loads(l->params, 0, &jerr);
            if (!params) {
                free(pc);
                r = perr_set(err, -EINVAL, "collector %s: bad params for %s: %s", def->name,
                             l->operation, jerr.text);
                goto fail_started;
            }
        }
        pc->run = run;
        pc->list = l;
        r = issue(run, pc, l->service, l->operation, opts->region, params, l->all_pages, err);
        json_decref(params);
        if (r < 0) {
            char *detail = str_printf("cannot call %s: %s", l->operation, err ? err->msg : "");
            free(pc);
            set_type_status(run, l->type, COLLECT_ERROR, detail);
            free(detail);
        }
    }
    if (def->custom) {
        run->custom_pending = true;
        r = def->custom(run);
        if (r < 0) {
            run->custom_pending = false;
            for (size_t i = 0; def->extra_types && def->extra_types[i]; i++)
                set_type_status(run, def->extra_types[i], COLLECT_ERROR, "custom part failed");
        }
    }
    run->started = true;
    *ret = run;
    /* Nothing could be issued at all: report it now (see collect.h). */
    if (run->pending == 0 && !run->custom_pending)
        finish(run);
    return 0;
fail_started:
    run->cancelled = true;
    if (run->pending > 0) {
        /* Calls already in flight will come back to a cancelled run. */
        run->started = true;
        *ret = run;
        return 0;
    }
fail:
    collect_run_free(run);
    if (r == -ENOMEM)
        perr_set(err, -ENOMEM, "out of memory");
    return r;
}

void collect_cancel(struct collect_run *run)
{
    run->cancelled = true;
    /* Queued details never start; each marks its attributes unknown. */
    while (run->q_len > 0) {
        struct detail_job job = run->queue[run->q_head++];
        run->q_len--;
        detail_failed(run, &job, COLLECT_ERROR, "cancelled");
        stage_done(run, &job);
    }
    maybe_finish(run);
}

void collect_take_resources(struct collect_run *run, struct resource_list *into)
{
    *into = run->result.resources;
    resource_list_init(&run->result.resources);
}

void collect_run_free(struct collect_run *run)
{
    if (!run)
        return;
    resource_list_clear(&run->result.resources);
    free(run->result.scopes);
    for (size_t i = 0; i < run->n_scopes; i++) {
        free(run->scopes[i].region);
        free(run->scopes[i].type);
        free(run->scopes[i].detail);
    }
    free(run->scopes);
    free(run->queue);
    free(run);
}

/* ---- mapping helpers ---- */

int collect_copy(json_t *attrs, const char *dst, const json_t *item, const char *src)
{
    json_t *v = json_object_get(item, src);
    if (!v)
        return 0;
    return json_object_set_new(attrs, dst, json_deep_copy(v)) == 0 ? 0 : -ENOMEM;
}

json_t *collect_tags_from_list(const json_t *list)
{
    json_t *o = json_object();
    size_t i;
    json_t *t;
    if (!o)
        return NULL;
    json_array_foreach (list, i, t) {
        const json_t *k = json_object_get(t, "Key");
        const json_t *v = json_object_get(t, "Value");
        if (!k) {
            k = json_object_get(t, "key");
            v = json_object_get(t, "value");
        }
        if (!json_is_string(k))
            continue;
        if (json_object_set_new(o, json_string_value(k),
                                json_string(json_is_string(v) ? json_string_value(v) : "")) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Walk "A[].B[]" from value, appending the leaves to out. */
static int items_walk(const json_t *value, const char *path, json_t *out)
{
    char name[128];
    size_t n = 0;
    bool flatten = false;
    const json_t *child;

    if (!*path) {
        if (json_is_array(value)) {
            size_t i;
            json_t *v;
            json_array_foreach (value, i, v) {
                if (json_array_append(out, v) < 0)
                    return -ENOMEM;
            }
            return 0;
        }
        return value ? (json_array_append(out, (json_t *)value) < 0 ? -ENOMEM : 0) : 0;
    }
    while (*path && *path != '.' && *path != '[' && n + 1 < sizeof(name))
        name[n++] = *path++;
    name[n] = '\0';
    if (str_has_prefix(path, "[]")) {
        flatten = true;
        path += 2;
    }
    if (*path == '.')
        path++;
    child = json_object_get(value, name);
    if (!child)
        return 0;
    if (flatten && json_is_array(child)) {
        size_t i;
        json_t *v;
        json_array_foreach (child, i, v) {
            int r =
                *path ? items_walk(v, path, out) : (json_array_append(out, v) < 0 ? -ENOMEM : 0);
            if (r < 0)
                return r;
        }
        return 0;
    }
    return items_walk(child, path, out);
}

json_t *collect_items(const json_t *output, const char *path)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    if (items_walk(output, path ? path : "", out) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}
