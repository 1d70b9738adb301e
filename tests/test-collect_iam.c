#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collect_iam.h"
#include "config.h"
#include "crypto.h"
#include "fakeaws_rules.h"
#include "testutil.h"
#include "typemap.h"
#include "util.h"

#define G        "global"
#define US       "us-east-1"
#define USER     "aws_iam_user"
#define KEY      "aws_iam_access_key"
#define ROLE     "aws_iam_role"
#define POLICY   "aws_iam_policy"
#define PASSWORD "aws_iam_account_password_policy"
#define MFA      "aws_iam_virtual_mfa_device"
#define SUMMARY  "plumb_iam_account_summary"
#define REPORT   "plumb_iam_credential_report"
/* Ids of the recorded estate (tests/data/responses/sec-estate.json,
 * checked by recorded_estate_ids). */
#define KEY_ALICE "AKIARZPUZDIKJVH5EJOZ"
#define KEY_BOB0  "AKIARZPUZDIKB4GVFLCP"
#define KEY_BOB1  "AKIARZPUZDIKH4S4OPT6"
#define BOUNDARY  "arn:aws:iam::123456789012:policy/plumb/plumb-boundary"

static const char *const all_types[] = { USER, KEY,     ROLE,   POLICY, PASSWORD,
                                         MFA,  SUMMARY, REPORT, NULL };

static const char *attr_str(const struct resource *r, const char *path)
{
    return json_string_value(fakeaws_attr(r, path));
}

static const char *unknown(const struct resource *r, const char *attr)
{
    return json_string_value(json_object_get(r->unknown, attr));
}

#define DENIED(op, action)                                                                    \
    {                                                                                         \
        op, .error_code = "AccessDenied", .kind = AWS_ERR_ACCESS_DENIED, .iam_action = action \
    }

/* The recorded estate, every call answered. */
#define RECORDED_RULES                                                                            \
    { "GetAccountAuthorizationDetails",                                                           \
      .pages = { "file:iam/get-account-authorization-details.json" } },                           \
        { "ListUsers", .pages = { "file:iam/list-users.json" } },                                 \
        { "ListRoles", .pages = { "file:iam/list-roles.json" } },                                 \
        { "ListAccessKeys", "UserName=alice",                                                     \
          .pages = { "file:iam/list-access-keys-alice.json" } },                                  \
        { "ListAccessKeys", "UserName=bob", .pages = { "file:iam/list-access-keys-bob.json" } },  \
        { "GetAccessKeyLastUsed", "AccessKeyId=" KEY_ALICE,                                       \
          .pages = { "file:iam/get-access-key-last-used-alice-0.json" } },                        \
        { "GetAccessKeyLastUsed", "AccessKeyId=" KEY_BOB0,                                        \
          .pages = { "file:iam/get-access-key-last-used-bob-0.json" } },                          \
        { "GetAccessKeyLastUsed", "AccessKeyId=" KEY_BOB1,                                        \
          .pages = { "file:iam/get-access-key-last-used-bob-1.json" } },                          \
        { "ListPolicyTags", .pages = { "file:iam/list-policy-tags.json" } },                      \
        { "ListVirtualMFADevices", .pages = { "file:iam/list-virtual-mfa-devices.json" } },       \
        { "GenerateCredentialReport",                                                             \
          .pages = { "file:iam/generate-credential-report-started.json" }, .max_uses = 1 },       \
        { "GenerateCredentialReport",                                                             \
          .pages = { "file:iam/generate-credential-report-complete.json" } },                     \
        { "GetCredentialReport", .pages = { "file:iam/get-credential-report.json" } },            \
        { "GetAccountPasswordPolicy", .pages = { "file:iam/get-account-password-policy.json" } }, \
    {                                                                                             \
        "GetAccountSummary", .pages = { "file:iam/get-account-summary.json" }                     \
    }

START_TEST(registered)
{
    static const char *const want[] = {
        "iam:GetAccountAuthorizationDetails",
        "iam:ListUsers",
        "iam:ListRoles",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:ListPolicyTags",
        "iam:ListVirtualMFADevices",
        "iam:GetAccountPasswordPolicy",
        "iam:GetAccountSummary",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        NULL,
    };
    bool known = false;
    ck_assert_ptr_eq(collector_find("iam"), &collect_iam_def);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        known = known || str_eq(config_collector_defaults[i].name, collect_iam_def.name);
    ck_assert(known);
    ck_assert(collect_iam_def.global);
    for (size_t i = 0; want[i] || collect_iam_def.iam_actions[i]; i++)
        ck_assert_str_eq(collect_iam_def.iam_actions[i], want[i]);
}
END_TEST

START_TEST(recorded_estate_ids)
{
    json_t *estate = fakeaws_load("file:sec-estate.json");
    const json_t *keys = json_object_get(json_object_get(estate, "iam"), "keys");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(keys, "alice"), 0)),
                     KEY_ALICE);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(keys, "bob"), 0)), KEY_BOB0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(keys, "bob"), 1)), KEY_BOB1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(estate, "iam"), "policy")),
                     BOUNDARY);
    json_decref(estate);
}
END_TEST

START_TEST(recorded_estate)
{
    static const struct fakeaws_rule rules[] = { RECORDED_RULES, { NULL } };
    static const char *const per_item[] = { "ListAccessKeys", "GetAccessKeyLastUsed",
                                            "ListPolicyTags", NULL };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    const struct fakeaws_call *c;
    json_t *doc, *want;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    ck_assert_int_eq((int)f.n_unmatched, 0);

    /* Account-wide listings once, per-item calls only where no listing
     * carries the data, a report poll once the rest is read. */
    c = fakeaws_find(&f, "GetAccountAuthorizationDetails", NULL);
    ck_assert_int_eq((int)json_integer_value(json_object_get(c->params, "MaxItems")), 1000);
    want = json_pack("[sss]", "User", "Role", "LocalManagedPolicy");
    ck_assert(json_equal(json_object_get(c->params, "Filter"), want));
    json_decref(want);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListUsers", "MaxItems=1000"), 1);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListRoles", "MaxItems=1000"), 1);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListVirtualMFADevices", "MaxItems=1000"), 1);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListAccessKeys", NULL), 2);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetAccessKeyLastUsed", NULL), 3);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListPolicyTags", "PolicyArn=" BOUNDARY), 1);
    ck_assert_int_eq((int)fakeaws_count(&f, "GenerateCredentialReport", NULL), 2);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetCredentialReport", NULL), 1);
    ck_assert_int_eq((int)f.n_calls, 4 + 2 + 3 + 1 + 2 + 1 + 2);
    for (size_t i = 0; i < f.n_calls; i++) {
        ck_assert_str_eq(f.calls[i].region, US);
        ck_assert_str_eq(f.calls[i].service, "iam");
    }
    /* The report is polled only after everything else was answered. */
    {
        unsigned long last_other = 0;
        for (size_t i = 0; i < f.n_calls; i++)
            if (!str_has_suffix(f.calls[i].operation, "CredentialReport") &&
                f.calls[i].served > last_other)
                last_other = f.calls[i].served;
        ck_assert_uint_gt(f.calls[f.n_calls - 2].issued, last_other);
        ck_assert_str_eq(f.calls[f.n_calls - 2].operation, "GenerateCredentialReport");
    }
    ck_assert_uint_le(fakeaws_max_in_flight(&f, per_item), 3);

    r = fakeaws_resource(out.res, USER, "alice");
    ck_assert_str_eq(r->region, G);
    ck_assert_str_eq(r->arn, "arn:aws:iam::123456789012:user/staff/alice");
    ck_assert_str_eq(attr_str(r, "arn"), r->arn);
    ck_assert_str_eq(attr_str(r, "name"), "alice");
    ck_assert_str_eq(attr_str(r, "path"), "/staff/");
    ck_assert_str_eq(attr_str(r, "unique_id"), "mpioyggvnyruiwqy6qkt");
    ck_assert(json_is_null(fakeaws_attr(r, "password_last_used")));
    /* moto leaves the boundary out of GetAccountAuthorizationDetails. */
    ck_assert(json_is_null(fakeaws_attr(r, "permissions_boundary")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "security");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, USER), 2);

    ck_assert_int_eq((int)fakeaws_count_type(out.res, KEY), 3);
    r = fakeaws_resource(out.res, KEY, KEY_BOB1);
    ck_assert_ptr_null(r->arn);
    ck_assert_str_eq(attr_str(r, "user"), "bob");
    ck_assert_str_eq(attr_str(r, "status"), "Inactive");
    ck_assert_str_eq(attr_str(r, "create_date"), "2026-11-22T22:42:38.256Z");
    /* Never used: AWS says N/A, which is "not set". */
    ck_assert(json_is_null(fakeaws_attr(r, "last_used_date")));
    ck_assert(json_is_null(fakeaws_attr(r, "last_used_region")));
    ck_assert(json_is_null(fakeaws_attr(r, "last_used_service")));
    ck_assert_str_eq(attr_str(fakeaws_resource(out.res, KEY, KEY_ALICE), "user"), "alice");

    r = fakeaws_resource(out.res, ROLE, "plumb-app");
    ck_assert_str_eq(r->arn, "arn:aws:iam::123456789012:role/app/plumb-app");
    ck_assert_str_eq(attr_str(r, "description"), "the application");
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "max_session_duration")), 7200);
    ck_assert_str_eq(attr_str(r, "path"), "/app/");
    ck_assert_str_eq(attr_str(r, "managed_policy_arns[0]"), BOUNDARY);
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "managed_policy_arns")), 1);
    ck_assert_str_eq(attr_str(r, "inline_policy[0].name"), "read-logs");
    /* Policy documents are JSON text, as Terraform stores them. */
    doc = json_loads(attr_str(r, "inline_policy[0].policy"), 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(doc, "Statement"), 0), "Action")),
                     "logs:Get*");
    json_decref(doc);
    doc = json_loads(attr_str(r, "assume_role_policy"), 0, NULL);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(doc, "Statement"), 0), "Principal"),
            "Service")),
        "ec2.amazonaws.com");
    json_decref(doc);
    ck_assert(json_is_null(fakeaws_attr(r, "role_last_used[0].last_used_date")));
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "app")), "plumb");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);

    r = fakeaws_resource(out.res, POLICY, BOUNDARY);
    ck_assert_str_eq(r->arn, BOUNDARY);
    /* moto sends no PolicyName: the ARN's last segment is the name. */
    ck_assert_str_eq(attr_str(r, "name"), "plumb-boundary");
    ck_assert_str_eq(attr_str(r, "path"), "/plumb/");
    ck_assert_str_eq(attr_str(r, "description"), "boundary for staff");
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "attachment_count")), 1);
    doc = json_loads(attr_str(r, "policy"), 0, NULL);
    ck_assert_str_eq(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(doc, "Statement"), 0), "Action"), 1)),
        "logs:*");
    json_decref(doc);
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "owner")), "platform");

    ck_assert_int_eq((int)fakeaws_count_type(out.res, MFA), 2);
    r = fakeaws_resource(out.res, MFA, "arn:aws:iam::123456789012:mfa/alice-mfa");
    ck_assert_str_eq(r->arn, r->id);
    ck_assert_str_eq(attr_str(r, "user_name"), "alice");
    ck_assert_str_eq(attr_str(r, "path"), "/");
    ck_assert_str_eq(attr_str(r, "virtual_mfa_device_name"), "alice-mfa");
    ck_assert_ptr_nonnull(attr_str(r, "enable_date"));
    /* The seed is a secret and no attribute of the table. */
    ck_assert_ptr_null(fakeaws_attr(r, "base_32_string_seed"));
    ck_assert_int_eq((int)json_object_size(r->attrs), 5);
    ck_assert_str_eq(unknown(r, "tags"),
                     "not_collected:ListVirtualMFADevices does not return tags");
    r = fakeaws_resource(out.res, MFA, "arn:aws:iam::123456789012:mfa/ops/spare-mfa");
    ck_assert_str_eq(attr_str(r, "path"), "/ops/");
    ck_assert_str_eq(attr_str(r, "virtual_mfa_device_name"), "spare-mfa");
    ck_assert(json_is_null(fakeaws_attr(r, "user_name")));
    ck_assert(json_is_null(fakeaws_attr(r, "enable_date")));

    r = fakeaws_resource(out.res, PASSWORD, "iam-account-password-policy");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "minimum_password_length")), 14);
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "password_reuse_prevention")), 24);
    ck_assert(json_is_true(fakeaws_attr(r, "require_symbols")));
    ck_assert(json_is_false(fakeaws_attr(r, "hard_expiry")));

    r = fakeaws_resource(out.res, SUMMARY, "123456789012");
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "account_mfa_enabled")), 0);
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "account_access_keys_present")), 0);
    ck_assert_int_eq((int)json_integer_value(fakeaws_attr(r, "users")), 2);
    ck_assert_int_eq((int)json_object_size(r->attrs), 9);

    /* moto's report has no root row. */
    ck_assert_int_eq((int)fakeaws_count_type(out.res, REPORT), 2);
    r = fakeaws_resource(out.res, REPORT, "alice");
    ck_assert_str_eq(r->arn, "arn:aws:iam::123456789012:user/staff/alice");
    ck_assert_str_eq(attr_str(r, "user"), "alice");
    ck_assert(json_is_true(fakeaws_attr(r, "password_enabled")));
    ck_assert(json_is_true(fakeaws_attr(r, "mfa_active")));
    ck_assert(json_is_true(fakeaws_attr(r, "access_key_1_active")));
    ck_assert(json_is_false(fakeaws_attr(r, "access_key_2_active")));
    /* no_information, not_supported and N/A are "not set". */
    ck_assert(json_is_null(fakeaws_attr(r, "password_last_used")));
    ck_assert(json_is_null(fakeaws_attr(r, "password_next_rotation")));
    ck_assert(json_is_null(fakeaws_attr(r, "access_key_1_last_used_date")));
    /* Times as ISO 8601 UTC, like every other timestamp. */
    ck_assert_str_eq(attr_str(r, "user_creation_time"), "2026-11-22T22:42:38Z");
    ck_assert_str_eq(attr_str(r, "generated_time"), "2015-02-02T20:02:02Z");
    r = fakeaws_resource(out.res, REPORT, "bob");
    ck_assert(json_is_false(fakeaws_attr(r, "password_enabled")));
    ck_assert_str_eq(attr_str(r, "access_key_2_last_rotated"), "2026-11-22T22:42:38Z");

    for (size_t i = 0; all_types[i]; i++)
        ck_assert_int_eq(fakeaws_scope(out.res, G, all_types[i])->status, COLLECT_OK);
    ck_assert_int_eq((int)out.res->n_scopes, 8);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(gaad_denied)
{
    static const struct fakeaws_rule rules[] = {
        DENIED("GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails"),
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    const char *why = "access_denied:iam:GetAccountAuthorizationDetails";
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    /* Users and roles are still all listed; only what the denied call
     * carries is unknown.  Local policies have no other listing. */
    r = fakeaws_resource(out.res, USER, "alice");
    ck_assert_str_eq(attr_str(r, "path"), "/staff/");
    ck_assert_str_eq(unknown(r, "tags"), why);
    ck_assert_str_eq(unknown(r, "permissions_boundary"), why);
    ck_assert_int_eq((int)json_object_size(r->unknown), 2);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, KEY), 3);
    r = fakeaws_resource(out.res, ROLE, "plumb-app");
    ck_assert_str_eq(attr_str(r, "description"), "the application");
    ck_assert_str_eq(unknown(r, "inline_policy"), why);
    ck_assert_str_eq(unknown(r, "managed_policy_arns"), why);
    ck_assert_str_eq(unknown(r, "role_last_used"), why);
    ck_assert_ptr_null(fakeaws_attr(r, "inline_policy"));
    ck_assert_int_eq(fakeaws_scope(out.res, G, USER)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, G, ROLE)->status, COLLECT_OK);
    ck_assert_int_eq(fakeaws_scope(out.res, G, POLICY)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, G, POLICY)->detail,
                     "iam:GetAccountAuthorizationDetails");
    ck_assert_int_eq((int)fakeaws_count(&f, "ListPolicyTags", NULL), 0);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(list_users_denied)
{
    static const struct fakeaws_rule rules[] = {
        DENIED("ListUsers", "iam:ListUsers"),
        DENIED("ListRoles", "iam:ListRoles"),
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    r = fakeaws_resource(out.res, USER, "alice");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "team")), "security");
    ck_assert_str_eq(unknown(r, "password_last_used"), "access_denied:iam:ListUsers");
    ck_assert_int_eq((int)json_object_size(r->unknown), 1);
    r = fakeaws_resource(out.res, ROLE, "plumb-app");
    ck_assert_str_eq(unknown(r, "description"), "access_denied:iam:ListRoles");
    ck_assert_str_eq(unknown(r, "max_session_duration"), "access_denied:iam:ListRoles");
    ck_assert_str_eq(attr_str(r, "inline_policy[0].name"), "read-logs");
    ck_assert_int_eq((int)fakeaws_count(&f, "ListAccessKeys", NULL), 2);
    for (size_t i = 0; all_types[i]; i++)
        ck_assert_int_eq(fakeaws_scope(out.res, G, all_types[i])->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(no_user_listing)
{
    static const struct fakeaws_rule rules[] = {
        DENIED("ListUsers", "iam:ListUsers"),
        DENIED("GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails"),
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    /* Neither listing: users and their keys are UNKNOWN, never empty. */
    ck_assert_int_eq((int)fakeaws_count_type(out.res, USER), 0);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListAccessKeys", NULL), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, G, USER)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, G, USER)->detail, "iam:ListUsers");
    ck_assert_int_eq(fakeaws_scope(out.res, G, KEY)->status, COLLECT_ACCESS_DENIED);
    /* Roles still come from ListRoles. */
    ck_assert_int_eq(fakeaws_scope(out.res, G, ROLE)->status, COLLECT_OK);
    ck_assert_ptr_nonnull(fakeaws_resource(out.res, ROLE, "plumb-app"));
    ck_assert_int_eq(fakeaws_scope(out.res, G, REPORT)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(per_item_failures)
{
    static const struct fakeaws_rule rules[] = {
        DENIED("ListAccessKeys", "iam:ListAccessKeys"),
        { "ListPolicyTags", .error_code = "Throttling", .kind = AWS_ERR_THROTTLED },
        { "GetAccountPasswordPolicy", .error_code = "NoSuchEntity", .kind = AWS_ERR_NOT_FOUND },
        DENIED("GetAccountSummary", "iam:GetAccountSummary"),
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, KEY), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, G, KEY)->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fakeaws_scope(out.res, G, KEY)->detail, "iam:ListAccessKeys");
    ck_assert_int_eq(fakeaws_scope(out.res, G, USER)->status, COLLECT_OK);
    ck_assert_str_eq(unknown(fakeaws_resource(out.res, POLICY, BOUNDARY), "tags"),
                     "throttled:Throttling: fake error");
    /* No password policy: no document, a successful read. */
    ck_assert_int_eq((int)fakeaws_count_type(out.res, PASSWORD), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, G, PASSWORD)->status, COLLECT_OK);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, SUMMARY), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, G, SUMMARY)->status, COLLECT_ACCESS_DENIED);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(deleted_user_and_unused_key_read_denied)
{
    static const struct fakeaws_rule rules[] = {
        { "ListAccessKeys", "UserName=bob", .error_code = "NoSuchEntity",
          .kind = AWS_ERR_NOT_FOUND },
        DENIED("GetAccessKeyLastUsed", "iam:GetAccessKeyLastUsed"),
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    /* bob went away between the listing and the key read: no keys. */
    ck_assert_int_eq((int)fakeaws_count_type(out.res, KEY), 1);
    ck_assert_int_eq(fakeaws_scope(out.res, G, KEY)->status, COLLECT_OK);
    r = fakeaws_resource(out.res, KEY, KEY_ALICE);
    ck_assert_str_eq(attr_str(r, "status"), "Active");
    ck_assert_str_eq(unknown(r, "last_used_date"), "access_denied:iam:GetAccessKeyLastUsed");
    ck_assert_str_eq(unknown(r, "last_used_service"), "access_denied:iam:GetAccessKeyLastUsed");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(report_never_ready)
{
    static const struct fakeaws_rule rules[] = {
        { "GenerateCredentialReport",
          .pages = { "{\"State\":\"INPROGRESS\",\"Description\":\"working\"}" } },
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    /* The first request and three polls, then UNKNOWN for this cycle. */
    ck_assert_int_eq((int)fakeaws_count(&f, "GenerateCredentialReport", NULL), 4);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetCredentialReport", NULL), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, G, REPORT)->status, COLLECT_ERROR);
    ck_assert_str_eq(fakeaws_scope(out.res, G, REPORT)->detail,
                     "the credential report is still being generated");
    ck_assert_int_eq(fakeaws_scope(out.res, G, USER)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

START_TEST(report_gone_then_back)
{
    static const struct fakeaws_rule rules[] = {
        { "GenerateCredentialReport",
          .pages = { "file:iam/generate-credential-report-complete.json" } },
        { "GetCredentialReport", .error_code = "ReportExpired", .kind = AWS_ERR_CLIENT,
          .max_uses = 1 },
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count(&f, "GenerateCredentialReport", NULL), 2);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetCredentialReport", NULL), 2);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, REPORT), 2);
    ck_assert_int_eq(fakeaws_scope(out.res, G, REPORT)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);
}
END_TEST

/* A report with the given CSV text as its content. */
static char *report_page(const char *csv)
{
    char *b64 = base64_encode(csv, strlen(csv));
    char *page = str_printf("{\"Content\":\"%s\",\"GeneratedTime\":\"2024-05-02T06:00:00Z\"}", b64);
    free(b64);
    return page;
}

START_TEST(report_csv)
{
    /* Quoted fields (commas, doubled quotes), CRLF line ends, a column the
     * table does not know, and columns it knows missing. */
    char *good = report_page(
        "user,arn,extra,password_enabled,mfa_active\r\n"
        "\"odd,name\",\"arn:aws:iam::123456789012:user/\"\"odd\"\"\",x,true,\"false\"\r\n"
        "<root_account>,arn:aws:iam::123456789012:root,y,not_supported,true\r\n");
    char *not_csv = report_page("this is not a report");
    char *bad_quote = report_page("user,arn\n\"unterminated,arn:x\n");
    struct fakeaws_rule rules[] = {
        { "GetCredentialReport", .pages = { good } },
        RECORDED_RULES,
        { NULL },
    };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;

    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, REPORT), 2);
    r = fakeaws_resource(out.res, REPORT, "odd,name");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->arn, "arn:aws:iam::123456789012:user/\"odd\"");
    ck_assert(json_is_true(fakeaws_attr(r, "password_enabled")));
    ck_assert(json_is_false(fakeaws_attr(r, "mfa_active")));
    ck_assert_ptr_null(fakeaws_attr(r, "extra"));
    /* Not in this report: absent (not read), not null. */
    ck_assert_ptr_null(fakeaws_attr(r, "access_key_1_active"));
    r = fakeaws_resource(out.res, REPORT, "<root_account>");
    ck_assert(json_is_null(fakeaws_attr(r, "password_enabled")));
    ck_assert(json_is_true(fakeaws_attr(r, "mfa_active")));
    ck_assert_int_eq(fakeaws_scope(out.res, G, REPORT)->status, COLLECT_OK);
    fakeaws_result_free(&out);
    fakeaws_free(&f);

    rules[0].pages[0] = not_csv;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, REPORT), 0);
    ck_assert_int_eq(fakeaws_scope(out.res, G, REPORT)->status, COLLECT_ERROR);
    ck_assert_str_eq(fakeaws_scope(out.res, G, REPORT)->detail,
                     "GetCredentialReport: not a credential report (CSV)");
    fakeaws_result_free(&out);
    fakeaws_free(&f);

    rules[0].pages[0] = bad_quote;
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    ck_assert_int_eq(fakeaws_scope(out.res, G, REPORT)->status, COLLECT_ERROR);
    ck_assert_str_eq(fakeaws_scope(out.res, G, REPORT)->detail,
                     "GetCredentialReport: not a credential report (CSV)");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    free(good);
    free(not_csv);
    free(bad_quote);
}
END_TEST

START_TEST(many_users_few_at_a_time)
{
    struct buf users;
    struct fakeaws_rule rules[] = {
        { "ListUsers", .pages = { NULL } },
        { "GetAccountAuthorizationDetails", .pages = { "{\"UserDetailList\":[]}" } },
        { "ListAccessKeys", .pages = { "{\"AccessKeyMetadata\":[{\"AccessKeyId\":\"AKIAONE\","
                                       "\"UserName\":\"u\"}]}" } },
        { "GetAccessKeyLastUsed", .pages = { "{\"AccessKeyLastUsed\":{}}" } },
        RECORDED_RULES,
        { NULL },
    };
    static const char *const per_item[] = { "ListAccessKeys", "GetAccessKeyLastUsed", NULL };
    struct fakeaws f;
    struct fakeaws_result out;
    buf_init(&users, 1 << 20);
    buf_append_str(&users, "{\"Users\":[");
    for (int i = 0; i < 40; i++)
        buf_appendf(&users,
                    "%s{\"UserName\":\"u%d\",\"Arn\":\"arn:aws:iam::123456789012:user/u%d\"}",
                    i ? "," : "", i, i);
    buf_append_str(&users, "]}");
    rules[0].pages[0] = buf_str(&users);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    ck_assert_int_eq((int)fakeaws_count_type(out.res, USER), 40);
    ck_assert_int_eq((int)fakeaws_count(&f, "ListAccessKeys", NULL), 40);
    ck_assert_int_eq((int)fakeaws_count(&f, "GetAccessKeyLastUsed", NULL), 40);
    /* Bounded by the run's max_in_flight (3 in fakeaws_collect). */
    ck_assert_uint_eq(fakeaws_max_in_flight(&f, per_item), 3);
    /* Users GetAccountAuthorizationDetails did not list (none here) have
     * the attributes only it carries unknown. */
    ck_assert_str_eq(unknown(fakeaws_resource(out.res, USER, "u7"), "tags"),
                     "error:not in GetAccountAuthorizationDetails");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    buf_free(&users);
}
END_TEST

START_TEST(type_table_consistency)
{
    static const struct fakeaws_rule rules[] = {
        { "GetAccountAuthorizationDetails",
          .pages = { "file:iam/get-account-authorization-details-full.json" } },
        { "ListUsers", .pages = { "file:iam/list-users-full.json" } },
        { "ListRoles", .pages = { "file:iam/list-roles-full.json" } },
        { "ListAccessKeys", .pages = { "file:iam/list-access-keys-full.json" } },
        { "GetAccessKeyLastUsed", .pages = { "file:iam/get-access-key-last-used-full.json" } },
        { "ListPolicyTags", .pages = { "file:iam/list-policy-tags-full.json" } },
        { "ListVirtualMFADevices", .pages = { "file:iam/list-virtual-mfa-devices-full.json" } },
        { "GenerateCredentialReport",
          .pages = { "file:iam/generate-credential-report-complete.json" } },
        { "GetCredentialReport", .pages = { "file:iam/get-credential-report-full.json" } },
        { "GetAccountPasswordPolicy", .pages = { "file:iam/get-account-password-policy.json" } },
        { "GetAccountSummary", .pages = { "file:iam/get-account-summary.json" } },
        { NULL },
    };
    static const char *const ops[] = {
        "GetAccountAuthorizationDetails",
        "ListUsers",
        "ListRoles",
        "ListAccessKeys",
        "GetAccessKeyLastUsed",
        "ListPolicyTags",
        "ListVirtualMFADevices",
        "GenerateCredentialReport",
        "GetCredentialReport",
        "GetAccountPasswordPolicy",
        "GetAccountSummary",
        NULL,
    };
    /* What the table names and GetAccountAuthorizationDetails (and the
     * listings) replace: one call per user, role and policy each. */
    static const char *const replaced[] = { "GetUser",
                                            "GetRole",
                                            "ListRolePolicies",
                                            "GetRolePolicy",
                                            "ListAttachedRolePolicies",
                                            "ListPolicies",
                                            "GetPolicy",
                                            "GetPolicyVersion",
                                            NULL };
    static const struct {
        const char *type, *id;
    } docs[] = {
        { USER, "carol" },
        { KEY, "AKIAEXAMPLECAROL0002" },
        { ROLE, "deploy" },
        { POLICY, "arn:aws:iam::123456789012:policy/boundary" },
        { PASSWORD, "iam-account-password-policy" },
        { MFA, "arn:aws:iam::123456789012:mfa/staff/carol-phone" },
        { SUMMARY, "123456789012" },
        { REPORT, "carol" },
    };
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct fakeaws f;
    struct fakeaws_result out;
    const struct resource *r;
    char *missing;
    json_t *doc;
    ck_assert_int_eq(typemap_load_embedded(&tm, &err), 0);
    fakeaws_init(&f, rules);
    fakeaws_collect(&f, &collect_iam_def, US, NULL, &out);
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        const struct typemap_type *t = typemap_find(tm, docs[i].type);
        r = fakeaws_resource(out.res, docs[i].type, docs[i].id);
        ck_assert_msg(r != NULL, "no %s %s", docs[i].type, docs[i].id);
        ck_assert_str_eq(r->region, G);
        missing = fakeaws_missing(tm, r, ops);
        ck_assert_msg(missing == NULL, "%s missing: %s", docs[i].type, missing);
        ck_assert_str_eq(t->collector, "collect_iam");
        for (size_t j = 0; j < t->n_ops; j++) {
            bool known = false;
            for (size_t k = 0; ops[k]; k++)
                known = known || str_eq(ops[k], t->ops[j].op);
            for (size_t k = 0; replaced[k]; k++)
                known = known || str_eq(replaced[k], t->ops[j].op);
            ck_assert_msg(known, "%s: %s is neither called nor replaced", docs[i].type,
                          t->ops[j].op);
        }
    }
    for (size_t k = 0; replaced[k]; k++)
        ck_assert_int_eq((int)fakeaws_count(&f, replaced[k], NULL), 0);

    r = fakeaws_resource(out.res, USER, "carol");
    ck_assert_str_eq(attr_str(r, "permissions_boundary"),
                     "arn:aws:iam::123456789012:policy/boundary");
    ck_assert_str_eq(attr_str(r, "password_last_used"), "2024-04-20T17:30:00Z");
    r = fakeaws_resource(out.res, KEY, "AKIAEXAMPLECAROL0001");
    ck_assert_str_eq(attr_str(r, "last_used_date"), "2024-04-30T07:15:00Z");
    ck_assert_str_eq(attr_str(r, "last_used_service"), "s3");
    r = fakeaws_resource(out.res, ROLE, "deploy");
    ck_assert_int_eq((int)json_array_size(fakeaws_attr(r, "managed_policy_arns")), 2);
    ck_assert_str_eq(attr_str(r, "role_last_used[0].region"), "eu-central-1");
    ck_assert_str_eq(attr_str(r, "permissions_boundary"),
                     "arn:aws:iam::123456789012:policy/boundary");
    /* The default version's document, not the first one. */
    r = fakeaws_resource(out.res, POLICY, "arn:aws:iam::123456789012:policy/boundary");
    ck_assert_str_eq(attr_str(r, "policy_id"), "ANPAEXAMPLEBOUNDARY01");
    doc = json_loads(attr_str(r, "policy"), 0, NULL);
    ck_assert_str_eq(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(doc, "Statement"), 0), "Action"), 0)),
        "s3:*");
    json_decref(doc);
    r = fakeaws_resource(out.res, MFA, "arn:aws:iam::123456789012:mfa/staff/carol-phone");
    ck_assert_str_eq(attr_str(r, "path"), "/staff/");
    ck_assert_str_eq(json_string_value(json_object_get(r->tags, "kind")), "phone");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    r = fakeaws_resource(out.res, MFA, "arn:aws:iam::123456789012:mfa/root-account-mfa-device");
    ck_assert(json_is_null(fakeaws_attr(r, "user_name")));
    ck_assert_str_eq(attr_str(r, "virtual_mfa_device_name"), "root-account-mfa-device");
    /* The root row of a real report. */
    r = fakeaws_resource(out.res, REPORT, "<root_account>");
    ck_assert_str_eq(r->arn, "arn:aws:iam::123456789012:root");
    ck_assert(json_is_null(fakeaws_attr(r, "password_enabled")));
    ck_assert(json_is_true(fakeaws_attr(r, "mfa_active")));
    ck_assert(json_is_false(fakeaws_attr(r, "access_key_1_active")));
    ck_assert_str_eq(attr_str(r, "password_last_used"), "2024-04-01T08:00:00Z");
    r = fakeaws_resource(out.res, REPORT, "carol");
    ck_assert(json_is_true(fakeaws_attr(r, "cert_1_active")));
    ck_assert_str_eq(attr_str(r, "access_key_1_last_used_region"), "eu-central-1");
    ck_assert_str_eq(attr_str(r, "generated_time"), "2024-05-02T06:00:00Z");
    fakeaws_result_free(&out);
    fakeaws_free(&f);
    typemap_free(tm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_iam");
    TCase *tc = tcase_create("collect_iam");
    tcase_add_test(tc, registered);
    tcase_add_test(tc, recorded_estate_ids);
    tcase_add_test(tc, recorded_estate);
    tcase_add_test(tc, gaad_denied);
    tcase_add_test(tc, list_users_denied);
    tcase_add_test(tc, no_user_listing);
    tcase_add_test(tc, per_item_failures);
    tcase_add_test(tc, deleted_user_and_unused_key_read_denied);
    tcase_add_test(tc, report_never_ready);
    tcase_add_test(tc, report_gone_then_back);
    tcase_add_test(tc, report_csv);
    tcase_add_test(tc, many_users_few_at_a_time);
    tcase_add_test(tc, type_table_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
