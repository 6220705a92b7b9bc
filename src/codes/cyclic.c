/* Cyclic repetition (Tandon, Lei, Dimakis, Karampatziakis 2017): worker i
 * holds {i, ..., i+s} mod n and sends one combination b_i of them. Take an
 * s x n matrix H with H 1 = 0 and let b_i be the vector on that window with
 * b_i[i] = 1 and H b_i = 0. Every b_i lies in null(H), which has dimension
 * n - s and contains 1; when any n - s rows of B are independent (true for a
 * generic H) they span null(H), so any n - s workers can decode 1^T.
 * This file draws H at random (Tandon's construction); cyclic_mds.c picks a
 * deterministic real Fourier H (not better conditioned at every n:
 * docs/schemes.md). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

/* Dense rows (n x n, row-major) of the cyclic B for H; shared with the
 * cyclic-mds search. */
ct_status ct_cyclic_rows_from_H(int n, int s, const double *H, double *B) {
    double *M = malloc((size_t)(s ? s * s : 1) * sizeof(double));
    double *x = malloc((size_t)(s ? s : 1) * sizeof(double));
    lapack_int *piv = malloc((size_t)(s ? s : 1) * sizeof(lapack_int));
    if (!M || !x || !piv) { free(M); free(x); free(piv); return CT_FAIL(CT_ERR_NOMEM, "cyclic: out of memory"); }
    ct_status st = CT_OK;
    for (size_t q = 0; q < (size_t)n * n; q++) B[q] = 0.0;
    for (int i = 0; i < n && st == CT_OK; i++) {
        B[(size_t)i * n + i] = 1.0;
        if (s == 0) continue;
        for (int j = 1; j <= s; j++)
            for (int r = 0; r < s; r++) M[r + (size_t)(j - 1) * s] = H[(size_t)r * n + (i + j) % n];
        for (int r = 0; r < s; r++) x[r] = -H[(size_t)r * n + i];
        lapack_int info = LAPACKE_dgesv(LAPACK_COL_MAJOR, s, 1, M, s, piv, x, s);
        if (info != 0) { st = CT_FAIL(CT_ERR_NUMERIC, "cyclic: H on the window of worker %d is singular", i); break; }
        for (int j = 1; j <= s; j++) B[(size_t)i * n + (i + j) % n] = x[j - 1];
    }
    free(M); free(x); free(piv);
    return st;
}

/* Worst 2-norm condition number of B_F over straggler sets of size s: all of
 * them when there are few, else `samples` seeded random ones. */
double ct_cyclic_worst_cond(int n, int s, const double *B, uint64_t seed) {
    int f = n - s;
    double total = ct_binomial(n, s), worst = 0.0;
    int exhaustive = total <= 2000, count = exhaustive ? (int)total : 64;
    double *A = malloc((size_t)f * n * sizeof(double)), *sv = malloc((size_t)f * sizeof(double));
    double *sup = malloc((size_t)f * sizeof(double));
    int *idx = malloc((size_t)n * sizeof(int));
    if (!A || !sv || !sup || !idx) { free(A); free(sv); free(sup); free(idx); return INFINITY; }
    ct_rng rng;
    ct_rng_seed(&rng, seed);
    for (int i = 0; i < s; i++) idx[i] = i; /* first combination, lexicographic */
    for (int q = 0; q < count; q++) {
        unsigned char strag[CT_CODE_MAX_WORKERS] = {0};
        if (exhaustive) {
            for (int i = 0; i < s; i++) strag[idx[i]] = 1;
            int i = s - 1;
            while (i >= 0 && idx[i] == n - s + i) i--;
            if (i >= 0) { idx[i]++; for (int j = i + 1; j < s; j++) idx[j] = idx[j - 1] + 1; }
        } else {
            for (int got = 0; got < s;) { int w = (int)ct_rng_below(&rng, (uint64_t)n); if (!strag[w]) { strag[w] = 1; got++; } }
        }
        int row = 0;
        for (int w = 0; w < n; w++) /* column-major n x f: column = a surviving row of B */
            if (!strag[w]) { memcpy(A + (size_t)row * n, B + (size_t)w * n, (size_t)n * sizeof(double)); row++; }
        if (LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', n, f, A, n, sv, NULL, 1, NULL, 1, sup) != 0) return INFINITY;
        double cnd = sv[f - 1] > 0 ? sv[0] / sv[f - 1] : INFINITY;
        if (cnd > worst) worst = cnd;
    }
    free(A); free(sv); free(sup); free(idx);
    return worst;
}

ct_status ct_code_cyclic_fill_from_H(ct_code *c, const double *H) {
    int n = c->n, s = c->s;
    CT_TRY(ct_code_layout_uniform(c, n, s + 1, 1));
    double *M = malloc((size_t)(s ? s * s : 1) * sizeof(double));
    double *x = malloc((size_t)(s ? s : 1) * sizeof(double));
    lapack_int *piv = malloc((size_t)(s ? s : 1) * sizeof(lapack_int));
    if (!M || !x || !piv) { free(M); free(x); free(piv); return CT_FAIL(CT_ERR_NOMEM, "cyclic: out of memory"); }
    ct_status st = CT_OK;
    for (int i = 0; i < n && st == CT_OK; i++) {
        int *p = CT_PARTS(c, i);
        float *e = CT_ENC(c, i);
        for (int j = 0; j <= s; j++) p[j] = (i + j) % n;
        e[0] = 1.0f;
        if (s == 0) continue;
        /* H[:, window] x = -H[:, i], column-major s x s */
        for (int j = 1; j <= s; j++)
            for (int r = 0; r < s; r++) M[r + (size_t)(j - 1) * s] = H[(size_t)r * n + (i + j) % n];
        for (int r = 0; r < s; r++) x[r] = -H[(size_t)r * n + i];
        lapack_int info = LAPACKE_dgesv(LAPACK_COL_MAJOR, s, 1, M, s, piv, x, s);
        if (info != 0) {
            st = CT_FAIL(CT_ERR_NUMERIC, "%s: H restricted to the window of worker %d is singular (info=%d)",
                         ct_code_scheme_name(c->spec.scheme), i, (int)info);
            break;
        }
        for (int j = 1; j <= s; j++) e[j] = (float)x[j - 1];
    }
    free(M); free(x); free(piv);
    return st;
}

ct_status ct_code_check_cyclic_spec(ct_code *c) {
    const char *name = ct_code_scheme_name(c->spec.scheme);
    if (c->spec.load != 0 && c->spec.load != c->s + 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: load d=%d must equal s+1=%d", name, c->spec.load, c->s + 1);
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: messages m=%d must be 1", name, c->spec.messages);
    c->spec.load = c->s + 1;
    c->spec.messages = 1;
    c->exact = 1;
    c->exact_rank = c->n - c->s; /* dim null(H): any n - s windows are a basis */
    c->bound_kind = CT_BOUND_EXACT;
    return CT_OK;
}

ct_status ct_code_build_cyclic(ct_code *c) {
    int n = c->n, s = c->s;
    CT_TRY(ct_code_check_cyclic_spec(c));
    double *H = malloc((size_t)(s ? s : 1) * n * sizeof(double));
    if (!H) return CT_FAIL(CT_ERR_NOMEM, "cyclic: out of memory for H (%d x %d)", s, n);
    /* A single Gaussian draw is exact in real arithmetic but, in float, some
     * straggler patterns can be too ill-conditioned to decode; for n <= 64 we
     * draw 8 seeded H and keep the one whose worst pattern is best conditioned. */
    int draws = s == 0 ? 1 : n <= 16 ? 32 : n <= 64 ? 8 : 1;
    double *best = malloc((size_t)(s ? s : 1) * n * sizeof(double));
    double *B = draws > 1 ? malloc((size_t)n * n * sizeof(double)) : NULL;
    if (!best || (draws > 1 && !B)) { free(H); free(best); free(B); return CT_FAIL(CT_ERR_NOMEM, "cyclic: out of memory"); }
    ct_rng rng;
    ct_rng_seed(&rng, c->spec.seed ^ 0xC7C11Cull);
    double best_cond = INFINITY;
    for (int q = 0; q < draws; q++) {
        for (int r = 0; r < s; r++) {
            double sum = 0.0;
            for (int t = 0; t < n - 1; t++) { H[(size_t)r * n + t] = ct_rng_normal(&rng); sum += H[(size_t)r * n + t]; }
            H[(size_t)r * n + n - 1] = -sum; /* H 1 = 0 */
        }
        double w = 0.0;
        if (draws > 1) {
            if (ct_cyclic_rows_from_H(n, s, H, B) != CT_OK) { ct_error_clear(); continue; }
            w = ct_cyclic_worst_cond(n, s, B, c->spec.seed + q);
        }
        if (q == 0 || w < best_cond) { best_cond = w; memcpy(best, H, (size_t)s * n * sizeof(double)); }
    }
    ct_status st = ct_code_cyclic_fill_from_H(c, best);
    free(H); free(best); free(B);
    return st;
}
