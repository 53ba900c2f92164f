/* test_store: the PostgreSQL store against a real server (HPO_TEST_PG): migrations, round trips,
 * racing trial numbers, the transaction runner's rollback, retry and reconnect, and the batched
 * trial writes (hpo_store_commit): all or nothing, one transaction, reconnect. */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo_codec.h"
#include "store_internal.h"
#include "hpo_testdb.h"

static char *g_conninfo;
static hpo_store *g_store;

/* ---- fixtures and helpers ---- */

static void setup_db(void)
{
    g_conninfo = hpo_testdb_create();
}

static void teardown_db(void)
{
    hpo_testdb_drop(g_conninfo);
    free(g_conninfo);
    g_conninfo = NULL;
}

static void setup_store(void)
{
    setup_db();
    hpo_error err;
    ck_assert_int_eq(hpo_store_open(g_conninfo, 4, &g_store, &err), HPO_OK);
    ck_assert_msg(hpo_store_migrate(g_store, NULL, &err) == HPO_OK, "%s", err.message);
}

static void teardown_store(void)
{
    hpo_store_close(g_store);
    g_store = NULL;
    teardown_db();
}

/* Runs sql on a connection of its own and returns the first column of the first row as a long
 * (-1 when there is no row). */
static long sql_long(const char *sql)
{
    PGconn *c = PQconnectdb(g_conninfo);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    long v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}

/* sql_long of a printf-style statement. */
__attribute__((format(printf, 1, 2))) static long sql_longf(const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return sql_long(sql);
}

static void sql_exec_direct(const char *sql)
{
    PGconn *c = PQconnectdb(g_conninfo);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK,
                  "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static const char *const space_json =
    "{\"lr\":{\"type\":\"float\",\"low\":1e-05,\"high\":0.1,\"log\":true},"
    "\"dropout\":{\"type\":\"float\",\"low\":0,\"high\":0.5,\"step\":0.1},"
    "\"width\":{\"type\":\"float\",\"low\":-1e300,\"high\":1e300},"
    "\"layers\":{\"type\":\"int\",\"low\":1,\"high\":8},"
    "\"units\":{\"type\":\"int\",\"low\":16,\"high\":1024,\"log\":true},"
    "\"batch\":{\"type\":\"int\",\"low\":32,\"high\":256,\"step\":32},"
    "\"opt\":{\"type\":\"categorical\",\"choices\":[\"SGD\",\"Adam\",3,2.5,4.0,true,false,null]}}";

static void space_from_json(hpo_space *ret, const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "%s", jerr.text);
    hpo_error err;
    ck_assert_msg(hpo_json_to_space(j, "space", ret, &err) == HPO_OK, "%s", err.message);
    json_decref(j);
}

static void dist_from_json(hpo_dist *ret, const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "%s", jerr.text);
    hpo_error err;
    ck_assert_msg(hpo_json_to_dist(j, "d", ret, &err) == HPO_OK, "%s", err.message);
    json_decref(j);
}

static void make_config(hpo_study_config *c, const char *name, hpo_direction d0, size_t n_dirs,
                        int64_t max_trials)
{
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    c->n_directions = n_dirs;
    c->directions = calloc(n_dirs, sizeof *c->directions);
    for (size_t i = 0; i < n_dirs; i++)
        c->directions[i] = i == 0 ? d0 : (hpo_direction)(1 - (int)d0);
    c->sampler = strdup("{\"seed\":7,\"type\":\"tpe\"}");
    c->pruner = strdup("{\"type\":\"none\"}");
    c->user_attrs = strdup("{\"owner\":\"test\",\"note\":\"é ü\"}");
    c->max_trials = max_trials;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* tx bodies */

typedef struct {
    hpo_study_config *config;
} insert_ctx;

static hpo_rc insert_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    insert_ctx *ctx = vctx;
    return hpo_db_study_insert(db, ctx->config, err);
}

static hpo_rc insert_study(hpo_study_config *c, hpo_error *err)
{
    insert_ctx ctx = {c};
    return hpo_store_tx(g_store, insert_fn, &ctx, err);
}

typedef struct {
    const char *name;
    hpo_study_config out;
} load_ctx;

static hpo_rc load_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    load_ctx *ctx = vctx;
    return hpo_db_study_load(db, ctx->name, &ctx->out, err);
}

static hpo_rc delete_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    return hpo_db_study_delete(db, vctx, err);
}

typedef struct {
    int64_t study_id;
    hpo_trial *trials;
    size_t n;
} trials_ctx;

static hpo_rc trials_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    trials_ctx *ctx = vctx;
    return hpo_db_trials_load(db, ctx->study_id, &ctx->trials, &ctx->n, err);
}

static void load_trials(int64_t study_id, trials_ctx *ctx)
{
    hpo_error err;
    ctx->study_id = study_id;
    ck_assert_msg(hpo_store_tx(g_store, trials_fn, ctx, &err) == HPO_OK, "%s", err.message);
}

static hpo_rc sql_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    return hpo_db_exec(db, vctx, 0, NULL, NULL, err);
}

static int64_t new_study(const char *name, hpo_direction d, size_t n_dirs, int64_t max_trials)
{
    hpo_study_config c;
    make_config(&c, name, d, n_dirs, max_trials);
    hpo_error err;
    ck_assert_msg(insert_study(&c, &err) == HPO_OK, "%s", err.message);
    int64_t id = c.id;
    hpo_study_config_clear(&c);
    return id;
}

/* trial writes: batches committed by hpo_store_commit */

static hpo_writes *writes_new(void)
{
    hpo_writes *w = hpo_writes_new();
    ck_assert_ptr_nonnull(w);
    return w;
}

/* Commits w on s and frees it. */
static hpo_rc commit_free(hpo_store *s, hpo_writes *w, hpo_error *err)
{
    hpo_rc rc = hpo_store_commit(s, w, err);
    hpo_writes_free(w);
    return rc;
}

/* Inserts t (under its own number) in a batch of its own. No Check asserts: threads call it. */
static hpo_rc insert_trial(hpo_store *s, int64_t study_id, const hpo_trial *t, hpo_error *err)
{
    hpo_writes *w = hpo_writes_new();
    hpo_rc rc = w ? hpo_writes_trial_insert(w, study_id, t) : HPO_E_NOMEM;
    if (rc == HPO_OK)
        rc = hpo_store_commit(s, w, err);
    hpo_writes_free(w);
    return rc;
}

/* One intermediate value of trial `number`, in a batch of its own. */
static hpo_rc report(int64_t study_id, int64_t number, int64_t step, double value,
                     int64_t heartbeat_ms)
{
    hpo_report r = {step, value};
    hpo_writes *w = writes_new();
    ck_assert_int_eq(hpo_writes_reports_insert(w, study_id, number, &r, 1, heartbeat_ms), HPO_OK);
    hpo_error err;
    return commit_free(g_store, w, &err);
}

/* Inserts a trial with the given state and objective values under the study's next number
 * (dense, as the service hands them out) and returns that number. */
static int64_t add_trial(int64_t study_id, hpo_trial_state state, const double *values, size_t n)
{
    hpo_trial t = {0};
    t.number = sql_longf("SELECT count(*) FROM trials WHERE study_id = %lld",
                         (long long)study_id);
    t.state = state;
    hpo_trial_set_values(&t, values, n);
    hpo_error err;
    ck_assert_msg(insert_trial(g_store, study_id, &t, &err) == HPO_OK, "%s", err.message);
    int64_t number = t.number;
    hpo_trial_clear(&t);
    return number;
}

/* Loads trial `number` of a study into *ret (owned: hpo_trial_clear). */
static void load_trial(int64_t study_id, int64_t number, hpo_trial *ret)
{
    trials_ctx tc = {0};
    load_trials(study_id, &tc);
    size_t i = 0;
    while (i < tc.n && tc.trials[i].number != number)
        i++;
    ck_assert_msg(i < tc.n, "trial %lld not stored", (long long)number);
    *ret = tc.trials[i];
    memset(&tc.trials[i], 0, sizeof tc.trials[i]);
    hpo_trials_free(tc.trials, tc.n);
}

typedef struct {
    int64_t study_id, number, id;
} id_ctx;

static hpo_rc trial_id_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    id_ctx *ctx = vctx;
    return hpo_db_trial_id(db, ctx->study_id, ctx->number, &ctx->id, err);
}

/* ---- migrations ---- */

START_TEST(test_migrate_twice)
{
    hpo_store *s;
    hpo_error err;
    ck_assert_int_eq(hpo_store_open(g_conninfo, 2, &s, &err), HPO_OK);
    int v1 = -1, v2 = -1;
    ck_assert_msg(hpo_store_migrate(s, &v1, &err) == HPO_OK, "%s", err.message);
    ck_assert_int_eq(v1, hpo_store_schema_version());
    ck_assert_msg(hpo_store_migrate(s, &v2, &err) == HPO_OK, "%s", err.message);
    ck_assert_int_eq(v2, v1);
    hpo_store_close(s);
    /* A fresh pool on the same database sees the same thing. */
    ck_assert_int_eq(hpo_store_open(g_conninfo, 1, &s, &err), HPO_OK);
    ck_assert_int_eq(hpo_store_migrate(s, &v2, &err), HPO_OK);
    ck_assert_int_eq(v2, v1);
    hpo_store_close(s);

    int n = hpo_store_schema_version();
    ck_assert_int_eq(sql_long("SELECT count(*) FROM hpo_schema_version"), n);
    ck_assert_int_eq(sql_long("SELECT min(version) FROM hpo_schema_version"), 1);
    ck_assert_int_eq(sql_long("SELECT max(version) FROM hpo_schema_version"), n);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM information_schema.tables WHERE table_name IN"
                              " ('studies', 'trials', 'trial_params', 'trial_values',"
                              " 'trial_intermediate_values', 'trial_user_attrs', 'workers')"),
                     7);
}
END_TEST

START_TEST(test_migrate_newer_schema_refused)
{
    hpo_store *s;
    hpo_error err;
    ck_assert_int_eq(hpo_store_open(g_conninfo, 1, &s, &err), HPO_OK);
    ck_assert_int_eq(hpo_store_migrate(s, NULL, &err), HPO_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO hpo_schema_version (version) VALUES (%d)",
             hpo_store_schema_version() + 1);
    sql_exec_direct(sql);
    ck_assert_int_eq(hpo_store_migrate(s, NULL, &err), HPO_E_INTERNAL);
    ck_assert_ptr_nonnull(strstr(err.message, "newer"));
    hpo_store_close(s);
}
END_TEST

typedef struct {
    hpo_rc rc;
    int version;
    hpo_error err;
} migrate_result;

static void *migrate_thread(void *arg)
{
    migrate_result *res = arg;
    hpo_store *s;
    res->rc = hpo_store_open(g_conninfo, 1, &s, &res->err);
    if (res->rc == HPO_OK) {
        res->rc = hpo_store_migrate(s, &res->version, &res->err);
        hpo_store_close(s);
    }
    return NULL;
}

START_TEST(test_migrate_concurrent)
{
    enum { N = 4 };
    pthread_t th[N];
    migrate_result res[N];
    memset(res, 0, sizeof res);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, migrate_thread, &res[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(res[i].rc == HPO_OK, "thread %d: %s", i, res[i].err.message);
        ck_assert_int_eq(res[i].version, hpo_store_schema_version());
    }
    ck_assert_int_eq(sql_long("SELECT count(*) FROM hpo_schema_version"),
                     hpo_store_schema_version());
}
END_TEST

START_TEST(test_open_unreachable)
{
    hpo_store *s = NULL;
    hpo_error err;
    hpo_error_clear(&err);
    ck_assert_int_eq(hpo_store_open("host=/nonexistent-hpo port=1 user=nobody dbname=x "
                                    "connect_timeout=2",
                                    2, &s, &err),
                     HPO_E_UNAVAILABLE);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, HPO_E_UNAVAILABLE);
    ck_assert_msg(strlen(err.message) > 30, "message: %s", err.message);
    hpo_store_close(NULL);
}
END_TEST

/* ---- studies ---- */

START_TEST(test_study_roundtrip)
{
    hpo_study_config c;
    make_config(&c, "round.trip-1", HPO_MAXIMIZE, 2, 50);
    space_from_json(&c.space, space_json);
    hpo_error err;
    ck_assert_msg(insert_study(&c, &err) == HPO_OK, "%s", err.message);
    ck_assert_int_gt(c.id, 0);
    ck_assert_int_gt(c.created_ms, 1600000000000LL);

    load_ctx lc = {.name = "round.trip-1"};
    ck_assert_msg(hpo_store_tx(g_store, load_fn, &lc, &err) == HPO_OK, "%s", err.message);
    hpo_study_config *o = &lc.out;
    ck_assert_int_eq(o->id, c.id);
    ck_assert_str_eq(o->name, c.name);
    ck_assert_uint_eq(o->n_directions, 2);
    ck_assert_int_eq(o->directions[0], HPO_MAXIMIZE);
    ck_assert_int_eq(o->directions[1], HPO_MINIMIZE);
    ck_assert_str_eq(o->sampler, c.sampler);
    ck_assert_str_eq(o->pruner, c.pruner);
    ck_assert_str_eq(o->user_attrs, c.user_attrs);
    ck_assert_int_eq(o->max_trials, 50);
    ck_assert_int_eq(o->created_ms, c.created_ms);
    ck_assert_uint_eq(o->space.n, c.space.n);
    for (size_t i = 0; i < c.space.n; i++) {
        ck_assert_str_eq(o->space.items[i].name, c.space.items[i].name); /* order kept */
        ck_assert_msg(hpo_dist_equal(&o->space.items[i].dist, &c.space.items[i].dist),
                      "distribution of %s differs", c.space.items[i].name);
    }
    /* The integer flag of number choices survives (3 vs 4.0). */
    const hpo_param_def *opt = hpo_space_find(&o->space, "opt");
    ck_assert_ptr_nonnull(opt);
    ck_assert(opt->dist.choices[2].integer);
    ck_assert(!opt->dist.choices[4].integer);
    hpo_study_config_clear(&lc.out);

    /* Same name again. */
    hpo_study_config dup;
    make_config(&dup, "round.trip-1", HPO_MINIMIZE, 1, 0);
    ck_assert_int_eq(insert_study(&dup, &err), HPO_E_EXISTS);
    hpo_study_config_clear(&dup);

    /* Unlimited, empty space, defaults for missing texts. */
    hpo_study_config plain = {0};
    plain.name = strdup("plain");
    plain.n_directions = 1;
    plain.directions = calloc(1, sizeof *plain.directions);
    ck_assert_int_eq(insert_study(&plain, &err), HPO_OK);
    load_ctx pc = {.name = "plain"};
    ck_assert_int_eq(hpo_store_tx(g_store, load_fn, &pc, &err), HPO_OK);
    ck_assert_int_eq(pc.out.max_trials, 0);
    ck_assert_uint_eq(pc.out.space.n, 0);
    ck_assert_str_eq(pc.out.user_attrs, "{}");
    hpo_study_config_clear(&pc.out);
    hpo_study_config_clear(&plain);

    load_ctx missing = {.name = "nope"};
    ck_assert_int_eq(hpo_store_tx(g_store, load_fn, &missing, &err), HPO_E_NOT_FOUND);
    hpo_study_config_clear(&c);
}
END_TEST

/* ---- trials ---- */

enum { RACE_THREADS = 8, RACE_ROUNDS = 20 };

typedef struct {
    int index;
    int64_t study_id;
    pthread_barrier_t *barrier;
    hpo_rc rc[RACE_ROUNDS];
    hpo_error err;
} race_ctx;

/* Own number of thread `index` in a round: nobody else inserts it. */
static int64_t race_own_number(int round, int index)
{
    return 1000 + round * RACE_THREADS + index;
}

/* Each round, every thread commits a batch inserting a trial only it uses and then the round's
 * contested number, all threads at once. */
static void *race_thread(void *arg)
{
    race_ctx *ctx = arg;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        char worker[16];
        snprintf(worker, sizeof worker, "w%d", ctx->index);
        hpo_trial own = {0}, contested = {0};
        own.number = race_own_number(round, ctx->index);
        own.state = HPO_TRIAL_WAITING;
        contested.number = round;
        contested.state = HPO_TRIAL_RUNNING;
        contested.worker = strdup(worker);
        bool added;
        hpo_trial_add_report(&contested, 1, ctx->index, &added);
        hpo_writes *w = hpo_writes_new();
        hpo_rc rc = w ? hpo_writes_trial_insert(w, ctx->study_id, &own) : HPO_E_NOMEM;
        if (rc == HPO_OK)
            rc = hpo_writes_trial_insert(w, ctx->study_id, &contested);
        pthread_barrier_wait(ctx->barrier);
        if (rc == HPO_OK)
            rc = hpo_store_commit(g_store, w, &ctx->err);
        ctx->rc[round] = rc;
        hpo_writes_free(w);
        hpo_trial_clear(&contested);
    }
    return NULL;
}

/* Numbers are the caller's now (the service hands them out from memory): two servers that took
 * the same number race, and the unique constraint lets exactly one of them commit. */
START_TEST(test_trial_number_race)
{
    hpo_store_close(g_store); /* one connection per thread */
    hpo_error err;
    ck_assert_int_eq(hpo_store_open(g_conninfo, RACE_THREADS, &g_store, &err), HPO_OK);
    int64_t sid = new_study("race", HPO_MINIMIZE, 1, 0);

    static race_ctx ctx[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    pthread_barrier_t barrier;
    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, RACE_THREADS), 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        memset(&ctx[i], 0, sizeof ctx[i]);
        ctx[i].index = i;
        ctx[i].study_id = sid;
        ctx[i].barrier = &barrier;
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_thread, &ctx[i]), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);

    trials_ctx tc = {0};
    load_trials(sid, &tc);
    ck_assert_uint_eq(tc.n, 2 * RACE_ROUNDS); /* the contested one and its winner's own */
    for (int round = 0; round < RACE_ROUNDS; round++) {
        int winner = -1;
        for (int i = 0; i < RACE_THREADS; i++) {
            if (ctx[i].rc[round] == HPO_OK) {
                ck_assert_msg(winner < 0, "round %d: threads %d and %d both committed", round,
                              winner, i);
                winner = i;
            } else {
                ck_assert_msg(ctx[i].rc[round] == HPO_E_EXISTS, "round %d thread %d: %d (%s)",
                              round, i, ctx[i].rc[round], ctx[i].err.message);
            }
        }
        ck_assert_msg(winner >= 0, "round %d: nobody committed", round);
        const hpo_trial *t = &tc.trials[round];
        ck_assert_int_eq(t->number, round);
        char worker[16];
        snprintf(worker, sizeof worker, "w%d", winner);
        ck_assert_str_eq(t->worker, worker);
        ck_assert_uint_eq(t->n_reports, 1);
        ck_assert(same_bits(t->reports[0].value, winner));
        /* Of the batches that lost, nothing was kept: only the winner's own trial is there. */
        for (int i = 0; i < RACE_THREADS; i++)
            ck_assert_int_eq(sql_longf("SELECT count(*) FROM trials WHERE study_id = %lld"
                                       " AND number = %lld",
                                       (long long)sid, (long long)race_own_number(round, i)),
                             i == winner);
    }
    hpo_trials_free(tc.trials, tc.n);

    /* A trial of a study that does not exist. */
    hpo_trial t = {0};
    ck_assert_int_eq(insert_trial(g_store, sid + 1000, &t, &err), HPO_E_NOT_FOUND);
}
END_TEST

START_TEST(test_trial_roundtrip)
{
    hpo_study_config c;
    make_config(&c, "trials", HPO_MINIMIZE, 3, 0);
    space_from_json(&c.space, space_json);
    hpo_error err;
    ck_assert_int_eq(insert_study(&c, &err), HPO_OK);

    /* A first trial with nothing but a state, then a full one. */
    ck_assert_int_eq(add_trial(c.id, HPO_TRIAL_WAITING, NULL, 0), 0);

    hpo_trial t = {0};
    t.number = 1;
    t.state = HPO_TRIAL_COMPLETE;
    t.worker = strdup("gpu-host:3");
    t.idempotency_key = strdup("key-1");
    t.fail_reason = strdup("none, really \"quoted\" 'single' \\ back");
    t.fixed_params = strdup("{\"z\":1,\"a\":2}");
    t.created_ms = 1700000000123LL;
    t.started_ms = 1700000000999LL;
    t.finished_ms = 1700000100001LL;
    t.heartbeat_ms = 1700000050000LL;
    t.has_generation = true; /* an evolutionary sampler's generation (schema v10) */
    t.generation = 4000000000LL;
    /* Set out of alphabetical order: the order must come back. */
    const char *names[] = {"units", "lr", "opt", "dropout", "width"};
    double vals[] = {512, 0.1, 2, 0.30000000000000004, 1e-300};
    for (size_t i = 0; i < 5; i++) {
        const hpo_param_def *def = hpo_space_find(&c.space, names[i]);
        ck_assert_int_eq(hpo_trial_add_param(&t, names[i], &def->dist, vals[i]), HPO_OK);
    }
    /* Quotes, backslashes, braces and commas in names and choices survive the array literals. */
    hpo_dist odd;
    dist_from_json(&odd, "{\"type\":\"categorical\","
                         "\"choices\":[\"a\\\"b\",\"c\\\\d\",\"{x, y}\"]}");
    const char *odd_name = "we\"ird\\ {name},x";
    ck_assert_int_eq(hpo_trial_add_param(&t, odd_name, &odd, 1), HPO_OK);
    double values[] = {0.1, -1e-300, INFINITY};
    hpo_trial_set_values(&t, values, 3);
    bool added;
    hpo_trial_add_report(&t, 3, 0.7, &added);
    hpo_trial_add_report(&t, 1, NAN, &added);
    ck_assert_msg(insert_trial(g_store, c.id, &t, &err) == HPO_OK, "%s", err.message);

    /* Reports after the fact, out of order, one repeated with another value; each brings its
     * heartbeat time. */
    ck_assert_int_eq(report(c.id, 1, 10, 1.0 / 3.0, t.heartbeat_ms), HPO_OK);
    ck_assert_int_eq(report(c.id, 1, 2, -0.0, t.heartbeat_ms), HPO_OK);
    ck_assert_int_eq(report(c.id, 1, 3, 99.0, t.heartbeat_ms), HPO_OK); /* step 3: first kept */
    ck_assert_int_eq(report(c.id, 999, 1, 1.0, t.heartbeat_ms), HPO_E_NOT_FOUND);
    /* a batch: a step twice (the first wins), one already stored (kept), one new */
    hpo_report batch[] = {{20, 1.5}, {20, 2.5}, {10, 7.0}, {21, -4.0}};
    hpo_writes *w = writes_new();
    ck_assert_int_eq(hpo_writes_reports_insert(w, c.id, 1, batch, 4, 1700000060000LL), HPO_OK);
    ck_assert_msg(commit_free(g_store, w, &err) == HPO_OK, "%s", err.message);

    trials_ctx tc = {0};
    load_trials(c.id, &tc);
    ck_assert_uint_eq(tc.n, 2);
    ck_assert_int_eq(tc.trials[0].number, 0);
    ck_assert_int_eq(tc.trials[0].state, HPO_TRIAL_WAITING);
    ck_assert_uint_eq(tc.trials[0].n_params, 0);
    ck_assert_uint_eq(tc.trials[0].n_values, 0);
    ck_assert_uint_eq(tc.trials[0].n_reports, 0);
    ck_assert_int_eq(tc.trials[0].started_ms, 0);
    ck_assert_int_eq(tc.trials[0].heartbeat_ms, 0);
    ck_assert_ptr_null(tc.trials[0].worker);
    ck_assert_ptr_null(tc.trials[0].idempotency_key);
    ck_assert_ptr_null(tc.trials[0].fixed_params);
    ck_assert_int_gt(tc.trials[0].created_ms, 1600000000000LL); /* now() when not given */
    ck_assert(!tc.trials[0].has_generation);

    hpo_trial *o = &tc.trials[1];
    ck_assert_int_gt(o->id, tc.trials[0].id);
    ck_assert_int_eq(o->number, 1);
    ck_assert_int_eq(o->state, HPO_TRIAL_COMPLETE);
    ck_assert_str_eq(o->worker, t.worker);
    ck_assert_str_eq(o->idempotency_key, t.idempotency_key);
    ck_assert_str_eq(o->fail_reason, t.fail_reason);
    ck_assert_str_eq(o->fixed_params, t.fixed_params);
    ck_assert_int_eq(o->created_ms, t.created_ms);
    ck_assert_int_eq(o->started_ms, t.started_ms);
    ck_assert_int_eq(o->finished_ms, t.finished_ms);
    ck_assert_int_eq(o->heartbeat_ms, 1700000060000LL); /* the last report's */
    ck_assert(o->has_generation);
    ck_assert_int_eq(o->generation, 4000000000LL);
    ck_assert_uint_eq(o->n_params, 6);
    ck_assert_str_eq(o->params[5].name, odd_name);
    ck_assert(hpo_dist_equal(&o->params[5].dist, &odd));
    ck_assert_str_eq(o->params[5].dist.choices[0].str, "a\"b");
    ck_assert_str_eq(o->params[5].dist.choices[1].str, "c\\d");
    ck_assert_str_eq(o->params[5].dist.choices[2].str, "{x, y}");
    ck_assert(same_bits(o->params[5].value, 1));
    hpo_dist_clear(&odd);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(o->params[i].name, names[i]);
        ck_assert_msg(same_bits(o->params[i].value, vals[i]), "param %s: %.17g != %.17g",
                      names[i], o->params[i].value, vals[i]);
        ck_assert(hpo_dist_equal(&o->params[i].dist, &t.params[i].dist));
    }
    ck_assert_uint_eq(o->n_values, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_msg(same_bits(o->values[i], values[i]), "value %zu: %.17g", i, o->values[i]);
    int64_t steps[] = {1, 2, 3, 10, 20, 21};
    ck_assert_uint_eq(o->n_reports, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(o->reports[i].step, steps[i]);
    ck_assert(isnan(o->reports[0].value));
    ck_assert(same_bits(o->reports[1].value, -0.0));
    ck_assert(same_bits(o->reports[2].value, 0.7));
    ck_assert(same_bits(o->reports[3].value, 1.0 / 3.0));
    ck_assert(same_bits(o->reports[4].value, 1.5));
    ck_assert(same_bits(o->reports[5].value, -4.0));

    /* The id lookup agrees with the load. */
    id_ctx ic = {c.id, 1, 0};
    ck_assert_int_eq(hpo_store_tx(g_store, trial_id_fn, &ic, &err), HPO_OK);
    ck_assert_int_eq(ic.id, o->id);
    ic.number = 2;
    ck_assert_int_eq(hpo_store_tx(g_store, trial_id_fn, &ic, &err), HPO_E_NOT_FOUND);
    hpo_trials_free(tc.trials, tc.n);
    hpo_trial_clear(&t);
    hpo_study_config_clear(&c);
}
END_TEST

START_TEST(test_trial_update_param_heartbeat)
{
    hpo_study_config c;
    make_config(&c, "update", HPO_MINIMIZE, 1, 0);
    space_from_json(&c.space, space_json);
    hpo_error err;
    ck_assert_int_eq(insert_study(&c, &err), HPO_OK);

    hpo_trial t = {0};
    t.state = HPO_TRIAL_RUNNING;
    t.worker = strdup("w1");
    t.heartbeat_ms = 1700000011111LL;
    const hpo_param_def *lr = hpo_space_find(&c.space, "lr");
    hpo_trial_add_param(&t, "lr", &lr->dist, 0.001);
    double v0[] = {5.0, 6.0};
    hpo_trial_set_values(&t, v0, 2);
    ck_assert_int_eq(insert_trial(g_store, c.id, &t, &err), HPO_OK);

    /* Two params set later, in one write, after the one there. */
    hpo_dist batch_dist;
    dist_from_json(&batch_dist, "{\"type\":\"int\",\"low\":32,\"high\":256,\"step\":32}");
    hpo_trial_add_param(&t, "batch", &batch_dist, 64);
    hpo_trial_add_param(&t, "units", &hpo_space_find(&c.space, "units")->dist, 128);
    hpo_writes *w = writes_new();
    ck_assert_int_eq(hpo_writes_params_insert(w, c.id, &t, 1), HPO_OK);
    ck_assert_msg(commit_free(g_store, w, &err) == HPO_OK, "%s", err.message);

    /* A name already set is refused, and nothing of its batch is kept. */
    w = writes_new();
    ck_assert_int_eq(hpo_writes_heartbeat(w, c.id, 0, 1700000099999LL, "thief"), HPO_OK);
    ck_assert_int_eq(hpo_writes_params_insert(w, c.id, &t, 2), HPO_OK);
    hpo_error_clear(&err);
    ck_assert_int_eq(commit_free(g_store, w, &err), HPO_E_EXISTS);
    ck_assert_int_eq(err.code, HPO_E_EXISTS);

    /* State, times, fewer values than before, then a heartbeat naming another worker. */
    t.state = HPO_TRIAL_COMPLETE;
    t.finished_ms = 1700000088888LL;
    double v1[] = {0.25};
    hpo_trial_set_values(&t, v1, 1);
    w = writes_new();
    ck_assert_int_eq(hpo_writes_trial_update(w, c.id, &t), HPO_OK);
    ck_assert_int_eq(hpo_writes_heartbeat(w, c.id, 0, 1700000077777LL, "other-worker"), HPO_OK);
    ck_assert_msg(commit_free(g_store, w, &err) == HPO_OK, "%s", err.message);

    hpo_trial o;
    load_trial(c.id, 0, &o);
    ck_assert_int_eq(o.state, HPO_TRIAL_COMPLETE);
    ck_assert_str_eq(o.worker, "other-worker");
    ck_assert_int_eq(o.finished_ms, 1700000088888LL);
    ck_assert_int_eq(o.heartbeat_ms, 1700000077777LL);
    ck_assert_uint_eq(o.n_values, 1);
    ck_assert(same_bits(o.values[0], 0.25));
    ck_assert_uint_eq(o.n_params, 3);
    ck_assert_str_eq(o.params[0].name, "lr");
    ck_assert_str_eq(o.params[1].name, "batch");
    ck_assert_str_eq(o.params[2].name, "units");
    ck_assert(same_bits(o.params[1].value, 64));
    ck_assert(same_bits(o.params[2].value, 128));
    ck_assert(hpo_dist_equal(&o.params[1].dist, &batch_dist));
    ck_assert(hpo_dist_equal(&o.params[2].dist, &t.params[2].dist));
    hpo_trial_clear(&o);

    /* A heartbeat without a worker keeps the worker. */
    w = writes_new();
    ck_assert_int_eq(hpo_writes_heartbeat(w, c.id, 0, 1700000123456LL, NULL), HPO_OK);
    ck_assert_msg(commit_free(g_store, w, &err) == HPO_OK, "%s", err.message);
    load_trial(c.id, 0, &o);
    ck_assert_str_eq(o.worker, "other-worker");
    ck_assert_int_eq(o.heartbeat_ms, 1700000123456LL);
    ck_assert_int_eq(o.state, HPO_TRIAL_COMPLETE);
    ck_assert_uint_eq(o.n_params, 3);
    hpo_trial_clear(&o);

    hpo_dist_clear(&batch_dist);
    hpo_trial_clear(&t);
    hpo_study_config_clear(&c);
}
END_TEST

START_TEST(test_idempotency_key)
{
    int64_t sid = new_study("idem", HPO_MINIMIZE, 1, 0);
    hpo_error err;
    hpo_trial t = {0};
    t.idempotency_key = strdup("abc");
    ck_assert_int_eq(insert_trial(g_store, sid, &t, &err), HPO_OK);
    hpo_trial again = {0};
    again.number = 1;
    again.idempotency_key = strdup("abc");
    hpo_error_clear(&err);
    ck_assert_int_eq(insert_trial(g_store, sid, &again, &err), HPO_E_EXISTS);
    ck_assert_int_eq(err.code, HPO_E_EXISTS);
    ck_assert_int_eq(sql_longf("SELECT count(*) FROM trials WHERE study_id = %lld",
                               (long long)sid), 1);
    /* The refused number is free. */
    hpo_trial next = {0};
    next.number = 1;
    ck_assert_int_eq(insert_trial(g_store, sid, &next, &err), HPO_OK);
    /* An update cannot take a key another trial of the study has. */
    next.idempotency_key = strdup("abc");
    hpo_writes *w = writes_new();
    ck_assert_int_eq(hpo_writes_trial_update(w, sid, &next), HPO_OK);
    ck_assert_int_eq(commit_free(g_store, w, &err), HPO_E_EXISTS);
    /* The same key in another study is fine. */
    int64_t other = new_study("idem2", HPO_MINIMIZE, 1, 0);
    again.number = 0;
    ck_assert_int_eq(insert_trial(g_store, other, &again, &err), HPO_OK);

    hpo_trial o;
    load_trial(sid, 0, &o);
    ck_assert_str_eq(o.idempotency_key, "abc");
    hpo_trial_clear(&o);
    load_trial(sid, 1, &o);
    ck_assert_ptr_null(o.idempotency_key);
    hpo_trial_clear(&o);
    load_trial(other, 0, &o);
    ck_assert_str_eq(o.idempotency_key, "abc");
    hpo_trial_clear(&o);
    hpo_trial_clear(&t);
    hpo_trial_clear(&again);
    hpo_trial_clear(&next);
}
END_TEST

START_TEST(test_delete_cascades)
{
    hpo_study_config c;
    make_config(&c, "doomed", HPO_MINIMIZE, 1, 0);
    space_from_json(&c.space, space_json);
    hpo_error err;
    ck_assert_int_eq(insert_study(&c, &err), HPO_OK);
    int64_t keep = new_study("kept", HPO_MINIMIZE, 1, 0);
    for (int i = 0; i < 3; i++) {
        hpo_trial t = {0};
        t.number = i;
        const hpo_param_def *lr = hpo_space_find(&c.space, "lr");
        hpo_trial_add_param(&t, "lr", &lr->dist, 0.01);
        double v = i;
        hpo_trial_set_values(&t, &v, 1);
        bool added;
        hpo_trial_add_report(&t, 1, 0.5, &added);
        ck_assert_int_eq(insert_trial(g_store, c.id, &t, &err), HPO_OK);
        hpo_trial_clear(&t);
    }
    add_trial(keep, HPO_TRIAL_COMPLETE, (double[]){1.0}, 1);
    sql_exec_direct("INSERT INTO trial_user_attrs (trial_id, key, value)"
                    " SELECT id, 'k', '1' FROM trials");

    ck_assert_int_eq(hpo_store_tx(g_store, delete_fn, "doomed", &err), HPO_OK);
    ck_assert_int_eq(hpo_store_tx(g_store, delete_fn, "doomed", &err), HPO_E_NOT_FOUND);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM studies"), 1);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM trials"), 1);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM trial_params"), 0);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM trial_values"), 1);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM trial_intermediate_values"), 0);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM trial_user_attrs"), 1);
    /* A write that still addresses a trial of the deleted study fails its batch. */
    ck_assert_int_eq(report(c.id, 0, 2, 0.25, 1700000000000LL), HPO_E_NOT_FOUND);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM trial_intermediate_values"), 0);
    hpo_study_config_clear(&c);
}
END_TEST

typedef struct {
    hpo_study_summary *s;
    size_t n;
} list_ctx;

/* Trials of three studies created in turn, so each study's ids are spread thinly over the range
 * of all (the load reads them by id), then trials of one more in a row (read as one id range,
 * skipping none of its own): every study loads exactly its own trials, params, values and
 * reports. */
START_TEST(test_load_interleaved_and_dense)
{
    enum { N = 30 };
    int64_t sid[4];
    const char *names[] = {"spread-a", "spread-b", "spread-c", "dense"};
    for (int k = 0; k < 4; k++)
        sid[k] = new_study(names[k], HPO_MINIMIZE, 1, 0);
    hpo_dist d;
    dist_from_json(&d, "{\"type\":\"float\",\"low\":0,\"high\":100}");
    for (int i = 0; i < 4 * N; i++) {
        int k = i < 3 * N ? i % 3 : 3, number = i < 3 * N ? i / 3 : i - 3 * N;
        hpo_trial t = {0};
        t.number = number;
        t.state = HPO_TRIAL_COMPLETE;
        double v = 1000.0 * k + number;
        ck_assert_int_eq(hpo_trial_add_param(&t, "x", &d, v / 100), HPO_OK);
        ck_assert_int_eq(hpo_trial_set_values(&t, &v, 1), HPO_OK);
        ck_assert_int_eq(hpo_trial_add_report(&t, 0, v, NULL), HPO_OK);
        ck_assert_int_eq(hpo_trial_add_report(&t, 1, v + 0.5, NULL), HPO_OK);
        hpo_error err;
        ck_assert_msg(insert_trial(g_store, sid[k], &t, &err) == HPO_OK, "%s", err.message);
        hpo_trial_clear(&t);
    }
    hpo_dist_clear(&d);
    for (int k = 0; k < 4; k++) {
        trials_ctx ctx = {0};
        load_trials(sid[k], &ctx);
        ck_assert_uint_eq(ctx.n, N);
        for (size_t i = 0; i < ctx.n; i++) {
            const hpo_trial *t = &ctx.trials[i];
            double v = 1000.0 * k + (double)i;
            ck_assert_int_eq(t->number, (int64_t)i);
            ck_assert_uint_eq(t->n_params, 1);
            ck_assert(t->params[0].value == v / 100);
            ck_assert_uint_eq(t->n_values, 1);
            ck_assert(t->values[0] == v);
            ck_assert_uint_eq(t->n_reports, 2);
            ck_assert(t->reports[0].value == v && t->reports[1].value == v + 0.5);
        }
        hpo_trials_free(ctx.trials, ctx.n);
    }
}
END_TEST

static hpo_rc list_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    list_ctx *ctx = vctx;
    return hpo_db_study_list(db, &ctx->s, &ctx->n, err);
}

START_TEST(test_study_list)
{
    int64_t mn = new_study("b-min", HPO_MINIMIZE, 1, 0);
    int64_t mx = new_study("a-max", HPO_MAXIMIZE, 1, 0);
    int64_t mo = new_study("c-multi", HPO_MINIMIZE, 2, 0);
    new_study("d-empty", HPO_MAXIMIZE, 1, 0);

    add_trial(mn, HPO_TRIAL_COMPLETE, (double[]){3.0}, 1);
    add_trial(mn, HPO_TRIAL_COMPLETE, (double[]){-1.5}, 1);   /* #1 best */
    add_trial(mn, HPO_TRIAL_COMPLETE, (double[]){-1.5}, 1);   /* tie: lower number wins */
    add_trial(mn, HPO_TRIAL_PRUNED, (double[]){-100.0}, 1);   /* not COMPLETE */
    add_trial(mn, HPO_TRIAL_RUNNING, NULL, 0);
    add_trial(mn, HPO_TRIAL_RUNNING, NULL, 0);
    add_trial(mn, HPO_TRIAL_FAIL, NULL, 0);
    add_trial(mn, HPO_TRIAL_COMPLETE, (double[]){NAN}, 1);    /* NaN never best */

    add_trial(mx, HPO_TRIAL_COMPLETE, (double[]){NAN}, 1);
    add_trial(mx, HPO_TRIAL_COMPLETE, (double[]){2.0}, 1);
    add_trial(mx, HPO_TRIAL_COMPLETE, (double[]){7.25}, 1);   /* #2 best */
    add_trial(mx, HPO_TRIAL_WAITING, NULL, 0);

    add_trial(mo, HPO_TRIAL_COMPLETE, (double[]){1.0, 2.0}, 2);

    list_ctx lc = {0};
    hpo_error err;
    ck_assert_msg(hpo_store_tx(g_store, list_fn, &lc, &err) == HPO_OK, "%s", err.message);
    ck_assert_uint_eq(lc.n, 4);
    ck_assert_str_eq(lc.s[0].config.name, "a-max");
    ck_assert_str_eq(lc.s[1].config.name, "b-min");
    ck_assert_str_eq(lc.s[2].config.name, "c-multi");
    ck_assert_str_eq(lc.s[3].config.name, "d-empty");

    hpo_study_summary *a = &lc.s[0], *b = &lc.s[1], *cm = &lc.s[2], *d = &lc.s[3];
    ck_assert(a->has_best);
    ck_assert_int_eq(a->best_number, 2);
    ck_assert(same_bits(a->best_value, 7.25));
    ck_assert_int_eq(a->counts[HPO_TRIAL_COMPLETE], 3);
    ck_assert_int_eq(a->counts[HPO_TRIAL_WAITING], 1);
    ck_assert_int_eq(a->counts[HPO_TRIAL_RUNNING], 0);

    ck_assert(b->has_best);
    ck_assert_int_eq(b->best_number, 1);
    ck_assert(same_bits(b->best_value, -1.5));
    ck_assert_int_eq(b->counts[HPO_TRIAL_COMPLETE], 4);
    ck_assert_int_eq(b->counts[HPO_TRIAL_PRUNED], 1);
    ck_assert_int_eq(b->counts[HPO_TRIAL_RUNNING], 2);
    ck_assert_int_eq(b->counts[HPO_TRIAL_FAIL], 1);
    ck_assert_int_eq(b->counts[HPO_TRIAL_WAITING], 0);

    ck_assert(!cm->has_best);
    ck_assert_uint_eq(cm->config.n_directions, 2);
    ck_assert_int_eq(cm->counts[HPO_TRIAL_COMPLETE], 1);

    ck_assert(!d->has_best);
    for (int k = 0; k < HPO_TRIAL_STATE_COUNT; k++)
        ck_assert_int_eq(d->counts[k], 0);
    hpo_study_summaries_free(lc.s, lc.n);
}
END_TEST

/* ---- the transaction runner ---- */

typedef struct {
    int calls;
    hpo_rc fail_with;
} tx_ctx;

static hpo_rc rollback_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    tx_ctx *ctx = vctx;
    ctx->calls++;
    hpo_study_config c;
    make_config(&c, "rolled-back", HPO_MINIMIZE, 1, 0);
    hpo_rc rc = hpo_db_study_insert(db, &c, err);
    hpo_study_config_clear(&c);
    if (rc != HPO_OK)
        return rc;
    return hpo_error_set(err, ctx->fail_with, NULL, "fn refuses");
}

START_TEST(test_tx_rollback)
{
    tx_ctx ctx = {0, HPO_E_CONFLICT};
    hpo_error err;
    ck_assert_int_eq(hpo_store_tx(g_store, rollback_fn, &ctx, &err), HPO_E_CONFLICT);
    ck_assert_int_eq(ctx.calls, 1);
    ck_assert_str_eq(err.message, "fn refuses");
    ck_assert_int_eq(sql_long("SELECT count(*) FROM studies"), 0);
}
END_TEST

static hpo_rc retry_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    tx_ctx *ctx = vctx;
    ctx->calls++;
    hpo_study_config c;
    make_config(&c, "retried", HPO_MINIMIZE, 1, 0);
    hpo_rc rc = hpo_db_study_insert(db, &c, err);
    hpo_study_config_clear(&c);
    if (rc == HPO_OK && ctx->calls <= ctx->fail_with)
        rc = hpo_db_exec(db,
                         ctx->calls % 2
                             ? "DO $$ BEGIN RAISE EXCEPTION 'provoked' USING ERRCODE = '40001'; END $$"
                             : "DO $$ BEGIN RAISE EXCEPTION 'provoked' USING ERRCODE = '40P01'; END $$",
                         0, NULL, NULL, err);
    return rc;
}

START_TEST(test_tx_retries_serialization_failure)
{
    tx_ctx ctx = {0, 2}; /* a serialization failure, a deadlock, then it commits */
    hpo_error err;
    ck_assert_msg(hpo_store_tx(g_store, retry_fn, &ctx, &err) == HPO_OK, "%s", err.message);
    ck_assert_int_eq(ctx.calls, 3);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM studies WHERE name = 'retried'"), 1);

    /* Failing forever gives up after 8 tries, with nothing written. */
    sql_exec_direct("DELETE FROM studies");
    tx_ctx forever = {0, 1000};
    ck_assert_int_eq(hpo_store_tx(g_store, retry_fn, &forever, &err), HPO_E_UNAVAILABLE);
    ck_assert_int_eq(forever.calls, 8);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM studies"), 0);
}
END_TEST

static hpo_rc ignore_error_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    (void)vctx;
    hpo_db_exec(db, "INSERT INTO studies (name) VALUES ('x')", 0, NULL, NULL, err);
    hpo_error_clear(err);
    return HPO_OK; /* pretends all went well */
}

START_TEST(test_tx_failed_statement_not_committed)
{
    hpo_error err;
    ck_assert_int_eq(hpo_store_tx(g_store, ignore_error_fn, NULL, &err), HPO_E_INTERNAL);
    ck_assert_int_eq(err.code, HPO_E_INTERNAL);
    /* The connection is usable afterwards. */
    ck_assert_int_eq(hpo_store_tx(g_store, sql_fn, "SELECT 1", &err), HPO_OK);
}
END_TEST

typedef struct {
    char pid[32];
} pid_ctx;

static hpo_rc pid_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    pid_ctx *ctx = vctx;
    struct pg_result *r;
    hpo_rc rc = hpo_db_exec(db, "SELECT pg_backend_pid()", 0, NULL, &r, err);
    if (rc == HPO_OK) {
        snprintf(ctx->pid, sizeof ctx->pid, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    return rc;
}

static void terminate_backend(const char *pid)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%s, 5000)", pid);
    sql_exec_direct(sql);
}

START_TEST(test_reconnect_after_terminate)
{
    hpo_store_close(g_store);
    hpo_error err;
    ck_assert_int_eq(hpo_store_open(g_conninfo, 1, &g_store, &err), HPO_OK);
    pid_ctx before = {{0}};
    ck_assert_int_eq(hpo_store_tx(g_store, pid_fn, &before, &err), HPO_OK);
    terminate_backend(before.pid);

    /* Lost while idle: detected at BEGIN, reset, and the transaction runs. */
    pid_ctx after = {{0}};
    ck_assert_msg(hpo_store_tx(g_store, pid_fn, &after, &err) == HPO_OK, "%s", err.message);
    ck_assert_str_ne(before.pid, after.pid);
    int64_t sid = new_study("after-reconnect", HPO_MINIMIZE, 1, 0);
    ck_assert_int_gt(sid, 0);
}
END_TEST

static hpo_rc terminate_self_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    (void)vctx;
    /* The backend kills itself mid-transaction: the outcome must be reported as unknown. */
    return hpo_db_exec(db, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL, NULL, err);
}

START_TEST(test_connection_lost_mid_transaction)
{
    hpo_error err;
    ck_assert_int_eq(hpo_store_tx(g_store, terminate_self_fn, NULL, &err), HPO_E_UNAVAILABLE);
    ck_assert_int_eq(err.code, HPO_E_UNAVAILABLE);
    /* Every pooled connection recovers. */
    for (int i = 0; i < 8; i++)
        ck_assert_msg(hpo_store_tx(g_store, sql_fn, "SELECT 1", &err) == HPO_OK, "%s",
                      err.message);
}
END_TEST

/* ---- hpo_store_commit: a batch is one transaction ---- */

/* Reopens g_store with a pool of one connection, so that every call uses the same one. */
static void reopen_store_single(void)
{
    hpo_store_close(g_store);
    hpo_error err;
    ck_assert_int_eq(hpo_store_open(g_conninfo, 1, &g_store, &err), HPO_OK);
}

START_TEST(test_commit_insert_then_change_same_batch)
{
    hpo_study_config c;
    make_config(&c, "same-batch", HPO_MINIMIZE, 1, 0);
    space_from_json(&c.space, space_json);
    hpo_error err;
    ck_assert_int_eq(insert_study(&c, &err), HPO_OK);

    hpo_trial t = {0};
    t.state = HPO_TRIAL_RUNNING;
    t.worker = strdup("w");
    t.created_ms = 1700000000100LL;
    t.started_ms = 1700000000200LL;
    hpo_trial_add_param(&t, "lr", &hpo_space_find(&c.space, "lr")->dist, 0.01);
    hpo_writes *w = writes_new();
    ck_assert_int_eq(hpo_writes_trial_insert(w, c.id, &t), HPO_OK);
    /* Later writes of the same batch find the trial its first write inserted. */
    hpo_trial_add_param(&t, "units", &hpo_space_find(&c.space, "units")->dist, 256);
    hpo_trial_add_param(&t, "opt", &hpo_space_find(&c.space, "opt")->dist, 1);
    ck_assert_int_eq(hpo_writes_params_insert(w, c.id, &t, 1), HPO_OK);
    hpo_report reps[] = {{1, 0.5}, {2, 0.25}};
    ck_assert_int_eq(hpo_writes_reports_insert(w, c.id, 0, reps, 2, 1700000000500LL), HPO_OK);
    t.state = HPO_TRIAL_COMPLETE;
    t.finished_ms = 1700000000700LL;
    t.heartbeat_ms = 1700000000600LL;
    hpo_trial_set_values(&t, (double[]){0.125}, 1);
    ck_assert_int_eq(hpo_writes_trial_update(w, c.id, &t), HPO_OK);
    ck_assert_uint_eq(hpo_writes_count(w), 4);
    ck_assert_msg(commit_free(g_store, w, &err) == HPO_OK, "%s", err.message);

    trials_ctx tc = {0};
    load_trials(c.id, &tc);
    ck_assert_uint_eq(tc.n, 1);
    hpo_trial *o = &tc.trials[0];
    ck_assert_int_eq(o->number, 0);
    ck_assert_int_eq(o->state, HPO_TRIAL_COMPLETE);
    ck_assert_str_eq(o->worker, "w");
    ck_assert_int_eq(o->created_ms, 1700000000100LL);
    ck_assert_int_eq(o->started_ms, 1700000000200LL);
    ck_assert_int_eq(o->finished_ms, 1700000000700LL);
    ck_assert_int_eq(o->heartbeat_ms, 1700000000600LL); /* the update came after the reports */
    ck_assert_uint_eq(o->n_params, 3);
    const char *names[] = {"lr", "units", "opt"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(o->params[i].name, names[i]);
        ck_assert(same_bits(o->params[i].value, t.params[i].value));
        ck_assert(hpo_dist_equal(&o->params[i].dist, &t.params[i].dist));
    }
    ck_assert_uint_eq(o->n_reports, 2);
    ck_assert_int_eq(o->reports[0].step, 1);
    ck_assert(same_bits(o->reports[0].value, 0.5));
    ck_assert_int_eq(o->reports[1].step, 2);
    ck_assert(same_bits(o->reports[1].value, 0.25));
    ck_assert_uint_eq(o->n_values, 1);
    ck_assert(same_bits(o->values[0], 0.125));
    hpo_trials_free(tc.trials, tc.n);
    hpo_trial_clear(&t);
    hpo_study_config_clear(&c);
}
END_TEST

/* Trial 0 as test_commit_failed_batch_commits_nothing stores it. */
#define T0_WORKER "w0"
#define T0_HEARTBEAT 1700000000000LL

/* Good writes a failing batch starts with: a new trial 1, a report, a heartbeat and an update of
 * trial 0. */
static hpo_writes *writes_then_fail(int64_t sid)
{
    hpo_writes *w = writes_new();
    hpo_trial one = {0};
    one.number = 1;
    ck_assert_int_eq(hpo_writes_trial_insert(w, sid, &one), HPO_OK);
    hpo_report r = {2, 0.75};
    ck_assert_int_eq(hpo_writes_reports_insert(w, sid, 0, &r, 1, T0_HEARTBEAT + 1), HPO_OK);
    ck_assert_int_eq(hpo_writes_heartbeat(w, sid, 0, T0_HEARTBEAT + 2, "w9"), HPO_OK);
    hpo_trial zero = {0};
    zero.state = HPO_TRIAL_COMPLETE;
    zero.finished_ms = T0_HEARTBEAT + 3;
    zero.heartbeat_ms = T0_HEARTBEAT + 2;
    zero.worker = strdup("w9");
    ck_assert_int_eq(hpo_writes_trial_update(w, sid, &zero), HPO_OK);
    hpo_trial_clear(&zero);
    return w;
}

/* Trial 0 is as it was stored and trial 1 is absent. */
static void assert_untouched(int64_t sid)
{
    trials_ctx tc = {0};
    load_trials(sid, &tc);
    ck_assert_uint_eq(tc.n, 1);
    hpo_trial *o = &tc.trials[0];
    ck_assert_int_eq(o->number, 0);
    ck_assert_int_eq(o->state, HPO_TRIAL_RUNNING);
    ck_assert_str_eq(o->worker, T0_WORKER);
    ck_assert_int_eq(o->heartbeat_ms, T0_HEARTBEAT);
    ck_assert_int_eq(o->finished_ms, 0);
    ck_assert_uint_eq(o->n_reports, 1);
    ck_assert_int_eq(o->reports[0].step, 1);
    hpo_trials_free(tc.trials, tc.n);
}

START_TEST(test_commit_failed_batch_commits_nothing)
{
    int64_t sid = new_study("all-or-nothing", HPO_MINIMIZE, 1, 0);
    hpo_error err;
    hpo_trial t0 = {0};
    t0.state = HPO_TRIAL_RUNNING;
    t0.worker = strdup(T0_WORKER);
    t0.heartbeat_ms = T0_HEARTBEAT;
    bool added;
    hpo_trial_add_report(&t0, 1, 0.5, &added);
    ck_assert_int_eq(insert_trial(g_store, sid, &t0, &err), HPO_OK);

    /* Last write: an insert of a number that exists. */
    hpo_writes *w = writes_then_fail(sid);
    ck_assert_int_eq(hpo_writes_trial_insert(w, sid, &t0), HPO_OK);
    hpo_error_clear(&err);
    ck_assert_int_eq(commit_free(g_store, w, &err), HPO_E_EXISTS);
    ck_assert_int_eq(err.code, HPO_E_EXISTS);
    assert_untouched(sid);

    /* Last write: one of each kind to a number that does not exist. */
    hpo_dist d;
    dist_from_json(&d, "{\"type\":\"float\",\"low\":0,\"high\":1}");
    for (int kind = 0; kind < 4; kind++) {
        w = writes_then_fail(sid);
        hpo_trial missing = {0};
        missing.number = 77;
        hpo_trial_add_param(&missing, "x", &d, 0.5);
        hpo_report r = {1, 1.0};
        hpo_rc rc = kind == 0   ? hpo_writes_heartbeat(w, sid, 77, T0_HEARTBEAT + 9, "w")
                    : kind == 1 ? hpo_writes_trial_update(w, sid, &missing)
                    : kind == 2 ? hpo_writes_reports_insert(w, sid, 77, &r, 1, T0_HEARTBEAT)
                                : hpo_writes_params_insert(w, sid, &missing, 0);
        ck_assert_int_eq(rc, HPO_OK);
        ck_assert_uint_eq(hpo_writes_count(w), 5);
        hpo_error_clear(&err);
        ck_assert_msg(commit_free(g_store, w, &err) == HPO_E_NOT_FOUND, "kind %d: %s", kind,
                      err.message);
        ck_assert_int_eq(err.code, HPO_E_NOT_FOUND);
        assert_untouched(sid);
        hpo_trial_clear(&missing);
    }
    hpo_dist_clear(&d);

    /* A failing first write: the writes after it are not run either. */
    w = writes_new();
    ck_assert_int_eq(hpo_writes_heartbeat(w, sid, 77, T0_HEARTBEAT + 9, "w"), HPO_OK);
    hpo_trial one = {0};
    one.number = 1;
    ck_assert_int_eq(hpo_writes_trial_insert(w, sid, &one), HPO_OK);
    ck_assert_int_eq(hpo_writes_heartbeat(w, sid, 0, T0_HEARTBEAT + 2, "w9"), HPO_OK);
    ck_assert_int_eq(commit_free(g_store, w, &err), HPO_E_NOT_FOUND);
    assert_untouched(sid);

    /* The same good writes alone commit. */
    ck_assert_msg(commit_free(g_store, writes_then_fail(sid), &err) == HPO_OK, "%s", err.message);
    trials_ctx tc = {0};
    load_trials(sid, &tc);
    ck_assert_uint_eq(tc.n, 2);
    ck_assert_int_eq(tc.trials[0].state, HPO_TRIAL_COMPLETE);
    ck_assert_str_eq(tc.trials[0].worker, "w9");
    ck_assert_uint_eq(tc.trials[0].n_reports, 2);
    ck_assert_int_eq(tc.trials[1].number, 1);
    hpo_trials_free(tc.trials, tc.n);
    hpo_trial_clear(&t0);
}
END_TEST

START_TEST(test_commit_pool_usable_after_failure)
{
    reopen_store_single();
    int64_t sid = new_study("after-failure", HPO_MINIMIZE, 1, 0);
    hpo_error err;
    pid_ctx before = {{0}};
    ck_assert_int_eq(hpo_store_tx(g_store, pid_fn, &before, &err), HPO_OK);
    for (int64_t i = 0; i < 3; i++) {
        /* a write to a missing trial, then an insert of a number taken */
        hpo_writes *w = writes_new();
        ck_assert_int_eq(hpo_writes_heartbeat(w, sid, 100 + i, 1700000000000LL, NULL), HPO_OK);
        ck_assert_int_eq(commit_free(g_store, w, &err), HPO_E_NOT_FOUND);
        if (i > 0) {
            hpo_trial dup = {0};
            dup.number = i - 1;
            ck_assert_int_eq(insert_trial(g_store, sid, &dup, &err), HPO_E_EXISTS);
        }
        /* the one connection takes the next batch, and a transaction */
        hpo_trial t = {0};
        t.number = i;
        ck_assert_msg(insert_trial(g_store, sid, &t, &err) == HPO_OK, "%s", err.message);
        ck_assert_msg(hpo_store_tx(g_store, sql_fn, "SELECT 1", &err) == HPO_OK, "%s",
                      err.message);
    }
    ck_assert_int_eq(sql_longf("SELECT count(*) FROM trials WHERE study_id = %lld",
                               (long long)sid), 3);
    /* A refused batch does not cost the connection. */
    pid_ctx after = {{0}};
    ck_assert_int_eq(hpo_store_tx(g_store, pid_fn, &after, &err), HPO_OK);
    ck_assert_str_eq(before.pid, after.pid);
}
END_TEST

START_TEST(test_commit_empty)
{
    hpo_error err;
    hpo_error_clear(&err);
    ck_assert_int_eq(hpo_store_commit(g_store, NULL, &err), HPO_OK);
    hpo_writes *w = writes_new();
    ck_assert_uint_eq(hpo_writes_count(w), 0);
    ck_assert_int_eq(hpo_store_commit(g_store, w, &err), HPO_OK);
    /* Params from past the last one add no write. */
    hpo_trial t = {0};
    ck_assert_int_eq(hpo_writes_params_insert(w, 1, &t, 0), HPO_OK);
    ck_assert_uint_eq(hpo_writes_count(w), 0);
    ck_assert_int_eq(commit_free(g_store, w, &err), HPO_OK);
    ck_assert_int_eq(err.code, HPO_OK);
    ck_assert_uint_eq(hpo_writes_count(NULL), 0);
    hpo_writes_free(NULL);
}
END_TEST

/* Transactions committed in the test's database so far, as the statistics have them. */
START_TEST(test_commit_one_transaction)
{
    enum { N = 250 };
    reopen_store_single();
    int64_t sid = new_study("pipelined", HPO_MINIMIZE, 1, 0);
    hpo_dist d;
    dist_from_json(&d, "{\"type\":\"float\",\"low\":0,\"high\":1}");
    hpo_writes *w = writes_new();
    for (int i = 0; i < N; i++) {
        hpo_trial t = {0};
        t.number = i;
        t.state = HPO_TRIAL_RUNNING;
        hpo_trial_add_param(&t, "x", &d, i / (double)N);
        ck_assert_int_eq(hpo_writes_trial_insert(w, sid, &t), HPO_OK);
        hpo_trial_clear(&t);
    }
    for (int i = 0; i < N; i++) {
        hpo_report r = {1, i};
        ck_assert_int_eq(hpo_writes_reports_insert(w, sid, i, &r, 1, 1700000000000LL + i),
                         HPO_OK);
        ck_assert_int_eq(hpo_writes_heartbeat(w, sid, i, 1700000001000LL + i, "w"), HPO_OK);
        hpo_trial t = {0};
        t.number = i;
        t.state = HPO_TRIAL_COMPLETE;
        t.worker = strdup("w");
        t.heartbeat_ms = 1700000001000LL + i;
        t.finished_ms = 1700000002000LL + i;
        hpo_trial_set_values(&t, (double[]){2.0 * i}, 1);
        ck_assert_int_eq(hpo_writes_trial_update(w, sid, &t), HPO_OK);
        hpo_trial_clear(&t);
    }
    ck_assert_uint_eq(hpo_writes_count(w), 4 * N);

    hpo_error err;
    ck_assert_msg(commit_free(g_store, w, &err) == HPO_OK, "%s", err.message);
    /* Every row it wrote has the same inserting transaction (pg_stat_database's commit count
     * would say it too, but autovacuum's and other sessions' transactions make it unreliable). */
    ck_assert_int_eq(sql_long("SELECT count(DISTINCT x) FROM ("
                              " SELECT xmin::text AS x FROM trials"
                              " UNION ALL SELECT xmin::text FROM trial_params"
                              " UNION ALL SELECT xmin::text FROM trial_values"
                              " UNION ALL SELECT xmin::text FROM trial_intermediate_values) u"),
                     1);

    trials_ctx tc = {0};
    load_trials(sid, &tc);
    ck_assert_uint_eq(tc.n, N);
    for (int i = 0; i < N; i++) {
        hpo_trial *o = &tc.trials[i];
        ck_assert_int_eq(o->number, i);
        ck_assert_int_eq(o->state, HPO_TRIAL_COMPLETE);
        ck_assert_int_eq(o->heartbeat_ms, 1700000001000LL + i);
        ck_assert_int_eq(o->finished_ms, 1700000002000LL + i);
        ck_assert_uint_eq(o->n_params, 1);
        ck_assert(same_bits(o->params[0].value, i / (double)N));
        ck_assert_uint_eq(o->n_reports, 1);
        ck_assert(same_bits(o->reports[0].value, i));
        ck_assert_uint_eq(o->n_values, 1);
        ck_assert(same_bits(o->values[0], 2.0 * i));
    }
    hpo_trials_free(tc.trials, tc.n);
    hpo_dist_clear(&d);
}
END_TEST

START_TEST(test_commit_reconnect_after_terminate)
{
    reopen_store_single();
    int64_t sid = new_study("commit-reconnect", HPO_MINIMIZE, 1, 0);
    hpo_error err;
    hpo_trial t = {0};
    ck_assert_msg(insert_trial(g_store, sid, &t, &err) == HPO_OK, "%s", err.message);
    pid_ctx before = {{0}};
    ck_assert_int_eq(hpo_store_tx(g_store, pid_fn, &before, &err), HPO_OK);
    terminate_backend(before.pid);

    /* Lost while idle: nothing of the batch reached PostgreSQL, so it runs on a new session. */
    t.number = 1;
    hpo_writes *w = writes_new();
    ck_assert_int_eq(hpo_writes_trial_insert(w, sid, &t), HPO_OK);
    ck_assert_int_eq(hpo_writes_heartbeat(w, sid, 0, 1700000000000LL, "w"), HPO_OK);
    ck_assert_msg(commit_free(g_store, w, &err) == HPO_OK, "%s", err.message);
    pid_ctx after = {{0}};
    ck_assert_int_eq(hpo_store_tx(g_store, pid_fn, &after, &err), HPO_OK);
    ck_assert_str_ne(before.pid, after.pid);
    ck_assert_int_eq(sql_longf("SELECT count(*) FROM trials WHERE study_id = %lld",
                               (long long)sid), 2);
    ck_assert_int_eq(sql_longf("SELECT count(*) FROM trials WHERE study_id = %lld"
                               " AND worker = 'w'", (long long)sid), 1);
    /* and again, with the next one */
    t.number = 2;
    ck_assert_msg(insert_trial(g_store, sid, &t, &err) == HPO_OK, "%s", err.message);
}
END_TEST

typedef struct {
    int64_t study_id;
    hpo_rc rc;
    hpo_error err;
} blocked_ctx;

static void *blocked_commit_thread(void *arg)
{
    blocked_ctx *ctx = arg;
    hpo_writes *w = hpo_writes_new();
    ctx->rc = w ? hpo_writes_heartbeat(w, ctx->study_id, 0, 1700000044444LL, "late") : HPO_E_NOMEM;
    if (ctx->rc == HPO_OK)
        ctx->rc = hpo_store_commit(g_store, w, &ctx->err);
    hpo_writes_free(w);
    return NULL;
}

/* Polls (up to 10 s) until sql, run on a connection of its own, answers want. */
static void wait_for(const char *sql, long want)
{
    for (int i = 0; i < 500 && sql_long(sql) != want; i++)
        usleep(20 * 1000);
    ck_assert_int_eq(sql_long(sql), want);
}

START_TEST(test_commit_connection_lost_mid_commit)
{
    reopen_store_single();
    int64_t sid = new_study("commit-lost", HPO_MINIMIZE, 1, 0);
    hpo_error err;
    hpo_trial t = {0};
    ck_assert_msg(insert_trial(g_store, sid, &t, &err) == HPO_OK, "%s", err.message);
    pid_ctx first = {{0}};
    ck_assert_int_eq(hpo_store_tx(g_store, pid_fn, &first, &err), HPO_OK);

    /* Another session holds trial 0's row: the batch's heartbeat waits for it. */
    PGconn *holder = PQconnectdb(g_conninfo);
    ck_assert_int_eq(PQstatus(holder), CONNECTION_OK);
    PQclear(PQexec(holder, "BEGIN"));
    PGresult *r = PQexec(holder, "SELECT 1 FROM trials WHERE number = 0 FOR UPDATE");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    blocked_ctx bc = {.study_id = sid};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, blocked_commit_thread, &bc), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
             " AND wait_event_type = 'Lock'", first.pid);
    wait_for(sql, 1);

    /* Terminated mid-statement, before the sync: nothing committed, so the batch runs again on
     * a new session, which waits for the row in turn. */
    terminate_backend(first.pid);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid <> %s"
             " AND datname = current_database() AND wait_event_type = 'Lock'", first.pid);
    wait_for(sql, 1);
    PQclear(PQexec(holder, "ROLLBACK"));
    PQfinish(holder);
    pthread_join(th, NULL);
    ck_assert_msg(bc.rc == HPO_OK, "%d: %s", bc.rc, bc.err.message);

    hpo_trial o;
    load_trial(sid, 0, &o);
    ck_assert_str_eq(o.worker, "late");
    ck_assert_int_eq(o.heartbeat_ms, 1700000044444LL);
    hpo_trial_clear(&o);
    pid_ctx after = {{0}};
    ck_assert_int_eq(hpo_store_tx(g_store, pid_fn, &after, &err), HPO_OK);
    ck_assert_str_ne(first.pid, after.pid);
}
END_TEST

/* ---- artifacts: one statement records a file's row within the quotas ---- */

static hpo_rc artifact_put_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    return hpo_db_artifact_put(db, vctx, err);
}

/* Records artifact `name` of size bytes for trial `number` under the quotas max (trial, study,
 * all); returns the statement's findings. */
static hpo_artifact_put put_artifact(int64_t study_id, int64_t number, const char *name,
                                     int64_t size, int64_t max_trial, int64_t max_study,
                                     int64_t max_total, hpo_rc *ret_rc)
{
    hpo_artifact_put a = {.study_id = study_id, .number = number, .name = name,
                          .sha256 = "00", .size = size, .max = {max_trial, max_study, max_total}};
    hpo_error err;
    *ret_rc = hpo_store_tx(g_store, artifact_put_fn, &a, &err);
    return a;
}

static long study_artifact_bytes(int64_t study_id)
{
    return sql_longf("SELECT artifact_bytes FROM studies WHERE id = %lld", (long long)study_id);
}

START_TEST(test_artifact_put_quotas)
{
    int64_t s = new_study("art-s", HPO_MINIMIZE, 1, 0), t = new_study("art-t", HPO_MINIMIZE, 1, 0);
    add_trial(s, HPO_TRIAL_RUNNING, NULL, 0);
    add_trial(s, HPO_TRIAL_RUNNING, NULL, 0);
    add_trial(t, HPO_TRIAL_RUNNING, NULL, 0);
    hpo_rc rc;
    hpo_artifact_put a = put_artifact(s, 0, "model", 60, 100, 150, 200, &rc);
    ck_assert_int_eq(rc, HPO_OK);
    ck_assert(a.stored && !a.replaced);
    ck_assert_int_eq(a.used[0], 0);
    ck_assert_int_eq(study_artifact_bytes(s), 60);
    /* a replacement counts its new size only, and says it replaced */
    a = put_artifact(s, 0, "model", 90, 100, 150, 200, &rc);
    ck_assert(rc == HPO_OK && a.stored && a.replaced);
    ck_assert_int_eq(study_artifact_bytes(s), 90);
    /* over the trial's quota: nothing written, the usage found is told */
    a = put_artifact(s, 0, "log", 11, 100, 150, 200, &rc);
    ck_assert(rc == HPO_OK && !a.stored);
    ck_assert_int_eq(a.used[0], 90);
    ck_assert_int_eq(a.used[1], 90);
    ck_assert_int_eq(a.used[2], 90);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM artifacts"), 1);
    ck_assert_int_eq(study_artifact_bytes(s), 90);
    /* the study's and the total quota */
    ck_assert(put_artifact(s, 1, "model", 60, 100, 150, 200, &rc).stored);
    a = put_artifact(s, 1, "log", 1, 100, 150, 200, &rc);
    ck_assert(rc == HPO_OK && !a.stored && a.used[1] == 150);
    ck_assert(put_artifact(t, 0, "model", 50, 100, 150, 200, &rc).stored);
    a = put_artifact(t, 0, "log", 1, 100, 150, 200, &rc);
    ck_assert(rc == HPO_OK && !a.stored && a.used[2] == 200 && a.used[1] == 50);
    /* a trial without a row: not found, nothing counted */
    put_artifact(s, 7, "model", 1, 100, 150, 200, &rc);
    ck_assert_int_eq(rc, HPO_E_NOT_FOUND);
    ck_assert_int_eq(study_artifact_bytes(s), 150);
    ck_assert_int_eq(study_artifact_bytes(t), 50);

    /* v8 counts the bytes of artifacts stored before it */
    sql_exec_direct("ALTER TABLE studies DROP COLUMN artifact_bytes");
    sql_exec_direct("DELETE FROM hpo_schema_version WHERE version = 8");
    hpo_error err;
    ck_assert_msg(hpo_store_migrate(g_store, NULL, &err) == HPO_OK, "%s", err.message);
    ck_assert_int_eq(study_artifact_bytes(s), 150);
    ck_assert_int_eq(study_artifact_bytes(t), 50);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("db");

    TCase *mig = tcase_create("migrations");
    tcase_add_checked_fixture(mig, setup_db, teardown_db);
    tcase_set_timeout(mig, 60);
    tcase_add_test(mig, test_migrate_twice);
    tcase_add_test(mig, test_migrate_newer_schema_refused);
    tcase_add_test(mig, test_migrate_concurrent);
    tcase_add_test(mig, test_open_unreachable);
    suite_add_tcase(s, mig);

    TCase *data = tcase_create("data");
    tcase_add_checked_fixture(data, setup_store, teardown_store);
    tcase_set_timeout(data, 60);
    tcase_add_test(data, test_study_roundtrip);
    tcase_add_test(data, test_trial_number_race);
    tcase_add_test(data, test_trial_roundtrip);
    tcase_add_test(data, test_trial_update_param_heartbeat);
    tcase_add_test(data, test_idempotency_key);
    tcase_add_test(data, test_delete_cascades);
    tcase_add_test(data, test_study_list);
    tcase_add_test(data, test_load_interleaved_and_dense);
    tcase_add_test(data, test_artifact_put_quotas);
    suite_add_tcase(s, data);

    TCase *tx = tcase_create("tx");
    tcase_add_checked_fixture(tx, setup_store, teardown_store);
    tcase_set_timeout(tx, 60);
    tcase_add_test(tx, test_tx_rollback);
    tcase_add_test(tx, test_tx_retries_serialization_failure);
    tcase_add_test(tx, test_tx_failed_statement_not_committed);
    tcase_add_test(tx, test_reconnect_after_terminate);
    tcase_add_test(tx, test_connection_lost_mid_transaction);
    suite_add_tcase(s, tx);

    TCase *commit = tcase_create("commit");
    tcase_add_checked_fixture(commit, setup_store, teardown_store);
    tcase_set_timeout(commit, 60);
    tcase_add_test(commit, test_commit_insert_then_change_same_batch);
    tcase_add_test(commit, test_commit_failed_batch_commits_nothing);
    tcase_add_test(commit, test_commit_pool_usable_after_failure);
    tcase_add_test(commit, test_commit_empty);
    tcase_add_test(commit, test_commit_one_transaction);
    tcase_add_test(commit, test_commit_reconnect_after_terminate);
    tcase_add_test(commit, test_commit_connection_lost_mid_commit);
    suite_add_tcase(s, commit);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
