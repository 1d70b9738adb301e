#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "controls.h"
#include "evaluate.h"
#include "report.h"
#include "testutil.h"
#include "util.h"

#define NOW_MS 1748736000000LL /* 2025-06-01T00:00:00Z */

static const struct report_meta meta = {
    .product_name = "plumb",
    .product_version = "0.1.0",
    .vendor_name = "plumb",
    .home_region = "us-east-1",
};

static struct catalogue *cat;

static void load_catalogue(void)
{
    const char *d = getenv("PLUMB_DATADIR");
    char *dir = str_printf("%s/baseline", d ? d : ".");
    char *paths[] = { dir, NULL };
    struct perr err = { 0 };
    ck_assert_msg(controls_load(paths, NULL, &cat, &err) == 0, "%s", err.msg);
    free(dir);
}

static void unload_catalogue(void)
{
    cat = controls_free(cat);
}

static struct finding *mkp(const char *partition, const char *control, enum finding_status st,
                           const char *region, const char *rtype, const char *rid, const char *arn,
                           const char *detail)
{
    struct finding f = { 0 };
    f.control = controls_find(cat, control);
    ck_assert_msg(f.control != NULL, "no control %s", control);
    f.status = st;
    f.severity = f.control->severity;
    f.partition = (char *)partition;
    f.account = (char *)"111111111111";
    f.region = (char *)region;
    f.resource_type = (char *)rtype;
    f.resource_id = (char *)rid;
    f.aws_type = NULL;
    f.arn = (char *)arn;
    f.detail = (char *)(detail ? detail : "");
    f.time = NOW_MS;
    return finding_copy(&f);
}

static struct finding *mk(const char *control, enum finding_status st, const char *region,
                          const char *rtype, const char *rid, const char *arn, const char *detail)
{
    return mkp("aws", control, st, region, rtype, rid, arn, detail);
}

/* ---- ASFF against the Security Hub service model ---- */

/* botocore's securityhub model, read through the pyenv python (it is
 * gzip'd); NULL if botocore is not installed. */
static json_t *securityhub_model(void)
{
    static const char *const argv[] = {
        "python3", "-c",
        "import botocore, glob, gzip, os, sys\n"
        "d = os.path.join(os.path.dirname(botocore.__file__), 'data', 'securityhub')\n"
        "p = sorted(glob.glob(os.path.join(d, '*', 'service-2.json*')))[-1]\n"
        "sys.stdout.write((gzip.open(p) if p.endswith('.gz') else open(p, "
        "'rb')).read().decode())\n",
        NULL
    };
    char *out = NULL, *errout = NULL;
    json_error_t je;
    json_t *model = NULL;
    if (tu_run(argv, NULL, &out, &errout) == 0 && out)
        model = json_loads(out, 0, &je);
    free(out);
    free(errout);
    return model;
}

static json_t *model;

/* "Maximum length of 256." / "Maximum number of 32 items." from the
 * member documentation; 0 when not stated. */
static long doc_limit(const json_t *member, const char *what)
{
    const char *doc = json_string_value(json_object_get(member, "documentation"));
    const char *p = doc ? strstr(doc, what) : NULL;
    return p ? strtol(p + strlen(what), NULL, 10) : 0;
}

static void validate(const json_t *v, const char *shape_name, const json_t *member,
                     const char *path, int *errors)
{
    const json_t *shape = json_object_get(json_object_get(model, "shapes"), shape_name);
    const char *type = json_string_value(json_object_get(shape, "type"));
    long maxlen = member ? doc_limit(member, "Maximum length of ") : 0;
    long maxitems = member ? doc_limit(member, "Maximum number of ") : 0;
    char sub[512];

    ck_assert_msg(shape != NULL, "no shape %s", shape_name);
    if (str_eq(type, "structure")) {
        const json_t *members = json_object_get(shape, "members");
        const char *k;
        json_t *x;
        size_t i;
        if (!json_is_object(v)) {
            fprintf(stderr, "%s: expected an object (%s)\n", path, shape_name);
            (*errors)++;
            return;
        }
        json_array_foreach (json_object_get(shape, "required"), i, x) {
            if (!json_object_get(v, json_string_value(x))) {
                fprintf(stderr, "%s: missing required %s\n", path, json_string_value(x));
                (*errors)++;
            }
        }
        json_object_foreach ((json_t *)v, k, x) {
            const json_t *m = json_object_get(members, k);
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            if (!m) {
                fprintf(stderr, "%s: not a member of %s\n", sub, shape_name);
                (*errors)++;
                continue;
            }
            validate(x, json_string_value(json_object_get(m, "shape")), m, sub, errors);
        }
    } else if (str_eq(type, "list")) {
        size_t i;
        json_t *x;
        if (!json_is_array(v)) {
            fprintf(stderr, "%s: expected an array\n", path);
            (*errors)++;
            return;
        }
        if ((maxitems && (long)json_array_size(v) > maxitems) ||
            (json_integer_value(json_object_get(shape, "max")) &&
             (json_int_t)json_array_size(v) > json_integer_value(json_object_get(shape, "max")))) {
            fprintf(stderr, "%s: too many items (%zu)\n", path, json_array_size(v));
            (*errors)++;
        }
        json_array_foreach (v, i, x) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            validate(x,
                     json_string_value(json_object_get(json_object_get(shape, "member"), "shape")),
                     NULL, sub, errors);
        }
    } else if (str_eq(type, "map")) {
        const char *k;
        json_t *x;
        if (!json_is_object(v)) {
            fprintf(stderr, "%s: expected an object (map)\n", path);
            (*errors)++;
            return;
        }
        json_object_foreach ((json_t *)v, k, x) {
            json_t *key = json_string(k);
            snprintf(sub, sizeof(sub), "%s[%s]", path, k);
            validate(key,
                     json_string_value(json_object_get(json_object_get(shape, "key"), "shape")),
                     NULL, sub, errors);
            validate(x,
                     json_string_value(json_object_get(json_object_get(shape, "value"), "shape")),
                     NULL, sub, errors);
            json_decref(key);
        }
    } else if (str_eq(type, "string")) {
        const json_t *en = json_object_get(shape, "enum");
        const char *s = json_string_value(v);
        const char *pat = json_string_value(json_object_get(shape, "pattern"));
        if (!json_is_string(v)) {
            fprintf(stderr, "%s: expected a string\n", path);
            (*errors)++;
            return;
        }
        if (en) {
            bool ok = false;
            size_t i;
            json_t *x;
            json_array_foreach (en, i, x)
                ok = ok || str_eq(json_string_value(x), s);
            if (!ok) {
                fprintf(stderr, "%s: '%s' is not in the enum of %s\n", path, s, shape_name);
                (*errors)++;
            }
        }
        /* NonEmptyString: .*\S.* */
        if (str_eq(pat, ".*\\S.*") && s[strspn(s, " \t\r\n")] == '\0') {
            fprintf(stderr, "%s: blank string\n", path);
            (*errors)++;
        }
        if (maxlen && (long)strlen(s) > maxlen) {
            fprintf(stderr, "%s: %zu bytes, more than %ld\n", path, strlen(s), maxlen);
            (*errors)++;
        }
    } else if (str_eq(type, "integer") || str_eq(type, "long")) {
        if (!json_is_integer(v)) {
            fprintf(stderr, "%s: expected an integer\n", path);
            (*errors)++;
        }
    } else if (str_eq(type, "double") || str_eq(type, "float")) {
        if (!json_is_number(v)) {
            fprintf(stderr, "%s: expected a number\n", path);
            (*errors)++;
        }
    } else if (str_eq(type, "boolean")) {
        if (!json_is_boolean(v)) {
            fprintf(stderr, "%s: expected a boolean\n", path);
            (*errors)++;
        }
    }
}

static int validate_asff(const json_t *finding)
{
    int errors = 0;
    validate(finding, "AwsSecurityFinding", NULL, "finding", &errors);
    return errors;
}

/* A spread of findings: every status, resource/region/account/global
 * scopes, long texts, warnings. */
static size_t sample_findings(struct finding **out, size_t max)
{
    size_t n = 0;
    char *longdetail = malloc(3000);
    memset(longdetail, 'x', 2999);
    longdetail[2999] = '\0';
    ck_assert_uint_ge(max, 8);
    out[n++] = mk("enc-rds-instance", FINDING_FAIL, "eu-west-1", "aws_db_instance", "db1",
                  "arn:aws:rds:eu-west-1:111111111111:db:db1",
                  "storage_encrypted is false, expected true");
    out[n++] = mk("enc-rds-instance", FINDING_PASS, "eu-west-1", "aws_db_instance", "db2",
                  "arn:aws:rds:eu-west-1:111111111111:db:db2", NULL);
    out[n++] = mk("log-guardduty-all-regions", FINDING_NOT_APPLICABLE, "ap-south-1", "region",
                  "ap-south-1", NULL, "region unused");
    out[n++] =
        mk("acc-password-policy", FINDING_FAIL, RESOURCE_REGION_GLOBAL, "account", "111111111111",
           NULL, "no aws_iam_account_password_policy in account 111111111111");
    out[n++] = mk("acc-iam-console-mfa", FINDING_UNKNOWN, RESOURCE_REGION_GLOBAL,
                  "plumb_iam_credential_report", "alice", "arn:aws:iam::111111111111:user/alice",
                  "plumb_iam_credential_report not collected in 111111111111/global: "
                  "access_denied");
    out[n++] = mk("enc-s3-sse-kms", FINDING_FAIL, "eu-central-1", "aws_s3_bucket", "b1",
                  "arn:aws:s3:::b1", longdetail);
    out[n - 1]->warning = true;
    out[n - 1]->severity = CONTROL_SEVERITY_LOW;
    out[n++] = mk("tls-cloudfront-viewer-min", FINDING_FAIL, RESOURCE_REGION_GLOBAL,
                  "aws_cloudfront_distribution", "E1",
                  "arn:aws:cloudfront::111111111111:distribution/E1", "x");
    out[n - 1]->first_seen = NOW_MS - 86400000;
    out[n++] = mk("net-sg-admin-ports", FINDING_FAIL, "eu-west-1", "aws_security_group", "sg-1",
                  NULL, "ingress[1]: rule allows tcp port 22 from 0.0.0.0/0");
    free(longdetail);
    return n;
}

START_TEST(asff_validates_against_the_model)
{
    struct finding *fs[16];
    size_t n = sample_findings(fs, ARRAY_SIZE(fs));
    for (size_t i = 0; i < n; i++) {
        json_t *a = report_asff(fs[i], &meta);
        ck_assert_ptr_nonnull(a);
        ck_assert_msg(validate_asff(a) == 0, "finding %zu does not validate", i);
        json_decref(a);
        finding_free(fs[i]);
    }
}
END_TEST

START_TEST(asff_batch_validates)
{
    struct finding *fs[16];
    size_t n = sample_findings(fs, ARRAY_SIZE(fs));
    const struct finding *many[REPORT_ASFF_BATCH_MAX + 1];
    struct buf b;
    json_t *doc;
    json_error_t je;
    int errors = 0;

    for (size_t i = 0; i < ARRAY_SIZE(many); i++)
        many[i] = fs[i % n];
    buf_init(&b, 4u << 20);
    ck_assert_int_eq(report_asff_batch(many, REPORT_ASFF_BATCH_MAX, &meta, &b), 0);
    doc = json_loads(buf_str(&b), 0, &je);
    ck_assert_ptr_nonnull(doc);
    validate(doc, "BatchImportFindingsRequest", NULL, "request", &errors);
    ck_assert_int_eq(errors, 0);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "Findings")), 100);
    json_decref(doc);
    ck_assert_int_eq(report_asff_batch(many, REPORT_ASFF_BATCH_MAX + 1, &meta, &b), -EINVAL);
    ck_assert_int_eq(report_asff_batch(many, 0, &meta, &b), -EINVAL);
    buf_free(&b);
    for (size_t i = 0; i < n; i++)
        finding_free(fs[i]);
}
END_TEST

/* The validator itself rejects what the model forbids. */
START_TEST(asff_validator_rejects)
{
    struct finding *f =
        mk("enc-rds-instance", FINDING_FAIL, "eu-west-1", "aws_db_instance", "db1", NULL, "d");
    json_t *a = report_asff(f, &meta);
    json_object_del(a, "Title");
    ck_assert_int_eq(validate_asff(a), 1);
    json_object_set_new(a, "Title", json_string("   "));
    ck_assert_int_eq(validate_asff(a), 1);
    json_object_set_new(a, "Title", json_string("ok"));
    json_object_set_new(json_object_get(a, "Severity"), "Label", json_string("SEVERE"));
    ck_assert_int_eq(validate_asff(a), 1);
    json_object_set_new(json_object_get(a, "Severity"), "Label", json_string("HIGH"));
    json_object_set_new(a, "Bogus", json_true());
    ck_assert_int_eq(validate_asff(a), 1);
    json_object_del(a, "Bogus");
    ck_assert_int_eq(validate_asff(a), 0);
    json_decref(a);
    finding_free(f);
}
END_TEST

START_TEST(asff_fields)
{
    struct finding *fs[16];
    size_t n = sample_findings(fs, ARRAY_SIZE(fs));
    json_t *a;
    const json_t *res, *reqs, *comp;
    size_t i;
    json_t *x;
    bool proposed = false;

    /* A failing RDS instance. */
    a = report_asff(fs[0], &meta);
    ck_assert_str_eq(json_string_value(json_object_get(a, "SchemaVersion")), "2018-10-08");
    ck_assert_str_eq(json_string_value(json_object_get(a, "ProductArn")),
                     "arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default");
    ck_assert_str_eq(json_string_value(json_object_get(a, "Id")),
                     "plumb/enc-rds-instance/111111111111/eu-west-1/aws_db_instance/db1");
    ck_assert_str_eq(json_string_value(json_object_get(a, "GeneratorId")),
                     "plumb/enc-rds-instance");
    ck_assert_str_eq(json_string_value(json_object_get(a, "AwsAccountId")), "111111111111");
    ck_assert_str_eq(json_string_value(json_object_get(a, "CreatedAt")),
                     "2025-06-01T00:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(a, "UpdatedAt")),
                     "2025-06-01T00:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "Severity"), "Label")),
                     "HIGH");
    ck_assert_str_eq(json_string_value(json_object_get(a, "Title")),
                     "RDS DB instance storage encrypted");
    ck_assert_str_eq(
        json_string_value(json_object_get(a, "Description")),
        "RDS DB instance storage encrypted: storage_encrypted is false, expected true");
    res = json_array_get(json_object_get(a, "Resources"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(res, "Type")), "AwsRdsDbInstance");
    ck_assert_str_eq(json_string_value(json_object_get(res, "Id")),
                     "arn:aws:rds:eu-west-1:111111111111:db:db1");
    ck_assert_str_eq(json_string_value(json_object_get(res, "Partition")), "aws");
    ck_assert_str_eq(json_string_value(json_object_get(res, "Region")), "eu-west-1");
    comp = json_object_get(a, "Compliance");
    ck_assert_str_eq(json_string_value(json_object_get(comp, "Status")), "FAILED");
    reqs = json_object_get(comp, "RelatedRequirements");
    json_array_foreach (reqs, i, x)
        proposed = proposed || str_eq(json_string_value(x), "NIS2 Art. 21(2)(h) (proposed)");
    ck_assert(proposed);
    ck_assert_str_eq(json_string_value(json_array_get(reqs, 1)), "DORA Art. 9");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(comp, "StatusReasons"), 0), "ReasonCode")),
                     "PLUMB_FAIL");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(a, "Remediation"), "Recommendation"), "Url")),
        "https://docs.aws.amazon.com/config/latest/developerguide/rds-storage-encrypted.html");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(a, "ProductFields"), "plumb/Result")),
        "FAIL");
    json_decref(a);

    /* Passing findings are informational and carry no status reason. */
    a = report_asff(fs[1], &meta);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "Severity"), "Label")),
                     "INFORMATIONAL");
    comp = json_object_get(a, "Compliance");
    ck_assert_str_eq(json_string_value(json_object_get(comp, "Status")), "PASSED");
    ck_assert_ptr_null(json_object_get(comp, "StatusReasons"));
    json_decref(a);

    /* Not applicable and unknown. */
    a = report_asff(fs[2], &meta);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "Compliance"), "Status")),
                     "NOT_AVAILABLE");
    res = json_array_get(json_object_get(a, "Resources"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(res, "Type")), "AwsAccount");
    ck_assert_str_eq(json_string_value(json_object_get(res, "Id")), "AWS::::Account:111111111111");
    ck_assert_str_eq(json_string_value(json_object_get(res, "Region")), "ap-south-1");
    json_decref(a);
    a = report_asff(fs[4], &meta);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "Compliance"), "Status")),
                     "WARNING");
    /* Global resources are reported in the home region. */
    ck_assert_str_eq(json_string_value(json_object_get(a, "Region")), "us-east-1");
    ck_assert_str_eq(json_string_value(json_object_get(a, "ProductArn")),
                     "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(a, "Resources"), 0), "Type")),
                     "AwsIamUser");
    json_decref(a);

    /* Warning: low severity, marked, description cut at 1024 bytes. */
    a = report_asff(fs[5], &meta);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "Severity"), "Label")),
                     "LOW");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(a, "ProductFields"), "plumb/Warning")),
        "true");
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(a, "Description"))), 1024);
    json_decref(a);

    /* first_seen becomes CreatedAt. */
    a = report_asff(fs[6], &meta);
    ck_assert_str_eq(json_string_value(json_object_get(a, "CreatedAt")),
                     "2025-05-31T00:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(a, "UpdatedAt")),
                     "2025-06-01T00:00:00.000Z");
    json_decref(a);

    /* No ARN: the Terraform id stands in. */
    a = report_asff(fs[7], &meta);
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(json_object_get(a, "Resources"), 0), "Id")),
                     "sg-1");
    json_decref(a);
    for (i = 0; i < n; i++)
        finding_free(fs[i]);
}
END_TEST

START_TEST(asff_partitions_and_types)
{
    struct finding *f = mkp("aws-cn", "acc-ec2-imdsv2", FINDING_FAIL, "cn-north-1", "aws_instance",
                            "i-1", "arn:aws-cn:ec2:cn-north-1:111111111111:instance/i-1", "d");
    json_t *a = report_asff(f, &meta);
    ck_assert_str_eq(json_string_value(json_object_get(a, "ProductArn")),
                     "arn:aws-cn:securityhub:cn-north-1:111111111111:product/111111111111/default");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(a, "Resources"), 0), "Partition")),
                     "aws-cn");
    json_decref(a);
    finding_free(f);
    ck_assert_str_eq(report_asff_resource_type("aws_s3_bucket"), "AwsS3Bucket");
    ck_assert_str_eq(report_asff_resource_type("aws_lb"), "AwsElbv2LoadBalancer");
    ck_assert_str_eq(report_asff_resource_type("aws_appsync_graphql_api"), "AwsAppSyncGraphQlApi");
    ck_assert_str_eq(report_asff_resource_type("account"), "AwsAccount");
    ck_assert_str_eq(report_asff_resource_type("aws_appstream_fleet"), "Other");
    ck_assert_str_eq(report_asff_resource_type(NULL), "Other");
}
END_TEST

/* Every ASFF resource type we name must be one Security Hub knows (a
 * ResourceDetails member), except AwsAccount which it uses itself. */
START_TEST(asff_resource_types_exist)
{
    static const char *const tf[] = {
        "aws_acm_certificate",
        "aws_api_gateway_rest_api",
        "aws_api_gateway_stage",
        "aws_apigatewayv2_api",
        "aws_apigatewayv2_stage",
        "aws_appsync_graphql_api",
        "aws_athena_workgroup",
        "aws_autoscaling_group",
        "aws_backup_plan",
        "aws_backup_vault",
        "aws_cloudfront_distribution",
        "aws_cloudtrail",
        "aws_cloudwatch_event_bus",
        "aws_db_instance",
        "aws_ebs_volume",
        "aws_elb",
        "aws_guardduty_detector",
        "aws_iam_access_key",
        "aws_iam_policy",
        "aws_iam_role",
        "aws_iam_user",
        "aws_instance",
        "aws_kms_key",
        "aws_launch_configuration",
        "aws_launch_template",
        "aws_lb",
        "aws_rds_cluster",
        "aws_s3_account_public_access_block",
        "aws_s3_bucket",
        "aws_security_group",
        "aws_subnet",
        "aws_vpc",
        "plumb_backup_recovery_point",
        "plumb_iam_credential_report",
    };
    const json_t *members = json_object_get(
        json_object_get(json_object_get(model, "shapes"), "ResourceDetails"), "members");
    for (size_t i = 0; i < ARRAY_SIZE(tf); i++) {
        const char *t = report_asff_resource_type(tf[i]);
        ck_assert_msg(!str_eq(t, "Other"), "%s has no ASFF type", tf[i]);
        ck_assert_msg(json_object_get(members, t) != NULL, "%s -> %s is not a Security Hub type",
                      tf[i], t);
    }
}
END_TEST

START_TEST(finding_uid)
{
    struct finding *f =
        mk("enc-rds-instance", FINDING_FAIL, "eu-west-1", "aws_db_instance", "db1", NULL, "d");
    char *uid = report_finding_uid(f), *id600 = malloc(601);
    ck_assert_str_eq(uid, "plumb/enc-rds-instance/111111111111/eu-west-1/aws_db_instance/db1");
    free(uid);
    memset(id600, 'a', 600);
    id600[600] = '\0';
    finding_free(f);
    f = mk("enc-rds-instance", FINDING_FAIL, "eu-west-1", "aws_db_instance", id600, NULL, "d");
    free(id600);
    uid = report_finding_uid(f);
    ck_assert_uint_le(strlen(uid), 512);
    ck_assert(str_has_prefix(uid, "plumb/enc-rds-instance/sha256:"));
    ck_assert_uint_eq(strlen(uid), strlen("plumb/enc-rds-instance/sha256:") + 64);
    free(uid);
    finding_free(f);
}
END_TEST

/* ---- OCSF 1.3.0 Compliance Finding ---- */

static void need_int(const json_t *o, const char *k, const char *where)
{
    ck_assert_msg(json_is_integer(json_object_get(o, k)), "%s.%s must be an integer", where, k);
}

static void need_str(const json_t *o, const char *k, const char *where)
{
    const json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_string(v) && json_string_length(v) > 0, "%s.%s must be a string", where,
                  k);
}

/* Required and recommended attributes of compliance_finding (class 2003)
 * in OCSF 1.3.0 (base_event, finding, compliance, cloud profile). */
static void check_ocsf(const json_t *o)
{
    const json_t *md, *prod, *fi, *comp, *cloud, *res, *rem;
    size_t i;
    json_t *x;
    json_int_t activity, status_id;

    need_int(o, "activity_id", "event");
    activity = json_integer_value(json_object_get(o, "activity_id"));
    ck_assert(activity >= 1 && activity <= 3);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "category_uid")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "class_uid")), 2003);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "type_uid")), 200300 + activity);
    need_int(o, "severity_id", "event");
    ck_assert(json_integer_value(json_object_get(o, "severity_id")) >= 0 &&
              json_integer_value(json_object_get(o, "severity_id")) <= 6);
    need_int(o, "time", "event");
    need_str(o, "class_name", "event");
    need_str(o, "category_name", "event");
    need_str(o, "activity_name", "event");
    need_str(o, "type_name", "event");
    need_str(o, "severity", "event");
    need_str(o, "message", "event");

    md = json_object_get(o, "metadata");
    ck_assert(json_is_object(md));
    ck_assert_str_eq(json_string_value(json_object_get(md, "version")), "1.3.0");
    prod = json_object_get(md, "product");
    need_str(prod, "vendor_name", "metadata.product");
    need_str(prod, "name", "metadata.product");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(md, "profiles"), 0)),
                     "cloud");

    fi = json_object_get(o, "finding_info");
    need_str(fi, "uid", "finding_info");
    need_str(fi, "title", "finding_info");
    need_int(fi, "created_time", "finding_info");
    ck_assert(json_is_array(json_object_get(fi, "types")));

    comp = json_object_get(o, "compliance");
    ck_assert(json_is_object(comp));
    ck_assert(json_array_size(json_object_get(comp, "standards")) > 0);
    json_array_foreach (json_object_get(comp, "standards"), i, x)
        ck_assert(json_is_string(x));
    json_array_foreach (json_object_get(comp, "requirements"), i, x)
        ck_assert(json_is_string(x));
    need_str(comp, "control", "compliance");
    need_int(comp, "status_id", "compliance");
    status_id = json_integer_value(json_object_get(comp, "status_id"));
    ck_assert(status_id == 1 || status_id == 2 || status_id == 3 || status_id == 99);
    need_str(comp, "status", "compliance");

    cloud = json_object_get(o, "cloud");
    ck_assert_str_eq(json_string_value(json_object_get(cloud, "provider")), "AWS");
    need_str(json_object_get(cloud, "account"), "uid", "cloud.account");

    ck_assert_uint_eq(json_array_size(json_object_get(o, "resources")), 1);
    res = json_array_get(json_object_get(o, "resources"), 0);
    need_str(res, "uid", "resources[0]");
    need_str(res, "type", "resources[0]");
    need_str(res, "cloud_partition", "resources[0]");
    need_str(json_object_get(json_object_get(res, "owner"), "account"), "uid",
             "resources[0].owner.account");

    rem = json_object_get(o, "remediation");
    need_str(rem, "desc", "remediation");
    ck_assert(json_is_array(json_object_get(rem, "references")));
}

START_TEST(ocsf_lines)
{
    struct finding *fs[16];
    size_t n = sample_findings(fs, ARRAY_SIZE(fs));
    struct buf b;
    const char *p;
    size_t lines = 0;

    buf_init(&b, 1u << 20);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(report_ocsf_line(fs[i], &meta, &b), 0);
    /* One JSON object per line. */
    p = buf_str(&b);
    while (*p) {
        const char *nl = strchr(p, '\n');
        json_error_t je;
        json_t *o;
        ck_assert_ptr_nonnull(nl);
        o = json_loadb(p, (size_t)(nl - p), 0, &je);
        ck_assert_msg(o != NULL, "line %zu: %s", lines, je.text);
        check_ocsf(o);
        json_decref(o);
        lines++;
        p = nl + 1;
    }
    ck_assert_uint_eq(lines, n);
    buf_free(&b);
    for (size_t i = 0; i < n; i++)
        finding_free(fs[i]);
}
END_TEST

START_TEST(ocsf_values)
{
    struct finding *fs[16];
    size_t n = sample_findings(fs, ARRAY_SIZE(fs));
    json_t *o;
    const json_t *comp, *res;

    o = report_ocsf(fs[0], &meta);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "activity_id")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "severity_id")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(o, "severity")), "High");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "time")), NOW_MS);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "status_id")), 1);
    comp = json_object_get(o, "compliance");
    ck_assert_str_eq(json_string_value(json_object_get(comp, "control")), "enc-rds-instance");
    ck_assert_int_eq(json_integer_value(json_object_get(comp, "status_id")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(comp, "status")), "Fail");
    ck_assert_str_eq(json_string_value(json_object_get(comp, "status_detail")),
                     "storage_encrypted is false, expected true");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(comp, "standards"), 0)),
                     "NIS2 Directive (EU) 2022/2555");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(comp, "standards"), 1)),
                     "DORA Regulation (EU) 2022/2554");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "cloud"), "region")),
                     "eu-west-1");
    res = json_array_get(json_object_get(o, "resources"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(res, "uid")),
                     "arn:aws:rds:eu-west-1:111111111111:db:db1");
    ck_assert_str_eq(json_string_value(json_object_get(res, "type")), "aws_db_instance");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(res, "data"), "terraform_id")), "db1");
    json_decref(o);

    o = report_ocsf(fs[1], &meta);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "severity_id")), 1);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(o, "compliance"), "status_id")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "status_id")), 4);
    json_decref(o);

    o = report_ocsf(fs[2], &meta);
    comp = json_object_get(o, "compliance");
    ck_assert_int_eq(json_integer_value(json_object_get(comp, "status_id")), 99);
    ck_assert_str_eq(json_string_value(json_object_get(comp, "status")), "Not Applicable");
    json_decref(o);

    o = report_ocsf(fs[4], &meta);
    comp = json_object_get(o, "compliance");
    ck_assert_int_eq(json_integer_value(json_object_get(comp, "status_id")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(comp, "status")), "Warning");
    /* Global resources have no cloud.region. */
    ck_assert_ptr_null(json_object_get(json_object_get(o, "cloud"), "region"));
    json_decref(o);

    o = report_ocsf(fs[5], &meta);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "severity_id")), 2);
    ck_assert(json_is_true(
        json_object_get(json_object_get(json_object_get(o, "unmapped"), "plumb"), "warning")));
    json_decref(o);

    o = report_ocsf(fs[6], &meta);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "activity_id")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "type_uid")), 200302);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(o, "finding_info"), "created_time")),
        NOW_MS - 86400000);
    json_decref(o);
    for (size_t i = 0; i < n; i++)
        finding_free(fs[i]);
}
END_TEST

START_TEST(output_caps)
{
    struct finding *f =
        mk("enc-rds-instance", FINDING_FAIL, "eu-west-1", "aws_db_instance", "db1", NULL, "d");
    struct buf b;
    buf_init(&b, 64);
    ck_assert_int_eq(buf_append_str(&b, "kept"), 0);
    ck_assert_int_eq(report_ocsf_line(f, &meta, &b), -E2BIG);
    ck_assert_str_eq(buf_str(&b), "kept");
    ck_assert_int_eq(report_csv_row(f, &b), -E2BIG);
    ck_assert_str_eq(buf_str(&b), "kept");
    buf_free(&b);
    finding_free(f);
}
END_TEST

/* ---- CSV ---- */

/* A small RFC 4180 reader for the tests: fields of one record starting at
 * *p (advanced past the CRLF).  Returns the number of fields. */
static size_t csv_read(const char **p, char **fields, size_t max)
{
    size_t n = 0;
    const char *s = *p;
    for (;;) {
        struct buf f;
        buf_init(&f, 1u << 16);
        if (*s == '"') {
            s++;
            for (;;) {
                ck_assert_msg(*s != '\0', "unterminated quoted field");
                if (*s == '"' && s[1] == '"') {
                    buf_append_char(&f, '"');
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    buf_append_char(&f, *s++);
                }
            }
        } else {
            while (*s && *s != ',' && *s != '\r') {
                ck_assert_msg(*s != '"' && *s != '\n', "unquoted field with a quote or LF");
                buf_append_char(&f, *s++);
            }
        }
        ck_assert_uint_lt(n, max);
        fields[n++] = buf_steal(&f, NULL);
        buf_free(&f);
        if (*s == ',') {
            s++;
            continue;
        }
        ck_assert_msg(s[0] == '\r' && s[1] == '\n', "record not ended by CRLF");
        s += 2;
        break;
    }
    *p = s;
    return n;
}

START_TEST(csv_quoting_and_injection)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "", "" },
        { "a,b", "\"a,b\"" },
        { "say \"hi\"", "\"say \"\"hi\"\"\"" },
        { "two\nlines", "\"two\nlines\"" },
        { "cr\rhere", "\"cr\rhere\"" },
        { "=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"" },
        { "+1", "\"'+1\"" },
        { "-cmd", "\"'-cmd\"" },
        { "@SUM(A1)", "\"'@SUM(A1)\"" },
        { "\tx", "\"'\tx\"" },
        { "\rx", "\"'\rx\"" },
        { "a=b", "a=b" },
        { "ünïcode ✓", "ünïcode ✓" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf b;
        buf_init(&b, 1024);
        ck_assert_int_eq(report_csv_field(&b, cases[i].in), 0);
        ck_assert_msg(str_eq(buf_str(&b), cases[i].out), "%zu: got [%s] want [%s]", i, buf_str(&b),
                      cases[i].out);
        buf_free(&b);
    }
}
END_TEST

START_TEST(csv_rows_round_trip)
{
    struct finding *fs[16];
    size_t n = sample_findings(fs, ARRAY_SIZE(fs));
    struct finding *evil = mk("acc-root-mfa", FINDING_FAIL, RESOURCE_REGION_GLOBAL, "account",
                              "=cmd|' /C calc'!A0", NULL, "line1\r\nline2, \"quoted\"");
    struct buf b;
    const char *p;
    char *fields[32];
    size_t k;

    buf_init(&b, 1u << 20);
    ck_assert_int_eq(report_csv_header(&b), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(report_csv_row(fs[i], &b), 0);
    ck_assert_int_eq(report_csv_row(evil, &b), 0);
    p = buf_str(&b);
    k = csv_read(&p, fields, ARRAY_SIZE(fields));
    ck_assert_uint_eq(k, 15);
    ck_assert_str_eq(fields[0], "time");
    ck_assert_str_eq(fields[1], "control_id");
    ck_assert_str_eq(fields[14], "remediation");
    for (size_t i = 0; i < k; i++)
        free(fields[i]);
    for (size_t r = 0; r < n; r++) {
        k = csv_read(&p, fields, ARRAY_SIZE(fields));
        ck_assert_uint_eq(k, 15);
        ck_assert_str_eq(fields[0], "2025-06-01T00:00:00Z");
        ck_assert_str_eq(fields[1], fs[r]->control->id);
        ck_assert_str_eq(fields[3], control_severity_name(fs[r]->severity));
        ck_assert_str_eq(fields[4], finding_status_name(fs[r]->status));
        ck_assert_str_eq(fields[5], fs[r]->warning ? "true" : "false");
        ck_assert_str_eq(fields[9], fs[r]->resource_id);
        ck_assert_str_eq(fields[11], fs[r]->detail);
        for (size_t i = 0; i < k; i++)
            free(fields[i]);
    }
    /* The hostile row survives intact but neutralised. */
    k = csv_read(&p, fields, ARRAY_SIZE(fields));
    ck_assert_uint_eq(k, 15);
    ck_assert_str_eq(fields[9], "'=cmd|' /C calc'!A0");
    ck_assert_str_eq(fields[11], "line1\r\nline2, \"quoted\"");
    ck_assert_str_eq(fields[12], "21.2.i 21.2.j");
    ck_assert_str_eq(fields[13], "Art 5");
    for (size_t i = 0; i < k; i++)
        free(fields[i]);
    ck_assert_str_eq(p, "");
    buf_free(&b);
    for (size_t i = 0; i < n; i++)
        finding_free(fs[i]);
    finding_free(evil);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_unchecked_fixture(tc, load_catalogue, unload_catalogue);
    model = securityhub_model();
    if (model) {
        tcase_add_test(tc, asff_validates_against_the_model);
        tcase_add_test(tc, asff_batch_validates);
        tcase_add_test(tc, asff_validator_rejects);
        tcase_add_test(tc, asff_resource_types_exist);
    } else {
        fprintf(stderr, "note: botocore's securityhub model is not available; ASFF is not "
                        "validated against it\n");
    }
    tcase_add_test(tc, asff_fields);
    tcase_add_test(tc, asff_partitions_and_types);
    tcase_add_test(tc, finding_uid);
    tcase_add_test(tc, ocsf_lines);
    tcase_add_test(tc, ocsf_values);
    tcase_add_test(tc, output_caps);
    tcase_add_test(tc, csv_quoting_and_injection);
    tcase_add_test(tc, csv_rows_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int r = tu_run_suite(suite());
    json_decref(model);
    return r;
}
