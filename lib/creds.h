/* AWS credentials: the standard provider chain resolved into a plan, the
 * parsers for the network providers' answers, and the refresh policy.
 *
 * This module does no network I/O.  creds_resolve() reads the
 * environment (an injected snapshot, never getenv()) and the shared config
 * and credentials files, and returns either static credentials or a plan
 * naming the network step that yields them (STS AssumeRoleWithWebIdentity,
 * the container endpoint, IMDSv2) followed by zero or more STS AssumeRole
 * steps.  A later module executes the plan over HTTP; what each step needs
 * is documented at the step's struct below.
 *
 * The chain, in botocore's order:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      [+ AWS_SESSION_TOKEN, or the older AWS_SECURITY_TOKEN]
 *      [+ AWS_CREDENTIAL_EXPIRATION], skipped when the caller names a
 *      profile explicitly (as an SDK's profile argument does);
 *   2. the profile (creds_options.profile, else AWS_PROFILE, else botocore's
 *      legacy AWS_DEFAULT_PROFILE, else "default") with role_arn and
 *      source_profile
 *      or credential_source (Environment, Ec2InstanceMetadata,
 *      EcsContainer): AssumeRole on top of the source, chains followed,
 *      loops refused;
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN /
 *      AWS_ROLE_SESSION_NAME, each overriding the profile's
 *      web_identity_token_file / role_arn / role_session_name (the
 *      variables are ignored when the caller names a profile explicitly);
 *   4. the profile's keys in the credentials file, then in the config file
 *      (profiles using IAM Identity Center or credential_process are
 *      refused with -ENOTSUP rather than skipped);
 *   5. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, else
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI, with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *   6. IMDSv2, unless AWS_EC2_METADATA_DISABLED=true.
 *
 * Files: AWS_CONFIG_FILE (default ~/.aws/config; sections [default] and
 * [profile NAME]) and AWS_SHARED_CREDENTIALS_FILE (default
 * ~/.aws/credentials; sections [NAME]); "~/" uses HOME from the snapshot.
 * A missing file is an empty file.  Keys are case-insensitive; the
 * credentials file wins over the config file for the same key.  Errors
 * name file:line.
 *
 * Secrets (secret keys, session tokens, the container authorization token)
 * never appear in error messages or descriptions, and are wiped when
 * freed. */
#ifndef PLUMB_CREDS_H
#define PLUMB_CREDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Shared files larger than this are refused. */
#define CREDS_MAX_FILE (1024 * 1024)
/* Credential documents (IMDS, container) larger than this are refused; the
 * HTTP layer should cap the body at the same size. */
#define CREDS_MAX_DOCUMENT (64 * 1024)
/* Token files (web identity JWT, container authorization token). */
#define CREDS_MAX_TOKEN_FILE (64 * 1024)
/* Profiles chained through source_profile. */
#define CREDS_MAX_CHAIN 16

/* The IMDSv2 and container defaults. */
#define CREDS_IMDS_ENDPOINT_IPV4  "http://169.254.169.254"
#define CREDS_IMDS_ENDPOINT_IPV6  "http://[fd00:ec2::254]"
#define CREDS_CONTAINER_HOST      "http://169.254.170.2"
#define CREDS_IMDS_TOKEN_TTL_S    21600
#define CREDS_DEFAULT_ROLE_PREFIX "plumb-"

struct aws_credentials {
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret; NULL when none */
    int64_t expiration_ms;   /* Unix ms; 0 when they do not expire */
    /* Where they came from, for logs and `plumb doctor`: "env",
     * "profile:ci (shared credentials file)", "container", "imds",
     * "profile:prod (assume role arn:...)", "web identity"... */
    char *source;
};

/* Copy the strings into a new object.  token may be NULL or "" (none).
 * Returns 0, -EINVAL (empty key id or secret) or -ENOMEM. */
int aws_credentials_new(const char *access_key_id, const char *secret_access_key,
                        const char *session_token, int64_t expiration_ms, const char *source,
                        struct aws_credentials **ret);
/* Deep copy, NULL on OOM. */
struct aws_credentials *aws_credentials_copy(const struct aws_credentials *c);
/* Wipe the secrets and free; NULL is fine.  Returns NULL. */
struct aws_credentials *aws_credentials_free(struct aws_credentials *c);

/* ---- the plan ---- */

enum creds_source {
    /* plan->creds holds the credentials. */
    CREDS_SOURCE_STATIC,
    /* STS AssumeRoleWithWebIdentity (unsigned request): read the token
     * from web_identity.token_file with creds_read_token_file() on every
     * call (it is rotated), send RoleArn, RoleSessionName and
     * WebIdentityToken; turn the response's Credentials member into
     * credentials with creds_from_sts(). */
    CREDS_SOURCE_WEB_IDENTITY,
    /* GET container.url with "Authorization: <token>" when a token is
     * configured (token_file, read on every call, wins over token); parse
     * the body with creds_parse_document(). */
    CREDS_SOURCE_CONTAINER,
    /* IMDSv2: PUT <endpoint>/latest/api/token with
     * "X-aws-ec2-metadata-token-ttl-seconds: CREDS_IMDS_TOKEN_TTL_S"; then
     * with "X-aws-ec2-metadata-token: <token>" GET
     * <endpoint>/latest/meta-data/iam/security-credentials/ (the role
     * name, first line) and .../security-credentials/<role>; parse that
     * with creds_parse_document(). */
    CREDS_SOURCE_IMDS,
};

struct creds_web_identity {
    char *role_arn;
    char *session_name;
    char *token_file;
};

struct creds_container {
    char *url;        /* full URL to GET */
    char *token;      /* secret: Authorization value, or NULL */
    char *token_file; /* or NULL; wins over token */
};

struct creds_imds {
    char *endpoint; /* "http://169.254.169.254", no trailing slash */
};

/* STS AssumeRole, signed with the credentials of the previous step:
 * RoleArn, RoleSessionName, and ExternalId / DurationSeconds when set;
 * the response's Credentials member goes through creds_from_sts(). */
struct creds_assume_role {
    char *role_arn;
    char *session_name;
    char *external_id;  /* NULL when not configured */
    int32_t duration_s; /* 0: the STS default (3600) */
    char *profile;      /* the profile that configures this role */
};

struct creds_plan {
    enum creds_source source;
    struct aws_credentials *creds; /* CREDS_SOURCE_STATIC only */
    struct creds_web_identity web_identity;
    struct creds_container container;
    struct creds_imds imds;
    /* AssumeRole steps, executed in this order after the source. */
    struct creds_assume_role *roles;
    size_t n_roles;
    /* Region for the STS calls: AWS_REGION, else AWS_DEFAULT_REGION, else
     * the profile's region; NULL when none is known (use us-east-1). */
    char *region;
    /* The profile the chain was read from; NULL when the environment,
     * container or instance answered without one. */
    char *profile;
    /* Label for the final credentials (aws_credentials.source). */
    char *label;
    /* One line for `plumb doctor`: every step, no secrets. */
    char *description;
};

struct creds_options {
    /* Environment snapshot ("NAME=value", NULL-terminated, like environ);
     * NULL is an empty environment. */
    char *const *envp;
    /* An explicit profile (plumb's configuration); NULL to use
     * AWS_PROFILE.  An explicit profile disables the environment keys. */
    const char *profile;
    /* Used for default role session names ("plumb-<unix seconds>"). */
    int64_t now_ms;
};

/* Resolve the chain.  Returns 0 with a plan, or -ENOENT (no credentials
 * anywhere, or a named profile / source_profile that does not exist),
 * -EINVAL (malformed file or settings, partial credentials, loops), -EIO /
 * -EACCES / -EFBIG (a file that cannot be read), -ENOTSUP (IAM Identity
 * Center, credential_process, MFA) or -ENOMEM; err says what and where.
 * *ret is untouched on failure. */
int creds_resolve(const struct creds_options *o, struct creds_plan **ret, struct perr *err);
/* Free a plan (wiping secrets); NULL is fine.  Returns NULL. */
struct creds_plan *creds_plan_free(struct creds_plan *p);

/* ---- parsers for the network steps ---- */

/* An IMDS or container credential document: AccessKeyId, SecretAccessKey,
 * Token (optional), Expiration (ISO 8601, optional), and for IMDS Code
 * (must be "Success" when present).  At most CREDS_MAX_DOCUMENT bytes.
 * Returns 0, -EINVAL (malformed; err never quotes the document), -E2BIG
 * or -ENOMEM. */
int creds_parse_document(const char *body, size_t len, const char *source,
                         struct aws_credentials **ret, struct perr *err);

/* The Credentials member of an STS AssumeRole / AssumeRoleWithWebIdentity
 * response as parsed into JSON: AccessKeyId, SecretAccessKey,
 * SessionToken, Expiration (ISO 8601 string).  Same errors. */
int creds_from_sts(const json_t *credentials, const char *source, struct aws_credentials **ret,
                   struct perr *err);

/* Read a token file (web identity token, container authorization token):
 * surrounding whitespace trimmed, must be non-empty, no control
 * characters (it ends up in an HTTP header or form), at most
 * CREDS_MAX_TOKEN_FILE bytes.  The result is a secret: free it with
 * str_free_secret().  Returns 0, -EINVAL, -EFBIG, -ENOMEM or the file's
 * errno; err names the file. */
int creds_read_token_file(const char *path, char **ret, struct perr *err);

/* ---- refresh policy ---- */

/* Refresh between CREDS_REFRESH_MIN_MS and CREDS_REFRESH_MIN_MS +
 * CREDS_REFRESH_JITTER_MS before expiry (random spreads the fleet),
 * CREDS_USABLE_MARGIN_MS being the point where they are no longer used. */
#define CREDS_REFRESH_MIN_MS    (5 * 60 * 1000)
#define CREDS_REFRESH_JITTER_MS (10 * 60 * 1000)
#define CREDS_USABLE_MARGIN_MS  (60 * 1000)

/* When to fetch new credentials: INT64_MAX for credentials that do not
 * expire, else expiration - 5 min - random * 10 min / UINT32_MAX, but not
 * before now. */
int64_t creds_refresh_at(int64_t expiration_ms, int64_t now_ms, uint32_t random);
/* Whether credentials may still sign a request at now (more than a minute
 * before expiry, or no expiry). */
bool creds_usable(const struct aws_credentials *c, int64_t now_ms);

#endif
