/* Neural-network core: an MLP of any depth over the device interface, with
 * every parameter in one flat buffer; SGD with momentum / weight decay and
 * learning-rate schedules. */
#ifndef CODEDTRAIN_NN_H
#define CODEDTRAIN_NN_H

#include <stddef.h>
#include <stdint.h>

#include "codedtrain/data.h"
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

/* ---- general sequential models (dense, conv, pooling, ReLU, flatten) ----
 * A model is a chain of modules over NCHW activations, as torch.nn.Sequential
 * would hold them: module i of the spec is module i of the Sequential. The
 * last module is a dense layer to the classes, feeding softmax cross-entropy.
 * No batch norm: it couples the samples of a batch, and the coded fast path
 * needs the gradient to be linear in per-sample loss weights
 * (docs/models.md). */
#define CT_MODEL_MAX_LAYERS 48

typedef enum ct_layer_kind {
    CT_LAYER_DENSE = 0, /* y = x W^T + b; W [out, in] */
    CT_LAYER_CONV,      /* 2-D convolution; W [out, in, k, k], b [out] */
    CT_LAYER_MAXPOOL,   /* k x k windows at `stride` */
    CT_LAYER_AVGPOOL,
    CT_LAYER_RELU,
    CT_LAYER_FLATTEN    /* c x h x w -> c*h*w features (no data movement in NCHW) */
} ct_layer_kind;

typedef struct ct_layer {
    ct_layer_kind kind;
    int out;              /* dense: output features; conv: output channels; else 0 */
    int k, stride, pad;   /* conv and pooling: square k x k window */
    /* shapes (set by the parser): input and output as channels x height x width;
     * a flat vector of n features is n x 1 x 1 */
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
} ct_layer;

typedef struct ct_model_spec {
    int in_c, in_h, in_w; /* input shape (flat data: dim x 1 x 1) */
    int classes;
    int n_layers;
    ct_layer layers[CT_MODEL_MAX_LAYERS];
} ct_model_spec;

/* Model strings (docs/models.md; `codedtrain train --help`):
 *   "mlp:784-256-10", "mlp:256", "logreg"     as ct_mlp_spec_parse
 *   "lenet5"        cnn:c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-CLASSES
 *   "cifarnet"      cnn:c32k3p1-r-m2-c64k3p1-r-m2-f256-r-CLASSES
 *   "cnn:TOKENS"    tokens joined by '-': cOUT k K [p PAD] [s STRIDE] (conv,
 *                   k default 3), mK [sS] (max pool, stride default K), aK [sS]
 *                   (average pool), r (ReLU), fN (dense N), N (last dense, to
 *                   the classes). A Flatten module is inserted before the
 *                   first dense layer after a conv or pool. An optional shape
 *                   prefix "cnn:CxHxW:TOKENS" fixes the input shape
 *                   (flat data of C*H*W features is viewed as that image).
 * The input shape comes from the data (in_c x in_h x in_w; in_h = in_w = 1
 * for flat data; 0 x 0 x 0 when unknown, then the string must carry it).
 * classes 0: taken from the string. CT_ERR_INVALID_ARG naming the string and
 * the bad token otherwise. */
ct_status ct_model_spec_parse(const char *s, int in_c, int in_h, int in_w, int classes, ct_model_spec *out);
/* The same with the input shape and classes of a dataset (flat data when its c is 0). */
ct_status ct_model_spec_parse_for(const char *s, const ct_dataset *d, ct_model_spec *out);
/* A self-contained string that parses back to the same spec with no data
 * ("mlp:784-256-10" or "cnn:1x28x28:c6k5p2-r-...-10"); truncated to len. */
void ct_model_spec_format(const ct_model_spec *spec, char *buf, size_t len);
/* 1 when the model is a plain MLP (dense, ReLU, dense, ..., dense); then *mlp
 * (may be NULL) receives its sizes. */
int ct_model_as_mlp(const ct_model_spec *spec, ct_mlp_spec *mlp);
/* The spec of an MLP as a model (flat input). */
void ct_model_from_mlp(const ct_mlp_spec *mlp, ct_model_spec *out);
int ct_model_input_dim(const ct_model_spec *spec); /* in_c * in_h * in_w */

/* Flat layout, in module order: for each dense or conv module, its weight
 * (dense [out, in], conv [out, in, k, k], row-major), then its bias [out] --
 * the order of the Sequential's state_dict. For an MLP this is the layout of
 * ct_mlp_param_count. */
size_t ct_model_param_count(const ct_model_spec *spec);
/* Offsets of module i's weight and bias; 0 (and *w_count = 0) for modules
 * without parameters. w_count / b_count may be NULL. */
int ct_model_layer_params(const ct_model_spec *spec, int layer, size_t *w_off, size_t *w_count, size_t *b_off,
                          size_t *b_count);
/* Seeded init into a HOST buffer: per parametrised module (counted from 0),
 * its own stream; W ~ U(-sqrt(6/fan_in), sqrt(6/fan_in)), b = 0, with fan_in
 * = in (dense) or in*k*k (conv). Same values as ct_mlp_init_params for MLPs. */
void ct_model_init_params(const ct_model_spec *spec, uint64_t seed, float *host_params);

typedef struct ct_model_workspace ct_model_workspace;
ct_status ct_model_workspace_create(ct_backend *be, const ct_model_spec *spec, int max_batch,
                                    ct_model_workspace **out);
void ct_model_workspace_destroy(ct_model_workspace *ws);
/* As ct_mlp_forward / ct_mlp_loss_grad; x is batch x (in_c*in_h*in_w), NCHW. */
ct_status ct_model_forward(ct_model_workspace *ws, const float *params, const float *x, int batch,
                           const float **logits);
ct_status ct_model_loss_grad(ct_model_workspace *ws, const float *params, const float *x, const int32_t *y,
                             const float *w, int batch, float beta, float *grad, float *loss);

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
