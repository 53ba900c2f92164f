/* transport: one HTTP request over a pooled curl handle, retried on connection failures and 503
 * with exponential backoff and full jitter (Retry-After honoured); bodies in memory or files. */
#include "client_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- the pool ---- */

static CURL *pool_take(hpo_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->n_pool > 0)
        h = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->lock);
    return h ? h : curl_easy_init();
}

static void pool_give(hpo_client *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_pool < HPOC_POOL_MAX) {
        c->pool[c->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- callbacks ---- */

typedef struct {
    CURL *h;
    hpoc_resp *rs;
    FILE *download;
    hpo_sha256 *sha;
    bool decided, to_file;
    hpo_rc sink_rc; /* why the body could not be taken (too large, out of memory, disk) */
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sink *k = ud;
    size_t len = size * n;
    if (!k->decided) {
        /* only a 2xx answer goes to the file: an error's JSON body stays in memory */
        long st = 0;
        curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &st);
        k->to_file = k->download && st >= 200 && st <= 299;
        k->decided = true;
    }
    if (k->to_file) {
        if (fwrite(p, 1, len, k->download) != len) {
            k->sink_rc = HPO_E_INTERNAL;
            return 0;
        }
        if (k->sha)
            hpo_sha256_update(k->sha, p, len);
        return len;
    }
    hpo_rc rc = hpo_buf_append(&k->rs->body, p, len);
    if (rc) {
        k->sink_rc = rc;
        return 0;
    }
    return len;
}

size_t hpoc_on_header(char *p, size_t size, size_t n, void *ud)
{
    hpoc_resp *rs = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        rs->retry_after_s = -1; /* a new answer (after a 100 Continue, say) */
        rs->etag[0] = '\0';
    } else if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        size_t i = 5, o = 0;
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '"'))
            i++;
        while (i < len && p[i] != '"' && p[i] != '\r' && p[i] != '\n' &&
               o + 1 < sizeof rs->etag)
            rs->etag[o++] = p[i++];
        rs->etag[o] = '\0';
    } else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t i = 12;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        long v = 0;
        bool digits = false;
        while (i < len && p[i] >= '0' && p[i] <= '9' && v < 100000) {
            v = v * 10 + (p[i++] - '0');
            digits = true;
        }
        rs->retry_after_s = digits ? (int)v : 1; /* an HTTP-date: wait a little, not forever */
    }
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    FILE *f = ud;
    size_t got = fread(p, 1, size * n, f);
    if (got == 0 && ferror(f))
        return CURL_READFUNC_ABORT;
    return got;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    return fseeko((FILE *)ud, (off_t)offset, origin) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

/* ---- one attempt ---- */

static void set_method(CURL *h, const hpoc_req *rq, const char *body_text)
{
    bool get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
    if (rq->upload) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, rq->upload);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, rq->upload);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->upload_size);
        if (strcmp(rq->method, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (body_text || post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_text ? body_text : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body_text ? strlen(body_text) : 0));
        if (!post)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (get) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
}

static CURLcode attempt(hpo_client *c, CURL *h, const hpoc_req *rq, const char *url,
                        const char *body_text, struct curl_slist *headers, sink *k,
                        char *errbuf)
{
    curl_easy_reset(h); /* keeps the live connection and the DNS cache */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libhpoclient/" HPOC_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hpoc_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, k->rs);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* libcurl's defaults, set all the same: a token must never go to a server not verified */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    if (rq->upload || rq->download) {
        /* a file may take longer than any fixed limit: give up only when it stalls that long */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (c->timeout_ms + 999) / 1000);
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    }
    set_method(h, rq, body_text);
    errbuf[0] = '\0';
    return curl_easy_perform(h);
}

/* ---- retries ---- */

static bool retriable(CURLcode cc, hpoc_retry retry, CURL *h)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return true;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        if (retry == HPOC_RETRY_ALL)
            return true;
        /* not idempotent: only when not a byte of the request went out */
        long sent = 0;
        return curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent == 0;
    default:
        return false;
    }
}

/* Full jitter: uniform in [0, min(max, initial * 2^attempt)]. */
static long backoff_ms(hpo_client *c, int n)
{
    long cap = c->backoff_initial_ms;
    for (int i = 0; i < n && cap < c->backoff_max_ms; i++)
        cap = cap > LONG_MAX / 2 ? LONG_MAX : cap * 2;
    if (cap > c->backoff_max_ms)
        cap = c->backoff_max_ms;
    pthread_mutex_lock(&c->lock);
    long d = (long)hpo_rng_below(&c->rng, (uint64_t)cap + 1);
    pthread_mutex_unlock(&c->lock);
    return d;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static hpo_rc rewind_files(const hpoc_req *rq, hpo_error *err)
{
    if (rq->upload && fseeko(rq->upload, 0, SEEK_SET) != 0)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot rewind the file to upload");
    if (rq->download && (fflush(rq->download) != 0 || ftruncate(fileno(rq->download), 0) != 0 ||
                         fseeko(rq->download, 0, SEEK_SET) != 0))
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot truncate the file to download into");
    return HPO_OK;
}

static hpo_rc curl_failure(CURLcode cc, const sink *k, const hpoc_req *rq, const char *errbuf,
                           int attempts, hpo_error *err)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_WRITE_ERROR && k->sink_rc == HPO_E_TOO_LARGE)
        return hpo_error_set(err, HPO_E_TOO_LARGE, NULL, "%s %s: the answer is over %zu bytes",
                             rq->method, rq->path, HPOC_ANSWER_MAX);
    if (cc == CURLE_WRITE_ERROR && k->sink_rc == HPO_E_NOMEM)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    if (cc == CURLE_WRITE_ERROR)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "%s %s: cannot write the file", rq->method,
                             rq->path);
    switch (cc) {
    case CURLE_OUT_OF_MEMORY:
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return hpo_error_set(err, HPO_E_INVALID, "server", "%s %s: %s", rq->method, rq->path, why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        /* not retried: a certificate does not become trusted by asking again */
        return hpo_error_set(err, HPO_E_UNAVAILABLE, "ca_file",
                             "%s %s: the server's certificate was not verified: %s", rq->method,
                             rq->path, why);
    case CURLE_READ_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "%s %s: cannot read the file to upload",
                             rq->method, rq->path);
    default:
        break;
    }
    return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL, "%s %s: %s (%d attempt%s)", rq->method,
                         rq->path, why, attempts, attempts == 1 ? "" : "s");
}

void hpoc_resp_free(hpoc_resp *rs)
{
    hpo_buf_free(&rs->body);
}

hpo_rc hpoc_perform(hpo_client *c, const hpoc_req *rq, hpoc_resp *rs, hpo_error *err)
{
    memset(rs, 0, sizeof *rs);
    hpo_buf_init(&rs->body, HPOC_ANSWER_MAX);
    rs->retry_after_s = -1;
    if (!c || !rq->method || !rq->path)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "a client, a method and a path are required");
    char *body_text = NULL;
    struct curl_slist *headers = NULL;
    CURL *h = NULL;
    struct curl_slist *tmp;
    char errbuf[CURL_ERROR_SIZE];
    size_t ulen = strlen(c->server) + strlen(rq->path) + 1;
    char *url = malloc(ulen);
    hpo_rc rc = HPO_OK;
    if (!url)
        return hpoc_nomem(err);
    snprintf(url, ulen, "%s%s", c->server, rq->path);
    if (rq->body && !(body_text = json_dumps(rq->body, JSON_COMPACT | JSON_ENCODE_ANY))) {
        rc = hpo_error_set(err, HPO_E_INVALID, NULL, "the body cannot be written as JSON");
        goto out;
    }
    tmp = headers = curl_slist_append(NULL, rq->download ? "Accept: application/octet-stream"
                                                         : "Accept: application/json");
    if (tmp && body_text)
        tmp = curl_slist_append(headers, "Content-Type: application/json");
    if (tmp && rq->upload)
        tmp = curl_slist_append(headers, "Content-Type: application/octet-stream");
    /* A small upload goes with its headers: waiting for '100 Continue' would cost a round trip
     * to save sending a few bytes the server might refuse. */
    if (tmp && rq->upload && rq->upload_size < HPOC_EXPECT_MIN)
        tmp = curl_slist_append(headers, "Expect:");
    if (tmp && c->auth)
        tmp = curl_slist_append(headers, c->auth);
    rs->sent_token = c->auth != NULL;
    if (!tmp || !(h = pool_take(c))) {
        rc = hpoc_nomem(err);
        goto out;
    }
    for (int n = 0;; n++) {
        hpo_buf_reset(&rs->body);
        rs->status = 0;
        rs->retry_after_s = -1;
        rs->etag[0] = '\0';
        if ((rc = rewind_files(rq, err)))
            break;
        if (rq->download_sha)
            hpo_sha256_init(rq->download_sha);
        sink k = {.h = h, .rs = rs, .download = rq->download, .sha = rq->download_sha};
        CURLcode cc = attempt(c, h, rq, url, body_text, headers, &k, errbuf);
        if (cc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
            /* an error status the table calls retriable (503): again after Retry-After */
            if (rs->status >= 400 && hpo_rc_retriable(hpo_rc_of_http_status((int)rs->status)) &&
                n < c->max_retries) {
                long d = rs->retry_after_s > 0 ? rs->retry_after_s * 1000L : backoff_ms(c, n);
                sleep_ms(d < HPOC_RETRY_AFTER_MAX_MS ? d : HPOC_RETRY_AFTER_MAX_MS);
                continue;
            }
            break;
        }
        if (k.sink_rc == HPO_OK && retriable(cc, rq->retry, h) && n < c->max_retries) {
            sleep_ms(backoff_ms(c, n));
            continue;
        }
        rc = curl_failure(cc, &k, rq, errbuf, n + 1, err);
        break;
    }
out:
    if (h)
        pool_give(c, h);
    curl_slist_free_all(headers);
    free(body_text);
    free(url);
    return rc;
}
