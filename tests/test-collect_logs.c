#include <stdlib.h>
#include <string.h>

#include "collect_logs.h"
#include "config.h"
#include "fakeaws_rules.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define EU        "eu-central-1"
#define LOG_GROUP "aws_cloudwatch_log_group"

static const char *attr_str(const struct resource *r, const char *path)
{
    return json_string_value(fakeaws_attr(r, path));
}

START_TEST(registered)
{
    bool known = false;
    ck_assert_ptr_eq(collector_find("logs"), &collect_logs_def);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        known = known || str_eq(config_collector_defaults[i].name, collect_logs_def.name);
    ck_assert(known);
    ck_assert(!collect_logs_def.global);
    ck_assert_str_eq(collect_logs_def.iam_actions[0], "logs:DescribeLogGroups");
    ck_assert_str_eq(collect_logs_def.iam_actions[1], "logs:ListTagsForResource");
    ck_assert_ptr_null(collect_logs_def.iam_actions[2]);
}
END_TEST

START_TEST(groups_with_tags)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeLogGroups", .pages = { "file:logs/describe-log-groups-eu-central-1.json" } },
        { "ListTagsForResource",
          "resourceArn=arn:aws:logs:eu-central-1:123456789012:log-group:/plumb/trail",
          .pages = { "file:logs/list-tags-for-resource-plumb-trail.json" } },
        { "ListTagsForResource", .pages = { "file:logs/list-tags-for-resource-plumb-app.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    const struct fakeaws_call *c;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_logs_def, EU, NULL, &out);

    /* One listing at the largest page size, one tag call per group. */
    ck_assert_int_eq((int)f.n_calls, 3);
    ck_assert_int_eq((int)f.n_unmatched, 0);
    c = fakeaws_find(&f, "DescribeLogGroups", NULL);
    ck_assert_int_eq((int)json_integer_value(json_object_get(c->params, "limit")), 50);
    ck_assert_str_eq(c->region, EU);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListTagsForResource", NULL), 2);

    ck_assert_int_eq((int)fakeaws_count_type(out.res, LOG_GROUP), 2);
    r = fakeaws_resource(out.res, LOG_GROUP, "/plumb/trail");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, EU);
    ck_assert_str_eq(r->account, "123456789012");
    ck_assert_str_eq(r->aws_type, "AWS::Logs::LogGroup");
    ck_assert_str_eq(r->arn, "arn:aws:logs:eu-central-1:123456789012:log-group:/plumb/trail");
    ck_assert_str_eq(attr_str(r, "arn"), r->arn);
    ck_assert_str_eq(attr_str(r, "name"), "/plumb/trail");
    ck_assert_str_eq(attr_str(r, "kms_key_id"), "arn:aws:kms:eu-central-1:123456789012:key/"
                                                "bdd640fb-0667-4ad1-9c80-317fa3b1799d");
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "retention_in_days")), 400);
    /* Members the response does not carry are "not set" (null), not absent. */
    ck_assert(json_is_null(fakeaws_attr(r, "log_group_class")));
    ck_assert(json_is_null(fakeaws_attr(r, "deletion_protection_enabled")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "security");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);

    r = fakeaws_resource(out.res, LOG_GROUP, "/plumb/app");
    ck_assert(json_is_null(fakeaws_attr(r, "retention_in_days")));
    ck_assert(json_is_null(fakeaws_attr(r, "kms_key_id")));
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, LOG_GROUP)->status, COLLECT_OK);
    ck_assert_int_eq((int)out.res->n_scopes, 1);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(pages_are_followed)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeLogGroups", .pages = { "file:logs/describe-log-groups-eu-central-1.json",
                                          "file:logs/describe-log-groups-full.json" } },
        { "ListTagsForResource", .pages = { "{\"tags\":{}}" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_logs_def, EU, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, LOG_GROUP), 3);
    ck_assert_ptr_nonnull(fakeaws_resource(out.res, LOG_GROUP, "/aws/bedrock/invocations"));
    ck_assert_int_eq((int)fakeaws_count(&f, "ListTagsForResource", NULL), 3);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(denied_and_throttled_listing)
{
    static const struct fakeaws_rule denied[] = {
        { "DescribeLogGroups", .error_code = "AccessDeniedException", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "logs:DescribeLogGroups" },
        { NULL },
    };
    static const struct fakeaws_rule throttled[] = {
        { "DescribeLogGroups", .error_code = "ThrottlingException", .kind = AWS_ERR_THROTTLED },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct snapshot_scope *s;

    fakeaws_init(&f, denied);
    fakeaws_collect(&f, &collect_logs_def, EU, NULL, &out);
    /* UNKNOWN, never "no log groups". */
    s = fakeaws_scope(out.res, EU, LOG_GROUP);
    ck_assert_int_eq(s->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(s->detail, "logs:DescribeLogGroups");
    ck_assert_int_eq((int)out.res->resources.n, 0);
    ck_assert_int_eq((int)f.n_calls, 1);
    fakeaws_result_free(&out);
    fakeaws_free(&f);

    fakeaws_init(&f, throttled);
    fakeaws_collect(&f, &collect_logs_def, EU, NULL, &out);
    s = fakeaws_scope(out.res, EU, LOG_GROUP);
    ck_assert_int_eq(s->status, COLLECT_THROTTLED);
    ck_assert_str_eq(s->detail, "ThrottlingException: fake error");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(tag_failures)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeLogGroups", .pages = { "file:logs/describe-log-groups-eu-central-1.json" } },
        { "ListTagsForResource",
          "resourceArn=arn:aws:logs:eu-central-1:123456789012:log-group:/plumb/trail",
          .error_code = "AccessDeniedException", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "logs:ListTagsForResource" },
        { "ListTagsForResource", .error_code = "ResourceNotFoundException",
          .kind = AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_logs_def, EU, NULL, &out);
    /* A denied tag read keeps the group, with its tags unknown. */
    r = fakeaws_resource(out.res, LOG_GROUP, "/plumb/trail");
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "retention_in_days")), 400);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "access_denied:logs:ListTagsForResource");
    ck_assert_int_eq((int)json_object_size(r->unknown), 1);
    /* A group deleted between the calls simply has no tags. */
    r = fakeaws_resource(out.res, LOG_GROUP, "/plumb/app");
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, LOG_GROUP)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(bad_items)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeLogGroups",
          .pages = { "{\"logGroups\":[{\"arn\":\"arn:aws:logs:eu-central-1:123456789012:"
                     "log-group:/old:*\",\"logGroupName\":\"/old\"},{\"storedBytes\":1}]}" } },
        { "ListTagsForResource", .pages = { "{}" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    const struct snapshot_scope *s;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_logs_def, EU, NULL, &out);
    /* Without logGroupArn the ARN is the old member without ":*". */
    r = fakeaws_resource(out.res, LOG_GROUP, "/old");
    ck_assert_str_eq(r->arn, "arn:aws:logs:eu-central-1:123456789012:log-group:/old");
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    /* An item without a name cannot be a document: the read is incomplete. */
    s = fakeaws_scope(out.res, EU, LOG_GROUP);
    ck_assert_int_eq(s->status, COLLECT_ERROR);
    ck_assert_str_eq(s->detail, "an item could not be mapped");
    ck_assert_int_eq((int)out.res->items_skipped, 1);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(type_table_consistency)
{
    static const struct fakeaws_rule rules[] = {
        { "DescribeLogGroups", .pages = { "file:logs/describe-log-groups-full.json" } },
        { "ListTagsForResource", .pages = { "file:logs/list-tags-for-resource-full.json" } },
        { NULL },
    };
    static const char *const ops[] = { "DescribeLogGroups", "ListTagsForResource", NULL };
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    char *missing;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_logs_def, EU, NULL, &out);
    r = fakeaws_resource(out.res, LOG_GROUP, "/aws/bedrock/invocations");
    missing = fakeaws_missing(tm, r, ops);
    ck_assert_msg(missing == NULL, "missing: %s", missing);
    ck_assert_str_eq(attr_str(r, "log_group_class"), "INFREQUENT_ACCESS");
    ck_assert(json_is_true(fakeaws_attr(r, "deletion_protection_enabled")));
    /* The collector covers every operation the table names for the type. */
    {
        const struct typemap_type *t = typemap_find(tm, LOG_GROUP);
        ck_assert_str_eq(t->collector, "collect_logs");
        for (size_t i = 0; i < t->n_ops; i++) {
            bool called = false;
            for (size_t j = 0; ops[j]; j++)
                called = called || str_eq(ops[j], t->ops[i].op);
            ck_assert_msg(called, "%s is not called", t->ops[i].op);
        }
    }
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    typemap_free(tm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_logs");
    TCase *tc = tcase_create("collect_logs");
    tcase_add_test(tc, registered);
    tcase_add_test(tc, groups_with_tags);
    tcase_add_test(tc, pages_are_followed);
    tcase_add_test(tc, denied_and_throttled_listing);
    tcase_add_test(tc, tag_failures);
    tcase_add_test(tc, bad_items);
    tcase_add_test(tc, type_table_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
