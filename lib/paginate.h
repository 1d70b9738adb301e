/* Paging through AWS list operations with the model's paginator entries
 * (botocore's paginators-1.json: input_token, output_token, more_results,
 * limit_key, result_key), following botocore's PageIterator rules.
 *
 * Token and result expressions are the JMESPath subset botocore's data
 * uses (checked against every paginator botocore ships): member paths
 * ("DistributionList.NextMarker"), list indexes ("Contents[-1].Key") and
 * "a || b" (the first value that is not null, false, "", [] or {}).
 *
 * Everything here is pure: no I/O, no state, reentrant. */
#ifndef PLUMB_PAGINATE_H
#define PLUMB_PAGINATE_H

#include <jansson.h>

#include "awsmodel.h"
#include "util.h"

/* After a page: build the parameters of the next request.
 *   returns 0  with *ret_next = a new object: request_params with each
 *              input token set to the response's output token (and input
 *              tokens whose output token is empty removed);
 *   returns 1  when paging is over: more_results is false, or every
 *              output token is absent/null/"" (*ret_next untouched);
 *   -ELOOP     when the service hands back exactly the token(s) the
 *              request carried (botocore: "The same next token was
 *              received twice"), so a broken service cannot loop us;
 *   -EINVAL    for an expression outside the supported subset;
 *   -ENOMEM.
 * request_params may be NULL (the first request had none). */
int paginate_next(const struct awspaginator *pag, json_t *request_params, json_t *response,
                  json_t **ret_next, struct perr *err);

/* Set the page size (limit_key) in params; -ENOENT when the operation has
 * no limit_key. */
int paginate_set_limit(const struct awspaginator *pag, json_t *params, json_int_t limit);

/* The i-th result_key's value in a response (borrowed, NULL when absent
 * or i is out of range). */
json_t *paginate_result(const struct awspaginator *pag, size_t i, json_t *response);

/* Evaluate one expression on a JSON value; *ret is borrowed from root
 * (NULL when the path leads nowhere).  -EINVAL with err on bad syntax. */
int paginate_eval(const char *expr, json_t *root, json_t **ret, struct perr *err);

#endif
