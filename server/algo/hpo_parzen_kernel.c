/* hpo_parzen_kernel: the numeric kernels of the Parzen estimator's density, over plain arrays
 * and knowing nothing of mixtures: e^x for the log-sum-exp (branch-free, with an SSE2 twin
 * giving identical results), the joint estimator's squared distances and the windowed sum
 * of Gaussian peaks over arrays (SSE2 where available), and the normal's log mass on a grid
 * cell: by differences of Phi, by a series for narrow cells, and through a memo of the last
 * tail computed for components walked in order. Pure: no I/O, no allocation. */
#include "hpo_parzen_kernel.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hpo_tpe.h"
#include "hpo_truncnorm.h"

const double hpo_parzen_exp2_64[64] = {
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
    __m128d tab = _mm_set_pd(hpo_parzen_exp2_64[k1 & 63], hpo_parzen_exp2_64[k0 & 63]);
    return _mm_mul_pd(_mm_mul_pd(tab, _mm_castsi128_pd(bits)), p);
}
#endif

/* row[k] -= (z^2 / 2 + lm[k]) (lm NULL: 0) with z = (t - mu[k]) inv, for k < n: a joint
 * estimator's dim at one candidate. */
void hpo_parzen_rows_sub_sq(double *row, const double *mu, const double *lm, double t,
                            double inv, size_t n)
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
double hpo_parzen_cell_log_mass(double za, double zb)
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

void hpo_parzen_series_coefs(double h, double *b)
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
           (1 + y2 * (1.0 / 3 +
                      y2 * (1.0 / 5 + y2 * (1.0 / 7 + y2 * (1.0 / 9 + y2 * (1.0 / 11))))));
}

double hpo_parzen_cell_log_mass_series(double z, const double *b, double log_h)
{
    double w = z * z;
    double sum = b[7];
    for (int j = PZ_SERIES_TERMS - 1; j >= 0; j--)
        sum = sum * w + b[j];
    double lg = fabs(sum) <= 0.05 ? log1p_small(sum) : log1p(sum);
    return log_h - HPO_LOG_SQRT_2PI - 0.5 * w + lg;
}

/* sum of a[k] e^(-z^2/2), z = (t - mu[k]) is[k], over k in [lo, hi) */
double hpo_parzen_gauss_sum(const double *mu, const double *is, const double *a, double t,
                            size_t lo, size_t hi)
{
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
        s0 += a[k] * hpo_parzen_exp_nonpos(-0.5 * (z0 * z0));
        s1 += a[k + 1] * hpo_parzen_exp_nonpos(-0.5 * (z1 * z1));
    }
#endif
    for (; k < hi; k++) {
        double z = (t - mu[k]) * is[k];
        s0 += a[k] * hpo_parzen_exp_nonpos(-0.5 * (z * z));
    }
    return s0 + s1;
}

static double ndtr_tail(double z, pz_ndtr_memo *memo)
{
    double x = -fabs(z);
    if (x != memo->z) {
        memo->z = x;
        memo->p = hpo_truncnorm_ndtr(x);
    }
    return memo->p;
}

/* cell_log_mass with the tails through the memo (the same branches and values). */
double hpo_parzen_cell_log_mass_memo(double za, double zb, pz_ndtr_memo *memo)
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
