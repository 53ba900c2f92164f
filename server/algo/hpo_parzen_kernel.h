/* hpo_parzen_kernel: the numeric kernels of the Parzen estimator (hpo_parzen_kernel.c), private
 * to server/algo: e^x on [-700, 0] for log-sum-exps, vector loops over component arrays, and the
 * standard normal's log mass on a grid cell. They know nothing of mixtures. Pure: no I/O. */
#ifndef HPO_PARZEN_KERNEL_H
#define HPO_PARZEN_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PZ_SERIES_TERMS 7
#define SERIES_MAX_H 0.1 /* cells narrower than this many sigmas: by series */

/* 2^(j/64), j = 0..63, correctly rounded. */
extern const double hpo_parzen_exp2_64[64];

/* Well inside the bounds a component's mass is 1 - O(1e-17): no erfc needed. */
static inline bool hpo_parzen_interior(double za, double zb)
{
    return za < -8.5 && zb > 8.5;
}

/* e^x for x in [-700, 0], branch-free (the log-sum-exp's inner loop): x = (64 m + j) ln2/64 + r
 * with |r| <= ln2/128; e^r by its Taylor series to degree 5 (error < 4e-17). Inline: it is
 * called per component in the density's sums. */
static inline double hpo_parzen_exp_nonpos(double x)
{
    const double shift = 0x1.8p52;
    x = x < -700 ? -700 : x;
    double kd = x * 0x1.71547652b82fep+6 + shift;
    uint64_t ki;
    memcpy(&ki, &kd, sizeof(ki));
    kd -= shift;
    /* ln2/64 split so that kd * hi is exact */
    double r = x - kd * 0x1.62e42fefa0000p-7 - kd * 0x1.cf79abc9e3b3ap-46;
    double r2 = r * r;
    double p = (1 + r) + r2 * (0.5 + r * (1.0 / 6)) + r2 * r2 * (1.0 / 24 + r * (1.0 / 120));
    uint64_t bits = ((ki >> 6) + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof(scale));
    return hpo_parzen_exp2_64[ki & 63] * scale * p;
}

/* row[k] -= (z^2 / 2 + lm[k]) (lm NULL: 0) with z = (t - mu[k]) inv, for k < n: a joint
 * estimator's dim at one candidate. */
void hpo_parzen_rows_sub_sq(double *row, const double *mu, const double *lm, double t,
                            double inv, size_t n);
/* sum of a[k] e^(-z^2/2), z = (t - mu[k]) is[k], over k in [lo, hi): a sorted mixture's window
 * (two partial sums, even and odd k, added last: the same with and without SSE2). */
double hpo_parzen_gauss_sum(const double *mu, const double *is, const double *a, double t,
                            size_t lo, size_t hi);

/* log of the normal's mass on a grid cell [za, zb] (standardised), by direct differences of
 * Phi on the tail side, falling back to the log-space form where they would underflow. */
double hpo_parzen_cell_log_mass(double za, double zb);
/* Cells much narrower than the bandwidth (h = q / sigma <= SERIES_MAX_H, h |z| <= 1): the log
 * mass on [z - h/2, z + h/2] by its expansion around the midpoint; series_coefs gives the
 * PZ_SERIES_TERMS + 1 coefficients of the series for h, cell_log_mass_series evaluates it. */
void hpo_parzen_series_coefs(double h, double *b);
double hpo_parzen_cell_log_mass_series(double z, const double *b, double log_h);

/* The last Phi(-|z|) computed: neighbouring grid components share a cell edge (the same z,
 * bit for bit, for ints), so walking them in order needs one erfc per component. Start it at
 * { NAN, 0 }. */
typedef struct {
    double z, p;
} pz_ndtr_memo;

/* hpo_parzen_cell_log_mass with the tails through the memo (the same branches and values). */
double hpo_parzen_cell_log_mass_memo(double za, double zb, pz_ndtr_memo *memo);

#endif
