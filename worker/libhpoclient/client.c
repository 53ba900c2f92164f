/* client: the hpo_client object (options, the pool of curl handles), the generic request, and
 * the helpers the other files share: paths, answers to errors, idempotency keys. */
#include "client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATH_MAX_BYTES 8192

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

/* curl_global_init is not thread-safe in every libcurl: run it once, whoever comes first. */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

hpo_rc hpoc_nomem(hpo_error *err)
{
    return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
}

hpo_rc hpo_client_new(const hpo_client_options *opts, hpo_client **ret, hpo_error *err)
{
    hpo_error_clear(err);
    if (!opts || !ret)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "options and ret are required");
    const char *s = opts->server;
    if (!s || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
        return hpo_error_set(err, HPO_E_INVALID, "server",
                             "server must be a URL starting with http:// or https://");
    if (opts->timeout_ms < 0 || opts->max_retries < -1 || opts->backoff_initial_ms < 0 ||
        opts->backoff_max_ms < 0)
        return hpo_error_set(err, HPO_E_INVALID, NULL,
                             "timeout and backoff must be >= 0, max_retries >= -1");
    if (opts->token && !hpoc_token_ok(opts->token))
        /* the text itself stays out of the message: it may be a real token with a typo */
        return hpo_error_set(err, HPO_E_INVALID, "token",
                             "the token is empty or holds a space or a control character");
    if (opts->ca_file && access(opts->ca_file, R_OK) != 0)
        return hpo_error_set(err, HPO_E_INVALID, "ca_file", "cannot read the CA file %s: %s",
                             opts->ca_file, strerror(errno));
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "curl_global_init: %s",
                             curl_easy_strerror(global_rc));
    hpo_client *c = calloc(1, sizeof *c);
    if (!c)
        return hpoc_nomem(err);
    pthread_mutex_init(&c->lock, NULL);
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '/')
        len--;
    c->server = strndup(s, len);
    c->worker = hpo_strdup(opts->worker);
    c->ca_file = hpo_strdup(opts->ca_file);
    if (opts->token) {
        static const char prefix[] = "Authorization: Bearer ";
        size_t n = sizeof prefix - 1 + strlen(opts->token) + 1;
        if ((c->auth = malloc(n)) != NULL)
            snprintf(c->auth, n, "%s%s", prefix, opts->token);
    }
    if (!c->server || (opts->worker && !c->worker) || (opts->ca_file && !c->ca_file) ||
        (opts->token && !c->auth)) {
        hpo_client_free(c);
        return hpoc_nomem(err);
    }
    c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 30000;
    c->max_retries = opts->max_retries == 0 ? 8 : opts->max_retries < 0 ? 0 : opts->max_retries;
    c->backoff_initial_ms = opts->backoff_initial_ms ? opts->backoff_initial_ms : 100;
    c->backoff_max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 5000;
    if (c->backoff_max_ms < c->backoff_initial_ms)
        c->backoff_max_ms = c->backoff_initial_ms;
    hpo_rng_seed(&c->rng, hpo_rng_entropy());
    *ret = c;
    return HPO_OK;
}

void hpo_client_free(hpo_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->lock);
    free(c->server);
    free(c->worker);
    free(c->ca_file);
    if (c->auth) /* the token should not outlive the client in freed memory */
        explicit_bzero(c->auth, strlen(c->auth));
    free(c->auth);
    free(c);
}

hpo_rc hpo_client_request(hpo_client *c, const char *method, const char *path, const json_t *body,
                          long *ret_status, json_t **ret_json, hpo_error *err)
{
    hpo_error_clear(err);
    if (!c || !method || !path || path[0] != '/')
        return hpo_error_set(err, HPO_E_INVALID, "path", "method and a path starting with / are required");
    hpoc_req rq = {.method = method, .path = path, .body = body, .retry = HPOC_RETRY_ALL};
    hpoc_resp rs;
    hpo_rc rc = hpoc_perform(c, &rq, &rs, err);
    if (!rc) {
        json_t *j = NULL;
        if (rs.body.len)
            j = json_loadb(rs.body.data, rs.body.len, JSON_DECODE_ANY, NULL); /* text: NULL */
        if (ret_status)
            *ret_status = rs.status;
        if (ret_json)
            *ret_json = j;
        else
            json_decref(j);
    }
    hpoc_resp_free(&rs);
    return rc;
}

/* ---- answers ---- */

hpo_rc hpoc_resp_json(const hpoc_resp *rs, json_t **ret, hpo_error *err)
{
    *ret = NULL;
    if (!rs->body.len)
        return HPO_OK;
    json_error_t jerr;
    json_t *j = json_loadb(rs->body.data, rs->body.len, JSON_DECODE_ANY, &jerr);
    if (!j)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "answer (HTTP %ld) is not JSON: %s",
                             rs->status, jerr.text);
    *ret = j;
    return HPO_OK;
}

/* The answer's rc, from the table of result codes (hpo_error.c): the body's code when the table
 * has it under this status, else what the bare status stands for (409: HPO_E_CONFLICT; a status
 * the table does not name: HPO_E_INTERNAL). */
hpo_rc hpoc_resp_error(const hpoc_resp *rs, hpo_error *err)
{
    hpo_rc rc = hpo_rc_of_http_status((int)rs->status);
    json_t *j = rs->body.len ? json_loadb(rs->body.data, rs->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *message = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    hpo_rc named;
    bool known = code && hpo_rc_parse(code, &named) == HPO_OK &&
                 hpo_rc_http_status(named) == rs->status;
    if (known)
        rc = named;
    if (rc == HPO_OK) /* a success status is no error to read: a caller's bug */
        rc = HPO_E_INTERNAL, known = false;
    if (rc == HPO_E_UNAUTHENTICATED && !rs->sent_token) {
        /* the usual cause by far: say so rather than leave the user to guess */
        hpo_error_set(err, rc, field, "%s (no token was given)",
                      message ? message : "the server wants a token");
        json_decref(j);
        return rc;
    }
    if (rc == HPO_E_INTERNAL && !known)
        /* a status or code the contract does not name (a proxy's 502...): say which */
        hpo_error_set(err, rc, field, "HTTP %ld%s%s%s%s", rs->status, code ? " " : "",
                      code ? code : "", message ? ": " : "", message ? message : "");
    else if (message && *message)
        hpo_error_set(err, rc, field, "%s", message);
    else /* no message, or an empty one: the status at least */
        hpo_error_set(err, rc, field, "HTTP %ld", rs->status);
    json_decref(j);
    return rc;
}

hpo_rc hpoc_call(hpo_client *c, const char *method, const char *path, const json_t *body,
                 hpoc_retry retry, long *ret_status, json_t **ret_json, hpo_error *err)
{
    hpoc_req rq = {.method = method, .path = path, .body = body, .retry = retry};
    hpoc_resp rs;
    json_t *j = NULL;
    hpo_rc rc = hpoc_perform(c, &rq, &rs, err);
    if (!rc && (rs.status < 200 || rs.status > 299))
        rc = hpoc_resp_error(&rs, err);
    if (!rc && ret_json)
        rc = hpoc_resp_json(&rs, &j, err);
    if (!rc) {
        if (ret_status)
            *ret_status = rs.status;
        if (ret_json)
            *ret_json = j;
    }
    hpoc_resp_free(&rs);
    return rc;
}

hpo_rc hpoc_take_array(json_t *answer, const char *key, json_t **ret, hpo_error *err)
{
    json_t *a = json_object_get(answer, key);
    if (!json_is_array(a))
        return hpo_error_set(err, HPO_E_INTERNAL, key, "the answer has no %s list", key);
    *ret = json_incref(a);
    return HPO_OK;
}

hpo_rc hpoc_parse_action(const json_t *answer, hpo_action *ret, hpo_error *err)
{
    const char *a = json_string_value(json_object_get(answer, "action"));
    static const hpo_action all[] = {HPO_ACTION_CONTINUE, HPO_ACTION_PRUNE, HPO_ACTION_PAUSE};
    for (size_t i = 0; a && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(a, hpo_action_name(all[i])) == 0) {
            *ret = all[i];
            return HPO_OK;
        }
    return hpo_error_set(err, HPO_E_INTERNAL, "action", "unknown action in the answer: %s",
                         a ? a : "(none)");
}

/* ---- paths ---- */

hpo_rc hpoc_path_escape(hpo_buf *b, const char *s, hpo_error *err)
{
    if (!s || !*s)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "a name in the path is empty");
    /* curl_easy_escape needs no handle since 7.82; NULL is accepted by every version we build on */
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return hpoc_nomem(err);
    hpo_rc rc = hpo_buf_append(b, e, strlen(e));
    curl_free(e);
    if (rc)
        return hpo_error_set(err, rc, NULL, "path too long");
    return HPO_OK;
}

hpo_rc hpoc_path_study(hpo_buf *b, const char *study, hpo_error *err)
{
    hpo_buf_init(b, PATH_MAX_BYTES);
    if (!study)
        return hpo_error_set(err, HPO_E_INVALID, "study", "study is required");
    hpo_rc rc = hpo_buf_appendf(b, "/api/v1/studies/");
    if (!rc)
        rc = hpoc_path_escape(b, study, err);
    else
        hpoc_nomem(err);
    return rc;
}

hpo_rc hpoc_path_trial(hpo_buf *b, const char *study, int64_t number, hpo_error *err)
{
    hpo_rc rc = hpoc_path_study(b, study, err);
    if (!rc && number < 0)
        rc = hpo_error_set(err, HPO_E_INVALID, "number", "a trial number is >= 0");
    if (!rc && hpo_buf_appendf(b, "/trials/%lld", (long long)number))
        rc = hpoc_nomem(err);
    return rc;
}

/* ---- idempotency keys ---- */

void hpoc_random_key(hpo_client *c, char *buf, size_t size)
{
    unsigned char raw[16];
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < sizeof raw) {
        ssize_t n = read(fd, raw + got, sizeof raw - got);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    if (fd >= 0)
        close(fd);
    if (got < sizeof raw) {
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < sizeof raw; i += 8) {
            uint64_t v = hpo_rng_u64(&c->rng);
            memcpy(raw + i, &v, 8);
        }
        pthread_mutex_unlock(&c->lock);
    }
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof raw && o + 2 < size; i++) {
        buf[o++] = hex[raw[i] >> 4];
        buf[o++] = hex[raw[i] & 15];
    }
    buf[o] = '\0';
}
