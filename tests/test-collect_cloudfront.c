#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_cloudfront.h"
#include "collect_kit.h"
#include "netfake.h"

static const char *const cf_ops[] = { "ListDistributions", "GetDistribution", "ListTagsForResource",
                                      NULL };

static void run_cf(struct fake *f, const struct fake_override *overrides, struct fake_run *o)
{
    fake_init(f, overrides);
    fake_load(f, "cloudfront");
    /* A global collector runs in the partition's home region. */
    fake_collect_in(f, &collect_cloudfront, "us-east-1", NULL, 2, o);
}

static void done(struct fake *f, struct fake_run *o)
{
    fake_run_free(o);
    fake_close(f);
}

static const json_t *recorded_summary(struct fake *f)
{
    return json_array_get(
        ck_get(fake_page(f, "cloudfront", "ListDistributions", 0, 0), "DistributionList.Items"), 0);
}

START_TEST(full_estate)
{
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    const json_t *summary;
    const struct snapshot_scope *s;
    run_cf(&f, NULL, &o);
    summary = recorded_summary(&f);

    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq((int)json_array_size(f.log), 3);
    ck_assert_int_eq(fake_calls(&f, "ListDistributions", "{}"), 1);
    ck_assert(json_is_true(json_object_get(json_array_get(f.log, 0), "all_pages")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(f.log, 0), "region")),
                     "us-east-1");
    s = fake_scope(o.res, "aws_cloudfront_distribution");
    ck_assert_int_eq(s->status, COLLECT_OK);
    ck_assert_str_eq(s->region, "global");

    r = fake_get(o.res, "aws_cloudfront_distribution", ck_str(summary, "Id"));
    ck_assert_str_eq(r->region, "global");
    ck_assert_str_eq(r->arn, ck_str(summary, "ARN"));
    ck_assert_str_eq(fake_str(r, "comment"), "plumb site");
    ck_assert(fake_bool(r, "enabled"));
    fake_attr_eq(r, "aliases", "[\"www.example.org\"]");
    ck_assert_str_eq(fake_str(r, "price_class"), "PriceClass_100");
    ck_assert_str_eq(fake_str(r, "default_cache_behavior[0].viewer_protocol_policy"),
                     "redirect-to-https");
    ck_assert_str_eq(fake_str(r, "default_cache_behavior[0].target_origin_id"), "site");
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "ordered_cache_behavior")), 1);
    ck_assert_str_eq(fake_str(r, "ordered_cache_behavior[0].path_pattern"), "/api/*");
    ck_assert_str_eq(fake_str(r, "ordered_cache_behavior[0].viewer_protocol_policy"), "https-only");
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "origin")), 2);
    ck_assert_str_eq(fake_str(r, "origin[1].origin_id"), "app");
    fake_attr_eq(r, "origin[1].custom_origin_config[0].origin_ssl_protocols",
                 "[\"TLSv1.1\",\"TLSv1.2\"]");
    ck_assert_str_eq(fake_str(r, "origin[1].custom_origin_config[0].origin_protocol_policy"),
                     "https-only");
    fake_attr_eq(r, "origin[0].custom_origin_config", "[]");
    ck_assert_str_eq(fake_str(r, "origin[0].domain_name"), "plumb-site.s3.amazonaws.com");
    ck_assert_int_eq(fake_int(r, "origin[0].connection_attempts"), 3);
    ck_assert(fake_bool(r, "viewer_certificate[0].cloudfront_default_certificate"));
    /* From GetDistribution. */
    fake_attr_eq(r, "logging_config",
                 "[{\"bucket\":\"plumb-cf-logs.s3.amazonaws.com\",\"include_cookies\":false,"
                 "\"prefix\":\"cf/\"}]");
    ck_assert_str_eq(fake_str(r, "default_root_object"), "index.html");
    /* From ListTagsForResource. */
    ck_assert_str_eq(fake_tag(r, "team"), "net");

    fake_check_typemap(o.res, "collect_cloudfront", cf_ops);
    done(&f, &o);
}
END_TEST

/* GetDistribution denied: the summary's attributes (here botocore's full
 * summary, shared fixture; moto's summaries are nearly empty) stay, the
 * three only GetDistribution has are unknown. */
START_TEST(details_fail)
{
    static const struct fake_override failures[] = {
        { .op = "ListDistributions",
          .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                     "cloudfront-list-distributions.json" },
        { .op = "GetDistribution",
          .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "cloudfront:GetDistribution" },
        { .op = "ListTagsForResource", .error_code = "Throttling", .kind = AWS_ERR_THROTTLED },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    char *path = tu_fixture(failures[0].fixture);
    json_t *list = fake_load_json(path);
    const json_t *d = json_array_get(ck_get(list, "DistributionList.Items"), 0);
    free(path);
    run_cf(&f, failures, &o);
    r = fake_get(o.res, "aws_cloudfront_distribution", ck_str(d, "Id"));
    ck_assert_str_eq(fake_unknown(r, "logging_config"), "access_denied:cloudfront:GetDistribution");
    ck_assert_str_eq(fake_unknown(r, "default_root_object"),
                     "access_denied:cloudfront:GetDistribution");
    ck_assert_str_eq(fake_unknown(r, "continuous_deployment_policy_id"),
                     "access_denied:cloudfront:GetDistribution");
    ck_assert_ptr_null(fake_attr(r, "logging_config"));
    ck_assert_str_eq(fake_unknown(r, "tags"), "throttled:Throttling: injected");
    ck_assert_int_eq((int)json_object_size(r->unknown), 4);
    ck_assert_str_eq(fake_str(r, "default_cache_behavior[0].viewer_protocol_policy"),
                     ck_str(d, "DefaultCacheBehavior.ViewerProtocolPolicy"));
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "origin")),
                     (int)json_array_size(ck_get(d, "Origins.Items")));
    ck_assert_int_eq(fake_scope(o.res, "aws_cloudfront_distribution")->status, COLLECT_OK);
    json_decref(list);
    done(&f, &o);
}
END_TEST

START_TEST(deleted_meanwhile)
{
    static const struct fake_override gone[] = {
        { .op = "GetDistribution", .error_code = "NoSuchDistribution", .kind = AWS_ERR_NOT_FOUND },
        { .op = "ListTagsForResource", .error_code = "NoSuchResource", .kind = AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_cf(&f, gone, &o);
    r = fake_get(o.res, "aws_cloudfront_distribution", ck_str(recorded_summary(&f), "Id"));
    ck_assert_ptr_null(fake_attr(r, "logging_config"));
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    done(&f, &o);
}
END_TEST

START_TEST(listing_denied)
{
    static const struct fake_override failures[] = {
        { .op = "ListDistributions",
          .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "cloudfront:ListDistributions" },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_cf(&f, failures, &o);
    ck_assert_int_eq((int)json_array_size(f.log), 1);
    ck_assert_int_eq(fake_scope(o.res, "aws_cloudfront_distribution")->status,
                     COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(o.res, "aws_cloudfront_distribution")->detail,
                     "cloudfront:ListDistributions");
    ck_assert_int_eq((int)o.res->resources.n, 0);
    done(&f, &o);
}
END_TEST

/* botocore's parsed CloudFront responses (shared fixtures), from an API
 * version whose summaries have no ARN: the ARN is built. */
START_TEST(botocore_responses)
{
    static const struct fake_override fixtures[] = {
        { .op = "ListDistributions",
          .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                     "cloudfront-list-distributions.json" },
        { .op = "GetDistribution",
          .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                     "cloudfront-get-distribution.json" },
        { .op = "ListTagsForResource", .pages = { "{\"Tags\":{\"Items\":[]}}" } },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    char *path = tu_fixture(fixtures[0].fixture);
    json_t *list = fake_load_json(path);
    char *gpath = tu_fixture(fixtures[1].fixture);
    json_t *get = fake_load_json(gpath);
    size_t i;
    json_t *d;
    free(path);
    free(gpath);
    run_cf(&f, fixtures, &o);
    json_array_foreach (ck_get(list, "DistributionList.Items"), i, d) {
        const struct resource *r = fake_get(o.res, "aws_cloudfront_distribution", ck_str(d, "Id"));
        const json_t *logging = ck_get(get, "Distribution.DistributionConfig.Logging");
        char *arn = str_printf("arn:aws:cloudfront::123456789012:distribution/%s", ck_str(d, "Id"));
        ck_assert_str_eq(r->arn, arn);
        free(arn);
        ck_assert_int_eq((int)json_array_size(fake_attr(r, "origin")),
                         (int)json_array_size(ck_get(d, "Origins.Items")));
        ck_assert_int_eq((int)json_array_size(fake_attr(r, "ordered_cache_behavior")),
                         (int)json_array_size(ck_get(d, "CacheBehaviors.Items")));
        ck_assert_str_eq(fake_str(r, "viewer_certificate[0].iam_certificate_id"),
                         ck_str(d, "ViewerCertificate.IAMCertificateId"));
        ck_assert_str_eq(fake_str(r, "default_cache_behavior[0].viewer_protocol_policy"),
                         ck_str(d, "DefaultCacheBehavior.ViewerProtocolPolicy"));
        ck_assert(json_is_true(json_object_get(logging, "Enabled")));
        ck_assert_str_eq(fake_str(r, "logging_config[0].bucket"), ck_str(logging, "Bucket"));
        ck_assert_str_eq(fake_str(r, "default_root_object"),
                         ck_str(get, "Distribution.DistributionConfig.DefaultRootObject"));
    }
    ck_assert_int_eq(fake_count(o.res, "aws_cloudfront_distribution"),
                     (int)json_array_size(ck_get(list, "DistributionList.Items")));
    json_decref(list);
    json_decref(get);
    done(&f, &o);
}
END_TEST

START_TEST(registered)
{
    ck_assert_ptr_eq(collector_find("cloudfront"), &collect_cloudfront);
    ck_assert(collect_cloudfront.global);
    for (size_t i = 0; cf_ops[i]; i++) {
        char *a = str_printf("cloudfront:%s", cf_ops[i]);
        bool found = false;
        for (size_t k = 0; collect_cloudfront.iam_actions[k]; k++)
            found = found || str_eq(a, collect_cloudfront.iam_actions[k]);
        ck_assert_msg(found, "%s", a);
        free(a);
    }
    ck_assert_ptr_null(collect_cloudfront.iam_actions[3]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_cloudfront");
    TCase *tc = tcase_create("cloudfront");
    tcase_add_test(tc, full_estate);
    tcase_add_test(tc, details_fail);
    tcase_add_test(tc, deleted_meanwhile);
    tcase_add_test(tc, listing_denied);
    tcase_add_test(tc, botocore_responses);
    tcase_add_test(tc, registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
