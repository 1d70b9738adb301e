#include <stdlib.h>
#include <string.h>

#include "collect_kms.h"
#include "config.h"
#include "fakeaws_rules.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define EU    "eu-central-1"
#define KEY   "aws_kms_key"
#define ALIAS "aws_kms_alias"
/* The key ids of the recorded estate (tests/data/responses/sec-estate.json,
 * checked by recorded_estate_ids). */
#define KEY_LOGS        "bdd640fb-0667-4ad1-9c80-317fa3b1799d"
#define KEY_SIGN        "e5d7b875-6dad-46c7-95a7-6d79bf3c4c06"
#define KEY_OLD         "2dbc2134-c30f-446e-8026-695ff8cda88b"
#define AWS_KEY_FIXTURE "fixture:test_backup_vault_kms_filter/kms.DescribeKey_1.json"
#define ALIASES_FIXTURE "fixture:test_comprehend_document_classifier_kms_key/kms.ListAliases_"

static const char *attr_str(const struct resource *r, const char *path)
{
    return json_string_value(fakeaws_attr(r, path));
}

/* Aliases of the recorded listing that point at a key. */
static int recorded_aliases(void)
{
    json_t *list = fakeaws_load("file:kms/list-aliases.json");
    size_t i;
    json_t *a;
    int n = 0;
    json_array_foreach (json_object_get(list, "Aliases"), i, a)
        n += json_object_get(a, "TargetKeyId") != NULL;
    json_decref(list);
    ck_assert_int_gt(n, 1);
    return n;
}

START_TEST(registered)
{
    static const char *const want[] = { "kms:ListKeys",
                                        "kms:DescribeKey",
                                        "kms:GetKeyRotationStatus",
                                        "kms:GetKeyPolicy",
                                        "kms:ListResourceTags",
                                        "kms:ListAliases",
                                        NULL };
    bool known = false;
    ck_assert_ptr_eq(collector_find("kms"), &collect_kms_def);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        known = known || str_eq(config_collector_defaults[i].name, collect_kms_def.name);
    ck_assert(known);
    for (size_t i = 0; want[i] || collect_kms_def.iam_actions[i]; i++)
        ck_assert_str_eq(collect_kms_def.iam_actions[i], want[i]);
}
END_TEST

START_TEST(recorded_estate_ids)
{
    json_t *estate = fakeaws_load("file:sec-estate.json");
    const json_t *kms = json_object_get(estate, "kms");
    ck_assert_str_eq(json_string_value(json_object_get(kms, "logs")), KEY_LOGS);
    ck_assert_str_eq(json_string_value(json_object_get(kms, "sign")), KEY_SIGN);
    ck_assert_str_eq(json_string_value(json_object_get(kms, "old")), KEY_OLD);
    json_decref(estate);
}
END_TEST

static const struct fakeaws_rule recorded[] = {
    { "ListKeys", .pages = { "file:kms/list-keys.json" } },
    { "ListAliases", .pages = { "file:kms/list-aliases.json" } },
    { "DescribeKey", "KeyId=" KEY_LOGS, .pages = { "file:kms/describe-key-logs.json" } },
    { "DescribeKey", "KeyId=" KEY_SIGN, .pages = { "file:kms/describe-key-sign.json" } },
    { "DescribeKey", "KeyId=" KEY_OLD, .pages = { "file:kms/describe-key-old.json" } },
    { "GetKeyRotationStatus", "KeyId=" KEY_LOGS,
      .pages = { "file:kms/get-key-rotation-status-logs.json" } },
    { "GetKeyRotationStatus", "KeyId=" KEY_OLD,
      .pages = { "file:kms/get-key-rotation-status-old.json" } },
    { "GetKeyPolicy", "KeyId=" KEY_LOGS, .pages = { "file:kms/get-key-policy-logs.json" } },
    { "GetKeyPolicy", "KeyId=" KEY_SIGN, .pages = { "file:kms/get-key-policy-sign.json" } },
    { "GetKeyPolicy", "KeyId=" KEY_OLD, .pages = { "file:kms/get-key-policy-old.json" } },
    { "ListResourceTags", "KeyId=" KEY_LOGS, .pages = { "file:kms/list-resource-tags-logs.json" } },
    { "ListResourceTags", "KeyId=" KEY_SIGN, .pages = { "file:kms/list-resource-tags-sign.json" } },
    { "ListResourceTags", "KeyId=" KEY_OLD, .pages = { "file:kms/list-resource-tags-old.json" } },
    { NULL },
};

START_TEST(recorded_keys)
{
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    json_t *policy = fakeaws_load("file:kms/get-key-policy-logs.json");
    const struct fakeaws_call *c;
    fakeaws_init(&f, recorded);
    fakeaws_collect(&f, &collect_kms_def, EU, NULL, &out);
    ck_assert_int_eq((int)f.n_unmatched, 0);
    c = fakeaws_find(&f, "ListKeys", NULL);
    ck_assert_int_eq((int)json_integer_value(json_object_get(c->params, "Limit")), 1000);
    c = fakeaws_find(&f, "ListAliases", NULL);
    ck_assert_int_eq((int)json_integer_value(json_object_get(c->params, "Limit")), 100);
    ck_assert_int_eq((int)fakeaws_count(&f, "DescribeKey", NULL), 3);
    /* No rotation for the asymmetric signing key. */
    ck_assert_int_eq((int)fakeaws_count(&f, "GetKeyRotationStatus", NULL), 2);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetKeyRotationStatus", "KeyId=" KEY_SIGN), 0);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetKeyPolicy", "PolicyName=default"), 3);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListResourceTags", NULL), 3);
    ck_assert_int_eq((int)f.n_calls, 2 + 3 + 2 + 3 + 3);

    ck_assert_int_eq((int)fakeaws_count_type(out.res, KEY), 3);
    r = fakeaws_resource(out.res, KEY, KEY_LOGS);
    ck_assert_str_eq(r->region, EU);
    ck_assert_str_eq(r->aws_type, "AWS::KMS::Key");
    ck_assert_str_eq(r->arn, "arn:aws:kms:eu-central-1:123456789012:key/" KEY_LOGS);
    ck_assert_str_eq(attr_str(r, "key_id"), KEY_LOGS);
    ck_assert_str_eq(attr_str(r, "arn"), r->arn);
    ck_assert_str_eq(attr_str(r, "description"), "plumb logs");
    ck_assert_str_eq(attr_str(r, "key_manager"), "CUSTOMER");
    ck_assert_str_eq(attr_str(r, "key_state"), "Enabled");
    ck_assert_str_eq(attr_str(r, "origin"), "AWS_KMS");
    ck_assert_str_eq(attr_str(r, "customer_master_key_spec"), "SYMMETRIC_DEFAULT");
    ck_assert_str_eq(attr_str(r, "creation_date"), "2026-11-22T22:42:37.045Z");
    ck_assert(json_is_true(fakeaws_attr(r, "is_enabled")));
    ck_assert(json_is_true(fakeaws_attr(r, "enable_key_rotation")));
    /* moto leaves these out: AWS says nothing, so "not set". */
    ck_assert(json_is_null(fakeaws_attr(r, "rotation_period_in_days")));
    ck_assert(json_is_null(fakeaws_attr(r, "multi_region")));
    ck_assert(json_is_null(fakeaws_attr(r, "xks_key_id")));
    ck_assert_str_eq(attr_str(r, "policy"), json_string_value(json_object_get(policy, "Policy")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "security");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);

    r = fakeaws_resource(out.res, KEY, KEY_SIGN);
    ck_assert_str_eq(attr_str(r, "customer_master_key_spec"), "RSA_2048");
    ck_assert_str_eq(attr_str(r, "key_usage"), "SIGN_VERIFY");
    /* Not applicable: left out, not unknown. */
    ck_assert_ptr_null(fakeaws_attr(r, "enable_key_rotation"));
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);

    r = fakeaws_resource(out.res, KEY, KEY_OLD);
    ck_assert(json_is_false(fakeaws_attr(r, "enable_key_rotation")));

    /* Every recorded alias has a target; AWS-managed ones are kept (the
     * type table excludes them from "unmanaged", not from the estate). */
    ck_assert_int_eq((int)fakeaws_count_type(out.res, ALIAS), recorded_aliases());
    r = fakeaws_resource(out.res, ALIAS, "alias/plumb-logs");
    ck_assert_str_eq(r->aws_type, "AWS::KMS::Alias");
    ck_assert_str_eq(r->arn, "arn:aws:kms:eu-central-1:123456789012:alias/plumb-logs");
    ck_assert_str_eq(attr_str(r, "name"), "alias/plumb-logs");
    ck_assert_str_eq(attr_str(r, "arn"), r->arn);
    ck_assert_str_eq(attr_str(r, "target_key_id"), KEY_LOGS);
    ck_assert_str_eq(attr_str(r, "target_key_arn"),
                     "arn:aws:kms:eu-central-1:123456789012:key/" KEY_LOGS);
    ck_assert_ptr_nonnull(fakeaws_resource(out.res, ALIAS, "alias/aws/ebs"));
    ck_assert_int_eq(fakeaws_scope(out.res, EU, KEY)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, ALIAS)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    json_decref(policy);
}
END_TEST

/* An AWS-managed key recorded from a real account: one call, nothing that
 * belongs to AWS (policy, tags, rotation) is read. */
START_TEST(aws_managed_key_real_aws)
{
    json_t *meta = fakeaws_load(AWS_KEY_FIXTURE);
    const json_t *m = json_object_get(meta, "KeyMetadata");
    const char *id = json_string_value(json_object_get(m, "KeyId"));
    char *list = str_printf("{\"Keys\":[{\"KeyId\":\"%s\",\"KeyArn\":\"%s\"}]}", id,
                            json_string_value(json_object_get(m, "Arn")));
    const struct fakeaws_rule rules[] = {
        { "ListKeys", .pages = { list } },
        { "ListAliases", .pages = { "{\"Aliases\":[]}" } },
        { "DescribeKey", .pages = { AWS_KEY_FIXTURE } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_kms_def, EU, NULL, &out);
    ck_assert_int_eq((int)f.n_calls, 3);
    r = fakeaws_resource(out.res, KEY, id);
    ck_assert_str_eq(attr_str(r, "key_manager"), "AWS");
    /* The response predates KeySpec: its deprecated twin stands in. */
    ck_assert_ptr_null(json_object_get(m, "KeySpec"));
    ck_assert(json_equal(fakeaws_attr(r, "customer_master_key_spec"),
                         json_object_get(m, "CustomerMasterKeySpec")));
    ck_assert(json_equal(fakeaws_attr(r, "description"), json_object_get(m, "Description")));
    ck_assert_ptr_null(fakeaws_attr(r, "policy"));
    ck_assert_ptr_null(fakeaws_attr(r, "enable_key_rotation"));
    ck_assert_int_eq((int)json_object_size(r->tags), 0);
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    json_decref(meta);
    free(list);
}
END_TEST

START_TEST(describe_denied)
{
    static const struct fakeaws_rule rules[] = {
        { "ListKeys", .pages = { "file:kms/list-keys.json" } },
        { "ListAliases", .pages = { "file:kms/list-aliases.json" } },
        { "DescribeKey", "KeyId=" KEY_LOGS, .error_code = "AccessDeniedException",
          .kind = AWS_ERR_ACCESS_DENIED, .iam_action = "kms:DescribeKey" },
        { "DescribeKey", "KeyId=" KEY_SIGN, .pages = { "file:kms/describe-key-sign.json" } },
        { "DescribeKey", "KeyId=" KEY_OLD, .pages = { "file:kms/describe-key-old.json" } },
        { "GetKeyRotationStatus", .error_code = "AccessDeniedException",
          .kind = AWS_ERR_ACCESS_DENIED, .iam_action = "kms:GetKeyRotationStatus" },
        { "GetKeyPolicy", .pages = { "file:kms/get-key-policy-old.json" } },
        { "ListResourceTags", .pages = { "file:kms/list-resource-tags-old.json" } },
        { NULL },
    };
    static const char *const unknown[] = { "key_manager", "key_state", "enable_key_rotation",
                                           "policy",      "tags",      NULL };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_kms_def, EU, NULL, &out);
    /* The key stays, with whatever DescribeKey and the calls behind it
     * would have said unknown; nothing more is asked about it. */
    r = fakeaws_resource(out.res, KEY, KEY_LOGS);
    ck_assert_str_eq(attr_str(r, "arn"), "arn:aws:kms:eu-central-1:123456789012:key/" KEY_LOGS);
    for (size_t i = 0; unknown[i]; i++)
        ck_assert_str_eq(json_string_value(json_object_get(r->unknown, unknown[i])),
                         "access_denied:kms:DescribeKey");
    ck_assert_int_eq((int)fakeaws_count(&f, "GetKeyPolicy", "KeyId=" KEY_LOGS), 0);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListResourceTags", "KeyId=" KEY_LOGS), 0);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetKeyRotationStatus", "KeyId=" KEY_LOGS), 0);
    /* A denied rotation read makes exactly the rotation unknown. */
    r = fakeaws_resource(out.res, KEY, KEY_OLD);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "enable_key_rotation")),
                     "access_denied:kms:GetKeyRotationStatus");
    ck_assert_int_eq((int)json_object_size(r->unknown), 2);
    ck_assert_ptr_nonnull(fakeaws_attr(r, "policy"));
    ck_assert_int_eq(fakeaws_scope(out.res, EU, KEY)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(rotation_unsupported)
{
    static const struct fakeaws_rule rules[] = {
        { "ListKeys", .pages = { "{\"Keys\":[{\"KeyId\":\"" KEY_OLD "\",\"KeyArn\":\"arn:aws:kms:"
                                 "eu-central-1:123456789012:key/" KEY_OLD "\"}]}" } },
        { "ListAliases", .pages = { "{\"Aliases\":[]}" } },
        { "DescribeKey", .pages = { "file:kms/describe-key-old.json" } },
        { "GetKeyRotationStatus", .error_code = "UnsupportedOperationException",
          .kind = AWS_ERR_CLIENT },
        { "GetKeyPolicy", .pages = { "file:kms/get-key-policy-old.json" } },
        { "ListResourceTags", .pages = { "file:kms/list-resource-tags-old.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_kms_def, EU, NULL, &out);
    r = fakeaws_resource(out.res, KEY, KEY_OLD);
    ck_assert_ptr_null(fakeaws_attr(r, "enable_key_rotation"));
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

/* Two pages of aliases recorded from a real account (Truncated/NextMarker). */
START_TEST(aliases_real_aws_pages)
{
    static const struct fakeaws_rule rules[] = {
        { "ListKeys", .pages = { "{\"Keys\":[]}" } },
        { "ListAliases", .pages = { ALIASES_FIXTURE "1.json", ALIASES_FIXTURE "2.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    size_t with_target = 0, without = 0;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_kms_def, EU, NULL, &out);
    for (int p = 1; p <= 2; p++) {
        char *spec = str_printf(ALIASES_FIXTURE "%d.json", p);
        json_t *page = fakeaws_load(spec);
        size_t i;
        json_t *a;
        json_array_foreach (json_object_get(page, "Aliases"), i, a) {
            const char *name = json_string_value(json_object_get(a, "AliasName"));
            const struct resource *r = fakeaws_resource(out.res, ALIAS, name);
            if (json_object_get(a, "TargetKeyId")) {
                with_target++;
                ck_assert_ptr_nonnull(r);
                ck_assert(json_equal(fakeaws_attr(r, "target_key_id"),
                                     json_object_get(a, "TargetKeyId")));
            } else {
                without++;
                ck_assert_ptr_null(r);
            }
        }
        json_decref(page);
        free(spec);
    }
    ck_assert_int_gt((int)without, 0);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, ALIAS), (int)with_target);
    ck_assert_int_eq((int)out.res->items_skipped, (int)without);
    /* Skipping the placeholders is not a failed read. */
    ck_assert_int_eq(fakeaws_scope(out.res, EU, ALIAS)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(listing_denied)
{
    static const struct fakeaws_rule rules[] = {
        { "ListKeys", .error_code = "AccessDeniedException", .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "kms:ListKeys" },
        { "ListAliases", .pages = { "file:kms/list-aliases.json" } },
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_kms_def, EU, NULL, &out);
    ck_assert_int_eq(fakeaws_scope(out.res, EU, KEY)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, EU, KEY)->detail, "kms:ListKeys");
    ck_assert_int_eq(fakeaws_scope(out.res, EU, ALIAS)->status, COLLECT_OK);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, KEY), 0);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, ALIAS), recorded_aliases());
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(type_table_consistency)
{
    static const struct fakeaws_rule rules[] = {
        { "ListKeys", .pages = { "{\"Keys\":[{\"KeyId\":\"mrk-1234abcd12ab34cd56ef1234567890ab\"},"
                                 "{\"KeyId\":\"0987dcba-09fe-87dc-65ba-ab0987654321\"}]}" } },
        { "ListAliases", .pages = { "file:kms/list-aliases.json" } },
        { "DescribeKey", "KeyId=mrk-1234abcd12ab34cd56ef1234567890ab",
          .pages = { "file:kms/describe-key-full.json" } },
        { "DescribeKey", .pages = { "file:kms/describe-key-xks.json" } },
        { "GetKeyRotationStatus", .pages = { "file:kms/get-key-rotation-status-full.json" } },
        { "GetKeyPolicy", .pages = { "file:kms/get-key-policy-logs.json" } },
        { "ListResourceTags", .pages = { "file:kms/list-resource-tags-page1.json",
                                         "file:kms/list-resource-tags-page2.json" } },
        { NULL },
    };
    static const char *const ops[] = {
        "ListKeys",    "DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy", "ListResourceTags",
        "ListAliases", NULL
    };
    static const char *const types[] = { KEY, ALIAS, NULL };
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    char *missing;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_kms_def, EU, NULL, &out);
    r = fakeaws_resource(out.res, KEY, "mrk-1234abcd12ab34cd56ef1234567890ab");
    missing = fakeaws_missing(tm, r, ops);
    ck_assert_msg(missing == NULL, "missing: %s", missing);
    /* ListKeys without KeyArn: the ARN comes from DescribeKey. */
    ck_assert_str_eq(r->arn, "arn:aws:kms:eu-central-1:123456789012:key/"
                             "mrk-1234abcd12ab34cd56ef1234567890ab");
    ck_assert(json_is_true(fakeaws_attr(r, "multi_region")));
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "rotation_period_in_days")), 180);
    ck_assert_str_eq(attr_str(r, "creation_date"), "2024-02-01T09:30:00.123Z");
    /* Both pages of tags. */
    ck_assert_int_eq((int)json_object_size(r->tags), 3);
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "data-class")), "confidential");
    /* A key in an external key store cannot rotate: not asked. */
    r = fakeaws_resource(out.res, KEY, "0987dcba-09fe-87dc-65ba-ab0987654321");
    ck_assert_str_eq(attr_str(r, "xks_key_id"), "bb8562717f809e51");
    ck_assert_str_eq(attr_str(r, "custom_key_store_id"), "cks-9876543210fedcba9");
    ck_assert_ptr_null(fakeaws_attr(r, "enable_key_rotation"));
    ck_assert_int_eq((int)fakeaws_count(&f, "GetKeyRotationStatus", NULL), 1);
    r = fakeaws_resource(out.res, ALIAS, "alias/plumb-logs");
    missing = fakeaws_missing(tm, r, ops);
    ck_assert_msg(missing == NULL, "missing: %s", missing);
    for (size_t i = 0; types[i]; i++) {
        const struct typemap_type *t = typemap_find(tm, types[i]);
        ck_assert_str_eq(t->collector, "collect_kms");
        for (size_t j = 0; j < t->n_ops; j++) {
            bool called = false;
            for (size_t k = 0; ops[k]; k++)
                called = called || str_eq(ops[k], t->ops[j].op);
            ck_assert_msg(called, "%s is not called", t->ops[j].op);
        }
    }
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    typemap_free(tm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_kms");
    TCase *tc = tcase_create("collect_kms");
    tcase_add_test(tc, registered);
    tcase_add_test(tc, recorded_estate_ids);
    tcase_add_test(tc, recorded_keys);
    tcase_add_test(tc, aws_managed_key_real_aws);
    tcase_add_test(tc, describe_denied);
    tcase_add_test(tc, rotation_unsupported);
    tcase_add_test(tc, aliases_real_aws_pages);
    tcase_add_test(tc, listing_denied);
    tcase_add_test(tc, type_table_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
