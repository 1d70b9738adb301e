#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectmap.h"
#include "testutil.h"
#include "util.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    ck_assert_msg(v != NULL, "bad test JSON: %s", e.text);
    return v;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    ck_assert_msg(json_equal(got, want), "got %s, want %s", g, want_text);
    free(g);
    json_decref(want);
}

START_TEST(paths)
{
    json_t *v = parse("{\"A\":{\"B\":{\"C\":\"x\"},\"N\":3},\"L\":[1]}");
    ck_assert_str_eq(collectmap_string(v, "A.B.C"), "x");
    ck_assert_ptr_eq(collectmap_get(v, ""), v);
    ck_assert_ptr_eq(collectmap_get(v, NULL), v);
    ck_assert_int_eq((int)json_integer_value(collectmap_get(v, "A.N")), 3);
    ck_assert_ptr_null(collectmap_get(v, "A.B.D"));
    ck_assert_ptr_null(collectmap_get(v, "A.N.X")); /* a number has no members */
    ck_assert_ptr_null(collectmap_get(v, "A..B"));
    ck_assert_ptr_null(collectmap_string(v, "A.N"));
    ck_assert_ptr_null(collectmap_get(NULL, "A"));
    json_decref(v);
}
END_TEST

static const struct collectmap_field grantee[] = {
    { "id", "ID" },
    { "uri", "URI" },
    { NULL },
};
static const struct collectmap_field grant[] = {
    { "grantee", "Grantee", CM_BLOCK, .nested = grantee },
    { "permission", "Permission" },
    { NULL },
};
static const struct collectmap_field top[] = {
    { "name", "Name" },
    { "enabled", "Status", CM_EQ, "Enabled" },
    { "suspended", "Other", CM_EQ, "Enabled" },
    { "never", "Missing", CM_EQ, "Enabled" },
    { "grant", "Grants", CM_LIST, .nested = grant },
    { "no_grant", "NoGrants", CM_LIST, .nested = grant },
    { "owner", "Owner", CM_BLOCK, .nested = grantee },
    { "no_owner", "NoOwner", CM_BLOCK, .nested = grantee },
    { "whole", "", CM_BLOCK, .nested = grantee },
    { "tags", "TagSet", CM_TAGS },
    { "no_tags", "NoTags", CM_TAGS },
    { "policy", "Doc", CM_JSON_TEXT },
    { "policy_text", "Text", CM_JSON_TEXT },
    { "no_policy", "NoDoc", CM_JSON_TEXT },
    { "list", "Strings" },
    { "absent", "Nope" },
    { NULL },
};

START_TEST(apply_table)
{
    json_t *src = parse("{\"Name\":\"b\",\"Status\":\"Enabled\",\"Other\":\"Suspended\","
                        "\"Grants\":[{\"Grantee\":{\"ID\":\"c1\"},\"Permission\":\"READ\"},"
                        "{\"Permission\":\"WRITE\"}],\"Owner\":{\"ID\":\"o\",\"URI\":\"u\"},"
                        "\"ID\":\"self\",\"TagSet\":[{\"Key\":\"k\",\"Value\":\"v\"}],"
                        "\"Doc\":{\"Version\":\"2012-10-17\",\"Statement\":[]},\"Text\":\"{ }\","
                        "\"Strings\":[\"a\",\"b\"]}");
    json_t *attrs = json_object();
    ck_assert_int_eq(collectmap_apply(attrs, src, top), 0);
    assert_json(attrs,
                "{\"name\":\"b\",\"enabled\":true,\"suspended\":false,\"never\":null,"
                "\"grant\":[{\"grantee\":[{\"id\":\"c1\",\"uri\":null}],\"permission\":\"READ\"},"
                "{\"grantee\":[],\"permission\":\"WRITE\"}],\"no_grant\":[],"
                "\"owner\":[{\"id\":\"o\",\"uri\":\"u\"}],\"no_owner\":[],"
                "\"whole\":[{\"id\":\"self\",\"uri\":null}],\"tags\":{\"k\":\"v\"},\"no_tags\":{},"
                "\"policy\":\"{\\\"Statement\\\":[],\\\"Version\\\":\\\"2012-10-17\\\"}\","
                "\"policy_text\":\"{ }\",\"no_policy\":null,\"list\":[\"a\",\"b\"],"
                "\"absent\":null}");
    json_decref(attrs);
    /* A NULL source (nothing read) maps every field to its empty value. */
    attrs = collectmap_object(NULL, grant);
    assert_json(attrs, "{\"grantee\":[],\"permission\":null}");
    json_decref(attrs);
    json_decref(src);
}
END_TEST

START_TEST(tag_shapes)
{
    const char *const cases[][2] = {
        { "[{\"Key\":\"a\",\"Value\":\"1\"},{\"Key\":\"b\"}]", "{\"a\":\"1\",\"b\":\"\"}" },
        { "[{\"key\":\"a\",\"value\":\"1\"}]", "{\"a\":\"1\"}" },
        { "[{\"TagKey\":\"a\",\"TagValue\":\"1\"}]", "{\"a\":\"1\"}" },
        { "{\"a\":\"1\",\"b\":2}", "{\"a\":\"1\",\"b\":\"\"}" },
        /* Entries without a string key are not tags. */
        { "[{\"Key\":5,\"Value\":\"x\"},{\"Other\":\"y\"},\"z\"]", "{}" },
        { "\"not tags\"", "{}" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *in = parse(cases[i][0]);
        json_t *out = collectmap_tags(in);
        assert_json(out, cases[i][1]);
        json_decref(out);
        json_decref(in);
    }
}
END_TEST

START_TEST(json_text)
{
    json_t *v = collectmap_json_text(NULL);
    ck_assert(json_is_null(v));
    json_decref(v);
    v = parse("[{\"b\":1,\"a\":[true]}]");
    {
        json_t *t = collectmap_json_text(v);
        ck_assert_str_eq(json_string_value(t), "[{\"a\":[true],\"b\":1}]");
        json_decref(t);
    }
    json_decref(v);
}
END_TEST

START_TEST(set_steals)
{
    json_t *attrs = json_object();
    ck_assert_int_eq(collectmap_set(attrs, "x", json_integer(1)), 0);
    ck_assert_int_eq(collectmap_set(attrs, "y", NULL), -ENOMEM);
    ck_assert_int_eq((int)json_object_size(attrs), 1);
    json_decref(attrs);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collectmap");
    TCase *tc = tcase_create("collectmap");
    tcase_add_test(tc, paths);
    tcase_add_test(tc, apply_table);
    tcase_add_test(tc, tag_shapes);
    tcase_add_test(tc, json_text);
    tcase_add_test(tc, set_steals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
