/* Seeded, portable random numbers shared by every module (codes, data, init,
 * straggler models). Header-only so that pure-C modules stay dependency-free.
 * xoshiro256** for streams; splitmix64 for seeding and counter-based hashing
 * (same (seed, counter) -> same value on any thread, backend or run). */
#ifndef CODEDTRAIN_RNG_H
#define CODEDTRAIN_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct ct_rng { uint64_t s[4]; } ct_rng;

static inline uint64_t ct_splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* counter-based: a pure function of (seed, counter) */
static inline uint64_t ct_hash64(uint64_t seed, uint64_t counter) {
    return ct_splitmix64(seed ^ ct_splitmix64(counter + 0x632BE59BD9B4E019ull));
}

static inline void ct_rng_seed(ct_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) { x = ct_splitmix64(x); r->s[i] = x; }
}

static inline uint64_t ct_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t ct_rng_u64(ct_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = ct_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ct_rng_rotl(s[3], 45);
    return result;
}

/* uniform double in [0, 1) with 53 random bits */
static inline double ct_rng_uniform(ct_rng *r) { return (double)(ct_rng_u64(r) >> 11) * 0x1.0p-53; }

/* a GCC/Clang extension; __extension__ keeps -pedantic users of this header quiet */
__extension__ typedef unsigned __int128 ct_rng_u128;

/* uniform integer in [0, n), n >= 1 (Lemire's nearly-divisionless, unbiased) */
static inline uint64_t ct_rng_below(ct_rng *r, uint64_t n) {
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = ct_rng_u64(r);
        ct_rng_u128 m = (ct_rng_u128)x * n;
        if ((uint64_t)m >= threshold) return (uint64_t)(m >> 64);
    }
}

/* standard normal (Box-Muller; one value per call, deterministic) */
static inline double ct_rng_normal(ct_rng *r) {
    double u1 = ct_rng_uniform(r), u2 = ct_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* exponential with the given mean */
static inline double ct_rng_exponential(ct_rng *r, double mean) {
    double u = ct_rng_uniform(r);
    return -mean * log1p(-u);
}

#endif
