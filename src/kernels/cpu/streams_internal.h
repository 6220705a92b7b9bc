/* The "cpu-streams" backend: the CPU reference ops run under CUDA's stream
 * semantics, so that a GPU-only class of bug (a hang or a race that exists
 * because CUDA work is asynchronous and some calls synchronise the whole
 * device) shows up on a machine without a GPU. See docs/gpu.md.
 *
 * What it models, and why each matters:
 * - every op is enqueued on the context's stream and run later by that
 *   stream's own thread, in order (kernels, copies, throttles);
 * - alloc, free, flag_alloc/flag_free (cudaHostAlloc/cudaFreeHost) and context
 *   destruction (cublasDestroy) first wait for EVERY stream of the device,
 *   spinning throttles included (cudaMalloc/cudaFree may; we assume they do);
 * - the first use of each kernel on a device waits for every stream of the
 *   device (CUDA 12.2+ lazy module loading needs a context synchronisation);
 * - events complete when their stream reaches them; event_query never blocks;
 * - copies from host memory not obtained from this backend are pageable: the
 *   call waits for the stream first (as cudaMemcpyAsync from pageable memory);
 * - a failing op leaves a sticky error that every later call reports;
 * - graphs: stream capture records ops; a call that would wait for the stream,
 *   allocate, record an event, copy pageable memory or load a kernel while
 *   recording fails and spoils the capture; a replay enqueues the recorded ops
 *   with the arguments of capture time;
 * - every host-side wait is counted (ct_cpu_streams_host_syncs). */
#ifndef CODEDTRAIN_KERNELS_CPU_STREAMS_INTERNAL_H
#define CODEDTRAIN_KERNELS_CPU_STREAMS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "kernels/cpu/cpu_internal.h"

/* the kernels whose first use "loads a module" (one bit each) */
enum cs_kernel {
    CS_K_GEMM = 0, CS_K_BIAS_ACT, CS_K_ACT_BACK, CS_K_BIAS_GRAD, CS_K_SOFTMAX, CS_K_SGD, CS_K_FILL, CS_K_SCALE,
    CS_K_AXPY, CS_K_REDUCE, CS_K_COMBINE, CS_K_SIGN_PACK, CS_K_UNPACK, CS_K_THROTTLE, CS_K_UEP, CS_K_COPY,
    CS_K_CONV, /* im2col, col2im, channel bias, pooling (streams_conv.c) */
    CS_K_NONE /* markers (event records): no module */
};

typedef struct cs_op cs_op;
typedef ct_status (*cs_run_fn)(const cs_op *op);

/* One enqueued operation: the arguments copied at enqueue time (host arrays
 * into `heap`, freed after the op ran), run later by the stream's thread. */
struct cs_op {
    cs_op *next;
    cs_run_fn run;
    int kernel; /* enum cs_kernel */
    int i[8];
    size_t z[2];
    float f[4];
    double ms;
    uint64_t u;
    const void *p[6];
    volatile int *flag;
    void *heap;
    size_t heap_bytes; /* a graph replays the op with its own copy of heap */
};

typedef struct cs_ctx {
    ct_backend base; /* first: a ct_backend * is a cs_ctx * */
    int device;
    pthread_t thread;
    int has_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* work arrived / an op completed */
    cs_op *head, *tail;
    unsigned long long enqueued, completed; /* under mu */
    int quit;
    ct_status error; /* sticky: the first op that failed */
    char error_msg[512];
    atomic_long host_syncs;
    /* graph capture (streams_graph.c): ops are recorded, not run */
    int capturing, capture_spoilt;
    cs_op *cap_head, *cap_tail;
    int cap_count;
    char capture_msg[256];
    struct cs_ctx *next_on_list; /* the device registry */
    char description[80];
} cs_ctx;

typedef struct cs_event {
    cs_ctx *ctx;              /* the stream it was last recorded on (NULL: never) */
    unsigned long long seq;   /* done when ctx->completed >= seq */
} cs_event;

static inline cs_ctx *cs(ct_backend *be) { return (cs_ctx *)be; }

/* streams.c: the queue and the device-wide waits */
ct_status cs_enqueue(cs_ctx *c, const cs_op *op, const char *what);
/* the same; *seq = the op's position on the stream (done when completed >= it) */
ct_status cs_enqueue_seq(cs_ctx *c, const cs_op *op, const char *what, unsigned long long *seq);
ct_status cs_stream_wait(cs_ctx *c);   /* counted as one host synchronisation */
void cs_device_wait(cs_ctx *c);        /* every stream of c's device; counted */
int cs_host_pinned(const void *p);     /* from this backend's host_alloc? */
ct_status cs_sticky(cs_ctx *c);

/* streams_ops.c: the op table entries that enqueue CPU reference ops */
void cs_fill_ops(ct_backend_ops *o);
void cs_fill_conv_ops(ct_backend_ops *o); /* streams_conv.c */

/* streams_graph.c: capture and replay, as CUDA stream capture does it */
/* while capturing, a call that would wait or allocate fails and spoils the capture */
ct_status cs_refuse_while_capturing(cs_ctx *c, const char *what);
/* records op (taking its heap) if c is capturing; *taken = 1 then */
ct_status cs_capture_op(cs_ctx *c, const cs_op *op, int loaded, int *taken);
void cs_fill_graph_ops(ct_backend_ops *o);
void cs_capture_discard(cs_ctx *c);

#endif
