/* Collector "backup": AWS Backup plans (aws_backup_plan), vaults
 * (aws_backup_vault), the recovery points in each vault
 * (plumb_backup_recovery_point) and report plans (aws_backup_report_plan),
 * regional.
 *
 * Calls per region: ListBackupPlans (per page of 1000) and GetBackupPlan
 * per plan (its rules: schedule and retention); ListBackupVaults (per page
 * of 1000) and ListRecoveryPointsByBackupVault per vault (per page of
 * 1000); ListReportPlans (per page of 1000, paged by hand: botocore has no
 * paginator for it; its items carry everything DescribeReportPlan would).
 * Tags (ListTags, one call per resource) are not read: "tags" is marked
 * not_collected, so drift skips them.  A recovery-point listing that fails
 * for one vault makes the recovery points of the region UNKNOWN (never
 * tombstoned). */
#ifndef PLUMB_COLLECT_BACKUP_H
#define PLUMB_COLLECT_BACKUP_H

#include "collect.h"

extern const struct collector_def collect_backup;

#endif
