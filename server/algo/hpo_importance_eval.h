/* hpo_importance_eval: the evaluators behind hpo_importance (hpo_importance.h), private to
 * server/algo. hpo_importance.c filters the trials and keeps the params worth analysing (not
 * single-valued, not constant over the usable trials); each evaluator turns that data set into
 * one raw importance per param (>= 0, any scale: hpo_importance normalises). hpo_fanova.c: fANOVA
 * over the random forest of hpo_forest.h; hpo_ped_anova.c: PED-ANOVA. Pure: no I/O; memory from
 * the caller's arena. */
#ifndef HPO_IMPORTANCE_EVAL_H
#define HPO_IMPORTANCE_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "hpo_arena.h"
#include "hpo_error.h"
#include "hpo_forest.h"
#include "hpo_importance.h"
#include "hpo_model.h"
#include "hpo_space.h"

typedef struct {
    size_t n;                /* usable trials (>= 2) */
    size_t n_params;         /* analysed params (>= 1) */
    const hpo_dist **dists;  /* per analysed param: its distribution in the space (non-single) */
    const double *x;         /* n_params * n, column-major: x[p * n + i], internal values (a
                              * categorical's choice index), each inside dists[p] */
    const double *y;         /* n finite objective values */
} hpo_importance_data;

/* fANOVA's raw importances: ret[p], the mean over the forest's trees of non-zero variance of
 * param p's first-order variance share (all 0 when no tree varies). */
hpo_rc hpo_fanova_importance(hpo_arena *a, const hpo_importance_config *c,
                             const hpo_importance_data *data, double *ret, hpo_error *err);

/* The columns of a forest fit for fANOVA and the params they stand for. */
typedef struct {
    size_t n_cols;
    const double *lo, *hi;      /* per column: the bounds of the space, lo < hi */
    size_t n_params;
    const size_t *first_col;    /* param p: columns [first_col[p], first_col[p] + n_param_cols[p]) */
    const size_t *n_param_cols;
    const bool *one_hot;        /* param p's columns one-hot encode a categorical (values 0 and 1,
                                 * bounds [0, 1]); otherwise p has one numeric column */
} hpo_fanova_columns;

/* fANOVA over fitted trees (Optuna 3.1's _Fanova.get_importance, unnormalised): ret[p], the mean
 * over the trees whose variance over the space exceeds v_floor of the variance of param p's
 * marginal (a function of all its columns jointly) divided by the tree's variance; shares below
 * 1e-12 (rounding noise) are 0, and all are when no tree varies. Trees of any origin (tests feed scikit-learn's). HPO_E_NOMEM. */
hpo_rc hpo_fanova_forest(hpo_arena *a, const hpo_tree *trees, size_t n_trees,
                         const hpo_fanova_columns *cols, double v_floor, double *ret,
                         hpo_error *err);

/* PED-ANOVA's raw importances for a study of direction dir: ret[p], the top trials' fraction
 * times the Pearson divergence of param p's top distribution from its local one. */
hpo_rc hpo_ped_anova_importance(hpo_arena *a, const hpo_importance_config *c,
                                const hpo_importance_data *data, hpo_direction dir, double *ret,
                                hpo_error *err);

#endif
