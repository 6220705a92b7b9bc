/* The cpu-streams backend's kernels: each op copies its arguments (host arrays
 * included, as the CUDA ops read them before returning) and enqueues the CPU
 * reference op on the context's stream. Ops that hand a value to the host wait
 * for the stream first, as their CUDA versions do. */
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/streams_internal.h"

/* the CPU ops ignore their backend argument: NULL stands for "the reference" */
#define REF NULL

static ct_status run_gemm(const cs_op *o) {
    return ct_cpu_gemm(REF, o->i[0], o->i[1], o->i[2], o->i[3], o->i[4], o->f[0], o->p[0], o->i[5], o->p[1], o->i[6],
                       o->f[1], (float *)o->p[2], o->i[7]);
}
static ct_status cs_gemm(ct_backend *be, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc) {
    cs_op op = {.run = run_gemm, .kernel = CS_K_GEMM, .i = {ta, tb, M, N, K, lda, ldb, ldc}, .f = {alpha, beta},
                .p = {A, B, C}};
    return cs_enqueue(cs(be), &op, "gemm");
}

static ct_status run_bias_act(const cs_op *o) {
    return ct_cpu_bias_act_forward(REF, (ct_activation)o->i[0], o->i[1], o->i[2], o->p[0], (float *)o->p[1]);
}
static ct_status cs_bias_act(ct_backend *be, ct_activation act, int rows, int cols, const float *bias, float *y) {
    cs_op op = {.run = run_bias_act, .kernel = CS_K_BIAS_ACT, .i = {(int)act, rows, cols}, .p = {bias, y}};
    return cs_enqueue(cs(be), &op, "bias_act_forward");
}

static ct_status run_act_back(const cs_op *o) {
    return ct_cpu_act_backward(REF, (ct_activation)o->i[0], o->z[0], o->p[0], (float *)o->p[1]);
}
static ct_status cs_act_back(ct_backend *be, ct_activation act, size_t n, const float *y, float *dy) {
    cs_op op = {.run = run_act_back, .kernel = CS_K_ACT_BACK, .i = {(int)act}, .z = {n}, .p = {y, dy}};
    return cs_enqueue(cs(be), &op, "act_backward");
}

static ct_status run_bias_grad(const cs_op *o) {
    return ct_cpu_bias_grad(REF, o->i[0], o->i[1], o->p[0], o->f[0], (float *)o->p[1]);
}
static ct_status cs_bias_grad(ct_backend *be, int rows, int cols, const float *dz, float beta, float *db) {
    cs_op op = {.run = run_bias_grad, .kernel = CS_K_BIAS_GRAD, .i = {rows, cols}, .f = {beta}, .p = {dz, db}};
    return cs_enqueue(cs(be), &op, "bias_grad");
}

static ct_status run_softmax(const cs_op *o) {
    return ct_cpu_softmax_xent(REF, o->i[0], o->i[1], o->p[0], o->p[1], o->p[2], (float *)o->p[3], (float *)o->p[4]);
}
static ct_status cs_softmax(ct_backend *be, int rows, int classes, const float *logits, const int32_t *labels,
                            const float *w, float *dlogits, float *loss_out) {
    cs_op op = {.run = run_softmax, .kernel = CS_K_SOFTMAX, .i = {rows, classes},
                .p = {logits, labels, w, dlogits, loss_out}};
    return cs_enqueue(cs(be), &op, "softmax_xent");
}

static ct_status run_sgd(const cs_op *o) {
    return ct_cpu_sgd_update(REF, o->z[0], o->f[0], o->f[1], o->f[2], (float *)o->p[0], o->p[1], (float *)o->p[2]);
}
static ct_status cs_sgd(ct_backend *be, size_t n, float lr, float momentum, float wd, float *p, const float *g,
                        float *v) {
    cs_op op = {.run = run_sgd, .kernel = CS_K_SGD, .z = {n}, .f = {lr, momentum, wd}, .p = {p, g, v}};
    return cs_enqueue(cs(be), &op, "sgd_update");
}

static ct_status run_fill(const cs_op *o) { return ct_cpu_fill(REF, o->z[0], o->f[0], (float *)o->p[0]); }
static ct_status cs_fill(ct_backend *be, size_t n, float value, float *x) {
    cs_op op = {.run = run_fill, .kernel = CS_K_FILL, .z = {n}, .f = {value}, .p = {x}};
    return cs_enqueue(cs(be), &op, "fill");
}

static ct_status run_scale(const cs_op *o) { return ct_cpu_scale(REF, o->z[0], o->f[0], (float *)o->p[0]); }
static ct_status cs_scale(ct_backend *be, size_t n, float a, float *x) {
    cs_op op = {.run = run_scale, .kernel = CS_K_SCALE, .z = {n}, .f = {a}, .p = {x}};
    return cs_enqueue(cs(be), &op, "scale");
}

static ct_status run_axpy(const cs_op *o) { return ct_cpu_axpy(REF, o->z[0], o->f[0], o->p[0], (float *)o->p[1]); }
static ct_status cs_axpy(ct_backend *be, size_t n, float a, const float *x, float *y) {
    cs_op op = {.run = run_axpy, .kernel = CS_K_AXPY, .z = {n}, .f = {a}, .p = {x, y}};
    return cs_enqueue(cs(be), &op, "axpy");
}

/* Host results: the reduction "kernel" is loaded like any other, then the call
 * waits for the stream and reads (one host synchronisation each). */
static ct_status reduce_prologue(ct_backend *be) {
    cs_op op = {.run = NULL, .kernel = CS_K_REDUCE};
    CT_TRY(cs_enqueue(cs(be), &op, "reduction"));
    return cs_stream_wait(cs(be));
}
static ct_status cs_nrm2(ct_backend *be, size_t n, const float *x, double *out) {
    CT_TRY(reduce_prologue(be));
    return ct_cpu_nrm2(REF, n, x, out);
}
static ct_status cs_dot(ct_backend *be, size_t n, const float *x, const float *y, double *out) {
    CT_TRY(reduce_prologue(be));
    return ct_cpu_dot(REF, n, x, y, out);
}
static ct_status cs_all_finite(ct_backend *be, size_t n, const float *x, int *ok) {
    CT_TRY(reduce_prologue(be));
    return ct_cpu_all_finite(REF, n, x, ok);
}

static ct_status run_flag_nonfinite(const cs_op *o) { return ct_cpu_flag_nonfinite(REF, o->z[0], o->p[0], (int *)o->p[1]); }
static ct_status cs_flag_nonfinite(ct_backend *be, size_t n, const float *x, int *flag) {
    cs_op op = {.run = run_flag_nonfinite, .kernel = CS_K_REDUCE, .z = {n}, .p = {x, flag}};
    return cs_enqueue(cs(be), &op, "flag_nonfinite");
}

/* combine: heap = E (m*d floats) then G (d pointers) then Y (m pointers) */
static ct_status run_combine(const cs_op *o) {
    const int m = o->i[0], d = o->i[1];
    const float *E = o->heap;
    const float *const *G = (const float *const *)((char *)o->heap + o->z[1]);
    float *const *Y = (float *const *)(G + d);
    return ct_cpu_combine(REF, m, d, E, G, o->z[0], Y, o->f[0]);
}
static ct_status cs_combine(ct_backend *be, int m, int d, const float *E, const float *const *G, size_t P,
                            float *const *Y, float beta) {
    if (m < 1 || d < 1 || m > CT_COMBINE_MAX || d > CT_COMBINE_MAX || !E || !G || !Y)
        return ct_cpu_combine(REF, m, d, E, G, P, Y, beta); /* the reference's own message */
    const size_t e_bytes = ((size_t)m * d * sizeof(float) + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
    char *heap = malloc(e_bytes + (size_t)(d + m) * sizeof(void *));
    if (!heap) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams combine: out of memory");
    memcpy(heap, E, (size_t)m * d * sizeof(float));
    memcpy(heap + e_bytes, G, (size_t)d * sizeof(void *));
    memcpy(heap + e_bytes + (size_t)d * sizeof(void *), Y, (size_t)m * sizeof(void *));
    cs_op op = {.run = run_combine, .kernel = CS_K_COMBINE, .i = {m, d}, .z = {P, e_bytes}, .f = {beta}, .heap = heap,
                .heap_bytes = e_bytes + (size_t)(d + m) * sizeof(void *)};
    return cs_enqueue(cs(be), &op, "combine");
}

static ct_status run_sign_pack(const cs_op *o) {
    return ct_cpu_sign_pack(REF, (ct_quantizer)o->i[0], o->z[0], o->p[0], o->u, (float *)o->p[1], (uint32_t *)o->p[2],
                            (float *)o->p[3]);
}
static ct_status cs_sign_pack(ct_backend *be, ct_quantizer q, size_t P, const float *x, uint64_t seed, float *ef,
                              uint32_t *bits, float *scale) {
    cs_op op = {.run = run_sign_pack, .kernel = CS_K_SIGN_PACK, .i = {(int)q}, .z = {P}, .u = seed,
                .p = {x, ef, bits, scale}};
    return cs_enqueue(cs(be), &op, "sign_pack");
}

/* unpack_accumulate: heap = coef (count floats, padded) then bits, scales (count pointers each) */
static ct_status run_unpack(const cs_op *o) {
    const int count = o->i[0];
    const float *coef = o->heap;
    const uint32_t *const *bits = (const uint32_t *const *)((char *)o->heap + o->z[1]);
    const float *const *scales = (const float *const *)(bits + count);
    return ct_cpu_unpack_accumulate(REF, count, coef, bits, scales, o->z[0], (float *)o->p[0]);
}
static ct_status cs_unpack(ct_backend *be, int count, const float *coef, const uint32_t *const *bits,
                           const float *const *scales, size_t P, float *out) {
    if (count < 1 || !coef || !bits || !scales) return ct_cpu_unpack_accumulate(REF, count, coef, bits, scales, P, out);
    const size_t c_bytes = ((size_t)count * sizeof(float) + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
    char *heap = malloc(c_bytes + 2 * (size_t)count * sizeof(void *));
    if (!heap) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams unpack_accumulate: out of memory");
    memcpy(heap, coef, (size_t)count * sizeof(float));
    memcpy(heap + c_bytes, bits, (size_t)count * sizeof(void *));
    memcpy(heap + c_bytes + (size_t)count * sizeof(void *), scales, (size_t)count * sizeof(void *));
    cs_op op = {.run = run_unpack, .kernel = CS_K_UNPACK, .i = {count}, .z = {P, c_bytes}, .p = {out}, .heap = heap,
                .heap_bytes = c_bytes + 2 * (size_t)count * sizeof(void *)};
    return cs_enqueue(cs(be), &op, "unpack_accumulate");
}

/* the throttle holds the stream (not the caller) until its time is up or the flag is set */
static ct_status run_throttle(const cs_op *o) { return ct_cpu_throttle(REF, o->ms, o->flag); }
static ct_status cs_throttle(ct_backend *be, double ms, volatile int *cancel) {
    if (!(ms > 0)) return CT_OK;
    cs_op op = {.run = run_throttle, .kernel = CS_K_THROTTLE, .ms = ms, .flag = cancel};
    return cs_enqueue(cs(be), &op, "throttle");
}

/* uep_block_gemm: arguments checked now (as the CUDA op does), blocks copied */
static ct_status run_uep(const cs_op *o) {
    return ct_cpu_uep_block_gemm(REF, (ct_uep_layout)o->i[0], o->i[1], o->i[2], o->i[3], o->i[4], o->i[5], o->p[0],
                                 o->i[6], o->p[1], o->i[7], (int)o->z[0], o->heap, o->f[0], (float *)o->p[2],
                                 (int)o->z[1]);
}
static ct_status cs_uep(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows, int b_cols,
                        const float *A, int lda, const float *B, int ldb, int nblocks, const ct_uep_block *blocks,
                        float beta, float *C, int ldc) {
    CT_TRY(ct_uep_check_args("uep_block_gemm", layout, M, N, K, a_rows, b_cols, A, lda, B, ldb, nblocks, blocks, C,
                             ldc));
    ct_uep_block *copy = malloc((size_t)nblocks * sizeof *copy);
    if (!copy) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams uep_block_gemm: out of memory");
    memcpy(copy, blocks, (size_t)nblocks * sizeof *copy);
    cs_op op = {.run = run_uep, .kernel = CS_K_UEP, .i = {(int)layout, M, N, K, a_rows, b_cols, lda, ldb},
                .z = {(size_t)nblocks, (size_t)ldc}, .f = {beta}, .p = {A, B, C}, .heap = copy,
                .heap_bytes = (size_t)nblocks * sizeof *copy};
    return cs_enqueue(cs(be), &op, "uep_block_gemm");
}

void cs_fill_ops(ct_backend_ops *o) {
    o->gemm = cs_gemm;
    o->bias_act_forward = cs_bias_act;
    o->act_backward = cs_act_back;
    o->bias_grad = cs_bias_grad;
    o->softmax_xent = cs_softmax;
    o->sgd_update = cs_sgd;
    o->fill = cs_fill;
    o->scale = cs_scale;
    o->axpy = cs_axpy;
    o->nrm2 = cs_nrm2;
    o->dot = cs_dot;
    o->all_finite = cs_all_finite;
    o->flag_nonfinite = cs_flag_nonfinite;
    o->combine = cs_combine;
    o->sign_pack = cs_sign_pack;
    o->unpack_accumulate = cs_unpack;
    o->throttle = cs_throttle;
    o->uep_block_gemm = cs_uep;
    cs_fill_conv_ops(o);
}
