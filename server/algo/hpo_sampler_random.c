/* hpo_sampler_random: uniform sampling over one distribution's internal space, and its map from
 * the unit interval (and back). */
#include "hpo_sampler.h"

#include <math.h>

double hpo_sampler_random(const hpo_dist *d, hpo_rng *rng)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return (double)hpo_rng_below(rng, d->n_choices);
    return hpo_sampler_at(d, hpo_rng_uniform(rng));
}

/* The interval of d's internal space that [0, 1) maps onto linearly (in log space when *ret_log):
 * ints and stepped floats widened by half a step on each side so each grid value gets its share. */
static void unit_range(const hpo_dist *d, double *ret_lo, double *ret_hi, bool *ret_log)
{
    double step = d->type == HPO_DIST_INT ? (d->step > 0 ? d->step : 1) : d->step;
    double lo = d->low, hi = d->high;
    *ret_log = d->log;
    if (d->log) {
        /* log int covers [low - 0.5, high + 0.5] in log space so each integer gets its share */
        if (d->type == HPO_DIST_INT) {
            lo = log(lo - 0.5);
            hi = log(hi + 0.5);
        } else {
            lo = log(lo);
            hi = log(hi);
        }
    } else if (step > 0) {
        lo -= step / 2;
        hi += step / 2;
    }
    *ret_lo = lo;
    *ret_hi = hi;
}

double hpo_sampler_at(const hpo_dist *d, double u)
{
    if (d->type == HPO_DIST_CATEGORICAL) {
        size_t k = (size_t)(u * (double)d->n_choices);
        return (double)(k < d->n_choices ? k : d->n_choices - 1);
    }
    double lo, hi;
    bool lg;
    unit_range(d, &lo, &hi, &lg);
    double x = lo + (hi - lo) * u;
    return hpo_dist_round(d, lg ? exp(x) : x);
}

double hpo_sampler_unit(const hpo_dist *d, double internal)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return (internal + 0.5) / (double)d->n_choices;
    double lo, hi;
    bool lg;
    unit_range(d, &lo, &hi, &lg);
    if (!(hi > lo))
        return 0.5;
    double u = ((lg ? log(internal) : internal) - lo) / (hi - lo);
    return u < 0 ? 0 : u > 1 ? 1 : u;
}
