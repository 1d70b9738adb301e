/* Logging for plumbd and plumb: structured journald entries when stderr is
 * connected to the journal (JOURNAL_STREAM), plain stderr lines otherwise.
 * Only daemon/ logs; lib/ returns errors.  Arguments are not evaluated for
 * messages below the current level. */
#ifndef PLUMB_LOG_H
#define PLUMB_LOG_H

#include <stdbool.h>

#include "config.h"
#include "util.h"

void log_setup(const char *ident, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_to_journal(void);

void log_write(enum log_level level, const char *fmt, ...) PLUMB_PRINTF(2, 3);

#define log_at(level, ...)                   \
    do {                                     \
        if ((level) <= log_get_level())      \
            log_write((level), __VA_ARGS__); \
    } while (0)
#define log_error(...)   log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_at(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_at(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
