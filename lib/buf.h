/* A growable byte buffer with a hard size cap, for HTTP bodies, XML/JSON
 * rendering and anything else a remote party can make us allocate.
 *
 * The buffer owns its memory.  It always stays NUL-terminated (the NUL is
 * not counted in len), so text content can be used as a C string.  A failed
 * append leaves the previous content intact. */
#ifndef PLUMB_BUF_H
#define PLUMB_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

struct buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* appends that would exceed this fail with -E2BIG */
};

/* Cannot fail; max is mandatory (use SIZE_MAX only for trusted data). */
void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char(struct buf *b, char c);
int buf_appendf(struct buf *b, const char *fmt, ...) PLUMB_PRINTF(2, 3);
int buf_vappendf(struct buf *b, const char *fmt, va_list ap) PLUMB_PRINTF(2, 0);
/* Data as a C string ("" when empty); valid until the next append. */
const char *buf_str(const struct buf *b);
void buf_reset(struct buf *b); /* keep the allocation, drop the content */
/* Hand the (NUL-terminated) data to the caller and reset the buffer.
 * Returns an empty malloc'd string for an empty buffer, NULL on OOM. */
char *buf_steal(struct buf *b, size_t *ret_len);
void buf_free(struct buf *b);

#endif
