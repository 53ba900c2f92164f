/* test_snapshot: the versions that snapshots share (hpo_snapshot.c), seen from inside the service
 * (service_internal.h): a reader holding an old snapshot keeps seeing a paused trial as it was
 * while a promotion resumes it and it changes and finishes, and the trials that did not change
 * are shared between snapshots, not copied at every commit. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_testdb.h"
#include "hpo_testsvc.h"
#include "service_internal.h"

static char *db;
static hpo_testsvc ts;

static void setup(void)
{
    db = hpo_testdb_create();
    hpo_testsvc_open(&ts, db, 8);
}

static void teardown(void)
{
    hpo_testsvc_close(&ts);
    hpo_testdb_drop(db);
    free(db);
}

/* ASHA, rungs at 1, 3, 9: of three trials paused at rung 0, the best is promotable. */
static void create_asha_study(const char *name)
{
    hpo_study_config c = {0};
    hpo_direction dir = HPO_MINIMIZE;
    c.name = (char *)name;
    c.n_directions = 1;
    c.directions = &dir;
    c.sampler = "{\"type\":\"random\",\"seed\":1}";
    c.pruner = "{\"type\":\"asha\",\"min_resource\":1,\"reduction_factor\":3,\"max_resource\":9}";
    hpo_testsvc_create_study(&ts, &c);
}

static int64_t ask(const char *study, const char *worker)
{
    return hpo_testsvc_ask(&ts, study, worker);
}

static hpo_action report(const char *study, int64_t number, int64_t step, double value)
{
    hpo_report r = {step, value};
    hpo_action action;
    hpo_error err = {0};
    ck_assert_msg(hpo_service_report(ts.svc, study, number, &r, 1, &action, &err) == HPO_OK, "%s",
                  err.message);
    return action;
}

/* Trial 0 as the paused version showed it: one report at the rung, asked by w0, no value. */
static void assert_paused_as_before(const hpo_trial *t)
{
    ck_assert_int_eq(t->state, HPO_TRIAL_PAUSED);
    ck_assert_int_eq(t->n_reports, 1);
    ck_assert_int_eq(t->reports[0].step, 1);
    ck_assert(t->reports[0].value == 0.0);
    ck_assert_str_eq(t->worker, "w0");
    ck_assert_int_eq(t->n_values, 0);
}

START_TEST(an_old_snapshot_keeps_a_paused_trial_while_a_promotion_resumes_it)
{
    create_asha_study("asha");
    const char *workers[] = {"w0", "w1", "w2"};
    for (int64_t i = 0; i < 3; i++) {
        ck_assert_int_eq(ask("asha", workers[i]), i);
        ck_assert_int_eq(report("asha", i, 1, (double)i), HPO_ACTION_PAUSE);
    }
    study *st = NULL;
    hpo_error err = {0};
    ck_assert_int_eq(study_acquire(ts.svc, "asha", &st, &err), HPO_OK);
    snapshot *old = study_snapshot(st);
    ck_assert_int_eq(old->counts[HPO_TRIAL_PAUSED], 3);
    assert_paused_as_before(snapshot_trial(old, 0));

    /* the promotion resumes trial 0 (the best at rung 0); it reports past the rung (its reports
     * grow), changes worker (a string replaced), and finishes (values): commits go by */
    ck_assert_int_eq(ask("asha", "w9"), 0);
    for (int64_t step = 2; step <= 9; step++)
        report("asha", 0, step, 0.5 / (double)step);
    hpo_action a;
    ck_assert_int_eq(hpo_service_heartbeat(ts.svc, "asha", 0, "w10", &a, &err), HPO_OK);
    double v = 0.01;
    hpo_finish_request fin = {.state = HPO_TRIAL_COMPLETE, .values = &v, .n_values = 1};
    hpo_trial done = {0};
    ck_assert_int_eq(hpo_service_finish(ts.svc, "asha", 0, &fin, &done, &err), HPO_OK);
    hpo_trial_clear(&done);

    snapshot *now = study_snapshot(st);
    ck_assert_uint_gt(now->seq, old->seq);
    /* the old snapshot still shows the paused version, whole */
    ck_assert_int_eq(old->counts[HPO_TRIAL_PAUSED], 3);
    ck_assert_int_eq(old->counts[HPO_TRIAL_COMPLETE], 0);
    assert_paused_as_before(snapshot_trial(old, 0));
    /* the new one the finished trial */
    const hpo_trial *t = snapshot_trial(now, 0);
    ck_assert_int_eq(t->state, HPO_TRIAL_COMPLETE);
    ck_assert_int_eq(t->n_reports, 9);
    ck_assert_str_eq(t->worker, "w10");
    ck_assert_int_eq(t->n_values, 1);
    ck_assert(t->values[0] == 0.01);
    /* the trials that stayed paused are one version, shared, not copied at each commit */
    for (size_t i = 1; i < 3; i++) {
        ck_assert_int_eq(snapshot_trial(now, i)->state, HPO_TRIAL_PAUSED);
        ck_assert_ptr_eq(snapshot_trial(now, i), snapshot_trial(old, i));
    }
    snapshot_release(old);
    snapshot_release(now);
    study_release(ts.svc, st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, an_old_snapshot_keeps_a_paused_trial_while_a_promotion_resumes_it);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
