#include "collectq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DEFAULT_IN_FLIGHT 4

struct job {
    struct job *next;
    struct collectq *q;
    struct collectq_req req;
    char *token;      /* out_token of the page just delivered */
    bool page_failed; /* the page handler refused a page */
};

struct collectq {
    struct collect_run *run;
    struct job *head, *tail;
    unsigned in_flight;
    unsigned max;
    unsigned depth; /* callbacks and API calls of ours on the stack */
    bool held;
    bool pumping;
};

static void job_free(struct job *j, bool call_ud_free)
{
    if (!j)
        return;
    json_decref(j->req.params);
    if (call_ud_free && j->req.ud_free)
        j->req.ud_free(j->req.ud);
    free(j->token);
    free(j);
}

enum collect_status collectq_status(int result, const struct aws_error *err, char **ret_detail)
{
    if (err && err->kind == AWS_ERR_ACCESS_DENIED && err->iam_action)
        *ret_detail = strdup(err->iam_action);
    else if (!err && result == -ECANCELED)
        *ret_detail = strdup("cancelled");
    else if (err && err->code)
        *ret_detail = str_printf("%s%s%s", err->code, err->message ? ": " : "",
                                 err->message ? err->message : "");
    else
        *ret_detail = str_printf("%s", strerror(result < 0 ? -result : EIO));
    return err ? collect_status_of(err) : COLLECT_ERROR;
}

static bool code_in(const char *code, const char *const *codes)
{
    for (size_t i = 0; code && codes && codes[i]; i++)
        if (str_eq(code, codes[i]))
            return true;
    return false;
}

static void maybe_end(struct collectq *q)
{
    struct collect_run *run = q->run;
    if (q->held || q->depth > 0 || q->pumping || q->head || q->in_flight > 0)
        return;
    /* Free first: ending the custom part may finish the run. */
    free(q);
    collect_custom_done(run);
}

static void job_ok(struct job *j)
{
    if (j->req.ok)
        j->req.ok(j->q, j->req.ud);
}

static void job_failed(struct job *j, enum collect_status status, const char *detail)
{
    if (j->req.fail)
        j->req.fail(j->q, status, detail ? detail : "out of memory", j->req.ud);
}

static int page_tramp(const struct aws_page *page, void *ud)
{
    struct job *j = ud;
    int r = j->req.page(j->q, page->output, j->req.ud);
    if (r < 0) {
        j->page_failed = true;
        return r;
    }
    if (j->req.out_token) {
        const char *t = json_string_value(json_object_get(page->output, j->req.out_token));
        free(j->token);
        j->token = t && *t ? strdup(t) : NULL;
        if (t && *t && !j->token) {
            j->page_failed = true;
            return -ENOMEM;
        }
    }
    return 0;
}

static void pump(struct collectq *q);

static void push_front(struct collectq *q, struct job *j)
{
    j->next = q->head;
    q->head = j;
    if (!q->tail)
        q->tail = j;
}

/* Explicit paging: queue the next page of j, or say why not (0: no more
 * pages, 1: queued, < 0: error with *why set). */
static int next_page(struct collectq *q, struct job *j, const char **why)
{
    const char *prev;
    if (!j->req.in_token || !j->token)
        return 0;
    prev = json_string_value(json_object_get(j->req.params, j->req.in_token));
    if (prev && str_eq(prev, j->token)) {
        *why = "the same page token came back twice";
        return -ELOOP;
    }
    if (!j->req.params && !(j->req.params = json_object())) {
        *why = "out of memory";
        return -ENOMEM;
    }
    if (json_object_set_new(j->req.params, j->req.in_token, json_string(j->token)) < 0) {
        *why = "out of memory";
        return -ENOMEM;
    }
    free(j->token);
    j->token = NULL;
    push_front(q, j);
    return 1;
}

static void done_tramp(struct collect_run *run, int result, const json_t *output,
                       const struct aws_error *err, void *ud)
{
    struct job *j = ud;
    struct collectq *q = j->q;
    (void)run;
    (void)output;

    q->in_flight--;
    q->depth++;
    if (j->page_failed) {
        job_failed(j, COLLECT_ERROR, "could not map the response");
    } else if (result == 0) {
        const char *why = NULL;
        int r = next_page(q, j, &why);
        if (r == 1)
            j = NULL; /* queued again */
        else if (r < 0)
            job_failed(j, COLLECT_ERROR, why);
        else
            job_ok(j);
    } else if (err && code_in(err->code, j->req.absent_codes)) {
        job_ok(j);
    } else {
        char *detail = NULL;
        enum collect_status st = collectq_status(result, err, &detail);
        job_failed(j, st, detail);
        free(detail);
    }
    job_free(j, true);
    pump(q);
    q->depth--;
    maybe_end(q);
}

static void pump(struct collectq *q)
{
    if (q->pumping)
        return;
    q->pumping = true;
    while (q->head && q->in_flight < q->max) {
        struct job *j = q->head;
        int r;
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        j->next = NULL;
        j->page_failed = false;
        r = collect_call(q->run, j->req.service, j->req.operation, j->req.params, j->req.all_pages,
                         page_tramp, done_tramp, j);
        if (r < 0) {
            job_failed(j, COLLECT_ERROR,
                       r == -ECANCELED ? "cancelled" : "the call could not be issued");
            job_free(j, true);
            continue;
        }
        q->in_flight++;
    }
    q->pumping = false;
}

int collectq_new(struct collect_run *run, struct collectq **ret)
{
    struct collectq *q = calloc(1, sizeof(*q));
    const struct collect_options *o = collect_options(run);
    if (!q)
        return -ENOMEM;
    q->run = run;
    q->max = o->max_in_flight ? o->max_in_flight : DEFAULT_IN_FLIGHT;
    q->held = true;
    *ret = q;
    return 0;
}

int collectq_add(struct collectq *q, const struct collectq_req *req)
{
    struct job *j;
    if (!req->operation || !req->page) {
        json_decref(req->params);
        return -EINVAL;
    }
    j = calloc(1, sizeof(*j));
    if (!j) {
        json_decref(req->params);
        return -ENOMEM;
    }
    j->q = q;
    j->req = *req;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->depth++;
    pump(q);
    q->depth--;
    maybe_end(q);
    return 0;
}

void collectq_release(struct collectq *q)
{
    q->held = false;
    pump(q);
    maybe_end(q);
}

struct collect_run *collectq_run(const struct collectq *q)
{
    return q->run;
}

int collectq_tags_not_read(struct resource *r)
{
    return resource_mark_unknown(r, "tags", COLLECT_NOT_COLLECTED,
                                 "not read (one call per resource)");
}
