#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "testutil.h"

static char *tmp;
static char *secret_path;
static struct config_env env;

static void setup(void)
{
    char *credir;
    tmp = tu_tmpdir();
    secret_path = tu_path_join(tmp, "hook.key");
    tu_write_file(secret_path, "s3cr3t-hmac-key\n");
    credir = tu_path_join(tmp, "creds");
    mkdir(credir, 0700);
    {
        char *p = tu_path_join(credir, "smtp-password");
        tu_write_file(p, "mail-pass-42");
        free(p);
    }
    env.credentials_directory = credir;
}

static void teardown(void)
{
    tu_rmrf(tmp);
    free(tmp);
    free(secret_path);
    free((char *)env.credentials_directory);
}

/* Load text and return the joined error list ("" when it loads). */
static char *load_errors(const char *text)
{
    struct config *c = NULL;
    struct perr err = { 0 };
    char **errors = NULL, *joined;
    int r = config_load_string("test.conf", text, &env, &c, &err, &errors);
    if (r == 0) {
        config_free(c);
        return strdup("");
    }
    ck_assert_int_eq(r, -EINVAL);
    ck_assert_ptr_nonnull(errors);
    ck_assert_str_eq(err.msg, errors[0]);
    joined = strv_join(errors, "\n");
    strv_free(errors);
    return joined;
}

static void expect_error(const char *text, const char *expected)
{
    char *got = load_errors(text);
    ck_assert_msg(strstr(got, expected) != NULL, "expected error containing\n  %s\ngot\n  %s",
                  expected, got);
    free(got);
}

START_TEST(defaults)
{
    struct config *c = NULL;
    ck_assert_int_eq(config_defaults(&c), 0);
    ck_assert_str_eq(c->database, "/var/lib/plumb/plumb.db");
    ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
    ck_assert_int_eq(c->max_attempts, 3);
    ck_assert(c->journal.enabled);
    ck_assert(!c->syslog.enabled);
    ck_assert_str_eq(c->config_mode, "auto");
    config_free(c);
}
END_TEST

START_TEST(full_config)
{
    struct config *c = NULL;
    struct perr err = { 0 };
    char *text = NULL;
    int r;
    ck_assert_int_ne(asprintf(&text,
                              "# comment\n"
                              "[plumb]\n"
                              "database = /tmp/x.db\n"
                              "log_level = debug\n"
                              "regions = eu-central-1, eu-west-1\n"
                              "    us-gov-west-1\n"
                              "api_budget_share = 0.25\n"
                              "\n"
                              "[account prod]\n"
                              "role_arn = arn:aws:iam::123456789012:role/plumb-audit\n"
                              "external_id = ext-1\n"
                              "\n"
                              "[collector ec2]\n"
                              "interval = 5m\n"
                              "\n"
                              "[collector iam]\n"
                              "enabled = no\n"
                              "\n"
                              "[state net]\n"
                              "location = s3://tf-states/net/terraform.tfstate\n"
                              "region = eu-central-1\n"
                              "\n"
                              "[baseline]\n"
                              "disable = acc-appstream-idle, log-appsync-field\n"
                              "logs.retention_min_days = 400\n"
                              "\n"
                              "[exception legacy]\n"
                              "match = aws_s3_bucket.legacy-*\n"
                              "reason = migrating in Q1\n"
                              "owner = alice@example.com\n"
                              "expires = 2027-03-31\n"
                              "\n"
                              "[webhook oncall]\n"
                              "url = https://hooks.example.com/plumb\n"
                              "format = cloudevents\n"
                              "secret_file = %s\n"
                              "min_severity = high\n"
                              "\n"
                              "[events]\n"
                              "retry_max_age = 12h\n"
                              "\n"
                              "[digest weekly]\n"
                              "schedule = Mon 08:00\n"
                              "timezone = Europe/Berlin\n"
                              "smtp_url = smtp://mail.example.com:587\n"
                              "from = plumb@example.com\n"
                              "to = ops@example.com, lead@example.com\n"
                              "username = plumb\n"
                              "password_credential = smtp-password\n",
                              secret_path),
                     -1);
    r = config_load_string("full.conf", text, &env, &c, &err, NULL);
    ck_assert_msg(r == 0, "load failed: %s", err.msg);
    ck_assert_str_eq(c->database, "/tmp/x.db");
    ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
    ck_assert_int_eq((int)strv_length(c->regions), 3);
    ck_assert_str_eq(c->regions[2], "us-gov-west-1");
    ck_assert(c->api_budget_share > 0.24 && c->api_budget_share < 0.26);
    ck_assert_int_eq((int)c->n_accounts, 1);
    /* The account id is taken from the role ARN when not given. */
    ck_assert_str_eq(c->accounts[0].id, "123456789012");
    ck_assert_str_eq(c->accounts[0].session_name, "plumb");
    ck_assert_int_eq(config_collector(c, "ec2")->interval_ms, 300000);
    ck_assert_int_eq(config_collector(c, "ec2")->jitter_ms, 30000);
    ck_assert(!config_collector(c, "iam")->enabled);
    ck_assert_int_eq(c->states[0].kind, STATE_S3);
    ck_assert_int_eq((int)strv_length(c->baseline_disable), 2);
    ck_assert_str_eq(c->baseline_params[0], "logs.retention_min_days=400");
    ck_assert_int_eq(c->baseline_param_lines[0], 25);
    ck_assert_int_eq(c->exceptions[0].expires_ms, 1806451200000LL);
    ck_assert_str_eq(c->webhooks[0].secret, "s3cr3t-hmac-key");
    ck_assert_int_eq(c->webhooks[0].format, WEBHOOK_CLOUDEVENTS);
    ck_assert_int_eq(c->webhooks[0].filter.min_severity, SEVERITY_HIGH);
    /* [events] comes after the webhook and still sets its default max age. */
    ck_assert_int_eq(c->webhooks[0].max_age_ms, 12 * 3600000LL);
    ck_assert_str_eq(c->digests[0].password, "mail-pass-42");
    ck_assert_int_eq((int)strv_length(c->digests[0].to), 2);
    config_free(c);
    free(text);
}
END_TEST

START_TEST(regions_all)
{
    struct config *c = NULL;
    ck_assert_int_eq(config_load_string("t", "[plumb]\nregions = all\n", &env, &c, NULL, NULL), 0);
    ck_assert_int_eq((int)strv_length(c->regions), 0);
    config_free(c);
}
END_TEST

START_TEST(bad_values)
{
    expect_error("[plumb]\nlog_level = loud\n",
                 "test.conf:2: log_level: expected error, warning, notice, info or debug, got "
                 "'loud'");
    expect_error("[plumb]\nmax_attempts = 0\n",
                 "test.conf:2: max_attempts: expected an integer from 1 to 20, got '0'");
    expect_error("[plumb]\nhttp_timeout = soon\n",
                 "test.conf:2: http_timeout: 'soon' is not a duration (e.g. 30s, 15m, 1h30m, 7d)");
    expect_error("[collector ec2]\ninterval = 10s\n",
                 "test.conf:2: interval: 10s is out of range (1m to 7d)");
    expect_error("[plumb]\nregions = eu-central-1, mars-1\n",
                 "test.conf:2: regions: 'mars-1' is not an AWS region name (e.g. eu-central-1)");
    expect_error("[plumb]\ndatabase = plumb.db\n",
                 "test.conf:2: database: must be an absolute path, got 'plumb.db'");
    expect_error("[plumb]\napi_budget_share = 1.5\n",
                 "test.conf:2: api_budget_share: expected a number above 0 and at most 1, got "
                 "'1.5'");
    expect_error("[plumb]\ninclude_defaults = perhaps\n",
                 "test.conf:2: include_defaults: expected yes or no, got 'perhaps'");
    expect_error("[exception x]\nmatch = a.b\nreason = r\nowner = o\nexpires = next week\n",
                 "test.conf:5: expires: 'next week' is not a date");
    expect_error("[aws_config]\nmode = sometimes\n",
                 "test.conf:2: mode: expected one of auto, off, only, got 'sometimes'");
}
END_TEST

START_TEST(unknown_and_duplicates)
{
    expect_error("[plumb]\ncolour = blue\n", "test.conf:2: [plumb] colour: unknown key");
    expect_error("[plumbing]\nx = 1\n", "test.conf:1: [plumbing]: unknown section");
    expect_error("[collector ec3]\nenabled = yes\n",
                 "test.conf:1: [collector ec3]: unknown collector 'ec3'");
    expect_error("[plumb]\nlog_level = info\nlog_level = debug\n",
                 "test.conf:3: log_level: set twice in [plumb] (first at line 2)");
    expect_error("[webhook]\nurl = https://x\n",
                 "test.conf:1: [webhook]: this section needs a name, e.g. [webhook example]");
    expect_error("[plumb x]\nlog_level = info\n", "test.conf:1: [plumb x]: [plumb] takes no name");
    expect_error("[account a]\nid = 111111111111\n[account b]\nid = 2\n[account a]\nid = 3\n",
                 "test.conf:5: [account a]: duplicate section (first at line 1)");
    expect_error("log_level = info\n",
                 "test.conf:1: log_level: key outside of any section (start with [plumb])");
    expect_error(
        "[plumb]\nlog_level = info\n  database = /x\n",
        "test.conf:3: log_level: continuation lines (indented) are only allowed for lists");
    expect_error("[plumb]\nthis line has no equals sign\n", "test.conf:2: syntax error");
}
END_TEST

START_TEST(long_line)
{
    char text[600];
    int n = snprintf(text, sizeof(text), "[plumb]\nendpoint_url = https://");
    memset(text + n, 'a', 300);
    strcpy(text + n + 300, "\nlog_level = info\n");
    expect_error(text, "test.conf:2: line is longer than 198 characters");
}
END_TEST

START_TEST(secrets)
{
    char *text = NULL, *got;
    /* Inline secrets are refused, and the message does not echo the value. */
    got = load_errors("[webhook a]\nurl = https://x.example\nsecret = hunter2-inline\n");
    ck_assert_msg(strstr(got, "test.conf:3: secret: secrets are not accepted inline; use "
                              "secret_file = /path or secret_credential = NAME") != NULL,
                  "%s", got);
    ck_assert(strstr(got, "hunter2") == NULL);
    free(got);
    expect_error("[webhook a]\nurl = https://x.example\n",
                 "test.conf:1: [webhook a] secret_file: missing (every request is signed");
    expect_error("[webhook a]\nurl = https://x.example\nsecret_file = /nonexistent/key\n",
                 "test.conf:3: secret_file: cannot read /nonexistent/key: No such file or "
                 "directory");
    expect_error("[webhook a]\nurl = https://x.example\nsecret_file = relative/key\n",
                 "test.conf:3: secret_file: must be an absolute path");
    expect_error("[webhook a]\nurl = https://x.example\nsecret_credential = ../etc/shadow\n",
                 "test.conf:3: secret_credential: invalid credential name '../etc/shadow'");
    expect_error("[webhook a]\nurl = https://x.example\nsecret_credential = nope\n",
                 "secret_credential: cannot read");
    /* Both a file and a credential for the same secret is ambiguous. */
    ck_assert_int_ne(asprintf(&text,
                              "[webhook a]\nurl = https://x.example\nsecret_file = %s\n"
                              "secret_credential = smtp-password\n",
                              secret_path),
                     -1);
    got = load_errors(text);
    ck_assert(strstr(got, "test.conf:4: secret_credential: the secret is already set") != NULL);
    /* Neither secret value may appear in any error message. */
    ck_assert(strstr(got, "s3cr3t") == NULL && strstr(got, "mail-pass") == NULL);
    free(got);
    free(text);
}
END_TEST

START_TEST(credentials_directory_missing)
{
    struct config_env none = { 0 };
    struct config *c = NULL;
    struct perr err = { 0 };
    int r = config_load_string("t.conf",
                               "[webhook a]\nurl = https://x.example\nsecret_credential = k\n",
                               &none, &c, &err, NULL);
    ck_assert_int_eq(r, -EINVAL);
    ck_assert_str_eq(err.msg, "t.conf:3: secret_credential: $CREDENTIALS_DIRECTORY is not set "
                              "(use LoadCredential= in the unit, or a *_file key)");
}
END_TEST

START_TEST(cross_checks)
{
    expect_error("[account a]\nid = 12345\n",
                 "test.conf:1: [account a] id: '12345' is not a 12-digit account id");
    expect_error("[account a]\nexternal_id = x\n",
                 "[account a] external_id: only meaningful with role_arn");
    expect_error("[account a]\nid = 111111111111\n[account b]\nid = 111111111111\n",
                 "test.conf:3: [account b] id: account 111111111111 is already configured as "
                 "[account a]");
    expect_error("[state s]\nregion = eu-central-1\n", "[state s] location: missing");
    expect_error("[state s]\nlocation = states/*.tfstate\n",
                 "[state s] location: 'states/*.tfstate' is neither an absolute path nor");
    expect_error("[state s]\nlocation = s3://bucket-only\n",
                 "[state s] location: expected s3://BUCKET/KEY");
    expect_error("[state s]\nlocation = http://tf.example.com/state\n",
                 "plain http:// is only allowed on loopback");
    expect_error("[state s]\nlocation = tfc://acme/prod\n",
                 "[state s] token_file: Terraform Cloud needs an API token");
    expect_error("[state s]\nlocation = /srv/a.tfstate\nregion = eu-west-1\n",
                 "[state s] region/workspaces: only for s3:// locations");
    expect_error("[exception e]\nmatch = aws_vpc.*\n",
                 "[exception e] reason: missing (say why this is accepted)");
    expect_error("[exception e]\nmatch = aws_vpc.*\nreason = r\n",
                 "[exception e] owner: missing (who answers for it)");
    expect_error(
        "[syslog]\ntarget = udp://x:514\n",
        "[syslog] target: 'udp://x:514' must be local, tcp://HOST:PORT or tls://HOST:PORT");
    expect_error("[digest d]\nsmtp_url = smtp://mail.example.com\nfrom = a@b\nto = c@d\n"
                 "schedule = Funday 08:00\n",
                 "[digest d] schedule: 'Funday 08:00' is not 'Day HH:MM'");
    expect_error("[digest d]\nsmtp_url = smtp://mail.example.com\nfrom = a@b\nto = c@d\n"
                 "timezone = Mars/Olympus\n",
                 "[digest d] timezone: unknown time zone 'Mars/Olympus'");
    expect_error("[digest d]\nsmtp_url = smtp://mail.example.com\nfrom = a@b\nto = c@d\n"
                 "tls = none\n",
                 "[digest d] tls: 'none' is only allowed for a loopback server");
    expect_error("[digest d]\nsmtp_url = mail.example.com\nfrom = a@b\nto = c@d\n",
                 "smtp_url: 'mail.example.com' must start with smtp:// or smtps://");
    expect_error("[digest d]\nsmtp_url = smtp://m.example.com\n",
                 "[digest d] to: missing (one or more addresses)");
}
END_TEST

START_TEST(webhook_urls)
{
    char *text = NULL, *got;
    ck_assert_int_ne(asprintf(&text,
                              "[webhook a]\nurl = http://hooks.example.com/x\nsecret_file = %s\n",
                              secret_path),
                     -1);
    got = load_errors(text);
    ck_assert(strstr(got, "must be https:// (plain http only on loopback)") != NULL);
    free(got);
    free(text);
    ck_assert_int_ne(asprintf(&text,
                              "[webhook a]\nurl = http://127.0.0.1:8080/x\nsecret_file = %s\n",
                              secret_path),
                     -1);
    got = load_errors(text);
    ck_assert_str_eq(got, "");
    free(got);
    free(text);
    ck_assert_int_ne(
        asprintf(&text, "[webhook a]\nurl = https://x\nformat = pagerduty\nsecret_file = %s\n",
                 secret_path),
        -1);
    got = load_errors(text);
    ck_assert(strstr(got, "[webhook a] routing_key_file: PagerDuty needs a routing key") != NULL);
    free(got);
    free(text);
}
END_TEST

START_TEST(all_errors_reported)
{
    /* Several problems in one file are all reported, in file order. */
    char *got = load_errors("[plumb]\nlog_level = loud\nmax_attempts = 99\n[nope]\nx = 1\n");
    char **lines = NULL;
    ck_assert_int_eq(strv_split(got, "\n", &lines), 0);
    ck_assert_int_eq((int)strv_length(lines), 3);
    ck_assert(str_has_prefix(lines[0], "test.conf:2:"));
    ck_assert(str_has_prefix(lines[1], "test.conf:3:"));
    ck_assert(str_has_prefix(lines[2], "test.conf:4:"));
    strv_free(lines);
    free(got);
}
END_TEST

START_TEST(file_errors)
{
    struct config *c = NULL;
    struct perr err = { 0 };
    char **errors = NULL;
    ck_assert_int_eq(config_load("/nonexistent/plumb.conf", &env, &c, &err, &errors), -ENOENT);
    ck_assert_str_eq(err.msg, "/nonexistent/plumb.conf: cannot read: No such file or directory");
    ck_assert_str_eq(errors[0], err.msg);
    strv_free(errors);
}
END_TEST

START_TEST(reload_rules)
{
    struct config *a = NULL, *b = NULL;
    struct perr err = { 0 };
    ck_assert_int_eq(config_load_string("a", "[plumb]\ndatabase = /a.db\n", &env, &a, NULL, NULL),
                     0);
    ck_assert_int_eq(config_load_string("b", "[plumb]\ndatabase = /b.db\n", &env, &b, NULL, NULL),
                     0);
    ck_assert(!config_reloadable(a, b, &err));
    ck_assert_str_eq(err.msg, "database: changing the database path needs a restart");
    ck_assert(config_reloadable(a, a, &err));
    config_free(a);
    config_free(b);
}
END_TEST

START_TEST(example_config_is_valid)
{
    /* The shipped, fully commented example must always load. */
    char *path = tu_srcpath("etc/plumb.conf");
    struct config *c = NULL;
    struct perr err = { 0 };
    char *got;
    char **errors = NULL;
    int r = config_load(path, &env, &c, &err, &errors);
    got = errors ? strv_join(errors, "\n") : strdup("");
    ck_assert_msg(r == 0, "etc/plumb.conf does not load:\n%s", got);
    free(got);
    strv_free(errors);
    config_free(c);
    free(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, full_config);
    tcase_add_test(tc, regions_all);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, unknown_and_duplicates);
    tcase_add_test(tc, long_line);
    tcase_add_test(tc, secrets);
    tcase_add_test(tc, credentials_directory_missing);
    tcase_add_test(tc, cross_checks);
    tcase_add_test(tc, webhook_urls);
    tcase_add_test(tc, all_errors_reported);
    tcase_add_test(tc, file_errors);
    tcase_add_test(tc, reload_rules);
    tcase_add_test(tc, example_config_is_valid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
