/* bench_client: throughput load generator for hpo-server (N threads of ask -> reports -> finish), with per-request latencies. */
/*
 * usage: bench_client --server URL --study NAME --workers N --trials T [--reports R] [--slice S]
 *
 * Each worker thread owns one CURL easy handle (so the connection is kept alive) and loops:
 *   POST /api/v1/studies/{s}/trials                         (ask; 409 study_complete ends the loop)
 *   R x POST /api/v1/studies/{s}/trials/{n}/reports         {"step":i,"value":...} (R default 5)
 *   POST /api/v1/studies/{s}/trials/{n}/finish              {"state":"complete","value":v}
 * where v is the sum of squares of the trial's numeric params. A report answered `prune` ends the
 * reports and the trial is finished {"state":"pruned"}. The study must already exist (with
 * max_trials set); T also caps the number of asks made by this client. Prints one JSON line:
 *   {"workers":N,"trials":T,"seconds":...,"trials_per_s":...,"requests_per_s":...,
 *    "ask_p50_ms":...,"ask_p99_ms":...,"report_p50_ms":...,"report_p99_ms":...,
 *    "finish_p50_ms":...,"finish_p99_ms":...,"reports":...,"pruned":...}
 * where trials is the number of trials actually finished, reports the reports sent and pruned the
 * trials finished `pruned`. With --slice S it adds "slices":[...]: the trials/s of each run of S
 * consecutive finishes (in the order they were answered), the last partial run left out, so the
 * rate can be read against the study's size. Exits 1 on any unexpected answer.
 * The token in HPO_TOKEN, when set, goes with every request.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_http.h"

struct series {
    double *ms;
    size_t n, cap;
};

struct worker {
    pthread_t tid;
    int id;
    bench_http http;
    struct series ask, report, finish; /* latencies of answered requests */
    long requests;
    long reports, pruned;
    long finished;
    int failed;
};

static const char *g_server;
static const char *g_study;
static long g_trials;
static long g_reports = 5;
static long g_asks_started; /* guarded by g_lock */
static double *g_finish_at;  /* [g_trials]: when each finish was answered, in answer order */
static long g_n_finished;    /* guarded by g_lock */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* POSTs body (a JSON object, consumed) to url; returns the HTTP status, or -1 on a transport error.
 * The answer is in w->http.body. */
static long post(struct worker *w, const char *url, json_t *body)
{
    long status = bench_http_request_json(&w->http, url, body);
    w->requests++;
    if (status < 0)
        fprintf(stderr, "bench_client: worker %d: POST %s: %s\n", w->id, url,
                curl_easy_strerror(w->http.err));
    return status;
}

static void complain(struct worker *w, const char *what, long status)
{
    fprintf(stderr, "bench_client: worker %d: %s answered %ld: %.300s\n", w->id, what, status,
            w->http.body.data ? w->http.body.data : "");
    w->failed = 1;
}

static int error_code_is(const hpo_buf *b, const char *code)
{
    json_t *root = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
    int yes = 0;
    if (root) {
        const char *c = json_string_value(json_object_get(json_object_get(root, "error"), "code"));
        yes = c && strcmp(c, code) == 0;
        json_decref(root);
    }
    return yes;
}

static void record(struct series *se, double ms)
{
    if (se->n == se->cap) {
        size_t cap = se->cap ? se->cap * 2 : 256;
        double *a = realloc(se->ms, cap * sizeof *a);
        if (!a)
            return;
        se->ms = a;
        se->cap = cap;
    }
    se->ms[se->n++] = ms;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char ask_url[1024], url[1100], wname[32];
    snprintf(ask_url, sizeof ask_url, "%s/api/v1/studies/%s/trials", g_server, g_study);
    snprintf(wname, sizeof wname, "bench/%d", w->id);

    for (;;) {
        pthread_mutex_lock(&g_lock);
        int go = g_asks_started < g_trials;
        if (go)
            g_asks_started++;
        pthread_mutex_unlock(&g_lock);
        if (!go)
            break;

        double t0 = now_s();
        long st = post(w, ask_url, json_pack("{s:s}", "worker", wname));
        double t1 = now_s();
        if (st == 409 && error_code_is(&w->http.body, "study_complete"))
            break;
        if (st != 201 && st != 200) {
            complain(w, "ask", st);
            break;
        }
        record(&w->ask, (t1 - t0) * 1000.0);

        json_t *trial = json_loadb(w->http.body.data, w->http.body.len, 0, NULL);
        json_t *jn = trial ? json_object_get(trial, "number") : NULL;
        if (!json_is_integer(jn)) {
            complain(w, "ask (no trial number)", st);
            json_decref(trial);
            break;
        }
        long long n = json_integer_value(jn);
        double v = 0.0;
        const char *key;
        json_t *pv;
        json_object_foreach(json_object_get(trial, "params"), key, pv) {
            if (json_is_number(pv)) {
                double x = json_number_value(pv);
                v += x * x;
            }
        }
        json_decref(trial);

        int pruned = 0;
        snprintf(url, sizeof url, "%s/%lld/reports", ask_url, n);
        for (long step = 0; step < g_reports && !w->failed; step++) {
            double iv = v * (1.0 + 0.1 * (double)(g_reports - 1 - step));
            t0 = now_s();
            st = post(w, url, json_pack("{s:I,s:f}", "step", (json_int_t)step, "value", iv));
            t1 = now_s();
            if (st != 200) {
                complain(w, "report", st);
                break;
            }
            record(&w->report, (t1 - t0) * 1000.0);
            w->reports++;
            json_t *act = json_loadb(w->http.body.data, w->http.body.len, 0, NULL);
            const char *a = act ? json_string_value(json_object_get(act, "action")) : NULL;
            pruned = a && strcmp(a, "prune") == 0;
            json_decref(act);
            if (pruned)
                break;
        }
        if (w->failed)
            break;

        snprintf(url, sizeof url, "%s/%lld/finish", ask_url, n);
        json_t *fin = pruned ? json_pack("{s:s}", "state", "pruned")
                             : json_pack("{s:s,s:f}", "state", "complete", "value", v);
        t0 = now_s();
        st = post(w, url, fin);
        t1 = now_s();
        if (st != 200) {
            complain(w, "finish", st);
            break;
        }
        record(&w->finish, (t1 - t0) * 1000.0);
        w->finished++;
        w->pruned += pruned;
        pthread_mutex_lock(&g_lock);
        if (g_n_finished < g_trials)
            g_finish_at[g_n_finished++] = t1;
        pthread_mutex_unlock(&g_lock);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *a, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return a[rank - 1];
}

/* p50 and p99 (ms) of one kind of request (0 ask, 1 report, 2 finish) over every worker. */
static int merged_percentiles(const struct worker *ws, long workers, int kind, double ret[2])
{
    size_t n = 0;
    for (long i = 0; i < workers; i++) {
        const struct series *se = kind == 0 ? &ws[i].ask : kind == 1 ? &ws[i].report : &ws[i].finish;
        n += se->n;
    }
    double *all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (long i = 0; i < workers; i++) {
        const struct series *se = kind == 0 ? &ws[i].ask : kind == 1 ? &ws[i].report : &ws[i].finish;
        if (se->n)
            memcpy(all + k, se->ms, se->n * sizeof *all);
        k += se->n;
    }
    qsort(all, n, sizeof *all, cmp_double);
    ret[0] = percentile(all, n, 50.0);
    ret[1] = percentile(all, n, 99.0);
    free(all);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_client --server URL --study NAME --workers N --trials T"
                    " [--reports R] [--slice S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long workers = 0, slice = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--server") == 0)
            g_server = argv[++i];
        else if (strcmp(argv[i], "--study") == 0)
            g_study = argv[++i];
        else if (strcmp(argv[i], "--workers") == 0)
            workers = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--trials") == 0)
            g_trials = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reports") == 0)
            g_reports = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--slice") == 0)
            slice = strtol(argv[++i], NULL, 10);
        else
            usage();
    }
    if (!g_server || !g_study || workers < 1 || workers > 1024 || g_trials < 1 || g_reports < 0 ||
        g_reports > 100000 || slice < 0)
        usage();
    g_finish_at = calloc((size_t)g_trials, sizeof *g_finish_at);
    if (!g_finish_at)
        return 1;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bench_client: curl_global_init failed\n");
        return 1;
    }
    struct worker *ws = calloc((size_t)workers, sizeof *ws);
    if (!ws)
        return 1;
    for (long i = 0; i < workers; i++) {
        struct worker *w = &ws[i];
        w->id = (int)i;
        if (bench_http_init(&w->http, 60) != 0)
            return 1;
    }

    double t0 = now_s();
    for (long i = 0; i < workers; i++) {
        if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "bench_client: pthread_create failed\n");
            return 1;
        }
    }
    for (long i = 0; i < workers; i++)
        pthread_join(ws[i].tid, NULL);
    double secs = now_s() - t0;

    long finished = 0, requests = 0, reports = 0, pruned = 0;
    int failed = 0;
    for (long i = 0; i < workers; i++) {
        finished += ws[i].finished;
        requests += ws[i].requests;
        reports += ws[i].reports;
        pruned += ws[i].pruned;
        failed |= ws[i].failed;
    }
    double p[3][2];
    for (int kind = 0; kind < 3; kind++) {
        if (merged_percentiles(ws, workers, kind, p[kind]))
            return 1;
    }

    printf("{\"workers\":%ld,\"trials\":%ld,\"seconds\":%.3f,\"trials_per_s\":%.1f,"
           "\"requests_per_s\":%.1f,\"ask_p50_ms\":%.3f,\"ask_p99_ms\":%.3f,"
           "\"report_p50_ms\":%.3f,\"report_p99_ms\":%.3f,\"finish_p50_ms\":%.3f,"
           "\"finish_p99_ms\":%.3f,\"reports\":%ld,\"pruned\":%ld",
           workers, finished, secs, secs > 0 ? (double)finished / secs : 0.0,
           secs > 0 ? (double)requests / secs : 0.0, p[0][0], p[0][1], p[1][0], p[1][1], p[2][0],
           p[2][1], reports, pruned);
    if (slice > 0) {
        printf(",\"slices\":[");
        double prev = t0;
        for (long k = 0; (k + 1) * slice <= g_n_finished; k++) {
            double end = g_finish_at[(k + 1) * slice - 1];
            printf("%s%.1f", k ? "," : "", end > prev ? (double)slice / (end - prev) : 0.0);
            prev = end;
        }
        printf("]");
    }
    printf("}\n");

    for (long i = 0; i < workers; i++) {
        bench_http_clear(&ws[i].http);
        free(ws[i].ask.ms);
        free(ws[i].report.ms);
        free(ws[i].finish.ms);
    }
    free(g_finish_at);
    free(ws);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
