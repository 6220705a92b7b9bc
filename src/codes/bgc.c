/* Bernoulli gradient code (Charles, Papailiopoulos, Ellenberg 2017): k = n,
 * worker i holds partition j independently with probability d/n (at least
 * one partition each) and sends the plain sum. Default decoder: optimal
 * (least squares, a^T B_F closest to 1); fixed: a = n/(|F| d). */
#include <stdlib.h>

#include "codes/code_internal.h"

static ct_status ct_bgc_fixed_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    int f = ct_code_slots_arrived(c, arrived);
    for (int i = 0; i < c->n; i++)
        if (ct_mask_test(arrived, i)) out->coeffs[i] = (double)c->n / ((double)f * c->spec.load);
    out->status = CT_DECODE_APPROX;
    return CT_OK;
}

ct_status ct_code_build_bgc(ct_code *c) {
    int n = c->n;
    int d = c->spec.load ? c->spec.load : c->s + 1;
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "bgc: messages m=%d must be 1", c->spec.messages);
    c->spec.load = d;
    c->spec.messages = 1;
    if (c->spec.decoder == CT_DECODER_DEFAULT) c->spec.decoder = CT_DECODER_OPTIMAL;
    unsigned char *A = calloc((size_t)n * n, 1);
    int *load = calloc((size_t)n, sizeof(int)), *msgs = calloc((size_t)n, sizeof(int));
    if (!A || !load || !msgs) { free(A); free(load); free(msgs); return CT_FAIL(CT_ERR_NOMEM, "bgc: out of memory"); }
    ct_rng rng;
    ct_rng_seed(&rng, c->spec.seed ^ 0xB6Cull);
    double p = (double)d / n;
    for (int i = 0; i < n; i++) {
        load[i] = 0;
        msgs[i] = 1;
        for (int j = 0; j < n; j++)
            if (ct_rng_uniform(&rng) < p) { A[(size_t)i * n + j] = 1; load[i]++; }
        if (load[i] == 0) { A[(size_t)i * n + ct_rng_below(&rng, (uint64_t)n)] = 1; load[i] = 1; }
    }
    ct_status st = ct_code_layout(c, n, load, msgs);
    if (st == CT_OK)
        for (int i = 0; i < n; i++) {
            int q = 0;
            for (int j = 0; j < n; j++)
                if (A[(size_t)i * n + j]) { CT_PARTS(c, i)[q] = j; CT_ENC(c, i)[q] = 1.0f; q++; }
        }
    free(A); free(load); free(msgs);
    CT_TRY(st);
    c->exact = 0;
    if (c->spec.decoder == CT_DECODER_FIXED) c->decode = ct_bgc_fixed_decode;
    /* lambda2 is informative only; skip the SVD where it would dominate create */
    return n <= 512 ? ct_code_support_lambda2(c, &c->lambda2) : CT_OK;
}
