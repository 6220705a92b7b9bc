/* The cpu-streams backend's convolution and pooling ops: the geometry (a host
 * struct) is copied at enqueue time, then the CPU reference op runs on the
 * context's stream, as the CUDA ops do. */
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/streams_internal.h"

/* op codes within CS_K_CONV */
enum { C_IM2COL, C_COL2IM, C_MAXF, C_MAXB, C_AVGF, C_AVGB };

static ct_status run_geom(const cs_op *o) {
    const ct_conv_geom *g = o->heap;
    const int b = o->i[1];
    switch (o->i[0]) {
    case C_IM2COL: return ct_cpu_im2col(NULL, g, b, o->p[0], (float *)o->p[1]);
    case C_COL2IM: return ct_cpu_col2im(NULL, g, b, o->p[0], (float *)o->p[1]);
    case C_MAXF: return ct_cpu_maxpool_forward(NULL, g, b, o->p[0], (float *)o->p[1], (int32_t *)o->p[2]);
    case C_MAXB: return ct_cpu_maxpool_backward(NULL, g, b, o->p[0], o->p[2], (float *)o->p[1]);
    case C_AVGF: return ct_cpu_avgpool_forward(NULL, g, b, o->p[0], (float *)o->p[1]);
    default: return ct_cpu_avgpool_backward(NULL, g, b, o->p[0], (float *)o->p[1]);
    }
}

static ct_status enqueue_geom(ct_backend *be, int code, const ct_conv_geom *g, int batch, const void *in, void *out,
                              const void *aux, const char *what) {
    CT_TRY(ct_conv_geom_check(what, g));
    ct_conv_geom *copy = malloc(sizeof *copy);
    if (!copy) return CT_FAIL(CT_ERR_NOMEM, "cpu-streams %s: out of memory", what);
    *copy = *g;
    cs_op op = {.run = run_geom, .kernel = CS_K_CONV, .i = {code, batch}, .p = {in, out, aux}, .heap = copy,
                .heap_bytes = sizeof *copy};
    return cs_enqueue(cs(be), &op, what);
}

static ct_status cs_im2col(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *col) {
    return enqueue_geom(be, C_IM2COL, g, batch, x, col, NULL, "im2col");
}
static ct_status cs_col2im(ct_backend *be, const ct_conv_geom *g, int batch, const float *col, float *dx) {
    return enqueue_geom(be, C_COL2IM, g, batch, col, dx, NULL, "col2im");
}
static ct_status cs_maxf(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y, int32_t *arg) {
    return enqueue_geom(be, C_MAXF, g, batch, x, y, arg, "maxpool_forward");
}
static ct_status cs_maxb(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy, const int32_t *arg,
                         float *dx) {
    return enqueue_geom(be, C_MAXB, g, batch, dy, dx, arg, "maxpool_backward");
}
static ct_status cs_avgf(ct_backend *be, const ct_conv_geom *g, int batch, const float *x, float *y) {
    return enqueue_geom(be, C_AVGF, g, batch, x, y, NULL, "avgpool_forward");
}
static ct_status cs_avgb(ct_backend *be, const ct_conv_geom *g, int batch, const float *dy, float *dx) {
    return enqueue_geom(be, C_AVGB, g, batch, dy, dx, NULL, "avgpool_backward");
}

static ct_status run_cbias(const cs_op *o) {
    return ct_cpu_channel_bias_act_forward(NULL, (ct_activation)o->i[0], o->i[1], o->i[2], o->i[3], o->p[0],
                                           (float *)o->p[1]);
}
static ct_status cs_cbias(ct_backend *be, ct_activation act, int batch, int channels, int spatial, const float *bias,
                          float *y) {
    cs_op op = {.run = run_cbias, .kernel = CS_K_CONV, .i = {(int)act, batch, channels, spatial}, .p = {bias, y}};
    return cs_enqueue(cs(be), &op, "channel_bias_act_forward");
}

static ct_status run_cbias_grad(const cs_op *o) {
    return ct_cpu_channel_bias_grad(NULL, o->i[0], o->i[1], o->i[2], o->p[0], o->f[0], (float *)o->p[1]);
}
static ct_status cs_cbias_grad(ct_backend *be, int batch, int channels, int spatial, const float *dy, float beta,
                               float *db) {
    cs_op op = {.run = run_cbias_grad, .kernel = CS_K_CONV, .i = {batch, channels, spatial}, .f = {beta},
                .p = {dy, db}};
    return cs_enqueue(cs(be), &op, "channel_bias_grad");
}

void cs_fill_conv_ops(ct_backend_ops *o) {
    o->im2col = cs_im2col;
    o->col2im = cs_col2im;
    o->channel_bias_act_forward = cs_cbias;
    o->channel_bias_grad = cs_cbias_grad;
    o->maxpool_forward = cs_maxf;
    o->maxpool_backward = cs_maxb;
    o->avgpool_forward = cs_avgf;
    o->avgpool_backward = cs_avgb;
}
