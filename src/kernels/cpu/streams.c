/* The cpu-streams backend's core (see streams_internal.h): per-context stream
 * threads, the device registry and its device-wide waits, memory, events, flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/streams_internal.h"

#define CS_ALIGN 64
#define CS_MAX_DEVICES 8

/* Every live context, so that a device-wide wait can reach every stream, and
 * the kernels already "loaded" per device. One lock: device-wide waits are
 * rare (setup, teardown, first use) and must see a consistent set. */
static pthread_mutex_t cs_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static cs_ctx *cs_reg_head;
static unsigned cs_loaded[CS_MAX_DEVICES];

/* Pinned host ranges (host_alloc): copies from them are asynchronous. */
typedef struct cs_range {
    const char *p;
    size_t n;
    struct cs_range *next;
} cs_range;
static pthread_mutex_t cs_pin_mu = PTHREAD_MUTEX_INITIALIZER;
static cs_range *cs_pinned;

int cs_host_pinned(const void *p) {
    int found = 0;
    pthread_mutex_lock(&cs_pin_mu);
    for (cs_range *r = cs_pinned; r && !found; r = r->next)
        found = (const char *)p >= r->p && (const char *)p < r->p + r->n;
    pthread_mutex_unlock(&cs_pin_mu);
    return found;
}

ct_status cs_sticky(cs_ctx *c) {
    pthread_mutex_lock(&c->mu);
    ct_status st = c->error;
    char msg[sizeof c->error_msg];
    memcpy(msg, c->error_msg, sizeof msg);
    pthread_mutex_unlock(&c->mu);
    if (st == CT_OK) return CT_OK;
    return ct_error_set(st, __FILE__, __LINE__, "an earlier operation on this stream failed: %s", msg);
}

static void *stream_main(void *arg) {
    cs_ctx *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->head && !c->quit) pthread_cond_wait(&c->cv, &c->mu);
        if (!c->head) break; /* quit with nothing left */
        cs_op *op = c->head;
        c->head = op->next;
        if (!c->head) c->tail = NULL;
        const int failed = c->error != CT_OK;
        pthread_mutex_unlock(&c->mu);
        /* after a failure the stream is poisoned, as a CUDA context: nothing more runs */
        ct_status st = failed || !op->run ? CT_OK : op->run(op);
        char msg[sizeof c->error_msg];
        if (st != CT_OK) snprintf(msg, sizeof msg, "%s", ct_last_error());
        free(op->heap);
        free(op);
        pthread_mutex_lock(&c->mu);
        if (st != CT_OK && c->error == CT_OK) {
            c->error = st;
            memcpy(c->error_msg, msg, sizeof msg);
        }
        c->completed++;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Wait until every op enqueued on c before this call has run. */
static void drain(cs_ctx *c) {
    pthread_mutex_lock(&c->mu);
    const unsigned long long target = c->enqueued;
    while (c->completed < target) pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static void device_wait_locked(int device) {
    for (cs_ctx *o = cs_reg_head; o; o = o->next_on_list)
        if (o->device == device) drain(o);
}

void cs_device_wait(cs_ctx *c) {
    atomic_fetch_add(&c->host_syncs, 1);
    pthread_mutex_lock(&cs_reg_mu);
    device_wait_locked(c->device);
    pthread_mutex_unlock(&cs_reg_mu);
}

ct_status cs_stream_wait(cs_ctx *c) {
    CT_TRY(cs_refuse_while_capturing(c, "a wait for the stream (sync, a host result, a pageable copy)"));
    atomic_fetch_add(&c->host_syncs, 1);
    drain(c);
    return cs_sticky(c);
}

ct_status cs_enqueue(cs_ctx *c, const cs_op *tmpl, const char *what) { return cs_enqueue_seq(c, tmpl, what, NULL); }

ct_status cs_enqueue_seq(cs_ctx *c, const cs_op *tmpl, const char *what, unsigned long long *seq) {
    ct_status st = cs_sticky(c);
    if (st != CT_OK) {
        free(tmpl->heap); /* the op's copied arguments: it will never run */
        return st;
    }
    if (c->capturing) { /* recorded, not run (streams_graph.c) */
        pthread_mutex_lock(&cs_reg_mu);
        const int loaded = tmpl->kernel == CS_K_NONE || (cs_loaded[c->device] & (1u << tmpl->kernel));
        pthread_mutex_unlock(&cs_reg_mu);
        int taken = 0;
        return cs_capture_op(c, tmpl, loaded, &taken);
    }
    if (tmpl->kernel != CS_K_NONE) {
        /* lazy module loading: the first launch of a kernel on a device waits
         * for the whole device (a dead worker's throttle makes that forever) */
        pthread_mutex_lock(&cs_reg_mu);
        const unsigned bit = 1u << tmpl->kernel;
        if (!(cs_loaded[c->device] & bit)) {
            atomic_fetch_add(&c->host_syncs, 1);
            device_wait_locked(c->device);
            cs_loaded[c->device] |= bit;
        }
        pthread_mutex_unlock(&cs_reg_mu);
    }
    cs_op *op = malloc(sizeof *op);
    if (!op) {
        free(tmpl->heap);
        return CT_FAIL(CT_ERR_NOMEM, "cpu-streams %s: out of memory enqueueing", what);
    }
    *op = *tmpl;
    op->next = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->tail) c->tail->next = op;
    else c->head = op;
    c->tail = op;
    c->enqueued++;
    if (seq) *seq = c->enqueued;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return CT_OK;
}

long ct_cpu_streams_host_syncs(ct_backend *be) {
    if (!be || be->kind != CT_DEVICE_CPU_STREAMS) return -1;
    return atomic_load(&cs(be)->host_syncs);
}

/* ---- context ---- */

static void cs_destroy(ct_backend *be) {
    cs_ctx *c = cs(be);
    if (!c) return;
    if (c->capturing) cs_capture_discard(c); /* destroyed mid-recording: drop the recording */
    /* handle destruction (cublasDestroy) synchronises the device */
    cs_device_wait(c);
    pthread_mutex_lock(&cs_reg_mu);
    for (cs_ctx **pp = &cs_reg_head; *pp; pp = &(*pp)->next_on_list)
        if (*pp == c) {
            *pp = c->next_on_list;
            break;
        }
    pthread_mutex_unlock(&cs_reg_mu);
    if (c->has_thread) {
        pthread_mutex_lock(&c->mu);
        c->quit = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
    }
    free(c);
}

static const char *cs_describe(ct_backend *be) { return cs(be)->description; }

/* ---- memory: every call waits for the whole device first ---- */

static ct_status cs_alloc(ct_backend *be, size_t bytes, void **ptr) {
    if (!ptr) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu-streams alloc: ptr is NULL");
    *ptr = NULL;
    CT_TRY(cs_refuse_while_capturing(cs(be), "alloc"));
    cs_device_wait(cs(be));
    size_t rounded = bytes + (CS_ALIGN - 1);
    if (rounded < bytes) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams alloc: %zu bytes overflows", bytes);
    rounded = rounded / CS_ALIGN * CS_ALIGN;
    if (rounded == 0) rounded = CS_ALIGN;
    void *p = aligned_alloc(CS_ALIGN, rounded);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams alloc: out of memory allocating %zu bytes", bytes);
    /* poison: a kernel that reads memory nobody wrote sees NaN, as initcheck would flag */
    for (size_t i = 0; i + sizeof(float) <= rounded; i += sizeof(float)) {
        const float nan = __builtin_nanf("");
        memcpy((char *)p + i, &nan, sizeof nan);
    }
    *ptr = p;
    return CT_OK;
}

static void cs_free(ct_backend *be, void *ptr) {
    if (!ptr) return;
    (void)cs_refuse_while_capturing(cs(be), "free"); /* spoils a capture; frees anyway */
    cs_device_wait(cs(be));
    free(ptr);
}

static ct_status cs_host_alloc(ct_backend *be, size_t bytes, void **ptr) {
    if (!ptr) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu-streams host_alloc: ptr is NULL");
    *ptr = NULL;
    CT_TRY(cs_refuse_while_capturing(cs(be), "host_alloc"));
    cs_device_wait(cs(be)); /* cudaMallocHost synchronises the device */
    cs_range *r = malloc(sizeof *r);
    void *p = malloc(bytes ? bytes : 1);
    if (!r || !p) {
        free(r);
        free(p);
        return CT_FAIL(CT_ERR_NOMEM, "cpu-streams host_alloc: out of memory allocating %zu bytes", bytes);
    }
    r->p = p;
    r->n = bytes ? bytes : 1;
    pthread_mutex_lock(&cs_pin_mu);
    r->next = cs_pinned;
    cs_pinned = r;
    pthread_mutex_unlock(&cs_pin_mu);
    *ptr = p;
    return CT_OK;
}

static void cs_host_free(ct_backend *be, void *ptr) {
    if (!ptr) return;
    cs_device_wait(cs(be)); /* cudaFreeHost synchronises the device */
    pthread_mutex_lock(&cs_pin_mu);
    for (cs_range **pp = &cs_pinned; *pp; pp = &(*pp)->next)
        if ((*pp)->p == ptr) {
            cs_range *r = *pp;
            *pp = r->next;
            free(r);
            break;
        }
    pthread_mutex_unlock(&cs_pin_mu);
    free(ptr);
}

static ct_status run_copy(const cs_op *op) {
    memmove((void *)op->p[0], op->p[1], op->z[0]);
    return CT_OK;
}

/* host_side: the host pointer of an h2d/d2h copy (NULL for d2d). From pageable
 * memory the call waits for the stream and copies at once, as CUDA does. */
static ct_status cs_copy(ct_backend *be, void *dst, const void *src, size_t bytes, const void *host_side,
                         const char *what) {
    cs_ctx *c = cs(be);
    if (bytes == 0) return CT_OK;
    if (!dst || !src) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu-streams %s: NULL %s (%zu bytes)", what, dst ? "src" : "dst", bytes);
    if (host_side && !cs_host_pinned(host_side)) {
        CT_TRY(cs_refuse_while_capturing(c, "a copy from or to pageable host memory"));
        CT_TRY(cs_stream_wait(c));
        memmove(dst, src, bytes);
        return CT_OK;
    }
    cs_op op = {.run = run_copy, .kernel = CS_K_COPY, .z = {bytes}, .p = {dst, src}};
    return cs_enqueue(c, &op, what);
}
static ct_status cs_h2d(ct_backend *be, void *dst, const void *src, size_t bytes) {
    return cs_copy(be, dst, src, bytes, src, "memcpy_h2d");
}
static ct_status cs_d2h(ct_backend *be, void *dst, const void *src, size_t bytes) {
    return cs_copy(be, dst, src, bytes, dst, "memcpy_d2h");
}
static ct_status cs_d2d(ct_backend *be, void *dst, const void *src, size_t bytes) {
    return cs_copy(be, dst, src, bytes, NULL, "memcpy_d2d");
}

static ct_status cs_sync(ct_backend *be) { return cs_stream_wait(cs(be)); }

/* ---- events ---- */

static ct_status cs_event_create(ct_backend *be, ct_event **ev) {
    if (!ev) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu-streams event_create: ev is NULL");
    cs_event *e = calloc(1, sizeof *e);
    if (!e) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams event_create: out of memory");
    *ev = (ct_event *)e;
    return CT_OK;
}

static void cs_event_destroy(ct_backend *be, ct_event *ev) { free(ev); }

static ct_status cs_event_record(ct_backend *be, ct_event *ev) {
    cs_ctx *c = cs(be);
    if (!ev) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu-streams event_record: ev is NULL");
    cs_event *e = (cs_event *)ev;
    /* inside a capture a record would mark a point of the graph, not "now" */
    CT_TRY(cs_refuse_while_capturing(c, "event_record"));
    cs_op op = {.run = NULL, .kernel = CS_K_NONE};
    unsigned long long seq = 0;
    CT_TRY(cs_enqueue_seq(c, &op, "event_record", &seq));
    e->ctx = c;
    e->seq = seq;
    return CT_OK;
}

static ct_status cs_event_query(ct_backend *be, ct_event *ev, int *done) {
    if (!ev || !done) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu-streams event_query: NULL %s", ev ? "done" : "event");
    cs_event *e = (cs_event *)ev;
    *done = 1;
    if (!e->ctx) return CT_OK; /* never recorded: complete, as on CUDA */
    CT_TRY(cs_sticky(e->ctx));
    pthread_mutex_lock(&e->ctx->mu);
    *done = e->ctx->completed >= e->seq;
    pthread_mutex_unlock(&e->ctx->mu);
    return CT_OK;
}

/* ---- host-visible flags: pinned host memory (cudaHostAlloc synchronises) ---- */

static ct_status cs_flag_alloc(ct_backend *be, volatile int **flag) {
    if (!flag) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu-streams flag_alloc: flag is NULL");
    *flag = NULL;
    CT_TRY(cs_refuse_while_capturing(cs(be), "flag_alloc"));
    cs_device_wait(cs(be));
    int *f = calloc(1, sizeof *f);
    if (!f) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams flag_alloc: out of memory");
    *flag = f;
    return CT_OK;
}

static void cs_flag_free(ct_backend *be, volatile int *flag) {
    if (!flag) return;
    cs_device_wait(cs(be));
    free((void *)flag);
}

static ct_backend_ops cs_ops;
static void cs_init_ops(void) {
    cs_fill_ops(&cs_ops);
    cs_fill_graph_ops(&cs_ops);
    cs_ops.name = "cpu-streams";
    cs_ops.destroy = cs_destroy;
    cs_ops.describe = cs_describe;
    cs_ops.alloc = cs_alloc;
    cs_ops.free = cs_free;
    cs_ops.host_alloc = cs_host_alloc;
    cs_ops.host_free = cs_host_free;
    cs_ops.memcpy_h2d = cs_h2d;
    cs_ops.memcpy_d2h = cs_d2h;
    cs_ops.memcpy_d2d = cs_d2d;
    cs_ops.sync = cs_sync;
    cs_ops.event_create = cs_event_create;
    cs_ops.event_destroy = cs_event_destroy;
    cs_ops.event_record = cs_event_record;
    cs_ops.event_query = cs_event_query;
    cs_ops.flag_alloc = cs_flag_alloc;
    cs_ops.flag_free = cs_flag_free;
}

ct_status ct_cpu_streams_backend_create(const ct_backend_config *cfg, ct_backend **out) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_cpu_streams_backend_create: out is NULL");
    *out = NULL;
    ct_backend_config def = CT_BACKEND_CONFIG_INIT;
    if (!cfg) cfg = &def;
    if (cfg->device_index < 0 || cfg->device_index >= CS_MAX_DEVICES)
        return CT_FAIL(CT_ERR_NO_DEVICE, "cpu-streams device %d requested (0..%d)", cfg->device_index, CS_MAX_DEVICES - 1);
    pthread_once(&once, cs_init_ops);
    cs_ctx *c = calloc(1, sizeof *c);
    if (!c) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams backend: out of memory");
    c->base.ops = &cs_ops;
    c->base.kind = CT_DEVICE_CPU_STREAMS;
    c->device = cfg->device_index;
    atomic_init(&c->host_syncs, 0);
    snprintf(c->description, sizeof c->description, "cpu-streams (CUDA stream model on the CPU, device %d)", c->device);
    if (pthread_mutex_init(&c->mu, NULL) || pthread_cond_init(&c->cv, NULL)) {
        free(c);
        return CT_FAIL(CT_ERR_INTERNAL, "cpu-streams backend: pthread mutex/cond init failed");
    }
    if (pthread_create(&c->thread, NULL, stream_main, c)) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        free(c);
        return CT_FAIL(CT_ERR_INTERNAL, "cpu-streams backend: pthread_create failed for the stream thread");
    }
    c->has_thread = 1;
    pthread_mutex_lock(&cs_reg_mu);
    c->next_on_list = cs_reg_head;
    cs_reg_head = c;
    pthread_mutex_unlock(&cs_reg_mu);
    *out = &c->base;
    return CT_OK;
}
