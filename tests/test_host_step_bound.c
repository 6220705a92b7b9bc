/* The step-time bound (host/step_bound.h): the closed form against Monte Carlo
 * over the same delay model, an exactly known value, exact averages for
 * repeating models, and whole virtual-clock runs: with --cancel-late on the
 * virtual master is the ideal one, so on its own draws its efficiency is 1
 * (and a scripted trace gives efficiency 1 against the expected bound too). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/train.h"
#include "ct_test.h"
#include "host/step_bound.h"

static ct_code *make(const char *scheme, int n, int s, int load) {
    ct_code_spec spec = CT_CODE_SPEC_INIT;
    ct_code *c = NULL;
    if (ct_code_scheme_parse(scheme, &spec.scheme) != CT_OK) return NULL;
    spec.n_workers = n;
    spec.stragglers = s;
    spec.load = load;
    spec.seed = 3;
    CHECK_OK(ct_code_create(&spec, &c));
    return c;
}

static void closed_against_monte_carlo(void) {
    struct { const char *scheme; int n, s, load, wait; const char *model; } cases[] = {
        {"uncoded", 8, 0, 0, 0, "shifted-exp:0,8"},   {"ignore", 8, 2, 0, 0, "shifted-exp:1,4"},
        {"frep", 8, 1, 0, 0, "shifted-exp:0,8"},      {"frep", 16, 3, 0, 0, "shifted-exp:0.5,3"},
        {"cyclic", 8, 2, 0, 0, "shifted-exp:0,8"},    {"cyclic-mds", 12, 3, 0, 0, "shifted-exp:2,1"},
        {"expander", 12, 3, 4, 0, "shifted-exp:0,5"}, {"uncoded", 8, 0, 0, 5, "shifted-exp:0,8"},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        ct_code *code = make(cases[t].scheme, cases[t].n, cases[t].s, cases[t].load);
        ct_straggler *strag = NULL;
        CHECK_OK(ct_straggler_create(cases[t].model, cases[t].n, 11 + t, &strag));
        if (!code || !strag) continue;
        ct_step_bound_config c = {code, strag, 0.05, 16, 0, cases[t].wait};
        double closed = 0;
        CHECK(ct_step_bound_closed_form(&c, &closed), "%s: a closed form exists", cases[t].scheme);
        ct_step_bound mc;
        CHECK_OK(ct_step_bound_average(&c, 0, 100000, &mc));
        /* the closed form is the expectation the sample mean estimates: within 5
         * standard errors (and the standard error is small against the mean) */
        CHECK(fabs(mc.mean_ms - closed) <= 5 * mc.stderr_ms && mc.stderr_ms < 0.01 * closed,
              "%s n=%d s=%d wait %d %s: closed form %.4f ms, Monte Carlo %.4f +- %.4f ms", cases[t].scheme, cases[t].n,
              cases[t].s, cases[t].wait, cases[t].model, closed, mc.mean_ms, mc.stderr_ms);
        printf("%-10s n=%2d s=%d wait=%d %-16s closed %.4f ms  MC %.4f +- %.4f ms\n", cases[t].scheme, cases[t].n,
               cases[t].s, cases[t].wait, cases[t].model, closed, mc.mean_ms, mc.stderr_ms);
        ct_straggler_destroy(strag);
        ct_code_destroy(code);
    }
}

static void known_values(void) {
    /* frep n = 16, s = 3 (4 groups of 4), 16 samples per slice at 0.05 ms: compute
     * 4 x 0.8 = 3.2 ms; each group's first reply: exponential of mean 8/4 = 2 ms;
     * the last of 4 groups: 2 H_4 */
    ct_code *code = make("frep", 16, 3, 0);
    ct_straggler *strag = NULL;
    CHECK_OK(ct_straggler_create("shifted-exp:0,8", 16, 1, &strag));
    if (code && strag) {
        ct_step_bound_config c = {code, strag, 0.05, 16, 0, 0};
        ct_step_bound b;
        CHECK_OK(ct_step_bound_expected(&c, 1000, &b));
        const double want = 3.2 + 2.0 * (1 + 0.5 + 1.0 / 3 + 0.25);
        CHECK(b.closed_form && fabs(b.mean_ms - want) < 1e-12 * want, "frep bound %.6f, want %.6f", b.mean_ms, want);
        /* a deadline has no closed form: Monte Carlo, and never above the deadline */
        c.deadline_ms = 6.0;
        CHECK(!ct_step_bound_closed_form(&c, &(double){0}), "no closed form with a deadline");
        CHECK_OK(ct_step_bound_expected(&c, 2000, &b));
        CHECK(!b.closed_form && b.trials == 2000 && b.mean_ms <= 6.0 && b.mean_ms > 3.2, "deadline bound %.4f", b.mean_ms);
    }
    ct_straggler_destroy(strag);
    ct_code_destroy(code);
    /* no delays: every step is the compute; a dead worker makes uncoded never finish */
    code = make("uncoded", 4, 0, 0);
    CHECK_OK(ct_straggler_create("none", 4, 1, &strag));
    if (code && strag) {
        ct_step_bound_config c = {code, strag, 0.1, 8, 0, 0};
        ct_step_bound b;
        CHECK_OK(ct_step_bound_expected(&c, 1000, &b));
        CHECK(b.trials == 1 && fabs(b.mean_ms - 0.8) < 1e-12, "no delays: %.6f ms over %ld step(s)", b.mean_ms, b.trials);
        ct_straggler_destroy(strag);
        CHECK_OK(ct_straggler_create("drop:2", 4, 1, &strag));
        c.strag = strag;
        CHECK_OK(ct_step_bound_expected(&c, 1000, &b));
        CHECK(isinf(b.mean_ms), "uncoded with a dead worker: %g", b.mean_ms);
    }
    ct_straggler_destroy(strag);
    ct_code_destroy(code);
}

static const char *tmpdir(void) {
    const char *d = getenv("CT_TEST_TMPDIR");
    return d && *d ? d : "/tmp";
}

/* a virtual run's result, or NULL fields on failure */
static int run(const char *code, int n, int s, const char *straggle, int cancel_late, int steps, ct_train_result *res) {
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    c.device = CT_DEVICE_CPU;
    c.threads = 1;
    c.dataset = CT_DATA_SYNTHETIC;
    c.synth_n = 2048;
    c.synth_dim = 16;
    c.synth_classes = 4;
    c.model = "mlp:16";
    c.batch = 64;
    c.epochs = 10;
    c.max_steps = steps;
    c.eval = 0;
    c.progress = CT_PROGRESS_OFF;
    c.workers = n;
    c.code = code;
    c.stragglers = s;
    c.straggle = straggle;
    c.clock = CT_CLOCK_VIRTUAL;
    c.cancel_late = cancel_late;
    ct_status st = ct_train_run(&c, res);
    CHECK_OK(st);
    return st == CT_OK;
}

static void virtual_runs_are_ideal(void) {
    struct { const char *code; int n, s; } cases[] = {{"uncoded", 8, 0}, {"frep", 8, 1}, {"cyclic", 8, 2}, {"ignore", 8, 3}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        ct_train_result r;
        if (!run(cases[t].code, cases[t].n, cases[t].s, "shifted-exp:0,4", 1, 40, &r)) continue;
        /* the ideal master on the run's own draws: the same numbers, summed alike */
        CHECK(fabs(r.efficiency_same_draws - 1.0) < 1e-9, "%s: efficiency on its own draws %.12f (ideal %.6f ms, measured %.6f ms)",
              cases[t].code, r.efficiency_same_draws, 1e3 * r.ideal_step_s, 1e3 * r.mean_step_s);
        CHECK(r.bound_step_s > 0 && r.efficiency > 0.5 && r.efficiency < 1.5, "%s: expected bound %.6f ms, efficiency %.4f",
              cases[t].code, 1e3 * r.bound_step_s, r.efficiency);
        printf("virtual %-8s efficiency %.4f (own draws %.12f)\n", cases[t].code, r.efficiency, r.efficiency_same_draws);
    }
    /* without cancellation late workers sit steps out: the run is slower than ideal */
    ct_train_result r;
    if (run("frep", 8, 1, "shifted-exp:0,4", 0, 40, &r))
        CHECK(r.efficiency_same_draws < 0.99, "frep without cancellation: efficiency %.4f on its own draws", r.efficiency_same_draws);
}

static void scripted_trace(void) {
    /* three steps of scripted delays for 4 workers, replayed 5 times: the expected
     * bound is the exact average over the 3 rows, and so is the run's mean step */
    char path[4096];
    snprintf(path, sizeof path, "%s/step_bound_trace.csv", tmpdir());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fprintf(f, "w0,w1,w2,w3\n1.5,7,0.25,3\n9,2,4,0.5\n0,0,12,6.25\n");
    fclose(f);
    char spec[4200];
    snprintf(spec, sizeof spec, "trace:%s", path);
    const char *codes[] = {"frep", "cyclic", "uncoded"};
    for (int t = 0; t < 3; t++) {
        ct_train_result r;
        if (!run(codes[t], 4, t == 2 ? 0 : 1, spec, 1, 15, &r)) continue;
        CHECK(fabs(r.efficiency - 1.0) < 1e-9 && fabs(r.efficiency_same_draws - 1.0) < 1e-9,
              "%s on a scripted trace: efficiency %.12f (bound %.6f ms, measured %.6f ms)", codes[t], r.efficiency,
              1e3 * r.bound_step_s, 1e3 * r.mean_step_s);
    }
    remove(path);
}

int main(void) {
    closed_against_monte_carlo();
    known_values();
    virtual_runs_are_ideal();
    scripted_trace();
    return ct_test_done("test_host_step_bound");
}
