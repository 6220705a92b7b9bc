/* The device interface: one struct of function pointers per implementation
 * (cpu/ is the reference and fallback, cuda/ the fast path), chosen at run time.
 *
 * A ct_backend is one *worker context*: a device, an in-order stream of work on
 * it, its own BLAS handle. Every op is enqueued on that stream and may return
 * before it has run (CUDA); on the CPU an op runs to completion before it returns.
 * Ops that hand a value back to the host (nrm2, dot, all_finite, memcpy_d2h with
 * sync) synchronise the stream first.
 *
 * Conventions
 * - All pointers given to ops are device pointers from ct_be_alloc() of the same
 *   backend, except where a parameter is documented as host.
 * - Matrices are row-major with an explicit leading dimension (elements).
 * - Every op returns ct_status and records a message with file:line on failure.
 * - Ops never allocate on their hot path except where documented.
 */
#ifndef CODEDTRAIN_BACKEND_H
#define CODEDTRAIN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "codedtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_device_kind { CT_DEVICE_AUTO = 0, CT_DEVICE_CPU, CT_DEVICE_CUDA } ct_device_kind;

typedef enum ct_activation { CT_ACT_NONE = 0, CT_ACT_RELU } ct_activation;

/* 1-bit quantizers (SCHEMES.md, 1-bit gradient coding). */
typedef enum ct_quantizer {
    CT_QUANT_STOCHASTIC = 0, /* R = ||y||_inf, bit=+1 w.p. (1+y/R)/2; unbiased */
    CT_QUANT_SIGN_EF        /* p = y + e, q = (||p||_1/P) sign(p), e <- p - q */
} ct_quantizer;

typedef struct ct_backend ct_backend; /* one worker context (device+stream+BLAS) */
typedef struct ct_event ct_event;     /* completion marker on a stream */

/* Options for creating a worker context. Versioned: initialise with
 * CT_BACKEND_CONFIG_INIT and change only what you need. */
typedef struct ct_backend_config {
    int version;        /* CT_BACKEND_CONFIG_VERSION */
    int device_index;   /* CUDA: which GPU (round-robin is the caller's job) */
    int threads;        /* CPU: BLAS threads for this worker (>=1) */
} ct_backend_config;

#define CT_BACKEND_CONFIG_VERSION 1
#define CT_BACKEND_CONFIG_INIT {CT_BACKEND_CONFIG_VERSION, 0, 1}

/* The op table. Implementations fill every pointer; NULL means unsupported. */
typedef struct ct_backend_ops {
    const char *name; /* "cpu" or "cuda" */

    void (*destroy)(ct_backend *be);
    /* human-readable device description, e.g. "cpu (2 threads)" or "NVIDIA H100 (sm_90)" */
    const char *(*describe)(ct_backend *be);

    /* ---- memory ---- */
    ct_status (*alloc)(ct_backend *be, size_t bytes, void **ptr);
    void (*free)(ct_backend *be, void *ptr); /* NULL is a no-op */
    /* Copies are ordered on the stream. Host buffers must stay valid until the
     * stream reaches the copy (use sync) — the CUDA backend stages nothing. */
    ct_status (*memcpy_h2d)(ct_backend *be, void *dst, const void *src, size_t bytes);
    ct_status (*memcpy_d2h)(ct_backend *be, void *dst, const void *src, size_t bytes);
    ct_status (*memcpy_d2d)(ct_backend *be, void *dst, const void *src, size_t bytes);
    ct_status (*sync)(ct_backend *be); /* wait until everything enqueued has run */

    /* ---- events: the master polls these, never blocks on a straggler ---- */
    ct_status (*event_create)(ct_backend *be, ct_event **ev);
    void (*event_destroy)(ct_backend *be, ct_event *ev);
    ct_status (*event_record)(ct_backend *be, ct_event *ev);       /* mark "now" on the stream */
    /* *done = 1 when all work before the record has finished, else 0; never blocks */
    ct_status (*event_query)(ct_backend *be, ct_event *ev, int *done);

    /* ---- host-visible flags (throttle's cancel flag) ---- */
    /* *flag = a zeroed int that the host writes and running device work reads
     * (CUDA: pinned, mapped host memory; CPU: calloc). flag_free(NULL) is a no-op. */
    ct_status (*flag_alloc)(ct_backend *be, volatile int **flag);
    void (*flag_free)(ct_backend *be, volatile int *flag);

    /* ---- BLAS ---- */
    /* C[M x N] = alpha * op(A) * op(B) + beta * C, row-major, op = transpose if trans != 0.
     * op(A) is M x K, op(B) is K x N. */
    ct_status (*gemm)(ct_backend *be, int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc);

    /* ---- network elementwise ---- */
    /* y[r, c] = act(y[r, c] + bias[c]) in place, rows x cols; bias may be NULL */
    ct_status (*bias_act_forward)(ct_backend *be, ct_activation act, int rows, int cols,
                                  const float *bias, float *y);
    /* dy[i] *= act'(y[i]) in place, where y is the activation's *output* */
    ct_status (*act_backward)(ct_backend *be, ct_activation act, size_t n, const float *y,
                              float *dy);
    /* db[c] = beta * db[c] + sum_r dz[r, c]  (beta == 0: db is overwritten, never read) */
    ct_status (*bias_grad)(ct_backend *be, int rows, int cols, const float *dz, float beta,
                           float *db);
    /* Softmax cross-entropy with per-sample loss weights w (device, may be NULL:
     * weight 1/rows each). loss_out (device, 1 float) = sum_r w_r * CE_r;
     * dlogits[r, c] = w_r * (softmax(logits_r)_c - [c == labels_r]).
     * dlogits may alias logits. labels are device int32 in [0, classes); a label
     * outside: CPU fails with CT_ERR_INVALID_ARG, CUDA makes that row and the loss NaN. */
    ct_status (*softmax_xent)(ct_backend *be, int rows, int classes, const float *logits,
                              const int32_t *labels, const float *w, float *dlogits,
                              float *loss_out);

    /* ---- optimizer ---- */
    /* v = momentum * v + (g + weight_decay * p);  p -= lr * v   (v may be NULL iff momentum == 0) */
    ct_status (*sgd_update)(ct_backend *be, size_t n, float lr, float momentum,
                            float weight_decay, float *p, const float *g, float *v);

    /* ---- vector ---- */
    ct_status (*fill)(ct_backend *be, size_t n, float value, float *x);
    ct_status (*scale)(ct_backend *be, size_t n, float a, float *x);          /* x *= a */
    ct_status (*axpy)(ct_backend *be, size_t n, float a, const float *x, float *y); /* y += a x */
    /* host result; synchronises */
    ct_status (*nrm2)(ct_backend *be, size_t n, const float *x, double *out);
    ct_status (*dot)(ct_backend *be, size_t n, const float *x, const float *y, double *out);
    /* *ok = 1 iff every x[i] is finite; host result; synchronises */
    ct_status (*all_finite)(ct_backend *be, size_t n, const float *x, int *ok);

    /* ---- coding ---- */
    /* Coded combination: Y_l = beta * Y_l + sum_j E[l*d + j] * G_j for l < m, j < d,
     * every vector of length P. E is a HOST array (m x d, row-major, copied by
     * the op before it returns); G and Y are HOST arrays of DEVICE pointers (d and m
     * of them, read before the op returns). The decode form g_hat += sum a_i y_i is
     * m = 1, E = a, beta = 1. Y_l must not alias any G_j. m, d in 1..CT_COMBINE_MAX.
     * beta == 0: Y is overwritten, never read. */
    ct_status (*combine)(ct_backend *be, int m, int d, const float *E, const float *const *G,
                         size_t P, float *const *Y, float beta);

    /* 1-bit pack: bits (ceil(P/32) uint32 words, bit i%32 of word i/32 set = +1)
     * and the scale (device, 1 float) so that q_i = scale * (+-1).
     * STOCHASTIC: scale = ||x||_inf, counter-based RNG keyed by (seed, i).
     * SIGN_EF: p = x + e; scale = ||p||_1 / P; bits = sign(p) (>= 0 -> +1); e <- p - q
     * (e is device, length P, required; x unchanged). */
    ct_status (*sign_pack)(ct_backend *be, ct_quantizer q, size_t P, const float *x,
                           uint64_t seed, float *ef_state, uint32_t *bits, float *scale);
    /* out[i] += sum_k coef[k] * scale_k * (+-1 from bits_k[i]), one pass over out.
     * coef is HOST (count floats); bits/scales are HOST arrays of DEVICE pointers. */
    ct_status (*unpack_accumulate)(ct_backend *be, int count, const float *coef,
                                   const uint32_t *const *bits, const float *const *scales,
                                   size_t P, float *out);

    /* Straggler injection: delay this stream by `ms` milliseconds of wall time
     * (CUDA: a one-block spin kernel on the global timer; CPU: a sleep), cut
     * short early when *cancel becomes nonzero (host-visible flag from this
     * backend's flag_alloc; may be NULL). ms is clamped to [0, 1e12] (~30 years:
     * "until cancelled"). */
    ct_status (*throttle)(ct_backend *be, double ms, volatile int *cancel);
} ct_backend_ops;

#define CT_COMBINE_MAX 64

/* Base of every backend object: implementations embed this first. */
struct ct_backend {
    const ct_backend_ops *ops;
    ct_device_kind kind;
};

/* ---- creation and discovery ---- */

/* Number of usable devices of this kind (CPU: 1; CUDA: visible GPUs, 0 when no
 * driver/GPU or when CUDA support was not built). Never fails. */
int ct_backend_device_count(ct_device_kind kind);

/* Create one worker context of `kind` (AUTO = CUDA if a GPU is usable, else CPU).
 * Fails with CT_ERR_NO_DEVICE for CUDA without a usable GPU, CT_ERR_UNSUPPORTED
 * when CUDA support was not built. */
ct_status ct_backend_create(ct_device_kind kind, const ct_backend_config *cfg, ct_backend **out);
void ct_backend_destroy(ct_backend *be);

/* "auto" | "cpu" | "cuda" -> kind; CT_ERR_INVALID_ARG otherwise. */
ct_status ct_device_kind_parse(const char *s, ct_device_kind *out);
const char *ct_device_kind_name(ct_device_kind k);

/* Implementation constructors (backend.c dispatches to these). */
ct_status ct_cpu_backend_create(const ct_backend_config *cfg, ct_backend **out);
ct_status ct_cuda_backend_create(const ct_backend_config *cfg, ct_backend **out);
int ct_cuda_device_count(void);

#ifdef __cplusplus
}
#endif
#endif
