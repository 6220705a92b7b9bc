/* The master's state, shared by the files that implement it (master.c: create,
 * step, waits; master_calibrate.c: --unit-cost-ms auto and the bound's inputs;
 * master_state.c: checkpoint state). Not for anyone else: master.h is the API. */
#ifndef CODEDTRAIN_MASTER_INTERNAL_H
#define CODEDTRAIN_MASTER_INTERNAL_H

#include "host/async_decode.h"
#include "host/master.h"
#include "host/policy.h"
#include "host/weighted_pass.h"

struct ct_master {
    const ct_train_config *cfg;
    ct_code *code;
    int n, k, words;
    ct_straggler *strag;
    ct_worker **w;
    ct_backend *be;
    const ct_dataset *data;
    size_t P;
    int per_part, part_size, steps_per_epoch, batch;
    ct_policy *policy; /* who gets work, how many results to wait for */
    int wait_count;    /* this step: stop after this many arrivals (0: code's rule) */
    unsigned char *idle, *selected;
    double *arrival;   /* this step: when worker i's result came (NAN: not yet) */
    float *prev_grad;  /* auto k schedule: g_{t-1} on the master's device */
    int have_prev_grad;
    int has_oracle;    /* the straggler model told the policy the true mean response times */
    int32_t *perm;
    int perm_epoch;    /* epoch whose permutation perm holds (0: none yet) */
    ct_augment augment; /* every worker augments a sample alike: keyed by (seed, epoch, index) */
    int32_t **samples; /* per worker: its partitions' slices this step */
    uint64_t *mask;
    double vnow, t0;
    double *busy_until, *finish;
    int *assigned, *order, *arrived_flag;
    int *fault_streak;        /* consecutive non-finite results per worker */
    unsigned char *marked_dead; /* failed CT_FAULTS_TO_DEAD times in a row: never given work again */
    ct_straggle_draw *draw;
    const float **ptrs;
    const uint32_t **bit_ptrs;
    const float **scale_ptrs;
    float *coefs;
    int *slots;               /* the message slot of each coefs entry */
    ct_async *async;          /* asynchronous peeling (ldgm --async), else NULL */
    unsigned char *pending;   /* virtual clock, async: a late result not yet replayed */
    ct_weighted_pass *weighted; /* virtual clock: g_hat as one weighted pass, no worker runs (NULL: per worker) */
    double *part_w;           /* its per-partition weights (k) */
    int slice_off;            /* this step: offset of each partition's slice in the permutation */
    unsigned char *used;      /* this step: the decode gave worker i a nonzero coefficient */
    ct_worker_span *spans;    /* this step: what each worker did (traces, timelines) */
    char desc[256];
};

#endif
