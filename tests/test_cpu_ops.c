/* Every CPU backend op against a naive float64 reference written here, on
 * random nonzero inputs of odd sizes, with NaN-poisoned outputs (so an element
 * the op forgot to write shows up as a failure). Also finite-difference checks
 * of the gradients, exactness of the packed bits, unbiasedness of the
 * stochastic quantizer, and loose timing bounds of throttle. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "codedtrain/rng.h"
#include "ct_test.h"
#include "kernels/backend.h"

static ct_backend *be;
static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static float *dev_floats(size_t n) {
    void *p = NULL;
    CHECK_OK(be->ops->alloc(be, (n ? n : 1) * sizeof(float), &p));
    if (!p) {
        fprintf(stderr, "allocation of %zu floats failed\n", n);
        exit(1);
    }
    return p;
}
static void dev_free(void *p) { be->ops->free(be, p); }

/* uniform in [lo, hi), never exactly zero */
static void fill_random(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float v = ct_test_uniform(&rng_state, lo, hi);
        x[i] = v != 0.0f ? v : 0.5f * hi;
    }
}
static void poison(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = NAN;
}
static double rel_err_d(const float *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}
/* error relative to the sum of the terms' magnitudes (cancellation-proof):
 * ||a - ref|| / ||mag|| with mag_i = sum of |terms| of element i */
static double rel_err_mag(const float *a, const double *ref, const double *mag, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += mag[i] * mag[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}
static double *dbuf(size_t n) {
    double *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) exit(1);
    return p;
}
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static const size_t odd_sizes[] = {1, 31, 1000003};

/* ---------------- GEMM ---------------- */
static void test_gemm(void) {
    const int shapes[][3] = {{1, 1, 1}, {31, 17, 5}, {64, 33, 129}, {7, 1, 300}, {2, 257, 31}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bi = 0; bi < 2; bi++)
                    for (int pad = 0; pad < 2; pad++) {
                        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                        const float alpha = 0.7f, beta = bi ? -1.3f : 0.0f;
                        const int lda = (ta ? M : K) + 3 * pad, ldb = (tb ? K : N) + 2 * pad, ldc = N + pad;
                        const int arows = ta ? K : M, brows = tb ? N : K;
                        float *A = dev_floats((size_t)arows * lda), *B = dev_floats((size_t)brows * ldb);
                        float *C = dev_floats((size_t)M * ldc);
                        fill_random(A, (size_t)arows * lda, -1, 1);
                        fill_random(B, (size_t)brows * ldb, -1, 1);
                        if (beta == 0.0f) poison(C, (size_t)M * ldc);
                        else fill_random(C, (size_t)M * ldc, -1, 1);
                        double *ref = dbuf((size_t)M * N);
                        for (int i = 0; i < M; i++)
                            for (int j = 0; j < N; j++) {
                                double acc = 0;
                                for (int k = 0; k < K; k++) {
                                    double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                                    double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                                    acc += a * b;
                                }
                                ref[(size_t)i * N + j] = alpha * acc + (beta != 0.0f ? beta * (double)C[(size_t)i * ldc + j] : 0.0);
                            }
                        CHECK_OK(be->ops->gemm(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
                        float *packed = malloc((size_t)M * N * sizeof(float));
                        for (int i = 0; i < M; i++) memcpy(packed + (size_t)i * N, C + (size_t)i * ldc, N * sizeof(float));
                        double e = rel_err_d(packed, ref, (size_t)M * N);
                        CHECK(e < 1e-5, "gemm M=%d N=%d K=%d ta=%d tb=%d beta=%g pad=%d: rel err %g", M, N, K, ta, tb,
                              (double)beta, pad, e);
                        /* padding columns of C are not part of the output: untouched */
                        if (pad && beta == 0.0f) CHECK(isnan(C[N]), "gemm wrote into C's padding");
                        free(packed);
                        free(ref);
                        dev_free(A);
                        dev_free(B);
                        dev_free(C);
                    }
    CHECK(be->ops->gemm(be, 0, 0, 2, 2, 2, 1.0f, NULL, 1, NULL, 2, 0.0f, NULL, 2) == CT_ERR_INVALID_ARG,
          "gemm with lda < K must be rejected");
}

/* ---------------- bias + activation ---------------- */
static double act_d(ct_activation act, double z) { return act == CT_ACT_RELU ? (z > 0 ? z : 0) : z; }

static void test_bias_act(void) {
    const int shapes[][2] = {{1, 1}, {31, 7}, {5, 31}, {3, 1000003}};
    for (size_t s = 0; s < 4; s++)
        for (int a = 0; a < 2; a++)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                const ct_activation act = a ? CT_ACT_RELU : CT_ACT_NONE;
                const int rows = shapes[s][0], cols = shapes[s][1];
                const size_t n = (size_t)rows * cols;
                float *y = dev_floats(n), *b = dev_floats(cols);
                fill_random(y, n, -1, 1);
                fill_random(b, cols, -0.5f, 0.5f);
                double *ref = dbuf(n);
                for (size_t i = 0; i < n; i++)
                    ref[i] = act_d(act, (double)(float)(y[i] + (with_bias ? b[i % cols] : 0.0f)));
                CHECK_OK(be->ops->bias_act_forward(be, act, rows, cols, with_bias ? b : NULL, y));
                double e = rel_err_d(y, ref, n);
                CHECK(e == 0.0, "bias_act_forward %dx%d act=%d bias=%d: rel err %g (expected exact)", rows, cols, a,
                      with_bias, e);
                free(ref);
                dev_free(y);
                dev_free(b);
            }
    for (size_t s = 0; s < 3; s++) {
        const size_t n = odd_sizes[s];
        float *y = dev_floats(n), *dy = dev_floats(n);
        fill_random(y, n, -1, 1);
        for (size_t i = 0; i < n; i += 3) y[i] = y[i] > 0 ? y[i] : 0.0f; /* relu outputs: exact zeros */
        fill_random(dy, n, -2, 2);
        double *ref = dbuf(n);
        for (size_t i = 0; i < n; i++) ref[i] = y[i] > 0 ? dy[i] : 0.0;
        CHECK_OK(be->ops->act_backward(be, CT_ACT_RELU, n, y, dy));
        CHECK(rel_err_d(dy, ref, n) == 0.0, "act_backward relu n=%zu not exact", n);
        for (size_t i = 0; i < n; i++) ref[i] = dy[i];
        CHECK_OK(be->ops->act_backward(be, CT_ACT_NONE, n, y, dy));
        CHECK(rel_err_d(dy, ref, n) == 0.0, "act_backward none n=%zu changed dy", n);
        free(ref);
        dev_free(y);
        dev_free(dy);
    }
}

/* L(z, b) = sum_rc c_rc * relu(z_rc + b_c): the forward op gives L, act_backward
 * and bias_grad give dL/dz and dL/db; compare with central differences. */
static double fd_loss(int rows, int cols, const float *z, const float *b, const float *c, float *work) {
    memcpy(work, z, (size_t)rows * cols * sizeof(float));
    if (be->ops->bias_act_forward(be, CT_ACT_RELU, rows, cols, b, work) != CT_OK) return NAN;
    double L = 0;
    for (size_t i = 0; i < (size_t)rows * cols; i++) L += (double)c[i] * work[i];
    return L;
}

static void test_bias_act_gradients(void) {
    const int rows = 9, cols = 13;
    const size_t n = (size_t)rows * cols;
    float *z = dev_floats(n), *b = dev_floats(cols), *c = dev_floats(n), *y = dev_floats(n), *work = dev_floats(n);
    float *db = dev_floats(cols);
    fill_random(z, n, -1, 1);
    fill_random(b, cols, -0.3f, 0.3f);
    fill_random(c, n, -1, 1);
    memcpy(y, z, n * sizeof(float));
    CHECK_OK(be->ops->bias_act_forward(be, CT_ACT_RELU, rows, cols, b, y));
    float *dz = dev_floats(n);
    memcpy(dz, c, n * sizeof(float));
    CHECK_OK(be->ops->act_backward(be, CT_ACT_RELU, n, y, dz));
    poison(db, cols);
    CHECK_OK(be->ops->bias_grad(be, rows, cols, dz, 0.0f, db));
    const float h = 1e-3f;
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        const float pre = z[i] + b[i % cols];
        if (fabsf(pre) < 4 * h) continue; /* the kink of relu: no derivative there */
        const float z0 = z[i];
        z[i] = z0 + h;
        double lp = fd_loss(rows, cols, z, b, c, work);
        z[i] = z0 - h;
        double lm = fd_loss(rows, cols, z, b, c, work);
        z[i] = z0;
        double fd = (lp - lm) / (2.0 * h);
        CHECK(fabs(fd - dz[i]) < 1e-3 * (1 + fabs(fd)), "relu grad at %zu: fd %g, act_backward %g", i, fd, (double)dz[i]);
        checked++;
    }
    CHECK(checked > (int)n / 2, "too few relu coordinates away from the kink (%d)", checked);
    for (int col = 0; col < cols; col++) {
        int near_kink = 0;
        for (int r = 0; r < rows; r++) near_kink |= fabsf(z[(size_t)r * cols + col] + b[col]) < 4 * h;
        if (near_kink) continue;
        const float b0 = b[col];
        b[col] = b0 + h;
        double lp = fd_loss(rows, cols, z, b, c, work);
        b[col] = b0 - h;
        double lm = fd_loss(rows, cols, z, b, c, work);
        b[col] = b0;
        double fd = (lp - lm) / (2.0 * h);
        CHECK(fabs(fd - db[col]) < 1e-3 * (1 + fabs(fd)), "bias grad col %d: fd %g, bias_grad %g", col, fd, (double)db[col]);
    }
    dev_free(z); dev_free(b); dev_free(c); dev_free(y); dev_free(work); dev_free(db); dev_free(dz);
}

static void test_bias_grad(void) {
    const int shapes[][2] = {{1, 1}, {31, 31}, {257, 10}, {3, 1000003}};
    for (size_t s = 0; s < 4; s++)
        for (int bi = 0; bi < 3; bi++) {
            const int rows = shapes[s][0], cols = shapes[s][1];
            const float beta = bi == 0 ? 0.0f : bi == 1 ? 1.0f : 0.5f;
            float *dz = dev_floats((size_t)rows * cols), *db = dev_floats(cols);
            fill_random(dz, (size_t)rows * cols, -1, 1);
            if (beta == 0.0f) poison(db, cols);
            else fill_random(db, cols, -1, 1);
            double *ref = dbuf(cols);
            for (int c = 0; c < cols; c++) {
                double acc = beta != 0.0f ? (double)beta * db[c] : 0.0;
                for (int r = 0; r < rows; r++) acc += dz[(size_t)r * cols + c];
                ref[c] = acc;
            }
            CHECK_OK(be->ops->bias_grad(be, rows, cols, dz, beta, db));
            double e = rel_err_d(db, ref, cols);
            CHECK(e < 1e-5, "bias_grad %dx%d beta=%g: rel err %g", rows, cols, (double)beta, e);
            free(ref);
            dev_free(dz);
            dev_free(db);
        }
}

/* ---------------- softmax cross-entropy ---------------- */
static double xent_ref(int rows, int classes, const float *x, const int32_t *lab, const float *w, double *grad) {
    double loss = 0;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * classes;
        const double wr = w ? w[r] : 1.0 / rows;
        double mx = xr[0];
        for (int c = 1; c < classes; c++) mx = xr[c] > mx ? xr[c] : mx;
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += exp(xr[c] - mx);
        loss += wr * (log(sum) - (xr[lab[r]] - mx));
        if (grad)
            for (int c = 0; c < classes; c++)
                grad[(size_t)r * classes + c] = wr * (exp(xr[c] - mx) / sum - (c == lab[r]));
    }
    return loss;
}

static void test_softmax_xent(void) {
    const int shapes[][2] = {{1, 1}, {1, 10}, {31, 10}, {200, 31}, {3, 1000}};
    for (size_t s = 0; s < 5; s++)
        for (int weighted = 0; weighted < 2; weighted++)
            for (int alias = 0; alias < 2; alias++) {
                const int rows = shapes[s][0], classes = shapes[s][1];
                const size_t n = (size_t)rows * classes;
                float *x = dev_floats(n), *w = dev_floats(rows), *loss = dev_floats(1);
                float *g = alias ? x : dev_floats(n);
                int32_t *lab = NULL;
                CHECK_OK(be->ops->alloc(be, rows * sizeof(int32_t), (void **)&lab));
                fill_random(x, n, -4, 4);
                fill_random(w, rows, 0.01f, 1.0f);
                for (int r = 0; r < rows; r++) lab[r] = (int32_t)(ct_test_rng_next(&rng_state) % (unsigned)classes);
                double *ref = dbuf(n);
                double lref = xent_ref(rows, classes, x, lab, weighted ? w : NULL, ref);
                if (!alias) poison(g, n);
                poison(loss, 1);
                CHECK_OK(be->ops->softmax_xent(be, rows, classes, x, lab, weighted ? w : NULL, g, loss));
                double eg = rel_err_d(g, ref, n);
                /* classes == 1: the gradient is exactly zero; compare absolutely */
                if (classes == 1) {
                    double mx = 0;
                    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(g[i]));
                    CHECK(mx < 1e-7 && isfinite(g[0]), "softmax_xent 1 class: gradient %g", mx);
                } else {
                    CHECK(eg < 1e-5, "softmax_xent %dx%d w=%d alias=%d: dlogits rel err %g", rows, classes, weighted,
                          alias, eg);
                }
                CHECK(fabs(loss[0] - lref) <= 1e-5 * fmax(1.0, fabs(lref)), "softmax_xent %dx%d w=%d: loss %g, ref %g",
                      rows, classes, weighted, (double)loss[0], lref);
                free(ref);
                if (!alias) dev_free(g);
                dev_free(x);
                dev_free(w);
                dev_free(loss);
                dev_free(lab);
            }
    /* finite differences of the float64 reference loss against the op's gradient */
    {
        const int rows = 7, classes = 9;
        const size_t n = (size_t)rows * classes;
        float *x = dev_floats(n), *w = dev_floats(rows), *g = dev_floats(n), *loss = dev_floats(1);
        int32_t lab[7];
        fill_random(x, n, -3, 3);
        fill_random(w, rows, 0.1f, 1.0f);
        for (int r = 0; r < rows; r++) lab[r] = (r * 5) % classes;
        CHECK_OK(be->ops->softmax_xent(be, rows, classes, x, lab, w, g, loss));
        const float h = 1e-2f;
        for (size_t i = 0; i < n; i++) {
            const float x0 = x[i];
            x[i] = x0 + h;
            double lp = xent_ref(rows, classes, x, lab, w, NULL);
            x[i] = x0 - h;
            double lm = xent_ref(rows, classes, x, lab, w, NULL);
            x[i] = x0;
            double fd = (lp - lm) / ((double)(x0 + h) - (double)(x0 - h));
            CHECK(fabs(fd - g[i]) < 1e-4 * (1 + fabs(fd)), "softmax_xent fd at %zu: fd %g, op %g", i, fd, (double)g[i]);
        }
        lab[3] = classes; /* out of range: a clear error, not a wild read */
        CHECK(be->ops->softmax_xent(be, rows, classes, x, lab, w, g, loss) == CT_ERR_INVALID_ARG,
              "softmax_xent must reject label %d with %d classes", classes, classes);
        dev_free(x); dev_free(w); dev_free(g); dev_free(loss);
    }
}

/* ---------------- SGD ---------------- */
static void test_sgd(void) {
    for (size_t s = 0; s < 3; s++)
        for (int mode = 0; mode < 3; mode++) { /* 0: no velocity, 1: momentum 0 with v, 2: momentum */
            const size_t n = odd_sizes[s];
            const float lr = 0.05f, mom = mode == 2 ? 0.9f : 0.0f, wd = 1e-3f;
            float *p = dev_floats(n), *g = dev_floats(n), *v = mode ? dev_floats(n) : NULL;
            fill_random(p, n, -1, 1);
            fill_random(g, n, -1, 1);
            if (mode == 2) fill_random(v, n, -0.1f, 0.1f);
            if (mode == 1) poison(v, n);
            double *pref = dbuf(n), *vref = dbuf(n);
            for (size_t i = 0; i < n; i++) {
                double vi = (mode == 2 ? (double)mom * v[i] : 0.0) + (g[i] + (double)wd * p[i]);
                vref[i] = vi;
                pref[i] = p[i] - (double)lr * vi;
            }
            CHECK_OK(be->ops->sgd_update(be, n, lr, mom, wd, p, g, v));
            double ep = rel_err_d(p, pref, n);
            CHECK(ep < 1e-6, "sgd_update n=%zu mode=%d: p rel err %g", n, mode, ep);
            if (v) {
                double ev = rel_err_d(v, vref, n);
                CHECK(ev < 1e-6, "sgd_update n=%zu mode=%d: v rel err %g", n, mode, ev);
            }
            free(pref);
            free(vref);
            dev_free(p);
            dev_free(g);
            dev_free(v);
        }
    CHECK(be->ops->sgd_update(be, 4, 0.1f, 0.9f, 0.0f, (float[4]){0}, (float[4]){0}, NULL) == CT_ERR_INVALID_ARG,
          "sgd_update with momentum and no velocity must be rejected");
}

/* ---------------- vector ops and copies ---------------- */
static void test_vector(void) {
    for (size_t s = 0; s < 3; s++) {
        const size_t n = odd_sizes[s];
        float *x = dev_floats(n), *y = dev_floats(n), *z = dev_floats(n);
        double *ref = dbuf(n);
        poison(x, n);
        CHECK_OK(be->ops->fill(be, n, -2.5f, x));
        for (size_t i = 0; i < n; i++) ref[i] = -2.5;
        CHECK(rel_err_d(x, ref, n) == 0.0, "fill n=%zu", n);

        fill_random(x, n, -1, 1);
        for (size_t i = 0; i < n; i++) ref[i] = (double)x[i] * 0.37f;
        CHECK_OK(be->ops->scale(be, n, 0.37f, x));
        CHECK(rel_err_d(x, ref, n) < 1e-7, "scale n=%zu: %g", n, rel_err_d(x, ref, n));

        fill_random(x, n, -1, 1);
        fill_random(y, n, -1, 1);
        for (size_t i = 0; i < n; i++) ref[i] = y[i] + (double)-1.7f * x[i];
        CHECK_OK(be->ops->axpy(be, n, -1.7f, x, y));
        CHECK(rel_err_d(y, ref, n) < 1e-6, "axpy n=%zu: %g", n, rel_err_d(y, ref, n));

        double ss = 0, dt = 0, out = NAN;
        for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i], dt += (double)x[i] * y[i];
        CHECK_OK(be->ops->nrm2(be, n, x, &out));
        CHECK(fabs(out - sqrt(ss)) <= 1e-12 * sqrt(ss), "nrm2 n=%zu: %.17g vs %.17g", n, out, sqrt(ss));
        out = NAN;
        CHECK_OK(be->ops->dot(be, n, x, y, &out));
        CHECK(fabs(out - dt) <= 1e-12 * ss, "dot n=%zu: %.17g vs %.17g", n, out, dt);

        int ok = -1;
        CHECK_OK(be->ops->all_finite(be, n, x, &ok));
        CHECK(ok == 1, "all_finite n=%zu on finite data: %d", n, ok);
        const float bad[3] = {NAN, INFINITY, -INFINITY};
        const size_t where[3] = {n - 1, 0, n / 2};
        for (int b = 0; b < 3; b++) {
            const float keep = x[where[b]];
            x[where[b]] = bad[b];
            ok = -1;
            CHECK_OK(be->ops->all_finite(be, n, x, &ok));
            CHECK(ok == 0, "all_finite n=%zu missed %g at %zu", n, (double)bad[b], where[b]);
            /* the device-flag form: sets the flag, never clears it */
            int flag = 0;
            CHECK_OK(be->ops->flag_nonfinite(be, n, x, &flag));
            CHECK(flag == 1, "flag_nonfinite n=%zu missed %g at %zu", n, (double)bad[b], where[b]);
            x[where[b]] = keep;
            CHECK_OK(be->ops->flag_nonfinite(be, n, x, &flag));
            CHECK(flag == 1, "flag_nonfinite n=%zu cleared a set flag", n);
            flag = 0;
            CHECK_OK(be->ops->flag_nonfinite(be, n, x, &flag));
            CHECK(flag == 0, "flag_nonfinite n=%zu flagged finite data", n);
        }

        /* copies: h2d, d2d, d2h round trip is exact */
        float *host = malloc(n * sizeof(float)), *back = malloc(n * sizeof(float));
        fill_random(host, n, -1, 1);
        poison(z, n);
        CHECK_OK(be->ops->memcpy_h2d(be, x, host, n * sizeof(float)));
        CHECK_OK(be->ops->memcpy_d2d(be, z, x, n * sizeof(float)));
        CHECK_OK(be->ops->memcpy_d2h(be, back, z, n * sizeof(float)));
        CHECK_OK(be->ops->sync(be));
        CHECK(memcmp(host, back, n * sizeof(float)) == 0, "memcpy round trip n=%zu", n);
        free(host);
        free(back);
        free(ref);
        dev_free(x);
        dev_free(y);
        dev_free(z);
    }
}

/* ---------------- coding ops ---------------- */
static void test_combine(void) {
    const int md[] = {1, 3, 16};
    for (size_t s = 0; s < 3; s++)
        for (int mi = 0; mi < 3; mi++)
            for (int di = 0; di < 3; di++)
                for (int bi = 0; bi < 2; bi++) {
                    const size_t P = odd_sizes[s];
                    const int m = md[mi], d = md[di];
                    if (P > 100000 && m * d > 48) continue; /* keep the big size to a few shapes */
                    const float beta = bi ? 0.5f : 0.0f;
                    float E[16 * 16];
                    fill_random(E, (size_t)m * d, -1, 1);
                    float *G[16], *Y[16];
                    for (int j = 0; j < d; j++) { G[j] = dev_floats(P); fill_random(G[j], P, -1, 1); }
                    for (int l = 0; l < m; l++) {
                        Y[l] = dev_floats(P);
                        if (beta == 0.0f) poison(Y[l], P);
                        else fill_random(Y[l], P, -1, 1);
                    }
                    double *ref = dbuf((size_t)m * P), *mag = dbuf((size_t)m * P);
                    for (int l = 0; l < m; l++)
                        for (size_t i = 0; i < P; i++) {
                            double acc = beta != 0.0f ? (double)beta * Y[l][i] : 0.0, ab = fabs(acc);
                            for (int j = 0; j < d; j++) {
                                acc += (double)E[l * d + j] * G[j][i];
                                ab += fabs((double)E[l * d + j] * G[j][i]);
                            }
                            ref[(size_t)l * P + i] = acc;
                            mag[(size_t)l * P + i] = ab;
                        }
                    CHECK_OK(be->ops->combine(be, m, d, E, (const float *const *)G, P, Y, beta));
                    for (int l = 0; l < m; l++) {
                        double e = rel_err_mag(Y[l], ref + (size_t)l * P, mag + (size_t)l * P, P);
                        CHECK(e < 1e-6, "combine P=%zu m=%d d=%d beta=%g: Y[%d] rel err %g", P, m, d, (double)beta, l, e);
                    }
                    free(ref);
                    free(mag);
                    for (int j = 0; j < d; j++) dev_free(G[j]);
                    for (int l = 0; l < m; l++) dev_free(Y[l]);
                }
    /* the largest code shape, and the alias rule */
    {
        enum { MM = CT_COMBINE_MAX, P = 37 };
        static float E[MM * MM];
        float *G[MM], *Y[MM];
        fill_random(E, MM * MM, -1, 1);
        for (int j = 0; j < MM; j++) { G[j] = dev_floats(P); fill_random(G[j], P, -1, 1); }
        for (int l = 0; l < MM; l++) { Y[l] = dev_floats(P); poison(Y[l], P); }
        CHECK_OK(be->ops->combine(be, MM, MM, E, (const float *const *)G, P, Y, 0.0f));
        double worst = 0;
        for (int l = 0; l < MM; l++) {
            double ref[P], mag[P];
            for (int i = 0; i < P; i++) {
                ref[i] = mag[i] = 0;
                for (int j = 0; j < MM; j++) {
                    ref[i] += (double)E[l * MM + j] * G[j][i];
                    mag[i] += fabs((double)E[l * MM + j] * G[j][i]);
                }
            }
            worst = fmax(worst, rel_err_mag(Y[l], ref, mag, P));
        }
        CHECK(worst < 1e-5, "combine m=d=%d: rel err %g", MM, worst);
        float *Ya[1] = {G[0]};
        CHECK(be->ops->combine(be, 1, 2, E, (const float *const *)G, P, Ya, 1.0f) == CT_ERR_INVALID_ARG,
              "combine must reject Y aliasing G");
        CHECK(be->ops->combine(be, MM + 1, 1, E, (const float *const *)G, P, Y, 1.0f) == CT_ERR_INVALID_ARG,
              "combine must reject m > CT_COMBINE_MAX");
        for (int j = 0; j < MM; j++) dev_free(G[j]);
        for (int l = 0; l < MM; l++) dev_free(Y[l]);
    }
}

static uint32_t *dev_words(size_t P) {
    void *p = NULL;
    size_t w = (P + 31) / 32;
    CHECK_OK(be->ops->alloc(be, (w ? w : 1) * sizeof(uint32_t), &p));
    memset(p, 0xA5, (w ? w : 1) * sizeof(uint32_t)); /* poison: a pattern no valid word has in its padding */
    return p;
}
static int bit_of(const uint32_t *bits, size_t i) { return (bits[i / 32] >> (i % 32)) & 1u; }

static void test_sign_pack_ef(void) {
    for (size_t s = 0; s < 3; s++) {
        const size_t P = odd_sizes[s];
        float *x = dev_floats(P), *e = dev_floats(P), *scale = dev_floats(1);
        float *eref = malloc(P * sizeof(float)), *xsum = calloc(P, sizeof(float));
        double *qsum = calloc(P, sizeof(double)), *xtot = calloc(P, sizeof(double));
        uint32_t *bits = dev_words(P);
        fill_random(e, P, -0.1f, 0.1f);
        for (size_t i = 0; i < P; i++) xtot[i] = e[i]; /* e_0 enters the telescoping sum */
        for (int step = 0; step < 3; step++) {
            fill_random(x, P, -1, 1);
            if (step == 1 && P > 2) x[1] = -e[1]; /* p exactly 0 -> +1 */
            double l1 = 0;
            for (size_t i = 0; i < P; i++) l1 += fabs((double)(x[i] + e[i]));
            const float sref = (float)(l1 / (double)P);
            memset(bits, 0xA5, (P + 31) / 32 * sizeof(uint32_t));
            poison(scale, 1);
            memcpy(eref, e, P * sizeof(float));
            CHECK_OK(be->ops->sign_pack(be, CT_QUANT_SIGN_EF, P, x, 0, e, bits, scale));
            CHECK(fabsf(scale[0] - sref) <= 1e-7f * sref, "sign_ef P=%zu: scale %.9g vs %.9g", P, (double)scale[0], (double)sref);
            size_t wrong = 0, ewrong = 0;
            for (size_t i = 0; i < P; i++) {
                const float p = x[i] + eref[i];
                const int bit = p >= 0.0f;
                wrong += bit_of(bits, i) != bit;
                const float enew = bit ? p - scale[0] : p + scale[0];
                ewrong += enew != e[i];
                qsum[i] += bit ? scale[0] : -(double)scale[0];
                xtot[i] += x[i];
            }
            CHECK(wrong == 0, "sign_ef P=%zu step %d: %zu wrong bits", P, step, wrong);
            CHECK(ewrong == 0, "sign_ef P=%zu step %d: %zu wrong error-feedback values", P, step, ewrong);
            if (P % 32) CHECK((bits[P / 32] >> (P % 32)) == 0, "sign_ef P=%zu: padding bits not zero", P);
            if (step == 1 && P > 2) CHECK(bit_of(bits, 1) == 1, "sign_ef: p == 0 must pack as +1");
        }
        /* error feedback loses nothing: sum_t q_t + e_T = e_0 + sum_t x_t */
        double worst = 0;
        for (size_t i = 0; i < P; i++) worst = fmax(worst, fabs(qsum[i] + e[i] - xtot[i]));
        CHECK(worst < 1e-5, "sign_ef P=%zu: telescoping residual %g", P, worst);
        free(eref); free(xsum); free(qsum); free(xtot);
        dev_free(x); dev_free(e); dev_free(scale); dev_free(bits);
    }
}

static void test_sign_pack_stochastic(void) {
    for (size_t s = 0; s < 3; s++) {
        const size_t P = odd_sizes[s];
        float *x = dev_floats(P), *scale = dev_floats(1);
        uint32_t *bits = dev_words(P);
        fill_random(x, P, -1, 1);
        x[P / 2] = -3.0f; /* the extreme: always -1 */
        const uint64_t seed = 0x1234 + s;
        poison(scale, 1);
        CHECK_OK(be->ops->sign_pack(be, CT_QUANT_STOCHASTIC, P, x, seed, NULL, bits, scale));
        CHECK(scale[0] == 3.0f, "stochastic P=%zu: scale %g, expected max|x| = 3", P, (double)scale[0]);
        size_t wrong = 0;
        for (size_t i = 0; i < P; i++) {
            const float u = (float)(ct_hash64(seed, i) >> 40) * 0x1p-24f;
            const float prob = (1.0f + x[i] / 3.0f) * 0.5f;
            wrong += bit_of(bits, i) != (u < prob);
        }
        CHECK(wrong == 0, "stochastic P=%zu: %zu bits differ from the reference draw", P, wrong);
        CHECK(bit_of(bits, P / 2) == 0, "stochastic: x = -R must pack as -1");
        if (P % 32) CHECK((bits[P / 32] >> (P % 32)) == 0, "stochastic P=%zu: padding bits not zero", P);
        /* all-zero input: scale 0, every bit +1 */
        for (size_t i = 0; i < P; i++) x[i] = 0.0f;
        CHECK_OK(be->ops->sign_pack(be, CT_QUANT_STOCHASTIC, P, x, seed, NULL, bits, scale));
        size_t ones = 0;
        for (size_t i = 0; i < P; i++) ones += bit_of(bits, i);
        CHECK(scale[0] == 0.0f && ones == P, "stochastic zero input: scale %g, %zu of %zu bits set", (double)scale[0], ones, P);
        dev_free(x); dev_free(scale); dev_free(bits);
    }
    /* unbiasedness: mean of q over T seeds is within 5 standard errors of x
     * (sd of q_i is sqrt(R^2 - x_i^2) <= R) */
    {
        enum { P = 97, T = 20000 };
        float *x = dev_floats(P), *scale = dev_floats(1);
        uint32_t *bits = dev_words(P);
        fill_random(x, P, -2, 2);
        double mean[P] = {0};
        for (int t = 0; t < T; t++) {
            CHECK_OK(be->ops->sign_pack(be, CT_QUANT_STOCHASTIC, P, x, 1000 + (uint64_t)t * 7919, NULL, bits, scale));
            for (int i = 0; i < P; i++) mean[i] += (bit_of(bits, i) ? scale[0] : -scale[0]) / (double)T;
        }
        int biased = 0;
        for (int i = 0; i < P; i++) {
            const double sd = sqrt(fmax((double)scale[0] * scale[0] - (double)x[i] * x[i], 0.0) / T);
            if (fabs(mean[i] - x[i]) > 5 * sd + 1e-6) {
                biased++;
                fprintf(stderr, "  coordinate %d: x %g, mean q %g, sd %g\n", i, (double)x[i], mean[i], sd);
            }
        }
        CHECK(biased == 0, "stochastic quantizer biased at %d of %d coordinates", biased, P);
        dev_free(x); dev_free(scale); dev_free(bits);
    }
}

static void test_unpack_accumulate(void) {
    const int counts[] = {1, 3, 70}; /* 70: more than one group of CT_COMBINE_MAX */
    for (size_t s = 0; s < 3; s++)
        for (int ci = 0; ci < 3; ci++) {
            const size_t P = odd_sizes[s];
            const int count = counts[ci];
            if (P > 100000 && count > 3) continue;
            float *x = dev_floats(P), *out = dev_floats(P), *e = dev_floats(P);
            uint32_t **bits = malloc(count * sizeof *bits);
            float **scales = malloc(count * sizeof *scales), *coef = malloc(count * sizeof(float));
            for (int k = 0; k < count; k++) {
                bits[k] = dev_words(P);
                scales[k] = dev_floats(1);
                fill_random(x, P, -1, 1);
                if (k % 2) {
                    fill_random(e, P, -0.1f, 0.1f);
                    CHECK_OK(be->ops->sign_pack(be, CT_QUANT_SIGN_EF, P, x, 0, e, bits[k], scales[k]));
                } else {
                    CHECK_OK(be->ops->sign_pack(be, CT_QUANT_STOCHASTIC, P, x, 77 + k, NULL, bits[k], scales[k]));
                }
                coef[k] = ct_test_uniform(&rng_state, -1, 1);
            }
            fill_random(out, P, -1, 1);
            double *ref = dbuf(P), *mag = dbuf(P);
            for (size_t i = 0; i < P; i++) {
                double acc = out[i], ab = fabs(acc);
                for (int k = 0; k < count; k++) {
                    const double q = (double)coef[k] * (bit_of(bits[k], i) ? scales[k][0] : -scales[k][0]);
                    acc += q;
                    ab += fabs(q);
                }
                ref[i] = acc;
                mag[i] = ab;
            }
            CHECK_OK(be->ops->unpack_accumulate(be, count, coef, (const uint32_t *const *)bits,
                                                (const float *const *)scales, P, out));
            double err = rel_err_mag(out, ref, mag, P);
            CHECK(err < 1e-6, "unpack_accumulate P=%zu count=%d: rel err %g", P, count, err);
            free(ref);
            free(mag);
            for (int k = 0; k < count; k++) { dev_free(bits[k]); dev_free(scales[k]); }
            free(bits); free(scales); free(coef);
            dev_free(x); dev_free(out); dev_free(e);
        }
}

/* ---------------- events, flags, throttle ---------------- */
typedef struct { volatile int *flag; double after_s; } canceller;
static void *cancel_later(void *arg) {
    canceller *c = arg;
    struct timespec ts = {0, (long)(c->after_s * 1e9)};
    nanosleep(&ts, NULL);
    *c->flag = 1;
    return NULL;
}

static void test_events_throttle(void) {
    ct_event *ev = NULL;
    int done = -1;
    CHECK_OK(be->ops->event_create(be, &ev));
    CHECK_OK(be->ops->event_query(be, ev, &done));
    CHECK(done == 1, "a never-recorded event counts as done");
    CHECK_OK(be->ops->event_record(be, ev));
    CHECK_OK(be->ops->event_query(be, ev, &done));
    CHECK(done == 1, "CPU ops complete before returning: a recorded event is done");
    be->ops->event_destroy(be, ev);

    volatile int *flag = NULL;
    CHECK_OK(be->ops->flag_alloc(be, &flag));
    CHECK(flag && *flag == 0, "flag_alloc gives a zeroed flag");

    const double req_ms[] = {1, 5, 20};
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        CHECK_OK(be->ops->throttle(be, req_ms[i], flag));
        double ms = 1e3 * (now_s() - t0);
        CHECK(ms >= 0.9 * req_ms[i], "throttle %g ms slept only %g ms", req_ms[i], ms);
        printf("throttle %g ms: slept %.3f ms\n", req_ms[i], ms);
    }
    double t0 = now_s();
    CHECK_OK(be->ops->throttle(be, 0.0, NULL));
    CHECK_OK(be->ops->throttle(be, -5.0, NULL));
    CHECK(now_s() - t0 < 0.5, "throttle of <= 0 ms must return at once");

    /* cancelled mid-way from another thread: returns long before the request */
    canceller c = {flag, 0.02};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, cancel_later, &c) == 0, "pthread_create");
    t0 = now_s();
    CHECK_OK(be->ops->throttle(be, 1e12, flag)); /* "dead worker": only a cancel ends it */
    double ms = 1e3 * (now_s() - t0);
    pthread_join(th, NULL);
    CHECK(ms < 2000, "cancelled throttle took %g ms", ms);
    printf("throttle cancelled after 20 ms: returned after %.3f ms\n", ms);
    /* already cancelled: returns at once */
    t0 = now_s();
    CHECK_OK(be->ops->throttle(be, 500, flag));
    CHECK(now_s() - t0 < 0.25, "throttle with the flag already set must return early");
    be->ops->flag_free(be, flag);
}

int main(void) {
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    cfg.threads = 2;
    ct_status st = ct_backend_create(CT_DEVICE_CPU, &cfg, &be);
    if (st != CT_OK) {
        fprintf(stderr, "cannot create the CPU backend: %s\n", ct_last_error());
        return 1;
    }
    printf("backend: %s\n", be->ops->describe(be));
    test_gemm();
    test_bias_act();
    test_bias_act_gradients();
    test_bias_grad();
    test_softmax_xent();
    test_sgd();
    test_vector();
    test_combine();
    test_sign_pack_ef();
    test_sign_pack_stochastic();
    test_unpack_accumulate();
    test_events_throttle();
    ct_backend_destroy(be);
    return ct_test_done("test_cpu_ops");
}
