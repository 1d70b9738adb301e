/* The plumb CLI against moto: one scan --once (no configuration file), then
 * every subcommand's table and JSON output and its errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonutil.h"
#include "testutil.h"
#include "util.h"

static struct tu_moto moto;
static char *tmp;
static char *plumb;
static char *state_path;
static char env_xdg[512], env_datadir[512], env_endpoint[128];
static const char *env[16];

/* A state declaring one live instance (shared-db), one that does not exist
 * (ghost-db), in moto's account. */
static const char state_text[] =
    "{\"version\": 4, \"terraform_version\": \"1.5.7\", \"serial\": 3, \"lineage\": "
    "\"3f0c5a9e-1111-2222-3333-444455556666\", \"outputs\": {}, \"resources\": ["
    "{\"mode\": \"managed\", \"type\": \"aws_db_instance\", \"name\": \"ghost\", \"provider\": "
    "\"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\", \"instances\": [{"
    "\"schema_version\": 2, \"attributes\": {\"id\": \"ghost-db\", \"identifier\": \"ghost-db\", "
    "\"arn\": \"arn:aws:rds:eu-central-1:123456789012:db:ghost-db\", \"storage_encrypted\": "
    "true}}]}]}";

static void suite_up(void)
{
    char *src;
    tu_moto_start(&moto);
    tmp = tu_tmpdir();
    plumb = tu_buildpath("daemon/plumb");
    src = tu_srcpath("etc");
    snprintf(env_xdg, sizeof(env_xdg), "XDG_STATE_HOME=%s/state", tmp);
    snprintf(env_datadir, sizeof(env_datadir), "PLUMB_DATADIR=%s", src);
    snprintf(env_endpoint, sizeof(env_endpoint), "AWS_ENDPOINT_URL=%s", moto.endpoint);
    free(src);
    env[0] = env_xdg;
    env[1] = env_datadir;
    env[2] = env_endpoint;
    env[3] = "AWS_ACCESS_KEY_ID=AKIAPLUMBTEST0000000";
    env[4] = "AWS_SECRET_ACCESS_KEY=plumbtestsecretplumbtestsecretplumbtest0";
    env[5] = "AWS_REGION=eu-central-1";
    env[6] = "AWS_DEFAULT_REGION=eu-central-1";
    env[7] = NULL;
    state_path = tu_path_join(tmp, "main.tfstate");
    tu_write_file(state_path, state_text);
    {
        /* An unencrypted database (fails enc-rds-instance) and a second one. */
        const char *a1[] = { "aws",
                             "rds",
                             "create-db-instance",
                             "--db-instance-identifier",
                             "shared-db",
                             "--db-instance-class",
                             "db.t3.micro",
                             "--engine",
                             "postgres",
                             "--master-username",
                             "admin",
                             "--master-user-password",
                             "secret-password-1",
                             "--allocated-storage",
                             "20",

                             NULL };
        ck_assert_msg(tu_run(a1, env, NULL, NULL) == 0, "cannot seed moto");
    }
}

static void suite_down(void)
{
    tu_moto_stop(&moto);
    tu_rmrf(tmp);
    free(tmp);
    free(plumb);
    free(state_path);
}

/* Run plumb with args; returns the exit code and fills out/err. */
static int run(char **out, char **err, const char *first, ...)
{
    const char *argv[32];
    size_t n = 0;
    va_list ap;
    argv[n++] = plumb;
    argv[n++] = first;
    va_start(ap, first);
    while (n < 31 && (argv[n] = va_arg(ap, const char *)))
        n++;
    va_end(ap);
    argv[n] = NULL;
    return tu_run(argv, env, out, err);
}

static json_t *run_json(const char *first, ...)
{
    const char *argv[32];
    size_t n = 0;
    char *out = NULL, *err = NULL;
    json_error_t jerr;
    json_t *j;
    va_list ap;
    int st;
    argv[n++] = plumb;
    argv[n++] = first;
    va_start(ap, first);
    while (n < 29 && (argv[n] = va_arg(ap, const char *)))
        n++;
    va_end(ap);
    argv[n++] = "--output";
    argv[n++] = "json";
    argv[n] = NULL;
    st = tu_run(argv, env, &out, &err);
    ck_assert_msg(st == 0, "plumb %s exited %d: %s", first, st, err);
    j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "plumb %s: not JSON (%s): %s", first, jerr.text, out);
    free(out);
    free(err);
    return j;
}

static void scan(void)
{
    char *out = NULL, *err = NULL;
    int st = run(&out, &err, "scan", "--once", "--state", state_path, NULL);
    ck_assert_msg(st == 0, "scan exited %d: %s", st, err);
    free(out);
    free(err);
}

START_TEST(scan_once_without_config)
{
    char *out = NULL, *err = NULL, *dbp;
    json_t *j;
    struct stat st;
    int rc = run(&out, &err, "scan", "--once", "--state", state_path, NULL);
    ck_assert_msg(rc == 0, "%s", err);
    /* Human summary on stdout, progress on stderr. */
    ck_assert_msg(strstr(out, "resources seen:") && strstr(out, "API calls:"), "%s", out);
    ck_assert_msg(strstr(err, "plumb: rds: ") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "state ") && strstr(err, "1 resources declared"), "%s", err);
    free(out);
    free(err);
    /* The default database lives under $XDG_STATE_HOME, private. */
    dbp = tu_path_join(tmp, "state/plumb/plumb.db");
    ck_assert_int_eq(stat(dbp, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    free(dbp);
    /* JSON summary contract; an unchanged second run writes nothing. */
    j = run_json("scan", "--once", "--quiet", "--state", state_path, NULL);
    ck_assert_int_ge(json_integer_value(json_object_get(j, "resources_seen")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "versions_written")), 0);
    ck_assert_int_ge(json_integer_value(json_object_get(j, "api_calls")), 1);
    ck_assert(json_is_integer(json_object_get(j, "throttled")));
    ck_assert(json_is_array(json_object_get(j, "unknown")));
    ck_assert(json_is_array(json_object_get(j, "collectors")));
    ck_assert_int_eq(json_integer_value(json_path_get(j, "drift.missing")), 1);
    ck_assert_int_ge(json_integer_value(json_path_get(j, "drift.unmanaged")), 1);
    ck_assert_int_ge(json_integer_value(json_path_get(j, "findings.FAIL")), 1);
    json_decref(j);
}
END_TEST

START_TEST(exit_codes)
{
    char *out = NULL, *err = NULL;
    scan();
    /* Open high-severity drift (missing) and failing controls: 3. */
    ck_assert_int_eq(run(&out, &err, "scan", "--once", "--quiet", "--exit-code", NULL), 3);
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "scan", NULL), 2);
    ck_assert_msg(strstr(err, "plumb scan needs --once"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "scan", "--once", "--collector", "nope", NULL), 2);
    ck_assert_msg(strstr(err, "--collector: no collector named 'nope'"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "nope", NULL), 2);
    ck_assert_msg(strstr(err, "unknown command 'nope'"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "resources", "--bogus", NULL), 2);
    ck_assert_msg(strstr(err, "unknown option '--bogus'"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "resources", "--db", "/nonexistent/x.db", NULL), 1);
    ck_assert_msg(strstr(err, "no database yet"), "%s", err);
    free(out);
    free(err);
}
END_TEST

START_TEST(resources_and_history)
{
    char *out = NULL, *err = NULL;
    json_t *j, *r;
    size_t i;
    scan();
    j = run_json("resources", "--type", "aws_db_instance", NULL);
    ck_assert_int_eq((int)json_array_size(j), 1);
    r = json_array_get(j, 0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "shared-db");
    ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "aws_db_instance");
    ck_assert_str_eq(json_string_value(json_object_get(r, "aws_type")), "AWS::RDS::DBInstance");
    ck_assert_str_eq(json_string_value(json_object_get(r, "account")), "123456789012");
    ck_assert_str_eq(json_string_value(json_object_get(r, "region")), "eu-central-1");
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "ok");
    ck_assert(json_is_object(json_object_get(r, "attributes")));
    ck_assert(json_is_object(json_object_get(r, "tags")));
    ck_assert(json_is_string(json_object_get(r, "arn")));
    json_array_foreach (j, i, r) {
        ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "aws_db_instance");
    }
    json_decref(j);
    ck_assert_int_eq(run(&out, &err, "resources", "--region", "eu-central-1", NULL), 0);
    ck_assert_msg(strstr(out, "TYPE") && strstr(out, "shared-db"), "%s", out);
    free(out);
    free(err);
    j = run_json("history", "aws_db_instance:shared-db", NULL);
    ck_assert_int_ge((int)json_array_size(json_object_get(j, "versions")), 1);
    ck_assert_str_eq(json_string_value(json_path_get(j, "versions[0].event")), "created");
    json_decref(j);
    ck_assert_int_eq(run(&out, &err, "history", "aws_db_instance:nope", NULL), 1);
    ck_assert_msg(strstr(err, "no resource aws_db_instance:nope in the database"), "%s", err);
    free(out);
    free(err);
}
END_TEST

START_TEST(drift_findings_posture)
{
    char *out = NULL, *err = NULL;
    json_t *j, *d;
    size_t i;
    bool missing = false, unmanaged = false;
    scan();
    j = run_json("drift", NULL);
    json_array_foreach (j, i, d) {
        const char *cat = json_string_value(json_object_get(d, "category"));
        ck_assert(json_is_string(json_object_get(d, "type")));
        if (str_eq(cat, "missing")) {
            missing = true;
            ck_assert_str_eq(json_string_value(json_object_get(d, "id")), "ghost-db");
            ck_assert_str_eq(json_string_value(json_object_get(d, "address")),
                             "aws_db_instance.ghost");
            ck_assert(json_is_string(json_object_get(d, "source")));
        }
        if (str_eq(cat, "unmanaged") &&
            str_eq(json_string_value(json_object_get(d, "id")), "shared-db"))
            unmanaged = true;
    }
    ck_assert(missing && unmanaged);
    json_decref(j);
    j = run_json("drift", "--category", "missing", NULL);
    ck_assert_int_eq((int)json_array_size(j), 1);
    json_decref(j);

    j = run_json("findings", "--status", "FAIL", "--control", "enc-rds-instance", NULL);
    ck_assert_int_eq((int)json_array_size(j), 1);
    d = json_array_get(j, 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "status")), "FAIL");
    ck_assert_str_eq(json_string_value(json_path_get(d, "resource.id")), "shared-db");
    ck_assert_str_eq(json_string_value(json_path_get(d, "nis2[0]")), "21.2.h");
    ck_assert(json_is_array(json_object_get(d, "dora")));
    ck_assert(json_is_string(json_object_get(d, "severity")));
    json_decref(j);
    j = run_json("findings", "--article", "21.2.h", "--status", "all", NULL);
    json_array_foreach (j, i, d) {
        bool has = false;
        size_t k;
        json_t *ref;
        json_array_foreach (json_object_get(d, "nis2"), k, ref) {
            has = has || str_eq(json_string_value(ref), "21.2.h");
        }
        ck_assert(has);
    }
    json_decref(j);
    ck_assert_int_eq(run(&out, &err, "findings", "--status", "MAYBE", NULL), 2);
    ck_assert_msg(strstr(err, "--status: expected PASS, FAIL, UNKNOWN"), "%s", err);
    free(out);
    free(err);

    j = run_json("posture", NULL);
    ck_assert(json_is_array(json_object_get(j, "nis2")));
    ck_assert(json_is_array(json_object_get(j, "dora")));
    ck_assert_int_ge(json_integer_value(json_path_get(j, "totals.fail")), 1);
    json_decref(j);
    ck_assert_int_eq(run(&out, &err, "posture", NULL), 0);
    ck_assert_msg(strstr(out, "NIS2 Art. 21(2)(h)") != NULL, "%s", out);
    free(out);
    free(err);
}
END_TEST

START_TEST(controls_export_events_status)
{
    char *out = NULL, *err = NULL, *csv = tu_path_join(tmp, "f.csv"), *text;
    json_t *j, *c;
    scan();
    j = run_json("controls", NULL);
    ck_assert_int_ge((int)json_array_size(j), 60);
    c = json_array_get(j, 0);
    ck_assert(
        json_is_string(json_object_get(c, "id")) && json_is_string(json_object_get(c, "title")) &&
        json_is_string(json_object_get(c, "severity")) &&
        json_is_array(json_object_get(c, "nis2")) && json_is_array(json_object_get(c, "dora")) &&
        json_object_get(c, "config_rule") && json_object_get(c, "security_hub"));
    json_decref(j);
    /* OCSF: JSON lines with class 2003. */
    ck_assert_int_eq(run(&out, &err, "export", "--format", "ocsf", "--status", "FAIL", NULL), 0);
    {
        json_t *line = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
        ck_assert_ptr_nonnull(line);
        ck_assert_int_eq(json_integer_value(json_object_get(line, "class_uid")), 2003);
        json_decref(line);
    }
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "export", "--format", "asff", "--status", "FAIL", NULL), 0);
    {
        json_t *batch = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
        ck_assert_ptr_nonnull(batch);
        ck_assert(json_is_array(json_object_get(batch, "Findings")));
        ck_assert_str_eq(json_string_value(json_path_get(batch, "Findings[0].SchemaVersion")),
                         "2018-10-08");
        json_decref(batch);
    }
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "export", "--format", "csv", "--file", csv, NULL), 0);
    text = tu_read_file(csv);
    ck_assert(str_has_prefix(text, "time,control_id,title,severity,status"));
    free(text);
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "export", "--format", "xml", NULL), 2);
    ck_assert_msg(strstr(err, "--format: expected ocsf, asff or csv"), "%s", err);
    free(out);
    free(err);

    j = run_json("events", "--since", "1h", NULL);
    ck_assert_int_ge((int)json_array_size(j), 1);
    c = json_array_get(j, 0);
    ck_assert(json_is_string(json_object_get(c, "id")) &&
              json_is_string(json_object_get(c, "kind")) &&
              json_is_string(json_object_get(c, "dedupe_key")) &&
              json_is_string(json_object_get(c, "severity")) && json_object_get(c, "resource") &&
              json_is_string(json_object_get(c, "created_at")) &&
              json_is_array(json_object_get(c, "deliveries")));
    json_decref(j);
    j = run_json("status", NULL);
    ck_assert(json_is_object(json_object_get(j, "daemon")));
    ck_assert_int_ge((int)json_array_size(json_object_get(j, "collectors")), 1);
    ck_assert_int_ge(json_integer_value(json_path_get(j, "drift.total")), 2);
    ck_assert_int_eq((int)json_array_size(json_object_get(j, "states")), 1);
    json_decref(j);
    ck_assert_int_eq(run(&out, &err, "status", NULL), 0);
    ck_assert_msg(strstr(out, "daemon:   never started") && strstr(out, "state sources:"), "%s",
                  out);
    free(out);
    free(err);
    free(csv);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_unchecked_fixture(tc, suite_up, suite_down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, scan_once_without_config);
    tcase_add_test(tc, exit_codes);
    tcase_add_test(tc, resources_and_history);
    tcase_add_test(tc, drift_findings_posture);
    tcase_add_test(tc, controls_export_events_status);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
