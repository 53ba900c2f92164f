/* hpo_grid: enumerates the points of a discrete space in mixed radix (last param fastest). */
#include "hpo_grid.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "hpo_sort.h"

static size_t count_values(const hpo_dist *d)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return d->n_choices;
    return (size_t)llround((d->high - d->low) / d->step) + 1;
}

hpo_rc hpo_grid_build(const hpo_space *space, const char *field, hpo_grid *ret, hpo_error *err)
{
    hpo_grid g = {0};
    if (space->n == 0)
        return hpo_error_set(err, HPO_E_INVALID, field,
                             "the grid sampler needs a declared search_space");
    double size = 1;
    for (size_t i = 0; i < space->n; i++) {
        const hpo_dist *d = &space->items[i].dist;
        if (d->type == HPO_DIST_FLOAT && !(d->step > 0))
            return hpo_error_set(err, HPO_E_INVALID, field,
                                 "the grid sampler needs discrete params: give '%s' a step or "
                                 "make it categorical", space->items[i].name);
        size *= (double)count_values(d);
    }
    if (size > HPO_GRID_MAX_POINTS)
        return hpo_error_set(err, HPO_E_INVALID, field,
                             "the grid has %.0f points; at most %u are allowed", size,
                             HPO_GRID_MAX_POINTS);
    g.n_params = space->n;
    g.size = (size_t)size;
    g.n_values = calloc(space->n, sizeof *g.n_values);
    g.values = calloc(space->n, sizeof *g.values);
    if (!g.n_values || !g.values) {
        hpo_grid_clear(&g);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < space->n; i++) {
        const hpo_dist *d = &space->items[i].dist;
        size_t n = count_values(d);
        g.n_values[i] = n;
        if (!(g.values[i] = malloc(n * sizeof(double)))) {
            hpo_grid_clear(&g);
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        }
        for (size_t k = 0; k < n; k++)
            g.values[i][k] = d->type == HPO_DIST_CATEGORICAL
                                 ? (double)k
                                 : hpo_dist_round(d, d->low + (double)k * d->step);
    }
    *ret = g;
    return HPO_OK;
}

void hpo_grid_clear(hpo_grid *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->values && i < g->n_params; i++)
        free(g->values[i]);
    free(g->values);
    free(g->n_values);
    *g = (hpo_grid){0};
}

void hpo_grid_point(const hpo_grid *g, size_t index, double *ret_values)
{
    for (size_t i = g->n_params; i-- > 0;) {
        ret_values[i] = g->values[i][index % g->n_values[i]];
        index /= g->n_values[i];
    }
}

/* Position of v among a param's ascending values, tolerant to rounding; SIZE_MAX when absent. */
static size_t find_value(const double *vals, size_t n, double v)
{
    size_t lo = hpo_sort_search(vals, n, v, false);
    double span = n > 1 ? vals[n - 1] - vals[0] : 1;
    double tol = 1e-9 * (span > 0 ? span : 1);
    if (lo < n && fabs(vals[lo] - v) <= tol)
        return lo;
    if (lo > 0 && fabs(vals[lo - 1] - v) <= tol)
        return lo - 1;
    return SIZE_MAX;
}

size_t hpo_grid_index(const hpo_grid *g, const double *values)
{
    size_t index = 0;
    for (size_t i = 0; i < g->n_params; i++) {
        size_t k = find_value(g->values[i], g->n_values[i], values[i]);
        if (k == SIZE_MAX)
            return SIZE_MAX;
        index = index * g->n_values[i] + k;
    }
    return index;
}

size_t hpo_grid_pick(const hpo_grid *g, const bool *taken, hpo_rng *rng)
{
    size_t free_points = 0;
    for (size_t i = 0; i < g->size; i++)
        free_points += !taken[i];
    if (free_points == 0)
        return SIZE_MAX;
    size_t k = (size_t)hpo_rng_below(rng, free_points);
    for (size_t i = 0; i < g->size; i++)
        if (!taken[i] && k-- == 0)
            return i;
    return SIZE_MAX;
}
