/* test_cmaes_sampler: the CMA-ES sampler's replay against the core told directly (trials built by
 * hand: generations, states, values, pruned ones, maximize) and against Optuna 3.1's
 * CmaEsSampler (cmaes_sampler_reference.py: its trials' generations and pickled optimizers), the
 * replay cache against a fresh replay, an ipop restart where should_stop says, and what a new
 * trial gets. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_cmaes_sampler.h"

/* The space: lr (log float), n (int), x (float), q (stepped float) are the optimizer's 4
 * dimensions; opt (categorical) and one (int 2..2) are drawn at random. */
#define N_DIMS 4
static hpo_space space;

static void space_build(void)
{
    hpo_space_clear(&space);
    hpo_dist lr = {.type = HPO_DIST_FLOAT, .low = 1e-4, .high = 1, .log = true};
    hpo_dist n = {.type = HPO_DIST_INT, .low = 1, .high = 10, .step = 1};
    hpo_dist x = {.type = HPO_DIST_FLOAT, .low = -3, .high = 3};
    hpo_dist q = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1, .step = 0.25};
    hpo_choice ch[3] = {{.kind = HPO_CHOICE_STRING, .str = "a"},
                        {.kind = HPO_CHOICE_STRING, .str = "b"},
                        {.kind = HPO_CHOICE_STRING, .str = "c"}};
    hpo_dist opt = {.type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = ch};
    hpo_dist one = {.type = HPO_DIST_INT, .low = 2, .high = 2, .step = 1};
    ck_assert_int_eq(hpo_space_add(&space, "lr", &lr), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&space, "opt", &opt), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&space, "n", &n), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&space, "x", &x), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&space, "one", &one), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&space, "q", &q), HPO_OK);
}

static const char *const DIM_NAMES[N_DIMS] = {"lr", "n", "x", "q"};

/* The transformed space as Optuna's _SearchSpaceTransform builds it, by hand. */
static const double LOWER[N_DIMS] = {-9.210340371976182, 0.5, -3, -0.125};
static const double UPPER[N_DIMS] = {0, 10.5, 3, 1.125};

static void to_x(const double p[N_DIMS], double *x)
{
    x[0] = log(p[0]);
    x[1] = p[1];
    x[2] = p[2];
    x[3] = p[3];
}

/* Params of trial k, on their grids and in range. */
static void params_of(int k, double p[N_DIMS])
{
    hpo_rng r;
    hpo_rng_seed(&r, 1000 + (uint64_t)k);
    p[0] = exp(log(1e-4) * hpo_rng_uniform(&r));
    p[1] = 1 + (double)hpo_rng_below(&r, 10);
    p[2] = -3 + 6 * hpo_rng_uniform(&r);
    p[3] = 0.25 * (double)hpo_rng_below(&r, 5);
}

static void make_trial(hpo_trial *t, int64_t number, int64_t gen, hpo_trial_state st,
                       double value, const double p[N_DIMS])
{
    memset(t, 0, sizeof *t);
    t->number = number;
    t->state = st;
    t->has_generation = gen >= 0;
    t->generation = gen >= 0 ? gen : 0;
    for (size_t i = 0; i < space.n; i++) {
        const hpo_param_def *d = &space.items[i];
        double v = d->dist.type == HPO_DIST_CATEGORICAL ? 1 : d->dist.low;
        for (int k = 0; k < N_DIMS; k++)
            if (strcmp(d->name, DIM_NAMES[k]) == 0)
                v = p[k];
        ck_assert_int_eq(hpo_trial_add_param(t, d->name, &d->dist, v), HPO_OK);
    }
    if (st == HPO_TRIAL_COMPLETE)
        ck_assert_int_eq(hpo_trial_set_values(t, &value, 1), HPO_OK);
}

static double objective(const double p[N_DIMS])
{
    return pow(log10(p[0]) + 2, 2) + pow(p[1] - 5, 2) + p[2] * p[2] + p[3];
}

static hpo_cmaes *direct_new(size_t popsize, const double *mean)
{
    double m[N_DIMS], sigma = INFINITY;
    for (int i = 0; i < N_DIMS; i++) {
        m[i] = mean ? mean[i] : LOWER[i] + (UPPER[i] - LOWER[i]) / 2;
        sigma = fmin(sigma, (UPPER[i] - LOWER[i]) / 6);
    }
    hpo_cmaes_config c = {.n = N_DIMS, .mean = m, .sigma = sigma, .lower = LOWER,
                          .upper = UPPER, .popsize = popsize, .n_max_resampling = 10 * N_DIMS};
    hpo_cmaes *s = NULL;
    hpo_error err;
    ck_assert_int_eq(hpo_cmaes_new(&c, &s, &err), HPO_OK);
    return s;
}

/* Tells s the trials numbered in `which` (popsize of them), their values negated when maximizing
 * (value_of: COMPLETE's value, PRUNED's last report). */
static void direct_tell(hpo_cmaes *s, const hpo_trial *trials, const int *which, bool maximize)
{
    double x[64 * N_DIMS], y[64];
    for (size_t k = 0; k < s->popsize; k++) {
        const hpo_trial *t = &trials[which[k]];
        double p[N_DIMS];
        for (int i = 0; i < N_DIMS; i++)
            p[i] = hpo_trial_param(t, DIM_NAMES[i])->value;
        to_x(p, x + k * N_DIMS);
        double v = t->state == HPO_TRIAL_COMPLETE ? t->values[0]
                                                   : hpo_trial_last_report(t)->value;
        y[k] = maximize ? -v : v;
    }
    hpo_error err;
    ck_assert_int_eq(hpo_cmaes_tell(s, x, y, &err), HPO_OK);
}

static void same_state(const hpo_cmaes *a, const hpo_cmaes *b)
{
    size_t n = a->n;
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_uint_eq(a->popsize, b->popsize);
    ck_assert_uint_eq(a->generation, b->generation);
    ck_assert(a->sigma == b->sigma);
    ck_assert(memcmp(a->mean, b->mean, n * sizeof(double)) == 0);
    ck_assert(memcmp(a->p_sigma, b->p_sigma, n * sizeof(double)) == 0);
    ck_assert(memcmp(a->p_c, b->p_c, n * sizeof(double)) == 0);
    ck_assert(memcmp(a->C, b->C, n * n * sizeof(double)) == 0);
}

/* The study of the first tests: trial 0 a random start-up; generation 0 with a running, a failed,
 * a pruned (with reports), a NaN-valued and more complete trials than popsize; generation 1
 * exactly full; generation 2 short of one. popsize 4. */
#define N_STUDY 20
static hpo_trial study[N_STUDY];

static void study_build(void)
{
    static const struct {
        int64_t gen;
        hpo_trial_state st;
    } plan[N_STUDY] = {
        {-1, HPO_TRIAL_COMPLETE},                                           /* 0 start-up */
        {0, HPO_TRIAL_COMPLETE}, {0, HPO_TRIAL_RUNNING}, {0, HPO_TRIAL_FAIL}, /* 1 2 3 */
        {0, HPO_TRIAL_PRUNED},   {0, HPO_TRIAL_COMPLETE},                   /* 4 5 */
        {0, HPO_TRIAL_COMPLETE}, {0, HPO_TRIAL_COMPLETE},                   /* 6 (NaN) 7 */
        {0, HPO_TRIAL_COMPLETE}, {0, HPO_TRIAL_COMPLETE},                   /* 8 9 (5th: late) */
        {1, HPO_TRIAL_COMPLETE}, {1, HPO_TRIAL_RUNNING},  {1, HPO_TRIAL_COMPLETE}, /* 10-12 */
        {1, HPO_TRIAL_COMPLETE}, {1, HPO_TRIAL_COMPLETE},                   /* 13 14 */
        {2, HPO_TRIAL_COMPLETE}, {2, HPO_TRIAL_COMPLETE}, {2, HPO_TRIAL_PRUNED}, /* 15-17 */
        {2, HPO_TRIAL_COMPLETE}, {-1, HPO_TRIAL_COMPLETE},                  /* 18, 19 no gen */
    };
    for (int k = 0; k < N_STUDY; k++) {
        double p[N_DIMS];
        params_of(k, p);
        make_trial(&study[k], k, plan[k].gen, plan[k].st, k == 6 ? NAN : objective(p), p);
        if (plan[k].st == HPO_TRIAL_PRUNED) {
            bool added;
            ck_assert_int_eq(hpo_trial_add_report(&study[k], 0, 50.0, &added), HPO_OK);
            ck_assert_int_eq(hpo_trial_add_report(&study[k], 3, 0.5 + k, &added), HPO_OK);
        }
    }
}

static void study_free(void)
{
    for (int k = 0; k < N_STUDY; k++)
        hpo_trial_clear(&study[k]);
    hpo_space_clear(&space);
}

static hpo_cmaes_options options(size_t popsize)
{
    hpo_cmaes_options o;
    hpo_cmaes_options_default(&o);
    o.popsize = popsize;
    return o;
}

static hpo_cmaes_run *replay(const hpo_cmaes_options *o, hpo_direction dir, size_t n)
{
    hpo_cmaes_run *run = NULL;
    hpo_error err;
    ck_assert_int_eq(hpo_cmaes_replay(o, 7, &space, dir, study, n, &run, &err), HPO_OK);
    return run;
}

START_TEST(replay_is_the_core_told_directly)
{
    space_build();
    study_build();
    hpo_cmaes_options o = options(4);
    hpo_cmaes_run *run = replay(&o, HPO_MINIMIZE, N_STUDY);
    size_t n;
    const size_t *dims = hpo_cmaes_run_dims(run, &n);
    ck_assert_uint_eq(n, N_DIMS);
    const size_t want_dims[N_DIMS] = {0, 2, 3, 5};
    for (int i = 0; i < N_DIMS; i++)
        ck_assert_uint_eq(dims[i], want_dims[i]);
    ck_assert_int_eq(hpo_cmaes_run_generation(run), 2);
    ck_assert_int_eq(hpo_cmaes_run_restarts(run), 0);

    /* generation 0: the first 4 finished with a value, by number (not 2 running, 3 failed, 4
     * pruned, 6 NaN; 9 is one too many); generation 1: 10, 12, 13, 14 */
    hpo_cmaes *s = direct_new(4, NULL);
    const int gen0[] = {1, 5, 7, 8}, gen1[] = {10, 12, 13, 14};
    direct_tell(s, study, gen0, false);
    direct_tell(s, study, gen1, false);
    same_state(hpo_cmaes_run_state(run), s);
    hpo_cmaes_run_free(run);

    /* maximize: the same trials, values negated (another state than minimizing's) */
    run = replay(&o, HPO_MAXIMIZE, N_STUDY);
    hpo_cmaes *m = direct_new(4, NULL);
    direct_tell(m, study, gen0, true);
    direct_tell(m, study, gen1, true);
    same_state(hpo_cmaes_run_state(run), m);
    ck_assert(memcmp(m->mean, s->mean, N_DIMS * sizeof(double)) != 0);
    hpo_cmaes_run_free(run);
    hpo_cmaes_free(s);
    hpo_cmaes_free(m);

    /* consider_pruned_trials: 4 counts with its last report, and 17 fills generation 2 */
    o.consider_pruned_trials = true;
    run = replay(&o, HPO_MINIMIZE, N_STUDY);
    ck_assert_int_eq(hpo_cmaes_run_generation(run), 3);
    s = direct_new(4, NULL);
    const int gen0p[] = {1, 4, 5, 7}, gen2p[] = {15, 16, 17, 18};
    direct_tell(s, study, gen0p, false);
    direct_tell(s, study, gen1, false);
    direct_tell(s, study, gen2p, false);
    same_state(hpo_cmaes_run_state(run), s);
    hpo_cmaes_run_free(run);
    hpo_cmaes_free(s);
    study_free();
}
END_TEST

/* x0 and sigma0 set the first state; a trial lacking a param is left out. */
START_TEST(replay_takes_x0_sigma0_and_skips_incomplete_trials)
{
    space_build();
    study_build();
    hpo_cmaes_options o = options(4);
    double x0[6] = {0.01, NAN, 3, NAN, NAN, NAN};
    o.x0 = x0;
    o.sigma0 = 0.3;
    hpo_cmaes_run *run = replay(&o, HPO_MINIMIZE, 1);
    const hpo_cmaes *s = hpo_cmaes_run_state(run);
    ck_assert_double_eq(s->mean[0], log(0.01));
    ck_assert_double_eq(s->mean[1], 3);
    ck_assert_double_eq(s->mean[2], 0);
    ck_assert_double_eq(s->mean[3], 0.5);
    ck_assert_double_eq(s->sigma, 0.3);
    ck_assert_uint_eq(s->n_max_resampling, 40);
    ck_assert_uint_eq(s->popsize, 4);
    hpo_cmaes_run_free(run);

    /* trial 5 loses x: generation 0 becomes 1, 7, 8, 9 */
    o = options(4);
    hpo_trial_truncate_params(&study[5], 3);
    run = replay(&o, HPO_MINIMIZE, N_STUDY);
    hpo_cmaes *d = direct_new(4, NULL);
    const int gen0[] = {1, 7, 8, 9}, gen1[] = {10, 12, 13, 14};
    direct_tell(d, study, gen0, false);
    direct_tell(d, study, gen1, false);
    same_state(hpo_cmaes_run_state(run), d);
    hpo_cmaes_run_free(run);
    hpo_cmaes_free(d);
    study_free();
}
END_TEST

/* A replay that goes on from the last one equals one from scratch, also when a generation told
 * before is told differently now (a lower-numbered trial finished late). */
START_TEST(cached_replay_equals_a_fresh_one)
{
    space_build();
    study_build();
    hpo_cmaes_options o = options(4);
    hpo_cmaes_run *cache = NULL;
    hpo_error err;
    for (size_t n = 0; n <= N_STUDY; n++) {
        ck_assert_int_eq(hpo_cmaes_replay(&o, 7, &space, HPO_MINIMIZE, study, n, &cache, &err),
                         HPO_OK);
        hpo_cmaes_run *fresh = replay(&o, HPO_MINIMIZE, n);
        same_state(hpo_cmaes_run_state(cache), hpo_cmaes_run_state(fresh));
        ck_assert_int_eq(hpo_cmaes_run_generation(cache), hpo_cmaes_run_generation(fresh));
        hpo_cmaes_run_free(fresh);
    }
    ck_assert_int_eq(hpo_cmaes_run_generation(cache), 2);
    /* trial 2 (generation 0, running) finishes: generation 0 is now 1, 2, 5, 7 */
    double p[N_DIMS];
    params_of(2, p);
    double v = objective(p);
    ck_assert_int_eq(hpo_trial_set_values(&study[2], &v, 1), HPO_OK);
    study[2].state = HPO_TRIAL_COMPLETE;
    ck_assert_int_eq(hpo_cmaes_replay(&o, 7, &space, HPO_MINIMIZE, study, N_STUDY, &cache, &err),
                     HPO_OK);
    hpo_cmaes *d = direct_new(4, NULL);
    const int gen0[] = {1, 2, 5, 7}, gen1[] = {10, 12, 13, 14};
    direct_tell(d, study, gen0, false);
    direct_tell(d, study, gen1, false);
    same_state(hpo_cmaes_run_state(cache), d);
    hpo_cmaes_free(d);
    /* a trial told before changes its value: caught too */
    study[12].values[0] += 1;
    ck_assert_int_eq(hpo_cmaes_replay(&o, 7, &space, HPO_MINIMIZE, study, N_STUDY, &cache, &err),
                     HPO_OK);
    hpo_cmaes_run *fresh = replay(&o, HPO_MINIMIZE, N_STUDY);
    same_state(hpo_cmaes_run_state(cache), hpo_cmaes_run_state(fresh));
    hpo_cmaes_run_free(fresh);
    hpo_cmaes_run_free(cache);
    study_free();
}
END_TEST

/* ipop: flat values make the state stop; the replay restarts where should_stop says, with
 * popsize doubled and the generation counting on; without ipop it does not. */
START_TEST(ipop_restarts_where_should_stop_says)
{
    space_build();
    size_t cap = 400, n_trials = 0;
    hpo_trial *trials = calloc(cap, sizeof *trials);
    /* d: told and asked should_stop after each tell, as the replay under ipop does (which
     * decomposes C); plain: only told, as the replay without ipop */
    hpo_cmaes *d = direct_new(4, NULL), *plain = direct_new(4, NULL);
    hpo_rng rng;
    hpo_rng_seed(&rng, 3);
    hpo_error err;
    int64_t stop_gen = -1;
    for (int64_t g = 0; g < 100 && stop_gen < 0; g++) {
        double x[4 * N_DIMS], y[4];
        for (int k = 0; k < 4; k++) {
            ck_assert_int_eq(hpo_cmaes_ask(d, &rng, x + k * N_DIMS, &err), HPO_OK);
            double p[N_DIMS] = {exp(x[k * N_DIMS]), x[k * N_DIMS + 1], x[k * N_DIMS + 2],
                                x[k * N_DIMS + 3]};
            make_trial(&trials[n_trials], (int64_t)n_trials, g, HPO_TRIAL_COMPLETE, 1.0, p);
            n_trials++;
            to_x(p, x + k * N_DIMS); /* what the replay reads back from the params */
            y[k] = 1.0;
        }
        ck_assert_int_eq(hpo_cmaes_tell(d, x, y, &err), HPO_OK);
        ck_assert_int_eq(hpo_cmaes_tell(plain, x, y, &err), HPO_OK);
        if (hpo_cmaes_should_stop(d))
            stop_gen = g + 1;
    }
    ck_assert_int_gt(stop_gen, 0);

    hpo_cmaes_options o = options(4);
    hpo_cmaes_run *run = NULL;
    ck_assert_int_eq(hpo_cmaes_replay(&o, 7, &space, HPO_MINIMIZE, trials, n_trials, &run, &err),
                     HPO_OK);
    ck_assert_int_eq(hpo_cmaes_run_restarts(run), 0);
    same_state(hpo_cmaes_run_state(run), plain);
    hpo_cmaes_run_free(run);
    run = NULL;

    o.ipop = true;
    ck_assert_int_eq(hpo_cmaes_replay(&o, 7, &space, HPO_MINIMIZE, trials, n_trials, &run, &err),
                     HPO_OK);
    ck_assert_int_eq(hpo_cmaes_run_restarts(run), 1);
    ck_assert_int_eq(hpo_cmaes_run_generation(run), stop_gen);
    const hpo_cmaes *s = hpo_cmaes_run_state(run);
    ck_assert_uint_eq(s->popsize, 8);
    ck_assert_uint_eq(s->generation, 0);
    for (int i = 0; i < N_DIMS; i++)
        ck_assert(s->mean[i] >= LOWER[i] && s->mean[i] <= UPPER[i]);
    hpo_cmaes *r = direct_new(8, s->mean); /* the restart's random mean */
    same_state(s, r);

    /* 8 trials of generation stop_gen fill the restarted state's first generation */
    int which[8];
    for (int k = 0; k < 8; k++) {
        double p[N_DIMS];
        params_of(500 + k, p);
        which[k] = (int)n_trials;
        make_trial(&trials[n_trials], (int64_t)n_trials, stop_gen, HPO_TRIAL_COMPLETE,
                   objective(p), p);
        n_trials++;
    }
    ck_assert_int_eq(hpo_cmaes_replay(&o, 7, &space, HPO_MINIMIZE, trials, n_trials, &run, &err),
                     HPO_OK);
    direct_tell(r, trials, which, false);
    ck_assert(!hpo_cmaes_should_stop(r)); /* as the replay asks after each tell */
    ck_assert_int_eq(hpo_cmaes_run_generation(run), stop_gen + 1);
    same_state(hpo_cmaes_run_state(run), r);
    /* and the same again from scratch */
    hpo_cmaes_run *fresh = NULL;
    ck_assert_int_eq(hpo_cmaes_replay(&o, 7, &space, HPO_MINIMIZE, trials, n_trials, &fresh,
                                      &err), HPO_OK);
    same_state(hpo_cmaes_run_state(fresh), r);
    hpo_cmaes_run_free(fresh);

    hpo_cmaes_run_free(run);
    hpo_cmaes_free(r);
    hpo_cmaes_free(d);
    hpo_cmaes_free(plain);
    hpo_trials_free(trials, n_trials);
    hpo_space_clear(&space);
}
END_TEST

/* ---- Optuna 3.1's CmaEsSampler: its trials and the optimizers it pickled ---- */

/* One study Optuna ran over lr (log float 1e-4..1), k (int 1..8), q (float 0..1 step 0.25), x
 * (float -5..5), c (categorical a, b), every 7th trial pruned after reports at steps 0 and 2:
 * per trial its params (internal values, in that order), state (0 complete, 1 pruned), value
 * (NaN when pruned), the two reports (NaN when none), the generation Optuna stored (-1: none);
 * the trials whose ask told a generation and, per such trial, the state Optuna pickled then. */
typedef struct {
    const char *name;
    int maximize, popsize;
    double sigma0;
    int n_startup_trials, consider_pruned, has_x0;
    double x0[N_DIMS];
    size_t n_trials, n_told, popsize_used;
    const double *params;
    const int *states;
    const double *values, *reports;
    const int *gens, *told_at;
    const double *mean, *sigma, *c, *p_sigma, *p_c;
} optuna_case;

/* ---- generated by tests/unit/cmaes_sampler_reference.py ---- */
/* pruned_pop5: minimize, {'popsize': 5, 'consider_pruned_trials': True}, seed 1 */
static const double PRUNED_POP5_PARAMS[] = {0.004656804637919571, 6.0, 0.0, -1.9766742736816023, 0.0, 0.011145720674766298, 4.0, 0.5, -0.2106161755887825, 1.0, 0.009438072288556611, 5.0, 0.5, 0.21236861337645185, 1.0, 0.010617384725897983, 4.0, 0.5, 0.27021196212669235, 1.0, 0.009844037516712222, 4.0, 0.5, -0.19094774995499939, 1.0, 0.009833609642703953, 5.0, 0.25, 0.15360853452480414, 1.0, 0.01222834813815506, 4.0, 0.25, -0.009109796483972171, 1.0, 0.008983191910861476, 4.0, 0.25, -0.3624484611934591, 1.0, 0.009052770270433937, 4.0, 0.75, -0.3599004734331519, 1.0, 0.009333281205462606, 3.0, 0.75, -0.3611734101303514, 1.0, 0.01012123464441406, 4.0, 0.25, -0.005308694165585021, 1.0, 0.016551500106034688, 4.0, 0.0, -0.3440478438012381, 0.0, 0.010213000130957606, 4.0, 0.5, 0.00624600904771043, 1.0, 0.007575058486688926, 4.0, 0.25, 0.08117805575123292, 1.0, 0.009262718260034872, 5.0, 0.0, -0.3900407882205285, 0.0, 0.014396625291637181, 4.0, 0.25, -0.017086126755542608, 0.0, 0.016428353610684333, 4.0, 0.5, -0.39032960298425257, 1.0, 0.006243124985298327, 4.0, 0.5, 0.06382713413868339, 1.0, 0.008530898850468765, 4.0, 0.25, 0.12281136224112917, 0.0, 0.008216764468391403, 4.0, 0.5, 0.4030329441670324, 1.0, 0.011154604907979778, 4.0, 0.25, 0.2507382227933453, 1.0, 0.0075003617328345306, 4.0, 0.0, 0.07851507518352646, 0.0, 0.009240066419968494, 4.0, 0.5, 0.048589359765834145, 0.0, 0.010596579254079181, 4.0, 0.25, 0.20324739349920676, 1.0, 0.008524565105212743, 4.0, 0.5, 0.3112938102431184, 1.0, 0.017093145458712208, 4.0, 0.25, 0.49823382638544966, 0.0, 0.012435687397600497, 4.0, 0.25, 0.43447295410566455, 0.0, 0.011271317684843156, 4.0, 0.0, 0.3126731054453048, 1.0, 0.010730419417038421, 4.0, 0.0, 0.1350964616252551, 1.0, 0.007262992601946691, 4.0, 0.25, 0.11954816426106384, 0.0, 0.009623099180281605, 4.0, 0.25, 0.6749799482513396, 1.0, 0.012035103558221908, 4.0, 0.0, -0.15804573446386944, 0.0, 0.010562308556038381, 4.0, 0.0, 0.12244707683394876, 0.0, 0.010217718216839098, 4.0, 0.0, 0.17411197590595462, 0.0, 0.011459780593602283, 4.0, 0.0, 0.26762986731175764, 1.0, 0.014662403707406228, 4.0, 0.0, 0.18143798650127, 0.0, 0.01064185542418173, 4.0, 0.0, -0.07552051522162362, 0.0, 0.01040341480852428, 4.0, 0.0, 0.5050746649708258, 0.0, 0.008947073201371506, 4.0, 0.0, 0.5935610050151032, 0.0, 0.011899660897827574, 4.0, 0.0, 0.269965870477857, 0.0};
static const int PRUNED_POP5_STATES[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0};
static const double PRUNED_POP5_VALUES[] = {5.575312996156748, 1.1186170594085008, 1.6557216489481785, 1.3838245581982074, 1.1046357401573152, 1.4291477290945687, 0.7622087768540942, 0.9662351541264704, 1.4642001631926551, 1.214096203229961, 1.252688782094273, 1.749505942240885, 0.9969705322203597, 0.7256061806307647, 2.4841596786375075, 1.7836624968519321, 1.2797348922728131, 1.510965238246813, 1.6971266951981767, 0.846368363440653, 0.6426002030664357, 1.4778880710836075, 1.977473750824719, 0.6593369909777016, 1.3733853933712132, 1.617148401523179, 1.5889175802637143, 0.3708059334628848, 0.43795191483604284, 1.7130877348298605, 0.5266878990072525, 2.09173965618074, 1.4430892662094865, 1.4206102529344862, 0.38759333762722303, 1.4451351020128058, 1.5399160321089997, 1.3115327838754176, 1.7936328908322738, 1.388942931183861};
static const double PRUNED_POP5_REPORTS[] = {NAN, NAN, NAN, NAN, NAN, NAN, 1.8838245581982074, 1.3838245581982074, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 1.752688782094273, 1.252688782094273, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 2.010965238246813, 1.510965238246813, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 1.8733853933712132, 1.3733853933712132, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 2.59173965618074, 2.09173965618074, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 2.293632890832274, 1.7936328908322738, NAN, NAN};
static const int PRUNED_POP5_GENS[] = {-1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7};
static const int PRUNED_POP5_TOLD_AT[] = {6, 11, 16, 21, 26, 31, 36};
static const double PRUNED_POP5_MEAN[] = {-4.587410616752125, 4.0, 0.5, -0.19624991082984, -4.487136474513818, 4.0, 0.24999999999999994, -0.10436187605932724, -4.8023444156533825, 4.0, 0.3173943224227037, 0.0609780776899118, -4.578306149208319, 4.0, 0.3173943224227037, 0.2917934210154817, -4.605878460764342, 4.0, 0.3173943224227037, 0.23237425368583475, -4.498751470906533, 4.0, 0.0, 0.2648024750919046, -4.499837693367861, 4.0, 0.0, 0.2424195676089813};
static const double PRUNED_POP5_SIGMA[] = {0.22649685983423165, 0.2293675397961793, 0.22401435246320756, 0.22025160205259323, 0.19308603127247867, 0.20284563467044564, 0.1910406324927001};
static const double PRUNED_POP5_C[] = {0.9474012168893927, -0.012023196915187868, -0.0004925279078409066, -0.004734657404546302, -0.012023196915187868, 1.416004756454638, 0.014676897813270192, 0.1848641820270071, -0.0004925279078409066, 0.014676897813270192, 0.9392274645872222, 0.004508993528933473, -0.004734657404546302, 0.1848641820270071, 0.004508993528933473, 1.0191136124988944, 0.9150855094076736, -0.05983980999959282, -0.03324345107167057, -0.011003030759687029, -0.05983980999959282, 1.4601564157106401, 0.12409890672476413, 0.1815067896142883, -0.03324345107167057, 0.12409890672476413, 0.9426503791893788, 0.048885356910405665, -0.011003030759687029, 0.1815067896142883, 0.048885356910405665, 0.9425096341100522, 0.968333438137236, 0.01339734756866006, -0.012245455485889397, -0.1050071658215867, 0.01339734756866006, 1.3424747937807495, 0.14775400684377557, 0.15733842381667004, -0.012245455485889397, 0.14775400684377557, 0.8978232494403833, 0.02845045890230879, -0.1050071658215867, 0.15733842381667004, 0.02845045890230879, 0.9292094008795637, 0.9161200702538186, 0.0018403058296434984, 0.01256886321946753, -0.05231596911626213, 0.0018403058296434984, 1.2782292907616473, 0.14307963800222792, 0.11462281950097589, 0.01256886321946753, 0.14307963800222792, 0.815494144577096, 0.03933942444212023, -0.05231596911626213, 0.11462281950097589, 0.03933942444212023, 1.0291798947349329, 0.8344693756651633, 0.0005940801964273445, 0.023723653262015164, -0.07435450136371, 0.0005940801964273445, 1.2118003790754275, 0.13623949113339254, 0.1032879832564696, 0.023723653262015164, 0.13623949113339254, 0.7555347653311894, 0.06425913908769817, -0.07435450136371, 0.1032879832564696, 0.06425913908769817, 0.9505794688701759, 0.7598768375907864, -0.003186871133939855, -0.0791489077104939, -0.08140848178006563, -0.003186871133939855, 1.1475169584944906, 0.13941881341264886, 0.09541831968483125, -0.0791489077104939, 0.13941881341264886, 0.9819555424097596, 0.005393744956648134, -0.08140848178006563, 0.09541831968483125, 0.005393744956648134, 0.8947124809411865, 0.6964021528774726, -0.003937177112700089, -0.09549252487863844, -0.05426709080950677, -0.003937177112700089, 1.0863174444927202, 0.13458388523468173, 0.09007638166245073, -0.09549252487863844, 0.13458388523468173, 0.9879193610348127, -0.0003326424216912958, -0.05426709080950677, 0.09007638166245073, -0.0003326424216912958, 0.7839827222617743};
static const double PRUNED_POP5_P_SIGMA[] = {0.08251404302279346, -2.3230868363544412, 0.0, -0.9118111689690682, 0.4950108986030074, -1.5467342930687162, -1.103018486658428, -0.2041859698458579, -1.0608820042145444, -1.1093383688908927, -0.4664986517340913, 0.5829573754698111, 0.34978789525720844, -0.807771471166643, -0.30787184297426323, 1.4880554507458534, 0.09589839117778193, -0.5188143172920805, -0.19681454360696063, 0.7159404522623685, 0.6911673504478505, -0.23610349178353437, -1.9954525986640899, 0.7223421184468709, 0.44240460700876705, -0.15006058890769416, -1.3124588506124242, 0.3607818019872284};
static const double PRUNED_POP5_P_C[] = {0.09482005025627692, -2.669548146028613, 0.0, -1.0477971712281597, 0.5398499841611181, -1.3347740730143065, -1.2277341596766507, -0.0726422690008226, -1.2586674576007866, -0.6673870365071533, -0.2870401222613848, 0.7654905331182202, 0.48309674022151383, -0.3336935182535766, -0.1435200611306923, 1.5288263566664466, 0.10230304697774356, -0.1668467591267883, -0.07176003056534605, 0.46433528539704605, 0.6682785438466429, -0.08342337956339416, -1.8642951769070235, 0.4189770702610123, 0.32818292987837094, -0.04171168978169708, -0.9321475884535118, 0.08675101342086428};
/* maximize: maximize, {}, seed 2 */
static const double MAXIMIZE_PARAMS[] = {0.005545996722241045, 1.0, 0.5, -0.6467760738172315, 0.0, 0.013113654742547156, 4.0, 0.75, -0.34242370164800134, 1.0, 0.0119923291691811, 5.0, 0.75, -0.1961121128639691, 0.0, 0.010943575505763777, 5.0, 0.5, 0.33255486895836733, 0.0, 0.010943255170153182, 5.0, 0.75, 0.11001586233390782, 1.0, 0.00840345281728388, 5.0, 0.5, 0.012039323469109896, 1.0, 0.011875198922184381, 5.0, 1.0, -0.23497914919203886, 0.0, 0.008224019615463608, 5.0, 0.75, -0.004063314932254781, 0.0, 0.008723410987483013, 5.0, 0.5, -0.1033129593583749, 0.0, 0.007655117397494033, 4.0, 0.0, -0.07713350521170353, 0.0, 0.01167454003900746, 4.0, 0.5, -0.4151430372530096, 1.0, 0.011021639748338436, 4.0, 0.75, -0.5189297551123934, 0.0, 0.011132567882708127, 4.0, 0.5, -0.7002196289548299, 1.0, 0.011818674870815001, 4.0, 0.75, -0.000470529419635185, 0.0, 0.01163491239480411, 4.0, 0.25, -0.10340557998866928, 0.0, 0.009557208586138307, 5.0, 0.75, -0.18525688422045966, 0.0, 0.007414947105697438, 4.0, 0.0, -0.3436088503879115, 0.0, 0.008781873520075839, 4.0, 0.5, 0.05059338617697584, 1.0, 0.010620786011464808, 4.0, 0.5, -0.15151063696604675, 0.0, 0.009099051318225037, 4.0, 0.5, -0.17602250161649566, 0.0, 0.013110935259133863, 4.0, 0.75, -0.55667934419391, 0.0, 0.007971139156483903, 4.0, 0.0, -0.9342442830840492, 1.0, 0.009763332243010044, 5.0, 0.5, -0.11024103599209567, 1.0, 0.009936103652400408, 4.0, 0.0, -0.7365091887426244, 0.0, 0.006554342230585118, 4.0, 0.5, -0.7133496445637808, 1.0, 0.011091786825190337, 4.0, 0.75, -1.0824033342849555, 0.0, 0.010362521769308011, 5.0, 0.25, -0.32764885312593445, 0.0, 0.014146586758736654, 4.0, 0.0, -0.6530583110328289, 0.0, 0.010373261460960063, 4.0, 0.25, -0.42778997162967286, 0.0, 0.010010437782872457, 4.0, 0.25, -0.4930343080581929, 0.0, 0.011000409811132839, 5.0, 0.0, -0.925242391624016, 1.0, 0.01038935828116421, 4.0, 0.25, -0.6153862257106598, 0.0, 0.008256439026597806, 4.0, 0.0, -0.9301946927817885, 0.0, 0.007385495638032518, 4.0, 0.5, -0.055658860692791357, 0.0, 0.014784955602905499, 4.0, 0.5, -0.8426236536483824, 1.0, 0.01251817184864445, 4.0, 0.25, -0.1315201838750244, 0.0, 0.013077277875103556, 4.0, 0.75, -0.5389639787899616, 0.0, 0.008848649349800798, 5.0, 0.25, -0.21828089406997914, 0.0, 0.01427927724716299, 4.0, 0.25, -0.3735478867264219, 0.0, 0.013323645126030254, 4.0, 0.75, 0.10853318300677106, 0.0, 0.009825238049817909, 4.0, 0.25, -0.939481368382638, 0.0, 0.008194247123848504, 4.0, 0.5, -0.6299989750291467, 1.0, 0.008918251900625947, 4.0, 0.0, -1.022745241829649, 0.0, 0.015218868610664169, 4.0, 0.25, -0.3567521016079505, 0.0, 0.012301972259936364, 4.0, 0.0, -1.3262367533850739, 0.0};
static const int MAXIMIZE_STATES[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
static const double MAXIMIZE_VALUES[] = {-3.243514300153211, -1.4643842289029356, -3.1138968153626907, -2.11290419671335, -1.9495503918248076, -1.7497232037122625, -3.3868646376801244, -3.0092464888011303, -2.807842982552976, -1.553521318889846, -0.7551786418464848, -2.578571642639146, -1.4748578234983722, -2.2555015486833376, -1.8087007561253414, -3.101595337418081, -1.7181931024758832, -0.478525636085832, -2.0821783575570807, -2.0974385497082735, -2.6196503261551203, -1.1950234700674327, -1.8082669896799226, -2.003873790671655, -1.0175533171290088, -3.086126047941605, -2.6909020496282645, -1.9558463698016935, -2.0098993483270196, -2.0572880665327964, -1.928354260705587, -1.6526433502961764, -2.1883363298030365, -2.0459278251329507, -1.6276543230489073, -1.8295987106014737, -2.605678825326609, -2.623874138891874, -1.4955924656339632, -2.2142091777318553, -2.440455622977739, -1.4217048478077678, -2.2753466830819713, -1.993457394334303, -2.610939812647255};
static const double MAXIMIZE_REPORTS[] = {NAN, NAN, NAN, NAN, NAN, NAN, -1.61290419671335, -2.11290419671335, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, -0.25517864184648476, -0.7551786418464848, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0.021474363914168015, -0.478525636085832, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, -0.5175533171290088, -1.0175533171290088, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, -1.1526433502961764, -1.6526433502961764, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, -0.9955924656339632, -1.4955924656339632, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
static const int MAXIMIZE_GENS[] = {-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4};
static const int MAXIMIZE_TOLD_AT[] = {10, 11, 20, 29, 38, 39};
static const double MAXIMIZE_MEAN[] = {-4.558976821505061, 4.184355529806935, 0.5, -0.1972134155519552, -4.558976821505061, 4.184355529806935, 0.5, -0.1972134155519552, -4.609636072580317, 4.0, 0.32142857142857145, -0.49030114715387796, -4.682889704184194, 4.285714285714286, 0.14285714285714288, -0.6504396718776397, -4.332739582100946, 4.142857142857143, 0.3571428571428571, -0.618596141072865, -4.332739582100946, 4.142857142857143, 0.3571428571428571, -0.618596141072865};
static const double MAXIMIZE_SIGMA[] = {0.22243374454774353, 0.22243374454774353, 0.26890770660905877, 0.3047757253305826, 0.30212109071565135, 0.30212109071565135};
static const double MAXIMIZE_C[] = {1.0467348876940585, -0.12206061301854865, 0.05631528785664812, -0.05280577157112977, -0.12206061301854865, 1.3110925817556247, -0.15006447739236356, 0.3878343634843199, 0.05631528785664812, -0.15006447739236356, 1.0042918352389274, 0.017931024915787023, -0.05280577157112977, 0.3878343634843199, 0.017931024915787023, 1.155719792791211, 1.0467348876940585, -0.12206061301854865, 0.05631528785664812, -0.05280577157112977, -0.12206061301854865, 1.3110925817556247, -0.15006447739236356, 0.3878343634843199, 0.05631528785664812, -0.15006447739236356, 1.0042918352389274, 0.017931024915787023, -0.05280577157112977, 0.3878343634843199, 0.017931024915787023, 1.155719792791211, 1.060433442073181, -0.06091098230000307, 0.08947792762975731, -0.024931316123680235, -0.06091098230000307, 1.4071567932456392, 0.06334175210927488, 0.7730968135482057, 0.08947792762975731, 0.06334175210927488, 1.0518598007490432, 0.26036145839416147, -0.024931316123680235, 0.7730968135482057, 0.26036145839416147, 1.5865207037518305, 1.068022845249389, -0.08303848394966212, 0.09829443529445811, 0.08632554803416716, -0.08303848394966212, 1.4464293962757244, 0.07512874386517963, 0.7707839819414457, 0.09829443529445811, 0.07512874386517963, 1.1120643006261093, 0.6422743224540659, 0.08632554803416716, 0.7707839819414457, 0.6422743224540659, 1.8483699062341559, 1.2197470601552725, -0.14877479189457346, 0.08878419707106834, -0.0418424376108043, -0.14877479189457346, 1.1318401893289258, -0.0013807905278763605, 0.542473838478643, 0.08878419707106834, -0.0013807905278763605, 1.016621433315859, 0.5317408500587723, -0.0418424376108043, 0.542473838478643, 0.5317408500587723, 1.7723260024361742, 1.2197470601552725, -0.14877479189457346, 0.08878419707106834, -0.0418424376108043, -0.14877479189457346, 1.1318401893289258, -0.0013807905278763605, 0.542473838478643, 0.08878419707106834, -0.0013807905278763605, 1.016621433315859, 0.5317408500587723, -0.0418424376108043, 0.542473838478643, 0.5317408500587723, 1.7723260024361742};
static const double MAXIMIZE_P_SIGMA[] = {0.2851042386903549, -1.9481494231552146, 8.922223308687945e-18, -1.2171960481709478, 0.2851042386903549, -1.9481494231552146, 8.922223308687945e-18, -1.2171960481709478, -0.15993542938659205, -1.9745385520022234, -1.0593497071496758, -2.190710646662681, -0.3755515775211796, 0.28696609804042694, -1.3745187460066075, -2.287635028206705, 1.152439743315057, -0.291042853676852, 0.0003331616483114308, -1.3822140824224358, 1.152439743315057, -0.291042853676852, 0.0003331616483114308, -1.3822140824224358};
static const double MAXIMIZE_P_C[] = {0.3096371581940291, -2.115785629473788, 9.689971228646357e-18, -1.3219344863195293, 0.3096371581940291, -2.115785629473788, 9.689971228646357e-18, -1.3219344863195293, -0.16322770984124066, -2.2153041632236485, -1.1210979033854191, -2.5010154750384275, -0.462029309102003, 0.37609865383098096, -1.487893161344463, -2.0821275259298395, 1.3733613169358094, -0.46651725153273094, 0.23790328700010122, -0.895157785932776, 1.3733613169358094, -0.46651725153273094, 0.23790328700010122, -0.895157785932776};
/* x0_sigma0: minimize, {'sigma0': 0.3, 'x0': {'lr': 0.01, 'k': 2, 'q': 0.5, 'x': 0.0}, 'n_startup_trials': 3}, seed 3 */
static const double X0_SIGMA0_PARAMS[] = {0.015965834028940296, 6.0, 0.25, 0.10827605197663015, 1.0, 0.00031793712435622054, 2.0, 0.0, -0.5919015634936358, 1.0, 0.03949809867665033, 3.0, 0.75, 0.9086281741635087, 1.0, 0.01200503834679477, 2.0, 0.75, -0.23272171488189292, 1.0, 0.019768026187293366, 2.0, 0.25, -0.49318836729864757, 1.0, 0.01565998802336054, 2.0, 0.25, 0.2728740938788724, 0.0, 0.009909354960718764, 2.0, 0.5, -0.6942297877389095, 1.0, 0.010596144420692144, 2.0, 0.5, -0.3187238152645697, 0.0, 0.017045940697941124, 2.0, 0.5, 0.41584529251482266, 1.0, 0.010409673775851253, 2.0, 0.5, 0.23651204718937943, 0.0, 0.005933267255947938, 2.0, 0.5, 0.28403566932120267, 0.0, 0.009128850672597574, 2.0, 0.5, 0.29612619414873126, 0.0, 0.009908720991977272, 2.0, 0.5, -0.30546990880330493, 0.0, 0.009636557230692759, 2.0, 0.25, -0.03395872483250596, 0.0, 0.03826294147683614, 2.0, 0.25, -0.13830351961822698, 1.0, 0.013368993347237528, 1.0, 0.75, 0.33822827044514997, 1.0, 0.017057006603937806, 2.0, 0.75, -0.0236736140874362, 1.0, 0.018394731860929887, 2.0, 1.0, -0.22668692384037648, 0.0, 0.018895274324702917, 2.0, 0.25, 0.11697812226957068, 1.0, 0.022693514082979437, 2.0, 0.5, -0.1115223897256931, 0.0, 0.020506593112428428, 2.0, 0.25, -0.19518942727829036, 0.0, 0.012320736773422877, 2.0, 0.5, 0.014911153168844752, 0.0, 0.006638187798929226, 2.0, 0.0, -0.09250951426946799, 1.0, 0.026063368789485897, 2.0, 0.0, 0.06439338842357809, 0.0, 0.022468960873199256, 2.0, 0.0, 0.2937204908104616, 1.0, 0.026105857157560742, 1.0, 0.5, 0.33494124574327533, 1.0, 0.016020308540622294, 1.0, 0.25, -0.2621530593881851, 1.0, 0.016750842220094486, 2.0, 0.5, -0.003592596412508045, 1.0, 0.03476690239701231, 2.0, 0.0, 0.3599266689598316, 0.0, 0.02179116224595627, 2.0, 0.5, -0.5256127146659313, 0.0, 0.017471867094708486, 2.0, 0.25, -0.12171081561521194, 0.0, 0.020688839141711837, 2.0, 0.75, -0.03673972490305525, 0.0, 0.013705461126433012, 2.0, 0.5, 0.14563389075769365, 1.0, 0.012824287242078427, 2.0, 0.25, -0.17114387004700055, 0.0, 0.009548335128741023, 2.0, 0.75, 0.5996674018971222, 1.0};
static const int X0_SIGMA0_STATES[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
static const double X0_SIGMA0_VALUES[] = {2.7400797303652134, 3.126519402810761, 1.1079903536617979, 1.8861992799126022, 1.1449971545739333, 1.6701217203164154, 1.4676192823916794, 2.1853905405469174, 0.8889574558038623, 1.8960325166603464, 2.429546881498979, 1.8754264685380044, 2.1760787802091155, 1.7675261663036173, 1.163564335016992, 1.875386339460032, 1.3157558338563962, 3.196252830854184, 0.7713030010934967, 2.185536562397666, 1.9543970060467366, 2.000815016650752, 0.5800606277792927, 1.6419213507883832, 0.998318283708332, 1.7842463117663279, 1.6901477538359806, 1.0519919445095327, 1.645284105066514, 2.4463071639185063, 1.873287133243673, 2.868396613619652, 0.9512252341559126, 1.8545656713639629, 1.040469446368845};
static const double X0_SIGMA0_REPORTS[] = {NAN, NAN, NAN, NAN, NAN, NAN, 2.386199279912602, 1.8861992799126022, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 2.929546881498979, 2.429546881498979, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 3.696252830854184, 3.196252830854184, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 1.498318283708332, 0.998318283708332, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 3.368396613619652, 2.868396613619652, NAN, NAN, NAN, NAN, NAN, NAN};
static const int X0_SIGMA0_GENS[] = {-1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3};
static const int X0_SIGMA0_TOLD_AT[] = {13, 22, 31, 32};
static const double X0_SIGMA0_MEAN[] = {-4.110523157075707, 2.0, 0.41819683183398054, -0.008393838734657969, -3.8098163941221985, 2.0, 0.3214285714285714, 0.017683769421746764, -4.486357717237316, 2.0, 0.14285714285714288, -0.025914608409593427, -4.486357717237316, 2.0, 0.14285714285714288, -0.025914608409593427};
static const double X0_SIGMA0_SIGMA[] = {0.312398057392898, 0.33530226071614055, 0.31212915674609043, 0.31212915674609043};
static const double X0_SIGMA0_C[] = {1.4990670475069505, 0.0, -0.08737189243875766, 0.03281834556055388, 0.0, 1.0, 0.0, 0.0, -0.08737189243875766, 0.0, 1.0210433868054383, 0.019336394662334708, 0.03281834556055388, 0.0, 0.019336394662334708, 0.6793226990577703, 1.5786005302410222, -0.005442174356669666, -0.1732975679143106, 0.15577258622714069, -0.005442174356669666, 0.9733610694561018, 0.008838881551020342, 0.009233642291419942, -0.1732975679143106, 0.008838881551020342, 1.010695544580398, -0.006237010583040839, 0.15577258622714069, 0.009233642291419942, -0.006237010583040839, 0.6317089567845141, 1.9759681568092862, -0.0022927319565097717, -0.0236068082861507, 0.12333870807088858, -0.0022927319565097717, 0.8679255860905527, 0.020414349573824063, 0.025362617032480432, -0.0236068082861507, 0.020414349573824063, 1.095333130941372, 0.01722715903684642, 0.12333870807088858, 0.025362617032480432, 0.01722715903684642, 0.476335754257841, 1.9759681568092862, -0.0022927319565097717, -0.0236068082861507, 0.12333870807088858, -0.0022927319565097717, 0.8679255860905527, 0.020414349573824063, 0.025362617032480432, -0.0236068082861507, 0.020414349573824063, 1.095333130941372, 0.01722715903684642, 0.12333870807088858, 0.025362617032480432, 0.01722715903684642, 0.476335754257841};
static const double X0_SIGMA0_P_SIGMA[] = {2.120103151911188, 0.0, -0.3506159837782396, -0.03597677316916568, 2.2778918602557336, 1.1333505798691803e-18, -0.5685402648544273, 0.09359785571210603, -0.7496134088650861, -0.0015355313821716966, -1.189132292219985, 0.04965037509477484, -0.7496134088650861, -0.0015355313821716966, -1.189132292219985, 0.04965037509477484};
static const double X0_SIGMA0_P_C[] = {2.3025357955093506, 0.0, -0.38078611995806366, -0.039072536614197004, 2.4954778650570555, 0.0, -0.6229635112647391, 0.09703504010961544, -1.5699308028024967, 0.0, -1.0551987950643054, -0.13306167625984422, -1.5699308028024967, 0.0, -1.0551987950643054, -0.13306167625984422};
static const optuna_case OPTUNA_CASES[] = {
    {"pruned_pop5", 0, 5, 0.0, 1, 1, 0, {0},
     40, 7, 5, PRUNED_POP5_PARAMS, PRUNED_POP5_STATES, PRUNED_POP5_VALUES, PRUNED_POP5_REPORTS, PRUNED_POP5_GENS,
     PRUNED_POP5_TOLD_AT, PRUNED_POP5_MEAN, PRUNED_POP5_SIGMA, PRUNED_POP5_C, PRUNED_POP5_P_SIGMA, PRUNED_POP5_P_C},
    {"maximize", 1, 0, 0.0, 1, 0, 0, {0},
     45, 6, 8, MAXIMIZE_PARAMS, MAXIMIZE_STATES, MAXIMIZE_VALUES, MAXIMIZE_REPORTS, MAXIMIZE_GENS,
     MAXIMIZE_TOLD_AT, MAXIMIZE_MEAN, MAXIMIZE_SIGMA, MAXIMIZE_C, MAXIMIZE_P_SIGMA, MAXIMIZE_P_C},
    {"x0_sigma0", 0, 0, 0.3, 3, 0, 1, {0.01, 2.0, 0.5, 0.0},
     35, 4, 8, X0_SIGMA0_PARAMS, X0_SIGMA0_STATES, X0_SIGMA0_VALUES, X0_SIGMA0_REPORTS, X0_SIGMA0_GENS,
     X0_SIGMA0_TOLD_AT, X0_SIGMA0_MEAN, X0_SIGMA0_SIGMA, X0_SIGMA0_C, X0_SIGMA0_P_SIGMA, X0_SIGMA0_P_C},
};
/* ---- end of generated ---- */

static void optuna_space(hpo_space *sp)
{
    hpo_dist lr = {.type = HPO_DIST_FLOAT, .low = 1e-4, .high = 1, .log = true};
    hpo_dist k = {.type = HPO_DIST_INT, .low = 1, .high = 8, .step = 1};
    hpo_dist q = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1, .step = 0.25};
    hpo_dist x = {.type = HPO_DIST_FLOAT, .low = -5, .high = 5};
    hpo_choice ch[2] = {{.kind = HPO_CHOICE_STRING, .str = "a"},
                        {.kind = HPO_CHOICE_STRING, .str = "b"}};
    hpo_dist c = {.type = HPO_DIST_CATEGORICAL, .n_choices = 2, .choices = ch};
    ck_assert_int_eq(hpo_space_add(sp, "lr", &lr), HPO_OK);
    ck_assert_int_eq(hpo_space_add(sp, "k", &k), HPO_OK);
    ck_assert_int_eq(hpo_space_add(sp, "q", &q), HPO_OK);
    ck_assert_int_eq(hpo_space_add(sp, "x", &x), HPO_OK);
    ck_assert_int_eq(hpo_space_add(sp, "c", &c), HPO_OK);
}

static void optuna_trials(const optuna_case *oc, const hpo_space *sp, hpo_trial *trials)
{
    for (size_t i = 0; i < oc->n_trials; i++) {
        hpo_trial *t = &trials[i];
        memset(t, 0, sizeof *t);
        t->number = (int64_t)i;
        t->state = oc->states[i] ? HPO_TRIAL_PRUNED : HPO_TRIAL_COMPLETE;
        for (size_t p = 0; p < sp->n; p++)
            ck_assert_int_eq(hpo_trial_add_param(t, sp->items[p].name, &sp->items[p].dist,
                                                 oc->params[i * sp->n + p]), HPO_OK);
        if (!oc->states[i])
            ck_assert_int_eq(hpo_trial_set_values(t, &oc->values[i], 1), HPO_OK);
        bool added;
        for (int r = 0; r < 2; r++)
            if (!isnan(oc->reports[2 * i + r]))
                ck_assert_int_eq(hpo_trial_add_report(t, 2 * r, oc->reports[2 * i + r], &added),
                                 HPO_OK);
        t->has_generation = oc->gens[i] >= 0;
        t->generation = oc->gens[i] >= 0 ? oc->gens[i] : 0;
    }
}

/* |a - b| over max(1, |b|): the eigen solvers (Jacobi here, LAPACK there) round differently */
static double off(const double *a, const double *b, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e = fmax(e, fabs(a[i] - b[i]) / fmax(1, fabs(b[i])));
    return e;
}

/* Before each of Optuna's trials, the replay over the trials before it (fresh, and going on
 * from the last) gives the generation Optuna stored in it, and where Optuna told a generation,
 * the state it pickled. */
START_TEST(replay_is_optunas_cmaessampler)
{
    double worst = 0;
    for (size_t ci = 0; ci < sizeof OPTUNA_CASES / sizeof OPTUNA_CASES[0]; ci++) {
        const optuna_case *oc = &OPTUNA_CASES[ci];
        hpo_space sp = {0};
        optuna_space(&sp);
        hpo_trial *trials = calloc(oc->n_trials, sizeof *trials);
        optuna_trials(oc, &sp, trials);
        hpo_cmaes_options o;
        hpo_cmaes_options_default(&o);
        o.popsize = (size_t)oc->popsize;
        o.sigma0 = oc->sigma0;
        o.n_startup_trials = oc->n_startup_trials;
        o.consider_pruned_trials = oc->consider_pruned;
        double x0[5] = {oc->x0[0], oc->x0[1], oc->x0[2], oc->x0[3], NAN};
        o.x0 = oc->has_x0 ? x0 : NULL;
        hpo_direction dir = oc->maximize ? HPO_MAXIMIZE : HPO_MINIMIZE;
        hpo_cmaes_run *cache = NULL;
        size_t told = 0;
        for (size_t i = 0; i < oc->n_trials; i++) {
            hpo_error err;
            hpo_cmaes_run *fresh = NULL;
            ck_assert_int_eq(hpo_cmaes_replay(&o, 1, &sp, dir, trials, i, &fresh, &err), HPO_OK);
            ck_assert_int_eq(hpo_cmaes_replay(&o, 1, &sp, dir, trials, i, &cache, &err), HPO_OK);
            same_state(hpo_cmaes_run_state(cache), hpo_cmaes_run_state(fresh));
            size_t finished = 0;
            double v;
            for (size_t k = 0; k < i; k++)
                finished += hpo_cmaes_trial_value(&o, &trials[k], &v);
            int64_t gen = finished < (size_t)oc->n_startup_trials
                              ? -1
                              : hpo_cmaes_run_generation(fresh);
            ck_assert_msg(gen == oc->gens[i], "%s, trial %zu: generation %lld, Optuna's %d",
                          oc->name, i, (long long)gen, oc->gens[i]);
            if (told < oc->n_told && (size_t)oc->told_at[told] == i) {
                const hpo_cmaes *s = hpo_cmaes_run_state(fresh);
                ck_assert_uint_eq(s->popsize, oc->popsize_used);
                double e = fmax(off(s->mean, oc->mean + told * 4, 4),
                                off(&s->sigma, oc->sigma + told, 1));
                e = fmax(e, off(s->C, oc->c + told * 16, 16));
                e = fmax(e, off(s->p_sigma, oc->p_sigma + told * 4, 4));
                e = fmax(e, off(s->p_c, oc->p_c + told * 4, 4));
                ck_assert_msg(e < 1e-12, "%s, trial %zu: state off by %.3g", oc->name, i, e);
                worst = fmax(worst, e);
                told++;
            }
            hpo_cmaes_run_free(fresh);
        }
        ck_assert_uint_eq(told, oc->n_told);
        hpo_cmaes_run_free(cache);
        hpo_trials_free(trials, oc->n_trials);
        hpo_space_clear(&sp);
    }
    if (getenv("HPO_TEST_VERBOSE"))
        fprintf(stderr, "replay_is_optunas_cmaessampler: worst difference %.3g\n", worst);
}
END_TEST

static void check_values(const double *v)
{
    for (size_t i = 0; i < space.n; i++)
        ck_assert_msg(hpo_dist_contains(&space.items[i].dist, v[i]), "%s = %.17g",
                      space.items[i].name, v[i]);
    ck_assert(v[3] < 3); /* a float stays below high, as Optuna's untransform keeps it */
}

/* Start-up and fewer than 2 dimensions: random, no generation; then the run's generation and
 * values on their grids, the same for the same stream. */
START_TEST(sample_gives_valid_params_and_the_generation)
{
    space_build();
    study_build();
    hpo_cmaes_options o = options(4);
    o.n_startup_trials = 2;
    hpo_cmaes_run *cache = NULL;
    hpo_error err;
    double v[6], w[6];
    int64_t gen;
    hpo_rng rng;
    hpo_rng_seed(&rng, 1);
    ck_assert_int_eq(hpo_cmaes_sample(&o, 7, &space, HPO_MINIMIZE, study, 1, &cache, &rng, v,
                                      &gen, &err), HPO_OK);
    ck_assert_int_eq(gen, -1);
    ck_assert_ptr_null(cache);
    check_values(v);
    for (int k = 0; k < 200; k++) {
        hpo_rng_seed(&rng, (uint64_t)k);
        ck_assert_int_eq(hpo_cmaes_sample(&o, 7, &space, HPO_MINIMIZE, study, N_STUDY, &cache,
                                          &rng, v, &gen, &err), HPO_OK);
        ck_assert_int_eq(gen, 2);
        check_values(v);
        hpo_rng_seed(&rng, (uint64_t)k);
        hpo_cmaes_run *fresh = NULL;
        ck_assert_int_eq(hpo_cmaes_sample(&o, 7, &space, HPO_MINIMIZE, study, N_STUDY, &fresh,
                                          &rng, w, &gen, &err), HPO_OK);
        ck_assert(memcmp(v, w, sizeof v) == 0);
        hpo_cmaes_run_free(fresh);
    }
    hpo_cmaes_run_free(cache);
    cache = NULL;

    /* one numeric dimension (x) and a categorical: random */
    hpo_space small = {0};
    ck_assert_int_eq(hpo_space_add(&small, "x", &space.items[3].dist), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&small, "opt", &space.items[1].dist), HPO_OK);
    ck_assert_int_eq(hpo_cmaes_sample(&o, 7, &small, HPO_MINIMIZE, study, N_STUDY, &cache, &rng,
                                      v, &gen, &err), HPO_OK);
    ck_assert_int_eq(gen, -1);
    ck_assert_ptr_null(cache);
    hpo_space_clear(&small);
    study_free();
}
END_TEST

/* The sampler over a quadratic finds its minimum. (The int's minimum is at the mean it starts
 * from: without Optuna's with_margin an int dimension whose told values all round alike stops
 * moving, as in Optuna.) */
START_TEST(sample_optimizes)
{
    space_build();
    hpo_cmaes_options o = options(0);
    size_t n_trials = 300;
    hpo_trial *trials = calloc(n_trials, sizeof *trials);
    hpo_cmaes_run *cache = NULL;
    hpo_error err;
    double best = INFINITY;
    for (size_t k = 0; k < n_trials; k++) {
        double v[6];
        int64_t gen;
        hpo_rng rng;
        hpo_rng_seed(&rng, 77 + k);
        ck_assert_int_eq(hpo_cmaes_sample(&o, 7, &space, HPO_MINIMIZE, trials, k, &cache, &rng,
                                          v, &gen, &err), HPO_OK);
        ck_assert_int_eq(gen >= 0, k >= 1);
        double p[N_DIMS] = {v[0], v[2], v[3], v[5]};
        double f = objective(p);
        best = fmin(best, f);
        make_trial(&trials[k], (int64_t)k, gen, HPO_TRIAL_COMPLETE, f, p);
    }
    ck_assert_int_gt(hpo_cmaes_run_generation(cache), 30);
    ck_assert_msg(best < 0.05, "best %.3g", best);
    hpo_cmaes_run_free(cache);
    hpo_trials_free(trials, n_trials);
    hpo_space_clear(&space);
}
END_TEST

START_TEST(bad_options_are_refused)
{
    space_build();
    hpo_error err;
    hpo_cmaes_options o = options(3);
    ck_assert_int_eq(hpo_cmaes_options_validate(&o, &space, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "sampler.popsize");
    o = options(0);
    o.inc_popsize = 0;
    ck_assert_int_eq(hpo_cmaes_options_validate(&o, &space, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "sampler.inc_popsize");
    o = options(0);
    o.sigma0 = -1;
    ck_assert_int_eq(hpo_cmaes_options_validate(&o, &space, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "sampler.sigma0");
    double x0[6] = {2, NAN, NAN, NAN, NAN, NAN}; /* lr above 1 */
    o = options(0);
    o.x0 = x0;
    ck_assert_int_eq(hpo_cmaes_options_validate(&o, &space, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "sampler.x0");
    x0[0] = NAN;
    x0[1] = 0; /* the categorical */
    ck_assert_int_eq(hpo_cmaes_options_validate(&o, &space, &err), HPO_E_INVALID);
    x0[1] = NAN;
    x0[2] = 10;
    ck_assert_int_eq(hpo_cmaes_options_validate(&o, &space, &err), HPO_OK);
    o = options(0);
    o.n_startup_trials = -1;
    ck_assert_int_eq(hpo_cmaes_options_validate(&o, &space, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "sampler.n_startup_trials");
    hpo_space_clear(&space);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cmaes_sampler");
    TCase *tc = tcase_create("cmaes_sampler");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, replay_is_the_core_told_directly);
    tcase_add_test(tc, replay_is_optunas_cmaessampler);
    tcase_add_test(tc, replay_takes_x0_sigma0_and_skips_incomplete_trials);
    tcase_add_test(tc, cached_replay_equals_a_fresh_one);
    tcase_add_test(tc, ipop_restarts_where_should_stop_says);
    tcase_add_test(tc, sample_gives_valid_params_and_the_generation);
    tcase_add_test(tc, sample_optimizes);
    tcase_add_test(tc, bad_options_are_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
