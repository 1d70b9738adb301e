/* The sd_notify(3) contract of plumbd.  Without NOTIFY_SOCKET every call is
 * a no-op returning 0.  These never log; they return what sd_notify did
 * (> 0 sent, 0 no socket, < 0 error). */
#ifndef PLUMB_NOTIFY_H
#define PLUMB_NOTIFY_H

#include <stdint.h>

#include "util.h"

/* READY=1 with a one-line STATUS=. */
int notify_ready(const char *status);
/* STATUS=<one line> (newlines are replaced). */
int notify_status(const char *fmt, ...) PLUMB_PRINTF(1, 2);
/* RELOADING=1 with MONOTONIC_USEC (systemd >= 253 uses it for
 * Type=notify-reload); READY=1 must follow when the reload is done. */
int notify_reloading(void);
int notify_stopping(void);
int notify_watchdog(void);
/* Interval at which WATCHDOG=1 must be sent: half of WATCHDOG_USEC, or 0
 * when the watchdog is off (or meant for another pid). */
int64_t notify_watchdog_interval_ms(void);

#endif
