/* The partial-recovery lower bound (src/codes/bound.c): closed form against
 * vertex enumeration, against a grid over storage profiles, and against an
 * exhaustive search over integer storage assignments whose worst straggler set
 * is evaluated exactly; the smallest-load search for every alpha scheme. */
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/codes_bound.h"
#include "ct_test.h"

static double binom(int n, int r) {
    if (r < 0 || r > n) return 0;
    double v = 1;
    for (int i = 1; i <= r; i++) v = v * (n - r + i) / i;
    return v;
}

static void test_bad_input(void) {
    ct_alpha_bound b;
    double l;
    struct { int n, s; double alpha; const char *needle; } bad[] = {
        {4, 4, 0.5, "s < n"}, {4, 5, 0.5, "s < n"}, {4, -1, 0.5, "s < n"}, {0, 0, 0.5, "n >= 1"},
        {4, 1, 0.0, "alpha in (0, 1]"}, {4, 1, -0.2, "alpha in (0, 1]"}, {4, 1, 1.5, "alpha in (0, 1]"},
        {4, 1, NAN, "alpha in (0, 1]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct_status st = ct_alpha_bound_solve(bad[i].n, bad[i].s, bad[i].alpha, &b);
        CHECK(st == CT_ERR_INVALID_ARG, "case %zu: status %s", i, ct_status_str(st));
        CHECK(strstr(ct_last_error(), bad[i].needle) != NULL, "case %zu: message '%s' lacks '%s'", i,
              ct_last_error(), bad[i].needle);
        st = ct_alpha_bound_solve_vertices(bad[i].n, bad[i].s, bad[i].alpha, &b);
        CHECK(st == CT_ERR_INVALID_ARG, "vertices case %zu: status %s", i, ct_status_str(st));
        st = ct_code_alpha_lower_bound(bad[i].n, bad[i].s, bad[i].alpha, &l);
        CHECK(st == CT_ERR_INVALID_ARG, "codes.h case %zu: status %s", i, ct_status_str(st));
        st = ct_code_alpha_min_load(CT_CODE_ALPHA_CYCLIC, bad[i].n, bad[i].s, bad[i].alpha, 1, &l);
        CHECK(st == CT_ERR_INVALID_ARG, "min load case %zu: status %s", i, ct_status_str(st));
    }
    CHECK(ct_code_alpha_min_load(CT_CODE_CYCLIC, 4, 1, 0.5, 1, &l) == CT_ERR_INVALID_ARG,
          "min load accepted a non-alpha scheme");
    CHECK(strstr(ct_last_error(), "not alpha-subset or alpha-cyclic") != NULL, "message: %s", ct_last_error());
    CHECK(ct_alpha_bound_solve(4, 1, 0.5, NULL) == CT_ERR_INVALID_ARG, "NULL output accepted");
}

static void test_known_values(void) {
    ct_alpha_bound b;
    /* n = 4, s = 2: p1 = 1/2, p2 = 1/6, p3 = 0. alpha = 3/4: budget 1/4 lies
     * between p2 and p1: t = (1/2 - 1/4)/(1/2 - 1/6) = 3/4, l = 1.75 */
    CHECK_OK(ct_alpha_bound_solve(4, 2, 0.75, &b));
    CHECK(fabs(b.load - 1.75) < 1e-12 && b.r1 == 1 && b.r2 == 2 && fabs(b.w2 - 0.75) < 1e-12,
          "n=4 s=2 a=.75: load %g r %d,%d w2 %g", b.load, b.r1, b.r2, b.w2);
    /* alpha = 1: every partition on s+1 workers */
    CHECK_OK(ct_alpha_bound_solve(7, 3, 1.0, &b));
    CHECK(fabs(b.load - 4) < 1e-12 && b.r1 == 4 && b.r2 == 4, "alpha=1: load %g r1 %d", b.load, b.r1);
    /* alpha <= 1 - s/n: uncoded already loses only s/n */
    CHECK_OK(ct_alpha_bound_solve(10, 3, 0.7, &b));
    CHECK(fabs(b.load - 1) < 1e-12 && b.r1 == 1, "alpha=1-s/n: load %g", b.load);
    CHECK_OK(ct_alpha_bound_solve(10, 0, 1.0, &b));
    CHECK(fabs(b.load - 1) < 1e-12, "s=0: load %g", b.load);
    double l = 0;
    CHECK_OK(ct_code_alpha_lower_bound(4, 2, 0.75, &l));
    CHECK(fabs(l - 1.75) < 1e-12, "codes.h bound %g", l);
    CHECK(fabs(ct_alpha_loss_prob(6, 3, 2) - 3.0 / 15.0) < 1e-15, "C(3,2)/C(6,2) = %g", ct_alpha_loss_prob(6, 3, 2));
}

/* closed form == generic vertex enumeration; the optimum is two consecutive r
 * with the loss constraint tight (unless l = 1) */
static void test_closed_form_vs_vertices(void) {
    int bad = 0;
    for (int n = 1; n <= 40; n++)
        for (int s = 0; s < n; s++) {
            double alphas[64];
            int na = 0;
            for (int i = 1; i <= 20; i++) alphas[na++] = i / 20.0;
            for (int r = 1; r <= s && na < 64; r++) alphas[na++] = 1.0 - ct_alpha_loss_prob(n, s, r); /* breakpoints */
            for (int i = 0; i < na; i++) {
                double a = alphas[i];
                if (!(a > 0)) continue;
                ct_alpha_bound c, v;
                CHECK_OK(ct_alpha_bound_solve(n, s, a, &c));
                CHECK_OK(ct_alpha_bound_solve_vertices(n, s, a, &v));
                /* s = n-1 makes p_r linear in r (every pair ties); otherwise the
                 * points are strictly convex and the generic optimum is consecutive too */
                int ok = fabs(c.load - v.load) < 1e-9 && (c.r2 == c.r1 || c.r2 == c.r1 + 1) &&
                         (s == n - 1 || v.r2 == v.r1 || v.r2 == v.r1 + 1) && fabs(c.w1 + c.w2 - 1) < 1e-12 &&
                         c.w1 >= -1e-12 && c.w2 >= -1e-12 && c.lost <= 1 - a + 1e-9 &&
                         (c.load <= 1 + 1e-12 || fabs(c.lost - (1 - a)) < 1e-9) &&
                         fabs(c.load - (c.w1 * c.r1 + c.w2 * c.r2)) < 1e-12 && c.load <= s + 1 + 1e-12;
                if (!ok && bad++ < 5)
                    CHECK(0, "n=%d s=%d a=%.17g: closed %g (r %d,%d w %g,%g lost %g) vertices %g (r %d,%d)", n, s,
                          a, c.load, c.r1, c.r2, c.w1, c.w2, c.lost, v.load, v.r1, v.r2);
            }
        }
    CHECK(bad == 0, "%d closed-form/vertex disagreements", bad);
}

/* grid over the simplex of storage profiles w (step 1/N): every feasible grid
 * point costs >= the LP optimum, and rounding the optimum onto the grid costs
 * at most 1/N more */
static int grid_N;
static double grid_best;
static void grid_rec(int n, int r, int left, const double *p, double lost, double load, double budget) {
    if (r == n) { /* the rest goes on r = n */
        double lo = lost + (double)left / grid_N * p[n], ld = load + (double)left / grid_N * n;
        if (lo <= budget + 1e-12 && ld < grid_best) grid_best = ld;
        return;
    }
    for (int c = 0; c <= left; c++)
        grid_rec(n, r + 1, left - c, p, lost + (double)c / grid_N * p[r], load + (double)c / grid_N * r, budget);
}

static void test_grid(void) {
    grid_N = 36;
    for (int n = 1; n <= 5; n++)
        for (int s = 0; s < n; s++) {
            double p[8];
            for (int r = 1; r <= n; r++) p[r] = ct_alpha_loss_prob(n, s, r);
            for (int ai = 1; ai <= 10; ai++) {
                double a = ai / 10.0;
                ct_alpha_bound b;
                CHECK_OK(ct_alpha_bound_solve(n, s, a, &b));
                grid_best = 1e30;
                grid_rec(n, 1, grid_N, p, 0, 0, 1 - a);
                CHECK(grid_best >= b.load - 1e-9, "n=%d s=%d a=%g: grid %g below the LP %g", n, s, a, grid_best, b.load);
                CHECK(grid_best <= b.load + 1.0 / grid_N + 1e-9, "n=%d s=%d a=%g: grid %g far above the LP %g", n, s,
                      a, grid_best, b.load);
            }
        }
}

/* Exhaustive over integer storage assignments: k <= K partitions of equal
 * size, each on a nonempty set of workers (a multiset of worker masks), the
 * recovered fraction taken on the WORST straggler set of size s. This checks
 * that the bound holds for real assignments (not only on average), and that
 * our subset design is as cheap as the best assignment with the same k. */
#define BF_MAX_SETS 32
static int bf_n, bf_nsets, bf_sets[BF_MAX_SETS], bf_lost[BF_MAX_SETS];
static double bf_best[16][BF_MAX_SETS + 1]; /* [k][worst lost] -> least total copies */
static void bf_rec(int min_mask, int k, int copies, int K) {
    if (k > 0) {
        int worst = 0;
        for (int t = 0; t < bf_nsets; t++) if (bf_lost[t] > worst) worst = bf_lost[t];
        if (copies < bf_best[k][worst]) bf_best[k][worst] = copies;
    }
    if (k == K) return;
    for (int mask = min_mask; mask < (1 << bf_n); mask++) {
        for (int t = 0; t < bf_nsets; t++) bf_lost[t] += (mask & ~bf_sets[t]) == 0;
        bf_rec(mask, k + 1, copies + __builtin_popcount(mask), K);
        for (int t = 0; t < bf_nsets; t++) bf_lost[t] -= (mask & ~bf_sets[t]) == 0;
    }
}

static void test_bruteforce_assignments(void) {
    struct { int n, K; } cases[] = {{2, 10}, {3, 8}, {4, 6}, {5, 4}};
    int met = 0, total = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int n = cases[ci].n, K = cases[ci].K;
        for (int s = 0; s < n; s++) {
            bf_n = n;
            bf_nsets = 0;
            for (int m = 0; m < (1 << n); m++)
                if (__builtin_popcount(m) == s) bf_sets[bf_nsets++] = m;
            memset(bf_lost, 0, sizeof bf_lost);
            for (int k = 0; k <= K; k++)
                for (int l = 0; l <= BF_MAX_SETS; l++) bf_best[k][l] = 1e30;
            bf_rec(1, 0, 0, K);
            /* alphas: every fraction 1 - lost/k reachable with k <= K, plus a grid */
            for (int k = 1; k <= K; k++)
                for (int lost = 0; lost < k; lost++) {
                    double a = 1.0 - (double)lost / k;
                    double bf = 1e30; /* least load over assignments with k' <= K reaching a */
                    for (int k2 = 1; k2 <= K; k2++)
                        for (int l2 = 0; l2 <= k2 && l2 <= BF_MAX_SETS; l2++)
                            if (1.0 - (double)l2 / k2 >= a - 1e-12 && bf_best[k2][l2] / k2 < bf)
                                bf = bf_best[k2][l2] / k2;
                    ct_alpha_bound b;
                    CHECK_OK(ct_alpha_bound_solve(n, s, a, &b));
                    CHECK(bf >= b.load - 1e-9, "n=%d s=%d a=%g: an assignment with load %g beats the bound %g", n, s,
                          a, bf, b.load);
                    ct_alpha_subset_design D;
                    ct_status st = ct_alpha_subset_plan(n, s, a, K, &D);
                    if (st == CT_OK) {
                        CHECK(bf <= D.load + 1e-9, "n=%d s=%d a=%g: brute force %g worse than our design %g (k=%d)",
                              n, s, a, bf, D.load, D.k);
                        CHECK(D.alpha >= a - 1e-12 && D.load >= b.load - 1e-9, "n=%d s=%d a=%g: design alpha %g load %g",
                              n, s, a, D.alpha, D.load);
                    }
                    total++;
                    met += fabs(bf - b.load) < 1e-9;
                }
        }
    }
    printf("brute force: the bound is attained by an integer assignment in %d of %d cases\n", met, total);
    CHECK(met > total / 4, "bound attained in only %d of %d cases", met, total);
}

/* every scheme's smallest load is feasible, minimal, and above the bound */
static void test_min_load(void) {
    double alphas[] = {0.3, 0.5, 0.65, 0.8, 0.9, 1.0};
    for (int n = 2; n <= 11; n++)
        for (int s = 0; s < n; s += (n > 6 ? 2 : 1))
            for (size_t ai = 0; ai < sizeof alphas / sizeof alphas[0]; ai++) {
                double a = alphas[ai], lb, l;
                CHECK_OK(ct_code_alpha_lower_bound(n, s, a, &lb));
                CHECK_OK(ct_code_alpha_min_load(CT_CODE_ALPHA_SUBSET, n, s, a, 0, &l));
                /* equal-size partitions under the k limit: near the bound for small
                 * n, never above the pure r2 design */
                ct_alpha_bound b;
                CHECK_OK(ct_alpha_bound_solve(n, s, a, &b));
                CHECK(l >= lb - 1e-9 && l <= b.r2 + 1e-9 && (n > 6 || l <= lb + 0.05),
                      "subset n=%d s=%d a=%g: load %g bound %g", n, s, a, l, lb);
                int ms[] = {1, 2, n}; /* m = n: every partition separately */
                for (int mi = 0; mi < 3; mi++) {
                    int m = ms[mi];
                    CHECK_OK(ct_alpha_min_load(CT_ALPHA_SCHEME_CYCLIC, n, s, a, m, 100, 1, &l));
                    CHECK(l >= lb - 1e-9 && l <= n, "cyclic n=%d s=%d a=%g m=%d: d %g bound %g", n, s, a, m, l, lb);
                    int d = (int)l, ok = 0;
                    double worst = 0;
                    CHECK_OK(ct_alpha_cyclic_recovery(n, s, d, m, 100, 1, &worst, NULL));
                    CHECK(worst >= a - 1e-9, "cyclic n=%d s=%d a=%g m=%d d=%d: worst %g", n, s, a, m, d, worst);
                    for (int d2 = 1; d2 < d; d2++) {
                        CHECK_OK(ct_alpha_cyclic_reaches(n, s, d2, m, a, 100, 1, &ok));
                        CHECK(!ok, "cyclic n=%d s=%d a=%g m=%d: d=%d also works, min said %d", n, s, a, m, d2, d);
                    }
                    if (m == n) /* all separately: lost = the s-d+1 partitions inside a block of s */
                        CHECK(fabs(worst - (1.0 - (s - d + 1 > 0 ? s - d + 1 : 0) / (double)n)) < 1e-12,
                              "separate n=%d s=%d d=%d: worst %g", n, s, d, worst);
                }
            }
    /* Monte Carlo regime (n > 16): separate sends have a closed-form worst case,
     * reached by the contiguous block the search always tries */
    double worst = 0, mean = 0;
    CHECK_OK(ct_alpha_cyclic_recovery(24, 5, 3, 24, 200, 7, &worst, &mean));
    CHECK(fabs(worst - (1 - 3.0 / 24)) < 1e-12 && mean >= worst, "n=24 separate: worst %g mean %g", worst, mean);
    double l;
    CHECK_OK(ct_alpha_min_load(CT_ALPHA_SCHEME_CYCLIC, 24, 5, 0.9, 1, 200, 7, &l));
    CHECK(l >= 1 && l <= 24, "n=24 m=1: d %g", l);
    /* exhaustive means agree with a direct average over all sets (rotation trick) */
    CHECK_OK(ct_alpha_cyclic_recovery(7, 3, 2, 1, 0, 1, &worst, &mean));
    double sum = 0;
    int cnt = 0;
    for (int mask = 0; mask < 128; mask++) {
        if (__builtin_popcount(mask) != 3) continue;
        unsigned char arr[7];
        int rec = 0;
        for (int i = 0; i < 7; i++) arr[i] = !((mask >> i) & 1);
        CHECK_OK(ct_alpha_cyclic_decode_flags(7, 2, 1, arr, NULL, NULL, &rec));
        sum += rec / 7.0;
        cnt++;
    }
    CHECK(fabs(mean - sum / cnt) < 1e-12, "rotation-reduced mean %g vs full %g", mean, sum / cnt);
    /* just past the exhaustive limit (n = 17..19, sets containing worker 0 by
     * rotation): the Monte Carlo search with its adversarial walk must find the
     * true worst case, and can never report below it */
    int eq = 0, tot = 0;
    for (int n = 17; n <= 19; n++)
        for (int s = 2; s <= 4; s++)
            for (int d = 2; d <= 5; d++)
                for (int m = 1; m <= 2; m++) {
                    double ex = 1, mc = 0;
                    unsigned char arr[40];
                    for (long mask = 1; mask < (1L << n); mask += 2) {
                        if (__builtin_popcountl(mask) != s) continue;
                        for (int i = 0; i < n; i++)
                            for (int q = 0; q < m; q++) arr[i * m + q] = !((mask >> i) & 1);
                        int rec = 0;
                        CHECK_OK(ct_alpha_cyclic_decode_flags(n, d, m, arr, NULL, NULL, &rec));
                        if ((double)rec / n < ex) ex = (double)rec / n;
                    }
                    CHECK_OK(ct_alpha_cyclic_recovery(n, s, d, m, 300, 1, &mc, NULL));
                    CHECK(mc >= ex - 1e-12, "n=%d s=%d d=%d m=%d: Monte Carlo %g below the true worst %g", n, s, d, m, mc, ex);
                    eq += fabs(mc - ex) < 1e-12;
                    tot++;
                }
    CHECK(eq == tot, "Monte Carlo found the true worst case in %d of %d cases", eq, tot);
    /* a subset design too large to build is "no load", not an error */
    CHECK_OK(ct_code_alpha_min_load(CT_CODE_ALPHA_SUBSET, 40, 20, 0.99, 0, &l));
    CHECK(l == -1.0, "n=40 s=20 subset: %g, want -1", l);
    CHECK(ct_alpha_cyclic_recovery(30, 3, 2, 1, 0, 1, &worst, NULL) == CT_ERR_INVALID_ARG, "trials 0 accepted for n > 16");
    CHECK(ct_alpha_cyclic_recovery(8, 3, 9, 1, 10, 1, &worst, NULL) == CT_ERR_INVALID_ARG, "d > n accepted");
    (void)binom;
}

int main(void) {
    test_bad_input();
    test_known_values();
    test_closed_form_vs_vertices();
    test_grid();
    test_bruteforce_assignments();
    test_min_load();
    return ct_test_done("test_codes_bound");
}
