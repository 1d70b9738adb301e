/* Runs a fuzz target's entry point on files and directories given on the
 * command line (seed corpora and the regression inputs of crashes found),
 * so every crash ever found stays a test in the normal build. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, size_t *count)
{
    char *data = NULL;
    size_t len = 0;
    int r = read_file(path, 64 * 1024 * 1024, &data, &len);
    if (r < 0) {
        fprintf(stderr, "%s: cannot read\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    free(data);
    (*count)++;
    return 0;
}

static int run_path(const char *path, size_t *count)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int failed = 0;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "%s: missing\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path, count);
    d = opendir(path);
    if (!d)
        return 1;
    while ((e = readdir(d))) {
        char *child;
        if (e->d_name[0] == '.')
            continue;
        child = str_printf("%s/%s", path, e->d_name);
        if (!child)
            abort();
        failed |= run_path(child, count);
        free(child);
    }
    closedir(d);
    return failed;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed |= run_path(argv[i], &count);
    printf("replayed %zu inputs\n", count);
    return failed || count == 0 ? 1 : 0;
}
