/* hpo_tpe_mo: the multi-objective part of Optuna 3.1's TPE on plain arrays, private to
 * server/algo (hpo_tpe.c calls it; the tests reach it through hpo_tpe_split_multi): which
 * observations are below (whole non-domination ranks, then a greedy hypervolume subset of the
 * rank that must be cut; feasible observations first when constrained) and the weights of the
 * below ones in l(x) (their hypervolume contributions). Pure: no I/O. */
#ifndef HPO_TPE_MO_H
#define HPO_TPE_MO_H

#include <stddef.h>

#include "hpo_arena.h"
#include "hpo_error.h"

/* Optuna's EPS of samplers/_tpe/sampler.py: a zero reference coordinate becomes it, every
 * contribution is raised by it, and infeasible below observations weigh it. */
#define HPO_TPE_MO_EPS 1e-12

/* The split and the below weights of n observations, in trial-number order (Optuna's order of
 * its observation list): loss holds n rows of m >= 2 values, every objective minimised (the
 * maximised ones negated, as Optuna does), never NaN. violation: n values, 0 feasible, > 0 (or
 * +inf: no constraints) not; NULL when the study is unconstrained. n_below <= n.
 *
 * Unconstrained (_split_observation_pairs): whole non-domination ranks (hpo_nsga2_first_fronts:
 * the fronts of Optuna's _calculate_nondomination_rank) while they fit in n_below, then the
 * rest from the next rank by _solve_hssp's greedy hypervolume subset selection (reference point
 * from that rank's worst values; equal gains go to the earliest observation). Constrained: by
 * violation (a stable order), the first n_below unless the n_below + 1-th is feasible, in which
 * case the unconstrained split among the feasible observations.
 *
 * ret_below[i]: 1 below, 0 above. ret_weight[i]: a below observation's weight
 * (_calculate_weights_below_for_multi_objective: among the feasible below ones, the volume each
 * adds to the others' up to the reference point of their worst values, plus HPO_TPE_MO_EPS, over
 * the largest, one when it is alone; an infeasible below one HPO_TPE_MO_EPS); 0 above.
 * Scratch from a. HPO_E_NOMEM. */
hpo_rc hpo_tpe_mo_split(hpo_arena *a, const double *loss, size_t n, size_t m,
                        const double *violation, size_t n_below, unsigned char *ret_below,
                        double *ret_weight);

#endif
