/* hpo_sampler_random: uniform sampling over one distribution's internal space. */
#include "hpo_sampler.h"

#include <math.h>

double hpo_sampler_random(const hpo_dist *d, hpo_rng *rng)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return (double)hpo_rng_below(rng, d->n_choices);

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
        double x = exp(lo + (hi - lo) * hpo_rng_uniform(rng));
        return hpo_dist_round(d, x);
    }
    if (step > 0) {
        lo -= step / 2;
        hi += step / 2;
    }
    double x = lo + (hi - lo) * hpo_rng_uniform(rng);
    return hpo_dist_round(d, x);
}
