/* bench/cnn_layers: where a CNN training step's time goes on the CPU backend,
 * per op kind (conv GEMMs, im2col/col2im, pooling, bias/ReLU, dense GEMMs,
 * softmax), against the sgemm ceiling measured in the same run (a 1024^3
 * sgemm). Each op is timed on
 * its own with the shapes of the model's step (the same calls model.c makes),
 * then the whole ct_model_loss_grad, whose time the parts should add up to.
 *
 * usage: bench_cnn_layers [MODEL] [BATCH] [THREADS]   (default lenet5 128 1; input 1x28x28) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codedtrain/nn.h"
#include "kernels/backend.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define DIE(st)                                                                                                        \
    do {                                                                                                               \
        if ((st) != CT_OK) {                                                                                           \
            fprintf(stderr, "bench_cnn_layers: %s\n", ct_last_error());                                               \
            return 1;                                                                                                  \
        }                                                                                                              \
    } while (0)

static ct_backend *be;
static float *buf(size_t n) {
    void *p = NULL;
    if (be->ops->alloc(be, (n ? n : 1) * sizeof(float), &p) != CT_OK) exit(1);
    be->ops->fill(be, n, 0.01f, p);
    return p;
}

enum { K_CONV_GEMM, K_IM2COL, K_COL2IM, K_POOL, K_BIAS_RELU, K_DENSE_GEMM, K_SOFTMAX, K_N };
static const char *const kind_name[K_N] = {"conv GEMMs (fwd, dW, dcol)", "im2col (fwd + recomputed in bwd)",
                                           "col2im", "pooling (fwd + bwd)", "bias, ReLU (fwd + bwd)",
                                           "dense GEMMs (fwd, dW, dX)", "softmax cross-entropy"};
static double t_kind[K_N], flops_kind[K_N];

/* ms per call of fn, best of 3 rounds of `reps` */
#define TIME(kind, flops, reps, body)                                                                                  \
    do {                                                                                                               \
        double best_ = 1e30;                                                                                           \
        for (int round_ = 0; round_ < 3; round_++) {                                                                   \
            const double t0_ = now();                                                                                  \
            for (int r_ = 0; r_ < (reps); r_++) { body; }                                                              \
            const double dt_ = (now() - t0_) / (reps);                                                                 \
            if (dt_ < best_) best_ = dt_;                                                                              \
        }                                                                                                              \
        t_kind[kind] += best_;                                                                                         \
        flops_kind[kind] += (flops);                                                                                   \
    } while (0)

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "lenet5";
    const int B = argc > 2 ? atoi(argv[2]) : 128, threads = argc > 3 ? atoi(argv[3]) : 1;
    ct_model_spec spec;
    DIE(ct_model_spec_parse(model, 1, 28, 28, 10, &spec));
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    cfg.threads = threads;
    DIE(ct_backend_create(CT_DEVICE_CPU, &cfg, &be));
    const int R = 5;

    /* the ceiling: one large square sgemm */
    const int n = 1024;
    float *A = buf((size_t)n * n), *Bm = buf((size_t)n * n), *C = buf((size_t)n * n);
    double t_ceil = 1e30;
    for (int r = 0; r < 3; r++) {
        const double t0 = now();
        DIE(be->ops->gemm(be, 0, 0, n, n, n, 1.0f, A, n, Bm, n, 0.0f, C, n));
        if (now() - t0 < t_ceil) t_ceil = now() - t0;
    }
    const double ceil_gf = 2.0 * n * n * n / t_ceil * 1e-9;

    char fmt[512];
    ct_model_spec_format(&spec, fmt, sizeof fmt);
    printf("model %s, batch %d, %d thread%s, cpu backend\n\n", fmt, B, threads, threads > 1 ? "s" : "");
    printf("sgemm ceiling (1024^3, same run): %.1f GFLOP/s\n\n", ceil_gf);
    printf("| layer | op | ms per step | GFLOP/s |\n|---|---|---|---|\n");

    size_t widest = 0, colmax = 0;
    for (int i = 0; i < spec.n_layers; i++) {
        const ct_layer *L = &spec.layers[i];
        const size_t o = (size_t)L->out_c * L->out_h * L->out_w, in = (size_t)L->in_c * L->in_h * L->in_w;
        if (o > widest) widest = o;
        if (in > widest) widest = in;
        if (L->kind == CT_LAYER_CONV) {
            const size_t c = (size_t)L->in_c * L->k * L->k * L->out_h * L->out_w * B;
            if (c > colmax) colmax = c;
        }
    }
    float *x = buf(widest * B), *y = buf(widest * B), *col = buf(colmax), *W = buf(1 << 22), *G = buf(1 << 22);
    int32_t *arg = calloc(widest * B, sizeof(int32_t));
    for (size_t i = 0; i < widest * B; i++) arg[i] = 0;
    int32_t *labels = calloc((size_t)B, sizeof(int32_t));
    for (int i = 0; i < spec.n_layers; i++) {
        const ct_layer *L = &spec.layers[i];
        const ct_conv_geom g = {L->in_c, L->in_h, L->in_w, L->k, L->k, L->stride, L->pad, L->out_h, L->out_w};
        const int K = L->in_c * L->k * L->k, opix = L->out_h * L->out_w, oc = L->out;
        const double before[K_N] = {t_kind[0], t_kind[1], t_kind[2], t_kind[3], t_kind[4], t_kind[5], t_kind[6]};
        if (L->kind == CT_LAYER_CONV) {
            const double f = 2.0 * oc * K * opix * B;
            TIME(K_IM2COL, 0, R, DIE(be->ops->im2col(be, &g, B, x, col)); DIE(be->ops->im2col(be, &g, B, x, col)));
            TIME(K_CONV_GEMM, 3 * f, R, for (int s = 0; s < B; s++) {
                DIE(be->ops->gemm(be, 0, 0, oc, opix, K, 1.0f, W, K, col + (size_t)s * K * opix, opix, 0.0f,
                                  y + (size_t)s * oc * opix, opix));
                DIE(be->ops->gemm(be, 0, 1, oc, K, opix, 1.0f, y + (size_t)s * oc * opix, opix,
                                  col + (size_t)s * K * opix, opix, 1.0f, G, K));
                DIE(be->ops->gemm(be, 1, 0, K, opix, oc, 1.0f, W, K, y + (size_t)s * oc * opix, opix, 0.0f,
                                  col + (size_t)s * K * opix, opix));
            });
            TIME(K_COL2IM, 0, R, DIE(be->ops->col2im(be, &g, B, col, x)));
            TIME(K_BIAS_RELU, 0, R, DIE(be->ops->channel_bias_act_forward(be, CT_ACT_RELU, B, oc, opix, W, y));
                 DIE(be->ops->channel_bias_grad(be, B, oc, opix, y, 0.0f, G)));
            printf("| %d conv %dx%dx%d->%dx%dx%d | GEMMs | %.3f | %.1f |\n", i, L->in_c, L->in_h, L->in_w, oc,
                   L->out_h, L->out_w, (t_kind[K_CONV_GEMM] - before[K_CONV_GEMM]) * 1e3,
                   3 * f / (t_kind[K_CONV_GEMM] - before[K_CONV_GEMM]) * 1e-9);
            printf("| | im2col x2 | %.3f | |\n| | col2im | %.3f | |\n| | bias+ReLU, bias grad | %.3f | |\n",
                   (t_kind[K_IM2COL] - before[K_IM2COL]) * 1e3, (t_kind[K_COL2IM] - before[K_COL2IM]) * 1e3,
                   (t_kind[K_BIAS_RELU] - before[K_BIAS_RELU]) * 1e3);
        } else if (L->kind == CT_LAYER_MAXPOOL || L->kind == CT_LAYER_AVGPOOL) {
            if (L->kind == CT_LAYER_MAXPOOL)
                TIME(K_POOL, 0, R, DIE(be->ops->maxpool_forward(be, &g, B, x, y, arg));
                     DIE(be->ops->maxpool_backward(be, &g, B, y, arg, x)));
            else
                TIME(K_POOL, 0, R, DIE(be->ops->avgpool_forward(be, &g, B, x, y));
                     DIE(be->ops->avgpool_backward(be, &g, B, y, x)));
            printf("| %d pool | fwd + bwd | %.3f | |\n", i, (t_kind[K_POOL] - before[K_POOL]) * 1e3);
        } else if (L->kind == CT_LAYER_DENSE) {
            const int fin = L->in_c * L->in_h * L->in_w, out = L->out;
            const double f = 2.0 * B * fin * out;
            TIME(K_DENSE_GEMM, 3 * f, R, DIE(be->ops->gemm(be, 0, 1, B, out, fin, 1.0f, x, fin, W, fin, 0.0f, y, out));
                 DIE(be->ops->gemm(be, 1, 0, out, fin, B, 1.0f, y, out, x, fin, 0.0f, G, fin));
                 DIE(be->ops->gemm(be, 0, 0, B, fin, out, 1.0f, y, out, W, fin, 0.0f, x, fin)));
            TIME(K_BIAS_RELU, 0, R, DIE(be->ops->bias_act_forward(be, CT_ACT_RELU, B, out, W, y));
                 DIE(be->ops->bias_grad(be, B, out, y, 0.0f, G)));
            printf("| %d dense %d->%d | GEMMs | %.3f | %.1f |\n", i, fin, out,
                   (t_kind[K_DENSE_GEMM] - before[K_DENSE_GEMM]) * 1e3,
                   3 * f / (t_kind[K_DENSE_GEMM] - before[K_DENSE_GEMM]) * 1e-9);
        } else if (L->kind == CT_LAYER_RELU) {
            const size_t nn = (size_t)B * L->in_c * L->in_h * L->in_w;
            TIME(K_BIAS_RELU, 0, R, DIE(be->ops->act_backward(be, CT_ACT_RELU, nn, y, x)));
        }
    }
    TIME(K_SOFTMAX, 0, R, DIE(be->ops->softmax_xent(be, B, spec.classes, y, labels, NULL, y, G)));

    /* the whole step through the model */
    ct_model_workspace *ws;
    DIE(ct_model_workspace_create(be, &spec, B, &ws));
    const size_t P = ct_model_param_count(&spec);
    float *params = buf(P), *grad = buf(P), *xin = buf((size_t)B * ct_model_input_dim(&spec));
    float *h = malloc(P * sizeof(float));
    ct_model_init_params(&spec, 1, h);
    DIE(be->ops->memcpy_h2d(be, params, h, P * sizeof(float)));
    int32_t *dlab = (int32_t *)buf((size_t)B);
    DIE(be->ops->fill(be, (size_t)B, 0.0f, (float *)dlab)); /* label 0 (bit pattern of 0.0f) */
    double t_step = 1e30;
    for (int r = 0; r < 3; r++) {
        const double t0 = now();
        for (int k = 0; k < R; k++) DIE(ct_model_loss_grad(ws, params, xin, dlab, NULL, B, 0.0f, grad, NULL));
        if ((now() - t0) / R < t_step) t_step = (now() - t0) / R;
    }
    double sum = 0;
    for (int k = 0; k < K_N; k++) sum += t_kind[k];
    printf("\n| op kind | ms per step | share of the parts | GFLOP/s | of the sgemm ceiling |\n|---|---|---|---|---|\n");
    for (int k = 0; k < K_N; k++) {
        if (t_kind[k] == 0) continue;
        printf("| %s | %.3f | %.0f%% |", kind_name[k], t_kind[k] * 1e3, 100 * t_kind[k] / sum);
        if (flops_kind[k] > 0)
            printf(" %.1f | %.0f%% |\n", flops_kind[k] / t_kind[k] * 1e-9, 100 * flops_kind[k] / t_kind[k] * 1e-9 / ceil_gf);
        else
            printf(" | |\n");
    }
    printf("| sum of the parts | %.3f | | | |\n| whole ct_model_loss_grad | %.3f (%.0f samples/s) | | | |\n", sum * 1e3,
           t_step * 1e3, B / t_step);
    ct_model_workspace_destroy(ws);
    ct_backend_destroy(be);
    return 0;
}
