/* codedtrain: the partial-recovery ("alpha fraction") lower bound and the
 * recovery analysis of the alpha schemes (docs/schemes.md, "Partial recovery").
 * Pure C, no allocation visible to the caller; every fallible call returns
 * ct_status with a message naming the failed constraint. */
#ifndef CODEDTRAIN_CODES_BOUND_H
#define CODEDTRAIN_CODES_BOUND_H

#include <stdint.h>

#include "codedtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C(s,r)/C(n,r): the probability that a partition stored on r workers is lost
 * (all r copies straggle) under a uniformly random set of s stragglers.
 * 0 when r > s; 1 when r == 0. Requires 0 <= s <= n, 0 <= r <= n (else 0). */
double ct_alpha_loss_prob(int n, int s, int r);

/* Optimum of the lower-bound LP
 *   minimise l = sum_r r w_r  s.t.  sum_r w_r C(s,r)/C(n,r) <= 1 - alpha,
 *   sum_r w_r = 1, w_r >= 0, r = 1..n
 * (w_r: fraction of the data stored on exactly r workers). */
typedef struct ct_alpha_bound {
    double load;   /* minimum normalized computation load (= d when k = n) */
    int r1, r2;    /* the optimum mixes r1 and r2 (r2 = r1 + 1; r2 = r1 when pure) */
    double w1, w2; /* data fractions stored on exactly r1 / r2 workers, w1 + w2 = 1 */
    double lost;   /* sum_r w_r C(s,r)/C(n,r) at the optimum (<= 1 - alpha) */
} ct_alpha_bound;

/* Exact LP optimum via the closed form (the points (r, C(s,r)/C(n,r)) are
 * convex and decreasing in r, so the optimum mixes two consecutive r).
 * CT_ERR_INVALID_ARG unless n >= 1, 0 <= s < n, 0 < alpha <= 1. */
ct_status ct_alpha_bound_solve(int n, int s, double alpha, ct_alpha_bound *out);

/* The same optimum by a generic exact method: every basic feasible solution of
 * the LP (one r alone, or any pair r1 < r2 with the loss constraint tight) is
 * enumerated and the cheapest kept. O(n^2); used to check the closed form. */
ct_status ct_alpha_bound_solve_vertices(int n, int s, double alpha, ct_alpha_bound *out);

/* The partial-recovery schemes (src/codes/alpha.c). */
typedef enum ct_alpha_scheme {
    CT_ALPHA_SCHEME_SUBSET = 0, /* one partition per r-subset of workers, m = d */
    CT_ALPHA_SCHEME_CYCLIC,     /* k = n, worker i holds {i..i+d-1}, m messages */
    CT_ALPHA_SCHEME_COUNT
} ct_alpha_scheme;

/* Worst-case and mean recovered fraction of alpha-cyclic (k = n, window d,
 * m messages per worker; m = 0 means the scheme default m = 1, m > d is
 * clamped to d, so m = n means "every partition separately") over the
 * straggler sets of exactly s workers, with the disjoint-support decoder.
 * Exhaustive when n <= 16 (over one representative per rotation, which is
 * exact by the scheme's cyclic symmetry); otherwise `trials` seeded random sets
 * plus contiguous and evenly spaced sets, then `trials` steps of an adversarial
 * walk from the worst of them (then `worst` is an estimate from above, and
 * `mean` averages the uniform random sets only). Either output may be NULL. */
ct_status ct_alpha_cyclic_recovery(int n, int s, int d, int m, long trials, uint64_t seed,
                                   double *worst, double *mean);

/* Smallest computation load with which `scheme` recovers at least an alpha
 * fraction for every set of s stragglers among n workers:
 *  - subset: the normalized load n d / k of the equal-size-partition design
 *    that ct_code_create builds (ct_alpha_subset_plan): equal to the LP bound
 *    when its weights are rational with a small enough denominator, slightly
 *    above otherwise; -1 when that design needs more partitions than a code
 *    may have;
 *  - cyclic: the smallest integer d in 1..n whose worst-case recovered fraction
 *    (ct_alpha_cyclic_recovery with m, trials, seed) is >= alpha; -1 if none.
 * CT_ERR_INVALID_ARG on bad (n, s, alpha, m, scheme). */
ct_status ct_alpha_min_load(ct_alpha_scheme scheme, int n, int s, double alpha, int m,
                            long trials, uint64_t seed, double *load);

/* The alpha-subset design realised with equal-size partitions: q1 copies of a
 * partition per r1-subset of workers and q2 per r2-subset (r2 = r1 + 1, or
 * q2 = 0), so that the storage profile w_r1 = q1 C(n,r1)/k approximates the LP
 * optimum from the feasible side. Every s-set of stragglers loses exactly
 * `lost_parts` = q1 C(s,r1) + q2 C(s,r2) partitions. */
typedef struct ct_alpha_subset_design {
    int r1, r2, q1, q2;
    int k;          /* q1 C(n,r1) + q2 C(n,r2) partitions */
    int d;          /* partitions per worker: q1 C(n-1,r1-1) + q2 C(n-1,r2-1) */
    int lost_parts; /* partitions lost to any s-set of stragglers */
    double load;    /* mean copies per partition = n d / k (>= the LP bound) */
    double alpha;   /* recovered fraction on every s-set: 1 - lost_parts / k */
} ct_alpha_subset_design;

/* Cheapest design (least load, then least k) with alpha' >= alpha and
 * k <= max_parts (<= 0: the library's limit, which keeps the dense B of a
 * built code under CT_CODE_MAX_B_ENTRIES; at most 4096). It equals the LP bound whenever the LP weights are rational
 * with a small enough denominator. CT_ERR_INVALID_ARG when even the pure r2
 * design needs more than max_parts partitions (the message gives the count). */
ct_status ct_alpha_subset_plan(int n, int s, double alpha, int max_parts,
                               ct_alpha_subset_design *out);

/* Disjoint-support decoder of alpha-cyclic on explicit arrivals, usable
 * without a ct_code: arrived[i*m + l] != 0 when message l of worker i arrived
 * (m as resolved: 1 <= m <= d). Writes coeffs[n*m] (k/|R| on the chosen
 * messages, 0 elsewhere), recovered[n] flags, and *n_recovered = |R|.
 * Any output may be NULL. */
ct_status ct_alpha_cyclic_decode_flags(int n, int d, int m, const unsigned char *arrived,
                                       float *coeffs, unsigned char *recovered, int *n_recovered);

/* Used by bound.c: *ok = 1 when the worst-case recovered fraction of
 * alpha-cyclic(n, d, m) over s-sets is >= alpha (stops at the first set
 * below it; same enumeration as ct_alpha_cyclic_recovery). */
ct_status ct_alpha_cyclic_reaches(int n, int s, int d, int m, double alpha, long trials,
                                  uint64_t seed, int *ok);

/* "alpha-subset" / "alpha-cyclic"; NULL for an unknown value. */
const char *ct_alpha_scheme_name(ct_alpha_scheme scheme);

#ifdef __cplusplus
}
#endif
#endif
