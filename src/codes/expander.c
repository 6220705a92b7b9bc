/* expander (Raviv et al.; decoders after Glasgow & Wootters): k = n, B = A/d
 * with A the 0/1 assignment of a d-regular bipartite graph. We use circulant
 * graphs, worker i holding {i + o : o in O} mod n: every worker and every
 * partition has degree d, and the singular values of A are |sum_o w^(j o)|
 * (w = e^(2 pi i/n)), so lambda2 is exact and cheap. O is the best of many
 * seeded random d-sets by lambda2.
 * Fixed decoder a = n/|F|: by the mixing argument its error is at most
 * (lambda2/d) sqrt(n s/(n-s)), s = n - |F|; the optimal (least-squares)
 * decoder can only do better. */
#include <math.h>
#include <stdlib.h>

#include "codes/code_internal.h"

static double ct_circulant_lambda2(int n, int d, const int *o) {
    double best = 0.0;
    for (int j = 1; j < n; j++) {
        double re = 0.0, im = 0.0;
        for (int q = 0; q < d; q++) {
            double a = 6.283185307179586 * (double)(((long long)j * o[q]) % n) / n;
            re += cos(a);
            im += sin(a);
        }
        double v = sqrt(re * re + im * im);
        if (v > best) best = v;
    }
    return best;
}

/* max and min over shifts delta != 0 of |O intersect (O + delta)|: how many
 * partitions two workers at distance delta share */
static void ct_circulant_overlap(int n, int d, const int *o, unsigned char *in, int *ov_max, int *ov_min) {
    for (int t = 0; t < n; t++) in[t] = 0;
    for (int q = 0; q < d; q++) in[o[q]] = 1;
    *ov_max = 0;
    *ov_min = d;
    for (int delta = 1; delta < n; delta++) {
        int ov = 0;
        for (int q = 0; q < d; q++) ov += in[(o[q] + delta) % n];
        if (ov > *ov_max) *ov_max = ov;
        if (ov < *ov_min) *ov_min = ov;
    }
}

ct_status ct_code_circulant_offsets(int n, int d, uint64_t seed, int tries, int objective, int *offsets,
                                    double *lambda2) {
    int *perm = malloc((size_t)n * sizeof(int)), *cand = malloc((size_t)d * sizeof(int));
    unsigned char *in = malloc((size_t)n);
    if (!perm || !cand || !in) { free(perm); free(cand); free(in); return CT_FAIL(CT_ERR_NOMEM, "circulant: out of memory"); }
    ct_rng rng;
    ct_rng_seed(&rng, seed);
    double best_l = INFINITY;
    int best_span = 1 << 30, best_max = 1 << 30;
    for (int t = 0; t < tries; t++) {
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int q = 0; q < d; q++) { /* partial Fisher-Yates: a uniform d-subset */
            int r = q + (int)ct_rng_below(&rng, (uint64_t)(n - q));
            int tmp = perm[q]; perm[q] = perm[r]; perm[r] = tmp;
            cand[q] = perm[q];
        }
        double l = ct_circulant_lambda2(n, d, cand);
        int better;
        if (objective == 0) {
            better = l < best_l - 1e-12;
        } else {
            int mx, mn;
            ct_circulant_overlap(n, d, cand, in, &mx, &mn);
            int span = mx - mn;
            better = span < best_span || (span == best_span && (mx < best_max || (mx == best_max && l < best_l - 1e-12)));
            if (better) { best_span = span; best_max = mx; }
        }
        if (better) {
            best_l = l;
            for (int q = 0; q < d; q++) offsets[q] = cand[q];
        }
    }
    /* sort offsets so worker i's partition list starts near i */
    for (int a = 1; a < d; a++)
        for (int b = a; b > 0 && offsets[b - 1] > offsets[b]; b--) { int tmp = offsets[b]; offsets[b] = offsets[b - 1]; offsets[b - 1] = tmp; }
    if (lambda2) *lambda2 = best_l;
    free(perm); free(cand); free(in);
    return CT_OK;
}

static ct_status ct_expander_fixed_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    int f = ct_code_slots_arrived(c, arrived);
    for (int i = 0; i < c->n; i++)
        if (ct_mask_test(arrived, i)) out->coeffs[i] = (double)c->n / f;
    out->status = CT_DECODE_APPROX;
    return CT_OK;
}

ct_status ct_code_build_expander(ct_code *c) {
    int n = c->n;
    int d = c->spec.load ? c->spec.load : c->s + 1;
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "expander: messages m=%d must be 1", c->spec.messages);
    c->spec.load = d;
    c->spec.messages = 1;
    if (c->spec.decoder == CT_DECODER_DEFAULT) c->spec.decoder = CT_DECODER_OPTIMAL;
    int *o = malloc((size_t)d * sizeof(int));
    if (!o) return CT_FAIL(CT_ERR_NOMEM, "expander: out of memory");
    ct_status st = ct_code_circulant_offsets(n, d, c->spec.seed ^ 0xE7A2DE5ull, 96, 0, o, &c->lambda2);
    if (st == CT_OK) st = ct_code_layout_uniform(c, n, d, 1);
    if (st == CT_OK)
        for (int i = 0; i < n; i++)
            for (int q = 0; q < d; q++) { CT_PARTS(c, i)[q] = (i + o[q]) % n; CT_ENC(c, i)[q] = 1.0f / d; }
    free(o);
    CT_TRY(st);
    c->exact = 0;
    c->bound_kind = CT_BOUND_EXPANDER;
    if (c->spec.decoder == CT_DECODER_FIXED) c->decode = ct_expander_fixed_decode;
    return CT_OK;
}
