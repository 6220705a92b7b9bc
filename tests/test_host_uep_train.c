/* UEP-coded backprop (src/host/uep_train.c): with every packet in, the coded
 * backward equals the exact one; with none, no weight moves; in between every
 * decoded block is exact, the rest zero, and the error is the missing blocks'
 * energy. Plus config parsing and a short run through ct_train_run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "codedtrain/train.h"
#include "ct_test.h"
#include "host/uep_train.h"

enum { IN = 24, H1 = 12, H2 = 10, OUT = 9, BATCH = 16 };

typedef struct fixture {
    ct_backend *be;
    ct_mlp_spec spec;
    size_t P;
    float *params, *x, *grad_ref, *grad; /* device */
    int32_t *y;
    float *h_ref, *h_got;                /* host */
} fixture;

static void fixture_init(fixture *f) {
    memset(f, 0, sizeof *f);
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU, &bc, &f->be));
    f->spec.n_layers = 3;
    int sizes[4] = {IN, H1, H2, OUT};
    memcpy(f->spec.sizes, sizes, sizeof sizes);
    f->P = ct_mlp_param_count(&f->spec);
    ct_backend *be = f->be;
    CHECK_OK(be->ops->alloc(be, f->P * sizeof(float), (void **)&f->params));
    CHECK_OK(be->ops->alloc(be, f->P * sizeof(float), (void **)&f->grad_ref));
    CHECK_OK(be->ops->alloc(be, f->P * sizeof(float), (void **)&f->grad));
    CHECK_OK(be->ops->alloc(be, (size_t)BATCH * IN * sizeof(float), (void **)&f->x));
    CHECK_OK(be->ops->alloc(be, (size_t)BATCH * sizeof(int32_t), (void **)&f->y));
    f->h_ref = malloc(f->P * sizeof(float));
    f->h_got = malloc(f->P * sizeof(float));
    float *hp = malloc(f->P * sizeof(float)), *hx = malloc((size_t)BATCH * IN * sizeof(float));
    int32_t hy[BATCH];
    ct_mlp_init_params(&f->spec, 7, hp);
    /* nonzero biases, so that the ReLU masks are not all-or-nothing */
    unsigned long long s = 12345;
    for (size_t i = 0; i < f->P; i++) hp[i] += ct_test_uniform(&s, -0.05f, 0.05f);
    for (int i = 0; i < BATCH * IN; i++) hx[i] = ct_test_uniform(&s, -1.5f, 1.5f);
    for (int i = 0; i < BATCH; i++) hy[i] = (int32_t)(ct_test_rng_next(&s) % OUT);
    CHECK_OK(be->ops->memcpy_h2d(be, f->params, hp, f->P * sizeof(float)));
    CHECK_OK(be->ops->memcpy_h2d(be, f->x, hx, (size_t)BATCH * IN * sizeof(float)));
    CHECK_OK(be->ops->memcpy_h2d(be, f->y, hy, sizeof hy));
    CHECK_OK(be->ops->sync(be));
    free(hp);
    free(hx);
    /* the exact gradient */
    ct_mlp_workspace *ws = NULL;
    CHECK_OK(ct_mlp_workspace_create(be, &f->spec, BATCH, &ws));
    CHECK_OK(ct_mlp_loss_grad(ws, f->params, f->x, f->y, NULL, BATCH, 0.0f, f->grad_ref, NULL));
    CHECK_OK(be->ops->memcpy_d2h(be, f->h_ref, f->grad_ref, f->P * sizeof(float)));
    CHECK_OK(be->ops->sync(be));
    ct_mlp_workspace_destroy(ws);
}

static void fixture_free(fixture *f) {
    ct_backend *be = f->be;
    be->ops->free(be, f->params);
    be->ops->free(be, f->grad_ref);
    be->ops->free(be, f->grad);
    be->ops->free(be, f->x);
    be->ops->free(be, f->y);
    free(f->h_ref);
    free(f->h_got);
    ct_backend_destroy(be);
}

static ct_uep_setup make_setup(const char *scheme, int workers, double deadline, int paradigm, const char *k,
                               const char *gamma) {
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    c.uep = 1;
    c.uep_scheme = scheme;
    c.uep_workers = workers;
    c.uep_deadline = deadline;
    c.uep_paradigm = paradigm;
    if (k) c.uep_k = k;
    if (gamma) c.uep_gamma = gamma;
    c.seed = 3;
    ct_uep_setup s;
    memset(&s, 0, sizeof s);
    CHECK_OK(ct_uep_setup_from_config(&c, &s));
    return s;
}

/* runs the coded backward, copies the gradient to f->h_got */
static void coded_grad(fixture *f, const ct_uep_setup *s, long step, ct_uep_step_stats *st) {
    ct_uep_mlp *m = NULL;
    CHECK_OK(ct_uep_mlp_create(f->be, &f->spec, BATCH, s, &m));
    if (!m) return;
    float loss = 0;
    CHECK_OK(f->be->ops->fill(f->be, f->P, 123.0f, f->grad)); /* overwritten, never accumulated */
    CHECK_OK(ct_uep_mlp_loss_grad(m, f->params, f->x, f->y, BATCH, step, f->grad, &loss, st));
    CHECK(isfinite(loss) && loss > 0, "loss %g", (double)loss);
    CHECK_OK(f->be->ops->memcpy_d2h(f->be, f->h_got, f->grad, f->P * sizeof(float)));
    CHECK_OK(f->be->ops->sync(f->be));
    ct_uep_mlp_destroy(m);
}

/* every packet arrives: the decoded products are the exact ones */
static void test_infinite_deadline(fixture *f) {
    struct {
        const char *scheme;
        int workers, paradigm;
    } cases[] = {{"eep", 15, 0}, {"eep", 9, 1}, {"uncoded", 9, 0}, {"uncoded", 20, 1}, {"ew", 40, 0}, {"now", 60, 1},
                 {"exact", 15, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ct_uep_setup s = make_setup(cases[c].scheme, cases[c].workers, INFINITY, cases[c].paradigm, NULL, NULL);
        for (long step = 0; step < 3; step++) {
            ct_uep_step_stats st;
            coded_grad(f, &s, step, &st);
            CHECK(st.n_products == 5, "%d products", st.n_products);
            int all = 1;
            for (int p = 0; p < st.n_products; p++)
                for (int b = 0; b < s.n_blocks; b++) all &= st.product[p].recovered[b];
            /* NOW can miss a window even with every packet in; EEP/uncoded/EW at these N cannot
             * (EW: the seeds used here decode everything) */
            if (strcmp(cases[c].scheme, "now") != 0) CHECK(all, "%s N=%d step %ld: not everything decoded", cases[c].scheme, cases[c].workers, step);
            if (!all) continue;
            double e = ct_rel_err_f(f->h_got, f->h_ref, f->P);
            CHECK(e < 2e-6, "%s N=%d %s step %ld: rel err %g vs ct_mlp_loss_grad", cases[c].scheme, cases[c].workers,
                  cases[c].paradigm ? "cxr" : "rxc", step, e);
            CHECK(fabs(st.energy_recovered - 1) < 1e-9, "energy recovered %g", st.energy_recovered);
            CHECK(st.time_s > 0 && isfinite(st.time_s), "time %g", st.time_s);
            if (!strcmp(cases[c].scheme, "exact")) CHECK(e == 0, "exact mode must be bitwise ct_mlp_loss_grad (err %g)", e);
        }
    }
}

/* nothing arrives: no weight gradient, no hidden bias gradient; the last bias stays exact */
static void test_zero_deadline(fixture *f) {
    const char *schemes[] = {"now", "ew", "eep", "uncoded"};
    for (int c = 0; c < 4; c++) {
        ct_uep_setup s = make_setup(schemes[c], 15, 0.0, c & 1, NULL, NULL);
        ct_uep_step_stats st;
        coded_grad(f, &s, 5, &st);
        size_t w_off, b_off;
        double maxw = 0;
        for (int l = 0; l < f->spec.n_layers; l++) {
            ct_mlp_layer_offsets(&f->spec, l, &w_off, &b_off);
            size_t nw = (size_t)f->spec.sizes[l + 1] * f->spec.sizes[l];
            for (size_t i = 0; i < nw; i++) maxw = fmax(maxw, fabs(f->h_got[w_off + i]));
            if (l < f->spec.n_layers - 1)
                for (int i = 0; i < f->spec.sizes[l + 1]; i++) maxw = fmax(maxw, fabs(f->h_got[b_off + i]));
            else
                for (int i = 0; i < f->spec.sizes[l + 1]; i++)
                    CHECK(f->h_got[b_off + i] == f->h_ref[b_off + i], "%s: output bias grad %d differs", schemes[c], i);
        }
        CHECK(maxw == 0, "%s T=0: largest weight / hidden-bias gradient %g, expected 0", schemes[c], maxw);
        CHECK(st.time_s == 0, "%s T=0: time %g", schemes[c], st.time_s);
        CHECK(st.arrived_frac == 0, "%s T=0: arrived %g", schemes[c], st.arrived_frac);
    }
}

/* A middle deadline, on one product: decoded blocks exact, others zero, and
 * ||C - C_hat||^2 is the missing blocks' energy (with cxr's cross terms). */
static void test_product_partial(void) {
    enum { R = 13, K = 11, Q = 10 };
    double A[R * K], B[K * Q], C[R * Q], Ch[R * Q];
    unsigned long long s = 99;
    for (int i = 0; i < R * K; i++) A[i] = ct_test_uniform(&s, -1, 1) * (i % 3 == 0 ? 5 : 1);
    for (int i = 0; i < K * Q; i++) B[i] = ct_test_uniform(&s, -1, 1) * (i % 4 == 0 ? 4 : 1);
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++) {
            double v = 0;
            for (int m = 0; m < K; m++) v += A[r * K + m] * B[m * Q + q];
            C[r * Q + q] = v;
        }
    const char *schemes[] = {"now", "ew", "eep", "uncoded"};
    int partial_seen = 0, full_seen = 0, none_seen = 0;
    for (int paradigm = 0; paradigm < 2; paradigm++)
        for (int c = 0; c < 4; c++)
            for (int trial = 0; trial < 25; trial++) {
                ct_uep_setup su = make_setup(schemes[c], 12, 1.0, paradigm, NULL, NULL);
                ct_uep_product_info info;
                CHECK_OK(ct_uep_coded_matmul(&su, ct_uep_product_key(5, trial, c), A, B, R, K, Q, C, Ch, &info));
                ct_uep_partition *p = NULL;
                CHECK_OK(ct_uep_partition_build(A, B, R, K, Q, (ct_uep_paradigm)paradigm, su.parts, &su.params, &p));
                if (!p) return;
                double gram[CT_UEP_MAX_BLOCKS * CT_UEP_MAX_BLOCKS];
                CHECK_OK(ct_uep_block_gram(p, gram));
                double missing = 0, total = 0;
                int nrec = 0;
                for (int b = 0; b < su.n_blocks; b++) {
                    nrec += info.recovered[b];
                    for (int b2 = 0; b2 < su.n_blocks; b2++) {
                        total += gram[b * su.n_blocks + b2];
                        if (!info.recovered[b] && !info.recovered[b2]) missing += gram[b * su.n_blocks + b2];
                    }
                }
                partial_seen += nrec > 0 && nrec < su.n_blocks;
                full_seen += nrec == su.n_blocks;
                none_seen += nrec == 0;
                CHECK(fabs(info.err - missing) <= 1e-9 * total, "%s %s: error %g, missing energy %g",
                      schemes[c], paradigm ? "cxr" : "rxc", info.err, missing);
                CHECK(fabs(info.energy - total) <= 1e-9 * total, "energy %g vs gram %g", info.energy, total);
                CHECK(info.finish_s <= 1.0, "finish %g after the deadline", info.finish_s);
                double ce = 0;
                for (int l = 0; l < su.params.n_classes; l++) ce += info.class_energy[l];
                unsigned char ok[CT_UEP_MAX_CLASSES];
                ct_uep_class_flags(&su.params, info.recovered, ok);
                CHECK(!memcmp(ok, info.class_ok, (size_t)su.params.n_classes), "class flags disagree with blocks");
                if (paradigm == 0) {
                    CHECK(fabs(ce - total) <= 1e-9 * total, "rxc class energies sum to %g, ||C||^2 %g", ce, total);
                    /* rxc: each entry of C belongs to one block: exact or zero */
                    int bad = 0;
                    for (int t = 0; t < R * Q; t++)
                        if (!(fabs(Ch[t] - C[t]) <= 1e-9 * (1 + fabs(C[t])) || Ch[t] == 0)) bad++;
                    CHECK(bad == 0, "%s rxc: %d entries neither exact nor zero", schemes[c], bad);
                }
                ct_uep_partition_free(p);
            }
    CHECK(partial_seen > 10 && full_seen > 0 && none_seen >= 0, "partial %d full %d: T=1 should give both",
          partial_seen, full_seen);
}

/* at a middle deadline, the last layer's dW (whose dZ is exact) is exact or zero entrywise */
static void test_mlp_partial(fixture *f) {
    ct_uep_setup s = make_setup("ew", 15, 1.0, 0, NULL, NULL);
    int partial = 0;
    for (long step = 0; step < 8; step++) {
        ct_uep_step_stats st;
        coded_grad(f, &s, step, &st);
        size_t w_off, b_off;
        ct_mlp_layer_offsets(&f->spec, 2, &w_off, &b_off);
        int bad = 0, zero = 0;
        for (int i = 0; i < OUT * H2; i++) {
            float g = f->h_got[w_off + i], r = f->h_ref[w_off + i];
            if (g == 0) zero++;
            else if (fabsf(g - r) > 1e-5f * (1 + fabsf(r))) bad++;
        }
        CHECK(bad == 0, "step %ld: %d entries of the last dW neither exact nor zero", step, bad);
        double e = st.product[0].energy > 0 ? 1 - st.product[0].err / st.product[0].energy : 1;
        partial += e < 1 && e > 0;
        CHECK(st.energy_recovered >= 0 && st.energy_recovered <= 1 + 1e-12, "energy %g", st.energy_recovered);
        for (int p = 0; p < st.n_products; p++)
            CHECK(st.product[p].finish_s <= 1.0, "product %d finished at %g, deadline 1", p, st.product[p].finish_s);
    }
    CHECK(partial > 0, "no step had a partly decoded last dW");
}

static void test_setup_errors(void) {
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    ct_uep_setup s;
    c.uep_scheme = "bogus";
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "bad scheme accepted");
    CHECK(strstr(ct_last_error(), "bogus") != NULL, "message: %s", ct_last_error());
    c = (ct_train_config)CT_TRAIN_CONFIG_INIT;
    c.uep_k = "3,3,2";
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "rxc with 8 blocks accepted");
    c.uep_paradigm = 1;
    CHECK_OK(ct_uep_setup_from_config(&c, &s));
    CHECK(s.parts == 8 && s.n_blocks == 8, "cxr parts %d", s.parts);
    c = (ct_train_config)CT_TRAIN_CONFIG_INIT;
    c.uep_gamma = "0.5,0.5";
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "gamma/k length mismatch accepted");
    c.uep_gamma = "0.5,0.4,0.4";
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "gamma not summing to 1 accepted");
    c = (ct_train_config)CT_TRAIN_CONFIG_INIT;
    c.uep_lambda = 0;
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "lambda 0 accepted");
    c = (ct_train_config)CT_TRAIN_CONFIG_INIT;
    CHECK_OK(ct_uep_setup_from_config(&c, &s));
    CHECK(s.scheme == CT_UEP_EW && s.workers == 15 && s.parts == 3 && s.deadline == 1.0, "defaults");
}

/* a short run through ct_train_run: logs, exact vs coded, determinism */
static void test_run(void) {
    const char *dir = getenv("CT_TEST_TMPDIR");
    char log[512];
    snprintf(log, sizeof log, "%s/uep_train_test.jsonl", dir ? dir : ".");
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    c.device = CT_DEVICE_CPU;
    c.threads = 1;
    c.dataset = CT_DATA_SYNTHETIC;
    c.synth_n = 2000;
    c.synth_dim = 20;
    c.synth_classes = 4;
    c.model = "mlp:20-16-12-4";
    c.epochs = 2;
    c.batch = 32;
    c.lr = 0.05;
    c.momentum = 0;
    c.progress = CT_PROGRESS_OFF;
    c.uep = 1;
    c.uep_scheme = "ew";
    c.uep_deadline = 1.0;
    c.log_path = log;
    ct_train_result r1, r2;
    CHECK_OK(ct_train_run(&c, &r1));
    CHECK(r1.steps == 2 * (2000 / 32), "steps %ld", r1.steps);
    CHECK(r1.final_test_acc > 0.5, "ew T=1 accuracy %g on an easy synthetic task", r1.final_test_acc);
    CHECK(r1.time_s > 0 && r1.time_s <= 5.0 * r1.steps, "virtual time %g for %ld steps (<= 5 products x T)", r1.time_s,
          r1.steps);
    FILE *f = fopen(log, "r");
    CHECK(f != NULL, "no log at %s", log);
    if (f) {
        char line[4096];
        int epochs = 0, finals = 0;
        while (fgets(line, sizeof line, f)) {
            epochs += strstr(line, "\"type\":\"epoch\"") != NULL;
            if (strstr(line, "\"type\":\"final\"")) {
                finals++;
                CHECK(strstr(line, "\"uep_scheme\":\"uep-ew\"") && strstr(line, "\"energy_recovered\"") && strstr(line, "\"grad_rel_err\"") &&
                          strstr(line, "\"uep_workers\":15") && strstr(line, "\"uep_deadline\":1"),
                      "final record: %s", line);
            }
        }
        fclose(f);
        CHECK(epochs == 2 && finals == 1, "%d epoch records, %d final", epochs, finals);
    }
    c.log_path = NULL;
    CHECK_OK(ct_train_run(&c, &r2));
    CHECK(r1.final_test_acc == r2.final_test_acc && r1.time_s == r2.time_s, "same seed, different run: %g/%g vs %g/%g",
          r1.final_test_acc, r1.time_s, r2.final_test_acc, r2.time_s);
    /* refusals */
    c.workers = 4;
    CHECK(ct_train_run(&c, &r2) == CT_ERR_INVALID_ARG, "--workers with --uep accepted");
    c.workers = 1;
    c.model = "mlp:20-2-4"; /* a 2-unit layer cannot be cut in 3 groups */
    CHECK(ct_train_run(&c, &r2) == CT_ERR_INVALID_ARG, "too-small layer accepted");
    CHECK(strstr(ct_last_error(), "layer") != NULL, "message: %s", ct_last_error());
}

/* the same setup with the packets computed by a pool of `kind` workers */
static ct_uep_setup pool_setup(ct_uep_setup s, ct_device_kind kind, ct_uep_clock clock, double scale_ms) {
    s.pool = 1;
    s.pool_kind = kind;
    s.clock = clock;
    s.time_scale_ms = scale_ms;
    return s;
}

/* every packet in: the pool's float packets decode to the exact gradient */
static void pool_infinite_deadline(fixture *f, ct_device_kind kind) {
    struct {
        const char *scheme;
        int workers, paradigm;
    } cases[] = {{"eep", 15, 0}, {"eep", 9, 1}, {"uncoded", 9, 0}, {"ew", 40, 0}, {"ew", 30, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ct_uep_setup h = make_setup(cases[c].scheme, cases[c].workers, INFINITY, cases[c].paradigm, NULL, NULL);
        for (int clk = 0; clk < 2; clk++) {
            /* real clock with a tiny time scale: every worker is throttled, all arrive */
            ct_uep_setup s = pool_setup(h, kind, clk ? CT_UEP_CLOCK_REAL : CT_UEP_CLOCK_VIRTUAL, 0.01);
            for (long step = 0; step < 2; step++) {
                ct_uep_step_stats st;
                coded_grad(f, &s, step, &st);
                int all = 1;
                for (int p = 0; p < st.n_products; p++)
                    for (int b = 0; b < s.n_blocks; b++) all &= st.product[p].recovered[b];
                CHECK(all, "%s pool %s N=%d: not everything decoded", cases[c].scheme, clk ? "real" : "virtual",
                      cases[c].workers);
                double e = ct_rel_err_f(f->h_got, f->h_ref, f->P);
                CHECK(e < 1e-4, "%s pool %s N=%d %s step %ld: rel err %g vs ct_mlp_loss_grad", cases[c].scheme,
                      clk ? "real" : "virtual", cases[c].workers, cases[c].paradigm ? "cxr" : "rxc", step, e);
            }
        }
    }
}

/* virtual clock: the pool sees the host's arrivals, so the same blocks decode;
 * the gradients differ only by float rounding */
static void pool_matches_host(fixture *f, ct_device_kind kind) {
    const char *schemes[] = {"ew", "now", "uncoded"};
    float *host_grad = malloc(f->P * sizeof(float));
    for (int sc = 0; sc < 3; sc++)
        for (int par = 0; par < 2; par++) {
            ct_uep_setup h = make_setup(schemes[sc], 15, 1.0, par, NULL, NULL);
            ct_uep_setup s = pool_setup(h, kind, CT_UEP_CLOCK_VIRTUAL, 1.0);
            for (long step = 0; step < 4; step++) {
                ct_uep_step_stats sh, sp;
                coded_grad(f, &h, step, &sh);
                memcpy(host_grad, f->h_got, f->P * sizeof(float));
                coded_grad(f, &s, step, &sp);
                CHECK(sh.n_products == sp.n_products, "products %d vs %d", sh.n_products, sp.n_products);
                for (int p = 0; p < sh.n_products; p++) {
                    const ct_uep_product_info *a = &sh.product[p], *b = &sp.product[p];
                    CHECK(a->arrived == b->arrived && a->finish_s == b->finish_s &&
                              !memcmp(a->recovered, b->recovered, sizeof a->recovered) &&
                              !memcmp(a->class_ok, b->class_ok, sizeof a->class_ok),
                          "%s %s step %ld product %d: pool decoded differently from the host", schemes[sc],
                          par ? "cxr" : "rxc", step, p);
                }
                double e = ct_rel_err_f(f->h_got, host_grad, f->P);
                CHECK(e < 1e-4, "%s %s step %ld: pool vs host gradient rel err %g", schemes[sc], par ? "cxr" : "rxc",
                      step, e);
            }
        }
    free(host_grad);
}

/* a few steps through ct_train_run on the real clock: the deadline cuts, nothing hangs */
static void pool_real_run(const char *device) {
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    c.device = CT_DEVICE_CPU;
    c.threads = 1;
    c.dataset = CT_DATA_SYNTHETIC;
    c.synth_n = 800;
    c.synth_dim = 20;
    c.synth_classes = 4;
    c.model = "mlp:20-16-12-4";
    c.epochs = 1;
    c.max_steps = 6;
    c.batch = 32;
    c.progress = CT_PROGRESS_OFF;
    c.uep = 1;
    c.uep_scheme = "ew";
    c.uep_deadline = 1.0;
    c.uep_device = device;
    c.clock = CT_CLOCK_REAL;
    c.uep_time_scale_ms = 0.05;
    ct_train_result r;
    CHECK_OK(ct_train_run(&c, &r));
    CHECK(r.steps == 6, "steps %ld", r.steps);
    CHECK(r.time_s > 0 && r.time_s < 60, "real-clock time %g s for 6 steps", r.time_s);
    /* virtual clock through the pool: the host's run, up to float rounding */
    c.clock = CT_CLOCK_VIRTUAL;
    ct_train_result rv, rh;
    CHECK_OK(ct_train_run(&c, &rv));
    c.uep_device = "host";
    CHECK_OK(ct_train_run(&c, &rh));
    CHECK(rv.time_s == rh.time_s, "virtual time %g (pool) vs %g (host)", rv.time_s, rh.time_s);
    CHECK(fabs(rv.final_train_loss - rh.final_train_loss) < 1e-4 * (1 + fabs(rh.final_train_loss)),
          "loss %g (pool) vs %g (host)", rv.final_train_loss, rh.final_train_loss);
}

static void pool_setup_errors(void) {
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    ct_uep_setup s;
    c.uep_device = "tpu";
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "--uep-device tpu accepted");
    CHECK(strstr(ct_last_error(), "--uep-device") != NULL, "message: %s", ct_last_error());
    c.uep_device = "host";
    CHECK_OK(ct_uep_setup_from_config(&c, &s));
    CHECK(!s.pool && s.clock == CT_UEP_CLOCK_VIRTUAL, "host must stay on the virtual clock whatever --clock says");
    c.uep_device = "cpu";
    CHECK_OK(ct_uep_setup_from_config(&c, &s));
    CHECK(s.pool && s.pool_kind == CT_DEVICE_CPU && s.clock == CT_UEP_CLOCK_REAL, "cpu pool follows --clock real");
    c.uep_time_scale_ms = 0;
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "time scale 0 accepted");
    c.uep_time_scale_ms = 1;
    c.uep_scheme = "exact";
    CHECK(ct_uep_setup_from_config(&c, &s) == CT_ERR_INVALID_ARG, "exact on a real-clock pool accepted");
    c.clock = CT_CLOCK_VIRTUAL;
    CHECK_OK(ct_uep_setup_from_config(&c, &s));
}

int main(void) {
    fixture f;
    fixture_init(&f);
    test_infinite_deadline(&f);
    test_zero_deadline(&f);
    test_mlp_partial(&f);
    pool_infinite_deadline(&f, CT_DEVICE_CPU);
    pool_matches_host(&f, CT_DEVICE_CPU);
    if (ct_backend_device_count(CT_DEVICE_CUDA) > 0) {
        pool_infinite_deadline(&f, CT_DEVICE_CUDA);
        pool_matches_host(&f, CT_DEVICE_CUDA);
    } else {
        printf("test_host_uep_train: no GPU, CUDA pool checks skipped\n");
    }
    fixture_free(&f);
    pool_setup_errors();
    pool_real_run("cpu");
    if (ct_backend_device_count(CT_DEVICE_CUDA) > 0) pool_real_run("cuda");
    test_product_partial();
    test_setup_errors();
    test_run();
    return ct_test_done("test_host_uep_train");
}
