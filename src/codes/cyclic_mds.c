/* cyclic-mds: the cyclic support of cyclic.c with a deterministic H built
 * from real Fourier rows at the frequencies nearest n/2 (our construction
 * after Raviv, Tamo, Tandon, Dimakis: gradient codes from cyclic MDS codes).
 *
 * null(H) is the real code whose spectrum vanishes on the chosen frequency
 * set Z. 0 is never in Z, so 1 lies in null(H). When n - s is odd, Z can be
 * s consecutive frequencies symmetric about n/2 (n/2 itself when n is even,
 * then pairs n/2 +- 1, +- 2, ...): by the BCH bound that code is MDS, so the
 * window vectors b_i are cyclic shifts of one minimum-weight codeword and any
 * n - s of them form a basis of the code. When n - s is even no real cyclic
 * code of that dimension exists (a real spectrum set of size s avoiding 0 is
 * impossible with consecutive frequencies), so the last row is one real
 * combination cos(2 pi f t/n + phi) of one of the next two frequency pairs,
 * which keeps H 1 = 0 and the rows orthogonal; (f, phi) is picked from a
 * small grid by the worst condition number over straggler patterns. The
 * resulting B is not circulant and not provably MDS; tests check
 * exhaustively (n <= 12) that every pattern decodes. */
#include <math.h>
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

ct_status ct_code_check_cyclic_spec(ct_code *c); /* cyclic.c */
ct_status ct_cyclic_rows_from_H(int n, int s, const double *H, double *B); /* cyclic.c */
double ct_cyclic_worst_cond(int n, int s, const double *B, uint64_t seed);   /* cyclic.c */

/* n - s even: the last row of H is cos(2 pi f t/n + phi) for f one of the two
 * next frequencies and phi on a grid; keep the candidate whose worst straggler
 * pattern is best conditioned (searched for n <= 64; beyond, the first). */
static ct_status ct_mds_pick_lone_row(int n, int s, int f0, uint64_t seed, double *H) {
    double *row = H + (size_t)(s - 1) * n;
    double *B = malloc((size_t)n * n * sizeof(double));
    if (!B) return CT_FAIL(CT_ERR_NOMEM, "cyclic-mds: out of memory");
    double best = INFINITY, best_f = f0, best_phi = 0.3;
    int nf = (n <= 64) ? (f0 > 1 ? 2 : 1) : 0;
    for (int fi = 0; fi < nf; fi++)
        for (int ph = 0; ph < 8; ph++) {
            double f = f0 - fi, phi = 0.3 + ph * 3.141592653589793 / 8;
            for (int t = 0; t < n; t++) row[t] = cos(6.283185307179586 * f * t / n + phi);
            if (ct_cyclic_rows_from_H(n, s, H, B) != CT_OK) { ct_error_clear(); continue; }
            double w = ct_cyclic_worst_cond(n, s, B, seed);
            if (w < best) { best = w; best_f = f; best_phi = phi; }
        }
    for (int t = 0; t < n; t++) row[t] = cos(6.283185307179586 * best_f * t / n + best_phi);
    free(B);
    return CT_OK;
}

ct_status ct_code_build_cyclic_mds(ct_code *c) {
    int n = c->n, s = c->s;
    CT_TRY(ct_code_check_cyclic_spec(c));
    double *H = malloc((size_t)(s ? s : 1) * n * sizeof(double));
    if (!H) return CT_FAIL(CT_ERR_NOMEM, "cyclic-mds: out of memory for H (%d x %d)", s, n);
    const double two_pi = 6.283185307179586;
    int r = 0, lone_f = 0;
    if (s > 0 && n % 2 == 0) { /* frequency n/2: the alternating row */
        for (int t = 0; t < n; t++) H[t] = (t % 2) ? -1.0 : 1.0;
        r = 1;
    }
    /* pairs f = floor((n-1)/2), floor((n-1)/2) - 1, ..., each giving cos and sin rows */
    for (int f = (n - 1) / 2; r < s && f >= 1; f--) {
        if (s - r >= 2) {
            for (int t = 0; t < n; t++) {
                H[(size_t)r * n + t] = cos(two_pi * f * t / n);
                H[(size_t)(r + 1) * n + t] = sin(two_pi * f * t / n);
            }
            r += 2;
        } else {
            lone_f = f;
            r += 1;
        }
    }
    ct_status st = CT_OK;
    if (lone_f > 0) st = ct_mds_pick_lone_row(n, s, lone_f, c->spec.seed, H);
    if (st == CT_OK)
        st = r == s ? ct_code_cyclic_fill_from_H(c, H)
                    : CT_FAIL(CT_ERR_INTERNAL, "cyclic-mds: built %d of %d rows of H (n=%d)", r, s, n);
    free(H);
    return st;
}
