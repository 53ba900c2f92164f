/* test_client_auth: libhpoclient's side of authentication against a scripted fake server: the
 * bearer token on every request, 401/403 never retried and mapped to their codes, the token never
 * in a message, token files, and a bad token or CA file refused up front. Suite unit. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_http.h"
#include "hpo_client.h"

#define TOKEN "hpo_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"

static hpo_client *client_with(const fake *f, const char *token, int max_retries)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
    hpo_client_options o = {.server = url, .worker = "w1", .max_retries = max_retries,
                            .backoff_initial_ms = 1, .backoff_max_ms = 5, .timeout_ms = 5000,
                            .token = token};
    hpo_client *c = NULL;
    hpo_error err;
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_OK);
    return c;
}

static const char *const UNAUTHENTICATED =
    "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 69\r\n\r\n"
    "{\"error\":{\"code\":\"unauthenticated\",\"message\":\"the token is revoked\"}}";
static const char *const DENIED =
    "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 76\r\n\r\n"
    "{\"error\":{\"code\":\"permission_denied\",\"message\":\"the token's scope is read\"}}";
static const char *const LIMIT =
    "HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 66\r\n\r\n"
    "{\"error\":{\"code\":\"limit_exceeded\",\"message\":\"over --max-studies\"}}";
/* Answers read back through the table of result codes (hpo_error.c). */
static const char *const METHOD =
    "HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 83\r\n\r\n"
    "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"method not allowed on this path\"}}";
static const char *const CONFLICT_NEW_CODE =
    "HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 64\r\n\r\n"
    "{\"error\":{\"code\":\"some_future_code\",\"message\":\"a newer server\"}}";
static const char *const CONFLICT_OTHER_CODE =
    "HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 67\r\n\r\n"
    "{\"error\":{\"code\":\"not_found\",\"message\":\"a code of another status\"}}";
static const char *const BAD_GATEWAY =
    "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Type: text/html\r\n"
    "Content-Length: 24\r\n\r\n<html>bad gateway</html>";
static const char *const UNAVAILABLE =
    "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 0\r\n"
    "Content-Length: 0\r\n\r\n";
static const char *const STUDIES_OK =
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 14\r\n\r\n{\"studies\":[]}";

/* Whether request i of f carries exactly this Authorization header line. */
static bool has_auth(const fake *f, int i, const char *line)
{
    const char *head_end = strstr(f->requests[i], "\r\n\r\n");
    const char *at = strstr(f->requests[i], line);
    return at && at < head_end;
}

START_TEST(token_goes_with_every_request)
{
    fake f = {.script = {UNAVAILABLE, STUDIES_OK, STUDIES_OK, STUDIES_OK}, .n = 4};
    fake_start(&f);
    hpo_client *c = client_with(&f, TOKEN, 3);
    hpo_error err;
    ck_assert_int_eq(hpo_client_study_list(c, NULL, &err), HPO_OK); /* a 503, then its retry */
    ck_assert_int_eq(hpo_client_study_list(c, NULL, &err), HPO_OK);
    hpo_client_free(c);
    c = client_with(&f, NULL, 3);
    ck_assert_int_eq(hpo_client_study_list(c, NULL, &err), HPO_OK);
    hpo_client_free(c);
    ck_assert_int_eq(f.served, 4);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(has_auth(&f, i, "\r\nAuthorization: Bearer " TOKEN "\r\n"),
                      "request %d has no token:\n%.400s", i, f.requests[i]);
    ck_assert_msg(!strstr(f.requests[3], "Authorization"), "%.400s", f.requests[3]);
    fake_stop(&f); /* frees the requests */
}
END_TEST

START_TEST(unauthenticated_is_not_retried)
{
    fake f = {.script = {UNAUTHENTICATED, STUDIES_OK, STUDIES_OK}, .n = 3};
    fake_start(&f);
    hpo_client *c = client_with(&f, TOKEN, 5);
    hpo_error err;
    ck_assert_int_eq(hpo_client_study_list(c, NULL, &err), HPO_E_UNAUTHENTICATED);
    ck_assert_int_eq(err.code, HPO_E_UNAUTHENTICATED);
    ck_assert_str_eq(hpo_rc_name(err.code), "unauthenticated");
    ck_assert_str_eq(err.message, "the token is revoked");
    ck_assert_int_eq(f.served, 1); /* one request, no retry */
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(a_missing_token_is_named)
{
    fake f = {.script = {UNAUTHENTICATED}, .n = 1};
    fake_start(&f);
    hpo_client *c = client_with(&f, NULL, 5);
    hpo_error err;
    hpo_client_trial *t = NULL;
    ck_assert_int_eq(hpo_client_ask(c, "s", NULL, &t, NULL, &err), HPO_E_UNAUTHENTICATED);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err.message, "no token was given") != NULL, "%s", err.message);
    hpo_client_free(c);
    fake_stop(&f);
    ck_assert_int_eq(f.served, 1);
}
END_TEST

START_TEST(permission_denied_is_not_retried)
{
    fake f = {.script = {DENIED, STUDIES_OK}, .n = 2};
    fake_start(&f);
    hpo_client *c = client_with(&f, TOKEN, 5);
    hpo_error err;
    hpo_client_trial *t = NULL;
    /* an ask is retried after every transport failure; a 403 is an answer, not a failure */
    ck_assert_int_eq(hpo_client_ask(c, "s", NULL, &t, NULL, &err), HPO_E_PERMISSION);
    ck_assert_str_eq(hpo_rc_name(err.code), "permission_denied");
    ck_assert_str_eq(err.message, "the token's scope is read");
    ck_assert(strstr(err.message, TOKEN) == NULL);
    ck_assert_int_eq(f.served, 1);
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(limit_exceeded_has_its_code)
{
    fake f = {.script = {LIMIT}, .n = 1};
    fake_start(&f);
    hpo_client *c = client_with(&f, TOKEN, 5);
    hpo_error err;
    json_t *cfg = json_pack("{s:s}", "name", "s");
    ck_assert_int_eq(hpo_client_study_create(c, cfg, false, NULL, &err), HPO_E_LIMIT);
    ck_assert_str_eq(err.message, "over --max-studies");
    json_decref(cfg);
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

/* A code is read as the table's when the table has it under the answer's status; else the bare
 * status's rc (409: conflict), and a status the table does not name is internal, said as such. */
START_TEST(answers_read_back_by_the_table)
{
    static const struct {
        const char *answer;
        hpo_rc rc;
        const char *message;
    } cases[] = {
        {METHOD, HPO_E_METHOD, "method not allowed on this path"},
        {CONFLICT_NEW_CODE, HPO_E_CONFLICT, "a newer server"},
        {CONFLICT_OTHER_CODE, HPO_E_CONFLICT, "a code of another status"},
        {BAD_GATEWAY, HPO_E_INTERNAL, "HTTP 502"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake f = {.script = {cases[i].answer}, .n = 1};
        fake_start(&f);
        hpo_client *c = client_with(&f, TOKEN, 5);
        hpo_error err;
        ck_assert_int_eq(hpo_client_study_delete(c, "s", &err), cases[i].rc);
        ck_assert_int_eq(err.code, cases[i].rc);
        ck_assert_str_eq(err.message, cases[i].message);
        hpo_client_free(c);
        fake_stop(&f);
    }
}
END_TEST

static char dir[] = "/tmp/hpoc-auth-XXXXXX";

static const char *file_with(const char *name, const char *text, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* Reads a file holding text; *ret_token as hpo_client_token_read_file left it. */
static hpo_rc read_text(const char *text, char **ret_token, hpo_error *err)
{
    *ret_token = NULL;
    return hpo_client_token_read_file(file_with("tok", text, strlen(text)), ret_token, err);
}

START_TEST(token_files)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *t = NULL;
    hpo_error err;
    static const char *const good[] = {
        TOKEN, TOKEN "\n", "  " TOKEN "  \n", TOKEN "\r\n", "\t" TOKEN "\nsecond line\n",
        TOKEN "\n# a comment with spaces\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_msg(read_text(good[i], &t, &err) == HPO_OK, "case %zu: %s", i, err.message);
        ck_assert_str_eq(t, TOKEN);
        free(t);
    }
    static const char *const bad[] = {"", "\n" TOKEN "\n", "   \n", "hpo_a b\n", "hpo_\x01x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(read_text(bad[i], &t, &err) == HPO_E_INVALID, "case %zu accepted", i);
        ck_assert_ptr_null(t);
        ck_assert_str_eq(err.field, "token_file");
        ck_assert(strstr(err.message, dir) != NULL); /* names the file */
    }
    /* what the file holds never goes into the message */
    ck_assert_int_eq(read_text(TOKEN " x\n", &t, &err), HPO_E_INVALID);
    ck_assert_msg(strstr(err.message, "hpo_Zm9v") == NULL, "%s", err.message);
    /* a first line too long to be a token */
    char big[5000];
    memset(big, 'a', sizeof big);
    ck_assert_int_eq(hpo_client_token_read_file(file_with("big", big, sizeof big), &t, &err),
                     HPO_E_INVALID);
    ck_assert(strstr(err.message, "over") != NULL);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none", dir);
    ck_assert_int_eq(hpo_client_token_read_file(missing, &t, &err), HPO_E_INVALID);
    ck_assert(strstr(err.message, "No such file") != NULL);
    ck_assert_int_eq(hpo_client_token_read_file(dir, &t, &err), HPO_E_INVALID); /* a directory */

    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(bad_options_are_refused_up_front)
{
    hpo_client *c = NULL;
    hpo_error err;
    /* a CR LF in a token would write a header of its own */
    hpo_client_options o = {.server = "http://127.0.0.1:1", .token = "hpo_x\r\nX-Admin: 1"};
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "token");
    ck_assert(strstr(err.message, "X-Admin") == NULL);
    ck_assert_ptr_null(c);
    o.token = "";
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_E_INVALID);
    o.token = TOKEN;
    o.ca_file = "/nonexistent/ca.pem";
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "ca_file");
    ck_assert(strstr(err.message, "/nonexistent/ca.pem") != NULL);
    o.ca_file = NULL;
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_OK);
    hpo_client_free(c);
}
END_TEST

START_TEST(https_sends_nothing_in_clear)
{
    /* a plain HTTP listener spoken to over https fails the handshake: never a request in clear */
    fake f = {.script = {STUDIES_OK, STUDIES_OK}, .n = 2};
    fake_start(&f);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", f.port);
    hpo_client_options o = {.server = url, .token = TOKEN, .max_retries = -1,
                            .timeout_ms = 3000};
    hpo_client *c = NULL;
    hpo_error err;
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_OK);
    ck_assert_int_eq(hpo_client_study_list(c, NULL, &err), HPO_E_UNAVAILABLE);
    ck_assert(strstr(err.message, TOKEN) == NULL);
    hpo_client_free(c);
    /* whatever reached the listener was a TLS hello, not the token */
    for (int i = 0; i < f.served; i++)
        ck_assert(strstr(f.requests[i], TOKEN) == NULL);
    fake_stop(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_auth");
    TCase *tc = tcase_create("auth");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, token_goes_with_every_request);
    tcase_add_test(tc, unauthenticated_is_not_retried);
    tcase_add_test(tc, a_missing_token_is_named);
    tcase_add_test(tc, permission_denied_is_not_retried);
    tcase_add_test(tc, limit_exceeded_has_its_code);
    tcase_add_test(tc, answers_read_back_by_the_table);
    tcase_add_test(tc, token_files);
    tcase_add_test(tc, bad_options_are_refused_up_front);
    tcase_add_test(tc, https_sends_nothing_in_clear);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
