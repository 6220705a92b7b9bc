/* Gradient checks of the MLP core: a float64 reference MLP (checked itself
 * against central finite differences), then the CPU backend's forward and
 * loss_grad against it, the per-sample-weight identity the coded runtime relies
 * on, beta accumulation, and each dense layer in isolation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "kernels/backend.h"
#include "ct_test.h"

/* ---------- float64 reference MLP ---------- */

typedef struct {
    const ct_mlp_spec *spec;
    int batch;
    double *act[CT_MLP_MAX_LAYERS + 1]; /* act[0] = input copy; act[l] = layer l output */
    double *delta;                       /* scratch, batch x widest */
    double *delta2;
} ref_mlp;

static int widest(const ct_mlp_spec *spec) {
    int m = 0;
    for (int l = 0; l <= spec->n_layers; l++)
        if (spec->sizes[l] > m) m = spec->sizes[l];
    return m;
}

static void ref_init(ref_mlp *r, const ct_mlp_spec *spec, int batch) {
    r->spec = spec;
    r->batch = batch;
    for (int l = 0; l <= spec->n_layers; l++) r->act[l] = calloc((size_t)batch * spec->sizes[l], sizeof(double));
    r->delta = calloc((size_t)batch * widest(spec), sizeof(double));
    r->delta2 = calloc((size_t)batch * widest(spec), sizeof(double));
}

static void ref_free(ref_mlp *r) {
    for (int l = 0; l <= r->spec->n_layers; l++) free(r->act[l]);
    free(r->delta);
    free(r->delta2);
}

static void ref_forward(ref_mlp *r, const double *params, const double *x) {
    const ct_mlp_spec *spec = r->spec;
    const int B = r->batch, L = spec->n_layers;
    memcpy(r->act[0], x, (size_t)B * spec->sizes[0] * sizeof(double));
    for (int l = 1; l <= L; l++) {
        const int in = spec->sizes[l - 1], out = spec->sizes[l];
        size_t wo, bo;
        ct_mlp_layer_offsets(spec, l - 1, &wo, &bo);
        for (int s = 0; s < B; s++)
            for (int o = 0; o < out; o++) {
                double z = params[bo + o];
                for (int i = 0; i < in; i++) z += r->act[l - 1][(size_t)s * in + i] * params[wo + (size_t)o * in + i];
                r->act[l][(size_t)s * out + o] = (l < L && z < 0) ? 0 : z;
            }
    }
}

/* loss = sum_s w_s CE_s (w NULL -> 1/B); grad = its gradient (overwritten). */
static double ref_loss_grad(ref_mlp *r, const double *params, const double *x, const int32_t *y, const double *w,
                            double *grad) {
    const ct_mlp_spec *spec = r->spec;
    const int B = r->batch, L = spec->n_layers, C = spec->sizes[L];
    ref_forward(r, params, x);
    double loss = 0;
    double *dz = r->delta;
    for (int s = 0; s < B; s++) {
        const double *z = r->act[L] + (size_t)s * C;
        double mx = z[0];
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        double sum = 0;
        for (int c = 0; c < C; c++) sum += exp(z[c] - mx);
        const double ws = w ? w[s] : 1.0 / B;
        loss += ws * (log(sum) + mx - z[y[s]]);
        for (int c = 0; c < C; c++) dz[(size_t)s * C + c] = ws * (exp(z[c] - mx) / sum - (c == y[s]));
    }
    if (!grad) return loss;
    for (int l = L; l >= 1; l--) {
        const int in = spec->sizes[l - 1], out = spec->sizes[l];
        size_t wo, bo;
        ct_mlp_layer_offsets(spec, l - 1, &wo, &bo);
        for (int o = 0; o < out; o++) {
            double db = 0;
            for (int s = 0; s < B; s++) db += dz[(size_t)s * out + o];
            grad[bo + o] = db;
            for (int i = 0; i < in; i++) {
                double g = 0;
                for (int s = 0; s < B; s++) g += dz[(size_t)s * out + o] * r->act[l - 1][(size_t)s * in + i];
                grad[wo + (size_t)o * in + i] = g;
            }
        }
        if (l == 1) break;
        double *dx = dz == r->delta ? r->delta2 : r->delta;
        for (int s = 0; s < B; s++)
            for (int i = 0; i < in; i++) {
                double g = 0;
                for (int o = 0; o < out; o++) g += dz[(size_t)s * out + o] * params[wo + (size_t)o * in + i];
                dx[(size_t)s * in + i] = r->act[l - 1][(size_t)s * in + i] > 0 ? g : 0;
            }
        dz = dx;
    }
    return loss;
}

static double rel_err_d(const double *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}

/* float <-> double with the relative error taken against the double reference */
static double rel_err_fd(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
}

/* ---------- problem setup ---------- */

typedef struct {
    ct_mlp_spec spec;
    int batch;
    size_t P;
    float *params_f; /* host */
    double *params;  /* the same values in double */
    float *x_f;
    double *x;
    int32_t *y;
    float *w_f; /* per-sample weights, some negative (codes use signed coefficients) */
    double *w;
} problem;

static void problem_make(problem *p, const char *model, int batch, uint64_t seed) {
    memset(p, 0, sizeof *p);
    ct_status st = ct_mlp_spec_parse(model, 0, 0, &p->spec);
    if (st != CT_OK) {
        fprintf(stderr, "bad test model %s: %s\n", model, ct_last_error());
        exit(1);
    }
    p->batch = batch;
    p->P = ct_mlp_param_count(&p->spec);
    const int in = p->spec.sizes[0], C = p->spec.sizes[p->spec.n_layers];
    p->params_f = malloc(p->P * sizeof(float));
    p->params = malloc(p->P * sizeof(double));
    p->x_f = malloc((size_t)batch * in * sizeof(float));
    p->x = malloc((size_t)batch * in * sizeof(double));
    p->y = malloc((size_t)batch * sizeof(int32_t));
    p->w_f = malloc((size_t)batch * sizeof(float));
    p->w = malloc((size_t)batch * sizeof(double));
    ct_mlp_init_params(&p->spec, seed, p->params_f);
    unsigned long long s = 0x9E3779B97F4A7C15ull ^ seed;
    /* nonzero biases, so their paths are exercised */
    for (int l = 0; l < p->spec.n_layers; l++) {
        size_t wo, bo;
        ct_mlp_layer_offsets(&p->spec, l, &wo, &bo);
        for (int o = 0; o < p->spec.sizes[l + 1]; o++) p->params_f[bo + o] = ct_test_uniform(&s, -0.3f, 0.3f);
    }
    for (size_t i = 0; i < p->P; i++) p->params[i] = p->params_f[i];
    for (size_t i = 0; i < (size_t)batch * in; i++) {
        p->x_f[i] = ct_test_uniform(&s, -1.5f, 1.5f);
        p->x[i] = p->x_f[i];
    }
    for (int i = 0; i < batch; i++) {
        p->y[i] = (int32_t)(ct_test_rng_next(&s) % (unsigned long long)C);
        p->w_f[i] = ct_test_uniform(&s, -0.5f, 1.0f);
        p->w[i] = p->w_f[i];
    }
}

static void problem_free(problem *p) {
    free(p->params_f);
    free(p->params);
    free(p->x_f);
    free(p->x);
    free(p->y);
    free(p->w_f);
    free(p->w);
}

/* ---------- (a) the float64 reference against central differences ---------- */

static void check_reference_fd(const char *model, int batch, int weighted) {
    problem p;
    problem_make(&p, model, batch, 11);
    ref_mlp r;
    ref_init(&r, &p.spec, batch);
    double *g = malloc(p.P * sizeof(double)), *fd = malloc(p.P * sizeof(double));
    const double *w = weighted ? p.w : NULL;
    ref_loss_grad(&r, p.params, p.x, p.y, w, g);
    const double h = 1e-6;
    for (size_t i = 0; i < p.P; i++) {
        const double keep = p.params[i];
        p.params[i] = keep + h;
        double lp = ref_loss_grad(&r, p.params, p.x, p.y, w, NULL);
        p.params[i] = keep - h;
        double lm = ref_loss_grad(&r, p.params, p.x, p.y, w, NULL);
        p.params[i] = keep;
        fd[i] = (lp - lm) / (2 * h);
    }
    /* every layer's W and b separately, so a wrong layer is named */
    for (int l = 0; l < p.spec.n_layers; l++) {
        size_t wo, bo;
        ct_mlp_layer_offsets(&p.spec, l, &wo, &bo);
        const size_t nw = bo - wo, nb = (size_t)p.spec.sizes[l + 1];
        double ew = rel_err_d(g + wo, fd + wo, nw), eb = rel_err_d(g + bo, fd + bo, nb);
        CHECK(ew < 1e-6, "reference FD %s (w=%d) layer %d W: rel err %.3g", model, weighted, l, ew);
        CHECK(eb < 1e-6, "reference FD %s (w=%d) layer %d b: rel err %.3g", model, weighted, l, eb);
    }
    free(g);
    free(fd);
    ref_free(&r);
    problem_free(&p);
}

/* ---------- backend helpers ---------- */

static ct_backend *be;

static void *dev_alloc(size_t bytes) {
    void *ptr = NULL;
    ct_status st = be->ops->alloc(be, bytes, &ptr);
    if (st != CT_OK) {
        fprintf(stderr, "device alloc %zu bytes: %s\n", bytes, ct_last_error());
        exit(1);
    }
    return ptr;
}
static void *dev_from(const void *host, size_t bytes) {
    void *d = dev_alloc(bytes);
    CHECK_OK(be->ops->memcpy_h2d(be, d, host, bytes));
    return d;
}
static void to_host(void *host, const void *dev, size_t bytes) {
    CHECK_OK(be->ops->memcpy_d2h(be, host, dev, bytes));
    CHECK_OK(be->ops->sync(be));
}

typedef struct {
    ct_mlp_workspace *ws;
    float *params, *x, *w, *grad, *loss;
    int32_t *y;
} dev_problem;

static void dev_make(dev_problem *d, const problem *p, int max_batch) {
    CHECK_OK(ct_mlp_workspace_create(be, &p->spec, max_batch, &d->ws));
    d->params = dev_from(p->params_f, p->P * sizeof(float));
    d->x = dev_from(p->x_f, (size_t)p->batch * p->spec.sizes[0] * sizeof(float));
    d->y = dev_from(p->y, (size_t)p->batch * sizeof(int32_t));
    d->w = dev_from(p->w_f, (size_t)p->batch * sizeof(float));
    d->grad = dev_alloc(p->P * sizeof(float));
    d->loss = dev_alloc(sizeof(float));
}

static void dev_free(dev_problem *d) {
    ct_mlp_workspace_destroy(d->ws);
    be->ops->free(be, d->params);
    be->ops->free(be, d->x);
    be->ops->free(be, d->y);
    be->ops->free(be, d->w);
    be->ops->free(be, d->grad);
    be->ops->free(be, d->loss);
}

static void poison(float *dev, size_t n) { CHECK_OK(be->ops->fill(be, n, NAN, dev)); }

/* ---------- (b)(d)(e) the backend against the reference ---------- */

static void check_backend_vs_reference(const char *model, int batch) {
    problem p;
    problem_make(&p, model, batch, 23);
    ref_mlp r;
    ref_init(&r, &p.spec, batch);
    dev_problem d;
    dev_make(&d, &p, batch + 3); /* a workspace larger than the batch must not matter */
    const int L = p.spec.n_layers, C = p.spec.sizes[L];
    double *g_ref = malloc(p.P * sizeof(double)), *g_ref_w = malloc(p.P * sizeof(double));
    float *g = malloc(p.P * sizeof(float)), *g0 = malloc(p.P * sizeof(float));
    float *expect = malloc(p.P * sizeof(float));

    /* (e) forward logits */
    ref_forward(&r, p.params, p.x);
    const float *logits_dev = NULL;
    float *logits = malloc((size_t)batch * C * sizeof(float));
    CHECK_OK(ct_mlp_forward(d.ws, d.params, d.x, batch, &logits_dev));
    to_host(logits, logits_dev, (size_t)batch * C * sizeof(float));
    double e = rel_err_fd(logits, r.act[L], (size_t)batch * C);
    CHECK(e < 1e-5, "%s forward logits: rel err %.3g", model, e);

    /* (b) unweighted (w = NULL -> 1/batch) loss and gradient, grad poisoned with beta = 0 */
    double loss_ref = ref_loss_grad(&r, p.params, p.x, p.y, NULL, g_ref);
    poison(d.grad, p.P);
    CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x, d.y, NULL, batch, 0.0f, d.grad, d.loss));
    float loss = 0;
    to_host(&loss, d.loss, sizeof loss);
    to_host(g, d.grad, p.P * sizeof(float));
    e = rel_err_fd(g, g_ref, p.P);
    CHECK(e < 1e-4, "%s loss_grad (w=NULL): rel err %.3g", model, e);
    CHECK(fabs(loss - loss_ref) <= 1e-5 * fabs(loss_ref), "%s loss %.8g vs reference %.8g", model, loss, loss_ref);
    for (int l = 0; l < L; l++) {
        size_t wo, bo;
        ct_mlp_layer_offsets(&p.spec, l, &wo, &bo);
        double ew = rel_err_fd(g + wo, g_ref + wo, bo - wo);
        double eb = rel_err_fd(g + bo, g_ref + bo, (size_t)p.spec.sizes[l + 1]);
        CHECK(ew < 1e-4 && eb < 1e-4, "%s layer %d: W rel err %.3g, b rel err %.3g", model, l, ew, eb);
    }

    /* weighted, loss pointer NULL (the workspace takes the loss) */
    double loss_ref_w = ref_loss_grad(&r, p.params, p.x, p.y, p.w, g_ref_w);
    CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x, d.y, d.w, batch, 0.0f, d.grad, NULL));
    to_host(g, d.grad, p.P * sizeof(float));
    e = rel_err_fd(g, g_ref_w, p.P);
    CHECK(e < 1e-4, "%s loss_grad (weighted): rel err %.3g", model, e);
    CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x, d.y, d.w, batch, 0.0f, d.grad, d.loss));
    to_host(&loss, d.loss, sizeof loss);
    CHECK(fabs(loss - loss_ref_w) <= 1e-5 * fabs(loss_ref_w) + 1e-7, "%s weighted loss %.8g vs reference %.8g", model,
          loss, loss_ref_w);

    /* (d) beta accumulation: grad = beta * grad0 + g */
    const float betas[2] = {1.0f, 0.5f};
    for (int k = 0; k < 2; k++) {
        unsigned long long s = 77 + k;
        for (size_t i = 0; i < p.P; i++) g0[i] = ct_test_uniform(&s, -1.0f, 1.0f);
        CHECK_OK(be->ops->memcpy_h2d(be, d.grad, g0, p.P * sizeof(float)));
        CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x, d.y, NULL, batch, betas[k], d.grad, d.loss));
        to_host(g, d.grad, p.P * sizeof(float));
        for (size_t i = 0; i < p.P; i++) expect[i] = (float)(betas[k] * g0[i] + g_ref[i]);
        e = ct_rel_err_f(g, expect, p.P);
        CHECK(e < 1e-5, "%s beta=%g accumulation: rel err %.3g", model, betas[k], e);
    }

    free(logits);
    free(g_ref);
    free(g_ref_w);
    free(g);
    free(g0);
    free(expect);
    dev_free(&d);
    ref_free(&r);
    problem_free(&p);
}

/* ---------- (c) per-sample weights: the m = 1 coded fast path ---------- */

/* loss_grad with weights w equals sum_s w_s * (gradient of sample s alone), where
 * each per-sample gradient comes from a separate batch-1 call on the backend. */
static void check_weight_linearity(const char *model, int batch) {
    problem p;
    problem_make(&p, model, batch, 37);
    dev_problem d;
    dev_make(&d, &p, batch);
    const int in = p.spec.sizes[0];
    double *sum = calloc(p.P, sizeof(double));
    float *g = malloc(p.P * sizeof(float)), *sumf = malloc(p.P * sizeof(float));
    double loss_sum = 0;
    for (int s = 0; s < batch; s++) {
        float ls = 0;
        CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x + (size_t)s * in, d.y + s, NULL, 1, 0.0f, d.grad, d.loss));
        to_host(g, d.grad, p.P * sizeof(float));
        to_host(&ls, d.loss, sizeof ls);
        for (size_t i = 0; i < p.P; i++) sum[i] += p.w[s] * g[i];
        loss_sum += p.w[s] * ls;
    }
    for (size_t i = 0; i < p.P; i++) sumf[i] = (float)sum[i];
    float loss = 0;
    CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x, d.y, d.w, batch, 0.0f, d.grad, d.loss));
    to_host(g, d.grad, p.P * sizeof(float));
    to_host(&loss, d.loss, sizeof loss);
    double e = ct_rel_err_f(g, sumf, p.P);
    CHECK(e < 1e-4, "%s weighted grad vs sum_s w_s g_s: rel err %.3g", model, e);
    CHECK(fabs(loss - loss_sum) <= 1e-5 * fabs(loss_sum) + 1e-6, "%s weighted loss %.8g vs sum_s w_s CE_s %.8g", model,
          loss, loss_sum);

    /* and per-partition: weights constant over each of 3 partitions equal the
     * combination of the partitions' plain (w = 1/|part|) gradients */
    if (batch >= 6) {
        const int parts = 3, per = batch / parts;
        const float coef[3] = {0.75f, -1.25f, 2.0f};
        float *wp = malloc((size_t)per * parts * sizeof(float));
        for (int j = 0; j < parts; j++)
            for (int s = 0; s < per; s++) wp[j * per + s] = coef[j] / per;
        float *dw = dev_from(wp, (size_t)per * parts * sizeof(float));
        memset(sum, 0, p.P * sizeof(double));
        for (int j = 0; j < parts; j++) {
            CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x + (size_t)j * per * in, d.y + j * per, NULL, per, 0.0f, d.grad,
                                      NULL));
            to_host(g, d.grad, p.P * sizeof(float));
            for (size_t i = 0; i < p.P; i++) sum[i] += coef[j] * g[i];
        }
        for (size_t i = 0; i < p.P; i++) sumf[i] = (float)sum[i];
        CHECK_OK(ct_mlp_loss_grad(d.ws, d.params, d.x, d.y, dw, per * parts, 0.0f, d.grad, NULL));
        to_host(g, d.grad, p.P * sizeof(float));
        e = ct_rel_err_f(g, sumf, p.P);
        CHECK(e < 1e-4, "%s partition-weighted grad vs combination of partition grads: rel err %.3g", model, e);
        be->ops->free(be, dw);
        free(wp);
    }
    free(sum);
    free(g);
    free(sumf);
    dev_free(&d);
    problem_free(&p);
}

/* ---------- each dense layer in isolation ---------- */

/* f(W, b, X) = sum(G .* act(X W^T + b)) for a fixed random G; its gradient via
 * the backend's layer ops (gemm, bias_act_forward, act_backward, bias_grad)
 * against float64 central differences of f. */
static double layer_f(int B, int in, int out, ct_activation act, const double *W, const double *b, const double *X,
                      const double *G) {
    double f = 0;
    for (int s = 0; s < B; s++)
        for (int o = 0; o < out; o++) {
            double z = b[o];
            for (int i = 0; i < in; i++) z += X[(size_t)s * in + i] * W[(size_t)o * in + i];
            if (act == CT_ACT_RELU && z < 0) z = 0;
            f += G[(size_t)s * out + o] * z;
        }
    return f;
}

static void check_dense_layer(int B, int in, int out, ct_activation act) {
    unsigned long long s = 1234 + (unsigned long long)(B * 7 + in * 5 + out * 3 + act);
    const size_t nW = (size_t)out * in, nX = (size_t)B * in, nZ = (size_t)B * out;
    float *Wf = malloc(nW * sizeof(float)), *bf = malloc(out * sizeof(float)), *Xf = malloc(nX * sizeof(float));
    float *Gf = malloc(nZ * sizeof(float));
    double *W = malloc(nW * sizeof(double)), *b = malloc(out * sizeof(double)), *X = malloc(nX * sizeof(double));
    double *G = malloc(nZ * sizeof(double));
    for (size_t i = 0; i < nW; i++) W[i] = Wf[i] = ct_test_uniform(&s, -1, 1);
    for (int i = 0; i < out; i++) b[i] = bf[i] = ct_test_uniform(&s, -0.5f, 0.5f);
    for (size_t i = 0; i < nX; i++) X[i] = Xf[i] = ct_test_uniform(&s, -1, 1);
    for (size_t i = 0; i < nZ; i++) G[i] = Gf[i] = ct_test_uniform(&s, -1, 1);

    float *dW = dev_from(Wf, nW * sizeof(float)), *db = dev_from(bf, out * sizeof(float));
    float *dX = dev_from(Xf, nX * sizeof(float)), *dZ = dev_alloc(nZ * sizeof(float));
    float *dG = dev_from(Gf, nZ * sizeof(float));
    float *gW = dev_alloc(nW * sizeof(float)), *gb = dev_alloc(out * sizeof(float)), *gX = dev_alloc(nX * sizeof(float));
    poison(dZ, nZ);
    poison(gW, nW);
    poison(gb, out);
    poison(gX, nX);
    /* forward Y = act(X W^T + b); backward dZ = G .* act'(Y) */
    CHECK_OK(be->ops->gemm(be, 0, 1, B, out, in, 1.0f, dX, in, dW, in, 0.0f, dZ, out));
    CHECK_OK(be->ops->bias_act_forward(be, act, B, out, db, dZ));
    CHECK_OK(be->ops->act_backward(be, act, nZ, dZ, dG));
    CHECK_OK(be->ops->gemm(be, 1, 0, out, in, B, 1.0f, dG, out, dX, in, 0.0f, gW, in));
    CHECK_OK(be->ops->bias_grad(be, B, out, dG, 0.0f, gb));
    CHECK_OK(be->ops->gemm(be, 0, 0, B, in, out, 1.0f, dG, out, dW, in, 0.0f, gX, in));
    float *hW = malloc(nW * sizeof(float)), *hb = malloc(out * sizeof(float)), *hX = malloc(nX * sizeof(float));
    to_host(hW, gW, nW * sizeof(float));
    to_host(hb, gb, out * sizeof(float));
    to_host(hX, gX, nX * sizeof(float));

    const double h = 1e-6;
    double *fW = malloc(nW * sizeof(double)), *fb = malloc(out * sizeof(double)), *fX = malloc(nX * sizeof(double));
    double *arrays[3] = {W, b, X}, *fds[3] = {fW, fb, fX};
    size_t lens[3] = {nW, (size_t)out, nX};
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < lens[a]; i++) {
            double keep = arrays[a][i];
            arrays[a][i] = keep + h;
            double fp = layer_f(B, in, out, act, W, b, X, G);
            arrays[a][i] = keep - h;
            double fm = layer_f(B, in, out, act, W, b, X, G);
            arrays[a][i] = keep;
            fds[a][i] = (fp - fm) / (2 * h);
        }
    double eW = rel_err_fd(hW, fW, nW), eb = rel_err_fd(hb, fb, out), eX = rel_err_fd(hX, fX, nX);
    CHECK(eW < 1e-4 && eb < 1e-4 && eX < 1e-4, "dense %dx%d->%d act=%d: rel err dW %.3g db %.3g dX %.3g", B, in, out,
          (int)act, eW, eb, eX);

    be->ops->free(be, dW);
    be->ops->free(be, db);
    be->ops->free(be, dX);
    be->ops->free(be, dZ);
    be->ops->free(be, dG);
    be->ops->free(be, gW);
    be->ops->free(be, gb);
    be->ops->free(be, gX);
    free(Wf); free(bf); free(Xf); free(Gf);
    free(W); free(b); free(X); free(G);
    free(hW); free(hb); free(hX);
    free(fW); free(fb); free(fX);
}

/* ---------- argument checks ---------- */

static void check_bad_calls(void) {
    problem p;
    problem_make(&p, "mlp:7-5-3", 4, 3);
    dev_problem d;
    dev_make(&d, &p, 4);
    const float *logits = NULL;
    CHECK(ct_mlp_forward(d.ws, d.params, d.x, 5, &logits) == CT_ERR_INVALID_ARG, "batch above max_batch accepted");
    CHECK(ct_mlp_forward(d.ws, d.params, d.x, 0, &logits) == CT_ERR_INVALID_ARG, "batch 0 accepted");
    CHECK(ct_mlp_loss_grad(d.ws, d.params, d.x, NULL, NULL, 4, 0.0f, d.grad, NULL) == CT_ERR_INVALID_ARG,
          "NULL labels accepted");
    ct_mlp_workspace *ws = (ct_mlp_workspace *)1;
    CHECK(ct_mlp_workspace_create(be, &p.spec, 0, &ws) == CT_ERR_INVALID_ARG && ws == NULL, "max_batch 0 accepted");
    ct_mlp_workspace_destroy(NULL); /* a no-op */
    dev_free(&d);
    problem_free(&p);
}

int main(void) {
    /* (a) the float64 reference itself, several depths and odd sizes */
    const char *fd_models[] = {"mlp:7-3", "mlp:7-5-3-4", "mlp:6-5-4-3-2", "mlp:9-8-1-3", "mlp:5-4-6-3-5-2"};
    for (size_t i = 0; i < sizeof fd_models / sizeof *fd_models; i++) {
        check_reference_fd(fd_models[i], 5, 0);
        check_reference_fd(fd_models[i], 5, 1);
    }

    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    ct_status st = ct_backend_create(CT_DEVICE_CPU, &cfg, &be);
    if (st != CT_OK) {
        fprintf(stderr, "cpu backend: %s\n", ct_last_error());
        return 1;
    }

    /* each layer in isolation */
    check_dense_layer(5, 7, 4, CT_ACT_RELU);
    check_dense_layer(3, 9, 6, CT_ACT_NONE);
    check_dense_layer(1, 1, 1, CT_ACT_NONE);
    check_dense_layer(11, 13, 17, CT_ACT_RELU);

    /* (b)(d)(e) the CPU backend against the reference */
    const char *models[] = {"mlp:7-3", "mlp:7-5-3-4", "mlp:6-5-4-3-2", "mlp:33-17-9-5", "mlp:20-16-16-16-3",
                            "mlp:784-64-10"};
    const int batches[] = {5, 7, 9, 13, 31, 16};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) check_backend_vs_reference(models[i], batches[i]);

    /* (c) the per-sample-weight identity */
    check_weight_linearity("mlp:7-3", 6);
    check_weight_linearity("mlp:7-5-3-4", 9);
    check_weight_linearity("mlp:12-10-8-6-4", 12);

    check_bad_calls();

    ct_backend_destroy(be);
    return ct_test_done("test_nn_gradcheck");
}
