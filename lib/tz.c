#include "tz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One local time type: a UTC offset, a DST flag and an abbreviation. */
struct tz_type {
    int32_t utoff;
    bool isdst;
    char abbr[TZ_ABBR_MAX + 1];
};

/* A POSIX TZ rule date: "Jn" (1..365, 29 February never counted), "n"
 * (0..365, counted) or "Mm.w.d" (day d of week w of month m, 5 = last),
 * with the local time of day the change happens at (v3 allows -167h..167h). */
enum rule_kind { RULE_JULIAN1, RULE_DAY0, RULE_MONTH };

struct tz_rule {
    enum rule_kind kind;
    int day;
    int month, week, wday;
    int32_t secs;
};

struct tz {
    char *name;
    size_t ntrans;
    int64_t *trans; /* transition instants, strictly ascending */
    uint8_t *trans_type;
    size_t ntypes;
    struct tz_type *types;
    /* The footer TZ string, for instants after the last transition. */
    bool has_footer;
    bool footer_dst;
    struct tz_type fstd, fdst;
    struct tz_rule rstart, rend;
    /* Every distinct UTC offset the zone uses, for tz_from_local(). */
    size_t noffs;
    int32_t *offs;
};

/* What is in force at an instant: the type, and the transition that made
 * it so with the type before it (prev is NULL before the first one). */
struct tz_state {
    const struct tz_type *type;
    const struct tz_type *prev;
    int64_t trans;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

bool tz_is_leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int64_t year, int month)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && tz_is_leap_year(year))
        return 29;
    return dim[month - 1];
}

/* The proleptic Gregorian calendar counted in 400-year eras of 146097 days
 * (the well-known "days from civil" construction with March as the first
 * month, so the leap day is the last day of the shifted year). */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    if (m <= 2)
        y--;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *ret_year, int *ret_month, int *ret_day)
{
    int64_t era, doe, yoe, y, doy, mp;
    int m;
    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *ret_day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *ret_month = m;
    *ret_year = y + (m <= 2);
}

int tz_weekday_from_days(int64_t days)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    int64_t w = (days + 3) % 7;
    if (w < 0)
        w += 7;
    return (int)w + 1;
}

/* ---- POSIX TZ strings (the TZif footer) ---- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_abbr(const char **pp, char out[TZ_ABBR_MAX + 1])
{
    const char *p = *pp;
    size_t n = 0;
    if (*p == '<') {
        p++;
        while (is_alpha(p[n]) || is_digit(p[n]) || p[n] == '+' || p[n] == '-')
            n++;
        if (p[n] != '>' || n < 3 || n > TZ_ABBR_MAX)
            return -EBADMSG;
        memcpy(out, p, n);
        out[n] = '\0';
        *pp = p + n + 1;
        return 0;
    }
    while (is_alpha(p[n]))
        n++;
    if (n < 3 || n > TZ_ABBR_MAX)
        return -EBADMSG;
    memcpy(out, p, n);
    out[n] = '\0';
    *pp = p + n;
    return 0;
}

static int parse_num(const char **pp, int maxdigits, int *ret)
{
    const char *p = *pp;
    int v = 0, n = 0;
    while (n < maxdigits && is_digit(p[n])) {
        v = v * 10 + (p[n] - '0');
        n++;
    }
    if (n == 0)
        return -EBADMSG;
    *pp = p + n;
    *ret = v;
    return 0;
}

/* [+-]h[hh][:mm[:ss]] with hours up to max_hours, in seconds. */
static int parse_hms(const char **pp, int max_hours, int32_t *ret)
{
    const char *p = *pp;
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (parse_num(&p, 3, &h) < 0 || h > max_hours)
        return -EBADMSG;
    if (*p == ':') {
        p++;
        if (parse_num(&p, 2, &m) < 0 || m > 59)
            return -EBADMSG;
        if (*p == ':') {
            p++;
            if (parse_num(&p, 2, &s) < 0 || s > 59)
                return -EBADMSG;
        }
    }
    *pp = p;
    *ret = sign * (h * 3600 + m * 60 + s);
    return 0;
}

static int parse_rule(const char **pp, struct tz_rule *r)
{
    const char *p = *pp;
    int a, b, c;
    if (*p == 'J') {
        p++;
        if (parse_num(&p, 3, &a) < 0 || a < 1 || a > 365)
            return -EBADMSG;
        r->kind = RULE_JULIAN1;
        r->day = a;
    } else if (*p == 'M') {
        p++;
        if (parse_num(&p, 2, &a) < 0 || a < 1 || a > 12 || *p++ != '.' ||
            parse_num(&p, 1, &b) < 0 || b < 1 || b > 5 || *p++ != '.' || parse_num(&p, 1, &c) < 0 ||
            c > 6)
            return -EBADMSG;
        r->kind = RULE_MONTH;
        r->month = a;
        r->week = b;
        r->wday = c;
    } else {
        if (parse_num(&p, 3, &a) < 0 || a > 365)
            return -EBADMSG;
        r->kind = RULE_DAY0;
        r->day = a;
    }
    r->secs = 7200;
    if (*p == '/') {
        p++;
        if (parse_hms(&p, 167, &r->secs) < 0)
            return -EBADMSG;
    }
    *pp = p;
    return 0;
}

/* std offset [dst [offset] [,start[/time],end[/time]]] (POSIX, with the
 * RFC 8536 version 3 extension of rule hours to -167..167). */
static int parse_posix_tz(const char *s, struct tz *tz)
{
    const char *p = s;
    int32_t off;

    if (parse_abbr(&p, tz->fstd.abbr) < 0 || parse_hms(&p, 24, &off) < 0)
        return -EBADMSG;
    /* POSIX offsets count west of Greenwich; ours count east. */
    tz->fstd.utoff = -off;
    tz->fstd.isdst = false;
    tz->footer_dst = false;
    if (*p == '\0')
        return 0;
    if (parse_abbr(&p, tz->fdst.abbr) < 0)
        return -EBADMSG;
    tz->fdst.isdst = true;
    tz->fdst.utoff = tz->fstd.utoff + 3600;
    if (*p != ',' && *p != '\0') {
        if (parse_hms(&p, 24, &off) < 0)
            return -EBADMSG;
        tz->fdst.utoff = -off;
    }
    if (*p == '\0') {
        /* No rule: the POSIX default as implemented by tzcode and glibc. */
        tz->rstart = (struct tz_rule){ .kind = RULE_MONTH, .month = 3, .week = 2, .secs = 7200 };
        tz->rend = (struct tz_rule){ .kind = RULE_MONTH, .month = 11, .week = 1, .secs = 7200 };
    } else {
        if (*p++ != ',' || parse_rule(&p, &tz->rstart) < 0 || *p++ != ',' ||
            parse_rule(&p, &tz->rend) < 0 || *p != '\0')
            return -EBADMSG;
    }
    tz->footer_dst = true;
    return 0;
}

/* Local seconds (since the epoch, as if local time were UTC) at which a
 * rule fires in a year. */
static int64_t rule_local(const struct tz_rule *r, int64_t year)
{
    int64_t day;
    switch (r->kind) {
    case RULE_JULIAN1:
        day = tz_days_from_civil(year, 1, 1) + r->day - 1;
        if (tz_is_leap_year(year) && r->day >= 60)
            day++;
        break;
    case RULE_DAY0: day = tz_days_from_civil(year, 1, 1) + r->day; break;
    case RULE_MONTH:
    default: {
        int64_t first = tz_days_from_civil(year, r->month, 1);
        int wd_first = tz_weekday_from_days(first) % 7; /* 0 = Sunday */
        int64_t last = first + tz_days_in_month(year, r->month) - 1;
        day = first + (r->wday - wd_first + 7) % 7 + (int64_t)(r->week - 1) * 7;
        while (day > last)
            day -= 7;
        break;
    }
    }
    return day * 86400 + r->secs;
}

/* ---- lookup ---- */

struct footer_trans {
    int64_t at;
    bool dst;
};

static void footer_lookup(const struct tz *tz, int64_t t, struct tz_state *st)
{
    size_t n = tz->ntrans;
    struct tz_state base;
    struct footer_trans tr[6];
    int64_t year, days;
    int month, mday;
    bool cur;
    int found = -1;
    bool found_prev = false;

    if (n > 0) {
        base.type = &tz->types[tz->trans_type[n - 1]];
        base.prev = n > 1 ? &tz->types[tz->trans_type[n - 2]] : &tz->types[0];
        base.trans = tz->trans[n - 1];
    } else {
        base.type = &tz->fstd;
        base.prev = NULL;
        base.trans = INT64_MIN;
    }
    if (!tz->footer_dst) {
        *st = base;
        st->type = &tz->fstd;
        return;
    }

    days = floor_div(t + tz->fstd.utoff, 86400);
    tz_civil_from_days(days, &year, &month, &mday);
    for (int k = 0; k < 3; k++) {
        tr[2 * k] =
            (struct footer_trans){ rule_local(&tz->rstart, year - 1 + k) - tz->fstd.utoff, true };
        tr[2 * k + 1] =
            (struct footer_trans){ rule_local(&tz->rend, year - 1 + k) - tz->fdst.utoff, false };
    }
    /* Sort by instant; on a tie the start of DST sorts last so that a
     * zone with DST all year ("0/0,J365/25") stays in DST. */
    for (int i = 1; i < 6; i++) {
        struct footer_trans x = tr[i];
        int j = i - 1;
        while (j >= 0 && (tr[j].at > x.at || (tr[j].at == x.at && tr[j].dst && !x.dst))) {
            tr[j + 1] = tr[j];
            j--;
        }
        tr[j + 1] = x;
    }
    /* Only transitions that change the state count; the last one at or
     * before t decides. */
    cur = !tr[0].dst;
    for (int i = 0; i < 6; i++) {
        if (tr[i].dst == cur)
            continue;
        if (tr[i].at <= t) {
            found = i;
            found_prev = cur;
        }
        cur = tr[i].dst;
    }
    if (found < 0 || (n > 0 && tr[found].at < tz->trans[n - 1])) {
        *st = base;
        return;
    }
    st->type = tr[found].dst ? &tz->fdst : &tz->fstd;
    st->prev = found_prev ? &tz->fdst : &tz->fstd;
    st->trans = tr[found].at;
}

static void lookup(const struct tz *tz, int64_t t, struct tz_state *st)
{
    size_t n = tz->ntrans, lo, hi;

    if (tz->has_footer && (n == 0 || t >= tz->trans[n - 1])) {
        footer_lookup(tz, t, st);
        return;
    }
    if (n == 0 || t < tz->trans[0]) {
        st->type = &tz->types[0];
        st->prev = NULL;
        st->trans = INT64_MIN;
        return;
    }
    lo = 0;
    hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    st->type = &tz->types[tz->trans_type[lo]];
    st->prev = lo > 0 ? &tz->types[tz->trans_type[lo - 1]] : &tz->types[0];
    st->trans = tz->trans[lo];
}

/* ---- TZif ---- */

struct reader {
    const unsigned char *p;
    size_t left;
};

static const unsigned char *take(struct reader *r, size_t n)
{
    const unsigned char *p = r->p;
    if (n > r->left)
        return NULL;
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static const char *read_header(struct reader *r, struct tzif_header *h)
{
    const unsigned char *p = take(r, 44);
    if (!p)
        return "truncated header";
    if (memcmp(p, "TZif", 4) != 0)
        return "not a TZif file";
    h->version = (char)p[4];
    if (h->version != '\0' && (h->version < '2' || h->version > '9'))
        return "unknown TZif version";
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256)
        return "bad number of local time types";
    if (h->charcnt == 0)
        return "no time zone designations";
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return "bad indicator counts";
    return NULL;
}

static size_t block_size(const struct tzif_header *h, size_t tsize)
{
    /* The counts are 32-bit, so this cannot overflow a 64-bit size_t. */
    return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static const char *read_block(struct reader *r, const struct tzif_header *h, size_t tsize,
                              struct tz *tz)
{
    const unsigned char *times, *idx, *types, *chars, *isstd, *isut;

    if (block_size(h, tsize) > r->left)
        return "truncated data";
    times = take(r, (size_t)h->timecnt * tsize);
    idx = take(r, h->timecnt);
    types = take(r, (size_t)h->typecnt * 6);
    chars = take(r, h->charcnt);
    take(r, (size_t)h->leapcnt * (tsize + 4));
    isstd = h->isstdcnt ? take(r, h->isstdcnt) : NULL;
    isut = h->isutcnt ? take(r, h->isutcnt) : NULL;

    tz->ntrans = h->timecnt;
    tz->ntypes = h->typecnt;
    tz->trans = calloc(h->timecnt ? h->timecnt : 1, sizeof(*tz->trans));
    tz->trans_type = calloc(h->timecnt ? h->timecnt : 1, 1);
    tz->types = calloc(h->typecnt, sizeof(*tz->types));
    if (!tz->trans || !tz->trans_type || !tz->types)
        return NULL; /* the caller checks for ENOMEM */

    for (uint32_t i = 0; i < h->timecnt; i++) {
        tz->trans[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return "transition times out of order";
        if (idx[i] >= h->typecnt)
            return "transition refers to a missing type";
        tz->trans_type[i] = idx[i];
    }
    for (uint32_t i = 0; i < h->typecnt; i++) {
        const unsigned char *t = types + 6 * i;
        int32_t utoff = (int32_t)be32(t);
        size_t di = t[5], len;
        if (utoff < -89999 || utoff > 93599)
            return "UTC offset out of range";
        if (t[4] > 1)
            return "bad DST flag";
        if (di >= h->charcnt)
            return "designation index out of range";
        len = strnlen((const char *)chars + di, h->charcnt - di);
        if (di + len >= h->charcnt)
            return "designation not terminated";
        if (len > TZ_ABBR_MAX)
            return "designation too long";
        tz->types[i].utoff = utoff;
        tz->types[i].isdst = t[4] == 1;
        memcpy(tz->types[i].abbr, chars + di, len);
        tz->types[i].abbr[len] = '\0';
        if ((isstd && isstd[i] > 1) || (isut && isut[i] > 1) ||
            (isut && isut[i] == 1 && (!isstd || isstd[i] != 1)))
            return "bad standard/UT indicators";
    }
    return NULL;
}

static int add_offset(struct tz *tz, int32_t off)
{
    int32_t *n;
    for (size_t i = 0; i < tz->noffs; i++)
        if (tz->offs[i] == off)
            return 0;
    n = realloc(tz->offs, (tz->noffs + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    n[tz->noffs++] = off;
    tz->offs = n;
    return 0;
}

int tz_parse(const char *name, const void *data, size_t len, struct tz **ret, struct perr *err)
{
    struct reader r = { data, len };
    struct tzif_header h;
    struct tz *tz;
    const char *why;
    int rc = -ENOMEM;

    if (!name || !data)
        return perr_set(err, -EINVAL, "time zone: no name or data");
    tz = calloc(1, sizeof(*tz));
    if (!tz)
        return perr_set(err, -ENOMEM, "out of memory");
    tz->name = strdup(name);
    if (!tz->name)
        goto oom;

    why = read_header(&r, &h);
    if (why)
        goto corrupt;
    if (h.version != '\0') {
        /* Version 2+: skip the 32-bit block and read the 64-bit one. */
        if (block_size(&h, 4) > r.left) {
            why = "truncated data";
            goto corrupt;
        }
        take(&r, block_size(&h, 4));
        why = read_header(&r, &h);
        if (why)
            goto corrupt;
    }
    if (h.leapcnt > 0) {
        rc = perr_set(err, -ENOTSUP,
                      "time zone %s has leap-second records, which plumb does not support "
                      "(use the zone without the \"right/\" prefix)",
                      name);
        goto fail;
    }
    why = read_block(&r, &h, h.version != '\0' ? 8 : 4, tz);
    if (!why && (!tz->trans || !tz->trans_type || !tz->types))
        goto oom;
    if (why)
        goto corrupt;

    if (h.version != '\0') {
        const unsigned char *nl;
        size_t flen;
        char footer[256];
        if (r.left < 2 || r.p[0] != '\n') {
            why = "missing footer";
            goto corrupt;
        }
        nl = memchr(r.p + 1, '\n', r.left - 1);
        if (!nl || (size_t)(nl - r.p) + 1 != r.left) {
            why = "bad footer";
            goto corrupt;
        }
        flen = (size_t)(nl - r.p) - 1;
        if (flen >= sizeof(footer) || memchr(r.p + 1, '\0', flen)) {
            why = "bad footer";
            goto corrupt;
        }
        memcpy(footer, r.p + 1, flen);
        footer[flen] = '\0';
        if (flen > 0) {
            if (parse_posix_tz(footer, tz) < 0) {
                rc = perr_set(err, -EBADMSG, "time zone %s is corrupt: bad footer TZ string \"%s\"",
                              name, footer);
                goto fail;
            }
            tz->has_footer = true;
        }
    } else if (r.left != 0) {
        why = "trailing data";
        goto corrupt;
    }

    for (size_t i = 0; i < tz->ntypes; i++)
        if (add_offset(tz, tz->types[i].utoff) < 0)
            goto oom;
    if (tz->has_footer && (add_offset(tz, tz->fstd.utoff) < 0 ||
                           (tz->footer_dst && add_offset(tz, tz->fdst.utoff) < 0)))
        goto oom;
    *ret = tz;
    return 0;

corrupt:
    rc = perr_set(err, -EBADMSG, "time zone %s is corrupt: %s", name, why);
    goto fail;
oom:
    rc = perr_set(err, -ENOMEM, "out of memory");
fail:
    tz_free(tz);
    return rc;
}

int tz_new_utc(struct tz **ret)
{
    struct tz *tz = calloc(1, sizeof(*tz));
    if (!tz)
        return -ENOMEM;
    tz->name = strdup("UTC");
    tz->types = calloc(1, sizeof(*tz->types));
    tz->offs = calloc(1, sizeof(*tz->offs));
    if (!tz->name || !tz->types || !tz->offs) {
        tz_free(tz);
        return -ENOMEM;
    }
    tz->ntypes = 1;
    memcpy(tz->types[0].abbr, "UTC", 4);
    tz->noffs = 1;
    *ret = tz;
    return 0;
}

static bool valid_name(const char *name)
{
    size_t len = strnlen(name, TZ_NAME_MAX + 1);
    const char *p = name;

    if (len == 0 || len > TZ_NAME_MAX)
        return false;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '+' && c != '.')
                return false;
        }
        p += n;
        if (*p == '/') {
            p++;
            if (*p == '\0')
                return false;
        }
    }
    return true;
}

int tz_load(const char *name, const char *dir, struct tz **ret, struct perr *err)
{
    char *path = NULL, *data = NULL;
    size_t len;
    int r;

    if (!name || !valid_name(name))
        return perr_set(err, -EINVAL, "invalid time zone name \"%.64s\"", name ? name : "");
    if (!dir)
        dir = TZ_DEFAULT_DIR;
    path = str_printf("%s/%s", dir, name);
    if (!path)
        return perr_set(err, -ENOMEM, "out of memory");
    r = read_file(path, TZ_FILE_MAX, &data, &len);
    if (r == -ENOENT || r == -ENOTDIR || r == -EISDIR) {
        if (strcmp(name, "UTC") == 0 && r != -EISDIR) {
            r = tz_new_utc(ret);
            if (r < 0)
                perr_set(err, r, "out of memory");
            goto out;
        }
        r = perr_set(err, -ENOENT, "unknown time zone \"%s\" (no such zone in %s)", name, dir);
        goto out;
    }
    if (r == -EFBIG) {
        r = perr_set(err, r, "time zone file %s is larger than %d bytes", path, TZ_FILE_MAX);
        goto out;
    }
    if (r < 0) {
        char eb[128];
        r = perr_set(err, r, "cannot read time zone file %s: %s", path,
                     strerror_r(-r, eb, sizeof(eb)));
        goto out;
    }
    r = tz_parse(name, data, len, ret, err);
out:
    free(data);
    free(path);
    return r;
}

struct tz *tz_free(struct tz *tz)
{
    if (!tz)
        return NULL;
    free(tz->name);
    free(tz->trans);
    free(tz->trans_type);
    free(tz->types);
    free(tz->offs);
    free(tz);
    return NULL;
}

const char *tz_name(const struct tz *tz)
{
    return tz->name;
}

int tz_to_local(const struct tz *tz, int64_t utc_ms, struct tz_local *ret)
{
    struct tz_state st;
    int64_t secs, local, days, sod, year;
    int month, day;

    if (utc_ms < TZ_MIN_MS || utc_ms > TZ_MAX_MS)
        return -ERANGE;
    secs = floor_div(utc_ms, 1000);
    lookup(tz, secs, &st);
    local = secs + st.type->utoff;
    days = floor_div(local, 86400);
    sod = local - days * 86400;
    tz_civil_from_days(days, &year, &month, &day);
    if (year < 1 || year > 9999)
        return -ERANGE;
    ret->year = (int)year;
    ret->month = month;
    ret->day = day;
    ret->hour = (int)(sod / 3600);
    ret->minute = (int)(sod / 60 % 60);
    ret->second = (int)(sod % 60);
    ret->millisecond = (int)(utc_ms - secs * 1000);
    ret->weekday = tz_weekday_from_days(days);
    ret->yearday = (int)(days - tz_days_from_civil(year, 1, 1)) + 1;
    ret->utc_offset = st.type->utoff;
    ret->is_dst = st.type->isdst;
    memcpy(ret->abbr, st.type->abbr, sizeof(ret->abbr));
    return 0;
}

int tz_from_local(const struct tz *tz, const struct tz_wall *w, int64_t *ret_ms,
                  enum tz_match *ret_match)
{
    int64_t local, best = 0;
    size_t nvalid = 0;
    bool distinct = false;
    enum tz_match match;

    if (w->year < 1 || w->year > 9999)
        return -ERANGE;
    if (w->month < 1 || w->month > 12 || w->day < 1 ||
        w->day > tz_days_in_month(w->year, w->month) || w->hour < 0 || w->hour > 23 ||
        w->minute < 0 || w->minute > 59 || w->second < 0 || w->second > 59)
        return -EINVAL;
    local = tz_days_from_civil(w->year, w->month, w->day) * 86400 + w->hour * 3600 +
            w->minute * 60 + w->second;

    /* Every instant that shows this wall time is local - off for one of
     * the zone's offsets; try them all. */
    for (size_t i = 0; i < tz->noffs; i++) {
        int64_t t = local - tz->offs[i];
        struct tz_state st;
        lookup(tz, t, &st);
        if (st.type->utoff != tz->offs[i])
            continue;
        if (nvalid > 0 && t != best)
            distinct = true;
        if (nvalid == 0 || t < best)
            best = t;
        nvalid++;
    }
    if (nvalid > 0) {
        match = distinct ? TZ_FOLD : TZ_UNIQUE;
    } else {
        /* A gap: find the transition whose skipped range holds the wall
         * time and read it with the offset from before the jump. */
        bool found = false;
        for (size_t i = 0; i < tz->noffs && !found; i++) {
            struct tz_state st;
            lookup(tz, local - tz->offs[i], &st);
            if (st.prev && st.prev->utoff < st.type->utoff && local >= st.trans + st.prev->utoff &&
                local < st.trans + st.type->utoff) {
                best = local - st.prev->utoff;
                found = true;
            }
        }
        if (!found)
            return -EINVAL; /* cannot happen with a consistent zone */
        match = TZ_GAP;
    }
    if (best < TZ_MIN_MS / 1000 || best > TZ_MAX_MS / 1000)
        return -ERANGE;
    *ret_ms = best * 1000;
    if (ret_match)
        *ret_match = match;
    return 0;
}
