#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

/* One line only: sd_notify messages are newline-separated assignments. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int notify_ready(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status ? status : "running");
    one_line(msg + strlen("READY=1\n"));
    return sd_notify(0, msg);
}

int notify_status(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int n = snprintf(msg, sizeof(msg), "STATUS=");
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    one_line(msg);
    return sd_notify(0, msg);
}

int notify_reloading(void)
{
    struct timespec ts;
    char msg[128];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading configuration",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    return sd_notify(0, msg);
}

int notify_stopping(void)
{
    return sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

int notify_watchdog(void)
{
    return sd_notify(0, "WATCHDOG=1");
}

int64_t notify_watchdog_interval_ms(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    return (int64_t)(usec / 2000);
}
