/* Fuzz target: .driftignore parsing and matching. */
#include <stdint.h>
#include <stdlib.h>

#include "ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ignore_set *set = NULL;
    struct perr err = { 0 };
    if (ignore_parse("fuzz.driftignore", (const char *)data, size, &set, &err) == 0) {
        (void)ignore_resource(set, "aws_s3_bucket", "my.bucket");
        (void)ignore_attribute(set, "aws_instance", "i-123", "tags[\"Name\"]");
        ignore_set_free(set);
    }
    return 0;
}
