/* Training runs: configuration, result, and the run itself. The CLI fills a
 * ct_train_config from flags; tests and benchmarks fill it directly. */
#ifndef CODEDTRAIN_TRAIN_H
#define CODEDTRAIN_TRAIN_H

#include <stdint.h>

#include "codedtrain/status.h"
#include "codedtrain/uep.h" /* ct_uep_paradigm */
#include "codedtrain/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_dataset_kind {
    CT_DATA_IDX = 0,   /* an IDX directory (default: Fashion-MNIST from the Debian package) */
    CT_DATA_CIFAR10,   /* CIFAR-10 binary directory */
    CT_DATA_SYNTHETIC  /* seeded Gaussian clusters */
} ct_dataset_kind;

typedef enum ct_clock_kind { CT_CLOCK_REAL = 0, CT_CLOCK_VIRTUAL } ct_clock_kind;

/* How workers' messages are compressed (docs/schemes.md, 1-bit gradient coding): SIGN
 * stochastic and unbiased (scale ||y||_inf), SIGN_EF sign with error feedback (scale
 * ||p||_1/P), SIGN_PLAIN signSGD-style sign times mean |y|, no feedback. */
typedef enum ct_compress { CT_COMPRESS_NONE = 0, CT_COMPRESS_SIGN, CT_COMPRESS_SIGN_EF, CT_COMPRESS_SIGN_PLAIN } ct_compress;

/* Where workers live: threads/streams of this process, one MPI rank each, or GPUs over NCCL. */
typedef enum ct_transport_kind { CT_TRANSPORT_LOCAL = 0, CT_TRANSPORT_MPI = 1, CT_TRANSPORT_NCCL = 2 } ct_transport_kind;

typedef enum ct_progress_mode { CT_PROGRESS_AUTO = 0, CT_PROGRESS_BAR, CT_PROGRESS_LINES, CT_PROGRESS_OFF } ct_progress_mode;

/* Versioned: initialise with CT_TRAIN_CONFIG_INIT, then change what you need. */
typedef struct ct_train_config {
    int version;
    ct_device_kind device;
    int threads;              /* CPU BLAS threads (0: all cores) */
    const char *model;        /* "mlp:784-256-10", "logreg", ... */
    ct_dataset_kind dataset;
    const char *data_dir;     /* IDX or CIFAR directory */
    int synth_n, synth_dim, synth_classes; /* synthetic: train size, dimension, classes */
#define CT_SYNTH_MAX_N 1000000000   /* train + a fifth for test must fit an int */
#define CT_SYNTH_MAX_DIM (1 << 24)
    int epochs;
    int batch;
    double lr, momentum, weight_decay;
    const char *lr_schedule;  /* "constant", "step:E,G", "cosine" */
    uint64_t seed;
    double target_acc;        /* stop at the first epoch reaching it (<= 0: off) */
    int max_steps;            /* stop after this many steps (0: off); benchmarks */
    int eval;                 /* evaluate test accuracy each epoch (1) */
    int eval_every;           /* also evaluate every this many steps (0: epochs only); the
                                 target accuracy is checked at every evaluation */
    const char *log_path;     /* JSON Lines log (NULL: none) */
    ct_progress_mode progress;

    /* ---- coded runtime (n workers) ---- */
    int workers;              /* logical workers (1: plain single-worker SGD) */
    const char *code;         /* scheme name (see ct_code_scheme_parse), "uncoded" by default */
    int stragglers;           /* s: stragglers the code tolerates */
    int load;                 /* d: partitions per worker (0: the scheme's default) */
    int messages;             /* m: messages per worker (0: the scheme's default) */
    double alpha;             /* partial recovery target (alpha codes) */
    const char *straggle;     /* straggler model spec (NULL/"none") */
    ct_clock_kind clock;      /* real or virtual time */
    double deadline_ms;       /* stop waiting after this long (0: until decodable, with a safety cap) */
    const char *policy;       /* all, fastest-k, adaptive-k, cmab, cmab-ucb */
    int k;                    /* fastest-k: results to wait for; cmab*: workers to assign; adaptive-k: k0 */
    const char *k_schedule;   /* adaptive-k, cmab*: fixed:K, steps:K0@0,K1@T1,..., auto (NULL: from k) */
    double unit_cost_ms;      /* virtual clock: compute time per sample (ms) */
    int unit_cost_auto;       /* 1: measure unit_cost_ms on worker 0's backend before the run */
    int cancel_late;          /* cut the throttle of workers the master no longer needs */
    int general_path;         /* force per-partition gradients + combine even when m == 1 */
    int per_worker_messages;  /* virtual clock: compute every worker's messages even where one
                                 weighted pass gives the same decoded gradient */
    int async;                /* apply each unit as soon as peeling recovers it (ldgm) */
    int max_staleness;        /* async: late codewords used up to this many steps late */
    int lossy_lsq;            /* async: at the deadline estimate undecoded units by least squares (else zero) */
    ct_compress compress;        /* none (default), sign, sign-ef, sign-plain */
    ct_transport_kind transport; /* local (default), mpi, nccl */

    /* ---- checkpoints (safetensors; src/host/checkpoint.h) ---- */
    const char *checkpoint_path; /* save here every checkpoint_every steps and at the end (NULL: never) */
    int checkpoint_every;        /* steps between saves (0: only at the end) */
    const char *resume_path;     /* continue the run saved in this checkpoint (NULL: fresh start) */

    /* ---- UEP-coded backprop (src/host/uep_train.c): the forward pass stays exact, every
     * dense layer's dX = dZ W and dW = dZ^T X are UEP-coded products across uep_workers ---- */
    int uep;                     /* 1: train with ct_uep_train_run */
    const char *uep_scheme;      /* now | ew | eep | uncoded | exact */
    int uep_workers;             /* N: one packet per worker and product */
    double uep_deadline;         /* T per product on the virtual clock (INFINITY: wait for all) */
    double uep_lambda;           /* exponential packet latency rate */
    const char *uep_gamma;       /* window probabilities, e.g. "0.40,0.35,0.25" */
    const char *uep_k;           /* blocks per class, e.g. "3,3,3" (rxc: the sum must be a square) */
    ct_uep_paradigm uep_paradigm; /* CT_UEP_RXC (row x column blocks, default), CT_UEP_CXR (column x row) */
    const char *uep_device;      /* who computes the packets: host (default: the UEP library in double,
                                    virtual clock whatever --clock says) | cpu | cuda | auto (a pool of
                                    backend workers, src/host/uep_workers.h, on the clock of `clock`) */
    double uep_time_scale_ms;    /* pool on the real clock: wall ms per latency unit (throttles, deadline) */

    /* ---- pictures of the workers (src/host/trace.h) ---- */
    const char *trace_path;      /* Chrome trace-event JSON, one track per worker and one for the master (NULL: none) */
    const char *timeline_path;   /* timeline PNG of the first timeline_steps steps, via gnuplot (NULL: none) */
    int timeline_steps;          /* steps the timeline shows (default 12) */

    /* ---- repeating a run (src/host/run_config.h) ---- */
    const char *expect_data_checksum; /* refuse data whose checksum differs (NULL: any data) */

    /* ---- data augmentation (image data; ct_augment_parse): "crop:4+flip", NULL = none ---- */
    const char *augment;
} ct_train_config;

#define CT_TRAIN_CONFIG_VERSION 1
#define CT_TRAIN_CONFIG_INIT                                                                     \
    {.version = CT_TRAIN_CONFIG_VERSION, .device = CT_DEVICE_AUTO, .model = "mlp:784-256-10",    \
     .dataset = CT_DATA_IDX, .synth_n = 10000, .synth_dim = 64, .synth_classes = 10,             \
     .epochs = 5, .batch = 128, .lr = 0.05, .momentum = 0.9, .lr_schedule = "constant",           \
     .seed = 1, .eval = 1, .progress = CT_PROGRESS_AUTO, .workers = 1, .code = "uncoded",         \
     .alpha = 1.0, .clock = CT_CLOCK_REAL, .policy = "all", .unit_cost_ms = 0.05, .cancel_late = 1,        \
     .max_staleness = 1, .uep_scheme = "ew", .uep_workers = 15, .uep_deadline = 1.0,               \
     .uep_lambda = 1.0, .uep_gamma = "0.40,0.35,0.25", .uep_k = "3,3,3",            \
     .uep_device = "host", .uep_time_scale_ms = 1.0, .timeline_steps = 12}

typedef struct ct_train_result {
    double time_s;            /* training time on the run's clock (wall or virtual), evaluation excluded */
    double train_time_s;      /* same as time_s (kept for callers of the first version) */
    double final_test_acc;
    double final_train_loss;
    double time_to_target_s;  /* < 0 when the target was not reached or not set */
    long steps;
    double samples_per_s;     /* training samples / train_time_s */
    int epochs_run;
    char device[128];         /* what ran it, e.g. "cpu (2 threads)" */
    double mean_wait_s;       /* master's mean wait per step for results */
    double mean_step_s;       /* mean step time (clock of the run) */
    long dropped;             /* worker results not used (late, dead or poisoned) */
    double data_dropped;      /* mean fraction of the minibatch's partitions not recovered */
    double bits_uploaded;     /* total bits of worker messages the master received */
    double mean_unwind_s;     /* real clock: mean wait per step for cancelled workers to return */
    /* The ideal master's step time (src/host/step_bound.h; NAN when the policy has none):
     * expected over the straggler model, and averaged over this run's own draws */
    double bound_step_s, ideal_step_s;
    double efficiency;            /* bound_step_s / mean_step_s */
    double efficiency_same_draws; /* ideal_step_s / mean_step_s */
    char bound_method[160];       /* how bound_step_s was computed */
} ct_train_result;

/* Runs the whole training; prints progress to stdout as configured. */
ct_status ct_train_run(const ct_train_config *cfg, ct_train_result *result);
/* The --uep mode (src/host/uep_train.c): ct_train_run hands over to it when cfg->uep is set. */
ct_status ct_uep_train_run(const ct_train_config *cfg, ct_train_result *result);

#ifdef __cplusplus
}
#endif
#endif
