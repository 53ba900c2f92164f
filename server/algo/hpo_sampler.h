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

#endif
