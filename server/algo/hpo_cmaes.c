/* hpo_cmaes: CMA-ES as cmaes.CMA 0.9.1 computes it (equations numbered as there, after Hansen's
 * "The CMA Evolution Strategy: A Tutorial"), with a Jacobi eigen solver in place of LAPACK's. */
#include "hpo_cmaes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JACOBI_MAX_SWEEPS 100

/* ---- the eigen solver ---- */

/* One Jacobi rotation applied to the pair (x, y) of entries. */
static void rotate(double *x, double *y, double s, double tau)
{
    double g = *x, h = *y;
    *x = g - s * (h + g * tau);
    *y = h + s * (g - h * tau);
}

/* Zeroes a[p][q] (p < q) by one rotation, touching only the upper triangle of a; d holds the
 * diagonal, z what the diagonal moved this sweep (added to it at the sweep's end, which keeps
 * the rounding of many small moves out of d), v collects the rotations. */
static void jacobi_rotate(size_t n, double *a, double *d, double *z, double *v, size_t p,
                          size_t q, double t)
{
    double apq = a[p * n + q];
    double c = 1 / sqrt(1 + t * t), s = t * c, tau = s / (1 + c), h = t * apq;
    z[p] -= h;
    z[q] += h;
    d[p] -= h;
    d[q] += h;
    a[p * n + q] = 0;
    for (size_t j = 0; j < p; j++)
        rotate(&a[j * n + p], &a[j * n + q], s, tau);
    for (size_t j = p + 1; j < q; j++)
        rotate(&a[p * n + j], &a[j * n + q], s, tau);
    for (size_t j = q + 1; j < n; j++)
        rotate(&a[p * n + j], &a[q * n + j], s, tau);
    for (size_t j = 0; j < n; j++)
        rotate(&v[j * n + p], &v[j * n + q], s, tau);
}

/* The tangent of the rotation angle that zeroes a[p][q], the smaller root (|angle| <= pi/4),
 * computed without overflow when the diagonal gap dwarfs the entry. */
static double jacobi_tangent(double apq, double gap, double g)
{
    if (fabs(gap) + g == fabs(gap))
        return apq / gap;
    double theta = 0.5 * gap / apq;
    double t = 1 / (fabs(theta) + sqrt(1 + theta * theta));
    return theta < 0 ? -t : t;
}

/* Ascending order, as numpy's eigh gives it (should_stop's axis check walks D by index). */
static void sort_eigen(size_t n, double *w, double *v)
{
    for (size_t i = 0; i + 1 < n; i++) {
        size_t k = i;
        for (size_t j = i + 1; j < n; j++)
            if (w[j] < w[k])
                k = j;
        if (k == i)
            continue;
        double t = w[i];
        w[i] = w[k];
        w[k] = t;
        for (size_t r = 0; r < n; r++) {
            t = v[r * n + i];
            v[r * n + i] = v[r * n + k];
            v[r * n + k] = t;
        }
    }
}

bool hpo_cmaes_eigh(size_t n, double *a, double *ret_w, double *ret_v, double *work)
{
    double *b = work, *z = work + n, *d = ret_w, *v = ret_v;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++)
            v[i * n + j] = i == j;
        b[i] = d[i] = a[i * n + i];
        z[i] = 0;
    }
    for (int sweep = 0; sweep < JACOBI_MAX_SWEEPS; sweep++) {
        double off = 0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++)
                off += fabs(a[p * n + q]);
        if (off == 0) {
            sort_eigen(n, d, v);
            return true;
        }
        /* the first sweeps rotate only the large entries: fewer rotations in all */
        double thresh = sweep < 3 ? 0.2 * off / ((double)n * (double)n) : 0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = a[p * n + q], g = 100 * fabs(apq);
                /* an entry below the diagonal's rounding is zero already: drop it */
                if (sweep > 3 && fabs(d[p]) + g == fabs(d[p]) && fabs(d[q]) + g == fabs(d[q]))
                    a[p * n + q] = 0;
                else if (fabs(apq) > thresh)
                    jacobi_rotate(n, a, d, z, v, p, q, jacobi_tangent(apq, d[q] - d[p], g));
            }
        for (size_t p = 0; p < n; p++) {
            b[p] += z[p];
            d[p] = b[p];
            z[p] = 0;
        }
    }
    return false;
}

/* ---- the state ---- */

/* The strategy parameters of cmaes.CMA.__init__, in its order and with its arithmetic. */
static hpo_rc set_strategy(hpo_cmaes *s, hpo_error *err)
{
    size_t n = s->n, lambda = s->popsize, mu = lambda / 2;
    double *w = s->weights, dn = (double)n;
    for (size_t i = 0; i < lambda; i++) /* eq. 49 */
        w[i] = log((double)(lambda + 1) / 2) - log((double)(i + 1));
    double sum_pos = 0, sq_pos = 0, sum_neg = 0, sq_neg = 0;
    for (size_t i = 0; i < lambda; i++) {
        if (i < mu) {
            sum_pos += w[i];
            sq_pos += w[i] * w[i];
        } else {
            sum_neg += w[i];
            sq_neg += w[i] * w[i];
        }
    }
    double mu_eff = sum_pos * sum_pos / sq_pos, mu_eff_minus = sum_neg * sum_neg / sq_neg;
    double c1 = 2 / ((dn + 1.3) * (dn + 1.3) + mu_eff);
    double cmu = fmin(1 - c1 - 1e-8, 2 * (mu_eff - 2 + 1 / mu_eff) /
                                         ((dn + 2) * (dn + 2) + 2 * mu_eff / 2));
    if (!(cmu > 0) || c1 > 1 - cmu)
        return hpo_error_set(err, HPO_E_INVALID, "popsize", "invalid CMA-ES learning rates");
    double min_alpha = fmin(fmin(1 + c1 / cmu, 1 + 2 * mu_eff_minus / (mu_eff + 2)),
                            (1 - c1 - cmu) / (dn * cmu)); /* eqs. 50-52 */
    double positive_sum = 0, negative_sum = 0;
    for (size_t i = 0; i < lambda; i++) {
        if (w[i] > 0)
            positive_sum += w[i];
        else if (w[i] < 0)
            negative_sum += fabs(w[i]);
    }
    for (size_t i = 0; i < lambda; i++) /* eq. 53 */
        w[i] = w[i] >= 0 ? 1 / positive_sum * w[i] : min_alpha / negative_sum * w[i];
    s->mu = mu;
    s->mu_eff = mu_eff;
    s->c_1 = c1;
    s->c_mu = cmu;
    s->c_m = 1;
    s->c_sigma = (mu_eff + 2) / (dn + mu_eff + 5); /* eq. 55 */
    s->d_sigma = 1 + 2 * fmax(0, sqrt((mu_eff - 1) / (dn + 1)) - 1) + s->c_sigma;
    s->c_c = (4 + mu_eff / dn) / (dn + 4 + 2 * mu_eff / dn); /* eq. 56 */
    if (!(s->c_sigma < 1) || !(s->c_c <= 1))
        return hpo_error_set(err, HPO_E_INVALID, "popsize", "invalid CMA-ES learning rates");
    s->chi_n = sqrt(dn) * (1.0 - 1.0 / (4.0 * dn) + 1.0 / (21.0 * dn * dn)); /* E||N(0, I)|| */
    return HPO_OK;
}

static hpo_rc check_config(const hpo_cmaes_config *c, hpo_error *err)
{
    if (c->n < 2 || c->n > HPO_CMAES_MAX_DIM || !c->mean)
        return hpo_error_set(err, HPO_E_INVALID, "n", "CMA-ES needs 2 to %d dimensions",
                             HPO_CMAES_MAX_DIM);
    if (!(c->sigma > 0) || !isfinite(c->sigma))
        return hpo_error_set(err, HPO_E_INVALID, "sigma", "sigma must be positive and finite");
    if (c->popsize != 0 && (c->popsize < 4 || c->popsize > (size_t)1 << 20))
        return hpo_error_set(err, HPO_E_INVALID, "popsize", "popsize must be 4 to 2^20");
    if (!c->lower != !c->upper)
        return hpo_error_set(err, HPO_E_INVALID, "bounds", "give both bounds or neither");
    for (size_t i = 0; i < c->n; i++) {
        if (!(fabs(c->mean[i]) < HPO_CMAES_MEAN_MAX))
            return hpo_error_set(err, HPO_E_INVALID, "mean", "|mean| must be below 1e32");
        if (c->lower && !(c->lower[i] <= c->mean[i] && c->mean[i] <= c->upper[i]))
            return hpo_error_set(err, HPO_E_INVALID, "bounds", "the mean must lie in bounds");
    }
    if (c->cov)
        for (size_t i = 0; i < c->n * c->n; i++)
            if (!isfinite(c->cov[i]))
                return hpo_error_set(err, HPO_E_INVALID, "cov", "cov must be finite");
    return HPO_OK;
}

/* Scratch, one block: a matrix (the eigen solver's copy of C, then tell's C^-1/2), the sorted
 * population's steps, 4 vectors (the solver's 2, ask's z, tell's y_w and products), tell's
 * rescaled weights. */
static size_t work_size(size_t n, size_t lambda)
{
    return n * n + lambda * n + 4 * n + lambda;
}

static double *work_matrix(const hpo_cmaes *s)
{
    return s->work;
}

static double *work_steps(const hpo_cmaes *s)
{
    return s->work + s->n * s->n;
}

static double *work_vectors(const hpo_cmaes *s)
{
    return work_steps(s) + s->popsize * s->n;
}

static double *work_weights(const hpo_cmaes *s)
{
    return work_vectors(s) + 4 * s->n;
}

static hpo_rc alloc_state(hpo_cmaes *s, bool bounded)
{
    size_t n = s->n, lambda = s->popsize;
    size_t total = lambda + 4 * n + 2 * n * n + 2 * n + 2 * s->funhist_term +
                   work_size(n, lambda);
    double *p = calloc(total, sizeof(double));
    s->order = malloc(lambda * sizeof *s->order);
    if (!p || !s->order) {
        free(p);
        free(s->order);
        return HPO_E_NOMEM;
    }
    s->weights = p, p += lambda;
    s->mean = p, p += n;
    s->p_sigma = p, p += n;
    s->p_c = p, p += n;
    s->D = p, p += n;
    s->C = p, p += n * n;
    s->B = p, p += n * n;
    s->funhist = p, p += 2 * s->funhist_term;
    s->lower = bounded ? p : NULL, p += n;
    s->upper = bounded ? p : NULL, p += n;
    s->work = p;
    return HPO_OK;
}

hpo_rc hpo_cmaes_new(const hpo_cmaes_config *c, hpo_cmaes **ret, hpo_error *err)
{
    hpo_rc rc = check_config(c, err);
    if (rc != HPO_OK)
        return rc;
    hpo_cmaes *s = calloc(1, sizeof *s);
    if (!s)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    size_t n = c->n;
    s->n = n;
    s->popsize = c->popsize ? c->popsize : 4 + (size_t)floor(3 * log((double)n)); /* eq. 48 */
    s->funhist_term = 10 + (size_t)ceil(30 * (double)n / (double)s->popsize);
    if (alloc_state(s, c->lower != NULL) != HPO_OK) {
        free(s);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    if ((rc = set_strategy(s, err)) != HPO_OK) {
        hpo_cmaes_free(s);
        return rc;
    }
    memcpy(s->mean, c->mean, n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            s->C[i * n + j] = c->cov ? c->cov[i * n + j] : i == j;
    if (c->lower) {
        memcpy(s->lower, c->lower, n * sizeof(double));
        memcpy(s->upper, c->upper, n * sizeof(double));
    }
    s->sigma = c->sigma;
    s->n_max_resampling = c->n_max_resampling ? c->n_max_resampling : 100;
    s->tolx = 1e-12 * c->sigma;
    s->tolxup = 1e4;
    s->tolfun = 1e-12;
    s->tolconditioncov = 1e14;
    *ret = s;
    return HPO_OK;
}

void hpo_cmaes_free(hpo_cmaes *s)
{
    if (!s)
        return;
    free(s->weights);
    free(s->order);
    free(s);
}

/* ---- decomposition, ask ---- */

hpo_rc hpo_cmaes_decompose(hpo_cmaes *s, hpo_error *err)
{
    if (s->eigen_valid)
        return HPO_OK;
    size_t n = s->n;
    double *C = s->C, *a = work_matrix(s);
    for (size_t i = 0; i < n; i++) /* cmaes symmetrizes C, (C + C^T) / 2, before eigh */
        for (size_t j = i; j < n; j++)
            C[i * n + j] = C[j * n + i] = (C[i * n + j] + C[j * n + i]) / 2;
    memcpy(a, C, n * n * sizeof(double));
    if (!hpo_cmaes_eigh(n, a, s->D, s->B, work_vectors(s)))
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "CMA-ES: eigen solver did not converge");
    for (size_t j = 0; j < n; j++) /* rounding can make C indefinite: _EPS for D^2 */
        s->D[j] = sqrt(s->D[j] < 0 ? HPO_CMAES_EPS : s->D[j]);
    /* and cmaes replaces C by B diag(D^2) B^T, so the next update starts from that */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = 0;
            for (size_t k = 0; k < n; k++)
                v += s->B[i * n + k] * (s->D[k] * s->D[k]) * s->B[j * n + k];
            C[i * n + j] = v;
        }
    s->eigen_valid = true;
    return HPO_OK;
}

/* x = m + sigma B D z, z ~ N(0, I); z is scratch of n. */
static void sample(const hpo_cmaes *s, hpo_rng *rng, double *z, double *x)
{
    size_t n = s->n;
    for (size_t j = 0; j < n; j++)
        z[j] = hpo_rng_normal(rng) * s->D[j];
    for (size_t i = 0; i < n; i++) {
        double y = 0;
        for (size_t j = 0; j < n; j++)
            y += s->B[i * n + j] * z[j];
        x[i] = s->mean[i] + s->sigma * y;
    }
}

static bool feasible(const hpo_cmaes *s, const double *x)
{
    if (!s->lower)
        return true;
    for (size_t i = 0; i < s->n; i++)
        if (!(x[i] >= s->lower[i] && x[i] <= s->upper[i]))
            return false;
    return true;
}

hpo_rc hpo_cmaes_ask(hpo_cmaes *s, hpo_rng *rng, double *ret_x, hpo_error *err)
{
    hpo_rc rc = hpo_cmaes_decompose(s, err);
    if (rc != HPO_OK)
        return rc;
    double *z = work_vectors(s);
    for (size_t k = 0; k < s->n_max_resampling; k++) {
        sample(s, rng, z, ret_x);
        if (feasible(s, ret_x))
            return HPO_OK;
    }
    sample(s, rng, z, ret_x); /* cmaes draws once more and clips that one */
    if (s->lower)
        for (size_t i = 0; i < s->n; i++)
            ret_x[i] = ret_x[i] < s->lower[i]   ? s->lower[i]
                       : ret_x[i] > s->upper[i] ? s->upper[i]
                                                : ret_x[i];
    return HPO_OK;
}

/* ---- tell ---- */

/* Stable insertion sort of the indexes by value: Python's sort keeps ties in input order. */
static void sort_by_value(size_t *order, const double *values, size_t lambda)
{
    for (size_t i = 0; i < lambda; i++) {
        size_t k = i, j = i;
        for (; j > 0 && values[order[j - 1]] > values[k]; j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
}

/* ret = M v for an n x n row-major M. */
static void mat_vec(size_t n, const double *M, const double *v, double *ret)
{
    for (size_t i = 0; i < n; i++) {
        double t = 0;
        for (size_t j = 0; j < n; j++)
            t += M[i * n + j] * v[j];
        ret[i] = t;
    }
}

static double norm2(size_t n, const double *v)
{
    double t = 0;
    for (size_t i = 0; i < n; i++)
        t += v[i] * v[i];
    return t;
}

/* C^-1/2 = B D^-1 B^T. */
static void inv_sqrt_c(const hpo_cmaes *s, double *ret)
{
    size_t n = s->n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = 0;
            for (size_t k = 0; k < n; k++)
                v += s->B[i * n + k] * (1 / s->D[k]) * s->B[j * n + k];
            ret[i * n + j] = v;
        }
}

/* Step-size control: the path p_sigma (in C^-1/2 coordinates) and sigma; returns ||p_sigma||. */
static double update_sigma(hpo_cmaes *s, const double *c2_yw)
{
    size_t n = s->n;
    double a = 1 - s->c_sigma, b = sqrt(s->c_sigma * (2 - s->c_sigma) * s->mu_eff);
    for (size_t i = 0; i < n; i++)
        s->p_sigma[i] = a * s->p_sigma[i] + b * c2_yw[i];
    double norm = sqrt(norm2(n, s->p_sigma));
    s->sigma *= exp((s->c_sigma / s->d_sigma) * (norm / s->chi_n - 1));
    s->sigma = fmin(s->sigma, HPO_CMAES_SIGMA_MAX);
    return norm;
}

/* eq. 47: C decays by the rates' total and gains the rank-one term (p_c) and the rank-mu term,
 * whose negative weights are rescaled so a far bad step cannot shrink C by more than n (eq. 46). */
static void update_c(hpo_cmaes *s, const double *y, const double *c2, double h_sigma)
{
    size_t n = s->n, lambda = s->popsize;
    double *w_io = work_weights(s), *t = work_vectors(s) + 2 * n, sum_w = 0;
    for (size_t k = 0; k < lambda; k++) {
        sum_w += s->weights[k];
        w_io[k] = s->weights[k];
        if (s->weights[k] < 0) {
            mat_vec(n, c2, y + k * n, t);
            w_io[k] *= (double)n / (norm2(n, t) + HPO_CMAES_EPS);
        }
    }
    double delta_h_sigma = (1 - h_sigma) * s->c_c * (2 - s->c_c);
    double decay = 1 + s->c_1 * delta_h_sigma - s->c_1 - s->c_mu * sum_w;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double rank_mu = 0;
            for (size_t k = 0; k < lambda; k++)
                rank_mu += w_io[k] * (y[k * n + i] * y[k * n + j]);
            s->C[i * n + j] = decay * s->C[i * n + j] + s->c_1 * (s->p_c[i] * s->p_c[j]) +
                              s->c_mu * rank_mu;
        }
}

static hpo_rc check_tell(const hpo_cmaes *s, const double *x, const double *values,
                         hpo_error *err)
{
    for (size_t k = 0; k < s->popsize; k++) {
        if (isnan(values[k]))
            return hpo_error_set(err, HPO_E_INVALID, "values", "CMA-ES: a value is NaN");
        for (size_t i = 0; i < s->n; i++)
            if (!(fabs(x[k * s->n + i]) < HPO_CMAES_MEAN_MAX))
                return hpo_error_set(err, HPO_E_INVALID, "x", "CMA-ES: |x| must be below 1e32");
    }
    return HPO_OK;
}

hpo_rc hpo_cmaes_tell(hpo_cmaes *s, const double *x, const double *values, hpo_error *err)
{
    hpo_rc rc = check_tell(s, x, values, err);
    if (rc == HPO_OK)
        rc = hpo_cmaes_decompose(s, err); /* tell steps with the B, D the population came from */
    if (rc != HPO_OK)
        return rc;
    size_t n = s->n, lambda = s->popsize;
    s->generation++;
    sort_by_value(s->order, values, lambda);
    size_t slot = 2 * (s->generation % s->funhist_term);
    s->funhist[slot] = values[s->order[0]];
    s->funhist[slot + 1] = values[s->order[lambda - 1]];

    double *c2 = work_matrix(s), *y = work_steps(s), *y_w = work_vectors(s), *c2_yw = y_w + n;
    for (size_t k = 0; k < lambda; k++)
        for (size_t i = 0; i < n; i++)
            y[k * n + i] = (x[s->order[k] * n + i] - s->mean[i]) / s->sigma;
    for (size_t i = 0; i < n; i++) { /* eq. 41: only the mu best recombine into the mean */
        double t = 0;
        for (size_t k = 0; k < s->mu; k++)
            t += y[k * n + i] * s->weights[k];
        y_w[i] = t;
        s->mean[i] += s->c_m * s->sigma * t;
    }
    inv_sqrt_c(s, c2);
    mat_vec(n, c2, y_w, c2_yw);
    double norm_p_sigma = update_sigma(s, c2_yw);

    /* h_sigma stalls p_c while p_sigma is long (sigma is still growing); cmaes counts g + 1
     * with g already incremented, and so do we */
    double left = norm_p_sigma /
                  sqrt(1 - pow(1 - s->c_sigma, 2 * ((double)s->generation + 1)));
    double right = (1.4 + 2 / ((double)n + 1)) * s->chi_n;
    double h_sigma = left < right ? 1.0 : 0.0;
    double b = h_sigma * sqrt(s->c_c * (2 - s->c_c) * s->mu_eff); /* eq. 45 */
    for (size_t i = 0; i < n; i++)
        s->p_c[i] = (1 - s->c_c) * s->p_c[i] + b * y_w[i];

    update_c(s, y, c2, h_sigma);
    s->eigen_valid = false;
    return HPO_OK;
}

/* ---- termination ---- */

static bool flat_values(const hpo_cmaes *s)
{
    if (s->generation <= s->funhist_term)
        return false;
    double lo = s->funhist[0], hi = s->funhist[0];
    for (size_t i = 1; i < 2 * s->funhist_term; i++) {
        lo = fmin(lo, s->funhist[i]);
        hi = fmax(hi, s->funhist[i]);
    }
    return hi - lo < s->tolfun;
}

/* cmaes compares sigma * diag(C) (not its root) and the signed p_c with tolx: kept as it is. */
static bool tiny_steps(const hpo_cmaes *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (!(s->sigma * s->C[i * s->n + i] < s->tolx) || !(s->sigma * s->p_c[i] < s->tolx))
            return false;
    return true;
}

static bool no_effect(const hpo_cmaes *s)
{
    size_t n = s->n;
    for (size_t i = 0; i < n; i++) /* coordinates */
        if (s->mean[i] == s->mean[i] + 0.2 * s->sigma * sqrt(s->C[i * n + i]))
            return true;
    size_t a = (size_t)(s->generation % n); /* one principal axis per generation */
    for (size_t i = 0; i < n; i++)
        if (s->mean[i] != s->mean[i] + 0.1 * s->sigma * s->D[a] * s->B[i * n + a])
            return false;
    return true;
}

bool hpo_cmaes_should_stop(hpo_cmaes *s)
{
    hpo_error err;
    if (hpo_cmaes_decompose(s, &err) != HPO_OK)
        return true;
    double d_max = s->D[0], d_min = s->D[0];
    for (size_t i = 1; i < s->n; i++) {
        d_max = fmax(d_max, s->D[i]);
        d_min = fmin(d_min, s->D[i]);
    }
    return flat_values(s) || tiny_steps(s) || s->sigma * d_max > s->tolxup || no_effect(s) ||
           d_max / d_min > s->tolconditioncov;
}
