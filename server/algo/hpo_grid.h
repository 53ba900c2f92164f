/* hpo_grid: the grid sampler's pure part: the points of a discrete search space, their indexes,
 * and a seeded pick among the points still free. */
#ifndef HPO_GRID_H
#define HPO_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include "hpo_error.h"
#include "hpo_rng.h"
#include "hpo_space.h"

#define HPO_GRID_MAX_POINTS 10000000u

typedef struct {
    size_t n_params;
    size_t *n_values;  /* owned: values of each param */
    double **values;   /* owned: internal values of each param, ascending */
    size_t size;       /* number of points (product of n_values) */
} hpo_grid;

/* The grid of a search space whose params are all discrete: categorical (every choice), int and
 * stepped float (every step from low to high). A continuous float, an empty space, or more than
 * HPO_GRID_MAX_POINTS points is HPO_E_INVALID naming `field` (+ ".name"). *ret owned. */
hpo_rc hpo_grid_build(const hpo_space *space, const char *field, hpo_grid *ret, hpo_error *err);
void hpo_grid_clear(hpo_grid *g);

/* The internal values of point `index` (< size), one per param in space order. */
void hpo_grid_point(const hpo_grid *g, size_t index, double *ret_values);
/* The index of the point with these internal values, or SIZE_MAX when they are not a point. */
size_t hpo_grid_index(const hpo_grid *g, const double *values);
/* A point chosen uniformly among those with taken[i] false; SIZE_MAX when every point is taken. */
size_t hpo_grid_pick(const hpo_grid *g, const bool *taken, hpo_rng *rng);

#endif
