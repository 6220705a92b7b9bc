/* The straggler table and decode timing of `codedtrain codes` (codes_table.h). */
#include "host/codes_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/rng.h"
#include "host/clock.h"

/* Decode timing: samples per measurement and calls per cached sample (one
 * cached call is ~100 ns, below the clock's useful resolution). */
#define CODES_TIMING_COLD_SAMPLES 101
#define CODES_TIMING_CACHED_SAMPLES 101
#define CODES_TIMING_CACHED_BATCH 64

/* Arrivals = every message of the workers not in `is_straggler`. */
static void build_arrivals(const ct_code *code, const unsigned char *is_straggler, uint64_t *mask) {
    int n = ct_code_n_workers(code);
    memset(mask, 0, (size_t)ct_code_mask_words(code) * sizeof(uint64_t));
    for (int i = 0; i < n; i++)
        if (!is_straggler[i]) ct_code_mask_add_worker(code, i, mask);
}

/* What the master would decode from: the non-stragglers arrive in a random
 * order and it stops at the scheme's rule (ct_code_decodable: exact codes at
 * the first decodable set, ignore after n - s, erasurehead after
 * --wait-count), or when everyone has arrived. */
static int stop_rule_arrivals(const ct_code *code, const unsigned char *is_straggler, uint64_t *mask, ct_rng *rng,
                              int *order) {
    int n = ct_code_n_workers(code), live = 0;
    memset(mask, 0, (size_t)ct_code_mask_words(code) * sizeof(uint64_t));
    for (int i = 0; i < n; i++)
        if (!is_straggler[i]) order[live++] = i;
    for (int t = live - 1; t > 0; t--) {
        int u = (int)ct_rng_below(rng, (uint64_t)(t + 1));
        int tmp = order[t]; order[t] = order[u]; order[u] = tmp;
    }
    for (int t = 0; t < live; t++) {
        ct_code_mask_add_worker(code, order[t], mask);
        if (ct_code_decodable(code, mask)) return t + 1;
    }
    return live;
}

static ct_status decode_one_set(ct_code *code, const unsigned char *is_straggler, uint64_t *mask,
                                straggler_row *row, decode_tally *tally, ct_rng *rng, int *order) {
    int used = stop_rule_arrivals(code, is_straggler, mask, rng, order);
    ct_decode_result res;
    CT_TRY(ct_code_decode(code, mask, &res));
    /* the promise for the workers the decode did without (stop rule included) */
    int missing = ct_code_n_workers(code) - used;
    double bound = ct_code_residual_bound(code, missing);
    if (row->sets == 0 || row->residual_bound >= 0)
        row->residual_bound = bound < 0 ? -1.0 : fmax(row->residual_bound, bound / sqrt((double)ct_code_n_partitions(code)));
    row->sets++;
    row->sum_residual += res.residual;
    row->sum_recovered += res.recovered_fraction;
    if (res.residual > row->worst_residual) row->worst_residual = res.residual;
    if (res.recovered_fraction < row->worst_recovered) row->worst_recovered = res.recovered_fraction;
    row->exact += res.status == CT_DECODE_EXACT;
    if (isinf(res.condition)) tally->singular++;
    else if (res.condition > tally->worst_condition) tally->worst_condition = res.condition;
    if (isfinite(res.condition) && res.condition > row->worst_condition) row->worst_condition = res.condition;
    return CT_OK;
}

/* C(n, K) as a double, saturating far beyond any trial count. */
static double count_sets(int n, int K) {
    double v = 1.0;
    if (K > n - K) K = n - K;
    for (int i = 1; i <= K && v < 1e18; i++) v = v * (n - K + i) / i;
    return floor(v + 0.5);
}

/* Every K-subset in lexicographic order (index array `pick`). */
static ct_status enumerate_sets(ct_code *code, int K, unsigned char *is_straggler, int *pick, uint64_t *mask,
                                straggler_row *row, decode_tally *tally, ct_rng *rng, int *order) {
    int n = ct_code_n_workers(code);
    for (int t = 0; t < K; t++) pick[t] = t;
    for (;;) {
        memset(is_straggler, 0, (size_t)n);
        for (int t = 0; t < K; t++) is_straggler[pick[t]] = 1;
        CT_TRY(decode_one_set(code, is_straggler, mask, row, tally, rng, order));
        int t = K - 1;
        while (t >= 0 && pick[t] == n - K + t) t--;
        if (t < 0) return CT_OK;
        pick[t]++;
        for (int u = t + 1; u < K; u++) pick[u] = pick[u - 1] + 1;
    }
}

/* `trials` uniformly random K-subsets (partial Fisher-Yates). */
static ct_status sample_sets(ct_code *code, int K, long trials, ct_rng *rng, unsigned char *is_straggler,
                             int *perm, uint64_t *mask, straggler_row *row, decode_tally *tally, int *order) {
    int n = ct_code_n_workers(code);
    for (long trial = 0; trial < trials; trial++) {
        for (int i = 0; i < n; i++) perm[i] = i;
        memset(is_straggler, 0, (size_t)n);
        for (int t = 0; t < K; t++) {
            int u = t + (int)ct_rng_below(rng, (uint64_t)(n - t));
            int tmp = perm[t]; perm[t] = perm[u]; perm[u] = tmp;
            is_straggler[perm[t]] = 1;
        }
        CT_TRY(decode_one_set(code, is_straggler, mask, row, tally, rng, order));
    }
    return CT_OK;
}

/* Sets for row K: every set when n is small or they fit the per-row share,
 * else a sample of `share` (<= --trials). */
ct_status codes_build_table(ct_code *code, uint64_t seed, straggler_row *rows, int n_rows, long share,
                            decode_tally *tally) {
    int n = ct_code_n_workers(code);
    unsigned char *is_straggler = malloc((size_t)n);
    int *scratch = malloc((size_t)n * sizeof(int)), *order = malloc((size_t)n * sizeof(int));
    uint64_t *mask = malloc((size_t)ct_code_mask_words(code) * sizeof(uint64_t));
    ct_status st = CT_OK;
    if (!is_straggler || !scratch || !order || !mask) st = CT_FAIL(CT_ERR_NOMEM, "codes: out of memory (n = %d)", n);
    ct_rng rng;
    ct_rng_seed(&rng, seed ^ 0x5eedc0de5ull);
    for (int K = 0; K < n_rows && st == CT_OK; K++) {
        straggler_row *row = &rows[K];
        memset(row, 0, sizeof *row);
        row->stragglers = K;
        row->worst_recovered = 1.0;
        double sets = count_sets(n, K);
        row->exhaustive = n <= CODES_EXHAUSTIVE_MAX_WORKERS || sets <= (double)share;
        if (row->exhaustive) st = enumerate_sets(code, K, is_straggler, scratch, mask, row, tally, &rng, order);
        else st = sample_sets(code, K, share, &rng, is_straggler, scratch, mask, row, tally, order);
    }
    free(is_straggler);
    free(scratch);
    free(order);
    free(mask);
    return st;
}

/* ------------------------------------------------------------ decode time */

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int count) {
    if (count <= 0) return NAN;
    qsort(v, (size_t)count, sizeof *v, compare_doubles);
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

/* Median decode time (microseconds) at the design's s stragglers: cold with
 * the cache cleared before each call (clearing not timed), cached with one
 * pattern repeated. The cache is left cleared. */
ct_status codes_time_decodes(ct_code *code, uint64_t seed, double cold_budget_s, double *cold_us, double *cached_us) {
    int n = ct_code_n_workers(code), s = ct_code_stragglers(code);
    int words = ct_code_mask_words(code);
    double samples[CODES_TIMING_COLD_SAMPLES > CODES_TIMING_CACHED_SAMPLES ? CODES_TIMING_COLD_SAMPLES
                                                                            : CODES_TIMING_CACHED_SAMPLES];
    unsigned char *is_straggler = malloc((size_t)n);
    int *perm = malloc((size_t)n * sizeof(int));
    uint64_t *mask = malloc((size_t)words * sizeof(uint64_t));
    ct_status st = CT_OK;
    if (!is_straggler || !perm || !mask) st = CT_FAIL(CT_ERR_NOMEM, "codes: out of memory (n = %d)", n);
    ct_rng rng;
    ct_rng_seed(&rng, seed ^ 0x71e5ull);
    ct_decode_result res;
    int cold = 0;
    double started = ct_now_s();
    for (; st == CT_OK && cold < CODES_TIMING_COLD_SAMPLES; cold++) {
        /* a few samples always; more while the budget lasts (big n is slow) */
        if (cold >= 1 && ct_now_s() - started > cold_budget_s) break;
        for (int i = 0; i < n; i++) perm[i] = i;
        memset(is_straggler, 0, (size_t)n);
        for (int t = 0; t < s; t++) {
            int u = t + (int)ct_rng_below(&rng, (uint64_t)(n - t));
            int tmp = perm[t]; perm[t] = perm[u]; perm[u] = tmp;
            is_straggler[perm[t]] = 1;
        }
        build_arrivals(code, is_straggler, mask);
        ct_code_cache_clear(code);
        double t0 = ct_now_s();
        st = ct_code_decode(code, mask, &res);
        samples[cold] = (ct_now_s() - t0) * 1e6;
    }
    if (st == CT_OK) *cold_us = median_of(samples, cold);
    if (st == CT_OK) st = ct_code_decode(code, mask, &res); /* the last pattern, now cached */
    for (int r = 0; st == CT_OK && r < CODES_TIMING_CACHED_SAMPLES; r++) {
        double t0 = ct_now_s();
        for (int c = 0; c < CODES_TIMING_CACHED_BATCH && st == CT_OK; c++) st = ct_code_decode(code, mask, &res);
        samples[r] = (ct_now_s() - t0) * 1e6 / CODES_TIMING_CACHED_BATCH;
    }
    if (st == CT_OK) *cached_us = median_of(samples, CODES_TIMING_CACHED_SAMPLES);
    ct_code_cache_clear(code);
    free(is_straggler);
    free(perm);
    free(mask);
    return st;
}
