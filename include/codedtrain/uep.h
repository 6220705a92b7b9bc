/* UEP-coded approximate matrix multiplication (src/codes/uep*.c).
 *
 * After Tegin, Hernandez, Rini, Duman, "Straggler mitigation through unequal
 * error protection for distributed approximate matrix multiplication",
 * IEEE JSAC 40(2), 2022. docs/schemes.md (UEP section) has the formulas and
 * says which parts are the paper's and which are ours.
 *
 * The product C = A B is split into n_blocks block products C_b, numbered in
 * decreasing estimated importance, so that class l is the contiguous range of
 * blocks [K_{l-1}, K_l) with K_l = k_0 + ... + k_l. Each worker returns one
 * packet Y = sum_b w_b C_b (computed as one block-weighted GEMM). Codes:
 *   NOW      packet picks window l ~ Gamma, Gaussian weights on class l only;
 *   EW       packet picks window l ~ Gamma, Gaussian weights on classes 0..l;
 *   EEP      Gaussian weights on every block (MDS-like equal protection);
 *   UNCODED  worker i computes block (i mod n_blocks) alone, weight 1.
 * The decoder recovers every block in the row space of the arrived
 * coefficients and zeros the rest.
 *
 * Pure host code, double precision, no device memory. Every call returns a
 * ct_status; nothing exits. */
#ifndef CODEDTRAIN_UEP_H
#define CODEDTRAIN_UEP_H

#include <stddef.h>
#include <stdint.h>

#include "codedtrain/rng.h"
#include "codedtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CT_UEP_MAX_CLASSES 8
#define CT_UEP_MAX_BLOCKS 64
#define CT_UEP_MAX_WORKERS 4096

typedef enum ct_uep_paradigm {
    CT_UEP_RXC = 0, /* rows of A x columns of B: parts^2 blocks C_ij = A_i B_j */
    CT_UEP_CXR = 1  /* columns of A x rows of B: C = sum_m A[:,m] B[m,:], parts blocks */
} ct_uep_paradigm;

typedef enum ct_uep_scheme {
    CT_UEP_NOW = 0,
    CT_UEP_EW = 1,
    CT_UEP_EEP = 2,
    CT_UEP_UNCODED = 3,
    CT_UEP_SCHEME_COUNT
} ct_uep_scheme;

const char *ct_uep_scheme_name(ct_uep_scheme s); /* "uep-now", "uep-ew", "eep", "uncoded" */
const char *ct_uep_paradigm_name(ct_uep_paradigm p); /* "rxc", "cxr" */

/* Class sizes and window probabilities. */
typedef struct ct_uep_params {
    int n_classes;                    /* L, 1..CT_UEP_MAX_CLASSES */
    int k[CT_UEP_MAX_CLASSES];        /* blocks per class, each >= 1 */
    double gamma[CT_UEP_MAX_CLASSES]; /* window probabilities, >= 0, summing to 1 */
} ct_uep_params;

/* CT_ERR_INVALID_ARG naming the parameter unless L in range, every k_l >= 1,
 * every gamma_l >= 0 and finite, |sum gamma - 1| <= 1e-6, and (n_blocks > 0)
 * sum k == n_blocks. n_blocks = 0 skips the last check. */
ct_status ct_uep_params_check(const ct_uep_params *p, int n_blocks);

/* ---- partitioning ---- */

/* A's rows and B's columns (rxc) or A's columns and B's rows (cxr) sorted by
 * mean |entry| and split into `parts` near-equal groups; blocks ranked by the
 * estimate ||A_part|| ||B_part|| (computable before multiplying) and cut into
 * classes by k. Holds sorted copies of A and B. */
typedef struct ct_uep_partition {
    ct_uep_paradigm paradigm;
    int rows, inner, cols; /* A is rows x inner, B inner x cols, row-major */
    int parts;             /* groups per split side */
    int n_blocks;          /* rxc: parts^2, cxr: parts */
    int n_classes;
    int out_rows, out_cols;        /* shape of a block product / packet (rxc: zero padded) */
    int *row_order;                /* [rows] sorted position -> original row of A (identity for cxr) */
    int *col_order;                /* [cols] sorted position -> original column of B (identity for cxr) */
    int *inner_order;              /* [inner] sorted position -> original inner index (identity for rxc) */
    int *row_start, *col_start;    /* [parts+1] group boundaries (rxc; cxr: 0, rows / 0, cols) */
    int *inner_start;              /* [parts+1] part boundaries (cxr; rxc: 0, inner) */
    int block_a[CT_UEP_MAX_BLOCKS];  /* rxc: A row group of block b; cxr: inner part of b */
    int block_b[CT_UEP_MAX_BLOCKS];  /* rxc: B column group of block b; cxr: same as block_a */
    int block_class[CT_UEP_MAX_BLOCKS];
    double importance[CT_UEP_MAX_BLOCKS]; /* the estimate the ranking used (decreasing in b) */
    double *A_sorted; /* rows x inner: rows (rxc) or columns (cxr) permuted */
    double *B_sorted; /* inner x cols: columns (rxc) or rows (cxr) permuted */
} ct_uep_partition;

ct_status ct_uep_partition_build(const double *A, const double *B, int rows, int inner, int cols,
                                 ct_uep_paradigm paradigm, int parts, const ct_uep_params *params,
                                 ct_uep_partition **out);
void ct_uep_partition_free(ct_uep_partition *p);

/* Block-weighted GEMM: out (out_rows x out_cols) = sum_b w[b] C_b, skipping
 * zero weights. This is what one worker computes. */
ct_status ct_uep_packet_compute(const ct_uep_partition *p, const double *w, double *out);

/* The exact product C = A B (rows x cols, original row/column order) from the
 * partition's sorted copies, in one GEMM independent of the block machinery, and
 * ||C||_F^2 (> 0, else CT_ERR_INVALID_ARG: the normalized error is undefined).
 * scratch holds rows x cols doubles. */
ct_status ct_uep_reference_product(const ct_uep_partition *p, double *scratch, double *C, double *norm2);

/* C_hat (rows x cols, original index order) from block estimates X
 * (n_blocks x out_rows*out_cols) of which only blocks with have[b] != 0 count. */
ct_status ct_uep_assemble(const ct_uep_partition *p, const double *X, const unsigned char *have,
                          double *C_hat);

/* Gram matrix of the block products as placed in C (n_blocks x n_blocks):
 * gram[b][b'] = <C_b, C_b'>_F. Diagonal for rxc (blocks tile C); for cxr the
 * blocks overlap and the off-diagonal terms are the cross energies. */
ct_status ct_uep_block_gram(const ct_uep_partition *p, double *gram);

/* Random A (rows x inner) and B (inner x cols) whose groups have different
 * scales, in shuffled order so that partitioning has to find them:
 * rxc: A's rows and B's columns fall in n_groups equal groups, entries
 * N(0, variances[g]); cxr: the inner dimension is split into `parts` parts,
 * part m belongs to group m * n_groups / parts, and A's column / B's row
 * entries of that part are N(0, variances[g]). */
ct_status ct_uep_random_matrices(ct_uep_paradigm paradigm, int rows, int inner, int cols, int parts,
                                 int n_groups, const double *variances, ct_rng *rng, double *A,
                                 double *B);

/* ---- encoding and decoding ---- */

/* Coefficients of n_workers packets: coeffs (n_workers x n_blocks), window
 * (n_workers; may be NULL) gets the chosen window (EEP: L-1, uncoded: the
 * class of the block). */
ct_status ct_uep_draw_packets(ct_uep_scheme scheme, const ct_uep_params *params, int n_blocks,
                              int n_workers, ct_rng *rng, double *coeffs, int *window);

/* Decoding matrix for the arrived coefficient rows G (n_arr x n_blocks):
 * D (n_blocks x n_arr) with D G e_b = e_b for every recovered block b, and
 * zero rows for the others; recovered[b] = 1 iff e_b lies in the row space of
 * G (equivalently every null vector of G vanishes at b), tested with an SVD.
 * rank (may be NULL) gets rank(G). n_arr = 0 is fine (nothing recovered). */
ct_status ct_uep_decode_matrix(const double *G, int n_arr, int n_blocks, double *D,
                               unsigned char *recovered, int *rank);

/* X (n_blocks x block_len) = D Y for the arrived packets Y (n_arr x block_len),
 * rows of unrecovered blocks zero. */
ct_status ct_uep_decode(const double *G, const double *Y, int n_arr, int n_blocks, size_t block_len,
                        double *X, unsigned char *recovered);

/* class_ok[l] = 1 iff every block of class l is recovered. */
void ct_uep_class_flags(const ct_uep_params *params, const unsigned char *recovered,
                        unsigned char *class_ok);

/* ---- analysis ---- */

/* Probability of each pattern of decoded classes (p_mask has 2^L entries;
 * bit l = class l decoded) with n_workers workers, each of whose packet
 * arrives independently with probability p_arrive. Exact for generic
 * (Gaussian) coefficients: NOW class l iff >= k_l arrived packets of window l;
 * EW by the rank recursion R_l = min(R_{l-1} + n_l, K_l), classes 0..m decoded
 * for the largest m with R_m = K_m; EEP all iff >= n_blocks arrived; uncoded
 * independent per class. For "given N_arr arrived packets" pass
 * n_workers = N_arr and p_arrive = 1. */
ct_status ct_uep_pattern_probs(ct_uep_scheme scheme, const ct_uep_params *params, int n_workers,
                               double p_arrive, double *p_mask);

/* Per-class decoding probabilities and (when gram is not NULL) the expected
 * normalized error E||C - C_hat||^2 / ||C||^2 = sum over blocks b, b' of
 * P(b and b' both missing) gram[b][b'] / sum gram (exact: on rxc this is
 * sum_l P(class l lost) energy_l / ||C||^2). nmse may be NULL. */
ct_status ct_uep_analyze(ct_uep_scheme scheme, const ct_uep_params *params, int n_workers,
                         double p_arrive, const double *gram, double *p_class, double *nmse);

/* Probability that a worker's packet arrives by the deadline under
 * exponential latency: 1 - exp(-lambda T). */
double ct_uep_p_arrive(double lambda, double deadline);

/* ---- Monte Carlo ---- */

typedef struct ct_uep_sim_config {
    int n_workers;
    double lambda;   /* exponential latency rate, > 0 */
    double deadline; /* T >= 0 */
    int trials;
    uint64_t seed;
} ct_uep_sim_config;

typedef struct ct_uep_sim_result {
    double p_class[CT_UEP_MAX_CLASSES]; /* fraction of trials that decoded class l */
    double nmse;                        /* mean ||C - C_hat||^2 / ||C||^2, measured */
    double nmse_se;                     /* its standard error */
    double mean_arrived;                /* mean packets that arrived */
} ct_uep_sim_result;

/* Monte Carlo with real packets: every trial draws each worker's latency
 * (shared by all schemes of the trial), draws the code's coefficients,
 * computes the arrived packets with ct_uep_packet_compute, decodes with
 * ct_uep_decode, assembles C_hat and measures ||C - C_hat||_F^2 / ||C||_F^2
 * against C = A B computed directly. results has n_schemes entries. */
ct_status ct_uep_simulate(const ct_uep_partition *p, const ct_uep_params *params,
                          const ct_uep_scheme *schemes, int n_schemes, const ct_uep_sim_config *cfg,
                          ct_uep_sim_result *results);

#ifdef __cplusplus
}
#endif
#endif
