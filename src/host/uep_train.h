/* Training with UEP-coded backpropagation (issue 7; docs/schemes.md, UEP section).
 *
 * The forward pass is exact. In the backward pass the two matrix products of
 * every dense layer, dW = dZ^T X and dX = dZ W, are each one distributed job:
 * the product is cut into blocks (src/codes/uep.c), each of N workers returns
 * one coded packet (a weighted sum of block products) after an Exp(lambda)
 * latency, and at the deadline T (or as soon as everything decodes, or when
 * the last packet is in) the master decodes what it can and zeros the rest.
 * The approximate dW feeds SGD, the approximate dX flows on backwards. Bias
 * gradients (column sums of dZ) stay exact. On the virtual clock a step costs
 * the sum over its products of the moment the master stopped waiting; with a
 * worker pool on the real clock (--uep-device cpu|cuda --clock real) it costs
 * its wall time.
 *
 * Exposed here for tests; the run itself is ct_uep_train_run. */
#ifndef CODEDTRAIN_HOST_UEP_TRAIN_H
#define CODEDTRAIN_HOST_UEP_TRAIN_H

#include <stdint.h>

#include "codedtrain/nn.h"
#include "codedtrain/train.h"
#include "codedtrain/uep.h"
#include "host/uep_workers.h"

/* The coding side of a run, resolved from ct_train_config's uep_* fields. */
typedef struct ct_uep_setup {
    int exact;               /* scheme "exact": exact products; time = the slowest of
                                min(N, blocks) workers that compute one block each */
    ct_uep_scheme scheme;    /* when !exact */
    ct_uep_params params;
    ct_uep_paradigm paradigm;
    int parts;               /* rxc: sqrt(sum k); cxr: sum k */
    int n_blocks;
    int workers;
    double deadline;         /* INFINITY: wait for all packets */
    double lambda;
    uint64_t seed;
    int pool;                /* 1: packets computed by a ct_uep_pool (--uep-device cpu|cuda|auto);
                                0: on the host in double (--uep-device host) */
    ct_device_kind pool_kind;
    ct_uep_clock clock;      /* always virtual on the host; a pool follows --clock */
    double time_scale_ms;    /* real clock: wall ms per latency unit */
} ct_uep_setup;

/* Parses and checks the uep_* fields (CT_ERR_INVALID_ARG naming the flag). */
ct_status ct_uep_setup_from_config(const ct_train_config *cfg, ct_uep_setup *out);

/* What happened to one coded product. */
typedef struct ct_uep_product_info {
    double finish_s;  /* virtual time the master stopped waiting */
    int arrived;      /* packets used (arrived by finish_s) */
    double energy;    /* ||C||_F^2 (0 when C is not given) */
    double err;       /* ||C - C_hat||_F^2 (0 when C is not given) */
    int n_blocks;
    unsigned char recovered[CT_UEP_MAX_BLOCKS];
    unsigned char class_ok[CT_UEP_MAX_CLASSES];   /* every block of class l recovered */
    double class_energy[CT_UEP_MAX_CLASSES];      /* ||C_class l||^2 as placed in C (C given, coded) */
} ct_uep_product_info;

/* One coded product on the host, in double: C_hat ~ A B with A rows x inner and
 * B inner x cols (row-major). `stream` keys the draws (latencies, coefficients).
 * C (the exact product, or NULL) is only read for info->energy / err. In exact
 * mode C_hat = A B. */
ct_status ct_uep_coded_matmul(const ct_uep_setup *s, uint64_t stream, const double *A, const double *B, int rows,
                              int inner, int cols, const double *C, double *C_hat, ct_uep_product_info *info);

/* The same product with the packets computed by a pool of backend workers
 * (s->pool; *pool is created on the first call with s->workers workers, then
 * reloaded with each product's partition; pool == NULL: the host, as above).
 * Virtual clock: the arrivals, the early stop and the coefficients are those
 * of ct_uep_coded_matmul, only the packets the master uses are computed (in
 * float), so the decoded blocks are the same and C_hat differs by rounding.
 * Real clock: every worker is throttled for its latency x s->time_scale_ms,
 * the master takes what is done at deadline x time_scale_ms (or when all are
 * in) and cancels the rest; info->finish_s is that wall time in seconds. */
ct_status ct_uep_coded_matmul_pool(const ct_uep_setup *s, ct_uep_pool **pool, uint64_t stream, const double *A,
                                   const double *B, int rows, int inner, int cols, const double *C, double *C_hat,
                                   ct_uep_product_info *info);

/* The draw key of product `product` (0 .. 2L-2) of step `step`: per-worker
 * latencies are then keyed by ct_hash64(key, worker). */
uint64_t ct_uep_product_key(uint64_t seed, long step, int product);

/* Per-step summary of the backward's products. */
typedef struct ct_uep_step_stats {
    double time_s;          /* sum over products of finish_s */
    double energy_recovered;/* mean over nonzero products of 1 - err / energy (1 when all are 0;
                               exact mode: 1, the energies are not computed) */
    int n_nonzero;          /* products with C != 0 (a lost upstream dX zeros those below) */
    double arrived_frac;    /* mean fraction of the N packets used */
    double class_share[CT_UEP_MAX_CLASSES];   /* mean over nonzero products of class energy / ||C||^2 */
    double class_decoded[CT_UEP_MAX_CLASSES]; /* fraction of products that decoded class l */
    int n_products;
    ct_uep_product_info product[2 * CT_MLP_MAX_LAYERS]; /* in backward order: dW_L, dX_L, dW_{L-1}, ... */
} ct_uep_step_stats;

/* MLP state for the coded backward: activations, deltas, host staging. */
typedef struct ct_uep_mlp ct_uep_mlp;
ct_status ct_uep_mlp_create(ct_backend *be, const ct_mlp_spec *spec, int max_batch, const ct_uep_setup *setup,
                            ct_uep_mlp **out);
void ct_uep_mlp_destroy(ct_uep_mlp *m);

/* Forward (exact) and coded backward of the mean cross-entropy over the batch:
 * grad (device, P floats) is overwritten with the approximate gradient, *loss
 * (host) gets the batch loss. x, y are device buffers (batch rows). In exact
 * mode grad equals ct_mlp_loss_grad's. */
ct_status ct_uep_mlp_loss_grad(ct_uep_mlp *m, const float *params, const float *x, const int32_t *y, int batch,
                               long step, float *grad, float *loss, ct_uep_step_stats *stats);

/* The whole run is ct_uep_train_run (declared in codedtrain/train.h). */

#endif
