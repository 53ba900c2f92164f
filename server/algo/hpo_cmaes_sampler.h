/* hpo_cmaes_sampler: Optuna 3.1's CmaEsSampler over a study's trials, pure: the optimizer is not
 * stored (Optuna pickles it into trial attributes) but replayed from the trials that carry a
 * generation, so the same trials always give the same state; then one ask for a new trial. */
#ifndef HPO_CMAES_SAMPLER_H
#define HPO_CMAES_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_cmaes.h"
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_rng.h"
#include "hpo_space.h"

#define HPO_CMAES_POPSIZE_MAX 100000 /* a generation can never hold more trials than a study */
#define HPO_CMAES_INC_POPSIZE_MAX 100

/* The sampler's options, as CmaEsSampler's arguments (zeroed: not usable; see _default). */
typedef struct {
    int n_startup_trials;         /* random until this many trials finished: 1 */
    double sigma0;                /* 0: min over the dimensions of (upper - lower) / 6 */
    size_t popsize;               /* 0: cmaes's 4 + floor(3 ln n); else 4..POPSIZE_MAX */
    bool ipop;                    /* restart_strategy "ipop" (false: None) */
    int inc_popsize;              /* the popsize multiplier of each restart: 2 */
    bool consider_pruned_trials;  /* PRUNED trials count with their last intermediate value */
    double *x0;                   /* NULL, or one internal value per declared param (NaN: the
                                   * middle of its range; owned: hpo_cmaes_options_clear) */
} hpo_cmaes_options;

void hpo_cmaes_options_default(hpo_cmaes_options *o);
void hpo_cmaes_options_clear(hpo_cmaes_options *o); /* frees x0, back to the defaults */

/* A replayed run: the optimizer after every generation that can be told, and what was told, so
 * the next replay over the same trials plus new ones goes on from it. Owned:
 * hpo_cmaes_run_free. */
typedef struct hpo_cmaes_run hpo_cmaes_run;
void hpo_cmaes_run_free(hpo_cmaes_run *r); /* NULL is a no-op */
const hpo_cmaes *hpo_cmaes_run_state(const hpo_cmaes_run *r); /* borrowed */
int64_t hpo_cmaes_run_generation(const hpo_cmaes_run *r); /* the new trials' generation */
int hpo_cmaes_run_restarts(const hpo_cmaes_run *r);
/* The declared params the optimizer works on (FLOAT and INT with low < high, in declared
 * order), as indices into the space; *ret_n of them. Borrowed. */
const size_t *hpo_cmaes_run_dims(const hpo_cmaes_run *r, size_t *ret_n);

/* A finished trial as CmaEsSampler sees it: COMPLETE with a value that is not NaN, or with
 * consider_pruned_trials PRUNED with reports, valued at its last one (not NaN). *ret_value is
 * the value as given (not negated). */
bool hpo_cmaes_trial_value(const hpo_cmaes_options *o, const hpo_trial *t, double *ret_value);

/* Replays the optimizer over trials (the study's, in number order, as the service holds them):
 * a CMA over the declared numeric params in Optuna's transformed space (log params as their
 * log; ints and stepped floats with bounds widened by step / 2), mean the middle of the bounds
 * or x0, sigma0, n_max_resampling 10 n, popsize; then for generation g = 0, 1, ...: once at
 * least popsize finished trials (hpo_cmaes_trial_value) carry generation g, the first popsize
 * of them in number order are told (x: their params transformed, value negated for maximize).
 * With ipop, a state that should stop after a tell is replaced by a new one with popsize times
 * inc_popsize and a mean drawn uniformly in the bounds from a stream of (seed, restart); the
 * generation is one counter across restarts. A trial without one of the params is left out.
 *
 * *run: NULL or a previous run of the same options, seed, space and direction (on success it is
 * replaced by the run now; on failure freed and set to NULL): when the generations it told are
 * told the same now (the same trials, params and values) it goes on from there, else the replay
 * starts over. HPO_E_NO_WORK (no message) when the space has fewer than 2 such params: Optuna
 * samples at random then. HPO_E_INTERNAL when the eigen solver fails, HPO_E_NOMEM. */
hpo_rc hpo_cmaes_replay(const hpo_cmaes_options *o, uint64_t seed, const hpo_space *space,
                        hpo_direction dir, const hpo_trial *trials, size_t n_trials,
                        hpo_cmaes_run **run, hpo_error *err);

/* The declared params of a new trial, ret_values[i] the internal value of space->items[i]:
 * fewer than n_startup_trials finished trials (as hpo_cmaes_trial_value counts them), or fewer
 * than 2 numeric params: all at random (hpo_sampler_random), *ret_generation -1. Else the run is
 * replayed (*run as for hpo_cmaes_replay), one candidate asked with rng and mapped back as Optuna
 * does (exp for log params; ints and stepped floats rounded onto the grid and clipped; floats
 * kept below high), categorical and single-valued params drawn at random after it, and
 * *ret_generation is the run's generation. Errors as hpo_cmaes_replay's. */
hpo_rc hpo_cmaes_sample(const hpo_cmaes_options *o, uint64_t seed, const hpo_space *space,
                        hpo_direction dir, const hpo_trial *trials, size_t n_trials,
                        hpo_cmaes_run **run, hpo_rng *rng, double *ret_values,
                        int64_t *ret_generation, hpo_error *err);

/* The configuration checks that need the space: x0 inside the bounds, a popsize the core takes
 * for the space's dimensions (it builds one state and frees it). Fields named "sampler.<..>". */
hpo_rc hpo_cmaes_options_validate(const hpo_cmaes_options *o, const hpo_space *space,
                                  hpo_error *err);

#endif
