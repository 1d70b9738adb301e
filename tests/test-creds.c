/* Credentials: the provider chain and its precedence, profile chains and
 * loops, the shared files (including what inih cannot hold on its own),
 * the network-step parsers and the refresh policy. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "testutil.h"
#include "util.h"

/* Every secret in these tests contains this marker, so one check proves
 * that no error message, label or description leaks one. */
#define MARK "SeKrEt"

/* ---- fixture: a temp dir with config/credentials and an environment ---- */

struct fx {
    char *dir;
    char *config;
    char *creds;
    char *env[40];
    size_t n_env;
};

static void fx_set(struct fx *f, const char *name, const char *value)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < f->n_env; i++) {
        if (strncmp(f->env[i], name, n) == 0 && f->env[i][n] == '=') {
            free(f->env[i]);
            if (value) {
                f->env[i] = str_printf("%s=%s", name, value);
            } else {
                f->env[i] = f->env[--f->n_env];
                f->env[f->n_env] = NULL;
            }
            return;
        }
    }
    if (!value)
        return;
    ck_assert_uint_lt(f->n_env + 1, ARRAY_SIZE(f->env));
    f->env[f->n_env++] = str_printf("%s=%s", name, value);
    f->env[f->n_env] = NULL;
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    f->dir = tu_tmpdir();
    f->config = tu_path_join(f->dir, "config");
    f->creds = tu_path_join(f->dir, "credentials");
    fx_set(f, "AWS_CONFIG_FILE", f->config);
    fx_set(f, "AWS_SHARED_CREDENTIALS_FILE", f->creds);
    fx_set(f, "AWS_EC2_METADATA_DISABLED", "true");
}

static void fx_free(struct fx *f)
{
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->config);
    free(f->creds);
    for (size_t i = 0; i < f->n_env; i++)
        free(f->env[i]);
}

static void no_secret(const char *s)
{
    ck_assert_msg(!s || !strstr(s, MARK), "secret leaked: %s", s);
}

static struct creds_plan *fx_resolve(struct fx *f, const char *profile)
{
    struct creds_options o = { .envp = f->env, .profile = profile, .now_ms = 1700000000123LL };
    struct creds_plan *p = NULL;
    struct perr err = { 0 };
    int r = creds_resolve(&o, &p, &err);
    ck_assert_msg(r == 0, "resolve failed: %d %s", r, err.msg);
    no_secret(p->label);
    no_secret(p->description);
    return p;
}

static void fx_fail(struct fx *f, const char *profile, int code, const char *msg)
{
    struct creds_options o = { .envp = f->env, .profile = profile, .now_ms = 1700000000123LL };
    struct creds_plan *p = (struct creds_plan *)0x1;
    struct perr err = { 0 };
    int r = creds_resolve(&o, &p, &err);
    ck_assert_msg(r == code, "expected %d, got %d (%s)", code, r, err.msg);
    ck_assert_int_eq(err.code, code);
    ck_assert_str_eq(err.msg, msg);
    ck_assert_ptr_eq(p, (struct creds_plan *)0x1);
    no_secret(err.msg);
}

static void assert_static(const struct creds_plan *p, const char *akid, const char *secret,
                          const char *token, const char *label)
{
    ck_assert_int_eq(p->source, CREDS_SOURCE_STATIC);
    ck_assert_ptr_nonnull(p->creds);
    ck_assert_str_eq(p->creds->access_key_id, akid);
    ck_assert_str_eq(p->creds->secret_access_key, secret);
    if (token)
        ck_assert_str_eq(p->creds->session_token, token);
    else
        ck_assert_ptr_null(p->creds->session_token);
    ck_assert_str_eq(p->creds->source, label);
    ck_assert_str_eq(p->label, label);
}

/* ---- environment ---- */

START_TEST(env_keys)
{
    struct fx f;
    struct creds_plan *p;
    char *msg;

    fx_init(&f);
    fx_set(&f, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", "env-" MARK);
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDENV", "env-" MARK, NULL, "env");
    ck_assert_int_eq(p->creds->expiration_ms, 0);
    ck_assert_ptr_null(p->profile);
    ck_assert_int_eq((int)p->n_roles, 0);
    ck_assert_str_eq(p->description, "static keys from env");
    creds_plan_free(p);

    fx_set(&f, "AWS_SECURITY_TOKEN", "old-" MARK);
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDENV", "env-" MARK, "old-" MARK, "env");
    creds_plan_free(p);
    fx_set(&f, "AWS_SESSION_TOKEN", "tok-" MARK);
    fx_set(&f, "AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z");
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDENV", "env-" MARK, "tok-" MARK, "env");
    ck_assert_int_eq(p->creds->expiration_ms, 1893553445000LL);
    creds_plan_free(p);

    fx_set(&f, "AWS_CREDENTIAL_EXPIRATION", "soon");
    fx_fail(&f, NULL, -EINVAL, "AWS_CREDENTIAL_EXPIRATION: not an ISO 8601 time");
    fx_set(&f, "AWS_CREDENTIAL_EXPIRATION", NULL);

    fx_set(&f, "AWS_SECRET_ACCESS_KEY", NULL);
    fx_fail(&f, NULL, -EINVAL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", "env-" MARK);
    fx_set(&f, "AWS_ACCESS_KEY_ID", "");
    fx_fail(&f, NULL, -EINVAL, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");

    /* Nothing at all. */
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", NULL);
    fx_set(&f, "AWS_SESSION_TOKEN", NULL);
    fx_set(&f, "AWS_SECURITY_TOKEN", NULL);
    msg = str_printf("no AWS credentials: none in the environment, no profile, no container "
                     "credentials, and instance metadata is disabled (AWS_EC2_METADATA_DISABLED)");
    fx_fail(&f, NULL, -ENOENT, msg);
    free(msg);
    fx_free(&f);
}
END_TEST

START_TEST(env_and_profiles)
{
    struct fx f;
    struct creds_plan *p;
    char *msg;

    fx_init(&f);
    tu_write_file(f.creds,
                  "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = ci-" MARK "\n");
    fx_set(&f, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", "env-" MARK);

    /* AWS_PROFILE does not hide the environment keys... */
    fx_set(&f, "AWS_PROFILE", "ci");
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDENV", "env-" MARK, NULL, "env");
    creds_plan_free(p);
    /* ...an explicit profile does. */
    p = fx_resolve(&f, "ci");
    assert_static(p, "AKIDCI", "ci-" MARK, NULL, "profile:ci (shared credentials file)");
    ck_assert_str_eq(p->profile, "ci");
    creds_plan_free(p);
    /* AWS_DEFAULT_PROFILE is the older name. */
    fx_set(&f, "AWS_PROFILE", NULL);
    fx_set(&f, "AWS_ACCESS_KEY_ID", NULL);
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", NULL);
    fx_set(&f, "AWS_DEFAULT_PROFILE", "ci");
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDCI", "ci-" MARK, NULL, "profile:ci (shared credentials file)");
    creds_plan_free(p);

    /* A named profile that does not exist is an error, even with keys in
     * the environment (botocore raises ProfileNotFound too). */
    fx_set(&f, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", "env-" MARK);
    fx_set(&f, "AWS_PROFILE", "nope");
    msg = str_printf("profile 'nope' not found in %s or %s", f.config, f.creds);
    fx_fail(&f, NULL, -ENOENT, msg);
    fx_fail(&f, "nope", -ENOENT, msg);
    free(msg);
    fx_free(&f);
}
END_TEST

START_TEST(profile_files)
{
    struct fx f;
    struct creds_plan *p;
    char *msg;

    fx_init(&f);
    tu_write_file(f.config, "# comment\n"
                            "[default]\n"
                            "region = eu-west-1\n"
                            "aws_access_key_id = AKIDCFG\n"
                            "aws_secret_access_key = cfg-" MARK "\n"
                            "[profile both]\n"
                            "aws_access_key_id = AKIDBOTHCFG\n"
                            "aws_secret_access_key = bothcfg-" MARK "\n"
                            "region = eu-north-1\n"
                            "[onlyplain]\n"
                            "aws_access_key_id = AKIDPLAIN\n"
                            "aws_secret_access_key = plain-" MARK "\n");
    tu_write_file(f.creds, "; credentials\n"
                           "[both]\n"
                           "AWS_ACCESS_KEY_ID = AKIDBOTH\n"
                           "Aws_Secret_Access_Key=both-" MARK "\n"
                           "aws_session_token = tok-" MARK "\n");
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDCFG", "cfg-" MARK, NULL, "profile:default (shared config file)");
    ck_assert_str_eq(p->region, "eu-west-1");
    ck_assert_str_eq(p->profile, "default");
    creds_plan_free(p);

    /* The credentials file wins; region comes from the config file. */
    fx_set(&f, "AWS_PROFILE", "both");
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDBOTH", "both-" MARK, "tok-" MARK,
                  "profile:both (shared credentials file)");
    ck_assert_str_eq(p->region, "eu-north-1");
    creds_plan_free(p);
    fx_set(&f, "AWS_DEFAULT_REGION", "ap-south-1");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->region, "ap-south-1");
    creds_plan_free(p);
    fx_set(&f, "AWS_REGION", "sa-east-1");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->region, "sa-east-1");
    creds_plan_free(p);

    /* In the config file, [onlyplain] is not a profile. */
    fx_set(&f, "AWS_PROFILE", "onlyplain");
    msg = str_printf("profile 'onlyplain' not found in %s or %s", f.config, f.creds);
    fx_fail(&f, NULL, -ENOENT, msg);
    free(msg);
    fx_free(&f);
}
END_TEST

START_TEST(home_and_missing_files)
{
    struct fx f;
    struct creds_plan *p;
    char *aws, *path, *msg;

    fx_init(&f);
    /* Default paths below HOME. */
    fx_set(&f, "AWS_CONFIG_FILE", NULL);
    fx_set(&f, "AWS_SHARED_CREDENTIALS_FILE", NULL);
    fx_set(&f, "HOME", f.dir);
    aws = tu_path_join(f.dir, ".aws");
    ck_assert_int_eq(mkdir(aws, 0700), 0);
    path = tu_path_join(aws, "credentials");
    tu_write_file(path,
                  "[default]\naws_access_key_id=AKIDHOME\naws_secret_access_key=h-" MARK "\n");
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDHOME", "h-" MARK, NULL, "profile:default (shared credentials file)");
    creds_plan_free(p);
    free(path);

    /* "~/" in a variable. */
    fx_set(&f, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->creds->access_key_id, "AKIDHOME");
    creds_plan_free(p);
    fx_set(&f, "HOME", NULL);
    fx_fail(&f, NULL, -EINVAL,
            "AWS_SHARED_CREDENTIALS_FILE: cannot expand '~' because HOME is not set");
    /* Without HOME the default files are skipped. */
    fx_set(&f, "AWS_SHARED_CREDENTIALS_FILE", NULL);
    fx_fail(&f, NULL, -ENOENT,
            "no AWS credentials: none in the environment, no profile, no container credentials, "
            "and instance metadata is disabled (AWS_EC2_METADATA_DISABLED)");

    /* Missing files are empty; a directory is an error; /dev/null is
     * empty (the test environment uses it). */
    fx_set(&f, "AWS_CONFIG_FILE", "/nonexistent/config");
    fx_set(&f, "AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    fx_set(&f, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", "env-" MARK);
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->label, "env");
    creds_plan_free(p);
    fx_set(&f, "AWS_CONFIG_FILE", aws);
    msg = str_printf("%s: cannot read: Is a directory", aws);
    fx_fail(&f, NULL, -EISDIR, msg);
    free(msg);
    free(aws);
    fx_free(&f);
}
END_TEST

START_TEST(file_too_big)
{
    struct fx f;
    char *big, *msg;
    size_t n = CREDS_MAX_FILE + 10;

    fx_init(&f);
    big = malloc(n + 1);
    memset(big, '#', n);
    big[n] = '\0';
    tu_write_file(f.config, big);
    msg = str_printf("%s: larger than %d bytes", f.config, CREDS_MAX_FILE);
    fx_fail(&f, NULL, -EFBIG, msg);
    free(msg);
    free(big);
    fx_free(&f);
}
END_TEST

/* ---- malformed INI: file:line, no secrets ---- */

START_TEST(malformed_files)
{
    static const struct {
        bool in_creds;
        const char *text;
        int line;
        const char *msg;
    } cases[] = {
        { false, "region = x\n[default]\n", 1, "setting outside of a [section]" },
        { false, "[default]\nregion = x\nthis line is junk\n", 3,
          "syntax error (expected [section] or key = value)" },
        { false, "[default]\n[profile broken\nregion = x\n", 2,
          "syntax error (expected [section] or key = value)" },
        { true,
          "[a]\naws_secret_access_key = one-" MARK "\n\n[a]\naws_secret_access_key = two-" MARK
          "\n",
          5, "duplicate key 'aws_secret_access_key' in profile 'a'" },
        { false, "[default]\n\n\nregion = eu\x01west\n", 4, "control character in file" },
        { true, "[a]\nx = \x1f\n", 2, "control character in file" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct fx f;
        char *msg;
        fx_init(&f);
        tu_write_file(cases[i].in_creds ? f.creds : f.config, cases[i].text);
        msg = str_printf("%s:%d: %s", cases[i].in_creds ? f.creds : f.config, cases[i].line,
                         cases[i].msg);
        fx_fail(&f, NULL, -EINVAL, msg);
        free(msg);
        fx_free(&f);
    }
}
END_TEST

START_TEST(partial_profile_keys)
{
    struct fx f;
    char *msg;

    fx_init(&f);
    tu_write_file(f.creds, "[a]\n\naws_access_key_id = AKIDA\naws_session_token = t-" MARK "\n"
                           "[b]\naws_secret_access_key = b-" MARK "\n");
    msg =
        str_printf("%s:3: profile 'a' has aws_access_key_id but no aws_secret_access_key", f.creds);
    fx_fail(&f, "a", -EINVAL, msg);
    free(msg);
    msg =
        str_printf("%s:6: profile 'b' has aws_secret_access_key but no aws_access_key_id", f.creds);
    fx_fail(&f, "b", -EINVAL, msg);
    free(msg);
    fx_free(&f);
}
END_TEST

/* inih's line buffer is 200 bytes and section names 50: session tokens and
 * long profile names must still come through whole. */
START_TEST(long_lines)
{
    struct fx f;
    struct creds_plan *p;
    char token[1201], name[71], *text, *label;

    fx_init(&f);
    for (size_t i = 0; i < sizeof(token) - 1; i++)
        token[i] = "AQoDYXdzEJr/+" MARK "=="[i % 19];
    token[sizeof(token) - 1] = '\0';
    memset(name, 'p', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    memcpy(name, "very-long-profile-", 18);
    text = str_printf("[default]\n"
                      "aws_session_token = %s\n"
                      "aws_access_key_id = AKIDDEF ; inline comment\n"
                      "aws_secret_access_key = def-" MARK "\n"
                      "s3 =\n"
                      "  max_concurrent_requests = 20\n"
                      "  %s = nested-long\n"
                      "[%s]\n"
                      "aws_access_key_id = AKIDLONG\n"
                      "aws_secret_access_key   =   long-" MARK "   ; and a comment %s\n",
                      token, token, name, token);
    tu_write_file(f.creds, text);
    p = fx_resolve(&f, NULL);
    assert_static(p, "AKIDDEF", "def-" MARK, token, "profile:default (shared credentials file)");
    creds_plan_free(p);
    p = fx_resolve(&f, name);
    label = str_printf("profile:%s (shared credentials file)", name);
    assert_static(p, "AKIDLONG", "long-" MARK, NULL, label);
    free(label);
    creds_plan_free(p);
    free(text);

    /* A long line without '=' is still a syntax error at its line. */
    text = str_printf("[default]\nregion = x\n%s\n", token);
    tu_write_file(f.creds, text);
    label = str_printf("%s:3: syntax error (expected [section] or key = value)", f.creds);
    fx_fail(&f, NULL, -EINVAL, label);
    free(label);
    free(text);
    fx_free(&f);
}
END_TEST

/* ---- assume role ---- */

START_TEST(role_chain)
{
    struct fx f;
    struct creds_plan *p;

    fx_init(&f);
    tu_write_file(f.config, "[profile prod]\n"
                            "role_arn = arn:aws:iam::111111111111:role/prod\n"
                            "source_profile = mid\n"
                            "external_id = ext-123\n"
                            "duration_seconds = 1800\n"
                            "region = eu-central-1\n"
                            "[profile mid]\n"
                            "role_arn = arn:aws:iam::222222222222:role/mid\n"
                            "source_profile = base\n"
                            "role_session_name = mid-session\n"
                            "[profile base]\n"
                            "region = us-west-2\n");
    tu_write_file(f.creds,
                  "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = b-" MARK "\n");
    /* A profile's role wins over environment web identity. */
    fx_set(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token");
    fx_set(&f, "AWS_ROLE_ARN", "arn:aws:iam::3:role/web");
    p = fx_resolve(&f, "prod");
    ck_assert_int_eq(p->source, CREDS_SOURCE_STATIC);
    ck_assert_str_eq(p->creds->access_key_id, "AKIDBASE");
    ck_assert_str_eq(p->creds->source, "profile:base (shared credentials file)");
    ck_assert_uint_eq(p->n_roles, 2);
    /* Execution order: the source's role first. */
    ck_assert_str_eq(p->roles[0].role_arn, "arn:aws:iam::222222222222:role/mid");
    ck_assert_str_eq(p->roles[0].session_name, "mid-session");
    ck_assert_ptr_null(p->roles[0].external_id);
    ck_assert_int_eq(p->roles[0].duration_s, 0);
    ck_assert_str_eq(p->roles[0].profile, "mid");
    ck_assert_str_eq(p->roles[1].role_arn, "arn:aws:iam::111111111111:role/prod");
    ck_assert_str_eq(p->roles[1].session_name, "plumb-1700000000");
    ck_assert_str_eq(p->roles[1].external_id, "ext-123");
    ck_assert_int_eq(p->roles[1].duration_s, 1800);
    ck_assert_str_eq(p->roles[1].profile, "prod");
    ck_assert_str_eq(p->region, "eu-central-1");
    ck_assert_str_eq(p->profile, "prod");
    ck_assert_str_eq(p->label, "profile:prod (assume role arn:aws:iam::111111111111:role/prod)");
    ck_assert_str_eq(p->description,
                     "static keys from profile:base (shared credentials file) -> assume role "
                     "arn:aws:iam::222222222222:role/mid (profile:mid) -> assume role "
                     "arn:aws:iam::111111111111:role/prod (profile:prod); STS region "
                     "eu-central-1");
    creds_plan_free(p);
    fx_free(&f);
}
END_TEST

START_TEST(role_self_reference_and_loops)
{
    struct fx f;
    struct creds_plan *p;
    char *msg;

    fx_init(&f);
    tu_write_file(f.config, "[profile self]\n"
                            "role_arn = arn:aws:iam::1:role/self\n"
                            "source_profile = self\n"
                            "aws_access_key_id = AKIDSELF\n"
                            "aws_secret_access_key = s-" MARK "\n"
                            "[profile a]\n"
                            "role_arn = arn:aws:iam::1:role/a\n"
                            "source_profile = b\n"
                            "[profile b]\n"
                            "role_arn = arn:aws:iam::1:role/b\n"
                            "source_profile = a\n"
                            "[profile lonely]\n"
                            "role_arn = arn:aws:iam::1:role/lonely\n"
                            "source_profile = lonely\n");
    /* A profile may name itself to use its own keys. */
    p = fx_resolve(&f, "self");
    ck_assert_str_eq(p->creds->access_key_id, "AKIDSELF");
    ck_assert_str_eq(p->creds->source, "profile:self (shared config file)");
    ck_assert_uint_eq(p->n_roles, 1);
    ck_assert_str_eq(p->roles[0].role_arn, "arn:aws:iam::1:role/self");
    creds_plan_free(p);

    msg = str_printf("%s:11: source_profile loop: a -> b -> a", f.config);
    fx_fail(&f, "a", -EINVAL, msg);
    free(msg);
    msg = str_printf("%s:8: source_profile loop: b -> a -> b", f.config);
    fx_fail(&f, "b", -EINVAL, msg);
    free(msg);
    msg = str_printf("%s:14: source_profile loop: lonely -> lonely", f.config);
    fx_fail(&f, "lonely", -EINVAL, msg);
    free(msg);
    fx_free(&f);
}
END_TEST

START_TEST(role_errors)
{
    static const struct {
        const char *text;
        int code;
        int line;
        const char *msg;
    } cases[] = {
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\ncredential_source "
          "= Environment\n",
          -EINVAL, 4, "profile 'x' has both source_profile and credential_source" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\n", -EINVAL, 2,
          "profile 'x' has role_arn but neither source_profile nor credential_source" },
        { "[profile x]\nrole_arn = role/x\nsource_profile = y\n", -EINVAL, 2,
          "role_arn of profile 'x' is not an ARN" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\n", -ENOENT, 3,
          "source_profile 'y' of profile 'x' does not exist" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\n[profile y]\n"
          "region = eu-west-1\n",
          -ENOENT, 3, "source profile 'y' of profile 'x' has no credentials" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Magic\n", -EINVAL, 3,
          "credential_source must be Environment, Ec2InstanceMetadata or EcsContainer" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Environment\n",
          -ENOENT, 3,
          "credential_source Environment of profile 'x': AWS_ACCESS_KEY_ID and "
          "AWS_SECRET_ACCESS_KEY are not set" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = "
          "Ec2InstanceMetadata\n",
          -ENOENT, 3,
          "credential_source Ec2InstanceMetadata of profile 'x', but AWS_EC2_METADATA_DISABLED "
          "is set" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = EcsContainer\n",
          -ENOENT, 3,
          "credential_source EcsContainer of profile 'x', but neither "
          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = x\nmfa_serial = "
          "arn:aws:iam::1:mfa/me\naws_access_key_id=A\naws_secret_access_key=s-" MARK "\n",
          -ENOTSUP, 4, "profile 'x' needs an MFA code (mfa_serial), which a daemon cannot enter" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = x\nduration_seconds = "
          "600\naws_access_key_id=A\naws_secret_access_key=s-" MARK "\n",
          -EINVAL, 4, "duration_seconds must be a number of seconds from 900 to 43200" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = x\nduration_seconds = "
          "1h\naws_access_key_id=A\naws_secret_access_key=s-" MARK "\n",
          -EINVAL, 4, "duration_seconds must be a number of seconds from 900 to 43200" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = x\nrole_session_name "
          "= has space\naws_access_key_id=A\naws_secret_access_key=s-" MARK "\n",
          -EINVAL, 4, "role_session_name must be 2-64 characters of letters, digits and _+=,.@-" },
        { "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = x\nexternal_id = "
          "e\naws_access_key_id=A\naws_secret_access_key=s-" MARK "\n",
          -EINVAL, 4, "external_id must be 2-1224 characters" },
        { "[profile x]\nsso_session = corp\nsso_account_id = 1\n", -ENOTSUP, 2,
          "profile 'x' uses IAM Identity Center (sso_*), which plumb does not support; "
          "configure a role or keys" },
        { "[profile x]\nsso_start_url = https://corp.awsapps.com/start\n", -ENOTSUP, 2,
          "profile 'x' uses IAM Identity Center (sso_*), which plumb does not support; "
          "configure a role or keys" },
        { "[profile x]\n\ncredential_process = /bin/get-creds\n", -ENOTSUP, 3,
          "profile 'x' uses credential_process, which plumb does not support" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct fx f;
        char *msg;
        fx_init(&f);
        tu_write_file(f.config, cases[i].text);
        msg = str_printf("%s:%d: %s", f.config, cases[i].line, cases[i].msg);
        fx_fail(&f, "x", cases[i].code, msg);
        free(msg);
        fx_free(&f);
    }
}
END_TEST

START_TEST(credential_sources)
{
    struct fx f;
    struct creds_plan *p;

    fx_init(&f);
    tu_write_file(f.config, "[profile env]\n"
                            "role_arn = arn:aws:iam::1:role/env\n"
                            "credential_source = Environment\n"
                            "[profile ec2]\n"
                            "role_arn = arn:aws:iam::1:role/ec2\n"
                            "credential_source = Ec2InstanceMetadata\n"
                            "[profile ecs]\n"
                            "role_arn = arn:aws:iam::1:role/ecs\n"
                            "credential_source = EcsContainer\n");
    /* The Environment source reads the keys even for an explicit
     * profile. */
    fx_set(&f, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", "env-" MARK);
    p = fx_resolve(&f, "env");
    ck_assert_int_eq(p->source, CREDS_SOURCE_STATIC);
    ck_assert_str_eq(p->creds->access_key_id, "AKIDENV");
    ck_assert_str_eq(p->creds->source, "env");
    ck_assert_str_eq(p->label, "profile:env (assume role arn:aws:iam::1:role/env)");
    ck_assert_uint_eq(p->n_roles, 1);
    creds_plan_free(p);

    fx_set(&f, "AWS_EC2_METADATA_DISABLED", NULL);
    p = fx_resolve(&f, "ec2");
    ck_assert_int_eq(p->source, CREDS_SOURCE_IMDS);
    ck_assert_str_eq(p->imds.endpoint, CREDS_IMDS_ENDPOINT_IPV4);
    ck_assert_uint_eq(p->n_roles, 1);
    ck_assert_str_eq(p->description, "instance metadata (IMDSv2) at http://169.254.169.254 -> "
                                     "assume role arn:aws:iam::1:role/ec2 (profile:ec2)");
    creds_plan_free(p);

    fx_set(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
    p = fx_resolve(&f, "ecs");
    ck_assert_int_eq(p->source, CREDS_SOURCE_CONTAINER);
    ck_assert_str_eq(p->container.url, "http://169.254.170.2/v2/credentials/abc");
    ck_assert_str_eq(p->roles[0].role_arn, "arn:aws:iam::1:role/ecs");
    creds_plan_free(p);
    fx_free(&f);
}
END_TEST

/* ---- web identity ---- */

START_TEST(web_identity)
{
    struct fx f;
    struct creds_plan *p;

    fx_init(&f);
    fx_set(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token");
    fx_set(&f, "AWS_ROLE_ARN", "arn:aws:iam::1:role/web");
    p = fx_resolve(&f, NULL);
    ck_assert_int_eq(p->source, CREDS_SOURCE_WEB_IDENTITY);
    ck_assert_str_eq(p->web_identity.token_file, "/var/run/secrets/token");
    ck_assert_str_eq(p->web_identity.role_arn, "arn:aws:iam::1:role/web");
    ck_assert_str_eq(p->web_identity.session_name, "plumb-1700000000");
    ck_assert_str_eq(p->label, "web identity");
    ck_assert_ptr_null(p->creds);
    creds_plan_free(p);
    fx_set(&f, "AWS_ROLE_SESSION_NAME", "pod-1");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->web_identity.session_name, "pod-1");
    creds_plan_free(p);

    /* Environment keys still come first. */
    fx_set(&f, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", "env-" MARK);
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->label, "env");
    creds_plan_free(p);
    fx_set(&f, "AWS_ACCESS_KEY_ID", NULL);
    fx_set(&f, "AWS_SECRET_ACCESS_KEY", NULL);

    fx_set(&f, "AWS_ROLE_ARN", NULL);
    fx_fail(&f, NULL, -EINVAL,
            "web identity token file configured (AWS_WEB_IDENTITY_TOKEN_FILE) but no role: set "
            "AWS_ROLE_ARN or role_arn");
    fx_set(&f, "AWS_ROLE_ARN", "arn:aws:iam::1:role/web");
    fx_set(&f, "AWS_ROLE_SESSION_NAME", "x");
    fx_fail(&f, NULL, -EINVAL,
            "role session name must be 2-64 characters of letters, digits and _+=,.@-");
    fx_set(&f, "AWS_ROLE_SESSION_NAME", NULL);

    /* From the profile, each environment variable overriding its key;
     * web identity beats the profile's keys. */
    fx_set(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
    tu_write_file(f.config, "[profile k8s]\n"
                            "web_identity_token_file = /token/from/profile\n"
                            "role_arn = arn:aws:iam::1:role/profile\n"
                            "role_session_name = from-profile\n"
                            "aws_access_key_id = AKIDIGNORED\n"
                            "aws_secret_access_key = i-" MARK "\n");
    fx_set(&f, "AWS_PROFILE", "k8s");
    p = fx_resolve(&f, NULL);
    ck_assert_int_eq(p->source, CREDS_SOURCE_WEB_IDENTITY);
    ck_assert_str_eq(p->web_identity.token_file, "/token/from/profile");
    ck_assert_str_eq(p->web_identity.role_arn, "arn:aws:iam::1:role/web");
    ck_assert_str_eq(p->web_identity.session_name, "from-profile");
    ck_assert_str_eq(p->label, "profile:k8s (web identity)");
    creds_plan_free(p);
    /* An explicit profile ignores the variables. */
    p = fx_resolve(&f, "k8s");
    ck_assert_str_eq(p->web_identity.role_arn, "arn:aws:iam::1:role/profile");
    creds_plan_free(p);
    fx_set(&f, "AWS_ROLE_ARN", NULL);
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->web_identity.role_arn, "arn:aws:iam::1:role/profile");
    creds_plan_free(p);
    fx_set(&f, "AWS_PROFILE", NULL);

    /* As the source of a role chain, only the profile's settings count. */
    tu_write_file(f.config, "[profile top]\n"
                            "role_arn = arn:aws:iam::1:role/top\n"
                            "source_profile = k8s\n"
                            "[profile k8s]\n"
                            "web_identity_token_file = /token/from/profile\n"
                            "role_arn = arn:aws:iam::1:role/profile\n");
    fx_set(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", "/env/token");
    p = fx_resolve(&f, "top");
    ck_assert_int_eq(p->source, CREDS_SOURCE_WEB_IDENTITY);
    ck_assert_str_eq(p->web_identity.token_file, "/token/from/profile");
    ck_assert_str_eq(p->web_identity.role_arn, "arn:aws:iam::1:role/profile");
    ck_assert_uint_eq(p->n_roles, 1);
    ck_assert_str_eq(p->roles[0].role_arn, "arn:aws:iam::1:role/top");
    creds_plan_free(p);
    fx_free(&f);
}
END_TEST

/* ---- container and IMDS ---- */

START_TEST(container)
{
    static const struct {
        const char *full;
        const char *msg; /* NULL: accepted */
    } full_uris[] = {
        { "https://creds.example.com/v1/credentials", NULL },
        { "http://127.0.0.1:8080/creds", NULL },
        { "http://127.1.2.3/creds", NULL },
        { "http://localhost/creds", NULL },
        { "http://[::1]:9000/creds", NULL },
        { "http://169.254.170.23/v1/credentials", NULL },
        { "http://[fd00:ec2::23]/v1/credentials", NULL },
        { "http://example.com/creds",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is only allowed to a loopback address "
          "or the ECS/EKS endpoints; use https" },
        { "http://10.0.0.1/creds",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is only allowed to a loopback address "
          "or the ECS/EKS endpoints; use https" },
        { "ftp://localhost/creds",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI: not a valid http or https URL" },
    };
    struct fx f;
    struct creds_plan *p;

    fx_init(&f);
    for (size_t i = 0; i < ARRAY_SIZE(full_uris); i++) {
        fx_set(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", full_uris[i].full);
        if (full_uris[i].msg) {
            fx_fail(&f, NULL, -EINVAL, full_uris[i].msg);
            continue;
        }
        p = fx_resolve(&f, NULL);
        ck_assert_int_eq(p->source, CREDS_SOURCE_CONTAINER);
        ck_assert_str_eq(p->container.url, full_uris[i].full);
        ck_assert_ptr_null(p->container.token);
        ck_assert_str_eq(p->label, "container");
        creds_plan_free(p);
    }
    fx_set(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[fd00:ec2::23]/v1/credentials");
    fx_set(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer tok-" MARK);
    fx_set(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/eks/token");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->container.token, "Bearer tok-" MARK);
    ck_assert_str_eq(p->container.token_file, "/var/run/eks/token");
    ck_assert_str_eq(p->description, "container credentials from "
                                     "http://[fd00:ec2::23]/v1/credentials (token from file)");
    creds_plan_free(p);
    fx_set(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok-" MARK "\r\nX-Evil: 1");
    fx_fail(&f, NULL, -EINVAL, "AWS_CONTAINER_AUTHORIZATION_TOKEN contains a line break");
    fx_set(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", NULL);

    /* The relative URI wins over the full one. */
    fx_set(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/id");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->container.url, "http://169.254.170.2/v2/credentials/id");
    creds_plan_free(p);
    fx_set(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials");
    fx_fail(&f, NULL, -EINVAL, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
    fx_set(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/id");

    /* Profile keys come before the container, which comes before IMDS. */
    fx_set(&f, "AWS_EC2_METADATA_DISABLED", NULL);
    p = fx_resolve(&f, NULL);
    ck_assert_int_eq(p->source, CREDS_SOURCE_CONTAINER);
    creds_plan_free(p);
    tu_write_file(f.creds,
                  "[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=d-" MARK "\n");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->label, "profile:default (shared credentials file)");
    creds_plan_free(p);
    fx_free(&f);
}
END_TEST

START_TEST(imds)
{
    struct fx f;
    struct creds_plan *p;

    fx_init(&f);
    fx_set(&f, "AWS_EC2_METADATA_DISABLED", "false");
    p = fx_resolve(&f, NULL);
    ck_assert_int_eq(p->source, CREDS_SOURCE_IMDS);
    ck_assert_str_eq(p->imds.endpoint, "http://169.254.169.254");
    ck_assert_str_eq(p->label, "imds");
    ck_assert_str_eq(p->description, "instance metadata (IMDSv2) at http://169.254.169.254");
    ck_assert_ptr_null(p->profile);
    creds_plan_free(p);
    fx_set(&f, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv6");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->imds.endpoint, "http://[fd00:ec2::254]");
    creds_plan_free(p);
    fx_set(&f, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/");
    p = fx_resolve(&f, NULL);
    ck_assert_str_eq(p->imds.endpoint, "http://127.0.0.1:1338");
    creds_plan_free(p);
    fx_set(&f, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254");
    fx_fail(&f, NULL, -EINVAL, "AWS_EC2_METADATA_SERVICE_ENDPOINT: not a valid http or https URL");
    fx_set(&f, "AWS_EC2_METADATA_SERVICE_ENDPOINT", NULL);
    fx_set(&f, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5");
    fx_fail(&f, NULL, -EINVAL, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: expected IPv4 or IPv6");
    fx_set(&f, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", NULL);
    fx_set(&f, "AWS_EC2_METADATA_DISABLED", "perhaps");
    fx_fail(&f, NULL, -EINVAL, "AWS_EC2_METADATA_DISABLED: expected true or false");
    fx_free(&f);
}
END_TEST

/* ---- botocore as the reference for the chain's precedence ---- */

/* "method key" in botocore's words for a plan, as creds_oracle.py prints. */
static char *plan_as_botocore(const struct creds_plan *p)
{
    if (p->n_roles > 0)
        return strdup("assume-role -");
    if (p->source == CREDS_SOURCE_WEB_IDENTITY)
        return strdup("assume-role-with-web-identity -");
    ck_assert_int_eq(p->source, CREDS_SOURCE_STATIC);
    if (strcmp(p->label, "env") == 0)
        return str_printf("env %s", p->creds->access_key_id);
    if (str_has_suffix(p->label, "(shared credentials file)"))
        return str_printf("shared-credentials-file %s", p->creds->access_key_id);
    return str_printf("config-file %s", p->creds->access_key_id);
}

START_TEST(botocore_precedence)
{
    static const char *const keys_env[] = { "AWS_ACCESS_KEY_ID=AKIDENV",
                                            "AWS_SECRET_ACCESS_KEY=env-" MARK, NULL };
    static const char *const web_env[] = { "AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/no-such-token",
                                           "AWS_ROLE_ARN=arn:aws:iam::1:role/web", NULL };
    static const char *const keys_and_profile[] = { "AWS_ACCESS_KEY_ID=AKIDENV",
                                                    "AWS_SECRET_ACCESS_KEY=env-" MARK,
                                                    "AWS_PROFILE=ci", NULL };
    static const char *const missing_profile[] = { "AWS_ACCESS_KEY_ID=AKIDENV",
                                                   "AWS_SECRET_ACCESS_KEY=env-" MARK,
                                                   "AWS_PROFILE=nope", NULL };
    static const char *const none[] = { NULL };
    static const char cfg[] = "[default]\n"
                              "aws_access_key_id = AKIDDEFCFG\n"
                              "aws_secret_access_key = dc-" MARK "\n"
                              "[profile ci]\n"
                              "aws_access_key_id = AKIDCICFG\n"
                              "aws_secret_access_key = cc-" MARK "\n"
                              "[profile cfgonly]\n"
                              "aws_access_key_id = AKIDCFGONLY\n"
                              "aws_secret_access_key = co-" MARK "\n"
                              "[profile role]\n"
                              "role_arn = arn:aws:iam::1:role/r\n"
                              "source_profile = ci\n"
                              "[profile selfref]\n"
                              "role_arn = arn:aws:iam::1:role/s\n"
                              "source_profile = selfref\n"
                              "aws_access_key_id = AKIDSELF\n"
                              "aws_secret_access_key = sr-" MARK "\n"
                              "[profile deep]\n"
                              "role_arn = arn:aws:iam::1:role/d\n"
                              "source_profile = keyed\n"
                              "[profile keyed]\n"
                              "role_arn = arn:aws:iam::1:role/k\n"
                              "source_profile = ci\n"
                              "aws_access_key_id = AKIDKEYED\n"
                              "aws_secret_access_key = k-" MARK "\n"
                              "[profile loopa]\n"
                              "role_arn = arn:aws:iam::1:role/a\n"
                              "source_profile = loopb\n"
                              "[profile loopb]\n"
                              "role_arn = arn:aws:iam::1:role/b\n"
                              "source_profile = loopa\n"
                              "[profile nosource]\n"
                              "role_arn = arn:aws:iam::1:role/n\n"
                              "[profile both]\n"
                              "role_arn = arn:aws:iam::1:role/b\n"
                              "source_profile = ci\n"
                              "credential_source = Environment\n"
                              "[profile webprof]\n"
                              "web_identity_token_file = /tmp/no-such-token\n"
                              "role_arn = arn:aws:iam::1:role/wp\n"
                              "aws_access_key_id = AKIDWEBPROF\n"
                              "aws_secret_access_key = wp-" MARK "\n"
                              "[profile empty]\n"
                              "region = eu-west-1\n";
    static const char creds[] = "[ci]\n"
                                "aws_access_key_id = AKIDCI\n"
                                "aws_secret_access_key = ci-" MARK "\n";
    static const struct {
        const char *profile;
        const char *const *env;
    } scenarios[] = {
        { NULL, keys_env },   { NULL, keys_and_profile },
        { "ci", keys_env },   { "cfgonly", none },
        { NULL, none },       { "role", web_env },
        { NULL, web_env },    { NULL, missing_profile },
        { "loopa", none },    { "selfref", none },
        { "deep", none },     { "nosource", none },
        { "both", keys_env }, { "webprof", none },
        { "empty", none },    { "ci", web_env },
        { "nope", none },
    };
    const char *probe[] = { "python3", "-c", "import botocore.session", NULL };
    char *script = tu_srcpath("tests/harness/creds_oracle.py");
    const char *argv[400];
    size_t n = 0;
    char *cfg_var, *creds_var, *out = NULL, *out_err = NULL, *line;
    struct fx f;
    int mismatches = 0;

    if (tu_run(probe, NULL, NULL, NULL) != 0) {
        fprintf(stderr, "SKIP botocore_precedence: python3 with botocore is not available\n");
        free(script);
        return;
    }
    fx_init(&f);
    tu_write_file(f.config, cfg);
    tu_write_file(f.creds, creds);
    cfg_var = str_printf("AWS_CONFIG_FILE=%s", f.config);
    creds_var = str_printf("AWS_SHARED_CREDENTIALS_FILE=%s", f.creds);
    /* One python run for every scenario: botocore is slow to import. */
    argv[n++] = "python3";
    argv[n++] = script;
    for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++) {
        if (i > 0)
            argv[n++] = "--";
        argv[n++] = scenarios[i].profile ? scenarios[i].profile : "-";
        argv[n++] = cfg_var;
        argv[n++] = creds_var;
        argv[n++] = "AWS_EC2_METADATA_DISABLED=true";
        for (size_t j = 0; scenarios[i].env[j]; j++)
            argv[n++] = scenarios[i].env[j];
        ck_assert_uint_lt(n, ARRAY_SIZE(argv));
    }
    argv[n] = NULL;
    ck_assert_int_eq(tu_run(argv, NULL, &out, &out_err), 0);
    line = out;
    for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++) {
        char *env[16], *oracle, *mine, *eol;
        size_t ne = 0;
        struct creds_options o = { .envp = env, .profile = scenarios[i].profile };
        struct creds_plan *p = NULL;
        struct perr err;

        ck_assert_msg(line && *line, "oracle printed too few lines: %s", out_err);
        eol = strchr(line, '\n');
        oracle = str_ndup(line, eol ? (size_t)(eol - line) : strlen(line));
        line = eol ? eol + 1 : NULL;
        env[ne++] = cfg_var;
        env[ne++] = creds_var;
        env[ne++] = (char *)"AWS_EC2_METADATA_DISABLED=true";
        for (size_t j = 0; scenarios[i].env[j]; j++)
            env[ne++] = (char *)scenarios[i].env[j];
        env[ne] = NULL;
        if (creds_resolve(&o, &p, &err) == 0) {
            mine = plan_as_botocore(p);
            creds_plan_free(p);
        } else {
            mine = strdup("error");
            /* botocore names the exception; the class is not ours to copy. */
            if (str_has_prefix(oracle, "error "))
                oracle[5] = '\0';
        }
        if (strcmp(oracle, "none") == 0) {
            free(oracle);
            oracle = strdup("error");
        }
        if (strcmp(mine, oracle) != 0) {
            fprintf(stderr, "scenario %zu (profile %s): botocore says '%s', plumb says '%s'\n", i,
                    scenarios[i].profile ? scenarios[i].profile : "-", oracle, mine);
            mismatches++;
        }
        free(mine);
        free(oracle);
    }
    free(out);
    free(out_err);
    free(cfg_var);
    free(creds_var);
    ck_assert_int_eq(mismatches, 0);
    fx_free(&f);
    free(script);
}
END_TEST

/* ---- parsers ---- */

START_TEST(parse_documents)
{
    static const char imds_doc[] = "{\n  \"Code\" : \"Success\",\n"
                                   "  \"LastUpdated\" : \"2012-04-26T16:39:16Z\",\n"
                                   "  \"Type\" : \"AWS-HMAC\",\n"
                                   "  \"AccessKeyId\" : \"ASIAIMDS\",\n"
                                   "  \"SecretAccessKey\" : \"imds-" MARK "\",\n"
                                   "  \"Token\" : \"tok-" MARK "\",\n"
                                   "  \"Expiration\" : \"2017-05-17T15:09:54Z\"\n}\n";
    static const char ecs_doc[] =
        "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"ecs-" MARK "\",\"Token\":\"t-" MARK
        "\",\"Expiration\":\"2017-05-17T15:09:54.250Z\","
        "\"RoleArn\":\"arn:aws:iam::1:role/task\"}";
    static const char minimal[] =
        "{\"AccessKeyId\":\"AKIDMIN\",\"SecretAccessKey\":\"m-" MARK "\",\"Token\":null}";
    static const struct {
        const char *doc;
        int code;
        const char *msg;
    } bad[] = {
        { "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s-" MARK "\"", -EINVAL,
          "imds: credential document is not valid JSON (line 1, column 47)" },
        { "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":" MARK "}", -EINVAL,
          "imds: credential document is not valid JSON (line 1, column 43)" },
        { "[1,2]", -EINVAL, "imds: credentials are not a JSON object" },
        { "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}", -EINVAL,
          "imds: credential document has Code AssumeRoleUnauthorizedAccess" },
        { "{\"Code\":\"bad code\\n\",\"AccessKeyId\":\"A\"}", -EINVAL,
          "imds: credential document has Code (not a simple string)" },
        { "{\"SecretAccessKey\":\"s-" MARK "\"}", -EINVAL, "imds: no AccessKeyId" },
        { "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s-" MARK "\"}", -EINVAL,
          "imds: no AccessKeyId" },
        { "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":7}", -EINVAL, "imds: no SecretAccessKey" },
        { "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s-" MARK "\",\"Token\":5}", -EINVAL,
          "imds: Token is not a string" },
        { "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s-" MARK "\",\"Token\":\"a\\r\\nb\"}",
          -EINVAL, "imds: Token contains a line break" },
        { "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s-" MARK "\",\"Expiration\":\"later\"}",
          -EINVAL, "imds: Expiration is not an ISO 8601 time" },
        { "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s-" MARK "\",\"Expiration\":true}", -EINVAL,
          "imds: Expiration is not a time" },
        { "{\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\",\"SecretAccessKey\":\"s-" MARK "\"}",
          -EINVAL, "imds: credential document is not valid JSON (line 1, column 32)" },
        { "", -EINVAL, "imds: credential document is not valid JSON (line 1, column 0)" },
    };
    struct aws_credentials *c = NULL, *copy;
    struct perr err;

    ck_assert_int_eq(creds_parse_document(imds_doc, strlen(imds_doc), "imds", &c, &err), 0);
    ck_assert_str_eq(c->access_key_id, "ASIAIMDS");
    ck_assert_str_eq(c->secret_access_key, "imds-" MARK);
    ck_assert_str_eq(c->session_token, "tok-" MARK);
    ck_assert_int_eq(c->expiration_ms, 1495033794000LL);
    ck_assert_str_eq(c->source, "imds");
    copy = aws_credentials_copy(c);
    ck_assert_str_eq(copy->secret_access_key, c->secret_access_key);
    ck_assert_int_eq(copy->expiration_ms, c->expiration_ms);
    aws_credentials_free(copy);
    aws_credentials_free(c);

    ck_assert_int_eq(creds_parse_document(ecs_doc, strlen(ecs_doc), "container", &c, &err), 0);
    ck_assert_str_eq(c->access_key_id, "ASIAECS");
    ck_assert_int_eq(c->expiration_ms, 1495033794250LL);
    aws_credentials_free(c);

    ck_assert_int_eq(creds_parse_document(minimal, strlen(minimal), "container", &c, &err), 0);
    ck_assert_ptr_null(c->session_token);
    ck_assert_int_eq(c->expiration_ms, 0);
    aws_credentials_free(c);

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        c = (struct aws_credentials *)0x1;
        memset(&err, 0, sizeof(err));
        ck_assert_int_eq(creds_parse_document(bad[i].doc, strlen(bad[i].doc), "imds", &c, &err),
                         bad[i].code);
        ck_assert_str_eq(err.msg, bad[i].msg);
        ck_assert_ptr_eq(c, (struct aws_credentials *)0x1);
        no_secret(err.msg);
    }
    {
        size_t n = CREDS_MAX_DOCUMENT + 1;
        char *big = malloc(n);
        memset(big, ' ', n);
        ck_assert_int_eq(creds_parse_document(big, n, "imds", &c, &err), -E2BIG);
        ck_assert_str_eq(err.msg, "imds: credential document larger than 65536 bytes");
        free(big);
    }
}
END_TEST

/* botocore's parse of an STS response (fixture): its SessionToken is
 * wrapped over lines for display, which the parser must refuse; unwrapped
 * it parses into exactly the fixture's values. */
START_TEST(parse_sts)
{
    char *path = tu_fixture("aws-responses/botocore-response-parsing/xml/responses/"
                            "sts-get-session-token.json");
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr), *cr;
    struct aws_credentials *c = NULL;
    struct perr err;
    const char *token;
    char *unwrapped;
    size_t o = 0;
    int64_t exp;

    ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
    cr = json_object_get(doc, "Credentials");
    ck_assert_ptr_nonnull(cr);
    ck_assert_int_eq(creds_from_sts(cr, "sts", &c, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "sts: SessionToken contains a line break");

    token = json_string_value(json_object_get(cr, "SessionToken"));
    unwrapped = malloc(strlen(token) + 1);
    for (const char *p = token; *p; p++)
        if (*p != '\n' && *p != ' ')
            unwrapped[o++] = *p;
    unwrapped[o] = '\0';
    json_object_set_new(cr, "SessionToken", json_string(unwrapped));
    ck_assert_int_eq(creds_from_sts(cr, "profile:x (assume role)", &c, &err), 0);
    ck_assert_str_eq(c->access_key_id, json_string_value(json_object_get(cr, "AccessKeyId")));
    ck_assert_str_eq(c->secret_access_key,
                     json_string_value(json_object_get(cr, "SecretAccessKey")));
    ck_assert_str_eq(c->session_token, unwrapped);
    ck_assert_int_eq(time_parse_iso8601(json_string_value(json_object_get(cr, "Expiration")), &exp),
                     0);
    ck_assert_int_eq(c->expiration_ms, exp);
    ck_assert_str_eq(c->source, "profile:x (assume role)");
    aws_credentials_free(c);

    /* STS answers must carry a token and an expiry. */
    json_object_del(cr, "Expiration");
    ck_assert_int_eq(creds_from_sts(cr, "sts", &c, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "sts: no Expiration");
    json_object_del(cr, "SessionToken");
    ck_assert_int_eq(creds_from_sts(cr, "sts", &c, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "sts: no SessionToken");
    ck_assert_int_eq(creds_from_sts(NULL, "sts", &c, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "sts: credentials are not a JSON object");
    free(unwrapped);
    json_decref(doc);
    free(path);
}
END_TEST

START_TEST(token_files)
{
    char *dir = tu_tmpdir(), *path = tu_path_join(dir, "token"), *tok = NULL, *msg;
    struct perr err;

    tu_write_file(path, "  eyJhbGciOi." MARK ".sig\n\n");
    ck_assert_int_eq(creds_read_token_file(path, &tok, &err), 0);
    ck_assert_str_eq(tok, "eyJhbGciOi." MARK ".sig");
    str_free_secret(tok);

    tu_write_file(path, " \n\t\n");
    ck_assert_int_eq(creds_read_token_file(path, &tok, &err), -EINVAL);
    msg = str_printf("%s: token file is empty", path);
    ck_assert_str_eq(err.msg, msg);
    free(msg);
    tu_write_file(path, "abc\x01" MARK "\n");
    ck_assert_int_eq(creds_read_token_file(path, &tok, &err), -EINVAL);
    msg = str_printf("%s: token file contains control characters", path);
    ck_assert_str_eq(err.msg, msg);
    free(msg);
    tu_write_file(path, "line1-" MARK "\nline2\n");
    ck_assert_int_eq(creds_read_token_file(path, &tok, &err), -EINVAL);
    unlink(path);
    ck_assert_int_eq(creds_read_token_file(path, &tok, &err), -ENOENT);
    msg = str_printf("%s: cannot read token file: No such file or directory", path);
    ck_assert_str_eq(err.msg, msg);
    free(msg);
    {
        char *big = malloc(CREDS_MAX_TOKEN_FILE + 2);
        memset(big, 'a', CREDS_MAX_TOKEN_FILE + 1);
        big[CREDS_MAX_TOKEN_FILE + 1] = '\0';
        tu_write_file(path, big);
        ck_assert_int_eq(creds_read_token_file(path, &tok, &err), -EFBIG);
        msg = str_printf("%s: token file larger than 65536 bytes", path);
        ck_assert_str_eq(err.msg, msg);
        free(msg);
        free(big);
    }
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- credentials objects and refresh policy ---- */

START_TEST(objects)
{
    struct aws_credentials *c = (struct aws_credentials *)0x1;
    ck_assert_int_eq(aws_credentials_new("", "s", NULL, 0, "x", &c), -EINVAL);
    ck_assert_int_eq(aws_credentials_new("A", NULL, NULL, 0, "x", &c), -EINVAL);
    ck_assert_ptr_eq(c, (struct aws_credentials *)0x1);
    ck_assert_int_eq(aws_credentials_new("A", "s", "", 5, NULL, &c), 0);
    ck_assert_ptr_null(c->session_token);
    ck_assert_str_eq(c->source, "");
    ck_assert_int_eq(c->expiration_ms, 5);
    ck_assert_ptr_null(aws_credentials_free(c));
    ck_assert_ptr_null(aws_credentials_free(NULL));
    ck_assert_ptr_null(aws_credentials_copy(NULL));
    ck_assert_ptr_null(creds_plan_free(NULL));
}
END_TEST

START_TEST(refresh_policy)
{
    const int64_t exp = 1700003600000LL, now = 1700000000000LL;
    struct aws_credentials c = { .expiration_ms = exp };

    ck_assert_int_eq(creds_refresh_at(0, now, 12345), INT64_MAX);
    /* The window: 5 to 15 minutes before expiry, spread by random. */
    ck_assert_int_eq(creds_refresh_at(exp, now, 0), exp - CREDS_REFRESH_MIN_MS);
    ck_assert_int_eq(creds_refresh_at(exp, now, UINT32_MAX),
                     exp - CREDS_REFRESH_MIN_MS - CREDS_REFRESH_JITTER_MS);
    ck_assert_int_eq(creds_refresh_at(exp, now, UINT32_MAX / 2),
                     exp - CREDS_REFRESH_MIN_MS - CREDS_REFRESH_JITTER_MS / 2 + 1);
    for (uint32_t r = 0; r < 4000000000u; r += 99999989u) {
        int64_t t = creds_refresh_at(exp, now, r);
        ck_assert_int_le(t, exp - CREDS_REFRESH_MIN_MS);
        ck_assert_int_ge(t, exp - CREDS_REFRESH_MIN_MS - CREDS_REFRESH_JITTER_MS);
    }
    /* Inside the window or past expiry: now. */
    ck_assert_int_eq(creds_refresh_at(exp, exp - 60000, 0), exp - 60000);
    ck_assert_int_eq(creds_refresh_at(exp, exp + 1, UINT32_MAX), exp + 1);

    ck_assert(creds_usable(&c, now));
    ck_assert(creds_usable(&c, exp - CREDS_USABLE_MARGIN_MS - 1));
    ck_assert(!creds_usable(&c, exp - CREDS_USABLE_MARGIN_MS));
    ck_assert(!creds_usable(&c, exp + 1));
    c.expiration_ms = 0;
    ck_assert(creds_usable(&c, INT64_MAX));
    ck_assert(!creds_usable(NULL, now));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("creds");
    TCase *tc = tcase_create("chain");
    tcase_add_test(tc, env_keys);
    tcase_add_test(tc, env_and_profiles);
    tcase_add_test(tc, profile_files);
    tcase_add_test(tc, home_and_missing_files);
    tcase_add_test(tc, file_too_big);
    tcase_add_test(tc, malformed_files);
    tcase_add_test(tc, partial_profile_keys);
    tcase_add_test(tc, long_lines);
    tcase_add_test(tc, role_chain);
    tcase_add_test(tc, role_self_reference_and_loops);
    tcase_add_test(tc, role_errors);
    tcase_add_test(tc, credential_sources);
    tcase_add_test(tc, web_identity);
    tcase_add_test(tc, container);
    tcase_add_test(tc, imds);
    tcase_add_test(tc, botocore_precedence);
    suite_add_tcase(s, tc);
    tc = tcase_create("parsers");
    tcase_add_test(tc, parse_documents);
    tcase_add_test(tc, parse_sts);
    tcase_add_test(tc, token_files);
    tcase_add_test(tc, objects);
    tcase_add_test(tc, refresh_policy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
