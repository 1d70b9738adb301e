/* Collector "iam": IAM, once per account (region "global").
 *
 * Types: aws_iam_user, aws_iam_access_key, aws_iam_role, aws_iam_policy
 * (customer-managed only), aws_iam_virtual_mfa_device,
 * aws_iam_account_password_policy (no document when the account has
 * none), plumb_iam_account_summary (id = account id) and
 * plumb_iam_credential_report (one document per row of the report, id =
 * its user column, "<root_account>" for the root user).
 *
 * Calls, per page of up to 1000 items: GetAccountAuthorizationDetails
 * (users, roles and local policies with their tags, inline and attached
 * policies, permissions boundaries and policy documents: what would
 * otherwise be several calls per role, user and policy), ListUsers (for
 * PasswordLastUsed), ListRoles (Description, MaxSessionDuration),
 * ListVirtualMFADevices.  Once: GetAccountPasswordPolicy,
 * GetAccountSummary, GenerateCredentialReport then GetCredentialReport.
 * Per user ListAccessKeys, per access key GetAccessKeyLastUsed, per local
 * policy ListPolicyTags (no call returns these for many at once); these
 * run a few at a time.
 *
 * When one of two listings of a type fails the other still lists every
 * item; the attributes only the failed one carries are marked unknown.
 * A credential report still being generated is polled a few times once
 * the rest is read; if it is still not ready the report type is UNKNOWN
 * for this cycle (AWS keeps a report for four hours, so the next cycle
 * finds it).  Not read: the tags of virtual MFA devices
 * (ListVirtualMFADevices does not return them; marked not_collected). */
#ifndef PLUMB_COLLECT_IAM_H
#define PLUMB_COLLECT_IAM_H

#include "collect.h"

extern const struct collector_def collect_iam_def;

#endif
