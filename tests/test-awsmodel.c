#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsmodel.h"
#include "testutil.h"
#include "util.h"

static json_t *load_json_file(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    ck_assert_msg(j != NULL, "%s: %s", path, jerr.text);
    return j;
}

/* "service Operation" pairs from lib/models/operations.txt. */
static char **read_operations(void)
{
    char *path = tu_srcpath("lib/models/operations.txt");
    char *text = tu_read_file(path), *line, *save = NULL;
    char **pairs = NULL;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        str_trim(line);
        if (*line)
            ck_assert_int_eq(strv_push(&pairs, line), 0);
    }
    free(text);
    free(path);
    return pairs;
}

START_TEST(embedded_models_cover_operations_txt)
{
    struct awsmodels *set = NULL;
    struct perr err = { 0 };
    char **pairs = read_operations();
    size_t n = 0;

    ck_assert_int_eq(awsmodels_load_embedded(&set, &err), 0);
    ck_assert_uint_gt(awsmodels_count(set), 20);
    for (char **p = pairs; p && *p; p++) {
        char svc[64], op[128];
        const struct awsmodel *m;
        ck_assert_int_eq(sscanf(*p, "%63s %127s", svc, op), 2);
        m = awsmodels_get(set, svc);
        ck_assert_msg(m != NULL, "no model for %s", svc);
        ck_assert_msg(awsmodel_op(m, op) != NULL, "%s has no %s", svc, op);
        n++;
    }
    ck_assert_uint_gt(n, 100);
    /* Nothing beyond the list is shipped. */
    for (size_t i = 0; i < awsmodels_count(set); i++) {
        const struct awsmodel *m = awsmodels_at(set, i);
        for (size_t k = 0; k < m->n_ops; k++) {
            char want[200];
            snprintf(want, sizeof(want), "%s %s", m->service, m->ops[k].name);
            ck_assert_msg(strv_contains(pairs, want), "%s is shipped but not listed", want);
        }
    }
    ck_assert_ptr_null(awsmodels_get(set, "nosuchservice"));
    ck_assert_ptr_null(awsmodels_at(set, 1000));
    strv_free(pairs);
    awsmodels_free(set);
}
END_TEST

START_TEST(metadata_and_traits)
{
    struct awsmodel *m = NULL;
    struct perr err = { 0 };
    const struct awsop *op;
    const struct awsshape *s;
    const struct awsmember *mem;

    ck_assert_int_eq(awsmodel_load_embedded("ec2", &m, &err), 0);
    ck_assert_int_eq(m->protocol, AWS_PROTOCOL_EC2);
    ck_assert_str_eq(m->signing_name, "ec2");
    ck_assert_str_eq(m->api_version, "2016-11-15");
    op = awsmodel_op(m, "DescribeInstances");
    ck_assert_ptr_nonnull(op);
    ck_assert_str_eq(op->method, "POST");
    ck_assert_ptr_nonnull(op->paginator);
    ck_assert_str_eq(op->paginator->input_tokens[0], "NextToken");
    /* ec2 members carry lowerCamel locationNames, list members "item". */
    mem = awsshape_member(op->output.shape, "Reservations");
    ck_assert_ptr_nonnull(mem);
    ck_assert_str_eq(mem->ref.location_name, "reservationSet");
    ck_assert_str_eq(mem->ref.shape->member.location_name, "item");
    mem = awsshape_member(op->input.shape, "Filters");
    ck_assert_str_eq(mem->ref.location_name, "Filter");
    m = awsmodel_free(m);

    ck_assert_int_eq(awsmodel_load_embedded("s3", &m, &err), 0);
    ck_assert_int_eq(m->protocol, AWS_PROTOCOL_REST_XML);
    op = awsmodel_op(m, "GetObject");
    ck_assert_str_eq(op->request_uri, "/{Bucket}/{Key+}");
    ck_assert_str_eq(op->output.shape->payload, "Body");
    mem = awsshape_member(op->input.shape, "Bucket");
    ck_assert_int_eq(mem->ref.location, AWS_LOC_URI);
    ck_assert(mem->required);
    mem = awsshape_member(op->output.shape, "Metadata");
    ck_assert_int_eq(mem->ref.location, AWS_LOC_HEADERS);
    ck_assert_str_eq(mem->ref.location_name, "x-amz-meta-");
    s = awsmodel_shape(m, "NoSuchKey");
    ck_assert(s && s->exception);
    ck_assert_ptr_eq(awsmodel_error_shape(m, "NoSuchKey"), s);
    ck_assert_ptr_null(awsmodel_error_shape(m, "NoSuchThing"));
    m = awsmodel_free(m);

    ck_assert_int_eq(awsmodel_load_embedded("kms", &m, &err), 0);
    ck_assert_int_eq(m->protocol, AWS_PROTOCOL_JSON);
    ck_assert_str_eq(m->target_prefix, "TrentService");
    ck_assert_str_eq(m->json_version, "1.1");
    m = awsmodel_free(m);

    ck_assert_int_eq(awsmodel_load_embedded("sts", &m, &err), 0);
    ck_assert(awsmodel_op(m, "AssumeRoleWithWebIdentity")->unsigned_request);
    ck_assert(!awsmodel_op(m, "AssumeRole")->unsigned_request);
    ck_assert_str_eq(awsmodel_op(m, "AssumeRole")->output.result_wrapper, "AssumeRoleResult");
    m = awsmodel_free(m);

    ck_assert_int_eq(awsmodel_load_embedded("nosuch", &m, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "no built-in model for service \"nosuch\"");
}
END_TEST

/* A member reference's traits override its target shape's. */
START_TEST(trait_merging)
{
    const char *doc_text =
        "{\"metadata\":{\"protocol\":\"rest-xml\",\"apiVersion\":\"1\"},"
        "\"operations\":{\"Op\":{\"name\":\"Op\",\"http\":{\"method\":\"GET\","
        "\"requestUri\":\"/\"},\"output\":{\"shape\":\"Out\"}}},"
        "\"shapes\":{\"Out\":{\"type\":\"structure\",\"members\":{"
        "\"B\":{\"shape\":\"Ts\",\"locationName\":\"bee\",\"timestampFormat\":\"rfc822\"},"
        "\"A\":{\"shape\":\"Ts\"},"
        "\"L\":{\"shape\":\"List\",\"flattened\":true}}},"
        "\"Ts\":{\"type\":\"timestamp\",\"timestampFormat\":\"unixTimestamp\","
        "\"locationName\":\"tee\"},"
        "\"List\":{\"type\":\"list\",\"member\":{\"shape\":\"Ts\",\"locationName\":\"x\"}}}}";
    json_t *doc = json_loads(doc_text, 0, NULL);
    struct awsmodel *m = NULL;
    struct perr err = { 0 };
    const struct awsshape *out;

    ck_assert_int_eq(awsmodel_load_json(doc, "t", &m, &err), 0);
    out = awsmodel_op(m, "Op")->output.shape;
    /* Members keep model order. */
    ck_assert_str_eq(out->members[0].name, "B");
    ck_assert_str_eq(out->members[1].name, "A");
    ck_assert_str_eq(out->members[0].ref.location_name, "bee");
    ck_assert_int_eq(out->members[0].ref.timestamp_format, AWS_TS_RFC822);
    ck_assert_str_eq(out->members[1].ref.location_name, "tee");
    ck_assert_int_eq(out->members[1].ref.timestamp_format, AWS_TS_UNIX);
    ck_assert(out->members[2].ref.flattened);
    ck_assert(!out->members[2].ref.shape->traits.flattened);
    ck_assert_str_eq(out->members[2].ref.shape->member.location_name, "x");
    awsmodel_free(m);
    json_decref(doc);
}
END_TEST

static void expect_load_error(const char *text, int code, const char *msg)
{
    json_t *doc = json_loads(text, 0, NULL);
    struct awsmodel *m = NULL;
    struct perr err = { 0 };

    ck_assert_msg(doc != NULL, "bad test JSON: %s", text);
    ck_assert_int_eq(awsmodel_load_json(doc, "bad", &m, &err), code);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err.msg, msg);
    json_decref(doc);
}

#define MD "\"metadata\":{\"protocol\":\"json\"}"

START_TEST(bad_models)
{
    expect_load_error("{\"shapes\":{},\"operations\":{}}", -EINVAL,
                      "model bad: no \"metadata\" object");
    expect_load_error("{\"metadata\":{\"protocol\":\"smithy-rpc-v2-cbor\"},\"shapes\":{},"
                      "\"operations\":{}}",
                      -EOPNOTSUPP, "model bad: unsupported protocol \"smithy-rpc-v2-cbor\"");
    expect_load_error("{\"metadata\":{\"protocols\":[\"smithy-rpc-v2-cbor\"]},\"shapes\":{},"
                      "\"operations\":{}}",
                      -EOPNOTSUPP, "model bad: none of its protocols is supported");
    expect_load_error("{" MD ",\"operations\":{}}", -EINVAL, "model bad: no \"shapes\" object");
    expect_load_error("{" MD ",\"shapes\":{\"S\":{\"type\":\"tuple\"}},\"operations\":{}}", -EINVAL,
                      "model bad: shape S: unknown type \"tuple\"");
    expect_load_error("{" MD ",\"shapes\":{\"S\":{\"type\":\"structure\",\"members\":"
                      "{\"A\":{\"shape\":\"Nope\"}}}},\"operations\":{}}",
                      -EINVAL,
                      "model bad: shape S member A: reference to undefined shape \"Nope\"");
    expect_load_error("{" MD ",\"shapes\":{\"S\":{\"type\":\"structure\",\"members\":"
                      "{\"A\":{\"shape\":\"S\",\"location\":\"cookie\"}}}},\"operations\":{}}",
                      -EINVAL, "model bad: shape S member A: unknown location \"cookie\"");
    expect_load_error("{" MD ",\"shapes\":{\"S\":{\"type\":\"timestamp\",\"timestampFormat\":"
                      "\"julian\"}},\"operations\":{}}",
                      -EINVAL, "model bad: shape S: unknown timestampFormat \"julian\"");
    expect_load_error("{" MD ",\"shapes\":{\"S\":{\"type\":\"structure\",\"members\":{},"
                      "\"required\":[\"X\"]}},\"operations\":{}}",
                      -EINVAL, "model bad: shape S: required member X is not a member");
    expect_load_error("{" MD ",\"shapes\":{\"L\":{\"type\":\"list\"}},\"operations\":{}}", -EINVAL,
                      "model bad: shape L: shape reference without \"shape\"");
    expect_load_error("{" MD ",\"shapes\":{},\"operations\":{\"Op\":{\"input\":"
                      "{\"shape\":\"In\"}}}}",
                      -EINVAL, "model bad: operation Op: reference to undefined shape \"In\"");
    expect_load_error("{" MD ",\"shapes\":{},\"operations\":{\"Op\":{\"errors\":"
                      "[{\"shape\":\"E\"}]}}}",
                      -EINVAL, "model bad: operation Op: error shape \"E\" is not defined");
    expect_load_error("{" MD ",\"shapes\":{},\"operations\":{},\"paginators\":{\"Op\":"
                      "{\"input_token\":[\"A\",\"B\"],\"output_token\":\"C\"}}}",
                      -EINVAL,
                      "model bad: paginator Op: input_token and output_token do not "
                      "pair up");
    expect_load_error("{" MD ",\"shapes\":{},\"operations\":{},\"paginators\":{\"Op\":"
                      "{\"input_token\":7,\"output_token\":\"C\"}}}",
                      -EINVAL, "model bad: paginator Op: expected a string or a list of strings");
}
END_TEST

START_TEST(load_file_errors)
{
    struct awsmodel *m = NULL;
    struct perr err = { 0 };
    char *dir = tu_tmpdir(), *path = tu_path_join(dir, "broken.json");

    ck_assert_int_eq(awsmodel_load_file("/nonexistent/x.json", NULL, &m, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "/nonexistent/x.json: No such file or directory");
    tu_write_file(path, "{\"metadata\": ");
    ck_assert_int_eq(awsmodel_load_file(path, NULL, &m, &err), -EINVAL);
    ck_assert(str_has_prefix(err.msg, "model broken: line 1: "));
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Service name from "<service>-<yyyy>-<mm>-<dd>-paginators-1.json". */
static char *service_of(const char *file)
{
    char *s = strdup(file), *p;
    int dashes = 0;
    p = strstr(s, "-paginators-1.json");
    ck_assert_ptr_nonnull(p);
    *p = '\0';
    for (p = s + strlen(s); p > s; p--)
        if (p[-1] == '-' && ++dashes == 3) {
            p[-1] = '\0';
            break;
        }
    return s;
}

static void check_strings(const char *const *mine, json_t *theirs, const char *what)
{
    if (json_is_string(theirs)) {
        ck_assert_msg(mine[0] && !mine[1] && str_eq(mine[0], json_string_value(theirs)), "%s",
                      what);
    } else {
        size_t i;
        json_t *v;
        ck_assert_msg(json_is_array(theirs), "%s", what);
        json_array_foreach (theirs, i, v)
            ck_assert_msg(str_eq(mine[i], json_string_value(v)), "%s[%zu]", what, i);
        ck_assert_msg(mine[json_array_size(theirs)] == NULL, "%s: extra entries", what);
    }
}

/* The shipped paginators agree with botocore's paginators-1.json files
 * in the fixtures for every operation plumb lists. */
START_TEST(paginators_match_fixtures)
{
    static const char *const pag_keys[] = { "input_token", "output_token", "more_results",
                                            "limit_key", "result_key" };
    char *dirpath = tu_fixture("aws-responses/botocore-models/paginators");
    DIR *d = opendir(dirpath);
    struct dirent *de;
    char **pairs = read_operations();
    size_t checked = 0, services = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        char *svc, *path;
        struct awsmodel *m = NULL;
        json_t *fx, *pag;
        if (!str_has_suffix(de->d_name, "-paginators-1.json"))
            continue;
        svc = service_of(de->d_name);
        if (awsmodel_load_embedded(svc, &m, NULL) < 0) {
            free(svc);
            continue; /* plumb calls nothing of that service */
        }
        services++;
        path = tu_path_join(dirpath, de->d_name);
        fx = load_json_file(path);
        pag = json_object_get(fx, "pagination");
        for (size_t i = 0; i < m->n_ops; i++) {
            const struct awsop *op = &m->ops[i];
            json_t *want = json_object_get(pag, op->name);
            json_t *shipped = json_object_get(json_object_get(m->root, "paginators"), op->name);
            char what[256];
            snprintf(what, sizeof(what), "%s %s", svc, op->name);
            ck_assert_msg((want == NULL) == (op->paginator == NULL), "%s: paginator presence",
                          what);
            if (!want)
                continue;
            /* The shipped entry may carry botocore's sdk-extras
             * (non_aggregate_keys); the keys that drive paging match. */
            ck_assert_msg(json_is_object(shipped), "%s: not shipped", what);
            for (size_t k = 0; k < ARRAY_SIZE(pag_keys); k++)
                ck_assert_msg(json_equal(json_object_get(want, pag_keys[k]),
                                         json_object_get(shipped, pag_keys[k])) ||
                                  (!json_object_get(want, pag_keys[k]) &&
                                   !json_object_get(shipped, pag_keys[k])),
                              "%s: %s differs", what, pag_keys[k]);
            check_strings(op->paginator->input_tokens, json_object_get(want, "input_token"), what);
            check_strings(op->paginator->output_tokens, json_object_get(want, "output_token"),
                          what);
            ck_assert_msg(str_eq(op->paginator->more_results,
                                 json_string_value(json_object_get(want, "more_results"))),
                          "%s more_results", what);
            ck_assert_msg(str_eq(op->paginator->limit_key,
                                 json_string_value(json_object_get(want, "limit_key"))),
                          "%s limit_key", what);
            checked++;
        }
        json_decref(fx);
        awsmodel_free(m);
        free(path);
        free(svc);
    }
    closedir(d);
    printf("paginators: %zu operations of %zu services agree with the fixtures\n", checked,
           services);
    ck_assert_uint_ge(services, 9);
    ck_assert_uint_ge(checked, 30);
    strv_free(pairs);
    free(dirpath);
}
END_TEST

/* The checked-in models are what gen-models.py makes from the installed
 * botocore (when it is the version they were made from). */
START_TEST(models_are_fresh)
{
    char *script = tu_srcpath("tools/gen-models.py");
    char *out = NULL, *errout = NULL;
    const char *ver_argv[] = { "python3", "-c", "import botocore; print(botocore.__version__)",
                               NULL };
    const char *argv[] = { "python3", script, "--check", NULL };
    struct awsmodel *m = NULL;
    const char *shipped;
    int rc;

    ck_assert_int_eq(awsmodel_load_embedded("sts", &m, NULL), 0);
    shipped = json_string_value(json_object_get(json_object_get(m->root, "generator"), "botocore"));
    ck_assert_ptr_nonnull(shipped);
    rc = tu_run(ver_argv, NULL, &out, &errout);
    if (rc != 0 || !str_has_prefix(out, shipped) || out[strlen(shipped)] != '\n') {
        printf("models_are_fresh: skipped, installed botocore is not %s\n", shipped);
    } else {
        free(out);
        free(errout);
        rc = tu_run(argv, NULL, &out, &errout);
        ck_assert_msg(rc == 0, "gen-models.py --check: %s", errout);
    }
    free(out);
    free(errout);
    awsmodel_free(m);
    free(script);
}
END_TEST

START_TEST(timestamps)
{
    int64_t ms;
    char buf[AWS_TS_BUFSZ];

    ck_assert_int_eq(aws_ts_parse("2015-01-25T08:00:00Z", &ms), 0);
    ck_assert_int_eq(ms, 1422172800000LL);
    ck_assert_int_eq(aws_ts_parse("2015-01-25T09:00:00.5+01:00", &ms), 0);
    ck_assert_int_eq(ms, 1422172800500LL);
    ck_assert_int_eq(aws_ts_parse(" 1422172800 ", &ms), 0);
    ck_assert_int_eq(ms, 1422172800000LL);
    ck_assert_int_eq(aws_ts_parse("1.422172800123E9", &ms), 0);
    ck_assert_int_eq(ms, 1422172800123LL);
    ck_assert_int_eq(aws_ts_parse("Sun, 25 Jan 2015 08:00:00 GMT", &ms), 0);
    ck_assert_int_eq(ms, 1422172800000LL);
    ck_assert_int_eq(aws_ts_parse("", &ms), -EINVAL);
    ck_assert_int_eq(aws_ts_parse("yesterday", &ms), -EINVAL);
    ck_assert_int_eq(aws_ts_parse("1e400", &ms), -ERANGE);
    ck_assert_int_eq(aws_ts_parse("99999999999999", &ms), -ERANGE);
    ck_assert_int_eq(aws_ts_from_epoch(-1.5, &ms), 0);
    ck_assert_int_eq(ms, -1500);

    aws_ts_format(1422172800000LL, buf);
    ck_assert_str_eq(buf, "2015-01-25T08:00:00Z");
    aws_ts_format(1422172800120LL, buf);
    ck_assert_str_eq(buf, "2015-01-25T08:00:00.120Z");
    aws_ts_format_wire(1422172800120LL, AWS_TS_ISO8601, buf);
    ck_assert_str_eq(buf, "2015-01-25T08:00:00.120000Z");
    aws_ts_format_wire(1422172800000LL, AWS_TS_ISO8601, buf);
    ck_assert_str_eq(buf, "2015-01-25T08:00:00Z");
    aws_ts_format_wire(1422172800999LL, AWS_TS_UNIX, buf);
    ck_assert_str_eq(buf, "1422172800");
    aws_ts_format_wire(1422172800000LL, AWS_TS_RFC822, buf);
    ck_assert_str_eq(buf, "Sun, 25 Jan 2015 08:00:00 GMT");
    aws_ts_format_wire(-1500, AWS_TS_ISO8601, buf);
    ck_assert_str_eq(buf, "1969-12-31T23:59:58.500000Z");
}
END_TEST

START_TEST(scalars_from_text)
{
    const char *doc_text =
        "{\"metadata\":{\"protocol\":\"rest-json\"},\"operations\":{},\"shapes\":{"
        "\"I\":{\"type\":\"integer\"},\"F\":{\"type\":\"double\"},\"B\":{\"type\":\"boolean\"},"
        "\"T\":{\"type\":\"timestamp\"},\"L\":{\"type\":\"blob\"},\"S\":{\"type\":\"string\"},"
        "\"J\":{\"type\":\"string\"},"
        "\"H\":{\"type\":\"structure\",\"members\":{\"j\":{\"shape\":\"J\",\"jsonvalue\":true,"
        "\"location\":\"header\",\"locationName\":\"X-J\"}}}}}";
    json_t *doc = json_loads(doc_text, 0, NULL), *v;
    struct awsmodel *m = NULL;
    struct perr err = { 0 };

    ck_assert_int_eq(awsmodel_load_json(doc, "t", &m, &err), 0);
#define REF(n) (&awsmodel_shape(m, n)->traits)
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("I"), " -42 ", true, "i", &v, &err), 0);
    ck_assert_int_eq(json_integer_value(v), -42);
    json_decref(v);
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("I"), "4x", true, "i", &v, &err), -EBADMSG);
    ck_assert_str_eq(err.msg, "i: invalid integer \"4x\"");
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("F"), "-inf", true, "f", &v, &err), 0);
    ck_assert_str_eq(json_string_value(v), "-Infinity");
    json_decref(v);
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("F"), "0x10", true, "f", &v, &err), -EBADMSG);
    ck_assert_str_eq(err.msg, "f: invalid number \"0x10\"");
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("B"), "True", true, "b", &v, &err), 0);
    ck_assert(json_is_false(v));
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("B"), "True", false, "b", &v, &err), 0);
    ck_assert(json_is_true(v));
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("T"), "1422172800.5", true, "t", &v, &err), 0);
    ck_assert_str_eq(json_string_value(v), "2015-01-25T08:00:00.500Z");
    json_decref(v);
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("T"), "soon", true, "t", &v, &err), -EBADMSG);
    ck_assert_str_eq(err.msg, "t: invalid timestamp \"soon\"");
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("L"), " dmFs\n dWU= ", true, "l", &v, &err), 0);
    ck_assert_str_eq(json_string_value(v), "dmFsdWU=");
    json_decref(v);
    ck_assert_int_eq(awsmodel_scalar_from_text(REF("S"), "\xff", true, "s", &v, &err), -EBADMSG);
    ck_assert_str_eq(err.msg, "s: not valid UTF-8");
    /* jsonvalue applies to headers only. */
    {
        const struct awsref *hj = &awsmodel_shape(m, "H")->members[0].ref;
        ck_assert_int_eq(awsmodel_scalar_from_text(hj, "eyJhIjpbMV19", true, "h", &v, &err), 0);
        ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(v, "a"), 0)), 1);
        json_decref(v);
        ck_assert_int_eq(awsmodel_scalar_from_text(hj, "!!", true, "h", &v, &err), -EBADMSG);
        ck_assert_str_eq(err.msg, "h: header value is not base64");
    }
#undef REF
    awsmodel_free(m);
    json_decref(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("awsmodel");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, embedded_models_cover_operations_txt);
    tcase_add_test(tc, metadata_and_traits);
    tcase_add_test(tc, trait_merging);
    tcase_add_test(tc, bad_models);
    tcase_add_test(tc, load_file_errors);
    tcase_add_test(tc, paginators_match_fixtures);
    tcase_add_test(tc, models_are_fresh);
    tcase_add_test(tc, timestamps);
    tcase_add_test(tc, scalars_from_text);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
