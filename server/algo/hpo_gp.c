/* hpo_gp: the GP model and its fit (see hpo_gp.h): the Matérn-5/2 ARD kernel, the Cholesky
 * factor with jitter, the log marginal likelihood and its gradient, the weak priors, the
 * posterior, and the hyperparameter fit by hpo_qn. */
#include "hpo_gp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_qn.h"

#define SQRT5 2.23606797749978969640917366873128
#define LOG_2PI 1.83787706640934548356065947281124

/* Bounds of the fit, in the hyperparameters themselves (the optimizer works on their logs). */
#define ISL_MIN 1e-6
#define ISL_MAX 1e6
#define SCALE_MIN 1e-6
#define SCALE_MAX 1e6
#define NOISE_MAX 10.0
#define NOISE_EXCESS_MIN 1e-12 /* noise - HPO_GP_MIN_NOISE: below this it makes no difference */

struct hpo_gp {
    size_t n, d;
    double *x;      /* n x d */
    bool *cat;      /* d */
    double *hp;     /* d + 2 */
    double *l;      /* n x n lower Cholesky factor of K + noise I (+ jitter) */
    double *alpha;  /* K^-1 y */
    double *k, *v, *dk; /* n each: scratch of the predictions */
};

/* ---- the kernel ---- */

static double sq_dist(size_t d, const bool *cat, const double *isl, const double *a,
                      const double *b)
{
    double r2 = 0;
    for (size_t i = 0; i < d; i++) {
        if (cat && cat[i]) {
            r2 += a[i] != b[i] ? isl[i] : 0;
        } else {
            double t = a[i] - b[i];
            r2 += isl[i] * t * t;
        }
    }
    return r2;
}

/* m(r) at r^2, and (when ret_dm is not NULL) dm/d(r^2) = -5/6 (1 + sqrt5 r) exp(-sqrt5 r),
 * smooth at r = 0. */
static double matern52(double r2, double *ret_dm)
{
    double r = sqrt(r2), e = exp(-SQRT5 * r);
    if (ret_dm)
        *ret_dm = -5.0 / 6.0 * (1 + SQRT5 * r) * e;
    return (1 + SQRT5 * r + 5.0 / 3.0 * r2) * e;
}

double hpo_gp_kernel(size_t d, const bool *categorical, const double *hp, const double *a,
                     const double *b)
{
    return hp[HPO_GP_SCALE(d)] * matern52(sq_dist(d, categorical, hp, a, b), NULL);
}

/* ---- dense linear algebra (row-major, lower triangles) ---- */

/* sum a[k] b[k] over k < n, in four interleaved sums: the compiler may not reorder a floating
 * point reduction itself, and one running sum would wait on each addition. */
static double dot(const double *a, const double *b, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++)
        s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

static bool cholesky_once(size_t n, double *a)
{
    for (size_t i = 0; i < n; i++) {
        double *ri = a + i * n;
        for (size_t j = 0; j <= i; j++) {
            const double *rj = a + j * n;
            double s = ri[j] - dot(ri, rj, j);
            if (i == j) {
                if (!(s > 0))
                    return false;
                ri[i] = sqrt(s);
            } else {
                ri[j] = s / rj[j];
            }
        }
    }
    return true;
}

bool hpo_gp_cholesky(size_t n, double *a, double *work, double *ret_jitter)
{
    double jitter = 0;
    memcpy(work, a, n * n * sizeof *a);
    if (!cholesky_once(n, a)) {
        double mean_diag = 0;
        for (size_t i = 0; i < n; i++)
            mean_diag += work[i * n + i] / (double)n;
        if (!(mean_diag > 0) || !isfinite(mean_diag))
            mean_diag = 1;
        bool ok = false;
        for (double f = 1e-10; f <= 1.0001e-4 && !ok; f *= 10) {
            jitter = f * mean_diag;
            memcpy(a, work, n * n * sizeof *a);
            for (size_t i = 0; i < n; i++)
                a[i * n + i] += jitter;
            ok = cholesky_once(n, a);
        }
        if (!ok)
            return false;
    }
    if (ret_jitter)
        *ret_jitter = jitter;
    return true;
}

/* Solves L z = b in place (L lower). */
static void solve_lower(size_t n, const double *l, double *b)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (b[i] - dot(l + i * n, b, i)) / l[i * n + i];
}

/* Solves L' z = b in place. */
static void solve_upper_t(size_t n, const double *l, double *b)
{
    for (size_t i = n; i-- > 0;) {
        b[i] /= l[i * n + i];
        double bi = b[i];
        const double *ri = l + i * n;
        for (size_t k = 0; k < i; k++)
            b[k] -= ri[k] * bi;
    }
}

/* K^-1 from K's factor L: U = L^-T into u (upper triangle; its row j, L^-1's column j, by
 * forward substitution), then K^-1 = U U' into the lower triangle of l. Every inner loop is a
 * dot product of contiguous rows. */
static void inverse_from_cholesky(size_t n, double *l, double *u)
{
    for (size_t j = 0; j < n; j++) {
        double *uj = u + j * n;
        uj[j] = 1 / l[j * n + j];
        for (size_t i = j + 1; i < n; i++)
            uj[i] = -dot(l + i * n + j, uj + j, i - j) / l[i * n + i];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
            l[i * n + j] = dot(u + i * n + i, u + j * n + i, n - i);
}

/* ---- the marginal likelihood ---- */

/* Scratch of one likelihood evaluation: kf (the kernel without noise), dm (scale * dm/dr^2),
 * a (K, then its factor, then K^-1), u (the copy of K the jitter needs, then L^-T), alpha. */
typedef struct {
    size_t n;
    double *kf, *dm, *a, *u, *alpha;
} lml_work;

static void lml_work_free(lml_work *w)
{
    free(w->kf);
    memset(w, 0, sizeof *w);
}

static bool lml_work_init(lml_work *w, size_t n)
{
    size_t nn = n > 0 ? n * n : 1;
    w->n = n;
    w->kf = malloc((4 * nn + n + 1) * sizeof *w->kf);
    if (!w->kf)
        return false;
    w->dm = w->kf + nn;
    w->a = w->dm + nn;
    w->u = w->a + nn;
    w->alpha = w->u + nn;
    return true;
}

static bool hp_valid(size_t d, const double *hp)
{
    for (size_t i = 0; i < HPO_GP_N_HP(d); i++)
        if (!(hp[i] > 0) || !isfinite(hp[i]))
            return false;
    return true;
}

/* The likelihood at hp into *ret_lml and (ret_grad) its gradient in log-parameters; false when K
 * cannot be factored. */
static bool lml_eval(const hpo_gp_data *data, const double *hp, lml_work *w, double *ret_lml,
                     double *ret_grad)
{
    size_t n = data->n, d = data->d;
    if (!hp_valid(d, hp))
        return false;
    double scale = hp[HPO_GP_SCALE(d)], noise = hp[HPO_GP_NOISE(d)];
    for (size_t i = 0; i < n; i++) {
        const double *xi = data->x + i * d;
        for (size_t j = 0; j <= i; j++) {
            double dm, k = scale * matern52(sq_dist(d, data->categorical, hp, xi,
                                                    data->x + j * d), &dm);
            w->kf[i * n + j] = k;
            w->dm[i * n + j] = scale * dm;
            w->a[i * n + j] = k + (i == j ? noise : 0);
        }
    }
    if (!hpo_gp_cholesky(n, w->a, w->u, NULL))
        return false;
    memcpy(w->alpha, data->y, n * sizeof *w->alpha);
    solve_lower(n, w->a, w->alpha);
    double quad = 0, logdet = 0;
    for (size_t i = 0; i < n; i++) {
        quad += w->alpha[i] * w->alpha[i];
        logdet += 2 * log(w->a[i * n + i]);
    }
    *ret_lml = -0.5 * quad - 0.5 * logdet - 0.5 * (double)n * LOG_2PI;
    if (!isfinite(*ret_lml))
        return false;
    if (!ret_grad)
        return true;
    solve_upper_t(n, w->a, w->alpha);
    inverse_from_cholesky(n, w->a, w->u);
    const double *kinv = w->a;
    /* d lml / d theta = 1/2 tr((alpha alpha' - K^-1) dK/dtheta), over the lower triangle */
    memset(ret_grad, 0, HPO_GP_N_HP(d) * sizeof *ret_grad);
    double g_scale = 0, g_noise = 0;
    for (size_t i = 0; i < n; i++) {
        const double *xi = data->x + i * d;
        for (size_t j = 0; j < i; j++) {
            double wij = w->alpha[i] * w->alpha[j] - kinv[i * n + j];
            g_scale += wij * w->kf[i * n + j];
            double c = wij * w->dm[i * n + j];
            const double *xj = data->x + j * d;
            for (size_t k = 0; k < d; k++) {
                double t2;
                if (data->categorical && data->categorical[k]) {
                    t2 = xi[k] != xj[k];
                } else {
                    double t = xi[k] - xj[k];
                    t2 = t * t;
                }
                ret_grad[k] += c * t2;
            }
        }
        double wii = w->alpha[i] * w->alpha[i] - kinv[i * n + i];
        g_scale += 0.5 * wii * w->kf[i * n + i];
        g_noise += 0.5 * wii;
    }
    for (size_t k = 0; k < d; k++)
        ret_grad[k] *= hp[k];
    ret_grad[HPO_GP_SCALE(d)] = g_scale;
    ret_grad[HPO_GP_NOISE(d)] = g_noise * noise;
    return true;
}

hpo_rc hpo_gp_lml(const hpo_gp_data *data, const double *hp, double *ret_lml, double *ret_grad,
                  hpo_error *err)
{
    lml_work w;
    if (!lml_work_init(&w, data->n))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    bool ok = lml_eval(data, hp, &w, ret_lml, ret_grad);
    lml_work_free(&w);
    return ok ? HPO_OK
              : hpo_error_set(err, HPO_E_INVALID, NULL,
                              "the kernel matrix cannot be factored at these hyperparameters");
}

double hpo_gp_log_prior(size_t d, const double *hp, double *ret_grad)
{
    double lp = 0;
    for (size_t k = 0; k < d; k++) {
        lp -= 0.1 / hp[k] + 0.1 * hp[k];
        if (ret_grad)
            ret_grad[k] = 0.1 / hp[k] - 0.1 * hp[k];
    }
    double s = hp[HPO_GP_SCALE(d)], nz = hp[HPO_GP_NOISE(d)];
    lp += (2 - 1) * log(s) - 1 * s + (1.1 - 1) * log(nz) - 30 * nz;
    if (ret_grad) {
        ret_grad[HPO_GP_SCALE(d)] = 1 - s;
        ret_grad[HPO_GP_NOISE(d)] = 0.1 - 30 * nz;
    }
    return lp;
}

/* ---- the fit ---- */

void hpo_gp_fit_options_default(hpo_gp_fit_options *o)
{
    *o = (hpo_gp_fit_options){.prior = true, .deterministic = false, .max_iter = 50,
                              .gtol = 1e-2};
}

/* The optimizer's variables u: log isl (d), log scale, and unless deterministic
 * log(noise - HPO_GP_MIN_NOISE). */
typedef struct {
    const hpo_gp_data *data;
    const hpo_gp_fit_options *o;
    lml_work w;
    double *hp, *g, *gp; /* d + 2 each */
} fit_ctx;

static void hp_of(const fit_ctx *c, const double *u, double *hp)
{
    size_t d = c->data->d;
    for (size_t k = 0; k <= d; k++)
        hp[k] = exp(u[k]);
    hp[HPO_GP_NOISE(d)] = HPO_GP_MIN_NOISE + (c->o->deterministic ? 0 : exp(u[d + 1]));
}

/* minus (likelihood + prior) and its gradient in u */
static double fit_objective(void *vctx, const double *u, double *ret_grad)
{
    fit_ctx *c = vctx;
    size_t d = c->data->d;
    hp_of(c, u, c->hp);
    double lml;
    if (!lml_eval(c->data, c->hp, &c->w, &lml, c->g))
        return NAN;
    if (c->o->prior) {
        lml += hpo_gp_log_prior(d, c->hp, c->gp);
        for (size_t k = 0; k < HPO_GP_N_HP(d); k++)
            c->g[k] += c->gp[k];
    }
    for (size_t k = 0; k <= d; k++)
        ret_grad[k] = -c->g[k];
    if (!c->o->deterministic) { /* d/du = d/dlog(noise) * (noise - min) / noise */
        double nz = c->hp[HPO_GP_NOISE(d)];
        ret_grad[d + 1] = -c->g[HPO_GP_NOISE(d)] * (nz - HPO_GP_MIN_NOISE) / nz;
    }
    return -lml;
}

static void u_of(const fit_ctx *c, const double *hp, double *u)
{
    size_t d = c->data->d;
    for (size_t k = 0; k <= d; k++)
        u[k] = log(hp[k]);
    if (!c->o->deterministic)
        u[d + 1] = log(fmax(hp[HPO_GP_NOISE(d)] - HPO_GP_MIN_NOISE, NOISE_EXCESS_MIN));
}

hpo_rc hpo_gp_fit(const hpo_gp_data *data, const hpo_gp_fit_options *o, const double *init,
                  double *ret_hp, double *ret_objective, hpo_error *err)
{
    size_t d = data->d, m = d + (o->deterministic ? 1 : 2), nh = HPO_GP_N_HP(d);
    fit_ctx c = {.data = data, .o = o};
    double *mem = malloc((3 * nh + 3 * m) * sizeof *mem);
    if (!mem || !lml_work_init(&c.w, data->n)) {
        free(mem);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    c.hp = mem;
    c.g = c.hp + nh;
    c.gp = c.g + nh;
    double *u = c.gp + nh, *lo = u + m, *hi = lo + m;
    for (size_t k = 0; k < d; k++) {
        lo[k] = log(ISL_MIN);
        hi[k] = log(ISL_MAX);
    }
    lo[d] = log(SCALE_MIN);
    hi[d] = log(SCALE_MAX);
    if (!o->deterministic) {
        lo[d + 1] = log(NOISE_EXCESS_MIN);
        hi[d + 1] = log(NOISE_MAX - HPO_GP_MIN_NOISE);
    }
    hpo_qn_options qo = {.max_iter = o->max_iter, .max_evals = 2 * o->max_iter + 10,
                         .gtol = o->gtol, .ftol = 1e-9};
    hpo_rc rc = HPO_E_INVALID;
    hpo_qn_result r;
    for (int attempt = init ? 0 : 1; attempt < 2 && rc; attempt++) {
        if (attempt == 0 && hp_valid(d, init)) {
            u_of(&c, init, u);
        } else if (attempt == 0) {
            continue;
        } else {
            for (size_t k = 0; k < nh; k++)
                c.hp[k] = 1;
            u_of(&c, c.hp, u);
        }
        rc = hpo_qn_minimize(m, fit_objective, &c, u, lo, hi, &qo, &r, err);
    }
    if (!rc) {
        hp_of(&c, u, ret_hp);
        if (ret_objective)
            *ret_objective = -r.f;
    } else if (rc == HPO_E_INVALID) {
        hpo_error_set(err, rc, NULL, "the GP's likelihood is not finite at any start");
    }
    lml_work_free(&c.w);
    free(mem);
    return rc;
}

/* ---- the posterior ---- */

hpo_rc hpo_gp_new(const hpo_gp_data *data, const double *hp, hpo_gp **ret, hpo_error *err)
{
    size_t n = data->n, d = data->d, nh = HPO_GP_N_HP(d);
    hpo_gp *gp = calloc(1, sizeof *gp);
    size_t nn = n > 0 ? n * n : 1;
    double *work = malloc(nn * sizeof *work);
    if (!gp || !work ||
        !(gp->x = malloc((n * d + 1) * sizeof *gp->x)) ||
        !(gp->cat = calloc(d ? d : 1, sizeof *gp->cat)) ||
        !(gp->hp = malloc(nh * sizeof *gp->hp)) ||
        !(gp->l = malloc(nn * sizeof *gp->l)) ||
        !(gp->alpha = malloc((4 * n + 1) * sizeof *gp->alpha))) {
        free(work);
        hpo_gp_free(gp);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    gp->n = n;
    gp->d = d;
    gp->k = gp->alpha + n;
    gp->v = gp->k + n;
    gp->dk = gp->v + n;
    memcpy(gp->x, data->x, n * d * sizeof *gp->x);
    if (data->categorical)
        memcpy(gp->cat, data->categorical, d * sizeof *gp->cat);
    memcpy(gp->hp, hp, nh * sizeof *hp);
    bool ok = hp_valid(d, hp);
    for (size_t i = 0; ok && i < n; i++)
        for (size_t j = 0; j <= i; j++)
            gp->l[i * n + j] =
                hpo_gp_kernel(d, gp->cat, hp, gp->x + i * d, gp->x + j * d) +
                (i != j ? 0 : i + data->n_exact >= n ? HPO_GP_MIN_NOISE : hp[HPO_GP_NOISE(d)]);
    ok = ok && hpo_gp_cholesky(n, gp->l, work, NULL);
    free(work);
    if (!ok) {
        hpo_gp_free(gp);
        return hpo_error_set(err, HPO_E_INVALID, NULL,
                             "the kernel matrix cannot be factored at these hyperparameters");
    }
    memcpy(gp->alpha, data->y, n * sizeof *gp->alpha);
    solve_lower(n, gp->l, gp->alpha);
    solve_upper_t(n, gp->l, gp->alpha);
    *ret = gp;
    return HPO_OK;
}

void hpo_gp_free(hpo_gp *gp)
{
    if (!gp)
        return;
    free(gp->x);
    free(gp->cat);
    free(gp->hp);
    free(gp->l);
    free(gp->alpha);
    free(gp);
}

/* k (and with dk, scale * dm/dr^2 per training point) at x; returns the mean. */
static double cross_kernel(hpo_gp *gp, const double *x, double *dk)
{
    size_t d = gp->d;
    double scale = gp->hp[HPO_GP_SCALE(d)], mean = 0;
    for (size_t i = 0; i < gp->n; i++) {
        double dm;
        gp->k[i] = scale * matern52(sq_dist(d, gp->cat, gp->hp, x, gp->x + i * d),
                                    dk ? &dm : NULL);
        if (dk)
            dk[i] = scale * dm;
        mean += gp->k[i] * gp->alpha[i];
    }
    return mean;
}

void hpo_gp_predict(hpo_gp *gp, const double *x, double *ret_mean, double *ret_var)
{
    *ret_mean = cross_kernel(gp, x, NULL);
    memcpy(gp->v, gp->k, gp->n * sizeof *gp->v);
    solve_lower(gp->n, gp->l, gp->v);
    double vv = 0;
    for (size_t i = 0; i < gp->n; i++)
        vv += gp->v[i] * gp->v[i];
    *ret_var = fmax(gp->hp[HPO_GP_SCALE(gp->d)] - vv, 0);
}

void hpo_gp_predict_grad(hpo_gp *gp, const double *x, double *ret_mean, double *ret_var,
                         double *ret_dmean, double *ret_dvar)
{
    size_t n = gp->n, d = gp->d;
    *ret_mean = cross_kernel(gp, x, gp->dk);
    memcpy(gp->v, gp->k, n * sizeof *gp->v);
    solve_lower(n, gp->l, gp->v);
    double vv = 0;
    for (size_t i = 0; i < n; i++)
        vv += gp->v[i] * gp->v[i];
    double var = gp->hp[HPO_GP_SCALE(d)] - vv;
    *ret_var = fmax(var, 0);
    /* dvar/dx = -2 (K^-1 k)' dk/dx; dk_i/dx_j = dk_i * 2 isl_j (x_j - x_ij) */
    solve_upper_t(n, gp->l, gp->v);
    for (size_t j = 0; j < d; j++) {
        ret_dmean[j] = ret_dvar[j] = 0;
        if (gp->cat[j])
            continue;
        double dm = 0, dv = 0, c = 2 * gp->hp[j];
        for (size_t i = 0; i < n; i++) {
            double g = gp->dk[i] * c * (x[j] - gp->x[i * d + j]);
            dm += gp->alpha[i] * g;
            dv += gp->v[i] * g;
        }
        ret_dmean[j] = dm;
        ret_dvar[j] = var > 0 ? -2 * dv : 0;
    }
}
