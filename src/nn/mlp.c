/* The MLP: spec parsing and flat parameter layout; init and the passes are
 * the general model's (model.c) over dense and ReLU modules. */
#include "codedtrain/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
    ct_model_spec m;
    ct_model_from_mlp(spec, &m);
    ct_model_init_params(&m, seed, host_params);
}

/* ---- passes: the general model's, over the MLP as dense and ReLU modules ---- */

struct ct_mlp_workspace {
    ct_model_workspace *model;
};

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
    ct_mlp_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return CT_FAIL(CT_ERR_NOMEM, "MLP workspace: out of memory");
    ct_model_spec m;
    ct_model_from_mlp(spec, &m);
    const ct_status st = ct_model_workspace_create(be, &m, max_batch, &ws->model);
    if (st != CT_OK) {
        free(ws);
        return st;
    }
    *out = ws;
    return CT_OK;
}

void ct_mlp_workspace_destroy(ct_mlp_workspace *ws) {
    if (!ws) return;
    ct_model_workspace_destroy(ws->model);
    free(ws);
}

ct_status ct_mlp_forward(ct_mlp_workspace *ws, const float *params, const float *x, int batch, const float **logits) {
    if (!ws) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_forward: workspace is NULL");
    return ct_model_forward(ws->model, params, x, batch, logits);
}

ct_status ct_mlp_loss_grad(ct_mlp_workspace *ws, const float *params, const float *x, const int32_t *y,
                           const float *w, int batch, float beta, float *grad, float *loss) {
    if (!ws) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_mlp_loss_grad: workspace is NULL");
    return ct_model_loss_grad(ws->model, params, x, y, w, batch, beta, grad, loss);
}
