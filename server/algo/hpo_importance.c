/* hpo_importance: the API of hpo_importance.h: config, the usable trials, the params worth
 * analysing, normalisation. The evaluators are hpo_fanova.c and hpo_ped_anova.c. */
#include "hpo_importance.h"

#include <math.h>
#include <string.h>

#include "hpo_arena.h"
#include "hpo_importance_eval.h"

void hpo_importance_config_default(hpo_importance_config *c)
{
    *c = (hpo_importance_config){
        .evaluator = HPO_IMPORTANCE_FANOVA,
        .target = 0,
        .n_trees = 64,
        .max_depth = 64,
        .seed = 0,
        .baseline_quantile = 0.1,
        .evaluate_on_local = true,
        .n_steps = 50,
        .prior_weight = 1.0,
    };
}

hpo_rc hpo_importance_config_validate(const hpo_importance_config *c, hpo_error *err)
{
    if (c->evaluator != HPO_IMPORTANCE_FANOVA && c->evaluator != HPO_IMPORTANCE_PED_ANOVA)
        return hpo_error_set(err, HPO_E_INVALID, "importance.evaluator",
                             "evaluator must be fanova or ped_anova");
    if (c->n_trees < 1 || c->n_trees > 10000)
        return hpo_error_set(err, HPO_E_INVALID, "importance.n_trees",
                             "n_trees must be in [1, 10000] (got %d)", c->n_trees);
    if (c->max_depth < 1 || c->max_depth > 1000)
        return hpo_error_set(err, HPO_E_INVALID, "importance.max_depth",
                             "max_depth must be in [1, 1000] (got %d)", c->max_depth);
    if (!(c->baseline_quantile > 0 && c->baseline_quantile <= 1))
        return hpo_error_set(err, HPO_E_INVALID, "importance.baseline_quantile",
                             "baseline_quantile must be in (0, 1] (got %g)", c->baseline_quantile);
    if (c->n_steps < 2 || c->n_steps > 1000)
        return hpo_error_set(err, HPO_E_INVALID, "importance.n_steps",
                             "n_steps must be in [2, 1000] (got %d)", c->n_steps);
    if (!(c->prior_weight > 0) || !isfinite(c->prior_weight))
        return hpo_error_set(err, HPO_E_INVALID, "importance.prior_weight",
                             "prior_weight must be positive and finite (got %g)", c->prior_weight);
    return HPO_OK;
}

/* Whether d has a single value: low == high, or at most one choice. */
static bool dist_single(const hpo_dist *d)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return d->n_choices <= 1;
    return !(d->low < d->high);
}

/* Whether a trial's param p counts for the space's distribution d: the same type, the same
 * number of choices, a finite value inside d (as the TPE sampler reads history). */
static bool value_fits(const hpo_param *p, const hpo_dist *d)
{
    double v = p->value;
    if (p->dist.type != d->type || !isfinite(v))
        return false;
    if (d->type == HPO_DIST_CATEGORICAL)
        return p->dist.n_choices == d->n_choices && v >= 0 && v < (double)d->n_choices &&
               v == floor(v);
    return !(v < d->low || v > d->high);
}

/* The trial's param named `name` (params[hint] first: trials of one study set them in order). */
static const hpo_param *find_param(const hpo_trial *t, const char *name, size_t hint)
{
    if (hint < t->n_params && strcmp(t->params[hint].name, name) == 0)
        return &t->params[hint];
    return hpo_trial_param(t, name);
}

hpo_rc hpo_importance(const hpo_importance_config *c, const hpo_space *space,
                      const hpo_trial *trials, size_t n_trials, hpo_direction dir,
                      double *ret_importance, hpo_error *err)
{
    hpo_rc rc = hpo_importance_config_validate(c, err);
    if (rc != HPO_OK)
        return rc;
    size_t np = space->n;
    hpo_arena a = {0};
    size_t *use = hpo_arena_alloc(&a, n_trials + 1, sizeof(size_t));
    if (use == NULL) {
        hpo_arena_free(&a);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    size_t n = 0;
    for (size_t t = 0; t < n_trials; t++) {
        const hpo_trial *tr = &trials[t];
        if (tr->state != HPO_TRIAL_COMPLETE || tr->n_values <= c->target ||
            !isfinite(tr->values[c->target]))
            continue;
        bool ok = true;
        for (size_t i = 0; i < np && ok; i++) {
            const hpo_param *p = find_param(tr, space->items[i].name, i);
            ok = p != NULL && value_fits(p, &space->items[i].dist);
        }
        if (ok)
            use[n++] = t;
    }
    if (n < 2) {
        hpo_arena_free(&a);
        return hpo_error_set(err, HPO_E_INVALID, NULL,
                             "parameter importance needs at least 2 COMPLETE trials with a finite "
                             "value of objective %zu and every param of the space; %zu found",
                             c->target, n);
    }
    if (np == 0) {
        hpo_arena_free(&a);
        return HPO_OK;
    }

    /* the params worth analysing: not single-valued, not constant over the usable trials */
    double *x = hpo_arena_alloc(&a, np * n, sizeof(double));
    double *y = hpo_arena_alloc(&a, n, sizeof(double));
    const hpo_dist **dists = hpo_arena_alloc(&a, np, sizeof(*dists));
    size_t *which = hpo_arena_alloc(&a, np, sizeof(size_t));
    double *raw = hpo_arena_alloc(&a, np, sizeof(double));
    if (!x || !y || !dists || !which || !raw) {
        hpo_arena_free(&a);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    for (size_t k = 0; k < n; k++)
        y[k] = trials[use[k]].values[c->target];
    size_t na = 0;
    for (size_t i = 0; i < np; i++) {
        const hpo_dist *d = &space->items[i].dist;
        ret_importance[i] = 0;
        if (dist_single(d))
            continue;
        double *col = x + na * n;
        bool varies = false;
        for (size_t k = 0; k < n; k++) {
            col[k] = find_param(&trials[use[k]], space->items[i].name, i)->value;
            varies = varies || col[k] != col[0];
        }
        if (!varies)
            continue;
        dists[na] = d;
        which[na++] = i;
    }

    if (na > 0) {
        hpo_importance_data data = {.n = n, .n_params = na, .dists = dists, .x = x, .y = y};
        rc = c->evaluator == HPO_IMPORTANCE_FANOVA
                 ? hpo_fanova_importance(&a, c, &data, raw, err)
                 : hpo_ped_anova_importance(&a, c, &data, dir, raw, err);
        if (rc != HPO_OK) {
            hpo_arena_free(&a);
            return rc;
        }
    }

    /* normalise; nothing told apart: an even split among the analysed params (all when none) */
    double sum = 0;
    for (size_t p = 0; p < na; p++) {
        if (!(raw[p] >= 0) || !isfinite(raw[p]))
            raw[p] = 0;
        sum += raw[p];
    }
    if (sum > 0 && isfinite(sum)) {
        for (size_t p = 0; p < na; p++)
            ret_importance[which[p]] = raw[p] / sum;
    } else if (na > 0) {
        for (size_t p = 0; p < na; p++)
            ret_importance[which[p]] = 1.0 / (double)na;
    } else {
        for (size_t i = 0; i < np; i++)
            ret_importance[i] = 1.0 / (double)np;
    }
    hpo_arena_free(&a);
    return HPO_OK;
}
