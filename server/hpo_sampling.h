/* hpo_sampling: a study's sampler: its configuration (JSON in, validated, canonical JSON out)
 * and the choice of params for new trials and define-by-run params. Calls the pure samplers of
 * server/algo; no I/O. */
#ifndef HPO_SAMPLING_H
#define HPO_SAMPLING_H

#include <stdbool.h>
#include <stdint.h>
#include "hpo_cmaes_sampler.h"
#include "hpo_error.h"
#include "hpo_gp.h"
#include "hpo_grid.h"
#include "hpo_model.h"
#include "hpo_nsga2_population.h"
#include "hpo_obs.h"
#include "hpo_qmc.h"
#include "hpo_tpe.h"

typedef enum {
    HPO_SAMPLER_RANDOM = 0,
    HPO_SAMPLER_TPE = 1,
    HPO_SAMPLER_GRID = 2,
    HPO_SAMPLER_QMC = 3,
    HPO_SAMPLER_GP = 4,
    HPO_SAMPLER_CMAES = 5,
    HPO_SAMPLER_NSGA2 = 6,
    HPO_SAMPLER_AUTO = 7,
} hpo_sampler_type;

typedef struct {
    hpo_sampler_type type;
    uint64_t seed;     /* the configured seed, or one drawn when the study was loaded */
    hpo_tpe_config tpe;
    hpo_grid grid;     /* GRID: the points of the declared search space */
    hpo_qmc qmc;       /* QMC: the sequence (TPE with a quasi-random start-up: its own) */
    hpo_gp_config gp;
    /* GP: the hyperparameters of the last fit, the next one's warm start (owned). Written by
     * hpo_sampling_fill, which runs under the study's mutex for every sampler without a log. */
    hpo_gp_warm *gp_warm;
    hpo_cmaes_options cmaes; /* CMAES: the options */
    /* CMAES: a slot (owned) holding the run the last ask replayed, which the next one goes on
     * from (hpo_cmaes_replay). hpo_sampling_fill replaces it through the const sampler: it does
     * so under the study's mutex, as cmaes keeps no log and so never samples outside it. */
    hpo_cmaes_run **cmaes_run;
    hpo_nsga2_config nsga2;
    /* NSGA2: the elites of the last replay (owned), changed by hpo_sampling_fill, which runs
     * under the study's mutex (never outside it: the sampler keeps no log) */
    hpo_nsga2_cache *nsga2_cache;
} hpo_sampler;

/* Reads the sampler of a study: text is the JSON object given by the user (NULL: the default,
 * TPE, multi-objective TPE for several objectives). Without a seed one is drawn and spelled out
 * in *ret_text, so a stored study samples the same after a restart. Unknown types or options and
 * out-of-range values are HPO_E_INVALID naming "sampler.<option>"; so is TPE's constant_liar:
 * true for several objectives (its default is then false: Optuna 3.1 leaves running trials out
 * of multi-objective TPE). *ret_text (may be NULL) receives the canonical JSON with every option
 * spelled out (owned). *ret owned: hpo_sampler_clear. */
hpo_rc hpo_sampler_configure(const char *text, const hpo_study_config *study, hpo_sampler *ret,
                             char **ret_text, hpo_error *err);
void hpo_sampler_clear(hpo_sampler *s);

/* What a sampler draws from: the study's trials (any sampler), or for TPE a view of the study's
 * observation log with its running trials (taken under the study's mutex, read without it). */
typedef struct {
    const hpo_trial *trials; /* all the trials; with obs: the RUNNING ones only (borrowed) */
    size_t n_trials;
    const hpo_obs_view *obs; /* NULL: trials is the whole history */
} hpo_history;

/* Whether the sampler reads an observation log (it keeps one, hpo_sampling_keeps_log, and may
 * sample from a view of it outside the study's mutex): TPE for one objective; multi-objective
 * TPE samples from the trials. */
bool hpo_sampling_keeps_log(const hpo_sampler *s, const hpo_study_config *study);

/* auto (the default): the sampler it runs for trial `number` of a study with n_complete
 * COMPLETE trials, some of which gave constraints when `constrained`. While the declared space
 * is numeric enough (at most half of its params categorical), the study has one objective, no
 * constraints and fewer than HPO_AUTO_GP_TRIALS complete trials: GP for even numbers, TPE for
 * odd ones (each learns from the other's trials); TPE otherwise (multi-objective TPE for several
 * objectives). TPE has its defaults, multivariate for several objectives; define-by-run params
 * are TPE's under auto whatever fills the declared ones. The rules and the measurements behind them: README.md, "auto". */
#define HPO_AUTO_GP_TRIALS 200
hpo_sampler_type hpo_sampling_auto_pick(const hpo_study_config *study, int64_t number,
                                        int64_t n_complete, bool constrained);

/* Whether this ask samples from the observation log (outside the study's mutex): the sampler
 * keeps one and runs TPE now (auto: when hpo_sampling_auto_pick says TPE). Otherwise the caller
 * passes every trial (hpo_history without obs), under the mutex. */
bool hpo_sampling_reads_log(const hpo_sampler *s, const hpo_study_config *study,
                            int64_t n_complete, bool constrained);

/* Fills every declared param that t does not have yet, for a new trial numbered `number`, from
 * history h (t is not in it). The same seed, number and history give the same params (GP: and
 * the same warm start, the last fit's hyperparameters, so the same asks in the same order since
 * the study was loaded). A new
 * configuration never repeats the params of a running or waiting trial in a continuous space,
 * and under NSGA-II in any space (with a log: of a running one), as long as a few draws again
 * find another. NSGA2: the parent population replayed from h's trials (kept in the sampler's
 * cache), generation 0 at random, later ones a child of the parents; t's generation is set,
 * also when t has every param. QMC: trial number k takes point k of the sequence, its
 * coordinates in the order of the declared numeric params (categorical ones are drawn at random,
 * as Optuna's QMCSampler's independent sampler does; so are numeric ones past the
 * HPO_QMC_MAX_DIMS-th). CMAES: Optuna's CmaEsSampler (hpo_cmaes_sample) over the declared
 * float and int params, the others at random; a trial it asks the optimizer for gets the
 * optimizer's generation (t->has_generation, t->generation) unless t had every declared param
 * already. GP: hpo_gp_sample over every trial (COMPLETE ones observed, RUNNING and WAITING ones
 * as constant liars), at random until n_startup_trials are COMPLETE. GRID: HPO_E_NO_WORK when
 * every point is taken but some trial is still running (a failure may free its point),
 * HPO_E_COMPLETE when the grid is exhausted. */
hpo_rc hpo_sampling_fill(const hpo_sampler *s, const hpo_study_config *study,
                         const hpo_history *h, int64_t number, hpo_trial *t, hpo_error *err);

/* The internal value of a define-by-run param `name` for trial `number`: sampled independently
 * from the trials that have it (TPE), at the trial's point of the sequence (QMC, numeric params:
 * their dimensions follow the declared ones in the order the params first appeared in the study)
 * or uniformly (random, grid, cmaes, GP as Optuna's GPSampler's independent sampler,
 * categorical params under QMC). */
double hpo_sampling_param(const hpo_sampler *s, const hpo_study_config *study,
                          const hpo_history *h, int64_t number, const char *name,
                          const hpo_dist *d);

#endif
