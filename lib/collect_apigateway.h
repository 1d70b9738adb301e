/* API Gateway collector: REST APIs with their stages and per-stage method
 * settings (apigateway), HTTP and WebSocket APIs with their stages
 * (apigatewayv2).
 *
 * Calls per region and cycle: GetRestApis (500 a page) and one GetStages
 * per REST API (it returns every stage with its method settings and tags);
 * GetApis and one GetStages per HTTP/WebSocket API.  Stages have no
 * account-wide listing.  A failed GetStages makes the stage types unknown
 * for the region; an API deleted between the calls (NotFoundException)
 * simply has no stages. */
#ifndef PLUMB_COLLECT_APIGATEWAY_H
#define PLUMB_COLLECT_APIGATEWAY_H

#include "collect.h"

extern const struct collector_def collect_apigateway;

#endif
