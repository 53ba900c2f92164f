/* hpo_gp_sample: the GP sampler over a study's trials (see hpo_gp.h): observations and constant
 * liars read from the trials, values standardized, the fit warm-started, log EI maximized. */
#include "hpo_gp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_sort.h"

void hpo_gp_config_default(hpo_gp_config *c)
{
    *c = (hpo_gp_config){.n_startup_trials = 10, .deterministic = false};
}

hpo_rc hpo_gp_config_validate(const hpo_gp_config *c, hpo_error *err)
{
    if (c->n_startup_trials < 0)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.n_startup_trials",
                             "sampler.n_startup_trials must be >= 0");
    return HPO_OK;
}

void hpo_gp_warm_clear(hpo_gp_warm *w)
{
    if (!w)
        return;
    free(w->hp);
    memset(w, 0, sizeof *w);
}

/* Whether t has every param of space, of its type and in range; writes their GP coordinates. */
static bool coords_of(const hpo_space *space, const hpo_trial *t, double *x)
{
    for (size_t i = 0; i < space->n; i++) {
        const hpo_dist *d = &space->items[i].dist;
        const hpo_param *p = hpo_trial_param(t, space->items[i].name);
        if (!p || p->dist.type != d->type || !hpo_dist_contains(d, p->value) ||
            (d->type == HPO_DIST_CATEGORICAL && p->dist.n_choices != d->n_choices))
            return false;
        x[i] = hpo_gp_coord(d, p->value);
    }
    return true;
}

static bool observed(const hpo_trial *t)
{
    return t->state == HPO_TRIAL_COMPLETE && t->n_values >= 1 && !isnan(t->values[0]);
}

/* Scores (larger is better) standardized in place: infinite ones clipped to the finite
 * extremes first (all infinite: 0). */
static void standardize(double *y, size_t n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i])) {
            lo = fmin(lo, y[i]);
            hi = fmax(hi, y[i]);
        }
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            y[i] = lo > hi ? 0 : y[i] > 0 ? hi : lo;
        mean += y[i] / (double)n;
    }
    double var = 0;
    for (size_t i = 0; i < n; i++)
        var += (y[i] - mean) * (y[i] - mean) / (double)n;
    double sd = sqrt(var);
    for (size_t i = 0; i < n; i++)
        y[i] = sd > 1e-10 ? (y[i] - mean) / sd : 0;
}

typedef struct {
    double score; /* larger is better */
    int64_t number;
    size_t k;     /* index into the trials */
    bool keep;
} observation;

static bool better_score(const observation *a, const observation *b)
{
    return a->score > b->score;
}

static bool more_recent(const observation *a, const observation *b)
{
    return a->number > b->number;
}

static bool earlier_index(const observation *a, const observation *b)
{
    return a->k < b->k;
}

HPO_SORT_DEFINE(sort_by_score, observation, better_score)
HPO_SORT_DEFINE(sort_by_recency, observation, more_recent)
HPO_SORT_DEFINE(sort_by_index, observation, earlier_index)

/* Marks the observations the GP is fitted to: all of them up to HPO_GP_MAX_OBS, else the best
 * half of that and the most recent of the others (ties by trial order). o: sorted on return. */
static void choose(observation *o, observation *tmp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        o[i].keep = n <= HPO_GP_MAX_OBS;
    if (n <= HPO_GP_MAX_OBS)
        return;
    sort_by_score(o, tmp, n);
    size_t best = HPO_GP_MAX_OBS / 2;
    for (size_t i = 0; i < best; i++)
        o[i].keep = true;
    sort_by_recency(o + best, tmp, n - best);
    for (size_t i = best; i < HPO_GP_MAX_OBS; i++)
        o[i].keep = true;
}

hpo_rc hpo_gp_sample(const hpo_gp_config *c, const hpo_space *space, hpo_direction dir,
                     const hpo_trial *trials, size_t n_trials, hpo_rng *rng, hpo_gp_warm *warm,
                     double *ret_values, hpo_error *err)
{
    hpo_rc rc = hpo_gp_config_validate(c, err);
    if (rc)
        return rc;
    size_t d = space->n, nh = HPO_GP_N_HP(d), n_obs = 0;
    size_t need = c->n_startup_trials > 1 ? (size_t)c->n_startup_trials : 1;
    for (size_t k = 0; k < n_trials; k++)
        n_obs += observed(&trials[k]);
    if (n_obs < need || d == 0)
        return HPO_E_NO_WORK; /* not enough trials complete yet: the caller draws at random */

    size_t rows = HPO_GP_MAX_OBS + HPO_GP_MAX_LIARS;
    double *x = malloc((rows * d + rows + nh + 2 * d + 1) * sizeof *x);
    observation *obs = malloc(2 * n_trials * sizeof *obs);
    bool *cat = malloc((d + 1) * sizeof *cat);
    if (!x || !obs || !cat) {
        free(x);
        free(obs);
        free(cat);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    double *y = x + rows * d, *hp = y + rows, *best_x = hp + nh, *row = best_x + d;
    for (size_t i = 0; i < d; i++)
        cat[i] = space->items[i].dist.type == HPO_DIST_CATEGORICAL;
    n_obs = 0;
    for (size_t k = 0; k < n_trials; k++) {
        const hpo_trial *t = &trials[k];
        if (observed(t) && coords_of(space, t, row))
            obs[n_obs++] = (observation){
                .score = dir == HPO_MINIMIZE ? -t->values[0] : t->values[0],
                .number = t->number, .k = k};
    }
    if (n_obs < need) { /* some complete trials lack a declared param */
        free(x);
        free(obs);
        free(cat);
        return HPO_E_NO_WORK;
    }
    choose(obs, obs + n_trials, n_obs);
    /* rows: the chosen observations in trial order, then the liars (running ones first) */
    size_t n = 0;
    for (size_t j = 0; j < n_obs; j++)
        if (obs[j].keep)
            obs[n++] = obs[j];
    sort_by_index(obs, obs + n_trials, n);
    for (size_t j = 0; j < n; j++) {
        coords_of(space, &trials[obs[j].k], x + j * d);
        y[j] = obs[j].score;
    }
    n_obs = n;
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < n_trials && n < n_obs + HPO_GP_MAX_LIARS; k++)
            if (trials[k].state == (pass == 0 ? HPO_TRIAL_RUNNING : HPO_TRIAL_WAITING) &&
                coords_of(space, &trials[k], x + n * d))
                n++;
    standardize(y, n_obs);
    size_t i_best = 0;
    for (size_t i = 1; i < n_obs; i++)
        if (y[i] > y[i_best])
            i_best = i;
    double best = y[i_best];

    hpo_gp_fit_options fo;
    hpo_gp_fit_options_default(&fo);
    fo.deterministic = c->deterministic;
    hpo_gp_data data = {.n = n_obs, .d = d, .x = x, .y = y, .categorical = cat};
    const double *init = warm && warm->hp && warm->n_hp == nh ? warm->hp : NULL;
    rc = hpo_gp_fit(&data, &fo, init, hp, NULL, err);
    if (!rc && warm) {
        if (warm->n_hp != nh) {
            double *w = realloc(warm->hp, nh * sizeof *w);
            if (w) {
                warm->hp = w;
                warm->n_hp = nh;
            }
        }
        if (warm->n_hp == nh)
            memcpy(warm->hp, hp, nh * sizeof *hp);
    }
    hpo_gp *gp = NULL;
    if (!rc && n > n_obs) {
        /* the kriging believer: each running or waiting trial is told the mean the GP fitted to
         * the complete ones predicts at its params, without noise, so the variance collapses
         * there and the improvement is measured from the best of them too (a lie at the best value drew parallel asks into the best one's neighbourhood:
         * on Rosenbrock-5D with 8 workers the median best was 26.6, against 5.3 with this lie,
         * over 5 seeds) */
        rc = hpo_gp_new(&data, hp, &gp, err);
        for (size_t i = n_obs; !rc && i < n; i++) {
            double var;
            hpo_gp_predict(gp, x + i * d, &y[i], &var);
            if (y[i] > best) /* believed better: the level to improve on */
                best = y[i];
        }
        hpo_gp_free(gp);
        gp = NULL;
    }
    data.n = n; /* the liars join the fitted GP, as if known exactly */
    data.n_exact = n - n_obs;
    if (!rc)
        rc = hpo_gp_new(&data, hp, &gp, err);
    hpo_gp_acq_options ao;
    hpo_gp_acq_options_default(&ao);
    if (!rc) {
        memcpy(best_x, x + i_best * d, d * sizeof *best_x);
        rc = hpo_gp_acq_maximize(gp, space, best, best_x, 1, &ao, rng, best_x, NULL, err);
    }
    for (size_t i = 0; !rc && i < d; i++)
        ret_values[i] = hpo_gp_internal(&space->items[i].dist, best_x[i]);
    if (rc == HPO_E_INVALID) { /* no finite likelihood: the caller draws at random */
        hpo_error_clear(err);
        rc = HPO_E_NO_WORK;
    }
    hpo_gp_free(gp);
    free(x);
    free(obs);
    free(cat);
    return rc;
}
