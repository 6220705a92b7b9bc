/* `codedtrain codes ... --straggle MODEL`: the ideal master's expected step time
 * for the code (host/step_bound.h) instead of the decoding table. */
#ifndef CODEDTRAIN_CLI_STEP_BOUND_H
#define CODEDTRAIN_CLI_STEP_BOUND_H

#include "codedtrain/codes.h"
#include "codedtrain/status.h"

typedef struct ct_cli_step_bound_opts {
    const char *straggle; /* NULL: no bound asked for */
    double unit_cost_ms;  /* compute per sample */
    int batch;            /* minibatch: batch / k samples per partition slice */
    double deadline_ms;   /* 0: none */
    int wait_count;       /* fastest-k: stop at this many arrivals (0: the code's rule) */
    long trials;          /* Monte Carlo steps when no closed form exists */
} ct_cli_step_bound_opts;

#define CT_CLI_STEP_BOUND_OPTS_INIT {NULL, 0.05, 128, 0.0, 0, 20000}

/* Parse one of --straggle, --unit-cost-ms, --batch, --deadline-ms, --fastest-k,
 * --mc-trials at argv[*i]; *matched = 0 when argv[*i] is none of them. */
ct_status ct_cli_step_bound_flag(int argc, char **argv, int *i, ct_cli_step_bound_opts *o, int *matched);
/* the usage lines of those flags */
const char *ct_cli_step_bound_usage(void);
/* Compute and print (text, or one JSON object); returns the exit code. */
int ct_cli_step_bound_print(const ct_code_spec *spec, const ct_cli_step_bound_opts *o, int json);

#endif
