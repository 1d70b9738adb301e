/* Cloud Custodian's "placebo" recordings (fixtures
 * aws-responses/cloud-custodian-placebo) store botocore's parsed output,
 * not the wire body.  For JSON 1.1 services the wire body is that output
 * with ResponseMetadata dropped and every datetime object turned back
 * into epoch seconds (see the fixtures' SOURCES.md). */
#ifndef PLUMB_TEST_PLACEBO_H
#define PLUMB_TEST_PLACEBO_H

#include <jansson.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Placebo stores botocore's parsed output; turn it back into the wire
 * body (JSON 1.1): datetimes become epoch seconds, ResponseMetadata goes. */
static inline json_t *placebo_to_wire(json_t *v)
{
    if (json_is_object(v)) {
        json_t *out;
        const char *k;
        json_t *c;
        if (str_eq(json_string_value(json_object_get(v, "__class__")), "datetime")) {
            struct tm tm = { 0 };
            tm.tm_year = (int)json_integer_value(json_object_get(v, "year")) - 1900;
            tm.tm_mon = (int)json_integer_value(json_object_get(v, "month")) - 1;
            tm.tm_mday = (int)json_integer_value(json_object_get(v, "day"));
            tm.tm_hour = (int)json_integer_value(json_object_get(v, "hour"));
            tm.tm_min = (int)json_integer_value(json_object_get(v, "minute"));
            tm.tm_sec = (int)json_integer_value(json_object_get(v, "second"));
            return json_real((double)timegm(&tm) +
                             (double)json_integer_value(json_object_get(v, "microsecond")) / 1e6);
        }
        out = json_object();
        json_object_foreach (v, k, c)
            if (strcmp(k, "ResponseMetadata") != 0)
                json_object_set_new(out, k, placebo_to_wire(c));
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array(), *c;
        size_t i;
        json_array_foreach (v, i, c)
            json_array_append_new(out, placebo_to_wire(c));
        return out;
    }
    return json_incref(v);
}

#endif
