/* plumbd's runtime: configuration, store, loop, signals and the
 * subsystems hung on them. */
#ifndef PLUMB_DAEMON_H
#define PLUMB_DAEMON_H

#include <stdbool.h>

#include "config.h"

struct daemon_options {
    const char *config_path;
    const char *db_path; /* overrides the config */
    enum log_level log_level;
    bool log_level_set;
    bool check_only;
};

/* Validate everything the configuration refers to; log each problem.
 * Returns 0 when all is well. */
int daemon_check_config(const struct daemon_options *opts);
/* Run until SIGTERM/SIGINT.  Returns 0 on a clean stop. */
int daemon_run(const struct daemon_options *opts);

#endif
