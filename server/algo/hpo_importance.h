/* hpo_importance: parameter importance of a study's finished trials, as pure functions: Optuna's
 * fANOVA (3.1's FanovaImportanceEvaluator: a random forest, then each param's first-order share
 * of the forest's variance) and PED-ANOVA (3.6's PedAnovaImportanceEvaluator: how far the
 * distribution of a param among the top trials is from its distribution among all of them).
 * Search space, trials and a config in; one importance per param out, summing to 1. No I/O. */
#ifndef HPO_IMPORTANCE_H
#define HPO_IMPORTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_space.h"

typedef enum {
    HPO_IMPORTANCE_FANOVA = 0,
    HPO_IMPORTANCE_PED_ANOVA = 1,
} hpo_importance_evaluator;

typedef struct {
    hpo_importance_evaluator evaluator; /* FANOVA */
    size_t target;            /* the objective ranked: values[target] of each trial: 0 */
    /* fANOVA (Optuna's defaults) */
    int n_trees;              /* 64 */
    int max_depth;            /* 64 */
    uint64_t seed;            /* the forest's RNG: 0 (the same seed, the same importances) */
    /* PED-ANOVA (Optuna's defaults) */
    double baseline_quantile; /* the top trials: the best ceil(q * n) (at least 2, ties in): 0.1 */
    bool evaluate_on_local;   /* true: top vs all trials; false: top vs uniform on the space */
    int n_steps;              /* grid points of a numeric param's range: 50 */
    double prior_weight;      /* the estimators' prior: 1.0 */
} hpo_importance_config;

/* Optuna's defaults: fANOVA, 64 trees of depth at most 64, seed 0; PED-ANOVA 0.1, local, 50, 1. */
void hpo_importance_config_default(hpo_importance_config *c);
/* Range checks naming the field ("importance.n_trees", ...): n_trees 1..10000, max_depth
 * 1..1000, baseline_quantile in (0, 1], n_steps 2..1000, prior_weight > 0 and finite. */
hpo_rc hpo_importance_config_validate(const hpo_importance_config *c, hpo_error *err);

/* The importance of each param of `space` for the objective values[c->target] of a study of
 * direction dir (PED-ANOVA ranks by it; fANOVA does not depend on it): ret_importance[i] for
 * space->items[i], each >= 0, summing to 1.
 *
 * The usable trials (as Optuna's filter): COMPLETE, with a finite values[c->target], and having
 * every param of `space` with a value that fits its distribution there (the same type, for a
 * categorical the same number of choices, inside [low, high]); the others are left out, a trial
 * missing one param included. Fewer than 2 usable trials: HPO_E_INVALID.
 *
 * A param whose distribution has a single value, or that has one value over the usable trials,
 * gets 0 (and is left out of the analysis: it cannot explain anything). When the others cannot
 * be told apart either (the objective is constant, or no param has a first-order effect), they
 * share 1 evenly (every param does when none varies), as Optuna's normalisation does.
 *
 * fANOVA (Optuna 3.1): numeric params on their raw scale (log params too: 3.1 does not transform
 * them for importance; bounds [low, high], no half steps), a categorical one-hot (one column per
 * choice seen, bounds [0, 1]); the forest of hpo_forest.h (c->n_trees, c->max_depth, bootstrap,
 * seeded by c->seed); per tree with non-zero variance over the bounded space, a param's share is
 * the variance of the tree's prediction marginalised over the other params (averaged uniformly
 * over them), as a function of the param alone, divided by the tree's variance; for a categorical
 * that function is of all its one-hot columns jointly over [0, 1]^k, as Optuna's _FanovaTree
 * computes it. Shares are averaged over the trees and normalised.
 *
 * PED-ANOVA (Optuna 3.6): the top trials are those no worse than the max(2nd, ceil(q n)-th) best
 * value; per param, a Parzen estimator with Scott's bandwidth over a grid (numeric: n_steps
 * points of [low, high], log scale for log params, fewer for int and stepped params; categorical:
 * the choices) of the top trials and one of all usable trials (or the uniform distribution when
 * !evaluate_on_local); the importance is the Pearson divergence of the first from the second,
 * normalised over the params.
 *
 * Errors: HPO_E_INVALID (an invalid config, fewer than 2 usable trials), HPO_E_NOMEM. */
hpo_rc hpo_importance(const hpo_importance_config *c, const hpo_space *space,
                      const hpo_trial *trials, size_t n_trials, hpo_direction dir,
                      double *ret_importance, hpo_error *err);

#endif
