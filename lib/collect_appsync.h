/* Collector "appsync": AppSync GraphQL APIs (aws_appsync_graphql_api),
 * regional.
 *
 * Calls per region: ListGraphqlApis, one call per page of 25 (the API's
 * maximum); its items are whole GraphqlApi objects (log configuration,
 * tags and limits included), so GetGraphqlApi is never needed. */
#ifndef PLUMB_COLLECT_APPSYNC_H
#define PLUMB_COLLECT_APPSYNC_H

#include "collect.h"

extern const struct collector_def collect_appsync;

#endif
