#include "collect_accessanalyzer.h"

#include <errno.h>

#include "fieldmap.h"
#include "util.h"

static const struct fieldmap unused_fields[] = {
    { "unused_access_age", "unusedAccessAge" },
    { NULL },
};

static const struct fieldmap configuration_fields[] = {
    { "unused_access", "unusedAccess", FIELDMAP_BLOCK, unused_fields },
    { NULL },
};

static const struct fieldmap analyzer_fields[] = {
    { "analyzer_name", "name" },
    { "arn", "arn" },
    { "configuration", "configuration", FIELDMAP_BLOCK, configuration_fields },
    { "status", "status" },
    { "type", "type" },
    { NULL },
};

static int map_analyzer(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *name = fieldmap_string(item, "name");
    const char *arn = fieldmap_string(item, "arn");
    const json_t *tags = json_object_get(item, "tags");
    int e;
    (void)run;
    if (!name || !*name)
        return -EINVAL;
    if (str_replace(&r->id, name) < 0 || (arn && str_replace(&r->arn, arn) < 0))
        return -ENOMEM;
    e = fieldmap_apply(r->attrs, item, analyzer_fields);
    if (e < 0)
        return e;
    if (json_is_object(tags)) {
        json_t *t = json_deep_copy(tags);
        if (!t)
            return -ENOMEM;
        json_decref(r->tags);
        r->tags = t;
    }
    return 0;
}

static const struct collect_list lists[] = {
    { .type = "aws_accessanalyzer_analyzer",
      .aws_type = "AWS::AccessAnalyzer::Analyzer",
      .operation = "ListAnalyzers",
      .items = "analyzers[]",
      .all_pages = true,
      .map = map_analyzer },
    { 0 },
};

static const char *const iam_actions[] = {
    "access-analyzer:ListAnalyzers",
    NULL,
};

const struct collector_def collect_accessanalyzer = {
    .name = "accessanalyzer",
    .service = "accessanalyzer",
    .lists = lists,
    .iam_actions = iam_actions,
};
