/* The NCCL transport (see transport_nccl.h for the model). Plain C against the
 * NCCL C API; streams and events come from the CUDA backend's contexts, so no
 * CUDA runtime call is made here. */
#include "host/transport_nccl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/clock.h"
#include "host/message.h"
#include "host/worker.h"
#include "host/transport_mpi.h" /* CT_TRANSPORT_* */

int ct_nccl_worker_gpu(int id, int ngpu) { return ngpu >= 2 ? 1 + id % (ngpu - 1) : 0; }

#ifndef CT_HAVE_NCCL

/* Built without NCCL: the flag is a usage problem (exit 2), said plainly. */
int ct_nccl_built(void) { return 0; }
ct_status ct_nccl_transport_init(const ct_train_config *cfg) {
    (void)cfg;
    return CT_FAIL(CT_ERR_INVALID_ARG, "--transport nccl: NCCL support was not built (needs the CUDA toolkit and NCCL "
                                       "at configure time; use local or mpi)");
}
void ct_nccl_transport_finalize(const ct_train_config *cfg) { (void)cfg; }
ct_status ct_nccl_pair_create(const ct_worker_config *c, ct_worker *w, ct_nccl_pair **out) {
    (void)c;
    (void)w;
    *out = NULL;
    return CT_FAIL(CT_ERR_INVALID_ARG, "--transport nccl: NCCL support was not built");
}
void ct_nccl_pair_destroy(ct_nccl_pair *p, ct_worker *w) {
    (void)p;
    (void)w;
}
ct_status ct_nccl_pair_submit(ct_nccl_pair *p, ct_worker *w, const ct_task *t) {
    return CT_FAIL(CT_ERR_INTERNAL, "NCCL pair without NCCL");
}
ct_status ct_nccl_pair_poll(ct_nccl_pair *p, ct_worker *w, int *finished, int *abandoned) {
    return CT_FAIL(CT_ERR_INTERNAL, "NCCL pair without NCCL");
}
void ct_nccl_pair_cancel(ct_nccl_pair *p) { (void)p; }

#else

#include <nccl.h>

/* virtual clock: a transfer between two GPUs of one machine that has not landed
 * after this long will not land; the replay needs every result, so give up */
#define TRANSFER_LIMIT_S 60.0

static struct {
    int ngpu;
    int pairs, aborted;
    long tasks;
    double bytes_down, bytes_up;
} G;

int ct_nccl_built(void) { return 1; }

static ct_status nccl_fail(ncclResult_t r, const char *what, const char *file, int line) {
    const char *detail = ncclGetLastError(NULL);
    return ct_error_set(CT_ERR_NCCL, file, line, "%s: %s%s%s", what, ncclGetErrorString(r),
                        detail && *detail ? ": " : "", detail ? detail : "");
}
#define NCCL_TRY(call)                                                                   \
    do {                                                                                 \
        ncclResult_t nccl_r_ = (call);                                                   \
        if (nccl_r_ != ncclSuccess) return nccl_fail(nccl_r_, #call, __FILE__, __LINE__); \
    } while (0)
/* inside a group: remember the first failure, keep going to ncclGroupEnd */
#define NCCL_GROUP_OP(st, call)                                                              \
    do {                                                                                     \
        ncclResult_t nccl_r_ = (call);                                                       \
        if (nccl_r_ != ncclSuccess && (st) == CT_OK) (st) = nccl_fail(nccl_r_, #call, __FILE__, __LINE__); \
    } while (0)

ct_status ct_nccl_transport_init(const ct_train_config *cfg) {
    if (cfg->device == CT_DEVICE_CPU)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--transport nccl moves messages between GPUs; it does not run with --device cpu");
    if (cfg->async && cfg->compress)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--transport nccl: --async with --compress is not supported (async peels full-precision codewords)");
    const int n = ct_backend_device_count(CT_DEVICE_CUDA);
    if (n < 2)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--transport nccl needs at least 2 GPUs (found %d): the master uses GPU 0 and each worker's "
                       "pair communicator needs a second GPU",
                       n);
    memset(&G, 0, sizeof G);
    G.ngpu = n;
    return CT_OK;
}

void ct_nccl_transport_finalize(const ct_train_config *cfg) {
    if (G.aborted)
        ct_message(CT_MSG_WARNING, "nccl: %d of %d pair communicators aborted at shutdown (peer dead, hung or failed)",
                   G.aborted, G.pairs);
    if (cfg && cfg->progress != CT_PROGRESS_OFF && G.tasks)
        ct_message(CT_MSG_INFO, "nccl transport: %d pairs over %d GPUs (master on GPU 0), %ld tasks, %.3f MB to workers, %.3f MB from "
               "workers",
               G.pairs, G.ngpu, G.tasks, G.bytes_down / 1e6, G.bytes_up / 1e6);
    memset(&G, 0, sizeof G);
}

/* ---- the pair ---- */

enum { PAIR_IDLE = 0, PAIR_COMPUTE, PAIR_TRANSFER };

struct ct_nccl_pair {
    int id, gpu;
    ncclComm_t comm[2];   /* [0]: rank 0 on GPU 0 (master side), [1]: rank 1 on the worker GPU */
    int have_comm;
    ct_worker *inner;     /* the local worker on the worker GPU (owns its context) */
    size_t P, words;
    int phase, m, full;
    long step;
    int real_clock;
    double transfer_t0;
    int dead;             /* the communicator reported an error: a permanent straggler */
};

static void *stream_of(ct_backend *be) { return ct_cuda_backend_stream(be); }

static void nap_us(long us) {
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

ct_status ct_nccl_pair_create(const ct_worker_config *c, ct_worker *w, ct_nccl_pair **out) {
    *out = NULL;
    if (G.ngpu < 2) /* ct_train_run checked this; a direct caller may not have */
        return CT_FAIL(CT_ERR_INVALID_ARG, "--transport nccl needs at least 2 GPUs (found %d)",
                       ct_backend_device_count(CT_DEVICE_CUDA));
    ct_nccl_pair *p = calloc(1, sizeof *p);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "worker %d: NCCL pair", c->id);
    *out = p; /* from here on, ct_nccl_pair_destroy cleans up partial state */
    p->id = c->id;
    p->gpu = ct_nccl_worker_gpu(c->id, G.ngpu);
    p->P = w->P;
    p->words = (w->P + 31) / 32;
    p->full = c->compress == CT_COMPRESS_NONE;

    /* the worker's own context on its GPU, and an ordinary threaded local worker on it */
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    bc.device_index = p->gpu;
    ct_backend *wb = NULL;
    CT_TRY(ct_backend_create(CT_DEVICE_CUDA, &bc, &wb));
    ct_worker_config wc = *c;
    wc.backend = wb;
    wc.threaded = 1; /* the master's thread only enqueues transfers; the worker's own thread computes */
    wc.transport = CT_TRANSPORT_LOCAL;
    ct_status cs = ct_worker_create(&wc, &p->inner);
    if (cs != CT_OK && !p->inner) ct_backend_destroy(wb); /* refused before it took ownership */
    CT_TRY(cs);
    /* the proxy's cancel flag is the worker's: the master's cancel and its grace
     * wait (master.c) then act on the throttle itself (worker.c un-aliases it) */
    w->cancel = p->inner->cancel;

    int devs[2] = {0, p->gpu};
    NCCL_TRY(ncclCommInitAll(p->comm, 2, devs));
    p->have_comm = 1;
    G.pairs++;

    /* connect both directions now (NCCL connects lazily on first use), so set-up
     * costs and failures show at start, not in the first step */
    ct_status st = CT_OK;
    void *ms = stream_of(w->be), *ws = stream_of(p->inner->be);
    void *back = p->full ? (void *)w->msg[0] : (void *)w->scale[0];
    NCCL_TRY(ncclGroupStart());
    NCCL_GROUP_OP(st, ncclSend(w->params, 1, ncclFloat, 1, p->comm[0], ms));
    NCCL_GROUP_OP(st, ncclRecv(p->inner->params, 1, ncclFloat, 0, p->comm[1], ws));
    NCCL_GROUP_OP(st, ncclSend(p->inner->msg[0], 1, ncclFloat, 0, p->comm[1], ws));
    NCCL_GROUP_OP(st, ncclRecv(back, 1, ncclFloat, 1, p->comm[0], ms));
    NCCL_GROUP_OP(st, ncclGroupEnd());
    CT_TRY(st);
    CT_TRY(w->be->ops->sync(w->be));
    CT_TRY(p->inner->be->ops->sync(p->inner->be));
    return CT_OK;
}

/* Is the last transfer still in flight (its receive not yet complete)? */
static int transfer_pending(ct_nccl_pair *p, ct_worker *w) {
    if (p->phase != PAIR_TRANSFER) return 0;
    int done = 0;
    return w->be->ops->event_query(w->be, w->done_ev, &done) != CT_OK || !done;
}

static void pair_check_async(ct_nccl_pair *p) {
    for (int r = 0; r < 2 && p->have_comm && !p->dead; r++) {
        ncclResult_t a = ncclSuccess;
        if (ncclCommGetAsyncError(p->comm[r], &a) != ncclSuccess || (a != ncclSuccess && a != ncclInProgress)) {
            p->dead = 1;
            ct_message(CT_MSG_WARNING,
                       "nccl: worker %d (GPU %d): pair communicator failed at step %ld (%s): treated as a "
                       "permanent straggler",
                       p->id, p->gpu, p->step, ncclGetErrorString(a));
        }
    }
}

void ct_nccl_pair_destroy(ct_nccl_pair *p, ct_worker *w) {
    if (!p) return;
    if (p->have_comm) {
        pair_check_async(p);
        /* a transfer that never landed, or a failed communicator: its kernels may
         * wait forever on the peer, so abort rather than finalize (which waits) */
        int abort = p->dead || transfer_pending(p, w);
        if (p->phase == PAIR_COMPUTE && p->inner && p->inner->state == CT_WORKER_BUSY) {
            /* a live worker answers a cancel within its throttle's polling period */
            ct_worker_cancel(p->inner);
            const double t0 = ct_now_s();
            int fin = 0, ab = 0;
            while (ct_now_s() - t0 < 2.0 && ct_worker_poll(p->inner, &fin, &ab) == CT_OK && !fin) nap_us(100);
            abort |= !fin;
        }
        if (abort) {
            G.aborted++;
            ct_message(CT_MSG_WARNING, "nccl: worker %d (GPU %d): aborting its pair communicator at shutdown (%s)",
                       p->id, p->gpu, p->dead ? "failed" : "a task still in flight");
            ncclCommAbort(p->comm[0]);
            ncclCommAbort(p->comm[1]);
        } else {
            /* finalize is collective over the pair: both ranks in one group */
            ncclResult_t r = ncclGroupStart();
            if (r == ncclSuccess) {
                ncclResult_t f0 = ncclCommFinalize(p->comm[0]), f1 = ncclCommFinalize(p->comm[1]);
                r = ncclGroupEnd();
                if (r == ncclSuccess) r = f0 != ncclSuccess ? f0 : f1;
            }
            if (r == ncclSuccess) {
                ncclCommDestroy(p->comm[0]);
                ncclCommDestroy(p->comm[1]);
            } else {
                ncclCommAbort(p->comm[0]);
                ncclCommAbort(p->comm[1]);
            }
        }
    }
    ct_worker_destroy(p->inner); /* after the abort: its stream may hold an NCCL kernel */
    free(p);
}

ct_status ct_nccl_pair_submit(ct_nccl_pair *p, ct_worker *w, const ct_task *t) {
    if (p->phase != PAIR_IDLE) return CT_FAIL(CT_ERR_INTERNAL, "worker %d: submit while its pair still has a task", p->id);
    p->step = t->step;
    p->m = t->m;
    p->real_clock = t->real_throttle;
    if (p->dead) { /* never answers: the master's deadline (real clock) or poll (virtual) decides */
        p->phase = PAIR_COMPUTE;
        return CT_OK;
    }
    /* the master wrote w->params on its own stream and synchronised it before submitting */
    ct_status st = CT_OK;
    NCCL_TRY(ncclGroupStart());
    NCCL_GROUP_OP(st, ncclSend(w->params, p->P, ncclFloat, 1, p->comm[0], stream_of(w->be)));
    NCCL_GROUP_OP(st, ncclRecv(p->inner->params, p->P, ncclFloat, 0, p->comm[1], stream_of(p->inner->be)));
    NCCL_GROUP_OP(st, ncclGroupEnd());
    CT_TRY(st);
    G.tasks++;
    G.bytes_down += (double)p->P * sizeof(float);
    /* the worker's stream has the receive first: its compute is ordered after it */
    CT_TRY(ct_worker_submit(p->inner, t));
    p->phase = PAIR_COMPUTE;
    return CT_OK;
}

/* The local worker is done: bring its messages to GPU 0 and mark completion there. */
static ct_status start_return(ct_nccl_pair *p, ct_worker *w) {
    ct_worker *in = p->inner;
    void *ms = stream_of(w->be), *ws = stream_of(in->be);
    ct_status st = CT_OK;
    NCCL_TRY(ncclGroupStart());
    for (int l = 0; l < p->m; l++) {
        if (p->full) {
            NCCL_GROUP_OP(st, ncclSend(in->msg[l], p->P, ncclFloat, 0, p->comm[1], ws));
            NCCL_GROUP_OP(st, ncclRecv(w->msg[l], p->P, ncclFloat, 1, p->comm[0], ms));
        } else { /* packed 1-bit messages travel packed; NCCL keeps a pair's sends in order */
            NCCL_GROUP_OP(st, ncclSend(in->bits[l], p->words, ncclUint32, 0, p->comm[1], ws));
            NCCL_GROUP_OP(st, ncclRecv(w->bits[l], p->words, ncclUint32, 1, p->comm[0], ms));
            NCCL_GROUP_OP(st, ncclSend(in->scale[l], 1, ncclFloat, 0, p->comm[1], ws));
            NCCL_GROUP_OP(st, ncclRecv(w->scale[l], 1, ncclFloat, 1, p->comm[0], ms));
        }
    }
    NCCL_GROUP_OP(st, ncclGroupEnd());
    CT_TRY(st);
    for (int l = 0; l < p->m; l++) w->msg_loss[l] = in->msg_loss[l]; /* host values: same process */
    w->compute_ms = in->compute_ms;
    G.bytes_up += (double)p->m * (p->full ? p->P * sizeof(float) : p->words * sizeof(uint32_t) + sizeof(float));
    /* the master's poll waits on this event, recorded after the receives */
    CT_TRY(w->be->ops->event_record(w->be, w->done_ev));
    p->phase = PAIR_TRANSFER;
    p->transfer_t0 = ct_now_s();
    return CT_OK;
}

ct_status ct_nccl_pair_poll(ct_nccl_pair *p, ct_worker *w, int *finished, int *abandoned) {
    *finished = *abandoned = 0;
    if (p->phase == PAIR_IDLE) return CT_OK;
    pair_check_async(p);
    if (p->dead) {
        if (!p->real_clock)
            return CT_FAIL(CT_ERR_NCCL, "worker %d (GPU %d): pair communicator failed at step %ld; the virtual clock needs "
                           "every task's result", p->id, p->gpu, p->step);
        return CT_OK;
    }
    if (p->phase == PAIR_COMPUTE) {
        int fin = 0, ab = 0;
        CT_TRY(ct_worker_poll(p->inner, &fin, &ab)); /* a failure inside the worker, as in local mode */
        if (!fin) return CT_OK;
        if (ab) { /* cancelled before computing: nothing to send */
            p->phase = PAIR_IDLE;
            *finished = *abandoned = 1;
            return CT_OK;
        }
        CT_TRY(start_return(p, w));
    }
    int done = 0;
    CT_TRY(w->be->ops->event_query(w->be, w->done_ev, &done));
    if (!done) {
        if (!p->real_clock && ct_now_s() - p->transfer_t0 > TRANSFER_LIMIT_S)
            return CT_FAIL(CT_ERR_TIMEOUT, "worker %d (GPU %d): its messages for step %ld have not reached GPU 0 in %.0f s",
                           p->id, p->gpu, p->step, TRANSFER_LIMIT_S);
        return CT_OK;
    }
    p->phase = PAIR_IDLE;
    *finished = 1;
    return CT_OK;
}

void ct_nccl_pair_cancel(ct_nccl_pair *p) {
    if (p && p->inner && p->phase == PAIR_COMPUTE) ct_worker_cancel(p->inner);
}

#endif /* CT_HAVE_NCCL */
