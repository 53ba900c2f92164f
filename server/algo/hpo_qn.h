/* hpo_qn: a small box-bounded quasi-Newton minimizer (projected BFGS) for smooth functions of a
 * few dozen variables with an analytic gradient: the Gaussian-process sampler's hyperparameter
 * fit and the continuous part of its acquisition search. Pure: no I/O, no globals.
 *
 * Each iteration fixes the variables that sit on a bound with the gradient pushing outward, steps
 * along -H g over the others (H a dense BFGS approximation of the inverse Hessian, reset to the
 * identity when that is not a descent direction), projects the step onto the box and backtracks
 * until Armijo's sufficient decrease holds. H is updated only when s'y > 0 (the line search does
 * not enforce the curvature condition). Dense H costs m^2 memory: meant for m up to a few
 * hundred, where the function itself (a Cholesky, for the GP) dominates. */
#ifndef HPO_QN_H
#define HPO_QN_H

#include <stdbool.h>
#include <stddef.h>

#include "hpo_error.h"

/* The function to minimize: returns f(x) and writes its gradient to ret_grad (m). A value that is
 * not finite (NaN, inf) makes the line search back off; at the start point it is an error. */
typedef double (*hpo_qn_fn)(void *ctx, const double *x, double *ret_grad);

typedef struct {
    int max_iter;  /* iterations (line searches); >= 1 */
    int max_evals; /* evaluations in all, the start point's included; >= 1 */
    double gtol;   /* converged when the projected gradient's largest |component| <= gtol */
    double ftol;   /* converged when an iteration decreases f by less than ftol * max(1, |f|) */
} hpo_qn_options;

typedef struct {
    double f;       /* f at the returned x */
    int iters, evals;
    bool converged; /* by gtol or ftol (else a limit was reached or the line search stalled) */
} hpo_qn_result;

/* Minimizes fn over the box [lo, hi] (each may be NULL: unbounded on that side; lo <= hi)
 * starting from x (m, projected onto the box first); x receives the best point found.
 * HPO_E_INVALID when f is not finite at the start (x projected, nothing else changed);
 * HPO_E_NOMEM. ret (may be NULL) is written on success. */
hpo_rc hpo_qn_minimize(size_t m, hpo_qn_fn fn, void *ctx, double *x, const double *lo,
                       const double *hi, const hpo_qn_options *o, hpo_qn_result *ret,
                       hpo_error *err);

#endif
