/* test_nsga2: the NSGA-II sampler through the service over a real PostgreSQL: its options
 * spelled out and checked, trials in generation 0 until population_size are COMPLETE, children
 * made of the parents' values, an enqueued trial joining the generation it starts in, the
 * generations after a restart, and parallel asks getting distinct children in a small discrete
 * space. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_testdb.h"
#include "hpo_testsvc.h"

static char *db;
static hpo_testsvc ts;

static void setup(void)
{
    db = hpo_testdb_create();
    hpo_testsvc_open(&ts, db, 4);
}

static void teardown(void)
{
    hpo_testsvc_close(&ts);
    hpo_testdb_drop(db);
    free(db);
}

static void restart(void)
{
    hpo_testsvc_close(&ts);
    hpo_testsvc_open(&ts, db, 4);
}

static const hpo_direction DIRS[2] = {HPO_MINIMIZE, HPO_MAXIMIZE};

/* Creates a 2-objective study with `sampler` over space (moved in: cleared); the canonical
 * sampler JSON in *ret_sampler (owned) when asked for. */
static hpo_rc create(const char *name, const char *sampler, hpo_space *space, char **ret_sampler,
                     hpo_error *err)
{
    hpo_study_config c = {0};
    c.name = (char *)name;
    c.n_directions = 2;
    c.directions = (hpo_direction *)DIRS;
    c.sampler = (char *)sampler;
    c.space = *space;
    hpo_study_info info = {0};
    bool created = false;
    hpo_rc rc = hpo_service_study_create(ts.svc, &c, false, &info, &created, err);
    if (rc == HPO_OK && ret_sampler)
        *ret_sampler = strdup(info.config.sampler);
    hpo_study_info_clear(&info);
    hpo_space_clear(space);
    return rc;
}

static void add(hpo_space *s, const char *name, hpo_dist d)
{
    ck_assert_int_eq(hpo_space_add(s, name, &d), HPO_OK);
}

static hpo_choice CHOICES[3] = {{.kind = HPO_CHOICE_STRING, .str = "a"},
                                {.kind = HPO_CHOICE_STRING, .str = "b"},
                                {.kind = HPO_CHOICE_STRING, .str = "c"}};

/* x, k, c, lr, and a single-valued param "one". */
static void mixed_space(hpo_space *s)
{
    add(s, "x", (hpo_dist){.type = HPO_DIST_FLOAT, .low = -5, .high = 5});
    add(s, "k", (hpo_dist){.type = HPO_DIST_INT, .low = 0, .high = 20, .step = 1});
    add(s, "c", (hpo_dist){.type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = CHOICES});
    add(s, "lr", (hpo_dist){.type = HPO_DIST_FLOAT, .low = 1e-4, .high = 1, .log = true});
    add(s, "one", (hpo_dist){.type = HPO_DIST_INT, .low = 1, .high = 1, .step = 1});
}

static void ask(const char *study, hpo_trial *ret)
{
    bool replayed;
    hpo_error err = {0};
    hpo_ask_request req = {.worker = "w"};
    ck_assert_msg(hpo_service_ask(ts.svc, study, &req, ret, &replayed, NULL, &err) == HPO_OK,
                  "%s", err.message);
}

static void finish(const char *study, int64_t n, hpo_trial_state state, double v0, double v1)
{
    double v[2] = {v0, v1};
    hpo_finish_request fin = {state, state == HPO_TRIAL_COMPLETE ? v : NULL,
                              state == HPO_TRIAL_COMPLETE ? 2 : 0, NULL, false, NULL, 0};
    hpo_trial done = {0};
    hpo_error err = {0};
    ck_assert_msg(hpo_service_finish(ts.svc, study, n, &fin, &done, &err) == HPO_OK, "%s",
                  err.message);
    hpo_trial_clear(&done);
}

static double param(const hpo_trial *t, const char *name)
{
    const hpo_param *p = hpo_trial_param(t, name);
    ck_assert_msg(p != NULL, "trial %lld has no %s", (long long)t->number, name);
    return p->value;
}

/* The trial's generation, -1 when it has none. */
static int64_t generation(const hpo_trial *t)
{
    return t->has_generation ? t->generation : -1;
}

static int64_t stored_generation(const char *study, int64_t n)
{
    hpo_trial t = {0};
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_trial(ts.svc, study, n, &t, &err), HPO_OK);
    int64_t g = generation(&t);
    hpo_trial_clear(&t);
    return g;
}

START_TEST(options_are_spelled_out_and_checked)
{
    hpo_space s = {0};
    char *text = NULL;
    hpo_error err = {0};
    add(&s, "x", (hpo_dist){.type = HPO_DIST_FLOAT, .low = 0, .high = 1});
    ck_assert_int_eq(create("d", "{\"type\":\"nsga2\",\"seed\":3}", &s, &text, &err), HPO_OK);
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "nsga2");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seed")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "population_size")), 50);
    ck_assert(json_is_null(json_object_get(j, "mutation_prob")));
    ck_assert(json_real_value(json_object_get(j, "crossover_prob")) == 0.9);
    ck_assert(json_real_value(json_object_get(j, "swapping_prob")) == 0.5);
    ck_assert(json_is_true(json_object_get(j, "constraints")));
    ck_assert_uint_eq(json_object_size(j), 7);
    json_decref(j);
    free(text);

    add(&s, "x", (hpo_dist){.type = HPO_DIST_FLOAT, .low = 0, .high = 1});
    ck_assert_int_eq(create("e", "{\"type\":\"nsga2\",\"population_size\":2,\"mutation_prob\":0,"
                                 "\"crossover_prob\":1,\"swapping_prob\":0.25,"
                                 "\"constraints\":false}", &s, &text, &err), HPO_OK);
    j = json_loads(text, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "population_size")), 2);
    ck_assert(json_number_value(json_object_get(j, "mutation_prob")) == 0);
    ck_assert(json_number_value(json_object_get(j, "crossover_prob")) == 1);
    ck_assert(json_number_value(json_object_get(j, "swapping_prob")) == 0.25);
    ck_assert(json_is_false(json_object_get(j, "constraints")));
    ck_assert(json_is_integer(json_object_get(j, "seed"))); /* drawn, and kept */
    json_decref(j);
    free(text);

    static const struct {
        const char *sampler, *field;
    } bad[] = {
        {"{\"type\":\"nsga2\",\"population_size\":1}", "sampler.population_size"},
        {"{\"type\":\"nsga2\",\"population_size\":4.5}", "sampler.population_size"},
        {"{\"type\":\"nsga2\",\"population_size\":\"4\"}", "sampler.population_size"},
        {"{\"type\":\"nsga2\",\"mutation_prob\":1.5}", "sampler.mutation_prob"},
        {"{\"type\":\"nsga2\",\"mutation_prob\":\"x\"}", "sampler.mutation_prob"},
        {"{\"type\":\"nsga2\",\"crossover_prob\":-0.1}", "sampler.crossover_prob"},
        {"{\"type\":\"nsga2\",\"crossover_prob\":null}", "sampler.crossover_prob"},
        {"{\"type\":\"nsga2\",\"swapping_prob\":2}", "sampler.swapping_prob"},
        {"{\"type\":\"nsga2\",\"constraints\":1}", "sampler.constraints"},
        {"{\"type\":\"nsga2\",\"crossover\":\"sbx\"}", "sampler.crossover"},
        {"{\"type\":\"nsga2\",\"n_startup_trials\":3}", "sampler.n_startup_trials"},
        {"{\"type\":\"nsga2\",\"seed\":-1}", "sampler.seed"},
        {"{\"type\":\"tpe\",\"population_size\":4}", "sampler.population_size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        add(&s, "x", (hpo_dist){.type = HPO_DIST_FLOAT, .low = 0, .high = 1});
        hpo_error e = {0};
        ck_assert_int_eq(create("bad", bad[i].sampler, &s, NULL, &e), HPO_E_INVALID);
        ck_assert_msg(strcmp(e.field, bad[i].field) == 0, "%s: field %s", bad[i].sampler,
                      e.field);
    }
}
END_TEST

/* Population 4, no mutation: generation 0 until 4 of its trials are COMPLETE (failed, pruned
 * and running ones do not count), then generation 1, whose params are all the parents' values;
 * generation 2 once 4 of generation 1 are COMPLETE. */
START_TEST(generations_and_children)
{
    hpo_space s = {0};
    mixed_space(&s);
    hpo_error err = {0};
    ck_assert_int_eq(create("g", "{\"type\":\"nsga2\",\"seed\":11,\"population_size\":4,"
                                 "\"mutation_prob\":0}", &s, NULL, &err), HPO_OK);
    hpo_trial t[16];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 6; i++) {
        ask("g", &t[i]);
        ck_assert_int_eq(t[i].number, i);
        ck_assert_int_eq(generation(&t[i]), 0);
        ck_assert(param(&t[i], "one") == 1);
    }
    /* 0, 1, 2 COMPLETE, 3 failed, 4 pruned, 5 running: still generation 0 */
    for (int i = 0; i < 3; i++)
        finish("g", i, HPO_TRIAL_COMPLETE, param(&t[i], "x") * param(&t[i], "x"),
               param(&t[i], "k"));
    finish("g", 3, HPO_TRIAL_FAIL, 0, 0);
    finish("g", 4, HPO_TRIAL_PRUNED, 0, 0);
    ask("g", &t[6]);
    ck_assert_int_eq(generation(&t[6]), 0);
    /* the fourth and fifth COMPLETE: generation 1, from the 5 COMPLETE of generation 0 */
    finish("g", 5, HPO_TRIAL_COMPLETE, 1, 2);
    finish("g", 6, HPO_TRIAL_COMPLETE, param(&t[6], "x"), 30);
    static const char *const NUMERIC[] = {"x", "k", "c", "lr"};
    for (int i = 7; i < 15; i++) {
        ask("g", &t[i]);
        ck_assert_int_eq(generation(&t[i]), i < 11 ? 1 : 2);
        ck_assert_int_eq(stored_generation("g", i), generation(&t[i]));
        if (i < 11) {
            /* each param is one of generation 0's COMPLETE trials' values (0, 1, 2, 5, 6) */
            for (size_t p = 0; p < 4; p++) {
                bool found = false;
                for (int g0 = 0; g0 < 7; g0++)
                    found |= (g0 <= 2 || g0 >= 5) &&
                             param(&t[i], NUMERIC[p]) == param(&t[g0], NUMERIC[p]);
                ck_assert_msg(found, "trial %d: %s = %g is no parent's", i, NUMERIC[p],
                              param(&t[i], NUMERIC[p]));
            }
            finish("g", i, HPO_TRIAL_COMPLETE, param(&t[i], "x"), (double)i);
        }
    }
    ck_assert(param(&t[12], "one") == 1);
    /* after a restart the generations are read back and the replay goes on the same */
    restart();
    ask("g", &t[15]);
    ck_assert_int_eq(generation(&t[15]), 2);
    ck_assert_int_eq(stored_generation("g", 7), 1);
    for (int i = 0; i < 16; i++)
        hpo_trial_clear(&t[i]);
}
END_TEST

/* An enqueued trial gets its generation when it starts (as Optuna samples an enqueued trial),
 * stored; its fixed param keeps its value. */
START_TEST(enqueued_trial_joins_a_generation)
{
    hpo_space s = {0};
    mixed_space(&s);
    hpo_error err = {0};
    ck_assert_int_eq(create("q", "{\"type\":\"nsga2\",\"seed\":2,\"population_size\":2}", &s,
                            NULL, &err), HPO_OK);
    hpo_trial t = {0};
    for (int i = 0; i < 2; i++) {
        ask("q", &t);
        finish("q", t.number, HPO_TRIAL_COMPLETE, i, i);
        hpo_trial_clear(&t);
    }
    hpo_fixed_param fx = {"x", {.kind = HPO_CHOICE_NUMBER, .number = 1.25}};
    hpo_fixed_params fp = {1, &fx};
    ck_assert_int_eq(hpo_service_enqueue(ts.svc, "q", &fp, &t, &err), HPO_OK);
    ck_assert_int_eq(generation(&t), -1); /* waiting: not sampled yet */
    int64_t n = t.number;
    hpo_trial_clear(&t);
    ask("q", &t);
    ck_assert_int_eq(t.number, n);
    ck_assert_int_eq(generation(&t), 1);
    ck_assert(param(&t, "x") == 1.25);
    hpo_trial_clear(&t);
    restart();
    ck_assert_int_eq(stored_generation("q", n), 1);
}
END_TEST

#define N_PARALLEL 8

typedef struct {
    hpo_trial t;
    hpo_rc rc;
} parallel_ask;

static void *ask_thread(void *p)
{
    parallel_ask *a = p;
    bool replayed;
    hpo_ask_request req = {.worker = "p"};
    a->rc = hpo_service_ask(ts.svc, "par", &req, &a->t, &replayed, NULL, NULL);
    return NULL;
}

/* 8 asks at once in a space of 24 points, generation 1 of a population of 4: 8 different
 * children, none equal to another running trial's params. */
START_TEST(parallel_asks_get_distinct_children)
{
    hpo_space s = {0};
    add(&s, "a", (hpo_dist){.type = HPO_DIST_INT, .low = 0, .high = 3, .step = 1});
    add(&s, "b", (hpo_dist){.type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = CHOICES});
    add(&s, "c", (hpo_dist){.type = HPO_DIST_INT, .low = 0, .high = 1, .step = 1});
    hpo_error err = {0};
    ck_assert_int_eq(create("par", "{\"type\":\"nsga2\",\"seed\":5,\"population_size\":4}", &s,
                            NULL, &err), HPO_OK);
    hpo_trial t = {0};
    for (int i = 0; i < 4; i++) {
        ask("par", &t);
        finish("par", t.number, HPO_TRIAL_COMPLETE, param(&t, "a"), param(&t, "c"));
        hpo_trial_clear(&t);
    }
    parallel_ask a[N_PARALLEL];
    pthread_t th[N_PARALLEL];
    memset(a, 0, sizeof a);
    for (int i = 0; i < N_PARALLEL; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, ask_thread, &a[i]), 0);
    for (int i = 0; i < N_PARALLEL; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_PARALLEL; i++) {
        ck_assert_int_eq(a[i].rc, HPO_OK);
        ck_assert_int_eq(generation(&a[i].t), 1);
        for (int k = 0; k < i; k++)
            ck_assert_msg(param(&a[i].t, "a") != param(&a[k].t, "a") ||
                              param(&a[i].t, "b") != param(&a[k].t, "b") ||
                              param(&a[i].t, "c") != param(&a[k].t, "c"),
                          "trials %lld and %lld have the same params", (long long)a[i].t.number,
                          (long long)a[k].t.number);
    }
    for (int i = 0; i < N_PARALLEL; i++)
        hpo_trial_clear(&a[i].t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nsga2");
    TCase *tc = tcase_create("nsga2");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options_are_spelled_out_and_checked);
    tcase_add_test(tc, generations_and_children);
    tcase_add_test(tc, enqueued_trial_joins_a_generation);
    tcase_add_test(tc, parallel_asks_get_distinct_children);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
