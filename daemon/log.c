#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

static const char *log_ident = "plumb";
static enum log_level current_level = LOG_LEVEL_INFO;
static bool journal;

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected to
 * stderr; if it still matches, structured entries go to the journal. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *ident, enum log_level level)
{
    log_ident = ident;
    current_level = level;
    journal = stderr_is_journal();
}

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

bool log_to_journal(void)
{
    return journal;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (journal) {
        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", (int)level, "SYSLOG_IDENTIFIER=%s",
                        log_ident, NULL);
    } else {
        fprintf(stderr, "%s: %s%s\n", log_ident,
                level <= LOG_LEVEL_ERROR     ? "error: "
                : level == LOG_LEVEL_WARNING ? "warning: "
                                             : "",
                msg);
    }
    errno = saved;
}
