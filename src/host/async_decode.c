/* Asynchronous peeling decoder (see async_decode.h). */
#include "host/async_decode.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct step_slot {
    long step;               /* -1: free */
    ct_peeler *peeler;
    float *exact;            /* k x P decoded unit gradients (device) */
    float *est;              /* k x P lossy estimates (device) */
    float **msg;             /* per slot: its arrived codeword (NULL: not arrived) */
    float *store;            /* total x P (device): codewords are copied here, because a
                                worker's own buffer is reused by its next task while this
                                codeword may still be needed to peel later units */
    float *msg_loss;         /* per slot */
    unsigned char *estimated;/* units given an estimate at the deadline */
    double *unit_loss;       /* decoded units' losses */
    int *applied;            /* per unit: contributions applied (exact decode counts 1; an
                                estimate and its later correction count 1 together) */
} step_slot;

struct ct_async {
    ct_code *code;
    ct_backend *be;
    size_t P;
    int k, total, S;
    ct_lossy lossy;
    step_slot *slots;        /* S + 1 of them, by step modulo */
    /* contributions pending for the next flush */
    const float **contrib;
    float *coef;
    int n_contrib, cap_contrib;
    int *units, *from;       /* peeler scratch (k) */
    float *tmp;              /* P (device): scratch for corrections */
    float *resid;            /* lsq: resid_rows x P (device) residuals, allocated at creation */
};

/* the least-squares fit uses at most this many arrived codewords (rows) */
static int resid_rows(const ct_async *a) { return a->total < CT_COMBINE_MAX ? a->total : CT_COMBINE_MAX; }

static step_slot *slot_of(const ct_async *a, long step) {
    if (step < 0) return NULL;
    step_slot *s = &a->slots[step % (a->S + 1)];
    return s->step == step ? s : NULL;
}

static ct_status push(ct_async *a, const float *p, float c) {
    if (a->n_contrib == a->cap_contrib) {
        int cap = a->cap_contrib ? 2 * a->cap_contrib : 64;
        const float **np = realloc(a->contrib, (size_t)cap * sizeof *np);
        if (!np) return CT_FAIL(CT_ERR_NOMEM, "async decode: contributions");
        a->contrib = np;
        float *nc = realloc(a->coef, (size_t)cap * sizeof *nc);
        if (!nc) return CT_FAIL(CT_ERR_NOMEM, "async decode: contributions");
        a->coef = nc;
        a->cap_contrib = cap;
    }
    a->contrib[a->n_contrib] = p;
    a->coef[a->n_contrib++] = c;
    return CT_OK;
}

void ct_async_destroy(ct_async *a) {
    if (!a) return;
    for (int i = 0; a->slots && i <= a->S; i++) {
        step_slot *s = &a->slots[i];
        ct_peeler_destroy(s->peeler);
        a->be->ops->free(a->be, s->exact);
        a->be->ops->free(a->be, s->est);
        a->be->ops->free(a->be, s->store);
        free(s->msg);
        free(s->msg_loss);
        free(s->estimated);
        free(s->unit_loss);
        free(s->applied);
    }
    a->be->ops->free(a->be, a->tmp);
    a->be->ops->free(a->be, a->resid);
    free(a->slots);
    free(a->contrib);
    free(a->coef);
    free(a->units);
    free(a->from);
    free(a);
}

ct_status ct_async_create(ct_code *code, ct_backend *be, size_t P, int max_staleness, ct_lossy lossy, ct_async **out) {
    *out = NULL;
    if (max_staleness < 0 || max_staleness > 64)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--max-staleness %d: must be between 0 and 64", max_staleness);
    ct_async *a = calloc(1, sizeof *a);
    if (!a) return CT_FAIL(CT_ERR_NOMEM, "async decode: out of memory");
    a->code = code;
    a->be = be;
    a->P = P;
    a->k = ct_code_n_partitions(code);
    a->total = ct_code_total_messages(code);
    a->S = max_staleness;
    a->lossy = lossy;
    ct_status st = CT_OK;
    a->slots = calloc((size_t)a->S + 1, sizeof *a->slots);
    a->units = malloc((size_t)a->k * sizeof(int));
    a->from = malloc((size_t)a->k * sizeof(int));
    if (!a->slots || !a->units || !a->from) st = CT_FAIL(CT_ERR_NOMEM, "async decode: out of memory");
    if (st == CT_OK) st = be->ops->alloc(be, P * sizeof(float), (void **)&a->tmp);
    /* the least-squares residuals, allocated now: a device allocation inside a
     * step would wait (on CUDA) for every worker's throttle, a dead one's forever */
    if (st == CT_OK && lossy == CT_LOSSY_LSQ)
        st = be->ops->alloc(be, (size_t)resid_rows(a) * P * sizeof(float), (void **)&a->resid);
    for (int i = 0; st == CT_OK && i <= a->S; i++) {
        step_slot *s = &a->slots[i];
        s->step = -1;
        st = ct_peeler_create(code, &s->peeler);
        if (st == CT_OK) st = be->ops->alloc(be, (size_t)a->k * P * sizeof(float), (void **)&s->exact);
        if (st == CT_OK) st = be->ops->alloc(be, (size_t)a->k * P * sizeof(float), (void **)&s->est);
        if (st == CT_OK) st = be->ops->alloc(be, (size_t)a->total * P * sizeof(float), (void **)&s->store);
        if (st == CT_OK) {
            s->msg = calloc((size_t)a->total, sizeof *s->msg);
            s->msg_loss = calloc((size_t)a->total, sizeof(float));
            s->estimated = calloc((size_t)a->k, 1);
            s->unit_loss = calloc((size_t)a->k, sizeof(double));
            s->applied = calloc((size_t)a->k, sizeof(int));
            if (!s->msg || !s->msg_loss || !s->estimated || !s->unit_loss || !s->applied)
                st = CT_FAIL(CT_ERR_NOMEM, "async decode: out of memory");
        }
    }
    if (st != CT_OK) {
        ct_async_destroy(a);
        return st;
    }
    *out = a;
    return CT_OK;
}

ct_status ct_async_begin_step(ct_async *a, long step) {
    step_slot *s = &a->slots[step % (a->S + 1)];
    s->step = step; /* evicts step - (S+1): its late codewords are now too stale */
    ct_peeler_reset(s->peeler);
    memset(s->msg, 0, (size_t)a->total * sizeof *s->msg);
    memset(s->estimated, 0, (size_t)a->k);
    memset(s->applied, 0, (size_t)a->k * sizeof(int));
    memset(s->unit_loss, 0, (size_t)a->k * sizeof(double));
    return CT_OK;
}

int ct_async_applied_count(const ct_async *a, long tau, int unit) {
    const step_slot *s = slot_of(a, tau);
    return s && unit >= 0 && unit < a->k ? s->applied[unit] : -1;
}

int ct_async_complete(const ct_async *a, long step) {
    const step_slot *s = slot_of(a, step);
    return s && ct_peeler_recovered_count(s->peeler) == a->k;
}

/* g_u = (y_t - sum_{j != u} E[l,j] g_j) / E[l,u], every other g_j already decoded */
static ct_status solve_unit(ct_async *a, step_slot *s, int u, int slot, double *loss) {
    const int w = ct_code_message_worker(a->code, slot);
    const int l = slot - ct_code_message_index(a->code, w, 0);
    const int d = ct_code_load(a->code, w);
    const int *parts = ct_code_partitions(a->code, w);
    const float *E = ct_code_encoding(a->code, w) + (size_t)l * d;
    const float *G[CT_COMBINE_MAX];
    float coef[CT_COMBINE_MAX];
    int cnt = 0;
    float eu = 0;
    for (int j = 0; j < d; j++)
        if (parts[j] == u) eu = E[j];
    if (eu == 0.0f || d + 1 > CT_COMBINE_MAX)
        return CT_FAIL(CT_ERR_INTERNAL, "async decode: unit %d of slot %d has coefficient 0", u, slot);
    G[cnt] = s->msg[slot];
    coef[cnt++] = 1.0f / eu;
    double lsum = s->msg_loss[slot];
    for (int j = 0; j < d; j++) {
        if (parts[j] == u || E[j] == 0.0f) continue;
        G[cnt] = s->exact + (size_t)parts[j] * a->P;
        coef[cnt++] = -E[j] / eu;
        lsum -= (double)E[j] * s->unit_loss[parts[j]];
    }
    float *dst = s->exact + (size_t)u * a->P;
    CT_TRY(a->be->ops->combine(a->be, 1, cnt, coef, G, a->P, &dst, 0.0f));
    *loss = lsum / eu;
    return CT_OK;
}

ct_status ct_async_arrive(ct_async *a, long tau, int worker, float *const *msgs, const float *msg_loss, int *used) {
    *used = 0;
    step_slot *s = slot_of(a, tau);
    if (!s) return CT_OK; /* older than the staleness bound: dropped */
    *used = 1;
    const int m = ct_code_messages(a->code, worker);
    for (int l = 0; l < m; l++) {
        const int slot = ct_code_message_index(a->code, worker, l);
        if (s->msg[slot]) continue; /* a codeword counts once */
        s->msg[slot] = s->store + (size_t)slot * a->P;
        CT_TRY(a->be->ops->memcpy_d2d(a->be, s->msg[slot], msgs[l], a->P * sizeof(float)));
        s->msg_loss[slot] = msg_loss[l];
        int n_new = 0;
        CT_TRY(ct_peeler_add(s->peeler, slot, a->units, a->from, &n_new));
        for (int r = 0; r < n_new; r++) {
            const int u = a->units[r];
            CT_TRY(solve_unit(a, s, u, a->from[r], &s->unit_loss[u]));
            const float *gu = s->exact + (size_t)u * a->P;
            if (s->estimated[u]) {
                /* the deadline's estimate was applied: apply only the correction */
                CT_TRY(push(a, gu, 1.0f));
                CT_TRY(push(a, s->est + (size_t)u * a->P, -1.0f));
            } else {
                CT_TRY(push(a, gu, 1.0f));
                s->applied[u]++;
            }
        }
    }
    return CT_OK;
}

/* Least-squares estimate of the undecoded units from the arrived codewords that
 * touch them: residual r_t = y_t - sum over decoded units; min-norm solution of
 * A x = r (A: those rows' coefficients on the undecoded units), per coordinate. */
static ct_status estimate_lsq(ct_async *a, step_slot *s, const unsigned char *rec, int n_und, const int *und,
                              int *estimated) {
    *estimated = 0;
    int *rows = malloc((size_t)a->total * sizeof(int));
    int *col_of = malloc((size_t)a->k * sizeof(int));
    if (!rows || !col_of) { free(rows); free(col_of); return CT_FAIL(CT_ERR_NOMEM, "async lsq"); }
    for (int u = 0; u < a->k; u++) col_of[u] = -1;
    for (int c = 0; c < n_und; c++) col_of[und[c]] = c;
    int nr = 0;
    for (int t = 0; t < a->total; t++) {
        if (!s->msg[t]) continue;
        const int w = ct_code_message_worker(a->code, t), l = t - ct_code_message_index(a->code, w, 0);
        const int d = ct_code_load(a->code, w);
        const int *parts = ct_code_partitions(a->code, w);
        const float *E = ct_code_encoding(a->code, w) + (size_t)l * d;
        for (int j = 0; j < d; j++)
            if (!rec[parts[j]] && E[j] != 0.0f) { rows[nr++] = t; break; }
    }
    ct_status st = CT_OK;
    if (nr == 0 || nr > resid_rows(a) || n_und > CT_COMBINE_MAX) goto done; /* nothing to fit (or too large): zero */
    {
        /* pinv(A) through LAPACK's min-norm least squares with the identity as right-hand sides */
        const int ld = nr > n_und ? nr : n_und;
        double *A = calloc((size_t)nr * n_und, sizeof(double)), *B = calloc((size_t)ld * nr, sizeof(double));
        double *sv = malloc((size_t)(nr < n_und ? nr : n_und) * sizeof(double));
        float *pinv = malloc((size_t)n_und * nr * sizeof(float));
        float *resid = a->resid;
        if (!A || !B || !sv || !pinv) st = CT_FAIL(CT_ERR_NOMEM, "async lsq");
        for (int r = 0; st == CT_OK && r < nr; r++) {
            const int t = rows[r], w = ct_code_message_worker(a->code, t), l = t - ct_code_message_index(a->code, w, 0);
            const int d = ct_code_load(a->code, w);
            const int *parts = ct_code_partitions(a->code, w);
            const float *E = ct_code_encoding(a->code, w) + (size_t)l * d;
            const float *G[CT_COMBINE_MAX];
            float cf[CT_COMBINE_MAX];
            int cnt = 0;
            G[cnt] = s->msg[t];
            cf[cnt++] = 1.0f;
            for (int j = 0; j < d && cnt < CT_COMBINE_MAX; j++) {
                if (E[j] == 0.0f) continue;
                if (rec[parts[j]]) { G[cnt] = s->exact + (size_t)parts[j] * a->P; cf[cnt++] = -E[j]; }
                else A[(size_t)col_of[parts[j]] * nr + r] = E[j]; /* column-major nr x n_und */
            }
            float *dst = resid + (size_t)r * a->P;
            st = a->be->ops->combine(a->be, 1, cnt, cf, G, a->P, &dst, 0.0f);
            B[(size_t)r * ld + r] = 1.0;
        }
        lapack_int rank = 0;
        if (st == CT_OK &&
            LAPACKE_dgelsd(LAPACK_COL_MAJOR, nr, n_und, nr, A, nr, B, ld, sv, 1e-6, &rank) != 0)
            st = CT_FAIL(CT_ERR_NUMERIC, "async lsq: LAPACKE_dgelsd failed on a %d x %d system", nr, n_und);
        if (st == CT_OK) {
            const float *R[CT_COMBINE_MAX];
            float *Y[CT_COMBINE_MAX];
            for (int r = 0; r < nr; r++) R[r] = resid + (size_t)r * a->P;
            for (int c = 0; c < n_und; c++) {
                Y[c] = s->est + (size_t)und[c] * a->P;
                for (int r = 0; r < nr; r++) pinv[c * nr + r] = (float)B[(size_t)r * ld + c]; /* X = pinv(A), n_und x nr */
            }
            st = a->be->ops->combine(a->be, n_und, nr, pinv, R, a->P, Y, 0.0f);
            if (st == CT_OK) *estimated = 1;
        }
        if (st == CT_OK) st = a->be->ops->sync(a->be);
        free(A);
        free(B);
        free(sv);
        free(pinv);
    }
done:
    free(rows);
    free(col_of);
    return st;
}

ct_status ct_async_flush(ct_async *a, long step, float *grad, int *empty, double *decoded, double *loss) {
    step_slot *s = slot_of(a, step);
    *decoded = 0;
    *loss = 0;
    if (s) {
        const unsigned char *rec = ct_peeler_recovered(s->peeler);
        int n_rec = 0, n_und = 0;
        int *und = malloc((size_t)a->k * sizeof(int));
        if (!und) return CT_FAIL(CT_ERR_NOMEM, "async flush");
        double lsum = 0;
        for (int u = 0; u < a->k; u++) {
            if (rec[u]) { n_rec++; lsum += s->unit_loss[u]; }
            else und[n_und++] = u;
        }
        *decoded = (double)n_rec / a->k;
        *loss = n_rec ? lsum * a->k / n_rec : 0;
        ct_status st = CT_OK;
        int estimated = 0;
        if (n_und > 0 && a->lossy == CT_LOSSY_LSQ) st = estimate_lsq(a, s, rec, n_und, und, &estimated);
        if (estimated) {
            for (int c = 0; st == CT_OK && c < n_und; c++) {
                s->estimated[und[c]] = 1;
                s->applied[und[c]]++;
                st = push(a, s->est + (size_t)und[c] * a->P, 1.0f);
            }
        } else {
            /* zero estimate (or nothing arrived that touches these units): nothing to
             * apply now; a late decode applies the whole unit */
            for (int c = 0; c < n_und; c++) s->estimated[und[c]] = 0;
        }
        free(und);
        CT_TRY(st);
    }
    *empty = a->n_contrib == 0;
    const ct_backend_ops *o = a->be->ops;
    for (int off = 0; off < a->n_contrib; off += CT_COMBINE_MAX) {
        int chunk = a->n_contrib - off < CT_COMBINE_MAX ? a->n_contrib - off : CT_COMBINE_MAX;
        CT_TRY(o->combine(a->be, 1, chunk, a->coef + off, a->contrib + off, a->P, &grad, off ? 1.0f : 0.0f));
    }
    a->n_contrib = 0;
    return CT_OK;
}
