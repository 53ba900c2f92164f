/* hpo_parzen: the Parzen estimator of the TPE sampler, private to server/algo (the API for tests,
 * hpo_parzen_build and the others, is in hpo_tpe.h). A mixture over nd dims whose components are
 * products of per-dim kernels: truncated normals for float dims (log space for log params),
 * their mass on the grid cell for int and stepped dims, a smoothed choice for categorical ones;
 * the observations' components, then the prior's. The sampler builds one for the observations
 * below and one for those above, draws candidates from the first and scores them by the ratio.
 * All memory comes from the caller's arena. Pure: no I/O. Three files: hpo_parzen.c builds
 * and draws (and holds the API for tests), hpo_parzen_pdf.c the density, hpo_parzen_kernel.c
 * (hpo_parzen_kernel.h) the numeric kernels over arrays. */
#ifndef HPO_PARZEN_H
#define HPO_PARZEN_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_arena.h"
#include "hpo_error.h"
#include "hpo_parzen_kernel.h"
#include "hpo_rng.h"
#include "hpo_space.h"
#include "hpo_tpe.h"

typedef enum { PZ_CONT, PZ_STEP, PZ_CAT } pz_kind;

struct pz_cell_entry {
    double za, zb, v;
};

typedef struct {
    pz_kind kind;
    const hpo_dist *d;
    double low, high, q; /* transformed bounds; q: the cell width of PZ_STEP */
    /* numeric, one per component */
    double *mu, *sigma, *inv_sigma;
    /* log mass of the component's normal on [low, high], and CONT: -log sqrt(2 pi) - log_mass
     * (no -log sigma: Optuna 3.1's kernel, see hpo_parzen_log_pdf), STEP: -log_mass. Well
     * inside the bounds the mass is 1; the others may be computed on first use (NaN until
     * then: hpo_parzen_comp_log_mass) */
    double *log_mass;
    double *lnorm;
    double *log_q_s;     /* STEP: log(q / sigma) - log sqrt(2 pi), for a cheap upper bound */
    size_t n_lazy;       /* observation components whose normaliser is computed on use */
    /* joint (multivariate) estimators: every observation component has sigma sigma_obs */
    bool shared;
    double sigma_obs, inv_obs;
    double base;         /* CONT: -log sqrt(2 pi) (3.1's kernel has no -log sigma) */
    double nlm_bound;    /* an upper bound of -log_mass over the observation components */
    bool has_nlm;        /* some observation component's -log_mass is not 0 */
    /* shared STEP: the components grouped by their (grid) mu: cid[k] indexes dmu */
    uint32_t *cid;
    size_t n_distinct;
    double *dmu, *dlnm, *tab; /* distinct mus, their -log_mass (NaN until used), scratch */
    double series_b[PZ_SERIES_TERMS + 1]; /* cell masses by series_coefs(q / sigma_obs) */
    /* categorical: the observed index per observation component (the prior is uniform) */
    double *choice;
    size_t n_choices;
    double hit_prob, log_hit, log_miss, log_uniform;
    /* sorted univariate mixtures: the largest observation sigma, and an upper bound of the
     * log w + log kernel over the observations (a window for each candidate) */
    double s_max, c_max;
    double *a;           /* sorted CONT: w k(mu) / e^c_max, the kernel's peak, scaled */
    double *cb;          /* sorted STEP: an upper bound of log w + log kernel, per component */
    /* sorted STEP: cell log masses by grid offset (t - mu) / q, for the candidates' repeats;
     * an entry holds for its exact (za, zb) */
    struct pz_cell_entry *cells;
    size_t n_grid;
} pz_dim;

typedef struct {
    size_t K; /* components: observations then the prior */
    double *w, *logw, *cumw;
    double *lwb;    /* unsorted: logw plus the shared CONT dims' bases (the prior: logw) */
    double logw_p;  /* the prior's log weight */
    size_t nd;
    pz_dim *dims;
    bool has_step;
    bool sorted; /* one numeric dim, observations sorted by mu and merged: windowed density.
                  * logw: STEP only, computed on use (NaN until then) */
} pz_mix;

/* Whether d has a single value (low == high, at most one choice): no estimator for it. */
bool hpo_parzen_dist_single(const hpo_dist *d);
/* The kind and transformed bounds of a dim for the non-single d (borrowed by the dim), as in
 * Optuna's _calculate_parzen_bounds; the other fields are left as they are. */
void hpo_parzen_dim_init(const hpo_dist *d, pz_dim *ret);
/* An internal value in the dim's transformed space (log for log params), clipped to its bounds;
 * categorical: the index itself. Inline: the sampler transforms every observation's values. */
static inline double hpo_parzen_transform(const pz_dim *dm, double x)
{
    if (dm->kind == PZ_CAT)
        return x;
    if (dm->d->log)
        x = log(x);
    return x < dm->low ? dm->low : x > dm->high ? dm->high : x;
}

/* A mixture over nd dims (proto: from hpo_parzen_dim_init) from n observations; obs[i] holds
 * dim i's n transformed values. weights: un-normalised per observation, or NULL for the default
 * ones. multivariate: joint bandwidths over the nd dims. sorted (one numeric dim only): the
 * observations sorted by value and merged, for the windowed density. HPO_E_NOMEM. */
hpo_rc hpo_parzen_mix_build(hpo_arena *a, const hpo_tpe_config *c, const pz_dim *proto, size_t nd,
                            double *const *obs, size_t n, const double *weights, bool multivariate,
                            bool sorted, pz_mix *ret);
/* The log mass on [low, high] of numeric component k, computed on first use (filling the dim's
 * caches: log_mass, lnorm, a); the mixture is const but its caches are not. */
double hpo_parzen_comp_log_mass(const pz_dim *dm, size_t k);
/* One candidate from the mixture: x[i] gets dim i's internal value, rounded onto its dist. */
void hpo_parzen_mix_sample(const pz_mix *m, hpo_rng *rng, double *x);
/* log density of the mixture at nc candidates (internal values, nc x nd, row-major); row and
 * kept are scratch of K entries. Fills caches of the mixture (normalisers computed on use). */
void hpo_parzen_mix_log_pdf(const pz_mix *m, const double *x, size_t nc, double *row,
                            uint32_t *kept, double *ret);

#endif
