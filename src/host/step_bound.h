/* The step-time bound: the expected step time of an ideal master for a code, a
 * stopping policy and a straggler model. The ideal master sees every worker's
 * finishing time, stops the moment the arrived set lets it (the code's rule, a
 * fastest-k count, or a deadline) and restarts every late worker at once, so
 * each step starts with all n workers fresh. Worker i finishes at
 *   T_i = unit_cost_ms * d_i * per_part * factor_i + delay_i
 * (the virtual clock's model; a dead worker never finishes). Closed form where
 * the order statistics of shifted-exponential delays give one, Monte Carlo over
 * the straggler model's own draws otherwise (docs/schemes.md, "The two clocks"). */
#ifndef CODEDTRAIN_STEP_BOUND_H
#define CODEDTRAIN_STEP_BOUND_H

#include "codedtrain/codes.h"
#include "host/straggler.h"

typedef struct ct_step_bound_config {
    const ct_code *code;
    const ct_straggler *strag;
    double unit_cost_ms; /* compute per sample */
    int per_part;        /* samples per partition slice */
    double deadline_ms;  /* stop at this time whatever arrived (0: none) */
    int wait_count;      /* stop at this many arrivals (fastest-k); 0: the code's rule */
} ct_step_bound_config;

typedef struct ct_step_bound {
    double mean_ms;   /* expected step time of the ideal master (INFINITY: some step never ends) */
    double stderr_ms; /* Monte Carlo standard error of mean_ms (0: closed form or exact average) */
    long trials;      /* steps averaged (0: closed form) */
    int closed_form;  /* 1: order statistics of shifted-exponential delays */
    char method[160]; /* how it was computed, in words */
} ct_step_bound;

/* 1 and *mean_ms when a closed form exists: a lone shifted-exp model, equal
 * loads, no deadline, and a stop after the k-th arrival (uncoded k = n; ignore,
 * cyclic, cyclic-mds, expander, sgc k = n - s; fastest-k its k) or one arrival
 * per frep group. Else 0. */
int ct_step_bound_closed_form(const ct_step_bound_config *c, double *mean_ms);
/* The ideal master's mean step time over the model's draws of steps
 * first_step .. first_step + steps - 1 (the draws a run of that many steps sees). */
ct_status ct_step_bound_average(const ct_step_bound_config *c, long first_step, long steps, ct_step_bound *out);
/* The expectation: closed form when one exists, else the average over
 * `trials` steps' draws (one period when the model repeats: exact). */
ct_status ct_step_bound_expected(const ct_step_bound_config *c, long trials, ct_step_bound *out);

#endif
