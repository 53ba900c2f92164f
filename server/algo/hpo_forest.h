/* hpo_forest: a random forest regressor as scikit-learn's RandomForestRegressor fits one with the
 * options Optuna's fANOVA uses (n_estimators = n_trees, max_depth, min_samples_split 2,
 * min_samples_leaf 1, max_features 1.0 = every feature, bootstrap): each tree is grown on a
 * bootstrap sample (n draws with replacement, a row's count being its weight), depth first, every
 * node split at the best threshold over all features by weighted variance (MSE) reduction, until
 * a node is pure, holds one distinct row, or reaches max_depth. Seeded with hpo_rng: the same
 * seed gives the same forest (not sklearn's trees: its RNG is numpy's). Pure: no I/O; trees and
 * scratch come from the caller's arena. */
#ifndef HPO_FOREST_H
#define HPO_FOREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_arena.h"
#include "hpo_error.h"

/* One node. Internal: rows with x[feature] <= threshold go to left, the others to right. */
typedef struct {
    int32_t feature;    /* the column split on; -1 for a leaf */
    uint32_t left, right;
    double threshold;
    double value;       /* the weighted mean of y over the node's rows (a leaf's prediction) */
} hpo_tree_node;

typedef struct {
    size_t n_nodes, n_leaves;
    hpo_tree_node *nodes; /* nodes[0] is the root; a node's children come after it */
} hpo_tree;

typedef struct {
    int n_trees;     /* >= 1 */
    int max_depth;   /* >= 1: the root has depth 0, nodes at max_depth are leaves */
    bool bootstrap;  /* false: every tree is fit on every row once (tests) */
    uint64_t seed;
} hpo_forest_config;

/* Fits c->n_trees trees on n rows (n >= 1) of d features (d >= 1): x is column-major
 * (x[j * n + i] is row i's feature j), y one target per row; all finite (the caller filters).
 * As sklearn's best splitter: split positions lie between distinct values of a feature (sorted),
 * the threshold is the midpoint (the lower value when the midpoint rounds onto the upper one),
 * the split maximises sum_left^2 / w_left + sum_right^2 / w_right, ties go to the first feature
 * in a random order drawn per node, then to the lowest threshold. Differences from sklearn,
 * none of which changes a tree on ordinary data: features stay doubles (sklearn rounds them to
 * float32 and needs values 1e-7 apart to split between them: values of a log-scale param near
 * its low bound are often closer), and a node is pure when its weighted variance is at most
 * DBL_EPSILON times y's variance (sklearn: DBL_EPSILON, whatever y's scale). ret_trees: c->n_trees
 * trees, their nodes in the arena. HPO_E_NOMEM; HPO_E_INVALID for a bad config or n, d of 0 or
 * over 2^31. */
hpo_rc hpo_forest_fit(hpo_arena *a, const hpo_forest_config *c, const double *x, size_t n,
                      size_t d, const double *y, hpo_tree *ret_trees, hpo_error *err);

/* The tree's prediction for one row of d features (row[j] is feature j). */
double hpo_tree_predict(const hpo_tree *t, const double *row);

#endif
