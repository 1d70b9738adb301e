/* The digest schedule: ISO week labels and due instants are checked against
 * GNU date (TZ=<zone>, %G-W%V); the "which period is due" rules are
 * checked by simulating a daemon over years with and without downtime. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "testutil.h"
#include "tz.h"

#define REQUIRE(cond, ...)             \
    do {                               \
        if (!(cond))                   \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

#define SEC    1000LL
#define MINUTE (60 * SEC)
#define HOUR   (3600 * SEC)
#define DAY    (86400 * SEC)

static struct digest_schedule *sched(const char *spec)
{
    struct digest_schedule *s = NULL;
    struct perr e = { 0 };
    int r = digest_schedule_parse(spec, NULL, &s, &e);
    ck_assert_msg(r == 0, "%s: %d %s", spec, r, e.msg);
    return s;
}

static int64_t utc_ms(int y, int m, int d)
{
    return tz_days_from_civil(y, m, d) * DAY;
}

static char **split_lines(char *text, size_t *ret_n)
{
    size_t n = 0, cap = 1024;
    char **v = malloc(cap * sizeof(*v));
    char *p = text;
    ck_assert_ptr_nonnull(v);
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(*v));
            ck_assert_ptr_nonnull(v);
        }
        v[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    *ret_n = n;
    return v;
}

/* date -f over the given input lines with TZ=zone and a format; returns
 * the output text (lines point into it). */
static char *oracle(const char *zone, const char *input, const char *fmt, char ***ret_lines,
                    size_t expect)
{
    char *dir = tu_tmpdir(), *path = tu_path_join(dir, "in"), *out = NULL, *err = NULL;
    char tzenv[128];
    const char *argv[] = { "date", "-f", path, fmt, NULL };
    const char *env[] = { tzenv, "LC_ALL=C", NULL };
    size_t n;
    int st;

    tu_write_file(path, input);
    snprintf(tzenv, sizeof(tzenv), "TZ=%s", zone);
    st = tu_run(argv, env, &out, &err);
    ck_assert_msg(st == 0, "date: %s", err);
    *ret_lines = split_lines(out, &n);
    ck_assert_uint_eq(n, expect);
    free(err);
    tu_rmrf(dir);
    free(path);
    free(dir);
    return out;
}

struct text {
    char *data;
    size_t len;
    FILE *f;
};

static void text_open(struct text *t)
{
    t->data = NULL;
    t->len = 0;
    t->f = open_memstream(&t->data, &t->len);
    ck_assert_ptr_nonnull(t->f);
}

static void text_close(struct text *t)
{
    ck_assert_int_eq(fclose(t->f), 0);
}

/* ---- ISO weeks ---- */

static const char *const zones[] = { "UTC", "Europe/Berlin", "America/New_York",
                                     "Australia/Lord_Howe", "Pacific/Kiritimati" };

START_TEST(week_labels_match_date)
{
    const char *zone = zones[_i];
    struct tz *tz = NULL;
    struct text in;
    int64_t *inst = NULL;
    size_t n = 0, cap = 0;
    char **lines, *out;

    if (tz_load(zone, NULL, &tz, NULL) < 0)
        return; /* Kiritimati is an extra; the others always exist */
    text_open(&in);
    /* A sweep, plus the last and first second of every local day around
     * each new year (where ISO years and calendar years part). */
    for (int64_t t = utc_ms(1990, 1, 1); t < utc_ms(2060, 1, 1);
         t += 5 * HOUR + 13 * MINUTE + 7 * SEC) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            inst = realloc(inst, cap * sizeof(*inst));
            ck_assert_ptr_nonnull(inst);
        }
        inst[n++] = t;
    }
    for (int y = 1990; y < 2060; y++) {
        for (int k = -6; k <= 6; k++) {
            int64_t days = tz_days_from_civil(y, 1, 1) + k, yy, t;
            int mm, dd;
            struct tz_wall w;
            tz_civil_from_days(days, &yy, &mm, &dd);
            w = (struct tz_wall){ (int)yy, mm, dd, 0, 0, 0 };
            ck_assert_int_eq(tz_from_local(tz, &w, &t, NULL), 0);
            if (n + 2 > cap) {
                cap *= 2;
                inst = realloc(inst, cap * sizeof(*inst));
                ck_assert_ptr_nonnull(inst);
            }
            inst[n++] = t - SEC;
            inst[n++] = t;
        }
    }
    for (size_t i = 0; i < n; i++)
        fprintf(in.f, "@%" PRId64 "\n", inst[i] / 1000);
    text_close(&in);
    out = oracle(zone, in.data, "+%G-W%V", &lines, n);
    for (size_t i = 0; i < n; i++) {
        struct digest_week w;
        char label[DIGEST_WEEK_LABEL_SIZE];
        REQUIRE(digest_week_of(tz, inst[i], &w) == 0, "week_of");
        digest_week_format(&w, label);
        REQUIRE(strcmp(label, lines[i]) == 0, "%s @%" PRId64 ": mine %s, date %s", zone,
                inst[i] / 1000, label, lines[i]);
    }
    free(lines);
    free(out);
    free(in.data);
    free(inst);
    tz_free(tz);
}
END_TEST

START_TEST(weeks_in_year_match_date)
{
    struct text in;
    char **lines, *out;
    size_t n = 0, n53 = 0;

    text_open(&in);
    for (int y = 1600; y <= 2400; y++, n++)
        fprintf(in.f, "%04d-12-28\n", y);
    text_close(&in);
    out = oracle("UTC", in.data, "+%V", &lines, n);
    for (int y = 1600; y <= 2400; y++) {
        int expect = (int)strtol(lines[y - 1600], NULL, 10);
        char label[16];
        struct digest_week w;
        REQUIRE(digest_weeks_in_year(y) == expect, "%d: mine %d, date %d", y,
                digest_weeks_in_year(y), expect);
        snprintf(label, sizeof(label), "%04d-W53", y);
        REQUIRE((digest_week_parse(label, &w) == 0) == (expect == 53), "%s", label);
        n53 += expect == 53;
    }
    /* 71 of every 400 years have 53 weeks. */
    ck_assert_uint_eq(n53, 2 * 71 + (digest_weeks_in_year(2400) == 53));
    free(lines);
    free(out);
    free(in.data);
}
END_TEST

START_TEST(week_arithmetic_and_labels)
{
    struct digest_week w = { 1990, 1 }, prev = { 0, 0 }, back, parsed;
    char label[DIGEST_WEEK_LABEL_SIZE];
    size_t count = 0;

    /* Walking week by week visits every week of every year once, in order. */
    while (w.year < 2060) {
        ck_assert(digest_week_valid(&w));
        if (prev.year) {
            ck_assert_int_lt(digest_week_cmp(&prev, &w), 0);
            ck_assert_int_gt(digest_week_cmp(&w, &prev), 0);
            if (w.year == prev.year)
                ck_assert_int_eq(w.week, prev.week + 1);
            else
                ck_assert(w.week == 1 && prev.week == digest_weeks_in_year(prev.year));
        }
        digest_week_format(&w, label);
        ck_assert_int_eq(digest_week_parse(label, &parsed), 0);
        ck_assert_int_eq(digest_week_cmp(&parsed, &w), 0);
        ck_assert_int_eq(digest_week_add(&w, -1, &back), 0);
        if (prev.year)
            ck_assert_int_eq(digest_week_cmp(&back, &prev), 0);
        prev = w;
        ck_assert_int_eq(digest_week_add(&w, 1, &w), 0);
        count++;
    }
    {
        /* The number of weeks walked equals the days between the first
         * Mondays, over 7; digest_week_add agrees for a big step too. */
        struct digest_week start = { 1990, 1 }, jump;
        ck_assert_int_eq(digest_week_add(&start, (int)count, &jump), 0);
        ck_assert_int_eq(digest_week_cmp(&jump, &w), 0);
    }
    ck_assert_int_eq(digest_week_cmp(&w, &w), 0);
    ck_assert_int_eq(digest_week_add(&(struct digest_week){ 9999, 52 }, 1, &w), -ERANGE);
    ck_assert_int_eq(digest_week_add(&(struct digest_week){ 1, 1 }, -1, &w), -ERANGE);
}
END_TEST

START_TEST(week_parse_rejects)
{
    static const char *const bad[] = {
        "2026-W00",  "2026-W54", "2026W47",  "2026-w47", "26-W47",   "2026-W4",
        "2026-W470", "",         "0000-W01", "abcd-W01", "2026-W4x", " 2026-W47",
        "2026-W47 ", "+026-W47", "2026-47",  "2026_W47",
    };
    struct digest_week w = { 7, 7 };
    char label[16];
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(digest_week_parse(bad[i], &w) == -EINVAL, "%s", bad[i]);
    ck_assert_int_eq(digest_week_parse(NULL, &w), -EINVAL);
    /* Week 53 only where the year has one. */
    for (int y = 2020; y <= 2030; y++) {
        snprintf(label, sizeof(label), "%d-W53", y);
        if (digest_weeks_in_year(y) == 52)
            ck_assert_int_eq(digest_week_parse(label, &w), -EINVAL);
    }
    ck_assert_int_eq(w.year, 7); /* untouched on failure */
    ck_assert_int_eq(w.week, 7);
}
END_TEST

/* ---- due instants ---- */

/* For every week in [from, to) the due instant, as date shows it, must be
 * in that week, on the scheduled weekday, at the scheduled local time (or
 * `gap_time` when the time does not exist that day).  Returns how many
 * weeks showed each distinct UTC offset (via the abbreviation). */
static void check_due(const char *spec, const char *zone, int from_year, int to_year, int wday,
                      const char *hhmm, const char *gap_hhmm, size_t *ret_gaps, size_t *ret_abbrs)
{
    struct digest_schedule *s = sched(spec);
    struct digest_week w = { from_year, 1 };
    struct text in;
    struct digest_week *weeks = NULL;
    size_t n = 0, cap = 0, gaps = 0, nabbr = 0;
    char **lines, *out, abbrs[8][16];

    text_open(&in);
    while (w.year < to_year) {
        int64_t due;
        ck_assert_int_eq(digest_due_at(s, &w, &due), 0);
        fprintf(in.f, "@%" PRId64 "\n", due / 1000);
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            weeks = realloc(weeks, cap * sizeof(*weeks));
            ck_assert_ptr_nonnull(weeks);
        }
        weeks[n++] = w;
        ck_assert_int_eq(digest_week_add(&w, 1, &w), 0);
    }
    text_close(&in);
    out = oracle(zone, in.data, "+%G-W%V %u %H:%M %Z", &lines, n);
    for (size_t i = 0; i < n; i++) {
        char label[DIGEST_WEEK_LABEL_SIZE], expect[64], expect_gap[64], abbr[16];
        bool seen = false;
        digest_week_format(&weeks[i], label);
        snprintf(expect, sizeof(expect), "%s %d %s ", label, wday, hhmm);
        snprintf(expect_gap, sizeof(expect_gap), "%s %d %s ", label, wday,
                 gap_hhmm ? gap_hhmm : "-");
        if (gap_hhmm && str_has_prefix(lines[i], expect_gap)) {
            gaps++;
        } else {
            ck_assert_msg(str_has_prefix(lines[i], expect), "%s: due %s, date shows %s", spec,
                          label, lines[i]);
        }
        snprintf(abbr, sizeof(abbr), "%s", strrchr(lines[i], ' ') + 1);
        for (size_t k = 0; k < nabbr; k++)
            seen = seen || strcmp(abbrs[k], abbr) == 0;
        if (!seen && nabbr < 8)
            snprintf(abbrs[nabbr++], sizeof(abbrs[0]), "%s", abbr);
    }
    if (ret_gaps)
        *ret_gaps = gaps;
    if (ret_abbrs)
        *ret_abbrs = nabbr;
    free(lines);
    free(out);
    free(in.data);
    free(weeks);
    digest_schedule_free(s);
}

START_TEST(due_keeps_local_time_across_dst)
{
    size_t gaps, abbrs;
    /* Monday 08:00 in Berlin: 08:00 CET in winter, 08:00 CEST in summer. */
    check_due("Mon 08:00 Europe/Berlin", "Europe/Berlin", 1995, 2060, 1, "08:00", NULL, &gaps,
              &abbrs);
    ck_assert_uint_eq(abbrs, 2);
    check_due("Fri 17:30 America/New_York", "America/New_York", 2000, 2040, 5, "17:30", NULL, NULL,
              &abbrs);
    ck_assert_uint_eq(abbrs, 2);
    check_due("Wed 00:00 UTC", "UTC", 1990, 2050, 3, "00:00", NULL, NULL, &abbrs);
    ck_assert_uint_eq(abbrs, 1);
    check_due("Sun 23:45 Australia/Lord_Howe", "Australia/Lord_Howe", 2000, 2040, 7, "23:45", NULL,
              NULL, &abbrs);
    ck_assert_uint_eq(abbrs, 2);
}
END_TEST

START_TEST(due_in_gap_moves_forward)
{
    size_t gaps;
    /* Berlin's spring change is on a Sunday at 02:00: "Sun 02:30" does not
     * exist that day and becomes 03:30 summer time, once a year. */
    check_due("Sun 02:30 Europe/Berlin", "Europe/Berlin", 2000, 2040, 7, "02:30", "03:30", &gaps,
              NULL);
    ck_assert_uint_eq(gaps, 40);
    /* Lord Howe jumps 30 minutes at 02:00 on the first Sunday of October. */
    check_due("Sun 02:15 Australia/Lord_Howe", "Australia/Lord_Howe", 2010, 2040, 7, "02:15",
              "02:45", &gaps, NULL);
    ck_assert_uint_eq(gaps, 30);
}
END_TEST

START_TEST(due_in_fold_is_first)
{
    /* "Sun 02:30" in Berlin on the autumn day: the summer-time 02:30. */
    struct digest_schedule *s = sched("Sun 02:30 Europe/Berlin");
    const struct tz *tz = digest_schedule_tz(s);
    size_t folds = 0;
    for (int y = 2000; y < 2040; y++) {
        struct digest_week w = { y, 1 };
        while (w.year == y) {
            int64_t due;
            struct tz_local a, b;
            ck_assert_int_eq(digest_due_at(s, &w, &due), 0);
            ck_assert_int_eq(tz_to_local(tz, due, &a), 0);
            ck_assert_int_eq(tz_to_local(tz, due + HOUR, &b), 0);
            if (b.hour == 2 && b.minute == 30) {
                /* The wall time repeats an hour later: we took the first. */
                ck_assert(a.is_dst && !b.is_dst);
                ck_assert(a.hour == 2 && a.minute == 30);
                folds++;
            }
            ck_assert_int_eq(digest_week_add(&w, 1, &w), 0);
        }
    }
    ck_assert_uint_eq(folds, 40);
    digest_schedule_free(s);
}
END_TEST

START_TEST(period_windows)
{
    struct digest_schedule *s = sched("Mon 08:00 Europe/Berlin");
    struct digest_week w = { 2020, 1 };
    size_t shorter = 0, longer = 0, normal = 0;
    while (w.year < 2030) {
        int64_t from, to, due, prev_due;
        struct digest_week prev;
        ck_assert_int_eq(digest_period_window(s, &w, &from, &to), 0);
        ck_assert_int_eq(digest_due_at(s, &w, &due), 0);
        ck_assert_int_eq(digest_week_add(&w, -1, &prev), 0);
        ck_assert_int_eq(digest_due_at(s, &prev, &prev_due), 0);
        ck_assert_int_eq(to, due);
        ck_assert_int_eq(from, prev_due);
        if (to - from == 7 * DAY)
            normal++;
        else if (to - from == 7 * DAY - HOUR)
            shorter++;
        else if (to - from == 7 * DAY + HOUR)
            longer++;
        else
            ck_abort_msg("window of %" PRId64 " ms", to - from);
        ck_assert_int_eq(digest_week_add(&w, 1, &w), 0);
    }
    /* One week a year loses an hour (spring), one gains it (autumn). */
    ck_assert_uint_eq(shorter, 10);
    ck_assert_uint_eq(longer, 10);
    ck_assert_uint_gt(normal, 500);
    ck_assert_int_eq(digest_period_window(s, &(struct digest_week){ 2025, 53 }, &(int64_t){ 0 },
                                          &(int64_t){ 0 }),
                     -EINVAL);
    digest_schedule_free(s);
}
END_TEST

/* ---- which period is due ---- */

static int64_t due_of(const struct digest_schedule *s, struct digest_week w, int delta)
{
    int64_t t;
    ck_assert_int_eq(digest_week_add(&w, delta, &w), 0);
    ck_assert_int_eq(digest_due_at(s, &w, &t), 0);
    return t;
}

static struct digest_week week_plus(struct digest_week w, int delta)
{
    ck_assert_int_eq(digest_week_add(&w, delta, &w), 0);
    return w;
}

static void expect_next(const struct digest_schedule *s, const struct digest_week *last,
                        int64_t now, int rc, struct digest_week week, int64_t due)
{
    struct digest_week got;
    int64_t at;
    char a[DIGEST_WEEK_LABEL_SIZE], b[DIGEST_WEEK_LABEL_SIZE];
    ck_assert_int_eq(digest_next(s, last, now, &got, &at), rc);
    digest_week_format(&got, a);
    digest_week_format(&week, b);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(at, due);
}

START_TEST(next_rules)
{
    struct digest_schedule *s = sched("Mon 08:00 Europe/Berlin");
    /* The week after the spring change, and one across a year end. */
    struct digest_week weeks[] = { { 2026, 14 }, { 2027, 1 }, { 2026, 53 } };
    for (size_t i = 0; i < ARRAY_SIZE(weeks); i++) {
        struct digest_week W = weeks[i], last;
        int64_t due = due_of(s, W, 0);

        /* Not before its send time, due from it on. */
        last = week_plus(W, -1);
        expect_next(s, &last, due - 1, 0, W, due);
        expect_next(s, &last, due, 1, W, due);
        expect_next(s, &last, due + 3 * DAY, 1, W, due);
        /* Once sent, never again; the next week is next. */
        expect_next(s, &W, due, 0, week_plus(W, 1), due_of(s, W, 1));
        expect_next(s, &W, due + 6 * DAY, 0, week_plus(W, 1), due_of(s, W, 1));
        /* After five weeks of downtime only the latest period is due. */
        last = week_plus(W, -5);
        expect_next(s, &last, due + HOUR, 1, W, due);
        /* Between two send times the previous period is the latest. */
        last = week_plus(W, -3);
        expect_next(s, &last, due - HOUR, 1, week_plus(W, -1), due_of(s, W, -1));
        /* Never sent: the latest period. */
        expect_next(s, NULL, due + 1, 1, W, due);
        expect_next(s, NULL, due - 1, 1, week_plus(W, -1), due_of(s, W, -1));
        /* The clock went back: what was sent is not sent again. */
        last = week_plus(W, 2);
        expect_next(s, &last, due + 1, 0, week_plus(W, 3), due_of(s, W, 3));
    }
    ck_assert_int_eq(digest_next(s, &(struct digest_week){ 2025, 53 }, 0, NULL, NULL), -EINVAL);
    ck_assert_int_eq(digest_next(s, &(struct digest_week){ 2025, 0 }, 0, NULL, NULL), -EINVAL);
    ck_assert_int_eq(digest_next(s, NULL, utc_ms(2026, 5, 5), NULL, NULL), 1);
    ck_assert_int_eq(digest_next(s, NULL, TZ_MAX_MS + 1, NULL, NULL), -ERANGE);
    digest_schedule_free(s);
}
END_TEST

/* A daemon that wakes up every `tick` and sends whatever digest_next()
 * says is due, down during pseudo-random outages.  Checks every rule at
 * every step; returns the weeks sent. */
static size_t simulate(const char *spec, int64_t start, int64_t end, int64_t tick, bool outages,
                       struct digest_week *sent, int64_t *sent_at, size_t max)
{
    struct digest_schedule *s = sched(spec);
    struct digest_week last = { 0, 0 };
    bool have_last = false;
    size_t n = 0;
    uint64_t rnd = 0x2545f4914f6cdd1dULL;

    for (int64_t now = start; now < end; now += tick) {
        struct digest_week w, again;
        int64_t due;
        int r;

        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        if (outages && rnd % 500 == 0) {
            /* Down for one hour to 40 days. */
            now += HOUR + (int64_t)(rnd % (40 * (uint64_t)DAY));
            if (now >= end)
                break;
        }
        r = digest_next(s, have_last ? &last : NULL, now, &w, &due);
        REQUIRE(r == 0 || r == 1, "digest_next = %d", r);
        if (r == 0) {
            REQUIRE(due > now, "not due, yet due at %" PRId64 " <= now %" PRId64, due, now);
            continue;
        }
        REQUIRE(due <= now, "due in the future");
        REQUIRE(!have_last || digest_week_cmp(&w, &last) > 0, "a period sent twice or backwards");
        /* The most recent period: the next one is not due yet. */
        REQUIRE(due_of(s, w, 1) > now, "an older period while a newer one is due");
        REQUIRE(n < max, "too many sends");
        sent[n] = w;
        sent_at[n] = now;
        n++;
        last = w;
        have_last = true;
        /* Right after sending, nothing is due. */
        REQUIRE(digest_next(s, &last, now, &again, NULL) == 0, "due again right after sending");
    }
    digest_schedule_free(s);
    return n;
}

START_TEST(simulated_daemon_without_downtime)
{
    static struct digest_week sent[2000];
    static int64_t at[2000];
    struct digest_schedule *s = sched("Mon 08:00 Europe/Berlin");
    const struct tz *tz = digest_schedule_tz(s);
    int64_t tick = 7 * MINUTE + 13 * SEC;
    size_t n = simulate("Mon 08:00 Europe/Berlin", utc_ms(2019, 12, 1), utc_ms(2033, 1, 15), tick,
                        false, sent, at, ARRAY_SIZE(sent));
    size_t w53 = 0;

    ck_assert_uint_gt(n, 600);
    for (size_t i = 0; i < n; i++) {
        struct tz_local l;
        int64_t due;
        ck_assert_int_eq(digest_due_at(s, &sent[i], &due), 0);
        if (i == 0) {
            /* Never sent before: the latest period goes out at once. */
            ck_assert_int_eq(at[0], utc_ms(2019, 12, 1));
            ck_assert(due <= at[0] && due_of(s, sent[0], 1) > at[0]);
            continue;
        }
        /* Sent at the first tick at or after the due instant... */
        ck_assert(at[i] >= due && at[i] < due + tick);
        /* ...which is Monday 08:00 local, summer or winter. */
        ck_assert_int_eq(tz_to_local(tz, at[i], &l), 0);
        ck_assert(l.weekday == 1 && l.hour == 8 && l.minute < 8);
        /* Every week exactly once, in order, across year ends. */
        {
            struct digest_week next;
            ck_assert_int_eq(digest_week_add(&sent[i - 1], 1, &next), 0);
            ck_assert_int_eq(digest_week_cmp(&next, &sent[i]), 0);
        }
        w53 += sent[i].week == 53;
    }
    /* 2020, 2026 and 2032 have a week 53 (by the calendar, not by us). */
    {
        size_t expect = 0;
        for (int y = 2020; y <= 2032; y++)
            expect += digest_weeks_in_year(y) == 53;
        ck_assert_uint_eq(w53, expect);
        ck_assert_uint_ge(expect, 2);
    }
    digest_schedule_free(s);
}
END_TEST

START_TEST(simulated_daemon_with_downtime)
{
    static struct digest_week sent[2000];
    static int64_t at[2000];
    static const char *const specs[] = { "Mon 08:00 Europe/Berlin", "Sun 02:30 Europe/Berlin",
                                         "Thu 23:59 Australia/Lord_Howe", "Sat 00:00 UTC" };
    for (size_t k = 0; k < ARRAY_SIZE(specs); k++) {
        size_t n = simulate(specs[k], utc_ms(2019, 12, 1), utc_ms(2033, 1, 15),
                            17 * MINUTE + 3 * SEC, true, sent, at, ARRAY_SIZE(sent));
        /* Outages made some weeks go unsent (never sent late in a burst:
         * simulate() checked that each send is the latest period). */
        ck_assert_uint_gt(n, 100);
        ck_assert_uint_lt(n, 680);
    }
}
END_TEST

/* ---- parsing ---- */

static void expect_spec(const char *spec, const char *canonical)
{
    struct digest_schedule *s = sched(spec);
    char buf[128];
    ck_assert_int_eq(digest_schedule_format(s, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, canonical);
    digest_schedule_free(s);
}

static void expect_bad_spec(const char *spec, int code, const char *msg)
{
    struct digest_schedule *s = NULL;
    struct perr e = { 0 };
    ck_assert_int_eq(digest_schedule_parse(spec, NULL, &s, &e), code);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(e.msg, msg);
}

START_TEST(schedule_parse)
{
    char longspec[600];
    struct digest_schedule *s;
    char small[8];

    expect_spec("Mon 08:00 Europe/Berlin", "Mon 08:00 Europe/Berlin");
    expect_spec("monday 8:00 Europe/Berlin", "Mon 08:00 Europe/Berlin");
    expect_spec("SUN 23:59", "Sun 23:59 UTC");
    expect_spec("  Fri\t17:30   America/New_York ", "Fri 17:30 America/New_York");
    expect_spec("wednesday 00:00 Australia/Lord_Howe", "Wed 00:00 Australia/Lord_Howe");

    expect_bad_spec("", -EINVAL,
                    "invalid digest schedule \"\": expected \"<weekday> <HH:MM> [<zone>]\", e.g. "
                    "\"Mon 08:00 Europe/Berlin\"");
    expect_bad_spec("Mon", -EINVAL,
                    "invalid digest schedule \"Mon\": expected \"<weekday> <HH:MM> [<zone>]\", "
                    "e.g. \"Mon 08:00 Europe/Berlin\"");
    expect_bad_spec("Mon 08:00 Europe/Berlin weekly", -EINVAL,
                    "invalid digest schedule \"Mon 08:00 Europe/Berlin weekly\": expected "
                    "\"<weekday> <HH:MM> [<zone>]\", e.g. \"Mon 08:00 Europe/Berlin\"");
    expect_bad_spec("Mo 08:00", -EINVAL,
                    "invalid digest schedule \"Mo 08:00\": unknown weekday \"Mo\"");
    expect_bad_spec("Mond 08:00", -EINVAL,
                    "invalid digest schedule \"Mond 08:00\": unknown weekday \"Mond\"");
    expect_bad_spec("08:00 Mon", -EINVAL,
                    "invalid digest schedule \"08:00 Mon\": unknown weekday \"08:00\"");
    expect_bad_spec("Mon 24:00", -EINVAL,
                    "invalid digest schedule \"Mon 24:00\": bad time \"24:00\" (use HH:MM from "
                    "00:00 to 23:59)");
    expect_bad_spec("Mon 8:0", -EINVAL,
                    "invalid digest schedule \"Mon 8:0\": bad time \"8:0\" (use HH:MM from 00:00 "
                    "to 23:59)");
    expect_bad_spec("Mon 08:60", -EINVAL,
                    "invalid digest schedule \"Mon 08:60\": bad time \"08:60\" (use HH:MM from "
                    "00:00 to 23:59)");
    expect_bad_spec("Mon 08h00", -EINVAL,
                    "invalid digest schedule \"Mon 08h00\": bad time \"08h00\" (use HH:MM from "
                    "00:00 to 23:59)");
    expect_bad_spec("Mon -8:00", -EINVAL,
                    "invalid digest schedule \"Mon -8:00\": bad time \"-8:00\" (use HH:MM from "
                    "00:00 to 23:59)");
    expect_bad_spec("Mon 08:00 ../etc/passwd", -EINVAL,
                    "invalid digest schedule \"Mon 08:00 ../etc/passwd\": invalid time zone name "
                    "\"../etc/passwd\"");
    expect_bad_spec("Mon 08:00 Mars/Base", -ENOENT,
                    "invalid digest schedule \"Mon 08:00 Mars/Base\": unknown time zone "
                    "\"Mars/Base\" (no such zone in /usr/share/zoneinfo)");
    memset(longspec, 'x', sizeof(longspec) - 1);
    longspec[sizeof(longspec) - 1] = '\0';
    expect_bad_spec(longspec, -EINVAL, "invalid digest schedule: missing or longer than 512 bytes");
    expect_bad_spec(NULL, -EINVAL, "invalid digest schedule: missing or longer than 512 bytes");

    s = sched("Mon 08:00 Europe/Berlin");
    ck_assert_int_eq(digest_schedule_format(s, small, sizeof(small)), -ENOBUFS);
    ck_assert_ptr_null(digest_schedule_free(s));
    ck_assert_ptr_null(digest_schedule_free(NULL));
}
END_TEST

static Suite *digest_suite(void)
{
    Suite *s = suite_create("digest");
    TCase *weeks = tcase_create("weeks"), *due = tcase_create("due"), *next = tcase_create("next");
    TCase *parse = tcase_create("parse");

    tcase_set_timeout(weeks, 300);
    tcase_add_loop_test(weeks, week_labels_match_date, 0, ARRAY_SIZE(zones));
    tcase_add_test(weeks, weeks_in_year_match_date);
    tcase_add_test(weeks, week_arithmetic_and_labels);
    tcase_add_test(weeks, week_parse_rejects);
    suite_add_tcase(s, weeks);

    tcase_set_timeout(due, 300);
    tcase_add_test(due, due_keeps_local_time_across_dst);
    tcase_add_test(due, due_in_gap_moves_forward);
    tcase_add_test(due, due_in_fold_is_first);
    tcase_add_test(due, period_windows);
    suite_add_tcase(s, due);

    tcase_set_timeout(next, 300);
    tcase_add_test(next, next_rules);
    tcase_add_test(next, simulated_daemon_without_downtime);
    tcase_add_test(next, simulated_daemon_with_downtime);
    suite_add_tcase(s, next);

    tcase_add_test(parse, schedule_parse);
    suite_add_tcase(s, parse);
    return s;
}

int main(void)
{
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
        tu_skip("the IANA time zone database is not installed in /usr/share/zoneinfo");
    return tu_run_suite(digest_suite());
}
