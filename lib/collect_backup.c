#include "collect_backup.h"

#include <errno.h>
#include <stdlib.h>

#include "collectq.h"
#include "fieldmap.h"
#include "util.h"

#define T_PLAN   "aws_backup_plan"
#define T_VAULT  "aws_backup_vault"
#define T_POINT  "plumb_backup_recovery_point"
#define T_REPORT "aws_backup_report_plan"

static const struct fieldmap lifecycle_fields[] = {
    { "cold_storage_after", "MoveToColdStorageAfterDays" },
    { "delete_after", "DeleteAfterDays" },
    { "opt_in_to_archive_for_supported_resources", "OptInToArchiveForSupportedResources" },
    { NULL },
};

static const struct fieldmap copy_action_fields[] = {
    { "destination_vault_arn", "DestinationBackupVaultArn" },
    { "lifecycle", "Lifecycle", FIELDMAP_BLOCK, lifecycle_fields },
    { NULL },
};

static const struct fieldmap rule_fields[] = {
    { "completion_window", "CompletionWindowMinutes" },
    { "copy_action", "CopyActions", FIELDMAP_BLOCKS, copy_action_fields },
    { "enable_continuous_backup", "EnableContinuousBackup" },
    { "lifecycle", "Lifecycle", FIELDMAP_BLOCK, lifecycle_fields },
    { "recovery_point_tags", "RecoveryPointTags" },
    { "rule_name", "RuleName" },
    { "schedule", "ScheduleExpression" },
    { "schedule_expression_timezone", "ScheduleExpressionTimezone" },
    { "start_window", "StartWindowMinutes" },
    { "target_vault_name", "TargetBackupVaultName" },
    { NULL },
};

static const struct fieldmap advanced_fields[] = {
    { "backup_options", "BackupOptions" },
    { "resource_type", "ResourceType" },
    { NULL },
};

/* ListBackupPlans items carry everything but the rules. */
static const struct fieldmap plan_fields[] = {
    { "advanced_backup_setting", "AdvancedBackupSettings", FIELDMAP_BLOCKS, advanced_fields },
    { "arn", "BackupPlanArn" },
    { "name", "BackupPlanName" },
    { "version", "VersionId" },
    { NULL },
};

/* GetBackupPlan: the plan document, authoritative for the same version. */
static const struct fieldmap plan_detail_fields[] = {
    { "advanced_backup_setting", "BackupPlan.AdvancedBackupSettings", FIELDMAP_BLOCKS,
      advanced_fields },
    { "name", "BackupPlan.BackupPlanName" },
    { "rule", "BackupPlan.Rules", FIELDMAP_BLOCKS, rule_fields },
    { "version", "VersionId" },
    { NULL },
};

static const struct fieldmap vault_fields[] = {
    { "arn", "BackupVaultArn" },
    { "encryption_key_type", "EncryptionKeyType" },
    { "kms_key_arn", "EncryptionKeyArn" },
    { "name", "BackupVaultName" },
    { "recovery_points", "NumberOfRecoveryPoints" },
    { "vault_type", "VaultType" },
    { NULL },
};

static const struct fieldmap point_fields[] = {
    { "backup_vault_name", "BackupVaultName" },
    { "creation_date", "CreationDate" },
    { "delete_after_days", "Lifecycle.DeleteAfterDays" },
    { "encryption_key_arn", "EncryptionKeyArn" },
    { "is_encrypted", "IsEncrypted" },
    { "resource_arn", "ResourceArn" },
    { "resource_type", "ResourceType" },
    { "status", "Status" },
    { NULL },
};

static const struct fieldmap delivery_fields[] = {
    { "formats", "Formats" },
    { "s3_bucket_name", "S3BucketName" },
    { "s3_key_prefix", "S3KeyPrefix" },
    { NULL },
};

static const struct fieldmap setting_fields[] = {
    { "accounts", "Accounts" },
    { "framework_arns", "FrameworkArns" },
    { "number_of_frameworks", "NumberOfFrameworks" },
    { "organization_units", "OrganizationUnits" },
    { "regions", "Regions" },
    { "report_template", "ReportTemplate" },
    { NULL },
};

static const struct fieldmap report_fields[] = {
    { "arn", "ReportPlanArn" },
    { "creation_time", "CreationTime" },
    { "deployment_status", "DeploymentStatus" },
    { "description", "ReportPlanDescription" },
    { "name", "ReportPlanName" },
    { "report_delivery_channel", "ReportDeliveryChannel", FIELDMAP_BLOCK, delivery_fields },
    { "report_setting", "ReportSetting", FIELDMAP_BLOCK, setting_fields },
    { NULL },
};

/* Identity and attributes of one item. */
static int fill(struct resource *r, const json_t *item, const char *id_member,
                const char *arn_member, const struct fieldmap *fields)
{
    const char *id = fieldmap_string(item, id_member);
    const char *arn = fieldmap_string(item, arn_member);
    if (!id || !*id)
        return -EINVAL;
    if (str_replace(&r->id, id) < 0 || (arn && str_replace(&r->arn, arn) < 0))
        return -ENOMEM;
    return fieldmap_apply(r->attrs, item, fields);
}

/* ---- plans: a framework list with GetBackupPlan per plan ---- */

static int map_plan(struct collect_run *run, const json_t *item, struct resource *r)
{
    int e;
    (void)run;
    e = fill(r, item, "BackupPlanId", "BackupPlanArn", plan_fields);
    return e < 0 ? e : collectq_tags_not_read(r);
}

static int plan_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    (void)run;
    *ret = json_pack("{s:s}", "BackupPlanId", r->id);
    return *ret ? 0 : -ENOMEM;
}

static int merge_plan(struct collect_run *run, struct resource *parent, struct resource *child,
                      const json_t *output)
{
    (void)run;
    (void)child;
    return fieldmap_apply(parent->attrs, output, plan_detail_fields);
}

static const char *const plan_detail_attrs[] = { "rule", NULL };

static const struct collect_detail plan_details[] = {
    { .operation = "GetBackupPlan",
      .params = plan_params,
      .merge = merge_plan,
      .attrs = plan_detail_attrs },
    { 0 },
};

static const struct collect_list lists[] = {
    { .type = T_PLAN,
      .aws_type = "AWS::Backup::BackupPlan",
      .operation = "ListBackupPlans",
      .params = "{\"MaxResults\":1000}",
      .items = "BackupPlansList[]",
      .all_pages = true,
      .map = map_plan,
      .details = plan_details },
    { 0 },
};

/* ---- vaults, their recovery points, report plans: custom ---- */

static const char *const vault_gone[] = { "ResourceNotFoundException", NULL };

/* Map every item at path of output with fields and add it. */
static int add_items(struct collectq *q, const json_t *output, const char *path, const char *type,
                     const char *aws_type, const char *id_member, const char *arn_member,
                     const struct fieldmap *fields, bool tags_not_read,
                     int (*each)(struct collectq *q, const json_t *item, struct resource *r))
{
    struct collect_run *run = collectq_run(q);
    json_t *items = collect_items(output, path);
    size_t i;
    json_t *item;
    int e = 0;
    if (!items)
        return -ENOMEM;
    json_array_foreach (items, i, item) {
        struct resource *r = NULL;
        e = collect_new_resource(run, type, aws_type, "", &r);
        if (e == 0)
            e = fill(r, item, id_member, arn_member, fields);
        if (e == 0 && tags_not_read)
            e = collectq_tags_not_read(r);
        if (e == 0)
            e = collect_add(run, r);
        if (e < 0) {
            resource_free(r);
            break;
        }
        if (each && (e = each(q, item, r)) < 0)
            break;
    }
    json_decref(items);
    return e;
}

static void points_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_POINT, st, detail);
}

static int points_page(struct collectq *q, const json_t *output, void *ud)
{
    (void)ud;
    return add_items(q, output, "RecoveryPoints[]", T_POINT, "AWS::Backup::RecoveryPoint",
                     "RecoveryPointArn", "RecoveryPointArn", point_fields, false, NULL);
}

/* Queue the recovery-point listing of a vault, unless AWS counts none in
 * it (then there is nothing to list). */
static int queue_points(struct collectq *q, const json_t *item, struct resource *vault)
{
    json_t *count = json_object_get(item, "NumberOfRecoveryPoints");
    json_t *params;
    (void)vault;
    if (json_is_integer(count) && json_integer_value(count) == 0)
        return 0;
    params = json_pack("{s:s,s:i}", "BackupVaultName", vault->id, "MaxResults", 1000);
    if (!params)
        return -ENOMEM;
    return collectq_add(q, &(struct collectq_req){ .operation = "ListRecoveryPointsByBackupVault",
                                                   .params = params,
                                                   .all_pages = true,
                                                   .absent_codes = vault_gone,
                                                   .page = points_page,
                                                   .fail = points_fail });
}

static int vaults_page(struct collectq *q, const json_t *output, void *ud)
{
    (void)ud;
    return add_items(q, output, "BackupVaultList[]", T_VAULT, "AWS::Backup::BackupVault",
                     "BackupVaultName", "BackupVaultArn", vault_fields, true, queue_points);
}

static void vaults_ok(struct collectq *q, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_VAULT, COLLECT_OK, NULL);
    collect_scope_status(collectq_run(q), T_POINT, COLLECT_OK, NULL);
}

static void vaults_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    /* Without the vaults, their recovery points are unknown too. */
    collect_scope_status(collectq_run(q), T_VAULT, st, detail);
    collect_scope_status(collectq_run(q), T_POINT, st, detail);
}

static int reports_page(struct collectq *q, const json_t *output, void *ud)
{
    (void)ud;
    return add_items(q, output, "ReportPlans[]", T_REPORT, "AWS::Backup::ReportPlan",
                     "ReportPlanName", "ReportPlanArn", report_fields, true, NULL);
}

static void reports_ok(struct collectq *q, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_REPORT, COLLECT_OK, NULL);
}

static void reports_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_REPORT, st, detail);
}

static int custom(struct collect_run *run)
{
    struct collectq *q = NULL;
    json_t *vp = json_pack("{s:i}", "MaxResults", 1000);
    json_t *rp = json_pack("{s:i}", "MaxResults", 1000);
    int e = collectq_new(run, &q);
    if (e < 0) {
        json_decref(vp);
        json_decref(rp);
        return e;
    }
    e = !vp ? -ENOMEM
            : collectq_add(q, &(struct collectq_req){ .operation = "ListBackupVaults",
                                                      .params = vp,
                                                      .all_pages = true,
                                                      .page = vaults_page,
                                                      .ok = vaults_ok,
                                                      .fail = vaults_fail });
    if (e < 0)
        vaults_fail(q, COLLECT_ERROR, "out of memory", NULL);
    e = !rp ? -ENOMEM
            : collectq_add(q, &(struct collectq_req){ .operation = "ListReportPlans",
                                                      .params = rp,
                                                      .in_token = "NextToken",
                                                      .out_token = "NextToken",
                                                      .page = reports_page,
                                                      .ok = reports_ok,
                                                      .fail = reports_fail });
    if (e < 0)
        reports_fail(q, COLLECT_ERROR, "out of memory", NULL);
    collectq_release(q);
    return 0;
}

static const char *const extra_types[] = { T_VAULT, T_POINT, T_REPORT, NULL };

static const char *const iam_actions[] = {
    "backup:GetBackupPlan",    "backup:ListBackupPlans",
    "backup:ListBackupVaults", "backup:ListRecoveryPointsByBackupVault",
    "backup:ListReportPlans",  NULL,
};

const struct collector_def collect_backup = {
    .name = "backup",
    .service = "backup",
    .lists = lists,
    .extra_types = extra_types,
    .custom = custom,
    .iam_actions = iam_actions,
};
