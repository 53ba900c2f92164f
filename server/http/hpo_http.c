/* hpo_http: the libmicrohttpd daemon: gathers bodies (capped), parses JSON, routes, answers. */
#include "hpo_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hpo_buf.h"
#include "hpo_clock.h"
#include "hpo_codec.h"
#include "hpo_header_watch.h"
#include "hpo_log.h"
#include "hpo_plots.h"
#include "hpo_routes.h"
#include "hpo_sha256.h"

#define MAX_LONG_POLLS 256 /* waiting at once; more answer at once */

/* A suspended long poll: resumed when its study's version changes or at its deadline. */
typedef struct {
    struct MHD_Connection *c;
    char study[HPO_TOKEN_STUDY_MAX + 1];
    char version[48];
    int64_t deadline_ms;
} long_poll;

struct hpo_http {
    struct MHD_Daemon *daemon;
    hpo_service *svc;
    size_t max_body;
    uint16_t port;
    uint32_t id_prefix;        /* random per process: request ids differ across restarts */
    atomic_uint_fast64_t next_id;
    hpo_header_watch *watch;   /* closes connections slow to send a request head */
    /* long polls (hpo_response.wait_until_ms), woken by the poller thread */
    pthread_mutex_t polls_mu;
    pthread_cond_t polls_cv;   /* a long poll was added, or stop */
    long_poll polls[MAX_LONG_POLLS];
    size_t n_polls;
    pthread_t poller;
    bool poller_running;
    atomic_bool poller_stop;
    /* stopping: requests in flight (first call to answered) finish, new ones get 503 */
    atomic_int in_flight;
    atomic_bool draining;
    int64_t drain_ms;
};

typedef struct {
    hpo_http *h;
    char request_id[32];     /* sent back as X-Request-Id and named in the log */
    const char *method;      /* borrowed from the connection */
    const hpo_route *route;  /* NULL when no route matched */
    char study[HPO_TOKEN_STUDY_MAX + 1]; /* the {study} of the path, "" when none */
    hpo_token_grant grant;   /* what the token grants, when has_grant */
    bool has_grant;
    bool answered;           /* a response is queued already (refused at the headers) */
    int64_t start_ns;        /* when the request's headers were in (monotonic): its latency */
    hpo_buf body;
    /* raw bodies (artifacts) go to a file in the service's tmp folder as they arrive */
    bool raw;
    int fd;             /* -1 when no file is open */
    bool io_error;
    char tmp_path[4096]; /* "" when there is no file */
    hpo_sha256 sha;
    int64_t size;
    int64_t waited_until_ms; /* a long poll's deadline once it waited */
} request_ctx;

/* Every 4xx for authentication and every 5xx, as one JSON line; never with a token in it. */
static void log_answer(struct MHD_Connection *c, const request_ctx *ctx, int status,
                       const json_t *body)
{
    if (status != 401 && status != 403 && status < 500)
        return;
    char addr[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof addr);
    const char *code = json_string_value(json_object_get(json_object_get(body, "error"), "code"));
    json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:o,s:i,s:s,s:s}", "msg", "request refused or failed",
                          "request_id", ctx->request_id, "method",
                          ctx->method ? ctx->method : "", "route",
                          ctx->route ? ctx->route->pattern : "", "study",
                          ctx->study[0] ? json_string(ctx->study) : json_null(), "status", status,
                          "code", code ? code : "", "client", addr);
    if (f && ctx->has_grant)
        json_object_set_new(f, "token_id", json_integer(ctx->grant.id));
    if (f)
        hpo_log_json(status >= 500 ? HPO_LOG_ERROR : HPO_LOG_WARN, f);
    json_decref(f);
}

/* Counts the request's answer into the metrics: when it is handed to the connection, not when
 * the connection reports it sent (libmicrohttpd tells that of a kept-alive connection only on its
 * next event, which may be the next request, seconds later). */
static void count_answer(const request_ctx *ctx, int status)
{
    hpo_metrics_request(hpo_service_metrics(ctx->h->svc),
                        ctx->route ? (int)(ctx->route - hpo_routes) : -1, ctx->method, status,
                        hpo_clock_monotonic_ns() - ctx->start_ns);
}

/* Every answer goes out here: while the server stops, with Connection: close (the client's
 * next request goes to a new connection, which the next server takes). */
static enum MHD_Result queue(struct MHD_Connection *c, request_ctx *ctx, int status,
                             struct MHD_Response *r)
{
    if (atomic_load(&ctx->h->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    count_answer(ctx, status);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, request_ctx *ctx, int status,
                                 json_t *body, int retry_after)
{
    log_answer(c, ctx, status, body);
    ctx->answered = true;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text ? text : (void *)"",
                                                             text ? MHD_RESPMEM_MUST_FREE
                                                                  : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, "X-Request-Id", ctx->request_id);
    if (status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"hpo\"");
    if (retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    return queue(c, ctx, status, r);
}

/* Answers with text already encoded (owned; freed by libmicrohttpd): JSON unless content_type
 * says otherwise. */
static enum MHD_Result send_text(struct MHD_Connection *c, request_ctx *ctx, int status,
                                 char *text, size_t len, const char *content_type)
{
    ctx->answered = true;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type ? content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", ctx->request_id);
    return queue(c, ctx, status, r);
}

/* Suspends c until its study's version changes or the deadline (false: too many wait, or the
 * version changed already: answer now). */
static bool long_poll_add(hpo_http *h, struct MHD_Connection *c, const request_ctx *ctx,
                          const hpo_response *res)
{
    pthread_mutex_lock(&h->polls_mu);
    /* a commit since the handler looked is seen here, or by the poller once this is listed */
    char now[HPO_VERSION_MAX] = "";
    bool room = h->n_polls < MAX_LONG_POLLS && !atomic_load(&h->poller_stop) &&
                hpo_service_study_version(h->svc, ctx->study, now, NULL) == HPO_OK &&
                strcmp(now, res->wait_version) == 0;
    if (room) {
        long_poll *p = &h->polls[h->n_polls++];
        p->c = c;
        snprintf(p->study, sizeof p->study, "%s", ctx->study);
        snprintf(p->version, sizeof p->version, "%s", res->wait_version);
        p->deadline_ms = res->wait_until_ms;
        MHD_suspend_connection(c);
        pthread_cond_signal(&h->polls_cv);
    }
    pthread_mutex_unlock(&h->polls_mu);
    return room;
}

/* Resumes the long polls whose study changed or whose deadline passed (all of them: stopping). */
static void long_polls_wake(hpo_http *h, bool all)
{
    int64_t now = hpo_clock_now_ms();
    pthread_mutex_lock(&h->polls_mu);
    for (size_t i = 0; i < h->n_polls;) {
        long_poll *p = &h->polls[i];
        char version[HPO_VERSION_MAX] = "";
        bool wake = all || now >= p->deadline_ms ||
                    hpo_service_study_version(h->svc, p->study, version, NULL) != HPO_OK ||
                    strcmp(version, p->version) != 0;
        if (!wake) {
            i++;
            continue;
        }
        MHD_resume_connection(p->c);
        *p = h->polls[--h->n_polls];
    }
    pthread_mutex_unlock(&h->polls_mu);
}

/* The poller: while long polls wait, looks again whenever a study commits and at least every
 * 200 ms (deadlines); while none waits, sleeps (commits do not wake it). */
static void *poller_main(void *arg)
{
    hpo_http *h = arg;
    while (!atomic_load(&h->poller_stop)) {
        pthread_mutex_lock(&h->polls_mu);
        while (h->n_polls == 0 && !atomic_load(&h->poller_stop))
            pthread_cond_wait(&h->polls_cv, &h->polls_mu);
        pthread_mutex_unlock(&h->polls_mu);
        uint64_t seen = hpo_service_wait_published(h->svc, 0, 0);
        long_polls_wake(h, false);
        hpo_service_wait_published(h->svc, seen, 200);
        long_polls_wake(h, false);
    }
    return NULL;
}

/* The error err as the answer (status, code and Retry-After from the table of result codes). */
static enum MHD_Result send_hpo_error(struct MHD_Connection *c, request_ctx *ctx,
                                      const hpo_error *err)
{
    hpo_response res = {0};
    hpo_response_error(&res, err);
    enum MHD_Result ok = send_json(c, ctx, res.status, res.body, res.retry_after);
    json_decref(res.body);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, request_ctx *ctx, hpo_rc rc,
                                  const char *message)
{
    hpo_error err;
    hpo_error_set(&err, rc, NULL, "%s", message);
    return send_hpo_error(c, ctx, &err);
}

/* Answers with a file's bytes (MHD reads it and closes the descriptor). */
static enum MHD_Result send_file(struct MHD_Connection *c, request_ctx *ctx,
                                 const hpo_response *res)
{
    int fd = open(res->file_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return send_error(c, ctx, HPO_E_NOT_FOUND, "the artifact's file is missing");
    }
    ctx->answered = true;
    struct MHD_Response *r = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    MHD_add_response_header(r, "X-Request-Id", ctx->request_id);
    if (res->etag[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, res->etag);
    return queue(c, ctx, res->status, r);
}

/* Answers with static bytes (the dashboard's embedded files) and their caching headers. */
static enum MHD_Result send_static(struct MHD_Connection *c, request_ctx *ctx,
                                   const hpo_response *res)
{
    ctx->answered = true;
    struct MHD_Response *r = MHD_create_response_from_buffer(res->n_bytes, (void *)res->bytes,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    MHD_add_response_header(r, "X-Request-Id", ctx->request_id);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (res->etag[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, res->etag);
    if (res->cache_control)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, res->cache_control);
    if (res->csp)
        MHD_add_response_header(r, "Content-Security-Policy", res->csp);
    return queue(c, ctx, res->status, r);
}

/* Checks the request's bearer token against the route's scope and the study of its path; fills
 * ctx->grant. HPO_OK for open routes and with authentication off. */
static hpo_rc authorize(hpo_http *h, struct MHD_Connection *c, request_ctx *ctx,
                        hpo_error *err)
{
    if (!ctx->route || ctx->route->scope == HPO_SCOPE_NONE || !hpo_service_auth_enabled(h->svc))
        return HPO_OK;
    const char *value = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token;
    size_t len;
    if (!value)
        return hpo_error_set(err, HPO_E_UNAUTHENTICATED, NULL,
                             "this needs a token: send 'Authorization: Bearer <token>'");
    if (!hpo_token_from_header(value, &token, &len))
        return hpo_error_set(err, HPO_E_UNAUTHENTICATED, NULL,
                             "the Authorization header must be 'Bearer <token>'");
    hpo_rc rc = hpo_service_authenticate(h->svc, token, len, &ctx->grant, err);
    if (rc != HPO_OK)
        return rc;
    ctx->has_grant = true;
    return hpo_token_permits(&ctx->grant, ctx->route->scope, ctx->study[0] ? ctx->study : NULL,
                             hpo_clock_now_ms(), err);
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    hpo_request *req = cls;
    if (req->n_query == HPO_MAX_QUERY_ARGS)
        return MHD_NO;
    req->query_keys[req->n_query] = key;
    req->query_values[req->n_query] = value ? value : "";
    req->n_query++;
    return MHD_YES;
}

static enum MHD_Result dispatch(hpo_http *h, struct MHD_Connection *c, const char *url,
                                const char *method, request_ctx *ctx)
{
    char sha_hex[65] = "";
    if (ctx->raw) {
        if (ctx->fd >= 0 && close(ctx->fd) != 0)
            ctx->io_error = true;
        ctx->fd = -1;
        if (ctx->io_error || !ctx->tmp_path[0])
            return send_error(c, ctx, HPO_E_UNAVAILABLE, "the server cannot store artifacts now");
        hpo_sha256_final_hex(&ctx->sha, sha_hex);
    }
    hpo_request req = {.method = method, .path = url, .number = -1,
                       .grant = ctx->has_grant ? &ctx->grant : NULL,
                       .waited_until_ms = ctx->waited_until_ms};
    if (ctx->raw) {
        req.upload_path = ctx->tmp_path;
        req.upload_size = ctx->size;
        req.upload_sha256 = sha_hex;
    }
    bool path_known;
    const hpo_route *route = hpo_route_match(method, url, &req, &path_known);
    if (!route) {
        if (path_known)
            return send_error(c, ctx, HPO_E_METHOD, "method not allowed on this path");
        return send_error(c, ctx, HPO_E_NOT_FOUND, "no such route");
    }
    if (!ctx->raw && ctx->body.len > 0) {
        json_error_t jerr;
        req.body = json_loadb(ctx->body.data, ctx->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req.body) {
            char msg[300];
            snprintf(msg, sizeof msg, "malformed JSON: %s (line %d, column %d)", jerr.text,
                     jerr.line, jerr.column);
            return send_error(c, ctx, HPO_E_INVALID, msg);
        }
        if (!json_is_object(req.body)) {
            json_decref(req.body);
            return send_error(c, ctx, HPO_E_INVALID, "the body must be a JSON object");
        }
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &req);
    req.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_IF_NONE_MATCH);
    hpo_response res = {0};
    route->handler(h->svc, &req, &res);
    if (res.wait_until_ms > 0 && res.status == 0) {
        ctx->waited_until_ms = res.wait_until_ms;
        if (long_poll_add(h, c, ctx, &res))
            return MHD_YES; /* answered when resumed: this runs again */
        req.waited_until_ms = res.wait_until_ms = 1; /* too many wait: answer now */
        route->handler(h->svc, &req, &res);
    }
    json_decref(req.body);
    if (ctx->raw) {
        unlink(ctx->tmp_path); /* gone already when the handler kept it */
        ctx->tmp_path[0] = '\0';
    }
    if (res.content_type && res.status)
        return send_static(c, ctx, &res);
    if (res.file_path) {
        enum MHD_Result ok = send_file(c, ctx, &res);
        free(res.file_path);
        json_decref(res.body);
        return ok;
    }
    if (res.text && res.status) {
        json_decref(res.body);
        return send_text(c, ctx, res.status, res.text, res.text_len, res.text_type);
    }
    free(res.text);
    if (res.status == 0) {
        hpo_error err;
        hpo_error_set(&err, HPO_E_INTERNAL, NULL, "the handler gave no answer");
        hpo_response_error(&res, &err);
    }
    enum MHD_Result ok = send_json(c, ctx, res.status, res.body, res.retry_after);
    json_decref(res.body);
    return ok;
}

/* The most bytes the request's body may have: an artifact or a JSON body. */
static uint64_t body_limit(const hpo_http *h, const request_ctx *ctx)
{
    return ctx->raw ? (uint64_t)hpo_service_artifact_max_bytes(h->svc) : (uint64_t)h->max_body;
}

static const char *too_large_message(const hpo_http *h, const request_ctx *ctx, char *buf,
                                     size_t size)
{
    snprintf(buf, size, ctx->raw ? "the artifact is over %llu bytes: --artifact-max-bytes"
                                 : "the request body is over %llu bytes: --max-body-bytes",
             (unsigned long long)body_limit(h, ctx));
    return buf;
}

/* A body found over its limit while it arrives (chunked, so no Content-Length to refuse at the
 * headers). libmicrohttpd 0.9.75 cannot queue a response in the middle of a body, and reading
 * the rest would let a client keep the server reading without end; so the 413 is written on the
 * socket here (plain HTTP only: over TLS the connection just closes) and MHD_NO makes the daemon
 * close the connection at once, without reading another byte. */
static enum MHD_Result refuse_mid_body(const hpo_http *h, struct MHD_Connection *c,
                                       request_ctx *ctx)
{
    const union MHD_ConnectionInfo *tls =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    char msg[160];
    hpo_error err;
    hpo_error_set(&err, HPO_E_TOO_LARGE, NULL, "%s", too_large_message(h, ctx, msg, sizeof msg));
    json_t *j = hpo_error_to_json(&err);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!tls && fd && text) {
        char head[256];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 %d Content Too Large\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n",
                         hpo_rc_http_status(HPO_E_TOO_LARGE), strlen(text), ctx->request_id);
        struct iovec iov[2] = {{head, (size_t)n}, {text, strlen(text)}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        (void)sendmsg(fd->connect_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT); /* best effort */
    }
    free(text);
    json_decref(j);
    count_answer(ctx, hpo_rc_http_status(HPO_E_TOO_LARGE));
    return MHD_NO;
}

/* The header watch's record of connection c (NULL when it is not watched). */
static hpo_watched *watched(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    hpo_http *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = fd ? hpo_header_watch_add(h->watch, fd->connect_fd) : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        hpo_header_watch_remove(h->watch, *socket_context); /* before its socket closes */
        *socket_context = NULL;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    hpo_http *h = cls;
    request_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        hpo_header_watch_head_done(h->watch, watched(c));
        hpo_buf_init(&ctx->body, h->max_body);
        ctx->h = h;
        ctx->start_ns = hpo_clock_monotonic_ns();
        atomic_fetch_add(&h->in_flight, 1);
        ctx->fd = -1;
        ctx->method = method;
        snprintf(ctx->request_id, sizeof ctx->request_id, "%08" PRIx32 "-%" PRIuFAST64,
                 h->id_prefix, atomic_fetch_add(&h->next_id, 1));
        *con_cls = ctx;
        hpo_request probe = {0};
        bool known;
        const hpo_route *route = hpo_route_match(method, url, &probe, &known);
        ctx->route = route;
        if (probe.study)
            snprintf(ctx->study, sizeof ctx->study, "%s", probe.study);
        ctx->raw = route && route->raw_body;
        if (atomic_load(&h->draining)) /* a new request on a kept-alive connection */
            return send_error(c, ctx, HPO_E_UNAVAILABLE, "the server is stopping; retry");
        hpo_error aerr = {0};
        if (authorize(h, c, ctx, &aerr) != HPO_OK)
            return send_hpo_error(c, ctx, &aerr); /* before a byte of the body is read */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > body_limit(h, ctx)) {
            /* answered before the body: libmicrohttpd then closes instead of reading it */
            char msg[160];
            return send_error(c, ctx, HPO_E_TOO_LARGE, too_large_message(h, ctx, msg, sizeof msg));
        }
        const char *tmp = ctx->raw ? hpo_service_artifact_tmp_dir(h->svc) : NULL;
        if (tmp) {
            snprintf(ctx->tmp_path, sizeof ctx->tmp_path, "%s/upload-XXXXXX", tmp);
            ctx->fd = mkstemp(ctx->tmp_path);
            if (ctx->fd < 0)
                ctx->tmp_path[0] = '\0';
            hpo_sha256_init(&ctx->sha);
        }
        return MHD_YES;
    }
    if (ctx->answered) {
        *upload_data_size = 0; /* refused at the headers: the body is not wanted */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (ctx->raw) {
            ctx->size += (int64_t)*upload_data_size;
            if ((uint64_t)ctx->size > body_limit(h, ctx))
                return refuse_mid_body(h, c, ctx);
            if (ctx->fd >= 0 && !ctx->io_error) {
                hpo_sha256_update(&ctx->sha, upload_data, *upload_data_size);
                for (size_t done = 0; done < *upload_data_size;) {
                    ssize_t w = write(ctx->fd, upload_data + done, *upload_data_size - done);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w <= 0) {
                        ctx->io_error = true;
                        break;
                    }
                    done += (size_t)w;
                }
            }
        } else if (hpo_buf_append(&ctx->body, upload_data, *upload_data_size)) {
            return refuse_mid_body(h, c, ctx);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(h, c, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    hpo_http *h = cls;
    hpo_header_watch_answered(h->watch, watched(c)); /* the next request's head is due */
    request_ctx *ctx = *con_cls;
    if (ctx) {
        if (ctx->fd >= 0)
            close(ctx->fd);
        if (ctx->tmp_path[0])
            unlink(ctx->tmp_path); /* an upload cut short */
        hpo_buf_free(&ctx->body);
        free(ctx);
        *con_cls = NULL;
        atomic_fetch_sub(&h->in_flight, 1);
    }
}

/* --max-connections is reachable only with as many descriptors, and some more for PostgreSQL and
 * artifacts: the soft limit is raised toward the hard one when it is lower (best effort). */
static void raise_fd_limit(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* libmicrohttpd's unescaping of the path and the query, but %00 and %2F stay as sent: decoded,
 * a NUL would cut a name short ("/studies/a%00x" would act on study "a", "/tokens/1%00" on
 * token 1) and a '/' would add a path segment; kept, they only make a name that is not valid. */
static size_t unescape_url(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], '\0'};
            char b = (char)strtoul(hex, NULL, 16);
            if (b != '\0' && b != '/') {
                *w++ = b;
                r += 3;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* The route table as the labels requests are counted under. The service's registry takes them
 * once; a second daemon over the same service counts into the same routes. */
static bool declare_routes(hpo_metrics *m)
{
    hpo_metrics_route *routes = malloc(hpo_n_routes * sizeof *routes);
    if (!routes)
        return false;
    for (size_t i = 0; i < hpo_n_routes; i++)
        routes[i] = (hpo_metrics_route){hpo_routes[i].method, hpo_routes[i].pattern};
    hpo_rc rc = hpo_metrics_set_routes(m, routes, hpo_n_routes);
    free(routes);
    return rc == HPO_OK || rc == HPO_E_CONFLICT;
}

hpo_rc hpo_http_start(hpo_service *svc, const hpo_http_config *cfg, hpo_http **ret,
                      hpo_error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
    int gai = getaddrinfo(cfg->host, port, &hints, &ai);
    if (gai)
        return hpo_error_set(err, HPO_E_INVALID, "listen", "cannot resolve '%s': %s", cfg->host,
                             gai_strerror(gai));
    hpo_http *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(ai);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    h->svc = svc;
    if (!declare_routes(hpo_service_metrics(svc))) {
        freeaddrinfo(ai);
        free(h);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    pthread_mutex_init(&h->polls_mu, NULL); /* before the daemon's threads may use them */
    pthread_cond_init(&h->polls_cv, NULL);
    atomic_init(&h->poller_stop, false);
    hpo_limits lim;
    if (cfg->limits)
        lim = *cfg->limits;
    else
        hpo_limits_default(&lim);
    h->max_body = (size_t)lim.body_bytes;
    raise_fd_limit((rlim_t)lim.connections + 256);
    if (getrandom(&h->id_prefix, sizeof h->id_prefix, GRND_NONBLOCK) != sizeof h->id_prefix)
        h->id_prefix = (uint32_t)hpo_clock_now_ms() ^ (uint32_t)getpid();
    atomic_init(&h->next_id, 1);
    atomic_init(&h->in_flight, 0);
    atomic_init(&h->draining, false);
    h->drain_ms = lim.drain_s * 1000;
    /* poll(), not epoll: quiescing an epoll daemon with a thread pool races in libmicrohttpd
     * (MHD_quiesce_daemon and a pool thread both take the listening socket out of the thread's
     * epoll set, and whichever comes second aborts the process: "Failed to remove listen FD from
     * epoll set", seen at stops under ThreadSanitizer). With poll() the stop only signals the
     * threads, which leave the socket out of their next poll. Each thread polls its own share of
     * the connections, a few dozen at most. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TURBO |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* TLS through libmicrohttpd's GnuTLS: the key and certificate as PEM text */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert},
        {MHD_OPTION_END, 0, NULL},
    };
    bool use_tls = cfg->tls_cert && cfg->tls_key;
    if (use_tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        freeaddrinfo(ai);
        free(h);
        return hpo_error_set(err, HPO_E_INVALID, "tls", "this libmicrohttpd has no TLS support");
    }
    if (use_tls)
        flags |= MHD_USE_TLS;
    hpo_rc wrc = hpo_header_watch_new(lim.header_timeout_s * 1000, &h->watch, err);
    if (wrc != HPO_OK) {
        freeaddrinfo(ai);
        free(h);
        return wrc;
    }
    h->daemon = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : 4,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)lim.idle_timeout_s,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)lim.connections,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                 (unsigned)lim.connections_per_ip,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)lim.header_bytes,
                                 MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
                                 MHD_OPTION_UNESCAPE_CALLBACK, unescape_url, NULL,
                                 MHD_OPTION_ARRAY, use_tls ? tls : &tls[2],
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        hpo_header_watch_free(h->watch);
        free(h);
        return hpo_error_set(err, HPO_E_UNAVAILABLE, "listen", "cannot listen on %s:%u%s",
                             cfg->host, (unsigned)cfg->port,
                             use_tls ? " (or the TLS certificate and key are not a valid PEM pair)"
                                     : "");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : cfg->port;
    if (pthread_create(&h->poller, NULL, poller_main, h) != 0) {
        hpo_http_stop(h);
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot start the long-poll thread");
    }
    h->poller_running = true;
    *ret = h;
    return HPO_OK;
}

uint16_t hpo_http_port(const hpo_http *h)
{
    return h->port;
}

void hpo_http_stop(hpo_http *h)
{
    if (!h)
        return;
    /* No new connection: the listening socket stops listening now (shutdown unlistens it on
     * Linux), so a client is refused at once (and tries again, or another server) instead of
     * waiting in the backlog. It is closed only after the daemon stops: libmicrohttpd's threads
     * may still look at it until then. */
    MHD_socket listening = MHD_quiesce_daemon(h->daemon);
    if (listening != MHD_INVALID_SOCKET)
        shutdown(listening, SHUT_RDWR);
    atomic_store(&h->draining, true);
    /* waiting long polls answer now, with what they have; suspended connections must be resumed
     * before the daemon stops */
    atomic_store(&h->poller_stop, true);
    pthread_mutex_lock(&h->polls_mu);
    pthread_cond_signal(&h->polls_cv);
    pthread_mutex_unlock(&h->polls_mu);
    if (h->poller_running)
        pthread_join(h->poller, NULL);
    long_polls_wake(h, true);
    /* the requests in flight finish, their commits with them, for up to drain_ms */
    int64_t until = hpo_clock_now_ms() + h->drain_ms;
    while (atomic_load(&h->in_flight) > 0 && hpo_clock_now_ms() < until)
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 5000000L}, NULL);
    int left = atomic_load(&h->in_flight);
    if (left > 0)
        hpo_log(HPO_LOG_WARN, "stopping: %d request(s) still in flight after %lld ms are cut",
                left, (long long)h->drain_ms);
    MHD_stop_daemon(h->daemon);
    if (listening != MHD_INVALID_SOCKET)
        close(listening);
    pthread_cond_destroy(&h->polls_cv);
    pthread_mutex_destroy(&h->polls_mu);
    hpo_header_watch_free(h->watch);
    free(h);
}
