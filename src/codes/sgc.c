/* Stochastic gradient coding (Bitar, Wootters, El Rouayheb): each partition
 * is on d workers, each worker holds d partitions and sends the plain sum;
 * the master sums the arrivals times 1/(d(1-p)), p the straggle probability,
 * which is unbiased when each worker straggles independently with
 * probability p. "Pairwise balanced" (every two workers share about the same
 * number of partitions) is our reconstruction: a circulant assignment whose
 * offset set has the flattest difference histogram among seeded random sets
 * (a perfect difference set when one exists and is found). */
#include <stdlib.h>

#include "codes/code_internal.h"

static ct_status ct_sgc_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    double scale = 1.0 / (c->spec.load * (1.0 - c->spec.straggle_prob));
    for (int i = 0; i < c->n; i++)
        if (ct_mask_test(arrived, i)) out->coeffs[i] = scale;
    out->status = CT_DECODE_APPROX;
    return CT_OK;
}

ct_status ct_code_build_sgc(ct_code *c) {
    int n = c->n;
    int d = c->spec.load ? c->spec.load : c->s + 1;
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "sgc: messages m=%d must be 1", c->spec.messages);
    if (c->spec.straggle_prob < 0) c->spec.straggle_prob = (double)c->s / n;
    c->spec.load = d;
    c->spec.messages = 1;
    int *o = malloc((size_t)d * sizeof(int));
    if (!o) return CT_FAIL(CT_ERR_NOMEM, "sgc: out of memory");
    ct_status st = ct_code_circulant_offsets(n, d, c->spec.seed ^ 0x5C6ull, 96, 1, o, &c->lambda2);
    if (st == CT_OK) st = ct_code_layout_uniform(c, n, d, 1);
    if (st == CT_OK)
        for (int i = 0; i < n; i++)
            for (int q = 0; q < d; q++) { CT_PARTS(c, i)[q] = (i + o[q]) % n; CT_ENC(c, i)[q] = 1.0f; }
    free(o);
    CT_TRY(st);
    c->exact = 0;
    c->decode = ct_sgc_decode;
    return CT_OK;
}
