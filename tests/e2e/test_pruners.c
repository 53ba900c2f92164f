/* test_pruners: early-stopping decisions through the real hpo-server: median pruning answering
 * prune on reports and heartbeats, ASHA pausing trials at rungs and promoting the best with their
 * resource and checkpoint, the 204 while work may come, and paused trials left behind at the end. */
#include <check.h>
#include <curl/curl.h>
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

/* POST a report and return the action. */
static const char *report(const char *study, int n, int step, double value)
{
    static char action[16];
    json_t *j, *body = json_pack("{s:i,s:f}", "step", step, "value", value);
    long st = e2e_callj(&srv, "POST", body, &j, "/api/v1/studies/%s/trials/%d/reports", study, n);
    json_decref(body);
    ck_assert_msg(st == 200, "report answered %ld", st);
    snprintf(action, sizeof action, "%s", json_string_value(json_object_get(j, "action")));
    json_decref(j);
    return action;
}

static const char *heartbeat(const char *study, int n)
{
    static char action[16];
    json_t *j;
    ck_assert_int_eq(e2e_callj(&srv, "POST", NULL, &j, "/api/v1/studies/%s/trials/%d/heartbeat",
                               study, n), 200);
    snprintf(action, sizeof action, "%s", json_string_value(json_object_get(j, "action")));
    json_decref(j);
    return action;
}

static json_t *ask(const char *study, long expect)
{
    json_t *j = NULL;
    long st = e2e_callj(&srv, "POST", NULL, &j, "/api/v1/studies/%s/trials", study);
    ck_assert_msg(st == expect, "ask answered %ld, expected %ld", st, expect);
    return j;
}

static void finish(const char *study, int n, const char *state, double value)
{
    json_t *j, *body = json_pack("{s:s,s:f}", "state", state, "value", value);
    ck_assert_int_eq(e2e_callj(&srv, "POST", body, &j, "/api/v1/studies/%s/trials/%d/finish",
                               study, n), 200);
    json_decref(body);
    json_decref(j);
}

static const char *state_of(const char *study, int n)
{
    static char state[16];
    json_t *j;
    ck_assert_int_eq(e2e_callj(&srv, "GET", NULL, &j, "/api/v1/studies/%s/trials/%d", study, n),
                     200);
    snprintf(state, sizeof state, "%s", json_string_value(json_object_get(j, "state")));
    json_decref(j);
    return state;
}

START_TEST(median_prunes_worse_trials)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"m\",\"pruner\":{\"type\":\"median\",\"n_startup_trials\":2,"
                              "\"n_warmup_steps\":1}}", &j), 201);
    json_t *p = json_object_get(j, "pruner");
    ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "median");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "interval_steps")), 1);
    json_decref(j);
    for (int n = 0; n < 2; n++) {
        json_decref(ask("m", 201));
        for (int step = 0; step < 5; step++)
            ck_assert_str_eq(report("m", n, step, 1.0 + n), "continue"); /* startup: never */
        finish("m", n, "complete", 1.0 + n);
    }
    json_decref(ask("m", 201));
    ck_assert_str_eq(report("m", 2, 0, 9.0), "continue"); /* warm-up step */
    ck_assert_str_eq(report("m", 2, 1, 1.2), "continue"); /* better than the median 1.5 */
    ck_assert_str_eq(heartbeat("m", 2), "continue");
    ck_assert_str_eq(report("m", 2, 2, 1.6), "continue"); /* best so far 1.2 still counts */
    json_decref(ask("m", 201));
    ck_assert_str_eq(report("m", 3, 1, 1.7), "prune");
    ck_assert_str_eq(heartbeat("m", 3), "prune");
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/m/trials/3/finish",
                              "{\"state\":\"pruned\"}", &j), 200);
    ck_assert(json_real_value(json_object_get(j, "value")) == 1.7);
    json_decref(j);
}
END_TEST

START_TEST(pruner_options_are_checked)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"name\":\"x\",\"pruner\":{\"type\":\"wilcoxon\"}}", "pruner.type"},
        {"{\"name\":\"x\",\"pruner\":{\"type\":\"median\",\"percentile\":20}}", "pruner.percentile"},
        {"{\"name\":\"x\",\"pruner\":{\"type\":\"median\",\"interval_steps\":0}}",
         "pruner.interval_steps"},
        {"{\"name\":\"x\",\"pruner\":{\"type\":\"asha\",\"min_resource\":1}}", "pruner.max_resource"},
        {"{\"name\":\"x\",\"pruner\":{\"type\":\"successive_halving\",\"reduction_factor\":1}}",
         "pruner.reduction_factor"},
        {"{\"name\":\"x\",\"pruner\":{\"type\":\"successive_halving\",\"min_resource\":\"x\"}}",
         "pruner.min_resource"},
        {"{\"name\":\"x\",\"pruner\":{\"type\":\"patient\",\"patience\":2,\"wrapped\":"
         "{\"type\":\"median\",\"n_warmup_steps\":-1}}}", "pruner.wrapped.n_warmup_steps"},
        {"{\"name\":\"x\",\"directions\":[\"minimize\",\"minimize\"],\"pruner\":{\"type\":\"median\"}}",
         "pruner.type"},
    };
    json_t *j;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", bad[i].body, &j), 400);
        e2e_expect_error(j, "invalid_argument");
        const char *f = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
        ck_assert_msg(f && strcmp(f, bad[i].field) == 0, "case %zu: field %s, expected %s", i,
                      f ? f : "(none)", bad[i].field);
        json_decref(j);
    }
    static const char *good[] = {
        "{\"name\":\"p1\",\"pruner\":{\"type\":\"percentile\",\"percentile\":25}}",
        "{\"name\":\"p2\",\"pruner\":{\"type\":\"threshold\",\"upper\":1.5}}",
        "{\"name\":\"p3\",\"pruner\":{\"type\":\"patient\",\"patience\":3,\"wrapped\":{\"type\":"
        "\"median\"}}}",
        "{\"name\":\"p4\",\"pruner\":{\"type\":\"successive_halving\"}}",
        "{\"name\":\"p5\",\"pruner\":{\"type\":\"hyperband\",\"max_resource\":27}}",
        "{\"name\":\"p6\",\"pruner\":{\"type\":\"asha\",\"max_resource\":27}}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", good[i], &j), 201);
        json_decref(j);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/p4", NULL, &j), 200);
    json_t *p = json_object_get(j, "pruner");
    ck_assert_str_eq(json_string_value(json_object_get(p, "min_resource")), "auto");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "reduction_factor")), 4);
    json_decref(j);
}
END_TEST

/* A threshold pruner stops a trial whose value leaves the bounds. */
START_TEST(threshold_and_hyperband_decide)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"t\",\"pruner\":{\"type\":\"threshold\",\"upper\":2}}", &j),
                     201);
    json_decref(j);
    json_decref(ask("t", 201));
    ck_assert_str_eq(report("t", 0, 0, 1.5), "continue");
    ck_assert_str_eq(report("t", 0, 1, 2.5), "prune");

    /* hyperband: trials of one bracket are judged against each other only */
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"hb\",\"pruner\":{\"type\":\"hyperband\",\"min_resource\":1,"
                              "\"max_resource\":9,\"reduction_factor\":3},\"search_space\":{\"x\":"
                              "{\"type\":\"float\",\"low\":0,\"high\":1}}}", &j), 201);
    json_decref(j);
    int pruned = 0;
    for (int n = 0; n < 30; n++) {
        json_t *t = ask("hb", 201);
        double x = json_real_value(json_object_get(json_object_get(t, "params"), "x"));
        /* the ask answer says where: the rungs of the trial's bracket, 1 / 3 / 9 times 3^k */
        json_t *d = json_object_get(t, "decides");
        ck_assert_str_eq(json_string_value(json_object_get(d, "kind")), "powers");
        ck_assert_int_eq(json_integer_value(json_object_get(d, "factor")), 3);
        json_int_t first = json_integer_value(json_object_get(d, "start"));
        ck_assert(first == 1 || first == 3 || first == 9);
        json_decref(t);
        const char *action = "continue";
        int step = 1;
        for (; step <= 9 && strcmp(action, "continue") == 0; step++)
            action = report("hb", n, step, x + 1.0 / step);
        if (strcmp(action, "prune") == 0) {
            /* pruned at a step it was told of (step - 1 was the last report) */
            json_int_t at = step - 1, p = first;
            while (p < at)
                p *= 3;
            ck_assert_msg(p == at, "trial %d pruned at %d, decisions from %d", n, (int)at,
                          (int)first);
            pruned++;
            finish("hb", n, "pruned", x);
        } else {
            finish("hb", n, "complete", x);
        }
    }
    ck_assert_int_gt(pruned, 0);
    ck_assert_int_lt(pruned, 30);
}
END_TEST

/* The ask answer's "decides" for a new study with `pruner` (the first trial asked). */
static char *decides_of(const char *name, const char *pruner)
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"pruner\":%s}", name, pruner);
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies", body, &j), 201);
    json_decref(j);
    json_t *t = ask(name, 201);
    char *text = json_dumps(json_object_get(t, "decides"), JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    json_decref(t);
    return text;
}

START_TEST(ask_answers_where_the_pruner_decides)
{
    static const struct { const char *pruner, *decides; } cases[] = {
        {"{\"type\":\"none\"}", "{\"kind\":\"never\"}"},
        {"{\"type\":\"median\",\"n_warmup_steps\":5,\"interval_steps\":2}",
         "{\"interval\":2,\"kind\":\"grid\",\"start\":5}"},
        {"{\"type\":\"threshold\",\"lower\":0}", "{\"interval\":1,\"kind\":\"grid\",\"start\":0}"},
        {"{\"type\":\"patient\",\"patience\":2}", "{\"kind\":\"every\"}"},
        {"{\"type\":\"patient\",\"patience\":2,\"wrapped\":{\"type\":\"percentile\","
         "\"percentile\":25,\"n_warmup_steps\":3,\"interval_steps\":4}}",
         "{\"interval\":4,\"kind\":\"grid\",\"start\":3}"},
        {"{\"type\":\"successive_halving\",\"min_resource\":2,\"reduction_factor\":4,"
         "\"min_early_stopping_rate\":1}", "{\"factor\":4,\"kind\":\"powers\",\"start\":8}"},
        {"{\"type\":\"successive_halving\"}", "{\"kind\":\"every\"}"},
        {"{\"type\":\"hyperband\",\"min_resource\":2}",
         "{\"factor\":3,\"kind\":\"powers\",\"start\":2}"},
        {"{\"type\":\"asha\",\"min_resource\":1,\"max_resource\":20,\"reduction_factor\":3}",
         "{\"factor\":3,\"kind\":\"powers\",\"last\":3,\"start\":1}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%zu", i);
        char *got = decides_of(name, cases[i].pruner);
        ck_assert_msg(strcmp(got, cases[i].decides) == 0, "%s: %s", cases[i].pruner, got);
        free(got);
    }
}
END_TEST

static void expect_resource(json_t *t, int number, int from, int to)
{
    ck_assert_int_eq(json_integer_value(json_object_get(t, "number")), number);
    ck_assert_str_eq(json_string_value(json_object_get(t, "state")), "running");
    json_t *r = json_object_get(t, "resource");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "from")), from);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "to")), to);
    char resume[32];
    snprintf(resume, sizeof resume, "checkpoint-%d", from);
    if (from > 0)
        ck_assert_str_eq(json_string_value(json_object_get(t, "resume")), resume);
    else
        ck_assert(json_is_null(json_object_get(t, "resume")));
    json_decref(t);
}

START_TEST(asha_pauses_promotes_and_leaves_behind)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"a\",\"max_trials\":4,\"pruner\":{\"type\":\"asha\","
                              "\"min_resource\":1,\"max_resource\":9,\"reduction_factor\":3},"
                              "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}",
                              &j), 201);
    json_decref(j);
    /* new configurations train to the first rung (resource 1) and pause there */
    double first[3] = {0.5, 0.7, 0.9};
    for (int n = 0; n < 3; n++) {
        expect_resource(ask("a", 201), n, 0, 1);
        ck_assert_str_eq(report("a", n, 1, first[n]), "pause");
        ck_assert_str_eq(state_of("a", n), "paused");
    }
    ck_assert_str_eq(heartbeat("a", 1), "pause");
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/a", NULL, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "counts"), "paused")), 3);
    json_decref(j);

    /* three at rung 0: the best (top 3/3 = 1) is promoted, from its checkpoint, to resource 3 */
    expect_resource(ask("a", 201), 0, 1, 3);
    /* promoted: running again, though its last report still sits on the rung it left */
    ck_assert_str_eq(heartbeat("a", 0), "continue");
    /* nothing else to promote: a new configuration, the last one max_trials allows */
    expect_resource(ask("a", 201), 3, 0, 1);
    /* every configuration made, nothing promotable, trials running: come back later */
    j = ask("a", 204);
    ck_assert_ptr_null(j);
    ck_assert_str_eq(report("a", 3, 1, 0.3), "pause");
    /* rung 0 now holds four; its top one (trial 3, 0.3) is promoted before anything else */
    expect_resource(ask("a", 201), 3, 1, 3);
    ck_assert_str_eq(report("a", 0, 3, 0.4), "pause");
    ck_assert_str_eq(report("a", 3, 2, 0.25), "continue"); /* between rungs */
    ck_assert_str_eq(report("a", 3, 3, 0.2), "pause");
    /* rung 1 holds two: top 2/3 = 0, nothing promotable, nothing running: the study is done and
     * the paused trials are left behind, pruned with their value at their rung */
    j = ask("a", 409);
    e2e_expect_error(j, "study_complete");
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/a", NULL, &j), 200);
    json_t *counts = json_object_get(j, "counts");
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "paused")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "pruned")), 4);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/a/trials/0", NULL, &j), 200);
    ck_assert(json_real_value(json_object_get(j, "value")) == 0.4);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/a/trials/2", NULL, &j), 200);
    ck_assert(json_real_value(json_object_get(j, "value")) == 0.9);
    json_decref(j);
}
END_TEST

/* A trial promoted to the last rung runs to max_resource and completes there. */
START_TEST(asha_runs_the_best_to_max_resource)
{
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"b\",\"max_trials\":9,\"direction\":\"maximize\","
                              "\"pruner\":{\"type\":\"asha\",\"min_resource\":1,\"max_resource\":9,"
                              "\"reduction_factor\":3}}", &j), 201);
    json_decref(j);
    /* one worker: train what ask hands out to its resource; accuracy grows with resource */
    int completed = -1, asks = 0;
    for (;;) {
        json_t *t = NULL;
        long st = e2e_callj(&srv, "POST", NULL, &t, "/api/v1/studies/b/trials");
        if (st == 409) {
            json_decref(t);
            break;
        }
        ck_assert_int_eq(st, 201);
        ck_assert_int_lt(++asks, 40);
        int n = (int)json_integer_value(json_object_get(t, "number"));
        int to = (int)json_integer_value(json_object_get(json_object_get(t, "resource"), "to"));
        json_decref(t);
        double acc = 1.0 - 1.0 / (2 + n % 5) - 0.1 / to;
        const char *action = report("b", n, to, acc);
        if (strcmp(action, "continue") == 0) {
            ck_assert_int_eq(to, 9);
            finish("b", n, "complete", acc);
            completed = n;
        } else {
            ck_assert_str_eq(action, "pause");
        }
    }
    /* 9 configurations; rung 0 promotes trial 2 (top 1 of 3), then 4 (top 2 of 6), then 3 and 8
     * (top 3 of 9: 4, 3, 8 tied at 0.7); rung 1 (four trials) promotes its top 1: 9 + 4 + 1 runs.
     * Asynchronous promotion can send more than count/eta up: an early promotion stays. */
    ck_assert_int_eq(asks, 14);
    ck_assert_int_ge(completed, 0);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/b/best", NULL, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), completed);
    ck_assert_int_eq(completed % 5, 4); /* the best configuration wins */
    json_decref(j);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("pruners");
    TCase *tc = tcase_create("pruners");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, median_prunes_worse_trials);
    tcase_add_test(tc, pruner_options_are_checked);
    tcase_add_test(tc, threshold_and_hyperband_decide);
    tcase_add_test(tc, ask_answers_where_the_pruner_decides);
    tcase_add_test(tc, asha_pauses_promotes_and_leaves_behind);
    tcase_add_test(tc, asha_runs_the_best_to_max_resource);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
