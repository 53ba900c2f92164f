/* hpo_truncnorm: Optuna 3.1's _truncnorm, with erfc in both tails (see hpo_truncnorm.h): log Phi,
 * the log mass of an interval, the truncated normal's log pdf and quantile. */
#include "hpo_truncnorm.h"

#include <float.h>
#include <math.h>

#include "hpo_tpe.h"

#define LOG_2PI 1.83787706640934548356065947281124

static double log_ndtr(double z)
{
    if (z > 6)
        return log1p(-hpo_truncnorm_ndtr(-z));
    if (z > -20)
        return log(hpo_truncnorm_ndtr(z));
    /* Asymptotic series of log Phi for the far left tail. */
    double log_lhs = -0.5 * z * z - log(-z) - HPO_LOG_SQRT_2PI;
    double last = 0, rhs = 1, numerator = 1, denom_factor = 1, denom_cons = 1 / (z * z);
    double sign = 1;
    for (int i = 1; i < 200 && fabs(last - rhs) > DBL_EPSILON; i++) {
        last = rhs;
        sign = -sign;
        denom_factor *= denom_cons;
        numerator *= 2 * i - 1;
        rhs += sign * numerator * denom_factor;
    }
    return log_lhs + log(rhs);
}

static double log_diff(double lp, double lq)
{
    return lp + log1p(-exp(lq - lp));
}

static double logaddexp(double x, double y)
{
    if (x == -INFINITY)
        return y;
    if (y == -INFINITY)
        return x;
    double m = x > y ? x : y;
    return m + log1p(exp(-fabs(x - y)));
}

double hpo_tpe_log_gauss_mass(double a, double b)
{
    /* Work in the left tail, where Phi is accurate; the centre uses the complement. */
    if (b <= 0)
        return log_diff(log_ndtr(b), log_ndtr(a));
    if (a > 0)
        return log_diff(log_ndtr(-a), log_ndtr(-b));
    return log1p(-hpo_truncnorm_ndtr(a) - hpo_truncnorm_ndtr(-b));
}

double hpo_tpe_truncnorm_log_pdf(double z, double a, double b)
{
    if (!(a < b))
        return NAN;
    if (z < a || z > b)
        return -INFINITY;
    return -0.5 * z * z - HPO_LOG_SQRT_2PI - hpo_tpe_log_gauss_mass(a, b);
}

/* Acklam's rational approximation of the normal quantile for p in (0, 0.5]: ~1e-9 relative,
 * refined by Newton steps in ndtri_exp. */
static double ndtri_guess(double p)
{
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00, 2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00 };
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* x with log Phi(x) = y (y <= 0), accurate in both tails. */
static double ndtri_exp(double y)
{
    if (isnan(y))
        return NAN;
    if (y >= 0)
        return 40; /* Phi(x) rounds to 1: beyond any bound a caller can have */
    double x;
    if (y < -700) {
        double x0 = -sqrt(-2 * y);
        x = -sqrt(fmax(-2 * y - 2 * log(-x0) - LOG_2PI, 0));
    } else if (y > -0.6931471805599453) {
        x = -ndtri_guess(-expm1(y));
    } else {
        x = ndtri_guess(exp(y));
    }
    /* Newton on the concave log Phi: quadratic convergence from a close start. */
    for (int i = 0; i < 30; i++) {
        double lp = log_ndtr(x);
        double slope = exp(-0.5 * x * x - HPO_LOG_SQRT_2PI - lp);
        if (!(slope > 0) || !isfinite(slope))
            break;
        double dx = (lp - y) / slope;
        x -= dx;
        if (fabs(dx) <= 1e-15 * (1 + fabs(x)))
            break;
    }
    return x;
}

/* Quantile of the standard normal truncated to [a, b], given log_mass = log_gauss_mass(a, b). */
double hpo_truncnorm_ppf(double q, double a, double b, double log_mass)
{
    if (q <= 0)
        return a;
    if (q >= 1)
        return b;
    double x;
    if (a < 0)
        x = ndtri_exp(logaddexp(log_ndtr(a), log(q) + log_mass));
    else
        x = -ndtri_exp(logaddexp(log_ndtr(-b), log1p(-q) + log_mass));
    if (isnan(x))
        x = 0.5 * (a + b);
    return x < a ? a : x > b ? b : x;
}

double hpo_tpe_truncnorm_ppf(double q, double a, double b)
{
    if (!(a < b))
        return NAN;
    return hpo_truncnorm_ppf(q, a, b, hpo_tpe_log_gauss_mass(a, b));
}
