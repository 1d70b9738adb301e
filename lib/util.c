#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int perr_set(struct perr *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void perr_prefix(struct perr *err, const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof(err->msg)];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Concatenate by hand: the result is truncated on purpose. */
    {
        size_t pl = strnlen(prefix, sizeof(prefix)), ol = strnlen(old, sizeof(old));
        size_t cap = sizeof(err->msg) - 1;
        if (pl > cap)
            pl = cap;
        if (ol > cap - pl)
            ol = cap - pl;
        memcpy(err->msg, prefix, pl);
        memcpy(err->msg + pl, old, ol);
        err->msg[pl + ol] = '\0';
    }
}

void perr_clear(struct perr *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

char *str_vprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

char *str_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = str_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

char *str_ndup(const char *s, size_t n)
{
    return strndup(s, n);
}

bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool str_eq_ci(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcasecmp(a, b) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
    size_t ls, lx;
    if (!s || !suffix)
        return false;
    ls = strlen(s);
    lx = strlen(suffix);
    return lx <= ls && memcmp(s + ls - lx, suffix, lx) == 0;
}

char *str_trim(char *s)
{
    char *start = s, *end;
    if (!s)
        return s;
    while (*start && isspace((unsigned char)*start))
        start++;
    end = start + strlen(start);
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    if (start != s)
        memmove(s, start, (size_t)(end - start) + 1);
    return s;
}

int str_replace(char **dst, const char *src)
{
    char *copy = NULL;
    if (src) {
        copy = strdup(src);
        if (!copy)
            return -ENOMEM;
    }
    free(*dst);
    *dst = copy;
    return 0;
}

void str_lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

void str_free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

char **strv_new(void)
{
    return calloc(1, sizeof(char *));
}

size_t strv_length(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

int strv_consume(char ***v, char *s)
{
    size_t n = strv_length(*v);
    char **nv = realloc(*v, (n + 2) * sizeof(char *));
    if (!nv)
        return -ENOMEM;
    nv[n] = s;
    nv[n + 1] = NULL;
    *v = nv;
    return 0;
}

int strv_push(char ***v, const char *s)
{
    char *copy = strdup(s);
    int r;
    if (!copy)
        return -ENOMEM;
    r = strv_consume(v, copy);
    if (r < 0)
        free(copy);
    return r;
}

bool strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

char **strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
    return NULL;
}

int strv_split(const char *s, const char *seps, char ***ret)
{
    char **v = strv_new();
    const char *p = s;
    if (!v)
        return -ENOMEM;
    while (p && *p) {
        size_t len = strcspn(p, seps);
        char *item = str_ndup(p, len);
        if (!item)
            goto oom;
        str_trim(item);
        if (*item) {
            if (strv_consume(&v, item) < 0) {
                free(item);
                goto oom;
            }
        } else {
            free(item);
        }
        p += len;
        if (*p)
            p++;
    }
    *ret = v;
    return 0;
oom:
    strv_free(v);
    return -ENOMEM;
}

char **strv_copy(char *const *v)
{
    char **c = strv_new();
    for (size_t i = 0; c && v && v[i]; i++)
        if (strv_push(&c, v[i]) < 0)
            return strv_free(c);
    return c;
}

char *strv_join(char *const *v, const char *sep)
{
    size_t len = 1, seplen = strlen(sep), n = strv_length(v);
    char *out, *p;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + seplen;
    out = malloc(len);
    if (!out)
        return NULL;
    p = out;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        if (i > 0) {
            memcpy(p, sep, seplen);
            p += seplen;
        }
        memcpy(p, v[i], l);
        p += l;
    }
    *p = '\0';
    return out;
}

int parse_int64(const char *s, int64_t *ret)
{
    char *end;
    long long v;
    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int parse_uint64(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int parse_double(const char *s, double *ret)
{
    char *end;
    double v;
    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0' || !isfinite(v))
        return -EINVAL;
    *ret = v;
    return 0;
}

int parse_bool(const char *s, bool *ret)
{
    static const char *const yes[] = { "1", "yes", "true", "on" };
    static const char *const no[] = { "0", "no", "false", "off" };
    for (size_t i = 0; s && i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

int parse_duration_ms(const char *s, int64_t *ret_ms)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {
        { "ms", 1 },      { "s", 1000 },     { "m", 60000 },
        { "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
    };
    int64_t total = 0;
    const char *p = s;
    bool any = false;

    if (!s || !*s)
        return -EINVAL;
    while (*p) {
        char *end;
        long long n;
        size_t unit_len;
        int64_t mult = -1;

        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        errno = 0;
        n = strtoll(p, &end, 10);
        if (errno == ERANGE)
            return -ERANGE;
        unit_len = 0;
        while (isalpha((unsigned char)end[unit_len]))
            unit_len++;
        if (unit_len == 0) {
            /* A bare number is seconds, and only alone. */
            if (*end != '\0' || any)
                return -EINVAL;
            mult = 1000;
        } else {
            for (size_t i = 0; i < ARRAY_SIZE(units); i++)
                if (strlen(units[i].suffix) == unit_len &&
                    strncmp(end, units[i].suffix, unit_len) == 0)
                    mult = units[i].ms;
            if (mult < 0)
                return -EINVAL;
        }
        if (n > INT64_MAX / mult || total > INT64_MAX - n * mult)
            return -ERANGE;
        total += n * mult;
        any = true;
        p = end + unit_len;
    }
    *ret_ms = total;
    return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long n;
    uint64_t mult = 1;
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': mult = 1024ULL; break;
        case 'M': mult = 1024ULL * 1024; break;
        case 'G': mult = 1024ULL * 1024 * 1024; break;
        default: return -EINVAL;
        }
        end++;
        if (toupper((unsigned char)*end) == 'B' || *end == 'i')
            end++;
        if (*end == 'B')
            end++;
        if (*end)
            return -EINVAL;
    }
    if (n > UINT64_MAX / mult)
        return -ERANGE;
    *ret = n * mult;
    return 0;
}

void format_duration_ms(int64_t ms, char *buf, size_t size)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 } };
    size_t off = 0;
    if (ms < 1000) {
        snprintf(buf, size, "%lldms", (long long)ms);
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(units) && off < size; i++) {
        int64_t n = ms / units[i].ms;
        if (n > 0) {
            int w = snprintf(buf + off, size - off, "%lld%s", (long long)n, units[i].suffix);
            if (w < 0)
                return;
            off += (size_t)w;
            ms -= n * units[i].ms;
        }
    }
}

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return 0;
}

int time_parse_iso8601(const char *s, int64_t *ret_ms)
{
    struct tm tm = { 0 };
    const char *p = s;
    int year, mon, day, hour = 0, min = 0, sec = 0, ms = 0, off_min = 0;
    time_t t;

    if (!s)
        return -EINVAL;
    if (parse_digits(&p, 4, &year) < 0 || *p++ != '-' || parse_digits(&p, 2, &mon) < 0 ||
        *p++ != '-' || parse_digits(&p, 2, &day) < 0)
        return -EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (parse_digits(&p, 2, &hour) < 0 || *p++ != ':' || parse_digits(&p, 2, &min) < 0)
            return -EINVAL;
        if (*p == ':') {
            p++;
            if (parse_digits(&p, 2, &sec) < 0)
                return -EINVAL;
        }
        if (*p == '.' || *p == ',') {
            int scale = 100;
            p++;
            if (!isdigit((unsigned char)*p))
                return -EINVAL;
            while (isdigit((unsigned char)*p)) {
                ms += (*p - '0') * scale;
                scale /= 10;
                p++;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (parse_digits(&p, 2, &oh) < 0)
                return -EINVAL;
            if (*p == ':')
                p++;
            if (*p && parse_digits(&p, 2, &om) < 0)
                return -EINVAL;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0')
        return -EINVAL;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 24 || min > 59 || sec > 60)
        return -EINVAL;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *ret_ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + ms;
    return 0;
}

int time_parse_http(const char *s, int64_t *ret_ms)
{
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char mon[4] = { 0 }, zone[8] = { 0 };
    int day, year, hour, min, sec, n = 0;
    struct tm tm = { 0 };
    const char *p = s;
    time_t t;

    if (!s)
        return -EINVAL;
    /* Skip an optional weekday ("Tue, "). */
    if (strchr(p, ','))
        p = strchr(p, ',') + 1;
    if (sscanf(p, " %d %3s %d %d:%d:%d %7s%n", &day, mon, &year, &hour, &min, &sec, zone, &n) < 6)
        return -EINVAL;
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            tm.tm_mon = i;
    if (tm.tm_mon < 0 || (zone[0] && strcmp(zone, "GMT") != 0 && strcmp(zone, "UTC") != 0 &&
                          strcmp(zone, "+0000") != 0 && strcmp(zone, "Z") != 0))
        return -EINVAL;
    tm.tm_year = year - 1900;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *ret_ms = (int64_t)t * 1000;
    return 0;
}

static void format_tm(int64_t ms, char *buf, size_t size, bool with_ms)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    int frac = (int)(ms - (int64_t)t * 1000);
    gmtime_r(&t, &tm);
    if (with_ms)
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    else
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void time_format_iso8601(int64_t ms, char *buf, size_t size)
{
    format_tm(ms, buf, size, false);
}

void time_format_iso8601_ms(int64_t ms, char *buf, size_t size)
{
    format_tm(ms, buf, size, true);
}

int time_parse_since(const char *s, int64_t now_ms, int64_t *ret_ms)
{
    int64_t d;
    if (parse_duration_ms(s, &d) == 0) {
        *ret_ms = now_ms - d;
        return 0;
    }
    return time_parse_iso8601(s, ret_ms);
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
    int fd, r;
    struct stat st;
    char *data = NULL;
    size_t len = 0, cap = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;
        goto fail;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        r = -EFBIG;
        goto fail;
    }
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    data = malloc(cap);
    if (!data) {
        r = -ENOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t n;
        if (len + 1 >= cap) {
            char *nd;
            if (cap > max + 1) {
                r = -EFBIG;
                goto fail;
            }
            cap *= 2;
            nd = realloc(data, cap);
            if (!nd) {
                r = -ENOMEM;
                goto fail;
            }
            data = nd;
        }
        n = read(fd, data + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            r = -EFBIG;
            goto fail;
        }
    }
    close(fd);
    data[len] = '\0';
    *ret = data;
    if (ret_len)
        *ret_len = len;
    return 0;
fail:
    free(data);
    close(fd);
    return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char *tmp = str_printf("%s.tmp.%d", path, (int)getpid());
    const char *p = data;
    int fd, r = 0;

    if (!tmp)
        return -ENOMEM;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
out:
    free(tmp);
    return r;
}

void hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *in, unsigned char *out, size_t out_size, size_t *ret_len)
{
    size_t n = strlen(in);
    if (n % 2 || n / 2 > out_size)
        return -EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    if (ret_len)
        *ret_len = n / 2;
    return 0;
}

int random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int uuid_v4(char *out, size_t size)
{
    unsigned char b[16];
    int r;
    if (size < 37)
        return -ENOBUFS;
    r = random_bytes(b, sizeof(b));
    if (r < 0)
        return r;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}
