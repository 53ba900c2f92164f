/* hpo_cmaes: the CMA-ES core of Optuna's CmaEsSampler, computing what the `cmaes` library's CMA
 * class (0.9.1) computes: its default strategy parameters, ask with bounds (resample, then clip),
 * tell (weighted recombination with negative weights, cumulation, rank-one and rank-mu updates,
 * cumulative step-size adaptation) and should_stop. Pure: no I/O, no globals; one state per user. */
#ifndef HPO_CMAES_H
#define HPO_CMAES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_error.h"
#include "hpo_rng.h"

#define HPO_CMAES_EPS 1e-8         /* cmaes's _EPS: floor for negative eigenvalues, etc. */
#define HPO_CMAES_MEAN_MAX 1e32    /* |mean| and |x| must stay below (cmaes's _MEAN_MAX) */
#define HPO_CMAES_SIGMA_MAX 1e32   /* sigma is capped here after each update */
#define HPO_CMAES_MAX_DIM 4096     /* the state holds a few n x n matrices */

/* What CMA(mean, sigma, bounds, n_max_resampling, population_size, cov) takes. Borrowed: the
 * arrays are copied by hpo_cmaes_new. Optuna's sampler passes its transformed space's bounds,
 * mean = their middle, sigma = min(upper - lower) / 6 and n_max_resampling = 10 n. */
typedef struct {
    size_t n;                    /* dimensions, >= 2 (cmaes asserts n > 1) */
    const double *mean;          /* n initial mean, each within the bounds when given */
    double sigma;                /* initial step size, > 0 */
    const double *lower, *upper; /* n each, or both NULL: unbounded; inclusive (lower <= upper) */
    const double *cov;           /* n x n row-major initial C, or NULL: the identity */
    size_t popsize;              /* lambda; 0: 4 + floor(3 ln n); else >= 4 (mu >= 2) */
    size_t n_max_resampling;     /* ask's draws before it clips; 0: cmaes's default 100 */
} hpo_cmaes_config;

/* The state. Plain fields to read (tests, persistence); change them only through these
 * functions. Matrices are n x n row-major; B's column j (B[i * n + j]) is the eigenvector of
 * D[j]^2, D ascending as numpy's eigh orders it. Owned: hpo_cmaes_free. */
typedef struct {
    size_t n, popsize, mu;       /* mu = popsize / 2: the parents */
    double *weights;             /* popsize recombination weights: mu positive ones summing to
                                  * 1, then the negative ones scaled by min_alpha (eq. 53) */
    double mu_eff, c_sigma, d_sigma, c_c, c_1, c_mu, c_m, chi_n;
    double *mean;                /* n */
    double sigma;
    double *C;                   /* covariance, n x n */
    double *p_sigma, *p_c;       /* evolution paths, n each */
    double *B, *D;               /* C = B diag(D^2) B^T; valid while eigen_valid */
    bool eigen_valid;            /* false after tell: the next ask or should_stop decomposes C */
    double *lower, *upper;       /* n each, or NULL: unbounded */
    size_t n_max_resampling;
    uint64_t generation;         /* tells so far */
    /* should_stop's thresholds, as cmaes sets them */
    double tolx, tolxup, tolfun, tolconditioncov;
    size_t funhist_term;         /* 10 + ceil(30 n / popsize) */
    double *funhist;             /* 2 * funhist_term: best and worst value per generation */
    double *work;                /* scratch for ask, tell and the eigen solver */
    size_t *order;               /* scratch: tell's ranking */
} hpo_cmaes;

/* A new state as cmaes.CMA's constructor makes it. *ret: owned. HPO_E_INVALID for what cmaes
 * asserts on (n < 2, sigma <= 0, |mean| >= 1e32, mean outside the bounds, popsize < 4, a
 * learning rate out of range) and for non-finite input; HPO_E_NOMEM. */
hpo_rc hpo_cmaes_new(const hpo_cmaes_config *c, hpo_cmaes **ret, hpo_error *err);
void hpo_cmaes_free(hpo_cmaes *s); /* NULL is a no-op */

/* One candidate into ret_x (n): m + sigma B D z, z ~ N(0, I) from rng, redrawn while outside the
 * bounds up to n_max_resampling times, then one more draw clipped onto them. Decomposes C first
 * when tell has changed it. HPO_E_INTERNAL when the eigen solver does not converge. */
hpo_rc hpo_cmaes_ask(hpo_cmaes *s, hpo_rng *rng, double *ret_x, hpo_error *err);

/* One generation: popsize solutions x (row-major, popsize x n) and their values (minimized; ties
 * keep the given order, as Python's stable sort). Updates mean, sigma, paths and C exactly as
 * cmaes.CMA.tell and increments generation. HPO_E_INVALID (state unchanged) for a NaN value or
 * |x| >= 1e32; HPO_E_INTERNAL when the eigen solver does not converge. */
hpo_rc hpo_cmaes_tell(hpo_cmaes *s, const double *x, const double *values, hpo_error *err);

/* cmaes.CMA.should_stop: flat values over the last funhist_term generations, tolx, divergence
 * (sigma max D > 1e4), a coordinate or principal axis without effect on the mean, condition
 * number of C over 1e14. Decomposes C first when tell has changed it (so it is not const). An
 * eigen solver failure reads as stop. */
bool hpo_cmaes_should_stop(hpo_cmaes *s);

/* Decomposes C as cmaes does before sampling: C symmetrized, eigenvalues below 0 raised to
 * _EPS, C rebuilt from B and D. Done by ask, tell and should_stop when needed; public for tests
 * and for a caller that wants B and D. HPO_E_INTERNAL when the solver does not converge. */
hpo_rc hpo_cmaes_decompose(hpo_cmaes *s, hpo_error *err);

/* Symmetric eigen decomposition by cyclic Jacobi rotations (accurate to rounding also for small
 * eigenvalues; O(n^3) per sweep, fine up to a few hundred). a: n x n symmetric, row-major,
 * destroyed. ret_w: n eigenvalues ascending; ret_v: n x n, column j the unit eigenvector of
 * ret_w[j]. work: 2 n doubles. Returns false when 100 sweeps did not converge. */
bool hpo_cmaes_eigh(size_t n, double *a, double *ret_w, double *ret_v, double *work);

#endif
