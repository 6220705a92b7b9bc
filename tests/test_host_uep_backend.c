/* UEP workers on a backend (src/host/uep_workers.c): packets from the block
 * GEMM equal the library's host packets; with every packet in the error is
 * float rounding; the virtual clock reproduces ct_uep_simulate's arrivals and
 * decoded classes; the real clock runs, cancels a straggler and never waits
 * for it. The CPU half always runs; the CUDA half only where a GPU is. No
 * timing assertions: wall clock only decides arrivals, loosely. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/uep.h"
#include "ct_test.h"
#include "host/uep_workers.h"

enum { NW = 12 };

static const ct_uep_params PARAMS = {3, {3, 3, 3}, {0.40, 0.35, 0.25}};

/* uneven sizes, so rxc groups differ in size and the padding is exercised */
static ct_uep_partition *make_partition(ct_uep_paradigm par, int rows, int inner, int cols) {
    double var[3] = {10, 1, 0.1};
    int parts = par == CT_UEP_RXC ? 3 : 9;
    double *A = malloc((size_t)rows * inner * sizeof(double)), *B = malloc((size_t)inner * cols * sizeof(double));
    ct_rng rng;
    ct_rng_seed(&rng, 99 + (uint64_t)par);
    ct_uep_partition *p = NULL;
    CHECK_OK(ct_uep_random_matrices(par, rows, inner, cols, parts, 3, var, &rng, A, B));
    CHECK_OK(ct_uep_partition_build(A, B, rows, inner, cols, par, parts, &PARAMS, &p));
    free(A);
    free(B);
    return p;
}

static double rel_err_d(const double *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}

/* every worker's packet equals ct_uep_packet_compute to float tolerance */
static void check_packets(ct_uep_pool *pool, const ct_uep_partition *p, const char *what) {
    int K = p->n_blocks;
    size_t len = (size_t)p->out_rows * p->out_cols;
    double coeffs[NW * CT_UEP_MAX_BLOCKS], lat[NW];
    double *Y = malloc((size_t)NW * len * sizeof(double)), *ref = malloc(len * sizeof(double));
    unsigned char arrived[NW];
    for (int s = 0; s < CT_UEP_SCHEME_COUNT; s++) {
        ct_rng rng;
        ct_rng_seed(&rng, 5 + (uint64_t)s);
        CHECK_OK(ct_uep_draw_packets((ct_uep_scheme)s, &PARAMS, K, NW, &rng, coeffs, NULL));
        for (int i = 0; i < NW; i++) lat[i] = 0.1 * i;
        ct_uep_round r = {NW, coeffs, lat, INFINITY, CT_UEP_CLOCK_VIRTUAL, 1.0};
        ct_uep_round_info info;
        CHECK_OK(ct_uep_pool_round(pool, &r, arrived, Y, &info));
        CHECK(info.n_arrived == NW && info.n_cancelled == 0, "%s: %d arrived, %d cancelled", what, info.n_arrived,
              info.n_cancelled);
        for (int i = 0; i < NW; i++) {
            CHECK_OK(ct_uep_packet_compute(p, coeffs + (size_t)i * K, ref));
            double e = rel_err_d(Y + (size_t)i * len, ref, len);
            CHECK(e < 1e-5, "%s %s worker %d: packet rel err %g", what, ct_uep_scheme_name((ct_uep_scheme)s), i, e);
        }
        /* a finite deadline: only the packets with latency <= T come back */
        r.deadline = 0.55;
        CHECK_OK(ct_uep_pool_round(pool, &r, arrived, Y, &info));
        CHECK(info.n_arrived == 6, "%s: %d arrived with T=0.55, expected 6", what, info.n_arrived);
        for (int i = 0; i < NW; i++) CHECK(arrived[i] == (i <= 5), "%s: worker %d arrived=%d", what, i, arrived[i]);
        CHECK_OK(ct_uep_packet_compute(p, coeffs + 5 * (size_t)K, ref));
        CHECK(rel_err_d(Y + 5 * len, ref, len) < 1e-5, "%s: arrived packets out of order", what);
    }
    free(Y);
    free(ref);
}

/* virtual clock: the same draws as ct_uep_simulate */
static void check_virtual(ct_uep_pool *pool, const ct_uep_partition *p, const char *what) {
    ct_uep_scheme sch[4] = {CT_UEP_NOW, CT_UEP_EW, CT_UEP_EEP, CT_UEP_UNCODED};
    ct_uep_sim_config cfg = {NW, 1.0, 1.0, 60, 1234};
    ct_uep_sim_result host[4], be[4];
    ct_uep_pool_stats st;
    CHECK_OK(ct_uep_simulate(p, &PARAMS, sch, 4, &cfg, host));
    CHECK_OK(ct_uep_simulate_pool(pool, p, &PARAMS, sch, 4, &cfg, CT_UEP_CLOCK_VIRTUAL, 1.0, be, &st));
    CHECK(st.rounds == 4 * 60 && st.cancelled == 0, "%s: %ld rounds, %ld cancelled", what, st.rounds, st.cancelled);
    for (int s = 0; s < 4; s++) {
        CHECK(be[s].mean_arrived == host[s].mean_arrived, "%s %s: mean arrived %g vs host %g", what,
              ct_uep_scheme_name(sch[s]), be[s].mean_arrived, host[s].mean_arrived);
        for (int l = 0; l < 3; l++)
            CHECK(be[s].p_class[l] == host[s].p_class[l], "%s %s class %d: p %g vs host %g", what,
                  ct_uep_scheme_name(sch[s]), l, be[s].p_class[l], host[s].p_class[l]);
        CHECK(fabs(be[s].nmse - host[s].nmse) <= 1e-6 + 1e-4 * host[s].nmse, "%s %s: nmse %.9g vs host %.9g", what,
              ct_uep_scheme_name(sch[s]), be[s].nmse, host[s].nmse);
    }
    /* infinite deadline: EEP and uncoded decode everything from 12 >= 9 packets */
    ct_uep_scheme all[2] = {CT_UEP_EEP, CT_UEP_UNCODED};
    cfg.deadline = INFINITY;
    cfg.trials = 10;
    CHECK_OK(ct_uep_simulate_pool(pool, p, &PARAMS, all, 2, &cfg, CT_UEP_CLOCK_VIRTUAL, 1.0, be, NULL));
    for (int s = 0; s < 2; s++) {
        CHECK(be[s].nmse < 1e-9, "%s %s T=inf: nmse %g, expected float rounding", what, ct_uep_scheme_name(all[s]),
              be[s].nmse);
        CHECK(be[s].mean_arrived == NW, "%s: %g arrived with T=inf", what, be[s].mean_arrived);
        for (int l = 0; l < 3; l++) CHECK(be[s].p_class[l] == 1.0, "%s T=inf: class %d p=%g", what, l, be[s].p_class[l]);
    }
}

/* real clock: runs, every worker either arrives or is cancelled, a straggler
 * that would hold its context for hours is cut off at the deadline */
static void check_real(ct_uep_pool *pool, const ct_uep_partition *p, const char *what) {
    ct_uep_scheme sch[2] = {CT_UEP_EW, CT_UEP_EEP};
    ct_uep_sim_config cfg = {NW, 1.0, 1.0, 15, 77};
    ct_uep_sim_result res[2];
    ct_uep_pool_stats st;
    CHECK_OK(ct_uep_simulate_pool(pool, p, &PARAMS, sch, 2, &cfg, CT_UEP_CLOCK_REAL, 0.2, res, &st));
    CHECK(st.rounds == 30, "%s: %ld rounds", what, st.rounds);
    CHECK(st.arrived + st.cancelled == st.rounds * NW, "%s: %ld arrived + %ld cancelled != %ld", what, st.arrived,
          st.cancelled, st.rounds * NW);
    CHECK(st.cancelled > 0, "%s: nobody cancelled in %ld rounds of Exp(1) latencies against T=1", what, st.rounds);
    for (int s = 0; s < 2; s++)
        CHECK(isfinite(res[s].nmse) && res[s].nmse >= 0 && res[s].nmse <= 2, "%s: nmse %g", what, res[s].nmse);

    /* one straggler of 1e7 units (about 3 hours at 1 ms per unit) against T=200 */
    int K = p->n_blocks;
    size_t len = (size_t)p->out_rows * p->out_cols;
    double coeffs[NW * CT_UEP_MAX_BLOCKS], lat[NW], *Y = malloc((size_t)NW * len * sizeof(double));
    double *ref = malloc(len * sizeof(double));
    unsigned char arrived[NW];
    ct_rng rng;
    ct_rng_seed(&rng, 3);
    CHECK_OK(ct_uep_draw_packets(CT_UEP_EEP, &PARAMS, K, NW, &rng, coeffs, NULL));
    for (int i = 0; i < NW; i++) lat[i] = i == 1 ? 1e7 : 0.0;
    ct_uep_round r = {NW, coeffs, lat, 200.0, CT_UEP_CLOCK_REAL, 1.0};
    ct_uep_round_info info;
    CHECK_OK(ct_uep_pool_round(pool, &r, arrived, Y, &info));
    CHECK(!arrived[1], "%s: the straggler arrived", what);
    CHECK(info.n_cancelled >= 1 && info.n_arrived + info.n_cancelled == NW, "%s: %d arrived, %d cancelled", what,
          info.n_arrived, info.n_cancelled);
    if (arrived[0]) {
        CHECK_OK(ct_uep_packet_compute(p, coeffs, ref));
        CHECK(rel_err_d(Y, ref, len) < 1e-5, "%s: real-clock packet differs from the host's", what);
    }
    /* the pool is usable again after a cancelled round */
    for (int i = 0; i < NW; i++) lat[i] = 0;
    r.deadline = INFINITY;
    CHECK_OK(ct_uep_pool_round(pool, &r, arrived, Y, &info));
    CHECK(info.n_arrived == NW, "%s: after a cancel, %d of %d arrived with T=inf", what, info.n_arrived, NW);
    free(Y);
    free(ref);
}

static void run_device(ct_device_kind kind, const char *name) {
    ct_uep_paradigm pars[2] = {CT_UEP_RXC, CT_UEP_CXR};
    for (int k = 0; k < 2; k++) {
        ct_uep_partition *p = pars[k] == CT_UEP_RXC ? make_partition(CT_UEP_RXC, 31, 17, 29)
                                                    : make_partition(CT_UEP_CXR, 20, 40, 23);
        if (!p) continue;
        ct_uep_pool *pool = NULL;
        CHECK_OK(ct_uep_pool_create(kind, p, NW, &pool));
        if (pool) {
            char what[64];
            snprintf(what, sizeof what, "%s/%s", name, ct_uep_paradigm_name(pars[k]));
            CHECK(ct_uep_pool_kind(pool) == kind, "%s: pool kind %d", what, (int)ct_uep_pool_kind(pool));
            CHECK(ct_uep_pool_size(pool) == NW, "%s: size %d", what, ct_uep_pool_size(pool));
            check_packets(pool, p, what);
            check_virtual(pool, p, what);
            check_real(pool, p, what);
        }
        ct_uep_pool_destroy(pool);
        ct_uep_partition_free(p);
    }
}

int main(void) {
    /* argument checks name the input */
    ct_uep_clock c;
    CHECK(ct_uep_clock_parse("--clock", "sundial", &c) == CT_ERR_INVALID_ARG && strstr(ct_last_error(), "sundial"),
          "clock parse: %s", ct_last_error());
    CHECK_OK(ct_uep_clock_parse("--clock", "real", &c));
    CHECK(c == CT_UEP_CLOCK_REAL, "clock parse real");
    ct_uep_pool *none = NULL;
    CHECK(ct_uep_pool_create(CT_DEVICE_CPU, NULL, 3, &none) == CT_ERR_INVALID_ARG && !none, "NULL partition accepted");

    run_device(CT_DEVICE_CPU, "cpu");
    if (ct_backend_device_count(CT_DEVICE_CUDA) > 0) run_device(CT_DEVICE_CUDA, "cuda");
    else printf("SKIP (cuda half): no usable GPU\n");
    return ct_test_done("test_host_uep_backend");
}
