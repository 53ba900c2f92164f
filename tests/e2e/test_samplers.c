/* test_samplers: samplers through the real hpo-server: TPE by default with its options checked,
 * the same seed and history giving the same params, no duplicate configurations under parallel
 * clients, and a grid handed out exactly once. */
#include <check.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
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

START_TEST(tpe_is_the_default_and_options_are_checked)
{
    json_t *j;
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"d\"}", &j), 201);
    json_t *s = json_object_get(j, "sampler");
    ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "tpe");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "n_startup_trials")), 10);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "n_ei_candidates")), 24);
    ck_assert(json_is_true(json_object_get(s, "constant_liar")));
    ck_assert(json_is_false(json_object_get(s, "multivariate")));
    json_decref(j);
    ck_assert_int_eq(post("/api/v1/studies", "{\"name\":\"mo\",\"directions\":[\"minimize\","
                          "\"minimize\"]}", &j), 201);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "sampler"), "type")),
                     "random");
    json_decref(j);

    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"cmaes\"}}", "sampler.type"},
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
        {"{\"name\":\"x\",\"directions\":[\"minimize\",\"maximize\"],\"sampler\":{\"type\":\"tpe\"}}",
         "sampler.type"},
        {"{\"name\":\"x\",\"sampler\":{\"type\":\"grid\"},\"search_space\":{\"f\":{\"type\":\"float\","
         "\"low\":0,\"high\":1}}}", "search_space"},
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
    ck_assert_int_eq(json_array_size(json_object_get(j, "studies")), 2);
    json_decref(j);
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
    tcase_add_test(tc, tpe_is_the_default_and_options_are_checked);
    tcase_add_test(tc, same_seed_same_history_same_params);
    tcase_add_test(tc, parallel_tpe_never_repeats_a_configuration);
    tcase_add_test(tc, grid_points_are_handed_out_exactly_once);
    tcase_add_test(tc, define_by_run_under_tpe);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
