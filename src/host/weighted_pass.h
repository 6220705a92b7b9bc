/* The decoded gradient as one weighted backward pass (virtual clock sweeps).
 * With linear decoding, no compression and no faults, g_hat = sum_t a_t y_t and
 * each message is y_il = sum_j E_i[l,j] g_j, so g_hat = sum_j w_j g_j with
 * w_j = sum over arrived slots of a_t E_i[l, column of j]: one backward pass over
 * the minibatch with per-sample loss weights w_part(s) / batch, whatever n and d
 * are (docs/schemes.md, "The two clocks"). */
#ifndef CODEDTRAIN_WEIGHTED_PASS_H
#define CODEDTRAIN_WEIGHTED_PASS_H

#include <stdint.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "kernels/backend.h"

typedef struct ct_weighted_pass ct_weighted_pass;

/* buffers for up to max_samples samples on `be`; samples are augmented as the
 * workers augment them (aug may be inactive; keyed by seed, epoch and index) */
ct_status ct_weighted_pass_create(ct_backend *be, const ct_model_spec *spec, const ct_dataset *data,
                                  const ct_augment *aug, uint64_t seed, int max_samples, ct_weighted_pass **out);
void ct_weighted_pass_destroy(ct_weighted_pass *p);
/* grad = sum_j part_w[j] g_j, *loss = sum_j part_w[j] L_j over the k partitions,
 * where partition j's slice is perm[j * part_size + offset ...] (per_part
 * samples) and g_j, L_j are inv_batch times its summed gradient and loss.
 * Partitions of weight 0 are not computed. */
ct_status ct_weighted_pass_run(ct_weighted_pass *p, const float *params, int epoch, int k, const double *part_w,
                               const int32_t *perm, int part_size, int offset, int per_part, float inv_batch,
                               float *grad, double *loss);

#endif
