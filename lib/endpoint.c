#include "endpoint.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct partition {
    const char *name;
    const char *region_prefix; /* NULL: the default partition */
    const char *dns_suffix;    /* NULL: no defaults known */
    const char *global_region; /* signing region of unknown global services */
};

/* From botocore's endpoints.json (regionRegex, dnsSuffix); the order
 * matters: the more specific prefixes first. */
static const struct partition partitions[] = {
    { "aws-cn", "cn-", "amazonaws.com.cn", "cn-north-1" },
    { "aws-us-gov", "us-gov-", "amazonaws.com", "us-gov-west-1" },
    { "aws-iso-b", "us-isob-", NULL, NULL },
    { "aws-iso-f", "us-isof-", NULL, NULL },
    { "aws-iso", "us-iso-", NULL, NULL },
    { "aws-iso-e", "eu-isoe-", NULL, NULL },
    { "aws-eusc", "eusc-", NULL, NULL },
    { "aws", NULL, "amazonaws.com", "us-east-1" },
};

/* The global services every SDK special-cases, with their partition
 * endpoints and credential scopes (botocore endpoints.json,
 * "partitionEndpoint" entries).  A partition missing for a service means
 * the service does not exist there. */
static const struct {
    const char *service_id;
    const char *partition;
    const char *host;
    const char *region;
} global_endpoints[] = {
    { "IAM", "aws", "iam.amazonaws.com", "us-east-1" },
    { "IAM", "aws-cn", "iam.cn-north-1.amazonaws.com.cn", "cn-north-1" },
    { "IAM", "aws-us-gov", "iam.us-gov.amazonaws.com", "us-gov-west-1" },
    { "CloudFront", "aws", "cloudfront.amazonaws.com", "us-east-1" },
    { "CloudFront", "aws-cn", "cloudfront.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
    { "Organizations", "aws", "organizations.us-east-1.amazonaws.com", "us-east-1" },
    { "Organizations", "aws-cn", "organizations.cn-northwest-1.amazonaws.com.cn",
      "cn-northwest-1" },
    { "Organizations", "aws-us-gov", "organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1" },
    { "Route 53", "aws", "route53.amazonaws.com", "us-east-1" },
    { "Route 53", "aws-cn", "route53.amazonaws.com.cn", "cn-northwest-1" },
    { "Route 53", "aws-us-gov", "route53.us-gov.amazonaws.com", "us-gov-west-1" },
    { "Account", "aws", "account.us-east-1.amazonaws.com", "us-east-1" },
    { "Account", "aws-cn", "account.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
};

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++) {
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i][n + 1] ? envp[i] + n + 1 : NULL;
    }
    return NULL;
}

static const struct partition *partition_of(const char *region)
{
    for (size_t i = 0; i < ARRAY_SIZE(partitions); i++)
        if (!partitions[i].region_prefix || str_has_prefix(region, partitions[i].region_prefix))
            return &partitions[i];
    return &partitions[ARRAY_SIZE(partitions) - 1];
}

const char *endpoint_partition(const char *region)
{
    return partition_of(region ? region : "")->name;
}

char *endpoint_env_name(const char *service_id)
{
    char *s = str_printf("AWS_ENDPOINT_URL_%s", service_id);
    if (!s)
        return NULL;
    for (char *p = s + strlen("AWS_ENDPOINT_URL_"); *p; p++) {
        unsigned char c = (unsigned char)*p;
        *p = isalnum(c) ? (char)toupper(c) : '_';
    }
    return s;
}

bool endpoint_s3_virtual_hostable(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return b[0] != '-' && b[n - 1] != '-';
}

/* Region names end up in host names: lower-case letters, digits and '-'. */
static bool region_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n > 63 || r[0] == '-' || r[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return false;
    return true;
}

/* Validate an override and return it as scheme://host[:port][/path] without
 * a trailing slash.  The value itself is never echoed: it could carry a
 * password. */
static int normalize_url(const char *where, const char *value, char **ret, struct perr *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL, *pass = NULL;
    char *query = NULL, *fragment = NULL, *out = NULL;
    int r = 0;
    size_t plen;

    if (!u)
        return -ENOMEM;
    if (!strstr(value, "://")) {
        r = perr_set(err, -EINVAL, "%s: URL must start with http:// or https://", where);
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, value, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        r = perr_set(err, -EINVAL, "%s: not a valid URL", where);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        r = perr_set(err, -EINVAL, "%s: URL scheme must be http or https", where);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        r = perr_set(err, -EINVAL, "%s: URL must not contain a user name or password", where);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
        r = perr_set(err, -EINVAL, "%s: URL must not contain a query or fragment", where);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        path = NULL;
    plen = path ? strlen(path) : 0;
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    out = str_printf("%s://%s%s%s%.*s", scheme, host, port ? ":" : "", port ? port : "", (int)plen,
                     path ? path : "");
    if (!out) {
        r = -ENOMEM;
        goto out;
    }
    *ret = out;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(user);
    curl_free(pass);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(u);
    return r;
}

/* Levels 1-4.  *ret_url stays NULL when nothing is configured. */
static int find_override(const struct endpoint_params *p, char **ret_url, char **ret_source,
                         struct perr *err)
{
    char *svc_var = endpoint_env_name(p->service->service_id);
    const char *ignore = env_get(p->envp, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    bool skip_env = false;
    const char *value = NULL, *source = NULL;
    int r = 0;

    if (!svc_var)
        return -ENOMEM;
    if (ignore && parse_bool(ignore, &skip_env) < 0) {
        r = perr_set(err, -EINVAL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: expected true or false");
        goto out;
    }
    if (!skip_env && (value = env_get(p->envp, svc_var))) {
        source = svc_var;
    } else if (!skip_env && (value = env_get(p->envp, "AWS_ENDPOINT_URL"))) {
        source = "AWS_ENDPOINT_URL";
    } else if (p->config_service_url && *p->config_service_url) {
        value = p->config_service_url;
        source = "config (service)";
    } else if (p->config_global_url && *p->config_global_url) {
        value = p->config_global_url;
        source = "config (global)";
    }
    if (value) {
        char *src = strdup(source);
        if (!src) {
            r = -ENOMEM;
            goto out;
        }
        r = normalize_url(source, value, ret_url, err);
        if (r < 0) {
            free(src);
            goto out;
        }
        *ret_source = src;
    }
out:
    free(svc_var);
    return r;
}

/* An error for a service without a default endpoint, telling the user
 * which variable would provide one. */
static int no_default(struct perr *err, int code, const char *service_id, const char *fmt, ...)
    PLUMB_PRINTF(4, 5);
static int no_default(struct perr *err, int code, const char *service_id, const char *fmt, ...)
{
    char msg[256];
    char *var = endpoint_env_name(service_id);
    va_list ap;
    if (!var)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    perr_set(err, code, "%s; set %s or configure an endpoint", msg, var);
    free(var);
    return code;
}

static int resolve_default(const struct endpoint_params *p, const struct partition *part,
                           struct endpoint *e, struct perr *err)
{
    const struct endpoint_service *svc = p->service;
    const char *id = svc->service_id;

    if (!part->dns_suffix)
        return no_default(err, -ENOTSUP, id,
                          "region %s is in partition %s, which has no built-in endpoints",
                          p->region, part->name);

    if (strcmp(id, "S3") == 0) {
        if (p->bucket && endpoint_s3_virtual_hostable(p->bucket)) {
            e->url = str_printf("https://%s.s3.%s.%s", p->bucket, p->region, part->dns_suffix);
        } else {
            e->url = str_printf("https://s3.%s.%s", p->region, part->dns_suffix);
            e->s3_path_style = p->bucket != NULL;
        }
        return e->url ? 0 : -ENOMEM;
    }
    if (strcmp(id, "S3 Control") == 0) {
        e->url =
            str_printf("https://%s.s3-control.%s.%s", p->account_id, p->region, part->dns_suffix);
        return e->url ? 0 : -ENOMEM;
    }
    /* STS: regional endpoints are the SDK default although the model
     * still names the legacy global one. */
    if (strcmp(id, "STS") != 0) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(global_endpoints); i++) {
            if (strcmp(global_endpoints[i].service_id, id) != 0)
                continue;
            known = true;
            if (strcmp(global_endpoints[i].partition, part->name) == 0) {
                e->url = str_printf("https://%s", global_endpoints[i].host);
                if (!e->url || str_replace(&e->signing_region, global_endpoints[i].region) < 0)
                    return -ENOMEM;
                return 0;
            }
        }
        if (known)
            return perr_set(err, -ENOENT, "%s has no endpoint in partition %s", id, part->name);
        if (svc->global) {
            if (strcmp(part->name, "aws") != 0)
                return no_default(err, -ENOENT, id,
                                  "no known endpoint for the global service %s in partition %s", id,
                                  part->name);
            if (svc->global_endpoint)
                e->url = str_printf("https://%s", svc->global_endpoint);
            else
                e->url = str_printf("https://%s.%s", svc->endpoint_prefix, part->dns_suffix);
            if (!e->url || str_replace(&e->signing_region, part->global_region) < 0)
                return -ENOMEM;
            return 0;
        }
    }
    e->url = str_printf("https://%s.%s.%s", svc->endpoint_prefix, p->region, part->dns_suffix);
    return e->url ? 0 : -ENOMEM;
}

/* Host-name parts the caller passes in must not change the URL's shape. */
static bool label_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
            return false;
    return true;
}

int endpoint_resolve(const struct endpoint_params *p, struct endpoint *ret, struct perr *err)
{
    struct endpoint e = { 0 };
    const struct partition *part;
    const struct endpoint_service *svc = p ? p->service : NULL;
    char *override = NULL, *source = NULL;
    int r;

    if (!svc || !svc->service_id || !*svc->service_id || !label_ok(svc->endpoint_prefix))
        return perr_set(err, -EINVAL, "endpoint: incomplete service description");
    if (!region_ok(p->region))
        return perr_set(err, -EINVAL, "%s: invalid or missing region", svc->service_id);
    if (p->bucket && (!*p->bucket || strchr(p->bucket, '/')))
        return perr_set(err, -EINVAL, "S3: invalid bucket name");
    if (strcmp(svc->service_id, "S3 Control") == 0) {
        size_t n = p->account_id ? strlen(p->account_id) : 0;
        bool digits = n == 12;
        for (size_t i = 0; digits && i < n; i++)
            digits = isdigit((unsigned char)p->account_id[i]);
        if (!digits)
            return perr_set(err, -EINVAL, "S3 Control: a 12-digit account id is required");
    }
    part = partition_of(p->region);

    r = find_override(p, &override, &source, err);
    if (r < 0)
        return r;
    if (override) {
        e.url = override;
        e.source = source;
        e.overridden = true;
        /* Known global services keep their credential scope. */
        for (size_t i = 0; i < ARRAY_SIZE(global_endpoints); i++)
            if (strcmp(global_endpoints[i].service_id, svc->service_id) == 0 &&
                strcmp(global_endpoints[i].partition, part->name) == 0 &&
                str_replace(&e.signing_region, global_endpoints[i].region) < 0) {
                r = -ENOMEM;
                goto fail;
            }
        e.s3_path_style = strcmp(svc->service_id, "S3") == 0 && p->bucket != NULL;
    } else {
        e.source = strdup("default");
        if (!e.source) {
            r = -ENOMEM;
            goto fail;
        }
        r = resolve_default(p, part, &e, err);
        if (r < 0)
            goto fail;
    }
    if (!e.signing_region && str_replace(&e.signing_region, p->region) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    if (str_replace(&e.signing_name, svc->signing_name && *svc->signing_name
                                         ? svc->signing_name
                                         : svc->endpoint_prefix) < 0 ||
        str_replace(&e.partition, part->name) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    *ret = e;
    return 0;
fail:
    endpoint_free(&e);
    return r;
}

void endpoint_free(struct endpoint *e)
{
    if (!e)
        return;
    free(e->url);
    free(e->signing_region);
    free(e->signing_name);
    free(e->partition);
    free(e->source);
    memset(e, 0, sizeof(*e));
}
