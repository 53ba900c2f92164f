/* test_plots: the plot-data endpoints of the real hpo-server over HTTP: the trials in columns
 * (whole, then only what changed, across a restart), the long poll that answers when a change is
 * committed (and leaves the other requests alone while it waits), the history, the EDF, ASHA's
 * rungs and the params' importances, their bad input and their tokens. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void call_ok(const char *method, const char *path, const char *body, long expect)
{
    json_t *j = NULL;
    long st = e2e_call(&srv, method, path, body, &j);
    ck_assert_msg(st == expect, "%s %s answered %ld, expected %ld", method, path, st, expect);
    json_decref(j);
}

/* Three trials: 0 complete (value 0.25), 1 pruned at step 1, 2 running with one report. */
static void make_study(void)
{
    call_ok("POST", "/api/v1/studies",
            "{\"name\":\"p\",\"sampler\":{\"type\":\"random\",\"seed\":1},"
            "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
            "\"n\":{\"type\":\"int\",\"low\":1,\"high\":4},"
            "\"opt\":{\"type\":\"categorical\",\"choices\":[\"adam\",\"sgd\"]}}}",
            201);
    for (int i = 0; i < 3; i++)
        call_ok("POST", "/api/v1/studies/p/trials", "{\"worker\":\"w1\"}", 201);
    call_ok("POST", "/api/v1/studies/p/trials/0/reports", "{\"step\":0,\"value\":0.9}", 200);
    call_ok("POST", "/api/v1/studies/p/trials/0/finish", "{\"state\":\"complete\",\"value\":0.25}",
            200);
    call_ok("POST", "/api/v1/studies/p/trials/1/reports",
            "{\"reports\":[{\"step\":0,\"value\":2.0},{\"step\":1,\"value\":1.5}]}", 200);
    call_ok("POST", "/api/v1/studies/p/trials/1/finish", "{\"state\":\"pruned\"}", 200);
    call_ok("POST", "/api/v1/studies/p/trials/2/reports", "{\"step\":0,\"value\":3.0}", 200);
}

static json_t *columns(const char *query)
{
    json_t *j = NULL;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/studies/p/columns%s", query);
    ck_assert_int_eq(e2e_call(&srv, "GET", path, NULL, &j), 200);
    return j;
}

static json_t *col(json_t *j, const char *name)
{
    json_t *c = json_object_get(json_object_get(j, "trials"), name);
    ck_assert_msg(json_is_array(c) || json_is_object(c), "no column %s", name);
    return c;
}

START_TEST(columns_whole_then_only_what_changed)
{
    make_study();
    json_t *j = columns("");
    ck_assert(json_is_true(json_object_get(j, "full")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n_trials")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "counts"), "running")), 1);
    json_t *num = col(j, "number"), *state = col(j, "state"), *vals = col(j, "values");
    ck_assert_int_eq(json_array_size(num), 3);
    ck_assert_str_eq(json_string_value(json_array_get(state, 0)), "complete");
    ck_assert_str_eq(json_string_value(json_array_get(state, 1)), "pruned");
    ck_assert_str_eq(json_string_value(json_array_get(state, 2)), "running");
    ck_assert(json_real_value(json_array_get(json_array_get(vals, 0), 0)) == 0.25);
    ck_assert(json_real_value(json_array_get(json_array_get(vals, 1), 0)) == 1.5);
    ck_assert(json_is_null(json_array_get(vals, 2)));
    /* params as the objective saw them, matching GET trial */
    json_t *params = col(j, "params");
    for (int i = 0; i < 3; i++) {
        json_t *t = NULL;
        char path[128];
        snprintf(path, sizeof path, "/api/v1/studies/p/trials/%d", i);
        ck_assert_int_eq(e2e_call(&srv, "GET", path, NULL, &t), 200);
        json_t *tp = json_object_get(t, "params");
        ck_assert(json_equal(json_object_get(tp, "x"), json_array_get(json_object_get(params, "x"), (size_t)i)));
        ck_assert(json_equal(json_object_get(tp, "n"), json_array_get(json_object_get(params, "n"), (size_t)i)));
        ck_assert(json_is_string(json_array_get(json_object_get(params, "opt"), (size_t)i)));
        ck_assert(json_equal(json_object_get(tp, "opt"), json_array_get(json_object_get(params, "opt"), (size_t)i)));
        json_decref(t);
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(j, "params"), "opt"), "type")),
                     "categorical");
    json_t *curve1 = json_array_get(col(j, "intermediate"), 1);
    ck_assert_int_eq(json_array_size(json_object_get(curve1, "steps")), 2);
    ck_assert(json_real_value(json_array_get(json_object_get(curve1, "values"), 1)) == 1.5);
    ck_assert_str_eq(json_string_value(json_array_get(col(j, "worker"), 2)), "w1");
    ck_assert(json_is_integer(json_array_get(col(j, "started_ms"), 0)));
    ck_assert(json_is_null(json_array_get(col(j, "finished_ms"), 2)));
    char v1[64];
    snprintf(v1, sizeof v1, "%s", json_string_value(json_object_get(j, "version")));
    json_decref(j);

    /* nothing changed: nothing sent */
    char q[128];
    snprintf(q, sizeof q, "?since=%s", v1);
    j = columns(q);
    ck_assert(json_is_false(json_object_get(j, "full")));
    ck_assert_int_eq(json_array_size(col(j, "number")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "version")), v1);
    json_decref(j);
    /* a report to trial 2 and a new trial 3: those two only */
    call_ok("POST", "/api/v1/studies/p/trials/2/reports", "{\"step\":1,\"value\":2.5}", 200);
    call_ok("POST", "/api/v1/studies/p/trials", "{}", 201);
    j = columns(q);
    ck_assert(json_is_false(json_object_get(j, "full")));
    num = col(j, "number");
    ck_assert_int_eq(json_array_size(num), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(num, 0)), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(num, 1)), 3);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(col(j, "intermediate"), 0), "steps")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n_trials")), 4);
    ck_assert_str_ne(json_string_value(json_object_get(j, "version")), v1);
    json_decref(j);
    /* without curves; an unknown version is a full answer */
    j = columns("?intermediate=false&since=nonsense");
    ck_assert(json_is_true(json_object_get(j, "full")));
    ck_assert_ptr_null(json_object_get(json_object_get(j, "trials"), "intermediate"));
    ck_assert_int_eq(json_array_size(col(j, "number")), 4);
    json_decref(j);
    /* the curves of the last two trials having reports (1 and 2) only; 3 has none: empty */
    j = columns("?intermediate=2");
    json_t *iv = col(j, "intermediate");
    ck_assert_int_eq(json_array_size(iv), 4);
    ck_assert(json_is_null(json_array_get(iv, 0)));
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(iv, 1), "steps")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(iv, 2), "values")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(iv, 3), "steps")), 0);
    json_decref(j);
    j = columns("?intermediate=0");
    for (size_t i = 0; i < 4; i++)
        ck_assert(json_is_null(json_array_get(col(j, "intermediate"), i)));
    json_decref(j);
    /* after a restart the old version is of another load: everything again */
    e2e_stop(&srv, SIGTERM);
    e2e_start(&srv);
    j = columns(q);
    ck_assert(json_is_true(json_object_get(j, "full")));
    ck_assert_int_eq(json_array_size(col(j, "number")), 4);
    json_decref(j);
}
END_TEST

typedef struct {
    char query[128];
    long status;
    json_t *answer;
    double seconds;
} poll_job;

static void *poll_thread(void *arg)
{
    poll_job *job = arg;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/studies/p/columns%s", job->query);
    double t0 = now_s();
    job->status = e2e_call(&srv, "GET", path, NULL, &job->answer);
    job->seconds = now_s() - t0;
    return NULL;
}

#define WAITERS 24

/* A long poll answers as soon as a change is committed; one with no change answers empty at its
 * deadline; while many wait, the server (8 threads) answers other requests at once. */
START_TEST(long_poll_answers_on_the_commit)
{
    make_study();
    json_t *j = columns("");
    char v[64];
    snprintf(v, sizeof v, "%s", json_string_value(json_object_get(j, "version")));
    json_decref(j);

    poll_job idle[WAITERS];
    pthread_t th[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        memset(&idle[i], 0, sizeof idle[i]);
        snprintf(idle[i].query, sizeof idle[i].query, "?since=%s&wait=%d", v, i == 0 ? 1 : 6);
        ck_assert_int_eq(pthread_create(&th[i], NULL, poll_thread, &idle[i]), 0);
    }
    usleep(400 * 1000); /* they are all waiting now */
    double t0 = now_s();
    for (int k = 0; k < 10; k++)
        call_ok("GET", "/api/v1/studies/p", NULL, 200);
    double others = now_s() - t0;
    ck_assert_msg(others < 1.0, "10 reads took %.3f s while long polls waited", others);
    pthread_join(th[0], NULL); /* wait=1: nothing changed, answered empty at its deadline */
    ck_assert_int_eq(idle[0].status, 200);
    ck_assert_int_eq(json_array_size(col(idle[0].answer, "number")), 0);
    ck_assert(idle[0].seconds >= 0.9 && idle[0].seconds < 3.0);
    json_decref(idle[0].answer);

    t0 = now_s();
    call_ok("POST", "/api/v1/studies/p/trials/2/finish", "{\"state\":\"complete\",\"value\":1.0}",
            200);
    for (int i = 1; i < WAITERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(idle[i].status, 200);
        json_t *num = col(idle[i].answer, "number");
        ck_assert_int_eq(json_array_size(num), 1);
        ck_assert_int_eq(json_integer_value(json_array_get(num, 0)), 2);
        json_decref(idle[i].answer);
    }
    double woke = now_s() - t0;
    ck_assert_msg(woke < 1.0, "the long polls answered %.3f s after the commit", woke);
}
END_TEST

START_TEST(history_edf_and_their_bad_input)
{
    make_study();
    call_ok("POST", "/api/v1/studies/p/trials/2/finish", "{\"state\":\"complete\",\"value\":0.5}",
            200);
    call_ok("POST", "/api/v1/studies/p/trials", "{}", 201);
    call_ok("POST", "/api/v1/studies/p/trials/3/finish", "{\"state\":\"complete\",\"value\":0.1}",
            200);
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/p/history", NULL, &j), 200);
    json_t *num = json_object_get(j, "number"), *val = json_object_get(j, "value"),
           *best = json_object_get(j, "best");
    ck_assert_int_eq(json_array_size(num), 3); /* complete only: 0, 2, 3 */
    ck_assert_int_eq(json_integer_value(json_array_get(num, 1)), 2);
    ck_assert(json_real_value(json_array_get(val, 1)) == 0.5);
    ck_assert(json_real_value(json_array_get(best, 1)) == 0.25);
    ck_assert(json_real_value(json_array_get(best, 2)) == 0.1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "direction")), "minimize");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/p/edf", NULL, &j), 200);
    json_t *ev = json_object_get(j, "values"), *pr = json_object_get(j, "probability");
    ck_assert_int_eq(json_array_size(ev), 3);
    ck_assert(json_real_value(json_array_get(ev, 0)) == 0.1);
    ck_assert(json_real_value(json_array_get(ev, 2)) == 0.5);
    ck_assert(fabs(json_real_value(json_array_get(pr, 0)) - 1.0 / 3) < 1e-12);
    ck_assert(json_real_value(json_array_get(pr, 2)) == 1.0);
    json_decref(j);
    /* bad input, unknown study, tokens */
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/p/history?objective=1", NULL, &j), 400);
    e2e_expect_error(j, "invalid_argument");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/p/columns?wait=31", NULL, &j), 400);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/p/columns?intermediate=maybe", NULL, &j),
                     400);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/p/columns?intermediate=-1", NULL, &j),
                     400);
    e2e_expect_error(j, "invalid_argument");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/nope/edf", NULL, &j), 404);
    json_decref(j);
    ck_assert_int_eq(e2e_call_as(&srv, "", "GET", "/api/v1/studies/p/columns", NULL, &j), 401);
    json_decref(j);
    char other[64];
    e2e_make_token(&srv, other, "read", "--study", "q", NULL);
    ck_assert_int_eq(e2e_call_as(&srv, other, "GET", "/api/v1/studies/p/history", NULL, &j), 403);
    json_decref(j);
    char reader[64];
    e2e_make_token(&srv, reader, "read", "--study", "p", NULL);
    ck_assert_int_eq(e2e_call_as(&srv, reader, "GET", "/api/v1/studies/p/columns", NULL, &j), 200);
    json_decref(j);
}
END_TEST

/* Two objectives (minimize, maximize): t0 (1, 5), t1 (2, 6), t2 (3, 4) dominated by t0, a pruned
 * trial, t4 (0.5, 1); as losses with the reference (4, 0): 15, 15 + 2, unchanged, + 0.5. */
START_TEST(hypervolume_history_and_best)
{
    call_ok("POST", "/api/v1/studies", "{\"name\":\"mo\",\"directions\":[\"minimize\","
            "\"maximize\"],\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}",
            201);
    static const char *const fin[] = {
        "{\"state\":\"complete\",\"values\":[1,5]}", "{\"state\":\"complete\",\"values\":[2,6]}",
        "{\"state\":\"complete\",\"values\":[3,4]}", "{\"state\":\"pruned\"}",
        "{\"state\":\"complete\",\"values\":[0.5,1]}"};
    for (int i = 0; i < 5; i++) {
        char path[96];
        call_ok("POST", "/api/v1/studies/mo/trials", "{}", 201);
        snprintf(path, sizeof path, "/api/v1/studies/mo/trials/%d/finish", i);
        call_ok("POST", path, fin[i], 200);
    }
    call_ok("POST", "/api/v1/studies/mo/trials", "{}", 201); /* running: not counted */
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/mo/hypervolume?reference_point=4,0",
                              NULL, &j), 200);
    static const double want[] = {15, 17, 17, 17.5};
    static const int numbers[] = {0, 1, 2, 4};
    json_t *num = json_object_get(j, "number"), *hv = json_object_get(j, "history");
    ck_assert_int_eq(json_array_size(hv), 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(json_integer_value(json_array_get(num, i)), numbers[i]);
        ck_assert_msg(fabs(json_real_value(json_array_get(hv, i)) - want[i]) < 1e-12,
                      "entry %zu: %g", i, json_real_value(json_array_get(hv, i)));
    }
    ck_assert(json_real_value(json_object_get(j, "hypervolume")) == 17.5);
    json_decref(j);
    /* GET best: the front (t0, t1, t4) and its hypervolume, with the default reference: the
     * worst values 3 and 1 moved out by 10 % (3.3, and 0.9 for the maximized one) */
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/mo/best", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "trials")), 3);
    json_t *rp = json_object_get(j, "reference_point");
    ck_assert(fabs(json_real_value(json_array_get(rp, 0)) - 3.3) < 1e-12);
    ck_assert(fabs(json_real_value(json_array_get(rp, 1)) - 0.9) < 1e-12);
    /* losses (0.5, -1), (1, -5), (2, -6) up to (3.3, -0.9): 2.8 * 0.1 + 2.3 * 4 + 1.3 * 1 */
    ck_assert(fabs(json_real_value(json_object_get(j, "hypervolume")) - 10.78) < 1e-12);
    json_decref(j);
    /* constrained: an infeasible trial adds nothing, however good its values */
    call_ok("POST", "/api/v1/studies", "{\"name\":\"moc\",\"directions\":[\"minimize\","
            "\"maximize\"],\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}",
            201);
    static const char *const cfin[] = {
        "{\"state\":\"complete\",\"values\":[1,5],\"constraints\":[0]}",
        "{\"state\":\"complete\",\"values\":[0,10],\"constraints\":[0.5]}"};
    for (int i = 0; i < 2; i++) {
        char path[96];
        call_ok("POST", "/api/v1/studies/moc/trials", "{}", 201);
        snprintf(path, sizeof path, "/api/v1/studies/moc/trials/%d/finish", i);
        call_ok("POST", path, cfin[i], 200);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/moc/hypervolume?reference_point=4,0",
                              NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "history")), 1);
    ck_assert(json_real_value(json_object_get(j, "hypervolume")) == 15);
    json_decref(j);
    /* bad input changes nothing and says why */
    static const char *const bad[] = {"/api/v1/studies/mo/hypervolume?reference_point=4",
                                      "/api/v1/studies/mo/hypervolume?reference_point=4,x",
                                      "/api/v1/studies/mo/best?reference_point=1,2,3",
                                      "/api/v1/studies/mo/hypervolume?reference_point=4,nan",
                                      "/api/v1/studies/p1/hypervolume"};
    call_ok("POST", "/api/v1/studies", "{\"name\":\"p1\"}", 201);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(e2e_call(&srv, "GET", bad[i], NULL, &j), 400);
        e2e_expect_error(j, "invalid_argument");
        json_decref(j);
    }
}
END_TEST

START_TEST(asha_rungs)
{
    call_ok("POST", "/api/v1/studies",
            "{\"name\":\"a\",\"pruner\":{\"type\":\"asha\",\"min_resource\":1,"
            "\"reduction_factor\":3,\"max_resource\":9}}",
            201);
    json_t *j = NULL;
    for (int i = 0; i < 3; i++) {
        call_ok("POST", "/api/v1/studies/a/trials", "{}", 201);
        char path[128], body[64];
        snprintf(path, sizeof path, "/api/v1/studies/a/trials/%d/reports", i);
        snprintf(body, sizeof body, "{\"step\":1,\"value\":%d}", i);
        call_ok("POST", path, body, 200); /* reaches rung 0 (resource 1) and waits there */
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/a/asha", NULL, &j), 200);
    json_t *rungs = json_object_get(j, "rungs");
    ck_assert_int_eq(json_array_size(rungs), 3); /* resources 1, 3, 9 */
    json_t *r0 = json_array_get(rungs, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r0, "resource")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r0, "reached")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r0, "paused")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r0, "promoted")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rungs, 2), "resource")), 9);
    json_decref(j);
    /* the next ask promotes the best of the three (trial 0) from rung 0; it goes on to rung 1 */
    json_t *t = NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_int_t before_ms = (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/a/trials", "{}", &t), 201);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "number")), 0);
    json_decref(t);
    clock_gettime(CLOCK_REALTIME, &ts);
    json_int_t after_ms = (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    /* promoted, with its time, before any report past the rung; the same after a restart */
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/a/asha", NULL, &j), 200);
        r0 = json_array_get(json_object_get(j, "rungs"), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(r0, "promoted")), 1);
        ck_assert_int_eq(json_array_size(json_object_get(j, "promotions")), 1);
        json_t *p = json_array_get(json_object_get(j, "promotions"), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(p, "number")), 0);
        json_int_t at = json_integer_value(json_object_get(p, "promoted_ms"));
        ck_assert_msg(at >= before_ms - 1 && at <= after_ms + 1, "promoted_ms %lld not in [%lld, %lld]",
                      (long long)at, (long long)before_ms, (long long)after_ms);
        json_decref(j);
        if (round == 0) {
            e2e_stop(&srv, SIGTERM);
            e2e_start(&srv);
        }
    }
    call_ok("POST", "/api/v1/studies/a/trials/0/reports", "{\"step\":3,\"value\":0}", 200);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/a/asha", NULL, &j), 200);
    r0 = json_array_get(json_object_get(j, "rungs"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r0, "promoted")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r0, "paused")), 2);
    json_t *r1 = json_array_get(json_object_get(j, "rungs"), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r1, "reached")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r1, "paused")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(j, "promotions")), 1); /* not twice */
    json_t *p0 = json_array_get(json_object_get(j, "promotions"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "number")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "rung")), 0);
    ck_assert(json_is_integer(json_object_get(p0, "promoted_ms")));
    json_decref(j);
    /* another pruner: no rungs */
    call_ok("POST", "/api/v1/studies", "{\"name\":\"m\"}", 201);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/m/asha", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "rungs")), 0);
    json_decref(j);
}
END_TEST


/* x decides the value, y hardly: both evaluators rank x first. */
START_TEST(importance_ranks_the_param_that_matters)
{
    call_ok("POST", "/api/v1/studies",
            "{\"name\":\"imp\",\"sampler\":{\"type\":\"random\",\"seed\":4},"
            "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5},"
            "\"y\":{\"type\":\"float\",\"low\":-5,\"high\":5}}}",
            201);
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/imp/importance", NULL, &j), 400);
    json_decref(j);
    for (int i = 0; i < 40; i++) {
        json_t *t = NULL;
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/imp/trials", "{}", &t), 201);
        json_t *p = json_object_get(t, "params");
        double x = json_real_value(json_object_get(p, "x")), y = json_real_value(json_object_get(p, "y"));
        char path[128], body[96];
        snprintf(path, sizeof path, "/api/v1/studies/imp/trials/%lld/finish",
                 (long long)json_integer_value(json_object_get(t, "number")));
        snprintf(body, sizeof body, "{\"state\":\"complete\",\"value\":%.17g}", 10 * x * x + 0.01 * y);
        call_ok("POST", path, body, 200);
        json_decref(t);
    }
    const char *queries[] = {"", "?evaluator=ped_anova", "?evaluator=fanova&seed=7&params=y,x"};
    for (size_t q = 0; q < 3; q++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/studies/imp/importance%s", queries[q]);
        ck_assert_int_eq(e2e_call(&srv, "GET", path, NULL, &j), 200);
        json_t *imp = json_object_get(j, "importances");
        ck_assert_int_eq(json_array_size(imp), 2);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(imp, 0), "param")), "x");
        double a = json_real_value(json_object_get(json_array_get(imp, 0), "importance"));
        double b = json_real_value(json_object_get(json_array_get(imp, 1), "importance"));
        ck_assert_msg(a > 0.7 && fabs(a + b - 1) < 1e-9, "%s: x %g, y %g", path, a, b);
        ck_assert_int_eq(json_integer_value(json_object_get(j, "n_trials")), 40);
        json_decref(j);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/imp/importance?evaluator=shap", NULL, &j),
                     400);
    e2e_expect_error(j, "invalid_argument");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/imp/importance?params=z", NULL, &j), 400);
    json_decref(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plots");
    TCase *tc = tcase_create("e2e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, columns_whole_then_only_what_changed);
    tcase_add_test(tc, long_poll_answers_on_the_commit);
    tcase_add_test(tc, history_edf_and_their_bad_input);
    tcase_add_test(tc, asha_rungs);
    tcase_add_test(tc, hypervolume_history_and_best);
    tcase_add_test(tc, importance_ranks_the_param_that_matters);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
