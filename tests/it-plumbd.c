/* The real plumbd binary: sd_notify contract on a NOTIFY_SOCKET the test
 * owns, SIGHUP with a broken config, SIGTERM, bad configs, the database
 * file mode.  AWS is a moto_server on loopback. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

static struct tu_moto moto;
static char *tmp;
static char *plumbd;
static int notify_fd = -1;
static char notify_path[100];

static void moto_up(void)
{
    tu_moto_start(&moto);
}

static void moto_down(void)
{
    tu_moto_stop(&moto);
}

static void setup(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    tmp = tu_tmpdir();
    plumbd = tu_buildpath("daemon/plumbd");
    snprintf(notify_path, sizeof(notify_path), "%s/notify", tmp);
    memcpy(sa.sun_path, notify_path, strlen(notify_path) + 1);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(notify_fd, 0);
    ck_assert_int_eq(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void teardown(void)
{
    close(notify_fd);
    tu_rmrf(tmp);
    free(tmp);
    free(plumbd);
}

static char *write_conf(const char *name, const char *body)
{
    char *path = tu_path_join(tmp, name), *text;
    ck_assert_int_ne(
        asprintf(&text, "[plumb]\ndatabase = %s/plumb.db\nregions = eu-central-1\n%s", tmp, body),
        -1);
    tu_write_file(path, text);
    free(text);
    return path;
}

/* Wait for a notification containing what, up to ms; returns the message. */
static char *wait_notify(const char *what, int ms)
{
    static char buf[1024];
    int64_t deadline = time_mono_ms() + ms;
    while (time_mono_ms() < deadline) {
        struct pollfd p = { .fd = notify_fd, .events = POLLIN };
        ssize_t n;
        if (poll(&p, 1, 100) <= 0)
            continue;
        n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        if (strstr(buf, what))
            return buf;
    }
    return NULL;
}

static pid_t start_plumbd(const char *conf, const char *log)
{
    char notify_env[300], endpoint[128], datadir[512], *src = tu_srcpath("etc");
    const char *argv[] = { plumbd, "-c", conf, NULL };
    const char *env[] = { notify_env,
                          endpoint,
                          datadir,
                          "AWS_ACCESS_KEY_ID=AKIAPLUMBTEST",
                          "AWS_SECRET_ACCESS_KEY=plumbtest",
                          "WATCHDOG_USEC=2000000",
                          NULL };
    pid_t pid;
    snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", notify_path);
    snprintf(endpoint, sizeof(endpoint), "AWS_ENDPOINT_URL=%s", moto.endpoint);
    snprintf(datadir, sizeof(datadir), "PLUMB_DATADIR=%s", src);
    free(src);
    pid = tu_spawn(argv, env, log);
    return pid;
}

START_TEST(ready_reload_stop)
{
    char *conf = write_conf("plumb.conf", "");
    char *log = tu_path_join(tmp, "plumbd.log"), *text, *dbpath;
    struct stat st;
    pid_t pid = start_plumbd(conf, log);
    int64_t t0;
    int status;

    ck_assert_msg(wait_notify("READY=1", 15000) != NULL, "no READY=1");
    /* WATCHDOG_USEC=2s: fed every second from a loop timer. */
    ck_assert_msg(wait_notify("WATCHDOG=1", 3000) != NULL, "no WATCHDOG=1");
    /* The database exists, private to the service. */
    dbpath = tu_path_join(tmp, "plumb.db");
    ck_assert_int_eq(stat(dbpath, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* A broken configuration is rejected; the daemon keeps running. */
    tu_write_file(conf, "[plumb]\nlog_level = chatty\n");
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    ck_assert_msg(wait_notify("old configuration kept", 10000) != NULL, "no reload status");
    ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);
    /* A good one is taken. */
    free(conf);
    conf = write_conf("plumb.conf", "[collector ec2]\ninterval = 5m\n");
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    ck_assert_msg(wait_notify("READY=1\nSTATUS=running", 10000) != NULL, "no READY after reload");
    /* SIGTERM: STOPPING=1 and exit 0 within 5 s. */
    t0 = time_mono_ms();
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_msg(wait_notify("STOPPING=1", 5000) != NULL, "no STOPPING=1");
    while (waitpid(pid, &status, WNOHANG) == 0 && time_mono_ms() - t0 < 5000)
        usleep(20000);
    ck_assert_msg(time_mono_ms() - t0 < 5000, "plumbd did not exit within 5 s");
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    text = tu_read_file(log);
    ck_assert_msg(strstr(text, "log_level: expected error, warning, notice, info or debug, got "
                               "'chatty'") != NULL,
                  "%s", text);
    ck_assert(strstr(text, "reload failed; keeping the running configuration") != NULL);
    ck_assert(strstr(text, "configuration reloaded") != NULL);
    ck_assert(strstr(text, "stopped") != NULL);
    free(text);
    free(dbpath);
    free(log);
    free(conf);
}
END_TEST

/* Each class of bad configuration: exit 1 and the exact message. */
START_TEST(bad_configs)
{
    static const struct {
        const char *body;
        const char *message;
    } cases[] = {
        { "[events]\nfoo = 1\n", "plumb.conf:5: [events] foo: unknown key" },
        { "[webhook x]\nurl = https://x.example\nsecret = s\n",
          "plumb.conf:6: secret: secrets are not accepted inline" },
        { "[collector nope]\nenabled = yes\n",
          "plumb.conf:4: [collector nope]: unknown collector" },
        { "[baseline]\nno.such.param = 1\n",
          "plumb.conf:5: [baseline] params: unknown parameter 'no.such.param'" },
        { "[exception e]\nmatch = control:nope\nreason = r\nowner = o\n",
          "[exception e] match: unknown control 'nope'" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *conf = write_conf("plumb.conf", cases[i].body), *out = NULL, *err = NULL;
        char *src = tu_srcpath("etc"), datadir[512];
        const char *argv[] = { plumbd, "--check-config", "-c", conf, NULL };
        const char *env[] = { datadir, NULL };
        int st;
        snprintf(datadir, sizeof(datadir), "PLUMB_DATADIR=%s", src);
        st = tu_run(argv, env, &out, &err);
        ck_assert_msg(st == 1, "case %zu: exit %d", i, st);
        ck_assert_msg(strstr(err, cases[i].message) != NULL, "case %zu: expected '%s' in:\n%s", i,
                      cases[i].message, err);
        ck_assert(strstr(err, "configuration has errors") != NULL);
        free(out);
        free(err);
        free(conf);
        free(src);
    }
}
END_TEST

START_TEST(good_config_checks)
{
    char *conf = write_conf("plumb.conf", ""), *out = NULL, *err = NULL, *src = tu_srcpath("etc");
    char datadir[512];
    const char *argv[] = { plumbd, "--check-config", "-c", conf, NULL };
    const char *env[] = { datadir, NULL };
    snprintf(datadir, sizeof(datadir), "PLUMB_DATADIR=%s", src);
    ck_assert_int_eq(tu_run(argv, env, &out, &err), 0);
    ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);
    free(out);
    free(err);
    free(conf);
    free(src);
}
END_TEST

START_TEST(newer_database_refused)
{
    char *conf = write_conf("plumb.conf", ""), *dbpath = tu_path_join(tmp, "plumb.db");
    char *log = tu_path_join(tmp, "log"), *text, sql[64];
    const char *mk[] = { "sqlite3", dbpath, sql, NULL };
    pid_t pid;
    int st;
    snprintf(sql, sizeof(sql), "PRAGMA user_version = 999;");
    ck_assert_int_eq(tu_run(mk, NULL, NULL, NULL), 0);
    pid = start_plumbd(conf, log);
    waitpid(pid, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    text = tu_read_file(log);
    ck_assert_msg(strstr(text, "database schema version 999 is newer than this plumb supports"),
                  "%s", text);
    free(text);
    free(log);
    free(dbpath);
    free(conf);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("plumbd");
    TCase *tc = tcase_create("plumbd");
    tcase_add_unchecked_fixture(tc, moto_up, moto_down);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ready_reload_stop);
    tcase_add_test(tc, bad_configs);
    tcase_add_test(tc, good_config_checks);
    tcase_add_test(tc, newer_database_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
