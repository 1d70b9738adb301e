/* The security collectors (s3, iam, kms, cloudtrail, configservice,
 * guardduty, logs) against moto_server, through the real AWS client and
 * the pipeline into a real database: what was seeded comes back, an
 * unchanged cycle writes nothing, one changed attribute writes one version,
 * a deleted resource is tombstoned, and a restricted IAM policy makes
 * exactly the types it denies UNKNOWN.  The estate is tests/seed/sec.py. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "awsclient.h"
#include "collect.h"
#include "config.h"
#include "db.h"
#include "dbq.h"
#include "pipeline.h"
#include "snapshot.h"
#include "testutil.h"
#include "util.h"

#define US      "us-east-1"
#define EU      "eu-central-1"
#define ACCOUNT "123456789012"

static struct tu_moto moto;

/* The environment the client sees (injected, never the process's). */
static char env_endpoint[128];
static char env_key[128] = "AKIAPLUMBTEST0000000";
static char env_secret[128] = "plumbtestsecretplumbtestsecretplumbtest0";

static const char *test_getenv(const char *name)
{
    if (str_eq(name, "AWS_ENDPOINT_URL"))
        return env_endpoint;
    if (str_eq(name, "AWS_ACCESS_KEY_ID"))
        return env_key;
    if (str_eq(name, "AWS_SECRET_ACCESS_KEY"))
        return env_secret;
    if (str_eq(name, "AWS_REGION"))
        return US;
    if (str_eq(name, "AWS_CONFIG_FILE") || str_eq(name, "AWS_SHARED_CREDENTIALS_FILE"))
        return "/dev/null";
    if (str_eq(name, "AWS_EC2_METADATA_DISABLED"))
        return "true";
    return NULL;
}

struct env {
    uv_loop_t loop;
    struct config *cfg;
    struct db *db;
    struct dbq *q;
    struct aws_client *aws;
    struct pipeline *p;
    char *tmp;
    char *path;
    int prepared;
    struct perr prepare_err;
    int cycles;
    int result;
    struct pipeline_cycle last;
    json_t *unknown;
    bool closed;
};

static void on_prepared(int result, const struct perr *err, void *ud)
{
    struct env *e = ud;
    e->prepared = result == 0 ? 1 : -1;
    if (err)
        e->prepare_err = *err;
}

static void on_cycle(int result, const struct pipeline_cycle *c, const struct perr *err, void *ud)
{
    struct env *e = ud;
    e->result = result;
    e->last = *c;
    json_decref(e->unknown);
    e->unknown = json_incref(c->unknown);
    e->cycles++;
}

static void env_init(struct env *e)
{
    struct perr err = { 0 };
    struct pipeline_options po = { 0 };
    struct aws_client_options ao = { 0 };
    memset(e, 0, sizeof(*e));
    snprintf(env_endpoint, sizeof(env_endpoint), "%s", moto.endpoint);
    e->tmp = tu_tmpdir();
    e->path = tu_path_join(e->tmp, "plumb.db");
    ck_assert_int_eq(uv_loop_init(&e->loop), 0);
    ck_assert_msg(config_load_string("it", "[plumb]\nregions = us-east-1, eu-central-1\n", NULL,
                                     &e->cfg, &err, NULL) == 0,
                  "config: %s", err.msg);
    ck_assert_msg(db_open(e->path, DB_READWRITE, &e->db, &err) == 0, "db: %s", err.msg);
    ck_assert_int_eq(dbq_new(&e->loop, e->db, &e->q), 0);
    ao.loop = &e->loop;
    ao.getenv = test_getenv;
    ao.max_attempts = 2;
    ao.budget_share = 1.0;
    ck_assert_msg(aws_client_new(&ao, &e->aws, &err) == 0, "client: %s", err.msg);
    po.loop = &e->loop;
    po.cfg = e->cfg;
    po.aws = e->aws;
    po.dbq = e->q;
    po.getenv = test_getenv;
    ck_assert_msg(pipeline_new(&po, &e->p, &err) == 0, "pipeline: %s", err.msg);
    ck_assert_int_eq(pipeline_prepare(e->p, on_prepared, e), 0);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert_msg(e->prepared == 1, "prepare: %s", e->prepare_err.msg);
    ck_assert_str_eq(pipeline_account(e->p, 0)->id, ACCOUNT);
}

static void run(struct env *e, const char *collector)
{
    struct perr err = { 0 };
    int before = e->cycles;
    ck_assert_msg(pipeline_collect(e->p, collector, on_cycle, e, &err) == 0, "%s: %s", collector,
                  err.msg);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(e->cycles, before + 1);
    ck_assert_msg(e->result == 0, "%s cycle failed", collector);
}

static void closed(void *ud)
{
    ((struct env *)ud)->closed = true;
}

static void nothing(void *ud)
{
}

static void env_end(struct env *e)
{
    pipeline_close(e->p, closed, e);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert(e->closed);
    aws_client_close(e->aws, nothing, NULL);
    dbq_close(e->q, nothing, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&e->loop), 0);
    json_decref(e->unknown);
    config_free(e->cfg);
    tu_rmrf(e->tmp);
    free(e->tmp);
    free(e->path);
}

/* ---- reading what was written ---- */

struct found {
    json_t *docs; /* key -> document */
};

static int collect_doc(const struct resource *r, int64_t first_seen, int64_t changed_at,
                       int64_t deleted_at, void *ud)
{
    struct found *f = ud;
    char *key = resource_key(r);
    json_object_set_new(f->docs, key, resource_to_json(r));
    free(key);
    return 0;
}

/* Current documents of a type (any region), keyed "account/region/type/id". */
static json_t *docs_of(struct env *e, const char *type)
{
    struct db *rd = NULL;
    struct perr err = { 0 };
    struct snapshot_filter filter = { .type = type };
    struct found f = { json_object() };
    ck_assert_int_eq(db_open(e->path, DB_READONLY, &rd, &err), 0);
    ck_assert_int_eq(snapshot_foreach(rd, &filter, collect_doc, &f, &err), 0);
    db_close(rd);
    return f.docs;
}

static const json_t *doc(const json_t *docs, const char *region, const char *type, const char *id)
{
    char *key = resource_key_make(ACCOUNT, region, type, id);
    const json_t *d = json_object_get(docs, key);
    ck_assert_msg(d != NULL, "no document %s", key);
    free(key);
    return d;
}

static const json_t *attr(const json_t *d, const char *name)
{
    return json_object_get(json_object_get(d, "attributes"), name);
}

static const char *attr_str(const json_t *d, const char *name)
{
    return json_string_value(attr(d, name));
}

static const char *tag(const json_t *d, const char *name)
{
    return json_string_value(json_object_get(json_object_get(d, "tags"), name));
}

static void assert_no_unknown(struct env *e, const char *collector)
{
    char *text = json_dumps(e->unknown, JSON_COMPACT);
    ck_assert_msg(json_array_size(e->unknown) == 0, "%s: unknown %s", collector, text);
    ck_assert_str_eq(e->last.status, "ok");
    free(text);
}

static json_t *seed(const char *what)
{
    const char *args[] = { what, NULL };
    char *out = tu_moto_seed(&moto, "sec.py", args);
    json_t *j = json_loads(out, 0, NULL);
    ck_assert_msg(j != NULL, "seed %s printed %s", what, out);
    free(out);
    return j;
}

static void moto_up(void)
{
    tu_moto_start(&moto);
}

static void moto_down(void)
{
    tu_moto_stop(&moto);
}

static void fresh(void)
{
    tu_moto_auth(&moto, false);
    tu_moto_reset(&moto);
}

static const char *const collectors[] = { "s3",        "iam",  "kms", "cloudtrail", "configservice",
                                          "guardduty", "logs", NULL };

START_TEST(estate_cycles)
{
    struct env e;
    json_t *estate = seed("seed"), *docs, *changes;
    const json_t *d;
    int64_t seen[8];

    env_init(&e);
    for (size_t i = 0; collectors[i]; i++) {
        run(&e, collectors[i]);
        assert_no_unknown(&e, collectors[i]);
        ck_assert_msg(e.last.snap.versions_written > 0, "%s wrote nothing", collectors[i]);
        seen[i] = e.last.snap.resources_seen;
    }

    /* S3: three buckets in their own regions, split resources, account block. */
    docs = docs_of(&e, "aws_s3_bucket");
    ck_assert_int_eq((int)json_object_size(docs), 3);
    d = doc(docs, EU, "aws_s3_bucket", "plumb-sec-logs");
    ck_assert_str_eq(attr_str(d, "region"), EU);
    ck_assert_str_eq(tag(d, "purpose"), "logs");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(attr(d, "lifecycle_rule"), 0), "id")),
        "expire-logs");
    d = doc(docs, US, "aws_s3_bucket", "plumb-sec-data");
    ck_assert_str_eq(tag(d, "env"), "prod");
    json_decref(docs);
    docs = docs_of(&e, "aws_s3_bucket_server_side_encryption_configuration");
    ck_assert_int_eq((int)json_object_size(docs), 2);
    json_decref(docs);
    docs = docs_of(&e, "aws_s3_bucket_policy");
    ck_assert_int_eq((int)json_object_size(docs), 1);
    ck_assert_ptr_nonnull(
        strstr(attr_str(doc(docs, EU, "aws_s3_bucket_policy", "plumb-sec-logs"), "policy"),
               "aws:SecureTransport"));
    json_decref(docs);
    docs = docs_of(&e, "aws_s3_bucket_versioning");
    ck_assert_int_eq((int)json_object_size(docs), 2);
    json_decref(docs);
    docs = docs_of(&e, "aws_s3_bucket_logging");
    ck_assert_str_eq(
        attr_str(doc(docs, US, "aws_s3_bucket_logging", "plumb-sec-data"), "target_bucket"),
        "plumb-sec-access-logs");
    json_decref(docs);
    docs = docs_of(&e, "aws_s3_account_public_access_block");
    d = doc(docs, "global", "aws_s3_account_public_access_block", ACCOUNT);
    ck_assert(json_is_false(attr(d, "restrict_public_buckets")));
    ck_assert(json_is_true(attr(d, "block_public_acls")));
    json_decref(docs);

    /* IAM. */
    docs = docs_of(&e, "aws_iam_user");
    ck_assert_int_eq((int)json_object_size(docs), 2);
    ck_assert_str_eq(attr_str(doc(docs, "global", "aws_iam_user", "alice"), "path"), "/staff/");
    json_decref(docs);
    docs = docs_of(&e, "aws_iam_access_key");
    ck_assert_int_eq((int)json_object_size(docs), 3);
    json_decref(docs);
    docs = docs_of(&e, "aws_iam_role");
    d = doc(docs, "global", "aws_iam_role", "plumb-app");
    ck_assert_int_eq((int)json_integer_value(attr(d, "max_session_duration")), 7200);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(attr(d, "inline_policy"), 0), "name")),
        "read-logs");
    json_decref(docs);
    docs = docs_of(&e, "aws_iam_policy");
    ck_assert_int_eq((int)json_object_size(docs), 1);
    json_decref(docs);
    docs = docs_of(&e, "aws_iam_virtual_mfa_device");
    ck_assert_int_eq((int)json_object_size(docs), 2);
    json_decref(docs);
    docs = docs_of(&e, "aws_iam_account_password_policy");
    ck_assert_int_eq(
        (int)json_integer_value(attr(
            doc(docs, "global", "aws_iam_account_password_policy", "iam-account-password-policy"),
            "minimum_password_length")),
        14);
    json_decref(docs);
    docs = docs_of(&e, "plumb_iam_credential_report");
    d = doc(docs, "global", "plumb_iam_credential_report", "alice");
    ck_assert(json_is_true(attr(d, "mfa_active")));
    ck_assert(json_is_true(attr(d, "password_enabled")));
    json_decref(docs);
    docs = docs_of(&e, "plumb_iam_account_summary");
    ck_assert_int_eq((int)json_object_size(docs), 1);
    json_decref(docs);

    /* KMS in eu-central-1: three customer keys, the alias. */
    docs = docs_of(&e, "aws_kms_key");
    d = doc(docs, EU, "aws_kms_key",
            json_string_value(json_object_get(json_object_get(estate, "kms"), "logs")));
    ck_assert(json_is_true(attr(d, "enable_key_rotation")));
    ck_assert_str_eq(attr_str(d, "key_manager"), "CUSTOMER");
    ck_assert_str_eq(tag(d, "team"), "security");
    json_decref(docs);
    docs = docs_of(&e, "aws_kms_alias");
    ck_assert_str_eq(attr_str(doc(docs, EU, "aws_kms_alias", "alias/plumb-logs"), "target_key_id"),
                     json_string_value(json_object_get(json_object_get(estate, "kms"), "logs")));
    json_decref(docs);

    /* CloudTrail: each trail once, in its home region. */
    docs = docs_of(&e, "aws_cloudtrail");
    ck_assert_int_eq((int)json_object_size(docs), 2);
    d = doc(docs, EU, "aws_cloudtrail", "plumb-main");
    ck_assert(json_is_true(attr(d, "enable_logging")));
    ck_assert(json_is_true(attr(d, "is_multi_region_trail")));
    ck_assert_str_eq(tag(d, "team"), "security");
    d = doc(docs, US, "aws_cloudtrail", "plumb-local");
    ck_assert_int_eq((int)json_array_size(attr(d, "advanced_event_selector")), 1);
    json_decref(docs);

    /* Config, GuardDuty, Logs. */
    docs = docs_of(&e, "aws_config_configuration_recorder_status");
    ck_assert(json_is_true(
        attr(doc(docs, EU, "aws_config_configuration_recorder_status", "default"), "is_enabled")));
    json_decref(docs);
    docs = docs_of(&e, "aws_guardduty_detector");
    ck_assert_int_eq((int)json_object_size(docs), 1);
    d = doc(docs, EU, "aws_guardduty_detector",
            json_string_value(json_object_get(json_object_get(estate, "guardduty"), EU)));
    ck_assert_str_eq(attr_str(d, "finding_publishing_frequency"), "FIFTEEN_MINUTES");
    json_decref(docs);
    docs = docs_of(&e, "aws_cloudwatch_log_group");
    ck_assert_int_eq((int)json_object_size(docs), 3);
    ck_assert_int_eq(
        (int)json_integer_value(
            attr(doc(docs, EU, "aws_cloudwatch_log_group", "/plumb/trail"), "retention_in_days")),
        400);
    json_decref(docs);

    /* Unchanged: the same documents, no version written. */
    for (size_t i = 0; collectors[i]; i++) {
        run(&e, collectors[i]);
        assert_no_unknown(&e, collectors[i]);
        ck_assert_msg(e.last.snap.versions_written == 0, "%s: %lld versions on an unchanged cycle",
                      collectors[i], (long long)e.last.snap.versions_written);
        ck_assert_int_eq(e.last.snap.resources_seen, seen[i]);
    }

    /* One attribute of one resource per collector: one version each. */
    changes = seed("change");
    for (size_t i = 0; collectors[i]; i++) {
        run(&e, collectors[i]);
        ck_assert_msg(json_object_get(changes, collectors[i]), "no change for %s", collectors[i]);
        ck_assert_msg(e.last.snap.versions_written == 1, "%s: %lld versions after \"%s\"",
                      collectors[i], (long long)e.last.snap.versions_written,
                      json_string_value(json_object_get(changes, collectors[i])));
        ck_assert_int_eq(e.last.snap.tombstones, 0);
    }
    docs = docs_of(&e, "aws_cloudtrail");
    ck_assert(json_is_false(attr(doc(docs, EU, "aws_cloudtrail", "plumb-main"), "enable_logging")));
    json_decref(docs);

    /* A deleted log group is tombstoned. */
    json_decref(seed("delete"));
    run(&e, "logs");
    ck_assert_int_eq(e.last.snap.tombstones, 1);
    ck_assert_int_eq(e.last.snap.versions_written, 0);
    docs = docs_of(&e, "aws_cloudwatch_log_group");
    ck_assert_int_eq((int)json_object_size(docs), 2);
    json_decref(docs);

    env_end(&e);
    json_decref(estate);
    json_decref(changes);
}
END_TEST

/* The cycle's unknown scopes are exactly these types, in these regions,
 * each with status (NULL: any failure) and a detail naming action. */
static void assert_unknown(struct env *e, const char *collector, const char *type,
                           const char *const *regions, const char *status, const char *action)
{
    char *text = json_dumps(e->unknown, JSON_COMPACT);
    size_t n = 0;
    while (regions[n])
        n++;
    ck_assert_msg(json_array_size(e->unknown) == n, "%s: unknown %s", collector, text);
    for (size_t r = 0; regions[r]; r++) {
        bool found = false;
        size_t i;
        json_t *u;
        json_array_foreach (e->unknown, i, u) {
            const char *detail = json_string_value(json_object_get(u, "detail"));
            if (!str_eq(json_string_value(json_object_get(u, "type")), type) ||
                !str_eq(json_string_value(json_object_get(u, "region")), regions[r]))
                continue;
            found = (!status || str_eq(json_string_value(json_object_get(u, "status")), status)) &&
                    detail && strstr(detail, action);
        }
        ck_assert_msg(found, "%s: no %s unknown in %s naming %s: %s", collector, type, regions[r],
                      action, text);
    }
    /* "partial", or "failed" when the collector has no other type. */
    ck_assert_str_ne(e->last.status, "ok");
    free(text);
}

START_TEST(restricted_policy)
{
    struct env e;
    json_t *estate = seed("seed"), *user = seed("restricted-user"), *docs;
    static const char *const both[] = { US, EU, NULL };
    const char *k;
    json_t *d;
    snprintf(env_key, sizeof(env_key), "%s",
             json_string_value(json_object_get(user, "AccessKeyId")));
    snprintf(env_secret, sizeof(env_secret), "%s",
             json_string_value(json_object_get(user, "SecretAccessKey")));
    tu_moto_auth(&moto, true);
    env_init(&e);

    /* Denied s3:GetBucketPolicy: every bucket's policy is unknown, the
     * listing and everything else are fine. */
    run(&e, "s3");
    assert_no_unknown(&e, "s3");
    docs = docs_of(&e, "aws_s3_bucket_policy");
    ck_assert_int_eq((int)json_object_size(docs), 3);
    json_object_foreach (docs, k, d)
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "unknown"), "*")),
                         "access_denied:s3:GetBucketPolicy");
    json_decref(docs);
    docs = docs_of(&e, "aws_s3_bucket");
    json_object_foreach (docs, k, d) {
        ck_assert_str_eq(
            json_string_value(json_object_get(json_object_get(d, "unknown"), "policy")),
            "access_denied:s3:GetBucketPolicy");
        {
            char *u = json_dumps(json_object_get(d, "unknown"), JSON_COMPACT);
            ck_assert_msg(json_object_size(json_object_get(d, "unknown")) == 1, "%s: %s", k, u);
            free(u);
        }
    }
    json_decref(docs);

    /* Denied iam:GetAccountPasswordPolicy: exactly that type. */
    run(&e, "iam");
    assert_unknown(&e, "iam", "aws_iam_account_password_policy",
                   (const char *const[]){ "global", NULL }, "access_denied",
                   "iam:GetAccountPasswordPolicy");

    /* The JSON services next: moto answers their denials with a query-XML
     * body the client cannot classify, so the scopes say "error" where AWS
     * would give "access_denied" -- UNKNOWN all the same, and the detail
     * still names the action. */

    /* Denied kms:ListAliases: aliases in both regions, keys are fine. */
    run(&e, "kms");
    assert_unknown(&e, "kms", "aws_kms_alias", both, NULL, "kms:ListAliases");

    /* Denied cloudtrail:DescribeTrails: trails in both regions. */
    run(&e, "cloudtrail");
    assert_unknown(&e, "cloudtrail", "aws_cloudtrail", both, NULL, "cloudtrail:DescribeTrails");

    /* Denied config:DescribeDeliveryChannels: channels only. */
    run(&e, "configservice");
    assert_unknown(&e, "configservice", "aws_config_delivery_channel", both, NULL,
                   "config:DescribeDeliveryChannels");

    /* Nothing denied for log groups. */
    run(&e, "logs");
    assert_no_unknown(&e, "logs");

    env_end(&e);
    tu_moto_auth(&moto, false);
    snprintf(env_key, sizeof(env_key), "AKIAPLUMBTEST0000000");
    snprintf(env_secret, sizeof(env_secret), "plumbtestsecretplumbtestsecretplumbtest0");
    json_decref(estate);
    json_decref(user);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("it-collect-sec");
    TCase *tc = tcase_create("it-collect-sec");
    tcase_add_unchecked_fixture(tc, moto_up, moto_down);
    tcase_add_checked_fixture(tc, fresh, NULL);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, estate_cycles);
    tcase_add_test(tc, restricted_policy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
