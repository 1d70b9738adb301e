/* Endpoint resolution: partitions, global services, S3, overrides. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "testutil.h"
#include "util.h"

static const struct endpoint_service ec2 = { "EC2", "ec2", NULL, false, NULL };
static const struct endpoint_service s3 = { "S3", "s3", NULL, true, "s3.amazonaws.com" };
static const struct endpoint_service s3control = { "S3 Control", "s3-control", "s3", false, NULL };
static const struct endpoint_service sts = { "STS", "sts", NULL, true, "sts.amazonaws.com" };
static const struct endpoint_service iam = { "IAM", "iam", NULL, true, "iam.amazonaws.com" };
static const struct endpoint_service cloudfront = { "CloudFront", "cloudfront", NULL, true,
                                                    "cloudfront.amazonaws.com" };
static const struct endpoint_service orgs = { "Organizations", "organizations", NULL, false, NULL };
static const struct endpoint_service route53 = { "Route 53", "route53", NULL, true,
                                                 "route53.amazonaws.com" };
static const struct endpoint_service account = { "Account", "account", NULL, false, NULL };
static const struct endpoint_service elbv2 = { "Elastic Load Balancing v2", "elasticloadbalancing",
                                               NULL, false, NULL };
static const struct endpoint_service config = { "Config Service", "config", NULL, false, NULL };
static const struct endpoint_service budgets = { "Budgets", "budgets", NULL, true, NULL };

/* Resolve and expect success. */
static void ok(const struct endpoint_params *p, const char *url, const char *region,
               const char *signing_name, const char *partition, const char *source)
{
    struct endpoint e;
    struct perr err = { 0 };
    int r = endpoint_resolve(p, &e, &err);
    ck_assert_msg(r == 0, "%s/%s: %d %s", p->service->service_id, p->region, r, err.msg);
    ck_assert_str_eq(e.url, url);
    ck_assert_str_eq(e.signing_region, region);
    ck_assert_str_eq(e.signing_name, signing_name);
    ck_assert_str_eq(e.partition, partition);
    ck_assert_str_eq(e.source, source);
    ck_assert(e.overridden == (strcmp(source, "default") != 0));
    endpoint_free(&e);
}

/* Resolve and expect failure with exactly this message; *ret untouched. */
static void fails(const struct endpoint_params *p, int code, const char *msg)
{
    struct endpoint e, before;
    struct perr err = { 0 };
    int r;
    memset(&e, 0x5a, sizeof(e));
    before = e;
    r = endpoint_resolve(p, &e, &err);
    ck_assert_int_eq(r, code);
    ck_assert_int_eq(err.code, code);
    ck_assert_str_eq(err.msg, msg);
    ck_assert(memcmp(&e, &before, sizeof(e)) == 0);
}

START_TEST(partitions)
{
    struct endpoint_params p = { .service = &ec2, .region = "eu-central-1" };
    ok(&p, "https://ec2.eu-central-1.amazonaws.com", "eu-central-1", "ec2", "aws", "default");
    p.region = "cn-north-1";
    ok(&p, "https://ec2.cn-north-1.amazonaws.com.cn", "cn-north-1", "ec2", "aws-cn", "default");
    p.region = "cn-northwest-1";
    ok(&p, "https://ec2.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", "ec2", "aws-cn",
       "default");
    p.region = "us-gov-west-1";
    ok(&p, "https://ec2.us-gov-west-1.amazonaws.com", "us-gov-west-1", "ec2", "aws-us-gov",
       "default");
    p.region = "us-gov-east-1";
    ok(&p, "https://ec2.us-gov-east-1.amazonaws.com", "us-gov-east-1", "ec2", "aws-us-gov",
       "default");
    /* An unknown region pattern is in the aws partition, as in botocore. */
    p.region = "xx-future-9";
    ok(&p, "https://ec2.xx-future-9.amazonaws.com", "xx-future-9", "ec2", "aws", "default");
    p.service = &config;
    p.region = "eu-west-3";
    ok(&p, "https://config.eu-west-3.amazonaws.com", "eu-west-3", "config", "aws", "default");
    ck_assert_str_eq(endpoint_partition("us-iso-east-1"), "aws-iso");
    ck_assert_str_eq(endpoint_partition("us-isob-east-1"), "aws-iso-b");
    ck_assert_str_eq(endpoint_partition("eusc-de-east-1"), "aws-eusc");
    ck_assert_str_eq(endpoint_partition(NULL), "aws");
}
END_TEST

START_TEST(global_services)
{
    struct endpoint_params p = { .service = &iam, .region = "eu-west-1" };
    ok(&p, "https://iam.amazonaws.com", "us-east-1", "iam", "aws", "default");
    p.region = "cn-northwest-1";
    ok(&p, "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1", "iam", "aws-cn", "default");
    p.region = "us-gov-east-1";
    ok(&p, "https://iam.us-gov.amazonaws.com", "us-gov-west-1", "iam", "aws-us-gov", "default");

    p.service = &cloudfront;
    p.region = "ap-southeast-2";
    ok(&p, "https://cloudfront.amazonaws.com", "us-east-1", "cloudfront", "aws", "default");
    p.region = "us-gov-west-1";
    fails(&p, -ENOENT, "CloudFront has no endpoint in partition aws-us-gov");

    p.service = &orgs;
    p.region = "eu-north-1";
    ok(&p, "https://organizations.us-east-1.amazonaws.com", "us-east-1", "organizations", "aws",
       "default");
    p.service = &route53;
    ok(&p, "https://route53.amazonaws.com", "us-east-1", "route53", "aws", "default");
    p.service = &account;
    ok(&p, "https://account.us-east-1.amazonaws.com", "us-east-1", "account", "aws", "default");
    p.region = "us-gov-west-1";
    fails(&p, -ENOENT, "Account has no endpoint in partition aws-us-gov");

    /* STS is regional although its model names a global endpoint. */
    p.service = &sts;
    p.region = "eu-west-1";
    ok(&p, "https://sts.eu-west-1.amazonaws.com", "eu-west-1", "sts", "aws", "default");
    p.region = "cn-north-1";
    ok(&p, "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1", "sts", "aws-cn", "default");

    /* A global service this module does not know. */
    p.service = &budgets;
    p.region = "eu-west-1";
    ok(&p, "https://budgets.amazonaws.com", "us-east-1", "budgets", "aws", "default");
    p.region = "cn-north-1";
    fails(&p, -ENOENT,
          "no known endpoint for the global service Budgets in partition aws-cn; set "
          "AWS_ENDPOINT_URL_BUDGETS or configure an endpoint");
    {
        const struct endpoint_service sp = { "savingsplans", "savingsplans", NULL, true,
                                             "savingsplans.amazonaws.com" };
        p.service = &sp;
        p.region = "eu-west-1";
        ok(&p, "https://savingsplans.amazonaws.com", "us-east-1", "savingsplans", "aws", "default");
    }
}
END_TEST

/* The global-service table agrees with botocore's endpoints.json (read at
 * run time): host names, credential scopes, and absence. */
START_TEST(global_services_match_botocore)
{
    const char *argv[] = { "python3", "-c",
                           "import botocore, os; print(os.path.join(os.path.dirname("
                           "botocore.__file__), 'data', 'endpoints.json'))",
                           NULL };
    static const struct {
        const struct endpoint_service *svc;
        const char *key;
    } map[] = {
        { &iam, "iam" },         { &cloudfront, "cloudfront" }, { &orgs, "organizations" },
        { &route53, "route53" }, { &account, "account" },
    };
    static const struct {
        const char *partition;
        const char *region;
    } regions[] = { { "aws", "eu-west-1" },
                    { "aws-cn", "cn-north-1" },
                    { "aws-us-gov", "us-gov-west-1" } };
    char *path = NULL;
    json_t *root, *parts;
    json_error_t jerr;
    size_t checked = 0, idx;
    json_t *part;

    if (tu_run(argv, NULL, &path, NULL) != 0) {
        fprintf(stderr, "SKIP global_services_match_botocore: no botocore\n");
        free(path);
        return;
    }
    str_trim(path);
    root = json_load_file(path, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s", path, jerr.text);
    parts = json_object_get(root, "partitions");
    json_array_foreach (parts, idx, part) {
        const char *pname = json_string_value(json_object_get(part, "partition"));
        const char *region = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(regions); i++)
            if (str_eq(pname, regions[i].partition))
                region = regions[i].region;
        if (!region)
            continue;
        for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
            json_t *svc = json_object_get(json_object_get(part, "services"), map[i].key);
            const char *pe = json_string_value(json_object_get(svc, "partitionEndpoint"));
            struct endpoint_params p = { .service = map[i].svc, .region = region };
            struct endpoint e;
            struct perr err;
            int r = endpoint_resolve(&p, &e, &err);
            if (!pe) {
                ck_assert_msg(r == -ENOENT, "%s in %s should not exist", map[i].key, pname);
            } else {
                json_t *ep = json_object_get(json_object_get(svc, "endpoints"), pe);
                const char *host = json_string_value(json_object_get(ep, "hostname"));
                const char *scope = json_string_value(
                    json_object_get(json_object_get(ep, "credentialScope"), "region"));
                char *url = str_printf("https://%s", host);
                ck_assert_msg(r == 0, "%s in %s: %s", map[i].key, pname, err.msg);
                ck_assert_str_eq(e.url, url);
                ck_assert_str_eq(e.signing_region, scope);
                free(url);
                endpoint_free(&e);
            }
            checked++;
        }
    }
    ck_assert_uint_eq(checked, ARRAY_SIZE(map) * ARRAY_SIZE(regions));
    json_decref(root);
    free(path);
}
END_TEST

static void s3_case(const char *region, const char *bucket, const char *url, bool path_style)
{
    struct endpoint_params p = { .service = &s3, .region = region, .bucket = bucket };
    struct endpoint e;
    struct perr err;
    ck_assert_int_eq(endpoint_resolve(&p, &e, &err), 0);
    ck_assert_str_eq(e.url, url);
    ck_assert_str_eq(e.signing_region, region);
    ck_assert_str_eq(e.signing_name, "s3");
    ck_assert(e.s3_path_style == path_style);
    ck_assert(!e.overridden);
    endpoint_free(&e);
}

START_TEST(s3_addressing)
{
    s3_case("eu-west-1", "my-bucket", "https://my-bucket.s3.eu-west-1.amazonaws.com", false);
    s3_case("us-east-1", "logs-123", "https://logs-123.s3.us-east-1.amazonaws.com", false);
    s3_case("eu-west-1", NULL, "https://s3.eu-west-1.amazonaws.com", false);
    s3_case("eu-west-1", "My_Bucket", "https://s3.eu-west-1.amazonaws.com", true);
    s3_case("eu-west-1", "a.b.example", "https://s3.eu-west-1.amazonaws.com", true);
    s3_case("eu-west-1", "ab", "https://s3.eu-west-1.amazonaws.com", true);
    s3_case("eu-west-1", "-leading", "https://s3.eu-west-1.amazonaws.com", true);
    s3_case("cn-north-1", "data", "https://data.s3.cn-north-1.amazonaws.com.cn", false);
    s3_case("us-gov-west-1", "data", "https://data.s3.us-gov-west-1.amazonaws.com", false);

    ck_assert(endpoint_s3_virtual_hostable("abc"));
    ck_assert(endpoint_s3_virtual_hostable("a-1-b"));
    ck_assert(!endpoint_s3_virtual_hostable("a-"));
    ck_assert(!endpoint_s3_virtual_hostable("Abc"));
    ck_assert(!endpoint_s3_virtual_hostable(NULL));
    {
        char long_name[65];
        memset(long_name, 'a', 64);
        long_name[64] = '\0';
        ck_assert(!endpoint_s3_virtual_hostable(long_name));
        long_name[63] = '\0';
        ck_assert(endpoint_s3_virtual_hostable(long_name));
    }
    {
        struct endpoint_params p = { .service = &s3, .region = "eu-west-1", .bucket = "a/b" };
        fails(&p, -EINVAL, "S3: invalid bucket name");
        p.bucket = "";
        fails(&p, -EINVAL, "S3: invalid bucket name");
    }
}
END_TEST

START_TEST(s3_control)
{
    struct endpoint_params p = { .service = &s3control,
                                 .region = "eu-west-1",
                                 .account_id = "123456789012" };
    ok(&p, "https://123456789012.s3-control.eu-west-1.amazonaws.com", "eu-west-1", "s3", "aws",
       "default");
    p.region = "cn-north-1";
    ok(&p, "https://123456789012.s3-control.cn-north-1.amazonaws.com.cn", "cn-north-1", "s3",
       "aws-cn", "default");
    p.account_id = "12345678901";
    fails(&p, -EINVAL, "S3 Control: a 12-digit account id is required");
    p.account_id = "12345678901x";
    fails(&p, -EINVAL, "S3 Control: a 12-digit account id is required");
    p.account_id = NULL;
    fails(&p, -EINVAL, "S3 Control: a 12-digit account id is required");
}
END_TEST

START_TEST(env_names)
{
    static const struct {
        const char *id, *var;
    } cases[] = {
        { "Elastic Load Balancing v2", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2" },
        { "Config Service", "AWS_ENDPOINT_URL_CONFIG_SERVICE" },
        { "S3", "AWS_ENDPOINT_URL_S3" },
        { "SSM Incidents", "AWS_ENDPOINT_URL_SSM_INCIDENTS" },
        { "Route 53", "AWS_ENDPOINT_URL_ROUTE_53" },
        { "ApiGatewayV2", "AWS_ENDPOINT_URL_APIGATEWAYV2" },
        { "savingsplans", "AWS_ENDPOINT_URL_SAVINGSPLANS" },
        { "Route53-Recovery-Cluster", "AWS_ENDPOINT_URL_ROUTE53_RECOVERY_CLUSTER" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *v = endpoint_env_name(cases[i].id);
        ck_assert_str_eq(v, cases[i].var);
        free(v);
    }
}
END_TEST

START_TEST(override_precedence)
{
    const char *all[] = { "HOME=/root",
                          "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=http://127.0.0.1:5001/",
                          "AWS_ENDPOINT_URL=http://127.0.0.1:5002", NULL };
    const char *global_only[] = { "AWS_ENDPOINT_URL=http://127.0.0.1:5002", NULL };
    const char *other_service[] = { "AWS_ENDPOINT_URL_EC2=http://127.0.0.1:5009", NULL };
    const char *empty[] = { "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=", "AWS_ENDPOINT_URL=",
                            NULL };
    struct endpoint_params p = { .service = &elbv2,
                                 .region = "eu-west-1",
                                 .envp = (char *const *)all,
                                 .config_service_url = "http://127.0.0.1:5003",
                                 .config_global_url = "http://127.0.0.1:5004" };

    ok(&p, "http://127.0.0.1:5001", "eu-west-1", "elasticloadbalancing", "aws",
       "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
    p.envp = (char *const *)global_only;
    ok(&p, "http://127.0.0.1:5002", "eu-west-1", "elasticloadbalancing", "aws", "AWS_ENDPOINT_URL");
    p.envp = (char *const *)other_service;
    ok(&p, "http://127.0.0.1:5003", "eu-west-1", "elasticloadbalancing", "aws", "config (service)");
    p.envp = (char *const *)empty;
    ok(&p, "http://127.0.0.1:5003", "eu-west-1", "elasticloadbalancing", "aws", "config (service)");
    p.config_service_url = "";
    ok(&p, "http://127.0.0.1:5004", "eu-west-1", "elasticloadbalancing", "aws", "config (global)");
    p.config_global_url = NULL;
    ok(&p, "https://elasticloadbalancing.eu-west-1.amazonaws.com", "eu-west-1",
       "elasticloadbalancing", "aws", "default");
    /* Overrides also rescue partitions without defaults. */
    p.region = "us-iso-east-1";
    fails(&p, -ENOTSUP,
          "region us-iso-east-1 is in partition aws-iso, which has no built-in endpoints; set "
          "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 or configure an endpoint");
    p.envp = (char *const *)global_only;
    ok(&p, "http://127.0.0.1:5002", "us-iso-east-1", "elasticloadbalancing", "aws-iso",
       "AWS_ENDPOINT_URL");
}
END_TEST

START_TEST(ignore_configured)
{
    const char *env[] = { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true",
                          "AWS_ENDPOINT_URL_EC2=http://127.0.0.1:5001",
                          "AWS_ENDPOINT_URL=http://127.0.0.1:5002", NULL };
    const char *env_upper[] = { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=TRUE",
                                "AWS_ENDPOINT_URL=http://127.0.0.1:5002", NULL };
    const char *env_false[] = { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false",
                                "AWS_ENDPOINT_URL=http://127.0.0.1:5002", NULL };
    const char *env_bad[] = { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=maybe",
                              "AWS_ENDPOINT_URL=http://127.0.0.1:5002", NULL };
    struct endpoint_params p = { .service = &ec2,
                                 .region = "eu-west-1",
                                 .envp = (char *const *)env,
                                 .config_global_url = "http://127.0.0.1:5004" };

    ok(&p, "http://127.0.0.1:5004", "eu-west-1", "ec2", "aws", "config (global)");
    p.config_global_url = NULL;
    ok(&p, "https://ec2.eu-west-1.amazonaws.com", "eu-west-1", "ec2", "aws", "default");
    p.envp = (char *const *)env_upper;
    ok(&p, "https://ec2.eu-west-1.amazonaws.com", "eu-west-1", "ec2", "aws", "default");
    p.envp = (char *const *)env_false;
    ok(&p, "http://127.0.0.1:5002", "eu-west-1", "ec2", "aws", "AWS_ENDPOINT_URL");
    p.envp = (char *const *)env_bad;
    fails(&p, -EINVAL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: expected true or false");
}
END_TEST

START_TEST(override_shapes)
{
    const char *env[] = { "AWS_ENDPOINT_URL=https://[::1]:8443/base//", NULL };
    const char *env_plain[] = { "AWS_ENDPOINT_URL=http://localhost:4566/", NULL };
    struct endpoint_params p = { .service = &ec2,
                                 .region = "eu-west-1",
                                 .envp = (char *const *)env };
    struct endpoint e;
    struct perr err;

    ok(&p, "https://[::1]:8443/base", "eu-west-1", "ec2", "aws", "AWS_ENDPOINT_URL");
    p.envp = (char *const *)env_plain;
    ok(&p, "http://localhost:4566", "eu-west-1", "ec2", "aws", "AWS_ENDPOINT_URL");

    /* S3 behind an override is path-style; the bucket stays in the path. */
    p.service = &s3;
    p.bucket = "my-bucket";
    ck_assert_int_eq(endpoint_resolve(&p, &e, &err), 0);
    ck_assert_str_eq(e.url, "http://localhost:4566");
    ck_assert(e.s3_path_style);
    ck_assert(e.overridden);
    endpoint_free(&e);
    /* S3 Control keeps the URL as given (no account label). */
    p.service = &s3control;
    p.bucket = NULL;
    p.account_id = "123456789012";
    ok(&p, "http://localhost:4566", "eu-west-1", "s3", "aws", "AWS_ENDPOINT_URL");
    /* A global service keeps its credential scope behind an override. */
    p.service = &iam;
    ok(&p, "http://localhost:4566", "us-east-1", "iam", "aws", "AWS_ENDPOINT_URL");
    p.region = "cn-north-1";
    ok(&p, "http://localhost:4566", "cn-north-1", "iam", "aws-cn", "AWS_ENDPOINT_URL");
}
END_TEST

START_TEST(bad_overrides)
{
    static const struct {
        const char *env;
        const char *config;
        const char *msg;
    } cases[] = {
        { "AWS_ENDPOINT_URL_S3=ftp://example.com", NULL,
          "AWS_ENDPOINT_URL_S3: URL scheme must be http or https" },
        { "AWS_ENDPOINT_URL_S3=localhost:4566", NULL,
          "AWS_ENDPOINT_URL_S3: URL must start with http:// or https://" },
        { "AWS_ENDPOINT_URL=not a url", NULL,
          "AWS_ENDPOINT_URL: URL must start with http:// or https://" },
        { "AWS_ENDPOINT_URL=http://exa mple.com", NULL, "AWS_ENDPOINT_URL: not a valid URL" },
        { "AWS_ENDPOINT_URL=http://", NULL, "AWS_ENDPOINT_URL: not a valid URL" },
        { "AWS_ENDPOINT_URL=https://user:hunter2@example.com", NULL,
          "AWS_ENDPOINT_URL: URL must not contain a user name or password" },
        { "AWS_ENDPOINT_URL=https://example.com/?x=1", NULL,
          "AWS_ENDPOINT_URL: URL must not contain a query or fragment" },
        { "AWS_ENDPOINT_URL=https://example.com/#top", NULL,
          "AWS_ENDPOINT_URL: URL must not contain a query or fragment" },
        { NULL, "https://example.com:99999", "config (service): not a valid URL" },
        { NULL, "gopher://example.com", "config (service): URL scheme must be http or https" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *env[] = { cases[i].env, NULL };
        struct endpoint_params p = { .service = &s3,
                                     .region = "eu-west-1",
                                     .envp = (char *const *)env,
                                     .config_service_url = cases[i].config };
        fails(&p, -EINVAL, cases[i].msg);
    }
}
END_TEST

START_TEST(bad_params)
{
    struct endpoint_params p = { .service = &ec2, .region = NULL };
    const struct endpoint_service noprefix = { "X", "", NULL, false, NULL };
    const struct endpoint_service badprefix = { "X", "a/b", NULL, false, NULL };
    fails(&p, -EINVAL, "EC2: invalid or missing region");
    p.region = "";
    fails(&p, -EINVAL, "EC2: invalid or missing region");
    p.region = "EU-WEST-1";
    fails(&p, -EINVAL, "EC2: invalid or missing region");
    p.region = "eu-west-1.evil.com";
    fails(&p, -EINVAL, "EC2: invalid or missing region");
    p.region = "eu-west-1";
    p.service = &noprefix;
    fails(&p, -EINVAL, "endpoint: incomplete service description");
    p.service = &badprefix;
    fails(&p, -EINVAL, "endpoint: incomplete service description");
    p.service = NULL;
    fails(&p, -EINVAL, "endpoint: incomplete service description");
    fails(NULL, -EINVAL, "endpoint: incomplete service description");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("endpoint");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, partitions);
    tcase_add_test(tc, global_services);
    tcase_add_test(tc, global_services_match_botocore);
    tcase_add_test(tc, s3_addressing);
    tcase_add_test(tc, s3_control);
    tcase_add_test(tc, env_names);
    tcase_add_test(tc, override_precedence);
    tcase_add_test(tc, ignore_configured);
    tcase_add_test(tc, override_shapes);
    tcase_add_test(tc, bad_overrides);
    tcase_add_test(tc, bad_params);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
