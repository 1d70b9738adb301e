#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "diff.h"
#include "typemap.h"

static void usage(void)
{
    printf("Usage: plumb drift [--category changed,missing,unmanaged,conflict] [--type T]\n"
           "                   [--account A] [--region R] [--exit-code] [--output table|json]\n"
           "\n"
           "The drift plumbd found and that is still open, most severe first.  The table\n"
           "shows each changed attribute as PATH: DECLARED -> LIVE.  JSON: an array of\n"
           "{category, type, id, arn, address, module, name, index_key, source, account,\n"
           "region, severity, first_seen, last_seen, updated_at, resource_key, exception,\n"
           "changes: [{path, declared, live}], tags}.  --exit-code exits with 3 when there\n"
           "is any.\n");
}

enum {
    OPT_CATEGORY = 2101,
    OPT_EXIT_CODE,
};

static const char *const categories[] = { "changed", "missing", "unmanaged", "conflict", NULL };

/* A value for a table cell: strings bare, the rest as compact JSON, cut. */
static char *short_value(const json_t *v)
{
    char *s;
    size_t n;
    if (!v || json_is_null(v))
        return strdup("(none)");
    s = json_is_string(v) ? strdup(json_string_value(v))
                          : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && strlen(s) > 60) {
        /* Cut on a UTF-8 boundary. */
        n = 57;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
        s[n] = '\0';
        if (!(s = realloc(s, n + 4)))
            return NULL;
        memcpy(s + n, "...", 4);
    }
    return s;
}

static char *change_text(const json_t *c)
{
    char *d = short_value(json_object_get(c, "declared"));
    char *l = short_value(json_object_get(c, "live"));
    char *out =
        d && l ? str_printf("%s: %s -> %s", json_string_value(json_object_get(c, "path")), d, l)
               : NULL;
    free(d);
    free(l);
    return out;
}

static enum output_color severity_color(const char *sev)
{
    if (str_eq(sev, "critical") || str_eq(sev, "high"))
        return COLOR_RED;
    if (str_eq(sev, "medium"))
        return COLOR_YELLOW;
    return COLOR_NONE;
}

/* What a row says beyond its columns. */
static char *detail_of(const json_t *o)
{
    const char *cat = json_string_value(json_object_get(o, "category"));
    const char *ex = json_string_value(json_object_get(o, "exception"));
    const json_t *changes = json_object_get(o, "changes");
    char *body = NULL, *out;

    if (str_eq(cat, "conflict")) {
        const json_t *decls = json_object_get(json_array_get(changes, 0), "declared");
        struct buf b;
        size_t i;
        json_t *d;
        buf_init(&b, 4096);
        buf_append_str(&b, "declared by ");
        json_array_foreach ((json_t *)decls, i, d)
            buf_appendf(&b, "%s%s:%s", i ? ", " : "",
                        json_string_value(json_object_get(d, "source")),
                        json_string_value(json_object_get(d, "address")));
        body = buf_steal(&b, NULL);
    } else if (str_eq(cat, "changed")) {
        body = change_text(json_array_get(changes, 0));
    } else if (str_eq(cat, "missing")) {
        body = strdup("declared, not found in AWS");
    } else {
        body = strdup("in AWS, declared in no state");
    }
    if (!body || !ex)
        return body;
    out = str_printf("[exception %s] %s", ex, body);
    free(body);
    return out;
}

static int print_table(const struct cli *cli, const json_t *rows)
{
    static const char *const headers[] = { "SEVERITY",   "CATEGORY", "TYPE",    "ID",
                                           "ADDRESS",    "SOURCE",   "ACCOUNT", "REGION",
                                           "FIRST SEEN", "DETAIL",   NULL };
    struct table *t = table_new(headers);
    size_t i;
    json_t *o;
    int r = 0;

    if (!t)
        return -ENOMEM;
    json_array_foreach ((json_t *)rows, i, o) {
        char first[32], *detail = detail_of(o);
        int64_t ms = 0;
        const char *sev = json_string_value(json_object_get(o, "severity"));
        const char *cells[] = {
            sev,
            json_string_value(json_object_get(o, "category")),
            json_string_value(json_object_get(o, "type")),
            json_string_value(json_object_get(o, "id")),
            json_string_value(json_object_get(o, "address")),
            json_string_value(json_object_get(o, "source")),
            json_string_value(json_object_get(o, "account")),
            json_string_value(json_object_get(o, "region")),
            first,
            detail,
        };
        const json_t *changes = json_object_get(o, "changes");
        if (time_parse_iso8601(json_string_value(json_object_get(o, "first_seen")), &ms) < 0)
            ms = 0;
        cli_format_time(ms, first, sizeof(first));
        r = detail ? table_add_row(t, cells) : -ENOMEM;
        free(detail);
        if (r < 0)
            break;
        table_color_cell(t, 0, severity_color(sev));
        /* Further changed attributes, one line each. */
        if (str_eq(json_string_value(json_object_get(o, "category")), "changed")) {
            for (size_t k = 1; k < json_array_size(changes) && r == 0; k++) {
                char *text = change_text(json_array_get(changes, k));
                const char *more[] = { "", "", "", "", "", "", "", "", "", text };
                r = text ? table_add_row(t, more) : -ENOMEM;
                free(text);
            }
        }
        if (r < 0)
            break;
    }
    if (r == 0)
        r = cli_print_table(cli, t);
    table_free(t);
    return r;
}

int cmd_drift(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        { "category", required_argument, NULL, OPT_CATEGORY },
        { "type", required_argument, NULL, 't' },
        { "account", required_argument, NULL, 'a' },
        { "region", required_argument, NULL, 'r' },
        { "exit-code", no_argument, NULL, OPT_EXIT_CODE },
        { NULL, 0, NULL, 0 },
    };
    struct diff_filter f = { 0 };
    char **cats = NULL;
    struct typemap *tm = NULL;
    struct db *db = NULL;
    struct perr err = { 0 };
    json_t *rows = NULL;
    bool exit_code = false;
    int c, r, rc = EXIT_FAIL;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "t:a:r:", opts, NULL)) != -1) {
        int h = cli_common_option(cli, c, optarg);
        if (h < 0)
            goto usage_fail;
        if (h)
            continue;
        switch (c) {
        case OPT_CATEGORY:
            strv_free(cats);
            cats = NULL;
            if (strv_split(optarg, ",", &cats) < 0) {
                cli_error("out of memory");
                goto out;
            }
            if (!cats || !cats[0]) {
                rc = cli_usage_error(cli, "--category: expected changed, missing, unmanaged "
                                          "or conflict");
                goto out;
            }
            for (size_t i = 0; cats[i]; i++)
                if (!strv_contains((char *const *)categories, cats[i])) {
                    rc = cli_usage_error(cli,
                                         "--category: unknown category '%s' (changed, missing, "
                                         "unmanaged, conflict)",
                                         cats[i]);
                    goto out;
                }
            break;
        case 't': f.type = optarg; break;
        case 'a': f.account = optarg; break;
        case 'r': f.region = optarg; break;
        case OPT_EXIT_CODE: exit_code = true; break;
        case 'h':
            usage();
            rc = EXIT_OK;
            goto out;
        default:
            if (optopt == OPT_CATEGORY || optopt == 't' || optopt == 'a' || optopt == 'r' ||
                optopt == 'c' || optopt == 'o' || optopt == 1001 || optopt == 1002)
                rc = cli_usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
            else
                rc = cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        rc = cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    f.categories = cats;
    /* The type table only names the address parts; without it they are null. */
    if (typemap_load_embedded(&tm, &err) < 0)
        tm = NULL;
    if (cli_open_db(cli, &db) < 0)
        goto out;
    r = diff_list_open(db, tm, &f, &rows, &err);
    if (r < 0) {
        cli_error("%s", r == -ENOMEM ? "out of memory" : err.msg);
        goto out;
    }
    if (cli->output == OUTPUT_JSON)
        r = output_json(stdout, rows);
    else if (json_array_size(rows) == 0)
        r = printf("No open drift%s.\n",
                   f.categories || f.type || f.account || f.region ? " matches" : "") < 0
                ? -EIO
                : 0;
    else
        r = print_table(cli, rows);
    if (r < 0) {
        cli_error("%s", r == -ENOMEM ? "out of memory" : "cannot write the output");
        goto out;
    }
    rc = exit_code && json_array_size(rows) > 0 ? EXIT_FINDINGS : EXIT_OK;
out:
    json_decref(rows);
    db_close(db);
    typemap_free(tm);
    strv_free(cats);
    return rc;
usage_fail:
    rc = EXIT_USAGE;
    goto out;
}
