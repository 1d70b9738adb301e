/* Shared by the parser tests: full botocore models for the operations of
 * botocore's response-parsing fixtures, made at run time by
 * tools/gen-models.py from the installed botocore (the same generator
 * that makes the shipped models).  Fixture files are named
 * "<service>-<kebab-operation>[#n].<ext>"; tests/harness/botocore_oracle.py
 * maps the kebab name to the model's operation name with botocore's own
 * xform_name.  Without botocore the test program is skipped (77). */
#ifndef PLUMB_TEST_BOTOCORE_MODELS_H
#define PLUMB_TEST_BOTOCORE_MODELS_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsmodel.h"
#include "buf.h"
#include "testutil.h"
#include "util.h"

struct bm_case {
    char *file;      /* fixture file name */
    char *service;   /* "ec2" */
    char *operation; /* "DescribeInstances" */
};

struct bm_set {
    char *dir; /* temp dir with <service>.json */
    struct bm_case *cases;
    size_t n;
};

/* Whether python3 can import botocore (the oracle and the model
 * generator need it).  Test programs check this in main(), before Check
 * forks, and leave the botocore tests out with a message when it cannot:
 * a skip from inside a forked test would count as an error. */
static inline bool bm_available(void)
{
    const char *argv[] = { "python3", "-c", "import botocore", NULL };
    if (tu_run(argv, NULL, NULL, NULL) == 0)
        return true;
    fprintf(stderr, "SKIP: botocore is not importable by python3; the tests that use it as an "
                    "oracle do not run\n");
    return false;
}

/* "<service>:<kebab-op>" for a fixture file name. */
static inline char *bm_key(const char *file)
{
    const char *dash = strchr(file, '-');
    size_t end = strcspn(file, "#.");
    ck_assert_ptr_nonnull(dash);
    return str_printf("%.*s:%.*s", (int)(dash - file), file, (int)(end - (size_t)(dash + 1 - file)),
                      dash + 1);
}

/* Resolve the files' operations and generate their models. */
static inline void bm_generate(char **files, struct bm_set *set)
{
    char *oracle = tu_srcpath("tests/harness/botocore_oracle.py");
    char *gen = tu_srcpath("tools/gen-models.py");
    char **argv = NULL, *out = NULL, *errout = NULL, *ops_path, *line, *save = NULL;
    struct buf ops;
    size_t n = strv_length(files), i = 0;
    int rc;

    memset(set, 0, sizeof(*set));
    ck_assert_int_eq(strv_push(&argv, "python3"), 0);
    ck_assert_int_eq(strv_push(&argv, oracle), 0);
    ck_assert_int_eq(strv_push(&argv, "resolve"), 0);
    for (char **f = files; *f; f++)
        ck_assert_int_eq(strv_consume(&argv, bm_key(*f)), 0);
    rc = tu_run((const char *const *)argv, NULL, &out, &errout);
    if (rc == 77)
        tu_skip("botocore is not importable by python3");
    ck_assert_msg(rc == 0, "botocore_oracle.py resolve: %s", errout);

    set->cases = calloc(n + 1, sizeof(*set->cases));
    set->n = n;
    buf_init(&ops, 1 << 20);
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
        char *sp = strchr(line, ' ');
        ck_assert(i < n && sp);
        set->cases[i].file = strdup(files[i]);
        set->cases[i].service = str_ndup(line, (size_t)(sp - line));
        set->cases[i].operation = strdup(sp + 1);
        /* gen-models refuses duplicates; list each pair once. */
        bool dup = false;
        for (size_t k = 0; k < i; k++)
            if (str_eq(set->cases[k].service, set->cases[i].service) &&
                str_eq(set->cases[k].operation, set->cases[i].operation))
                dup = true;
        if (!dup)
            ck_assert_int_eq(buf_appendf(&ops, "%s\n", line), 0);
    }
    ck_assert_uint_eq(i, n);

    set->dir = tu_tmpdir();
    ops_path = tu_path_join(set->dir, "operations.txt");
    tu_write_file(ops_path, buf_str(&ops));
    {
        const char *gargv[] = { "python3", gen, "--ops", ops_path, "--out", set->dir, NULL };
        free(errout);
        errout = NULL;
        rc = tu_run(gargv, NULL, NULL, &errout);
        ck_assert_msg(rc == 0, "gen-models.py: %s", errout);
    }
    buf_free(&ops);
    free(ops_path);
    free(out);
    free(errout);
    strv_free(argv);
    free(oracle);
    free(gen);
}

static inline struct awsmodel *bm_model(const struct bm_set *set, const char *service)
{
    char name[128], *path;
    struct awsmodel *m = NULL;
    struct perr err = { 0 };
    snprintf(name, sizeof(name), "%s.json", service);
    path = tu_path_join(set->dir, name);
    ck_assert_msg(awsmodel_load_file(path, NULL, &m, &err) == 0, "%s", err.msg);
    free(path);
    return m;
}

static inline void bm_free(struct bm_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->cases[i].file);
        free(set->cases[i].service);
        free(set->cases[i].operation);
    }
    free(set->cases);
    if (set->dir)
        tu_rmrf(set->dir);
    free(set->dir);
}

/* Sorted names of the files in dir ending with suffix. */
static inline char **bm_list(const char *dir, const char *suffix)
{
    char **files = NULL;
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    ck_assert_int_ge(n, 0);
    for (int i = 0; i < n; i++) {
        if (str_has_suffix(ents[i]->d_name, suffix))
            ck_assert_int_eq(strv_push(&files, ents[i]->d_name), 0);
        free(ents[i]);
    }
    free(ents);
    return files;
}

#endif
