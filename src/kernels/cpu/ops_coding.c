/* CPU reference: the coding ops — coded combination, 1-bit sign packing for
 * both quantizers of SCHEMES.md, and unpack-accumulate decoding. The CUDA
 * kernels reproduce these bit for bit where the tests demand it (packed bits,
 * the stochastic draw), so the float expressions here are part of the contract. */
#include "kernels/cpu/cpu_internal.h"
CT_CPU_VECTORIZE

#include <math.h>

#include "codedtrain/rng.h"

/* Columns processed per block in combine: the d input slices of one block
 * (d * 8 KiB at most 512 KiB) stay in L2 while the m outputs are formed. */
#define CT_COMBINE_CHUNK 2048

static void scaled_copy(size_t n, float a, const float *restrict g, float *restrict y) {
    for (size_t i = 0; i < n; i++) y[i] = a * g[i];
}
static void scale_add(size_t n, float beta, float a, const float *restrict g, float *restrict y) {
    for (size_t i = 0; i < n; i++) y[i] = beta * y[i] + a * g[i];
}
static void add_scaled(size_t n, float a, const float *restrict g, float *restrict y) {
    for (size_t i = 0; i < n; i++) y[i] += a * g[i];
}

ct_status ct_cpu_combine(ct_backend *be, int m, int d, const float *E, const float *const *G, size_t P,
                         float *const *Y, float beta) {
    if (m < 1 || m > CT_COMBINE_MAX || d < 1 || d > CT_COMBINE_MAX)
        return CT_FAIL(CT_ERR_INVALID_ARG, "combine: m=%d d=%d, each must be in 1..%d", m, d, CT_COMBINE_MAX);
    if (!E || !G || !Y) return CT_FAIL(CT_ERR_INVALID_ARG, "combine: NULL E, G or Y array");
    if (P == 0) return CT_OK;
    for (int l = 0; l < m; l++) {
        if (!Y[l]) return CT_FAIL(CT_ERR_INVALID_ARG, "combine: Y[%d] is NULL", l);
        for (int j = 0; j < d; j++) {
            if (!G[j]) return CT_FAIL(CT_ERR_INVALID_ARG, "combine: G[%d] is NULL", j);
            if ((const float *)Y[l] == G[j])
                return CT_FAIL(CT_ERR_INVALID_ARG, "combine: Y[%d] aliases G[%d] (outputs must not overlap inputs)", l, j);
        }
    }
    for (size_t off = 0; off < P; off += CT_COMBINE_CHUNK) {
        const size_t len = P - off < CT_COMBINE_CHUNK ? P - off : CT_COMBINE_CHUNK;
        for (int l = 0; l < m; l++) {
            float *y = Y[l] + off;
            const float *e = E + (size_t)l * d;
            /* beta == 0 overwrites, so stale (even NaN) outputs do not leak in */
            if (beta == 0.0f) scaled_copy(len, e[0], G[0] + off, y);
            else if (beta == 1.0f) add_scaled(len, e[0], G[0] + off, y);
            else scale_add(len, beta, e[0], G[0] + off, y);
            for (int j = 1; j < d; j++) add_scaled(len, e[j], G[j] + off, y);
        }
    }
    return CT_OK;
}

/* The stochastic quantizer's uniform draw for coordinate i: 24 bits of the
 * counter hash, exact in float. The CUDA kernel computes the same value. */
static inline float stochastic_uniform(uint64_t seed, size_t i) {
    return (float)(ct_hash64(seed, (uint64_t)i) >> 40) * 0x1p-24f;
}

static ct_status pack_stochastic(size_t P, const float *restrict x, uint64_t seed, uint32_t *restrict bits,
                                 float *scale_out) {
    float scale = 0.0f;
    for (size_t i = 0; i < P; i++) {
        const float a = fabsf(x[i]);
        scale = a > scale ? a : scale;
    }
    const size_t words = (P + 31) / 32;
    for (size_t w = 0; w < words; w++) {
        const size_t base = w * 32;
        const int n = P - base < 32 ? (int)(P - base) : 32;
        uint32_t word = 0;
        if (scale == 0.0f) {
            /* all-zero input: every bit +1, q = 0 * (+1) = 0 */
            word = n == 32 ? 0xffffffffu : ((1u << n) - 1u);
        } else {
            for (int b = 0; b < n; b++) {
                /* P(+1) = (1 + x/R)/2 so that E[q] = R (2 P(+1) - 1) = x */
                const float prob = (1.0f + x[base + b] / scale) * 0.5f;
                word |= (uint32_t)(stochastic_uniform(seed, base + b) < prob) << b;
            }
        }
        bits[w] = word; /* bits past P stay 0 */
    }
    *scale_out = scale;
    return CT_OK;
}

static ct_status pack_sign_ef(size_t P, const float *restrict x, float *restrict e, uint32_t *restrict bits,
                              float *scale_out) {
    /* pass 1: ||p||_1 in double (p = x + e), independent partial sums */
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= P; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += fabs((double)(x[i + k] + e[i + k]));
    double l1 = 0;
    for (; i < P; i++) l1 += fabs((double)(x[i] + e[i]));
    for (int k = 0; k < 8; k++) l1 += acc[k];
    const float scale = P ? (float)(l1 / (double)P) : 0.0f;
    /* pass 2: bits = sign(p) (>= 0 -> +1), e <- p - q with q = +-scale */
    const size_t words = (P + 31) / 32;
    for (size_t w = 0; w < words; w++) {
        const size_t base = w * 32;
        const int n = P - base < 32 ? (int)(P - base) : 32;
        uint32_t word = 0;
        for (int b = 0; b < n; b++) {
            const float p = x[base + b] + e[base + b];
            const int positive = p >= 0.0f;
            word |= (uint32_t)positive << b;
            e[base + b] = positive ? p - scale : p + scale;
        }
        bits[w] = word;
    }
    *scale_out = scale;
    return CT_OK;
}

ct_status ct_cpu_sign_pack(ct_backend *be, ct_quantizer q, size_t P, const float *x, uint64_t seed,
                           float *ef_state, uint32_t *bits, float *scale) {
    if (!scale) return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: scale is NULL");
    if (P > 0 && (!x || !bits)) return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: NULL %s", x ? "bits" : "x");
    switch (q) {
    case CT_QUANT_STOCHASTIC: return pack_stochastic(P, x, seed, bits, scale);
    case CT_QUANT_SIGN_EF:
        if (P > 0 && !ef_state)
            return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: the error-feedback quantizer needs its state buffer (ef_state is NULL)");
        if (ef_state == x) return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: ef_state must not alias x");
        return pack_sign_ef(P, x, ef_state, bits, scale);
    }
    return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: unknown quantizer %d", (int)q);
}

/* Messages are decoded in groups of this many (the CUDA kernel's parameter
 * block holds one group); out is updated once per group. */
#define CT_UNPACK_GROUP CT_COMBINE_MAX

static void unpack_group(int count, const float *restrict a, const uint32_t *const *bits, size_t P,
                         float *restrict out) {
    const size_t words = (P + 31) / 32;
    for (size_t w = 0; w < words; w++) {
        const size_t base = w * 32;
        const int n = P - base < 32 ? (int)(P - base) : 32;
        float acc[32] = {0};
        for (int k = 0; k < count; k++) {
            const uint32_t word = bits[k][w];
            const float ak = a[k];
            for (int b = 0; b < 32; b++) acc[b] += ((word >> b) & 1u) ? ak : -ak;
        }
        for (int b = 0; b < n; b++) out[base + b] += acc[b];
    }
}

ct_status ct_cpu_unpack_accumulate(ct_backend *be, int count, const float *coef, const uint32_t *const *bits,
                                   const float *const *scales, size_t P, float *out) {
    if (count < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "unpack_accumulate: count = %d", count);
    if (count == 0 || P == 0) return CT_OK;
    if (!coef || !bits || !scales || !out)
        return CT_FAIL(CT_ERR_INVALID_ARG, "unpack_accumulate: NULL coef, bits, scales or out");
    for (int k = 0; k < count; k++)
        if (!bits[k] || !scales[k])
            return CT_FAIL(CT_ERR_INVALID_ARG, "unpack_accumulate: message %d has a NULL %s", k, bits[k] ? "scale" : "bits");
    for (int k0 = 0; k0 < count; k0 += CT_UNPACK_GROUP) {
        const int g = count - k0 < CT_UNPACK_GROUP ? count - k0 : CT_UNPACK_GROUP;
        float a[CT_UNPACK_GROUP]; /* coef_k * scale_k, one float product as on the GPU */
        for (int k = 0; k < g; k++) a[k] = coef[k0 + k] * scales[k0 + k][0];
        unpack_group(g, a, bits + k0, P, out);
    }
    return CT_OK;
}
