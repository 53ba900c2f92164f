/* bench_http: the libcurl plumbing the benchmark clients share: one keep-alive handle with the JSON
 * and HPO_TOKEN headers, and a request that gives the HTTP status and the answer's body. */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <curl/curl.h>
#include <jansson.h>

#include "hpo_buf.h"

/* The most bytes one answer may hold (a longer one is a transport error, CURLE_WRITE_ERROR). */
#define BENCH_HTTP_MAX_BODY ((size_t)256 << 20)

/* One connection. Not thread-safe: give each thread its own. A zeroed value may be cleared. */
typedef struct {
    CURL *curl;                 /* owned */
    struct curl_slist *headers; /* owned */
    hpo_buf body;               /* the last request's answer (NUL-terminated once anything came) */
    CURLcode err;               /* the last request's transport error; CURLE_OK after an answer */
} bench_http;

/* Makes the handle: Content-Type application/json, no Expect: 100-continue, "Authorization: Bearer
 * $HPO_TOKEN" when HPO_TOKEN is set and not empty, TCP_NODELAY, NOSIGNAL, timeout_s per request.
 * The caller has called curl_global_init. Returns 0, or -1 (h cleared) when libcurl fails. */
int bench_http_init(bench_http *h, long timeout_s);
/* Releases what h holds; h may be zeroed or already cleared. */
void bench_http_clear(bench_http *h);

/* GET url when body is NULL, else POST body (borrowed; a JSON text). Returns the HTTP status, or -1
 * on a transport error (h->err says which); the answer is in h->body. */
long bench_http_request(bench_http *h, const char *url, const char *body);
/* bench_http_request with a JSON body (consumed; NULL: GET). A body that cannot be serialised
 * is -1 with h->err CURLE_OUT_OF_MEMORY. */
long bench_http_request_json(bench_http *h, const char *url, json_t *body);

#endif
