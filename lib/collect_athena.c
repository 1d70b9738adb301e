#include "collect_athena.h"

#include <errno.h>
#include <stdlib.h>

#include "collectq.h"
#include "fieldmap.h"
#include "util.h"

#define T_WORKGROUP "aws_athena_workgroup"

static const struct fieldmap summary_fields[] = {
    { "description", "Description" },
    { "name", "Name" },
    { "state", "State" },
    { NULL },
};

static const struct fieldmap engine_fields[] = {
    { "effective_engine_version", "EffectiveEngineVersion" },
    { "selected_engine_version", "SelectedEngineVersion" },
    { NULL },
};

static const struct fieldmap acl_fields[] = {
    { "s3_acl_option", "S3AclOption" },
    { NULL },
};

static const struct fieldmap encryption_fields[] = {
    { "encryption_option", "EncryptionOption" },
    { "kms_key_arn", "KmsKey" },
    { NULL },
};

static const struct fieldmap result_fields[] = {
    { "acl_configuration", "AclConfiguration", FIELDMAP_BLOCK, acl_fields },
    { "encryption_configuration", "EncryptionConfiguration", FIELDMAP_BLOCK, encryption_fields },
    { "expected_bucket_owner", "ExpectedBucketOwner" },
    { "output_location", "OutputLocation" },
    { NULL },
};

static const struct fieldmap configuration_fields[] = {
    { "bytes_scanned_cutoff_per_query", "BytesScannedCutoffPerQuery" },
    { "enforce_workgroup_configuration", "EnforceWorkGroupConfiguration" },
    { "engine_version", "EngineVersion", FIELDMAP_BLOCK, engine_fields },
    { "execution_role", "ExecutionRole" },
    { "publish_cloudwatch_metrics_enabled", "PublishCloudWatchMetricsEnabled" },
    { "requester_pays_enabled", "RequesterPaysEnabled" },
    { "result_configuration", "ResultConfiguration", FIELDMAP_BLOCK, result_fields },
    { NULL },
};

/* GetWorkGroup's WorkGroup. */
static const struct fieldmap workgroup_fields[] = {
    { "configuration", "Configuration", FIELDMAP_BLOCK, configuration_fields },
    { "description", "Description" },
    { "name", "Name" },
    { "state", "State" },
    { NULL },
};

static int detail_page(struct collectq *q, const json_t *output, void *ud)
{
    struct resource *r = ud;
    const json_t *wg = json_object_get(output, "WorkGroup");
    (void)q;
    if (!json_is_object(wg))
        return -EINVAL;
    return fieldmap_apply(r->attrs, wg, workgroup_fields);
}

static void detail_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    struct resource *r = ud;
    if (resource_mark_unknown(r, "configuration", st, detail) < 0)
        collect_scope_status(collectq_run(q), T_WORKGROUP, COLLECT_ERROR, "out of memory");
}

static int add_workgroup(struct collectq *q, const json_t *item)
{
    struct collect_run *run = collectq_run(q);
    const struct collect_options *o = collect_options(run);
    const char *name = fieldmap_string(item, "Name");
    struct resource *r = NULL;
    json_t *params;
    char *arn = NULL;
    int e;
    if (!name || !*name)
        return -EINVAL;
    e = collect_new_resource(run, T_WORKGROUP, "AWS::Athena::WorkGroup", name, &r);
    if (e < 0)
        return e;
    arn = str_printf("arn:%s:athena:%s:%s:workgroup/%s", o->partition, o->region, o->account, name);
    if (!arn || str_replace(&r->arn, arn) < 0 ||
        json_object_set_new(r->attrs, "arn", json_string(arn)) < 0)
        e = -ENOMEM;
    free(arn);
    if (e == 0)
        e = fieldmap_apply(r->attrs, item, summary_fields);
    if (e == 0)
        e = collectq_tags_not_read(r);
    if (e == 0)
        e = collect_add(run, r);
    if (e < 0) {
        resource_free(r);
        return e;
    }
    params = json_pack("{s:s}", "WorkGroup", name);
    e = params ? collectq_add(q, &(struct collectq_req){ .operation = "GetWorkGroup",
                                                         .params = params,
                                                         .page = detail_page,
                                                         .fail = detail_fail,
                                                         .ud = r })
               : -ENOMEM;
    if (e < 0)
        detail_fail(q, COLLECT_ERROR, "out of memory", r);
    return 0;
}

static int list_page(struct collectq *q, const json_t *output, void *ud)
{
    size_t i;
    json_t *item;
    (void)ud;
    json_array_foreach (json_object_get(output, "WorkGroups"), i, item) {
        int e = add_workgroup(q, item);
        if (e < 0)
            return e;
    }
    return 0;
}

static void list_ok(struct collectq *q, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_WORKGROUP, COLLECT_OK, NULL);
}

static void list_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_WORKGROUP, st, detail);
}

static int custom(struct collect_run *run)
{
    struct collectq *q = NULL;
    json_t *params = json_pack("{s:i}", "MaxResults", 50);
    int e = collectq_new(run, &q);
    if (e < 0) {
        json_decref(params);
        return e;
    }
    e = !params ? -ENOMEM
                : collectq_add(q, &(struct collectq_req){ .operation = "ListWorkGroups",
                                                          .params = params,
                                                          .in_token = "NextToken",
                                                          .out_token = "NextToken",
                                                          .page = list_page,
                                                          .ok = list_ok,
                                                          .fail = list_fail });
    if (e < 0)
        list_fail(q, COLLECT_ERROR, "out of memory", NULL);
    collectq_release(q);
    return 0;
}

static const char *const extra_types[] = { T_WORKGROUP, NULL };

static const char *const iam_actions[] = {
    "athena:GetWorkGroup",
    "athena:ListWorkGroups",
    NULL,
};

const struct collector_def collect_athena = {
    .name = "athena",
    .service = "athena",
    .extra_types = extra_types,
    .custom = custom,
    .iam_actions = iam_actions,
};
