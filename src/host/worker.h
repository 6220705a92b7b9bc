/* Workers: each is {backend context (device + stream + BLAS handle), parameter
 * replica, message buffers, completion event, host thread}. The master hands a
 * worker a task (its partitions' sample indices and encoding rows) and polls the
 * worker's completion without ever blocking on it; a worker still running can be
 * told to cut its throttle short. The same code serves the CPU and CUDA backends:
 * on the CPU the thread computes, on CUDA it enqueues work on its stream.
 * With the MPI transport the master's worker is a proxy (remote != NULL): it
 * holds only the buffers the master reads (params, messages) and forwards
 * submit/poll/cancel to its rank (transport_mpi.h); the rank runs run_task
 * with an ordinary local worker of its own. With the NCCL transport the proxy
 * (nccl != NULL) keeps its context and buffers on the master's GPU 0 and drives
 * a local worker on another GPU through a pair communicator (transport_nccl.h). */
#ifndef CODEDTRAIN_WORKER_H
#define CODEDTRAIN_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "codedtrain/train.h"
#include "host/straggler.h"
#include "kernels/backend.h"

#define CT_WORKER_MAX_MSGS 64

/* ct_compress (the message compression) is public: codedtrain/train.h */

typedef struct ct_task {
    long step;
    int d;                 /* partitions this step (rows of E's columns) */
    int m;                 /* messages */
    int per_part;          /* samples per partition slice */
    float inv_batch;       /* 1 / (total minibatch size): g_j is the slice's share of the mean gradient */
    const int32_t *samples;/* d * per_part dataset indices, partition-major (host, master-owned) */
    const float *E;        /* m x d encoding rows (host, master-owned) */
    ct_straggle_draw draw; /* what the straggler model does to this task */
    int real_throttle;     /* apply draw as real delays (real clock) */
    int general_path;      /* per-partition gradients then combine, even when m == 1 */
    int epoch;             /* the step's epoch: keys the samples' augmentation */
    ct_compress compress;  /* upload messages as 1 bit per coordinate + a scale */
    uint64_t quant_seed;   /* stochastic quantizer: keyed per (run, worker, step) */
} ct_task;

typedef enum { CT_WORKER_IDLE = 0, CT_WORKER_BUSY } ct_worker_state;

/* What a recorded step bakes in (worker_step.c): a task of the same shape
 * replays the recording. */
#define CT_WORKER_SHAPE_E 256 /* encoding coefficients a shape can hold (m * d) */
typedef struct ct_worker_shape {
    int nb, d, m, per_part, fast, compress;
    const float *params;
    float *out0;
    float E[CT_WORKER_SHAPE_E];
} ct_worker_shape;

typedef struct ct_worker {
    int id;
    ct_backend *be;
    int owns_backend;
    ct_model_workspace *ws;
    size_t P;
    int dim;
    int max_d, max_m, max_per_part;
    float *params;          /* replica (device) */
    const float *params_view; /* when set, computes on these parameters instead of the
                                 replica: a single inline worker on the master's own
                                 memory space needs no copy */
    float *msg[CT_WORKER_MAX_MSGS];  /* coded messages (device, P each) */
    float *msg_view;        /* when set, message 0 is written here instead of msg[0]: a
                               single inline worker writes the master's gradient itself */
    float *part_grad;       /* general path: max_d x P (device) */
    uint32_t *bits[CT_WORKER_MAX_MSGS];  /* 1-bit messages: ceil(P/32) words each (device) */
    float *scale[CT_WORKER_MAX_MSGS];    /* their scales (device, 1 float each) */
    float *ef[CT_WORKER_MAX_MSGS];       /* error-feedback state per message (device, P each) */
    float *x, *w, *loss;    /* batch, per-sample weights, per-partition losses (device) */
    int32_t *y;
    float *hx, *hw, *hloss; /* host staging (pinned: the backend's host_alloc) */
    int32_t *hy;
    int *bad, *hbad;        /* "some message is not finite" flag: device, and its pinned host copy */
    int msg_finite;         /* local workers: the last task's messages are all finite (set with them) */
    ct_event *done_ev;
    ct_event *throttle_ev;  /* marks the end of the task's throttle (the thread waits for it) */
    ct_event *computed_ev;  /* recorded when the task's compute is done, before its delay */
    volatile int *cancel;   /* host-visible flag the throttle watches */
    const ct_dataset *data; /* training set (host, shared read-only) */
    ct_augment augment;     /* applied to every sample gathered, keyed by (augment_seed, epoch, index) */
    uint64_t augment_seed;
    /* task hand-off */
    pthread_t thread;
    int has_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, quit;
    ct_task task;
    ct_worker_state state;        /* master's view */
    long task_step;               /* step of the task last submitted (master's view) */
    _Atomic long finished_step;   /* set by the worker thread when the task is enqueued/computed */
    _Atomic long computed_step;   /* set once computed_ev is recorded: only the delay is left */
    _Atomic int abandoned;        /* the task was cancelled before computing */
    float msg_loss[CT_WORKER_MAX_MSGS]; /* coded loss of each message (host) */
    /* the steady-state step as one graph launch (worker_step.c) */
    ct_graph *graph;              /* recorded for `shape` (NULL: none yet) */
    ct_worker_shape shape;        /* shape of the last task that could be recorded */
    int shape_seen, graph_off;    /* graph_off: the backend cannot record (CPU) or a capture failed */
    long graph_launches;          /* tasks run as one graph launch */
    double compute_ms;            /* measured compute time of the last task (CPU) */
    ct_status error;              /* first failure inside the thread */
    char error_msg[512];
    struct ct_mpi_proxy *remote;  /* MPI transport: the task runs on rank id+1 (NULL: local) */
    struct ct_nccl_pair *nccl;    /* NCCL transport: the task runs on another GPU (NULL: local) */
} ct_worker;

typedef struct ct_worker_config {
    int id;
    ct_backend *backend;     /* the worker's own context (the worker takes ownership) */
    const ct_model_spec *spec;
    const ct_dataset *data;
    int max_d, max_m, max_per_part;
    int threaded;            /* 1: own host thread; 0: run tasks inline in ct_worker_submit */
    ct_compress compress;    /* allocate 1-bit message buffers (and EF state) */
    ct_augment augment;      /* sample augmentation (none when zeroed) */
    uint64_t augment_seed;
    int transport;           /* 0 local; 1 mpi: a proxy for rank id+1 (backend only holds its buffers);
                                2 nccl: a proxy on GPU 0 for a worker on GPU 1 + id mod (ngpu - 1)
                                (the backend given is replaced by one on GPU 0) */
} ct_worker_config;

ct_status ct_worker_create(const ct_worker_config *cfg, ct_worker **out);
/* cancels a running task, joins the thread, frees everything */
void ct_worker_destroy(ct_worker *w);
/* Give an idle worker a task (the task's arrays must stay valid until the
 * worker finishes it). Returns at once when threaded. */
ct_status ct_worker_submit(ct_worker *w, const ct_task *task);
/* Non-blocking: 1 when the current task's messages are complete on the device
 * (and *abandoned says whether it was cancelled before computing), else 0.
 * A failure inside the worker is returned as a status (message recorded). */
ct_status ct_worker_poll(ct_worker *w, int *finished, int *abandoned);
/* Ask a running task to stop its throttle early (the master no longer needs it). */
void ct_worker_cancel(ct_worker *w);
/* worker_step.c: enqueue a task's device work (uploads to read-back), as one
 * graph launch when a recording of its shape exists; ct_worker_drop_graph
 * releases the recording */
ct_status ct_worker_enqueue_step(ct_worker *w, const ct_task *t, int nb, int fast, int direct);
void ct_worker_drop_graph(ct_worker *w);

/* 1 when a cancelled task is about to return: a local worker that has finished
 * computing and is only serving its straggler delay (cancelled, it finishes at
 * once), or an MPI rank not presumed dead that has yet to answer its cancel
 * (a live rank answers at once). 0 for NCCL pairs: their phase is not visible. */
ct_status ct_worker_in_tail(ct_worker *w, int *in_tail);

#endif
