#include "collect_ec2.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_kit.h"
#include "util.h"

/* DescribeInstanceCreditSpecifications takes at most this many ids. */
#define CREDIT_BATCH 1000

static char *ec2_arn(struct collect_run *run, const char *kind, const char *id)
{
    const struct collect_options *o = collect_options(run);
    return str_printf("arn:%s:ec2:%s:%s:%s/%s", o->partition, o->region, o->account, kind, id);
}

/* A resource whose ARN is the API's when it gives one, else the template's. */
static int ec2_resource(struct collect_run *run, const char *type, const char *aws_type,
                        const char *id, const char *api_arn, const char *kind,
                        struct resource **ret)
{
    char *arn = api_arn ? NULL : ec2_arn(run, kind, id);
    int r;
    if (!api_arn && !arn)
        return -ENOMEM;
    r = ck_resource(run, type, aws_type, id, api_arn ? api_arn : arn, true, ret);
    free(arn);
    return r;
}

static int set_tags(struct resource *r, const json_t *item)
{
    json_t *tags = collect_tags_from_list(json_object_get(item, "Tags"));
    if (!tags)
        return -ENOMEM;
    json_decref(r->tags);
    r->tags = tags;
    return 0;
}

/* A deep copy of v, or null when absent. */
static json_t *copy_or_null(const json_t *v)
{
    return v ? json_deep_copy(v) : json_null();
}

static void scope_from_slot(struct collect_run *run, const char *type, const struct ck_slot *s)
{
    if (ck_slot_ok(s))
        collect_scope_status(run, type, COLLECT_OK, NULL);
    else
        collect_scope_status(run, type, s->calls ? s->status : COLLECT_ERROR,
                             s->detail ? s->detail : "not read");
}

/* ---- instances ---- */

static const struct ck_field cap_target_fields[] = {
    { "capacity_reservation_id", "CapacityReservationId" },
    { "capacity_reservation_resource_group_arn", "CapacityReservationResourceGroupArn" },
    { NULL },
};
static const struct ck_field cap_spec_fields[] = {
    { "capacity_reservation_preference", "CapacityReservationPreference" },
    { "capacity_reservation_target", "CapacityReservationTarget", CK_BLOCK, cap_target_fields },
    { NULL },
};
static const struct ck_field cpu_fields[] = {
    { "core_count", "CoreCount" },
    { "threads_per_core", "ThreadsPerCore" },
    { "amd_sev_snp", "AmdSevSnp" },
    { NULL },
};
static const struct ck_field enclave_fields[] = {
    { "enabled", "Enabled" },
    { NULL },
};
static const struct ck_field maintenance_fields[] = {
    { "auto_recovery", "AutoRecovery" },
    { NULL },
};
static const struct ck_field instance_metadata_fields[] = {
    { "http_endpoint", "HttpEndpoint" },
    { "http_protocol_ipv6", "HttpProtocolIpv6" },
    { "http_put_response_hop_limit", "HttpPutResponseHopLimit" },
    { "http_tokens", "HttpTokens" },
    { "instance_metadata_tags", "InstanceMetadataTags" },
    { NULL },
};
static const struct ck_field dns_name_fields[] = {
    { "enable_resource_name_dns_a_record", "EnableResourceNameDnsARecord" },
    { "enable_resource_name_dns_aaaa_record", "EnableResourceNameDnsAAAARecord" },
    { "hostname_type", "HostnameType" },
    { NULL },
};
static const struct ck_field netif_fields[] = {
    { "delete_on_termination", "Attachment.DeleteOnTermination" },
    { "device_index", "Attachment.DeviceIndex" },
    { "network_card_index", "Attachment.NetworkCardIndex" },
    { "network_interface_id", "NetworkInterfaceId" },
    { NULL },
};

static json_t *conv_monitoring(const json_t *v)
{
    const char *s = json_string_value(v);
    return json_boolean(str_eq(s, "enabled") || str_eq(s, "pending"));
}

static const struct ck_field instance_fields[] = {
    { "ami", "ImageId" },
    { "associate_public_ip_address", "PublicIpAddress", CK_PRESENT },
    { "availability_zone", "Placement.AvailabilityZone" },
    { "capacity_reservation_specification", "CapacityReservationSpecification", CK_BLOCK,
      cap_spec_fields },
    { "cpu_options", "CpuOptions", CK_BLOCK, cpu_fields },
    { "ebs_optimized", "EbsOptimized" },
    { "enclave_options", "EnclaveOptions", CK_BLOCK, enclave_fields },
    { "hibernation", "HibernationOptions.Configured" },
    { "host_id", "Placement.HostId" },
    { "iam_instance_profile", "IamInstanceProfile.Arn", CK_CONV, NULL, ck_conv_last_segment },
    { "instance_lifecycle", "InstanceLifecycle" },
    { "instance_state", "State.Name" },
    { "instance_type", "InstanceType" },
    { "ipv6_addresses", "NetworkInterfaces[].Ipv6Addresses[].Ipv6Address", CK_LIST },
    { "key_name", "KeyName" },
    { "maintenance_options", "MaintenanceOptions", CK_BLOCK, maintenance_fields },
    { "metadata_options", "MetadataOptions", CK_BLOCK, instance_metadata_fields },
    { "monitoring", "Monitoring.State", CK_CONV, NULL, conv_monitoring },
    { "network_interface", "NetworkInterfaces", CK_BLOCKS, netif_fields },
    { "outpost_arn", "OutpostArn" },
    { "placement_group", "Placement.GroupName" },
    { "placement_partition_number", "Placement.PartitionNumber" },
    { "private_dns", "PrivateDnsName" },
    { "private_dns_name_options", "PrivateDnsNameOptions", CK_BLOCK, dns_name_fields },
    { "private_ip", "PrivateIpAddress" },
    { "public_dns", "PublicDnsName" },
    { "public_ip", "PublicIpAddress" },
    { "security_groups", "SecurityGroups[].GroupName", CK_LIST },
    { "source_dest_check", "SourceDestCheck" },
    { "subnet_id", "SubnetId" },
    { "tenancy", "Placement.Tenancy" },
    { "vpc_security_group_ids", "SecurityGroups[].GroupId", CK_LIST },
    { NULL },
};

/* The volume part of a block device (root_block_device, ebs_block_device). */
static const struct ck_field root_volume_fields[] = {
    { "encrypted", "Encrypted" },    { "iops", "Iops" },
    { "kms_key_id", "KmsKeyId" },    { "throughput", "Throughput" },
    { "volume_id", "VolumeId" },     { "volume_size", "Size" },
    { "volume_type", "VolumeType" }, { NULL },
};
static const struct ck_field ebs_volume_part_fields[] = {
    { "encrypted", "Encrypted" },
    { "iops", "Iops" },
    { "kms_key_id", "KmsKeyId" },
    { "snapshot_id", "SnapshotId" },
    { "throughput", "Throughput" },
    { "volume_id", "VolumeId" },
    { "volume_size", "Size" },
    { "volume_type", "VolumeType" },
    { NULL },
};

static const struct ck_field volume_attachment_fields[] = {
    { "delete_on_termination", "DeleteOnTermination" },
    { "device", "Device" },
    { "instance_id", "InstanceId" },
    { "state", "State" },
    { NULL },
};
static const struct ck_field volume_fields[] = {
    { "attachments", "Attachments", CK_BLOCKS, volume_attachment_fields },
    { "availability_zone", "AvailabilityZone" },
    { "create_time", "CreateTime" },
    { "encrypted", "Encrypted" },
    { "iops", "Iops" },
    { "kms_key_id", "KmsKeyId" },
    { "multi_attach_enabled", "MultiAttachEnabled" },
    { "outpost_arn", "OutpostArn" },
    { "size", "Size" },
    { "snapshot_id", "SnapshotId" },
    { "state", "State" },
    { "throughput", "Throughput" },
    { "type", "VolumeType" },
    { NULL },
};

/* T2 and later: the instance families with CPU credits ("t3a.small"). */
static bool burstable_type(const json_t *instance)
{
    const char *type = ck_str(instance, "InstanceType");
    return type && type[0] == 't' && isdigit((unsigned char)type[1]) && type[1] >= '2';
}

/* Whose credit specification is asked for: a terminated instance's is not. */
static bool credits_asked(const json_t *instance)
{
    const char *state = ck_str(instance, "State.Name");
    return burstable_type(instance) && !str_eq(state, "terminated") &&
           !str_eq(state, "shutting-down");
}

/* The launch_template block from the tags AWS sets at launch. */
static json_t *launch_template_block(const json_t *instance)
{
    const char *id = NULL, *version = NULL;
    size_t i;
    json_t *t, *arr = json_array();
    if (!arr)
        return NULL;
    json_array_foreach (json_object_get(instance, "Tags"), i, t) {
        const char *k = ck_str(t, "Key");
        if (str_eq(k, "aws:ec2launchtemplate:id"))
            id = ck_str(t, "Value");
        else if (str_eq(k, "aws:ec2launchtemplate:version"))
            version = ck_str(t, "Value");
    }
    if (id || version) {
        json_t *o = json_pack("{s:s?, s:s?}", "id", id, "version", version);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static const json_t *primary_interface(const json_t *instance)
{
    size_t i;
    json_t *ni;
    json_array_foreach (json_object_get(instance, "NetworkInterfaces"), i, ni) {
        const json_t *idx = ck_get(ni, "Attachment.DeviceIndex");
        if (json_is_integer(idx) && json_integer_value(idx) == 0)
            return ni;
    }
    return NULL;
}

static int map_instance_network(json_t *attrs, const json_t *instance)
{
    const json_t *primary = primary_interface(instance);
    json_t *secondary = json_array();
    size_t i;
    json_t *ip;
    if (!secondary)
        return -ENOMEM;
    json_array_foreach (json_object_get(primary, "PrivateIpAddresses"), i, ip) {
        const char *addr = ck_str(ip, "PrivateIpAddress");
        if (json_is_true(json_object_get(ip, "Primary")) || !addr)
            continue;
        if (json_array_append_new(secondary, json_string(addr)) < 0) {
            json_decref(secondary);
            return -ENOMEM;
        }
    }
    if (ck_set(attrs, "secondary_private_ips", secondary) < 0)
        return -ENOMEM;
    return ck_set_str(attrs, "primary_network_interface_id",
                      primary ? ck_str(primary, "NetworkInterfaceId") : NULL);
}

/* root_block_device and ebs_block_device from the instance's block device
 * mappings joined with the listed volumes. */
static int map_block_devices(struct resource *r, const json_t *instance, const json_t *volumes)
{
    const char *root = ck_str(instance, "RootDeviceName");
    json_t *root_list = json_array(), *ebs_list = json_array();
    const char *missing = NULL;
    size_t i;
    json_t *bdm;
    int e = -ENOMEM;
    if (!root_list || !ebs_list)
        goto out;
    json_array_foreach (json_object_get(instance, "BlockDeviceMappings"), i, bdm) {
        const char *vol_id = ck_str(bdm, "Ebs.VolumeId");
        const char *device = ck_str(bdm, "DeviceName");
        bool is_root = str_eq(device, root);
        const json_t *vol;
        json_t *o;
        if (!vol_id)
            continue;
        vol = json_object_get(volumes, vol_id);
        if (!vol) {
            missing = vol_id;
            continue;
        }
        o = ck_object(vol, is_root ? root_volume_fields : ebs_volume_part_fields);
        if (!o || ck_set_str(o, "device_name", device) < 0 ||
            ck_set(o, "delete_on_termination",
                   copy_or_null(ck_get(bdm, "Ebs.DeleteOnTermination"))) < 0 ||
            json_array_append_new(is_root ? root_list : ebs_list, o) < 0) {
            json_decref(o);
            goto out;
        }
    }
    if (ck_set(r->attrs, "root_block_device", json_incref(root_list)) < 0 ||
        ck_set(r->attrs, "ebs_block_device", json_incref(ebs_list)) < 0)
        goto out;
    e = 0;
    if (missing) {
        /* The volume list was taken at another moment than the instance
         * list: say so rather than guess. */
        char *why = str_printf("volume %s not in DescribeVolumes", missing);
        static const char *const both[] = { "root_block_device", "ebs_block_device", NULL };
        e = why ? ck_unknown(r, both, COLLECT_ERROR, why) : -ENOMEM;
        free(why);
    }
out:
    json_decref(root_list);
    json_decref(ebs_list);
    return e;
}

/* ---- security groups and rules ---- */

static json_t *sg_element(json_t *by_key, const char *protocol, json_int_t from, json_int_t to,
                          const char *desc)
{
    char *key = str_printf("%s|%lld|%lld|%s", protocol ? protocol : "", (long long)from,
                           (long long)to, desc);
    json_t *e;
    if (!key)
        return NULL;
    e = json_object_get(by_key, key);
    if (!e) {
        e = json_pack("{s:[], s:s, s:I, s:[], s:[], s:s?, s:[], s:b, s:I}", "cidr_blocks",
                      "description", desc, "from_port", from, "ipv6_cidr_blocks", "prefix_list_ids",
                      "protocol", protocol, "security_groups", "self", 0, "to_port", to);
        if (e && json_object_set_new(by_key, key, e) < 0)
            e = NULL;
    }
    free(key);
    return e;
}

static const char *desc_of(const json_t *source)
{
    const char *d = ck_str(source, "Description");
    return d ? d : "";
}

static int sg_add(json_t *by_key, const char *protocol, json_int_t from, json_int_t to,
                  const char *desc, const char *list, const char *value)
{
    json_t *e = sg_element(by_key, protocol, from, to, desc);
    if (!e)
        return -ENOMEM;
    if (!list)
        return json_object_set_new(e, "self", json_true()) == 0 ? 0 : -ENOMEM;
    if (!value)
        return 0;
    return json_array_append_new(json_object_get(e, list), json_string(value)) == 0 ? 0 : -ENOMEM;
}

static json_int_t port_of(const json_t *perm, const char *member)
{
    const json_t *v = json_object_get(perm, member);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* IpPermissions flattened as Terraform stores ingress/egress: one element
 * per (protocol, ports, description) with every source of that group. */
static json_t *sg_rules(const json_t *perms, const char *self_id, const char *owner)
{
    json_t *by_key = json_object(), *out = NULL;
    size_t i;
    json_t *perm;
    if (!by_key)
        return NULL;
    json_array_foreach (perms, i, perm) {
        const char *proto = ck_str(perm, "IpProtocol");
        json_int_t from = port_of(perm, "FromPort"), to = port_of(perm, "ToPort");
        size_t k;
        json_t *s;
        json_array_foreach (json_object_get(perm, "IpRanges"), k, s)
            if (sg_add(by_key, proto, from, to, desc_of(s), "cidr_blocks", ck_str(s, "CidrIp")) < 0)
                goto fail;
        json_array_foreach (json_object_get(perm, "Ipv6Ranges"), k, s)
            if (sg_add(by_key, proto, from, to, desc_of(s), "ipv6_cidr_blocks",
                       ck_str(s, "CidrIpv6")) < 0)
                goto fail;
        json_array_foreach (json_object_get(perm, "PrefixListIds"), k, s)
            if (sg_add(by_key, proto, from, to, desc_of(s), "prefix_list_ids",
                       ck_str(s, "PrefixListId")) < 0)
                goto fail;
        json_array_foreach (json_object_get(perm, "UserIdGroupPairs"), k, s) {
            const char *gid = ck_str(s, "GroupId"), *uid = ck_str(s, "UserId");
            int e;
            if (str_eq(gid, self_id)) {
                e = sg_add(by_key, proto, from, to, desc_of(s), NULL, NULL);
            } else if (gid && uid && owner && !str_eq(uid, owner)) {
                char *ref = str_printf("%s/%s", uid, gid);
                e = ref ? sg_add(by_key, proto, from, to, desc_of(s), "security_groups", ref)
                        : -ENOMEM;
                free(ref);
            } else {
                e = sg_add(by_key, proto, from, to, desc_of(s), "security_groups", gid);
            }
            if (e < 0)
                goto fail;
        }
    }
    out = json_array();
    if (out) {
        const char *key;
        json_t *e;
        json_object_foreach (by_key, key, e)
            if (json_array_append(out, e) < 0) {
                json_decref(out);
                out = NULL;
                break;
            }
    }
fail:
    json_decref(by_key);
    return out;
}

static const struct ck_field sg_fields[] = {
    { "description", "Description" },
    { "name", "GroupName" },
    { "owner_id", "OwnerId" },
    { "vpc_id", "VpcId" },
    { NULL },
};

static int build_security_group(struct collect_run *run, const json_t *item)
{
    const char *id = ck_str(item, "GroupId");
    const char *owner = ck_str(item, "OwnerId");
    struct resource *r = NULL;
    if (!id)
        return -EINVAL;
    if (ec2_resource(run, "aws_security_group", "AWS::EC2::SecurityGroup", id,
                     ck_str(item, "SecurityGroupArn"), "security-group", &r) < 0)
        return -ENOMEM;
    if (ck_map(r->attrs, item, sg_fields) < 0 ||
        ck_set(r->attrs, "ingress", sg_rules(json_object_get(item, "IpPermissions"), id, owner)) <
            0 ||
        ck_set(r->attrs, "egress",
               sg_rules(json_object_get(item, "IpPermissionsEgress"), id, owner)) < 0 ||
        set_tags(r, item) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    return ck_add(run, r);
}

static const struct ck_field rule_fields[] = {
    { "cidr_ipv4", "CidrIpv4" },
    { "cidr_ipv6", "CidrIpv6" },
    { "description", "Description" },
    { "ip_protocol", "IpProtocol" },
    { "prefix_list_id", "PrefixListId" },
    { "security_group_id", "GroupId" },
    { "security_group_rule_id", "SecurityGroupRuleId" },
    { NULL },
};

static int build_rule(struct collect_run *run, const json_t *item)
{
    const char *id = ck_str(item, "SecurityGroupRuleId");
    bool egress = json_is_true(json_object_get(item, "IsEgress"));
    bool all = str_eq(ck_str(item, "IpProtocol"), "-1");
    const char *ref = ck_str(item, "ReferencedGroupInfo.GroupId");
    const char *ref_user = ck_str(item, "ReferencedGroupInfo.UserId");
    const char *account = collect_options(run)->account;
    struct resource *r = NULL;
    char *ref_id = NULL;
    if (!id || !json_is_boolean(json_object_get(item, "IsEgress")))
        return -EINVAL;
    if (ec2_resource(run,
                     egress ? "aws_vpc_security_group_egress_rule"
                            : "aws_vpc_security_group_ingress_rule",
                     NULL, id, ck_str(item, "SecurityGroupRuleArn"), "security-group-rule", &r) < 0)
        return -ENOMEM;
    /* Terraform names a group of another account "account/sg-id". */
    if (ref && ref_user && !str_eq(ref_user, account))
        ref_id = str_printf("%s/%s", ref_user, ref);
    if (ck_map(r->attrs, item, rule_fields) < 0 ||
        ck_set(r->attrs, "from_port", all ? json_null() : copy_or_null(ck_get(item, "FromPort"))) <
            0 ||
        ck_set(r->attrs, "to_port", all ? json_null() : copy_or_null(ck_get(item, "ToPort"))) < 0 ||
        ck_set_str(r->attrs, "referenced_security_group_id", ref_id ? ref_id : ref) < 0 ||
        set_tags(r, item) < 0) {
        free(ref_id);
        resource_free(r);
        return -ENOMEM;
    }
    free(ref_id);
    return ck_add(run, r);
}

/* ---- VPCs, subnets, network ACLs ---- */

/* The first associated IPv6 block, as Terraform picks it. */
static const json_t *ipv6_association(const json_t *item, const char *state_member)
{
    size_t i;
    json_t *a;
    json_array_foreach (json_object_get(item, "Ipv6CidrBlockAssociationSet"), i, a) {
        const char *state = ck_str(ck_get(a, state_member), "State");
        if (str_eq(state, "associated"))
            return a;
    }
    return NULL;
}

static const struct ck_field vpc_fields[] = {
    { "cidr_block", "CidrBlock" },
    { "default", "IsDefault" },
    { "dhcp_options_id", "DhcpOptionsId" },
    { "instance_tenancy", "InstanceTenancy" },
    { "owner_id", "OwnerId" },
    { NULL },
};

/* id of the item in list whose match member equals vpc_id and which
 * passes pick (the default group / ACL of the VPC). */
static const char *default_of(const json_t *list, const char *vpc_id, const char *id_member,
                              const char *flag_member, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        if (!str_eq(ck_str(e, "VpcId"), vpc_id))
            continue;
        if (flag_member && json_is_true(json_object_get(e, flag_member)))
            return ck_str(e, id_member);
        if (name && str_eq(ck_str(e, "GroupName"), name))
            return ck_str(e, id_member);
    }
    return NULL;
}

/* The VPC's main route table: the listing asks for main associations
 * only. */
static const char *main_route_table(const json_t *tables, const char *vpc_id)
{
    size_t i, k;
    json_t *t, *a;
    json_array_foreach (tables, i, t) {
        if (!str_eq(ck_str(t, "VpcId"), vpc_id))
            continue;
        json_array_foreach (json_object_get(t, "Associations"), k, a)
            if (json_is_true(json_object_get(a, "Main")))
                return ck_str(t, "RouteTableId");
    }
    return NULL;
}

static int build_vpc(struct collect_run *run, const json_t *item, const struct ck_slot *sgs,
                     const struct ck_slot *nacls, const struct ck_slot *routes)
{
    const char *id = ck_str(item, "VpcId");
    const json_t *v6;
    struct resource *r = NULL;
    int e = -ENOMEM;
    if (!id)
        return -EINVAL;
    if (ec2_resource(run, "aws_vpc", "AWS::EC2::VPC", id, NULL, "vpc", &r) < 0)
        return -ENOMEM;
    v6 = ipv6_association(item, "Ipv6CidrBlockState");
    if (ck_map(r->attrs, item, vpc_fields) < 0 ||
        ck_set(r->attrs, "assign_generated_ipv6_cidr_block",
               json_boolean(v6 && str_eq(ck_str(v6, "Ipv6Pool"), "Amazon"))) < 0 ||
        ck_set_str(r->attrs, "ipv6_association_id", v6 ? ck_str(v6, "AssociationId") : NULL) < 0 ||
        ck_set_str(r->attrs, "ipv6_cidr_block", v6 ? ck_str(v6, "Ipv6CidrBlock") : NULL) < 0 ||
        set_tags(r, item) < 0)
        goto fail;
    if (ck_slot_ok(sgs)) {
        if (ck_set_str(r->attrs, "default_security_group_id",
                       default_of(sgs->items, id, "GroupId", NULL, "default")) < 0)
            goto fail;
    } else if (ck_unknown1(r, "default_security_group_id", sgs->status, sgs->detail) < 0) {
        goto fail;
    }
    if (ck_slot_ok(nacls)) {
        if (ck_set_str(r->attrs, "default_network_acl_id",
                       default_of(nacls->items, id, "NetworkAclId", "IsDefault", NULL)) < 0)
            goto fail;
    } else if (ck_unknown1(r, "default_network_acl_id", nacls->status, nacls->detail) < 0) {
        goto fail;
    }
    if (ck_slot_ok(routes)) {
        const char *main_id = main_route_table(routes->items, id);
        if (ck_set_str(r->attrs, "main_route_table_id", main_id) < 0 ||
            ck_set_str(r->attrs, "default_route_table_id", main_id) < 0)
            goto fail;
    } else {
        static const char *const both[] = { "main_route_table_id", "default_route_table_id", NULL };
        if (ck_unknown(r, both, routes->status, routes->detail) < 0)
            goto fail;
    }
    return ck_add(run, r);
fail:
    resource_free(r);
    return e;
}

static const struct ck_field nacl_entry_fields[] = {
    { "action", "RuleAction" },
    { "cidr_block", "CidrBlock", CK_OR_EMPTY },
    { "from_port", "PortRange.From", CK_OR_ZERO },
    { "icmp_code", "IcmpTypeCode.Code", CK_OR_ZERO },
    { "icmp_type", "IcmpTypeCode.Type", CK_OR_ZERO },
    { "ipv6_cidr_block", "Ipv6CidrBlock", CK_OR_EMPTY },
    { "protocol", "Protocol" },
    { "rule_no", "RuleNumber" },
    { "to_port", "PortRange.To", CK_OR_ZERO },
    { NULL },
};

/* Entries of one direction, without the implicit deny (rule 32767). */
static json_t *nacl_entries(const json_t *item, bool egress)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    if (!out)
        return NULL;
    json_array_foreach (json_object_get(item, "Entries"), i, e) {
        const json_t *no = json_object_get(e, "RuleNumber");
        json_t *o;
        if (json_is_true(json_object_get(e, "Egress")) != egress)
            continue;
        if (json_is_integer(no) && json_integer_value(no) == 32767)
            continue;
        o = ck_object(e, nacl_entry_fields);
        if (!o || json_array_append_new(out, o) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static const struct ck_field nacl_fields[] = {
    { "default", "IsDefault" },
    { "owner_id", "OwnerId" },
    { "subnet_ids", "Associations[].SubnetId", CK_LIST },
    { "vpc_id", "VpcId" },
    { NULL },
};

static int build_nacl(struct collect_run *run, const json_t *item)
{
    const char *id = ck_str(item, "NetworkAclId");
    struct resource *r = NULL;
    if (!id)
        return -EINVAL;
    if (ec2_resource(run, "aws_network_acl", "AWS::EC2::NetworkAcl", id, NULL, "network-acl", &r) <
        0)
        return -ENOMEM;
    if (ck_map(r->attrs, item, nacl_fields) < 0 ||
        ck_set(r->attrs, "ingress", nacl_entries(item, false)) < 0 ||
        ck_set(r->attrs, "egress", nacl_entries(item, true)) < 0 || set_tags(r, item) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    return ck_add(run, r);
}

static const struct ck_field subnet_fields[] = {
    { "assign_ipv6_address_on_creation", "AssignIpv6AddressOnCreation" },
    { "availability_zone", "AvailabilityZone" },
    { "availability_zone_id", "AvailabilityZoneId" },
    { "cidr_block", "CidrBlock" },
    { "customer_owned_ipv4_pool", "CustomerOwnedIpv4Pool" },
    { "default_for_az", "DefaultForAz" },
    { "enable_dns64", "EnableDns64" },
    { "enable_lni_at_device_index", "EnableLniAtDeviceIndex" },
    { "enable_resource_name_dns_a_record_on_launch",
      "PrivateDnsNameOptionsOnLaunch.EnableResourceNameDnsARecord" },
    { "enable_resource_name_dns_aaaa_record_on_launch",
      "PrivateDnsNameOptionsOnLaunch.EnableResourceNameDnsAAAARecord" },
    { "ipv6_native", "Ipv6Native" },
    { "map_customer_owned_ip_on_launch", "MapCustomerOwnedIpOnLaunch" },
    { "map_public_ip_on_launch", "MapPublicIpOnLaunch" },
    { "outpost_arn", "OutpostArn" },
    { "owner_id", "OwnerId" },
    { "private_dns_hostname_type_on_launch", "PrivateDnsNameOptionsOnLaunch.HostnameType" },
    { "vpc_id", "VpcId" },
    { NULL },
};

static int map_subnet(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *id = ck_str(item, "SubnetId");
    const char *arn = ck_str(item, "SubnetArn");
    char *built = NULL;
    const json_t *v6;
    if (!id)
        return -EINVAL;
    if (!arn)
        arn = built = ec2_arn(run, "subnet", id);
    v6 = ipv6_association(item, "Ipv6CidrBlockState");
    if (!arn || str_replace(&r->id, id) < 0 || str_replace(&r->arn, arn) < 0 ||
        ck_set_str(r->attrs, "arn", arn) < 0 || ck_map(r->attrs, item, subnet_fields) < 0 ||
        ck_set_str(r->attrs, "ipv6_cidr_block", v6 ? ck_str(v6, "Ipv6CidrBlock") : NULL) < 0 ||
        ck_set_str(r->attrs, "ipv6_cidr_block_association_id",
                   v6 ? ck_str(v6, "AssociationId") : NULL) < 0 ||
        set_tags(r, item) < 0) {
        free(built);
        return -ENOMEM;
    }
    free(built);
    return 0;
}

/* ---- flow logs ---- */

static const struct ck_field destination_options_fields[] = {
    { "file_format", "FileFormat" },
    { "hive_compatible_partitions", "HiveCompatiblePartitions" },
    { "per_hour_partition", "PerHourPartition" },
    { NULL },
};
static const struct ck_field flow_log_fields[] = {
    { "deliver_cross_account_role", "DeliverCrossAccountRole" },
    { "deliver_logs_status", "DeliverLogsStatus" },
    { "destination_options", "DestinationOptions", CK_BLOCK, destination_options_fields },
    { "flow_log_status", "FlowLogStatus" },
    { "iam_role_arn", "DeliverLogsPermissionArn" },
    { "log_destination", "LogDestination" },
    { "log_destination_type", "LogDestinationType" },
    { "log_format", "LogFormat" },
    { "log_group_name", "LogGroupName" },
    { "max_aggregation_interval", "MaxAggregationInterval" },
    { "traffic_type", "TrafficType" },
    { NULL },
};

static int map_flow_log(struct collect_run *run, const json_t *item, struct resource *r)
{
    /* ResourceId names what is logged; its prefix says which attribute
     * Terraform keeps it in ("tgw-attach-" before "tgw-"). */
    static const struct {
        const char *prefix;
        const char *attr;
    } kinds[] = {
        { "vpc-", "vpc_id" },
        { "subnet-", "subnet_id" },
        { "eni-", "eni_id" },
        { "tgw-attach-", "transit_gateway_attachment_id" },
        { "tgw-", "transit_gateway_id" },
    };
    const char *id = ck_str(item, "FlowLogId");
    const char *target = ck_str(item, "ResourceId");
    bool placed = false;
    char *arn;
    int e = -ENOMEM;
    if (!id)
        return -EINVAL;
    arn = ec2_arn(run, "vpc-flow-log", id);
    if (!arn || str_replace(&r->id, id) < 0 || str_replace(&r->arn, arn) < 0 ||
        ck_set_str(r->attrs, "arn", arn) < 0 || ck_map(r->attrs, item, flow_log_fields) < 0 ||
        set_tags(r, item) < 0)
        goto out;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        bool match = !placed && str_has_prefix(target, kinds[i].prefix);
        if (ck_set_str(r->attrs, kinds[i].attr, match ? target : NULL) < 0)
            goto out;
        placed = placed || match;
    }
    e = 0;
out:
    free(arn);
    return e;
}

/* ---- region-wide settings ---- */

static int region_singleton(struct collect_run *run, struct resource *r)
{
    return str_replace(&r->id, collect_options(run)->region);
}

static int map_ebs_encryption(struct collect_run *run, const json_t *item, struct resource *r)
{
    if (region_singleton(run, r) < 0 ||
        collect_copy(r->attrs, "enabled", item, "EbsEncryptionByDefault") < 0)
        return -ENOMEM;
    if (!json_object_get(r->attrs, "enabled"))
        return -EINVAL;
    return 0;
}

static int map_ebs_kms_key(struct collect_run *run, const json_t *item, struct resource *r)
{
    if (region_singleton(run, r) < 0 ||
        ck_set_str(r->attrs, "key_arn", ck_str(item, "KmsKeyId")) < 0)
        return -ENOMEM;
    return 0;
}

static const struct ck_field imds_defaults_fields[] = {
    { "http_endpoint", "AccountLevel.HttpEndpoint" },
    { "http_put_response_hop_limit", "AccountLevel.HttpPutResponseHopLimit" },
    { "http_tokens", "AccountLevel.HttpTokens" },
    { "instance_metadata_tags", "AccountLevel.InstanceMetadataTags" },
    { NULL },
};

static int map_imds_defaults(struct collect_run *run, const json_t *item, struct resource *r)
{
    if (region_singleton(run, r) < 0 || ck_map(r->attrs, item, imds_defaults_fields) < 0)
        return -ENOMEM;
    return 0;
}

/* ---- launch templates ---- */

static const struct ck_field lt_ebs_fields[] = {
    { "delete_on_termination", "DeleteOnTermination", CK_STRBOOL },
    { "encrypted", "Encrypted", CK_STRBOOL },
    { "iops", "Iops" },
    { "kms_key_id", "KmsKeyId" },
    { "snapshot_id", "SnapshotId" },
    { "throughput", "Throughput" },
    { "volume_size", "VolumeSize" },
    { "volume_type", "VolumeType" },
    { NULL },
};
static const struct ck_field lt_bdm_fields[] = {
    { "device_name", "DeviceName" },
    { "ebs", "Ebs", CK_BLOCK, lt_ebs_fields },
    { "no_device", "NoDevice" },
    { "virtual_name", "VirtualName" },
    { NULL },
};
static const struct ck_field lt_profile_fields[] = {
    { "arn", "Arn" },
    { "name", "Name" },
    { NULL },
};
static const struct ck_field lt_monitoring_fields[] = {
    { "enabled", "Enabled" },
    { NULL },
};
static const struct ck_field lt_netif_fields[] = {
    { "associate_public_ip_address", "AssociatePublicIpAddress", CK_STRBOOL },
    { "delete_on_termination", "DeleteOnTermination", CK_STRBOOL },
    { "description", "Description" },
    { "device_index", "DeviceIndex" },
    { "network_interface_id", "NetworkInterfaceId" },
    { "private_ip_address", "PrivateIpAddress" },
    { "security_groups", "Groups", CK_LIST },
    { "subnet_id", "SubnetId" },
    { NULL },
};
/* Read from the latest version, like Terraform. */
static const struct ck_field lt_version_fields[] = {
    { "block_device_mappings", "LaunchTemplateData.BlockDeviceMappings", CK_BLOCKS, lt_bdm_fields },
    { "description", "VersionDescription" },
    { "disable_api_stop", "LaunchTemplateData.DisableApiStop" },
    { "disable_api_termination", "LaunchTemplateData.DisableApiTermination" },
    { "ebs_optimized", "LaunchTemplateData.EbsOptimized", CK_STRBOOL },
    { "iam_instance_profile", "LaunchTemplateData.IamInstanceProfile", CK_BLOCK,
      lt_profile_fields },
    { "image_id", "LaunchTemplateData.ImageId" },
    { "instance_initiated_shutdown_behavior",
      "LaunchTemplateData.InstanceInitiatedShutdownBehavior" },
    { "instance_type", "LaunchTemplateData.InstanceType" },
    { "kernel_id", "LaunchTemplateData.KernelId" },
    { "key_name", "LaunchTemplateData.KeyName" },
    { "metadata_options", "LaunchTemplateData.MetadataOptions", CK_BLOCK,
      instance_metadata_fields },
    { "monitoring", "LaunchTemplateData.Monitoring", CK_BLOCK, lt_monitoring_fields },
    { "network_interfaces", "LaunchTemplateData.NetworkInterfaces", CK_BLOCKS, lt_netif_fields },
    { "ram_disk_id", "LaunchTemplateData.RamDiskId" },
    { "security_group_names", "LaunchTemplateData.SecurityGroups", CK_LIST },
    { "user_data", "LaunchTemplateData.UserData" },
    { "vpc_security_group_ids", "LaunchTemplateData.SecurityGroupIds", CK_LIST },
    { NULL },
};
static const struct ck_field lt_default_metadata_fields[] = {
    { "http_endpoint", "HttpEndpoint" },
    { "http_tokens", "HttpTokens" },
    { NULL },
};
static const struct ck_field lt_default_fields[] = {
    { "default_version_metadata_options", "LaunchTemplateData.MetadataOptions", CK_BLOCK,
      lt_default_metadata_fields },
    { NULL },
};
static const struct ck_field lt_fields[] = {
    { "default_version", "DefaultVersionNumber" },
    { "latest_version", "LatestVersionNumber" },
    { "name", "LaunchTemplateName" },
    { NULL },
};

/* Attribute names a table fills, for marking them unknown. */
static int unknown_table(struct resource *r, const struct ck_field *fields,
                         enum collect_status status, const char *detail)
{
    for (const struct ck_field *f = fields; f->attr; f++)
        if (ck_unknown1(r, f->attr, status, detail) < 0)
            return -ENOMEM;
    return 0;
}

static const json_t *find_version(const json_t *versions, const char *lt_id, const json_t *number)
{
    size_t i;
    json_t *v;
    if (!json_is_integer(number))
        return NULL;
    json_array_foreach (versions, i, v) {
        const json_t *n = json_object_get(v, "VersionNumber");
        if (str_eq(ck_str(v, "LaunchTemplateId"), lt_id) && json_is_integer(n) &&
            json_integer_value(n) == json_integer_value(number))
            return v;
    }
    return NULL;
}

static int merge_version(struct resource *r, const struct ck_slot *versions, const char *lt_id,
                         const json_t *number, const struct ck_field *fields)
{
    const json_t *v;
    char *why;
    int e;
    if (!ck_slot_ok(versions))
        return unknown_table(r, fields, versions->status, versions->detail);
    v = find_version(versions->items, lt_id, number);
    if (v)
        return ck_map(r->attrs, v, fields);
    /* Created or changed between the two listings. */
    why = str_printf("version %lld not in DescribeLaunchTemplateVersions",
                     (long long)json_integer_value(number));
    e = why ? unknown_table(r, fields, COLLECT_ERROR, why) : -ENOMEM;
    free(why);
    return e;
}

static int build_launch_template(struct collect_run *run, const json_t *item,
                                 const struct ck_slot *versions)
{
    const char *id = ck_str(item, "LaunchTemplateId");
    struct resource *r = NULL;
    if (!id)
        return -EINVAL;
    if (ec2_resource(run, "aws_launch_template", "AWS::EC2::LaunchTemplate", id, NULL,
                     "launch-template", &r) < 0)
        return -ENOMEM;
    if (ck_map(r->attrs, item, lt_fields) < 0 || set_tags(r, item) < 0 ||
        merge_version(r, versions, id, json_object_get(item, "LatestVersionNumber"),
                      lt_version_fields) < 0 ||
        merge_version(r, versions, id, json_object_get(item, "DefaultVersionNumber"),
                      lt_default_fields) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    return ck_add(run, r);
}

/* ---- the custom part: listings joined in memory ---- */

struct ec2_state {
    struct ck_slot instances, volumes, credits, sgs, rules, vpcs, nacls, routes, lts, ltvs;
    int phase;
};

static void ec2_state_free(struct ec2_state *s)
{
    ck_slot_clear(&s->instances);
    ck_slot_clear(&s->volumes);
    ck_slot_clear(&s->credits);
    ck_slot_clear(&s->sgs);
    ck_slot_clear(&s->rules);
    ck_slot_clear(&s->vpcs);
    ck_slot_clear(&s->nacls);
    ck_slot_clear(&s->routes);
    ck_slot_clear(&s->lts);
    ck_slot_clear(&s->ltvs);
    free(s);
}

static int queue_list(struct ck *ck, const char *op, json_t *params, const char *items,
                      struct ck_slot *slot)
{
    struct ck_request req = {
        .operation = op, .params = params, .items = items, .all_pages = true
    };
    if (!params)
        return -ENOMEM;
    return ck_call_slot(ck, &req, slot);
}

/* Phase 2: credit specifications of the burstable instances. */
static int queue_credits(struct ck *ck, struct ec2_state *s)
{
    json_t *ids = json_array();
    size_t i;
    json_t *inst;
    int e = 0;
    if (!ids)
        return -ENOMEM;
    json_array_foreach (s->instances.items, i, inst) {
        const char *id = ck_str(inst, "InstanceId");
        if (!id || !credits_asked(inst))
            continue;
        if (json_array_append_new(ids, json_string(id)) < 0)
            e = -ENOMEM;
    }
    for (size_t off = 0; e == 0 && off < json_array_size(ids); off += CREDIT_BATCH) {
        json_t *batch = json_array();
        for (size_t k = off; batch && k < off + CREDIT_BATCH && k < json_array_size(ids); k++)
            if (json_array_append(batch, json_array_get(ids, k)) < 0) {
                json_decref(batch);
                batch = NULL;
            }
        e = batch ? queue_list(ck, "DescribeInstanceCreditSpecifications",
                               json_pack("{s:o}", "InstanceIds", batch),
                               "InstanceCreditSpecifications[]", &s->credits)
                  : -ENOMEM;
    }
    json_decref(ids);
    return e;
}

/* Index a list of items by a string member (borrowed values). */
static json_t *index_by(const json_t *items, const char *member)
{
    json_t *idx = json_object();
    size_t i;
    json_t *e;
    if (!idx)
        return NULL;
    json_array_foreach (items, i, e) {
        const char *k = ck_str(e, member);
        if (k && json_object_set(idx, k, e) < 0) {
            json_decref(idx);
            return NULL;
        }
    }
    return idx;
}

static int build_instance(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                          const json_t *volumes, const json_t *credits)
{
    const char *id = ck_str(item, "InstanceId");
    struct resource *r = NULL;
    if (!id)
        return -EINVAL;
    if (ec2_resource(run, "aws_instance", "AWS::EC2::Instance", id, NULL, "instance", &r) < 0)
        return -ENOMEM;
    if (ck_map(r->attrs, item, instance_fields) < 0 || set_tags(r, item) < 0 ||
        ck_set(r->attrs, "launch_template", launch_template_block(item)) < 0 ||
        map_instance_network(r->attrs, item) < 0)
        goto oom;
    if (volumes) {
        if (map_block_devices(r, item, volumes) < 0)
            goto oom;
    } else {
        static const char *const both[] = { "root_block_device", "ebs_block_device", NULL };
        if (ck_unknown(r, both, s->volumes.status, s->volumes.detail) < 0)
            goto oom;
    }
    if (!burstable_type(item)) {
        /* Credits apply to burstable instances only. */
        if (ck_set(r->attrs, "credit_specification", json_array()) < 0)
            goto oom;
    } else if (!credits_asked(item)) {
        /* A terminated instance is not asked about: not collected. */
    } else if (credits) {
        const char *cpu = ck_str(json_object_get(credits, id), "CpuCredits");
        json_t *block = cpu ? json_pack("[{s:s}]", "cpu_credits", cpu) : json_array();
        if (ck_set(r->attrs, "credit_specification", block) < 0)
            goto oom;
    } else if (ck_unknown1(r, "credit_specification", s->credits.status, s->credits.detail) < 0) {
        goto oom;
    }
    return ck_add(run, r);
oom:
    resource_free(r);
    return -ENOMEM;
}

/* Build every item of a slot; an item that cannot be mapped makes the
 * type's read incomplete. */
static void build_all(struct collect_run *run, const char *type, const struct ck_slot *slot,
                      int (*fn)(struct collect_run *, const json_t *, const struct ec2_state *,
                                const json_t *, const json_t *),
                      const struct ec2_state *s, const json_t *a, const json_t *b)
{
    size_t i;
    json_t *item;
    scope_from_slot(run, type, slot);
    if (!ck_slot_ok(slot))
        return;
    json_array_foreach (slot->items, i, item) {
        int e = fn(run, item, s, a, b);
        if (e == -ENOMEM) {
            collect_scope_status(run, type, COLLECT_ERROR, "out of memory");
            return;
        }
        if (e < 0)
            collect_scope_status(run, type, COLLECT_ERROR, "an item could not be mapped");
    }
}

static int b_instance(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                      const json_t *volumes, const json_t *credits)
{
    return build_instance(run, item, s, volumes, credits);
}

static int b_volume(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                    const json_t *a, const json_t *b)
{
    const char *id = ck_str(item, "VolumeId");
    struct resource *r = NULL;
    (void)s;
    (void)a;
    (void)b;
    if (!id)
        return -EINVAL;
    if (ec2_resource(run, "aws_ebs_volume", "AWS::EC2::Volume", id, NULL, "volume", &r) < 0)
        return -ENOMEM;
    if (ck_map(r->attrs, item, volume_fields) < 0 || set_tags(r, item) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    return ck_add(run, r);
}

static int b_security_group(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                            const json_t *a, const json_t *b)
{
    (void)s;
    (void)a;
    (void)b;
    return build_security_group(run, item);
}

static int b_rule(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                  const json_t *a, const json_t *b)
{
    (void)s;
    (void)a;
    (void)b;
    return build_rule(run, item);
}

static int b_vpc(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                 const json_t *a, const json_t *b)
{
    (void)a;
    (void)b;
    return build_vpc(run, item, &s->sgs, &s->nacls, &s->routes);
}

static int b_nacl(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                  const json_t *a, const json_t *b)
{
    (void)s;
    (void)a;
    (void)b;
    return build_nacl(run, item);
}

static int b_launch_template(struct collect_run *run, const json_t *item, const struct ec2_state *s,
                             const json_t *a, const json_t *b)
{
    (void)a;
    (void)b;
    return build_launch_template(run, item, &s->ltvs);
}

static void build(struct collect_run *run, struct ec2_state *s)
{
    json_t *volumes = ck_slot_ok(&s->volumes) ? index_by(s->volumes.items, "VolumeId") : NULL;
    json_t *credits = ck_slot_ok(&s->credits) ? index_by(s->credits.items, "InstanceId") : NULL;
    if (ck_slot_ok(&s->volumes) && !volumes) {
        s->volumes.failed = true;
        s->volumes.status = COLLECT_ERROR;
    }
    build_all(run, "aws_instance", &s->instances, b_instance, s, volumes, credits);
    build_all(run, "aws_ebs_volume", &s->volumes, b_volume, s, NULL, NULL);
    build_all(run, "aws_security_group", &s->sgs, b_security_group, s, NULL, NULL);
    build_all(run, "aws_vpc_security_group_ingress_rule", &s->rules, b_rule, s, NULL, NULL);
    scope_from_slot(run, "aws_vpc_security_group_egress_rule", &s->rules);
    build_all(run, "aws_vpc", &s->vpcs, b_vpc, s, NULL, NULL);
    build_all(run, "aws_network_acl", &s->nacls, b_nacl, s, NULL, NULL);
    build_all(run, "aws_launch_template", &s->lts, b_launch_template, s, NULL, NULL);
    json_decref(volumes);
    json_decref(credits);
}

static bool ec2_idle(struct ck *ck, void *ud)
{
    struct ec2_state *s = ud;
    struct collect_run *run = ck_collect_run(ck);
    if (s->phase++ == 0 && ck_slot_ok(&s->instances)) {
        if (queue_credits(ck, s) < 0) {
            s->credits.failed = true;
            s->credits.status = COLLECT_ERROR;
        }
        if (s->credits.calls > 0)
            return true;
    }
    build(run, s);
    ec2_state_free(s);
    return false;
}

static int ec2_custom(struct collect_run *run)
{
    struct ec2_state *s = calloc(1, sizeof(*s));
    struct ck *ck = NULL;
    if (!s || ck_new(run, &ck) < 0) {
        free(s);
        return -ENOMEM;
    }
    if (queue_list(ck, "DescribeInstances", json_pack("{s:i}", "MaxResults", 1000),
                   "Reservations[].Instances[]", &s->instances) < 0 ||
        queue_list(ck, "DescribeVolumes", json_pack("{s:i}", "MaxResults", 500), "Volumes[]",
                   &s->volumes) < 0 ||
        queue_list(ck, "DescribeSecurityGroups", json_pack("{s:i}", "MaxResults", 1000),
                   "SecurityGroups[]", &s->sgs) < 0 ||
        queue_list(ck, "DescribeSecurityGroupRules", json_pack("{s:i}", "MaxResults", 1000),
                   "SecurityGroupRules[]", &s->rules) < 0 ||
        queue_list(ck, "DescribeVpcs", json_pack("{s:i}", "MaxResults", 1000), "Vpcs[]", &s->vpcs) <
            0 ||
        queue_list(ck, "DescribeNetworkAcls", json_pack("{s:i}", "MaxResults", 1000),
                   "NetworkAcls[]", &s->nacls) < 0 ||
        queue_list(ck, "DescribeRouteTables",
                   json_pack("{s:[{s:s, s:[s]}], s:i}", "Filters", "Name", "association.main",
                             "Values", "true", "MaxResults", 100),
                   "RouteTables[]", &s->routes) < 0 ||
        queue_list(ck, "DescribeLaunchTemplates", json_pack("{s:i}", "MaxResults", 200),
                   "LaunchTemplates[]", &s->lts) < 0 ||
        queue_list(
            ck, "DescribeLaunchTemplateVersions",
            json_pack("{s:[s,s], s:i}", "Versions", "$Latest", "$Default", "MaxResults", 200),
            "LaunchTemplateVersions[]", &s->ltvs) < 0) {
        ck_free(ck);
        ec2_state_free(s);
        return -ENOMEM;
    }
    ck_run(ck, ec2_idle, s);
    return 0;
}

static const struct collect_list ec2_lists[] = {
    { .type = "aws_subnet",
      .aws_type = "AWS::EC2::Subnet",
      .operation = "DescribeSubnets",
      .params = "{\"MaxResults\":1000}",
      .items = "Subnets[]",
      .all_pages = true,
      .map = map_subnet },
    { .type = "aws_flow_log",
      .aws_type = "AWS::EC2::FlowLog",
      .operation = "DescribeFlowLogs",
      .params = "{\"MaxResults\":1000}",
      .items = "FlowLogs[]",
      .all_pages = true,
      .map = map_flow_log },
    { .type = "aws_ebs_encryption_by_default",
      .operation = "GetEbsEncryptionByDefault",
      .items = "",
      .map = map_ebs_encryption },
    { .type = "aws_ebs_default_kms_key",
      .operation = "GetEbsDefaultKmsKeyId",
      .items = "",
      .map = map_ebs_kms_key },
    { .type = "aws_ec2_instance_metadata_defaults",
      .operation = "GetInstanceMetadataDefaults",
      .items = "",
      .map = map_imds_defaults },
    { 0 },
};

static const char *const ec2_extra_types[] = {
    "aws_instance",
    "aws_ebs_volume",
    "aws_security_group",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_vpc",
    "aws_network_acl",
    "aws_launch_template",
    NULL,
};

static const char *const ec2_iam_actions[] = {
    "ec2:DescribeFlowLogs",
    "ec2:DescribeInstanceCreditSpecifications",
    "ec2:DescribeInstances",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcs",
    "ec2:GetEbsDefaultKmsKeyId",
    "ec2:GetEbsEncryptionByDefault",
    "ec2:GetInstanceMetadataDefaults",
    NULL,
};

const struct collector_def collect_ec2 = {
    .name = "ec2",
    .service = "ec2",
    .lists = ec2_lists,
    .extra_types = ec2_extra_types,
    .custom = ec2_custom,
    .iam_actions = ec2_iam_actions,
};
