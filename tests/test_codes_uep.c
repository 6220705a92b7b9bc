/* UEP-coded approximate matrix multiplication (src/codes/uep*.c):
 * partitioning and packets against direct products; the decoder's recovered
 * blocks against independent rank computations (generic, NOW and EW rules)
 * and exact recovery of the values; the analytic decoding probabilities
 * against brute-force multinomial sums and against the Monte Carlo with real
 * packets (4 sigma); the error of C_hat against the missing blocks' energy;
 * bad parameters refused. */
#include <string.h>

#include "codedtrain/uep.h"
#include "ct_test.h"

static const ct_uep_params PAPER = {3, {3, 3, 3}, {0.40, 0.35, 0.25}};

/* rank by Gaussian elimination with partial pivoting (row-major m x n, the
 * columns in `cols` only, or all when cols == NULL); independent of the SVD
 * the decoder uses */
static int rank_ge(const double *G, int m, int n, const int *rows, int n_rows, const int *cols, int n_cols) {
    double a[64 * 64];
    int R = rows ? n_rows : m, Cn = cols ? n_cols : n;
    double amax = 0;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < Cn; j++) {
            double v = G[(size_t)(rows ? rows[i] : i) * n + (cols ? cols[j] : j)];
            a[i * 64 + j] = v;
            if (fabs(v) > amax) amax = fabs(v);
        }
    double tol = 1e-9 * (amax > 0 ? amax : 1);
    int r = 0;
    for (int j = 0; j < Cn && r < R; j++) {
        int piv = r;
        for (int i = r + 1; i < R; i++)
            if (fabs(a[i * 64 + j]) > fabs(a[piv * 64 + j])) piv = i;
        if (fabs(a[piv * 64 + j]) <= tol) continue;
        for (int t = 0; t < Cn; t++) {
            double x = a[r * 64 + t];
            a[r * 64 + t] = a[piv * 64 + t];
            a[piv * 64 + t] = x;
        }
        for (int i = r + 1; i < R; i++) {
            double f = a[i * 64 + j] / a[r * 64 + j];
            for (int t = j; t < Cn; t++) a[i * 64 + t] -= f * a[r * 64 + t];
        }
        r++;
    }
    (void)m;
    return r;
}

static void test_bad_params(void) {
    struct {
        ct_uep_params p;
        int n_blocks;
        const char *needle;
    } bad[] = {
        {{3, {3, 3, 3}, {0.5, 0.35, 0.25}}, 9, "gamma sums to"},
        {{3, {3, 3, 3}, {0.4, 0.35, 0.2}}, 9, "gamma sums to"},
        {{3, {3, 0, 6}, {0.4, 0.35, 0.25}}, 9, "k[1]=0"},
        {{3, {3, -1, 7}, {0.4, 0.35, 0.25}}, 9, "k[1]=-1"},
        {{3, {3, 3, 3}, {0.4, -0.1, 0.7}}, 9, "gamma[1]"},
        {{3, {3, 3, 3}, {0.4, NAN, 0.25}}, 9, "gamma[1]"},
        {{3, {3, 3, 2}, {0.4, 0.35, 0.25}}, 9, "sum of k = 8"},
        {{0, {0}, {0}}, 9, "number of classes 0"},
        {{9, {1}, {1}}, 9, "number of classes 9"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct_status st = ct_uep_params_check(&bad[i].p, bad[i].n_blocks);
        CHECK(st == CT_ERR_INVALID_ARG, "case %zu: %s", i, ct_status_str(st));
        CHECK(strstr(ct_last_error(), bad[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i, ct_last_error(),
              bad[i].needle);
        double pm[8], pc[3];
        if (bad[i].p.n_classes >= 1 && bad[i].p.n_classes <= 3 && !strstr(bad[i].needle, "sum of k")) {
            CHECK(ct_uep_pattern_probs(CT_UEP_NOW, &bad[i].p, 5, 0.5, pm) == CT_ERR_INVALID_ARG, "case %zu probs", i);
            CHECK(ct_uep_analyze(CT_UEP_EW, &bad[i].p, 5, 0.5, NULL, pc, NULL) == CT_ERR_INVALID_ARG, "case %zu an", i);
        }
    }
    double A[4 * 4], B[4 * 4];
    for (int i = 0; i < 16; i++) A[i] = B[i] = 1 + i;
    ct_uep_partition *p = NULL;
    CHECK(ct_uep_partition_build(A, B, 2, 4, 4, CT_UEP_RXC, 3, &PAPER, &p) == CT_ERR_INVALID_ARG && !p,
          "rows < parts accepted");
    CHECK(strstr(ct_last_error(), "rows (2)") != NULL, "message: %s", ct_last_error());
    CHECK(ct_uep_partition_build(A, B, 4, 4, 4, CT_UEP_CXR, 9, &PAPER, &p) == CT_ERR_INVALID_ARG && !p,
          "inner < parts accepted");
    CHECK(ct_uep_partition_build(A, B, 4, 0, 4, CT_UEP_RXC, 3, &PAPER, &p) == CT_ERR_INVALID_ARG, "inner 0 accepted");
    ct_uep_params two = {2, {4, 4}, {0.5, 0.5}};
    CHECK(ct_uep_partition_build(A, B, 4, 4, 4, CT_UEP_RXC, 3, &two, &p) == CT_ERR_INVALID_ARG, "sum k 8 vs 9 blocks");
    CHECK(strstr(ct_last_error(), "number of blocks 9") != NULL, "message: %s", ct_last_error());
    double pm[8];
    CHECK(ct_uep_pattern_probs(CT_UEP_NOW, &PAPER, 5, 1.5, pm) == CT_ERR_INVALID_ARG, "p_arrive 1.5 accepted");
    CHECK(ct_uep_pattern_probs(CT_UEP_NOW, &PAPER, -1, 0.5, pm) == CT_ERR_INVALID_ARG, "workers -1 accepted");
    ct_rng rng;
    ct_rng_seed(&rng, 1);
    double co[9 * 2];
    CHECK(ct_uep_draw_packets(CT_UEP_NOW, &PAPER, 8, 2, &rng, co, NULL) == CT_ERR_INVALID_ARG, "8 blocks accepted");
    double var[3] = {10, 1, 0};
    CHECK(ct_uep_random_matrices(CT_UEP_RXC, 4, 4, 4, 3, 3, var, &rng, A, B) == CT_ERR_INVALID_ARG,
          "variance 0 accepted");
    CHECK(strstr(ct_last_error(), "variances[2]") != NULL, "message: %s", ct_last_error());
    /* simulation config */
    double var_ok[3] = {10, 1, 0.1};
    double A2[9 * 9], B2[9 * 9];
    CHECK_OK(ct_uep_random_matrices(CT_UEP_RXC, 9, 9, 9, 3, 3, var_ok, &rng, A2, B2));
    CHECK_OK(ct_uep_partition_build(A2, B2, 9, 9, 9, CT_UEP_RXC, 3, &PAPER, &p));
    ct_uep_scheme sc = CT_UEP_NOW;
    ct_uep_sim_result res;
    ct_uep_sim_config cfgs[] = {{0, 1, 1, 10, 1}, {5, 0, 1, 10, 1}, {5, 1, -1, 10, 1}, {5, 1, 1, 0, 1}};
    const char *needles[] = {"workers=0", "lambda=0", "deadline=-1", "trials=0"};
    for (int i = 0; i < 4; i++) {
        CHECK(ct_uep_simulate(p, &PAPER, &sc, 1, &cfgs[i], &res) == CT_ERR_INVALID_ARG, "sim cfg %d accepted", i);
        CHECK(strstr(ct_last_error(), needles[i]) != NULL, "message '%s' lacks '%s'", ct_last_error(), needles[i]);
    }
    ct_uep_partition_free(p);
}

/* direct C = A B */
static void matmul(const double *A, const double *B, int R, int M, int Cc, double *C) {
    for (int r = 0; r < R; r++)
        for (int c = 0; c < Cc; c++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += A[r * M + m] * B[m * Cc + c];
            C[r * Cc + c] = s;
        }
}

static int has_block(const ct_uep_partition *p, int b0, int b1, int i, int j) {
    for (int b = b0; b < b1; b++)
        if (p->block_a[b] == i && p->block_b[b] == j) return 1;
    return 0;
}

static void test_partition_and_packets(void) {
    enum { R = 31, M = 20, Cc = 26 }; /* sizes not divisible by 3: padded blocks */
    static double A[R * M], B[M * Cc], C[R * Cc], Ch[R * Cc], Y[R * Cc], X[9 * R * Cc];
    double var[3] = {10, 1, 0.1};
    ct_rng rng;
    ct_rng_seed(&rng, 7);
    for (int par = 0; par < 2; par++) {
        ct_uep_paradigm pd = par ? CT_UEP_CXR : CT_UEP_RXC;
        CHECK_OK(ct_uep_random_matrices(pd, R, M, Cc, 9 / (par ? 1 : 3), 3, var, &rng, A, B));
        matmul(A, B, R, M, Cc, C);
        ct_uep_partition *p = NULL;
        CHECK_OK(ct_uep_partition_build(A, B, R, M, Cc, pd, par ? 9 : 3, &PAPER, &p));
        if (!p) continue;
        for (int b = 1; b < 9; b++)
            CHECK(p->importance[b] <= p->importance[b - 1] * (1 + 1e-12) || par, "importance not decreasing at %d", b);
        if (!par) {
            /* k = (3,3,3) on 3x3 groups: the authors' map [[0,0,1],[0,1,2],[1,2,2]] */
            CHECK(has_block(p, 0, 3, 0, 0) && has_block(p, 0, 3, 0, 1) && has_block(p, 0, 3, 1, 0), "class 0 wrong");
            CHECK(has_block(p, 3, 6, 1, 1) && has_block(p, 3, 6, 0, 2) && has_block(p, 3, 6, 2, 0), "class 1 wrong");
            CHECK(has_block(p, 6, 9, 1, 2) && has_block(p, 6, 9, 2, 1) && has_block(p, 6, 9, 2, 2), "class 2 wrong");
            /* sorted rows: every row of group 0 has larger mean |entry| than group 1's */
            double min0 = INFINITY, max1 = 0;
            for (int r = 0; r < R; r++) {
                double s = 0;
                for (int m = 0; m < M; m++) s += fabs(p->A_sorted[r * M + m]);
                if (r < p->row_start[1]) min0 = fmin(min0, s);
                else if (r < p->row_start[2]) max1 = fmax(max1, s);
            }
            CHECK(min0 > max1, "rows not sorted: %g <= %g", min0, max1);
        }
        /* packets: unit weights give the block products; a random packet is
         * the weighted sum; all blocks assemble to C */
        size_t len = (size_t)p->out_rows * p->out_cols;
        double w[9] = {0}, wr[9];
        unsigned char all[9];
        for (int b = 0; b < 9; b++) {
            w[b] = 1;
            CHECK_OK(ct_uep_packet_compute(p, w, X + b * len));
            w[b] = 0;
            all[b] = 1;
            wr[b] = ct_rng_normal(&rng);
        }
        CHECK_OK(ct_uep_assemble(p, X, all, Ch));
        double num = 0, den = 0;
        for (int t = 0; t < R * Cc; t++) num += (Ch[t] - C[t]) * (Ch[t] - C[t]), den += C[t] * C[t];
        CHECK(sqrt(num / den) < 1e-12, "%s: assembled blocks differ from A B: %g", ct_uep_paradigm_name(pd),
              sqrt(num / den));
        CHECK_OK(ct_uep_packet_compute(p, wr, Y));
        num = den = 0;
        for (size_t t = 0; t < len; t++) {
            double s = 0;
            for (int b = 0; b < 9; b++) s += wr[b] * X[b * len + t];
            num += (Y[t] - s) * (Y[t] - s), den += s * s;
        }
        CHECK(sqrt(num / den) < 1e-12, "%s: packet is not the weighted block sum: %g", ct_uep_paradigm_name(pd),
              sqrt(num / den));
        if (!par) {
            /* block (i,j) equals A_i B_j taken from the original matrices */
            for (int b = 0; b < 9; b++) {
                int i = p->block_a[b], j = p->block_b[b];
                double e = 0, ref = 0;
                for (int r = p->row_start[i]; r < p->row_start[i + 1]; r++)
                    for (int c = p->col_start[j]; c < p->col_start[j + 1]; c++) {
                        double want = C[p->row_order[r] * Cc + p->col_order[c]];
                        double d = X[b * len + (r - p->row_start[i]) * p->out_cols + (c - p->col_start[j])] - want;
                        e += d * d;
                        ref += want * want;
                    }
                /* two dgemm orders of the same sums: relative to the block's norm */
                CHECK(sqrt(e) <= 1e-12 * sqrt(ref) + 1e-300, "block %d differs from A_i B_j: %g of %g", b, sqrt(e),
                      sqrt(ref));
            }
        }
        ct_uep_partition_free(p);
    }
    /* k = (1,2,6): the map of SCHEMES.md, [[0,1,2],[1,2,2],[2,2,2]] */
    ct_uep_params k126 = {3, {1, 2, 6}, {0.4, 0.35, 0.25}};
    CHECK_OK(ct_uep_random_matrices(CT_UEP_RXC, R, M, Cc, 3, 3, var, &rng, A, B));
    ct_uep_partition *p = NULL;
    CHECK_OK(ct_uep_partition_build(A, B, R, M, Cc, CT_UEP_RXC, 3, &k126, &p));
    if (p) {
        CHECK(has_block(p, 0, 1, 0, 0) && has_block(p, 1, 3, 0, 1) && has_block(p, 1, 3, 1, 0), "k=(1,2,6) map wrong");
        ct_uep_partition_free(p);
    }
}

/* The decoder against independent rank computations, and exact recovery. */
static void test_decoder(void) {
    ct_rng rng;
    ct_rng_seed(&rng, 11);
    enum { NMAX = 24, K = 9, LEN = 5 };
    double co[NMAX * K], G[NMAX * K], x[K * LEN], Y[NMAX * LEN], X[K * LEN], D[K * NMAX];
    int win[NMAX], cls[K] = {0, 0, 0, 1, 1, 1, 2, 2, 2}, Kend[3] = {3, 6, 9};
    long claims = 0, recoverable = 0, mism = 0;
    double worst_rel = 0;
    for (int trial = 0; trial < 3000; trial++) {
        ct_uep_scheme sc = (ct_uep_scheme)(trial % 4);
        int n = (int)ct_rng_below(&rng, NMAX + 1);
        CHECK_OK(ct_uep_draw_packets(sc, &PAPER, K, NMAX, &rng, co, win));
        /* a random subset of n of the NMAX packets arrived */
        int perm[NMAX];
        for (int i = 0; i < NMAX; i++) perm[i] = i;
        for (int i = NMAX - 1; i > 0; i--) {
            int j = (int)ct_rng_below(&rng, i + 1), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        int wa[NMAX];
        for (int q = 0; q < n; q++) {
            memcpy(G + q * K, co + perm[q] * K, K * sizeof(double));
            wa[q] = win[perm[q]];
        }
        unsigned char rec[K];
        int rank = -1;
        CHECK_OK(ct_uep_decode_matrix(G, n, K, D, rec, &rank));
        int rG = rank_ge(G, n, K, NULL, n, NULL, K);
        CHECK(rank == rG, "trial %d: decoder rank %d, elimination %d", trial, rank, rG);
        /* generic rule: e_b in the row space iff removing column b drops the rank */
        for (int b = 0; b < K; b++) {
            int others[K], no = 0;
            for (int c = 0; c < K; c++)
                if (c != b) others[no++] = c;
            int want = n > 0 && rank_ge(G, n, K, NULL, n, others, no) == rG - 1;
            if (want != rec[b]) mism++;
            CHECK(want == rec[b], "trial %d (%s, %d arrived): block %d recovered=%d, rank test says %d", trial,
                  ct_uep_scheme_name(sc), n, b, rec[b], want);
            claims += rec[b];
            recoverable += want;
        }
        unsigned char ok[3];
        ct_uep_class_flags(&PAPER, rec, ok);
        if (sc == CT_UEP_NOW) {
            /* class l iff its window's packets have rank k_l on class l's columns */
            for (int l = 0; l < 3; l++) {
                int rows[NMAX], nr = 0, cols[3] = {Kend[l] - 3, Kend[l] - 2, Kend[l] - 1};
                for (int q = 0; q < n; q++)
                    if (wa[q] == l) rows[nr++] = q;
                int want = nr > 0 && rank_ge(G, n, K, rows, nr, cols, 3) == 3;
                CHECK(want == ok[l], "NOW trial %d class %d: decoded %d, rank rule %d", trial, l, ok[l], want);
            }
        } else if (sc == CT_UEP_EW) {
            /* classes 0..m decode for the largest m whose windows 0..m have rank K_m on the first K_m columns */
            int last = -1;
            for (int m = 0; m < 3; m++) {
                int rows[NMAX], nr = 0, cols[K];
                for (int q = 0; q < n; q++)
                    if (wa[q] <= m) rows[nr++] = q;
                for (int c = 0; c < Kend[m]; c++) cols[c] = c;
                if (nr > 0 && rank_ge(G, n, K, rows, nr, cols, Kend[m]) == Kend[m]) last = m;
            }
            for (int l = 0; l < 3; l++)
                CHECK(ok[l] == (l <= last), "EW trial %d class %d: decoded %d, successive rule %d", trial, l, ok[l],
                      l <= last);
        } else if (sc == CT_UEP_EEP) {
            for (int l = 0; l < 3; l++) CHECK(ok[l] == (n >= K), "EEP trial %d: %d arrived, class %d %d", trial, n, l, ok[l]);
        }
        /* values: recovered blocks exact, the rest zero */
        for (int t = 0; t < K * LEN; t++) x[t] = ct_rng_normal(&rng) * (1 + cls[t / LEN]);
        for (int q = 0; q < n; q++)
            for (int t = 0; t < LEN; t++) {
                double s = 0;
                for (int b = 0; b < K; b++) s += G[q * K + b] * x[b * LEN + t];
                Y[q * LEN + t] = s;
            }
        unsigned char rec2[K];
        CHECK_OK(ct_uep_decode(G, Y, n, K, LEN, X, rec2));
        /* The SVD solve's error is eps * cond(G) * |x| and the BLAS kernel (Intel vs
         * AMD) changes its last bits, so the bound is relative to the largest value
         * involved; a wrong decode is off by O(|x|). */
        double xmax = 0;
        for (int t = 0; t < K * LEN; t++) xmax = fmax(xmax, fabs(x[t]));
        for (int b = 0; b < K; b++) {
            CHECK(rec2[b] == rec[b], "decode and decode_matrix disagree");
            double e = 0;
            for (int t = 0; t < LEN; t++) {
                double d = X[b * LEN + t] - (rec2[b] ? x[b * LEN + t] : 0.0);
                e = fmax(e, fabs(d));
            }
            if (e / xmax > worst_rel) worst_rel = e / xmax;
            CHECK(e <= 1e-6 * xmax, "trial %d block %d (recovered %d): error %g, relative %g", trial, b, rec2[b], e,
                  e / xmax);
        }
    }
    CHECK(claims == recoverable && mism == 0 && claims > 1000, "claims %ld recoverable %ld", claims, recoverable);
    printf("decode: worst error relative to max|x|: %.3g\n", worst_rel);
    /* a block reachable only by cancellation: rows [1,1,0,...], [1,1,1,0,...] give e_2 */
    double Gc[2 * K] = {0};
    Gc[0] = Gc[1] = 1;
    Gc[K] = Gc[K + 1] = Gc[K + 2] = 1;
    unsigned char rc[K];
    CHECK_OK(ct_uep_decode_matrix(Gc, 2, K, D, rc, NULL));
    CHECK(rc[2] == 1 && rc[0] == 0 && rc[1] == 0 && rc[3] == 0, "cancellation case: %d %d %d %d", rc[0], rc[1], rc[2],
          rc[3]);
    /* nothing arrived */
    CHECK_OK(ct_uep_decode_matrix(NULL, 0, K, D, rc, NULL));
    int none = 1;
    for (int b = 0; b < K; b++) none &= rc[b] == 0;
    CHECK(none, "blocks recovered from no packets");
}

/* multinomial coefficient N! / (n0! n1! n2! n3!) * prod q^n */
static double multinom(int n0, int n1, int n2, int n3, const double *q) {
    double lc = lgamma(n0 + n1 + n2 + n3 + 1.0) - lgamma(n0 + 1.0) - lgamma(n1 + 1.0) - lgamma(n2 + 1.0) -
                lgamma(n3 + 1.0);
    double v = lc;
    int n[4] = {n0, n1, n2, n3};
    for (int i = 0; i < 4; i++) {
        if (n[i] == 0) continue;
        if (q[i] <= 0) return 0;
        v += n[i] * log(q[i]);
    }
    return exp(v);
}

/* the recursion against a direct sum over all multinomial outcomes */
static void test_analytic_brute(void) {
    double ps[] = {1.0, 0.632, 0.3};
    int Ns[] = {0, 3, 8, 15, 30};
    for (int ip = 0; ip < 3; ip++)
        for (int iN = 0; iN < 5; iN++) {
            int N = Ns[iN];
            double p = ps[ip], q[4] = {p * 0.4, p * 0.35, p * 0.25, 1 - p};
            double now[3] = {0}, ew[3] = {0}, tot = 0;
            for (int a = 0; a <= N; a++)
                for (int b = 0; a + b <= N; b++)
                    for (int c = 0; a + b + c <= N; c++) {
                        double w = multinom(a, b, c, N - a - b - c, q);
                        tot += w;
                        now[0] += w * (a >= 3), now[1] += w * (b >= 3), now[2] += w * (c >= 3);
                        int R0 = a < 3 ? a : 3, R1 = R0 + b < 6 ? R0 + b : 6, R2 = R1 + c < 9 ? R1 + c : 9;
                        int last = R2 == 9 ? 2 : R1 == 6 ? 1 : R0 == 3 ? 0 : -1;
                        for (int l = 0; l <= last; l++) ew[l] += w;
                    }
            CHECK(fabs(tot - 1) < 1e-9, "multinomial total %g", tot);
            double pn[3], pe[3];
            CHECK_OK(ct_uep_analyze(CT_UEP_NOW, &PAPER, N, p, NULL, pn, NULL));
            CHECK_OK(ct_uep_analyze(CT_UEP_EW, &PAPER, N, p, NULL, pe, NULL));
            for (int l = 0; l < 3; l++) {
                CHECK(fabs(pn[l] - now[l]) < 1e-10, "NOW N=%d p=%g class %d: %g vs brute %g", N, p, l, pn[l], now[l]);
                CHECK(fabs(pe[l] - ew[l]) < 1e-10, "EW N=%d p=%g class %d: %g vs brute %g", N, p, l, pe[l], ew[l]);
            }
            /* EW decodes a prefix: P(class 0) >= P(class 1) >= P(class 2) */
            CHECK(pe[0] >= pe[1] - 1e-12 && pe[1] >= pe[2] - 1e-12, "EW not nested at N=%d", N);
        }
    /* NOW marginal closed form: class l decodes iff Binomial(N, p Gamma_l) >= k_l */
    double pn[3];
    CHECK_OK(ct_uep_analyze(CT_UEP_NOW, &PAPER, 10, 0.5, NULL, pn, NULL));
    double q = 0.5 * 0.4, cdf2 = 0;
    for (int n = 0; n < 3; n++) cdf2 += exp(lgamma(11.0) - lgamma(n + 1.0) - lgamma(11.0 - n) + n * log(q) + (10 - n) * log(1 - q));
    CHECK(fabs(pn[0] - (1 - cdf2)) < 1e-12, "NOW class 0: %g vs %g", pn[0], 1 - cdf2);
}

/* Monte Carlo with real packets against the analysis (4 sigma). */
static void test_monte_carlo(void) {
    double var[3] = {10, 1, 0.1};
    ct_rng rng;
    ct_rng_seed(&rng, 3);
    ct_uep_scheme all[4] = {CT_UEP_NOW, CT_UEP_EW, CT_UEP_EEP, CT_UEP_UNCODED};
    for (int par = 0; par < 2; par++) {
        ct_uep_paradigm pd = par ? CT_UEP_CXR : CT_UEP_RXC;
        int R = 12, M = par ? 18 : 12, Cc = 12, parts = par ? 9 : 3;
        double A[12 * 18], B[18 * 12];
        CHECK_OK(ct_uep_random_matrices(pd, R, M, Cc, parts, 3, var, &rng, A, B));
        ct_uep_partition *p = NULL;
        CHECK_OK(ct_uep_partition_build(A, B, R, M, Cc, pd, parts, &PAPER, &p));
        if (!p) continue;
        double gram[81];
        CHECK_OK(ct_uep_block_gram(p, gram));
        int Ns[3] = {5, 12, 25};
        for (int iN = 0; iN < 3; iN++) {
            ct_uep_sim_config cfg = {Ns[iN], 1.0, 1.0, 3000, 100 + iN};
            ct_uep_sim_result res[4];
            CHECK_OK(ct_uep_simulate(p, &PAPER, all, 4, &cfg, res));
            double pa = ct_uep_p_arrive(1.0, 1.0);
            CHECK(fabs(res[0].mean_arrived - Ns[iN] * pa) < 4 * sqrt(Ns[iN] * pa * (1 - pa) / 3000.0),
                  "mean arrivals %g vs %g", res[0].mean_arrived, Ns[iN] * pa);
            for (int s = 0; s < 4; s++) {
                double pc[3], nmse;
                CHECK_OK(ct_uep_analyze(all[s], &PAPER, Ns[iN], pa, gram, pc, &nmse));
                for (int l = 0; l < 3; l++) {
                    double sd = sqrt(pc[l] * (1 - pc[l]) / 3000.0);
                    CHECK(fabs(res[s].p_class[l] - pc[l]) <= 4 * sd + 1e-9, "%s %s N=%d class %d: sim %g analytic %g (sd %g)",
                          ct_uep_paradigm_name(pd), ct_uep_scheme_name(all[s]), Ns[iN], l, res[s].p_class[l], pc[l], sd);
                }
                CHECK(fabs(res[s].nmse - nmse) <= 4 * res[s].nmse_se + 1e-9,
                      "%s %s N=%d: nmse sim %g +- %g analytic %g", ct_uep_paradigm_name(pd), ct_uep_scheme_name(all[s]),
                      Ns[iN], res[s].nmse, res[s].nmse_se, nmse);
            }
        }
        ct_uep_partition_free(p);
    }
}

/* ||C - C_hat||^2 equals the energy of what is missing: sum of the missing
 * blocks' energies on rxc (disjoint blocks), ||sum of missing blocks||^2 on cxr. */
static void test_error_is_missing_energy(void) {
    double var[3] = {10, 1, 0.1};
    ct_rng rng;
    ct_rng_seed(&rng, 5);
    for (int par = 0; par < 2; par++) {
        ct_uep_paradigm pd = par ? CT_UEP_CXR : CT_UEP_RXC;
        enum { R = 13, M = 19, Cc = 11 };
        static double A[R * M], B[M * Cc], C[R * Cc], Ch[R * Cc], Y[20 * R * Cc], X[9 * R * Cc];
        int parts = par ? 9 : 3;
        CHECK_OK(ct_uep_random_matrices(pd, R, M, Cc, parts, 3, var, &rng, A, B));
        matmul(A, B, R, M, Cc, C);
        ct_uep_partition *p = NULL;
        CHECK_OK(ct_uep_partition_build(A, B, R, M, Cc, pd, parts, &PAPER, &p));
        if (!p) continue;
        double gram[81], co[20 * 9];
        CHECK_OK(ct_uep_block_gram(p, gram));
        size_t len = (size_t)p->out_rows * p->out_cols;
        int partial = 0;
        for (int trial = 0; trial < 200; trial++) {
            ct_uep_scheme sc = (ct_uep_scheme)(trial % 4);
            int n = 1 + (int)ct_rng_below(&rng, 14);
            CHECK_OK(ct_uep_draw_packets(sc, &PAPER, 9, n, &rng, co, NULL));
            for (int q = 0; q < n; q++) CHECK_OK(ct_uep_packet_compute(p, co + q * 9, Y + q * len));
            unsigned char rec[9];
            CHECK_OK(ct_uep_decode(co, Y, n, 9, len, X, rec));
            CHECK_OK(ct_uep_assemble(p, X, rec, Ch));
            double err = 0, norm = 0, miss = 0;
            for (int t = 0; t < R * Cc; t++) err += (C[t] - Ch[t]) * (C[t] - Ch[t]), norm += C[t] * C[t];
            int nmiss = 0;
            for (int b = 0; b < 9; b++)
                for (int c = 0; c < 9; c++)
                    if (!rec[b] && !rec[c]) miss += gram[b * 9 + c];
            for (int b = 0; b < 9; b++) nmiss += !rec[b];
            partial += nmiss > 0 && nmiss < 9;
            CHECK(fabs(err - miss) <= 1e-9 * norm, "%s %s trial %d: ||C - C_hat||^2 %g, missing energy %g",
                  ct_uep_paradigm_name(pd), ct_uep_scheme_name(sc), trial, err, miss);
            if (!par) {
                double diag = 0;
                for (int b = 0; b < 9; b++) diag += rec[b] ? 0 : gram[b * 9 + b];
                CHECK(fabs(err - diag) <= 1e-9 * norm, "rxc: error %g vs sum of missing blocks' energy %g", err, diag);
            }
        }
        CHECK(partial > 20, "%s: only %d partial recoveries exercised", ct_uep_paradigm_name(pd), partial);
        /* the gram's total is ||C||^2 */
        double tot = 0, norm = 0;
        for (int t = 0; t < 81; t++) tot += gram[t];
        for (int t = 0; t < R * Cc; t++) norm += C[t] * C[t];
        CHECK(fabs(tot - norm) <= 1e-10 * norm, "gram total %g vs ||C||^2 %g", tot, norm);
        ct_uep_partition_free(p);
    }
}

int main(void) {
    test_bad_params();
    test_partition_and_packets();
    test_decoder();
    test_analytic_brute();
    test_monte_carlo();
    test_error_is_missing_energy();
    return ct_test_done("test_codes_uep");
}
