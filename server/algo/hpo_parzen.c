/* hpo_parzen: the Parzen estimator (see hpo_parzen.h), building the mixtures: Optuna 3.1's
 * bandwidths (univariate neighbour gaps, the joint rule), weights, the prior, categorical
 * kernels, normalisers computed exactly, tabulated or on first use; the univariate mixture
 * sorted and merged for the windowed density; drawing from a mixture; then the estimator's
 * API for tests. The density is in hpo_parzen_pdf.c, the numeric kernels in
 * hpo_parzen_kernel.c. */
#include "hpo_parzen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hpo_parzen_kernel.h"
#include "hpo_sort.h"
#include "hpo_truncnorm.h"

#define INV_SQRT_2PI 0.39894228040143267793994605993438
#define TPE_EPS 1e-12       /* Optuna's minimum sigma without the magic clip */
#define SIGMA0_MAGNITUDE 0.2

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

/* The log mass on [low, high] of component k, computed on first use. */
double hpo_parzen_comp_log_mass(const pz_dim *dm, size_t k)
{
    double lm = dm->log_mass[k];
    if (!isnan(lm))
        return lm;
    double s = dm->sigma[k], mu = dm->mu[k];
    double za = (dm->low - mu) / s, zb = (dm->high - mu) / s;
    lm = hpo_parzen_interior(za, zb) ? 0.0 : hpo_parzen_cell_log_mass(za, zb);
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
        hpo_parzen_series_coefs(q * dm->inv_obs, dm->series_b);
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
                hpo_parzen_comp_log_mass(dm, k);
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
        if (hpo_parzen_interior((low - dm->mu[k]) * inv, (high - dm->mu[k]) * inv)) {
            lm = 0.0;
        } else if (lazy && k < n) {
            lm = NAN;
            dm->n_lazy++;
        } else {
            double za = (low - dm->mu[k]) / s, zb = (high - dm->mu[k]) / s;
            lm = hpo_parzen_interior(za, zb) ? 0.0 : hpo_parzen_cell_log_mass(za, zb);
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
        bool in = hpo_parzen_interior((low - mu[k]) * inv, (high - mu[k]) * inv);
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
    double lm = hpo_parzen_interior(za, zb) ? 0.0 : hpo_parzen_cell_log_mass(za, zb);
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
        double z = hpo_truncnorm_ppf(hpo_rng_uniform(rng), za, zb, hpo_parzen_comp_log_mass(dm, k));
        double t = mu + s * z;
        t = t < dm->low ? dm->low : t > dm->high ? dm->high : t;
        x[i] = hpo_dist_round(dm->d, dm->d->log ? exp(t) : t);
    }
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
            hpo_parzen_mix_log_pdf(&mix, &x, 1, row, kept, &lp);
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
    hpo_parzen_mix_log_pdf(&mix, x, nx, row, kept, ret);
    rc = HPO_OK;
out:
    hpo_arena_free(&a);
    return rc;
}
