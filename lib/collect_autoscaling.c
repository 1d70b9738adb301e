#include "collect_autoscaling.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_kit.h"
#include "util.h"

/* Values of one DescribeImages filter. */
#define IMAGE_BATCH 200

/* ---- groups ---- */

static const struct ck_field asg_launch_template_fields[] = {
    { "id", "LaunchTemplateId" },
    { "name", "LaunchTemplateName" },
    { "version", "Version" },
    { NULL },
};
static const struct ck_field asg_tag_fields[] = {
    { "key", "Key" },
    { "propagate_at_launch", "PropagateAtLaunch" },
    { "value", "Value" },
    { NULL },
};
static const struct ck_field asg_fields[] = {
    { "arn", "AutoScalingGroupARN" },
    { "availability_zones", "AvailabilityZones", CK_LIST },
    { "capacity_rebalance", "CapacityRebalance" },
    { "context", "Context" },
    { "default_cooldown", "DefaultCooldown" },
    { "default_instance_warmup", "DefaultInstanceWarmup" },
    { "desired_capacity", "DesiredCapacity" },
    { "desired_capacity_type", "DesiredCapacityType" },
    { "enabled_metrics", "EnabledMetrics[].Metric", CK_LIST },
    { "health_check_grace_period", "HealthCheckGracePeriod" },
    { "health_check_type", "HealthCheckType" },
    { "launch_configuration", "LaunchConfigurationName" },
    { "launch_template", "LaunchTemplate", CK_BLOCK, asg_launch_template_fields },
    { "load_balancers", "LoadBalancerNames", CK_LIST },
    { "max_instance_lifetime", "MaxInstanceLifetime" },
    { "max_size", "MaxSize" },
    { "min_size", "MinSize" },
    { "name", "AutoScalingGroupName" },
    { "placement_group", "PlacementGroup" },
    { "predicted_capacity", "PredictedCapacity" },
    { "protect_from_scale_in", "NewInstancesProtectedFromScaleIn" },
    { "service_linked_role_arn", "ServiceLinkedRoleARN" },
    { "suspended_processes", "SuspendedProcesses[].ProcessName", CK_LIST },
    { "tag", "Tags", CK_BLOCKS, asg_tag_fields },
    { "target_group_arns", "TargetGroupARNs", CK_LIST },
    { "termination_policies", "TerminationPolicies", CK_LIST },
    { "vpc_zone_identifier", "VPCZoneIdentifier", CK_CONV, NULL, ck_conv_csv_list },
    { NULL },
};

static int map_group(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *name = ck_str(item, "AutoScalingGroupName");
    json_t *tags;
    (void)run;
    if (!name)
        return -EINVAL;
    tags = collect_tags_from_list(json_object_get(item, "Tags"));
    if (!tags)
        return -ENOMEM;
    json_decref(r->tags);
    r->tags = tags;
    if (str_replace(&r->id, name) < 0 ||
        (ck_str(item, "AutoScalingGroupARN") &&
         str_replace(&r->arn, ck_str(item, "AutoScalingGroupARN")) < 0) ||
        ck_map(r->attrs, item, asg_fields) < 0)
        return -ENOMEM;
    return 0;
}

/* ---- launch configurations ---- */

static const struct ck_field lc_metadata_fields[] = {
    { "http_endpoint", "HttpEndpoint" },
    { "http_put_response_hop_limit", "HttpPutResponseHopLimit" },
    { "http_tokens", "HttpTokens" },
    { NULL },
};
static const struct ck_field lc_fields[] = {
    { "arn", "LaunchConfigurationARN" },
    { "associate_public_ip_address", "AssociatePublicIpAddress" },
    { "ebs_optimized", "EbsOptimized" },
    { "enable_monitoring", "InstanceMonitoring.Enabled" },
    { "iam_instance_profile", "IamInstanceProfile" },
    { "image_id", "ImageId" },
    { "instance_type", "InstanceType" },
    { "key_name", "KeyName" },
    { "metadata_options", "MetadataOptions", CK_BLOCK, lc_metadata_fields },
    { "name", "LaunchConfigurationName" },
    { "placement_tenancy", "PlacementTenancy" },
    { "security_groups", "SecurityGroups", CK_LIST },
    { "spot_price", "SpotPrice" },
    { "user_data", "UserData" },
    { NULL },
};
static const struct ck_field lc_root_fields[] = {
    { "delete_on_termination", "Ebs.DeleteOnTermination" },
    { "encrypted", "Ebs.Encrypted" },
    { "iops", "Ebs.Iops" },
    { "throughput", "Ebs.Throughput" },
    { "volume_size", "Ebs.VolumeSize" },
    { "volume_type", "Ebs.VolumeType" },
    { NULL },
};
static const struct ck_field lc_ebs_fields[] = {
    { "delete_on_termination", "Ebs.DeleteOnTermination" },
    { "device_name", "DeviceName" },
    { "encrypted", "Ebs.Encrypted" },
    { "iops", "Ebs.Iops" },
    { "no_device", "NoDevice" },
    { "snapshot_id", "Ebs.SnapshotId" },
    { "throughput", "Ebs.Throughput" },
    { "volume_size", "Ebs.VolumeSize" },
    { "volume_type", "Ebs.VolumeType" },
    { NULL },
};

struct asg_state {
    struct ck_slot lcs, images;
    int phase;
};

static const char *const lc_block_attrs[] = { "root_block_device", "ebs_block_device", NULL };

/* Split the mappings into the root device's and the other EBS ones, as
 * Terraform does; instance-store (VirtualName) mappings are neither. */
static int map_lc_devices(struct resource *r, const json_t *item, const char *root_device)
{
    json_t *root = json_array(), *ebs = json_array();
    size_t i;
    json_t *m;
    int e = -ENOMEM;
    if (!root || !ebs)
        goto out;
    json_array_foreach (json_object_get(item, "BlockDeviceMappings"), i, m) {
        bool is_root = str_eq(ck_str(m, "DeviceName"), root_device);
        json_t *o;
        if (ck_str(m, "VirtualName"))
            continue;
        o = ck_object(m, is_root ? lc_root_fields : lc_ebs_fields);
        if (!o || json_array_append_new(is_root ? root : ebs, o) < 0) {
            json_decref(o);
            goto out;
        }
    }
    if (ck_set(r->attrs, "root_block_device", json_incref(root)) < 0 ||
        ck_set(r->attrs, "ebs_block_device", json_incref(ebs)) < 0)
        goto out;
    e = 0;
out:
    json_decref(root);
    json_decref(ebs);
    return e;
}

static const char *root_device_of(const json_t *images, const char *image_id)
{
    size_t i;
    json_t *img;
    json_array_foreach (images, i, img)
        if (str_eq(ck_str(img, "ImageId"), image_id))
            return ck_str(img, "RootDeviceName");
    return NULL;
}

static int build_lc(struct collect_run *run, const json_t *item, const struct asg_state *s)
{
    const char *name = ck_str(item, "LaunchConfigurationName");
    const char *image = ck_str(item, "ImageId");
    struct resource *r = NULL;
    int e = -ENOMEM;
    if (!name)
        return -EINVAL;
    if (ck_resource(run, "aws_launch_configuration", "AWS::AutoScaling::LaunchConfiguration", name,
                    ck_str(item, "LaunchConfigurationARN"), false, &r) < 0)
        return -ENOMEM;
    if (ck_map(r->attrs, item, lc_fields) < 0)
        goto fail;
    if (!ck_slot_ok(&s->images)) {
        if (ck_unknown(r, lc_block_attrs, s->images.calls ? s->images.status : COLLECT_ERROR,
                       s->images.detail ? s->images.detail : "image not read") < 0)
            goto fail;
    } else {
        const char *root = root_device_of(s->images.items, image);
        if (root) {
            if (map_lc_devices(r, item, root) < 0)
                goto fail;
        } else {
            /* Deregistered or not visible: which mapping is the root is
             * not known. */
            char *why = str_printf("image %s not found", image ? image : "(none)");
            if (!why || ck_unknown(r, lc_block_attrs, COLLECT_ERROR, why) < 0) {
                free(why);
                goto fail;
            }
            free(why);
        }
    }
    return ck_add(run, r);
fail:
    resource_free(r);
    return e;
}

static int sort_ids(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The distinct image ids of the launch configurations, sorted (so that
 * requests do not depend on listing order). */
static json_t *image_ids(const json_t *lcs)
{
    json_t *ids = json_array(), *sorted = NULL, **v = NULL;
    size_t i, n;
    json_t *lc;
    if (!ids)
        return NULL;
    json_array_foreach (lcs, i, lc) {
        const char *img = ck_str(lc, "ImageId");
        bool seen = false;
        size_t k;
        json_t *x;
        if (!img)
            continue;
        json_array_foreach (ids, k, x)
            seen = seen || str_eq(json_string_value(x), img);
        if (!seen && json_array_append_new(ids, json_string(img)) < 0)
            goto out;
    }
    n = json_array_size(ids);
    v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        goto out;
    for (i = 0; i < n; i++)
        v[i] = json_array_get(ids, i);
    qsort(v, n, sizeof(*v), sort_ids);
    sorted = json_array();
    for (i = 0; sorted && i < n; i++)
        if (json_array_append(sorted, v[i]) < 0) {
            json_decref(sorted);
            sorted = NULL;
        }
out:
    free(v);
    json_decref(ids);
    return sorted;
}

static int queue_images(struct ck *ck, struct asg_state *s)
{
    json_t *ids = image_ids(s->lcs.items);
    int e = 0;
    if (!ids)
        return -ENOMEM;
    for (size_t off = 0; e == 0 && off < json_array_size(ids); off += IMAGE_BATCH) {
        json_t *batch = json_array();
        struct ck_request req = {
            .service = "ec2", .operation = "DescribeImages", .items = "Images[]", .all_pages = true
        };
        for (size_t k = off; batch && k < off + IMAGE_BATCH && k < json_array_size(ids); k++)
            if (json_array_append(batch, json_array_get(ids, k)) < 0) {
                json_decref(batch);
                batch = NULL;
            }
        /* Deprecated public images are still the root of old launch
         * configurations. */
        req.params = batch ? json_pack("{s:[{s:s, s:o}], s:b}", "Filters", "Name", "image-id",
                                       "Values", batch, "IncludeDeprecated", 1)
                           : NULL;
        e = req.params ? ck_call_slot(ck, &req, &s->images) : -ENOMEM;
    }
    json_decref(ids);
    return e;
}

static void asg_state_free(struct asg_state *s)
{
    ck_slot_clear(&s->lcs);
    ck_slot_clear(&s->images);
    free(s);
}

static bool asg_idle(struct ck *ck, void *ud)
{
    struct asg_state *s = ud;
    struct collect_run *run = ck_collect_run(ck);
    size_t i;
    json_t *lc;
    if (s->phase++ == 0 && ck_slot_ok(&s->lcs) && json_array_size(s->lcs.items) > 0) {
        if (queue_images(ck, s) < 0) {
            s->images.failed = true;
            s->images.status = COLLECT_ERROR;
        }
        if (s->images.calls > 0)
            return true;
    }
    if (!ck_slot_ok(&s->lcs)) {
        collect_scope_status(run, "aws_launch_configuration", s->lcs.status, s->lcs.detail);
    } else {
        collect_scope_status(run, "aws_launch_configuration", COLLECT_OK, NULL);
        json_array_foreach (s->lcs.items, i, lc) {
            int e = build_lc(run, lc, s);
            if (e < 0)
                collect_scope_status(run, "aws_launch_configuration", COLLECT_ERROR,
                                     e == -ENOMEM ? "out of memory"
                                                  : "an item could not be mapped");
        }
    }
    asg_state_free(s);
    return false;
}

static int asg_custom(struct collect_run *run)
{
    struct asg_state *s = calloc(1, sizeof(*s));
    struct ck *ck = NULL;
    struct ck_request req = { .operation = "DescribeLaunchConfigurations",
                              .items = "LaunchConfigurations[]",
                              .all_pages = true };
    if (!s || ck_new(run, &ck) < 0) {
        free(s);
        return -ENOMEM;
    }
    req.params = json_pack("{s:i}", "MaxRecords", 100);
    if (!req.params || ck_call_slot(ck, &req, &s->lcs) < 0) {
        ck_free(ck);
        asg_state_free(s);
        return -ENOMEM;
    }
    ck_run(ck, asg_idle, s);
    return 0;
}

static const struct collect_list asg_lists[] = {
    { .type = "aws_autoscaling_group",
      .aws_type = "AWS::AutoScaling::AutoScalingGroup",
      .operation = "DescribeAutoScalingGroups",
      .params = "{\"MaxRecords\":100,\"IncludeInstances\":false}",
      .items = "AutoScalingGroups[]",
      .all_pages = true,
      .map = map_group },
    { 0 },
};

static const char *const asg_extra_types[] = { "aws_launch_configuration", NULL };

static const char *const asg_iam_actions[] = {
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeLaunchConfigurations",
    "ec2:DescribeImages",
    NULL,
};

const struct collector_def collect_autoscaling = {
    .name = "autoscaling",
    .service = "autoscaling",
    .lists = asg_lists,
    .extra_types = asg_extra_types,
    .custom = asg_custom,
    .iam_actions = asg_iam_actions,
};
