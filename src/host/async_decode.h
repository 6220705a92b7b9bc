/* Asynchronous decoding for low-weight codes (SCHEMES.md, "Low-weight derivative
 * codes with iterative decoding"): every arriving codeword is peeled at once, and
 * each unit (partition gradient) it releases is applied in the current update,
 * whether the codeword belongs to this step or to one of the last `max_staleness`
 * steps. At a step's deadline its undecoded units are estimated (zero or least
 * squares on what remains); a unit estimated then and decoded exactly later is
 * corrected by the difference, so across its life each unit contributes exactly
 * once. */
#ifndef CODEDTRAIN_ASYNC_DECODE_H
#define CODEDTRAIN_ASYNC_DECODE_H

#include <stddef.h>

#include "codedtrain/codes.h"
#include "kernels/backend.h"

typedef enum ct_lossy { CT_LOSSY_ZERO = 0, CT_LOSSY_LSQ } ct_lossy;

typedef struct ct_async ct_async;

ct_status ct_async_create(ct_code *code, ct_backend *be, size_t P, int max_staleness, ct_lossy lossy,
                          ct_async **out);
void ct_async_destroy(ct_async *a);
/* open step `step` (evicts steps older than step - max_staleness) */
ct_status ct_async_begin_step(ct_async *a, long step);
/* worker's messages for step tau (device pointers, its m_i of them) and their coded
 * losses; *used = 0 when tau is too stale (or unknown) and nothing was applied */
ct_status ct_async_arrive(ct_async *a, long tau, int worker, float *const *msgs, const float *msg_loss, int *used);
/* every unit of `step` decoded exactly */
int ct_async_complete(const ct_async *a, long step);
/* End of step: estimate the step's undecoded units, then grad = sum of every
 * contribution applied since the last flush. *empty = 1 when there was none.
 * decoded: fraction of `step`'s units decoded exactly; loss: the step's loss from
 * its decoded units, rescaled to the whole minibatch. */
ct_status ct_async_flush(ct_async *a, long step, float *grad, int *empty, double *decoded, double *loss);
/* counters for tests: times unit u of step tau was applied exactly / as an estimate */
int ct_async_applied_count(const ct_async *a, long tau, int unit);

#endif
