/* Small dense linear algebra for decoding, through LAPACKE. Everything is
 * double: B_F is small (k x |F|) and the SVD-based solvers stay stable on the
 * rank-deficient and ill-conditioned systems that straggler patterns produce,
 * where normal equations would square the condition number. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

double ct_binomial(int n, int r) {
    if (r < 0 || r > n) return 0.0;
    if (r > n - r) r = n - r;
    double v = 1.0;
    for (int i = 1; i <= r; i++) v = v * (n - r + i) / i;
    return floor(v + 0.5);
}

/* Column-major k x f matrix whose column q is row F[q] of B (so A = B_F^T). */
static int ct_gather_BF(const ct_code *c, const uint64_t *arrived, double *A, int *slots) {
    int f = 0;
    for (int t = 0; t < c->total; t++) {
        if (!ct_mask_test(arrived, t)) continue;
        memcpy(A + (size_t)f * c->k, c->B + (size_t)t * c->k, (size_t)c->k * sizeof(double));
        slots[f++] = t;
    }
    return f;
}

ct_status ct_code_lstsq(const ct_code *c, const uint64_t *arrived, const double *target, double *coeffs,
                        double *cond) {
    int k = c->k;
    int f = ct_code_slots_arrived(c, arrived);
    for (int t = 0; t < c->total; t++) coeffs[t] = 0.0;
    if (cond) *cond = 0.0;
    if (f == 0) return CT_OK;
    int ldb = k > f ? k : f;
    int mn = k < f ? k : f;
    double *A = malloc((size_t)k * f * sizeof(double));
    double *b = malloc((size_t)ldb * sizeof(double));
    double *sv = malloc((size_t)mn * sizeof(double));
    int *slots = malloc((size_t)f * sizeof(int));
    if (!A || !b || !sv || !slots) {
        free(A); free(b); free(sv); free(slots);
        return CT_FAIL(CT_ERR_NOMEM, "decode: out of memory for a %d x %d least-squares system", k, f);
    }
    ct_gather_BF(c, arrived, A, slots);
    for (int j = 0; j < ldb; j++) b[j] = j < k ? (target ? target[j] : 1.0) : 0.0;
    lapack_int rank = 0;
    /* B holds float data: singular values below CT_CODE_RCOND * sigma_max are
     * rounding noise, and keeping them would blow the coefficients up */
    lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, k, f, 1, A, k, b, ldb, sv, CT_CODE_RCOND, &rank);
    ct_status st = CT_OK;
    if (info != 0) {
        st = CT_FAIL(CT_ERR_NUMERIC, "decode: LAPACKE_dgelsd failed (info=%d) on a %d x %d system", (int)info, k, f);
    } else {
        for (int q = 0; q < f; q++) coeffs[slots[q]] = b[q];
        if (cond) *cond = rank > 0 ? sv[0] / sv[rank - 1] : INFINITY;
    }
    free(A); free(b); free(sv); free(slots);
    return st;
}

ct_status ct_code_rank_recoverable(const ct_code *c, const uint64_t *arrived, unsigned char *flags) {
    int k = c->k;
    memset(flags, 0, (size_t)k);
    int f = ct_code_slots_arrived(c, arrived);
    if (f == 0) return CT_OK;
    int mn = k < f ? k : f;
    double *A = malloc((size_t)k * f * sizeof(double));
    double *U = malloc((size_t)k * mn * sizeof(double));
    double *sv = malloc((size_t)mn * sizeof(double));
    double *superb = malloc((size_t)(mn > 1 ? mn : 2) * sizeof(double));
    int *slots = malloc((size_t)f * sizeof(int));
    ct_status st = CT_OK;
    if (!A || !U || !sv || !superb || !slots) {
        st = CT_FAIL(CT_ERR_NOMEM, "rank: out of memory for a %d x %d matrix", k, f);
        goto done;
    }
    ct_gather_BF(c, arrived, A, slots);
    /* the left singular vectors of B_F^T with nonzero singular value span the
     * row space of B_F; e_j lies in it iff its projection has norm 1 */
    lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'S', 'N', k, f, A, k, sv, U, k, NULL, 1, superb);
    if (info != 0) {
        st = CT_FAIL(CT_ERR_NUMERIC, "rank: LAPACKE_dgesvd failed (info=%d)", (int)info);
        goto done;
    }
    int rank = 0;
    for (int r = 0; r < mn; r++) rank += sv[r] > CT_CODE_RCOND * sv[0];
    for (int j = 0; j < k; j++) {
        double p = 0.0;
        for (int r = 0; r < rank; r++) p += U[j + (size_t)r * k] * U[j + (size_t)r * k];
        flags[j] = p > 1.0 - 1e-6;
    }
done:
    free(A); free(U); free(sv); free(superb); free(slots);
    return st;
}

ct_status ct_code_support_lambda2(const ct_code *c, double *lambda2) {
    int n = c->n, k = c->k, mn = n < k ? n : k;
    *lambda2 = 0.0;
    if (mn < 2) return CT_OK;
    double *A = calloc((size_t)n * k, sizeof(double));
    double *sv = malloc((size_t)mn * sizeof(double));
    double *superb = malloc((size_t)mn * sizeof(double));
    if (!A || !sv || !superb) {
        free(A); free(sv); free(superb);
        return CT_FAIL(CT_ERR_NOMEM, "lambda2: out of memory (%d x %d)", n, k);
    }
    for (int i = 0; i < n; i++) /* column-major n x k */
        for (int j = 0; j < c->load[i]; j++) A[i + (size_t)c->parts[c->part_off[i] + j] * n] = 1.0;
    lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', n, k, A, n, sv, NULL, 1, NULL, 1, superb);
    ct_status st = CT_OK;
    if (info != 0) st = CT_FAIL(CT_ERR_NUMERIC, "lambda2: LAPACKE_dgesvd failed (info=%d)", (int)info);
    else *lambda2 = sv[1];
    free(A); free(sv); free(superb);
    return st;
}
