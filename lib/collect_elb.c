#include "collect_elb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_kit.h"
#include "util.h"

/* DescribeTags takes at most this many resources (both APIs). */
#define TAG_BATCH 20

static const char *const lb_not_found[] = { "LoadBalancerNotFound", NULL };

/* ---- application/network/gateway load balancers ---- */

/* One DescribeLoadBalancerAttributes key and the attribute it fills. */
enum attr_conv { AC_STRING, AC_BOOL, AC_INT };
static const struct {
    const char *attr;
    const char *key;
    enum attr_conv conv;
} v2_attr_keys[] = {
    { "desync_mitigation_mode", "routing.http.desync_mitigation_mode", AC_STRING },
    { "drop_invalid_header_fields", "routing.http.drop_invalid_header_fields.enabled", AC_BOOL },
    { "enable_cross_zone_load_balancing", "load_balancing.cross_zone.enabled", AC_BOOL },
    { "enable_deletion_protection", "deletion_protection.enabled", AC_BOOL },
    { "enable_http2", "routing.http2.enabled", AC_BOOL },
    { "enable_waf_fail_open", "waf.fail_open.enabled", AC_BOOL },
    { "idle_timeout", "idle_timeout.timeout_seconds", AC_INT },
    { "preserve_host_header", "routing.http.preserve_host_header.enabled", AC_BOOL },
    { "xff_header_processing_mode", "routing.http.xff_header_processing.mode", AC_STRING },
};

/* Every attribute DescribeLoadBalancerAttributes fills (unknown when it
 * fails). */
static const char *const v2_attr_names[] = {
    "access_logs",
    "connection_logs",
    "desync_mitigation_mode",
    "drop_invalid_header_fields",
    "enable_cross_zone_load_balancing",
    "enable_deletion_protection",
    "enable_http2",
    "enable_waf_fail_open",
    "idle_timeout",
    "preserve_host_header",
    "xff_header_processing_mode",
    NULL,
};

static const json_t *attr_value(const json_t *attrs, const char *key)
{
    size_t i;
    json_t *a;
    json_array_foreach (attrs, i, a)
        if (str_eq(ck_str(a, "Key"), key))
            return json_object_get(a, "Value");
    return NULL;
}

static json_t *conv_value(const json_t *v, enum attr_conv conv)
{
    switch (conv) {
    case AC_BOOL: return ck_conv_bool_text(v);
    case AC_INT: return ck_conv_int_text(v);
    case AC_STRING: break;
    }
    return json_is_string(v) ? json_copy((json_t *)v) : json_null();
}

/* access_logs / connection_logs: a block when AWS has the keys at all. */
static json_t *logs_block(const json_t *attrs, const char *prefix)
{
    char key[64];
    json_t *o, *arr = json_array();
    if (!arr)
        return NULL;
    snprintf(key, sizeof(key), "%s.s3.enabled", prefix);
    if (!attr_value(attrs, key))
        return arr;
    o = json_object();
    if (!o || json_array_append_new(arr, o) < 0)
        goto fail;
    if (ck_set(o, "enabled", ck_conv_bool_text(attr_value(attrs, key))) < 0)
        goto fail;
    snprintf(key, sizeof(key), "%s.s3.bucket", prefix);
    if (ck_set(o, "bucket", conv_value(attr_value(attrs, key), AC_STRING)) < 0)
        goto fail;
    snprintf(key, sizeof(key), "%s.s3.prefix", prefix);
    if (ck_set(o, "prefix", conv_value(attr_value(attrs, key), AC_STRING)) < 0)
        goto fail;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static int merge_v2_attributes(struct resource *r, const json_t *attrs)
{
    if (ck_set(r->attrs, "access_logs", logs_block(attrs, "access_logs")) < 0 ||
        ck_set(r->attrs, "connection_logs", logs_block(attrs, "connection_logs")) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < sizeof(v2_attr_keys) / sizeof(v2_attr_keys[0]); i++)
        if (ck_set(r->attrs, v2_attr_keys[i].attr,
                   conv_value(attr_value(attrs, v2_attr_keys[i].key), v2_attr_keys[i].conv)) < 0)
            return -ENOMEM;
    return 0;
}

static json_t *conv_internal(const json_t *scheme)
{
    return json_boolean(str_eq(json_string_value(scheme), "internal"));
}

/* The ARN's resource part after "loadbalancer/" ("app/name/id"). */
static json_t *conv_arn_suffix(const json_t *arn)
{
    const char *s = json_string_value(arn);
    const char *p = s ? strstr(s, ":loadbalancer/") : NULL;
    return p ? json_string(p + strlen(":loadbalancer/")) : json_null();
}

static const struct ck_field v2_fields[] = {
    { "arn", "LoadBalancerArn" },
    { "arn_suffix", "LoadBalancerArn", CK_CONV, NULL, conv_arn_suffix },
    { "customer_owned_ipv4_pool", "CustomerOwnedIpv4Pool" },
    { "dns_name", "DNSName" },
    { "internal", "Scheme", CK_CONV, NULL, conv_internal },
    { "ip_address_type", "IpAddressType" },
    { "load_balancer_type", "Type" },
    { "name", "LoadBalancerName" },
    { "security_groups", "SecurityGroups", CK_LIST },
    { "subnets", "AvailabilityZones[].SubnetId", CK_LIST },
    { "vpc_id", "VpcId" },
    { "zone_id", "CanonicalHostedZoneId" },
    { NULL },
};

static json_t *subnet_mappings(const json_t *lb)
{
    json_t *arr = json_array();
    size_t i;
    json_t *az;
    if (!arr)
        return NULL;
    json_array_foreach (json_object_get(lb, "AvailabilityZones"), i, az) {
        const json_t *addr = json_array_get(json_object_get(az, "LoadBalancerAddresses"), 0);
        json_t *o =
            json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "allocation_id",
                      ck_str(addr, "AllocationId"), "ipv6_address", ck_str(addr, "IPv6Address"),
                      "outpost_id", ck_str(az, "OutpostId"), "private_ipv4_address",
                      ck_str(addr, "PrivateIPv4Address"), "subnet_id", ck_str(az, "SubnetId"));
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ---- listeners ---- */

static const struct ck_field fixed_response_fields[] = {
    { "content_type", "ContentType" },
    { "message_body", "MessageBody" },
    { "status_code", "StatusCode" },
    { NULL },
};
static const struct ck_field stickiness_fields[] = {
    { "duration", "DurationSeconds" },
    { "enabled", "Enabled" },
    { NULL },
};
static const struct ck_field target_group_fields[] = {
    { "arn", "TargetGroupArn" },
    { "weight", "Weight" },
    { NULL },
};
static const struct ck_field forward_fields[] = {
    { "stickiness", "TargetGroupStickinessConfig", CK_BLOCK, stickiness_fields },
    { "target_group", "TargetGroups", CK_BLOCKS, target_group_fields },
    { NULL },
};
static const struct ck_field redirect_fields[] = {
    { "host", "Host" },
    { "path", "Path" },
    { "port", "Port" },
    { "protocol", "Protocol" },
    { "query", "Query" },
    { "status_code", "StatusCode" },
    { NULL },
};
static const struct ck_field action_fields[] = {
    { "fixed_response", "FixedResponseConfig", CK_BLOCK, fixed_response_fields },
    { "forward", "ForwardConfig", CK_BLOCK, forward_fields },
    { "order", "Order" },
    { "redirect", "RedirectConfig", CK_BLOCK, redirect_fields },
    { "target_group_arn", "TargetGroupArn" },
    { "type", "Type" },
    { NULL },
};
static const struct ck_field mutual_auth_fields[] = {
    { "ignore_client_certificate_expiry", "IgnoreClientCertificateExpiry" },
    { "mode", "Mode" },
    { "trust_store_arn", "TrustStoreArn" },
    { NULL },
};
static const struct ck_field listener_fields[] = {
    { "alpn_policy", "AlpnPolicy", CK_CONV, NULL, ck_conv_first },
    { "arn", "ListenerArn" },
    { "load_balancer_arn", "LoadBalancerArn" },
    { "mutual_authentication", "MutualAuthentication", CK_BLOCK, mutual_auth_fields },
    { "port", "Port" },
    { "protocol", "Protocol" },
    { "ssl_policy", "SslPolicy" },
    { NULL },
};

static json_int_t order_of(const json_t *action)
{
    const json_t *o = json_object_get(action, "Order");
    return json_is_integer(o) ? json_integer_value(o) : 0;
}

/* default_action sorted by Order (stable), as Terraform keeps it. */
static json_t *default_actions(const json_t *listener)
{
    const json_t *actions = json_object_get(listener, "DefaultActions");
    size_t n = json_array_size(actions);
    const json_t **v = calloc(n ? n : 1, sizeof(*v));
    json_t *arr = v ? json_array() : NULL;
    if (!arr) {
        free(v);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        const json_t *a = json_array_get(actions, i);
        while (k > 0 && order_of(v[k - 1]) > order_of(a)) {
            v[k] = v[k - 1];
            k--;
        }
        v[k] = a;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = ck_object(v[i], action_fields);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
    }
    free(v);
    return arr;
}

/* The default certificate (IsDefault, or the only one listed). */
static const char *default_certificate(const json_t *listener)
{
    const json_t *certs = json_object_get(listener, "Certificates");
    size_t i;
    json_t *c;
    json_array_foreach (certs, i, c)
        if (json_is_true(json_object_get(c, "IsDefault")))
            return ck_str(c, "CertificateArn");
    return ck_str(json_array_get(certs, 0), "CertificateArn");
}

/* ---- classic load balancers ---- */

static const struct ck_field health_check_fields[] = {
    { "healthy_threshold", "HealthyThreshold" },
    { "interval", "Interval" },
    { "target", "Target" },
    { "timeout", "Timeout" },
    { "unhealthy_threshold", "UnhealthyThreshold" },
    { NULL },
};
static const struct ck_field classic_listener_fields[] = {
    { "instance_port", "Listener.InstancePort" },
    { "instance_protocol", "Listener.InstanceProtocol" },
    { "lb_port", "Listener.LoadBalancerPort" },
    { "lb_protocol", "Listener.Protocol" },
    { "ssl_certificate_id", "Listener.SSLCertificateId" },
    { NULL },
};
static const struct ck_field classic_fields[] = {
    { "availability_zones", "AvailabilityZones", CK_LIST },
    { "dns_name", "DNSName" },
    { "health_check", "HealthCheck", CK_BLOCK, health_check_fields },
    { "instances", "Instances[].InstanceId", CK_LIST },
    { "internal", "Scheme", CK_CONV, NULL, conv_internal },
    { "listener", "ListenerDescriptions", CK_BLOCKS, classic_listener_fields },
    { "name", "LoadBalancerName" },
    { "security_groups", "SecurityGroups", CK_LIST },
    { "source_security_group", "SourceSecurityGroup.GroupName" },
    { "subnets", "Subnets", CK_LIST },
    { "zone_id", "CanonicalHostedZoneNameID" },
    { NULL },
};
static const struct ck_field access_log_fields[] = {
    { "bucket", "S3BucketName" },
    { "bucket_prefix", "S3BucketPrefix" },
    { "enabled", "Enabled" },
    { "interval", "EmitInterval" },
    { NULL },
};
static const struct ck_field classic_attr_fields[] = {
    { "access_logs", "LoadBalancerAttributes.AccessLog", CK_BLOCK, access_log_fields },
    { "connection_draining", "LoadBalancerAttributes.ConnectionDraining.Enabled" },
    { "connection_draining_timeout", "LoadBalancerAttributes.ConnectionDraining.Timeout" },
    { "cross_zone_load_balancing", "LoadBalancerAttributes.CrossZoneLoadBalancing.Enabled" },
    { "idle_timeout", "LoadBalancerAttributes.ConnectionSettings.IdleTimeout" },
    { NULL },
};
static const char *const classic_attr_names[] = {
    "access_logs",
    "connection_draining",
    "connection_draining_timeout",
    "cross_zone_load_balancing",
    "desync_mitigation_mode",
    "idle_timeout",
    NULL,
};

static int merge_classic_attributes(struct resource *r, const json_t *output)
{
    const json_t *extra = ck_get(output, "LoadBalancerAttributes.AdditionalAttributes");
    if (ck_map(r->attrs, output, classic_attr_fields) < 0)
        return -ENOMEM;
    return ck_set(r->attrs, "desync_mitigation_mode",
                  conv_value(attr_value(extra, "elb.http.desyncmitigationmode"), AC_STRING));
}

/* The Reference-Security-Policy of the SSL negotiation policy among a
 * listener's policies, or NULL. */
static const char *reference_policy(const json_t *policies, const json_t *names)
{
    size_t i, k, m;
    json_t *name, *p, *a;
    json_array_foreach (names, i, name) {
        json_array_foreach (policies, k, p) {
            if (!str_eq(ck_str(p, "PolicyName"), json_string_value(name)) ||
                !str_eq(ck_str(p, "PolicyTypeName"), "SSLNegotiationPolicyType"))
                continue;
            json_array_foreach (json_object_get(p, "PolicyAttributeDescriptions"), m, a)
                if (str_eq(ck_str(a, "AttributeName"), "Reference-Security-Policy"))
                    return ck_str(a, "AttributeValue");
        }
    }
    return NULL;
}

static json_t *listener_policies(const json_t *lb, const json_t *policies)
{
    json_t *arr = json_array();
    size_t i;
    json_t *ld;
    if (!arr)
        return NULL;
    json_array_foreach (json_object_get(lb, "ListenerDescriptions"), i, ld) {
        const json_t *names = json_object_get(ld, "PolicyNames");
        json_t *o = json_object();
        const json_t *port = ck_get(ld, "Listener.LoadBalancerPort");
        if (!o || json_array_append_new(arr, o) < 0 ||
            ck_set(o, "lb_port", port ? json_deep_copy(port) : json_null()) < 0 ||
            ck_set(o, "policy_names", names ? json_deep_copy(names) : json_array()) < 0 ||
            ck_set_str(o, "reference_security_policy", reference_policy(policies, names)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Sorted distinct policy names of every listener (NULL when none). */
static json_t *policy_names(const json_t *lb)
{
    json_t *names = collect_items(lb, "ListenerDescriptions[].PolicyNames[]");
    json_t *out = json_array();
    size_t i;
    json_t *n;
    if (!names || !out)
        goto fail;
    json_array_foreach (names, i, n) {
        size_t k = 0;
        bool dup = false;
        if (!json_is_string(n))
            continue;
        while (k < json_array_size(out)) {
            int c = strcmp(json_string_value(json_array_get(out, k)), json_string_value(n));
            if (c == 0)
                dup = true;
            if (c >= 0)
                break;
            k++;
        }
        if (!dup && json_array_insert(out, k, n) < 0)
            goto fail;
    }
    json_decref(names);
    if (json_array_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
fail:
    json_decref(names);
    json_decref(out);
    return NULL;
}

/* ---- the run ---- */

struct v2_lb {
    const json_t *item; /* borrowed from the listing slot */
    struct ck_slot attrs, listeners;
};

struct classic_lb {
    const json_t *item;
    struct ck_slot attrs, policies;
    bool policies_asked;
};

/* A resource waiting for its tags. */
struct pending {
    struct resource *r;
    const char *key; /* ARN (v2) or name (classic), owned by r */
    bool classic;
};

struct tag_batch {
    struct ck_slot slot;
    bool classic;
};

struct elb_state {
    struct ck_slot v2_list, classic_list;
    struct v2_lb *v2;
    size_t n_v2;
    struct classic_lb *classic;
    size_t n_classic;
    struct pending *res;
    size_t n_res, cap_res;
    struct tag_batch *tags;
    size_t n_tags;
    int phase;
    /* Listener type status: the first failure of any DescribeListeners. */
    bool listeners_failed;
    enum collect_status listeners_status;
    char *listeners_detail;
    bool v2_mapping_error, classic_mapping_error, listener_mapping_error, oom;
};

static void elb_state_free(struct elb_state *s)
{
    for (size_t i = 0; i < s->n_v2; i++) {
        ck_slot_clear(&s->v2[i].attrs);
        ck_slot_clear(&s->v2[i].listeners);
    }
    for (size_t i = 0; i < s->n_classic; i++) {
        ck_slot_clear(&s->classic[i].attrs);
        ck_slot_clear(&s->classic[i].policies);
    }
    for (size_t i = 0; i < s->n_res; i++)
        resource_free(s->res[i].r);
    for (size_t i = 0; i < s->n_tags; i++)
        ck_slot_clear(&s->tags[i].slot);
    free(s->v2);
    free(s->classic);
    free(s->res);
    free(s->tags);
    free(s->listeners_detail);
    ck_slot_clear(&s->v2_list);
    ck_slot_clear(&s->classic_list);
    free(s);
}

static int keep(struct elb_state *s, struct resource *r, bool classic)
{
    if (s->n_res == s->cap_res) {
        size_t cap = s->cap_res ? s->cap_res * 2 : 16;
        struct pending *n = realloc(s->res, cap * sizeof(*n));
        if (!n) {
            resource_free(r);
            return -ENOMEM;
        }
        s->res = n;
        s->cap_res = cap;
    }
    s->res[s->n_res++] = (struct pending){ r, classic ? r->id : r->arn, classic };
    return 0;
}

/* all_pages only for the listings that have a paginator. */
static int queue(struct ck *ck, const char *service, const char *op, json_t *params,
                 const char *items, const char *const *absent, struct ck_slot *slot)
{
    struct ck_request req = { .service = service,
                              .operation = op,
                              .params = params,
                              .items = items,
                              .all_pages = str_eq(op, "DescribeLoadBalancers") ||
                                           str_eq(op, "DescribeListeners"),
                              .absent_codes = absent };
    if (!params)
        return -ENOMEM;
    return ck_call_slot(ck, &req, slot);
}

/* Phase 1: per load balancer calls. */
static int queue_per_lb(struct ck *ck, struct elb_state *s)
{
    size_t i;
    json_t *lb;
    if (ck_slot_ok(&s->v2_list)) {
        s->v2 = calloc(json_array_size(s->v2_list.items) + 1, sizeof(*s->v2));
        if (!s->v2)
            return -ENOMEM;
        json_array_foreach (s->v2_list.items, i, lb) {
            const char *arn = ck_str(lb, "LoadBalancerArn");
            struct v2_lb *v = &s->v2[s->n_v2];
            if (!arn) {
                s->v2_mapping_error = true;
                continue;
            }
            v->item = lb;
            s->n_v2++;
            if (queue(ck, NULL, "DescribeLoadBalancerAttributes",
                      json_pack("{s:s}", "LoadBalancerArn", arn), "Attributes[]", lb_not_found,
                      &v->attrs) < 0 ||
                queue(ck, NULL, "DescribeListeners",
                      json_pack("{s:s, s:i}", "LoadBalancerArn", arn, "PageSize", 400),
                      "Listeners[]", lb_not_found, &v->listeners) < 0)
                return -ENOMEM;
        }
    }
    if (ck_slot_ok(&s->classic_list)) {
        s->classic = calloc(json_array_size(s->classic_list.items) + 1, sizeof(*s->classic));
        if (!s->classic)
            return -ENOMEM;
        json_array_foreach (s->classic_list.items, i, lb) {
            const char *name = ck_str(lb, "LoadBalancerName");
            struct classic_lb *c = &s->classic[s->n_classic];
            json_t *names;
            if (!name) {
                s->classic_mapping_error = true;
                continue;
            }
            c->item = lb;
            s->n_classic++;
            if (queue(ck, "elb", "DescribeLoadBalancerAttributes",
                      json_pack("{s:s}", "LoadBalancerName", name), NULL, lb_not_found,
                      &c->attrs) < 0)
                return -ENOMEM;
            names = policy_names(lb);
            if (names) {
                c->policies_asked = true;
                if (queue(ck, "elb", "DescribeLoadBalancerPolicies",
                          json_pack("{s:s, s:o}", "LoadBalancerName", name, "PolicyNames", names),
                          "PolicyDescriptions[]", lb_not_found, &c->policies) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

static void listener_failure(struct elb_state *s, const struct ck_slot *slot)
{
    if (s->listeners_failed)
        return;
    s->listeners_failed = true;
    s->listeners_status = slot->status;
    s->listeners_detail = slot->detail ? strdup(slot->detail) : NULL;
}

static int build_listener(struct collect_run *run, struct elb_state *s, const json_t *item)
{
    const char *arn = ck_str(item, "ListenerArn");
    struct resource *r = NULL;
    if (!arn) {
        s->listener_mapping_error = true;
        return 0;
    }
    if (ck_resource(run, "aws_lb_listener", "AWS::ElasticLoadBalancingV2::Listener", arn, arn,
                    false, &r) < 0)
        return -ENOMEM;
    if (ck_map(r->attrs, item, listener_fields) < 0 ||
        ck_set_str(r->attrs, "certificate_arn", default_certificate(item)) < 0 ||
        ck_set(r->attrs, "default_action", default_actions(item)) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    return keep(s, r, false);
}

static int build_v2(struct collect_run *run, struct elb_state *s, struct v2_lb *v)
{
    const char *arn = ck_str(v->item, "LoadBalancerArn");
    struct resource *r = NULL;
    size_t i;
    json_t *l;
    /* Deleted while we looked: gone. */
    if (v->attrs.absent)
        return 0;
    if (ck_resource(run, "aws_lb", "AWS::ElasticLoadBalancingV2::LoadBalancer", arn, arn, false,
                    &r) < 0)
        return -ENOMEM;
    if (ck_map(r->attrs, v->item, v2_fields) < 0 ||
        ck_set(r->attrs, "subnet_mapping", subnet_mappings(v->item)) < 0)
        goto oom;
    if (ck_slot_ok(&v->attrs)) {
        if (merge_v2_attributes(r, v->attrs.items) < 0)
            goto oom;
    } else if (ck_unknown(r, v2_attr_names, v->attrs.status, v->attrs.detail) < 0) {
        goto oom;
    }
    if (keep(s, r, false) < 0)
        return -ENOMEM;
    if (!ck_slot_ok(&v->listeners)) {
        listener_failure(s, &v->listeners);
        return 0;
    }
    json_array_foreach (v->listeners.items, i, l)
        if (build_listener(run, s, l) < 0)
            return -ENOMEM;
    return 0;
oom:
    resource_free(r);
    return -ENOMEM;
}

static int build_classic(struct collect_run *run, struct elb_state *s, struct classic_lb *c)
{
    const struct collect_options *o = collect_options(run);
    const char *name = ck_str(c->item, "LoadBalancerName");
    struct resource *r = NULL;
    char *arn;
    int e;
    if (c->attrs.absent)
        return 0;
    arn = str_printf("arn:%s:elasticloadbalancing:%s:%s:loadbalancer/%s", o->partition, o->region,
                     o->account, name);
    if (!arn)
        return -ENOMEM;
    e = ck_resource(run, "aws_elb", "AWS::ElasticLoadBalancing::LoadBalancer", name, arn, true, &r);
    free(arn);
    if (e < 0)
        return e;
    if (ck_map(r->attrs, c->item, classic_fields) < 0)
        goto oom;
    if (ck_slot_ok(&c->attrs)) {
        if (merge_classic_attributes(r, c->attrs.output) < 0)
            goto oom;
    } else if (ck_unknown(r, classic_attr_names, c->attrs.status, c->attrs.detail) < 0) {
        goto oom;
    }
    if (!c->policies_asked || ck_slot_ok(&c->policies)) {
        if (ck_set(r->attrs, "listener_policies",
                   listener_policies(c->item, c->policies_asked ? c->policies.items : NULL)) < 0)
            goto oom;
    } else if (ck_unknown1(r, "listener_policies", c->policies.status, c->policies.detail) < 0) {
        goto oom;
    }
    return keep(s, r, true);
oom:
    resource_free(r);
    return -ENOMEM;
}

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    if (x->classic != y->classic)
        return x->classic ? 1 : -1;
    return strcmp(x->key, y->key);
}

/* Phase 2: tags, 20 resources a call, in sorted order. */
static int queue_tags(struct ck *ck, struct elb_state *s)
{
    size_t i = 0;
    if (s->n_res > 1)
        qsort(s->res, s->n_res, sizeof(*s->res), cmp_pending);
    s->tags = calloc(s->n_res / TAG_BATCH + 2, sizeof(*s->tags));
    if (!s->tags)
        return -ENOMEM;
    while (i < s->n_res) {
        bool classic = s->res[i].classic;
        json_t *keys = json_array();
        struct tag_batch *b = &s->tags[s->n_tags++];
        b->classic = classic;
        while (keys && i < s->n_res && s->res[i].classic == classic &&
               json_array_size(keys) < TAG_BATCH)
            if (json_array_append_new(keys, json_string(s->res[i++].key)) < 0) {
                json_decref(keys);
                keys = NULL;
            }
        if (!keys)
            return -ENOMEM;
        if (queue(ck, classic ? "elb" : NULL, "DescribeTags",
                  json_pack("{s:o}", classic ? "LoadBalancerNames" : "ResourceArns", keys),
                  "TagDescriptions[]", NULL, &b->slot) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int apply_tags(struct elb_state *s)
{
    size_t batch = 0, in_batch = 0;
    for (size_t i = 0; i < s->n_res; i++) {
        struct pending *p = &s->res[i];
        struct tag_batch *b;
        if (in_batch == TAG_BATCH || (i > 0 && s->res[i - 1].classic != p->classic)) {
            batch++;
            in_batch = 0;
        }
        in_batch++;
        b = &s->tags[batch];
        if (!ck_slot_ok(&b->slot)) {
            if (ck_unknown1(p->r, "tags", b->slot.status, b->slot.detail) < 0)
                return -ENOMEM;
            continue;
        }
        {
            size_t k;
            json_t *d;
            json_array_foreach (b->slot.items, k, d) {
                const char *key = ck_str(d, p->classic ? "LoadBalancerName" : "ResourceArn");
                json_t *tags;
                if (!str_eq(key, p->key))
                    continue;
                tags = collect_tags_from_list(json_object_get(d, "Tags"));
                if (!tags)
                    return -ENOMEM;
                json_decref(p->r->tags);
                p->r->tags = tags;
            }
        }
    }
    return 0;
}

static void set_scopes(struct collect_run *run, struct elb_state *s)
{
    const struct ck_slot *v2 = &s->v2_list, *cl = &s->classic_list;
    if (s->oom) {
        collect_scope_status(run, "aws_lb", COLLECT_ERROR, "out of memory");
        collect_scope_status(run, "aws_lb_listener", COLLECT_ERROR, "out of memory");
        collect_scope_status(run, "aws_elb", COLLECT_ERROR, "out of memory");
        return;
    }
    if (!ck_slot_ok(v2)) {
        collect_scope_status(run, "aws_lb", v2->status, v2->detail);
        collect_scope_status(run, "aws_lb_listener", v2->status, v2->detail);
    } else {
        if (s->v2_mapping_error) {
            collect_scope_status(run, "aws_lb", COLLECT_ERROR, "an item could not be mapped");
            collect_scope_status(run, "aws_lb_listener", COLLECT_ERROR,
                                 "a load balancer could not be mapped");
        }
        if (s->listeners_failed)
            collect_scope_status(run, "aws_lb_listener", s->listeners_status, s->listeners_detail);
        if (s->listener_mapping_error)
            collect_scope_status(run, "aws_lb_listener", COLLECT_ERROR,
                                 "an item could not be mapped");
        collect_scope_status(run, "aws_lb", COLLECT_OK, NULL);
        collect_scope_status(run, "aws_lb_listener", COLLECT_OK, NULL);
    }
    if (!ck_slot_ok(cl)) {
        collect_scope_status(run, "aws_elb", cl->status, cl->detail);
    } else {
        if (s->classic_mapping_error)
            collect_scope_status(run, "aws_elb", COLLECT_ERROR, "an item could not be mapped");
        collect_scope_status(run, "aws_elb", COLLECT_OK, NULL);
    }
}

static bool elb_idle(struct ck *ck, void *ud)
{
    struct elb_state *s = ud;
    struct collect_run *run = ck_collect_run(ck);
    switch (s->phase++) {
    case 0:
        if (queue_per_lb(ck, s) < 0)
            s->oom = true;
        return true;
    case 1:
        for (size_t i = 0; !s->oom && i < s->n_v2; i++)
            if (build_v2(run, s, &s->v2[i]) < 0)
                s->oom = true;
        for (size_t i = 0; !s->oom && i < s->n_classic; i++)
            if (build_classic(run, s, &s->classic[i]) < 0)
                s->oom = true;
        if (!s->oom && queue_tags(ck, s) < 0)
            s->oom = true;
        return true;
    default: break;
    }
    if (!s->oom && apply_tags(s) < 0)
        s->oom = true;
    for (size_t i = 0; i < s->n_res; i++) {
        if (!s->oom && collect_add(run, s->res[i].r) == 0)
            s->res[i].r = NULL;
        else
            s->oom = true;
    }
    set_scopes(run, s);
    elb_state_free(s);
    return false;
}

static int elb_custom(struct collect_run *run)
{
    struct elb_state *s = calloc(1, sizeof(*s));
    struct ck *ck = NULL;
    if (!s || ck_new(run, &ck) < 0) {
        free(s);
        return -ENOMEM;
    }
    if (queue(ck, NULL, "DescribeLoadBalancers", json_pack("{s:i}", "PageSize", 400),
              "LoadBalancers[]", NULL, &s->v2_list) < 0 ||
        queue(ck, "elb", "DescribeLoadBalancers", json_pack("{s:i}", "PageSize", 400),
              "LoadBalancerDescriptions[]", NULL, &s->classic_list) < 0) {
        ck_free(ck);
        elb_state_free(s);
        return -ENOMEM;
    }
    ck_run(ck, elb_idle, s);
    return 0;
}

static const char *const elb_types[] = { "aws_lb", "aws_lb_listener", "aws_elb", NULL };

static const char *const elb_iam_actions[] = {
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancerPolicies",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    NULL,
};

const struct collector_def collect_elb = {
    .name = "elb",
    .service = "elbv2",
    .extra_types = elb_types,
    .custom = elb_custom,
    .iam_actions = elb_iam_actions,
};
