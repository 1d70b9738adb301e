/* plumb: the command-line companion of plumbd.  See plumb(1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plumb-config.h"

const struct cli_command cli_commands[] = {
    { "status", "daemon state, last cycles, open drift and findings, outbox", cmd_status },
    { "scan", "one full cycle now (--once): collect, compare, evaluate, record", cmd_scan },
    { "resources", "list the live estate as last collected", cmd_resources },
    { "history", "versions of one resource with attribute-level changes", cmd_history },
    { "drift", "open drift: changed, missing, unmanaged, conflict", cmd_drift },
    { "controls", "the NIS2/DORA baseline catalogue", cmd_controls },
    { "findings", "baseline results (FAIL and UNKNOWN by default)", cmd_findings },
    { "posture", "pass/fail/unknown per NIS2 Art. 21(2) letter and DORA article", cmd_posture },
    { "export", "findings as OCSF, ASFF (Security Hub) or CSV evidence", cmd_export },
    { "events", "events raised and their deliveries; requeue dead letters", cmd_events },
    { NULL, NULL, NULL },
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: plumb [-c CONFIG] [--db PATH] [-o table|json] COMMAND [OPTIONS]\n\n"
                 "Commands:\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'plumb COMMAND --help' for a command's options; see plumb(1).\n");
}

/* Global options may precede the command. */
static int parse_global(struct cli *cli, int argc, char **argv, int *index)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        const char *val = NULL;
        int opt = 0;
        if (str_eq(a, "-h") || str_eq(a, "--help")) {
            usage(stdout);
            exit(EXIT_OK);
        }
        if (str_eq(a, "--version")) {
            printf("plumb %s\n", PLUMB_VERSION);
            exit(EXIT_OK);
        }
        if (str_eq(a, "--no-color")) {
            cli->color = false;
            i++;
            continue;
        }
        if (str_eq(a, "-c") || str_eq(a, "--config"))
            opt = 'c';
        else if (str_eq(a, "--db"))
            opt = 1001;
        else if (str_eq(a, "-o") || str_eq(a, "--output"))
            opt = 'o';
        else if (str_has_prefix(a, "--config="))
            opt = 'c', val = a + 9;
        else if (str_has_prefix(a, "--db="))
            opt = 1001, val = a + 5;
        else if (str_has_prefix(a, "--output="))
            opt = 'o', val = a + 9;
        else {
            fprintf(stderr, "plumb: unknown option '%s' (see plumb --help)\n", a);
            return -EXIT_USAGE;
        }
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "plumb: %s needs a value (see plumb --help)\n", a);
                return -EXIT_USAGE;
            }
            val = argv[++i];
        }
        if (cli_common_option(cli, opt, val) < 0)
            return -EXIT_USAGE;
        i++;
    }
    *index = i;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    int idx = 0, r;

    cli.color = output_want_color(stdout, getenv("NO_COLOR"));
    if (parse_global(&cli, argc, argv, &idx) < 0)
        return EXIT_USAGE;
    if (idx >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (str_eq(argv[idx], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (!str_eq(c->name, argv[idx]))
            continue;
        cli.command = c->name;
        r = c->run(&cli, argc - idx, argv + idx);
        runtime_free(cli.rt);
        config_free(cli.cfg);
        fflush(stdout);
        if (ferror(stdout)) {
            fprintf(stderr, "plumb: error: cannot write the output\n");
            return EXIT_FAIL;
        }
        return r;
    }
    fprintf(stderr, "plumb: unknown command '%s' (see plumb --help)\n", argv[idx]);
    return EXIT_USAGE;
}
