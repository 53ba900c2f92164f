/* fuzz_client: what libhpoclient and hpo-worker make of a server's answer: the headers curl hands
 * over (Retry-After, ETag), the body as JSON, errors, actions, lists, a trial, and the text of
 * each param as a command sees it. Input: header lines (the first "HTTP/1.1 <status> ..."), an
 * empty line, then the body. */
#include <math.h>
#include <string.h>

#include "client_internal.h"
#include "fuzz.h"
#include "wk_params.h"

/* Every header line as curl calls the header callback: one line with its CRLF. */
static size_t feed_headers(const char *data, size_t size, hpoc_resp *rs)
{
    size_t at = 0;
    while (at < size) {
        const char *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
        if (len == 0 || (len == 1 && data[at] == '\r'))
            return at + len + (nl ? 1 : 0); /* the blank line: the body follows */
        /* not NUL-terminated, as curl hands it over: a read past its end is seen */
        char *line = malloc(len + 2);
        FUZZ_CHECK(line != NULL);
        memcpy(line, data + at, len);
        memcpy(line + len, "\r\n", 2);
        if (rs->status == 0 && len > 9 && strncmp(line, "HTTP/", 5) == 0) {
            char code[4] = {0};
            memcpy(code, line + 9, len - 9 < 3 ? len - 9 : 3);
            rs->status = strtol(code, NULL, 10);
        }
        FUZZ_CHECK(hpoc_on_header(line, 1, len + 2, rs) == len + 2);
        free(line);
        at += len + (nl ? 1 : 0);
    }
    return size;
}

static void check_headers(const hpoc_resp *rs)
{
    /* what transport.c sleeps on must stay within reason */
    FUZZ_CHECK(rs->retry_after_s >= -1 && rs->retry_after_s < 1000000);
    FUZZ_CHECK(memchr(rs->etag, '\0', sizeof rs->etag) != NULL);
    FUZZ_CHECK(strpbrk(rs->etag, "\"\r\n") == NULL);
}

/* The text a command sees for each param, and the {name} placeholders it fills. */
static void check_params(const json_t *params)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)params, name, v) {
        char *text = wk_param_format(v);
        FUZZ_CHECK(text != NULL);
        if (json_is_string(v)) {
            FUZZ_CHECK(strcmp(text, json_string_value(v)) == 0);
        } else if (json_is_integer(v)) {
            FUZZ_CHECK(strtoll(text, NULL, 10) == json_integer_value(v));
        } else if (json_is_real(v)) {
            /* documented: the shortest form that reads back to the same double */
            char *end;
            FUZZ_CHECK(strtod(text, &end) == json_real_value(v) && *end == '\0');
        }
        char *env = wk_param_env_name(name);
        FUZZ_CHECK(env != NULL && strncmp(env, "HPO_PARAM_", 10) == 0);
        for (const char *p = env; *p; p++)
            FUZZ_CHECK((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_');
        /* names as the server allows them (1-256 bytes), values as a command line holds them */
        if (!strpbrk(name, "{}") && name[0] && strlen(name) <= 256 &&
            strlen(text) < ((size_t)1 << 19)) {
            size_t n = strlen(name);
            char *arg = malloc(n + 3);
            FUZZ_CHECK(arg != NULL);
            arg[0] = '{';
            memcpy(arg + 1, name, n);
            memcpy(arg + 1 + n, "}", 2);
            char *sub = wk_substitute(arg, params);
            FUZZ_CHECK(sub != NULL && strcmp(sub, text) == 0);
            free(sub);
            free(arg);
        }
        free(env);
        free(text);
    }
    static const char *const args[] = {"--lr={lr} {x", "{}{{}}", "{", "}{", "awk '{print $1}'",
                                       "{a}{b}{c}"};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        free(wk_substitute(args[i], params));
}

static void check_answer(json_t *j)
{
    hpo_error err = {0};
    hpo_action a;
    if (hpoc_parse_action(j, &a, &err) == HPO_OK)
        FUZZ_CHECK(a == HPO_ACTION_CONTINUE || a == HPO_ACTION_PRUNE || a == HPO_ACTION_PAUSE);
    else
        FUZZ_CHECK(err.code == HPO_E_INTERNAL && err.message[0]);
    static const char *const lists[] = {"trials", "studies", "workers", "tokens"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        json_t *arr = NULL;
        if (hpoc_take_array(j, lists[i], &arr, &err) == HPO_OK) {
            FUZZ_CHECK(json_is_array(arr));
            json_decref(arr);
        }
    }
    hpo_client_trial *t = NULL;
    if (hpoc_trial_of(json_incref(j), "fallback", &t, &err) == HPO_OK) {
        FUZZ_CHECK(t->study != NULL);
        FUZZ_CHECK(t->state >= HPO_TRIAL_RUNNING && t->state < HPO_TRIAL_STATE_COUNT);
        FUZZ_CHECK(json_is_object(t->params));
        FUZZ_CHECK(t->json == j);
        check_params(t->params);
        hpo_client_trial_free(t);
    } else {
        FUZZ_CHECK(err.code == HPO_E_INTERNAL || err.code == HPO_E_NOMEM);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hpoc_resp rs;
    memset(&rs, 0, sizeof rs);
    rs.retry_after_s = -1;
    hpo_buf_init(&rs.body, HPOC_ANSWER_MAX);
    size_t body_at = feed_headers((const char *)data, size, &rs);
    check_headers(&rs);
    FUZZ_CHECK(hpo_buf_append(&rs.body, data + body_at, size - body_at) == HPO_OK);

    hpo_error err = {0};
    if (rs.status < 200 || rs.status > 299) {
        hpo_rc rc = hpoc_resp_error(&rs, &err);
        FUZZ_CHECK(rc < 0 && err.code == rc && err.message[0]);
    }
    json_t *j = NULL;
    hpo_rc rc = hpoc_resp_json(&rs, &j, &err);
    if (rc == HPO_OK && j)
        check_answer(j);
    else if (rc)
        FUZZ_CHECK(rc == HPO_E_INTERNAL && !j);
    json_decref(j);
    hpoc_resp_free(&rs);
    return 0;
}
