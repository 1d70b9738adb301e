/* Loopback harness servers for the AWS client tests: start one of the
 * Python servers in tests/harness/ on an ephemeral port (reported through a
 * port file, so there is no race for ports), query its /_ctl/ endpoints
 * with the curl tool (never with the code under test), stop it.
 *
 * Header-only (static inline) so each test program stays one file. */
#ifndef PLUMB_SRVUTIL_H
#define PLUMB_SRVUTIL_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* The real interpreter behind the pyenv shim (the shim costs about a
 * second per start); "python3" until tsrv_find_python() ran. */
static char tsrv_python[4096] = "python3";

static inline void tsrv_find_python(void)
{
    const char *argv[] = { "python3", "-c", "import sys; print(sys.executable)", NULL };
    char *out = NULL;
    if (tu_run(argv, NULL, &out, NULL) == 0 && out && out[0] == '/') {
        out[strcspn(out, "\n")] = '\0';
        snprintf(tsrv_python, sizeof(tsrv_python), "%s", out);
    }
    free(out);
}

struct tsrv {
    pid_t pid;
    int port;
    char *dir;
    char url[96]; /* http://127.0.0.1:port */
};

/* Start tests/harness/<harness> with --port-file and the extra arguments
 * (NULL-terminated, may be NULL). */
static inline void tsrv_start(struct tsrv *s, const char *harness, const char *const *args)
{
    char rel[128];
    char *path, *portfile, *log, *txt;
    const char *argv[40];
    size_t n = 0;
    struct stat st;

    snprintf(rel, sizeof(rel), "tests/harness/%s", harness);
    path = tu_srcpath(rel);
    memset(s, 0, sizeof(*s));
    s->dir = tu_tmpdir();
    portfile = tu_path_join(s->dir, "port");
    log = tu_path_join(s->dir, "server.log");
    argv[n++] = tsrv_python;
    argv[n++] = path;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    for (size_t i = 0; args && args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    s->pid = tu_spawn(argv, NULL, log);
    for (int i = 0; i < 1500 && stat(portfile, &st) < 0; i++) {
        ck_assert_msg(kill(s->pid, 0) == 0, "%s exited; see %s", harness, log);
        usleep(10000);
    }
    txt = tu_read_file(portfile);
    ck_assert_msg(txt != NULL, "%s did not report its port (%s)", harness, log);
    s->port = (int)strtol(txt, NULL, 10);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
    free(txt);
    free(portfile);
    free(log);
    free(path);
}

static inline void tsrv_stop(struct tsrv *s)
{
    if (s->pid > 0)
        tu_stop(s->pid, 2000);
    s->pid = 0;
    if (s->dir) {
        tu_rmrf(s->dir);
        free(s->dir);
        s->dir = NULL;
    }
}

/* GET /_ctl/stats as JSON (new reference). */
static inline json_t *tsrv_stats(const struct tsrv *s)
{
    char url[160];
    char *out = NULL;
    json_t *j;
    const char *argv[] = { "curl", "-sf", url, NULL };
    snprintf(url, sizeof(url), "%s/_ctl/stats", s->url);
    ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
    j = json_loads(out, 0, NULL);
    ck_assert_msg(j != NULL, "bad stats: %s", out);
    free(out);
    return j;
}

/* The request log of /_ctl/stats (new reference). */
static inline json_t *tsrv_log(const struct tsrv *s)
{
    json_t *st = tsrv_stats(s);
    json_t *log = json_incref(json_object_get(st, "log"));
    json_decref(st);
    ck_assert_msg(json_is_array(log), "stats without a log");
    return log;
}

/* A header of the i-th logged request (lower-case name), or NULL. */
static inline const char *tsrv_log_header(json_t *log, size_t i, const char *name)
{
    return json_string_value(
        json_object_get(json_object_get(json_array_get(log, i), "headers"), name));
}

static inline const char *tsrv_log_str(json_t *log, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(log, i), key));
}

#endif
