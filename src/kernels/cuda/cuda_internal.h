/* Shared declarations of the CUDA backend (C++/CUDA only). */
#ifndef CODEDTRAIN_KERNELS_CUDA_INTERNAL_H
#define CODEDTRAIN_KERNELS_CUDA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/cuda/check.h"

#define CT_CUDA_THREADS 256       /* block size of the elementwise and reduction kernels */
#define CT_CUDA_REDUCE_BLOCKS 1024 /* most blocks a reduction uses: the partials array */

/* Device-side scratch of one worker context, for reductions that hand a value
 * back (nrm2, dot, all_finite, the softmax loss, sign_pack's scale). Ops of one
 * context run in order on its stream, so they share it without conflict. */
struct ct_cuda_scratch {
    double partials[CT_CUDA_REDUCE_BLOCKS]; /* one per block, summed by the last block */
    double result;
    unsigned int blocks_done; /* last-block detection; the last block resets it to 0 */
    int flag;                 /* all_finite: set to 1 by any non-finite element */
};

struct ct_cuda_backend {
    ct_backend base; /* first: a ct_backend * is a ct_cuda_backend * */
    int device;
    int sm_count;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws;            /* cublasSetWorkspace's buffer (device) */
    ct_cuda_scratch *scratch; /* device */
    void *host_result;        /* pinned, 64 bytes: where results land before sync */
    char description[192];
    /* uep_block_gemm's split-K workspace (kernels_uep.cu): allocated at setup */
    float *uep_ws;
    unsigned *uep_counters;
    int uep_blocks_per_sm; /* occupancy of the UEP kernel; 0 until first queried */
    int capturing;         /* between graph_begin and graph_end (graph.cu) */
};

/* the UEP split workspace: partial tiles of at most this many floats (16 MiB)
 * and this many output tiles' counters */
#define CT_UEP_WS_FLOATS (4u << 20)
#define CT_UEP_WS_TILES 256u

/* Ops that wait for the stream cannot be recorded into a graph: they call
 * this first, to fail with a plain message instead of spoiling the capture. */
#define CT_CUDA_NOT_WHILE_CAPTURING(b, what)                                                        \
    do {                                                                                           \
        if ((b)->capturing)                                                                        \
            return CT_FAIL(CT_ERR_UNSUPPORTED,                                                     \
                           "%s waits for the stream and cannot be recorded into a graph "          \
                           "(call it outside graph_begin/graph_end)", (what));                     \
    } while (0)

struct ct_cuda_event {
    cudaEvent_t ev;
};

static inline ct_cuda_backend *ct_cuda(ct_backend *be) { return (ct_cuda_backend *)be; }

/* Every op starts here: several workers on different GPUs may be driven from
 * one host thread, so the current device is set on every call. */
#define CT_CUDA_ENTER(b) CT_CUDA_CHECK(cudaSetDevice((b)->device), "selecting the worker's GPU")

/* Grid for a grid-stride loop over `work` items: enough blocks to fill the GPU
 * (a few per SM), never more than the work needs, at least one. */
static inline unsigned ct_cuda_grid(size_t work, int per_block, int sm_count, int blocks_per_sm) {
    size_t want = (work + (size_t)per_block - 1) / (size_t)per_block;
    size_t cap = (size_t)sm_count * (size_t)blocks_per_sm;
    if (want > cap) want = cap;
    return want ? (unsigned)want : 1u;
}

/* Deterministic two-level reductions (fixed grid, per-block partials, summed in
 * order by the last block to finish). The result lands in scratch->result
 * (double, device); with scale_out, the float scale of sign_pack too. */
enum ct_cuda_reduce_kind {
    CT_REDUCE_SUMSQ,  /* sum x_i^2 */
    CT_REDUCE_DOT,    /* sum x_i y_i */
    CT_REDUCE_MAXABS, /* max |x_i| (NaN ignored); scale_out = that max */
    CT_REDUCE_L1_SUM  /* sum |x_i + y_i| (float add); scale_out = sum / n */
};
ct_status ct_cuda_reduce(ct_cuda_backend *b, ct_cuda_reduce_kind kind, size_t n, const float *x, const float *y,
                         float *scale_out);
/* copy scratch->result to the host and wait for the stream */
ct_status ct_cuda_fetch_result(ct_cuda_backend *b, double *out);

/* ops, one file per concern */
extern "C" {
/* kernels_nn.cu */
ct_status ct_cuda_gemm(ct_backend *be, int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc);
ct_status ct_cuda_bias_act_forward(ct_backend *be, ct_activation act, int rows, int cols, const float *bias, float *y);
ct_status ct_cuda_act_backward(ct_backend *be, ct_activation act, size_t n, const float *y, float *dy);
ct_status ct_cuda_bias_grad(ct_backend *be, int rows, int cols, const float *dz, float beta, float *db);
ct_status ct_cuda_softmax_xent(ct_backend *be, int rows, int classes, const float *logits, const int32_t *labels,
                               const float *w, float *dlogits, float *loss_out);
ct_status ct_cuda_sgd_update(ct_backend *be, size_t n, float lr, float momentum, float weight_decay, float *p,
                             const float *g, float *v);
/* kernels_conv.cu */
ct_status ct_cuda_im2col(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *col);
ct_status ct_cuda_col2im(ct_backend *be, const ct_conv_geom *g, int batch, const float *col, float *dx);
ct_status ct_cuda_channel_bias_act_forward(ct_backend *be, ct_activation act, int batch, int channels, int spatial,
                                           const float *bias, float *y);
ct_status ct_cuda_channel_bias_grad(ct_backend *be, int batch, int channels, int spatial, const float *dy,
                                    float beta, float *db);
ct_status ct_cuda_maxpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y,
                                  int32_t *argmax);
ct_status ct_cuda_maxpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy,
                                   const int32_t *argmax, float *dx);
ct_status ct_cuda_avgpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y);
ct_status ct_cuda_avgpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy, float *dx);
/* kernels_vector.cu */
ct_status ct_cuda_fill(ct_backend *be, size_t n, float value, float *x);
ct_status ct_cuda_scale(ct_backend *be, size_t n, float a, float *x);
ct_status ct_cuda_axpy(ct_backend *be, size_t n, float a, const float *x, float *y);
ct_status ct_cuda_nrm2(ct_backend *be, size_t n, const float *x, double *out);
ct_status ct_cuda_dot(ct_backend *be, size_t n, const float *x, const float *y, double *out);
ct_status ct_cuda_all_finite(ct_backend *be, size_t n, const float *x, int *ok);
ct_status ct_cuda_flag_nonfinite(ct_backend *be, size_t n, const float *x, int *flag);
/* kernels_coding.cu */
ct_status ct_cuda_combine(ct_backend *be, int m, int d, const float *E, const float *const *G, size_t P,
                          float *const *Y, float beta);
ct_status ct_cuda_sign_pack(ct_backend *be, ct_quantizer q, size_t P, const float *x, uint64_t seed,
                            float *ef_state, uint32_t *bits, float *scale);
ct_status ct_cuda_unpack_accumulate(ct_backend *be, int count, const float *coef, const uint32_t *const *bits,
                                    const float *const *scales, size_t P, float *out);
/* throttle.cu */
ct_status ct_cuda_throttle(ct_backend *be, double ms, volatile int *cancel);
/* kernels_uep.cu */
ct_status ct_cuda_uep_block_gemm(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows, int b_cols,
                                 const float *A, int lda, const float *B, int ldb, int nblocks,
                                 const ct_uep_block *blocks, float beta, float *C, int ldc);
/* graph.cu */
ct_status ct_cuda_graph_begin(ct_backend *be);
ct_status ct_cuda_graph_end(ct_backend *be, ct_graph **graph);
ct_status ct_cuda_graph_launch(ct_backend *be, ct_graph *graph);
void ct_cuda_graph_destroy(ct_backend *be, ct_graph *graph);
}

/* allocate the UEP split workspace if not yet there (never while capturing) */
ct_status ct_cuda_uep_workspace(ct_cuda_backend *b);

/* a kernel of this build, for probing whether the GPU can run this build's code */
ct_status ct_cuda_probe_kernel_image(int device);

#endif
