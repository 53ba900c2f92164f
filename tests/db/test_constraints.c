/* test_constraints: constraints given with a trial's finish over a real PostgreSQL: stored and
 * loaded back (schema v9), the checks that refuse bad ones without changing anything, and best,
 * the Pareto front and the study list holding feasible trials only once a study is constrained,
 * before and after a restart. */
#include <check.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_testdb.h"
#include "hpo_testsvc.h"

static char *db;
static hpo_testsvc ts;

static void open_service(void)
{
    hpo_testsvc_open(&ts, db, 4);
}

static void setup(void)
{
    db = hpo_testdb_create();
    open_service();
}

static void teardown(void)
{
    hpo_testsvc_close(&ts);
    hpo_testdb_drop(db);
    free(db);
}

/* A restart: a new service and store on the same database. */
static void restart(void)
{
    hpo_testsvc_close(&ts);
    open_service();
}

static char *sql_text(const char *text)
{
    PGconn *c = PQconnectdb(db);
    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, text);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    char *v = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

static void create_study(const char *name, size_t n_directions)
{
    hpo_study_config c = {0};
    hpo_direction dirs[2] = {HPO_MINIMIZE, HPO_MAXIMIZE};
    c.name = (char *)name;
    c.n_directions = n_directions;
    c.directions = dirs;
    c.sampler = n_directions == 1 ? "{\"type\":\"tpe\",\"seed\":1,\"n_startup_trials\":2}" : NULL;
    hpo_testsvc_create_study(&ts, &c);
}

static int64_t ask(const char *study)
{
    return hpo_testsvc_ask(&ts, study, "w");
}

/* Finishes trial n (state, values, constraints: n_cons of them, none when 0). */
static hpo_rc finish(const char *study, int64_t n, hpo_trial_state state, const double *values,
                     size_t n_values, const double *cons, size_t n_cons, hpo_error *err)
{
    hpo_finish_request fin = {state, values, n_values, NULL, false, cons, n_cons};
    hpo_trial done = {0};
    hpo_rc rc = hpo_service_finish(ts.svc, study, n, &fin, &done, err);
    if (rc == HPO_OK) {
        ck_assert_uint_eq(done.n_constraints, n_cons);
        for (size_t i = 0; i < n_cons; i++)
            ck_assert(done.constraints[i] == cons[i]);
    }
    hpo_trial_clear(&done);
    return rc;
}

static void finish_ok(const char *study, int64_t n, double value, const double *cons,
                      size_t n_cons)
{
    hpo_error err = {0};
    ck_assert_msg(finish(study, n, HPO_TRIAL_COMPLETE, &value, 1, cons, n_cons, &err) == HPO_OK,
                  "%s", err.message);
}

/* The best trial's number, -1 when there is none (with "feasible" in the message when *feasible
 * is asked for). */
static int64_t best_number(const char *study, bool *ret_feasible_msg)
{
    hpo_trial *list = NULL;
    size_t n = 0, nd = 0;
    hpo_error err = {0};
    hpo_rc rc = hpo_service_best(ts.svc, study, &list, &n, &nd, &err);
    if (rc == HPO_E_NOT_FOUND) {
        if (ret_feasible_msg)
            *ret_feasible_msg = strstr(err.message, "feasible") != NULL;
        return -1;
    }
    ck_assert_int_eq(rc, HPO_OK);
    ck_assert_uint_eq(n, 1);
    int64_t b = list[0].number;
    hpo_trials_free(list, n);
    return b;
}

/* The study list's best number for study (-1: none). */
static int64_t listed_best(const char *study)
{
    hpo_study_summary *s = NULL;
    size_t n = 0;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_study_list(ts.svc, &s, &n, &err), HPO_OK);
    int64_t b = -2;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].config.name, study) == 0)
            b = s[i].has_best ? s[i].best_number : -1;
    hpo_study_summaries_free(s, n);
    ck_assert(b != -2);
    return b;
}

static void check_trial_constraints(const char *study, int64_t number, const double *cons,
                                    size_t n_cons)
{
    hpo_trial t = {0};
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_trial(ts.svc, study, number, &t, &err), HPO_OK);
    ck_assert_uint_eq(t.n_constraints, n_cons);
    for (size_t i = 0; i < n_cons; i++)
        ck_assert(t.constraints[i] == cons[i]);
    hpo_trial_clear(&t);
}

START_TEST(constraints_are_stored_and_rule_best)
{
    create_study("c", 1);
    int64_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = ask("c");

    /* no constraints yet: the best value wins */
    finish_ok("c", t[0], 1.0, NULL, 0);
    ck_assert_int_eq(best_number("c", NULL), t[0]);

    /* the first constraints make the study constrained: trial 0 gave none, so it is out */
    const double feasible5[] = {-1.0, 0.0};
    finish_ok("c", t[1], 5.0, feasible5, 2);
    ck_assert_int_eq(best_number("c", NULL), t[1]);

    /* a better value with a violated constraint does not win */
    const double infeasible[] = {0.125, -1.0};
    finish_ok("c", t[2], 0.5, infeasible, 2);
    ck_assert_int_eq(best_number("c", NULL), t[1]);

    const double feasible3[] = {-2.0, -2.5e-300};
    finish_ok("c", t[3], 3.0, feasible3, 2);
    ck_assert_int_eq(best_number("c", NULL), t[3]);

    /* refused, nothing changed: another count, with fail, not finite */
    hpo_error err = {0};
    const double one[] = {-1.0};
    ck_assert_int_eq(finish("c", t[4], HPO_TRIAL_COMPLETE, (double[]){0.0}, 1, one, 1, &err),
                     HPO_E_INVALID);
    ck_assert_str_eq(err.field, "constraints");
    ck_assert_msg(strstr(err.message, "2 constraints") != NULL, "%s", err.message);
    ck_assert_int_eq(finish("c", t[4], HPO_TRIAL_FAIL, NULL, 0, feasible5, 2, &err),
                     HPO_E_INVALID);
    const double inf[] = {INFINITY, 0.0};
    ck_assert_int_eq(finish("c", t[4], HPO_TRIAL_COMPLETE, (double[]){0.0}, 1, inf, 2, &err),
                     HPO_E_INVALID);
    hpo_trial still = {0};
    ck_assert_int_eq(hpo_service_trial(ts.svc, "c", t[4], &still, &err), HPO_OK);
    ck_assert_int_eq(still.state, HPO_TRIAL_RUNNING);
    ck_assert_uint_eq(still.n_constraints, 0);
    hpo_trial_clear(&still);
    ck_assert_int_eq(best_number("c", NULL), t[3]);

    /* a pruned trial takes constraints; a failed one none */
    ck_assert_int_eq(finish("c", t[4], HPO_TRIAL_PRUNED, NULL, 0, feasible5, 2, &err), HPO_OK);
    ck_assert_int_eq(finish("c", t[5], HPO_TRIAL_FAIL, NULL, 0, NULL, 0, &err), HPO_OK);

    /* a repeated finish is answered again; other constraints are another finish */
    ck_assert_int_eq(finish("c", t[3], HPO_TRIAL_COMPLETE, (double[]){3.0}, 1, feasible3, 2,
                            &err), HPO_OK);
    ck_assert_int_eq(finish("c", t[3], HPO_TRIAL_COMPLETE, (double[]){3.0}, 1, feasible5, 2,
                            &err), HPO_E_FINISHED);

    /* a complete trial without constraints in a constrained study: accepted, infeasible */
    finish_ok("c", t[6], -4.0, NULL, 0);
    ck_assert_int_eq(best_number("c", NULL), t[3]);
    ck_assert_int_eq(listed_best("c"), t[3]);

    /* TPE asks on with the constrained history (n_startup_trials 2) */
    const double feasible_tpe[] = {-1.0, -1.0};
    finish_ok("c", t[7], 4.0, feasible_tpe, 2);
    finish_ok("c", ask("c"), 2.5, infeasible, 2);

    /* PostgreSQL holds them (schema v9) and a restart loads them back */
    char *col = sql_text("SELECT t.constraints::text FROM trials t JOIN studies s"
                         " ON s.id = t.study_id WHERE s.name = 'c' AND t.number = 1");
    ck_assert_str_eq(col, "{-1,0}");
    free(col);
    char *none = sql_text("SELECT t.constraints::text FROM trials t JOIN studies s"
                          " ON s.id = t.study_id WHERE s.name = 'c' AND t.number = 0");
    ck_assert_ptr_null(none);
    restart();
    check_trial_constraints("c", t[1], feasible5, 2);
    check_trial_constraints("c", t[3], feasible3, 2);
    check_trial_constraints("c", t[4], feasible5, 2);
    check_trial_constraints("c", t[0], NULL, 0);
    ck_assert_int_eq(best_number("c", NULL), t[3]);
    ck_assert_int_eq(listed_best("c"), t[3]);
    /* the length rule is derived from the loaded trials too */
    ck_assert_int_eq(finish("c", ask("c"), HPO_TRIAL_COMPLETE, (double[]){0.0}, 1, one, 1, &err),
                     HPO_E_INVALID);
}
END_TEST

START_TEST(no_feasible_trial_means_no_best)
{
    create_study("nf", 1);
    const double bad[] = {1.0};
    finish_ok("nf", ask("nf"), 1.0, bad, 1);
    bool feasible_msg = false;
    ck_assert_int_eq(best_number("nf", &feasible_msg), -1);
    ck_assert(feasible_msg);
    ck_assert_int_eq(listed_best("nf"), -1);
    hpo_study_info info = {0};
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, "nf", &info, &err), HPO_OK);
    ck_assert(!info.has_best);
    hpo_study_info_clear(&info);
    restart();
    ck_assert_int_eq(best_number("nf", NULL), -1);
    const double ok[] = {0.0};
    int64_t n = ask("nf");
    finish_ok("nf", n, 9.0, ok, 1);
    ck_assert_int_eq(best_number("nf", NULL), n);
    ck_assert_int_eq(listed_best("nf"), n);
}
END_TEST

/* The Pareto front's members, as a bit set of numbers < 64. */
static uint64_t front_bits(const char *study)
{
    hpo_trial *list = NULL;
    size_t n = 0, nd = 0;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_best(ts.svc, study, &list, &n, &nd, &err), HPO_OK);
    ck_assert_uint_eq(nd, 2);
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++)
        bits |= (uint64_t)1 << list[i].number;
    hpo_trials_free(list, n);
    return bits;
}

START_TEST(pareto_front_holds_feasible_trials)
{
    create_study("mo", 2); /* minimize, maximize */
    const double ok[] = {-1.0}, bad[] = {2.0};
    struct {
        double v[2];
        const double *c;
    } rows[] = {
        {{1.0, 1.0}, NULL}, /* 0: on the front until the study is constrained */
        {{2.0, 2.0}, ok},   /* 1 */
        {{0.5, 9.0}, bad},  /* 2: dominates 1, infeasible */
        {{3.0, 3.0}, ok},   /* 3 */
        {{2.5, 0.5}, ok},   /* 4: dominated by 1 */
    };
    hpo_error err = {0};
    int64_t n0 = ask("mo");
    ck_assert_int_eq(finish("mo", n0, HPO_TRIAL_COMPLETE, rows[0].v, 2, NULL, 0, &err), HPO_OK);
    ck_assert_uint_eq(front_bits("mo"), 1u);
    for (int i = 1; i < 5; i++) {
        int64_t n = ask("mo");
        ck_assert_int_eq(finish("mo", n, HPO_TRIAL_COMPLETE, rows[i].v, 2, rows[i].c, 1, &err),
                         HPO_OK);
    }
    ck_assert_uint_eq(front_bits("mo"), (1u << 1) | (1u << 3));
    restart();
    ck_assert_uint_eq(front_bits("mo"), (1u << 1) | (1u << 3));
    /* nothing feasible: an empty front */
    create_study("mo2", 2);
    ck_assert_int_eq(finish("mo2", ask("mo2"), HPO_TRIAL_COMPLETE, rows[2].v, 2, bad, 1, &err),
                     HPO_OK);
    ck_assert_uint_eq(front_bits("mo2"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("constraints");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, constraints_are_stored_and_rule_best);
    tcase_add_test(tc, no_feasible_trial_means_no_best);
    tcase_add_test(tc, pareto_front_holds_feasible_trials);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
