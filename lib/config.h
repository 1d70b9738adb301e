/* plumb.conf: an INI file parsed with inih into struct config.
 *
 * Every key is declared once in a table (config.c) with its type, bounds,
 * default and whether a SIGHUP reload may change it.  Unknown sections and
 * keys are errors; every error names file:line, the key and what is wrong.
 * Secrets (HMAC keys, SMTP passwords, tokens) are only accepted from files
 * (`*_file`) or systemd credentials (`*_credential`, looked up in
 * $CREDENTIALS_DIRECTORY); they are read at load time and wiped on free.
 *
 * The full reference is etc/plumb.conf and plumb.conf(5). */
#ifndef PLUMB_CONFIG_H
#define PLUMB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp.h" /* enum smtp_tls */
#include "util.h"

enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
};
int log_level_from_name(const char *name, enum log_level *ret);
const char *log_level_name(enum log_level level);

enum severity {
    SEVERITY_INFO = 0,
    SEVERITY_LOW,
    SEVERITY_MEDIUM,
    SEVERITY_HIGH,
    SEVERITY_CRITICAL,
};
int severity_from_name(const char *name, enum severity *ret);
const char *severity_name(enum severity s);

/* [account NAME]: one AWS account to scan.  Without any account section
 * plumb scans the account of the default credentials. */
struct config_account {
    char *name;
    char *id;           /* 12 digits; NULL = whoever the credentials are */
    char *role_arn;     /* AssumeRole into the account, optional */
    char *external_id;  /* not a secret, but may also come from a file */
    char *session_name; /* default "plumb" */
    char *profile;      /* AWS profile for the source credentials, optional */
    char **regions;     /* overrides [plumb] regions; NULL = inherit */
    int line;
};

/* [collector NAME]: schedule of one collector. */
struct config_collector {
    char *name;
    bool enabled;
    int64_t interval_ms;
    int64_t jitter_ms;
    int line;
};

enum state_kind {
    STATE_LOCAL = 0, /* a path or a glob */
    STATE_S3,        /* s3://bucket/key */
    STATE_HTTP,      /* http(s)://... (Terraform http backend) */
    STATE_TFC,       /* tfc://[host/]organization/workspace */
};

/* [state NAME]: one Terraform state source. */
struct config_state {
    char *name;
    char *location;
    enum state_kind kind;
    int64_t interval_ms;
    char *region;               /* S3: bucket region */
    char *workspace_key_prefix; /* S3: workspaces (default "env:") */
    char **workspaces;          /* S3: extra workspaces to read, "*" = all */
    char *account;              /* account assumed for declared resources without an ARN */
    char *profile;              /* S3: AWS profile for reading the bucket */
    char **headers;             /* HTTP: "Name: value" (from headers_file) */
    char *username;             /* HTTP basic auth */
    char *password;             /* secret (password_file / password_credential) */
    char *token;                /* TFC: secret (token_file / token_credential) */
    int line;
};

/* [exception NAME]: a time-boxed, attributable exception for drift or a
 * control finding. */
struct config_exception {
    char *name;
    char *match; /* driftignore-style pattern, or control:ID[:resource] */
    char *reason;
    char *owner;
    int64_t expires_ms; /* 0 = never */
    int line;
};

enum webhook_format {
    WEBHOOK_PLUMB = 0,
    WEBHOOK_CLOUDEVENTS,
    WEBHOOK_SLACK,
    WEBHOOK_PAGERDUTY,
};

/* Routing filter shared by sinks: empty lists match everything. */
struct config_filter {
    enum severity min_severity;
    char **kinds;      /* event kinds, globs allowed: "drift.*" */
    char **categories; /* changed, missing, unmanaged, conflict, control, data_gap, exception */
    char **accounts;
    char **tags; /* "key=value" or "key" */
};

/* [webhook NAME] */
struct config_webhook {
    char *name;
    char *url;
    enum webhook_format format;
    char *secret;      /* HMAC key (secret_file / secret_credential); required */
    char *routing_key; /* PagerDuty (routing_key_file / routing_key_credential) */
    struct config_filter filter;
    int64_t timeout_ms;
    int64_t max_age_ms; /* give up (dead letter) after this */
    bool insecure_tls;  /* explicit per-endpoint exception; logged */
    char *ca_bundle;
    int line;
};

/* [syslog] */
struct config_syslog {
    bool enabled;
    char *target; /* "local", "tcp://host:port", "tls://host:port" */
    char *facility;
    char *app_name;
    char *ca_bundle;
    struct config_filter filter;
    int line;
};

/* [journal] */
struct config_journal {
    bool enabled;
    struct config_filter filter;
};

/* [digest NAME]: a weekly digest to some recipients, optionally scoped. */
struct config_digest {
    char *name;
    char *schedule; /* "Mon 08:00" */
    char *timezone; /* IANA name, default "UTC" */
    char *smtp_url; /* smtp://host:587 or smtps://host:465 */
    enum smtp_tls tls;
    char *from;
    char **to;
    char *username;
    char *password; /* secret */
    char *list_id;
    char *ca_bundle;
    char **accounts; /* scope; empty = all */
    char **tags;     /* scope "key=value" */
    int line;
};

struct config {
    char *path; /* NULL for the built-in defaults */

    /* [plumb] */
    char *database;
    enum log_level log_level;
    char **regions; /* NULL/empty = all enabled regions */
    char *endpoint_url;
    char *ca_bundle;
    double api_budget_share; /* 0 < share <= 1 */
    int max_attempts;
    int64_t http_timeout_ms;
    int max_connections_per_host;
    char **baseline_paths; /* files or directories, in order */
    char *driftignore;
    bool include_defaults; /* report AWS-created defaults as unmanaged */
    char *sts_region;

    /* [aws_config] */
    char *config_mode; /* auto, off, only */
    char *aggregator;
    char *aggregator_region;

    /* [baseline] */
    char **baseline_disable;
    char **baseline_params; /* "name=value" */
    int *baseline_param_lines;
    bool scan_unused_regions;

    /* [events] */
    int64_t data_gap_after_ms;
    int64_t reminder_ms; /* 0 = off */
    enum severity reminder_min_severity;
    int64_t retry_max_age_ms;

    struct config_account *accounts;
    size_t n_accounts;
    struct config_collector *collectors;
    size_t n_collectors;
    struct config_state *states;
    size_t n_states;
    struct config_exception *exceptions;
    size_t n_exceptions;
    struct config_webhook *webhooks;
    size_t n_webhooks;
    struct config_digest *digests;
    size_t n_digests;
    struct config_syslog syslog;
    struct config_journal journal;
};

/* Where secrets and $HOME come from; injected so tests control them. */
struct config_env {
    const char *credentials_directory; /* $CREDENTIALS_DIRECTORY or NULL */
};

/* The collectors plumb knows, with their default intervals, so that
 * [collector NAME] sections are validated and defaults filled in. */
struct collector_default {
    const char *name;
    int64_t interval_ms;
};
extern const struct collector_default config_collector_defaults[];

/* Parse a file.  On failure returns -EINVAL (or -errno if the file cannot
 * be read), fills err with the first problem and, if ret_errors is not
 * NULL, every problem found (one "file:line: key: what" string each). */
int config_load(const char *path, const struct config_env *env, struct config **ret,
                struct perr *err, char ***ret_errors);
/* Same, from a string; name is used in messages. */
int config_load_string(const char *name, const char *text, const struct config_env *env,
                       struct config **ret, struct perr *err, char ***ret_errors);
/* Built-in defaults (no file): used by the CLI without a config. */
int config_defaults(struct config **ret);
/* Wipes secrets. */
struct config *config_free(struct config *c);

/* Lookups. */
const struct config_collector *config_collector(const struct config *c, const char *name);

/* Whether a reload from old to new can be applied without a restart;
 * fills err with the first key that needs one (e.g. database). */
bool config_reloadable(const struct config *old, const struct config *new_config, struct perr *err);

#endif
