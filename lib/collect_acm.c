#include "collect_acm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectq.h"
#include "fieldmap.h"
#include "util.h"

/* What a ListCertificates summary carries. */
static const struct fieldmap summary_fields[] = {
    { "arn", "CertificateArn" },
    { "domain_name", "DomainName" },
    { "in_use", "InUse" },
    { "managed_by", "ManagedBy" },
    { "not_after", "NotAfter" },
    { "not_before", "NotBefore" },
    { "renewal_eligibility", "RenewalEligibility" },
    { "status", "Status" },
    { "type", "Type" },
    { NULL },
};

static const struct fieldmap options_fields[] = {
    { "certificate_transparency_logging_preference", "CertificateTransparencyLoggingPreference" },
    { NULL },
};

static const struct fieldmap renewal_fields[] = {
    { "renewal_status", "RenewalStatus" },
    { "renewal_status_reason", "RenewalStatusReason" },
    { "updated_at", "UpdatedAt" },
    { NULL },
};

static const struct fieldmap dvo_fields[] = {
    { "domain_name", "DomainName" },
    { "resource_record_name", "ResourceRecord.Name" },
    { "resource_record_type", "ResourceRecord.Type" },
    { "resource_record_value", "ResourceRecord.Value" },
    { NULL },
};

/* DescribeCertificate's Certificate. */
static const struct fieldmap detail_fields[] = {
    { "arn", "CertificateArn" },
    { "certificate_authority_arn", "CertificateAuthorityArn" },
    { "domain_name", "DomainName" },
    { "managed_by", "ManagedBy" },
    { "not_after", "NotAfter" },
    { "not_before", "NotBefore" },
    { "options", "Options", FIELDMAP_BLOCK, options_fields },
    { "renewal_eligibility", "RenewalEligibility" },
    { "renewal_summary", "RenewalSummary", FIELDMAP_BLOCK, renewal_fields },
    { "status", "Status" },
    { "subject_alternative_names", "SubjectAlternativeNames" },
    { "type", "Type" },
    { "validation_emails", "DomainValidationOptions[].ValidationEmails[]", FIELDMAP_LIST },
    { NULL },
};

/* The key algorithm as the SDK enum spells it (RSA_2048, EC_prime256v1):
 * DescribeCertificate says RSA-2048, Terraform stores RSA_2048. */
static int set_key_algorithm(json_t *attrs, const json_t *item)
{
    const char *v = fieldmap_string(item, "KeyAlgorithm");
    char *s;
    int e;
    if (!v)
        return json_object_set_new(attrs, "key_algorithm", json_null()) == 0 ? 0 : -ENOMEM;
    s = strdup(v);
    if (!s)
        return -ENOMEM;
    for (char *p = s; *p; p++)
        if (*p == '-')
            *p = '_';
    e = json_object_set_new(attrs, "key_algorithm", json_string(s)) == 0 ? 0 : -ENOMEM;
    free(s);
    return e;
}

static int map_certificate(struct collect_run *run, const json_t *item, struct resource *r)
{
    const char *arn = fieldmap_string(item, "CertificateArn");
    int e;
    (void)run;
    if (!arn || !*arn)
        return -EINVAL;
    if (str_replace(&r->id, arn) < 0 || str_replace(&r->arn, arn) < 0)
        return -ENOMEM;
    e = fieldmap_apply(r->attrs, item, summary_fields);
    if (e == 0)
        e = set_key_algorithm(r->attrs, item);
    if (e == 0)
        e = collectq_tags_not_read(r);
    return e;
}

static int describe_params(struct collect_run *run, const struct resource *r, json_t **ret)
{
    (void)run;
    *ret = json_pack("{s:s}", "CertificateArn", r->id);
    return *ret ? 0 : -ENOMEM;
}

/* Terraform lists only the validations that carry a DNS record. */
static json_t *dns_validations(const json_t *cert, int *err)
{
    json_t *out = json_array();
    size_t i;
    json_t *dvo;
    if (!out)
        return NULL;
    json_array_foreach (json_object_get(cert, "DomainValidationOptions"), i, dvo) {
        json_t *o;
        if (!json_is_object(json_object_get(dvo, "ResourceRecord")))
            continue;
        o = json_object();
        if (!o || (*err = fieldmap_apply(o, dvo, dvo_fields)) < 0 ||
            json_array_append_new(out, o) < 0) {
            if (*err == 0)
                *err = -ENOMEM;
            json_decref(o);
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* As Terraform: the first validation's method for Amazon-issued
 * certificates, NONE for imported and private ones. */
static json_t *validation_method(const json_t *cert)
{
    const json_t *dvos = json_object_get(cert, "DomainValidationOptions");
    const char *m = fieldmap_string(json_array_get(dvos, 0), "ValidationMethod");
    if (!str_eq(fieldmap_string(cert, "Type"), "AMAZON_ISSUED"))
        return json_string("NONE");
    return m ? json_string(m) : json_null();
}

static int merge_certificate(struct collect_run *run, struct resource *parent,
                             struct resource *child, const json_t *output)
{
    const json_t *cert = json_object_get(output, "Certificate");
    const char *renewal = fieldmap_string(cert, "RenewalSummary.RenewalStatus");
    int err = 0;
    json_t *v;
    (void)run;
    (void)child;
    if (!json_is_object(cert))
        return -EINVAL;
    err = fieldmap_apply(parent->attrs, cert, detail_fields);
    if (err == 0)
        err = set_key_algorithm(parent->attrs, cert);
    if (err < 0)
        return err;
    v = dns_validations(cert, &err);
    if (!v || json_object_set_new(parent->attrs, "domain_validation_options", v) < 0)
        return err < 0 ? err : -ENOMEM;
    if (json_object_set_new(parent->attrs, "validation_method", validation_method(cert)) < 0)
        return -ENOMEM;
    v = json_boolean(str_eq(renewal, "PENDING_AUTO_RENEWAL") ||
                     str_eq(renewal, "PENDING_VALIDATION"));
    return json_object_set_new(parent->attrs, "pending_renewal", v) == 0 ? 0 : -ENOMEM;
}

/* Filled only by DescribeCertificate (unknown when it fails). */
static const char *const describe_attrs[] = {
    "certificate_authority_arn", "domain_validation_options", "options",
    "pending_renewal",           "renewal_summary",           "subject_alternative_names",
    "validation_emails",         "validation_method",         NULL,
};

static const struct collect_detail details[] = {
    { .operation = "DescribeCertificate",
      .params = describe_params,
      .merge = merge_certificate,
      .attrs = describe_attrs },
    { 0 },
};

static const struct collect_list lists[] = {
    { .type = "aws_acm_certificate",
      .aws_type = "AWS::ACM::Certificate",
      .operation = "ListCertificates",
      .params = "{\"MaxItems\":1000,\"Includes\":{\"keyTypes\":[\"RSA_1024\",\"RSA_2048\","
                "\"RSA_3072\",\"RSA_4096\",\"EC_prime256v1\",\"EC_secp384r1\","
                "\"EC_secp521r1\"]}}",
      .items = "CertificateSummaryList[]",
      .all_pages = true,
      .map = map_certificate,
      .details = details },
    { 0 },
};

static const char *const iam_actions[] = {
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    NULL,
};

const struct collector_def collect_acm = {
    .name = "acm",
    .service = "acm",
    .lists = lists,
    .iam_actions = iam_actions,
};
