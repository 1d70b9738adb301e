/* Interval schedules with jitter, for collectors, state sources and other
 * periodic work.  Pure bookkeeping: the daemon arms one libuv timer at
 * sched_next_due() and runs what sched_take_due() returns.  A job that is
 * running is not due again until sched_done(), so a slow collector never
 * piles up runs, and one job's slowness never delays another. */
#ifndef PLUMB_SCHEDULER_H
#define PLUMB_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

struct sched;

/* rnd returns uniformly distributed 32-bit values (injected for tests). */
int sched_new(uint32_t (*rnd)(void *ud), void *rnd_ud, struct sched **ret);
struct sched *sched_free(struct sched *s);

/* Add or update a job.  A new job first runs within
 * [now + delay_ms, now + delay_ms + jitter_ms]; an existing job keeps its
 * next due time unless its interval shrank below the remaining wait. */
int sched_set(struct sched *s, const char *name, int64_t interval_ms, int64_t jitter_ms,
              int64_t delay_ms, int64_t now_ms);
void sched_remove(struct sched *s, const char *name);
/* Drop every job not named in keep (NULL-terminated). */
void sched_retain(struct sched *s, char *const *keep);

/* Earliest due time of a job that is not running; INT64_MAX when none. */
int64_t sched_next_due(const struct sched *s);
/* Names due at now, marked running (malloc'd NULL-terminated vector, may
 * be empty); NULL on OOM. */
char **sched_take_due(struct sched *s, int64_t now_ms);
/* The run finished: next due = now + interval + random jitter. */
void sched_done(struct sched *s, const char *name, int64_t now_ms);
/* Run as soon as possible (e.g. a SIGHUP or a state change). */
void sched_trigger(struct sched *s, const char *name, int64_t now_ms);
bool sched_running(const struct sched *s, const char *name);
int64_t sched_due_of(const struct sched *s, const char *name); /* -1 when unknown */

#endif
