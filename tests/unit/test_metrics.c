/* test_metrics: the Prometheus text format (hpo_expo: names, escaping, values, histograms) and the
 * metric registry (hpo_metrics: counters, requests by route pattern, histograms, exact counts
 * from threads counting at once). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_expo.h"
#include "hpo_metrics.h"

/* The line of text that starts with prefix (a copy in buf), or NULL. */
static const char *line_of(const char *text, const char *prefix, char *buf, size_t size)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, n) == 0) {
            size_t len = strcspn(p, "\n");
            snprintf(buf, size, "%.*s", (int)len, p);
            return buf;
        }
    return NULL;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

START_TEST(names)
{
    ck_assert(hpo_expo_valid_name("hpo_asks_total", false));
    ck_assert(hpo_expo_valid_name("a:b_c9", false));
    ck_assert(!hpo_expo_valid_name("9lives", false));
    ck_assert(!hpo_expo_valid_name("a-b", false));
    ck_assert(!hpo_expo_valid_name("", false));
    ck_assert(!hpo_expo_valid_name(NULL, false));
    ck_assert(hpo_expo_valid_name("route", true));
    ck_assert(!hpo_expo_valid_name("a:b", true));  /* no colon in label names */
    ck_assert(!hpo_expo_valid_name("__name__", true)); /* reserved */
    ck_assert(!hpo_expo_valid_name("é", true));
}
END_TEST

START_TEST(family_and_escaping)
{
    hpo_buf b;
    hpo_buf_init(&b, 1 << 16);
    ck_assert_int_eq(hpo_expo_family(&b, "x_total", "counter", "a \\ b\nc \"q\""), HPO_OK);
    /* HELP escapes backslash and newline only; quotes stay */
    ck_assert_str_eq(b.data, "# HELP x_total a \\\\ b\\nc \"q\"\n# TYPE x_total counter\n");
    hpo_buf_reset(&b);
    hpo_expo_label l[2] = {{"study", "a\"b\\c\nd"}, {"state", "ok"}};
    ck_assert_int_eq(hpo_expo_sample(&b, "x_total", l, 2, 3), HPO_OK);
    ck_assert_str_eq(b.data, "x_total{study=\"a\\\"b\\\\c\\nd\",state=\"ok\"} 3\n");
    /* bad names and types write nothing */
    hpo_buf_reset(&b);
    ck_assert_int_eq(hpo_expo_family(&b, "x", "counters", "h"), HPO_E_INVALID);
    ck_assert_int_eq(hpo_expo_family(&b, "x y", "gauge", "h"), HPO_E_INVALID);
    hpo_expo_label bad = {"bad-name", "v"};
    ck_assert_int_eq(hpo_expo_sample(&b, "x", &bad, 1, 1), HPO_E_INVALID);
    hpo_expo_label null_value = {"l", NULL};
    ck_assert_int_eq(hpo_expo_sample(&b, "x", &null_value, 1, 1), HPO_E_INVALID);
    ck_assert_uint_eq(b.len, 0);
    /* a line that does not fit leaves none of itself behind */
    hpo_buf small;
    hpo_buf_init(&small, 20);
    ck_assert_int_eq(hpo_expo_sample(&small, "a", NULL, 0, 1), HPO_OK);
    ck_assert_int_ne(hpo_expo_sample(&small, "abcdefghij", l, 2, 1), HPO_OK);
    ck_assert_str_eq(small.data, "a 1\n");
    hpo_buf_free(&small);
    hpo_buf_free(&b);
}
END_TEST

START_TEST(values)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {{0, "g 0\n"},          {42, "g 42\n"},        {-7, "g -7\n"},
                 {0.25, "g 0.25\n"},    {1e-7, "g 1e-07\n"},   {NAN, "g NaN\n"},
                 {INFINITY, "g +Inf\n"}, {-INFINITY, "g -Inf\n"}, {1796601598.83, "g 1796601598.83\n"}};
    hpo_buf b;
    hpo_buf_init(&b, 1 << 12);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hpo_buf_reset(&b);
        ck_assert_int_eq(hpo_expo_sample(&b, "g", NULL, 0, cases[i].v), HPO_OK);
        if (strcmp(b.data, cases[i].want) != 0) {
            /* another exact spelling of the same number is fine: it must read back the same */
            ck_assert_msg(!isnan(cases[i].v) && !isinf(cases[i].v) &&
                              strtod(b.data + 2, NULL) == cases[i].v,
                          "%g written as %s", cases[i].v, b.data);
        }
    }
    hpo_buf_reset(&b);
    ck_assert_int_eq(hpo_expo_sample_u64(&b, "c", NULL, 0, UINT64_MAX), HPO_OK);
    ck_assert_str_eq(b.data, "c 18446744073709551615\n");
    hpo_buf_free(&b);
}
END_TEST

START_TEST(histogram_cumulative)
{
    const double bounds[] = {0.1, 1, 10};
    const uint64_t counts[] = {2, 0, 5, 1}; /* per bucket; 1 above 10 */
    hpo_expo_label l = {"route", "/a/{b}"};
    hpo_buf b;
    hpo_buf_init(&b, 1 << 12);
    ck_assert_int_eq(hpo_expo_histogram(&b, "h_seconds", &l, 1, bounds, 3, counts, 12.5), HPO_OK);
    ck_assert_str_eq(b.data, "h_seconds_bucket{route=\"/a/{b}\",le=\"0.1\"} 2\n"
                             "h_seconds_bucket{route=\"/a/{b}\",le=\"1\"} 2\n"
                             "h_seconds_bucket{route=\"/a/{b}\",le=\"10\"} 7\n"
                             "h_seconds_bucket{route=\"/a/{b}\",le=\"+Inf\"} 8\n"
                             "h_seconds_sum{route=\"/a/{b}\"} 12.5\n"
                             "h_seconds_count{route=\"/a/{b}\"} 8\n");
    /* without labels, le is the only one */
    hpo_buf_reset(&b);
    const uint64_t none[] = {0, 0, 0, 0};
    ck_assert_int_eq(hpo_expo_histogram(&b, "h", NULL, 0, bounds, 3, none, 0), HPO_OK);
    char line[256];
    ck_assert_ptr_nonnull(line_of(b.data, "h_bucket{le=\"+Inf\"} 0", line, sizeof line));
    ck_assert_ptr_nonnull(line_of(b.data, "h_count 0", line, sizeof line));
    /* bounds must increase */
    hpo_buf_reset(&b);
    const double unordered[] = {1, 1, 2};
    ck_assert_int_eq(hpo_expo_histogram(&b, "h", NULL, 0, unordered, 3, counts, 0),
                     HPO_E_INVALID);
    ck_assert_uint_eq(b.len, 0);
    hpo_buf_free(&b);
}
END_TEST

static const hpo_metrics_route routes[] = {
    {"GET", "/healthz"},
    {"POST", "/api/v1/studies/{study}/trials"},
};

START_TEST(registry_requests)
{
    hpo_metrics *m = hpo_metrics_new();
    ck_assert_ptr_nonnull(m);
    hpo_metrics_request(m, 0, "GET", 200, 1000); /* before the routes: not counted */
    ck_assert_int_eq(hpo_metrics_set_routes(m, routes, 2), HPO_OK);
    ck_assert_int_eq(hpo_metrics_set_routes(m, routes, 1), HPO_E_CONFLICT);
    hpo_metrics_request(m, 1, "POST", 201, 300000);     /* 0.3 ms: the first bucket */
    hpo_metrics_request(m, 1, "POST", 201, 2000000);    /* 2 ms */
    hpo_metrics_request(m, 1, "POST", 409, 20000000000); /* 20 s: above every bound */
    hpo_metrics_request(m, -1, "BREW", 404, 1000);      /* no route, an odd method */
    hpo_metrics_request(m, -1, "DELETE", 404, 1000);
    hpo_metrics_request(m, 0, "GET", 99, 1000);         /* not a status: not counted */
    hpo_metrics_request(m, 0, "GET", 600, 1000);
    hpo_buf b;
    hpo_buf_init(&b, 1 << 20);
    ck_assert_int_eq(hpo_metrics_format(m, &b), HPO_OK);
    char line[512];
    const char *t = b.data;
    ck_assert_ptr_nonnull(line_of(t, "hpo_http_requests_total{route=\"/api/v1/studies/{study}/"
                                     "trials\",method=\"POST\",status=\"201\"} 2",
                                  line, sizeof line));
    ck_assert_ptr_nonnull(line_of(t, "hpo_http_requests_total{route=\"/api/v1/studies/{study}/"
                                     "trials\",method=\"POST\",status=\"409\"} 1",
                                  line, sizeof line));
    ck_assert_ptr_nonnull(line_of(t, "hpo_http_requests_total{route=\"other\",method=\"other\","
                                     "status=\"404\"} 1",
                                  line, sizeof line));
    ck_assert_ptr_nonnull(line_of(t, "hpo_http_requests_total{route=\"other\",method=\"DELETE\","
                                     "status=\"404\"} 1",
                                  line, sizeof line));
    ck_assert_ptr_null(line_of(t, "hpo_http_requests_total{route=\"/healthz\"", line, sizeof line));
    ck_assert_ptr_null(strstr(t, "BREW"));
    const char *trials = "hpo_http_request_duration_seconds_bucket{route=\"/api/v1/studies/"
                         "{study}/trials\",method=\"POST\",le=";
    char want[512];
    snprintf(want, sizeof want, "%s\"0.0005\"} 1", trials);
    ck_assert_ptr_nonnull(line_of(t, want, line, sizeof line));
    snprintf(want, sizeof want, "%s\"0.001\"} 1", trials);
    ck_assert_ptr_nonnull(line_of(t, want, line, sizeof line));
    snprintf(want, sizeof want, "%s\"0.0025\"} 2", trials);
    ck_assert_ptr_nonnull(line_of(t, want, line, sizeof line));
    snprintf(want, sizeof want, "%s\"10\"} 2", trials);
    ck_assert_ptr_nonnull(line_of(t, want, line, sizeof line));
    snprintf(want, sizeof want, "%s\"+Inf\"} 3", trials);
    ck_assert_ptr_nonnull(line_of(t, want, line, sizeof line));
    ck_assert_ptr_nonnull(line_of(t, "hpo_http_request_duration_seconds_sum{route=\"/api/v1/"
                                     "studies/{study}/trials\",method=\"POST\"} 20.0023",
                                  line, sizeof line));
    /* each family has its HELP and TYPE once */
    ck_assert_ptr_nonnull(line_of(t, "# TYPE hpo_http_requests_total counter", line, sizeof line));
    ck_assert_ptr_nonnull(line_of(t, "# TYPE hpo_http_request_duration_seconds histogram", line,
                                  sizeof line));
    ck_assert_ptr_nonnull(line_of(t, "# TYPE hpo_db_commit_duration_seconds histogram", line,
                                  sizeof line));
    hpo_buf_free(&b);
    hpo_metrics_free(m);
    hpo_metrics_free(NULL);
}
END_TEST

START_TEST(registry_counters)
{
    hpo_metrics *m = hpo_metrics_new();
    hpo_metrics_count(m, HPO_COUNT_ASKS, 3);
    hpo_metrics_count(m, HPO_COUNT_ARTIFACT_BYTES, 5000000000ULL);
    hpo_metrics_count(m, HPO_COUNT_N, 1); /* not a counter: ignored */
    hpo_metrics_count(NULL, HPO_COUNT_ASKS, 1);
    hpo_metrics_commit(m, 700000); /* 0.7 ms */
    ck_assert_uint_eq(hpo_metrics_counter(m, HPO_COUNT_ASKS), 3);
    ck_assert_uint_eq(hpo_metrics_counter(m, HPO_COUNT_REPORTS), 0);
    hpo_buf b;
    hpo_buf_init(&b, 1 << 20);
    ck_assert_int_eq(hpo_metrics_format(m, &b), HPO_OK); /* no routes set: no request series */
    char line[256];
    ck_assert_ptr_nonnull(line_of(b.data, "hpo_asks_total 3\n", line, sizeof line));
    ck_assert_ptr_nonnull(line_of(b.data, "hpo_prunes_total 0", line, sizeof line));
    ck_assert_ptr_nonnull(line_of(b.data, "hpo_artifact_bytes_written_total 5000000000", line,
                                  sizeof line));
    ck_assert_ptr_nonnull(line_of(b.data, "hpo_db_commit_duration_seconds_bucket{le=\"0.0005\"} 0",
                                  line, sizeof line));
    ck_assert_ptr_nonnull(line_of(b.data, "hpo_db_commit_duration_seconds_bucket{le=\"0.001\"} 1",
                                  line, sizeof line));
    ck_assert_ptr_nonnull(line_of(b.data, "hpo_db_commit_duration_seconds_count 1", line,
                                  sizeof line));
    ck_assert_ptr_nonnull(line_of(b.data, "hpo_start_time_seconds ", line, sizeof line));
    ck_assert_ptr_null(strstr(b.data, "hpo_http_requests_total{"));
    ck_assert_uint_gt(count_lines(b.data), 30);
    hpo_buf_free(&b);
    hpo_metrics_free(m);
}
END_TEST

#define THREADS 8
#define PER_THREAD 50000

static void *count_many(void *arg)
{
    hpo_metrics *m = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        hpo_metrics_count(m, HPO_COUNT_REPORTS, 1);
        hpo_metrics_request(m, 1, "POST", 200, 1000);
    }
    return NULL;
}

START_TEST(registry_threads)
{
    hpo_metrics *m = hpo_metrics_new();
    ck_assert_int_eq(hpo_metrics_set_routes(m, routes, 2), HPO_OK);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, count_many, m), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(hpo_metrics_counter(m, HPO_COUNT_REPORTS), THREADS * PER_THREAD);
    hpo_buf b;
    hpo_buf_init(&b, 1 << 20);
    ck_assert_int_eq(hpo_metrics_format(m, &b), HPO_OK);
    char want[256], line[256];
    snprintf(want, sizeof want, "hpo_http_requests_total{route=\"/api/v1/studies/{study}/trials\","
                                "method=\"POST\",status=\"200\"} %d\n", THREADS * PER_THREAD);
    ck_assert_ptr_nonnull(line_of(b.data, want, line, sizeof line));
    snprintf(want, sizeof want, "hpo_http_request_duration_seconds_count{route=\"/api/v1/studies/"
                                "{study}/trials\",method=\"POST\"} %d\n", THREADS * PER_THREAD);
    ck_assert_ptr_nonnull(line_of(b.data, want, line, sizeof line));
    hpo_buf_free(&b);
    hpo_metrics_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, names);
    tcase_add_test(tc, family_and_escaping);
    tcase_add_test(tc, values);
    tcase_add_test(tc, histogram_cumulative);
    tcase_add_test(tc, registry_requests);
    tcase_add_test(tc, registry_counters);
    tcase_add_test(tc, registry_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
