/* The webhook sink: one HTTPS POST per event, in one of four formats, every
 * request signed.
 *
 * Formats (pure functions of the stored event, sink_webhook_render()):
 *   plumb        the event exactly as stored: plumb's own versioned schema
 *                plumb.event/v1 (application/json)
 *   cloudevents  CloudEvents 1.0 structured mode
 *                (application/cloudevents+json): specversion "1.0", id =
 *                event id, source "urn:plumb:<hostname>", type
 *                "io.plumb.<kind>", subject = resource key (or ARN,
 *                address, dedupe key), time = created_at, datacontenttype
 *                "application/json", data = the event; extension attributes
 *                plumbseverity and plumbdedupekey
 *   slack        incoming-webhook message: `text` fallback plus Block Kit
 *                blocks (header, summary, fields for severity, account,
 *                region, resource, control; the changed attribute paths,
 *                at most SINK_WEBHOOK_SLACK_MAX_CHANGES; a context line);
 *                &, < and > escaped; every text cut to Slack's limits
 *   pagerduty    Events API v2: routing_key, event_action (resolve for
 *                *.resolved and *.restored, trigger otherwise), dedup_key =
 *                the event's dedupe key (or "plumb:sha256:<hex>" of it when
 *                longer than 255 characters) so trigger and resolve pair
 *                up, client "plumb", and for triggers a payload with
 *                summary (<= 1024 characters), source, severity (critical,
 *                error, warning, info), timestamp, component (resource
 *                type), group (account), class (category) and
 *                custom_details (the event)
 * Text is cut at UTF-8 character boundaries; all JSON is produced by
 * jansson, so hostile names and tags cannot leave their strings.
 *
 * Every request carries
 *   Content-Type, User-Agent: plumb/<version>,
 *   X-Plumb-Event-Id and Idempotency-Key: the event id (receivers dedupe on
 *     it: delivery is at-least-once),
 *   X-Plumb-Event-Kind: the kind,
 *   X-Plumb-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 with the sink's
 *     secret over "<t>.<body>">.
 *
 * Outcomes: 2xx delivered; 408, 425, 429, 5xx, other statuses and
 * transport errors retried (Retry-After honoured); any other 4xx rejected
 * (dead letter) with the status and a short excerpt of the body.
 *
 * Each sink owns one lib/http client (its CA bundle, timeout, and at most
 * DISPATCH_WEBHOOK_CONCURRENCY requests in flight). */
#ifndef PLUMB_SINK_WEBHOOK_H
#define PLUMB_SINK_WEBHOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dispatch.h"
#include "http.h"

#define SINK_WEBHOOK_MAX_RESPONSE      (16 * 1024) /* response body read */
#define SINK_WEBHOOK_EXCERPT           200         /* bytes of it in last_error */
#define SINK_WEBHOOK_SLACK_MAX_BODY    (32 * 1024)
#define SINK_WEBHOOK_SLACK_MAX_CHANGES 10
#define SINK_WEBHOOK_PD_SUMMARY_MAX    1024
#define SINK_WEBHOOK_PD_DEDUP_MAX      255
/* custom_details larger than this lose their "changes" list. */
#define SINK_WEBHOOK_PD_DETAILS_MAX (64 * 1024)
/* "t=<20 digits>,v1=<64 hex>" and the NUL. */
#define SINK_WEBHOOK_SIGNATURE_SIZE 96

/* What rendering needs besides the event. */
struct sink_webhook_render {
    enum webhook_format format;
    const char *source;      /* CloudEvents source; NULL = "urn:plumb:<hostname>" */
    const char *hostname;    /* for source defaults; NULL = "localhost" */
    const char *routing_key; /* PagerDuty; required for that format */
};

/* Render ev (its doc, and for the plumb format its stored payload text)
 * into a request body (malloc'd, *ret_len bytes, NUL-terminated) and its
 * content type (static).  -EINVAL with err filled for an event that lacks
 * what the format needs (id, kind) or a PagerDuty sink without routing
 * key; -ENOMEM. */
int sink_webhook_render(const struct sink_webhook_render *r, const struct dispatch_event *ev,
                        char **ret_body, size_t *ret_len, const char **ret_content_type,
                        struct perr *err);

/* PagerDuty mappings (static strings). */
const char *sink_webhook_pd_action(const char *kind);
const char *sink_webhook_pd_severity(const char *severity);

/* "t=<unix_s>,v1=<hex>" into out (SINK_WEBHOOK_SIGNATURE_SIZE bytes). */
int sink_webhook_signature(const void *secret, size_t secret_len, int64_t unix_s, const void *body,
                           size_t body_len, char out[SINK_WEBHOOK_SIGNATURE_SIZE]);

/* Classify a response (see above) into res. */
void sink_webhook_classify(const struct http_response *resp, struct dispatch_result *res);

struct sink_webhook_options {
    const char *hostname; /* NULL = gethostname() */
    const char *source;   /* CloudEvents source override */
    /* The clock of the signature timestamp; NULL = time_now_ms().  It is
     * the receiver's clock that matters, so this is real time even when
     * the dispatcher runs on a simulated one. */
    int64_t (*now_ms)(void *ud);
    void *clock_ud;
};

struct sink_webhook;

/* Create the sink for [webhook NAME] w (copied; the secret and routing key
 * are wiped when the sink is freed).  Fails with -EINVAL for a missing url
 * or secret (err filled) or what http_client_new() reports. */
int sink_webhook_new(uv_loop_t *loop, const struct config_webhook *w,
                     const struct sink_webhook_options *o, struct sink_webhook **ret,
                     struct perr *err);
/* Whether TLS verification is off for this endpoint: the daemon must log
 * it (lib/ does not log). */
bool sink_webhook_insecure_tls(const struct sink_webhook *s);

/* The driver; `sink` is a struct sink_webhook.  close() cancels what is
 * in flight and frees the sink; its closed callback may be NULL. */
extern const struct dispatch_sink_ops sink_webhook_ops;

#endif
