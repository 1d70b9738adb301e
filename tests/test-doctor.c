/* lib/doctor against tests/harness/http_server.py: every check of one
 * account, in order, with a made-up collector registry (the real one
 * fills up as collectors land), plus failures before any request,
 * several accounts, cancel and the generated policy. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "doctor.h"
#include "srvutil.h"
#include "testutil.h"

#define SECRET "doctor/test/secret/0123456789abcdefghijklm"

static struct {
    const char *name;
    char *value;
} env_tab[32];
static size_t n_env;

static void env_set(const char *name, const char *value)
{
    for (size_t i = 0; i < n_env; i++)
        if (strcmp(env_tab[i].name, name) == 0) {
            free(env_tab[i].value);
            env_tab[i].value = value ? strdup(value) : NULL;
            return;
        }
    env_tab[n_env].name = name;
    env_tab[n_env++].value = value ? strdup(value) : NULL;
}

static void env_clear(void)
{
    for (size_t i = 0; i < n_env; i++)
        free(env_tab[i].value);
    n_env = 0;
}

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < n_env; i++)
        if (strcmp(env_tab[i].name, name) == 0)
            return env_tab[i].value;
    return NULL;
}

static double zero_random(void *ctx)
{
    return 0.0;
}

/* ---- a made-up registry ---- */

static const char *const ec2_actions[] = { "ec2:DescribeVolumes", "ec2:DescribeSnapshots", NULL };
static const struct collect_list ec2_lists[] = {
    { .type = "aws_ebs_volume", .operation = "DescribeVolumes", .items = "Volumes[]" },
    { 0 },
};
static const struct collector_def fake_ec2 = {
    .name = "ec2", .service = "ec2", .lists = ec2_lists, .iam_actions = ec2_actions
};

static const char *const kms_actions[] = { "kms:ListKeys", "kms:DescribeKey", "ec2:DescribeVolumes",
                                           NULL };
static const struct collect_list kms_lists[] = {
    { .type = "aws_kms_key", .operation = "ListKeys", .params = "{\"Limit\":100}" },
    { 0 },
};
static const struct collector_def fake_kms = {
    .name = "kms", .service = "kms", .lists = kms_lists, .iam_actions = kms_actions
};

static const char *const iam_actions[] = { "iam:ListUsers", NULL };
static const struct collect_list iam_lists[] = {
    { .type = "aws_iam_user", .operation = "ListUsers" },
    { 0 },
};
static const struct collector_def fake_iam = {
    .name = "iam", .service = "iam", .global = true, .lists = iam_lists, .iam_actions = iam_actions
};

static const char *const account_actions[] = { "account:GetAlternateContact", NULL };
static const struct collector_def fake_custom = { .name = "account",
                                                  .service = "account",
                                                  .iam_actions = account_actions };

static const char *const rds_actions[] = { "rds:DescribeDBInstances", NULL };
static const struct collect_list rds_lists[] = {
    { .type = "aws_db_instance", .operation = "DescribeDBInstances" },
    { 0 },
};
static const struct collector_def fake_rds = {
    .name = "rds", .service = "rds", .lists = rds_lists, .iam_actions = rds_actions
};

static const struct collector_def *const registry[] = {
    &fake_ec2, &fake_kms, &fake_iam, &fake_custom, &fake_rds, NULL,
};
static const struct collector_def *const empty_registry[] = { NULL };

/* ---- fixture ---- */

struct t {
    uv_loop_t loop;
    struct aws_client *c;
    struct config *cfg;
    struct tsrv srv;
    json_t *report;
    int done, result;
    bool in_api;
    struct doctor *d;
};

static json_t *ok(const char *body)
{
    return json_pack("{s:i, s:s}", "status", 200, "body", body);
}

#define STS_IDENTITY                                                                        \
    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"       \
    "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDA1" \
    "</UserId><Account>123456789012</Account></GetCallerIdentityResult></"                  \
    "GetCallerIdentityResponse>"
#define EC2_VOLUMES                                                                \
    "<DescribeVolumesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">" \
    "<volumeSet/></DescribeVolumesResponse>"
#define ADMIN_ATTACHED                                                                       \
    "<ListAttachedUserPoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">" \
    "<ListAttachedUserPoliciesResult><AttachedPolicies><member><PolicyName>ReadOnly"         \
    "</PolicyName><PolicyArn>arn:aws:iam::123456789012:policy/ReadOnly</PolicyArn></member>" \
    "<member><PolicyName>AdministratorAccess</PolicyName><PolicyArn>"                        \
    "arn:aws:iam::aws:policy/AdministratorAccess</PolicyArn></member></AttachedPolicies>"    \
    "<IsTruncated>false</IsTruncated></ListAttachedUserPoliciesResult>"                      \
    "</ListAttachedUserPoliciesResponse>"
#define NONE_ATTACHED                                                                        \
    "<ListAttachedUserPoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">" \
    "<ListAttachedUserPoliciesResult><AttachedPolicies/><IsTruncated>false</IsTruncated>"    \
    "</ListAttachedUserPoliciesResult></ListAttachedUserPoliciesResponse>"

static void t_init(struct t *t, json_t *script, const char *def, const char *conf)
{
    char *text = json_dumps(script, JSON_COMPACT);
    const char *args[] = { "--script", text, "--default", def ? def : "404", NULL };
    struct aws_client_options o = { .getenv = fake_getenv, .random = zero_random };
    struct perr err = { 0 };

    memset(t, 0, sizeof(*t));
    tsrv_start(&t->srv, "http_server.py", args);
    free(text);
    json_decref(script);
    env_clear();
    env_set("AWS_ACCESS_KEY_ID", "AKIADOCTORTEST000001");
    env_set("AWS_SECRET_ACCESS_KEY", SECRET);
    env_set("AWS_ENDPOINT_URL", t->srv.url);
    env_set("AWS_CONFIG_FILE", "/dev/null");
    env_set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    env_set("AWS_EC2_METADATA_DISABLED", "true");
    env_set("AWS_REGION", "eu-west-3");
    ck_assert_int_eq(uv_loop_init(&t->loop), 0);
    o.loop = &t->loop;
    ck_assert_msg(aws_client_new(&o, &t->c, &err) == 0, "%s", err.msg);
    if (conf)
        ck_assert_msg(config_load_string("doctor.conf", conf, NULL, &t->cfg, &err, NULL) == 0, "%s",
                      err.msg);
    else
        ck_assert_int_eq(config_defaults(&t->cfg), 0);
}

static void on_done(int result, json_t *report, void *ud)
{
    struct t *t = ud;
    ck_assert(!t->in_api);
    t->done++;
    t->result = result;
    t->report = report;
    if (report) {
        char *s = json_dumps(report, 0);
        ck_assert_msg(strstr(s, SECRET) == NULL, "secret in the report");
        free(s);
    }
}

static void t_run(struct t *t, const struct collector_def *const *reg, const char *region)
{
    struct doctor_options o = {
        .loop = &t->loop,
        .client = t->c,
        .cfg = t->cfg,
        .region = region,
        .getenv = fake_getenv,
        .registry = reg,
    };
    struct perr err = { 0 };
    t->in_api = true;
    ck_assert_msg(doctor_run(&o, on_done, t, &t->d, &err) == 0, "%s", err.msg);
    t->in_api = false;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->done, 1);
}

static void t_finish(struct t *t)
{
    aws_client_close(t->c, NULL, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&t->loop), 0);
    config_free(t->cfg);
    json_decref(t->report);
    tsrv_stop(&t->srv);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The i-th check must be (check, subject, status, detail); detail NULL
 * skips that comparison, a detail ending in "*" is a prefix. */
static void expect(json_t *report, size_t i, const char *account, const char *check,
                   const char *subject, const char *status, const char *detail)
{
    json_t *c = json_array_get(json_object_get(report, "checks"), i);
    ck_assert_msg(c != NULL, "no check %zu", i);
    ck_assert_str_eq(str(c, "account"), account);
    ck_assert_str_eq(str(c, "check"), check);
    if (subject)
        ck_assert_str_eq(str(c, "subject"), subject);
    ck_assert_msg(str_eq(str(c, "status"), status), "check %zu (%s %s): %s: %s", i, check,
                  subject ? subject : "", str(c, "status"), str(c, "detail"));
    if (detail && detail[strlen(detail) - 1] == '*')
        ck_assert_msg(strncmp(str(c, "detail"), detail, strlen(detail) - 1) == 0, "check %zu: %s",
                      i, str(c, "detail"));
    else if (detail)
        ck_assert_str_eq(str(c, "detail"), detail);
}

/* ---- tests ---- */

START_TEST(all_checks_in_order)
{
    struct t t;
    json_t *identity = ok(STS_IDENTITY), *acct, *log, *perm;
    char url[160], closed[64];

    json_object_set_new(identity, "date_offset", json_integer(90));
    t_init(&t,
           json_pack("[o, s,s,s,s, o, {s:i, s:{s:s, s:s, s:s}}, {s:i, s:{s:s, s:s, s:s}}, o]",
                     identity, "200", "200", "200", "200", ok(EC2_VOLUMES), "status", 400,
                     "aws_error", "protocol", "json", "code", "AccessDeniedException", "message",
                     "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
                     "kms:ListKeys on resource: *",
                     "status", 400, "aws_error", "protocol", "query", "code", "ValidationError",
                     "message", "bad request", ok(ADMIN_ATTACHED)),
           NULL, "[collector rds]\nenabled = false\n");
    /* The account service's endpoint is a closed port. */
    snprintf(closed, sizeof(closed), "http://127.0.0.1:%d", tu_free_port());
    env_set("AWS_ENDPOINT_URL_ACCOUNT", closed);
    aws_client_close(t.c, NULL, NULL);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    {
        struct aws_client_options o = { .loop = &t.loop, .getenv = fake_getenv };
        struct perr err = { 0 };
        ck_assert_int_eq(aws_client_new(&o, &t.c, &err), 0);
    }
    t_run(&t, registry, NULL);
    ck_assert_int_eq(t.result, 0);
    ck_assert_str_eq(str(t.report, "status"), "fail");

    expect(t.report, 0, "default", "credentials", "environment", "ok", "static keys (AKIA...0001)");
    expect(t.report, 1, "default", "identity", "123456789012", "ok",
           "arn:aws:iam::123456789012:user/alice");
    expect(t.report, 2, "default", "clock", "sts", "warn",
           "the server's clock differs from ours by +*");
    snprintf(url, sizeof(url), "%s/ answers (HTTP 200)", t.srv.url);
    expect(t.report, 3, "default", "endpoint", "sts", "ok", url);
    expect(t.report, 4, "default", "endpoint", "iam", "ok", url);
    expect(t.report, 5, "default", "endpoint", "ec2", "ok", url);
    expect(t.report, 6, "default", "endpoint", "kms", "ok", url);
    snprintf(url, sizeof(url), "%s/ unreachable: *", closed);
    expect(t.report, 7, "default", "endpoint", "account", "fail", url);
    expect(t.report, 8, "default", "permission", "ec2", "ok", "ec2:DescribeVolumes allowed");
    expect(t.report, 9, "default", "permission", "kms", "fail", "access denied: kms:ListKeys");
    expect(t.report, 10, "default", "permission", "iam", "warn",
           "could not check iam:ListUsers: ValidationError: bad request");
    expect(t.report, 11, "default", "permission", "account", "skip",
           "could not check: the collector has no list operation");
    expect(t.report, 12, "default", "over-broad", "arn:aws:iam::123456789012:user/alice", "warn",
           "AdministratorAccess is attached to user alice; plumb needs only read access (plumb "
           "doctor --policy)");
    ck_assert_uint_eq(json_array_size(json_object_get(t.report, "checks")), 13);

    /* Permission checks list every action the collector needs. */
    perm = json_array_get(json_object_get(t.report, "checks"), 9);
    ck_assert_uint_eq(json_array_size(json_object_get(perm, "iam_actions")), 3);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(perm, "iam_actions"), 0)),
                     "kms:ListKeys");

    acct = json_array_get(json_object_get(t.report, "accounts"), 0);
    ck_assert_str_eq(str(acct, "name"), "default");
    ck_assert_str_eq(str(acct, "region"), "eu-west-3");
    ck_assert_str_eq(str(acct, "source"), "environment");
    ck_assert_str_eq(str(acct, "account_id"), "123456789012");
    ck_assert_str_eq(str(acct, "arn"), "arn:aws:iam::123456789012:user/alice");
    ck_assert_str_eq(str(acct, "status"), "fail");
    {
        int64_t skew = json_integer_value(json_object_get(acct, "clock_skew_ms"));
        ck_assert_msg(skew > 88000 && skew < 92000, "skew %lld", (long long)skew);
    }

    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 9);
    ck_assert_str_eq(tsrv_log_str(log, 1, "method"), "GET");
    ck_assert_ptr_null(tsrv_log_header(log, 1, "authorization"));
    ck_assert_str_eq(tsrv_log_str(log, 6, "body"), "{\"Limit\":100}");
    ck_assert_ptr_nonnull(strstr(tsrv_log_header(log, 7, "authorization"), "/us-east-1/iam/"));
    ck_assert_str_eq(tsrv_log_str(log, 8, "body"),
                     "Action=ListAttachedUserPolicies&Version=2010-05-08&UserName=alice");
    json_decref(log);
    t_finish(&t);
}
END_TEST

/* All well: status ok, with the over-broad check finding nothing. */
START_TEST(all_well)
{
    struct t t;

    t_init(&t, json_pack("[o,s,s,o]", ok(STS_IDENTITY), "403", "403", ok(NONE_ATTACHED)), NULL,
           NULL);
    t_run(&t, empty_registry, "ap-south-1");
    ck_assert_str_eq(str(t.report, "status"), "ok");
    expect(t.report, 2, "default", "clock", "sts", "ok", NULL);
    expect(t.report, 3, "default", "endpoint", "sts", "ok", NULL);
    expect(t.report, 5, "default", "over-broad", NULL, "ok",
           "no AdministratorAccess attached to user alice");
    ck_assert_str_eq(str(json_array_get(json_object_get(t.report, "accounts"), 0), "region"),
                     "ap-south-1");
    t_finish(&t);
}
END_TEST

/* A clock 6 minutes off fails; the over-broad check may be denied. */
START_TEST(clock_off_and_overbroad_denied)
{
    struct t t;
    json_t *identity = ok(STS_IDENTITY);

    json_object_set_new(identity, "date_offset", json_integer(-360));
    t_init(&t,
           json_pack("[o,s,s,{s:i, s:{s:s, s:s, s:s}}]", identity, "200", "200", "status", 403,
                     "aws_error", "protocol", "query", "code", "AccessDenied", "message",
                     "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
                     "iam:ListAttachedUserPolicies on resource: user alice"),
           NULL, NULL);
    t_run(&t, empty_registry, NULL);
    ck_assert_str_eq(str(t.report, "status"), "fail");
    expect(t.report, 2, "default", "clock", "sts", "fail",
           "the server's clock differs from ours by -3*");
    expect(t.report, 5, "default", "over-broad", NULL, "skip",
           "could not check: access denied to iam:ListAttachedUserPolicies");
    t_finish(&t);
}
END_TEST

/* No credentials at all: the credentials check says why, the rest is
 * skipped, nothing is sent. */
START_TEST(no_credentials)
{
    struct t t;
    json_t *log;

    t_init(&t, json_pack("[]"), NULL, NULL);
    env_set("AWS_ACCESS_KEY_ID", NULL);
    env_set("AWS_SECRET_ACCESS_KEY", NULL);
    /* The client read the environment already: a fresh one. */
    aws_client_close(t.c, NULL, NULL);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    {
        struct aws_client_options o = { .loop = &t.loop, .getenv = fake_getenv };
        struct perr err = { 0 };
        ck_assert_int_eq(aws_client_new(&o, &t.c, &err), 0);
    }
    t_run(&t, registry, NULL);
    ck_assert_str_eq(str(t.report, "status"), "fail");
    expect(t.report, 0, "default", "credentials", NULL, "fail",
           "no AWS credentials: none in the environment*");
    expect(t.report, 1, "default", "identity", NULL, "skip", "not checked: no credentials");
    expect(t.report, 4, "default", "endpoint", "iam", "skip", "not checked: no credentials");
    expect(t.report, 14, "default", "over-broad", NULL, "skip", "not checked: no credentials");
    log = tsrv_log(&t.srv);
    ck_assert_uint_eq(json_array_size(log), 0);
    json_decref(log);
    t_finish(&t);
}
END_TEST

/* Several accounts run side by side; a configured id that does not match
 * fails naming both. */
START_TEST(several_accounts)
{
    struct t t;
    json_t *accounts, *c;
    size_t i;
    int ok_ids = 0, bad_ids = 0;

    json_t *def = ok(STS_IDENTITY);
    char *def_text = json_dumps(def, JSON_COMPACT);

    t_init(&t, json_pack("[]"), def_text,
           "[account prod]\nid = 123456789012\n\n[account dev]\nid = 999999999999\n");
    free(def_text);
    json_decref(def);
    t_run(&t, empty_registry, "eu-north-1");
    accounts = json_object_get(t.report, "accounts");
    ck_assert_uint_eq(json_array_size(accounts), 2);
    ck_assert_str_eq(str(json_array_get(accounts, 0), "name"), "prod");
    ck_assert_str_eq(str(json_array_get(accounts, 1), "name"), "dev");
    ck_assert_str_eq(str(json_array_get(accounts, 1), "region"), "eu-north-1");
    json_array_foreach (json_object_get(t.report, "checks"), i, c) {
        if (!str_eq(str(c, "check"), "identity"))
            continue;
        if (str_eq(str(c, "account"), "prod")) {
            ck_assert_str_eq(str(c, "status"), "ok");
            ok_ids++;
        } else {
            ck_assert_str_eq(str(c, "status"), "fail");
            ck_assert_str_eq(str(c, "detail"),
                             "the credentials from environment belong to account 123456789012, "
                             "but the configuration expects account 999999999999");
            bad_ids++;
        }
    }
    ck_assert_int_eq(ok_ids, 1);
    ck_assert_int_eq(bad_ids, 1);
    ck_assert_str_eq(str(t.report, "status"), "fail");
    t_finish(&t);
}
END_TEST

START_TEST(cancel)
{
    struct t t;
    struct doctor_options o = { 0 };
    struct perr err = { 0 };

    t_init(&t, json_pack("[s]", "slow:5"), NULL, NULL);
    o.loop = &t.loop;
    o.client = t.c;
    o.cfg = t.cfg;
    o.getenv = fake_getenv;
    o.registry = empty_registry;
    /* Before it started... */
    ck_assert_int_eq(doctor_run(&o, on_done, &t, &t.d, &err), 0);
    doctor_cancel(t.d);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(t.result, -ECANCELED);
    ck_assert_ptr_null(t.report);
    /* ...and while the identity call is in flight. */
    t.done = 0;
    ck_assert_int_eq(doctor_run(&o, on_done, &t, &t.d, &err), 0);
    uv_run(&t.loop, UV_RUN_NOWAIT);
    uv_run(&t.loop, UV_RUN_NOWAIT);
    doctor_cancel(t.d);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(t.result, -ECANCELED);
    t_finish(&t);
}
END_TEST

START_TEST(bad_arguments)
{
    struct perr err = { 0 };
    struct doctor_options o = { 0 };
    ck_assert_int_eq(doctor_run(&o, on_done, NULL, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "doctor: missing loop, client or configuration");
    ck_assert_int_eq(doctor_run(NULL, on_done, NULL, NULL, &err), -EINVAL);
}
END_TEST

START_TEST(policy)
{
    json_t *p = doctor_policy(registry), *st, *actions;
    static const char *const want[] = {
        "account:GetAlternateContact",
        "ec2:DescribeRegions",
        "ec2:DescribeSnapshots",
        "ec2:DescribeVolumes",
        "iam:ListAttachedRolePolicies",
        "iam:ListAttachedUserPolicies",
        "iam:ListUsers",
        "kms:DescribeKey",
        "kms:ListKeys",
        "rds:DescribeDBInstances",
    };

    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str(p, "Version"), "2012-10-17");
    st = json_array_get(json_object_get(p, "Statement"), 0);
    ck_assert_str_eq(str(st, "Effect"), "Allow");
    ck_assert_str_eq(str(st, "Resource"), "*");
    ck_assert_str_eq(str(st, "Sid"), "PlumbReadOnly");
    actions = json_object_get(st, "Action");
    ck_assert_uint_eq(json_array_size(actions), ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        ck_assert_str_eq(json_string_value(json_array_get(actions, i)), want[i]);
    json_decref(p);

    /* The shipped registry: at least the base actions. */
    p = doctor_policy(NULL);
    actions = json_object_get(json_array_get(json_object_get(p, "Statement"), 0), "Action");
    for (size_t i = 0; doctor_base_actions[i]; i++) {
        bool found = false;
        size_t k;
        json_t *a;
        json_array_foreach (actions, k, a)
            found |= str_eq(json_string_value(a), doctor_base_actions[i]);
        ck_assert_msg(found, "%s missing", doctor_base_actions[i]);
    }
    json_decref(p);
    ck_assert_str_eq(doctor_status_name(DOCTOR_WARN), "warn");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("doctor");
    TCase *tc = tcase_create("doctor");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, all_checks_in_order);
    tcase_add_test(tc, all_well);
    tcase_add_test(tc, clock_off_and_overbroad_denied);
    tcase_add_test(tc, no_credentials);
    tcase_add_test(tc, several_accounts);
    tcase_add_test(tc, cancel);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, policy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc;
    tsrv_find_python();
    rc = tu_run_suite(suite());
    env_clear();
    return rc;
}
