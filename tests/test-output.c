#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "testutil.h"

static char *render(struct table *t, bool color, size_t max)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(table_print(t, f, color, max), 0);
    fclose(f);
    return buf;
}

START_TEST(alignment)
{
    const char *h[] = { "TYPE", "ID", "STATUS", NULL };
    const char *r1[] = { "aws_s3_bucket", "logs", "ok", NULL };
    const char *r2[] = { "aws_vpc", "vpc-1", NULL, NULL };
    struct table *t = table_new(h);
    char *out;
    ck_assert_int_eq(table_add_row(t, r1), 0);
    ck_assert_int_eq(table_add_row(t, r2), 0);
    out = render(t, false, 0);
    ck_assert_str_eq(out, "TYPE           ID     STATUS\n"
                          "aws_s3_bucket  logs   ok\n"
                          "aws_vpc        vpc-1  -\n");
    free(out);
    table_free(t);
}
END_TEST

START_TEST(utf8_and_cut)
{
    const char *h[] = { "NAME", "NOTE", NULL };
    const char *r1[] = { "Grüße-bucket-with-a-long-name", "ünïcode ok", NULL };
    struct table *t = table_new(h);
    char *out;
    ck_assert_int_eq(utf8_width("Grüße"), 5);
    ck_assert_int_eq(table_add_row(t, r1), 0);
    out = render(t, false, 10);
    ck_assert_str_eq(out, "NAME        NOTE\n"
                          "Grüße-buc…  ünïcode ok\n");
    free(out);
    table_free(t);
}
END_TEST

START_TEST(colour_and_newlines)
{
    const char *h[] = { "A", "B", NULL };
    const char *r1[] = { "x\ny", "fail", NULL };
    struct table *t = table_new(h);
    char *out;
    ck_assert_int_eq(table_add_row(t, r1), 0);
    table_color_cell(t, 1, COLOR_RED);
    out = render(t, false, 0);
    ck_assert(strchr(out, '\033') == NULL);
    ck_assert_str_eq(out, "A    B\nx y  fail\n");
    free(out);
    out = render(t, true, 0);
    ck_assert(strstr(out, "\033[31mfail\033[0m") != NULL);
    ck_assert(strstr(out, "\033[1mA\033[0m") != NULL);
    free(out);
    table_free(t);
}
END_TEST

START_TEST(formats)
{
    enum output_format f;
    char *buf = NULL;
    size_t len;
    FILE *m;
    json_t *j = json_pack("{s:i}", "a", 1);
    ck_assert_int_eq(output_format_from_name("json", &f), 0);
    ck_assert_int_eq(f, OUTPUT_JSON);
    ck_assert_int_eq(output_format_from_name("yaml", &f), -EINVAL);
    m = open_memstream(&buf, &len);
    ck_assert_int_eq(output_json(m, j), 0);
    fclose(m);
    ck_assert_str_eq(buf, "{\n  \"a\": 1\n}\n");
    free(buf);
    json_decref(j);
    ck_assert(!output_want_color(stdout, "1"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("output");
    TCase *tc = tcase_create("output");
    tcase_add_test(tc, alignment);
    tcase_add_test(tc, utf8_and_cut);
    tcase_add_test(tc, colour_and_newlines);
    tcase_add_test(tc, formats);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
