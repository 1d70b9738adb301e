#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "jsonutil.h"
#include "snapshot.h"

static void usage(void)
{
    printf("Usage: plumb history ARN|TYPE:ID|KEY [--output table|json]\n"
           "\n"
           "Show every stored version of one resource with what changed in each.  JSON: an\n"
           "array of {version, observed_at, deleted, changes: [{path, old, new}]}.\n");
}

struct hist {
    struct resource *prev;
    bool prev_deleted;
    json_t *versions;
    json_t *changes; /* of the version being built */
};

static int add_change(const char *path, const json_t *old, const json_t *nv, void *ud)
{
    struct hist *h = ud;
    json_t *c = json_pack("{s:s, s:O?, s:O?}", "path", path, "old", old, "new", nv);
    if (!c || json_array_append_new(h->changes, c) < 0)
        return -ENOMEM;
    return 0;
}

/* Attribute and tag changes between two documents; tag paths read
 * tags.<key>.  Either side may be NULL (deleted). */
static int diff_docs(struct hist *h, const struct resource *a, const struct resource *b)
{
    json_t *empty = json_object();
    json_t *ta = json_object(), *tb = json_object();
    int r = -ENOMEM;

    if (empty && ta && tb && json_object_set(ta, "tags", a ? a->tags : empty) == 0 &&
        json_object_set(tb, "tags", b ? b->tags : empty) == 0) {
        r = json_diff(a ? a->attrs : empty, b ? b->attrs : empty, add_change, h);
        if (r == 0)
            r = json_diff(ta, tb, add_change, h);
    }
    json_decref(empty);
    json_decref(ta);
    json_decref(tb);
    return r;
}

static int on_version(int64_t id, int64_t at, const struct resource *r, void *ud)
{
    struct hist *h = ud;
    char when[32];
    json_t *v;
    int e;

    h->changes = json_array();
    if (!h->changes)
        return -ENOMEM;
    if (r && (h->prev || h->prev_deleted)) {
        e = diff_docs(h, h->prev, r);
        if (e < 0)
            return e;
    }
    time_format_iso8601(at, when, sizeof(when));
    v = json_pack("{s:I, s:s, s:b, s:s, s:o}", "version", (json_int_t)id, "observed_at", when,
                  "deleted", r == NULL, "event",
                  !r                             ? "deleted"
                  : !h->prev && !h->prev_deleted ? "created"
                  : h->prev_deleted && !h->prev  ? "reappeared"
                                                 : "changed",
                  "changes", h->changes);
    h->changes = NULL;
    if (!v || json_array_append_new(h->versions, v) < 0)
        return -ENOMEM;
    if (r) {
        struct resource *copy = NULL;
        json_t *doc = resource_to_json(r);
        e = doc ? resource_from_json(doc, &copy) : -ENOMEM;
        json_decref(doc);
        if (e < 0)
            return e;
        resource_free(h->prev);
        h->prev = copy;
        h->prev_deleted = false;
    } else {
        h->prev = resource_free(h->prev);
        h->prev_deleted = true;
    }
    return 0;
}

static int print_table(const struct cli *cli, const char *key, json_t *versions)
{
    static const char *const headers[] = { "VERSION", "OBSERVED", "EVENT", "PATH",
                                           "OLD",     "NEW",      NULL };
    struct table *t = table_new(headers);
    size_t i;
    json_t *v;
    int r;

    if (!t)
        return -ENOMEM;
    printf("%s\n", key);
    json_array_foreach (versions, i, v) {
        char ver[32], when[32];
        int64_t ms = 0;
        size_t j;
        json_t *c, *changes = json_object_get(v, "changes");
        snprintf(ver, sizeof(ver), "%lld",
                 (long long)json_integer_value(json_object_get(v, "version")));
        time_parse_iso8601(json_string_value(json_object_get(v, "observed_at")), &ms);
        cli_format_time(ms, when, sizeof(when));
        if (json_array_size(changes) == 0) {
            const char *cells[] = { ver,  when, json_string_value(json_object_get(v, "event")),
                                    NULL, NULL, NULL };
            if (table_add_row(t, cells) < 0)
                goto oom;
            continue;
        }
        json_array_foreach (changes, j, c) {
            const json_t *o = json_object_get(c, "old"), *n = json_object_get(c, "new");
            char *os = o ? json_dumps(o, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("-");
            char *ns = n ? json_dumps(n, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("-");
            const char *cells[] = { j == 0 ? ver : "",
                                    j == 0 ? when : "",
                                    j == 0 ? json_string_value(json_object_get(v, "event")) : "",
                                    json_string_value(json_object_get(c, "path")),
                                    os,
                                    ns };
            r = os && ns ? table_add_row(t, cells) : -ENOMEM;
            free(os);
            free(ns);
            if (r < 0)
                goto oom;
        }
    }
    r = cli_print_table(cli, t);
    table_free(t);
    return r;
oom:
    table_free(t);
    return -ENOMEM;
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
    struct hist h = { 0 };
    struct resource *cur = NULL;
    struct db *db = NULL;
    struct perr err = { 0 };
    char *key = NULL;
    int c, r, rc = EXIT_FAIL;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int hnd = cli_common_option(cli, c, optarg);
        if (hnd < 0)
            return EXIT_USAGE;
        if (hnd)
            continue;
        if (c == 'h') {
            usage();
            return EXIT_OK;
        }
        return cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind + 1 != argc)
        return cli_usage_error(cli, "expected one resource (ARN, TYPE:ID or KEY)");
    if (cli_open_db(cli, &db) < 0)
        return EXIT_FAIL;
    r = snapshot_get(db, argv[optind], &cur, &key, &err);
    if (r < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    h.versions = json_array();
    if (!h.versions) {
        cli_error("out of memory");
        goto out;
    }
    r = snapshot_history(db, key, on_version, &h, &err);
    if (r < 0) {
        cli_error("%s", r == -ENOMEM ? "out of memory" : err.msg);
        goto out;
    }
    if (cli->output == OUTPUT_JSON) {
        json_t *o = json_pack("{s:s, s:O}", "key", key, "versions", h.versions);
        r = o ? output_json(stdout, o) : -ENOMEM;
        json_decref(o);
    } else {
        r = print_table(cli, key, h.versions);
    }
    rc = r < 0 ? EXIT_FAIL : EXIT_OK;
out:
    resource_free(cur);
    resource_free(h.prev);
    json_decref(h.changes);
    json_decref(h.versions);
    free(key);
    db_close(db);
    return rc;
}
