/* Straggler models: what delay (or slowdown, or death) worker i suffers at step t.
 * Every draw is a pure function of (seed, worker, step), so a run is reproducible
 * whatever order workers are asked in. Models combine with '+':
 *   none | slow:I,J@F | shifted-exp:SHIFT_MS,MEAN_MS | pareto:ALPHA,SCALE_MS |
 *   bimodal:P,SLOW_MS | drop:I,J | trace:FILE | nan:I   (nan: test-only, poisons messages) |
 *   exp-means:M0,M1,...,M{n-1} (worker i: exponential delay of mean M_i ms) |
 *   exp-spread:MIN_MS,MAX_MS (exponential, means geometric from worker 0 to worker n-1) */
#ifndef CODEDTRAIN_STRAGGLER_H
#define CODEDTRAIN_STRAGGLER_H

#include <stdint.h>

#include "codedtrain/status.h"

typedef struct ct_straggler ct_straggler;

typedef struct ct_straggle_draw {
    double delay_ms; /* extra wall time added to the worker's task */
    double factor;   /* compute slowdown factor (>= 1) */
    int dead;        /* never answers */
    int poison;      /* its message is replaced by NaN (fault injection) */
} ct_straggle_draw;

/* Parse a spec for n workers. CT_ERR_INVALID_ARG (bad spec, worker index out of
 * range) or CT_ERR_IO / CT_ERR_FORMAT (trace file), naming the spec or file:line. */
ct_status ct_straggler_create(const char *spec, int n_workers, uint64_t seed, ct_straggler **out);
void ct_straggler_destroy(ct_straggler *m);
ct_straggle_draw ct_straggler_draw(const ct_straggler *m, int worker, long step);
/* 1 and the mean delay of worker i in ms when the model is a lone exponential
 * (exp-means, exp-spread, shifted-exp): the oracle of the bandit's regret */
int ct_straggler_exp_mean_ms(const ct_straggler *s, int worker, double *mean_ms);
/* 1, the shift and the mean (ms) when the model is a lone shifted-exp: the
 * closed form of the step bound (host/step_bound.h) */
int ct_straggler_shifted_exp(const ct_straggler *s, double *shift_ms, double *mean_ms);
/* 0 when a draw is random; else the period in steps after which the draws repeat
 * (trace: its rows; none, slow, drop, nan: 1) */
long ct_straggler_period(const ct_straggler *s);
/* 1 when some draw poisons a worker's messages (nan:I) */
int ct_straggler_poisons(const ct_straggler *s);
/* the spec as given (for logs) */
const char *ct_straggler_spec(const ct_straggler *m);

#endif
