#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserr.h"
#include "awsxml.h"
#include "botocore-models.h"
#include "testutil.h"

/* Parse every error body of botocore's response-parsing fixtures in
 * sub_dir (files ending with ext) and compare with expected_dir's JSON. */
static void run_error_fixtures(const char *sub_dir, const char *ext, const char *expected_sub)
{
    char *dir = tu_fixture(sub_dir), *edir = tu_fixture(expected_sub);
    char **files = bm_list(dir, ext);
    struct bm_set set;
    struct awsmodel *m = NULL;
    size_t checked = 0;

    bm_generate(files, &set);
    for (size_t i = 0; i < set.n; i++) {
        struct bm_case *c = &set.cases[i];
        char *path = tu_path_join(dir, c->file), *body = tu_read_file(path), *epath;
        char *base = str_printf("%.*s.json", (int)(strlen(c->file) - strlen(ext)), c->file);
        struct awsresponse r = { .status = 400, .body = body, .body_len = strlen(body) };
        struct awserr *e = NULL;
        json_t *want, *werr, *rid;

        if (!m || !str_eq(m->service, c->service)) {
            awsmodel_free(m);
            m = bm_model(&set, c->service);
        }
        epath = tu_path_join(edir, base);
        want = json_load_file(epath, 0, NULL);
        ck_assert_msg(want != NULL, "%s", epath);
        werr = json_object_get(want, "Error");
        ck_assert_int_eq(awserr_parse(m, awsmodel_op(m, c->operation), &r, &e, NULL), 0);
        ck_assert_msg(str_eq(e->code, json_string_value(json_object_get(werr, "Code"))),
                      "%s: code %s", c->file, e->code);
        ck_assert_msg(str_eq(e->message, json_string_value(json_object_get(werr, "Message"))),
                      "%s: message %s", c->file, e->message);
        /* Type is compared when botocore reports one; other keys of the
         * generic Error (S3's BucketName) are not kept by awserr. */
        if (json_object_get(werr, "Type"))
            ck_assert_msg(str_eq(e->type, json_string_value(json_object_get(werr, "Type"))),
                          "%s: type", c->file);
        else
            ck_assert_msg(e->type == NULL, "%s: unexpected type %s", c->file, e->type);
        rid = json_object_get(json_object_get(want, "ResponseMetadata"), "RequestId");
        if (rid)
            ck_assert_msg(str_eq(e->request_id, json_string_value(rid)), "%s: request id", c->file);
        ck_assert_int_eq(e->status, 400);
        checked++;
        awserr_free(e);
        json_decref(want);
        free(epath);
        free(base);
        free(body);
        free(path);
    }
    printf("%s: %zu error bodies checked\n", sub_dir, checked);
    ck_assert_uint_eq(checked, strv_length(files));
    ck_assert_uint_ge(checked, 5);
    awsmodel_free(m);
    bm_free(&set);
    strv_free(files);
    free(dir);
    free(edir);
}

START_TEST(botocore_xml_errors)
{
    run_error_fixtures("aws-responses/botocore-response-parsing/xml/errors", ".xml",
                       "aws-responses/botocore-response-parsing/xml/errors");
}
END_TEST

START_TEST(botocore_json_errors)
{
    run_error_fixtures("aws-responses/botocore-response-parsing/json/errors", ".json",
                       "aws-responses/botocore-response-parsing/json/expected");
}
END_TEST

static struct awserr *parse_with(const char *service, const char *op, int status,
                                 const struct awsheader *h, size_t nh, const char *body)
{
    struct awsmodel *m = NULL;
    struct awserr *e = NULL;
    struct awsresponse r = {
        .status = status, .headers = h, .n_headers = nh, .body = body, .body_len = strlen(body)
    };
    ck_assert_int_eq(awsmodel_load_embedded(service, &m, NULL), 0);
    ck_assert_int_eq(awserr_parse(m, awsmodel_op(m, op), &r, &e, NULL), 0);
    awsmodel_free(m);
    return e;
}

START_TEST(codes_and_request_ids)
{
    struct awserr *e;
    struct awsheader h1[] = { { "x-amzn-ErrorType",
                                "ResourceNotFoundException:http://internal.amazon.com/" },
                              { "X-Amzn-RequestId", "rid-1" } };
    struct awsheader h2[] = { { "x-amz-request-id", "s3rid" }, { "x-amz-id-2", "host2" } };
    struct awsheader h3[] = { { "x-amzn-query-error",
                                "AWS.SimpleQueueService.NonExistentQueue;Sender" } };

    /* rest-json: the header wins, its ":http..." suffix goes. */
    e = parse_with("guardduty", "GetDetector", 404, h1, 2,
                   "{\"message\":\"The request is rejected because the input detectorId is not "
                   "owned by the current account.\",\"__type\":\"InternalException\"}");
    ck_assert_str_eq(e->code, "ResourceNotFoundException");
    ck_assert_str_eq(e->request_id, "rid-1");
    ck_assert(str_has_prefix(e->message, "The request is rejected"));
    awserr_free(e);

    /* json: __type with a namespace. */
    e = parse_with("kms", "DescribeKey", 400, NULL, 0,
                   "{\"__type\":\"com.amazonaws.kms#NotFoundException\",\"Message\":\"gone\"}");
    ck_assert_str_eq(e->code, "NotFoundException");
    ck_assert_str_eq(e->message, "gone");
    ck_assert_ptr_null(e->request_id);
    awserr_free(e);

    /* json: query-compatible services report the old query code. */
    e = parse_with("kms", "DescribeKey", 400, h3, 1,
                   "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"x\"}");
    ck_assert_str_eq(e->code, "AWS.SimpleQueueService.NonExistentQueue");
    ck_assert_str_eq(e->query_error_code, "QueueDoesNotExist");
    ck_assert_str_eq(e->type, "Sender");
    awserr_free(e);

    /* json: not JSON at all: the body is the message, the status the code. */
    e = parse_with("kms", "DescribeKey", 400, NULL, 0, "Bad gateway, try later");
    ck_assert_str_eq(e->code, "400");
    ck_assert_str_eq(e->message, "Bad gateway, try later");
    awserr_free(e);

    /* S3: request and host id from headers. */
    e = parse_with(
        "s3", "GetBucketPolicy", 404, h2, 2,
        "<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not "
        "exist</Message><RequestId>bodyrid</RequestId><HostId>bodyhost</HostId></Error>");
    ck_assert_str_eq(e->code, "NoSuchBucketPolicy");
    ck_assert_str_eq(e->request_id, "s3rid");
    ck_assert_str_eq(e->host_id, "host2");
    awserr_free(e);
    /* ... or from the body when the headers are missing. */
    e = parse_with("s3", "GetBucketPolicy", 404, NULL, 0,
                   "<Error><Code>NoSuchBucketPolicy</Code><Message>m</Message>"
                   "<RequestId>bodyrid</RequestId><HostId>bodyhost</HostId></Error>");
    ck_assert_str_eq(e->request_id, "bodyrid");
    ck_assert_str_eq(e->host_id, "bodyhost");
    awserr_free(e);

    /* S3 HEAD: no body at all. */
    e = parse_with("s3", "HeadObject", 404, h2, 2, "");
    ck_assert_str_eq(e->code, "404");
    ck_assert_str_eq(e->message, "Not Found");
    ck_assert_str_eq(e->request_id, "s3rid");
    awserr_free(e);

    /* A proxy's HTML page. */
    e = parse_with("ec2", "DescribeInstances", 503, NULL, 0,
                   "  <html><body><b>Http/1.1 Service Unavailable</b></body></html>");
    ck_assert_str_eq(e->code, "503");
    ck_assert_str_eq(e->message, "Service Unavailable");
    ck_assert(awserr_is_transient(e));
    awserr_free(e);

    /* XML that is not an AWS error document. */
    e = parse_with("iam", "ListUsers", 400, NULL, 0, "<Oops/>");
    ck_assert_str_eq(e->code, "400");
    ck_assert_str_eq(e->message, "Bad Request");
    awserr_free(e);
    /* Hostile XML in an error body changes nothing but the fallback. */
    e = parse_with("iam", "ListUsers", 403, NULL, 0,
                   "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>");
    ck_assert_str_eq(e->code, "403");
    ck_assert_str_eq(e->message, "Forbidden");
    awserr_free(e);
}
END_TEST

START_TEST(modeled_fields)
{
    struct awserr *e;
    /* GuardDuty's BadRequestException has members Message and Type, on
     * the wire "message" and "type". */
    struct awsheader h[] = { { "x-amzn-errortype", "BadRequestException" } };
    e = parse_with("guardduty", "GetDetector", 400, h, 1,
                   "{\"message\":\"bad\",\"type\":\"InvalidInputException\"}");
    ck_assert_str_eq(e->code, "BadRequestException");
    ck_assert_ptr_nonnull(e->fields);
    ck_assert_str_eq(json_string_value(json_object_get(e->fields, "Message")), "bad");
    ck_assert_str_eq(json_string_value(json_object_get(e->fields, "Type")),
                     "InvalidInputException");
    awserr_free(e);
}
END_TEST

static struct awserr *mk(int status, const char *code, const char *msg)
{
    struct awserr *e = NULL;
    ck_assert_int_eq(awserr_new(status, code, msg, &e), 0);
    return e;
}

START_TEST(classification)
{
    static const char *const throttling[] = {
        "Throttling", "ThrottlingException",      "RequestLimitExceeded",
        "SlowDown",   "TooManyRequestsException", "EC2ThrottledException",
        NULL
    };
    static const char *const denied[] = { "AccessDenied",
                                          "AccessDeniedException",
                                          "UnauthorizedOperation",
                                          "Client.UnauthorizedOperation",
                                          "AuthorizationError",
                                          "UnauthorizedException",
                                          "AuthorizationErrorException",
                                          NULL };
    static const char *const not_found[] = { "NoSuchBucketPolicy", "NoSuchEntity", NULL };
    struct awserr *e;

    for (size_t i = 0; throttling[i]; i++) {
        e = mk(400, throttling[i], NULL);
        ck_assert_msg(awserr_is_throttling(e), "%s", throttling[i]);
        ck_assert(!awserr_is_access_denied(e));
        awserr_free(e);
    }
    for (size_t i = 0; denied[i]; i++) {
        e = mk(403, denied[i], NULL);
        ck_assert_msg(awserr_is_access_denied(e), "%s", denied[i]);
        ck_assert(!awserr_is_throttling(e) && !awserr_is_transient(e));
        awserr_free(e);
    }
    e = mk(429, "Whatever", NULL);
    ck_assert(awserr_is_throttling(e));
    awserr_free(e);
    e = mk(502, "Whatever", NULL);
    ck_assert(awserr_is_transient(e) && !awserr_is_throttling(e));
    awserr_free(e);
    e = mk(400, "RequestTimeout", NULL);
    ck_assert(awserr_is_transient(e));
    awserr_free(e);
    e = mk(403, "RequestTimeTooSkewed", NULL);
    ck_assert_int_eq(awserr_clock_skew(e), AWSERR_SKEW_YES);
    awserr_free(e);
    e = mk(403, "SignatureDoesNotMatch", NULL);
    ck_assert_int_eq(awserr_clock_skew(e), AWSERR_SKEW_MAYBE);
    awserr_free(e);
    e = mk(400, "InvalidAccessException", "Account is not subscribed to AWS Security Hub");
    ck_assert_int_eq(awserr_clock_skew(e), AWSERR_SKEW_NO);
    ck_assert(!awserr_is_access_denied(e));
    ck_assert(awserr_code_is(e, "InvalidAccessException"));
    ck_assert(!awserr_code_in(e, not_found));
    awserr_free(e);
    e = mk(404, "NoSuchEntity", NULL);
    ck_assert(awserr_code_in(e, not_found));
    awserr_free(e);
    e = mk(500, "", NULL);
    ck_assert_str_eq(e->code, "500");
    ck_assert_str_eq(e->message, "");
    awserr_free(e);
}
END_TEST

START_TEST(iam_actions)
{
    static const struct {
        const char *msg;
        const char *action;
    } cases[] = {
        { "User: arn:aws:iam::123456789012:user/plumb is not authorized to perform: "
          "ec2:DescribeInstances because no identity-based policy allows the "
          "ec2:DescribeInstances action",
          "ec2:DescribeInstances" },
        { "You are not authorized to perform this operation. User: arn:aws:sts::1:assumed-role/r/s "
          "is not authorized to perform: ec2:DescribeFlowLogs with an explicit deny",
          "ec2:DescribeFlowLogs" },
        { "User: arn:aws:iam::1:user/x is not authorized to perform: kms:DescribeKey on resource: "
          "arn:aws:kms:eu-west-1:1:key/abc",
          "kms:DescribeKey" },
        { "User: arn:aws:iam::1:user/x is not authorized to perform: access-analyzer:ListAnalyzers",
          "access-analyzer:ListAnalyzers" },
        { "not authorized to perform: s3:List*", "s3:List*" },
    };
    struct awsmodel *m = NULL;
    struct awserr *e;
    char *a = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        e = mk(403, "AccessDenied", cases[i].msg);
        ck_assert_int_eq(awserr_iam_action(e, NULL, NULL, &a), 0);
        ck_assert_str_eq(a, cases[i].action);
        free(a);
        awserr_free(e);
    }
    ck_assert_int_eq(awsmodel_load_embedded("s3", &m, NULL), 0);
    e = mk(403, "AccessDenied", "Access Denied");
    ck_assert_int_eq(awserr_iam_action(e, m, awsmodel_op(m, "GetBucketPolicy"), &a), 0);
    ck_assert_str_eq(a, "s3:GetBucketPolicy");
    free(a);
    ck_assert_int_eq(awserr_iam_action(e, NULL, NULL, &a), -ENOENT);
    awserr_free(e);
    /* "perform" without an action after it. */
    e = mk(403, "AccessDenied", "You cannot perform this: right now");
    ck_assert_int_eq(awserr_iam_action(e, NULL, NULL, &a), -ENOENT);
    awserr_free(e);
    awsmodel_free(m);
}
END_TEST

START_TEST(describe)
{
    struct awserr *e = mk(403, "AccessDenied", "nope");
    char *s = awserr_describe(e);
    ck_assert_str_eq(s, "AccessDenied: nope (HTTP 403)");
    free(s);
    ck_assert_int_eq(str_replace(&e->request_id, "r-1"), 0);
    s = awserr_describe(e);
    ck_assert_str_eq(s, "AccessDenied: nope (HTTP 403, request id r-1)");
    free(s);
    awserr_free(e);
    ck_assert_str_eq(awserr_reason_phrase(504), "Gateway Timeout");
    ck_assert_str_eq(awserr_reason_phrase(599), "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("awserr");
    TCase *tc = tcase_create("core");
    awsxml_init();
    if (bm_available()) {
        tcase_add_test(tc, botocore_xml_errors);
        tcase_add_test(tc, botocore_json_errors);
    }
    tcase_add_test(tc, codes_and_request_ids);
    tcase_add_test(tc, modeled_fields);
    tcase_add_test(tc, classification);
    tcase_add_test(tc, iam_actions);
    tcase_add_test(tc, describe);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
