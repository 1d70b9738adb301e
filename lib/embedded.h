/* Files compiled into the binary (migrations, the type table, AWS models).
 * Generated tables end with an entry whose name is NULL.  Data is
 * NUL-terminated, so text files can be used as C strings. */
#ifndef PLUMB_EMBEDDED_H
#define PLUMB_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *name;
    const char *data;
    size_t size;
};

#endif
