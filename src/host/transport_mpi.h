/* The MPI transport (DESIGN.md, "Transports"): `mpirun -np N+1 codedtrain train
 * --transport mpi ...`. Rank 0 runs the normal master loop; its worker i is a
 * proxy for rank i+1, which runs ct_mpi_worker_main: it receives tasks (step,
 * sample indices, encoding rows, straggler draw, parameters), computes them with
 * the same worker code as local mode and sends the coded messages back (1-bit
 * messages packed). Every rank parses the same flags and loads the same data, so
 * tasks carry indices, never samples.
 *
 * Wire protocol, all point-to-point and nonblocking on the master's side; every
 * tag is the step (mod the tag range), so a message is never taken for another
 * step's:
 *   data comm, 0 -> r: TASK (header + samples + E, bytes), then PARAMS (P floats)
 *   data comm, r -> 0: RESULT header (status, losses, scales), then one payload per
 *                      message (P floats, or ceil(P/32) words when compressed;
 *                      empty when the task was abandoned or failed)
 *   ctl comm,  0 -> r: CANCEL (tag = step), SHUTDOWN (tag 0, kind in the payload)
 *   hb comm,   r -> 0: a heartbeat every 250 ms from the worker's main thread, so
 *                      the master tells a dead rank (silent) from a slow one
 * A dead rank is a permanent straggler: its proxy simply never completes. */
#ifndef CODEDTRAIN_TRANSPORT_MPI_H
#define CODEDTRAIN_TRANSPORT_MPI_H

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "codedtrain/train.h"

/* CT_TRANSPORT_LOCAL, _MPI, _NCCL: ct_transport_kind in codedtrain/train.h */

typedef struct ct_worker ct_worker;
typedef struct ct_task ct_task;
typedef struct ct_mpi_proxy ct_mpi_proxy;

/* Start the configured transport. local: nothing (*rank = 0). mpi: MPI_Init
 * (once), checks that there are cfg->workers + 1 ranks; *rank is this process's
 * rank. Without MPI built: CT_ERR_INVALID_ARG "MPI support was not built".
 * nccl: one process (*rank = 0); ct_nccl_transport_init's checks (2+ GPUs). */
ct_status ct_transport_init(const ct_train_config *cfg, int *rank);
/* Rank 0: tell every worker rank to stop, print what the transport saw (bytes,
 * ranks that went silent), and finalize MPI without waiting on dead ranks.
 * Any rank: safe to call when init failed or was never called. */
void ct_transport_finalize(const ct_train_config *cfg);
/* This process's rank (0 when MPI is not running). */
int ct_mpi_rank(void);

/* Ranks > 0: serve tasks from rank 0 until it says shut down. `train` and `spec`
 * are this rank's copies (loaded from the same flags as the master's). */
ct_status ct_mpi_worker_main(const ct_train_config *cfg, const ct_dataset *train, const ct_model_spec *spec);

/* ---- the master's side (used by worker.c for workers with transport mpi) ---- */
/* w already holds its master-side buffers (params, msg/bits/scale). */
ct_status ct_mpi_proxy_create(ct_worker *w, int need_full, ct_mpi_proxy **out);
void ct_mpi_proxy_destroy(ct_mpi_proxy *p);
ct_status ct_mpi_proxy_submit(ct_mpi_proxy *p, ct_worker *w, const ct_task *t);
ct_status ct_mpi_proxy_poll(ct_mpi_proxy *p, ct_worker *w, int *finished, int *abandoned);
void ct_mpi_proxy_cancel(ct_mpi_proxy *p);
/* 1 while a cancelled task's rank (not presumed dead) has yet to answer: a live
 * rank answers a cancel at once, so the master waits for it as for a local
 * worker serving its delay (docs/schemes.md, "The two clocks") */
int ct_mpi_proxy_unwinding(const ct_mpi_proxy *p);

#endif
