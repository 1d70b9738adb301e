/* plumb controls | findings | posture | export: the NIS2/DORA baseline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "plumb-config.h"
#include "posture.h"
#include "report.h"

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static char *strv_text(char *const *v)
{
    return v && v[0] ? strv_join(v, ", ") : strdup("-");
}

/* Parse the common option loop; extra handles command options. */
typedef int (*opt_fn)(struct cli *cli, int c, const char *arg, void *ud);

static int parse(struct cli *cli, int argc, char **argv, const struct option *opts,
                 const char *shortopts, opt_fn extra, void *ud, void (*usage)(void))
{
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        int h = cli_common_option(cli, c, optarg);
        if (h < 0)
            return -EXIT_USAGE;
        if (h)
            continue;
        if (c == 'h') {
            usage();
            return 1;
        }
        if (c == '?' || !extra) {
            cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
            return -EXIT_USAGE;
        }
        h = extra(cli, c, optarg, ud);
        if (h < 0)
            return h;
    }
    if (optind < argc) {
        cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
        return -EXIT_USAGE;
    }
    return 0;
}

/* ---- plumb controls ---- */

static void controls_usage(void)
{
    printf("Usage: plumb controls [--all] [--output table|json]\n"
           "\n"
           "List the NIS2/DORA baseline catalogue as configured (disabled controls with\n"
           "--all).  JSON: an array of objects with id, title, severity, nis2, dora,\n"
           "config_rule, security_hub, prowler, scope, enabled, parameters, remediation,\n"
           "proposed and source.\n");
}

static int controls_opt(struct cli *cli, int c, const char *arg, void *ud)
{
    if (c == 'A') {
        *(bool *)ud = true;
        return 0;
    }
    cli_usage_error(cli, "unknown option");
    return -EXIT_USAGE;
}

int cmd_controls(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { CLI_COMMON_OPTIONS,
                                          { "all", no_argument, NULL, 'A' },
                                          { NULL, 0, NULL, 0 } };
    static const char *const headers[] = {
        "ID", "SEVERITY", "NIS2", "DORA", "SCOPE", "TITLE", NULL
    };
    bool all = false;
    const struct catalogue *cat;
    json_t *arr = NULL;
    struct table *t = NULL;
    int r = parse(cli, argc, argv, opts, CLI_COMMON_SHORT, controls_opt, &all, controls_usage);
    if (r != 0)
        return r > 0 ? EXIT_OK : -r;
    if (cli_load_runtime(cli) < 0)
        return EXIT_FAIL;
    cat = cli->rt->cat;
    if (cli->output == OUTPUT_JSON)
        arr = json_array();
    else
        t = table_new(headers);
    if (!arr && !t)
        goto oom;
    for (size_t i = 0; i < cat->n; i++) {
        const struct control *c = cat->controls[i];
        if (!c->enabled && !all)
            continue;
        if (arr) {
            json_t *o = json_pack(
                "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:b, s:O, s:s?, s:o, s:s?}", "id",
                c->id, "title", c->title, "severity", control_severity_name(c->severity), "nis2",
                strv_json(c->nis2), "dora", strv_json(c->dora), "config_rule",
                strv_json(c->config_rule), "security_hub", strv_json(c->security_hub), "prowler",
                strv_json(c->prowler), "scope", c->scope, "enabled", c->enabled, "parameters",
                c->parameters, "remediation", c->remediation, "proposed", strv_json(c->proposed),
                "source", c->source);
            if (!o || json_array_append_new(arr, o) < 0)
                goto oom;
        } else {
            char *nis2 = strv_text(c->nis2), *dora = strv_text(c->dora);
            const char *cells[] = { c->id,    control_severity_name(c->severity),
                                    nis2,     dora,
                                    c->scope, c->title };
            r = nis2 && dora ? table_add_row(t, cells) : -ENOMEM;
            free(nis2);
            free(dora);
            if (r < 0)
                goto oom;
            if (!c->enabled)
                table_color_cell(t, 0, COLOR_DIM);
        }
    }
    r = arr ? output_json(stdout, arr) : cli_print_table(cli, t);
    json_decref(arr);
    table_free(t);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
oom:
    json_decref(arr);
    table_free(t);
    cli_error("out of memory");
    return EXIT_FAIL;
}

/* ---- loading findings from the database ---- */

struct finding_filter {
    char **statuses; /* NULL = FAIL and UNKNOWN */
    const char *article;
    const char *control;
    const char *account;
    const char *region;
};

/* Normalise "Art9", "art 9", "ART-9" to "Art 9"; NIS2 refs pass through. */
static void normalise_article(const char *in, char *out, size_t size)
{
    const char *p = in;
    if ((p[0] == 'a' || p[0] == 'A') && (p[1] == 'r' || p[1] == 'R') &&
        (p[2] == 't' || p[2] == 'T')) {
        p += 3;
        while (*p == ' ' || *p == '-' || *p == '.')
            p++;
        snprintf(out, size, "Art %s", p);
        return;
    }
    snprintf(out, size, "%s", in);
}

static bool control_matches(const struct control *c, const struct finding_filter *f)
{
    char art[32];
    if (f->control && !str_eq(c->id, f->control))
        return false;
    if (!f->article)
        return true;
    normalise_article(f->article, art, sizeof(art));
    return strv_contains(c->nis2, art) || strv_contains(c->dora, art);
}

static bool status_wanted(const struct finding_filter *f, const char *status)
{
    if (!f->statuses)
        return str_eq(status, "FAIL") || str_eq(status, "UNKNOWN");
    if (strv_contains(f->statuses, "all") || strv_contains(f->statuses, "ALL"))
        return true;
    for (size_t i = 0; f->statuses[i]; i++)
        if (str_eq_ci(f->statuses[i], status) ||
            (str_eq_ci(f->statuses[i], "NA") && str_eq(status, "NOT_APPLICABLE")))
            return true;
    return false;
}

typedef int (*finding_row_fn)(const struct finding *f, const char *exception, int64_t status_since,
                              void *ud);

static int foreach_finding(struct db *db, const struct catalogue *cat,
                           const struct finding_filter *flt, finding_row_fn fn, void *ud,
                           struct perr *err)
{
    sqlite3_stmt *st = NULL;
    int rc, r = 0;
    rc = sqlite3_prepare_v2(
        db_handle(db),
        "SELECT control, type, id, arn, account, region, status, severity, detail, exception, "
        "first_seen, status_since, last_seen FROM findings WHERE (?1 IS NULL OR account = ?1) "
        "AND (?2 IS NULL OR region = ?2) ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN "
        "'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, control, key",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "findings");
    db_bind_text(st, 1, flt->account);
    db_bind_text(st, 2, flt->region);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cid = (const char *)sqlite3_column_text(st, 0);
        const char *status = (const char *)sqlite3_column_text(st, 6);
        const struct control *c = controls_find(cat, cid);
        enum control_severity sev = CONTROL_SEVERITY_MEDIUM;
        struct finding f = { 0 };
        if (!c || !control_matches(c, flt) || !status_wanted(flt, status))
            continue;
        control_severity_from_name((const char *)sqlite3_column_text(st, 7), &sev);
        f.control = c;
        f.status = str_eq(status, "PASS")             ? FINDING_PASS
                   : str_eq(status, "FAIL")           ? FINDING_FAIL
                   : str_eq(status, "NOT_APPLICABLE") ? FINDING_NOT_APPLICABLE
                                                      : FINDING_UNKNOWN;
        f.severity = sev;
        f.partition = (char *)"aws";
        f.resource_type = (char *)sqlite3_column_text(st, 1);
        f.resource_id = (char *)sqlite3_column_text(st, 2);
        f.arn = (char *)sqlite3_column_text(st, 3);
        f.account = (char *)sqlite3_column_text(st, 4);
        f.region = (char *)sqlite3_column_text(st, 5);
        f.detail =
            (char *)(sqlite3_column_text(st, 8) ? (const char *)sqlite3_column_text(st, 8) : "");
        f.first_seen = sqlite3_column_int64(st, 10);
        f.time = sqlite3_column_int64(st, 12);
        r = fn(&f, (const char *)sqlite3_column_text(st, 9), sqlite3_column_int64(st, 11), ud);
        if (r < 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "findings");
    sqlite3_finalize(st);
    return r;
}

/* ---- plumb findings ---- */

static void findings_usage(void)
{
    printf("Usage: plumb findings [--status S[,S...]|all] [--article 21.2.b|\"Art 9\"]\n"
           "                      [--control ID] [--account A] [--region R]\n"
           "                      [--output table|json]\n"
           "\n"
           "Baseline results from the last analysis (default: FAIL and UNKNOWN).  JSON: an\n"
           "array of objects with control, title, status, severity, nis2, dora, account,\n"
           "region, resource {type, id, arn}, detail, exception, first_seen, status_since.\n"
           "Account- and region-level findings name the account or region as resource.\n");
}

static int findings_opt(struct cli *cli, int c, const char *arg, void *ud)
{
    struct finding_filter *f = ud;
    switch (c) {
    case 'S':
        strv_free(f->statuses);
        f->statuses = NULL;
        if (strv_split(arg, ",", &f->statuses) < 0)
            return -EXIT_FAIL;
        for (size_t i = 0; f->statuses[i]; i++) {
            static const char *const ok[] = { "PASS",           "FAIL", "UNKNOWN",
                                              "NOT_APPLICABLE", "NA",   "all" };
            bool known = false;
            for (size_t j = 0; j < ARRAY_SIZE(ok); j++)
                known = known || str_eq_ci(f->statuses[i], ok[j]);
            if (!known) {
                cli_usage_error(cli,
                                "--status: expected PASS, FAIL, UNKNOWN, NOT_APPLICABLE or all, "
                                "got '%s'",
                                f->statuses[i]);
                return -EXIT_USAGE;
            }
        }
        return 0;
    case 'R': f->article = arg; return 0;
    case 'C': f->control = arg; return 0;
    case 'a': f->account = arg; return 0;
    case 'r': f->region = arg; return 0;
    default: cli_usage_error(cli, "unknown option"); return -EXIT_USAGE;
    }
}

struct findings_out {
    json_t *arr;
    struct table *t;
    size_t fail;
};

static int emit_finding(const struct finding *f, const char *exception, int64_t status_since,
                        void *ud)
{
    struct findings_out *o = ud;
    if (f->status == FINDING_FAIL && !exception)
        o->fail++;
    if (o->arr) {
        char fs[32], ss[32];
        json_t *j;
        time_format_iso8601(f->first_seen, fs, sizeof(fs));
        time_format_iso8601(status_since, ss, sizeof(ss));
        j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s?, s:s?, s:{s:s?, s:s?, s:s?}, s:s, "
                      "s:s?, s:s, s:s}",
                      "control", f->control->id, "title", f->control->title, "status",
                      finding_status_name(f->status), "severity",
                      control_severity_name(f->severity), "nis2", strv_json(f->control->nis2),
                      "dora", strv_json(f->control->dora), "account", f->account, "region",
                      f->region, "resource", "type", f->resource_type, "id", f->resource_id, "arn",
                      f->arn, "detail", f->detail, "exception", exception, "first_seen", fs,
                      "status_since", ss);
        if (!j || json_array_append_new(o->arr, j) < 0)
            return -ENOMEM;
        return 0;
    }
    {
        char *nis2 = strv_text(f->control->nis2);
        char status[64];
        const char *cells[8];
        int r;
        snprintf(status, sizeof(status), "%s%s", finding_status_name(f->status),
                 exception ? " (excepted)" : "");
        cells[0] = finding_status_name(f->status)[0] ? status : "-";
        cells[1] = control_severity_name(f->severity);
        cells[2] = f->control->id;
        cells[3] = nis2;
        cells[4] = f->account;
        cells[5] = f->region;
        cells[6] = f->resource_id;
        cells[7] = f->detail;
        r = nis2 ? table_add_row(o->t, cells) : -ENOMEM;
        free(nis2);
        if (r == 0)
            table_color_cell(o->t, 0,
                             exception                      ? COLOR_DIM
                             : f->status == FINDING_FAIL    ? COLOR_RED
                             : f->status == FINDING_UNKNOWN ? COLOR_YELLOW
                                                            : COLOR_GREEN);
        return r;
    }
}

int cmd_findings(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { CLI_COMMON_OPTIONS,
                                          { "status", required_argument, NULL, 'S' },
                                          { "article", required_argument, NULL, 'R' },
                                          { "control", required_argument, NULL, 'C' },
                                          { "account", required_argument, NULL, 'a' },
                                          { "region", required_argument, NULL, 'r' },
                                          { NULL, 0, NULL, 0 } };
    static const char *const headers[] = { "STATUS", "SEVERITY", "CONTROL", "NIS2", "ACCOUNT",
                                           "REGION", "RESOURCE", "DETAIL",  NULL };
    struct finding_filter flt = { 0 };
    struct findings_out o = { 0 };
    struct db *db = NULL;
    struct perr err = { 0 };
    int rc = EXIT_FAIL;
    int r = parse(cli, argc, argv, opts, CLI_COMMON_SHORT, findings_opt, &flt, findings_usage);
    if (r != 0) {
        strv_free(flt.statuses);
        return r > 0 ? EXIT_OK : -r;
    }
    if (cli_load_runtime(cli) < 0 || cli_open_db(cli, &db) < 0)
        goto out;
    if (cli->output == OUTPUT_JSON)
        o.arr = json_array();
    else
        o.t = table_new(headers);
    if (!o.arr && !o.t) {
        cli_error("out of memory");
        goto out;
    }
    r = foreach_finding(db, cli->rt->cat, &flt, emit_finding, &o, &err);
    if (r < 0) {
        cli_error("%s", r == -ENOMEM ? "out of memory" : err.msg);
        goto out;
    }
    if (o.arr)
        r = output_json(stdout, o.arr);
    else if (table_rows(o.t) == 0)
        r = printf("No findings match.\n") < 0 ? -EIO : 0;
    else
        r = cli_print_table(cli, o.t);
    rc = r < 0 ? EXIT_FAIL : EXIT_OK;
out:
    strv_free(flt.statuses);
    json_decref(o.arr);
    table_free(o.t);
    db_close(db);
    return rc;
}

/* ---- plumb posture ---- */

static void posture_usage(void)
{
    printf("Usage: plumb posture [--output table|json]\n"
           "\n"
           "Pass/fail/unknown per NIS2 Art. 21(2) letter and per DORA article, counting the\n"
           "findings of every enabled control (accepted exceptions count as pass,\n"
           "NOT_APPLICABLE is not counted).  JSON: {at, nis2: [{article, title, controls,\n"
           "failing_controls, pass, fail, unknown}], dora: [...], totals}.\n");
}

static int print_posture_list(const struct cli *cli, const char *heading, json_t *list,
                              char *(*label)(const char *))
{
    static const char *const headers[] = { "ARTICLE", "TITLE", "CONTROLS", "FAILING",
                                           "PASS",    "FAIL",  "UNKNOWN",  NULL };
    struct table *t = table_new(headers);
    size_t i;
    json_t *a;
    int r = 0;
    if (!t)
        return -ENOMEM;
    printf("%s\n", heading);
    json_array_foreach (list, i, a) {
        char n[5][24];
        const char *ref = json_string_value(json_object_get(a, "article"));
        char *lbl = label(ref);
        const char *keys[] = { "controls", "failing_controls", "pass", "fail", "unknown" };
        const char *cells[7];
        for (size_t k = 0; k < 5; k++)
            snprintf(n[k], sizeof(n[k]), "%lld",
                     (long long)json_integer_value(json_object_get(a, keys[k])));
        cells[0] = lbl ? lbl : ref;
        cells[1] = json_string_value(json_object_get(a, "title"));
        for (size_t k = 0; k < 5; k++)
            cells[2 + k] = n[k];
        r = table_add_row(t, cells);
        free(lbl);
        if (r < 0)
            break;
        if (json_integer_value(json_object_get(a, "failing_controls")) > 0)
            table_color_cell(t, 3, COLOR_RED);
        else if (json_integer_value(json_object_get(a, "unknown")) > 0)
            table_color_cell(t, 6, COLOR_YELLOW);
    }
    if (r == 0)
        r = cli_print_table(cli, t);
    table_free(t);
    return r;
}

int cmd_posture(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
    struct db *db = NULL;
    struct perr err = { 0 };
    json_t *p = NULL;
    int rc = EXIT_FAIL;
    int r = parse(cli, argc, argv, opts, CLI_COMMON_SHORT, NULL, NULL, posture_usage);
    if (r != 0)
        return r > 0 ? EXIT_OK : -r;
    if (cli_load_runtime(cli) < 0 || cli_open_db(cli, &db) < 0)
        goto out;
    r = posture_compute(db, cli->rt->cat, 0, &p, &err);
    if (r < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    if (cli->output == OUTPUT_JSON) {
        r = output_json(stdout, p);
    } else {
        json_t *tot = json_object_get(p, "totals");
        r = print_posture_list(cli, "NIS2 Art. 21(2)", json_object_get(p, "nis2"),
                               controls_nis2_label);
        if (r == 0) {
            printf("\n");
            r = print_posture_list(cli, "DORA", json_object_get(p, "dora"), controls_dora_label);
        }
        if (r == 0)
            printf("\n%lld of %lld controls failing; %lld findings pass, %lld fail, %lld "
                   "unknown\n",
                   (long long)json_integer_value(json_object_get(tot, "failing_controls")),
                   (long long)json_integer_value(json_object_get(tot, "controls")),
                   (long long)json_integer_value(json_object_get(tot, "pass")),
                   (long long)json_integer_value(json_object_get(tot, "fail")),
                   (long long)json_integer_value(json_object_get(tot, "unknown")));
    }
    rc = r < 0 ? EXIT_FAIL : EXIT_OK;
out:
    json_decref(p);
    db_close(db);
    return rc;
}

/* ---- plumb export ---- */

static void export_usage(void)
{
    printf("Usage: plumb export --format ocsf|asff|csv [--status S,...|all] [--article A]\n"
           "                    [--home-region R] [--file PATH]\n"
           "\n"
           "Evidence for auditors and tools: OCSF 1.3 Compliance Findings (JSON lines), AWS\n"
           "Security Finding Format batches for Security Hub BatchImportFindings (one JSON\n"
           "object per line, at most 100 findings each), or CSV.  Default: every status.\n");
}

struct export_opts {
    struct finding_filter flt;
    const char *format;
    const char *file;
    const char *home_region;
};

static int export_opt(struct cli *cli, int c, const char *arg, void *ud)
{
    struct export_opts *e = ud;
    switch (c) {
    case 'F': e->format = arg; return 0;
    case 'f': e->file = arg; return 0;
    case 'H': e->home_region = arg; return 0;
    default: return findings_opt(cli, c, arg, &e->flt);
    }
}

struct export_ctx {
    struct export_opts *opts;
    struct report_meta meta;
    struct buf out;
    struct finding *batch[REPORT_ASFF_BATCH_MAX];
    size_t n_batch;
    FILE *f;
    size_t count;
};

static int flush_buf(struct export_ctx *x)
{
    if (x->out.len && fwrite(x->out.data, 1, x->out.len, x->f) != x->out.len)
        return -EIO;
    buf_reset(&x->out);
    return 0;
}

static int flush_asff(struct export_ctx *x)
{
    int r = 0;
    if (x->n_batch == 0)
        return 0;
    r = report_asff_batch((const struct finding *const *)x->batch, x->n_batch, &x->meta, &x->out);
    if (r == 0)
        r = buf_append_char(&x->out, '\n');
    for (size_t i = 0; i < x->n_batch; i++)
        finding_free(x->batch[i]);
    x->n_batch = 0;
    return r < 0 ? r : flush_buf(x);
}

static int export_one(const struct finding *f, const char *exception, int64_t status_since,
                      void *ud)
{
    struct export_ctx *x = ud;
    int r;
    x->count++;
    if (str_eq(x->opts->format, "ocsf"))
        r = report_ocsf_line(f, &x->meta, &x->out);
    else if (str_eq(x->opts->format, "csv"))
        r = report_csv_row(f, &x->out);
    else {
        struct finding *copy = finding_copy(f);
        if (!copy)
            return -ENOMEM;
        x->batch[x->n_batch++] = copy;
        return x->n_batch == REPORT_ASFF_BATCH_MAX ? flush_asff(x) : 0;
    }
    return r < 0 ? r : flush_buf(x);
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { CLI_COMMON_OPTIONS,
                                          { "format", required_argument, NULL, 'F' },
                                          { "file", required_argument, NULL, 'f' },
                                          { "home-region", required_argument, NULL, 'H' },
                                          { "status", required_argument, NULL, 'S' },
                                          { "article", required_argument, NULL, 'R' },
                                          { "control", required_argument, NULL, 'C' },
                                          { "account", required_argument, NULL, 'a' },
                                          { "region", required_argument, NULL, 'r' },
                                          { NULL, 0, NULL, 0 } };
    struct export_opts eo = { 0 };
    struct export_ctx x = { 0 };
    struct db *db = NULL;
    struct perr err = { 0 };
    char *all[] = { (char *)"all", NULL };
    int rc = EXIT_FAIL;
    int r = parse(cli, argc, argv, opts, CLI_COMMON_SHORT, export_opt, &eo, export_usage);
    if (r != 0) {
        strv_free(eo.flt.statuses);
        return r > 0 ? EXIT_OK : -r;
    }
    if (!eo.format ||
        (!str_eq(eo.format, "ocsf") && !str_eq(eo.format, "asff") && !str_eq(eo.format, "csv"))) {
        strv_free(eo.flt.statuses);
        return cli_usage_error(cli, "--format: expected ocsf, asff or csv");
    }
    if (!eo.flt.statuses)
        eo.flt.statuses = strv_copy(all);
    x.opts = &eo;
    x.meta = (struct report_meta){ "plumb", PLUMB_VERSION, "plumb",
                                   eo.home_region ? eo.home_region : "us-east-1" };
    buf_init(&x.out, 64 * 1024 * 1024);
    x.f = stdout;
    if (cli_load_runtime(cli) < 0 || cli_open_db(cli, &db) < 0)
        goto out;
    if (eo.file && !(x.f = fopen(eo.file, "w"))) {
        cli_error("cannot write %s: %s", eo.file, strerror(errno));
        x.f = NULL;
        goto out;
    }
    if (str_eq(eo.format, "csv") && (report_csv_header(&x.out) < 0 || flush_buf(&x) < 0))
        goto io;
    r = foreach_finding(db, cli->rt->cat, &eo.flt, export_one, &x, &err);
    if (r == 0)
        r = flush_asff(&x);
    if (r < 0) {
        if (r == -EIO)
            goto io;
        cli_error("%s", r == -ENOMEM ? "out of memory" : err.msg);
        goto out;
    }
    if (eo.file)
        fprintf(stderr, "plumb: %zu findings written to %s (%s)\n", x.count, eo.file, eo.format);
    rc = EXIT_OK;
    goto out;
io:
    cli_error("cannot write the export: %s", strerror(errno ? errno : EIO));
out:
    for (size_t i = 0; i < x.n_batch; i++)
        finding_free(x.batch[i]);
    if (x.f && x.f != stdout && fclose(x.f) != 0 && rc == EXIT_OK) {
        cli_error("cannot write %s", eo.file);
        rc = EXIT_FAIL;
    }
    buf_free(&x.out);
    strv_free(eo.flt.statuses);
    db_close(db);
    return rc;
}
