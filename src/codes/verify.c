/* The measured label of an exact code (docs/schemes.md, "Measured labels"): a
 * code is called exact for its (n, s) only when every straggler set of size
 * <= s that was tested decodes to max_j |a^T B_F - 1| <= CT_CODE_EXACT_LOOSE_TOL
 * with the runtime's decoder and float32 coefficients. Every set when they
 * are few; otherwise, in this order and within the budget: contiguous runs
 * of s stragglers (the hard cases for cyclic supports), a hill climb from the
 * worst set found towards worse conditioning, then uniformly random sets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

typedef struct ct_verify_state {
    ct_code *c;
    ct_code_verify_report *rep;
    uint64_t *mask;
    unsigned char *strag;
    long budget;
    int *worst;      /* the worst set so far (by residual, then condition) */
    int worst_size;
    double worst_score;
} ct_verify_state;

/* Decode with exactly the workers in set[0..K) missing; returns its score. */
static ct_status ct_verify_one(ct_verify_state *v, const int *set, int K, double *score) {
    ct_code *c = v->c;
    memset(v->strag, 0, (size_t)c->n);
    for (int t = 0; t < K; t++) v->strag[set[t]] = 1;
    memset(v->mask, 0, (size_t)c->mask_words * sizeof(uint64_t));
    for (int i = 0; i < c->n; i++)
        if (!v->strag[i]) CT_TRY(ct_code_mask_add_worker(c, i, v->mask));
    ct_decode_result res;
    CT_TRY(ct_code_decode(c, v->mask, &res));
    ct_code_verify_report *r = v->rep;
    r->sets_tested++;
    v->budget--;
    int ok = res.status == CT_DECODE_EXACT && res.residual_max <= r->tolerance;
    if (!ok) r->failures++;
    double rm = isfinite(res.residual_max) ? res.residual_max : INFINITY;
    if (rm > r->worst_residual_max) r->worst_residual_max = rm;
    if (res.condition > r->worst_condition) r->worst_condition = res.condition;
    /* residual first; among clean decodes, the condition number decides */
    double sc = ok ? (res.condition > 0 ? log10(1.0 + res.condition) : 0.0) : 1e3 + (isfinite(rm) ? rm : 1e3);
    if (sc > v->worst_score || v->worst_size < 0) {
        v->worst_score = sc;
        v->worst_size = K;
        memcpy(v->worst, set, (size_t)K * sizeof(int));
        r->worst_set_size = K;
        for (int t = 0; t < K && t < CT_VERIFY_SHOW; t++) r->worst_set[t] = set[t];
    }
    if (score) *score = sc;
    return CT_OK;
}

static ct_status ct_verify_exhaustive(ct_verify_state *v, int *pick) {
    int n = v->c->n;
    for (int K = 0; K <= v->c->s; K++) {
        for (int t = 0; t < K; t++) pick[t] = t;
        for (;;) {
            CT_TRY(ct_verify_one(v, pick, K, NULL));
            int t = K - 1;
            while (t >= 0 && pick[t] == n - K + t) t--;
            if (t < 0) break;
            pick[t]++;
            for (int u = t + 1; u < K; u++) pick[u] = pick[u - 1] + 1;
        }
    }
    return CT_OK;
}

/* Contiguous runs {i, ..., i+K-1} mod n, K = s first; starts evenly spread
 * when the share of the budget does not cover all n. */
static ct_status ct_verify_runs(ct_verify_state *v, int *set, long share) {
    int n = v->c->n, s = v->c->s;
    for (int K = s; K >= 1 && share > 0 && v->budget > 0; K--) {
        long starts = share < n ? share : n;
        for (long q = 0; q < starts && v->budget > 0; q++) {
            int i = (int)((q * (long)n) / starts);
            for (int t = 0; t < K; t++) set[t] = (i + t) % n;
            CT_TRY(ct_verify_one(v, set, K, NULL));
            v->rep->adversarial_sets++;
            share--;
        }
    }
    return CT_OK;
}

/* Hill climb: move one straggler of the worst set to another worker (a
 * neighbour of the run or anyone), keep the move when it scores worse. */
static ct_status ct_verify_climb(ct_verify_state *v, ct_rng *rng, int *set, long share) {
    int n = v->c->n, K = v->worst_size;
    if (K <= 0 || K >= n) return CT_OK;
    double cur = v->worst_score;
    int *cand = set;
    int *base = malloc((size_t)K * sizeof(int));
    if (!base) return CT_FAIL(CT_ERR_NOMEM, "verify: out of memory");
    memcpy(base, v->worst, (size_t)K * sizeof(int));
    for (; share > 0 && v->budget > 0; share--) {
        memcpy(cand, base, (size_t)K * sizeof(int));
        int t = (int)ct_rng_below(rng, (uint64_t)K), w;
        int near = ct_rng_below(rng, 2) == 0;
        for (int tries = 0;; tries++) {
            w = near ? (cand[t] + n + (ct_rng_below(rng, 2) ? 1 : -1)) % n : (int)ct_rng_below(rng, (uint64_t)n);
            int dup = 0;
            for (int u = 0; u < K; u++) dup |= cand[u] == w;
            if (!dup) break;
            if (tries > 8) near = 0;
        }
        cand[t] = w;
        double sc;
        CT_TRY(ct_verify_one(v, cand, K, &sc));
        v->rep->adversarial_sets++;
        if (sc > cur) { cur = sc; memcpy(base, cand, (size_t)K * sizeof(int)); }
    }
    free(base);
    return CT_OK;
}

static ct_status ct_verify_random(ct_verify_state *v, ct_rng *rng, int *set, int *perm) {
    int n = v->c->n, s = v->c->s;
    while (v->budget > 0) {
        /* mostly s stragglers (the hardest size), sometimes fewer */
        int K = ct_rng_below(rng, 4) ? s : 1 + (int)ct_rng_below(rng, (uint64_t)s);
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int t = 0; t < K; t++) {
            int u = t + (int)ct_rng_below(rng, (uint64_t)(n - t));
            int tmp = perm[t]; perm[t] = perm[u]; perm[u] = tmp;
            set[t] = perm[t];
        }
        CT_TRY(ct_verify_one(v, set, K, NULL));
        v->rep->random_sets++;
    }
    return CT_OK;
}

double ct_code_verify_total_sets(int n, int s) {
    double total = 0.0;
    for (int K = 0; K <= s && total < 1e18; K++) total += ct_binomial(n, K);
    return total;
}

ct_status ct_code_verify(ct_code *c, long max_sets, uint64_t seed, ct_code_verify_report *rep) {
    if (!c || !rep) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_code_verify: code and report must be non-NULL");
    if (max_sets < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_code_verify: max_sets=%ld must be >= 1", max_sets);
    memset(rep, 0, sizeof *rep);
    rep->tolerance = CT_CODE_EXACT_LOOSE_TOL;
    rep->total_sets = ct_code_verify_total_sets(c->n, c->s);
    rep->worst_set_size = 0;
    if (!c->exact) return CT_OK; /* approximate by design: nothing to verify */
    uint64_t hits = c->cache_hits, misses = c->cache_misses;
    ct_verify_state v = {c, rep, NULL, NULL, max_sets, NULL, -1, -INFINITY};
    int n = c->n;
    v.mask = malloc((size_t)c->mask_words * sizeof(uint64_t));
    v.strag = malloc((size_t)n);
    v.worst = malloc((size_t)n * sizeof(int));
    int *set = malloc((size_t)n * sizeof(int)), *perm = malloc((size_t)n * sizeof(int));
    ct_status st = CT_OK;
    if (!v.mask || !v.strag || !v.worst || !set || !perm) st = CT_FAIL(CT_ERR_NOMEM, "verify: out of memory (n=%d)", n);
    ct_rng rng;
    ct_rng_seed(&rng, seed ^ 0x7e51f1edull);
    if (st == CT_OK && rep->total_sets <= (double)max_sets) {
        rep->exhaustive = 1;
        st = ct_verify_exhaustive(&v, set);
    } else if (st == CT_OK) {
        st = ct_verify_one(&v, set, 0, NULL); /* nobody missing */
        if (st == CT_OK) st = ct_verify_runs(&v, set, v.budget / 2);
        if (st == CT_OK) st = ct_verify_climb(&v, &rng, set, v.budget / 2);
        if (st == CT_OK) st = ct_verify_random(&v, &rng, set, perm);
    }
    rep->verified_exact = st == CT_OK && rep->failures == 0;
    /* the table's and the runtime's decodes start from a cold cache, as before */
    ct_code_cache_clear(c);
    c->cache_hits = hits;
    c->cache_misses = misses;
    free(v.mask); free(v.strag); free(v.worst); free(set); free(perm);
    return st;
}
