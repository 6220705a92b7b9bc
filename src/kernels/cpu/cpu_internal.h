/* Shared declarations of the CPU backend (the reference implementation of
 * backend.h). Every op runs synchronously in the calling thread. */
#ifndef CODEDTRAIN_KERNELS_CPU_INTERNAL_H
#define CODEDTRAIN_KERNELS_CPU_INTERNAL_H

#include <stdatomic.h>

#include "kernels/backend.h"

/* GCC builds the project at -O2, whose "very cheap" vectoriser skips loops of
 * unknown trip count; the elementwise loops of this backend are meant to be
 * vectorised, so these files ask for O3. (Clang vectorises at -O2 already.) */
#if defined(__GNUC__) && !defined(__clang__)
#define CT_CPU_VECTORIZE _Pragma("GCC optimize(\"O3\")")
#else
#define CT_CPU_VECTORIZE
#endif

typedef struct ct_cpu_backend {
    ct_backend base; /* first: a ct_backend * is a ct_cpu_backend * */
    int threads;
    char description[64];
} ct_cpu_backend;

/* An op runs to completion before it returns, so an event is "done" once
 * recorded; atomic because the recording worker thread and the polling master
 * thread differ. A never-recorded event counts as done (as on CUDA). */
typedef struct ct_cpu_event {
    atomic_int done;
} ct_cpu_event;

/* ops_nn.c */
ct_status ct_cpu_gemm(ct_backend *be, int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
ct_status ct_cpu_bias_act_forward(ct_backend *be, ct_activation act, int rows, int cols,
                                  const float *bias, float *y);
ct_status ct_cpu_act_backward(ct_backend *be, ct_activation act, size_t n, const float *y, float *dy);
ct_status ct_cpu_bias_grad(ct_backend *be, int rows, int cols, const float *dz, float beta, float *db);
ct_status ct_cpu_softmax_xent(ct_backend *be, int rows, int classes, const float *logits,
                              const int32_t *labels, const float *w, float *dlogits, float *loss_out);
ct_status ct_cpu_sgd_update(ct_backend *be, size_t n, float lr, float momentum, float weight_decay,
                            float *p, const float *g, float *v);

/* ops_conv.c */
ct_status ct_cpu_im2col(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *col);
ct_status ct_cpu_col2im(ct_backend *be, const ct_conv_geom *g, int batch, const float *col, float *dx);
ct_status ct_cpu_channel_bias_act_forward(ct_backend *be, ct_activation act, int batch, int channels, int spatial,
                                          const float *bias, float *y);
ct_status ct_cpu_channel_bias_grad(ct_backend *be, int batch, int channels, int spatial, const float *dy, float beta,
                                   float *db);
ct_status ct_cpu_maxpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y,
                                 int32_t *argmax);
ct_status ct_cpu_maxpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy,
                                  const int32_t *argmax, float *dx);
ct_status ct_cpu_avgpool_forward(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y);
ct_status ct_cpu_avgpool_backward(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy, float *dx);

/* ops_vector.c */
ct_status ct_cpu_fill(ct_backend *be, size_t n, float value, float *x);
ct_status ct_cpu_scale(ct_backend *be, size_t n, float a, float *x);
ct_status ct_cpu_axpy(ct_backend *be, size_t n, float a, const float *x, float *y);
ct_status ct_cpu_nrm2(ct_backend *be, size_t n, const float *x, double *out);
ct_status ct_cpu_dot(ct_backend *be, size_t n, const float *x, const float *y, double *out);
ct_status ct_cpu_all_finite(ct_backend *be, size_t n, const float *x, int *ok);
ct_status ct_cpu_flag_nonfinite(ct_backend *be, size_t n, const float *x, int *flag);

/* ops_coding.c */
ct_status ct_cpu_combine(ct_backend *be, int m, int d, const float *E, const float *const *G, size_t P,
                         float *const *Y, float beta);
ct_status ct_cpu_sign_pack(ct_backend *be, ct_quantizer q, size_t P, const float *x, uint64_t seed,
                           float *ef_state, uint32_t *bits, float *scale);
ct_status ct_cpu_unpack_accumulate(ct_backend *be, int count, const float *coef,
                                   const uint32_t *const *bits, const float *const *scales, size_t P,
                                   float *out);

/* ops_uep.c */
ct_status ct_cpu_uep_block_gemm(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows, int b_cols,
                                const float *A, int lda, const float *B, int ldb, int nblocks,
                                const ct_uep_block *blocks, float beta, float *C, int ldc);
ct_status ct_cpu_graph_begin(ct_backend *be);
ct_status ct_cpu_graph_end(ct_backend *be, ct_graph **graph);
ct_status ct_cpu_graph_launch(ct_backend *be, ct_graph *graph);
void ct_cpu_graph_destroy(ct_backend *be, ct_graph *graph);

/* throttle.c */
ct_status ct_cpu_throttle(ct_backend *be, double ms, volatile int *cancel);
ct_status ct_cpu_flag_raise(ct_backend *be, volatile int *flag);

#endif
