/* test_service: the service over a real PostgreSQL: 16 concurrent ask loops against max_trials,
 * a restart (new service and store on the same database) keeping every study, two servers, a
 * two-objective study under multi-objective TPE. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"
#include "hpo_testdb.h"
#include "hpo_testsvc.h"

static char *db;
static hpo_testsvc ts;

/* A restart: the service and its store opened again on the same database. */
static void open_service(void)
{
    hpo_testsvc_open(&ts, db, 20);
}

static void close_service(void)
{
    hpo_testsvc_close(&ts);
}

static void setup(void)
{
    db = hpo_testdb_create();
    open_service();
}

static void teardown(void)
{
    close_service();
    hpo_testdb_drop(db);
    free(db);
}

static void create_study(const char *name, int64_t max_trials, size_t n_directions)
{
    hpo_study_config c = {0};
    hpo_direction dirs[2] = {HPO_MINIMIZE, HPO_MAXIMIZE};
    c.name = (char *)name;
    c.n_directions = n_directions;
    c.directions = dirs;
    c.max_trials = max_trials;
    hpo_dist x = {.type = HPO_DIST_FLOAT, .low = -5, .high = 5};
    hpo_dist k = {.type = HPO_DIST_INT, .low = 1, .high = 64, .step = 1, .log = true};
    ck_assert_int_eq(hpo_space_add(&c.space, "x", &x), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&c.space, "k", &k), HPO_OK);
    hpo_study_info info = {0};
    bool created = false;
    hpo_error err = {0};
    ck_assert_msg(hpo_service_study_create(ts.svc, &c, false, &info, &created, &err) == HPO_OK,
                  "%s", err.message);
    ck_assert(created);
    hpo_study_info_clear(&info);
    hpo_space_clear(&c.space);
}

#define N_LOOPS 16
#define N_MAX 500

typedef struct {
    int numbers[N_MAX];
    int n;
    hpo_rc last;
} loop_result;

static void *ask_loop(void *arg)
{
    loop_result *r = arg;
    for (;;) {
        hpo_trial t = {0};
        bool replayed;
        hpo_error err = {0};
        hpo_ask_request req = {.worker = "loop"};
        r->last = hpo_service_ask(ts.svc, "load", &req, &t, &replayed, NULL, &err);
        if (r->last)
            return NULL;
        r->numbers[r->n++] = (int)t.number;
        double v = (double)t.number;
        hpo_finish_request fin = {HPO_TRIAL_COMPLETE, &v, 1, NULL, false, NULL, 0};
        hpo_trial done = {0};
        if (t.number % 3 == 0)
            r->last = hpo_service_finish(ts.svc, "load", t.number, &fin, &done, &err);
        hpo_trial_clear(&t);
        hpo_trial_clear(&done);
        if (r->last)
            return NULL;
    }
}

START_TEST(concurrent_ask_loops_number_0_to_499)
{
    create_study("load", N_MAX, 1);
    static loop_result results[N_LOOPS];
    memset(results, 0, sizeof results);
    pthread_t th[N_LOOPS];
    for (int i = 0; i < N_LOOPS; i++)
        pthread_create(&th[i], NULL, ask_loop, &results[i]);
    for (int i = 0; i < N_LOOPS; i++)
        pthread_join(th[i], NULL);
    static int seen[N_MAX];
    memset(seen, 0, sizeof seen);
    int total = 0;
    for (int i = 0; i < N_LOOPS; i++) {
        ck_assert_int_eq(results[i].last, HPO_E_COMPLETE);
        for (int k = 0; k < results[i].n; k++) {
            int n = results[i].numbers[k];
            ck_assert(n >= 0 && n < N_MAX);
            ck_assert_msg(!seen[n], "number %d handed out twice", n);
            seen[n] = 1;
            total++;
        }
    }
    ck_assert_int_eq(total, N_MAX);

    /* PostgreSQL holds exactly the same: reload in a fresh service */
    close_service();
    open_service();
    hpo_study_info info = {0};
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, "load", &info, &err), HPO_OK);
    ck_assert_int_eq(info.n_trials, N_MAX);
    ck_assert_int_eq(info.counts[HPO_TRIAL_COMPLETE], (N_MAX + 2) / 3);
    ck_assert_int_eq(info.counts[HPO_TRIAL_RUNNING], N_MAX - (N_MAX + 2) / 3);
    hpo_study_info_clear(&info);
}
END_TEST

static char *dump_study(const char *name)
{
    hpo_error err = {0};
    hpo_study_info info = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, name, &info, &err), HPO_OK);
    hpo_trial *list = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(hpo_service_trials(ts.svc, name, -1, -1, 1000, &list, &n, &more, &err),
                     HPO_OK);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *t = hpo_trial_to_json(&list[i], name, list[i].n_values > 1 ? list[i].n_values : 1);
        /* what the API does not show, but a restart must keep too */
        json_object_set_new(t, "heartbeat_ms", json_integer(list[i].heartbeat_ms));
        json_object_set_new(t, "idempotency_key", json_string(list[i].idempotency_key ? list[i].idempotency_key : ""));
        json_array_append_new(arr, t);
    }
    json_t *all = json_pack("{s:o,s:o,s:I}", "study", hpo_study_config_to_json(&info.config),
                            "trials", arr, "n", (json_int_t)info.n_trials);
    char *text = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(all);
    hpo_trials_free(list, n);
    hpo_study_info_clear(&info);
    return text;
}

START_TEST(restart_keeps_every_study)
{
    hpo_error err = {0};
    create_study("a", 0, 1);
    create_study("b", 10, 2);
    for (int i = 0; i < 5; i++) {
        hpo_trial t = {0}, done = {0};
        bool replayed;
        char key[16];
        snprintf(key, sizeof key, "key-%d", i);
        hpo_ask_request req = {.worker = "w", .idempotency_key = key};
        ck_assert_int_eq(hpo_service_ask(ts.svc, "a", &req, &t, &replayed, NULL, &err), HPO_OK);
        hpo_report reps[2] = {{0, 1.0 / (i + 1)}, {1, 0.1}};
        hpo_action act;
        ck_assert_int_eq(hpo_service_report(ts.svc, "a", t.number, reps, 2, &act, &err), HPO_OK);
        hpo_dist cat = {.type = HPO_DIST_CATEGORICAL, .n_choices = 2,
                        .choices = (hpo_choice[]){{.kind = HPO_CHOICE_STRING, .str = "SGD"},
                                                  {.kind = HPO_CHOICE_NULL}}};
        double v;
        ck_assert_int_eq(hpo_service_suggest(ts.svc, "a", t.number, "opt", &cat, &v, &err), HPO_OK);
        double value = 0.1 * i;
        hpo_finish_request fin[3] = {{HPO_TRIAL_COMPLETE, &value, 1, NULL, false, NULL, 0},
                                     {HPO_TRIAL_PRUNED, NULL, 0, NULL, false, NULL, 0},
                                     {HPO_TRIAL_FAIL, NULL, 0, "oom", false, NULL, 0}};
        if (i < 3)
            ck_assert_int_eq(hpo_service_finish(ts.svc, "a", t.number, &fin[i], &done, &err),
                             HPO_OK);
        hpo_trial_clear(&t);
        hpo_trial_clear(&done);
    }
    hpo_fixed_param q[] = {{"x", {.kind = HPO_CHOICE_NUMBER, .number = 1.5}},
                           {"later", {.kind = HPO_CHOICE_STRING, .str = "yes"}}};
    hpo_fixed_params qs = {2, q};
    hpo_trial w = {0};
    ck_assert_int_eq(hpo_service_enqueue(ts.svc, "a", &qs, &w, &err), HPO_OK);
    hpo_trial_clear(&w);
    hpo_trial t = {0}, done = {0};
    bool replayed;
    hpo_ask_request req = {0};
    ck_assert_int_eq(hpo_service_ask(ts.svc, "b", &req, &t, &replayed, NULL, &err), HPO_OK);
    double two[2] = {1.25, -3};
    hpo_finish_request fin = {HPO_TRIAL_COMPLETE, two, 2, NULL, false, NULL, 0};
    ck_assert_int_eq(hpo_service_finish(ts.svc, "b", t.number, &fin, &done, &err), HPO_OK);
    hpo_trial_clear(&t);
    hpo_trial_clear(&done);

    char *a1 = dump_study("a"), *b1 = dump_study("b");
    close_service();
    open_service();
    char *a2 = dump_study("a"), *b2 = dump_study("b");
    ck_assert_str_eq(a1, a2);
    ck_assert_str_eq(b1, b2);
    free(a1), free(a2), free(b1), free(b2);

    /* the idempotency keys survive: asking again with one gives the same trial */
    hpo_ask_request again = {.idempotency_key = "key-3"};
    ck_assert_int_eq(hpo_service_ask(ts.svc, "a", &again, &t, &replayed, NULL, &err), HPO_OK);
    ck_assert(replayed);
    ck_assert_int_eq(t.number, 3);
    hpo_trial_clear(&t);
    /* the queued trial comes next and keeps its define-by-run value */
    hpo_ask_request next = {.idempotency_key = "key-q"};
    ck_assert_int_eq(hpo_service_ask(ts.svc, "a", &next, &t, &replayed, NULL, &err), HPO_OK);
    ck_assert_int_eq(t.number, 5);
    ck_assert(hpo_trial_param(&t, "x")->value == 1.5);
    hpo_trial_clear(&t);
    close_service();
    open_service();
    ck_assert_int_eq(hpo_service_ask(ts.svc, "a", &next, &t, &replayed, NULL, &err), HPO_OK);
    ck_assert(replayed);
    ck_assert_int_eq(t.number, 5);
    ck_assert_str_eq(t.fixed_params, "{\"later\":\"yes\"}");
    hpo_trial_clear(&t);
}
END_TEST

/* Two servers on one database: numbers still come from PostgreSQL, and a server whose memory
 * fell behind reloads the study before its next answer. */
START_TEST(two_services_share_numbers)
{
    hpo_error err = {0};
    create_study("shared", 0, 1);
    hpo_store *store2 = NULL;
    hpo_service *svc2 = NULL;
    ck_assert_int_eq(hpo_store_open(db, 4, &store2, &err), HPO_OK);
    ck_assert_int_eq(hpo_service_new(store2, &svc2, &err), HPO_OK);
    hpo_study_info info = {0};
    ck_assert_int_eq(hpo_service_study_get(svc2, "shared", &info, &err), HPO_OK);
    hpo_study_info_clear(&info);

    hpo_trial t = {0};
    bool replayed;
    hpo_ask_request req = {0};
    ck_assert_int_eq(hpo_service_ask(ts.svc, "shared", &req, &t, &replayed, NULL, &err), HPO_OK);
    ck_assert_int_eq(t.number, 0);
    hpo_trial_clear(&t);
    ck_assert_int_eq(hpo_service_ask(svc2, "shared", &req, &t, &replayed, NULL, &err), HPO_OK);
    ck_assert_int_eq(t.number, 1);
    hpo_trial_clear(&t);
    hpo_trial *list = NULL;
    size_t n = 0;
    bool more;
    ck_assert_int_eq(hpo_service_trials(svc2, "shared", -1, -1, 100, &list, &n, &more, &err),
                     HPO_OK);
    ck_assert_int_eq(n, 2);
    hpo_trials_free(list, n);
    hpo_service_free(svc2);
    hpo_store_close(store2);
}
END_TEST

/* A two-objective study under TPE (the default for several objectives): asked and finished
 * through the service, a define-by-run param sampled too, and after the start-up trials it
 * concentrates on the Pareto set of (x^2, (x - 2)^2), x in [0, 2]. */
START_TEST(multi_objective_tpe_asks_and_finishes)
{
    hpo_error err = {0};
    hpo_direction dirs[2] = {HPO_MINIMIZE, HPO_MINIMIZE};
    hpo_study_config c = {.name = "mo", .n_directions = 2, .directions = dirs,
                          .sampler = "{\"type\":\"tpe\",\"seed\":3,\"n_startup_trials\":6}"};
    hpo_testsvc_create_study(&ts, &c);
    /* constant_liar is refused for several objectives, and off by default */
    c.name = "mo-liar";
    c.sampler = "{\"type\":\"tpe\",\"constant_liar\":true}";
    hpo_study_info info = {0};
    bool created;
    ck_assert_int_eq(hpo_service_study_create(ts.svc, &c, false, &info, &created, &err),
                     HPO_E_INVALID);
    ck_assert_str_eq(err.field, "sampler.constant_liar");
    c.name = "mo-default";
    c.sampler = "{\"type\":\"tpe\"}";
    ck_assert_int_eq(hpo_service_study_create(ts.svc, &c, false, &info, &created, &err), HPO_OK);
    ck_assert_ptr_nonnull(strstr(info.config.sampler, "\"type\":\"tpe\""));
    ck_assert_ptr_nonnull(strstr(info.config.sampler, "\"constant_liar\":false"));
    hpo_study_info_clear(&info);

    enum { N = 40 };
    int near_front = 0;
    for (int i = 0; i < N; i++) {
        if (i == 20) { /* a restart on the way changes nothing */
            close_service();
            open_service();
        }
        hpo_trial t = {0}, done = {0};
        bool replayed;
        hpo_ask_request req = {.worker = "w"};
        ck_assert_int_eq(hpo_service_ask(ts.svc, "mo", &req, &t, &replayed, NULL, &err), HPO_OK);
        ck_assert_int_eq(t.number, i);
        double x = hpo_trial_param(&t, "x")->value, y;
        hpo_dist yd = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1};
        ck_assert_int_eq(hpo_service_suggest(ts.svc, "mo", t.number, "y", &yd, &y, &err), HPO_OK);
        ck_assert(x >= -5 && x <= 5 && y >= 0 && y <= 1);
        if (i >= 20)
            near_front += x >= -0.25 && x <= 2.25;
        double v[2] = {x * x + y, (x - 2) * (x - 2) + y};
        hpo_finish_request fin = {HPO_TRIAL_COMPLETE, v, 2, NULL, false, NULL, 0};
        if (i % 9 == 4)
            fin = (hpo_finish_request){HPO_TRIAL_PRUNED, NULL, 0, NULL, false, NULL, 0};
        if (i % 9 == 7)
            fin = (hpo_finish_request){HPO_TRIAL_FAIL, NULL, 0, "oom", false, NULL, 0};
        ck_assert_int_eq(hpo_service_finish(ts.svc, "mo", t.number, &fin, &done, &err), HPO_OK);
        hpo_trial_clear(&t);
        hpo_trial_clear(&done);
    }
    /* random draws put a quarter of x in [-0.25, 2.25]: 9 of 20 or more 4 % of the time */
    ck_assert_msg(near_front >= 9, "%d of the last 20 trials near the Pareto set", near_front);
    ck_assert_int_eq(hpo_service_study_get(ts.svc, "mo", &info, &err), HPO_OK);
    ck_assert_int_eq(info.counts[HPO_TRIAL_COMPLETE], N - 8);
    hpo_study_info_clear(&info);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, concurrent_ask_loops_number_0_to_499);
    tcase_add_test(tc, restart_keeps_every_study);
    tcase_add_test(tc, two_services_share_numbers);
    tcase_add_test(tc, multi_objective_tpe_asks_and_finishes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
