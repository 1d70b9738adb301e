/* Fuzz target: Terraform state parsing and re-serialisation. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "tfstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    if (tfstate_parse("fuzz.tfstate", data, size, NULL, &s, &err) == 0) {
        json_t *j = tfstate_to_json(s);
        json_decref(j);
        for (size_t i = 0; i < s->n_instances; i++)
            (void)tfstate_instance_id(&s->instances[i]);
        tfstate_free(s);
    }
    return 0;
}
