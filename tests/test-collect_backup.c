#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_backup.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION "eu-central-1"

/* Plan ids are random in the recording: read them from it. */
struct plan_ids {
    char daily[64], weekly[64];
    char daily_match[128], weekly_match[128];
};

static void load_plan_ids(struct plan_ids *p)
{
    json_t *out = fake_load("backup/list-backup-plans.json");
    size_t i;
    json_t *it;
    memset(p, 0, sizeof(*p));
    json_array_foreach (json_object_get(out, "BackupPlansList"), i, it) {
        const char *name = json_string_value(json_object_get(it, "BackupPlanName"));
        const char *id = json_string_value(json_object_get(it, "BackupPlanId"));
        if (str_eq(name, "daily"))
            snprintf(p->daily, sizeof(p->daily), "%s", id);
        else if (str_eq(name, "weekly"))
            snprintf(p->weekly, sizeof(p->weekly), "%s", id);
    }
    json_decref(out);
    ck_assert(*p->daily && *p->weekly);
    snprintf(p->daily_match, sizeof(p->daily_match), "{\"BackupPlanId\":\"%s\"}", p->daily);
    snprintf(p->weekly_match, sizeof(p->weekly_match), "{\"BackupPlanId\":\"%s\"}", p->weekly);
}

/* The happy replies, with room to put overrides in front. */
#define N_OVERRIDES 2
static void make_replies(struct fake_reply *out, const struct plan_ids *p,
                         const struct fake_reply *overrides)
{
    const struct fake_reply base[] = {
        { "ListBackupPlans", NULL, { "backup/list-backup-plans.json" } },
        { "GetBackupPlan", p->daily_match, { "backup/get-backup-plan-daily.json" } },
        { "GetBackupPlan", p->weekly_match, { "backup/get-backup-plan-weekly.json" } },
        { "ListBackupVaults", NULL, { "backup/list-backup-vaults.json" } },
        { "ListRecoveryPointsByBackupVault",
          "{\"BackupVaultName\":\"main\"}",
          { "backup/list-recovery-points-main.json" } },
        { "ListReportPlans",
          "{\"NextToken\":\"report-page-2\"}",
          { "backup/list-report-plans-2.json" } },
        { "ListReportPlans", NULL, { "backup/list-report-plans-1.json" } },
        { NULL },
    };
    size_t n = 0;
    for (size_t i = 0; overrides && overrides[i].op && i < N_OVERRIDES; i++)
        out[n++] = overrides[i];
    memcpy(out + n, base, sizeof(base));
}

#define N_REPLIES (N_OVERRIDES + 8)

START_TEST(everything)
{
    struct plan_ids ids;
    struct fake_reply replies[N_REPLIES];
    struct fake_run fr = { 0 };
    const struct resource *r;
    const json_t *rule;
    json_t *rec;
    load_plan_ids(&ids);
    make_replies(replies, &ids, NULL);
    fake_collect(&fr, &collect_backup, replies, REGION, NULL);
    ck_assert_int_eq(fr.unmatched, 0);

    /* Calls: one list each, a plan per plan, recovery points only for the
     * vault AWS counts any in, report plans paged by hand. */
    ck_assert_int_eq(fake_calls(&fr, "ListBackupPlans"), 1);
    ck_assert_int_eq(fake_calls(&fr, "GetBackupPlan"), 2);
    ck_assert_int_eq(fake_calls(&fr, "ListBackupVaults"), 1);
    ck_assert_int_eq(fake_calls(&fr, "ListRecoveryPointsByBackupVault"), 1);
    ck_assert_int_eq(fake_calls(&fr, "ListReportPlans"), 2);
    ck_assert_int_eq(fr.n_calls, 7);
    ck_assert_int_eq(
        json_integer_value(json_object_get(
            fake_call_params(&fr, "ListRecoveryPointsByBackupVault", 0), "MaxResults")),
        1000);
    ck_assert(fake_call_at(&fr, "ListRecoveryPointsByBackupVault", 0)->all_pages);
    ck_assert_int_eq(json_integer_value(json_object_get(fake_call_params(&fr, "ListBackupPlans", 0),
                                                        "MaxResults")),
                     1000);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         fake_call_params(&fr, "ListBackupVaults", 0), "MaxResults")),
                     1000);
    ck_assert_int_eq(json_integer_value(json_object_get(fake_call_params(&fr, "ListReportPlans", 1),
                                                        "MaxResults")),
                     1000);
    ck_assert(!fake_call_at(&fr, "ListReportPlans", 0)->all_pages);

    /* Plans. */
    ck_assert_int_eq((int)fake_count(&fr, "aws_backup_plan"), 2);
    r = fake_find(&fr, "aws_backup_plan", ids.daily);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->aws_type, "AWS::Backup::BackupPlan");
    ck_assert(str_has_suffix(r->arn, ids.daily));
    ck_assert_str_eq(fake_str(r, "arn"), r->arn);
    ck_assert_str_eq(fake_str(r, "name"), "daily");
    rec = fake_load("backup/get-backup-plan-daily.json");
    ck_assert_str_eq(fake_str(r, "version"), json_string_value(json_object_get(rec, "VersionId")));
    json_decref(rec);
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "rule")), 1);
    rule = json_array_get(fake_attr(r, "rule"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(rule, "rule_name")), "daily-35d");
    ck_assert_str_eq(fake_str(r, "rule[0].schedule"), "cron(0 5 ? * * *)");
    ck_assert_str_eq(fake_str(r, "rule[0].target_vault_name"), "main");
    ck_assert_int_eq(json_integer_value(fake_attr(r, "rule[0].start_window")), 60);
    ck_assert_int_eq(json_integer_value(fake_attr(r, "rule[0].completion_window")), 180);
    ck_assert_int_eq(json_integer_value(fake_attr(r, "rule[0].lifecycle[0].delete_after")), 35);
    ck_assert(json_is_null(fake_attr(r, "rule[0].lifecycle[0].cold_storage_after")));
    ck_assert_str_eq(fake_str(r, "rule[0].recovery_point_tags.plan"), "daily");
    ck_assert_str_eq(fake_str(r, "rule[0].copy_action[0].destination_vault_arn"),
                     "arn:aws:backup:eu-west-1:123456789012:backup-vault:dr");
    ck_assert_int_eq(
        json_integer_value(fake_attr(r, "rule[0].copy_action[0].lifecycle[0].delete_after")), 90);
    ck_assert_str_eq(fake_str(r, "advanced_backup_setting[0].resource_type"), "EC2");
    ck_assert_str_eq(fake_str(r, "advanced_backup_setting[0].backup_options.WindowsVSS"),
                     "enabled");
    /* Tags take a call per plan: not read, and said so. */
    ck_assert_int_eq((int)json_object_size(r->unknown), 1);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:not read (one call per resource)");
    r = fake_find(&fr, "aws_backup_plan", ids.weekly);
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "advanced_backup_setting")), 0);
    ck_assert(json_is_array(fake_attr(r, "rule[0].copy_action")));
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "rule[0].copy_action")), 0);
    ck_assert_int_eq(json_integer_value(fake_attr(r, "rule[0].lifecycle[0].delete_after")), 7);

    /* Vaults. */
    ck_assert_int_eq((int)fake_count(&fr, "aws_backup_vault"), 2);
    r = fake_find(&fr, "aws_backup_vault", "main");
    ck_assert_str_eq(r->arn, "arn:aws:backup:eu-central-1:123456789012:backup-vault:main");
    ck_assert_str_eq(fake_str(r, "kms_key_arn"), "arn:aws:kms:eu-central-1:123456789012:key/4444");
    ck_assert_str_eq(fake_str(r, "encryption_key_type"), "CUSTOMER_MANAGED_KMS_KEY");
    ck_assert_str_eq(fake_str(r, "vault_type"), "BACKUP_VAULT");
    ck_assert_int_eq(json_integer_value(fake_attr(r, "recovery_points")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:not read (one call per resource)");
    r = fake_find(&fr, "aws_backup_vault", "Default");
    ck_assert(json_is_null(fake_attr(r, "kms_key_arn")));
    ck_assert(json_is_null(fake_attr(r, "encryption_key_type")));

    /* Recovery points of the main vault. */
    ck_assert_int_eq((int)fake_count(&fr, "plumb_backup_recovery_point"), 2);
    r = fake_find(&fr, "plumb_backup_recovery_point",
                  "arn:aws:ec2:eu-central-1::snapshot/snap-0a1b2c3d4e5f60718");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->arn, r->id);
    ck_assert_str_eq(r->region, REGION);
    ck_assert_str_eq(r->aws_type, "AWS::Backup::RecoveryPoint");
    ck_assert(json_is_true(fake_attr(r, "is_encrypted")));
    ck_assert_str_eq(fake_str(r, "encryption_key_arn"),
                     "arn:aws:kms:eu-central-1:123456789012:key/4444");
    ck_assert_str_eq(fake_str(r, "backup_vault_name"), "main");
    ck_assert_str_eq(fake_str(r, "resource_type"), "EBS");
    ck_assert_str_eq(fake_str(r, "status"), "COMPLETED");
    ck_assert_str_eq(fake_str(r, "creation_date"), "2025-06-01T05:00:12.301Z");
    ck_assert_int_eq(json_integer_value(fake_attr(r, "delete_after_days")), 35);
    /* Not a Terraform type: its tags are not part of the table. */
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    r = fake_find(&fr, "plumb_backup_recovery_point",
                  "arn:aws:backup:eu-central-1:123456789012:recovery-point:"
                  "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    ck_assert(json_is_false(fake_attr(r, "is_encrypted")));
    ck_assert(json_is_null(fake_attr(r, "encryption_key_arn")));
    ck_assert(json_is_null(fake_attr(r, "delete_after_days")));

    /* Report plans from both pages. */
    ck_assert_int_eq((int)fake_count(&fr, "aws_backup_report_plan"), 2);
    r = fake_find(&fr, "aws_backup_report_plan", "jobs");
    ck_assert_str_eq(r->arn, "arn:aws:backup:eu-central-1:123456789012:report-plan:jobs");
    ck_assert_str_eq(fake_str(r, "description"), "backup jobs");
    ck_assert_str_eq(fake_str(r, "deployment_status"), "COMPLETED");
    ck_assert_str_eq(fake_str(r, "report_delivery_channel[0].s3_bucket_name"), "reports");
    ck_assert_str_eq(fake_str(r, "report_delivery_channel[0].s3_key_prefix"), "backup");
    ck_assert_str_eq(fake_str(r, "report_delivery_channel[0].formats[1]"), "JSON");
    ck_assert_str_eq(fake_str(r, "report_setting[0].report_template"), "BACKUP_JOB_REPORT");
    r = fake_find(&fr, "aws_backup_report_plan", "compliance");
    ck_assert(json_is_null(fake_attr(r, "description")));
    ck_assert_str_eq(fake_str(r, "report_setting[0].framework_arns[0]"),
                     "arn:aws:backup:eu-central-1:123456789012:framework:f1");

    ck_assert_int_eq((int)fr.res->n_scopes, 4);
    ck_assert_int_eq(fake_scope(&fr, "aws_backup_plan", REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, "aws_backup_vault", REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, "plumb_backup_recovery_point", REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, "aws_backup_report_plan", REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(detail_and_child_failures)
{
    struct plan_ids ids;
    struct fake_reply replies[N_REPLIES];
    struct fake_reply over[N_OVERRIDES + 1];
    struct fake_run fr = { 0 };
    const struct resource *r;
    const struct snapshot_scope *s;
    load_plan_ids(&ids);
    memset(over, 0, sizeof(over));
    over[0] = (struct fake_reply){
        "GetBackupPlan", ids.weekly_match, { NULL }, "Throttling", AWS_ERR_THROTTLED
    };
    over[1] = (struct fake_reply){ "ListRecoveryPointsByBackupVault",
                                   NULL,
                                   { NULL },
                                   "AccessDeniedException",
                                   AWS_ERR_ACCESS_DENIED,
                                   "backup:ListRecoveryPointsByBackupVault" };
    make_replies(replies, &ids, over);
    fake_collect(&fr, &collect_backup, replies, REGION, NULL);

    /* The weekly plan stays, its rules unknown; the other plan is whole. */
    r = fake_find(&fr, "aws_backup_plan", ids.weekly);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(fake_attr(r, "rule"));
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "rule")),
                     "throttled:Throttling: fake failure");
    ck_assert_str_eq(fake_str(r, "name"), "weekly");
    r = fake_find(&fr, "aws_backup_plan", ids.daily);
    ck_assert_ptr_null(json_object_get(r->unknown, "rule"));
    ck_assert_int_eq(fake_scope(&fr, "aws_backup_plan", REGION)->status, COLLECT_OK);

    /* A vault whose recovery points cannot be listed makes the recovery
     * points of the region unknown: none is tombstoned. */
    ck_assert_int_eq((int)fake_count(&fr, "plumb_backup_recovery_point"), 0);
    s = fake_scope(&fr, "plumb_backup_recovery_point", REGION);
    ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(s->detail, "backup:ListRecoveryPointsByBackupVault");
    ck_assert_int_eq(fake_scope(&fr, "aws_backup_vault", REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fake_count(&fr, "aws_backup_vault"), 2);
    fake_end(&fr);
}
END_TEST

START_TEST(list_failures)
{
    struct plan_ids ids;
    struct fake_reply replies[N_REPLIES];
    struct fake_reply over[N_OVERRIDES + 1];
    struct fake_run fr = { 0 };
    const struct snapshot_scope *s;
    load_plan_ids(&ids);
    memset(over, 0, sizeof(over));
    over[0] = (struct fake_reply){
        "ListBackupVaults",       NULL, { NULL }, "AccessDeniedException", AWS_ERR_ACCESS_DENIED,
        "backup:ListBackupVaults"
    };
    over[1] = (struct fake_reply){ "ListReportPlans",
                                   "{\"NextToken\":\"report-page-2\"}",
                                   { NULL },
                                   "ServiceUnavailableException",
                                   AWS_ERR_SERVER };
    make_replies(replies, &ids, over);
    fake_collect(&fr, &collect_backup, replies, REGION, NULL);
    /* No vaults: vaults and their recovery points are unknown. */
    s = fake_scope(&fr, "aws_backup_vault", REGION);
    ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(s->detail, "backup:ListBackupVaults");
    s = fake_scope(&fr, "plumb_backup_recovery_point", REGION);
    ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(fake_calls(&fr, "ListRecoveryPointsByBackupVault"), 0);
    /* The second report page failed: the first page's plan stays, the
     * type is unknown. */
    ck_assert_ptr_nonnull(fake_find(&fr, "aws_backup_report_plan", "jobs"));
    ck_assert_ptr_null(fake_find(&fr, "aws_backup_report_plan", "compliance"));
    s = fake_scope(&fr, "aws_backup_report_plan", REGION);
    ck_assert_int_eq(s->status, COLLECT_ERROR);
    ck_assert_str_eq(s->detail, "ServiceUnavailableException: fake failure");
    /* Plans are independent of both. */
    ck_assert_int_eq(fake_scope(&fr, "aws_backup_plan", REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fake_count(&fr, "aws_backup_plan"), 2);
    fake_end(&fr);
}
END_TEST

START_TEST(vault_gone_meanwhile)
{
    struct plan_ids ids;
    struct fake_reply replies[N_REPLIES];
    struct fake_reply over[N_OVERRIDES + 1];
    struct fake_run fr = { 0 };
    load_plan_ids(&ids);
    memset(over, 0, sizeof(over));
    over[0] = (struct fake_reply){ "ListRecoveryPointsByBackupVault",
                                   NULL,
                                   { NULL },
                                   "ResourceNotFoundException",
                                   AWS_ERR_NOT_FOUND };
    make_replies(replies, &ids, over);
    fake_collect(&fr, &collect_backup, replies, REGION, NULL);
    ck_assert_int_eq((int)fake_count(&fr, "plumb_backup_recovery_point"), 0);
    ck_assert_int_eq(fake_scope(&fr, "plumb_backup_recovery_point", REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(typemap_consistency)
{
    struct plan_ids ids;
    struct fake_reply replies[N_REPLIES];
    struct fake_reply over[N_OVERRIDES + 1];
    struct fake_run fr = { 0 };
    json_t *outputs, *report, *item;
    load_plan_ids(&ids);
    memset(over, 0, sizeof(over));
    over[0] = (struct fake_reply){ "GetBackupPlan",
                                   ids.daily_match,
                                   { "backup/get-backup-plan-full.json" } };
    over[1] =
        (struct fake_reply){ "ListReportPlans", NULL, { "backup/list-report-plans-full.json" } };
    make_replies(replies, &ids, over);
    fake_collect(&fr, &collect_backup, replies, REGION, NULL);

    outputs = json_pack("{s:o,s:o}", "ListBackupPlans", fake_load("backup/list-backup-plans.json"),
                        "GetBackupPlan", fake_load("backup/get-backup-plan-full.json"));
    fake_check_typemap(fake_find(&fr, "aws_backup_plan", ids.daily), outputs, NULL);
    json_decref(outputs);
    outputs = json_pack("{s:o}", "ListBackupVaults", fake_load("backup/list-backup-vaults.json"));
    fake_check_typemap(fake_find(&fr, "aws_backup_vault", "main"), outputs, NULL);
    json_decref(outputs);
    outputs = json_pack("{s:o}", "ListRecoveryPointsByBackupVault",
                        fake_load("backup/list-recovery-points-main.json"));
    fake_check_typemap(fake_find(&fr, "plumb_backup_recovery_point",
                                 "arn:aws:ec2:eu-central-1::snapshot/snap-0a1b2c3d4e5f60718"),
                       outputs, NULL);
    json_decref(outputs);
    /* The type table reads report plans from DescribeReportPlan; the items
     * of ListReportPlans are the same ReportPlan shape, which is why the
     * collector does not describe them one by one.  Checked as such. */
    report = fake_load("backup/list-report-plans-full.json");
    item = json_array_get(json_object_get(report, "ReportPlans"), 0);
    outputs = json_pack("{s:{s:O}}", "DescribeReportPlan", "ReportPlan", item);
    fake_check_typemap(fake_find(&fr, "aws_backup_report_plan", "compliance"), outputs, NULL);
    json_decref(outputs);
    json_decref(report);
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    static const char *const want[] = {
        "backup:GetBackupPlan",    "backup:ListBackupPlans",
        "backup:ListBackupVaults", "backup:ListRecoveryPointsByBackupVault",
        "backup:ListReportPlans",  NULL,
    };
    ck_assert_ptr_eq(collector_find("backup"), &collect_backup);
    ck_assert(!collect_backup.global);
    for (size_t i = 0; want[i] || collect_backup.iam_actions[i]; i++)
        ck_assert_str_eq(collect_backup.iam_actions[i], want[i]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_backup");
    TCase *tc = tcase_create("backup");
    tcase_add_test(tc, everything);
    tcase_add_test(tc, detail_and_child_failures);
    tcase_add_test(tc, list_failures);
    tcase_add_test(tc, vault_gone_meanwhile);
    tcase_add_test(tc, typemap_consistency);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
