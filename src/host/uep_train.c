/* Training with UEP-coded backpropagation (see uep_train.h): the coded product
 * (latencies, packets, decoding) on the host with the UEP library, the MLP's
 * exact forward and coded backward over the backend ops, and the run loop
 * with the same JSON Lines records as ct_train_run. */
#include "host/uep_train.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codedtrain/data.h"
#include "codedtrain/rng.h"
#include "host/clock.h"
#include "host/message.h"
#include "host/jsonl.h"
#include "host/outpath.h"
#include "host/run_common.h"
#include "host/run_config.h"

enum { UEP_EVAL_BATCH = 1000 };

/* keeps the UEP draws apart from every other stream derived from the run's seed */
#define UEP_SEED_TAG 0x5545505452414E31ull /* "UEPTRAN1" */

/* ---- setup ---- */

/* comma list of doubles into out[max]; names the flag on error */
static ct_status parse_list(const char *flag, const char *s, double *out, int max, int *n) {
    if (!s || !*s) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: empty list", flag);
    *n = 0;
    const char *p = s;
    for (;;) {
        char *end = NULL;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v))
            return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected comma-separated numbers", flag, s);
        if (*n == max) return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': at most %d values", flag, s, max);
        out[(*n)++] = v;
        if (*end == '\0') break;
        if (*end != ',') return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': unexpected '%c'", flag, s, *end);
        p = end + 1;
    }
    return CT_OK;
}

ct_status ct_uep_setup_from_config(const ct_train_config *cfg, ct_uep_setup *out) {
    if (!cfg || !out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_setup_from_config: NULL argument");
    memset(out, 0, sizeof *out);
    const char *sc = cfg->uep_scheme ? cfg->uep_scheme : "ew";
    if (!strcmp(sc, "now") || !strcmp(sc, "uep-now")) out->scheme = CT_UEP_NOW;
    else if (!strcmp(sc, "ew") || !strcmp(sc, "uep-ew")) out->scheme = CT_UEP_EW;
    else if (!strcmp(sc, "eep")) out->scheme = CT_UEP_EEP;
    else if (!strcmp(sc, "uncoded")) out->scheme = CT_UEP_UNCODED;
    else if (!strcmp(sc, "exact")) out->exact = 1;
    else return CT_FAIL(CT_ERR_INVALID_ARG, "--uep '%s': expected now, ew, eep, uncoded or exact", sc);
    if (cfg->uep_workers < 1 || cfg->uep_workers > CT_UEP_MAX_WORKERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-workers %d: must be between 1 and %d", cfg->uep_workers,
                       CT_UEP_MAX_WORKERS);
    if (!(cfg->uep_deadline >= 0)) /* NaN too */
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-deadline %g: must be >= 0 (or inf)", cfg->uep_deadline);
    if (!(cfg->uep_lambda > 0) || !isfinite(cfg->uep_lambda))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-lambda %g: must be a finite rate > 0", cfg->uep_lambda);
    if (cfg->uep_paradigm != CT_UEP_RXC && cfg->uep_paradigm != CT_UEP_CXR)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-paradigm %d: expected rxc (0) or cxr (1)", cfg->uep_paradigm);
    double g[CT_UEP_MAX_CLASSES], k[CT_UEP_MAX_CLASSES];
    int ng = 0, nk = 0;
    CT_TRY(parse_list("--uep-gamma", cfg->uep_gamma ? cfg->uep_gamma : "0.40,0.35,0.25", g, CT_UEP_MAX_CLASSES, &ng));
    CT_TRY(parse_list("--uep-k", cfg->uep_k ? cfg->uep_k : "3,3,3", k, CT_UEP_MAX_CLASSES, &nk));
    if (ng != nk)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-gamma has %d values but --uep-k has %d (one per class)", ng, nk);
    out->params.n_classes = nk;
    int sum = 0;
    for (int l = 0; l < nk; l++) {
        if (k[l] != floor(k[l]) || k[l] < 1 || k[l] > CT_UEP_MAX_BLOCKS)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-k '%s': every class size must be an integer in 1..%d", cfg->uep_k,
                           CT_UEP_MAX_BLOCKS);
        out->params.k[l] = (int)k[l];
        out->params.gamma[l] = g[l];
        sum += (int)k[l];
    }
    CT_TRY(ct_uep_params_check(&out->params, 0));
    out->paradigm = (ct_uep_paradigm)cfg->uep_paradigm;
    if (out->paradigm == CT_UEP_RXC) {
        int p = (int)lround(sqrt((double)sum));
        if (p * p != sum)
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--uep-k '%s': rxc cuts each side into p groups, p^2 blocks, so the class sizes must sum to a "
                           "square (they sum to %d)",
                           cfg->uep_k, sum);
        out->parts = p;
    } else {
        out->parts = sum;
    }
    out->n_blocks = sum;
    out->workers = cfg->uep_workers;
    out->deadline = cfg->uep_deadline;
    out->lambda = cfg->uep_lambda;
    out->seed = cfg->seed;
    const char *dev = cfg->uep_device ? cfg->uep_device : "host";
    out->clock = CT_UEP_CLOCK_VIRTUAL;
    if (strcmp(dev, "host") != 0) {
        if (ct_device_kind_parse(dev, &out->pool_kind) != CT_OK)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-device '%s': expected host, cpu, cuda, cpu-streams or auto", dev);
        out->pool = 1;
        out->clock = cfg->clock == CT_CLOCK_VIRTUAL ? CT_UEP_CLOCK_VIRTUAL : CT_UEP_CLOCK_REAL;
    }
    out->time_scale_ms = cfg->uep_time_scale_ms;
    if (out->clock == CT_UEP_CLOCK_REAL && (!(out->time_scale_ms > 0) || !isfinite(out->time_scale_ms)))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-time-scale-ms %g: must be a finite number > 0", out->time_scale_ms);
    /* exact mode has no packets to throttle: its time is the latency model only */
    if (out->exact && out->clock == CT_UEP_CLOCK_REAL)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--uep exact --uep-device %s with --clock real: exact mode is timed on the virtual clock only "
                       "(use --clock virtual or --uep-device host)",
                       dev);
    return CT_OK;
}

uint64_t ct_uep_product_key(uint64_t seed, long step, int product) {
    return ct_hash64(ct_hash64(seed ^ UEP_SEED_TAG, (uint64_t)step), (uint64_t)product);
}

/* worker i's packet latency for the product keyed `key` */
static double packet_latency(const ct_uep_setup *s, uint64_t key, int worker) {
    ct_rng r;
    ct_rng_seed(&r, ct_hash64(key, (uint64_t)worker));
    return ct_rng_exponential(&r, 1.0 / s->lambda);
}

/* exact mode: the blocks on min(N, blocks) workers, one each, and the master waits for all */
static double exact_finish(const ct_uep_setup *s, uint64_t key) {
    int n = s->workers < s->n_blocks ? s->workers : s->n_blocks;
    double t = 0;
    for (int i = 0; i < n; i++) {
        double l = packet_latency(s, key, i);
        if (l > t) t = l;
    }
    return t;
}

typedef struct lat_idx {
    double t;
    int i;
} lat_idx;

static int lat_cmp(const void *a, const void *b) {
    const lat_idx *x = a, *y = b;
    if (x->t < y->t) return -1;
    if (x->t > y->t) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* How the product's energy splits over the classes (a diagnostic for the log):
 * rxc blocks tile C, so sum the squares of each block's entries; cxr blocks
 * overlap, so form each class's sum of block products and take its norm. */
static ct_status class_energies(const ct_uep_partition *p, const double *C, double *energy) {
    memset(energy, 0, CT_UEP_MAX_CLASSES * sizeof(double));
    if (p->paradigm == CT_UEP_RXC) {
        for (int b = 0; b < p->n_blocks; b++) {
            const int i = p->block_a[b], j = p->block_b[b];
            double e = 0;
            for (int r = p->row_start[i]; r < p->row_start[i + 1]; r++) {
                const double *row = C + (size_t)p->row_order[r] * p->cols;
                for (int c = p->col_start[j]; c < p->col_start[j + 1]; c++) e += row[p->col_order[c]] * row[p->col_order[c]];
            }
            energy[p->block_class[b]] += e;
        }
        return CT_OK;
    }
    const size_t len = (size_t)p->out_rows * p->out_cols;
    double *sum = malloc(len * sizeof(double));
    if (!sum) return CT_FAIL(CT_ERR_NOMEM, "uep train: out of memory for a class product of %zu entries", len);
    ct_status st = CT_OK;
    for (int l = 0; l < p->n_classes && st == CT_OK; l++) {
        double w[CT_UEP_MAX_BLOCKS];
        for (int b = 0; b < p->n_blocks; b++) w[b] = p->block_class[b] == l;
        st = ct_uep_packet_compute(p, w, sum);
        for (size_t t = 0; t < len && st == CT_OK; t++) energy[l] += sum[t] * sum[t];
    }
    free(sum);
    return st;
}

ct_status ct_uep_coded_matmul(const ct_uep_setup *s, uint64_t stream, const double *A, const double *B, int rows,
                              int inner, int cols, const double *C, double *C_hat, ct_uep_product_info *info) {
    return ct_uep_coded_matmul_pool(s, NULL, stream, A, B, rows, inner, cols, C, C_hat, info);
}

/* the pool takes partition p: created on first use, reloaded after */
static ct_status pool_for(const ct_uep_setup *s, ct_uep_pool **pool, const ct_uep_partition *p) {
    if (*pool) return ct_uep_pool_load(*pool, p);
    return ct_uep_pool_create(s->pool_kind, p, s->workers, pool);
}

ct_status ct_uep_coded_matmul_pool(const ct_uep_setup *s, ct_uep_pool **pool, uint64_t stream, const double *A,
                                   const double *B, int rows, int inner, int cols, const double *C, double *C_hat,
                                   ct_uep_product_info *info) {
    if (!s || !A || !B || !C_hat || !info) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_coded_matmul: NULL argument");
    const int real = pool && s->clock == CT_UEP_CLOCK_REAL;
    if (rows < 1 || inner < 1 || cols < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_coded_matmul: sizes %d x %d x %d must be >= 1", rows, inner, cols);
    memset(info, 0, sizeof *info);
    info->n_blocks = s->n_blocks;
    const int N = s->workers, nb = s->n_blocks;
    ct_status st = CT_OK;

    if (s->exact) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cols, inner, 1.0, A, inner, B, cols, 0.0, C_hat,
                    cols);
        info->finish_s = exact_finish(s, stream);
        info->arrived = N < nb ? N : nb;
        memset(info->recovered, 1, (size_t)nb);
        memset(info->class_ok, 1, (size_t)s->params.n_classes);
    } else {
        ct_uep_partition *p = NULL;
        CT_TRY(ct_uep_partition_build(A, B, rows, inner, cols, s->paradigm, s->parts, &s->params, &p));
        const size_t blen = (size_t)p->out_rows * p->out_cols;
        lat_idx *lat = malloc((size_t)N * sizeof *lat);
        double *coeffs = malloc((size_t)N * nb * sizeof(double));
        double *G = malloc((size_t)N * nb * sizeof(double));
        double *D = malloc((size_t)N * nb * sizeof(double));
        double *Y = NULL, *X = malloc((size_t)nb * blen * sizeof(double));
        if (!lat || !coeffs || !G || !D || !X) {
            st = CT_FAIL(CT_ERR_NOMEM, "uep train: out of memory for a %d-worker product", N);
            goto done;
        }
        for (int i = 0; i < N; i++) lat[i] = (lat_idx){packet_latency(s, stream, i), i};
        qsort(lat, (size_t)N, sizeof *lat, lat_cmp);
        ct_rng cr; /* the code's coefficients: one stream per product, apart from the latencies' */
        ct_rng_seed(&cr, ct_hash64(~stream, 0x434F454646ull));
        if ((st = ct_uep_draw_packets(s->scheme, &s->params, nb, N, &cr, coeffs, NULL)) != CT_OK) goto done;

        int used = 0;
        double finish = 0;
        if (real) {
            /* every worker runs, throttled for its latency; the pool decides at the
             * deadline on the wall clock (no early stop at full rank: the round is
             * one wait) and returns the arrived packets in worker order */
            double *lv = malloc((size_t)N * sizeof(double));
            unsigned char *arr = malloc((size_t)N);
            Y = malloc((size_t)N * blen * sizeof(double));
            ct_uep_round_info ri = {0, 0, 0};
            if (!lv || !arr || !Y) st = CT_FAIL(CT_ERR_NOMEM, "uep train: out of memory for a %d-worker round", N);
            if (st == CT_OK) {
                for (int i = 0; i < N; i++) lv[i] = packet_latency(s, stream, i);
                ct_uep_round rd = {N, coeffs, lv, s->deadline, CT_UEP_CLOCK_REAL, s->time_scale_ms};
                st = pool_for(s, pool, p);
                if (st == CT_OK) st = ct_uep_pool_round(*pool, &rd, arr, Y, &ri);
            }
            for (int i = 0; i < N && st == CT_OK; i++)
                if (arr[i]) memcpy(G + (size_t)used++ * nb, coeffs + (size_t)i * nb, (size_t)nb * sizeof(double));
            finish = 1e-3 * ri.wall_ms;
            free(lv);
            free(arr);
            if (st != CT_OK) goto done;
        } else {
            /* packets that arrive strictly before the deadline, in arrival order */
            int n_in = 0;
            while (n_in < N && lat[n_in].t < s->deadline) n_in++;
            for (int j = 0; j < n_in; j++) memcpy(G + (size_t)j * nb, coeffs + (size_t)lat[j].i * nb, (size_t)nb * sizeof(double));
            /* the master stops at the deadline, or when the last packet is in, or as
             * soon as everything decodes (later packets add nothing) */
            used = n_in;
            finish = n_in == N ? lat[N - 1].t : s->deadline;
            for (int j = nb - 1; j < n_in; j++) {
                unsigned char rec[CT_UEP_MAX_BLOCKS];
                int rank = 0;
                if ((st = ct_uep_decode_matrix(G, j + 1, nb, D, rec, &rank)) != CT_OK) goto done;
                if (rank == nb) {
                    used = j + 1;
                    finish = lat[j].t;
                    break;
                }
            }
            /* only the packets used are computed: the others are never seen */
            if (used > 0) {
                Y = malloc((size_t)used * blen * sizeof(double));
                if (!Y) {
                    st = CT_FAIL(CT_ERR_NOMEM, "uep train: out of memory for %d packets of %zu entries", used, blen);
                    goto done;
                }
                if (pool) {
                    /* one virtual round over the packets used, in arrival order: pool
                     * worker j computes the j-th arrival's packet (on the virtual clock
                     * the workers are interchangeable), all with latency 0 <= deadline 0 */
                    double zero[CT_UEP_MAX_WORKERS];
                    memset(zero, 0, (size_t)used * sizeof(double));
                    unsigned char arr[CT_UEP_MAX_WORKERS];
                    ct_uep_round rd = {used, G, zero, 0.0, CT_UEP_CLOCK_VIRTUAL, 1.0};
                    if ((st = pool_for(s, pool, p)) != CT_OK) goto done;
                    if ((st = ct_uep_pool_round(*pool, &rd, arr, Y, NULL)) != CT_OK) goto done;
                } else {
                    for (int j = 0; j < used; j++)
                        if ((st = ct_uep_packet_compute(p, G + (size_t)j * nb, Y + (size_t)j * blen)) != CT_OK) goto done;
                }
            }
        }
        if ((st = ct_uep_decode(G, Y, used, nb, blen, X, info->recovered)) != CT_OK) goto done;
        if ((st = ct_uep_assemble(p, X, info->recovered, C_hat)) != CT_OK) goto done;
        ct_uep_class_flags(&s->params, info->recovered, info->class_ok);
        info->finish_s = finish;
        info->arrived = used;
        if (C && (st = class_energies(p, C, info->class_energy)) != CT_OK) goto done;
    done:
        ct_uep_partition_free(p);
        free(lat);
        free(coeffs);
        free(G);
        free(D);
        free(Y);
        free(X);
        if (st != CT_OK) return st;
    }
    if (C) {
        double e = 0, r = 0;
        for (size_t t = 0; t < (size_t)rows * cols; t++) {
            double d = C[t] - C_hat[t];
            e += C[t] * C[t];
            r += d * d;
        }
        info->energy = e;
        info->err = r;
    }
    return CT_OK;
}

/* ---- the MLP with a coded backward ---- */

struct ct_uep_mlp {
    ct_backend *be;
    ct_mlp_spec spec;
    int max_batch;
    ct_uep_setup setup;
    void *dev;                           /* one device allocation: act, delta, loss */
    float *act[CT_MLP_MAX_LAYERS + 1];   /* act[l], l >= 1: output of layer l, batch x sizes[l] */
    float *delta[2];                     /* dX of hidden layers, batch x widest hidden */
    float *dloss;
    size_t P;
    float *hp, *hdz, *hx, *hout;         /* host staging (float) */
    double *dA, *dB, *dC, *dChat;        /* host operands of the coded products (double) */
    ct_uep_pool *pool;                   /* setup.pool: the packets' workers, made at the first product */
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* the products' shapes must allow the partition: fail early with the layer named */
static ct_status check_shapes(const ct_mlp_spec *spec, int batch, const ct_uep_setup *s) {
    if (s->exact) return CT_OK;
    const int q = s->parts;
    for (int l = 1; l <= spec->n_layers; l++) {
        const int in = spec->sizes[l - 1], out = spec->sizes[l];
        /* dW = dZ^T X: out x batch x in; dX = dZ W: batch x out x in (layers above the first) */
        if (s->paradigm == CT_UEP_RXC) {
            if (out < q || in < q || (l > 1 && batch < q))
                return CT_FAIL(CT_ERR_INVALID_ARG,
                               "--uep-paradigm rxc: layer %d (%d -> %d, batch %d) has a side shorter than the %d groups "
                               "the class sizes ask for",
                               l, in, out, batch, q);
        } else if (batch < q || (l > 1 && out < q)) {
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--uep-paradigm cxr: layer %d (%d -> %d, batch %d) has an inner dimension shorter than the "
                           "%d parts the class sizes ask for",
                           l, in, out, batch, q);
        }
    }
    return CT_OK;
}

void ct_uep_mlp_destroy(ct_uep_mlp *m) {
    if (!m) return;
    if (m->dev) m->be->ops->free(m->be, m->dev);
    ct_uep_pool_destroy(m->pool);
    free(m->hp);
    free(m->hdz);
    free(m->hx);
    free(m->hout);
    free(m->dA);
    free(m->dB);
    free(m->dC);
    free(m->dChat);
    free(m);
}

ct_status ct_uep_mlp_create(ct_backend *be, const ct_mlp_spec *spec, int max_batch, const ct_uep_setup *setup,
                            ct_uep_mlp **out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_mlp_create: out is NULL");
    *out = NULL;
    if (!be || !spec || !setup) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_mlp_create: NULL argument");
    if (spec->n_layers < 1 || spec->n_layers > CT_MLP_MAX_LAYERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_mlp_create: %d layers (expected 1..%d)", spec->n_layers,
                       CT_MLP_MAX_LAYERS);
    if (max_batch < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_mlp_create: max_batch %d must be >= 1", max_batch);
    CT_TRY(check_shapes(spec, max_batch, setup));
    ct_uep_mlp *m = calloc(1, sizeof *m);
    if (!m) return CT_FAIL(CT_ERR_NOMEM, "uep train: out of memory");
    m->be = be;
    m->spec = *spec;
    m->max_batch = max_batch;
    m->setup = *setup;
    m->P = ct_mlp_param_count(spec);
    const int L = spec->n_layers;
    const size_t B = (size_t)max_batch;
    int widest = 0, widest_hidden = 0;
    size_t big = 0; /* the largest operand or result of any product */
    for (int l = 0; l <= L; l++) {
        if (spec->sizes[l] > widest) widest = spec->sizes[l];
        if (l >= 1 && l < L && spec->sizes[l] > widest_hidden) widest_hidden = spec->sizes[l];
        if (l >= 1) {
            size_t in = (size_t)spec->sizes[l - 1], o = (size_t)spec->sizes[l];
            size_t c[3] = {o * in, B * in, B * o};
            for (int t = 0; t < 3; t++)
                if (c[t] > big) big = c[t];
        }
    }
    size_t total = 0, act_off[CT_MLP_MAX_LAYERS + 1], delta_off[2];
    for (int l = 1; l <= L; l++) {
        act_off[l] = total;
        total += align64(B * (size_t)spec->sizes[l]);
    }
    for (int k = 0; k < 2; k++) {
        delta_off[k] = total;
        total += align64(B * (size_t)(widest_hidden > 0 ? widest_hidden : 1));
    }
    const size_t loss_off = total;
    total += align64(1);
    ct_status st = be->ops->alloc(be, total * sizeof(float), &m->dev);
    if (st != CT_OK) {
        free(m);
        return st;
    }
    float *base = m->dev;
    for (int l = 1; l <= L; l++) m->act[l] = base + act_off[l];
    for (int k = 0; k < 2; k++) m->delta[k] = base + delta_off[k];
    m->dloss = base + loss_off;
    m->hp = malloc(m->P * sizeof(float));
    m->hdz = malloc(B * widest * sizeof(float));
    m->hx = malloc(B * widest * sizeof(float));
    m->hout = malloc(big * sizeof(float));
    m->dA = malloc(big * sizeof(double));
    m->dB = malloc(big * sizeof(double));
    m->dC = malloc(big * sizeof(double));
    m->dChat = malloc(big * sizeof(double));
    if (!m->hp || !m->hdz || !m->hx || !m->hout || !m->dA || !m->dB || !m->dC || !m->dChat) {
        ct_uep_mlp_destroy(m);
        return CT_FAIL(CT_ERR_NOMEM, "uep train: out of memory for host staging (%zu doubles per operand)", big);
    }
    *out = m;
    return CT_OK;
}

/* One coded product with the exact one beside it (for the energy statistic):
 * dChat = approx(dA dB), then into the device buffer dst as float. */
static ct_status coded_to_device(ct_uep_mlp *m, long step, int product, int rows, int inner, int cols, float *dst,
                                 ct_uep_product_info *info) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cols, inner, 1.0, m->dA, inner, m->dB, cols, 0.0,
                m->dC, cols);
    CT_TRY(ct_uep_coded_matmul_pool(&m->setup, m->setup.pool ? &m->pool : NULL,
                                    ct_uep_product_key(m->setup.seed, step, product), m->dA, m->dB, rows, inner, cols,
                                    m->dC, m->dChat, info));
    const size_t n = (size_t)rows * cols;
    for (size_t t = 0; t < n; t++) m->hout[t] = (float)m->dChat[t];
    CT_TRY(m->be->ops->memcpy_h2d(m->be, dst, m->hout, n * sizeof(float)));
    return m->be->ops->sync(m->be); /* hout is reused by the next product */
}

ct_status ct_uep_mlp_loss_grad(ct_uep_mlp *m, const float *params, const float *x, const int32_t *y, int batch,
                               long step, float *grad, float *loss, ct_uep_step_stats *stats) {
    if (!m || !params || !x || !y || !grad || !loss || !stats)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_mlp_loss_grad: NULL argument");
    if (batch < 1 || batch > m->max_batch)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_mlp_loss_grad: batch %d outside 1..%d", batch, m->max_batch);
    CT_TRY(check_shapes(&m->spec, batch, &m->setup));
    memset(stats, 0, sizeof *stats);
    ct_backend *be = m->be;
    const ct_mlp_spec *spec = &m->spec;
    const int L = spec->n_layers;
    const int coded = !m->setup.exact;

    /* forward: the same ops, in the same order, as ct_mlp_loss_grad */
    const float *input = x;
    for (int l = 1; l <= L; l++) {
        const int in = spec->sizes[l - 1], out = spec->sizes[l];
        size_t w_off, b_off;
        ct_mlp_layer_offsets(spec, l - 1, &w_off, &b_off);
        CT_TRY(be->ops->gemm(be, 0, 1, batch, out, in, 1.0f, input, in, params + w_off, in, 0.0f, m->act[l], out));
        CT_TRY(be->ops->bias_act_forward(be, l < L ? CT_ACT_RELU : CT_ACT_NONE, batch, out, params + b_off, m->act[l]));
        input = m->act[l];
    }
    float *dz = m->act[L]; /* dlogits in place of the logits */
    CT_TRY(be->ops->softmax_xent(be, batch, spec->sizes[L], m->act[L], y, NULL, dz, m->dloss));
    CT_TRY(be->ops->memcpy_d2h(be, loss, m->dloss, sizeof(float)));
    if (coded) CT_TRY(be->ops->memcpy_d2h(be, m->hp, params, m->P * sizeof(float)));
    CT_TRY(be->ops->sync(be));

    int np = 0;
    for (int l = L; l >= 1; l--) {
        const int in = spec->sizes[l - 1], out = spec->sizes[l];
        size_t w_off, b_off;
        ct_mlp_layer_offsets(spec, l - 1, &w_off, &b_off);
        const float *X = l > 1 ? m->act[l - 1] : x;
        float *dx = l > 1 ? m->delta[(l - 1) & 1] : NULL;
        if (!coded) {
            /* exact products (ct_mlp_loss_grad's ops); only the time model is added */
            CT_TRY(be->ops->gemm(be, 1, 0, out, in, batch, 1.0f, dz, out, X, in, 0.0f, grad + w_off, in));
            CT_TRY(be->ops->bias_grad(be, batch, out, dz, 0.0f, grad + b_off));
            for (int t = 0; t < (l > 1 ? 2 : 1); t++, np++) {
                ct_uep_product_info *pi = &stats->product[np];
                pi->n_blocks = m->setup.n_blocks;
                memset(pi->recovered, 1, (size_t)m->setup.n_blocks);
                memset(pi->class_ok, 1, (size_t)m->setup.params.n_classes);
                pi->finish_s = exact_finish(&m->setup, ct_uep_product_key(m->setup.seed, step, np));
                pi->arrived = m->setup.workers < m->setup.n_blocks ? m->setup.workers : m->setup.n_blocks;
            }
            if (l == 1) break;
            CT_TRY(be->ops->gemm(be, 0, 0, batch, in, out, 1.0f, dz, out, params + w_off, in, 0.0f, dx, in));
            CT_TRY(be->ops->act_backward(be, CT_ACT_RELU, (size_t)batch * in, m->act[l - 1], dx));
            dz = dx;
            continue;
        }
        CT_TRY(be->ops->memcpy_d2h(be, m->hdz, dz, (size_t)batch * out * sizeof(float)));
        CT_TRY(be->ops->memcpy_d2h(be, m->hx, X, (size_t)batch * in * sizeof(float)));
        CT_TRY(be->ops->sync(be));
        /* dW = dZ^T X: A = dZ^T (out x batch), B = X (batch x in) */
        for (int s = 0; s < batch; s++)
            for (int o = 0; o < out; o++) m->dA[(size_t)o * batch + s] = m->hdz[(size_t)s * out + o];
        for (size_t t = 0; t < (size_t)batch * in; t++) m->dB[t] = m->hx[t];
        CT_TRY(coded_to_device(m, step, np, out, batch, in, grad + w_off, &stats->product[np]));
        np++;
        /* the bias gradient is a column sum, not one of the two products: exact */
        CT_TRY(be->ops->bias_grad(be, batch, out, dz, 0.0f, grad + b_off));
        if (l == 1) break;
        /* dX = dZ W: A = dZ (batch x out), B = W (out x in) */
        for (size_t t = 0; t < (size_t)batch * out; t++) m->dA[t] = m->hdz[t];
        const float *hw = m->hp + w_off;
        for (size_t t = 0; t < (size_t)out * in; t++) m->dB[t] = hw[t];
        CT_TRY(coded_to_device(m, step, np, batch, out, in, dx, &stats->product[np]));
        np++;
        CT_TRY(be->ops->act_backward(be, CT_ACT_RELU, (size_t)batch * in, m->act[l - 1], dx));
        dz = dx;
    }
    stats->n_products = np;
    /* energy and class shares average over the products that are not zero: when
     * an upstream dX was lost entirely, the products below it are zero and
     * "recovered" trivially, which says nothing about the code */
    int nz = 0;
    for (int i = 0; i < np; i++) {
        const ct_uep_product_info *pi = &stats->product[i];
        stats->time_s += pi->finish_s;
        stats->arrived_frac += (double)pi->arrived / m->setup.workers;
        for (int l = 0; l < m->setup.params.n_classes; l++) stats->class_decoded[l] += pi->class_ok[l];
        if (pi->energy > 0) {
            nz++;
            stats->energy_recovered += 1.0 - pi->err / pi->energy;
            for (int l = 0; l < m->setup.params.n_classes; l++) stats->class_share[l] += pi->class_energy[l] / pi->energy;
        }
    }
    stats->n_nonzero = nz;
    stats->energy_recovered = nz ? stats->energy_recovered / nz : 1.0;
    for (int l = 0; l < m->setup.params.n_classes; l++) {
        if (nz) stats->class_share[l] /= nz;
        if (np) stats->class_decoded[l] /= np;
    }
    if (np) stats->arrived_frac /= np;
    return be->ops->sync(be);
}

/* ---- the run ---- */

typedef struct uep_run {
    const ct_train_config *cfg;
    ct_uep_setup setup;
    ct_dataset train, test;
    ct_mlp_spec spec;
    ct_model_spec model; /* the same MLP as a general model (evaluation) */
    ct_lr_schedule sched;
    ct_backend *be;
    ct_uep_mlp *net;
    ct_model_workspace *eval_ws;
    size_t P;
    float *params, *grad, *mom, *xb; /* device */
    float *gref;                     /* device: the exact gradient, for the fidelity statistic */
    int32_t *yb;                     /* device */
    float *hx, *hlogits;             /* host */
    int32_t *hy, *perm;
    FILE *log;
} uep_run;


static ct_status check_config(const ct_train_config *c) {
    CT_TRY(ct_run_check_config(c));
    /* the UEP mode has its own workers and latency model; refuse what it would silently ignore */
    if (c->workers != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep with --workers %d: the UEP mode's workers are set by --uep-workers",
                       c->workers);
    if (c->straggle && strcmp(c->straggle, "none") != 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep with --straggle %s: the UEP mode's latency model is --uep-lambda",
                       c->straggle);
    if (c->checkpoint_path || c->resume_path)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--uep with --checkpoint / --resume: UEP runs cannot be checkpointed yet");
    if (c->transport != 0 || c->compress != 0 || c->async)
        return CT_FAIL(CT_ERR_UNSUPPORTED, "--uep runs its workers in process: no --transport, --compress or --async");
    return ct_run_check_paths(c);
}



static ct_status evaluate(uep_run *r, double *acc) {
    return ct_run_test_accuracy(r->be, r->eval_ws, r->params, &r->test, UEP_EVAL_BATCH, r->xb, r->hlogits,
                                r->spec.sizes[r->spec.n_layers], acc);
}

static const char *clock_name(const ct_uep_setup *s) { return s->clock == CT_UEP_CLOCK_REAL ? "real" : "virtual"; }

/* who computes the packets, for the log */
static const char *packet_device(const ct_uep_setup *s) {
    if (!s->pool) return "host";
    return s->pool_kind == CT_DEVICE_AUTO ? "auto" : ct_device_kind_name(s->pool_kind);
}

static const char *setup_scheme_name(const ct_uep_setup *s) { return s->exact ? "exact" : ct_uep_scheme_name(s->scheme); }

static ct_status setup_run(uep_run *r) {
    const ct_train_config *c = r->cfg;
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    bc.threads = c->threads;
    CT_TRY(ct_backend_create(c->device, &bc, &r->be));
    ct_backend *be = r->be;
    r->P = ct_mlp_param_count(&r->spec);
    const int eval_rows = UEP_EVAL_BATCH > c->batch ? UEP_EVAL_BATCH : c->batch;
    CT_TRY(ct_uep_mlp_create(be, &r->spec, c->batch, &r->setup, &r->net));
    /* also computes the exact gradient of each training batch */
    CT_TRY(ct_model_workspace_create(be, &r->model, eval_rows, &r->eval_ws));
    CT_TRY(be->ops->alloc(be, r->P * sizeof(float), (void **)&r->params));
    CT_TRY(be->ops->alloc(be, r->P * sizeof(float), (void **)&r->grad));
    CT_TRY(be->ops->alloc(be, r->P * sizeof(float), (void **)&r->mom));
    CT_TRY(be->ops->alloc(be, r->P * sizeof(float), (void **)&r->gref));
    CT_TRY(be->ops->alloc(be, (size_t)eval_rows * r->train.dim * sizeof(float), (void **)&r->xb));
    CT_TRY(be->ops->alloc(be, (size_t)c->batch * sizeof(int32_t), (void **)&r->yb));
    r->hx = malloc((size_t)c->batch * r->train.dim * sizeof(float));
    r->hy = malloc((size_t)c->batch * sizeof(int32_t));
    r->perm = malloc((size_t)r->train.n * sizeof(int32_t));
    r->hlogits = malloc((size_t)UEP_EVAL_BATCH * r->spec.sizes[r->spec.n_layers] * sizeof(float));
    if (!r->hx || !r->hy || !r->perm || !r->hlogits) return CT_FAIL(CT_ERR_NOMEM, "uep train: out of host memory");
    float *init = malloc(r->P * sizeof(float));
    if (!init) return CT_FAIL(CT_ERR_NOMEM, "parameter init: out of memory (%zu floats)", r->P);
    ct_mlp_init_params(&r->spec, c->seed, init);
    ct_status st = be->ops->memcpy_h2d(be, r->params, init, r->P * sizeof(float));
    if (st == CT_OK) st = be->ops->sync(be);
    free(init);
    CT_TRY(st);
    return be->ops->fill(be, r->P, 0.0f, r->mom);
}

static void run_free(uep_run *r) {
    if (r->be) {
        ct_backend *be = r->be;
        be->ops->free(be, r->params);
        be->ops->free(be, r->grad);
        be->ops->free(be, r->mom);
        be->ops->free(be, r->gref);
        be->ops->free(be, r->xb);
        be->ops->free(be, r->yb);
        ct_uep_mlp_destroy(r->net);
        ct_model_workspace_destroy(r->eval_ws);
        ct_backend_destroy(be);
    }
    free(r->hx);
    free(r->hy);
    free(r->perm);
    free(r->hlogits);
    ct_dataset_free(&r->train);
    ct_dataset_free(&r->test);
    if (r->log) fclose(r->log);
}

typedef struct run_sums {
    double vtime, wall, energy, arrived, grad_err, grad_cos;
    double share[CT_UEP_MAX_CLASSES], decoded[CT_UEP_MAX_CLASSES];
} run_sums;

/* ||g_hat - g||^2 / ||g||^2 and cos(g_hat, g) against the exact gradient g of
 * the same batch (r->xb, r->yb) at the same parameters. */
static ct_status grad_fidelity(uep_run *r, int batch, double *rel_err, double *cosine) {
    ct_backend *be = r->be;
    CT_TRY(ct_model_loss_grad(r->eval_ws, r->params, r->xb, r->yb, NULL, batch, 0.0f, r->gref, NULL));
    double ng = 0, nh = 0, d = 0;
    CT_TRY(be->ops->nrm2(be, r->P, r->gref, &ng));
    CT_TRY(be->ops->nrm2(be, r->P, r->grad, &nh));
    CT_TRY(be->ops->dot(be, r->P, r->grad, r->gref, &d));
    *rel_err = ng > 0 ? fmax(0.0, nh * nh - 2 * d + ng * ng) / (ng * ng) : 0;
    *cosine = ng > 0 && nh > 0 ? d / (ng * nh) : (ng > 0 ? 0 : 1);
    return CT_OK;
}

static ct_status run_loop(uep_run *r, ct_train_result *res, run_sums *sum) {
    const ct_train_config *c = r->cfg;
    ct_backend *be = r->be;
    const int b = c->batch, dim = r->train.dim;
    const int steps_per_epoch = r->train.n / b;
    if (steps_per_epoch < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--batch %d: larger than the %d training samples", b, r->train.n);
    long steps = 0;
    res->time_to_target_s = -1;
    int stop = 0;
    for (int epoch = 1; epoch <= c->epochs && !stop; epoch++) {
        /* the permutation ct_train_run's master uses, so the batches are the same */
        ct_permutation(r->perm, r->train.n, c->seed * 1000003u + (uint64_t)epoch);
        double loss_sum = 0, energy_epoch = 0, err_epoch = 0;
        int done = 0;
        for (int s = 0; s < steps_per_epoch; s++) {
            if (c->max_steps > 0 && steps >= c->max_steps) {
                stop = 1;
                break;
            }
            const int32_t *idx = r->perm + (size_t)s * b;
            for (int t = 0; t < b; t++) {
                memcpy(r->hx + (size_t)t * dim, r->train.x + (size_t)idx[t] * dim, (size_t)dim * sizeof(float));
                r->hy[t] = r->train.y[idx[t]];
            }
            CT_TRY(be->ops->memcpy_h2d(be, r->xb, r->hx, (size_t)b * dim * sizeof(float)));
            CT_TRY(be->ops->memcpy_h2d(be, r->yb, r->hy, (size_t)b * sizeof(int32_t)));
            const double w0 = ct_now_s();
            float loss = 0;
            ct_uep_step_stats st;
            CT_TRY(ct_uep_mlp_loss_grad(r->net, r->params, r->xb, r->yb, b, steps, r->grad, &loss, &st));
            if (!isfinite(loss))
                return CT_FAIL(CT_ERR_NUMERIC, "training diverged at epoch %d step %d (loss %g); try a smaller --lr", epoch,
                               s, (double)loss);
            /* how far the coded gradient is from the exact one (not timed: a diagnostic) */
            double gerr = 0, gcos = 1;
            const double f0 = ct_now_s();
            if (!r->setup.exact) CT_TRY(grad_fidelity(r, b, &gerr, &gcos));
            const double f_s = ct_now_s() - f0;
            const double lr = ct_lr_at(&r->sched, (epoch - 1) + (double)s / steps_per_epoch);
            CT_TRY(be->ops->sgd_update(be, r->P, (float)lr, (float)c->momentum, (float)c->weight_decay, r->params,
                                       r->grad, r->mom));
            CT_TRY(be->ops->sync(be));
            const double wstep = ct_now_s() - w0 - f_s;
            sum->wall += wstep;
            /* the run's clock: the latency model's time, or (pool on the real clock) the step's wall time */
            sum->vtime += r->setup.clock == CT_UEP_CLOCK_REAL ? wstep : st.time_s;
            sum->grad_err += gerr;
            sum->grad_cos += gcos;
            err_epoch += gerr;
            sum->energy += st.energy_recovered;
            sum->arrived += st.arrived_frac;
            for (int l = 0; l < r->setup.params.n_classes; l++) {
                sum->share[l] += st.class_share[l];
                sum->decoded[l] += st.class_decoded[l];
            }
            energy_epoch += st.energy_recovered;
            loss_sum += loss;
            done++;
            steps++;
            if (c->eval_every > 0 && steps % c->eval_every == 0 && s + 1 < steps_per_epoch) {
                double acc = 0;
                CT_TRY(evaluate(r, &acc));
                if (r->log) {
                    ct_json j;
                    ct_run_record_eval(&j, steps, epoch, sum->vtime, acc);
                    CT_TRY(ct_run_write_record(r->log, r->cfg->log_path, &j));
                }
                if (c->target_acc > 0 && acc >= c->target_acc) {
                    res->time_to_target_s = sum->vtime;
                    stop = 1;
                    break;
                }
            }
        }
        double acc = -1;
        if (c->eval) CT_TRY(evaluate(r, &acc));
        const double train_loss = done ? loss_sum / done : 0;
        res->final_test_acc = acc;
        res->final_train_loss = train_loss;
        res->epochs_run = epoch;
        if (c->progress != CT_PROGRESS_OFF)
            ct_message(CT_MSG_INFO, "epoch %d/%d  loss %.4f  test_acc %.4f  time %.2fs (%s)  energy recovered %.4f  "
                   "grad rel err %.4f  wall %.1fs",
                   epoch, c->epochs, train_loss, acc, sum->vtime, clock_name(&r->setup), done ? energy_epoch / done : 0,
                   done ? err_epoch / done : 0, sum->wall);
        if (r->log) {
            ct_json j;
            ct_run_record_epoch(&j, epoch, sum->vtime, train_loss, acc);
            ct_json_key_int(&j, "steps", steps);
            ct_json_key_num(&j, "energy_recovered", done ? energy_epoch / done : 0);
            ct_json_key_num(&j, "grad_rel_err", done ? err_epoch / done : 0);
            ct_json_key_num(&j, "wall_s", sum->wall);
            CT_TRY(ct_run_write_record(r->log, r->cfg->log_path, &j));
        }
        if (c->target_acc > 0 && acc >= c->target_acc && res->time_to_target_s < 0) {
            res->time_to_target_s = sum->vtime;
            stop = 1;
        }
    }
    res->time_s = sum->vtime;
    res->train_time_s = sum->vtime;
    res->steps = steps;
    res->samples_per_s = sum->vtime > 0 ? (double)steps * b / sum->vtime : 0;
    res->mean_step_s = steps ? sum->vtime / steps : 0;
    res->mean_wait_s = res->mean_step_s; /* the step's time is all waiting for packets */
    res->data_dropped = steps ? 1.0 - sum->energy / steps : 0;
    return CT_OK;
}

ct_status ct_uep_train_run(const ct_train_config *cfg, ct_train_result *res) {
    if (!cfg || !res) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_uep_train_run: NULL argument");
    memset(res, 0, sizeof *res);
    CT_TRY(check_config(cfg));
    ct_train_config resolved = *cfg;
    if (resolved.threads <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        resolved.threads = ncpu > 0 ? (int)ncpu : 1;
    }
    uep_run r;
    memset(&r, 0, sizeof r);
    r.cfg = &resolved;
    ct_status st = ct_uep_setup_from_config(&resolved, &r.setup);
    ct_norm norm;
    if (st == CT_OK) st = ct_run_load_data(r.cfg, &r.train, &r.test, &norm);
    char checksum[32] = "";
    if (st == CT_OK) st = ct_run_config_data(r.cfg, &r.train, &r.test, checksum);
    if (st == CT_OK) st = ct_model_spec_parse_for(resolved.model, &r.train, &r.model);
    /* conv layers are not UEP-coded (docs/models.md says why) */
    if (st == CT_OK && resolved.augment && strcmp(resolved.augment, "none"))
        st = CT_FAIL(CT_ERR_UNSUPPORTED, "--uep does not support --augment");
    if (st == CT_OK && !ct_model_as_mlp(&r.model, &r.spec))
        st = CT_FAIL(CT_ERR_INVALID_ARG, "--uep with --model '%s': UEP-coded backprop supports MLPs (dense layers) only",
                     resolved.model);
    if (st == CT_OK) st = ct_lr_schedule_parse(resolved.lr_schedule, resolved.lr, resolved.epochs, &r.sched);
    if (st == CT_OK) st = ct_run_check_memory(&resolved, &r.model);
    if (st == CT_OK) st = check_shapes(&r.spec, resolved.batch, &r.setup);
    if (st == CT_OK) st = setup_run(&r);
    const ct_uep_setup *u = &r.setup;
    if (st == CT_OK) {
        snprintf(res->device, sizeof res->device, "%s", r.be->ops->describe(r.be));
        if (resolved.progress != CT_PROGRESS_OFF) {
            char ms[256];
            ct_mlp_spec_format(&r.spec, ms, sizeof ms);
            char scale[64] = "";
            if (u->clock == CT_UEP_CLOCK_REAL) snprintf(scale, sizeof scale, ", %g ms per latency unit", u->time_scale_ms);
            ct_message(CT_MSG_INFO, "device: %s\nmodel: mlp %s (%zu parameters), %d train / %d test samples, batch %d\n"
                   "uep: %s, %s, N=%d workers, deadline %g, lambda %g, %d blocks per product, packets on %s "
                   "(%s clock%s)",
                   res->device, ms, r.P, r.train.n, r.test.n, resolved.batch, setup_scheme_name(u),
                   ct_uep_paradigm_name(u->paradigm), u->workers, u->deadline, u->lambda, u->n_blocks,
                   packet_device(u), clock_name(u), scale);
        }
    }
    if (st == CT_OK) st = ct_run_config_open_log(&resolved, res->device, checksum, 0, &r.log);
    run_sums sum = {0};
    if (st == CT_OK) st = run_loop(&r, res, &sum);
    if (st == CT_OK && r.log) {
        ct_json j;
        ct_run_record_final(&j, res);
        ct_json_key_str(&j, "code", "uep");
        ct_json_key_str(&j, "clock", clock_name(u));
        ct_json_key_str(&j, "uep_device", packet_device(u));
        if (u->clock == CT_UEP_CLOCK_REAL) ct_json_key_num(&j, "uep_time_scale_ms", u->time_scale_ms);
        ct_json_key_str(&j, "uep_scheme", setup_scheme_name(u));
        ct_json_key_str(&j, "uep_paradigm", ct_uep_paradigm_name(u->paradigm));
        ct_json_key_int(&j, "uep_workers", u->workers);
        if (isinf(u->deadline)) ct_json_key_str(&j, "uep_deadline", "inf");
        else ct_json_key_num(&j, "uep_deadline", u->deadline);
        ct_json_key_num(&j, "uep_lambda", u->lambda);
        ct_json_key_num(&j, "energy_recovered", res->steps ? sum.energy / res->steps : 0);
        ct_json_key_num(&j, "packets_used", res->steps ? sum.arrived / res->steps : 0);
        ct_json_key_num(&j, "grad_rel_err", res->steps ? sum.grad_err / res->steps : 0);
        ct_json_key_num(&j, "grad_cos", res->steps ? sum.grad_cos / res->steps : 0);
        /* per class: fraction of products that decoded it, and its mean share of ||C||^2
         * (0 in exact mode, which does not partition) */
        ct_json_key_begin_array(&j, "class_decoded");
        for (int l = 0; l < u->params.n_classes; l++) ct_json_array_num(&j, res->steps ? sum.decoded[l] / res->steps : 0);
        ct_json_end_array(&j);
        ct_json_key_begin_array(&j, "class_energy_share");
        for (int l = 0; l < u->params.n_classes; l++) ct_json_array_num(&j, res->steps ? sum.share[l] / res->steps : 0);
        ct_json_end_array(&j);
        ct_json_key_num(&j, "mean_step_s", res->mean_step_s);
        ct_json_key_num(&j, "wall_s", sum.wall);
        if (resolved.target_acc > 0) {
            if (res->time_to_target_s >= 0) ct_json_key_num(&j, "time_to_target_s", res->time_to_target_s);
            else ct_json_key_null(&j, "time_to_target_s");
        }
        st = ct_run_write_record(r.log, resolved.log_path, &j);
    }
    run_free(&r);
    return st;
}
