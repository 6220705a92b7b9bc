/* UEP workers on a backend (see uep_workers.h). The worker/master split
 * mirrors the runtime's (worker.c): a CPU context computes in its own host
 * thread, a CUDA context is only enqueued on; the master reads completion
 * from a per-worker job counter plus the context's event, and cuts a late
 * worker's throttle short through a flag from flag_alloc. */
#include "host/uep_workers.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codedtrain/rng.h"
#include "host/clock.h"

/* master's sleep between polls: short next to any useful time scale, long
 * enough not to starve the worker threads on a small machine */
#define UEP_POLL_NS 20000L

typedef struct uep_job {
    long id;
    int nblocks;
    ct_uep_block blocks[CT_UEP_MAX_BLOCKS];
    double delay_ms; /* real clock: throttle before computing */
} uep_job;

typedef struct uep_worker {
    int id;
    ct_backend *be;
    float *A, *B, *C;    /* device: sorted (padded) A and B, the packet */
    size_t a_cap, b_cap, out_cap; /* floats allocated for A, B, C and host (grown by load) */
    float *host;         /* host staging of one packet */
    ct_event *ev;
    volatile int *cancel;
    /* the worker's thread and its hand-off */
    pthread_t thread;
    int has_thread; /* 1: mutex/cond live; 2: thread running too */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, quit;
    uep_job job;             /* the job handed over (under mu) */
    long submitted;          /* master's view: id of the last job given */
    _Atomic long finished;   /* id of the last job the worker is through with */
    _Atomic int abandoned;   /* that job was cancelled before computing */
    ct_status error;         /* first failure inside the thread */
    char error_msg[512];
} uep_worker;

struct ct_uep_pool {
    const ct_uep_partition *p;
    ct_device_kind kind;
    int n;
    uep_worker *w;
    /* the block GEMM's fixed arguments */
    ct_uep_layout layout;
    int M, N, K, a_rows, b_cols, lda, ldb;
    size_t a_len, b_len, out_len;
};

ct_status ct_uep_clock_parse(const char *flag, const char *s, ct_uep_clock *out) {
    if (s && !strcmp(s, "virtual")) *out = CT_UEP_CLOCK_VIRTUAL;
    else if (s && !strcmp(s, "real")) *out = CT_UEP_CLOCK_REAL;
    else return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected virtual or real", flag, s ? s : "");
    return CT_OK;
}

static void sleep_poll(void) {
    struct timespec ts = {0, UEP_POLL_NS};
    nanosleep(&ts, NULL);
}

/* packet weights -> the kernel's block list, zero weights left out (they add
 * nothing; the library's host packet skips them too) */
static int make_blocks(const ct_uep_pool *pool, const double *w, ct_uep_block *blocks) {
    const ct_uep_partition *p = pool->p;
    int nb = 0;
    for (int b = 0; b < p->n_blocks; b++) {
        if (w[b] == 0) continue;
        ct_uep_block bl;
        if (p->paradigm == CT_UEP_RXC) {
            bl.a_off = p->block_a[b] * pool->M;
            bl.b_off = p->block_b[b] * pool->N;
            bl.len = 0;
        } else {
            bl.a_off = bl.b_off = p->inner_start[b];
            bl.len = p->inner_start[b + 1] - p->inner_start[b];
        }
        bl.w = (float)w[b];
        blocks[nb++] = bl;
    }
    return nb;
}

/* The worker's side of a job: (throttle,) packet, record completion. */
static ct_status run_job(const ct_uep_pool *pool, uep_worker *w, const uep_job *j, int *abandoned) {
    const ct_backend_ops *o = w->be->ops;
    *abandoned = 0;
    if (j->delay_ms > 0) {
        CT_TRY(o->throttle(w->be, j->delay_ms, w->cancel));
        /* wait for the throttle (on CUDA only enqueued so far): a packet
         * cancelled meanwhile is not worth computing */
        CT_TRY(o->event_record(w->be, w->ev));
        for (int done = 0;;) {
            CT_TRY(o->event_query(w->be, w->ev, &done));
            if (done) break;
            const struct timespec ts = {0, UEP_POLL_NS};
            nanosleep(&ts, NULL);
        }
        if (*w->cancel) {
            *abandoned = 1;
            return CT_OK;
        }
    }
    if (j->nblocks == 0)
        CT_TRY(o->fill(w->be, pool->out_len, 0.0f, w->C));
    else
        CT_TRY(o->uep_block_gemm(w->be, pool->layout, pool->M, pool->N, pool->K, pool->a_rows, pool->b_cols, w->A,
                                 pool->lda, w->B, pool->ldb, j->nblocks, j->blocks, 0.0f, w->C, pool->N));
    return o->event_record(w->be, w->ev);
}

static void finish_job(uep_worker *w, long id, ct_status st, int abandoned) {
    if (st != CT_OK && w->error == CT_OK) {
        w->error = st;
        snprintf(w->error_msg, sizeof w->error_msg, "uep worker %d: %s", w->id, ct_last_error());
    }
    atomic_store(&w->abandoned, abandoned);
    atomic_store_explicit(&w->finished, id, memory_order_release);
}

typedef struct thread_arg {
    const ct_uep_pool *pool;
    uep_worker *w;
} thread_arg;

static void *worker_main(void *arg) {
    const ct_uep_pool *pool = ((thread_arg *)arg)->pool;
    uep_worker *w = ((thread_arg *)arg)->w;
    free(arg);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) break;
        uep_job j = w->job;
        w->pending = 0;
        pthread_mutex_unlock(&w->mu);
        int abandoned = 0;
        ct_status st = run_job(pool, w, &j, &abandoned);
        finish_job(w, j.id, st, abandoned);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void submit(const ct_uep_pool *pool, uep_worker *w, const uep_job *j) {
    *w->cancel = 0;
    w->submitted = j->id;
    if (w->has_thread != 2) { /* not started yet (warm-up): inline */
        int abandoned = 0;
        ct_status st = run_job(pool, w, j, &abandoned);
        finish_job(w, j->id, st, abandoned);
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->job = *j;
    w->pending = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Non-blocking: *done = 1 when the worker's last job is over (computed, or
 * abandoned when *abandoned). */
static ct_status poll_worker(uep_worker *w, int *done, int *abandoned) {
    *done = *abandoned = 0;
    if (atomic_load_explicit(&w->finished, memory_order_acquire) != w->submitted) return CT_OK;
    if (w->error != CT_OK) return ct_error_set(w->error, __FILE__, __LINE__, "%s", w->error_msg);
    *abandoned = atomic_load(&w->abandoned);
    if (!*abandoned) CT_TRY(w->be->ops->event_query(w->be, w->ev, done));
    else *done = 1;
    return CT_OK;
}

static void destroy_worker(uep_worker *w) {
    if (w->has_thread == 2) {
        *w->cancel = 1;
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
        if (w->cancel) *w->cancel = 1; /* a CUDA throttle still spinning ends now */
        o->sync(w->be);
        if (w->ev) o->event_destroy(w->be, w->ev);
        if (w->cancel) o->flag_free(w->be, w->cancel);
        o->free(w->be, w->A);
        o->free(w->be, w->B);
        o->free(w->be, w->C);
        ct_backend_destroy(w->be);
    }
    free(w->host);
}

void ct_uep_pool_destroy(ct_uep_pool *pool) {
    if (!pool) return;
    /* every throttle ends before any context frees memory (a device-wide
     * synchronisation on CUDA that would wait for a still-spinning one) */
    if (pool->w)
        for (int i = 0; i < pool->n; i++)
            if (pool->w[i].cancel) *pool->w[i].cancel = 1;
    if (pool->w)
        for (int i = 0; i < pool->n; i++) destroy_worker(&pool->w[i]);
    free(pool->w);
    free(pool);
}

int ct_uep_pool_size(const ct_uep_pool *pool) { return pool ? pool->n : 0; }
ct_device_kind ct_uep_pool_kind(const ct_uep_pool *pool) { return pool ? pool->kind : CT_DEVICE_AUTO; }
const char *ct_uep_pool_describe(const ct_uep_pool *pool) {
    if (!pool || !pool->n || !pool->w[0].be) return "?";
    return pool->w[0].be->ops->describe(pool->w[0].be);
}

/* float copies of the sorted matrices in the kernel's layout */
static ct_status host_operands(const ct_uep_pool *pool, float **A, float **B) {
    const ct_uep_partition *p = pool->p;
    *A = calloc(pool->a_len, sizeof(float));
    *B = calloc(pool->b_len, sizeof(float));
    if (!*A || !*B)
        return CT_FAIL(CT_ERR_NOMEM, "uep workers: out of memory for float copies of A (%zu) and B (%zu)", pool->a_len,
                       pool->b_len);
    if (p->paradigm == CT_UEP_CXR) {
        for (size_t t = 0; t < pool->a_len; t++) (*A)[t] = (float)p->A_sorted[t];
        for (size_t t = 0; t < pool->b_len; t++) (*B)[t] = (float)p->B_sorted[t];
        return CT_OK;
    }
    /* rxc: group g of A's rows at row g*M, of B's columns at column g*N; the
     * zero rows/columns are the library's padding of smaller groups */
    for (int g = 0; g < p->parts; g++) {
        for (int r = p->row_start[g]; r < p->row_start[g + 1]; r++)
            for (int m = 0; m < p->inner; m++)
                (*A)[(size_t)(g * pool->M + r - p->row_start[g]) * pool->lda + m] = (float)p->A_sorted[(size_t)r * p->inner + m];
        for (int m = 0; m < p->inner; m++)
            for (int c = p->col_start[g]; c < p->col_start[g + 1]; c++)
                (*B)[(size_t)m * pool->ldb + g * pool->N + c - p->col_start[g]] = (float)p->B_sorted[(size_t)m * p->cols + c];
    }
    return CT_OK;
}

/* the worker's context, event and cancel flag; buffers come with the first load */
static ct_status create_worker(ct_uep_pool *pool, int i, int n_gpus) {
    uep_worker *w = &pool->w[i];
    w->id = i;
    w->submitted = 0;
    atomic_init(&w->finished, 0);
    atomic_init(&w->abandoned, 0);
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    if (pool->kind == CT_DEVICE_CUDA) bc.device_index = i % n_gpus;
    CT_TRY(ct_backend_create(pool->kind, &bc, &w->be));
    CT_TRY(w->be->ops->event_create(w->be, &w->ev));
    return w->be->ops->flag_alloc(w->be, &w->cancel);
}

/* device buffer of at least `need` floats: regrown only when too small, so a
 * run whose products change shape does not reallocate every round */
static ct_status ensure_dev(ct_backend *be, float **buf, size_t *cap, size_t need) {
    if (*cap >= need && *buf) return CT_OK;
    if (*buf) be->ops->free(be, *buf);
    *buf = NULL;
    *cap = 0;
    CT_TRY(be->ops->alloc(be, need * sizeof(float), (void **)buf));
    *cap = need;
    return CT_OK;
}

static ct_status upload_worker(ct_uep_pool *pool, uep_worker *w, const float *hA, const float *hB) {
    const ct_backend_ops *o = w->be->ops;
    size_t host_cap = w->out_cap;
    CT_TRY(ensure_dev(w->be, &w->A, &w->a_cap, pool->a_len));
    CT_TRY(ensure_dev(w->be, &w->B, &w->b_cap, pool->b_len));
    CT_TRY(ensure_dev(w->be, &w->C, &w->out_cap, pool->out_len));
    if (!w->host || host_cap < pool->out_len) {
        free(w->host);
        w->host = malloc(w->out_cap * sizeof(float));
        if (!w->host)
            return CT_FAIL(CT_ERR_NOMEM, "uep worker %d: out of memory for a %zu-entry packet", w->id, pool->out_len);
    }
    CT_TRY(o->memcpy_h2d(w->be, w->A, hA, pool->a_len * sizeof(float)));
    CT_TRY(o->memcpy_h2d(w->be, w->B, hB, pool->b_len * sizeof(float)));
    return o->sync(w->be); /* the staging copies read hA/hB, freed by the caller */
}

/* the block GEMM's arguments for partition p */
static void set_geometry(ct_uep_pool *pool, const ct_uep_partition *p) {
    pool->p = p;
    if (p->paradigm == CT_UEP_RXC) {
        pool->layout = CT_UEP_ROW_COL;
        pool->M = p->out_rows, pool->N = p->out_cols, pool->K = p->inner;
        pool->a_rows = p->parts * p->out_rows, pool->b_cols = p->parts * p->out_cols;
        pool->lda = p->inner, pool->ldb = pool->b_cols;
        pool->a_len = (size_t)pool->a_rows * p->inner;
        pool->b_len = (size_t)p->inner * pool->b_cols;
    } else {
        pool->layout = CT_UEP_COL_ROW;
        pool->M = p->rows, pool->N = p->cols, pool->K = p->inner;
        pool->a_rows = p->rows, pool->b_cols = p->cols;
        pool->lda = p->inner, pool->ldb = p->cols;
        pool->a_len = (size_t)p->rows * p->inner;
        pool->b_len = (size_t)p->inner * p->cols;
    }
    pool->out_len = (size_t)p->out_rows * p->out_cols;
}

ct_status ct_uep_pool_load(ct_uep_pool *pool, const ct_uep_partition *p) {
    if (!pool || !p) return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: load got a NULL argument");
    if (p->n_blocks < 1 || p->n_blocks > CT_UEP_MAX_BLOCKS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: partition with %d blocks (expected 1..%d)", p->n_blocks,
                       CT_UEP_MAX_BLOCKS);
    /* no worker is inside a job here: every round drains before it returns, and
     * a CPU worker thread reads the pool's fields only after the job hand-off's
     * mutex, which orders these writes before its reads */
    set_geometry(pool, p);
    float *hA = NULL, *hB = NULL;
    ct_status st = host_operands(pool, &hA, &hB);
    for (int i = 0; i < pool->n && st == CT_OK; i++) st = upload_worker(pool, &pool->w[i], hA, hB);
    free(hA);
    free(hB);
    return st;
}

/* warm-up with one block and with all of them (loads the kernel and any
 * lazily allocated workspace now, not inside a timed round), then the CPU
 * worker's thread */
static ct_status start_worker(ct_uep_pool *pool, int i) {
    uep_worker *w = &pool->w[i];
    const ct_backend_ops *o = w->be->ops;
    double wts[CT_UEP_MAX_BLOCKS];
    ct_uep_block blocks[CT_UEP_MAX_BLOCKS];
    for (int b = 0; b < pool->p->n_blocks; b++) wts[b] = 1.0;
    int nb = make_blocks(pool, wts, blocks);
    CT_TRY(o->uep_block_gemm(w->be, pool->layout, pool->M, pool->N, pool->K, pool->a_rows, pool->b_cols, w->A,
                             pool->lda, w->B, pool->ldb, 1, blocks, 0.0f, w->C, pool->N));
    CT_TRY(o->uep_block_gemm(w->be, pool->layout, pool->M, pool->N, pool->K, pool->a_rows, pool->b_cols, w->A,
                             pool->lda, w->B, pool->ldb, nb, blocks, 0.0f, w->C, pool->N));
    CT_TRY(o->throttle(w->be, 1e-3, w->cancel));
    CT_TRY(o->sync(w->be));
    {   /* every kind: the thread waits out the throttle, never the master */
        if (pthread_mutex_init(&w->mu, NULL) || pthread_cond_init(&w->cv, NULL))
            return CT_FAIL(CT_ERR_INTERNAL, "uep worker %d: pthread mutex/cond init failed", i);
        w->has_thread = 1;
        thread_arg *ta = malloc(sizeof *ta);
        if (!ta) return CT_FAIL(CT_ERR_NOMEM, "uep worker %d: out of memory", i);
        *ta = (thread_arg){pool, w};
        if (pthread_create(&w->thread, NULL, worker_main, ta)) {
            free(ta);
            return CT_FAIL(CT_ERR_INTERNAL, "uep worker %d: pthread_create failed", i);
        }
        w->has_thread = 2;
    }
    return CT_OK;
}

ct_status ct_uep_pool_create(ct_device_kind kind, const ct_uep_partition *p, int n_workers, ct_uep_pool **out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: out is NULL");
    *out = NULL;
    if (!p) return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: partition is NULL");
    if (n_workers < 1 || n_workers > CT_UEP_MAX_WORKERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: %d workers, must be 1..%d", n_workers, CT_UEP_MAX_WORKERS);
    int n_gpus = ct_backend_device_count(CT_DEVICE_CUDA);
    if (kind == CT_DEVICE_AUTO) kind = n_gpus > 0 ? CT_DEVICE_CUDA : CT_DEVICE_CPU;
    if (kind != CT_DEVICE_CPU && kind != CT_DEVICE_CUDA && kind != CT_DEVICE_CPU_STREAMS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: device kind %d unknown", (int)kind);
    ct_uep_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return CT_FAIL(CT_ERR_NOMEM, "uep workers: out of memory");
    pool->kind = kind;
    pool->w = calloc((size_t)n_workers, sizeof *pool->w);
    if (!pool->w) {
        free(pool);
        return CT_FAIL(CT_ERR_NOMEM, "uep workers: out of memory for %d workers", n_workers);
    }
    ct_status st = CT_OK;
    for (int i = 0; i < n_workers && st == CT_OK; i++) {
        pool->n = i + 1; /* destroy cleans up the partial worker too */
        st = create_worker(pool, i, n_gpus > 0 ? n_gpus : 1);
    }
    if (st == CT_OK) st = ct_uep_pool_load(pool, p);
    for (int i = 0; i < n_workers && st == CT_OK; i++) st = start_worker(pool, i);
    if (st != CT_OK) {
        ct_uep_pool_destroy(pool);
        return st;
    }
    *out = pool;
    return CT_OK;
}

ct_status ct_uep_pool_round(ct_uep_pool *pool, const ct_uep_round *r, unsigned char *arrived, double *Y,
                            ct_uep_round_info *info) {
    if (!pool || !r || !r->coeffs || !r->latency || !arrived || !Y)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: round got a NULL argument");
    if (r->n_workers < 1 || r->n_workers > pool->n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: round with %d workers, the pool has %d", r->n_workers, pool->n);
    if (!(r->deadline >= 0)) return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: deadline %g must be >= 0", r->deadline);
    const int real = r->clock == CT_UEP_CLOCK_REAL;
    if (real && (!(r->time_scale_ms > 0) || !isfinite(r->time_scale_ms)))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: time scale %g ms per latency unit must be > 0",
                       r->time_scale_ms);
    const int n = r->n_workers, K = pool->p->n_blocks;
    for (int i = 0; i < n; i++)
        if (!(r->latency[i] >= 0))
            return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: worker %d latency %g must be >= 0", i, r->latency[i]);

    /* which workers run: virtual clock, only those whose packet arrives */
    unsigned char run[CT_UEP_MAX_WORKERS], done[CT_UEP_MAX_WORKERS];
    const double t0 = ct_now_s();
    for (int i = 0; i < n; i++) {
        run[i] = real || r->latency[i] <= r->deadline;
        done[i] = 0;
        if (!run[i]) continue;
        uep_worker *w = &pool->w[i];
        uep_job j;
        j.id = w->submitted + 1;
        j.nblocks = make_blocks(pool, r->coeffs + (size_t)i * K, j.blocks);
        j.delay_ms = real ? r->latency[i] * r->time_scale_ms : 0.0;
        submit(pool, w, &j);
    }

    /* poll until the deadline (real) or until every running packet is in
     * (virtual: they all arrive by definition); a failure is remembered and
     * returned after the drain below, so no worker is left mid-job */
    ct_status st = CT_OK;
    const double deadline_s = real ? t0 + 1e-3 * r->deadline * r->time_scale_ms : INFINITY;
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n && st == CT_OK; i++) {
            if (!run[i] || done[i]) continue;
            int d = 0, ab = 0;
            st = poll_worker(&pool->w[i], &d, &ab);
            if (d) done[i] = ab ? 2 : 1;
            else pending++;
        }
        if (st != CT_OK || !pending || ct_now_s() >= deadline_s) break;
        sleep_poll();
    }
    const double decided = ct_now_s();

    /* late workers: cut their throttles short, then wait for them to drain
     * (a cancel ends a throttle within ~1 ms; at most one GEMM follows) */
    int n_cancelled = 0;
    for (int i = 0; i < n; i++)
        if (run[i] && !done[i]) {
            *pool->w[i].cancel = 1;
            n_cancelled++;
        }
    for (int i = 0; i < n; i++) {
        if (!run[i] || done[i]) continue;
        uep_worker *w = &pool->w[i];
        while (atomic_load_explicit(&w->finished, memory_order_acquire) != w->submitted) sleep_poll();
        ct_status s2 = w->be->ops->sync(w->be);
        if (w->error != CT_OK && st == CT_OK) st = ct_error_set(w->error, __FILE__, __LINE__, "%s", w->error_msg);
        if (s2 != CT_OK && st == CT_OK) st = s2;
    }
    if (st != CT_OK) return st;

    /* the arrived packets, in worker order, widened to double for the decoder */
    int q = 0;
    for (int i = 0; i < n; i++) {
        arrived[i] = run[i] && done[i] == 1;
        if (!arrived[i]) continue;
        uep_worker *w = &pool->w[i];
        CT_TRY(w->be->ops->memcpy_d2h(w->be, w->host, w->C, pool->out_len * sizeof(float)));
        CT_TRY(w->be->ops->sync(w->be));
        double *y = Y + (size_t)q * pool->out_len;
        for (size_t t = 0; t < pool->out_len; t++) y[t] = w->host[t];
        q++;
    }
    if (info) {
        info->n_arrived = q;
        info->n_cancelled = n_cancelled;
        info->wall_ms = 1e3 * (decided - t0);
    }
    return CT_OK;
}

ct_status ct_uep_simulate_pool(ct_uep_pool *pool, const ct_uep_partition *p, const ct_uep_params *params,
                               const ct_uep_scheme *schemes, int n_schemes, const ct_uep_sim_config *cfg,
                               ct_uep_clock clock, double time_scale_ms, ct_uep_sim_result *results,
                               ct_uep_pool_stats *stats) {
    if (!pool || !p || !schemes || !cfg || !results)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: simulate got a NULL argument");
    if (p != pool->p) return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: the pool was built for another partition");
    CT_TRY(ct_uep_params_check(params, p->n_blocks));
    if (n_schemes < 1 || n_schemes > CT_UEP_SCHEME_COUNT)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: %d schemes, must be 1..%d", n_schemes, CT_UEP_SCHEME_COUNT);
    for (int s = 0; s < n_schemes; s++)
        if ((int)schemes[s] < 0 || schemes[s] >= CT_UEP_SCHEME_COUNT)
            return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: scheme %d unknown", (int)schemes[s]);
    if (cfg->n_workers < 1 || cfg->n_workers > pool->n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: workers=%d, the pool has %d", cfg->n_workers, pool->n);
    if (!(cfg->lambda > 0) || !isfinite(cfg->lambda))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: lambda=%g must be > 0", cfg->lambda);
    if (!(cfg->deadline >= 0)) return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: deadline=%g must be >= 0", cfg->deadline);
    if (cfg->trials < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "uep workers: trials=%d must be >= 1", cfg->trials);

    int N = cfg->n_workers, K = p->n_blocks, L = params->n_classes;
    size_t len = (size_t)p->out_rows * p->out_cols, clen = (size_t)p->rows * p->cols;
    double *C = malloc(clen * sizeof(double));
    double *Cs = malloc(clen * sizeof(double));
    double *C_hat = malloc(clen * sizeof(double));
    double *coeffs = malloc((size_t)N * K * sizeof(double));
    double *G = malloc((size_t)N * K * sizeof(double));
    double *Y = malloc((size_t)N * len * sizeof(double));
    double *X = malloc((size_t)K * len * sizeof(double));
    double *lat = malloc((size_t)N * sizeof(double));
    unsigned char *arrived = malloc((size_t)N);
    ct_status st = CT_OK;
    if (!C || !Cs || !C_hat || !coeffs || !G || !Y || !X || !lat || !arrived) {
        st = CT_FAIL(CT_ERR_NOMEM, "uep workers: out of memory for the simulation (%d workers, %zu-entry packets)", N,
                     len);
        goto done;
    }
    /* the reference C = A B in double, as ct_uep_simulate computes it */
    double norm2 = 0;
    st = ct_uep_reference_product(p, Cs, C, &norm2);
    if (st != CT_OK) goto done;
    /* the same streams as ct_uep_simulate: same seed, same draws */
    ct_rng lat_rng;
    ct_rng_seed(&lat_rng, ct_hash64(cfg->seed, 0));
    ct_rng code_rng[CT_UEP_SCHEME_COUNT];
    for (int s = 0; s < CT_UEP_SCHEME_COUNT; s++) ct_rng_seed(&code_rng[s], ct_hash64(cfg->seed, 1 + (uint64_t)s));
    double sum_err[CT_UEP_SCHEME_COUNT] = {0}, sum_err2[CT_UEP_SCHEME_COUNT] = {0};
    long ok[CT_UEP_SCHEME_COUNT][CT_UEP_MAX_CLASSES], n_arr_total[CT_UEP_SCHEME_COUNT] = {0};
    memset(ok, 0, sizeof ok);
    ct_uep_pool_stats tot = {0, 0, 0};
    for (int t = 0; t < cfg->trials && st == CT_OK; t++) {
        for (int i = 0; i < N; i++) lat[i] = ct_rng_exponential(&lat_rng, 1.0 / cfg->lambda);
        for (int si = 0; si < n_schemes && st == CT_OK; si++) {
            ct_uep_scheme sc = schemes[si];
            st = ct_uep_draw_packets(sc, params, K, N, &code_rng[sc], coeffs, NULL);
            ct_uep_round rd = {N, coeffs, lat, cfg->deadline, clock, time_scale_ms};
            ct_uep_round_info ri = {0, 0, 0};
            if (st == CT_OK) st = ct_uep_pool_round(pool, &rd, arrived, Y, &ri);
            if (st != CT_OK) break;
            int q = 0;
            for (int i = 0; i < N; i++)
                if (arrived[i]) memcpy(G + (size_t)q++ * K, coeffs + (size_t)i * K, (size_t)K * sizeof(double));
            unsigned char rec[CT_UEP_MAX_BLOCKS], cls_ok[CT_UEP_MAX_CLASSES];
            st = ct_uep_decode(G, Y, q, K, len, X, rec);
            if (st == CT_OK) st = ct_uep_assemble(p, X, rec, C_hat);
            if (st != CT_OK) break;
            ct_uep_class_flags(params, rec, cls_ok);
            for (int l = 0; l < L; l++) ok[si][l] += cls_ok[l];
            double e = 0;
            for (size_t j = 0; j < clen; j++) {
                double d = C[j] - C_hat[j];
                e += d * d;
            }
            e /= norm2;
            sum_err[si] += e;
            sum_err2[si] += e * e;
            n_arr_total[si] += q;
            tot.rounds++;
            tot.arrived += q;
            tot.cancelled += ri.n_cancelled;
        }
    }
    if (st == CT_OK) {
        double T = cfg->trials;
        for (int si = 0; si < n_schemes; si++) {
            memset(&results[si], 0, sizeof results[si]);
            for (int l = 0; l < L; l++) results[si].p_class[l] = ok[si][l] / T;
            double mean = sum_err[si] / T, var = sum_err2[si] / T - mean * mean;
            results[si].nmse = mean;
            results[si].nmse_se = cfg->trials > 1 && var > 0 ? sqrt(var / (T - 1)) : 0.0;
            results[si].mean_arrived = n_arr_total[si] / T;
        }
        if (stats) *stats = tot;
    }
done:
    free(C);
    free(Cs);
    free(C_hat);
    free(coeffs);
    free(G);
    free(Y);
    free(X);
    free(lat);
    free(arrived);
    return st;
}
