/* `codedtrain codes`: inspect one gradient code (assignment, encoding, loads,
 * decode quality over every number of stragglers, conditioning, decode time)
 * or, with --bound, the partial-recovery lower bound against the smallest
 * load each partial-recovery scheme needs. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/codes_bound.h"
#include "codedtrain/rng.h"
#include "host/args.h"
#include "host/cli.h"
#include "host/clock.h"
#include "host/cli_step_bound.h"
#include "host/jsonl.h"

/* Exhaustive over every straggler set up to this many workers (2^16 decodes). */
#define CODES_EXHAUSTIVE_MAX_WORKERS 16
/* Print the full encoding matrix B only when it fits a terminal. */
#define CODES_PRINT_MAX_WORKERS 16
#define CODES_PRINT_MAX_PARTITIONS 24
/* Decode timing: samples per measurement and calls per cached sample (one
 * cached call is ~100 ns, below the clock's useful resolution). */
#define CODES_TIMING_COLD_SAMPLES 101
#define CODES_TIMING_CACHED_SAMPLES 101
#define CODES_TIMING_CACHED_BATCH 64
#define CODES_TIMING_COLD_BUDGET_S 1.0

static void codes_usage(FILE *f) {
    fprintf(f,
            "usage: codedtrain codes [--code NAME] [--workers N] [--stragglers S] [options]\n"
            "       codedtrain codes --bound --workers N --stragglers S --alpha A [--json]\n"
            "\n"
            "Builds one gradient code and prints its assignment (partitions per worker) and\n"
            "encoding matrix, its computation load (partitions per worker d) and communication\n"
            "load (messages per worker m), and a table over the number of stragglers K = 0..n-1\n"
            "(whole workers, all their messages missing) of the worst and mean decoding residual\n"
            "||a^T B_F - 1|| / sqrt(k) and recovered fraction. The table is exhaustive over every\n"
            "straggler set when n <= %d (or when a row has at most --trials sets) and Monte Carlo\n"
            "with --trials random sets otherwise. Also the worst condition number of the systems\n"
            "solved and the decode time per call, cold (cache cleared) and cached.\n"
            "\n"
            "With --bound: the partial-recovery lower bound on the normalised computation load\n"
            "for (n, s, alpha) and, for alpha-subset, alpha-cyclic with m = 1 and alpha-cyclic\n"
            "with m = d, the smallest load that recovers an alpha fraction on every s-set.\n"
            "\n"
            "options:\n"
            "  --code NAME         uncoded, ignore, frep, cyclic, cyclic-mds, expander, bgc, sgc,\n"
            "                      erasurehead, alpha-subset, alpha-cyclic, ldgm (default cyclic);\n"
            "                      --scheme NAME is the old spelling of the same\n"
            "  --workers N         workers n (default 8)\n"
            "  --stragglers S      stragglers the code is designed for, 0 <= S < n (default 1;\n"
            "                      0 for uncoded)\n"
            "  --load D            partitions per worker d (default: the scheme's, usually S+1)\n"
            "  --messages M        messages per worker m (default: the scheme's, usually 1)\n"
            "  --alpha A           partial-recovery target in (0, 1] (alpha schemes, --bound)\n"
            "  --seed X            seed of random constructions (default 1)\n"
            "  --decoder NAME      default, fixed or optimal (expander, bgc, ldgm)\n"
            "  --straggle-prob P   sgc: straggling probability p < 1 (default S/n)\n"
            "  --ldgm-weight W     ldgm: units per worker (default: load, else 3)\n"
            "  --wait-count W      erasurehead: arrivals after which it stops (default n - S)\n"
            "  --trials T          random straggler sets per row beyond n = %d (default 2000)\n"
            "  --max-stragglers K  last row of the table (default n - 1)\n"
            "  --bound             print the partial-recovery bound instead (needs --alpha)\n"
            "  --json              print one JSON object instead of text\n"
            "\n"
            "examples:\n"
            "  codedtrain codes --code cyclic --workers 8 --stragglers 2\n"
            "  codedtrain codes --code expander --workers 16 --stragglers 3 --load 4 --decoder optimal\n"
            "  codedtrain codes --code alpha-cyclic --workers 12 --stragglers 3 --alpha 0.8 --messages 2\n"
            "  codedtrain codes --code cyclic-mds --workers 64 --stragglers 8 --trials 200 --json\n"
            "  codedtrain codes --bound --workers 10 --stragglers 3 --alpha 0.9 --json\n",
            CODES_EXHAUSTIVE_MAX_WORKERS, CODES_EXHAUSTIVE_MAX_WORKERS);
    fprintf(f, "\nthe step-time bound (e.g. codedtrain codes --scheme frep --workers 16 --stragglers 3 "
               "--straggle shifted-exp:0,8 --batch 256):\n%s", ct_cli_step_bound_usage());
}

typedef struct codes_options {
    ct_code_spec spec;
    int trials;
    int max_stragglers; /* -1: n - 1 */
    int bound;
    int json;
    ct_cli_step_bound_opts step; /* --straggle: the step-time bound instead of the table */
} codes_options;

static ct_status parse_decoder(const char *value, ct_code_decoder *out) {
    if (!strcmp(value, "default")) *out = CT_DECODER_DEFAULT;
    else if (!strcmp(value, "fixed")) *out = CT_DECODER_FIXED;
    else if (!strcmp(value, "optimal")) *out = CT_DECODER_OPTIMAL;
    else return CT_FAIL(CT_ERR_INVALID_ARG, "--decoder '%s': expected default, fixed or optimal", value);
    return CT_OK;
}

static ct_status parse_codes_options(int argc, char **argv, codes_options *o, int *help) {
    ct_code_spec init = CT_CODE_SPEC_INIT;
    o->spec = init;
    o->spec.scheme = CT_CODE_CYCLIC;
    o->spec.n_workers = 8;
    o->spec.stragglers = 1;
    o->trials = 2000;
    o->max_stragglers = -1;
    o->bound = o->json = 0;
    o->step = (ct_cli_step_bound_opts)CT_CLI_STEP_BOUND_OPTS_INIT;
    *help = 0;
    int stragglers_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { *help = 1; return CT_OK; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--bound")) { o->bound = 1; continue; }
        if (!strcmp(a, "--code") || !strcmp(a, "--scheme")) { /* --code as in train; --scheme: old spelling */
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            if (ct_code_scheme_parse(v, &o->spec.scheme) != CT_OK)
                return CT_FAIL(CT_ERR_INVALID_ARG,
                               "%s '%s': unknown scheme (one of uncoded, ignore, frep, cyclic, "
                               "cyclic-mds, expander, bgc, sgc, erasurehead, alpha-subset, alpha-cyclic, ldgm)",
                               a, v);
        } else if (!strcmp(a, "--workers")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 4096, &o->spec.n_workers));
        } else if (!strcmp(a, "--stragglers")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 0, 4096, &o->spec.stragglers));
            stragglers_given = 1;
        } else if (!strcmp(a, "--load")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 4096, &o->spec.load));
        } else if (!strcmp(a, "--messages")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 1 << 20, &o->spec.messages));
        } else if (!strcmp(a, "--alpha")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_fraction("--alpha", v, &o->spec.alpha));
        } else if (!strcmp(a, "--seed")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_u64(a, v, &o->spec.seed));
        } else if (!strcmp(a, "--decoder")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(parse_decoder(v, &o->spec.decoder));
        } else if (!strcmp(a, "--straggle-prob")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_double(a, v, 0.0, 0.999999, &o->spec.straggle_prob));
        } else if (!strcmp(a, "--ldgm-weight")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 4096, &o->spec.ldgm_weight));
        } else if (!strcmp(a, "--wait-count")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 4096, &o->spec.wait_count));
        } else if (!strcmp(a, "--trials")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 100000000, &o->trials));
        } else if (!strcmp(a, "--max-stragglers")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 0, 4095, &o->max_stragglers));
        } else {
            int matched = 0;
            CT_TRY(ct_cli_step_bound_flag(argc, argv, &i, &o->step, &matched));
            if (!matched) return CT_FAIL(CT_ERR_INVALID_ARG, "unknown option '%s' (see codedtrain codes --help)", a);
        }
    }
    int n = o->spec.n_workers;
    /* uncoded tolerates no straggler, and one worker leaves none to lose */
    if (!stragglers_given && (o->spec.scheme == CT_CODE_UNCODED || n == 1)) o->spec.stragglers = 0;
    if (o->spec.stragglers >= n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--stragglers %d: must be < --workers %d (s < n)", o->spec.stragglers, n);
    if (o->spec.load > n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--load %d: must be <= --workers %d (d <= n)", o->spec.load, n);
    if (o->max_stragglers >= n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--max-stragglers %d: must be < --workers %d", o->max_stragglers, n);
    if (o->bound && o->spec.alpha == 0.0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--bound needs --alpha A in (0, 1]");
    return CT_OK;
}

/* ------------------------------------------------------------------ --bound */

typedef struct bound_scheme_row {
    ct_code_scheme scheme;
    const char *variant; /* messages per worker, in words */
    int messages;        /* as passed to ct_code_alpha_min_load (n: clamped to d) */
    double min_load;     /* -1: no load <= n reaches alpha */
} bound_scheme_row;

static int run_bound(const codes_options *o) {
    int n = o->spec.n_workers, s = o->spec.stragglers;
    double alpha = o->spec.alpha, lower = 0.0;
    ct_alpha_bound profile;
    ct_status st = ct_code_alpha_lower_bound(n, s, alpha, &lower);
    if (st == CT_OK) st = ct_alpha_bound_solve(n, s, alpha, &profile);
    bound_scheme_row rows[3] = {
        {CT_CODE_ALPHA_SUBSET, "m=d", 0, -1.0},
        {CT_CODE_ALPHA_CYCLIC, "m=1", 1, -1.0},
        {CT_CODE_ALPHA_CYCLIC, "m=d", n, -1.0}, /* m > d is clamped to d */
    };
    for (int r = 0; r < 3 && st == CT_OK; r++)
        st = ct_code_alpha_min_load(rows[r].scheme, n, s, alpha, rows[r].messages, &rows[r].min_load);
    ct_alpha_subset_design design;
    int have_design = st == CT_OK && ct_alpha_subset_plan(n, s, alpha, 0, &design) == CT_OK;
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    if (o->json) {
        ct_json j;
        ct_json_begin(&j);
        ct_json_key_int(&j, "n", n);
        ct_json_key_int(&j, "s", s);
        ct_json_key_num(&j, "alpha", alpha);
        ct_json_key_num(&j, "lower_bound", lower);
        ct_json_key_begin_object(&j, "profile");
        ct_json_key_int(&j, "r1", profile.r1);
        ct_json_key_int(&j, "r2", profile.r2);
        ct_json_key_num(&j, "w1", profile.w1);
        ct_json_key_num(&j, "w2", profile.w2);
        ct_json_key_num(&j, "lost", profile.lost);
        ct_json_end_object(&j);
        ct_json_key_begin_array(&j, "schemes");
        for (int r = 0; r < 3; r++) {
            ct_json_array_begin_object(&j);
            ct_json_key_str(&j, "scheme", ct_code_scheme_name(rows[r].scheme));
            ct_json_key_str(&j, "messages", rows[r].variant);
            if (rows[r].min_load < 0) ct_json_key_null(&j, "min_load");
            else ct_json_key_num(&j, "min_load", rows[r].min_load);
            ct_json_end_object(&j);
        }
        ct_json_end_array(&j);
        const char *text = ct_json_end(&j);
        if (!text) { ct_json_free(&j); fprintf(stderr, "codedtrain codes: out of memory for the JSON output\n"); return 1; }
        printf("%s\n", text);
        ct_json_free(&j);
        return 0;
    }
    printf("partial recovery: n = %d workers, s = %d stragglers, alpha = %g\n", n, s, alpha);
    printf("lower bound on the normalised computation load: %.6f\n", lower);
    if (profile.r1 == profile.r2)
        printf("  optimal storage profile: every partition on %d worker%s (loss %.6f <= 1 - alpha)\n",
               profile.r1, profile.r1 == 1 ? "" : "s", profile.lost);
    else
        printf("  optimal storage profile: %.4f of the data on %d worker%s, %.4f on %d (loss %.6f <= 1 - alpha)\n",
               profile.w1, profile.r1, profile.r1 == 1 ? "" : "s", profile.w2, profile.r2, profile.lost);
    printf("\n%-14s %-9s %s\n", "scheme", "messages", "smallest load reaching alpha");
    for (int r = 0; r < 3; r++) {
        printf("%-14s %-9s ", ct_code_scheme_name(rows[r].scheme), rows[r].variant);
        if (rows[r].min_load < 0) printf("none (no load <= n, or the design is too large to build)\n");
        else printf("%.6f  (%.3f x the bound)\n", rows[r].min_load, lower > 0 ? rows[r].min_load / lower : 1.0);
    }
    if (have_design)
        printf("\nalpha-subset design: q1 = %d copies per %d-subset, q2 = %d per %d-subset; k = %d partitions,"
               " d = %d per worker, recovers %.6f on every s-set\n",
               design.q1, design.r1, design.q2, design.r2, design.k, design.d, design.alpha);
    printf("alpha-cyclic loads are whole windows d (k = n), so they round up to an integer.\n");
    return 0;
}

/* ----------------------------------------------------- straggler table */

typedef struct straggler_row {
    int stragglers;
    long sets;        /* straggler sets decoded */
    int exhaustive;   /* 1: every set of this size, 0: random sample */
    double worst_residual, sum_residual;
    double worst_recovered, sum_recovered;
    long exact;       /* sets decoded exactly */
    double worst_condition; /* largest finite condition number in this row (0: no solve) */
    double residual_bound; /* scheme's promise, normalised like the residual; < 0: none */
} straggler_row;

typedef struct decode_tally {
    double worst_condition; /* largest finite condition number met */
    long singular;          /* solves with an infinite condition number */
} decode_tally;

/* Arrivals = every message of the workers not in `is_straggler`. */
static void build_arrivals(const ct_code *code, const unsigned char *is_straggler, uint64_t *mask) {
    int n = ct_code_n_workers(code);
    memset(mask, 0, (size_t)ct_code_mask_words(code) * sizeof(uint64_t));
    for (int i = 0; i < n; i++)
        if (!is_straggler[i]) ct_code_mask_add_worker(code, i, mask);
}

static ct_status decode_one_set(ct_code *code, const unsigned char *is_straggler, uint64_t *mask,
                                straggler_row *row, decode_tally *tally) {
    build_arrivals(code, is_straggler, mask);
    ct_decode_result res;
    CT_TRY(ct_code_decode(code, mask, &res));
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
                                straggler_row *row, decode_tally *tally) {
    int n = ct_code_n_workers(code);
    for (int t = 0; t < K; t++) pick[t] = t;
    for (;;) {
        memset(is_straggler, 0, (size_t)n);
        for (int t = 0; t < K; t++) is_straggler[pick[t]] = 1;
        CT_TRY(decode_one_set(code, is_straggler, mask, row, tally));
        int t = K - 1;
        while (t >= 0 && pick[t] == n - K + t) t--;
        if (t < 0) return CT_OK;
        pick[t]++;
        for (int u = t + 1; u < K; u++) pick[u] = pick[u - 1] + 1;
    }
}

/* `trials` uniformly random K-subsets (partial Fisher-Yates). */
static ct_status sample_sets(ct_code *code, int K, int trials, ct_rng *rng, unsigned char *is_straggler,
                             int *perm, uint64_t *mask, straggler_row *row, decode_tally *tally) {
    int n = ct_code_n_workers(code);
    for (int trial = 0; trial < trials; trial++) {
        for (int i = 0; i < n; i++) perm[i] = i;
        memset(is_straggler, 0, (size_t)n);
        for (int t = 0; t < K; t++) {
            int u = t + (int)ct_rng_below(rng, (uint64_t)(n - t));
            int tmp = perm[t]; perm[t] = perm[u]; perm[u] = tmp;
            is_straggler[perm[t]] = 1;
        }
        CT_TRY(decode_one_set(code, is_straggler, mask, row, tally));
    }
    return CT_OK;
}

/* Decodes the table needs: every set where exhaustive, --trials otherwise. */
static double table_decodes(int n, int n_rows, int trials) {
    double total = 0.0;
    for (int K = 0; K < n_rows; K++) {
        double sets = count_sets(n, K);
        total += n <= CODES_EXHAUSTIVE_MAX_WORKERS || sets <= trials ? sets : trials;
    }
    return total;
}

static ct_status build_table(ct_code *code, const codes_options *o, straggler_row *rows, int n_rows,
                             decode_tally *tally) {
    int n = ct_code_n_workers(code), k = ct_code_n_partitions(code);
    unsigned char *is_straggler = malloc((size_t)n);
    int *scratch = malloc((size_t)n * sizeof(int));
    uint64_t *mask = malloc((size_t)ct_code_mask_words(code) * sizeof(uint64_t));
    ct_status st = CT_OK;
    if (!is_straggler || !scratch || !mask) st = CT_FAIL(CT_ERR_NOMEM, "codes: out of memory (n = %d)", n);
    ct_rng rng;
    ct_rng_seed(&rng, o->spec.seed ^ 0x5eedc0de5ull);
    for (int K = 0; K < n_rows && st == CT_OK; K++) {
        straggler_row *row = &rows[K];
        memset(row, 0, sizeof *row);
        row->stragglers = K;
        row->worst_recovered = 1.0;
        double bound = ct_code_residual_bound(code, K);
        row->residual_bound = bound >= 0 ? bound / sqrt((double)k) : -1.0;
        row->exhaustive = n <= CODES_EXHAUSTIVE_MAX_WORKERS || count_sets(n, K) <= (double)o->trials;
        if (row->exhaustive) st = enumerate_sets(code, K, is_straggler, scratch, mask, row, tally);
        else st = sample_sets(code, K, o->trials, &rng, is_straggler, scratch, mask, row, tally);
    }
    free(is_straggler);
    free(scratch);
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
static ct_status time_decodes(ct_code *code, uint64_t seed, double *cold_us, double *cached_us) {
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
        if (cold >= 5 && ct_now_s() - started > CODES_TIMING_COLD_BUDGET_S) break;
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

/* ------------------------------------------------------------------ report */

typedef struct code_summary {
    int n, k, s, max_load, max_messages, total_messages;
    double mean_load, mean_messages, normalised_load; /* mean copies per partition */
    double lambda2;
} code_summary;

static code_summary summarise(const ct_code *code) {
    code_summary m = {0};
    m.n = ct_code_n_workers(code);
    m.k = ct_code_n_partitions(code);
    m.s = ct_code_stragglers(code);
    m.max_load = ct_code_max_load(code);
    m.max_messages = ct_code_max_messages(code);
    m.total_messages = ct_code_total_messages(code);
    long load_sum = 0, msg_sum = 0;
    for (int i = 0; i < m.n; i++) {
        load_sum += ct_code_load(code, i);
        msg_sum += ct_code_messages(code, i);
    }
    m.mean_load = (double)load_sum / m.n;
    m.mean_messages = (double)msg_sum / m.n;
    m.normalised_load = (double)load_sum / m.k;
    m.lambda2 = ct_code_lambda2(code);
    return m;
}

static void print_partition_list(const ct_code *code, int worker, int max_shown) {
    const int *parts = ct_code_partitions(code, worker);
    int d = ct_code_load(code, worker);
    printf("{");
    for (int j = 0; j < d && j < max_shown; j++) printf("%s%d", j ? "," : "", parts[j]);
    if (d > max_shown) printf(",... (%d in all)", d);
    printf("}");
}

/* Row of B for message l of a worker: its encoding row scattered over k. */
static void print_encoding_row(const ct_code *code, int worker, int l, int k) {
    const int *parts = ct_code_partitions(code, worker);
    const float *enc = ct_code_encoding(code, worker);
    int d = ct_code_load(code, worker);
    for (int col = 0; col < k; col++) {
        double v = 0.0;
        int held = 0;
        for (int j = 0; j < d; j++)
            if (parts[j] == col) { v = enc[l * d + j]; held = 1; }
        if (!held || v == 0.0) printf("      .");
        else printf(" %6.3f", v);
    }
    printf("\n");
}

static void print_layout(const ct_code *code, const code_summary *m) {
    int full = m->n <= CODES_PRINT_MAX_WORKERS && m->k <= CODES_PRINT_MAX_PARTITIONS;
    if (m->n <= CODES_PRINT_MAX_WORKERS) {
        printf("\nassignment (partitions per worker):\n");
        for (int i = 0; i < m->n; i++) {
            printf("  worker %2d: d = %d, m = %d, partitions ", i, ct_code_load(code, i), ct_code_messages(code, i));
            print_partition_list(code, i, 24);
            printf("\n");
        }
    } else {
        printf("\nassignment (first and last workers of %d):\n", m->n);
        for (int i = 0; i < m->n; i++) {
            if (i == 3 && m->n > 4) { printf("  ...\n"); i = m->n - 1; }
            printf("  worker %4d: d = %d, m = %d, partitions ", i, ct_code_load(code, i), ct_code_messages(code, i));
            print_partition_list(code, i, 12);
            printf("\n");
        }
    }
    if (full) {
        printf("\nencoding matrix B (one row per message, one column per partition; . = 0):\n");
        printf("  %-9s", "");
        for (int col = 0; col < m->k; col++) printf(" %6d", col);
        printf("\n");
        for (int i = 0; i < m->n; i++)
            for (int l = 0; l < ct_code_messages(code, i); l++) {
                printf("  w%-3d m%-3d", i, l);
                print_encoding_row(code, i, l, m->k);
            }
        return;
    }
    /* too big to print: how dense and how spread the coefficients are */
    long nonzero = 0;
    double smallest = INFINITY, largest = 0.0;
    for (int i = 0; i < m->n; i++) {
        const float *enc = ct_code_encoding(code, i);
        int entries = ct_code_load(code, i) * ct_code_messages(code, i);
        for (int t = 0; t < entries; t++) {
            double v = fabs(enc[t]);
            if (v == 0.0) continue;
            nonzero++;
            if (v < smallest) smallest = v;
            if (v > largest) largest = v;
        }
    }
    printf("\nencoding matrix B: %d x %d (messages x partitions), %ld nonzeros (%.2f%%), |coefficients| in [%.4g, %.4g]\n",
           m->total_messages, m->k, nonzero, 100.0 * nonzero / ((double)m->total_messages * m->k),
           nonzero ? smallest : 0.0, largest);
}

static void print_text(const ct_code *code, const code_summary *m, const straggler_row *rows, int n_rows,
                       const decode_tally *tally, double cold_us, double cached_us) {
    const ct_code_spec *spec = ct_code_get_spec(code);
    printf("scheme %s: n = %d workers, k = %d partitions, designed for s = %d stragglers (%s)\n",
           ct_code_scheme_name(spec->scheme), m->n, m->k, m->s,
           ct_code_is_exact(code) ? "exact" : "approximate or partial");
    if (spec->alpha > 0) printf("alpha (guaranteed recovered fraction at s stragglers): %g\n", spec->alpha);
    printf("computation load: max d = %d, mean d = %.3f partitions per worker (%.3f copies per partition)\n",
           m->max_load, m->mean_load, m->normalised_load);
    printf("communication load: max m = %d, mean m = %.3f messages per worker (%d in all)\n", m->max_messages,
           m->mean_messages, m->total_messages);
    if (m->lambda2 >= 0) printf("second singular value of the assignment (lambda2): %.4f\n", m->lambda2);
    print_layout(code, m);

    printf("\ndecoding with K stragglers (whole workers; residual = ||a^T B_F - 1|| / sqrt(k)):\n");
    printf("  %4s %9s %-8s %11s %11s %9s %9s %7s %10s %10s\n", "K", "sets", "sampling", "worst_res", "mean_res",
           "worst_rec", "mean_rec", "exact", "res_bound", "worst_cond");
    for (int r = 0; r < n_rows; r++) {
        const straggler_row *row = &rows[r];
        char bound[32] = "-";
        if (row->residual_bound >= 0) snprintf(bound, sizeof bound, "%.4g", row->residual_bound);
        printf("  %4d %9ld %-8s %11.4g %11.4g %9.4f %9.4f %6.1f%% %10s %10.4g\n", row->stragglers, row->sets,
               row->exhaustive ? "all" : "random", row->worst_residual, row->sum_residual / row->sets,
               row->worst_recovered, row->sum_recovered / row->sets, 100.0 * row->exact / row->sets, bound,
               row->worst_condition);
    }
    printf("  (exact = share of sets decoded exactly; res_bound = the scheme's promised worst residual;\n"
           "   worst_cond = largest condition number of a system solved, 0 = none solved)\n");
    if (tally->worst_condition > 0)
        printf("\nworst condition number met: %.4g", tally->worst_condition);
    else
        printf("\nworst condition number met: none (no least-squares solve)");
    if (tally->singular) printf(" (plus %ld rank-zero patterns)", tally->singular);
    printf("\ndecode time per call at s = %d stragglers: cold %.2f us (cache cleared), cached %.3f us (median)\n",
           m->s, cold_us, cached_us);
}

static int print_json(const ct_code *code, const code_summary *m, const straggler_row *rows, int n_rows,
                      const decode_tally *tally, double cold_us, double cached_us, int trials) {
    const ct_code_spec *spec = ct_code_get_spec(code);
    ct_json j;
    ct_json_begin(&j);
    ct_json_key_str(&j, "scheme", ct_code_scheme_name(spec->scheme));
    ct_json_key_int(&j, "n", m->n);
    ct_json_key_int(&j, "k", m->k);
    ct_json_key_int(&j, "s", m->s);
    ct_json_key_bool(&j, "exact", ct_code_is_exact(code));
    ct_json_key_int(&j, "load", m->max_load);
    ct_json_key_num(&j, "load_mean", m->mean_load);
    ct_json_key_num(&j, "load_normalised", m->normalised_load);
    ct_json_key_int(&j, "messages", m->max_messages);
    ct_json_key_num(&j, "messages_mean", m->mean_messages);
    ct_json_key_int(&j, "total_messages", m->total_messages);
    if (spec->alpha > 0) ct_json_key_num(&j, "alpha", spec->alpha);
    ct_json_key_int(&j, "seed", (long long)spec->seed);
    if (m->lambda2 >= 0) ct_json_key_num(&j, "lambda2", m->lambda2);
    ct_json_key_num(&j, "worst_condition", tally->worst_condition);
    ct_json_key_int(&j, "singular_patterns", tally->singular);
    ct_json_key_num(&j, "decode_cold_us", cold_us);
    ct_json_key_num(&j, "decode_cached_us", cached_us);
    ct_json_key_int(&j, "trials", trials);
    if (m->n <= CODES_PRINT_MAX_WORKERS) {
        ct_json_key_begin_array(&j, "workers");
        for (int i = 0; i < m->n; i++) {
            int d = ct_code_load(code, i), msgs = ct_code_messages(code, i);
            const int *parts = ct_code_partitions(code, i);
            const float *enc = ct_code_encoding(code, i);
            ct_json_array_begin_object(&j);
            ct_json_key_int(&j, "worker", i);
            ct_json_key_begin_array(&j, "partitions");
            for (int t = 0; t < d; t++) ct_json_array_int(&j, parts[t]);
            ct_json_end_array(&j);
            ct_json_key_int(&j, "messages", msgs);
            ct_json_key_begin_array(&j, "encoding"); /* m x d, row-major */
            for (int t = 0; t < d * msgs; t++) ct_json_array_num(&j, enc[t]);
            ct_json_end_array(&j);
            ct_json_end_object(&j);
        }
        ct_json_end_array(&j);
    }
    ct_json_key_begin_array(&j, "rows");
    for (int r = 0; r < n_rows; r++) {
        const straggler_row *row = &rows[r];
        ct_json_array_begin_object(&j);
        ct_json_key_int(&j, "stragglers", row->stragglers);
        ct_json_key_int(&j, "sets", row->sets);
        ct_json_key_bool(&j, "exhaustive", row->exhaustive);
        ct_json_key_num(&j, "worst_residual", row->worst_residual);
        ct_json_key_num(&j, "mean_residual", row->sum_residual / row->sets);
        ct_json_key_num(&j, "worst_recovered", row->worst_recovered);
        ct_json_key_num(&j, "mean_recovered", row->sum_recovered / row->sets);
        ct_json_key_num(&j, "exact_fraction", (double)row->exact / row->sets);
        ct_json_key_num(&j, "worst_condition", row->worst_condition);
        if (row->residual_bound >= 0) ct_json_key_num(&j, "residual_bound", row->residual_bound);
        else ct_json_key_null(&j, "residual_bound");
        ct_json_end_object(&j);
    }
    ct_json_end_array(&j);
    const char *text = ct_json_end(&j);
    if (!text) {
        ct_json_free(&j);
        fprintf(stderr, "codedtrain codes: out of memory for the JSON output\n");
        return 1;
    }
    printf("%s\n", text);
    ct_json_free(&j);
    return 0;
}

int ct_cli_codes(int argc, char **argv) {
    codes_options o;
    int help = 0;
    ct_status st = parse_codes_options(argc, argv, &o, &help);
    if (help) {
        codes_usage(stdout);
        return 0;
    }
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    if (o.bound) return run_bound(&o);
    if (o.step.straggle) return ct_cli_step_bound_print(&o.spec, &o.step, o.json);

    ct_code *code = NULL;
    st = ct_code_create(&o.spec, &code);
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    code_summary summary = summarise(code);
    int n_rows = (o.max_stragglers >= 0 ? o.max_stragglers : summary.n - 1) + 1;
    straggler_row *rows = calloc((size_t)n_rows, sizeof *rows);
    decode_tally tally = {0.0, 0};
    double cold_us = NAN, cached_us = NAN;
    if (!rows) st = CT_FAIL(CT_ERR_NOMEM, "codes: out of memory for %d table rows", n_rows);
    /* time first, on a fresh cache, so the table's decodes do not warm it */
    if (st == CT_OK) st = time_decodes(code, o.spec.seed, &cold_us, &cached_us);
    if (st == CT_OK) {
        /* a slow decoder (big n or k) can make the table long: say so up front */
        double decodes = table_decodes(summary.n, n_rows, o.trials), expected_s = decodes * cold_us * 1e-6;
        if (expected_s > 10.0)
            fprintf(stderr,
                    "codedtrain codes: note: the table needs %.0f decodes at ~%.0f us each (~%.0f s); "
                    "--max-stragglers or --trials shortens it\n",
                    decodes, cold_us, expected_s);
        st = build_table(code, &o, rows, n_rows, &tally);
    }
    int rc = 0;
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        rc = ct_status_exit_code(st);
    } else if (o.json) {
        rc = print_json(code, &summary, rows, n_rows, &tally, cold_us, cached_us, o.trials);
    } else {
        print_text(code, &summary, rows, n_rows, &tally, cold_us, cached_us);
    }
    free(rows);
    ct_code_destroy(code);
    return rc;
}
