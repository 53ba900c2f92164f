/* hpo_hypervolume: the volume a set of points dominates up to a reference point (every objective
 * minimized), exactly, for any number of objectives (the WFG algorithm of While, Bradstreet and
 * Barone, with a sweep for two objectives). Pure. */
#ifndef HPO_HYPERVOLUME_H
#define HPO_HYPERVOLUME_H

#include <stddef.h>

/* points: n rows of m values (row-major). A point not strictly below ref in every objective adds
 * nothing. Returns -1 when out of memory. */
double hpo_hypervolume(const double *points, size_t n, size_t m, const double *ref);

/* Optuna's default reference point when none is given: per objective, the worst value w among
 * points, moved away by 10 % (max(1.1 w, 0.9 w)), or `zero` when that is 0 (a tiny positive
 * number: Optuna's hypervolume takes DBL_EPSILON, its TPE 1e-12). */
void hpo_hypervolume_default_ref(const double *points, size_t n, size_t m, double zero,
                                 double *ref);

#endif
