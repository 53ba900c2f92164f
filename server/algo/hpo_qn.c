/* hpo_qn: projected BFGS with a backtracking Armijo line search over a box (see hpo_qn.h). */
#include "hpo_qn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ARMIJO_C1 1e-4
#define MAX_BACKTRACKS 40

static double clip(double v, const double *lo, const double *hi, size_t i)
{
    if (lo && v < lo[i])
        v = lo[i];
    if (hi && v > hi[i])
        v = hi[i];
    return v;
}

/* A variable held at its bound: it sits there and the descent direction -g points outside. */
static bool held(size_t i, const double *x, const double *g, const double *lo, const double *hi)
{
    return (lo && x[i] <= lo[i] && g[i] > 0) || (hi && x[i] >= hi[i] && g[i] < 0);
}

static void set_identity(size_t m, double *h)
{
    memset(h, 0, m * m * sizeof *h);
    for (size_t i = 0; i < m; i++)
        h[i * m + i] = 1;
}

/* H <- (I - rho s y') H (I - rho y s') + rho s s', with rho = 1 / s'y; hy: m scratch. */
static void bfgs_update(size_t m, double *h, const double *s, const double *y, double sy,
                        double *hy)
{
    double rho = 1 / sy, yhy = 0;
    for (size_t i = 0; i < m; i++) {
        double a = 0;
        for (size_t j = 0; j < m; j++)
            a += h[i * m + j] * y[j];
        hy[i] = a;
        yhy += y[i] * a;
    }
    double c = rho * rho * yhy + rho;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            h[i * m + j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + c * s[i] * s[j];
}

hpo_rc hpo_qn_minimize(size_t m, hpo_qn_fn fn, void *ctx, double *x, const double *lo,
                       const double *hi, const hpo_qn_options *o, hpo_qn_result *ret,
                       hpo_error *err)
{
    for (size_t i = 0; i < m; i++)
        x[i] = clip(x[i], lo, hi, i);
    double *mem = malloc((m * m + 6 * m + 1) * sizeof *mem);
    if (!mem)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    double *h = mem, *g = h + m * m, *gn = g + m, *xn = gn + m, *p = xn + m, *s = p + m,
           *y = s + m;
    hpo_qn_result r = {0};
    r.f = fn(ctx, x, g);
    r.evals = 1;
    if (!isfinite(r.f)) {
        free(mem);
        return hpo_error_set(err, HPO_E_INVALID, NULL, "the function is not finite at the start");
    }
    set_identity(m, h);
    bool fresh = true; /* H is the identity: scale the first step */
    while (r.iters < o->max_iter && r.evals < o->max_evals) {
        double pg = 0;
        for (size_t i = 0; i < m; i++)
            if (!held(i, x, g, lo, hi) && fabs(g[i]) > pg)
                pg = fabs(g[i]);
        if (pg <= o->gtol) {
            r.converged = true;
            break;
        }
        r.iters++;
        double slope = 0, pmax = 0;
        for (int attempt = 0; attempt < 2; attempt++) {
            slope = pmax = 0;
            for (size_t i = 0; i < m; i++) {
                double a = 0;
                if (!held(i, x, g, lo, hi))
                    for (size_t j = 0; j < m; j++)
                        if (!held(j, x, g, lo, hi))
                            a -= h[i * m + j] * g[j];
                p[i] = a;
                slope += a * g[i];
                if (fabs(a) > pmax)
                    pmax = fabs(a);
            }
            if (slope < 0 || fresh)
                break;
            set_identity(m, h); /* not a descent direction: start over from steepest descent */
            fresh = true;
        }
        if (!(slope < 0))
            break;
        /* the first step of steepest descent moves no variable by more than 1 */
        double t = fresh && pmax > 1 ? 1 / pmax : 1, fn_new = NAN;
        bool accepted = false;
        for (int b = 0; b < MAX_BACKTRACKS && r.evals < o->max_evals; b++, t *= 0.5) {
            double decrease = 0;
            for (size_t i = 0; i < m; i++) {
                xn[i] = clip(x[i] + t * p[i], lo, hi, i);
                decrease += g[i] * (xn[i] - x[i]);
            }
            fn_new = fn(ctx, xn, gn);
            r.evals++;
            if (isfinite(fn_new) && fn_new <= r.f + ARMIJO_C1 * decrease) {
                accepted = true;
                break;
            }
        }
        if (!accepted) {
            if (fresh)
                break; /* even a short steepest-descent step does not decrease f */
            set_identity(m, h);
            fresh = true;
            continue;
        }
        double sy = 0, ss = 0, yy = 0;
        for (size_t i = 0; i < m; i++) {
            s[i] = xn[i] - x[i];
            y[i] = gn[i] - g[i];
            sy += s[i] * y[i];
            ss += s[i] * s[i];
            yy += y[i] * y[i];
        }
        if (sy > 1e-12 * sqrt(ss * yy)) {
            if (fresh) { /* scale the identity to the curvature seen (Nocedal & Wright 6.20) */
                set_identity(m, h);
                for (size_t i = 0; i < m; i++)
                    h[i * m + i] = sy / yy;
            }
            bfgs_update(m, h, s, y, sy, p);
            fresh = false;
        }
        double drop = r.f - fn_new;
        memcpy(x, xn, m * sizeof *x);
        memcpy(g, gn, m * sizeof *g);
        r.f = fn_new;
        if (drop < o->ftol * fmax(1, fabs(r.f))) {
            r.converged = true;
            break;
        }
    }
    free(mem);
    if (ret)
        *ret = r;
    return HPO_OK;
}
