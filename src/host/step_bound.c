/* The ideal master's expected step time (see step_bound.h). */
#define _GNU_SOURCE /* qsort_r */
#include "host/step_bound.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double harmonic(int n) {
    double h = 0;
    for (int j = 1; j <= n; j++) h += 1.0 / j;
    return h;
}

static double compute_ms(const ct_step_bound_config *c, int i) {
    return c->unit_cost_ms * ct_code_load(c->code, i) * c->per_part;
}

int ct_step_bound_closed_form(const ct_step_bound_config *c, double *mean_ms) {
    double shift, mean;
    if (c->deadline_ms > 0 || !ct_straggler_shifted_exp(c->strag, &shift, &mean)) return 0;
    const int n = ct_code_n_workers(c->code), s = ct_code_stragglers(c->code);
    for (int i = 1; i < n; i++)
        if (ct_code_load(c->code, i) != ct_code_load(c->code, 0)) return 0;
    const double base = compute_ms(c, 0) + shift;
    /* the k-th smallest of n exponentials of mean mu: mu (H_n - H_{n-k}) */
    int k = 0;
    const ct_code_scheme sc = ct_code_get_scheme(c->code);
    if (c->wait_count > 0) k = c->wait_count < n ? c->wait_count : n;
    else if (sc == CT_CODE_UNCODED) k = n;
    else if (sc == CT_CODE_IGNORE || sc == CT_CODE_CYCLIC || sc == CT_CODE_CYCLIC_MDS || sc == CT_CODE_EXPANDER ||
             sc == CT_CODE_SGC)
        k = n - s;
    else if (sc == CT_CODE_FREP && n % (s + 1) == 0) {
        /* one arrival per group of s+1: each group's first is exponential of mean
         * mu/(s+1), and the step waits for the last of the n/(s+1) groups */
        *mean_ms = base + mean / (s + 1) * harmonic(n / (s + 1));
        return 1;
    } else
        return 0;
    *mean_ms = base + mean * (harmonic(n) - harmonic(n - k));
    return 1;
}

static int cmp_time(const void *a, const void *b, void *ctx) {
    const double *t = ctx;
    const int x = *(const int *)a, y = *(const int *)b;
    return t[x] < t[y] ? -1 : t[x] > t[y] ? 1 : x - y;
}

ct_status ct_step_bound_average(const ct_step_bound_config *c, long first_step, long steps, ct_step_bound *out) {
    memset(out, 0, sizeof *out);
    if (!c->code || !c->strag || steps < 1 || c->per_part < 1 || !(c->unit_cost_ms >= 0))
        return CT_FAIL(CT_ERR_INVALID_ARG, "step bound: a code, a straggler model, >= 1 step, per_part >= 1 and a cost >= 0");
    const int n = ct_code_n_workers(c->code);
    const int words = ct_code_mask_words(c->code);
    double *t = malloc((size_t)n * sizeof *t);
    int *order = malloc((size_t)n * sizeof *order);
    uint64_t *mask = malloc((size_t)words * sizeof *mask);
    if (!t || !order || !mask) {
        free(t); free(order); free(mask);
        return CT_FAIL(CT_ERR_NOMEM, "step bound: out of memory for %d workers", n);
    }
    const double deadline = c->deadline_ms > 0 ? c->deadline_ms : INFINITY;
    double sum = 0, sum2 = 0;
    ct_status st = CT_OK;
    for (long r = 0; r < steps && st == CT_OK; r++) {
        for (int i = 0; i < n; i++) {
            const ct_straggle_draw d = ct_straggler_draw(c->strag, i, first_step + r);
            t[i] = d.dead ? INFINITY : compute_ms(c, i) * d.factor + d.delay_ms;
            order[i] = i;
        }
        qsort_r(order, (size_t)n, sizeof *order, cmp_time, t);
        memset(mask, 0, (size_t)words * sizeof *mask);
        double stop = deadline;
        for (int a = 0; a < n && t[order[a]] <= deadline; a++) {
            st = ct_code_mask_add_worker(c->code, order[a], mask);
            if (st != CT_OK) break;
            if (c->wait_count > 0 ? a + 1 >= c->wait_count : ct_code_decodable(c->code, mask)) {
                stop = t[order[a]];
                break;
            }
        }
        sum += stop;
        sum2 += stop * stop;
    }
    free(t);
    free(order);
    free(mask);
    if (st != CT_OK) return st;
    out->trials = steps;
    out->mean_ms = sum / steps;
    const double var = steps > 1 && isfinite(out->mean_ms) ? (sum2 - sum * sum / steps) / (steps - 1) : 0;
    out->stderr_ms = var > 0 ? sqrt(var / steps) : 0;
    snprintf(out->method, sizeof out->method, "ideal master over the draws of steps %ld..%ld", first_step,
             first_step + steps - 1);
    return CT_OK;
}

ct_status ct_step_bound_expected(const ct_step_bound_config *c, long trials, ct_step_bound *out) {
    memset(out, 0, sizeof *out);
    double mean = 0;
    if (ct_step_bound_closed_form(c, &mean)) {
        out->mean_ms = mean;
        out->closed_form = 1;
        snprintf(out->method, sizeof out->method, "closed form: order statistics of shifted-exponential delays");
        return CT_OK;
    }
    const long period = ct_straggler_period(c->strag);
    CT_TRY(ct_step_bound_average(c, 0, period > 0 ? period : trials, out));
    if (period > 0) {
        out->stderr_ms = 0;
        snprintf(out->method, sizeof out->method, "exact: the model repeats every %ld step%s, averaged over one period",
                 period, period == 1 ? "" : "s");
    } else {
        snprintf(out->method, sizeof out->method, "Monte Carlo over %ld draws of the straggler model", trials);
    }
    return CT_OK;
}
