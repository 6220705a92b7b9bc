/* Measured labels and the exact decoder: frep-mds decodes every straggler set
 * of size <= s at small n (exhaustive, on random gradients too); the label of
 * a code whose float32 decode fails a set comes out "approximate" (cyclic,
 * n = 16, s = 5, seed 1: the case); the exact decoder keeps the
 * direction an ill-conditioned pattern needs. */
#include "test_codes_common.h"

static ct_code *make(ct_code_scheme scheme, int n, int s, uint64_t seed) {
    ct_code_spec sp = CT_CODE_SPEC_INIT;
    sp.scheme = scheme;
    sp.n_workers = n;
    sp.stragglers = s;
    sp.seed = seed;
    ct_code *c = NULL;
    ct_status st = ct_code_create(&sp, &c);
    CHECK(st == CT_OK, "%s n=%d s=%d: %s", ct_code_scheme_name(scheme), n, s, ct_last_error());
    return st == CT_OK ? c : NULL;
}

/* frep-mds at (n, s): load s+1, exhaustive label exact, random-gradient
 * decode error small on every set of size <= s (n <= 16), and s+1 stragglers
 * taking a whole block is not decodable. */
static void check_frep_mds(int n, int s, unsigned long long *rng, double *worst_err) {
    ct_code *c = make(CT_CODE_FREP_MDS, n, s, 1);
    if (!c) return;
    for (int i = 0; i < n; i++) CHECK(ct_code_load(c, i) == s + 1, "frep-mds n=%d s=%d: load %d", n, s, ct_code_load(c, i));
    ct_code_verify_report rep;
    CHECK_OK(ct_code_verify(c, 1000000, 1, &rep));
    CHECK(rep.exhaustive && rep.verified_exact && rep.failures == 0,
          "frep-mds n=%d s=%d: exhaustive %d failures %ld worst %g cond %g", n, s, rep.exhaustive, rep.failures,
          rep.worst_residual_max, rep.worst_condition);
    CHECK(rep.sets_tested == (long)ct_code_verify_total_sets(n, s), "frep-mds n=%d s=%d: %ld sets tested", n, s,
          rep.sets_tested);
    if (n <= 16) {
        uint64_t mask[1];
        int bad = 0;
        for (unsigned long long S = 0; S < (1ull << n); S++) {
            if (__builtin_popcountll(S) > s) continue;
            ct_test_mask_from_stragglers(c, S, mask);
            ct_decode_result r;
            CHECK_OK(ct_code_decode(c, mask, &r));
            double err = ct_test_decode_error(c, r.coeffs, NULL, rng);
            if (err > *worst_err) *worst_err = err;
            if ((r.status != CT_DECODE_EXACT || !ct_code_decodable(c, mask) || err > 1e-5) && bad++ < 3)
                CHECK(0, "frep-mds n=%d s=%d stragglers 0x%llx: status %d err %g", n, s, S, (int)r.status, err);
        }
        /* the first s+1 workers are the first block (or part of it): it is gone */
        if (s + 1 < n) {
            ct_test_mask_from_stragglers(c, (1ull << (s + 1)) - 1, mask);
            ct_decode_result r;
            CHECK_OK(ct_code_decode(c, mask, &r));
            CHECK(r.status != CT_DECODE_EXACT || ct_test_residual(c, r.coeffs) < 1e-4,
                  "frep-mds n=%d s=%d: claims exact with s+1 stragglers", n, s);
        }
    }
    ct_code_destroy(c);
}

int main(void) {
    unsigned long long rng = 0xfeedull;
    double worst_err = 0.0;
    for (int n = 1; n <= 14; n++)
        for (int s = 0; s < n; s++) check_frep_mds(n, s, &rng, &worst_err);
    /* larger n, remainder blocks of both kinds (D = 2 and D = 3) and repeats */
    int big[][2] = {{16, 5}, {17, 2}, {23, 2}, {29, 3}, {40, 3}, {64, 2}, {100, 1}};
    for (size_t q = 0; q < sizeof big / sizeof big[0]; q++) check_frep_mds(big[q][0], big[q][1], &rng, &worst_err);
    printf("frep-mds worst relative decode error on random gradients (n <= 14, every set): %.3g\n", worst_err);

    /* the case: cyclic n = 16, s = 5, seed 1 is exact by design but
     * its float32 decode misses the tolerance on some sets: "approximate" */
    ct_code *c = make(CT_CODE_CYCLIC, 16, 5, 1);
    if (c) {
        ct_code_verify_report rep;
        CHECK_OK(ct_code_verify(c, 100000, 1, &rep));
        CHECK(rep.exhaustive && rep.sets_tested == 6885, "cyclic 16/5: %ld sets", rep.sets_tested);
        CHECK(!rep.verified_exact && rep.failures > 0, "cyclic 16/5 seed 1 must come out approximate (failures %ld)",
              rep.failures);
        CHECK(rep.worst_residual_max > rep.tolerance && rep.worst_condition > 1e5, "cyclic 16/5: worst %g cond %g",
              rep.worst_residual_max, rep.worst_condition);
        /* the decoder keeps the ill-conditioned direction: on the set the SVD
         * cut decoded to residual 0.43, the exact solver's float32 residual is
         * two orders smaller (it is rounding of large coefficients, not a
         * dropped direction) */
        uint64_t mask[1];
        ct_test_mask_from_stragglers(c, (1ull << 3) | (1ull << 4) | (1ull << 10) | (1ull << 11) | (1ull << 13), mask);
        ct_decode_result r;
        CHECK_OK(ct_code_decode(c, mask, &r));
        CHECK(r.condition > 1e5, "cyclic 16/5 {3,4,10,11,13}: condition %g", r.condition);
        CHECK(r.residual_max < 0.02, "cyclic 16/5 {3,4,10,11,13}: float32 residual %g", r.residual_max);
        double err = ct_test_decode_error(c, r.coeffs, NULL, &rng);
        CHECK(err < 0.02, "cyclic 16/5 {3,4,10,11,13}: decode error on random gradients %g", err);
        ct_code_destroy(c);
    }
    /* labels that must come out exact, and approximate-by-design codes that test nothing */
    struct { ct_code_scheme scheme; int n, s, exact; } cases[] = {
        {CT_CODE_FREP, 8, 1, 1}, {CT_CODE_CYCLIC_MDS, 8, 2, 1}, {CT_CODE_UNCODED, 6, 0, 1}, {CT_CODE_EXPANDER, 8, 2, 0},
    };
    for (size_t q = 0; q < sizeof cases / sizeof cases[0]; q++) {
        ct_code *x = make(cases[q].scheme, cases[q].n, cases[q].s, 1);
        if (!x) continue;
        ct_code_verify_report rep;
        CHECK_OK(ct_code_verify(x, 100000, 1, &rep));
        CHECK(rep.verified_exact == cases[q].exact && (cases[q].exact ? rep.exhaustive : rep.sets_tested == 0),
              "%s n=%d s=%d: verified %d tested %ld", ct_code_scheme_name(cases[q].scheme), cases[q].n, cases[q].s,
              rep.verified_exact, rep.sets_tested);
        ct_code_destroy(x);
    }
    /* a budget below the number of sets samples: adversarial runs first */
    ct_code *m = make(CT_CODE_FREP_MDS, 40, 3, 1);
    if (m) {
        ct_code_verify_report rep;
        CHECK_OK(ct_code_verify(m, 300, 1, &rep));
        CHECK(!rep.exhaustive && rep.sets_tested == 300 && rep.adversarial_sets >= 40 && rep.random_sets > 0,
              "sampled verify: %ld sets, %ld adversarial, %ld random", rep.sets_tested, rep.adversarial_sets,
              rep.random_sets);
        CHECK(rep.verified_exact, "frep-mds 40/3 sampled");
        ct_code_destroy(m);
    }
    return ct_test_done("test_codes_label");
}
