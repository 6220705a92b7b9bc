/* Shared helpers for the test_codes_* programs: apply decoding coefficients
 * to random partition gradients, the way workers and master would. */
#ifndef CT_TEST_CODES_COMMON_H
#define CT_TEST_CODES_COMMON_H

#include <stdint.h>
#include <string.h>

#include "codedtrain/codes.h"
#include "ct_test.h"

#define CT_TEST_P 8 /* gradient length */

/* Relative error of sum_t a_t y_t against sum_{j in target} g_j (target NULL:
 * all partitions), with float messages y computed from random float g. */
static double ct_test_decode_error(const ct_code *c, const float *a, const unsigned char *target,
                                   unsigned long long *rng) {
    int k = ct_code_n_partitions(c), n = ct_code_n_workers(c);
    float *g = malloc((size_t)k * CT_TEST_P * sizeof(float));
    double want[CT_TEST_P] = {0}, got[CT_TEST_P] = {0};
    if (!g) return INFINITY;
    for (int j = 0; j < k * CT_TEST_P; j++) g[j] = ct_test_uniform(rng, -1.0f, 1.0f);
    for (int j = 0; j < k; j++)
        if (!target || target[j])
            for (int q = 0; q < CT_TEST_P; q++) want[q] += g[j * CT_TEST_P + q];
    for (int i = 0; i < n; i++) {
        int d = ct_code_load(c, i), m = ct_code_messages(c, i);
        const int *p = ct_code_partitions(c, i);
        const float *E = ct_code_encoding(c, i);
        for (int l = 0; l < m; l++) {
            float at = a[ct_code_message_index(c, i, l)];
            if (at == 0.0f) continue;
            for (int q = 0; q < CT_TEST_P; q++) {
                /* the message from the float encoding, accumulated in double so
                 * the check measures the code, not the worker's rounding */
                double y = 0.0;
                for (int j = 0; j < d; j++) y += (double)E[l * d + j] * g[p[j] * CT_TEST_P + q];
                got[q] += (double)at * y;
            }
        }
    }
    double num = 0, den = 0;
    for (int q = 0; q < CT_TEST_P; q++) { num += (got[q] - want[q]) * (got[q] - want[q]); den += want[q] * want[q]; }
    free(g);
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

/* Arrival mask from a worker bitmask (bit i set = worker i straggles). */
static void ct_test_mask_from_stragglers(const ct_code *c, unsigned long long stragglers, uint64_t *mask) {
    memset(mask, 0, (size_t)ct_code_mask_words(c) * sizeof(uint64_t));
    for (int i = 0; i < ct_code_n_workers(c); i++)
        if (!((stragglers >> i) & 1ull)) ct_code_mask_add_worker(c, i, mask);
}

/* ||a^T B_F - 1||_2 unnormalised, computed from the public queries */
static double ct_test_residual(const ct_code *c, const float *a) {
    int k = ct_code_n_partitions(c), n = ct_code_n_workers(c);
    double *w = calloc((size_t)k, sizeof(double)), r = 0.0;
    if (!w) return INFINITY;
    for (int i = 0; i < n; i++) {
        int d = ct_code_load(c, i), m = ct_code_messages(c, i);
        const int *p = ct_code_partitions(c, i);
        const float *E = ct_code_encoding(c, i);
        for (int l = 0; l < m; l++)
            for (int j = 0; j < d; j++) w[p[j]] += (double)a[ct_code_message_index(c, i, l)] * E[l * d + j];
    }
    for (int j = 0; j < k; j++) r += (w[j] - 1.0) * (w[j] - 1.0);
    free(w);
    return sqrt(r);
}

#endif
