/* UEP matmul: exact decoding probabilities and expected normalized error.
 *
 * A worker's packet arrives with probability p and, independently, chose
 * window l with probability Gamma_l; so the arrived window counts
 * (n_0, ..., n_{L-1}) are multinomial with cell probabilities q_l = p Gamma_l
 * (and 1 - p for "not arrived"). We walk the windows in order, drawing
 * n_l | (u packets already placed) ~ Binomial(N - u, q_l / (1 - q_0 - ... - q_{l-1})),
 * and carry only what decoding depends on:
 *   NOW: the set of classes with n_l >= k_l (class l's rows are k_l-column
 *        Gaussian rows: rank min(n_l, k_l));
 *   EW:  R_l = rank of windows 0..l = min(R_{l-1} + n_l, K_l) (nested supports,
 *        generic coefficients: the structural rank) and the last l with
 *        R_l = K_l; classes 0..that l decode (docs/schemes.md has the proof that
 *        nothing more is in the row space).
 * EEP decodes everything iff >= K packets arrived; uncoded recovers block b iff
 * one of its r_b workers (round robin, most important first) arrived. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/uep.h"

double ct_uep_p_arrive(double lambda, double deadline) {
    if (!(lambda > 0) || !(deadline > 0)) return 0.0;
    return -expm1(-lambda * deadline);
}

static double binom_pmf(int n, int N, double q) {
    if (n < 0 || n > N) return 0.0;
    if (q <= 0) return n == 0 ? 1.0 : 0.0;
    if (q >= 1) return n == N ? 1.0 : 0.0;
    double lc = lgamma(N + 1.0) - lgamma(n + 1.0) - lgamma(N - n + 1.0);
    return exp(lc + n * log(q) + (N - n) * log1p(-q));
}

static ct_status check_common(const ct_uep_params *params, int n_workers, double p_arrive) {
    CT_TRY(ct_uep_params_check(params, 0));
    if (n_workers < 0 || n_workers > CT_UEP_MAX_WORKERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: workers=%d must be between 0 and %d", n_workers, CT_UEP_MAX_WORKERS);
    if (!(p_arrive >= 0 && p_arrive <= 1))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: arrival probability %g must be in [0, 1]", p_arrive);
    return CT_OK;
}

/* workers on block b under uncoded round robin */
static int uncoded_copies(int N, int K, int b) { return N / K + (b < N % K); }

ct_status ct_uep_pattern_probs(ct_uep_scheme scheme, const ct_uep_params *params, int n_workers, double p_arrive,
                               double *p_mask) {
    CT_TRY(check_common(params, n_workers, p_arrive));
    if (!p_mask) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: p_mask is NULL");
    int L = params->n_classes, N = n_workers, full = (1 << L) - 1;
    int Kend[CT_UEP_MAX_CLASSES];
    for (int l = 0, s = 0; l < L; l++) Kend[l] = (s += params->k[l]);
    int K = Kend[L - 1];
    memset(p_mask, 0, (size_t)(1 << L) * sizeof(double));

    if (scheme == CT_UEP_EEP) {
        double ok = 0;
        for (int x = K; x <= N; x++) ok += binom_pmf(x, N, p_arrive);
        p_mask[full] = ok;
        p_mask[0] += 1.0 - ok;
        return CT_OK;
    }
    if (scheme == CT_UEP_UNCODED) {
        /* disjoint worker sets per block: classes are independent */
        double pc[CT_UEP_MAX_CLASSES];
        for (int l = 0, b = 0; l < L; l++) {
            pc[l] = 1;
            for (int t = 0; t < params->k[l]; t++, b++) pc[l] *= 1.0 - pow(1.0 - p_arrive, uncoded_copies(N, K, b));
        }
        for (int mask = 0; mask <= full; mask++) {
            double v = 1;
            for (int l = 0; l < L; l++) v *= (mask >> l & 1) ? pc[l] : 1.0 - pc[l];
            p_mask[mask] = v;
        }
        return CT_OK;
    }
    if (scheme != CT_UEP_NOW && scheme != CT_UEP_EW)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: scheme %d unknown", (int)scheme);

    /* state: NOW the decoded-class mask; EW (R, last full window + 1) */
    int S = scheme == CT_UEP_NOW ? (1 << L) : (K + 1) * (L + 1);
    double *cur = calloc((size_t)(N + 1) * S, sizeof(double));
    double *next = calloc((size_t)(N + 1) * S, sizeof(double));
    double *pmf = malloc((size_t)(N + 1) * sizeof(double));
    if (!cur || !next || !pmf) {
        free(cur);
        free(next);
        free(pmf);
        return CT_FAIL(CT_ERR_NOMEM, "uep: out of memory for the decoding-probability recursion (N=%d)", N);
    }
    cur[0] = 1.0; /* u = 0, empty state (NOW mask 0; EW R = 0, none full) */
    double used = 0; /* q_0 + ... + q_{l-1} */
    for (int l = 0; l < L; l++) {
        double q = p_arrive * params->gamma[l], rest = 1.0 - used;
        double ratio = rest > 1e-300 ? q / rest : 0.0;
        if (ratio > 1) ratio = 1;
        if (ratio < 0) ratio = 0;
        memset(next, 0, (size_t)(N + 1) * S * sizeof(double));
        for (int u = 0; u <= N; u++) {
            int left = N - u;
            int any = 0;
            for (int s = 0; s < S; s++) any |= cur[(size_t)u * S + s] != 0;
            if (!any) continue;
            for (int n = 0; n <= left; n++) pmf[n] = binom_pmf(n, left, ratio);
            for (int s = 0; s < S; s++) {
                double w = cur[(size_t)u * S + s];
                if (w == 0) continue;
                for (int n = 0; n <= left; n++) {
                    if (pmf[n] == 0) continue;
                    int s2;
                    if (scheme == CT_UEP_NOW) {
                        s2 = s | ((n >= params->k[l]) << l);
                    } else {
                        int R = s / (L + 1), last = s % (L + 1);
                        int R2 = R + n < Kend[l] ? R + n : Kend[l];
                        s2 = R2 * (L + 1) + (R2 == Kend[l] ? l + 1 : last);
                    }
                    next[(size_t)(u + n) * S + s2] += w * pmf[n];
                }
            }
        }
        double *t = cur;
        cur = next;
        next = t;
        used += q;
    }
    for (int u = 0; u <= N; u++)
        for (int s = 0; s < S; s++) {
            double w = cur[(size_t)u * S + s];
            if (w == 0) continue;
            int mask = scheme == CT_UEP_NOW ? s : (1 << (s % (L + 1))) - 1;
            p_mask[mask] += w;
        }
    free(cur);
    free(next);
    free(pmf);
    return CT_OK;
}

ct_status ct_uep_analyze(ct_uep_scheme scheme, const ct_uep_params *params, int n_workers, double p_arrive,
                         const double *gram, double *p_class, double *nmse) {
    CT_TRY(check_common(params, n_workers, p_arrive));
    if (!p_class) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: p_class is NULL");
    if (nmse && !gram) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: nmse needs the blocks' gram matrix");
    int L = params->n_classes, full = (1 << L) - 1;
    double p_mask[1 << CT_UEP_MAX_CLASSES];
    CT_TRY(ct_uep_pattern_probs(scheme, params, n_workers, p_arrive, p_mask));
    for (int l = 0; l < L; l++) {
        p_class[l] = 0;
        for (int mask = 0; mask <= full; mask++)
            if (mask >> l & 1) p_class[l] += p_mask[mask];
    }
    if (!nmse) return CT_OK;

    int K = 0, cls[CT_UEP_MAX_BLOCKS];
    for (int l = 0; l < L; l++)
        for (int t = 0; t < params->k[l]; t++) cls[K++] = l;
    double total = 0;
    for (int b = 0; b < K * K; b++) {
        if (!isfinite(gram[b])) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: gram has a non-finite entry");
        total += gram[b];
    }
    if (!(total > 0)) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: ||C||^2 = %g, the normalized error is undefined", total);
    double err = 0;
    if (scheme == CT_UEP_UNCODED) {
        /* blocks are lost independently: P(b, b' both lost) = m_b m_b' (b != b') */
        double miss[CT_UEP_MAX_BLOCKS];
        for (int b = 0; b < K; b++) miss[b] = pow(1.0 - p_arrive, uncoded_copies(n_workers, K, b));
        for (int b = 0; b < K; b++)
            for (int c = 0; c < K; c++) err += (b == c ? miss[b] : miss[b] * miss[c]) * gram[b * K + c];
    } else {
        /* blocks are lost class by class: sum over decoded patterns */
        for (int mask = 0; mask <= full; mask++) {
            if (p_mask[mask] == 0) continue;
            double e = 0;
            for (int b = 0; b < K; b++) {
                if (mask >> cls[b] & 1) continue;
                for (int c = 0; c < K; c++)
                    if (!(mask >> cls[c] & 1)) e += gram[b * K + c];
            }
            err += p_mask[mask] * e;
        }
    }
    *nmse = err / total;
    return CT_OK;
}
