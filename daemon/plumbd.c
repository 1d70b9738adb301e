/* plumbd: the drift-detection daemon.  One libuv loop; systemd supervises
 * it (Type=notify, watchdog).  See plumbd(8). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "notify.h"
#include "plumb-config.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: plumbd [-c FILE] [--db PATH] [--log-level LEVEL] [--check-config]\n"
                 "\n"
                 "Watch AWS accounts for drift from Terraform state and from the NIS2/DORA\n"
                 "baseline, and raise events to webhooks, the journal, syslog and email.\n"
                 "\n"
                 "  -c, --config FILE     configuration file (default " PLUMB_CONFIG_FILE ")\n"
                 "      --db PATH         database (overrides [plumb] database)\n"
                 "      --log-level L     error, warning, notice, info or debug\n"
                 "      --check-config    validate the configuration and exit 0 or 1\n"
                 "  -h, --help            show this help\n"
                 "      --version         show the version\n");
}

int main(int argc, char **argv)
{
    enum { OPT_DB = 256, OPT_LOG_LEVEL, OPT_CHECK, OPT_VERSION };
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' },
        { "db", required_argument, NULL, OPT_DB },
        { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
        { "check-config", no_argument, NULL, OPT_CHECK },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    struct daemon_options opts = {
        .config_path = PLUMB_CONFIG_FILE,
    };
    int c;

    log_setup("plumbd", LOG_LEVEL_INFO);
    while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (c) {
        case 'c': opts.config_path = optarg; break;
        case OPT_DB: opts.db_path = optarg; break;
        case OPT_LOG_LEVEL: {
            enum log_level level;
            if (log_level_from_name(optarg, &level) < 0) {
                log_error("--log-level: expected error, warning, notice, info or debug, got '%s'",
                          optarg);
                return 2;
            }
            opts.log_level = level;
            opts.log_level_set = true;
            break;
        }
        case OPT_CHECK: opts.check_only = true; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("plumbd %s\n", PLUMB_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument '%s' (see plumbd --help)", argv[optind]);
        return 2;
    }
    if (opts.check_only)
        return daemon_check_config(&opts) == 0 ? 0 : 1;
    return daemon_run(&opts) == 0 ? 0 : 1;
}
