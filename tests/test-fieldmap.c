#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmap.h"
#include "testutil.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(v != NULL, "%s", jerr.text);
    return v;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_msg(json_equal((json_t *)got, want), "got %s, want %s", g, want_text);
    free(g);
    json_decref(want);
}

static const struct fieldmap inner[] = {
    { "kms", "KmsKey" },
    { "option", "EncryptionOption" },
    { NULL },
};

static const struct fieldmap outer[] = {
    { "name", "Name" },
    { "port", "Endpoint.Port" },
    { "missing", "Nope" },
    { "missing_deep", "Endpoint.Nope.Deeper" },
    { "groups", "Groups[].Id", FIELDMAP_LIST },
    { "first_group", "Groups[].Id", FIELDMAP_FIRST },
    { "no_groups", "None[].Id", FIELDMAP_LIST },
    { "no_first", "None[].Id", FIELDMAP_FIRST },
    { "nested", "Outer[].Inner[]", FIELDMAP_LIST },
    { "enc", "Encryption", FIELDMAP_BLOCK, inner },
    { "no_enc", "NoEncryption", FIELDMAP_BLOCK, inner },
    { "rules", "Rules", FIELDMAP_BLOCKS, inner },
    { "no_rules", "NoRules", FIELDMAP_BLOCKS, inner },
    { "tags", "Tags" },
    { "whole", "" },
    { NULL },
};

START_TEST(values_lists_blocks)
{
    json_t *item = parse("{\"Name\":\"db\",\"Endpoint\":{\"Port\":5432},"
                         "\"Groups\":[{\"Id\":\"sg-1\"},{\"Other\":1},{\"Id\":\"sg-2\"}],"
                         "\"Outer\":[{\"Inner\":[1,2]},{\"Inner\":[3]},{}],"
                         "\"Encryption\":{\"EncryptionOption\":\"SSE_KMS\"},"
                         "\"Rules\":[{\"KmsKey\":\"k1\"},{\"EncryptionOption\":\"X\"}],"
                         "\"Tags\":{\"a\":\"b\"}}");
    json_t *attrs = json_object();
    ck_assert_int_eq(fieldmap_apply(attrs, item, outer), 0);
    assert_json(json_object_get(attrs, "name"), "\"db\"");
    assert_json(json_object_get(attrs, "port"), "5432");
    /* Absent members are null, not left out. */
    ck_assert(json_is_null(json_object_get(attrs, "missing")));
    ck_assert(json_is_null(json_object_get(attrs, "missing_deep")));
    assert_json(json_object_get(attrs, "groups"), "[\"sg-1\",\"sg-2\"]");
    assert_json(json_object_get(attrs, "first_group"), "\"sg-1\"");
    assert_json(json_object_get(attrs, "no_groups"), "[]");
    ck_assert(json_is_null(json_object_get(attrs, "no_first")));
    assert_json(json_object_get(attrs, "nested"), "[1,2,3]");
    assert_json(json_object_get(attrs, "enc"), "[{\"kms\":null,\"option\":\"SSE_KMS\"}]");
    assert_json(json_object_get(attrs, "no_enc"), "[]");
    assert_json(json_object_get(attrs, "rules"),
                "[{\"kms\":\"k1\",\"option\":null},{\"kms\":null,\"option\":\"X\"}]");
    assert_json(json_object_get(attrs, "no_rules"), "[]");
    assert_json(json_object_get(attrs, "tags"), "{\"a\":\"b\"}");
    ck_assert(json_equal(json_object_get(attrs, "whole"), item));
    /* Copies, not references into the item. */
    ck_assert_ptr_ne(json_object_get(attrs, "tags"), json_object_get(item, "Tags"));
    json_decref(attrs);
    json_decref(item);
}
END_TEST

static const struct fieldmap region_fields[] = {
    { "kms", "sseKmsKeyId" },
    { "status", "status" },
    { NULL },
};
static const struct fieldmap value_fields[] = {
    { "values", "" },
    { NULL },
};
static const struct fieldmap keyed[] = {
    { "region", "regionMap", FIELDMAP_KEYED, region_fields, "name" },
    { "param", "params", FIELDMAP_KEYED, value_fields, "name" },
    { "none", "nothing", FIELDMAP_KEYED, value_fields, "name" },
    { "dyn", "dynamic", FIELDMAP_MAP_MEMBER, NULL, "variable" },
    { "no_dyn", "nothing", FIELDMAP_MAP_MEMBER, NULL, "variable" },
    { NULL },
};

START_TEST(maps)
{
    json_t *item = parse("{\"regionMap\":{\"eu-west-1\":{\"status\":\"ACTIVE\"},"
                         "\"eu-central-1\":{\"sseKmsKeyId\":\"k\",\"status\":\"UPDATING\"}},"
                         "\"params\":{\"b\":[\"2\"],\"a\":[\"1\",\"x\"]},"
                         "\"dynamic\":{\"p\":{\"variable\":\"INCIDENT_RECORD_ARN\"},\"q\":{}}}");
    json_t *attrs = json_object();
    ck_assert_int_eq(fieldmap_apply(attrs, item, keyed), 0);
    /* One element per key, in key order. */
    assert_json(json_object_get(attrs, "region"),
                "[{\"name\":\"eu-central-1\",\"kms\":\"k\",\"status\":\"UPDATING\"},"
                "{\"name\":\"eu-west-1\",\"kms\":null,\"status\":\"ACTIVE\"}]");
    assert_json(json_object_get(attrs, "param"),
                "[{\"name\":\"a\",\"values\":[\"1\",\"x\"]},{\"name\":\"b\",\"values\":[\"2\"]}]");
    assert_json(json_object_get(attrs, "none"), "[]");
    assert_json(json_object_get(attrs, "dyn"), "{\"p\":\"INCIDENT_RECORD_ARN\",\"q\":null}");
    ck_assert(json_is_null(json_object_get(attrs, "no_dyn")));
    json_decref(attrs);
    json_decref(item);
}
END_TEST

START_TEST(odd_items)
{
    static const struct fieldmap fields[] = {
        { "a", "A.B" },
        { "l", "A[].B", FIELDMAP_LIST },
        { "blk", "A", FIELDMAP_BLOCK, inner },
        { "blks", "A", FIELDMAP_BLOCKS, inner },
        { NULL },
    };
    json_t *attrs = json_object();
    json_t *item;
    /* A non-object item has no members; wrong shapes read as absent. */
    ck_assert_int_eq(fieldmap_apply(attrs, json_null(), fields), 0);
    ck_assert(json_is_null(json_object_get(attrs, "a")));
    assert_json(json_object_get(attrs, "l"), "[]");
    assert_json(json_object_get(attrs, "blk"), "[]");
    item = parse("{\"A\":\"scalar\"}");
    ck_assert_int_eq(fieldmap_apply(attrs, item, fields), 0);
    ck_assert(json_is_null(json_object_get(attrs, "a")));
    assert_json(json_object_get(attrs, "l"), "[]");
    assert_json(json_object_get(attrs, "blk"), "[]");
    assert_json(json_object_get(attrs, "blks"), "[]");
    json_decref(item);
    json_decref(attrs);
}
END_TEST

START_TEST(bad_tables)
{
    static const struct fieldmap no_sub[] = { { "x", "X", FIELDMAP_BLOCK }, { NULL } };
    static const struct fieldmap no_key[] = {
        { "x", "X", FIELDMAP_KEYED, inner },
        { NULL },
    };
    static const struct fieldmap no_member[] = { { "x", "X", FIELDMAP_MAP_MEMBER }, { NULL } };
    static const struct fieldmap bad_kind[] = { { "x", "X", (enum fieldmap_kind)99 }, { NULL } };
    json_t *attrs = json_object();
    json_t *item = parse("{\"X\":{}}");
    ck_assert_int_eq(fieldmap_apply(attrs, item, no_sub), -EINVAL);
    ck_assert_int_eq(fieldmap_apply(attrs, item, no_key), -EINVAL);
    ck_assert_int_eq(fieldmap_apply(attrs, item, no_member), -EINVAL);
    ck_assert_int_eq(fieldmap_apply(attrs, item, bad_kind), -EINVAL);
    ck_assert_int_eq(fieldmap_apply(NULL, item, inner), -EINVAL);
    ck_assert_int_eq(fieldmap_apply(attrs, item, NULL), -EINVAL);
    json_decref(item);
    json_decref(attrs);
}
END_TEST

START_TEST(get_and_string)
{
    char longname[300];
    json_t *item = parse("{\"A\":{\"B\":\"x\",\"N\":3},\"L\":[1]}");
    ck_assert_str_eq(fieldmap_string(item, "A.B"), "x");
    ck_assert_ptr_null(fieldmap_string(item, "A.N"));
    ck_assert_int_eq(json_integer_value(fieldmap_get(item, "A.N")), 3);
    ck_assert_ptr_eq(fieldmap_get(item, ""), item);
    ck_assert_ptr_null(fieldmap_get(item, "A.C"));
    ck_assert_ptr_null(fieldmap_get(item, "L[]"));
    ck_assert_ptr_null(fieldmap_get(item, NULL));
    ck_assert_ptr_null(fieldmap_get(NULL, "A"));
    /* A member name longer than any AWS member is refused, not cut. */
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_ptr_null(fieldmap_get(item, longname));
    json_decref(item);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fieldmap");
    TCase *tc = tcase_create("fieldmap");
    tcase_add_test(tc, values_lists_blocks);
    tcase_add_test(tc, maps);
    tcase_add_test(tc, odd_items);
    tcase_add_test(tc, bad_tables);
    tcase_add_test(tc, get_and_string);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
