/* bench_probe: one keep-alive connection timing single hpo-server requests (ask, report, finish, GETs), for core_scale.sh, core_reports.sh and core_latency.sh. */
/*
 * usage:
 *   bench_probe get     --server URL --path PATH --count K [--warmup W]
 *       W untimed and K timed GETs of URL+PATH (e.g. /api/v1/studies/s/best); 200 expected.
 *       Prints {"count":K,"p50_ms":...,"p99_ms":...,"mean_ms":...,"max_ms":...,"bytes":...}
 *       (bytes: the size of the last answer).
 *   bench_probe asks    --server URL --study NAME --count K [--warmup W] [--reports R]
 *                       [--finish complete|fail|none] [--retry-connect SECONDS]
 *       W untimed and K timed rounds of: ask, R reports (steps 0..R-1, every one sent whatever
 *       the pruner answers), finish (`fail` by default, so the study's complete trials stay as
 *       they were; `none` leaves the trial running). Prints {"asks":K,"ask_p50_ms":...,
 *       "ask_p99_ms":...,"ask_mean_ms":...,"report_p50_ms":...,"report_p99_ms":...,
 *       "finish_p50_ms":...,"finish_p99_ms":...,"prune_answers":...,"first_answer_unix_ns":...,
 *       "last_trial":n}. With --retry-connect, a refused connection is retried every 2 ms for up to
 *       SECONDS (to time a server's start: first_answer_unix_ns is the wall clock when the first
 *       ask was answered).
 *   bench_probe reports --server URL --study NAME --trial N --count K [--start STEP] [--window W]
 *       K timed single-step reports to trial N, steps STEP.. STEP+K-1 (default 0), one request
 *       each. Prints {"count":K,"p50_ms":...,"p99_ms":...,"first_p50_ms":...,"first_p99_ms":...,
 *       "last_p50_ms":...,"last_p99_ms":...,"window":W,"seconds":...,"tenths_p50_ms":[10 values]}
 *       where first/last are over the first and last W reports (default 1,000, at most K) and
 *       tenths_p50_ms the p50 of each tenth of the K reports, in order.
 * Exits 1 on any unexpected answer. The token in HPO_TOKEN, when set, goes with every request.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_http.h"

struct series {
    double *ms;
    size_t n, cap;
};

static bench_http g_http;
static const char *g_server, *g_study, *g_path, *g_finish = "fail";
static long g_count = -1, g_warmup, g_reports, g_trial = -1, g_start, g_window = 1000;
static double g_retry_s;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long long unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void record(struct series *se, double ms)
{
    if (se->n == se->cap) {
        size_t cap = se->cap ? se->cap * 2 : 1024;
        double *a = realloc(se->ms, cap * sizeof *a);
        if (!a) {
            fprintf(stderr, "bench_probe: out of memory\n");
            exit(1);
        }
        se->ms = a;
        se->cap = cap;
    }
    se->ms[se->n++] = ms;
}

/* One request: POST of body (consumed) when body is not NULL, else GET. Returns the HTTP status, or
 * -1 on a transport error; the answer is in g_http.body, the time taken in *ret_ms. */
static long request(const char *path, json_t *body, double *ret_ms)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", g_server, path);
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!text)
            return -1;
    }
    double deadline = now_ms() + g_retry_s * 1e3;
    long status;
    double t0;
    for (;;) {
        t0 = now_ms();
        status = bench_http_request(&g_http, url, text);
        if (g_http.err != CURLE_COULDNT_CONNECT || now_ms() >= deadline)
            break;
        usleep(2000);
    }
    double t1 = now_ms();
    free(text);
    if (ret_ms)
        *ret_ms = t1 - t0;
    if (status < 0)
        fprintf(stderr, "bench_probe: %s %s: %s\n", body ? "POST" : "GET", url,
                curl_easy_strerror(g_http.err));
    return status;
}

static void fail(const char *what, long status)
{
    fprintf(stderr, "bench_probe: %s answered %ld: %.300s\n", what, status,
            g_http.body.data ? g_http.body.data : "");
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n values (copied and sorted here). */
static double pct(const double *a, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    double *s = malloc(n * sizeof *s);
    if (!s)
        exit(1);
    memcpy(s, a, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    double v = s[rank - 1];
    free(s);
    return v;
}

static double mean(const struct series *se)
{
    double sum = 0.0;
    for (size_t i = 0; i < se->n; i++)
        sum += se->ms[i];
    return se->n ? sum / (double)se->n : 0.0;
}

static int cmd_get(void)
{
    struct series se = {0};
    double max = 0.0;
    for (long i = 0; i < g_warmup + g_count; i++) {
        double ms;
        long st = request(g_path, NULL, &ms);
        if (st != 200)
            fail(g_path, st);
        if (i >= g_warmup) {
            record(&se, ms);
            if (ms > max)
                max = ms;
        }
    }
    printf("{\"count\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f,\"max_ms\":%.3f,"
           "\"bytes\":%zu}\n",
           g_count, pct(se.ms, se.n, 50), pct(se.ms, se.n, 99), mean(&se), max, g_http.body.len);
    free(se.ms);
    return 0;
}

static int cmd_asks(void)
{
    char ask_path[1024], path[1100];
    snprintf(ask_path, sizeof ask_path, "/api/v1/studies/%s/trials", g_study);
    struct series ask = {0}, rep = {0}, fin = {0};
    long prunes = 0;
    long long first_ns = 0, last = -1;
    for (long i = 0; i < g_warmup + g_count; i++) {
        bool timed = i >= g_warmup;
        double ms;
        long st = request(ask_path, json_pack("{s:s}", "worker", "bench-probe"), &ms);
        if (st != 201 && st != 200)
            fail("ask", st);
        if (!first_ns)
            first_ns = unix_ns();
        g_retry_s = 0;
        if (timed)
            record(&ask, ms);
        json_t *trial = json_loadb(g_http.body.data, g_http.body.len, 0, NULL);
        json_t *jn = trial ? json_object_get(trial, "number") : NULL;
        if (!json_is_integer(jn))
            fail("ask (no trial number)", st);
        long long n = json_integer_value(jn);
        double v = 0.0;
        const char *key;
        json_t *pv;
        json_object_foreach(json_object_get(trial, "params"), key, pv) {
            if (json_is_number(pv))
                v += json_number_value(pv) * json_number_value(pv);
        }
        json_decref(trial);
        last = n;

        snprintf(path, sizeof path, "%s/%lld/reports", ask_path, n);
        for (long step = 0; step < g_reports; step++) {
            double iv = v * (1.0 + 0.1 * (double)(g_reports - 1 - step));
            st = request(path, json_pack("{s:I,s:f}", "step", (json_int_t)step, "value", iv), &ms);
            if (st != 200)
                fail("report", st);
            if (timed)
                record(&rep, ms);
            if (strstr(g_http.body.data ? g_http.body.data : "", "\"prune\""))
                prunes++;
        }
        if (strcmp(g_finish, "none") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%lld/finish", ask_path, n);
        json_t *body = strcmp(g_finish, "complete") == 0
                           ? json_pack("{s:s,s:f}", "state", "complete", "value", v)
                           : json_pack("{s:s}", "state", "fail");
        st = request(path, body, &ms);
        if (st != 200)
            fail("finish", st);
        if (timed)
            record(&fin, ms);
    }
    printf("{\"asks\":%ld,\"ask_p50_ms\":%.3f,\"ask_p99_ms\":%.3f,\"ask_mean_ms\":%.3f,"
           "\"report_p50_ms\":%.3f,\"report_p99_ms\":%.3f,\"report_mean_ms\":%.3f,"
           "\"finish_p50_ms\":%.3f,\"finish_p99_ms\":%.3f,\"reports\":%zu,\"prune_answers\":%ld,"
           "\"first_answer_unix_ns\":%lld,\"last_trial\":%lld}\n",
           g_count, pct(ask.ms, ask.n, 50), pct(ask.ms, ask.n, 99), mean(&ask),
           pct(rep.ms, rep.n, 50), pct(rep.ms, rep.n, 99), mean(&rep), pct(fin.ms, fin.n, 50),
           pct(fin.ms, fin.n, 99), rep.n, prunes, first_ns, last);
    free(ask.ms);
    free(rep.ms);
    free(fin.ms);
    return 0;
}

static int cmd_reports(void)
{
    char path[1100];
    snprintf(path, sizeof path, "/api/v1/studies/%s/trials/%ld/reports", g_study, g_trial);
    struct series se = {0};
    double t0 = now_ms();
    for (long i = 0; i < g_count; i++) {
        double ms;
        long step = g_start + i;
        long st = request(path,
                          json_pack("{s:I,s:f}", "step", (json_int_t)step, "value",
                                    1.0 / (1.0 + (double)step)),
                          &ms);
        if (st != 200)
            fail("report", st);
        record(&se, ms);
    }
    double secs = (now_ms() - t0) / 1e3;
    size_t w = (size_t)g_window < se.n ? (size_t)g_window : se.n;
    const double *last = se.ms + (se.n - w);
    printf("{\"count\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"first_p50_ms\":%.3f,"
           "\"first_p99_ms\":%.3f,\"last_p50_ms\":%.3f,\"last_p99_ms\":%.3f,\"window\":%zu,"
           "\"seconds\":%.3f,\"tenths_p50_ms\":[",
           g_count, pct(se.ms, se.n, 50), pct(se.ms, se.n, 99), pct(se.ms, w, 50),
           pct(se.ms, w, 99), pct(last, w, 50), pct(last, w, 99), w, secs);
    for (size_t k = 0; k < 10; k++) {
        size_t a = se.n * k / 10, b = se.n * (k + 1) / 10;
        printf("%s%.3f", k ? "," : "", pct(se.ms + a, b - a, 50));
    }
    printf("]}\n");
    free(se.ms);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_probe get --server URL --path PATH --count K [--warmup W]\n"
            "       bench_probe asks --server URL --study NAME --count K [--warmup W] [--reports R]\n"
            "                   [--finish complete|fail|none] [--retry-connect SECONDS]\n"
            "       bench_probe reports --server URL --study NAME --trial N --count K [--start STEP]\n"
            "                   [--window W]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *o = argv[i], *v = argv[++i];
        if (strcmp(o, "--server") == 0)
            g_server = v;
        else if (strcmp(o, "--study") == 0)
            g_study = v;
        else if (strcmp(o, "--path") == 0)
            g_path = v;
        else if (strcmp(o, "--count") == 0)
            g_count = strtol(v, NULL, 10);
        else if (strcmp(o, "--warmup") == 0)
            g_warmup = strtol(v, NULL, 10);
        else if (strcmp(o, "--reports") == 0)
            g_reports = strtol(v, NULL, 10);
        else if (strcmp(o, "--finish") == 0)
            g_finish = v;
        else if (strcmp(o, "--trial") == 0)
            g_trial = strtol(v, NULL, 10);
        else if (strcmp(o, "--start") == 0)
            g_start = strtol(v, NULL, 10);
        else if (strcmp(o, "--window") == 0)
            g_window = strtol(v, NULL, 10);
        else if (strcmp(o, "--retry-connect") == 0)
            g_retry_s = strtod(v, NULL);
        else
            usage();
    }
    if (!g_server || g_count < 1 || g_warmup < 0 || g_reports < 0 || g_window < 1 || g_start < 0)
        usage();
    if (strcmp(g_finish, "complete") != 0 && strcmp(g_finish, "fail") != 0 &&
        strcmp(g_finish, "none") != 0)
        usage();

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (bench_http_init(&g_http, 120) != 0)
        return 1;

    int rc;
    if (strcmp(cmd, "get") == 0 && g_path)
        rc = cmd_get();
    else if (strcmp(cmd, "asks") == 0 && g_study)
        rc = cmd_asks();
    else if (strcmp(cmd, "reports") == 0 && g_study && g_trial >= 0)
        rc = cmd_reports();
    else
        usage();

    bench_http_clear(&g_http);
    curl_global_cleanup();
    return rc;
}
