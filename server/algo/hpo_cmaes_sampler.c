/* hpo_cmaes_sampler: CmaEsSampler's optimizer replayed from the trials' generations, its ask
 * mapped back onto the declared params, and a cache check that lets a replay go on from the last. */
#include "hpo_cmaes_sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_hash.h"
#include "hpo_sampler.h"

#define CMAES_SIGMA_FLOOR 1e-10 /* Optuna's _EPS: sigma0 is never below it */

struct hpo_cmaes_run {
    hpo_cmaes *cma;
    size_t n;              /* dimensions */
    size_t *dims;          /* n indices into the space */
    double *lower, *upper; /* n each: the transformed bounds */
    int64_t generation;    /* generations told, all restarts together */
    int restarts;
    /* per told generation: its popsize and a hash of what was told (numbers, x, values) */
    size_t *gen_popsize;
    uint64_t *gen_hash;
    size_t cap_gens;
};

void hpo_cmaes_options_default(hpo_cmaes_options *o)
{
    *o = (hpo_cmaes_options){.n_startup_trials = 1, .inc_popsize = 2};
}

void hpo_cmaes_options_clear(hpo_cmaes_options *o)
{
    if (!o)
        return;
    free(o->x0);
    hpo_cmaes_options_default(o);
}

void hpo_cmaes_run_free(hpo_cmaes_run *r)
{
    if (!r)
        return;
    hpo_cmaes_free(r->cma);
    free(r->dims);
    free(r->lower);
    free(r->upper);
    free(r->gen_popsize);
    free(r->gen_hash);
    free(r);
}

const hpo_cmaes *hpo_cmaes_run_state(const hpo_cmaes_run *r) { return r->cma; }
int64_t hpo_cmaes_run_generation(const hpo_cmaes_run *r) { return r->generation; }
int hpo_cmaes_run_restarts(const hpo_cmaes_run *r) { return r->restarts; }

const size_t *hpo_cmaes_run_dims(const hpo_cmaes_run *r, size_t *ret_n)
{
    *ret_n = r->n;
    return r->dims;
}

bool hpo_cmaes_trial_value(const hpo_cmaes_options *o, const hpo_trial *t, double *ret_value)
{
    double v;
    if (t->state == HPO_TRIAL_COMPLETE && t->n_values >= 1)
        v = t->values[0];
    else if (t->state == HPO_TRIAL_PRUNED && o->consider_pruned_trials && t->n_reports > 0)
        v = hpo_trial_last_report(t)->value;
    else
        return false;
    if (isnan(v))
        return false; /* Optuna fails a trial whose objective is NaN */
    *ret_value = v;
    return true;
}

/* ---- the transformed space (Optuna's _SearchSpaceTransform with transform_step) ---- */

static bool is_dimension(const hpo_dist *d)
{
    return d->type != HPO_DIST_CATEGORICAL && d->low < d->high; /* Optuna skips single() ones */
}

static double transform(const hpo_dist *d, double v)
{
    return d->log ? log(v) : v;
}

static void bounds_of(const hpo_dist *d, double *lo, double *hi)
{
    double half = d->type == HPO_DIST_INT ? 0.5 * (d->step > 0 ? d->step : 1)
                  : d->step > 0          ? 0.5 * d->step
                                         : 0;
    if (d->type == HPO_DIST_INT && d->log) {
        *lo = log(d->low - half);
        *hi = log(d->high + half);
    } else {
        *lo = transform(d, d->low) - half;
        *hi = transform(d, d->high) + half;
    }
}

/* _untransform_numerical_param: back onto the distribution. */
static double untransform(const hpo_dist *d, double x)
{
    if (d->type == HPO_DIST_INT || d->step > 0)
        return hpo_dist_round(d, d->log ? exp(x) : x);
    double v = d->log ? exp(x) : x;
    double below_high = nextafter(d->high, -INFINITY);
    return v < d->low ? d->low : v > below_high ? below_high : v;
}

/* ---- the run ---- */

static hpo_rc nomem(hpo_error *err)
{
    return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
}

/* A new optimizer for restart r of the run (r > 0: a random mean, as Optuna's ipop). */
static hpo_rc new_optimizer(hpo_cmaes_run *run, const hpo_cmaes_options *o, uint64_t seed,
                            size_t popsize, hpo_error *err)
{
    size_t n = run->n;
    double *mean = malloc(n * sizeof *mean);
    if (!mean)
        return nomem(err);
    double sigma = o->sigma0;
    if (!(sigma > 0)) {
        sigma = INFINITY;
        for (size_t i = 0; i < n; i++)
            sigma = fmin(sigma, (run->upper[i] - run->lower[i]) / 6);
    }
    sigma = fmax(sigma, CMAES_SIGMA_FLOOR);
    hpo_rng rng;
    hpo_rng_seed(&rng, seed ^ hpo_hash_name("cmaes restart") ^
                           ((uint64_t)run->restarts * 0x9E3779B97F4A7C15ull));
    for (size_t i = 0; i < n; i++) {
        double lo = run->lower[i], hi = run->upper[i];
        if (run->restarts > 0)
            mean[i] = lo + (hi - lo) * hpo_rng_uniform(&rng);
        else if (o->x0 && !isnan(o->x0[run->dims[i]]))
            mean[i] = o->x0[run->dims[i]]; /* transformed by the caller (replay_start) */
        else
            mean[i] = lo + (hi - lo) / 2;
    }
    hpo_cmaes_config c = {.n = n, .mean = mean, .sigma = sigma, .lower = run->lower,
                          .upper = run->upper, .popsize = popsize,
                          .n_max_resampling = 10 * n};
    hpo_cmaes *cma = NULL;
    hpo_rc rc = hpo_cmaes_new(&c, &cma, err);
    free(mean);
    if (rc)
        return rc;
    hpo_cmaes_free(run->cma);
    run->cma = cma;
    return HPO_OK;
}

/* A run at generation 0: its dimensions, bounds and first optimizer. HPO_E_NO_WORK (no
 * message) for fewer than 2 dimensions. */
static hpo_rc replay_start(const hpo_cmaes_options *o, uint64_t seed, const hpo_space *space,
                           hpo_cmaes_run **ret, hpo_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < space->n; i++)
        n += is_dimension(&space->items[i].dist);
    if (n < 2)
        return HPO_E_NO_WORK;
    hpo_cmaes_run *run = calloc(1, sizeof *run);
    if (!run || !(run->dims = malloc(n * sizeof *run->dims)) ||
        !(run->lower = malloc(n * sizeof(double))) || !(run->upper = malloc(n * sizeof(double)))) {
        hpo_cmaes_run_free(run);
        return nomem(err);
    }
    run->n = n;
    for (size_t i = 0, k = 0; i < space->n; i++)
        if (is_dimension(&space->items[i].dist)) {
            run->dims[k] = i;
            bounds_of(&space->items[i].dist, &run->lower[k], &run->upper[k]);
            k++;
        }
    /* x0 is given in internal values: the optimizer's mean is their transform */
    hpo_cmaes_options t = *o;
    double *x0 = NULL;
    if (o->x0) {
        if (!(x0 = malloc(space->n * sizeof *x0))) {
            hpo_cmaes_run_free(run);
            return nomem(err);
        }
        for (size_t i = 0; i < space->n; i++)
            x0[i] = isnan(o->x0[i]) ? NAN : transform(&space->items[i].dist, o->x0[i]);
        t.x0 = x0;
    }
    hpo_rc rc = new_optimizer(run, &t, seed, o->popsize, err);
    free(x0);
    if (rc) {
        hpo_cmaes_run_free(run);
        return rc;
    }
    *ret = run;
    return HPO_OK;
}

/* The trials that may be told, grouped by generation: idx[first[g] .. first[g + 1]) are the
 * indices of generation g's finished trials in the order given (the service's: by number);
 * values[k] is trial k's value as minimized. Generations at or past n_gens (more than the
 * trials could fill) are left out. */
typedef struct {
    size_t n_gens;
    size_t *first; /* n_gens + 1 */
    size_t *idx;
    double *values; /* n_trials */
} buckets;

static void buckets_free(buckets *b)
{
    free(b->first);
    free(b->idx);
    free(b->values);
}

/* Param `i` of the space in trial t: the service sets declared params in declared order (fixed
 * ones first), so position i is tried before a search by name. */
static const hpo_param *param_of(const hpo_space *space, size_t i, const hpo_trial *t)
{
    const char *name = space->items[i].name;
    if (i < t->n_params && strcmp(t->params[i].name, name) == 0)
        return &t->params[i];
    return hpo_trial_param(t, name);
}

static bool has_params(const hpo_space *space, const hpo_cmaes_run *run, const hpo_trial *t)
{
    for (size_t k = 0; k < run->n; k++)
        if (!param_of(space, run->dims[k], t))
            return false;
    return true;
}

static hpo_rc buckets_fill(buckets *b, const hpo_cmaes_options *o, const hpo_space *space,
                           const hpo_cmaes_run *run, hpo_direction dir, const hpo_trial *trials,
                           size_t n_trials, hpo_error *err)
{
    memset(b, 0, sizeof *b);
    b->n_gens = n_trials / 4 + 1; /* a generation takes at least 4 trials */
    b->first = calloc(b->n_gens + 1, sizeof *b->first);
    b->idx = malloc((n_trials ? n_trials : 1) * sizeof *b->idx);
    b->values = malloc((n_trials ? n_trials : 1) * sizeof *b->values);
    if (!b->first || !b->idx || !b->values)
        return nomem(err);
    /* counting sort by generation, stable */
    for (size_t k = 0; k < n_trials; k++) {
        const hpo_trial *t = &trials[k];
        double v;
        bool ok = t->has_generation && t->generation >= 0 &&
                  (uint64_t)t->generation < b->n_gens && hpo_cmaes_trial_value(o, t, &v) &&
                  has_params(space, run, t);
        b->values[k] = ok ? (dir == HPO_MAXIMIZE ? -v : v) : NAN;
        if (ok)
            b->first[t->generation + 1]++;
    }
    for (size_t g = 0; g < b->n_gens; g++)
        b->first[g + 1] += b->first[g];
    size_t *next = malloc((b->n_gens ? b->n_gens : 1) * sizeof *next);
    if (!next)
        return nomem(err);
    memcpy(next, b->first, b->n_gens * sizeof *next);
    for (size_t k = 0; k < n_trials; k++)
        if (!isnan(b->values[k]))
            b->idx[next[trials[k].generation]++] = k;
    free(next);
    return HPO_OK;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 29);
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Generation g's first popsize trials: their x (popsize x n) and values into x and y, and the
 * hash of both with the trials' numbers. */
static uint64_t gather(const buckets *b, size_t g, size_t popsize, const hpo_space *space,
                       const hpo_cmaes_run *run, const hpo_trial *trials, double *x, double *y)
{
    uint64_t h = mix(0, popsize);
    for (size_t k = 0; k < popsize; k++) {
        const hpo_trial *t = &trials[b->idx[b->first[g] + k]];
        y[k] = b->values[b->idx[b->first[g] + k]];
        h = mix(mix(h, (uint64_t)t->number), bits(y[k]));
        for (size_t i = 0; i < run->n; i++) {
            const hpo_param_def *def = &space->items[run->dims[i]];
            x[k * run->n + i] = transform(&def->dist, param_of(space, run->dims[i], t)->value);
            h = mix(h, bits(x[k * run->n + i]));
        }
    }
    return h;
}

/* Whether run's told generations are told the same from b. */
static bool run_matches(const hpo_cmaes_run *run, const buckets *b, const hpo_space *space,
                        const hpo_trial *trials, double *x, double *y)
{
    for (size_t g = 0; g < (size_t)run->generation; g++) {
        size_t popsize = run->gen_popsize[g];
        if (g >= b->n_gens || b->first[g + 1] - b->first[g] < popsize ||
            gather(b, g, popsize, space, run, trials, x, y) != run->gen_hash[g])
            return false;
    }
    return true;
}

/* Tells every generation that b can fill, from the run's current one on. */
static hpo_rc run_advance(hpo_cmaes_run *run, const hpo_cmaes_options *o, uint64_t seed,
                          const buckets *b, const hpo_space *space, const hpo_trial *trials,
                          hpo_error *err)
{
    double *x = NULL, *y = NULL;
    size_t cap = 0;
    hpo_rc rc = HPO_OK;
    for (size_t g = (size_t)run->generation; g < b->n_gens; g++) {
        size_t popsize = run->cma->popsize;
        if (b->first[g + 1] - b->first[g] < popsize)
            break;
        if (popsize > cap) {
            free(x);
            free(y);
            cap = popsize;
            x = malloc(cap * run->n * sizeof *x);
            y = malloc(cap * sizeof *y);
            if (!x || !y) {
                rc = nomem(err);
                break;
            }
        }
        if ((size_t)run->generation == run->cap_gens) {
            size_t c = run->cap_gens ? 2 * run->cap_gens : 16;
            size_t *p = realloc(run->gen_popsize, c * sizeof *p);
            if (p)
                run->gen_popsize = p;
            uint64_t *h = realloc(run->gen_hash, c * sizeof *h);
            if (h)
                run->gen_hash = h;
            if (!p || !h) {
                rc = nomem(err);
                break;
            }
            run->cap_gens = c;
        }
        uint64_t hash = gather(b, g, popsize, space, run, trials, x, y);
        if ((rc = hpo_cmaes_tell(run->cma, x, y, err)))
            break;
        run->gen_popsize[g] = popsize;
        run->gen_hash[g] = hash;
        run->generation++;
        if (o->ipop && hpo_cmaes_should_stop(run->cma)) {
            uint64_t next = (uint64_t)popsize * (uint64_t)o->inc_popsize;
            run->restarts++;
            if ((rc = new_optimizer(run, o, seed,
                                    next < HPO_CMAES_POPSIZE_MAX ? (size_t)next
                                                                 : HPO_CMAES_POPSIZE_MAX,
                                    err)))
                break;
        }
    }
    free(x);
    free(y);
    return rc;
}

hpo_rc hpo_cmaes_replay(const hpo_cmaes_options *o, uint64_t seed, const hpo_space *space,
                        hpo_direction dir, const hpo_trial *trials, size_t n_trials,
                        hpo_cmaes_run **run, hpo_error *err)
{
    hpo_cmaes_run *r = *run;
    *run = NULL;
    buckets b = {0};
    hpo_rc rc = HPO_OK;
    if (!r && (rc = replay_start(o, seed, space, &r, err)))
        return rc;
    if ((rc = buckets_fill(&b, o, space, r, dir, trials, n_trials, err)))
        goto done;
    if (r->generation > 0) {
        size_t most = 0;
        for (size_t g = 0; g < (size_t)r->generation; g++)
            most = r->gen_popsize[g] > most ? r->gen_popsize[g] : most;
        double *x = malloc(most * r->n * sizeof *x), *y = malloc(most * sizeof *y);
        bool same = x && y && run_matches(r, &b, space, trials, x, y);
        free(x);
        free(y);
        if (!x || !y) {
            rc = nomem(err);
            goto done;
        }
        if (!same) {
            hpo_cmaes_run_free(r);
            r = NULL;
            if ((rc = replay_start(o, seed, space, &r, err)))
                goto done;
        }
    }
    rc = run_advance(r, o, seed, &b, space, trials, err);
done:
    buckets_free(&b);
    if (rc) {
        hpo_cmaes_run_free(r);
        return rc;
    }
    *run = r;
    return HPO_OK;
}

/* ---- sampling ---- */

hpo_rc hpo_cmaes_sample(const hpo_cmaes_options *o, uint64_t seed, const hpo_space *space,
                        hpo_direction dir, const hpo_trial *trials, size_t n_trials,
                        hpo_cmaes_run **run, hpo_rng *rng, double *ret_values,
                        int64_t *ret_generation, hpo_error *err)
{
    *ret_generation = -1;
    size_t finished = 0;
    double v;
    for (size_t k = 0; k < n_trials; k++)
        finished += hpo_cmaes_trial_value(o, &trials[k], &v);
    hpo_rc rc = HPO_E_NO_WORK;
    if (finished >= (size_t)(o->n_startup_trials > 0 ? o->n_startup_trials : 0))
        rc = hpo_cmaes_replay(o, seed, space, dir, trials, n_trials, run, err);
    if (rc && rc != HPO_E_NO_WORK)
        return rc;
    bool *done = calloc(space->n ? space->n : 1, sizeof *done);
    if (!done)
        return nomem(err);
    if (rc == HPO_OK) {
        size_t n;
        const size_t *dims = hpo_cmaes_run_dims(*run, &n);
        double *x = malloc(n * sizeof *x);
        if (!x || (rc = hpo_cmaes_ask((*run)->cma, rng, x, err))) {
            if (!x)
                rc = nomem(err);
            free(x);
            free(done);
            return rc;
        }
        for (size_t k = 0; k < n; k++) {
            ret_values[dims[k]] = untransform(&space->items[dims[k]].dist, x[k]);
            done[dims[k]] = true;
        }
        free(x);
        *ret_generation = (*run)->generation;
    }
    /* Optuna's independent sampler: categorical and single-valued params, or all of them */
    for (size_t i = 0; i < space->n; i++)
        if (!done[i])
            ret_values[i] = hpo_sampler_random(&space->items[i].dist, rng);
    free(done);
    return HPO_OK;
}

/* ---- configuration ---- */

hpo_rc hpo_cmaes_options_validate(const hpo_cmaes_options *o, const hpo_space *space,
                                  hpo_error *err)
{
    if (o->n_startup_trials < 0)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.n_startup_trials",
                             "sampler.n_startup_trials must be >= 0");
    if (o->sigma0 < 0 || !isfinite(o->sigma0))
        return hpo_error_set(err, HPO_E_INVALID, "sampler.sigma0",
                             "sampler.sigma0 must be null or a number > 0");
    if (o->popsize != 0 && (o->popsize < 4 || o->popsize > HPO_CMAES_POPSIZE_MAX))
        return hpo_error_set(err, HPO_E_INVALID, "sampler.popsize",
                             "sampler.popsize must be null or an integer in [4, %d]",
                             HPO_CMAES_POPSIZE_MAX);
    if (o->inc_popsize < 1 || o->inc_popsize > HPO_CMAES_INC_POPSIZE_MAX)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.inc_popsize",
                             "sampler.inc_popsize must be an integer in [1, %d]",
                             HPO_CMAES_INC_POPSIZE_MAX);
    for (size_t i = 0; o->x0 && i < space->n; i++) {
        const hpo_dist *d = &space->items[i].dist;
        if (!isnan(o->x0[i]) && (d->type == HPO_DIST_CATEGORICAL || !(o->x0[i] >= d->low) ||
                                 !(o->x0[i] <= d->high)))
            return hpo_error_set(err, HPO_E_INVALID, "sampler.x0",
                                 "sampler.x0.%s must be a number in [%.17g, %.17g]",
                                 space->items[i].name, d->low, d->high);
    }
    /* what the core asserts on (a popsize for the dimensions, x0 in the bounds) */
    hpo_cmaes_run *run = NULL;
    hpo_rc rc = replay_start(o, 0, space, &run, err);
    hpo_cmaes_run_free(run);
    if (rc == HPO_E_INVALID && err) {
        char why[HPO_ERROR_MESSAGE_MAX];
        memcpy(why, err->message, sizeof why);
        return hpo_error_set(err, HPO_E_INVALID, "sampler.type",
                             "the cmaes sampler cannot work over this search space: %.200s", why);
    }
    return rc == HPO_E_NO_WORK ? HPO_OK : rc;
}
