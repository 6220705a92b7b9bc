/* CUDA network ops: cuBLAS GEMM (row-major through the transpose identity),
 * fused bias + activation, activation backward, bias gradient, softmax
 * cross-entropy with its gradient in one kernel, and the SGD update. */
#include <math.h>

#include "kernels/cuda/reduce.cuh"

/* ---------------- GEMM ---------------- */

extern "C" ct_status ct_cuda_gemm(ct_backend *be, int trans_a, int trans_b, int M, int N, int K, float alpha,
                                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    ct_cuda_backend *b = ct_cuda(be);
    if (M < 0 || N < 0 || K < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "gemm: negative size M=%d N=%d K=%d", M, N, K);
    const int min_lda = trans_a ? M : K, min_ldb = trans_b ? K : N;
    if (lda < (min_lda > 1 ? min_lda : 1) || ldb < (min_ldb > 1 ? min_ldb : 1) || ldc < (N > 1 ? N : 1))
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "gemm: leading dimensions lda=%d ldb=%d ldc=%d too small for M=%d N=%d K=%d (trans %d,%d)", lda,
                       ldb, ldc, M, N, K, trans_a, trans_b);
    if (M == 0 || N == 0) return CT_OK;
    if (!A || !B || !C) return CT_FAIL(CT_ERR_INVALID_ARG, "gemm: NULL matrix");
    CT_CUDA_ENTER(b);
    /* A row-major matrix is its transpose in column-major. So compute
     * C^T (N x M) = op(B)^T op(A)^T in column-major: cuBLAS sees B first, and
     * each operand's transpose flag carries over unchanged. */
    const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    CT_CUBLAS_CHECK(cublasSgemm(b->blas, op_b, op_a, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc), "gemm");
    return CT_OK;
}

/* ---------------- bias + activation ---------------- */

template <bool RELU, bool BIAS>
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    bias_act_kernel(size_t n, unsigned cols, const float *__restrict__ bias, float *__restrict__ y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = y[i];
        /* 32-bit modulo (far cheaper) whenever the index fits; uniform branch */
        if (BIAS) v += __ldg(&bias[i <= 0xffffffffu ? (unsigned)i % cols : (unsigned)(i % cols)]);
        if (RELU) v = v > 0.0f ? v : 0.0f;
        y[i] = v;
    }
}

extern "C" ct_status ct_cuda_bias_act_forward(ct_backend *be, ct_activation act, int rows, int cols,
                                              const float *bias, float *y) {
    ct_cuda_backend *b = ct_cuda(be);
    if (rows < 0 || cols < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_act_forward: rows=%d cols=%d", rows, cols);
    if (act != CT_ACT_NONE && act != CT_ACT_RELU)
        return CT_FAIL(CT_ERR_INVALID_ARG, "bias_act_forward: unknown activation %d", (int)act);
    if (rows == 0 || cols == 0 || (act == CT_ACT_NONE && !bias)) return CT_OK;
    if (!y) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_act_forward: y is NULL");
    CT_CUDA_ENTER(b);
    const size_t n = (size_t)rows * (size_t)cols;
    const unsigned grid = ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, 8);
    if (act == CT_ACT_RELU && bias)
        bias_act_kernel<true, true><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, (unsigned)cols, bias, y);
    else if (act == CT_ACT_RELU)
        bias_act_kernel<true, false><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, (unsigned)cols, bias, y);
    else
        bias_act_kernel<false, true><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, (unsigned)cols, bias, y);
    CT_CUDA_CHECK_LAUNCH("bias_act_kernel");
    return CT_OK;
}

__global__ void __launch_bounds__(CT_CUDA_THREADS)
    relu_backward_kernel(size_t n, const float *__restrict__ y, float *__restrict__ dy) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dy[i] = y[i] > 0.0f ? dy[i] : 0.0f; /* a select: 0 even where dy is inf */
}

extern "C" ct_status ct_cuda_act_backward(ct_backend *be, ct_activation act, size_t n, const float *y, float *dy) {
    ct_cuda_backend *b = ct_cuda(be);
    if (act == CT_ACT_NONE || n == 0) return CT_OK;
    if (act != CT_ACT_RELU) return CT_FAIL(CT_ERR_INVALID_ARG, "act_backward: unknown activation %d", (int)act);
    if (!y || !dy) return CT_FAIL(CT_ERR_INVALID_ARG, "act_backward: NULL %s", y ? "dy" : "y");
    CT_CUDA_ENTER(b);
    relu_backward_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, 8), CT_CUDA_THREADS, 0, b->stream>>>(n, y,
                                                                                                               dy);
    CT_CUDA_CHECK_LAUNCH("relu_backward_kernel");
    return CT_OK;
}

/* ---------------- bias gradient: column sums ---------------- */

#define CT_BG_COLS 32 /* columns per block: one warp reads 32 consecutive floats */
#define CT_BG_ROWS 8  /* row slices per block, summed in shared memory */

__global__ void __launch_bounds__(CT_BG_COLS *CT_BG_ROWS)
    bias_grad_kernel(int rows, int cols, const float *__restrict__ dz, float beta, float *__restrict__ db) {
    __shared__ float part[CT_BG_ROWS][CT_BG_COLS + 1];
    const int c = blockIdx.x * CT_BG_COLS + threadIdx.x;
    float acc = 0.0f;
    if (c < cols)
        for (int r = threadIdx.y; r < rows; r += CT_BG_ROWS) acc += dz[(size_t)r * cols + c];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < CT_BG_ROWS; k++) s += part[k][threadIdx.x];
        /* beta == 0 overwrites: stale (even NaN) contents do not leak in */
        db[c] = beta == 0.0f ? s : fmaf(beta, db[c], s);
    }
}

extern "C" ct_status ct_cuda_bias_grad(ct_backend *be, int rows, int cols, const float *dz, float beta, float *db) {
    ct_cuda_backend *b = ct_cuda(be);
    if (rows < 0 || cols < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_grad: rows=%d cols=%d", rows, cols);
    if (cols == 0) return CT_OK;
    if (!db || (rows > 0 && !dz)) return CT_FAIL(CT_ERR_INVALID_ARG, "bias_grad: NULL %s", db ? "dz" : "db");
    CT_CUDA_ENTER(b);
    const unsigned grid = (unsigned)((cols + CT_BG_COLS - 1) / CT_BG_COLS);
    bias_grad_kernel<<<grid, dim3(CT_BG_COLS, CT_BG_ROWS), 0, b->stream>>>(rows, cols, dz, beta, db);
    CT_CUDA_CHECK_LAUNCH("bias_grad_kernel");
    return CT_OK;
}

/* ---------------- softmax cross-entropy ---------------- */

#define CT_SM_WARPS (CT_CUDA_THREADS / 32)

__device__ __forceinline__ float warp_max_f(float v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}
__device__ __forceinline__ float warp_sum_f(float v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

/* One warp per row (rows grid-strided over warps), classes strided over lanes.
 * dlogits may alias logits: every lane reads x[label] before the first
 * shuffle, and afterwards each lane reads and writes only its own columns.
 * The weighted row losses are summed in double: per warp, per block, then by
 * the last block, which writes the float loss. A label outside [0, classes)
 * makes that row's gradient and the loss NaN (the CPU reference reports an
 * error; a kernel cannot, and NaN is caught by all_finite). */
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    softmax_xent_kernel(int rows, int classes, const float *logits, const int32_t *__restrict__ labels,
                        const float *__restrict__ w, float uniform_w, float *dlogits, float *loss_out,
                        ct_cuda_scratch *s) {
    const int lane = threadIdx.x & 31;
    const int warp_global = (int)((blockIdx.x * (size_t)blockDim.x + threadIdx.x) >> 5);
    const int warps_total = (int)((gridDim.x * (size_t)blockDim.x) >> 5);
    double warp_loss = 0.0;
    for (int r = warp_global; r < rows; r += warps_total) {
        const float *x = logits + (size_t)r * classes;
        float *g = dlogits + (size_t)r * classes;
        const int label = labels[r];
        const bool valid = label >= 0 && label < classes;
        const float x_label = valid ? x[label] : 0.0f;
        float mx = -INFINITY;
        for (int c = lane; c < classes; c += 32) mx = fmaxf(mx, x[c]);
        mx = warp_max_f(mx);
        float sum = 0.0f;
        for (int c = lane; c < classes; c += 32) {
            const float e = expf(x[c] - mx);
            g[c] = e;
            sum += e;
        }
        sum = warp_sum_f(sum);
        const float wr = w ? w[r] : uniform_w;
        const float scale = wr / sum;
        for (int c = lane; c < classes; c += 32) {
            const float p = g[c] * scale;
            g[c] = !valid ? NAN : (c == label ? p - wr : p);
        }
        if (lane == 0)
            warp_loss += valid ? (double)wr * ((double)logf(sum) - (double)(x_label - mx)) : (double)NAN;
    }
    /* lane 0 of each warp holds its warp's loss; the others hold 0 */
    const double block_loss = ct_block_reduce<ct_op_sum>(lane == 0 ? warp_loss : 0.0);
    if (!ct_store_partial_is_last(s, block_loss)) return;
    const double total = ct_sum_partials<ct_op_sum>(s);
    if (threadIdx.x == 0) {
        *loss_out = (float)total;
        s->blocks_done = 0;
    }
}

extern "C" ct_status ct_cuda_softmax_xent(ct_backend *be, int rows, int classes, const float *logits,
                                          const int32_t *labels, const float *w, float *dlogits, float *loss_out) {
    ct_cuda_backend *b = ct_cuda(be);
    if (rows < 0 || classes < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "softmax_xent: rows=%d classes=%d (need classes >= 1)", rows, classes);
    if (!loss_out || (rows > 0 && (!logits || !labels || !dlogits)))
        return CT_FAIL(CT_ERR_INVALID_ARG, "softmax_xent: NULL logits, labels, dlogits or loss_out");
    CT_CUDA_ENTER(b);
    unsigned grid = ct_cuda_grid((size_t)rows, CT_SM_WARPS, b->sm_count, 8);
    if (grid > CT_CUDA_REDUCE_BLOCKS) grid = CT_CUDA_REDUCE_BLOCKS;
    const float uniform_w = rows > 0 ? 1.0f / (float)rows : 0.0f;
    /* rows == 0 still launches: the kernel writes loss 0 */
    softmax_xent_kernel<<<grid, CT_CUDA_THREADS, 0, b->stream>>>(rows, classes, logits, labels, w, uniform_w, dlogits,
                                                                  loss_out, b->scratch);
    CT_CUDA_CHECK_LAUNCH("softmax_xent_kernel");
    return CT_OK;
}

/* ---------------- SGD ---------------- */

template <int MODE> /* 0: no velocity buffer, 1: momentum 0 (v overwritten), 2: momentum */
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    sgd_kernel(size_t n, float lr, float momentum, float weight_decay, float *__restrict__ p,
               const float *__restrict__ g, float *__restrict__ v) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float pi = p[i];
        float vi = g[i] + weight_decay * pi;
        if (MODE == 2) vi = momentum * v[i] + vi;
        if (MODE != 0) v[i] = vi;
        p[i] = pi - lr * vi;
    }
}

extern "C" ct_status ct_cuda_sgd_update(ct_backend *be, size_t n, float lr, float momentum, float weight_decay,
                                        float *p, const float *g, float *v) {
    ct_cuda_backend *b = ct_cuda(be);
    if (n == 0) return CT_OK;
    if (!p || !g) return CT_FAIL(CT_ERR_INVALID_ARG, "sgd_update: NULL %s", p ? "g" : "p");
    if (momentum != 0.0f && !v)
        return CT_FAIL(CT_ERR_INVALID_ARG, "sgd_update: momentum %g needs a velocity buffer", (double)momentum);
    CT_CUDA_ENTER(b);
    const unsigned grid = ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, 8);
    if (!v)
        sgd_kernel<0><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, lr, momentum, weight_decay, p, g, v);
    else if (momentum == 0.0f)
        sgd_kernel<1><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, lr, momentum, weight_decay, p, g, v);
    else
        sgd_kernel<2><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, lr, momentum, weight_decay, p, g, v);
    CT_CUDA_CHECK_LAUNCH("sgd_kernel");
    return CT_OK;
}
