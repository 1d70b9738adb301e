#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plumb-config.h"

#define SECRET_MAX (64 * 1024)
#define CONFIG_MAX (4 * 1024 * 1024)

static const char *const log_level_names[] = {
    [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
    [LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_DEBUG] = "debug",
};

int log_level_from_name(const char *name, enum log_level *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(log_level_names); i++)
        if (log_level_names[i] && str_eq_ci(name, log_level_names[i])) {
            *ret = (enum log_level)i;
            return 0;
        }
    if (str_eq_ci(name, "warn")) {
        *ret = LOG_LEVEL_WARNING;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
    if ((size_t)level < ARRAY_SIZE(log_level_names) && log_level_names[level])
        return log_level_names[level];
    return "info";
}

static const char *const severity_names[] = { "info", "low", "medium", "high", "critical" };

int severity_from_name(const char *name, enum severity *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(severity_names); i++)
        if (str_eq_ci(name, severity_names[i])) {
            *ret = (enum severity)i;
            return 0;
        }
    return -EINVAL;
}

const char *severity_name(enum severity s)
{
    if ((size_t)s < ARRAY_SIZE(severity_names))
        return severity_names[s];
    return "info";
}

#define MIN_MS(m)  ((int64_t)(m)*60 * 1000)
#define HOUR_MS(h) ((int64_t)(h)*3600 * 1000)

const struct collector_default config_collector_defaults[] = {
    { "config", MIN_MS(15) },        { "ec2", MIN_MS(15) },
    { "autoscaling", MIN_MS(30) },   { "s3", MIN_MS(30) },
    { "iam", HOUR_MS(1) },           { "rds", MIN_MS(30) },
    { "cloudtrail", MIN_MS(30) },    { "kms", HOUR_MS(1) },
    { "guardduty", HOUR_MS(1) },     { "configservice", HOUR_MS(1) },
    { "logs", HOUR_MS(1) },          { "backup", HOUR_MS(1) },
    { "acm", HOUR_MS(6) },           { "apigateway", HOUR_MS(1) },
    { "elb", MIN_MS(30) },           { "cloudfront", HOUR_MS(1) },
    { "appstream", HOUR_MS(1) },     { "account", HOUR_MS(24) },
    { "athena", HOUR_MS(6) },        { "bedrock", HOUR_MS(6) },
    { "securityhub", HOUR_MS(6) },   { "accessanalyzer", HOUR_MS(6) },
    { "events", HOUR_MS(6) },        { "appsync", HOUR_MS(6) },
    { "ssmincidents", HOUR_MS(12) }, { NULL, 0 },
};

/* Key types.  Each key of each section is one row of a table below. */
enum key_type {
    K_STRING,
    K_PATH, /* absolute path */
    K_BOOL,
    K_INT,
    K_DOUBLE,
    K_DURATION,
    K_LIST, /* comma-separated; continuation lines append */
    K_LOG_LEVEL,
    K_SEVERITY,
    K_DATE,              /* ISO 8601 date or time */
    K_ENUM,              /* stored as an int index into enum_names */
    K_CHOICE,            /* stored as a string, one of enum_names */
    K_SECRET_FILE,       /* read the secret from this file */
    K_SECRET_CREDENTIAL, /* read it from $CREDENTIALS_DIRECTORY/<value> */
    K_INLINE_SECRET,     /* always rejected: secrets must not be inline */
    K_HEADERS_FILE,      /* "Name: value" lines, treated as secret */
    K_REGIONS,           /* list of region names or "all" */
    K_PARAMS,            /* [baseline] catch-all for dotted parameter names */
};

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset;
    int64_t min;
    int64_t max;
    const char *const *enum_names;
    bool reloadable;
};

/* Section kinds. */
enum section_kind {
    SEC_PLUMB,
    SEC_AWS_CONFIG,
    SEC_BASELINE,
    SEC_EVENTS,
    SEC_SYSLOG,
    SEC_JOURNAL,
    SEC_ACCOUNT,
    SEC_COLLECTOR,
    SEC_STATE,
    SEC_EXCEPTION,
    SEC_WEBHOOK,
    SEC_DIGEST,
};

#define KEY(n, t, s, f)                        \
    {                                          \
        n, t, offsetof(s, f), 0, 0, NULL, true \
    }
#define KEYR(n, t, s, f, lo, hi)                 \
    {                                            \
        n, t, offsetof(s, f), lo, hi, NULL, true \
    }
#define KEYE(n, s, f, names)                         \
    {                                                \
        n, K_ENUM, offsetof(s, f), 0, 0, names, true \
    }
#define KEYX(n, t, s, f)                        \
    {                                           \
        n, t, offsetof(s, f), 0, 0, NULL, false \
    }
#define FILTER_KEYS(s)                                                                          \
    KEY("min_severity", K_SEVERITY, s, filter.min_severity),                                    \
        KEY("kinds", K_LIST, s, filter.kinds), KEY("categories", K_LIST, s, filter.categories), \
        KEY("accounts", K_LIST, s, filter.accounts), KEY("tags", K_LIST, s, filter.tags)

static const char *const config_modes[] = { "auto", "off", "only", NULL };
static const char *const webhook_formats[] = { "plumb", "cloudevents", "slack", "pagerduty", NULL };
static const char *const smtp_tls_names[] = { "starttls", "implicit", "none", NULL };

static const struct key_def plumb_keys[] = {
    KEYX("database", K_PATH, struct config, database),
    KEY("log_level", K_LOG_LEVEL, struct config, log_level),
    KEY("regions", K_REGIONS, struct config, regions),
    KEY("endpoint_url", K_STRING, struct config, endpoint_url),
    KEY("ca_bundle", K_PATH, struct config, ca_bundle),
    { "api_budget_share", K_DOUBLE, offsetof(struct config, api_budget_share), 0, 1, NULL, true },
    KEYR("max_attempts", K_INT, struct config, max_attempts, 1, 20),
    KEYR("http_timeout", K_DURATION, struct config, http_timeout_ms, 1000, HOUR_MS(1)),
    KEYR("max_connections_per_host", K_INT, struct config, max_connections_per_host, 1, 64),
    KEY("baseline", K_LIST, struct config, baseline_paths),
    KEY("driftignore", K_PATH, struct config, driftignore),
    KEY("include_defaults", K_BOOL, struct config, include_defaults),
    KEY("sts_region", K_STRING, struct config, sts_region),
    { "secret", K_INLINE_SECRET, 0, 0, 0, NULL, true },
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def aws_config_keys[] = {
    { "mode", K_CHOICE, offsetof(struct config, config_mode), 0, 0, config_modes, true },
    KEY("aggregator", K_STRING, struct config, aggregator),
    KEY("aggregator_region", K_STRING, struct config, aggregator_region),
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def baseline_keys[] = {
    KEY("disable", K_LIST, struct config, baseline_disable),
    KEY("scan_unused_regions", K_BOOL, struct config, scan_unused_regions),
    { "*", K_PARAMS, offsetof(struct config, baseline_params), 0, 0, NULL, true },
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def events_keys[] = {
    KEYR("data_gap_after", K_DURATION, struct config, data_gap_after_ms, 60000, HOUR_MS(24 * 30)),
    KEYR("reminder", K_DURATION, struct config, reminder_ms, 0, HOUR_MS(24 * 30)),
    KEY("reminder_min_severity", K_SEVERITY, struct config, reminder_min_severity),
    KEYR("retry_max_age", K_DURATION, struct config, retry_max_age_ms, 60000, HOUR_MS(24 * 30)),
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def syslog_keys[] = {
    KEY("enabled", K_BOOL, struct config_syslog, enabled),
    KEY("target", K_STRING, struct config_syslog, target),
    KEY("facility", K_STRING, struct config_syslog, facility),
    KEY("app_name", K_STRING, struct config_syslog, app_name),
    KEY("ca_bundle", K_PATH, struct config_syslog, ca_bundle),
    FILTER_KEYS(struct config_syslog),
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def journal_keys[] = {
    KEY("enabled", K_BOOL, struct config_journal, enabled),
    FILTER_KEYS(struct config_journal),
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def account_keys[] = {
    KEY("id", K_STRING, struct config_account, id),
    KEY("role_arn", K_STRING, struct config_account, role_arn),
    KEY("external_id", K_STRING, struct config_account, external_id),
    { "external_id_file", K_SECRET_FILE, offsetof(struct config_account, external_id), 0, 0, NULL,
      true },
    KEY("session_name", K_STRING, struct config_account, session_name),
    KEY("profile", K_STRING, struct config_account, profile),
    KEY("regions", K_REGIONS, struct config_account, regions),
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def collector_keys[] = {
    KEY("enabled", K_BOOL, struct config_collector, enabled),
    KEYR("interval", K_DURATION, struct config_collector, interval_ms, 60000, HOUR_MS(24 * 7)),
    KEYR("jitter", K_DURATION, struct config_collector, jitter_ms, 0, HOUR_MS(24)),
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def state_keys[] = {
    KEY("location", K_STRING, struct config_state, location),
    KEYR("interval", K_DURATION, struct config_state, interval_ms, 10000, HOUR_MS(24 * 7)),
    KEY("region", K_STRING, struct config_state, region),
    KEY("workspace_key_prefix", K_STRING, struct config_state, workspace_key_prefix),
    KEY("workspaces", K_LIST, struct config_state, workspaces),
    KEY("account", K_STRING, struct config_state, account),
    KEY("profile", K_STRING, struct config_state, profile),
    KEY("headers_file", K_HEADERS_FILE, struct config_state, headers),
    KEY("username", K_STRING, struct config_state, username),
    KEY("password_file", K_SECRET_FILE, struct config_state, password),
    KEY("password_credential", K_SECRET_CREDENTIAL, struct config_state, password),
    KEY("token_file", K_SECRET_FILE, struct config_state, token),
    KEY("token_credential", K_SECRET_CREDENTIAL, struct config_state, token),
    { "password", K_INLINE_SECRET, 0, 0, 0, NULL, true },
    { "token", K_INLINE_SECRET, 0, 0, 0, NULL, true },
    { "headers", K_INLINE_SECRET, 0, 0, 0, NULL, true },
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def exception_keys[] = {
    KEY("match", K_STRING, struct config_exception, match),
    KEY("reason", K_STRING, struct config_exception, reason),
    KEY("owner", K_STRING, struct config_exception, owner),
    KEY("expires", K_DATE, struct config_exception, expires_ms),
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def webhook_keys[] = {
    KEY("url", K_STRING, struct config_webhook, url),
    KEYE("format", struct config_webhook, format, webhook_formats),
    KEY("secret_file", K_SECRET_FILE, struct config_webhook, secret),
    KEY("secret_credential", K_SECRET_CREDENTIAL, struct config_webhook, secret),
    KEY("routing_key_file", K_SECRET_FILE, struct config_webhook, routing_key),
    KEY("routing_key_credential", K_SECRET_CREDENTIAL, struct config_webhook, routing_key),
    KEYR("timeout", K_DURATION, struct config_webhook, timeout_ms, 1000, MIN_MS(5)),
    KEYR("max_age", K_DURATION, struct config_webhook, max_age_ms, 60000, HOUR_MS(24 * 30)),
    KEY("insecure_tls", K_BOOL, struct config_webhook, insecure_tls),
    KEY("ca_bundle", K_PATH, struct config_webhook, ca_bundle),
    FILTER_KEYS(struct config_webhook),
    { "secret", K_INLINE_SECRET, 0, 0, 0, NULL, true },
    { "routing_key", K_INLINE_SECRET, 0, 0, 0, NULL, true },
    { NULL, 0, 0, 0, 0, NULL, false },
};

static const struct key_def digest_keys[] = {
    KEY("schedule", K_STRING, struct config_digest, schedule),
    KEY("timezone", K_STRING, struct config_digest, timezone),
    KEY("smtp_url", K_STRING, struct config_digest, smtp_url),
    KEYE("tls", struct config_digest, tls, smtp_tls_names),
    KEY("from", K_STRING, struct config_digest, from),
    KEY("to", K_LIST, struct config_digest, to),
    KEY("username", K_STRING, struct config_digest, username),
    KEY("password_file", K_SECRET_FILE, struct config_digest, password),
    KEY("password_credential", K_SECRET_CREDENTIAL, struct config_digest, password),
    KEY("list_id", K_STRING, struct config_digest, list_id),
    KEY("ca_bundle", K_PATH, struct config_digest, ca_bundle),
    KEY("accounts", K_LIST, struct config_digest, accounts),
    KEY("tags", K_LIST, struct config_digest, tags),
    { "password", K_INLINE_SECRET, 0, 0, 0, NULL, true },
    { NULL, 0, 0, 0, 0, NULL, false },
};

struct section_def {
    const char *name;
    enum section_kind kind;
    bool named; /* [kind NAME] */
    const struct key_def *keys;
};

static const struct section_def sections[] = {
    { "plumb", SEC_PLUMB, false, plumb_keys },
    { "aws_config", SEC_AWS_CONFIG, false, aws_config_keys },
    { "baseline", SEC_BASELINE, false, baseline_keys },
    { "events", SEC_EVENTS, false, events_keys },
    { "syslog", SEC_SYSLOG, false, syslog_keys },
    { "journal", SEC_JOURNAL, false, journal_keys },
    { "account", SEC_ACCOUNT, true, account_keys },
    { "collector", SEC_COLLECTOR, true, collector_keys },
    { "state", SEC_STATE, true, state_keys },
    { "exception", SEC_EXCEPTION, true, exception_keys },
    { "webhook", SEC_WEBHOOK, true, webhook_keys },
    { "digest", SEC_DIGEST, true, digest_keys },
};

/* Parser state shared between the line reader and the inih handler. */
struct parser {
    const char *name; /* file name for messages */
    const struct config_env *env;
    struct config *cfg;
    char **errors;
    bool oom;

    /* reader */
    const char *text;
    size_t pos;
    int line;           /* line number of the line inih is processing */
    bool line_indented; /* that line started with whitespace */
    int section_line;   /* line of the last [section] header */

    /* current section */
    char *cur_section; /* raw "kind name" as inih gives it */
    const struct section_def *def;
    void *target;      /* the struct the section's keys write into */
    bool skip_section; /* unknown section: error reported once */
    /* keys seen in the current section: "name\tline" */
    char **seen;
    /* sections seen: "raw\tline" */
    char **sections_seen;
};

static void add_error(struct parser *p, int line, const char *fmt, ...) PLUMB_PRINTF(3, 4);

static void add_error(struct parser *p, int line, const char *fmt, ...)
{
    va_list ap;
    char *msg, *full;
    va_start(ap, fmt);
    msg = str_vprintf(fmt, ap);
    va_end(ap);
    if (!msg) {
        p->oom = true;
        return;
    }
    full =
        line > 0 ? str_printf("%s:%d: %s", p->name, line, msg) : str_printf("%s: %s", p->name, msg);
    free(msg);
    if (!full || strv_consume(&p->errors, full) < 0) {
        free(full);
        p->oom = true;
    }
}

/* inih reads through this so we know each line's number and can reject
 * lines longer than inih's fixed buffer instead of mis-parsing them. */
static char *reader(char *str, int num, void *stream)
{
    struct parser *p = stream;
    size_t len = 0, max = (size_t)num - 1;
    const char *start = p->text + p->pos;

    if (!*start)
        return NULL;
    while (start[len] && start[len] != '\n')
        len++;
    p->line++;
    p->line_indented = len > 0 && (start[0] == ' ' || start[0] == '\t');
    {
        const char *q = start;
        while (q < start + len && isspace((unsigned char)*q))
            q++;
        if (q < start + len && *q == '[')
            p->section_line = p->line;
    }
    if (len > max - 1) {
        add_error(p, p->line, "line is longer than %zu characters", max - 1);
        /* Hand inih a comment so it skips the line. */
        snprintf(str, (size_t)num, "#\n");
    } else {
        memcpy(str, start, len);
        str[len] = '\n';
        str[len + 1] = '\0';
    }
    p->pos += len + (start[len] == '\n' ? 1 : 0);
    return str;
}

static const struct key_def *find_key(const struct key_def *keys, const char *name)
{
    const struct key_def *wildcard = NULL;
    for (size_t i = 0; keys[i].name; i++) {
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
        if (strcmp(keys[i].name, "*") == 0)
            wildcard = &keys[i];
    }
    /* Parameter overrides look like "logs.retention_min_days". */
    if (wildcard && strchr(name, '.'))
        return wildcard;
    return NULL;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static bool valid_region(const char *s)
{
    /* e.g. eu-central-1, us-gov-west-1, cn-north-1, ap-southeast-4 */
    const char *last = strrchr(s, '-');
    size_t n = 0;
    if (!last || last == s || !last[1])
        return false;
    for (const char *q = last + 1; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    for (const char *q = s; q < last; q++) {
        if (!islower((unsigned char)*q) && *q != '-')
            return false;
        n++;
    }
    return n >= 4 && strchr(s, '-') != last;
}

static void *append_item(void **array, size_t *n, size_t size)
{
    char *na = realloc(*array, (*n + 1) * size);
    if (!na)
        return NULL;
    memset(na + *n * size, 0, size);
    *array = na;
    return na + (*n)++ * size;
}

static int read_secret_file(struct parser *p, const char *key, const char *path, char **ret)
{
    char *data = NULL;
    size_t len;
    int r;

    if (path[0] != '/') {
        add_error(p, p->line, "%s: must be an absolute path", key);
        return -EINVAL;
    }
    r = read_file(path, SECRET_MAX, &data, &len);
    if (r < 0) {
        add_error(p, p->line, "%s: cannot read %s: %s", key, path, strerror(-r));
        return r;
    }
    /* Files usually end with a newline that is not part of the secret. */
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        data[--len] = '\0';
    if (len == 0) {
        add_error(p, p->line, "%s: %s is empty", key, path);
        str_free_secret(data);
        return -EINVAL;
    }
    *ret = data;
    return 0;
}

static int read_credential(struct parser *p, const char *key, const char *name, char **ret)
{
    char *path;
    int r;
    if (!p->env || !p->env->credentials_directory) {
        add_error(p, p->line,
                  "%s: $CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit, "
                  "or a *_file key)",
                  key);
        return -ENOENT;
    }
    if (!valid_name(name) || strchr(name, '/')) {
        add_error(p, p->line, "%s: invalid credential name '%s'", key, name);
        return -EINVAL;
    }
    path = str_printf("%s/%s", p->env->credentials_directory, name);
    if (!path) {
        p->oom = true;
        return -ENOMEM;
    }
    r = read_secret_file(p, key, path, ret);
    free(path);
    return r;
}

static int read_headers_file(struct parser *p, const char *key, const char *path, char ***ret)
{
    char *data = NULL, **lines = NULL, **out = NULL;
    int r = read_secret_file(p, key, path, &data);
    if (r < 0)
        return r;
    r = strv_split(data, "\n", &lines);
    str_free_secret(data);
    if (r < 0) {
        p->oom = true;
        return r;
    }
    out = strv_new();
    for (size_t i = 0; out && lines[i]; i++) {
        char *colon = strchr(lines[i], ':');
        if (lines[i][0] == '#')
            continue;
        if (!colon || colon == lines[i]) {
            add_error(p, p->line, "%s: %s line %zu is not \"Name: value\"", key, path, i + 1);
            r = -EINVAL;
            break;
        }
        if (strv_push(&out, lines[i]) < 0) {
            p->oom = true;
            r = -ENOMEM;
            break;
        }
    }
    for (size_t i = 0; lines[i]; i++)
        explicit_bzero(lines[i], strlen(lines[i]));
    strv_free(lines);
    if (!out) {
        p->oom = true;
        return -ENOMEM;
    }
    if (r < 0) {
        strv_free(out);
        return r;
    }
    *ret = out;
    return 0;
}

static int set_value(struct parser *p, const struct key_def *k, const char *name, const char *value,
                     bool append)
{
    char *field = (char *)p->target + k->offset;
    int r;

    switch (k->type) {
    case K_STRING:
    case K_PATH:
        if (!*value) {
            add_error(p, p->line, "%s: empty value", name);
            return -EINVAL;
        }
        if (k->type == K_PATH && value[0] != '/') {
            add_error(p, p->line, "%s: must be an absolute path, got '%s'", name, value);
            return -EINVAL;
        }
        if (str_replace((char **)field, value) < 0)
            goto oom;
        return 0;
    case K_BOOL:
        if (parse_bool(value, (bool *)field) < 0) {
            add_error(p, p->line, "%s: expected yes or no, got '%s'", name, value);
            return -EINVAL;
        }
        return 0;
    case K_INT: {
        int64_t v;
        if (parse_int64(value, &v) < 0 || v < k->min || v > k->max) {
            add_error(p, p->line, "%s: expected an integer from %lld to %lld, got '%s'", name,
                      (long long)k->min, (long long)k->max, value);
            return -EINVAL;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case K_DOUBLE: {
        double v;
        if (parse_double(value, &v) < 0 || v <= (double)k->min || v > (double)k->max) {
            add_error(p, p->line, "%s: expected a number above %lld and at most %lld, got '%s'",
                      name, (long long)k->min, (long long)k->max, value);
            return -EINVAL;
        }
        *(double *)field = v;
        return 0;
    }
    case K_DURATION: {
        int64_t ms;
        char lo[32], hi[32];
        r = parse_duration_ms(value, &ms);
        if (r < 0 || ms < k->min || ms > k->max) {
            format_duration_ms(k->min, lo, sizeof(lo));
            format_duration_ms(k->max, hi, sizeof(hi));
            if (r < 0)
                add_error(p, p->line, "%s: '%s' is not a duration (e.g. 30s, 15m, 1h30m, 7d)", name,
                          value);
            else
                add_error(p, p->line, "%s: %s is out of range (%s to %s)", name, value,
                          k->min ? lo : "0", hi);
            return -EINVAL;
        }
        *(int64_t *)field = ms;
        return 0;
    }
    case K_LIST:
    case K_REGIONS: {
        char **items = NULL, ***dst = (char ***)field;
        if (strv_split(value, ",", &items) < 0)
            goto oom;
        if (k->type == K_REGIONS) {
            for (size_t i = 0; items[i]; i++) {
                if (str_eq(items[i], "all") && strv_length(items) == 1 && !append)
                    continue;
                if (!valid_region(items[i])) {
                    add_error(p, p->line, "%s: '%s' is not an AWS region name (e.g. eu-central-1)",
                              name, items[i]);
                    strv_free(items);
                    return -EINVAL;
                }
            }
            if (strv_length(items) == 1 && str_eq(items[0], "all") && !append) {
                /* "all" means every enabled region: an empty list. */
                strv_free(items);
                items = strv_new();
                if (!items)
                    goto oom;
            }
        }
        if (append && *dst) {
            for (size_t i = 0; items[i]; i++)
                if (strv_push(dst, items[i]) < 0) {
                    strv_free(items);
                    goto oom;
                }
            strv_free(items);
        } else {
            strv_free(*dst);
            *dst = items;
        }
        return 0;
    }
    case K_LOG_LEVEL:
        if (log_level_from_name(value, (enum log_level *)field) < 0) {
            add_error(p, p->line, "%s: expected error, warning, notice, info or debug, got '%s'",
                      name, value);
            return -EINVAL;
        }
        return 0;
    case K_SEVERITY:
        if (severity_from_name(value, (enum severity *)field) < 0) {
            add_error(p, p->line, "%s: expected info, low, medium, high or critical, got '%s'",
                      name, value);
            return -EINVAL;
        }
        return 0;
    case K_DATE: {
        int64_t ms;
        if (time_parse_iso8601(value, &ms) < 0) {
            add_error(p, p->line, "%s: '%s' is not a date (YYYY-MM-DD or ISO 8601)", name, value);
            return -EINVAL;
        }
        *(int64_t *)field = ms;
        return 0;
    }
    case K_ENUM:
    case K_CHOICE:
        for (int i = 0; k->enum_names[i]; i++)
            if (str_eq_ci(value, k->enum_names[i])) {
                if (k->type == K_CHOICE) {
                    if (str_replace((char **)field, k->enum_names[i]) < 0)
                        goto oom;
                } else {
                    *(int *)field = i;
                }
                return 0;
            }
        {
            char *choices = strv_join((char *const *)k->enum_names, ", ");
            add_error(p, p->line, "%s: expected one of %s, got '%s'", name, choices ? choices : "?",
                      value);
            free(choices);
        }
        return -EINVAL;
    case K_SECRET_FILE:
    case K_SECRET_CREDENTIAL: {
        char *secret = NULL;
        char **dst = (char **)field;
        if (*dst) {
            add_error(p, p->line, "%s: the secret is already set by another key of this section",
                      name);
            return -EINVAL;
        }
        r = k->type == K_SECRET_FILE ? read_secret_file(p, name, value, &secret)
                                     : read_credential(p, name, value, &secret);
        if (r < 0)
            return r;
        *dst = secret;
        return 0;
    }
    case K_HEADERS_FILE: {
        char **headers = NULL;
        r = read_headers_file(p, name, value, &headers);
        if (r < 0)
            return r;
        strv_free(*(char ***)field);
        *(char ***)field = headers;
        return 0;
    }
    case K_INLINE_SECRET:
        add_error(p, p->line,
                  "%s: secrets are not accepted inline; use %s_file = /path or "
                  "%s_credential = NAME (systemd LoadCredential=)",
                  name, name, name);
        return -EINVAL;
    case K_PARAMS: {
        char *entry = str_printf("%s=%s", name, value);
        size_t n = strv_length(p->cfg->baseline_params);
        int *nl;
        if (!entry || strv_consume(&p->cfg->baseline_params, entry) < 0) {
            free(entry);
            goto oom;
        }
        nl = realloc(p->cfg->baseline_param_lines, (n + 1) * sizeof(int));
        if (!nl)
            goto oom;
        nl[n] = p->line;
        p->cfg->baseline_param_lines = nl;
        return 0;
    }
    }
    return 0;
oom:
    p->oom = true;
    return -ENOMEM;
}

static void collector_init(struct config_collector *c, const char *name)
{
    c->enabled = true;
    c->interval_ms = MIN_MS(30);
    for (size_t i = 0; config_collector_defaults[i].name; i++)
        if (str_eq(config_collector_defaults[i].name, name))
            c->interval_ms = config_collector_defaults[i].interval_ms;
    c->jitter_ms = -1;
}

/* Start a new section: find its definition and the struct it fills. */
static void begin_section(struct parser *p, const char *raw)
{
    char kind[64];
    const char *name = NULL;
    const char *space = strchr(raw, ' ');
    size_t klen = space ? (size_t)(space - raw) : strlen(raw);
    struct config *c = p->cfg;
    char *entry;
    int line = p->section_line ? p->section_line : p->line;

    free(p->cur_section);
    p->cur_section = strdup(raw);
    p->seen = strv_free(p->seen);
    p->def = NULL;
    p->target = NULL;
    p->skip_section = true;
    if (!p->cur_section) {
        p->oom = true;
        return;
    }
    for (size_t i = 0; p->sections_seen && p->sections_seen[i]; i++) {
        char *tab = strchr(p->sections_seen[i], '\t');
        if (tab && (size_t)(tab - p->sections_seen[i]) == strlen(raw) &&
            strncmp(p->sections_seen[i], raw, strlen(raw)) == 0) {
            add_error(p, line, "[%s]: duplicate section (first at line %s)", raw, tab + 1);
            return;
        }
    }
    entry = str_printf("%s\t%d", raw, line);
    if (!entry || strv_consume(&p->sections_seen, entry) < 0) {
        free(entry);
        p->oom = true;
        return;
    }
    if (klen >= sizeof(kind)) {
        add_error(p, line, "[%s]: unknown section", raw);
        return;
    }
    memcpy(kind, raw, klen);
    kind[klen] = '\0';
    if (space) {
        name = space + 1;
        while (*name == ' ')
            name++;
    }
    for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
        if (strcmp(sections[i].name, kind) != 0)
            continue;
        if (sections[i].named && (!name || !*name)) {
            add_error(p, line, "[%s]: this section needs a name, e.g. [%s example]", raw, kind);
            return;
        }
        if (!sections[i].named && name) {
            add_error(p, line, "[%s]: [%s] takes no name", raw, kind);
            return;
        }
        if (name && !valid_name(name)) {
            add_error(p, line, "[%s]: invalid name '%s' (letters, digits, '-', '_' and '.' only)",
                      raw, name);
            return;
        }
        p->def = &sections[i];
        break;
    }
    if (!p->def) {
        add_error(p, line,
                  "[%s]: unknown section (expected plumb, account, collector, state, baseline, "
                  "exception, webhook, syslog, journal, digest, events or aws_config)",
                  raw);
        return;
    }
    switch (p->def->kind) {
    case SEC_PLUMB:
    case SEC_AWS_CONFIG:
    case SEC_BASELINE:
    case SEC_EVENTS: p->target = c; break;
    case SEC_SYSLOG:
        p->target = &c->syslog;
        c->syslog.line = line;
        c->syslog.enabled = true;
        break;
    case SEC_JOURNAL: p->target = &c->journal; break;
    case SEC_ACCOUNT: {
        struct config_account *a = append_item((void **)&c->accounts, &c->n_accounts, sizeof(*a));
        if (!a || !(a->name = strdup(name)))
            goto oom;
        a->line = line;
        p->target = a;
        break;
    }
    case SEC_COLLECTOR: {
        struct config_collector *col;
        bool known = false;
        for (size_t i = 0; config_collector_defaults[i].name; i++)
            known = known || str_eq(config_collector_defaults[i].name, name);
        if (!known) {
            add_error(p, line, "[%s]: unknown collector '%s' (see plumb.conf(5) for the list)", raw,
                      name);
            return;
        }
        col = (struct config_collector *)config_collector(c, name);
        if (!col) {
            col = append_item((void **)&c->collectors, &c->n_collectors, sizeof(*col));
            if (!col || !(col->name = strdup(name)))
                goto oom;
            collector_init(col, name);
        }
        col->line = line;
        p->target = col;
        break;
    }
    case SEC_STATE: {
        struct config_state *s = append_item((void **)&c->states, &c->n_states, sizeof(*s));
        if (!s || !(s->name = strdup(name)))
            goto oom;
        s->line = line;
        s->interval_ms = MIN_MS(5);
        p->target = s;
        break;
    }
    case SEC_EXCEPTION: {
        struct config_exception *e =
            append_item((void **)&c->exceptions, &c->n_exceptions, sizeof(*e));
        if (!e || !(e->name = strdup(name)))
            goto oom;
        e->line = line;
        p->target = e;
        break;
    }
    case SEC_WEBHOOK: {
        struct config_webhook *w = append_item((void **)&c->webhooks, &c->n_webhooks, sizeof(*w));
        if (!w || !(w->name = strdup(name)))
            goto oom;
        w->line = line;
        w->timeout_ms = 10000;
        p->target = w;
        break;
    }
    case SEC_DIGEST: {
        struct config_digest *d = append_item((void **)&c->digests, &c->n_digests, sizeof(*d));
        if (!d || !(d->name = strdup(name)))
            goto oom;
        d->line = line;
        p->target = d;
        break;
    }
    }
    p->skip_section = false;
    return;
oom:
    p->oom = true;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    const struct key_def *k;
    bool append = false;
    char *entry;

    if (p->oom)
        return 0;
    if (!section || !*section) {
        add_error(p, p->line, "%s: key outside of any section (start with [plumb])", name);
        return 1;
    }
    if (!p->cur_section || strcmp(p->cur_section, section) != 0)
        begin_section(p, section);
    if (p->skip_section)
        return 1;
    k = find_key(p->def->keys, name);
    if (!k) {
        add_error(p, p->line, "[%s] %s: unknown key", p->cur_section, name);
        return 1;
    }
    for (size_t i = 0; p->seen && p->seen[i]; i++) {
        char *tab = strchr(p->seen[i], '\t');
        if (tab && (size_t)(tab - p->seen[i]) == strlen(name) &&
            strncmp(p->seen[i], name, strlen(name)) == 0) {
            if (p->line_indented && (k->type == K_LIST || k->type == K_REGIONS)) {
                append = true;
                break;
            }
            if (p->line_indented)
                add_error(p, p->line,
                          "%s: continuation lines (indented) are only allowed for lists; "
                          "do not indent keys",
                          name);
            else
                add_error(p, p->line, "%s: set twice in [%s] (first at line %s)", name,
                          p->cur_section, tab + 1);
            return 1;
        }
    }
    if (!append) {
        entry = str_printf("%s\t%d", name, p->line);
        if (!entry || strv_consume(&p->seen, entry) < 0) {
            free(entry);
            p->oom = true;
            return 0;
        }
    }
    set_value(p, k, name, value, append);
    return 1;
}

static void filter_init(struct config_filter *f)
{
    f->min_severity = SEVERITY_INFO;
}

static int config_new(struct config **ret)
{
    struct config *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->database = strdup(PLUMB_STATEDIR "/plumb.db");
    c->log_level = LOG_LEVEL_INFO;
    c->api_budget_share = 0.5;
    c->max_attempts = 3;
    c->http_timeout_ms = 60000;
    c->max_connections_per_host = 8;
    c->config_mode = strdup("auto");
    c->data_gap_after_ms = HOUR_MS(6);
    c->reminder_ms = 0;
    c->reminder_min_severity = SEVERITY_CRITICAL;
    c->retry_max_age_ms = HOUR_MS(24);
    c->journal.enabled = true;
    filter_init(&c->journal.filter);
    filter_init(&c->syslog.filter);
    if (!c->database || !c->config_mode ||
        strv_push(&c->baseline_paths, PLUMB_DATADIR "/baseline") < 0) {
        config_free(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

static bool loopback_url(const char *url)
{
    const char *host = strstr(url, "://");
    if (!host)
        return false;
    host += 3;
    return str_has_prefix(host, "127.") || str_has_prefix(host, "localhost:") ||
           str_has_prefix(host, "localhost/") || str_eq(host, "localhost") ||
           str_has_prefix(host, "[::1]");
}

static bool valid_account_id(const char *id)
{
    if (!id || strlen(id) != 12)
        return false;
    for (const char *q = id; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    return true;
}

/* Parse "Mon 08:00". */
static bool valid_schedule(const char *s)
{
    static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
    char day[8];
    int h, m, n = 0;
    bool ok = false;
    if (sscanf(s, "%7s %d:%d%n", day, &h, &m, &n) != 3 || s[n] != '\0')
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(days); i++)
        ok = ok || str_eq_ci(day, days[i]) || (strlen(day) > 3 && str_has_prefix(day, days[i]));
    return ok && h >= 0 && h < 24 && m >= 0 && m < 60;
}

static bool valid_timezone(const char *tz)
{
    char *path;
    struct stat st;
    bool ok;
    if (!tz || !*tz || tz[0] == '/' || strstr(tz, ".."))
        return false;
    if (str_eq(tz, "UTC"))
        return true;
    path = str_printf("/usr/share/zoneinfo/%s", tz);
    ok = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return ok;
}

/* Cross-key checks after the whole file is read. */
static void validate(struct parser *p)
{
    struct config *c = p->cfg;

    for (size_t i = 0; i < c->n_accounts; i++) {
        struct config_account *a = &c->accounts[i];
        if (a->id && !valid_account_id(a->id))
            add_error(p, a->line, "[account %s] id: '%s' is not a 12-digit account id", a->name,
                      a->id);
        if (a->role_arn && !str_has_prefix(a->role_arn, "arn:"))
            add_error(p, a->line, "[account %s] role_arn: '%s' is not an ARN", a->name,
                      a->role_arn);
        if (a->role_arn && !a->id) {
            /* arn:aws:iam::123456789012:role/x */
            char **parts = NULL;
            if (strv_split(a->role_arn, ":", &parts) == 0 && strv_length(parts) >= 5 &&
                valid_account_id(parts[3])) {
                if (str_replace(&a->id, parts[3]) < 0)
                    p->oom = true;
            }
            strv_free(parts);
        }
        if (a->external_id && !a->role_arn)
            add_error(p, a->line, "[account %s] external_id: only meaningful with role_arn",
                      a->name);
        if (!a->session_name && !(a->session_name = strdup("plumb")))
            p->oom = true;
        for (size_t j = 0; j < i; j++)
            if (a->id && str_eq(a->id, c->accounts[j].id))
                add_error(p, a->line,
                          "[account %s] id: account %s is already configured as [account %s]",
                          a->name, a->id, c->accounts[j].name);
    }
    for (size_t i = 0; i < c->n_collectors; i++)
        if (c->collectors[i].jitter_ms < 0)
            c->collectors[i].jitter_ms = c->collectors[i].interval_ms / 10;
    for (size_t i = 0; i < c->n_states; i++) {
        struct config_state *s = &c->states[i];
        if (!s->location) {
            add_error(p, s->line,
                      "[state %s] location: missing (a path, glob, s3://, https:// or tfc:// URL)",
                      s->name);
            continue;
        }
        if (str_has_prefix(s->location, "s3://"))
            s->kind = STATE_S3;
        else if (str_has_prefix(s->location, "https://") || str_has_prefix(s->location, "http://"))
            s->kind = STATE_HTTP;
        else if (str_has_prefix(s->location, "tfc://"))
            s->kind = STATE_TFC;
        else if (s->location[0] == '/')
            s->kind = STATE_LOCAL;
        else
            add_error(p, s->line,
                      "[state %s] location: '%s' is neither an absolute path nor an s3://, "
                      "https:// or tfc:// URL",
                      s->name, s->location);
        if (s->kind == STATE_S3 && strlen(s->location) <= 5)
            add_error(p, s->line, "[state %s] location: expected s3://BUCKET/KEY", s->name);
        if (s->kind == STATE_S3 && !strchr(s->location + 5, '/'))
            add_error(p, s->line, "[state %s] location: expected s3://BUCKET/KEY", s->name);
        if (s->kind == STATE_HTTP && str_has_prefix(s->location, "http://") &&
            !loopback_url(s->location))
            add_error(
                p, s->line,
                "[state %s] location: plain http:// is only allowed on loopback; use https://",
                s->name);
        if (s->kind == STATE_TFC && !s->token)
            add_error(p, s->line,
                      "[state %s] token_file: Terraform Cloud needs an API token (token_file or "
                      "token_credential)",
                      s->name);
        if (s->password && !s->username)
            add_error(p, s->line, "[state %s] password_file: set username too", s->name);
        if (s->kind != STATE_S3 && (s->region || s->workspaces || s->workspace_key_prefix))
            add_error(p, s->line, "[state %s] region/workspaces: only for s3:// locations",
                      s->name);
        if (s->account && !valid_account_id(s->account))
            add_error(p, s->line, "[state %s] account: '%s' is not a 12-digit account id", s->name,
                      s->account);
    }
    for (size_t i = 0; i < c->n_exceptions; i++) {
        struct config_exception *e = &c->exceptions[i];
        if (!e->match)
            add_error(p, e->line, "[exception %s] match: missing (e.g. aws_s3_bucket.legacy-logs)",
                      e->name);
        if (!e->reason)
            add_error(p, e->line, "[exception %s] reason: missing (say why this is accepted)",
                      e->name);
        if (!e->owner)
            add_error(p, e->line, "[exception %s] owner: missing (who answers for it)", e->name);
    }
    for (size_t i = 0; i < c->n_webhooks; i++) {
        struct config_webhook *w = &c->webhooks[i];
        if (!w->url)
            add_error(p, w->line, "[webhook %s] url: missing", w->name);
        else if (!str_has_prefix(w->url, "https://") &&
                 !(str_has_prefix(w->url, "http://") && loopback_url(w->url)))
            add_error(p, w->line,
                      "[webhook %s] url: '%s' must be https:// (plain http only on loopback)",
                      w->name, w->url);
        if (!w->secret)
            add_error(p, w->line,
                      "[webhook %s] secret_file: missing (every request is signed; give "
                      "secret_file or secret_credential)",
                      w->name);
        if (w->max_age_ms == 0)
            w->max_age_ms = c->retry_max_age_ms;
        if (w->format == WEBHOOK_PAGERDUTY && !w->routing_key)
            add_error(p, w->line, "[webhook %s] routing_key_file: PagerDuty needs a routing key",
                      w->name);
    }
    if (c->syslog.enabled) {
        const char *t = c->syslog.target ? c->syslog.target : "local";
        if (!str_eq(t, "local") && !str_has_prefix(t, "tcp://") && !str_has_prefix(t, "tls://"))
            add_error(p, c->syslog.line,
                      "[syslog] target: '%s' must be local, tcp://HOST:PORT or tls://HOST:PORT", t);
        if (!c->syslog.target && !(c->syslog.target = strdup("local")))
            p->oom = true;
        if (!c->syslog.facility && !(c->syslog.facility = strdup("daemon")))
            p->oom = true;
        if (!c->syslog.app_name && !(c->syslog.app_name = strdup("plumbd")))
            p->oom = true;
    }
    for (size_t i = 0; i < c->n_digests; i++) {
        struct config_digest *d = &c->digests[i];
        if (!d->schedule && !(d->schedule = strdup("Mon 08:00")))
            p->oom = true;
        else if (d->schedule && !valid_schedule(d->schedule))
            add_error(p, d->line, "[digest %s] schedule: '%s' is not 'Day HH:MM' (e.g. Mon 08:00)",
                      d->name, d->schedule);
        if (!d->timezone && !(d->timezone = strdup("UTC")))
            p->oom = true;
        else if (d->timezone && !valid_timezone(d->timezone))
            add_error(p, d->line,
                      "[digest %s] timezone: unknown time zone '%s' (e.g. Europe/Berlin)", d->name,
                      d->timezone);
        if (!d->smtp_url)
            add_error(p, d->line,
                      "[digest %s] smtp_url: missing (smtp://host:587 or smtps://host:465)",
                      d->name);
        else if (!str_has_prefix(d->smtp_url, "smtp://") &&
                 !str_has_prefix(d->smtp_url, "smtps://"))
            add_error(p, d->line, "[digest %s] smtp_url: '%s' must start with smtp:// or smtps://",
                      d->name, d->smtp_url);
        else if (d->tls == SMTP_TLS_NONE && !loopback_url(d->smtp_url))
            add_error(p, d->line, "[digest %s] tls: 'none' is only allowed for a loopback server",
                      d->name);
        if (d->smtp_url && str_has_prefix(d->smtp_url, "smtps://"))
            d->tls = SMTP_TLS_IMPLICIT;
        if (!d->from)
            add_error(p, d->line, "[digest %s] from: missing", d->name);
        if (!d->to || !d->to[0])
            add_error(p, d->line, "[digest %s] to: missing (one or more addresses)", d->name);
        if (d->password && !d->username)
            add_error(p, d->line, "[digest %s] password_file: set username too", d->name);
    }
}

static int parse(const char *name, const char *text, const struct config_env *env,
                 struct config **ret, struct perr *err, char ***ret_errors)
{
    struct parser p = { 0 };
    struct config *c = NULL;
    int r;

    r = config_new(&c);
    if (r < 0)
        return perr_set(err, r, "out of memory");
    p.name = name;
    p.env = env;
    p.cfg = c;
    p.text = text;
    r = str_replace(&c->path, name);
    if (r < 0)
        goto oom;
    r = ini_parse_stream(reader, &p, handler, &p);
    if (r > 0 && !p.errors)
        add_error(&p, r, "syntax error (expected [section] or key = value)");
    if (!p.oom)
        validate(&p);
    if (p.oom)
        goto oom;
    free(p.cur_section);
    strv_free(p.seen);
    strv_free(p.sections_seen);
    if (p.errors && p.errors[0]) {
        perr_set(err, -EINVAL, "%s", p.errors[0]);
        if (ret_errors)
            *ret_errors = p.errors;
        else
            strv_free(p.errors);
        config_free(c);
        return -EINVAL;
    }
    strv_free(p.errors);
    *ret = c;
    return 0;
oom:
    free(p.cur_section);
    strv_free(p.seen);
    strv_free(p.sections_seen);
    strv_free(p.errors);
    config_free(c);
    return perr_set(err, -ENOMEM, "%s: out of memory", name);
}

int config_load_string(const char *name, const char *text, const struct config_env *env,
                       struct config **ret, struct perr *err, char ***ret_errors)
{
    return parse(name, text, env, ret, err, ret_errors);
}

int config_load(const char *path, const struct config_env *env, struct config **ret,
                struct perr *err, char ***ret_errors)
{
    char *text = NULL;
    int r = read_file(path, CONFIG_MAX, &text, NULL);
    if (r < 0) {
        perr_set(err, r, "%s: cannot read: %s", path, strerror(-r));
        if (ret_errors) {
            *ret_errors = NULL;
            strv_push(ret_errors, err ? err->msg : "cannot read config");
        }
        return r;
    }
    r = parse(path, text, env, ret, err, ret_errors);
    free(text);
    return r;
}

int config_defaults(struct config **ret)
{
    return config_new(ret);
}

static void filter_free(struct config_filter *f)
{
    strv_free(f->kinds);
    strv_free(f->categories);
    strv_free(f->accounts);
    strv_free(f->tags);
}

struct config *config_free(struct config *c)
{
    if (!c)
        return NULL;
    free(c->path);
    free(c->database);
    strv_free(c->regions);
    free(c->endpoint_url);
    free(c->ca_bundle);
    strv_free(c->baseline_paths);
    free(c->driftignore);
    free(c->sts_region);
    free(c->config_mode);
    free(c->aggregator);
    free(c->aggregator_region);
    strv_free(c->baseline_disable);
    strv_free(c->baseline_params);
    free(c->baseline_param_lines);
    for (size_t i = 0; i < c->n_accounts; i++) {
        struct config_account *a = &c->accounts[i];
        free(a->name);
        free(a->id);
        free(a->role_arn);
        free(a->external_id);
        free(a->session_name);
        free(a->profile);
        strv_free(a->regions);
    }
    free(c->accounts);
    for (size_t i = 0; i < c->n_collectors; i++)
        free(c->collectors[i].name);
    free(c->collectors);
    for (size_t i = 0; i < c->n_states; i++) {
        struct config_state *s = &c->states[i];
        free(s->name);
        free(s->location);
        free(s->region);
        free(s->workspace_key_prefix);
        strv_free(s->workspaces);
        free(s->account);
        free(s->profile);
        for (size_t j = 0; s->headers && s->headers[j]; j++)
            explicit_bzero(s->headers[j], strlen(s->headers[j]));
        strv_free(s->headers);
        free(s->username);
        str_free_secret(s->password);
        str_free_secret(s->token);
    }
    free(c->states);
    for (size_t i = 0; i < c->n_exceptions; i++) {
        free(c->exceptions[i].name);
        free(c->exceptions[i].match);
        free(c->exceptions[i].reason);
        free(c->exceptions[i].owner);
    }
    free(c->exceptions);
    for (size_t i = 0; i < c->n_webhooks; i++) {
        struct config_webhook *w = &c->webhooks[i];
        free(w->name);
        free(w->url);
        str_free_secret(w->secret);
        str_free_secret(w->routing_key);
        free(w->ca_bundle);
        filter_free(&w->filter);
    }
    free(c->webhooks);
    for (size_t i = 0; i < c->n_digests; i++) {
        struct config_digest *d = &c->digests[i];
        free(d->name);
        free(d->schedule);
        free(d->timezone);
        free(d->smtp_url);
        free(d->from);
        strv_free(d->to);
        free(d->username);
        str_free_secret(d->password);
        free(d->list_id);
        free(d->ca_bundle);
        strv_free(d->accounts);
        strv_free(d->tags);
    }
    free(c->digests);
    free(c->syslog.target);
    free(c->syslog.facility);
    free(c->syslog.app_name);
    free(c->syslog.ca_bundle);
    filter_free(&c->syslog.filter);
    filter_free(&c->journal.filter);
    free(c);
    return NULL;
}

const struct config_collector *config_collector(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->n_collectors; i++)
        if (str_eq(c->collectors[i].name, name))
            return &c->collectors[i];
    return NULL;
}

bool config_reloadable(const struct config *old, const struct config *new_config, struct perr *err)
{
    if (!str_eq(old->database, new_config->database)) {
        perr_set(err, -EINVAL, "database: changing the database path needs a restart");
        return false;
    }
    return true;
}
