#include <stdlib.h>
#include <string.h>

#include "collect_s3.h"
#include "config.h"
#include "fakeaws_rules.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define US          "us-east-1"
#define EU          "eu-central-1"
#define BUCKET      "aws_s3_bucket"
#define SSE         "aws_s3_bucket_server_side_encryption_configuration"
#define PAB         "aws_s3_bucket_public_access_block"
#define POLICY      "aws_s3_bucket_policy"
#define VERSIONING  "aws_s3_bucket_versioning"
#define LOGGING     "aws_s3_bucket_logging"
#define LIFECYCLE   "aws_s3_bucket_lifecycle_configuration"
#define ACCOUNT_PAB "aws_s3_account_public_access_block"
#define LOGS        "plumb-sec-logs"
#define DATA        "plumb-sec-data"
#define ACCESS      "plumb-sec-access-logs"

static const char *const regions[] = { US, EU, NULL };
static const char *const bucket_types[] = { BUCKET,     SSE,     PAB,       POLICY,
                                            VERSIONING, LOGGING, LIFECYCLE, NULL };

static const char *attr_str(const struct resource *r, const char *path)
{
    return json_string_value(fakeaws_attr(r, path));
}

#define NOT_FOUND(op, bucket, code)                                         \
    {                                                                       \
        op, "Bucket=" bucket, .error_code = code, .kind = AWS_ERR_NOT_FOUND \
    }

/* The recorded estate: what moto answered, and the "not configured"
 * errors listed in tests/data/responses/s3/errors.json. */
static const struct fakeaws_rule recorded[] = {
    { "ListBuckets", .pages = { "file:s3/list-buckets.json" } },
    { "GetBucketLocation", "Bucket=" LOGS,
      .pages = { "file:s3/get-bucket-location-" LOGS ".json" } },
    { "GetBucketLocation", "Bucket=" DATA,
      .pages = { "file:s3/get-bucket-location-" DATA ".json" } },
    { "GetBucketLocation", "Bucket=" ACCESS,
      .pages = { "file:s3/get-bucket-location-" ACCESS ".json" } },
    { "GetBucketEncryption", "Bucket=" LOGS,
      .pages = { "file:s3/get-bucket-encryption-" LOGS ".json" } },
    { "GetBucketEncryption", "Bucket=" DATA,
      .pages = { "file:s3/get-bucket-encryption-" DATA ".json" } },
    NOT_FOUND("GetBucketEncryption", ACCESS, "ServerSideEncryptionConfigurationNotFoundError"),
    { "GetPublicAccessBlock", "Bucket=" LOGS,
      .pages = { "file:s3/get-public-access-block-" LOGS ".json" } },
    NOT_FOUND("GetPublicAccessBlock", DATA, "NoSuchPublicAccessBlockConfiguration"),
    NOT_FOUND("GetPublicAccessBlock", ACCESS, "NoSuchPublicAccessBlockConfiguration"),
    { "GetBucketPolicy", "Bucket=" LOGS, .pages = { "file:s3/get-bucket-policy-" LOGS ".json" } },
    NOT_FOUND("GetBucketPolicy", DATA, "NoSuchBucketPolicy"),
    NOT_FOUND("GetBucketPolicy", ACCESS, "NoSuchBucketPolicy"),
    { "GetBucketVersioning", "Bucket=" LOGS,
      .pages = { "file:s3/get-bucket-versioning-" LOGS ".json" } },
    { "GetBucketVersioning", "Bucket=" DATA,
      .pages = { "file:s3/get-bucket-versioning-" DATA ".json" } },
    { "GetBucketVersioning", "Bucket=" ACCESS,
      .pages = { "file:s3/get-bucket-versioning-" ACCESS ".json" } },
    { "GetBucketLogging", "Bucket=" LOGS, .pages = { "file:s3/get-bucket-logging-" LOGS ".json" } },
    { "GetBucketLogging", "Bucket=" DATA, .pages = { "file:s3/get-bucket-logging-" DATA ".json" } },
    { "GetBucketLogging", "Bucket=" ACCESS,
      .pages = { "file:s3/get-bucket-logging-" ACCESS ".json" } },
    { "GetBucketLifecycleConfiguration", "Bucket=" LOGS,
      .pages = { "file:s3/get-bucket-lifecycle-configuration-" LOGS ".json" } },
    NOT_FOUND("GetBucketLifecycleConfiguration", DATA, "NoSuchLifecycleConfiguration"),
    NOT_FOUND("GetBucketLifecycleConfiguration", ACCESS, "NoSuchLifecycleConfiguration"),
    { "GetBucketTagging", "Bucket=" LOGS, .pages = { "file:s3/get-bucket-tagging-" LOGS ".json" } },
    { "GetBucketTagging", "Bucket=" DATA, .pages = { "file:s3/get-bucket-tagging-" DATA ".json" } },
    NOT_FOUND("GetBucketTagging", ACCESS, "NoSuchTagSet"),
    { "GetBucketAcl", "Bucket=" LOGS, .pages = { "file:s3/get-bucket-acl-" LOGS ".json" } },
    { "GetBucketAcl", "Bucket=" DATA, .pages = { "file:s3/get-bucket-acl-" DATA ".json" } },
    { "GetBucketAcl", "Bucket=" ACCESS, .pages = { "file:s3/get-bucket-acl-" ACCESS ".json" } },
    { "GetPublicAccessBlock", "AccountId=123456789012",
      .pages = { "file:s3control/get-public-access-block.json" } },
    { NULL },
};

START_TEST(registered)
{
    static const char *const want[] = {
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:GetBucketVersioning",
        "s3:GetBucketLogging",
        "s3:GetLifecycleConfiguration",
        "s3:GetBucketTagging",
        "s3:GetBucketAcl",
        "s3:GetAccountPublicAccessBlock",
        NULL,
    };
    bool known = false;
    ck_assert_ptr_eq(collector_find("s3"), &collect_s3_def);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        known = known || str_eq(config_collector_defaults[i].name, collect_s3_def.name);
    ck_assert(known);
    ck_assert(collect_s3_def.global);
    for (size_t i = 0; want[i] || collect_s3_def.iam_actions[i]; i++)
        ck_assert_str_eq(collect_s3_def.iam_actions[i], want[i]);
}
END_TEST

START_TEST(recorded_estate)
{
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    const struct fakeaws_call *c;
    json_t *policy = fakeaws_load("file:s3/get-bucket-policy-" LOGS ".json");
    json_t *created = fakeaws_load("file:s3/list-buckets.json");

    fakeaws_init(&f, recorded);
    fakeaws_collect(&f, &collect_s3_def, US, regions, &out);
    ck_assert_int_eq((int)f.n_unmatched, 0);
    /* One listing, the location of each bucket (moto does not say it in the
     * listing), eight configuration reads per bucket, one account read. */
    ck_assert_int_eq((int)f.n_calls, 1 + 3 + 3 * 8 + 1);
    c = fakeaws_find(&f, "ListBuckets", NULL);
    ck_assert_int_eq((int)json_integer_value(json_object_get(c->params, "MaxBuckets")), 10000);
    ck_assert_str_eq(c->region, US);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetBucketLocation", NULL), 3);
    /* After the location, every call about a bucket goes to its region. */
    for (size_t i = 0; i < f.n_calls; i++) {
        const char *b = json_string_value(json_object_get(f.calls[i].params, "Bucket"));
        if (!b || str_eq(f.calls[i].operation, "GetBucketLocation"))
            continue;
        ck_assert_msg(str_eq(f.calls[i].region, str_eq(b, LOGS) ? EU : US), "%s %s went to %s",
                      f.calls[i].operation, b, f.calls[i].region);
    }
    c = fakeaws_find(&f, "GetPublicAccessBlock", "AccountId=123456789012");
    ck_assert_str_eq(c->service, "s3control");

    ck_assert_int_eq((int)fakeaws_count_type(out.res, BUCKET), 3);
    /* The logging bucket: everything configured but logging. */
    r = fakeaws_resource(out.res, BUCKET, LOGS);
    ck_assert_str_eq(r->region, EU);
    ck_assert_str_eq(r->aws_type, "AWS::S3::Bucket");
    ck_assert_str_eq(r->arn, "arn:aws:s3:::" LOGS);
    ck_assert_str_eq(attr_str(r, "arn"), r->arn);
    ck_assert_str_eq(attr_str(r, "bucket"), LOGS);
    ck_assert_str_eq(attr_str(r, "region"), EU);
    ck_assert_str_eq(attr_str(r, "bucket_domain_name"), LOGS ".s3.amazonaws.com");
    ck_assert_str_eq(attr_str(r, "bucket_regional_domain_name"),
                     LOGS ".s3.eu-central-1.amazonaws.com");
    ck_assert(json_equal(
        fakeaws_attr(r, "creation_date"),
        json_object_get(json_array_get(json_object_get(created, "Buckets"), 0), "CreationDate")));
    ck_assert_str_eq(attr_str(r, "policy"), json_string_value(json_object_get(policy, "Policy")));
    ck_assert(json_is_true(fakeaws_attr(r, "versioning[0].enabled")));
    ck_assert(json_is_false(fakeaws_attr(r, "versioning[0].mfa_delete")));
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "logging")), 0);
    ck_assert_str_eq(attr_str(r, "server_side_encryption_configuration[0].rule[0]."
                                 "apply_server_side_encryption_by_default[0].sse_algorithm"),
                     "aws:kms");
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "lifecycle_rule")), 2);
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[0].id"), "expire-logs");
    ck_assert(json_is_true(fakeaws_attr(r, "lifecycle_rule[0].enabled")));
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[0].prefix"), "AWSLogs/");
    ck_assert_int_eq(
        (int)json_integer_value(fakeaws_attr(r, "lifecycle_rule[0].expiration[0].days")), 400);
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(
                         r, "lifecycle_rule[0].noncurrent_version_expiration[0].days")),
                     90);
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(
                         r, "lifecycle_rule[0].abort_incomplete_multipart_upload_days")),
                     7);
    ck_assert(json_is_false(fakeaws_attr(r, "lifecycle_rule[1].enabled")));
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[1].prefix"), "tmp/");
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[1].tags.scratch"), "yes");
    ck_assert_str_eq(attr_str(r, "grant[0].type"), "CanonicalUser");
    ck_assert_str_eq(attr_str(r, "grant[0].permissions[0]"), "FULL_CONTROL");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "purpose")), "logs");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    /* Its split resources, in its region, with no ARN of their own. */
    r = fakeaws_resource(out.res, SSE, LOGS);
    ck_assert_str_eq(r->region, EU);
    ck_assert_ptr_null(r->arn);
    ck_assert_str_eq(attr_str(r, "bucket"), LOGS);
    ck_assert_str_eq(attr_str(r, "rule[0].apply_server_side_encryption_by_default[0]."
                                 "kms_master_key_id"),
                     "arn:aws:kms:eu-central-1:123456789012:key/"
                     "bdd640fb-0667-4ad1-9c80-317fa3b1799d");
    ck_assert(json_is_true(fakeaws_attr(r, "rule[0].bucket_key_enabled")));
    r = fakeaws_resource(out.res, PAB, LOGS);
    ck_assert(json_is_true(fakeaws_attr(r, "block_public_acls")));
    ck_assert(json_is_true(fakeaws_attr(r, "restrict_public_buckets")));
    r = fakeaws_resource(out.res, POLICY, LOGS);
    ck_assert_str_eq(attr_str(r, "policy"), json_string_value(json_object_get(policy, "Policy")));
    r = fakeaws_resource(out.res, VERSIONING, LOGS);
    ck_assert_str_eq(attr_str(r, "versioning_configuration[0].status"), "Enabled");
    ck_assert(json_is_null(fakeaws_attr(r, "versioning_configuration[0].mfa_delete")));
    r = fakeaws_resource(out.res, LIFECYCLE, LOGS);
    ck_assert_str_eq(attr_str(r, "rule[0].filter[0].prefix"), "AWSLogs/");
    ck_assert_str_eq(attr_str(r, "rule[0].status"), "Enabled");
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "rule[0].expiration[0].days")), 400);
    ck_assert_str_eq(attr_str(r, "rule[0].transition[0].storage_class"), "STANDARD_IA");
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(
                         r, "rule[0].noncurrent_version_expiration[0].noncurrent_days")),
                     90);
    ck_assert_str_eq(attr_str(r, "rule[1].filter[0].and[0].prefix"), "tmp/");
    ck_assert_str_eq(attr_str(r, "rule[1].filter[0].and[0].tags.scratch"), "yes");
    ck_assert_str_eq(attr_str(r, "transition_default_minimum_object_size"),
                     "all_storage_classes_128K");
    ck_assert_ptr_null(fakeaws_resource(out.res, LOGGING, LOGS));

    /* The data bucket: SSE-S3, logging, suspended versioning, no policy. */
    r = fakeaws_resource(out.res, BUCKET, DATA);
    ck_assert_str_eq(r->region, US);
    ck_assert_str_eq(attr_str(r, "logging[0].target_bucket"), ACCESS);
    ck_assert_str_eq(attr_str(r, "logging[0].target_prefix"), "data/");
    ck_assert(json_is_false(fakeaws_attr(r, "versioning[0].enabled")));
    ck_assert(json_is_null(fakeaws_attr(r, "policy")));
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "lifecycle_rule")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "env")), "prod");
    ck_assert_str_eq(attr_str(fakeaws_resource(out.res, SSE, DATA),
                              "rule[0].apply_server_side_encryption_by_default[0].sse_algorithm"),
                     "AES256");
    r = fakeaws_resource(out.res, LOGGING, DATA);
    ck_assert_str_eq(attr_str(r, "target_bucket"), ACCESS);
    ck_assert_str_eq(attr_str(r, "target_prefix"), "data/");
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "target_grant")), 0);
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "target_object_key_format")), 0);
    ck_assert_str_eq(
        attr_str(fakeaws_resource(out.res, VERSIONING, DATA), "versioning_configuration[0].status"),
        "Suspended");
    ck_assert_ptr_null(fakeaws_resource(out.res, POLICY, DATA));
    ck_assert_ptr_null(fakeaws_resource(out.res, PAB, DATA));
    ck_assert_ptr_null(fakeaws_resource(out.res, LIFECYCLE, DATA));

    /* The bare bucket: nothing configured is "no document", never unknown. */
    r = fakeaws_resource(out.res, BUCKET, ACCESS);
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "server_side_encryption_configuration")),
                     0);
    ck_assert(json_is_false(fakeaws_attr(r, "versioning[0].enabled")));
    /* The LogDelivery group's permissions are one grant element. */
    {
        json_t *acl = fakeaws_load("file:s3/get-bucket-acl-" ACCESS ".json");
        size_t i;
        json_t *g;
        size_t group_perms = 0;
        json_array_foreach (json_object_get(acl, "Grants"), i, g)
            group_perms += json_object_get(json_object_get(g, "Grantee"), "URI") != NULL;
        ck_assert_int_gt((int)group_perms, 0);
        ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "grant")), 2);
        ck_assert_str_eq(attr_str(r, "grant[1].uri"),
                         "http://acs.amazonaws.com/groups/s3/LogDelivery");
        ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "grant[1].permissions")),
                         (int)group_perms);
        ck_assert(json_is_null(fakeaws_attr(r, "grant[1].id")));
        json_decref(acl);
    }
    for (size_t i = 1; bucket_types[i]; i++)
        ck_assert_ptr_null(fakeaws_resource(out.res, bucket_types[i], ACCESS));

    /* The account setting: a global document named by the account. */
    r = fakeaws_resource(out.res, ACCOUNT_PAB, "123456789012");
    ck_assert_str_eq(r->region, "global");
    ck_assert_str_eq(r->aws_type, "AWS::S3::AccountPublicAccessBlock");
    ck_assert_str_eq(attr_str(r, "account_id"), "123456789012");
    ck_assert(json_is_true(fakeaws_attr(r, "block_public_policy")));
    ck_assert(json_is_false(fakeaws_attr(r, "restrict_public_buckets")));

    /* The global listing covers the bucket types in every scanned region. */
    for (size_t i = 0; bucket_types[i]; i++) {
        ck_assert_int_eq(fakeaws_scope(out.res, US, bucket_types[i])->status, COLLECT_OK);
        ck_assert_int_eq(fakeaws_scope(out.res, EU, bucket_types[i])->status, COLLECT_OK);
    }
    ck_assert_int_eq(fakeaws_scope(out.res, "global", ACCOUNT_PAB)->status, COLLECT_OK);
    ck_assert_int_eq((int)out.res->n_scopes, 2 * 7 + 1);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    json_decref(policy);
    json_decref(created);
}
END_TEST

/* Rules for one bucket whose configuration is all absent. */
#define BARE(bucket)                                                                            \
    NOT_FOUND("GetBucketEncryption", bucket, "ServerSideEncryptionConfigurationNotFoundError"), \
        NOT_FOUND("GetPublicAccessBlock", bucket, "NoSuchPublicAccessBlockConfiguration"),      \
        NOT_FOUND("GetBucketPolicy", bucket, "NoSuchBucketPolicy"),                             \
        { "GetBucketVersioning", "Bucket=" bucket, .pages = { "{}" } },                         \
        { "GetBucketLogging", "Bucket=" bucket, .pages = { "{}" } },                            \
        NOT_FOUND("GetBucketLifecycleConfiguration", bucket, "NoSuchLifecycleConfiguration"),   \
        NOT_FOUND("GetBucketTagging", bucket, "NoSuchTagSet"),                                  \
    {                                                                                           \
        "GetBucketAcl", "Bucket=" bucket, .pages = { "{\"Grants\":[]}" }                        \
    }

START_TEST(locations)
{
    static const struct fakeaws_rule rules[] = {
        { "ListBuckets",
          .pages = { "{\"Buckets\":[{\"Name\":\"listed\",\"BucketRegion\":\"ap-south-1\"},"
                     "{\"Name\":\"old-eu\"},{\"Name\":\"virginia\"},{\"Name\":\"hidden\"}]}" } },
        { "GetBucketLocation", "Bucket=old-eu", .pages = { "{\"LocationConstraint\":\"EU\"}" } },
        { "GetBucketLocation", "Bucket=virginia", .pages = { "{\"LocationConstraint\":\"\"}" } },
        { "GetBucketLocation", "Bucket=hidden", .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED, .iam_action = "s3:GetBucketLocation" },
        BARE("listed"),
        BARE("old-eu"),
        BARE("virginia"),
        BARE("hidden"),
        { "GetPublicAccessBlock", "AccountId=123456789012",
          .error_code = "NoSuchPublicAccessBlockConfiguration", .kind = AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_s3_def, US, regions, &out);
    ck_assert_int_eq((int)f.n_unmatched, 0);
    /* The listing said where "listed" is: no location call for it. */
    ck_assert_int_eq((int)fakeaws_count(&f, "GetBucketLocation", "Bucket=listed"), 0);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetBucketLocation", NULL), 3);
    ck_assert_str_eq(fakeaws_find(&f, "GetBucketAcl", "Bucket=listed")->region, "ap-south-1");
    r = fakeaws_resource(out.res, BUCKET, "listed");
    ck_assert_str_eq(r->region, "ap-south-1");
    ck_assert_str_eq(attr_str(r, "region"), "ap-south-1");
    /* "EU" is the legacy name of eu-west-1, "" is us-east-1. */
    ck_assert_str_eq(fakeaws_resource(out.res, BUCKET, "old-eu")->region, "eu-west-1");
    ck_assert_str_eq(fakeaws_find(&f, "GetBucketTagging", "Bucket=old-eu")->region, "eu-west-1");
    ck_assert_str_eq(fakeaws_resource(out.res, BUCKET, "virginia")->region, US);
    /* Unknown location: the bucket stays where it was listed, its region
     * unknown; its configuration is still read there. */
    r = fakeaws_resource(out.res, BUCKET, "hidden");
    ck_assert_str_eq(r->region, US);
    ck_assert_ptr_null(fakeaws_attr(r, "region"));
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "region")),
                     "access_denied:s3:GetBucketLocation");
    ck_assert_int_eq((int)fakeaws_count(&f, "GetBucketAcl", "Bucket=hidden"), 1);
    /* No account-level block: no document, and that is a successful read. */
    ck_assert_int_eq((int)fakeaws_count_type(out.res, ACCOUNT_PAB), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, "global", ACCOUNT_PAB)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(denied_details)
{
    static const struct fakeaws_rule rules[] = {
        { "ListBuckets",
          .pages = { "{\"Buckets\":[{\"Name\":\"b\",\"BucketRegion\":\"" EU "\"}]}" } },
        { "GetBucketPolicy", .error_code = "AccessDenied", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "s3:GetBucketPolicy" },
        { "GetBucketTagging", .error_code = "SlowDown", .kind = AWS_ERR_THROTTLED },
        BARE("b"),
        { "GetPublicAccessBlock", "AccountId=123456789012", .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED, .iam_action = "s3:GetAccountPublicAccessBlock" },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_s3_def, US, regions, &out);
    r = fakeaws_resource(out.res, BUCKET, "b");
    /* Exactly what the denied and throttled calls fill is unknown. */
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "policy")),
                     "access_denied:s3:GetBucketPolicy");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "throttled:SlowDown: fake error");
    ck_assert_int_eq((int)json_object_size(r->unknown), 2);
    ck_assert_ptr_nonnull(fakeaws_attr(r, "versioning"));
    /* The policy document may or may not exist: a placeholder says so. */
    r = fakeaws_resource(out.res, POLICY, "b");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, EU);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "*")),
                     "access_denied:s3:GetBucketPolicy");
    ck_assert_int_eq(fakeaws_scope(out.res, EU, POLICY)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, "global", ACCOUNT_PAB)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, "global", ACCOUNT_PAB)->detail,
                     "s3:GetAccountPublicAccessBlock");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(listing_denied)
{
    static const struct fakeaws_rule rules[] = {
        { "ListBuckets", .error_code = "AccessDenied", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "s3:ListAllMyBuckets" },
        { "GetPublicAccessBlock", .pages = { "file:s3control/get-public-access-block.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_s3_def, US, regions, &out);
    /* Every bucket type is unknown in every region; nothing is "empty". */
    for (size_t i = 0; bucket_types[i]; i++)
        for (size_t j = 0; regions[j]; j++) {
            const struct snapshot_scope *s = fakeaws_scope(out.res, regions[j], bucket_types[i]);
            ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
            ck_assert_str_eq(s->detail, "s3:ListAllMyBuckets");
        }
    ck_assert_int_eq(fakeaws_scope(out.res, "global", ACCOUNT_PAB)->status, COLLECT_OK);
    ck_assert_int_eq((int)out.res->resources.n, 1);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(lifecycle_v3_shapes)
{
    static const struct fakeaws_rule rules[] = {
        { "ListBuckets",
          .pages = { "{\"Buckets\":[{\"Name\":\"b\",\"BucketRegion\":\"" US "\"}]}" } },
        { "GetBucketLifecycleConfiguration",
          .pages = { "file:s3/get-bucket-lifecycle-configuration-full.json" } },
        { "GetBucketLogging", .pages = { "file:s3/get-bucket-logging-simple-prefix.json" } },
        BARE("b"),
        { "GetPublicAccessBlock", .error_code = "NoSuchPublicAccessBlockConfiguration" },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_s3_def, US, regions, &out);
    r = fakeaws_resource(out.res, BUCKET, "b");
    /* An "and" filter: its prefix and tags. */
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[0].prefix"), "AWSLogs/");
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[0].tags.keep"), "long");
    ck_assert(json_is_true(
        fakeaws_attr(r, "lifecycle_rule[0].expiration[0].expired_object_delete_marker")));
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(
                         r, "lifecycle_rule[0].noncurrent_version_expiration[0].days")),
                     400);
    /* A single tag filter. */
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[1].tags.tmp"), "yes");
    ck_assert(json_is_null(fakeaws_attr(r, "lifecycle_rule[1].prefix")));
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[1].expiration[0].date"), "2031-01-01T00:00:00Z");
    /* A size filter only, and the old top-level prefix. */
    ck_assert_int_eq((int)json_object_size(fakeaws_attr(r, "lifecycle_rule[2].tags")), 0);
    ck_assert_str_eq(attr_str(r, "lifecycle_rule[3].prefix"), "old/");
    ck_assert_int_eq(
        (int)json_array_size(fakeaws_attr(r, "lifecycle_rule[3].noncurrent_version_expiration")),
        0);
    r = fakeaws_resource(out.res, LOGGING, "b");
    ck_assert_int_eq(
        (int)json_array_size(fakeaws_attr(r, "target_object_key_format[0].simple_prefix")), 1);
    ck_assert_int_eq(
        (int)json_object_size(fakeaws_attr(r, "target_object_key_format[0].simple_prefix[0]")), 0);
    ck_assert_int_eq(
        (int)json_array_size(fakeaws_attr(r, "target_object_key_format[0].partitioned_prefix")), 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(type_table_consistency)
{
    static const struct fakeaws_rule rules[] = {
        { "ListBuckets", .pages = { "file:s3/list-buckets-full.json" } },
        { "GetBucketEncryption", .pages = { "file:s3/get-bucket-encryption-full.json" } },
        { "GetPublicAccessBlock", "Bucket=plumb-full-bucket",
          .pages = { "file:s3/get-public-access-block-" LOGS ".json" } },
        { "GetBucketPolicy", .pages = { "file:s3/get-bucket-policy-" LOGS ".json" } },
        { "GetBucketVersioning", .pages = { "file:s3/get-bucket-versioning-full.json" } },
        { "GetBucketLogging", .pages = { "file:s3/get-bucket-logging-full.json" } },
        { "GetBucketLifecycleConfiguration",
          .pages = { "file:s3/get-bucket-lifecycle-configuration-full.json" } },
        { "GetBucketTagging", .pages = { "file:s3/get-bucket-tagging-" LOGS ".json" } },
        { "GetBucketAcl", .pages = { "file:s3/get-bucket-acl-" ACCESS ".json" } },
        { "GetPublicAccessBlock", "AccountId=123456789012",
          .pages = { "file:s3control/get-public-access-block.json" } },
        { NULL },
    };
    /* What the collector calls; the accelerate, request-payment, CORS and
     * object-lock reads are deliberately not made (see collect_s3.h). */
    static const char *const ops[] = { "ListBuckets",
                                       "GetBucketLocation",
                                       "GetBucketEncryption",
                                       "GetPublicAccessBlock",
                                       "GetBucketPolicy",
                                       "GetBucketVersioning",
                                       "GetBucketLogging",
                                       "GetBucketLifecycleConfiguration",
                                       "GetBucketTagging",
                                       "GetBucketAcl",
                                       NULL };
    static const char *const skipped[] = { "GetBucketAccelerateConfiguration",
                                           "GetBucketRequestPayment", "GetBucketCors",
                                           "GetObjectLockConfiguration", NULL };
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    char *missing;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_s3_def, US, regions, &out);
    for (size_t i = 0; bucket_types[i]; i++) {
        const struct typemap_type *t = typemap_find(tm, bucket_types[i]);
        r = fakeaws_resource(out.res, bucket_types[i], "plumb-full-bucket");
        ck_assert_msg(r != NULL, "no %s", bucket_types[i]);
        ck_assert_str_eq(r->region, "eu-west-1");
        missing = fakeaws_missing(tm, r, ops);
        ck_assert_msg(missing == NULL, "%s missing: %s", bucket_types[i], missing);
        ck_assert_str_eq(t->collector, "collect_s3");
        for (size_t j = 0; j < t->n_ops; j++) {
            bool known = false;
            for (size_t k = 0; ops[k]; k++)
                known = known || str_eq(ops[k], t->ops[j].op);
            for (size_t k = 0; skipped[k]; k++)
                known = known || str_eq(skipped[k], t->ops[j].op);
            ck_assert_msg(known, "%s: %s is neither called nor skipped", bucket_types[i],
                          t->ops[j].op);
        }
        /* The id a declared instance would map to is the bucket name. */
        {
            json_t *declared = json_pack("{s:s}", "bucket", "plumb-full-bucket");
            char *id = NULL;
            ck_assert_int_eq(typemap_live_id(tm, bucket_types[i], declared, &id, &err), 0);
            ck_assert_str_eq(id, r->id);
            free(id);
            json_decref(declared);
        }
    }
    r = fakeaws_resource(out.res, BUCKET, "plumb-full-bucket");
    {
        char *want = NULL;
        ck_assert_int_eq(typemap_arn_build(typemap_find(tm, BUCKET), "aws", r->region,
                                           "123456789012", r->id, r->attrs, &want),
                         0);
        ck_assert_str_eq(r->arn, want);
        free(want);
    }
    ck_assert(json_is_true(fakeaws_attr(r, "versioning[0].mfa_delete")));
    r = fakeaws_resource(out.res, VERSIONING, "plumb-full-bucket");
    ck_assert_str_eq(attr_str(r, "versioning_configuration[0].mfa_delete"), "Enabled");
    r = fakeaws_resource(out.res, SSE, "plumb-full-bucket");
    ck_assert_str_eq(
        attr_str(r, "rule[0].apply_server_side_encryption_by_default[0].sse_algorithm"),
        "aws:kms:dsse");
    r = fakeaws_resource(out.res, LOGGING, "plumb-full-bucket");
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "target_grant")), 3);
    ck_assert_str_eq(attr_str(r, "target_grant[1].grantee[0].email_address"), "ops@example.com");
    ck_assert_str_eq(attr_str(r, "target_grant[1].permission"), "FULL_CONTROL");
    ck_assert_str_eq(attr_str(r, "target_object_key_format[0].partitioned_prefix[0]."
                                 "partition_date_source"),
                     "EventTime");
    r = fakeaws_resource(out.res, LIFECYCLE, "plumb-full-bucket");
    ck_assert_int_eq((int)json_integer_value(
                         fakeaws_attr(r, "rule[0].filter[0].and[0].object_size_greater_than")),
                     1024);
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(
                         r, "rule[0].noncurrent_version_transition[0].newer_noncurrent_versions")),
                     2);
    ck_assert_str_eq(attr_str(r, "rule[0].transition[0].date"), "2030-01-01T00:00:00Z");
    ck_assert_str_eq(attr_str(r, "rule[1].filter[0].tag[0].key"), "tmp");
    ck_assert_int_eq(
        (int)json_integer_value(fakeaws_attr(r, "rule[2].filter[0].object_size_greater_than")),
        1048576);
    ck_assert_str_eq(attr_str(r, "rule[3].prefix"), "old/");
    r = fakeaws_resource(out.res, ACCOUNT_PAB, "123456789012");
    missing = fakeaws_missing(tm, r, (const char *const[]){ "GetPublicAccessBlock", NULL });
    ck_assert_msg(missing == NULL, "account block missing: %s", missing);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    typemap_free(tm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_s3");
    TCase *tc = tcase_create("collect_s3");
    tcase_add_test(tc, registered);
    tcase_add_test(tc, recorded_estate);
    tcase_add_test(tc, locations);
    tcase_add_test(tc, denied_details);
    tcase_add_test(tc, listing_denied);
    tcase_add_test(tc, lifecycle_v3_shapes);
    tcase_add_test(tc, type_table_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
