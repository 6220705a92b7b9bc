/* Model strings (mlp:, logreg, lenet5, cifarnet, cnn:), shape inference, the
 * flat parameter layout and the seeded init of general sequential models
 * (docs/models.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/nn.h"
#include "codedtrain/rng.h"

/* Bounds that catch typos and keep every size product inside int / size_t. */
#define CT_MODEL_MAX_CHANNELS 65536
#define CT_MODEL_MAX_KERNEL 64
#define CT_MODEL_MAX_SPATIAL 8192
#define CT_MODEL_MAX_FEATURES (1L << 26) /* activations per sample of one module */
#define CT_MODEL_MAX_PARAMS (1L << 30)   /* parameters of one module */

int ct_model_input_dim(const ct_model_spec *spec) { return spec->in_c * spec->in_h * spec->in_w; }

void ct_model_from_mlp(const ct_mlp_spec *mlp, ct_model_spec *out) {
    memset(out, 0, sizeof *out);
    out->in_c = mlp->sizes[0];
    out->in_h = out->in_w = 1;
    out->classes = mlp->sizes[mlp->n_layers];
    int n = 0;
    for (int l = 0; l < mlp->n_layers; l++) {
        ct_layer *d = &out->layers[n++];
        d->kind = CT_LAYER_DENSE;
        d->out = mlp->sizes[l + 1];
        d->in_c = mlp->sizes[l];
        d->in_h = d->in_w = d->out_h = d->out_w = 1;
        d->out_c = d->out;
        if (l + 1 < mlp->n_layers) {
            ct_layer *r = &out->layers[n++];
            r->kind = CT_LAYER_RELU;
            r->in_c = r->out_c = d->out;
            r->in_h = r->in_w = r->out_h = r->out_w = 1;
        }
    }
    out->n_layers = n;
}

int ct_model_as_mlp(const ct_model_spec *spec, ct_mlp_spec *mlp) {
    if (spec->in_h != 1 || spec->in_w != 1 || spec->n_layers < 1 || spec->n_layers % 2 == 0) return 0;
    const int dense = (spec->n_layers + 1) / 2;
    if (dense > CT_MLP_MAX_LAYERS) return 0;
    for (int i = 0; i < spec->n_layers; i++)
        if (spec->layers[i].kind != (i % 2 ? CT_LAYER_RELU : CT_LAYER_DENSE)) return 0;
    if (mlp) {
        memset(mlp, 0, sizeof *mlp);
        mlp->n_layers = dense;
        mlp->sizes[0] = spec->in_c;
        for (int l = 0; l < dense; l++) mlp->sizes[l + 1] = spec->layers[2 * l].out;
    }
    return 1;
}

/* ---- cnn: tokens ---- */

typedef struct parse_ctx {
    const char *model;  /* the whole string, for messages */
    ct_model_spec *out;
    int c, h, w;        /* current shape */
    int spatial;        /* the current activation is an image (a dense layer needs a Flatten first) */
    int token_no;       /* 1-based, for messages */
} parse_ctx;

static ct_status tok_fail(const parse_ctx *p, const char *tok, size_t len, const char *why) {
    return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': token %d '%.*s': %s", p->model, p->token_no, (int)len, tok,
                   why);
}

/* Reads a decimal number at *s (at least one digit), capped at 10^9. */
static int read_num(const char **s, const char *end, long *v) {
    const char *q = *s;
    long x = 0;
    if (q >= end || *q < '0' || *q > '9') return 0;
    while (q < end && *q >= '0' && *q <= '9') {
        if (x < 1000000000L) x = x * 10 + (*q - '0');
        q++;
    }
    *s = q;
    *v = x;
    return 1;
}

static ct_status push_layer(parse_ctx *p, const char *tok, size_t len, ct_layer L) {
    if (p->out->n_layers >= CT_MODEL_MAX_LAYERS)
        return tok_fail(p, tok, len, "too many modules (at most " "48" ", Flatten included)");
    L.in_c = p->c;
    L.in_h = p->h;
    L.in_w = p->w;
    switch (L.kind) {
    case CT_LAYER_DENSE: {
        const long in = (long)p->c * p->h * p->w;
        if ((long)L.out * in > CT_MODEL_MAX_PARAMS) return tok_fail(p, tok, len, "dense layer too large");
        L.out_c = L.out;
        L.out_h = L.out_w = 1;
        break;
    }
    case CT_LAYER_CONV:
    case CT_LAYER_MAXPOOL:
    case CT_LAYER_AVGPOOL: {
        if (L.k > p->h + 2 * L.pad || L.k > p->w + 2 * L.pad) {
            char why[160];
            snprintf(why, sizeof why, "a %dx%d window does not fit the %dx%d input (padding %d)", L.k, L.k, p->h, p->w,
                     L.pad);
            return tok_fail(p, tok, len, why);
        }
        L.out_c = L.kind == CT_LAYER_CONV ? L.out : p->c;
        L.out_h = (p->h + 2 * L.pad - L.k) / L.stride + 1;
        L.out_w = (p->w + 2 * L.pad - L.k) / L.stride + 1;
        if (L.kind == CT_LAYER_CONV && (long)L.out * p->c * L.k * L.k > CT_MODEL_MAX_PARAMS)
            return tok_fail(p, tok, len, "conv layer too large");
        break;
    }
    case CT_LAYER_RELU:
    case CT_LAYER_FLATTEN:
        L.out_c = L.kind == CT_LAYER_FLATTEN ? p->c * p->h * p->w : p->c;
        L.out_h = L.kind == CT_LAYER_FLATTEN ? 1 : p->h;
        L.out_w = L.kind == CT_LAYER_FLATTEN ? 1 : p->w;
        break;
    }
    if ((long)L.out_c * L.out_h * L.out_w > CT_MODEL_MAX_FEATURES)
        return tok_fail(p, tok, len, "the layer's output is too large");
    p->out->layers[p->out->n_layers++] = L;
    p->c = L.out_c;
    p->h = L.out_h;
    p->w = L.out_w;
    return CT_OK;
}

static ct_status parse_token(parse_ctx *p, const char *tok, size_t len, int last) {
    const char *s = tok, *end = tok + len;
    ct_layer L;
    memset(&L, 0, sizeof L);
    long v = 0;
    if (len == 0) return tok_fail(p, tok, len, "empty token (two '-' in a row, or a '-' at an end)");
    const char kind = *s;
    if (kind >= '0' && kind <= '9') {
        /* the last dense layer, to the classes */
        if (!read_num(&s, end, &v) || s != end) return tok_fail(p, tok, len, "expected a number of classes");
        if (!last) return tok_fail(p, tok, len, "a bare number (the classes) must be the last token; use fN for a hidden dense layer");
        L.kind = CT_LAYER_DENSE;
    } else if (kind == 'f') {
        s++;
        if (!read_num(&s, end, &v) || s != end) return tok_fail(p, tok, len, "expected fN (a dense layer of N outputs)");
        L.kind = CT_LAYER_DENSE;
    } else if (kind == 'r') {
        if (len != 1) return tok_fail(p, tok, len, "ReLU is the single letter 'r'");
        if (p->out->n_layers == 0) return tok_fail(p, tok, len, "a ReLU cannot be the first module");
        L.kind = CT_LAYER_RELU;
        return push_layer(p, tok, len, L);
    } else if (kind == 'c' || kind == 'm' || kind == 'a') {
        s++;
        if (!read_num(&s, end, &v))
            return tok_fail(p, tok, len, kind == 'c' ? "expected cOUT[kK][pP][sS] (e.g. c32k3p1)"
                                                     : "expected a window size (e.g. m2, a2, m3s2)");
        if (!p->spatial && p->out->n_layers > 0) return tok_fail(p, tok, len, "a conv or pool cannot follow a dense layer");
        L.kind = kind == 'c' ? CT_LAYER_CONV : kind == 'm' ? CT_LAYER_MAXPOOL : CT_LAYER_AVGPOOL;
        long k = kind == 'c' ? 3 : v, stride = kind == 'c' ? 1 : v, pad = 0;
        int seen_k = 0, seen_p = 0, seen_s = 0;
        while (s < end) {
            const char opt = *s++;
            long x;
            if (!read_num(&s, end, &x)) return tok_fail(p, tok, len, "expected a number after an option letter");
            if (opt == 'k' && kind == 'c' && !seen_k++) k = x;
            else if (opt == 'p' && kind == 'c' && !seen_p++) pad = x;
            else if (opt == 's' && !seen_s++) stride = x;
            else return tok_fail(p, tok, len, kind == 'c' ? "unknown or repeated option (conv takes k, p, s once each)"
                                                          : "unknown or repeated option (pools take s once)");
        }
        if (kind == 'c' && (v < 1 || v > CT_MODEL_MAX_CHANNELS))
            return tok_fail(p, tok, len, "output channels must be in 1..65536");
        if (k < 1 || k > CT_MODEL_MAX_KERNEL) return tok_fail(p, tok, len, "the window size must be in 1..64");
        if (stride < 1 || stride > CT_MODEL_MAX_KERNEL) return tok_fail(p, tok, len, "the stride must be in 1..64");
        if (pad >= k) return tok_fail(p, tok, len, "the padding must be smaller than the kernel");
        L.out = kind == 'c' ? (int)v : 0;
        L.k = (int)k;
        L.stride = (int)stride;
        L.pad = (int)pad;
        CT_TRY(push_layer(p, tok, len, L));
        p->spatial = 1;
        return CT_OK;
    } else {
        return tok_fail(p, tok, len, "unknown layer (expected c, m, a, r, f or the number of classes)");
    }
    /* dense */
    if (v < 1 || v > 1000000) return tok_fail(p, tok, len, "a dense layer's size must be in 1..1000000");
    L.out = (int)v;
    if (p->spatial) {
        ct_layer F;
        memset(&F, 0, sizeof F);
        F.kind = CT_LAYER_FLATTEN;
        CT_TRY(push_layer(p, tok, len, F));
        p->spatial = 0;
    }
    return push_layer(p, tok, len, L);
}

/* "CxHxW:" prefix */
static int parse_shape(const char **s, int *c, int *h, int *w) {
    const char *q = *s, *end = q + strlen(q);
    long v[3];
    for (int i = 0; i < 3; i++) {
        /* channels up to the feature bound: flat data of n features is n x 1 x 1 */
        if (!read_num(&q, end, &v[i]) || v[i] < 1 || v[i] > (i ? CT_MODEL_MAX_SPATIAL : CT_MODEL_MAX_FEATURES)) return 0;
        if (*q != (i < 2 ? 'x' : ':')) return 0;
        q++;
    }
    if (v[0] * v[1] * v[2] > CT_MODEL_MAX_FEATURES) return 0;
    *c = (int)v[0];
    *h = (int)v[1];
    *w = (int)v[2];
    *s = q;
    return 1;
}

static ct_status parse_cnn(const char *model, const char *body, int in_c, int in_h, int in_w, int classes,
                           ct_model_spec *out) {
    int c = in_c, h = in_h, w = in_w;
    const char *colon = strchr(body, ':');
    if (colon) {
        int sc, sh, sw;
        const char *q = body;
        if (!parse_shape(&q, &sc, &sh, &sw))
            return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': bad input shape before ':' (expected e.g. cnn:3x32x32:...)",
                           model);
        /* flat data of c*h*w features may be viewed as that image */
        const int flat_match = in_h == 1 && in_w == 1 && (long)sc * sh * sw == in_c;
        if (in_c > 0 && !flat_match && (sc != in_c || sh != in_h || sw != in_w))
            return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': input shape %dx%dx%d does not match the data's %dx%dx%d",
                           model, sc, sh, sw, in_c, in_h, in_w);
        c = sc;
        h = sh;
        w = sw;
        body = q;
    }
    if (c < 1 || h < 1 || w < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--model '%s': no input shape (the data gave none; prefix one, e.g. cnn:1x28x28:...)", model);
    memset(out, 0, sizeof *out);
    out->in_c = c;
    out->in_h = h;
    out->in_w = w;
    parse_ctx p = {model, out, c, h, w, h > 1 || w > 1, 0};
    const char *t = body;
    for (;;) {
        const char *dash = strchr(t, '-');
        const size_t len = dash ? (size_t)(dash - t) : strlen(t);
        p.token_no++;
        CT_TRY(parse_token(&p, t, len, dash == NULL));
        if (!dash) break;
        t = dash + 1;
    }
    const ct_layer *lastl = &out->layers[out->n_layers - 1];
    if (lastl->kind != CT_LAYER_DENSE)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': the last layer must be dense, to the classes (end with e.g. '-10')",
                       model);
    if (classes > 0 && lastl->out != classes)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': output size %d does not match the data's %d classes", model,
                       lastl->out, classes);
    if (lastl->out < 2)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': the last layer has %d output; at least 2 classes", model,
                       lastl->out);
    out->classes = lastl->out;
    return CT_OK;
}

ct_status ct_model_spec_parse(const char *s, int in_c, int in_h, int in_w, int classes, ct_model_spec *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_model_spec_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model: empty (expected e.g. mlp:784-256-10, lenet5 or cnn:c32k3p1-r-m2-10)");
    if (in_c < 0 || in_h < 0 || in_w < 0 || classes < 0 || (in_c > 0 && (in_h < 1 || in_w < 1)) ||
        (long)in_c * in_h * in_w > CT_MODEL_MAX_FEATURES)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--model '%s': the data's shape %dx%dx%d / classes %d are invalid", s, in_c,
                       in_h, in_w, classes);
    const int ncls = classes > 0 ? classes : 10;
    char buf[128];
    if (!strcmp(s, "lenet5") || !strcmp(s, "cifarnet")) {
        snprintf(buf, sizeof buf,
                 !strcmp(s, "lenet5") ? "c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-%d" : "c32k3p1-r-m2-c64k3p1-r-m2-f256-r-%d",
                 ncls);
        return parse_cnn(s, buf, in_c, in_h, in_w, classes, out);
    }
    if (!strncmp(s, "cnn:", 4)) return parse_cnn(s, s + 4, in_c, in_h, in_w, classes, out);
    ct_mlp_spec mlp;
    const ct_status st = ct_mlp_spec_parse(s, in_c * in_h * in_w, classes, &mlp);
    if (st != CT_OK) {
        if (strncmp(s, "mlp:", 4) && strcmp(s, "logreg"))
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--model '%s': unknown model (expected mlp:784-256-10, mlp:256, logreg, lenet5, cifarnet or cnn:...)",
                           s);
        return st;
    }
    ct_model_from_mlp(&mlp, out);
    return CT_OK;
}

void ct_model_spec_format(const ct_model_spec *spec, char *buf, size_t len) {
    if (!buf || len == 0) return;
    buf[0] = '\0';
    ct_mlp_spec mlp;
    if (ct_model_as_mlp(spec, &mlp)) {
        const int w = snprintf(buf, len, "mlp:");
        if (w > 0 && (size_t)w < len) ct_mlp_spec_format(&mlp, buf + w, len - (size_t)w);
        return;
    }
    size_t used = 0;
#define PUT(...)                                                                                                       \
    do {                                                                                                               \
        if (used < len) {                                                                                              \
            const int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                                              \
            if (w_ < 0) return;                                                                                        \
            used += (size_t)w_;                                                                                        \
        }                                                                                                              \
    } while (0)
    PUT("cnn:%dx%dx%d:", spec->in_c, spec->in_h, spec->in_w);
    int first = 1;
    for (int i = 0; i < spec->n_layers; i++) {
        const ct_layer *L = &spec->layers[i];
        if (L->kind == CT_LAYER_FLATTEN) continue; /* re-inserted by the parser */
        if (!first) PUT("-");
        first = 0;
        switch (L->kind) {
        case CT_LAYER_DENSE: PUT(i == spec->n_layers - 1 ? "%d" : "f%d", L->out); break;
        case CT_LAYER_CONV:
            PUT("c%dk%d", L->out, L->k);
            if (L->pad) PUT("p%d", L->pad);
            if (L->stride != 1) PUT("s%d", L->stride);
            break;
        case CT_LAYER_MAXPOOL:
        case CT_LAYER_AVGPOOL:
            PUT("%c%d", L->kind == CT_LAYER_MAXPOOL ? 'm' : 'a', L->k);
            if (L->stride != L->k) PUT("s%d", L->stride);
            break;
        case CT_LAYER_RELU: PUT("r"); break;
        case CT_LAYER_FLATTEN: break;
        }
    }
#undef PUT
}

/* ---- parameter layout and init ---- */

static void layer_counts(const ct_layer *L, size_t *w, size_t *b) {
    *w = *b = 0;
    if (L->kind == CT_LAYER_DENSE) {
        *w = (size_t)L->out * ((size_t)L->in_c * L->in_h * L->in_w);
        *b = (size_t)L->out;
    } else if (L->kind == CT_LAYER_CONV) {
        *w = (size_t)L->out * L->in_c * L->k * L->k;
        *b = (size_t)L->out;
    }
}

size_t ct_model_param_count(const ct_model_spec *spec) {
    size_t total = 0, w, b;
    for (int i = 0; i < spec->n_layers; i++) {
        layer_counts(&spec->layers[i], &w, &b);
        total += w + b;
    }
    return total;
}

int ct_model_layer_params(const ct_model_spec *spec, int layer, size_t *w_off, size_t *w_count, size_t *b_off,
                          size_t *b_count) {
    size_t off = 0, w = 0, b = 0;
    for (int i = 0; i < layer; i++) {
        layer_counts(&spec->layers[i], &w, &b);
        off += w + b;
    }
    layer_counts(&spec->layers[layer], &w, &b);
    if (w_off) *w_off = w ? off : 0;
    if (w_count) *w_count = w;
    if (b_off) *b_off = w ? off + w : 0;
    if (b_count) *b_count = b;
    return w > 0;
}

void ct_model_init_params(const ct_model_spec *spec, uint64_t seed, float *host_params) {
    size_t off = 0;
    int stream = 0;
    for (int i = 0; i < spec->n_layers; i++) {
        const ct_layer *L = &spec->layers[i];
        size_t nw, nb;
        layer_counts(L, &nw, &nb);
        if (!nw) continue;
        /* one stream per parametrised module: its init depends only on (seed, index, shape) */
        ct_rng rng;
        ct_rng_seed(&rng, ct_hash64(seed, (uint64_t)stream++));
        const double fan_in = (double)(nw / (size_t)L->out);
        const double bound = sqrt(6.0 / fan_in);
        float *w = host_params + off;
        for (size_t j = 0; j < nw; j++) w[j] = (float)((2.0 * ct_rng_uniform(&rng) - 1.0) * bound);
        memset(host_params + off + nw, 0, nb * sizeof(float));
        off += nw + nb;
    }
}

ct_status ct_model_spec_parse_for(const char *s, const ct_dataset *d, ct_model_spec *out) {
    if (!d) return ct_model_spec_parse(s, 0, 0, 0, 0, out);
    if (d->c > 0) return ct_model_spec_parse(s, d->c, d->h, d->w, d->classes, out);
    return ct_model_spec_parse(s, d->dim, d->dim > 0 ? 1 : 0, d->dim > 0 ? 1 : 0, d->classes, out);
}
