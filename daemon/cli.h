/* Shared plumbing of the plumb CLI: common options, configuration and
 * database resolution, errors and exit codes.  See plumb(1). */
#ifndef PLUMB_CLI_H
#define PLUMB_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "output.h"
#include "runtime.h"

/* Documented exit codes (plumb(1)). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,     /* something went wrong */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_FINDINGS = 3, /* --exit-code: drift or failing controls; doctor: problems */
};

struct cli {
    const char *command;
    const char *config_path; /* -c; NULL = the default file if it exists */
    const char *db_path;     /* --db */
    enum output_format output;
    bool color;
    const char *since; /* --since */
    int64_t since_ms;  /* resolved cut-off, 0 = none */
    struct config *cfg;
    bool cfg_from_file;
    struct runtime *rt;
};

/* One subcommand. */
struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(struct cli *cli, int argc, char **argv);
};

/* Options every subcommand accepts; merged with the command's own. */
#define CLI_COMMON_OPTIONS                                                                      \
    { "config", required_argument, NULL, 'c' }, { "db", required_argument, NULL, 1001 },        \
        { "output", required_argument, NULL, 'o' }, { "since", required_argument, NULL, 1002 }, \
        { "no-color", no_argument, NULL, 1003 },                                                \
    {                                                                                           \
        "help", no_argument, NULL, 'h'                                                          \
    }
#define CLI_COMMON_SHORT "c:o:h"

/* Handle a common option; returns 1 if handled, 0 if not common, or
 * EXIT_USAGE (negated) on a bad value. */
int cli_common_option(struct cli *cli, int opt, const char *arg);

/* Load the configuration: the -c file (must exist), else the default file
 * when it exists, else built-in defaults.  Prints errors. */
int cli_load_config(struct cli *cli);
/* Load the configuration and build its runtime (catalogue, ...), printing
 * every problem. */
int cli_load_runtime(struct cli *cli);
/* Database path: --db, else the configuration's, else
 * $XDG_STATE_HOME/plumb/plumb.db (~/.local/state/plumb/plumb.db) when
 * there is no configuration file.  malloc'd. */
char *cli_db_path(struct cli *cli);
/* Open the database read-only, printing a one-line error. */
int cli_open_db(struct cli *cli, struct db **ret);
/* Open (creating the directory) read-write. */
int cli_open_db_rw(struct cli *cli, struct db **ret);

/* "plumb: error: <message>" on stderr (one line). */
void cli_error(const char *fmt, ...) PLUMB_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) PLUMB_PRINTF(1, 2);
/* Usage error: message plus "see plumb COMMAND --help"; returns EXIT_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...) PLUMB_PRINTF(2, 3);

/* Print a table or JSON according to --output. */
int cli_print_table(const struct cli *cli, struct table *t);

/* Format a Unix ms time for tables ("2026-11-22 14:03" local-free UTC). */
void cli_format_time(int64_t ms, char *buf, size_t size);
/* "3m ago", "2d ago". */
void cli_format_age(int64_t now_ms, int64_t ms, char *buf, size_t size);

extern const struct cli_command cli_commands[];

#endif
