/* The master of one coded training run (DESIGN.md, "data flow of one step"):
 * it splits each minibatch over the code's partitions, hands tasks to idle
 * workers, waits (polling, never blocking on a straggler) until the arrived set
 * is decodable, a policy count is reached or a deadline passes, decodes with the
 * code library and forms g_hat on its own device. Time is real (wall clock,
 * real throttling) or virtual (deterministic discrete-event time). */
#ifndef CODEDTRAIN_MASTER_H
#define CODEDTRAIN_MASTER_H

#include <stdint.h>

#include "codedtrain/codes.h"
#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "codedtrain/train.h"
#include "host/straggler.h"
#include "host/worker.h"

/* What one worker did in one step, for traces and timelines. Times are seconds
 * since the run started, on the run's clock (virtual or wall). */
typedef enum ct_span_outcome {
    CT_SPAN_IDLE = 0,   /* no task this step (not selected, still busy, or marked dead) */
    CT_SPAN_USED,       /* arrived and its messages entered the decode */
    CT_SPAN_UNUSED,     /* arrived in time, but the decode gave it coefficient zero */
    CT_SPAN_LATE,       /* still running when the master stopped waiting: result dropped */
    CT_SPAN_CANCELLED,  /* late, and its throttle was cut short (real clock, --cancel-late on) */
    CT_SPAN_DEAD,       /* never answers (drop model) */
    CT_SPAN_FAULTY      /* answered with non-finite values: an erasure */
} ct_span_outcome;

typedef struct ct_worker_span {
    ct_span_outcome outcome;
    double start;       /* task handed out */
    double delay_s;     /* injected delay (virtual: modelled; real: measured as what the compute does not explain) */
    double compute_s;   /* gradient computation (virtual: modelled; real: measured by the worker) */
    double end;         /* arrival, or for late/dead/cancelled the moment the master stopped waiting or
                           (virtual, late) the modelled finish */
    int order;          /* position in the arrival order (used/unused), else -1 */
    int delay_first;    /* real clock: the throttle runs before the compute; virtual: after */
} ct_worker_span;

const char *ct_span_outcome_name(ct_span_outcome o);

typedef struct ct_step_info {
    double step_s;           /* duration of the step on the run's clock */
    double wait_s;           /* of which: waiting for worker results */
    double unwind_s;         /* real clock: waiting at the start for workers cancelled in their delay to return */
    int n_arrived;           /* workers whose results were used */
    int arrived[4096];       /* their ids, in arrival order (first n_arrived) */
    double residual;         /* decode residual ||a^T B_F - 1|| / sqrt(k) */
    double recovered;        /* fraction of partitions recovered */
    double loss;             /* decoded minibatch loss */
    ct_decode_status status;
    int assigned;            /* tasks handed out this step */
    int dropped;             /* results not used: late, dead, cancelled or non-finite */
    int faulty;              /* of which: non-finite messages (erasures) */
    int skipped;             /* 1: nothing usable arrived, no update this step */
    double bits_up;          /* bits of the messages received (1-bit: P + 32 per message) */
    int k;                   /* the policy's k this step (0: policy all) */
    int has_regret;          /* bandit policy with oracle means: regret below is meaningful */
    double regret;           /* cumulative bandit regret against the oracle, seconds */
    /* the master's timeline (seconds since the run started, the run's clock) */
    double t_start, t_stop, t_decoded; /* step began; stopped waiting; decoded */
    int n_spans;                       /* = workers */
    const ct_worker_span *spans;       /* per worker (owned by the master, valid until the next step) */
} ct_step_info;

typedef struct ct_master ct_master;

/* `params` and `grad` are device buffers on master_be (P floats). */
ct_status ct_master_create(const ct_train_config *cfg, const ct_model_spec *spec, const ct_dataset *train,
                           ct_backend *master_be, ct_master **out);
void ct_master_destroy(ct_master *m);
/* minibatch geometry: samples per partition slice, steps per epoch, effective batch */
int ct_master_per_part(const ct_master *m);
int ct_master_steps_per_epoch(const ct_master *m);
int ct_master_batch(const ct_master *m);
const ct_code *ct_master_code(const ct_master *m);
/* One step: new epoch permutation when step_in_epoch == 0. grad receives g_hat
 * (unless info->skipped). */
ct_status ct_master_step(ct_master *m, long step, int epoch, int step_in_epoch, const float *params, float *grad,
                         ct_step_info *info);
/* worker i (tests and diagnostics read its buffers) */
ct_worker *ct_master_worker(ct_master *m, int i);
/* Resume state (virtual clock, per-worker busy_until, 1-bit error-feedback buffers):
 * save appends records to ck->extra and tensors to ck->state; restore reads them
 * back (CT_ERR_FORMAT naming what is missing or does not fit this run). */
struct ct_checkpoint;
ct_status ct_master_save_state(const ct_master *m, struct ct_checkpoint *ck);
ct_status ct_master_restore_state(ct_master *m, const struct ct_checkpoint *ck);
/* What the step-time bound (host/step_bound.h) needs for this run: 1 and *out,
 * or 0 when the run's policy has no bound here (adaptive-k, bandits, async). */
struct ct_step_bound_config;
int ct_master_step_bound_config(const ct_master *m, struct ct_step_bound_config *out);
/* --unit-cost-ms auto: time worker 0's task (its partitions, no delay) 15
 * times on its own context (CPU: the compute inside the worker thread; CUDA:
 * submit to completion) and return the median per sample, in ms, and the
 * samples per task it was measured on. Run before the first step. */
ct_status ct_master_calibrate(ct_master *m, const float *params, double *unit_cost_ms, int *samples);
/* the clock's current time in seconds since the run started */
double ct_master_now(const ct_master *m);
/* how g_hat is computed: "one weighted pass" (virtual clock, linear decode,
 * no compression or faults) or "per-worker messages" */
const char *ct_master_gradient_path(const ct_master *m);
/* a one-line description for the terminal, e.g. "cyclic n=8 s=2 (k=8, d=3, m=1)" */
const char *ct_master_describe(const ct_master *m);

#endif
