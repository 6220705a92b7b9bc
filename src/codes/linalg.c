/* Small dense linear algebra for decoding, through LAPACKE. Everything is
 * double: B_F is small (k x |F|) and the SVD-based solvers stay stable on the
 * rank-deficient and ill-conditioned systems that straggler patterns produce,
 * where normal equations would square the condition number. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

double ct_binomial(int n, int r) {
    if (r < 0 || r > n) return 0.0;
    if (r > n - r) r = n - r;
    double v = 1.0;
    for (int i = 1; i <= r; i++) v = v * (n - r + i) / i;
    return floor(v + 0.5);
}

/* Column-major k x f matrix whose column q is row F[q] of B (so A = B_F^T). */
static int ct_gather_BF(const ct_code *c, const uint64_t *arrived, double *A, int *slots) {
    int f = 0;
    for (int t = 0; t < c->total; t++) {
        if (!ct_mask_test(arrived, t)) continue;
        memcpy(A + (size_t)f * c->k, c->B + (size_t)t * c->k, (size_t)c->k * sizeof(double));
        slots[f++] = t;
    }
    return f;
}

ct_status ct_code_lstsq(const ct_code *c, const uint64_t *arrived, const double *target, double *coeffs,
                        double *cond) {
    int k = c->k;
    int f = ct_code_slots_arrived(c, arrived);
    for (int t = 0; t < c->total; t++) coeffs[t] = 0.0;
    if (cond) *cond = 0.0;
    if (f == 0) return CT_OK;
    int ldb = k > f ? k : f;
    int mn = k < f ? k : f;
    double *A = malloc((size_t)k * f * sizeof(double));
    double *b = malloc((size_t)ldb * sizeof(double));
    double *sv = malloc((size_t)mn * sizeof(double));
    int *slots = malloc((size_t)f * sizeof(int));
    if (!A || !b || !sv || !slots) {
        free(A); free(b); free(sv); free(slots);
        return CT_FAIL(CT_ERR_NOMEM, "decode: out of memory for a %d x %d least-squares system", k, f);
    }
    ct_gather_BF(c, arrived, A, slots);
    for (int j = 0; j < ldb; j++) b[j] = j < k ? (target ? target[j] : 1.0) : 0.0;
    lapack_int rank = 0;
    /* B holds float data: singular values below CT_CODE_RCOND * sigma_max are
     * rounding noise, and keeping them would blow the coefficients up */
    lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, k, f, 1, A, k, b, ldb, sv, CT_CODE_RCOND, &rank);
    ct_status st = CT_OK;
    if (info != 0) {
        st = CT_FAIL(CT_ERR_NUMERIC, "decode: LAPACKE_dgelsd failed (info=%d) on a %d x %d system", (int)info, k, f);
    } else {
        for (int q = 0; q < f; q++) coeffs[slots[q]] = b[q];
        if (cond) *cond = rank > 0 ? sv[0] / sv[rank - 1] : INFINITY;
    }
    free(A); free(b); free(sv); free(slots);
    return st;
}

ct_status ct_code_rank_recoverable(const ct_code *c, const uint64_t *arrived, unsigned char *flags) {
    int k = c->k;
    memset(flags, 0, (size_t)k);
    int f = ct_code_slots_arrived(c, arrived);
    if (f == 0) return CT_OK;
    int mn = k < f ? k : f;
    double *A = malloc((size_t)k * f * sizeof(double));
    double *U = malloc((size_t)k * mn * sizeof(double));
    double *sv = malloc((size_t)mn * sizeof(double));
    double *superb = malloc((size_t)(mn > 1 ? mn : 2) * sizeof(double));
    int *slots = malloc((size_t)f * sizeof(int));
    ct_status st = CT_OK;
    if (!A || !U || !sv || !superb || !slots) {
        st = CT_FAIL(CT_ERR_NOMEM, "rank: out of memory for a %d x %d matrix", k, f);
        goto done;
    }
    ct_gather_BF(c, arrived, A, slots);
    /* the left singular vectors of B_F^T with nonzero singular value span the
     * row space of B_F; e_j lies in it iff its projection has norm 1 */
    lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'S', 'N', k, f, A, k, sv, U, k, NULL, 1, superb);
    if (info != 0) {
        st = CT_FAIL(CT_ERR_NUMERIC, "rank: LAPACKE_dgesvd failed (info=%d)", (int)info);
        goto done;
    }
    int rank = 0;
    for (int r = 0; r < mn; r++) rank += sv[r] > CT_CODE_RCOND * sv[0];
    for (int j = 0; j < k; j++) {
        double p = 0.0;
        for (int r = 0; r < rank; r++) p += U[j + (size_t)r * k] * U[j + (size_t)r * k];
        flags[j] = p > 1.0 - 1e-6;
    }
done:
    free(A); free(U); free(sv); free(superb); free(slots);
    return st;
}

ct_status ct_code_support_lambda2(const ct_code *c, double *lambda2) {
    int n = c->n, k = c->k, mn = n < k ? n : k;
    *lambda2 = 0.0;
    if (mn < 2) return CT_OK;
    double *A = calloc((size_t)n * k, sizeof(double));
    double *sv = malloc((size_t)mn * sizeof(double));
    double *superb = malloc((size_t)mn * sizeof(double));
    if (!A || !sv || !superb) {
        free(A); free(sv); free(superb);
        return CT_FAIL(CT_ERR_NOMEM, "lambda2: out of memory (%d x %d)", n, k);
    }
    for (int i = 0; i < n; i++) /* column-major n x k */
        for (int j = 0; j < c->load[i]; j++) A[i + (size_t)c->parts[c->part_off[i] + j] * n] = 1.0;
    lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', n, k, A, n, sv, NULL, 1, NULL, 1, superb);
    ct_status st = CT_OK;
    if (info != 0) st = CT_FAIL(CT_ERR_NUMERIC, "lambda2: LAPACKE_dgesvd failed (info=%d)", (int)info);
    else *lambda2 = sv[1];
    free(A); free(sv); free(superb);
    return st;
}

/* Exact decode on a decodable subset (docs/schemes.md, "Decoding exact codes").
 * The SVD cut of ct_code_lstsq drops small singular values as float noise,
 * but on an ill-conditioned straggler pattern of an exact code that direction
 * is the one the decode needs. Here nothing is cut: when more than `want`
 * messages arrived, QR with column pivoting keeps the `want` most independent
 * ones (a square-in-rank system for an exact code); that system is solved by
 * Householder QR in double and refined once on a residual accumulated in long
 * double. Falls back to least squares when the kept system is singular. */
#define CT_EXACT_SVD_COND_MAX 512 /* exact 2-norm condition up to this size */
ct_status ct_code_solve_exact(const ct_code *c, const int *slots, int f, const int *parts, int kc, int want,
                              double *coeffs, double *cond) {
    if (cond) *cond = 0.0;
    if (f <= 0 || kc <= 0) return CT_OK;
    int p = want < f ? want : f;
    if (p < 1) p = 1;
    if (p > kc) p = kc; /* more unknowns than equations: keep a square system */
    double *A = malloc((size_t)kc * f * sizeof(double));
    double *R = malloc((size_t)kc * p * sizeof(double));
    double *x = malloc((size_t)kc * sizeof(double)), *sol = malloc((size_t)p * sizeof(double));
    double *tau = malloc((size_t)(kc < f ? kc : f) * sizeof(double));
    lapack_int *jpvt = calloc((size_t)f, sizeof(lapack_int));
    int *use = malloc((size_t)p * sizeof(int));
    ct_status st = CT_OK;
    if (!A || !R || !x || !sol || !tau || !jpvt || !use) {
        st = CT_FAIL(CT_ERR_NOMEM, "decode: out of memory for a %d x %d exact system", kc, f);
        goto done;
    }
    for (int q = 0; q < f; q++)
        for (int j = 0; j < kc; j++) A[j + (size_t)q * kc] = c->B[(size_t)slots[q] * c->k + parts[j]];
    if (p < f) { /* pick the p most independent arrived messages */
        lapack_int info = LAPACKE_dgeqp3(LAPACK_COL_MAJOR, kc, f, A, kc, jpvt, tau);
        if (info != 0) { st = CT_FAIL(CT_ERR_NUMERIC, "decode: LAPACKE_dgeqp3 failed (info=%d)", (int)info); goto done; }
        for (int q = 0; q < p; q++) use[q] = (int)jpvt[q] - 1;
        for (int q = 0; q < f; q++) /* dgeqp3 overwrote A */
            for (int j = 0; j < kc; j++) A[j + (size_t)q * kc] = c->B[(size_t)slots[q] * c->k + parts[j]];
    } else {
        for (int q = 0; q < p; q++) use[q] = q;
    }
    for (int q = 0; q < p; q++) memcpy(R + (size_t)q * kc, A + (size_t)use[q] * kc, (size_t)kc * sizeof(double));
    if (cond && p <= CT_EXACT_SVD_COND_MAX) {
        double *W = malloc((size_t)kc * p * sizeof(double)), *sv = malloc((size_t)p * sizeof(double));
        double *sup = malloc((size_t)(p > 1 ? p : 2) * sizeof(double));
        if (!W || !sv || !sup) { free(W); free(sv); free(sup); st = CT_FAIL(CT_ERR_NOMEM, "decode: out of memory"); goto done; }
        memcpy(W, R, (size_t)kc * p * sizeof(double));
        lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', kc, p, W, kc, sv, NULL, 1, NULL, 1, sup);
        if (info == 0) *cond = sv[p - 1] > 0 ? sv[0] / sv[p - 1] : INFINITY;
        free(W); free(sv); free(sup);
        if (info != 0) { st = CT_FAIL(CT_ERR_NUMERIC, "decode: LAPACKE_dgesvd failed (info=%d)", (int)info); goto done; }
    }
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, kc, p, R, kc, tau);
    if (info != 0) { st = CT_FAIL(CT_ERR_NUMERIC, "decode: LAPACKE_dgeqrf failed (info=%d)", (int)info); goto done; }
    if (cond && p > CT_EXACT_SVD_COND_MAX) { /* 1-norm estimate on R, O(p^2) */
        double rc = 0.0;
        if (LAPACKE_dtrcon(LAPACK_COL_MAJOR, '1', 'U', 'N', p, R, kc, &rc) == 0) *cond = rc > 0 ? 1.0 / rc : INFINITY;
    }
    int singular = 0;
    for (int q = 0; q < p; q++) { sol[q] = 0.0; singular |= R[q + (size_t)q * kc] == 0.0; }
    for (int pass = 0; pass < 2 && !singular; pass++) {
        /* right-hand side 1 - A_use sol, accumulated in long double */
        for (int j = 0; j < kc; j++) {
            long double acc = 1.0L;
            for (int q = 0; q < p; q++) acc -= (long double)A[j + (size_t)use[q] * kc] * sol[q];
            x[j] = (double)acc;
        }
        info = LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', kc, 1, p, R, kc, tau, x, kc);
        if (info == 0) info = LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'U', 'N', 'N', p, 1, R, kc, x, kc);
        if (info > 0) { singular = 1; break; }
        if (info != 0) { st = CT_FAIL(CT_ERR_NUMERIC, "decode: QR solve failed (info=%d) on a %d x %d system", (int)info, kc, p); goto done; }
        for (int q = 0; q < p; q++) sol[q] += x[q];
    }
    if (singular) { /* no exact decode from this subset: least squares on every arrival */
        if (cond) *cond = INFINITY;
        free(A); free(R); free(x); free(sol); free(tau); free(jpvt); free(use);
        uint64_t *m = calloc((size_t)c->mask_words, sizeof(uint64_t));
        if (!m) return CT_FAIL(CT_ERR_NOMEM, "decode: out of memory");
        for (int q = 0; q < f; q++) ct_mask_set(m, slots[q]);
        st = ct_code_lstsq(c, m, NULL, coeffs, NULL);
        free(m);
        return st;
    }
    for (int q = 0; q < f; q++) coeffs[slots[q]] = 0.0;
    for (int q = 0; q < p; q++) coeffs[slots[use[q]]] = sol[q];
done:
    free(A); free(R); free(x); free(sol); free(tau); free(jpvt); free(use);
    return st;
}
