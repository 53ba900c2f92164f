/* hpo_gp: a Gaussian-process sampler after Optuna 4's GPSampler (and OSS Vizier's GP bandit):
 * a Matérn-5/2 GP with automatic relevance determination fitted to the study's trials, and the
 * point that maximizes the log of its expected improvement. Pure: no I/O, no globals.
 *
 * Coordinates. Each declared param is one GP dimension, read in the param's internal space
 * (log params in log space) and normalized to [0, 1] by the map hpo_sampler_at uses (ints and
 * stepped floats: the range widened by half a step on each side, so every grid value owns an
 * equal cell and sits at the cell's centre; they are continuous to the GP and rounded when a
 * point is proposed). A categorical dimension holds the choice index and enters the distance
 * through a Hamming term, as in Optuna 4: r^2 = sum over numeric dims of isl_i (x_i - x'_i)^2
 * + sum over categorical dims of isl_i [x_i != x'_i]. One weight per categorical (not one-hot):
 * fewer hyperparameters, and every pair of distinct choices is equally far apart.
 *
 * Model. k(x, x') = scale * m(r), m(r) = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r), plus noise on the
 * diagonal. Hyperparameters (the "hp" vector, d + 2 values): isl_0..isl_{d-1} (the inverse
 * squared lengthscales), scale, noise. Outputs are standardized by the caller (mean 0, sd 1; the
 * GP maximizes them). Fitted by maximizing the log marginal likelihood plus Optuna 4's weak
 * priors (hpo_gp_log_prior) over the log-parameters with hpo_qn's projected BFGS and the analytic
 * gradient, warm-started from the previous fit when the caller keeps one.
 *
 * Linear algebra. n is at most a few hundred in a GP study (HPO_GP_MAX_OBS caps it), where an
 * unblocked row-oriented Cholesky whose inner loops are dot products (four partial sums) runs at
 * a few GFLOP/s: the factor at n = 100 takes about 0.1 ms, a likelihood step with its gradient
 * (factor, K^-1 from it) about 1.3 ms at n = 200. LAPACK's blocking pays off only for matrices
 * far larger, and would add a dependency to a library that links only libm. The factorization
 * retries with a growing jitter on the diagonal when rounding makes the matrix indefinite. */
#ifndef HPO_GP_H
#define HPO_GP_H

#include <stdbool.h>
#include <stddef.h>

#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_rng.h"
#include "hpo_space.h"

/* The hp vector of a d-dimensional GP: isl at 0..d-1, then these. */
#define HPO_GP_SCALE(d) (d)
#define HPO_GP_NOISE(d) ((d) + 1)
#define HPO_GP_N_HP(d) ((d) + 2)
/* The smallest noise variance (standardized units; Optuna 4's default minimum): also the noise
 * of a deterministic objective. */
#define HPO_GP_MIN_NOISE 1e-6
/* What the sampler fits at most (each likelihood step costs O(n^3) on the ask path): this many
 * observations (beyond it, the best half of them and the most recent others), and this many
 * constant liars. */
#define HPO_GP_MAX_OBS 256
#define HPO_GP_MAX_LIARS 32

/* Training data: borrowed. */
typedef struct {
    size_t n, d;
    const double *x;         /* n x d row-major: numeric dims in [0, 1], categorical dims an
                              * index */
    const double *y;         /* n standardized values, larger is better */
    const bool *categorical; /* d flags, or NULL: every dim numeric */
    size_t n_exact;          /* hpo_gp_new: the last n_exact rows are known without noise
                              * (HPO_GP_MIN_NOISE: the sampler's believed running trials) */
} hpo_gp_data;

/* ---- the model (hpo_gp.c) ---- */

/* The kernel without noise between points a and b (d each) at hp. */
double hpo_gp_kernel(size_t d, const bool *categorical, const double *hp, const double *a,
                     const double *b);

/* In-place lower Cholesky factor of the n x n symmetric row-major matrix a (its lower triangle
 * is read; the upper one is left as it was). When a is not numerically positive definite,
 * retries on the original with jitter 1e-10 * (mean diagonal) added, ten times larger each try up
 * to 1e-4 of it; *ret_jitter (may be NULL) gets what was added (0: none). work: n * n doubles
 * (the original's copy). false when even the largest jitter fails (a then holds garbage). */
bool hpo_gp_cholesky(size_t n, double *a, double *work, double *ret_jitter);

/* The log marginal likelihood of data at hp (noise included: -1/2 y'K^-1 y - 1/2 log|K|
 * - n/2 log 2 pi) and, when ret_grad is not NULL, its gradient with respect to (log isl_0..,
 * log scale, log noise), d + 2 values. HPO_E_INVALID when K cannot be factored even with
 * jitter (hp not finite and positive, say), HPO_E_NOMEM. */
hpo_rc hpo_gp_lml(const hpo_gp_data *data, const double *hp, double *ret_lml, double *ret_grad,
                  hpo_error *err);

/* Optuna 4's weak priors on the hyperparameters, as log density up to a constant: per isl,
 * -(0.1 / isl + 0.1 isl), largest at isl = 1, 0.8 lower at isl = 0.1 or 10 (a lengthscale of
 * about 3 or 0.3 of the unit range) and 10 lower at 0.01 or 100; scale ~ Gamma(2, rate 1);
 * noise ~ Gamma(1.1, rate 30) (small noise preferred). They keep the fit away from the
 * likelihood's degenerate optima (all noise; lengthscales at a bound) while data are few.
 * ret_grad (may be NULL): d + 2 values, with respect to the logs. */
double hpo_gp_log_prior(size_t d, const double *hp, double *ret_grad);

/* A GP conditioned on data at fixed hp: the Cholesky factor and K^-1 y. Owned: hpo_gp_free.
 * Copies what it needs from data. HPO_E_INVALID as hpo_gp_lml; HPO_E_NOMEM. */
typedef struct hpo_gp hpo_gp;
hpo_rc hpo_gp_new(const hpo_gp_data *data, const double *hp, hpo_gp **ret, hpo_error *err);
void hpo_gp_free(hpo_gp *gp); /* NULL is a no-op */

/* The posterior mean and variance of the latent function at x (d; noise not included; the
 * variance clipped at 0). gp's scratch is used: not concurrently on one gp. */
void hpo_gp_predict(hpo_gp *gp, const double *x, double *ret_mean, double *ret_var);
/* The same with their gradients with respect to x (d each; 0 at categorical dims). */
void hpo_gp_predict_grad(hpo_gp *gp, const double *x, double *ret_mean, double *ret_var,
                         double *ret_dmean, double *ret_dvar);

/* How the hyperparameters are fitted; hpo_gp_fit_options_default gives the sampler's. */
typedef struct {
    bool prior;         /* add hpo_gp_log_prior to the likelihood (true) */
    bool deterministic; /* noise pinned at HPO_GP_MIN_NOISE (false: fitted, >= it) */
    int max_iter;       /* quasi-Newton iterations (50) */
    double gtol;        /* on the gradient of the objective in log-parameters (1e-2) */
} hpo_gp_fit_options;
void hpo_gp_fit_options_default(hpo_gp_fit_options *o);

/* Maximizes the log marginal likelihood (plus the prior) over the logs of isl (each within
 * [1e-6, 1e6]), scale ([1e-6, 1e6]) and noise - HPO_GP_MIN_NOISE (noise up to 10), starting
 * from init (d + 2, a previous fit: warm start) or, when init is NULL or the run from it fails,
 * from isl = 1, scale = 1, noise = 1 (HPO_GP_MIN_NOISE when deterministic). ret_hp: d + 2.
 * *ret_objective (may be NULL): the likelihood (plus prior) there. HPO_E_INVALID when no
 * start gives a finite likelihood; HPO_E_NOMEM. */
hpo_rc hpo_gp_fit(const hpo_gp_data *data, const hpo_gp_fit_options *o, const double *init,
                  double *ret_hp, double *ret_objective, hpo_error *err);

/* ---- the acquisition (hpo_gp_acq.c) ---- */

/* log h(z), h(z) = phi(z) + z Phi(z) (the expected improvement of a standard normal over z),
 * accurate to a few ulps of its log from z = +40 down to z = -1e150: directly for z >= -2,
 * below by Laplace's continued fraction of the Mills ratio R(t), t = -z, arranged so that
 * 1 - t R (h = phi(z) (1 - t R)) is not computed by a subtraction.
 * *ret_dz (may be NULL): d log h / dz = Phi(z) / h(z). */
double hpo_gp_log_h(double z, double *ret_dz);
/* log EI of a maximized GP at a point with posterior mean and variance over best:
 * log sigma + log h((mean - best) / sigma), sigma^2 = var + 1e-12 (so that it is defined where
 * the variance collapses, as Optuna's stabilizing noise). */
double hpo_gp_log_ei(double mean, double var, double best);

/* A param's GP coordinate from its internal value (numeric: hpo_sampler_unit; categorical: the
 * index), and back (numeric: hpo_sampler_at of the coordinate clipped to [0, 1], so rounded onto
 * the grid; categorical: the nearest index). */
double hpo_gp_coord(const hpo_dist *d, double internal);
double hpo_gp_internal(const hpo_dist *d, double coord);

/* How log EI is maximized; hpo_gp_acq_options_default gives the sampler's. */
typedef struct {
    size_t n_candidates; /* scrambled Sobol' points scored first (2048, Optuna's) */
    size_t n_local;      /* the best of them refined by local search (10, Optuna's) */
    int max_rounds;      /* neighbour-search rounds per start (10) */
    int max_iter;        /* quasi-Newton iterations per gradient step (30) */
} hpo_gp_acq_options;
void hpo_gp_acq_options_default(hpo_gp_acq_options *o);

/* The point of space (its d = space->n params are gp's dimensions, in order) with the largest
 * log EI over best found by: n_candidates points of a Sobol' sequence scrambled from rng (numeric
 * coordinates mapped as hpo_gp_coord(hpo_sampler_at(u)), so on the grid; categorical ones
 * floor(u * n_choices)), scored; the n_local best of them and the n_starts given points
 * (starts: n_starts x d GP coordinates, may be NULL, e.g. the best trial) refined each by a
 * quasi-Newton ascent over the numeric dims (ints and stepped floats relaxed to continuous,
 * then rounded), then rounds of neighbour search (each int or stepped float one step up and
 * down, each categorical every other choice; the best move per dim kept) each followed by an
 * ascent over the continuous dims, until a round changes nothing. ret_x: d GP coordinates (on
 * the grid); *ret_log_ei (may be NULL) its log EI. HPO_E_NOMEM. */
hpo_rc hpo_gp_acq_maximize(hpo_gp *gp, const hpo_space *space, double best, const double *starts,
                           size_t n_starts, const hpo_gp_acq_options *o, hpo_rng *rng,
                           double *ret_x, double *ret_log_ei, hpo_error *err);

/* ---- the sampler over a study's trials (hpo_gp_sample.c) ---- */

typedef struct {
    int n_startup_trials; /* random sampling until this many trials are COMPLETE (10) */
    bool deterministic;   /* the objective has no noise (false) */
} hpo_gp_config;
void hpo_gp_config_default(hpo_gp_config *c);
hpo_rc hpo_gp_config_validate(const hpo_gp_config *c, hpo_error *err);

/* What the sampler keeps between asks of one study: the hyperparameters of its last fit, the
 * warm start of the next. Zeroed: none yet. Owned: hpo_gp_warm_clear. */
typedef struct {
    size_t n_hp;
    double *hp;
} hpo_gp_warm;
void hpo_gp_warm_clear(hpo_gp_warm *w); /* NULL is a no-op */

/* Samples every param of space for a new trial of a single-objective study in direction dir.
 * trials: borrowed, any states and order. The GP is fitted to the COMPLETE trials that have
 * every declared param (of its type, in range) and a value that is not NaN (pruned and failed
 * trials are left out, as Optuna's GPSampler does); beyond HPO_GP_MAX_OBS of them, to the
 * HPO_GP_MAX_OBS / 2 best and the most recent others (by trial number). Values are negated when
 * minimizing, infinite ones clipped to the finite extremes, then standardized. Kriging
 * believer: RUNNING then WAITING trials with every declared param (up to HPO_GP_MAX_LIARS, in
 * trial order) then join the fitted GP (not the fit) at the mean it predicts for them, without
 * noise, so the posterior variance collapses at their params and parallel asks propose other
 * points. The
 * proposal maximizes log EI over the best value (hpo_gp_acq_maximize, the best trial's point
 * one of the starts). warm (may be NULL): the fit starts from its hyperparameters when they
 * have this space's size and is stored back into it. ret_values[i]: the internal value of
 * space->items[i]. HPO_E_NO_WORK (no message, nothing written) while fewer than
 * max(1, n_startup_trials) trials count, or when no hyperparameters give a finite likelihood:
 * the caller draws at random; HPO_E_NOMEM; HPO_E_INVALID for an invalid config. */
hpo_rc hpo_gp_sample(const hpo_gp_config *c, const hpo_space *space, hpo_direction dir,
                     const hpo_trial *trials, size_t n_trials, hpo_rng *rng, hpo_gp_warm *warm,
                     double *ret_values, hpo_error *err);

#endif
