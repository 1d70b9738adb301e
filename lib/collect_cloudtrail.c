#include "collect_cloudtrail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectmap.h"
#include "typemap.h"
#include "util.h"

#define T_TRAIL "aws_cloudtrail"
/* ListTags takes at most 20 ARNs per call. */
#define TAGS_BATCH 20

/* State of one run's custom part: the trails read, and the calls still in
 * flight for them.  The resources belong to the run (collect_add). */
struct trails {
    struct collect_run *run;
    unsigned pending;
    struct resource **items;
    size_t n;
};

/* One call about some trails: the batch of a ListTags call, or one trail. */
struct trail_call {
    struct trails *t;
    const char *const *attrs; /* what the call fills, unknown if it fails */
    struct resource **batch;
    size_t n_batch;
};

static const struct collectmap_field trail_fields[] = {
    { "name", "Name" },
    { "arn", "TrailARN" },
    { "home_region", "HomeRegion" },
    { "s3_bucket_name", "S3BucketName" },
    { "s3_key_prefix", "S3KeyPrefix" },
    { "sns_topic_name", "SnsTopicName" },
    { "sns_topic_arn", "SnsTopicARN" },
    { "include_global_service_events", "IncludeGlobalServiceEvents" },
    { "is_multi_region_trail", "IsMultiRegionTrail" },
    { "is_organization_trail", "IsOrganizationTrail" },
    { "enable_log_file_validation", "LogFileValidationEnabled" },
    { "cloud_watch_logs_group_arn", "CloudWatchLogsLogGroupArn" },
    { "cloud_watch_logs_role_arn", "CloudWatchLogsRoleArn" },
    { "kms_key_id", "KmsKeyId" },
    { NULL },
};

/* LatestDeliveryTime is left out: it moves with every log file delivered
 * (every few minutes on an active trail), so keeping it would write a new
 * version of every logging trail on every cycle; no control reads it. */
static const struct collectmap_field status_fields[] = {
    { "enable_logging", "IsLogging" },
    { "latest_delivery_error", "LatestDeliveryError" },
    { NULL },
};

static const struct collectmap_field data_resource_fields[] = {
    { "type", "Type" },
    { "values", "Values" },
    { NULL },
};
static const struct collectmap_field event_selector_fields[] = {
    { "data_resource", "DataResources", CM_LIST, .nested = data_resource_fields },
    { "exclude_management_event_sources", "ExcludeManagementEventSources" },
    { "include_management_events", "IncludeManagementEvents" },
    { "read_write_type", "ReadWriteType" },
    { NULL },
};
static const struct collectmap_field field_selector_fields[] = {
    { "field", "Field" },
    { "equals", "Equals" },
    { "not_equals", "NotEquals" },
    { "starts_with", "StartsWith" },
    { "not_starts_with", "NotStartsWith" },
    { "ends_with", "EndsWith" },
    { "not_ends_with", "NotEndsWith" },
    { NULL },
};
static const struct collectmap_field advanced_selector_fields[] = {
    { "name", "Name" },
    { "field_selector", "FieldSelectors", CM_LIST, .nested = field_selector_fields },
    { NULL },
};
static const struct collectmap_field selectors_fields[] = {
    { "event_selector", "EventSelectors", CM_LIST, .nested = event_selector_fields },
    { "advanced_event_selector", "AdvancedEventSelectors", CM_LIST,
      .nested = advanced_selector_fields },
    { NULL },
};

static const struct collectmap_field insight_fields[] = {
    { "insight_type", "InsightType" },
    { NULL },
};
static const struct collectmap_field insights_fields[] = {
    { "insight_selector", "InsightSelectors", CM_LIST, .nested = insight_fields },
    { NULL },
};

static const char *const status_attrs[] = { "enable_logging", "latest_delivery_error", NULL };
static const char *const selectors_attrs[] = { "event_selector", "advanced_event_selector", NULL };
static const char *const insights_attrs[] = { "insight_selector", NULL };
static const char *const tags_attrs[] = { "tags", NULL };

static void mark_unknown(struct trails *t, struct resource *r, const char *const *attrs,
                         enum collect_status status, const char *detail)
{
    for (size_t i = 0; attrs[i]; i++)
        if (resource_mark_unknown(r, attrs[i], status, detail) < 0)
            collect_scope_status(t->run, T_TRAIL, COLLECT_ERROR, "out of memory");
}

static void call_failed(struct trail_call *c, int result, const struct aws_error *err)
{
    char *detail = collect_error_detail(result, err);
    enum collect_status st = result == -ECANCELED ? COLLECT_ERROR : collect_status_of(err);
    for (size_t i = 0; i < c->n_batch; i++)
        mark_unknown(c->t, c->batch[i], c->attrs, st, detail ? detail : "out of memory");
    free(detail);
}

static void finish(struct trails *t)
{
    struct collect_run *run = t->run;
    collect_scope_status(run, T_TRAIL, COLLECT_OK, NULL);
    free(t->items);
    free(t);
    collect_custom_done(run);
}

static void call_done_common(struct trail_call *c)
{
    struct trails *t = c->t;
    free(c->batch);
    free(c);
    if (--t->pending == 0)
        finish(t);
}

static void trail_call_done(struct collect_run *run, int result, const json_t *output,
                            const struct aws_error *err, void *userdata)
{
    struct trail_call *c = userdata;
    struct resource *r = c->batch[0];
    const struct collectmap_field *fields = c->attrs == status_attrs      ? status_fields
                                            : c->attrs == selectors_attrs ? selectors_fields
                                                                          : insights_fields;
    if (result < 0 && c->attrs == insights_attrs && err &&
        str_eq(err->code, "InsightNotEnabledException")) {
        /* No insight selector was ever set: an empty list, not an error. */
        result = 0;
        output = NULL;
    }
    if (result < 0)
        call_failed(c, result, err);
    else if (collectmap_apply(r->attrs, output, fields) < 0)
        mark_unknown(c->t, r, c->attrs, COLLECT_ERROR, "out of memory");
    call_done_common(c);
}

static int tags_page(const struct aws_page *page, void *userdata)
{
    struct trail_call *c = userdata;
    size_t i;
    json_t *entry;
    json_array_foreach (json_object_get(page->output, "ResourceTagList"), i, entry) {
        const char *id = collectmap_string(entry, "ResourceId");
        for (size_t j = 0; j < c->n_batch; j++) {
            json_t *tags;
            if (!str_eq(c->batch[j]->arn, id))
                continue;
            tags = collectmap_tags(json_object_get(entry, "TagsList"));
            if (!tags || json_object_update(c->batch[j]->tags, tags) < 0) {
                json_decref(tags);
                return -ENOMEM;
            }
            json_decref(tags);
        }
    }
    return 0;
}

static void tags_done(struct collect_run *run, int result, const json_t *output,
                      const struct aws_error *err, void *userdata)
{
    struct trail_call *c = userdata;
    if (result < 0)
        call_failed(c, result, err);
    call_done_common(c);
}

/* Issue one call; a call that cannot even be issued fails its attributes
 * at once. */
static void issue(struct trails *t, const char *op, json_t *params, bool all_pages,
                  aws_page_cb page_cb, collect_call_done done, const char *const *attrs,
                  struct resource **batch, size_t n_batch)
{
    struct trail_call *c = calloc(1, sizeof(*c));
    int r = -ENOMEM;
    if (c && params) {
        c->t = t;
        c->attrs = attrs;
        c->batch = batch;
        c->n_batch = n_batch;
        t->pending++;
        r = collect_call(t->run, NULL, op, params, all_pages, page_cb, done, c);
        if (r < 0)
            t->pending--;
    }
    json_decref(params);
    if (r < 0) {
        for (size_t i = 0; i < n_batch; i++)
            mark_unknown(t, batch[i], attrs, COLLECT_ERROR, "could not issue the request");
        free(batch);
        free(c);
    }
}

static void issue_one(struct trails *t, struct resource *r, const char *op, const char *param,
                      const char *const *attrs)
{
    struct resource **batch = malloc(sizeof(*batch));
    if (!batch) {
        mark_unknown(t, r, attrs, COLLECT_ERROR, "out of memory");
        return;
    }
    batch[0] = r;
    issue(t, op, json_pack("{s:s}", param, r->arn), false, NULL, trail_call_done, attrs, batch, 1);
}

/* ListTags in batches of this account's trails; another account's trail
 * (an organization trail seen from a member account) cannot be asked. */
static void issue_tags(struct trails *t)
{
    const char *account = collect_options(t->run)->account;
    size_t i = 0;
    while (i < t->n) {
        struct resource **batch = calloc(TAGS_BATCH, sizeof(*batch));
        json_t *ids = json_array();
        size_t n = 0;
        if (!batch || !ids) {
            free(batch);
            json_decref(ids);
            for (; i < t->n; i++)
                mark_unknown(t, t->items[i], tags_attrs, COLLECT_ERROR, "out of memory");
            return;
        }
        for (; i < t->n && n < TAGS_BATCH; i++) {
            struct typemap_arn arn = { 0 };
            bool own = typemap_arn_parse(t->items[i]->arn, &arn, NULL) == 0 &&
                       str_eq(arn.account, account);
            typemap_arn_clear(&arn);
            if (!own) {
                mark_unknown(t, t->items[i], tags_attrs, COLLECT_NOT_COLLECTED,
                             "trail of another account");
                continue;
            }
            if (json_array_append_new(ids, json_string(t->items[i]->arn)) < 0) {
                mark_unknown(t, t->items[i], tags_attrs, COLLECT_ERROR, "out of memory");
                continue;
            }
            batch[n++] = t->items[i];
        }
        if (n == 0) {
            free(batch);
            json_decref(ids);
            continue;
        }
        issue(t, "ListTags", json_pack("{s:o}", "ResourceIdList", ids), true, tags_page, tags_done,
              tags_attrs, batch, n);
    }
}

/* A trail of DescribeTrails, or NULL when it is a shadow of a trail whose
 * home is another region (*skip set) or on failure. */
static struct resource *map_trail(struct trails *t, const json_t *item, bool *skip)
{
    const struct collect_options *o = collect_options(t->run);
    const char *name = collectmap_string(item, "Name");
    const char *arn = collectmap_string(item, "TrailARN");
    const char *home = collectmap_string(item, "HomeRegion");
    struct resource *r = NULL;
    *skip = home && !str_eq(home, o->region);
    if (*skip || !name || !arn)
        return NULL;
    if (collect_new_resource(t->run, T_TRAIL, "AWS::CloudTrail::Trail", name, &r) < 0 ||
        str_replace(&r->arn, arn) < 0 || collectmap_apply(r->attrs, item, trail_fields) < 0) {
        resource_free(r);
        return NULL;
    }
    return r;
}

static void describe_done(struct collect_run *run, int result, const json_t *output,
                          const struct aws_error *err, void *userdata)
{
    struct trails *t = userdata;
    const json_t *list = json_object_get(output, "trailList");
    size_t i;
    json_t *item;
    if (result < 0) {
        char *detail = collect_error_detail(result, err);
        collect_scope_status(run, T_TRAIL,
                             result == -ECANCELED ? COLLECT_ERROR : collect_status_of(err), detail);
        free(detail);
        goto fail;
    }
    t->items = calloc(json_array_size(list) + 1, sizeof(*t->items));
    if (!t->items) {
        collect_scope_status(run, T_TRAIL, COLLECT_ERROR, "out of memory");
        goto fail;
    }
    json_array_foreach (list, i, item) {
        bool skip;
        struct resource *r = map_trail(t, item, &skip);
        if (skip)
            continue;
        if (!r || collect_add(run, r) < 0) {
            resource_free(r);
            collect_scope_status(run, T_TRAIL, COLLECT_ERROR, "a trail could not be mapped");
            continue;
        }
        t->items[t->n++] = r;
    }
    /* Hold the count up while issuing, so that fast answers cannot finish
     * the part half way. */
    t->pending++;
    for (i = 0; i < t->n; i++) {
        issue_one(t, t->items[i], "GetTrailStatus", "Name", status_attrs);
        issue_one(t, t->items[i], "GetEventSelectors", "TrailName", selectors_attrs);
        issue_one(t, t->items[i], "GetInsightSelectors", "TrailName", insights_attrs);
    }
    issue_tags(t);
    if (--t->pending == 0)
        finish(t);
    return;
fail:
    free(t->items);
    free(t);
    collect_custom_done(run);
}

static int custom(struct collect_run *run)
{
    struct trails *t = calloc(1, sizeof(*t));
    json_t *params = json_pack("{s:b}", "includeShadowTrails", 1);
    int r = -ENOMEM;
    if (t && params) {
        t->run = run;
        r = collect_call(run, NULL, "DescribeTrails", params, false, NULL, describe_done, t);
    }
    json_decref(params);
    if (r < 0)
        free(t);
    return r;
}

static const char *const extra_types[] = { T_TRAIL, NULL };
static const struct collect_list no_lists[] = { { 0 } };

static const char *const iam_actions[] = {
    "cloudtrail:DescribeTrails",      "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
    "cloudtrail:GetInsightSelectors", "cloudtrail:ListTags",       NULL,
};

const struct collector_def collect_cloudtrail_def = {
    .name = "cloudtrail",
    .service = "cloudtrail",
    .lists = no_lists,
    .extra_types = extra_types,
    .custom = custom,
    .iam_actions = iam_actions,
};
