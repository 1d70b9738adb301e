#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void tu_skip(const char *why)
{
    fprintf(stderr, "SKIP: %s\n", why);
    fflush(stderr);
    exit(TU_SKIP);
}

static char *join_env(const char *var, const char *rel, bool required)
{
    const char *base = getenv(var);
    char *p;
    if (!base || !*base) {
        if (required) {
            fprintf(stderr, "%s is not set; run the tests through meson test\n", var);
            exit(99);
        }
        return NULL;
    }
    if (asprintf(&p, "%s/%s", base, rel) < 0)
        abort();
    return p;
}

char *tu_fixture(const char *rel)
{
    char *p = join_env("PLUMB_FIXTURES", rel, false);
    struct stat st;
    if (!p || stat(p, &st) < 0) {
        char why[512];
        snprintf(why, sizeof(why), "fixture %s not available (PLUMB_FIXTURES=%s)", rel,
                 getenv("PLUMB_FIXTURES") ? getenv("PLUMB_FIXTURES") : "");
        tu_skip(why);
    }
    return p;
}

char *tu_srcpath(const char *rel)
{
    return join_env("PLUMB_SRCDIR", rel, true);
}

char *tu_buildpath(const char *rel)
{
    return join_env("PLUMB_BUILDDIR", rel, true);
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl;
    if (asprintf(&tmpl, "%s/plumb-test-XXXXXX", base && *base ? base : "/tmp") < 0)
        abort();
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    return tmpl;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmrf(const char *path)
{
    if (path)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    fputs(content, f);
    ck_assert_int_eq(fclose(f), 0);
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *data = NULL;
    size_t len = 0;
    FILE *mem;
    int c;
    if (!f)
        return NULL;
    mem = open_memstream(&data, &len);
    while ((c = fgetc(f)) != EOF)
        fputc(c, mem);
    fclose(mem);
    fclose(f);
    return data;
}

char *tu_path_join(const char *dir, const char *name)
{
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

int tu_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        abort();
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void apply_env(const char *const env[])
{
    for (size_t i = 0; env && env[i]; i++)
        putenv((char *)env[i]);
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

int tu_run(const char *const argv[], const char *const env[], char **ret_out, char **ret_err)
{
    int out[2], err[2], st;
    pid_t pid;
    struct pollfd pfd[2];
    char *bufs[2] = { NULL, NULL };
    size_t lens[2] = { 0, 0 };
    FILE *mems[2];

    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        abort();
    pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        apply_env(env);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    mems[0] = open_memstream(&bufs[0], &lens[0]);
    mems[1] = open_memstream(&bufs[1], &lens[1]);
    pfd[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
    while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            abort();
        }
        for (int i = 0; i < 2; i++) {
            char buf[4096];
            ssize_t n;
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(pfd[i].fd, buf, sizeof(buf));
            if (n > 0) {
                fwrite(buf, 1, (size_t)n, mems[i]);
            } else {
                close(pfd[i].fd);
                pfd[i].fd = -1;
            }
        }
    }
    fclose(mems[0]);
    fclose(mems[1]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (ret_out)
        *ret_out = bufs[0];
    else
        free(bufs[0]);
    if (ret_err)
        *ret_err = bufs[1];
    else
        free(bufs[1]);
    return decode_status(st);
}

pid_t tu_spawn(const char *const argv[], const char *const env[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        int fd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setpgid(0, 0);
        apply_env(env);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int tu_stop(pid_t pid, int timeout_ms)
{
    int st = 0;
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return decode_status(st);
        usleep(20000);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return decode_status(st);
}

bool tu_wait_http(const char *url, int timeout_ms)
{
    const char *argv[] = { "curl", "-s", "-o", "/dev/null", "--max-time", "1", url, NULL };
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (tu_run(argv, NULL, NULL, NULL) == 0)
            return true;
        usleep(100000);
    }
    return false;
}

static bool in_path(const char *prog)
{
    const char *argv[] = { "sh", "-c", "command -v \"$0\" >/dev/null", prog, NULL };
    return tu_run(argv, NULL, NULL, NULL) == 0;
}

void tu_moto_start(struct tu_moto *m)
{
    char port[16];
    char url[128];
    char *dir;
    const char *argv[] = { "moto_server", "-H", "127.0.0.1", "-p", port, NULL };

    if (!in_path("moto_server"))
        tu_skip("moto_server is not installed (the test command installs moto[server])");
    memset(m, 0, sizeof(*m));
    for (int attempt = 0; attempt < 3; attempt++) {
        m->port = tu_free_port();
        snprintf(port, sizeof(port), "%d", m->port);
        dir = tu_tmpdir();
        m->logfile = tu_path_join(dir, "moto.log");
        free(dir);
        m->pid = tu_spawn(argv, NULL, m->logfile);
        snprintf(m->endpoint, sizeof(m->endpoint), "http://127.0.0.1:%d", m->port);
        snprintf(url, sizeof(url), "%s/moto-api/", m->endpoint);
        if (tu_wait_http(url, 15000))
            return;
        tu_stop(m->pid, 1000);
        free(m->logfile);
    }
    ck_abort_msg("moto_server did not start");
}

void tu_moto_stop(struct tu_moto *m)
{
    if (m->pid > 0)
        tu_stop(m->pid, 3000);
    m->pid = 0;
    if (m->logfile) {
        char *dir = strdup(m->logfile);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        tu_rmrf(dir);
        free(dir);
    }
    free(m->logfile);
    m->logfile = NULL;
}

static void moto_post(struct tu_moto *m, const char *path, const char *body)
{
    char url[160];
    const char *argv[] = { "curl",   "-sf", "-X", "POST", "-H", "Content-Type: text/plain",
                           "--data", body,  url,  NULL };
    snprintf(url, sizeof(url), "%s%s", m->endpoint, path);
    ck_assert_msg(tu_run(argv, NULL, NULL, NULL) == 0, "POST %s failed", url);
}

void tu_moto_reset(struct tu_moto *m)
{
    moto_post(m, "/moto-api/reset", "");
}

void tu_moto_auth(struct tu_moto *m, bool on)
{
    moto_post(m, "/moto-api/reset-auth", on ? "0" : "inf");
}

const char *const *tu_moto_env(struct tu_moto *m)
{
    static char endpoint[128];
    static const char *env[8];
    snprintf(endpoint, sizeof(endpoint), "AWS_ENDPOINT_URL=%s", m->endpoint);
    env[0] = endpoint;
    env[1] = "AWS_ACCESS_KEY_ID=AKIAPLUMBTEST0000000";
    env[2] = "AWS_SECRET_ACCESS_KEY=plumbtestsecretplumbtestsecretplumbtest0";
    env[3] = "AWS_DEFAULT_REGION=eu-central-1";
    env[4] = "AWS_REGION=eu-central-1";
    env[5] = "AWS_EC2_METADATA_DISABLED=true";
    env[6] = NULL;
    return env;
}

char *tu_moto_seed(struct tu_moto *m, const char *script, const char *const args[])
{
    char *path = NULL, *out = NULL, *err = NULL;
    const char *argv[32];
    size_t n = 0;
    int st;
    char rel[256];

    snprintf(rel, sizeof(rel), "tests/seed/%s", script);
    path = tu_srcpath(rel);
    argv[n++] = "python3";
    argv[n++] = path;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    st = tu_run(argv, tu_moto_env(m), &out, &err);
    ck_assert_msg(st == 0, "seed %s failed (%d): %s", script, st, err ? err : "");
    free(err);
    free(path);
    return out;
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
