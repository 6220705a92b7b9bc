/* ldgm: a low-weight sparse code with a peeling decoder (our reconstruction
 * of the setting of Soto, Ilmer, Guan, Li, "Lightweight projective derivative
 * codes", ICML 2022, from its abstract). Systematic LDGM layout:
 *   k = n - s units (data partitions);
 *   workers 0..k-1 are systematic: worker i holds unit i and sends it;
 *   workers k..n-1 are parity workers: each holds w units and sends their sum.
 * Peeling needs degree-one messages to start, which the systematic workers
 * supply; a parity message repairs a missing unit once its other w-1 units
 * are known. Parity units are chosen greedily to maximise distinct coverage
 * (least-covered units first) and to minimise overlap (two parity workers
 * share as few units as possible), with seeded random tie-breaks.
 * Decoders: fixed (default) = peeling only; optimal = peeling, then every
 * unit in the row space of B_F by least squares (rank completion). */
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

static ct_status ct_ldgm_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    CT_TRY(ct_code_peel(c, arrived, out->recovered, out->coeffs));
    int got = 0;
    for (int j = 0; j < c->k; j++) got += out->recovered[j];
    if (got < c->k && c->spec.decoder == CT_DECODER_OPTIMAL) {
        double *target = malloc((size_t)c->k * sizeof(double));
        if (!target) return CT_FAIL(CT_ERR_NOMEM, "ldgm decode: out of memory");
        ct_status st = ct_code_rank_recoverable(c, arrived, out->recovered);
        if (st == CT_OK) {
            got = 0;
            for (int j = 0; j < c->k; j++) { target[j] = out->recovered[j]; got += out->recovered[j]; }
            st = ct_code_lstsq(c, arrived, target, out->coeffs, &out->condition);
        }
        free(target);
        CT_TRY(st);
    }
    out->has_recovered = 1;
    out->status = got == c->k ? CT_DECODE_EXACT : got > 0 ? CT_DECODE_APPROX : CT_DECODE_NONE;
    return CT_OK;
}

static int ct_ldgm_decodable(const ct_code *c, const uint64_t *arrived) {
    if (ct_code_workers_arrived(c, arrived) >= c->n - c->s) return 1;
    unsigned char *flags = malloc((size_t)c->k);
    if (!flags) return 0;
    int all = 0;
    if (ct_code_peel(c, arrived, flags, NULL) == CT_OK) {
        all = 1;
        for (int j = 0; j < c->k && all; j++) all = flags[j];
    }
    free(flags);
    return all;
}

ct_status ct_code_build_ldgm(ct_code *c) {
    int n = c->n, s = c->s, k = n - s;
    int w = c->spec.ldgm_weight ? c->spec.ldgm_weight : c->spec.load ? c->spec.load : (k < 3 ? k : 3);
    if (w > k)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ldgm: weight w=%d must be <= k = n - s = %d units", w, k);
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ldgm: messages m=%d must be 1", c->spec.messages);
    c->spec.ldgm_weight = w;
    c->spec.load = w;
    c->spec.messages = 1;
    if (c->spec.decoder == CT_DECODER_DEFAULT) c->spec.decoder = CT_DECODER_FIXED;
    int *load = malloc((size_t)n * sizeof(int)), *msgs = malloc((size_t)n * sizeof(int));
    int *cover = calloc((size_t)k, sizeof(int));
    /* pairwise co-occurrence among parity workers, only where it stays small */
    unsigned char *pair = k <= 2048 ? calloc((size_t)k * k, 1) : NULL;
    if (!load || !msgs || !cover || (k <= 2048 && !pair)) {
        free(load); free(msgs); free(cover); free(pair);
        return CT_FAIL(CT_ERR_NOMEM, "ldgm: out of memory");
    }
    for (int i = 0; i < n; i++) { load[i] = i < k ? 1 : w; msgs[i] = 1; }
    ct_status st = ct_code_layout(c, k, load, msgs);
    ct_rng rng;
    ct_rng_seed(&rng, c->spec.seed ^ 0x1D6Dull);
    for (int i = 0; i < n && st == CT_OK; i++) {
        int *p = CT_PARTS(c, i);
        float *e = CT_ENC(c, i);
        if (i < k) { p[0] = i; e[0] = 1.0f; continue; }
        for (int q = 0; q < w; q++) {
            double best = 1e300;
            int bu = -1;
            for (int u = 0; u < k; u++) {
                int taken = 0, ov = 0;
                for (int r = 0; r < q; r++) {
                    if (p[r] == u) taken = 1;
                    if (pair) ov += pair[(size_t)p[r] * k + u];
                }
                if (taken) continue;
                double score = 4.0 * cover[u] + 2.0 * ov + ct_rng_uniform(&rng);
                if (score < best) { best = score; bu = u; }
            }
            p[q] = bu;
            e[q] = 1.0f;
            cover[bu]++;
        }
        if (pair)
            for (int a = 0; a < w; a++)
                for (int b = 0; b < w; b++)
                    if (a != b && pair[(size_t)p[a] * k + p[b]] < 255) pair[(size_t)p[a] * k + p[b]]++;
    }
    free(load); free(msgs); free(cover); free(pair);
    CT_TRY(st);
    c->exact = 0;
    c->decode = ct_ldgm_decode;
    c->decodable = ct_ldgm_decodable;
    return CT_OK;
}
