/* hpo_qmc: Sobol' and Halton points, plain or scrambled, one coordinate at a time. */
#include "hpo_qmc.h"

#include <math.h>

#include "hpo_rng.h"

#define BITS HPO_QMC_SOBOL_BITS

/* Each scrambled dimension draws from a stream of its own. */
static void dim_stream(hpo_rng *r, uint64_t seed, size_t dim)
{
    hpo_rng_seed(r, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(dim + 1)));
}

/* The direction numbers of a dimension, v[j] = m_j * 2^(BITS - 1 - j), m_j from Bratley and
 * Fox's recurrence over the dimension's primitive polynomial x^s + a_1 x^(s-1) + ... + 1:
 * m_j = 2 a_1 m_(j-1) ^ 4 a_2 m_(j-2) ^ ... ^ 2^(s-1) a_(s-1) m_(j-s+1) ^ 2^s m_(j-s) ^ m_(j-s). */
static void sobol_directions(size_t dim, uint32_t v[BITS])
{
    uint32_t m[BITS];
    uint32_t poly = hpo_sobol_poly[dim];
    int s = 0;
    while ((poly >> (s + 1)) != 0)
        s++;
    for (int j = 0; j < BITS; j++) {
        if (s == 0) {
            m[j] = 1; /* the first dimension: van der Corput in base 2 */
        } else if (j < s) {
            m[j] = hpo_sobol_minit[dim][j];
        } else {
            uint32_t x = m[j - s] ^ (m[j - s] << s);
            for (int k = 1; k < s; k++)
                if ((poly >> (s - k)) & 1u)
                    x ^= m[j - k] << k;
            m[j] = x;
        }
        v[j] = m[j] << (BITS - 1 - j);
    }
}

/* Matousek's linear matrix scramble and a digital shift: digit r of every direction number
 * (r = 0 the most significant) becomes the XOR of digits c <= r picked by a random lower
 * triangular matrix with a unit diagonal; the point is then XORed with random digits. */
static uint32_t sobol_scramble(uint32_t v[BITS], uint64_t seed, size_t dim)
{
    hpo_rng r;
    dim_stream(&r, seed, dim);
    uint32_t rows[BITS]; /* row r: the digits c <= r it takes, as bits at BITS - 1 - c */
    for (int row = 0; row < BITS; row++) {
        uint32_t below = (uint32_t)hpo_rng_u64(&r) & ((1u << BITS) - 1);
        uint32_t upper = ~0u << (BITS - 1 - row); /* digits 0 .. row */
        rows[row] = (below & upper) | (1u << (BITS - 1 - row));
    }
    for (int j = 0; j < BITS; j++) {
        uint32_t x = 0;
        for (int row = 0; row < BITS; row++)
            if (__builtin_parity(v[j] & rows[row]))
                x |= 1u << (BITS - 1 - row);
        v[j] = x;
    }
    return (uint32_t)hpo_rng_u64(&r) & ((1u << BITS) - 1);
}

/* The directions of a dimension and its digital shift (0 unscrambled). */
static uint32_t sobol_setup(const hpo_qmc *q, size_t dim, uint32_t v[BITS])
{
    sobol_directions(dim, v);
    return q->scramble ? sobol_scramble(v, q->seed, dim) : 0;
}

static double sobol_at(const uint32_t v[BITS], uint32_t x, uint64_t index)
{
    uint64_t gray = index ^ (index >> 1); /* scipy's order: point k XORs the directions of k's
                                           * Gray code */
    for (int j = 0; j < BITS && gray; j++, gray >>= 1)
        if (gray & 1u)
            x ^= v[j];
    return ldexp((double)x, -BITS);
}

static double sobol(const hpo_qmc *q, size_t dim, uint64_t index)
{
    uint32_t v[BITS];
    uint32_t shift = sobol_setup(q, dim, v);
    return sobol_at(v, shift, index);
}

/* The radical inverse of index in the dimension's prime base; scrambled, digit d at position j
 * (leading zeros included, down to a double's resolution) becomes (a_j d + c_j) mod base with
 * random a_j != 0 and c_j. */
static double halton(const hpo_qmc *q, size_t dim, uint64_t index)
{
    uint32_t base = hpo_qmc_primes[dim];
    double x = 0, f = 1.0 / base;
    if (!q->scramble) {
        for (; index; index /= base, f /= base)
            x += f * (double)(index % base);
        return x;
    }
    hpo_rng r;
    dim_stream(&r, q->seed, dim);
    int digits = (int)ceil(53.0 / log2((double)base));
    for (int j = 0; j < digits; j++, index /= base, f /= base) {
        uint64_t a = 1 + hpo_rng_below(&r, base - 1), c = hpo_rng_below(&r, base);
        x += f * (double)((a * (index % base) + c) % base);
    }
    return x < 1.0 ? x : nextafter(1.0, 0.0);
}

double hpo_qmc_coord(const hpo_qmc *q, size_t dim, uint64_t index)
{
    if (dim >= HPO_QMC_MAX_DIMS)
        return 0.5; /* callers stay below; a value inside the cube all the same */
    return q->type == HPO_QMC_HALTON ? halton(q, dim, index) : sobol(q, dim, index);
}

void hpo_qmc_fill(const hpo_qmc *q, size_t dim, uint64_t first, size_t count, double *ret,
                  size_t stride)
{
    if (dim >= HPO_QMC_MAX_DIMS || q->type == HPO_QMC_HALTON) {
        for (size_t k = 0; k < count; k++)
            ret[k * stride] = hpo_qmc_coord(q, dim, first + k);
        return;
    }
    uint32_t v[BITS];
    uint32_t shift = sobol_setup(q, dim, v);
    for (size_t k = 0; k < count; k++)
        ret[k * stride] = sobol_at(v, shift, first + k);
}
