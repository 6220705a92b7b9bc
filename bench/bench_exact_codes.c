/* Conditioning of the exact gradient codes (issue 18): for n = 8 ... 256 and
 * s = 1 ... n/8, the measured label of every exact construction (frep where
 * (s+1) | n, cyclic, cyclic-mds, frep-mds): worst condition number and worst
 * max_j |a^T B_F - 1| (float32 coefficients, the runtime's decoder) over the
 * straggler sets of size <= s, exhaustive when they are at most --sets, else
 * --sets sampled ones (contiguous runs, a climb towards worse conditioning,
 * random; ct_code_verify). Then frep-mds at every n <= 256, s <= n/8: its load
 * against (s+1) k / n, and its MDS blocks (s + D workers, D = 2, 3) on every
 * set of s stragglers inside a block, which covers every straggler set of
 * every frep-mds code up to s = 32 (docs/schemes.md, "frep-mds").
 *
 * usage: bench_exact_codes [--sets N] [--sets-large N] [--max-n N]
 * Markdown on stdout, progress on stderr. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes.h"

static ct_code *build(ct_code_scheme scheme, int n, int s) {
    ct_code_spec sp = CT_CODE_SPEC_INIT;
    sp.scheme = scheme;
    sp.n_workers = n;
    sp.stragglers = s;
    sp.seed = 1;
    ct_code *c = NULL;
    if (ct_code_create(&sp, &c) != CT_OK) { ct_error_clear(); return NULL; }
    return c;
}

/* d n / ((s+1) k): 1 = the optimal load of an exact code */
static double load_ratio(const ct_code *c) {
    return (double)ct_code_max_load(c) * ct_code_n_workers(c) /
           ((double)(ct_code_stragglers(c) + 1) * ct_code_n_partitions(c));
}

/* every set of exactly s stragglers of a frep-mds block code (n = s + D) */
static int block_check(int s, int D, double *worst_cond, double *worst_res, long *sets) {
    int n = s + D, fails = 0;
    ct_code *c = build(CT_CODE_FREP_MDS, n, s);
    if (!c) return -1;
    uint64_t mask[1];
    int pick[3];
    *worst_cond = 0; *worst_res = 0; *sets = 0;
    for (int t = 0; t < D; t++) pick[t] = t;
    for (;;) { /* pick = the D survivors */
        mask[0] = 0;
        for (int t = 0; t < D; t++) ct_code_mask_add_worker(c, pick[t], mask);
        ct_decode_result r;
        if (ct_code_decode(c, mask, &r) != CT_OK) { ct_code_destroy(c); return -1; }
        (*sets)++;
        if (r.condition > *worst_cond) *worst_cond = r.condition;
        if (r.residual_max > *worst_res) *worst_res = r.residual_max;
        fails += !(r.status == CT_DECODE_EXACT && r.residual_max <= 1e-4);
        int t = D - 1;
        while (t >= 0 && pick[t] == n - D + t) t--;
        if (t < 0) break;
        pick[t]++;
        for (int u = t + 1; u < D; u++) pick[u] = pick[u - 1] + 1;
    }
    ct_code_destroy(c);
    return fails;
}

int main(int argc, char **argv) {
    long sets_small = 2000, sets_large = 200;
    int max_n = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--sets")) sets_small = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--sets-large")) sets_large = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-n")) max_n = atoi(argv[i + 1]);
        else { fprintf(stderr, "usage: bench_exact_codes [--sets N] [--sets-large N] [--max-n N]\n"); return 2; }
    }
    static const int grid_n[] = {8, 9, 10, 12, 16, 17, 20, 24, 31, 32, 33, 40, 48, 50, 63, 64,
                                 65, 80, 96, 100, 127, 128, 129, 160, 192, 200, 255, 256};
    static const int grid_s_large[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 28, 32};
    ct_code_scheme schemes[] = {CT_CODE_FREP, CT_CODE_CYCLIC, CT_CODE_CYCLIC_MDS, CT_CODE_FREP_MDS};
    printf("## Measured labels, n = 8 ... %d, s = 1 ... n/8 (every s for n <= 64; s in {1,2,3,4,5,6,8,10,12,16,20,24,28,32} beyond)\n\n", max_n);
    printf("Sets: every straggler set of size <= s when there are at most %ld (n <= 64) or %ld (n > 64); "
           "else that many sampled (contiguous runs, climb, random). residual = worst max_j |a^T B_F - 1| "
           "with float32 coefficients; exact = every tested set <= 1e-4. load = d n / ((s+1) k).\n\n",
           sets_small, sets_large);
    printf("| n | s | scheme | load | sets | method | worst cond | worst residual | label |\n");
    printf("|---:|---:|---|---:|---:|---|---:|---:|---|\n");
    for (size_t a = 0; a < sizeof grid_n / sizeof grid_n[0]; a++) {
        int n = grid_n[a];
        if (n > max_n) break;
        for (int s = 1; s <= n / 8; s++) {
            if (n > 64) {
                int in = 0;
                for (size_t b = 0; b < sizeof grid_s_large / sizeof grid_s_large[0]; b++) in |= grid_s_large[b] == s;
                if (!in) continue;
            }
            for (size_t q = 0; q < sizeof schemes / sizeof schemes[0]; q++) {
                ct_code *c = build(schemes[q], n, s);
                if (!c) continue; /* frep needs (s+1) | n */
                ct_code_verify_report rep;
                long budget = n <= 64 ? sets_small : sets_large;
                if (ct_code_verify(c, budget, 1, &rep) != CT_OK) {
                    fprintf(stderr, "n=%d s=%d %s: %s\n", n, s, ct_code_scheme_name(schemes[q]), ct_last_error());
                    ct_error_clear();
                    ct_code_destroy(c);
                    continue;
                }
                printf("| %d | %d | %s | %.3f | %ld | %s | %.3g | %.3g | %s |\n", n, s, ct_code_scheme_name(schemes[q]),
                       load_ratio(c), rep.sets_tested, rep.exhaustive ? "all" : "sampled", rep.worst_condition,
                       rep.worst_residual_max, rep.verified_exact ? "exact" : "**approximate**");
                fflush(stdout);
                ct_code_destroy(c);
            }
            fprintf(stderr, "n=%d s=%d done\n", n, s);
        }
    }

    printf("\n## frep-mds blocks: every set of s stragglers inside a block of s + D workers\n\n");
    printf("| s | D = 2: sets | worst cond | worst residual | D = 3: sets | worst cond | worst residual | failures |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    int block_fail = 0;
    for (int s = 1; s <= max_n / 8; s++) {
        double c2, r2, c3, r3;
        long n2, n3;
        int f2 = block_check(s, 2, &c2, &r2, &n2), f3 = block_check(s, 3, &c3, &r3, &n3);
        block_fail += (f2 != 0) + (f3 != 0);
        printf("| %d | %ld | %.3g | %.3g | %ld | %.3g | %.3g | %d |\n", s, n2, c2, r2, n3, c3, r3, f2 + f3);
    }
    printf("\n## frep-mds at every n = 8 ... %d and s = 1 ... n/8\n\n", max_n);
    int pairs = 0, over = 0, failed = 0;
    double worst_ratio = 0;
    int wn = 0, ws = 0;
    for (int n = 8; n <= max_n; n++)
        for (int s = 1; s <= n / 8; s++) {
            ct_code *c = build(CT_CODE_FREP_MDS, n, s);
            if (!c) { failed++; continue; }
            double r = load_ratio(c);
            pairs++;
            over += r > 1.1;
            if (r > worst_ratio) { worst_ratio = r; wn = n; ws = s; }
            ct_code_destroy(c);
        }
    printf("%d (n, s) pairs built (%d failed to build); largest load d n / ((s+1) k) = %.4f (n = %d, s = %d); "
           "pairs over 1.1: %d; block sets failing 1e-4: %d.\n",
           pairs, failed, worst_ratio, wn, ws, over, block_fail);
    return 0;
}
