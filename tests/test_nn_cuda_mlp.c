/* The MLP on the CUDA backend against the CPU backend: forward logits, loss and
 * gradient (unweighted and per-sample weighted), beta accumulation, odd sizes;
 * MLPs and CNNs (conv, pooling, per-channel bias kernels inside whole steps).
 * Exits 77 (skipped) when no GPU is usable. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "kernels/backend.h"
#include "ct_test.h"

typedef struct {
    ct_backend *be;
    ct_model_workspace *ws;
    float *params, *x, *w, *grad, *loss;
    int32_t *y;
} side;

static void *dev_copy(ct_backend *be, const void *host, size_t bytes) {
    void *d = NULL;
    ct_status st = be->ops->alloc(be, bytes, &d);
    if (st != CT_OK) {
        fprintf(stderr, "%s alloc %zu bytes: %s\n", be->ops->name, bytes, ct_last_error());
        exit(1);
    }
    if (host) CHECK_OK(be->ops->memcpy_h2d(be, d, host, bytes));
    return d;
}

static void side_make(side *s, ct_backend *be, const ct_model_spec *spec, int batch, const float *params,
                      const float *x, const int32_t *y, const float *w) {
    const size_t P = ct_model_param_count(spec);
    s->be = be;
    CHECK_OK(ct_model_workspace_create(be, spec, batch, &s->ws));
    s->params = dev_copy(be, params, P * sizeof(float));
    s->x = dev_copy(be, x, (size_t)batch * ct_model_input_dim(spec) * sizeof(float));
    s->y = dev_copy(be, y, (size_t)batch * sizeof(int32_t));
    s->w = dev_copy(be, w, (size_t)batch * sizeof(float));
    s->grad = dev_copy(be, NULL, P * sizeof(float));
    s->loss = dev_copy(be, NULL, sizeof(float));
}

static void side_free(side *s) {
    ct_backend *be = s->be;
    ct_model_workspace_destroy(s->ws);
    be->ops->free(be, s->params);
    be->ops->free(be, s->x);
    be->ops->free(be, s->y);
    be->ops->free(be, s->w);
    be->ops->free(be, s->grad);
    be->ops->free(be, s->loss);
}

static void fetch(ct_backend *be, void *host, const void *dev, size_t bytes) {
    CHECK_OK(be->ops->memcpy_d2h(be, host, dev, bytes));
    CHECK_OK(be->ops->sync(be));
}

static void compare(ct_backend *cpu, ct_backend *gpu, const char *model, int batch) {
    ct_model_spec spec;
    CHECK_OK(ct_model_spec_parse(model, 0, 0, 0, 0, &spec));
    const size_t P = ct_model_param_count(&spec);
    const int in = ct_model_input_dim(&spec), C = spec.classes;
    unsigned long long s = 99 + (unsigned long long)batch;
    float *params = malloc(P * sizeof(float)), *x = malloc((size_t)batch * in * sizeof(float));
    float *w = malloc((size_t)batch * sizeof(float));
    int32_t *y = malloc((size_t)batch * sizeof(int32_t));
    ct_model_init_params(&spec, 5, params);
    for (size_t i = 0; i < P; i++) params[i] += ct_test_uniform(&s, -0.05f, 0.05f); /* nonzero biases */
    for (size_t i = 0; i < (size_t)batch * in; i++) x[i] = ct_test_uniform(&s, -1, 1);
    for (int i = 0; i < batch; i++) {
        y[i] = (int32_t)(ct_test_rng_next(&s) % (unsigned long long)C);
        w[i] = ct_test_uniform(&s, -0.5f, 1.0f);
    }
    side a, b;
    side_make(&a, cpu, &spec, batch, params, x, y, w);
    side_make(&b, gpu, &spec, batch, params, x, y, w);
    float *ga = malloc(P * sizeof(float)), *gb = malloc(P * sizeof(float));
    float *la = malloc((size_t)batch * C * sizeof(float)), *lb = malloc((size_t)batch * C * sizeof(float));
    const float *logits = NULL;

    CHECK_OK(ct_model_forward(a.ws, a.params, a.x, batch, &logits));
    fetch(cpu, la, logits, (size_t)batch * C * sizeof(float));
    CHECK_OK(ct_model_forward(b.ws, b.params, b.x, batch, &logits));
    fetch(gpu, lb, logits, (size_t)batch * C * sizeof(float));
    double e = ct_rel_err_f(lb, la, (size_t)batch * C);
    CHECK(e < 1e-4, "%s b=%d forward: cuda vs cpu rel err %.3g", model, batch, e);

    for (int weighted = 0; weighted < 2; weighted++) {
        float loss_a = 0, loss_b = 0;
        CHECK_OK(gpu->ops->fill(gpu, P, NAN, b.grad)); /* beta = 0 must ignore what was there */
        CHECK_OK(ct_model_loss_grad(a.ws, a.params, a.x, a.y, weighted ? a.w : NULL, batch, 0.0f, a.grad, a.loss));
        CHECK_OK(ct_model_loss_grad(b.ws, b.params, b.x, b.y, weighted ? b.w : NULL, batch, 0.0f, b.grad, b.loss));
        fetch(cpu, ga, a.grad, P * sizeof(float));
        fetch(gpu, gb, b.grad, P * sizeof(float));
        fetch(cpu, &loss_a, a.loss, sizeof(float));
        fetch(gpu, &loss_b, b.loss, sizeof(float));
        e = ct_rel_err_f(gb, ga, P);
        CHECK(e < 1e-4, "%s b=%d weighted=%d grad: cuda vs cpu rel err %.3g", model, batch, weighted, e);
        CHECK(fabsf(loss_a - loss_b) <= 1e-4f * fabsf(loss_a) + 1e-6f, "%s b=%d weighted=%d loss cpu %.7g cuda %.7g",
              model, batch, weighted, loss_a, loss_b);
    }
    /* beta = 1 adds a second copy of the unweighted gradient */
    CHECK_OK(ct_model_loss_grad(a.ws, a.params, a.x, a.y, NULL, batch, 0.0f, a.grad, NULL));
    CHECK_OK(ct_model_loss_grad(a.ws, a.params, a.x, a.y, NULL, batch, 1.0f, a.grad, NULL));
    CHECK_OK(ct_model_loss_grad(b.ws, b.params, b.x, b.y, NULL, batch, 0.0f, b.grad, NULL));
    CHECK_OK(ct_model_loss_grad(b.ws, b.params, b.x, b.y, NULL, batch, 1.0f, b.grad, NULL));
    fetch(cpu, ga, a.grad, P * sizeof(float));
    fetch(gpu, gb, b.grad, P * sizeof(float));
    e = ct_rel_err_f(gb, ga, P);
    CHECK(e < 1e-4, "%s b=%d beta=1: cuda vs cpu rel err %.3g", model, batch, e);

    side_free(&a);
    side_free(&b);
    free(params); free(x); free(w); free(y);
    free(ga); free(gb); free(la); free(lb);
}

int main(void) {
    if (ct_backend_device_count(CT_DEVICE_CUDA) < 1) CT_TEST_SKIP("no usable CUDA device (or built without CUDA)");
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    ct_backend *cpu = NULL, *gpu = NULL;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU, &cfg, &cpu));
    CHECK_OK(ct_backend_create(CT_DEVICE_CUDA, &cfg, &gpu));
    if (!cpu || !gpu) return ct_test_done("test_nn_cuda_mlp");
    printf("comparing %s against %s\n", gpu->ops->describe(gpu), cpu->ops->describe(cpu));
    compare(cpu, gpu, "mlp:7-3", 5);
    compare(cpu, gpu, "mlp:7-5-3-4", 9);
    compare(cpu, gpu, "mlp:33-17-9-5-3", 31);
    compare(cpu, gpu, "mlp:784-256-10", 256);
    compare(cpu, gpu, "mlp:784-512-512-10", 129);
    /* CNNs: the conv, pooling and per-channel kernels inside a whole step */
    compare(cpu, gpu, "cnn:2x7x5:c3k3p1s2-r-m2-f4-r-3", 1);
    compare(cpu, gpu, "cnn:1x9x8:c4k3-a2-r-c3k2p1-r-m3s2-4", 7);
    compare(cpu, gpu, "cnn:1x28x28:c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-10", 64);
    compare(cpu, gpu, "cnn:3x32x32:c32k3p1-r-m2-c64k3p1-r-m2-f256-r-10", 33);
    ct_backend_destroy(gpu);
    ct_backend_destroy(cpu);
    return ct_test_done("test_nn_cuda_mlp");
}
