#include "collect_cloudfront.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_kit.h"
#include "util.h"

static const struct ck_field default_behavior_fields[] = {
    { "allowed_methods", "AllowedMethods.Items", CK_LIST },
    { "cache_policy_id", "CachePolicyId" },
    { "cached_methods", "AllowedMethods.CachedMethods.Items", CK_LIST },
    { "compress", "Compress" },
    { "default_ttl", "DefaultTTL" },
    { "field_level_encryption_id", "FieldLevelEncryptionId" },
    { "max_ttl", "MaxTTL" },
    { "min_ttl", "MinTTL" },
    { "origin_request_policy_id", "OriginRequestPolicyId" },
    { "realtime_log_config_arn", "RealtimeLogConfigArn" },
    { "response_headers_policy_id", "ResponseHeadersPolicyId" },
    { "smooth_streaming", "SmoothStreaming" },
    { "target_origin_id", "TargetOriginId" },
    { "viewer_protocol_policy", "ViewerProtocolPolicy" },
    { NULL },
};
static const struct ck_field behavior_fields[] = {
    { "allowed_methods", "AllowedMethods.Items", CK_LIST },
    { "cache_policy_id", "CachePolicyId" },
    { "cached_methods", "AllowedMethods.CachedMethods.Items", CK_LIST },
    { "compress", "Compress" },
    { "default_ttl", "DefaultTTL" },
    { "max_ttl", "MaxTTL" },
    { "min_ttl", "MinTTL" },
    { "origin_request_policy_id", "OriginRequestPolicyId" },
    { "path_pattern", "PathPattern" },
    { "response_headers_policy_id", "ResponseHeadersPolicyId" },
    { "target_origin_id", "TargetOriginId" },
    { "viewer_protocol_policy", "ViewerProtocolPolicy" },
    { NULL },
};
static const struct ck_field header_fields[] = {
    { "name", "HeaderName" },
    { "value", "HeaderValue" },
    { NULL },
};
static const struct ck_field custom_origin_fields[] = {
    { "http_port", "HTTPPort" },
    { "https_port", "HTTPSPort" },
    { "origin_keepalive_timeout", "OriginKeepaliveTimeout" },
    { "origin_protocol_policy", "OriginProtocolPolicy" },
    { "origin_read_timeout", "OriginReadTimeout" },
    { "origin_ssl_protocols", "OriginSslProtocols.Items", CK_LIST },
    { NULL },
};
static const struct ck_field s3_origin_fields[] = {
    { "origin_access_identity", "OriginAccessIdentity" },
    { NULL },
};
static const struct ck_field origin_fields[] = {
    { "connection_attempts", "ConnectionAttempts" },
    { "connection_timeout", "ConnectionTimeout" },
    { "custom_header", "CustomHeaders.Items", CK_BLOCKS, header_fields },
    { "custom_origin_config", "CustomOriginConfig", CK_BLOCK, custom_origin_fields },
    { "domain_name", "DomainName" },
    { "origin_access_control_id", "OriginAccessControlId" },
    { "origin_id", "Id" },
    { "origin_path", "OriginPath" },
    { "s3_origin_config", "S3OriginConfig", CK_BLOCK, s3_origin_fields },
    { NULL },
};
static const struct ck_field geo_fields[] = {
    { "locations", "Items", CK_LIST },
    { "restriction_type", "RestrictionType" },
    { NULL },
};
static const struct ck_field restriction_fields[] = {
    { "geo_restriction", "GeoRestriction", CK_BLOCK, geo_fields },
    { NULL },
};
static const struct ck_field viewer_cert_fields[] = {
    { "acm_certificate_arn", "ACMCertificateArn" },
    { "cloudfront_default_certificate", "CloudFrontDefaultCertificate" },
    { "iam_certificate_id", "IAMCertificateId" },
    { "minimum_protocol_version", "MinimumProtocolVersion" },
    { "ssl_support_method", "SSLSupportMethod" },
    { NULL },
};
/* Members of a ListDistributions summary and of GetDistribution's
 * Distribution. */
static const struct ck_field distribution_fields[] = {
    { "arn", "ARN" },
    { "domain_name", "DomainName" },
    { "status", "Status" },
    { NULL },
};
/* Members of a summary and of GetDistribution's DistributionConfig: the
 * listing gives them (real AWS fills the summaries); GetDistribution
 * gives them again, authoritative, with the few the summary lacks. */
static const struct ck_field config_fields[] = {
    { "aliases", "Aliases.Items", CK_LIST },
    { "comment", "Comment" },
    { "default_cache_behavior", "DefaultCacheBehavior", CK_BLOCK, default_behavior_fields },
    { "enabled", "Enabled" },
    { "http_version", "HttpVersion" },
    { "is_ipv6_enabled", "IsIPV6Enabled" },
    { "ordered_cache_behavior", "CacheBehaviors.Items", CK_BLOCKS, behavior_fields },
    { "origin", "Origins.Items", CK_BLOCKS, origin_fields },
    { "price_class", "PriceClass" },
    { "restrictions", "Restrictions", CK_BLOCK, restriction_fields },
    { "staging", "Staging" },
    { "viewer_certificate", "ViewerCertificate", CK_BLOCK, viewer_cert_fields },
    { "web_acl_id", "WebACLId" },
    { NULL },
};

static int map_distribution(struct collect_run *run, const json_t *item, struct resource *r)
{
    const struct collect_options *o = collect_options(run);
    const char *id = ck_str(item, "Id");
    const char *arn = ck_str(item, "ARN");
    char *built = NULL;
    int e = -ENOMEM;
    if (!id)
        return -EINVAL;
    /* Summaries of the older API versions carry no ARN. */
    if (!arn)
        arn = built =
            str_printf("arn:%s:cloudfront::%s:distribution/%s", o->partition, o->account, id);
    if (arn && str_replace(&r->id, id) == 0 && str_replace(&r->arn, arn) == 0 &&
        ck_map(r->attrs, item, distribution_fields) == 0 &&
        ck_map(r->attrs, item, config_fields) == 0 && ck_set_str(r->attrs, "arn", arn) == 0)
        e = 0;
    free(built);
    return e;
}

static int params_id(struct collect_run *run, const struct resource *r, json_t **ret)
{
    (void)run;
    *ret = json_pack("{s:s}", "Id", r->id);
    return *ret ? 0 : -ENOMEM;
}

static int params_arn(struct collect_run *run, const struct resource *r, json_t **ret)
{
    (void)run;
    *ret = json_pack("{s:s}", "Resource", r->arn);
    return *ret ? 0 : -ENOMEM;
}

static const struct ck_field logging_fields[] = {
    { "bucket", "Bucket" },
    { "include_cookies", "IncludeCookies" },
    { "prefix", "Prefix" },
    { NULL },
};
static const struct ck_field config_only_fields[] = {
    { "continuous_deployment_policy_id", "ContinuousDeploymentPolicyId" },
    { "default_root_object", "DefaultRootObject" },
    { NULL },
};

static int merge_distribution(struct collect_run *run, struct resource *parent,
                              struct resource *child, const json_t *output)
{
    const json_t *dist = json_object_get(output, "Distribution");
    const json_t *config = json_object_get(dist, "DistributionConfig");
    const json_t *logging = json_object_get(config, "Logging");
    json_t *block;
    (void)run;
    (void)child;
    /* Deleted since the listing (NoSuchDistribution): nothing to add. */
    if (!output)
        return 0;
    if (!json_is_object(config))
        return -EINVAL;
    if (ck_map(parent->attrs, dist, distribution_fields) < 0 ||
        ck_map(parent->attrs, config, config_fields) < 0 ||
        ck_map(parent->attrs, config, config_only_fields) < 0)
        return -ENOMEM;
    if (!ck_str(dist, "ARN") && ck_set_str(parent->attrs, "arn", parent->arn) < 0)
        return -ENOMEM;
    /* Like Terraform: a logging block only when logging is on. */
    block = json_array();
    if (ck_set(parent->attrs, "logging_config", block) < 0)
        return -ENOMEM;
    if (json_is_true(json_object_get(logging, "Enabled")) &&
        json_array_append_new(block, ck_object(logging, logging_fields)) < 0)
        return -ENOMEM;
    return 0;
}

static int merge_tags(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    json_t *tags;
    (void)run;
    (void)child;
    if (!output)
        return 0;
    tags = collect_tags_from_list(ck_get(output, "Tags.Items"));
    if (!tags)
        return -ENOMEM;
    json_decref(parent->tags);
    parent->tags = tags;
    return 0;
}

static const char *const no_such_distribution[] = { "NoSuchDistribution", NULL };
static const char *const no_such_resource[] = { "NoSuchResource", NULL };
static const char *const config_attrs[] = {
    "continuous_deployment_policy_id",
    "default_root_object",
    "logging_config",
    NULL,
};
static const char *const tag_attrs[] = { "tags", NULL };

static const struct collect_detail distribution_details[] = {
    { .operation = "GetDistribution",
      .params = params_id,
      .merge = merge_distribution,
      .absent_codes = no_such_distribution,
      .attrs = config_attrs },
    { .operation = "ListTagsForResource",
      .params = params_arn,
      .merge = merge_tags,
      .absent_codes = no_such_resource,
      .attrs = tag_attrs },
    { 0 },
};

static const struct collect_list cloudfront_lists[] = {
    { .type = "aws_cloudfront_distribution",
      .aws_type = "AWS::CloudFront::Distribution",
      .operation = "ListDistributions",
      .items = "DistributionList.Items[]",
      .all_pages = true,
      .map = map_distribution,
      .details = distribution_details },
    { 0 },
};

static const char *const cloudfront_iam_actions[] = {
    "cloudfront:GetDistribution",
    "cloudfront:ListDistributions",
    "cloudfront:ListTagsForResource",
    NULL,
};

const struct collector_def collect_cloudfront = {
    .name = "cloudfront",
    .service = "cloudfront",
    .global = true,
    .lists = cloudfront_lists,
    .iam_actions = cloudfront_iam_actions,
};
