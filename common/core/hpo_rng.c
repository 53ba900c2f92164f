/* hpo_rng: xoshiro256** seeded through splitmix64, with uniform, bounded, normal draws and a
 * seed taken from the environment for studies without a fixed seed. */
#include "hpo_rng.h"

#include <math.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void hpo_rng_seed(hpo_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t hpo_rng_u64(hpo_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double hpo_rng_uniform(hpo_rng *r)
{
    return (double)(hpo_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t hpo_rng_below(hpo_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Reject the first 2^64 mod n values so every residue is equally likely. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = hpo_rng_u64(r);
        if (x >= threshold)
            return x % n;
    }
}

double hpo_rng_normal(hpo_rng *r)
{
    /* Marsaglia's polar method; the second variate is dropped to keep the state a plain value. */
    for (;;) {
        double u = 2.0 * hpo_rng_uniform(r) - 1.0;
        double v = 2.0 * hpo_rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * log(s) / s);
    }
}

uint64_t hpo_rng_entropy(void)
{
    static atomic_uint_fast64_t counter;
    struct timespec rt = { 0 }, mono = { 0 };
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    uint64_t x = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
    uint64_t h = splitmix64(&x);
    x ^= (uint64_t)mono.tv_sec * 1000000000ULL + (uint64_t)mono.tv_nsec;
    h ^= splitmix64(&x);
    x ^= (uint64_t)getpid() << 32;
    h ^= splitmix64(&x);
    x ^= atomic_fetch_add(&counter, 1);
    h ^= splitmix64(&x);
    return h;
}
