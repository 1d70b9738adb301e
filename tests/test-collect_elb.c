#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_elb.h"
#include "collect_kit.h"
#include "netfake.h"

static const char *const elb_ops[] = {
    "DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "DescribeListeners",
    "DescribeTags",          "DescribeLoadBalancerPolicies",   NULL,
};

static void run_elb(struct fake *f, const struct fake_override *overrides, struct fake_run *o)
{
    fake_init(f, overrides);
    fake_load(f, "elbv2");
    fake_load(f, "elb");
    fake_collect(f, &collect_elb, o);
}

static void done(struct fake *f, struct fake_run *o)
{
    fake_run_free(o);
    fake_close(f);
}

static const char *recorded_lb_arn(struct fake *f)
{
    const json_t *out = fake_page(f, "elbv2", "DescribeLoadBalancers", 0, 0);
    return ck_str(json_array_get(json_object_get(out, "LoadBalancers"), 0), "LoadBalancerArn");
}

START_TEST(full_estate)
{
    struct fake f;
    struct fake_run o;
    const struct resource *lb, *http, *https, *classic;
    const char *arn;
    run_elb(&f, NULL, &o);
    arn = recorded_lb_arn(&f);

    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq((int)json_array_size(f.log), 8);
    ck_assert_int_eq(fake_calls(&f, "DescribeLoadBalancers", "{\"PageSize\":400}"), 2);
    ck_assert_int_eq(fake_calls(&f, "DescribeLoadBalancerPolicies",
                                "{\"LoadBalancerName\":\"plumb-classic\","
                                "\"PolicyNames\":[\"plumb-tls\"]}"),
                     1);
    ck_assert_int_eq(fake_calls(&f, "DescribeTags", "{\"LoadBalancerNames\":[\"plumb-classic\"]}"),
                     1);
    /* One tag call for the load balancer and its two listeners. */
    ck_assert_int_eq(fake_calls(&f, "DescribeTags", NULL), 2);
    ck_assert_int_eq(fake_scope(o.res, "aws_lb")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_lb_listener")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_elb")->status, COLLECT_OK);

    lb = fake_get(o.res, "aws_lb", arn);
    ck_assert_str_eq(lb->arn, arn);
    ck_assert_str_eq(fake_str(lb, "name"), "plumb-alb");
    ck_assert_str_eq(fake_str(lb, "load_balancer_type"), "application");
    ck_assert(!fake_bool(lb, "internal"));
    ck_assert(str_has_prefix(fake_str(lb, "arn_suffix"), "app/plumb-alb/"));
    fake_attr_eq(lb, "access_logs",
                 "[{\"bucket\":\"plumb-lb-logs\",\"enabled\":true,\"prefix\":\"alb\"}]");
    fake_attr_eq(lb, "connection_logs", "[]");
    ck_assert(fake_bool(lb, "enable_deletion_protection"));
    ck_assert(!fake_bool(lb, "enable_cross_zone_load_balancing"));
    /* moto does not report the idle timeout: not set. */
    ck_assert(fake_null(lb, "idle_timeout"));
    ck_assert_int_eq((int)json_array_size(fake_attr(lb, "subnets")), 2);
    ck_assert_str_eq(fake_str(lb, "subnet_mapping[0].subnet_id"), fake_str(lb, "subnets[0]"));
    ck_assert_str_eq(fake_tag(lb, "team"), "net");

    http = fake_by_attr(o.res, "aws_lb_listener", "protocol", "HTTP");
    https = fake_by_attr(o.res, "aws_lb_listener", "protocol", "HTTPS");
    ck_assert_str_eq(fake_str(http, "load_balancer_arn"), arn);
    ck_assert_str_eq(http->arn, http->id);
    ck_assert_int_eq(fake_int(http, "port"), 80);
    fake_attr_eq(http, "default_action",
                 "[{\"fixed_response\":[],\"forward\":[],\"order\":null,\"redirect\":"
                 "[{\"host\":null,\"path\":null,\"port\":\"443\",\"protocol\":\"HTTPS\","
                 "\"query\":null,\"status_code\":\"HTTP_301\"}],\"target_group_arn\":null,"
                 "\"type\":\"redirect\"}]");
    ck_assert(fake_null(http, "certificate_arn"));
    ck_assert_str_eq(fake_str(https, "ssl_policy"), "ELBSecurityPolicy-TLS13-1-2-2021-06");
    ck_assert(str_has_prefix(fake_str(https, "certificate_arn"), "arn:aws:acm:eu-central-1:"));
    ck_assert_str_eq(fake_str(https, "default_action[0].type"), "forward");
    ck_assert(str_has_prefix(fake_str(https, "default_action[0].target_group_arn"),
                             "arn:aws:elasticloadbalancing:eu-central-1:"));
    ck_assert_str_eq(fake_tag(https, "tier"), "edge");
    ck_assert_int_eq((int)json_object_size(http->tags), 0);
    ck_assert(fake_null(https, "alpn_policy"));

    classic = fake_get(o.res, "aws_elb", "plumb-classic");
    ck_assert_str_eq(classic->arn,
                     "arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/"
                     "plumb-classic");
    fake_attr_eq(classic, "listener_policies",
                 "[{\"lb_port\":80,\"policy_names\":[],\"reference_security_policy\":null},"
                 "{\"lb_port\":443,\"policy_names\":[\"plumb-tls\"],"
                 "\"reference_security_policy\":\"ELBSecurityPolicy-TLS-1-2-2017-01\"}]");
    fake_attr_eq(classic, "access_logs",
                 "[{\"bucket\":\"plumb-lb-logs\",\"bucket_prefix\":\"classic\",\"enabled\":true,"
                 "\"interval\":5}]");
    ck_assert(fake_bool(classic, "connection_draining"));
    ck_assert_int_eq(fake_int(classic, "connection_draining_timeout"), 120);
    ck_assert_str_eq(fake_str(classic, "desync_mitigation_mode"), "defensive");
    ck_assert_int_eq(fake_int(classic, "idle_timeout"), 60);
    ck_assert_int_eq((int)json_array_size(fake_attr(classic, "listener")), 2);
    ck_assert_str_eq(fake_str(classic, "listener[1].lb_protocol"), "HTTPS");
    ck_assert_int_eq(fake_int(classic, "listener[1].instance_port"), 8080);
    ck_assert_str_eq(fake_tag(classic, "team"), "net");
    fake_attr_eq(classic, "health_check", "[]");

    fake_check_typemap(o.res, "collect_elb", elb_ops);
    done(&f, &o);
}
END_TEST

START_TEST(details_fail)
{
    static const struct fake_override failures[] = {
        { .service = "elbv2",
          .op = "DescribeLoadBalancerAttributes",
          .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "elasticloadbalancing:DescribeLoadBalancerAttributes" },
        { .service = "elbv2",
          .op = "DescribeListeners",
          .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "elasticloadbalancing:DescribeListeners" },
        { .service = "elbv2",
          .op = "DescribeTags",
          .error_code = "Throttling",
          .kind = AWS_ERR_THROTTLED },
        { .service = "elb",
          .op = "DescribeLoadBalancerPolicies",
          .error_code = "Throttling",
          .kind = AWS_ERR_THROTTLED },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct resource *lb, *classic;
    run_elb(&f, failures, &o);
    lb = fake_get(o.res, "aws_lb", recorded_lb_arn(&f));
    ck_assert_ptr_null(fake_attr(lb, "access_logs"));
    ck_assert_str_eq(fake_unknown(lb, "access_logs"),
                     "access_denied:elasticloadbalancing:DescribeLoadBalancerAttributes");
    ck_assert_str_eq(fake_unknown(lb, "idle_timeout"),
                     "access_denied:elasticloadbalancing:DescribeLoadBalancerAttributes");
    ck_assert_str_eq(fake_str(lb, "name"), "plumb-alb");
    ck_assert_str_eq(fake_unknown(lb, "tags"), "throttled:Throttling: injected");
    ck_assert_int_eq(fake_scope(o.res, "aws_lb")->status, COLLECT_OK);
    /* Listeners not listed: the type is unknown, never "deleted". */
    ck_assert_int_eq(fake_scope(o.res, "aws_lb_listener")->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(o.res, "aws_lb_listener")->detail,
                     "elasticloadbalancing:DescribeListeners");
    ck_assert_int_eq(fake_count(o.res, "aws_lb_listener"), 0);

    classic = fake_get(o.res, "aws_elb", "plumb-classic");
    ck_assert_ptr_null(fake_attr(classic, "listener_policies"));
    ck_assert_str_eq(fake_unknown(classic, "listener_policies"), "throttled:Throttling: injected");
    ck_assert(fake_bool(classic, "connection_draining"));
    ck_assert_str_eq(fake_tag(classic, "team"), "net");
    done(&f, &o);
}
END_TEST

START_TEST(listings_fail)
{
    static const struct fake_override failures[] = {
        { .service = "elbv2",
          .op = "DescribeLoadBalancers",
          .error_code = "Throttling",
          .kind = AWS_ERR_THROTTLED },
        { .service = "elb",
          .op = "DescribeLoadBalancers",
          .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "elasticloadbalancing:DescribeLoadBalancers" },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_elb(&f, failures, &o);
    ck_assert_int_eq((int)json_array_size(f.log), 2);
    ck_assert_int_eq(fake_scope(o.res, "aws_lb")->status, COLLECT_THROTTLED);
    ck_assert_int_eq(fake_scope(o.res, "aws_lb_listener")->status, COLLECT_THROTTLED);
    ck_assert_int_eq(fake_scope(o.res, "aws_elb")->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(o.res, "aws_elb")->detail,
                     "elasticloadbalancing:DescribeLoadBalancers");
    ck_assert_int_eq((int)o.res->resources.n, 0);
    done(&f, &o);
}
END_TEST

/* Deleted between the listing and the per-item calls: gone, not an error. */
START_TEST(deleted_meanwhile)
{
    static const struct fake_override gone[] = {
        { .op = "DescribeLoadBalancerAttributes",
          .error_code = "LoadBalancerNotFound",
          .kind = AWS_ERR_NOT_FOUND },
        { .op = "DescribeListeners",
          .error_code = "LoadBalancerNotFound",
          .kind = AWS_ERR_NOT_FOUND },
        { .op = "DescribeLoadBalancerPolicies",
          .error_code = "LoadBalancerNotFound",
          .kind = AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_elb(&f, gone, &o);
    ck_assert_int_eq((int)o.res->resources.n, 0);
    ck_assert_int_eq(fake_calls(&f, "DescribeTags", NULL), 0);
    ck_assert_int_eq(fake_scope(o.res, "aws_lb")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_lb_listener")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_elb")->status, COLLECT_OK);
    done(&f, &o);
}
END_TEST

/* 25 load balancers: tags in two calls of 20 and 5, sorted by ARN; actions
 * sorted by order; the default certificate. */
START_TEST(batches_and_order)
{
    const size_t cap = 25 * 200 + 64;
    char *lbs = malloc(cap);
    size_t len = 0;
    struct fake_override ov[6];
    struct fake f;
    struct fake_run o;
    const struct resource *l;
    len += (size_t)snprintf(lbs + len, cap - len, "{\"LoadBalancers\":[");
    for (int i = 24; i >= 0; i--)
        len += (size_t)snprintf(lbs + len, cap - len,
                                "%s{\"LoadBalancerArn\":\"arn:aws:elasticloadbalancing:eu-central-"
                                "1:123456789012:loadbalancer/net/lb%02d/1\",\"LoadBalancerName\":"
                                "\"lb%02d\",\"Type\":\"network\",\"Scheme\":\"internal\"}",
                                i == 24 ? "" : ",", i, i);
    snprintf(lbs + len, cap - len, "]}");
    memset(ov, 0, sizeof(ov));
    ov[0].service = "elbv2";
    ov[0].op = "DescribeLoadBalancers";
    ov[0].pages[0] = lbs;
    ov[1].service = "elbv2";
    ov[1].op = "DescribeLoadBalancerAttributes";
    ov[1].pages[0] = "{\"Attributes\":[{\"Key\":\"idle_timeout.timeout_seconds\",\"Value\":"
                     "\"120\"},{\"Key\":\"routing.http2.enabled\",\"Value\":\"false\"}]}";
    ov[2].service = "elbv2";
    ov[2].op = "DescribeListeners";
    ov[2].params = "{\"LoadBalancerArn\":\"arn:aws:elasticloadbalancing:eu-central-1:"
                   "123456789012:loadbalancer/net/lb07/1\",\"PageSize\":400}";
    ov[2].pages[0] =
        "{\"Listeners\":[{\"ListenerArn\":\"arn:aws:elasticloadbalancing:eu-central-1:"
        "123456789012:listener/net/lb07/1/l1\",\"Protocol\":\"TLS\",\"Port\":443,"
        "\"AlpnPolicy\":[\"HTTP2Preferred\"],\"Certificates\":[{\"CertificateArn\":\"c-other\"},"
        "{\"CertificateArn\":\"c-default\",\"IsDefault\":true}],\"DefaultActions\":["
        "{\"Type\":\"forward\",\"Order\":2,\"ForwardConfig\":{\"TargetGroups\":[{"
        "\"TargetGroupArn\":\"tg-1\",\"Weight\":3}],\"TargetGroupStickinessConfig\":{"
        "\"Enabled\":true,\"DurationSeconds\":60}}},{\"Type\":\"fixed-response\",\"Order\":1,"
        "\"FixedResponseConfig\":{\"StatusCode\":\"503\",\"ContentType\":\"text/plain\"}}]}]}";
    ov[3].service = "elbv2";
    ov[3].op = "DescribeListeners";
    ov[3].pages[0] = "{\"Listeners\":[]}";
    ov[4].service = "elbv2";
    ov[4].op = "DescribeTags";
    ov[4].pages[0] = "{\"TagDescriptions\":[{\"ResourceArn\":\"arn:aws:elasticloadbalancing:"
                     "eu-central-1:123456789012:loadbalancer/net/lb03/1\",\"Tags\":[{\"Key\":"
                     "\"k\",\"Value\":\"v\"}]}]}";
    run_elb(&f, ov, &o);

    ck_assert_int_eq(fake_count(o.res, "aws_lb"), 25);
    ck_assert_int_eq(fake_count(o.res, "aws_lb_listener"), 1);
    ck_assert_int_eq(fake_calls(&f, "DescribeLoadBalancerAttributes", NULL), 25 + 1);
    ck_assert_int_eq(fake_calls(&f, "DescribeListeners", NULL), 25);
    {
        size_t i;
        json_t *e;
        int n = 0;
        json_array_foreach (f.log, i, e) {
            const json_t *arns;
            if (!str_eq(json_string_value(json_object_get(e, "op")), "DescribeTags") ||
                !str_eq(json_string_value(json_object_get(e, "service")), "elbv2"))
                continue;
            arns = json_object_get(json_object_get(e, "params"), "ResourceArns");
            if (n == 0) {
                /* 20 in the first call, sorted by ARN: "...:listener/..."
                 * before "...:loadbalancer/...", then lb00 onwards. */
                ck_assert_int_eq((int)json_array_size(arns), 20);
                ck_assert(str_has_suffix(json_string_value(json_array_get(arns, 0)),
                                         "listener/net/lb07/1/l1"));
                ck_assert(str_has_suffix(json_string_value(json_array_get(arns, 1)), "/lb00/1"));
                ck_assert(str_has_suffix(json_string_value(json_array_get(arns, 19)), "/lb18/1"));
            } else {
                ck_assert_int_eq((int)json_array_size(arns), 6);
            }
            n++;
        }
        ck_assert_int_eq(n, 2);
    }
    ck_assert_str_eq(fake_tag(fake_by_attr(o.res, "aws_lb", "name", "lb03"), "k"), "v");
    ck_assert(fake_bool(fake_by_attr(o.res, "aws_lb", "name", "lb03"), "internal"));
    ck_assert_int_eq(fake_int(fake_by_attr(o.res, "aws_lb", "name", "lb03"), "idle_timeout"), 120);
    ck_assert(!fake_bool(fake_by_attr(o.res, "aws_lb", "name", "lb03"), "enable_http2"));

    l = fake_by_attr(o.res, "aws_lb_listener", "protocol", "TLS");
    ck_assert_str_eq(fake_str(l, "certificate_arn"), "c-default");
    ck_assert_str_eq(fake_str(l, "alpn_policy"), "HTTP2Preferred");
    ck_assert_str_eq(fake_str(l, "default_action[0].type"), "fixed-response");
    ck_assert_str_eq(fake_str(l, "default_action[0].fixed_response[0].status_code"), "503");
    ck_assert_str_eq(fake_str(l, "default_action[1].type"), "forward");
    fake_attr_eq(l, "default_action[1].forward",
                 "[{\"stickiness\":[{\"duration\":60,\"enabled\":true}],\"target_group\":"
                 "[{\"arn\":\"tg-1\",\"weight\":3}]}]");
    done(&f, &o);
    free(lbs);
}
END_TEST

/* A custom SSL negotiation policy without a reference policy (botocore's
 * parsed DescribeLoadBalancerPolicies sample, shared fixture). */
START_TEST(custom_ssl_policy)
{
    static const struct fake_override ov[] = {
        { .service = "elb",
          .op = "DescribeLoadBalancers",
          .pages = { "{\"LoadBalancerDescriptions\":[{\"LoadBalancerName\":\"old\","
                     "\"Scheme\":\"internal\",\"ListenerDescriptions\":[{\"Listener\":"
                     "{\"Protocol\":\"SSL\",\"LoadBalancerPort\":443,\"InstancePort\":443,"
                     "\"InstanceProtocol\":\"SSL\"},\"PolicyNames\":["
                     "\"ELBSample-ELBDefaultCipherPolicy\",\"ELBSample-ELBDefaultCipherPolicy\"]}],"
                     "\"HealthCheck\":{\"Target\":\"TCP:443\",\"Interval\":30,\"Timeout\":5,"
                     "\"HealthyThreshold\":3,\"UnhealthyThreshold\":2}}]}" } },
        { .service = "elb",
          .op = "DescribeLoadBalancerPolicies",
          .params = "{\"LoadBalancerName\":\"old\",\"PolicyNames\":["
                    "\"ELBSample-ELBDefaultCipherPolicy\"]}",
          .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                     "elb-describe-load-balancer-policies.json" },
        { .service = "elb",
          .op = "DescribeLoadBalancerAttributes",
          .pages = { "{\"LoadBalancerAttributes\":{\"AccessLog\":{\"Enabled\":false}}}" } },
        { .service = "elb",
          .op = "DescribeTags",
          .params = "{\"LoadBalancerNames\":[\"old\"]}",
          .pages = { "{\"TagDescriptions\":[]}" } },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_elb(&f, ov, &o);
    ck_assert_int_eq(f.unmatched, 0);
    r = fake_get(o.res, "aws_elb", "old");
    fake_attr_eq(r, "listener_policies",
                 "[{\"lb_port\":443,\"policy_names\":[\"ELBSample-ELBDefaultCipherPolicy\","
                 "\"ELBSample-ELBDefaultCipherPolicy\"],\"reference_security_policy\":null}]");
    fake_attr_eq(r, "access_logs",
                 "[{\"bucket\":null,\"bucket_prefix\":null,\"enabled\":false,\"interval\":null}]");
    ck_assert(fake_null(r, "desync_mitigation_mode"));
    ck_assert(fake_bool(r, "internal"));
    ck_assert_str_eq(fake_str(r, "health_check[0].target"), "TCP:443");
    done(&f, &o);
}
END_TEST

START_TEST(registered)
{
    size_t n = 0;
    ck_assert_ptr_eq(collector_find("elb"), &collect_elb);
    for (; collect_elb.iam_actions[n]; n++)
        ck_assert(str_has_prefix(collect_elb.iam_actions[n], "elasticloadbalancing:"));
    ck_assert_int_eq((int)n, 5);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_elb");
    TCase *tc = tcase_create("elb");
    tcase_add_test(tc, full_estate);
    tcase_add_test(tc, details_fail);
    tcase_add_test(tc, listings_fail);
    tcase_add_test(tc, deleted_meanwhile);
    tcase_add_test(tc, batches_and_order);
    tcase_add_test(tc, custom_ssl_policy);
    tcase_add_test(tc, registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
