/* Forward and backward passes of a general sequential model (dense, conv,
 * pooling, ReLU, flatten) as a sequence of backend ops: no allocation and no
 * host synchronisation on the hot path. A conv is im2col + one GEMM per
 * sample (NCHW output without a transpose); a ReLU after a dense or conv is
 * fused into its bias op, and every ReLU works in place. */
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "kernels/backend.h"

/* im2col columns are formed for this many floats' worth of samples at once
 * (at least one sample): bounds the workspace for large batches. */
#define CT_MODEL_COL_FLOATS (1u << 22)

struct ct_model_workspace {
    ct_backend *be;
    ct_model_spec spec;
    int max_batch;
    int first_param;                       /* first module with parameters: below it no dx is needed */
    void *block;                           /* the one device allocation */
    float *act[CT_MODEL_MAX_LAYERS];       /* module outputs (ReLU and Flatten alias their input) */
    int32_t *argmax[CT_MODEL_MAX_LAYERS];  /* max-pool modules */
    ct_conv_geom geom[CT_MODEL_MAX_LAYERS];/* conv and pool modules */
    float *delta[2];                       /* ping-pong gradients, batch x largest module */
    float *col;                            /* im2col scratch */
    size_t col_floats;
    float *loss_scratch;
};

static size_t align_floats(size_t n) { return (n + 63) & ~(size_t)63; }

static size_t out_size(const ct_layer *L) { return (size_t)L->out_c * L->out_h * L->out_w; }
static size_t in_size(const ct_layer *L) { return (size_t)L->in_c * L->in_h * L->in_w; }

static int aliases_input(const ct_layer *L) { return L->kind == CT_LAYER_RELU || L->kind == CT_LAYER_FLATTEN; }

ct_status ct_model_workspace_create(ct_backend *be, const ct_model_spec *spec, int max_batch,
                                    ct_model_workspace **out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_workspace_create: out is NULL");
    *out = NULL;
    if (!be || !spec) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_workspace_create: backend or spec is NULL");
    if (spec->n_layers < 1 || spec->n_layers > CT_MODEL_MAX_LAYERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_workspace_create: %d modules (expected 1..%d)", spec->n_layers,
                       CT_MODEL_MAX_LAYERS);
    if (max_batch < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_workspace_create: max_batch %d must be >= 1", max_batch);
    if (spec->layers[spec->n_layers - 1].kind != CT_LAYER_DENSE)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_workspace_create: the last module must be dense");
    if (spec->layers[0].kind == CT_LAYER_RELU)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_workspace_create: a ReLU cannot be the first module");

    ct_model_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return CT_FAIL(CT_ERR_NOMEM, "model workspace: out of memory");
    ws->be = be;
    ws->spec = *spec;
    ws->max_batch = max_batch;
    ws->first_param = -1;

    const size_t B = (size_t)max_batch;
    size_t total = 0, widest = 0, col = 0;
    size_t act_off[CT_MODEL_MAX_LAYERS], arg_off[CT_MODEL_MAX_LAYERS];
    ct_status st = CT_OK;
    for (int i = 0; i < spec->n_layers && st == CT_OK; i++) {
        const ct_layer *L = &spec->layers[i];
        if ((L->kind == CT_LAYER_DENSE || L->kind == CT_LAYER_CONV) && ws->first_param < 0) ws->first_param = i;
        if (i > 0 && (in_size(L) != out_size(&spec->layers[i - 1])))
            st = CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_workspace_create: module %d's input does not match module %d's output",
                         i, i - 1);
        if (out_size(L) > widest) widest = out_size(L);
        if (in_size(L) > widest) widest = in_size(L);
        act_off[i] = total;
        if (!aliases_input(L)) total += align_floats(B * out_size(L));
        arg_off[i] = total;
        if (L->kind == CT_LAYER_MAXPOOL) total += align_floats(B * out_size(L));
        if (L->kind == CT_LAYER_CONV || L->kind == CT_LAYER_MAXPOOL || L->kind == CT_LAYER_AVGPOOL) {
            ct_conv_geom *g = &ws->geom[i];
            *g = (ct_conv_geom){L->in_c, L->in_h, L->in_w, L->k, L->k, L->stride, L->pad, L->out_h, L->out_w};
            if (st == CT_OK) st = ct_conv_geom_check("ct_model_workspace_create", g);
            if (L->kind == CT_LAYER_CONV) {
                const size_t per = (size_t)L->in_c * L->k * L->k * L->out_h * L->out_w;
                size_t chunk = CT_MODEL_COL_FLOATS / per;
                if (chunk < 1) chunk = 1;
                if (chunk > B) chunk = B;
                if (chunk * per > col) col = chunk * per;
            }
        }
    }
    if (st != CT_OK) {
        free(ws);
        return st;
    }
    size_t delta_off[2];
    for (int k = 0; k < 2; k++) {
        delta_off[k] = total;
        total += align_floats(B * widest);
    }
    const size_t col_off = total;
    total += align_floats(col);
    const size_t loss_off = total;
    total += align_floats(1);

    st = be->ops->alloc(be, total * sizeof(float), &ws->block);
    if (st != CT_OK) {
        free(ws);
        return st;
    }
    float *base = ws->block;
    for (int i = 0; i < spec->n_layers; i++) {
        const ct_layer *L = &spec->layers[i];
        /* module 0 never aliases: a Flatten first aliases the input, set per call */
        ws->act[i] = aliases_input(L) ? (i ? ws->act[i - 1] : NULL) : base + act_off[i];
        if (L->kind == CT_LAYER_MAXPOOL) ws->argmax[i] = (int32_t *)(base + arg_off[i]);
    }
    for (int k = 0; k < 2; k++) ws->delta[k] = base + delta_off[k];
    ws->col = col ? base + col_off : NULL;
    ws->col_floats = col;
    ws->loss_scratch = base + loss_off;
    *out = ws;
    return CT_OK;
}

void ct_model_workspace_destroy(ct_model_workspace *ws) {
    if (!ws) return;
    ws->be->ops->free(ws->be, ws->block);
    free(ws);
}

static ct_status check_batch(const ct_model_workspace *ws, const float *params, const float *x, int batch,
                             const char *who) {
    if (!ws || !params || !x) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: workspace, params or x is NULL", who);
    if (batch < 1 || batch > ws->max_batch)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: batch %d outside 1..%d (the workspace's max_batch)", who, batch,
                       ws->max_batch);
    return CT_OK;
}

/* samples per im2col pass of a conv module */
static int conv_chunk(const ct_model_workspace *ws, const ct_conv_geom *g, int batch) {
    const size_t per = (size_t)g->c * g->kh * g->kw * g->oh * g->ow;
    size_t chunk = ws->col_floats / per;
    if (chunk < 1) chunk = 1;
    return chunk < (size_t)batch ? (int)chunk : batch;
}

static ct_status conv_forward(ct_model_workspace *ws, int i, const float *W, const float *b, const float *x,
                              int batch, ct_activation act) {
    ct_backend *be = ws->be;
    const ct_conv_geom *g = &ws->geom[i];
    const int K = g->c * g->kh * g->kw, opix = g->oh * g->ow, oc = ws->spec.layers[i].out;
    const size_t in_sz = (size_t)g->c * g->h * g->w, out_sz = (size_t)oc * opix, col_sz = (size_t)K * opix;
    float *y = ws->act[i];
    const int chunk = conv_chunk(ws, g, batch);
    for (int b0 = 0; b0 < batch; b0 += chunk) {
        const int cb = batch - b0 < chunk ? batch - b0 : chunk;
        CT_TRY(be->ops->im2col(be, g, cb, x + (size_t)b0 * in_sz, ws->col));
        for (int s = 0; s < cb; s++) /* Y_s [oc x opix] = W [oc x K] col_s [K x opix] */
            CT_TRY(be->ops->gemm(be, 0, 0, oc, opix, K, 1.0f, W, K, ws->col + (size_t)s * col_sz, opix, 0.0f,
                                 y + (size_t)(b0 + s) * out_sz, opix));
    }
    return be->ops->channel_bias_act_forward(be, act, batch, oc, opix, b, y);
}

/* grad of W, b (beta-accumulated) and, when dx != NULL, dx from dy. */
static ct_status conv_backward(ct_model_workspace *ws, int i, const float *W, const float *x, const float *dy,
                               int batch, float beta, float *dW, float *db, float *dx) {
    ct_backend *be = ws->be;
    const ct_conv_geom *g = &ws->geom[i];
    const int K = g->c * g->kh * g->kw, opix = g->oh * g->ow, oc = ws->spec.layers[i].out;
    const size_t in_sz = (size_t)g->c * g->h * g->w, out_sz = (size_t)oc * opix, col_sz = (size_t)K * opix;
    CT_TRY(be->ops->channel_bias_grad(be, batch, oc, opix, dy, beta, db));
    const int chunk = conv_chunk(ws, g, batch);
    for (int b0 = 0; b0 < batch; b0 += chunk) {
        const int cb = batch - b0 < chunk ? batch - b0 : chunk;
        CT_TRY(be->ops->im2col(be, g, cb, x + (size_t)b0 * in_sz, ws->col));
        for (int s = 0; s < cb; s++) /* dW (+)= dY_s [oc x opix] col_s^T [opix x K] */
            CT_TRY(be->ops->gemm(be, 0, 1, oc, K, opix, 1.0f, dy + (size_t)(b0 + s) * out_sz, opix,
                                 ws->col + (size_t)s * col_sz, opix, b0 + s == 0 ? beta : 1.0f, dW, K));
        if (!dx) continue;
        for (int s = 0; s < cb; s++) /* dcol_s [K x opix] = W^T [K x oc] dY_s [oc x opix] */
            CT_TRY(be->ops->gemm(be, 1, 0, K, opix, oc, 1.0f, W, K, dy + (size_t)(b0 + s) * out_sz, opix, 0.0f,
                                 ws->col + (size_t)s * col_sz, opix));
        CT_TRY(be->ops->col2im(be, g, cb, ws->col, dx + (size_t)b0 * in_sz));
    }
    return CT_OK;
}

static const float *module_input(const ct_model_workspace *ws, int i, const float *x) {
    return i == 0 ? x : ws->act[i - 1];
}

static ct_status forward_modules(ct_model_workspace *ws, const float *params, const float *x, int batch) {
    ct_backend *be = ws->be;
    const ct_model_spec *spec = &ws->spec;
    const int n = spec->n_layers;
    if (spec->layers[0].kind == CT_LAYER_FLATTEN) ws->act[0] = (float *)x; /* aliases the caller's input */
    for (int i = 0; i < n; i++) {
        const ct_layer *L = &spec->layers[i];
        const float *in = module_input(ws, i, x);
        size_t w_off, b_off;
        ct_model_layer_params(spec, i, &w_off, NULL, &b_off, NULL);
        /* a ReLU right after a dense or conv is fused into its bias op */
        const ct_activation act = (i + 1 < n && spec->layers[i + 1].kind == CT_LAYER_RELU) ? CT_ACT_RELU : CT_ACT_NONE;
        switch (L->kind) {
        case CT_LAYER_DENSE: {
            const int fin = (int)in_size(L);
            CT_TRY(be->ops->gemm(be, 0, 1, batch, L->out, fin, 1.0f, in, fin, params + w_off, fin, 0.0f, ws->act[i],
                                 L->out));
            CT_TRY(be->ops->bias_act_forward(be, act, batch, L->out, params + b_off, ws->act[i]));
            break;
        }
        case CT_LAYER_CONV: CT_TRY(conv_forward(ws, i, params + w_off, params + b_off, in, batch, act)); break;
        case CT_LAYER_MAXPOOL: CT_TRY(be->ops->maxpool_forward(be, &ws->geom[i], batch, in, ws->act[i], ws->argmax[i])); break;
        case CT_LAYER_AVGPOOL: CT_TRY(be->ops->avgpool_forward(be, &ws->geom[i], batch, in, ws->act[i])); break;
        case CT_LAYER_RELU: {
            const ct_layer_kind prev = spec->layers[i - 1].kind;
            if (prev != CT_LAYER_DENSE && prev != CT_LAYER_CONV) /* not fused: in place */
                CT_TRY(be->ops->bias_act_forward(be, CT_ACT_RELU, batch, (int)in_size(L), NULL, ws->act[i]));
            break;
        }
        case CT_LAYER_FLATTEN: break;
        }
    }
    return CT_OK;
}

ct_status ct_model_forward(ct_model_workspace *ws, const float *params, const float *x, int batch,
                           const float **logits) {
    CT_TRY(check_batch(ws, params, x, batch, "ct_model_forward"));
    CT_TRY(forward_modules(ws, params, x, batch));
    if (logits) *logits = ws->act[ws->spec.n_layers - 1];
    return CT_OK;
}

ct_status ct_model_loss_grad(ct_model_workspace *ws, const float *params, const float *x, const int32_t *y,
                             const float *w, int batch, float beta, float *grad, float *loss) {
    CT_TRY(check_batch(ws, params, x, batch, "ct_model_loss_grad"));
    if (!y || !grad) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_loss_grad: labels or grad is NULL");
    ct_backend *be = ws->be;
    const ct_model_spec *spec = &ws->spec;
    const int n = spec->n_layers;
    CT_TRY(forward_modules(ws, params, x, batch));
    /* dlogits overwrite the logits in place: they are not needed afterwards */
    float *dy = ws->act[n - 1];
    CT_TRY(be->ops->softmax_xent(be, batch, spec->classes, ws->act[n - 1], y, w, dy, loss ? loss : ws->loss_scratch));

    for (int i = n - 1; i >= ws->first_param; i--) {
        const ct_layer *L = &spec->layers[i];
        const float *in = module_input(ws, i, x);
        const int need_dx = i > ws->first_param;
        float *dx = dy == ws->delta[0] ? ws->delta[1] : ws->delta[0];
        size_t w_off, b_off;
        ct_model_layer_params(spec, i, &w_off, NULL, &b_off, NULL);
        switch (L->kind) {
        case CT_LAYER_DENSE: {
            const int fin = (int)in_size(L);
            /* dW = beta dW + dY^T X ; db = beta db + colsum(dY) ; dX = dY W */
            CT_TRY(be->ops->gemm(be, 1, 0, L->out, fin, batch, 1.0f, dy, L->out, in, fin, beta, grad + w_off, fin));
            CT_TRY(be->ops->bias_grad(be, batch, L->out, dy, beta, grad + b_off));
            if (need_dx) {
                CT_TRY(be->ops->gemm(be, 0, 0, batch, fin, L->out, 1.0f, dy, L->out, params + w_off, fin, 0.0f, dx, fin));
                dy = dx;
            }
            break;
        }
        case CT_LAYER_CONV:
            CT_TRY(conv_backward(ws, i, params + w_off, in, dy, batch, beta, grad + w_off, grad + b_off,
                                 need_dx ? dx : NULL));
            if (need_dx) dy = dx;
            break;
        case CT_LAYER_MAXPOOL:
            CT_TRY(be->ops->maxpool_backward(be, &ws->geom[i], batch, dy, ws->argmax[i], dx));
            dy = dx;
            break;
        case CT_LAYER_AVGPOOL:
            CT_TRY(be->ops->avgpool_backward(be, &ws->geom[i], batch, dy, dx));
            dy = dx;
            break;
        case CT_LAYER_RELU: /* in place, through the ReLU's output */
            CT_TRY(be->ops->act_backward(be, CT_ACT_RELU, (size_t)batch * in_size(L), ws->act[i], dy));
            break;
        case CT_LAYER_FLATTEN: break;
        }
    }
    return CT_OK;
}
