/* CPU reference of the convolution and pooling ops: im2col / col2im (the conv
 * itself is a GEMM over the columns), per-channel bias + activation, and max /
 * average pooling with their adjoints. */
#include "kernels/cpu/cpu_internal.h"
CT_CPU_VECTORIZE

#include <stddef.h>
#include <string.h>

static ct_status check_io(const char *who, const ct_conv_geom *g, int batch, const void *in, const void *out) {
    CT_TRY(ct_conv_geom_check(who, g));
    if (batch < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: batch %d", who, batch);
    if (batch > 0 && (!in || !out)) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: NULL buffer", who);
    return CT_OK;
}

/* Output columns ox whose input column ox*stride - pad + j lies inside the
 * image: [*lo, *hi) (empty when *lo >= *hi). Keeps the copy loops free of
 * bound checks. */
static void valid_cols(const ct_conv_geom *g, int j, int *lo, int *hi) {
    const int off = g->pad - j; /* ix = ox*stride - off */
    int l = off > 0 ? (off + g->stride - 1) / g->stride : 0;
    const int last = g->w - 1 + off; /* ox*stride <= last */
    int h = last < 0 ? 0 : last / g->stride + 1;
    if (h > g->ow) h = g->ow;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* One row of col: kernel offset (i, j) of one channel over every output pixel. */
static void im2col_row(const ct_conv_geom *g, const float *restrict plane, int i, int j, float *restrict row) {
    int lo, hi;
    valid_cols(g, j, &lo, &hi);
    const int s = g->stride;
    for (int oy = 0; oy < g->oh; oy++) {
        const int iy = oy * s - g->pad + i;
        float *restrict r = row + (size_t)oy * g->ow;
        if (iy < 0 || iy >= g->h) {
            memset(r, 0, (size_t)g->ow * sizeof(float));
            continue;
        }
        const ptrdiff_t base = (ptrdiff_t)iy * g->w - g->pad + j; /* plane[base + ox*s]: column ox's pixel */
        for (int ox = 0; ox < lo; ox++) r[ox] = 0.0f;
        if (s == 1) {
            if (hi > lo) memcpy(r + lo, plane + base + lo, (size_t)(hi - lo) * sizeof(float));
        } else {
            for (int ox = lo; ox < hi; ox++) r[ox] = plane[base + (ptrdiff_t)ox * s];
        }
        for (int ox = hi; ox < g->ow; ox++) r[ox] = 0.0f;
    }
}

ct_status ct_cpu_im2col(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *col) {
    CT_TRY(check_io("im2col", g, batch, x, col));
    const size_t plane = (size_t)g->h * g->w, opix = (size_t)g->oh * g->ow;
    const size_t K = (size_t)g->c * g->kh * g->kw;
    for (int b = 0; b < batch; b++)
        for (int ci = 0; ci < g->c; ci++)
            for (int i = 0; i < g->kh; i++)
                for (int j = 0; j < g->kw; j++) {
                    const size_t k = ((size_t)ci * g->kh + i) * g->kw + j;
                    im2col_row(g, x + ((size_t)b * g->c + ci) * plane, i, j, col + ((size_t)b * K + k) * opix);
                }
    return CT_OK;
}

ct_status ct_cpu_col2im(ct_backend *be, const ct_conv_geom *g, int batch, const float *col, float *dx) {
    CT_TRY(check_io("col2im", g, batch, col, dx));
    const size_t plane = (size_t)g->h * g->w, opix = (size_t)g->oh * g->ow;
    const size_t K = (size_t)g->c * g->kh * g->kw;
    memset(dx, 0, (size_t)batch * g->c * plane * sizeof(float));
    for (int b = 0; b < batch; b++)
        for (int ci = 0; ci < g->c; ci++) {
            float *restrict dp = dx + ((size_t)b * g->c + ci) * plane;
            for (int i = 0; i < g->kh; i++)
                for (int j = 0; j < g->kw; j++) {
                    const float *restrict r = col + ((size_t)b * K + ((size_t)ci * g->kh + i) * g->kw + j) * opix;
                    int lo, hi;
                    valid_cols(g, j, &lo, &hi);
                    for (int oy = 0; oy < g->oh; oy++) {
                        const int iy = oy * g->stride - g->pad + i;
                        if (iy < 0 || iy >= g->h) continue;
                        const ptrdiff_t base = (ptrdiff_t)iy * g->w - g->pad + j;
                        const float *restrict src = r + (size_t)oy * g->ow;
                        if (g->stride == 1)
                            for (int ox = lo; ox < hi; ox++) dp[base + ox] += src[ox];
                        else
                            for (int ox = lo; ox < hi; ox++) dp[base + (ptrdiff_t)ox * g->stride] += src[ox];
                    }
                }
        }
    return CT_OK;
}

ct_status ct_cpu_channel_bias_act_forward(ct_backend *be, ct_activation act, int batch, int channels, int spatial,
                                          const float *bias, float *y) {
    if (batch < 0 || channels < 0 || spatial < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_act_forward: batch=%d channels=%d spatial=%d", batch,
                       channels, spatial);
    if (act != CT_ACT_NONE && act != CT_ACT_RELU)
        return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_act_forward: unknown activation %d", (int)act);
    if ((size_t)batch * channels * spatial == 0) return CT_OK;
    if (!y) return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_act_forward: y is NULL");
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < channels; c++) {
            float *restrict r = y + ((size_t)b * channels + c) * spatial;
            const float add = bias ? bias[c] : 0.0f;
            if (act == CT_ACT_RELU)
                for (int p = 0; p < spatial; p++) {
                    const float v = r[p] + add;
                    r[p] = v > 0.0f ? v : 0.0f;
                }
            else
                for (int p = 0; p < spatial; p++) r[p] += add;
        }
    return CT_OK;
}

ct_status ct_cpu_channel_bias_grad(ct_backend *be, int batch, int channels, int spatial, const float *dy, float beta,
                                   float *db) {
    if (batch < 0 || channels < 0 || spatial < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_grad: batch=%d channels=%d spatial=%d", batch, channels,
                       spatial);
    if (channels == 0) return CT_OK;
    if (!db || (!dy && (size_t)batch * spatial > 0)) return CT_FAIL(CT_ERR_INVALID_ARG, "channel_bias_grad: NULL buffer");
    for (int c = 0; c < channels; c++) {
        /* double accumulation: the sum runs over batch * spatial terms */
        double s = 0.0;
        for (int b = 0; b < batch; b++) {
            const float *restrict r = dy + ((size_t)b * channels + c) * spatial;
            float part = 0.0f;
            for (int p = 0; p < spatial; p++) part += r[p];
            s += part;
        }
        db[c] = beta == 0.0f ? (float)s : beta * db[c] + (float)s;
    }
    return CT_OK;
}

static ct_status check_pool(const char *who, const ct_conv_geom *g, int batch, const void *in, const void *out) {
    CT_TRY(check_io(who, g, batch, in, out));
    if (g->pad != 0) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: pooling takes no padding (pad %d)", who, g->pad);
    return CT_OK;
}

ct_status ct_cpu_maxpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y,
                                 int32_t *argmax) {
    CT_TRY(check_pool("maxpool_forward", g, batch, x, y));
    if (batch > 0 && !argmax) return CT_FAIL(CT_ERR_INVALID_ARG, "maxpool_forward: argmax is NULL");
    const size_t plane = (size_t)g->h * g->w, opix = (size_t)g->oh * g->ow;
    for (size_t bc = 0; bc < (size_t)batch * g->c; bc++) {
        const float *p = x + bc * plane;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                const int y0 = oy * g->stride, x0 = ox * g->stride;
                int best = y0 * g->w + x0;
                float m = p[best];
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) {
                        const int idx = (y0 + i) * g->w + x0 + j;
                        if (p[idx] > m) { /* strict: the first maximum wins, as in PyTorch */
                            m = p[idx];
                            best = idx;
                        }
                    }
                y[bc * opix + (size_t)oy * g->ow + ox] = m;
                argmax[bc * opix + (size_t)oy * g->ow + ox] = best;
            }
    }
    return CT_OK;
}

ct_status ct_cpu_maxpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy,
                                  const int32_t *argmax, float *dx) {
    CT_TRY(check_pool("maxpool_backward", g, batch, dy, dx));
    if (batch > 0 && !argmax) return CT_FAIL(CT_ERR_INVALID_ARG, "maxpool_backward: argmax is NULL");
    const size_t plane = (size_t)g->h * g->w, opix = (size_t)g->oh * g->ow;
    memset(dx, 0, (size_t)batch * g->c * plane * sizeof(float));
    for (size_t bc = 0; bc < (size_t)batch * g->c; bc++)
        for (size_t o = 0; o < opix; o++) dx[bc * plane + (size_t)argmax[bc * opix + o]] += dy[bc * opix + o];
    return CT_OK;
}

ct_status ct_cpu_avgpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y) {
    CT_TRY(check_pool("avgpool_forward", g, batch, x, y));
    const size_t plane = (size_t)g->h * g->w, opix = (size_t)g->oh * g->ow;
    const float inv = 1.0f / (float)(g->kh * g->kw);
    for (size_t bc = 0; bc < (size_t)batch * g->c; bc++) {
        const float *p = x + bc * plane;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float s = 0.0f;
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) s += p[(oy * g->stride + i) * g->w + ox * g->stride + j];
                y[bc * opix + (size_t)oy * g->ow + ox] = s * inv;
            }
    }
    return CT_OK;
}

ct_status ct_cpu_avgpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy, float *dx) {
    CT_TRY(check_pool("avgpool_backward", g, batch, dy, dx));
    const size_t plane = (size_t)g->h * g->w, opix = (size_t)g->oh * g->ow;
    const float inv = 1.0f / (float)(g->kh * g->kw);
    memset(dx, 0, (size_t)batch * g->c * plane * sizeof(float));
    for (size_t bc = 0; bc < (size_t)batch * g->c; bc++) {
        float *p = dx + bc * plane;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                const float v = dy[bc * opix + (size_t)oy * g->ow + ox] * inv;
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) p[(oy * g->stride + i) * g->w + ox * g->stride + j] += v;
            }
    }
    return CT_OK;
}
