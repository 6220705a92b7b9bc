/* bench/kernels: the custom CUDA kernels against the hardware ceiling, in one run.
 *
 *   1. device-to-device copy bandwidth (cudaMemcpyAsync, bytes read + written): the ceiling;
 *   2. each memory-bound kernel's achieved GB/s, counting the bytes it must move
 *      (each input read once, each output written once), and its ratio to the copy:
 *      combine (m, d in {1, 4, 16}), the decode form (m = 1, beta = 1), sign_pack
 *      (both quantizers), unpack_accumulate (1 and 8 messages), sgd_update, axpy;
 *   3. uep_block_gemm TFLOP/s against the same sum through cuBLAS (one sgemm per
 *      block, beta = 1 after the first);
 *   4. a small MLP's training step (forward, backward, SGD) eager vs replayed
 *      from a CUDA graph.
 * Timing: CUDA events on the worker's stream, after warm-up, median of many
 * runs; before every timed run of sections 1-3 the L2 is flushed by writing a
 * buffer of twice its size (outside the timed region), so repeated runs do not
 * measure the cache. Inputs are random and never zero.
 * Prints a markdown table (GPU, driver, CUDA version, date first). Without a
 * usable GPU it says so and exits 0 (it is a benchmark, not a test).
 * Usage: bench_kernels [--quick]   (--quick: fewer sizes and repetitions) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codedtrain/nn.h"
#include "kernels/backend.h"

#ifndef CT_HAVE_CUDA
int main(void) {
    printf("no usable CUDA GPU: nothing measured (this build has no CUDA support)\n");
    return 0;
}
#else
#include <cuda_runtime_api.h>

#define CUDA_OR_DIE(call)                                                                          \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "bench_kernels: %s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,   \
                    cudaGetErrorString(e_));                                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define CT_OR_DIE(call)                                                                            \
    do {                                                                                           \
        ct_status s_ = (call);                                                                     \
        if (s_ != CT_OK) {                                                                         \
            fprintf(stderr, "bench_kernels: %s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, #call, \
                    ct_status_str(s_), ct_last_error());                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static ct_backend *be;
static cudaStream_t stream;
static void *flush_buf;
static size_t flush_bytes;
static int reps = 30, quick = 0;
static double copy_gbs; /* the ceiling */

static void *dalloc(size_t bytes) {
    void *p = NULL;
    CT_OR_DIE(be->ops->alloc(be, bytes, &p));
    return p;
}

/* random floats in [-1, 1], never zero: one pinned chunk of 4M draws per call
 * (seeded), repeated over the buffer (generating gigabytes on the host would
 * cost more than the whole benchmark) */
static void fill_random(float *d, size_t n, unsigned long long seed) {
    static float *chunk = NULL;
    const size_t CH = (size_t)1 << 22;
    if (!chunk) CUDA_OR_DIE(cudaMallocHost((void **)&chunk, CH * sizeof(float)));
    CUDA_OR_DIE(cudaStreamSynchronize(stream)); /* the chunk may still be in flight */
    unsigned long long s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < CH; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        float v = (float)((double)(s >> 11) * (2.0 / 9007199254740992.0) - 1.0);
        chunk[i] = v != 0.0f ? v : 0.5f;
    }
    for (size_t off = 0; off < n; off += CH) {
        const size_t len = n - off < CH ? n - off : CH;
        CUDA_OR_DIE(cudaMemcpyAsync(d + off, chunk, len * sizeof(float), cudaMemcpyHostToDevice, stream));
    }
    CUDA_OR_DIE(cudaStreamSynchronize(stream));
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*op_fn)(void *ctx);

/* median milliseconds of one call of fn, L2 flushed before each timed call */
static double time_ms(op_fn fn, void *ctx, int flush, int nreps) {
    cudaEvent_t a, b;
    CUDA_OR_DIE(cudaEventCreate(&a));
    CUDA_OR_DIE(cudaEventCreate(&b));
    for (int w = 0; w < 3; w++) fn(ctx); /* warm-up: module load, handles, heuristics */
    double *t = malloc(sizeof(double) * (size_t)nreps);
    for (int r = 0; r < nreps; r++) {
        if (flush) CUDA_OR_DIE(cudaMemsetAsync(flush_buf, r & 0xff, flush_bytes, stream));
        CUDA_OR_DIE(cudaEventRecord(a, stream));
        fn(ctx);
        CUDA_OR_DIE(cudaEventRecord(b, stream));
        CUDA_OR_DIE(cudaEventSynchronize(b));
        float ms = 0;
        CUDA_OR_DIE(cudaEventElapsedTime(&ms, a, b));
        t[r] = ms;
    }
    qsort(t, (size_t)nreps, sizeof(double), cmp_double);
    const double med = nreps % 2 ? t[nreps / 2] : 0.5 * (t[nreps / 2 - 1] + t[nreps / 2]);
    free(t);
    CUDA_OR_DIE(cudaEventDestroy(a));
    CUDA_OR_DIE(cudaEventDestroy(b));
    return med;
}

/* ---------------- memory-bound ops ---------------- */

typedef struct {
    int m, d;
    size_t P;
    float beta;
    float E[16 * 16];
    float *G[16], *Y[16];
} combine_ctx;
static void run_combine(void *p) {
    combine_ctx *c = p;
    CT_OR_DIE(be->ops->combine(be, c->m, c->d, c->E, (const float *const *)c->G, c->P, c->Y, c->beta));
}

typedef struct {
    void *dst;
    const void *src;
    size_t bytes;
} copy_ctx;
static void run_copy(void *p) {
    copy_ctx *c = p;
    CUDA_OR_DIE(cudaMemcpyAsync(c->dst, c->src, c->bytes, cudaMemcpyDeviceToDevice, stream));
}

typedef struct {
    ct_quantizer q;
    size_t P;
    float *x, *e, *scale;
    uint32_t *bits;
} pack_ctx;
static void run_pack(void *p) {
    pack_ctx *c = p;
    CT_OR_DIE(be->ops->sign_pack(be, c->q, c->P, c->x, 7, c->e, c->bits, c->scale));
}

typedef struct {
    int count;
    size_t P;
    float coef[8];
    const uint32_t *bits[8];
    const float *scales[8];
    float *out;
} unpack_ctx;
static void run_unpack(void *p) {
    unpack_ctx *c = p;
    CT_OR_DIE(be->ops->unpack_accumulate(be, c->count, c->coef, c->bits, c->scales, c->P, c->out));
}

typedef struct {
    size_t P;
    float *p, *g, *v, *x, *y;
} vec_ctx;
static void run_sgd(void *p) {
    vec_ctx *c = p;
    CT_OR_DIE(be->ops->sgd_update(be, c->P, 1e-3f, 0.9f, 1e-4f, c->p, c->g, c->v));
}
static void run_axpy(void *p) {
    vec_ctx *c = p;
    CT_OR_DIE(be->ops->axpy(be, c->P, 0.5f, c->x, c->y));
}

static void row_bw(const char *op, const char *shape, size_t P, double bytes, double ms) {
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    printf("| %s | %s | %.0e | %.1f | %.4f | %.1f | %.2f |\n", op, shape, (double)P, bytes / 1e6, ms, gbs,
           gbs / copy_gbs);
}

static void bench_memory_bound(void) {
    const size_t Ps_full[] = {1000, 100000, 1000000, 10000000, 100000000};
    const size_t Ps_quick[] = {1000, 1000000, 10000000};
    const size_t *Ps = quick ? Ps_quick : Ps_full;
    const int nP = quick ? 3 : 5;
    const size_t Pmax = Ps[nP - 1];
    /* 16 inputs and 16 outputs of Pmax floats, reused by every op */
    float *G[16], *Y[16];
    for (int j = 0; j < 16; j++) {
        G[j] = dalloc(Pmax * sizeof(float));
        Y[j] = dalloc(Pmax * sizeof(float));
        fill_random(G[j], Pmax, 100 + j);
        fill_random(Y[j], Pmax, 200 + j);
    }

    /* the ceiling: a large device-to-device copy */
    {
        const size_t n = (size_t)1 << 28; /* 1 GiB */
        copy_ctx c = {dalloc(n), dalloc(n), n};
        CUDA_OR_DIE(cudaMemsetAsync((void *)c.src, 1, n, stream));
        const double ms = time_ms(run_copy, &c, 1, reps);
        copy_gbs = 2.0 * (double)n / (ms * 1e-3) / 1e9;
        printf("## Device-to-device copy (the ceiling)\n\n");
        printf("cudaMemcpyAsync of %.0f MiB: %.4f ms, **%.1f GB/s** (bytes read + written)\n\n", n / 1048576.0, ms,
               copy_gbs);
        be->ops->free(be, c.dst);
        be->ops->free(be, (void *)c.src);
    }

    printf("## Memory-bound kernels\n\n");
    printf("Bytes: each input read once, each output written once. Ratio: achieved / copy bandwidth.\n\n");
    printf("| op | shape | P | MB moved | ms (median) | GB/s | / copy |\n|---|---|---|---|---|---|---|\n");
    /* copy at each size too: what "the ceiling" is for small transfers */
    for (int ip = 0; ip < nP; ip++) {
        copy_ctx c = {Y[0], G[0], Ps[ip] * sizeof(float)};
        row_bw("memcpy d2d", "-", Ps[ip], 2.0 * c.bytes, time_ms(run_copy, &c, 1, reps));
    }
    const int md[] = {1, 4, 16};
    for (int im = 0; im < 3; im++)
        for (int id = 0; id < 3; id++)
            for (int ip = 0; ip < nP; ip++) {
                combine_ctx c;
                memset(&c, 0, sizeof c);
                c.m = md[im], c.d = md[id], c.P = Ps[ip], c.beta = 0.0f;
                for (int k = 0; k < c.m * c.d; k++) c.E[k] = 0.25f + 0.01f * (float)k;
                for (int j = 0; j < c.d; j++) c.G[j] = G[j];
                for (int l = 0; l < c.m; l++) c.Y[l] = Y[l];
                char shape[32];
                snprintf(shape, sizeof shape, "m=%d d=%d", c.m, c.d);
                row_bw("combine", shape, c.P, 4.0 * (double)c.P * (c.d + c.m), time_ms(run_combine, &c, 1, reps));
            }
    /* decode form: g_hat += sum a_i y_i over messages in separate buffers */
    const int dec[] = {4, 16};
    for (int k = 0; k < 2; k++)
        for (int ip = 0; ip < nP; ip++) {
            combine_ctx c;
            memset(&c, 0, sizeof c);
            c.m = 1, c.d = dec[k], c.P = Ps[ip], c.beta = 1.0f;
            for (int j = 0; j < c.d; j++) c.E[j] = 0.5f - 0.03f * (float)j, c.G[j] = G[j];
            c.Y[0] = Y[0];
            char shape[32];
            snprintf(shape, sizeof shape, "decode, %d msgs", c.d);
            row_bw("combine", shape, c.P, 4.0 * (double)c.P * (c.d + 2), time_ms(run_combine, &c, 1, reps));
        }
    /* sign_pack: x (and e) in, bits (and e) out; the scale pass re-reads x, which
     * the count does not forgive */
    uint32_t *bits = dalloc(8 * ((Pmax + 31) / 32 + 4) * sizeof(uint32_t));
    float *scales = dalloc(8 * sizeof(float));
    for (int q = 0; q < 2; q++)
        for (int ip = 0; ip < nP; ip++) {
            pack_ctx c = {q ? CT_QUANT_SIGN_EF : CT_QUANT_STOCHASTIC, Ps[ip], G[0], q ? Y[1] : NULL, scales, bits};
            const double bytes = (q ? 12.0 : 4.0) * (double)c.P + (double)((c.P + 31) / 32) * 4.0;
            row_bw("sign_pack", q ? "sign + error feedback" : "stochastic", c.P, bytes, time_ms(run_pack, &c, 1, reps));
        }
    /* unpack_accumulate: the packed messages come from real packs */
    const size_t words = ((Pmax + 31) / 32 + 3) & ~(size_t)3; /* each message 16-byte aligned */
    for (int k = 0; k < 8; k++) {
        pack_ctx c = {CT_QUANT_STOCHASTIC, Pmax, G[k], NULL, scales + k, bits + (size_t)k * words};
        run_pack(&c);
    }
    const int counts[] = {1, 8};
    for (int k = 0; k < 2; k++)
        for (int ip = 0; ip < nP; ip++) {
            unpack_ctx c;
            memset(&c, 0, sizeof c);
            c.count = counts[k], c.P = Ps[ip], c.out = Y[0];
            for (int i = 0; i < c.count; i++)
                c.coef[i] = 0.3f + 0.1f * (float)i, c.bits[i] = bits + (size_t)i * words, c.scales[i] = scales + i;
            char shape[32];
            snprintf(shape, sizeof shape, "%d message%s", c.count, c.count > 1 ? "s" : "");
            const double bytes = 8.0 * (double)c.P + (double)c.count * (double)((c.P + 31) / 32) * 4.0;
            row_bw("unpack_accumulate", shape, c.P, bytes, time_ms(run_unpack, &c, 1, reps));
        }
    for (int ip = 0; ip < nP; ip++) {
        vec_ctx c = {Ps[ip], Y[2], G[0], Y[3], G[1], Y[4]};
        row_bw("sgd_update", "momentum + wd", c.P, 20.0 * (double)c.P, time_ms(run_sgd, &c, 1, reps));
    }
    for (int ip = 0; ip < nP; ip++) {
        vec_ctx c = {Ps[ip], Y[2], G[0], Y[3], G[1], Y[4]};
        row_bw("axpy", "-", c.P, 12.0 * (double)c.P, time_ms(run_axpy, &c, 1, reps));
    }
    printf("\n");
    be->ops->free(be, bits);
    be->ops->free(be, scales);
    for (int j = 0; j < 16; j++) {
        be->ops->free(be, G[j]);
        be->ops->free(be, Y[j]);
    }
}

/* ---------------- UEP block GEMM ---------------- */

typedef struct {
    ct_uep_layout layout;
    int M, N, K, a_rows, b_cols, nb;
    ct_uep_block blocks[64];
    float *A, *B, *C;
    int cublas;
} uep_ctx;
static void run_uep(void *p) {
    uep_ctx *c = p;
    const int lda = c->K, ldb = c->layout == CT_UEP_ROW_COL ? c->b_cols : c->N;
    if (c->cublas)
        CT_OR_DIE(ct_uep_block_gemm_via_gemm(be, c->layout, c->M, c->N, c->K, c->a_rows, c->b_cols, c->A, lda, c->B,
                                             ldb, c->nb, c->blocks, 0.0f, c->C, c->N));
    else
        CT_OR_DIE(be->ops->uep_block_gemm(be, c->layout, c->M, c->N, c->K, c->a_rows, c->b_cols, c->A, lda, c->B, ldb,
                                          c->nb, c->blocks, 0.0f, c->C, c->N));
}

/* ROW_COL: A cut into R row blocks of M, B into Cb column blocks of N, the
 * packet sums `nb` pairs (r, c) in row-major order over the R x Cb grid.
 * COL_ROW: K cut into nb ranges of K / nb. */
static void bench_uep_case(const char *name, ct_uep_layout layout, int M, int N, int K, int R, int Cb, int nb) {
    uep_ctx c;
    memset(&c, 0, sizeof c);
    c.layout = layout, c.M = M, c.N = N, c.K = K, c.nb = nb;
    double flops = 0;
    if (layout == CT_UEP_ROW_COL) {
        c.a_rows = R * M, c.b_cols = Cb * N;
        for (int b = 0; b < nb; b++) {
            c.blocks[b] = (ct_uep_block){(b / Cb % R) * M, (b % Cb) * N, 0, 1.0f - 0.07f * (float)b};
            flops += 2.0 * M * N * (double)K;
        }
    } else {
        c.a_rows = M, c.b_cols = N;
        const int len = K / nb;
        for (int b = 0; b < nb; b++) {
            c.blocks[b] = (ct_uep_block){b * len, b * len, len, 1.0f - 0.07f * (float)b};
            flops += 2.0 * M * N * (double)len;
        }
    }
    const size_t na = (size_t)c.a_rows * K, nbb = (size_t)K * c.b_cols, nc = (size_t)M * N;
    c.A = dalloc(na * sizeof(float));
    c.B = dalloc(nbb * sizeof(float));
    c.C = dalloc(nc * sizeof(float));
    fill_random(c.A, na, 1);
    fill_random(c.B, nbb, 2);
    const int r = quick ? 10 : reps;
    c.cublas = 0;
    const double ms_k = time_ms(run_uep, &c, 1, r);
    c.cublas = 1;
    const double ms_b = time_ms(run_uep, &c, 1, r);
    const double tk = flops / (ms_k * 1e-3) / 1e12, tb = flops / (ms_b * 1e-3) / 1e12;
    printf("| %s | %s | %d | %dx%d, inner %d | %.3f | %.2f | %.3f | %.2f | %.2f |\n", name,
           layout == CT_UEP_ROW_COL ? "row x col" : "col x row", nb, M, N, layout == CT_UEP_ROW_COL ? K : K / nb, ms_k,
           tk, ms_b, tb, tk / tb);
    be->ops->free(be, c.A);
    be->ops->free(be, c.B);
    be->ops->free(be, c.C);
}

static void bench_uep(void) {
    printf("## UEP block GEMM (FP32)\n\n");
    printf("C = sum_b w_b A_b B_b: the custom kernel (one launch) vs the same sum through cuBLAS (one sgemm per "
           "block, FP32, no TF32).\n\n");
    printf("| case | layout | blocks | block product | kernel ms | kernel TFLOP/s | cuBLAS ms | cuBLAS TFLOP/s | "
           "kernel / cuBLAS |\n|---|---|---|---|---|---|---|---|---|\n");
    bench_uep_case("3x3 grid, 9 pairs", CT_UEP_ROW_COL, 1024, 1024, 1024, 3, 3, 9);
    bench_uep_case("9 inner ranges", CT_UEP_COL_ROW, 1024, 1024, 9216, 0, 0, 9);
    bench_uep_case("2x2 grid, 4 pairs", CT_UEP_ROW_COL, 4096, 4096, 4096, 2, 2, 4);
    bench_uep_case("MLP layer, 2x2 grid", CT_UEP_ROW_COL, 256, 256, 784, 2, 2, 4);
    bench_uep_case("MLP layer, 4 ranges", CT_UEP_COL_ROW, 256, 512, 784, 0, 0, 4);
    bench_uep_case("MLP hidden, 3 pairs", CT_UEP_ROW_COL, 256, 512, 512, 3, 1, 3);
    printf("\n");
}

/* ---------------- graph vs eager training step ---------------- */

typedef struct {
    ct_mlp_workspace *ws;
    float *p, *g, *v, *x;
    int32_t *y;
    int batch, steps;
    size_t P;
    ct_graph *graph;
} step_ctx;
static void one_step(step_ctx *c) {
    CT_OR_DIE(ct_mlp_loss_grad(c->ws, c->p, c->x, c->y, NULL, c->batch, 0.0f, c->g, NULL));
    CT_OR_DIE(be->ops->sgd_update(be, c->P, 0.01f, 0.9f, 1e-4f, c->p, c->g, c->v));
}
static void run_steps_eager(void *p) {
    step_ctx *c = p;
    for (int s = 0; s < c->steps; s++) one_step(c);
}
static void run_steps_graph(void *p) {
    step_ctx *c = p;
    for (int s = 0; s < c->steps; s++) CT_OR_DIE(be->ops->graph_launch(be, c->graph));
}

static void bench_graph_case(const char *model, int batch) {
    ct_mlp_spec spec;
    CT_OR_DIE(ct_mlp_spec_parse(model, 0, 0, &spec));
    step_ctx c;
    memset(&c, 0, sizeof c);
    c.batch = batch, c.steps = 100, c.P = ct_mlp_param_count(&spec);
    CT_OR_DIE(ct_mlp_workspace_create(be, &spec, batch, &c.ws));
    float *hp = malloc(c.P * sizeof(float));
    ct_mlp_init_params(&spec, 1, hp);
    c.p = dalloc(c.P * sizeof(float));
    c.g = dalloc(c.P * sizeof(float));
    c.v = dalloc(c.P * sizeof(float));
    CT_OR_DIE(be->ops->memcpy_h2d(be, c.p, hp, c.P * sizeof(float)));
    CT_OR_DIE(be->ops->fill(be, c.P, 0.0f, c.v));
    const int in = spec.sizes[0], classes = spec.sizes[spec.n_layers];
    c.x = dalloc((size_t)batch * in * sizeof(float));
    fill_random(c.x, (size_t)batch * in, 3);
    int32_t *hy = malloc((size_t)batch * sizeof(int32_t));
    for (int i = 0; i < batch; i++) hy[i] = (int32_t)((i * 7919) % classes);
    c.y = dalloc((size_t)batch * sizeof(int32_t));
    CT_OR_DIE(be->ops->memcpy_h2d(be, c.y, hy, (size_t)batch * sizeof(int32_t)));
    one_step(&c); /* first use loads kernels and cuBLAS state: never while recording */
    CT_OR_DIE(be->ops->sync(be));
    CT_OR_DIE(be->ops->graph_begin(be));
    one_step(&c);
    CT_OR_DIE(be->ops->graph_end(be, &c.graph));
    const int r = quick ? 5 : 15;
    const double eager = time_ms(run_steps_eager, &c, 0, r) / c.steps;
    const double graph = time_ms(run_steps_graph, &c, 0, r) / c.steps;
    printf("| %s | %d | %zu | %.1f | %.1f | %.0f%% |\n", model, batch, c.P, eager * 1e3, graph * 1e3,
           100.0 * (1.0 - graph / eager));
    be->ops->graph_destroy(be, c.graph);
    ct_mlp_workspace_destroy(c.ws);
    be->ops->free(be, c.p), be->ops->free(be, c.g), be->ops->free(be, c.v), be->ops->free(be, c.x),
        be->ops->free(be, c.y);
    free(hp), free(hy);
}

static void bench_graphs(void) {
    printf("## Training step: eager vs CUDA graph\n\n");
    printf("One step = forward + backward (ct_mlp_loss_grad) + SGD with momentum; 100 back-to-back steps timed with "
           "events, per-step median of the batches; no L2 flush (steady-state training).\n\n");
    printf("| model | batch | params | eager us/step | graph us/step | cut |\n|---|---|---|---|---|---|\n");
    bench_graph_case("mlp:784-256-10", 256);
    bench_graph_case("mlp:784-512-512-10", 256);
    printf("\n");
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1, reps = 10;
        else {
            fprintf(stderr, "usage: bench_kernels [--quick]\n");
            return 2;
        }
    }
    if (ct_cuda_device_count() == 0) {
        printf("no usable CUDA GPU: nothing measured\n");
        return 0;
    }
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    ct_status st = ct_backend_create(CT_DEVICE_CUDA, &cfg, &be);
    if (st == CT_ERR_NO_DEVICE) {
        printf("no usable CUDA GPU: nothing measured (%s)\n", ct_last_error());
        return 0;
    }
    CT_OR_DIE(st);
    stream = (cudaStream_t)ct_cuda_backend_stream(be);
    struct cudaDeviceProp prop;
    CUDA_OR_DIE(cudaGetDeviceProperties(&prop, cfg.device_index));
    int drv = 0, rt = 0;
    CUDA_OR_DIE(cudaDriverGetVersion(&drv));
    CUDA_OR_DIE(cudaRuntimeGetVersion(&rt));
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    flush_bytes = 2 * (size_t)(prop.l2CacheSize > 0 ? prop.l2CacheSize : (50 << 20));
    flush_buf = dalloc(flush_bytes);

    printf("# bench/kernels\n\n");
    printf("| GPU | SMs | L2 | driver (CUDA API) | CUDA runtime | date |\n|---|---|---|---|---|---|\n");
    printf("| %s (sm_%d%d) | %d | %d MiB | %d.%d | %d.%d | %s |\n\n", prop.name, prop.major, prop.minor,
           prop.multiProcessorCount, prop.l2CacheSize >> 20, drv / 1000, (drv % 1000) / 10, rt / 1000,
           (rt % 1000) / 10, date);
    printf("Median of %d timed runs after 3 warm-up runs%s.\n\n", reps, quick ? " (--quick)" : "");
    fflush(stdout);
    bench_memory_bound();
    fflush(stdout);
    bench_uep();
    fflush(stdout);
    bench_graphs();
    be->ops->free(be, flush_buf);
    ct_backend_destroy(be);
    return 0;
}
#endif
