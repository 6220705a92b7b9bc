/* A float64 reference of the general model (dense, conv, max/avg pool, ReLU,
 * flatten) written as plain loops, independent of the backend ops: forward,
 * the weighted softmax cross-entropy, and its gradient by reverse mode. The
 * tests check it against central finite differences, then the backends
 * against it. Header-only: static functions for the tests that include it. */
#ifndef CT_TEST_REF_MODEL_H
#define CT_TEST_REF_MODEL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"

typedef struct ref_model {
    const ct_model_spec *spec;
    int batch;
    double *act[CT_MODEL_MAX_LAYERS + 1]; /* act[0] input copy, act[i+1] output of module i */
    int *argmax[CT_MODEL_MAX_LAYERS];
} ref_model;

static size_t ref_in_size(const ct_layer *L) { return (size_t)L->in_c * L->in_h * L->in_w; }
static size_t ref_out_size(const ct_layer *L) { return (size_t)L->out_c * L->out_h * L->out_w; }

static void ref_model_init(ref_model *r, const ct_model_spec *spec, int batch) {
    memset(r, 0, sizeof *r);
    r->spec = spec;
    r->batch = batch;
    r->act[0] = calloc((size_t)batch * ref_in_size(&spec->layers[0]), sizeof(double));
    for (int i = 0; i < spec->n_layers; i++) {
        r->act[i + 1] = calloc((size_t)batch * ref_out_size(&spec->layers[i]), sizeof(double));
        r->argmax[i] = calloc((size_t)batch * ref_out_size(&spec->layers[i]), sizeof(int));
    }
}

static void ref_model_free(ref_model *r) {
    for (int i = 0; i <= r->spec->n_layers; i++) free(r->act[i]);
    for (int i = 0; i < r->spec->n_layers; i++) free(r->argmax[i]);
}

/* input pixel of a window tap, or -1 outside (padding) */
static long ref_tap(const ct_layer *L, int c, int oy, int ox, int i, int j) {
    const int iy = oy * L->stride - L->pad + i, ix = ox * L->stride - L->pad + j;
    if (iy < 0 || iy >= L->in_h || ix < 0 || ix >= L->in_w) return -1;
    return ((long)c * L->in_h + iy) * L->in_w + ix;
}

static void ref_model_forward(ref_model *r, const double *params, const double *x) {
    const ct_model_spec *spec = r->spec;
    const int B = r->batch;
    memcpy(r->act[0], x, (size_t)B * ref_in_size(&spec->layers[0]) * sizeof(double));
    for (int m = 0; m < spec->n_layers; m++) {
        const ct_layer *L = &spec->layers[m];
        const size_t nin = ref_in_size(L), nout = ref_out_size(L);
        size_t wo = 0, bo = 0;
        ct_model_layer_params(spec, m, &wo, NULL, &bo, NULL);
        for (int s = 0; s < B; s++) {
            const double *in = r->act[m] + (size_t)s * nin;
            double *out = r->act[m + 1] + (size_t)s * nout;
            int *am = r->argmax[m] + (size_t)s * nout;
            switch (L->kind) {
            case CT_LAYER_DENSE:
                for (int o = 0; o < L->out; o++) {
                    double z = params[bo + o];
                    for (size_t i = 0; i < nin; i++) z += in[i] * params[wo + (size_t)o * nin + i];
                    out[o] = z;
                }
                break;
            case CT_LAYER_CONV:
                for (int oc = 0; oc < L->out; oc++)
                    for (int oy = 0; oy < L->out_h; oy++)
                        for (int ox = 0; ox < L->out_w; ox++) {
                            double z = params[bo + oc];
                            for (int c = 0; c < L->in_c; c++)
                                for (int i = 0; i < L->k; i++)
                                    for (int j = 0; j < L->k; j++) {
                                        const long t = ref_tap(L, c, oy, ox, i, j);
                                        if (t >= 0)
                                            z += in[t] * params[wo + (((size_t)oc * L->in_c + c) * L->k + i) * L->k + j];
                                    }
                            out[((size_t)oc * L->out_h + oy) * L->out_w + ox] = z;
                        }
                break;
            case CT_LAYER_MAXPOOL:
            case CT_LAYER_AVGPOOL:
                for (int c = 0; c < L->in_c; c++)
                    for (int oy = 0; oy < L->out_h; oy++)
                        for (int ox = 0; ox < L->out_w; ox++) {
                            const size_t o = ((size_t)c * L->out_h + oy) * L->out_w + ox;
                            long best = ref_tap(L, c, oy, ox, 0, 0);
                            double acc = 0, mx = in[best];
                            for (int i = 0; i < L->k; i++)
                                for (int j = 0; j < L->k; j++) {
                                    const long t = ref_tap(L, c, oy, ox, i, j);
                                    acc += in[t];
                                    if (in[t] > mx) {
                                        mx = in[t];
                                        best = t;
                                    }
                                }
                            out[o] = L->kind == CT_LAYER_MAXPOOL ? mx : acc / (L->k * L->k);
                            am[o] = (int)best;
                        }
                break;
            case CT_LAYER_RELU:
                for (size_t i = 0; i < nout; i++) out[i] = in[i] > 0 ? in[i] : 0;
                break;
            case CT_LAYER_FLATTEN: memcpy(out, in, nout * sizeof(double)); break;
            }
        }
    }
}

/* loss = sum_s w_s CE_s (w NULL: 1/B each); grad (may be NULL) = its gradient. */
static double ref_model_loss_grad(ref_model *r, const double *params, const double *x, const int32_t *y,
                                  const double *w, double *grad) {
    const ct_model_spec *spec = r->spec;
    const int B = r->batch, n = spec->n_layers, C = spec->classes;
    ref_model_forward(r, params, x);
    size_t widest = ref_in_size(&spec->layers[0]);
    for (int m = 0; m < n; m++)
        if (ref_out_size(&spec->layers[m]) > widest) widest = ref_out_size(&spec->layers[m]);
    double *dy = calloc((size_t)B * widest, sizeof(double)), *dx = calloc((size_t)B * widest, sizeof(double));
    double loss = 0;
    for (int s = 0; s < B; s++) {
        const double *z = r->act[n] + (size_t)s * C;
        double mx = z[0], sum = 0;
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        for (int c = 0; c < C; c++) sum += exp(z[c] - mx);
        const double ws = w ? w[s] : 1.0 / B;
        loss += ws * (log(sum) + mx - z[y[s]]);
        for (int c = 0; c < C; c++) dy[(size_t)s * C + c] = ws * (exp(z[c] - mx) / sum - (c == y[s]));
    }
    if (grad) {
        memset(grad, 0, ct_model_param_count(spec) * sizeof(double));
        for (int m = n - 1; m >= 0; m--) {
            const ct_layer *L = &spec->layers[m];
            const size_t nin = ref_in_size(L), nout = ref_out_size(L);
            size_t wo = 0, bo = 0;
            ct_model_layer_params(spec, m, &wo, NULL, &bo, NULL);
            memset(dx, 0, (size_t)B * nin * sizeof(double));
            for (int s = 0; s < B; s++) {
                const double *in = r->act[m] + (size_t)s * nin, *out = r->act[m + 1] + (size_t)s * nout;
                const double *g = dy + (size_t)s * nout;
                double *gx = dx + (size_t)s * nin;
                const int *am = r->argmax[m] + (size_t)s * nout;
                switch (L->kind) {
                case CT_LAYER_DENSE:
                    for (int o = 0; o < L->out; o++) {
                        grad[bo + o] += g[o];
                        for (size_t i = 0; i < nin; i++) {
                            grad[wo + (size_t)o * nin + i] += g[o] * in[i];
                            gx[i] += g[o] * params[wo + (size_t)o * nin + i];
                        }
                    }
                    break;
                case CT_LAYER_CONV:
                    for (int oc = 0; oc < L->out; oc++)
                        for (int oy = 0; oy < L->out_h; oy++)
                            for (int ox = 0; ox < L->out_w; ox++) {
                                const double go = g[((size_t)oc * L->out_h + oy) * L->out_w + ox];
                                grad[bo + oc] += go;
                                for (int c = 0; c < L->in_c; c++)
                                    for (int i = 0; i < L->k; i++)
                                        for (int j = 0; j < L->k; j++) {
                                            const long t = ref_tap(L, c, oy, ox, i, j);
                                            const size_t wi = wo + (((size_t)oc * L->in_c + c) * L->k + i) * L->k + j;
                                            if (t < 0) continue;
                                            grad[wi] += go * in[t];
                                            gx[t] += go * params[wi];
                                        }
                            }
                    break;
                case CT_LAYER_MAXPOOL:
                    for (size_t o = 0; o < nout; o++) gx[am[o]] += g[o];
                    break;
                case CT_LAYER_AVGPOOL:
                    for (int c = 0; c < L->in_c; c++)
                        for (int oy = 0; oy < L->out_h; oy++)
                            for (int ox = 0; ox < L->out_w; ox++)
                                for (int i = 0; i < L->k; i++)
                                    for (int j = 0; j < L->k; j++)
                                        gx[ref_tap(L, c, oy, ox, i, j)] +=
                                            g[((size_t)c * L->out_h + oy) * L->out_w + ox] / (L->k * L->k);
                    break;
                case CT_LAYER_RELU:
                    for (size_t i = 0; i < nout; i++) gx[i] = out[i] > 0 ? g[i] : 0;
                    break;
                case CT_LAYER_FLATTEN: memcpy(gx, g, nout * sizeof(double)); break;
                }
            }
            double *t = dy;
            dy = dx;
            dx = t;
        }
    }
    free(dy);
    free(dx);
    return loss;
}

#endif
