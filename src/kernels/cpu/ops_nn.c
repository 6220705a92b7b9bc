/* CPU reference: GEMM (OpenBLAS), the network's elementwise ops, softmax
 * cross-entropy and the SGD update. Loops are written to vectorise: restrict
 * pointers, no calls or branches that the compiler cannot turn into selects. */
#include "kernels/cpu/cpu_internal.h"
CT_CPU_VECTORIZE

#include <cblas.h>
#include <math.h>

ct_status ct_cpu_gemm(ct_backend *be, int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M < 0 || N < 0 || K < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "gemm: negative size M=%d N=%d K=%d", M, N, K);
    /* row-major: a stored row holds op's columns unless transposed */
    const int min_lda = trans_a ? M : K, min_ldb = trans_b ? K : N;
    if (lda < (min_lda > 1 ? min_lda : 1) || ldb < (min_ldb > 1 ? min_ldb : 1) || ldc < (N > 1 ? N : 1))
        return CT_FAIL(CT_ERR_INVALID_ARG, "gemm: leading dimensions lda=%d ldb=%d ldc=%d too small for M=%d N=%d K=%d (trans %d,%d)",
                       lda, ldb, ldc, M, N, K, trans_a, trans_b);
    if (M == 0 || N == 0) return CT_OK;
    if (!A || !B || !C) return CT_FAIL(CT_ERR_INVALID_ARG, "gemm: NULL matrix");
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
    return CT_OK;
}

static void bias_relu_row(int cols, const float *restrict bias, float *restrict y) {
    for (int c = 0; c < cols; c++) {
        float v = y[c] + bias[c];
        y[c] = v > 0.0f ? v : 0.0f;
    }
}

static void bias_row(int cols, const float *restrict bias, float *restrict y) {
    for (int c = 0; c < cols; c++) y[c] += bias[c];
}

static void relu_vec(size_t n, float *restrict y) {
    for (size_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

ct_status ct_cpu_bias_act_forward(ct_backend *be, ct_activation act, int rows, int cols, const float *bias,
                                  float *y) {
    if (rows < 0 || cols < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_act_forward: rows=%d cols=%d", rows, cols);
    if (act != CT_ACT_NONE && act != CT_ACT_RELU)
        return CT_FAIL(CT_ERR_INVALID_ARG, "bias_act_forward: unknown activation %d", (int)act);
    if (rows == 0 || cols == 0) return CT_OK;
    if (!y) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_act_forward: y is NULL");
    if (!bias) {
        if (act == CT_ACT_RELU) relu_vec((size_t)rows * cols, y);
        return CT_OK;
    }
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * cols;
        if (act == CT_ACT_RELU) bias_relu_row(cols, bias, row);
        else bias_row(cols, bias, row);
    }
    return CT_OK;
}

ct_status ct_cpu_act_backward(ct_backend *be, ct_activation act, size_t n, const float *y, float *dy) {
    if (act == CT_ACT_NONE || n == 0) return CT_OK;
    if (act != CT_ACT_RELU) return CT_FAIL(CT_ERR_INVALID_ARG, "act_backward: unknown activation %d", (int)act);
    if (!y || !dy) return CT_FAIL(CT_ERR_INVALID_ARG, "act_backward: NULL %s", y ? "dy" : "y");
    const float *restrict yy = y;
    float *restrict g = dy;
    /* a select, not a multiply: a zero derivative yields 0 even where dy is inf */
    for (size_t i = 0; i < n; i++) g[i] = yy[i] > 0.0f ? g[i] : 0.0f;
    return CT_OK;
}

static void add_row(int cols, const float *restrict src, float *restrict dst) {
    for (int c = 0; c < cols; c++) dst[c] += src[c];
}

ct_status ct_cpu_bias_grad(ct_backend *be, int rows, int cols, const float *dz, float beta, float *db) {
    if (rows < 0 || cols < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_grad: rows=%d cols=%d", rows, cols);
    if (cols == 0) return CT_OK;
    if (!db || (rows > 0 && !dz)) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_grad: NULL %s", db ? "dz" : "db");
    /* beta == 0 overwrites (BLAS convention): old contents, even NaN, are ignored */
    if (beta == 0.0f)
        for (int c = 0; c < cols; c++) db[c] = 0.0f;
    else if (beta != 1.0f)
        for (int c = 0; c < cols; c++) db[c] *= beta;
    /* row by row: unit-stride, vectorised, and db stays in L1 */
    for (int r = 0; r < rows; r++) add_row(cols, dz + (size_t)r * cols, db);
    return CT_OK;
}

ct_status ct_cpu_softmax_xent(ct_backend *be, int rows, int classes, const float *logits,
                              const int32_t *labels, const float *w, float *dlogits, float *loss_out) {
    if (rows < 0 || classes < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "softmax_xent: rows=%d classes=%d (need classes >= 1)", rows, classes);
    if (!loss_out || (rows > 0 && (!logits || !labels || !dlogits)))
        return CT_FAIL(CT_ERR_INVALID_ARG, "softmax_xent: NULL logits, labels, dlogits or loss_out");
    const float uniform_w = rows > 0 ? 1.0f / (float)rows : 0.0f;
    double loss = 0.0;
    for (int r = 0; r < rows; r++) {
        const int32_t label = labels[r];
        if (label < 0 || label >= classes)
            return CT_FAIL(CT_ERR_INVALID_ARG, "softmax_xent: label %d of row %d outside [0, %d)", (int)label, r,
                           classes);
        /* no restrict here: dlogits may alias logits; each element is read
         * before the same element is written */
        const float *x = logits + (size_t)r * classes;
        float *g = dlogits + (size_t)r * classes;
        const float wr = w ? w[r] : uniform_w;
        const float x_label = x[label];
        float mx = x[0];
        for (int c = 1; c < classes; c++) mx = x[c] > mx ? x[c] : mx;
        float sum = 0.0f;
        for (int c = 0; c < classes; c++) {
            const float e = expf(x[c] - mx);
            g[c] = e;
            sum += e;
        }
        /* CE = -log softmax_label = log(sum) - (x_label - max) */
        loss += (double)wr * ((double)logf(sum) - (double)(x_label - mx));
        const float scale = wr / sum;
        for (int c = 0; c < classes; c++) g[c] *= scale;
        g[label] -= wr;
    }
    *loss_out = (float)loss;
    return CT_OK;
}

ct_status ct_cpu_sgd_update(ct_backend *be, size_t n, float lr, float momentum, float weight_decay, float *p,
                            const float *g, float *v) {
    if (n == 0) return CT_OK;
    if (!p || !g) return CT_FAIL(CT_ERR_INVALID_ARG, "sgd_update: NULL %s", p ? "g" : "p");
    if (momentum != 0.0f && !v) return CT_FAIL(CT_ERR_INVALID_ARG, "sgd_update: momentum %g needs a velocity buffer", (double)momentum);
    float *restrict pp = p;
    const float *restrict gg = g;
    if (!v) {
        for (size_t i = 0; i < n; i++) pp[i] -= lr * (gg[i] + weight_decay * pp[i]);
        return CT_OK;
    }
    float *restrict vv = v;
    if (momentum == 0.0f) {
        /* old velocity ignored (NaN-safe), as the formula with momentum 0 reads */
        for (size_t i = 0; i < n; i++) {
            const float vi = gg[i] + weight_decay * pp[i];
            vv[i] = vi;
            pp[i] -= lr * vi;
        }
        return CT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const float vi = momentum * vv[i] + (gg[i] + weight_decay * pp[i]);
        vv[i] = vi;
        pp[i] -= lr * vi;
    }
    return CT_OK;
}
