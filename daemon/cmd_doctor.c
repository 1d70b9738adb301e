/* plumb doctor: check credentials, identity, clock, endpoints and
 * permissions for every configured account (lib/doctor.c does the work),
 * or print the minimal read-only IAM policy.  See plumb(1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "awsclient.h"
#include "cli.h"
#include "commands.h"
#include "doctor.h"

static void usage(void)
{
    printf("Usage: plumb doctor [-c CONFIG] [--region R] [--output table|json]\n"
           "       plumb doctor --policy\n"
           "\n"
           "Check, for every configured account (or the default AWS credentials), where the\n"
           "credentials come from, who they are (sts:GetCallerIdentity), the clock, that the\n"
           "endpoints answer, that each enabled collector may read, and whether the\n"
           "credentials are over-broad (AdministratorAccess).  Exit status 0 when all is\n"
           "well, 3 when a check warns or fails, 1 on errors.\n"
           "\n"
           "  --region R   check in region R instead of each account's first region\n"
           "  --policy     print the minimal read-only IAM policy plumb needs, as JSON\n");
}

struct run {
    json_t *report;
    int result;
    bool done;
};

static void on_done(int result, json_t *report, void *userdata)
{
    struct run *run = userdata;
    run->result = result;
    run->report = report;
    run->done = true;
}

static void on_closed(void *userdata)
{
    (void)userdata;
}

static enum output_color color_of(const char *status)
{
    if (str_eq(status, "ok"))
        return COLOR_GREEN;
    if (str_eq(status, "warn"))
        return COLOR_YELLOW;
    if (str_eq(status, "fail"))
        return COLOR_RED;
    return COLOR_DIM;
}

static int print_table(const struct cli *cli, const json_t *report)
{
    static const char *const headers[] = {
        "ACCOUNT", "CHECK", "STATUS", "SUBJECT", "DETAIL", NULL
    };
    struct table *t = table_new(headers);
    size_t i, n_warn = 0, n_fail = 0;
    json_t *c;
    int r = 0;

    if (!t)
        return -ENOMEM;
    json_array_foreach (json_object_get(report, "checks"), i, c) {
        const char *status = json_string_value(json_object_get(c, "status"));
        const char *cells[5] = {
            json_string_value(json_object_get(c, "account")),
            json_string_value(json_object_get(c, "check")),
            status,
            json_string_value(json_object_get(c, "subject")),
            json_string_value(json_object_get(c, "detail")),
        };
        if (table_add_row(t, cells) < 0) {
            r = -ENOMEM;
            goto out;
        }
        table_color_cell(t, 2, color_of(status));
        n_warn += str_eq(status, "warn");
        n_fail += str_eq(status, "fail");
    }
    r = cli_print_table(cli, t);
    if (r >= 0 && n_warn + n_fail == 0)
        r = printf("\nAll checks passed.\n") < 0 ? -EIO : 0;
    else if (r >= 0)
        r = printf("\n%zu problem%s: %zu failed, %zu warning%s.\n", n_warn + n_fail,
                   n_warn + n_fail == 1 ? "" : "s", n_fail, n_warn, n_warn == 1 ? "" : "s") < 0
                ? -EIO
                : 0;
out:
    table_free(t);
    return r;
}

static int print_policy(void)
{
    json_t *p = doctor_policy(NULL);
    int r;
    if (!p) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    r = output_json(stdout, p);
    json_decref(p);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_doctor(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        { "region", required_argument, NULL, 'r' },
        { "policy", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    const char *region = NULL;
    bool policy = false;
    uv_loop_t loop;
    bool loop_open = false;
    struct aws_client *client = NULL;
    struct run run = { 0 };
    struct perr err = { 0 };
    int c, r, rc = EXIT_FAIL;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "r:", opts, NULL)) != -1) {
        int h = cli_common_option(cli, c, optarg);
        if (h < 0)
            return EXIT_USAGE;
        if (h)
            continue;
        switch (c) {
        case 'r': region = optarg; break;
        case 'p': policy = true; break;
        case 'h': usage(); return EXIT_OK;
        default: return cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    if (region && !*region)
        return cli_usage_error(cli, "--region needs a region name");
    if (policy)
        return print_policy();
    if (cli_load_config(cli) < 0)
        return EXIT_FAIL;

    r = uv_loop_init(&loop);
    if (r < 0) {
        cli_error("cannot create the event loop: %s", uv_strerror(r));
        return EXIT_FAIL;
    }
    loop_open = true;
    {
        const struct config *cfg = cli->cfg;
        struct aws_client_options ao = {
            .loop = &loop,
            .endpoint_url = cfg->endpoint_url,
            .ca_bundle = cfg->ca_bundle,
            .max_attempts = cfg->max_attempts,
            .budget_share = cfg->api_budget_share,
            .timeout_ms = cfg->http_timeout_ms,
            .max_per_host =
                cfg->max_connections_per_host > 0 ? (unsigned)cfg->max_connections_per_host : 0,
        };
        r = aws_client_new(&ao, &client, &err);
        if (r < 0) {
            cli_error("%s", err.msg);
            goto out;
        }
    }
    {
        struct doctor_options d = {
            .loop = &loop,
            .client = client,
            .cfg = cli->cfg,
            .region = region,
        };
        r = doctor_run(&d, on_done, &run, NULL, &err);
        if (r < 0) {
            cli_error("%s", err.msg);
            goto out;
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (!run.done || run.result < 0 || !run.report) {
        cli_error("the checks did not complete");
        goto out;
    }
    if (cli->output == OUTPUT_JSON)
        r = output_json(stdout, run.report);
    else
        r = print_table(cli, run.report);
    if (r < 0) {
        cli_error("cannot write the report");
        goto out;
    }
    rc = str_eq(json_string_value(json_object_get(run.report, "status")), "ok") ? EXIT_OK
                                                                                : EXIT_FINDINGS;
out:
    if (client) {
        aws_client_close(client, on_closed, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    if (loop_open && uv_loop_close(&loop) < 0)
        cli_error("the event loop did not close cleanly");
    json_decref(run.report);
    return rc;
}
