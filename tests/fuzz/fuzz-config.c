/* Fuzz target: plumb.conf parsing (inih + plumb's key table). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_env env = { .credentials_directory = "/nonexistent" };
    struct config *c = NULL;
    char **errors = NULL;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (config_load_string("fuzz.conf", text, &env, &c, NULL, &errors) == 0)
        config_free(c);
    strv_free(errors);
    free(text);
    return 0;
}
