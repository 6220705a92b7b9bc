/* CPU reference of the UEP block GEMM: one cblas_sgemm per block pair, the
 * weight as alpha, beta for the first block and 1 after (accumulating in C). */
#include <cblas.h>

#include "kernels/cpu/cpu_internal.h"

ct_status ct_cpu_uep_block_gemm(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows, int b_cols,
                                const float *A, int lda, const float *B, int ldb, int nblocks,
                                const ct_uep_block *blocks, float beta, float *C, int ldc) {
    CT_TRY(ct_uep_check_args("uep_block_gemm", layout, M, N, K, a_rows, b_cols, A, lda, B, ldb, nblocks, blocks, C,
                             ldc));
    if (M == 0 || N == 0) return CT_OK;
    for (int i = 0; i < nblocks; i++) {
        const ct_uep_block *bl = &blocks[i];
        const int row_col = layout == CT_UEP_ROW_COL;
        const float *Ab = row_col ? A + (size_t)bl->a_off * (size_t)lda : A + bl->a_off;
        const float *Bb = row_col ? B + bl->b_off : B + (size_t)bl->b_off * (size_t)ldb;
        const int inner = row_col ? K : bl->len;
        /* OpenBLAS with beta == 0 writes C without reading it: stale NaNs do not leak */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, inner, bl->w, Ab, lda, Bb, ldb,
                    i == 0 ? beta : 1.0f, C, ldc);
    }
    return CT_OK;
}

/* Graphs: every CPU op already runs to completion when called, so there is no
 * launch overhead to save; callers see CT_ERR_UNSUPPORTED and call ops eagerly. */
ct_status ct_cpu_graph_begin(ct_backend *be) {
    return CT_FAIL(CT_ERR_UNSUPPORTED, "graph capture: the CPU backend runs ops eagerly (no graphs); call the ops directly");
}
ct_status ct_cpu_graph_end(ct_backend *be, ct_graph **graph) {
    if (graph) *graph = NULL;
    return CT_FAIL(CT_ERR_UNSUPPORTED, "graph capture: the CPU backend has no graphs");
}
ct_status ct_cpu_graph_launch(ct_backend *be, ct_graph *graph) {
    return CT_FAIL(CT_ERR_UNSUPPORTED, "graph launch: the CPU backend has no graphs");
}
void ct_cpu_graph_destroy(ct_backend *be, ct_graph *graph) {}
