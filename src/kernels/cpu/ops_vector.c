/* CPU reference: vector ops. Reductions accumulate in double, in several
 * independent partial sums so that they vectorise without -ffast-math. */
#include "kernels/cpu/cpu_internal.h"
CT_CPU_VECTORIZE

#include <math.h>
#include <string.h>

#define CT_LANES 8 /* independent partial sums per reduction */

ct_status ct_cpu_fill(ct_backend *be, size_t n, float value, float *x) {
    if (n == 0) return CT_OK;
    if (!x) return CT_FAIL(CT_ERR_INVALID_ARG, "fill: x is NULL");
    float *restrict xx = x;
    for (size_t i = 0; i < n; i++) xx[i] = value;
    return CT_OK;
}

ct_status ct_cpu_scale(ct_backend *be, size_t n, float a, float *x) {
    if (n == 0) return CT_OK;
    if (!x) return CT_FAIL(CT_ERR_INVALID_ARG, "scale: x is NULL");
    float *restrict xx = x;
    for (size_t i = 0; i < n; i++) xx[i] *= a;
    return CT_OK;
}

ct_status ct_cpu_axpy(ct_backend *be, size_t n, float a, const float *x, float *y) {
    if (n == 0) return CT_OK;
    if (!x || !y) return CT_FAIL(CT_ERR_INVALID_ARG, "axpy: NULL %s", x ? "y" : "x");
    const float *restrict xx = x;
    float *restrict yy = y;
    for (size_t i = 0; i < n; i++) yy[i] += a * xx[i];
    return CT_OK;
}

static double sum_squares(size_t n, const float *restrict x) {
    double acc[CT_LANES] = {0};
    size_t i = 0;
    for (; i + CT_LANES <= n; i += CT_LANES)
        for (int k = 0; k < CT_LANES; k++) acc[k] += (double)x[i + k] * (double)x[i + k];
    double s = 0;
    for (; i < n; i++) s += (double)x[i] * (double)x[i];
    for (int k = 0; k < CT_LANES; k++) s += acc[k];
    return s;
}

ct_status ct_cpu_nrm2(ct_backend *be, size_t n, const float *x, double *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "nrm2: out is NULL");
    if (n > 0 && !x) return CT_FAIL(CT_ERR_INVALID_ARG, "nrm2: x is NULL");
    *out = n ? sqrt(sum_squares(n, x)) : 0.0;
    return CT_OK;
}

ct_status ct_cpu_dot(ct_backend *be, size_t n, const float *x, const float *y, double *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "dot: out is NULL");
    if (n > 0 && (!x || !y)) return CT_FAIL(CT_ERR_INVALID_ARG, "dot: NULL %s", x ? "y" : "x");
    const float *restrict xx = x, *restrict yy = y;
    double acc[CT_LANES] = {0};
    size_t i = 0;
    for (; i + CT_LANES <= n; i += CT_LANES)
        for (int k = 0; k < CT_LANES; k++) acc[k] += (double)xx[i + k] * (double)yy[i + k];
    double s = 0;
    for (; i < n; i++) s += (double)xx[i] * (double)yy[i];
    for (int k = 0; k < CT_LANES; k++) s += acc[k];
    *out = s;
    return CT_OK;
}

ct_status ct_cpu_all_finite(ct_backend *be, size_t n, const float *x, int *ok) {
    if (!ok) return CT_FAIL(CT_ERR_INVALID_ARG, "all_finite: ok is NULL");
    if (n > 0 && !x) return CT_FAIL(CT_ERR_INVALID_ARG, "all_finite: x is NULL");
    /* integer test of the exponent field (all ones = inf or NaN): an OR
     * reduction that vectorises, unlike isfinite() on floats */
    const float *restrict xx = x;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &xx[i], sizeof u);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    *ok = bad == 0;
    return CT_OK;
}

ct_status ct_cpu_flag_nonfinite(ct_backend *be, size_t n, const float *x, int *flag) {
    if (!flag) return CT_FAIL(CT_ERR_INVALID_ARG, "flag_nonfinite: flag is NULL");
    int ok = 1;
    CT_TRY(ct_cpu_all_finite(be, n, x, &ok));
    if (!ok) *flag = 1;
    return CT_OK;
}
