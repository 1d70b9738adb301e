#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_ec2.h"
#include "collect_kit.h"
#include "netfake.h"

/* Every operation the collector calls (for the type table check). */
static const char *const ec2_ops[] = {
    "DescribeInstances",
    "DescribeVolumes",
    "DescribeInstanceCreditSpecifications",
    "DescribeSecurityGroups",
    "DescribeSecurityGroupRules",
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeNetworkAcls",
    "DescribeRouteTables",
    "DescribeFlowLogs",
    "DescribeLaunchTemplates",
    "DescribeLaunchTemplateVersions",
    "GetEbsEncryptionByDefault",
    "GetEbsDefaultKmsKeyId",
    "GetInstanceMetadataDefaults",
    NULL,
};

static const char *const ec2_types[] = {
    "aws_instance",
    "aws_ebs_volume",
    "aws_security_group",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_vpc",
    "aws_subnet",
    "aws_network_acl",
    "aws_flow_log",
    "aws_launch_template",
    "aws_ebs_encryption_by_default",
    "aws_ebs_default_kms_key",
    "aws_ec2_instance_metadata_defaults",
    NULL,
};

static void run_ec2(struct fake *f, const struct fake_override *overrides, struct fake_run *o)
{
    fake_init(f, overrides);
    fake_load(f, "ec2");
    fake_collect(f, &collect_ec2, o);
}

static void done(struct fake *f, struct fake_run *o)
{
    fake_run_free(o);
    fake_close(f);
}

/* The recorded item of a listing whose member equals value. */
static const json_t *recorded(struct fake *f, const char *op, const char *items, const char *member,
                              const char *value)
{
    json_t *all = json_array();
    const json_t *found = NULL;
    for (size_t page = 0;; page++) {
        json_t *index = json_object_get(f->services, "ec2"), *entry;
        size_t i;
        const json_t *out = NULL;
        json_array_foreach (index, i, entry)
            if (str_eq(json_string_value(json_object_get(entry, "op")), op))
                out = json_array_get(json_object_get(entry, "pages"), page);
        if (!out)
            break;
        json_t *got = collect_items(out, items);
        json_array_extend(all, got);
        json_decref(got);
    }
    {
        size_t i;
        json_t *e;
        json_array_foreach (all, i, e)
            if (str_eq(json_string_value(json_object_get(e, member)), value))
                found = e;
    }
    json_decref(all);
    ck_assert_msg(found != NULL, "no recorded %s item with %s=%s", op, member, value);
    return found;
}

START_TEST(full_estate)
{
    struct fake f;
    struct fake_run o;
    const struct resource *web, *legacy, *r, *sg_web, *sg_db, *vpc;
    run_ec2(&f, NULL, &o);

    /* One call per listing, with the largest pages, nothing per item. */
    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq((int)json_array_size(f.log), 15);
    ck_assert_int_eq(fake_calls(&f, "DescribeInstances", "{\"MaxResults\":1000}"), 1);
    ck_assert_int_eq(fake_calls(&f, "DescribeVolumes", "{\"MaxResults\":500}"), 1);
    ck_assert_int_eq(fake_calls(&f, "DescribeSecurityGroupRules", "{\"MaxResults\":1000}"), 1);
    ck_assert_int_eq(fake_calls(&f, "DescribeLaunchTemplateVersions",
                                "{\"Versions\":[\"$Latest\",\"$Default\"],\"MaxResults\":200}"),
                     1);
    ck_assert_int_eq(fake_calls(&f, "DescribeInstanceCreditSpecifications", NULL), 1);
    ck_assert_int_eq(fake_calls(&f, "DescribeRouteTables",
                                "{\"Filters\":[{\"Name\":\"association.main\",\"Values\":"
                                "[\"true\"]}],\"MaxResults\":100}"),
                     1);
    for (size_t i = 0; ec2_types[i]; i++) {
        const struct snapshot_scope *s = fake_scope(o.res, ec2_types[i]);
        ck_assert_msg(s->status == COLLECT_OK, "%s: %s", ec2_types[i], s->detail);
        ck_assert_str_eq(s->region, "eu-central-1");
    }
    ck_assert_int_eq((int)o.res->n_scopes, 13);

    /* Instances: a burstable one with an extra volume, and a plain one. */
    ck_assert_int_eq(fake_count(o.res, "aws_instance"), 2);
    web = fake_by_tag(o.res, "aws_instance", "Name", "plumb-web-1");
    ck_assert_str_eq(web->aws_type, "AWS::EC2::Instance");
    ck_assert_str_eq(fake_str(web, "instance_type"), "t3.micro");
    ck_assert_str_eq(fake_str(web, "instance_state"), "running");
    ck_assert_str_eq(fake_str(web, "metadata_options[0].http_tokens"), "required");
    ck_assert_str_eq(fake_str(web, "metadata_options[0].http_endpoint"), "enabled");
    ck_assert_int_eq(fake_int(web, "metadata_options[0].http_put_response_hop_limit"), 2);
    fake_attr_eq(web, "credit_specification", "[{\"cpu_credits\":\"standard\"}]");
    ck_assert(fake_bool(web, "associate_public_ip_address"));
    ck_assert(!fake_bool(web, "monitoring"));
    ck_assert_str_eq(
        fake_str(web, "public_ip"),
        json_string_value(json_object_get(
            recorded(&f, "DescribeInstances", "Reservations[].Instances[]", "InstanceId", web->id),
            "PublicIpAddress")));
    fake_attr_eq(web, "security_groups", "[\"plumb-web\"]");
    ck_assert_str_eq(fake_str(web, "availability_zone"), "eu-central-1a");
    fake_attr_eq(web, "root_block_device", "[]");
    ck_assert_int_eq((int)json_array_size(fake_attr(web, "ebs_block_device")), 1);
    ck_assert_str_eq(fake_str(web, "ebs_block_device[0].device_name"), "/dev/sdf");
    ck_assert(fake_bool(web, "ebs_block_device[0].encrypted"));
    ck_assert(!fake_bool(web, "ebs_block_device[0].delete_on_termination"));
    ck_assert_int_eq(fake_int(web, "ebs_block_device[0].volume_size"), 20);
    ck_assert_str_eq(fake_str(web, "ebs_block_device[0].volume_type"), "gp3");
    fake_attr_eq(web, "launch_template", "[]");
    ck_assert_str_eq(fake_str(web, "primary_network_interface_id"),
                     fake_str(web, "network_interface[0].network_interface_id"));
    fake_attr_eq(web, "secondary_private_ips", "[]");
    ck_assert(fake_null(web, "iam_instance_profile"));
    ck_assert_str_eq(fake_tag(web, "env"), "prod");
    {
        char *arn = str_printf("arn:aws:ec2:eu-central-1:123456789012:instance/%s", web->id);
        ck_assert_str_eq(web->arn, arn);
        ck_assert_str_eq(fake_str(web, "arn"), arn);
        free(arn);
    }
    legacy = fake_by_tag(o.res, "aws_instance", "Name", "plumb-legacy");
    fake_attr_eq(legacy, "credit_specification", "[]");
    ck_assert_str_eq(fake_str(legacy, "metadata_options[0].http_tokens"), "optional");
    ck_assert_str_eq(fake_str(legacy, "root_block_device[0].device_name"), "/dev/sda1");
    ck_assert(fake_bool(legacy, "root_block_device[0].delete_on_termination"));
    fake_attr_eq(legacy, "ebs_block_device", "[]");
    /* The credit call asked about the burstable instance only. */
    {
        char *params = str_printf("{\"InstanceIds\":[\"%s\"]}", web->id);
        ck_assert_int_eq(fake_calls(&f, "DescribeInstanceCreditSpecifications", params), 1);
        free(params);
    }

    /* Volumes, the unattached one included. */
    r = fake_by_tag(o.res, "aws_ebs_volume", "Name", "plumb-spare");
    ck_assert(!fake_bool(r, "encrypted"));
    ck_assert_int_eq(fake_int(r, "size"), 8);
    ck_assert_str_eq(fake_str(r, "type"), "gp2");
    ck_assert_str_eq(fake_str(r, "state"), "available");
    ck_assert(str_has_prefix(fake_str(r, "create_time"), "2024-03-04T09:00:"));
    fake_attr_eq(r, "attachments", "[]");
    r = fake_get(o.res, "aws_ebs_volume", fake_str(web, "ebs_block_device[0].volume_id"));
    ck_assert_str_eq(fake_str(r, "attachments[0].instance_id"), web->id);
    ck_assert_str_eq(fake_str(r, "attachments[0].device"), "/dev/sdf");

    /* Security groups, flattened as Terraform stores them. */
    sg_web = fake_by_attr(o.res, "aws_security_group", "name", "plumb-web");
    sg_db = fake_by_attr(o.res, "aws_security_group", "name", "plumb-db");
    ck_assert_str_eq(fake_str(sg_web, "description"), "web tier");
    ck_assert_str_eq(fake_tag(sg_web, "Name"), "plumb-web");
    fake_attr_eq(sg_web, "ingress",
                 "[{\"cidr_blocks\":[\"0.0.0.0/0\"],\"description\":\"https\",\"from_port\":443,"
                 "\"ipv6_cidr_blocks\":[\"::/0\"],\"prefix_list_ids\":[],\"protocol\":\"tcp\","
                 "\"security_groups\":[],\"self\":false,\"to_port\":443},"
                 "{\"cidr_blocks\":[\"10.0.0.0/8\"],\"description\":\"\",\"from_port\":22,"
                 "\"ipv6_cidr_blocks\":[],\"prefix_list_ids\":[],\"protocol\":\"tcp\","
                 "\"security_groups\":[],\"self\":false,\"to_port\":22},"
                 "{\"cidr_blocks\":[\"192.168.0.0/16\"],\"description\":\"office\","
                 "\"from_port\":22,\"ipv6_cidr_blocks\":[],\"prefix_list_ids\":[],"
                 "\"protocol\":\"tcp\",\"security_groups\":[],\"self\":false,\"to_port\":22}]");
    fake_attr_eq(sg_web, "egress",
                 "[{\"cidr_blocks\":[\"0.0.0.0/0\"],\"description\":\"\",\"from_port\":0,"
                 "\"ipv6_cidr_blocks\":[\"::/0\"],\"prefix_list_ids\":[],\"protocol\":\"-1\","
                 "\"security_groups\":[],\"self\":false,\"to_port\":0}]");
    ck_assert_str_eq(fake_str(sg_db, "ingress[0].description"), "from web");
    ck_assert_str_eq(fake_str(sg_db, "ingress[0].security_groups[0]"), sg_web->id);
    ck_assert(fake_bool(sg_db, "ingress[1].self"));
    ck_assert_str_eq(fake_str(sg_db, "ingress[1].protocol"), "-1");
    ck_assert_str_eq(sg_web->arn, fake_str(sg_web, "arn"));

    /* Rules: one resource per AWS rule, split by direction. */
    {
        const json_t *out = fake_page(&f, "ec2", "DescribeSecurityGroupRules", 0, 0);
        size_t i, n_in = 0, n_out = 0;
        json_t *rule;
        json_array_foreach (json_object_get(out, "SecurityGroupRules"), i, rule) {
            if (json_is_true(json_object_get(rule, "IsEgress")))
                n_out++;
            else
                n_in++;
        }
        ck_assert_int_eq(fake_count(o.res, "aws_vpc_security_group_ingress_rule"), (int)n_in);
        ck_assert_int_eq(fake_count(o.res, "aws_vpc_security_group_egress_rule"), (int)n_out);
    }
    r = fake_by_attr(o.res, "aws_vpc_security_group_ingress_rule", "description", "office");
    ck_assert_str_eq(fake_str(r, "cidr_ipv4"), "192.168.0.0/16");
    ck_assert_int_eq(fake_int(r, "from_port"), 22);
    ck_assert_int_eq(fake_int(r, "to_port"), 22);
    ck_assert_str_eq(fake_str(r, "ip_protocol"), "tcp");
    ck_assert_str_eq(fake_str(r, "security_group_id"), sg_web->id);
    ck_assert_str_eq(fake_str(r, "security_group_rule_id"), r->id);
    ck_assert(fake_null(r, "cidr_ipv6"));
    /* (moto drops the description of group-pair rules in this listing) */
    r = fake_by_attr(o.res, "aws_vpc_security_group_ingress_rule", "referenced_security_group_id",
                     sg_web->id);
    ck_assert_str_eq(fake_str(r, "security_group_id"), sg_db->id);
    ck_assert_int_eq(fake_int(r, "from_port"), 5432);
    r = fake_by_attr(o.res, "aws_vpc_security_group_egress_rule", "cidr_ipv4", "0.0.0.0/0");
    ck_assert_str_eq(fake_str(r, "ip_protocol"), "-1");
    /* AWS says -1 for the ports of an all-protocols rule; Terraform: null. */
    ck_assert(fake_null(r, "from_port"));
    ck_assert(fake_null(r, "to_port"));

    /* VPCs joined with their default group and ACL. */
    vpc = fake_by_tag(o.res, "aws_vpc", "Name", "plumb-net");
    ck_assert_str_eq(fake_str(vpc, "cidr_block"), "10.20.0.0/16");
    ck_assert(!fake_bool(vpc, "default"));
    ck_assert(fake_bool(vpc, "assign_generated_ipv6_cidr_block"));
    ck_assert_str_eq(
        fake_str(vpc, "ipv6_cidr_block"),
        json_string_value(json_object_get(
            json_array_get(json_object_get(recorded(&f, "DescribeVpcs", "Vpcs[]", "VpcId", vpc->id),
                                           "Ipv6CidrBlockAssociationSet"),
                           0),
            "Ipv6CidrBlock")));
    ck_assert_str_eq(fake_str(vpc, "instance_tenancy"), "default");
    r = fake_get(o.res, "aws_security_group", fake_str(vpc, "default_security_group_id"));
    ck_assert_str_eq(fake_str(r, "name"), "default");
    ck_assert_str_eq(fake_str(r, "vpc_id"), vpc->id);
    r = fake_get(o.res, "aws_network_acl", fake_str(vpc, "default_network_acl_id"));
    ck_assert(fake_bool(r, "default"));
    ck_assert_str_eq(fake_str(r, "vpc_id"), vpc->id);
    /* Not collected (one call per VPC and attribute): absent, not null. */
    ck_assert_ptr_null(fake_attr(vpc, "enable_dns_hostnames"));
    ck_assert_ptr_null(fake_attr(vpc, "enable_dns_support"));
    {
        const json_t *tables =
            json_object_get(fake_page(&f, "ec2", "DescribeRouteTables", 0, 0), "RouteTables");
        size_t i;
        json_t *t;
        const char *want = NULL;
        json_array_foreach (tables, i, t)
            if (str_eq(ck_str(t, "VpcId"), vpc->id))
                want = ck_str(t, "RouteTableId");
        ck_assert_ptr_nonnull(want);
        ck_assert_str_eq(fake_str(vpc, "main_route_table_id"), want);
        ck_assert_str_eq(fake_str(vpc, "default_route_table_id"), want);
    }
    ck_assert_int_eq(fake_count(o.res, "aws_vpc"), 2);
    ck_assert(fake_bool(fake_by_attr(o.res, "aws_vpc", "cidr_block", "172.31.0.0/16"), "default"));

    /* Subnets. */
    r = fake_by_tag(o.res, "aws_subnet", "Name", "plumb-a");
    ck_assert(fake_bool(r, "map_public_ip_on_launch"));
    ck_assert_str_eq(fake_str(r, "vpc_id"), vpc->id);
    ck_assert_str_eq(fake_str(r, "cidr_block"), "10.20.1.0/24");
    ck_assert(!fake_bool(r, "default_for_az"));
    ck_assert(fake_null(r, "ipv6_cidr_block"));
    {
        const json_t *out = fake_page(&f, "ec2", "DescribeSubnets", 0, 0);
        ck_assert_int_eq(fake_count(o.res, "aws_subnet"),
                         (int)json_array_size(json_object_get(out, "Subnets")));
    }

    /* Network ACLs without the implicit deny. */
    r = fake_by_tag(o.res, "aws_network_acl", "Name", "plumb-acl");
    fake_attr_eq(r, "ingress",
                 "[{\"action\":\"allow\",\"cidr_block\":\"0.0.0.0/0\",\"from_port\":443,"
                 "\"icmp_code\":0,\"icmp_type\":0,\"ipv6_cidr_block\":\"\",\"protocol\":\"6\","
                 "\"rule_no\":100,\"to_port\":443},"
                 "{\"action\":\"deny\",\"cidr_block\":\"10.9.0.0/16\",\"from_port\":0,"
                 "\"icmp_code\":0,\"icmp_type\":0,\"ipv6_cidr_block\":\"\",\"protocol\":\"1\","
                 "\"rule_no\":200,\"to_port\":0}]");
    fake_attr_eq(r, "egress",
                 "[{\"action\":\"allow\",\"cidr_block\":\"\",\"from_port\":0,\"icmp_code\":0,"
                 "\"icmp_type\":0,\"ipv6_cidr_block\":\"::/0\",\"protocol\":\"-1\","
                 "\"rule_no\":100,\"to_port\":0}]");
    fake_attr_eq(r, "subnet_ids", "[]");
    r = fake_get(o.res, "aws_network_acl", fake_str(vpc, "default_network_acl_id"));
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "ingress")), 1);
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "subnet_ids")), 2);

    /* Flow logs: the logged resource goes to the attribute of its kind. */
    r = fake_by_tag(o.res, "aws_flow_log", "team", "net");
    ck_assert_str_eq(fake_str(r, "vpc_id"), vpc->id);
    ck_assert(fake_null(r, "subnet_id"));
    ck_assert(fake_null(r, "eni_id"));
    ck_assert_str_eq(fake_str(r, "traffic_type"), "ALL");
    ck_assert_str_eq(fake_str(r, "flow_log_status"), "ACTIVE");
    ck_assert_str_eq(fake_str(r, "log_group_name"), "plumb-flow");
    ck_assert_str_eq(fake_str(r, "iam_role_arn"), "arn:aws:iam::123456789012:role/plumb-flow");
    r = fake_by_attr(o.res, "aws_flow_log", "log_destination", "arn:aws:s3:::plumb-flow-logs");
    ck_assert(fake_null(r, "vpc_id"));
    ck_assert_str_eq(fake_str(r, "traffic_type"), "REJECT");
    ck_assert_int_eq(fake_int(r, "max_aggregation_interval"), 60);
    ck_assert(str_has_prefix(fake_str(r, "subnet_id"), "subnet-"));

    /* Region-wide settings: one document per region, id = region. */
    r = fake_get(o.res, "aws_ebs_encryption_by_default", "eu-central-1");
    ck_assert(fake_bool(r, "enabled"));
    ck_assert_ptr_null(r->arn);
    r = fake_get(o.res, "aws_ebs_default_kms_key", "eu-central-1");
    ck_assert_str_eq(fake_str(r, "key_arn"),
                     json_string_value(json_object_get(
                         fake_page(&f, "ec2", "GetEbsDefaultKmsKeyId", 0, 0), "KmsKeyId")));
    r = fake_get(o.res, "aws_ec2_instance_metadata_defaults", "eu-central-1");
    ck_assert_str_eq(fake_str(r, "http_tokens"), "required");
    ck_assert_int_eq(fake_int(r, "http_put_response_hop_limit"), 2);

    /* Launch templates: version attributes from $Latest, the baseline's
     * metadata options from $Default. */
    r = fake_by_attr(o.res, "aws_launch_template", "name", "plumb-lt");
    ck_assert_int_eq(fake_int(r, "latest_version"), 2);
    ck_assert_int_eq(fake_int(r, "default_version"), 1);
    ck_assert_str_eq(fake_str(r, "description"), "second");
    ck_assert_str_eq(fake_str(r, "instance_type"), "t3.medium");
    ck_assert_str_eq(fake_str(r, "ebs_optimized"), "true");
    ck_assert_str_eq(fake_str(r, "metadata_options[0].http_tokens"), "required");
    fake_attr_eq(r, "default_version_metadata_options",
                 "[{\"http_endpoint\":\"enabled\",\"http_tokens\":\"optional\"}]");
    fake_attr_eq(r, "block_device_mappings",
                 "[{\"device_name\":\"/dev/xvda\",\"ebs\":[{\"delete_on_termination\":\"\","
                 "\"encrypted\":\"true\",\"iops\":null,\"kms_key_id\":null,\"snapshot_id\":null,"
                 "\"throughput\":null,\"volume_size\":30,\"volume_type\":\"gp3\"}],"
                 "\"no_device\":null,\"virtual_name\":null}]");
    fake_attr_eq(r, "monitoring", "[{\"enabled\":true}]");
    fake_attr_eq(r, "vpc_security_group_ids", "[]");
    ck_assert_str_eq(fake_tag(r, "team"), "net");

    fake_check_typemap(o.res, "collect_ec2", ec2_ops);
    done(&f, &o);
}
END_TEST

START_TEST(denied_and_throttled)
{
    static const struct fake_override failures[] = {
        { .op = "DescribeVolumes",
          .error_code = "UnauthorizedOperation",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "ec2:DescribeVolumes" },
        { .op = "DescribeSecurityGroups",
          .error_code = "RequestLimitExceeded",
          .kind = AWS_ERR_THROTTLED },
        { .op = "DescribeLaunchTemplateVersions",
          .error_code = "UnauthorizedOperation",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "ec2:DescribeLaunchTemplateVersions" },
        { .op = "DescribeInstanceCreditSpecifications",
          .error_code = "RequestLimitExceeded",
          .kind = AWS_ERR_THROTTLED },
        { .op = "GetInstanceMetadataDefaults",
          .error_code = "UnsupportedOperation",
          .kind = AWS_ERR_CLIENT },
        { .op = "DescribeRouteTables",
          .error_code = "UnauthorizedOperation",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "ec2:DescribeRouteTables" },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct resource *web, *legacy, *vpc, *lt;
    const struct snapshot_scope *s;
    run_ec2(&f, failures, &o);

    s = fake_scope(o.res, "aws_ebs_volume");
    ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(s->detail, "ec2:DescribeVolumes");
    ck_assert_int_eq(fake_count(o.res, "aws_ebs_volume"), 0);
    s = fake_scope(o.res, "aws_security_group");
    ck_assert_int_eq(s->status, COLLECT_THROTTLED);
    ck_assert_str_eq(s->detail, "RequestLimitExceeded: injected");
    s = fake_scope(o.res, "aws_ec2_instance_metadata_defaults");
    ck_assert_int_eq(s->status, COLLECT_ERROR);
    ck_assert_str_eq(s->detail, "UnsupportedOperation: injected");
    ck_assert_int_eq(fake_count(o.res, "aws_ec2_instance_metadata_defaults"), 0);
    /* The other types read fine. */
    ck_assert_int_eq(fake_scope(o.res, "aws_instance")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_vpc")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_launch_template")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_vpc_security_group_ingress_rule")->status, COLLECT_OK);

    /* Instances keep what they have; the joined parts are unknown. */
    web = fake_by_tag(o.res, "aws_instance", "Name", "plumb-web-1");
    ck_assert_ptr_null(fake_attr(web, "root_block_device"));
    ck_assert_ptr_null(fake_attr(web, "ebs_block_device"));
    ck_assert_str_eq(fake_unknown(web, "root_block_device"), "access_denied:ec2:DescribeVolumes");
    ck_assert_str_eq(fake_unknown(web, "ebs_block_device"), "access_denied:ec2:DescribeVolumes");
    ck_assert_ptr_null(fake_attr(web, "credit_specification"));
    ck_assert_str_eq(fake_unknown(web, "credit_specification"),
                     "throttled:RequestLimitExceeded: injected");
    ck_assert_str_eq(fake_str(web, "metadata_options[0].http_tokens"), "required");
    legacy = fake_by_tag(o.res, "aws_instance", "Name", "plumb-legacy");
    fake_attr_eq(legacy, "credit_specification", "[]");
    ck_assert_ptr_null(fake_unknown(legacy, "credit_specification"));

    vpc = fake_by_tag(o.res, "aws_vpc", "Name", "plumb-net");
    ck_assert_ptr_null(fake_attr(vpc, "default_security_group_id"));
    ck_assert_str_eq(fake_unknown(vpc, "default_security_group_id"),
                     "throttled:RequestLimitExceeded: injected");
    ck_assert(str_has_prefix(fake_str(vpc, "default_network_acl_id"), "acl-"));
    ck_assert_str_eq(fake_unknown(vpc, "main_route_table_id"),
                     "access_denied:ec2:DescribeRouteTables");
    ck_assert_ptr_null(fake_attr(vpc, "default_route_table_id"));

    lt = fake_by_attr(o.res, "aws_launch_template", "name", "plumb-lt");
    ck_assert_int_eq(fake_int(lt, "latest_version"), 2);
    ck_assert_ptr_null(fake_attr(lt, "metadata_options"));
    ck_assert_str_eq(fake_unknown(lt, "metadata_options"),
                     "access_denied:ec2:DescribeLaunchTemplateVersions");
    ck_assert_str_eq(fake_unknown(lt, "default_version_metadata_options"),
                     "access_denied:ec2:DescribeLaunchTemplateVersions");
    ck_assert_str_eq(fake_unknown(lt, "instance_type"),
                     "access_denied:ec2:DescribeLaunchTemplateVersions");
    done(&f, &o);
}
END_TEST

START_TEST(instances_denied)
{
    static const struct fake_override failures[] = {
        { .op = "DescribeInstances",
          .error_code = "UnauthorizedOperation",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "ec2:DescribeInstances" },
        { .op = "DescribeSecurityGroupRules",
          .error_code = "UnauthorizedOperation",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "ec2:DescribeSecurityGroupRules" },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct snapshot_scope *s;
    run_ec2(&f, failures, &o);
    s = fake_scope(o.res, "aws_instance");
    ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(s->detail, "ec2:DescribeInstances");
    ck_assert_int_eq(fake_count(o.res, "aws_instance"), 0);
    /* No instances, no credit question. */
    ck_assert_int_eq(fake_calls(&f, "DescribeInstanceCreditSpecifications", NULL), 0);
    ck_assert_int_gt(fake_count(o.res, "aws_ebs_volume"), 0);
    /* One listing, two types: both unknown. */
    ck_assert_int_eq(fake_scope(o.res, "aws_vpc_security_group_ingress_rule")->status,
                     COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(fake_scope(o.res, "aws_vpc_security_group_egress_rule")->status,
                     COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(o.res, "aws_vpc_security_group_egress_rule")->detail,
                     "ec2:DescribeSecurityGroupRules");
    ck_assert_int_eq(fake_count(o.res, "aws_vpc_security_group_egress_rule"), 0);
    done(&f, &o);
}
END_TEST

/* Shapes the recorded estate does not have. */
static const struct fake_override odd_shapes[] = {
    { .op = "DescribeInstances",
      .pages = { "{\"Reservations\":[{\"Instances\":["
                 /* Launched from a template, with a profile and a second address;
                  * its root volume is missing from the volume listing. */
                 "{\"InstanceId\":\"i-1\",\"InstanceType\":\"trn1.2xlarge\","
                 "\"State\":{\"Name\":\"running\"},\"RootDeviceName\":\"/dev/xvda\","
                 "\"BlockDeviceMappings\":[{\"DeviceName\":\"/dev/xvda\",\"Ebs\":{\"VolumeId\":"
                 "\"vol-gone\",\"DeleteOnTermination\":true}}],"
                 "\"IamInstanceProfile\":{\"Arn\":\"arn:aws:iam::123456789012:instance-profile/ops/"
                 "web-profile\"},\"Monitoring\":{\"State\":\"pending\"},"
                 "\"NetworkInterfaces\":[{\"NetworkInterfaceId\":\"eni-2\",\"Attachment\":"
                 "{\"DeviceIndex\":1}},{\"NetworkInterfaceId\":\"eni-1\",\"Attachment\":"
                 "{\"DeviceIndex\":0,\"DeleteOnTermination\":true},\"Ipv6Addresses\":[{"
                 "\"Ipv6Address\":"
                 "\"2001:db8::5\"}],\"PrivateIpAddresses\":[{\"Primary\":true,\"PrivateIpAddress\":"
                 "\"10.0.0.5\"},{\"Primary\":false,\"PrivateIpAddress\":\"10.0.0.6\"}]}],"
                 "\"Tags\":[{\"Key\":\"aws:ec2launchtemplate:id\",\"Value\":\"lt-9\"},"
                 "{\"Key\":\"aws:ec2launchtemplate:version\",\"Value\":\"3\"}]},"
                 /* A terminated burstable instance is not asked about. */
                 "{\"InstanceId\":\"i-2\",\"InstanceType\":\"t3.nano\",\"State\":{\"Name\":"
                 "\"terminated\"}},"
                 /* An item without an id cannot be mapped. */
                 "{\"InstanceType\":\"t3.nano\",\"State\":{\"Name\":\"running\"}},"
                 "{\"InstanceId\":\"i-3\",\"InstanceType\":\"t4g.small\",\"State\":{\"Name\":"
                 "\"stopped\"}}]}]}" } },
    { .op = "DescribeInstanceCreditSpecifications",
      .params = "{\"InstanceIds\":[\"i-3\"]}",
      .pages = { "{\"InstanceCreditSpecifications\":[{\"InstanceId\":\"i-3\",\"CpuCredits\":"
                 "\"unlimited\"}]}" } },
    { .op = "DescribeSecurityGroups",
      .pages = { "{\"SecurityGroups\":[{\"GroupId\":\"sg-1\",\"GroupName\":\"x\","
                 "\"OwnerId\":\"123456789012\",\"VpcId\":\"vpc-1\",\"IpPermissions\":["
                 "{\"IpProtocol\":\"icmp\",\"FromPort\":8,\"ToPort\":-1,\"IpRanges\":"
                 "[{\"CidrIp\":\"10.0.0.0/8\"}]},"
                 "{\"IpProtocol\":\"tcp\",\"FromPort\":443,\"ToPort\":443,\"PrefixListIds\":"
                 "[{\"PrefixListId\":\"pl-1\",\"Description\":\"s3\"}],\"UserIdGroupPairs\":"
                 "[{\"GroupId\":\"sg-9\",\"UserId\":\"210987654321\",\"Description\":\"s3\"},"
                 "{\"GroupId\":\"sg-1\",\"UserId\":\"123456789012\",\"Description\":\"s3\"}]}],"
                 "\"IpPermissionsEgress\":[]}]}" } },
    { .op = "DescribeSecurityGroupRules",
      .pages = { "{\"SecurityGroupRules\":[{\"SecurityGroupRuleId\":\"sgr-1\",\"GroupId\":"
                 "\"sg-1\",\"IsEgress\":false,\"IpProtocol\":\"tcp\",\"FromPort\":443,"
                 "\"ToPort\":443,\"ReferencedGroupInfo\":{\"GroupId\":\"sg-9\",\"UserId\":"
                 "\"210987654321\"}},{\"SecurityGroupRuleId\":\"sgr-2\",\"GroupId\":\"sg-1\","
                 "\"IpProtocol\":\"tcp\"}]}" } },
    { .op = "DescribeLaunchTemplates",
      .pages = { "{\"LaunchTemplates\":[{\"LaunchTemplateId\":\"lt-9\",\"LaunchTemplateName\":"
                 "\"n\",\"DefaultVersionNumber\":1,\"LatestVersionNumber\":3}]}" } },
    { .op = "DescribeLaunchTemplateVersions",
      .pages = { "{\"LaunchTemplateVersions\":[{\"LaunchTemplateId\":\"lt-9\",\"VersionNumber\":"
                 "1,\"DefaultVersion\":true,\"LaunchTemplateData\":{\"MetadataOptions\":"
                 "{\"HttpTokens\":\"required\"}}}]}" } },
    { .op = "DescribeFlowLogs",
      .pages = { "{\"FlowLogs\":[{\"FlowLogId\":\"fl-1\",\"ResourceId\":\"tgw-attach-1\","
                 "\"TrafficType\":\"ALL\"},{\"FlowLogId\":\"fl-2\",\"ResourceId\":\"tgw-2\"},"
                 "{\"FlowLogId\":\"fl-3\",\"ResourceId\":\"eni-3\"}]}" } },
    { .op = "GetInstanceMetadataDefaults", .pages = { "{\"AccountLevel\":{}}" } },
    { NULL },
};

START_TEST(odd_shapes_and_joins)
{
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_ec2(&f, odd_shapes, &o);

    r = fake_get(o.res, "aws_instance", "i-1");
    ck_assert_str_eq(fake_unknown(r, "root_block_device"),
                     "error:volume vol-gone not in DescribeVolumes");
    ck_assert_ptr_null(fake_attr(r, "root_block_device"));
    fake_attr_eq(r, "launch_template", "[{\"id\":\"lt-9\",\"version\":\"3\"}]");
    ck_assert_str_eq(fake_str(r, "iam_instance_profile"), "web-profile");
    ck_assert(fake_bool(r, "monitoring"));
    ck_assert_str_eq(fake_str(r, "primary_network_interface_id"), "eni-1");
    fake_attr_eq(r, "secondary_private_ips", "[\"10.0.0.6\"]");
    fake_attr_eq(r, "ipv6_addresses", "[\"2001:db8::5\"]");
    ck_assert(!fake_bool(r, "associate_public_ip_address"));
    /* Not a burstable family although its name starts with t. */
    fake_attr_eq(r, "credit_specification", "[]");
    r = fake_get(o.res, "aws_instance", "i-2");
    ck_assert_ptr_null(fake_attr(r, "credit_specification"));
    ck_assert_ptr_null(fake_unknown(r, "credit_specification"));
    r = fake_get(o.res, "aws_instance", "i-3");
    fake_attr_eq(r, "credit_specification", "[{\"cpu_credits\":\"unlimited\"}]");
    ck_assert_int_eq(fake_calls(&f, "DescribeInstanceCreditSpecifications", NULL), 1);
    /* The unmappable item: the others are kept, the read is incomplete. */
    ck_assert_int_eq(fake_count(o.res, "aws_instance"), 3);
    ck_assert_int_eq(fake_scope(o.res, "aws_instance")->status, COLLECT_ERROR);
    ck_assert_str_eq(fake_scope(o.res, "aws_instance")->detail, "an item could not be mapped");

    r = fake_get(o.res, "aws_security_group", "sg-1");
    fake_attr_eq(r, "ingress",
                 "[{\"cidr_blocks\":[\"10.0.0.0/8\"],\"description\":\"\",\"from_port\":8,"
                 "\"ipv6_cidr_blocks\":[],\"prefix_list_ids\":[],\"protocol\":\"icmp\","
                 "\"security_groups\":[],\"self\":false,\"to_port\":-1},"
                 "{\"cidr_blocks\":[],\"description\":\"s3\",\"from_port\":443,"
                 "\"ipv6_cidr_blocks\":[],\"prefix_list_ids\":[\"pl-1\"],\"protocol\":\"tcp\","
                 "\"security_groups\":[\"210987654321/sg-9\"],\"self\":true,\"to_port\":443}]");
    fake_attr_eq(r, "egress", "[]");

    r = fake_get(o.res, "aws_vpc_security_group_ingress_rule", "sgr-1");
    ck_assert_str_eq(fake_str(r, "referenced_security_group_id"), "210987654321/sg-9");
    ck_assert_ptr_null(fake_find(o.res, "aws_vpc_security_group_ingress_rule", "sgr-2"));
    ck_assert_ptr_null(fake_find(o.res, "aws_vpc_security_group_egress_rule", "sgr-2"));
    ck_assert_int_eq(fake_scope(o.res, "aws_vpc_security_group_ingress_rule")->status,
                     COLLECT_ERROR);

    r = fake_get(o.res, "aws_launch_template", "lt-9");
    ck_assert_str_eq(fake_unknown(r, "metadata_options"),
                     "error:version 3 not in DescribeLaunchTemplateVersions");
    fake_attr_eq(r, "default_version_metadata_options",
                 "[{\"http_endpoint\":null,\"http_tokens\":\"required\"}]");

    r = fake_get(o.res, "aws_flow_log", "fl-1");
    ck_assert_str_eq(fake_str(r, "transit_gateway_attachment_id"), "tgw-attach-1");
    ck_assert(fake_null(r, "transit_gateway_id"));
    ck_assert(fake_null(r, "vpc_id"));
    ck_assert_str_eq(fake_str(fake_get(o.res, "aws_flow_log", "fl-2"), "transit_gateway_id"),
                     "tgw-2");
    ck_assert_str_eq(fake_str(fake_get(o.res, "aws_flow_log", "fl-3"), "eni_id"), "eni-3");
    ck_assert_str_eq(fake_get(o.res, "aws_flow_log", "fl-3")->arn,
                     "arn:aws:ec2:eu-central-1:123456789012:vpc-flow-log/fl-3");

    /* No account-level preference: the document says "not set". */
    r = fake_get(o.res, "aws_ec2_instance_metadata_defaults", "eu-central-1");
    ck_assert(fake_null(r, "http_tokens"));
    ck_assert(fake_null(r, "http_put_response_hop_limit"));
    done(&f, &o);
}
END_TEST

/* Credit specifications are asked for at most 1000 instances a call. */
START_TEST(credit_batches)
{
    struct buf_like {
        char *s;
        size_t len, cap;
    } b = { 0 };
    struct fake_override ov[3];
    struct fake f;
    struct fake_run o;
    const size_t n = 1001;
    b.cap = n * 90 + 64;
    b.s = malloc(b.cap);
    b.len = (size_t)snprintf(b.s, b.cap, "{\"Reservations\":[{\"Instances\":[");
    for (size_t i = 0; i < n; i++)
        b.len += (size_t)snprintf(b.s + b.len, b.cap - b.len,
                                  "%s{\"InstanceId\":\"i-%04zu\",\"InstanceType\":\"t3.micro\","
                                  "\"State\":{\"Name\":\"running\"}}",
                                  i ? "," : "", i);
    snprintf(b.s + b.len, b.cap - b.len, "]}]}");
    memset(ov, 0, sizeof(ov));
    ov[0].op = "DescribeInstances";
    ov[0].pages[0] = b.s;
    ov[1].op = "DescribeInstanceCreditSpecifications";
    ov[1].pages[0] = "{\"InstanceCreditSpecifications\":[{\"InstanceId\":\"i-1000\","
                     "\"CpuCredits\":\"unlimited\"}]}";
    run_ec2(&f, ov, &o);
    ck_assert_int_eq(fake_calls(&f, "DescribeInstanceCreditSpecifications", NULL), 2);
    {
        size_t i;
        json_t *e;
        size_t sizes[2] = { 0, 0 }, k = 0;
        json_array_foreach (f.log, i, e)
            if (str_eq(json_string_value(json_object_get(e, "op")),
                       "DescribeInstanceCreditSpecifications"))
                sizes[k++] =
                    json_array_size(json_object_get(json_object_get(e, "params"), "InstanceIds"));
        ck_assert_int_eq((int)sizes[0], 1000);
        ck_assert_int_eq((int)sizes[1], 1);
    }
    ck_assert_int_eq(fake_count(o.res, "aws_instance"), (int)n);
    fake_attr_eq(fake_get(o.res, "aws_instance", "i-1000"), "credit_specification",
                 "[{\"cpu_credits\":\"unlimited\"}]");
    /* Asked about and not in the answer: AWS has no specification. */
    fake_attr_eq(fake_get(o.res, "aws_instance", "i-0000"), "credit_specification", "[]");
    done(&f, &o);
    free(b.s);
}
END_TEST

/* botocore's own parsed EC2 responses (shared fixtures) map as well. */
static const struct fake_override botocore_fixtures[] = {
    { .op = "DescribeInstances",
      .fixture =
          "aws-responses/botocore-response-parsing/xml/responses/ec2-describe-instances.json" },
    { .op = "DescribeVolumes",
      .fixture =
          "aws-responses/botocore-response-parsing/xml/responses/ec2-describe-volumes.json" },
    { .op = "DescribeSecurityGroups",
      .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                 "ec2-describe-security-groups.json" },
    { .op = "DescribeVpcs",
      .fixture = "aws-responses/botocore-response-parsing/xml/responses/ec2-describe-vpcs.json" },
    { .op = "DescribeSubnets",
      .fixture =
          "aws-responses/botocore-response-parsing/xml/responses/ec2-describe-subnets.json" },
    { .op = "DescribeNetworkAcls",
      .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                 "ec2-describe-network-acls.json" },
    { .op = "DescribeInstanceCreditSpecifications",
      .pages = { "{\"InstanceCreditSpecifications\":[]}" } },
    { NULL },
};

static json_t *load_fixture(const char *rel)
{
    char *path = tu_fixture(rel);
    json_t *v = fake_load_json(path);
    free(path);
    return v;
}

START_TEST(botocore_responses)
{
    struct fake f;
    struct fake_run o;
    json_t *inst = load_fixture(botocore_fixtures[0].fixture);
    json_t *vols = load_fixture(botocore_fixtures[1].fixture);
    json_t *sgs = load_fixture(botocore_fixtures[2].fixture);
    json_t *items, *e;
    size_t i;
    run_ec2(&f, botocore_fixtures, &o);

    items = collect_items(inst, "Reservations[].Instances[]");
    ck_assert_int_eq(fake_count(o.res, "aws_instance"), (int)json_array_size(items));
    json_array_foreach (items, i, e) {
        const struct resource *r = fake_get(o.res, "aws_instance", ck_str(e, "InstanceId"));
        const char *root_vol = NULL;
        size_t k;
        json_t *bdm, *v;
        ck_assert_str_eq(fake_str(r, "instance_type"), ck_str(e, "InstanceType"));
        ck_assert_str_eq(fake_str(r, "instance_state"), ck_str(e, "State.Name"));
        json_array_foreach (json_object_get(e, "BlockDeviceMappings"), k, bdm)
            if (str_eq(ck_str(bdm, "DeviceName"), ck_str(e, "RootDeviceName")))
                root_vol = ck_str(bdm, "Ebs.VolumeId");
        ck_assert_ptr_nonnull(root_vol);
        ck_assert_str_eq(fake_str(r, "root_block_device[0].volume_id"), root_vol);
        json_array_foreach (json_object_get(vols, "Volumes"), k, v)
            if (str_eq(ck_str(v, "VolumeId"), root_vol))
                ck_assert_int_eq(fake_int(r, "root_block_device[0].volume_size"),
                                 json_integer_value(json_object_get(v, "Size")));
    }
    json_decref(items);
    ck_assert_int_eq(fake_count(o.res, "aws_ebs_volume"),
                     (int)json_array_size(json_object_get(vols, "Volumes")));
    /* Every CIDR of every ingress permission lands in exactly one element. */
    json_array_foreach (json_object_get(sgs, "SecurityGroups"), i, e) {
        const struct resource *r = fake_get(o.res, "aws_security_group", ck_str(e, "GroupId"));
        json_t *want = collect_items(e, "IpPermissions[].IpRanges[].CidrIp");
        json_t *got = collect_items(r->attrs, "ingress[].cidr_blocks[]");
        ck_assert_int_eq((int)json_array_size(got), (int)json_array_size(want));
        ck_assert_str_eq(fake_str(r, "name"), ck_str(e, "GroupName"));
        json_decref(want);
        json_decref(got);
    }
    ck_assert_int_eq(fake_scope(o.res, "aws_vpc")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_subnet")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_network_acl")->status, COLLECT_OK);
    json_decref(inst);
    json_decref(vols);
    json_decref(sgs);
    done(&f, &o);
}
END_TEST

START_TEST(registered)
{
    ck_assert_ptr_eq(collector_find("ec2"), &collect_ec2);
    /* The documented policy is exactly the operations called. */
    for (size_t i = 0; ec2_ops[i]; i++) {
        char *action = str_printf("ec2:%s", ec2_ops[i]);
        bool found = false;
        for (size_t k = 0; collect_ec2.iam_actions[k]; k++)
            found = found || str_eq(collect_ec2.iam_actions[k], action);
        ck_assert_msg(found, "%s missing from iam_actions", action);
        free(action);
    }
    {
        size_t n = 0;
        while (collect_ec2.iam_actions[n])
            n++;
        ck_assert_int_eq((int)n, 15);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_ec2");
    TCase *tc = tcase_create("ec2");
    tcase_add_test(tc, full_estate);
    tcase_add_test(tc, denied_and_throttled);
    tcase_add_test(tc, instances_denied);
    tcase_add_test(tc, odd_shapes_and_joins);
    tcase_add_test(tc, credit_batches);
    tcase_add_test(tc, botocore_responses);
    tcase_add_test(tc, registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
