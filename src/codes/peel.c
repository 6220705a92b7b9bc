/* Peeling decoder: any arrived message with exactly one undecoded partition
 * yields that partition; repeat until stuck. Works on any code's rows (it is
 * meant for ldgm) and runs incrementally, so an asynchronous master can apply
 * each partition gradient the moment it becomes decodable. */
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

struct ct_peeler {
    const ct_code *c;
    unsigned char *rec;      /* [k] decoded partitions */
    int nrec;
    unsigned char *arrived;  /* [total] */
    int *cnt;                /* [total] undecoded partitions per arrived row */
    int *col_off, *col_len;  /* [k+1], [k]: arrived rows touching each partition */
    int *col_rows;
    int *queue;              /* [total] rows with one undecoded partition */
    int *order_unit, *order_slot; /* [k] decode order */
};

void ct_peeler_destroy(ct_peeler *p) {
    if (!p) return;
    free(p->rec); free(p->arrived); free(p->cnt); free(p->col_off); free(p->col_len);
    free(p->col_rows); free(p->queue); free(p->order_unit); free(p->order_slot);
    free(p);
}

/* row t's partitions with a nonzero coefficient: callback-free iteration */
#define CT_ROW_FOR(c, t, jvar, body)                                                             \
    do {                                                                                         \
        int w_ = (c)->slot_worker[t], l_ = (t) - (c)->msg_off[w_], d_ = (c)->load[w_];           \
        const int *p_ = (c)->parts + (c)->part_off[w_];                                          \
        const float *e_ = (c)->enc + (c)->enc_off[w_] + (size_t)l_ * d_;                         \
        for (int q_ = 0; q_ < d_; q_++) {                                                        \
            if (e_[q_] == 0.0f) continue;                                                        \
            int jvar = p_[q_];                                                                   \
            body                                                                                 \
        }                                                                                        \
    } while (0)

ct_status ct_peeler_create(const ct_code *c, ct_peeler **out) {
    if (!c || !out) return CT_FAIL(CT_ERR_INVALID_ARG, "peeler: code and out must be non-NULL");
    *out = NULL;
    ct_peeler *p = calloc(1, sizeof *p);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "peeler: out of memory");
    p->c = c;
    int k = c->k, T = c->total;
    p->rec = calloc((size_t)k, 1);
    p->arrived = calloc((size_t)T, 1);
    p->cnt = calloc((size_t)T, sizeof(int));
    p->col_off = calloc((size_t)k + 1, sizeof(int));
    p->col_len = calloc((size_t)k, sizeof(int));
    p->queue = malloc((size_t)T * sizeof(int));
    p->order_unit = malloc((size_t)k * sizeof(int));
    p->order_slot = malloc((size_t)k * sizeof(int));
    if (!p->rec || !p->arrived || !p->cnt || !p->col_off || !p->col_len || !p->queue || !p->order_unit ||
        !p->order_slot) {
        ct_peeler_destroy(p);
        return CT_FAIL(CT_ERR_NOMEM, "peeler: out of memory");
    }
    for (int t = 0; t < T; t++) CT_ROW_FOR(c, t, j, { p->col_off[j + 1]++; });
    for (int j = 0; j < k; j++) p->col_off[j + 1] += p->col_off[j];
    p->col_rows = malloc((size_t)(p->col_off[k] ? p->col_off[k] : 1) * sizeof(int));
    if (!p->col_rows) { ct_peeler_destroy(p); return CT_FAIL(CT_ERR_NOMEM, "peeler: out of memory"); }
    *out = p;
    return CT_OK;
}

void ct_peeler_reset(ct_peeler *p) {
    if (!p) return;
    memset(p->rec, 0, (size_t)p->c->k);
    memset(p->arrived, 0, (size_t)p->c->total);
    memset(p->col_len, 0, (size_t)p->c->k * sizeof(int));
    p->nrec = 0;
}

int ct_peeler_recovered_count(const ct_peeler *p) { return p ? p->nrec : 0; }
const unsigned char *ct_peeler_recovered(const ct_peeler *p) { return p ? p->rec : NULL; }

ct_status ct_peeler_add(ct_peeler *p, int slot, int *units, int *from_slot, int *n_new) {
    if (!p || !n_new) return CT_FAIL(CT_ERR_INVALID_ARG, "peeler_add: peeler and n_new must be non-NULL");
    const ct_code *c = p->c;
    *n_new = 0;
    if (slot < 0 || slot >= c->total)
        return CT_FAIL(CT_ERR_INVALID_ARG, "peeler_add: slot=%d must be in [0, %d)", slot, c->total);
    if (p->arrived[slot]) return CT_OK;
    p->arrived[slot] = 1;
    int cnt = 0;
    CT_ROW_FOR(c, slot, j, {
        if (!p->rec[j]) { cnt++; p->col_rows[p->col_off[j] + p->col_len[j]++] = slot; }
    });
    p->cnt[slot] = cnt;
    if (cnt != 1) return CT_OK;
    int head = 0, tail = 0;
    p->queue[tail++] = slot;
    while (head < tail) {
        int r = p->queue[head++];
        if (p->cnt[r] != 1) continue;
        int u = -1;
        CT_ROW_FOR(c, r, j, { if (!p->rec[j]) u = j; });
        if (u < 0) continue;
        p->rec[u] = 1;
        p->order_unit[p->nrec] = u;
        p->order_slot[p->nrec] = r;
        p->nrec++;
        if (units) units[*n_new] = u;
        if (from_slot) from_slot[*n_new] = r;
        (*n_new)++;
        for (int q = 0; q < p->col_len[u]; q++) {
            int row = p->col_rows[p->col_off[u] + q];
            if (--p->cnt[row] == 1) p->queue[tail++] = row; /* each row enters once: its count hits 1 once */
        }
    }
    return CT_OK;
}

ct_status ct_code_peel(const ct_code *c, const uint64_t *arrived, unsigned char *flags, double *coeffs) {
    ct_peeler *p;
    CT_TRY(ct_peeler_create(c, &p));
    ct_status st = CT_OK;
    int dummy;
    for (int t = 0; t < c->total && st == CT_OK; t++)
        if (ct_mask_test(arrived, t)) st = ct_peeler_add(p, t, NULL, NULL, &dummy);
    if (st != CT_OK) { ct_peeler_destroy(p); return st; }
    memcpy(flags, p->rec, (size_t)c->k);
    if (coeffs) {
        /* a with a^T B_F = 1_recovered, by back-substitution in reverse decode
         * order: unit u from row r is (y_r - sum_{j != u} B[r,j] g_j) / B[r,u],
         * and every such j was decoded before u, so its weight is final later */
        double *wt = calloc((size_t)c->k, sizeof(double));
        if (!wt) { ct_peeler_destroy(p); return CT_FAIL(CT_ERR_NOMEM, "peel: out of memory"); }
        for (int t = 0; t < c->total; t++) coeffs[t] = 0.0;
        for (int j = 0; j < c->k; j++) wt[j] = p->rec[j] ? 1.0 : 0.0;
        for (int q = p->nrec - 1; q >= 0; q--) {
            int u = p->order_unit[q], r = p->order_slot[q];
            const double *row = c->B + (size_t)r * c->k;
            double g = wt[u] / row[u];
            coeffs[r] += g;
            CT_ROW_FOR(c, r, j, { if (j != u) wt[j] -= g * row[j]; });
        }
        free(wt);
    }
    ct_peeler_destroy(p);
    return CT_OK;
}
