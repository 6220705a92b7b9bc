/* UEP workers on a backend (issue 7): N worker contexts that compute UEP
 * packets with the backend's uep_block_gemm (float), and the master side that
 * decides at the deadline which packets arrived.
 *
 * Each worker is one ct_backend context (a CPU context driven by its own host
 * thread, or a CUDA stream on which the master enqueues). A round gives every
 * worker its packet's block weights; arrivals are decided by
 *   virtual clock: worker i arrives iff its drawn latency <= deadline (the
 *                  library's model; only arriving packets are computed, as in
 *                  ct_uep_simulate);
 *   real clock:    every worker's context is first held by `throttle` for
 *                  latency * time_scale_ms of wall time, then computes; the
 *                  master polls completion (events, never blocking on a
 *                  straggler) until deadline * time_scale_ms has passed, takes
 *                  what is done and cancels the late workers' throttles.
 * Decoding stays in the UEP library, on the host, in double. */
#ifndef CODEDTRAIN_HOST_UEP_WORKERS_H
#define CODEDTRAIN_HOST_UEP_WORKERS_H

#include "codedtrain/uep.h"
#include "kernels/backend.h"

typedef enum ct_uep_clock { CT_UEP_CLOCK_VIRTUAL = 0, CT_UEP_CLOCK_REAL = 1 } ct_uep_clock;

/* "virtual" | "real" -> clock; CT_ERR_INVALID_ARG naming `flag` otherwise. */
ct_status ct_uep_clock_parse(const char *flag, const char *s, ct_uep_clock *out);

typedef struct ct_uep_pool ct_uep_pool;

/* n_workers contexts of `kind` (AUTO: CUDA when a GPU is usable, else CPU;
 * CUDA workers round-robin over the visible GPUs), each with its own float
 * copies of the partition's sorted A and B (rxc: every group zero padded to
 * the packet shape, so each block pair is out_rows x out_cols). The partition
 * must stay alive while rounds use it (until the next ct_uep_pool_load). */
ct_status ct_uep_pool_create(ct_device_kind kind, const ct_uep_partition *p, int n_workers, ct_uep_pool **out);
/* Gives every worker the operands of another partition (any shape or
 * paradigm; buffers grow when needed, never shrink), so one pool serves a run
 * whose products change, e.g. training's two products per layer and step.
 * Call between rounds only. */
ct_status ct_uep_pool_load(ct_uep_pool *pool, const ct_uep_partition *p);
void ct_uep_pool_destroy(ct_uep_pool *pool); /* cancels and joins everything; NULL is a no-op */
int ct_uep_pool_size(const ct_uep_pool *pool);
ct_device_kind ct_uep_pool_kind(const ct_uep_pool *pool);
const char *ct_uep_pool_describe(const ct_uep_pool *pool); /* worker 0's device */

typedef struct ct_uep_round {
    int n_workers;         /* the pool's first n workers take part (1..size) */
    const double *coeffs;  /* n_workers x n_blocks packet weights (host) */
    const double *latency; /* n_workers latencies, in latency units (host) */
    double deadline;       /* latency units, >= 0; INFINITY: wait for every packet */
    ct_uep_clock clock;
    double time_scale_ms;  /* real clock: ms of wall time per latency unit (> 0) */
} ct_uep_round;

typedef struct ct_uep_round_info {
    int n_arrived;   /* packets in Y */
    int n_cancelled; /* real clock: workers still running at the deadline, told to stop */
    double wall_ms;  /* round start to the arrival decision */
} ct_uep_round_info;

/* One round. arrived[i] (n_workers) = 1 iff worker i's packet is used; Y gets
 * the arrived packets (n_arrived x out_rows*out_cols, double, in worker
 * order). Returns only when no worker of the round is still running, so the
 * next round can reuse the contexts. */
ct_status ct_uep_pool_round(ct_uep_pool *pool, const ct_uep_round *r, unsigned char *arrived, double *Y,
                            ct_uep_round_info *info);

/* Totals over a simulation. */
typedef struct ct_uep_pool_stats {
    long rounds, arrived, cancelled;
} ct_uep_pool_stats;

/* ct_uep_simulate with the packets computed by the pool: the same seeds and
 * the same draws (per trial one latency per worker shared by every scheme;
 * one coefficient stream per scheme), so under the virtual clock the
 * arrivals, the recovered classes and p_class are those of ct_uep_simulate
 * and nmse differs only by float rounding. Under the real clock arrivals are
 * what the wall clock says (per scheme; mean_arrived counts them). deadline
 * may be INFINITY. stats may be NULL. */
ct_status ct_uep_simulate_pool(ct_uep_pool *pool, const ct_uep_partition *p, const ct_uep_params *params,
                               const ct_uep_scheme *schemes, int n_schemes, const ct_uep_sim_config *cfg,
                               ct_uep_clock clock, double time_scale_ms, ct_uep_sim_result *results,
                               ct_uep_pool_stats *stats);

#endif
