/* Endpoint resolution: which URL to call for a service in a region, and
 * which region and name to sign with.
 *
 * The caller describes the service (from the service model's metadata), so
 * this module carries no service table of its own beyond the exceptions
 * every SDK hard-codes: the global services (IAM, CloudFront,
 * Organizations, Route 53, Account), STS (regional, although its model
 * names a global endpoint), S3 (virtual-hosted buckets) and S3 Control
 * (account id in the host name).
 *
 * Precedence, as in the AWS SDKs' "service-specific endpoints" feature:
 *   1. AWS_ENDPOINT_URL_<SERVICE> (serviceId upper-cased, spaces and '-'
 *      turned into '_': "Elastic Load Balancing v2" ->
 *      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2);
 *   2. AWS_ENDPOINT_URL;
 *   3. the per-service URL from the caller's configuration;
 *   4. the global URL from the caller's configuration;
 *   5. the partition default.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips levels 1 and 2; levels 3
 * and 4 are plumb's own configuration and the caller decides about them.
 *
 * Partitions: aws (amazonaws.com), aws-cn (cn-*, amazonaws.com.cn) and
 * aws-us-gov (us-gov-*, amazonaws.com).  Regions of the ISO and European
 * Sovereign Cloud partitions are refused unless an override applies.
 *
 * The environment is a snapshot ("NAME=value" strings, NULL-terminated,
 * like environ), never read with getenv(), so tests and the daemon decide
 * what it holds.  Empty variables count as unset.  Pure computation,
 * thread-safe. */
#ifndef PLUMB_ENDPOINT_H
#define PLUMB_ENDPOINT_H

#include <stdbool.h>

#include "util.h"

/* What the service model says about a service (all borrowed). */
struct endpoint_service {
    const char *service_id;      /* metadata.serviceId: "EC2", "S3", "Config Service" */
    const char *endpoint_prefix; /* metadata.endpointPrefix: "ec2", "s3", "config" */
    const char *signing_name;    /* metadata.signingName; NULL means endpoint_prefix */
    /* One endpoint per partition (metadata.globalEndpoint is set).  The
     * known global services are recognised by service_id regardless. */
    bool global;
    /* metadata.globalEndpoint (host name in the aws partition), used for a
     * global service this module does not know; NULL for
     * "<endpoint_prefix>.amazonaws.com". */
    const char *global_endpoint;
};

struct endpoint_params {
    const struct endpoint_service *service;
    const char *region;             /* required, e.g. "eu-central-1" */
    char *const *envp;              /* environment snapshot, may be NULL */
    const char *config_service_url; /* level 3, NULL when not configured */
    const char *config_global_url;  /* level 4, NULL when not configured */
    const char *bucket;             /* S3: the bucket of the request, or NULL */
    const char *account_id;         /* S3 Control: 12-digit account id */
};

/* The resolved endpoint; every string is owned, release with
 * endpoint_free(). */
struct endpoint {
    /* "https://host[:port][/base-path]", no trailing slash.  For
     * virtual-hosted S3 the bucket is already in the host name. */
    char *url;
    char *signing_region;
    char *signing_name;
    char *partition; /* "aws", "aws-cn", "aws-us-gov" (from the region) */
    /* S3 only: the bucket goes first in the path ("/bucket/key") because the
     * endpoint is overridden or the bucket name cannot be a DNS label. */
    bool s3_path_style;
    bool overridden;
    /* Where the URL came from: "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL",
     * "config (service)", "config (global)" or "default". */
    char *source;
};

/* Resolve.  Returns 0, -EINVAL (bad region, bad override URL: the message
 * names the variable or configuration level; bad bucket or account id),
 * -ENOENT (the service has no endpoint in the region's partition),
 * -ENOTSUP (partition without defaults and no override) or -ENOMEM.  *ret
 * is untouched on failure. */
int endpoint_resolve(const struct endpoint_params *p, struct endpoint *ret, struct perr *err);

/* Free the members of e and zero it; a zeroed struct is fine. */
void endpoint_free(struct endpoint *e);

/* "AWS_ENDPOINT_URL_" + the transformed service id; malloc'd, NULL on
 * OOM. */
char *endpoint_env_name(const char *service_id);

/* Whether a bucket can be the first label of a virtual-hosted S3 host name
 * over TLS: 3-63 of [a-z0-9-], starting and ending with a letter or digit,
 * and no dots (they break the *.s3 wildcard certificate). */
bool endpoint_s3_virtual_hostable(const char *bucket);

/* The partition of a region ("aws", "aws-cn", "aws-us-gov", or the name of
 * an unsupported partition such as "aws-iso"); static string. */
const char *endpoint_partition(const char *region);

#endif
