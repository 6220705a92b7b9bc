/* A training step makes at most one host synchronisation per worker: counted
 * on the cpu-streams backend (CUDA's stream semantics on the CPU), where every
 * stream wait, pageable copy, host-result op and device-wide wait counts. Real
 * clock, with and without throttled stragglers, fast path, general path with
 * several messages, and 1-bit messages; a dead worker, cancelled every step,
 * never computes at all. Without stragglers the steady-state task is one graph
 * launch (the cpu-streams backend records and replays as CUDA does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "ct_test.h"
#include "host/master.h"

/* dead >= 0: that worker never answers; cancelled at the end of every step,
 * it must never compute (no synchronisation at all) */
static void run_case(const char *what, const char *code, int n, int stragglers, int messages, int load,
                     int general, int compress, const char *straggle, int dead) {
    ct_dataset data;
    ct_model_spec spec;
    CHECK_OK(ct_dataset_synthetic(2400, 12, 5, 1.0, 42, &data));
    CHECK_OK(ct_model_spec_parse("mlp:12-9-5", 12, 1, 1, 5, &spec));
    ct_backend *be = NULL;
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU_STREAMS, &bc, &be));
    if (!be) return;
    const size_t P = ct_model_param_count(&spec);
    float *params = NULL, *grad = NULL, *h = malloc(P * sizeof(float));
    ct_model_init_params(&spec, 7, h);
    CHECK_OK(be->ops->alloc(be, P * sizeof(float), (void **)&params));
    CHECK_OK(be->ops->alloc(be, P * sizeof(float), (void **)&grad));
    CHECK_OK(be->ops->memcpy_h2d(be, params, h, P * sizeof(float)));
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    c.device = CT_DEVICE_CPU_STREAMS;
    c.workers = n;
    c.stragglers = stragglers;
    c.messages = messages;
    c.load = load;
    c.code = code;
    c.batch = 8 * n;
    c.seed = 3;
    c.clock = CT_CLOCK_REAL;
    c.general_path = general;
    c.compress = compress;
    c.straggle = straggle;
    c.threads = 1;
    ct_master *m = NULL;
    ct_status st = ct_master_create(&c, &spec, &data, be, &m);
    CHECK(st == CT_OK, "%s: master: %s", what, ct_last_error());
    if (st == CT_OK) {
        long before[64], worst = 0, dead_syncs = 0;
        for (long step = 0; step < 6; step++) {
            for (int i = 0; i < n; i++) before[i] = ct_cpu_streams_host_syncs(ct_master_worker(m, i)->be);
            ct_step_info info;
            st = ct_master_step(m, step, 1, (int)step, params, grad, &info);
            CHECK(st == CT_OK, "%s step %ld: %s", what, step, ct_last_error());
            if (st != CT_OK) break;
            /* late workers finish this step's task first: its synchronisation belongs to this step */
            for (int i = 0; i < n; i++) {
                ct_worker *w = ct_master_worker(m, i);
                for (int fin = 0, ab = 0; w->state == CT_WORKER_BUSY;) {
                    CHECK_OK(ct_worker_poll(w, &fin, &ab));
                    const struct timespec ts = {0, 100000};
                    nanosleep(&ts, NULL);
                }
            }
            for (int i = 0; i < n; i++) {
                const long d = ct_cpu_streams_host_syncs(ct_master_worker(m, i)->be) - before[i];
                if (d > worst) worst = d;
                if (i == dead) dead_syncs += d;
            }
        }
        long launches = 0;
        for (int i = 0; i < n; i++) launches += ct_master_worker(m, i)->graph_launches;
        printf("%s: at most %ld host synchronisation(s) per worker per step; %ld task(s) as one graph launch\n", what,
               worst, launches);
        /* the steady state replays a recording: from each worker's third task of a shape on */
        if (!straggle) CHECK(launches >= n, "%s: %ld graph launches in 6 steps of %d workers", what, launches, n);
        CHECK(worst == 1, "%s: %ld host synchronisations by one worker in one step (expected 1)", what, worst);
        /* the worker thread waits out its throttle before computing: cancelled, it skips the task */
        if (dead >= 0)
            CHECK(dead_syncs == 0, "%s: the dead worker %d synchronised %ld times (it computed after its cancel)",
                  what, dead, dead_syncs);
    }
    ct_master_destroy(m);
    be->ops->free(be, params);
    be->ops->free(be, grad);
    ct_backend_destroy(be);
    free(h);
    ct_dataset_free(&data);
}

int main(void) {
    run_case("one inline worker on the master's parameters", "uncoded", 1, 0, 0, 0, 0, 0, NULL, -1);
    run_case("uncoded, fast path", "uncoded", 4, 0, 0, 0, 0, 0, NULL, -1);
    run_case("cyclic s=1, shifted-exp throttles", "cyclic", 4, 1, 0, 0, 0, 0, "shifted-exp:0.5,0.5", -1);
    run_case("cyclic s=1, general path", "cyclic", 4, 1, 0, 0, 1, 0, NULL, -1);
    run_case("alpha-cyclic d=3 m=2", "alpha-cyclic", 6, 0, 2, 3, 0, 0, NULL, -1);
    run_case("frep, 1-bit error feedback", "frep", 6, 1, 0, 0, 0, CT_COMPRESS_SIGN_EF, NULL, -1);
    run_case("cyclic s=1, worker 1 dead", "cyclic", 4, 1, 0, 0, 0, 0, "drop:1", 1);
    return ct_test_done("test_host_step_syncs");
}
