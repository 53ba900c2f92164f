/* test_cluster: what the workers of a cluster rely on, through the real hpo-server: artifacts
 * streamed in and out byte for byte with their SHA-256, the worker registry, and the reaper that
 * fails trials whose heartbeats stopped. */
#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e_server.h"
#include "hpo_sha256.h"

static e2e_server srv;

static void setup(void)
{
    memset(&srv, 0, sizeof srv);
    srv.artifact_max_bytes = "8388608";
    e2e_start(&srv);
}

static void teardown(void)
{
    e2e_destroy(&srv);
}

typedef struct {
    const char *data;
    size_t len, at;
} source;

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    source *s = ud;
    size_t take = size * n < s->len - s->at ? size * n : s->len - s->at;
    memcpy(buf, s->data + s->at, take);
    s->at += take;
    return take;
}

typedef struct {
    char *data;
    size_t len;
} sink;

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    sink *k = ud;
    char *d = realloc(k->data, k->len + size * n + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d + k->len, p, size * n);
    k->len += size * n;
    k->data = d;
    return size * n;
}

static char etag[128];

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    (void)ud;
    if (strncasecmp(p, "ETag: ", 6) == 0) {
        size_t len = size * n - 6;
        snprintf(etag, sizeof etag, "%.*s", (int)len, p + 6);
        etag[strcspn(etag, "\r\n")] = '\0';
    }
    return size * n;
}

/* PUT (data != NULL) or GET of a raw body; returns the status, *ret gets the answer. */
static long raw(const char *method, const char *path, const char *data, size_t len, sink *ret)
{
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "%s%s", srv.base, path);
    source src = {data, len, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ret);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", srv.token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (data) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    }
    etag[0] = '\0';
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    long status;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return status;
}

static void sha_hex(const char *data, size_t len, char hex[65])
{
    hpo_sha256 s;
    hpo_sha256_init(&s);
    hpo_sha256_update(&s, data, len);
    hpo_sha256_final_hex(&s, hex);
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(artifacts_round_trip)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", "{\"name\":\"art\"}", &j), 201);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/art/trials", NULL, &j), 201);
    json_decref(j);

    size_t len = 3 * 1024 * 1024 + 17;
    char *data = malloc(len);
    unsigned x = 12345;
    for (size_t i = 0; i < len; i++)
        data[i] = (char)((x = x * 1103515245u + 12345u) >> 16); /* NUL bytes included */
    char hex[65];
    sha_hex(data, len, hex);

    sink out = {0};
    ck_assert_int_eq(raw("PUT", "/api/v1/studies/art/trials/0/artifacts/model.bin", data, len,
                         &out), 201);
    j = json_loadb(out.data, out.len, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "size")), (long)len);
    ck_assert_str_eq(json_string_value(json_object_get(j, "sha256")), hex);
    json_decref(j);
    free(out.data);

    sink got = {0};
    ck_assert_int_eq(raw("GET", "/api/v1/studies/art/trials/0/artifacts/model.bin", NULL, 0, &got),
                     200);
    ck_assert_uint_eq(got.len, len);
    ck_assert(memcmp(got.data, data, len) == 0);
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s\"", hex);
    ck_assert_str_eq(etag, quoted);
    free(got.data);

    /* replaced: 200, new size */
    sink again = {0};
    ck_assert_int_eq(raw("PUT", "/api/v1/studies/art/trials/0/artifacts/model.bin", "tiny", 4,
                         &again), 200);
    free(again.data);
    ck_assert_int_eq(e2e_call(&srv, "PUT", "/api/v1/studies/art/trials/0/artifacts/log", "x", NULL),
                     201);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/art/trials/0/artifacts", NULL, &j), 200);
    json_t *list = json_object_get(j, "artifacts");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")), "log");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 1), "size")), 4);
    json_decref(j);

    /* bad names, unknown trials and oversize bodies change nothing and leave no upload behind */
    ck_assert_int_eq(e2e_call(&srv, "PUT", "/api/v1/studies/art/trials/0/artifacts/.hidden", "x",
                              &j), 400);
    e2e_expect_error(j, "invalid_argument");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "PUT", "/api/v1/studies/art/trials/0/artifacts/a%20b", "x",
                              &j), 400);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "PUT", "/api/v1/studies/art/trials/9/artifacts/log", "x", &j),
                     404);
    e2e_expect_error(j, "not_found");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/art/trials/0/artifacts/nope", NULL,
                              &j), 404);
    json_decref(j);
    size_t big = 9 * 1024 * 1024;
    char *huge = calloc(1, big);
    sink refused = {0};
    ck_assert_int_eq(raw("PUT", "/api/v1/studies/art/trials/0/artifacts/huge", huge, big,
                         &refused), 413);
    free(refused.data);
    free(huge);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/tmp", srv.artifact_dir);
    ck_assert_int_eq(files_in(tmp), 0);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/art/trials/0/artifacts", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "artifacts")), 2);
    json_decref(j);

    /* deleting the study removes its files */
    ck_assert_int_eq(files_in(srv.artifact_dir), 2); /* tmp and the study's folder */
    ck_assert_int_eq(e2e_call(&srv, "DELETE", "/api/v1/studies/art", NULL, NULL), 204);
    ck_assert_int_eq(files_in(srv.artifact_dir), 1);
    free(data);
}
END_TEST

START_TEST(workers_show_their_trials)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/workers",
                              "{\"id\":\"gpu-host-1\",\"host\":\"gpu-host-1\",\"slots\":4,"
                              "\"gpus\":[\"0\",\"1\",\"2\",\"3\"]}", &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/workers", "{\"id\":\"cpu-2\",\"slots\":2}",
                              &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/workers", "{\"slots\":2}", &j), 400);
    e2e_expect_error(j, "invalid_argument");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", "{\"name\":\"w\"}", &j), 201);
    json_decref(j);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/w/trials",
                                  "{\"worker\":\"gpu-host-1\"}", &j), 201);
        json_decref(j);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/workers", NULL, &j), 200);
    json_t *ws = json_object_get(j, "workers");
    ck_assert_int_eq(json_array_size(ws), 2);
    json_t *cpu = json_array_get(ws, 0), *gpu = json_array_get(ws, 1);
    ck_assert_str_eq(json_string_value(json_object_get(cpu, "id")), "cpu-2");
    ck_assert_int_eq(json_array_size(json_object_get(cpu, "trials")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(gpu, "slots")), 4);
    ck_assert_int_eq(json_array_size(json_object_get(gpu, "gpus")), 4);
    ck_assert_int_eq(json_array_size(json_object_get(gpu, "trials")), 2);
    json_decref(j);
}
END_TEST

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(reaper_fails_silent_trials)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"r\",\"heartbeat_grace\":1.5}", &j), 201);
    ck_assert(json_real_value(json_object_get(j, "heartbeat_grace")) == 1.5);
    json_decref(j);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/r/trials", NULL, &j), 201);
        json_decref(j);
    }
    /* trial 0 goes silent; trial 1 sends heartbeats; trial 2 reports */
    for (int k = 0; k < 10; k++) {
        sleep_ms(300);
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/r/trials/1/heartbeat", NULL, &j),
                         200);
        json_decref(j);
        json_t *rep = json_pack("{s:i,s:f}", "step", k, "value", 1.0);
        ck_assert_int_eq(e2e_callj(&srv, "POST", rep, &j, "/api/v1/studies/r/trials/2/reports"),
                         200);
        json_decref(rep);
        json_decref(j);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/r/trials/0", NULL, &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "fail");
    ck_assert_str_eq(json_string_value(json_object_get(j, "fail_reason")), "heartbeat_lost");
    json_decref(j);
    for (int n = 1; n <= 2; n++) {
        ck_assert_int_eq(e2e_callj(&srv, "GET", NULL, &j, "/api/v1/studies/r/trials/%d", n), 200);
        ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "running");
        json_decref(j);
    }
    /* a study without a grace period never reaps */
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", "{\"name\":\"calm\"}", &j), 201);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/calm/trials", NULL, &j), 201);
    json_decref(j);
    sleep_ms(2500);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/calm/trials/0", NULL, &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "running");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", "{\"name\":\"x\",\"heartbeat_grace\":0}",
                              &j), 400);
    json_decref(j);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("cluster");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, artifacts_round_trip);
    tcase_add_test(tc, workers_show_their_trials);
    tcase_add_test(tc, reaper_fails_silent_trials);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
