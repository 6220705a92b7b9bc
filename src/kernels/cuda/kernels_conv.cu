/* CUDA convolution and pooling ops (no cuDNN): im2col, col2im, per-channel
 * bias + activation and its gradient, max / average pooling and their
 * adjoints. Every adjoint gathers (one thread per input pixel sums what it fed)
 * instead of scattering with atomics, so results are deterministic. The
 * convolution itself is cuBLAS GEMMs over the columns (the model's job). */
#include "kernels/cuda/cuda_internal.h"

#define CT_CONV_BLOCKS_PER_SM 8

static ct_status conv_check(const char *who, const ct_conv_geom *g, int batch, const void *in, const void *out) {
    CT_TRY(ct_conv_geom_check(who, g));
    if (batch < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: batch %d", who, batch);
    if (batch > 0 && (!in || !out)) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: NULL buffer", who);
    return CT_OK;
}

static ct_status pool_check(const char *who, const ct_conv_geom *g, int batch, const void *in, const void *out) {
    CT_TRY(conv_check(who, g, batch, in, out));
    if (g->pad != 0) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: pooling takes no padding (pad %d)", who, g->pad);
    return CT_OK;
}

/* ---------------- im2col / col2im ---------------- */

__global__ void __launch_bounds__(CT_CUDA_THREADS)
    im2col_kernel(ct_conv_geom g, size_t n, const float *__restrict__ x, float *__restrict__ col) {
    const size_t opix = (size_t)g.oh * g.ow, K = (size_t)g.c * g.kh * g.kw;
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < n; t += (size_t)gridDim.x * blockDim.x) {
        const size_t p = t % opix, k = (t / opix) % K, b = t / (opix * K);
        const int j = (int)(k % g.kw), i = (int)((k / g.kw) % g.kh), ci = (int)(k / ((size_t)g.kw * g.kh));
        const int oy = (int)(p / g.ow), ox = (int)(p % g.ow);
        const int iy = oy * g.stride - g.pad + i, ix = ox * g.stride - g.pad + j;
        float v = 0.0f;
        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) v = x[((b * g.c + ci) * g.h + iy) * g.w + ix];
        col[t] = v;
    }
}

__global__ void __launch_bounds__(CT_CUDA_THREADS)
    col2im_kernel(ct_conv_geom g, size_t n, const float *__restrict__ col, float *__restrict__ dx) {
    const size_t opix = (size_t)g.oh * g.ow, K = (size_t)g.c * g.kh * g.kw;
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < n; t += (size_t)gridDim.x * blockDim.x) {
        const int ix = (int)(t % g.w), iy = (int)((t / g.w) % g.h);
        const size_t bc = t / ((size_t)g.w * g.h);
        const int ci = (int)(bc % g.c);
        const size_t b = bc / g.c;
        float s = 0.0f;
        /* every kernel offset (i, j) whose output pixel lands on a whole stride */
        for (int i = 0; i < g.kh; i++) {
            const int ty = iy + g.pad - i;
            if (ty < 0 || ty % g.stride) continue;
            const int oy = ty / g.stride;
            if (oy >= g.oh) continue;
            for (int j = 0; j < g.kw; j++) {
                const int tx = ix + g.pad - j;
                if (tx < 0 || tx % g.stride) continue;
                const int ox = tx / g.stride;
                if (ox >= g.ow) continue;
                const size_t k = ((size_t)ci * g.kh + i) * g.kw + j;
                s += col[(b * K + k) * opix + (size_t)oy * g.ow + ox];
            }
        }
        dx[t] = s;
    }
}

extern "C" ct_status ct_cuda_im2col(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *col) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_TRY(conv_check("im2col", g, batch, x, col));
    const size_t n = (size_t)batch * g->c * g->kh * g->kw * g->oh * g->ow;
    if (n == 0) return CT_OK;
    CT_CUDA_ENTER(b);
    im2col_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, CT_CONV_BLOCKS_PER_SM), CT_CUDA_THREADS, 0,
                    b->stream>>>(*g, n, x, col);
    CT_CUDA_CHECK_LAUNCH("im2col_kernel");
    return CT_OK;
}

extern "C" ct_status ct_cuda_col2im(ct_backend *be, const ct_conv_geom *g, int batch, const float *col, float *dx) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_TRY(conv_check("col2im", g, batch, col, dx));
    const size_t n = (size_t)batch * g->c * g->h * g->w;
    if (n == 0) return CT_OK;
    CT_CUDA_ENTER(b);
    col2im_kernel<<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, CT_CONV_BLOCKS_PER_SM), CT_CUDA_THREADS, 0,
                    b->stream>>>(*g, n, col, dx);
    CT_CUDA_CHECK_LAUNCH("col2im_kernel");
    return CT_OK;
}

/* ---------------- per-channel bias ---------------- */

template <bool RELU>
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    channel_bias_act_kernel(size_t n, int channels, int spatial, const float *__restrict__ bias,
                            float *__restrict__ y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = y[i];
        if (bias) v += __ldg(&bias[(i / (size_t)spatial) % (size_t)channels]);
        if (RELU) v = v > 0.0f ? v : 0.0f;
        y[i] = v;
    }
}

extern "C" ct_status ct_cuda_channel_bias_act_forward(ct_backend *be, ct_activation act, int batch, int channels,
                                                      int spatial, const float *bias, float *y) {
    ct_cuda_backend *b = ct_cuda(be);
    if (batch < 0 || channels < 0 || spatial < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_act_forward: batch=%d channels=%d spatial=%d", batch,
                       channels, spatial);
    if (act != CT_ACT_NONE && act != CT_ACT_RELU)
        return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_act_forward: unknown activation %d", (int)act);
    const size_t n = (size_t)batch * channels * spatial;
    if (n == 0 || (act == CT_ACT_NONE && !bias)) return CT_OK;
    if (!y) return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_act_forward: y is NULL");
    CT_CUDA_ENTER(b);
    const unsigned grid = ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, CT_CONV_BLOCKS_PER_SM);
    if (act == CT_ACT_RELU)
        channel_bias_act_kernel<true><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, channels, spatial, bias, y);
    else
        channel_bias_act_kernel<false><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(n, channels, spatial, bias, y);
    CT_CUDA_CHECK_LAUNCH("channel_bias_act_kernel");
    return CT_OK;
}

/* One block per channel; a fixed-order tree sum in shared memory (deterministic). */
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    channel_bias_grad_kernel(int batch, int channels, int spatial, const float *__restrict__ dy, float beta,
                             float *__restrict__ db) {
    __shared__ float part[CT_CUDA_THREADS];
    const int c = blockIdx.x;
    const size_t per = (size_t)batch * spatial;
    float acc = 0.0f;
    for (size_t t = threadIdx.x; t < per; t += blockDim.x) {
        const size_t bb = t / (size_t)spatial, p = t % (size_t)spatial;
        acc += dy[(bb * channels + c) * (size_t)spatial + p];
    }
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int s = CT_CUDA_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[c] = beta == 0.0f ? part[0] : fmaf(beta, db[c], part[0]);
}

extern "C" ct_status ct_cuda_channel_bias_grad(ct_backend *be, int batch, int channels, int spatial, const float *dy,
                                               float beta, float *db) {
    ct_cuda_backend *b = ct_cuda(be);
    if (batch < 0 || channels < 0 || spatial < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_grad: batch=%d channels=%d spatial=%d", batch, channels,
                       spatial);
    if (channels == 0) return CT_OK;
    if (!db || (!dy && (size_t)batch * spatial > 0))
        return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_grad: NULL buffer");
    CT_CUDA_ENTER(b);
    channel_bias_grad_kernel<<<(unsigned)channels, CT_CUDA_THREADS, 0, b->stream>>>(batch, channels, spatial, dy,
                                                                                    beta, db);
    CT_CUDA_CHECK_LAUNCH("channel_bias_grad_kernel");
    return CT_OK;
}

/* ---------------- pooling ---------------- */

template <bool MAX>
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    pool_forward_kernel(ct_conv_geom g, size_t n, const float *__restrict__ x, float *__restrict__ y,
                        int32_t *__restrict__ argmax) {
    const size_t opix = (size_t)g.oh * g.ow;
    const float inv = 1.0f / (float)(g.kh * g.kw);
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < n; t += (size_t)gridDim.x * blockDim.x) {
        const size_t bc = t / opix, p = t % opix;
        const int y0 = (int)(p / g.ow) * g.stride, x0 = (int)(p % g.ow) * g.stride;
        const float *plane = x + bc * (size_t)g.h * g.w;
        int best = y0 * g.w + x0;
        float m = MAX ? plane[best] : 0.0f;
        for (int i = 0; i < g.kh; i++)
            for (int j = 0; j < g.kw; j++) {
                const int idx = (y0 + i) * g.w + x0 + j;
                const float v = plane[idx];
                if (MAX) {
                    if (v > m) { /* the first maximum wins, as on the CPU */
                        m = v;
                        best = idx;
                    }
                } else {
                    m += v;
                }
            }
        if (MAX) {
            y[t] = m;
            argmax[t] = best;
        } else {
            y[t] = m * inv;
        }
    }
}

/* One thread per input pixel: the sum over the windows that contain it. */
template <bool MAX>
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    pool_backward_kernel(ct_conv_geom g, size_t n, const float *__restrict__ dy, const int32_t *__restrict__ argmax,
                         float *__restrict__ dx) {
    const size_t opix = (size_t)g.oh * g.ow;
    const float inv = 1.0f / (float)(g.kh * g.kw);
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < n; t += (size_t)gridDim.x * blockDim.x) {
        const int idx = (int)(t % ((size_t)g.h * g.w));
        const int iy = idx / g.w, ix = idx % g.w;
        const size_t bc = t / ((size_t)g.h * g.w);
        /* output rows oy with oy*stride <= iy < oy*stride + kh, likewise columns */
        const int oy_lo = iy >= g.kh ? (iy - g.kh) / g.stride + 1 : 0, oy_hi = min(iy / g.stride, g.oh - 1);
        const int ox_lo = ix >= g.kw ? (ix - g.kw) / g.stride + 1 : 0, ox_hi = min(ix / g.stride, g.ow - 1);
        float s = 0.0f;
        for (int oy = oy_lo; oy <= oy_hi; oy++)
            for (int ox = ox_lo; ox <= ox_hi; ox++) {
                const size_t o = bc * opix + (size_t)oy * g.ow + ox;
                if (MAX) {
                    if (argmax[o] == idx) s += dy[o];
                } else {
                    s += dy[o] * inv;
                }
            }
        dx[t] = s;
    }
}

extern "C" ct_status ct_cuda_maxpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x,
                                             float *y, int32_t *argmax) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_TRY(pool_check("maxpool_forward", g, batch, x, y));
    if (batch > 0 && !argmax) return CT_FAIL(CT_ERR_INVALID_ARG, "maxpool_forward: argmax is NULL");
    const size_t n = (size_t)batch * g->c * g->oh * g->ow;
    if (n == 0) return CT_OK;
    CT_CUDA_ENTER(b);
    pool_forward_kernel<true><<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, CT_CONV_BLOCKS_PER_SM),
                                CT_CUDA_THREADS, 0, b->stream>>>(*g, n, x, y, argmax);
    CT_CUDA_CHECK_LAUNCH("maxpool_forward_kernel");
    return CT_OK;
}

extern "C" ct_status ct_cuda_maxpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy,
                                              const int32_t *argmax, float *dx) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_TRY(pool_check("maxpool_backward", g, batch, dy, dx));
    if (batch > 0 && !argmax) return CT_FAIL(CT_ERR_INVALID_ARG, "maxpool_backward: argmax is NULL");
    const size_t n = (size_t)batch * g->c * g->h * g->w;
    if (n == 0) return CT_OK;
    CT_CUDA_ENTER(b);
    pool_backward_kernel<true><<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, CT_CONV_BLOCKS_PER_SM),
                                 CT_CUDA_THREADS, 0, b->stream>>>(*g, n, dy, argmax, dx);
    CT_CUDA_CHECK_LAUNCH("maxpool_backward_kernel");
    return CT_OK;
}

extern "C" ct_status ct_cuda_avgpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x,
                                             float *y) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_TRY(pool_check("avgpool_forward", g, batch, x, y));
    const size_t n = (size_t)batch * g->c * g->oh * g->ow;
    if (n == 0) return CT_OK;
    CT_CUDA_ENTER(b);
    pool_forward_kernel<false><<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, CT_CONV_BLOCKS_PER_SM),
                                 CT_CUDA_THREADS, 0, b->stream>>>(*g, n, x, y, NULL);
    CT_CUDA_CHECK_LAUNCH("avgpool_forward_kernel");
    return CT_OK;
}

extern "C" ct_status ct_cuda_avgpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy,
                                              float *dx) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_TRY(pool_check("avgpool_backward", g, batch, dy, dx));
    const size_t n = (size_t)batch * g->c * g->h * g->w;
    if (n == 0) return CT_OK;
    CT_CUDA_ENTER(b);
    pool_backward_kernel<false><<<ct_cuda_grid(n, CT_CUDA_THREADS, b->sm_count, CT_CONV_BLOCKS_PER_SM),
                                  CT_CUDA_THREADS, 0, b->stream>>>(*g, n, dy, NULL, dx);
    CT_CUDA_CHECK_LAUNCH("avgpool_backward_kernel");
    return CT_OK;
}
