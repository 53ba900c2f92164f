/* test_client: libhpoclient against the real hpo-server: studies, the trial round trip, pages,
 * constraints with the finish, errors mapped to hpo_rc with the server's message, retries,
 * idempotent asks, threads. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_test.h"

static const char *SPACE_STUDY =
    "{\"name\":\"s1\",\"direction\":\"minimize\",\"sampler\":{\"type\":\"random\",\"seed\":7},"
    "\"search_space\":{\"lr\":{\"type\":\"float\",\"low\":1e-4,\"high\":1e-2,\"log\":true},"
    "\"layers\":{\"type\":\"int\",\"low\":1,\"high\":4},"
    "\"opt\":{\"type\":\"categorical\",\"choices\":[\"SGD\",\"Adam\"]}}}";

static void finish_value(hpo_client *c, const char *study, int64_t number, double v)
{
    hpo_error err;
    hpo_finish_args fa = {.state = HPO_TRIAL_COMPLETE, .values = &v, .n_values = 1};
    hpo_rc rc = hpo_client_finish(c, study, number, &fa, &err);
    ct_assert_rc(rc, HPO_OK, err);
}

static hpo_client_trial *ask_ok(hpo_client *c, const char *study, const hpo_ask_options *o)
{
    hpo_client_trial *t = NULL;
    hpo_error err;
    hpo_rc rc = hpo_client_ask(c, study, o, &t, NULL, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_ptr_nonnull(t);
    return t;
}

START_TEST(options_are_checked)
{
    hpo_client *c = NULL;
    hpo_error err;
    hpo_client_options o = {.server = "ftp://x"};
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "server");
    ck_assert_ptr_null(c);
    o.server = NULL;
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_E_INVALID);
    o.server = "http://127.0.0.1:1/";
    o.timeout_ms = -1;
    ck_assert_int_eq(hpo_client_new(&o, &c, &err), HPO_E_INVALID);
    hpo_client_free(NULL);
    hpo_client_trial_free(NULL);
}
END_TEST

START_TEST(studies_create_load_list_delete)
{
    hpo_client *c = ct_client(0);
    hpo_error err;
    json_t *cfg = json_loads(SPACE_STUDY, 0, NULL), *study = NULL;
    hpo_rc rc = hpo_client_study_create(c, cfg, false, &study, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_str_eq(json_string_value(json_object_get(study, "name")), "s1");
    json_decref(study);

    /* a second create is already_exists, with the server's message; load_if_exists loads */
    ck_assert_int_eq(hpo_client_study_create(c, cfg, false, NULL, &err), HPO_E_EXISTS);
    ck_assert_int_eq(err.code, HPO_E_EXISTS);
    ck_assert(strstr(err.message, "s1") != NULL);
    study = NULL;
    rc = hpo_client_study_create(c, cfg, true, &study, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_str_eq(json_string_value(json_object_get(study, "name")), "s1");
    json_decref(study);
    ck_assert_ptr_null(json_object_get(cfg, "load_if_exists")); /* the caller's config is borrowed */
    json_decref(cfg);

    rc = hpo_client_study_get(c, "s1", &study, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_str_eq(json_string_value(json_object_get(study, "name")), "s1");
    json_decref(study);

    json_t *list = NULL;
    rc = hpo_client_study_list(c, &list, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert(json_is_array(list));
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")), "s1");
    json_decref(list);

    /* a bad config names the field at fault */
    cfg = json_loads("{\"name\":\"bad\",\"search_space\":{\"lr\":{\"type\":\"float\","
                     "\"low\":1,\"high\":0}}}", 0, NULL);
    ck_assert_int_eq(hpo_client_study_create(c, cfg, false, NULL, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "search_space.lr.low");
    ck_assert(strlen(err.message) > 0);
    json_decref(cfg);

    rc = hpo_client_study_delete(c, "s1", &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(hpo_client_study_delete(c, "s1", &err), HPO_E_NOT_FOUND);
    ck_assert_int_eq(hpo_client_study_get(c, "s1", &study, &err), HPO_E_NOT_FOUND);
    ck_assert(strlen(err.message) > 0);
    hpo_client_free(c);
}
END_TEST

START_TEST(trial_round_trip)
{
    hpo_client *c = ct_client(0);
    hpo_error err;
    ct_create(c, SPACE_STUDY);
    hpo_client_trial *t = ask_ok(c, "s1", NULL);
    ck_assert_str_eq(t->study, "s1");
    ck_assert_int_eq(t->number, 0);
    ck_assert_int_eq(t->state, HPO_TRIAL_RUNNING);
    ck_assert(!t->has_resource);
    ck_assert_ptr_null(t->resume);
    ck_assert_int_eq(t->decides.kind, HPO_DECIDES_NEVER); /* no pruner */
    double lr = json_real_value(json_object_get(t->params, "lr"));
    ck_assert(lr >= 1e-4 && lr <= 1e-2);
    json_int_t layers = json_integer_value(json_object_get(t->params, "layers"));
    ck_assert(layers >= 1 && layers <= 4);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(t->params, "opt")));
    ck_assert_str_eq(json_string_value(json_object_get(t->json, "worker")), "test-worker");

    /* define-by-run: the same name gives the same value again */
    double f1 = -1, f2 = -2;
    hpo_rc rc = hpo_client_suggest_float(c, "s1", t->number, "dropout", 0, 0.5, 0.1, false, &f1,
                                         &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert(f1 >= 0 && f1 <= 0.5 + 1e-12);
    ck_assert(fabs(f1 * 10 - round(f1 * 10)) < 1e-9);
    rc = hpo_client_suggest_float(c, "s1", t->number, "dropout", 0, 0.5, 0.1, false, &f2, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert(f1 == f2);
    double w = 0;
    rc = hpo_client_suggest_float(c, "s1", t->number, "wd", 1e-6, 1e-2, 0, true, &w, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert(w >= 1e-6 && w <= 1e-2);
    int64_t units = -1, units2 = -2;
    rc = hpo_client_suggest_int(c, "s1", t->number, "units", 16, 256, 16, false, &units, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert(units >= 16 && units <= 256 && units % 16 == 0);
    rc = hpo_client_suggest_int(c, "s1", t->number, "units", 16, 256, 16, false, &units2, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(units, units2);
    json_t *choices = json_pack("[s,i,b,n]", "relu", 3, 1), *act = NULL;
    rc = hpo_client_suggest_categorical(c, "s1", t->number, "act", choices, &act, &err);
    ct_assert_rc(rc, HPO_OK, err);
    bool found = false;
    for (size_t i = 0; i < json_array_size(choices); i++)
        found = found || json_equal(json_array_get(choices, i), act);
    ck_assert(found);
    json_decref(act);
    /* a different distribution for a name already suggested is a conflict */
    ck_assert_int_eq(hpo_client_suggest_int(c, "s1", t->number, "units", 1, 2, 1, false, &units,
                                            &err), HPO_E_CONFLICT);
    ck_assert(strlen(err.message) > 0);
    json_decref(choices);

    hpo_action a = HPO_ACTION_PAUSE;
    rc = hpo_client_report(c, "s1", t->number, 0, 0.5, &a, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(a, HPO_ACTION_CONTINUE);
    rc = hpo_client_report(c, "s1", t->number, 1, 0.25, NULL, &err);
    ct_assert_rc(rc, HPO_OK, err);
    a = HPO_ACTION_PAUSE;
    rc = hpo_client_heartbeat(c, "s1", t->number, &a, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(a, HPO_ACTION_CONTINUE);
    ck_assert_int_eq(hpo_client_report(c, "s1", t->number, 2, NAN, NULL, &err), HPO_E_INVALID);

    finish_value(c, "s1", t->number, 0.125);
    finish_value(c, "s1", t->number, 0.125); /* the same finish again is harmless */
    double other = 0.5;
    hpo_finish_args fa = {.state = HPO_TRIAL_COMPLETE, .values = &other, .n_values = 1};
    ck_assert_int_eq(hpo_client_finish(c, "s1", t->number, &fa, &err), HPO_E_FINISHED);
    ck_assert(strlen(err.message) > 0);
    ck_assert_int_eq(hpo_client_report(c, "s1", t->number, 5, 0.1, NULL, &err), HPO_E_FINISHED);
    fa = (hpo_finish_args){.state = HPO_TRIAL_RUNNING};
    ck_assert_int_eq(hpo_client_finish(c, "s1", t->number, &fa, &err), HPO_E_INVALID);

    json_t *j = NULL;
    rc = hpo_client_trial_get(c, "s1", t->number, &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "complete");
    ck_assert(json_number_value(json_object_get(j, "value")) == 0.125);
    ck_assert_int_eq(json_array_size(json_object_get(j, "intermediate_values")), 2);
    json_decref(j);

    /* a failed and a pruned trial; the best stays trial 0 */
    hpo_client_trial *t2 = ask_ok(c, "s1", NULL), *t3 = ask_ok(c, "s1", NULL);
    fa = (hpo_finish_args){.state = HPO_TRIAL_FAIL, .reason = "CUDA out of memory"};
    rc = hpo_client_finish(c, "s1", t2->number, &fa, &err);
    ct_assert_rc(rc, HPO_OK, err);
    rc = hpo_client_report(c, "s1", t3->number, 0, 0.01, NULL, &err);
    ct_assert_rc(rc, HPO_OK, err);
    fa = (hpo_finish_args){.state = HPO_TRIAL_PRUNED};
    rc = hpo_client_finish(c, "s1", t3->number, &fa, &err);
    ct_assert_rc(rc, HPO_OK, err);
    rc = hpo_client_trial_get(c, "s1", t2->number, &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "fail");
    json_decref(j);
    rc = hpo_client_best(c, "s1", &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), t->number);
    json_decref(j);

    /* enqueue: the next ask hands the fixed params out */
    json_t *params = json_pack("{s:f,s:i,s:s}", "lr", 0.001, "layers", 2, "opt", "Adam");
    int64_t qn = -1;
    rc = hpo_client_enqueue(c, "s1", params, &qn, &err);
    ct_assert_rc(rc, HPO_OK, err);
    hpo_client_trial *tq = ask_ok(c, "s1", NULL);
    ck_assert_int_eq(tq->number, qn);
    ck_assert(json_equal(tq->params, params));
    json_decref(params);

    /* fixed params on ask */
    params = json_pack("{s:i}", "layers", 3);
    hpo_ask_options o = {.params = params};
    hpo_client_trial *tf = ask_ok(c, "s1", &o);
    ck_assert_int_eq(json_integer_value(json_object_get(tf->params, "layers")), 3);
    json_decref(params);

    /* the generic request */
    long status = 0;
    j = NULL;
    rc = hpo_client_request(c, "GET", "/healthz", NULL, &status, &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(status, 200);
    json_decref(j);
    rc = hpo_client_request(c, "GET", "/api/v1/studies/nope", NULL, &status, &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(status, 404);
    e2e_expect_error(j, "not_found");
    json_decref(j);

    hpo_client_trial_free(t);
    hpo_client_trial_free(t2);
    hpo_client_trial_free(t3);
    hpo_client_trial_free(tq);
    hpo_client_trial_free(tf);
    hpo_client_free(c);
}
END_TEST

START_TEST(constraints_with_the_finish)
{
    hpo_client *c = ct_client(0);
    hpo_error err;
    ct_create(c, "{\"name\":\"con\",\"sampler\":{\"type\":\"random\",\"seed\":3},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    hpo_client_trial *t0 = ask_ok(c, "con", NULL), *t1 = ask_ok(c, "con", NULL);
    hpo_client_trial *t2 = ask_ok(c, "con", NULL);
    /* the better value breaks a constraint: the worse, feasible one is best */
    double v0 = 0.1, v1 = 0.9, bad_c[] = {0.5, -1}, ok_c[] = {-0.5, 0};
    hpo_finish_args fa = {.state = HPO_TRIAL_COMPLETE, .values = &v0, .n_values = 1,
                          .constraints = bad_c, .n_constraints = 2};
    hpo_rc rc = hpo_client_finish(c, "con", t0->number, &fa, &err);
    ct_assert_rc(rc, HPO_OK, err);
    fa.values = &v1;
    fa.constraints = ok_c;
    rc = hpo_client_finish(c, "con", t1->number, &fa, &err);
    ct_assert_rc(rc, HPO_OK, err);
    rc = hpo_client_finish(c, "con", t1->number, &fa, &err); /* the same again is harmless */
    ct_assert_rc(rc, HPO_OK, err);
    json_t *j = NULL;
    rc = hpo_client_trial_get(c, "con", t0->number, &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    json_t *cons = json_object_get(j, "constraints");
    ck_assert(json_array_size(cons) == 2 && json_number_value(json_array_get(cons, 0)) == 0.5 &&
              json_number_value(json_array_get(cons, 1)) == -1);
    json_decref(j);
    rc = hpo_client_best(c, "con", &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), t1->number);
    json_decref(j);

    /* checked before anything is sent, like the values: finite, only with complete or pruned */
    double nan_c[] = {NAN, 0};
    fa = (hpo_finish_args){.state = HPO_TRIAL_FAIL, .constraints = ok_c, .n_constraints = 2};
    ck_assert_int_eq(hpo_client_finish(c, "con", t2->number, &fa, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "constraints");
    ck_assert_str_eq(err.message, "constraints go with state complete or pruned");
    fa = (hpo_finish_args){.state = HPO_TRIAL_PRUNED, .constraints = nan_c, .n_constraints = 2};
    ck_assert_int_eq(hpo_client_finish(c, "con", t2->number, &fa, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.message, "constraints must be finite");
    fa.constraints = NULL;
    ck_assert_int_eq(hpo_client_finish(c, "con", t2->number, &fa, &err), HPO_E_INVALID);
    double many[HPO_CONSTRAINTS_MAX + 1] = {0};
    fa.constraints = many;
    fa.n_constraints = HPO_CONSTRAINTS_MAX + 1;
    ck_assert_int_eq(hpo_client_finish(c, "con", t2->number, &fa, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "constraints");
    /* the server's own check: every trial of the study gives as many */
    fa.n_constraints = 1;
    ck_assert_int_eq(hpo_client_finish(c, "con", t2->number, &fa, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "constraints");
    ck_assert_ptr_nonnull(strstr(err.message, "has 2 constraints per trial but 1 were given"));
    /* none of that finished it: a pruned finish with two goes through */
    fa = (hpo_finish_args){.state = HPO_TRIAL_PRUNED, .constraints = ok_c, .n_constraints = 2};
    rc = hpo_client_finish(c, "con", t2->number, &fa, &err);
    ct_assert_rc(rc, HPO_OK, err);
    rc = hpo_client_trial_get(c, "con", t2->number, &j, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "pruned");
    ck_assert_int_eq(json_array_size(json_object_get(j, "constraints")), 2);
    json_decref(j);
    hpo_client_trial_free(t0);
    hpo_client_trial_free(t1);
    hpo_client_trial_free(t2);
    hpo_client_free(c);
}
END_TEST

START_TEST(trials_every_page)
{
    hpo_client *c = ct_client(0);
    hpo_error err;
    ct_create(c, SPACE_STUDY);
    enum { N = 1234 };
    for (int i = 0; i < N; i++) {
        hpo_client_trial *t = ask_ok(c, "s1", NULL);
        if (i % 2 == 0)
            finish_value(c, "s1", t->number, (double)i);
        hpo_client_trial_free(t);
    }
    json_t *all = NULL;
    hpo_rc rc = hpo_client_trials(c, "s1", NULL, &all, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(json_array_size(all), N);
    for (size_t i = 0; i < json_array_size(all); i++)
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, i), "number")),
                         (json_int_t)i);
    json_decref(all);
    rc = hpo_client_trials(c, "s1", "complete", &all, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(json_array_size(all), N / 2);
    for (size_t i = 0; i < json_array_size(all); i++)
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, i), "state")),
                         "complete");
    json_decref(all);
    ck_assert_int_eq(hpo_client_trials(c, "s1", "bogus", &all, &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_client_trials(c, "nope", NULL, &all, &err), HPO_E_NOT_FOUND);
    hpo_client_free(c);
}
END_TEST

START_TEST(errors_map_to_rc)
{
    hpo_client *c = ct_client(0);
    hpo_error err;
    hpo_client_trial *t = NULL;
    int after = -1;
    ck_assert_int_eq(hpo_client_ask(c, "nope", NULL, &t, &after, &err), HPO_E_NOT_FOUND);
    ck_assert_int_eq(err.code, HPO_E_NOT_FOUND);
    ck_assert(strstr(err.message, "nope") != NULL);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(hpo_client_best(c, "nope", NULL, &err), HPO_E_NOT_FOUND);
    ck_assert_int_eq(hpo_client_heartbeat(c, "nope", 0, NULL, &err), HPO_E_NOT_FOUND);
    /* a study name with characters that must be escaped in the path: still just not found */
    ck_assert_int_eq(hpo_client_study_get(c, "a b/c?d", NULL, &err), HPO_E_NOT_FOUND);

    /* study_complete: max_trials reached and nothing left */
    ct_create(c, "{\"name\":\"one\",\"sampler\":{\"type\":\"random\"},\"max_trials\":1,"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    t = ask_ok(c, "one", NULL);
    ck_assert_int_eq(hpo_client_trial_get(c, "one", 99, NULL, &err), HPO_E_NOT_FOUND);
    ck_assert_int_eq(hpo_client_best(c, "one", NULL, &err), HPO_E_NOT_FOUND); /* none complete */
    finish_value(c, "one", t->number, 1.0);
    hpo_client_trial_free(t);
    t = NULL;
    ck_assert_int_eq(hpo_client_ask(c, "one", NULL, &t, &after, &err), HPO_E_COMPLETE);
    ck_assert_int_eq(err.code, HPO_E_COMPLETE);
    ck_assert(strlen(err.message) > 0);
    ck_assert_ptr_null(t);

    /* no work: a grid study with every point running */
    ct_create(c, "{\"name\":\"grid\",\"sampler\":{\"type\":\"grid\"},"
                 "\"search_space\":{\"k\":{\"type\":\"int\",\"low\":1,\"high\":2}}}");
    hpo_client_trial *g1 = ask_ok(c, "grid", NULL), *g2 = ask_ok(c, "grid", NULL);
    after = -1;
    ck_assert_int_eq(hpo_client_ask(c, "grid", NULL, &t, &after, &err), HPO_E_NO_WORK);
    ck_assert_int_eq(err.code, HPO_E_NO_WORK);
    ck_assert_int_gt(after, 0);
    ck_assert_ptr_null(t);
    finish_value(c, "grid", g1->number, 1);
    finish_value(c, "grid", g2->number, 2);
    ck_assert_int_eq(hpo_client_ask(c, "grid", NULL, &t, &after, &err), HPO_E_COMPLETE);
    hpo_client_trial_free(g1);
    hpo_client_trial_free(g2);

    /* nothing listens: HPO_E_UNAVAILABLE after the retries */
    hpo_client_options o = {.server = "http://127.0.0.1:1", .max_retries = 2,
                            .backoff_initial_ms = 1, .backoff_max_ms = 2};
    hpo_client *dead = NULL;
    ck_assert_int_eq(hpo_client_new(&o, &dead, &err), HPO_OK);
    ck_assert_int_eq(hpo_client_study_list(dead, NULL, &err), HPO_E_UNAVAILABLE);
    ck_assert(strstr(err.message, "3 attempts") != NULL);
    hpo_client_free(dead);
    hpo_client_free(c);
}
END_TEST

typedef struct {
    hpo_client *c;
    hpo_rc rc;
    hpo_error err;
} late_call;

static void *call_list(void *p)
{
    late_call *l = p;
    json_t *list = NULL;
    l->rc = hpo_client_study_list(l->c, &list, &l->err);
    json_decref(list);
    return NULL;
}

START_TEST(retries_until_the_server_is_up)
{
    int port = ct_srv.port;
    e2e_stop(&ct_srv, SIGTERM);
    /* enough retries to cover a second for any jitter: backoff capped at 200 ms */
    late_call l = {.c = ct_client(60)};
    pthread_t th;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&th, NULL, call_list, &l);
    usleep(1000 * 1000);
    e2e_start(&ct_srv);
    ck_assert_int_eq(ct_srv.port, port);
    pthread_join(th, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ct_assert_rc(l.rc, HPO_OK, l.err);
    ck_assert(t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9 >= 0.9);
    hpo_client_free(l.c);
}
END_TEST

START_TEST(ask_is_idempotent_by_key)
{
    hpo_client *c = ct_client(0);
    ct_create(c, SPACE_STUDY);
    hpo_ask_options o = {.idempotency_key = "worker-7-ask-0001"};
    hpo_client_trial *a = ask_ok(c, "s1", &o), *b = ask_ok(c, "s1", &o);
    ck_assert_int_eq(a->number, b->number);
    ck_assert(json_equal(a->params, b->params));
    /* generated keys differ from call to call */
    hpo_client_trial *x = ask_ok(c, "s1", NULL), *y = ask_ok(c, "s1", NULL);
    ck_assert_int_ne(x->number, y->number);
    ck_assert_int_ne(x->number, a->number);
    /* after a crash and restart of the server the key still names the same trial */
    e2e_stop(&ct_srv, SIGKILL);
    e2e_start(&ct_srv);
    hpo_client_trial *z = ask_ok(c, "s1", &o);
    ck_assert_int_eq(z->number, a->number);
    ck_assert(json_equal(z->params, a->params));
    hpo_client_trial_free(a);
    hpo_client_trial_free(b);
    hpo_client_trial_free(x);
    hpo_client_trial_free(y);
    hpo_client_trial_free(z);
    hpo_client_free(c);
}
END_TEST

enum { THREADS = 8, PER_THREAD = 50 };

typedef struct {
    hpo_client *c;
    int64_t numbers[PER_THREAD];
    int n;
    hpo_error err;
} worker_arg;

static void *ask_finish_loop(void *p)
{
    worker_arg *w = p;
    for (int i = 0; i < PER_THREAD; i++) {
        hpo_client_trial *t = NULL;
        if (hpo_client_ask(w->c, "s1", NULL, &t, NULL, &w->err))
            return NULL;
        w->numbers[w->n++] = t->number;
        double v = (double)t->number;
        hpo_finish_args fa = {.state = HPO_TRIAL_COMPLETE, .values = &v, .n_values = 1};
        hpo_rc rc = hpo_client_finish(w->c, "s1", t->number, &fa, &w->err);
        hpo_client_trial_free(t);
        if (rc)
            return NULL;
    }
    return NULL;
}

START_TEST(one_client_many_threads)
{
    hpo_client *c = ct_client(0);
    ct_create(c, SPACE_STUDY);
    worker_arg w[THREADS];
    pthread_t th[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].c = c;
        pthread_create(&th[i], NULL, ask_finish_loop, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    static bool seen[THREADS * PER_THREAD];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < THREADS; i++) {
        ck_assert_msg(w[i].n == PER_THREAD, "thread %d: %d asks (%s)", i, w[i].n, w[i].err.message);
        for (int k = 0; k < PER_THREAD; k++) {
            int64_t n = w[i].numbers[k];
            ck_assert(n >= 0 && n < THREADS * PER_THREAD);
            ck_assert_msg(!seen[n], "trial %lld handed out twice", (long long)n);
            seen[n] = true;
        }
    }
    json_t *all = NULL;
    hpo_error err;
    hpo_rc rc = hpo_client_trials(c, "s1", "complete", &all, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(json_array_size(all), THREADS * PER_THREAD);
    json_decref(all);
    hpo_client_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, ct_setup, ct_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, options_are_checked);
    tcase_add_test(tc, studies_create_load_list_delete);
    tcase_add_test(tc, trial_round_trip);
    tcase_add_test(tc, constraints_with_the_finish);
    tcase_add_test(tc, trials_every_page);
    tcase_add_test(tc, errors_map_to_rc);
    tcase_add_test(tc, retries_until_the_server_is_up);
    tcase_add_test(tc, ask_is_idempotent_by_key);
    tcase_add_test(tc, one_client_many_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
