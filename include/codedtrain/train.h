/* Training runs: configuration, result, and the run itself. The CLI fills a
 * ct_train_config from flags; tests and benchmarks fill it directly. */
#ifndef CODEDTRAIN_TRAIN_H
#define CODEDTRAIN_TRAIN_H

#include <stdint.h>

#include "codedtrain/status.h"
#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_dataset_kind {
    CT_DATA_IDX = 0,   /* an IDX directory (default: Fashion-MNIST from the Debian package) */
    CT_DATA_CIFAR10,   /* CIFAR-10 binary directory */
    CT_DATA_SYNTHETIC  /* seeded Gaussian clusters */
} ct_dataset_kind;

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
    int epochs;
    int batch;
    double lr, momentum, weight_decay;
    const char *lr_schedule;  /* "constant", "step:E,G", "cosine" */
    uint64_t seed;
    double target_acc;        /* stop at the first epoch reaching it (<= 0: off) */
    int max_steps;            /* stop after this many steps (0: off); benchmarks */
    int eval;                 /* evaluate test accuracy each epoch (1) */
    const char *log_path;     /* JSON Lines log (NULL: none) */
    ct_progress_mode progress;
} ct_train_config;

#define CT_TRAIN_CONFIG_VERSION 1
#define CT_TRAIN_CONFIG_INIT                                                            \
    {CT_TRAIN_CONFIG_VERSION, CT_DEVICE_AUTO, 0, "mlp:784-256-10", CT_DATA_IDX, NULL,   \
     10000, 64, 10, 5, 128, 0.05, 0.9, 0.0, "constant", 1, 0.0, 0, 1, NULL,             \
     CT_PROGRESS_AUTO}

typedef struct ct_train_result {
    double time_s;            /* wall time of the training loop (evaluation included) */
    double train_time_s;      /* wall time of the steps alone */
    double final_test_acc;
    double final_train_loss;
    double time_to_target_s;  /* < 0 when the target was not reached or not set */
    long steps;
    double samples_per_s;     /* training samples / train_time_s */
    int epochs_run;
    char device[128];         /* what ran it, e.g. "cpu (2 threads)" */
} ct_train_result;

/* Runs the whole training; prints progress to stdout as configured. */
ct_status ct_train_run(const ct_train_config *cfg, ct_train_result *result);

#ifdef __cplusplus
}
#endif
#endif
