/* Rendering for the CLI: aligned text tables (colour only when asked) and
 * JSON.  Tables are built row by row and printed at the end so columns can
 * be sized to their content. */
#ifndef PLUMB_OUTPUT_H
#define PLUMB_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum output_format {
    OUTPUT_TABLE = 0,
    OUTPUT_JSON,
};
int output_format_from_name(const char *name, enum output_format *ret);

enum output_color {
    COLOR_NONE = 0,
    COLOR_RED,
    COLOR_YELLOW,
    COLOR_GREEN,
    COLOR_BOLD,
    COLOR_DIM,
};

struct table;

/* Columns are given as a NULL-terminated list of headers. */
struct table *table_new(const char *const *headers);
struct table *table_free(struct table *t);
/* Add a row of ncolumns cells (copied; NULL prints as "-").  Returns 0 or
 * -ENOMEM. */
int table_add_row(struct table *t, const char *const *cells);
/* Colour of one cell of the last row added. */
void table_color_cell(struct table *t, size_t column, enum output_color color);
size_t table_rows(const struct table *t);
/* Print with two spaces between columns; cells longer than max_width are
 * cut with an ellipsis when max_width > 0 (the last column is never cut).
 * Colour escapes only when color is true. */
int table_print(const struct table *t, FILE *out, bool color, size_t max_width);

/* Pretty JSON with a trailing newline. */
int output_json(FILE *out, const json_t *value);

/* Display width of a UTF-8 string (code points; combining marks ignored). */
size_t utf8_width(const char *s);

/* Whether colour should be used on this stream: a TTY and NO_COLOR unset
 * (https://no-color.org). getenv result passed in. */
bool output_want_color(FILE *stream, const char *no_color_env);

#endif
