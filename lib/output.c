#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int output_format_from_name(const char *name, enum output_format *ret)
{
    if (str_eq(name, "table") || str_eq(name, "text")) {
        *ret = OUTPUT_TABLE;
        return 0;
    }
    if (str_eq(name, "json")) {
        *ret = OUTPUT_JSON;
        return 0;
    }
    return -EINVAL;
}

struct table {
    size_t ncols;
    char **headers;
    char **cells; /* rows * ncols */
    unsigned char *colors;
    size_t nrows;
    size_t cap;
};

struct table *table_new(const char *const *headers)
{
    struct table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    while (headers[t->ncols])
        t->ncols++;
    t->headers = calloc(t->ncols, sizeof(char *));
    if (!t->headers)
        return table_free(t);
    for (size_t i = 0; i < t->ncols; i++)
        if (!(t->headers[i] = strdup(headers[i])))
            return table_free(t);
    return t;
}

struct table *table_free(struct table *t)
{
    if (!t)
        return NULL;
    for (size_t i = 0; t->headers && i < t->ncols; i++)
        free(t->headers[i]);
    free(t->headers);
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->colors);
    free(t);
    return NULL;
}

int table_add_row(struct table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char **nc = realloc(t->cells, cap * t->ncols * sizeof(char *));
        unsigned char *ncol;
        if (!nc)
            return -ENOMEM;
        t->cells = nc;
        ncol = realloc(t->colors, cap * t->ncols);
        if (!ncol)
            return -ENOMEM;
        t->colors = ncol;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *c = strdup(cells[i] ? cells[i] : "-");
        if (!c) {
            for (size_t j = 0; j < i; j++)
                free(t->cells[t->nrows * t->ncols + j]);
            return -ENOMEM;
        }
        /* Keep one row on one line. */
        for (char *p = c; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t')
                *p = ' ';
        t->cells[t->nrows * t->ncols + i] = c;
        t->colors[t->nrows * t->ncols + i] = COLOR_NONE;
    }
    t->nrows++;
    return 0;
}

void table_color_cell(struct table *t, size_t column, enum output_color color)
{
    if (t->nrows > 0 && column < t->ncols)
        t->colors[(t->nrows - 1) * t->ncols + column] = (unsigned char)color;
}

size_t table_rows(const struct table *t)
{
    return t->nrows;
}

size_t utf8_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) == 0x80)
            continue; /* continuation byte */
        if (p[0] == 0xcc || (p[0] == 0xcd && p[1] < 0xb0))
            continue; /* U+0300..U+036F combining marks */
        w++;
    }
    return w;
}

static const char *color_code(enum output_color c)
{
    switch (c) {
    case COLOR_RED: return "\033[31m";
    case COLOR_YELLOW: return "\033[33m";
    case COLOR_GREEN: return "\033[32m";
    case COLOR_BOLD: return "\033[1m";
    case COLOR_DIM: return "\033[2m";
    default: return "";
    }
}

/* Print s cut to width display columns (with "…" when cut). */
static void print_cell(FILE *out, const char *s, size_t width, bool cut)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    if (!cut || utf8_width(s) <= width) {
        fputs(s, out);
        return;
    }
    while (*p) {
        size_t len = 1;
        if ((*p & 0xe0) == 0xc0)
            len = 2;
        else if ((*p & 0xf0) == 0xe0)
            len = 3;
        else if ((*p & 0xf8) == 0xf0)
            len = 4;
        if (w + 1 >= width)
            break;
        fwrite(p, 1, len, out);
        w++;
        for (size_t i = 0; i < len && *p; i++)
            p++;
    }
    fputs("…", out);
}

int table_print(const struct table *t, FILE *out, bool color, size_t max_width)
{
    size_t *widths = calloc(t->ncols, sizeof(size_t));
    if (!widths)
        return -ENOMEM;
    for (size_t c = 0; c < t->ncols; c++) {
        widths[c] = utf8_width(t->headers[c]);
        for (size_t r = 0; r < t->nrows; r++)
            widths[c] = MAX(widths[c], utf8_width(t->cells[r * t->ncols + c]));
        if (max_width > 0 && c + 1 < t->ncols && widths[c] > max_width)
            widths[c] = max_width;
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = r == 0 ? t->headers[c] : t->cells[(r - 1) * t->ncols + c];
            enum output_color col =
                r == 0 ? COLOR_BOLD : (enum output_color)t->colors[(r - 1) * t->ncols + c];
            size_t w = utf8_width(s);
            bool last = c + 1 == t->ncols;
            if (color && col != COLOR_NONE)
                fputs(color_code(col), out);
            print_cell(out, s, widths[c], !last);
            if (color && col != COLOR_NONE)
                fputs("\033[0m", out);
            if (!last) {
                size_t shown = MIN(w, widths[c]);
                for (size_t i = shown; i < widths[c] + 2; i++)
                    fputc(' ', out);
            }
        }
        fputc('\n', out);
    }
    free(widths);
    return ferror(out) ? -EIO : 0;
}

int output_json(FILE *out, const json_t *value)
{
    if (json_dumpf(value, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
        return -EIO;
    fputc('\n', out);
    return ferror(out) ? -EIO : 0;
}

bool output_want_color(FILE *stream, const char *no_color_env)
{
    if (no_color_env && *no_color_env)
        return false;
    return isatty(fileno(stream)) == 1;
}
