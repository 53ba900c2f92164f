/* hpo_tpe_draw: the second half of the TPE sampler, private to server/algo: from a study's
 * observations already split into below and above (hpo_tpe.c), the params' values, the Parzen
 * estimators l(x) and g(x) (hpo_parzen.h) and the candidate maximising l(x)/g(x), per param or
 * per group of params. Pure: no I/O; all memory from the set's arena. */
#ifndef HPO_TPE_DRAW_H
#define HPO_TPE_DRAW_H

#include <stdbool.h>
#include <stddef.h>

#include "hpo_arena.h"
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_obs.h"
#include "hpo_rng.h"
#include "hpo_space.h"
#include "hpo_tpe.h"

/* The observations of one sampling call: the log's rows and, with constant_liar (one objective),
 * the running trials, in trial-number order, and which of them are below. */
typedef struct {
    const hpo_tpe_config *cfg;
    const hpo_obs_view *log;
    const hpo_trial *run_trials; /* the running trials given (constant_liar) */
    size_t m;            /* observations (running ones included with constant_liar) */
    size_t n;            /* COMPLETE and PRUNED observations (several objectives: COMPLETE) */
    size_t *src;         /* m, by trial number: a row of the log (< log->n_rows), or
                          * log->n_rows + the index of a running trial */
    const hpo_obs_row **row; /* m: the log's row; NULL for a running trial */
    unsigned char *below;/* m */
    unsigned char *running; /* m */
    double *weight;      /* m: the weight of a below observation in l(x) (several objectives);
                          * NULL: Optuna's default weights */
    hpo_arena *a;
    hpo_rng *rng;
    size_t nv;           /* columns of vals */
    double *vals;        /* m x nv internal values of the params sampled; NaN: missing */
} tpe_obs;

/* The internal value of a single-valued distribution (hpo_parzen_dist_single). */
double hpo_tpe_draw_single(const hpo_dist *d);

/* Every param of space (single-valued ones without the rng): univariate, or as o->cfg's
 * multivariate and group say. ret_values[i] for space->items[i]. HPO_E_NOMEM. */
hpo_rc hpo_tpe_draw_space(tpe_obs *o, const hpo_space *space, double *ret_values);

/* One param univariately from the observations that have it (define-by-run). HPO_E_NOMEM. */
hpo_rc hpo_tpe_draw_param(tpe_obs *o, const char *name, const hpo_dist *d, double *ret);

/* log l(x) - log g(x) at nx points xs (rows of space->n internal values), l and g built over
 * space's params as the sampler builds them for one param (univariate) or for a group
 * (multivariate when o->cfg->multivariate). HPO_E_INVALID for a single-valued param,
 * HPO_E_NOMEM. */
hpo_rc hpo_tpe_draw_log_ratio(tpe_obs *o, const hpo_space *space, const double *xs, size_t nx,
                              double *ret);

#endif
