/* test_service_core: the service core over a real PostgreSQL: concurrent writes share commits
 * and all stay durable, a failed commit fails its requests and the study reloads, idle studies
 * leave memory and come back, the Pareto front and the reports of a trial kept in place match
 * what a full scan and PostgreSQL say. */
#include <check.h>
#include <math.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hpo_testdb.h"
#include "hpo_testsvc.h"

static char *db;
static hpo_testsvc ts;

/* A restart: the service and its store opened again on the same database. */
static void open_service(void)
{
    hpo_testsvc_open(&ts, db, 8);
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

static void sql(const char *text)
{
    PGconn *c = PQconnectdb(db);
    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, text);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static long long sql_number(const char *text)
{
    PGconn *c = PQconnectdb(db);
    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, text);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

static void create_study_with(const char *name, size_t n_directions, const char *sampler,
                              const char *pruner)
{
    hpo_study_config c = {0};
    hpo_direction dirs[2] = {HPO_MINIMIZE, HPO_MAXIMIZE};
    c.name = (char *)name;
    c.n_directions = n_directions;
    c.directions = dirs;
    c.sampler = (char *)sampler;
    c.pruner = (char *)pruner;
    hpo_testsvc_create_study(&ts, &c);
}

static void create_study(const char *name, size_t n_directions, const char *pruner)
{
    create_study_with(name, n_directions, "{\"type\":\"random\",\"seed\":1}", pruner);
}

static int64_t ask(const char *study)
{
    return hpo_testsvc_ask(&ts, study, "w");
}

static hpo_rc report(const char *study, int64_t number, int64_t step, double value,
                     hpo_error *err)
{
    hpo_report r = {step, value};
    hpo_action action;
    return hpo_service_report(ts.svc, study, number, &r, 1, &action, err);
}

/* ---- group commit ---- */

#define N_THREADS 16
#define TRIALS_PER_THREAD 15
#define REPORTS 5

static void *life_cycles(void *arg)
{
    long *failures = arg;
    for (int i = 0; i < TRIALS_PER_THREAD; i++) {
        hpo_trial t = {0}, done = {0};
        bool replayed;
        hpo_error err = {0};
        hpo_ask_request req = {.worker = "w"};
        if (hpo_service_ask(ts.svc, "busy", &req, &t, &replayed, NULL, &err)) {
            (*failures)++;
            continue;
        }
        for (int s = 0; s < REPORTS; s++)
            if (report("busy", t.number, s, (double)s, &err))
                (*failures)++;
        double v = (double)t.number;
        hpo_finish_request fin = {HPO_TRIAL_COMPLETE, &v, 1, NULL, false, NULL, 0};
        if (hpo_service_finish(ts.svc, "busy", t.number, &fin, &done, &err))
            (*failures)++;
        hpo_trial_clear(&t);
        hpo_trial_clear(&done);
    }
    return NULL;
}

/* The database's committed transactions, once the counters of closed sessions have arrived. */
static long long commits_settled(void)
{
    const char *q = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()";
    long long last = -1;
    for (int i = 0; i < 40; i++) {
        long long now = sql_number(q);
        if (now == last)
            return now;
        last = now;
        usleep(250 * 1000);
    }
    return last;
}

START_TEST(concurrent_writes_share_commits_and_all_last)
{
    create_study("busy", 1, NULL);
    close_service(); /* start the count from settled counters */
    long long before = commits_settled();
    open_service();
    long failures[N_THREADS] = {0};
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        pthread_create(&th[i], NULL, life_cycles, &failures[i]);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(failures[i], 0);
    close_service();
    long long commits = commits_settled() - before;
    long requests = (long)N_THREADS * TRIALS_PER_THREAD * (2 + REPORTS);
    /* every write was acknowledged after its commit; many shared one */
    ck_assert_msg(commits * 2 <= requests, "%lld commits for %ld writes", commits, requests);

    /* and PostgreSQL holds every acknowledged write */
    ck_assert_int_eq(sql_number("SELECT count(*) FROM trials WHERE state = 'complete'"),
                     N_THREADS * TRIALS_PER_THREAD);
    ck_assert_int_eq(sql_number("SELECT count(*) FROM trial_intermediate_values"),
                     N_THREADS * TRIALS_PER_THREAD * REPORTS);
    ck_assert_int_eq(sql_number("SELECT count(DISTINCT number) FROM trials"),
                     N_THREADS * TRIALS_PER_THREAD);
    ck_assert_int_eq(sql_number("SELECT max(number) FROM trials"),
                     N_THREADS * TRIALS_PER_THREAD - 1);
    open_service();
}
END_TEST

/* ---- a failed commit ---- */

START_TEST(failed_commit_fails_its_request_and_reloads)
{
    create_study("fragile", 1, NULL);
    int64_t n = ask("fragile");
    hpo_error err = {0};
    ck_assert_int_eq(report("fragile", n, 0, 1.0, &err), HPO_OK);
    /* PostgreSQL refuses one value: the commit holding it fails as a whole */
    sql("CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.value = 666 THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$");
    sql("CREATE TRIGGER refuse_666 BEFORE INSERT ON trial_intermediate_values"
        " FOR EACH ROW EXECUTE FUNCTION refuse_666()");
    ck_assert_int_eq(report("fragile", n, 1, 666.0, &err), HPO_E_UNAVAILABLE);
    ck_assert_msg(strstr(err.message, "retry") != NULL, "%s", err.message);
    /* memory went back to what PostgreSQL holds: step 1 is not there */
    hpo_trial t = {0};
    ck_assert_int_eq(hpo_service_trial(ts.svc, "fragile", n, &t, &err), HPO_OK);
    ck_assert_int_eq(t.n_reports, 1);
    ck_assert_int_eq(t.reports[0].step, 0);
    hpo_trial_clear(&t);
    /* and the study goes on */
    ck_assert_int_eq(report("fragile", n, 1, 2.0, &err), HPO_OK);
    ck_assert_int_eq(hpo_service_trial(ts.svc, "fragile", n, &t, &err), HPO_OK);
    ck_assert_int_eq(t.n_reports, 2);
    ck_assert(t.reports[1].value == 2.0);
    hpo_trial_clear(&t);
    ck_assert_int_eq(sql_number("SELECT count(*) FROM trial_intermediate_values"), 2);
}
END_TEST

/* A trial deleted behind the server's back (the study deleted through another server): the write
 * addressing it fails and nothing else of its batch is kept. */
START_TEST(write_to_a_vanished_trial_is_not_found)
{
    create_study("gone", 1, NULL);
    int64_t n = ask("gone");
    sql("DELETE FROM trials");
    hpo_error err = {0};
    ck_assert_int_eq(report("gone", n, 0, 1.0, &err), HPO_E_NOT_FOUND);
    ck_assert_int_eq(sql_number("SELECT count(*) FROM trial_intermediate_values"), 0);
}
END_TEST

/* ---- idle studies ---- */

START_TEST(idle_studies_leave_memory_and_come_back)
{
    hpo_limits lim;
    hpo_limits_default(&lim);
    lim.study_idle_s = 1;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_set_limits(ts.svc, &lim, &err), HPO_OK);
    ck_assert_int_eq(hpo_service_start_reaper(ts.svc, 100, &err), HPO_OK);
    const char *names[] = {"idle-a", "idle-b", "idle-c"};
    for (int i = 0; i < 3; i++) {
        create_study(names[i], 1, NULL);
        ask(names[i]);
    }
    ck_assert_int_eq(hpo_service_loaded_studies(ts.svc), 3);
    for (int i = 0; i < 50 && hpo_service_loaded_studies(ts.svc) > 0; i++)
        usleep(100 * 1000);
    ck_assert_int_eq(hpo_service_loaded_studies(ts.svc), 0);
    /* loaded again on use, as it was */
    hpo_study_info info = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, "idle-b", &info, &err), HPO_OK);
    ck_assert_int_eq(info.n_trials, 1);
    ck_assert_int_eq(info.counts[HPO_TRIAL_RUNNING], 1);
    hpo_study_info_clear(&info);
    ck_assert_int_eq(hpo_service_loaded_studies(ts.svc), 1);
}
END_TEST

/* ---- what is kept up to date ---- */

static bool dominates(const double *a, const double *b)
{
    /* minimize the first value, maximize the second */
    bool strictly = a[0] < b[0] || a[1] > b[1];
    return a[0] <= b[0] && a[1] >= b[1] && strictly;
}

static void check_front(void)
{
    hpo_error err = {0};
    hpo_trial *all = NULL, *best = NULL;
    size_t n = 0, nb = 0, nd = 0;
    bool more;
    ck_assert_int_eq(hpo_service_trials(ts.svc, "pareto", HPO_TRIAL_COMPLETE, -1, 1000, &all, &n,
                                        &more, &err), HPO_OK);
    ck_assert_int_eq(hpo_service_best(ts.svc, "pareto", &best, &nb, &nd, &err), HPO_OK);
    ck_assert_int_eq(nd, 2);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool dominated = false;
        for (size_t j = 0; j < n && !dominated; j++)
            dominated = dominates(all[j].values, all[i].values);
        if (dominated)
            continue;
        ck_assert_msg(k < nb, "trial %lld missing from the front", (long long)all[i].number);
        ck_assert_int_eq(best[k].number, all[i].number); /* same members, in number order */
        k++;
    }
    ck_assert_int_eq(k, nb);
    hpo_trials_free(all, n);
    hpo_trials_free(best, nb);
}

START_TEST(pareto_front_matches_a_full_scan)
{
    create_study("pareto", 2, NULL);
    unsigned seed = 7;
    for (int i = 0; i < 80; i++) {
        int64_t n = ask("pareto");
        seed = seed * 1103515245u + 12345u;
        double v[2] = {(double)(seed >> 16 & 15), (double)(seed >> 8 & 15)}; /* ties happen */
        hpo_finish_request fin = {HPO_TRIAL_COMPLETE, v, 2, NULL, false, NULL, 0};
        hpo_trial done = {0};
        hpo_error err = {0};
        ck_assert_int_eq(hpo_service_finish(ts.svc, "pareto", n, &fin, &done, &err), HPO_OK);
        hpo_trial_clear(&done);
        if (i % 20 == 19)
            check_front();
    }
    close_service();
    open_service(); /* derived again from what was loaded */
    check_front();
}
END_TEST

START_TEST(reports_added_in_place_keep_first_values)
{
    create_study("long", 1, NULL);
    int64_t n = ask("long");
    hpo_error err = {0};
    enum { STEPS = 3000 };
    /* even steps first, then every step (odd ones new, even ones repeated with other values) */
    for (int s = 0; s < STEPS; s += 2)
        ck_assert_int_eq(report("long", n, s, (double)s, &err), HPO_OK);
    for (int s = STEPS - 1; s >= 0; s--)
        ck_assert_int_eq(report("long", n, s, s % 2 ? (double)s : -1.0, &err), HPO_OK);
    for (int round = 0; round < 2; round++) {
        hpo_trial t = {0};
        ck_assert_int_eq(hpo_service_trial(ts.svc, "long", n, &t, &err), HPO_OK);
        ck_assert_int_eq(t.n_reports, STEPS);
        for (int s = 0; s < STEPS; s++) {
            ck_assert_int_eq(t.reports[s].step, s);
            ck_assert(t.reports[s].value == (double)s);
        }
        hpo_trial_clear(&t);
        close_service();
        open_service(); /* the same from PostgreSQL */
    }
}
END_TEST


/* ---- reads on snapshots ---- */

typedef struct {
    int64_t number;
    hpo_rc rc;
} report_job;

static void *report_in_background(void *arg)
{
    report_job *job = arg;
    hpo_error err = {0};
    job->rc = report("held", job->number, 1, 7.0, &err);
    return NULL;
}

static double seconds_now(void)
{
    struct timespec ts_now;
    clock_gettime(CLOCK_MONOTONIC, &ts_now);
    return (double)ts_now.tv_sec + (double)ts_now.tv_nsec / 1e9;
}

/* A read neither waits for a commit in flight nor shows what it has not made durable: it answers
 * at once from the last committed version. */
START_TEST(reads_answer_from_the_last_commit_while_one_is_in_flight)
{
    create_study("held", 1, NULL);
    int64_t n = ask("held");
    hpo_error err = {0};
    ck_assert_int_eq(report("held", n, 0, 5.0, &err), HPO_OK);
    /* another session holds the reports' table: the next commit waits on it */
    PGconn *lock = PQconnectdb(db);
    ck_assert_int_eq(PQstatus(lock), CONNECTION_OK);
    PGresult *r = PQexec(lock, "BEGIN; LOCK TABLE trial_intermediate_values IN ACCESS EXCLUSIVE MODE");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    report_job job = {n, HPO_E_INTERNAL};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, report_in_background, &job), 0);
    usleep(300 * 1000); /* the report is in memory and its commit waits on the lock */
    double t0 = seconds_now();
    for (int i = 0; i < 20; i++) {
        hpo_trial t = {0};
        ck_assert_int_eq(hpo_service_trial(ts.svc, "held", n, &t, &err), HPO_OK);
        ck_assert_int_eq(t.n_reports, 1);
        hpo_trial_clear(&t);
        hpo_study_info info = {0};
        ck_assert_int_eq(hpo_service_study_get(ts.svc, "held", &info, &err), HPO_OK);
        ck_assert_int_eq(info.n_trials, 1);
        hpo_study_info_clear(&info);
        hpo_trial *list = NULL;
        size_t nl = 0;
        bool more = false;
        ck_assert_int_eq(hpo_service_trials(ts.svc, "held", -1, -1, 10, &list, &nl, &more, &err),
                         HPO_OK);
        ck_assert_int_eq(nl, 1);
        ck_assert_int_eq(list[0].n_reports, 1);
        hpo_trials_free(list, nl);
    }
    ck_assert_msg(seconds_now() - t0 < 1.0, "the reads waited for the commit in flight");
    r = PQexec(lock, "COMMIT");
    PQclear(r);
    PQfinish(lock);
    pthread_join(th, NULL);
    ck_assert_int_eq(job.rc, HPO_OK);
    /* once committed, it shows */
    hpo_trial t = {0};
    ck_assert_int_eq(hpo_service_trial(ts.svc, "held", n, &t, &err), HPO_OK);
    ck_assert_int_eq(t.n_reports, 2);
    ck_assert(t.reports[1].value == 7.0);
    hpo_trial_clear(&t);
}
END_TEST

#define CHURN_WRITERS 6
#define CHURN_READERS 3
#define CHURN_TRIALS 12

static atomic_bool churn_done;

/* Trials whose every part moves while readers look: reports out of order (moved to a new block),
 * params added one by one (grown), worker names changed (strings replaced), finished (values). */
static void *churn_writer(void *arg)
{
    long *failures = arg;
    char worker[32], param[32];
    for (int i = 0; i < CHURN_TRIALS; i++) {
        hpo_error err = {0};
        int64_t n = ask("churn");
        for (int s = 40; s >= 0; s--) {
            if (report("churn", n, s % 2 ? 40 - s : s, (double)s, &err))
                (*failures)++;
            hpo_action a;
            snprintf(worker, sizeof worker, "w%d", s);
            if (s % 8 == 0 && hpo_service_heartbeat(ts.svc, "churn", n, worker, &a, &err))
                (*failures)++;
            hpo_dist d = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1};
            snprintf(param, sizeof param, "p%d", s);
            double v;
            if (s % 4 == 0 && hpo_service_suggest(ts.svc, "churn", n, param, &d, &v, &err))
                (*failures)++;
        }
        double v = (double)n;
        hpo_finish_request fin = {HPO_TRIAL_COMPLETE, &v, 1, NULL, false, NULL, 0};
        hpo_trial done = {0};
        if (hpo_service_finish(ts.svc, "churn", n, &fin, &done, &err))
            (*failures)++;
        hpo_trial_clear(&done);
    }
    return NULL;
}

/* What every version of a trial must be, whatever the moment it was read. */
static bool trial_whole(const hpo_trial *t)
{
    for (size_t k = 1; k < t->n_reports; k++)
        if (t->reports[k].step <= t->reports[k - 1].step)
            return false;
    for (size_t k = 0; k < t->n_params; k++)
        if (!t->params[k].name || t->params[k].name[0] != (k == 0 ? 'x' : 'p'))
            return false;
    if (t->state == HPO_TRIAL_COMPLETE && (t->n_values != 1 || t->values[0] != (double)t->number))
        return false;
    return t->state == HPO_TRIAL_RUNNING || t->state == HPO_TRIAL_COMPLETE;
}

static void *churn_reader(void *arg)
{
    long *failures = arg;
    int64_t seen = 0;
    while (!atomic_load(&churn_done)) {
        hpo_error err = {0};
        hpo_study_info info = {0};
        if (hpo_service_study_get(ts.svc, "churn", &info, &err) == HPO_OK) {
            int64_t sum = 0;
            for (int s = 0; s < HPO_TRIAL_STATE_COUNT; s++)
                sum += info.counts[s];
            if (sum != info.n_trials || info.n_trials < seen)
                (*failures)++;
            if (info.has_best && (info.best.state != HPO_TRIAL_COMPLETE ||
                                  info.best.values[0] != (double)info.best.number))
                (*failures)++;
            seen = info.n_trials;
        } else {
            (*failures)++;
        }
        hpo_study_info_clear(&info);
        hpo_trial *list = NULL;
        size_t nl = 0;
        bool more = false;
        if (hpo_service_trials(ts.svc, "churn", -1, -1, 1000, &list, &nl, &more, &err) ||
            (int64_t)nl < seen)
            (*failures)++;
        for (size_t k = 0; k < nl; k++)
            if (!trial_whole(&list[k]) || list[k].number != (int64_t)k)
                (*failures)++;
        hpo_trials_free(list, nl);
    }
    return NULL;
}

/* Readers never see a torn or freed trial while writers change every part of it (the same run
 * under ThreadSanitizer and AddressSanitizer checks the memory side). */
START_TEST(readers_see_whole_versions_while_trials_change)
{
    create_study("churn", 1, NULL);
    atomic_store(&churn_done, false);
    long wfail[CHURN_WRITERS] = {0}, rfail[CHURN_READERS] = {0};
    pthread_t w[CHURN_WRITERS], r[CHURN_READERS];
    for (int i = 0; i < CHURN_READERS; i++)
        ck_assert_int_eq(pthread_create(&r[i], NULL, churn_reader, &rfail[i]), 0);
    for (int i = 0; i < CHURN_WRITERS; i++)
        ck_assert_int_eq(pthread_create(&w[i], NULL, churn_writer, &wfail[i]), 0);
    for (int i = 0; i < CHURN_WRITERS; i++)
        pthread_join(w[i], NULL);
    atomic_store(&churn_done, true);
    for (int i = 0; i < CHURN_READERS; i++)
        pthread_join(r[i], NULL);
    for (int i = 0; i < CHURN_WRITERS; i++)
        ck_assert_int_eq(wfail[i], 0);
    for (int i = 0; i < CHURN_READERS; i++)
        ck_assert_int_eq(rfail[i], 0);
    /* and what the readers saw last is what PostgreSQL holds */
    hpo_study_info info = {0};
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, "churn", &info, &err), HPO_OK);
    ck_assert_int_eq(info.n_trials, CHURN_WRITERS * CHURN_TRIALS);
    ck_assert_int_eq(info.counts[HPO_TRIAL_COMPLETE], CHURN_WRITERS * CHURN_TRIALS);
    hpo_study_info_clear(&info);
    ck_assert_int_eq(sql_number("SELECT count(*) FROM trial_intermediate_values"),
                     CHURN_WRITERS * CHURN_TRIALS * 41);
}
END_TEST


/* ---- sampling outside the study's mutex ---- */

typedef struct {
    atomic_bool done;
    hpo_rc rc;
    double x;
} slow_ask;

static void *ask_in_background(void *arg)
{
    slow_ask *job = arg;
    hpo_trial t = {0};
    bool replayed;
    hpo_error err = {0};
    hpo_ask_request req = {.worker = "slow"};
    job->rc = hpo_service_ask(ts.svc, "tpe", &req, &t, &replayed, NULL, &err);
    const hpo_param *x = job->rc == HPO_OK ? hpo_trial_param(&t, "x") : NULL;
    job->x = x ? x->value : NAN;
    hpo_trial_clear(&t);
    atomic_store(&job->done, true);
    return NULL;
}

/* TPE samples a new trial on a view of the study taken under its mutex, and without it: a report
 * to the same study, sent while an ask samples (made slow on purpose), is answered first. */
START_TEST(tpe_asks_sample_without_the_study_mutex)
{
    create_study_with("tpe", 1, "{\"type\":\"tpe\",\"seed\":3,\"n_startup_trials\":2,"
                                "\"n_ei_candidates\":2000000}", NULL);
    hpo_error err = {0};
    /* a history without sampling: enqueued trials with their params fixed */
    for (int i = 0; i < 30; i++) {
        hpo_fixed_param q[] = {{"x", {.kind = HPO_CHOICE_NUMBER, .number = -5 + i / 3.0}}};
        hpo_fixed_params qs = {1, q};
        hpo_trial w = {0}, done = {0};
        ck_assert_int_eq(hpo_service_enqueue(ts.svc, "tpe", &qs, &w, &err), HPO_OK);
        int64_t n = ask("tpe");
        ck_assert_int_eq(n, w.number);
        double v = (q[0].value.number - 1) * (q[0].value.number - 1);
        hpo_finish_request fin = {HPO_TRIAL_COMPLETE, &v, 1, NULL, false, NULL, 0};
        ck_assert_int_eq(hpo_service_finish(ts.svc, "tpe", n, &fin, &done, &err), HPO_OK);
        hpo_trial_clear(&w);
        hpo_trial_clear(&done);
    }
    hpo_fixed_param q[] = {{"x", {.kind = HPO_CHOICE_NUMBER, .number = 0}}};
    hpo_fixed_params qs = {1, q};
    hpo_trial w = {0};
    ck_assert_int_eq(hpo_service_enqueue(ts.svc, "tpe", &qs, &w, &err), HPO_OK);
    int64_t running = ask("tpe");
    hpo_trial_clear(&w);

    slow_ask job = {.rc = HPO_E_INTERNAL};
    atomic_init(&job.done, false);
    pthread_t th;
    double t0 = seconds_now();
    ck_assert_int_eq(pthread_create(&th, NULL, ask_in_background, &job), 0);
    usleep(100 * 1000);
    ck_assert_int_eq(report("tpe", running, 0, 1.0, &err), HPO_OK);
    double reported = seconds_now() - t0;
    bool ask_still_sampling = !atomic_load(&job.done);
    pthread_join(th, NULL);
    double asked = seconds_now() - t0;
    ck_assert_int_eq(job.rc, HPO_OK);
    ck_assert_msg(ask_still_sampling, "the ask (%.3f s) ended before the report (%.3f s): "
                  "sampling was not slow enough to tell", asked, reported);
    ck_assert(job.x >= -5 && job.x <= 5);
    /* the new trial was written with its params */
    ck_assert_int_eq(sql_number("SELECT count(*) FROM trials"), 32);
    ck_assert_int_eq(sql_number("SELECT count(*) FROM trial_params"), 32);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, concurrent_writes_share_commits_and_all_last);
    tcase_add_test(tc, failed_commit_fails_its_request_and_reloads);
    tcase_add_test(tc, write_to_a_vanished_trial_is_not_found);
    tcase_add_test(tc, idle_studies_leave_memory_and_come_back);
    tcase_add_test(tc, pareto_front_matches_a_full_scan);
    tcase_add_test(tc, reports_added_in_place_keep_first_values);
    tcase_add_test(tc, reads_answer_from_the_last_commit_while_one_is_in_flight);
    tcase_add_test(tc, readers_see_whole_versions_while_trials_change);
    tcase_add_test(tc, tpe_asks_sample_without_the_study_mutex);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
