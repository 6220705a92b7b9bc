/* Neural-network core: an MLP of any depth over the device interface, with
 * every parameter in one flat buffer; SGD with momentum / weight decay and
 * learning-rate schedules. */
#ifndef CODEDTRAIN_NN_H
#define CODEDTRAIN_NN_H

#include <stddef.h>
#include <stdint.h>

#include "codedtrain/status.h"
#include "codedtrain/device.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CT_MLP_MAX_LAYERS 16

/* sizes[0] = input dim, sizes[n_layers] = classes; n_layers dense layers,
 * ReLU after every layer but the last (which feeds softmax cross-entropy). */
typedef struct ct_mlp_spec {
    int n_layers;
    int sizes[CT_MLP_MAX_LAYERS + 1];
} ct_mlp_spec;

/* "mlp:784-256-10" (two or more sizes: the whole chain, input first, classes
 * last; these must match the data when given as nonzero input_dim/classes),
 * "mlp:256" (one size: a single hidden layer; input and classes from the data),
 * "logreg" (no hidden layer; input and classes from the data). At most
 * CT_MLP_MAX_LAYERS layers, every size in 1..1000000. CT_ERR_INVALID_ARG naming
 * the string and the problem otherwise. */
ct_status ct_mlp_spec_parse(const char *s, int input_dim, int classes, ct_mlp_spec *out);
/* "784-256-10" into buf */
void ct_mlp_spec_format(const ct_mlp_spec *spec, char *buf, size_t len);

/* Flat layout: for each layer l in order, W_l (out x in, row-major), then b_l (out). */
size_t ct_mlp_param_count(const ct_mlp_spec *spec);
void ct_mlp_layer_offsets(const ct_mlp_spec *spec, int layer, size_t *w_off, size_t *b_off);

/* Seeded deterministic init into a HOST buffer of ct_mlp_param_count floats:
 * W ~ U(-sqrt(6/in), sqrt(6/in)) (He-uniform) , b = 0. */
void ct_mlp_init_params(const ct_mlp_spec *spec, uint64_t seed, float *host_params);

/* Per-worker device scratch (activations, deltas) for batches up to max_batch. */
typedef struct ct_mlp_workspace ct_mlp_workspace;
ct_status ct_mlp_workspace_create(ct_backend *be, const ct_mlp_spec *spec, int max_batch,
                                  ct_mlp_workspace **out);
void ct_mlp_workspace_destroy(ct_mlp_workspace *ws);

/* Forward pass; *logits points into the workspace (batch x classes, device),
 * valid until the next forward or loss_grad on the same workspace. */
ct_status ct_mlp_forward(ct_mlp_workspace *ws, const float *params, const float *x, int batch,
                         const float **logits);

/* Forward + backward. grad (device, P floats) = beta * grad + d/dparams of
 * sum_s w_s * CE_s over the batch; w (device, batch floats) may be NULL for
 * w_s = 1/batch. loss (device, 1 float) receives sum_s w_s * CE_s; may be NULL. */
ct_status ct_mlp_loss_grad(ct_mlp_workspace *ws, const float *params, const float *x,
                           const int32_t *y, const float *w, int batch, float beta, float *grad,
                           float *loss);

/* ---- optimizer ---- */
typedef enum ct_lr_kind { CT_LR_CONSTANT = 0, CT_LR_STEP, CT_LR_COSINE } ct_lr_kind;
typedef struct ct_lr_schedule {
    ct_lr_kind kind;
    double base;     /* base learning rate */
    double gamma;    /* step: multiply by gamma ... */
    int step_epochs; /* ... every step_epochs epochs */
    int total_epochs;/* cosine: anneal to 0 over this many epochs */
} ct_lr_schedule;
/* "constant", "step:EPOCHS,GAMMA" (GAMMA in (0, 1]), "cosine"; base and total set by the caller. */
ct_status ct_lr_schedule_parse(const char *s, double base, int total_epochs, ct_lr_schedule *out);
/* learning rate at fractional epoch e (e.g. epoch + step/steps_per_epoch) */
double ct_lr_at(const ct_lr_schedule *sched, double epoch);

#ifdef __cplusplus
}
#endif
#endif
