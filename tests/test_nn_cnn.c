/* Convolutional models: the model-string grammar (shapes, parameter counts,
 * round trips, errors that name the bad token), the float64 reference model
 * against central finite differences, and the CPU backend's ct_model_loss_grad
 * against that reference on odd shapes (stride 2, padding, non-square inputs,
 * overlapping pools, batch 1, a batch split over several im2col passes), with
 * per-sample loss weights and beta accumulation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "ct_test.h"
#include "kernels/backend.h"
#include "ref_model.h"

static ct_backend *be;

/* ---------- grammar ---------- */

static void check_spec_ok(const char *s, int c, int h, int w, int classes, size_t params, int modules) {
    ct_model_spec m;
    ct_status st = ct_model_spec_parse(s, c, h, w, classes, &m);
    CHECK(st == CT_OK, "'%s' should parse: %s", s, ct_last_error());
    if (st != CT_OK) return;
    CHECK(ct_model_param_count(&m) == params, "'%s': %zu parameters, expected %zu", s, ct_model_param_count(&m), params);
    CHECK(m.n_layers == modules, "'%s': %d modules, expected %d", s, m.n_layers, modules);
    char buf[512];
    ct_model_spec_format(&m, buf, sizeof buf);
    ct_model_spec again;
    CHECK_OK(ct_model_spec_parse(buf, 0, 0, 0, 0, &again));
    CHECK(!memcmp(&m, &again, sizeof m), "'%s' formats as '%s', which parses to another model", s, buf);
    char tiny[7];
    ct_model_spec_format(&m, tiny, sizeof tiny);
    CHECK(strlen(tiny) == 6, "truncated format '%s'", tiny);
}

static void check_spec_bad(const char *s, int c, int h, int w, int classes, const char *msg) {
    ct_model_spec m;
    ct_status st = ct_model_spec_parse(s, c, h, w, classes, &m);
    CHECK(st == CT_ERR_INVALID_ARG, "'%s' should be refused", s);
    if (st != CT_OK) CHECK(strstr(ct_last_error(), msg) != NULL, "'%s': message '%s' lacks '%s'", s, ct_last_error(), msg);
}

static void check_grammar(void) {
    /* LeNet-5 (padding 2 on the first conv): 156 + 2416 + 48120 + 10164 + 850;
     * modules conv r pool conv r pool flatten dense r dense r dense */
    check_spec_ok("lenet5", 1, 28, 28, 10, 61706, 12);
    /* CIFAR net: 896 + 18496 + 1048832 + 2570 */
    check_spec_ok("cifarnet", 3, 32, 32, 10, 1070794, 10);
    check_spec_ok("cnn:c32k3p1-r-m2-c64k3p1-r-m2-f256-r-10", 3, 32, 32, 10, 1070794, 10);
    check_spec_ok("cnn:2x7x5:c3k3p1s2-r-m2-f4-r-3", 0, 0, 0, 0, 3 * 2 * 9 + 3 + (3 * 2 * 1) * 4 + 4 + 4 * 3 + 3, 7);
    check_spec_ok("cnn:c4k3-a2-r-m3s2-5", 1, 13, 11, 5, 4 * 9 + 4 + 4 * 2 * 1 * 5 + 5, 6);
    check_spec_ok("mlp:784-256-10", 1, 28, 28, 10, 784 * 256 + 256 + 2570, 3);
    check_spec_ok("logreg", 784, 1, 1, 10, 7850, 1);
    /* dense layers without a ReLU between: not an MLP, so formatted as cnn: with a
     * flat 65535x1x1 shape that must parse back (found by fuzz_model_spec) */
    check_spec_ok("cnn:f32-10", 65535, 1, 1, 10, 65535 * 32 + 32 + 32 * 10 + 10, 2);

    ct_model_spec m;
    CHECK_OK(ct_model_spec_parse("lenet5", 1, 28, 28, 10, &m));
    const ct_layer *c1 = &m.layers[0], *p2 = &m.layers[5], *fl = &m.layers[6], *f1 = &m.layers[7];
    CHECK(c1->kind == CT_LAYER_CONV && c1->out_c == 6 && c1->out_h == 28 && c1->out_w == 28, "conv1 shape");
    CHECK(p2->kind == CT_LAYER_MAXPOOL && p2->out_c == 16 && p2->out_h == 5 && p2->out_w == 5, "pool2 shape");
    CHECK(fl->kind == CT_LAYER_FLATTEN && f1->kind == CT_LAYER_DENSE && f1->in_c == 400, "flatten into 400 features");
    CHECK(!ct_model_as_mlp(&m, NULL), "lenet5 is not an MLP");
    size_t wo, wc, bo, bc;
    CHECK(ct_model_layer_params(&m, 3, &wo, &wc, &bo, &bc) && wo == 156 && wc == 2400 && bo == 2556 && bc == 16,
          "conv2 at %zu (%zu) bias %zu (%zu)", wo, wc, bo, bc);
    CHECK(!ct_model_layer_params(&m, 1, NULL, NULL, NULL, NULL), "a ReLU has no parameters");
    CHECK_OK(ct_model_spec_parse("mlp:12-9-5", 12, 1, 1, 5, &m));
    ct_mlp_spec mlp;
    CHECK(ct_model_as_mlp(&m, &mlp) && mlp.n_layers == 2 && mlp.sizes[1] == 9, "mlp:12-9-5 is an MLP");

    check_spec_bad("cnn:c6k5-x-10", 1, 28, 28, 10, "token 2 'x'");
    check_spec_bad("cnn:c6k5-r-m2-f120-r-c4-10", 1, 28, 28, 10, "token 6 'c4': a conv or pool cannot follow a dense");
    check_spec_bad("cnn:c6k5-r-12", 1, 28, 28, 10, "does not match the data's 10 classes");
    check_spec_bad("cnn:c6k9-10", 1, 5, 5, 10, "token 1 'c6k9': a 9x9 window does not fit the 5x5 input");
    check_spec_bad("cnn:c6k3k3-10", 1, 8, 8, 10, "unknown or repeated option");
    check_spec_bad("cnn:c6k3--10", 1, 8, 8, 10, "token 2 '': empty token");
    check_spec_bad("cnn:10-r-10", 1, 8, 8, 10, "must be the last token");
    check_spec_bad("cnn:r-10", 1, 8, 8, 10, "cannot be the first module");
    check_spec_bad("cnn:c4k3-r", 1, 8, 8, 10, "the last layer must be dense");
    check_spec_bad("cnn:c4k3p3-10", 1, 8, 8, 10, "padding must be smaller than the kernel");
    check_spec_bad("cnn:c4-10", 0, 0, 0, 10, "no input shape");
    check_spec_bad("cnn:1x9x9:c4-10", 1, 28, 28, 10, "does not match the data's 1x28x28");
    check_spec_ok("cnn:1x6x6:c2k3-r-4", 36, 1, 1, 4, 2 * 9 + 2 + 2 * 16 * 4 + 4, 4); /* flat data as an image */
    check_spec_bad("cnn:1x6x5:c2k3-r-4", 36, 1, 1, 4, "does not match the data's 36x1x1");
    check_spec_bad("lenet5", 1, 28, 28, 1, "at least 2 classes"); /* found by fuzz_model_spec */
    check_spec_bad("resnet50", 1, 28, 28, 10, "unknown model");
}

/* ---------- problems ---------- */

typedef struct {
    ct_model_spec spec;
    int B;
    size_t P, nx;
    double *params, *x, *w;
    float *params_f, *x_f, *w_f;
    int32_t *y;
} problem;

static void problem_make(problem *p, const char *model, int B, uint64_t seed) {
    memset(p, 0, sizeof *p);
    CHECK_OK(ct_model_spec_parse(model, 0, 0, 0, 0, &p->spec));
    p->B = B;
    p->P = ct_model_param_count(&p->spec);
    p->nx = (size_t)B * ct_model_input_dim(&p->spec);
    p->params = malloc(p->P * sizeof(double));
    p->params_f = malloc(p->P * sizeof(float));
    p->x = malloc(p->nx * sizeof(double));
    p->x_f = malloc(p->nx * sizeof(float));
    p->w = malloc((size_t)B * sizeof(double));
    p->w_f = malloc((size_t)B * sizeof(float));
    p->y = malloc((size_t)B * sizeof(int32_t));
    unsigned long long s = seed * 0x9E3779B97F4A7C15ull + 1;
    /* He-like scale keeps activations O(1) through the layers, random (never zero) inputs */
    ct_model_init_params(&p->spec, seed, p->params_f);
    for (size_t i = 0; i < p->P; i++) {
        p->params_f[i] += ct_test_uniform(&s, -0.05f, 0.05f);
        p->params[i] = p->params_f[i];
    }
    for (size_t i = 0; i < p->nx; i++) p->x[i] = p->x_f[i] = ct_test_uniform(&s, -1.5f, 1.5f);
    for (int i = 0; i < B; i++) {
        p->y[i] = (int32_t)(ct_test_rng_next(&s) % (unsigned long long)p->spec.classes);
        p->w[i] = p->w_f[i] = ct_test_uniform(&s, -0.5f, 1.0f);
    }
}

static void problem_free(problem *p) {
    free(p->params);
    free(p->params_f);
    free(p->x);
    free(p->x_f);
    free(p->w);
    free(p->w_f);
    free(p->y);
}

/* ---------- the reference against finite differences ---------- */

static void check_reference_fd(const char *model, int B, int weighted) {
    problem p;
    problem_make(&p, model, B, 11);
    ref_model r;
    ref_model_init(&r, &p.spec, B);
    double *g = malloc(p.P * sizeof(double)), *fd = malloc(p.P * sizeof(double));
    ref_model_loss_grad(&r, p.params, p.x, p.y, weighted ? p.w : NULL, g);
    double num = 0, den = 0;
    for (size_t i = 0; i < p.P; i++) {
        const double keep = p.params[i], h = 1e-6;
        p.params[i] = keep + h;
        const double lp = ref_model_loss_grad(&r, p.params, p.x, p.y, weighted ? p.w : NULL, NULL);
        p.params[i] = keep - h;
        const double lm = ref_model_loss_grad(&r, p.params, p.x, p.y, weighted ? p.w : NULL, NULL);
        p.params[i] = keep;
        fd[i] = (lp - lm) / (2 * h);
        num += (fd[i] - g[i]) * (fd[i] - g[i]);
        den += fd[i] * fd[i];
    }
    const double err = sqrt(num) / (sqrt(den) > 1e-300 ? sqrt(den) : 1e-300);
    /* central differences in double: O(h^2) + rounding ~1e-9 relative, far below any layer bug */
    CHECK(den > 0 && err < 1e-6, "%s B=%d%s: reference gradient vs finite differences rel err %.3g", model, B,
          weighted ? " weighted" : "", err);
    free(g);
    free(fd);
    ref_model_free(&r);
    problem_free(&p);
}

/* ---------- the CPU backend against the reference ---------- */

static void *dev_from(const void *host, size_t bytes) {
    void *d = NULL;
    CHECK_OK(be->ops->alloc(be, bytes ? bytes : 4, &d));
    if (host) CHECK_OK(be->ops->memcpy_h2d(be, d, host, bytes));
    return d;
}

static double rel_err_fd(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}

static void check_backend(const char *model, int B, int max_batch) {
    problem p;
    problem_make(&p, model, B, 23);
    ref_model r;
    ref_model_init(&r, &p.spec, B);
    double *g_ref = malloc(p.P * sizeof(double)), *g_w = malloc(p.P * sizeof(double));
    const double l_ref = ref_model_loss_grad(&r, p.params, p.x, p.y, NULL, g_ref);
    const double l_w = ref_model_loss_grad(&r, p.params, p.x, p.y, p.w, g_w);
    const size_t C = (size_t)p.spec.classes;
    double *logits_ref = malloc((size_t)B * C * sizeof(double));
    memcpy(logits_ref, r.act[p.spec.n_layers], (size_t)B * C * sizeof(double));

    ct_model_workspace *ws = NULL;
    CHECK_OK(ct_model_workspace_create(be, &p.spec, max_batch, &ws));
    float *d_params = dev_from(p.params_f, p.P * 4), *d_x = dev_from(p.x_f, p.nx * 4);
    float *d_w = dev_from(p.w_f, (size_t)B * 4), *d_grad = dev_from(NULL, p.P * 4), *d_loss = dev_from(NULL, 4);
    int32_t *d_y = dev_from(p.y, (size_t)B * 4);
    float *h = malloc((p.P > (size_t)B * C ? p.P : (size_t)B * C) * sizeof(float));
    float loss;
    /* tolerances: float32 sums of up to a few hundred terms of O(1) values,
     * relative to the magnitudes involved (any OpenBLAS kernel) */
    const float *logits;
    CHECK_OK(ct_model_forward(ws, d_params, d_x, B, &logits));
    CHECK_OK(be->ops->memcpy_d2h(be, h, logits, (size_t)B * C * 4));
    CHECK(rel_err_fd(h, logits_ref, (size_t)B * C) < 1e-5, "%s B=%d: logits rel err %.3g", model, B,
          rel_err_fd(h, logits_ref, (size_t)B * C));

    CHECK_OK(be->ops->fill(be, p.P, NAN, d_grad)); /* beta = 0 must not read the old gradient */
    CHECK_OK(ct_model_loss_grad(ws, d_params, d_x, d_y, NULL, B, 0.0f, d_grad, d_loss));
    CHECK_OK(be->ops->memcpy_d2h(be, h, d_grad, p.P * 4));
    CHECK_OK(be->ops->memcpy_d2h(be, &loss, d_loss, 4));
    CHECK(fabs(loss - l_ref) <= 1e-5 * fabs(l_ref), "%s B=%d: loss %.9g vs %.9g", model, B, loss, l_ref);
    CHECK(rel_err_fd(h, g_ref, p.P) < 1e-4, "%s B=%d: grad rel err %.3g", model, B, rel_err_fd(h, g_ref, p.P));

    /* per-sample loss weights (the coded fast path), accumulated on top: grad = 0.5 grad + g_w */
    CHECK_OK(ct_model_loss_grad(ws, d_params, d_x, d_y, d_w, B, 0.5f, d_grad, d_loss));
    CHECK_OK(be->ops->memcpy_d2h(be, h, d_grad, p.P * 4));
    CHECK_OK(be->ops->memcpy_d2h(be, &loss, d_loss, 4));
    for (size_t i = 0; i < p.P; i++) g_w[i] += 0.5 * g_ref[i];
    CHECK(fabs(loss - l_w) <= 1e-5 * (fabs(l_w) + 1e-3), "%s B=%d weighted: loss %.9g vs %.9g", model, B, loss, l_w);
    CHECK(rel_err_fd(h, g_w, p.P) < 1e-4, "%s B=%d weighted, beta 0.5: grad rel err %.3g", model, B,
          rel_err_fd(h, g_w, p.P));

    ct_model_workspace_destroy(ws);
    be->ops->free(be, d_params);
    be->ops->free(be, d_x);
    be->ops->free(be, d_w);
    be->ops->free(be, d_grad);
    be->ops->free(be, d_loss);
    be->ops->free(be, d_y);
    free(h);
    free(g_ref);
    free(g_w);
    free(logits_ref);
    ref_model_free(&r);
    problem_free(&p);
}

/* The gradient is linear in the per-sample weights: a weighted batch equals the
 * weighted sum of per-sample gradients (what the m = 1 fast path relies on). */
static void check_weight_linearity(const char *model, int B) {
    problem p;
    problem_make(&p, model, B, 31);
    const int dim = ct_model_input_dim(&p.spec);
    ct_model_workspace *ws = NULL;
    CHECK_OK(ct_model_workspace_create(be, &p.spec, B, &ws));
    float *d_params = dev_from(p.params_f, p.P * 4), *d_x = dev_from(p.x_f, p.nx * 4);
    float *d_w = dev_from(p.w_f, (size_t)B * 4), *d_g = dev_from(NULL, p.P * 4), *d_sum = dev_from(NULL, p.P * 4);
    float *d_one = dev_from(NULL, 4);
    int32_t *d_y = dev_from(p.y, (size_t)B * 4);
    CHECK_OK(ct_model_loss_grad(ws, d_params, d_x, d_y, d_w, B, 0.0f, d_g, NULL));
    CHECK_OK(be->ops->fill(be, p.P, 0.0f, d_sum));
    for (int s = 0; s < B; s++) {
        CHECK_OK(be->ops->fill(be, 1, p.w_f[s], d_one));
        CHECK_OK(ct_model_loss_grad(ws, d_params, d_x + (size_t)s * dim, d_y + s, d_one, 1, 1.0f, d_sum, NULL));
    }
    float *a = malloc(p.P * 4), *b = malloc(p.P * 4);
    CHECK_OK(be->ops->memcpy_d2h(be, a, d_g, p.P * 4));
    CHECK_OK(be->ops->memcpy_d2h(be, b, d_sum, p.P * 4));
    CHECK(ct_rel_err_f(a, b, p.P) < 1e-5, "%s: weighted batch vs sum of per-sample gradients rel err %.3g", model,
          ct_rel_err_f(a, b, p.P));
    free(a);
    free(b);
    ct_model_workspace_destroy(ws);
    void *bufs[] = {d_params, d_x, d_w, d_g, d_sum, d_one, d_y};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) be->ops->free(be, bufs[i]);
    problem_free(&p);
}

/* augmentation: a function of (seed, epoch, index) alone; crops are shifted
 * copies with zero fill, flips are mirrors; both vary over samples and epochs */
static void check_augment(void) {
    ct_dataset d;
    CHECK_OK(ct_dataset_synthetic(64, 2 * 5 * 4, 3, 1.0, 5, &d));
    d.c = 2, d.h = 5, d.w = 4;
    ct_augment a;
    CHECK_OK(ct_augment_parse("crop:1+flip", &a));
    CHECK(a.crop_pad == 1 && a.flip == 1, "crop:1+flip parsed as %d %d", a.crop_pad, a.flip);
    CHECK(ct_augment_parse("crop:0", &a) == CT_ERR_INVALID_ARG && strstr(ct_last_error(), "crop:P"), "crop:0 refused");
    CHECK(ct_augment_parse("flip+flip", &a) == CT_ERR_INVALID_ARG, "flip twice refused");
    CHECK(ct_augment_parse("rotate", &a) == CT_ERR_INVALID_ARG && strstr(ct_last_error(), "'rotate'"), "rotate refused");
    CHECK_OK(ct_augment_parse(NULL, &a));
    CHECK(!ct_augment_active(&a), "NULL is none");
    float o1[40], o2[40];
    int shifts_seen[9] = {0}, flips = 0, changed_by_epoch = 0;
    CHECK_OK(ct_augment_parse("crop:1+flip", &a));
    for (int idx = 0; idx < 64; idx++) {
        const float *x = d.x + (size_t)idx * 40;
        ct_augment_sample(&d, &a, 9, 3, idx, o1);
        ct_augment_sample(&d, &a, 9, 3, idx, o2);
        CHECK(!memcmp(o1, o2, sizeof o1), "sample %d: two calls differ", idx);
        ct_augment_sample(&d, &a, 9, 4, idx, o2);
        changed_by_epoch += memcmp(o1, o2, sizeof o1) != 0;
        /* o1 must be x flipped or not, shifted by some (dy, dx) in [-1, 1]^2 with zero fill */
        int found = 0;
        for (int f = 0; f < 2 && !found; f++)
            for (int dy = -1; dy <= 1 && !found; dy++)
                for (int dx = -1; dx <= 1 && !found; dx++) {
                    int ok = 1;
                    for (int c = 0; c < 2 && ok; c++)
                        for (int y = 0; y < 5 && ok; y++)
                            for (int xo = 0; xo < 4 && ok; xo++) {
                                const int sy = y + dy, sx = (f ? 3 - xo : xo) + dx;
                                const float want = (sy >= 0 && sy < 5 && sx >= 0 && sx < 4) ? x[(c * 5 + sy) * 4 + sx] : 0.0f;
                                ok = o1[(c * 5 + y) * 4 + xo] == want;
                            }
                    if (ok) {
                        found = 1;
                        flips += f;
                        shifts_seen[(dy + 1) * 3 + dx + 1]++;
                    }
                }
        CHECK(found, "sample %d: not a flipped/shifted copy", idx);
    }
    int distinct = 0;
    for (int k = 0; k < 9; k++) distinct += shifts_seen[k] > 0;
    CHECK(distinct >= 6 && flips > 10 && flips < 54, "64 samples: %d of 9 shifts, %d flips", distinct, flips);
    CHECK(changed_by_epoch > 32, "only %d of 64 samples change with the epoch", changed_by_epoch);
    ct_dataset_free(&d);
}

int main(void) {
    check_grammar();
    check_augment();
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU, &cfg, &be));
    if (!be) return ct_test_done("test_nn_cnn");

    static const char *const models[] = {
        "cnn:2x7x5:c3k3p1s2-r-m2-f4-r-3",        /* non-square, stride 2, padding, pool of an odd side */
        "cnn:1x9x8:c4k3-a2-r-c3k2p1-r-m3s2-4",   /* average pool, overlapping max pool (3, stride 2) */
        "cnn:3x6x6:c2k1-r-c3k3s2p1-5",           /* 1x1 conv; flatten of a conv output */
        "cnn:1x12x12:c3k5p2-r-m2-c4k5-r-m2-f6-r-3", /* LeNet's structure, small */
        "mlp:7-5-3",
    };
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        check_reference_fd(models[i], 1, 0);
        check_reference_fd(models[i], 3, 1);
        check_backend(models[i], 1, 1);
        check_backend(models[i], 5, 8);
        check_weight_linearity(models[i], 4);
    }
    /* 64x64 input: the batch of 45 takes two im2col passes (40 samples fit) */
    check_backend("cnn:1x64x64:c8k5p2-r-m4-c2k3-a2-3", 45, 45);
    ct_backend_destroy(be);
    return ct_test_done("test_nn_cnn");
}
