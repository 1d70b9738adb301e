#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awsjson.h"
#include "awsproto.h"
#include "awsxml.h"
#include "paginate.h"
#include "placebo.h"
#include "testutil.h"

static json_t *load(const char *rel)
{
    char *path = tu_fixture(rel);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    ck_assert_msg(j != NULL, "%s: %s", path, jerr.text);
    free(path);
    return j;
}

/* A model holding only the paginators of a botocore paginators-1.json. */
static struct awsmodel *paginators_model(const char *rel)
{
    json_t *fx = load(rel);
    json_t *doc = json_pack("{s:{s:s},s:{},s:{},s:O}", "metadata", "protocol", "json", "shapes",
                            "operations", "paginators", json_object_get(fx, "pagination"));
    struct awsmodel *m = NULL;
    struct perr err = { 0 };
    ck_assert_msg(awsmodel_load_json(doc, "fixture", &m, &err) == 0, "%s", err.msg);
    json_decref(doc);
    json_decref(fx);
    return m;
}

static void check_expressions(const struct awspaginator *g, const char *where)
{
    json_t *empty = json_object(), *v;
    struct perr err = { 0 };
    for (size_t k = 0; g->output_tokens[k]; k++)
        ck_assert_msg(paginate_eval(g->output_tokens[k], empty, &v, &err) == 0, "%s: %s", where,
                      err.msg);
    for (size_t k = 0; g->result_keys[k]; k++)
        ck_assert_msg(paginate_eval(g->result_keys[k], empty, &v, &err) == 0, "%s: %s", where,
                      err.msg);
    if (g->more_results)
        ck_assert_msg(paginate_eval(g->more_results, empty, &v, &err) == 0, "%s: %s", where,
                      err.msg);
    json_decref(empty);
}

/* Every expression in the shipped models and in the fixture paginators
 * is inside the supported subset. */
START_TEST(all_expressions_supported)
{
    struct awsmodels *set = NULL;
    char *dir = tu_fixture("aws-responses/botocore-models/paginators");
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    ck_assert_int_eq(awsmodels_load_embedded(&set, NULL), 0);
    for (size_t i = 0; i < awsmodels_count(set); i++) {
        const struct awsmodel *m = awsmodels_at(set, i);
        for (size_t k = 0; k < m->n_ops; k++)
            if (m->ops[k].paginator) {
                check_expressions(m->ops[k].paginator, m->ops[k].name);
                n++;
            }
    }
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        char rel[512];
        struct awsmodel *m;
        json_t *fx;
        const char *op;
        json_t *v;
        if (!str_has_suffix(de->d_name, ".json"))
            continue;
        snprintf(rel, sizeof(rel), "aws-responses/botocore-models/paginators/%s", de->d_name);
        m = paginators_model(rel);
        fx = load(rel);
        json_object_foreach (json_object_get(fx, "pagination"), op, v) {
            const struct awspaginator *g = awsmodel_paginator(m, op);
            ck_assert_ptr_nonnull(g);
            check_expressions(g, op);
            n++;
        }
        json_decref(fx);
        awsmodel_free(m);
    }
    closedir(d);
    printf("paginators: %zu entries' expressions evaluate\n", n);
    ck_assert_uint_gt(n, 300);
    awsmodels_free(set);
    free(dir);
}
END_TEST

/* Cloud Custodian's recorded Config pages: an 8-page NextToken chain. */
START_TEST(config_next_token_chain)
{
    struct awsmodel *m = paginators_model(
        "aws-responses/botocore-models/paginators/config-2014-11-12-paginators-1.json");
    const struct awspaginator *g = awsmodel_paginator(m, "DescribeConfigRules");
    json_t *params = json_object(), *next = NULL;
    size_t pages = 0, rules = 0;

    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(paginate_set_limit(g, params, 5), -ENOENT); /* no limit_key */
    for (int i = 1; i <= 8; i++) {
        char rel[256];
        json_t *page, *data;
        int r;
        snprintf(rel, sizeof(rel),
                 "aws-responses/cloud-custodian-placebo/test_config_rule_remediation/"
                 "config.DescribeConfigRules_%d.json",
                 i);
        page = load(rel);
        data = json_object_get(page, "data");
        pages++;
        rules += json_array_size(paginate_result(g, 0, data));
        r = paginate_next(g, params, data, &next, NULL);
        if (i < 8) {
            ck_assert_int_eq(r, 0);
            ck_assert(
                json_equal(json_object_get(next, "NextToken"), json_object_get(data, "NextToken")));
            json_decref(params);
            params = next;
        } else {
            ck_assert_int_eq(r, 1);
        }
        json_decref(page);
    }
    ck_assert_uint_eq(pages, 8);
    ck_assert_uint_gt(rules, 8);
    json_decref(params);
    awsmodel_free(m);
}
END_TEST

/* KMS ListAliases, Truncated/NextMarker: wire body -> shipped model ->
 * next request, end to end. */
START_TEST(kms_marker_end_to_end)
{
    struct awsmodel *m = NULL;
    const struct awsop *op;
    json_t *params = json_object(), *next = NULL, *out = NULL;
    struct awsrequest *req = NULL;
    struct perr err = { 0 };

    ck_assert_int_eq(awsmodel_load_embedded("kms", &m, NULL), 0);
    op = awsmodel_op(m, "ListAliases");
    ck_assert_int_eq(paginate_set_limit(op->paginator, params, 50), 0);
    for (int i = 1; i <= 2; i++) {
        char rel[256], *wire;
        json_t *page, *body;
        struct awsresponse r = { .status = 200 };
        int rc;
        snprintf(
            rel, sizeof(rel),
            "aws-responses/cloud-custodian-placebo/test_comprehend_document_classifier_kms_key/"
            "kms.ListAliases_%d.json",
            i);
        page = load(rel);
        body = placebo_to_wire(json_object_get(page, "data"));
        wire = json_dumps(body, JSON_COMPACT);
        r.body = wire;
        r.body_len = strlen(wire);
        ck_assert_msg(awsjson_parse_output(m, op, &r, 0, &out, &err) == 0, "%s", err.msg);
        ck_assert_uint_gt(json_array_size(paginate_result(op->paginator, 0, out)), 0);
        rc = paginate_next(op->paginator, params, out, &next, &err);
        if (i == 1) {
            ck_assert_int_eq(rc, 0);
            ck_assert(
                json_equal(json_object_get(next, "Marker"), json_object_get(body, "NextMarker")));
            ck_assert_int_eq(json_integer_value(json_object_get(next, "Limit")), 50);
            /* And it makes a valid request. */
            ck_assert_int_eq(awsproto_build_request(m, op, next, &req, &err), 0);
            ck_assert_ptr_nonnull(
                strstr(req->body, json_string_value(json_object_get(body, "NextMarker"))));
            req = awsrequest_free(req);
            json_decref(params);
            params = next;
        } else {
            ck_assert_int_eq(rc, 1); /* Truncated: false */
        }
        json_decref(out);
        free(wire);
        json_decref(body);
        json_decref(page);
    }
    json_decref(params);
    awsmodel_free(m);
}
END_TEST

START_TEST(expressions)
{
    json_t *resp =
        json_loads("{\"IsTruncated\":true,\"Contents\":[{\"Key\":\"a\"},{\"Key\":\"b\"}],"
                   "\"DistributionList\":{\"NextMarker\":\"\",\"Items\":[1]}}",
                   0, NULL);
    json_t *v;
    struct perr err = { 0 };

    ck_assert_int_eq(paginate_eval("NextMarker || Contents[-1].Key", resp, &v, &err), 0);
    ck_assert_str_eq(json_string_value(v), "b");
    ck_assert_int_eq(paginate_eval("Contents[0].Key", resp, &v, &err), 0);
    ck_assert_str_eq(json_string_value(v), "a");
    ck_assert_int_eq(paginate_eval("Contents[5].Key", resp, &v, &err), 0);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(paginate_eval("Contents[-3].Key", resp, &v, &err), 0);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(paginate_eval("DistributionList.NextMarker", resp, &v, &err), 0);
    ck_assert_str_eq(json_string_value(v), "");
    ck_assert_int_eq(paginate_eval("DistributionList.NextMarker || IsTruncated", resp, &v, &err),
                     0);
    ck_assert(json_is_true(v));
    ck_assert_int_eq(paginate_eval("Missing.Deeper[0]", resp, &v, &err), 0);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(paginate_eval("Contents[?Key=='a']", resp, &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "pagination expression \"Contents[?Key=='a']\": unsupported syntax");
    ck_assert_int_eq(paginate_eval("A || ", resp, &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "pagination expression \"A || \": empty term");
    ck_assert_int_eq(paginate_eval("A.", resp, &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "pagination expression \"A.\": unsupported syntax");
    json_decref(resp);
}
END_TEST

/* S3 ListObjects v1 (NextMarker || Contents[-1].Key while IsTruncated),
 * IAM (Marker while IsTruncated), and the guards. */
START_TEST(next_rules)
{
    struct awsmodel *s3 = paginators_model(
        "aws-responses/botocore-models/paginators/s3-2006-03-01-paginators-1.json");
    struct awsmodel *iam = paginators_model(
        "aws-responses/botocore-models/paginators/iam-2010-05-08-paginators-1.json");
    const struct awspaginator *lo = awsmodel_paginator(s3, "ListObjects");
    const struct awspaginator *lu = awsmodel_paginator(iam, "ListUsers");
    json_t *params = json_pack("{s:s,s:s}", "Bucket", "b", "Marker", "old");
    json_t *resp, *next = NULL;
    struct perr err = { 0 };

    /* No NextMarker: the last key is the marker. */
    resp = json_loads("{\"IsTruncated\":true,\"Contents\":[{\"Key\":\"k1\"},{\"Key\":\"k2\"}]}", 0,
                      NULL);
    ck_assert_int_eq(paginate_next(lo, params, resp, &next, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(next, "Marker")), "k2");
    ck_assert_str_eq(json_string_value(json_object_get(next, "Bucket")), "b");
    json_decref(next);
    json_decref(resp);
    /* Not truncated: done, whatever else the page says. */
    resp = json_loads("{\"IsTruncated\":false,\"NextMarker\":\"x\"}", 0, NULL);
    ck_assert_int_eq(paginate_next(lo, params, resp, &next, &err), 1);
    json_decref(resp);
    /* The same marker back again: refuse instead of looping. */
    resp = json_loads("{\"IsTruncated\":true,\"NextMarker\":\"old\"}", 0, NULL);
    ck_assert_int_eq(paginate_next(lo, params, resp, &next, &err), -ELOOP);
    ck_assert_str_eq(err.msg, "paginator ListObjects: the same next token was received twice");
    json_decref(resp);
    json_decref(params);

    /* IAM: first request without parameters. */
    resp = json_loads("{\"IsTruncated\":true,\"Marker\":\"m1\",\"Users\":[]}", 0, NULL);
    ck_assert_int_eq(paginate_next(lu, NULL, resp, &next, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(next, "Marker")), "m1");
    ck_assert_uint_eq(json_object_size(next), 1);
    json_decref(resp);
    /* Truncated but an empty marker: nothing to ask for. */
    resp = json_loads("{\"IsTruncated\":true,\"Marker\":\"\"}", 0, NULL);
    ck_assert_int_eq(paginate_next(lu, next, resp, &params, &err), 1);
    json_decref(resp);
    json_decref(next);
    params = json_object();
    ck_assert_int_eq(paginate_set_limit(lu, params, 10), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(params, "MaxItems")), 10);
    json_decref(params);
    ck_assert_int_eq(paginate_next(NULL, NULL, NULL, &next, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "operation has no paginator");
    awsmodel_free(s3);
    awsmodel_free(iam);
}
END_TEST

/* Several tokens (Route 53 style): each is set or removed on its own. */
START_TEST(multiple_tokens)
{
    json_t *doc = json_loads(
        "{\"metadata\":{\"protocol\":\"rest-xml\"},\"shapes\":{},\"operations\":{},"
        "\"paginators\":{\"ListResourceRecordSets\":{\"more_results\":\"IsTruncated\","
        "\"limit_key\":\"MaxItems\",\"result_key\":\"ResourceRecordSets\","
        "\"input_token\":[\"StartRecordName\",\"StartRecordType\",\"StartRecordIdentifier\"],"
        "\"output_token\":[\"NextRecordName\",\"NextRecordType\",\"NextRecordIdentifier\"]}}}",
        0, NULL);
    struct awsmodel *m = NULL;
    const struct awspaginator *g;
    json_t *params = json_pack("{s:s,s:s,s:s,s:s}", "HostedZoneId", "Z", "StartRecordName", "a",
                               "StartRecordType", "A", "StartRecordIdentifier", "id1");
    json_t *resp = json_loads("{\"IsTruncated\":true,\"NextRecordName\":\"b\","
                              "\"NextRecordType\":\"AAAA\"}",
                              0, NULL);
    json_t *next = NULL;

    ck_assert_int_eq(awsmodel_load_json(doc, "r53", &m, NULL), 0);
    g = awsmodel_paginator(m, "ListResourceRecordSets");
    ck_assert_int_eq(paginate_next(g, params, resp, &next, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(next, "StartRecordName")), "b");
    ck_assert_str_eq(json_string_value(json_object_get(next, "StartRecordType")), "AAAA");
    ck_assert_ptr_null(json_object_get(next, "StartRecordIdentifier"));
    ck_assert_str_eq(json_string_value(json_object_get(next, "HostedZoneId")), "Z");
    /* The original parameters are not touched. */
    ck_assert_str_eq(json_string_value(json_object_get(params, "StartRecordIdentifier")), "id1");
    json_decref(next);
    json_decref(resp);
    json_decref(params);
    awsmodel_free(m);
    json_decref(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("paginate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, all_expressions_supported);
    tcase_add_test(tc, config_next_token_chain);
    tcase_add_test(tc, kms_marker_end_to_end);
    tcase_add_test(tc, expressions);
    tcase_add_test(tc, next_rules);
    tcase_add_test(tc, multiple_tokens);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
