/* The registry of collectors: one line per lib/collect_<service>.c. */
#include "collect.h"
#include "collect_apigateway.h"
#include "collect_appstream.h"
#include "collect_autoscaling.h"
#include "collect_cloudfront.h"
#include "collect_ec2.h"
#include "collect_elb.h"

#include "util.h"

/* clang-format off */
const struct collector_def *const collector_registry[] = {
    &collect_ec2_def,
    &collect_autoscaling_def,
    &collect_elb_def,
    &collect_apigateway_def,
    &collect_cloudfront_def,
    &collect_appstream_def,
    NULL,
};
/* clang-format on */

const struct collector_def *collector_find(const char *name)
{
    for (size_t i = 0; collector_registry[i]; i++)
        if (str_eq(collector_registry[i]->name, name))
            return collector_registry[i];
    return NULL;
}
