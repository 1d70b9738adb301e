#include "collect_guardduty.h"

#include <errno.h>
#include <stdlib.h>

#include "collectmap.h"
#include "util.h"

/* ListDetectors gives bare ids. */
static int map_detector(struct collect_run *run, const json_t *item, struct resource *r)
{
    const struct collect_options *o = collect_options(run);
    const char *id = json_string_value(item);
    char *arn;
    if (!id || !*id)
        return -EINVAL;
    arn = str_printf("arn:%s:guardduty:%s:%s:detector/%s", o->partition, o->region, o->account, id);
    if (!arn || str_replace(&r->id, id) < 0) {
        free(arn);
        return -ENOMEM;
    }
    free(r->arn);
    r->arn = arn;
    if (collectmap_set(r->attrs, "arn", json_string(arn)) < 0 ||
        collectmap_set(r->attrs, "account_id", json_string(o->account)) < 0)
        return -ENOMEM;
    return 0;
}

static int detector_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    *ret = json_pack("{s:s}", "DetectorId", r->id);
    return *ret ? 0 : -ENOMEM;
}

static const struct collectmap_field feature_fields[] = {
    { "name", "Name" },
    { "status", "Status" },
    { NULL },
};

static const struct collectmap_field detector_fields[] = {
    { "enable", "Status", CM_EQ, "ENABLED" },
    { "finding_publishing_frequency", "FindingPublishingFrequency" },
    { "features", "Features", CM_LIST, .nested = feature_fields },
    { NULL },
};

static int merge_detector(struct collect_run *run, struct resource *parent, struct resource *child,
                          const json_t *output)
{
    json_t *tags = collectmap_tags(json_object_get(output, "Tags"));
    if (!tags)
        return -ENOMEM;
    json_decref(parent->tags);
    parent->tags = tags;
    return collectmap_apply(parent->attrs, output, detector_fields);
}

static const char *const detector_attrs[] = {
    "enable", "finding_publishing_frequency", "features", "tags", NULL,
};

static const struct collect_detail detector_details[] = {
    { .operation = "GetDetector",
      .params = detector_params,
      .merge = merge_detector,
      .attrs = detector_attrs },
    { 0 },
};

static const struct collect_list lists[] = {
    { .type = "aws_guardduty_detector",
      .aws_type = "AWS::GuardDuty::Detector",
      .operation = "ListDetectors",
      .params = "{\"MaxResults\":50}",
      .items = "DetectorIds[]",
      .all_pages = true,
      .map = map_detector,
      .details = detector_details },
    { 0 },
};

static const char *const iam_actions[] = {
    "guardduty:ListDetectors",
    "guardduty:GetDetector",
    NULL,
};

const struct collector_def collect_guardduty_def = {
    .name = "guardduty",
    .service = "guardduty",
    .lists = lists,
    .iam_actions = iam_actions,
};
