#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct digest_schedule {
    int weekday; /* ISO: 1 = Monday */
    int hour, minute;
    struct tz *tz;
};

static const char *const weekday_names[7] = { "Monday", "Tuesday",  "Wednesday", "Thursday",
                                              "Friday", "Saturday", "Sunday" };

/* ---- ISO weeks ---- */

/* Day number of the Monday of an ISO week: week 1 is the week with the
 * year's first Thursday, i.e. the one holding 4 January. */
static int64_t week_monday(int year, int week)
{
    int64_t jan4 = tz_days_from_civil(year, 1, 4);
    return jan4 - (tz_weekday_from_days(jan4) - 1) + (int64_t)(week - 1) * 7;
}

static void week_from_days(int64_t days, struct digest_week *ret)
{
    int64_t thursday = days - tz_weekday_from_days(days) + 4, year;
    int month, day;
    tz_civil_from_days(thursday, &year, &month, &day);
    ret->year = (int)year;
    ret->week = (int)((thursday - tz_days_from_civil(year, 1, 1)) / 7) + 1;
}

int digest_weeks_in_year(int year)
{
    struct digest_week w;
    /* 28 December is always in the last week of its ISO year. */
    week_from_days(tz_days_from_civil(year, 12, 28), &w);
    return w.week;
}

bool digest_week_valid(const struct digest_week *w)
{
    return w && w->year >= 1 && w->year <= 9999 && w->week >= 1 &&
           w->week <= digest_weeks_in_year(w->year);
}

int digest_week_of(const struct tz *tz, int64_t t_ms, struct digest_week *ret)
{
    struct tz_local l;
    int r = tz_to_local(tz, t_ms, &l);
    if (r < 0)
        return r;
    week_from_days(tz_days_from_civil(l.year, l.month, l.day), ret);
    return 0;
}

void digest_week_format(const struct digest_week *w, char buf[DIGEST_WEEK_LABEL_SIZE])
{
    unsigned year = (unsigned)w->year % 10000, week = (unsigned)w->week % 100;
    snprintf(buf, DIGEST_WEEK_LABEL_SIZE, "%04u-W%02u", year, week);
}

int digest_week_parse(const char *s, struct digest_week *ret)
{
    struct digest_week w = { 0, 0 };
    if (!s || strlen(s) != 8 || s[4] != '-' || s[5] != 'W')
        return -EINVAL;
    for (int i = 0; i < 8; i++) {
        if (i == 4 || i == 5)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        if (i < 4)
            w.year = w.year * 10 + (s[i] - '0');
        else
            w.week = w.week * 10 + (s[i] - '0');
    }
    if (!digest_week_valid(&w))
        return -EINVAL;
    *ret = w;
    return 0;
}

int digest_week_cmp(const struct digest_week *a, const struct digest_week *b)
{
    if (a->year != b->year)
        return a->year < b->year ? -1 : 1;
    if (a->week != b->week)
        return a->week < b->week ? -1 : 1;
    return 0;
}

int digest_week_add(const struct digest_week *w, int n, struct digest_week *ret)
{
    struct digest_week r;
    week_from_days(week_monday(w->year, w->week) + (int64_t)n * 7, &r);
    if (r.year < 1 || r.year > 9999)
        return -ERANGE;
    *ret = r;
    return 0;
}

/* ---- the schedule ---- */

static int parse_weekday(const char *s)
{
    for (int i = 0; i < 7; i++)
        if (strcasecmp(s, weekday_names[i]) == 0 ||
            (strlen(s) == 3 && strncasecmp(s, weekday_names[i], 3) == 0))
            return i + 1;
    return -1;
}

static int parse_clock(const char *s, int *ret_hour, int *ret_minute)
{
    size_t len = strlen(s);
    int h, m;
    if ((len != 4 && len != 5) || s[len - 3] != ':')
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (i != len - 3 && (s[i] < '0' || s[i] > '9'))
            return -EINVAL;
    h = len == 5 ? (s[0] - '0') * 10 + (s[1] - '0') : s[0] - '0';
    m = (s[len - 2] - '0') * 10 + (s[len - 1] - '0');
    if (h > 23 || m > 59)
        return -EINVAL;
    *ret_hour = h;
    *ret_minute = m;
    return 0;
}

int digest_schedule_parse(const char *spec, const char *zoneinfo_dir, struct digest_schedule **ret,
                          struct perr *err)
{
    char **tok = NULL;
    struct digest_schedule *s = NULL;
    size_t n;
    int r;

    if (!spec || strnlen(spec, DIGEST_SCHEDULE_MAX + 1) > DIGEST_SCHEDULE_MAX)
        return perr_set(err, -EINVAL, "invalid digest schedule: missing or longer than %d bytes",
                        DIGEST_SCHEDULE_MAX);
    r = strv_split(spec, " \t", &tok);
    if (r < 0)
        return perr_set(err, r, "out of memory");
    n = strv_length(tok);
    if (n < 2 || n > 3) {
        r = perr_set(err, -EINVAL,
                     "invalid digest schedule \"%s\": expected \"<weekday> <HH:MM> [<zone>]\", "
                     "e.g. \"Mon 08:00 Europe/Berlin\"",
                     spec);
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    s->weekday = parse_weekday(tok[0]);
    if (s->weekday < 0) {
        r = perr_set(err, -EINVAL, "invalid digest schedule \"%s\": unknown weekday \"%s\"", spec,
                     tok[0]);
        goto out;
    }
    if (parse_clock(tok[1], &s->hour, &s->minute) < 0) {
        r = perr_set(err, -EINVAL,
                     "invalid digest schedule \"%s\": bad time \"%s\" (use HH:MM from 00:00 to "
                     "23:59)",
                     spec, tok[1]);
        goto out;
    }
    r = tz_load(n == 3 ? tok[2] : "UTC", zoneinfo_dir, &s->tz, err);
    if (r < 0) {
        perr_prefix(err, "invalid digest schedule \"%s\": ", spec);
        goto out;
    }
    *ret = s;
    s = NULL;
    r = 0;
out:
    digest_schedule_free(s);
    strv_free(tok);
    return r;
}

struct digest_schedule *digest_schedule_free(struct digest_schedule *s)
{
    if (!s)
        return NULL;
    tz_free(s->tz);
    free(s);
    return NULL;
}

int digest_schedule_format(const struct digest_schedule *s, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%.3s %02d:%02d %s", weekday_names[s->weekday - 1], s->hour,
                     s->minute, tz_name(s->tz));
    return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

const struct tz *digest_schedule_tz(const struct digest_schedule *s)
{
    return s->tz;
}

int digest_due_at(const struct digest_schedule *s, const struct digest_week *w, int64_t *ret_ms)
{
    struct tz_wall wall;
    int64_t year;
    int64_t day;

    if (!digest_week_valid(w))
        return -EINVAL;
    day = week_monday(w->year, w->week) + s->weekday - 1;
    tz_civil_from_days(day, &year, &wall.month, &wall.day);
    wall.year = (int)year;
    wall.hour = s->hour;
    wall.minute = s->minute;
    wall.second = 0;
    return tz_from_local(s->tz, &wall, ret_ms, NULL);
}

int digest_period_window(const struct digest_schedule *s, const struct digest_week *w,
                         int64_t *ret_from_ms, int64_t *ret_to_ms)
{
    struct digest_week prev;
    int64_t from, to;
    int r;

    if (!digest_week_valid(w))
        return -EINVAL;
    r = digest_week_add(w, -1, &prev);
    if (r < 0)
        return r;
    r = digest_due_at(s, &prev, &from);
    if (r < 0)
        return r;
    r = digest_due_at(s, w, &to);
    if (r < 0)
        return r;
    *ret_from_ms = from;
    *ret_to_ms = to;
    return 0;
}

int digest_next(const struct digest_schedule *s, const struct digest_week *last_sent,
                int64_t now_ms, struct digest_week *ret_week, int64_t *ret_due_ms)
{
    struct digest_week p, next;
    int64_t due;
    int r, tries;

    if (last_sent && !digest_week_valid(last_sent))
        return -EINVAL;
    r = digest_week_of(s->tz, now_ms, &p);
    if (r < 0)
        return r;
    /* The most recent period due at or before now.  A send time moved by
     * a DST gap can in theory leave its week, hence the loop; it ends
     * after one step in practice. */
    for (tries = 0;; tries++) {
        r = digest_due_at(s, &p, &due);
        if (r < 0)
            return r;
        if (due <= now_ms)
            break;
        if (tries == 3)
            return -ERANGE;
        r = digest_week_add(&p, -1, &p);
        if (r < 0)
            return r;
    }
    if (!last_sent || digest_week_cmp(last_sent, &p) < 0) {
        if (ret_week)
            *ret_week = p;
        if (ret_due_ms)
            *ret_due_ms = due;
        return 1;
    }
    r = digest_week_add(last_sent, 1, &next);
    if (r < 0)
        return r;
    r = digest_due_at(s, &next, &due);
    if (r < 0)
        return r;
    if (ret_week)
        *ret_week = next;
    if (ret_due_ms)
        *ret_due_ms = due;
    return 0;
}
