/* The registry of collectors: one line per lib/collect_<service>.c. */
#include "collect.h"
#include "collect_accessanalyzer.h"
#include "collect_account.h"
#include "collect_acm.h"
#include "collect_apigateway.h"
#include "collect_appstream.h"
#include "collect_appsync.h"
#include "collect_athena.h"
#include "collect_autoscaling.h"
#include "collect_backup.h"
#include "collect_bedrock.h"
#include "collect_cloudfront.h"
#include "collect_ec2.h"
#include "collect_elb.h"
#include "collect_cloudtrail.h"
#include "collect_configsvc.h"
#include "collect_events.h"
#include "collect_guardduty.h"
#include "collect_iam.h"
#include "collect_kms.h"
#include "collect_logs.h"
#include "collect_rds.h"
#include "collect_s3.h"
#include "collect_securityhub.h"
#include "collect_ssmincidents.h"

#include "util.h"

/* clang-format off */
const struct collector_def *const collector_registry[] = {
    &collect_ec2,
    &collect_autoscaling,
    &collect_elb,
    &collect_apigateway,
    &collect_cloudfront,
    &collect_appstream,
    &collect_cloudtrail_def,
    &collect_configsvc_def,
    &collect_guardduty_def,
    &collect_iam_def,
    &collect_kms_def,
    &collect_logs_def,
    &collect_s3_def,
    &collect_rds,
    &collect_backup,
    &collect_acm,
    &collect_account,
    &collect_athena,
    &collect_bedrock,
    &collect_securityhub,
    &collect_accessanalyzer,
    &collect_events,
    &collect_appsync,
    &collect_ssmincidents,
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
