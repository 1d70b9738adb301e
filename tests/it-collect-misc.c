/* Integration test of the "misc" collector group against moto: the real
 * collectors, the real AWS client and lib/pipeline.h writing snapshots to
 * a real database.  moto lacks Access Analyzer and Incident Manager (their
 * collectors are covered by unit tests only), Security Hub's
 * GetEnabledStandards and Backup's ListRecoveryPointsByBackupVault; what
 * that means here is asserted as such. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "awsclient.h"
#include "config.h"
#include "db.h"
#include "dbq.h"
#include "pipeline.h"
#include "snapshot.h"
#include "testutil.h"
#include "util.h"

#define REGION  "eu-central-1"
#define ACCOUNT "123456789012"

static struct tu_moto moto;

/* The environment the client and pipeline see (tests only). */
static char env_key[64], env_secret[96];

static const char *test_getenv(const char *name)
{
    if (str_eq(name, "AWS_ACCESS_KEY_ID"))
        return env_key;
    if (str_eq(name, "AWS_SECRET_ACCESS_KEY"))
        return env_secret;
    if (str_eq(name, "AWS_REGION") || str_eq(name, "AWS_DEFAULT_REGION"))
        return REGION;
    if (str_eq(name, "AWS_EC2_METADATA_DISABLED"))
        return "true";
    if (str_eq(name, "AWS_CONFIG_FILE") || str_eq(name, "AWS_SHARED_CREDENTIALS_FILE"))
        return "/dev/null";
    return NULL;
}

struct cycle {
    bool done;
    int result;
    char status[16];
    struct snapshot_stats snap;
    json_t *unknown;
    char err[512];
};

struct harness {
    uv_loop_t loop;
    char *dir, *dbpath;
    struct config *cfg;
    struct dbq *q;
    struct aws_client *aws;
    struct pipeline *p;
    bool prepared;
    int prep_result;
    char prep_err[512];
    int closing;
};

static void moto_up(void)
{
    tu_moto_start(&moto);
}

static void moto_down(void)
{
    tu_moto_stop(&moto);
}

static void prepared(int result, const struct perr *err, void *ud)
{
    struct harness *h = ud;
    h->prepared = true;
    h->prep_result = result;
    if (err)
        snprintf(h->prep_err, sizeof(h->prep_err), "%s", err->msg);
}

static void h_open(struct harness *h, const char *key, const char *secret)
{
    struct perr err = { 0 };
    struct db *db = NULL;
    struct aws_client_options ao = { 0 };
    struct pipeline_options po = { 0 };
    char *text;

    memset(h, 0, sizeof(*h));
    snprintf(env_key, sizeof(env_key), "%s", key);
    snprintf(env_secret, sizeof(env_secret), "%s", secret);
    h->dir = tu_tmpdir();
    h->dbpath = tu_path_join(h->dir, "plumb.db");
    text = str_printf("[plumb]\ndatabase = %s\nregions = " REGION "\nendpoint_url = %s\n"
                      "max_attempts = 1\nhttp_timeout = 30s\n",
                      h->dbpath, moto.endpoint);
    ck_assert_msg(config_load_string("it.conf", text, NULL, &h->cfg, &err, NULL) == 0, "%s",
                  err.msg);
    free(text);
    ck_assert_int_eq(uv_loop_init(&h->loop), 0);
    ck_assert_msg(db_open(h->dbpath, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dbq_new(&h->loop, db, &h->q), 0);
    ao.loop = &h->loop;
    ao.getenv = test_getenv;
    ao.endpoint_url = h->cfg->endpoint_url;
    ao.max_attempts = 1;
    ck_assert_msg(aws_client_new(&ao, &h->aws, &err) == 0, "%s", err.msg);
    po.loop = &h->loop;
    po.cfg = h->cfg;
    po.aws = h->aws;
    po.dbq = h->q;
    po.getenv = test_getenv;
    ck_assert_msg(pipeline_new(&po, &h->p, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pipeline_prepare(h->p, prepared, h), 0);
    while (!h->prepared)
        uv_run(&h->loop, UV_RUN_ONCE);
    ck_assert_msg(h->prep_result == 0, "prepare: %s", h->prep_err);
    ck_assert_str_eq(pipeline_account(h->p, 0)->id, ACCOUNT);
}

static void q_closed(void *ud)
{
    struct harness *h = ud;
    h->closing--;
}

static void aws_closed(void *ud)
{
    struct harness *h = ud;
    dbq_close(h->q, q_closed, h);
}

static void p_closed(void *ud)
{
    struct harness *h = ud;
    aws_client_close(h->aws, aws_closed, h);
}

static void h_close(struct harness *h)
{
    h->closing = 1;
    pipeline_close(h->p, p_closed, h);
    while (h->closing > 0)
        uv_run(&h->loop, UV_RUN_ONCE);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&h->loop), 0);
    config_free(h->cfg);
    tu_rmrf(h->dir);
    free(h->dir);
    free(h->dbpath);
}

static void cycle_done(int result, const struct pipeline_cycle *c, const struct perr *err, void *ud)
{
    struct cycle *out = ud;
    out->done = true;
    out->result = result;
    if (c) {
        snprintf(out->status, sizeof(out->status), "%s", c->status ? c->status : "");
        out->snap = c->snap;
        out->unknown = c->unknown ? json_deep_copy(c->unknown) : json_array();
    }
    if (err)
        snprintf(out->err, sizeof(out->err), "%s", err->msg);
}

/* Run one collector everywhere; the cycle's figures in *c. */
static void h_collect(struct harness *h, const char *collector, struct cycle *c)
{
    struct perr err = { 0 };
    memset(c, 0, sizeof(*c));
    ck_assert_msg(pipeline_collect(h->p, collector, cycle_done, c, &err) == 0, "%s: %s", collector,
                  err.msg);
    while (!c->done)
        uv_run(&h->loop, UV_RUN_ONCE);
    ck_assert_msg(c->result == 0, "%s: %s", collector, c->err);
}

/* The one unknown scope of a cycle with exactly one. */
static const char *only_unknown(const struct cycle *c, const char **status)
{
    const json_t *u;
    char *dump = json_dumps(c->unknown, JSON_COMPACT);
    ck_assert_msg(json_array_size(c->unknown) == 1, "unknown scopes: %s", dump);
    free(dump);
    u = json_array_get(c->unknown, 0);
    *status = json_string_value(json_object_get(u, "status"));
    return json_string_value(json_object_get(u, "type"));
}

static void clean_cycle(const struct cycle *c, const char *collector)
{
    ck_assert_msg(str_eq(c->status, "ok"), "%s: cycle %s", collector, c->status);
    ck_assert_int_eq((int)json_array_size(c->unknown), 0);
}

/* Reading the database with a connection of our own. */
struct count {
    int n;
    int deleted;
};

static int count_cb(const struct resource *r, int64_t first_seen, int64_t changed_at,
                    int64_t deleted_at, void *ud)
{
    struct count *c = ud;
    (void)r;
    (void)first_seen;
    (void)changed_at;
    if (deleted_at > 0)
        c->deleted++;
    else
        c->n++;
    return 0;
}

static struct count db_count(struct harness *h, const char *type)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    struct count c = { 0 };
    struct snapshot_filter f = { .type = type, .include_deleted = true };
    ck_assert_msg(db_open(h->dbpath, DB_READONLY, &db, &err) == 0, "%s", err.msg);
    ck_assert_msg(snapshot_foreach(db, &f, count_cb, &c, &err) == 0, "%s", err.msg);
    db_close(db);
    return c;
}

static struct resource *db_get(struct harness *h, const char *region, const char *type,
                               const char *id)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    struct resource *r = NULL;
    char *key = NULL;
    char *what = resource_key_make(ACCOUNT, region, type, id);
    ck_assert_msg(db_open(h->dbpath, DB_READONLY, &db, &err) == 0, "%s", err.msg);
    ck_assert_msg(snapshot_get(db, what, &r, &key, &err) == 0, "%s: %s", what, err.msg);
    ck_assert_str_eq(r->type, type);
    db_close(db);
    free(key);
    free(what);
    return r;
}

static enum collect_status db_coverage(struct harness *h, const char *region, const char *type,
                                       char **detail)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    enum collect_status st;
    ck_assert_msg(db_open(h->dbpath, DB_READONLY, &db, &err) == 0, "%s", err.msg);
    ck_assert_msg(snapshot_coverage(db, ACCOUNT, region, type, &st, detail, &err) == 0, "%s",
                  err.msg);
    db_close(db);
    return st;
}

static const char *attr_str(const struct resource *r, const char *name)
{
    return json_string_value(json_object_get(r->attrs, name));
}

static json_t *seed(void)
{
    static const char *const args[] = { "seed", NULL };
    char *out = tu_moto_seed(&moto, "misc.py", args);
    json_t *v = json_loads(out, 0, NULL);
    ck_assert_msg(v != NULL, "seed output: %s", out);
    free(out);
    return v;
}

static const char *const all_collectors[] = {
    "rds",     "backup",      "acm",    "account", "athena",
    "bedrock", "securityhub", "events", "appsync", NULL,
};

START_TEST(seeded_estate_and_cycles)
{
    static const char *const change[] = { "change", NULL };
    static const char *const del[] = { "delete", NULL };
    struct harness h;
    struct cycle c;
    struct resource *r;
    const char *status = NULL;
    char *detail = NULL;
    json_t *seeded;

    tu_moto_reset(&moto);
    seeded = seed();
    h_open(&h, "AKIAPLUMBTEST0000000", "plumbtestsecretplumbtestsecretplumbtest0");

    /* rds */
    h_collect(&h, "rds", &c);
    clean_cycle(&c, "rds");
    ck_assert_int_eq(db_count(&h, "aws_db_instance").n, 2);
    ck_assert_int_eq(db_count(&h, "aws_rds_cluster").n, 1);
    ck_assert_int_eq((int)c.snap.versions_written, 3);
    r = db_get(&h, REGION, "aws_db_instance", "app-db");
    ck_assert_str_eq(r->region, REGION);
    ck_assert_str_eq(r->arn, "arn:aws:rds:" REGION ":" ACCOUNT ":db:app-db");
    ck_assert(json_is_true(json_object_get(r->attrs, "storage_encrypted")));
    ck_assert_int_eq(json_integer_value(json_object_get(r->attrs, "backup_retention_period")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "data");
    resource_free(r);
    r = db_get(&h, REGION, "aws_db_instance", "legacy");
    ck_assert(json_is_false(json_object_get(r->attrs, "storage_encrypted")));
    resource_free(r);
    json_decref(c.unknown);

    /* backup: moto counts no recovery points, so none are listed. */
    h_collect(&h, "backup", &c);
    clean_cycle(&c, "backup");
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_backup_plan").n, 1);
    ck_assert_int_eq(db_count(&h, "aws_backup_vault").n, 1);
    ck_assert_int_eq(db_count(&h, "aws_backup_report_plan").n, 1);
    ck_assert_int_eq(db_count(&h, "plumb_backup_recovery_point").n, 0);
    ck_assert_int_eq(db_coverage(&h, REGION, "plumb_backup_recovery_point", &detail), COLLECT_OK);
    free(detail);
    r = db_get(&h, REGION, "aws_backup_plan",
               json_string_value(json_object_get(seeded, "plan_id")));
    ck_assert_str_eq(attr_str(r, "name"), "daily");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r->attrs, "rule"), 0), "schedule")),
                     "cron(0 5 ? * * *)");
    resource_free(r);

    /* acm: both key types listed, the 1024-bit one included. */
    h_collect(&h, "acm", &c);
    clean_cycle(&c, "acm");
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_acm_certificate").n, 2);
    r = db_get(&h, REGION, "aws_acm_certificate",
               json_string_value(json_array_get(json_object_get(seeded, "certificates"), 1)));
    ck_assert_str_eq(attr_str(r, "key_algorithm"), "RSA_1024");
    ck_assert_str_eq(attr_str(r, "type"), "IMPORTED");
    resource_free(r);
    r = db_get(&h, REGION, "aws_acm_certificate",
               json_string_value(json_array_get(json_object_get(seeded, "certificates"), 0)));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(r->attrs, "options"), 0),
                                          "certificate_transparency_logging_preference")),
        "DISABLED");
    resource_free(r);

    /* account (global) */
    h_collect(&h, "account", &c);
    clean_cycle(&c, "account");
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_account_alternate_contact").n, 1);
    r = db_get(&h, "global", "aws_account_alternate_contact", "SECURITY");
    ck_assert_str_eq(r->region, "global");
    ck_assert_str_eq(attr_str(r, "email_address"), "security@example.com");
    resource_free(r);

    /* athena: the primary work group and the seeded one. */
    h_collect(&h, "athena", &c);
    clean_cycle(&c, "athena");
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_athena_workgroup").n, 2);
    r = db_get(&h, REGION, "aws_athena_workgroup", "analytics");
    ck_assert_str_eq(r->arn, "arn:aws:athena:" REGION ":" ACCOUNT ":workgroup/analytics");
    ck_assert(
        json_is_true(json_object_get(json_array_get(json_object_get(r->attrs, "configuration"), 0),
                                     "enforce_workgroup_configuration")));
    resource_free(r);

    /* bedrock */
    h_collect(&h, "bedrock", &c);
    clean_cycle(&c, "bedrock");
    json_decref(c.unknown);
    r = db_get(&h, REGION, "aws_bedrock_model_invocation_logging_configuration", REGION);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(r->attrs, "logging_config"), 0),
                                "s3_config"),
                0),
            "bucket_name")),
        "bedrock-logs");
    resource_free(r);

    /* securityhub: the hub is read; moto has no GetEnabledStandards, so
     * exactly the standards are unknown. */
    h_collect(&h, "securityhub", &c);
    ck_assert_str_eq(c.status, "partial");
    ck_assert_str_eq(only_unknown(&c, &status), "aws_securityhub_standards_subscription");
    ck_assert_str_eq(status, "error");
    json_decref(c.unknown);
    r = db_get(&h, REGION, "aws_securityhub_account", ACCOUNT);
    ck_assert_str_eq(r->arn, "arn:aws:securityhub:" REGION ":" ACCOUNT ":hub/default");
    resource_free(r);

    /* events */
    h_collect(&h, "events", &c);
    clean_cycle(&c, "events");
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_cloudwatch_event_rule").n, 3);
    ck_assert_int_eq(db_count(&h, "aws_cloudwatch_event_target").n, 2);
    r = db_get(&h, REGION, "aws_cloudwatch_event_target", "orders/created/queue");
    ck_assert_str_eq(attr_str(r, "rule"), "created");
    resource_free(r);
    r = db_get(&h, REGION, "aws_cloudwatch_event_rule", "nightly");
    ck_assert_str_eq(attr_str(r, "state"), "ENABLED");
    resource_free(r);

    /* appsync */
    h_collect(&h, "appsync", &c);
    clean_cycle(&c, "appsync");
    json_decref(c.unknown);
    r = db_get(&h, REGION, "aws_appsync_graphql_api",
               json_string_value(json_object_get(seeded, "api_id")));
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(r->attrs, "log_config"), 0), "field_log_level")),
        "ERROR");
    resource_free(r);

    /* A second, unchanged cycle writes nothing. */
    for (size_t i = 0; all_collectors[i]; i++) {
        h_collect(&h, all_collectors[i], &c);
        ck_assert_msg(c.snap.versions_written == 0, "%s wrote %d versions", all_collectors[i],
                      (int)c.snap.versions_written);
        ck_assert_msg(c.snap.tombstones == 0, "%s: %d tombstones", all_collectors[i],
                      (int)c.snap.tombstones);
        json_decref(c.unknown);
    }

    /* One changed attribute: exactly one version. */
    free(tu_moto_seed(&moto, "misc.py", change));
    h_collect(&h, "events", &c);
    ck_assert_int_eq((int)c.snap.versions_written, 1);
    ck_assert_int_eq((int)c.snap.tombstones, 0);
    json_decref(c.unknown);
    r = db_get(&h, REGION, "aws_cloudwatch_event_rule", "nightly");
    ck_assert_str_eq(attr_str(r, "state"), "DISABLED");
    resource_free(r);

    /* A deleted resource is tombstoned. */
    free(tu_moto_seed(&moto, "misc.py", del));
    h_collect(&h, "athena", &c);
    ck_assert_int_eq((int)c.snap.tombstones, 1);
    ck_assert_int_eq((int)c.snap.versions_written, 0);
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_athena_workgroup").n, 1);
    ck_assert_int_eq(db_count(&h, "aws_athena_workgroup").deleted, 1);

    h_close(&h);
    json_decref(seeded);
}
END_TEST

START_TEST(restricted_policy)
{
    struct harness h;
    struct cycle c;
    const char *status = NULL;
    char *detail = NULL;
    json_t *seeded;
    const json_t *cred;

    tu_moto_reset(&moto);
    seeded = seed();
    cred = json_object_get(seeded, "restricted");
    tu_moto_auth(&moto, true);
    h_open(&h, json_string_value(json_object_get(cred, "key")),
           json_string_value(json_object_get(cred, "secret")));

    /* rds:DescribeDBClusters is denied: clusters are unknown, instances
     * read. */
    h_collect(&h, "rds", &c);
    ck_assert_str_eq(c.status, "partial");
    ck_assert_str_eq(only_unknown(&c, &status), "aws_rds_cluster");
    ck_assert_str_eq(status, "access_denied");
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_db_instance").n, 2);
    ck_assert_int_eq(db_count(&h, "aws_rds_cluster").n, 0);
    ck_assert_int_eq(db_coverage(&h, REGION, "aws_rds_cluster", &detail), COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(detail, "rds:DescribeDBClusters");
    free(detail);
    ck_assert_int_eq(db_coverage(&h, REGION, "aws_db_instance", &detail), COLLECT_OK);
    free(detail);

    /* events:ListTargetsByRule is denied: targets unknown, rules read. */
    h_collect(&h, "events", &c);
    ck_assert_str_eq(c.status, "partial");
    ck_assert_str_eq(only_unknown(&c, &status), "aws_cloudwatch_event_target");
    /* moto answers this JSON-protocol service's denial with an XML body
     * (real AWS: AccessDeniedException in JSON); the client reads a 403
     * without an error code as access denied, naming the action. */
    ck_assert_str_eq(status, "access_denied");
    ck_assert(strstr(json_string_value(json_object_get(json_array_get(c.unknown, 0), "detail")),
                     "events:ListTargetsByRule") != NULL);
    json_decref(c.unknown);
    ck_assert_int_eq(db_count(&h, "aws_cloudwatch_event_rule").n, 3);
    ck_assert_int_eq(db_count(&h, "aws_cloudwatch_event_target").n, 0);

    h_close(&h);
    tu_moto_auth(&moto, false);
    json_decref(seeded);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("it-collect-misc");
    TCase *tc = tcase_create("misc");
    tcase_add_unchecked_fixture(tc, moto_up, moto_down);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, seeded_estate_and_cycles);
    tcase_add_test(tc, restricted_policy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
