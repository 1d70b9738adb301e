#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "outbox.h"

static void usage(void)
{
    printf("Usage: plumb events [--since 1h] [--failed] [--kind GLOB] [--sink NAME]\n"
           "                    [--limit N] [--output table|json]\n"
           "       plumb events --retry-failed [--sink NAME] [--kind GLOB] [--since 1h]\n"
           "\n"
           "List the events plumb raised and where each was delivered, oldest first (the\n"
           "newest N, default 200; --limit 0 for all).  --failed shows only events with a\n"
           "dead-lettered delivery, one row per dead letter.  JSON: an array of {seq, id,\n"
           "kind, dedupe_key, severity, category, resource, account, region, created_at,\n"
           "summary, deliveries: [{sink, state, attempts, last_error, delivered_at,\n"
           "next_attempt_at}]}.\n"
           "\n"
           "--retry-failed puts dead letters back into the outbox; plumbd sends them again\n"
           "within 30 seconds.\n");
}

enum {
    OPT_FAILED = 2001,
    OPT_KIND,
    OPT_SINK,
    OPT_LIMIT,
    OPT_RETRY,
};

/* The most specific name of what an event is about. */
static const char *resource_name(const json_t *ev)
{
    const json_t *res = json_object_get(ev, "resource");
    const char *s = json_string_value(json_object_get(res, "key"));
    if (!s)
        s = json_string_value(json_object_get(res, "arn"));
    if (!s)
        s = json_string_value(json_object_get(res, "address"));
    if (!s)
        s = json_string_value(json_object_get(ev, "dedupe_key"));
    return s;
}

static void when(const json_t *v, char *buf, size_t size)
{
    int64_t ms = 0;
    if (!json_is_string(v) || time_parse_iso8601(json_string_value(v), &ms) < 0)
        ms = 0;
    cli_format_time(ms, buf, size);
}

static enum output_color severity_color(const char *sev)
{
    if (str_eq(sev, "critical") || str_eq(sev, "high"))
        return COLOR_RED;
    if (str_eq(sev, "medium"))
        return COLOR_YELLOW;
    return COLOR_NONE;
}

/* "webhook:oncall delivered, journal failed (3)". */
static char *delivery_summary(const json_t *deliveries)
{
    struct buf b;
    size_t i;
    json_t *d;
    buf_init(&b, 4096);
    json_array_foreach (deliveries, i, d) {
        const char *state = json_string_value(json_object_get(d, "state"));
        int64_t attempts = json_integer_value(json_object_get(d, "attempts"));
        if (buf_appendf(&b, "%s%s %s", i ? ", " : "", json_string_value(json_object_get(d, "sink")),
                        state ? state : "?") < 0 ||
            (!str_eq(state, "delivered") && attempts > 0 &&
             buf_appendf(&b, " (%lld)", (long long)attempts) < 0))
            break;
    }
    return buf_steal(&b, NULL);
}

static int print_events(const struct cli *cli, const json_t *events)
{
    static const char *const headers[] = { "CREATED",    "KIND",    "SEVERITY", "RESOURCE",
                                           "DELIVERIES", "SUMMARY", NULL };
    struct table *t = table_new(headers);
    size_t i;
    json_t *ev;
    int r = 0;

    if (!t)
        return -ENOMEM;
    json_array_foreach (events, i, ev) {
        char created[32], *deliv = delivery_summary(json_object_get(ev, "deliveries"));
        const char *sev = json_string_value(json_object_get(ev, "severity"));
        const char *cells[] = { created, json_string_value(json_object_get(ev, "kind")),
                                sev,     resource_name(ev),
                                deliv,   json_string_value(json_object_get(ev, "summary")) };
        when(json_object_get(ev, "created_at"), created, sizeof(created));
        r = deliv ? table_add_row(t, cells) : -ENOMEM;
        free(deliv);
        if (r < 0)
            break;
        table_color_cell(t, 2, severity_color(sev));
    }
    if (r == 0)
        r = cli_print_table(cli, t);
    table_free(t);
    return r;
}

/* One row per dead letter. */
static int print_failed(const struct cli *cli, const json_t *events)
{
    static const char *const headers[] = { "CREATED", "KIND",       "RESOURCE", "SINK",
                                           "TRIES",   "LAST ERROR", NULL };
    struct table *t = table_new(headers);
    size_t i, j;
    json_t *ev, *d;
    int r = 0;

    if (!t)
        return -ENOMEM;
    json_array_foreach (events, i, ev) {
        char created[32];
        when(json_object_get(ev, "created_at"), created, sizeof(created));
        json_array_foreach (json_object_get(ev, "deliveries"), j, d) {
            char tries[24];
            const char *cells[] = { created,
                                    json_string_value(json_object_get(ev, "kind")),
                                    resource_name(ev),
                                    json_string_value(json_object_get(d, "sink")),
                                    tries,
                                    json_string_value(json_object_get(d, "last_error")) };
            if (!str_eq(json_string_value(json_object_get(d, "state")), "failed"))
                continue;
            snprintf(tries, sizeof(tries), "%lld",
                     (long long)json_integer_value(json_object_get(d, "attempts")));
            r = table_add_row(t, cells);
            if (r < 0)
                break;
            table_color_cell(t, 3, COLOR_RED);
        }
        if (r < 0)
            break;
    }
    if (r == 0)
        r = cli_print_table(cli, t);
    table_free(t);
    return r;
}

static int retry_failed(struct cli *cli, const struct outbox_filter *f)
{
    struct db *db = NULL;
    struct perr err = { 0 };
    int64_t n = 0;
    int r;

    if (cli_open_db_rw(cli, &db) < 0)
        return EXIT_FAIL;
    r = outbox_requeue_failed(db, f, time_now_ms(), &n, &err);
    db_close(db);
    if (r < 0) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    if (cli->output == OUTPUT_JSON) {
        json_t *o = json_pack("{s:I}", "requeued", (json_int_t)n);
        r = o ? output_json(stdout, o) : -ENOMEM;
        json_decref(o);
        return r < 0 ? EXIT_FAIL : EXIT_OK;
    }
    if (n == 0)
        printf("No dead letters%s%s.\n", f->sink ? " for " : "", f->sink ? f->sink : "");
    else
        printf("Requeued %lld dead letter%s%s%s; plumbd sends %s within 30 seconds.\n",
               (long long)n, n == 1 ? "" : "s", f->sink ? " for " : "", f->sink ? f->sink : "",
               n == 1 ? "it" : "them");
    return EXIT_OK;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        { "failed", no_argument, NULL, OPT_FAILED },
        { "kind", required_argument, NULL, OPT_KIND },
        { "sink", required_argument, NULL, OPT_SINK },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "retry-failed", no_argument, NULL, OPT_RETRY },
        { NULL, 0, NULL, 0 },
    };
    struct outbox_filter f = { .limit = 200 };
    struct db *db = NULL;
    struct perr err = { 0 };
    json_t *events = NULL;
    bool retry = false;
    int c, r, rc = EXIT_FAIL;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int h = cli_common_option(cli, c, optarg);
        uint64_t n;
        if (h < 0)
            return EXIT_USAGE;
        if (h)
            continue;
        switch (c) {
        case OPT_FAILED: f.failed_only = true; break;
        case OPT_KIND:
            if (!*optarg)
                return cli_usage_error(cli, "--kind: expected a kind or glob (drift.*)");
            f.kind_glob = optarg;
            break;
        case OPT_SINK:
            if (!*optarg)
                return cli_usage_error(cli, "--sink: expected a sink name (webhook:NAME, "
                                            "journal, syslog)");
            f.sink = optarg;
            break;
        case OPT_LIMIT:
            if (parse_uint64(optarg, &n) < 0 || n > 1000000)
                return cli_usage_error(cli, "--limit: expected a number up to 1000000, got '%s'",
                                       optarg);
            f.limit = (size_t)n;
            break;
        case OPT_RETRY: retry = true; break;
        case 'h': usage(); return EXIT_OK;
        default:
            if (optopt == OPT_KIND || optopt == OPT_SINK || optopt == OPT_LIMIT || optopt == 'c' ||
                optopt == 'o' || optopt == 1001 || optopt == 1002)
                return cli_usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
            return cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    f.since_ms = cli->since_ms;
    if (retry)
        return retry_failed(cli, &f);
    if (cli_open_db(cli, &db) < 0)
        return EXIT_FAIL;
    r = outbox_list(db, &f, &events, &err);
    if (r < 0) {
        cli_error("%s", r == -ENOMEM ? "out of memory" : err.msg);
        goto out;
    }
    if (cli->output == OUTPUT_JSON)
        r = output_json(stdout, events);
    else if (json_array_size(events) == 0)
        r = printf("%s\n", f.failed_only ? "No dead letters." : "No events.") < 0 ? -EIO : 0;
    else if (f.failed_only)
        r = print_failed(cli, events);
    else
        r = print_events(cli, events);
    if (r < 0)
        cli_error("%s", r == -ENOMEM ? "out of memory" : "cannot write the output");
    rc = r < 0 ? EXIT_FAIL : EXIT_OK;
out:
    json_decref(events);
    db_close(db);
    return rc;
}
