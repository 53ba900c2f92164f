/* hpo_sampler_random: uniform sampling over one distribution's internal space, and its map from
 * the unit interval. */
#include "hpo_sampler.h"

#include <math.h>

double hpo_sampler_random(const hpo_dist *d, hpo_rng *rng)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return (double)hpo_rng_below(rng, d->n_choices);
    return hpo_sampler_at(d, hpo_rng_uniform(rng));
}

double hpo_sampler_at(const hpo_dist *d, double u)
{
    if (d->type == HPO_DIST_CATEGORICAL) {
        size_t k = (size_t)(u * (double)d->n_choices);
        return (double)(k < d->n_choices ? k : d->n_choices - 1);
    }

    double step = d->type == HPO_DIST_INT ? (d->step > 0 ? d->step : 1) : d->step;
    double lo = d->low, hi = d->high;
    if (d->log) {
        /* log int covers [low - 0.5, high + 0.5] in log space so each integer gets its share */
        if (d->type == HPO_DIST_INT) {
            lo = log(lo - 0.5);
            hi = log(hi + 0.5);
        } else {
            lo = log(lo);
            hi = log(hi);
        }
        double x = exp(lo + (hi - lo) * u);
        return hpo_dist_round(d, x);
    }
    if (step > 0) {
        lo -= step / 2;
        hi += step / 2;
    }
    double x = lo + (hi - lo) * u;
    return hpo_dist_round(d, x);
}
