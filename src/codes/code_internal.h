/* Internal contract of the gradient-code library (src/codes). Not installed.
 *
 * HOW A SCHEME PLUGS IN (one scheme = one file, src/codes/<scheme>.c):
 *
 *  1. ct_code_create (code.c) validates the generic spec (version, scheme, n,
 *     0 <= s < n, 0 <= d <= n, m >= 0, alpha 0 or in (0,1], p < 1, ...),
 *     copies it into c->spec, sets c->n and c->s, then calls the scheme's
 *     build hook  ct_status ct_code_build_<scheme>(ct_code *c).
 *
 *  2. The build hook
 *     - validates its own constraints and returns
 *       CT_FAIL(CT_ERR_INVALID_ARG, "<scheme>: <param>=<v> <constraint>") on failure;
 *     - resolves defaults into c->spec (load, messages, alpha, ...) so that
 *       ct_code_get_spec reports what was built;
 *     - calls ct_code_layout(c, k, load[], msgs[]) once, then fills, for every
 *       worker i, CT_PARTS(c,i)[0..d_i) (distinct partition ids in [0,k)) and
 *       CT_ENC(c,i) (m_i x d_i row-major floats);
 *     - sets c->exact (1 = every <= s straggler set decodes exactly);
 *     - optionally sets c->decode / c->decodable hooks (NULL = generic: least
 *       squares towards 1 and ">= n - s workers fully arrived"), c->lambda2,
 *       c->bound_kind, and c->scheme_data + c->scheme_free for private state.
 *     The build hook must free nothing of the core's on failure: ct_code_destroy
 *     (called by create on failure) frees layout and scheme_data.
 *
 *  3. After the hook, the core checks the layout (ids in range, distinct per
 *     worker, finite coefficients), builds the dense B (c->B, double,
 *     total x k row-major) and the cache.
 *
 *  4. Decoding: ct_code_decode looks the bitmask up in the cache; on a miss it
 *     zeroes an ct_decode_out and calls c->decode (or the generic least-squares
 *     decoder). The hook writes coefficients for arrived slots, sets status
 *     (CT_DECODE_EXACT / APPROX / NONE) and, for partial-recovery or peeling
 *     schemes, the per-partition `recovered` flags with has_recovered = 1.
 *     Hooks are also called with no slots arrived (they must not divide by
 *     the arrival count then). The core then computes the residual ||a^T B_F - 1|| / sqrt(k) and the
 *     recovered fraction (from the flags when has_recovered, else from nonzero
 *     weight of a^T B_F), converts to float and caches.
 *
 *  For the partial-recovery engineer: ct_code_build_alpha_subset/_alpha_cyclic
 *  and their decode hooks live in src/codes/alpha*.c; ct_code_alpha_lower_bound
 *  and ct_code_alpha_min_load (codes.h) in src/codes/bound.c. Helpers below
 *  (ct_code_lstsq, ct_code_peel, ct_code_rank_recoverable, ct_binomial) are
 *  yours to use. alpha_stub_weak.c holds weak placeholders that your strong
 *  definitions override; delete it once yours exist.
 */
#ifndef CT_CODE_INTERNAL_H
#define CT_CODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "codedtrain/codes.h"
#include "codedtrain/rng.h"
#include "codedtrain/status.h"

/* Limits that keep every dense matrix small (B is total x k doubles). */
#define CT_CODE_MAX_WORKERS 4096
#define CT_CODE_MAX_B_ENTRIES (1u << 24)
/* |a^T B_F - 1|_inf below this upgrades an approximate code's decode to exact. */
#define CT_CODE_EXACT_TOL 1e-5
/* An exact code's decode is exact when max_j |a^T B_F - 1| <= this, with a the
 * float32 coefficients the runtime uses and B_F the float32 encodings
 * (docs/schemes.md, "Decoding exact codes"); also the tolerance of the
 * measured label (ct_code_verify). */
#define CT_CODE_EXACT_LOOSE_TOL 1e-4
/* singular values below this fraction of the largest are float noise */
#define CT_CODE_RCOND 1e-6

/* What a decode hook produces. Arrays are zeroed by the core before the call. */
typedef struct ct_decode_out {
    double *coeffs;           /* [total]: write arrived slots only */
    unsigned char *recovered; /* [k]: exactly recovered partitions (partial / peeling) */
    int has_recovered;        /* set to 1 when `recovered` is meaningful */
    ct_decode_status status;  /* hook decides; generic decoder uses residual */
    double condition;         /* optional, 0 = unknown */
} ct_decode_out;

typedef ct_status (*ct_code_decode_fn)(ct_code *c, const uint64_t *arrived, ct_decode_out *out);
typedef int (*ct_code_decodable_fn)(const ct_code *c, const uint64_t *arrived);

/* which promise ct_code_residual_bound reports */
typedef enum ct_code_bound_kind {
    CT_BOUND_NONE = 0,   /* no promise */
    CT_BOUND_EXACT,      /* 0 for <= s stragglers, none beyond */
    CT_BOUND_EXPANDER    /* (lambda2/d) sqrt(n s/(n-s)) */
} ct_code_bound_kind;

struct ct_code_cache; /* code.c */

struct ct_code {
    ct_code_spec spec; /* defaults resolved by the build hook */
    int n, k, s;
    int exact;
    /* exact codes decoded by the generic exact solver: the number of arrived
     * messages it keeps (cyclic: n - s); 0 = least squares */
    int exact_rank;

    /* layout (ct_code_layout) */
    int *load;       /* [n] d_i */
    int *part_off;   /* [n+1] offsets into parts */
    int *parts;      /* partition ids */
    int *msgs;       /* [n] m_i */
    int *msg_off;    /* [n+1] global slot of (i, 0) */
    int *slot_worker;/* [total] */
    size_t *enc_off; /* [n+1] offsets into enc */
    float *enc;      /* E_i blocks */
    int total;       /* total message slots */
    int mask_words;

    double *B; /* [total x k] row-major, built by the core after the build hook */

    /* scheme hooks and state */
    ct_code_decode_fn decode;
    ct_code_decodable_fn decodable;
    void *scheme_data;
    void (*scheme_free)(void *);
    double lambda2;
    ct_code_bound_kind bound_kind;

    /* decode cache and scratch (code.c) */
    struct ct_code_cache *cache;
    uint64_t cache_hits, cache_misses;
};

static inline int *CT_PARTS(ct_code *c, int i) { return c->parts + c->part_off[i]; }
static inline float *CT_ENC(ct_code *c, int i) { return c->enc + c->enc_off[i]; }

/* ---- build hooks, one per scheme file ---- */
ct_status ct_code_build_uncoded(ct_code *c);      /* uncoded.c */
ct_status ct_code_build_ignore(ct_code *c);       /* uncoded.c */
ct_status ct_code_build_frep(ct_code *c);         /* frep.c */
ct_status ct_code_build_erasurehead(ct_code *c);  /* frep.c */
ct_status ct_code_build_cyclic(ct_code *c);       /* cyclic.c */
ct_status ct_code_build_cyclic_mds(ct_code *c);   /* cyclic_mds.c */
ct_status ct_code_build_expander(ct_code *c);     /* expander.c */
ct_status ct_code_build_bgc(ct_code *c);          /* bgc.c */
ct_status ct_code_build_sgc(ct_code *c);          /* sgc.c */
ct_status ct_code_build_ldgm(ct_code *c);         /* ldgm.c */
ct_status ct_code_build_frep_mds(ct_code *c);     /* frep_mds.c */
ct_status ct_code_build_alpha_subset(ct_code *c); /* alpha.c (partial engineer) */
ct_status ct_code_build_alpha_cyclic(ct_code *c); /* alpha.c (partial engineer) */
/* decode hooks for the alpha family (set as c->decode by their build hooks) */
ct_status ct_code_decode_alpha_subset(ct_code *c, const uint64_t *arrived, ct_decode_out *out);
ct_status ct_code_decode_alpha_cyclic(ct_code *c, const uint64_t *arrived, ct_decode_out *out);

/* ---- helpers for build hooks (code.c) ---- */
/* Allocate the layout for k partitions; load[i] = d_i >= 1, msgs[i] = m_i >= 1.
 * parts are set to -1 and enc to 0; the hook fills both. */
ct_status ct_code_layout(ct_code *c, int k, const int *load, const int *msgs);
/* Same load d and messages m for every worker. */
ct_status ct_code_layout_uniform(ct_code *c, int k, int d, int m);

/* ---- helpers for decode hooks and tests (code.c / linalg.c / peel.c) ---- */
/* Number of workers all of whose message slots arrived. */
int ct_code_workers_arrived(const ct_code *c, const uint64_t *arrived);
int ct_code_slots_arrived(const ct_code *c, const uint64_t *arrived);
/* Min-norm least squares of B_F^T a = target (target: k values, NULL = ones),
 * via LAPACKE_dgelsd (SVD; stable, rank-deficient safe). Writes coeffs[total]
 * (0 outside F), *cond = sigma_max/sigma_min over the nonzero singular values
 * (may be NULL). */
ct_status ct_code_lstsq(const ct_code *c, const uint64_t *arrived, const double *target,
                        double *coeffs, double *cond);
/* Exact decode (linalg.c): a over the f arrived `slots` with a^T B = 1 on the
 * kc partitions `parts`, keeping the `want` most independent messages (QR with
 * column pivoting), solved in double with no singular value cut and one step
 * of iterative refinement. Writes coeffs[slots[q]] only; *cond = the 2-norm
 * condition number of the kept system (may be NULL). */
ct_status ct_code_solve_exact(const ct_code *c, const int *slots, int f, const int *parts, int kc, int want,
                              double *coeffs, double *cond);
/* Peeling: flags[k] set for every partition recovered by peeling the arrived
 * rows; coeffs[total] (may be NULL) receives a with a^T B_F = 1_recovered. */
ct_status ct_code_peel(const ct_code *c, const uint64_t *arrived, unsigned char *flags,
                       double *coeffs);
/* flags[k]: partition j recoverable from B_F (e_j in the row space of B_F),
 * by a rank computation (SVD, tolerance 1e-9 relative). */
ct_status ct_code_rank_recoverable(const ct_code *c, const uint64_t *arrived, unsigned char *flags);
/* Residual ||a^T B_F - 1||_2 (unnormalised) of coefficients a[total]. */
double ct_code_residual_of(const ct_code *c, const uint64_t *arrived, const double *a);
/* Shared by cyclic.c and cyclic_mds.c: given H (s x n, row-major, H 1 = 0),
 * fill the cyclic layout (k = n, d = s+1, m = 1): row i supported on
 * {i, ..., i+s} mod n with B[i,i] = 1 and H b_i = 0 (Tandon et al.). */
ct_status ct_code_cyclic_fill_from_H(ct_code *c, const double *H);
/* Shared by expander.c, sgc.c: the d offsets (in [0,n)) of a circulant
 * assignment, worker i holds {i + o mod n}; picks the best of `tries` random
 * sets by `objective` (0: smallest lambda2, 1: flattest pairwise overlap). */
ct_status ct_code_circulant_offsets(int n, int d, uint64_t seed, int tries, int objective, int *offsets,
                                    double *lambda2);
/* C(n, r) as double (exact for the sizes used here); 0 when r < 0 or r > n. */
double ct_binomial(int n, int r);
/* Second-largest singular value of the 0/1 support of B (n x k), via dgesdd. */
ct_status ct_code_support_lambda2(const ct_code *c, double *lambda2);

#endif
