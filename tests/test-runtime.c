#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "testutil.h"

static char *tmp;

static void setup(void)
{
    tmp = tu_tmpdir();
}

static void teardown(void)
{
    tu_rmrf(tmp);
    free(tmp);
}

static struct config *load_cfg(const char *text)
{
    struct config *c = NULL;
    struct perr err = { 0 };
    struct config_env env = { 0 };
    ck_assert_msg(config_load_string("t.conf", text, &env, &c, &err, NULL) == 0, "%s", err.msg);
    return c;
}

static char *errors_of(const char *text)
{
    struct config *c = load_cfg(text);
    struct runtime *rt = NULL;
    struct perr err = { 0 };
    char **errors = NULL, *joined;
    int r = runtime_load(c, &rt, &err, &errors);
    if (r == 0) {
        runtime_free(rt);
        config_free(c);
        return strdup("");
    }
    joined = strv_join(errors, "\n");
    strv_free(errors);
    config_free(c);
    return joined;
}

START_TEST(defaults_load)
{
    struct config *c = NULL;
    struct runtime *rt = NULL;
    struct perr err = { 0 };
    ck_assert_int_eq(config_defaults(&c), 0);
    ck_assert_msg(runtime_load(c, &rt, &err, NULL) == 0, "%s", err.msg);
    ck_assert_int_ge((int)controls_count_enabled(rt->cat), 60);
    ck_assert_ptr_nonnull(typemap_find(rt->tm, "aws_s3_bucket"));
    /* The journal is on by default; nothing else. */
    ck_assert_int_eq((int)rt->n_sinks, 1);
    ck_assert_str_eq(rt->sinks[0].name, "journal");
    runtime_free(rt);
    config_free(c);
}
END_TEST

START_TEST(sinks_and_exceptions)
{
    char *key = tu_path_join(tmp, "k");
    char *text = NULL;
    struct config *c;
    struct runtime *rt = NULL;
    struct perr err = { 0 };
    tu_write_file(key, "secret");
    ck_assert_int_ne(asprintf(&text,
                              "[webhook hook]\nurl = https://h.example\nsecret_file = %s\n"
                              "[syslog]\ntarget = local\n"
                              "[digest weekly]\nsmtp_url = smtp://127.0.0.1:2525\ntls = none\n"
                              "from = a@b\nto = c@d\n"
                              "[exception legacy]\nmatch = aws_s3_bucket.legacy-*\nreason = r\n"
                              "owner = o\n"
                              "[exception old]\nmatch = aws_vpc.vpc-1\nreason = r\nowner = o\n"
                              "expires = 2020-01-01\n"
                              "[exception ssh]\nmatch = control:net-sg-admin-ports:sg-1*\n"
                              "reason = r\nowner = o\n",
                              key),
                     -1);
    c = load_cfg(text);
    ck_assert_msg(runtime_load(c, &rt, &err, NULL) == 0, "%s", err.msg);
    ck_assert_int_eq((int)rt->n_sinks, 4);
    ck_assert_str_eq(rt->sinks[0].name, "webhook:hook");
    ck_assert_str_eq(rt->sinks[1].name, "journal");
    ck_assert_str_eq(rt->sinks[2].name, "syslog");
    ck_assert_str_eq(rt->sinks[3].name, "digest:weekly");
    ck_assert(rt->sinks[3].digest);
    ck_assert_str_eq(runtime_exception_for(rt, "aws_s3_bucket", "legacy-logs", NULL, 0), "legacy");
    ck_assert_ptr_null(runtime_exception_for(rt, "aws_s3_bucket", "logs", NULL, 0));
    /* Expired exceptions no longer cover anything. */
    ck_assert_ptr_null(runtime_exception_for(rt, "aws_vpc", "vpc-1", NULL, time_now_ms()));
    ck_assert_str_eq(runtime_exception_for(rt, "aws_vpc", "vpc-1", NULL, 0), "old");
    ck_assert_str_eq(
        runtime_exception_for(rt, "aws_security_group", "sg-123", "net-sg-admin-ports", 0), "ssh");
    ck_assert_ptr_null(
        runtime_exception_for(rt, "aws_security_group", "sg-9", "net-sg-admin-ports", 0));
    ck_assert_ptr_null(
        runtime_exception_for(rt, "aws_s3_bucket", "legacy-logs", "enc-s3-sse-kms", 0));
    runtime_free(rt);
    config_free(c);
    free(text);
    free(key);
}
END_TEST

START_TEST(problems_reported_with_lines)
{
    char *got = errors_of("[baseline]\nlogs.retention_daze = 400\n");
    ck_assert_msg(strstr(got, "t.conf:2: [baseline] params: unknown parameter "
                              "'logs.retention_daze'") != NULL,
                  "%s", got);
    free(got);
    got = errors_of("[baseline]\nlogs.retention_min_days = lots\n");
    ck_assert_msg(strstr(got, "t.conf:2: [baseline] params: 'logs.retention_min_days'") != NULL,
                  "%s", got);
    free(got);
    got = errors_of("[baseline]\ndisable = no-such-control\n");
    ck_assert_msg(strstr(got, "t.conf: [baseline] disable: unknown control 'no-such-control'"),
                  "%s", got);
    free(got);
    got = errors_of("[exception e]\nmatch = control:no-such\nreason = r\nowner = o\n");
    ck_assert_msg(strstr(got, "t.conf:1: [exception e] match: unknown control 'no-such'"), "%s",
                  got);
    free(got);
    got = errors_of("[exception e]\nmatch = justatype\nreason = r\nowner = o\n");
    ck_assert_msg(strstr(got, "t.conf:1: [exception e] match: 'justatype' is not TYPE.ID"), "%s",
                  got);
    free(got);
    got = errors_of("[plumb]\ndriftignore = /nonexistent/driftignore\n");
    ck_assert_msg(strstr(got, "driftignore: ") && strstr(got, "/nonexistent/driftignore"), "%s",
                  got);
    free(got);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("runtime");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_load);
    tcase_add_test(tc, sinks_and_exceptions);
    tcase_add_test(tc, problems_reported_with_lines);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
