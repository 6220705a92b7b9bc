/* codedtrain gradient codes: who computes what, with which coefficients, and
 * how the master decodes from whichever messages arrived. Pure host C; no
 * device memory. Every algorithm is described in docs/schemes.md.
 *
 * Vocabulary (DESIGN.md): n workers, k data partitions, worker i holds d_i
 * partitions (its load) and sends m_i messages; message l of worker i is
 *   y_il = sum_j E_i[l, j] * g_{parts_i[j]}
 * Every message has a global slot index (ct_code_message_index); arrivals are a
 * bitmask over slots, ct_code_mask_words() uint64_t words, bit b of word b/64.
 * B is the (total messages) x k matrix of all encoding rows; F the arrived
 * slots; decoding finds a with a^T B_F close to (or equal to) 1^T.
 *
 * A ct_code is not thread-safe: one master thread decodes. Queries on a
 * const code are safe from any thread once created. */
#ifndef CODEDTRAIN_CODES_H
#define CODEDTRAIN_CODES_H

#include <stdint.h>

#include "codedtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_code_scheme {
    CT_CODE_UNCODED = 0,   /* k = n, worker i holds {i}, wait for all */
    CT_CODE_IGNORE,        /* k = n, wait for the fastest n - s, a = n/|F| */
    CT_CODE_FREP,          /* fractional repetition, (s+1) | n */
    CT_CODE_CYCLIC,        /* cyclic repetition, Tandon's random H */
    CT_CODE_CYCLIC_MDS,    /* cyclic support, deterministic real Fourier H (docs/schemes.md) */
    CT_CODE_EXPANDER,      /* d-regular bipartite expander, fixed/optimal decode */
    CT_CODE_BGC,           /* Bernoulli(d/n) assignment, optimal decode */
    CT_CODE_SGC,           /* stochastic gradient coding, a = 1/(d(1-p)) */
    CT_CODE_ERASUREHEAD,   /* frep assignment, early stop, one reply per group */
    CT_CODE_ALPHA_SUBSET,  /* partial recovery: subset design meeting the bound */
    CT_CODE_ALPHA_CYCLIC,  /* partial recovery: cyclic k = n, m = 1..d */
    CT_CODE_LDGM,          /* low-weight sparse code, peeling decoder */
    CT_CODE_FREP_MDS,      /* frep groups plus small MDS blocks: exact for every n, d = s+1 */
    CT_CODE_SCHEME_COUNT
} ct_code_scheme;

typedef enum ct_code_decoder {
    CT_DECODER_DEFAULT = 0, /* the scheme's own choice (see docs/schemes.md) */
    CT_DECODER_FIXED,       /* expander/bgc: a = n/(|F| d); ldgm: peeling only */
    CT_DECODER_OPTIMAL      /* expander/bgc: least squares; ldgm: peeling then rank completion */
} ct_code_decoder;

/* Decode outcome. */
typedef enum ct_decode_status {
    CT_DECODE_EXACT = 0,    /* a^T B_F = 1 (to rounding): the full gradient sum */
    CT_DECODE_APPROX,       /* an approximate or partial gradient (see residual) */
    CT_DECODE_NONE          /* not decodable under the scheme's rule (an exact code
                               short of arrivals); coefficients are a best effort */
} ct_decode_status;

#define CT_CODE_SPEC_VERSION 1

/* Everything a code is built from. Start from CT_CODE_SPEC_INIT and set what
 * you need; 0 means "the scheme's default" for load, messages, weight, wait. */
typedef struct ct_code_spec {
    int version;            /* CT_CODE_SPEC_VERSION */
    ct_code_scheme scheme;
    int n_workers;          /* n >= 1 */
    int stragglers;         /* s, 0 <= s < n: stragglers the code is designed for */
    int load;               /* d: partitions per worker (0: scheme default, usually s+1) */
    int messages;           /* m: messages per worker (0: scheme default, usually 1) */
    double alpha;           /* partial recovery target in (0,1] (alpha schemes only; 0 = unset) */
    uint64_t seed;          /* random constructions (cyclic, expander, bgc, sgc, ldgm) */
    ct_code_decoder decoder;
    double straggle_prob;   /* sgc: p in [0,1); < 0 = default s/n */
    int ldgm_weight;        /* ldgm: units per worker w (0: load, else 3) */
    int wait_count;         /* erasurehead: arrivals after which it stops (0: n - s) */
} ct_code_spec;

#define CT_CODE_SPEC_INIT                                                                      \
    {                                                                                          \
        .version = CT_CODE_SPEC_VERSION, .scheme = CT_CODE_UNCODED, .n_workers = 0,            \
        .stragglers = 0, .load = 0, .messages = 0, .alpha = 0.0, .seed = 1,                    \
        .decoder = CT_DECODER_DEFAULT, .straggle_prob = -1.0, .ldgm_weight = 0, .wait_count = 0 \
    }

typedef struct ct_code ct_code;

/* Result of one decode. Pointers are owned by the code and stay valid until
 * the next ct_code_decode / ct_code_cache_clear / ct_code_destroy on it. */
typedef struct ct_decode_result {
    const float *coeffs;          /* one per message slot; 0 for non-arrived slots */
    ct_decode_status status;
    double residual;              /* ||a^T B_F - 1||_2 / sqrt(k) (see residual_max) */
    double recovered_fraction;    /* fraction of partitions recovered: exactly recovered
                                     (when `recovered` != NULL), else with nonzero weight */
    const unsigned char *recovered; /* k flags (partial-recovery and peeling schemes), or NULL */
    int n_arrived;                /* arrived message slots */
    double condition;             /* 2-norm condition number of the solved B_F (0: no solve) */
    int cache_hit;                /* 1 when served from the pattern cache */
    double residual_max;          /* max_j |a^T B_F - 1|_j; both residuals use the float32
                                     coefficients above, as the runtime applies them */
} ct_decode_result;

/* ---- schemes ---- */
const char *ct_code_scheme_name(ct_code_scheme scheme); /* "cyclic-mds"; "?" if unknown */
ct_status ct_code_scheme_parse(const char *name, ct_code_scheme *out);
/* 1 for schemes whose decode is exact for every <= s straggler set */
int ct_code_scheme_is_exact(ct_code_scheme scheme);

/* ---- lifetime ---- */
/* Validates the whole spec; CT_ERR_INVALID_ARG with a message naming the
 * parameter and the violated constraint (e.g. "frep: (s+1)=3 must divide n=8"). */
ct_status ct_code_create(const ct_code_spec *spec, ct_code **out);
void ct_code_destroy(ct_code *code);

/* ---- queries (cheap; invalid worker/index gives -1 or NULL) ---- */
const ct_code_spec *ct_code_get_spec(const ct_code *code); /* with defaults resolved */
ct_code_scheme ct_code_get_scheme(const ct_code *code);
int ct_code_n_workers(const ct_code *code);
int ct_code_n_partitions(const ct_code *code);  /* k */
int ct_code_stragglers(const ct_code *code);    /* s */
int ct_code_is_exact(const ct_code *code);
int ct_code_load(const ct_code *code, int worker);              /* d_i */
int ct_code_max_load(const ct_code *code);                      /* max_i d_i */
const int *ct_code_partitions(const ct_code *code, int worker); /* d_i partition ids */
int ct_code_messages(const ct_code *code, int worker);          /* m_i */
int ct_code_max_messages(const ct_code *code);
/* E_i, m_i x d_i row-major: column j multiplies partition ct_code_partitions(i)[j] */
const float *ct_code_encoding(const ct_code *code, int worker);
int ct_code_message_index(const ct_code *code, int worker, int l); /* global slot */
int ct_code_message_worker(const ct_code *code, int slot);         /* inverse: worker of a slot */
int ct_code_total_messages(const ct_code *code);
int ct_code_mask_words(const ct_code *code); /* ceil(total messages / 64) */
/* The promised bound on ||a^T B_F - 1||_2 (unnormalised) of the default decoder
 * with `stragglers` missing workers, or a negative value when the scheme makes
 * none. Expander: (lambda/d) sqrt(n s/(n-s)); exact schemes: 0 for s <= design s. */
double ct_code_residual_bound(const ct_code *code, int stragglers);
/* Expander/sgc/ldgm graphs: second singular value of the 0/1 assignment (lambda). */
double ct_code_lambda2(const ct_code *code);

/* ---- arrivals ---- */
static inline void ct_mask_set(uint64_t *mask, int slot) { mask[slot >> 6] |= 1ull << (slot & 63); }
static inline int ct_mask_test(const uint64_t *mask, int slot) { return (int)((mask[slot >> 6] >> (slot & 63)) & 1u); }
/* Set the bits of every message of `worker` (mask must have mask_words words). */
ct_status ct_code_mask_add_worker(const ct_code *code, int worker, uint64_t *mask);

/* ---- decoding ---- */
/* Decoding coefficients for the arrived slots. Repeated patterns are served
 * from a cache keyed by the bitmask. Bits beyond the total are ignored. */
ct_status ct_code_decode(ct_code *code, const uint64_t *arrived, ct_decode_result *out);
/* Cheap stopping rule for the master (no solve):
 *  exact schemes: 1 when an exact decode is possible (uncoded: all; frep: every
 *    group covered; cyclic/cyclic-mds/alpha-free exact: >= n - s workers fully
 *    arrived, or a cached exact decode of this pattern);
 *  erasurehead: every group covered, or >= wait_count workers arrived;
 *  ignore/expander/bgc/sgc: >= n - s workers arrived;
 *  alpha schemes: the scheme's own rule (>= n - s workers arrived);
 *  ldgm: peeling recovers every partition, or >= n - s workers arrived. */
int ct_code_decodable(const ct_code *code, const uint64_t *arrived);
void ct_code_cache_stats(const ct_code *code, uint64_t *hits, uint64_t *misses);
void ct_code_cache_clear(ct_code *code);

/* ---- measured label (src/codes/verify.c) ----
 * An exact code is labelled exact for its (n, s) only when every straggler set
 * of size <= s that was tested decodes with max_j |a^T B_F - 1| <= tolerance
 * (float32 coefficients, the runtime's decoder). Exhaustive when the number of
 * such sets is <= max_sets; else max_sets sets: contiguous runs of stragglers,
 * a hill climb towards worse conditioning from the worst set found, and random
 * sets (seeded). Uses the pattern cache and leaves it cleared (hit counters
 * kept). Codes that are approximate by design report verified_exact = 0 and
 * test nothing. */
#define CT_VERIFY_SHOW 64
typedef struct ct_code_verify_report {
    int verified_exact;       /* 1: no tested set failed (and the code is exact by design) */
    int exhaustive;           /* 1: every set of size <= s was tested */
    double total_sets;        /* sum_{K <= s} C(n, K) */
    long sets_tested, adversarial_sets, random_sets, failures;
    double tolerance;         /* on max_j |a^T B_F - 1| */
    double worst_residual_max;/* over tested sets */
    double worst_condition;   /* largest condition number of a solved system (0: none) */
    int worst_set_size;       /* the worst set found (first CT_VERIFY_SHOW workers) */
    int worst_set[CT_VERIFY_SHOW];
} ct_code_verify_report;
ct_status ct_code_verify(ct_code *code, long max_sets, uint64_t seed, ct_code_verify_report *report);
/* sum_{K <= s} C(n, K), saturating near 1e18 */
double ct_code_verify_total_sets(int n, int s);

/* ---- incremental peeling (asynchronous decoding; any code, meant for ldgm) ----
 * Messages are added as they arrive; each call reports the partitions that
 * became decodable. Partition u decoded from slot t (worker i, row l) is
 *   g_u = (y_t - sum_{j != u} E_i[l, j] g_{parts_i[j]}) / E_i[l, u's column]
 * where every other partition of that row was decoded earlier. */
typedef struct ct_peeler ct_peeler;
ct_status ct_peeler_create(const ct_code *code, ct_peeler **out);
void ct_peeler_destroy(ct_peeler *p);
void ct_peeler_reset(ct_peeler *p);
/* units / from_slot: caller arrays of capacity k; *n_new = newly decoded count,
 * in decoding order (a unit may depend on units earlier in the list). */
ct_status ct_peeler_add(ct_peeler *p, int slot, int *units, int *from_slot, int *n_new);
int ct_peeler_recovered_count(const ct_peeler *p);
const unsigned char *ct_peeler_recovered(const ct_peeler *p); /* k flags */

/* ---- partial recovery bound (src/codes/bound.c) ----
 * Minimum normalised computation load l = sum_r r w_r over storage profiles w
 * with sum_r w_r C(s,r)/C(n,r) <= 1 - alpha (SCHEMES.md, exact LP). */
ct_status ct_code_alpha_lower_bound(int n, int s, double alpha, double *load_out);
/* Smallest normalised load (mean copies per partition; = d when k = n) with
 * which `scheme` (alpha-subset or alpha-cyclic; messages m as given, 0 = scheme
 * default) recovers >= alpha of the partitions for every s-set;
 * *load_out = -1 when no load <= n does. */
ct_status ct_code_alpha_min_load(ct_code_scheme scheme, int n, int s, double alpha, int messages,
                                 double *load_out);

#ifdef __cplusplus
}
#endif
#endif
