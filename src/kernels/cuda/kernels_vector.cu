/* CUDA vector ops: fill, scale, axpy, and the reductions behind nrm2, dot,
 * all_finite and sign_pack's scale (double accumulation, deterministic). */
#include "kernels/cuda/reduce.cuh"

/* ---------------- elementwise ---------------- */

__global__ void __launch_bounds__(CT_CUDA_THREADS) fill_kernel(size_t n, float value, float *__restrict__ x) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] = value;
}

__global__ void __launch_bounds__(CT_CUDA_THREADS) scale_kernel(size_t n, float a, float *__restrict__ x) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] *= a;
}

__global__ void __launch_bounds__(CT_CUDA_THREADS)
    axpy_kernel(size_t n, float a, const float *__restrict__ x, float *__restrict__ y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = fmaf(a, x[i], y[i]);
}

extern "C" ct_status ct_cuda_fill(ct_backend *be, size_t n, float value, float *x) {
    ct_cuda_backend *b = ct_cuda(be);
    if (n == 0) return CT_OK;
    if (!x) return CT_FAIL(CT_ERR_INVALID_ARG, "fill: x is NULL");
    CT_CUDA_ENTER(b);
    fill_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, 8), CT_CUDA_THREADS, 0, b->stream>>>(n, value, x);
    CT_CUDA_CHECK_LAUNCH("fill_kernel");
    return CT_OK;
}

extern "C" ct_status ct_cuda_scale(ct_backend *be, size_t n, float a, float *x) {
    ct_cuda_backend *b = ct_cuda(be);
    if (n == 0) return CT_OK;
    if (!x) return CT_FAIL(CT_ERR_INVALID_ARG, "scale: x is NULL");
    CT_CUDA_ENTER(b);
    scale_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, 8), CT_CUDA_THREADS, 0, b->stream>>>(n, a, x);
    CT_CUDA_CHECK_LAUNCH("scale_kernel");
    return CT_OK;
}

extern "C" ct_status ct_cuda_axpy(ct_backend *be, size_t n, float a, const float *x, float *y) {
    ct_cuda_backend *b = ct_cuda(be);
    if (n == 0) return CT_OK;
    if (!x || !y) return CT_FAIL(CT_ERR_INVALID_ARG, "axpy: NULL %s", x ? "y" : "x");
    CT_CUDA_ENTER(b);
    axpy_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, 8), CT_CUDA_THREADS, 0, b->stream>>>(n, a, x, y);
    CT_CUDA_CHECK_LAUNCH("axpy_kernel");
    return CT_OK;
}

/* ---------------- reductions ---------------- */

template <int KIND>
__device__ __forceinline__ double reduce_term(const float *__restrict__ x, const float *__restrict__ y, size_t i) {
    if (KIND == CT_REDUCE_SUMSQ) {
        const double v = x[i];
        return v * v;
    } else if (KIND == CT_REDUCE_DOT) {
        return (double)x[i] * (double)y[i];
    } else if (KIND == CT_REDUCE_MAXABS) {
        return (double)fabsf(x[i]);
    } else {
        /* p = x + e in float, exactly as the CPU and the pack pass form it */
        return (double)fabsf(__fadd_rn(x[i], y[i]));
    }
}

template <int KIND>
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    reduce_kernel(size_t n, const float *__restrict__ x, const float *__restrict__ y, ct_cuda_scratch *s,
                  float *scale_out) {
    typedef typename std::conditional<KIND == CT_REDUCE_MAXABS, ct_op_max, ct_op_sum>::type Op;
    double acc = Op::identity();
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    /* four independent loads in flight per thread */
    for (; i + 3 * stride < n; i += 4 * stride) {
        const double a = reduce_term<KIND>(x, y, i), b = reduce_term<KIND>(x, y, i + stride);
        const double c = reduce_term<KIND>(x, y, i + 2 * stride), d = reduce_term<KIND>(x, y, i + 3 * stride);
        acc = Op::apply(acc, Op::apply(Op::apply(a, b), Op::apply(c, d)));
    }
    for (; i < n; i += stride) acc = Op::apply(acc, reduce_term<KIND>(x, y, i));
    acc = ct_block_reduce<Op>(acc);
    if (!ct_store_partial_is_last(s, acc)) return;
    const double total = ct_sum_partials<Op>(s);
    if (threadIdx.x == 0) {
        s->result = total;
        if (scale_out) {
            if (KIND == CT_REDUCE_L1_SUM) *scale_out = n ? (float)(total / (double)n) : 0.0f;
            else *scale_out = (float)total;
        }
        s->blocks_done = 0;
    }
}

ct_status ct_cuda_reduce(ct_cuda_backend *b, ct_cuda_reduce_kind kind, size_t n, const float *x, const float *y,
                         float *scale_out) {
    /* the grid depends only on n and the GPU: same input, same result */
    unsigned grid = ct_cuda_grid(n, CT_CUDA_THREADS * 4, b->sm_count, 4);
    if (grid > CT_CUDA_REDUCE_BLOCKS) grid = CT_CUDA_REDUCE_BLOCKS;
    switch (kind) {
    case CT_REDUCE_SUMSQ:
        reduce_kernel<CT_REDUCE_SUMSQ><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, x, y, b->scratch, scale_out);
        break;
    case CT_REDUCE_DOT:
        reduce_kernel<CT_REDUCE_DOT><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, x, y, b->scratch, scale_out);
        break;
    case CT_REDUCE_MAXABS:
        reduce_kernel<CT_REDUCE_MAXABS><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, x, y, b->scratch, scale_out);
        break;
    case CT_REDUCE_L1_SUM:
        reduce_kernel<CT_REDUCE_L1_SUM><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, x, y, b->scratch, scale_out);
        break;
    }
    CT_CUDA_CHECK_LAUNCH("reduce_kernel");
    return CT_OK;
}

ct_status ct_cuda_fetch_result(ct_cuda_backend *b, double *out) {
    CT_CUDA_CHECK(cudaMemcpyAsync(b->host_result, &b->scratch->result, sizeof(double), cudaMemcpyDeviceToHost,
                                  b->stream),
                  "copying a reduction result to the host");
    CT_CUDA_CHECK(cudaStreamSynchronize(b->stream), "waiting for a reduction result");
    *out = *(const double *)b->host_result;
    return CT_OK;
}

extern "C" ct_status ct_cuda_nrm2(ct_backend *be, size_t n, const float *x, double *out) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_CUDA_NOT_WHILE_CAPTURING(b, "nrm2");
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "nrm2: out is NULL");
    if (n == 0) {
        *out = 0.0;
        return CT_OK;
    }
    if (!x) return CT_FAIL(CT_ERR_INVALID_ARG, "nrm2: x is NULL");
    CT_CUDA_ENTER(b);
    double ss = 0;
    CT_TRY(ct_cuda_reduce(b, CT_REDUCE_SUMSQ, n, x, NULL, NULL));
    CT_TRY(ct_cuda_fetch_result(b, &ss));
    *out = sqrt(ss);
    return CT_OK;
}

extern "C" ct_status ct_cuda_dot(ct_backend *be, size_t n, const float *x, const float *y, double *out) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_CUDA_NOT_WHILE_CAPTURING(b, "dot");
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "dot: out is NULL");
    if (n == 0) {
        *out = 0.0;
        return CT_OK;
    }
    if (!x || !y) return CT_FAIL(CT_ERR_INVALID_ARG, "dot: NULL %s", x ? "y" : "x");
    CT_CUDA_ENTER(b);
    CT_TRY(ct_cuda_reduce(b, CT_REDUCE_DOT, n, x, y, NULL));
    return ct_cuda_fetch_result(b, out);
}

/* any non-finite element sets the flag (a benign race: every writer writes 1) */
__global__ void __launch_bounds__(CT_CUDA_THREADS) nonfinite_kernel(size_t n, const float *__restrict__ x, int *flag) {
    bool bad = false;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        bad |= !isfinite(x[i]);
    /* one store per warp at most */
    if (__any_sync(0xffffffffu, bad) && (threadIdx.x & 31) == 0) *flag = 1;
}

extern "C" ct_status ct_cuda_all_finite(ct_backend *be, size_t n, const float *x, int *ok) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_CUDA_NOT_WHILE_CAPTURING(b, "all_finite");
    if (!ok) return CT_FAIL(CT_ERR_INVALID_ARG, "all_finite: ok is NULL");
    if (n == 0) {
        *ok = 1;
        return CT_OK;
    }
    if (!x) return CT_FAIL(CT_ERR_INVALID_ARG, "all_finite: x is NULL");
    CT_CUDA_ENTER(b);
    CT_CUDA_CHECK(cudaMemsetAsync(&b->scratch->flag, 0, sizeof(int), b->stream), "clearing the all_finite flag");
    nonfinite_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS * 4, b->sm_count, 8), CT_CUDA_THREADS, 0, b->stream>>>(
        n, x, &b->scratch->flag);
    CT_CUDA_CHECK_LAUNCH("nonfinite_kernel");
    CT_CUDA_CHECK(cudaMemcpyAsync(b->host_result, &b->scratch->flag, sizeof(int), cudaMemcpyDeviceToHost, b->stream),
                  "copying the all_finite flag to the host");
    CT_CUDA_CHECK(cudaStreamSynchronize(b->stream), "waiting for all_finite");
    *ok = *(const int *)b->host_result == 0;
    return CT_OK;
}

extern "C" ct_status ct_cuda_flag_nonfinite(ct_backend *be, size_t n, const float *x, int *flag) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!flag) return CT_FAIL(CT_ERR_INVALID_ARG, "flag_nonfinite: flag is NULL");
    if (n == 0) return CT_OK;
    if (!x) return CT_FAIL(CT_ERR_INVALID_ARG, "flag_nonfinite: x is NULL");
    CT_CUDA_ENTER(b);
    /* the same kernel as all_finite, on the caller's device flag: no round trip */
    nonfinite_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS * 4, b->sm_count, 8), CT_CUDA_THREADS, 0, b->stream>>>(n, x, flag);
    CT_CUDA_CHECK_LAUNCH("nonfinite_kernel");
    return CT_OK;
}
