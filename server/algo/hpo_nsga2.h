/* hpo_nsga2: the NSGA-II core of Optuna 3.1's NSGAIISampler on plain arrays: (constrained)
 * dominance, the fast non-dominated sort, crowding distance and sort, elite selection, and the
 * child operator (binary tournament, uniform crossover, mutation mask). Pure: no I/O, no globals.
 *
 * Orders matter: Optuna's sorts are stable and its non-dominated sort moves members around, so
 * which individuals survive a tie depends on the order they come in. The functions take the
 * individuals in the order Optuna's lists hold them and return indexes in the order Optuna's
 * lists end up in; see hpo_nsga2_select_elite for the order the sampler must keep. */
#ifndef HPO_NSGA2_H
#define HPO_NSGA2_H

#include <stdbool.h>
#include <stddef.h>

#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_rng.h"

/* Optuna's defaults (NSGAIISampler's crossover_prob and swapping_prob). */
#define HPO_NSGA2_CROSSOVER_PROB 0.9
#define HPO_NSGA2_SWAPPING_PROB 0.5

/* A population: borrowed arrays, read only. Individual i is row i. */
typedef struct {
    size_t n;                    /* individuals */
    size_t m;                    /* objectives, >= 1 */
    const double *values;        /* n x m row-major, as reported (not negated for maximize);
                                  * finite or infinite, never NaN (Optuna fails such trials) */
    const hpo_direction *dirs;   /* m; maximized values are negated inside, as Optuna does */
    /* NULL: the study has no constraints function (Optuna's _dominates). Otherwise n values, the
     * constrained domination of _constrained_dominates: NaN for an individual without
     * constraint values (Optuna stores None there: it is dominated by every individual that has
     * them), else its violation, hpo_nsga2_violation of its constraint values (0: feasible). */
    const double *violation;
} hpo_nsga2_pop;

/* The violation of k constraint values as _constrained_dominates sums it: the positive values
 * added left to right (0 when all are <= 0, which is what "feasible" means). NaN when one of
 * them is NaN: Optuna 3.1 then stores None as the trial's constraints (and still completes it),
 * so pass the NaN on as "has no constraint values". */
double hpo_nsga2_violation(const double *c, size_t k);

/* Whether individual a dominates b: _dominates (values equal after negating the maximized ones:
 * no; else every one <=) or, with p->violation, _constrained_dominates (one without constraint
 * values loses to one with them, two without compare by _dominates, feasible beats infeasible,
 * two infeasible compare by violation, strictly smaller wins, two feasible by _dominates). */
bool hpo_nsga2_dominates(const hpo_nsga2_pop *p, size_t a, size_t b);

/* _fast_non_dominated_sort over the individuals in the order 0..n-1. ret_rank (n, or NULL):
 * each individual's front, 0 the non-dominated. ret_order (n, or NULL): the individuals front by
 * front, each front in the order Optuna's list of it holds them (its in-place removal with
 * swaps decides it). ret_n_fronts may be NULL. HPO_E_INVALID for a NaN value, a negative
 * violation or m == 0 (nothing written); HPO_E_NOMEM. */
hpo_rc hpo_nsga2_ranks(const hpo_nsga2_pop *p, size_t *ret_rank, size_t *ret_order,
                       size_t *ret_n_fronts, hpo_error *err);

/* The first fronts of hpo_nsga2_ranks only, until they hold `need` individuals or more (every
 * front when need >= n): ret_rank[i] is i's front for the individuals in them, SIZE_MAX for the
 * others. The same fronts (a front: the individuals no other one left after the earlier fronts
 * dominates), each found in one pass that keeps the non-dominated ones seen so far, so the cost
 * is n times the fronts' sizes instead of n x n: what TPE's split needs at each ask.
 * *ret_n_fronts (may be NULL): the fronts found. Errors as hpo_nsga2_ranks. */
hpo_rc hpo_nsga2_first_fronts(const hpo_nsga2_pop *p, size_t need, size_t *ret_rank,
                              size_t *ret_n_fronts, hpo_error *err);

/* _calc_crowding_distance of the k individuals members[0..k) (in the order Optuna's list holds
 * them: the per-objective stable sorts run one after the other on it, so among equal values
 * the order decides who sits at the ends): ret_dist[j] is members[j]'s distance. Each
 * objective's gap between the two neighbours (the ends' outer neighbours -inf and +inf, equal
 * neighbours a gap of 0) over the width between the smallest and largest finite value (1 when
 * that is not positive), summed over the objectives that are not all equal; raw values, the
 * direction does not matter. HPO_E_NOMEM. */
hpo_rc hpo_nsga2_crowding(const hpo_nsga2_pop *p, const size_t *members, size_t k,
                          double *ret_dist, hpo_error *err);

/* _crowding_distance_sort: reorders members[0..k) in place to Optuna's order, descending
 * distance, equal distances in the reverse of the order the last objective's sort left them
 * (a stable ascending sort, then reversed). HPO_E_NOMEM (members unchanged). */
hpo_rc hpo_nsga2_crowding_sort(const hpo_nsga2_pop *p, size_t *members, size_t k,
                               hpo_error *err);

/* _select_elite_population: whole fronts while they fit strictly below pop_size, then the front
 * that reaches it crowding-sorted and cut (so a last front that fits exactly is reordered too).
 * Writes min(n, pop_size) indexes to ret_elite (room for that many) in Optuna's order and their
 * number to *ret_n.
 *
 * The order the sampler must pass (that of NSGAIISampler._collect_parent_population): the
 * generation's COMPLETE trials in trial-number order, then the previous generation's elite in
 * the order this function returned it. Keeping the elite in that order (the parent population
 * of the next children) reproduces Optuna's choice generation by generation. HPO_E_INVALID as
 * hpo_nsga2_ranks, and for pop_size == 0; HPO_E_NOMEM. */
hpo_rc hpo_nsga2_select_elite(const hpo_nsga2_pop *p, size_t pop_size, size_t *ret_elite,
                              size_t *ret_n, hpo_error *err);

/* _select_parent over the k candidates cand[0..k) (k >= 1): two uniform draws (with
 * replacement), the first wins if it dominates the second, else the second. */
size_t hpo_nsga2_select_parent(const hpo_nsga2_pop *p, const size_t *cand, size_t k,
                               hpo_rng *rng);

/* How a child is made; hpo_nsga2_child_options_default gives Optuna's defaults. */
typedef struct {
    double crossover_prob;       /* in [0, 1]; 0.9 */
    double swapping_prob;        /* in [0, 1]; 0.5: a param comes from the second parent when
                                  * its uniform draw is >= swapping_prob */
    double mutation_prob;        /* in [0, 1], or NaN: 1 / max(1, n_params) */
} hpo_nsga2_child_options;

void hpo_nsga2_child_options_default(hpo_nsga2_child_options *ret);

/* One child of the parent population p (the elite, in its order) as sample_relative makes it
 * with the default UniformCrossover. params: p->n rows of n_params internal values (one fixed
 * param order; the relative search space, single-valued distributions left out, as Optuna
 * does); categorical (n_params, or NULL: none): which params are categorical (internal value =
 * choice index).
 *
 * With probability crossover_prob: two parents by hpo_nsga2_select_parent, the second among the
 * individuals other than the first (_select_parents); each categorical param, then each numerical
 * one, from the second parent when its draw is >= swapping_prob, else from the first (uniform
 * crossover in Optuna's transformed space is a choice between the parents' values, so the
 * internal values are copied; the crossover always lands in the search space, so Optuna's retry
 * loop never repeats). Otherwise a copy of one parent drawn uniformly. Then each param (the
 * categorical ones first after a crossover, as Optuna's dict holds them) is kept when its draw
 * is >= mutation_prob, else ret_draw[j] = true: the caller draws it at random (Optuna's
 * RandomSampler via sample_independent) and ret_values[j] holds the parent value meanwhile.
 *
 * ret_values, ret_draw: n_params each. ret_parents (2, or NULL): the parents' indexes (twice the
 * same one when copied). The draws come from hpo_rng (numpy's stream cannot be reproduced).
 * HPO_E_INVALID for p->n < 2 or options out of range (nothing written). */
hpo_rc hpo_nsga2_child(const hpo_nsga2_pop *p, const double *params, size_t n_params,
                       const bool *categorical, const hpo_nsga2_child_options *opt,
                       hpo_rng *rng, double *ret_values, bool *ret_draw, size_t *ret_parents,
                       hpo_error *err);

#endif
