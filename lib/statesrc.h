/* Terraform state sources: fetch states, skip unchanged ones, store what
 * they declare.
 *
 * A source is one [state NAME] section of plumb.conf (or one location
 * given to `plumb scan --once --state`).  Polling it fetches its state
 * document(s), parses every changed one with lib/tfstate on the libuv
 * thread pool and replaces the source's rows in the `declared` table in
 * one transaction per document, recording how it went in `state_sources`.
 *
 * Kinds (struct config_state .kind):
 *   local  an absolute path, or a pattern: '*', '?' and '[...]' as in
 *          glob(3) within one path element, and "**" as a whole element
 *          for any number (zero included) of directories.  Hidden entries
 *          are only matched by patterns that start with '.'; "**" does not
 *          descend into hidden directories or follow symbolic links to
 *          directories; at most STATESRC_MAX_FILES files, STATESRC_MAX_DEPTH
 *          levels below a "**".
 *   http   the Terraform http backend: GET the URL with the configured
 *          headers and basic auth, If-None-Match with the stored ETag
 *          (304 = unchanged).
 *   tfc    Terraform Cloud / Enterprise, tfc://[HOST/]ORG/WORKSPACE (HOST
 *          defaults to app.terraform.io): GET /api/v2/organizations/ORG/
 *          workspaces/WORKSPACE, then /api/v2/workspaces/ID/current-state-
 *          version; when the state version id differs from the stored one,
 *          download its hosted-state-download-url.  The bearer token is sent
 *          to the API host only, never to a download URL on another host.
 *          HTTPS, except plain HTTP for loopback hosts (tests).
 *   s3     s3://BUCKET/KEY through struct statesrc_s3_ops (plumb's signed
 *          AWS client provides them): the default workspace at KEY, other
 *          workspaces at PREFIX/WORKSPACE/KEY (PREFIX = workspace_key_prefix,
 *          default "env:"); workspaces = * lists PREFIX/ to find them all.
 *          SSE-KMS objects are decrypted by S3 itself on GetObject.
 *
 * Documents and names.  A source with one document (a plain path, an http
 * or tfc location, an S3 key without extra workspaces) stores it under the
 * source name.  A pattern stores each matching file under
 * "NAME:RELATIVE/PATH" (relative to the pattern's directory without
 * wildcards) and its listing status under NAME; extra S3 workspaces are
 * "NAME:WORKSPACE".  Sources made from a bare location (one-shot scans)
 * name each document by its own path or URL.  When a listing succeeds, the
 * documents that disappeared from it are removed with their rows.
 *
 * Unchanged documents are skipped, cheapest check first: the ETag (http,
 * s3) or state version id (tfc) stored from the last good read; then the
 * SHA-256 of the body; then serial and lineage (a state with the serial and
 * lineage of the stored one is the same state, as Terraform itself
 * assumes).
 *
 * Bad input never loses what is stored: a document that cannot be read,
 * fetched or parsed keeps its previous rows; its state_sources row gets
 * status "error" and a one-line message naming the source and the file or
 * URL (without query string or credentials).  A listing that fails removes
 * nothing.
 *
 * Declared rows.  Every resource instance object (managed and data, deposed
 * objects included with " (deposed KEY)" appended to their address) becomes
 * a row: address, type, id, arn, account, region, mode, attrs (sensitive
 * values masked by lib/tfstate) and sensitive (the masked paths).  id is the
 * live id the type table maps the instance to (typemap_live_id()), else the
 * instance's "id" attribute.  arn is the "arn" attribute, or the "id" when
 * that is an ARN.  The region is the one the type table gives
 * (typemap_declared_region(): "global" for global and account-wide types,
 * the id.region templates, the ARN); else the ARN's; else the "region"
 * attribute (AWS provider v6, S3 buckets); else the one most resources of
 * the same provider configuration in the state show (the provider's
 * default).  The account is the ARN's, else the one most ARNs of the same
 * provider configuration show, else the source's configured account.
 * What cannot be determined stays NULL and the drift
 * engine matches it as "any".
 *
 * Threads: statesrc_poll() and its callback run on the loop thread; parsing
 * runs on the libuv thread pool and SQLite work on the dbq passed in.  A
 * struct statesrc is used by one poll at a time (-EBUSY otherwise).
 * Nothing here logs. */
#ifndef PLUMB_STATESRC_H
#define PLUMB_STATESRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "db.h"
#include "dbq.h"
#include "http.h"
#include "tfstate.h"
#include "util.h"

struct typemap;

#define STATESRC_MAX_FILES      10000 /* files one pattern may match */
#define STATESRC_MAX_DEPTH      32    /* directory levels one "**" descends */
#define STATESRC_MAX_WORKSPACES 1000
/* Cap on API answers (TFC JSON documents); states use TFSTATE_DEFAULT_MAX_SIZE. */
#define STATESRC_MAX_API_BODY ((size_t)4 << 20)

/* ---- S3 access (implemented with plumb's signed AWS client) ------------ */

struct statesrc_s3_object {
    int error;             /* 0, or a negative errno code */
    const char *error_msg; /* "" when error is 0; must not contain secrets */
    bool not_modified;     /* If-None-Match matched: no body */
    char *body;            /* owned by the receiver (free()); NULL when not_modified */
    size_t len;
    const char *etag; /* borrowed, may be NULL */
};
typedef void (*statesrc_s3_get_done)(const struct statesrc_s3_object *obj, void *done_ud);
typedef void (*statesrc_s3_list_done)(int error, const char *error_msg, char *const *keys,
                                      size_t n_keys, void *done_ud);

/* All calls are made on the loop thread.  A call that returns 0 calls its
 * done callback exactly once, later, from the loop (never from inside the
 * call); one that returns < 0 (with err filled) never calls it.  profile
 * and region come from the [state] section (either may be NULL).  body
 * ownership passes to the done callback. */
struct statesrc_s3_ops {
    int (*get_object)(void *userdata, const char *profile, const char *region, const char *bucket,
                      const char *key, const char *if_none_match, size_t max_size,
                      statesrc_s3_get_done done, void *done_ud, struct perr *err);
    /* Every key starting with prefix (all pages). */
    int (*list_keys)(void *userdata, const char *profile, const char *region, const char *bucket,
                     const char *prefix, statesrc_s3_list_done done, void *done_ud,
                     struct perr *err);
};

/* S3 through plumb's AWS client (lib/awsclient.h): pass &statesrc_aws_s3
 * as env->s3 and a struct statesrc_aws as env->s3_userdata.  Credentials
 * for each [state] profile (NULL: the default chain) are set up on first
 * use and kept.  The AWS client's max_body also caps what GetObject can
 * return; the region defaults to us-east-1 (set region = in the [state]
 * section: plumb does not follow S3's redirects). */
struct aws_client;
struct statesrc_aws;
int statesrc_aws_new(struct aws_client *client, struct statesrc_aws **ret, struct perr *err);
struct statesrc_aws *statesrc_aws_free(struct statesrc_aws *a);
extern const struct statesrc_s3_ops statesrc_aws_s3;

/* ---- sources ----------------------------------------------------------- */

struct statesrc;

/* From a [state] section (copied, secrets included: they are wiped on
 * free).  -EINVAL with err for a location the kind cannot use. */
int statesrc_new(const struct config_state *cfg, struct statesrc **ret, struct perr *err);
/* From a bare location (path, pattern, s3://, http(s)://, tfc://), named
 * by that location.  account (default account) and token (the API token
 * for tfc://, required there; copied and wiped on free) may be NULL. */
int statesrc_new_location(const char *location, const char *account, const char *token,
                          struct statesrc **ret, struct perr *err);
/* Must not be polling. NULL is a no-op; returns NULL. */
struct statesrc *statesrc_free(struct statesrc *s);
const char *statesrc_name(const struct statesrc *s);
enum state_kind statesrc_kind(const struct statesrc *s);
int64_t statesrc_interval_ms(const struct statesrc *s);

/* What the environment provides.  Borrowed for the duration of a poll. */
struct statesrc_env {
    uv_loop_t *loop;
    struct dbq *dbq;                  /* the writer queue */
    struct http_client *http;         /* http and tfc sources; may be NULL otherwise */
    const struct typemap *tm;         /* may be NULL: no live-id mapping, no global types */
    const struct statesrc_s3_ops *s3; /* s3 sources; NULL = not available */
    void *s3_userdata;
    size_t max_size; /* per state document; 0 = TFSTATE_DEFAULT_MAX_SIZE */
};

enum statesrc_outcome {
    STATESRC_UPDATED = 0, /* parsed and stored */
    STATESRC_UNCHANGED,   /* skipped (etag, digest, serial + lineage) */
    STATESRC_ERROR,       /* previous rows kept, error recorded */
    STATESRC_REMOVED,     /* no longer listed: rows removed */
};
const char *statesrc_outcome_name(enum statesrc_outcome o);

/* One state document of a poll. */
struct statesrc_doc_result {
    const char *name;     /* state_sources name */
    const char *location; /* path, URL or s3://bucket/key */
    enum statesrc_outcome outcome;
    int error;           /* negative errno for STATESRC_ERROR */
    const char *message; /* "" unless STATESRC_ERROR */
    size_t n_declared;   /* rows stored (UPDATED) */
    uint64_t serial;     /* of the state stored (UPDATED) */
};

struct statesrc_report {
    const char *source; /* the source name */
    /* 0, or the first failure: a listing error, a document error, or
     * -ECANCELED / a database error that stopped the poll. */
    int error;
    const char *message; /* one line, "" when error is 0 */
    const struct statesrc_doc_result *docs;
    size_t n_docs;
};

/* Called once per successful statesrc_poll(), on the loop; the report is
 * valid during the call only. */
typedef void (*statesrc_done_fn)(const struct statesrc_report *rep, void *userdata);

/* Start polling s.  Fails with -EBUSY (a poll is running), -ENOTSUP (an s3
 * source without env->s3, an http/tfc source without env->http) or
 * -ENOMEM, and then never calls done. */
int statesrc_poll(const struct statesrc_env *env, struct statesrc *s, statesrc_done_fn done,
                  void *userdata, struct perr *err);
/* Cancel the HTTP/S3 stage of a running poll; done then reports
 * -ECANCELED after the work already on the thread pool or dbq finished.
 * No-op when idle. */
void statesrc_cancel(struct statesrc *s);
bool statesrc_busy(const struct statesrc *s);

/* ---- one-shot ----------------------------------------------------------- */

struct statesrc_once_options {
    const char *db_path;              /* opened read-write (created and migrated) */
    const struct typemap *tm;         /* may be NULL */
    const char *account;              /* default account for instances without one; may be NULL */
    const char *tfc_token;            /* API token for tfc:// locations; may be NULL */
    const struct statesrc_s3_ops *s3; /* may be NULL: s3:// locations then fail */
    void *s3_userdata;
    const char *ca_bundle;   /* for https; NULL = system default */
    int64_t http_timeout_ms; /* 0 = the HTTP client's default */
};

/* For `plumb scan --once --state LOCATION...`: poll every location once,
 * one after the other, on a private loop, calling report (may be NULL) for
 * each.  Returns 0 when every location was read (changed or not), -EIO
 * when some failed (err names the first; the others are in the reports),
 * or another negative errno when nothing could be done (bad location,
 * database). */
int statesrc_once(const char *const *locations, size_t n_locations,
                  const struct statesrc_once_options *opts, statesrc_done_fn report, void *userdata,
                  struct perr *err);

/* ---- helpers, exposed for tests and the CLI --------------------------------- */

/* Expand a local pattern (see above) into sorted absolute paths (strv).
 * A plain path is returned as is without checking it exists.  -ENOENT
 * when a pattern matches nothing, -E2BIG beyond STATESRC_MAX_FILES,
 * -EINVAL for a relative path or a "**" inside an element. */
int statesrc_expand(const char *pattern, char ***ret, struct perr *err);

/* Build the declared rows of a parsed state as a JSON array of objects
 * {address, type, id, arn, account, region, mode, attrs, sensitive}
 * (attrs an object, sensitive an array; absent fields null).
 * default_account may be NULL; tm may be NULL. */
int statesrc_declared_rows(const struct tfstate *st, const struct typemap *tm,
                           const char *default_account, json_t **ret, struct perr *err);

/* Replace the rows of document `name` (location shown in state_sources)
 * with rows (from statesrc_declared_rows()) and mark it ok, in one
 * transaction. */
struct statesrc_stored {
    const char *location;
    uint64_t serial;
    const char *lineage; /* may be NULL */
    const char *etag;    /* may be NULL */
    const char *digest;  /* hex SHA-256, may be NULL */
};
int statesrc_store(struct db *db, const char *name, const struct statesrc_stored *meta,
                   const json_t *rows, int64_t now_ms, struct perr *err);
/* Remove every state_sources row (and its declared rows) that belongs to
 * none of the sources named in keep (a strv; a source owns NAME and
 * NAME:*), e.g. after a reload dropped a [state] section.  Returns the
 * number of rows removed. */
int statesrc_prune(struct db *db, char *const *keep, struct perr *err);
/* Record a failure for `name` without touching its rows (creating the
 * state_sources row if needed). */
int statesrc_store_error(struct db *db, const char *name, const char *location, const char *msg,
                         int64_t now_ms, struct perr *err);

#endif
