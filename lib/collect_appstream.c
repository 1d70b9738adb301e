#include "collect_appstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_kit.h"
#include "util.h"

static const struct ck_field capacity_fields[] = {
    { "available", "Available" },
    { "desired_instances", "Desired" },
    { "desired_sessions", "DesiredUserSessions" },
    { "in_use", "InUse" },
    { "running", "Running" },
    { NULL },
};
static const struct ck_field domain_join_fields[] = {
    { "directory_name", "DirectoryName" },
    { "organizational_unit_distinguished_name", "OrganizationalUnitDistinguishedName" },
    { NULL },
};
static const struct ck_field vpc_fields[] = {
    { "security_group_ids", "SecurityGroupIds", CK_LIST },
    { "subnet_ids", "SubnetIds", CK_LIST },
    { NULL },
};
static const struct ck_field fleet_fields[] = {
    { "arn", "Arn" },
    { "compute_capacity", "ComputeCapacityStatus", CK_BLOCK, capacity_fields },
    { "created_time", "CreatedTime" },
    { "description", "Description" },
    { "disconnect_timeout_in_seconds", "DisconnectTimeoutInSeconds" },
    { "display_name", "DisplayName" },
    { "domain_join_info", "DomainJoinInfo", CK_BLOCK, domain_join_fields },
    { "enable_default_internet_access", "EnableDefaultInternetAccess" },
    { "fleet_type", "FleetType" },
    { "iam_role_arn", "IamRoleArn" },
    { "idle_disconnect_timeout_in_seconds", "IdleDisconnectTimeoutInSeconds" },
    { "image_arn", "ImageArn" },
    { "image_name", "ImageName" },
    { "instance_type", "InstanceType" },
    { "max_sessions_per_instance", "MaxSessionsPerInstance" },
    { "max_user_duration_in_seconds", "MaxUserDurationInSeconds" },
    { "name", "Name" },
    { "state", "State" },
    { "stream_view", "StreamView" },
    { "vpc_config", "VpcConfig", CK_BLOCK, vpc_fields },
    { NULL },
};

static int map_fleet(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *name = ck_str(item, "Name");
    const char *arn = ck_str(item, "Arn");
    (void)run;
    if (!name || !arn)
        return -EINVAL;
    if (str_replace(&r->id, name) < 0 || str_replace(&r->arn, arn) < 0 ||
        ck_map(r->attrs, item, fleet_fields) < 0)
        return -ENOMEM;
    return 0;
}

static int tag_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    (void)run;
    *ret = json_pack("{s:s}", "ResourceArn", r->arn);
    return *ret ? 0 : -ENOMEM;
}

static int merge_tags(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    const json_t *map = json_object_get(output, "Tags");
    json_t *tags;
    const char *k;
    json_t *v;
    (void)run;
    (void)child;
    if (!output)
        return 0; /* deleted since the listing */
    tags = json_object();
    if (!tags)
        return -ENOMEM;
    json_object_foreach ((json_t *)map, k, v)
        if (json_is_string(v) && json_object_set(tags, k, v) < 0) {
            json_decref(tags);
            return -ENOMEM;
        }
    json_decref(parent->tags);
    parent->tags = tags;
    return 0;
}

static const char *const not_found[] = { "ResourceNotFoundException", NULL };
static const char *const tag_attrs[] = { "tags", NULL };

static const struct collect_detail fleet_details[] = {
    { .operation = "ListTagsForResource",
      .params = tag_params,
      .merge = merge_tags,
      .absent_codes = not_found,
      .attrs = tag_attrs },
    { 0 },
};

static const struct collect_list appstream_lists[] = {
    { .type = "aws_appstream_fleet",
      .aws_type = "AWS::AppStream::Fleet",
      .operation = "DescribeFleets",
      .items = "Fleets[]",
      .all_pages = true,
      .map = map_fleet,
      .details = fleet_details },
    { 0 },
};

static const char *const appstream_iam_actions[] = {
    "appstream:DescribeFleets",
    "appstream:ListTagsForResource",
    NULL,
};

const struct collector_def collect_appstream = {
    .name = "appstream",
    .service = "appstream",
    .lists = appstream_lists,
    .iam_actions = appstream_iam_actions,
};
