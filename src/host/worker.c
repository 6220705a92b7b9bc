/* Worker contexts and their threads (see worker.h). */
#include "host/worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codedtrain/rng.h"
#include "host/clock.h"
#include "host/transport_mpi.h"
#include "host/transport_nccl.h"

/* a throttle this long is "never answers": it ends only when cancelled */
#define CT_DEAD_MS 1e12

static ct_status alloc_dev(ct_worker *w, size_t bytes, void **p) {
    return w->be->ops->alloc(w->be, bytes, p);
}

/* MPI and NCCL proxies: only what the master writes (params) and reads
 * (messages, or packed bits + scales); the computing happens elsewhere. */
static ct_status alloc_proxy_buffers(const ct_worker_config *c, ct_worker *w) {
    CT_TRY(alloc_dev(w, w->P * sizeof(float), (void **)&w->params));
    const int full = c->compress == CT_COMPRESS_NONE;
    for (int l = 0; l < c->max_m; l++) {
        if (full) {
            CT_TRY(alloc_dev(w, w->P * sizeof(float), (void **)&w->msg[l]));
        } else {
            CT_TRY(alloc_dev(w, (w->P + 31) / 32 * sizeof(uint32_t), (void **)&w->bits[l]));
            CT_TRY(alloc_dev(w, sizeof(float), (void **)&w->scale[l]));
        }
    }
    return CT_OK;
}

static ct_status create_proxy(const ct_worker_config *c, ct_worker *w) {
    CT_TRY(alloc_proxy_buffers(c, w));
    return ct_mpi_proxy_create(w, c->compress == CT_COMPRESS_NONE, &w->remote);
}

/* NCCL: the master's end of the pair lives with the master on GPU 0, whatever
 * GPU the caller's context is on; the done event is recorded after the receive. */
static ct_status create_nccl_pair(const ct_worker_config *c, ct_worker *w) {
    if (!w->be || w->be->kind != CT_DEVICE_CUDA)
        return CT_FAIL(CT_ERR_INVALID_ARG, "worker %d: --transport nccl needs CUDA contexts", c->id);
    ct_backend_destroy(w->be);
    w->be = NULL;
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    bc.device_index = 0;
    CT_TRY(ct_backend_create(CT_DEVICE_CUDA, &bc, &w->be));
    CT_TRY(alloc_proxy_buffers(c, w));
    CT_TRY(w->be->ops->event_create(w->be, &w->done_ev));
    return ct_nccl_pair_create(c, w, &w->nccl);
}

ct_status ct_worker_create(const ct_worker_config *c, ct_worker **out) {
    *out = NULL;
    if (c->max_m < 1 || c->max_m > CT_WORKER_MAX_MSGS || c->max_d < 1 || c->max_per_part < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "worker %d: %d messages (1..%d), %d partitions, %d samples per partition",
                       c->id, c->max_m, CT_WORKER_MAX_MSGS, c->max_d, c->max_per_part);
    ct_worker *w = calloc(1, sizeof *w);
    if (!w) return CT_FAIL(CT_ERR_NOMEM, "worker %d: out of memory", c->id);
    w->id = c->id;
    w->be = c->backend;
    w->owns_backend = 1;
    w->data = c->data;
    w->augment = c->augment;
    w->augment_seed = c->augment_seed;
    w->dim = c->data->dim;
    w->max_d = c->max_d;
    w->max_m = c->max_m;
    w->max_per_part = c->max_per_part;
    w->P = ct_model_param_count(c->spec);
    atomic_store(&w->finished_step, -1);
    atomic_store(&w->computed_step, -1);
    *out = w; /* from here on, ct_worker_destroy cleans up partial state */
    if (c->transport == CT_TRANSPORT_MPI) return create_proxy(c, w);
    if (c->transport == CT_TRANSPORT_NCCL) return create_nccl_pair(c, w);
    if (c->transport != CT_TRANSPORT_LOCAL)
        return CT_FAIL(CT_ERR_INVALID_ARG, "worker %d: transport %d is not available in this build", c->id, c->transport);

    const size_t nb = (size_t)c->max_d * c->max_per_part;
    const ct_backend_ops *o = w->be->ops;
    CT_TRY(ct_model_workspace_create(w->be, c->spec, (int)nb, &w->ws));
    CT_TRY(alloc_dev(w, w->P * sizeof(float), (void **)&w->params));
    for (int l = 0; l < c->max_m; l++) CT_TRY(alloc_dev(w, w->P * sizeof(float), (void **)&w->msg[l]));
    /* per-partition gradients for the general path (also forced when m == 1) */
    CT_TRY(alloc_dev(w, (size_t)c->max_d * w->P * sizeof(float), (void **)&w->part_grad));
    if (c->compress != CT_COMPRESS_NONE) {
        const size_t words = (w->P + 31) / 32;
        for (int l = 0; l < c->max_m; l++) {
            CT_TRY(alloc_dev(w, words * sizeof(uint32_t), (void **)&w->bits[l]));
            CT_TRY(alloc_dev(w, sizeof(float), (void **)&w->scale[l]));
            if (c->compress == CT_COMPRESS_SIGN_EF || c->compress == CT_COMPRESS_SIGN_PLAIN) {
                /* error feedback starts at zero and is carried across steps */
                CT_TRY(alloc_dev(w, w->P * sizeof(float), (void **)&w->ef[l]));
                CT_TRY(o->fill(w->be, w->P, 0.0f, w->ef[l]));
            }
        }
    }
    CT_TRY(alloc_dev(w, nb * w->dim * sizeof(float), (void **)&w->x));
    CT_TRY(alloc_dev(w, nb * sizeof(int32_t), (void **)&w->y));
    CT_TRY(alloc_dev(w, nb * sizeof(float), (void **)&w->w));
    CT_TRY(alloc_dev(w, (size_t)c->max_d * sizeof(float), (void **)&w->loss));
    /* pinned staging: the step's uploads and the loss read-back never wait */
    CT_TRY(o->host_alloc(w->be, nb * w->dim * sizeof(float), (void **)&w->hx));
    CT_TRY(o->host_alloc(w->be, nb * sizeof(int32_t), (void **)&w->hy));
    CT_TRY(o->host_alloc(w->be, nb * sizeof(float), (void **)&w->hw));
    CT_TRY(o->host_alloc(w->be, (size_t)c->max_d * sizeof(float), (void **)&w->hloss));
    CT_TRY(o->host_alloc(w->be, sizeof(int), (void **)&w->hbad));
    CT_TRY(alloc_dev(w, sizeof(int), (void **)&w->bad));
    CT_TRY(o->event_create(w->be, &w->done_ev));
    CT_TRY(o->event_create(w->be, &w->throttle_ev));
    CT_TRY(o->event_create(w->be, &w->computed_ev));
    CT_TRY(o->flag_alloc(w->be, &w->cancel));
    if (c->threaded) {
        if (pthread_mutex_init(&w->mu, NULL) || pthread_cond_init(&w->cv, NULL))
            return CT_FAIL(CT_ERR_INTERNAL, "worker %d: pthread mutex/cond init failed", w->id);
        w->has_thread = 1; /* set before the thread exists so destroy knows the mutex is live */
        extern void *ct_worker_thread_main(void *);
        if (pthread_create(&w->thread, NULL, ct_worker_thread_main, w)) {
            w->has_thread = 0;
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cv);
            return CT_FAIL(CT_ERR_INTERNAL, "worker %d: pthread_create failed", w->id);
        }
        w->has_thread = 2;
    }
    return CT_OK;
}

void ct_worker_destroy(ct_worker *w) {
    if (!w) return;
    ct_mpi_proxy_destroy(w->remote); /* before the buffers its receives may land in */
    if (w->nccl) {
        ct_nccl_pair_destroy(w->nccl, w); /* aborts a pair whose receive may still land in our buffers */
        w->cancel = NULL;                 /* it was the pair's worker's flag, freed with it */
    }
    if (w->has_thread == 2) {
        ct_worker_cancel(w);
        pthread_mutex_lock(&w->mu);
        w->quit = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    if (w->has_thread) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    if (w->be) {
        const ct_backend_ops *o = w->be->ops;
        o->sync(w->be);
        ct_worker_drop_graph(w);
        if (w->done_ev) o->event_destroy(w->be, w->done_ev);
        if (w->throttle_ev) o->event_destroy(w->be, w->throttle_ev);
        if (w->computed_ev) o->event_destroy(w->be, w->computed_ev);
        if (w->cancel) o->flag_free(w->be, w->cancel);
        o->free(w->be, w->params);
        for (int l = 0; l < CT_WORKER_MAX_MSGS; l++) {
            o->free(w->be, w->msg[l]);
            o->free(w->be, w->bits[l]);
            o->free(w->be, w->scale[l]);
            o->free(w->be, w->ef[l]);
        }
        o->free(w->be, w->part_grad);
        o->free(w->be, w->x);
        o->free(w->be, w->y);
        o->free(w->be, w->w);
        o->free(w->be, w->loss);
        ct_model_workspace_destroy(w->ws);
        o->host_free(w->be, w->hx);
        o->host_free(w->be, w->hy);
        o->host_free(w->be, w->hw);
        o->host_free(w->be, w->hloss);
        o->host_free(w->be, w->hbad);
        o->free(w->be, w->bad);
        if (w->owns_backend) ct_backend_destroy(w->be);
    }
    free(w);
}

/* Polls the throttle just enqueued (its event) until it is over; the throttle
 * itself watches the cancel flag, so a cancel ends this wait too. */
static ct_status wait_throttle(ct_worker *w) {
    const ct_backend_ops *o = w->be->ops;
    CT_TRY(o->event_record(w->be, w->throttle_ev));
    for (;;) {
        int done = 0;
        CT_TRY(o->event_query(w->be, w->throttle_ev, &done));
        if (done) return CT_OK;
        const struct timespec ts = {0, 20000}; /* 20 us: small beside any delay worth modelling */
        nanosleep(&ts, NULL);
    }
}

/* The worker's job for one step: (throttle,) gather its slices, compute its
 * coded messages and their coded losses, (throttle,) record completion. */
static ct_status run_task(ct_worker *w, const ct_task *t, int *abandoned) {
    const ct_backend_ops *o = w->be->ops;
    ct_backend *be = w->be;
    const int nb = t->d * t->per_part;
    *abandoned = 0;
    /* an inline worker runs on the master's thread: a dead one cannot sleep until
     * cancelled (nobody would be left to cancel it), so it gives up at once */
    if (t->real_throttle && t->draw.dead && w->has_thread != 2) {
        *abandoned = 1;
        return CT_OK;
    }
    /* a dead worker never answers: it waits on its cancel flag before computing
     * anything (waiting here, since on CUDA the throttle is only enqueued: a
     * cancelled dead worker then skips its task) */
    if (t->real_throttle && t->draw.dead) {
        CT_TRY(o->throttle(be, CT_DEAD_MS, w->cancel));
        CT_TRY(wait_throttle(w));
        if (*w->cancel) { *abandoned = 1; return CT_OK; }
    }
    const double t0 = ct_now_s();
    /* the CPU backend's device memory is host memory: gather straight into it */
    const int direct = be->kind == CT_DEVICE_CPU;
    float *hx = direct ? w->x : w->hx, *hw = direct ? w->w : w->hw;
    int32_t *hy = direct ? w->y : w->hy;
    for (int s = 0; s < nb; s++) {
        int32_t idx = t->samples[s];
        ct_augment_sample(w->data, &w->augment, w->augment_seed, t->epoch, idx, hx + (size_t)s * w->dim);
        hy[s] = w->data->y[idx];
    }
    const int fast = t->m == 1 && !t->general_path;
    for (int s = 0; s < nb; s++)
        hw[s] = fast ? t->E[s / t->per_part] * t->inv_batch : t->inv_batch;
    /* uploads, forward and backward, coding, the finiteness flag and the
     * read-back: one graph launch in the steady state (worker_step.c) */
    CT_TRY(ct_worker_enqueue_step(w, t, nb, fast, direct));
    /* the step's one host synchronisation: losses and the finite flag are back
     * (pinned copies, ordered on the stream); compute time measured */
    CT_TRY(o->sync(be));
    w->msg_finite = *w->hbad == 0;
    if (fast) {
        w->msg_loss[0] = w->hloss[0];
    } else {
        for (int l = 0; l < t->m; l++) {
            double s = 0;
            for (int j = 0; j < t->d; j++) s += (double)t->E[l * t->d + j] * w->hloss[j];
            w->msg_loss[l] = (float)s;
        }
    }
    w->compute_ms = 1e3 * (ct_now_s() - t0);
    /* The straggler's delay (and a slow worker's extra (factor - 1) x its measured
     * compute) comes after the compute, in one throttle that a cancel cuts short:
     * a worker the master stops waiting for is then idle at once, as the virtual
     * clock assumes (docs/schemes.md, "The two clocks"). */
    CT_TRY(o->event_record(be, w->computed_ev));
    atomic_store_explicit(&w->computed_step, t->step, memory_order_release);
    const double tail_ms = t->draw.delay_ms + (t->draw.factor > 1.0 ? (t->draw.factor - 1.0) * w->compute_ms : 0.0);
    if (t->real_throttle && tail_ms > 0) {
        CT_TRY(o->throttle(be, tail_ms, w->cancel));
        CT_TRY(wait_throttle(w)); /* the thread is busy until the delay is served or cut */
        if (*w->cancel) { *abandoned = 1; return CT_OK; }
    }
    CT_TRY(o->event_record(be, w->done_ev));
    return CT_OK;
}

static void finish(ct_worker *w, long step, ct_status st, int abandoned) {
    if (st != CT_OK && w->error == CT_OK) {
        w->error = st;
        snprintf(w->error_msg, sizeof w->error_msg, "worker %d: %s", w->id, ct_last_error());
    }
    atomic_store(&w->abandoned, abandoned);
    atomic_store_explicit(&w->finished_step, step, memory_order_release);
}

void *ct_worker_thread_main(void *arg) {
    ct_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) break;
        ct_task t = w->task;
        w->pending = 0;
        pthread_mutex_unlock(&w->mu);
        int abandoned = 0;
        ct_status st = run_task(w, &t, &abandoned);
        finish(w, t.step, st, abandoned);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

ct_status ct_worker_submit(ct_worker *w, const ct_task *t) {
    if (t->d > w->max_d || t->m > w->max_m || t->per_part > w->max_per_part || t->d > CT_COMBINE_MAX)
        return CT_FAIL(CT_ERR_INTERNAL, "worker %d: task (d=%d, m=%d, %d per partition) exceeds its buffers", w->id, t->d,
                       t->m, t->per_part);
    if (w->remote || w->nccl) {
        CT_TRY(w->remote ? ct_mpi_proxy_submit(w->remote, w, t) : ct_nccl_pair_submit(w->nccl, w, t));
        w->state = CT_WORKER_BUSY;
        w->task_step = t->step;
        return CT_OK;
    }
    *w->cancel = 0;
    w->state = CT_WORKER_BUSY;
    w->task_step = t->step;
    if (w->has_thread != 2) {
        int abandoned = 0;
        ct_status st = run_task(w, t, &abandoned);
        finish(w, t->step, st, abandoned);
        return CT_OK; /* a failure is reported by the next poll, as for threads */
    }
    pthread_mutex_lock(&w->mu);
    w->task = *t;
    w->pending = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return CT_OK;
}

ct_status ct_worker_poll(ct_worker *w, int *finished, int *abandoned) {
    *finished = 0;
    *abandoned = 0;
    if (w->state != CT_WORKER_BUSY) return CT_OK;
    if (w->remote || w->nccl) {
        CT_TRY(w->remote ? ct_mpi_proxy_poll(w->remote, w, finished, abandoned)
                         : ct_nccl_pair_poll(w->nccl, w, finished, abandoned));
        if (*finished) w->state = CT_WORKER_IDLE;
        return CT_OK;
    }
    if (atomic_load_explicit(&w->finished_step, memory_order_acquire) != w->task_step) return CT_OK;
    if (w->error != CT_OK) return ct_error_set(w->error, __FILE__, __LINE__, "%s", w->error_msg);
    *abandoned = atomic_load(&w->abandoned);
    if (!*abandoned) {
        int done = 0;
        CT_TRY(w->be->ops->event_query(w->be, w->done_ev, &done));
        if (!done) return CT_OK;
    }
    *finished = 1;
    w->state = CT_WORKER_IDLE;
    return CT_OK;
}

void ct_worker_cancel(ct_worker *w) {
    if (w->remote) ct_mpi_proxy_cancel(w->remote);
    if (w->nccl) ct_nccl_pair_cancel(w->nccl);
    else if (w->cancel) (void)w->be->ops->flag_raise(w->be, w->cancel); /* fails only on a NULL flag */
}

ct_status ct_worker_in_tail(ct_worker *w, int *in_tail) {
    *in_tail = 0;
    if (w->remote) {
        *in_tail = w->state == CT_WORKER_BUSY && ct_mpi_proxy_unwinding(w->remote);
        return CT_OK;
    }
    if (w->nccl || w->state != CT_WORKER_BUSY || !w->computed_ev || !w->cancel || !*w->cancel) return CT_OK;
    if (atomic_load_explicit(&w->computed_step, memory_order_acquire) != w->task_step) return CT_OK;
    return w->be->ops->event_query(w->be, w->computed_ev, in_tail);
}
