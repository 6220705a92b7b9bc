/* The coded runtime computes the right gradient: with s workers dropped, every
 * exact code's decoded gradient equals the uncoded full-minibatch gradient at
 * the same parameters; the m = 1 fast path (per-sample loss weights) and the
 * general path (per-partition gradients + combine) agree. For an MLP and a
 * small CNN; CPU backend and the cpu-streams model always, CUDA when a GPU is usable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "ct_test.h"
#include "host/master.h"

typedef struct fixture {
    ct_dataset data;
    ct_model_spec spec;
    ct_backend *be;
    size_t P;
    float *params, *grad; /* device */
} fixture;

/* the models every test runs on: an MLP and a tiny CNN (on the same 36
 * features seen as a 1x6x6 image) */
static const char *const models[] = {"mlp:36-9-5", "cnn:1x6x6:c3k3p1-r-m2-c4k2s2-r-f6-r-5"};
static const char *model = "mlp:36-9-5";
static const char *augment = NULL; /* --augment of every run; the data are 1x6x6 images */

static int fixture_init(fixture *f, ct_device_kind kind) {
    memset(f, 0, sizeof *f);
    if (ct_dataset_synthetic(2400, 36, 5, 1.0, 42, &f->data) != CT_OK) return 0;
    f->data.c = 1; /* seen as 1x6x6 images (augmentation needs the shape) */
    f->data.h = f->data.w = 6;
    if (ct_model_spec_parse_for(model, &f->data, &f->spec) != CT_OK) return 0;
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    if (ct_backend_create(kind, &bc, &f->be) != CT_OK) return 0;
    f->P = ct_model_param_count(&f->spec);
    float *h = malloc(f->P * sizeof(float));
    ct_model_init_params(&f->spec, 7, h);
    CHECK_OK(f->be->ops->alloc(f->be, f->P * sizeof(float), (void **)&f->params));
    CHECK_OK(f->be->ops->alloc(f->be, f->P * sizeof(float), (void **)&f->grad));
    CHECK_OK(f->be->ops->memcpy_h2d(f->be, f->params, h, f->P * sizeof(float)));
    CHECK_OK(f->be->ops->sync(f->be));
    free(h);
    return 1;
}

static void fixture_free(fixture *f) {
    if (f->be) {
        f->be->ops->free(f->be, f->params);
        f->be->ops->free(f->be, f->grad);
        ct_backend_destroy(f->be);
    }
    ct_dataset_free(&f->data);
}

/* one master step with this config; the decoded gradient into host memory */
static int step_grad(fixture *f, ct_train_config *c, float *out, double *loss, int *n_arrived) {
    ct_master *m = NULL;
    ct_status st = ct_master_create(c, &f->spec, &f->data, f->be, &m);
    CHECK(st == CT_OK, "master %s n=%d s=%d: %s", c->code, c->workers, c->stragglers, ct_last_error());
    if (st != CT_OK) return 0;
    ct_step_info info;
    st = ct_master_step(m, 0, 1, 0, f->params, f->grad, &info);
    CHECK(st == CT_OK, "step %s: %s", c->code, ct_last_error());
    if (st == CT_OK) {
        CHECK_OK(f->be->ops->memcpy_d2h(f->be, out, f->grad, f->P * sizeof(float)));
        CHECK_OK(f->be->ops->sync(f->be));
        *loss = info.loss;
        *n_arrived = info.n_arrived;
    }
    ct_master_destroy(m);
    return st == CT_OK;
}

static void base_config(ct_train_config *c, ct_device_kind kind, int n) {
    ct_train_config d = CT_TRAIN_CONFIG_INIT;
    *c = d;
    c->device = kind;
    c->workers = n;
    c->batch = 8 * n; /* 8 samples per partition */
    c->seed = 3;
    c->clock = CT_CLOCK_VIRTUAL; /* deterministic arrivals; every gradient is still computed */
    c->per_worker_messages = 1;  /* the workers' own messages, not the one weighted pass */
    c->threads = 1;
    c->augment = augment;
}

static void test_exact_codes_under_drop(ct_device_kind kind) {
    fixture f;
    if (!fixture_init(&f, kind)) { CHECK(0, "fixture"); return; }
    float *ref = malloc(f.P * sizeof(float)), *got = malloc(f.P * sizeof(float));
    const char *codes[] = {"frep", "cyclic", "cyclic-mds"};
    const int ns[] = {4, 6, 8};
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        const int n = ns[ni];
        ct_train_config c;
        base_config(&c, kind, n);
        double ref_loss = 0;
        int arrived = 0;
        if (!step_grad(&f, &c, ref, &ref_loss, &arrived)) continue;
        CHECK(arrived == n, "uncoded n=%d: %d arrived", n, arrived);
        for (size_t ci = 0; ci < sizeof codes / sizeof codes[0]; ci++) {
            for (int s = 1; s < n; s++) {
                if (!strcmp(codes[ci], "frep") && n % (s + 1)) continue;
                if (s > 3) break;
                /* drop s workers spread over the ring */
                char drop[64] = "drop:";
                for (int j = 0; j < s; j++)
                    snprintf(drop + strlen(drop), sizeof drop - strlen(drop), "%s%d", j ? "," : "", (j * n) / s + 1 < n ? (j * n) / s + 1 : n - 1);
                base_config(&c, kind, n);
                c.code = codes[ci];
                c.stragglers = s;
                c.straggle = drop;
                double loss = 0;
                if (!step_grad(&f, &c, got, &loss, &arrived)) continue;
                double err = ct_rel_err_f(got, ref, f.P);
                CHECK(err < 1e-5, "%s %s n=%d s=%d %s: gradient rel err %.3g vs uncoded", model, codes[ci], n, s, drop, err);
                /* the same workers answering with NaN are erasures: same gradient */
                char nan_spec[64] = "nan:";
                snprintf(nan_spec + 4, sizeof nan_spec - 4, "%s", drop + 5);
                c.straggle = nan_spec;
                double nloss = 0;
                int narr = 0;
                if (step_grad(&f, &c, got, &nloss, &narr)) {
                    double nerr = ct_rel_err_f(got, ref, f.P);
                    CHECK(nerr < 1e-5, "%s n=%d s=%d %s: gradient rel err %.3g vs uncoded", codes[ci], n, s, nan_spec, nerr);
                }
                c.straggle = drop;
                CHECK(fabs(loss - ref_loss) < 1e-5 * fabs(ref_loss), "%s n=%d s=%d: loss %.8g vs %.8g", codes[ci], n, s, loss,
                      ref_loss);
                CHECK(arrived <= n - s, "%s n=%d s=%d: %d arrivals with %d dropped", codes[ci], n, s, arrived, s);
            }
        }
    }
    free(ref);
    free(got);
    fixture_free(&f);
}

static void test_fast_vs_general_path(ct_device_kind kind) {
    fixture f;
    if (!fixture_init(&f, kind)) { CHECK(0, "fixture"); return; }
    float *a = malloc(f.P * sizeof(float)), *b = malloc(f.P * sizeof(float));
    const char *codes[] = {"uncoded", "cyclic", "expander", "bgc"};
    for (size_t ci = 0; ci < sizeof codes / sizeof codes[0]; ci++) {
        ct_train_config c;
        base_config(&c, kind, 6);
        c.code = codes[ci];
        c.stragglers = strcmp(codes[ci], "uncoded") ? 2 : 0;
        c.straggle = "shifted-exp:1,2";
        double la = 0, lb = 0;
        int na = 0, nb = 0;
        if (!step_grad(&f, &c, a, &la, &na)) continue;
        c.general_path = 1;
        if (!step_grad(&f, &c, b, &lb, &nb)) continue;
        double err = ct_rel_err_f(a, b, f.P);
        CHECK(na == nb, "%s: arrivals differ between paths (%d vs %d)", codes[ci], na, nb);
        CHECK(err < 1e-5, "%s %s: fast path vs general path rel err %.3g", model, codes[ci], err);
        CHECK(fabs(la - lb) < 1e-5 * fabs(lb), "%s: loss %.8g vs %.8g", codes[ci], la, lb);
    }
    free(a);
    free(b);
    fixture_free(&f);
}

/* The virtual clock's one weighted pass (weighted_pass.h) gives the gradient and
 * loss the workers' messages give, decoded alike, for every linear code. */
static void test_weighted_pass_vs_workers(ct_device_kind kind) {
    fixture f;
    if (!fixture_init(&f, kind)) { CHECK(0, "fixture"); return; }
    float *a = malloc(f.P * sizeof(float)), *b = malloc(f.P * sizeof(float));
    struct { const char *code; int s, load, messages; double alpha, deadline; const char *straggle; } cases[] = {
        {"uncoded", 0, 0, 0, 1, 0, "shifted-exp:1,2"},         {"ignore", 2, 0, 0, 1, 0, "shifted-exp:1,2"},
        {"frep", 1, 0, 0, 1, 0, "shifted-exp:1,2+drop:3"},     {"cyclic", 2, 0, 0, 1, 0, "pareto:1.5,2"},
        {"cyclic-mds", 2, 0, 0, 1, 0, "shifted-exp:0,3"},      {"expander", 2, 3, 0, 1, 2.5, "pareto:1.5,1"},
        {"bgc", 2, 3, 0, 1, 0, "shifted-exp:1,2"},             {"sgc", 2, 3, 0, 1, 0, "shifted-exp:1,2"},
        {"erasurehead", 1, 0, 0, 1, 0, "shifted-exp:1,2"},     {"alpha-cyclic", 2, 3, 2, 0.8, 0, "shifted-exp:1,2"},
        {"ldgm", 2, 0, 0, 1, 2.0, "shifted-exp:0,2"},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        ct_train_config c;
        base_config(&c, kind, 6);
        c.code = cases[ci].code;
        c.stragglers = cases[ci].s;
        c.load = cases[ci].load;
        c.messages = cases[ci].messages;
        c.alpha = cases[ci].alpha;
        c.deadline_ms = cases[ci].deadline;
        c.straggle = cases[ci].straggle;
        double la = 0, lb = 0;
        int na = 0, nb = 0;
        if (!step_grad(&f, &c, a, &la, &na)) continue;
        c.per_worker_messages = 0;
        if (!step_grad(&f, &c, b, &lb, &nb)) continue;
        /* relative to the gradient's own size: float rounding of two summation orders */
        double err = ct_rel_err_f(b, a, f.P);
        CHECK(na == nb, "%s: arrivals differ between paths (%d vs %d)", cases[ci].code, na, nb);
        CHECK(err < 1e-5, "%s: weighted pass vs per-worker messages rel err %.3g", cases[ci].code, err);
        CHECK(fabs(la - lb) <= 1e-5 * fabs(la), "%s: loss %.8g vs %.8g", cases[ci].code, la, lb);
        printf("%-12s weighted pass vs per-worker messages: rel err %.2e, loss %.6f vs %.6f\n", cases[ci].code, err, lb, la);
    }
    free(a);
    free(b);
    fixture_free(&f);
}

int main(void) {
    const int cuda = ct_backend_device_count(CT_DEVICE_CUDA) > 0;
    for (size_t mi = 0; mi < sizeof models / sizeof *models; mi++) {
        model = models[mi];
        test_exact_codes_under_drop(CT_DEVICE_CPU);
        test_fast_vs_general_path(CT_DEVICE_CPU);
        /* CUDA's stream semantics on the CPU: the same results through asynchronous streams */
        test_exact_codes_under_drop(CT_DEVICE_CPU_STREAMS);
        test_fast_vs_general_path(CT_DEVICE_CPU_STREAMS);
        test_weighted_pass_vs_workers(CT_DEVICE_CPU);
        if (cuda) {
            test_exact_codes_under_drop(CT_DEVICE_CUDA);
            test_fast_vs_general_path(CT_DEVICE_CUDA);
            test_weighted_pass_vs_workers(CT_DEVICE_CUDA);
        }
    }
    /* augmentation keyed by (seed, epoch, sample): every worker holding a
     * partition augments it alike, so exact codes still decode the (augmented)
     * uncoded gradient; and augmentation does change that gradient */
    model = models[1];
    augment = "crop:1+flip";
    test_exact_codes_under_drop(CT_DEVICE_CPU);
    test_fast_vs_general_path(CT_DEVICE_CPU);
    test_weighted_pass_vs_workers(CT_DEVICE_CPU); /* the pass augments as the workers do */
    {
        fixture f;
        if (fixture_init(&f, CT_DEVICE_CPU)) {
            float *a = malloc(f.P * sizeof(float)), *b = malloc(f.P * sizeof(float));
            ct_train_config c;
            double la, lb;
            int na, nb;
            base_config(&c, CT_DEVICE_CPU, 4);
            if (step_grad(&f, &c, a, &la, &na)) {
                augment = NULL;
                base_config(&c, CT_DEVICE_CPU, 4);
                if (step_grad(&f, &c, b, &lb, &nb))
                    CHECK(ct_rel_err_f(a, b, f.P) > 1e-3, "augmentation left the gradient unchanged (rel diff %.3g)",
                          ct_rel_err_f(a, b, f.P));
            }
            free(a);
            free(b);
        }
        fixture_free(&f);
    }
    augment = NULL;
    if (!cuda) {
        printf("note: no usable CUDA device, CUDA half of this test not run\n");
    }
    return ct_test_done("test_host_coded_gradient");
}
