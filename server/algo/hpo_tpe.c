/* hpo_tpe: Optuna 3.1's TPE sampler (univariate, multivariate, group-decomposed, constant liar,
 * several objectives) over a study's observations (a view of its hpo_obs log and its running
 * trials; the entry points over a trials array build a temporary log): the observations in
 * number order and their split (several objectives: hpo_tpe_mo.c), then the draw from the
 * Parzen estimators (hpo_tpe_draw.c); pure, no I/O. */
#include "hpo_tpe.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_arena.h"
#include "hpo_obs.h"
#include "hpo_parzen.h"
#include "hpo_sampler.h"
#include "hpo_sort.h"
#include "hpo_tpe_draw.h"
#include "hpo_tpe_mo.h"

#define FLAT_WEIGHTS 25     /* the newest observations weighing 1 in default_weights */

/* ------------------------------------------------------------------------------------------ */
/* Configuration and Optuna's default rules. */

void hpo_tpe_config_default(hpo_tpe_config *c)
{
    *c = (hpo_tpe_config){
        .n_startup_trials = 10,
        .startup = HPO_TPE_STARTUP_RANDOM,
        .n_ei_candidates = 24,
        .gamma_fraction = 0.1,
        .gamma_max = 25,
        .prior_weight = 1.0,
        .consider_magic_clip = true,
        .consider_endpoints = false,
        .multivariate = false,
        .group = false,
        .constant_liar = true,
        .constraints = true,
    };
}

hpo_rc hpo_tpe_config_validate(const hpo_tpe_config *c, hpo_error *err)
{
    if (c->n_startup_trials < 0)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.n_startup_trials",
                             "n_startup_trials must be >= 0 (got %d)", c->n_startup_trials);
    if (c->n_ei_candidates < 1)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.n_ei_candidates",
                             "n_ei_candidates must be >= 1 (got %d)", c->n_ei_candidates);
    if (!(c->gamma_fraction > 0 && c->gamma_fraction <= 1))
        return hpo_error_set(err, HPO_E_INVALID, "sampler.gamma",
                             "gamma must be in (0, 1] (got %g)", c->gamma_fraction);
    if (c->gamma_max < 1)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.gamma_max",
                             "gamma_max must be >= 1 (got %d)", c->gamma_max);
    if (!(c->prior_weight > 0 && isfinite(c->prior_weight)))
        return hpo_error_set(err, HPO_E_INVALID, "sampler.prior_weight",
                             "prior_weight must be a finite number > 0 (got %g)",
                             c->prior_weight);
    return HPO_OK;
}

size_t hpo_tpe_gamma(const hpo_tpe_config *c, size_t n)
{
    double g = ceil(c->gamma_fraction * (double)n);
    size_t gmax = c->gamma_max > 0 ? (size_t)c->gamma_max : 1;
    if (!(g >= 0))
        g = 0;
    size_t r = g >= (double)gmax ? gmax : (size_t)g;
    return r > n ? n : r;
}

void hpo_tpe_weights(size_t n, double *ret)
{
    if (n < FLAT_WEIGHTS) {
        for (size_t i = 0; i < n; i++)
            ret[i] = 1.0;
        return;
    }
    /* numpy.linspace(1/n, 1, n - 25), then 25 ones */
    size_t ramp = n - FLAT_WEIGHTS;
    double start = 1.0 / (double)n;
    double step = ramp > 1 ? (1.0 - start) / (double)(ramp - 1) : 0;
    for (size_t i = 0; i < ramp; i++)
        ret[i] = (double)i * step + start;
    if (ramp > 1)
        ret[ramp - 1] = 1.0;
    for (size_t i = ramp; i < n; i++)
        ret[i] = 1.0;
}

/* ------------------------------------------------------------------------------------------ */
/* Sorting: a stable merge sort of (k0, k1, k2) keys, NaN k2 last; used for ranking. k0 is the
 * violation of constrained TPE (0 for every observation otherwise). */

typedef struct {
    double k0, k1, k2;
    size_t idx;
} sort_item;

static bool key_less(const sort_item *x, const sort_item *y)
{
    if (x->k0 != y->k0)
        return x->k0 < y->k0;
    if (x->k1 != y->k1)
        return x->k1 < y->k1;
    if (isnan(x->k2))
        return false;
    if (isnan(y->k2))
        return true;
    return x->k2 < y->k2;
}


/* Stable merge sort of v[0..n) by key (tmp: n items of scratch). */
HPO_SORT_DEFINE(sort_items, sort_item, key_less)

/* ------------------------------------------------------------------------------------------ */
/* Observations: the log's rows and the running trials, in trial-number order, and which of them
 * are below. */


typedef struct {
    int64_t number;
    size_t idx;
} num_item;

static bool num_less(const num_item *x, const num_item *y)
{
    return x->number < y->number;
}

/* Stable merge sort of v[0..n) by number (tmp: n items of scratch). */
HPO_SORT_DEFINE(sort_nums, num_item, num_less)

/* ret[0..m): the indexes of num[0..m) by number, ties in index order: as they are when already
 * sorted, by a counting placement when the numbers are dense (max - min < 4m: rows arrive in
 * finishing order, a permutation of nearly consecutive numbers), else by a merge sort. */
static hpo_rc number_order(hpo_arena *a, const int64_t *num, size_t m, size_t *ret)
{
    bool sorted = true;
    int64_t lo = m > 0 ? num[0] : 0, hi = lo;
    for (size_t i = 0; i < m; i++) {
        ret[i] = i;
        if (i > 0 && num[i] < num[i - 1])
            sorted = false;
        lo = num[i] < lo ? num[i] : lo;
        hi = num[i] > hi ? num[i] : hi;
    }
    if (sorted)
        return HPO_OK;
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    if (span / 4 < m) {
        size_t *at = hpo_arena_alloc(a, (size_t)span + 2, sizeof(size_t));
        if (at == NULL)
            return HPO_E_NOMEM;
        memset(at, 0, ((size_t)span + 2) * sizeof(size_t));
        for (size_t i = 0; i < m; i++)
            at[(uint64_t)num[i] - (uint64_t)lo + 1]++;
        for (size_t k = 1; k <= (size_t)span; k++)
            at[k] += at[k - 1];
        for (size_t i = 0; i < m; i++)
            ret[at[(uint64_t)num[i] - (uint64_t)lo]++] = i;
        return HPO_OK;
    }
    num_item *items = hpo_arena_alloc(a, m, sizeof(num_item));
    num_item *tmp = hpo_arena_alloc(a, m, sizeof(num_item));
    if (items == NULL || tmp == NULL)
        return HPO_E_NOMEM;
    for (size_t i = 0; i < m; i++)
        items[i] = (num_item){ num[i], i };
    sort_nums(items, tmp, m);
    for (size_t i = 0; i < m; i++)
        ret[i] = items[i].idx;
    return HPO_OK;
}

/* Inserts item into the sorted best[0..*len) (capacity cap), keeping the earliest of ties. */
static void keep_best(sort_item *best, size_t *len, size_t cap, const sort_item *item)
{
    if (cap == 0)
        return;
    if (*len == cap && !key_less(item, &best[cap - 1]))
        return;
    size_t j = *len < cap ? (*len)++ : cap - 1;
    while (j > 0 && key_less(item, &best[j - 1])) {
        best[j] = best[j - 1];
        j--;
    }
    best[j] = *item;
}

/* The observations of the log's prefix and, with constant_liar, of the running trials (at
 * equal numbers the log's rows first), in number order, none below yet. */
static hpo_rc order_observations(hpo_arena *a, const hpo_tpe_config *c, const hpo_obs_view *log,
                                 const hpo_trial *running, size_t n_running, tpe_obs *ret)
{
    *ret = (tpe_obs){ .cfg = c, .log = log, .run_trials = running, .a = a };
    size_t nl = log->n_rows, nr = c->constant_liar ? n_running : 0, m = nl + nr;
    const hpo_obs_row **rows = hpo_arena_alloc(a, nl, sizeof(*rows));
    int64_t *num = hpo_arena_alloc(a, m, sizeof(int64_t));
    ret->src = hpo_arena_alloc(a, m, sizeof(size_t));
    ret->row = hpo_arena_alloc(a, m, sizeof(*ret->row));
    ret->below = hpo_arena_alloc(a, m, 1);
    ret->running = hpo_arena_alloc(a, m, 1);
    if (!rows || !num || !ret->src || !ret->row || !ret->below || !ret->running)
        return HPO_E_NOMEM;
    for (size_t i = 0; i < nl;) {
        size_t len;
        const hpo_obs_row *r = hpo_obs_view_rows(log, i, &len);
        for (size_t k = 0; k < len; k++, i++) {
            rows[i] = &r[k];
            num[i] = r[k].number;
        }
    }
    for (size_t k = 0; k < nr; k++)
        num[nl + k] = running[k].number;
    hpo_rc rc = number_order(a, num, m, ret->src);
    if (rc != HPO_OK)
        return rc;
    for (size_t j = 0; j < m; j++) {
        size_t s = ret->src[j];
        bool run = s >= nl;
        ret->row[j] = run ? NULL : rows[s];
        ret->running[j] = run;
        ret->below[j] = 0;
    }
    ret->m = m;
    ret->n = nl;
    return HPO_OK;
}

/* The observations of one objective (order_observations), ranked by the rows' keys, the running
 * ones worst. Constrained (Optuna 3.1's _split_observation_pairs with violations): feasible rows
 * first, by their keys; then the others by violation (rows without constraints and running
 * trials: +inf), equal violations in number order. Optuna splits in two cases (below filled by
 * the feasible ones, or by feasible and the least violating); ranking by this one order picks
 * the same. */
static hpo_rc collect_observations(hpo_arena *a, const hpo_tpe_config *c, const hpo_obs_view *log,
                                   const hpo_trial *running, size_t n_running, tpe_obs *ret)
{
    hpo_rc rc = order_observations(a, c, log, running, n_running, ret);
    size_t m = ret->m;
    sort_item *keys = rc == HPO_OK ? hpo_arena_alloc(a, m, sizeof(sort_item)) : NULL;
    if (rc != HPO_OK || keys == NULL)
        return rc != HPO_OK ? rc : HPO_E_NOMEM;

    /* Optuna's key: the row's (COMPLETE and PRUNED), (inf, inf) for RUNNING; minimised. */
    bool constrained = c->constraints && log->n_constrained > 0;
    for (size_t j = 0; j < m; j++) {
        const hpo_obs_row *r = ret->row[j];
        double v = !constrained ? 0 : r == NULL ? INFINITY : r->violation;
        if (v > 0)
            keys[j] = (sort_item){ v, 0, 0, j };
        else
            keys[j] = r == NULL ? (sort_item){ 0, INFINITY, INFINITY, j }
                                : (sort_item){ 0, r->k1, r->k2, j };
    }

    size_t nb = hpo_tpe_gamma(c, ret->n);
    if (nb == 0)
        return HPO_OK;
    if (nb <= 64) {
        /* gamma is small: a bounded insertion pass beats sorting everything */
        sort_item best[64];
        size_t len = 0;
        for (size_t j = 0; j < m; j++)
            keep_best(best, &len, nb, &keys[j]);
        for (size_t j = 0; j < len; j++)
            ret->below[best[j].idx] = 1;
    } else {
        sort_item *tmp = hpo_arena_alloc(a, m, sizeof(sort_item));
        if (tmp == NULL)
            return HPO_E_NOMEM;
        sort_items(keys, tmp, m);
        for (size_t j = 0; j < nb && j < m; j++)
            ret->below[keys[j].idx] = 1;
    }
    return HPO_OK;
}

/* A log of trials[0..n) for the wrappers over a trials array: a row per finished trial in array
 * order (row_trial[r]: its index), and the RUNNING trials (shallow copies; run_trial[k]: their
 * index). Several objectives (n_dirs > 1): a row per COMPLETE trial with its n_dirs values, none
 * NaN, and no running trials (Optuna 3.1's multi-objective TPE leaves PRUNED and RUNNING trials
 * out). All in arena a. */
typedef struct {
    hpo_obs *obs;
    hpo_obs_view view;
    hpo_trial *running;
    size_t n_running;
    size_t *row_trial, *run_trial;
} trials_log;

static bool has_values(const hpo_trial *t, size_t n_dirs)
{
    if (t->state != HPO_TRIAL_COMPLETE || t->n_values != n_dirs || t->values == NULL)
        return false;
    for (size_t k = 0; k < n_dirs; k++)
        if (isnan(t->values[k]))
            return false;
    return true;
}

static hpo_rc trials_log_build(hpo_arena *a, const hpo_direction *dirs, size_t n_dirs,
                               const hpo_trial *trials, size_t n_trials, trials_log *ret)
{
    *ret = (trials_log){ .obs = hpo_obs_new_temp(dirs[0], a) };
    ret->run_trial = hpo_arena_alloc(a, n_trials, sizeof(size_t));
    ret->row_trial = hpo_arena_alloc(a, n_trials, sizeof(size_t));
    if (!ret->obs || !ret->run_trial || !ret->row_trial)
        return HPO_E_NOMEM;
    size_t rows = 0, nr = 0;
    for (size_t i = 0; i < n_trials; i++) {
#if defined(__GNUC__)
        /* the trials' params, values and names are scattered on the heap: fetch ahead (the
         * params arrays and values 4 trials ahead, the names they point to 2 trials ahead) */
        if (i + 4 < n_trials) {
            const char *pp = (const char *)trials[i + 4].params;
            size_t bytes = trials[i + 4].n_params * sizeof(hpo_param);
            for (size_t b = 0; b < bytes; b += 64)
                __builtin_prefetch(pp + b);
            __builtin_prefetch(trials[i + 4].values);
        }
        if (i + 2 < n_trials)
            for (size_t k = 0; k < trials[i + 2].n_params; k++)
                __builtin_prefetch(trials[i + 2].params[k].name);
#endif
        if (n_dirs > 1 && !has_values(&trials[i], n_dirs))
            continue;
        if (trials[i].state == HPO_TRIAL_RUNNING) {
            ret->run_trial[nr++] = i;
            continue;
        }
        hpo_rc rc = hpo_obs_add(ret->obs, &trials[i]);
        if (rc != HPO_OK)
            return rc;
        if (hpo_obs_rows(ret->obs) > rows)
            ret->row_trial[rows++] = i;
    }
    ret->running = hpo_arena_alloc(a, nr, sizeof(hpo_trial));
    if (ret->running == NULL)
        return HPO_E_NOMEM;
    for (size_t k = 0; k < nr; k++)
        ret->running[k] = trials[ret->run_trial[k]];
    ret->n_running = nr;
    hpo_obs_view_take(ret->obs, &ret->view);
    return HPO_OK;
}

/* The observations of several objectives (the COMPLETE trials of tl, in number order) and
 * Optuna 3.1's multi-objective split and below weights (hpo_tpe_mo.c): maximised objectives
 * negated; constrained as one objective is (c->constraints and some trial gave constraints). */
static hpo_rc collect_multi(hpo_arena *a, const hpo_tpe_config *c, const trials_log *tl,
                            const hpo_trial *trials, const hpo_direction *dirs, size_t n_dirs,
                            tpe_obs *ret)
{
    hpo_rc rc = order_observations(a, c, &tl->view, NULL, 0, ret);
    if (rc != HPO_OK)
        return rc;
    size_t m = ret->m;
    bool constrained = c->constraints && tl->view.n_constrained > 0;
    double *loss = hpo_arena_alloc(a, m, n_dirs * sizeof(double));
    double *viol = constrained ? hpo_arena_alloc(a, m, sizeof(double)) : NULL;
    ret->weight = hpo_arena_alloc(a, m, sizeof(double));
    if (!loss || (constrained && !viol) || !ret->weight)
        return HPO_E_NOMEM;
    for (size_t j = 0; j < m; j++) {
        const hpo_trial *t = &trials[tl->row_trial[ret->src[j]]];
        for (size_t k = 0; k < n_dirs; k++)
            loss[j * n_dirs + k] = dirs[k] == HPO_MAXIMIZE ? -t->values[k] : t->values[k];
        if (viol)
            viol[j] = ret->row[j]->violation;
    }
    return hpo_tpe_mo_split(a, loss, m, n_dirs, viol, hpo_tpe_gamma(c, m), ret->below,
                            ret->weight);
}

/* The observations of trials[0..n) for a study in directions dirs[0..n_dirs), split; tl_ret
 * receives the log they were read from. */
static hpo_rc collect_trials(hpo_arena *a, const hpo_tpe_config *c, const hpo_direction *dirs,
                             size_t n_dirs, const hpo_trial *trials, size_t n_trials,
                             trials_log *tl, tpe_obs *ret)
{
    hpo_rc rc = trials_log_build(a, dirs, n_dirs, trials, n_trials, tl);
    if (rc != HPO_OK)
        return rc;
    return n_dirs > 1 ? collect_multi(a, c, tl, trials, dirs, n_dirs, ret)
                      : collect_observations(a, c, &tl->view, tl->running, tl->n_running, ret);
}

/* The side of each of trials[0..n) (-1: not an observation) and, with ret_weight, its weight. */
static hpo_rc split_trials(const hpo_tpe_config *c, const hpo_direction *dirs, size_t n_dirs,
                           const hpo_trial *trials, size_t n_trials, signed char *ret_side,
                           double *ret_weight, size_t *ret_n)
{
    hpo_arena a = { 0 };
    trials_log tl;
    tpe_obs o;
    hpo_rc rc = collect_trials(&a, c, dirs, n_dirs, trials, n_trials, &tl, &o);
    if (rc == HPO_OK) {
        for (size_t i = 0; i < n_trials; i++) {
            ret_side[i] = -1;
            if (ret_weight)
                ret_weight[i] = 0;
        }
        for (size_t j = 0; j < o.m; j++) {
            size_t s = o.src[j];
            size_t t = s < tl.view.n_rows ? tl.row_trial[s] : tl.run_trial[s - tl.view.n_rows];
            ret_side[t] = o.below[j] ? 0 : 1;
            if (ret_weight && o.below[j])
                ret_weight[t] = o.weight ? o.weight[j] : 1.0;
        }
        *ret_n = o.n;
    }
    hpo_arena_free(&a);
    return rc;
}

hpo_rc hpo_tpe_split(const hpo_tpe_config *c, hpo_direction dir, const hpo_trial *trials,
                     size_t n_trials, signed char *ret_side, size_t *ret_n)
{
    return split_trials(c, &dir, 1, trials, n_trials, ret_side, NULL, ret_n);
}

static hpo_rc check_multi(const hpo_tpe_config *c, size_t n_dirs, hpo_error *err)
{
    if (n_dirs < 2)
        return hpo_error_set(err, HPO_E_INVALID, "directions",
                             "multi-objective TPE needs two objectives or more (got %zu)",
                             n_dirs);
    return hpo_tpe_config_validate(c, err);
}

hpo_rc hpo_tpe_split_multi(const hpo_tpe_config *c, const hpo_direction *dirs, size_t n_dirs,
                           const hpo_trial *trials, size_t n_trials, signed char *ret_side,
                           double *ret_weight, size_t *ret_n)
{
    hpo_rc rc = check_multi(c, n_dirs, NULL);
    return rc == HPO_OK ? split_trials(c, dirs, n_dirs, trials, n_trials, ret_side, ret_weight,
                                       ret_n)
                        : rc;
}

/* Samples the space from the split observations o: at random before n_startup_trials (or
 * HPO_E_NO_WORK for a quasi-random start-up), else by TPE; in o's arena. */
static hpo_rc sample_set(tpe_obs *o, const hpo_space *space, hpo_rng *rng, double *ret_values)
{
    const hpo_tpe_config *c = o->cfg;
    double *out = hpo_arena_alloc(o->a, space->n, sizeof(double));
    if (out == NULL)
        return HPO_E_NOMEM;
    o->rng = rng;
    hpo_rc rc = HPO_OK;
    if (o->n < (size_t)c->n_startup_trials && c->startup != HPO_TPE_STARTUP_RANDOM) {
        rc = HPO_E_NO_WORK;
    } else if (o->n < (size_t)c->n_startup_trials) {
        for (size_t p = 0; p < space->n; p++)
            out[p] = hpo_sampler_random(&space->items[p].dist, rng);
    } else {
        rc = hpo_tpe_draw_space(o, space, out);
    }
    if (rc == HPO_OK)
        memcpy(ret_values, out, space->n * sizeof(double));
    return rc;
}

static hpo_rc sample_error(hpo_rc rc, hpo_error *err)
{
    return hpo_error_set(err, rc, NULL,
                         rc == HPO_E_NOMEM ? "out of memory in the TPE sampler"
                                           : "a trial has too many params for the TPE sampler");
}

hpo_rc hpo_tpe_sample_obs(const hpo_tpe_config *c, const hpo_space *space,
                          const hpo_obs_view *obs, const hpo_trial *running, size_t n_running,
                          hpo_rng *rng, double *ret_values, hpo_error *err)
{
    hpo_rc rc = hpo_tpe_config_validate(c, err);
    if (rc != HPO_OK)
        return rc;
    if (space->n == 0)
        return HPO_OK;
    hpo_arena a = { 0 };
    tpe_obs o;
    rc = collect_observations(&a, c, obs, running, n_running, &o);
    if (rc == HPO_OK)
        rc = sample_set(&o, space, rng, ret_values);
    hpo_arena_free(&a);
    return rc == HPO_OK || rc == HPO_E_NO_WORK ? rc : sample_error(rc, err);
}

/* hpo_tpe_sample and hpo_tpe_sample_multi once the config is valid. */
static hpo_rc sample_trials(const hpo_tpe_config *c, const hpo_space *space,
                            const hpo_direction *dirs, size_t n_dirs, const hpo_trial *trials,
                            size_t n_trials, hpo_rng *rng, double *ret_values, hpo_error *err)
{
    if (space->n == 0)
        return HPO_OK;
    hpo_arena a = { 0 };
    trials_log tl;
    tpe_obs o;
    hpo_rc rc = collect_trials(&a, c, dirs, n_dirs, trials, n_trials, &tl, &o);
    if (rc == HPO_OK)
        rc = sample_set(&o, space, rng, ret_values);
    hpo_arena_free(&a);
    return rc == HPO_OK || rc == HPO_E_NO_WORK ? rc : sample_error(rc, err);
}

hpo_rc hpo_tpe_sample(const hpo_tpe_config *c, const hpo_space *space, hpo_direction dir,
                      const hpo_trial *trials, size_t n_trials, hpo_rng *rng, double *ret_values,
                      hpo_error *err)
{
    hpo_rc rc = hpo_tpe_config_validate(c, err);
    return rc == HPO_OK ? sample_trials(c, space, &dir, 1, trials, n_trials, rng, ret_values, err)
                        : rc;
}

hpo_rc hpo_tpe_sample_multi(const hpo_tpe_config *c, const hpo_space *space,
                            const hpo_direction *dirs, size_t n_dirs, const hpo_trial *trials,
                            size_t n_trials, hpo_rng *rng, double *ret_values, hpo_error *err)
{
    hpo_rc rc = check_multi(c, n_dirs, err);
    return rc == HPO_OK
               ? sample_trials(c, space, dirs, n_dirs, trials, n_trials, rng, ret_values, err)
               : rc;
}

/* One param from split observations, in their arena; HPO_E_NO_WORK before n_startup_trials. */
static hpo_rc sample_param_set(tpe_obs *o, const char *name, const hpo_dist *d, hpo_rng *rng,
                               double *ret)
{
    if (o->n < (size_t)o->cfg->n_startup_trials)
        return HPO_E_NO_WORK;
    o->rng = rng;
    return hpo_tpe_draw_param(o, name, d, ret);
}

double hpo_tpe_sample_param_obs(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                                const hpo_obs_view *obs, const hpo_trial *running,
                                size_t n_running, hpo_rng *rng)
{
    if (hpo_parzen_dist_single(d))
        return hpo_tpe_draw_single(d);
    if (hpo_tpe_config_validate(c, NULL) != HPO_OK)
        return hpo_sampler_random(d, rng);
    hpo_arena a = { 0 };
    tpe_obs o;
    double value;
    hpo_rc rc = collect_observations(&a, c, obs, running, n_running, &o);
    if (rc == HPO_OK)
        rc = sample_param_set(&o, name, d, rng, &value);
    if (rc != HPO_OK)
        value = hpo_sampler_random(d, rng);
    hpo_arena_free(&a);
    return value;
}

/* hpo_tpe_sample_param and hpo_tpe_sample_param_multi once the config is valid. */
static double sample_param_trials(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                                  const hpo_direction *dirs, size_t n_dirs,
                                  const hpo_trial *trials, size_t n_trials, hpo_rng *rng)
{
    if (hpo_parzen_dist_single(d))
        return hpo_tpe_draw_single(d);
    hpo_arena a = { 0 };
    trials_log tl;
    tpe_obs o;
    double value;
    hpo_rc rc = collect_trials(&a, c, dirs, n_dirs, trials, n_trials, &tl, &o);
    if (rc == HPO_OK)
        rc = sample_param_set(&o, name, d, rng, &value);
    if (rc != HPO_OK)
        value = hpo_sampler_random(d, rng);
    hpo_arena_free(&a);
    return value;
}

double hpo_tpe_sample_param(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                            hpo_direction dir, const hpo_trial *trials, size_t n_trials,
                            hpo_rng *rng)
{
    if (hpo_tpe_config_validate(c, NULL) != HPO_OK)
        return hpo_parzen_dist_single(d) ? hpo_tpe_draw_single(d) : hpo_sampler_random(d, rng);
    return sample_param_trials(c, name, d, &dir, 1, trials, n_trials, rng);
}

double hpo_tpe_sample_param_multi(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                                  const hpo_direction *dirs, size_t n_dirs,
                                  const hpo_trial *trials, size_t n_trials, hpo_rng *rng)
{
    if (check_multi(c, n_dirs, NULL) != HPO_OK)
        return hpo_parzen_dist_single(d) ? hpo_tpe_draw_single(d) : hpo_sampler_random(d, rng);
    return sample_param_trials(c, name, d, dirs, n_dirs, trials, n_trials, rng);
}

hpo_rc hpo_tpe_log_ratio(const hpo_tpe_config *c, const hpo_space *space,
                         const hpo_direction *dirs, size_t n_dirs, const hpo_trial *trials,
                         size_t n_trials, const double *xs, size_t nx, double *ret,
                         hpo_error *err)
{
    hpo_rc rc = n_dirs == 0 ? hpo_error_set(err, HPO_E_INVALID, "directions", "no direction")
                            : hpo_tpe_config_validate(c, err);
    if (rc != HPO_OK)
        return rc;
    hpo_arena a = { 0 };
    trials_log tl;
    tpe_obs o;
    rc = collect_trials(&a, c, dirs, n_dirs, trials, n_trials, &tl, &o);
    if (rc == HPO_OK)
        rc = hpo_tpe_draw_log_ratio(&o, space, xs, nx, ret);
    hpo_arena_free(&a);
    if (rc == HPO_E_INVALID)
        return hpo_error_set(err, rc, "search_space", "a param has a single value");
    return rc == HPO_OK ? rc : sample_error(rc, err);
}
