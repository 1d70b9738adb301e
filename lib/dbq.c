#include "dbq.h"

#include <errno.h>
#include <stdlib.h>

struct job {
    struct job *next;
    dbq_work_fn work;
    dbq_done_fn done;
    void *userdata;
    int result;
};

struct dbq {
    uv_loop_t *loop;
    struct db *db;
    struct job *head, *tail;
    size_t pending;
    uv_work_t req;
    struct job *running;
    bool closing;
    void (*closed)(void *);
    void *closed_ud;
};

int dbq_new(uv_loop_t *loop, struct db *db, struct dbq **ret)
{
    struct dbq *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->loop = loop;
    q->db = db;
    q->req.data = q;
    *ret = q;
    return 0;
}

static void run_job(uv_work_t *req)
{
    struct dbq *q = req->data;
    q->running->result = q->running->work(q->db, q->running->userdata);
}

static void start_next(struct dbq *q);

static void finish(struct dbq *q)
{
    db_close(q->db);
    q->db = NULL;
    if (q->closed)
        q->closed(q->closed_ud);
    free(q);
}

static void job_done(uv_work_t *req, int status)
{
    struct dbq *q = req->data;
    struct job *j = q->running;
    q->running = NULL;
    q->pending--;
    j->done(status == UV_ECANCELED ? -ECANCELED : j->result, j->userdata);
    free(j);
    if (q->closing && !q->head)
        finish(q);
    else
        start_next(q);
}

static void start_next(struct dbq *q)
{
    struct job *j = q->head;
    int r;
    if (q->running || !j)
        return;
    q->head = j->next;
    if (!q->head)
        q->tail = NULL;
    q->running = j;
    r = uv_queue_work(q->loop, &q->req, run_job, job_done);
    if (r < 0) {
        /* Cannot happen with a valid loop; report it to the job. */
        q->running = NULL;
        q->pending--;
        j->done(r, j->userdata);
        free(j);
    }
}

int dbq_submit(struct dbq *q, dbq_work_fn work, dbq_done_fn done, void *userdata)
{
    struct job *j;
    if (q->closing)
        return -ECANCELED;
    j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->work = work;
    j->done = done;
    j->userdata = userdata;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->pending++;
    start_next(q);
    return 0;
}

size_t dbq_pending(const struct dbq *q)
{
    return q->pending;
}

void dbq_close(struct dbq *q, void (*closed)(void *), void *userdata)
{
    struct job *j = q->head;
    q->closing = true;
    q->closed = closed;
    q->closed_ud = userdata;
    q->head = q->tail = NULL;
    while (j) {
        struct job *next = j->next;
        q->pending--;
        j->done(-ECANCELED, j->userdata);
        free(j);
        j = next;
    }
    if (!q->running)
        finish(q);
}
