/* The straggler table and decode timing of `codedtrain codes` (cli_codes.c):
 * per number of stragglers K, the residual, recovered fraction and condition
 * number over every or sampled straggler sets, each decoded from what the
 * scheme's stop rule keeps. */
#ifndef CT_HOST_CODES_TABLE_H
#define CT_HOST_CODES_TABLE_H

#include <stdint.h>

#include "codedtrain/codes.h"

/* Exhaustive over every straggler set up to this many workers (2^16 decodes). */
#define CODES_EXHAUSTIVE_MAX_WORKERS 16

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

/* Rows K = 0 .. n_rows-1: every set when n <= CODES_EXHAUSTIVE_MAX_WORKERS or
 * the row has at most `share` sets, else `share` random ones (seeded). */
ct_status codes_build_table(ct_code *code, uint64_t seed, straggler_row *rows, int n_rows, long share,
                            decode_tally *tally);
/* Median decode time (microseconds) at s stragglers, cold (cache cleared,
 * samples until cold_budget_s, at least one) and cached; leaves the cache
 * cleared. */
ct_status codes_time_decodes(ct_code *code, uint64_t seed, double cold_budget_s, double *cold_us, double *cached_us);

#endif
