#include "collect_rds.h"

#include <errno.h>
#include <stdlib.h>

#include "fieldmap.h"
#include "util.h"

static const struct fieldmap instance_fields[] = {
    { "address", "Endpoint.Address" },
    { "allocated_storage", "AllocatedStorage" },
    { "arn", "DBInstanceArn" },
    { "auto_minor_version_upgrade", "AutoMinorVersionUpgrade" },
    { "availability_zone", "AvailabilityZone" },
    { "backup_retention_period", "BackupRetentionPeriod" },
    { "backup_window", "PreferredBackupWindow" },
    { "ca_cert_identifier", "CACertificateIdentifier" },
    { "copy_tags_to_snapshot", "CopyTagsToSnapshot" },
    { "db_name", "DBName" },
    { "db_subnet_group_name", "DBSubnetGroup.DBSubnetGroupName" },
    { "deletion_protection", "DeletionProtection" },
    { "enabled_cloudwatch_logs_exports", "EnabledCloudwatchLogsExports[]", FIELDMAP_LIST },
    { "engine", "Engine" },
    { "engine_version", "EngineVersion" },
    { "iam_database_authentication_enabled", "IAMDatabaseAuthenticationEnabled" },
    { "identifier", "DBInstanceIdentifier" },
    { "instance_class", "DBInstanceClass" },
    { "iops", "Iops" },
    { "kms_key_id", "KmsKeyId" },
    { "license_model", "LicenseModel" },
    { "maintenance_window", "PreferredMaintenanceWindow" },
    { "max_allocated_storage", "MaxAllocatedStorage" },
    { "monitoring_interval", "MonitoringInterval" },
    { "monitoring_role_arn", "MonitoringRoleArn" },
    { "multi_az", "MultiAZ" },
    { "network_type", "NetworkType" },
    { "option_group_name", "OptionGroupMemberships[].OptionGroupName", FIELDMAP_FIRST },
    { "parameter_group_name", "DBParameterGroups[].DBParameterGroupName", FIELDMAP_FIRST },
    { "performance_insights_enabled", "PerformanceInsightsEnabled" },
    { "performance_insights_kms_key_id", "PerformanceInsightsKMSKeyId" },
    { "performance_insights_retention_period", "PerformanceInsightsRetentionPeriod" },
    { "port", "Endpoint.Port" },
    { "publicly_accessible", "PubliclyAccessible" },
    { "replicate_source_db", "ReadReplicaSourceDBInstanceIdentifier" },
    { "resource_id", "DbiResourceId" },
    { "status", "DBInstanceStatus" },
    { "storage_encrypted", "StorageEncrypted" },
    { "storage_throughput", "StorageThroughput" },
    { "storage_type", "StorageType" },
    { "username", "MasterUsername" },
    { "vpc_security_group_ids", "VpcSecurityGroups[].VpcSecurityGroupId", FIELDMAP_LIST },
    { NULL },
};

static const struct fieldmap cluster_fields[] = {
    { "allocated_storage", "AllocatedStorage" },
    { "arn", "DBClusterArn" },
    { "availability_zones", "AvailabilityZones[]", FIELDMAP_LIST },
    { "backup_retention_period", "BackupRetentionPeriod" },
    { "cluster_identifier", "DBClusterIdentifier" },
    { "cluster_members", "DBClusterMembers[].DBInstanceIdentifier", FIELDMAP_LIST },
    { "cluster_resource_id", "DbClusterResourceId" },
    { "copy_tags_to_snapshot", "CopyTagsToSnapshot" },
    { "database_name", "DatabaseName" },
    { "db_cluster_parameter_group_name", "DBClusterParameterGroup" },
    { "db_subnet_group_name", "DBSubnetGroup" },
    { "deletion_protection", "DeletionProtection" },
    { "enabled_cloudwatch_logs_exports", "EnabledCloudwatchLogsExports[]", FIELDMAP_LIST },
    { "endpoint", "Endpoint" },
    { "engine", "Engine" },
    { "engine_mode", "EngineMode" },
    { "engine_version", "EngineVersion" },
    { "iam_database_authentication_enabled", "IAMDatabaseAuthenticationEnabled" },
    { "iops", "Iops" },
    { "kms_key_id", "KmsKeyId" },
    { "master_username", "MasterUsername" },
    { "network_type", "NetworkType" },
    { "port", "Port" },
    { "preferred_backup_window", "PreferredBackupWindow" },
    { "preferred_maintenance_window", "PreferredMaintenanceWindow" },
    { "reader_endpoint", "ReaderEndpoint" },
    { "storage_encrypted", "StorageEncrypted" },
    { "storage_type", "StorageType" },
    { "vpc_security_group_ids", "VpcSecurityGroups[].VpcSecurityGroupId", FIELDMAP_LIST },
    { NULL },
};

/* Identity, ARN, the attribute table and tags, shared by both types. */
static int map_common(struct resource *r, const json_t *item, const char *id_member,
                      const char *arn_member, const struct fieldmap *fields)
{
    const char *id = fieldmap_string(item, id_member);
    const char *arn = fieldmap_string(item, arn_member);
    json_t *tags;
    int e;
    if (!id || !*id)
        return -EINVAL;
    if (str_replace(&r->id, id) < 0 || (arn && str_replace(&r->arn, arn) < 0))
        return -ENOMEM;
    e = fieldmap_apply(r->attrs, item, fields);
    if (e < 0)
        return e;
    tags = collect_tags_from_list(json_object_get(item, "TagList"));
    if (!tags)
        return -ENOMEM;
    json_decref(r->tags);
    r->tags = tags;
    return 0;
}

static int map_instance(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *addr = fieldmap_string(item, "Endpoint.Address");
    json_t *port = fieldmap_get(item, "Endpoint.Port");
    json_t *endpoint;
    int e;
    (void)run;
    e = map_common(r, item, "DBInstanceIdentifier", "DBInstanceArn", instance_fields);
    if (e < 0)
        return e;
    /* Terraform's endpoint is "address:port". */
    if (addr && json_is_integer(port)) {
        char *s = str_printf("%s:%" JSON_INTEGER_FORMAT, addr, json_integer_value(port));
        endpoint = s ? json_string(s) : NULL;
        free(s);
    } else {
        endpoint = addr ? json_string(addr) : json_null();
    }
    return json_object_set_new(r->attrs, "endpoint", endpoint) == 0 ? 0 : -ENOMEM;
}

static int map_cluster(struct collect_run *run, const json_t *item, struct resource *r)
{
    (void)run;
    return map_common(r, item, "DBClusterIdentifier", "DBClusterArn", cluster_fields);
}

static const struct collect_list lists[] = {
    { .type = "aws_db_instance",
      .aws_type = "AWS::RDS::DBInstance",
      .operation = "DescribeDBInstances",
      .params = "{\"MaxRecords\":100}",
      .items = "DBInstances[]",
      .all_pages = true,
      .map = map_instance },
    { .type = "aws_rds_cluster",
      .aws_type = "AWS::RDS::DBCluster",
      .operation = "DescribeDBClusters",
      .params = "{\"MaxRecords\":100}",
      .items = "DBClusters[]",
      .all_pages = true,
      .map = map_cluster },
    { 0 },
};

static const char *const iam_actions[] = {
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    NULL,
};

const struct collector_def collect_rds = {
    .name = "rds",
    .service = "rds",
    .lists = lists,
    .iam_actions = iam_actions,
};
