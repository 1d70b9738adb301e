#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "testutil.h"

static char *tmp;
static int sock = -1;

static void setup(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    tmp = tu_tmpdir();
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", tmp);
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(sock, 0);
    ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
}

static void teardown(void)
{
    close(sock);
    unsetenv("NOTIFY_SOCKET");
    tu_rmrf(tmp);
    free(tmp);
}

static char *recv_msg(void)
{
    char buf[1024];
    ssize_t n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    ck_assert_msg(n > 0, "no notification received");
    buf[n] = '\0';
    return strdup(buf);
}

START_TEST(messages)
{
    char *m;
    ck_assert_int_gt(notify_ready("scanning 3 accounts"), 0);
    m = recv_msg();
    ck_assert_str_eq(m, "READY=1\nSTATUS=scanning 3 accounts");
    free(m);
    ck_assert_int_gt(notify_status("cycle %d done\nsecond line", 7), 0);
    m = recv_msg();
    ck_assert_str_eq(m, "STATUS=cycle 7 done second line");
    free(m);
    ck_assert_int_gt(notify_stopping(), 0);
    m = recv_msg();
    ck_assert_str_eq(m, "STOPPING=1\nSTATUS=stopping");
    free(m);
    ck_assert_int_gt(notify_watchdog(), 0);
    m = recv_msg();
    ck_assert_str_eq(m, "WATCHDOG=1");
    free(m);
    ck_assert_int_gt(notify_reloading(), 0);
    m = recv_msg();
    ck_assert(str_has_prefix(m, "RELOADING=1\nMONOTONIC_USEC="));
    free(m);
}
END_TEST

START_TEST(no_socket_is_noop)
{
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(notify_ready("x"), 0);
    ck_assert_int_eq(notify_watchdog(), 0);
}
END_TEST

START_TEST(watchdog_interval)
{
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    ck_assert_int_eq(notify_watchdog_interval_ms(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    ck_assert_int_eq(notify_watchdog_interval_ms(), 15000);
    /* Meant for another process: not ours to feed. */
    setenv("WATCHDOG_PID", "1", 1);
    ck_assert_int_eq(notify_watchdog_interval_ms(), 0);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("notify");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, messages);
    tcase_add_test(tc, no_socket_is_noop);
    tcase_add_test(tc, watchdog_interval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
