/* client_internal: what the files of libhpoclient share: the client struct, one request with its
 * retries (transport.c), and small helpers to build paths and decode answers. Not installed. */
#ifndef HPO_CLIENT_INTERNAL_H
#define HPO_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>

#include "hpo_buf.h"
#include "hpo_client.h"
#include "hpo_rng.h"
#include "hpo_sha256.h"

#define HPOC_INTERNAL __attribute__((visibility("hidden")))

/* Idle curl handles kept for reuse (each keeps its connection alive); more are made on demand
 * and cleaned up when returned to a full pool. */
#define HPOC_POOL_MAX 64
/* The largest JSON answer taken into memory (a page of 1000 trials is far below). */
#define HPOC_ANSWER_MAX ((size_t)64 << 20)
/* Uploads from this size on ask "Expect: 100-continue" before sending the body */
#define HPOC_EXPECT_MIN ((int64_t)1 << 20)
/* The longest Retry-After honoured, so a confused server cannot park a client for hours. */
#define HPOC_RETRY_AFTER_MAX_MS 300000L

struct hpo_client {
    char *server;   /* base URL without a trailing '/' (owned) */
    char *worker;   /* owned, may be NULL */
    char *auth;     /* "Authorization: Bearer <token>" (owned, wiped when freed), or NULL */
    char *ca_file;  /* owned, or NULL for the system's CAs */
    long timeout_ms;
    int max_retries;
    long backoff_initial_ms, backoff_max_ms;
    pthread_mutex_t lock; /* guards pool and rng */
    CURL *pool[HPOC_POOL_MAX];
    size_t n_pool;
    hpo_rng rng;    /* backoff jitter */
};

/* How far a request may be retried after a transport failure: a request that is not idempotent
 * (enqueue, create without load_if_exists, delete) only when it surely did not reach the server. */
typedef enum { HPOC_RETRY_ALL = 0, HPOC_RETRY_CONNECT = 1 } hpoc_retry;

typedef struct {
    const char *method;   /* "GET", "POST", "PUT", "DELETE", ... */
    const char *path;     /* already escaped, starting with '/' */
    const json_t *body;   /* JSON body or NULL (borrowed) */
    hpoc_retry retry;
    FILE *upload;         /* PUT the file's bytes (from its start, again on every retry) */
    int64_t upload_size;
    FILE *download;       /* a 2xx answer's body goes here (truncated on every retry) */
    hpo_sha256 *download_sha; /* with download: the SHA-256 of what went to the file (or NULL) */
} hpoc_req;

typedef struct {
    long status;
    hpo_buf body;         /* the answer's body when not downloaded (owned) */
    int retry_after_s;    /* the answer's Retry-After, -1 when none */
    char etag[80];        /* the answer's ETag without quotes, "" when none */
    bool sent_token;      /* the request carried a token (a 401 says more when it did not) */
} hpoc_resp;

/* One request with the retries of the header. HPO_OK when an HTTP answer came (any status, a 503
 * after the last retry included); HPO_E_UNAVAILABLE when the server could not be reached after
 * the retries; other codes for local failures. rs is filled in any case; free with
 * hpoc_resp_free. */
HPOC_INTERNAL hpo_rc hpoc_perform(hpo_client *c, const hpoc_req *rq, hpoc_resp *rs,
                                  hpo_error *err);
HPOC_INTERNAL void hpoc_resp_free(hpoc_resp *rs);

/* The answer as JSON: *ret a new reference, NULL for an empty body. HPO_E_INTERNAL when the body
 * is not JSON. */
HPOC_INTERNAL hpo_rc hpoc_resp_json(const hpoc_resp *rs, json_t **ret, hpo_error *err);

/* Maps a non-2xx answer to an hpo_rc and fills err with the server's code, message and field. */
HPOC_INTERNAL hpo_rc hpoc_resp_error(const hpoc_resp *rs, hpo_error *err);

/* A JSON call: performs, maps a non-2xx answer to an error, and gives the parsed 2xx answer in
 * *ret_json (may be NULL; NULL for an empty body) and the status in *ret_status (may be NULL). */
HPOC_INTERNAL hpo_rc hpoc_call(hpo_client *c, const char *method, const char *path,
                               const json_t *body, hpoc_retry retry, long *ret_status,
                               json_t **ret_json, hpo_error *err);

/* Path building: an hpo_buf (max 8 KiB) with printf-like appends; %s arguments given through
 * hpoc_path_escape are percent-encoded. */
HPOC_INTERNAL hpo_rc hpoc_path_study(hpo_buf *b, const char *study, hpo_error *err);
HPOC_INTERNAL hpo_rc hpoc_path_trial(hpo_buf *b, const char *study, int64_t number,
                                     hpo_error *err);
HPOC_INTERNAL hpo_rc hpoc_path_escape(hpo_buf *b, const char *s, hpo_error *err);

/* Takes the array under key of an answer object as a new reference (HPO_E_INTERNAL if absent). */
HPOC_INTERNAL hpo_rc hpoc_take_array(json_t *answer, const char *key, json_t **ret,
                                     hpo_error *err);

/* "continue"/"prune"/"pause" of {"action": ...}. */
HPOC_INTERNAL hpo_rc hpoc_parse_action(const json_t *answer, hpo_action *ret, hpo_error *err);

/* An answer (the reference j, taken) as a new trial: number, state, params, resource, resume;
 * study names it when the answer does not. HPO_E_INTERNAL when j is not a trial. */
HPOC_INTERNAL hpo_rc hpoc_trial_of(json_t *j, const char *study, hpo_client_trial **ret,
                                   hpo_error *err);

/* curl's header callback (ud: the hpoc_resp): takes Retry-After (seconds; an HTTP-date gives 1)
 * and ETag (without quotes) of the answer; a status line starts a new answer. */
HPOC_INTERNAL size_t hpoc_on_header(char *p, size_t size, size_t n, void *ud);

/* 32 hex digits of fresh randomness (/dev/urandom; the client's RNG if that fails). buf >= 33. */
HPOC_INTERNAL void hpoc_random_key(hpo_client *c, char *buf, size_t size);

HPOC_INTERNAL hpo_rc hpoc_nomem(hpo_error *err);

/* Whether a token's text can go in a header: printable ASCII without spaces, not empty. */
HPOC_INTERNAL bool hpoc_token_ok(const char *token);

#endif
