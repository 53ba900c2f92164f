/* hpo_http: the libmicrohttpd daemon: gathers bodies (capped), parses JSON, routes, answers. */
#include "hpo_http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpo_buf.h"
#include "hpo_codec.h"
#include "hpo_routes.h"
#include "hpo_sha256.h"

struct hpo_http {
    struct MHD_Daemon *daemon;
    hpo_service *svc;
    size_t max_body;
    uint16_t port;
};

typedef struct {
    hpo_buf body;
    bool too_large;
    /* raw bodies (artifacts) go to a file in the service's tmp folder as they arrive */
    bool raw;
    int fd;             /* -1 when no file is open */
    bool io_error;
    char tmp_path[4096]; /* "" when there is no file */
    hpo_sha256 sha;
    int64_t size;
} request_ctx;

static enum MHD_Result send_json(struct MHD_Connection *c, int status, json_t *body,
                                 int retry_after)
{
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
    if (retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Answers with a file's bytes (MHD reads it and closes the descriptor). */
static enum MHD_Result send_file(struct MHD_Connection *c, const hpo_response *res)
{
    int fd = open(res->file_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", "not_found", "message",
                              "the artifact's file is missing");
        enum MHD_Result ok = send_json(c, 404, j, 0);
        json_decref(j);
        return ok;
    }
    struct MHD_Response *r = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    if (res->etag[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, res->etag);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *code,
                                  const char *message)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    enum MHD_Result ok = send_json(c, status, j, 0);
    json_decref(j);
    return ok;
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
    if (ctx->too_large)
        return send_error(c, 413, "too_large", "the request body is over the size limit");
    char sha_hex[65] = "";
    if (ctx->raw) {
        if (ctx->fd >= 0 && close(ctx->fd) != 0)
            ctx->io_error = true;
        ctx->fd = -1;
        if (ctx->io_error || !ctx->tmp_path[0])
            return send_error(c, 503, "unavailable", "the server cannot store artifacts now");
        hpo_sha256_final_hex(&ctx->sha, sha_hex);
    }
    hpo_request req = {.method = method, .path = url, .number = -1};
    if (ctx->raw) {
        req.upload_path = ctx->tmp_path;
        req.upload_size = ctx->size;
        req.upload_sha256 = sha_hex;
    }
    bool path_known;
    const hpo_route *route = hpo_route_match(method, url, &req, &path_known);
    if (!route) {
        if (path_known)
            return send_error(c, 405, "method_not_allowed", "method not allowed on this path");
        return send_error(c, 404, "not_found", "no such route");
    }
    if (!ctx->raw && ctx->body.len > 0) {
        json_error_t jerr;
        req.body = json_loadb(ctx->body.data, ctx->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req.body) {
            char msg[300];
            snprintf(msg, sizeof msg, "malformed JSON: %s (line %d, column %d)", jerr.text,
                     jerr.line, jerr.column);
            return send_error(c, 400, "invalid_argument", msg);
        }
        if (!json_is_object(req.body)) {
            json_decref(req.body);
            return send_error(c, 400, "invalid_argument", "the body must be a JSON object");
        }
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &req);
    hpo_response res = {0};
    route->handler(h->svc, &req, &res);
    json_decref(req.body);
    if (ctx->raw) {
        unlink(ctx->tmp_path); /* gone already when the handler kept it */
        ctx->tmp_path[0] = '\0';
    }
    if (res.file_path) {
        enum MHD_Result ok = send_file(c, &res);
        free(res.file_path);
        json_decref(res.body);
        return ok;
    }
    if (res.status == 0) {
        res.status = 500;
        res.body = json_pack("{s:{s:s,s:s}}", "error", "code", "internal", "message",
                             "the handler gave no answer");
    }
    enum MHD_Result ok = send_json(c, res.status, res.body, res.retry_after);
    json_decref(res.body);
    return ok;
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
        hpo_buf_init(&ctx->body, h->max_body);
        ctx->fd = -1;
        *con_cls = ctx;
        hpo_request probe = {0};
        bool known;
        const hpo_route *route = hpo_route_match(method, url, &probe, &known);
        ctx->raw = route && route->raw_body;
        uint64_t max = ctx->raw ? (uint64_t)hpo_service_artifact_max_bytes(h->svc) : h->max_body;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > max) {
            ctx->too_large = true;
            return send_error(c, 413, "too_large", "the request body is over the size limit");
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
    if (*upload_data_size > 0) {
        if (ctx->raw) {
            ctx->size += (int64_t)*upload_data_size;
            if (ctx->size > hpo_service_artifact_max_bytes(h->svc))
                ctx->too_large = true;
            if (ctx->fd >= 0 && !ctx->too_large && !ctx->io_error) {
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
        } else if (!ctx->too_large && hpo_buf_append(&ctx->body, upload_data, *upload_data_size)) {
            ctx->too_large = true; /* keep reading and dropping; answer 413 at the end */
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(h, c, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request_ctx *ctx = *con_cls;
    if (ctx) {
        if (ctx->fd >= 0)
            close(ctx->fd);
        if (ctx->tmp_path[0])
            unlink(ctx->tmp_path); /* an upload cut short */
        hpo_buf_free(&ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
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
    h->max_body = cfg->max_body ? cfg->max_body : HPO_HTTP_MAX_BODY;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : 4,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                 MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        free(h);
        return hpo_error_set(err, HPO_E_UNAVAILABLE, "listen", "cannot listen on %s:%u",
                             cfg->host, (unsigned)cfg->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : cfg->port;
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
    MHD_stop_daemon(h->daemon);
    free(h);
}
