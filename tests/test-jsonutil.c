#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "testutil.h"

START_TEST(paths)
{
    json_t *j = json_loads("{\"a\":{\"b\":[{\"c\":1},{\"c\":2}]},\"tags\":{\"k.x\":\"v\","
                           "\"q\\\"\":\"w\"}}",
                           0, NULL);
    char *p;
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_path_get(j, "a.b[1].c")), 2);
    ck_assert_str_eq(json_string_value(json_path_get(j, "tags[\"k.x\"]")), "v");
    ck_assert_str_eq(json_string_value(json_path_get(j, "tags[\"q\\\"\"]")), "w");
    ck_assert_ptr_null(json_path_get(j, "a.b[5].c"));
    ck_assert_ptr_null(json_path_get(j, "a.b[x]"));
    p = json_path_key("tags", "k.x");
    ck_assert_str_eq(p, "tags[\"k.x\"]");
    free(p);
    p = json_path_key("", "plain_key");
    ck_assert_str_eq(p, "plain_key");
    free(p);
    p = json_path_index("rules", 3);
    ck_assert_str_eq(p, "rules[3]");
    free(p);
    json_decref(j);
}
END_TEST

struct acc {
    char out[1024];
};

static int collect(const char *path, const json_t *old, const json_t *nv, void *ud)
{
    struct acc *a = ud;
    char *o = old ? json_dumps(old, JSON_ENCODE_ANY) : strdup("absent");
    char *n = nv ? json_dumps(nv, JSON_ENCODE_ANY) : strdup("absent");
    size_t len = strlen(a->out);
    snprintf(a->out + len, sizeof(a->out) - len, "%s:%s->%s;", path, o, n);
    free(o);
    free(n);
    return 0;
}

START_TEST(differences)
{
    json_t *a =
        json_loads("{\"x\":1,\"y\":{\"z\":true},\"l\":[1,2],\"gone\":\"g\",\"f\":2.0}", 0, NULL);
    json_t *b =
        json_loads("{\"x\":1,\"y\":{\"z\":false},\"l\":[1,2,3],\"new\":null,\"f\":2}", 0, NULL);
    struct acc acc = { { 0 } };
    ck_assert_int_eq(json_diff(a, b, collect, &acc), 0);
    ck_assert_str_eq(acc.out,
                     "y.z:true->false;l[2]:absent->3;gone:\"g\"->absent;new:absent->null;");
    {
        json_t *r = json_real(2.0), *i = json_integer(2), *i3 = json_integer(3);
        ck_assert(json_equal_loose(r, i));
        ck_assert(!json_equal_loose(r, i3));
        json_decref(r);
        json_decref(i);
        json_decref(i3);
    }
    json_decref(a);
    json_decref(b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jsonutil");
    TCase *tc = tcase_create("jsonutil");
    tcase_add_test(tc, paths);
    tcase_add_test(tc, differences);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
