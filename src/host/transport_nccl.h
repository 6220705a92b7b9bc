/* The NCCL transport (DESIGN.md, "Transports"): one process, several GPUs.
 * The master runs on GPU 0; worker i computes on GPU 1 + (i mod (ngpu - 1)),
 * never on GPU 0, because a pair's communicator cannot hold two ranks on one GPU.
 * When workers outnumber GPUs 1..ngpu-1 they share them, one stream each, as in
 * local mode. Needs at least 2 GPUs.
 *
 * Each master-worker pair has its own 2-rank communicator (rank 0 on GPU 0,
 * rank 1 on the worker's GPU) and its own stream on each side, so a slow or hung
 * peer stalls only its own pair. The master's worker i is a proxy (ct_worker
 * with nccl != NULL): its buffers (params, messages or packed bits + scales)
 * live on GPU 0, and it drives an ordinary local worker (threaded) on the
 * worker GPU:
 *   submit: ncclSend params (GPU 0) -> ncclRecv into the worker's replica, both
 *           sides in one group on the pair's streams; then the local worker
 *           computes on its stream (ordered after the receive)
 *   poll:   once the local worker's completion event fires, ncclSend each coded
 *           message (P floats, or ceil(P/32) words + 1 float scale) -> ncclRecv
 *           into the proxy's buffers, again one group, and record the proxy's
 *           done event on the master-side stream after the receive: the master's
 *           polling sees completion exactly as in local mode.
 * Both ends of every transfer are enqueued together by the master's thread, so
 * no NCCL call ever waits on host for a peer; ncclCommGetAsyncError is checked
 * on every poll, and a pair whose transfer is still pending at shutdown (a dead
 * or hung peer) or whose communicator reported an error is torn down with
 * ncclCommAbort rather than waited for. */
#ifndef CODEDTRAIN_TRANSPORT_NCCL_H
#define CODEDTRAIN_TRANSPORT_NCCL_H

#include "codedtrain/train.h"

typedef struct ct_worker ct_worker;
typedef struct ct_task ct_task;
typedef struct ct_worker_config ct_worker_config;
typedef struct ct_nccl_pair ct_nccl_pair;

/* 1 when this build has the NCCL transport (CUDA and NCCL found at configure). */
int ct_nccl_built(void);
/* The GPU of worker `id` when ngpu >= 2 GPUs are visible: 1 + id mod (ngpu - 1). */
int ct_nccl_worker_gpu(int id, int ngpu);

/* Checks before anything is loaded: built with NCCL, a GPU device, at least 2
 * visible GPUs ("--transport nccl needs at least 2 GPUs (found N)"), no
 * --async with --compress. CT_ERR_INVALID_ARG (exit 2) for each. */
ct_status ct_nccl_transport_init(const ct_train_config *cfg);
/* Prints what the transport moved and which pairs were aborted (progress on). */
void ct_nccl_transport_finalize(const ct_train_config *cfg);

/* ---- the master's side (used by worker.c for workers with transport nccl) ---- */
/* w already holds its master-side context on GPU 0 and its buffers there;
 * c gives what the worker-side local worker needs (spec, data, shapes). */
ct_status ct_nccl_pair_create(const ct_worker_config *c, ct_worker *w, ct_nccl_pair **out);
void ct_nccl_pair_destroy(ct_nccl_pair *p, ct_worker *w);
ct_status ct_nccl_pair_submit(ct_nccl_pair *p, ct_worker *w, const ct_task *t);
ct_status ct_nccl_pair_poll(ct_nccl_pair *p, ct_worker *w, int *finished, int *abandoned);
void ct_nccl_pair_cancel(ct_nccl_pair *p);

#endif
