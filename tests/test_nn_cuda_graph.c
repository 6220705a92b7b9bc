/* CUDA graph capture of a worker's training step (named test_nn_*: it links
 * the nn library for the MLP): an MLP forward + backward +
 * SGD-with-momentum step recorded once and replayed N times gives the same
 * parameters as N eager steps (relative difference <= 1e-6; the number of
 * bitwise differences is printed, expected 0). Also: the coding ops and
 * uep_block_gemm replayed from a graph equal their eager results bit for bit;
 * a synchronising op inside a capture is refused with CT_ERR_UNSUPPORTED; a
 * spoilt capture leaves the context usable. Exits 77 without a usable GPU. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "kernels/backend.h"
#include "ct_test.h"

static ct_backend *gpu;
static unsigned long long rng = 0xA11CE5EEDull;

static void *dalloc(size_t bytes) {
    void *p = NULL;
    if (gpu->ops->alloc(gpu, bytes ? bytes : 4, &p) != CT_OK || !p) {
        fprintf(stderr, "gpu alloc of %zu bytes failed: %s\n", bytes, ct_last_error());
        exit(1);
    }
    return p;
}
static void *hmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) exit(1);
    return p;
}
static void up(void *d, const void *h, size_t bytes) {
    CHECK_OK(gpu->ops->memcpy_h2d(gpu, d, h, bytes));
    CHECK_OK(gpu->ops->sync(gpu));
}
static void down(void *h, const void *d, size_t bytes) {
    CHECK_OK(gpu->ops->memcpy_d2h(gpu, h, d, bytes));
    CHECK_OK(gpu->ops->sync(gpu));
}
static void fill_random(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float v = ct_test_uniform(&rng, lo, hi);
        x[i] = v != 0.0f ? v : 0.5f * hi;
    }
}
static size_t bit_diffs(const void *a, const void *b, size_t n_words) {
    size_t k = 0;
    for (size_t i = 0; i < n_words; i++) k += memcmp((const char *)a + 4 * i, (const char *)b + 4 * i, 4) != 0;
    return k;
}

/* One replica of a training step's state on the GPU. */
typedef struct {
    ct_model_workspace *ws;
    float *p, *v, *g;
} replica;

static ct_status step(replica *r, const float *x, const int32_t *y, int batch, size_t P) {
    CT_TRY(ct_model_loss_grad(r->ws, r->p, x, y, NULL, batch, 0.0f, r->g, NULL));
    return gpu->ops->sgd_update(gpu, P, 0.05f, 0.9f, 1e-4f, r->p, r->g, r->v);
}

static void test_mlp_step(const char *model, int batch, int steps) {
    ct_model_spec spec;
    CHECK_OK(ct_model_spec_parse(model, 0, 0, 0, 0, &spec));
    const size_t P = ct_model_param_count(&spec);
    const int in = ct_model_input_dim(&spec), classes = spec.classes;
    float *hp = hmalloc(P * sizeof(float)), *hx = hmalloc((size_t)batch * in * sizeof(float));
    int32_t *hy = hmalloc((size_t)batch * sizeof(int32_t));
    ct_model_init_params(&spec, 17, hp);
    for (size_t i = 0; i < P; i++) hp[i] += ct_test_uniform(&rng, -0.01f, 0.01f); /* nonzero biases */
    fill_random(hx, (size_t)batch * in, -1, 1);
    for (int i = 0; i < batch; i++) hy[i] = (int32_t)(ct_test_rng_next(&rng) % (unsigned long long)classes);
    float *x = dalloc((size_t)batch * in * sizeof(float));
    int32_t *y = dalloc((size_t)batch * sizeof(int32_t));
    up(x, hx, (size_t)batch * in * sizeof(float));
    up(y, hy, (size_t)batch * sizeof(int32_t));
    replica r[2];
    float *zeros = hmalloc(P * sizeof(float));
    memset(zeros, 0, P * sizeof(float));
    for (int k = 0; k < 2; k++) {
        CHECK_OK(ct_model_workspace_create(gpu, &spec, batch, &r[k].ws));
        r[k].p = dalloc(P * sizeof(float));
        r[k].v = dalloc(P * sizeof(float));
        r[k].g = dalloc(P * sizeof(float));
        up(r[k].p, hp, P * sizeof(float));
        up(r[k].v, zeros, P * sizeof(float));
    }
    /* eager */
    for (int s = 0; s < steps; s++) CHECK_OK(step(&r[0], x, y, batch, P));
    /* recorded once (nothing runs while recording), replayed `steps` times */
    ct_graph *g = NULL;
    CHECK_OK(gpu->ops->graph_begin(gpu));
    ct_status st = step(&r[1], x, y, batch, P);
    CHECK(st == CT_OK, "recording the step: %s", ct_last_error());
    CHECK_OK(gpu->ops->graph_end(gpu, &g));
    CHECK(g != NULL, "graph_end returned no graph");
    float *before = hmalloc(P * sizeof(float));
    down(before, r[1].p, P * sizeof(float));
    CHECK(bit_diffs(before, hp, P) == 0, "%s: recording ran the step (parameters changed)", model);
    if (g) {
        for (int s = 0; s < steps; s++) CHECK_OK(gpu->ops->graph_launch(gpu, g));
        CHECK_OK(gpu->ops->sync(gpu));
    }
    float *pe = hmalloc(P * sizeof(float)), *pg = hmalloc(P * sizeof(float));
    float *ve = hmalloc(P * sizeof(float)), *vg = hmalloc(P * sizeof(float));
    down(pe, r[0].p, P * sizeof(float));
    down(pg, r[1].p, P * sizeof(float));
    down(ve, r[0].v, P * sizeof(float));
    down(vg, r[1].v, P * sizeof(float));
    const double ep = ct_rel_err_f(pg, pe, P), ev = ct_rel_err_f(vg, ve, P);
    const size_t dp = bit_diffs(pg, pe, P), dv = bit_diffs(vg, ve, P);
    printf("%s batch %d, %d steps: graph vs eager: parameters rel diff %.3g (%zu of %zu differ bitwise), "
           "velocity %.3g (%zu differ)\n",
           model, batch, steps, ep, dp, P, ev, dv);
    CHECK(ep <= 1e-6 && ev <= 1e-6, "%s: graph replay vs eager steps: params %.3g, velocity %.3g", model, ep, ev);
    CHECK(ct_rel_err_f(pe, hp, P) > 1e-4, "%s: the eager steps did not train (parameters unchanged)", model);
    gpu->ops->graph_destroy(gpu, g);
    for (int k = 0; k < 2; k++) {
        ct_model_workspace_destroy(r[k].ws);
        gpu->ops->free(gpu, r[k].p);
        gpu->ops->free(gpu, r[k].v);
        gpu->ops->free(gpu, r[k].g);
    }
    gpu->ops->free(gpu, x);
    gpu->ops->free(gpu, y);
    free(hp), free(hx), free(hy), free(zeros), free(before), free(pe), free(pg), free(ve), free(vg);
}

/* combine, sign_pack (both quantizers), unpack_accumulate and uep_block_gemm
 * (a shape that splits the inner dimension) recorded and replayed: the same
 * bits as the same calls made eagerly on a copy of the buffers. */
static ct_status coding_ops(float *const *G, float *Y, float *ef, uint32_t *bits, float *scale, const float *A,
                            const float *B, float *C, size_t P) {
    const float E[3] = {0.5f, -1.25f, 2.0f};
    float *Ys[1] = {Y};
    CT_TRY(gpu->ops->combine(gpu, 1, 3, E, (const float *const *)G, P, Ys, 0.0f));
    CT_TRY(gpu->ops->sign_pack(gpu, CT_QUANT_SIGN_EF, P, Y, 0, ef, bits, scale));
    CT_TRY(gpu->ops->sign_pack(gpu, CT_QUANT_STOCHASTIC, P, Y, 99, NULL, bits + (P + 31) / 32, scale + 1));
    const float coef[2] = {0.75f, -0.5f};
    const uint32_t *bl[2] = {bits, bits + (P + 31) / 32};
    const float *sc[2] = {scale, scale + 1};
    CT_TRY(gpu->ops->unpack_accumulate(gpu, 2, coef, bl, sc, P, Y));
    const ct_uep_block blocks[3] = {{0, 0, 0, 0.5f}, {256, 128, 0, -1.0f}, {128, 256, 0, 2.0f}};
    return gpu->ops->uep_block_gemm(gpu, CT_UEP_ROW_COL, 128, 128, 2048, 384, 384, A, 2048, B, 384, 3, blocks, 0.0f,
                                    C, 128);
}

static void test_coding_graph(void) {
    const size_t P = 1000003, words = (P + 31) / 32, na = 384 * 2048, nb = 2048 * 384, nc = 128 * 128;
    float *h = hmalloc(na * sizeof(float));
    float *G[2][3], *Y[2], *ef[2], *scale[2], *A, *B, *C[2];
    uint32_t *bits[2];
    for (int k = 0; k < 3; k++) {
        fill_random(h, P, -1, 1);
        for (int r = 0; r < 2; r++) {
            G[r][k] = dalloc(P * sizeof(float));
            up(G[r][k], h, P * sizeof(float));
        }
    }
    fill_random(h, P, -0.1f, 0.1f);
    for (int r = 0; r < 2; r++) {
        Y[r] = dalloc(P * sizeof(float));
        ef[r] = dalloc(P * sizeof(float));
        up(ef[r], h, P * sizeof(float));
        scale[r] = dalloc(2 * sizeof(float));
        bits[r] = dalloc(2 * words * sizeof(uint32_t));
        C[r] = dalloc(nc * sizeof(float));
    }
    A = dalloc(na * sizeof(float));
    B = dalloc(nb * sizeof(float));
    fill_random(h, na, -1, 1);
    up(A, h, na * sizeof(float));
    fill_random(h, nb, -1, 1);
    up(B, h, nb * sizeof(float));
    /* eager, twice (state carries: error feedback, accumulation into Y) */
    for (int it = 0; it < 2; it++) CHECK_OK(coding_ops(G[0], Y[0], ef[0], bits[0], scale[0], A, B, C[0], P));
    ct_graph *g = NULL;
    CHECK_OK(gpu->ops->graph_begin(gpu));
    ct_status st = coding_ops(G[1], Y[1], ef[1], bits[1], scale[1], A, B, C[1], P);
    CHECK(st == CT_OK, "recording the coding ops: %s", ct_last_error());
    CHECK_OK(gpu->ops->graph_end(gpu, &g));
    if (g) {
        CHECK_OK(gpu->ops->graph_launch(gpu, g));
        CHECK_OK(gpu->ops->graph_launch(gpu, g));
    }
    CHECK_OK(gpu->ops->sync(gpu));
    float *a = hmalloc(P * sizeof(float)), *b = hmalloc(P * sizeof(float));
    down(a, Y[0], P * sizeof(float));
    down(b, Y[1], P * sizeof(float));
    CHECK(bit_diffs(a, b, P) == 0, "graph Y differs from eager Y in %zu elements", bit_diffs(a, b, P));
    down(a, ef[0], P * sizeof(float));
    down(b, ef[1], P * sizeof(float));
    CHECK(bit_diffs(a, b, P) == 0, "graph error-feedback state differs from eager");
    down(a, bits[0], 2 * words * sizeof(uint32_t));
    down(b, bits[1], 2 * words * sizeof(uint32_t));
    CHECK(bit_diffs(a, b, 2 * words) == 0, "graph packed bits differ from eager");
    down(a, C[0], nc * sizeof(float));
    down(b, C[1], nc * sizeof(float));
    CHECK(bit_diffs(a, b, nc) == 0, "graph uep_block_gemm differs from eager");
    gpu->ops->graph_destroy(gpu, g);
    for (int r = 0; r < 2; r++) {
        for (int k = 0; k < 3; k++) gpu->ops->free(gpu, G[r][k]);
        gpu->ops->free(gpu, Y[r]);
        gpu->ops->free(gpu, ef[r]);
        gpu->ops->free(gpu, scale[r]);
        gpu->ops->free(gpu, bits[r]);
        gpu->ops->free(gpu, C[r]);
    }
    gpu->ops->free(gpu, A);
    gpu->ops->free(gpu, B);
    free(h), free(a), free(b);
}

static void test_misuse(void) {
    float *x = dalloc(1024 * sizeof(float));
    CHECK_OK(gpu->ops->fill(gpu, 1024, 2.0f, x));
    CHECK_OK(gpu->ops->scale(gpu, 1024, 1.0f, x)); /* first use outside the recording */
    ct_graph *g = NULL;
    double out = 0;
    int ok = 0;
    /* synchronising ops are refused while recording */
    CHECK_OK(gpu->ops->graph_begin(gpu));
    CHECK(gpu->ops->graph_begin(gpu) == CT_ERR_INVALID_ARG, "nested graph_begin accepted");
    CHECK(gpu->ops->nrm2(gpu, 1024, x, &out) == CT_ERR_UNSUPPORTED, "nrm2 accepted while recording");
    CHECK(gpu->ops->all_finite(gpu, 1024, x, &ok) == CT_ERR_UNSUPPORTED, "all_finite accepted while recording");
    CHECK(gpu->ops->sync(gpu) == CT_ERR_UNSUPPORTED, "sync accepted while recording");
    CHECK_OK(gpu->ops->scale(gpu, 1024, 0.5f, x));
    CHECK_OK(gpu->ops->graph_end(gpu, &g));
    CHECK(gpu->ops->graph_end(gpu, &g) == CT_ERR_INVALID_ARG && g == NULL, "graph_end without graph_begin accepted");
    /* a copy from pageable host memory may spoil the capture; whatever CUDA
     * says, graph_end must stop recording and the context must work after */
    float host[4] = {1, 2, 3, 4};
    ct_graph *g2 = NULL;
    CHECK_OK(gpu->ops->graph_begin(gpu));
    ct_status cst = gpu->ops->memcpy_h2d(gpu, x, host, sizeof host);
    ct_status est = gpu->ops->graph_end(gpu, &g2);
    printf("pageable h2d inside a capture: copy %s, graph_end %s\n", ct_status_str(cst), ct_status_str(est));
    CHECK(est == CT_OK || g2 == NULL, "graph_end failed but returned a graph");
    gpu->ops->graph_destroy(gpu, g2);
    /* the context is usable: the recorded scale ran only in replays */
    CHECK_OK(gpu->ops->fill(gpu, 1024, 2.0f, x));
    CHECK_OK(gpu->ops->graph_launch(gpu, g));
    CHECK_OK(gpu->ops->nrm2(gpu, 1024, x, &out));
    CHECK(fabs(out - 32.0) < 1e-9, "after one replay of x *= 0.5 on x = 2: ||x|| = %g, expected 32", out);
    gpu->ops->graph_destroy(gpu, g);
    gpu->ops->free(gpu, x);
}

int main(void) {
    if (ct_cuda_device_count() == 0)
        CT_TEST_SKIP("no usable CUDA GPU (no driver, no device, or built without CUDA): graphs not tested");
    ct_backend_config gcfg = CT_BACKEND_CONFIG_INIT;
    ct_status st = ct_backend_create(CT_DEVICE_CUDA, &gcfg, &gpu);
    if (st == CT_ERR_NO_DEVICE) CT_TEST_SKIP("%s", ct_last_error());
    if (st != CT_OK) {
        fprintf(stderr, "cannot create the CUDA backend: %s\n", ct_last_error());
        return 1;
    }
    printf("graphs on %s\n", gpu->ops->describe(gpu));
    test_mlp_step("mlp:784-256-10", 256, 20);
    test_mlp_step("mlp:784-512-512-10", 256, 20);
    test_mlp_step("mlp:31-7-3", 5, 50);
    test_mlp_step("cnn:1x28x28:c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-10", 64, 10); /* a CNN step captured too */
    test_coding_graph();
    test_misuse();
    ct_backend_destroy(gpu);
    return ct_test_done("test_nn_cuda_graph");
}
