#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "snapshot.h"

static void usage(void)
{
    printf("Usage: plumb resources [--type T] [--region R] [--account A] [--output table|json]\n"
           "\n"
           "List the live estate as last collected.  JSON: an array of objects with type,\n"
           "aws_type, id, arn, account, region, status, attributes, tags, unknown, source,\n"
           "first_seen and changed_at.\n");
}

struct listing {
    const struct cli *cli;
    json_t *array;
    struct table *table;
};

/* "ok", or the status of the first attribute that could not be read. */
static const char *resource_status(const struct resource *r)
{
    const char *k;
    json_t *v;
    json_object_foreach (r->unknown, k, v) {
        const char *s = json_string_value(v);
        if (str_has_prefix(s, "access_denied"))
            return "access_denied";
        if (str_has_prefix(s, "throttled"))
            return "throttled";
        return "error";
    }
    return "ok";
}

static int add(const struct resource *r, int64_t first_seen, int64_t changed_at, int64_t deleted_at,
               void *ud)
{
    struct listing *l = ud;
    const char *status = resource_status(r);
    if (l->array) {
        char fs[32], ch[32];
        json_t *o;
        time_format_iso8601(first_seen, fs, sizeof(fs));
        time_format_iso8601(changed_at, ch, sizeof(ch));
        o = json_pack("{s:s, s:s?, s:s, s:s?, s:s, s:s, s:s, s:O, s:O, s:O, s:s?, s:s, s:s}",
                      "type", r->type, "aws_type", r->aws_type, "id", r->id, "arn", r->arn,
                      "account", r->account, "region", r->region, "status", status, "attributes",
                      r->attrs, "tags", r->tags, "unknown", r->unknown, "source", r->source,
                      "first_seen", fs, "changed_at", ch);
        if (!o || json_array_append_new(l->array, o) < 0)
            return -ENOMEM;
    } else {
        char ch[32];
        const char *cells[7];
        cli_format_time(changed_at, ch, sizeof(ch));
        cells[0] = r->type;
        cells[1] = r->id;
        cells[2] = r->account;
        cells[3] = r->region;
        cells[4] = status;
        cells[5] = ch;
        cells[6] = r->arn;
        if (table_add_row(l->table, cells) < 0)
            return -ENOMEM;
        if (!str_eq(status, "ok"))
            table_color_cell(l->table, 4, COLOR_YELLOW);
    }
    return 0;
}

int cmd_resources(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        { "type", required_argument, NULL, 't' },
        { "region", required_argument, NULL, 'r' },
        { "account", required_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const headers[] = { "TYPE",   "ID",      "ACCOUNT", "REGION",
                                           "STATUS", "CHANGED", "ARN",     NULL };
    struct snapshot_filter filter = { 0 };
    struct listing l = { .cli = cli };
    struct db *db = NULL;
    struct perr err = { 0 };
    int c, r, rc = EXIT_FAIL;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "t:r:a:", opts, NULL)) != -1) {
        int h = cli_common_option(cli, c, optarg);
        if (h < 0)
            return EXIT_USAGE;
        if (h)
            continue;
        switch (c) {
        case 't': filter.type = optarg; break;
        case 'r': filter.region = optarg; break;
        case 'a': filter.account = optarg; break;
        case 'h': usage(); return EXIT_OK;
        default: return cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    if (cli_open_db(cli, &db) < 0)
        return EXIT_FAIL;
    if (cli->output == OUTPUT_JSON)
        l.array = json_array();
    else
        l.table = table_new(headers);
    if (!l.array && !l.table) {
        cli_error("out of memory");
        goto out;
    }
    r = snapshot_foreach(db, &filter, add, &l, &err);
    if (r < 0) {
        cli_error("%s", r == -ENOMEM ? "out of memory" : err.msg);
        goto out;
    }
    if (l.array)
        r = output_json(stdout, l.array);
    else if (table_rows(l.table) == 0)
        r = printf("No resources%s. Run `plumb scan --once` or wait for plumbd's next cycle.\n",
                   filter.type || filter.region || filter.account ? " match" : " collected yet") < 0
                ? -EIO
                : 0;
    else
        r = cli_print_table(cli, l.table);
    rc = r < 0 ? EXIT_FAIL : EXIT_OK;
out:
    json_decref(l.array);
    table_free(l.table);
    db_close(db);
    return rc;
}
