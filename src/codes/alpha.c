/* Partial-recovery ("alpha fraction") schemes (docs/schemes.md, "Partial
 * recovery"): the subset design that meets the lower bound of bound.c, and the
 * cyclic k = n schemes with m = 1..d messages per worker.
 *
 * Both recover an exact sum over a subset R of the partitions and rescale it by
 * k/|R|, so that the step sees a gradient of the full-batch scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes_bound.h"
#include "codedtrain/rng.h"
#include "codes/code_internal.h"

/* Above this n the recovery of alpha-cyclic is estimated by Monte Carlo. */
#define CT_ALPHA_EXHAUSTIVE_MAX_N 16
/* Random straggler sets when neither the caller nor the spec gives a count. */
#define CT_ALPHA_DEFAULT_TRIALS 1000
#define CT_ALPHA_TOL 1e-9

static double binom(int n, int r) {
    if (r < 0 || r > n) return 0.0;
    if (r > n - r) r = n - r;
    double v = 1.0;
    for (int i = 1; i <= r; i++) v = v * (n - r + i) / i; /* exact in double for n <= ~60 */
    return floor(v + 0.5);
}

/* ======================================================================
 * Weighted interval scheduling on a cycle (the alpha-cyclic decoder).
 * An arc covers start, start+1, ..., start+len-1 (mod n). We pick pairwise
 * disjoint arcs of maximum total length.
 * ====================================================================== */
typedef struct cyc_ws {
    int n, cap, cnt;
    int *start, *len, *id; /* arcs [cap]; id: caller's tag (message slot) */
    int *rel, *next;       /* [cap] start relative to the cut; bucket chain */
    int *head, *best, *arg;/* [n+1] */
    unsigned char *pick;   /* [cap] the best solution */
} cyc_ws;

static void cyc_ws_free(cyc_ws *w) {
    if (!w) return;
    free(w->start); free(w->len); free(w->id); free(w->rel); free(w->next);
    free(w->head); free(w->best); free(w->arg); free(w->pick);
    memset(w, 0, sizeof *w);
}

static ct_status cyc_ws_init(cyc_ws *w, int n, int cap) {
    memset(w, 0, sizeof *w);
    w->n = n;
    w->cap = cap;
    size_t c = (size_t)(cap > 0 ? cap : 1), p = (size_t)n + 1;
    w->start = malloc(c * sizeof(int)); w->len = malloc(c * sizeof(int));
    w->id = malloc(c * sizeof(int)); w->rel = malloc(c * sizeof(int));
    w->next = malloc(c * sizeof(int)); w->pick = malloc(c);
    w->head = malloc(p * sizeof(int)); w->best = malloc(p * sizeof(int));
    w->arg = malloc(p * sizeof(int));
    if (!w->start || !w->len || !w->id || !w->rel || !w->next || !w->pick || !w->head ||
        !w->best || !w->arg) {
        cyc_ws_free(w);
        return CT_FAIL(CT_ERR_NOMEM, "alpha-cyclic: out of memory for the decoder workspace (n = %d)", n);
    }
    return CT_OK;
}

/* Linear DP after cutting the cycle just before position `cut`: arcs that
 * cross the cut are left out. Returns the best coverage; with `mark`, sets pick[]. */
static int cyc_dp(cyc_ws *w, int cut, int mark) {
    int n = w->n;
    for (int p = 0; p <= n; p++) w->head[p] = -1;
    for (int a = 0; a < w->cnt; a++) {
        int r = (w->start[a] - cut + n) % n, end = r + w->len[a];
        w->rel[a] = r;
        if (end > n) continue;
        w->next[a] = w->head[end];
        w->head[end] = a;
    }
    w->best[0] = 0;
    w->arg[0] = -1;
    for (int p = 1; p <= n; p++) {
        w->best[p] = w->best[p - 1];
        w->arg[p] = -1;
        for (int a = w->head[p]; a >= 0; a = w->next[a]) {
            int v = w->best[w->rel[a]] + w->len[a];
            if (v > w->best[p]) w->best[p] = v, w->arg[p] = a;
        }
    }
    if (mark) {
        memset(w->pick, 0, (size_t)w->cnt);
        for (int p = n; p > 0;) {
            int a = w->arg[p];
            if (a < 0) p--;
            else w->pick[a] = 1, p = w->rel[a];
        }
    }
    return w->best[n];
}

/* Max coverage by disjoint arcs; pick[] marks the chosen arcs.
 * Cuts tried: position 0, and the start of every arc containing position 0.
 * Why that suffices: in an optimal solution at most one chosen arc contains 0
 * (they are disjoint); if none does, no chosen arc crosses the cut before 0;
 * otherwise cutting at that arc's start crosses no chosen arc. */
static int cyc_pack(cyc_ws *w) {
    int n = w->n;
    memset(w->pick, 0, (size_t)(w->cnt > 0 ? w->cnt : 1));
    for (int a = 0; a < w->cnt; a++)
        if (w->len[a] >= n) { w->pick[a] = 1; return n; } /* one arc is the whole cycle */
    int best = cyc_dp(w, 0, 0), best_cut = 0;
    for (int a = 0; a < w->cnt; a++) {
        if (!(w->start[a] == 0 || w->start[a] + w->len[a] > n)) continue;
        int v = cyc_dp(w, w->start[a], 0);
        if (v > best) best = v, best_cut = w->start[a];
    }
    cyc_dp(w, best_cut, 1);
    return best;
}

/* Group l of a window of d partitions split into m consecutive groups (sizes
 * differ by at most one, larger first). */
static void cyc_group(int d, int m, int l, int *off, int *len) {
    int q = d / m, rem = d % m;
    *off = l * q + (l < rem ? l : rem);
    *len = q + (l < rem ? 1 : 0);
}

/* Arcs of every arrived worker (all m messages), then pack. */
static int cyc_cover_workers(cyc_ws *w, int d, int m, const unsigned char *straggler) {
    int n = w->n;
    w->cnt = 0;
    for (int i = 0; i < n; i++) {
        if (straggler[i]) continue;
        for (int l = 0; l < m; l++) {
            int off, len;
            cyc_group(d, m, l, &off, &len);
            w->start[w->cnt] = (i + off) % n;
            w->len[w->cnt] = len;
            w->id[w->cnt] = i * m + l;
            w->cnt++;
        }
    }
    return cyc_pack(w);
}

ct_status ct_alpha_cyclic_decode_flags(int n, int d, int m, const unsigned char *arrived,
                                       float *coeffs, unsigned char *recovered, int *n_recovered) {
    if (n < 1 || d < 1 || d > n || m < 1 || m > d)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha-cyclic decode: need 1 <= m <= d <= n (n = %d, d = %d, m = %d)", n, d, m);
    if (!arrived) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha-cyclic decode: arrived is NULL");
    cyc_ws w;
    CT_TRY(cyc_ws_init(&w, n, n * m));
    for (int i = 0; i < n; i++)
        for (int l = 0; l < m; l++) {
            if (!arrived[i * m + l]) continue;
            int off, len;
            cyc_group(d, m, l, &off, &len);
            w.start[w.cnt] = (i + off) % n;
            w.len[w.cnt] = len;
            w.id[w.cnt] = i * m + l;
            w.cnt++;
        }
    int cov = cyc_pack(&w);
    if (coeffs) memset(coeffs, 0, (size_t)n * m * sizeof(float));
    if (recovered) memset(recovered, 0, (size_t)n);
    float scale = cov > 0 ? (float)n / (float)cov : 0.0f;
    for (int a = 0; a < w.cnt; a++) {
        if (!w.pick[a]) continue;
        if (coeffs) coeffs[w.id[a]] = scale;
        if (recovered)
            for (int t = 0; t < w.len[a]; t++) recovered[(w.start[a] + t) % n] = 1;
    }
    if (n_recovered) *n_recovered = cov;
    cyc_ws_free(&w);
    return CT_OK;
}

/* ---- recovery over straggler sets ---- */

static ct_status cyc_check_args(const char *who, int n, int s, int d, int *m, long trials) {
    if (n < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: need n >= 1 workers (n = %d)", who, n);
    if (s < 0 || s >= n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: need 0 <= s < n stragglers (s = %d, n = %d)", who, s, n);
    if (d < 1 || d > n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: need 1 <= d <= n (d = %d, n = %d)", who, d, n);
    if (*m < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: need m >= 0 messages (m = %d)", who, *m);
    if (*m == 0) *m = 1;
    if (*m > d) *m = d;
    if (n > CT_ALPHA_EXHAUSTIVE_MAX_N && s > 0 && trials < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: need trials >= 1 for n = %d > %d (Monte Carlo)", who,
                       n, CT_ALPHA_EXHAUSTIVE_MAX_N);
    return CT_OK;
}

/* Walks the straggler sets of size s (exhaustive up to rotation for small n,
 * else structured + random), tracking worst and mean coverage; stops early
 * once the worst falls below stop_below. */
static ct_status cyc_walk(int n, int s, int d, int m, long trials, uint64_t seed, double stop_below,
                          double *worst_out, double *mean_out) {
    cyc_ws w;
    CT_TRY(cyc_ws_init(&w, n, n * m));
    unsigned char *strag = calloc((size_t)n, 1);
    int *idx = malloc((size_t)(s > 0 ? s : 1) * sizeof(int));
    if (!strag || !idx) {
        free(strag); free(idx); cyc_ws_free(&w);
        return CT_FAIL(CT_ERR_NOMEM, "alpha-cyclic: out of memory (n = %d)", n);
    }
    double worst = 1.0, sum = 0.0;
    long count = 0;
#define CT_ALPHA_VISIT()                                                                          \
    do {                                                                                          \
        double f_ = (double)cyc_cover_workers(&w, d, m, strag) / n;                               \
        if (f_ < worst) worst = f_;                                                               \
        sum += f_;                                                                                \
        count++;                                                                                  \
    } while (0)
    if (s == 0) {
        CT_ALPHA_VISIT();
    } else if (n <= CT_ALPHA_EXHAUSTIVE_MAX_N) {
        /* the scheme is invariant under rotation, and every s-set has a rotation
         * containing worker 0 (each set has exactly s of them), so sets containing
         * 0 give the same worst and the same mean */
        strag[0] = 1;
        for (int t = 0; t < s - 1; t++) idx[t] = 1 + t;
        for (;;) {
            for (int t = 0; t < s - 1; t++) strag[idx[t]] = 1;
            CT_ALPHA_VISIT();
            for (int t = 0; t < s - 1; t++) strag[idx[t]] = 0;
            if (worst < stop_below) break;
            int t = s - 2;
            while (t >= 0 && idx[t] == n - 1 - (s - 2 - t)) t--;
            if (t < 0) break;
            idx[t]++;
            for (int u = t + 1; u < s - 1; u++) idx[u] = idx[u - 1] + 1;
        }
    } else {
        /* structured sets first (contiguous block; evenly spaced) because they are
         * the usual worst cases of a cyclic layout, then uniform random s-sets;
         * worst_set keeps the set with the least coverage seen */
        unsigned char *worst_set = malloc((size_t)n);
        if (!worst_set) {
            free(strag); free(idx); cyc_ws_free(&w);
            return CT_FAIL(CT_ERR_NOMEM, "alpha-cyclic: out of memory (n = %d)", n);
        }
        int least = n + 1;
        ct_rng rng;
        ct_rng_seed(&rng, seed);
        for (long tr = -2; tr < trials && worst >= stop_below; tr++) {
            memset(strag, 0, (size_t)n);
            if (tr == -2) for (int t = 0; t < s; t++) strag[t] = 1;
            else if (tr == -1) for (int t = 0; t < s; t++) strag[(int)((long long)t * n / s)] = 1;
            else /* Floyd's sampling of s distinct workers */
                for (int j = n - s; j < n; j++) {
                    int t = (int)ct_rng_below(&rng, (uint64_t)j + 1);
                    strag[strag[t] ? j : t] = 1;
                }
            int cov = cyc_cover_workers(&w, d, m, strag);
            double f = (double)cov / n;
            if (f < worst) worst = f;
            sum += f;
            count++;
            if (cov < least) least = cov, memcpy(worst_set, strag, (size_t)n);
        }
        /* then an adversarial walk from the worst set found: move one straggler
         * to a random live worker and keep the move unless it recovers more
         * (drifting across plateaus). Random sets rarely hit the structured worst
         * cases of large n; the walk finds lower fractions for the same budget.
         * Its sets are not uniform, so they count for `worst` only, not the mean. */
        memcpy(strag, worst_set, (size_t)n);
        int cur = least;
        for (long tr = 0; tr < trials && worst >= stop_below; tr++) {
            int out_w = (int)ct_rng_below(&rng, (uint64_t)n), in_w = (int)ct_rng_below(&rng, (uint64_t)n);
            if (!strag[out_w] || strag[in_w]) continue;
            strag[out_w] = 0;
            strag[in_w] = 1;
            int cov = cyc_cover_workers(&w, d, m, strag);
            if (cov <= cur) {
                cur = cov;
                if ((double)cov / n < worst) worst = (double)cov / n;
            } else {
                strag[out_w] = 1;
                strag[in_w] = 0;
            }
        }
        free(worst_set);
    }
#undef CT_ALPHA_VISIT
    if (worst_out) *worst_out = worst;
    if (mean_out) *mean_out = count ? sum / count : 0.0;
    free(strag);
    free(idx);
    cyc_ws_free(&w);
    return CT_OK;
}

ct_status ct_alpha_cyclic_recovery(int n, int s, int d, int m, long trials, uint64_t seed,
                                   double *worst, double *mean) {
    CT_TRY(cyc_check_args("alpha-cyclic recovery", n, s, d, &m, trials));
    return cyc_walk(n, s, d, m, trials, seed, -1.0, worst, mean);
}

ct_status ct_alpha_cyclic_reaches(int n, int s, int d, int m, double alpha, long trials,
                                  uint64_t seed, int *ok) {
    CT_TRY(cyc_check_args("alpha-cyclic recovery", n, s, d, &m, trials));
    if (!ok) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha-cyclic recovery: ok pointer is NULL");
    double worst = 0.0;
    CT_TRY(cyc_walk(n, s, d, m, trials, seed, alpha - CT_ALPHA_TOL, &worst, NULL));
    *ok = worst >= alpha - CT_ALPHA_TOL;
    return CT_OK;
}

/* ======================================================================
 * Subset design.
 * ====================================================================== */
/* k such that B (total x k doubles, total = load * k) stays under the core limit */
static int subset_max_parts(int r2) {
    double lim = floor(sqrt((double)CT_CODE_MAX_B_ENTRIES / (r2 > 0 ? r2 : 1)));
    return lim > 4096 ? 4096 : (int)lim;
}

ct_status ct_alpha_subset_plan(int n, int s, double alpha, int max_parts,
                               ct_alpha_subset_design *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha-subset: output pointer is NULL");
    ct_alpha_bound b;
    CT_TRY(ct_alpha_bound_solve(n, s, alpha, &b));
    if (max_parts <= 0) max_parts = subset_max_parts(b.r2);
    double beta = 1.0 - alpha;
    double C1 = binom(n, b.r1), C2 = binom(n, b.r2), L1 = binom(s, b.r1), L2 = binom(s, b.r2);
    int have = 0;
    ct_alpha_subset_design best = {0};
    /* candidate (q1 copies of r1-subsets, q2 of r2-subsets) */
#define CT_ALPHA_CONSIDER(Q1, Q2)                                                                 \
    do {                                                                                          \
        double k_ = (Q1)*C1 + (Q2)*C2;                                                            \
        double lost_ = (Q1)*L1 + (Q2)*L2;                                                         \
        if (k_ >= 1 && k_ <= max_parts && lost_ <= beta * k_ + CT_ALPHA_TOL) {                    \
            double load_ = ((Q1)*C1 * b.r1 + (Q2)*C2 * b.r2) / k_;                                \
            if (!have || load_ < best.load - 1e-12 ||                                             \
                (load_ <= best.load + 1e-12 && (int)k_ < best.k)) {                               \
                have = 1;                                                                         \
                best.r1 = b.r1; best.r2 = b.r2; best.q1 = (Q1); best.q2 = (Q2);                   \
                best.k = (int)k_; best.lost_parts = (int)lost_; best.load = load_;                \
            }                                                                                     \
        }                                                                                         \
    } while (0)
    if (b.r1 == b.r2) {
        CT_ALPHA_CONSIDER(1, 0);
    } else {
        CT_ALPHA_CONSIDER(0, 1); /* pure r2 is always feasible */
        /* for each q1, the least q2 keeping lost <= beta k:
         * q2 >= q1 (L1 - beta C1) / (beta C2 - L2), denominator > 0 as p_r2 < beta */
        double ratio = (L1 - beta * C1) / (beta * C2 - L2);
        for (int q1 = 1; q1 * C1 <= max_parts; q1++) {
            double q2f = ceil(q1 * ratio - CT_ALPHA_TOL);
            if (q2f < 0) q2f = 0;
            if (q1 * C1 + q2f * C2 > max_parts) break;
            int q2 = (int)q2f;
            CT_ALPHA_CONSIDER(q1, q2);
            if (q2 > 0 && best.load <= b.load + 1e-12) break; /* met the bound */
        }
    }
#undef CT_ALPHA_CONSIDER
    if (!have) {
        double need = C2; /* mixed optimum: r1 alone loses too much, so every design has an r2 group */
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha-subset: n=%d, s=%d, alpha=%g needs at least %.0f partitions "
                       "(one per %d-subset of workers), over the limit of %d",
                       n, s, alpha, need, b.r2, max_parts);
    }
    best.d = (int)(best.q1 * binom(n - 1, best.r1 - 1) + best.q2 * binom(n - 1, best.r2 - 1));
    best.alpha = 1.0 - (double)best.lost_parts / best.k;
    *out = best;
    return CT_OK;
}

/* private state of a built alpha-subset code: the message slots that carry
 * each partition */
typedef struct alpha_subset_data {
    int *hold_off;  /* [k+1] */
    int *hold_slot; /* [total] */
} alpha_subset_data;

static void alpha_subset_free(void *p) {
    alpha_subset_data *a = p;
    if (!a) return;
    free(a->hold_off);
    free(a->hold_slot);
    free(a);
}

ct_status ct_code_build_alpha_subset(ct_code *c) {
    int n = c->n, s = c->s;
    double alpha = c->spec.alpha;
    if (!(alpha > 0.0 && alpha <= 1.0))
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha-subset: alpha=%g must be set in (0, 1] (the design is derived from it)",
                       alpha);
    ct_alpha_subset_design D;
    CT_TRY(ct_alpha_subset_plan(n, s, alpha, 0, &D));
    if (c->spec.load != 0 && c->spec.load != D.d)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha-subset: load d=%d given, but n=%d, s=%d, alpha=%g give d=%d "
                       "(leave d unset: the design derives it)",
                       c->spec.load, n, s, alpha, D.d);
    if (c->spec.messages != 0 && c->spec.messages != D.d)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha-subset: messages m=%d given, but the design sends every partition "
                       "separately (m = d = %d); leave m unset",
                       c->spec.messages, D.d);
    CT_TRY(ct_code_layout_uniform(c, D.k, D.d, D.d));

    /* partitions: q1 copies per r1-subset, then q2 per r2-subset, subsets in
     * lexicographic order; each goes to every worker of its subset */
    int *fill = calloc((size_t)n, sizeof(int));
    int *comb = malloc((size_t)n * sizeof(int));
    if (!fill || !comb) {
        free(fill); free(comb);
        return CT_FAIL(CT_ERR_NOMEM, "alpha-subset: out of memory (n = %d)", n);
    }
    int part = 0;
    for (int pass = 0; pass < 2; pass++) {
        int r = pass == 0 ? D.r1 : D.r2, q = pass == 0 ? D.q1 : D.q2;
        if (q == 0) continue;
        for (int t = 0; t < r; t++) comb[t] = t;
        for (;;) {
            for (int copy = 0; copy < q; copy++, part++)
                for (int t = 0; t < r; t++) {
                    int i = comb[t];
                    if (fill[i] >= D.d) { /* cannot happen if d was counted right */
                        free(fill); free(comb);
                        return CT_FAIL(CT_ERR_INTERNAL, "alpha-subset: worker %d over its load %d", i, D.d);
                    }
                    CT_PARTS(c, i)[fill[i]++] = part;
                }
            int t = r - 1;
            while (t >= 0 && comb[t] == n - r + t) t--;
            if (t < 0) break;
            comb[t]++;
            for (int u = t + 1; u < r; u++) comb[u] = comb[u - 1] + 1;
        }
    }
    free(comb);
    int bad = part != D.k;
    for (int i = 0; i < n; i++) bad |= fill[i] != D.d;
    free(fill);
    if (bad) return CT_FAIL(CT_ERR_INTERNAL, "alpha-subset: layout count mismatch (k = %d)", D.k);
    for (int i = 0; i < n; i++) { /* m = d: message j is partition j alone */
        float *E = CT_ENC(c, i);
        for (int j = 0; j < D.d; j++) E[(size_t)j * D.d + j] = 1.0f;
    }

    alpha_subset_data *a = calloc(1, sizeof *a);
    if (!a) return CT_FAIL(CT_ERR_NOMEM, "alpha-subset: out of memory");
    c->scheme_data = a;
    c->scheme_free = alpha_subset_free;
    a->hold_off = calloc((size_t)D.k + 1, sizeof(int));
    a->hold_slot = malloc((size_t)(c->total > 0 ? c->total : 1) * sizeof(int));
    if (!a->hold_off || !a->hold_slot) return CT_FAIL(CT_ERR_NOMEM, "alpha-subset: out of memory (k = %d)", D.k);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D.d; j++) a->hold_off[CT_PARTS(c, i)[j] + 1]++;
    for (int p = 0; p < D.k; p++) a->hold_off[p + 1] += a->hold_off[p];
    int *pos = malloc((size_t)D.k * sizeof(int));
    if (!pos) return CT_FAIL(CT_ERR_NOMEM, "alpha-subset: out of memory (k = %d)", D.k);
    memcpy(pos, a->hold_off, (size_t)D.k * sizeof(int));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D.d; j++) a->hold_slot[pos[CT_PARTS(c, i)[j]]++] = c->msg_off[i] + j;
    free(pos);

    c->spec.load = D.d;
    c->spec.messages = D.d;
    c->spec.alpha = D.alpha; /* what is guaranteed: >= the requested alpha */
    c->exact = D.lost_parts == 0;
    c->bound_kind = c->exact ? CT_BOUND_EXACT : CT_BOUND_NONE;
    c->decode = ct_code_decode_alpha_subset;
    return CT_OK;
}

ct_status ct_code_decode_alpha_subset(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    const alpha_subset_data *a = c->scheme_data;
    if (!a) return CT_FAIL(CT_ERR_INTERNAL, "alpha-subset: decode on a code without its design");
    int k = c->k, got = 0;
    /* any one arrived copy of a partition carries it exactly; take the first */
    for (int p = 0; p < k; p++) {
        out->recovered[p] = 0;
        for (int h = a->hold_off[p]; h < a->hold_off[p + 1]; h++)
            if (ct_mask_test(arrived, a->hold_slot[h])) {
                out->recovered[p] = 1;
                out->coeffs[a->hold_slot[h]] = 1.0; /* rescaled below */
                got++;
                break;
            }
    }
    double scale = got > 0 ? (double)k / got : 0.0;
    for (int t = 0; t < c->total; t++)
        if (out->coeffs[t] != 0.0) out->coeffs[t] = scale;
    out->has_recovered = 1;
    out->status = got == k ? CT_DECODE_EXACT : got > 0 ? CT_DECODE_APPROX : CT_DECODE_NONE;
    return CT_OK;
}

/* ======================================================================
 * Cyclic k = n schemes.
 * ====================================================================== */
typedef struct alpha_cyclic_data {
    int d, m;
    cyc_ws ws; /* decoder scratch: one master thread decodes (codes.h) */
} alpha_cyclic_data;

static void alpha_cyclic_free(void *p) {
    alpha_cyclic_data *a = p;
    if (!a) return;
    cyc_ws_free(&a->ws);
    free(a);
}

ct_status ct_code_build_alpha_cyclic(ct_code *c) {
    int n = c->n, s = c->s, d = c->spec.load, m = c->spec.messages;
    double alpha = c->spec.alpha;
    long trials = CT_ALPHA_DEFAULT_TRIALS;
    if (m < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha-cyclic: messages m=%d must be >= 0", m);
    if (m == 0) m = 1; /* one sum per worker: the low-communication end */
    if (alpha < 0.0 || alpha > 1.0 || alpha != alpha)
        return CT_FAIL(CT_ERR_INVALID_ARG, "alpha-cyclic: alpha=%g must be in (0, 1] (or 0 = unset)", alpha);
    if (d == 0) {
        if (alpha > 0.0) { /* the least window that reaches alpha with these m */
            ct_alpha_bound b;
            CT_TRY(ct_alpha_bound_solve(n, s, alpha, &b));
            int lo = (int)ceil(b.load - CT_ALPHA_TOL);
            if (lo < m) lo = m;
            for (int cand = lo; cand <= n && d == 0; cand++) {
                int ok = 0;
                CT_TRY(ct_alpha_cyclic_reaches(n, s, cand, m, alpha, trials, c->spec.seed, &ok));
                if (ok) d = cand;
            }
            if (d == 0)
                return CT_FAIL(CT_ERR_INVALID_ARG,
                               "alpha-cyclic: no load d <= n=%d reaches alpha=%g with m=%d and s=%d", n,
                               alpha, m, s);
        } else {
            d = s + 1 > m ? s + 1 : m;
            if (d > n) d = n;
        }
    }
    if (d < 1 || d > n) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha-cyclic: load d=%d must be in 1..n=%d", d, n);
    if (m > d) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha-cyclic: messages m=%d must be <= load d=%d", m, d);
    double worst = 0.0;
    CT_TRY(ct_alpha_cyclic_recovery(n, s, d, m, trials, c->spec.seed, &worst, NULL));
    if (alpha > 0.0 && worst < alpha - CT_ALPHA_TOL)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha-cyclic: d=%d, m=%d recovers only %.4f < alpha=%g of the partitions on "
                       "the worst set of s=%d stragglers (raise d or m, or leave d unset)",
                       d, m, worst, alpha, s);

    CT_TRY(ct_code_layout_uniform(c, n, d, m));
    for (int i = 0; i < n; i++) {
        int *P = CT_PARTS(c, i);
        for (int t = 0; t < d; t++) P[t] = (i + t) % n;
        float *E = CT_ENC(c, i);
        for (int l = 0; l < m; l++) {
            int off, len;
            cyc_group(d, m, l, &off, &len);
            for (int t = off; t < off + len; t++) E[(size_t)l * d + t] = 1.0f;
        }
    }
    alpha_cyclic_data *a = calloc(1, sizeof *a);
    if (!a) return CT_FAIL(CT_ERR_NOMEM, "alpha-cyclic: out of memory");
    c->scheme_data = a;
    c->scheme_free = alpha_cyclic_free;
    a->d = d;
    a->m = m;
    CT_TRY(cyc_ws_init(&a->ws, n, n * m));

    c->spec.load = d;
    c->spec.messages = m;
    c->spec.alpha = worst; /* guaranteed (an estimate from above when n > 16) */
    /* exact for every <= s set: proven when every partition has s+1 separate
     * copies, or one worker's window is everything; else measured (n <= 16) */
    c->exact = (m == d && d >= s + 1) || d == n ||
               (n <= CT_ALPHA_EXHAUSTIVE_MAX_N && worst >= 1.0 - CT_ALPHA_TOL);
    c->bound_kind = c->exact ? CT_BOUND_EXACT : CT_BOUND_NONE;
    c->decode = ct_code_decode_alpha_cyclic;
    return CT_OK;
}

ct_status ct_code_decode_alpha_cyclic(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    alpha_cyclic_data *a = c->scheme_data;
    if (!a) return CT_FAIL(CT_ERR_INTERNAL, "alpha-cyclic: decode on a code without its state");
    int n = c->n, d = a->d, m = a->m;
    cyc_ws *w = &a->ws;
    w->cnt = 0;
    for (int i = 0; i < n; i++)
        for (int l = 0; l < m; l++) {
            int slot = c->msg_off[i] + l;
            if (!ct_mask_test(arrived, slot)) continue;
            int off, len;
            cyc_group(d, m, l, &off, &len);
            w->start[w->cnt] = (i + off) % n;
            w->len[w->cnt] = len;
            w->id[w->cnt] = slot;
            w->cnt++;
        }
    int cov = cyc_pack(w);
    double scale = cov > 0 ? (double)n / cov : 0.0;
    for (int p = 0; p < n; p++) out->recovered[p] = 0;
    for (int t = 0; t < w->cnt; t++) {
        if (!w->pick[t]) continue;
        out->coeffs[w->id[t]] = scale;
        for (int u = 0; u < w->len[t]; u++) out->recovered[(w->start[t] + u) % n] = 1;
    }
    out->has_recovered = 1;
    out->status = cov == n ? CT_DECODE_EXACT : cov > 0 ? CT_DECODE_APPROX : CT_DECODE_NONE;
    return CT_OK;
}
