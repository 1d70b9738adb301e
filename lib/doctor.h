/* `plumb doctor`: checks that the AWS side of a configuration works, and
 * the minimal read-only IAM policy plumb needs.
 *
 * For each account (the configuration's [account] sections, or the
 * default credential chain when there are none), in this order:
 *   credentials  where they come from (never the secret), static or
 *                temporary, resolved and fetched now;
 *   identity     sts:GetCallerIdentity: account id and caller ARN; a
 *                configured account id that differs is a failure naming
 *                both;
 *   clock        the STS server's Date against the local clock: warn above
 *                skew_warn_ms, fail above skew_fail_ms;
 *   endpoint     per service (sts, iam and those of the enabled
 *                collectors): whether the endpoint answers at all;
 *   permission   per enabled collector: one cheap read (its first list
 *                operation, one page) proves the first of its iam_actions;
 *                access denied names the action;
 *   over-broad   whether the caller (IAM user or role) has the AWS managed
 *                AdministratorAccess policy attached
 *                (iam:ListAttachedUserPolicies / ListAttachedRolePolicies;
 *                "could not check" when that is denied).
 * Checks after a failed credentials or identity check are skipped.
 * Accounts run in parallel, the checks of one account one after the
 * other (a handful of calls, and a predictable order for tests).
 *
 * The report is JSON (the `plumb doctor --output json` contract, see
 * plumb(1)):
 *   {"status": "ok"|"warn"|"fail",
 *    "accounts": [{"name", "region", "source", "account_id", "arn",
 *                  "clock_skew_ms", "status"}],
 *    "checks": [{"account", "check", "subject", "status", "detail"}
 *               + "iam_actions": [...] for permission checks]}
 * where a check's status is "ok", "warn", "fail" or "skip" (not run or
 * could not tell; does not make the report fail), and unknown values are
 * null.
 *
 * Runs on the loop through lib/awsclient; lib/ code, so nothing is logged
 * or printed here (daemon/cmd_doctor.c renders the report). */
#ifndef PLUMB_DOCTOR_H
#define PLUMB_DOCTOR_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "awsclient.h"
#include "collect.h"
#include "config.h"
#include "util.h"

#define DOCTOR_SKEW_WARN_MS (60 * 1000)
#define DOCTOR_SKEW_FAIL_MS (5 * 60 * 1000)

/* Actions plumb needs besides the collectors': ec2:DescribeRegions (the
 * pipeline lists the enabled regions) and the two IAM reads of the
 * over-broad check. */
extern const char *const doctor_base_actions[];

struct doctor_options {
    uv_loop_t *loop; /* the client's loop */
    struct aws_client *client;
    const struct config *cfg;
    const char *region;   /* --region for every account; NULL = per account */
    aws_getenv_fn getenv; /* AWS_REGION / AWS_DEFAULT_REGION; NULL = getenv(3) */
    /* Collectors to check (NULL-terminated); NULL = collector_registry.
     * A collector is enabled unless its [collector NAME] says otherwise. */
    const struct collector_def *const *registry;
    int64_t skew_warn_ms; /* 0 = DOCTOR_SKEW_WARN_MS */
    int64_t skew_fail_ms; /* 0 = DOCTOR_SKEW_FAIL_MS */
};

struct doctor;

/* report: owned by the callback (json_decref it).  result is 0 whenever a
 * report was made (problems are in the report), -ECANCELED after
 * doctor_cancel() (report NULL). */
typedef void (*doctor_done_fn)(int result, json_t *report, void *userdata);

/* Start; done is called once from the loop.  Returns -EINVAL (missing
 * client or configuration) / -ENOMEM without calling done.  The options
 * (and the configuration and registry) are borrowed until done. */
int doctor_run(const struct doctor_options *opts, doctor_done_fn done, void *userdata,
               struct doctor **ret, struct perr *err);
/* Stop: done reports -ECANCELED later. */
void doctor_cancel(struct doctor *d);

/* The minimal read-only IAM policy for the collectors of registry (NULL =
 * collector_registry) plus doctor_base_actions: one Allow statement with
 * the actions sorted and de-duplicated, Resource "*".  New reference, NULL
 * on OOM. */
json_t *doctor_policy(const struct collector_def *const *registry);

/* "ok", "warn", "fail", "skip". */
enum doctor_status {
    DOCTOR_OK,
    DOCTOR_SKIP,
    DOCTOR_WARN,
    DOCTOR_FAIL,
};
const char *doctor_status_name(enum doctor_status s);

#endif
