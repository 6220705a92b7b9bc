/* The MPI transport (see transport_mpi.h for the model and the wire protocol). */
#define _GNU_SOURCE
#include "host/transport_mpi.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host/clock.h"
#include "host/message.h"
#include "host/transport_nccl.h"
#include "host/worker.h"

#ifndef CT_HAVE_MPI

/* Built without MPI: the flag is a usage problem (exit 2), said plainly. */
ct_status ct_transport_init(const ct_train_config *cfg, int *rank) {
    *rank = 0;
    if (cfg->transport == CT_TRANSPORT_LOCAL) return CT_OK;
    if (cfg->transport == CT_TRANSPORT_MPI)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--transport mpi: MPI support was not built (install libopenmpi-dev and reconfigure)");
    if (cfg->transport == CT_TRANSPORT_NCCL) return ct_nccl_transport_init(cfg); /* one process: rank 0 */
    return CT_FAIL(CT_ERR_INVALID_ARG, "--transport %d: expected local, mpi or nccl", cfg->transport);
}
void ct_transport_finalize(const ct_train_config *cfg) {
    if (cfg && cfg->transport == CT_TRANSPORT_NCCL) ct_nccl_transport_finalize(cfg);
}
int ct_mpi_rank(void) { return 0; }
ct_status ct_mpi_worker_main(const ct_train_config *cfg, const ct_dataset *train, const ct_model_spec *spec) {
    return CT_FAIL(CT_ERR_INVALID_ARG, "--transport mpi: MPI support was not built");
}
ct_status ct_mpi_proxy_create(ct_worker *w, int need_full, ct_mpi_proxy **out) {
    *out = NULL;
    return CT_FAIL(CT_ERR_INVALID_ARG, "--transport mpi: MPI support was not built");
}
void ct_mpi_proxy_destroy(ct_mpi_proxy *p) { (void)p; }
ct_status ct_mpi_proxy_submit(ct_mpi_proxy *p, ct_worker *w, const ct_task *t) {
    return CT_FAIL(CT_ERR_INTERNAL, "MPI proxy without MPI");
}
ct_status ct_mpi_proxy_poll(ct_mpi_proxy *p, ct_worker *w, int *finished, int *abandoned) {
    return CT_FAIL(CT_ERR_INTERNAL, "MPI proxy without MPI");
}
void ct_mpi_proxy_cancel(ct_mpi_proxy *p) { (void)p; }
int ct_mpi_proxy_unwinding(const ct_mpi_proxy *p) { (void)p; return 0; }

#else

#include <mpi.h>

#define HEARTBEAT_S 0.25    /* a worker rank's main thread says "alive" this often */
#define SILENT_S 2.0        /* no heartbeat for this long (8 missed): the rank is presumed dead */
#define MASTER_SILENT_S 900 /* a worker rank on another node gives up on a master it has not heard from
                             * (one on the master's node watches its pid: seconds) */
#define SHUTDOWN_WAIT_S 2.0 /* how long the master waits for worker ranks to acknowledge shutdown */

static struct {
    int up;               /* we called MPI_Init */
    int rank, size, local_rank, local_size;
    int tag_ub;
    MPI_Comm data, ctl, hb;
    double *last_hb;      /* rank 0: when each rank was last heard from */
    unsigned char *silent;/* rank 0: reported as silent (presumed dead) */
    long tasks;
    double bytes_down, bytes_up;
    int master_pid;       /* worker ranks on the master's node: its pid (0: on another node) */
    int master_dead;      /* a worker rank saw it die: nobody to say goodbye to */
} G = {.data = MPI_COMM_NULL, .ctl = MPI_COMM_NULL, .hb = MPI_COMM_NULL};

static ct_status mpi_fail(int e, const char *what, const char *file, int line) {
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(e, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "MPI error %d", e);
    return ct_error_set(CT_ERR_MPI, file, line, "%s: %s", what, s);
}
#define MPI_TRY(call)                                                              \
    do {                                                                           \
        int mpi_e_ = (call);                                                       \
        if (mpi_e_ != MPI_SUCCESS) return mpi_fail(mpi_e_, #call, __FILE__, __LINE__); \
    } while (0)

static int step_tag(long step) { return (int)(step % ((long)G.tag_ub + 1)); }

static void nap_us(long us) {
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* ---- wire formats (ranks are the same binary on the same kind of machine) ---- */
typedef struct wire_task {
    int64_t step;
    uint64_t quant_seed;
    ct_straggle_draw draw;
    int32_t d, m, per_part, real_throttle, general_path, compress;
    float inv_batch;
    int32_t pad;
} wire_task; /* followed by d*per_part int32 sample indices, then m*d floats of E */

typedef struct wire_result {
    int64_t step;
    int32_t status, abandoned, m, pad;
    double compute_ms;
    float loss[CT_WORKER_MAX_MSGS];
    float scale[CT_WORKER_MAX_MSGS];
    char err[384];
} wire_result; /* followed by m payload messages */

enum { CTL_CANCEL = 1, CTL_SHUTDOWN = 2, CTL_ACK = 3, CTL_FINAL = 4 }; /* FINAL: step = 1 to call MPI_Finalize */
typedef struct wire_ctl {
    int64_t step;
    int32_t kind, pad;
} wire_ctl;

/* ---- set-up ---- */

int ct_mpi_rank(void) { return G.rank; } /* still right after finalize: the CLI asks then */

ct_status ct_transport_init(const ct_train_config *cfg, int *rank) {
    *rank = 0;
    if (cfg->transport == CT_TRANSPORT_LOCAL) return CT_OK;
    if (cfg->transport == CT_TRANSPORT_NCCL) return ct_nccl_transport_init(cfg); /* one process: rank 0 */
    if (cfg->transport != CT_TRANSPORT_MPI)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--transport %d: expected local, mpi or nccl", cfg->transport);
    if (cfg->async && cfg->compress)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--transport mpi: --async with --compress is not supported (async peels full-precision codewords)");
    if (!G.up) {
        int inited = 0, provided = 0;
        MPI_TRY(MPI_Initialized(&inited));
        /* only the main thread talks MPI: the compute thread never does */
        if (!inited) MPI_TRY(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided));
        G.up = 1;
        /* a dead peer must come back as a status, not abort the master */
        MPI_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
        MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &G.rank));
        MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &G.size));
        int *ub = NULL, flag = 0;
        MPI_TRY(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag));
        G.tag_ub = flag && ub ? *ub : 32767;
        /* collectives only here, while every rank is alive */
        MPI_Comm node;
        MPI_TRY(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, G.rank, MPI_INFO_NULL, &node));
        MPI_TRY(MPI_Comm_rank(node, &G.local_rank));
        MPI_TRY(MPI_Comm_size(node, &G.local_size));
        /* does the master share this node? then its pid tells at once when it dies */
        int master_here = G.rank == 0, pid = (int)getpid();
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &master_here, 1, MPI_INT, MPI_MAX, node));
        MPI_TRY(MPI_Comm_free(&node));
        MPI_TRY(MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD));
        G.master_pid = master_here ? pid : 0;
        MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &G.data));
        MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &G.ctl));
        MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &G.hb));
        if (G.rank == 0) {
            G.last_hb = calloc((size_t)G.size, sizeof(double));
            G.silent = calloc((size_t)G.size, 1);
            if (!G.last_hb || !G.silent) return CT_FAIL(CT_ERR_NOMEM, "mpi transport: out of memory");
            for (int r = 0; r < G.size; r++) G.last_hb[r] = ct_now_s();
        }
    }
    *rank = G.rank;
    if (G.size != cfg->workers + 1)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--transport mpi with --workers %d needs %d MPI ranks (mpirun -np %d: rank 0 is the master), got %d",
                       cfg->workers, cfg->workers + 1, cfg->workers + 1, G.size);
    return CT_OK;
}

/* Open MPI 4.1's MPI_Finalize waits in a fence for every rank, dead ones included
 * (it hangs intermittently after a SIGKILL even with --enable-recovery). So the
 * end is two-phase: rank 0 says SHUTDOWN, each worker rank ACKs, and rank 0 then
 * tells them (FINAL) whether everyone answered; only then do all call
 * MPI_Finalize. Otherwise the survivors exit without it, which mpirun
 * --enable-recovery accepts. */
static int wait_sends(MPI_Request *rq, int n, double limit_s) {
    const double t0 = ct_now_s();
    int all = n == 0;
    while (!all && ct_now_s() - t0 < limit_s) {
        if (MPI_Testall(n, rq, &all, MPI_STATUSES_IGNORE) != MPI_SUCCESS) break;
        if (!all) nap_us(200);
    }
    for (int i = 0; !all && i < n; i++)
        if (rq[i] != MPI_REQUEST_NULL) MPI_Request_free(&rq[i]);
    return all;
}

static int master_finish(const ct_train_config *cfg) {
    static wire_ctl shut = {.step = 0, .kind = CTL_SHUTDOWN}, fin_yes = {.step = 1, .kind = CTL_FINAL},
                    fin_no = {.step = 0, .kind = CTL_FINAL};
    MPI_Request *rq = calloc((size_t)G.size, sizeof *rq);
    unsigned char *acked = calloc((size_t)G.size, 1);
    if (!rq || !acked) {
        free(rq);
        free(acked);
        return 0;
    }
    int n = 0;
    for (int r = 1; r < G.size; r++)
        if (MPI_Isend(&shut, (int)sizeof shut, MPI_BYTE, r, 0, G.ctl, &rq[n]) == MPI_SUCCESS) n++;
    int waiting = 0, n_acked = 0;
    for (int r = 1; r < G.size; r++) waiting += !G.silent[r];
    const double t0 = ct_now_s();
    while (n_acked < waiting && ct_now_s() - t0 < SHUTDOWN_WAIT_S) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, G.ctl, &flag, &st) != MPI_SUCCESS) break;
        if (!flag) {
            nap_us(200);
            continue;
        }
        wire_ctl note;
        if (MPI_Recv(&note, (int)sizeof note, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, G.ctl, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            break;
        if (note.kind == CTL_ACK && st.MPI_SOURCE > 0 && st.MPI_SOURCE < G.size && !acked[st.MPI_SOURCE]) {
            acked[st.MPI_SOURCE] = 1;
            n_acked += !G.silent[st.MPI_SOURCE];
        }
    }
    wait_sends(rq, n, 0.2);
    int everyone = 1;
    for (int r = 1; r < G.size; r++)
        if (!acked[r]) {
            everyone = 0;
            G.silent[r] = 1; /* did not answer the shutdown: as good as dead */
        }
    n = 0;
    for (int r = 1; r < G.size; r++)
        if (acked[r] &&
            MPI_Isend(everyone ? &fin_yes : &fin_no, (int)sizeof fin_yes, MPI_BYTE, r, 0, G.ctl, &rq[n]) == MPI_SUCCESS)
            n++;
    wait_sends(rq, n, SHUTDOWN_WAIT_S);
    free(rq);
    free(acked);
    char dead[256];
    int off = 0;
    dead[0] = '\0';
    for (int r = 1; r < G.size && off < (int)sizeof dead - 16; r++)
        if (G.silent[r]) off += snprintf(dead + off, sizeof dead - off, "%s%d (worker %d)", off ? ", " : "", r, r - 1);
    if (off)
        ct_message(CT_MSG_WARNING,
                   "mpi: ranks presumed dead (silent, treated as permanent stragglers): %s; "
                   "exiting without MPI_Finalize",
                   dead);
    if (cfg && cfg->progress != CT_PROGRESS_OFF && G.tasks)
        ct_message(CT_MSG_INFO, "mpi transport: %d worker ranks, %ld tasks, %.3f MB to workers, %.3f MB from workers "
               "(%.0f bytes per task down, %.0f up)",
               G.size - 1, G.tasks, G.bytes_down / 1e6, G.bytes_up / 1e6, G.bytes_down / G.tasks, G.bytes_up / G.tasks);
    return everyone;
}

static int worker_finish(void) {
    static wire_ctl ack = {.step = 0, .kind = CTL_ACK};
    if (G.master_dead) return 0; /* no FINAL will come, and MPI_Finalize would wait for the dead */
    MPI_Request rq = MPI_REQUEST_NULL;
    if (MPI_Isend(&ack, (int)sizeof ack, MPI_BYTE, 0, 0, G.ctl, &rq) != MPI_SUCCESS) return 0;
    const double t0 = ct_now_s();
    int finalize = 0, got = 0;
    while (!got && ct_now_s() - t0 < 10 * SHUTDOWN_WAIT_S) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(0, MPI_ANY_TAG, G.ctl, &flag, &st) != MPI_SUCCESS) break;
        if (!flag) {
            nap_us(500);
            continue;
        }
        wire_ctl note;
        if (MPI_Recv(&note, (int)sizeof note, MPI_BYTE, 0, st.MPI_TAG, G.ctl, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
        if (note.kind == CTL_FINAL) {
            got = 1;
            finalize = note.step == 1;
        }
    }
    wait_sends(&rq, 1, 0.1);
    return finalize;
}

void ct_transport_finalize(const ct_train_config *cfg) {
    if (cfg && cfg->transport == CT_TRANSPORT_NCCL) ct_nccl_transport_finalize(cfg);
    if (!G.up) return;
    int finalize = 1;
    if (G.data != MPI_COMM_NULL) finalize = G.rank == 0 ? master_finish(cfg) : worker_finish();
    /* communicators are left to MPI_Finalize (freeing them is collective in spirit) */
    free(G.last_hb);
    free(G.silent);
    G.last_hb = NULL;
    G.silent = NULL;
    G.up = 0;
    int fin = 0;
    if (finalize && MPI_Finalized(&fin) == MPI_SUCCESS && !fin) MPI_Finalize();
}

/* ---- the master's side: one proxy per worker rank ---- */

struct ct_mpi_proxy {
    int id, rank;
    int full;             /* messages travel as P floats (else packed bits + scales) */
    int host;             /* the proxy's buffers are host memory: receive/send in place */
    size_t P, words;
    unsigned char *task_buf;
    size_t task_cap;
    float *hparams;       /* staging (device backends) */
    void *hpay[CT_WORKER_MAX_MSGS];
    wire_result hdr;
    wire_ctl cancel_note;
    MPI_Request sends[2], cancel_req, recvs[1 + CT_WORKER_MAX_MSGS];
    int n_recv, busy, m, cancel_sent, real_clock;
    long step;
};

static void drain_heartbeats(int rank) {
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(rank, MPI_ANY_TAG, G.hb, &flag, &st) != MPI_SUCCESS || !flag) return;
        char b;
        if (MPI_Recv(&b, 1, MPI_BYTE, rank, st.MPI_TAG, G.hb, MPI_STATUS_IGNORE) != MPI_SUCCESS) return;
        G.last_hb[rank] = ct_now_s();
        G.silent[rank] = 0;
    }
}

ct_status ct_mpi_proxy_create(ct_worker *w, int need_full, ct_mpi_proxy **out) {
    *out = NULL;
    if (!G.up || G.rank != 0)
        return CT_FAIL(CT_ERR_INTERNAL, "worker %d: MPI proxy created outside rank 0 of an MPI run", w->id);
    if (w->id + 1 >= G.size)
        return CT_FAIL(CT_ERR_INVALID_ARG, "worker %d needs MPI rank %d, but there are %d ranks", w->id, w->id + 1, G.size);
    ct_mpi_proxy *p = calloc(1, sizeof *p);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "worker %d: proxy", w->id);
    p->id = w->id;
    p->rank = w->id + 1;
    p->full = need_full;
    p->host = w->be->kind == CT_DEVICE_CPU;
    p->P = w->P;
    p->words = (w->P + 31) / 32;
    p->sends[0] = p->sends[1] = p->cancel_req = MPI_REQUEST_NULL;
    for (int i = 0; i < 1 + CT_WORKER_MAX_MSGS; i++) p->recvs[i] = MPI_REQUEST_NULL;
    *out = p;
    if (!p->host) {
        if (!(p->hparams = malloc(p->P * sizeof(float)))) return CT_FAIL(CT_ERR_NOMEM, "worker %d: proxy staging", w->id);
        for (int l = 0; l < w->max_m; l++)
            if (!(p->hpay[l] = malloc(p->full ? p->P * sizeof(float) : p->words * sizeof(uint32_t))))
                return CT_FAIL(CT_ERR_NOMEM, "worker %d: proxy staging", w->id);
    }
    return CT_OK;
}

/* a finished (or given-up) send request: complete it or let it go */
static void settle(MPI_Request *r) {
    if (*r == MPI_REQUEST_NULL) return;
    int done = 0;
    if (MPI_Test(r, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || !done) MPI_Request_free(r);
    *r = MPI_REQUEST_NULL;
}

void ct_mpi_proxy_destroy(ct_mpi_proxy *p) {
    if (!p) return;
    if (p->busy && G.up) {
        /* a live rank answers a cancel at once (abandoned); a dead one never does */
        ct_mpi_proxy_cancel(p);
        drain_heartbeats(p->rank);
        const double t0 = ct_now_s();
        int all = 0;
        while (ct_now_s() - t0 < 2.0 && ct_now_s() - G.last_hb[p->rank] < 1.0) {
            if (MPI_Testall(p->n_recv, p->recvs, &all, MPI_STATUSES_IGNORE) != MPI_SUCCESS || all) break;
            drain_heartbeats(p->rank);
            nap_us(100);
        }
        /* gone quiet and never answered: a rank that died before the detector noticed */
        if (!all && ct_now_s() - G.last_hb[p->rank] >= 1.0 && !G.silent[p->rank]) {
            G.silent[p->rank] = 1;
            ct_message(CT_MSG_WARNING, "mpi: worker %d (rank %d) never answered its task for step %ld and is silent: presumed dead",
                       p->id, p->rank, p->step);
        }
        for (int i = 0; i < p->n_recv; i++)
            if (p->recvs[i] != MPI_REQUEST_NULL) {
                /* receives into buffers about to be freed must be cancelled, not orphaned */
                MPI_Cancel(&p->recvs[i]);
                MPI_Wait(&p->recvs[i], MPI_STATUS_IGNORE);
            }
    }
    if (G.up) {
        settle(&p->sends[0]);
        settle(&p->sends[1]);
        settle(&p->cancel_req);
    }
    free(p->task_buf);
    free(p->hparams);
    for (int l = 0; l < CT_WORKER_MAX_MSGS; l++) free(p->hpay[l]);
    free(p);
}

ct_status ct_mpi_proxy_submit(ct_mpi_proxy *p, ct_worker *w, const ct_task *t) {
    if (p->busy) return CT_FAIL(CT_ERR_INTERNAL, "worker %d: submit while its rank still has a task", p->id);
    /* the last task's sends were received (its result came back): complete them */
    MPI_TRY(MPI_Wait(&p->sends[0], MPI_STATUS_IGNORE));
    MPI_TRY(MPI_Wait(&p->sends[1], MPI_STATUS_IGNORE));
    settle(&p->cancel_req);
    drain_heartbeats(p->rank);

    const size_t ns = (size_t)t->d * t->per_part, ne = (size_t)t->m * t->d;
    const size_t bytes = sizeof(wire_task) + ns * sizeof(int32_t) + ne * sizeof(float);
    if (bytes > p->task_cap) {
        unsigned char *nb = realloc(p->task_buf, bytes);
        if (!nb) return CT_FAIL(CT_ERR_NOMEM, "worker %d: task buffer (%zu bytes)", p->id, bytes);
        p->task_buf = nb;
        p->task_cap = bytes;
    }
    wire_task h = {.step = t->step, .quant_seed = t->quant_seed, .draw = t->draw, .d = t->d, .m = t->m,
                   .per_part = t->per_part, .real_throttle = t->real_throttle, .general_path = t->general_path,
                   .compress = (int32_t)t->compress, .inv_batch = t->inv_batch};
    memcpy(p->task_buf, &h, sizeof h);
    memcpy(p->task_buf + sizeof h, t->samples, ns * sizeof(int32_t));
    memcpy(p->task_buf + sizeof h + ns * sizeof(int32_t), t->E, ne * sizeof(float));
    const float *params = w->params;
    if (!p->host) {
        CT_TRY(w->be->ops->memcpy_d2h(w->be, p->hparams, w->params, p->P * sizeof(float)));
        CT_TRY(w->be->ops->sync(w->be));
        params = p->hparams;
    }
    const int tag = step_tag(t->step);
    /* receives first, so the result never waits in the unexpected queue */
    p->n_recv = 0;
    MPI_TRY(MPI_Irecv(&p->hdr, (int)sizeof p->hdr, MPI_BYTE, p->rank, tag, G.data, &p->recvs[p->n_recv++]));
    for (int l = 0; l < t->m; l++) {
        void *dst = p->host ? (p->full ? (void *)w->msg[l] : (void *)w->bits[l]) : p->hpay[l];
        if (p->full) MPI_TRY(MPI_Irecv(dst, (int)p->P, MPI_FLOAT, p->rank, tag, G.data, &p->recvs[p->n_recv++]));
        else MPI_TRY(MPI_Irecv(dst, (int)p->words, MPI_UINT32_T, p->rank, tag, G.data, &p->recvs[p->n_recv++]));
    }
    MPI_TRY(MPI_Isend(p->task_buf, (int)bytes, MPI_BYTE, p->rank, tag, G.data, &p->sends[0]));
    MPI_TRY(MPI_Isend(params, (int)p->P, MPI_FLOAT, p->rank, tag, G.data, &p->sends[1]));
    G.tasks++;
    G.bytes_down += (double)bytes + (double)p->P * sizeof(float);
    p->busy = 1;
    p->m = t->m;
    p->step = t->step;
    p->cancel_sent = 0;
    p->real_clock = t->real_throttle;
    return CT_OK;
}

ct_status ct_mpi_proxy_poll(ct_mpi_proxy *p, ct_worker *w, int *finished, int *abandoned) {
    *finished = *abandoned = 0;
    if (!p->busy) return CT_OK;
    drain_heartbeats(p->rank);
    int done = 0;
    /* testing the sends too: MPI only moves large messages while we call it */
    if (p->sends[0] != MPI_REQUEST_NULL) MPI_TRY(MPI_Test(&p->sends[0], &done, MPI_STATUS_IGNORE));
    if (p->sends[1] != MPI_REQUEST_NULL) MPI_TRY(MPI_Test(&p->sends[1], &done, MPI_STATUS_IGNORE));
    if (p->cancel_req != MPI_REQUEST_NULL) MPI_TRY(MPI_Test(&p->cancel_req, &done, MPI_STATUS_IGNORE));
    int all = 0;
    MPI_TRY(MPI_Testall(p->n_recv, p->recvs, &all, MPI_STATUSES_IGNORE));
    if (!all) {
        const double quiet = ct_now_s() - G.last_hb[p->rank];
        if (quiet > SILENT_S && !G.silent[p->rank]) {
            G.silent[p->rank] = 1;
            ct_message(CT_MSG_WARNING,
                       "mpi: worker %d (rank %d) has been silent for %.1f s at step %ld: presumed dead, "
                       "treated as a permanent straggler",
                       p->id, p->rank, quiet, p->step);
        }
        /* the virtual clock replays every task's result: without it there is no step */
        if (G.silent[p->rank] && !p->real_clock)
            return CT_FAIL(CT_ERR_MPI, "worker %d (MPI rank %d) died at step %ld; the virtual clock needs every task's result",
                           p->id, p->rank, p->step);
        return CT_OK;
    }
    p->busy = 0;
    p->n_recv = 0;
    const wire_result *h = &p->hdr;
    if (h->step != p->step) /* cannot happen: the tag is the step */
        return CT_FAIL(CT_ERR_INTERNAL, "worker %d: result for step %lld while waiting for step %ld", p->id,
                       (long long)h->step, p->step);
    G.bytes_up += sizeof *h;
    if (h->status != CT_OK)
        return ct_error_set((ct_status)h->status, __FILE__, __LINE__, "MPI rank %d: %.*s", p->rank, (int)sizeof h->err, h->err);
    *abandoned = h->abandoned;
    if (!h->abandoned) {
        const ct_backend_ops *o = w->be->ops;
        for (int l = 0; l < p->m; l++) {
            if (p->full) {
                if (!p->host) CT_TRY(o->memcpy_h2d(w->be, w->msg[l], p->hpay[l], p->P * sizeof(float)));
            } else {
                if (!p->host) CT_TRY(o->memcpy_h2d(w->be, w->bits[l], p->hpay[l], p->words * sizeof(uint32_t)));
                CT_TRY(o->memcpy_h2d(w->be, w->scale[l], &h->scale[l], sizeof(float)));
            }
            w->msg_loss[l] = h->loss[l];
            G.bytes_up += p->full ? p->P * sizeof(float) : p->words * sizeof(uint32_t);
        }
        CT_TRY(o->sync(w->be));
        w->compute_ms = h->compute_ms;
    }
    *finished = 1;
    return CT_OK;
}

int ct_mpi_proxy_unwinding(const ct_mpi_proxy *p) {
    return p && p->busy && p->cancel_sent && G.up && !G.silent[p->rank];
}

void ct_mpi_proxy_cancel(ct_mpi_proxy *p) {
    if (!p || !p->busy || p->cancel_sent || !G.up) return;
    settle(&p->cancel_req);
    p->cancel_note = (wire_ctl){.step = p->step, .kind = CTL_CANCEL};
    /* best effort: a failed cancel only means the rank finishes its throttle */
    if (MPI_Isend(&p->cancel_note, (int)sizeof p->cancel_note, MPI_BYTE, p->rank, step_tag(p->step), G.ctl,
                  &p->cancel_req) == MPI_SUCCESS)
        p->cancel_sent = 1;
}

/* ---- the worker ranks' side ---- */

typedef struct remote {
    const ct_train_config *cfg;
    const ct_dataset *data;
    const ct_model_spec *spec;
    ct_backend *be;
    ct_worker *w;
    size_t P, words;
    unsigned char *task_buf;
    size_t task_cap;
    float *stage;          /* device backends: params in, messages out */
    wire_result hdr;
    MPI_Request res_req[1 + CT_WORKER_MAX_MSGS];
    int n_res;
    MPI_Request hb_req;
    char hb_byte;
    int busy;              /* 0 idle, 1 computing, 2 failed before computing, 3 cancelled: answered, winding down */
    long step;
    int m, compress;
} remote;

/* buffers sized to the task; the code gives a worker the same shape every step,
 * so this allocates once (a re-creation would reset error feedback) */
static ct_status ensure_worker(remote *r, const wire_task *h) {
    ct_worker *w = r->w;
    if (w && h->d <= w->max_d && h->m <= w->max_m && h->per_part <= w->max_per_part) return CT_OK;
    if (w) ct_worker_destroy(w);
    r->w = NULL;
    ct_worker_config wc = {.id = ct_mpi_rank() - 1, .backend = r->be, .spec = r->spec, .data = r->data,
                           .max_d = h->d, .max_m = h->m, .max_per_part = h->per_part, .threaded = 1,
                           .compress = (ct_compress)h->compress, .transport = CT_TRANSPORT_LOCAL};
    ct_status st = ct_worker_create(&wc, &r->w);
    if (r->w) r->w->owns_backend = 0; /* the rank keeps its backend across re-creations */
    if (st != CT_OK) {
        ct_worker_destroy(r->w);
        r->w = NULL;
        return st;
    }
    if (r->be->kind != CT_DEVICE_CPU) { /* device backends stage every message through the host */
        float *ns = realloc(r->stage, r->P * sizeof(float) * (size_t)h->m);
        if (!ns) return CT_FAIL(CT_ERR_NOMEM, "MPI rank %d: staging for %d messages", G.rank, h->m);
        r->stage = ns;
    }
    return CT_OK;
}

static ct_status take_task(remote *r, const MPI_Status *probe) {
    int bytes = 0;
    MPI_TRY(MPI_Get_count(probe, MPI_BYTE, &bytes));
    if ((size_t)bytes > r->task_cap) {
        unsigned char *nb = realloc(r->task_buf, (size_t)bytes);
        if (!nb) return CT_FAIL(CT_ERR_NOMEM, "MPI rank %d: task of %d bytes", G.rank, bytes);
        r->task_buf = nb;
        r->task_cap = (size_t)bytes;
    }
    const int tag = probe->MPI_TAG;
    MPI_TRY(MPI_Recv(r->task_buf, bytes, MPI_BYTE, 0, tag, G.data, MPI_STATUS_IGNORE));
    wire_task h;
    if ((size_t)bytes < sizeof h) return CT_FAIL(CT_ERR_INTERNAL, "MPI rank %d: short task (%d bytes)", G.rank, bytes);
    memcpy(&h, r->task_buf, sizeof h);
    const size_t ns = (size_t)h.d * h.per_part, ne = (size_t)h.m * h.d;
    if (h.d < 1 || h.m < 1 || h.m > CT_WORKER_MAX_MSGS || h.per_part < 1 ||
        sizeof h + ns * sizeof(int32_t) + ne * sizeof(float) != (size_t)bytes)
        return CT_FAIL(CT_ERR_INTERNAL, "MPI rank %d: malformed task (d=%d m=%d per_part=%d, %d bytes)", G.rank, h.d, h.m,
                       h.per_part, bytes);
    /* the params message follows on the same tag; our previous result's sends
     * are complete (the master got it before handing out this task) */
    for (int i = 0; i < r->n_res; i++) MPI_TRY(MPI_Wait(&r->res_req[i], MPI_STATUS_IGNORE));
    r->n_res = 0;
    ct_status st = ensure_worker(r, &h);
    ct_worker *w = r->w;
    /* in place on the CPU; through the staging buffer (at least P floats) otherwise,
     * or when the worker could not be built (the failure becomes this task's result) */
    float *dst = st == CT_OK && r->be->kind == CT_DEVICE_CPU ? w->params : r->stage;
    MPI_TRY(MPI_Recv(dst, (int)r->P, MPI_FLOAT, 0, tag, G.data, MPI_STATUS_IGNORE));
    r->step = h.step;
    r->m = h.m;
    r->compress = h.compress;
    r->busy = 1;
    if (st == CT_OK && dst == r->stage)
        st = r->be->ops->memcpy_h2d(r->be, w->params, r->stage, r->P * sizeof(float));
    if (st == CT_OK) st = r->be->ops->sync(r->be);
    if (st == CT_OK) {
        ct_task t = {.step = h.step, .d = h.d, .m = h.m, .per_part = h.per_part, .inv_batch = h.inv_batch,
                     .samples = (const int32_t *)(r->task_buf + sizeof h),
                     .E = (const float *)(r->task_buf + sizeof h + ns * sizeof(int32_t)), .draw = h.draw,
                     .real_throttle = h.real_throttle, .general_path = h.general_path,
                     .compress = (ct_compress)h.compress, .quant_seed = h.quant_seed};
        st = ct_worker_submit(w, &t);
    }
    if (st != CT_OK) { /* the master learns of it from the result, as with a local worker */
        r->hdr = (wire_result){.step = h.step, .status = st, .m = h.m};
        snprintf(r->hdr.err, sizeof r->hdr.err, "%s", ct_last_error());
        r->busy = 2;
    }
    return CT_OK;
}

/* Send the finished task's result: header, then each message (empty if none). */
static ct_status send_result(remote *r, ct_status st, int abandoned) {
    ct_worker *w = r->w;
    const int tag = step_tag(r->step);
    wire_result *h = &r->hdr;
    if (r->busy != 2) {
        *h = (wire_result){.step = r->step, .status = st, .abandoned = abandoned, .m = r->m};
        if (st != CT_OK) snprintf(h->err, sizeof h->err, "%s", ct_last_error());
    }
    const int payload = h->status == CT_OK && !h->abandoned;
    const int full = r->compress == CT_COMPRESS_NONE;
    const int host = r->be->kind == CT_DEVICE_CPU;
    if (payload) {
        h->compute_ms = w->compute_ms;
        for (int l = 0; l < r->m; l++) {
            h->loss[l] = w->msg_loss[l];
            if (!full) CT_TRY(r->be->ops->memcpy_d2h(r->be, &h->scale[l], w->scale[l], sizeof(float)));
            if (!host) {
                const size_t n = full ? r->P * sizeof(float) : r->words * sizeof(uint32_t);
                CT_TRY(r->be->ops->memcpy_d2h(r->be, (char *)r->stage + (size_t)l * r->P * sizeof(float),
                                              full ? (const void *)w->msg[l] : (const void *)w->bits[l], n));
            }
        }
        CT_TRY(r->be->ops->sync(r->be));
    }
    r->n_res = 0;
    MPI_TRY(MPI_Isend(h, (int)sizeof *h, MPI_BYTE, 0, tag, G.data, &r->res_req[r->n_res++]));
    for (int l = 0; l < r->m; l++) {
        const void *src = !payload ? (const void *)h
                          : !host  ? (const void *)((char *)r->stage + (size_t)l * r->P * sizeof(float))
                          : full   ? (const void *)w->msg[l]
                                   : (const void *)w->bits[l];
        const int count = !payload ? 0 : full ? (int)r->P : (int)r->words;
        MPI_TRY(MPI_Isend(src, count, full ? MPI_FLOAT : MPI_UINT32_T, 0, tag, G.data, &r->res_req[r->n_res++]));
    }
    r->busy = 0;
    return CT_OK;
}

static ct_status serve(remote *r) {
    double last_hb = 0, last_master = ct_now_s(), last_check = 0;
    for (;;) {
        int activity = 0;
        const double now = ct_now_s();
        if (now - last_hb >= HEARTBEAT_S) {
            int done = 1;
            if (r->hb_req != MPI_REQUEST_NULL) MPI_TRY(MPI_Test(&r->hb_req, &done, MPI_STATUS_IGNORE));
            if (done) {
                MPI_TRY(MPI_Isend(&r->hb_byte, 1, MPI_BYTE, 0, 0, G.hb, &r->hb_req));
                last_hb = now;
            }
        }
        int flag = 0;
        MPI_Status st;
        MPI_TRY(MPI_Iprobe(0, MPI_ANY_TAG, G.ctl, &flag, &st));
        if (flag) {
            wire_ctl note;
            MPI_TRY(MPI_Recv(&note, (int)sizeof note, MPI_BYTE, 0, st.MPI_TAG, G.ctl, MPI_STATUS_IGNORE));
            last_master = now;
            activity = 1;
            if (note.kind == CTL_SHUTDOWN) return CT_OK;
            if (note.kind == CTL_CANCEL && r->busy == 1 && note.step == r->step) {
                /* answer "abandoned" now rather than when the compute thread notices:
                 * the master reassigns a worker only once it has answered, and a round
                 * trip through the throttle could cost it the next step */
                int fin = 0, ab = 0;
                if (ct_worker_poll(r->w, &fin, &ab) == CT_OK && fin) {
                    CT_TRY(send_result(r, CT_OK, ab));
                } else {
                    ct_worker_cancel(r->w);
                    CT_TRY(send_result(r, CT_OK, 1));
                    r->busy = 3; /* the local task winds down; its outcome is discarded */
                }
            }
        }
        if (!r->busy) {
            MPI_TRY(MPI_Iprobe(0, MPI_ANY_TAG, G.data, &flag, &st));
            if (flag) {
                CT_TRY(take_task(r, &st));
                last_master = now;
                activity = 1;
            }
        }
        if (r->busy == 3) {
            int fin = 0, ab = 0;
            if (ct_worker_poll(r->w, &fin, &ab) != CT_OK) {
                r->w->state = CT_WORKER_IDLE;
                r->w->error = CT_OK;
                fin = 1;
            }
            if (fin) r->busy = 0;
        } else if (r->busy == 2) {
            CT_TRY(send_result(r, CT_ERR_INTERNAL, 0));
        } else if (r->busy == 1) {
            int fin = 0, ab = 0;
            ct_status ws = ct_worker_poll(r->w, &fin, &ab);
            if (ws != CT_OK) {
                r->w->state = CT_WORKER_IDLE;
                r->w->error = CT_OK; /* reported once, with this task */
                CT_TRY(send_result(r, ws, 0));
            } else if (fin) {
                CT_TRY(send_result(r, CT_OK, ab));
                activity = 1;
            }
        }
        for (int i = 0; i < r->n_res; i++) /* keep large results moving */
            if (r->res_req[i] != MPI_REQUEST_NULL) MPI_TRY(MPI_Test(&r->res_req[i], &flag, MPI_STATUS_IGNORE));
        /* a master on this node is checked every heartbeat: killed, it cannot say goodbye */
        if (G.master_pid > 0 && now - last_check >= HEARTBEAT_S) {
            last_check = now;
            if (kill((pid_t)G.master_pid, 0) != 0 && errno == ESRCH && (G.master_dead = 1))
                return CT_FAIL(CT_ERR_MPI, "MPI rank %d: the master (rank 0, pid %d) has died; exiting", G.rank,
                               G.master_pid);
        }
        if (now - last_master > MASTER_SILENT_S)
            return CT_FAIL(CT_ERR_TIMEOUT, "MPI rank %d: no word from the master (rank 0) for %d s; giving up", G.rank,
                           MASTER_SILENT_S);
        if (!activity) nap_us(r->busy ? 50 : 100);
    }
}

ct_status ct_mpi_worker_main(const ct_train_config *cfg, const ct_dataset *train, const ct_model_spec *spec) {
    if (!G.up || G.rank == 0) return CT_FAIL(CT_ERR_INTERNAL, "ct_mpi_worker_main: not an MPI worker rank");
    remote r = {.cfg = cfg, .data = train, .spec = spec, .hb_req = MPI_REQUEST_NULL};
    for (int i = 0; i < 1 + CT_WORKER_MAX_MSGS; i++) r.res_req[i] = MPI_REQUEST_NULL;
    r.P = ct_model_param_count(spec);
    r.words = (r.P + 31) / 32;
    /* the local GPU if there is one (ranks on a node spread over its GPUs), else
     * the CPU, whose cores are shared by the ranks on this node */
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    const int ngpu = cfg->device == CT_DEVICE_CPU ? 0 : ct_backend_device_count(CT_DEVICE_CUDA);
    bc.device_index = ngpu > 0 ? G.local_rank % ngpu : 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    bc.threads = ncpu > G.local_size ? (int)(ncpu / G.local_size) : 1;
    ct_status st = ct_backend_create(cfg->device, &bc, &r.be);
    if (st == CT_OK && !(r.stage = malloc(r.P * sizeof(float))))
        st = CT_FAIL(CT_ERR_NOMEM, "MPI rank %d: parameter buffer (%zu floats)", G.rank, r.P);
    if (st == CT_OK) st = serve(&r);
    if (r.w) {
        ct_worker_cancel(r.w);
        ct_worker_destroy(r.w);
    }
    /* results the master will never take (it has stopped) must not hold up exit */
    for (int i = 0; i < r.n_res; i++) settle(&r.res_req[i]);
    settle(&r.hb_req);
    if (r.be) ct_backend_destroy(r.be);
    free(r.task_buf);
    free(r.stage);
    return st;
}

#endif /* CT_HAVE_MPI */
