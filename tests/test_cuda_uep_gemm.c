/* The CUDA uep_block_gemm (custom kernel) and the cuBLAS per-block formulation
 * against a float64 reference and against the CPU op, on the same random
 * nonzero inputs: both layouts, odd sizes, misaligned and aligned (16-byte
 * load) paths, shapes that split the inner dimension over slices, more pairs
 * than one launch holds, beta in {0 (NaN-poisoned C), 1, other}, sentinel
 * padding of C that must stay untouched, and bit-identical repeat runs.
 * Error bound: ||C - ref|| / ||sum of |terms| || <= 1e-5 (FP32, no TF32).
 * Exits 77 (skipped) without a usable CUDA GPU. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ct_test.h"
#include "kernels/backend.h"

static ct_backend *cpu, *gpu;
static unsigned long long rng = 0xFEEDFACE1234ull;

static void *hmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of host memory\n");
        exit(1);
    }
    return p;
}
static void *dalloc(ct_backend *be, size_t bytes) {
    void *p = NULL;
    if (be->ops->alloc(be, bytes ? bytes : 4, &p) != CT_OK || !p) {
        fprintf(stderr, "%s alloc of %zu bytes failed: %s\n", be->ops->name, bytes, ct_last_error());
        exit(1);
    }
    return p;
}
static float *to_gpu(const float *h, size_t n) {
    float *d = dalloc(gpu, n * sizeof(float));
    CHECK_OK(gpu->ops->memcpy_h2d(gpu, d, h, n * sizeof(float)));
    return d;
}
static void from_gpu(float *h, const float *d, size_t n) {
    CHECK_OK(gpu->ops->memcpy_d2h(gpu, h, d, n * sizeof(float)));
    CHECK_OK(gpu->ops->sync(gpu));
}
static void fill_random(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float v = ct_test_uniform(&rng, lo, hi);
        x[i] = v != 0.0f ? v : 0.5f * hi;
    }
}
static int rand_int(int lo, int hi) { return lo + (int)(ct_test_rng_next(&rng) % (unsigned long long)(hi - lo + 1)); }

static void reference(ct_uep_layout layout, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                      int nb, const ct_uep_block *bl, float beta, const float *C0, int ldc, double *ref, double *mag) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double r = beta != 0.0f ? (double)beta * C0[(size_t)i * ldc + j] : 0.0, m = fabs(r);
            for (int b = 0; b < nb; b++) {
                const int inner = layout == CT_UEP_ROW_COL ? K : bl[b].len;
                const float *a = layout == CT_UEP_ROW_COL ? A + (size_t)(bl[b].a_off + i) * lda
                                                          : A + (size_t)i * lda + bl[b].a_off;
                const float *bb = layout == CT_UEP_ROW_COL ? B + bl[b].b_off + j : B + (size_t)bl[b].b_off * ldb + j;
                double s = 0, sm = 0;
                for (int k = 0; k < inner; k++) {
                    const double t = (double)a[k] * bb[(size_t)k * ldb];
                    s += t;
                    sm += fabs(t);
                }
                r += (double)bl[b].w * s;
                m += fabs((double)bl[b].w) * sm;
            }
            ref[(size_t)i * N + j] = r;
            mag[(size_t)i * N + j] = m;
        }
}
static double err_of(const float *C, int M, int N, int ldc, const double *ref, const double *mag) {
    double num = 0, den = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const float c = C[(size_t)i * ldc + j];
            if (!isfinite(c)) return INFINITY;
            const double d = c - ref[(size_t)i * N + j];
            num += d * d;
            den += mag[(size_t)i * N + j] * mag[(size_t)i * N + j];
        }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}

#define SENTINEL 12345.0f

typedef struct {
    ct_uep_layout layout;
    int M, N, K, nb;
    float beta;
    int pad;     /* padding of the leading dimensions (nonzero: misaligned rows) */
    int aligned; /* offsets multiples of 4 (the 16-byte load path when pad == 0 and K % 4 == 0) */
} ucase;

static void run_case(const ucase *c) {
    const int M = c->M, N = c->N, K = c->K, nb = c->nb, pad = c->pad;
    ct_uep_block *bl = hmalloc(sizeof *bl * (size_t)nb);
    int a_rows, b_cols;
    const int q = c->aligned ? 4 : 1;
    if (c->layout == CT_UEP_ROW_COL) {
        a_rows = M * rand_int(1, 3) + pad;
        b_cols = N * rand_int(1, 3) + 4 * pad;
        for (int b = 0; b < nb; b++) {
            bl[b].a_off = rand_int(0, a_rows - M);
            bl[b].b_off = rand_int(0, (b_cols - N) / q) * q;
            bl[b].len = 0;
        }
    } else {
        a_rows = M;
        b_cols = N;
        for (int b = 0; b < nb; b++) {
            bl[b].len = rand_int(1, K);
            bl[b].a_off = rand_int(0, (K - bl[b].len) / q) * q;
            bl[b].b_off = rand_int(0, K - bl[b].len);
        }
    }
    for (int b = 0; b < nb; b++) bl[b].w = ct_test_uniform(&rng, -1.5f, 1.5f);
    if (nb > 2) bl[1].w = 0.0f;
    const int lda = K + pad, ldb = b_cols + pad, ldc = N + pad;
    const size_t na = (size_t)a_rows * lda, nbb = (size_t)K * ldb, nc = (size_t)M * ldc;
    float *A = hmalloc(na * sizeof(float)), *B = hmalloc(nbb * sizeof(float)), *C0 = hmalloc(nc * sizeof(float));
    float *Cin = hmalloc(nc * sizeof(float)), *Cg = hmalloc(nc * sizeof(float)), *Cb = hmalloc(nc * sizeof(float));
    float *Cg2 = hmalloc(nc * sizeof(float));
    fill_random(A, na, -1, 1);
    fill_random(B, nbb, -1, 1);
    fill_random(C0, nc, -1, 1);
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) C0[(size_t)i * ldc + j] = SENTINEL;
    memcpy(Cin, C0, nc * sizeof(float));
    if (c->beta == 0.0f)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) Cin[(size_t)i * ldc + j] = NAN;
    double *ref = hmalloc((size_t)M * N * sizeof(double)), *mag = hmalloc((size_t)M * N * sizeof(double));
    reference(c->layout, M, N, K, A, lda, B, ldb, nb, bl, c->beta, C0, ldc, ref, mag);

    float *dA = to_gpu(A, na), *dB = to_gpu(B, nbb), *dC = to_gpu(Cin, nc);
    /* the custom kernel, twice: same bits (the split fix-up sums in a fixed order) */
    CHECK_OK(gpu->ops->uep_block_gemm(gpu, c->layout, M, N, K, a_rows, b_cols, dA, lda, dB, ldb, nb, bl, c->beta, dC,
                                      ldc));
    from_gpu(Cg, dC, nc);
    CHECK_OK(gpu->ops->memcpy_h2d(gpu, dC, Cin, nc * sizeof(float)));
    CHECK_OK(gpu->ops->uep_block_gemm(gpu, c->layout, M, N, K, a_rows, b_cols, dA, lda, dB, ldb, nb, bl, c->beta, dC,
                                      ldc));
    from_gpu(Cg2, dC, nc);
    /* the cuBLAS per-block formulation */
    CHECK_OK(gpu->ops->memcpy_h2d(gpu, dC, Cin, nc * sizeof(float)));
    CHECK_OK(ct_uep_block_gemm_via_gemm(gpu, c->layout, M, N, K, a_rows, b_cols, dA, lda, dB, ldb, nb, bl, c->beta,
                                        dC, ldc));
    from_gpu(Cb, dC, nc);
    /* the CPU op */
    float *hC = dalloc(cpu, nc * sizeof(float));
    memcpy(hC, Cin, nc * sizeof(float));
    CHECK_OK(cpu->ops->uep_block_gemm(cpu, c->layout, M, N, K, a_rows, b_cols, A, lda, B, ldb, nb, bl, c->beta, hC,
                                      ldc));

    const char *lay = c->layout == CT_UEP_ROW_COL ? "row x col" : "col x row";
    const double eg = err_of(Cg, M, N, ldc, ref, mag), eb = err_of(Cb, M, N, ldc, ref, mag);
    const double ec = err_of(hC, M, N, ldc, ref, mag);
    CHECK(eg <= 1e-5, "kernel %s M=%d N=%d K=%d blocks=%d beta=%g pad=%d aligned=%d: rel err %.3g", lay, M, N, K, nb,
          (double)c->beta, pad, c->aligned, eg);
    CHECK(eb <= 1e-5, "cuBLAS per block %s M=%d N=%d K=%d blocks=%d: rel err %.3g", lay, M, N, K, nb, eb);
    CHECK(ec <= 1e-5, "cpu %s M=%d N=%d K=%d blocks=%d: rel err %.3g", lay, M, N, K, nb, ec);
    /* GPU vs CPU directly, on the same scale */
    double num = 0, den = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const double d = (double)Cg[(size_t)i * ldc + j] - hC[(size_t)i * ldc + j];
            num += d * d;
            den += mag[(size_t)i * N + j] * mag[(size_t)i * N + j];
        }
    CHECK(sqrt(num) <= 2e-5 * sqrt(den) + 1e-30, "kernel vs cpu %s M=%d N=%d K=%d: %.3g", lay, M, N, K,
          sqrt(num) / sqrt(den));
    CHECK(memcmp(Cg, Cg2, nc * sizeof(float)) == 0, "kernel %s M=%d N=%d K=%d blocks=%d: repeat run differs", lay, M, N,
          K, nb);
    size_t touched = 0;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) touched += Cg[(size_t)i * ldc + j] != SENTINEL;
    CHECK(touched == 0, "kernel M=%d N=%d: %zu padding elements of C written", M, N, touched);

    gpu->ops->free(gpu, dA);
    gpu->ops->free(gpu, dB);
    gpu->ops->free(gpu, dC);
    cpu->ops->free(cpu, hC);
    free(A), free(B), free(C0), free(Cin), free(Cg), free(Cg2), free(Cb), free(ref), free(mag), free(bl);
}

int main(void) {
    if (ct_cuda_device_count() == 0)
        CT_TEST_SKIP("no usable CUDA GPU (no driver, no device, or built without CUDA): uep_block_gemm on CUDA not tested");
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    cfg.threads = 2;
    if (ct_backend_create(CT_DEVICE_CPU, &cfg, &cpu) != CT_OK) {
        fprintf(stderr, "cannot create the CPU backend: %s\n", ct_last_error());
        return 1;
    }
    ct_backend_config gcfg = CT_BACKEND_CONFIG_INIT;
    ct_status st = ct_backend_create(CT_DEVICE_CUDA, &gcfg, &gpu);
    if (st == CT_ERR_NO_DEVICE) CT_TEST_SKIP("%s", ct_last_error());
    if (st != CT_OK) {
        fprintf(stderr, "cannot create the CUDA backend: %s\n", ct_last_error());
        return 1;
    }
    printf("testing uep_block_gemm on %s against %s\n", gpu->ops->describe(gpu), cpu->ops->describe(cpu));
    const int shapes[][3] = {{1, 1, 1}, {31, 17, 5}, {64, 33, 129}, {7, 100, 300}, {130, 3, 31}, {129, 257, 64}};
    const int counts[] = {1, 3, 9};
    const float betas[] = {0.0f, 1.0f, -0.75f};
    for (int lay = 0; lay < 2; lay++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
                for (size_t bi = 0; bi < sizeof betas / sizeof betas[0]; bi++) {
                    const ucase u = {lay ? CT_UEP_COL_ROW : CT_UEP_ROW_COL, shapes[s][0], shapes[s][1], shapes[s][2],
                                     counts[c], betas[bi], (int)((s + c + bi) % 2), (int)(bi % 2)};
                    run_case(&u);
                }
    /* long inner dimension, few output tiles: split over slices with the fix-up
     * (aligned: the 16-byte path; padded: the scalar path) */
    const ucase big[] = {
        {CT_UEP_ROW_COL, 256, 256, 1024, 9, 0.0f, 0, 1}, {CT_UEP_ROW_COL, 256, 256, 1024, 9, 0.5f, 0, 1},
        {CT_UEP_ROW_COL, 200, 131, 1000, 9, 1.0f, 1, 0}, {CT_UEP_COL_ROW, 300, 200, 4096, 5, 0.0f, 0, 1},
        {CT_UEP_COL_ROW, 97, 61, 3001, 4, -1.0f, 1, 0},  {CT_UEP_ROW_COL, 1, 1, 20000, 3, 0.0f, 0, 1},
        {CT_UEP_ROW_COL, 640, 384, 256, 2, 0.0f, 0, 1}, /* many tiles: no split */
        {CT_UEP_COL_ROW, 33, 45, 64, 300, 0.0f, 1, 0},   /* more pairs than one launch holds */
        {CT_UEP_COL_ROW, 33, 44, 64, 300, 2.0f, 0, 1},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) run_case(&big[i]);
    ct_backend_destroy(gpu);
    ct_backend_destroy(cpu);
    return ct_test_done("test_cuda_uep_gemm");
}
