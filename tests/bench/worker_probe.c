/* worker_probe: the measuring commands and the direct REST client of worker_bench.sh (report acknowledgement delay, report floods). */
/*
 * usage:
 *   worker_probe ack URL STUDY N OUT [POLL_US]
 *       Run as an hpo-worker command (HPO_TRIAL_NUMBER from the environment). For k = 0..N-1:
 *       prints "hpo: step=k value=k" (flushed), then polls GET URL/api/v1/studies/STUDY/trials/NUM
 *       over one keep-alive connection, POLL_US microseconds (default 1000) between polls, until
 *       the trial's intermediate_values hold step k; appends "k delay_ms polls get_ms" to OUT,
 *       where delay_ms runs from just before the line was written to the pipe to the answer that
 *       showed the step, and get_ms is that last GET's own latency. Then prints "hpo: value=1".
 *   worker_probe flood N OUT [keep]
 *       Run as an hpo-worker command: prints N lines "hpo: step=k value=V" as fast as stdio allows,
 *       then "hpo: value=1", and writes "t_start t_end nonblock stdio_error" to OUT (CLOCK_REALTIME
 *       seconds; nonblock 1 when stdout came as a non-blocking pipe; stdio_error 1 when a write
 *       failed, i.e. output was lost). Unless "keep" is given, a non-blocking stdout is made
 *       blocking first (as every command should be able to expect).
 *
 * ack and flood (without keep) clear O_NONBLOCK on stdout: hpo-worker passes the write end of its
 * pipe with O_NONBLOCK set, so a command that writes faster than the worker reads gets EAGAIN and
 * stdio drops the buffered output.
 *   worker_probe rest URL STUDY N BATCH
 *       One HTTP client, no worker: asks STUDY for a trial, sends N intermediate values over one
 *       keep-alive connection, BATCH per request (1: {"step","value"}; more: {"reports":[...]}),
 *       waiting for each answer before the next request, then finishes the trial complete. Prints
 *       one JSON line: {"trial","reports","batch","requests","seconds","reports_per_s",
 *       "req_p50_ms","req_p99_ms"} (seconds from the first report request to the finish's answer).
 *   worker_probe spawn N CMD [ARG...]
 *       No server: starts CMD N times one after the other (posix_spawn, stdout to /dev/null,
 *       waitpid), the floor under one worker slot's trials on this machine. Prints one JSON line:
 *       {"runs","per_run_ms"}.
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_http.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "worker_probe: %s\n", msg);
    exit(1);
}

static bench_http g_http;

/* The token is the worker's (it passes HPO_TOKEN to its commands) or the bench script's. */
static void http_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || bench_http_init(&g_http, 60) != 0)
        die("curl init failed");
}

/* GET (body NULL) or POST body to url; returns the status, the answer in g_http.body. */
static long http(const char *url, const char *body)
{
    long status = bench_http_request(&g_http, url, body);
    if (status < 0)
        fprintf(stderr, "worker_probe: %s %s: %s\n", body ? "POST" : "GET", url,
                curl_easy_strerror(g_http.err));
    return status;
}

/* Whether the trial JSON in g_http.body has an intermediate value at step k. */
static int has_step(long k)
{
    json_t *t = json_loadb(g_http.body.data ? g_http.body.data : "", g_http.body.len, 0, NULL);
    if (!t)
        return 0;
    json_t *iv = json_object_get(t, "intermediate_values");
    int yes = 0;
    size_t i;
    json_t *e;
    json_array_foreach(iv, i, e) {
        if (json_integer_value(json_object_get(e, "step")) == k) {
            yes = 1;
            break;
        }
    }
    json_decref(t);
    return yes;
}

/* Makes stdout blocking; returns 1 when it was not. */
static int blocking_stdout(void)
{
    int fl = fcntl(STDOUT_FILENO, F_GETFL);
    if (fl < 0 || !(fl & O_NONBLOCK))
        return 0;
    if (fcntl(STDOUT_FILENO, F_SETFL, fl & ~O_NONBLOCK) < 0)
        die("cannot clear O_NONBLOCK on stdout");
    return 1;
}

static int mode_ack(int argc, char **argv)
{
    if (argc < 6)
        die("usage: worker_probe ack URL STUDY N OUT [POLL_US]");
    const char *num = getenv("HPO_TRIAL_NUMBER");
    if (!num)
        die("HPO_TRIAL_NUMBER is not set");
    long n = strtol(argv[4], NULL, 10);
    long poll_us = argc > 6 ? strtol(argv[6], NULL, 10) : 1000;
    blocking_stdout();
    FILE *out = fopen(argv[5], "a");
    if (!out)
        die("cannot open OUT");
    char url[2048];
    snprintf(url, sizeof url, "%s/api/v1/studies/%s/trials/%s", argv[2], argv[3], num);
    http_init();
    if (http(url, NULL) != 200) /* the connection, before the first timed line */
        die("GET trial failed");
    for (long k = 0; k < n; k++) {
        double t0 = mono_s();
        printf("hpo: step=%ld value=%ld\n", k, k);
        fflush(stdout);
        long polls = 0;
        double get_ms = 0;
        for (;;) {
            double g0 = mono_s();
            long st = http(url, NULL);
            double g1 = mono_s();
            polls++;
            if (st != 200)
                die("GET trial failed while polling");
            get_ms = (g1 - g0) * 1000.0;
            if (has_step(k))
                break;
            if (g1 - t0 > 30.0)
                die("step not stored within 30 s");
            usleep((useconds_t)poll_us);
        }
        fprintf(out, "%ld %.3f %ld %.3f\n", k, (mono_s() - t0) * 1000.0, polls, get_ms);
    }
    fclose(out);
    printf("hpo: value=1\n");
    return 0;
}

static int mode_flood(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "keep") == 0))
        die("usage: worker_probe flood N OUT [keep]");
    double t0 = real_s();
    long n = strtol(argv[2], NULL, 10);
    int fl = fcntl(STDOUT_FILENO, F_GETFL);
    int nonblock = fl >= 0 && (fl & O_NONBLOCK);
    if (argc == 4)
        blocking_stdout();
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    for (long k = 0; k < n; k++)
        printf("hpo: step=%ld value=%.6f\n", k, 1.0 / (double)(k + 1));
    printf("hpo: value=1\n");
    int lost = fflush(stdout) != 0 || ferror(stdout);
    double t1 = real_s();
    FILE *out = fopen(argv[3], "w");
    if (!out)
        die("cannot open OUT");
    fprintf(out, "%.6f %.6f %d %d\n", t0, t1, nonblock, lost);
    fclose(out);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *a, size_t n, double p)
{
    size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
    r = r < 1 ? 1 : r > n ? n : r;
    return n ? a[r - 1] : 0.0;
}

static int mode_rest(int argc, char **argv)
{
    if (argc != 6)
        die("usage: worker_probe rest URL STUDY N BATCH");
    const char *base = argv[2], *study = argv[3];
    long n = strtol(argv[4], NULL, 10), batch = strtol(argv[5], NULL, 10);
    if (n < 1 || batch < 1)
        die("N and BATCH must be at least 1");
    http_init();
    char url[2048];
    snprintf(url, sizeof url, "%s/api/v1/studies/%s/trials", base, study);
    long st = http(url, "{\"worker\":\"worker_probe-rest\"}");
    if (st != 201 && st != 200) {
        fprintf(stderr, "worker_probe: ask answered %ld: %.300s\n", st, g_http.body.data);
        return 1;
    }
    json_t *t = json_loadb(g_http.body.data, g_http.body.len, 0, NULL);
    long long num = t ? json_integer_value(json_object_get(t, "number")) : -1;
    json_decref(t);
    snprintf(url, sizeof url, "%s/api/v1/studies/%s/trials/%lld/reports", base, study, num);

    size_t cap = (size_t)batch * 64 + 64, nreq = 0;
    char *body = malloc(cap);
    double *lat = malloc(sizeof(double) * (size_t)(n / batch + 2));
    if (!body || !lat)
        die("out of memory");
    double t0 = mono_s();
    for (long k = 0; k < n; k += batch) {
        size_t len = 0;
        long end = k + batch < n ? k + batch : n;
        if (batch == 1) {
            len = (size_t)snprintf(body, cap, "{\"step\":%ld,\"value\":%.6f}", k, 1.0 / (double)(k + 1));
        } else {
            len += (size_t)snprintf(body + len, cap - len, "{\"reports\":[");
            for (long j = k; j < end; j++)
                len += (size_t)snprintf(body + len, cap - len, "%s{\"step\":%ld,\"value\":%.6f}",
                                        j > k ? "," : "", j, 1.0 / (double)(j + 1));
            len += (size_t)snprintf(body + len, cap - len, "]}");
        }
        double r0 = mono_s();
        st = http(url, body);
        lat[nreq++] = (mono_s() - r0) * 1000.0;
        if (st != 200) {
            fprintf(stderr, "worker_probe: report answered %ld: %.300s\n", st, g_http.body.data);
            return 1;
        }
    }
    snprintf(url, sizeof url, "%s/api/v1/studies/%s/trials/%lld/finish", base, study, num);
    st = http(url, "{\"state\":\"complete\",\"value\":1}");
    double secs = mono_s() - t0;
    if (st != 200) {
        fprintf(stderr, "worker_probe: finish answered %ld: %.300s\n", st, g_http.body.data);
        return 1;
    }
    qsort(lat, nreq, sizeof *lat, cmp_double);
    printf("{\"trial\":%lld,\"reports\":%ld,\"batch\":%ld,\"requests\":%zu,\"seconds\":%.3f,"
           "\"reports_per_s\":%.1f,\"req_p50_ms\":%.3f,\"req_p99_ms\":%.3f}\n",
           num, n, batch, nreq, secs, (double)n / secs, pct(lat, nreq, 50), pct(lat, nreq, 99));
    free(body);
    free(lat);
    return 0;
}

extern char **environ;

static int mode_spawn(int argc, char **argv)
{
    long n = argc >= 4 ? strtol(argv[2], NULL, 10) : 0;
    if (n < 1)
        die("usage: worker_probe spawn N CMD [ARG...]");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    double t0 = mono_s();
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int status;
        if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, environ) != 0 ||
            waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("worker_probe spawn: the command failed");
    }
    double secs = mono_s() - t0;
    posix_spawn_file_actions_destroy(&fa);
    printf("{\"runs\":%ld,\"per_run_ms\":%.3f}\n", n, secs * 1000.0 / (double)n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "spawn") == 0)
        return mode_spawn(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "ack") == 0)
        return mode_ack(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "flood") == 0)
        return mode_flood(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "rest") == 0)
        return mode_rest(argc, argv);
    fprintf(stderr, "usage: worker_probe ack|flood|rest|spawn ...\n");
    return 2;
}
