/* Helpers shared by the Check test programs: fixture paths, temp dirs,
 * child processes and the local AWS emulator (moto_server).
 *
 * Environment set by tests/meson.build:
 *   PLUMB_FIXTURES  ../shared/fixtures (reference data, read-only)
 *   PLUMB_SRCDIR    the source tree
 *   PLUMB_BUILDDIR  the build tree (binaries: $PLUMB_BUILDDIR/daemon/plumb...)
 * Tests that cannot run here exit 77 (skip) with a message saying why. */
#ifndef PLUMB_TESTUTIL_H
#define PLUMB_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <sys/types.h>

#define TU_SKIP 77

/* Print why and exit 77 (meson's "skipped"). */
__attribute__((noreturn)) void tu_skip(const char *why);

/* Absolute path of a fixture below PLUMB_FIXTURES (malloc'd).  Skips the
 * whole test program when the fixtures are not available. */
char *tu_fixture(const char *rel);
/* Absolute path below PLUMB_SRCDIR / PLUMB_BUILDDIR (malloc'd). */
char *tu_srcpath(const char *rel);
char *tu_buildpath(const char *rel);

/* Create a private temp dir (malloc'd path) and remove one recursively. */
char *tu_tmpdir(void);
void tu_rmrf(const char *path);
/* Write a file (creating parent dirs is the caller's job). */
void tu_write_file(const char *path, const char *content);
char *tu_read_file(const char *path);
char *tu_path_join(const char *dir, const char *name);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int tu_free_port(void);

/* Run argv (argv[0] looked up in PATH) with extra env entries ("K=V", NULL
 * terminated, may be NULL), capture stdout/stderr (either may be NULL) and
 * return the exit status (0-255), or 128+signal. */
int tu_run(const char *const argv[], const char *const env[], char **ret_out, char **ret_err);

/* Start argv in the background (stdout/stderr to log_path if given). */
pid_t tu_spawn(const char *const argv[], const char *const env[], const char *log_path);
/* SIGTERM, then SIGKILL after timeout_ms; returns the exit status. */
int tu_stop(pid_t pid, int timeout_ms);
/* Wait until an HTTP GET of url answers (any status), up to timeout_ms. */
bool tu_wait_http(const char *url, int timeout_ms);

/* moto_server on 127.0.0.1:<free port>. */
struct tu_moto {
    pid_t pid;
    int port;
    char endpoint[64]; /* http://127.0.0.1:PORT */
    char *logfile;
};
/* Start it (skips the test program if moto_server is not installed). */
void tu_moto_start(struct tu_moto *m);
void tu_moto_stop(struct tu_moto *m);
/* Wipe all state (POST /moto-api/reset). */
void tu_moto_reset(struct tu_moto *m);
/* Turn moto's signature and IAM checking on (true) or off. */
void tu_moto_auth(struct tu_moto *m, bool on);
/* Run a seed script with the pyenv python (tests/seed/<script>) against
 * this moto; extra args appended.  Its stdout is returned (malloc'd) so
 * scripts can report ids they created.  Fails the test on non-zero exit. */
char *tu_moto_seed(struct tu_moto *m, const char *script, const char *const args[]);

/* Environment entries pointing the AWS SDK conventions at moto, for
 * tu_run/tu_spawn: AWS_ENDPOINT_URL, dummy keys, region.  Static storage
 * owned by m's lifetime. */
const char *const *tu_moto_env(struct tu_moto *m);

/* Run a Check suite with CK_ENV defaults and return EXIT_SUCCESS/FAILURE. */
int tu_run_suite(Suite *s);

#endif
