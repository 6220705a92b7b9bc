/* The CPU uep_block_gemm against naive float64 loops, both layouts, odd sizes,
 * padded leading dimensions, random block lists (overlapping and repeated
 * pairs, zero weights), beta in {0, 1, other}: NaN-poisoned C when beta == 0
 * and sentinel padding that must stay untouched. Also argument validation,
 * the generic via-gemm formulation, and that the CPU backend declines graphs.
 * Error bound: ||C - ref|| / ||sum of |terms| || <= 1e-5 (float32 sums). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ct_test.h"
#include "kernels/backend.h"

static ct_backend *be;
static unsigned long long rng = 0x5EEDBA5Eull;

static float *fbuf(size_t n) {
    void *p = NULL;
    if (be->ops->alloc(be, (n ? n : 1) * sizeof(float), &p) != CT_OK || !p) {
        fprintf(stderr, "allocation of %zu floats failed: %s\n", n, ct_last_error());
        exit(1);
    }
    return p;
}
static double *dbuf(size_t n) {
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p) exit(1);
    return p;
}
static void fill_random(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float v = ct_test_uniform(&rng, lo, hi);
        x[i] = v != 0.0f ? v : 0.5f * hi;
    }
}
static int rand_int(int lo, int hi) { /* inclusive */
    return lo + (int)(ct_test_rng_next(&rng) % (unsigned long long)(hi - lo + 1));
}

/* ref = beta*C0 + sum_b w_b A_b B_b and mag = |beta*C0| + sum |w a b|, float64 */
static void reference(ct_uep_layout layout, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                      int nb, const ct_uep_block *bl, float beta, const float *C0, int ldc, double *ref, double *mag) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double r = beta != 0.0f ? (double)beta * C0[(size_t)i * ldc + j] : 0.0, m = fabs(r);
            for (int b = 0; b < nb; b++) {
                const int inner = layout == CT_UEP_ROW_COL ? K : bl[b].len;
                for (int k = 0; k < inner; k++) {
                    double a, bb;
                    if (layout == CT_UEP_ROW_COL) {
                        a = A[(size_t)(bl[b].a_off + i) * lda + k];
                        bb = B[(size_t)k * ldb + bl[b].b_off + j];
                    } else {
                        a = A[(size_t)i * lda + bl[b].a_off + k];
                        bb = B[(size_t)(bl[b].b_off + k) * ldb + j];
                    }
                    const double t = (double)bl[b].w * a * bb;
                    r += t;
                    m += fabs(t);
                }
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

/* One random case. via_gemm: use the generic formulation instead of the op. */
static void run_case(ct_uep_layout layout, int M, int N, int K, int nb, float beta, int pad, int via_gemm) {
    ct_uep_block *bl = malloc(sizeof *bl * (size_t)nb);
    int a_rows, b_cols;
    if (layout == CT_UEP_ROW_COL) {
        a_rows = M * rand_int(1, 3) + pad;
        b_cols = N * rand_int(1, 3) + pad;
        for (int b = 0; b < nb; b++) {
            bl[b].a_off = rand_int(0, a_rows - M);
            bl[b].b_off = rand_int(0, b_cols - N);
            bl[b].len = 0;
        }
    } else {
        a_rows = M;
        b_cols = N;
        for (int b = 0; b < nb; b++) {
            bl[b].len = rand_int(1, K);
            bl[b].a_off = rand_int(0, K - bl[b].len);
            bl[b].b_off = rand_int(0, K - bl[b].len);
        }
    }
    for (int b = 0; b < nb; b++) bl[b].w = ct_test_uniform(&rng, -1.5f, 1.5f);
    if (nb > 2) bl[1].w = 0.0f; /* a zero weight is a valid weight */
    const int lda = K + pad, ldb = b_cols + 2 * pad, ldc = N + pad;
    const size_t na = (size_t)a_rows * lda, nbb = (size_t)K * ldb, nc = (size_t)M * ldc;
    float *A = fbuf(na), *B = fbuf(nbb), *C = fbuf(nc), *C0 = fbuf(nc);
    fill_random(A, na, -1, 1);
    fill_random(B, nbb, -1, 1);
    fill_random(C0, nc, -1, 1);
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) C0[(size_t)i * ldc + j] = SENTINEL; /* padding: must stay */
    memcpy(C, C0, nc * sizeof(float));
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    double *ref = dbuf((size_t)M * N), *mag = dbuf((size_t)M * N);
    reference(layout, M, N, K, A, lda, B, ldb, nb, bl, beta, C0, ldc, ref, mag);
    if (via_gemm)
        CHECK_OK(ct_uep_block_gemm_via_gemm(be, layout, M, N, K, a_rows, b_cols, A, lda, B, ldb, nb, bl, beta, C, ldc));
    else
        CHECK_OK(be->ops->uep_block_gemm(be, layout, M, N, K, a_rows, b_cols, A, lda, B, ldb, nb, bl, beta, C, ldc));
    const double e = err_of(C, M, N, ldc, ref, mag);
    CHECK(e <= 1e-5, "%s layout %s M=%d N=%d K=%d blocks=%d beta=%g pad=%d: rel err %.3g", via_gemm ? "via_gemm" : "op",
          layout == CT_UEP_ROW_COL ? "row x col" : "col x row", M, N, K, nb, (double)beta, pad, e);
    size_t touched = 0;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) touched += C[(size_t)i * ldc + j] != SENTINEL;
    CHECK(touched == 0, "M=%d N=%d: %zu padding elements of C written", M, N, touched);
    be->ops->free(be, A);
    be->ops->free(be, B);
    be->ops->free(be, C);
    be->ops->free(be, C0);
    free(ref);
    free(mag);
    free(bl);
}

static void test_values(void) {
    const int shapes[][3] = {{1, 1, 1}, {31, 17, 5}, {64, 33, 129}, {7, 100, 300}, {130, 3, 31}};
    const int counts[] = {1, 3, 9};
    const float betas[] = {0.0f, 1.0f, -0.75f};
    for (int lay = 0; lay < 2; lay++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
                for (size_t bi = 0; bi < sizeof betas / sizeof betas[0]; bi++)
                    run_case(lay ? CT_UEP_COL_ROW : CT_UEP_ROW_COL, shapes[s][0], shapes[s][1], shapes[s][2],
                             counts[c], betas[bi], (int)((s + c) % 2) * 3, 0);
    /* the generic formulation (what the CUDA benchmark times through cuBLAS) */
    run_case(CT_UEP_ROW_COL, 31, 17, 33, 5, 0.0f, 1, 1);
    run_case(CT_UEP_COL_ROW, 31, 17, 33, 5, 0.5f, 0, 1);
    /* many pairs (the CUDA op launches once per 128) */
    run_case(CT_UEP_COL_ROW, 9, 11, 40, 200, 0.0f, 1, 0);
}

/* The same packet twice in row x column form equals one pair with w1 + w2:
 * the list really is a weighted sum, in any order. */
static void test_linearity(void) {
    const int M = 33, N = 29, K = 47, rows = 3 * M, cols = 2 * N;
    float *A = fbuf((size_t)rows * K), *B = fbuf((size_t)K * cols), *C1 = fbuf((size_t)M * N), *C2 = fbuf((size_t)M * N);
    fill_random(A, (size_t)rows * K, -1, 1);
    fill_random(B, (size_t)K * cols, -1, 1);
    ct_uep_block two[2] = {{M, N, 0, 0.25f}, {M, N, 0, 0.5f}}, one[1] = {{M, N, 0, 0.75f}};
    CHECK_OK(be->ops->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, rows, cols, A, K, B, cols, 2, two, 0.0f, C1, N));
    CHECK_OK(be->ops->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, rows, cols, A, K, B, cols, 1, one, 0.0f, C2, N));
    CHECK(ct_rel_err_f(C1, C2, (size_t)M * N) <= 1e-6, "w1 A B + w2 A B != (w1 + w2) A B: %.3g",
          ct_rel_err_f(C1, C2, (size_t)M * N));
    be->ops->free(be, A);
    be->ops->free(be, B);
    be->ops->free(be, C1);
    be->ops->free(be, C2);
}

static void expect_invalid(ct_status st, const char *what) {
    CHECK(st == CT_ERR_INVALID_ARG, "%s: got %s, expected invalid argument", what, ct_status_str(st));
    CHECK(strlen(ct_last_error()) > 0, "%s: no error message", what);
}

static void test_invalid(void) {
    const int M = 4, N = 4, K = 8;
    float *A = fbuf(16 * K), *B = fbuf((size_t)K * 16), *C = fbuf(16);
    fill_random(A, 16 * K, -1, 1);
    fill_random(B, (size_t)K * 16, -1, 1);
    ct_uep_block ok = {0, 0, 0, 1.0f}, bad_row = {13, 0, 0, 1.0f}, bad_len = {0, 0, 3, 1.0f};
    ct_uep_block cr_bad = {6, 0, 3, 1.0f}, cr_empty = {0, 0, 0, 1.0f}, nan_w = {0, 0, 0, NAN};
    const ct_backend_ops *o = be->ops;
    CHECK_OK(o->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, 16, 16, A, K, B, 16, 1, &ok, 0.0f, C, N));
    expect_invalid(o->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, 16, 16, A, K, B, 16, 1, &bad_row, 0.0f, C, N),
                   "block rows past A");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, 16, 16, A, K, B, 16, 1, &bad_len, 0.0f, C, N),
                   "len in row x column");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_COL_ROW, M, N, K, M, N, A, K, B, N, 1, &cr_bad, 0.0f, C, N),
                   "inner range past K");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_COL_ROW, M, N, K, M, N, A, K, B, N, 1, &cr_empty, 0.0f, C, N),
                   "empty inner range");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_COL_ROW, M, N, K, M + 1, N, A, K, B, N, 1, &ok, 0.0f, C, N),
                   "col x row with a_rows != M");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, 16, 16, A, K, B, 16, 0, &ok, 0.0f, C, N),
                   "no blocks");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, 16, 16, A, K, B, 16, 1, &nan_w, 0.0f, C, N),
                   "NaN weight");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, 16, 16, A, K - 1, B, 16, 1, &ok, 0.0f, C, N),
                   "lda < K");
    expect_invalid(o->uep_block_gemm(be, CT_UEP_ROW_COL, M, N, K, 16, 16, A, K, B, 16, 1, &ok, 0.0f, A + 8, N),
                   "C aliasing A");
    expect_invalid(o->uep_block_gemm(be, (ct_uep_layout)7, M, N, K, 16, 16, A, K, B, 16, 1, &ok, 0.0f, C, N),
                   "unknown layout");
    o->free(be, A);
    o->free(be, B);
    o->free(be, C);
}

static void test_graphs_declined(void) {
    ct_graph *g = (ct_graph *)&rng; /* must be reset to NULL */
    CHECK(be->ops->graph_begin(be) == CT_ERR_UNSUPPORTED, "cpu graph_begin should be unsupported");
    CHECK(be->ops->graph_end(be, &g) == CT_ERR_UNSUPPORTED && g == NULL, "cpu graph_end should be unsupported");
    CHECK(be->ops->graph_launch(be, NULL) == CT_ERR_UNSUPPORTED, "cpu graph_launch should be unsupported");
    be->ops->graph_destroy(be, NULL);
}

int main(void) {
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    cfg.threads = 2;
    if (ct_backend_create(CT_DEVICE_CPU, &cfg, &be) != CT_OK) {
        fprintf(stderr, "cannot create the CPU backend: %s\n", ct_last_error());
        return 1;
    }
    test_values();
    test_linearity();
    test_invalid();
    test_graphs_declined();
    ct_backend_destroy(be);
    return ct_test_done("test_cpu_uep_gemm");
}
