#include "scheduler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct job {
    char *name;
    int64_t interval_ms;
    int64_t jitter_ms;
    int64_t due_ms;
    bool running;
};

struct sched {
    struct job *jobs;
    size_t n;
    uint32_t (*rnd)(void *);
    void *rnd_ud;
};

int sched_new(uint32_t (*rnd)(void *ud), void *rnd_ud, struct sched **ret)
{
    struct sched *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->rnd = rnd;
    s->rnd_ud = rnd_ud;
    *ret = s;
    return 0;
}

struct sched *sched_free(struct sched *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        free(s->jobs[i].name);
    free(s->jobs);
    free(s);
    return NULL;
}

static int64_t jitter(struct sched *s, int64_t max)
{
    if (max <= 0)
        return 0;
    return (int64_t)((uint64_t)s->rnd(s->rnd_ud) % (uint64_t)(max + 1));
}

static struct job *find(const struct sched *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (str_eq(s->jobs[i].name, name))
            return &s->jobs[i];
    return NULL;
}

int sched_set(struct sched *s, const char *name, int64_t interval_ms, int64_t jitter_ms,
              int64_t delay_ms, int64_t now_ms)
{
    struct job *j = find(s, name);
    if (interval_ms <= 0 || jitter_ms < 0)
        return -EINVAL;
    if (!j) {
        struct job *nj = realloc(s->jobs, (s->n + 1) * sizeof(*nj));
        if (!nj)
            return -ENOMEM;
        s->jobs = nj;
        j = &s->jobs[s->n];
        memset(j, 0, sizeof(*j));
        j->name = strdup(name);
        if (!j->name)
            return -ENOMEM;
        s->n++;
        j->due_ms = now_ms + delay_ms + jitter(s, jitter_ms);
    } else if (!j->running && j->due_ms > now_ms + interval_ms + jitter_ms) {
        j->due_ms = now_ms + interval_ms + jitter(s, jitter_ms);
    }
    j->interval_ms = interval_ms;
    j->jitter_ms = jitter_ms;
    return 0;
}

void sched_remove(struct sched *s, const char *name)
{
    struct job *j = find(s, name);
    if (!j)
        return;
    free(j->name);
    *j = s->jobs[--s->n];
}

void sched_retain(struct sched *s, char *const *keep)
{
    for (size_t i = 0; i < s->n;) {
        if (strv_contains(keep, s->jobs[i].name)) {
            i++;
            continue;
        }
        free(s->jobs[i].name);
        s->jobs[i] = s->jobs[--s->n];
    }
}

int64_t sched_next_due(const struct sched *s)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->n; i++)
        if (!s->jobs[i].running && s->jobs[i].due_ms < next)
            next = s->jobs[i].due_ms;
    return next;
}

char **sched_take_due(struct sched *s, int64_t now_ms)
{
    char **due = strv_new();
    if (!due)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        struct job *j = &s->jobs[i];
        if (j->running || j->due_ms > now_ms)
            continue;
        if (strv_push(&due, j->name) < 0)
            return strv_free(due);
        j->running = true;
    }
    return due;
}

void sched_done(struct sched *s, const char *name, int64_t now_ms)
{
    struct job *j = find(s, name);
    if (!j)
        return;
    j->running = false;
    j->due_ms = now_ms + j->interval_ms + jitter(s, j->jitter_ms);
}

void sched_trigger(struct sched *s, const char *name, int64_t now_ms)
{
    struct job *j = find(s, name);
    if (j && !j->running)
        j->due_ms = now_ms;
}

bool sched_running(const struct sched *s, const char *name)
{
    const struct job *j = find(s, name);
    return j && j->running;
}

int64_t sched_due_of(const struct sched *s, const char *name)
{
    const struct job *j = find(s, name);
    return j ? j->due_ms : -1;
}
