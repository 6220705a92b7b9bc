/* Backend discovery and dispatch: picks the CPU or CUDA implementation at run time. */
#include "kernels/backend.h"

#include <string.h>

#ifndef CT_HAVE_CUDA
/* Built without CUDA: the CUDA entry points report that plainly. */
int ct_cuda_device_count(void) { return 0; }
void *ct_cuda_backend_stream(ct_backend *be) {
    (void)be;
    return NULL;
}
ct_status ct_cuda_backend_create(const ct_backend_config *cfg, ct_backend **out) {
    (void)cfg;
    *out = NULL;
    return CT_FAIL(CT_ERR_UNSUPPORTED,
                   "this codedtrain was built without CUDA support (nvcc was not found at configure time)");
}
#endif

int ct_backend_device_count(ct_device_kind kind) {
    switch (kind) {
    case CT_DEVICE_CPU: return 1;
    case CT_DEVICE_CUDA: return ct_cuda_device_count();
    case CT_DEVICE_CPU_STREAMS: return 1;
    case CT_DEVICE_AUTO: return ct_cuda_device_count() > 0 ? ct_cuda_device_count() : 1;
    }
    return 0;
}

ct_status ct_backend_create(ct_device_kind kind, const ct_backend_config *cfg, ct_backend **out) {
    ct_backend_config def = CT_BACKEND_CONFIG_INIT;
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_backend_create: out is NULL");
    *out = NULL;
    if (!cfg) cfg = &def;
    if (cfg->version != CT_BACKEND_CONFIG_VERSION)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_backend_config version %d, expected %d (use CT_BACKEND_CONFIG_INIT)",
                       cfg->version, CT_BACKEND_CONFIG_VERSION);
    if (kind == CT_DEVICE_AUTO) kind = ct_cuda_device_count() > 0 ? CT_DEVICE_CUDA : CT_DEVICE_CPU;
    if (kind == CT_DEVICE_CPU) return ct_cpu_backend_create(cfg, out);
    ct_backend *be = NULL;
    CT_TRY(kind == CT_DEVICE_CUDA ? ct_cuda_backend_create(cfg, &be) : ct_cpu_streams_backend_create(cfg, &be));
    ct_status st = ct_backend_warm_up(be);
    if (st != CT_OK) {
        ct_backend_destroy(be);
        return st;
    }
    *out = be;
    return CT_OK;
}

ct_status ct_backend_warm_up(ct_backend *be) {
    const ct_backend_ops *o = be->ops;
    enum { N = 64 };
    float *buf = NULL;
    /* x | y | bias | w | loss | ef | scale, then labels and bits */
    CT_TRY(o->alloc(be, 8 * N * sizeof(float), (void **)&buf));
    float *x = buf, *y = buf + N, *bias = buf + 2 * N, *w = buf + 3 * N, *loss = buf + 4 * N, *ef = buf + 5 * N,
          *scale = buf + 6 * N;
    int32_t *labels = (int32_t *)(buf + 7 * N);
    uint32_t *bits = (uint32_t *)(buf + 7 * N + N / 2);
    ct_status st = CT_OK;
    double d = 0;
    int ok = 0;
    const float E[2] = {1.0f, 0.5f};
    const float *G[2] = {x, bias};
    const uint32_t *B[1] = {bits};
    const float *S[1] = {scale};
    const ct_uep_block blk = {0, 0, 4, 1.0f};
#define W(call) do { if (st == CT_OK) st = (call); } while (0)
    W(o->fill(be, 7 * N, 0.5f, buf));
    W(o->fill(be, N / 2, 0.0f, (float *)labels)); /* label 0 as int32 */
    W(o->scale(be, N, 1.0f, x));
    W(o->axpy(be, N, 0.0f, x, y));
    W(o->gemm(be, 0, 1, 4, 4, 4, 1.0f, x, 4, bias, 4, 0.0f, y, 4));
    W(o->gemm(be, 1, 0, 4, 4, 4, 1.0f, x, 4, bias, 4, 1.0f, y, 4));
    W(o->gemm(be, 0, 0, 4, 4, 4, 1.0f, x, 4, bias, 4, 0.0f, y, 4));
    W(o->bias_act_forward(be, CT_ACT_RELU, 4, 4, bias, y));
    W(o->act_backward(be, CT_ACT_RELU, 16, y, x));
    W(o->bias_grad(be, 4, 4, x, 0.0f, w));
    W(o->softmax_xent(be, 4, 4, y, labels, NULL, x, loss));
    W(o->sgd_update(be, N, 0.0f, 0.5f, 0.0f, y, x, w));
    W(o->combine(be, 1, 2, E, G, N, &y, 0.0f));
    W(o->sign_pack(be, CT_QUANT_STOCHASTIC, N, x, 1, NULL, bits, scale));
    W(o->sign_pack(be, CT_QUANT_SIGN_EF, N, x, 1, ef, bits, scale));
    W(o->unpack_accumulate(be, 1, E, B, S, N, y));
    W(o->uep_block_gemm(be, CT_UEP_COL_ROW, 4, 4, 4, 4, 4, x, 4, bias, 4, 1, &blk, 0.0f, y, 4));
    W(o->throttle(be, 1e-6, NULL));
    W(o->memcpy_d2d(be, w, x, N * sizeof(float)));
    W(o->nrm2(be, N, x, &d));
    W(o->dot(be, N, x, y, &d));
    W(o->all_finite(be, N, x, &ok));
    W(o->flag_nonfinite(be, N, x, (int *)labels));
    W(o->sync(be));
#undef W
    o->free(be, buf);
    return st;
}

void ct_backend_destroy(ct_backend *be) {
    if (be) be->ops->destroy(be);
}

ct_status ct_device_kind_parse(const char *s, ct_device_kind *out) {
    if (!s) return CT_FAIL(CT_ERR_INVALID_ARG, "--device: missing value (expected auto, cpu, cuda or cpu-streams)");
    if (!strcmp(s, "auto")) *out = CT_DEVICE_AUTO;
    else if (!strcmp(s, "cpu")) *out = CT_DEVICE_CPU;
    else if (!strcmp(s, "cuda") || !strcmp(s, "gpu")) *out = CT_DEVICE_CUDA;
    else if (!strcmp(s, "cpu-streams")) *out = CT_DEVICE_CPU_STREAMS;
    else return CT_FAIL(CT_ERR_INVALID_ARG, "--device '%s': expected auto, cpu, cuda or cpu-streams", s);
    return CT_OK;
}

const char *ct_device_kind_name(ct_device_kind k) {
    switch (k) {
    case CT_DEVICE_AUTO: return "auto";
    case CT_DEVICE_CPU: return "cpu";
    case CT_DEVICE_CUDA: return "cuda";
    case CT_DEVICE_CPU_STREAMS: return "cpu-streams";
    }
    return "?";
}
