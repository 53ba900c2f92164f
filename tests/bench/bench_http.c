/* bench_http: the benchmark clients' libcurl handle and request (see bench_http.h). */
#include "bench_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CURLOPT_WRITEFUNCTION: appends to the handle's body; 0 (curl stops) past its maximum or OOM. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    hpo_buf *b = userdata;
    size_t n = size * nmemb;
    return hpo_buf_append(b, ptr, n) == HPO_OK ? n : 0;
}

int bench_http_init(bench_http *h, long timeout_s)
{
    memset(h, 0, sizeof *h);
    hpo_buf_init(&h->body, BENCH_HTTP_MAX_BODY);
    h->curl = curl_easy_init();
    if (!h->curl)
        return -1;
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
    if (l) {
        h->headers = l;
        l = curl_slist_append(h->headers, "Expect:");
    }
    /* the server's token, if it wants one (hpo-worker passes its own to the commands it runs) */
    const char *tok = getenv("HPO_TOKEN");
    if (l && tok && *tok) {
        size_t n = strlen("Authorization: Bearer ") + strlen(tok) + 1;
        char *auth = malloc(n);
        l = NULL;
        if (auth) {
            snprintf(auth, n, "Authorization: Bearer %s", tok);
            l = curl_slist_append(h->headers, auth);
            free(auth);
        }
    }
    if (!l) {
        bench_http_clear(h);
        return -1;
    }
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->body);
    curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, timeout_s);
    return 0;
}

void bench_http_clear(bench_http *h)
{
    curl_slist_free_all(h->headers);
    h->headers = NULL;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    h->curl = NULL;
    hpo_buf_free(&h->body);
}

long bench_http_request(bench_http *h, const char *url, const char *body)
{
    hpo_buf_reset(&h->body);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    }
    h->err = curl_easy_perform(h->curl);
    if (h->err != CURLE_OK)
        return -1;
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

long bench_http_request_json(bench_http *h, const char *url, json_t *body)
{
    if (!body)
        return bench_http_request(h, url, NULL);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        hpo_buf_reset(&h->body);
        h->err = CURLE_OUT_OF_MEMORY;
        return -1;
    }
    long status = bench_http_request(h, url, text);
    free(text);
    return status;
}
