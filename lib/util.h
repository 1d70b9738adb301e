/* Small helpers shared by every module: error reports, strings, string
 * vectors, number/duration/time parsing and file reading.
 *
 * Conventions used across lib/ (see HACKING.md):
 *  - functions return 0 (or a count) on success and a negative errno-style
 *    code on failure; ret_* outputs are untouched on failure;
 *  - returned pointers are owned by the caller unless the comment says
 *    otherwise; NULL from an allocating function means out of memory;
 *  - nothing here logs or keeps global state. */
#ifndef PLUMB_UTIL_H
#define PLUMB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* <sys/param.h> (pulled in by <uv.h>) defines MIN and MAX without a guard;
 * include it first so both orders of inclusion compile. */
#include <sys/param.h>

#define PLUMB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ARRAY_SIZE(a)           (sizeof(a) / sizeof((a)[0]))
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* A human-readable error report that travels next to a negative code.
 * Callers pass it down; the innermost function that knows what went wrong
 * fills it (file:line, key, resource...), outer ones may prefix context. */
struct perr {
    int code;
    char msg[512];
};

/* Fill err (if non-NULL) and return code, so callers can write
 * `return perr_set(err, -EINVAL, "...");`. */
int perr_set(struct perr *err, int code, const char *fmt, ...) PLUMB_PRINTF(3, 4);
/* Prefix the existing message with more context ("file.conf:3: " ...). */
void perr_prefix(struct perr *err, const char *fmt, ...) PLUMB_PRINTF(2, 3);
void perr_clear(struct perr *err);

/* Strings.  str_printf returns a malloc'd string or NULL on OOM. */
char *str_printf(const char *fmt, ...) PLUMB_PRINTF(1, 2);
char *str_vprintf(const char *fmt, va_list ap) PLUMB_PRINTF(1, 0);
char *str_ndup(const char *s, size_t n);
bool str_eq(const char *a, const char *b);    /* NULL-safe */
bool str_eq_ci(const char *a, const char *b); /* ASCII case-insensitive */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Trim ASCII whitespace in place; returns s. */
char *str_trim(char *s);
/* Replace *dst with a copy of src (NULL allowed); returns 0 or -ENOMEM. */
int str_replace(char **dst, const char *src);
void str_lower(char *s);
/* Free a string that may hold a secret, wiping it first. */
void str_free_secret(char *s);

/* NULL-terminated arrays of malloc'd strings. */
char **strv_new(void);
size_t strv_length(char *const *v);
/* Append a copy of s; *v may be NULL.  Returns 0 or -ENOMEM (v unchanged). */
int strv_push(char ***v, const char *s);
/* Append s itself, taking ownership on success only. */
int strv_consume(char ***v, char *s);
bool strv_contains(char *const *v, const char *s);
char **strv_free(char **v);
/* Split on any character of seps, trimming whitespace and dropping empty
 * items ("a, b,,c" -> a b c).  Returns 0 or -ENOMEM. */
int strv_split(const char *s, const char *seps, char ***ret);
char **strv_copy(char *const *v);
/* Join with sep; returns malloc'd string or NULL. */
char *strv_join(char *const *v, const char *sep);

/* Numbers. Accept only the whole string; return -EINVAL / -ERANGE. */
int parse_int64(const char *s, int64_t *ret);
int parse_uint64(const char *s, uint64_t *ret);
int parse_double(const char *s, double *ret);
/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int parse_bool(const char *s, bool *ret);
/* Durations: "90", "90s", "15m", "1h30m", "7d", "500ms", "2w".
 * A bare number is seconds. Result in milliseconds. */
int parse_duration_ms(const char *s, int64_t *ret_ms);
/* Sizes: "512", "64k", "10M", "1G" (powers of 1024). */
int parse_size(const char *s, uint64_t *ret);
/* Format a duration compactly ("1h30m", "45s", "250ms").  buf >= 32. */
void format_duration_ms(int64_t ms, char *buf, size_t size);

/* Time.  All timestamps in plumb are Unix milliseconds (UTC). */
int64_t time_now_ms(void);  /* CLOCK_REALTIME */
int64_t time_mono_ms(void); /* CLOCK_MONOTONIC */
/* ISO 8601 / RFC 3339 ("2024-01-02T03:04:05Z", with fraction and offset,
 * or a bare date).  */
int time_parse_iso8601(const char *s, int64_t *ret_ms);
/* RFC 1123 / RFC 822 dates as in HTTP and S3 ("Tue, 01 Mar 2022 10:00:00 GMT"). */
int time_parse_http(const char *s, int64_t *ret_ms);
/* "2024-01-02T03:04:05Z" (no fraction) into buf (>= 21 bytes). */
void time_format_iso8601(int64_t ms, char *buf, size_t size);
/* "2024-01-02T03:04:05.123Z" into buf (>= 25 bytes). */
void time_format_iso8601_ms(int64_t ms, char *buf, size_t size);
/* Relative time spans for --since: "1h", "7d", or an ISO 8601 time.
 * Returns the absolute cut-off in ms. */
int time_parse_since(const char *s, int64_t now_ms, int64_t *ret_ms);

/* Read a whole file, refusing more than max bytes (-EFBIG).  The result is
 * NUL-terminated; *ret_len excludes the NUL.  ret_len may be NULL. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* Write atomically (temp file + rename) with the given mode. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Hex encoding (lower case); out must hold 2*len+1 bytes. */
void hex_encode(const unsigned char *in, size_t len, char *out);
int hex_decode(const char *in, unsigned char *out, size_t out_size, size_t *ret_len);

/* Fill buf with cryptographically random bytes. */
int random_bytes(void *buf, size_t len);
/* A random RFC 4122 version-4 UUID string into out (>= 37 bytes). */
int uuid_v4(char *out, size_t size);

#endif
