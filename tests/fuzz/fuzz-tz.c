/* Fuzz target: TZif parsing (tz_parse) and conversions in the zone parsed.
 *
 * For any zone that loads, converting an instant to local time and the
 * wall time back must find that instant again (or, in a fold, an earlier
 * instant showing the same wall time), never a gap. */
#include <stdint.h>
#include <stdlib.h>

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t instants[] = { -5000000000LL, -2208988800LL, -1,           0,
                                        951782400LL,   1774747800LL,  2147483647LL, 4102444800LL,
                                        32503680000LL };
    struct tz *tz = NULL;

    if (tz_parse("Fuzz/Zone", data, size, &tz, NULL) < 0)
        return 0;
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
        /* Also every hour of a day around each instant. */
        for (int h = 0; h < 48; h++) {
            int64_t t = (instants[i] + h * 1800LL) * 1000;
            struct tz_local l, back;
            struct tz_wall w;
            enum tz_match m;
            int64_t got;
            if (tz_to_local(tz, t, &l) < 0)
                continue;
            w = (struct tz_wall){ l.year, l.month, l.day, l.hour, l.minute, l.second };
            if (tz_from_local(tz, &w, &got, &m) < 0)
                continue; /* the answer may leave the supported range */
            if (m == TZ_GAP || got > t - l.millisecond ||
                (m == TZ_UNIQUE && got != t - l.millisecond))
                abort();
            if (tz_to_local(tz, got, &back) < 0 || back.hour != l.hour || back.minute != l.minute ||
                back.day != l.day)
                abort();
        }
    }
    tz_free(tz);
    return 0;
}
