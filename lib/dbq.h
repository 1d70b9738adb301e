/* A serial queue of database jobs on the libuv thread pool.
 *
 * SQLite work must not run on the loop thread, and plumb keeps one writer
 * connection.  Jobs submitted here run one at a time, in order, on a pool
 * thread, with that connection; their completion callbacks run on the
 * loop thread.  The queue owns the connection. */
#ifndef PLUMB_DBQ_H
#define PLUMB_DBQ_H

#include <uv.h>

#include "db.h"

struct dbq;

/* work runs on a pool thread with the writer connection and returns 0 or a
 * negative errno; done runs on the loop with that result (also -ECANCELED
 * when the queue is closed before the job started). */
typedef int (*dbq_work_fn)(struct db *db, void *userdata);
typedef void (*dbq_done_fn)(int result, void *userdata);

/* Takes ownership of db. */
int dbq_new(uv_loop_t *loop, struct db *db, struct dbq **ret);
int dbq_submit(struct dbq *q, dbq_work_fn work, dbq_done_fn done, void *userdata);
/* Jobs queued or running. */
size_t dbq_pending(const struct dbq *q);
/* Cancel queued jobs (their done gets -ECANCELED), let the running one
 * finish, close the connection, then call closed (on the loop). */
void dbq_close(struct dbq *q, void (*closed)(void *), void *userdata);

#endif
