/* test_client_retry: libhpoclient's retries against a scripted fake HTTP server on loopback:
 * Retry-After on 503, one idempotency key across an ask's retries, no blind retry of enqueue,
 * and artifact streams restarted from the first byte. Needs no PostgreSQL (suite unit). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_http.h"
#include "hpo_client.h"

static hpo_client *client_on(const fake *f, int max_retries)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
    hpo_client_options o = {.server = url, .worker = "w1", .max_retries = max_retries,
                            .backoff_initial_ms = 1, .backoff_max_ms = 5, .timeout_ms = 5000};
    hpo_client *c = NULL;
    hpo_error err;
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_OK);
    return c;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define UNAVAILABLE(after)                                                                     \
    "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: " after "\r\n"      \
    "Content-Type: application/json\r\nContent-Length: 60\r\n\r\n"                            \
    "{\"error\":{\"code\":\"unavailable\",\"message\":\"database down\"}}  "

static const char *STUDIES_OK =
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 14\r\n\r\n{\"studies\":[]}";

static const char *TRIAL_OK =
    "HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 127\r\n\r\n"
    "{\"study\":\"s\",\"number\":4,\"state\":\"running\",\"params\":{\"x\":1},"
    "\"resource\":{\"from\":1,\"to\":3},\"resume\":\"checkpoint\",\"worker\":\"w1\"}   ";

START_TEST(retry_after_is_honoured_on_503)
{
    fake f = {.script = {UNAVAILABLE("1"), STUDIES_OK}, .n = 2};
    fake_start(&f);
    hpo_client *c = client_on(&f, 3);
    hpo_error err;
    json_t *list = NULL;
    double t0 = now_s();
    ck_assert_int_eq(hpo_client_study_list(c, &list, &err), HPO_OK);
    ck_assert(now_s() - t0 >= 0.95);
    ck_assert_int_eq(json_array_size(list), 0);
    json_decref(list);
    hpo_client_free(c);
    fake_stop(&f);
    ck_assert_int_eq(f.served, 2);
}
END_TEST

START_TEST(unavailable_after_the_last_retry)
{
    fake f = {.script = {UNAVAILABLE("0"), UNAVAILABLE("0"), UNAVAILABLE("0"), UNAVAILABLE("0")},
              .n = 4};
    fake_start(&f);
    hpo_client *c = client_on(&f, 1);
    hpo_error err;
    ck_assert_int_eq(hpo_client_study_list(c, NULL, &err), HPO_E_UNAVAILABLE);
    ck_assert_str_eq(err.message, "database down");
    /* the generic request hands the status back instead */
    long status = 0;
    json_t *j = NULL;
    ck_assert_int_eq(hpo_client_request(c, "GET", "/api/v1/studies", NULL, &status, &j, &err),
                     HPO_OK);
    ck_assert_int_eq(status, 503);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "unavailable");
    json_decref(j);
    hpo_client_free(c);
    fake_stop(&f);
    ck_assert_int_eq(f.served, 4);
}
END_TEST

START_TEST(ask_keeps_its_key_across_retries)
{
    fake f = {.script = {UNAVAILABLE("0"), DROP, TRIAL_OK, TRIAL_OK}, .n = 4};
    fake_start(&f);
    hpo_client *c = client_on(&f, 5);
    hpo_error err;
    hpo_client_trial *t = NULL;
    ck_assert_int_eq(hpo_client_ask(c, "s", NULL, &t, NULL, &err), HPO_OK);
    ck_assert_int_eq(t->number, 4);
    ck_assert_int_eq(t->state, HPO_TRIAL_RUNNING);
    ck_assert(t->has_resource);
    ck_assert_int_eq(t->resource_from, 1);
    ck_assert_int_eq(t->resource_to, 3);
    ck_assert_str_eq(t->resume, "checkpoint");
    ck_assert_int_eq(json_integer_value(json_object_get(t->params, "x")), 1);
    hpo_client_trial_free(t);
    ck_assert_int_eq(f.served, 3);
    json_t *b[3];
    for (int i = 0; i < 3; i++) {
        b[i] = json_loads(body_of(&f, i), 0, NULL);
        ck_assert_ptr_nonnull(b[i]);
        ck_assert_str_eq(json_string_value(json_object_get(b[i], "worker")), "w1");
    }
    const char *key = json_string_value(json_object_get(b[0], "idempotency_key"));
    ck_assert_ptr_nonnull(key);
    ck_assert_int_eq(strlen(key), 32);
    ck_assert_int_eq(strspn(key, "0123456789abcdef"), 32);
    ck_assert_str_eq(json_string_value(json_object_get(b[1], "idempotency_key")), key);
    ck_assert_str_eq(json_string_value(json_object_get(b[2], "idempotency_key")), key);
    /* the next call gets a key of its own */
    ck_assert_int_eq(hpo_client_ask(c, "s", NULL, &t, NULL, &err), HPO_OK);
    hpo_client_trial_free(t);
    json_t *b3 = json_loads(body_of(&f, 3), 0, NULL);
    ck_assert_str_ne(json_string_value(json_object_get(b3, "idempotency_key")), key);
    json_decref(b3);
    for (int i = 0; i < 3; i++)
        json_decref(b[i]);
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

/* A 201 answer to an ask whose trial carries `extra` members ("" for none). */
static const char *trial_with(char *buf, size_t size, const char *extra)
{
    char body[512];
    snprintf(body, sizeof body, "{\"study\":\"s\",\"number\":4,\"state\":\"running\","
             "\"params\":{}%s}", extra);
    snprintf(buf, size, "HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Type: "
             "application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    return buf;
}

START_TEST(ask_reads_where_the_pruner_decides)
{
    static char answers[8][768];
    static const char *const extras[] = {
        ",\"decides\":{\"kind\":\"grid\",\"start\":5,\"interval\":2}",
        ",\"decides\":{\"kind\":\"powers\",\"start\":1,\"factor\":3,\"last\":9}",
        ",\"decides\":{\"kind\":\"powers\",\"start\":8,\"factor\":4}",
        ",\"decides\":{\"kind\":\"never\"}",
        "", /* an older server: every step */
        ",\"decides\":{\"kind\":\"fibonacci\",\"start\":1}",
        ",\"decides\":{\"kind\":\"grid\",\"start\":5,\"interval\":0}",
        ",\"decides\":{\"kind\":\"powers\",\"start\":1,\"factor\":3,\"last\":\"x\"}",
    };
    fake f = {.n = 8};
    for (int i = 0; i < 8; i++)
        f.script[i] = trial_with(answers[i], sizeof answers[i], extras[i]);
    fake_start(&f);
    hpo_client *c = client_on(&f, -1);
    hpo_error err;
    hpo_decides got[8];
    for (int i = 0; i < 8; i++) {
        hpo_client_trial *t = NULL;
        ck_assert_int_eq(hpo_client_ask(c, "s", NULL, &t, NULL, &err), HPO_OK);
        got[i] = t->decides;
        hpo_client_trial_free(t);
    }
    ck_assert_int_eq(got[0].kind, HPO_DECIDES_GRID);
    ck_assert_int_eq(got[0].start, 5);
    ck_assert_int_eq(got[0].interval, 2);
    ck_assert_int_eq(got[1].kind, HPO_DECIDES_POWERS);
    ck_assert_int_eq(got[1].start, 1);
    ck_assert_int_eq(got[1].interval, 3);
    ck_assert_int_eq(got[1].last, 9);
    ck_assert_int_eq(got[2].kind, HPO_DECIDES_POWERS);
    ck_assert_int_eq(got[2].start, 8);
    ck_assert_int_eq(got[2].interval, 4);
    ck_assert_int_eq(got[2].last, -1);
    ck_assert_int_eq(got[3].kind, HPO_DECIDES_NEVER);
    /* missing, unknown or out of range: every step (reports then go one per request) */
    for (int i = 4; i < 8; i++)
        ck_assert_msg(got[i].kind == HPO_DECIDES_EVERY, "answer %d: kind %d", i, got[i].kind);
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(enqueue_is_not_retried_once_sent)
{
    fake f = {.script = {DROP, STUDIES_OK}, .n = 2};
    fake_start(&f);
    hpo_client *c = client_on(&f, 5);
    hpo_error err;
    json_t *params = json_pack("{s:i}", "x", 1);
    int64_t n = -1;
    ck_assert_int_eq(hpo_client_enqueue(c, "s", params, &n, &err), HPO_E_UNAVAILABLE);
    ck_assert_int_eq(n, -1);
    ck_assert_int_eq(f.served, 1);
    json_decref(params);
    /* a call that is safe to repeat is retried after the same failure */
    ck_assert_int_eq(hpo_client_study_list(c, NULL, &err), HPO_OK);
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

#define CONTENT "0123456789abcdefghijklmnopqrstuvwxyz"
#define CONTENT_SHA "74e7e5bb9d22d6db26bf76946d40fff3ea9f0346b884fd0694920fccfad15e33"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 4096);
    ck_assert_ptr_nonnull(buf);
    buf[fread(buf, 1, 4095, f)] = '\0';
    fclose(f);
    return buf;
}

START_TEST(artifact_streams_restart_from_the_start)
{
    const char *partial = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 36\r\n"
                          "ETag: \"" CONTENT_SHA "\"\r\n\r\n0123456789";
    const char *full = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 36\r\n"
                       "ETag: \"" CONTENT_SHA "\"\r\n\r\n" CONTENT;
    const char *bad_tag = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 36\r\n"
                          "ETag: \"" "0000000000000000000000000000000000000000000000000000000000000000"
                          "\"\r\n\r\n" CONTENT;
    const char *created = "HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
    fake f = {.script = {partial, full, bad_tag, DROP, created}, .n = 5};
    fake_start(&f);
    hpo_client *c = client_on(&f, 3);
    hpo_error err;
    char dir[] = "/tmp/hpoc-retry-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char dst[64], part[80], src[64];
    snprintf(dst, sizeof dst, "%s/got", dir);
    snprintf(part, sizeof part, "%s/got.part", dir);
    snprintf(src, sizeof src, "%s/src", dir);

    /* a body cut short is fetched again from its first byte */
    ck_assert_int_eq(hpo_client_artifact_get(c, "s", 1, "m.bin", dst, &err), HPO_OK);
    char *got = read_file(dst);
    ck_assert_str_eq(got, CONTENT);
    free(got);
    ck_assert_int_ne(access(part, F_OK), 0);
    ck_assert(strstr(f.requests[0], "GET /api/v1/studies/s/trials/1/artifacts/m.bin ") != NULL);

    /* bytes that do not match the ETag are refused and nothing is left */
    unlink(dst);
    ck_assert_int_eq(hpo_client_artifact_get(c, "s", 1, "m.bin", dst, &err), HPO_E_INTERNAL);
    ck_assert(strstr(err.message, "SHA-256") != NULL);
    ck_assert_int_ne(access(dst, F_OK), 0);
    ck_assert_int_ne(access(part, F_OK), 0);

    /* an upload retried after a dropped connection sends the whole file again */
    write_file(src, CONTENT);
    ck_assert_int_eq(hpo_client_artifact_put(c, "s", 1, "m.bin", src, &err), HPO_OK);
    ck_assert_int_eq(f.served, 5);
    for (int i = 3; i < 5; i++) {
        ck_assert(strncmp(f.requests[i], "PUT /api/v1/studies/s/trials/1/artifacts/m.bin ", 47) == 0);
        ck_assert(strstr(f.requests[i], "Content-Type: application/octet-stream") != NULL);
        ck_assert_int_eq(f.body_len[i], strlen(CONTENT));
        ck_assert_str_eq(body_of(&f, i), CONTENT);
    }
    unlink(src);
    rmdir(dir);
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(names_in_paths_are_escaped)
{
    const char *notfound = "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 72\r\n\r\n"
                           "{\"error\":{\"code\":\"not_found\",\"message\":\"no such study\",\"field\":\"study\"}}";
    fake f = {.script = {notfound}, .n = 1};
    fake_start(&f);
    hpo_client *c = client_on(&f, -1);
    hpo_error err;
    ck_assert_int_eq(hpo_client_study_get(c, "a b/c?d", NULL, &err), HPO_E_NOT_FOUND);
    ck_assert_str_eq(err.message, "no such study");
    ck_assert_str_eq(err.field, "study");
    ck_assert(strncmp(f.requests[0], "GET /api/v1/studies/a%20b%2Fc%3Fd HTTP/1.1", 42) == 0);
    hpo_client_free(c);
    fake_stop(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_retry");
    TCase *tc = tcase_create("retry");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, retry_after_is_honoured_on_503);
    tcase_add_test(tc, unavailable_after_the_last_retry);
    tcase_add_test(tc, ask_keeps_its_key_across_retries);
    tcase_add_test(tc, enqueue_is_not_retried_once_sent);
    tcase_add_test(tc, ask_reads_where_the_pruner_decides);
    tcase_add_test(tc, artifact_streams_restart_from_the_start);
    tcase_add_test(tc, names_in_paths_are_escaped);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
