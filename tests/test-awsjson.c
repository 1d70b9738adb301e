#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsjson.h"
#include "placebo.h"
#include "protocol-cases.h"
#include "testutil.h"

START_TEST(protocol_json_1_1)
{
    struct pc_counts c;
    pc_run_file("json", "json", NULL, &c);
}
END_TEST

START_TEST(protocol_json_1_0)
{
    struct pc_counts c;
    pc_run_file("json_1_0", "json_1_0", NULL, &c);
}
END_TEST

START_TEST(protocol_rest_json)
{
    struct pc_counts c;
    pc_run_file("rest-json", "rest-json", NULL, &c);
}
END_TEST

START_TEST(protocol_json_query_compatible)
{
    struct pc_counts c;
    pc_run_file("json_1_0-query-compatible", "json_1_0", NULL, &c);
}
END_TEST

START_TEST(read_limits_and_errors)
{
    json_t *v = NULL;
    struct perr err = { 0 };
    static const char small[] = "{}";

    ck_assert_int_eq(awsjson_read(small, 100u * 1024 * 1024, 0, &v, &err), -E2BIG);
    ck_assert_str_eq(err.msg,
                     "JSON body of 104857600 bytes is larger than the limit of 33554432 bytes");
    ck_assert_int_eq(awsjson_read("[1,2,3]", 7, 4, &v, &err), -E2BIG);
    ck_assert_str_eq(err.msg, "JSON body of 7 bytes is larger than the limit of 4 bytes");
    ck_assert_int_eq(awsjson_read("{\"a\":", 5, 0, &v, &err), -EBADMSG);
    ck_assert(str_has_prefix(err.msg, "JSON body, line 1 column "));
    ck_assert_int_eq(awsjson_read(" \n ", 3, 0, &v, &err), 0);
    ck_assert(json_is_object(v) && json_object_size(v) == 0);
    json_decref(v);
    ck_assert_int_eq(awsjson_read("\"x\"", 3, 0, &v, &err), 0);
    ck_assert_str_eq(json_string_value(v), "x");
    json_decref(v);
}
END_TEST

static struct awsresponse body_response(const char *body)
{
    struct awsresponse r = { .status = 200, .body = body, .body_len = strlen(body) };
    return r;
}

/* Shipped models, wire bodies shaped like the real services'. */
START_TEST(real_models)
{
    struct awsmodel *kms = NULL, *gd = NULL;
    struct perr err = { 0 };
    json_t *out = NULL;
    struct awsheader hdr[] = { { "X-Amzn-RequestId", "req-1" } };
    struct awsresponse r;

    ck_assert_int_eq(awsmodel_load_embedded("kms", &kms, &err), 0);
    r = body_response("{\"KeyMetadata\":{\"KeyId\":\"k1\",\"CreationDate\":1.466999748139E9,"
                      "\"Enabled\":true,\"KeyUsage\":\"ENCRYPT_DECRYPT\"},\"Unknown\":1}");
    r.headers = hdr;
    r.n_headers = 1;
    ck_assert_int_eq(awsjson_parse_output(kms, awsmodel_op(kms, "DescribeKey"), &r, 0, &out, &err),
                     0);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(out, "KeyMetadata"), "CreationDate")),
        "2016-06-27T03:55:48.139Z");
    ck_assert(json_is_true(json_object_get(json_object_get(out, "KeyMetadata"), "Enabled")));
    ck_assert_ptr_null(json_object_get(out, "Unknown"));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(out, "ResponseMetadata"), "RequestId")),
        "req-1");
    json_decref(out);

    /* A list where the model wants a structure. */
    r = body_response("{\"KeyMetadata\":[1]}");
    ck_assert_int_eq(awsjson_parse_output(kms, awsmodel_op(kms, "DescribeKey"), &r, 0, &out, &err),
                     -EBADMSG);
    ck_assert_str_eq(err.msg, "member KeyMetadata: expected an object, got a list");
    r = body_response("{\"KeyMetadata\":{\"CreationDate\":\"tomorrow\"}}");
    ck_assert_int_eq(awsjson_parse_output(kms, awsmodel_op(kms, "DescribeKey"), &r, 0, &out, &err),
                     -EBADMSG);
    ck_assert_str_eq(err.msg, "member CreationDate: invalid timestamp (tomorrow)");
    r = body_response("{\"Keys\":{}}");
    ck_assert_int_eq(awsjson_parse_output(kms, awsmodel_op(kms, "ListKeys"), &r, 0, &out, &err),
                     -EBADMSG);
    ck_assert_str_eq(err.msg, "member Keys: expected a list, got an object");
    r = body_response("not json");
    ck_assert_int_eq(awsjson_parse_output(kms, awsmodel_op(kms, "ListKeys"), &r, 0, &out, &err),
                     -EBADMSG);
    ck_assert_msg(str_has_prefix(err.msg, "JSON body, line 1 column "), "%s", err.msg);

    /* rest-json: lowerCamel wire names become botocore's member names. */
    ck_assert_int_eq(awsmodel_load_embedded("guardduty", &gd, &err), 0);
    r = body_response("{\"detectorIds\":[\"d1\",\"d2\"],\"nextToken\":\"t\"}");
    ck_assert_int_eq(awsjson_parse_output(gd, awsmodel_op(gd, "ListDetectors"), &r, 0, &out, &err),
                     0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "DetectorIds")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(out, "NextToken")), "t");
    json_decref(out);

    /* An XML model is refused. */
    {
        struct awsmodel *ec2 = NULL;
        ck_assert_int_eq(awsmodel_load_embedded("ec2", &ec2, &err), 0);
        ck_assert_int_eq(
            awsjson_parse_output(ec2, awsmodel_op(ec2, "DescribeRegions"), &r, 0, &out, &err),
            -EINVAL);
        ck_assert_str_eq(err.msg, "ec2 is not a JSON protocol");
        awsmodel_free(ec2);
    }
    awsmodel_free(kms);
    awsmodel_free(gd);
}
END_TEST

START_TEST(legacy_json)
{
    struct pc_counts c;
    pc_run_dir_file("legacy/output", "json", "json", NULL, &c);
}
END_TEST

START_TEST(legacy_rest_json)
{
    struct pc_counts c;
    pc_run_dir_file("legacy/output", "rest-json", "rest-json", NULL, &c);
}
END_TEST

/* Recorded KMS, Config and CloudTrail answers (botocore's own parse of
 * them is in the recording) through the shipped models. */
START_TEST(placebo_recordings)
{
    char *root = tu_fixture("aws-responses/cloud-custodian-placebo");
    DIR *top = opendir(root);
    struct dirent *td;
    struct awsmodels *set = NULL;
    size_t checked = 0, other = 0;

    ck_assert_ptr_nonnull(top);
    ck_assert_int_eq(awsmodels_load_embedded(&set, NULL), 0);
    while ((td = readdir(top))) {
        char *dir;
        DIR *d;
        struct dirent *fd;
        if (td->d_name[0] == '.')
            continue;
        dir = tu_path_join(root, td->d_name);
        d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        while ((fd = readdir(d))) {
            char svc[64], opname[128], *path, *wire, why[1100] = "";
            const struct awsmodel *m;
            const struct awsop *op;
            json_t *rec, *data, *body, *got = NULL;
            struct awsresponse r = { .status = 200 };
            struct perr err = { 0 };
            if (sscanf(fd->d_name, "%63[^.].%127[^_]_", svc, opname) != 2 ||
                !str_has_suffix(fd->d_name, ".json"))
                continue;
            m = awsmodels_get(set, svc);
            op = m ? awsmodel_op(m, opname) : NULL;
            if (!op || m->protocol != AWS_PROTOCOL_JSON) {
                other++; /* an operation plumb does not call, or not JSON 1.1 */
                continue;
            }
            path = tu_path_join(dir, fd->d_name);
            rec = json_load_file(path, 0, NULL);
            ck_assert_ptr_nonnull(rec);
            data = json_object_get(rec, "data");
            if (json_integer_value(json_object_get(rec, "status_code")) != 200) {
                other++; /* recorded errors keep no wire body */
                json_decref(rec);
                free(path);
                continue;
            }
            body = placebo_to_wire(data);
            wire = json_dumps(body, JSON_COMPACT);
            r.body = wire;
            r.body_len = strlen(wire);
            ck_assert_msg(awsjson_parse_output(m, op, &r, 0, &got, &err) == 0, "%s: %s", path,
                          err.msg);
            ck_assert_msg(
                pc_compare_struct(op->output.shape, body, got, "result", true, why, sizeof(why)),
                "%s: %s", path, why);
            checked++;
            json_decref(got);
            free(wire);
            json_decref(body);
            json_decref(rec);
            free(path);
        }
        closedir(d);
        free(dir);
    }
    closedir(top);
    printf("placebo: %zu recordings of plumb's JSON operations parsed as botocore did "
           "(%zu others skipped)\n",
           checked, other);
    ck_assert_uint_ge(checked, 30);
    awsmodels_free(set);
    free(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("awsjson");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, protocol_json_1_1);
    tcase_add_test(tc, protocol_json_1_0);
    tcase_add_test(tc, protocol_rest_json);
    tcase_add_test(tc, protocol_json_query_compatible);
    tcase_add_test(tc, read_limits_and_errors);
    tcase_add_test(tc, real_models);
    tcase_add_test(tc, placebo_recordings);
    tcase_add_test(tc, legacy_json);
    tcase_add_test(tc, legacy_rest_json);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
