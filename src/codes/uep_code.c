/* UEP matmul codes: the packets' coefficient rows (NOW, EW, EEP, uncoded) and
 * the decoder. The decoder is one rule for every code: block b is recoverable
 * from the arrived rows G iff e_b lies in the row space of G, i.e. iff every
 * null vector of G vanishes at b; then (pinv(G) Y)_b = (P_row x)_b = x_b,
 * exactly. An SVD gives both the rank/null space and the pseudo-inverse, and
 * stays stable on the rank-deficient systems that missing packets produce. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/uep.h"

/* singular values below this fraction of the largest are treated as zero;
 * coefficients are O(1) Gaussians, so a true rank drop sits at ~1e-16 and
 * generic systems far above */
#define UEP_RCOND 1e-9
/* |null-space component| of a block below this counts as zero (recoverable) */
#define UEP_NULL_TOL 1e-6

ct_status ct_uep_draw_packets(ct_uep_scheme scheme, const ct_uep_params *params, int n_blocks, int n_workers,
                              ct_rng *rng, double *coeffs, int *window) {
    CT_TRY(ct_uep_params_check(params, n_blocks));
    if (!rng || !coeffs) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: draw_packets got a NULL argument");
    if (n_workers < 0 || n_workers > CT_UEP_MAX_WORKERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: workers=%d must be between 0 and %d", n_workers, CT_UEP_MAX_WORKERS);
    int L = params->n_classes;
    int Kend[CT_UEP_MAX_CLASSES]; /* K_l: end of class l's block range */
    for (int l = 0, s = 0; l < L; l++) Kend[l] = (s += params->k[l]);
    int K = Kend[L - 1];
    memset(coeffs, 0, (size_t)n_workers * K * sizeof(double));
    for (int i = 0; i < n_workers; i++) {
        double *row = coeffs + (size_t)i * K;
        int l = L - 1, b0 = 0, b1 = K;
        switch (scheme) {
        case CT_UEP_NOW:
        case CT_UEP_EW: {
            double u = ct_rng_uniform(rng), acc = 0;
            /* the last window with positive probability absorbs rounding in sum(gamma) */
            while (l > 0 && params->gamma[l] == 0) l--;
            for (int t = 0; t < L; t++) {
                acc += params->gamma[t];
                if (u < acc && params->gamma[t] > 0) { l = t; break; }
            }
            b0 = scheme == CT_UEP_NOW && l > 0 ? Kend[l - 1] : 0;
            b1 = Kend[l];
            break;
        }
        case CT_UEP_EEP: break;
        case CT_UEP_UNCODED:
            b0 = i % K;
            b1 = b0 + 1;
            for (l = 0; Kend[l] <= b0; l++) {}
            break;
        default: return CT_FAIL(CT_ERR_INVALID_ARG, "uep: scheme %d unknown", (int)scheme);
        }
        if (scheme == CT_UEP_UNCODED) row[b0] = 1.0;
        else
            for (int b = b0; b < b1; b++) row[b] = ct_rng_normal(rng);
        if (window) window[i] = l;
    }
    return CT_OK;
}

ct_status ct_uep_decode_matrix(const double *G, int n_arr, int n_blocks, double *D, unsigned char *recovered,
                               int *rank) {
    if (!D || !recovered || (n_arr > 0 && !G)) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: decode got a NULL argument");
    if (n_blocks < 1 || n_blocks > CT_UEP_MAX_BLOCKS || n_arr < 0 || n_arr > CT_UEP_MAX_WORKERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: decode sizes n_arr=%d n_blocks=%d out of range", n_arr, n_blocks);
    int K = n_blocks, m = n_arr;
    memset(D, 0, (size_t)K * (m > 0 ? m : 1) * sizeof(double));
    memset(recovered, 0, (size_t)K);
    if (rank) *rank = 0;
    if (m == 0) return CT_OK;
    int mn = m < K ? m : K;
    double *a = malloc((size_t)m * K * sizeof(double));
    double *s = malloc((size_t)mn * sizeof(double));
    double *U = malloc((size_t)m * mn * sizeof(double));
    double *VT = malloc((size_t)K * K * sizeof(double));
    double *superb = malloc((size_t)(mn > 1 ? mn : 2) * sizeof(double));
    ct_status st = CT_OK;
    if (!a || !s || !U || !VT || !superb) {
        st = CT_FAIL(CT_ERR_NOMEM, "uep: out of memory decoding %d x %d", m, K);
        goto done;
    }
    for (size_t t = 0; t < (size_t)m * K; t++) {
        if (!isfinite(G[t])) {
            st = CT_FAIL(CT_ERR_NUMERIC, "uep: decode: non-finite coefficient");
            goto done;
        }
        a[t] = G[t];
    }
    lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'A', m, K, a, K, s, U, mn, VT, K, superb);
    if (info != 0) {
        st = CT_FAIL(CT_ERR_NUMERIC, "uep: decode: LAPACKE_dgesvd failed (info=%d) on %d x %d", (int)info, m, K);
        goto done;
    }
    int r = 0;
    while (r < mn && s[r] > UEP_RCOND * s[0]) r++;
    if (rank) *rank = r;
    for (int b = 0; b < K; b++) {
        /* rows r..K-1 of VT span the null space of G */
        double null2 = 0;
        for (int i = r; i < K; i++) null2 += VT[(size_t)i * K + b] * VT[(size_t)i * K + b];
        if (r == 0 || sqrt(null2) > UEP_NULL_TOL) continue;
        recovered[b] = 1;
        /* row b of pinv(G) = sum_i V[b,i] / s_i U[:,i]^T */
        for (int i = 0; i < r; i++) {
            double f = VT[(size_t)i * K + b] / s[i];
            for (int q = 0; q < m; q++) D[(size_t)b * m + q] += f * U[(size_t)q * mn + i];
        }
    }
done:
    free(a);
    free(s);
    free(U);
    free(VT);
    free(superb);
    return st;
}

ct_status ct_uep_decode(const double *G, const double *Y, int n_arr, int n_blocks, size_t block_len, double *X,
                        unsigned char *recovered) {
    if (!X || (n_arr > 0 && !Y)) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: decode got a NULL argument");
    if (block_len == 0 || block_len > (size_t)1 << 31)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: decode block_len=%zu out of range", block_len);
    if (n_blocks < 1 || n_blocks > CT_UEP_MAX_BLOCKS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: decode n_blocks=%d out of range", n_blocks);
    double *D = malloc((size_t)n_blocks * (n_arr > 0 ? n_arr : 1) * sizeof(double));
    if (!D) return CT_FAIL(CT_ERR_NOMEM, "uep: out of memory for a %d x %d decoding matrix", n_blocks, n_arr);
    ct_status st = ct_uep_decode_matrix(G, n_arr, n_blocks, D, recovered, NULL);
    if (st == CT_OK) {
        memset(X, 0, (size_t)n_blocks * block_len * sizeof(double));
        if (n_arr > 0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n_blocks, (int)block_len, n_arr, 1.0, D, n_arr, Y,
                        (int)block_len, 0.0, X, (int)block_len);
    }
    free(D);
    return st;
}

void ct_uep_class_flags(const ct_uep_params *params, const unsigned char *recovered, unsigned char *class_ok) {
    for (int l = 0, b = 0; l < params->n_classes; l++) {
        class_ok[l] = 1;
        for (int t = 0; t < params->k[l]; t++, b++)
            if (!recovered[b]) class_ok[l] = 0;
    }
}
