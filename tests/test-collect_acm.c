#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_acm.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define REGION "eu-central-1"

/* Certificate ARNs are random in the recording: read them from it. */
struct certs {
    char issued[160], imported[160];
    char issued_match[200], imported_match[200];
};

static void load_certs(struct certs *c, const char *file)
{
    json_t *out = fake_load(file);
    size_t i;
    json_t *it;
    memset(c, 0, sizeof(*c));
    json_array_foreach (json_object_get(out, "CertificateSummaryList"), i, it) {
        const char *arn = json_string_value(json_object_get(it, "CertificateArn"));
        const char *type = json_string_value(json_object_get(it, "Type"));
        snprintf(str_eq(type, "IMPORTED") ? c->imported : c->issued, sizeof(c->issued), "%s", arn);
    }
    json_decref(out);
    snprintf(c->issued_match, sizeof(c->issued_match), "{\"CertificateArn\":\"%s\"}", c->issued);
    snprintf(c->imported_match, sizeof(c->imported_match), "{\"CertificateArn\":\"%s\"}",
             c->imported);
}

static bool has_string(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v)
        if (str_eq(json_string_value(v), s))
            return true;
    return false;
}

START_TEST(certificates)
{
    static const char *const key_types[] = {
        "RSA_1024",      "RSA_2048",     "RSA_3072",     "RSA_4096",
        "EC_prime256v1", "EC_secp384r1", "EC_secp521r1", NULL,
    };
    struct certs c;
    struct fake_run fr = { 0 };
    const struct resource *r;
    const json_t *params, *types;
    json_t *rec;
    load_certs(&c, "acm/list-certificates.json");
    {
        const struct fake_reply replies[] = {
            { "ListCertificates", NULL, { "acm/list-certificates.json" } },
            { "DescribeCertificate", c.issued_match, { "acm/describe-certificate-issued.json" } },
            { "DescribeCertificate",
              c.imported_match,
              { "acm/describe-certificate-imported.json" } },
            { NULL },
        };
        fake_collect(&fr, &collect_acm, replies, REGION, NULL);
    }
    ck_assert_int_eq(fr.unmatched, 0);
    ck_assert_int_eq(fake_calls(&fr, "ListCertificates"), 1);
    ck_assert_int_eq(fake_calls(&fr, "DescribeCertificate"), 2);
    ck_assert_int_eq(fr.n_calls, 3);
    /* Every key type is asked for, or AWS lists RSA_2048 only. */
    params = fake_call_params(&fr, "ListCertificates", 0);
    ck_assert(fake_call_at(&fr, "ListCertificates", 0)->all_pages);
    ck_assert_int_eq(json_integer_value(json_object_get(params, "MaxItems")), 1000);
    types = json_object_get(json_object_get(params, "Includes"), "keyTypes");
    ck_assert_int_eq((int)json_array_size(types), 7);
    for (size_t i = 0; key_types[i]; i++)
        ck_assert_str_eq(json_string_value(json_array_get(types, i)), key_types[i]);

    ck_assert_int_eq((int)fake_count(&fr, "aws_acm_certificate"), 2);
    r = fake_find(&fr, "aws_acm_certificate", c.issued);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->arn, c.issued);
    ck_assert_str_eq(r->aws_type, "AWS::ACM::Certificate");
    ck_assert_str_eq(fake_str(r, "arn"), c.issued);
    ck_assert_str_eq(fake_str(r, "domain_name"), "example.com");
    ck_assert_str_eq(fake_str(r, "key_algorithm"), "RSA_2048");
    ck_assert_str_eq(fake_str(r, "type"), "AMAZON_ISSUED");
    ck_assert_str_eq(fake_str(r, "status"), "PENDING_VALIDATION");
    ck_assert(json_is_false(fake_attr(r, "in_use")));
    ck_assert_str_eq(fake_str(r, "options[0].certificate_transparency_logging_preference"),
                     "DISABLED");
    ck_assert_str_eq(fake_str(r, "validation_method"), "DNS");
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "subject_alternative_names")), 2);
    ck_assert(has_string(fake_attr(r, "subject_alternative_names"), "www.example.com"));
    ck_assert(has_string(fake_attr(r, "subject_alternative_names"), "example.com"));
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "domain_validation_options")), 2);
    rec = fake_load("acm/describe-certificate-issued.json");
    ck_assert_str_eq(
        fake_str(r, "domain_validation_options[0].resource_record_name"),
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(json_object_get(rec, "Certificate"),
                                                           "DomainValidationOptions"),
                                           0),
                            "ResourceRecord"),
            "Name")));
    ck_assert_str_eq(
        fake_str(r, "not_after"),
        json_string_value(json_object_get(json_object_get(rec, "Certificate"), "NotAfter")));
    json_decref(rec);
    ck_assert_str_eq(fake_str(r, "domain_validation_options[1].resource_record_type"), "CNAME");
    ck_assert(json_is_false(fake_attr(r, "pending_renewal")));
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "renewal_summary")), 0);
    ck_assert(json_is_null(fake_attr(r, "certificate_authority_arn")));
    ck_assert(json_is_null(fake_attr(r, "managed_by")));
    ck_assert_int_eq((int)json_object_size(r->unknown), 1);
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "tags")),
                     "not_collected:not read (one call per resource)");

    r = fake_find(&fr, "aws_acm_certificate", c.imported);
    ck_assert_str_eq(fake_str(r, "key_algorithm"), "RSA_1024");
    ck_assert_str_eq(fake_str(r, "type"), "IMPORTED");
    ck_assert_str_eq(fake_str(r, "domain_name"), "legacy.example.com");
    /* As Terraform stores it for certificates ACM did not issue. */
    ck_assert_str_eq(fake_str(r, "validation_method"), "NONE");
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "domain_validation_options")), 0);
    ck_assert_int_eq(fake_scope(&fr, "aws_acm_certificate", REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(describe_fails)
{
    struct certs c;
    struct fake_run fr = { 0 };
    const struct resource *r;
    load_certs(&c, "acm/list-certificates.json");
    {
        const struct fake_reply replies[] = {
            { "ListCertificates", NULL, { "acm/list-certificates.json" } },
            { "DescribeCertificate", c.issued_match, { "acm/describe-certificate-issued.json" } },
            { "DescribeCertificate",
              c.imported_match,
              { NULL },
              "AccessDeniedException",
              AWS_ERR_ACCESS_DENIED,
              "acm:DescribeCertificate" },
            { NULL },
        };
        fake_collect(&fr, &collect_acm, replies, REGION, NULL);
    }
    r = fake_find(&fr, "aws_acm_certificate", c.imported);
    ck_assert_ptr_nonnull(r);
    /* The list already said what the key-strength and expiry controls
     * need; what only the describe knows is unknown. */
    ck_assert_str_eq(fake_str(r, "key_algorithm"), "RSA_1024");
    ck_assert_str_eq(fake_str(r, "status"), "ISSUED");
    ck_assert_ptr_nonnull(fake_attr(r, "not_after"));
    ck_assert(json_is_false(fake_attr(r, "in_use")));
    ck_assert_ptr_null(fake_attr(r, "options"));
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "options")),
                     "access_denied:acm:DescribeCertificate");
    ck_assert_str_eq(json_string_value(json_object_get(r->unknown, "validation_method")),
                     "access_denied:acm:DescribeCertificate");
    ck_assert_int_eq((int)json_object_size(r->unknown), 9);
    r = fake_find(&fr, "aws_acm_certificate", c.issued);
    ck_assert_int_eq((int)json_object_size(r->unknown), 1);
    ck_assert_int_eq(fake_scope(&fr, "aws_acm_certificate", REGION)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(list_denied)
{
    static const struct fake_reply replies[] = {
        { "ListCertificates",
          NULL,
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "acm:ListCertificates" },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_acm, replies, REGION, NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_calls(&fr, "DescribeCertificate"), 0);
    ck_assert_int_eq(fake_scope(&fr, "aws_acm_certificate", REGION)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, "aws_acm_certificate", REGION)->detail,
                     "acm:ListCertificates");
    fake_end(&fr);
}
END_TEST

START_TEST(typemap_consistency)
{
    static const char *const derived[] = { "key_algorithm", "pending_renewal", NULL };
    struct certs c;
    struct fake_run fr = { 0 };
    const struct resource *r;
    json_t *outputs;
    load_certs(&c, "acm/list-certificates-full.json");
    {
        const struct fake_reply replies[] = {
            { "ListCertificates", NULL, { "acm/list-certificates-full.json" } },
            { "DescribeCertificate", NULL, { "acm/describe-certificate-full.json" } },
            { NULL },
        };
        fake_collect(&fr, &collect_acm, replies, REGION, NULL);
    }
    r = fake_find(&fr, "aws_acm_certificate", c.issued);
    ck_assert_ptr_nonnull(r);
    outputs =
        json_pack("{s:o,s:o}", "ListCertificates", fake_load("acm/list-certificates-full.json"),
                  "DescribeCertificate", fake_load("acm/describe-certificate-full.json"));
    fake_check_typemap(r, outputs, derived);
    json_decref(outputs);
    /* The derived ones: AWS's "EC-prime256v1" in SDK spelling, and the
     * pending renewal. */
    ck_assert_str_eq(fake_str(r, "key_algorithm"), "EC_prime256v1");
    ck_assert(json_is_true(fake_attr(r, "pending_renewal")));
    ck_assert_str_eq(fake_str(r, "renewal_summary[0].renewal_status"), "PENDING_AUTO_RENEWAL");
    ck_assert_str_eq(fake_str(r, "validation_emails[0]"), "admin@example.com");
    ck_assert(json_is_true(fake_attr(r, "in_use")));
    ck_assert_str_eq(fake_str(r, "managed_by"), "CLOUDFRONT");
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("acm"), &collect_acm);
    ck_assert(!collect_acm.global);
    ck_assert_str_eq(collect_acm.iam_actions[0], "acm:DescribeCertificate");
    ck_assert_str_eq(collect_acm.iam_actions[1], "acm:ListCertificates");
    ck_assert_ptr_null(collect_acm.iam_actions[2]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_acm");
    TCase *tc = tcase_create("acm");
    tcase_add_test(tc, certificates);
    tcase_add_test(tc, describe_fails);
    tcase_add_test(tc, list_denied);
    tcase_add_test(tc, typemap_consistency);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
