/* hpo_gp_acq: the GP sampler's acquisition (see hpo_gp.h): log expected improvement, stable far
 * into the left tail, and its maximization over a mixed space by scored quasi-random candidates
 * refined by quasi-Newton ascent and neighbour search. */
#include "hpo_gp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_qmc.h"
#include "hpo_qn.h"
#include "hpo_sampler.h"
#include "hpo_truncnorm.h"

#define STABILIZING_VAR 1e-12
/* Below this z, h(z) = phi(z) + z Phi(z) would lose about z^2 ulps to cancellation: the
 * continued fraction takes over. */
#define FRACTION_BELOW (-2.0)

double hpo_gp_log_h(double z, double *ret_dz)
{
    if (z >= FRACTION_BELOW) {
        double cdf = hpo_truncnorm_ndtr(z);
        double pdf = exp(-0.5 * z * z - HPO_LOG_SQRT_2PI);
        double h = pdf + z * cdf;
        if (ret_dz)
            *ret_dz = cdf / h;
        return log(h);
    }
    /* t = -z. Laplace's continued fraction of the Mills ratio, R(t) = 1 / (t + q),
     * q = 1 / (t + 2 / (t + 3 / (t + ...))), gives h = phi(z) (1 - t R) = phi(z) q / (t + q)
     * without the cancellation of 1 - t R; and d log h / dz = Phi / h = R / (1 - t R) = 1 / q.
     * Its depth: double precision from t = 2 (165 terms there; fewer further out). */
    double t = -z, acc = t;
    for (int k = 40 + (int)(500 / (t * t)); k >= 2; k--)
        acc = t + k / acc;
    double q = 1 / acc;
    if (ret_dz)
        *ret_dz = 1 / q;
    return -0.5 * z * z - HPO_LOG_SQRT_2PI + log(q / (t + q));
}

double hpo_gp_log_ei(double mean, double var, double best)
{
    double sigma = sqrt(fmax(var, 0) + STABILIZING_VAR);
    return log(sigma) + hpo_gp_log_h((mean - best) / sigma, NULL);
}

double hpo_gp_coord(const hpo_dist *d, double internal)
{
    return d->type == HPO_DIST_CATEGORICAL ? internal : hpo_sampler_unit(d, internal);
}

double hpo_gp_internal(const hpo_dist *d, double coord)
{
    if (d->type == HPO_DIST_CATEGORICAL) {
        double k = nearbyint(coord);
        return k < 0 ? 0 : k > (double)d->n_choices - 1 ? (double)d->n_choices - 1 : k;
    }
    return hpo_sampler_at(d, coord < 0 ? 0 : coord > 1 ? 1 : coord);
}

void hpo_gp_acq_options_default(hpo_gp_acq_options *o)
{
    *o = (hpo_gp_acq_options){.n_candidates = 2048, .n_local = 10, .max_rounds = 10,
                              .max_iter = 30};
}

/* ---- the search ---- */

typedef enum { DIM_FIXED, DIM_CONTINUOUS, DIM_DISCRETE, DIM_CATEGORICAL } dim_kind;

static dim_kind kind_of(const hpo_dist *d)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return d->n_choices > 1 ? DIM_CATEGORICAL : DIM_FIXED;
    if (!(d->high > d->low))
        return DIM_FIXED;
    return d->type == HPO_DIST_INT || d->step > 0 ? DIM_DISCRETE : DIM_CONTINUOUS;
}

typedef struct {
    hpo_gp *gp;
    const hpo_space *space;
    const hpo_gp_acq_options *o;
    double best;
    size_t d;
    dim_kind *kind;
    double *x;        /* the point being refined (d) */
    double *dmean, *dvar; /* d each */
    size_t *sub;      /* the dims the ascent moves */
    size_t n_sub;
    double *u, *lo, *hi; /* n_sub each: the ascent's variables and box */
} acq;

static double log_ei_at(acq *a, const double *x)
{
    double mean, var;
    hpo_gp_predict(a->gp, x, &mean, &var);
    return hpo_gp_log_ei(mean, var, a->best);
}

/* -log EI at a->x with its sub dims set to u, and its gradient over them */
static double neg_log_ei(void *vctx, const double *u, double *ret_grad)
{
    acq *a = vctx;
    for (size_t j = 0; j < a->n_sub; j++)
        a->x[a->sub[j]] = u[j];
    double mean, var;
    hpo_gp_predict_grad(a->gp, a->x, &mean, &var, a->dmean, a->dvar);
    double sigma = sqrt(var + STABILIZING_VAR), z = (mean - a->best) / sigma, dlh;
    double f = log(sigma) + hpo_gp_log_h(z, &dlh);
    for (size_t j = 0; j < a->n_sub; j++) {
        size_t i = a->sub[j];
        double ds = a->dvar[i] / (2 * sigma);
        double dz = (a->dmean[i] - z * ds) / sigma;
        ret_grad[j] = -(ds / sigma + dlh * dz);
    }
    return -f;
}

/* Ascent over the continuous dims, and the discrete ones too when relax; returns log EI at the
 * result (f when there is nothing to move). */
static double ascend(acq *a, bool relax, double f)
{
    a->n_sub = 0;
    for (size_t i = 0; i < a->d; i++)
        if (a->kind[i] == DIM_CONTINUOUS || (relax && a->kind[i] == DIM_DISCRETE)) {
            a->u[a->n_sub] = a->x[i];
            a->sub[a->n_sub++] = i;
        }
    if (a->n_sub == 0)
        return f;
    hpo_qn_options qo = {.max_iter = a->o->max_iter, .max_evals = 3 * a->o->max_iter + 5,
                         .gtol = 1e-6, .ftol = 1e-10};
    hpo_qn_result r;
    if (hpo_qn_minimize(a->n_sub, neg_log_ei, a, a->u, a->lo, a->hi, &qo, &r, NULL)) {
        return f; /* not finite at the start: leave the point as it was */
    }
    for (size_t j = 0; j < a->n_sub; j++)
        a->x[a->sub[j]] = a->u[j];
    return -r.f;
}

/* Puts the discrete dims of a->x back onto their grids. */
static void round_discrete(acq *a)
{
    for (size_t i = 0; i < a->d; i++)
        if (a->kind[i] == DIM_DISCRETE) {
            const hpo_dist *d = &a->space->items[i].dist;
            a->x[i] = hpo_gp_coord(d, hpo_gp_internal(d, a->x[i]));
        }
}

/* One round of neighbour search from a->x (log EI f): per discrete or categorical dim, the best
 * of its moves if it beats the current value. Returns the new log EI in *f and whether a move
 * was made. */
static bool neighbours(acq *a, double *f)
{
    bool moved = false;
    for (size_t i = 0; i < a->d; i++) {
        const hpo_dist *d = &a->space->items[i].dist;
        double keep = a->x[i], best_c = keep, best_f = *f;
        if (a->kind[i] == DIM_CATEGORICAL) {
            for (size_t k = 0; k < d->n_choices; k++) {
                if ((double)k == keep)
                    continue;
                a->x[i] = (double)k;
                double fk = log_ei_at(a, a->x);
                if (fk > best_f) {
                    best_f = fk;
                    best_c = (double)k;
                }
            }
        } else if (a->kind[i] == DIM_DISCRETE) {
            double v = hpo_gp_internal(d, keep);
            double step = d->type == HPO_DIST_INT && !(d->step > 0) ? 1 : d->step;
            for (int sign = -1; sign <= 1; sign += 2) {
                double w = hpo_dist_round(d, v + sign * step);
                if (w == v)
                    continue;
                a->x[i] = hpo_gp_coord(d, w);
                double fk = log_ei_at(a, a->x);
                if (fk > best_f) {
                    best_f = fk;
                    best_c = a->x[i];
                }
            }
        }
        a->x[i] = best_c;
        if (best_c != keep) {
            *f = best_f;
            moved = true;
        }
    }
    return moved;
}

/* Refines a->x (log EI f); returns the log EI at the result. */
static double local_search(acq *a, double f)
{
    bool mixed = false;
    for (size_t i = 0; i < a->d; i++)
        mixed |= a->kind[i] == DIM_DISCRETE || a->kind[i] == DIM_CATEGORICAL;
    f = ascend(a, true, f);
    if (!mixed)
        return f;
    round_discrete(a);
    f = ascend(a, false, log_ei_at(a, a->x));
    for (int round = 0; round < a->o->max_rounds; round++) {
        if (!neighbours(a, &f))
            break;
        f = ascend(a, false, f);
    }
    return f;
}

/* Candidate i's coordinates into x: Sobol' point i mapped onto the space's grid. */
static void candidates(const hpo_space *space, const hpo_qmc *q, size_t m, double *x)
{
    size_t d = space->n;
    for (size_t i = 0; i < d; i++) {
        hpo_qmc_fill(q, i, 0, m, x + i, d);
        const hpo_dist *dist = &space->items[i].dist;
        for (size_t c = 0; c < m; c++) {
            double *v = &x[c * d + i];
            *v = hpo_gp_coord(dist, hpo_sampler_at(dist, *v));
        }
    }
}

/* Indexes of the k largest of f[0..m) into top, largest first (k <= m). */
static void top_k(const double *f, size_t m, size_t k, size_t *top)
{
    size_t n = 0;
    for (size_t c = 0; c < m; c++) {
        if (n == k && !(f[c] > f[top[k - 1]]))
            continue;
        size_t j = n < k ? n++ : k - 1;
        while (j > 0 && f[c] > f[top[j - 1]]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = c;
    }
}

hpo_rc hpo_gp_acq_maximize(hpo_gp *gp, const hpo_space *space, double best, const double *starts,
                           size_t n_starts, const hpo_gp_acq_options *o, hpo_rng *rng,
                           double *ret_x, double *ret_log_ei, hpo_error *err)
{
    size_t d = space->n, m = o->n_candidates ? o->n_candidates : 1;
    size_t k = o->n_local < m ? o->n_local : m;
    acq a = {.gp = gp, .space = space, .o = o, .best = best, .d = d};
    double *cand = malloc((m * d + m + 7 * d + 1) * sizeof *cand);
    size_t *idx = malloc((k + d + 1) * sizeof *idx);
    a.kind = malloc((d + 1) * sizeof *a.kind);
    if (!cand || !idx || !a.kind) {
        free(cand);
        free(idx);
        free(a.kind);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    double *f = cand + m * d;
    a.x = f + m;
    a.dmean = a.x + d;
    a.dvar = a.dmean + d;
    a.u = a.dvar + d;
    a.lo = a.u + d;
    a.hi = a.lo + d;
    double *best_x = a.hi + d;
    a.sub = idx + k;
    for (size_t i = 0; i < d; i++) {
        a.kind[i] = kind_of(&space->items[i].dist);
        a.lo[i] = 0;
        a.hi[i] = 1;
    }

    hpo_qmc q = {.type = HPO_QMC_SOBOL, .scramble = true, .seed = hpo_rng_u64(rng)};
    candidates(space, &q, m, cand);
    for (size_t c = 0; c < m; c++)
        f[c] = log_ei_at(&a, cand + c * d);
    top_k(f, m, k, idx);
    double best_f = -INFINITY;
    for (size_t s = 0; s < k + n_starts; s++) {
        double fs;
        if (s < k) {
            memcpy(a.x, cand + idx[s] * d, d * sizeof *a.x);
            fs = f[idx[s]];
        } else {
            memcpy(a.x, starts + (s - k) * d, d * sizeof *a.x);
            fs = log_ei_at(&a, a.x);
        }
        fs = local_search(&a, fs);
        if (fs > best_f || s == 0) {
            best_f = fs;
            memcpy(best_x, a.x, d * sizeof *best_x);
        }
    }
    memcpy(ret_x, best_x, d * sizeof *ret_x);
    if (ret_log_ei)
        *ret_log_ei = best_f;
    free(cand);
    free(idx);
    free(a.kind);
    return HPO_OK;
}
