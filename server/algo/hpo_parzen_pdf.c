/* hpo_parzen_pdf: the log density of the Parzen estimator's mixtures at candidates, the
 * sampler's score. Sorted univariate mixtures: a window around each candidate bounded by the
 * prior's term and the largest peak; joint ones: per-dim kernels summed into a row per
 * component, normalisers bounded first and computed only for the components that can matter;
 * stepped dims by cell masses, grouped by distinct mu. Terms below e^-40 of the sum are left
 * out (LSE_CUTOFF). */
#include "hpo_parzen.h"

#include <math.h>
#include <string.h>

#include "hpo_parzen_kernel.h"
#include "hpo_sort.h"

/* Terms of a log-sum-exp this far below the largest change the sum by less than e^-40 each. */
#define LSE_CUTOFF 40.0

/* The log kernel of component k of a numeric dim at transformed t. */
static double numeric_log_kernel(const pz_dim *dm, size_t k, double t)
{
    if (dm->kind == PZ_STEP) {
        double lo = fmax(t - 0.5 * dm->q, dm->low), hi = fmin(t + 0.5 * dm->q, dm->high);
        return hpo_parzen_cell_log_mass((lo - dm->mu[k]) * dm->inv_sigma[k],
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
                hpo_parzen_comp_log_mass(dm, k);
    return hpo_parzen_gauss_sum(dm->mu, dm->inv_sigma, dm->a, t, lo, hi);
}

/* log w + log kernel of component k of a sorted STEP mixture on the cell [lo, hi]. */
static double step_term(const pz_mix *m, const pz_dim *dm, size_t k, double lo, double hi,
                        pz_ndtr_memo *memo)
{
    if (isnan(dm->log_mass[k]))
        hpo_parzen_comp_log_mass(dm, k);
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
            e->v = hpo_parzen_cell_log_mass_memo(za, zb, memo);
        }
        cm = e->v;
    } else {
        cm = hpo_parzen_cell_log_mass_memo(za, zb, memo);
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
                return u + log(hpo_parzen_exp_nonpos(vp - u) +
                               hpo_parzen_exp_nonpos(dm->c_max - u) * sum);
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
        return u + log(hpo_parzen_exp_nonpos(vp - u) +
                       hpo_parzen_exp_nonpos(dm->c_max - u) * sum);
    }
    /* the components nearest x first: their exact terms and the prior's bound the sum from
     * below; then within the window, a component is computed exactly only when its bound
     * (peak cb[k], Gaussian decay from the cell) comes within LSE_CUTOFF of that */
    double lo_c = fmax(t - 0.5 * dm->q, dm->low), hi_c = fmin(t + 0.5 * dm->q, dm->high);
    size_t at = hpo_sort_search(mu, P, t, false);
    size_t n0 = at > 0 ? at - 1 : 0, n1 = at + 1 < P ? at + 1 : P;
    double mx = vp;
    size_t nr = 0;
    pz_ndtr_memo memo = { NAN, 0 };
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
    double sum = hpo_parzen_exp_nonpos(vp - mx);
    for (size_t j = 0; j < nr; j++)
        sum += hpo_parzen_exp_nonpos(row[j] - mx);
    return mx + log(sum);
}

/* Log of the mass of component k's normal on [lo, hi] over its mass on the dim's bounds. */
static double step_log_kernel(const pz_dim *dm, size_t k, double lo, double hi)
{
    double za = (lo - dm->mu[k]) * dm->inv_sigma[k], zb = (hi - dm->mu[k]) * dm->inv_sigma[k];
    return hpo_parzen_cell_log_mass(za, zb) + dm->lnorm[k];
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
        lnm = hpo_parzen_interior(za, zb) ? 0.0 : -hpo_parzen_cell_log_mass(za, zb);
        dm->dlnm[d] = lnm;
    }
    double inv = dm->inv_obs;
    if (series) {
        double z = (t - mu) * inv;
        if (fabs(z) * h <= 1)
            return hpo_parzen_cell_log_mass_series(z, dm->series_b, log_h) + lnm;
    }
    return hpo_parzen_cell_log_mass((lo - mu) * inv, (hi - mu) * inv) + lnm;
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
                        hpo_parzen_rows_sub_sq(row, mu, dm->log_mass, t, inv, P);
                    } else {
                        hpo_parzen_rows_sub_sq(row, mu, NULL, t, inv, P);
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
                        hpo_parzen_comp_log_mass(dm, k);
                    row[k] += hpo_parzen_cell_log_mass(za, zb) + dm->lnorm[k];
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
                    row[k] -= isnan(lm) ? hpo_parzen_comp_log_mass(dm, k) : lm;
                }
            }
            for (size_t j = 0; j < nk; j++)
                mx = row[kept[j]] > mx ? row[kept[j]] : mx;
        }
        double sum = hpo_parzen_exp_nonpos(row[P] - mx);
        for (size_t j = 0; j < nk; j++)
            sum += hpo_parzen_exp_nonpos(row[kept[j]] - mx);
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
