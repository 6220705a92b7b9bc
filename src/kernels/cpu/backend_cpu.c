/* CPU backend: worker context, memory, events, flags and the op table.
 * "Device" memory is ordinary host memory; every op completes before it returns. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_internal.h"

/* 64-byte alignment: whole cache lines, and full AVX-512 vectors. */
#define CT_CPU_ALIGN 64

static void cpu_destroy(ct_backend *be) { free(be); }

static const char *cpu_describe(ct_backend *be) { return ((ct_cpu_backend *)be)->description; }

static ct_status cpu_alloc(ct_backend *be, size_t bytes, void **ptr) {
    if (!ptr) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu alloc: ptr is NULL");
    *ptr = NULL;
    /* aligned_alloc wants a multiple of the alignment; 0 bytes still gets a unique pointer */
    size_t rounded = bytes + (CT_CPU_ALIGN - 1);
    if (rounded < bytes) return CT_FAIL(CT_ERR_NOMEM, "cpu alloc: %zu bytes overflows", bytes);
    rounded = rounded / CT_CPU_ALIGN * CT_CPU_ALIGN;
    if (rounded == 0) rounded = CT_CPU_ALIGN;
    void *p = aligned_alloc(CT_CPU_ALIGN, rounded);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "cpu alloc: out of memory allocating %zu bytes", bytes);
    *ptr = p;
    return CT_OK;
}

static void cpu_free(ct_backend *be, void *ptr) { free(ptr); }

static ct_status cpu_memcpy(ct_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes == 0) return CT_OK;
    if (!dst || !src) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu memcpy: NULL %s (%zu bytes)", dst ? "src" : "dst", bytes);
    /* memmove: an overlapping d2d copy is well defined rather than undefined */
    memmove(dst, src, bytes);
    return CT_OK;
}

static ct_status cpu_sync(ct_backend *be) { return CT_OK; }

static ct_status cpu_host_alloc(ct_backend *be, size_t bytes, void **ptr) {
    if (!ptr) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu host_alloc: ptr is NULL");
    *ptr = malloc(bytes ? bytes : 1);
    if (!*ptr) return CT_FAIL(CT_ERR_NOMEM, "cpu host_alloc: out of memory allocating %zu bytes", bytes);
    return CT_OK;
}

static void cpu_host_free(ct_backend *be, void *ptr) { free(ptr); }

static ct_status cpu_event_create(ct_backend *be, ct_event **ev) {
    if (!ev) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu event_create: ev is NULL");
    ct_cpu_event *e = malloc(sizeof *e);
    if (!e) return CT_FAIL(CT_ERR_NOMEM, "cpu event_create: out of memory");
    atomic_init(&e->done, 1);
    *ev = (ct_event *)e;
    return CT_OK;
}

static void cpu_event_destroy(ct_backend *be, ct_event *ev) { free(ev); }

static ct_status cpu_event_record(ct_backend *be, ct_event *ev) {
    if (!ev) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu event_record: ev is NULL");
    /* everything enqueued before has already run: the record is complete at once */
    atomic_store_explicit(&((ct_cpu_event *)ev)->done, 1, memory_order_release);
    return CT_OK;
}

static ct_status cpu_event_query(ct_backend *be, ct_event *ev, int *done) {
    if (!ev || !done) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu event_query: NULL %s", ev ? "done" : "event");
    *done = atomic_load_explicit(&((ct_cpu_event *)ev)->done, memory_order_acquire);
    return CT_OK;
}

static ct_status cpu_flag_alloc(ct_backend *be, volatile int **flag) {
    if (!flag) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu flag_alloc: flag is NULL");
    int *f = calloc(1, sizeof *f);
    if (!f) return CT_FAIL(CT_ERR_NOMEM, "cpu flag_alloc: out of memory");
    *flag = f;
    return CT_OK;
}

static void cpu_flag_free(ct_backend *be, volatile int *flag) { free((void *)flag); }

static const ct_backend_ops ct_cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .describe = cpu_describe,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .memcpy_h2d = cpu_memcpy,
    .memcpy_d2h = cpu_memcpy,
    .memcpy_d2d = cpu_memcpy,
    .sync = cpu_sync,
    .host_alloc = cpu_host_alloc,
    .host_free = cpu_host_free,
    .event_create = cpu_event_create,
    .event_destroy = cpu_event_destroy,
    .event_record = cpu_event_record,
    .event_query = cpu_event_query,
    .flag_alloc = cpu_flag_alloc,
    .flag_free = cpu_flag_free,
    .flag_raise = ct_cpu_flag_raise,
    .gemm = ct_cpu_gemm,
    .bias_act_forward = ct_cpu_bias_act_forward,
    .act_backward = ct_cpu_act_backward,
    .bias_grad = ct_cpu_bias_grad,
    .softmax_xent = ct_cpu_softmax_xent,
    .im2col = ct_cpu_im2col,
    .col2im = ct_cpu_col2im,
    .channel_bias_act_forward = ct_cpu_channel_bias_act_forward,
    .channel_bias_grad = ct_cpu_channel_bias_grad,
    .maxpool_forward = ct_cpu_maxpool_forward,
    .maxpool_backward = ct_cpu_maxpool_backward,
    .avgpool_forward = ct_cpu_avgpool_forward,
    .avgpool_backward = ct_cpu_avgpool_backward,
    .sgd_update = ct_cpu_sgd_update,
    .fill = ct_cpu_fill,
    .scale = ct_cpu_scale,
    .axpy = ct_cpu_axpy,
    .nrm2 = ct_cpu_nrm2,
    .dot = ct_cpu_dot,
    .all_finite = ct_cpu_all_finite,
    .flag_nonfinite = ct_cpu_flag_nonfinite,
    .combine = ct_cpu_combine,
    .sign_pack = ct_cpu_sign_pack,
    .unpack_accumulate = ct_cpu_unpack_accumulate,
    .throttle = ct_cpu_throttle,
    .uep_block_gemm = ct_cpu_uep_block_gemm,
    .graph_begin = ct_cpu_graph_begin,
    .graph_end = ct_cpu_graph_end,
    .graph_launch = ct_cpu_graph_launch,
    .graph_destroy = ct_cpu_graph_destroy,
};

/* cfg->threads sets OpenBLAS's thread count, which is PROCESS-GLOBAL in OpenBLAS:
 * the last backend created wins for every worker. A runtime with several CPU
 * workers should give each the same count (typically cores / workers) so that
 * concurrent GEMMs do not oversubscribe the cores. */
ct_status ct_cpu_backend_create(const ct_backend_config *cfg, ct_backend **out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_cpu_backend_create: out is NULL");
    *out = NULL;
    ct_backend_config def = CT_BACKEND_CONFIG_INIT;
    if (!cfg) cfg = &def;
    if (cfg->threads < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "cpu backend: threads = %d, expected >= 1", cfg->threads);
    ct_cpu_backend *b = calloc(1, sizeof *b);
    if (!b) return CT_FAIL(CT_ERR_NOMEM, "cpu backend: out of memory");
    b->base.ops = &ct_cpu_ops;
    b->base.kind = CT_DEVICE_CPU;
    b->threads = cfg->threads;
    openblas_set_num_threads(cfg->threads);
    snprintf(b->description, sizeof b->description, "cpu (%d thread%s)", b->threads, b->threads == 1 ? "" : "s");
    *out = &b->base;
    return CT_OK;
}
