/* Model-string parsing, parameter layout, seeded init, learning-rate schedules,
 * and a tiny end-to-end training run (logreg on a separable problem, CPU backend). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "kernels/backend.h"
#include "ct_test.h"

static void expect_spec(const char *s, int input_dim, int classes, const char *want) {
    ct_mlp_spec spec;
    ct_status st = ct_mlp_spec_parse(s, input_dim, classes, &spec);
    CHECK(st == CT_OK, "parse '%s' (%d, %d): %s", s, input_dim, classes, ct_last_error());
    if (st != CT_OK) return;
    char buf[256];
    ct_mlp_spec_format(&spec, buf, sizeof buf);
    CHECK(!strcmp(buf, want), "parse '%s' (%d, %d) gave %s, want %s", s, input_dim, classes, buf, want);
}

/* Fails with CT_ERR_INVALID_ARG and a message that names the string and contains `why`. */
static void expect_bad_spec(const char *s, int input_dim, int classes, const char *why) {
    ct_mlp_spec spec;
    ct_error_clear();
    ct_status st = ct_mlp_spec_parse(s, input_dim, classes, &spec);
    const char *msg = ct_last_error();
    CHECK(st == CT_ERR_INVALID_ARG, "parse '%s' (%d, %d) should fail, got %s", s ? s : "(null)", input_dim, classes,
          ct_status_str(st));
    if (s && *s) CHECK(strstr(msg, s) != NULL, "message for '%s' does not name it: %s", s, msg);
    CHECK(strstr(msg, why) != NULL, "message for '%s' lacks '%s': %s", s ? s : "(null)", why, msg);
}

static void test_spec(void) {
    expect_spec("mlp:784-256-10", 784, 10, "784-256-10");
    expect_spec("mlp:784-256-10", 0, 0, "784-256-10");
    expect_spec("mlp:784-512-512-10", 784, 10, "784-512-512-10");
    expect_spec("mlp:256", 784, 10, "784-256-10");
    expect_spec("mlp:3072-10", 3072, 10, "3072-10");
    expect_spec("logreg", 784, 10, "784-10");
    expect_spec("mlp:7-5-3-4", 0, 0, "7-5-3-4");
    /* 16 layers is the most */
    expect_spec("mlp:1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16-17", 0, 0, "1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16-17");

    expect_bad_spec("mlp:784-0-10", 784, 10, "layer size 0 must be >= 1");
    expect_bad_spec("mlp:784-256-10", 3072, 10, "input size 784 does not match the data's 3072");
    expect_bad_spec("mlp:784-256-11", 784, 10, "output size 11 does not match the data's 10");
    expect_bad_spec("mlp:1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16-17-18", 0, 0, "too many layers");
    expect_bad_spec("mlp:", 784, 10, "no layer sizes");
    expect_bad_spec("mlp:abc", 784, 10, "expected a layer size");
    expect_bad_spec("mlp:784--10", 784, 10, "expected a layer size");
    expect_bad_spec("mlp:784-256-", 784, 10, "expected a layer size");
    expect_bad_spec("mlp:-784-10", 784, 10, "expected a layer size");
    expect_bad_spec("mlp:784-256-10x", 784, 10, "unexpected 'x'");
    expect_bad_spec("mlp:784,256,10", 784, 10, "unexpected ','");
    expect_bad_spec("mlp: 784-10", 784, 10, "expected a layer size");
    expect_bad_spec("mlp:784-99999999999999999999-10", 784, 10, "larger than the maximum");
    expect_bad_spec("resnet50", 784, 10, "unknown model");
    expect_bad_spec("logregx", 784, 10, "unknown model");
    expect_bad_spec("MLP:784-10", 784, 10, "unknown model");
    expect_bad_spec("logreg", 0, 0, "from the data");
    expect_bad_spec("mlp:256", 0, 0, "hidden sizes only");
    expect_bad_spec("", 784, 10, "empty");
    expect_bad_spec(NULL, 784, 10, "empty");

    /* format truncates safely */
    ct_mlp_spec spec;
    CHECK_OK(ct_mlp_spec_parse("mlp:784-256-10", 0, 0, &spec));
    char small[6];
    memset(small, 'Z', sizeof small);
    ct_mlp_spec_format(&spec, small, sizeof small);
    CHECK(small[5] == '\0' && !strncmp(small, "784-2", 5), "truncated format: '%.6s'", small);
}

static void test_layout(void) {
    ct_mlp_spec spec;
    CHECK_OK(ct_mlp_spec_parse("mlp:784-256-10", 0, 0, &spec));
    CHECK(ct_mlp_param_count(&spec) == (size_t)784 * 256 + 256 + 256 * 10 + 10, "784-256-10 count %zu",
          ct_mlp_param_count(&spec));
    size_t wo, bo;
    ct_mlp_layer_offsets(&spec, 0, &wo, &bo);
    CHECK(wo == 0 && bo == (size_t)784 * 256, "layer 0 offsets %zu %zu", wo, bo);
    ct_mlp_layer_offsets(&spec, 1, &wo, &bo);
    CHECK(wo == (size_t)784 * 256 + 256 && bo == wo + 2560, "layer 1 offsets %zu %zu", wo, bo);

    CHECK_OK(ct_mlp_spec_parse("mlp:7-5-3-4", 0, 0, &spec));
    CHECK(ct_mlp_param_count(&spec) == 40 + 18 + 16, "7-5-3-4 count %zu", ct_mlp_param_count(&spec));
    const size_t want_w[3] = {0, 40, 58}, want_b[3] = {35, 55, 70};
    for (int l = 0; l < 3; l++) {
        ct_mlp_layer_offsets(&spec, l, &wo, &bo);
        CHECK(wo == want_w[l] && bo == want_b[l], "7-5-3-4 layer %d offsets %zu %zu", l, wo, bo);
    }
    CHECK_OK(ct_mlp_spec_parse("logreg", 20, 4, &spec));
    CHECK(ct_mlp_param_count(&spec) == 84, "logreg 20->4 count %zu", ct_mlp_param_count(&spec));
}

static void test_init(void) {
    ct_mlp_spec spec;
    CHECK_OK(ct_mlp_spec_parse("mlp:50-30-20-10", 0, 0, &spec));
    const size_t P = ct_mlp_param_count(&spec);
    float *a = malloc(P * sizeof(float)), *b = malloc(P * sizeof(float)), *c = malloc(P * sizeof(float));
    memset(a, 0x7f, P * sizeof(float));
    memset(b, 0x11, P * sizeof(float));
    ct_mlp_init_params(&spec, 42, a);
    ct_mlp_init_params(&spec, 42, b);
    ct_mlp_init_params(&spec, 43, c);
    CHECK(!memcmp(a, b, P * sizeof(float)), "same seed gave different parameters");
    size_t same = 0;
    for (size_t i = 0; i < P; i++) same += a[i] == c[i];
    /* only the zero biases may coincide */
    CHECK(same == 30 + 20 + 10, "seeds 42 and 43 agree on %zu of %zu values", same, P);
    for (int l = 0; l < spec.n_layers; l++) {
        size_t wo, bo;
        ct_mlp_layer_offsets(&spec, l, &wo, &bo);
        const double bound = sqrt(6.0 / spec.sizes[l]);
        double mn = 1e9, mx = -1e9, mean = 0, sq = 0;
        for (size_t i = wo; i < bo; i++) {
            mn = a[i] < mn ? a[i] : mn;
            mx = a[i] > mx ? a[i] : mx;
            mean += a[i];
            sq += (double)a[i] * a[i];
        }
        const double n = (double)(bo - wo);
        mean /= n;
        const double var = sq / n - mean * mean;
        CHECK(mn >= -bound && mx <= bound, "layer %d init outside +-%g: [%g, %g]", l, bound, mn, mx);
        /* the draws fill the range: U(-a, a) has variance a^2/3 */
        CHECK(mx > 0.9 * bound && mn < -0.9 * bound, "layer %d init does not span +-%g: [%g, %g]", l, bound, mn, mx);
        CHECK(fabs(var / (bound * bound / 3) - 1) < 0.15, "layer %d init variance %g, expected %g", l, var,
              bound * bound / 3);
        CHECK(fabs(mean) < 0.1 * bound, "layer %d init mean %g", l, mean);
        int zero_bias = 1;
        for (int o = 0; o < spec.sizes[l + 1]; o++) zero_bias &= a[bo + o] == 0.0f;
        CHECK(zero_bias, "layer %d biases are not zero", l);
    }
    free(a);
    free(b);
    free(c);
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * (fabs(b) + 1e-300); }

static void test_lr(void) {
    ct_lr_schedule s;
    CHECK_OK(ct_lr_schedule_parse("constant", 0.1, 10, &s));
    CHECK(s.kind == CT_LR_CONSTANT && ct_lr_at(&s, 0) == 0.1 && ct_lr_at(&s, 7.5) == 0.1, "constant");

    CHECK_OK(ct_lr_schedule_parse("step:3,0.5", 0.2, 10, &s));
    CHECK(s.kind == CT_LR_STEP && s.step_epochs == 3 && s.gamma == 0.5, "step parse");
    CHECK(close_to(ct_lr_at(&s, 0), 0.2) && close_to(ct_lr_at(&s, 2.99), 0.2), "step before first decay");
    CHECK(close_to(ct_lr_at(&s, 3), 0.1) && close_to(ct_lr_at(&s, 5.5), 0.1), "step after one decay: %g",
          ct_lr_at(&s, 3));
    CHECK(close_to(ct_lr_at(&s, 9), 0.025), "step after three decays: %g", ct_lr_at(&s, 9));

    CHECK_OK(ct_lr_schedule_parse("cosine", 0.4, 8, &s));
    CHECK(s.kind == CT_LR_COSINE && s.total_epochs == 8, "cosine parse");
    CHECK(close_to(ct_lr_at(&s, 0), 0.4), "cosine start %g", ct_lr_at(&s, 0));
    CHECK(close_to(ct_lr_at(&s, 4), 0.2), "cosine midpoint %g", ct_lr_at(&s, 4));
    CHECK(close_to(ct_lr_at(&s, 2), 0.2 * (1 + cos(M_PI / 4))), "cosine quarter %g", ct_lr_at(&s, 2));
    CHECK(fabs(ct_lr_at(&s, 8)) < 1e-15 && fabs(ct_lr_at(&s, 12)) < 1e-15, "cosine end %g", ct_lr_at(&s, 8));
    double prev = 1;
    int mono = 1;
    for (double e = 0; e <= 8; e += 0.125) {
        double lr = ct_lr_at(&s, e);
        mono &= lr <= prev;
        prev = lr;
    }
    CHECK(mono, "cosine is not non-increasing");

    const char *bad[] = {"", "linear", "step", "step:", "step:3", "step:3,", "step:0,0.5", "step:-1,0.5",
                         "step:3,0", "step:3,-0.5", "step:1,91" /* gamma > 1 overflows (fuzz) */, "step:3,abc", "step:3,0.5x", "step:x,0.5", "Cosine", "constant "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ct_error_clear();
        ct_status st = ct_lr_schedule_parse(bad[i], 0.1, 10, &s);
        CHECK(st == CT_ERR_INVALID_ARG, "schedule '%s' accepted", bad[i]);
        if (*bad[i]) CHECK(strstr(ct_last_error(), bad[i]) != NULL, "message does not name '%s': %s", bad[i], ct_last_error());
    }
    CHECK(ct_lr_schedule_parse("cosine", 0.1, 0, &s) == CT_ERR_INVALID_ARG, "cosine over 0 epochs accepted");
    CHECK(ct_lr_schedule_parse("constant", 0.0, 10, &s) == CT_ERR_INVALID_ARG, "lr 0 accepted");
    CHECK(ct_lr_schedule_parse("constant", NAN, 10, &s) == CT_ERR_INVALID_ARG, "lr NaN accepted");
}

/* logreg on well-separated Gaussian blobs: SGD with momentum through
 * loss_grad + sgd_update must fit the training set. */
static void test_train_logreg(void) {
    enum { N = 512, D = 20, C = 4, BATCH = 64, STEPS = 300 };
    unsigned long long s = 2024;
    float *centers = malloc(C * D * sizeof(float)), *x = malloc((size_t)N * D * sizeof(float));
    int32_t *y = malloc(N * sizeof(int32_t));
    for (int i = 0; i < C * D; i++) centers[i] = ct_test_uniform(&s, -1, 1);
    for (int n = 0; n < N; n++) {
        y[n] = n % C;
        for (int d = 0; d < D; d++) x[(size_t)n * D + d] = centers[y[n] * D + d] + ct_test_uniform(&s, -0.4f, 0.4f);
    }
    ct_backend *be = NULL;
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU, &cfg, &be));
    if (!be) return;
    ct_mlp_spec spec;
    CHECK_OK(ct_mlp_spec_parse("logreg", D, C, &spec));
    const size_t P = ct_mlp_param_count(&spec);
    float *hp = malloc(P * sizeof(float));
    ct_mlp_init_params(&spec, 7, hp);
    ct_mlp_workspace *ws = NULL;
    float *params = NULL, *grad = NULL, *mom = NULL, *dx = NULL, *loss = NULL;
    int32_t *dy = NULL;
    CHECK_OK(ct_mlp_workspace_create(be, &spec, N, &ws));
    CHECK_OK(be->ops->alloc(be, P * sizeof(float), (void **)&params));
    CHECK_OK(be->ops->alloc(be, P * sizeof(float), (void **)&grad));
    CHECK_OK(be->ops->alloc(be, P * sizeof(float), (void **)&mom));
    CHECK_OK(be->ops->alloc(be, (size_t)N * D * sizeof(float), (void **)&dx));
    CHECK_OK(be->ops->alloc(be, N * sizeof(int32_t), (void **)&dy));
    CHECK_OK(be->ops->alloc(be, sizeof(float), (void **)&loss));
    CHECK_OK(be->ops->memcpy_h2d(be, params, hp, P * sizeof(float)));
    CHECK_OK(be->ops->memcpy_h2d(be, dx, x, (size_t)N * D * sizeof(float)));
    CHECK_OK(be->ops->memcpy_h2d(be, dy, y, N * sizeof(int32_t)));
    CHECK_OK(be->ops->fill(be, P, 0.0f, mom));
    ct_lr_schedule sched;
    CHECK_OK(ct_lr_schedule_parse("cosine", 0.1, STEPS / (N / BATCH), &sched));
    float first_loss = -1, last_loss = -1;
    for (int step = 0; step < STEPS; step++) {
        const int b0 = (step % (N / BATCH)) * BATCH;
        CHECK_OK(ct_mlp_loss_grad(ws, params, dx + (size_t)b0 * D, dy + b0, NULL, BATCH, 0.0f, grad, loss));
        const double lr = ct_lr_at(&sched, (double)step / (N / BATCH));
        CHECK_OK(be->ops->sgd_update(be, P, (float)lr, 0.9f, 1e-4f, params, grad, mom));
        if (step == 0) CHECK_OK(be->ops->memcpy_d2h(be, &first_loss, loss, sizeof(float)));
        if (step == STEPS - 1) CHECK_OK(be->ops->memcpy_d2h(be, &last_loss, loss, sizeof(float)));
        CHECK_OK(be->ops->sync(be));
    }
    const float *logits_dev = NULL;
    float *logits = malloc((size_t)N * C * sizeof(float));
    CHECK_OK(ct_mlp_forward(ws, params, dx, N, &logits_dev));
    CHECK_OK(be->ops->memcpy_d2h(be, logits, logits_dev, (size_t)N * C * sizeof(float)));
    CHECK_OK(be->ops->sync(be));
    int correct = 0;
    for (int n = 0; n < N; n++) {
        int best = 0;
        for (int c = 1; c < C; c++)
            if (logits[(size_t)n * C + c] > logits[(size_t)n * C + best]) best = c;
        correct += best == y[n];
    }
    const double acc = (double)correct / N;
    printf("logreg: loss %.4f -> %.4f, train accuracy %.4f\n", first_loss, last_loss, acc);
    CHECK(acc > 0.95, "logreg train accuracy %.4f <= 0.95", acc);
    CHECK(last_loss < first_loss, "loss did not decrease: %g -> %g", first_loss, last_loss);

    ct_mlp_workspace_destroy(ws);
    be->ops->free(be, params);
    be->ops->free(be, grad);
    be->ops->free(be, mom);
    be->ops->free(be, dx);
    be->ops->free(be, dy);
    be->ops->free(be, loss);
    ct_backend_destroy(be);
    free(hp);
    free(logits);
    free(centers);
    free(x);
    free(y);
}

int main(void) {
    test_spec();
    test_layout();
    test_init();
    test_lr();
    test_train_logreg();
    return ct_test_done("test_nn_spec_optim");
}
