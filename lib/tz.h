/* Time zones from the IANA database without touching the process-global TZ.
 *
 * The C library's localtime_r()/mktime() depend on the TZ environment
 * variable and its hidden state; a daemon that sends a digest at "Mon 08:00
 * Europe/Berlin" while other threads format UTC must not change it.  This
 * module reads the compiled TZif files (RFC 8536, versions 1 to 4) itself,
 * including the footer POSIX TZ string that describes times after the last
 * transition in the table (a "slim" Europe/Berlin file ends in 1996 and
 * relies on it; "fat" files end in 2037).
 *
 * A struct tz is immutable once loaded, so one zone may be shared by any
 * number of threads without locking.  Times are Unix milliseconds (UTC); the
 * supported range is the years 1 to 9999. */
#ifndef PLUMB_TZ_H
#define PLUMB_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* The directory zones are read from unless the caller passes another. */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
/* Longest abbreviation kept ("CEST", "+1030", "LMT"). */
#define TZ_ABBR_MAX 15
/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define TZ_NAME_MAX 255
/* Largest TZif file read (real ones are below 10 KiB). */
#define TZ_FILE_MAX (256 * 1024)

/* Supported instants: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z. */
#define TZ_MIN_MS (-62135596800000LL)
#define TZ_MAX_MS (253402300799999LL)

struct tz;

/* A local (wall clock) time in a zone, as tz_to_local() returns it. */
struct tz_local {
    int year;           /* 1..9999 */
    int month;          /* 1..12 */
    int day;            /* 1..31 */
    int hour;           /* 0..23 */
    int minute;         /* 0..59 */
    int second;         /* 0..59 */
    int millisecond;    /* 0..999 */
    int weekday;        /* ISO 8601: 1 = Monday ... 7 = Sunday */
    int yearday;        /* 1..366 */
    int32_t utc_offset; /* seconds east of UTC (+3600 for CET) */
    bool is_dst;
    char abbr[TZ_ABBR_MAX + 1]; /* "CET", "+1030"; "" if the zone has none */
};

/* A wall clock time to convert back to UTC with tz_from_local(). */
struct tz_wall {
    int year, month, day, hour, minute, second;
};

/* How a wall clock time relates to the zone's transitions. */
enum tz_match {
    TZ_UNIQUE = 0, /* exactly one instant shows this wall time */
    TZ_GAP,        /* skipped (spring forward): no instant shows it */
    TZ_FOLD,       /* repeated (fall back): two instants show it */
};

/* Load the zone called name ("Europe/Berlin") from dir (NULL means
 * TZ_DEFAULT_DIR).  The name must look like an IANA name: components of
 * letters, digits and "._+-" separated by single slashes, no ".." or "."
 * component, not absolute, at most TZ_NAME_MAX bytes.  The name "UTC" works
 * even where the zone database is not installed.
 *
 * On success *ret is a new zone the caller frees with tz_free().  Errors:
 * -EINVAL an invalid name, -ENOENT an unknown zone, -EBADMSG a file that is
 * not TZif or is corrupt, -ENOTSUP a file with leap-second records (the
 * "right/" zones: plumb counts Unix time, which has no leap seconds),
 * -EFBIG a file larger than TZ_FILE_MAX, -ENOMEM, or the errno of a read
 * error; err says which zone and what is wrong. */
int tz_load(const char *name, const char *dir, struct tz **ret, struct perr *err);

/* A zone parsed from TZif data in memory; name is used for messages and
 * tz_name().  Same errors as tz_load() for the content. */
int tz_parse(const char *name, const void *data, size_t len, struct tz **ret, struct perr *err);

/* The built-in UTC zone (no file needed).  Returns 0 or -ENOMEM. */
int tz_new_utc(struct tz **ret);

/* Frees tz; NULL is allowed.  Returns NULL. */
struct tz *tz_free(struct tz *tz);

/* The name the zone was loaded under; owned by tz. */
const char *tz_name(const struct tz *tz);

/* Convert a UTC instant to local time.  Returns 0, or -ERANGE outside
 * TZ_MIN_MS..TZ_MAX_MS (ret untouched). */
int tz_to_local(const struct tz *tz, int64_t utc_ms, struct tz_local *ret);

/* Convert a wall clock time in tz to the UTC instant (milliseconds, whole
 * seconds) that shows it.
 *  - TZ_UNIQUE: the one instant.
 *  - TZ_FOLD: the wall time occurs twice (the hour repeated when summer time
 *    ends); the FIRST occurrence is returned, e.g. 02:30 on the last Sunday
 *    of October in Europe/Berlin gives 00:30Z (02:30 CEST), not 01:30Z.
 *  - TZ_GAP: the wall time was skipped (clocks jumped forward); the result
 *    is the wall time read with the offset in force before the jump, which
 *    lands as far after the jump as the wall time is after its start: 02:30
 *    on the last Sunday of March in Europe/Berlin gives 01:30Z (03:30 CEST).
 * ret_match may be NULL.  Returns 0, -EINVAL for an impossible date or time
 * (month 13, 31 April, 24:00, second 60) or -ERANGE outside the years 1 to
 * 9999. */
int tz_from_local(const struct tz *tz, const struct tz_wall *wall, int64_t *ret_ms,
                  enum tz_match *ret_match);

/* Calendar helpers shared with the digest schedule (proleptic Gregorian). */
/* Days since 1970-01-01 of a civil date (no range check). */
int64_t tz_days_from_civil(int64_t year, int month, int day);
/* The civil date of a day number. */
void tz_civil_from_days(int64_t days, int64_t *ret_year, int *ret_month, int *ret_day);
/* ISO weekday (1 = Monday ... 7 = Sunday) of a day number. */
int tz_weekday_from_days(int64_t days);
bool tz_is_leap_year(int64_t year);
int tz_days_in_month(int64_t year, int month);

#endif
