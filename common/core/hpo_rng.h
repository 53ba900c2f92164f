/* hpo_rng: a small seedable PRNG (xoshiro256**, seeded through splitmix64); plain value type. */
#ifndef HPO_RNG_H
#define HPO_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } hpo_rng;

void hpo_rng_seed(hpo_rng *r, uint64_t seed);
uint64_t hpo_rng_u64(hpo_rng *r);
double hpo_rng_uniform(hpo_rng *r);               /* [0, 1) */
uint64_t hpo_rng_below(hpo_rng *r, uint64_t n);   /* [0, n), unbiased; n > 0 */
double hpo_rng_normal(hpo_rng *r);                /* standard normal */
/* A seed from the clock, the pid and a counter: for studies without a fixed seed. */
uint64_t hpo_rng_entropy(void);

#endif
