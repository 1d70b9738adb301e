#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

#define UID_MAX 512

char *report_finding_uid(const struct finding *f)
{
    char *key = resource_key_make(f->account, f->region, f->resource_type, f->resource_id);
    char *uid;
    if (!key)
        return NULL;
    uid = str_printf("plumb/%s/%s", f->control->id, key);
    if (uid && strlen(uid) > UID_MAX) {
        unsigned char md[SHA256_LEN];
        char hex[2 * SHA256_LEN + 1];
        free(uid);
        uid = NULL;
        if (sha256(key, strlen(key), md) == 0) {
            hex_encode(md, sizeof(md), hex);
            uid = str_printf("plumb/%s/sha256:%s", f->control->id, hex);
        }
    }
    free(key);
    return uid;
}

static const struct {
    const char *tf;
    const char *asff;
} asff_types[] = {
    { "account", "AwsAccount" },
    { "region", "AwsAccount" },
    { "aws_acm_certificate", "AwsCertificateManagerCertificate" },
    { "aws_api_gateway_rest_api", "AwsApiGatewayRestApi" },
    { "aws_api_gateway_stage", "AwsApiGatewayStage" },
    { "aws_apigatewayv2_api", "AwsApiGatewayV2Api" },
    { "aws_apigatewayv2_stage", "AwsApiGatewayV2Stage" },
    { "aws_appsync_graphql_api", "AwsAppSyncGraphQlApi" },
    { "aws_athena_workgroup", "AwsAthenaWorkGroup" },
    { "aws_autoscaling_group", "AwsAutoScalingAutoScalingGroup" },
    { "aws_backup_plan", "AwsBackupBackupPlan" },
    { "aws_backup_vault", "AwsBackupBackupVault" },
    { "aws_cloudfront_distribution", "AwsCloudFrontDistribution" },
    { "aws_cloudtrail", "AwsCloudTrailTrail" },
    { "aws_cloudwatch_event_bus", "AwsEventsEventbus" },
    { "aws_db_instance", "AwsRdsDbInstance" },
    { "aws_ebs_volume", "AwsEc2Volume" },
    { "aws_elb", "AwsElbLoadBalancer" },
    { "aws_guardduty_detector", "AwsGuardDutyDetector" },
    { "aws_iam_access_key", "AwsIamAccessKey" },
    { "aws_iam_policy", "AwsIamPolicy" },
    { "aws_iam_role", "AwsIamRole" },
    { "aws_iam_user", "AwsIamUser" },
    { "aws_instance", "AwsEc2Instance" },
    { "aws_kms_key", "AwsKmsKey" },
    { "aws_launch_configuration", "AwsAutoScalingLaunchConfiguration" },
    { "aws_launch_template", "AwsEc2LaunchTemplate" },
    { "aws_lb", "AwsElbv2LoadBalancer" },
    { "aws_rds_cluster", "AwsRdsDbCluster" },
    { "aws_s3_account_public_access_block", "AwsS3AccountPublicAccessBlock" },
    { "aws_s3_bucket", "AwsS3Bucket" },
    { "aws_security_group", "AwsEc2SecurityGroup" },
    { "aws_subnet", "AwsEc2Subnet" },
    { "aws_vpc", "AwsEc2Vpc" },
    { "plumb_backup_recovery_point", "AwsBackupRecoveryPoint" },
    { "plumb_iam_credential_report", "AwsIamUser" },
};

const char *report_asff_resource_type(const char *terraform_type)
{
    for (size_t i = 0; i < ARRAY_SIZE(asff_types); i++)
        if (str_eq(asff_types[i].tf, terraform_type))
            return asff_types[i].asff;
    return "Other";
}

/* Copy at most max bytes of s without cutting a UTF-8 sequence. */
static char *utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return strdup(s);
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return str_ndup(s, n);
}

/* Object building: every helper returns -1 once anything failed, so a
 * whole object is built and checked once. */
static int put(json_t *o, const char *k, json_t *v)
{
    if (!o || !v) {
        json_decref(v);
        return -1;
    }
    return json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

static int put_str(json_t *o, const char *k, const char *v)
{
    return v ? put(o, k, json_string(v)) : 0;
}

static int put_cut(json_t *o, const char *k, const char *v, size_t max)
{
    char *c;
    int r;
    if (!v)
        return 0;
    c = utf8_cut(v, max);
    if (!c)
        return -1;
    r = put(o, k, json_string(c));
    free(c);
    return r;
}

static int push(json_t *a, json_t *v)
{
    if (!a || !v) {
        json_decref(v);
        return -1;
    }
    return json_array_append_new(a, v) == 0 ? 0 : -1;
}

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && v && v[i]; i++)
        if (push(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static bool proposed(const struct control *c, const char *what)
{
    return strv_contains(c->proposed, what);
}

/* "NIS2 Art. 21(2)(h)", "DORA Art. 9", with " (proposed)" where the
 * mapping is ours; at most max entries. */
static json_t *requirements_json(const struct control *c, size_t max)
{
    json_t *a = json_array();
    for (size_t i = 0; a && c->nis2[i] && json_array_size(a) < max; i++) {
        char *l = controls_nis2_label(c->nis2[i]);
        char *s = l && proposed(c, "nis2") ? str_printf("%s (proposed)", l) : NULL;
        int r = push(a, json_string(s ? s : l ? l : ""));
        free(s);
        if (!l || r < 0) {
            free(l);
            json_decref(a);
            return NULL;
        }
        free(l);
    }
    for (size_t i = 0; a && c->dora[i] && json_array_size(a) < max; i++) {
        char *l = controls_dora_label(c->dora[i]);
        char *s = l && proposed(c, "dora") ? str_printf("%s (proposed)", l) : NULL;
        int r = push(a, json_string(s ? s : l ? l : ""));
        free(s);
        if (!l || r < 0) {
            free(l);
            json_decref(a);
            return NULL;
        }
        free(l);
    }
    return a;
}

static const char *first_url(char *const *refs)
{
    for (size_t i = 0; refs && refs[i]; i++)
        if (str_has_prefix(refs[i], "https://") || str_has_prefix(refs[i], "http://"))
            return refs[i];
    return NULL;
}

static bool is_global(const struct finding *f)
{
    return !f->region || str_eq(f->region, RESOURCE_REGION_GLOBAL);
}

/* The description: title, then what was found. */
static char *describe(const struct finding *f)
{
    if (f->detail && f->detail[0])
        return str_printf("%s: %s", f->control->title, f->detail);
    return strdup(f->control->title);
}

/* ---- OCSF ---- */

static int ocsf_severity_id(const struct finding *f, const char **name)
{
    static const char *const names[] = { "Unknown", "Informational", "Low",
                                         "Medium",  "High",          "Critical" };
    int id;
    if (f->status == FINDING_PASS || f->status == FINDING_NOT_APPLICABLE)
        id = 1;
    else
        switch (f->severity) {
        case CONTROL_SEVERITY_LOW: id = 2; break;
        case CONTROL_SEVERITY_MEDIUM: id = 3; break;
        case CONTROL_SEVERITY_HIGH: id = 4; break;
        case CONTROL_SEVERITY_CRITICAL: id = 5; break;
        default: id = 0; break;
        }
    *name = names[id];
    return id;
}

/* compliance.status_id: 1 Pass, 2 Warning ("did not yield a result due to
 * missing information", our UNKNOWN), 3 Fail, 99 Other (not applicable). */
static int ocsf_compliance_status(enum finding_status s, const char **name)
{
    switch (s) {
    case FINDING_PASS: *name = "Pass"; return 1;
    case FINDING_FAIL: *name = "Fail"; return 3;
    case FINDING_UNKNOWN: *name = "Warning"; return 2;
    case FINDING_NOT_APPLICABLE: *name = "Not Applicable"; return 99;
    }
    *name = "Other";
    return 99;
}

static json_t *ocsf_account(const char *account)
{
    json_t *a = json_object();
    if (put_str(a, "uid", account) < 0 || put(a, "type_id", json_integer(10)) < 0 ||
        put_str(a, "type", "AWS Account") < 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

json_t *report_ocsf(const struct finding *f, const struct report_meta *m)
{
    const struct control *c = f->control;
    json_t *o = json_object();
    json_t *meta = json_object(), *product = json_object(), *cloud = json_object();
    json_t *info = json_object(), *comp = json_object(), *res = json_object();
    json_t *owner = json_object(), *rem = json_object(), *unmapped = json_object();
    json_t *standards = json_array(), *resources = json_array(), *data = json_object();
    const char *sev_name, *comp_name;
    int sev = ocsf_severity_id(f, &sev_name);
    int cst = ocsf_compliance_status(f->status, &comp_name);
    int64_t first = f->first_seen ? f->first_seen : f->time;
    int activity = first < f->time ? 2 : 1;
    char *uid = report_finding_uid(f), *msg = describe(f);
    int bad = 0;

    bad |= !uid || !msg;
    bad |= put(o, "activity_id", json_integer(activity));
    bad |= put_str(o, "activity_name", activity == 1 ? "Create" : "Update");
    bad |= put(o, "category_uid", json_integer(2));
    bad |= put_str(o, "category_name", "Findings");
    bad |= put(o, "class_uid", json_integer(2003));
    bad |= put_str(o, "class_name", "Compliance Finding");
    bad |= put(o, "type_uid", json_integer(2003 * 100 + activity));
    bad |= put_str(o, "type_name",
                   activity == 1 ? "Compliance Finding: Create" : "Compliance Finding: Update");
    bad |= put(o, "severity_id", json_integer(sev));
    bad |= put_str(o, "severity", sev_name);
    bad |= put(o, "time", json_integer(f->time));
    bad |= put_str(o, "message", msg);
    if (f->status == FINDING_FAIL || f->status == FINDING_UNKNOWN) {
        bad |= put(o, "status_id", json_integer(1));
        bad |= put_str(o, "status", "New");
    } else if (f->status == FINDING_PASS) {
        bad |= put(o, "status_id", json_integer(4));
        bad |= put_str(o, "status", "Resolved");
    }

    bad |= put_str(product, "name", m->product_name);
    bad |= put_str(product, "vendor_name", m->vendor_name);
    bad |= put_str(product, "version", m->product_version);
    bad |= put(meta, "product", json_incref(product));
    bad |= put_str(meta, "version", REPORT_OCSF_VERSION);
    bad |= put(meta, "profiles", json_pack("[s]", "cloud"));
    bad |= put_str(meta, "uid", uid);
    bad |= put(o, "metadata", json_incref(meta));

    bad |= put_str(cloud, "provider", "AWS");
    if (!is_global(f))
        bad |= put_str(cloud, "region", f->region);
    bad |= put(cloud, "account", ocsf_account(f->account));
    bad |= put(o, "cloud", json_incref(cloud));

    bad |= put_str(info, "uid", uid);
    bad |= put_str(info, "title", c->title);
    bad |= put_str(info, "desc", c->description ? c->description : c->title);
    bad |= put(info, "types", json_pack("[s]", "NIS2/DORA baseline"));
    bad |= put(info, "created_time", json_integer(first));
    bad |= put(info, "first_seen_time", json_integer(first));
    bad |= put(info, "last_seen_time", json_integer(f->time));
    bad |= put(o, "finding_info", json_incref(info));

    if (c->nis2[0])
        bad |= push(standards, json_string("NIS2 Directive (EU) 2022/2555"));
    if (c->dora[0])
        bad |= push(standards, json_string("DORA Regulation (EU) 2022/2554"));
    if (json_array_size(standards) == 0)
        bad |= push(standards, json_string("plumb baseline"));
    bad |= put_str(comp, "control", c->id);
    bad |= put(comp, "standards", json_incref(standards));
    bad |= put(comp, "requirements", requirements_json(c, 64));
    bad |= put(comp, "status_id", json_integer(cst));
    bad |= put_str(comp, "status", comp_name);
    if (f->detail && f->detail[0])
        bad |= put_str(comp, "status_detail", f->detail);
    bad |= put(o, "compliance", json_incref(comp));

    bad |= put_str(res, "uid", f->arn ? f->arn : f->resource_id);
    bad |= put_str(res, "name", f->resource_id);
    bad |= put_str(res, "type", f->aws_type ? f->aws_type : f->resource_type);
    bad |= put_str(res, "region", is_global(f) ? NULL : f->region);
    bad |= put_str(res, "cloud_partition", f->partition);
    bad |= put(owner, "account", ocsf_account(f->account));
    bad |= put(res, "owner", json_incref(owner));
    bad |= put_str(data, "terraform_type", f->resource_type);
    bad |= put_str(data, "terraform_id", f->resource_id);
    bad |= put(res, "data", json_incref(data));
    bad |= push(resources, json_incref(res));
    bad |= put(o, "resources", json_incref(resources));

    bad |= put_str(rem, "desc", c->remediation);
    bad |= put(rem, "references", strv_json(c->references));
    bad |= put(o, "remediation", json_incref(rem));

    bad |= put_str(unmapped, "result", finding_status_name(f->status));
    bad |= put(unmapped, "warning", json_boolean(f->warning));
    bad |= put(unmapped, "config_rule", strv_json(c->config_rule));
    bad |= put(unmapped, "security_hub", strv_json(c->security_hub));
    bad |= put(unmapped, "prowler", strv_json(c->prowler));
    bad |= put(unmapped, "proposed", strv_json(c->proposed));
    bad |= put(o, "unmapped", json_pack("{sO}", "plumb", unmapped));

    json_decref(meta);
    json_decref(product);
    json_decref(cloud);
    json_decref(info);
    json_decref(comp);
    json_decref(res);
    json_decref(owner);
    json_decref(rem);
    json_decref(unmapped);
    json_decref(standards);
    json_decref(resources);
    json_decref(data);
    free(uid);
    free(msg);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int append_json(struct buf *out, json_t *o, bool newline)
{
    char *s;
    size_t old = out->len;
    int e;
    if (!o)
        return -ENOMEM;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return -ENOMEM;
    e = buf_append_str(out, s);
    if (e == 0 && newline)
        e = buf_append_char(out, '\n');
    if (e < 0) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
    }
    free(s);
    return e;
}

int report_ocsf_line(const struct finding *f, const struct report_meta *m, struct buf *out)
{
    return append_json(out, report_ocsf(f, m), true);
}

/* ---- ASFF ---- */

static const char *asff_label(const struct finding *f)
{
    if (f->status == FINDING_PASS || f->status == FINDING_NOT_APPLICABLE)
        return "INFORMATIONAL";
    switch (f->severity) {
    case CONTROL_SEVERITY_LOW: return "LOW";
    case CONTROL_SEVERITY_MEDIUM: return "MEDIUM";
    case CONTROL_SEVERITY_HIGH: return "HIGH";
    case CONTROL_SEVERITY_CRITICAL: return "CRITICAL";
    }
    return "MEDIUM";
}

/* Compliance.Status: UNKNOWN is WARNING ("some information is missing"),
 * NOT_APPLICABLE is NOT_AVAILABLE (as Security Hub does for Config's
 * NOT_APPLICABLE). */
static const char *asff_status(enum finding_status s)
{
    switch (s) {
    case FINDING_PASS: return "PASSED";
    case FINDING_FAIL: return "FAILED";
    case FINDING_UNKNOWN: return "WARNING";
    case FINDING_NOT_APPLICABLE: return "NOT_AVAILABLE";
    }
    return "WARNING";
}

static int put_field(json_t *pf, const char *k, const char *v)
{
    /* FieldMap values must contain a non-blank character. */
    if (!v || !v[strspn(v, " \t\r\n")])
        return 0;
    return put_cut(pf, k, v, 1000);
}

json_t *report_asff(const struct finding *f, const struct report_meta *m)
{
    const struct control *c = f->control;
    const char *region = is_global(f) ? m->home_region : f->region;
    const char *rtype = report_asff_resource_type(f->resource_type);
    json_t *o = json_object(), *sev = json_object(), *resource = json_object();
    json_t *comp = json_object(), *pf = json_object(), *rec = json_object();
    json_t *other = json_object(), *types = json_array();
    char created[32], updated[32];
    char *uid = report_finding_uid(f), *desc = describe(f);
    char *product_arn =
        str_printf("arn:%s:securityhub:%s:%s:product/%s/default",
                   f->partition ? f->partition : "aws", region, f->account, f->account);
    char *gen = str_printf("plumb/%s", c->id);
    char *account_id = NULL;
    int bad = 0;

    time_format_iso8601_ms(f->first_seen ? f->first_seen : f->time, created, sizeof(created));
    time_format_iso8601_ms(f->time, updated, sizeof(updated));
    bad |= !uid || !desc || !product_arn || !gen;
    bad |= put_str(o, "SchemaVersion", REPORT_ASFF_SCHEMA);
    bad |= put_str(o, "Id", uid);
    bad |= put_str(o, "ProductArn", product_arn);
    bad |= put_str(o, "ProductName", m->product_name);
    bad |= put_str(o, "CompanyName", m->vendor_name);
    bad |= put_str(o, "Region", region);
    bad |= put_str(o, "GeneratorId", gen);
    bad |= put_str(o, "AwsAccountId", f->account);
    if (c->nis2[0])
        bad |= push(types, json_string("Software and Configuration Checks/Industry and Regulatory "
                                       "Standards/NIS2"));
    if (c->dora[0])
        bad |= push(types, json_string("Software and Configuration Checks/Industry and Regulatory "
                                       "Standards/DORA"));
    if (json_array_size(types) == 0)
        bad |= push(types, json_string("Software and Configuration Checks/Industry and "
                                       "Regulatory Standards/plumb baseline"));
    bad |= put(o, "Types", json_incref(types));
    bad |= put_str(o, "CreatedAt", created);
    bad |= put_str(o, "UpdatedAt", updated);
    bad |= put_str(o, "FirstObservedAt", created);
    bad |= put_str(o, "LastObservedAt", updated);
    bad |= put_str(sev, "Label", asff_label(f));
    bad |= put_str(sev, "Original", control_severity_name(f->severity));
    bad |= put(o, "Severity", json_incref(sev));
    bad |= put_cut(o, "Title", c->title, 256);
    bad |= put_cut(o, "Description", desc, 1024);
    bad |= put_cut(rec, "Text", c->remediation, 512);
    bad |= put_str(rec, "Url", first_url(c->references));
    bad |= put(o, "Remediation", json_pack("{sO}", "Recommendation", rec));

    bad |= put_field(pf, "plumb/ControlId", c->id);
    bad |= put_field(pf, "plumb/Result", finding_status_name(f->status));
    bad |= put_field(pf, "plumb/TerraformType", f->resource_type);
    bad |= put_field(pf, "plumb/TerraformId", f->resource_id);
    bad |= put_field(pf, "plumb/Detail", f->detail);
    if (f->warning)
        bad |= put_field(pf, "plumb/Warning", "true");
    if (c->security_hub[0])
        bad |= put_field(pf, "plumb/SecurityHubControl", c->security_hub[0]);
    if (c->config_rule[0])
        bad |= put_field(pf, "plumb/ConfigRule", c->config_rule[0]);
    bad |= put(o, "ProductFields", json_incref(pf));

    bad |= put_str(resource, "Type", rtype);
    if (f->arn) {
        bad |= put_str(resource, "Id", f->arn);
    } else if (str_eq(rtype, "AwsAccount")) {
        account_id = str_printf("AWS::::Account:%s", f->account);
        bad |= !account_id;
        bad |= put_str(resource, "Id", account_id);
    } else {
        bad |= put_str(resource, "Id", f->resource_id);
    }
    bad |= put_str(resource, "Partition", f->partition ? f->partition : "aws");
    bad |= put_str(resource, "Region", region);
    bad |= put_field(other, "TerraformType", f->resource_type);
    bad |= put_field(other, "TerraformId", f->resource_id);
    bad |= put(resource, "Details", json_pack("{sO}", "Other", other));
    bad |= put(o, "Resources", json_pack("[O]", resource));

    bad |= put_str(comp, "Status", asff_status(f->status));
    bad |= put(comp, "RelatedRequirements", requirements_json(c, 32));
    if (f->status != FINDING_PASS && f->detail && f->detail[strspn(f->detail, " ")]) {
        json_t *reason = json_object();
        char code[32];
        snprintf(code, sizeof(code), "PLUMB_%s", finding_status_name(f->status));
        bad |= put_str(reason, "ReasonCode", code);
        bad |= put_cut(reason, "Description", f->detail, 2048);
        bad |= put(comp, "StatusReasons", json_pack("[o]", reason));
    }
    bad |= put(o, "Compliance", json_incref(comp));
    bad |= put_str(o, "RecordState", "ACTIVE");

    json_decref(sev);
    json_decref(resource);
    json_decref(comp);
    json_decref(pf);
    json_decref(rec);
    json_decref(other);
    json_decref(types);
    free(uid);
    free(desc);
    free(product_arn);
    free(gen);
    free(account_id);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int report_asff_batch(const struct finding *const *f, size_t n, const struct report_meta *m,
                      struct buf *out)
{
    json_t *arr, *doc;
    if (n == 0 || n > REPORT_ASFF_BATCH_MAX)
        return -EINVAL;
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (push(arr, report_asff(f[i], m)) < 0) {
            json_decref(arr);
            return -ENOMEM;
        }
    if (!arr)
        return -ENOMEM;
    doc = json_pack("{so}", "Findings", arr);
    return append_json(out, doc, false);
}

/* ---- CSV ---- */

int report_csv_field(struct buf *out, const char *s)
{
    size_t old = out->len;
    bool quote, neutralise;
    int e = 0;

    if (!s)
        s = "";
    /* A spreadsheet would run these as a formula (or DDE). */
    neutralise =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    quote = neutralise || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        e = buf_append_char(out, '"');
    if (e == 0 && neutralise)
        e = buf_append_char(out, '\'');
    for (const char *p = s; e == 0 && *p; p++) {
        e = buf_append_char(out, *p);
        if (e == 0 && *p == '"')
            e = buf_append_char(out, '"');
    }
    if (e == 0 && quote)
        e = buf_append_char(out, '"');
    if (e < 0) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
    }
    return e;
}

static int csv_line(struct buf *out, const char *const *fields, size_t n)
{
    size_t old = out->len;
    int e = 0;
    for (size_t i = 0; e == 0 && i < n; i++) {
        if (i)
            e = buf_append_char(out, ',');
        if (e == 0)
            e = report_csv_field(out, fields[i]);
    }
    if (e == 0)
        e = buf_append(out, "\r\n", 2);
    if (e < 0) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
    }
    return e;
}

int report_csv_header(struct buf *out)
{
    static const char *const h[] = { "time",          "control_id",  "title",      "severity",
                                     "status",        "warning",     "account",    "region",
                                     "resource_type", "resource_id", "arn",        "detail",
                                     "nis2",          "dora",        "remediation" };
    return csv_line(out, h, ARRAY_SIZE(h));
}

int report_csv_row(const struct finding *f, struct buf *out)
{
    const struct control *c = f->control;
    char t[32];
    char *nis2 = strv_join(c->nis2, " ");
    char *dora = strv_join(c->dora, "; ");
    int e;

    time_format_iso8601(f->time, t, sizeof(t));
    if (!nis2 || !dora) {
        e = -ENOMEM;
    } else {
        const char *fields[] = { t,
                                 c->id,
                                 c->title,
                                 control_severity_name(f->severity),
                                 finding_status_name(f->status),
                                 f->warning ? "true" : "false",
                                 f->account,
                                 f->region,
                                 f->resource_type,
                                 f->resource_id,
                                 f->arn ? f->arn : "",
                                 f->detail,
                                 nis2,
                                 dora,
                                 c->remediation };
        e = csv_line(out, fields, ARRAY_SIZE(fields));
    }
    free(nis2);
    free(dora);
    return e;
}
