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

#include "codedtrain/device.h" /* ct_device_kind, ct_backend, creation and discovery */
#include "codedtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_activation { CT_ACT_NONE = 0, CT_ACT_RELU } ct_activation;

/* 1-bit quantizers (SCHEMES.md, 1-bit gradient coding). */
typedef enum ct_quantizer {
    CT_QUANT_STOCHASTIC = 0, /* R = ||y||_inf, bit=+1 w.p. (1+y/R)/2; unbiased */
    CT_QUANT_SIGN_EF        /* p = y + e, q = (||p||_1/P) sign(p), e <- p - q */
} ct_quantizer;

typedef struct ct_event ct_event;     /* completion marker on a stream */
typedef struct ct_graph ct_graph;     /* a captured, replayable sequence of ops (CUDA graph) */

/* UEP block-weighted GEMM (the worker side of the UEP matmul codes): a packet is
 * C (M x N) = beta * C + sum_b w_b * A_b B_b over a list of block pairs, every
 * product of the same M x N shape. Two ways of cutting A and B:
 *
 *   CT_UEP_ROW_COL  A (a_rows x K) is cut into row blocks, B (K x b_cols) into
 *                   column blocks. Block b is the pair
 *                   A_b = A[a_off : a_off + M, 0 : K]   (M x K)
 *                   B_b = B[0 : K, b_off : b_off + N]   (K x N)
 *                   so each term is one output block C[r-block, c-block] of AB;
 *                   a packet sums several of them with weights.
 *   CT_UEP_COL_ROW  A (M x K) is cut into column blocks, B (K x N) into row
 *                   blocks (AB = sum_j A[:, j] B[j, :] over inner ranges).
 *                   Block b is the pair
 *                   A_b = A[0 : M, a_off : a_off + len]  (M x len)
 *                   B_b = B[b_off : b_off + len, 0 : N]  (len x N)
 *                   (a_off == b_off for the plain outer-product split; they
 *                   may differ.)
 */
typedef enum ct_uep_layout { CT_UEP_ROW_COL = 0, CT_UEP_COL_ROW = 1 } ct_uep_layout;

/* One block pair of a packet. */
typedef struct ct_uep_block {
    int a_off; /* ROW_COL: first row of A_b in A;    COL_ROW: first column of A_b in A */
    int b_off; /* ROW_COL: first column of B_b in B; COL_ROW: first row of B_b in B */
    int len;   /* COL_ROW: inner length of the pair (>= 1); ROW_COL: must be 0 (the
                * pair spans the whole inner dimension K) */
    float w;   /* the pair's weight (any finite value, 0 included) */
} ct_uep_block;

/* Geometry of a 2-D convolution or pooling window over one NCHW image:
 * input c x h x w, window kh x kw at `stride` with `pad` zeros on every side,
 * output oh x ow with oh = (h + 2 pad - kh) / stride + 1 (likewise ow).
 * ct_conv_geom_check validates it (CT_ERR_INVALID_ARG naming `who`). */
typedef struct ct_conv_geom {
    int c, h, w;
    int kh, kw, stride, pad;
    int oh, ow;
} ct_conv_geom;
ct_status ct_conv_geom_check(const char *who, const ct_conv_geom *g);

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
    /* Host staging memory that copies can use without waiting (CUDA: pinned,
     * cudaMallocHost; CPU: malloc). Copies to or from other host memory are
     * "pageable": on CUDA they wait for the stream. Allocate at setup: on CUDA
     * this synchronises the device. host_free(NULL) is a no-op. */
    ct_status (*host_alloc)(ct_backend *be, size_t bytes, void **ptr);
    void (*host_free)(ct_backend *be, void *ptr);

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
    /* *flag = 1, and a throttle waiting on it returns now (CPU: wakes the sleeping
     * thread; CUDA: the spin kernel sees it at its next poll) */
    ct_status (*flag_raise)(ct_backend *be, volatile int *flag);

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

    /* ---- convolution and pooling (NCHW activations; see ct_conv_geom) ----
     * The geometry is a HOST struct, read before the op returns. */
    /* col[b][(ci*kh + i)*kw + j][oy*ow + ox] = x[b][ci][oy*stride - pad + i][ox*stride - pad + j]
     * (0 outside the image); x is batch x c x h x w, col batch x (c*kh*kw) x (oh*ow). */
    ct_status (*im2col)(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *col);
    /* The adjoint of im2col: dx (overwritten) = sum of the col entries that im2col
     * read from each pixel. */
    ct_status (*col2im)(ct_backend *be, const ct_conv_geom *g, int batch, const float *col, float *dx);
    /* y[b][c][p] = act(y[b][c][p] + bias[c]) in place, batch x channels x spatial; bias may be NULL */
    ct_status (*channel_bias_act_forward)(ct_backend *be, ct_activation act, int batch, int channels,
                                          int spatial, const float *bias, float *y);
    /* db[c] = beta * db[c] + sum_{b,p} dy[b][c][p]  (beta == 0: db is overwritten, never read) */
    ct_status (*channel_bias_grad)(ct_backend *be, int batch, int channels, int spatial, const float *dy,
                                   float beta, float *db);
    /* Pooling over kh x kw windows at the geometry's stride (pad must be 0; g->c
     * channels pooled separately): y is batch x c x oh x ow. Max pooling records,
     * per output, the index in its input plane (h*w) of the first maximum;
     * backward scatters dy there (dx overwritten; windows may overlap). Average
     * pooling divides by kh*kw. */
    ct_status (*maxpool_forward)(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y,
                                 int32_t *argmax);
    ct_status (*maxpool_backward)(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy,
                                  const int32_t *argmax, float *dx);
    ct_status (*avgpool_forward)(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y);
    ct_status (*avgpool_backward)(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy, float *dx);

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
    /* The same test without a host round trip: sets *flag (DEVICE int) to 1
     * when some x[i] is not finite, leaves it as it was otherwise (zero it
     * first, e.g. fill(be, 1, 0.0f, (float *)flag); OR several vectors into
     * one flag). Enqueued like any op; capturable. */
    ct_status (*flag_nonfinite)(ct_backend *be, size_t n, const float *x, int *flag);

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

    /* ---- UEP block GEMM (see ct_uep_layout above) ---- */
    /* C (M x N, ldc) = beta * C + sum_{b < nblocks} blocks[b].w * A_b B_b.
     * ROW_COL: A is a_rows x K (lda >= K), B is K x b_cols (ldb >= b_cols);
     *          every a_off + M <= a_rows and b_off + N <= b_cols.
     * COL_ROW: A is M x K (lda >= K), B is K x N (ldb >= N); a_rows must be M
     *          and b_cols N; every a_off + len <= K and b_off + len <= K.
     * blocks is a HOST array, read before the op returns; nblocks >= 1.
     * beta == 0: C is overwritten, never read. C must not overlap A or B.
     * CPU: one cblas_sgemm per block (alpha = w_b). CUDA: one custom FP32 kernel
     * over the whole list (the pairs concatenated along the inner dimension,
     * w_b folded into A's tile loads; split over the inner dimension with a
     * deterministic in-kernel fix-up when the output has too few tiles to fill
     * the GPU). Same inputs, same GPU model: same bits. */
    ct_status (*uep_block_gemm)(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows,
                                int b_cols, const float *A, int lda, const float *B, int ldb, int nblocks,
                                const ct_uep_block *blocks, float beta, float *C, int ldc);

    /* ---- graphs: record a fixed-shape sequence of ops once, replay it cheaply ----
     * graph_begin starts recording this context's stream: the ops called until
     * graph_end are recorded, NOT run. graph_end stops recording and returns the
     * replayable graph; graph_launch enqueues one replay on the stream (ordered
     * like any op; pointers and scalars are the ones given at capture time, so
     * replays read and write the same buffers). After a successful graph_begin
     * always call graph_end, even when an op in between failed (then discard
     * the graph it returns): that stops the recording and leaves the context
     * usable. graph_end fails, with no graph, when the capture was spoilt by a
     * non-capturable call. CUDA: uep_block_gemm's split workspace (16 MiB) and
     * cuBLAS's workspace are allocated with the context, so that nothing
     * allocates while recording.
     * Capturable ops (CUDA): gemm, bias_act_forward, act_backward, bias_grad, im2col,
     * col2im, channel_bias_act_forward, channel_bias_grad, the pooling ops,
     * softmax_xent, sgd_update, fill, scale, axpy, flag_nonfinite, combine, sign_pack,
     * unpack_accumulate, uep_block_gemm, throttle, memcpy_d2d, and memcpy_h2d/d2h
     * from PINNED host memory only. NOT capturable: sync, nrm2, dot, all_finite
     * (they wait for the stream; they fail with CT_ERR_UNSUPPORTED while
     * recording and spoil the capture), memcpy from pageable host memory, the
     * event ops, alloc/free. Host-array arguments (combine's E and pointer arrays,
     * unpack_accumulate's coef, uep blocks) are baked into the graph at capture.
     * Call every op once eagerly, with the same shapes, before recording it: a
     * first use loads kernels and library state, which must not happen while
     * recording. One capture at a time per context; capture mode is thread-local, so other
     * threads driving other contexts are unaffected.
     * CPU: ops run eagerly and there is nothing to gain; graph_begin, graph_end
     * and graph_launch return CT_ERR_UNSUPPORTED (callers fall back to eager
     * calls) and graph_destroy is a no-op. */
    ct_status (*graph_begin)(ct_backend *be);
    ct_status (*graph_end)(ct_backend *be, ct_graph **graph);
    ct_status (*graph_launch)(ct_backend *be, ct_graph *graph);
    void (*graph_destroy)(ct_backend *be, ct_graph *graph); /* NULL is a no-op */
} ct_backend_ops;

#define CT_COMBINE_MAX 64

/* Base of every backend object: implementations embed this first. */
struct ct_backend {
    const ct_backend_ops *ops;
    ct_device_kind kind;
};

/* The UEP packet through the backend's own gemm op: one gemm per block
 * (alpha = w_b, beta for the first block, 1 after), in block order. Same
 * contract as the uep_block_gemm op; on CUDA this is the cuBLAS comparison
 * path of the benchmark. */
ct_status ct_uep_block_gemm_via_gemm(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows,
                                     int b_cols, const float *A, int lda, const float *B, int ldb, int nblocks,
                                     const ct_uep_block *blocks, float beta, float *C, int ldc);
/* Validates the arguments of uep_block_gemm (CT_ERR_INVALID_ARG naming the
 * problem). `who` prefixes the message. */
ct_status ct_uep_check_args(const char *who, ct_uep_layout layout, int M, int N, int K, int a_rows, int b_cols,
                            const float *A, int lda, const float *B, int ldb, int nblocks,
                            const ct_uep_block *blocks, const float *C, int ldc);

/* Calls every kernel op once on tiny buffers and waits: on CUDA (lazy module
 * loading) and cpu-streams the first launch of a kernel may wait for the whole
 * device, which must happen before any worker's throttle can spin.
 * ct_backend_create does this for CUDA and cpu-streams contexts. */
ct_status ct_backend_warm_up(ct_backend *be);

/* Implementation constructors (backend.c dispatches to these). */
ct_status ct_cpu_backend_create(const ct_backend_config *cfg, ct_backend **out);
ct_status ct_cuda_backend_create(const ct_backend_config *cfg, ct_backend **out);
ct_status ct_cpu_streams_backend_create(const ct_backend_config *cfg, ct_backend **out);
int ct_cuda_device_count(void);
/* Host synchronisations a cpu-streams context has made so far (stream waits,
 * pageable copies, host-result ops, device-wide waits); -1 for other kinds. */
long ct_cpu_streams_host_syncs(ct_backend *be);
/* The cudaStream_t of a CUDA worker context, as void * (NULL for any other
 * backend): for tools that time ops with their own CUDA events (bench/). */
void *ct_cuda_backend_stream(ct_backend *be);

#ifdef __cplusplus
}
#endif
#endif
