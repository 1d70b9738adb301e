/* Integration test of the "net" collectors (ec2, autoscaling, elb,
 * apigateway, cloudfront, appstream) against moto: the real collectors and
 * AWS client, lib/pipeline.h writing snapshots into a real database.
 *
 * moto lacks EC2 GetEbsDefaultKmsKeyId and GetInstanceMetadataDefaults and
 * all of AppStream: those scopes are asserted to be unknown (error), never
 * empty.  The estate is tests/seed/net.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "awsclient.h"
#include "config.h"
#include "db.h"
#include "dbq.h"
#include "jsonutil.h"
#include "pipeline.h"
#include "snapshot.h"
#include "testutil.h"
#include "util.h"

#define REGION  "eu-central-1"
#define ACCOUNT "123456789012"

static struct tu_moto moto;
static char key_id[64], secret_key[96];

/* What the client and the pipeline see of the environment. */
static const char *it_getenv(const char *name)
{
    if (str_eq(name, "AWS_ACCESS_KEY_ID"))
        return key_id;
    if (str_eq(name, "AWS_SECRET_ACCESS_KEY"))
        return secret_key;
    if (str_eq(name, "AWS_REGION") || str_eq(name, "AWS_DEFAULT_REGION"))
        return REGION;
    if (str_eq(name, "AWS_EC2_METADATA_DISABLED"))
        return "true";
    if (str_eq(name, "AWS_CONFIG_FILE") || str_eq(name, "AWS_SHARED_CREDENTIALS_FILE"))
        return "/dev/null";
    return NULL;
}

struct env {
    uv_loop_t loop;
    char *dir, *dbpath;
    struct config *cfg;
    struct dbq *q;
    struct aws_client *aws;
    struct pipeline *p;
    int pending;
    int prep_result;
    char prep_err[512];
};

struct cycle {
    bool done;
    int result;
    char status[16];
    struct snapshot_stats snap;
    struct aws_stats aws;
    json_t *unknown;
    char err[512];
};

static void on_prepared(int result, const struct perr *err, void *ud)
{
    struct env *e = ud;
    e->pending = 0;
    e->prep_result = result;
    if (err)
        snprintf(e->prep_err, sizeof(e->prep_err), "%s", err->msg);
}

static void env_open(struct env *e, const char *key, const char *secret)
{
    struct perr err = { 0 };
    struct db *db = NULL;
    struct aws_client_options ao = { 0 };
    struct pipeline_options po = { 0 };
    char *conf;

    memset(e, 0, sizeof(*e));
    snprintf(key_id, sizeof(key_id), "%s", key);
    snprintf(secret_key, sizeof(secret_key), "%s", secret);
    e->dir = tu_tmpdir();
    e->dbpath = tu_path_join(e->dir, "plumb.db");
    conf = str_printf("[plumb]\ndatabase = %s\nregions = " REGION "\nendpoint_url = %s\n"
                      "max_attempts = 1\n",
                      e->dbpath, moto.endpoint);
    ck_assert_msg(config_load_string("it-collect-net.conf", conf, NULL, &e->cfg, &err, NULL) == 0,
                  "%s", err.msg);
    free(conf);
    ck_assert_int_eq(uv_loop_init(&e->loop), 0);
    ck_assert_msg(db_open(e->dbpath, DB_READWRITE, &db, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dbq_new(&e->loop, db, &e->q), 0);
    ao.loop = &e->loop;
    ao.getenv = it_getenv;
    ao.endpoint_url = e->cfg->endpoint_url;
    ao.max_attempts = 1;
    ck_assert_msg(aws_client_new(&ao, &e->aws, &err) == 0, "%s", err.msg);
    po.loop = &e->loop;
    po.cfg = e->cfg;
    po.aws = e->aws;
    po.dbq = e->q;
    po.getenv = it_getenv;
    ck_assert_msg(pipeline_new(&po, &e->p, &err) == 0, "%s", err.msg);
    e->pending = 1;
    ck_assert_int_eq(pipeline_prepare(e->p, on_prepared, e), 0);
    while (e->pending)
        uv_run(&e->loop, UV_RUN_ONCE);
    ck_assert_msg(e->prep_result == 0, "prepare: %s", e->prep_err);
    ck_assert_str_eq(pipeline_account(e->p, 0)->id, ACCOUNT);
}

static void dbq_closed(void *ud)
{
    ((struct env *)ud)->pending = 0;
}

static void aws_closed(void *ud)
{
    struct env *e = ud;
    dbq_close(e->q, dbq_closed, e);
}

static void pipeline_closed(void *ud)
{
    struct env *e = ud;
    aws_client_close(e->aws, aws_closed, e);
}

static void env_close(struct env *e)
{
    e->pending = 1;
    pipeline_close(e->p, pipeline_closed, e);
    while (e->pending)
        uv_run(&e->loop, UV_RUN_ONCE);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&e->loop), 0);
    config_free(e->cfg);
    tu_rmrf(e->dir);
    free(e->dir);
    free(e->dbpath);
}

static void on_cycle(int result, const struct pipeline_cycle *c, const struct perr *err, void *ud)
{
    struct cycle *out = ud;
    out->done = true;
    out->result = result;
    if (c) {
        snprintf(out->status, sizeof(out->status), "%s", c->status ? c->status : "");
        out->snap = c->snap;
        out->aws = c->aws;
        out->unknown = c->unknown ? json_deep_copy(c->unknown) : json_array();
    }
    if (err)
        snprintf(out->err, sizeof(out->err), "%s", err->msg);
}

static void collect(struct env *e, const char *collector, struct cycle *c)
{
    struct perr err = { 0 };
    json_decref(c->unknown);
    memset(c, 0, sizeof(*c));
    ck_assert_msg(pipeline_collect(e->p, collector, on_cycle, c, &err) == 0, "%s: %s", collector,
                  err.msg);
    while (!c->done)
        uv_run(&e->loop, UV_RUN_ONCE);
    ck_assert_msg(c->result == 0, "%s: %s", collector, c->err);
    ck_assert_ptr_nonnull(c->unknown);
}

/* The unknown scopes of a cycle as "type=status" words, sorted, joined. */
static char *unknown_list(const struct cycle *c)
{
    char **words = strv_new();
    char *out;
    size_t i;
    json_t *u;
    json_array_foreach (c->unknown, i, u) {
        char *w = str_printf("%s=%s", json_string_value(json_object_get(u, "type")),
                             json_string_value(json_object_get(u, "status")));
        ck_assert_int_eq(strv_consume(&words, w), 0);
    }
    for (size_t a = 0; words[a]; a++)
        for (size_t b = a + 1; words[b]; b++)
            if (strcmp(words[a], words[b]) > 0) {
                char *t = words[a];
                words[a] = words[b];
                words[b] = t;
            }
    out = strv_join(words, " ");
    strv_free(words);
    return out;
}

static void assert_unknown(const struct cycle *c, const char *collector, const char *want)
{
    char *got = unknown_list(c);
    ck_assert_msg(str_eq(got, want), "%s: unknown scopes \"%s\", want \"%s\"", collector, got,
                  want);
    free(got);
}

/* ---- reading the database ---- */

struct tally {
    int live;
    int deleted;
};

static int tally_cb(const struct resource *r, int64_t first_seen, int64_t changed_at,
                    int64_t deleted_at, void *ud)
{
    struct tally *t = ud;
    (void)r;
    (void)first_seen;
    (void)changed_at;
    if (deleted_at > 0)
        t->deleted++;
    else
        t->live++;
    return 0;
}

static struct tally count(struct env *e, const char *type)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    struct tally t = { 0 };
    struct snapshot_filter f = { .type = type, .include_deleted = true };
    ck_assert_msg(db_open(e->dbpath, DB_READONLY, &db, &err) == 0, "%s", err.msg);
    ck_assert_msg(snapshot_foreach(db, &f, tally_cb, &t, &err) == 0, "%s", err.msg);
    db_close(db);
    return t;
}

static struct resource *get(struct env *e, const char *region, const char *type, const char *id)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    struct resource *r = NULL;
    char *key = resource_key_make(ACCOUNT, region, type, id), *found = NULL;
    ck_assert_msg(db_open(e->dbpath, DB_READONLY, &db, &err) == 0, "%s", err.msg);
    ck_assert_msg(snapshot_get(db, key, &r, &found, &err) == 0, "%s: %s", key, err.msg);
    db_close(db);
    free(found);
    free(key);
    return r;
}

static enum collect_status coverage(struct env *e, const char *region, const char *type)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    enum collect_status st;
    char *detail = NULL;
    ck_assert_msg(db_open(e->dbpath, DB_READONLY, &db, &err) == 0, "%s", err.msg);
    ck_assert_msg(snapshot_coverage(db, ACCOUNT, region, type, &st, &detail, &err) == 0, "%s",
                  err.msg);
    db_close(db);
    free(detail);
    return st;
}

static const char *attr_str(const struct resource *r, const char *name)
{
    return json_string_value(json_object_get(r->attrs, name));
}

/* The seed's report: ids of what it created. */
static json_t *seed(const char *what)
{
    const char *args[] = { what, NULL };
    char *out = tu_moto_seed(&moto, "net.py", args);
    json_t *v = json_loads(out, 0, NULL);
    ck_assert_msg(v != NULL, "seed %s printed %s", what, out);
    free(out);
    return v;
}

static void fresh_moto(void)
{
    tu_moto_reset(&moto);
    tu_moto_auth(&moto, false);
}

static const char *const all_collectors[] = { "ec2",        "autoscaling", "elb", "apigateway",
                                              "cloudfront", "appstream",   NULL };
/* API calls of one cycle over the seeded estate in one region: every
 * listing once (one page each here), plus ec2's credit question for the
 * one burstable instance, autoscaling's image lookup, elb's two calls per
 * load balancer and tag calls, one GetStages per API, CloudFront's two
 * calls per distribution, and AppStream's failing listing. */
static const int64_t expected_calls[] = { 15, 3, 8, 5, 3, 1 };

START_TEST(estate_cycles)
{
    struct env e;
    struct cycle c = { 0 };
    json_t *ids;
    struct resource *r;
    fresh_moto();
    ids = seed("seed");
    env_open(&e, "AKIAPLUMBTEST0000000", "plumbtestsecretplumbtestsecretplumbtest0");

    /* First cycle of each collector: what was seeded. */
    collect(&e, "ec2", &c);
    /* moto has neither GetEbsDefaultKmsKeyId nor GetInstanceMetadataDefaults. */
    assert_unknown(&c, "ec2",
                   "aws_ebs_default_kms_key=error aws_ec2_instance_metadata_defaults=error");
    ck_assert_str_eq(c.status, "partial");
    ck_assert_int_gt((int)c.snap.versions_written, 0);
    ck_assert_int_eq(count(&e, "aws_instance").live, 2);
    ck_assert_int_eq(count(&e, "aws_vpc").live, 2);
    ck_assert_int_eq(count(&e, "aws_security_group").live, 4);
    ck_assert_int_eq(count(&e, "aws_launch_template").live, 1);
    ck_assert_int_eq(count(&e, "aws_flow_log").live, 2);
    ck_assert_int_eq(count(&e, "aws_network_acl").live, 3);
    ck_assert_int_gt(count(&e, "aws_vpc_security_group_ingress_rule").live, 4);
    ck_assert_int_gt(count(&e, "aws_ebs_volume").live, 2);
    ck_assert_int_eq(coverage(&e, REGION, "aws_instance"), COLLECT_OK);
    ck_assert_int_eq(coverage(&e, REGION, "aws_ec2_instance_metadata_defaults"), COLLECT_ERROR);
    r = get(&e, REGION, "aws_instance",
            json_string_value(json_object_get(json_object_get(ids, "instances"), "web")));
    ck_assert_str_eq(json_string_value(json_path_get(r->attrs, "metadata_options[0].http_tokens")),
                     "required");
    ck_assert_str_eq(
        json_string_value(json_path_get(r->attrs, "credit_specification[0].cpu_credits")),
        "standard");
    ck_assert(json_is_true(json_path_get(r->attrs, "ebs_block_device[0].encrypted")));
    resource_free(r);
    r = get(&e, REGION, "aws_vpc", json_string_value(json_object_get(ids, "vpc")));
    ck_assert_str_eq(attr_str(r, "cidr_block"), "10.20.0.0/16");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "env")), "prod");
    ck_assert(str_has_prefix(attr_str(r, "default_security_group_id"), "sg-"));
    ck_assert(str_has_prefix(attr_str(r, "main_route_table_id"), "rtb-"));
    resource_free(r);
    r = get(&e, REGION, "aws_ebs_encryption_by_default", REGION);
    ck_assert(json_is_true(json_object_get(r->attrs, "enabled")));
    resource_free(r);
    r = get(&e, REGION, "aws_launch_template",
            json_string_value(json_object_get(ids, "launch_template")));
    ck_assert_str_eq(json_string_value(json_path_get(
                         r->attrs, "default_version_metadata_options[0].http_tokens")),
                     "optional");
    ck_assert_str_eq(json_string_value(json_path_get(r->attrs, "metadata_options[0].http_tokens")),
                     "required");
    resource_free(r);

    collect(&e, "autoscaling", &c);
    assert_unknown(&c, "autoscaling", "");
    ck_assert_int_eq(count(&e, "aws_autoscaling_group").live, 2);
    ck_assert_int_eq(count(&e, "aws_launch_configuration").live, 1);
    r = get(&e, REGION, "aws_launch_configuration", "plumb-lc");
    ck_assert_str_eq(json_string_value(json_path_get(r->attrs, "metadata_options[0].http_tokens")),
                     "optional");
    ck_assert_int_eq((int)json_array_size(json_object_get(r->attrs, "root_block_device")), 1);
    ck_assert_int_eq((int)json_array_size(json_object_get(r->attrs, "ebs_block_device")), 1);
    resource_free(r);

    collect(&e, "elb", &c);
    assert_unknown(&c, "elb", "");
    ck_assert_int_eq(count(&e, "aws_lb").live, 1);
    ck_assert_int_eq(count(&e, "aws_lb_listener").live, 2);
    ck_assert_int_eq(count(&e, "aws_elb").live, 1);
    r = get(&e, REGION, "aws_lb", json_string_value(json_object_get(ids, "alb")));
    ck_assert(json_is_true(json_path_get(r->attrs, "access_logs[0].enabled")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "net");
    resource_free(r);
    r = get(&e, REGION, "aws_elb", "plumb-classic");
    ck_assert_str_eq(json_string_value(
                         json_path_get(r->attrs, "listener_policies[1].reference_security_policy")),
                     "ELBSecurityPolicy-TLS-1-2-2017-01");
    resource_free(r);

    collect(&e, "apigateway", &c);
    assert_unknown(&c, "apigateway", "");
    ck_assert_int_eq(count(&e, "aws_api_gateway_rest_api").live, 1);
    ck_assert_int_eq(count(&e, "aws_api_gateway_stage").live, 2);
    ck_assert_int_eq(count(&e, "aws_api_gateway_method_settings").live, 1);
    ck_assert_int_eq(count(&e, "aws_apigatewayv2_api").live, 2);
    ck_assert_int_eq(count(&e, "aws_apigatewayv2_stage").live, 2);
    {
        char *id = str_printf("%s/prod", json_string_value(json_object_get(ids, "rest_api")));
        r = get(&e, REGION, "aws_api_gateway_stage", id);
        free(id);
        ck_assert_str_eq(
            json_string_value(json_path_get(r->attrs, "method_settings[\"*/*\"].logging_level")),
            "INFO");
        resource_free(r);
    }

    collect(&e, "cloudfront", &c);
    assert_unknown(&c, "cloudfront", "");
    ck_assert_int_eq(count(&e, "aws_cloudfront_distribution").live, 1);
    r = get(&e, "global", "aws_cloudfront_distribution",
            json_string_value(json_object_get(ids, "distribution")));
    ck_assert_str_eq(json_string_value(json_path_get(
                         r->attrs, "default_cache_behavior[0].viewer_protocol_policy")),
                     "redirect-to-https");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "net");
    resource_free(r);

    /* moto has no AppStream: unknown, never "no fleets". */
    collect(&e, "appstream", &c);
    assert_unknown(&c, "appstream", "aws_appstream_fleet=error");
    ck_assert_int_eq(count(&e, "aws_appstream_fleet").live, 0);

    /* A second cycle over an unchanged estate writes nothing. */
    for (size_t i = 0; all_collectors[i]; i++) {
        collect(&e, all_collectors[i], &c);
        ck_assert_msg(c.aws.calls == expected_calls[i], "%s: %lld API calls, want %lld",
                      all_collectors[i], (long long)c.aws.calls, (long long)expected_calls[i]);
        ck_assert_msg(c.snap.versions_written == 0, "%s: %lld versions on an unchanged estate",
                      all_collectors[i], (long long)c.snap.versions_written);
        ck_assert_int_eq((int)c.snap.tombstones, 0);
    }

    /* One changed attribute: exactly one new version. */
    json_decref(seed("change"));
    collect(&e, "ec2", &c);
    ck_assert_int_eq((int)c.snap.versions_written, 1);
    ck_assert_int_eq((int)c.snap.tombstones, 0);
    r = get(&e, REGION, "aws_vpc", json_string_value(json_object_get(ids, "vpc")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "env")), "staging");
    resource_free(r);

    /* A deleted resource is tombstoned, nothing else changes. */
    json_decref(seed("delete"));
    collect(&e, "ec2", &c);
    ck_assert_int_eq((int)c.snap.tombstones, 1);
    ck_assert_int_eq((int)c.snap.versions_written, 0);
    ck_assert_int_eq(count(&e, "aws_ebs_volume").deleted, 1);

    json_decref(c.unknown);
    json_decref(ids);
    env_close(&e);
}
END_TEST

START_TEST(restricted_policy)
{
    struct env e;
    struct cycle c = { 0 };
    json_t *user;
    fresh_moto();
    json_decref(seed("seed"));
    user = seed("restricted-user");
    tu_moto_auth(&moto, true);
    env_open(&e, json_string_value(json_object_get(user, "access_key_id")),
             json_string_value(json_object_get(user, "secret_access_key")));

    /* Denied ec2:DescribeVolumes: volumes unknown; everything else read. */
    collect(&e, "ec2", &c);
    assert_unknown(&c, "ec2",
                   "aws_ebs_default_kms_key=error aws_ebs_volume=access_denied "
                   "aws_ec2_instance_metadata_defaults=error");
    ck_assert_int_eq(count(&e, "aws_instance").live, 2);
    ck_assert_int_eq(coverage(&e, REGION, "aws_ebs_volume"), COLLECT_ACCESS_DENIED);
    ck_assert_int_eq(coverage(&e, REGION, "aws_vpc"), COLLECT_OK);

    /* Denied DescribeLaunchConfigurations: only that type is unknown. */
    collect(&e, "autoscaling", &c);
    assert_unknown(&c, "autoscaling", "aws_launch_configuration=access_denied");
    ck_assert_int_eq(count(&e, "aws_autoscaling_group").live, 2);

    /* Denied DescribeListeners: the listeners are unknown. */
    collect(&e, "elb", &c);
    assert_unknown(&c, "elb", "aws_lb_listener=access_denied");
    ck_assert_int_eq(count(&e, "aws_lb").live, 1);
    ck_assert_int_eq(count(&e, "aws_elb").live, 1);

    json_decref(c.unknown);
    json_decref(user);
    env_close(&e);
    tu_moto_auth(&moto, false);
}
END_TEST

static void setup(void)
{
    tu_moto_start(&moto);
}

static void teardown(void)
{
    tu_moto_stop(&moto);
}

static Suite *suite(void)
{
    Suite *s = suite_create("it-collect-net");
    TCase *tc = tcase_create("net");
    tcase_add_unchecked_fixture(tc, setup, teardown);
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
