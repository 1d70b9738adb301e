#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

/* A request moves QUEUED -> RUNNING -> DONE -> (callback) -> freed, or
 * QUEUED/RUNNING -> DONE directly when cancelled.  DONE calls wait in the
 * client's done list until deliver() hands them to their callback. */
enum call_state {
    CALL_QUEUED,
    CALL_RUNNING,
    CALL_DONE,
    CALL_DELIVERING,
};

struct host_slot {
    char *key; /* scheme://host:port */
    unsigned running;
    unsigned users; /* calls (queued or running) that point here */
    struct host_slot *next;
};

struct call_list {
    struct http_call *head, *tail;
    size_t n;
};

struct http_call {
    struct http_client *client;
    enum call_state state;
    struct http_call *prev, *next; /* in queued, running or done */
    CURL *easy;
    struct curl_slist *req_headers;
    struct host_slot *host;
    char *hostport; /* "host:port", for messages */
    int64_t timeout_ms;
    size_t max_body;

    http_done_cb cb;
    void *userdata;

    struct buf body;
    struct http_header *headers;
    size_t n_headers, cap_headers, header_bytes;
    bool body_too_big, headers_too_big, out_of_memory;

    int error;
    char *error_msg;
    long status;
    char curl_err[CURL_ERROR_SIZE];
};

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    int events; /* what curl asked us to watch */
    struct http_client *client;
    struct sock_ctx *prev, *next;
};

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer; /* CURLMOPT_TIMERFUNCTION */
    uv_timer_t deliver_timer;
    unsigned open_handles; /* uv handles not yet through their close callback */

    int64_t connect_timeout_ms, timeout_ms, low_speed_time_ms;
    long low_speed_limit;
    size_t max_body;
    unsigned max_per_host, max_total;
    char *ca_bundle, *user_agent;

    struct call_list queued, running, done;
    struct host_slot *hosts;
    struct sock_ctx *socks;

    bool closing;   /* http_client_close was called */
    bool torn_down; /* curl is gone, handles are closing */
    http_close_cb close_cb;
    void *close_userdata;
};

static const char empty_body[1] = "";

/* ---- small lists ------------------------------------------------------ */

static void list_push(struct call_list *l, struct http_call *c)
{
    c->prev = l->tail;
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->n++;
}

static void list_remove(struct call_list *l, struct http_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    l->n--;
}

static struct call_list *list_of(struct http_client *cl, struct http_call *c)
{
    switch (c->state) {
    case CALL_QUEUED: return &cl->queued;
    case CALL_RUNNING: return &cl->running;
    case CALL_DONE: return &cl->done;
    case CALL_DELIVERING: break;
    }
    return NULL;
}

/* ---- hosts -------------------------------------------------------------- */

static struct host_slot *host_get(struct http_client *cl, const char *key)
{
    struct host_slot *h;
    for (h = cl->hosts; h; h = h->next)
        if (strcmp(h->key, key) == 0)
            return h;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->key = strdup(key);
    if (!h->key) {
        free(h);
        return NULL;
    }
    h->next = cl->hosts;
    cl->hosts = h;
    return h;
}

/* Drop a call's reference; idle hosts are freed so the table only holds
 * hosts with work. */
static void host_unref(struct http_client *cl, struct host_slot *h)
{
    struct host_slot **pp;
    if (!h || --h->users > 0)
        return;
    for (pp = &cl->hosts; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    free(h->key);
    free(h);
}

/* ---- calls -------------------------------------------------------------- */

static void call_clear_headers(struct http_call *c)
{
    for (size_t i = 0; i < c->n_headers; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    c->n_headers = 0;
    c->header_bytes = 0;
}

static void call_free(struct http_call *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->req_headers);
    host_unref(c->client, c->host);
    free(c->hostport);
    buf_free(&c->body);
    call_clear_headers(c);
    free(c->headers);
    free(c->error_msg);
    free(c);
}

static void call_set_error(struct http_call *c, int code, const char *fmt, ...) PLUMB_PRINTF(3, 4);

static void call_set_error(struct http_call *c, int code, const char *fmt, ...)
{
    va_list ap;
    c->error = code;
    free(c->error_msg);
    va_start(ap, fmt);
    c->error_msg = str_vprintf(fmt, ap);
    va_end(ap);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct http_call *c = userdata;
    size_t n = size * nmemb;
    int r = buf_append(&c->body, ptr, n);
    if (r == -E2BIG) {
        c->body_too_big = true;
        return 0;
    }
    if (r < 0) {
        c->out_of_memory = true;
        return 0;
    }
    return n;
}

static char *dup_trimmed(const char *s, size_t len)
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    return str_ndup(s, len);
}

/* Header lines arrive one at a time, including the status line of every
 * response (1xx, proxy CONNECT answers), so a status line starts over. */
static size_t header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
    struct http_call *c = userdata;
    size_t n = size * nitems;
    const char *colon;

    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        call_clear_headers(c);
        return n;
    }
    if (n <= 2 && (n == 0 || ptr[0] == '\r' || ptr[0] == '\n'))
        return n;
    c->header_bytes += n;
    if (c->header_bytes > HTTP_MAX_HEADER_BYTES) {
        c->headers_too_big = true;
        return 0;
    }
    if ((ptr[0] == ' ' || ptr[0] == '\t') && c->n_headers > 0) {
        /* obs-fold continuation: append to the previous value */
        struct http_header *h = &c->headers[c->n_headers - 1];
        char *more = dup_trimmed(ptr, n);
        char *joined = more ? str_printf("%s %s", h->value, more) : NULL;
        free(more);
        if (!joined) {
            c->out_of_memory = true;
            return 0;
        }
        free(h->value);
        h->value = joined;
        return n;
    }
    colon = memchr(ptr, ':', n);
    if (!colon)
        return n; /* not a header; curl itself rejects real garbage */
    if (c->n_headers >= HTTP_MAX_HEADERS) {
        c->headers_too_big = true;
        return 0;
    }
    if (c->n_headers == c->cap_headers) {
        size_t cap = c->cap_headers ? c->cap_headers * 2 : 16;
        struct http_header *nh = realloc(c->headers, cap * sizeof(*nh));
        if (!nh) {
            c->out_of_memory = true;
            return 0;
        }
        c->headers = nh;
        c->cap_headers = cap;
    }
    {
        struct http_header *h = &c->headers[c->n_headers];
        h->name = dup_trimmed(ptr, (size_t)(colon - ptr));
        h->value = dup_trimmed(colon + 1, n - (size_t)(colon - ptr) - 1);
        if (!h->name || !h->value) {
            free(h->name);
            free(h->value);
            c->out_of_memory = true;
            return 0;
        }
        str_lower(h->name);
        c->n_headers++;
    }
    return n;
}

/* ---- completion --------------------------------------------------------- */

static void deliver_timer_cb(uv_timer_t *t);

static void arm_deliver(struct http_client *cl)
{
    if (!cl->torn_down)
        uv_timer_start(&cl->deliver_timer, deliver_timer_cb, 0, 0);
}

static void translate_timeout(struct http_call *c)
{
    struct http_client *cl = c->client;
    curl_off_t total_us = 0;
    long request_size = 0;
    int64_t limit;

    /* Nothing sent yet means the connection (TCP or TLS) never came up;
     * this also holds for reused connections, unlike the connect times. */
    curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    if (request_size == 0) {
        limit = MIN(cl->connect_timeout_ms, c->timeout_ms);
        call_set_error(c, -ETIMEDOUT, "connecting to %s timed out (limit %lld ms)", c->hostport,
                       (long long)limit);
    } else if (total_us / 1000 + 10 >= c->timeout_ms) {
        call_set_error(c, -ETIMEDOUT, "request to %s timed out (limit %lld ms)", c->hostport,
                       (long long)c->timeout_ms);
    } else {
        call_set_error(c, -ETIMEDOUT, "transfer from %s stalled (below %ld bytes/s for %lld s)",
                       c->hostport, cl->low_speed_limit,
                       (long long)((cl->low_speed_time_ms + 999) / 1000));
    }
}

static int connect_errno(long os_errno)
{
    switch (os_errno) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ECONNRESET:
    case EADDRNOTAVAIL:
    case ETIMEDOUT: return -(int)os_errno;
    default: return -ECONNREFUSED;
    }
}

/* Map a finished transfer's CURLcode to the module's errno codes. */
static void translate_result(struct http_call *c, CURLcode rc)
{
    long os_errno = 0;
    const char *detail = c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc);

    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
    curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &os_errno);

    switch (rc) {
    case CURLE_OK: c->error = 0; break;
    case CURLE_WRITE_ERROR:
        if (c->body_too_big)
            call_set_error(c, -EMSGSIZE, "response body from %s exceeds the %zu-byte limit",
                           c->hostport, c->max_body);
        else if (c->headers_too_big)
            call_set_error(c, -EMSGSIZE, "response headers from %s exceed the limit", c->hostport);
        else if (c->out_of_memory)
            call_set_error(c, -ENOMEM, "out of memory receiving from %s", c->hostport);
        else
            call_set_error(c, -EIO, "request to %s failed: %s", c->hostport, detail);
        break;
    case CURLE_FILESIZE_EXCEEDED:
        call_set_error(c, -EMSGSIZE, "response body from %s exceeds the %zu-byte limit",
                       c->hostport, c->max_body);
        break;
    case CURLE_OPERATION_TIMEDOUT: translate_timeout(c); break;
    case CURLE_COULDNT_CONNECT: {
        int e = connect_errno(os_errno);
        call_set_error(c, e, "cannot connect to %s: %s", c->hostport, strerror(-e));
        break;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        call_set_error(c, -EHOSTUNREACH, "cannot resolve %s: %s", c->hostport, detail);
        break;
    case CURLE_GOT_NOTHING:
        call_set_error(c, -ECONNRESET, "%s closed the connection without a response", c->hostport);
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        if (os_errno == ECONNRESET || os_errno == EPIPE)
            call_set_error(c, -ECONNRESET, "connection to %s reset by peer", c->hostport);
        else if (os_errno == 0)
            call_set_error(c, -EPROTO, "malformed response from %s: %s", c->hostport, detail);
        else
            call_set_error(c, -EIO, "I/O error with %s: %s", c->hostport, strerror((int)os_errno));
        break;
    case CURLE_PARTIAL_FILE:
        call_set_error(c, -EPROTO, "truncated response from %s: %s", c->hostport, detail);
        break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        call_set_error(c, -EPROTO, "malformed response from %s: %s", c->hostport, detail);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        call_set_error(c, -EKEYREJECTED, "TLS certificate of %s did not verify: %s", c->hostport,
                       detail);
        break;
    case CURLE_SSL_CONNECT_ERROR:
        if (os_errno == ECONNRESET || os_errno == EPIPE)
            call_set_error(c, -ECONNRESET, "connection to %s reset by peer", c->hostport);
        else
            call_set_error(c, -EPROTO, "TLS handshake with %s failed: %s", c->hostport, detail);
        break;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
        call_set_error(c, -EKEYREJECTED, "TLS setup for %s failed: %s", c->hostport, detail);
        break;
    case CURLE_OUT_OF_MEMORY:
        call_set_error(c, -ENOMEM, "out of memory talking to %s", c->hostport);
        break;
    default: call_set_error(c, -EIO, "request to %s failed: %s", c->hostport, detail); break;
    }
}

static void pump(struct http_client *cl);

/* Move a call to the done list; a running transfer leaves curl first. */
static void call_finish(struct http_call *c)
{
    struct http_client *cl = c->client;
    list_remove(list_of(cl, c), c);
    if (c->state == CALL_RUNNING) {
        curl_multi_remove_handle(cl->multi, c->easy);
        c->host->running--;
    }
    c->state = CALL_DONE;
    list_push(&cl->done, c);
}

static void check_multi_info(struct http_client *cl)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(cl->multi, &left))) {
        struct http_call *c;
        char *priv = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        c = (struct http_call *)priv;
        if (!c || c->state != CALL_RUNNING)
            continue;
        translate_result(c, msg->data.result);
        call_finish(c);
    }
}

static void deliver(struct http_client *cl);

static void after_curl(struct http_client *cl)
{
    check_multi_info(cl);
    pump(cl);
    deliver(cl);
}

/* ---- curl <-> libuv ----------------------------------------------------- */

static void handle_closed(uv_handle_t *h);

static void sock_close(struct sock_ctx *s)
{
    struct http_client *cl = s->client;
    if (s->prev)
        s->prev->next = s->next;
    else
        cl->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, handle_closed);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct sock_ctx *s = h->data;
    struct http_client *cl = s->client;
    int flags = 0, running;

    if (cl->torn_down)
        return;
    if (status < 0) {
        /* libuv reports POLLERR/POLLHUP as an error and stops the handle.
         * Let curl do the I/O it was waiting for, so it learns the real
         * cause (ECONNRESET, ECONNREFUSED...) instead of a bare "poll
         * error", then watch the socket again if curl still wants it. */
        events = s->events ? s->events : UV_READABLE | UV_WRITABLE;
    }
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(cl->multi, s->fd, flags, &running);
    if (status < 0 && !cl->torn_down && !uv_is_closing((uv_handle_t *)&s->poll))
        uv_poll_start(&s->poll, s->events, poll_cb);
    after_curl(cl);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct http_client *cl = userp;
    struct sock_ctx *s = socketp;
    int events = 0;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(cl->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (cl->torn_down)
        return 0;
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        if (uv_poll_init_socket(cl->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->client = cl;
        s->poll.data = s;
        s->next = cl->socks;
        if (cl->socks)
            cl->socks->prev = s;
        cl->socks = s;
        cl->open_handles++;
        curl_multi_assign(cl->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    s->events = events;
    if (uv_poll_start(&s->poll, events, poll_cb) < 0)
        return -1;
    return 0;
}

static void curl_timer_cb(uv_timer_t *t)
{
    struct http_client *cl = t->data;
    int running;
    if (cl->torn_down)
        return;
    curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    after_curl(cl);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *cl = userp;
    if (cl->torn_down)
        return 0;
    if (timeout_ms < 0) {
        uv_timer_stop(&cl->curl_timer);
        return 0;
    }
    /* Never run curl from inside its own callback: 0 ms becomes 1 ms. */
    uv_timer_start(&cl->curl_timer, curl_timer_cb, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- queue -------------------------------------------------------------- */

static void pump(struct http_client *cl)
{
    struct http_call *c, *next;

    if (cl->closing)
        return;
    for (c = cl->queued.head; c && cl->running.n < cl->max_total; c = next) {
        next = c->next;
        if (c->host->running >= cl->max_per_host)
            continue;
        list_remove(&cl->queued, c);
        if (curl_multi_add_handle(cl->multi, c->easy) != CURLM_OK) {
            call_set_error(c, -ENOMEM, "cannot start request to %s", c->hostport);
            c->state = CALL_DONE;
            list_push(&cl->done, c);
            arm_deliver(cl);
            continue;
        }
        c->state = CALL_RUNNING;
        c->host->running++;
        list_push(&cl->running, c);
    }
}

/* ---- teardown ----------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
    struct http_client *cl;

    if (h->type == UV_POLL) {
        struct sock_ctx *s = h->data;
        cl = s->client;
        free(s);
    } else {
        cl = h->data;
    }
    if (--cl->open_handles > 0)
        return;
    /* Everything is closed: the loop no longer references the client. */
    {
        http_close_cb done = cl->close_cb;
        void *ud = cl->close_userdata;
        free(cl->ca_bundle);
        free(cl->user_agent);
        free(cl);
        curl_global_cleanup();
        if (done)
            done(ud);
    }
}

static void teardown(struct http_client *cl)
{
    cl->torn_down = true;
    if (cl->multi) {
        /* May report CURL_POLL_REMOVE for cached connections, which closes
         * their poll handles through socket_cb. */
        curl_multi_cleanup(cl->multi);
        cl->multi = NULL;
    }
    while (cl->socks)
        sock_close(cl->socks);
    uv_timer_stop(&cl->curl_timer);
    uv_timer_stop(&cl->deliver_timer);
    uv_close((uv_handle_t *)&cl->curl_timer, handle_closed);
    uv_close((uv_handle_t *)&cl->deliver_timer, handle_closed);
}

static void deliver(struct http_client *cl)
{
    struct http_call *c;

    if (cl->torn_down)
        return;
    while ((c = cl->done.head)) {
        struct http_response resp = { 0 };
        list_remove(&cl->done, c);
        c->state = CALL_DELIVERING;
        resp.error = c->error;
        /* Without memory for the message, strerror() still says something. */
        resp.error_msg = c->error_msg ? c->error_msg : c->error ? strerror(-c->error) : "";
        resp.status = c->status;
        resp.headers = c->headers;
        resp.n_headers = c->n_headers;
        resp.body = c->body.data ? c->body.data : (char *)empty_body;
        resp.body_len = c->body.len;
        c->cb(c, &resp, c->userdata);
        if (!resp.body && c->body.data)
            buf_init(&c->body, 0); /* taken: the caller owns the data now */
        call_free(c);
    }
    if (cl->closing && !cl->queued.head && !cl->running.head && !cl->done.head)
        teardown(cl);
}

static void deliver_timer_cb(uv_timer_t *t)
{
    deliver(t->data);
}

/* ---- public API --------------------------------------------------------- */

int http_client_new(uv_loop_t *loop, const struct http_client_options *opts,
                    struct http_client **ret, struct perr *err)
{
    static const struct http_client_options defaults = { 0 };
    struct http_client *cl = NULL;
    int r;

    if (!loop || !ret)
        return perr_set(err, -EINVAL, "http client needs a loop");
    if (!opts)
        opts = &defaults;
    if (opts->connect_timeout_ms < 0 || opts->timeout_ms < 0 || opts->low_speed_time_ms < 0 ||
        opts->low_speed_limit < 0)
        return perr_set(err, -EINVAL, "http client timeouts and limits must not be negative");
    if (opts->ca_bundle && access(opts->ca_bundle, R_OK) < 0) {
        r = -errno;
        return perr_set(err, r, "CA bundle %s: %s", opts->ca_bundle, strerror(-r));
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return perr_set(err, -ENOMEM, "cannot initialise libcurl");

    cl = calloc(1, sizeof(*cl));
    if (!cl) {
        r = -ENOMEM;
        goto fail;
    }
    cl->loop = loop;
    cl->connect_timeout_ms =
        opts->connect_timeout_ms ? opts->connect_timeout_ms : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    cl->timeout_ms = opts->timeout_ms ? opts->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    cl->low_speed_limit =
        opts->low_speed_limit ? opts->low_speed_limit : HTTP_DEFAULT_LOW_SPEED_LIMIT;
    cl->low_speed_time_ms =
        opts->low_speed_time_ms ? opts->low_speed_time_ms : HTTP_DEFAULT_LOW_SPEED_TIME_MS;
    cl->max_body = opts->max_body ? opts->max_body : HTTP_DEFAULT_MAX_BODY;
    cl->max_per_host = opts->max_per_host ? opts->max_per_host : HTTP_DEFAULT_MAX_PER_HOST;
    cl->max_total = opts->max_total ? opts->max_total : HTTP_DEFAULT_MAX_TOTAL;
    cl->user_agent = strdup(opts->user_agent ? opts->user_agent : HTTP_DEFAULT_USER_AGENT);
    if (!cl->user_agent) {
        r = -ENOMEM;
        goto fail;
    }
    if (opts->ca_bundle) {
        cl->ca_bundle = strdup(opts->ca_bundle);
        if (!cl->ca_bundle) {
            r = -ENOMEM;
            goto fail;
        }
    }
    cl->multi = curl_multi_init();
    if (!cl->multi) {
        r = -ENOMEM;
        goto fail;
    }
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    /* The queue above already keeps within these; curl's own limits make
     * sure lingering connections cannot add to them. */
    curl_multi_setopt(cl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cl->max_per_host);
    curl_multi_setopt(cl->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cl->max_total);
    curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, (long)cl->max_total);

    r = uv_timer_init(loop, &cl->curl_timer);
    if (r < 0)
        goto fail;
    cl->curl_timer.data = cl;
    cl->open_handles++;
    r = uv_timer_init(loop, &cl->deliver_timer);
    if (r < 0) {
        /* curl_timer is open, so the client can only be freed from its
         * close callback (with no done callback to run). */
        cl->torn_down = true;
        curl_multi_cleanup(cl->multi);
        cl->multi = NULL;
        uv_close((uv_handle_t *)&cl->curl_timer, handle_closed);
        return perr_set(err, r, "cannot create timer: %s", uv_strerror(r));
    }
    cl->deliver_timer.data = cl;
    cl->open_handles++;
    *ret = cl;
    return 0;

fail:
    if (cl) {
        if (cl->multi)
            curl_multi_cleanup(cl->multi);
        free(cl->ca_bundle);
        free(cl->user_agent);
        free(cl);
    }
    curl_global_cleanup();
    return perr_set(err, r, "cannot create http client: %s", strerror(-r));
}

static bool valid_token(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && !strchr(extra, ch))
            return false;
    }
    return true;
}

/* Append a copy of line; the list is unchanged on failure. */
static int slist_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);
    if (!n)
        return -ENOMEM;
    *list = n;
    return 0;
}

/* Copy the caller's headers into a curl list, checking each line.  Curl's
 * "Name:" means "remove the header", so an empty value is sent as
 * "Name;". */
static int build_headers(const struct http_request *req, struct curl_slist **ret, struct perr *err)
{
    struct curl_slist *list = NULL;
    bool have_ct = false, have_expect = false;
    int r;

    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        const char *line = req->headers[i], *colon = strchr(line, ':'), *v;
        char *copy;
        if (!colon || !valid_token(line, (size_t)(colon - line))) {
            r = perr_set(err, -EINVAL, "request header %zu has no valid name", i + 1);
            goto fail;
        }
        if (strpbrk(line, "\r\n")) {
            r = perr_set(err, -EINVAL, "request header %.*s contains a line break",
                         (int)(colon - line), line);
            goto fail;
        }
        if (strncasecmp(line, "content-type:", 13) == 0)
            have_ct = true;
        if (strncasecmp(line, "expect:", 7) == 0)
            have_expect = true;
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        if (*v == '\0')
            copy = str_printf("%.*s;", (int)(colon - line), line);
        else
            copy = strdup(line);
        r = copy ? slist_add(&list, copy) : -ENOMEM;
        free(copy);
        if (r < 0)
            goto fail;
    }
    r = have_ct ? 0 : slist_add(&list, "Content-Type:");
    if (r == 0 && !have_expect)
        r = slist_add(&list, "Expect:");
    if (r < 0)
        goto fail;
    *ret = list;
    return 0;
fail:
    curl_slist_free_all(list);
    return r;
}

/* Parse the URL into the per-host queue key and the host:port used in
 * messages. */
static int parse_url(const char *url, char **ret_key, char **ret_hostport, struct perr *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    CURLUcode uc;
    int r;

    if (!u)
        return -ENOMEM;
    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        r = perr_set(err, uc == CURLUE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL, "invalid URL: %s",
                     curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        r = perr_set(err, -EINVAL, "invalid URL: no host");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        r = perr_set(err, -EINVAL, "unsupported URL scheme %s (only http and https)", scheme);
        goto out;
    }
    *ret_key = str_printf("%s://%s:%s", scheme, host, port);
    *ret_hostport = str_printf("%s:%s", host, port);
    if (!*ret_key || !*ret_hostport) {
        free(*ret_key);
        free(*ret_hostport);
        *ret_key = *ret_hostport = NULL;
        r = -ENOMEM;
        goto out;
    }
    r = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return r;
}

static int setup_easy(struct http_client *cl, struct http_call *c, const struct http_request *req,
                      const char *method)
{
    CURL *e = curl_easy_init();
    CURLcode rc = CURLE_OK;

    if (!e)
        return -ENOMEM;
    c->easy = e;
#define SET(opt, val)                           \
    do {                                        \
        if (rc == CURLE_OK)                     \
            rc = curl_easy_setopt(e, opt, val); \
    } while (0)
    SET(CURLOPT_PRIVATE, c);
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, c->curl_err);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, c);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, c);
    SET(CURLOPT_HTTPHEADER, c->req_headers);
    SET(CURLOPT_USERAGENT, cl->user_agent);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)MIN(cl->connect_timeout_ms, (int64_t)LONG_MAX));
    SET(CURLOPT_TIMEOUT_MS, (long)MIN(c->timeout_ms, (int64_t)LONG_MAX));
    SET(CURLOPT_LOW_SPEED_LIMIT, cl->low_speed_limit);
    SET(CURLOPT_LOW_SPEED_TIME, (long)((cl->low_speed_time_ms + 999) / 1000));
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MIN(c->max_body, (size_t)INT64_MAX));
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (cl->ca_bundle)
        SET(CURLOPT_CAINFO, cl->ca_bundle);
    SET(CURLOPT_SSL_VERIFYPEER, req->insecure_tls ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, req->insecure_tls ? 0L : 2L);

    if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (req->body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *)req->body : "");
        if (strcmp(method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, method);
    }
#undef SET
    if (rc == CURLE_OUT_OF_MEMORY)
        return -ENOMEM;
    return rc == CURLE_OK ? 0 : -EINVAL;
}

int http_send(struct http_client *client, const struct http_request *req, http_done_cb cb,
              void *userdata, struct http_call **ret_call, struct perr *err)
{
    struct http_call *c = NULL;
    const char *method;
    char *key = NULL;
    int r;

    if (!client || !req || !cb || !req->url)
        return perr_set(err, -EINVAL,
                        "http_send needs a client, a request with a URL and a callback");
    if (client->closing)
        return perr_set(err, -ESHUTDOWN, "http client is closing");
    method = req->method ? req->method : "GET";
    if (!valid_token(method, strlen(method)) || strlen(method) > 32)
        return perr_set(err, -EINVAL, "invalid HTTP method");
    if (strcmp(method, "HEAD") == 0 && req->body_len > 0)
        return perr_set(err, -EINVAL, "a HEAD request cannot carry a body");
    if (req->body_len > 0 && !req->body)
        return perr_set(err, -EINVAL, "request body is NULL but body_len is %zu", req->body_len);
    if (req->timeout_ms < 0)
        return perr_set(err, -EINVAL, "request timeout must not be negative");

    c = calloc(1, sizeof(*c));
    if (!c)
        return perr_set(err, -ENOMEM, "out of memory");
    c->client = client;
    c->cb = cb;
    c->userdata = userdata;
    c->timeout_ms = req->timeout_ms ? req->timeout_ms : client->timeout_ms;
    c->max_body = req->max_body ? req->max_body : client->max_body;
    buf_init(&c->body, c->max_body);

    r = parse_url(req->url, &key, &c->hostport, err);
    if (r < 0)
        goto fail;
    r = build_headers(req, &c->req_headers, err);
    if (r < 0)
        goto fail;
    r = setup_easy(client, c, req, method);
    if (r < 0) {
        perr_set(err, r, "cannot set up request to %s", c->hostport);
        goto fail;
    }
    c->host = host_get(client, key);
    if (!c->host) {
        r = perr_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    c->host->users++;
    free(key);

    c->state = CALL_QUEUED;
    list_push(&client->queued, c);
    pump(client);
    if (ret_call)
        *ret_call = c;
    return 0;

fail:
    free(key);
    call_free(c);
    if (r == -ENOMEM)
        perr_set(err, r, "out of memory");
    return r;
}

void http_cancel(struct http_call *c)
{
    struct http_client *cl;

    if (!c || (c->state != CALL_QUEUED && c->state != CALL_RUNNING))
        return;
    cl = c->client;
    call_set_error(c, -ECANCELED, "request to %s cancelled", c->hostport);
    call_finish(c);
    pump(cl);
    arm_deliver(cl);
}

void http_client_close(struct http_client *cl, http_close_cb done, void *userdata)
{
    if (!cl || cl->closing)
        return;
    cl->closing = true;
    cl->close_cb = done;
    cl->close_userdata = userdata;
    while (cl->queued.head)
        http_cancel(cl->queued.head);
    while (cl->running.head)
        http_cancel(cl->running.head);
    /* deliver() runs the callbacks and then tears the client down. */
    arm_deliver(cl);
}

size_t http_client_pending(const struct http_client *cl)
{
    return cl ? cl->queued.n + cl->running.n + cl->done.n : 0;
}

const char *http_response_header(const struct http_response *resp, const char *name)
{
    if (!resp || !name)
        return NULL;
    for (size_t i = 0; i < resp->n_headers; i++)
        if (str_eq_ci(resp->headers[i].name, name))
            return resp->headers[i].value;
    return NULL;
}

char *http_response_take_body(struct http_response *resp, size_t *ret_len)
{
    char *b;
    if (!resp || !resp->body)
        return NULL;
    if (resp->body == empty_body)
        b = calloc(1, 1);
    else
        b = resp->body;
    if (!b)
        return NULL;
    if (ret_len)
        *ret_len = resp->body_len;
    resp->body = NULL;
    resp->body_len = 0;
    return b;
}
