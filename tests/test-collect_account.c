#include <stdlib.h>

#include "collect_account.h"
#include "fakeaws.h"
#include "testutil.h"
#include "util.h"

#define HOME "us-east-1"
#define T    "aws_account_alternate_contact"

START_TEST(contacts)
{
    static const struct fake_reply replies[] = {
        { "GetAlternateContact",
          "{\"AlternateContactType\":\"SECURITY\"}",
          { "account/get-alternate-contact-security.json" } },
        { "GetAlternateContact",
          "{\"AlternateContactType\":\"BILLING\"}",
          { "account/get-alternate-contact-billing.json" } },
        { "GetAlternateContact",
          "{\"AlternateContactType\":\"OPERATIONS\"}",
          { NULL },
          "ResourceNotFoundException",
          AWS_ERR_NOT_FOUND },
        { NULL },
    };
    static const char *const regions[] = { "eu-central-1", "eu-west-1", NULL };
    struct fake_run fr = { 0 };
    const struct resource *r;
    json_t *outputs;
    fake_collect(&fr, &collect_account, replies, HOME, regions);
    ck_assert_int_eq(fr.unmatched, 0);
    ck_assert_int_eq(fake_calls(&fr, "GetAlternateContact"), 3);
    ck_assert_str_eq(fake_call_at(&fr, "GetAlternateContact", 0)->region, HOME);

    ck_assert_int_eq((int)fake_count(&fr, T), 2);
    r = fake_find(&fr, T, "SECURITY");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->region, "global");
    ck_assert_ptr_null(r->arn);
    ck_assert_ptr_null(r->aws_type);
    ck_assert_str_eq(fake_str(r, "alternate_contact_type"), "SECURITY");
    ck_assert_str_eq(fake_str(r, "name"), "Security Team");
    ck_assert_str_eq(fake_str(r, "title"), "CISO");
    ck_assert_str_eq(fake_str(r, "email_address"), "security@example.com");
    ck_assert_str_eq(fake_str(r, "phone_number"), "+49 30 1234567");
    ck_assert_str_eq(fake_str(r, "account_id"), "");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_ptr_nonnull(fake_find(&fr, T, "BILLING"));
    /* Not set: no document, and the read is complete. */
    ck_assert_ptr_null(fake_find(&fr, T, "OPERATIONS"));
    ck_assert_int_eq((int)fr.res->n_scopes, 1);
    ck_assert_str_eq(fake_scope(&fr, T, NULL)->region, "global");
    ck_assert_int_eq(fake_scope(&fr, T, NULL)->status, COLLECT_OK);

    outputs = json_pack("{s:o}", "GetAlternateContact",
                        fake_load("account/get-alternate-contact-security.json"));
    fake_check_typemap(fake_find(&fr, T, "SECURITY"), outputs, NULL);
    json_decref(outputs);
    fake_end(&fr);
}
END_TEST

START_TEST(security_contact_denied)
{
    static const struct fake_reply replies[] = {
        { "GetAlternateContact",
          "{\"AlternateContactType\":\"SECURITY\"}",
          { NULL },
          "AccessDeniedException",
          AWS_ERR_ACCESS_DENIED,
          "account:GetAlternateContact" },
        { "GetAlternateContact", NULL, { NULL }, "ResourceNotFoundException", AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_account, replies, HOME, NULL);
    /* "Not set" for the others must not hide that SECURITY is unknown. */
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T, NULL)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(&fr, T, NULL)->detail, "account:GetAlternateContact");
    fake_end(&fr);
}
END_TEST

START_TEST(all_unset)
{
    static const struct fake_reply replies[] = {
        { "GetAlternateContact", NULL, { NULL }, "ResourceNotFoundException", AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fake_run fr = { 0 };
    fake_collect(&fr, &collect_account, replies, HOME, NULL);
    ck_assert_int_eq((int)fr.res->resources.n, 0);
    ck_assert_int_eq(fake_scope(&fr, T, NULL)->status, COLLECT_OK);
    fake_end(&fr);
}
END_TEST

START_TEST(definition)
{
    ck_assert_ptr_eq(collector_find("account"), &collect_account);
    ck_assert(collect_account.global);
    ck_assert_str_eq(collect_account.iam_actions[0], "account:GetAlternateContact");
    ck_assert_ptr_null(collect_account.iam_actions[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_account");
    TCase *tc = tcase_create("account");
    tcase_add_test(tc, contacts);
    tcase_add_test(tc, security_contact_denied);
    tcase_add_test(tc, all_unset);
    tcase_add_test(tc, definition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
