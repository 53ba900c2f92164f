/* hpo_parzen: the Parzen estimator (see hpo_parzen.h): building the mixtures (Optuna 3.1's
 * bandwidths, the prior, normalisers computed exactly, tabulated or on use), drawing from them,
 * and their log density at candidates, with vector kernels (SSE2 where available) and windows
 * that leave out the components below e^-40 of the sum; then the estimator's API for tests. */
#include "hpo_parzen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hpo_sort.h"
#include "hpo_truncnorm.h"

#define INV_SQRT_2PI 0.39894228040143267793994605993438
#define TPE_EPS 1e-12       /* Optuna's minimum sigma without the magic clip */
#define SIGMA0_MAGNITUDE 0.2
/* Terms of a log-sum-exp this far below the largest change the sum by less than e^-40 each. */
#define LSE_CUTOFF 40.0
#define SERIES_MAX_H 0.1 /* cells narrower than this many sigmas: by series */

/* A value and its index, sorted by value. */
typedef struct {
    double v;
    uint32_t idx;
} kv_item;

static bool kv_less(const kv_item *x, const kv_item *y)
{
    return x->v < y->v;
}

/* Stable merge sort of v[0..n) by value (tmp: n items of scratch). */
HPO_SORT_DEFINE(sort_kv, kv_item, kv_less)

/* ------------------------------------------------------------------------------------------ */
/* Dims: bounds, the transformed space, bandwidths and normalisers. */

bool hpo_parzen_dist_single(const hpo_dist *d)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return d->n_choices <= 1;
    return !(d->low < d->high);
}

/* Kind and transformed bounds of a non-single distribution, as in _calculate_parzen_bounds. */
void hpo_parzen_dim_init(const hpo_dist *d, pz_dim *ret)
{
    ret->d = d;
    if (d->type == HPO_DIST_CATEGORICAL) {
        ret->kind = PZ_CAT;
        ret->n_choices = d->n_choices;
        return;
    }
    double step = d->type == HPO_DIST_INT ? fmax(d->step, 1.0) : d->step;
    if (d->log) {
        ret->kind = PZ_CONT;
        ret->q = 0;
        if (d->type == HPO_DIST_INT) {
            ret->low = log(d->low - 0.5);
            ret->high = log(d->high + 0.5);
        } else {
            ret->low = log(d->low);
            ret->high = log(d->high);
        }
    } else if (step > 0) {
        ret->kind = PZ_STEP;
        ret->q = step;
        ret->low = d->low - 0.5 * step;
        ret->high = d->high + 0.5 * step;
    } else {
        ret->kind = PZ_CONT;
        ret->q = 0;
        ret->low = d->low;
        ret->high = d->high;
    }
}

/* Optuna 3.1's univariate bandwidth over mus in sorted order (the prior's mu among them, padded
 * with low and high): sigma = the larger neighbour gap; without endpoints the outermost use the
 * inner gap. sigma_sorted[i] belongs to sorted[i]. */
static void sorted_sigmas(const hpo_tpe_config *c, const double *sorted, size_t K, double low,
                          double high, double *sigma_sorted)
{
    for (size_t i = 0; i < K; i++) {
        double left = sorted[i] - (i > 0 ? sorted[i - 1] : low);
        double right = (i + 1 < K ? sorted[i + 1] : high) - sorted[i];
        sigma_sorted[i] = left > right ? left : right;
    }
    if (!c->consider_endpoints && K >= 2) {
        sigma_sorted[0] = sorted[1] - sorted[0];
        sigma_sorted[K - 1] = sorted[K - 1] - sorted[K - 2];
    }
}

/* The bandwidths of mu[0..K) (K-1: the prior), written in the order of mu[]. */
static hpo_rc univariate_sigmas(hpo_arena *a, const hpo_tpe_config *c, const double *mu,
                                size_t K, double low, double high, double *sigma)
{
    hpo_arena_mark m = hpo_arena_save(a);
    double *seq = hpo_arena_alloc(a, K, sizeof(double));
    double *sig = hpo_arena_alloc(a, K, sizeof(double));
    kv_item *items = hpo_arena_alloc(a, K, sizeof(*items));
    kv_item *tmp = hpo_arena_alloc(a, K, sizeof(*tmp));
    if (seq == NULL || sig == NULL || items == NULL || tmp == NULL || K > UINT32_MAX)
        return HPO_E_NOMEM;
    for (size_t k = 0; k < K; k++)
        items[k] = (kv_item){ mu[k], (uint32_t)k };
    sort_kv(items, tmp, K);
    for (size_t i = 0; i < K; i++)
        seq[i] = mu[items[i].idx];
    sorted_sigmas(c, seq, K, low, high, sig);
    for (size_t i = 0; i < K; i++)
        sigma[items[i].idx] = sig[i];
    hpo_arena_restore(a, m);
    return HPO_OK;
}

static double cell_log_mass(double za, double zb);
static void series_coefs(double h, double *b);

/* Well inside the bounds a component's mass is 1 - O(1e-17): no erfc needed. */
static bool interior(double za, double zb)
{
    return za < -8.5 && zb > 8.5;
}

/* The log mass on [low, high] of component k, computed on first use. */
static double comp_log_mass(const pz_dim *dm, size_t k)
{
    double lm = dm->log_mass[k];
    if (!isnan(lm))
        return lm;
    double s = dm->sigma[k], mu = dm->mu[k];
    double za = (dm->low - mu) / s, zb = (dm->high - mu) / s;
    lm = interior(za, zb) ? 0.0 : cell_log_mass(za, zb);
    if (isnan(lm))
        lm = 0; /* not reached for finite bounds; never recomputed */
    dm->log_mass[k] = lm;
    if (dm->kind == PZ_STEP)
        dm->lnorm[k] = -lm;
    else if (dm->shared)
        dm->lnorm[k] = dm->base - lm;
    if (dm->a != NULL)
        dm->a[k] *= exp(-lm);
    return lm;
}

/* Groups a shared STEP dim's observation components by mu (int and stepped params take few
 * values): the kernels at a candidate are then computed once per distinct mu. Leaves cid NULL
 * where the grid is too large or a grid point holds two different mus. */
static hpo_rc group_step_dim(hpo_arena *a, pz_dim *dm, size_t n)
{
    dm->cid = NULL;
    if (n == 0)
        return HPO_OK;
    double q = dm->q, g0 = dm->low + 0.5 * q;
    double span = (dm->high - 0.5 * q - g0) / q;
    if (!(span >= 0 && span < 65536))
        return HPO_OK;
    size_t G = (size_t)(span + 0.5) + 1;
    hpo_arena_mark mark = hpo_arena_save(a);
    uint32_t *map = hpo_arena_alloc(a, G, sizeof(uint32_t));
    uint32_t *cid = hpo_arena_alloc(a, n, sizeof(uint32_t));
    size_t cap = n < G ? n : G;
    double *dmu = hpo_arena_alloc(a, cap, sizeof(double));
    double *dlnm = hpo_arena_alloc(a, cap, sizeof(double));
    double *tab = hpo_arena_alloc(a, cap, sizeof(double));
    if (!map || !cid || !dmu || !dlnm || !tab)
        return HPO_E_NOMEM;
    memset(map, 0xff, G * sizeof(uint32_t));
    size_t D = 0;
    for (size_t k = 0; k < n; k++) {
        double f = (dm->mu[k] - g0) / q;
        size_t j = f > 0 ? (size_t)(f + 0.5) : 0;
        j = j >= G ? G - 1 : j;
        if (map[j] == UINT32_MAX) {
            map[j] = (uint32_t)D;
            dmu[D] = dm->mu[k];
            dlnm[D] = NAN;
            D++;
        } else if (dmu[map[j]] != dm->mu[k]) {
            hpo_arena_restore(a, mark);
            return HPO_OK;
        }
        cid[k] = map[j];
    }
    dm->cid = cid;
    dm->n_distinct = D;
    if (q * dm->inv_obs <= SERIES_MAX_H)
        series_coefs(q * dm->inv_obs, dm->series_b);
    dm->dmu = dmu;
    dm->dlnm = dlnm;
    dm->tab = tab;
    return HPO_OK;
}

/* -log of the mass on [low, high] of N(mu, sigma) as a function of y = (mu - low) / sigma in
 * [0, R], R = (high - low) / sigma: f(y) = -log(Phi(R - y) - Phi(-y)), with f' and f''. */
static void mass_node(double y, double R, double *f, double *fp, double *fpp)
{
    double pa = hpo_truncnorm_ndtr(-y), pb = hpo_truncnorm_ndtr(y - R);
    double M = 1 - pa - pb;
    *f = -log1p(-pa - pb);
    double phia = exp(-0.5 * y * y) * INV_SQRT_2PI;
    double phib = exp(-0.5 * (R - y) * (R - y)) * INV_SQRT_2PI;
    double mp = phia - phib, mpp = -y * phia - (R - y) * phib;
    *fp = -mp / M;
    *fpp = -mpp / M + *fp * *fp;
}

/* Node spacing of the normaliser table in units of sigma: the quintic Hermite interpolant's
 * error is below h^6 / 46080 max|f^(6)| ~ 1e-14 (f = -log of a mass >= 0.34 is smooth). */
#define MASS_TABLE_H (1.0 / 32)

/* A joint dim's observation components share sigma, so their normalisers are one smooth
 * function of mu, symmetric about the middle: with many components, tabulate it (a few hundred
 * exact evaluations) and interpolate, instead of two erfc and a log per component; with few,
 * compute them exactly. */
static hpo_rc tabulate_log_masses(hpo_arena *a, pz_dim *dm, size_t n)
{
    double R = (dm->high - dm->low) * dm->inv_obs;
    double half = 0.5 * R;
    if (!(half >= 0) || half / MASS_TABLE_H > 1e6)
        return HPO_OK; /* left to compute on use */
    size_t cells = (size_t)ceil(half / MASS_TABLE_H) + 1;
    if (2 * cells >= dm->n_lazy) {
        /* few components: exactly, now (a joint estimator's components all matter) */
        for (size_t k = 0; k < n; k++)
            if (isnan(dm->log_mass[k]))
                comp_log_mass(dm, k);
        dm->n_lazy = 0;
        return HPO_OK;
    }
    hpo_arena_mark mark = hpo_arena_save(a);
    double *coef = hpo_arena_alloc(a, cells * 6, sizeof(double));
    if (coef == NULL)
        return HPO_E_NOMEM;
    const double h = MASS_TABLE_H;
    double f0, d0, s0;
    mass_node(0, R, &f0, &d0, &s0);
    for (size_t j = 0; j < cells; j++) {
        double f1, d1, s1;
        mass_node((double)(j + 1) * h, R, &f1, &d1, &s1);
        double A = f0, B = h * d0, C = h * h * s0, D = f1, E = h * d1, F = h * h * s1;
        double *cf = coef + 6 * j;
        cf[0] = A;
        cf[1] = B;
        cf[2] = 0.5 * C;
        cf[3] = -10 * A - 6 * B - 1.5 * C + 10 * D - 4 * E + 0.5 * F;
        cf[4] = 15 * A + 8 * B + 1.5 * C - 15 * D + 7 * E - F;
        cf[5] = -6 * A - 3 * B - 0.5 * C + 6 * D - 3 * E + 0.5 * F;
        f0 = f1;
        d0 = d1;
        s0 = s1;
    }
    double inv = dm->inv_obs, low = dm->low;
    for (size_t k = 0; k < n; k++) {
        if (!isnan(dm->log_mass[k]))
            continue;
        double y = (dm->mu[k] - low) * inv;
        y = y > R - y ? R - y : y;
        double u = y > 0 ? y / h : 0;
        size_t j = (size_t)u;
        j = j >= cells ? cells - 1 : j;
        double t = u - (double)j;
        const double *cf = coef + 6 * j;
        double nlm = ((((cf[5] * t + cf[4]) * t + cf[3]) * t + cf[2]) * t + cf[1]) * t + cf[0];
        dm->log_mass[k] = -nlm;
        dm->lnorm[k] = dm->base + nlm;
    }
    dm->n_lazy = 0;
    hpo_arena_restore(a, mark);
    return HPO_OK;
}

/* Builds one numeric dim of an unsorted mixture of n observations (+ the prior). mv_dims > 0:
 * a joint estimator's dim (one shared bandwidth; normalisers computed on use). */
static hpo_rc build_numeric_dim(hpo_arena *a, const hpo_tpe_config *c, pz_dim *dm,
                                const double *obs, size_t n, size_t mv_dims)
{
    size_t K = n + 1;
    double low = dm->low, high = dm->high, range = high - low;
    dm->mu = hpo_arena_alloc(a, K, sizeof(double));
    dm->sigma = hpo_arena_alloc(a, K, sizeof(double));
    dm->inv_sigma = hpo_arena_alloc(a, K, sizeof(double));
    dm->log_mass = hpo_arena_alloc(a, K, sizeof(double));
    dm->lnorm = hpo_arena_alloc(a, K, sizeof(double));
    dm->log_q_s = dm->kind == PZ_STEP ? hpo_arena_alloc(a, K, sizeof(double)) : NULL;
    if (!dm->mu || !dm->sigma || !dm->inv_sigma || !dm->log_mass || !dm->lnorm ||
        (dm->kind == PZ_STEP && !dm->log_q_s))
        return HPO_E_NOMEM;
    memcpy(dm->mu, obs, n * sizeof(double));
    dm->mu[n] = 0.5 * (low + high);
    dm->a = NULL;
    dm->cid = NULL;

    if (mv_dims > 0) {
        double nn = n > 0 ? (double)n : 1.0;
        double s0 = SIGMA0_MAGNITUDE * pow(nn, -1.0 / ((double)mv_dims + 4));
        for (size_t k = 0; k < K; k++)
            dm->sigma[k] = s0 * range;
    } else {
        hpo_rc rc = univariate_sigmas(a, c, dm->mu, K, low, high, dm->sigma);
        if (rc != HPO_OK)
            return rc;
    }
    double maxsigma = range;
    double minsigma = c->consider_magic_clip ? range / fmin(100.0, 1.0 + (double)K) : TPE_EPS;
    for (size_t k = 0; k < K; k++) {
        double s = dm->sigma[k];
        s = s < minsigma ? minsigma : s;
        s = s > maxsigma ? maxsigma : s;
        dm->sigma[k] = s;
    }
    dm->sigma[n] = range;

    bool lazy = mv_dims > 0;
    dm->shared = lazy;
    dm->n_lazy = 0;
    if (lazy) {
        double s = n > 0 ? dm->sigma[0] : range;
        dm->sigma_obs = s;
        dm->inv_obs = 1.0 / s;
        dm->base = -HPO_LOG_SQRT_2PI;
    }
    double prev_s = NAN, log_s = 0, inv = 0, log_q = dm->kind == PZ_STEP ? log(dm->q) : 0;
    for (size_t k = 0; k < K; k++) {
        double s = dm->sigma[k];
        if (s != prev_s) { /* bandwidths repeat: one log per distinct one */
            prev_s = s;
            log_s = log(s);
            inv = 1.0 / s;
        }
        dm->inv_sigma[k] = inv;
        double lm;
        /* the interior test needs no division (and is not sharp at 8.5 sigmas) */
        if (interior((low - dm->mu[k]) * inv, (high - dm->mu[k]) * inv)) {
            lm = 0.0;
        } else if (lazy && k < n) {
            lm = NAN;
            dm->n_lazy++;
        } else {
            double za = (low - dm->mu[k]) / s, zb = (high - dm->mu[k]) / s;
            lm = interior(za, zb) ? 0.0 : cell_log_mass(za, zb);
        }
        dm->log_mass[k] = lm;
        if (dm->kind == PZ_STEP) {
            dm->lnorm[k] = -lm;
            dm->log_q_s[k] = log_q - log_s - HPO_LOG_SQRT_2PI;
        } else {
            dm->lnorm[k] = -HPO_LOG_SQRT_2PI - lm;
        }
    }
    dm->nlm_bound = 0;
    dm->has_nlm = dm->n_lazy > 0;
    if (lazy && dm->n_lazy > 0) {
        /* the mass of a normal centred in [low, high] is smallest with mu at a bound */
        double r = range * dm->inv_obs;
        dm->nlm_bound = -log(hpo_truncnorm_ndtr(r) - 0.5) + 1e-9;
        if (!(dm->nlm_bound >= 0) || !isfinite(dm->nlm_bound))
            dm->nlm_bound = 2.0; /* r >= 1 (sigma <= range): -log(Phi(1) - 1/2) < 1.08 */
    }
    if (lazy && dm->kind == PZ_STEP)
        return group_step_dim(a, dm, n);
    if (lazy && dm->n_lazy > 0)
        return tabulate_log_masses(a, dm, n);
    return HPO_OK;
}

static hpo_rc build_categorical_dim(hpo_arena *a, const hpo_tpe_config *c, pz_dim *dm,
                                    const double *obs, size_t n)
{
    dm->choice = hpo_arena_alloc(a, n, sizeof(double));
    if (dm->choice == NULL)
        return HPO_E_NOMEM;
    memcpy(dm->choice, obs, n * sizeof(double));
    double C = (double)dm->n_choices;
    double v = c->prior_weight / (double)(n + 1);
    double denom = C * v + 1;
    dm->hit_prob = 1.0 / denom;
    dm->log_hit = log((v + 1) / denom);
    dm->log_miss = log(v / denom);
    dm->log_uniform = -log(C);
    return HPO_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* The univariate estimator as the sampler uses it: observations sorted by value and merged. */

/* Sorts the n values into ret (stable; values in [lo, hi]): buckets over [lo, hi], then small
 * sorts per bucket; a bucket that gathers many items (values piled up) is merge-sorted, so the
 * worst case is n log n. */
static hpo_rc sort_values(hpo_arena *a, const double *vals, size_t n, double lo, double hi,
                          kv_item *ret)
{
    hpo_arena_mark m = hpo_arena_save(a);
    uint32_t *start = hpo_arena_alloc(a, n + 1, sizeof(uint32_t));
    if (start == NULL || n >= UINT32_MAX)
        return HPO_E_NOMEM;
    double scale = hi > lo ? (double)n / (hi - lo) : 0;
    memset(start, 0, (n + 1) * sizeof(uint32_t));
#define BUCKET(x)                                                                                  \
    do {                                                                                           \
        double f_ = ((x) - lo) * scale;                                                            \
        b = f_ > 0 ? (size_t)f_ : 0;                                                               \
        b = b >= n ? n - 1 : b;                                                                    \
    } while (0)
    size_t b;
    for (size_t i = 0; i < n; i++) {
        BUCKET(vals[i]);
        start[b + 1]++;
    }
    for (size_t j = 0; j < n; j++)
        start[j + 1] += start[j];
    for (size_t i = 0; i < n; i++) {
        BUCKET(vals[i]);
        ret[start[b]++] = (kv_item){ vals[i], (uint32_t)i };
    }
#undef BUCKET
    /* start[b] now ends bucket b */
    for (size_t j = 0, s = 0; j < n; j++) {
        size_t e = start[j];
        if (e - s > 32) {
            kv_item *big = hpo_arena_alloc(a, e - s, sizeof(kv_item));
            if (big == NULL)
                return HPO_E_NOMEM;
            sort_kv(ret + s, big, e - s);
        } else {
            for (size_t i = s + 1; i < e; i++) {
                kv_item x = ret[i];
                size_t k = i;
                while (k > s && x.v < ret[k - 1].v) {
                    ret[k] = ret[k - 1];
                    k--;
                }
                ret[k] = x;
            }
        }
        s = e;
    }
    hpo_arena_restore(a, m);
    return HPO_OK;
}

/* 1 / (Phi(1) - 1/2) < 2.93: the largest 1/mass of a component centred in the bounds */
#define MASS_BOUND_INV 3.0

/* The mixture of one numeric param with its observations sorted by value and merged (equal mu
 * and sigma), the prior last: the univariate estimator as the windowed density uses it. */
static hpo_rc build_sorted(hpo_arena *a, const hpo_tpe_config *c, const pz_dim *proto,
                           const double *obs, size_t n, const double *weights, pz_mix *ret)
{
    size_t K0 = n + 1;
    ret->nd = 1;
    ret->sorted = true;
    ret->has_step = proto->kind == PZ_STEP;
    ret->lwb = NULL;
    pz_dim *dm = ret->dims = hpo_arena_alloc(a, 1, sizeof(pz_dim));
    double *w0 = hpo_arena_alloc(a, K0, sizeof(double));
    kv_item *items = hpo_arena_alloc(a, n, sizeof(kv_item));
    if (!dm || !w0 || !items)
        return HPO_E_NOMEM;
    *dm = *proto;
    if (weights != NULL)
        memcpy(w0, weights, n * sizeof(double));
    else
        hpo_tpe_weights(n, w0);
    w0[n] = c->prior_weight;
    double total = 0;
    for (size_t k = 0; k < K0; k++)
        total += w0[k];
    size_t k0 = 0;
#if defined(__SSE2__)
    const __m128d vtot = _mm_set1_pd(total);
    for (; k0 + 2 <= K0; k0 += 2)
        _mm_storeu_pd(w0 + k0, _mm_div_pd(_mm_loadu_pd(w0 + k0), vtot));
#endif
    for (; k0 < K0; k0++)
        w0[k0] /= total;
    if (sort_values(a, obs, n, proto->low, proto->high, items) != HPO_OK)
        return HPO_E_NOMEM;

    bool step = dm->kind == PZ_STEP;
    dm->mu = hpo_arena_alloc(a, K0, sizeof(double));
    dm->sigma = hpo_arena_alloc(a, K0, sizeof(double));
    dm->inv_sigma = hpo_arena_alloc(a, K0, sizeof(double));
    dm->log_mass = hpo_arena_alloc(a, K0, sizeof(double));
    dm->lnorm = hpo_arena_alloc(a, K0, sizeof(double));
    dm->a = step ? NULL : hpo_arena_alloc(a, K0, sizeof(double));
    dm->cb = step ? hpo_arena_alloc(a, K0, sizeof(double)) : NULL;
    ret->w = hpo_arena_alloc(a, K0, sizeof(double));
    ret->cumw = hpo_arena_alloc(a, K0, sizeof(double));
    ret->logw = step ? hpo_arena_alloc(a, K0, sizeof(double)) : NULL;
    if (!dm->mu || !dm->sigma || !dm->inv_sigma || !dm->log_mass || !dm->lnorm ||
        (!step && !dm->a) || (step && !dm->cb) || !ret->w || !ret->cumw || (step && !ret->logw))
        return HPO_E_NOMEM;
    dm->log_q_s = NULL;
    dm->shared = false;
    dm->cid = NULL;
    dm->cells = NULL;
    dm->n_grid = 0;
    if (step) {
        double span = (dm->high - dm->low) / dm->q - 1;
        if (span >= 0 && span < 4096) {
            size_t G = (size_t)(span + 0.5) + 1;
            dm->cells = hpo_arena_alloc(a, 2 * G + 1, sizeof(struct pz_cell_entry));
            if (dm->cells == NULL)
                return HPO_E_NOMEM;
            for (size_t i = 0; i < 2 * G + 1; i++)
                dm->cells[i].za = NAN;
            dm->n_grid = G;
        }
    }

    double low = dm->low, high = dm->high, range = high - low, prior = 0.5 * (low + high);
    size_t pos = n; /* the prior goes before the first observation > prior */
    for (size_t lo = 0, hi = n; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        if (items[mid].v > prior)
            hi = pos = mid;
        else
            lo = mid + 1;
    }
    double maxsigma = range;
    double minsigma = c->consider_magic_clip ? range / fmin(100.0, 1.0 + (double)K0) : TPE_EPS;
#define SEQ(j) ((j) < pos ? items[(j)].v : (j) == pos ? prior : items[(j) - 1].v)
    double *mu = dm->mu, *sigma = dm->sigma, *w = ret->w;
    size_t out = 0;
    for (size_t j = 0; j < K0; j++) {
        if (j == pos)
            continue;
        double x = SEQ(j), s;
        if (!c->consider_endpoints && K0 >= 2 && (j == 0 || j == K0 - 1)) {
            s = j == 0 ? SEQ(1) - x : x - SEQ(K0 - 2);
        } else {
            double left = x - (j > 0 ? SEQ(j - 1) : low);
            double right = (j + 1 < K0 ? SEQ(j + 1) : high) - x;
            s = left > right ? left : right;
        }
        s = s < minsigma ? minsigma : s;
        s = s > maxsigma ? maxsigma : s;
        double wk = w0[items[j < pos ? j : j - 1].idx];
        if (out > 0 && mu[out - 1] == x && sigma[out - 1] == s) {
            w[out - 1] += wk;
            continue;
        }
        mu[out] = x;
        sigma[out] = s;
        w[out] = wk;
        out++;
    }
#undef SEQ
    size_t P = out, K = out + 1;
    mu[P] = prior;
    sigma[P] = range;
    w[P] = w0[n];
    ret->K = K;

    /* per component: 1/sigma (once per distinct sigma), normalisers well inside the bounds,
     * the others on use; the bound of the peaks */
    dm->n_lazy = 0;
    double prev_s = NAN, inv = 0, lin_max = 0, s_max = 0;
    double peak = step ? dm->q * INV_SQRT_2PI : INV_SQRT_2PI;
    for (size_t k = 0; k < P; k++) {
        double s = sigma[k];
        if (s != prev_s) {
            prev_s = s;
            inv = 1.0 / s;
        }
        dm->inv_sigma[k] = inv;
        s_max = s > s_max ? s : s_max;
        bool in = interior((low - mu[k]) * inv, (high - mu[k]) * inv);
        dm->log_mass[k] = in ? 0.0 : NAN;
        dm->n_lazy += !in;
        double lin = w[k] * (step ? inv : 1.0) * peak;
        if (step) {
            dm->lnorm[k] = in ? 0.0 : NAN;
            ret->logw[k] = NAN;
        } else {
            dm->a[k] = lin;
        }
        lin = in ? lin : lin * MASS_BOUND_INV;
        lin_max = lin > lin_max ? lin : lin_max;
        if (step)
            dm->cb[k] = lin; /* to logs below */
    }
    if (step) { /* one log per distinct value (sigmas and weights repeat) */
        double prev_lin = NAN, prev_log = 0;
        for (size_t k = 0; k < P; k++) {
            double lin = dm->cb[k];
            if (lin != prev_lin) {
                prev_lin = lin;
                prev_log = log(lin);
            }
            dm->cb[k] = prev_log;
        }
    }
    /* the prior: exact */
    double za = (low - prior) / range, zb = (high - prior) / range;
    double lm = interior(za, zb) ? 0.0 : cell_log_mass(za, zb);
    dm->inv_sigma[P] = 1.0 / range;
    dm->log_mass[P] = lm;
    dm->lnorm[P] = step ? -lm : -HPO_LOG_SQRT_2PI - lm;
    ret->logw_p = log(w[P]);
    if (step)
        ret->logw[P] = ret->logw_p;
    dm->s_max = s_max;
    dm->c_max = P > 0 ? log(lin_max) : -INFINITY;
    if (!step) {
        double scale = P > 0 ? 1.0 / lin_max : 1.0;
        for (size_t k = 0; k < P; k++)
            dm->a[k] *= scale;
        dm->a[P] = 0;
    }
    double cum = 0;
    for (size_t k = 0; k < K; k++) {
        cum += w[k];
        ret->cumw[k] = cum;
    }
    ret->cumw[K - 1] = 1.0;
    return HPO_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Mixtures: building and drawing. */

/* logw, cumw and lwb of an unsorted mixture whose w and dims are built. */
static hpo_rc finish_mix(hpo_arena *a, pz_mix *m)
{
    size_t K = m->K;
    if (m->logw == NULL)
        m->logw = hpo_arena_alloc(a, K, sizeof(double));
    if (m->cumw == NULL)
        m->cumw = hpo_arena_alloc(a, K, sizeof(double));
    if (m->lwb == NULL)
        m->lwb = hpo_arena_alloc(a, K, sizeof(double));
    if (!m->logw || !m->cumw || !m->lwb)
        return HPO_E_NOMEM;
    double cum = 0, base = 0;
    for (size_t i = 0; i < m->nd; i++)
        if (m->dims[i].kind == PZ_CONT && m->dims[i].shared)
            base += m->dims[i].base;
    for (size_t k = 0; k < K; k++) {
        m->logw[k] = log(m->w[k]);
        m->lwb[k] = m->logw[k] + base;
        cum += m->w[k];
        m->cumw[k] = cum;
    }
    m->lwb[K - 1] = m->logw[K - 1];
    m->logw_p = m->logw[K - 1];
    m->cumw[K - 1] = 1.0;
    return HPO_OK;
}

/* A mixture over nd dims from n observations; obs[i] holds dim i's n transformed values.
 * weights: un-normalised per observation, or NULL for the default ones. sorted (one numeric
 * dim only): keep the observations sorted by value and merged, for the windowed density. */
hpo_rc hpo_parzen_mix_build(hpo_arena *a, const hpo_tpe_config *c, const pz_dim *proto, size_t nd,
                            double *const *obs, size_t n, const double *weights, bool multivariate,
                            bool sorted, pz_mix *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (sorted && nd == 1 && proto[0].kind != PZ_CAT)
        return build_sorted(a, c, proto, obs[0], n, weights, ret);
    size_t K = n + 1;
    ret->K = K;
    ret->nd = nd;
    ret->w = hpo_arena_alloc(a, K, sizeof(double));
    ret->dims = hpo_arena_alloc(a, nd, sizeof(pz_dim));
    if (!ret->w || !ret->dims)
        return HPO_E_NOMEM;
    if (weights != NULL)
        memcpy(ret->w, weights, n * sizeof(double));
    else
        hpo_tpe_weights(n, ret->w);
    ret->w[n] = c->prior_weight;
    double total = 0;
    for (size_t k = 0; k < K; k++)
        total += ret->w[k];
    for (size_t k = 0; k < K; k++)
        ret->w[k] /= total;

    for (size_t i = 0; i < nd; i++) {
        pz_dim *dm = &ret->dims[i];
        *dm = proto[i];
        hpo_rc rc = dm->kind == PZ_CAT
                        ? build_categorical_dim(a, c, dm, obs[i], n)
                        : build_numeric_dim(a, c, dm, obs[i], n, multivariate ? nd : 0);
        if (rc != HPO_OK)
            return rc;
        if (dm->kind == PZ_STEP)
            ret->has_step = true;
    }
    return finish_mix(a, ret);
}

/* One candidate from the mixture: x[i] gets dim i's internal value, rounded onto its dist. */
void hpo_parzen_mix_sample(const pz_mix *m, hpo_rng *rng, double *x)
{
    double u = hpo_rng_uniform(rng);
    size_t lo = 0, hi = m->K - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cumw[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    size_t k = lo;
    for (size_t i = 0; i < m->nd; i++) {
        const pz_dim *dm = &m->dims[i];
        if (dm->kind == PZ_CAT) {
            double pick;
            if (k + 1 == m->K || hpo_rng_uniform(rng) >= dm->hit_prob)
                pick = (double)hpo_rng_below(rng, dm->n_choices);
            else
                pick = dm->choice[k];
            x[i] = pick;
            continue;
        }
        double mu = dm->mu[k], s = dm->sigma[k];
        double za = (dm->low - mu) / s, zb = (dm->high - mu) / s;
        double z = hpo_truncnorm_ppf(hpo_rng_uniform(rng), za, zb, comp_log_mass(dm, k));
        double t = mu + s * z;
        t = t < dm->low ? dm->low : t > dm->high ? dm->high : t;
        x[i] = hpo_dist_round(dm->d, dm->d->log ? exp(t) : t);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Log density: vector kernels, cell masses, and windows over the components that matter. */

/* 2^(j/64), j = 0..63, correctly rounded. */
static const double EXP2_64[64] = {
    0x1.0000000000000p+0, 0x1.02c9a3e778061p+0, 0x1.059b0d3158574p+0, 0x1.0874518759bc8p+0,
    0x1.0b5586cf9890fp+0, 0x1.0e3ec32d3d1a2p+0, 0x1.11301d0125b51p+0, 0x1.1429aaea92de0p+0,
    0x1.172b83c7d517bp+0, 0x1.1a35beb6fcb75p+0, 0x1.1d4873168b9aap+0, 0x1.2063b88628cd6p+0,
    0x1.2387a6e756238p+0, 0x1.26b4565e27cddp+0, 0x1.29e9df51fdee1p+0, 0x1.2d285a6e4030bp+0,
    0x1.306fe0a31b715p+0, 0x1.33c08b26416ffp+0, 0x1.371a7373aa9cbp+0, 0x1.3a7db34e59ff7p+0,
    0x1.3dea64c123422p+0, 0x1.4160a21f72e2ap+0, 0x1.44e086061892dp+0, 0x1.486a2b5c13cd0p+0,
    0x1.4bfdad5362a27p+0, 0x1.4f9b2769d2ca7p+0, 0x1.5342b569d4f82p+0, 0x1.56f4736b527dap+0,
    0x1.5ab07dd485429p+0, 0x1.5e76f15ad2148p+0, 0x1.6247eb03a5585p+0, 0x1.6623882552225p+0,
    0x1.6a09e667f3bcdp+0, 0x1.6dfb23c651a2fp+0, 0x1.71f75e8ec5f74p+0, 0x1.75feb564267c9p+0,
    0x1.7a11473eb0187p+0, 0x1.7e2f336cf4e62p+0, 0x1.82589994cce13p+0, 0x1.868d99b4492edp+0,
    0x1.8ace5422aa0dbp+0, 0x1.8f1ae99157736p+0, 0x1.93737b0cdc5e5p+0, 0x1.97d829fde4e50p+0,
    0x1.9c49182a3f090p+0, 0x1.a0c667b5de565p+0, 0x1.a5503b23e255dp+0, 0x1.a9e6b5579fdbfp+0,
    0x1.ae89f995ad3adp+0, 0x1.b33a2b84f15fbp+0, 0x1.b7f76f2fb5e47p+0, 0x1.bcc1e904bc1d2p+0,
    0x1.c199bdd85529cp+0, 0x1.c67f12e57d14bp+0, 0x1.cb720dcef9069p+0, 0x1.d072d4a07897cp+0,
    0x1.d5818dcfba487p+0, 0x1.da9e603db3285p+0, 0x1.dfc97337b9b5fp+0, 0x1.e502ee78b3ff6p+0,
    0x1.ea4afa2a490dap+0, 0x1.efa1bee615a27p+0, 0x1.f50765b6e4540p+0, 0x1.fa7c1819e90d8p+0
};

/* e^x for x in [-700, 0], branch-free (the log-sum-exp's inner loop): x = (64 m + j) ln2/64 + r
 * with |r| <= ln2/128; e^r by its Taylor series to degree 5 (error < 4e-17). */
static double exp_nonpos(double x)
{
    const double shift = 0x1.8p52;
    x = x < -700 ? -700 : x;
    double kd = x * 0x1.71547652b82fep+6 + shift;
    uint64_t ki;
    memcpy(&ki, &kd, sizeof(ki));
    kd -= shift;
    /* ln2/64 split so that kd * hi is exact */
    double r = x - kd * 0x1.62e42fefa0000p-7 - kd * 0x1.cf79abc9e3b3ap-46;
    double r2 = r * r;
    double p = (1 + r) + r2 * (0.5 + r * (1.0 / 6)) + r2 * r2 * (1.0 / 24 + r * (1.0 / 120));
    uint64_t bits = ((ki >> 6) + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof(scale));
    return EXP2_64[ki & 63] * scale * p;
}

#if defined(__SSE2__)
/* exp_nonpos on two lanes, the same operations in the same order (identical results). */
static __m128d exp_nonpos2(__m128d x)
{
    const __m128d shift = _mm_set1_pd(0x1.8p52);
    x = _mm_max_pd(_mm_set1_pd(-700), x);
    __m128d kd = _mm_add_pd(_mm_mul_pd(x, _mm_set1_pd(0x1.71547652b82fep+6)), shift);
    __m128i ki = _mm_castpd_si128(kd);
    kd = _mm_sub_pd(kd, shift);
    __m128d r = _mm_sub_pd(_mm_sub_pd(x, _mm_mul_pd(kd, _mm_set1_pd(0x1.62e42fefa0000p-7))),
                           _mm_mul_pd(kd, _mm_set1_pd(0x1.cf79abc9e3b3ap-46)));
    __m128d r2 = _mm_mul_pd(r, r);
    __m128d p1 = _mm_add_pd(_mm_set1_pd(1), r);
    __m128d p2 = _mm_mul_pd(r2, _mm_add_pd(_mm_set1_pd(0.5), _mm_mul_pd(r, _mm_set1_pd(1.0 / 6))));
    __m128d p3 = _mm_mul_pd(_mm_mul_pd(r2, r2), _mm_add_pd(_mm_set1_pd(1.0 / 24),
                                                           _mm_mul_pd(r, _mm_set1_pd(1.0 / 120))));
    __m128d p = _mm_add_pd(_mm_add_pd(p1, p2), p3);
    __m128i bits = _mm_slli_epi64(_mm_add_epi64(_mm_srli_epi64(ki, 6), _mm_set1_epi64x(1023)), 52);
    uint64_t k0 = (uint64_t)_mm_cvtsi128_si64(ki);
    uint64_t k1 = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(ki, ki));
    __m128d tab = _mm_set_pd(EXP2_64[k1 & 63], EXP2_64[k0 & 63]);
    return _mm_mul_pd(_mm_mul_pd(tab, _mm_castsi128_pd(bits)), p);
}
#endif

/* row[k] -= (z^2 / 2 + lm[k]) (lm NULL: 0) with z = (t - mu[k]) inv, for k < n: a joint
 * estimator's dim at one candidate. */
static void rows_sub_sq(double *row, const double *mu, const double *lm, double t, double inv,
                        size_t n)
{
    size_t k = 0;
#if defined(__SSE2__)
    const __m128d vt = _mm_set1_pd(t), vi = _mm_set1_pd(inv), half = _mm_set1_pd(0.5);
    for (; k + 2 <= n; k += 2) {
        __m128d z = _mm_mul_pd(_mm_sub_pd(vt, _mm_loadu_pd(mu + k)), vi);
        __m128d v = _mm_mul_pd(half, _mm_mul_pd(z, z));
        if (lm != NULL)
            v = _mm_add_pd(v, _mm_loadu_pd(lm + k));
        _mm_storeu_pd(row + k, _mm_sub_pd(_mm_loadu_pd(row + k), v));
    }
#endif
    for (; k < n; k++) {
        double z = (t - mu[k]) * inv;
        double v = 0.5 * (z * z);
        if (lm != NULL)
            v += lm[k];
        row[k] -= v;
    }
}
/* log of the normal's mass on a grid cell [za, zb] (standardised), by direct differences of
 * Phi on the tail side, falling back to the log-space form where they would underflow. */
static double cell_log_mass(double za, double zb)
{
    if (zb - za > 1e-6) {
        double d = 0;
        if (zb <= 0 && za > -37)
            d = hpo_truncnorm_ndtr(zb) - hpo_truncnorm_ndtr(za);
        else if (za > 0 && zb < 37)
            d = hpo_truncnorm_ndtr(-za) - hpo_truncnorm_ndtr(-zb);
        else if (za <= 0 && zb > 0)
            return log1p(-hpo_truncnorm_ndtr(za) - hpo_truncnorm_ndtr(-zb));
        if (d > 1e-300)
            return log(d);
    }
    return hpo_tpe_log_gauss_mass(za, zb);
}

/* Cells much narrower than the bandwidth: the log mass of the standard normal on
 * [z - h/2, z + h/2] by its expansion around the midpoint,
 *   h phi(z) (1 + sum_n>=1 He_2n(z) (h/2)^2n / (2n+1)!),
 * valid (relative error < 1e-16 with n <= 7) for h <= SERIES_MAX_H and h |z| <= 1. For a fixed
 * h the sum is a polynomial in z^2: series_coefs gives its 8 coefficients (lowest first). */

static void series_coefs(double h, double *b)
{
    double a = 0.25 * h * h, cn = 1, fact = 1;
    for (int j = 0; j <= PZ_SERIES_TERMS; j++)
        b[j] = 0;
    for (int n = 1; n <= PZ_SERIES_TERMS; n++) {
        fact *= (double)(2 * n) * (double)(2 * n + 1);
        cn *= a;
        double c = cn / fact; /* (h/2)^2n / (2n+1)! */
        /* He_2n(z) = sum_k (-1)^k (2n)! / (k! (2n-2k)! 2^k) z^(2n-2k) */
        double coef = 1; /* k = 0 */
        for (int k = 0; k <= n; k++) {
            b[n - k] += c * coef;
            /* coef(k+1) = -coef(k) (2n-2k)(2n-2k-1) / (2 (k+1)) */
            coef = -coef * (double)(2 * n - 2 * k) * (double)(2 * n - 2 * k - 1) /
                   (2.0 * (double)(k + 1));
        }
    }
}

/* log1p(x) for |x| <= 0.05: 2 atanh(y), y = x / (2 + x), |y| < 0.026: exact to 1e-19 */
static double log1p_small(double x)
{
    double y = x / (2 + x), y2 = y * y;
    return 2 * y *
           (1 + y2 * (1.0 / 3 + y2 * (1.0 / 5 + y2 * (1.0 / 7 + y2 * (1.0 / 9 + y2 * (1.0 / 11))))));
}

static double cell_log_mass_series(double z, const double *b, double log_h)
{
    double w = z * z;
    double sum = b[7];
    for (int j = PZ_SERIES_TERMS - 1; j >= 0; j--)
        sum = sum * w + b[j];
    double lg = fabs(sum) <= 0.05 ? log1p_small(sum) : log1p(sum);
    return log_h - HPO_LOG_SQRT_2PI - 0.5 * w + lg;
}

/* The log kernel of component k of a numeric dim at transformed t. */
static double numeric_log_kernel(const pz_dim *dm, size_t k, double t)
{
    if (dm->kind == PZ_STEP) {
        double lo = fmax(t - 0.5 * dm->q, dm->low), hi = fmin(t + 0.5 * dm->q, dm->high);
        return cell_log_mass((lo - dm->mu[k]) * dm->inv_sigma[k],
                             (hi - dm->mu[k]) * dm->inv_sigma[k]) +
               dm->lnorm[k];
    }
    double z = (t - dm->mu[k]) * dm->inv_sigma[k];
    return dm->lnorm[k] - 0.5 * z * z;
}

/* sum of a[k] e^(-z^2/2) over [lo, hi) of a sorted CONT dim, normalisers computed first */
static double window_sum(const pz_dim *dm, double t, size_t lo, size_t hi)
{
    if (dm->n_lazy > 0)
        for (size_t k = lo; k < hi; k++)
            if (isnan(dm->log_mass[k]))
                comp_log_mass(dm, k);
    const double *mu = dm->mu, *is = dm->inv_sigma, *a = dm->a;
    /* two partial sums (even and odd k), as the SSE2 lanes keep them */
    double s0 = 0, s1 = 0;
    size_t k = lo;
#if defined(__SSE2__)
    __m128d acc = _mm_setzero_pd();
    const __m128d vt = _mm_set1_pd(t), mhalf = _mm_set1_pd(-0.5);
    for (; k + 2 <= hi; k += 2) {
        __m128d z = _mm_mul_pd(_mm_sub_pd(vt, _mm_loadu_pd(mu + k)), _mm_loadu_pd(is + k));
        __m128d e = exp_nonpos2(_mm_mul_pd(mhalf, _mm_mul_pd(z, z)));
        acc = _mm_add_pd(acc, _mm_mul_pd(_mm_loadu_pd(a + k), e));
    }
    s0 = _mm_cvtsd_f64(acc);
    s1 = _mm_cvtsd_f64(_mm_unpackhi_pd(acc, acc));
#else
    for (; k + 2 <= hi; k += 2) {
        double z0 = (t - mu[k]) * is[k], z1 = (t - mu[k + 1]) * is[k + 1];
        s0 += a[k] * exp_nonpos(-0.5 * (z0 * z0));
        s1 += a[k + 1] * exp_nonpos(-0.5 * (z1 * z1));
    }
#endif
    for (; k < hi; k++) {
        double z = (t - mu[k]) * is[k];
        s0 += a[k] * exp_nonpos(-0.5 * (z * z));
    }
    return s0 + s1;
}

/* The last Phi(-|z|) computed: neighbouring grid components share a cell edge (the same z,
 * bit for bit, for ints), so walking them in order needs one erfc per component. */
typedef struct {
    double z, p;
} ndtr_memo;

static double ndtr_tail(double z, ndtr_memo *memo)
{
    double x = -fabs(z);
    if (x != memo->z) {
        memo->z = x;
        memo->p = hpo_truncnorm_ndtr(x);
    }
    return memo->p;
}

/* cell_log_mass with the tails through the memo (the same branches and values). */
static double cell_log_mass_memo(double za, double zb, ndtr_memo *memo)
{
    if (zb - za > 1e-6) {
        double d = 0;
        /* zb first: in ascending mu, this component's za is the next one's zb */
        if (zb <= 0 && za > -37) {
            double pb = ndtr_tail(zb, memo);
            d = pb - ndtr_tail(za, memo);
        } else if (za > 0 && zb < 37) {
            double pb = ndtr_tail(zb, memo);
            d = ndtr_tail(za, memo) - pb;
        } else if (za <= 0 && zb > 0) {
            double pb = ndtr_tail(zb, memo);
            return log1p(-ndtr_tail(za, memo) - pb);
        }
        if (d > 1e-300)
            return log(d);
    }
    return hpo_tpe_log_gauss_mass(za, zb);
}

/* log w + log kernel of component k of a sorted STEP mixture on the cell [lo, hi]. */
static double step_term(const pz_mix *m, const pz_dim *dm, size_t k, double lo, double hi,
                        ndtr_memo *memo)
{
    if (isnan(dm->log_mass[k]))
        comp_log_mass(dm, k);
    if (isnan(m->logw[k]))
        m->logw[k] = log(m->w[k]);
    double za = (lo - dm->mu[k]) * dm->inv_sigma[k], zb = (hi - dm->mu[k]) * dm->inv_sigma[k];
    double cm;
    double off = (0.5 * (lo + hi) - dm->mu[k]) / dm->q;
    if (dm->cells != NULL && off > -(double)dm->n_grid - 0.5 && off < (double)dm->n_grid + 0.5) {
        struct pz_cell_entry *e = &dm->cells[(size_t)(off + (double)dm->n_grid + 0.5)];
        if (e->za != za || e->zb != zb) {
            e->za = za;
            e->zb = zb;
            e->v = cell_log_mass_memo(za, zb, memo);
        }
        cm = e->v;
    } else {
        cm = cell_log_mass_memo(za, zb, memo);
    }
    return m->logw[k] + cm + dm->lnorm[k];
}

/* log density of a sorted univariate mixture at internal x. The terms that matter are those
 * within LSE_CUTOFF of the sum: a lower bound of the sum (the prior's term, and the components
 * within 3 sigma_max of x) and the largest peak c_max bound the window that can matter.
 * row: scratch of K doubles (stepped). */
static double uni_log_pdf(const pz_mix *m, double x, double *row)
{
    const pz_dim *dm = &m->dims[0];
    size_t P = m->K - 1;
    double t = hpo_parzen_transform(dm, x);
    double vp = m->logw_p + numeric_log_kernel(dm, P, t);
    if (P == 0)
        return vp;
    const double *mu = dm->mu;
    if (dm->kind == PZ_CONT) {
        /* the window the prior's term bounds: few components, sum them */
        double slack0 = dm->c_max - vp + LSE_CUTOFF;
        if (slack0 > 0) {
            double w0 = dm->s_max * sqrt(2 * slack0);
            size_t lo0 = hpo_sort_search(mu, P, t - w0, false);
            size_t hi0 = lo0 + hpo_sort_search(mu + lo0, P - lo0, t + w0, true);
            if (hi0 - lo0 <= 64) {
                double sum = window_sum(dm, t, lo0, hi0);
                double u = dm->c_max > vp ? dm->c_max : vp;
                return u + log(exp_nonpos(vp - u) + exp_nonpos(dm->c_max - u) * sum);
            }
        }
        double inner = 3 * dm->s_max;
        size_t c0 = hpo_sort_search(mu, P, t - inner, false);
        size_t c1 = c0 + hpo_sort_search(mu + c0, P - c0, t + inner, true);
        double sum = window_sum(dm, t, c0, c1);
        double lb = vp;
        if (sum > 0) {
            double ls = dm->c_max + log(sum);
            lb = ls > lb ? ls : lb;
        }
        double slack = dm->c_max - lb + LSE_CUTOFF;
        double w = slack > 0 ? dm->s_max * sqrt(2 * slack) : 0;
        if (w > inner) {
            size_t lo = hpo_sort_search(mu, c0, t - w, false);
            size_t hi = c1 + hpo_sort_search(mu + c1, P - c1, t + w, true);
            sum += window_sum(dm, t, lo, c0) + window_sum(dm, t, c1, hi);
        }
        double u = dm->c_max > vp ? dm->c_max : vp;
        return u + log(exp_nonpos(vp - u) + exp_nonpos(dm->c_max - u) * sum);
    }
    /* the components nearest x first: their exact terms and the prior's bound the sum from
     * below; then within the window, a component is computed exactly only when its bound
     * (peak cb[k], Gaussian decay from the cell) comes within LSE_CUTOFF of that */
    double lo_c = fmax(t - 0.5 * dm->q, dm->low), hi_c = fmin(t + 0.5 * dm->q, dm->high);
    size_t at = hpo_sort_search(mu, P, t, false);
    size_t n0 = at > 0 ? at - 1 : 0, n1 = at + 1 < P ? at + 1 : P;
    double mx = vp;
    size_t nr = 0;
    ndtr_memo memo = { NAN, 0 };
    for (size_t k = n0; k < n1; k++) {
        double v = step_term(m, dm, k, lo_c, hi_c, &memo);
        row[nr++] = v;
        mx = v > mx ? v : mx;
    }
    double slack = dm->c_max - mx + LSE_CUTOFF;
    size_t lo = n0, hi = n1;
    if (slack > 0) {
        double w = dm->s_max * sqrt(2 * slack) + 0.5 * dm->q;
        lo = hpo_sort_search(mu, n0, t - w, false);
        hi = n1 + hpo_sort_search(mu + n1, P - n1, t + w, true);
    }
    double floor_ = mx - LSE_CUTOFF;
    for (size_t k = lo; k < hi; k++) {
        if (k == n0) {
            k = n1 - 1;
            continue;
        }
        double zn = mu[k] < lo_c ? (lo_c - mu[k]) * dm->inv_sigma[k]
                  : mu[k] > hi_c ? (mu[k] - hi_c) * dm->inv_sigma[k] : 0;
        if (dm->cb[k] - 0.5 * zn * zn < floor_)
            continue;
        double v = step_term(m, dm, k, lo_c, hi_c, &memo);
        row[nr++] = v;
        mx = v > mx ? v : mx;
    }
    if (!isfinite(mx))
        return mx;
    double sum = exp_nonpos(vp - mx);
    for (size_t j = 0; j < nr; j++)
        sum += exp_nonpos(row[j] - mx);
    return mx + log(sum);
}

/* Log of the mass of component k's normal on [lo, hi] over its mass on the dim's bounds. */
static double step_log_kernel(const pz_dim *dm, size_t k, double lo, double hi)
{
    double za = (lo - dm->mu[k]) * dm->inv_sigma[k], zb = (hi - dm->mu[k]) * dm->inv_sigma[k];
    return cell_log_mass(za, zb) + dm->lnorm[k];
}

/* A grouped STEP dim's kernel at the cell [lo, hi] (centre t) of the components with distinct
 * mu d. series: the cell is whole and narrow (h = q / sigma <= SERIES_MAX_H). */
static double step_group_kernel(const pz_dim *dm, size_t d, double t, double lo, double hi,
                                bool series, double h, double log_h)
{
    double mu = dm->dmu[d], lnm = dm->dlnm[d];
    if (isnan(lnm)) {
        double s = dm->sigma_obs;
        double za = (dm->low - mu) / s, zb = (dm->high - mu) / s;
        lnm = interior(za, zb) ? 0.0 : -cell_log_mass(za, zb);
        dm->dlnm[d] = lnm;
    }
    double inv = dm->inv_obs;
    if (series) {
        double z = (t - mu) * inv;
        if (fabs(z) * h <= 1)
            return cell_log_mass_series(z, dm->series_b, log_h) + lnm;
    }
    return cell_log_mass((lo - mu) * inv, (hi - mu) * inv) + lnm;
}

/* log density of the mixture at nc candidates (internal values, nc x nd, row-major); row and
 * kept are scratch of K entries. Joint estimators: the normalisers are bounded first and
 * computed only for the components within LSE_CUTOFF of the largest; the terms below that
 * are left out of the sum (each is < e^-40 of it). */
static void mix_log_pdf(const pz_mix *m, const double *x, size_t nc, double *row, uint32_t *kept,
                        double *ret)
{
    size_t K = m->K, P = K - 1;
    for (size_t c = 0; c < nc; c++) {
        const double *xc = x + c * m->nd;
        memcpy(row, m->lwb, K * sizeof(double));
        double lazy = 0; /* the normalisers not yet in row[k] add at most this */
        bool ungrouped_step = false;
        for (size_t i = 0; i < m->nd; i++) {
            const pz_dim *dm = &m->dims[i];
            if (dm->kind == PZ_CONT) {
                double t = hpo_parzen_transform(dm, xc[i]);
                const double *mu = dm->mu;
                if (dm->shared) {
                    double inv = dm->inv_obs;
                    if (dm->has_nlm && dm->n_lazy == 0) {
                        rows_sub_sq(row, mu, dm->log_mass, t, inv, P);
                    } else {
                        rows_sub_sq(row, mu, NULL, t, inv, P);
                        if (dm->has_nlm)
                            lazy += dm->nlm_bound;
                    }
                    row[P] += numeric_log_kernel(dm, P, t);
                } else {
                    const double *is = dm->inv_sigma, *ln = dm->lnorm;
                    for (size_t k = 0; k < K; k++) {
                        double z = (t - mu[k]) * is[k];
                        row[k] += ln[k] - 0.5 * z * z;
                    }
                }
            } else if (dm->kind == PZ_CAT) {
                double v = xc[i];
                for (size_t k = 0; k < P; k++)
                    row[k] += dm->choice[k] == v ? dm->log_hit : dm->log_miss;
                row[P] += dm->log_uniform;
            } else if (dm->cid != NULL) {
                double t = hpo_parzen_transform(dm, xc[i]);
                double lo = fmax(t - 0.5 * dm->q, dm->low), hi = fmin(t + 0.5 * dm->q, dm->high);
                double h = dm->q * dm->inv_obs;
                bool series = h <= SERIES_MAX_H && lo == t - 0.5 * dm->q && hi == t + 0.5 * dm->q;
                double log_h = series ? log(h) : 0;
                double *tab = dm->tab;
                for (size_t d = 0; d < dm->n_distinct; d++)
                    tab[d] = step_group_kernel(dm, d, t, lo, hi, series, h, log_h);
                const uint32_t *cid = dm->cid;
                for (size_t k = 0; k < P; k++)
                    row[k] += tab[cid[k]];
                row[P] += step_log_kernel(dm, P, lo, hi);
            } else {
                ungrouped_step = true;
            }
        }
        if (ungrouped_step) {
            /* Cell masses cost two erfc each; skip the components that cannot matter: the
             * prior's total bounds the sum from below, and a cell's log kernel is <= 0. */
            double lb = row[P];
            for (size_t i = 0; i < m->nd; i++) {
                const pz_dim *dm = &m->dims[i];
                if (dm->kind != PZ_STEP || dm->cid != NULL)
                    continue;
                double t = hpo_parzen_transform(dm, xc[i]);
                double lo = fmax(t - 0.5 * dm->q, dm->low), hi = fmin(t + 0.5 * dm->q, dm->high);
                double pk = step_log_kernel(dm, P, lo, hi);
                row[P] += pk;
                lb += pk;
            }
            double floor_ = lb - LSE_CUTOFF;
            for (size_t i = 0; i < m->nd; i++) {
                const pz_dim *dm = &m->dims[i];
                if (dm->kind != PZ_STEP || dm->cid != NULL)
                    continue;
                double t = hpo_parzen_transform(dm, xc[i]);
                double lo = fmax(t - 0.5 * dm->q, dm->low), hi = fmin(t + 0.5 * dm->q, dm->high);
                for (size_t k = 0; k < P; k++) {
                    double za = (lo - dm->mu[k]) * dm->inv_sigma[k];
                    double zb = (hi - dm->mu[k]) * dm->inv_sigma[k];
                    if (za > 0 || zb < 0) {
                        double zn = za > 0 ? za : -zb;
                        double ln = isnan(dm->lnorm[k]) ? dm->nlm_bound : dm->lnorm[k];
                        double ub = dm->log_q_s[k] - 0.5 * zn * zn + ln;
                        if (ub > 0)
                            ub = 0;
                        if (row[k] + lazy + ub < floor_) {
                            row[k] += ub;
                            continue;
                        }
                    }
                    if (isnan(dm->lnorm[k]))
                        comp_log_mass(dm, k);
                    row[k] += cell_log_mass(za, zb) + dm->lnorm[k];
                }
            }
        }
        double mx = -INFINITY;
        for (size_t k = 0; k < K; k++)
            mx = row[k] > mx ? row[k] : mx;
        if (!isfinite(mx)) {
            ret[c] = mx;
            continue;
        }
        /* the components that can matter: their normalisers, then the sum over them */
        double floor_ = mx - LSE_CUTOFF - lazy;
        size_t nk = 0;
        for (size_t k = 0; k < P; k++) {
            kept[nk] = (uint32_t)k;
            nk += row[k] >= floor_;
        }
        if (lazy > 0) {
            for (size_t i = 0; i < m->nd; i++) {
                const pz_dim *dm = &m->dims[i];
                if (dm->kind != PZ_CONT || !dm->shared || dm->n_lazy == 0)
                    continue;
                for (size_t j = 0; j < nk; j++) {
                    size_t k = kept[j];
                    double lm = dm->log_mass[k];
                    row[k] -= isnan(lm) ? comp_log_mass(dm, k) : lm;
                }
            }
            for (size_t j = 0; j < nk; j++)
                mx = row[kept[j]] > mx ? row[kept[j]] : mx;
        }
        double sum = exp_nonpos(row[P] - mx);
        for (size_t j = 0; j < nk; j++)
            sum += exp_nonpos(row[kept[j]] - mx);
        ret[c] = mx + log(sum);
    }
}

void hpo_parzen_mix_log_pdf(const pz_mix *m, const double *x, size_t nc, double *row,
                            uint32_t *kept, double *ret)
{
    if (!m->sorted) {
        mix_log_pdf(m, x, nc, row, kept, ret);
        return;
    }
    for (size_t c = 0; c < nc; c++)
        ret[c] = uni_log_pdf(m, x[c], row);
}

/* ------------------------------------------------------------------------------------------ */
/* The estimator exposed for tests. */

typedef struct {
    hpo_arena a;
    pz_mix mix;   /* in Optuna's order: what the struct shows */
    pz_mix smix;  /* univariate: the same estimator sorted and merged, as the sampler uses it */
    bool has_smix;
} parzen_impl;

hpo_rc hpo_parzen_build(const hpo_tpe_config *c, const hpo_dist *d, const double *values,
                        const double *weights, size_t n, size_t multivariate_dims,
                        hpo_parzen *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (d->type == HPO_DIST_CATEGORICAL || hpo_parzen_dist_single(d))
        return HPO_E_INVALID;
    parzen_impl *impl = calloc(1, sizeof(*impl));
    if (impl == NULL)
        return HPO_E_NOMEM;
    pz_dim proto;
    memset(&proto, 0, sizeof(proto));
    hpo_parzen_dim_init(d, &proto);
    double *obs = hpo_arena_alloc(&impl->a, n, sizeof(double));
    hpo_rc rc = HPO_E_NOMEM;
    if (obs != NULL) {
        for (size_t i = 0; i < n; i++)
            obs[i] = hpo_parzen_transform(&proto, values[i]);
        double *const cols[1] = { obs };
        rc = hpo_parzen_mix_build(&impl->a, c, &proto, 1, cols, n, weights,
                                  multivariate_dims > 0, false, &impl->mix);
    }
    if (rc == HPO_OK && multivariate_dims == 0) {
        double *const cols[1] = { obs };
        rc = hpo_parzen_mix_build(&impl->a, c, &proto, 1, cols, n, weights, false, true,
                                  &impl->smix);
        impl->has_smix = rc == HPO_OK;
    }
    if (rc == HPO_OK && multivariate_dims > 1) {
        /* rebuild the bandwidths for a joint estimator of multivariate_dims params */
        rc = build_numeric_dim(&impl->a, c, &impl->mix.dims[0], obs, n, multivariate_dims);
        if (rc == HPO_OK)
            rc = finish_mix(&impl->a, &impl->mix);
    }
    if (rc != HPO_OK) {
        hpo_arena_free(&impl->a);
        free(impl);
        return rc;
    }
    ret->n = impl->mix.K;
    ret->weights = impl->mix.w;
    ret->mus = impl->mix.dims[0].mu;
    ret->sigmas = impl->mix.dims[0].sigma;
    ret->low = proto.low;
    ret->high = proto.high;
    ret->step = proto.kind == PZ_STEP ? proto.q : 0;
    ret->impl = impl;
    return HPO_OK;
}

void hpo_parzen_clear(hpo_parzen *p)
{
    if (p == NULL)
        return;
    parzen_impl *impl = p->impl;
    if (impl != NULL) {
        hpo_arena_free(&impl->a);
        free(impl);
    }
    memset(p, 0, sizeof(*p));
}

double hpo_parzen_log_pdf(const hpo_parzen *p, const hpo_dist *d, double x)
{
    (void)d;
    const parzen_impl *impl = p->impl;
    double *row = malloc(impl->mix.K * sizeof(double));
    uint32_t *kept = malloc(impl->mix.K * sizeof(uint32_t));
    double ret = NAN;
    if (row != NULL && kept != NULL)
        hpo_parzen_mix_log_pdf(impl->has_smix ? &impl->smix : &impl->mix, &x, 1, row, kept, &ret);
    free(row);
    free(kept);
    return ret;
}

double hpo_parzen_sample(const hpo_parzen *p, const hpo_dist *d, hpo_rng *rng)
{
    (void)d;
    const parzen_impl *impl = p->impl;
    double x;
    hpo_parzen_mix_sample(&impl->mix, rng, &x);
    return x;
}

hpo_rc hpo_parzen_categorical(const hpo_tpe_config *c, size_t n_choices, const double *indexes,
                              const double *weights, size_t n, double *ret_probs)
{
    if (n_choices == 0)
        return HPO_E_INVALID;
    hpo_dist d = { .type = HPO_DIST_CATEGORICAL, .n_choices = n_choices };
    pz_dim proto;
    memset(&proto, 0, sizeof(proto));
    hpo_parzen_dim_init(&d, &proto);
    hpo_arena a = { 0 };
    pz_mix mix;
    double *const cols[1] = { (double *)indexes };
    hpo_rc rc = hpo_parzen_mix_build(&a, c, &proto, 1, cols, n, weights, false, false, &mix);
    double *row = rc == HPO_OK ? hpo_arena_alloc(&a, mix.K, sizeof(double)) : NULL;
    uint32_t *kept = rc == HPO_OK ? hpo_arena_alloc(&a, mix.K, sizeof(uint32_t)) : NULL;
    if (rc == HPO_OK && (row == NULL || kept == NULL))
        rc = HPO_E_NOMEM;
    if (rc == HPO_OK) {
        for (size_t j = 0; j < n_choices; j++) {
            double x = (double)j, lp;
            mix_log_pdf(&mix, &x, 1, row, kept, &lp);
            ret_probs[j] = exp(lp);
        }
    }
    hpo_arena_free(&a);
    return rc;
}

hpo_rc hpo_parzen_joint_log_pdf(const hpo_tpe_config *c, const hpo_dist *dists, size_t nd,
                                const double *values, size_t n, const double *x, size_t nx,
                                double *ret)
{
    hpo_arena a = { 0 };
    hpo_rc rc = HPO_E_NOMEM;
    pz_dim *proto = hpo_arena_alloc(&a, nd, sizeof(pz_dim));
    double **cols = hpo_arena_alloc(&a, nd, sizeof(double *));
    if (proto == NULL || cols == NULL)
        goto out;
    for (size_t i = 0; i < nd; i++) {
        rc = HPO_E_INVALID;
        if (hpo_parzen_dist_single(&dists[i]))
            goto out;
        rc = HPO_E_NOMEM;
        memset(&proto[i], 0, sizeof(proto[i]));
        hpo_parzen_dim_init(&dists[i], &proto[i]);
        if ((cols[i] = hpo_arena_alloc(&a, n, sizeof(double))) == NULL)
            goto out;
        for (size_t j = 0; j < n; j++)
            cols[i][j] = hpo_parzen_transform(&proto[i], values[j * nd + i]);
    }
    pz_mix mix;
    if ((rc = hpo_parzen_mix_build(&a, c, proto, nd, cols, n, NULL, true, false, &mix)) != HPO_OK)
        goto out;
    double *row = hpo_arena_alloc(&a, mix.K, sizeof(double));
    uint32_t *kept = hpo_arena_alloc(&a, mix.K, sizeof(uint32_t));
    rc = HPO_E_NOMEM;
    if (row == NULL || kept == NULL)
        goto out;
    mix_log_pdf(&mix, x, nx, row, kept, ret);
    rc = HPO_OK;
out:
    hpo_arena_free(&a);
    return rc;
}
