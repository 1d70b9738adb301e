#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "plumb-config.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("plumb: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    fputs("plumb: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
    va_list ap;
    fputs("plumb: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see plumb %s --help)\n", cli->command ? cli->command : "");
    return EXIT_USAGE;
}

int cli_common_option(struct cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case 'c': cli->config_path = arg; return 1;
    case 1001: cli->db_path = arg; return 1;
    case 'o':
        if (output_format_from_name(arg, &cli->output) < 0) {
            cli_usage_error(cli, "--output: expected table or json, got '%s'", arg);
            return -EXIT_USAGE;
        }
        return 1;
    case 1002:
        if (time_parse_since(arg, time_now_ms(), &cli->since_ms) < 0) {
            cli_usage_error(cli, "--since: expected a duration (1h, 7d) or a date, got '%s'", arg);
            return -EXIT_USAGE;
        }
        cli->since = arg;
        return 1;
    case 1003: cli->color = false; return 1;
    default: return 0;
    }
}

int cli_load_config(struct cli *cli)
{
    struct config_env env = { .credentials_directory = getenv("CREDENTIALS_DIRECTORY") };
    struct perr err = { 0 };
    char **errors = NULL;
    const char *path = cli->config_path;
    int r;

    if (cli->cfg)
        return 0;
    if (!path && access(PLUMB_CONFIG_FILE, F_OK) == 0)
        path = PLUMB_CONFIG_FILE;
    if (!path) {
        r = config_defaults(&cli->cfg);
        if (r < 0)
            cli_error("out of memory");
        return r;
    }
    r = config_load(path, &env, &cli->cfg, &err, &errors);
    if (r < 0) {
        for (size_t i = 0; errors && errors[i]; i++)
            cli_error("%s", errors[i]);
        if (!errors)
            cli_error("%s", err.msg);
        strv_free(errors);
        return r;
    }
    cli->cfg_from_file = true;
    return 0;
}

int cli_load_runtime(struct cli *cli)
{
    struct perr err = { 0 };
    char **errors = NULL;
    int r;
    if (cli->rt)
        return 0;
    r = cli_load_config(cli);
    if (r < 0)
        return r;
    r = runtime_load(cli->cfg, &cli->rt, &err, &errors);
    if (r < 0) {
        for (size_t i = 0; errors && errors[i]; i++)
            cli_error("%s", errors[i]);
        if (!errors)
            cli_error("%s", err.msg);
        strv_free(errors);
    }
    return r;
}

char *cli_db_path(struct cli *cli)
{
    const char *xdg, *home;
    if (cli->db_path)
        return strdup(cli->db_path);
    if (cli->cfg && cli->cfg_from_file)
        return strdup(cli->cfg->database);
    xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/')
        return str_printf("%s/plumb/plumb.db", xdg);
    home = getenv("HOME");
    return str_printf("%s/.local/state/plumb/plumb.db", home && *home ? home : "/tmp");
}

int cli_open_db(struct cli *cli, struct db **ret)
{
    struct perr err = { 0 };
    char *path;
    int r = cli_load_config(cli);
    if (r < 0)
        return r;
    path = cli_db_path(cli);
    if (!path) {
        cli_error("out of memory");
        return -ENOMEM;
    }
    r = db_open(path, DB_READONLY, ret, &err);
    if (r < 0)
        cli_error("%s", err.msg);
    free(path);
    return r;
}

static int mkdir_parents(const char *path)
{
    char *dir = strdup(path), *slash;
    int r = 0;
    if (!dir)
        return -ENOMEM;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; *p; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                r = -errno;
            *p = '/';
        }
        if (r == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
            r = -errno;
    }
    free(dir);
    return r;
}

int cli_open_db_rw(struct cli *cli, struct db **ret)
{
    struct perr err = { 0 };
    char *path;
    int r = cli_load_config(cli);
    if (r < 0)
        return r;
    path = cli_db_path(cli);
    if (!path) {
        cli_error("out of memory");
        return -ENOMEM;
    }
    r = mkdir_parents(path);
    if (r < 0) {
        cli_error("cannot create the directory of %s: %s", path, strerror(-r));
        free(path);
        return r;
    }
    r = db_open(path, DB_READWRITE, ret, &err);
    if (r < 0)
        cli_error("%s", err.msg);
    free(path);
    return r;
}

int cli_print_table(const struct cli *cli, struct table *t)
{
    return table_print(t, stdout, cli->color, 60);
}

void cli_format_time(int64_t ms, char *buf, size_t size)
{
    char iso[32];
    if (ms <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    time_format_iso8601(ms, iso, sizeof(iso));
    /* 2026-11-22T14:03:05Z -> 2026-11-22 14:03 */
    snprintf(buf, size, "%.10s %.5s", iso, iso + 11);
}

void cli_format_age(int64_t now_ms, int64_t ms, char *buf, size_t size)
{
    char d[32];
    if (ms <= 0) {
        snprintf(buf, size, "never");
        return;
    }
    if (now_ms - ms < 1000) {
        snprintf(buf, size, "just now");
        return;
    }
    format_duration_ms((now_ms - ms) / 1000 * 1000, d, sizeof(d));
    /* Keep the two largest units ("1d3h", not "1d3h4m5s"). */
    {
        int units = 0;
        for (char *p = d; *p; p++)
            if (*p >= 'a' && *p <= 'z' && (p[1] < 'a' || p[1] > 'z') && ++units == 2) {
                p[1] = '\0';
                break;
            }
    }
    snprintf(buf, size, "%s ago", d);
}
