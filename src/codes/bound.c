/* The partial-recovery lower bound (docs/schemes.md, "Partial recovery"):
 * a two-constraint LP over the storage profile w_r, solved exactly.
 *
 * Why the optimum mixes two consecutive r: with p_r = C(s,r)/C(n,r),
 * p_{r+1} = p_r (s-r)/(n-r), so the decrements D_r = p_r - p_{r+1}
 * = p_r (n-s)/(n-r) satisfy D_{r+1}/D_r = (s-r)/(n-r-1) <= 1 (s <= n-1): the
 * points (r, p_r) form a decreasing convex sequence (flat at 0 for r > s). The
 * LP minimises E[r] subject to E[p_r] <= 1 - alpha over distributions on r, whose
 * optimum lies on the lower convex hull of those points: the segment between the
 * two consecutive r whose p_r bracket 1 - alpha. ct_alpha_bound_solve_vertices
 * checks this against plain vertex enumeration. */
#include "codedtrain/codes_bound.h"
#include "codedtrain/codes.h"

#include <math.h>

/* |x - y| below this counts as equal: alpha arrives as a double (1 - s/n is not
 * exact), and we do not want a rounding error to flip the chosen vertex. */
#define CT_BOUND_TOL 1e-12

double ct_alpha_loss_prob(int n, int s, int r) {
    if (n < 1 || s < 0 || s > n || r < 0 || r > n) return 0.0;
    if (r > s) return 0.0;
    /* product form: no large binomials, exact enough for n in the thousands */
    double p = 1.0;
    for (int i = 0; i < r; i++) p *= (double)(s - i) / (double)(n - i);
    return p;
}

static ct_status check_args(int n, int s, double alpha, const ct_alpha_bound *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha bound: output pointer is NULL");
    if (n < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha bound: need n >= 1 workers (n = %d)", n);
    if (s < 0 || s >= n)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha bound: need 0 <= s < n stragglers (s = %d, n = %d)", s, n);
    if (!(alpha > 0.0 && alpha <= 1.0)) /* also rejects NaN */
        return CT_FAIL(CT_ERR_INVALID_ARG, "alpha bound: need alpha in (0, 1] (alpha = %g)", alpha);
    return CT_OK;
}

static void set_pure(ct_alpha_bound *out, int n, int s, int r) {
    out->load = r;
    out->r1 = out->r2 = r;
    out->w1 = 1.0;
    out->w2 = 0.0;
    out->lost = ct_alpha_loss_prob(n, s, r);
}

/* mix of r1 < r2 with the loss constraint tight: (1-t) p1 + t p2 = budget */
static void set_mix(ct_alpha_bound *out, int n, int s, int r1, int r2, double budget) {
    double p1 = ct_alpha_loss_prob(n, s, r1), p2 = ct_alpha_loss_prob(n, s, r2);
    double t = (p1 - budget) / (p1 - p2);
    out->r1 = r1;
    out->r2 = r2;
    out->w1 = 1.0 - t;
    out->w2 = t;
    out->load = r1 + t * (r2 - r1);
    out->lost = out->w1 * p1 + out->w2 * p2;
}

ct_status ct_alpha_bound_solve(int n, int s, double alpha, ct_alpha_bound *out) {
    CT_TRY(check_args(n, s, alpha, out));
    double budget = 1.0 - alpha;
    /* p_r is non-increasing and p_{s+1} = 0 <= budget, so the bracket exists */
    for (int r = 1; r <= n; r++) {
        double p = ct_alpha_loss_prob(n, s, r);
        if (p <= budget + CT_BOUND_TOL) { /* r alone is feasible */
            if (r == 1 || fabs(p - budget) <= CT_BOUND_TOL) set_pure(out, n, s, r);
            else set_mix(out, n, s, r - 1, r, budget);
            return CT_OK;
        }
    }
    return CT_FAIL(CT_ERR_INTERNAL, "alpha bound: no feasible r for n = %d, s = %d", n, s);
}

ct_status ct_alpha_bound_solve_vertices(int n, int s, double alpha, ct_alpha_bound *out) {
    CT_TRY(check_args(n, s, alpha, out));
    double budget = 1.0 - alpha;
    ct_alpha_bound best = {0};
    int have = 0;
    for (int r1 = 1; r1 <= n; r1++) {
        double p1 = ct_alpha_loss_prob(n, s, r1);
        if (p1 <= budget + CT_BOUND_TOL) { /* one-point vertex */
            ct_alpha_bound c;
            set_pure(&c, n, s, r1);
            if (!have || c.load < best.load - CT_BOUND_TOL) best = c, have = 1;
            continue; /* a pair needs p1 strictly above the budget */
        }
        for (int r2 = r1 + 1; r2 <= n; r2++) {
            double p2 = ct_alpha_loss_prob(n, s, r2);
            if (p2 >= budget - CT_BOUND_TOL) continue; /* the tight mix needs p2 < budget */
            ct_alpha_bound c;
            set_mix(&c, n, s, r1, r2, budget);
            if (!have || c.load < best.load - CT_BOUND_TOL) best = c, have = 1;
        }
    }
    if (!have) return CT_FAIL(CT_ERR_INTERNAL, "alpha bound: LP has no vertex (n = %d, s = %d)", n, s);
    *out = best;
    return CT_OK;
}

const char *ct_alpha_scheme_name(ct_alpha_scheme scheme) {
    switch (scheme) {
    case CT_ALPHA_SCHEME_SUBSET: return "alpha-subset";
    case CT_ALPHA_SCHEME_CYCLIC: return "alpha-cyclic";
    default: return 0;
    }
}

/* ---- smallest load per scheme ---- */

ct_status ct_alpha_min_load(ct_alpha_scheme scheme, int n, int s, double alpha, int m,
                            long trials, uint64_t seed, double *load) {
    if (!load) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha min load: output pointer is NULL");
    ct_alpha_bound b;
    CT_TRY(ct_alpha_bound_solve(n, s, alpha, &b));
    switch (scheme) {
    case CT_ALPHA_SCHEME_SUBSET: {
        /* the equal-size-partition design that ct_code_create builds */
        ct_alpha_subset_design D;
        ct_status st = ct_alpha_subset_plan(n, s, alpha, 0, &D);
        /* (n, s, alpha) were validated above, so a refusal here means the design
         * needs more partitions than a code may have: not buildable, not an error */
        if (st == CT_ERR_INVALID_ARG) { *load = -1.0; return CT_OK; }
        CT_TRY(st);
        *load = D.load;
        return CT_OK;
    }
    case CT_ALPHA_SCHEME_CYCLIC: {
        if (m < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha min load: messages m=%d must be >= 0", m);
        /* no scheme beats the bound, so start the search at its ceiling; the
         * disjoint-window decoder is not monotone in d (5 workers: d = 2 packs
         * two windows, d = 3 only one), hence a linear scan, not a bisection */
        int lo = (int)ceil(b.load - 1e-9);
        if (lo < 1) lo = 1;
        for (int d = lo; d <= n; d++) {
            int ok = 0;
            CT_TRY(ct_alpha_cyclic_reaches(n, s, d, m, alpha, trials, seed, &ok));
            if (ok) { *load = d; return CT_OK; }
        }
        *load = -1.0;
        return CT_OK;
    }
    default:
        return CT_FAIL(CT_ERR_INVALID_ARG, "alpha min load: scheme %d is not a partial-recovery scheme",
                       (int)scheme);
    }
}

ct_status ct_code_alpha_lower_bound(int n, int s, double alpha, double *load_out) {
    if (!load_out) return CT_FAIL(CT_ERR_INVALID_ARG, "alpha bound: output pointer is NULL");
    ct_alpha_bound b;
    CT_TRY(ct_alpha_bound_solve(n, s, alpha, &b));
    *load_out = b.load;
    return CT_OK;
}

ct_status ct_code_alpha_min_load(ct_code_scheme scheme, int n, int s, double alpha, int messages,
                                 double *load_out) {
    ct_alpha_scheme a;
    if (scheme == CT_CODE_ALPHA_SUBSET) a = CT_ALPHA_SCHEME_SUBSET;
    else if (scheme == CT_CODE_ALPHA_CYCLIC) a = CT_ALPHA_SCHEME_CYCLIC;
    else
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "alpha min load: scheme '%s' is not alpha-subset or alpha-cyclic",
                       ct_code_scheme_name(scheme));
    return ct_alpha_min_load(a, n, s, alpha, messages, 1000, 1, load_out);
}
