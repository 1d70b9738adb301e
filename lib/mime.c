#include "mime.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "tz.h"

/* Header lines are folded to this many columns where possible. */
#define HEADER_COLS 76
/* Encoded body lines (quoted-printable and base64). */
#define BODY_COLS 76
/* Display names and the List-Id description: long enough for any real
 * name, short enough that a quoted one keeps its line below 998. */
#define PHRASE_MAX 256

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* Returns the offset of the first invalid byte, or len if s is valid. */
static size_t utf8_invalid_at(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_len(p + i, len - i);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

/* A caller's string made safe to quote in an error message: control
 * characters and invalid UTF-8 escaped, cut at about 80 bytes. */
static const char *quote_for_msg(const char *s, char *out, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, left = strlen(s);

    while (*p && o + 8 < size) {
        size_t n = utf8_len(p, left);
        if (o > 80) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (n == 1 && *p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\') {
            out[o++] = (char)*p;
        } else if (n > 1) {
            memcpy(out + o, p, n);
            o += n;
        } else {
            const char *esc = *p == '\r'   ? "\\r"
                              : *p == '\n' ? "\\n"
                              : *p == '\t' ? "\\t"
                              : *p == '"'  ? "\\\""
                              : *p == '\\' ? "\\\\"
                                           : NULL;
            if (esc) {
                memcpy(out + o, esc, 2);
                o += 2;
            } else {
                o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
            }
            n = 1;
        }
        p += n;
        left -= n;
    }
    out[o] = '\0';
    return out;
}

/* ---- addresses ---- */

static bool is_atext(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool valid_dot_atom(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!is_atext(s[i])) {
            return false;
        }
    }
    return true;
}

static bool valid_domain(const char *s, size_t len)
{
    size_t label = 0;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

static bool valid_addr_spec(const char *s, size_t len)
{
    const char *at = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '@')
            at = s + i;
    if (!at || len > MIME_ADDR_MAX)
        return false;
    if ((size_t)(at - s) > 64 || !valid_dot_atom(s, (size_t)(at - s)))
        return false;
    return valid_domain(at + 1, len - (size_t)(at - s) - 1);
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

int mime_parse_address(const char *in, const char *what, char **ret_name, char **ret_addr,
                       struct perr *err)
{
    char q[128];
    const char *start, *end, *addr, *addr_end, *lt;
    char *name = NULL, *a = NULL;
    size_t len;

    if (!what)
        what = "address";
    if (!in || !*in)
        return perr_set(err, -EINVAL, "%s is missing", what);
    len = strnlen(in, 1025);
    if (len > 1024)
        return perr_set(err, -EINVAL, "%s \"%s\" is too long", what,
                        quote_for_msg(in, q, sizeof(q)));
    if (has_control(in))
        return perr_set(err, -EINVAL, "%s \"%s\" contains a line break or control character", what,
                        quote_for_msg(in, q, sizeof(q)));
    if (utf8_invalid_at(in, len) != len)
        return perr_set(err, -EINVAL, "%s \"%s\" is not valid UTF-8", what,
                        quote_for_msg(in, q, sizeof(q)));
    start = in;
    end = in + len;
    while (start < end && *start == ' ')
        start++;
    while (end > start && end[-1] == ' ')
        end--;

    if (end > start && end[-1] == '>') {
        const char *ns = start, *ne;
        lt = NULL;
        for (const char *p = start; p < end; p++)
            if (*p == '<')
                lt = p;
        if (!lt)
            goto invalid;
        addr = lt + 1;
        addr_end = end - 1;
        ne = lt;
        while (ne > ns && ne[-1] == ' ')
            ne--;
        if (ne > ns) {
            if (*ns == '"') {
                /* A quoted string: strip the quotes, undo \x escapes. */
                size_t o = 0;
                if (ne - ns < 2 || ne[-1] != '"')
                    goto invalid;
                name = malloc((size_t)(ne - ns));
                if (!name)
                    goto oom;
                for (const char *p = ns + 1; p < ne - 1; p++) {
                    if (*p == '\\') {
                        if (++p >= ne - 1)
                            goto invalid;
                    } else if (*p == '"') {
                        goto invalid;
                    }
                    name[o++] = *p;
                }
                name[o] = '\0';
            } else {
                for (const char *p = ns; p < ne; p++)
                    if (*p == '"' || *p == '<' || *p == '>')
                        goto invalid;
                name = str_ndup(ns, (size_t)(ne - ns));
                if (!name)
                    goto oom;
            }
            if (strlen(name) > PHRASE_MAX)
                goto invalid;
            if (!*name) {
                free(name);
                name = NULL;
            }
        }
    } else {
        addr = start;
        addr_end = end;
    }
    if (!valid_addr_spec(addr, (size_t)(addr_end - addr)))
        goto invalid;
    a = str_ndup(addr, (size_t)(addr_end - addr));
    if (!a)
        goto oom;
    if (ret_name)
        *ret_name = name;
    else
        free(name);
    *ret_addr = a;
    return 0;

invalid:
    free(name);
    return perr_set(err, -EINVAL, "%s \"%s\" is not a valid address", what,
                    quote_for_msg(in, q, sizeof(q)));
oom:
    free(name);
    return perr_set(err, -ENOMEM, "out of memory");
}

/* ---- header writer ---- */

struct hw {
    struct buf *b;
    size_t col;
    size_t name_len;
    int r;
};

static void hw_put(struct hw *h, const char *s, size_t len)
{
    if (h->r == 0)
        h->r = buf_append(h->b, s, len);
    h->col += len;
}

static void hw_begin(struct hw *h, const char *name)
{
    h->col = 0;
    h->name_len = strlen(name) + 1;
    hw_put(h, name, strlen(name));
    hw_put(h, ":", 1);
}

/* A space (or a fold: CRLF and the space) and a token, folding when the
 * token would pass HEADER_COLS and something already stands on the line. */
static void hw_token(struct hw *h, const char *tok, size_t len)
{
    if (h->col + 1 + len > HEADER_COLS && h->col > h->name_len) {
        hw_put(h, "\r\n", 2);
        h->col = 0;
    }
    hw_put(h, " ", 1);
    hw_put(h, tok, len);
}

/* Text glued to the previous token (the comma after an address). */
static void hw_glue(struct hw *h, const char *s)
{
    hw_put(h, s, strlen(s));
}

static void hw_end(struct hw *h)
{
    hw_put(h, "\r\n", 2);
}

/* RFC 2047 "B" encoded-words for s, each holding whole UTF-8 characters
 * and sized so that no line passes HEADER_COLS.  Text that fits one word
 * on a fresh line is not split (decoders differ on the space between two
 * encoded-words in a display name; RFC 2047 says to drop it). */
static void hw_encoded_words(struct hw *h, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t avail, max_raw, n = 0, whole = 12 + (len - i + 2) / 3 * 4;
        char *b64, word[HEADER_COLS + 1];
        int wl;

        avail = HEADER_COLS > h->col + 1 ? HEADER_COLS - h->col - 1 : 0;
        /* "=?UTF-8?B?" + 8 base64 characters (one 4-byte character) + "?=" */
        if ((avail < 20 || (whole > avail && whole <= HEADER_COLS - 1)) && h->col > h->name_len) {
            hw_put(h, "\r\n", 2);
            h->col = 0;
            avail = HEADER_COLS - 1;
        }
        max_raw = avail > 12 ? (avail - 12) / 4 * 3 : 0;
        if (max_raw > 45)
            max_raw = 45;
        if (max_raw < 4)
            max_raw = 4;
        while (i + n < len) {
            size_t c = utf8_len(p + i + n, len - i - n);
            if (c == 0)
                c = 1; /* validated by the caller; be safe anyway */
            if (n + c > max_raw)
                break;
            n += c;
        }
        b64 = base64_encode(s + i, n);
        if (!b64) {
            if (h->r == 0)
                h->r = -ENOMEM;
            return;
        }
        wl = snprintf(word, sizeof(word), "=?UTF-8?B?%s?=", b64);
        free(b64);
        hw_put(h, " ", 1);
        hw_put(h, word, (size_t)wl);
        i += n;
    }
}

static bool phrase_is_atoms(const char *s)
{
    if (!*s || s[0] == ' ' || s[strlen(s) - 1] == ' ' || strstr(s, "  ") || strstr(s, "=?"))
        return false;
    for (const char *p = s; *p; p++)
        if (*p != ' ' && !is_atext(*p))
            return false;
    return true;
}

static bool is_printable_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

static bool word_is_atom(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_atext(s[i]) || (s[i] == '=' && i + 1 < len && s[i + 1] == '?'))
            return false;
    return true;
}

/* A display name or description: atoms as they are, other ASCII as a
 * quoted string, and otherwise atoms as they are with each run of other
 * words (and the spaces inside it) as encoded-words, as Python's email
 * package writes them too. */
static void hw_phrase(struct hw *h, const char *s)
{
    size_t len = strlen(s);
    const char *p = s, *end = s + len;

    if (phrase_is_atoms(s)) {
        while (*p) {
            size_t n = strcspn(p, " ");
            hw_token(h, p, n);
            p += n;
            while (*p == ' ')
                p++;
        }
        return;
    }
    if (is_printable_ascii(s) && !strstr(s, "=?")) {
        char q[2 * PHRASE_MAX + 3];
        size_t o = 0;
        q[o++] = '"';
        for (; *p && o + 3 < sizeof(q); p++) {
            if (*p == '"' || *p == '\\')
                q[o++] = '\\';
            q[o++] = *p;
        }
        q[o++] = '"';
        hw_token(h, q, o);
        return;
    }
    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ' || strstr(s, "  ")) {
        /* Spaces a decoder could collapse: keep them inside one run. */
        hw_encoded_words(h, s, len);
        return;
    }
    while (p < end) {
        size_t n = strcspn(p, " ");
        if (word_is_atom(p, n)) {
            hw_token(h, p, n);
            p += n;
        } else {
            const char *run = p;
            /* Extend the run over following words that are not atoms. */
            for (;;) {
                p += n;
                if (p >= end)
                    break;
                n = strcspn(p + 1, " ");
                if (word_is_atom(p + 1, n))
                    break;
                p++;
            }
            hw_encoded_words(h, run, (size_t)(p - run));
        }
        if (p < end)
            p++; /* the single space between words */
    }
}

/* One address (display name and <addr>, or the bare address). */
static void hw_address(struct hw *h, const char *name, const char *addr)
{
    char a[MIME_ADDR_MAX + 3];
    int n;
    if (name) {
        hw_phrase(h, name);
        n = snprintf(a, sizeof(a), "<%s>", addr);
    } else {
        n = snprintf(a, sizeof(a), "%s", addr);
    }
    hw_token(h, a, (size_t)n);
}

/* The Subject after neutralising: control characters, C1 controls and the
 * Unicode line and paragraph separators become spaces.  malloc'd. */
static char *clean_subject(const char *s)
{
    size_t len = strlen(s), o = 0;
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(p + i, len - i);
        bool ctl =
            (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ||
            (n == 2 && p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) ||
            (n == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9));
        if (n == 0)
            n = 1;
        if (ctl) {
            out[o++] = ' ';
        } else {
            memcpy(out + o, p + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    return out;
}

/* Plain ASCII words that fold cleanly and that a decoder cannot mistake
 * for encoded-words; anything else is encoded, which also keeps leading,
 * trailing and repeated spaces exactly. */
static bool subject_is_plain(const char *s)
{
    size_t word = 0;
    if (!is_printable_ascii(s) || s[0] == ' ' || s[strlen(s) - 1] == ' ' || strstr(s, "  ") ||
        strstr(s, "=?"))
        return false;
    for (const char *p = s; *p; p++) {
        word = *p == ' ' ? 0 : word + 1;
        if (word > HEADER_COLS - 10)
            return false;
    }
    return true;
}

static void hw_subject(struct hw *h, const char *subject)
{
    bool plain = *subject && subject_is_plain(subject);
    hw_begin(h, "Subject");
    if (!*subject) {
        /* nothing */
    } else if (plain) {
        const char *p = subject;
        while (*p) {
            size_t n = strcspn(p, " ");
            hw_token(h, p, n);
            p += n;
            if (*p == ' ')
                p++;
        }
    } else {
        hw_encoded_words(h, subject, strlen(subject));
    }
    hw_end(h);
}

/* ---- bodies ---- */

/* Line breaks (CRLF, LF or a lone CR) as CRLF; malloc'd. */
static char *normalise_breaks(const char *s, size_t *ret_len)
{
    size_t len = strlen(s), extra = 0, o = 0;
    char *out;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            extra++;
        else if (s[i] == '\r' && s[i + 1] != '\n')
            extra++;
    out = malloc(len + extra + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r') {
            out[o++] = '\r';
            out[o++] = '\n';
            if (s[i + 1] == '\n')
                i++;
        } else if (s[i] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *ret_len = o;
    return out;
}

/* Quoted-printable (RFC 2045 6.7) with soft breaks so that no line passes
 * BODY_COLS.  Also encoded: a "." or the "F" of "From " at the start of a
 * line, so that neither SMTP dot-stuffing nor mbox "From " quoting by a
 * relay can change the content. */
static int qp_encode(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    int r = 0;

    for (size_t i = 0; i < len && r == 0;) {
        unsigned char c = (unsigned char)s[i];
        bool eol, lit;
        size_t k;

        if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
            r = buf_append(out, "\r\n", 2);
            col = 0;
            i += 2;
            continue;
        }
        eol = i + 1 == len || (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n');
        for (int pass = 0; pass < 2; pass++) {
            lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol);
            if (col == 0 &&
                (c == '.' || (c == 'F' && len - i >= 5 && memcmp(s + i, "From ", 5) == 0)))
                lit = false;
            k = lit ? 1 : 3;
            /* Leave room for the "=" of a soft break. */
            if (pass == 0 && col + k > BODY_COLS - 1) {
                r = buf_append(out, "=\r\n", 3);
                col = 0;
                continue;
            }
            break;
        }
        if (r < 0)
            break;
        if (lit) {
            r = buf_append_char(out, (char)c);
        } else {
            char e[3] = { '=', hex[c >> 4], hex[c & 15] };
            r = buf_append(out, e, 3);
        }
        col += k;
        i++;
    }
    return r;
}

static int base64_body(struct buf *out, const char *s, size_t len)
{
    char *b64 = base64_encode(s, len);
    size_t n;
    int r = 0;
    if (!b64)
        return -ENOMEM;
    n = strlen(b64);
    for (size_t i = 0; i < n && r == 0; i += BODY_COLS) {
        if (i > 0)
            r = buf_append(out, "\r\n", 2);
        if (r == 0)
            r = buf_append(out, b64 + i, MIN(BODY_COLS, n - i));
    }
    free(b64);
    return r;
}

/* Quoted-printable grows every byte outside printable ASCII threefold,
 * base64 grows everything by a third: pick the smaller. */
static enum mime_encoding pick_encoding(enum mime_encoding want, const char *s, size_t len)
{
    size_t high = 0;
    if (want != MIME_ENC_AUTO)
        return want;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c >= 0x7f || c == '=')
            high++;
    }
    return high * 6 > len ? MIME_ENC_BASE64 : MIME_ENC_QP;
}

struct part {
    struct buf body;
    enum mime_encoding enc;
};

static int encode_part(struct part *p, const char *what, const char *text, enum mime_encoding want,
                       size_t max, struct perr *err)
{
    size_t len = strlen(text), bad = utf8_invalid_at(text, len), nlen;
    char *norm;
    int r;

    if (bad != len)
        return perr_set(err, -EINVAL, "%s is not valid UTF-8 (byte %zu)", what, bad);
    if (want != MIME_ENC_AUTO && want != MIME_ENC_QP && want != MIME_ENC_BASE64)
        return perr_set(err, -EINVAL, "%s: unknown transfer encoding %d", what, (int)want);
    norm = normalise_breaks(text, &nlen);
    if (!norm)
        return perr_set(err, -ENOMEM, "out of memory");
    buf_init(&p->body, max);
    p->enc = pick_encoding(want, norm, nlen);
    r = p->enc == MIME_ENC_QP ? qp_encode(&p->body, norm, nlen) : base64_body(&p->body, norm, nlen);
    free(norm);
    if (r == -E2BIG)
        return perr_set(err, r, "message larger than %zu bytes", max);
    if (r < 0)
        return perr_set(err, r, "out of memory");
    return 0;
}

/* ---- the message ---- */

struct addr {
    char *name;
    char *addr;
};

static void addrs_free(struct addr *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].name);
        free(a[i].addr);
    }
    free(a);
}

static int format_date(int64_t ms, int32_t utc_offset, char *out, size_t size)
{
    static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    int off_min = utc_offset / 60;
    int64_t secs, local, day, year, sod;
    int month, mday;

    if (ms < TZ_MIN_MS || ms > TZ_MAX_MS || utc_offset < -86399 || utc_offset > 86399)
        return -EINVAL;
    secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    local = secs + (int64_t)off_min * 60;
    day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    sod = local - day * 86400;
    tz_civil_from_days(day, &year, &month, &mday);
    if (year < 1900 || year > 9999)
        return -EINVAL;
    snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
             days[tz_weekday_from_days(day) - 1], mday, months[month - 1], (int)year,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), off_min < 0 ? '-' : '+',
             abs(off_min) / 60, abs(off_min) % 60);
    return 0;
}

static int random_hex(char *out, size_t nbytes)
{
    unsigned char b[32];
    int r;
    if (nbytes > sizeof(b))
        return -EINVAL;
    r = random_bytes(b, nbytes);
    if (r < 0)
        return r;
    hex_encode(b, nbytes, out);
    return 0;
}

int mime_build(const struct mime_message *m, char **ret, size_t *ret_len, char **ret_message_id,
               struct perr *err)
{
    struct addr from = { NULL, NULL }, reply = { NULL, NULL }, *to = NULL;
    struct part text = { .enc = MIME_ENC_QP }, html = { .enc = MIME_ENC_QP };
    char *subject = NULL, *msgid = NULL, *data, q[128], date[64], boundary[48], hex[40];
    const char *domain;
    size_t nto = 0, max, len;
    struct buf out;
    struct hw h = { .b = &out };
    int r;

    buf_init(&out, 0);
    buf_init(&text.body, 0);
    buf_init(&html.body, 0);
    if (!m)
        return perr_set(err, -EINVAL, "no message");
    max = m->max_size ? m->max_size : MIME_DEFAULT_MAX;

    r = mime_parse_address(m->from, "From address", &from.name, &from.addr, err);
    if (r < 0)
        goto fail;
    if (m->reply_to) {
        r = mime_parse_address(m->reply_to, "Reply-To address", &reply.name, &reply.addr, err);
        if (r < 0)
            goto fail;
    }
    while (m->to && m->to[nto])
        nto++;
    if (nto == 0) {
        r = perr_set(err, -EINVAL, "no recipients");
        goto fail;
    }
    to = calloc(nto, sizeof(*to));
    if (!to)
        goto oom;
    for (size_t i = 0; i < nto; i++) {
        r = mime_parse_address(m->to[i], "To address", &to[i].name, &to[i].addr, err);
        if (r < 0)
            goto fail;
    }
    if (!m->subject) {
        r = perr_set(err, -EINVAL, "Subject is missing");
        goto fail;
    }
    if (utf8_invalid_at(m->subject, strlen(m->subject)) != strlen(m->subject)) {
        r = perr_set(err, -EINVAL, "Subject \"%s\" is not valid UTF-8",
                     quote_for_msg(m->subject, q, sizeof(q)));
        goto fail;
    }
    subject = clean_subject(m->subject);
    if (!subject)
        goto oom;
    if (m->list_id && (!valid_dot_atom(m->list_id, strlen(m->list_id)) ||
                       !strchr(m->list_id, '.') || strlen(m->list_id) > 255)) {
        r = perr_set(err, -EINVAL, "List-Id \"%s\" is not valid (expected e.g. digest.example.org)",
                     quote_for_msg(m->list_id, q, sizeof(q)));
        goto fail;
    }
    if (m->list_name &&
        (has_control(m->list_name) || strlen(m->list_name) > PHRASE_MAX ||
         utf8_invalid_at(m->list_name, strlen(m->list_name)) != strlen(m->list_name))) {
        r = perr_set(err, -EINVAL, "List-Id description \"%s\" is not valid",
                     quote_for_msg(m->list_name, q, sizeof(q)));
        goto fail;
    }
    domain = m->message_id_domain ? m->message_id_domain : strrchr(from.addr, '@') + 1;
    if (!valid_domain(domain, strlen(domain))) {
        r = perr_set(err, -EINVAL, "Message-ID domain \"%s\" is not valid",
                     quote_for_msg(domain, q, sizeof(q)));
        goto fail;
    }
    if (format_date(m->date_ms, m->utc_offset, date, sizeof(date)) < 0) {
        r = perr_set(err, -EINVAL, "Date out of range");
        goto fail;
    }
    if (!m->text || !m->html) {
        r = perr_set(err, -EINVAL, "%s part is missing", m->text ? "HTML" : "text");
        goto fail;
    }
    r = encode_part(&text, "text part", m->text, m->text_encoding, max, err);
    if (r < 0)
        goto fail;
    r = encode_part(&html, "HTML part", m->html, m->html_encoding, max, err);
    if (r < 0)
        goto fail;

    /* "=_" never occurs in quoted-printable or base64 output, so the
     * boundary cannot occur in the parts; check anyway. */
    for (int tries = 0;; tries++) {
        r = random_hex(hex, 16);
        if (r < 0) {
            perr_set(err, r, "cannot read random bytes");
            goto fail;
        }
        snprintf(boundary, sizeof(boundary), "=_plumb_%s", hex);
        if (!memmem(buf_str(&text.body), text.body.len, boundary, strlen(boundary)) &&
            !memmem(buf_str(&html.body), html.body.len, boundary, strlen(boundary)))
            break;
        if (tries == 3) {
            r = perr_set(err, -EIO, "cannot find a MIME boundary");
            goto fail;
        }
    }
    r = random_hex(hex, 16);
    if (r < 0) {
        perr_set(err, r, "cannot read random bytes");
        goto fail;
    }
    msgid = str_printf("<%s@%s>", hex, domain);
    if (!msgid)
        goto oom;

    buf_init(&out, max);
    hw_begin(&h, "Date");
    hw_token(&h, date, strlen(date));
    hw_end(&h);
    hw_begin(&h, "From");
    hw_address(&h, from.name, from.addr);
    hw_end(&h);
    hw_begin(&h, "To");
    for (size_t i = 0; i < nto; i++) {
        hw_address(&h, to[i].name, to[i].addr);
        if (i + 1 < nto)
            hw_glue(&h, ",");
    }
    hw_end(&h);
    if (reply.addr) {
        hw_begin(&h, "Reply-To");
        hw_address(&h, reply.name, reply.addr);
        hw_end(&h);
    }
    hw_subject(&h, subject);
    hw_begin(&h, "Message-ID");
    hw_token(&h, msgid, strlen(msgid));
    hw_end(&h);
    if (m->list_id) {
        char id[260];
        int n = snprintf(id, sizeof(id), "<%s>", m->list_id);
        hw_begin(&h, "List-Id");
        if (m->list_name && *m->list_name)
            hw_phrase(&h, m->list_name);
        hw_token(&h, id, (size_t)n);
        hw_end(&h);
    }
    hw_begin(&h, "Auto-Submitted");
    hw_token(&h, "auto-generated", 14);
    hw_end(&h);
    hw_begin(&h, "MIME-Version");
    hw_token(&h, "1.0", 3);
    hw_end(&h);
    if (h.r == 0)
        h.r = buf_appendf(&out,
                          "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n"
                          "\r\n"
                          "This is a multi-part message in MIME format.\r\n",
                          boundary);
    for (int i = 0; i < 2 && h.r == 0; i++) {
        const struct part *p = i == 0 ? &text : &html;
        h.r = buf_appendf(&out,
                          "\r\n--%s\r\n"
                          "Content-Type: text/%s; charset=UTF-8\r\n"
                          "Content-Transfer-Encoding: %s\r\n"
                          "\r\n",
                          boundary, i == 0 ? "plain" : "html",
                          p->enc == MIME_ENC_QP ? "quoted-printable" : "base64");
        if (h.r == 0)
            h.r = buf_append(&out, buf_str(&p->body), p->body.len);
    }
    if (h.r == 0)
        h.r = buf_appendf(&out, "\r\n--%s--\r\n", boundary);
    if (h.r == -E2BIG) {
        r = perr_set(err, -E2BIG, "message larger than %zu bytes", max);
        goto fail;
    }
    if (h.r < 0)
        goto oom;

    data = buf_steal(&out, &len);
    if (!data)
        goto oom;
    *ret = data;
    if (ret_len)
        *ret_len = len;
    if (ret_message_id) {
        *ret_message_id = msgid;
        msgid = NULL;
    }
    r = 0;
    goto done;

oom:
    r = perr_set(err, -ENOMEM, "out of memory");
fail:
    buf_free(&out);
done:
    free(msgid);
    free(subject);
    addrs_free(to, nto);
    free(from.name);
    free(from.addr);
    free(reply.name);
    free(reply.addr);
    buf_free(&text.body);
    buf_free(&html.body);
    return r;
}
