/* The measured "exact" label of a code, within a wall-time budget: shared by
 * `codes` (which prints it) and `train` (which warns before a run when an
 * exact-by-design code fails at this n). docs/schemes.md, "Measured labels". */
#ifndef CT_HOST_CODE_LABEL_H
#define CT_HOST_CODE_LABEL_H

#include <stdio.h>

#include "codedtrain/codes.h"
#include "host/jsonl.h"

typedef struct code_label {
    int by_design;          /* the construction promises exactness for <= s stragglers */
    int measured;           /* 0: not even one decode fitted the budget */
    double probe_s;         /* wall time of one decode at s stragglers (a contiguous run) */
    long max_sets;          /* sets the budget allowed */
    ct_code_verify_report rep;
} code_label;

/* One decode to time, then ct_code_verify with as many sets as budget_s allows
 * (capped by max_sets; budget_s <= 0: max_sets only). */
ct_status code_label_measure(ct_code *code, double budget_s, long max_sets, uint64_t seed, code_label *out);
/* One decode at s contiguous stragglers, run on a helper thread so that a
 * decode too slow for the budget (a dense solve at n in the thousands) can be
 * abandoned: *timed_out = 1 after timeout_s (<= 0: wait forever). A timed-out
 * code is still in use by the helper: the caller must not destroy it. */
ct_status code_label_probe(ct_code *code, double timeout_s, double *elapsed_s, int *timed_out);
/* 1 when the code is called exact: exact by design and no tested set failed */
int code_label_exact(const code_label *l);
/* One line (no newline) saying what the label is and how it was measured. */
void code_label_print(FILE *f, const ct_code *code, const code_label *l);
/* "label": {...} into an open JSON object. */
void code_label_json(ct_json *j, const code_label *l);
/* train: warn on stderr when `scheme` is exact by design but fails a tested
 * straggler set at (n, s); silent when the code cannot be built (train
 * reports that) or when it passes. */
void code_label_warn_train(const ct_code_spec *spec, double budget_s, FILE *f);

#endif
