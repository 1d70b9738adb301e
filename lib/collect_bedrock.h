/* Collector "bedrock": the model invocation logging configuration
 * (aws_bedrock_model_invocation_logging_configuration), one per region.
 *
 * Calls per region: GetModelInvocationLoggingConfiguration, once.  A
 * response without a loggingConfig (or with an empty one) means logging
 * is off: no document; the baseline's log-bedrock-invocation then fails.
 * The live id is the region name. */
#ifndef PLUMB_COLLECT_BEDROCK_H
#define PLUMB_COLLECT_BEDROCK_H

#include "collect.h"

extern const struct collector_def collect_bedrock;

#endif
