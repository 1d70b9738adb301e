#include <stdlib.h>
#include <string.h>

#include "collect_rds.h"
#include "config.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION "eu-central-1"

static const struct fake_reply ok_replies[] = {
    { "DescribeDBInstances",
      NULL,
      { "rds/describe-db-instances-1.json", "rds/describe-db-instances-2.json" } },
    { "DescribeDBClusters", NULL, { "rds/describe-db-clusters.json" } },
    { NULL },
};

/* The item of a recorded listing whose member id_member equals id. */
static json_t *item_of(const char *file, const char *list, const char *id_member, const char *id)
{
    json_t *out = fake_load(file);
    json_t *found = NULL;
    size_t i;
    json_t *it;
    json_array_foreach (json_object_get(out, list), i, it)
        if (str_eq(json_string_value(json_object_get(it, id_member)), id))
            found = json_incref(it);
    json_decref(out);
    ck_assert_msg(found != NULL, "%s has no %s", file, id);
    return found;
}

START_TEST(instances_and_clusters)
{
    struct fake_run fr = { 0 };
    const struct resource *r;
    json_t *rec = item_of("rds/describe-db-instances-1.json", "DBInstances", "DBInstanceIdentifier",
                          "app-db");
    const json_t *ep = json_object_get(rec, "Endpoint");
    char *endpoint;

    fake_collect(&fr, &collect_rds, ok_replies, REGION, NULL);
    ck_assert_int_eq(fr.unmatched, 0);
    /* One call per list (the fake serves both pages of the instances). */
    ck_assert_int_eq(fr.n_calls, 2);
    ck_assert(fake_call_at(&fr, "DescribeDBInstances", 0)->all_pages);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         fake_call_params(&fr, "DescribeDBInstances", 0), "MaxRecords")),
                     100);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         fake_call_params(&fr, "DescribeDBClusters", 0), "MaxRecords")),
                     100);
    ck_assert_int_eq((int)fake_count(&fr, "aws_db_instance"), 4);
    ck_assert_int_eq((int)fake_count(&fr, "aws_rds_cluster"), 1);

    r = fake_find(&fr, "aws_db_instance", "app-db");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, REGION);
    ck_assert_str_eq(r->account, "111111111111");
    ck_assert_str_eq(r->aws_type, "AWS::RDS::DBInstance");
    ck_assert_str_eq(r->source, "describe");
    ck_assert_str_eq(r->arn, json_string_value(json_object_get(rec, "DBInstanceArn")));
    ck_assert_str_eq(fake_str(r, "arn"), r->arn);
    ck_assert_str_eq(fake_str(r, "identifier"), "app-db");
    ck_assert_str_eq(fake_str(r, "engine"), "postgres");
    ck_assert_str_eq(fake_str(r, "db_name"), "app");
    ck_assert_str_eq(fake_str(r, "db_subnet_group_name"), "dbsub");
    ck_assert_str_eq(fake_str(r, "storage_type"), "io1");
    ck_assert_int_eq(json_integer_value(fake_attr(r, "iops")), 1000);
    ck_assert_int_eq(json_integer_value(fake_attr(r, "allocated_storage")), 20);
    ck_assert_int_eq(json_integer_value(fake_attr(r, "max_allocated_storage")), 100);
    ck_assert_int_eq(json_integer_value(fake_attr(r, "backup_retention_period")), 7);
    ck_assert(json_is_true(fake_attr(r, "storage_encrypted")));
    ck_assert(json_is_true(fake_attr(r, "deletion_protection")));
    ck_assert_str_eq(fake_str(r, "kms_key_id"),
                     json_string_value(json_object_get(rec, "KmsKeyId")));
    ck_assert_str_eq(fake_str(r, "resource_id"),
                     json_string_value(json_object_get(rec, "DbiResourceId")));
    ck_assert_str_eq(fake_str(r, "address"), json_string_value(json_object_get(ep, "Address")));
    ck_assert_int_eq(json_integer_value(fake_attr(r, "port")),
                     json_integer_value(json_object_get(ep, "Port")));
    endpoint = str_printf("%s:%d", json_string_value(json_object_get(ep, "Address")),
                          (int)json_integer_value(json_object_get(ep, "Port")));
    ck_assert_str_eq(fake_str(r, "endpoint"), endpoint);
    free(endpoint);
    ck_assert_str_eq(fake_str(r, "enabled_cloudwatch_logs_exports[0]"), "postgresql");
    ck_assert_str_eq(
        fake_str(r, "vpc_security_group_ids[0]"),
        json_string_value(json_object_get(
            json_array_get(json_object_get(rec, "VpcSecurityGroups"), 0), "VpcSecurityGroupId")));
    ck_assert_str_eq(
        fake_str(r, "parameter_group_name"),
        json_string_value(json_object_get(
            json_array_get(json_object_get(rec, "DBParameterGroups"), 0), "DBParameterGroupName")));
    ck_assert_str_eq(
        fake_str(r, "option_group_name"),
        json_string_value(json_object_get(
            json_array_get(json_object_get(rec, "OptionGroupMemberships"), 0), "OptionGroupName")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "data");
    ck_assert_int_eq((int)json_object_size(r->tags), 1);
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    /* Members AWS did not return are null ("not set"), never absent. */
    ck_assert(json_is_null(fake_attr(r, "replicate_source_db")));
    ck_assert(json_is_null(fake_attr(r, "monitoring_role_arn")));
    ck_assert(json_is_null(fake_attr(r, "storage_throughput")));

    r = fake_find(&fr, "aws_db_instance", "app-db-replica");
    ck_assert_str_eq(fake_str(r, "replicate_source_db"), "app-db");

    /* The second page was read too. */
    r = fake_find(&fr, "aws_db_instance", "legacy");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(json_integer_value(fake_attr(r, "backup_retention_period")), 0);
    ck_assert(json_is_false(fake_attr(r, "storage_encrypted")));
    ck_assert(json_is_null(fake_attr(r, "db_name")));
    ck_assert(json_is_null(fake_attr(r, "max_allocated_storage")));
    ck_assert_int_eq((int)json_object_size(r->tags), 0);

    r = fake_find(&fr, "aws_rds_cluster", "orders");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->aws_type, "AWS::RDS::DBCluster");
    ck_assert_str_eq(fake_str(r, "cluster_identifier"), "orders");
    ck_assert_str_eq(fake_str(r, "engine"), "aurora-postgresql");
    ck_assert_str_eq(fake_str(r, "database_name"), "orders");
    ck_assert(json_is_true(fake_attr(r, "storage_encrypted")));
    ck_assert_str_eq(fake_str(r, "db_subnet_group_name"), "dbsub");
    ck_assert_str_eq(fake_str(r, "cluster_members[0]"), "orders-1");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "orders");
    ck_assert(json_is_array(fake_attr(r, "availability_zones")));

    ck_assert_int_eq(fake_scope(&fr, "aws_db_instance", REGION)->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(&fr, "aws_rds_cluster", REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fr.res->n_scopes, 2);
    json_decref(rec);
    fake_end(&fr);
}
END_TEST

START_TEST(typemap_consistency)
{
    static const struct fake_reply replies[] = {
        { "DescribeDBInstances", NULL, { "rds/describe-db-instances-full.json" } },
        { "DescribeDBClusters", NULL, { "rds/describe-db-clusters-full.json" } },
        { NULL },
    };
    static const char *const derived[] = { "endpoint", NULL };
    struct fake_run fr = { 0 };
    json_t *outputs;
    fake_collect(&fr, &collect_rds, replies, REGION, NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 2);
    outputs =
        json_pack("{s:o}", "DescribeDBInstances", fake_load("rds/describe-db-instances-full.json"));
    fake_check_typemap(fake_find(&fr, "aws_db_instance", "app-db-replica"), outputs, derived);
    json_decref(outputs);
    outputs =
        json_pack("{s:o}", "DescribeDBClusters", fake_load("rds/describe-db-clusters-full.json"));
    fake_check_typemap(fake_find(&fr, "aws_rds_cluster", "orders"), outputs, NULL);
    json_decref(outputs);
    fake_end(&fr);
}
END_TEST

START_TEST(denied_and_throttled)
{
    static const struct fake_reply replies[] = {
        { "DescribeDBInstances",
          NULL,
          { NULL },
          "AccessDenied",
          AWS_ERR_ACCESS_DENIED,
          "rds:DescribeDBInstances" },
        { "DescribeDBClusters", NULL, { NULL }, "Throttling", AWS_ERR_THROTTLED },
        { NULL },
    };
    struct fake_run fr = { 0 };
    const struct snapshot_scope *s;
    fake_collect(&fr, &collect_rds, replies, REGION, NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    s = fake_scope(&fr, "aws_db_instance", REGION);
    ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(s->detail, "rds:DescribeDBInstances");
    s = fake_scope(&fr, "aws_rds_cluster", REGION);
    ck_assert_int_eq(s->status, COLLECT_THROTTLED);
    ck_assert_str_eq(s->detail, "Throttling: fake failure");
    fake_end(&fr);
}
END_TEST

START_TEST(item_without_identifier)
{
    static const struct fake_reply replies[] = {
        { "DescribeDBInstances",
          NULL,
          { "{\"DBInstances\":[{\"Engine\":\"mysql\"},{\"DBInstanceIdentifier\":\"ok-db\"}]}" } },
        { "DescribeDBClusters", NULL, { "{\"DBClusters\":[]}" } },
        { NULL },
    };
    struct fake_run fr = { 0 };
    const struct resource *r;
    fake_collect(&fr, &collect_rds, replies, REGION, NULL);
    /* The good item is kept; the type's read is not complete. */
    r = fake_find(&fr, "aws_db_instance", "ok-db");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(r->arn);
    ck_assert(json_is_null(fake_attr(r, "endpoint")));
    ck_assert_int_eq(fr.res->items_skipped, 1);
    ck_assert_int_eq(fake_scope(&fr, "aws_db_instance", REGION)->status, COLLECT_ERROR);
    ck_assert_str_eq(fake_scope(&fr, "aws_db_instance", REGION)->detail,
                     "an item could not be mapped");
    /* An empty listing is a complete read of nothing. */
    ck_assert_int_eq(fake_scope(&fr, "aws_rds_cluster", REGION)->status, COLLECT_OK);
    ck_assert_int_eq((int)fake_count(&fr, "aws_rds_cluster"), 0);
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    bool in_config = false;
    ck_assert_ptr_eq(collector_find("rds"), &collect_rds);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        if (str_eq(config_collector_defaults[i].name, collect_rds.name))
            in_config = true;
    ck_assert(in_config);
    ck_assert(!collect_rds.global);
    ck_assert_str_eq(collect_rds.iam_actions[0], "rds:DescribeDBClusters");
    ck_assert_str_eq(collect_rds.iam_actions[1], "rds:DescribeDBInstances");
    ck_assert_ptr_null(collect_rds.iam_actions[2]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_rds");
    TCase *tc = tcase_create("rds");
    tcase_add_test(tc, instances_and_clusters);
    tcase_add_test(tc, typemap_consistency);
    tcase_add_test(tc, denied_and_throttled);
    tcase_add_test(tc, item_without_identifier);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
