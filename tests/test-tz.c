/* lib/tz against the system's own time zone code: every conversion is
 * compared with GNU date run in a child process with TZ=<zone> (glibc reads
 * the same TZif files and POSIX TZ strings independently of us). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tz.h"

/* Check's ck_assert reports every passing check to the parent process,
 * which is far too slow for loops over millions of instants. */
#define REQUIRE(cond, ...)             \
    do {                               \
        if (!(cond))                   \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

#define HOUR 3600LL
#define DAY  86400LL

static struct tz *load(const char *name)
{
    struct tz *tz = NULL;
    struct perr e = { 0 };
    int r = tz_load(name, NULL, &tz, &e);
    ck_assert_msg(r == 0, "tz_load(%s) = %d: %s", name, r, e.msg);
    return tz;
}

static bool zone_installed(const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", TZ_DEFAULT_DIR, name);
    return stat(path, &st) == 0;
}

static int64_t civil_secs(int y, int m, int d)
{
    return tz_days_from_civil(y, m, d) * DAY;
}

/* The same layout as the oracle's format below. */
#define DATE_FMT "+%Y-%m-%d %H:%M:%S %::z %Z %u %j"

static void fmt_local(const struct tz_local *l, char *buf, size_t n)
{
    int off = l->utc_offset < 0 ? -l->utc_offset : l->utc_offset;
    /* GNU date writes the offset of the "-00" (unknown local time)
     * designation as -00:00:00. */
    bool minus = l->utc_offset < 0 || strcmp(l->abbr, "-00") == 0;
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d %c%02d:%02d:%02d %s %d %03d", l->year, l->month,
             l->day, l->hour, l->minute, l->second, minus ? '-' : '+', off / 3600, off / 60 % 60,
             off % 60, l->abbr, l->weekday, l->yearday);
}

/* Split a malloc'd text into lines (pointers into it, NUL-terminated). */
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

/* Run date -f over instants (seconds) with TZ=tzval; one line each. */
static char *oracle_instants(const char *tzval, const int64_t *secs, size_t n, char ***ret_lines)
{
    char *dir = tu_tmpdir(), *path = tu_path_join(dir, "instants");
    char tzenv[300], *out = NULL, *err = NULL;
    const char *argv[] = { "date", "-f", path, DATE_FMT, NULL };
    const char *env[] = { tzenv, "LC_ALL=C", NULL };
    FILE *f = fopen(path, "w");
    size_t nlines;
    int st;

    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "@%" PRId64 "\n", secs[i]);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(tzenv, sizeof(tzenv), "TZ=%s", tzval);
    st = tu_run(argv, env, &out, &err);
    ck_assert_msg(st == 0, "date failed (%d): %s", st, err);
    *ret_lines = split_lines(out, &nlines);
    ck_assert_uint_eq(nlines, n);
    free(err);
    tu_rmrf(dir);
    free(path);
    free(dir);
    return out;
}

struct vec {
    int64_t *v;
    size_t n, cap;
};

static void vec_push(struct vec *v, int64_t x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4096;
        v->v = realloc(v->v, v->cap * sizeof(*v->v));
        ck_assert_ptr_nonnull(v->v);
    }
    v->v[v->n++] = x;
}

static bool same_state(const struct tz_local *a, const struct tz_local *b)
{
    return a->utc_offset == b->utc_offset && a->is_dst == b->is_dst &&
           strcmp(a->abbr, b->abbr) == 0;
}

/* Find every change of offset/DST/abbreviation between from and to
 * (seconds) by a scan every 4 hours and bisection to the exact second.
 * (No zone has had two changes less than 4 hours apart that returned to
 * the same state; the coarse sweep would catch one anyway.) */
static void find_transitions(const struct tz *tz, int64_t from, int64_t to, struct vec *out)
{
    struct tz_local a, b;
    REQUIRE(tz_to_local(tz, from * 1000, &a) == 0, "tz_to_local");
    for (int64_t t = from; t < to; t += 4 * HOUR) {
        REQUIRE(tz_to_local(tz, (t + 4 * HOUR) * 1000, &b) == 0, "tz_to_local");
        if (!same_state(&a, &b)) {
            int64_t lo = t, hi = t + 4 * HOUR; /* state(lo) == a, state(hi) != a */
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                struct tz_local m;
                REQUIRE(tz_to_local(tz, mid * 1000, &m) == 0, "tz_to_local");
                if (same_state(&a, &m))
                    lo = mid;
                else
                    hi = mid;
            }
            vec_push(out, hi);
        }
        a = b;
    }
}

/* Compare tz_to_local() with date for a sweep of instants: a coarse
 * incommensurate step over [from, to), every transition found in that range
 * and the seconds either side of it, and pseudo-random instants. */
static void sweep(const struct tz *tz, const char *tzval, int64_t from, int64_t to, int64_t step,
                  size_t nrandom)
{
    struct vec inst = { 0 }, trans = { 0 };
    char **lines, *out;
    size_t bad = 0;
    uint64_t rnd = 0x9e3779b97f4a7c15ULL;

    for (int64_t t = from; t < to; t += step)
        vec_push(&inst, t);
    find_transitions(tz, from, to, &trans);
    for (size_t i = 0; i < trans.n; i++) {
        vec_push(&inst, trans.v[i] - 1);
        vec_push(&inst, trans.v[i]);
        vec_push(&inst, trans.v[i] + 1);
    }
    for (size_t i = 0; i < nrandom; i++) {
        int64_t lo = civil_secs(1, 1, 2), hi = civil_secs(9999, 12, 30);
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        vec_push(&inst, lo + (int64_t)(rnd % (uint64_t)(hi - lo)));
    }
    out = oracle_instants(tzval, inst.v, inst.n, &lines);
    for (size_t i = 0; i < inst.n; i++) {
        struct tz_local l;
        char mine[128];
        REQUIRE(tz_to_local(tz, inst.v[i] * 1000, &l) == 0, "tz_to_local @%" PRId64, inst.v[i]);
        fmt_local(&l, mine, sizeof(mine));
        if (strcmp(mine, lines[i]) != 0 && bad++ < 5)
            fprintf(stderr, "%s @%" PRId64 ": mine \"%s\", date \"%s\"\n", tzval, inst.v[i], mine,
                    lines[i]);
    }
    ck_assert_msg(bad == 0, "%s: %zu of %zu instants differ from date", tzval, bad, inst.n);
    free(lines);
    free(out);
    free(inst.v);
    free(trans.v);
}

static const char *const main_zones[] = { "UTC", "Europe/Berlin", "Europe/London",
                                          "America/New_York", "Australia/Lord_Howe" };
/* Zones exercising footer extensions and odd offsets: hour 26 (Jerusalem),
 * negative rule time (Nuuk), negative DST (Dublin), 2-hour DST (Troll),
 * +12:45 (Chatham), -3:30 (St Johns), many transitions (Casablanca). */
static const char *const extra_zones[] = {
    "Asia/Jerusalem",   "America/Nuuk",      "Europe/Dublin", "Antarctica/Troll", "Pacific/Chatham",
    "America/St_Johns", "Africa/Casablanca", "Asia/Kolkata",  "Pacific/Apia"
};

START_TEST(to_local_matches_date)
{
    const char *name = main_zones[_i];
    struct tz *tz = load(name);
    sweep(tz, name, civil_secs(1850, 1, 1), civil_secs(2200, 1, 1), 19 * HOUR + 7 * 60 + 11, 5000);
    tz_free(tz);
}
END_TEST

START_TEST(to_local_matches_date_extra)
{
    const char *name = extra_zones[_i];
    struct tz *tz;
    if (!zone_installed(name))
        return;
    tz = load(name);
    sweep(tz, name, civil_secs(1850, 1, 1), civil_secs(2200, 1, 1), 53 * HOUR + 7 * 60 + 11, 2000);
    tz_free(tz);
}
END_TEST

START_TEST(transitions_exist)
{
    /* The sweep compares transitions it finds itself; make sure it finds
     * the ones that matter, so a zone stuck at one offset cannot pass. */
    static const struct {
        const char *zone;
        size_t min;
    } z[] = { { "Europe/Berlin", 140 },
              { "Europe/London", 200 },
              { "America/New_York", 200 },
              { "Australia/Lord_Howe", 100 } };
    for (size_t i = 0; i < ARRAY_SIZE(z); i++) {
        struct tz *tz = load(z[i].zone);
        struct vec tr = { 0 };
        find_transitions(tz, civil_secs(1970, 1, 1), civil_secs(2100, 1, 1), &tr);
        ck_assert_msg(tr.n >= z[i].min, "%s: only %zu transitions", z[i].zone, tr.n);
        free(tr.v);
        tz_free(tz);
    }
}
END_TEST

/* ---- local -> UTC ---- */

static struct tz_wall wall_from_local(int64_t L)
{
    int64_t days = L / DAY, y;
    int m, d;
    if (L % DAY < 0)
        days--;
    tz_civil_from_days(days, &y, &m, &d);
    L -= days * DAY;
    return (struct tz_wall){ (int)y, m, d, (int)(L / HOUR), (int)(L % HOUR / 60), (int)(L % 60) };
}

/* For every transition T between from and to (offset o1 before, o2 after)
 * and every wall minute around it, tz_from_local() must agree with the
 * instants tz_to_local() (checked above against date) maps there: the
 * candidates are L - o1 (valid before T) and L - o2 (valid from T on). */
static size_t check_from_local(const struct tz *tz, int64_t from, int64_t to)
{
    struct vec tr = { 0 };
    size_t checked = 0;

    find_transitions(tz, from, to, &tr);
    for (size_t i = 0; i < tr.n; i++) {
        int64_t T = tr.v[i];
        struct tz_local before, after;
        int32_t o1, o2;
        /* Skip transitions with another one within two days. */
        if ((i > 0 && T - tr.v[i - 1] < 2 * DAY) || (i + 1 < tr.n && tr.v[i + 1] - T < 2 * DAY))
            continue;
        ck_assert_int_eq(tz_to_local(tz, (T - 1) * 1000, &before), 0);
        ck_assert_int_eq(tz_to_local(tz, T * 1000, &after), 0);
        o1 = before.utc_offset;
        o2 = after.utc_offset;
        if (o1 == o2)
            continue; /* only the abbreviation or DST flag changed */
        for (int64_t L = T + MIN(o1, o2) - 2 * HOUR; L <= T + MAX(o1, o2) + 2 * HOUR; L += 60) {
            int64_t c1 = L - o1, c2 = L - o2, got;
            bool v1 = c1 < T, v2 = c2 >= T;
            struct tz_wall w = wall_from_local(L);
            enum tz_match m;
            REQUIRE(tz_from_local(tz, &w, &got, &m) == 0, "tz_from_local L=%" PRId64, L);
            if (v1 && v2) {
                REQUIRE(m == TZ_FOLD && got == MIN(c1, c2) * 1000,
                        "%s L=%" PRId64 ": expected fold %" PRId64 ", got %d %" PRId64, tz_name(tz),
                        L, MIN(c1, c2), m, got / 1000);
            } else if (v1 || v2) {
                REQUIRE(m == TZ_UNIQUE && got == (v1 ? c1 : c2) * 1000,
                        "%s L=%" PRId64 ": expected %" PRId64 ", got %d %" PRId64, tz_name(tz), L,
                        v1 ? c1 : c2, m, got / 1000);
            } else {
                REQUIRE(m == TZ_GAP && got == c1 * 1000,
                        "%s L=%" PRId64 ": expected gap -> %" PRId64 ", got %d %" PRId64,
                        tz_name(tz), L, c1, m, got / 1000);
            }
            checked++;
        }
    }
    free(tr.v);
    return checked;
}

START_TEST(from_local_around_transitions)
{
    const char *name = main_zones[_i];
    struct tz *tz = load(name);
    size_t n = check_from_local(tz, civil_secs(1900, 1, 1), civil_secs(2150, 1, 1));
    if (strcmp(name, "UTC") != 0)
        ck_assert_uint_gt(n, 1000);
    tz_free(tz);
}
END_TEST

START_TEST(from_local_extra_zones)
{
    const char *name = extra_zones[_i];
    struct tz *tz;
    if (!zone_installed(name))
        return;
    tz = load(name);
    check_from_local(tz, civil_secs(1900, 1, 1), civil_secs(2150, 1, 1));
    tz_free(tz);
}
END_TEST

/* GNU date -d parses a wall time with the same zone: it refuses times in a
 * gap ("invalid date") and picks one of the two instants of a fold.  One
 * date process reads all wall times; each is followed by the marker "@0"
 * (printed as "0"), so a refused line shows as a missing answer. */
START_TEST(from_local_matches_date)
{
    static const char *const zones[] = { "Europe/Berlin", "Europe/London", "America/New_York",
                                         "Australia/Lord_Howe" };
    for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
        struct tz *tz = load(zones[z]);
        struct vec tr = { 0 };
        char *dir = tu_tmpdir(), *path = tu_path_join(dir, "walls"), *out = NULL, **lines;
        char tzenv[64];
        const char *argv[] = { "date", "-f", path, "+%s", NULL };
        const char *env[] = { tzenv, "LC_ALL=C", NULL };
        struct tz_wall walls[1024];
        size_t n = 0, nlines, li = 0, gaps = 0, folds = 0, unique = 0;
        FILE *f = fopen(path, "w");
        int st;

        ck_assert_ptr_nonnull(f);
        find_transitions(tz, civil_secs(2025, 1, 1), civil_secs(2028, 1, 1), &tr);
        ck_assert_uint_ge(tr.n, 6);
        for (size_t i = 0; i < tr.n; i++) {
            struct tz_local l;
            ck_assert_int_eq(tz_to_local(tz, (tr.v[i] - 2 * HOUR) * 1000, &l), 0);
            /* Every 10 minutes from two hours before the change (local). */
            for (int k = 0; k < 30 && n < ARRAY_SIZE(walls); k++) {
                int64_t L = tz_days_from_civil(l.year, l.month, l.day) * DAY + l.hour * HOUR +
                            (l.minute / 10) * 600 + k * 600;
                walls[n] = wall_from_local(L);
                fprintf(f, "%04d-%02d-%02d %02d:%02d:00\n@0\n", walls[n].year, walls[n].month,
                        walls[n].day, walls[n].hour, walls[n].minute);
                n++;
            }
        }
        ck_assert_int_eq(fclose(f), 0);
        snprintf(tzenv, sizeof(tzenv), "TZ=%s", zones[z]);
        st = tu_run(argv, env, &out, NULL);
        ck_assert_msg(st == 0 || st == 1, "date exited %d", st);
        lines = split_lines(out, &nlines);
        for (size_t i = 0; i < n; i++) {
            int64_t got;
            enum tz_match m;
            ck_assert_uint_lt(li, nlines);
            ck_assert_int_eq(tz_from_local(tz, &walls[i], &got, &m), 0);
            if (strcmp(lines[li], "0") == 0) {
                ck_assert_msg(m == TZ_GAP, "%s %04d-%02d-%02d %02d:%02d: date says gap, got %d",
                              zones[z], walls[i].year, walls[i].month, walls[i].day, walls[i].hour,
                              walls[i].minute, m);
                gaps++;
                li++;
                continue;
            }
            ck_assert_msg(m != TZ_GAP, "%s wall %zu: date found %s, we say gap", zones[z], i,
                          lines[li]);
            if (m == TZ_UNIQUE) {
                char s[32];
                snprintf(s, sizeof(s), "%" PRId64, got / 1000);
                ck_assert_msg(strcmp(s, lines[li]) == 0, "%s wall %zu: date %s, mine %s", zones[z],
                              i, lines[li], s);
                unique++;
            } else {
                /* Ours is the first occurrence; date's is one of the two. */
                struct tz_local a, b;
                int64_t theirs;
                ck_assert_int_eq(parse_int64(lines[li], &theirs), 0);
                ck_assert_int_le(got / 1000, theirs);
                ck_assert_int_eq(tz_to_local(tz, theirs * 1000, &a), 0);
                ck_assert_int_eq(tz_to_local(tz, got, &b), 0);
                ck_assert(a.hour == b.hour && a.minute == b.minute && a.day == b.day);
                folds++;
            }
            ck_assert_uint_lt(li + 1, nlines);
            ck_assert_str_eq(lines[li + 1], "0");
            li += 2;
        }
        ck_assert_uint_eq(li, nlines);
        ck_assert_msg(gaps > 0 && folds > 0 && unique > 0, "%s: %zu gaps %zu folds", zones[z], gaps,
                      folds);
        free(lines);
        free(out);
        free(tr.v);
        tu_rmrf(dir);
        free(dir);
        free(path);
        tz_free(tz);
    }
}
END_TEST

START_TEST(gap_and_fold_berlin)
{
    /* The documented choices, read through tz_to_local() (not numbers):
     * 02:30 in the spring gap becomes 03:30 summer time, the autumn 02:30
     * is the summer-time (first) one. */
    struct tz *tz = load("Europe/Berlin");
    struct tz_wall spring = { 2026, 3, 29, 2, 30, 0 }, autumn = { 2026, 10, 25, 2, 30, 0 };
    struct tz_local l, l2;
    enum tz_match m;
    int64_t t;

    ck_assert_int_eq(tz_from_local(tz, &spring, &t, &m), 0);
    ck_assert_int_eq(m, TZ_GAP);
    ck_assert_int_eq(tz_to_local(tz, t, &l), 0);
    ck_assert_int_eq(l.hour, 3);
    ck_assert_int_eq(l.minute, 30);
    ck_assert(l.is_dst);
    ck_assert_str_eq(l.abbr, "CEST");

    ck_assert_int_eq(tz_from_local(tz, &autumn, &t, &m), 0);
    ck_assert_int_eq(m, TZ_FOLD);
    ck_assert_int_eq(tz_to_local(tz, t, &l), 0);
    ck_assert_int_eq(l.hour, 2);
    ck_assert_str_eq(l.abbr, "CEST");
    /* One hour later the same wall time shows again, in CET. */
    ck_assert_int_eq(tz_to_local(tz, t + HOUR * 1000, &l2), 0);
    ck_assert_int_eq(l2.hour, 2);
    ck_assert_int_eq(l2.minute, 30);
    ck_assert_str_eq(l2.abbr, "CET");
    ck_assert(!l2.is_dst);
    tz_free(tz);
}
END_TEST

START_TEST(far_future_uses_footer)
{
    /* Beyond the table (2037 in fat files) the footer rule must still
     * give summer time; date is the judge in the sweep, this pins that
     * the sweep covers it. */
    struct tz *tz = load("Europe/Berlin");
    struct tz_local l;
    struct tz_wall w = { 2150, 7, 1, 12, 0, 0 };
    int64_t t;
    ck_assert_int_eq(tz_from_local(tz, &w, &t, NULL), 0);
    ck_assert_int_eq(tz_to_local(tz, t, &l), 0);
    ck_assert(l.is_dst);
    ck_assert_str_eq(l.abbr, "CEST");
    ck_assert_int_eq(tz_to_local(tz, t + 180 * DAY * 1000, &l), 0);
    ck_assert(!l.is_dst);
    tz_free(tz);
}
END_TEST

/* ---- synthetic TZif files ---- */

struct tzif_spec {
    char version;
    uint32_t ntrans;
    const int64_t *trans;
    const uint8_t *idx;
    uint32_t ntypes;
    const int32_t *utoff;
    const uint8_t *isdst;
    const uint8_t *desig;
    const char *chars;
    uint32_t charcnt;
    uint32_t leapcnt;
    const char *footer; /* NULL: none at all (invalid for v2+) */
};

static void put32(FILE *f, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };
    fwrite(b, 1, 4, f);
}

static void put_block(FILE *f, const struct tzif_spec *s, char version, bool wide)
{
    fwrite("TZif", 1, 4, f);
    fputc(version, f);
    for (int i = 0; i < 15; i++)
        fputc(0, f);
    put32(f, 0);
    put32(f, 0);
    put32(f, s->leapcnt);
    put32(f, s->ntrans);
    put32(f, s->ntypes);
    put32(f, s->charcnt);
    for (uint32_t i = 0; i < s->ntrans; i++) {
        if (wide) {
            put32(f, (uint32_t)((uint64_t)s->trans[i] >> 32));
            put32(f, (uint32_t)s->trans[i]);
        } else {
            put32(f, (uint32_t)(int32_t)s->trans[i]);
        }
    }
    for (uint32_t i = 0; i < s->ntrans; i++)
        fputc(s->idx[i], f);
    for (uint32_t i = 0; i < s->ntypes; i++) {
        put32(f, (uint32_t)s->utoff[i]);
        fputc(s->isdst[i], f);
        fputc(s->desig[i], f);
    }
    fwrite(s->chars, 1, s->charcnt, f);
    for (uint32_t i = 0; i < s->leapcnt; i++) {
        if (wide)
            put32(f, 0);
        put32(f, 78796800);
        put32(f, 1);
    }
}

static unsigned char *build_tzif(const struct tzif_spec *s, size_t *ret_len)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    ck_assert_ptr_nonnull(f);
    put_block(f, s, s->version, false);
    if (s->version != '\0') {
        put_block(f, s, s->version, true);
        if (s->footer)
            fprintf(f, "\n%s\n", s->footer);
    }
    ck_assert_int_eq(fclose(f), 0);
    *ret_len = len;
    return (unsigned char *)data;
}

/* A file with no transitions and only a footer. */
static unsigned char *footer_only(const char *footer, size_t *len)
{
    static const int32_t utoff[] = { 0 };
    static const uint8_t isdst[] = { 0 }, desig[] = { 0 };
    struct tzif_spec s = { .version = '3',
                           .ntypes = 1,
                           .utoff = utoff,
                           .isdst = isdst,
                           .desig = desig,
                           .chars = "XXX",
                           .charcnt = 4,
                           .footer = footer };
    return build_tzif(&s, len);
}

START_TEST(posix_footers_match_date)
{
    /* Footer-only zones, compared with glibc parsing the same string from
     * TZ directly: all-year DST, hour 26, negative times, Julian and
     * zero-based days, the southern hemisphere, a fixed odd offset.  glibc
     * applies a TZ string's rules to years before 1970 as if they were
     * 1970, so the comparison starts there. */
    static const char *const footers[] = {
        "IST-2IDT,M3.4.4/26,M10.5.0",
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        "CET-1CEST,J60/2,J300/3",
        "XXX3YYY,59/2,300/3",
        "NZST-12NZDT,M9.5.0,M4.1.0/3",
        "<+0545>-5:45",
        "AAA+4:30BBB+3,M4.1.6/-2:30,M9.5.5/25:15",
    };
    for (size_t i = 0; i < ARRAY_SIZE(footers); i++) {
        size_t len;
        unsigned char *data = footer_only(footers[i], &len);
        struct tz *tz = NULL;
        struct perr e = { 0 };
        ck_assert_msg(tz_parse("Synthetic", data, len, &tz, &e) == 0, "%s: %s", footers[i], e.msg);
        sweep(tz, footers[i], civil_secs(1970, 1, 1), civil_secs(2300, 1, 1),
              31 * HOUR + 17 * 60 + 3, 0);
        check_from_local(tz, civil_secs(1990, 1, 1), civil_secs(2060, 1, 1));
        tz_free(tz);
        free(data);
    }
}
END_TEST

START_TEST(all_year_dst)
{
    /* RFC 8536 3.3.1: DST all year is written as starting on 1 January at
     * 00:00 and ending on 31 December at 24:00 plus the DST difference.
     * glibc gets the first hours of each UTC year wrong for this, so it
     * cannot be the oracle here: every instant must simply be in DST. */
    size_t len;
    unsigned char *data = footer_only("EST5EDT,0/0,J365/25", &len);
    struct tz *tz = NULL;
    struct vec tr = { 0 };
    ck_assert_int_eq(tz_parse("AllYear", data, len, &tz, NULL), 0);
    for (int64_t t = civil_secs(1900, 1, 1); t < civil_secs(2300, 1, 1); t += 3 * HOUR + 7) {
        struct tz_local l;
        REQUIRE(tz_to_local(tz, t * 1000, &l) == 0, "tz_to_local");
        REQUIRE(l.is_dst && l.utc_offset == -4 * 3600 && strcmp(l.abbr, "EDT") == 0,
                "@%" PRId64 ": %s", t, l.abbr);
    }
    find_transitions(tz, civil_secs(1900, 1, 1), civil_secs(2300, 1, 1), &tr);
    ck_assert_uint_eq(tr.n, 0);
    tz_free(tz);
    free(data);
}
END_TEST

START_TEST(default_rule_without_dates)
{
    /* "EST5EDT" without rules means the POSIX default M3.2.0,M11.1.0 (glibc
     * takes it from its posixrules file, which agrees from 2007 on). */
    size_t len;
    unsigned char *data = footer_only("EST5EDT", &len);
    struct tz *tz = NULL;
    ck_assert_int_eq(tz_parse("Default", data, len, &tz, NULL), 0);
    sweep(tz, "EST5EDT,M3.2.0,M11.1.0", civil_secs(2007, 1, 1), civil_secs(2100, 1, 1),
          7 * HOUR + 13, 0);
    sweep(tz, "EST5EDT", civil_secs(2007, 1, 1), civil_secs(2037, 1, 1), 7 * HOUR + 13, 0);
    tz_free(tz);
    free(data);
}
END_TEST

START_TEST(version1_file)
{
    /* The 32-bit block of the system's Berlin file as a version 1 file. */
    char *path = NULL, *data = NULL;
    size_t len, v1len;
    struct tz *v1 = NULL, *v2 = load("Europe/Berlin");
    unsigned char *p;
    uint32_t cnt[6];
    path = tu_path_join(TZ_DEFAULT_DIR, "Europe/Berlin");
    ck_assert_int_eq(read_file(path, TZ_FILE_MAX, &data, &len), 0);
    p = (unsigned char *)data;
    for (int i = 0; i < 6; i++)
        cnt[i] = (uint32_t)p[20 + 4 * i] << 24 | (uint32_t)p[21 + 4 * i] << 16 |
                 (uint32_t)p[22 + 4 * i] << 8 | p[23 + 4 * i];
    v1len = 44 + cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
    ck_assert_uint_gt(cnt[3], 100); /* a "fat" file; slim ones have no v1 data */
    p[4] = '\0';
    ck_assert_int_eq(tz_parse("Europe/Berlin", data, v1len, &v1, NULL), 0);
    for (int64_t t = civil_secs(1902, 1, 1); t < civil_secs(2037, 1, 1); t += 5 * HOUR + 17) {
        struct tz_local a, b;
        REQUIRE(tz_to_local(v1, t * 1000, &a) == 0, "tz_to_local");
        REQUIRE(tz_to_local(v2, t * 1000, &b) == 0, "tz_to_local");
        REQUIRE(same_state(&a, &b) && a.hour == b.hour, "@%" PRId64, t);
    }
    /* A version 1 file has no footer: the last type stays in force. */
    {
        struct tz_local a;
        ck_assert_int_eq(tz_to_local(v1, civil_secs(2050, 7, 1) * 1000, &a), 0);
        ck_assert_str_eq(a.abbr, "CET");
    }
    /* Extra bytes after a version 1 file are an error. */
    {
        struct tz *x = NULL;
        struct perr e = { 0 };
        ck_assert_int_eq(tz_parse("V1", data, v1len + 1, &x, &e), -EBADMSG);
        ck_assert_str_eq(e.msg, "time zone V1 is corrupt: trailing data");
    }
    tz_free(v1);
    tz_free(v2);
    free(data);
    free(path);
}
END_TEST

static void expect_corrupt(const struct tzif_spec *s, size_t cut, void (*patch)(unsigned char *),
                           int code, const char *msg)
{
    size_t len;
    unsigned char *data = build_tzif(s, &len);
    struct tz *tz = NULL;
    struct perr e = { 0 };
    if (patch)
        patch(data);
    ck_assert_int_eq(tz_parse("Bad/Zone", data, cut ? cut : len, &tz, &e), code);
    ck_assert_ptr_null(tz);
    ck_assert_str_eq(e.msg, msg);
    free(data);
}

static void patch_magic(unsigned char *d)
{
    d[0] = 'X';
}

static void patch_version(unsigned char *d)
{
    d[4] = 'A';
}

static void patch_isut(unsigned char *d)
{
    d[23] = 1; /* isutcnt must be 0 or typecnt (2) */
}

START_TEST(corrupt_files)
{
    static const int64_t trans[] = { 100, 200, 300 }, unordered[] = { 100, 300, 200 };
    static const uint8_t idx[] = { 1, 0, 1 }, badidx[] = { 1, 0, 2 };
    static const int32_t utoff[] = { 3600, 7200 }, badoff[] = { 3600, 100000 };
    static const uint8_t isdst[] = { 0, 1 }, baddst[] = { 0, 2 };
    static const uint8_t desig[] = { 0, 4 }, baddesig[] = { 0, 9 };
    struct tzif_spec ok = { .version = '2',
                            .ntrans = 3,
                            .trans = trans,
                            .idx = idx,
                            .ntypes = 2,
                            .utoff = utoff,
                            .isdst = isdst,
                            .desig = desig,
                            .chars = "CET\0CEST",
                            .charcnt = 9,
                            .footer = "CET-1CEST,M3.5.0,M10.5.0/3" };
    struct tzif_spec s;
    size_t len;
    unsigned char *data = build_tzif(&ok, &len);
    struct tz *tz = NULL;

    /* The unmodified spec is fine. */
    ck_assert_int_eq(tz_parse("Bad/Zone", data, len, &tz, NULL), 0);
    tz = tz_free(tz);
    free(data);

    expect_corrupt(&ok, 0, patch_magic, -EBADMSG, "time zone Bad/Zone is corrupt: not a TZif file");
    expect_corrupt(&ok, 0, patch_version, -EBADMSG,
                   "time zone Bad/Zone is corrupt: unknown TZif version");
    expect_corrupt(&ok, 0, patch_isut, -EBADMSG,
                   "time zone Bad/Zone is corrupt: bad indicator counts");
    expect_corrupt(&ok, 30, NULL, -EBADMSG, "time zone Bad/Zone is corrupt: truncated header");
    expect_corrupt(&ok, 60, NULL, -EBADMSG, "time zone Bad/Zone is corrupt: truncated data");
    s = ok;
    s.ntypes = 0;
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: bad number of local time types");
    s = ok;
    s.charcnt = 0;
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: no time zone designations");
    s = ok;
    s.trans = unordered;
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: transition times out of order");
    s = ok;
    s.idx = badidx;
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: transition refers to a missing type");
    s = ok;
    s.utoff = badoff;
    expect_corrupt(&s, 0, NULL, -EBADMSG, "time zone Bad/Zone is corrupt: UTC offset out of range");
    s = ok;
    s.isdst = baddst;
    expect_corrupt(&s, 0, NULL, -EBADMSG, "time zone Bad/Zone is corrupt: bad DST flag");
    s = ok;
    s.desig = baddesig;
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: designation index out of range");
    s = ok;
    s.chars = "CET\0CESTX";
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: designation not terminated");
    s = ok;
    s.chars = "CET\0ABCDEFGHIJKLMNOPQRS";
    s.charcnt = 24;
    expect_corrupt(&s, 0, NULL, -EBADMSG, "time zone Bad/Zone is corrupt: designation too long");
    s = ok;
    s.footer = NULL;
    expect_corrupt(&s, 0, NULL, -EBADMSG, "time zone Bad/Zone is corrupt: missing footer");
    s = ok;
    s.footer = "CET-1CEST,M3.5.0";
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: bad footer TZ string \"CET-1CEST,M3.5.0\"");
    s = ok;
    s.footer = "CET-1CEST,M3.5.0,M10.5.0/3\nextra";
    expect_corrupt(&s, 0, NULL, -EBADMSG, "time zone Bad/Zone is corrupt: bad footer");
    s = ok;
    s.footer = "CE-1";
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: bad footer TZ string \"CE-1\"");
    s = ok;
    s.footer = "CET-25";
    expect_corrupt(&s, 0, NULL, -EBADMSG,
                   "time zone Bad/Zone is corrupt: bad footer TZ string \"CET-25\"");
    s = ok;
    s.footer = "CET-1CEST,M13.5.0,M10.5.0";
    expect_corrupt(
        &s, 0, NULL, -EBADMSG,
        "time zone Bad/Zone is corrupt: bad footer TZ string \"CET-1CEST,M13.5.0,M10.5.0\"");
    s = ok;
    s.leapcnt = 1;
    expect_corrupt(&s, 0, NULL, -ENOTSUP,
                   "time zone Bad/Zone has leap-second records, which plumb does not support (use "
                   "the zone without the \"right/\" prefix)");
    /* An empty footer is allowed: the last type stays in force. */
    s = ok;
    s.footer = "";
    data = build_tzif(&s, &len);
    ck_assert_int_eq(tz_parse("Bad/Zone", data, len, &tz, NULL), 0);
    {
        struct tz_local l;
        ck_assert_int_eq(tz_to_local(tz, civil_secs(2030, 7, 1) * 1000, &l), 0);
        ck_assert_str_eq(l.abbr, "CEST");
        ck_assert_int_eq(tz_to_local(tz, 0, &l), 0);
        ck_assert_str_eq(l.abbr, "CET"); /* before the first transition: type 0 */
    }
    tz_free(tz);
    free(data);
}
END_TEST

START_TEST(load_errors)
{
    static const char *const bad[] = { "../etc/passwd",           "/etc/passwd",
                                       "Europe/../Europe/Berlin", "Europe//Berlin",
                                       "Europe/Berlin/",          "",
                                       "Europe/Ber lin",          "./UTC",
                                       "Europe/Berlin\n",         "Zone;rm" };
    char longname[300];
    struct tz *tz = NULL;
    struct perr e = { 0 };
    char expect[600];

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        ck_assert_int_eq(tz_load(bad[i], NULL, &tz, &e), -EINVAL);
        snprintf(expect, sizeof(expect), "invalid time zone name \"%.64s\"", bad[i]);
        ck_assert_str_eq(e.msg, expect);
        ck_assert_ptr_null(tz);
    }
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_int_eq(tz_load(longname, NULL, &tz, &e), -EINVAL);
    ck_assert_int_eq(tz_load(NULL, NULL, &tz, &e), -EINVAL);
    ck_assert_str_eq(e.msg, "invalid time zone name \"\"");

    ck_assert_int_eq(tz_load("Mars/Olympus_Mons", NULL, &tz, &e), -ENOENT);
    ck_assert_str_eq(
        e.msg, "unknown time zone \"Mars/Olympus_Mons\" (no such zone in /usr/share/zoneinfo)");
    ck_assert_int_eq(tz_load("Europe", NULL, &tz, &e), -ENOENT);
    ck_assert_str_eq(e.msg, "unknown time zone \"Europe\" (no such zone in /usr/share/zoneinfo)");
    ck_assert_int_eq(tz_load("Europe/Berlin/x", NULL, &tz, &e), -ENOENT);
    if (zone_installed("zone.tab")) {
        ck_assert_int_eq(tz_load("zone.tab", NULL, &tz, &e), -EBADMSG);
        ck_assert_str_eq(e.msg, "time zone zone.tab is corrupt: not a TZif file");
    }
    if (zone_installed("right/Europe/Berlin")) {
        ck_assert_int_eq(tz_load("right/Europe/Berlin", NULL, &tz, &e), -ENOTSUP);
        ck_assert_str_eq(e.msg, "time zone right/Europe/Berlin has leap-second records, which "
                                "plumb does not support (use the zone without the \"right/\" "
                                "prefix)");
    }
    ck_assert_ptr_null(tz);
}
END_TEST

START_TEST(load_from_directory)
{
    char *dir = tu_tmpdir(), *sub = tu_path_join(dir, "Test"), *path = tu_path_join(sub, "Zone");
    char *big = tu_path_join(dir, "Big");
    size_t len;
    unsigned char *data = footer_only("CET-1CEST,M3.5.0,M10.5.0/3", &len);
    struct tz *tz = NULL;
    struct perr e = { 0 };
    struct tz_local l;
    FILE *f;
    char expect[512];

    ck_assert_int_eq(mkdir(sub, 0700), 0);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(tz_load("Test/Zone", dir, &tz, &e), 0);
    ck_assert_str_eq(tz_name(tz), "Test/Zone");
    ck_assert_int_eq(tz_to_local(tz, civil_secs(2026, 7, 1) * 1000, &l), 0);
    ck_assert_str_eq(l.abbr, "CEST");
    tz = tz_free(tz);

    /* UTC works without a database; other names do not. */
    ck_assert_int_eq(tz_load("UTC", sub, &tz, &e), 0);
    ck_assert_str_eq(tz_name(tz), "UTC");
    ck_assert_int_eq(tz_to_local(tz, 0, &l), 0);
    ck_assert_int_eq(l.utc_offset, 0);
    ck_assert_str_eq(l.abbr, "UTC");
    ck_assert_int_eq(l.year, 1970);
    ck_assert_int_eq(l.weekday, 4);
    tz = tz_free(tz);
    ck_assert_int_eq(tz_load("Etc/UTC", sub, &tz, &e), -ENOENT);
    snprintf(expect, sizeof(expect), "unknown time zone \"Etc/UTC\" (no such zone in %s)", sub);
    ck_assert_str_eq(e.msg, expect);

    /* Oversized files are refused before parsing. */
    f = fopen(big, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < TZ_FILE_MAX + 1; i++)
        fputc('x', f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(tz_load("Big", dir, &tz, &e), -EFBIG);
    snprintf(expect, sizeof(expect), "time zone file %s is larger than %d bytes", big, TZ_FILE_MAX);
    ck_assert_str_eq(e.msg, expect);

    free(data);
    tu_rmrf(dir);
    free(big);
    free(path);
    free(sub);
    free(dir);
}
END_TEST

START_TEST(ranges_and_bad_walls)
{
    struct tz *tz = load("Europe/Berlin");
    struct tz_local l;
    int64_t t = 42;
    static const struct tz_wall bad[] = {
        { 2026, 13, 1, 0, 0, 0 }, { 2026, 0, 1, 0, 0, 0 },  { 2026, 4, 31, 0, 0, 0 },
        { 2025, 2, 29, 0, 0, 0 }, { 2026, 1, 1, 24, 0, 0 }, { 2026, 1, 1, 0, 60, 0 },
        { 2026, 1, 1, 0, 0, 60 }, { 2026, 1, 0, 0, 0, 0 },  { 2026, 1, 1, -1, 0, 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_int_eq(tz_from_local(tz, &bad[i], &t, NULL), -EINVAL);
    ck_assert_int_eq(t, 42); /* untouched on failure */
    ck_assert_int_eq(tz_from_local(tz, &(struct tz_wall){ 10000, 1, 1, 0, 0, 0 }, &t, NULL),
                     -ERANGE);
    ck_assert_int_eq(tz_from_local(tz, &(struct tz_wall){ 0, 12, 31, 0, 0, 0 }, &t, NULL), -ERANGE);
    ck_assert_int_eq(tz_from_local(tz, &(struct tz_wall){ 2024, 2, 29, 12, 0, 0 }, &t, NULL), 0);
    ck_assert_int_eq(tz_to_local(tz, TZ_MAX_MS + 1, &l), -ERANGE);
    ck_assert_int_eq(tz_to_local(tz, TZ_MIN_MS - 1, &l), -ERANGE);
    /* The last millisecond of 9999 in UTC+1 is already year 10000 locally. */
    ck_assert_int_eq(tz_to_local(tz, TZ_MAX_MS, &l), -ERANGE);
    /* Milliseconds and negative instants. */
    ck_assert_int_eq(tz_to_local(tz, -1, &l), 0);
    ck_assert_int_eq(l.millisecond, 999);
    ck_assert_int_eq(l.year, 1970);
    ck_assert_int_eq(l.hour, 0);
    ck_assert_int_eq(l.second, 59);
    tz_free(tz);
}
END_TEST

START_TEST(calendar_helpers)
{
    /* Round trips over a long span, and agreement with the weekday of
     * consecutive days. */
    int prev_wd = tz_weekday_from_days(tz_days_from_civil(-400, 1, 1) - 1);
    for (int64_t d = tz_days_from_civil(-400, 1, 1); d < tz_days_from_civil(2800, 1, 1); d++) {
        int64_t y;
        int m, day, wd = tz_weekday_from_days(d);
        tz_civil_from_days(d, &y, &m, &day);
        REQUIRE(tz_days_from_civil(y, m, day) == d, "round trip of day %" PRId64, d);
        REQUIRE(day >= 1 && day <= tz_days_in_month(y, m), "day %" PRId64, d);
        REQUIRE(wd == prev_wd % 7 + 1, "weekday of day %" PRId64, d);
        prev_wd = wd;
    }
    ck_assert(tz_is_leap_year(2000));
    ck_assert(!tz_is_leap_year(1900));
    ck_assert(tz_is_leap_year(2024));
    ck_assert_int_eq(tz_days_in_month(2023, 2), 28);
    ck_assert_int_eq(tz_days_in_month(2023, 13), 0);
}
END_TEST

START_TEST(independent_of_tz_environment)
{
    /* Conversions never consult the process-wide TZ variable and keep no
     * hidden state between calls. */
    struct tz *a = load("Europe/Berlin"), *b = load("America/New_York");
    struct tz_local la, lb, la2;
    const char *old = getenv("TZ");
    ck_assert_int_eq(setenv("TZ", "Asia/Tokyo", 1), 0);
    ck_assert_int_eq(tz_to_local(a, 1700000000000LL, &la), 0);
    ck_assert_int_eq(tz_to_local(b, 1700000000000LL, &lb), 0);
    ck_assert_int_eq(tz_to_local(a, 1700000000000LL, &la2), 0);
    ck_assert(la.hour == la2.hour && la.utc_offset == la2.utc_offset && la.day == la2.day);
    ck_assert_str_eq(la.abbr, "CET");
    ck_assert_str_eq(lb.abbr, "EST");
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tz_free(a);
    tz_free(b);
}
END_TEST

static Suite *tz_suite(void)
{
    Suite *s = suite_create("tz");
    TCase *to = tcase_create("to_local"), *from = tcase_create("from_local");
    TCase *files = tcase_create("files"), *misc = tcase_create("misc");

    tcase_set_timeout(to, 300);
    tcase_add_loop_test(to, to_local_matches_date, 0, ARRAY_SIZE(main_zones));
    tcase_add_loop_test(to, to_local_matches_date_extra, 0, ARRAY_SIZE(extra_zones));
    tcase_add_test(to, transitions_exist);
    tcase_add_test(to, far_future_uses_footer);
    suite_add_tcase(s, to);

    tcase_set_timeout(from, 300);
    tcase_add_loop_test(from, from_local_around_transitions, 0, ARRAY_SIZE(main_zones));
    tcase_add_loop_test(from, from_local_extra_zones, 0, ARRAY_SIZE(extra_zones));
    tcase_add_test(from, from_local_matches_date);
    tcase_add_test(from, gap_and_fold_berlin);
    suite_add_tcase(s, from);

    tcase_set_timeout(files, 300);
    tcase_add_test(files, posix_footers_match_date);
    tcase_add_test(files, all_year_dst);
    tcase_add_test(files, default_rule_without_dates);
    tcase_add_test(files, version1_file);
    tcase_add_test(files, corrupt_files);
    tcase_add_test(files, load_errors);
    tcase_add_test(files, load_from_directory);
    suite_add_tcase(s, files);

    tcase_add_test(misc, ranges_and_bad_walls);
    tcase_add_test(misc, calendar_helpers);
    tcase_add_test(misc, independent_of_tz_environment);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
        tu_skip("the IANA time zone database is not installed in /usr/share/zoneinfo");
    return tu_run_suite(tz_suite());
}
