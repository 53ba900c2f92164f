/* hpo_tpe: the Tree-structured Parzen Estimator sampler (Optuna 3.1's algorithm, one objective
 * or several), as pure functions: the search space, the study's observations (a view of its
 * hpo_obs log and its running trials, or simply its trials) and a seeded RNG in; internal values
 * out. */
#ifndef HPO_TPE_H
#define HPO_TPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_obs.h"
#include "hpo_rng.h"
#include "hpo_space.h"

/* How the first n_startup_trials are drawn: uniformly, or by the caller from a quasi-random
 * sequence (the sampler then answers HPO_E_NO_WORK, see hpo_tpe_sample). */
typedef enum { HPO_TPE_STARTUP_RANDOM, HPO_TPE_STARTUP_SOBOL, HPO_TPE_STARTUP_HALTON } hpo_tpe_startup;

typedef struct {
    int n_startup_trials;     /* random sampling until this many trials are observations: 10 */
    hpo_tpe_startup startup;  /* RANDOM */
    int n_ei_candidates;      /* candidates drawn from l(x): 24 */
    double gamma_fraction;    /* gamma(n) = min(ceil(gamma_fraction * n), gamma_max): 0.1 */
    int gamma_max;            /* 25 */
    double prior_weight;      /* 1.0 */
    bool consider_magic_clip; /* true */
    bool consider_endpoints;  /* false */
    bool multivariate;        /* false: one Parzen estimator per param; true: joint kernels */
    bool group;               /* multivariate over subsets: history split by the params present
                               * (implies multivariate sampling within each group) */
    bool constant_liar;       /* true: RUNNING trials count as the worst observations (one
                               * objective: several leave them out, as Optuna 3.1) */
    bool constraints;         /* true: when some observation carries constraints, rank by
                               * feasibility first (Optuna 3.1 with constraints_func); false:
                               * ignore them */
} hpo_tpe_config;

/* Optuna's defaults, except constant_liar = true (the server owns every running trial) and
 * constraints = true (a study whose trials give constraints wants them used). */
void hpo_tpe_config_default(hpo_tpe_config *c);
/* Range checks naming the field ("sampler.n_ei_candidates", ...). */
hpo_rc hpo_tpe_config_validate(const hpo_tpe_config *c, hpo_error *err);

/* Samples every param of `space` for a new trial of a single-objective study in direction dir.
 * trials: the study's trials (borrowed; any states and order; ranked by number; the new trial is
 * not among them). Observations are COMPLETE trials with a value (by value; NaN ranks after
 * every number), PRUNED ones (deeper last step first, then by the value at that step, NaN worst;
 * none reported: after those), and with constant_liar the RUNNING ones (worst of all). With
 * c->constraints and some observation carrying constraints, the ranking is by feasibility first:
 * feasible observations (every constraint <= 0) in that order, then the others by violation (the
 * sum of their positive constraints; none given, or running: +inf), ties in number order, as
 * Optuna 3.1's constrained TPE splits (samplers/_tpe/sampler.py). Fewer
 * than n_startup_trials COMPLETE/PRUNED observations: uniform random. gamma and the split are
 * over all observations; each estimator then uses those that have its params (a trial's value
 * counts when the param has the same type, the same number of choices, and lies in range).
 * Univariate: one estimator pair and candidate set per param. multivariate: the params every
 * COMPLETE/PRUNED observation has are sampled jointly, the others univariately (Optuna's
 * intersection search space). group: the params are split into groups that always appear
 * together, each sampled jointly; params no observation has are univariate. Single-valued
 * params (low == high, one choice) get their value without using the rng. ret_values[i]
 * receives the internal value of space->items[i]. Never fails on degenerate input (NaN values,
 * low == high, one observation); HPO_E_INVALID for an invalid config, HPO_E_NOMEM.
 * HPO_E_NO_WORK (no message, ret_values untouched) before n_startup_trials when c->startup is
 * not RANDOM: the caller draws the start-up trial. */
hpo_rc hpo_tpe_sample(const hpo_tpe_config *c, const hpo_space *space, hpo_direction dir,
                      const hpo_trial *trials, size_t n_trials, hpo_rng *rng, double *ret_values,
                      hpo_error *err);

/* hpo_tpe_sample over a log: obs, a view of the study's hpo_obs log (its direction is the
 * study's), taken under the study's lock and read here without it (hpo_obs.h); running, the
 * study's RUNNING trials when the view was taken (copies owned by the caller; read only with
 * constant_liar; their state is not looked at). The observations are the view's rows and the
 * running trials, ranked by number (at equal numbers the rows first), so the result is
 * bit-identical to hpo_tpe_sample on the same history. Errors as hpo_tpe_sample's. */
hpo_rc hpo_tpe_sample_obs(const hpo_tpe_config *c, const hpo_space *space,
                          const hpo_obs_view *obs, const hpo_trial *running, size_t n_running,
                          hpo_rng *rng, double *ret_values, hpo_error *err);

/* hpo_tpe_sample for a study of n_dirs >= 2 objectives in directions dirs (Optuna 3.1's
 * multi-objective TPE, samplers/_tpe/sampler.py). Observations are the COMPLETE trials with
 * their n_dirs values (none NaN); PRUNED and RUNNING trials are left out, so constant_liar has
 * no effect, as in Optuna 3.1. n_startup_trials and gamma count those observations; the split
 * takes whole non-domination ranks, then a greedy hypervolume subset of the next rank
 * (maximised objectives negated), and each below observation weighs its hypervolume
 * contribution in l(x) (hpo_tpe_split_multi). Constraints as for one objective: with
 * c->constraints and some observation carrying them, feasible observations first. The rest
 * (estimators, candidates, multivariate, group, the quasi-random start-up) as hpo_tpe_sample.
 * HPO_E_INVALID for n_dirs < 2 or an invalid config; other errors as hpo_tpe_sample's. */
hpo_rc hpo_tpe_sample_multi(const hpo_tpe_config *c, const hpo_space *space,
                            const hpo_direction *dirs, size_t n_dirs, const hpo_trial *trials,
                            size_t n_trials, hpo_rng *rng, double *ret_values, hpo_error *err);

/* Samples one param independently (univariate) from the trials that have it: define-by-run
 * params first suggested inside a running trial. As in Optuna 3.1, n_startup_trials and gamma
 * count all observations, then the estimators keep those having the param. Returns the internal
 * value (uniform random when out of memory or the config is invalid). */
double hpo_tpe_sample_param(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                            hpo_direction dir, const hpo_trial *trials, size_t n_trials,
                            hpo_rng *rng);
/* hpo_tpe_sample_param over a log and the running trials, as hpo_tpe_sample_obs. */
double hpo_tpe_sample_param_obs(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                                const hpo_obs_view *obs, const hpo_trial *running,
                                size_t n_running, hpo_rng *rng);
/* hpo_tpe_sample_param for several objectives, as hpo_tpe_sample_multi. */
double hpo_tpe_sample_param_multi(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                                  const hpo_direction *dirs, size_t n_dirs,
                                  const hpo_trial *trials, size_t n_trials, hpo_rng *rng);

/* ---- the Parzen estimator and its numerics, exposed for tests ----
 * These reproduce Optuna 3.1's _ParzenEstimator and _truncnorm so the unit tests can compare them
 * with numbers computed by Optuna (tests/unit/tpe_reference.py). */

/* A mixture over one param in its internal (transformed) space: log for log params; int and
 * stepped params widened by step/2. Component 0..n-2: the observations, in the order given;
 * n-1: the prior. weights/mus/sigmas point into impl (owned; released by hpo_parzen_clear). */
typedef struct {
    size_t n;         /* components, prior included */
    double *weights;  /* normalised */
    double *mus;      /* in the transformed space */
    double *sigmas;
    double low, high; /* truncation bounds in the transformed space */
    double step;      /* > 0 when the density is a mass on [x - step/2, x + step/2]: stepped
                       * float and non-log int (log int uses the pdf in log space, as 3.1 does) */
    void *impl;       /* owned: the evaluator */
} hpo_parzen;

/* Builds Optuna 3.1's estimator for observed internal values (already split; untransformed).
 * weights: un-normalised, one per value, or NULL for hpo_tpe_weights(n). multivariate_dims: 0
 * for the univariate bandwidth rule (neighbour gaps); d >= 1 for the multivariate rule
 * sigma = 0.2 n^(-1/(d+4)) (high - low) of a joint estimator over d params. Works for numeric
 * params only (HPO_E_INVALID for categorical or single-valued ones). */
hpo_rc hpo_parzen_build(const hpo_tpe_config *c, const hpo_dist *d, const double *values,
                        const double *weights, size_t n, size_t multivariate_dims,
                        hpo_parzen *ret);
void hpo_parzen_clear(hpo_parzen *p);
/* Log "density" at x (an internal value, untransformed), as Optuna 3.1 computes it: for
 * continuous params the mixture of truncated-normal kernels without their 1/sigma factor (3.1's
 * _truncnorm.logpdf leaves out -log scale, which weighs wide kernels up; reproduced on purpose:
 * it measurably helps the search, tests/bench/RESULTS.md); for stepped params the log of the
 * mixture's mass on x's grid cell. Sampling is unaffected: components are drawn by weight. */
double hpo_parzen_log_pdf(const hpo_parzen *p, const hpo_dist *d, double x);
/* A draw (internal value, untransformed, rounded onto d). */
double hpo_parzen_sample(const hpo_parzen *p, const hpo_dist *d, hpo_rng *rng);

/* A joint (multivariate) estimator over nd params from n observations (values: n rows of nd
 * internal values) with the default weights, evaluated at nx points (x: nx rows of nd):
 * ret[j] = log l(x_j), kernels being products over dims (categorical dims included). */
hpo_rc hpo_parzen_joint_log_pdf(const hpo_tpe_config *c, const hpo_dist *dists, size_t nd,
                                const double *values, size_t n, const double *x, size_t nx,
                                double *ret);

/* Categorical: the mixture's probability of each of n_choices choices given observed indexes
 * (weights as for hpo_parzen_build; NULL: the default ones). Each observation's row is
 * prior_weight/(n+1) on every choice plus 1 on its own, normalised; the prior's row is uniform. */
hpo_rc hpo_parzen_categorical(const hpo_tpe_config *c, size_t n_choices, const double *indexes,
                              const double *weights, size_t n, double *ret_probs);

/* gamma(n) and the observation weights of Optuna's default rules. */
size_t hpo_tpe_gamma(const hpo_tpe_config *c, size_t n);
void hpo_tpe_weights(size_t n, double *ret); /* oldest first */

/* The split of the trials (in any order; ranked by number) into below and above: ret_side[i] is
 * 0 (below), 1 (above) or -1 (not an observation: FAIL, WAITING, COMPLETE without a value,
 * RUNNING without constant_liar). *ret_n: the observations that count towards n_startup_trials
 * and gamma (COMPLETE and PRUNED). */
hpo_rc hpo_tpe_split(const hpo_tpe_config *c, hpo_direction dir, const hpo_trial *trials,
                     size_t n_trials, signed char *ret_side, size_t *ret_n);

/* hpo_tpe_split for several objectives (tests/unit/motpe_reference.py compares it with Optuna
 * 3.1's _split_observation_pairs and _calculate_weights_below_for_multi_objective): ret_side as
 * hpo_tpe_split's (observations: COMPLETE trials with n_dirs values); ret_weight[i] (may be
 * NULL): a below trial's weight in l(x), 0 for the others. Below: whole non-domination ranks
 * while they fit in gamma(n), then the rest of the next rank greedily by the hypervolume each
 * adds (Optuna's _solve_hssp, reference point from that rank's worst values max(1.1 w, 0.9 w),
 * 1e-12 for 0). Constrained: by violation, the first gamma(n) unless the next is feasible too,
 * then that split among the feasible ones. Weights: among the feasible below trials, each one's
 * hypervolume contribution (+1e-12) over the largest, 1 for a lone one; 1e-12 for an infeasible
 * one. HPO_E_INVALID for n_dirs < 2 or an invalid config, HPO_E_NOMEM. */
hpo_rc hpo_tpe_split_multi(const hpo_tpe_config *c, const hpo_direction *dirs, size_t n_dirs,
                           const hpo_trial *trials, size_t n_trials, signed char *ret_side,
                           double *ret_weight, size_t *ret_n);

/* What TPE maximises, for tests: log l(x) - log g(x) at nx points xs (rows of space->n internal
 * values), l and g built from the split of trials for a study in directions dirs (n_dirs >= 1)
 * over every param of space, as the sampler builds them for one param (univariate) or, with
 * c->multivariate, for the params sampled jointly; each estimator uses the observations having
 * every param of space. HPO_E_INVALID for a single-valued param or an invalid config,
 * HPO_E_NOMEM. */
hpo_rc hpo_tpe_log_ratio(const hpo_tpe_config *c, const hpo_space *space,
                         const hpo_direction *dirs, size_t n_dirs, const hpo_trial *trials,
                         size_t n_trials, const double *xs, size_t nx, double *ret,
                         hpo_error *err);

/* The standard normal's log mass on [a, b], and the standard normal truncated to [a, b]: its log
 * pdf at z and its quantile at q (Optuna's _truncnorm, stable in both tails). */
double hpo_tpe_log_gauss_mass(double a, double b);
double hpo_tpe_truncnorm_log_pdf(double z, double a, double b);
double hpo_tpe_truncnorm_ppf(double q, double a, double b);

#endif
