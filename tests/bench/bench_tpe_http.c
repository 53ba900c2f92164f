/* bench_tpe_http: HTTP client of the sampler benchmarks: creates studies, fills them, times asks and runs the bench problems through hpo-server (tpe_cost.sh, tpe_parallel.sh, sampler_quality.sh). */
/*
 * usage:
 *   bench_tpe_http create  --server URL --study NAME --problem P --sampler JSON [--max-trials M]
 *       P is a problem of bench_problems.h or "sphere10" (10 floats x0..x9 in [-5, 5]); a
 *       problem of several objectives makes a study of as many "directions" (all minimize).
 *       Exits 3 when the server refuses the sampler (400 on a field "sampler..."), its error
 *       answer on stdout.
 *   bench_tpe_http fill    --server URL --study NAME --count K [--workers T]
 *       K x (ask, finish complete with the sum of squares of the params), T threads.
 *   bench_tpe_http latency --server URL --study NAME --count K [--warmup W]
 *       W untimed and K timed x (ask, then finish "fail" so the number of completed trials stays
 *       the same), one connection; prints {"asks":K,"p50_ms":...,"p99_ms":...,"mean_ms":...}.
 *   bench_tpe_http optimize --server URL --study NAME --problem P [--workers T] [--eval-ms MS]
 *       T threads of ask -> evaluate P (+ sleep MS) -> finish complete (with "values" for several
 *       objectives, and the problem's "constraints") until 409 study_complete; then reads every
 *       trial back and prints {"trials":n,"distinct":d,"duplicates":n-d,"best":...,"seconds":...};
 *       for several objectives "points" (the values of the complete feasible trials: all their
 *       constraints <= 0) instead of "best". Two trials are duplicates when all their params are equal.
 *   bench_tpe_http eval --problem P
 *       Reads params objects (one JSON line each) on stdin and prints for each
 *       {"values":[...],"constraints":[...]}: the C definitions, for bench_problems.py check.
 * Exits 1 on any unexpected answer. The token in HPO_TOKEN, when set, goes with every request.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_http.h"
#include "bench_problems.h"

typedef struct {
    pthread_t tid;
    int id;
    bench_http http;
    long done;
    int failed;
} client;

static const char *g_server, *g_study, *g_problem_name, *g_sampler = "{\"type\":\"tpe\"}";
static long g_count, g_max_trials, g_eval_ms, g_warmup;
static long g_started;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static const bp_problem *g_problem; /* NULL: sphere10 */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void client_init(client *c, int id)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    if (bench_http_init(&c->http, 120) != 0) {
        fprintf(stderr, "bench_tpe_http: curl_easy_init failed\n");
        exit(1);
    }
}

static void client_clear(client *c)
{
    bench_http_clear(&c->http);
}

/* body NULL: GET. Returns the HTTP status or -1; the answer is in c->http.body. */
static long request(client *c, const char *url, json_t *body)
{
    long status = bench_http_request_json(&c->http, url, body);
    if (status < 0)
        fprintf(stderr, "bench_tpe_http: %s: %s\n", url, curl_easy_strerror(c->http.err));
    return status;
}

static void complain(client *c, const char *what, long status)
{
    fprintf(stderr, "bench_tpe_http: client %d: %s answered %ld: %.300s\n", c->id, what, status,
            c->http.body.data ? c->http.body.data : "");
    c->failed = 1;
}

static int is_study_complete(const client *c)
{
    const hpo_buf *b = &c->http.body;
    json_t *root = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
    const char *code =
        json_string_value(json_object_get(json_object_get(root, "error"), "code"));
    int yes = code && strcmp(code, "study_complete") == 0;
    json_decref(root);
    return yes;
}

/* The objectives (1, or g_problem->n_objectives) and constraints (g_problem->n_constraints) of a
 * trial's params object; -1 when a param is missing or unknown. */
static int evaluate(json_t *params, double *ret_values, double *ret_constraints)
{
    if (!g_problem) {
        double v = 0.0;
        const char *key;
        json_t *pv;
        json_object_foreach(params, key, pv) v += json_number_value(pv) * json_number_value(pv);
        ret_values[0] = v;
        return 0;
    }
    double x[BP_MAX_PARAMS];
    for (size_t i = 0; i < g_problem->n; i++) {
        const bp_param *p = &g_problem->params[i];
        json_t *v = json_object_get(params, p->name);
        if (p->kind == BP_CAT) {
            const char *s = json_string_value(v);
            x[i] = -1;
            for (size_t k = 0; s && k < p->n_choices; k++)
                if (strcmp(s, p->choices[k]) == 0)
                    x[i] = (double)k;
            if (x[i] < 0)
                return -1;
        } else {
            if (!json_is_number(v))
                return -1;
            x[i] = json_number_value(v);
        }
    }
    bp_evaluate(g_problem, x, ret_values, ret_constraints);
    return 0;
}

static json_t *json_doubles(const double *a, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_real(a[i]));
    return arr;
}

/* The finish body of a complete trial with these objectives and constraints (owned). */
static json_t *finish_body(const double *values, const double *constraints)
{
    size_t n_obj = g_problem ? g_problem->n_objectives : 1;
    json_t *body = n_obj > 1
                       ? json_pack("{s:s,s:o}", "state", "complete", "values",
                                   json_doubles(values, n_obj))
                       : json_pack("{s:s,s:f}", "state", "complete", "value", values[0]);
    if (g_problem && g_problem->n_constraints)
        json_object_set_new(body, "constraints",
                            json_doubles(constraints, g_problem->n_constraints));
    return body;
}

static int take_ticket(void)
{
    pthread_mutex_lock(&g_lock);
    int go = g_count <= 0 || g_started < g_count;
    if (go)
        g_started++;
    pthread_mutex_unlock(&g_lock);
    return go;
}

/* ask; returns the trial (owned) or NULL at study_complete / failure (c->failed set). */
static json_t *ask(client *c, const char *ask_url, double *ret_ms)
{
    char wname[32];
    snprintf(wname, sizeof wname, "bench/%d", c->id);
    double t0 = now_ms();
    long st = request(c, ask_url, json_pack("{s:s}", "worker", wname));
    if (ret_ms)
        *ret_ms = now_ms() - t0;
    if (st == 409 && is_study_complete(c))
        return NULL;
    if (st != 201 && st != 200) {
        complain(c, "ask", st);
        return NULL;
    }
    json_t *trial = json_loadb(c->http.body.data, c->http.body.len, 0, NULL);
    if (!json_is_integer(json_object_get(trial, "number"))) {
        complain(c, "ask (no trial number)", st);
        json_decref(trial);
        return NULL;
    }
    return trial;
}

static int finish(client *c, const char *ask_url, json_int_t number, json_t *body)
{
    char url[1200];
    snprintf(url, sizeof url, "%s/%lld/finish", ask_url, (long long)number);
    long st = request(c, url, body);
    if (st != 200) {
        complain(c, "finish", st);
        return -1;
    }
    return 0;
}

static void *run_worker(void *arg)
{
    client *c = arg;
    char ask_url[1024];
    snprintf(ask_url, sizeof ask_url, "%s/api/v1/studies/%s/trials", g_server, g_study);
    while (!c->failed && take_ticket()) {
        json_t *trial = ask(c, ask_url, NULL);
        if (!trial)
            break;
        json_int_t n = json_integer_value(json_object_get(trial, "number"));
        double v[BP_MAX_OBJECTIVES], cons[BP_MAX_CONSTRAINTS];
        int bad = evaluate(json_object_get(trial, "params"), v, cons);
        json_decref(trial);
        if (bad) {
            complain(c, "ask (params do not fit the problem)", 0);
            break;
        }
        if (g_eval_ms > 0) {
            struct timespec ts = {g_eval_ms / 1000, (g_eval_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (finish(c, ask_url, n, finish_body(v, cons)))
            break;
        c->done++;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static json_t *space_json(void)
{
    json_t *space = json_object();
    if (!g_problem) {
        for (int i = 0; i < 10; i++) {
            char name[8];
            snprintf(name, sizeof name, "x%d", i);
            json_object_set_new(space, name,
                                json_pack("{s:s,s:f,s:f}", "type", "float", "low", -5.0, "high", 5.0));
        }
        return space;
    }
    for (size_t i = 0; i < g_problem->n; i++) {
        const bp_param *p = &g_problem->params[i];
        json_t *d;
        if (p->kind == BP_CAT) {
            json_t *ch = json_array();
            for (size_t k = 0; k < p->n_choices; k++)
                json_array_append_new(ch, json_string(p->choices[k]));
            d = json_pack("{s:s,s:o}", "type", "categorical", "choices", ch);
        } else if (p->kind == BP_INT) {
            d = json_pack("{s:s,s:I,s:I}", "type", "int", "low", (json_int_t)p->low, "high",
                          (json_int_t)p->high);
        } else {
            d = json_pack("{s:s,s:f,s:f,s:b}", "type", "float", "low", p->low, "high", p->high,
                          "log", p->log);
        }
        json_object_set_new(space, p->name, d);
    }
    return space;
}

/* Whether an error answer names a field of the sampler. */
static int sampler_refused(const client *c)
{
    const hpo_buf *b = &c->http.body;
    json_t *root = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
    const char *field =
        json_string_value(json_object_get(json_object_get(root, "error"), "field"));
    int yes = field && strncmp(field, "sampler", 7) == 0;
    json_decref(root);
    return yes;
}

static int cmd_create(void)
{
    json_error_t jerr;
    json_t *sampler = json_loads(g_sampler, 0, &jerr);
    if (!sampler) {
        fprintf(stderr, "bench_tpe_http: --sampler: %s\n", jerr.text);
        return 2;
    }
    json_t *body = json_pack("{s:s,s:o,s:o}", "name", g_study, "sampler", sampler,
                             "search_space", space_json());
    if (g_problem && g_problem->n_objectives > 1) {
        json_t *dirs = json_array();
        for (size_t i = 0; i < g_problem->n_objectives; i++)
            json_array_append_new(dirs, json_string("minimize"));
        json_object_set_new(body, "directions", dirs);
    } else {
        json_object_set_new(body, "direction", json_string("minimize"));
    }
    if (g_max_trials > 0)
        json_object_set_new(body, "max_trials", json_integer(g_max_trials));
    client c;
    client_init(&c, 0);
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v1/studies", g_server);
    long st = request(&c, url, body);
    int rc = 0;
    if (st == 400 && sampler_refused(&c)) {
        fprintf(stderr, "bench_tpe_http: the server refuses sampler %s\n", g_sampler);
        printf("%s\n", c.http.body.data ? c.http.body.data : "{}");
        rc = 3;
    } else if (st != 201) {
        complain(&c, "create study", st);
        rc = 1;
    }
    client_clear(&c);
    return rc;
}

static int run_threads(long workers, double *ret_seconds)
{
    client *cs = calloc((size_t)workers, sizeof *cs);
    if (!cs)
        return 1;
    for (long i = 0; i < workers; i++)
        client_init(&cs[i], (int)i);
    double t0 = now_ms();
    for (long i = 0; i < workers; i++)
        if (pthread_create(&cs[i].tid, NULL, run_worker, &cs[i]))
            return 1;
    int failed = 0;
    for (long i = 0; i < workers; i++) {
        pthread_join(cs[i].tid, NULL);
        failed |= cs[i].failed;
        client_clear(&cs[i]);
    }
    *ret_seconds = (now_ms() - t0) / 1e3;
    free(cs);
    return failed;
}

static int cmd_latency(void)
{
    client c;
    client_init(&c, 0);
    char ask_url[1024];
    snprintf(ask_url, sizeof ask_url, "%s/api/v1/studies/%s/trials", g_server, g_study);
    double *ms = calloc((size_t)g_count, sizeof *ms);
    if (!ms)
        return 1;
    long n = 0;
    double sum = 0.0;
    for (long k = -g_warmup; n < g_count; k++) {
        double dt;
        json_t *trial = ask(&c, ask_url, &dt);
        if (!trial)
            break;
        if (k >= 0) {
            ms[n++] = dt;
            sum += dt;
        }
        json_int_t number = json_integer_value(json_object_get(trial, "number"));
        json_decref(trial);
        if (finish(&c, ask_url, number,
                   json_pack("{s:s,s:s}", "state", "fail", "reason", "latency probe")))
            break;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("{\"asks\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f}\n", n,
           percentile(ms, (size_t)n, 50), percentile(ms, (size_t)n, 99), n ? sum / (double)n : 0.0);
    free(ms);
    int failed = c.failed || n < g_count;
    client_clear(&c);
    return failed;
}

/* Whether a complete trial is feasible: every constraint the problem has, given and <= 0. */
static int feasible(json_t *trial)
{
    if (!g_problem->n_constraints)
        return 1;
    json_t *cons = json_object_get(trial, "constraints"), *v;
    size_t i;
    if (json_array_size(cons) != g_problem->n_constraints)
        return 0;
    json_array_foreach(cons, i, v) if (!json_is_number(v) || json_number_value(v) > 0.0) return 0;
    return 1;
}

static int cmd_optimize(long workers)
{
    double secs;
    if (run_threads(workers, &secs))
        return 1;
    /* read every trial back */
    client c;
    client_init(&c, 0);
    size_t n = 0, cap = 256;
    char **sig = malloc(cap * sizeof *sig);
    double best = INFINITY;
    json_t *points = json_array(); /* several objectives: the complete feasible trials' values */
    long long after = -1;
    int rc = 0;
    for (;;) {
        char url[1200];
        if (after < 0)
            snprintf(url, sizeof url, "%s/api/v1/studies/%s/trials?limit=1000", g_server, g_study);
        else
            snprintf(url, sizeof url, "%s/api/v1/studies/%s/trials?limit=1000&after=%lld",
                     g_server, g_study, after);
        long st = request(&c, url, NULL);
        if (st != 200) {
            complain(&c, "list trials", st);
            rc = 1;
            break;
        }
        json_t *root = json_loadb(c.http.body.data, c.http.body.len, 0, NULL);
        json_t *arr = json_object_get(root, "trials"), *t;
        size_t i;
        json_array_foreach(arr, i, t) {
            const char *state = json_string_value(json_object_get(t, "state"));
            if (state && strcmp(state, "complete") == 0 && g_problem->n_objectives > 1) {
                if (feasible(t))
                    json_array_append(points, json_object_get(t, "values"));
            } else if (state && strcmp(state, "complete") == 0) {
                double v = json_number_value(json_object_get(t, "value"));
                if (v < best)
                    best = v;
            }
            if (n == cap) {
                cap *= 2;
                sig = realloc(sig, cap * sizeof *sig);
            }
            sig[n++] = json_dumps(json_object_get(t, "params"),
                                  JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        }
        json_t *next = json_object_get(root, "next_after");
        int more = json_is_integer(next) && json_array_size(arr) > 0;
        if (more)
            after = (long long)json_integer_value(next);
        json_decref(root);
        if (!more)
            break;
    }
    qsort(sig, n, sizeof *sig, cmp_str);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(sig[i], sig[i - 1]) != 0)
            distinct++;
    for (size_t i = 0; i < n; i++)
        free(sig[i]);
    free(sig);
    client_clear(&c);
    if (!rc) {
        printf("{\"workers\":%ld,\"trials\":%zu,\"distinct\":%zu,\"duplicates\":%zu,", workers, n,
               distinct, n - distinct);
        if (g_problem->n_objectives > 1) {
            char *pts = json_dumps(points, JSON_COMPACT | JSON_REAL_PRECISION(17));
            printf("\"points\":%s,", pts ? pts : "[]");
            free(pts);
        } else {
            if (best < INFINITY)
                printf("\"best\":%.9g,", best);
            else
                printf("\"best\":null,");
        }
        printf("\"seconds\":%.3f}\n", secs);
    }
    json_decref(points);
    return rc;
}

static int cmd_eval(void)
{
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        json_error_t jerr;
        json_t *params = json_loads(line, 0, &jerr);
        double v[BP_MAX_OBJECTIVES], cons[BP_MAX_CONSTRAINTS];
        if (!json_is_object(params) || evaluate(params, v, cons)) {
            fprintf(stderr, "bench_tpe_http: eval: not params of %s: %s", g_problem->name, line);
            json_decref(params);
            return 1;
        }
        json_decref(params);
        json_t *out = json_pack("{s:o,s:o}", "values", json_doubles(v, g_problem->n_objectives),
                                "constraints", json_doubles(cons, g_problem->n_constraints));
        char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(17));
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(out);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_tpe_http create|fill|latency|optimize|eval --server URL --study NAME "
                    "[--problem P] [--sampler JSON] [--max-trials M] [--count K] [--workers T] "
                    "[--eval-ms MS] [--warmup W]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    long workers = 1;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        if (strcmp(k, "--server") == 0)
            g_server = v;
        else if (strcmp(k, "--study") == 0)
            g_study = v;
        else if (strcmp(k, "--problem") == 0)
            g_problem_name = v;
        else if (strcmp(k, "--sampler") == 0)
            g_sampler = v;
        else if (strcmp(k, "--max-trials") == 0)
            g_max_trials = strtol(v, NULL, 10);
        else if (strcmp(k, "--count") == 0)
            g_count = strtol(v, NULL, 10);
        else if (strcmp(k, "--workers") == 0)
            workers = strtol(v, NULL, 10);
        else if (strcmp(k, "--warmup") == 0)
            g_warmup = strtol(v, NULL, 10);
        else if (strcmp(k, "--eval-ms") == 0)
            g_eval_ms = strtol(v, NULL, 10);
        else
            usage();
    }
    if ((strcmp(cmd, "eval") != 0 && (!g_server || !g_study)) || workers < 1 || workers > 256)
        usage();
    if (g_problem_name && strcmp(g_problem_name, "sphere10") != 0 &&
        !(g_problem = bp_find(g_problem_name))) {
        fprintf(stderr, "bench_tpe_http: unknown problem '%s'\n", g_problem_name);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    int rc;
    double secs;
    if (strcmp(cmd, "eval") == 0) {
        if (!g_problem)
            usage();
        rc = cmd_eval();
    } else if (strcmp(cmd, "create") == 0) {
        rc = cmd_create();
    } else if (strcmp(cmd, "fill") == 0) {
        if (g_count < 1)
            usage();
        rc = run_threads(workers, &secs);
        if (!rc)
            printf("{\"filled\":%ld,\"seconds\":%.3f}\n", g_count, secs);
    } else if (strcmp(cmd, "latency") == 0) {
        if (g_count < 1)
            usage();
        rc = cmd_latency();
    } else if (strcmp(cmd, "optimize") == 0) {
        if (!g_problem)
            usage();
        g_count = 0; /* until study_complete */
        rc = cmd_optimize(workers);
    } else {
        usage();
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
