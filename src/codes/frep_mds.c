/* frep-mds: fractional repetition for every n >= s+1 at load d = s+1, with
 * small MDS blocks absorbing the remainder (docs/schemes.md, "frep-mds").
 *
 * n = q (s+1) + r, 0 <= r <= s. The workers form q blocks; block b has
 * s + D_b distinct workers and owns s + D_b partitions, D_b in {1, 2, 3};
 * local worker i of a block holds the s+1 local partitions {i, ..., i+s} mod
 * (s + D_b) and misses the other D_b - 1. Its message lies in a D_b-dimensional
 * space V_b containing 1 and vanishes on what it misses:
 *   D = 1: V = {constants}: plain sums, as frep;
 *   D = 2: V = {affine functions of z_t}, z equispaced on [-1, 1]:
 *          b_i[t] = z_t - z_miss (two distinct misses give independent rows);
 *   D = 3: V = {real trigonometric polynomials of degree 1 at the s+3 roots of
 *          unity theta_t = 2 pi t/(s+3)} (the real cyclic BCH / MDS code of
 *          Raviv, Tamo, Tandon, Dimakis): b_i[t] = cos(theta_t - c) - cos(h),
 *          c, h the half-sum and half-difference of the two missed angles.
 * Any D vanishing rows of distinct workers span V (hence 1), so a block
 * survives any s stragglers. The r extra workers raise D by one in as many
 * blocks as possible (at most 2 per block); what is left over (r > 2q)
 * repeats existing workers round robin over the blocks (load stays s+1 of
 * k = n - repeats partitions). Decode: per block, the exact solver on its
 * partitions keeping D_b arrived messages (frep groups: one arrival, 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

typedef struct ct_frep_mds_data {
    int blocks;
    int *block_of;   /* [n] block of each worker */
    int *local_of;   /* [n] local index (a repeat carries its original's) */
    int *first_part; /* [blocks + 1] partition offsets */
    int *dim;        /* [blocks] D_b */
} ct_frep_mds_data;

static void ct_frep_mds_free(void *p) {
    ct_frep_mds_data *m = p;
    if (!m) return;
    free(m->block_of); free(m->local_of); free(m->first_part); free(m->dim);
    free(m);
}

/* encoding row of local worker i in a block of size nb = s + D over its
 * s+1 held local partitions i, i+1, ..., i+s (mod nb), max |entry| = 1 */
static void ct_frep_mds_row(int nb, int s, int D, int i, float *e) {
    double v[CT_CODE_MAX_WORKERS + 1], top = 0.0;
    const double two_pi = 6.283185307179586;
    for (int j = 0; j <= s; j++) {
        int t = (i + j) % nb;
        if (D == 1) v[j] = 1.0;
        else if (D == 2) {
            int miss = (i + s + 1) % nb;
            v[j] = (2.0 * t - 2.0 * miss) / (nb - 1); /* z_t - z_miss, z_t = -1 + 2t/(nb-1) */
        } else {
            double a1 = two_pi * ((i + s + 1) % nb) / nb, a2 = two_pi * ((i + s + 2) % nb) / nb;
            v[j] = cos(two_pi * t / nb - 0.5 * (a1 + a2)) - cos(0.5 * (a1 - a2));
        }
        if (fabs(v[j]) > top) top = fabs(v[j]);
    }
    for (int j = 0; j <= s; j++) e[j] = (float)(v[j] / top);
}

static ct_status ct_frep_mds_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    ct_frep_mds_data *m = c->scheme_data;
    int *slots = malloc((size_t)c->n * sizeof(int)), *parts = malloc((size_t)c->k * sizeof(int));
    if (!slots || !parts) { free(slots); free(parts); return CT_FAIL(CT_ERR_NOMEM, "frep-mds decode: out of memory"); }
    ct_status st = CT_OK;
    int all = 1, any = 0;
    for (int b = 0; b < m->blocks && st == CT_OK; b++) {
        int f = 0;
        for (int i = 0; i < c->n; i++) if (m->block_of[i] == b && ct_mask_test(arrived, i)) slots[f++] = i;
        int kc = m->first_part[b + 1] - m->first_part[b];
        for (int j = 0; j < kc; j++) parts[j] = m->first_part[b] + j;
        if (f == 0) { all = 0; continue; }
        any = 1;
        if (m->dim[b] == 1) { out->coeffs[slots[0]] = 1.0; continue; }
        /* D distinct windows are needed; repeats add no new row */
        unsigned char seen[CT_CODE_MAX_WORKERS / 8 + 1] = {0};
        int distinct = 0;
        for (int q = 0; q < f; q++) {
            int l = m->local_of[slots[q]];
            if (!(seen[l >> 3] & (1u << (l & 7)))) { seen[l >> 3] |= (unsigned char)(1u << (l & 7)); distinct++; }
        }
        if (distinct < m->dim[b]) all = 0;
        double cond = 0.0;
        st = ct_code_solve_exact(c, slots, f, parts, kc, m->dim[b], out->coeffs, &cond);
        if (cond > out->condition || isinf(cond)) out->condition = cond;
    }
    free(slots); free(parts);
    out->status = all && any ? CT_DECODE_EXACT : CT_DECODE_NONE;
    return st;
}

static int ct_frep_mds_decodable(const ct_code *c, const uint64_t *arrived) {
    const ct_frep_mds_data *m = c->scheme_data;
    int ok = 1;
    for (int b = 0; b < m->blocks && ok; b++) {
        unsigned char seen[CT_CODE_MAX_WORKERS / 8 + 1] = {0};
        int distinct = 0;
        for (int i = 0; i < c->n; i++) {
            if (m->block_of[i] != b || !ct_mask_test(arrived, i)) continue;
            int l = m->local_of[i];
            if (!(seen[l >> 3] & (1u << (l & 7)))) { seen[l >> 3] |= (unsigned char)(1u << (l & 7)); distinct++; }
        }
        ok = distinct >= m->dim[b];
    }
    return ok;
}

ct_status ct_code_build_frep_mds(ct_code *c) {
    int n = c->n, s = c->s;
    if (c->spec.load != 0 && c->spec.load != s + 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "frep-mds: load d=%d must equal s+1=%d", c->spec.load, s + 1);
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "frep-mds: messages m=%d must be 1", c->spec.messages);
    c->spec.load = s + 1;
    c->spec.messages = 1;
    int q = n / (s + 1), r = n % (s + 1);
    int extra = r < 2 * q ? r : 2 * q, repeats = r - extra;
    ct_frep_mds_data *m = calloc(1, sizeof *m);
    if (!m) return CT_FAIL(CT_ERR_NOMEM, "frep-mds: out of memory");
    c->scheme_data = m;
    c->scheme_free = ct_frep_mds_free;
    m->blocks = q;
    m->block_of = malloc((size_t)n * sizeof(int));
    m->local_of = malloc((size_t)n * sizeof(int));
    m->first_part = malloc((size_t)(q + 1) * sizeof(int));
    m->dim = malloc((size_t)q * sizeof(int));
    if (!m->block_of || !m->local_of || !m->first_part || !m->dim) return CT_FAIL(CT_ERR_NOMEM, "frep-mds: out of memory");
    /* extra workers one per block first (D = 2 is the better conditioned) */
    for (int b = 0; b < q; b++) m->dim[b] = 1 + (b < extra) + (b + q < extra);
    int k = 0, w = 0;
    for (int b = 0; b < q; b++) {
        int nb = s + m->dim[b];
        m->first_part[b] = k;
        for (int i = 0; i < nb; i++, w++) { m->block_of[w] = b; m->local_of[w] = i; }
        k += nb;
    }
    m->first_part[q] = k;
    for (int t = 0; t < repeats; t++, w++) { /* repeat local worker t/q of block t%q */
        m->block_of[w] = t % q;
        m->local_of[w] = (t / q) % (s + m->dim[t % q]);
    }
    CT_TRY(ct_code_layout_uniform(c, k, s + 1, 1));
    for (int i = 0; i < n; i++) {
        int b = m->block_of[i], nb = s + m->dim[b], l = m->local_of[i];
        for (int j = 0; j <= s; j++) CT_PARTS(c, i)[j] = m->first_part[b] + (l + j) % nb;
        ct_frep_mds_row(nb, s, m->dim[b], l, CT_ENC(c, i));
    }
    c->exact = 1;
    c->bound_kind = CT_BOUND_EXACT;
    c->decode = ct_frep_mds_decode;
    c->decodable = ct_frep_mds_decodable;
    return CT_OK;
}
