/* hpo_qmc: low-discrepancy points in [0, 1)^d, as scipy.stats.qmc draws them for Optuna's
 * QMCSampler: Sobol' (Joe and Kuo's direction numbers, 30 bits, points in Gray-code order) and
 * Halton (dimension i in the i-th prime base), plain or scrambled from a seed. Pure. */
#ifndef HPO_QMC_H
#define HPO_QMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the dimensions of either sequence (tables: hpo_qmc_sobol.c, hpo_qmc_primes.c) */
#define HPO_QMC_MAX_DIMS 1024
#define HPO_QMC_SOBOL_DEGREE 13   /* the largest degree of the Sobol' polynomials there */
#define HPO_QMC_SOBOL_BITS 30     /* Sobol': points up to 2^30, coordinates in steps of 2^-30 */

extern const uint32_t hpo_sobol_poly[HPO_QMC_MAX_DIMS];
extern const uint16_t hpo_sobol_minit[HPO_QMC_MAX_DIMS][HPO_QMC_SOBOL_DEGREE];
extern const uint32_t hpo_qmc_primes[HPO_QMC_MAX_DIMS];

typedef enum { HPO_QMC_SOBOL, HPO_QMC_HALTON } hpo_qmc_type;

typedef struct {
    hpo_qmc_type type;
    bool scramble; /* Sobol': a random linear matrix scramble and digital shift per dimension;
                    * Halton: a random linear permutation of the digits at each position */
    uint64_t seed; /* the scramble's (unused without one) */
} hpo_qmc;

/* Coordinate `dim` (< HPO_QMC_MAX_DIMS) of point `index` (0, 1, ...; Sobol' below 2^30). Point 0
 * of a plain sequence is the origin. The same (q, dim, index) give the same number. */
double hpo_qmc_coord(const hpo_qmc *q, size_t dim, uint64_t index);

/* The same numbers for `count` consecutive points at once: ret[k * stride] = hpo_qmc_coord(q,
 * dim, first + k). A Sobol' dimension's directions and scramble are made once for the batch, not
 * once per point (what a sampler scoring thousands of candidates needs). */
void hpo_qmc_fill(const hpo_qmc *q, size_t dim, uint64_t first, size_t count, double *ret,
                  size_t stride);

#endif
