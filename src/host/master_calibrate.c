/* The run's cost model, from the master's side (see master.h):
 * --unit-cost-ms auto and what the step-time bound needs. */
#include <sched.h>
#include <stdlib.h>

#include "host/clock.h"
#include "host/master_internal.h"
#include "host/step_bound.h"

int ct_master_step_bound_config(const ct_master *m, ct_step_bound_config *out) {
    const ct_policy_kind kind = ct_policy_get_kind(m->policy);
    /* adaptive k and bandits change who works and how many count; async peels across steps */
    if (m->async || (kind != CT_POLICY_ALL && kind != CT_POLICY_FASTEST_K)) return 0;
    *out = (ct_step_bound_config){.code = m->code, .strag = m->strag, .unit_cost_ms = m->cfg->unit_cost_ms,
                                  .per_part = m->per_part, .deadline_ms = m->cfg->deadline_ms,
                                  .wait_count = kind == CT_POLICY_FASTEST_K ? ct_policy_wait_count(m->policy, 0) : 0};
    return 1;
}

/* compute-only tasks timed for --unit-cost-ms auto: one warm-up, then the median */
#define CT_CALIBRATE_RUNS 15

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

ct_status ct_master_calibrate(ct_master *m, const float *params, double *unit_cost_ms, int *samples) {
    /* worker 0's own task shape (its partitions, its encoding), no delay, on the
     * worker's own context and thread: what a step costs it, hand-off included */
    ct_worker *w = m->w[0];
    const int d = ct_code_load(m->code, 0) > 0 ? ct_code_load(m->code, 0) : 1;
    const int nb = d * m->per_part;
    for (int s = 0; s < nb; s++) m->samples[0][s] = s % m->data->n;
    ct_task t = {.step = -1000, .d = d, .m = ct_code_messages(m->code, 0), .per_part = m->per_part,
                 .inv_batch = 1.0f / (float)m->batch, .samples = m->samples[0], .E = ct_code_encoding(m->code, 0),
                 .draw = {0.0, 1.0, 0, 0}, .real_throttle = 0, .general_path = m->cfg->general_path,
                 .compress = CT_COMPRESS_NONE, /* packing would move the error-feedback state */
                 .quant_seed = 1};
    if (w->remote || w->nccl)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--unit-cost-ms auto: measured on local workers only (not --transport mpi/nccl)");
    if (m->n == 1 && !w->remote && w->be->kind == CT_DEVICE_CPU && m->be->kind == CT_DEVICE_CPU) w->params_view = params;
    else {
        CT_TRY(m->be->ops->memcpy_d2d(m->be, w->params, params, m->P * sizeof(float)));
        CT_TRY(m->be->ops->sync(m->be));
    }
    double ms[CT_CALIBRATE_RUNS + 1];
    for (int r = 0; r <= CT_CALIBRATE_RUNS; r++) {
        t.step = -1000 - r; /* distinct from every training step */
        const double t0 = ct_now_s();
        CT_TRY(ct_worker_submit(w, &t));
        for (int fin = 0, ab = 0; !fin;) {
            CT_TRY(ct_worker_poll(w, &fin, &ab));
            if (!fin) sched_yield();
        }
        /* CPU: the worker's own compute time (the thread hand-off, which on a
         * loaded machine can dwarf a small model's compute, is not the model's
         * cost); CUDA: wall time to the completion event (compute_ms there is
         * the host's enqueue time) */
        ms[r] = w->be->kind == CT_DEVICE_CPU ? w->compute_ms : 1e3 * (ct_now_s() - t0);
    }
    qsort(ms + 1, CT_CALIBRATE_RUNS, sizeof(double), cmp_double); /* ms[0]: the warm-up, dropped */
    *unit_cost_ms = ms[1 + CT_CALIBRATE_RUNS / 2] / nb;
    *samples = nb;
    return CT_OK;
}
