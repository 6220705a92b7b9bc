/* UEP block GEMM, backend-independent parts: argument validation (shared by
 * the CPU and CUDA ops, so both reject the same inputs with the same message)
 * and the reference formulation through the backend's gemm op. */
#include <math.h>
#include <stdint.h>

#include "kernels/backend.h"

/* [first, last) byte range of a rows x cols row-major matrix with leading dim ld */
static void extent(const float *p, long long rows, long long cols, long long ld, uintptr_t *lo, uintptr_t *hi) {
    *lo = (uintptr_t)p;
    *hi = (uintptr_t)(p + (rows - 1) * ld + cols);
}
static int overlaps(uintptr_t a0, uintptr_t a1, uintptr_t b0, uintptr_t b1) { return a0 < b1 && b0 < a1; }

ct_status ct_uep_check_args(const char *who, ct_uep_layout layout, int M, int N, int K, int a_rows, int b_cols,
                            const float *A, int lda, const float *B, int ldb, int nblocks,
                            const ct_uep_block *blocks, const float *C, int ldc) {
    if (layout != CT_UEP_ROW_COL && layout != CT_UEP_COL_ROW)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: unknown layout %d", who, (int)layout);
    if (M < 0 || N < 0 || K < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: M=%d N=%d K=%d (need M, N >= 0 and K >= 1)", who, M, N, K);
    if (nblocks < 1 || !blocks)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: %d blocks%s (need at least one)", who, nblocks,
                       blocks ? "" : " and a NULL block array");
    if (!A || !B || !C) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: NULL %s", who, !A ? "A" : !B ? "B" : "C");
    if (layout == CT_UEP_COL_ROW && (a_rows != M || b_cols != N))
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: column x row layout needs a_rows == M and b_cols == N (got %d, %d for %d x %d)",
                       who, a_rows, b_cols, M, N);
    if (a_rows < M || b_cols < N)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: A has %d rows and B %d columns, fewer than the %d x %d output", who,
                       a_rows, b_cols, M, N);
    if (lda < K || ldb < (b_cols > 1 ? b_cols : 1) || ldc < (N > 1 ? N : 1))
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: leading dimensions lda=%d ldb=%d ldc=%d too small (K=%d, B has %d columns, N=%d)",
                       who, lda, ldb, ldc, K, b_cols, N);
    for (int i = 0; i < nblocks; i++) {
        const ct_uep_block *bl = &blocks[i];
        if (!isfinite(bl->w)) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: block %d has a non-finite weight", who, i);
        if (layout == CT_UEP_ROW_COL) {
            if (bl->len != 0)
                return CT_FAIL(CT_ERR_INVALID_ARG, "%s: block %d: len=%d, must be 0 in the row x column layout", who, i,
                               bl->len);
            if (bl->a_off < 0 || (long long)bl->a_off + M > a_rows || bl->b_off < 0 || (long long)bl->b_off + N > b_cols)
                return CT_FAIL(CT_ERR_INVALID_ARG,
                               "%s: block %d: rows %d..%d of A (has %d) or columns %d..%d of B (has %d) out of range", who,
                               i, bl->a_off, bl->a_off + M - 1, a_rows, bl->b_off, bl->b_off + N - 1, b_cols);
        } else {
            if (bl->len < 1 || bl->a_off < 0 || bl->b_off < 0 || (long long)bl->a_off + bl->len > K ||
                (long long)bl->b_off + bl->len > K)
                return CT_FAIL(CT_ERR_INVALID_ARG,
                               "%s: block %d: inner ranges A[:, %d..+%d), B[%d..+%d, :] must be nonempty and within K=%d",
                               who, i, bl->a_off, bl->len, bl->b_off, bl->len, K);
        }
    }
    if (M == 0 || N == 0) return CT_OK;
    uintptr_t c0, c1, a0, a1, b0, b1;
    extent(C, M, N, ldc, &c0, &c1);
    extent(A, a_rows, K, lda, &a0, &a1);
    extent(B, K, b_cols, ldb, &b0, &b1);
    if (overlaps(c0, c1, a0, a1) || overlaps(c0, c1, b0, b1))
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: C overlaps %s (the output must not alias an input)", who,
                       overlaps(c0, c1, a0, a1) ? "A" : "B");
    return CT_OK;
}

ct_status ct_uep_block_gemm_via_gemm(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows,
                                     int b_cols, const float *A, int lda, const float *B, int ldb, int nblocks,
                                     const ct_uep_block *blocks, float beta, float *C, int ldc) {
    if (!be) return CT_FAIL(CT_ERR_INVALID_ARG, "uep_block_gemm (via gemm): backend is NULL");
    CT_TRY(ct_uep_check_args("uep_block_gemm (via gemm)", layout, M, N, K, a_rows, b_cols, A, lda, B, ldb, nblocks,
                             blocks, C, ldc));
    if (M == 0 || N == 0) return CT_OK;
    for (int i = 0; i < nblocks; i++) {
        const ct_uep_block *bl = &blocks[i];
        const float *Ab, *Bb;
        int inner;
        if (layout == CT_UEP_ROW_COL) {
            Ab = A + (size_t)bl->a_off * (size_t)lda;
            Bb = B + bl->b_off;
            inner = K;
        } else {
            Ab = A + bl->a_off;
            Bb = B + (size_t)bl->b_off * (size_t)ldb;
            inner = bl->len;
        }
        CT_TRY(be->ops->gemm(be, 0, 0, M, N, inner, bl->w, Ab, lda, Bb, ldb, i == 0 ? beta : 1.0f, C, ldc));
    }
    return CT_OK;
}
