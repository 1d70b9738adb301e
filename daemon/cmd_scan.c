/* plumb scan --once: one full cycle — every enabled collector, the state
 * sources, then the analysis — recorded exactly as plumbd records it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "analysis.h"
#include "awsclient.h"
#include "cli.h"
#include "commands.h"
#include "dbq.h"
#include "dispatch.h"
#include "evaluate.h"
#include "pipeline.h"
#include "plumb-config.h"
#include "scan.h"

static void usage(void)
{
    printf("Usage: plumb scan --once [--region R]... [--state PATH|GLOB|s3://BUCKET/KEY|URL]...\n"
           "                  [--collector NAME]... [--exit-code [--severity S]] [--quiet]\n"
           "                  [--output table|json]\n"
           "\n"
           "Run one full cycle now: collect every enabled collector in every account and\n"
           "region, read the Terraform states, compare, evaluate the baseline and record\n"
           "drift, findings and events exactly as plumbd does.  Works without any\n"
           "configuration file: credentials and endpoints come from the standard AWS\n"
           "environment, regions from --region (default AWS_REGION).\n"
           "\n"
           "  --exit-code     exit 3 when open drift or failing controls of at least\n"
           "                  --severity (default high) exist (for CI after terraform apply)\n"
           "  --quiet         no progress on stderr\n"
           "\n"
           "JSON: {resources_seen, versions_written, api_calls, throttled, unknown: [{type,\n"
           "region, account, status, detail}], collectors: [...], analysis: {...},\n"
           "drift: {...}, findings: {...}, events: n}.\n");
}

int cmd_scan(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        { "once", no_argument, NULL, 'O' },
        { "region", required_argument, NULL, 'r' },
        { "state", required_argument, NULL, 's' },
        { "collector", required_argument, NULL, 'C' },
        { "exit-code", no_argument, NULL, 'x' },
        { "severity", required_argument, NULL, 'S' },
        { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 },
    };
    struct scan_options so = { 0 };
    struct scan_result res = { 0 };
    bool once = false, exit_code = false;
    enum severity threshold = SEVERITY_HIGH;
    char **regions = NULL, **states = NULL, **collectors = NULL;
    struct db *db = NULL;
    struct perr err = { 0 };
    int c, r, rc = EXIT_FAIL;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "r:s:C:q", opts, NULL)) != -1) {
        int h = cli_common_option(cli, c, optarg);
        if (h < 0)
            goto usage_fail;
        if (h)
            continue;
        switch (c) {
        case 'O': once = true; break;
        case 'r':
            if (strv_push(&regions, optarg) < 0)
                goto oom;
            break;
        case 's':
            if (strv_push(&states, optarg) < 0)
                goto oom;
            break;
        case 'C':
            if (!collector_find(optarg)) {
                cli_usage_error(cli, "--collector: no collector named '%s'", optarg);
                goto usage_fail;
            }
            if (strv_push(&collectors, optarg) < 0)
                goto oom;
            break;
        case 'x': exit_code = true; break;
        case 'S':
            if (severity_from_name(optarg, &threshold) < 0) {
                cli_usage_error(cli, "--severity: expected low, medium, high or critical");
                goto usage_fail;
            }
            break;
        case 'q': so.quiet = true; break;
        case 'h':
            usage();
            rc = EXIT_OK;
            goto out;
        default: cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]); goto usage_fail;
        }
    }
    if (optind < argc) {
        cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
        goto usage_fail;
    }
    if (!once) {
        cli_usage_error(cli, "plumb scan needs --once (the daemon, plumbd, scans on schedules)");
        goto usage_fail;
    }
    if (cli_load_runtime(cli) < 0 || cli_open_db_rw(cli, &db) < 0)
        goto out;
    if (!regions && !(cli->cfg->regions && cli->cfg->regions[0]) && cli->cfg->n_accounts == 0) {
        const char *env = getenv("AWS_REGION");
        if (!env || !*env)
            env = getenv("AWS_DEFAULT_REGION");
        if (env && *env && strv_push(&regions, env) < 0)
            goto oom;
    }
    so.cfg = cli->cfg;
    so.rt = cli->rt;
    so.regions = regions;
    so.states = states;
    so.collectors = collectors;
    so.progress = so.quiet ? NULL : stderr;
    r = scan_once(&so, db, &res, &err);
    db = NULL; /* scan_once took it */
    if (r < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    if (cli->output == OUTPUT_JSON)
        r = output_json(stdout, res.summary);
    else
        r = scan_print_summary(stdout, &res, cli->color);
    rc = r < 0 ? EXIT_FAIL : EXIT_OK;
    if (rc == EXIT_OK && res.accounts_failed > 0 && res.accounts_ready == 0)
        rc = EXIT_FAIL;
    if (rc == EXIT_OK && exit_code && scan_has_findings(&res, threshold))
        rc = EXIT_FINDINGS;
    goto out;
oom:
    cli_error("out of memory");
    goto out;
usage_fail:
    rc = EXIT_USAGE;
out:
    scan_result_free(&res);
    db_close(db);
    strv_free(regions);
    strv_free(states);
    strv_free(collectors);
    return rc;
}
