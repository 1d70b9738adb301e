#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "db.h"
#include "log.h"
#include "notify.h"
#include "plumb-config.h"
#include "runtime.h"

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_signal_t sighup;
    uv_timer_t watchdog;
    bool watchdog_on;
    const struct daemon_options *opts;
    struct config *cfg;
    struct db *db;
    bool stopping;
    int exit_code;
};

static void config_env(struct config_env *env)
{
    env->credentials_directory = getenv("CREDENTIALS_DIRECTORY");
}

/* Load and validate the configuration, logging every problem. */
static int load_config(const struct daemon_options *opts, struct config **ret)
{
    struct config_env env;
    struct perr err = { 0 };
    char **errors = NULL;
    int r;

    config_env(&env);
    r = config_load(opts->config_path, &env, ret, &err, &errors);
    if (r < 0) {
        for (size_t i = 0; errors && errors[i]; i++)
            log_error("%s", errors[i]);
        if (!errors)
            log_error("%s", err.msg);
        strv_free(errors);
        return r;
    }
    if (opts->db_path && str_replace(&(*ret)->database, opts->db_path) < 0) {
        *ret = config_free(*ret);
        return -ENOMEM;
    }
    return 0;
}

/* Build the runtime (baseline, ignore file, exceptions, sinks) for cfg,
 * logging every problem. */
static int load_runtime(const struct config *cfg, struct runtime **ret)
{
    struct perr err = { 0 };
    char **errors = NULL;
    int r = runtime_load(cfg, ret, &err, &errors);
    if (r < 0) {
        for (size_t i = 0; errors && errors[i]; i++)
            log_error("%s", errors[i]);
        if (!errors)
            log_error("%s", err.msg);
        strv_free(errors);
    }
    return r;
}

int daemon_check_config(const struct daemon_options *opts)
{
    struct config *cfg = NULL;
    struct runtime *rt = NULL;
    int r = load_config(opts, &cfg);
    if (r == 0)
        r = load_runtime(cfg, &rt);
    if (r < 0) {
        fprintf(stderr, "%s: configuration has errors\n", opts->config_path);
        config_free(cfg);
        return r;
    }
    printf("%s: configuration OK (%zu controls enabled, %zu sinks)\n", opts->config_path,
           controls_count_enabled(rt->cat), rt->n_sinks);
    runtime_free(rt);
    config_free(cfg);
    return 0;
}

static void on_watchdog(uv_timer_t *t)
{
    notify_watchdog();
}

static void on_close_noop(uv_handle_t *h)
{
}

static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, on_close_noop);
}

static void begin_stop(struct daemon *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = true;
    log_info("%s, stopping", why);
    notify_stopping();
    /* Every subsystem closes its handles; what is left is ours. */
    uv_walk(&d->loop, close_walk, NULL);
}

static void on_sigterm(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;
    begin_stop(d, signum == SIGINT ? "SIGINT received" : "SIGTERM received");
}

static void reload(struct daemon *d)
{
    struct config *next = NULL;
    struct perr err = { 0 };

    log_info("SIGHUP received, reloading %s", d->opts->config_path);
    notify_reloading();
    if (load_config(d->opts, &next) < 0) {
        log_error("reload failed; keeping the running configuration");
        notify_ready("running (reload failed, old configuration kept)");
        return;
    }
    if (!config_reloadable(d->cfg, next, &err)) {
        log_error("reload refused: %s; keeping the running configuration", err.msg);
        config_free(next);
        notify_ready("running (reload refused, old configuration kept)");
        return;
    }
    config_free(d->cfg);
    d->cfg = next;
    if (!d->opts->log_level_set)
        log_set_level(d->cfg->log_level);
    log_info("configuration reloaded");
    notify_ready("running");
}

static void on_sighup(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;
    if (!d->stopping)
        reload(d);
}

static int setup_loop(struct daemon *d)
{
    int64_t wd;
    int r = uv_loop_init(&d->loop);
    if (r < 0)
        return r;
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sighup);
    d->sigterm.data = d->sigint.data = d->sighup.data = d;
    uv_signal_start(&d->sigterm, on_sigterm, SIGTERM);
    uv_signal_start(&d->sigint, on_sigterm, SIGINT);
    uv_signal_start(&d->sighup, on_sighup, SIGHUP);
    uv_timer_init(&d->loop, &d->watchdog);
    wd = notify_watchdog_interval_ms();
    if (wd > 0) {
        uv_timer_start(&d->watchdog, on_watchdog, (uint64_t)wd, (uint64_t)wd);
        d->watchdog_on = true;
    }
    return 0;
}

int daemon_run(const struct daemon_options *opts)
{
    struct daemon d = { .opts = opts };
    struct perr err = { 0 };
    char pid[32];
    int r;

    signal(SIGPIPE, SIG_IGN);
    r = load_config(opts, &d.cfg);
    if (r < 0)
        return r;
    log_set_level(opts->log_level_set ? opts->log_level : d.cfg->log_level);
    r = db_open(d.cfg->database, DB_READWRITE, &d.db, &err);
    if (r < 0) {
        log_error("%s", err.msg);
        config_free(d.cfg);
        return r;
    }
    r = setup_loop(&d);
    if (r < 0) {
        log_error("event loop: %s", uv_strerror(r));
        goto out;
    }
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    if (db_state_set(d.db, "pid", pid, time_now_ms(), &err) < 0 ||
        db_state_set(d.db, "state", "running", time_now_ms(), &err) < 0)
        log_warning("cannot record daemon state: %s", err.msg);
    log_info("plumbd %s started (database %s)", PLUMB_VERSION, d.cfg->database);
    notify_ready("running");
    uv_run(&d.loop, UV_RUN_DEFAULT);
    r = uv_loop_close(&d.loop);
    if (r < 0)
        log_warning("event loop did not close cleanly: %s", uv_strerror(r));
    if (db_state_set(d.db, "state", "stopped", time_now_ms(), &err) < 0)
        log_warning("cannot record daemon state: %s", err.msg);
    r = 0;
    log_info("stopped");
out:
    db_close(d.db);
    config_free(d.cfg);
    return r;
}
