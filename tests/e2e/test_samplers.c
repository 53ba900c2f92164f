/* test_samplers: samplers through the real hpo-server: TPE by default with its options checked,
 * the same seed and history giving the same params, no duplicate configurations under parallel
 * clients, a grid handed out exactly once, and the GP sampler (options, convergence on a mixed
 * space, reproducibility, parallel asks apart). */
#include <check.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_server.h"

static e2e_server srv;

static void setup(void)
{
    memset(&srv, 0, sizeof srv);
    e2e_start(&srv);
}

static void teardown(void)
{
    e2e_destroy(&srv);
}

static long post(const char *path, const char *body, json_t **ret)
{
    return e2e_call(&srv, "POST", path, body, ret);
}

START_TEST(auto_is_the_default_and_options_are_checked)
{
    json_t *j;
    /* the default: auto, its seed spelled out, nothing else */
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"a\"}", &j), 201);
    json_t *s = json_object_get(j, "sampler");
    ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "auto");
    ck_assert(json_is_integer(json_object_get(s, "seed")));
    ck_assert_int_eq(json_object_size(s), 2);
    json_decref(j);
    /* TPE's options spelled out */
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"d\",\"sampler\":{\"type\":\"tpe\"}}",
                          &j), 201);
    s = json_object_get(j, "sampler");
    ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "tpe");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "n_startup_trials")), 10);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "n_ei_candidates")), 24);
    ck_assert(json_is_true(json_object_get(s, "constant_liar")));
    ck_assert(json_is_false(json_object_get(s, "multivariate")));
    json_decref(j);
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"mo\",\"directions\":[\"minimize\","
                          "\"minimize\"],\"sampler\":{\"type\":\"tpe\"}}", &j), 201);
    /* several objectives: TPE too (Optuna 3.1's multi-objective TPE), without constant liar */
    s = json_object_get(j, "sampler");
    ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "tpe");
    ck_assert(json_is_false(json_object_get(s, "constant_liar")));
    json_decref(j);

    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"bayes\"}}", "sampler.type"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"n_ei_candidates\":0}}",
         "sampler.n_ei_candidates"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"gamma\":1.5}}", "sampler.gamma"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"prior_weight\":-1}}",
         "sampler.prior_weight"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"multivariate\":1}}",
         "sampler.multivariate"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"group\":true}}", "sampler.group"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"colour\":1}}", "sampler.colour"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"random\",\"n_startup_trials\":3}}",
         "sampler.n_startup_trials"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"seed\":-4}}", "sampler.seed"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"auto\",\"n_startup_trials\":3}}",
         "sampler.n_startup_trials"},
        {"{\"name\":\"x\",\"directions\":[\"minimize\",\"maximize\"],\"sampler\":{\"type\":\"tpe\","
         "\"constant_liar\":true}}", "sampler.constant_liar"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"grid\"},\"search_space\":{\"f\":{\"type\":\"float\","
         "\"low\":0,\"high\":1}}}", "search_space"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"qmc\",\"qmc_type\":\"faure\"}}",
         "sampler.qmc_type"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"qmc\",\"scramble\":\"yes\"}}",
         "sampler.scramble"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"qmc\",\"n_startup_trials\":3}}",
         "sampler.n_startup_trials"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"startup\":\"qmc\"}}",
         "sampler.startup"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"tpe\",\"scramble\":true}}",
         "sampler.scramble"},
        {"{\"name\":\"x\",\"directions\":[\"minimize\",\"minimize\"],\"sampler\":{\"type\":"
         "\"gp\"}}", "sampler.type"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"gp\",\"n_startup_trials\":-1}}",
         "sampler.n_startup_trials"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"gp\",\"deterministic_objective\":1}}",
         "sampler.deterministic_objective"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"gp\",\"n_ei_candidates\":8}}",
         "sampler.n_ei_candidates"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(post("/api/v1/studies", bad[i].body, &j), 400);
        e2e_expect_error(j, "invalid_argument");
        const char *f = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
        ck_assert_msg(f && strcmp(f, bad[i].field) == 0, "case %zu: field %s, expected %s", i,
                      f ? f : "(none)", bad[i].field);
        json_decref(j);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "studies")), 3); /* a, d, mo */
    json_decref(j);
}
END_TEST

/* Asks n trials of study `name` and puts param `p` of each in out[number]. */
static void ask_values(const char *name, const char *p, int n, double *out)
{
    for (int i = 0; i < n; i++) {
        json_t *j;
        ck_assert_int_eq(e2e_callj(&srv, "POST", NULL, &j, "/api/v1/studies/%s/trials", name),
                         201);
        int num = (int)json_integer_value(json_object_get(j, "number"));
        ck_assert(num >= 0 && num < n);
        out[num] = json_number_value(json_object_get(json_object_get(j, "params"), p));
        json_decref(j);
    }
}

/* Whether the n values (scaled to [0, 1) by lo, hi) fall one in each of n equal strata. */
static bool one_per_stratum(const double *v, int n, double lo, double hi)
{
    int seen[64] = {0};
    for (int i = 0; i < n; i++) {
        int k = (int)((v[i] - lo) / (hi - lo) * n);
        if (k < 0 || k >= n || seen[k]++)
            return false;
    }
    return true;
}

START_TEST(qmc_sampler_follows_the_sequence)
{
    json_t *j;
    /* plain Sobol': trial k is point k, the numeric params its coordinates in declared order */
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"q\",\"sampler\":{\"type\":\"qmc\"},"
                          "\"search_space\":{\"c\":{\"type\":\"categorical\",\"choices\":[1,2]},"
                          "\"x\":{\"type\":\"float\",\"low\":-1,\"high\":1},"
                          "\"lr\":{\"type\":\"float\",\"low\":0.001,\"high\":1,\"log\":true}}}",
                          &j), 201);
    json_t *s = json_object_get(j, "sampler");
    ck_assert_str_eq(json_string_value(json_object_get(s, "qmc_type")), "sobol");
    ck_assert(json_is_false(json_object_get(s, "scramble")));
    json_decref(j);
    double x[8], lr[8];
    ask_values("q", "x", 8, x);
    /* scipy.stats.qmc.Sobol(2, scramble=False): dimension 0 then 1 of points 0 .. 7 */
    static const double d0[8] = {0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125};
    static const double d1[8] = {0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625};
    for (int k = 0; k < 8; k++)
        ck_assert_msg(fabs(x[k] - (-1 + 2 * d0[k])) < 1e-12, "trial %d: x %.17g", k, x[k]);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/q/trials?limit=100", NULL, &j), 200);
    json_t *ts = json_object_get(j, "trials");
    ck_assert_int_eq(json_array_size(ts), 8);
    for (size_t i = 0; i < 8; i++) {
        json_t *t = json_array_get(ts, i);
        int k = (int)json_integer_value(json_object_get(t, "number"));
        lr[k] = json_number_value(json_object_get(json_object_get(t, "params"), "lr"));
    }
    json_decref(j);
    for (int k = 0; k < 8; k++) {
        double want = exp(log(0.001) + d1[k] * (log(1) - log(0.001)));
        ck_assert_msg(fabs(lr[k] - want) < 1e-12 * want, "trial %d: lr %.17g, want %.17g", k,
                      lr[k], want);
    }

    /* scrambled: seeded, no longer the plain points, still one point per stratum */
    double a[16], b[16], h[16];
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"qa\",\"sampler\":{\"type\":\"qmc\","
                          "\"scramble\":true,\"seed\":7},\"search_space\":{\"x\":{\"type\":"
                          "\"float\",\"low\":0,\"high\":1}}}", &j), 201);
    json_decref(j);
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"qb\",\"sampler\":{\"type\":\"qmc\","
                          "\"scramble\":true,\"seed\":7},\"search_space\":{\"x\":{\"type\":"
                          "\"float\",\"low\":0,\"high\":1}}}", &j), 201);
    json_decref(j);
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"qh\",\"sampler\":{\"type\":\"qmc\","
                          "\"qmc_type\":\"halton\",\"scramble\":true,\"seed\":7},"
                          "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}",
                          &j), 201);
    json_decref(j);
    ask_values("qa", "x", 16, a);
    ask_values("qb", "x", 16, b);
    ask_values("qh", "x", 16, h);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert(a[0] != 0 || a[1] != 0.5);
    ck_assert(one_per_stratum(a, 16, 0, 1));
    ck_assert(one_per_stratum(h, 16, 0, 1));
    ck_assert(memcmp(a, h, sizeof a) != 0);
}
END_TEST

START_TEST(tpe_startup_from_a_sobol_sequence)
{
    json_t *j;
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"ts\",\"sampler\":{\"type\":\"tpe\","
                          "\"startup\":\"sobol\",\"n_startup_trials\":16,\"seed\":3},"
                          "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
                          "\"y\":{\"type\":\"float\",\"low\":-5,\"high\":5}}}", &j), 201);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "sampler"), "startup")),
                     "sobol");
    json_decref(j);
    double x[16], y[16];
    ask_values("ts", "x", 16, x);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/ts/trials?limit=100", NULL, &j), 200);
    for (size_t i = 0; i < 16; i++) {
        json_t *t = json_array_get(json_object_get(j, "trials"), i);
        y[json_integer_value(json_object_get(t, "number"))] =
            json_number_value(json_object_get(json_object_get(t, "params"), "y"));
    }
    json_decref(j);
    /* random draws would put two of 16 in one stratum of x or y nearly always (1 - 16!/16^16) */
    ck_assert(one_per_stratum(x, 16, -5, 5));
    ck_assert(one_per_stratum(y, 16, -5, 5));
}
END_TEST

static double quadratic(json_t *params)
{
    double x = json_real_value(json_object_get(params, "x"));
    double y = json_real_value(json_object_get(params, "y"));
    long k = (long)json_integer_value(json_object_get(params, "k"));
    const char *c = json_string_value(json_object_get(params, "c"));
    return (x - 1) * (x - 1) + (y + 2) * (y + 2) + (double)((k - 3) * (k - 3)) +
           (c && strcmp(c, "b") == 0 ? 0 : 1);
}

static const char *SPACE =
    "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
    "\"y\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
    "\"k\":{\"type\":\"int\",\"low\":1,\"high\":8},"
    "\"c\":{\"type\":\"categorical\",\"choices\":[\"a\",\"b\",\"c\"]}}";

/* Runs n sequential trials and returns the JSON text of every trial's params, in order. */
static char *run_sequential(const char *study, int n, double *ret_best)
{
    json_t *all = json_array(), *j;
    double best = INFINITY;
    for (int i = 0; i < n; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/studies/%s/trials", study);
        ck_assert_int_eq(post(path, NULL, &j), 201);
        json_t *params = json_object_get(j, "params");
        double v = quadratic(params);
        best = fmin(best, v);
        json_array_append(all, params);
        int num = (int)json_integer_value(json_object_get(j, "number"));
        json_decref(j);
        json_t *fin = json_pack("{s:s,s:f}", "state", "complete", "value", v);
        ck_assert_int_eq(e2e_callj(&srv, "POST", fin, &j, "/api/v1/studies/%s/trials/%d/finish",
                                   study, num), 200);
        json_decref(fin);
        json_decref(j);
    }
    char *text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    if (ret_best)
        *ret_best = best;
    return text;
}

START_TEST(same_seed_same_history_same_params)
{
    json_t *j;
    char body[1024];
    for (int k = 0; k < 3; k++) {
        snprintf(body, sizeof body, "{\"name\":\"seeded%d\",\"sampler\":{\"type\":\"tpe\",\"seed\":%d},"
                 "%s}", k, k < 2 ? 42 : 43, SPACE);
        ck_assert_int_eq(post("/api/v1/studies", body, &j), 201);
        json_decref(j);
    }
    double best;
    char *a = run_sequential("seeded0", 30, &best);
    char *b = run_sequential("seeded1", 30, NULL);
    char *c = run_sequential("seeded2", 30, NULL);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert(best < 10);
    free(a), free(b), free(c);
}
END_TEST

#define N_CLIENTS 8
#define N_PER_CLIENT 15

typedef struct {
    const char *study;
    int failures;
} client_arg;

static void *tpe_client(void *p)
{
    client_arg *a = p;
    for (int i = 0; i < N_PER_CLIENT; i++) {
        json_t *j = NULL;
        char path[128];
        snprintf(path, sizeof path, "/api/v1/studies/%s/trials", a->study);
        if (post(path, NULL, &j) != 201) {
            a->failures++;
            json_decref(j);
            return NULL;
        }
        double v = quadratic(json_object_get(j, "params"));
        int num = (int)json_integer_value(json_object_get(j, "number"));
        json_decref(j);
        json_t *fin = json_pack("{s:s,s:f}", "state", "complete", "value", v);
        if (e2e_callj(&srv, "POST", fin, &j, "/api/v1/studies/%s/trials/%d/finish", a->study,
                      num) != 200)
            a->failures++;
        json_decref(fin);
        json_decref(j);
    }
    return NULL;
}

START_TEST(parallel_tpe_never_repeats_a_configuration)
{
    json_t *j;
    char body[1024];
    snprintf(body, sizeof body, "{\"name\":\"par\",\"sampler\":{\"type\":\"tpe\",\"seed\":5},"
             "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
             "\"y\":{\"type\":\"float\",\"low\":-5,\"high\":5}}}");
    ck_assert_int_eq(post("/api/v1/studies", body, &j), 201);
    json_decref(j);
    pthread_t th[N_CLIENTS];
    client_arg args[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        args[i] = (client_arg){"par", 0};
        pthread_create(&th[i], NULL, tpe_client, &args[i]);
    }
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/par/trials?limit=1000", NULL, &j), 200);
    json_t *trials = json_object_get(j, "trials");
    size_t n = json_array_size(trials);
    ck_assert_int_eq(n, N_CLIENTS * N_PER_CLIENT);
    for (size_t a = 0; a < n; a++) {
        json_t *pa = json_object_get(json_array_get(trials, a), "params");
        for (size_t b = a + 1; b < n; b++) {
            json_t *pb = json_object_get(json_array_get(trials, b), "params");
            ck_assert_msg(!json_equal(pa, pb), "trials %zu and %zu have the same params", a, b);
        }
    }
    json_decref(j);
}
END_TEST

START_TEST(gp_sampler_minimizes_reproducibly)
{
    json_t *j;
    char body[1024];
    for (int k = 0; k < 2; k++) {
        snprintf(body, sizeof body, "{\"name\":\"gp%d\",\"sampler\":{\"type\":\"gp\","
                 "\"seed\":42,\"n_startup_trials\":8},%s}", k, SPACE);
        ck_assert_int_eq(post("/api/v1/studies", body, &j), 201);
        json_t *smp = json_object_get(j, "sampler");
        ck_assert_str_eq(json_string_value(json_object_get(smp, "type")), "gp");
        ck_assert_int_eq(json_integer_value(json_object_get(smp, "n_startup_trials")), 8);
        ck_assert_int_eq(json_integer_value(json_object_get(smp, "seed")), 42);
        ck_assert(json_is_false(json_object_get(smp, "deterministic_objective")));
        json_decref(j);
    }
    double best;
    char *a = run_sequential("gp0", 30, &best);
    char *b = run_sequential("gp1", 30, NULL);
    ck_assert_str_eq(a, b); /* the same seed and the same asks: the same params */
    /* the minimum is 0 (x = 1, y = -2, k = 3, c = b); random search's median best after 30
     * trials of this space is above 2 */
    ck_assert_msg(best < 0.5, "best %g", best);
    free(a), free(b);
}
END_TEST

/* 8 clients asking at once: each ask sees the others' running trials as constant liars (and the
 * duplicate check stands behind them): no two configurations alike. */
START_TEST(parallel_gp_never_repeats_a_configuration)
{
    json_t *j;
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"gpp\",\"sampler\":{\"type\":\"gp\","
                          "\"seed\":5,\"n_startup_trials\":5},"
                          "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
                          "\"y\":{\"type\":\"float\",\"low\":-5,\"high\":5}}}", &j), 201);
    json_decref(j);
    pthread_t th[N_CLIENTS];
    client_arg args[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        args[i] = (client_arg){"gpp", 0};
        pthread_create(&th[i], NULL, tpe_client, &args[i]);
    }
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/gpp/trials?limit=1000", NULL, &j), 200);
    json_t *trials = json_object_get(j, "trials");
    size_t n = json_array_size(trials);
    ck_assert_int_eq(n, N_CLIENTS * N_PER_CLIENT);
    double best = INFINITY;
    for (size_t a = 0; a < n; a++) {
        json_t *ta = json_array_get(trials, a), *pa = json_object_get(ta, "params");
        best = fmin(best, json_number_value(json_object_get(ta, "value")));
        for (size_t b = a + 1; b < n; b++) {
            json_t *pb = json_object_get(json_array_get(trials, b), "params");
            ck_assert_msg(!json_equal(pa, pb), "trials %zu and %zu have the same params", a, b);
        }
    }
    /* quadratic() without k and c: (x - 1)^2 + (y + 2)^2 + 9 + 1 */
    ck_assert_msg(best < 10.1, "best %g", best);
    json_decref(j);
}
END_TEST

typedef struct {
    int numbers[16];
    char keys[16][64];
    int n;
} grid_client;

static void *grid_ask(void *p)
{
    grid_client *g = p;
    for (;;) {
        json_t *j = NULL;
        long st = post("/api/v1/studies/grid/trials", NULL, &j);
        if (st != 201) {
            json_decref(j);
            return NULL;
        }
        json_t *params = json_object_get(j, "params");
        snprintf(g->keys[g->n], sizeof g->keys[0], "%lld/%s",
                 (long long)json_integer_value(json_object_get(params, "k")),
                 json_string_value(json_object_get(params, "c")));
        g->numbers[g->n++] = (int)json_integer_value(json_object_get(j, "number"));
        json_decref(j);
        if (g->n == 16)
            return NULL;
    }
}

START_TEST(grid_points_are_handed_out_exactly_once)
{
    json_t *j;
    ck_assert_int_eq(post("/api/v1/studies",
                          "{\"name\":\"grid\",\"sampler\":{\"type\":\"grid\",\"seed\":1},"
                          "\"search_space\":{\"k\":{\"type\":\"int\",\"low\":1,\"high\":4},"
                          "\"c\":{\"type\":\"categorical\",\"choices\":[\"a\",\"b\"]}}}", &j), 201);
    json_decref(j);
    grid_client clients[6];
    pthread_t th[6];
    memset(clients, 0, sizeof clients);
    for (int i = 0; i < 6; i++)
        pthread_create(&th[i], NULL, grid_ask, &clients[i]);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    int total = 0;
    for (int a = 0; a < 6; a++)
        for (int x = 0; x < clients[a].n; x++) {
            total++;
            for (int b = 0; b < 6; b++)
                for (int y = 0; y < clients[b].n; y++)
                    if (a != b || x != y)
                        ck_assert_str_ne(clients[a].keys[x], clients[b].keys[y]);
        }
    ck_assert_int_eq(total, 8);

    /* every point taken, some running: no work now, but maybe later */
    ck_assert_int_eq(post("/api/v1/studies/grid/trials", NULL, &j), 204);
    ck_assert_ptr_null(j);
    /* a failed point is handed out again */
    ck_assert_int_eq(post("/api/v1/studies/grid/trials/3/finish", "{\"state\":\"fail\"}", &j), 200);
    json_t *failed_params = json_incref(json_object_get(j, "params"));
    json_decref(j);
    ck_assert_int_eq(post("/api/v1/studies/grid/trials", NULL, &j), 201);
    ck_assert(json_equal(json_object_get(j, "params"), failed_params));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), 8);
    json_decref(j);
    json_decref(failed_params);
    for (int n = 0; n <= 8; n++) {
        if (n == 3)
            continue;
        json_t *fin = json_pack("{s:s,s:f}", "state", "complete", "value", (double)n);
        ck_assert_int_eq(e2e_callj(&srv, "POST", fin, &j, "/api/v1/studies/grid/trials/%d/finish",
                                   n), 200);
        json_decref(fin);
        json_decref(j);
    }
    ck_assert_int_eq(post("/api/v1/studies/grid/trials", NULL, &j), 409);
    e2e_expect_error(j, "study_complete");
    json_decref(j);
}
END_TEST

START_TEST(define_by_run_under_tpe)
{
    json_t *j;
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"dbr\",\"sampler\":{\"type\":\"tpe\","
                          "\"n_startup_trials\":3,\"seed\":9}}", &j), 201);
    json_decref(j);
    const char *sug = "{\"name\":\"lr\",\"distribution\":{\"type\":\"float\",\"low\":1e-5,"
                      "\"high\":1,\"log\":true}}";
    json_t *sugj = json_loads(sug, 0, NULL);
    double best = INFINITY;
    for (int i = 0; i < 25; i++) {
        ck_assert_int_eq(post("/api/v1/studies/dbr/trials", NULL, &j), 201);
        int num = (int)json_integer_value(json_object_get(j, "number"));
        json_decref(j);
        ck_assert_int_eq(e2e_callj(&srv, "POST", sugj, &j,
                                   "/api/v1/studies/dbr/trials/%d/suggest", num), 200);
        double lr = json_real_value(json_object_get(j, "value"));
        json_decref(j);
        ck_assert(lr >= 1e-5 && lr <= 1);
        double v = fabs(log10(lr) + 3); /* best at 1e-3 */
        best = fmin(best, v);
        json_t *fin = json_pack("{s:s,s:f}", "state", "complete", "value", v);
        ck_assert_int_eq(e2e_callj(&srv, "POST", fin, &j, "/api/v1/studies/dbr/trials/%d/finish",
                                   num), 200);
        json_decref(fin);
        json_decref(j);
    }
    json_decref(sugj);
    ck_assert(best < 0.3);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("samplers");
    TCase *tc = tcase_create("samplers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, auto_is_the_default_and_options_are_checked);
    tcase_add_test(tc, same_seed_same_history_same_params);
    tcase_add_test(tc, parallel_tpe_never_repeats_a_configuration);
    tcase_add_test(tc, grid_points_are_handed_out_exactly_once);
    tcase_add_test(tc, define_by_run_under_tpe);
    tcase_add_test(tc, qmc_sampler_follows_the_sequence);
    tcase_add_test(tc, tpe_startup_from_a_sobol_sequence);
    tcase_add_test(tc, gp_sampler_minimizes_reproducibly);
    tcase_add_test(tc, parallel_gp_never_repeats_a_configuration);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
