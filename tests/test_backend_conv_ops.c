/* The convolution and pooling ops of backend.h (im2col, col2im,
 * channel_bias_act_forward, channel_bias_grad, max / average pooling forward
 * and backward) on every backend available here (CPU always; CUDA when a GPU
 * is usable), each against a float64 reference written as plain loops, on
 * random (never zero) inputs, outputs poisoned with NaN first, odd geometries
 * (stride 2, padding, non-square, overlapping windows, batch 1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_test.h"
#include "kernels/backend.h"

static ct_backend *be;
static const char *bname;
static unsigned long long rng = 0x1234567ull;

static float *dev(const float *host, size_t n) {
    void *d = NULL;
    CHECK_OK(be->ops->alloc(be, (n ? n : 1) * sizeof(float), &d));
    if (host) CHECK_OK(be->ops->memcpy_h2d(be, d, host, n * sizeof(float)));
    else CHECK_OK(be->ops->fill(be, n, NAN, d)); /* poisoned: every output element must be written */
    return d;
}
static void host(float *h, const void *d, size_t n) {
    CHECK_OK(be->ops->memcpy_d2h(be, h, d, n * sizeof(float)));
    CHECK_OK(be->ops->sync(be));
}
static float *randv(size_t n) {
    float *v = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = ct_test_uniform(&rng, -1.0f, 1.0f);
    return v;
}
static double rel_err(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}

static ct_conv_geom geom(int c, int h, int w, int k, int stride, int pad) {
    ct_conv_geom g = {c, h, w, k, k, stride, pad, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1};
    return g;
}

static long tap(const ct_conv_geom *g, int oy, int ox, int i, int j) {
    const int iy = oy * g->stride - g->pad + i, ix = ox * g->stride - g->pad + j;
    return (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) ? -1 : (long)iy * g->w + ix;
}

static void check_im2col(ct_conv_geom g, int B) {
    const size_t nx = (size_t)B * g.c * g.h * g.w, K = (size_t)g.c * g.kh * g.kw, op = (size_t)g.oh * g.ow;
    const size_t ncol = (size_t)B * K * op;
    float *x = randv(nx), *c = randv(ncol), *col = malloc(ncol * 4), *dx = malloc(nx * 4);
    double *ref = calloc(ncol, sizeof(double)), *dref = calloc(nx, sizeof(double));
    for (int b = 0; b < B; b++)
        for (int ci = 0; ci < g.c; ci++)
            for (int i = 0; i < g.kh; i++)
                for (int j = 0; j < g.kw; j++)
                    for (int oy = 0; oy < g.oh; oy++)
                        for (int ox = 0; ox < g.ow; ox++) {
                            const long t = tap(&g, oy, ox, i, j);
                            const size_t at = (((size_t)b * K + ((size_t)ci * g.kh + i) * g.kw + j) * op) + (size_t)oy * g.ow + ox;
                            const size_t xi = ((size_t)b * g.c + ci) * g.h * g.w;
                            ref[at] = t < 0 ? 0.0 : x[xi + (size_t)t];
                            if (t >= 0) dref[xi + (size_t)t] += c[at];
                        }
    float *dxp = dev(x, nx), *dcol = dev(NULL, ncol), *dc = dev(c, ncol), *ddx = dev(NULL, nx);
    CHECK_OK(be->ops->im2col(be, &g, B, dxp, dcol));
    CHECK_OK(be->ops->col2im(be, &g, B, dc, ddx));
    host(col, dcol, ncol);
    host(dx, ddx, nx);
    /* im2col copies: exact; col2im sums at most kh*kw terms per pixel */
    CHECK(rel_err(col, ref, ncol) == 0, "%s im2col c%d %dx%d k%d s%d p%d B%d: rel err %.3g", bname, g.c, g.h, g.w,
          g.kh, g.stride, g.pad, B, rel_err(col, ref, ncol));
    CHECK(rel_err(dx, dref, nx) < 1e-6, "%s col2im c%d %dx%d k%d s%d p%d B%d: rel err %.3g", bname, g.c, g.h, g.w,
          g.kh, g.stride, g.pad, B, rel_err(dx, dref, nx));
    be->ops->free(be, dxp);
    be->ops->free(be, dcol);
    be->ops->free(be, dc);
    be->ops->free(be, ddx);
    free(x), free(c), free(col), free(dx), free(ref), free(dref);
}

static void check_pool(ct_conv_geom g, int B) {
    const size_t nx = (size_t)B * g.c * g.h * g.w, ny = (size_t)B * g.c * g.oh * g.ow;
    float *x = randv(nx), *dy = randv(ny), *y = malloc(ny * 4), *dx = malloc(nx * 4);
    double *ymax = calloc(ny, 8), *yavg = calloc(ny, 8), *dmax = calloc(nx, 8), *davg = calloc(nx, 8);
    const size_t plane = (size_t)g.h * g.w;
    for (size_t bc = 0; bc < (size_t)B * g.c; bc++)
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++) {
                const size_t o = bc * g.oh * g.ow + (size_t)oy * g.ow + ox;
                long best = tap(&g, oy, ox, 0, 0);
                double s = 0;
                for (int i = 0; i < g.kh; i++)
                    for (int j = 0; j < g.kw; j++) {
                        const long t = tap(&g, oy, ox, i, j);
                        s += x[bc * plane + t];
                        if (x[bc * plane + t] > x[bc * plane + best]) best = t;
                    }
                ymax[o] = x[bc * plane + best];
                yavg[o] = s / (g.kh * g.kw);
                dmax[bc * plane + best] += dy[o];
                for (int i = 0; i < g.kh; i++)
                    for (int j = 0; j < g.kw; j++) davg[bc * plane + tap(&g, oy, ox, i, j)] += dy[o] / (g.kh * g.kw);
            }
    float *dxp = dev(x, nx), *ddy = dev(dy, ny), *dyo = dev(NULL, ny), *ddx = dev(NULL, nx);
    int32_t *arg = (int32_t *)dev(NULL, ny);
    CHECK_OK(be->ops->maxpool_forward(be, &g, B, dxp, dyo, arg));
    host(y, dyo, ny);
    CHECK(rel_err(y, ymax, ny) == 0, "%s maxpool fwd c%d %dx%d k%d s%d B%d", bname, g.c, g.h, g.w, g.kh, g.stride, B);
    CHECK_OK(be->ops->maxpool_backward(be, &g, B, ddy, arg, ddx));
    host(dx, ddx, nx);
    CHECK(rel_err(dx, dmax, nx) < 1e-6, "%s maxpool bwd c%d %dx%d k%d s%d B%d: rel err %.3g", bname, g.c, g.h, g.w, g.kh,
          g.stride, B, rel_err(dx, dmax, nx));
    CHECK_OK(be->ops->fill(be, ny, NAN, dyo));
    CHECK_OK(be->ops->fill(be, nx, NAN, ddx));
    CHECK_OK(be->ops->avgpool_forward(be, &g, B, dxp, dyo));
    host(y, dyo, ny);
    CHECK(rel_err(y, yavg, ny) < 1e-6, "%s avgpool fwd: rel err %.3g", bname, rel_err(y, yavg, ny));
    CHECK_OK(be->ops->avgpool_backward(be, &g, B, ddy, ddx));
    host(dx, ddx, nx);
    CHECK(rel_err(dx, davg, nx) < 1e-6, "%s avgpool bwd: rel err %.3g", bname, rel_err(dx, davg, nx));
    /* padding is refused, and nothing is written */
    ct_conv_geom padded = geom(g.c, g.h, g.w, g.kh, g.stride, 1);
    CHECK(be->ops->maxpool_forward(be, &padded, B, dxp, dyo, arg) == CT_ERR_INVALID_ARG, "padded pool refused");
    be->ops->free(be, dxp);
    be->ops->free(be, ddy);
    be->ops->free(be, dyo);
    be->ops->free(be, ddx);
    be->ops->free(be, arg);
    free(x), free(dy), free(y), free(dx), free(ymax), free(yavg), free(dmax), free(davg);
}

static void check_channel_bias(int B, int C, int S) {
    const size_t n = (size_t)B * C * S;
    float *y0 = randv(n), *bias = randv((size_t)C), *db0 = randv((size_t)C), *y = malloc(n * 4), *db = malloc(C * 4);
    double *ref = malloc(n * 8), *dref = malloc(C * 8);
    for (int act = 0; act < 2; act++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            if (!act && !with_bias) continue;
            for (size_t i = 0; i < n; i++) {
                double v = (double)y0[i] + (with_bias ? bias[(i / S) % C] : 0.0);
                ref[i] = act && v < 0 ? 0 : v;
            }
            float *dy = dev(y0, n), *db_ = dev(bias, (size_t)C);
            CHECK_OK(be->ops->channel_bias_act_forward(be, act ? CT_ACT_RELU : CT_ACT_NONE, B, C, S,
                                                       with_bias ? db_ : NULL, dy));
            host(y, dy, n);
            CHECK(rel_err(y, ref, n) < 1e-7, "%s channel_bias_act act%d bias%d B%d C%d S%d: rel err %.3g", bname, act,
                  with_bias, B, C, S, rel_err(y, ref, n));
            be->ops->free(be, dy);
            be->ops->free(be, db_);
        }
    for (int k = 0; k < 2; k++) {
        const float beta = k ? 0.75f : 0.0f;
        for (int c = 0; c < C; c++) {
            double s = k ? beta * (double)db0[c] : 0.0;
            for (int b = 0; b < B; b++)
                for (int p = 0; p < S; p++) s += y0[((size_t)b * C + c) * S + p];
            dref[c] = s;
        }
        float *dy = dev(y0, n), *ddb = k ? dev(db0, (size_t)C) : dev(NULL, (size_t)C);
        CHECK_OK(be->ops->channel_bias_grad(be, B, C, S, dy, beta, ddb));
        host(db, ddb, (size_t)C);
        /* sums of B*S terms of O(1): float error ~ sqrt(B*S) eps relative to the terms */
        double worst = 0;
        for (int c = 0; c < C; c++) {
            const double tol = 1e-6 * sqrt((double)B * S) * (1 + fabs(dref[c]));
            const double e = fabs(db[c] - dref[c]) / tol;
            worst = e > worst || !isfinite(db[c]) ? (isfinite(db[c]) ? e : INFINITY) : worst;
        }
        CHECK(worst <= 1, "%s channel_bias_grad beta %g B%d C%d S%d: error %.3g x tolerance", bname, beta, B, C, S,
              worst);
        be->ops->free(be, dy);
        be->ops->free(be, ddb);
    }
    free(y0), free(bias), free(db0), free(y), free(db), free(ref), free(dref);
}

static void check_bad_geometry(void) {
    ct_conv_geom g = geom(2, 5, 5, 3, 1, 0);
    g.oh = 4; /* inconsistent */
    float *a = dev(NULL, 64), *b = dev(NULL, 512);
    CHECK(be->ops->im2col(be, &g, 1, a, b) == CT_ERR_INVALID_ARG, "%s: inconsistent output size refused", bname);
    ct_conv_geom big = geom(1, 3, 3, 5, 1, 0);
    big.oh = big.ow = 1;
    CHECK(be->ops->im2col(be, &big, 1, a, b) == CT_ERR_INVALID_ARG, "%s: kernel larger than the input refused", bname);
    be->ops->free(be, a);
    be->ops->free(be, b);
}

static void run_all(void) {
    check_im2col(geom(3, 7, 5, 3, 2, 1), 2);
    check_im2col(geom(1, 28, 28, 5, 1, 2), 1);
    check_im2col(geom(2, 6, 9, 1, 1, 0), 3);
    check_im2col(geom(4, 8, 8, 4, 3, 2), 2);
    check_pool(geom(3, 8, 8, 2, 2, 0), 2);
    check_pool(geom(2, 7, 9, 3, 2, 0), 3); /* overlapping windows, odd sides */
    check_pool(geom(1, 5, 4, 2, 1, 0), 1);
    check_channel_bias(3, 5, 49);
    check_channel_bias(1, 16, 1);
    check_channel_bias(64, 6, 784);
    check_bad_geometry();
}

int main(void) {
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU, &cfg, &be));
    bname = "cpu";
    if (be) run_all();
    ct_backend_destroy(be);
    if (ct_backend_device_count(CT_DEVICE_CUDA) > 0) {
        CHECK_OK(ct_backend_create(CT_DEVICE_CUDA, &cfg, &be));
        bname = "cuda";
        if (be) run_all();
        ct_backend_destroy(be);
    } else {
        printf("cuda: no usable GPU here, CPU only\n");
    }
    return ct_test_done("test_backend_conv_ops");
}
