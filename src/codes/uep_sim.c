/* UEP matmul Monte Carlo: real packets, real decoding, measured error. Only
 * packets that arrive by the deadline are computed: the master never sees the
 * others, so computing them would change nothing but the run time. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/uep.h"

ct_status ct_uep_simulate(const ct_uep_partition *p, const ct_uep_params *params, const ct_uep_scheme *schemes,
                          int n_schemes, const ct_uep_sim_config *cfg, ct_uep_sim_result *results) {
    if (!p || !schemes || !cfg || !results) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: simulate got a NULL argument");
    CT_TRY(ct_uep_params_check(params, p->n_blocks));
    if (n_schemes < 1 || n_schemes > CT_UEP_SCHEME_COUNT)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: %d schemes, must be 1..%d", n_schemes, CT_UEP_SCHEME_COUNT);
    for (int s = 0; s < n_schemes; s++)
        if ((int)schemes[s] < 0 || schemes[s] >= CT_UEP_SCHEME_COUNT)
            return CT_FAIL(CT_ERR_INVALID_ARG, "uep: scheme %d unknown", (int)schemes[s]);
    if (cfg->n_workers < 1 || cfg->n_workers > CT_UEP_MAX_WORKERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: workers=%d must be between 1 and %d", cfg->n_workers,
                       CT_UEP_MAX_WORKERS);
    if (!(cfg->lambda > 0) || !isfinite(cfg->lambda))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: lambda=%g must be > 0", cfg->lambda);
    if (!(cfg->deadline >= 0) || !isfinite(cfg->deadline))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: deadline=%g must be >= 0", cfg->deadline);
    if (cfg->trials < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: trials=%d must be >= 1", cfg->trials);

    int N = cfg->n_workers, K = p->n_blocks, L = params->n_classes;
    size_t len = (size_t)p->out_rows * p->out_cols, clen = (size_t)p->rows * p->cols;
    double *C = malloc(clen * sizeof(double));
    double *Cs = malloc(clen * sizeof(double));
    double *C_hat = malloc(clen * sizeof(double));
    double *coeffs = malloc((size_t)N * K * sizeof(double));
    double *G = malloc((size_t)N * K * sizeof(double));
    double *Y = malloc((size_t)N * len * sizeof(double));
    double *X = malloc((size_t)K * len * sizeof(double));
    unsigned char *arrived = malloc((size_t)N);
    ct_status st = CT_OK;
    if (!C || !Cs || !C_hat || !coeffs || !G || !Y || !X || !arrived) {
        st = CT_FAIL(CT_ERR_NOMEM, "uep: out of memory for the simulation (%d workers, %zu-entry packets)", N, len);
        goto done;
    }
    /* C = A B in one GEMM of the sorted copies, un-permuted: independent of the
     * block machinery the packets go through */
    double norm2 = 0;
    st = ct_uep_reference_product(p, Cs, C, &norm2);
    if (st != CT_OK) goto done;

    /* one latency stream shared by all schemes (common random numbers), one
     * coefficient stream per scheme, so a scheme's results do not depend on
     * which other schemes run beside it */
    ct_rng lat;
    ct_rng_seed(&lat, ct_hash64(cfg->seed, 0));
    ct_rng code_rng[CT_UEP_SCHEME_COUNT];
    for (int s = 0; s < CT_UEP_SCHEME_COUNT; s++) ct_rng_seed(&code_rng[s], ct_hash64(cfg->seed, 1 + (uint64_t)s));
    double sum_err[CT_UEP_SCHEME_COUNT] = {0}, sum_err2[CT_UEP_SCHEME_COUNT] = {0};
    long ok[CT_UEP_SCHEME_COUNT][CT_UEP_MAX_CLASSES];
    memset(ok, 0, sizeof ok);
    long total_arrived = 0;
    for (int t = 0; t < cfg->trials && st == CT_OK; t++) {
        int n_arr = 0;
        for (int i = 0; i < N; i++) {
            arrived[i] = ct_rng_exponential(&lat, 1.0 / cfg->lambda) <= cfg->deadline;
            n_arr += arrived[i];
        }
        total_arrived += n_arr;
        for (int si = 0; si < n_schemes && st == CT_OK; si++) {
            ct_uep_scheme sc = schemes[si];
            st = ct_uep_draw_packets(sc, params, K, N, &code_rng[sc], coeffs, NULL);
            int q = 0;
            for (int i = 0; i < N && st == CT_OK; i++) {
                if (!arrived[i]) continue;
                memcpy(G + (size_t)q * K, coeffs + (size_t)i * K, (size_t)K * sizeof(double));
                st = ct_uep_packet_compute(p, coeffs + (size_t)i * K, Y + (size_t)q * len);
                q++;
            }
            unsigned char rec[CT_UEP_MAX_BLOCKS], cls_ok[CT_UEP_MAX_CLASSES];
            if (st == CT_OK) st = ct_uep_decode(G, Y, q, K, len, X, rec);
            if (st == CT_OK) st = ct_uep_assemble(p, X, rec, C_hat);
            if (st != CT_OK) break;
            ct_uep_class_flags(params, rec, cls_ok);
            for (int l = 0; l < L; l++) ok[si][l] += cls_ok[l];
            double e = 0;
            for (size_t j = 0; j < clen; j++) {
                double d = C[j] - C_hat[j];
                e += d * d;
            }
            e /= norm2;
            sum_err[si] += e;
            sum_err2[si] += e * e;
        }
    }
    if (st == CT_OK) {
        double T = cfg->trials;
        for (int si = 0; si < n_schemes; si++) {
            memset(&results[si], 0, sizeof results[si]);
            for (int l = 0; l < L; l++) results[si].p_class[l] = ok[si][l] / T;
            double mean = sum_err[si] / T, var = sum_err2[si] / T - mean * mean;
            results[si].nmse = mean;
            results[si].nmse_se = cfg->trials > 1 && var > 0 ? sqrt(var / (T - 1)) : 0.0;
            results[si].mean_arrived = total_arrived / T;
        }
    }
done:
    free(C);
    free(Cs);
    free(C_hat);
    free(coeffs);
    free(G);
    free(Y);
    free(X);
    free(arrived);
    return st;
}
