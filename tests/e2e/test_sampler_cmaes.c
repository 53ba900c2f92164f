/* test_sampler_cmaes: the CMA-ES sampler through the real hpo-server: its options spelled out
 * and bad ones refused, generations advancing as complete trials arrive, params in range and on
 * their grids, parallel asks drawing different points, and a better best than random search on
 * the same budget. */
#include <check.h>
#include <curl/curl.h>
#include <math.h>
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

/* A log float, an int and a float for CMA-ES, and a categorical drawn at random. */
static const char *SPACE =
    "\"search_space\":{\"lr\":{\"type\":\"float\",\"low\":1e-4,\"high\":1,\"log\":true},"
    "\"k\":{\"type\":\"int\",\"low\":1,\"high\":8},"
    "\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
    "\"c\":{\"type\":\"categorical\",\"choices\":[\"a\",\"b\",\"c\"]}}";

/* Sphere-like, least at lr = 1e-2, k = 3, x = 1. */
static double objective(json_t *params)
{
    double lr = json_number_value(json_object_get(params, "lr"));
    double k = json_number_value(json_object_get(params, "k"));
    double x = json_number_value(json_object_get(params, "x"));
    return pow(log10(lr) + 2, 2) + 0.25 * (k - 3) * (k - 3) + 0.25 * (x - 1) * (x - 1);
}

static void check_params(json_t *params)
{
    double lr = json_number_value(json_object_get(params, "lr"));
    json_t *k = json_object_get(params, "k");
    double x = json_number_value(json_object_get(params, "x"));
    const char *c = json_string_value(json_object_get(params, "c"));
    ck_assert_msg(lr >= 1e-4 && lr <= 1, "lr %g", lr);
    ck_assert_msg(json_is_integer(k) && json_integer_value(k) >= 1 && json_integer_value(k) <= 8,
                  "k is not an int in [1, 8]");
    ck_assert_msg(x >= -5 && x < 5, "x %g", x);
    ck_assert(c && strlen(c) == 1 && c[0] >= 'a' && c[0] <= 'c');
}

static void create(const char *name, const char *sampler)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"sampler\":%s,%s}", name, sampler, SPACE);
    json_t *j;
    ck_assert_int_eq(post("/api/v1/studies", body, &j), 201);
    json_decref(j);
}

/* Asks one trial of study, checks its params; *ret_number, its generation (-1: null) and value. */
static int64_t ask(const char *study, int *ret_number, double *ret_value)
{
    json_t *j;
    ck_assert_int_eq(e2e_callj(&srv, "POST", NULL, &j, "/api/v1/studies/%s/trials", study), 201);
    json_t *params = json_object_get(j, "params");
    check_params(params);
    *ret_number = (int)json_integer_value(json_object_get(j, "number"));
    *ret_value = objective(params);
    json_t *g = json_object_get(j, "generation");
    ck_assert(json_is_null(g) || json_is_integer(g));
    int64_t gen = json_is_integer(g) ? json_integer_value(g) : -1;
    json_decref(j);
    return gen;
}

static void finish(const char *study, int number, double value)
{
    json_t *fin = json_pack("{s:s,s:f}", "state", "complete", "value", value), *j;
    ck_assert_int_eq(e2e_callj(&srv, "POST", fin, &j, "/api/v1/studies/%s/trials/%d/finish",
                               study, number), 200);
    json_decref(fin);
    json_decref(j);
}

START_TEST(options_are_spelled_out_and_checked)
{
    json_t *j;
    char body[2048];
    snprintf(body, sizeof body, "{\"name\":\"cm\",\"sampler\":{\"type\":\"cmaes\",\"seed\":3,"
             "\"popsize\":4},%s}", SPACE);
    ck_assert_int_eq(post("/api/v1/studies", body, &j), 201);
    char *got = json_dumps(json_object_get(j, "sampler"), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(got, "{\"consider_pruned_trials\":false,\"inc_popsize\":2,"
                          "\"n_startup_trials\":1,\"popsize\":4,\"restart_strategy\":null,"
                          "\"seed\":3,\"sigma0\":null,\"type\":\"cmaes\",\"x0\":null}");
    free(got);
    json_decref(j);
    snprintf(body, sizeof body, "{\"name\":\"cm2\",\"sampler\":{\"type\":\"cmaes\",\"seed\":3,"
             "\"x0\":{\"x\":0.5,\"k\":2},\"sigma0\":0.5,\"restart_strategy\":\"ipop\","
             "\"inc_popsize\":3,\"n_startup_trials\":0,\"consider_pruned_trials\":true},%s}",
             SPACE);
    ck_assert_int_eq(post("/api/v1/studies", body, &j), 201);
    got = json_dumps(json_object_get(j, "sampler"), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(got, "{\"consider_pruned_trials\":true,\"inc_popsize\":3,"
                          "\"n_startup_trials\":0,\"popsize\":null,\"restart_strategy\":\"ipop\","
                          "\"seed\":3,\"sigma0\":0.5,\"type\":\"cmaes\","
                          "\"x0\":{\"k\":2,\"x\":0.5}}");
    free(got);
    json_decref(j);
    /* read back as stored */
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/cm2", NULL, &j), 200);
    got = json_dumps(json_object_get(j, "sampler"), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert(strstr(got, "\"x0\":{\"k\":2,\"x\":0.5}") != NULL);
    free(got);
    json_decref(j);

    static const struct {
        const char *sampler, *field;
    } bad[] = {
        {"{\"type\":\"cmaes\",\"popsize\":3}", "sampler.popsize"},
        {"{\"type\":\"cmaes\",\"popsize\":4.5}", "sampler.popsize"},
        {"{\"type\":\"cmaes\",\"sigma0\":0}", "sampler.sigma0"},
        {"{\"type\":\"cmaes\",\"sigma0\":\"big\"}", "sampler.sigma0"},
        {"{\"type\":\"cmaes\",\"x0\":{\"x\":7}}", "sampler.x0"},
        {"{\"type\":\"cmaes\",\"x0\":{\"nope\":1}}", "sampler.x0"},
        {"{\"type\":\"cmaes\",\"x0\":{\"c\":\"a\"}}", "sampler.x0"},
        {"{\"type\":\"cmaes\",\"x0\":[1,2]}", "sampler.x0"},
        {"{\"type\":\"cmaes\",\"restart_strategy\":\"bipop\"}", "sampler.restart_strategy"},
        {"{\"type\":\"cmaes\",\"inc_popsize\":0}", "sampler.inc_popsize"},
        {"{\"type\":\"cmaes\",\"n_startup_trials\":-1}", "sampler.n_startup_trials"},
        {"{\"type\":\"cmaes\",\"consider_pruned_trials\":1}", "sampler.consider_pruned_trials"},
        {"{\"type\":\"cmaes\",\"use_separable_cma\":true}", "sampler.use_separable_cma"},
        {"{\"type\":\"cmaes\",\"with_margin\":true}", "sampler.with_margin"},
        {"{\"type\":\"cmaes\",\"colour\":1}", "sampler.colour"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"name\":\"bad\",\"sampler\":%s,%s}", bad[i].sampler,
                 SPACE);
        ck_assert_int_eq(post("/api/v1/studies", body, &j), 400);
        e2e_expect_error(j, "invalid_argument");
        const char *f = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
        ck_assert_msg(f && strcmp(f, bad[i].field) == 0, "case %zu: field %s, expected %s", i,
                      f ? f : "(none)", bad[i].field);
        json_decref(j);
    }
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"mo\",\"directions\":[\"minimize\","
                          "\"maximize\"],\"sampler\":{\"type\":\"cmaes\"}}", &j), 400);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "field")),
                     "sampler.type");
    json_decref(j);
}
END_TEST

/* popsize 4: trial 0 is the random start-up (no generation), then every 4 complete trials of a
 * generation move the next asks to the next one. */
START_TEST(generations_advance_as_trials_complete)
{
    create("gen", "{\"type\":\"cmaes\",\"seed\":11,\"popsize\":4}");
    for (int i = 0; i < 13; i++) {
        int num;
        double v;
        int64_t gen = ask("gen", &num, &v);
        ck_assert_int_eq(num, i);
        ck_assert_msg(gen == (i == 0 ? -1 : (i - 1) / 4), "trial %d: generation %lld", i,
                      (long long)gen);
        finish("gen", num, v);
    }
    /* four asks at once: the same generation, four different points */
    json_t *params[4];
    for (int i = 0; i < 4; i++) {
        json_t *j;
        ck_assert_int_eq(post("/api/v1/studies/gen/trials", NULL, &j), 201);
        ck_assert_int_eq(json_integer_value(json_object_get(j, "generation")), 3);
        params[i] = json_incref(json_object_get(j, "params"));
        json_decref(j);
    }
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            ck_assert(!json_equal(params[a], params[b]));
    for (int i = 0; i < 4; i++)
        json_decref(params[i]);
    /* a param fixed by the caller keeps its value, the trial its generation; a trial whose
     * params were all given has none */
    json_t *j;
    ck_assert_int_eq(post("/api/v1/studies/gen/trials", "{\"params\":{\"x\":0.25}}", &j), 201);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "generation")), 3);
    ck_assert_double_eq(json_number_value(json_object_get(json_object_get(j, "params"), "x")),
                        0.25);
    check_params(json_object_get(j, "params"));
    json_decref(j);
    ck_assert_int_eq(post("/api/v1/studies/gen/trials", "{\"params\":{\"x\":0.25,\"lr\":0.5,"
                          "\"k\":2,\"c\":\"b\"}}", &j), 201);
    ck_assert(json_is_null(json_object_get(j, "generation")));
    json_decref(j);
    /* the trial as read back carries its generation */
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/gen/trials/5", NULL, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "generation")), 1);
    json_decref(j);
}
END_TEST

static double best_of(const char *study, int n)
{
    double best = INFINITY;
    for (int i = 0; i < n; i++) {
        int num;
        double v;
        ask(study, &num, &v);
        best = fmin(best, v);
        finish(study, num, v);
    }
    return best;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The same budget of 80 trials, five seeds each: CMA-ES's median best well below random's. */
START_TEST(cmaes_beats_random_search)
{
    enum { SEEDS = 5, BUDGET = 80 };
    double cma[SEEDS], rnd[SEEDS];
    for (int s = 0; s < SEEDS; s++) {
        char name[32], sampler[128];
        snprintf(name, sizeof name, "cma%d", s);
        snprintf(sampler, sizeof sampler, "{\"type\":\"cmaes\",\"seed\":%d,\"popsize\":4}",
                 100 + s);
        create(name, sampler);
        cma[s] = best_of(name, BUDGET);
        snprintf(name, sizeof name, "rnd%d", s);
        snprintf(sampler, sizeof sampler, "{\"type\":\"random\",\"seed\":%d}", 100 + s);
        create(name, sampler);
        rnd[s] = best_of(name, BUDGET);
    }
    qsort(cma, SEEDS, sizeof cma[0], by_value);
    qsort(rnd, SEEDS, sizeof rnd[0], by_value);
    fprintf(stderr, "median best over %d trials: cmaes %.3g, random %.3g\n", BUDGET,
            cma[SEEDS / 2], rnd[SEEDS / 2]);
    ck_assert_msg(cma[SEEDS / 2] * 5 < rnd[SEEDS / 2], "cmaes %.3g, random %.3g", cma[SEEDS / 2],
                  rnd[SEEDS / 2]);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("sampler_cmaes");
    TCase *tc = tcase_create("sampler_cmaes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, options_are_spelled_out_and_checked);
    tcase_add_test(tc, generations_advance_as_trials_complete);
    tcase_add_test(tc, cmaes_beats_random_search);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
