/* test_retry: the per-study retry policy over a real PostgreSQL: a failed, preempted or reaped
 * trial runs again as a new trial with the same params, the chain (retry_of/retried_by) survives a
 * restart, max_trials counts configurations, and paused ASHA trials are never reaped. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_clock.h"
#include "hpo_codec.h"
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

/* A study over x in [-5, 5] with the retry policy `retry` (JSON text), a pruner (JSON text or
 * NULL) and a heartbeat grace (0: none). */
static void create_study(const char *name, int64_t max_trials, const char *retry,
                         const char *pruner, int64_t grace_ms)
{
    hpo_study_config c = {0};
    hpo_direction dir = HPO_MINIMIZE;
    c.name = (char *)name;
    c.n_directions = 1;
    c.directions = &dir;
    c.max_trials = max_trials;
    c.pruner = (char *)pruner;
    c.heartbeat_grace_ms = grace_ms;
    hpo_error err = {0};
    json_t *j = json_loads(retry, 0, NULL);
    ck_assert_int_eq(hpo_json_to_retry(j, "retry", &c.retry, &err), HPO_OK);
    json_decref(j);
    hpo_testsvc_create_study(&ts, &c);
}

static int64_t ask(const char *name)
{
    return hpo_testsvc_ask(&ts, name, NULL);
}

static hpo_rc finish(const char *name, int64_t number, hpo_trial_state state, bool preempted)
{
    double v = 1.0;
    hpo_finish_request fin = {state, &v, state == HPO_TRIAL_COMPLETE ? 1 : 0, NULL, preempted, NULL, 0};
    hpo_trial t = {0};
    hpo_error err = {0};
    hpo_rc rc = hpo_service_finish(ts.svc, name, number, &fin, &t, &err);
    hpo_trial_clear(&t);
    return rc;
}

static void get(const char *name, int64_t number, hpo_trial *ret)
{
    hpo_error err = {0};
    ck_assert_msg(hpo_service_trial(ts.svc, name, number, ret, &err) == HPO_OK, "%s",
                  err.message);
}

static int64_t n_trials(const char *name, int64_t *ret_retries)
{
    hpo_study_info info = {0};
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, name, &info, &err), HPO_OK);
    int64_t n = info.n_trials;
    if (ret_retries)
        *ret_retries = info.n_retries;
    hpo_study_info_clear(&info);
    return n;
}

/* The chain 0 -> 1 -> 2 as it should be, in memory or after a restart. */
static void check_chain(void)
{
    hpo_trial t[3] = {{0}};
    for (int i = 0; i < 3; i++)
        get("chain", i, &t[i]);
    ck_assert(!t[0].retry_of.set);
    ck_assert(t[0].retried_by.set && t[0].retried_by.number == 1);
    ck_assert(t[1].retry_of.set && t[1].retry_of.number == 0);
    ck_assert(t[1].retried_by.set && t[1].retried_by.number == 2);
    ck_assert(t[2].retry_of.set && t[2].retry_of.number == 1);
    ck_assert(!t[2].retried_by.set); /* max_retries 2: the chain ends */
    ck_assert(!t[0].preempted && t[1].preempted);
    for (int i = 1; i < 3; i++) {
        ck_assert_int_eq(t[i].n_params, 1);
        ck_assert_str_eq(t[i].params[0].name, "x");
        ck_assert(t[i].params[0].value == t[0].params[0].value);
        ck_assert(hpo_dist_equal(&t[i].params[0].dist, &t[0].params[0].dist));
        ck_assert_int_eq(t[i].n_reports, 0); /* keep_intermediate false */
    }
    for (int i = 0; i < 3; i++)
        hpo_trial_clear(&t[i]);
    int64_t retries = 0;
    ck_assert_int_eq(n_trials("chain", &retries), 3);
    ck_assert_int_eq(retries, 2);
}

START_TEST(failed_trials_are_retried_until_max_retries_and_survive_a_restart)
{
    create_study("chain", 0, "{\"max_retries\":2}", NULL, 0);
    ck_assert_int_eq(ask("chain"), 0);
    hpo_report r = {0, 0.5};
    hpo_action a;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_report(ts.svc, "chain", 0, &r, 1, &a, &err), HPO_OK);
    ck_assert_int_eq(finish("chain", 0, HPO_TRIAL_FAIL, false), HPO_OK);
    hpo_trial w = {0};
    get("chain", 1, &w);
    ck_assert_int_eq(w.state, HPO_TRIAL_WAITING);
    hpo_trial_clear(&w);
    ck_assert_int_eq(ask("chain"), 1); /* the retry, not a new configuration */
    ck_assert_int_eq(finish("chain", 1, HPO_TRIAL_FAIL, true), HPO_OK);
    ck_assert_int_eq(ask("chain"), 2);
    ck_assert_int_eq(finish("chain", 2, HPO_TRIAL_FAIL, false), HPO_OK);
    check_chain();
    /* the same chain from PostgreSQL */
    hpo_testsvc_close(&ts);
    hpo_testsvc_open(&ts, db, 4);
    check_chain();
    hpo_study_info info = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, "chain", &info, &err), HPO_OK);
    ck_assert_int_eq(info.config.retry.max_retries, 2);
    ck_assert_uint_eq(info.config.retry.on, HPO_RETRY_ALL);
    hpo_study_info_clear(&info);
    ck_assert_int_eq(ask("chain"), 3); /* a new configuration */
}
END_TEST

START_TEST(only_the_causes_listed_are_retried)
{
    create_study("lost", 0, "{\"max_retries\":1,\"on\":[\"heartbeat_lost\"]}", NULL, 100);
    ck_assert_int_eq(ask("lost"), 0);
    ck_assert_int_eq(finish("lost", 0, HPO_TRIAL_FAIL, false), HPO_OK);
    ck_assert_int_eq(ask("lost"), 1);
    ck_assert_int_eq(finish("lost", 1, HPO_TRIAL_FAIL, true), HPO_OK);
    ck_assert_int_eq(n_trials("lost", NULL), 2); /* neither fail nor preempted is listed */
    ck_assert_int_eq(ask("lost"), 2);
    size_t failed = 0;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_reap(ts.svc, hpo_clock_now_ms() + 60000, &failed, &err), HPO_OK);
    ck_assert_int_eq(failed, 1);
    hpo_trial t = {0};
    get("lost", 2, &t);
    ck_assert_int_eq(t.state, HPO_TRIAL_FAIL);
    ck_assert_str_eq(t.fail_reason, "heartbeat_lost");
    ck_assert(t.retried_by.set && t.retried_by.number == 3);
    hpo_trial_clear(&t);
    get("lost", 3, &t);
    ck_assert_int_eq(t.state, HPO_TRIAL_WAITING);
    ck_assert(t.retry_of.set && t.retry_of.number == 2);
    hpo_trial_clear(&t);
}
END_TEST

START_TEST(a_preempted_trials_retry_goes_first)
{
    create_study("pre", 0, "{\"max_retries\":1}", NULL, 0);
    ck_assert_int_eq(ask("pre"), 0);
    ck_assert_int_eq(ask("pre"), 1);
    hpo_trial t = {0};
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_enqueue(ts.svc, "pre", NULL, &t, &err), HPO_OK);
    ck_assert_int_eq(t.number, 2);
    hpo_trial_clear(&t);
    ck_assert_int_eq(finish("pre", 0, HPO_TRIAL_FAIL, false), HPO_OK); /* retry 3: in turn */
    ck_assert_int_eq(finish("pre", 1, HPO_TRIAL_FAIL, true), HPO_OK);  /* retry 4: first */
    ck_assert_int_eq(ask("pre"), 4);
    ck_assert_int_eq(ask("pre"), 2);
    ck_assert_int_eq(ask("pre"), 3);
}
END_TEST

START_TEST(max_trials_counts_configurations)
{
    create_study("cfg", 3, "{\"max_retries\":1,\"on\":[\"fail\"]}", NULL, 0);
    ck_assert_int_eq(ask("cfg"), 0);
    ck_assert_int_eq(finish("cfg", 0, HPO_TRIAL_FAIL, false), HPO_OK);
    for (int64_t n = 1; n <= 3; n++) {
        ck_assert_int_eq(ask("cfg"), n);
        ck_assert_int_eq(finish("cfg", n, HPO_TRIAL_COMPLETE, false), HPO_OK);
    }
    hpo_ask_request req = {0};
    hpo_trial t = {0};
    bool replayed;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_ask(ts.svc, "cfg", &req, &t, &replayed, NULL, &err),
                     HPO_E_COMPLETE);
    int64_t retries = 0;
    ck_assert_int_eq(n_trials("cfg", &retries), 4);
    ck_assert_int_eq(retries, 1);
    /* the study list counts them the same way */
    hpo_study_summary *list = NULL;
    size_t n = 0;
    ck_assert_int_eq(hpo_service_study_list(ts.svc, &list, &n, &err), HPO_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(list[0].n_retries, 1);
    hpo_study_summaries_free(list, n);
}
END_TEST

/* Once max_trials configurations exist, a running trial may still fail and be retried: asks get
 * "no work now" (workers wait), not "complete" (workers would leave the retry behind). */
START_TEST(no_work_while_a_running_trial_may_be_retried)
{
    create_study("nw", 2, "{\"max_retries\":1,\"on\":[\"fail\"]}", NULL, 0);
    ck_assert_int_eq(ask("nw"), 0);
    ck_assert_int_eq(ask("nw"), 1);
    hpo_ask_request req = {0};
    hpo_trial t = {0};
    bool replayed;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_ask(ts.svc, "nw", &req, &t, &replayed, NULL, &err),
                     HPO_E_NO_WORK);
    ck_assert_int_eq(finish("nw", 0, HPO_TRIAL_FAIL, false), HPO_OK);
    ck_assert_int_eq(ask("nw"), 2); /* the retry of 0 */
    ck_assert_int_eq(finish("nw", 1, HPO_TRIAL_COMPLETE, false), HPO_OK);
    ck_assert_int_eq(finish("nw", 2, HPO_TRIAL_COMPLETE, false), HPO_OK);
    ck_assert_int_eq(hpo_service_ask(ts.svc, "nw", &req, &t, &replayed, NULL, &err),
                     HPO_E_COMPLETE);
}
END_TEST

START_TEST(keep_intermediate_copies_reports)
{
    create_study("keep", 0, "{\"max_retries\":1,\"keep_intermediate\":true}", NULL, 0);
    ck_assert_int_eq(ask("keep"), 0);
    hpo_report r[2] = {{0, 0.5}, {3, 0.25}};
    hpo_action a;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_report(ts.svc, "keep", 0, r, 2, &a, &err), HPO_OK);
    ck_assert_int_eq(finish("keep", 0, HPO_TRIAL_FAIL, false), HPO_OK);
    for (int pass = 0; pass < 2; pass++) { /* in memory, then from PostgreSQL */
        hpo_trial t = {0};
        get("keep", 1, &t);
        ck_assert_int_eq(t.n_reports, 2);
        ck_assert_int_eq(t.reports[1].step, 3);
        ck_assert(t.reports[1].value == 0.25);
        hpo_trial_clear(&t);
        hpo_testsvc_close(&ts);
        hpo_testsvc_open(&ts, db, 4);
    }
}
END_TEST

START_TEST(preempted_goes_with_fail_only)
{
    create_study("bad", 0, "{\"max_retries\":1}", NULL, 0);
    ck_assert_int_eq(ask("bad"), 0);
    ck_assert_int_eq(finish("bad", 0, HPO_TRIAL_COMPLETE, true), HPO_E_INVALID);
    hpo_trial t = {0};
    get("bad", 0, &t);
    ck_assert_int_eq(t.state, HPO_TRIAL_RUNNING);
    ck_assert(!t.preempted);
    hpo_trial_clear(&t);
    ck_assert_int_eq(n_trials("bad", NULL), 1);
}
END_TEST

START_TEST(paused_asha_trials_are_not_reaped)
{
    create_study("asha", 0, "{\"max_retries\":1}",
                 "{\"type\":\"asha\",\"min_resource\":1,\"reduction_factor\":3,"
                 "\"max_resource\":9}", 100);
    hpo_error err = {0};
    for (int64_t i = 0; i < 3; i++) {
        ck_assert_int_eq(ask("asha"), i);
        hpo_report r = {1, (double)i};
        hpo_action a;
        ck_assert_int_eq(hpo_service_report(ts.svc, "asha", i, &r, 1, &a, &err), HPO_OK);
        ck_assert_int_eq(a, HPO_ACTION_PAUSE);
    }
    size_t failed = 1;
    ck_assert_int_eq(hpo_service_reap(ts.svc, hpo_clock_now_ms() + 60000, &failed, &err), HPO_OK);
    ck_assert_int_eq(failed, 0);
    for (int64_t i = 0; i < 3; i++) {
        hpo_trial t = {0};
        get("asha", i, &t);
        ck_assert_int_eq(t.state, HPO_TRIAL_PAUSED);
        hpo_trial_clear(&t);
    }
    ck_assert_int_eq(n_trials("asha", NULL), 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, failed_trials_are_retried_until_max_retries_and_survive_a_restart);
    tcase_add_test(tc, only_the_causes_listed_are_retried);
    tcase_add_test(tc, a_preempted_trials_retry_goes_first);
    tcase_add_test(tc, max_trials_counts_configurations);
    tcase_add_test(tc, no_work_while_a_running_trial_may_be_retried);
    tcase_add_test(tc, keep_intermediate_copies_reports);
    tcase_add_test(tc, preempted_goes_with_fail_only);
    tcase_add_test(tc, paused_asha_trials_are_not_reaped);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
