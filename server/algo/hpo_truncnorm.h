/* hpo_truncnorm: the standard normal's numerics the TPE estimator needs, after Optuna 3.1's
 * _truncnorm: Phi by erfc (inline: it sits in the estimator's inner loops), and the quantile of
 * the normal truncated to [a, b], accurate in both tails (log Phi by an asymptotic series in the
 * far left tail, its inverse by Newton steps from Acklam's approximation). The public forms
 * (hpo_tpe_log_gauss_mass, hpo_tpe_truncnorm_log_pdf, hpo_tpe_truncnorm_ppf) are declared in
 * hpo_tpe.h and defined in hpo_truncnorm.c. Pure: no I/O, no allocation. */
#ifndef HPO_TRUNCNORM_H
#define HPO_TRUNCNORM_H

#include <math.h>

#define HPO_LOG_SQRT_2PI 0.91893853320467274178032973640562
#define HPO_SQRT1_2 0.70710678118654752440084436210485

/* Phi(z), the standard normal's cdf. */
static inline double hpo_truncnorm_ndtr(double z)
{
    return 0.5 * erfc(-z * HPO_SQRT1_2);
}

/* Quantile at q of the standard normal truncated to [a, b] (a < b), given
 * log_mass = hpo_tpe_log_gauss_mass(a, b) (callers keep it per component); clipped to [a, b]. */
double hpo_truncnorm_ppf(double q, double a, double b, double log_mass);

#endif
