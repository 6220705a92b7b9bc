/* Asynchronous peeling (ldgm --async): decoded units equal the true partition
 * gradients; a unit is never applied twice for one step (an estimate and its
 * later correction count once); codewords older than the staleness bound are
 * ignored; the least-squares estimate is the min-norm fit of what arrived. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/rng.h"
#include "ct_test.h"
#include "host/async_decode.h"

enum { P = 37 };

typedef struct world {
    ct_code *code;
    ct_backend *be;
    int n, k;
    float *g;      /* k x P true unit gradients */
    float **y;     /* per worker: its codeword (m = 1) */
    float *grad;
} world;

static void world_init(world *w, int n, int s, uint64_t seed) {
    memset(w, 0, sizeof *w);
    ct_code_spec spec = CT_CODE_SPEC_INIT;
    spec.scheme = CT_CODE_LDGM;
    spec.n_workers = n;
    spec.stragglers = s;
    spec.seed = seed;
    CHECK_OK(ct_code_create(&spec, &w->code));
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU, &bc, &w->be));
    w->n = n;
    w->k = ct_code_n_partitions(w->code);
    w->g = malloc((size_t)w->k * P * sizeof(float));
    w->y = calloc((size_t)n, sizeof(float *));
    w->grad = malloc(P * sizeof(float));
    ct_rng r;
    ct_rng_seed(&r, seed);
    for (int i = 0; i < w->k * P; i++) w->g[i] = (float)(ct_rng_uniform(&r) * 2 - 1);
    for (int i = 0; i < n; i++) {
        CHECK(ct_code_messages(w->code, i) == 1, "ldgm worker %d sends %d messages", i, ct_code_messages(w->code, i));
        w->y[i] = calloc(P, sizeof(float));
        const int d = ct_code_load(w->code, i);
        const int *parts = ct_code_partitions(w->code, i);
        const float *E = ct_code_encoding(w->code, i);
        for (int j = 0; j < d; j++)
            for (int p = 0; p < P; p++) w->y[i][p] += E[j] * w->g[parts[j] * P + p];
    }
}

static void world_free(world *w) {
    for (int i = 0; i < w->n; i++) free(w->y[i]);
    free(w->y);
    free(w->g);
    free(w->grad);
    ct_backend_destroy(w->be);
    ct_code_destroy(w->code);
}

static int parity_worker(const world *w) {
    for (int i = 0; i < w->n; i++)
        if (ct_code_load(w->code, i) > 1) return i;
    return -1;
}

/* grad must equal the sum of the true gradients of `units` (count of them) */
static double err_vs_units(const world *w, const int *units, int count) {
    double num = 0, den = 0;
    for (int p = 0; p < P; p++) {
        double want = 0;
        for (int c = 0; c < count; c++) want += w->g[units[c] * P + p];
        num += (w->grad[p] - want) * (w->grad[p] - want);
        den += want * want;
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static void arrive(world *w, ct_async *a, long tau, int i, int *used) {
    float loss = 1.0f;
    CHECK_OK(ct_async_arrive(a, tau, i, &w->y[i], &loss, used));
}

static void test_all_arrive_decodes_everything(void) {
    world w;
    world_init(&w, 8, 2, 3);
    ct_async *a = NULL;
    CHECK_OK(ct_async_create(w.code, w.be, P, 1, CT_LOSSY_ZERO, &a));
    if (!a) return;
    CHECK_OK(ct_async_begin_step(a, 0));
    /* parity first: it cannot peel alone; the systematic ones release everything */
    int used = 0, order[8], n_order = 0, pw = parity_worker(&w);
    for (int i = 0; i < w.n; i++)
        if (ct_code_load(w.code, i) > 1) order[n_order++] = i;
    for (int i = 0; i < w.n; i++)
        if (ct_code_load(w.code, i) == 1) order[n_order++] = i;
    CHECK(pw >= 0, "ldgm has no parity worker");
    for (int r = 0; r < n_order; r++) arrive(&w, a, 0, order[r], &used);
    CHECK(ct_async_complete(a, 0), "all codewords arrived but not every unit decoded");
    int empty = 1;
    double dec = 0, loss = 0;
    CHECK_OK(ct_async_flush(a, 0, w.grad, &empty, &dec, &loss));
    int all[64];
    for (int u = 0; u < w.k; u++) all[u] = u;
    CHECK(!empty && dec == 1.0, "decoded fraction %g", dec);
    CHECK(err_vs_units(&w, all, w.k) < 1e-5, "decoded sum rel err %.3g", err_vs_units(&w, all, w.k));
    for (int u = 0; u < w.k; u++) CHECK(ct_async_applied_count(a, 0, u) == 1, "unit %d applied %d times", u, ct_async_applied_count(a, 0, u));
    ct_async_destroy(a);
    world_free(&w);
}

/* the parity codeword of step 0 arrives after its deadline: it releases the
 * missing unit, applied once, in the next flush; a codeword older than the
 * staleness bound is ignored */
static void test_late_codeword_and_staleness(ct_lossy lossy) {
    world w;
    world_init(&w, 8, 2, 5);
    ct_async *a = NULL;
    CHECK_OK(ct_async_create(w.code, w.be, P, 1, lossy, &a));
    if (!a) return;
    const int pw = parity_worker(&w);
    const int d = ct_code_load(w.code, pw);
    const int *parts = ct_code_partitions(w.code, pw);
    const int missing = parts[0]; /* a unit the parity covers; its systematic worker never answers */
    int used = 0;
    CHECK_OK(ct_async_begin_step(a, 0));
    /* every systematic worker except the one holding `missing` arrives, plus nothing else */
    for (int i = 0; i < w.n; i++)
        if (ct_code_load(w.code, i) == 1 && ct_code_partitions(w.code, i)[0] != missing) arrive(&w, a, 0, i, &used);
    CHECK(!ct_async_complete(a, 0), "complete without unit %d", missing);
    int empty = 1;
    double dec = 0, loss = 0;
    CHECK_OK(ct_async_flush(a, 0, w.grad, &empty, &dec, &loss));
    int got[64], ng = 0;
    for (int u = 0; u < w.k; u++)
        if (u != missing) got[ng++] = u;
    CHECK(err_vs_units(&w, got, ng) < 1e-5, "step 0 update: rel err %.3g", err_vs_units(&w, got, ng));
    CHECK(ct_async_applied_count(a, 0, missing) == 0, "undecoded unit applied (zero estimate) %d",
          ct_async_applied_count(a, 0, missing));
    /* step 1: the parity codeword of step 0 arrives late (staleness 1: allowed) */
    CHECK_OK(ct_async_begin_step(a, 1));
    arrive(&w, a, 0, pw, &used);
    CHECK(used == 1, "a codeword 1 step late was not used with --max-staleness 1");
    CHECK_OK(ct_async_flush(a, 1, w.grad, &empty, &dec, &loss));
    CHECK(err_vs_units(&w, &missing, 1) < 1e-5, "late unit %d: rel err %.3g", missing, err_vs_units(&w, &missing, 1));
    for (int u = 0; u < w.k; u++) CHECK(ct_async_applied_count(a, 0, u) == 1, "step 0 unit %d applied %d times", u, ct_async_applied_count(a, 0, u));
    /* a second copy of the same codeword changes nothing */
    arrive(&w, a, 0, pw, &used);
    CHECK_OK(ct_async_flush(a, 1, w.grad, &empty, &dec, &loss));
    CHECK(empty, "a repeated codeword was applied again");
    /* step 2: codewords of step 0 are now 2 steps late: ignored */
    CHECK_OK(ct_async_begin_step(a, 2));
    arrive(&w, a, 0, 0, &used);
    CHECK(used == 0, "a codeword 2 steps late was used with --max-staleness 1");
    (void)d;
    ct_async_destroy(a);
    world_free(&w);
}

/* least squares: only the parity codeword covering two undecoded units arrived;
 * the estimate is the min-norm split of its residual, and the later exact decode
 * applies only the correction: the total applied equals the true units once */
static void test_lsq_estimate_and_correction(void) {
    world w;
    world_init(&w, 8, 2, 9);
    ct_async *a = NULL;
    CHECK_OK(ct_async_create(w.code, w.be, P, 2, CT_LOSSY_LSQ, &a));
    if (!a) return;
    const int pw = parity_worker(&w);
    const int d = ct_code_load(w.code, pw);
    const int *parts = ct_code_partitions(w.code, pw);
    const float *E = ct_code_encoding(w.code, pw);
    int used = 0, empty = 1;
    double dec = 0, loss = 0;
    float *total = calloc(P, sizeof(float));
    CHECK_OK(ct_async_begin_step(a, 0));
    /* systematic workers of the parity's units except parts[0] and parts[1] arrive */
    for (int i = 0; i < w.n; i++) {
        if (ct_code_load(w.code, i) != 1) continue;
        int u = ct_code_partitions(w.code, i)[0];
        if (u != parts[0] && u != parts[1]) arrive(&w, a, 0, i, &used);
    }
    arrive(&w, a, 0, pw, &used);
    CHECK_OK(ct_async_flush(a, 0, w.grad, &empty, &dec, &loss));
    for (int p = 0; p < P; p++) total[p] += w.grad[p];
    /* min-norm: x0, x1 with E0 x0 + E1 x1 = r, x proportional to (E0, E1) */
    const float e0 = E[0], e1 = E[1];
    for (int p = 0; p < P; p++) {
        double r = e0 * w.g[parts[0] * P + p] + e1 * w.g[parts[1] * P + p];
        double x0 = e0 * r / (e0 * e0 + e1 * e1), x1 = e1 * r / (e0 * e0 + e1 * e1);
        double want = x0 + x1;
        for (int u = 0; u < w.k; u++)
            if (u != parts[0] && u != parts[1]) want += w.g[u * P + p];
        CHECK(fabs(w.grad[p] - want) < 1e-4 * (1 + fabs(want)), "lsq estimate at %d: %g vs %g", p, w.grad[p], want);
    }
    CHECK(ct_async_applied_count(a, 0, parts[0]) == 1 && ct_async_applied_count(a, 0, parts[1]) == 1,
          "estimated units must count as applied once");
    /* the two systematic codewords arrive late: corrections only */
    CHECK_OK(ct_async_begin_step(a, 1));
    for (int i = 0; i < w.n; i++) {
        if (ct_code_load(w.code, i) != 1) continue;
        int u = ct_code_partitions(w.code, i)[0];
        if (u == parts[0] || u == parts[1]) arrive(&w, a, 0, i, &used);
    }
    CHECK_OK(ct_async_flush(a, 1, w.grad, &empty, &dec, &loss));
    for (int p = 0; p < P; p++) total[p] += w.grad[p];
    for (int u = 0; u < w.k; u++) CHECK(ct_async_applied_count(a, 0, u) == 1, "unit %d applied %d times", u, ct_async_applied_count(a, 0, u));
    double num = 0, den = 0;
    for (int p = 0; p < P; p++) {
        double want = 0;
        for (int u = 0; u < w.k; u++) want += w.g[u * P + p];
        num += (total[p] - want) * (total[p] - want);
        den += want * want;
    }
    CHECK(sqrt(num / den) < 1e-5, "estimate + correction != the true sum: rel err %.3g", sqrt(num / den));
    (void)d;
    free(total);
    ct_async_destroy(a);
    world_free(&w);
}

int main(void) {
    test_all_arrive_decodes_everything();
    test_late_codeword_and_staleness(CT_LOSSY_ZERO);
    test_late_codeword_and_staleness(CT_LOSSY_LSQ);
    test_lsq_estimate_and_correction();
    return ct_test_done("test_host_async");
}
