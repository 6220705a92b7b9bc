/* Partial-recovery schemes (src/codes/alpha.c): the disjoint-support decoder
 * against brute force, every straggler set of the cyclic and subset designs
 * through the ct_code interface (recovered fraction >= claimed alpha; the
 * subset design losing exactly the bound's average on every s-set), and the
 * decoded coefficients applied to random gradients. */
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/codes_bound.h"
#include "ct_test.h"

#define P 5 /* gradient length */

/* ---------------- brute force packing of arcs (small) ---------------- */
static int bf_n, bf_cnt, bf_start[64], bf_len[64];
static int bf_best_cov;
static void bf_rec(int a, unsigned long long used, int cov) {
    if (cov > bf_best_cov) bf_best_cov = cov;
    for (int b = a; b < bf_cnt; b++) {
        unsigned long long m = 0;
        for (int t = 0; t < bf_len[b]; t++) m |= 1ull << ((bf_start[b] + t) % bf_n);
        if (m & used) continue;
        bf_rec(b + 1, used | m, cov + bf_len[b]);
    }
}

static void group(int d, int m, int l, int *off, int *len) { /* same split as documented */
    int q = d / m, rem = d % m;
    *off = l * q + (l < rem ? l : rem);
    *len = q + (l < rem);
}

static void test_decoder_vs_bruteforce(void) {
    unsigned long long rng = 0x9e3779b97f4a7c15ull;
    int cases = 0;
    for (int n = 1; n <= 9; n++)
        for (int d = 1; d <= n; d++)
            for (int m = 1; m <= d; m++)
                for (int trial = 0; trial < 6; trial++) {
                    unsigned char arrived[81];
                    bf_n = n;
                    bf_cnt = 0;
                    for (int i = 0; i < n; i++)
                        for (int l = 0; l < m; l++) {
                            arrived[i * m + l] = (ct_test_rng_next(&rng) % 3) != 0; /* per message */
                            if (!arrived[i * m + l]) continue;
                            int off, len;
                            group(d, m, l, &off, &len);
                            bf_start[bf_cnt] = (i + off) % n;
                            bf_len[bf_cnt++] = len;
                        }
                    if (bf_cnt > 22) continue; /* keep the brute force small */
                    bf_best_cov = 0;
                    bf_rec(0, 0, 0);
                    float coeffs[81];
                    unsigned char rec[9];
                    int nrec = -1;
                    CHECK_OK(ct_alpha_cyclic_decode_flags(n, d, m, arrived, coeffs, rec, &nrec));
                    CHECK(nrec == bf_best_cov, "n=%d d=%d m=%d: decoder %d, brute force %d", n, d, m, nrec, bf_best_cov);
                    /* coefficients: only arrived messages, supports disjoint, weight
                     * n/|R| on exactly the recovered partitions */
                    double w[9] = {0};
                    int okc = 1;
                    for (int i = 0; i < n; i++)
                        for (int l = 0; l < m; l++) {
                            float a = coeffs[i * m + l];
                            if (a == 0) continue;
                            if (!arrived[i * m + l]) okc = 0;
                            int off, len;
                            group(d, m, l, &off, &len);
                            for (int t = 0; t < len; t++) w[(i + off + t) % n] += a;
                        }
                    int cnt = 0;
                    for (int j = 0; j < n; j++) {
                        cnt += rec[j];
                        double want = rec[j] ? (double)n / nrec : 0.0;
                        if (fabs(w[j] - want) > 1e-6) okc = 0;
                    }
                    CHECK(okc && cnt == nrec, "n=%d d=%d m=%d: coefficient weights are not n/|R| on R", n, d, m);
                    cases++;
                }
    CHECK(cases > 300, "only %d decoder cases", cases);
    CHECK(ct_alpha_cyclic_decode_flags(4, 2, 3, (unsigned char[12]){0}, NULL, NULL, NULL) == CT_ERR_INVALID_ARG,
          "m > d accepted");
}

/* ---------------- through the ct_code interface ---------------- */

/* Applies the decode to random partition gradients: the estimate must equal
 * k/|R| times the sum over the recovered partitions. */
static double coded_error(const ct_code *c, const ct_decode_result *r, const float *g /* k x P */) {
    int n = ct_code_n_workers(c), k = ct_code_n_partitions(c);
    double est[P] = {0}, want[P] = {0};
    for (int i = 0; i < n; i++) {
        const int *parts = ct_code_partitions(c, i);
        const float *E = ct_code_encoding(c, i);
        int d = ct_code_load(c, i), m = ct_code_messages(c, i);
        for (int l = 0; l < m; l++) {
            float a = r->coeffs[ct_code_message_index(c, i, l)];
            if (a == 0) continue;
            for (int j = 0; j < d; j++)
                for (int p = 0; p < P; p++) est[p] += (double)a * E[l * d + j] * g[parts[j] * P + p];
        }
    }
    int nrec = 0;
    for (int j = 0; j < k; j++) nrec += r->recovered[j];
    if (nrec == 0) return 0.0;
    for (int j = 0; j < k; j++)
        if (r->recovered[j])
            for (int p = 0; p < P; p++) want[p] += (double)k / nrec * g[j * P + p];
    double num = 0, den = 0;
    for (int p = 0; p < P; p++) num += (est[p] - want[p]) * (est[p] - want[p]), den += want[p] * want[p];
    return sqrt(num / (den > 0 ? den : 1e-30));
}

/* Every straggler set of size <= smax: returns the worst recovered fraction over
 * sets of exactly size smax; *min_small: over sets smaller than smax; checks
 * exactness of the coefficients along the way. */
static double sweep_sets(ct_code *c, int smax, double *min_small, double *max_exact, int *bad_coeff) {
    int n = ct_code_n_workers(c), k = ct_code_n_partitions(c), words = ct_code_mask_words(c);
    uint64_t mask[512];
    float *g = malloc((size_t)k * P * sizeof(float));
    if (!g) return -1;
    unsigned long long rng = 12345 + (unsigned long long)n * 31 + k;
    for (int t = 0; t < k * P; t++) g[t] = ct_test_uniform(&rng, -1.0f, 1.0f);
    double worst = 1.0, worst_small = 1.0, exact_hi = 0.0;
    for (int set = 0; set < (1 << n); set++) {
        int sz = __builtin_popcount(set);
        if (sz > smax) continue;
        memset(mask, 0, (size_t)words * sizeof(uint64_t));
        for (int i = 0; i < n; i++)
            if (!((set >> i) & 1)) ct_code_mask_add_worker(c, i, mask);
        ct_decode_result r;
        ct_status st = ct_code_decode(c, mask, &r);
        if (st != CT_OK || !r.recovered) { (*bad_coeff)++; continue; }
        double f = r.recovered_fraction;
        if (sz == smax) {
            if (f < worst) worst = f;
            if (f > exact_hi) exact_hi = f;
        } else if (f < worst_small) worst_small = f;
        double e = coded_error(c, &r, g);
        if (!(e < 1e-5)) (*bad_coeff)++;
        int nrec = 0;
        for (int j = 0; j < k; j++) nrec += r.recovered[j];
        if (fabs(f - (double)nrec / k) > 1e-12) (*bad_coeff)++;
        if ((nrec == k) != (r.status == CT_DECODE_EXACT)) (*bad_coeff)++;
    }
    free(g);
    *min_small = worst_small;
    *max_exact = exact_hi;
    return worst;
}

static void test_cyclic_codes(void) {
    int built = 0;
    for (int n = 2; n <= 10; n++)
        for (int s = 1; s < n; s += (n > 6 ? 2 : 1))
            for (int d = 1; d <= n; d++) {
                int ms[3] = {1, 2, d};
                for (int mi = 0; mi < 3; mi++) {
                    int m = ms[mi];
                    if (m > d || (mi == 2 && (d == 1 || d == 2))) continue;
                    ct_code_spec sp = CT_CODE_SPEC_INIT;
                    sp.scheme = CT_CODE_ALPHA_CYCLIC;
                    sp.n_workers = n;
                    sp.stragglers = s;
                    sp.load = d;
                    sp.messages = m;
                    ct_code *c = NULL;
                    CHECK_OK(ct_code_create(&sp, &c));
                    if (!c) continue;
                    built++;
                    double claimed = ct_code_get_spec(c)->alpha, worst_exact = 0;
                    CHECK_OK(ct_alpha_cyclic_recovery(n, s, d, m, 0, 1, &worst_exact, NULL));
                    CHECK(fabs(claimed - worst_exact) < 1e-12, "n=%d s=%d d=%d m=%d: spec alpha %g vs %g", n, s, d, m,
                          claimed, worst_exact);
                    double small, hi;
                    int bad = 0;
                    double worst = sweep_sets(c, s, &small, &hi, &bad);
                    CHECK(bad == 0, "n=%d s=%d d=%d m=%d: %d wrong decodes", n, s, d, m, bad);
                    CHECK(worst >= claimed - 1e-12 && fabs(worst - claimed) < 1e-12,
                          "n=%d s=%d d=%d m=%d: worst %g, claimed %g", n, s, d, m, worst, claimed);
                    CHECK(small >= worst - 1e-12, "n=%d s=%d d=%d m=%d: fewer stragglers recover less", n, s, d, m);
                    ct_code_destroy(c);
                }
            }
    CHECK(built > 200, "only %d cyclic codes built", built);

    /* built from alpha alone: d is the smallest load ct_code_alpha_min_load finds */
    double alphas[] = {0.4, 0.6, 0.75, 0.9, 1.0};
    for (int n = 3; n <= 10; n++)
        for (int s = 1; s < n; s += 2)
            for (size_t ai = 0; ai < sizeof alphas / sizeof alphas[0]; ai++)
                for (int m = 1; m <= 2; m++) {
                    double a = alphas[ai], dmin = 0;
                    CHECK_OK(ct_code_alpha_min_load(CT_CODE_ALPHA_CYCLIC, n, s, a, m, &dmin));
                    ct_code_spec sp = CT_CODE_SPEC_INIT;
                    sp.scheme = CT_CODE_ALPHA_CYCLIC;
                    sp.n_workers = n;
                    sp.stragglers = s;
                    sp.messages = m;
                    sp.alpha = a;
                    ct_code *c = NULL;
                    ct_status st = ct_code_create(&sp, &c);
                    if (dmin < m) { /* min load search clamps m to d; the build needs m <= d */
                        if (c) ct_code_destroy(c);
                        continue;
                    }
                    CHECK(st == CT_OK, "n=%d s=%d a=%g m=%d: %s", n, s, a, m, ct_last_error());
                    if (!c) continue;
                    CHECK(ct_code_load(c, 0) == (int)dmin, "n=%d s=%d a=%g m=%d: built d=%d, min load %g", n, s, a,
                          m, ct_code_load(c, 0), dmin);
                    double small, hi;
                    int bad = 0;
                    double worst = sweep_sets(c, s, &small, &hi, &bad);
                    CHECK(bad == 0 && worst >= a - 1e-12, "n=%d s=%d a=%g m=%d d=%g: worst %g (%d bad)", n, s, a, m,
                          dmin, worst, bad);
                    ct_code_destroy(c);
                }
}

/* alpha values that a two-level subset design reaches exactly (the LP weights
 * are then rational and our equal-size partitions realise them) */
static void test_subset_codes(void) {
    int met = 0, built = 0;
    for (int n = 2; n <= 7; n++)
        for (int s = 1; s < n; s++) {
            double alphas[40];
            int na = 0;
            for (int i = 1; i <= 10; i++) alphas[na++] = i / 10.0;
            for (int r = 1; r <= s && na < 36; r++)
                for (int q = 1; q <= 2; q++) { /* q1 = 1, q2 = q */
                    double C1 = 1, C2 = 1, L1 = 1, L2 = 1;
                    for (int i = 1; i <= r; i++) C1 = C1 * (n - r + i) / i, L1 = L1 * (s - r + i) / i;
                    for (int i = 1; i <= r + 1; i++) C2 = C2 * (n - r - 1 + i) / i, L2 = (r + 1 <= s) ? L2 * (s - r - 1 + i) / i : 0;
                    alphas[na++] = 1.0 - (L1 + q * L2) / (C1 + q * C2);
                }
            for (int ai = 0; ai < na; ai++) {
                double a = alphas[ai];
                if (!(a > 0)) continue;
                ct_code_spec sp = CT_CODE_SPEC_INIT;
                sp.scheme = CT_CODE_ALPHA_SUBSET;
                sp.n_workers = n;
                sp.stragglers = s;
                sp.alpha = a;
                ct_code *c = NULL;
                ct_status st = ct_code_create(&sp, &c);
                CHECK(st == CT_OK, "subset n=%d s=%d a=%g: %s", n, s, a, ct_last_error());
                if (!c) continue;
                built++;
                int k = ct_code_n_partitions(c), d = ct_code_load(c, 0);
                ct_alpha_bound b;
                CHECK_OK(ct_alpha_bound_solve(n, s, a, &b));
                ct_alpha_subset_design D;
                CHECK_OK(ct_alpha_subset_plan(n, s, a, 0, &D));
                double load = (double)n * d / k;
                CHECK(k == D.k && d == D.d && ct_code_messages(c, 0) == d, "subset n=%d s=%d: k %d/%d d %d/%d", n, s, k,
                      D.k, d, D.d);
                CHECK(load >= b.load - 1e-9, "subset n=%d s=%d a=%g: load %g below the bound %g", n, s, a, load, b.load);
                double small, hi;
                int bad = 0;
                double worst = sweep_sets(c, s, &small, &hi, &bad);
                CHECK(bad == 0, "subset n=%d s=%d a=%g: %d wrong decodes", n, s, a, bad);
                /* symmetric design: every s-set loses exactly the design average */
                CHECK(fabs(worst - hi) < 1e-12 && fabs(worst - D.alpha) < 1e-12 && worst >= a - 1e-12,
                      "subset n=%d s=%d a=%g: s-sets recover %g..%g, design %g", n, s, a, worst, hi, D.alpha);
                CHECK(small >= worst - 1e-12, "subset n=%d s=%d: fewer stragglers recover less", n, s);
                CHECK(fabs(ct_code_get_spec(c)->alpha - D.alpha) < 1e-12, "spec alpha %g", ct_code_get_spec(c)->alpha);
                if (ai >= 10) { /* an exactly reachable alpha: the design meets the bound */
                    CHECK(fabs(load - b.load) < 1e-9 && fabs((1 - worst) - b.lost) < 1e-9,
                          "subset n=%d s=%d a=%.6f: load %g vs bound %g, lost %g vs %g", n, s, a, load, b.load,
                          1 - worst, b.lost);
                    met++;
                }
                ct_code_destroy(c);
            }
        }
    CHECK(built > 150 && met > 40, "built %d, exact-alpha cases %d", built, met);
}

static void test_bad_specs(void) {
    struct {
        ct_code_scheme scheme;
        int n, s, d, m;
        double alpha;
        const char *needle;
    } bad[] = {
        {CT_CODE_ALPHA_SUBSET, 6, 2, 0, 0, 0.0, "alpha=0 must be set"},
        {CT_CODE_ALPHA_SUBSET, 6, 2, 5, 0, 0.8, "leave d unset"},
        {CT_CODE_ALPHA_SUBSET, 6, 2, 0, 1, 0.8, "leave m unset"},
        {CT_CODE_ALPHA_SUBSET, 6, 6, 0, 0, 0.8, "s=6"},
        {CT_CODE_ALPHA_SUBSET, 40, 20, 0, 0, 0.99, "over the limit"},
        {CT_CODE_ALPHA_CYCLIC, 6, 2, 2, 3, 0.0, "m=3 must be <= load d=2"},
        {CT_CODE_ALPHA_CYCLIC, 8, 3, 2, 1, 0.95, "recovers only"},
        {CT_CODE_ALPHA_CYCLIC, 6, 2, 7, 1, 0.0, "d=7"},
        {CT_CODE_ALPHA_CYCLIC, 6, 2, 2, 1, 1.5, "alpha=1.5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct_code_spec sp = CT_CODE_SPEC_INIT;
        sp.scheme = bad[i].scheme;
        sp.n_workers = bad[i].n;
        sp.stragglers = bad[i].s;
        sp.load = bad[i].d;
        sp.messages = bad[i].m;
        sp.alpha = bad[i].alpha;
        ct_code *c = NULL;
        ct_status st = ct_code_create(&sp, &c);
        CHECK(st == CT_ERR_INVALID_ARG && c == NULL, "bad spec %zu: %s", i, ct_status_str(st));
        CHECK(strstr(ct_last_error(), bad[i].needle) != NULL, "bad spec %zu: '%s' lacks '%s'", i, ct_last_error(),
              bad[i].needle);
        ct_code_destroy(c);
    }
}

/* default alpha-cyclic: d = s+1, m = 1; everything arrives -> exact, weight 1 */
static void test_defaults_and_cache(void) {
    ct_code_spec sp = CT_CODE_SPEC_INIT;
    sp.scheme = CT_CODE_ALPHA_CYCLIC;
    sp.n_workers = 9;
    sp.stragglers = 2;
    ct_code *c = NULL;
    CHECK_OK(ct_code_create(&sp, &c));
    if (!c) return;
    CHECK(ct_code_load(c, 3) == 3 && ct_code_messages(c, 3) == 1 && ct_code_n_partitions(c) == 9,
          "defaults d %d m %d k %d", ct_code_load(c, 3), ct_code_messages(c, 3), ct_code_n_partitions(c));
    uint64_t mask[1] = {0};
    for (int i = 0; i < 9; i++) ct_code_mask_add_worker(c, i, mask);
    ct_decode_result r;
    CHECK_OK(ct_code_decode(c, mask, &r));
    CHECK(r.status == CT_DECODE_EXACT && r.recovered_fraction == 1.0 && r.residual < 1e-12, "all arrived: %d %g %g",
          (int)r.status, r.recovered_fraction, r.residual);
    int ones = 0;
    for (int t = 0; t < 9; t++) ones += r.coeffs[t] == 1.0f;
    CHECK(ones == 3, "all arrived: %d coefficients equal 1 (want 3 disjoint windows)", ones);
    /* worker 0 and 4 straggle: windows {1,2,3},{5,6,7} and one of {8,0,1}.. */
    uint64_t m2[1] = {0};
    for (int i = 0; i < 9; i++) if (i != 0 && i != 4) ct_code_mask_add_worker(c, i, m2);
    CHECK_OK(ct_code_decode(c, m2, &r));
    double f1 = r.recovered_fraction;
    CHECK(fabs(f1 - 1.0) < 1e-12, "9 workers, 0 and 4 out: %g (windows 1,5? no: 2,5,8 cover all)", f1);
    CHECK_OK(ct_code_decode(c, m2, &r));
    CHECK(r.cache_hit == 1 && r.recovered_fraction == f1, "cache: hit %d", r.cache_hit);
    uint64_t none[1] = {0};
    CHECK_OK(ct_code_decode(c, none, &r));
    CHECK(r.status == CT_DECODE_NONE && r.recovered_fraction == 0.0, "nothing arrived: %d %g", (int)r.status,
          r.recovered_fraction);
    ct_code_destroy(c);
}

int main(void) {
    test_decoder_vs_bruteforce();
    test_cyclic_codes();
    test_subset_codes();
    test_bad_specs();
    test_defaults_and_cache();
    return ct_test_done("test_codes_alpha");
}
