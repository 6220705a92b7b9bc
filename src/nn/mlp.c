/* The MLP: spec parsing, flat parameter layout, seeded init, and the
 * forward/backward passes as a short sequence of backend ops (no allocation
 * and no host synchronisation on the hot path). */
#include "codedtrain/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/rng.h"
#include "kernels/backend.h"

/* Layer sizes above this are certainly a typo, and keep every size product
 * comfortably inside size_t / int arithmetic. */
#define CT_MLP_MAX_SIZE 1000000

/* ---- spec ---- */

/* Parses "N-N-...-N" (decimal, '-'-separated, nothing else) into sizes. */
static ct_status parse_size_list(const char *model, const char *list, int *sizes, int *count) {
    const char *p = list;
    int n = 0;
    if (*p == '\0') return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': no layer sizes after 'mlp:' (e.g. mlp:784-256-10)", model);
    for (;;) {
        if (*p < '0' || *p > '9')
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--model '%s': expected a layer size at '%s' (sizes are positive integers joined by '-', e.g. mlp:784-256-10)",
                           model, p);
        long v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v <= CT_MLP_MAX_SIZE) v = v * 10 + (*p - '0');
            p++;
        }
        if (v < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': layer size %ld must be >= 1", model, v);
        if (v > CT_MLP_MAX_SIZE)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': a layer size is larger than the maximum %d", model,
                           CT_MLP_MAX_SIZE);
        if (n == CT_MLP_MAX_LAYERS + 1)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': too many layers (at most %d, i.e. %d sizes)", model,
                           CT_MLP_MAX_LAYERS, CT_MLP_MAX_LAYERS + 1);
        sizes[n++] = (int)v;
        if (*p == '\0') break;
        if (*p != '-')
            return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': unexpected '%c' (sizes are joined by '-', e.g. mlp:784-256-10)",
                           model, *p);
        p++;
    }
    *count = n;
    return CT_OK;
}

ct_status ct_mlp_spec_parse(const char *s, int input_dim, int classes, ct_mlp_spec *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_spec_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!s || !*s) return CT_FAIL(CT_ERR_INVALID_ARG, "--model: empty (expected e.g. mlp:784-256-10, mlp:256 or logreg)");
    if (input_dim < 0 || classes < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': the data's input size %d / classes %d are invalid", s, input_dim,
                       classes);
    const int have_data = input_dim > 0 && classes > 0;

    if (!strcmp(s, "logreg")) {
        if (!have_data)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': takes its input size and classes from the data, which gave none",
                           s);
        out->n_layers = 1;
        out->sizes[0] = input_dim;
        out->sizes[1] = classes;
        return CT_OK;
    }
    if (strncmp(s, "mlp:", 4) != 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': unknown model (expected mlp:784-256-10, mlp:256 or logreg)", s);

    int sizes[CT_MLP_MAX_LAYERS + 1];
    int count = 0;
    CT_TRY(parse_size_list(s, s + 4, sizes, &count));

    if (count == 1) {
        /* One number: a single hidden layer; input size and classes from the data. */
        if (!have_data)
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--model '%s': gives hidden sizes only, but the data gave no input size and classes", s);
        out->n_layers = 2;
        out->sizes[0] = input_dim;
        out->sizes[1] = sizes[0];
        out->sizes[2] = classes;
        return CT_OK;
    }
    /* Two or more numbers: the full chain, input first and classes last. */
    if (input_dim > 0 && sizes[0] != input_dim)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': input size %d does not match the data's %d", s, sizes[0],
                       input_dim);
    if (classes > 0 && sizes[count - 1] != classes)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': output size %d does not match the data's %d classes", s,
                       sizes[count - 1], classes);
    out->n_layers = count - 1;
    memcpy(out->sizes, sizes, (size_t)count * sizeof(int));
    return CT_OK;
}

void ct_mlp_spec_format(const ct_mlp_spec *spec, char *buf, size_t len) {
    if (!buf || len == 0) return;
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i <= spec->n_layers && used < len; i++) {
        int w = snprintf(buf + used, len - used, i ? "-%d" : "%d", spec->sizes[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* ---- parameter layout and init ---- */

size_t ct_mlp_param_count(const ct_mlp_spec *spec) {
    size_t total = 0;
    for (int l = 0; l < spec->n_layers; l++)
        total += (size_t)spec->sizes[l + 1] * ((size_t)spec->sizes[l] + 1);
    return total;
}

void ct_mlp_layer_offsets(const ct_mlp_spec *spec, int layer, size_t *w_off, size_t *b_off) {
    size_t off = 0;
    for (int l = 0; l < layer; l++) off += (size_t)spec->sizes[l + 1] * ((size_t)spec->sizes[l] + 1);
    if (w_off) *w_off = off;
    if (b_off) *b_off = off + (size_t)spec->sizes[layer + 1] * (size_t)spec->sizes[layer];
}

void ct_mlp_init_params(const ct_mlp_spec *spec, uint64_t seed, float *host_params) {
    for (int l = 0; l < spec->n_layers; l++) {
        const int in = spec->sizes[l], out = spec->sizes[l + 1];
        size_t w_off, b_off;
        ct_mlp_layer_offsets(spec, l, &w_off, &b_off);
        /* One stream per layer, so a layer's init depends only on (seed, layer, its shape). */
        ct_rng rng;
        ct_rng_seed(&rng, ct_hash64(seed, (uint64_t)l));
        const double bound = sqrt(6.0 / (double)in);
        float *w = host_params + w_off;
        const size_t nw = (size_t)out * (size_t)in;
        for (size_t i = 0; i < nw; i++) w[i] = (float)((2.0 * ct_rng_uniform(&rng) - 1.0) * bound);
        memset(host_params + b_off, 0, (size_t)out * sizeof(float));
    }
}

/* ---- workspace ---- */

struct ct_mlp_workspace {
    ct_backend *be;
    ct_mlp_spec spec;
    int max_batch;
    void *block;                          /* the one device allocation below */
    float *act[CT_MLP_MAX_LAYERS + 1];    /* act[l]: output of layer l (1-based), batch x sizes[l] */
    float *delta[2];                      /* ping-pong dZ of hidden layers, batch x widest hidden */
    float *loss_scratch;                  /* receives the loss when the caller wants none */
};

/* Round float counts up to 64 floats (256 bytes) so every buffer is well aligned on any device. */
static size_t align_floats(size_t n) { return (n + 63) & ~(size_t)63; }

ct_status ct_mlp_workspace_create(ct_backend *be, const ct_mlp_spec *spec, int max_batch, ct_mlp_workspace **out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_workspace_create: out is NULL");
    *out = NULL;
    if (!be || !spec) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_workspace_create: backend or spec is NULL");
    if (spec->n_layers < 1 || spec->n_layers > CT_MLP_MAX_LAYERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_workspace_create: %d layers (expected 1..%d)", spec->n_layers,
                       CT_MLP_MAX_LAYERS);
    for (int l = 0; l <= spec->n_layers; l++)
        if (spec->sizes[l] < 1)
            return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_workspace_create: layer size %d at position %d", spec->sizes[l], l);
    if (max_batch < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_workspace_create: max_batch %d must be >= 1", max_batch);

    ct_mlp_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return CT_FAIL(CT_ERR_NOMEM, "MLP workspace: out of memory");
    ws->be = be;
    ws->spec = *spec;
    ws->max_batch = max_batch;

    const size_t B = (size_t)max_batch;
    const int L = spec->n_layers;
    int widest_hidden = 0;
    for (int l = 1; l < L; l++)
        if (spec->sizes[l] > widest_hidden) widest_hidden = spec->sizes[l];
    size_t total = 0;
    size_t act_off[CT_MLP_MAX_LAYERS + 1];
    for (int l = 1; l <= L; l++) {
        act_off[l] = total;
        total += align_floats(B * (size_t)spec->sizes[l]);
    }
    size_t delta_off[2];
    for (int k = 0; k < 2; k++) {
        delta_off[k] = total;
        total += align_floats(B * (size_t)widest_hidden);
    }
    const size_t loss_off = total;
    total += align_floats(1);

    ct_status st = be->ops->alloc(be, total * sizeof(float), &ws->block);
    if (st != CT_OK) {
        free(ws);
        return st;
    }
    float *base = ws->block;
    for (int l = 1; l <= L; l++) ws->act[l] = base + act_off[l];
    for (int k = 0; k < 2; k++) ws->delta[k] = widest_hidden ? base + delta_off[k] : NULL;
    ws->loss_scratch = base + loss_off;
    *out = ws;
    return CT_OK;
}

void ct_mlp_workspace_destroy(ct_mlp_workspace *ws) {
    if (!ws) return;
    ws->be->ops->free(ws->be, ws->block);
    free(ws);
}

/* ---- passes ---- */

static ct_status check_batch(const ct_mlp_workspace *ws, const float *params, const float *x, int batch,
                             const char *who) {
    if (!ws || !params || !x) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: workspace, params or x is NULL", who);
    if (batch < 1 || batch > ws->max_batch)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: batch %d outside 1..%d (the workspace's max_batch)", who, batch,
                       ws->max_batch);
    return CT_OK;
}

/* act[l] = act(act[l-1] W_l^T + b_l) for every layer; act[0] is x. */
static ct_status forward_layers(ct_mlp_workspace *ws, const float *params, const float *x, int batch) {
    ct_backend *be = ws->be;
    const ct_mlp_spec *spec = &ws->spec;
    const int L = spec->n_layers;
    size_t off = 0;
    const float *input = x;
    for (int l = 1; l <= L; l++) {
        const int in = spec->sizes[l - 1], out = spec->sizes[l];
        const float *W = params + off;
        const float *b = W + (size_t)out * in;
        off += (size_t)out * ((size_t)in + 1);
        CT_TRY(be->ops->gemm(be, 0, 1, batch, out, in, 1.0f, input, in, W, in, 0.0f, ws->act[l], out));
        CT_TRY(be->ops->bias_act_forward(be, l < L ? CT_ACT_RELU : CT_ACT_NONE, batch, out, b, ws->act[l]));
        input = ws->act[l];
    }
    return CT_OK;
}

ct_status ct_mlp_forward(ct_mlp_workspace *ws, const float *params, const float *x, int batch, const float **logits) {
    CT_TRY(check_batch(ws, params, x, batch, "ct_mlp_forward"));
    CT_TRY(forward_layers(ws, params, x, batch));
    if (logits) *logits = ws->act[ws->spec.n_layers];
    return CT_OK;
}

ct_status ct_mlp_loss_grad(ct_mlp_workspace *ws, const float *params, const float *x, const int32_t *y,
                           const float *w, int batch, float beta, float *grad, float *loss) {
    CT_TRY(check_batch(ws, params, x, batch, "ct_mlp_loss_grad"));
    if (!y || !grad) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_loss_grad: labels or grad is NULL");
    ct_backend *be = ws->be;
    const ct_mlp_spec *spec = &ws->spec;
    const int L = spec->n_layers;

    CT_TRY(forward_layers(ws, params, x, batch));
    /* dlogits overwrite the logits in place: they are not needed afterwards. */
    float *dz = ws->act[L];
    CT_TRY(be->ops->softmax_xent(be, batch, spec->sizes[L], ws->act[L], y, w, dz, loss ? loss : ws->loss_scratch));

    for (int l = L; l >= 1; l--) {
        const int in = spec->sizes[l - 1], out = spec->sizes[l];
        size_t w_off, b_off;
        ct_mlp_layer_offsets(spec, l - 1, &w_off, &b_off);
        const float *input = l > 1 ? ws->act[l - 1] : x;
        /* dW = beta dW + dZ^T X ; db = beta db + colsum(dZ) */
        CT_TRY(be->ops->gemm(be, 1, 0, out, in, batch, 1.0f, dz, out, input, in, beta, grad + w_off, in));
        CT_TRY(be->ops->bias_grad(be, batch, out, dz, beta, grad + b_off));
        if (l == 1) break; /* the input needs no gradient */
        /* dX = dZ W, then through the previous layer's ReLU (its output is act[l-1]). */
        float *dx = ws->delta[(l - 1) & 1];
        CT_TRY(be->ops->gemm(be, 0, 0, batch, in, out, 1.0f, dz, out, params + w_off, in, 0.0f, dx, in));
        CT_TRY(be->ops->act_backward(be, CT_ACT_RELU, (size_t)batch * in, ws->act[l - 1], dx));
        dz = dx;
    }
    return CT_OK;
}
