/* test_api: the real hpo-server binary over HTTP on a fresh PostgreSQL database: the study and
 * trial life cycle, bad input changing nothing, concurrent asks, and restarts. */
#include <check.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static const char *STUDY_BODY =
    "{\"name\":\"s1\",\"direction\":\"minimize\",\"max_trials\":50,"
    "\"search_space\":{\"lr\":{\"type\":\"float\",\"low\":1e-4,\"high\":1e-2,\"log\":true},"
    "\"layers\":{\"type\":\"int\",\"low\":1,\"high\":4},"
    "\"opt\":{\"type\":\"categorical\",\"choices\":[\"SGD\",\"Adam\",null,true,3]}}}";

static void create_s1(void)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", STUDY_BODY, &j), 201);
    json_decref(j);
}

static json_t *ask(const char *study, const char *body, long expect)
{
    json_t *j = NULL;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/studies/%s/trials", study);
    long st = e2e_call(&srv, "POST", path, body, &j);
    ck_assert_msg(st == expect, "ask answered %ld, expected %ld", st, expect);
    return j;
}

static long jint(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return (long)json_integer_value(v);
}

/* A snapshot of a study and all its trials, to show that bad input changed nothing. */
static char *snapshot(const char *study)
{
    json_t *a = NULL, *b = NULL;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/studies/%s", study);
    ck_assert_int_eq(e2e_call(&srv, "GET", path, NULL, &a), 200);
    snprintf(path, sizeof path, "/api/v1/studies/%s/trials?limit=1000", study);
    ck_assert_int_eq(e2e_call(&srv, "GET", path, NULL, &b), 200);
    json_t *both = json_pack("{s:o,s:o}", "study", a, "trials", b);
    char *text = json_dumps(both, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(both);
    return text;
}

START_TEST(study_life_cycle)
{
    json_t *j;
    create_s1();
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", STUDY_BODY, &j), 409);
    e2e_expect_error(j, "already_exists");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"s1\",\"load_if_exists\":true}", &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "direction")), "minimize");
    ck_assert_int_eq(jint(j, "max_trials"), 50);
    json_decref(j);

    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1", NULL, &j), 200);
    ck_assert_int_eq(json_object_size(json_object_get(j, "search_space")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "sampler"), "type")),
                     "auto");
    ck_assert(json_is_null(json_object_get(j, "best_trial")));
    json_decref(j);

    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"mo\",\"directions\":[\"minimize\",\"maximize\"]}", &j),
                     201);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies", NULL, &j), 200);
    json_t *list = json_object_get(j, "studies");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")), "mo");
    json_decref(j);

    ck_assert_int_eq(e2e_call(&srv, "DELETE", "/api/v1/studies/mo", NULL, &j), 204);
    ck_assert_ptr_null(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/mo", NULL, &j), 404);
    e2e_expect_error(j, "not_found");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "DELETE", "/api/v1/studies/mo", NULL, &j), 404);
    json_decref(j);
}
END_TEST

START_TEST(trial_life_cycle)
{
    json_t *j;
    create_s1();
    json_t *t = ask("s1", "{\"worker\":\"w1\"}", 201);
    ck_assert_int_eq(jint(t, "number"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(t, "state")), "running");
    ck_assert_str_eq(json_string_value(json_object_get(t, "worker")), "w1");
    json_t *p = json_object_get(t, "params");
    double lr = json_real_value(json_object_get(p, "lr"));
    ck_assert(lr >= 1e-4 && lr <= 1e-2);
    ck_assert(json_is_integer(json_object_get(p, "layers")));
    long layers = jint(p, "layers");
    ck_assert(layers >= 1 && layers <= 4);
    ck_assert_ptr_nonnull(json_object_get(p, "opt"));
    json_decref(t);

    /* define-by-run */
    const char *sug = "{\"name\":\"dropout\",\"distribution\":{\"type\":\"float\",\"low\":0,"
                      "\"high\":0.5,\"step\":0.1}}";
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/suggest", sug, &j), 200);
    double d1 = json_real_value(json_object_get(j, "value"));
    ck_assert(d1 >= 0 && d1 <= 0.5 + 1e-12);
    ck_assert(fabs(d1 * 10 - round(d1 * 10)) < 1e-9);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/suggest", sug, &j), 200);
    ck_assert(json_real_value(json_object_get(j, "value")) == d1);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/suggest",
                              "{\"name\":\"dropout\",\"distribution\":{\"type\":\"float\","
                              "\"low\":0,\"high\":0.9}}", &j), 409);
    e2e_expect_error(j, "conflict");
    json_decref(j);
    /* a declared param asked with its declared distribution gives the sampled value */
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/suggest",
                              "{\"name\":\"layers\",\"distribution\":{\"type\":\"int\",\"low\":1,"
                              "\"high\":4}}", &j), 200);
    ck_assert_int_eq(jint(j, "value"), layers);
    json_decref(j);

    /* reports: repeated step keeps its first value */
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/reports",
                              "{\"step\":1,\"value\":0.5}", &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "action")), "continue");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/reports",
                              "{\"step\":1,\"value\":0.9}", &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/reports",
                              "{\"reports\":[{\"step\":3,\"value\":0.25},{\"step\":2,\"value\":0.3}]}",
                              &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/heartbeat", NULL, &j),
                     200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "action")), "continue");
    json_decref(j);

    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1/trials/0", NULL, &j), 200);
    json_t *iv = json_object_get(j, "intermediate_values");
    ck_assert_int_eq(json_array_size(iv), 3);
    ck_assert_int_eq(jint(json_array_get(iv, 0), "step"), 1);
    ck_assert(json_real_value(json_object_get(json_array_get(iv, 0), "value")) == 0.5);
    ck_assert_int_eq(jint(json_array_get(iv, 1), "step"), 2);
    ck_assert_int_eq(json_object_size(json_object_get(j, "params")), 4);
    json_decref(j);

    /* finish, idempotent repeat, a different finish refused */
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/finish",
                              "{\"state\":\"complete\",\"value\":0.125}", &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "complete");
    ck_assert(json_real_value(json_object_get(j, "value")) == 0.125);
    ck_assert(json_is_string(json_object_get(j, "datetime_complete")));
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/finish",
                              "{\"state\":\"complete\",\"value\":0.125}", &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/finish",
                              "{\"state\":\"complete\",\"value\":0.5}", &j), 409);
    e2e_expect_error(j, "trial_finished");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/finish",
                              "{\"state\":\"fail\"}", &j), 409);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/reports",
                              "{\"step\":4,\"value\":0.1}", &j), 409);
    e2e_expect_error(j, "trial_finished");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/suggest", sug, &j), 409);
    e2e_expect_error(j, "trial_finished");
    json_decref(j);

    /* more trials: pruned takes its last intermediate value, fail keeps its reason */
    json_decref(ask("s1", NULL, 201));
    json_decref(ask("s1", NULL, 201));
    json_decref(ask("s1", NULL, 201));
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/1/reports",
                              "{\"step\":5,\"value\":0.75}", &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/1/finish",
                              "{\"state\":\"pruned\"}", &j), 200);
    ck_assert(json_real_value(json_object_get(j, "value")) == 0.75);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/2/finish",
                              "{\"state\":\"fail\",\"reason\":\"CUDA out of memory\"}", &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "fail_reason")), "CUDA out of memory");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/3/finish",
                              "{\"state\":\"complete\",\"value\":0.0625}", &j), 200);
    json_decref(j);

    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1/best", NULL, &j), 200);
    ck_assert_int_eq(jint(j, "number"), 3);
    json_decref(j);

    /* list: filter and pages */
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1/trials?state=complete", NULL, &j),
                     200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "trials")), 2);
    ck_assert(json_is_null(json_object_get(j, "next_after")));
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1/trials?limit=3", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "trials")), 3);
    ck_assert_int_eq(jint(j, "next_after"), 2);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1/trials?limit=3&after=2", NULL, &j),
                     200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "trials")), 1);
    ck_assert_int_eq(jint(json_array_get(json_object_get(j, "trials"), 0), "number"), 3);
    ck_assert(json_is_null(json_object_get(j, "next_after")));
    json_decref(j);

    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1", NULL, &j), 200);
    json_t *counts = json_object_get(j, "counts");
    ck_assert_int_eq(jint(counts, "complete"), 2);
    ck_assert_int_eq(jint(counts, "pruned"), 1);
    ck_assert_int_eq(jint(counts, "fail"), 1);
    ck_assert_int_eq(jint(json_object_get(j, "best_trial"), "number"), 3);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies", NULL, &j), 200);
    json_t *s = json_array_get(json_object_get(j, "studies"), 0);
    ck_assert(json_real_value(json_object_get(s, "best_value")) == 0.0625);
    ck_assert_int_eq(jint(json_object_get(s, "counts"), "complete"), 2);
    json_decref(j);
}
END_TEST

START_TEST(queue_fixed_params_and_idempotency)
{
    json_t *j;
    create_s1();
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/queue",
                              "{\"params\":{\"lr\":0.001,\"opt\":\"Adam\",\"extra\":7}}", &j), 201);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "waiting");
    ck_assert_int_eq(jint(j, "number"), 0);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/queue",
                              "{\"params\":{\"lr\":5}}", &j), 400);
    e2e_expect_error(j, "invalid_argument");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "field")),
                     "params.lr");
    json_decref(j);

    /* the waiting trial is handed out first, with its params, the rest sampled */
    json_t *t = ask("s1", "{\"idempotency_key\":\"k1\"}", 201);
    ck_assert_int_eq(jint(t, "number"), 0);
    json_t *p = json_object_get(t, "params");
    ck_assert(json_real_value(json_object_get(p, "lr")) == 0.001);
    ck_assert_str_eq(json_string_value(json_object_get(p, "opt")), "Adam");
    ck_assert(json_is_integer(json_object_get(p, "layers")));
    json_decref(t);
    /* the enqueued value of a param outside the space is used when it is suggested */
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/0/suggest",
                              "{\"name\":\"extra\",\"distribution\":{\"type\":\"int\",\"low\":0,"
                              "\"high\":10}}", &j), 200);
    ck_assert_int_eq(jint(j, "value"), 7);
    json_decref(j);

    /* the same idempotency key gives the same trial again, and no new one */
    t = ask("s1", "{\"idempotency_key\":\"k1\"}", 200);
    ck_assert_int_eq(jint(t, "number"), 0);
    json_decref(t);
    t = ask("s1", "{\"params\":{\"layers\":3}}", 201);
    ck_assert_int_eq(jint(t, "number"), 1);
    ck_assert_int_eq(jint(json_object_get(t, "params"), "layers"), 3);
    json_decref(t);
    t = ask("s1", "{\"params\":{\"layers\":9}}", 400);
    json_decref(t);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1", NULL, &j), 200);
    ck_assert_int_eq(jint(j, "n_trials"), 2);
    json_decref(j);
}
END_TEST

START_TEST(max_trials_and_multi_objective)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"mo\",\"directions\":[\"minimize\",\"maximize\"],"
                              "\"max_trials\":3}", &j), 201);
    json_decref(j);
    double vals[3][2] = {{1, 1}, {1, 0.5}, {2, 3}};
    for (int i = 0; i < 3; i++) {
        json_decref(ask("mo", NULL, 201));
        /* a single value for two objectives is refused */
        json_t *one = json_pack("{s:s,s:f}", "state", "complete", "value", 1.0);
        ck_assert_int_eq(e2e_callj(&srv, "POST", one, &j, "/api/v1/studies/mo/trials/%d/finish",
                                   i), 400);
        e2e_expect_error(j, "invalid_argument");
        json_decref(one);
        json_decref(j);
        json_t *body = json_pack("{s:s,s:[f,f]}", "state", "complete", "values", vals[i][0],
                                 vals[i][1]);
        ck_assert_int_eq(e2e_callj(&srv, "POST", body, &j, "/api/v1/studies/mo/trials/%d/finish",
                                   i), 200);
        json_decref(body);
        json_decref(j);
    }
    j = ask("mo", NULL, 409);
    e2e_expect_error(j, "study_complete");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/mo/queue", "{\"params\":{}}", &j),
                     409);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/mo/best", NULL, &j), 200);
    json_t *front = json_object_get(j, "trials");
    /* (1, 0.5) is dominated by (1, 1); (1, 1) and (2, 3) form the front */
    ck_assert_int_eq(json_array_size(front), 2);
    json_decref(j);
}
END_TEST

/* Each bad request gets the right status and code and leaves the study as it was. */
START_TEST(bad_input_changes_nothing)
{
    json_t *j;
    create_s1();
    json_decref(ask("s1", NULL, 201));
    char *before = snapshot("s1");

    static const struct {
        const char *method, *path, *body;
        long status;
        const char *code, *field;
    } cases[] = {
        {"POST", "/api/v1/studies", "{\"name\":\"x\",", 400, "invalid_argument", NULL},
        {"POST", "/api/v1/studies", "{\"name\":", 400, "invalid_argument", NULL},
        {"POST", "/api/v1/studies", "[1,2]", 400, "invalid_argument", NULL},
        {"POST", "/api/v1/studies", "{\"name\":5}", 400, "invalid_argument", "name"},
        {"POST", "/api/v1/studies", "{}", 400, "invalid_argument", "name"},
        {"POST", "/api/v1/studies", "{\"name\":\"\"}", 400, "invalid_argument", "name"},
        {"POST", "/api/v1/studies", "{\"name\":\"a b\"}", 400, "invalid_argument", "name"},
        {"POST", "/api/v1/studies", "{\"name\":\"a/b\"}", 400, "invalid_argument", "name"},
        {"POST", "/api/v1/studies", "{\"name\":\"x\",\"direction\":\"up\"}", 400,
         "invalid_argument", "direction"},
        {"POST", "/api/v1/studies", "{\"name\":\"x\",\"max_trials\":0}", 400, "invalid_argument",
         "max_trials"},
        {"POST", "/api/v1/studies", "{\"name\":\"x\",\"sampler\":{\"type\":\"nope\"}}", 400,
         "invalid_argument", "sampler.type"},
        {"POST", "/api/v1/studies", "{\"name\":\"x\",\"colour\":1}", 400, "invalid_argument",
         "colour"},
        {"POST", "/api/v1/studies",
         "{\"name\":\"x\",\"search_space\":{\"a\":{\"type\":\"float\",\"low\":2,\"high\":1}}}", 400,
         "invalid_argument", "search_space.a"},
        {"POST", "/api/v1/studies",
         "{\"name\":\"x\",\"search_space\":{\"a\":{\"type\":\"float\",\"low\":0,\"high\":1,"
         "\"log\":true}}}", 400, "invalid_argument", "search_space.a"},
        {"POST", "/api/v1/studies",
         "{\"name\":\"x\",\"search_space\":{\"a\":{\"type\":\"categorical\",\"choices\":[]}}}", 400,
         "invalid_argument", "search_space.a"},
        {"POST", "/api/v1/studies/s1/trials", "{\"worker\":7}", 400, "invalid_argument", "worker"},
        {"POST", "/api/v1/studies/s1/trials/0/reports", "{\"step\":-1,\"value\":1}", 400,
         "invalid_argument", "step"},
        {"POST", "/api/v1/studies/s1/trials/0/reports", "{\"step\":1,\"value\":\"x\"}", 400,
         "invalid_argument", "value"},
        {"POST", "/api/v1/studies/s1/trials/0/reports", "{\"step\":1}", 400, "invalid_argument",
         "value"},
        {"POST", "/api/v1/studies/s1/trials/0/reports", "{\"step\":1,\"value\":1e999}", 400,
         "invalid_argument", NULL},
        {"POST", "/api/v1/studies/s1/trials/0/finish", "{\"state\":\"complete\"}", 400,
         "invalid_argument", "value"},
        {"POST", "/api/v1/studies/s1/trials/0/finish", "{\"state\":\"complete\",\"value\":1e999}",
         400, "invalid_argument", NULL},
        {"POST", "/api/v1/studies/s1/trials/0/finish", "{\"state\":\"done\",\"value\":1}", 400,
         "invalid_argument", "state"},
        {"POST", "/api/v1/studies/s1/trials/0/finish",
         "{\"state\":\"complete\",\"values\":[1,2]}", 400, "invalid_argument", "values"},
        {"POST", "/api/v1/studies/s1/trials/0/suggest",
         "{\"name\":\"q\",\"distribution\":{\"type\":\"int\",\"low\":1,\"high\":10,\"step\":4}}",
         400, "invalid_argument", "distribution.step"},
        {"POST", "/api/v1/studies/s1/trials/0/suggest",
         "{\"name\":\"q\",\"distribution\":{\"type\":\"float\",\"low\":1,\"high\":10,\"log\":true,"
         "\"step\":1}}", 400, "invalid_argument", "distribution"},
        {"POST", "/api/v1/studies/s1/trials/0/suggest",
         "{\"name\":\"q\",\"distribution\":{\"type\":\"categorical\",\"choices\":[1,1]}}", 400,
         "invalid_argument", "distribution.choices"},
        {"POST", "/api/v1/studies/s1/trials/0/suggest",
         "{\"name\":\"lr\",\"distribution\":{\"type\":\"float\",\"low\":0,\"high\":1}}", 409,
         "conflict", NULL},
        {"POST", "/api/v1/studies/nope/trials", NULL, 404, "not_found", NULL},
        {"GET", "/api/v1/studies/s1/trials/7", NULL, 404, "not_found", NULL},
        {"POST", "/api/v1/studies/s1/trials/7/finish", "{\"state\":\"fail\"}", 404, "not_found",
         NULL},
        {"GET", "/api/v1/studies/s1/trials?state=odd", NULL, 400, "invalid_argument", "state"},
        {"GET", "/api/v1/studies/s1/trials?limit=0", NULL, 400, "invalid_argument", "limit"},
        {"GET", "/api/v1/nothing", NULL, 404, "not_found", NULL},
        {"PUT", "/api/v1/studies", "{}", 405, "method_not_allowed", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long st = e2e_call(&srv, cases[i].method, cases[i].path, cases[i].body, &j);
        ck_assert_msg(st == cases[i].status, "case %zu (%s %s %s): status %ld, expected %ld", i,
                      cases[i].method, cases[i].path, cases[i].body ? cases[i].body : "", st,
                      cases[i].status);
        e2e_expect_error(j, cases[i].code);
        if (cases[i].field) {
            const char *f =
                json_string_value(json_object_get(json_object_get(j, "error"), "field"));
            ck_assert_msg(f && strncmp(f, cases[i].field, strlen(cases[i].field)) == 0,
                          "case %zu: field %s, expected %s", i, f ? f : "(none)", cases[i].field);
        }
        json_decref(j);
    }

    /* a body over 1 MiB */
    size_t big = 1024 * 1024 + 16;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    memcpy(body, "{\"name\":\"big\"}", 14);
    body[big] = '\0';
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", body, &j), 413);
    e2e_expect_error(j, "too_large");
    json_decref(j);
    free(body);

    char *after = snapshot("s1");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "studies")), 1);
    json_decref(j);
    /* names of 128 characters are fine, 129 are not */
    char name[140], req[200];
    memset(name, 'n', 129);
    name[129] = '\0';
    snprintf(req, sizeof req, "{\"name\":\"%s\"}", name);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", req, &j), 400);
    json_decref(j);
    name[128] = '\0';
    snprintf(req, sizeof req, "{\"name\":\"%s\"}", name);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", req, &j), 201);
    json_decref(j);
}
END_TEST

#define N_CLIENTS 16
#define N_MAX 500

typedef struct {
    int numbers[N_MAX + N_CLIENTS];
    int n;
    int complete_answers;
} client_result;

static void *ask_loop(void *arg)
{
    client_result *r = arg;
    for (;;) {
        json_t *j = NULL;
        long st = e2e_call(&srv, "POST", "/api/v1/studies/load/trials", "{}", &j);
        if (st == 409) {
            r->complete_answers++;
            json_decref(j);
            return NULL;
        }
        if (st != 201) {
            json_decref(j);
            return NULL;
        }
        int n = (int)json_integer_value(json_object_get(j, "number"));
        r->numbers[r->n++] = n;
        json_decref(j);
        json_t *fin = json_pack("{s:s,s:f}", "state", "complete", "value", (double)n);
        long fst = e2e_callj(&srv, "POST", fin, &j, "/api/v1/studies/load/trials/%d/finish", n);
        json_decref(fin);
        json_decref(j);
        if (fst != 200)
            return NULL;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(concurrent_asks_number_exactly)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"load\",\"max_trials\":500,\"search_space\":"
                              "{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}", &j), 201);
    json_decref(j);
    static client_result results[N_CLIENTS];
    memset(results, 0, sizeof results);
    pthread_t th[N_CLIENTS];
    double t0 = now_s();
    for (int i = 0; i < N_CLIENTS; i++)
        pthread_create(&th[i], NULL, ask_loop, &results[i]);
    for (int i = 0; i < N_CLIENTS; i++)
        pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    static int seen[N_MAX];
    memset(seen, 0, sizeof seen);
    int total = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        ck_assert_int_eq(results[i].complete_answers, 1);
        for (int k = 0; k < results[i].n; k++) {
            int n = results[i].numbers[k];
            ck_assert(n >= 0 && n < N_MAX);
            ck_assert_msg(seen[n] == 0, "number %d handed out twice", n);
            seen[n] = 1;
            total++;
        }
    }
    ck_assert_int_eq(total, N_MAX);
    fprintf(stderr, "16 clients: %d ask+finish pairs in %.2f s: %.0f trials/s (%.0f requests/s)\n",
            N_MAX, dt, N_MAX / dt, 2 * N_MAX / dt);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/load", NULL, &j), 200);
    ck_assert_int_eq(jint(json_object_get(j, "counts"), "complete"), N_MAX);
    json_decref(j);
}
END_TEST

static void restart_keeps_everything(int sig)
{
    json_t *j;
    create_s1();
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"two\",\"direction\":\"maximize\",\"user_attrs\":"
                              "{\"owner\":\"ml-team\"}}", &j), 201);
    json_decref(j);
    for (int i = 0; i < 6; i++) {
        json_decref(ask("s1", NULL, 201));
        json_t *rep = json_pack("{s:i,s:f}", "step", 1, "value", 0.1 * i);
        ck_assert_int_eq(e2e_callj(&srv, "POST", rep, &j, "/api/v1/studies/s1/trials/%d/reports",
                                   i), 200);
        json_decref(rep);
        json_decref(j);
        if (i % 2 == 0) {
            json_t *fin = json_pack("{s:s,s:f}", "state", "complete", "value", 1.0 / (i + 1));
            ck_assert_int_eq(e2e_callj(&srv, "POST", fin, &j,
                                       "/api/v1/studies/s1/trials/%d/finish", i), 200);
            json_decref(fin);
            json_decref(j);
        }
    }
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/queue",
                              "{\"params\":{\"layers\":2}}", &j), 201);
    json_decref(j);
    char *s1 = snapshot("s1"), *two = snapshot("two");

    e2e_stop(&srv, sig);
    e2e_start(&srv);

    char *s1b = snapshot("s1"), *twob = snapshot("two");
    ck_assert_str_eq(s1, s1b);
    ck_assert_str_eq(two, twob);
    free(s1), free(s1b), free(two), free(twob);
    /* and it carries on: the queued trial comes next, then number 7 */
    json_t *t = ask("s1", NULL, 201);
    ck_assert_int_eq(jint(t, "number"), 6);
    ck_assert_int_eq(jint(json_object_get(t, "params"), "layers"), 2);
    json_decref(t);
    t = ask("s1", NULL, 201);
    ck_assert_int_eq(jint(t, "number"), 7);
    json_decref(t);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/s1/trials/1/finish",
                              "{\"state\":\"complete\",\"value\":0.01}", &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1/best", NULL, &j), 200);
    ck_assert_int_eq(jint(j, "number"), 1);
    json_decref(j);
}

START_TEST(restart_after_sigterm)
{
    restart_keeps_everything(SIGTERM);
}
END_TEST

START_TEST(restart_after_sigkill)
{
    restart_keeps_everything(SIGKILL);
}
END_TEST

/* The retry policy over HTTP: bad policies and a preempted complete are refused and change
 * nothing; a preempted fail is retried, the chain shows both ways, and the study counts retries. */
START_TEST(retry_policy_over_http)
{
    static const char *const bad[] = {
        "{\"name\":\"r\",\"retry\":[]}",
        "{\"name\":\"r\",\"retry\":{\"max_retries\":101}}",
        "{\"name\":\"r\",\"retry\":{\"max_retries\":-1}}",
        "{\"name\":\"r\",\"retry\":{\"on\":[]}}",
        "{\"name\":\"r\",\"retry\":{\"on\":[\"fail\",\"fail\"]}}",
        "{\"name\":\"r\",\"retry\":{\"on\":[\"crash\"]}}",
        "{\"name\":\"r\",\"retry\":{\"keep_intermediate\":\"yes\"}}",
        "{\"name\":\"r\",\"retry\":{\"max_retries\":1,\"backoff\":2}}",
    };
    json_t *j = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", bad[i], &j), 400);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                         "invalid_argument");
        json_decref(j);
        ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/r", NULL, &j), 404);
        json_decref(j);
    }
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"r\",\"search_space\":{\"x\":{\"type\":\"float\","
                              "\"low\":0,\"high\":1}},\"retry\":{\"max_retries\":1,"
                              "\"on\":[\"preempted\"]}}", &j), 201);
    json_t *retry = json_object_get(j, "retry");
    ck_assert_int_eq(jint(retry, "max_retries"), 1);
    ck_assert_int_eq(json_array_size(json_object_get(retry, "on")), 1);
    ck_assert(json_is_false(json_object_get(retry, "keep_intermediate")));
    json_decref(j);
    j = ask("r", "{}", 201);
    ck_assert(json_is_null(json_object_get(j, "retry_of")));
    ck_assert(json_is_false(json_object_get(j, "preempted")));
    double x = json_real_value(json_object_get(json_object_get(j, "params"), "x"));
    json_decref(j);
    char *before = snapshot("r");
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/r/trials/0/finish",
                              "{\"state\":\"complete\",\"value\":1,\"preempted\":true}", &j),
                     400);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/r/trials/0/finish",
                              "{\"state\":\"fail\",\"preempted\":1}", &j), 400);
    json_decref(j);
    char *after = snapshot("r");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/r/trials/0/finish",
                              "{\"state\":\"fail\",\"preempted\":true}", &j), 200);
    ck_assert(json_is_true(json_object_get(j, "preempted")));
    ck_assert_int_eq(jint(j, "retried_by"), 1);
    json_decref(j);
    j = ask("r", "{}", 201);
    ck_assert_int_eq(jint(j, "number"), 1);
    ck_assert_int_eq(jint(j, "retry_of"), 0);
    ck_assert(json_is_null(json_object_get(j, "retried_by")));
    ck_assert(json_real_value(json_object_get(json_object_get(j, "params"), "x")) == x);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/r/trials/0", NULL, &j), 200);
    ck_assert_int_eq(jint(j, "retried_by"), 1);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/r", NULL, &j), 200);
    ck_assert_int_eq(jint(j, "n_trials"), 2);
    ck_assert_int_eq(jint(j, "n_retries"), 1);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies", NULL, &j), 200);
    ck_assert_int_eq(jint(json_array_get(json_object_get(j, "studies"), 0), "n_retries"), 1);
    json_decref(j);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, study_life_cycle);
    tcase_add_test(tc, trial_life_cycle);
    tcase_add_test(tc, queue_fixed_params_and_idempotency);
    tcase_add_test(tc, max_trials_and_multi_objective);
    tcase_add_test(tc, bad_input_changes_nothing);
    tcase_add_test(tc, retry_policy_over_http);
    tcase_add_test(tc, concurrent_asks_number_exactly);
    tcase_add_test(tc, restart_after_sigterm);
    tcase_add_test(tc, restart_after_sigkill);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
