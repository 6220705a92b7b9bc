/* Exact gradient codes: for n = 2..12 and every s a scheme allows, every
 * straggler set of size <= s decodes exactly (checked on random gradients),
 * the stopping rule agrees, and the cache returns the same vector. */
#include "test_codes_common.h"

static double worst_cond[CT_CODE_SCHEME_COUNT];
static int above_1e5[CT_CODE_SCHEME_COUNT];

static void check_scheme(ct_code_scheme scheme, int n, int s, unsigned long long *rng) {
    ct_code_spec sp = CT_CODE_SPEC_INIT;
    sp.scheme = scheme;
    sp.n_workers = n;
    sp.stragglers = s;
    sp.seed = 7 + n * 31 + s;
    ct_code *c = NULL;
    ct_status st = ct_code_create(&sp, &c);
    if (scheme == CT_CODE_FREP && n % (s + 1)) { CHECK(st == CT_ERR_INVALID_ARG, "frep n=%d s=%d must be refused", n, s); return; }
    if (scheme == CT_CODE_UNCODED && s > 0) { CHECK(st == CT_ERR_INVALID_ARG, "uncoded s=%d must be refused", s); return; }
    CHECK(st == CT_OK, "%s n=%d s=%d: %s", ct_code_scheme_name(scheme), n, s, ct_last_error());
    if (st != CT_OK) return;
    CHECK(ct_code_is_exact(c), "%s must be exact", ct_code_scheme_name(scheme));
    CHECK(ct_code_n_partitions(c) == n && ct_code_total_messages(c) == n, "%s layout", ct_code_scheme_name(scheme));
    for (int i = 0; i < n; i++) CHECK(ct_code_load(c, i) == s + 1, "%s load", ct_code_scheme_name(scheme));
    uint64_t mask[1];
    float *first = malloc((size_t)n * sizeof(float));
    int failures = 0;
    for (unsigned long long S = 0; S < (1ull << n); S++) {
        if (__builtin_popcountll(S) > s) continue;
        ct_test_mask_from_stragglers(c, S, mask);
        ct_decode_result r;
        ct_status ds = ct_code_decode(c, mask, &r);
        if (ds != CT_OK || r.status != CT_DECODE_EXACT) {
            if (failures++ < 3)
                CHECK(0, "%s n=%d s=%d stragglers=0x%llx: status %d resid %g (%s)", ct_code_scheme_name(scheme), n, s, S,
                      (int)r.status, r.residual, ct_last_error());
            continue;
        }
        /* Tandon's random H is exact in real arithmetic; with a float encoding
         * its worst patterns (condition ~1e3-1e4) lose about one more digit */
        double tol = scheme == CT_CODE_CYCLIC ? 1e-4 : 1e-5;
        double err = ct_test_decode_error(c, r.coeffs, NULL, rng);
        if (err >= 1e-5) above_1e5[scheme]++;
        if (err >= tol && failures++ < 3)
            CHECK(err < tol, "%s n=%d s=%d stragglers=0x%llx: rel err %g cond %g", ct_code_scheme_name(scheme), n, s, S, err,
                  r.condition);
        if (r.condition > worst_cond[scheme]) worst_cond[scheme] = r.condition;
        CHECK(r.residual < (scheme == CT_CODE_CYCLIC ? 1e-4 : 1e-5) && fabs(r.recovered_fraction - 1.0) < 1e-12, "residual/recovered");
        if (!ct_code_decodable(c, mask) && failures++ < 3) CHECK(0, "%s n=%d s=%d 0x%llx: decodable() says no", ct_code_scheme_name(scheme), n, s, S);
        memcpy(first, r.coeffs, (size_t)n * sizeof(float));
        ct_decode_result r2;
        CHECK_OK(ct_code_decode(c, mask, &r2));
        if ((!r2.cache_hit || memcmp(first, r2.coeffs, (size_t)n * sizeof(float))) && failures++ < 3)
            CHECK(0, "%s n=%d s=%d: cached decode differs", ct_code_scheme_name(scheme), n, s);
    }
    /* one straggler too many: an exact code must not claim exactness it lacks */
    if (s + 1 < n) {
        unsigned long long S = (1ull << (s + 1)) - 1; /* the first s+1 workers */
        ct_test_mask_from_stragglers(c, S, mask);
        ct_decode_result r;
        CHECK_OK(ct_code_decode(c, mask, &r));
        if (r.status == CT_DECODE_EXACT) CHECK(ct_test_residual(c, r.coeffs) < 1e-4, "claimed exact beyond s");
        else CHECK(r.status == CT_DECODE_NONE || scheme == CT_CODE_ERASUREHEAD, "%s beyond s: status %d", ct_code_scheme_name(scheme), (int)r.status);
    }
    uint64_t hits, misses;
    ct_code_cache_stats(c, &hits, &misses);
    CHECK(hits >= 1 && misses >= 1, "cache stats hits=%llu misses=%llu", (unsigned long long)hits, (unsigned long long)misses);
    free(first);
    ct_code_destroy(c);
}

int main(void) {
    unsigned long long rng = 0x1234567ull;
    ct_code_scheme schemes[] = {CT_CODE_UNCODED, CT_CODE_FREP, CT_CODE_CYCLIC, CT_CODE_CYCLIC_MDS, CT_CODE_ERASUREHEAD};
    for (size_t q = 0; q < sizeof schemes / sizeof schemes[0]; q++)
        for (int n = 2; n <= 12; n++)
            for (int s = 0; s < n; s++) {
                if (schemes[q] == CT_CODE_ERASUREHEAD && n % (s + 1)) continue;
                check_scheme(schemes[q], n, s, &rng);
            }
    for (size_t q = 0; q < sizeof schemes / sizeof schemes[0]; q++)
        printf("%-12s worst condition number over all patterns (n <= 12): %.3g; patterns with rel err >= 1e-5: %d\n",
               ct_code_scheme_name(schemes[q]), worst_cond[schemes[q]], above_1e5[schemes[q]]);
    return ct_test_done("test_codes_exact");
}
