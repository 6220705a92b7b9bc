/* CUDA backend: device discovery, the worker context (device + non-blocking
 * stream + cuBLAS handle + reduction scratch), memory, events, host flags and
 * the op table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_internal.h"

/* Eager module loading, before the runtime initialises: with CUDA 12.2+'s lazy
 * default a kernel's first launch may synchronise the context, i.e. wait for
 * another worker's throttle (forever, for a dead one). A user's explicit
 * setting is kept; every context is also warmed up (ct_backend_warm_up). */
static void eager_loading(void) {
    static int done = 0;
    if (!done) {
        setenv("CUDA_MODULE_LOADING", "EAGER", 0);
        done = 1;
    }
}

extern "C" int ct_cuda_device_count(void) {
    eager_loading();
    int n = 0;
    /* With no driver (or no GPU) this returns an error; that is "0 devices",
     * silently: the static runtime prints nothing. Clear the recorded error so
     * that it does not surface at an unrelated later launch check. */
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

extern "C" void *ct_cuda_backend_stream(ct_backend *be) {
    if (!be || be->kind != CT_DEVICE_CUDA) return NULL;
    return (void *)ct_cuda(be)->stream;
}

static void cuda_destroy(ct_backend *be) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!b) return;
    /* best effort: teardown never fails, it releases what exists */
    if (cudaSetDevice(b->device) == cudaSuccess) {
        if (b->capturing && b->stream) { /* destroyed mid-recording: drop the recording */
            cudaGraph_t g = NULL;
            if (cudaStreamEndCapture(b->stream, &g) == cudaSuccess && g) cudaGraphDestroy(g);
        }
        if (b->stream) cudaStreamSynchronize(b->stream);
        if (b->blas) cublasDestroy(b->blas);
        if (b->blas_ws) cudaFree(b->blas_ws);
        if (b->stream) cudaStreamDestroy(b->stream);
        if (b->scratch) cudaFree(b->scratch);
        if (b->uep_ws) cudaFree(b->uep_ws); /* the counters live in the same allocation */
        if (b->host_result) cudaFreeHost(b->host_result);
    }
    (void)cudaGetLastError();
    free(b);
}

static const char *cuda_describe(ct_backend *be) { return ct_cuda(be)->description; }

static ct_status cuda_alloc(ct_backend *be, size_t bytes, void **ptr) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!ptr) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda alloc: ptr is NULL");
    *ptr = NULL;
    CT_CUDA_ENTER(b);
    /* 0 bytes still gets a unique, freeable pointer, as on the CPU */
    cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 256);
    if (e != cudaSuccess) {
        *ptr = NULL;
        (void)cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        (void)cudaGetLastError();
        return CT_FAIL(e == cudaErrorMemoryAllocation ? CT_ERR_NOMEM : CT_ERR_CUDA,
                       "cuda alloc of %zu bytes on GPU %d failed: %s (%zu of %zu MiB free)", bytes, b->device,
                       cudaGetErrorString(e), free_b >> 20, total_b >> 20);
    }
    return CT_OK;
}

static void cuda_free(ct_backend *be, void *ptr) {
    if (!ptr) return;
    if (cudaSetDevice(ct_cuda(be)->device) == cudaSuccess) cudaFree(ptr);
    (void)cudaGetLastError();
}

static ct_status cuda_memcpy_kind(ct_backend *be, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                                  const char *what) {
    ct_cuda_backend *b = ct_cuda(be);
    if (bytes == 0) return CT_OK;
    if (!dst || !src) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda %s: NULL %s (%zu bytes)", what, dst ? "src" : "dst", bytes);
    CT_CUDA_ENTER(b);
    CT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, b->stream), what);
    return CT_OK;
}
static ct_status cuda_memcpy_h2d(ct_backend *be, void *dst, const void *src, size_t bytes) {
    return cuda_memcpy_kind(be, dst, src, bytes, cudaMemcpyHostToDevice, "memcpy_h2d");
}
static ct_status cuda_memcpy_d2h(ct_backend *be, void *dst, const void *src, size_t bytes) {
    return cuda_memcpy_kind(be, dst, src, bytes, cudaMemcpyDeviceToHost, "memcpy_d2h");
}
/* cudaMemcpyDefault: with unified addressing this is also right for a peer
 * copy between two GPUs (a worker's message to the master's device). */
static ct_status cuda_memcpy_d2d(ct_backend *be, void *dst, const void *src, size_t bytes) {
    return cuda_memcpy_kind(be, dst, src, bytes, cudaMemcpyDefault, "memcpy_d2d");
}

/* pinned: copies from and to it are truly asynchronous (no stream wait) */
static ct_status cuda_host_alloc(ct_backend *be, size_t bytes, void **ptr) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!ptr) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda host_alloc: ptr is NULL");
    *ptr = NULL;
    CT_CUDA_ENTER(b);
    CT_CUDA_CHECK(cudaMallocHost(ptr, bytes ? bytes : 1), "allocating pinned host staging");
    return CT_OK;
}

static void cuda_host_free(ct_backend *be, void *ptr) {
    if (!ptr) return;
    cudaFreeHost(ptr);
    (void)cudaGetLastError();
}

static ct_status cuda_sync(ct_backend *be) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_CUDA_NOT_WHILE_CAPTURING(b, "sync");
    CT_CUDA_ENTER(b);
    CT_CUDA_CHECK(cudaStreamSynchronize(b->stream), "waiting for the worker's stream");
    return CT_OK;
}

static ct_status cuda_event_create(ct_backend *be, ct_event **ev) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!ev) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda event_create: ev is NULL");
    *ev = NULL;
    CT_CUDA_ENTER(b);
    ct_cuda_event *e = (ct_cuda_event *)calloc(1, sizeof *e);
    if (!e) return CT_FAIL(CT_ERR_NOMEM, "cuda event_create: out of memory");
    /* no timing: cheaper to record and query */
    cudaError_t err = cudaEventCreateWithFlags(&e->ev, cudaEventDisableTiming);
    if (err != cudaSuccess) {
        free(e);
        return CT_FAIL(CT_ERR_CUDA, "cuda event_create: cudaEventCreateWithFlags failed: %s", cudaGetErrorString(err));
    }
    *ev = (ct_event *)e;
    return CT_OK;
}

static void cuda_event_destroy(ct_backend *be, ct_event *ev) {
    if (!ev) return;
    if (cudaSetDevice(ct_cuda(be)->device) == cudaSuccess) cudaEventDestroy(((ct_cuda_event *)ev)->ev);
    (void)cudaGetLastError();
    free(ev);
}

static ct_status cuda_event_record(ct_backend *be, ct_event *ev) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!ev) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda event_record: ev is NULL");
    /* inside a capture a record would mark a point of the graph, not "now" */
    if (b->capturing)
        return CT_FAIL(CT_ERR_UNSUPPORTED, "event_record cannot be recorded into a graph; record after graph_launch");
    CT_CUDA_ENTER(b);
    CT_CUDA_CHECK(cudaEventRecord(((ct_cuda_event *)ev)->ev, b->stream), "recording a completion event");
    return CT_OK;
}

static ct_status cuda_event_query(ct_backend *be, ct_event *ev, int *done) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!ev || !done) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda event_query: NULL %s", ev ? "done" : "event");
    CT_CUDA_ENTER(b);
    cudaError_t e = cudaEventQuery(((ct_cuda_event *)ev)->ev);
    if (e == cudaSuccess) {
        *done = 1;
        return CT_OK;
    }
    if (e == cudaErrorNotReady) {
        /* "not yet" is not an error; make sure it is not left as the last error */
        cudaError_t last = cudaGetLastError();
        if (last != cudaSuccess && last != cudaErrorNotReady)
            return CT_FAIL(CT_ERR_CUDA, "cuda event_query: pending error %s", cudaGetErrorString(last));
        *done = 0;
        return CT_OK;
    }
    *done = 0;
    return CT_FAIL(CT_ERR_CUDA, "cuda event_query: cudaEventQuery failed: %s (%s) — a kernel on this worker's stream failed",
                   cudaGetErrorString(e), cudaGetErrorName(e));
}

/* Pinned, mapped and portable host memory: the host writes it, a kernel on any
 * GPU reads it over the bus while it runs (the throttle's cancel flag). */
static ct_status cuda_flag_alloc(ct_backend *be, volatile int **flag) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!flag) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda flag_alloc: flag is NULL");
    *flag = NULL;
    CT_CUDA_ENTER(b);
    void *p = NULL;
    CT_CUDA_CHECK(cudaHostAlloc(&p, sizeof(int), cudaHostAllocMapped | cudaHostAllocPortable),
                  "allocating a host-mapped flag");
    *(volatile int *)p = 0;
    *flag = (volatile int *)p;
    return CT_OK;
}

static void cuda_flag_free(ct_backend *be, volatile int *flag) {
    if (!flag) return;
    cudaFreeHost((void *)flag);
    (void)cudaGetLastError();
}

/* the throttle kernel polls the flag every microsecond: a store is all it takes */
static ct_status cuda_flag_raise(ct_backend *be, volatile int *flag) {
    (void)be;
    if (!flag) return CT_FAIL(CT_ERR_INVALID_ARG, "cuda flag_raise: flag is NULL");
    *flag = 1;
    return CT_OK;
}

static ct_backend_ops make_cuda_ops(void) {
    ct_backend_ops o;
    memset(&o, 0, sizeof o);
    o.name = "cuda";
    o.destroy = cuda_destroy;
    o.describe = cuda_describe;
    o.alloc = cuda_alloc;
    o.free = cuda_free;
    o.memcpy_h2d = cuda_memcpy_h2d;
    o.memcpy_d2h = cuda_memcpy_d2h;
    o.memcpy_d2d = cuda_memcpy_d2d;
    o.sync = cuda_sync;
    o.host_alloc = cuda_host_alloc;
    o.host_free = cuda_host_free;
    o.event_create = cuda_event_create;
    o.event_destroy = cuda_event_destroy;
    o.event_record = cuda_event_record;
    o.event_query = cuda_event_query;
    o.flag_alloc = cuda_flag_alloc;
    o.flag_free = cuda_flag_free;
    o.flag_raise = cuda_flag_raise;
    o.gemm = ct_cuda_gemm;
    o.bias_act_forward = ct_cuda_bias_act_forward;
    o.act_backward = ct_cuda_act_backward;
    o.bias_grad = ct_cuda_bias_grad;
    o.softmax_xent = ct_cuda_softmax_xent;
    o.im2col = ct_cuda_im2col;
    o.col2im = ct_cuda_col2im;
    o.channel_bias_act_forward = ct_cuda_channel_bias_act_forward;
    o.channel_bias_grad = ct_cuda_channel_bias_grad;
    o.maxpool_forward = ct_cuda_maxpool_forward;
    o.maxpool_backward = ct_cuda_maxpool_backward;
    o.avgpool_forward = ct_cuda_avgpool_forward;
    o.avgpool_backward = ct_cuda_avgpool_backward;
    o.sgd_update = ct_cuda_sgd_update;
    o.fill = ct_cuda_fill;
    o.scale = ct_cuda_scale;
    o.axpy = ct_cuda_axpy;
    o.nrm2 = ct_cuda_nrm2;
    o.dot = ct_cuda_dot;
    o.all_finite = ct_cuda_all_finite;
    o.flag_nonfinite = ct_cuda_flag_nonfinite;
    o.combine = ct_cuda_combine;
    o.sign_pack = ct_cuda_sign_pack;
    o.unpack_accumulate = ct_cuda_unpack_accumulate;
    o.throttle = ct_cuda_throttle;
    o.uep_block_gemm = ct_cuda_uep_block_gemm;
    o.graph_begin = ct_cuda_graph_begin;
    o.graph_end = ct_cuda_graph_end;
    o.graph_launch = ct_cuda_graph_launch;
    o.graph_destroy = ct_cuda_graph_destroy;
    return o;
}
static const ct_backend_ops ct_cuda_ops = make_cuda_ops();

/* Finishes a half-built context: on failure the caller destroys it. */
static ct_status cuda_setup(ct_cuda_backend *b) {
    CT_CUDA_ENTER(b);
    cudaDeviceProp prop;
    CT_CUDA_CHECK(cudaGetDeviceProperties(&prop, b->device), "reading the GPU's properties");
    b->sm_count = prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1;
    snprintf(b->description, sizeof b->description, "%s (sm_%d%d, device %d)", prop.name, prop.major, prop.minor,
             b->device);
    CT_TRY(ct_cuda_probe_kernel_image(b->device));
    /* non-blocking: no implicit ordering with the legacy default stream, so one
     * worker's stream never waits on another's work */
    CT_CUDA_CHECK(cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking), "creating the worker's stream");
    CT_CUBLAS_CHECK(cublasCreate(&b->blas), "creating the worker's cuBLAS handle");
    CT_CUBLAS_CHECK(cublasSetStream(b->blas, b->stream), "binding cuBLAS to the worker's stream");
    /* pure FP32 (no TF32 tensor-core rounding): GEMMs match the CPU reference
     * to float tolerance */
    CT_CUBLAS_CHECK(cublasSetMathMode(b->blas, CUBLAS_DEFAULT_MATH), "setting cuBLAS to FP32 math");
    /* the handle's own workspace: cuBLAS never allocates later (not while a
     * throttle spins, not while a graph is being captured); 32 MiB is NVIDIA's
     * recommendation for Hopper, 4 MiB for earlier GPUs */
    const size_t blas_ws = prop.major >= 9 ? (32u << 20) : (4u << 20);
    CT_CUDA_CHECK(cudaMalloc(&b->blas_ws, blas_ws), "allocating the cuBLAS workspace");
    CT_CUBLAS_CHECK(cublasSetWorkspace(b->blas, b->blas_ws, blas_ws), "giving cuBLAS its workspace");
    /* uep_block_gemm's split workspace now, not at its first use mid-run */
    CT_TRY(ct_cuda_uep_workspace(b));
    CT_CUDA_CHECK(cudaMalloc((void **)&b->scratch, sizeof(ct_cuda_scratch)), "allocating reduction scratch");
    CT_CUDA_CHECK(cudaMemsetAsync(b->scratch, 0, sizeof(ct_cuda_scratch), b->stream), "zeroing reduction scratch");
    CT_CUDA_CHECK(cudaMallocHost(&b->host_result, 64), "allocating the pinned result buffer");
    CT_CUDA_CHECK(cudaStreamSynchronize(b->stream), "initialising the worker context");
    return CT_OK;
}

extern "C" ct_status ct_cuda_backend_create(const ct_backend_config *cfg, ct_backend **out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_cuda_backend_create: out is NULL");
    *out = NULL;
    ct_backend_config def = CT_BACKEND_CONFIG_INIT;
    if (!cfg) cfg = &def;
    eager_loading();
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        (void)cudaGetLastError();
        return CT_FAIL(CT_ERR_NO_DEVICE, "no usable CUDA GPU: %s (use --device cpu)",
                       e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device is visible");
    }
    if (cfg->device_index < 0 || cfg->device_index >= n)
        return CT_FAIL(CT_ERR_NO_DEVICE, "CUDA device %d requested, but %d GPU%s visible (0..%d)", cfg->device_index, n,
                       n == 1 ? " is" : "s are", n - 1);
    ct_cuda_backend *b = (ct_cuda_backend *)calloc(1, sizeof *b);
    if (!b) return CT_FAIL(CT_ERR_NOMEM, "cuda backend: out of memory");
    b->base.ops = &ct_cuda_ops;
    b->base.kind = CT_DEVICE_CUDA;
    b->device = cfg->device_index;
    ct_status st = cuda_setup(b);
    if (st != CT_OK) {
        cuda_destroy(&b->base);
        return st;
    }
    *out = &b->base;
    return CT_OK;
}
