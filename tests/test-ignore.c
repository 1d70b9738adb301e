#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ignore.h"
#include "testutil.h"
#include "util.h"

static struct ignore_pattern *compile(const char *text, unsigned flags)
{
    struct ignore_pattern *p = NULL;
    struct perr err = { 0 };
    int r = ignore_pattern_compile(text, flags, &p, &err);
    ck_assert_msg(r == 0, "%s: %d %s", text, r, err.msg);
    return p;
}

static bool pmatch(const char *pattern, const char *s)
{
    struct ignore_pattern *p = compile(pattern, 0);
    bool m = ignore_pattern_match(p, s);
    ignore_pattern_free(p);
    return m;
}

static struct ignore_set *parse(const char *text)
{
    struct ignore_set *set = NULL;
    struct perr err = { 0 };
    int r = ignore_parse(".driftignore", text, strlen(text), &set, &err);
    ck_assert_msg(r == 0, "%d %s", r, err.msg);
    return set;
}

static void expect_parse_error(const char *text, const char *msg)
{
    struct ignore_set *set = NULL;
    struct perr err = { 0 };
    ck_assert_int_eq(ignore_parse(".driftignore", text, strlen(text), &set, &err), -EINVAL);
    ck_assert_ptr_null(set);
    ck_assert_str_eq(err.msg, msg);
}

START_TEST(patterns)
{
    struct ignore_pattern *p;
    struct perr err = { 0 };

    ck_assert(pmatch("aws_s3_bucket", "aws_s3_bucket"));
    ck_assert(!pmatch("aws_s3_bucket", "aws_s3_bucket2"));
    ck_assert(!pmatch("aws_s3_bucket", "aws_s3_buck"));
    ck_assert(pmatch("*", ""));
    ck_assert(pmatch("*", "anything.at/all"));
    ck_assert(pmatch("aws_iam_*", "aws_iam_user"));
    ck_assert(pmatch("aws_iam_*", "aws_iam_"));
    ck_assert(!pmatch("aws_iam_*", "aws_s3_bucket"));
    ck_assert(pmatch("*_policy", "aws_iam_role_policy"));
    ck_assert(!pmatch("*_policy", "aws_iam_role_policy_attachment"));
    ck_assert(pmatch("*role*", "aws_iam_role_policy"));
    ck_assert(pmatch("*Amazon*", "AmazonSSMRoleForInstances"));
    ck_assert(pmatch("*Amazon*", "AWSServiceRoleForAmazonSSM"));
    ck_assert(!pmatch("*Amazon*", "AWSServiceRoleForECS"));
    ck_assert(pmatch("a*b*c", "abc"));
    ck_assert(pmatch("a*b*c", "a-b-b-c"));
    ck_assert(!pmatch("a*b*c", "a-c-b"));
    ck_assert(!pmatch("ab*ba", "aba")); /* prefix and suffix may not overlap */
    ck_assert(pmatch("ab*ba", "abba"));
    ck_assert(pmatch("a**b", "ab"));
    ck_assert(pmatch("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    ck_assert(!pmatch("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    /* Escapes: a literal star, dot and backslash. */
    ck_assert(pmatch("a\\*b", "a*b"));
    ck_assert(!pmatch("a\\*b", "axb"));
    ck_assert(pmatch("my\\.bucket", "my.bucket"));
    ck_assert(pmatch("c:\\\\temp", "c:\\temp"));
    /* Exception patterns in the configuration use the same matcher. */
    ck_assert(pmatch("control:net-sg-admin-ports:sg-*", "control:net-sg-admin-ports:sg-123"));
    ck_assert(!pmatch("control:net-sg-admin-ports:sg-*", "control:net-sg-open:sg-123"));
    ck_assert(pmatch("aws_s3_bucket.legacy-*", "aws_s3_bucket.legacy-logs"));
    ck_assert(pmatch("drift.*", "drift.opened"));

    p = compile("Tags*Name", IGNORE_PATTERN_ICASE);
    ck_assert(ignore_pattern_match(p, "tags.name"));
    ck_assert(ignore_pattern_match(p, "TAGS-x-NAME"));
    ck_assert(!ignore_pattern_match(p, "tags.nam"));
    ck_assert(!ignore_pattern_match(p, NULL));
    ck_assert_str_eq(ignore_pattern_text(p), "Tags*Name");
    ck_assert(!ignore_pattern_is_literal(p));
    ignore_pattern_free(p);
    p = compile("Name", 0);
    ck_assert(!ignore_pattern_match(p, "name"));
    ck_assert(ignore_pattern_is_literal(p));
    ignore_pattern_free(p);
    p = compile("a\\*", 0);
    ck_assert(ignore_pattern_is_literal(p));
    ignore_pattern_free(p);

    p = NULL;
    ck_assert_int_eq(ignore_pattern_compile("", 0, &p, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "empty pattern");
    ck_assert_int_eq(ignore_pattern_compile("bucket\\", 0, &p, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "pattern \"bucket\\\" ends with an unfinished escape: write a "
                              "literal backslash as \"\\\\\"");
    ck_assert_ptr_null(p);
    ck_assert_ptr_null(ignore_pattern_free(NULL));
}
END_TEST

static void expect_path(const char *path, const char *const *want, size_t n)
{
    char **v = NULL;
    ck_assert_int_eq(ignore_path_split(path, &v), 0);
    ck_assert_uint_eq(strv_length(v), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(v[i], want[i]);
    strv_free(v);
}

START_TEST(paths)
{
    static const char *bad[] = { "",    "a.",    ".a",    "a..b",   "a[",      "a[]",       "a[x]",
                                 "a[0", "a[0]b", "a.[0]", "a[\"k]", "a[\"k\"", "a[\"\\q\"]" };
    char **v = (char **)1;

    expect_path("password", (const char *[]){ "password" }, 1);
    expect_path("settings[0].secret", (const char *[]){ "settings", "0", "secret" }, 3);
    expect_path("tags[\"Api-Key\"]", (const char *[]){ "tags", "Api-Key" }, 2);
    expect_path("tags[\"kubernetes.io/role\"]", (const char *[]){ "tags", "kubernetes.io/role" },
                2);
    expect_path("m[\"say \\\"hi\\\"\"][12][\"\\u0001\"]",
                (const char *[]){ "m", "say \"hi\"", "12", "\x01" }, 4);
    expect_path("a.b.c", (const char *[]){ "a", "b", "c" }, 3);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        ck_assert_msg(ignore_path_split(bad[i], &v) == -EINVAL, "%s accepted", bad[i]);
        ck_assert_ptr_eq(v, (char **)1);
    }
}
END_TEST

START_TEST(resource_rules)
{
    struct ignore_set *set = parse("# comment\n"
                                   "\n"
                                   "   \t\n"
                                   "aws_s3_bucket.my-bucket\n"
                                   "aws_instance.*\r\n"
                                   "  *role.*Amazon*  \n"
                                   "aws_iam_access_key\n"
                                   "aws_s3_bucket.my\\.dotted\\.bucket\n"
                                   "aws_route53_record.Z1_*_A");

    ck_assert_uint_eq(ignore_set_size(set), 6);
    ck_assert(ignore_resource(set, "aws_s3_bucket", "my-bucket"));
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "my-buckets"));
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "other"));
    ck_assert(ignore_resource(set, "aws_instance", "i-0123"));
    ck_assert(ignore_resource(set, "aws_iam_role", "AmazonSSMRoleForInstances"));
    ck_assert(ignore_resource(set, "aws_iam_role", "AWSServiceRoleForAmazonSSM"));
    ck_assert(!ignore_resource(set, "aws_iam_role", "deploy"));
    ck_assert(!ignore_resource(set, "aws_iam_role_policy", "AmazonX"));
    /* A type alone covers every id of that type. */
    ck_assert(ignore_resource(set, "aws_iam_access_key", "AKIA0000"));
    ck_assert(!ignore_resource(set, "aws_iam_access_keys", "AKIA0000"));
    ck_assert(ignore_resource(set, "aws_s3_bucket", "my.dotted.bucket"));
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "my-dotted-bucket"));
    ck_assert(ignore_resource(set, "aws_route53_record", "Z1_www.example.com_A"));
    /* Type and id compare case-sensitively. */
    ck_assert(!ignore_resource(set, "AWS_INSTANCE", "i-0123"));
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "MY-BUCKET"));
    /* Resource rules cover every attribute of the resource. */
    ck_assert(ignore_attribute(set, "aws_instance", "i-0123", "tags[\"Name\"]"));
    ck_assert(!ignore_attribute(set, "aws_s3_bucket", "other", "acl"));
    ck_assert(!ignore_resource(NULL, "aws_instance", "i-0123"));
    ck_assert(!ignore_attribute(NULL, "aws_instance", "i-0123", "ami"));
    ck_assert(!ignore_resource(set, NULL, "i-0123"));
    ignore_set_free(set);
}
END_TEST

START_TEST(negation_precedence)
{
    /* driftctl's own example: ignore everything but IAM. */
    struct ignore_set *set = parse("*\n!aws_iam_*\n");
    ck_assert(ignore_resource(set, "aws_s3_bucket", "b"));
    ck_assert(ignore_resource(set, "aws_instance", "i-1"));
    ck_assert(!ignore_resource(set, "aws_iam_user", "alice"));
    ck_assert(!ignore_resource(set, "aws_iam_role", "r"));
    ignore_set_free(set);

    /* Later lines win, in both directions. */
    set = parse("aws_s3_bucket.*\n"
                "!aws_s3_bucket.audit-*\n"
                "aws_s3_bucket.audit-tmp\n");
    ck_assert(ignore_resource(set, "aws_s3_bucket", "logs"));
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "audit-2024"));
    ck_assert(ignore_resource(set, "aws_s3_bucket", "audit-tmp"));
    ignore_set_free(set);

    set = parse("!aws_s3_bucket.audit-*\n"
                "aws_s3_bucket.*\n");
    ck_assert(ignore_resource(set, "aws_s3_bucket", "audit-2024"));
    ignore_set_free(set);

    /* A negation alone ignores nothing. */
    set = parse("!aws_s3_bucket.*\n");
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "x"));
    ignore_set_free(set);

    /* "!*" after everything: nothing is ignored. */
    set = parse("aws_instance.*\n!*\n");
    ck_assert(!ignore_resource(set, "aws_instance", "i-1"));
    ignore_set_free(set);
}
END_TEST

START_TEST(attribute_rules)
{
    struct ignore_set *set = parse("aws_lambda_function.*.environment\n"
                                   "aws_lambda_function.my-lambda-name.last_modified\n"
                                   "!aws_lambda_function.payments.environment\n"
                                   "aws_instance.*.tags.kubernetes\\.io/cluster/*\n"
                                   "aws_instance.web.root_block_device.*.volume_size\n"
                                   "aws_security_group.*.ingress\n"
                                   "!aws_security_group.sg-1.ingress.0\n");

    ck_assert(ignore_attribute(set, "aws_lambda_function", "f", "environment"));
    /* Everything below the field too. */
    ck_assert(
        ignore_attribute(set, "aws_lambda_function", "f", "environment[0].variables[\"DB_HOST\"]"));
    ck_assert(!ignore_attribute(set, "aws_lambda_function", "f", "environments"));
    ck_assert(!ignore_attribute(set, "aws_lambda_function", "f", "last_modified"));
    ck_assert(ignore_attribute(set, "aws_lambda_function", "my-lambda-name", "last_modified"));
    /* driftctl compares attribute names without regard to case. */
    ck_assert(ignore_attribute(set, "aws_lambda_function", "f", "Environment"));
    /* The later negation re-enables one function's environment. */
    ck_assert(!ignore_attribute(set, "aws_lambda_function", "payments", "environment"));
    ck_assert(!ignore_attribute(set, "aws_lambda_function", "payments",
                                "environment[0].variables[\"X\"]"));
    /* Attribute rules never ignore the resource itself. */
    ck_assert(!ignore_resource(set, "aws_lambda_function", "f"));
    /* A map key with dots, written as one escaped element. */
    ck_assert(ignore_attribute(set, "aws_instance", "i-1", "tags[\"kubernetes.io/cluster/main\"]"));
    ck_assert(!ignore_attribute(set, "aws_instance", "i-1", "tags[\"kubernetes.io\"]"));
    ck_assert(!ignore_attribute(set, "aws_instance", "i-1", "tags[\"Name\"]"));
    /* A wildcard element matches any one element, list indexes included. */
    ck_assert(ignore_attribute(set, "aws_instance", "web", "root_block_device[0].volume_size"));
    ck_assert(!ignore_attribute(set, "aws_instance", "web", "root_block_device[0].volume_type"));
    ck_assert(!ignore_attribute(set, "aws_instance", "web", "root_block_device"));
    /* Negating one element of an ignored list. */
    ck_assert(ignore_attribute(set, "aws_security_group", "sg-2", "ingress[0].from_port"));
    ck_assert(!ignore_attribute(set, "aws_security_group", "sg-1", "ingress[0].from_port"));
    ck_assert(ignore_attribute(set, "aws_security_group", "sg-1", "ingress[1].from_port"));
    /* A path outside the notation is one element. */
    ck_assert(!ignore_attribute(set, "aws_lambda_function", "f", "environment["));
    ignore_set_free(set);
}
END_TEST

START_TEST(escapes)
{
    struct ignore_set *set = parse("\\#not-a-comment.x\n"
                                   "\\!not-negated.y\n"
                                   "weird.back\\\\slash\n"
                                   "star.literal\\*\n");
    ck_assert_uint_eq(ignore_set_size(set), 4);
    ck_assert(ignore_resource(set, "#not-a-comment", "x"));
    ck_assert(ignore_resource(set, "!not-negated", "y"));
    ck_assert(ignore_resource(set, "weird", "back\\slash"));
    ck_assert(ignore_resource(set, "star", "literal*"));
    ck_assert(!ignore_resource(set, "star", "literally"));
    ignore_set_free(set);
}
END_TEST

START_TEST(bad_lines)
{
    char text[] = "aws_instance.*\nbad\0line\n";

    expect_parse_error("aws_instance.*\n!\n",
                       ".driftignore:2: \"!\" alone negates nothing (write !TYPE or !TYPE.ID)");
    expect_parse_error("# ok\n\naws_s3_bucket..x\n",
                       ".driftignore:3: \"aws_s3_bucket..x\": empty element (a rule is "
                       "TYPE.ID[.ATTRIBUTE...]; write a dot inside an id as \"\\.\")");
    expect_parse_error(".x\n", ".driftignore:1: \".x\": empty element (a rule is "
                               "TYPE.ID[.ATTRIBUTE...]; write a dot inside an id as \"\\.\")");
    expect_parse_error("a.b\nx.\n", ".driftignore:2: \"x.\": empty element (a rule is "
                                    "TYPE.ID[.ATTRIBUTE...]; write a dot inside an id as \"\\.\")");
    expect_parse_error("aws_s3_bucket.x\\\n",
                       ".driftignore:1: pattern \"x\\\" ends with an unfinished escape: write a "
                       "literal backslash as \"\\\\\"");
    expect_parse_error("a.b\n!.c\n",
                       ".driftignore:2: \".c\": empty element (a rule is "
                       "TYPE.ID[.ATTRIBUTE...]; write a dot inside an id as \"\\.\")");
    {
        struct ignore_set *set = NULL;
        struct perr err = { 0 };
        ck_assert_int_eq(ignore_parse("x.driftignore", text, sizeof(text) - 1, &set, &err),
                         -EINVAL);
        ck_assert_str_eq(err.msg, "x.driftignore:2: the line contains a NUL byte");
        ck_assert_ptr_null(set);
    }
    /* ignore_set_add leaves the set unchanged on error and has no location. */
    {
        struct ignore_set *set = NULL;
        struct perr err = { 0 };
        ck_assert_int_eq(ignore_set_new(&set), 0);
        ck_assert_int_eq(ignore_set_add(set, "aws_vpc.*", &err), 0);
        ck_assert_int_eq(ignore_set_add(set, "a..b", &err), -EINVAL);
        ck_assert_str_eq(err.msg, "\"a..b\": empty element (a rule is TYPE.ID[.ATTRIBUTE...]; "
                                  "write a dot inside an id as \"\\.\")");
        ck_assert_int_eq(ignore_set_add(set, "  # just a comment", &err), 0);
        ck_assert_uint_eq(ignore_set_size(set), 1);
        ck_assert(ignore_resource(set, "aws_vpc", "vpc-1"));
        ignore_set_free(set);
    }
}
END_TEST

START_TEST(realistic_file)
{
    char *path = tu_srcpath("tests/data/ignore/realistic.driftignore");
    struct ignore_set *set = NULL;
    struct perr err = { 0 };

    ck_assert_int_eq(ignore_load(path, &set, &err), 0);
    ck_assert_uint_eq(ignore_set_size(set), 16);
    ck_assert(ignore_resource(set, "aws_iam_role", "AWSServiceRoleForSupport"));
    ck_assert(ignore_resource(set, "aws_iam_role", "AmazonEKSNodeRole"));
    ck_assert(!ignore_resource(set, "aws_iam_role", "deploy"));
    ck_assert(ignore_resource(set, "aws_default_vpc", "vpc-0a1b2c3d"));
    ck_assert(ignore_resource(set, "aws_s3_bucket", "logs.legacy.example.com"));
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "logs"));
    ck_assert(ignore_resource(set, "aws_s3_bucket", "sandbox-tmp-42"));
    ck_assert(!ignore_resource(set, "aws_s3_bucket", "sandbox-audit"));
    ck_assert(ignore_resource(set, "aws_sqs_queue", "sandbox-jobs"));
    ck_assert(ignore_resource(set, "aws_iam_access_key", "AKIAEXAMPLE"));
    ck_assert(!ignore_resource(set, "aws_lambda_function", "payments-prod"));
    ck_assert(ignore_attribute(set, "aws_lambda_function", "thumbnailer", "environment"));
    ck_assert(!ignore_attribute(set, "aws_lambda_function", "payments-prod", "environment"));
    ck_assert(ignore_attribute(set, "aws_lambda_function", "payments-prod", "last_modified"));
    ck_assert(ignore_attribute(set, "aws_instance", "i-1", "tags[\"CostCenter\"]"));
    ck_assert(ignore_attribute(set, "aws_instance", "i-1", "tags[\"kubernetes.io/cluster/prod\"]"));
    ck_assert(!ignore_attribute(set, "aws_instance", "i-1", "instance_type"));
    ignore_set_free(set);
    free(path);

    path = tu_srcpath("tests/data/ignore/missing.driftignore");
    ck_assert_int_eq(ignore_load(path, &set, &err), -ENOENT);
    {
        char *msg = str_printf("%s: cannot read: No such file or directory", path);
        ck_assert_str_eq(err.msg, msg);
        free(msg);
    }
    free(path);
}
END_TEST

START_TEST(load_errors)
{
    char *dir = tu_tmpdir(), *path = tu_path_join(dir, ".driftignore"), *msg;
    struct ignore_set *set = NULL;
    struct perr err = { 0 };
    FILE *f;

    tu_write_file(path, "aws_vpc.*\n\n!\n");
    ck_assert_int_eq(ignore_load(path, &set, &err), -EINVAL);
    ck_assert_ptr_null(set);
    msg = str_printf("%s:3: \"!\" alone negates nothing (write !TYPE or !TYPE.ID)", path);
    ck_assert_str_eq(err.msg, msg);
    free(msg);

    /* "!!x" is a negated rule on the type "!x". */
    tu_write_file(path, "*\n!!x\n");
    ck_assert_int_eq(ignore_load(path, &set, &err), 0);
    ck_assert(!ignore_resource(set, "!x", "id"));
    ck_assert(ignore_resource(set, "x", "id"));
    set = ignore_set_free(set);

    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i <= IGNORE_MAX_FILE_SIZE / 16; i++)
        fputs("aws_vpc.vpc-0123\n", f);
    fclose(f);
    ck_assert_int_eq(ignore_load(path, &set, &err), -EFBIG);
    msg = str_printf("%s: larger than %zu bytes, is it really a .driftignore?", path,
                     IGNORE_MAX_FILE_SIZE);
    ck_assert_str_eq(err.msg, msg);
    free(msg);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ignore");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, patterns);
    tcase_add_test(tc, paths);
    tcase_add_test(tc, resource_rules);
    tcase_add_test(tc, negation_precedence);
    tcase_add_test(tc, attribute_rules);
    tcase_add_test(tc, escapes);
    tcase_add_test(tc, bad_lines);
    tcase_add_test(tc, realistic_file);
    tcase_add_test(tc, load_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
