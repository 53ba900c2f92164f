/* hpo_sampler: samplers as pure functions: a distribution (and later the history) in, a value out. */
#ifndef HPO_SAMPLER_H
#define HPO_SAMPLER_H

#include "hpo_rng.h"
#include "hpo_space.h"

/* Random search: an internal value drawn uniformly over d's internal space (log space for log
 * params; stepped and int ranges widened by step/2 on each side, then rounded onto the grid). */
double hpo_sampler_random(const hpo_dist *d, hpo_rng *rng);
/* The same map from u in [0, 1) (a quasi-random coordinate): the internal value at u of d's
 * internal space (a categorical's choice floor(u * n_choices)). */
double hpo_sampler_at(const hpo_dist *d, double u);
/* Its inverse: where in [0, 1] that map puts the internal value (a value of an int or stepped
 * float's grid: the centre of its cell; clipped to [0, 1]; 0.5 when low == high). A
 * categorical's index k: (k + 0.5) / n_choices. */
double hpo_sampler_unit(const hpo_dist *d, double internal);

#endif
