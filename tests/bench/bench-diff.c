/* The drift engine over a synthetic estate of N declared and live
 * resources (default 100000; first argument) in one account and 4 regions:
 * KMS keys, log groups, buckets and security groups with inline rules, one
 * in a hundred of them changed live, one in a thousand missing, one in a
 * thousand unmanaged.  Prints how long storing and diffing took (wall and
 * CPU: on a busy machine only CPU means much), the diff's peak memory (in a
 * process of its own: `bench-diff --diff DB`), and what was found.  It
 * never fails on speed.  BENCH_KEEP=1 keeps the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "db.h"
#include "diff.h"
#include "resource.h"
#include "snapshot.h"
#include "statesrc.h"
#include "testutil.h"
#include "typemap.h"

#define ACCT "111111111111"

static const char *const regions[] = { "eu-west-1", "eu-west-3", "eu-central-1", "us-east-1" };
static const char *const types[] = { "aws_kms_key", "aws_cloudwatch_log_group", "aws_s3_bucket",
                                     "aws_security_group" };

static json_t *attrs_of(const char *type, size_t i, bool drifted)
{
    char name[64];
    snprintf(name, sizeof(name), "res-%zu", i);
    if (str_eq(type, "aws_kms_key"))
        return json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", name, "key_id", name, "description",
                         drifted ? "edited" : "key", "enable_key_rotation", 1, "key_usage",
                         "ENCRYPT_DECRYPT");
    if (str_eq(type, "aws_cloudwatch_log_group"))
        return json_pack("{s:s, s:s, s:i}", "id", name, "name", name, "retention_in_days",
                         drifted ? 7 : 365);
    if (str_eq(type, "aws_s3_bucket"))
        return json_pack("{s:s, s:s, s:[{s:b, s:b}], s:{s:s}, s:{s:s, s:s}}", "id", name, "bucket",
                         name, "versioning", "enabled", !drifted, "mfa_delete", 0, "tags", "App",
                         "x", "tags_all", "App", "x", "Env", "prod");
    return json_pack("{s:s, s:s, s:[{s:s, s:i, s:i, s:[s], s:s}], s:[]}", "id", name, "name", name,
                     "ingress", "protocol", "tcp", "from_port", drifted ? 22 : 443, "to_port",
                     drifted ? 22 : 443, "cidr_blocks", "10.0.0.0/8", "description", "", "egress");
}

static double now_s(void)
{
    return (double)time_mono_ms() / 1000.0;
}

/* This process's peak resident memory (VmHWM: unlike getrusage's
 * ru_maxrss, not inherited across exec). */
static long peak_rss_kib(void)
{
    char *st = NULL, *p;
    long kib = -1;
    if (read_file("/proc/self/status", 1 << 16, &st, NULL) == 0 && (p = strstr(st, "VmHWM:")))
        kib = strtol(p + 6, NULL, 10);
    free(st);
    return kib;
}

/* The diff alone, on an existing database. */
static int diff_only(const char *path)
{
    struct db *db = NULL;
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct diff_options o = { 0 };
    struct diff_result *res = NULL;
    struct rusage ru;
    double t0 = now_s(), t1;

    if (db_open(path, DB_READONLY, &db, &err) < 0 || typemap_load_embedded(&tm, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    o.tm = tm;
    if (diff_run(db, &o, &res, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t1 = now_s();
    getrusage(RUSAGE_SELF, &ru);
    printf("diff: %.1fs (%.1fs CPU), peak RSS %ld MiB\n", t1 - t0,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
           peak_rss_kib() / 1024);
    printf("changed %lld, missing %lld, unmanaged %lld, conflict %lld, unknown %lld\n",
           (long long)res->stats.changed, (long long)res->stats.missing,
           (long long)res->stats.unmanaged, (long long)res->stats.conflict,
           (long long)res->stats.unknown);
    diff_result_free(res);
    typemap_free(tm);
    db_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n;
    char *dir, *path;
    struct db *db = NULL;
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    struct resource **live = NULL;
    struct snapshot_scope scopes[ARRAY_SIZE(regions) * ARRAY_SIZE(types)];
    size_t ns = 0, nl = 0;
    json_t *rows = json_array();
    struct statesrc_stored meta = { .location = "bench", .serial = 1 };
    double t0, t1;

    if (argc == 3 && str_eq(argv[1], "--diff"))
        return diff_only(argv[2]);
    dir = tu_tmpdir();
    path = tu_path_join(dir, "bench.db");
    n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    live = calloc(n + 1, sizeof(*live));
    if (db_open(path, DB_READWRITE, &db, &err) < 0 || typemap_load_embedded(&tm, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (size_t r = 0; r < ARRAY_SIZE(regions); r++)
        for (size_t t = 0; t < ARRAY_SIZE(types); t++)
            scopes[ns++] = (struct snapshot_scope){ ACCT, regions[r], types[t], COLLECT_OK, NULL };
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        const char *type = types[i % ARRAY_SIZE(types)];
        const char *region = regions[(i / ARRAY_SIZE(types)) % ARRAY_SIZE(regions)];
        json_t *a = attrs_of(type, i, false);
        char addr[96];
        snprintf(addr, sizeof(addr), "module.m[%zu].%s.r", i, type);
        if (i % 1000 != 999) /* one in a thousand is unmanaged */
            json_array_append_new(
                rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:[]}", "address", addr,
                                "type", type, "id", json_string_value(json_object_get(a, "id")),
                                "account", ACCT, "region", region, "mode", "managed", "attrs",
                                json_deep_copy(a), "sensitive"));
        if (i % 1000 != 500) { /* one in a thousand is missing */
            struct resource *r = NULL;
            const struct typemap_type *t = typemap_find(tm, type);
            json_t *la = attrs_of(type, i, i % 100 == 7);
            resource_new_with("aws", ACCT, region, type, NULL,
                              json_string_value(json_object_get(a, "id")), NULL, &r);
            r->source = strdup("describe");
            for (size_t k = 0; k < t->n_attrs; k++)
                if (t->attrs[k].in_tags) {
                    json_t *tags = json_object_get(la, "tags_all");
                    if (tags)
                        json_object_update(r->tags, tags);
                } else if (json_object_get(la, t->attrs[k].name)) {
                    json_object_set(r->attrs, t->attrs[k].name,
                                    json_object_get(la, t->attrs[k].name));
                }
            live[nl++] = r;
            json_decref(la);
        }
        json_decref(a);
    }
    if (statesrc_store(db, "bench", &meta, rows, 1, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    {
        struct snapshot_batch b = { .cycle_id = 1,
                                    .observed_at = 1,
                                    .scopes = scopes,
                                    .n_scopes = ns,
                                    .resources = live,
                                    .n_resources = nl };
        if (snapshot_write(db, &b, NULL, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    json_decref(rows);
    for (size_t i = 0; i < nl; i++)
        resource_free(live[i]);
    free(live);
    t1 = now_s();
    printf("resources: %zu declared-or-live; stored in %.1fs\n", n, t1 - t0);
    fflush(stdout);
    /* Diff in a process of its own, so its peak memory is its own. */
    db = db_close(db);
    {
        const char *args[] = { argv[0], "--diff", path, NULL };
        char *out = NULL;
        int st = tu_run(args, NULL, &out, NULL);
        fputs(out ? out : "", stdout);
        free(out);
        if (st != 0)
            return 1;
    }
    typemap_free(tm);
    db_close(db);
    if (getenv("BENCH_KEEP"))
        printf("kept %s\n", path);
    else
        tu_rmrf(dir);
    free(dir);
    free(path);
    return 0;
}
