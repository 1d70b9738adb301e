/* What one configuration generation needs at run time, built and validated
 * once: the type table, the baseline catalogue (with the config's disable
 * list and parameters), the .driftignore rules, compiled exceptions and the
 * event sinks with their routing filters.
 *
 * runtime_load() is what `plumbd --check-config` runs: every problem it
 * finds is reported, each naming the file and line (of plumb.conf, the
 * control file, the ignore file).  A loaded runtime is immutable and may be
 * read from the loop and the thread pool at once; a reload builds a new one
 * and swaps it in when no job uses the old one. */
#ifndef PLUMB_RUNTIME_H
#define PLUMB_RUNTIME_H

#include <stdbool.h>

#include "config.h"
#include "controls.h"
#include "events.h"
#include "ignore.h"
#include "typemap.h"

struct runtime_exception {
    const struct config_exception *cfg;
    bool control;                /* control:ID[:RESOURCE] */
    struct ignore_pattern *type; /* drift: TYPE pattern */
    struct ignore_pattern *id;   /* drift: ID pattern; control: resource id (may be NULL) */
    char *control_id;            /* control exceptions */
};

struct runtime {
    const struct config *cfg; /* borrowed */
    struct typemap *tm;
    struct catalogue *cat;
    struct ignore_set *driftignore; /* NULL: none configured */
    struct runtime_exception *exceptions;
    size_t n_exceptions;
    struct event_sink *sinks; /* dispatch_event_sinks() */
    size_t n_sinks;
};

/* Build everything; on failure ret_errors (may be NULL) gets every problem,
 * err the first.  datadir_override replaces the default baseline directory
 * (PLUMB_DATADIR for uninstalled runs; NULL = built-in path). */
int runtime_load(const struct config *cfg, struct runtime **ret, struct perr *err,
                 char ***ret_errors);
struct runtime *runtime_free(struct runtime *rt);

/* The name of an exception covering this drift (control == NULL) or finding
 * and active at now, or NULL. */
const char *runtime_exception_for(const struct runtime *rt, const char *type, const char *id,
                                  const char *control, int64_t now_ms);

/* The baseline directory to use when the config keeps the default:
 * $PLUMB_DATADIR/baseline if set (uninstalled builds), else the built-in
 * path.  Exposed for tests and the CLI. */
const char *runtime_default_baseline(void);

#endif
