/* The weekly digest.
 *
 * This header holds the schedule: when the digest for a period is due and
 * which period is due now.  (The digest's content is built elsewhere.)
 *
 * A period is an ISO 8601 week of the schedule's time zone, labelled
 * "2026-W47".  The digest for week W is due at the schedule's weekday and
 * wall clock time inside week W ("Mon 08:00 Europe/Berlin" makes 2026-W47
 * due on Monday 16 November 2026 at 08:00 CET) and covers the seven days
 * before that instant (digest_period_window()).  Wall clock times are kept
 * across DST changes: the send time stays 08:00 local in winter and in
 * summer.  A send time that does not exist on a DST day (02:30 when clocks
 * jump from 02:00 to 03:00) moves forward by the length of the jump (03:30);
 * one that occurs twice uses the first occurrence (see tz_from_local()).
 *
 * Everything here is pure: no clock is read, nothing is stored.  The daemon
 * keeps the last period it sent (table digests) and asks digest_next() what
 * to do: after downtime only the most recent missed period is due, never a
 * burst of several, never the same period twice, and no period before its
 * send time. */
#ifndef PLUMB_DIGEST_H
#define PLUMB_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tz.h"
#include "util.h"

/* An ISO 8601 week: year (the ISO week-numbering year) and week 1..53. */
struct digest_week {
    int year;
    int week;
};

/* "2026-W47" plus the NUL. */
#define DIGEST_WEEK_LABEL_SIZE 9

/* Longest schedule specification accepted by digest_schedule_parse(). */
#define DIGEST_SCHEDULE_MAX 512

struct digest_schedule;

/* Parse "<weekday> <HH:MM> [<zone>]", e.g. "Mon 08:00 Europe/Berlin".
 * The weekday is an English name or its first three letters in any case
 * ("mon", "Monday"); the time is 24-hour H:MM or HH:MM; the zone is an IANA
 * name loaded from zoneinfo_dir (NULL means TZ_DEFAULT_DIR) and defaults to
 * UTC.  Fields are separated by spaces or tabs.
 *
 * On success *ret is a new schedule the caller frees with
 * digest_schedule_free().  Errors: -EINVAL for a malformed specification,
 * and the errors of tz_load() for the zone; err says what is wrong. */
int digest_schedule_parse(const char *spec, const char *zoneinfo_dir, struct digest_schedule **ret,
                          struct perr *err);

/* Frees s (NULL allowed) and returns NULL. */
struct digest_schedule *digest_schedule_free(struct digest_schedule *s);

/* The canonical form, "Mon 08:00 Europe/Berlin", into buf.  Returns 0, or
 * -ENOBUFS if buf is too small (it then holds a truncated string). */
int digest_schedule_format(const struct digest_schedule *s, char *buf, size_t size);

/* The schedule's zone; owned by s. */
const struct tz *digest_schedule_tz(const struct digest_schedule *s);

/* ---- ISO weeks ---- */

/* The ISO week that the local date of instant t falls in.  Returns 0 or
 * -ERANGE outside the range of tz_to_local(). */
int digest_week_of(const struct tz *tz, int64_t t_ms, struct digest_week *ret);

/* 52 or 53: the number of ISO weeks in an ISO week-numbering year. */
int digest_weeks_in_year(int year);

/* Whether w names an existing week (year 1..9999, week 1..weeks in year). */
bool digest_week_valid(const struct digest_week *w);

/* "2026-W47" into buf (DIGEST_WEEK_LABEL_SIZE bytes).  w must be valid. */
void digest_week_format(const struct digest_week *w, char buf[DIGEST_WEEK_LABEL_SIZE]);

/* Parse exactly "YYYY-Www".  Returns 0, or -EINVAL for anything else,
 * including weeks that do not exist ("2025-W53"). */
int digest_week_parse(const char *s, struct digest_week *ret);

/* <0, 0 or >0 as a is before, equal to or after b. */
int digest_week_cmp(const struct digest_week *a, const struct digest_week *b);

/* w moved by n weeks (negative n goes back).  Returns 0 or -ERANGE if the
 * result leaves the years 1..9999. */
int digest_week_add(const struct digest_week *w, int n, struct digest_week *ret);

/* ---- the schedule ---- */

/* The instant (UTC ms) the digest for week w is due.  Returns 0, -EINVAL
 * for an invalid week or -ERANGE when the instant is out of range. */
int digest_due_at(const struct digest_schedule *s, const struct digest_week *w, int64_t *ret_ms);

/* The span the digest for week w reports on: from the previous week's due
 * instant (inclusive) to w's due instant (exclusive).  Usually 7 days; one
 * hour more or less across a DST change. */
int digest_period_window(const struct digest_schedule *s, const struct digest_week *w,
                         int64_t *ret_from_ms, int64_t *ret_to_ms);

/* The next period to send and when it becomes due, given the last period
 * sent (NULL if none ever was) and the current time:
 *  - P is the most recent period whose due instant is at or before now;
 *  - if nothing was sent yet, or last_sent is before P, P is next (and
 *    already due: *ret_due_ms <= now).  Periods missed between last_sent and
 *    P are skipped, they are never sent late in a burst;
 *  - otherwise the period after max(P, last_sent) is next, due in the
 *    future (a last_sent after P means the clock went back; it is never
 *    sent again).
 * Returns 1 when the returned period is due now, 0 when it is due later
 * (arm a timer for *ret_due_ms), or a negative errno (-EINVAL for an
 * invalid last_sent, -ERANGE at the ends of the calendar).  ret_week and
 * ret_due_ms may be NULL. */
int digest_next(const struct digest_schedule *s, const struct digest_week *last_sent,
                int64_t now_ms, struct digest_week *ret_week, int64_t *ret_due_ms);

#endif
