/* Validation of a convolution / pooling geometry, shared by both backends and the model. */
#include "kernels/backend.h"

ct_status ct_conv_geom_check(const char *who, const ct_conv_geom *g) {
    if (!g) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: geometry is NULL", who);
    if (g->c < 1 || g->h < 1 || g->w < 1 || g->kh < 1 || g->kw < 1 || g->stride < 1 || g->pad < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: bad geometry c=%d h=%d w=%d kernel %dx%d stride %d pad %d", who, g->c,
                       g->h, g->w, g->kh, g->kw, g->stride, g->pad);
    /* the window must fit the padded input at least once */
    if (g->kh > g->h + 2 * g->pad || g->kw > g->w + 2 * g->pad)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: kernel %dx%d larger than the padded input %dx%d", who, g->kh, g->kw,
                       g->h + 2 * g->pad, g->w + 2 * g->pad);
    const int oh = (g->h + 2 * g->pad - g->kh) / g->stride + 1, ow = (g->w + 2 * g->pad - g->kw) / g->stride + 1;
    if (g->oh != oh || g->ow != ow)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: output %dx%d, but the geometry gives %dx%d", who, g->oh, g->ow, oh, ow);
    return CT_OK;
}
