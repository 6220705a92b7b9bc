/* Worker-selection policies and k schedules (see policy.h). */
#include "host/policy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/rng.h"

/* KL-LCB exploration budget log t + c log log t. c = 0 is what Garivier and
 * Cappe recommend in practice (c = 3 is what their proof needs). */
#define CT_KL_LOGLOG_C 0.0
/* auto schedule: a loss plateau is a relative drop below this over half a window */
#define CT_PLATEAU_REL_DROP 0.01
/* cmab-ucb: weight (in observations) of the pooled variance in each worker's variance */
#define CT_UCB_PRIOR_WEIGHT 2.0
/* the exact subset recursion for E[max] up to this many exponentials */
#define CT_EMAX_EXACT_MAX 14

/* ================= k schedule ================= */

typedef enum { KS_FIXED, KS_STEPS, KS_AUTO } ks_kind;

struct ct_kschedule {
    ks_kind kind;
    int n;
    char spec[256];
    /* fixed and steps: k_j from step at_j on */
    int count;
    int *ks;
    long *at;
    /* auto */
    int k, dk, min_steps;
    long since_switch;   /* steps observed since the last switch */
    double dot_sum;      /* Pflug: sum of <g_t, g_{t-1}> since the last switch */
    long dot_count;
    double *loss_ring;   /* the last 2 * half losses */
    int half, ring_pos, ring_fill;
    int switches;
};

static ct_status ks_fail(const char *spec, const char *what) {
    return CT_FAIL(CT_ERR_INVALID_ARG, "--k-schedule '%s': %s", spec, what);
}

/* a whole number in [lo, hi] at *p; advances *p */
static ct_status ks_parse_long(const char *spec, const char **p, long lo, long hi, const char *what, long *out) {
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (end == *p || errno)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--k-schedule '%s': expected %s at '%s'", spec, what, *p);
    if (v < lo || v > hi)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--k-schedule '%s': %s %ld out of range [%ld, %ld]", spec, what, v, lo, hi);
    *p = end;
    *out = v;
    return CT_OK;
}

static ct_status ks_parse(ct_kschedule *s, const char *spec) {
    const int n = s->n;
    const char *p;
    long v;
    if (!strncmp(spec, "fixed:", 6)) {
        p = spec + 6;
        s->kind = KS_FIXED;
        CT_TRY(ks_parse_long(spec, &p, 1, n, "k (1..workers)", &v));
        s->count = 1;
        s->ks = malloc(sizeof *s->ks);
        s->at = malloc(sizeof *s->at);
        if (!s->ks || !s->at) return CT_FAIL(CT_ERR_NOMEM, "--k-schedule: out of memory");
        s->ks[0] = (int)v;
        s->at[0] = 0;
    } else if (!strncmp(spec, "steps:", 6)) {
        s->kind = KS_STEPS;
        int cap = 1;
        for (const char *q = spec; *q; q++) cap += *q == ',';
        s->ks = malloc((size_t)cap * sizeof *s->ks);
        s->at = malloc((size_t)cap * sizeof *s->at);
        if (!s->ks || !s->at) return CT_FAIL(CT_ERR_NOMEM, "--k-schedule: out of memory");
        p = spec + 6;
        for (;;) {
            long k, at;
            CT_TRY(ks_parse_long(spec, &p, 1, n, "k (1..workers)", &k));
            if (*p != '@') return CT_FAIL(CT_ERR_INVALID_ARG, "--k-schedule '%s': expected '@STEP' after k at '%s'", spec, p);
            p++;
            CT_TRY(ks_parse_long(spec, &p, 0, 1L << 52, "a step index", &at));
            if (s->count == 0 && at != 0) return ks_fail(spec, "the first k must start at step 0 (K0@0)");
            if (s->count > 0 && at <= s->at[s->count - 1])
                return CT_FAIL(CT_ERR_INVALID_ARG, "--k-schedule '%s': step %ld does not increase (after %ld)", spec, at,
                               s->at[s->count - 1]);
            s->ks[s->count] = (int)k;
            s->at[s->count] = at;
            s->count++;
            if (*p == ',') { p++; continue; }
            break;
        }
    } else if (!strcmp(spec, "auto") || !strncmp(spec, "auto:", 5)) {
        s->kind = KS_AUTO;
        long k0 = n / 4 > 1 ? n / 4 : 1, dk = k0, min_steps = 100;
        p = spec + 4;
        if (*p == ':') {
            p++;
            CT_TRY(ks_parse_long(spec, &p, 1, n, "K0 (1..workers)", &k0));
            if (*p == ',') {
                p++;
                CT_TRY(ks_parse_long(spec, &p, 1, n, "DK (1..workers)", &dk));
                if (*p == ',') {
                    p++;
                    CT_TRY(ks_parse_long(spec, &p, 2, 1000000, "MIN_STEPS (2..1000000)", &min_steps));
                }
            }
        }
        s->k = (int)k0;
        s->dk = (int)dk;
        s->min_steps = (int)min_steps;
        s->half = (int)min_steps / 2;
        s->loss_ring = malloc((size_t)(2 * s->half) * sizeof *s->loss_ring);
        if (!s->loss_ring) return CT_FAIL(CT_ERR_NOMEM, "--k-schedule: out of memory");
    } else {
        return ks_fail(spec, "expected fixed:K, steps:K0@0,K1@T1,... or auto[:K0[,DK[,MIN_STEPS]]]");
    }
    if (*p) return CT_FAIL(CT_ERR_INVALID_ARG, "--k-schedule '%s': unexpected '%s'", spec, p);
    return CT_OK;
}

ct_status ct_kschedule_create(const char *spec, int n, ct_kschedule **out) {
    *out = NULL;
    if (!spec) spec = "";
    if (n < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "--k-schedule '%s': %d workers", spec, n);
    ct_kschedule *s = calloc(1, sizeof *s);
    if (!s) return CT_FAIL(CT_ERR_NOMEM, "--k-schedule: out of memory");
    s->n = n;
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    ct_status st = ks_parse(s, spec);
    if (st != CT_OK) {
        ct_kschedule_destroy(s);
        return st;
    }
    *out = s;
    return CT_OK;
}

void ct_kschedule_destroy(ct_kschedule *s) {
    if (!s) return;
    free(s->ks);
    free(s->at);
    free(s->loss_ring);
    free(s);
}

const char *ct_kschedule_spec(const ct_kschedule *s) { return s->spec; }
int ct_kschedule_switches(const ct_kschedule *s) { return s->switches; }

int ct_kschedule_k(const ct_kschedule *s, long step) {
    if (s->kind == KS_AUTO) return s->k;
    int k = s->ks[0];
    for (int j = 1; j < s->count && s->at[j] <= step; j++) k = s->ks[j];
    return k;
}

/* mean of ring entries [from, from + len) in arrival order */
static double ring_mean(const ct_kschedule *s, int from, int len) {
    const int size = 2 * s->half;
    double sum = 0;
    for (int j = 0; j < len; j++) sum += s->loss_ring[(s->ring_pos + from + j) % size];
    return sum / len;
}

void ct_kschedule_observe(ct_kschedule *s, long step, double loss, double grad_dot) {
    (void)step;
    if (s->kind != KS_AUTO || s->k >= s->n) return;
    s->since_switch++;
    if (isfinite(grad_dot)) {
        s->dot_sum += grad_dot;
        s->dot_count++;
    }
    if (isfinite(loss)) {
        /* ring_pos is the oldest entry once the ring is full */
        const int size = 2 * s->half;
        if (s->ring_fill < size) s->loss_ring[(s->ring_pos + s->ring_fill++) % size] = loss;
        else { s->loss_ring[s->ring_pos] = loss; s->ring_pos = (s->ring_pos + 1) % size; }
    }
    if (s->since_switch < s->min_steps) return;
    int stationary = 0;
    if (s->dot_count > 0) {
        /* Pflug: successive gradients point apart once SGD bounces around its noise floor */
        stationary = s->dot_sum < 0;
    } else if (s->ring_fill == 2 * s->half && s->since_switch % s->half == 0) {
        /* compared once per half window, not every step: repeated looks at a noisy
         * loss would declare a plateau by chance */
        double older = ring_mean(s, 0, s->half), recent = ring_mean(s, s->half, s->half);
        stationary = recent > older - CT_PLATEAU_REL_DROP * fabs(older);
    }
    if (!stationary) return;
    s->k = s->k + s->dk < s->n ? s->k + s->dk : s->n;
    s->switches++;
    s->since_switch = 0;
    s->dot_sum = 0;
    s->dot_count = 0;
    s->ring_fill = 0;
    s->ring_pos = 0;
}

/* ================= expected max of exponentials ================= */

/* E[max] over subsets by the race recursion: the first of set S finishes after
 * 1/Lambda_S on average, worker i with probability lambda_i/Lambda_S, and the
 * rest is the max of S \ {i}. Every term is positive, so no cancellation. */
static double emax_exact(const double *means, int k) {
    const size_t subsets = (size_t)1 << k;
    double *e = malloc(subsets * sizeof *e);
    if (!e) return NAN;
    e[0] = 0;
    for (size_t mask = 1; mask < subsets; mask++) {
        double rate_sum = 0, acc = 1;
        for (int i = 0; i < k; i++) {
            if (!(mask >> i & 1)) continue;
            double rate = 1.0 / means[i];
            rate_sum += rate;
            acc += rate * e[mask & ~((size_t)1 << i)];
        }
        e[mask] = acc / rate_sum;
    }
    double r = e[subsets - 1];
    free(e);
    return r;
}

/* E[max] = int_0^inf 1 - prod(1 - exp(-t/m_i)) dt, Simpson's rule in s = ln t
 * (the integrand varies on the scale of the smallest mean near 0 and of the
 * largest in the tail; a log grid resolves both). */
static double emax_integral(const double *means, int k) {
    double mmin = INFINITY, mmax = 0;
    for (int i = 0; i < k; i++) {
        if (means[i] < mmin) mmin = means[i];
        if (means[i] > mmax) mmax = means[i];
    }
    const double s0 = log(mmin) - 25.0, s1 = log(mmax * (log((double)k) + 40.0));
    const int intervals = 4000; /* even */
    const double h = (s1 - s0) / intervals;
    double sum = 0;
    for (int j = 0; j <= intervals; j++) {
        double t = exp(s0 + j * h), log_all_done = 0;
        for (int i = 0; i < k; i++) log_all_done += log1p(-exp(-t / means[i]));
        double f = -expm1(log_all_done) * t;
        sum += f * (j == 0 || j == intervals ? 1 : (j % 2 ? 4 : 2));
    }
    return sum * h / 3.0 + exp(s0); /* + the piece below t0 = e^s0, where the integrand is ~1 */
}

double ct_expected_max_exponential(const double *means, int k) {
    if (k <= 0) return 0;
    return k <= CT_EMAX_EXACT_MAX ? emax_exact(means, k) : emax_integral(means, k);
}

/* ================= policies ================= */

struct ct_policy {
    ct_policy_kind kind;
    int n;
    int k_fixed;            /* fastest-k */
    ct_kschedule *sched;    /* adaptive-k, cmab, cmab-ucb */
    ct_rng rng;
    long rounds;            /* bandit selections so far (t in log t) */
    long last_step;
    int last_assigned;
    long tasks;
    /* per worker */
    long *completions;      /* uncensored observations */
    long *trials;           /* observations, censored included */
    double *time_sum;       /* all observed durations, censored included */
    double *done_sum, *done_sq; /* completed durations: sum and sum of squares */
    double all_sum, all_sq; /* every completion of every worker: the pooled variance */
    long all_count;
    double pooled_var;
    double *index;
    double *tiebreak;
    int *order;
    unsigned char *last_set;
    /* regret */
    double *oracle;         /* true means, NULL when unknown */
    double *best_emax;      /* E[max of the j fastest], j = 0..n (NAN until computed) */
    double *scratch;
    double last_set_emax;
    int last_set_valid;
    double regret, step_regret;
};

static const struct { const char *name; ct_policy_kind kind; } policy_names[] = {
    {"all", CT_POLICY_ALL}, {"fastest-k", CT_POLICY_FASTEST_K}, {"adaptive-k", CT_POLICY_ADAPTIVE_K},
    {"cmab", CT_POLICY_CMAB}, {"cmab-ucb", CT_POLICY_CMAB_UCB}};

const char *ct_policy_name(const ct_policy *p) { return policy_names[p->kind].name; }
ct_policy_kind ct_policy_get_kind(const ct_policy *p) { return p->kind; }
int ct_policy_is_bandit(const ct_policy *p) { return p->kind == CT_POLICY_CMAB || p->kind == CT_POLICY_CMAB_UCB; }
long ct_policy_tasks(const ct_policy *p) { return p->tasks; }
double ct_policy_regret(const ct_policy *p) { return p->regret; }
double ct_policy_step_regret(const ct_policy *p) { return p->step_regret; }

ct_status ct_policy_create(const char *name, const char *kschedule, int n, int k_default, uint64_t seed,
                           ct_policy **out) {
    *out = NULL;
    if (!name) name = "all";
    int found = -1;
    for (int i = 0; i < (int)(sizeof policy_names / sizeof policy_names[0]); i++)
        if (!strcmp(name, policy_names[i].name)) found = i;
    if (found < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--policy '%s': expected all, fastest-k, adaptive-k, cmab or cmab-ucb", name);
    if (n < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "--policy %s: %d workers", name, n);
    const ct_policy_kind kind = policy_names[found].kind;
    const int has_schedule = kschedule && *kschedule;
    if (has_schedule && (kind == CT_POLICY_ALL || kind == CT_POLICY_FASTEST_K))
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--k-schedule '%s' applies to adaptive-k, cmab and cmab-ucb, not --policy %s", kschedule, name);
    if (!has_schedule && kind != CT_POLICY_ALL && kind != CT_POLICY_ADAPTIVE_K && (k_default < 1 || k_default > n))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--policy %s needs --k between 1 and --workers %d (got %d)%s", name, n,
                       k_default, kind == CT_POLICY_FASTEST_K ? "" : " or a --k-schedule");
    if (kind == CT_POLICY_ADAPTIVE_K && !has_schedule && k_default > n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--policy adaptive-k: --k %d exceeds --workers %d", k_default, n);

    ct_policy *p = calloc(1, sizeof *p);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "policy: out of memory");
    p->kind = kind;
    p->n = n;
    p->k_fixed = kind == CT_POLICY_ALL ? n : k_default;
    p->last_step = -1;
    ct_rng_seed(&p->rng, seed ^ 0x504F4C494359ull);
    const size_t un = (size_t)n;
    p->completions = calloc(un, sizeof *p->completions);
    p->trials = calloc(un, sizeof *p->trials);
    p->time_sum = calloc(un, sizeof *p->time_sum);
    p->done_sum = calloc(un, sizeof *p->done_sum);
    p->done_sq = calloc(un, sizeof *p->done_sq);
    p->index = calloc(un, sizeof *p->index);
    p->tiebreak = calloc(un, sizeof *p->tiebreak);
    p->order = calloc(un, sizeof *p->order);
    p->last_set = calloc(un, 1);
    p->scratch = calloc(un, sizeof *p->scratch);
    ct_status st = CT_OK;
    if (!p->completions || !p->trials || !p->time_sum || !p->done_sum || !p->done_sq || !p->index || !p->tiebreak ||
        !p->order || !p->last_set || !p->scratch)
        st = CT_FAIL(CT_ERR_NOMEM, "policy: out of memory for %d workers", n);
    if (st == CT_OK && kind != CT_POLICY_ALL && kind != CT_POLICY_FASTEST_K) {
        char spec[64];
        if (!has_schedule) {
            if (kind == CT_POLICY_ADAPTIVE_K) {
                if (k_default > 0) snprintf(spec, sizeof spec, "auto:%d", k_default);
                else snprintf(spec, sizeof spec, "auto");
            } else {
                snprintf(spec, sizeof spec, "fixed:%d", k_default);
            }
        }
        st = ct_kschedule_create(has_schedule ? kschedule : spec, n, &p->sched);
    }
    if (st != CT_OK) {
        ct_policy_destroy(p);
        return st;
    }
    *out = p;
    return CT_OK;
}

void ct_policy_destroy(ct_policy *p) {
    if (!p) return;
    ct_kschedule_destroy(p->sched);
    free(p->completions);
    free(p->trials);
    free(p->time_sum);
    free(p->done_sum);
    free(p->done_sq);
    free(p->index);
    free(p->tiebreak);
    free(p->order);
    free(p->last_set);
    free(p->oracle);
    free(p->best_emax);
    free(p->scratch);
    free(p);
}

int ct_policy_k(const ct_policy *p, long step) { return p->sched ? ct_kschedule_k(p->sched, step) : p->k_fixed; }

double ct_policy_mean_estimate(const ct_policy *p, int i) {
    if (i < 0 || i >= p->n || p->trials[i] == 0) return NAN;
    /* exponential MLE under right censoring; a worker never seen finishing counts one pseudo-completion */
    return p->time_sum[i] / (double)(p->completions[i] > 0 ? p->completions[i] : 1);
}

long ct_policy_observations(const ct_policy *p, int i) { return i >= 0 && i < p->n ? p->completions[i] : 0; }

/* r >= 1 with r - 1 - ln r = b: the ratio mean/LCB at which the KL divergence
 * of exponentials d(mu, mu/r) uses up the exploration budget b */
static double kl_exp_ratio(double b) {
    if (b <= 0) return 1.0;
    double lo = 1.0, hi = 2.0;
    while (hi - 1.0 - log(hi) < b) hi *= 2.0;
    for (int it = 0; it < 100 && hi - lo > 1e-12 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (mid - 1.0 - log(mid) < b) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

static double compute_index(const ct_policy *p, int i, double log_t) {
    if (p->trials[i] == 0) return -INFINITY; /* explore first */
    const double mean = ct_policy_mean_estimate(p, i);
    const double count = (double)(p->completions[i] > 0 ? p->completions[i] : 1);
    if (p->kind == CT_POLICY_CMAB) {
        /* KL-LCB: min { y <= mean : count * d(mean, y) <= log t + c log log t } = mean / r */
        const double budget = log_t + (log_t > 1.0 ? CT_KL_LOGLOG_C * log(log_t) : 0.0);
        return mean / kl_exp_ratio(budget / count);
    }
    /* distribution-free: mean - std * sqrt(2 log t / N). The std is shrunk
     * toward the variance pooled over every completion seen (CT_UCB_PRIOR_WEIGHT
     * pseudo-observations): two close early samples must not make a worker's
     * width collapse to 0, which would shut a fast worker out for good. */
    const double c = (double)p->completions[i];
    double sq_dev = 0;
    if (c > 0) {
        const double m = p->done_sum[i] / c;
        sq_dev = p->done_sq[i] - c * m * m;
        if (sq_dev < 0) sq_dev = 0;
    }
    const double var = (sq_dev + CT_UCB_PRIOR_WEIGHT * p->pooled_var) / (c + CT_UCB_PRIOR_WEIGHT);
    return mean - sqrt(var) * sqrt(2.0 * log_t / count);
}

double ct_policy_index(const ct_policy *p, int i) {
    if (i < 0 || i >= p->n || !ct_policy_is_bandit(p)) return NAN;
    return p->index[i];
}

static int cmp_index(const void *a, const void *b, void *ctx) {
    const ct_policy *p = ctx;
    const int x = *(const int *)a, y = *(const int *)b;
    if (p->index[x] < p->index[y]) return -1;
    if (p->index[x] > p->index[y]) return 1;
    if (p->tiebreak[x] < p->tiebreak[y]) return -1;
    if (p->tiebreak[x] > p->tiebreak[y]) return 1;
    return x - y;
}

/* insertion sort with a context: n is small and we need no qsort_r portability */
static void sort_by_index(ct_policy *p, int *v, int count) {
    for (int a = 1; a < count; a++) {
        int x = v[a], b = a - 1;
        while (b >= 0 && cmp_index(&v[b], &x, p) > 0) { v[b + 1] = v[b]; b--; }
        v[b + 1] = x;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void account_regret(ct_policy *p, const unsigned char *assign, int assigned) {
    p->step_regret = 0;
    if (!p->oracle || assigned == 0) return;
    if (!p->last_set_valid || memcmp(assign, p->last_set, (size_t)p->n) != 0) {
        int m = 0;
        for (int i = 0; i < p->n; i++)
            if (assign[i]) p->scratch[m++] = p->oracle[i];
        p->last_set_emax = ct_expected_max_exponential(p->scratch, m);
        memcpy(p->last_set, assign, (size_t)p->n);
        p->last_set_valid = 1;
    }
    if (isnan(p->best_emax[assigned])) {
        memcpy(p->scratch, p->oracle, (size_t)p->n * sizeof *p->scratch);
        qsort(p->scratch, (size_t)p->n, sizeof *p->scratch, cmp_double);
        p->best_emax[assigned] = ct_expected_max_exponential(p->scratch, assigned);
    }
    p->step_regret = p->last_set_emax - p->best_emax[assigned];
    if (p->step_regret < 0) p->step_regret = 0; /* rounding only: the k fastest are optimal */
    p->regret += p->step_regret;
}

int ct_policy_select(ct_policy *p, long step, const unsigned char *idle, unsigned char *assign) {
    int assigned = 0;
    p->last_step = step;
    if (!ct_policy_is_bandit(p)) {
        for (int i = 0; i < p->n; i++) {
            assign[i] = idle[i] ? 1 : 0;
            assigned += assign[i];
        }
    } else {
        p->rounds++;
        const double log_t = log((double)p->rounds);
        if (p->all_count >= 2) {
            const double m = p->all_sum / (double)p->all_count;
            const double v = (p->all_sq - (double)p->all_count * m * m) / (double)(p->all_count - 1);
            p->pooled_var = v > 0 ? v : 0;
        }
        int candidates = 0;
        for (int i = 0; i < p->n; i++) {
            assign[i] = 0;
            if (!idle[i]) continue;
            p->index[i] = compute_index(p, i, log_t);
            p->tiebreak[i] = ct_rng_uniform(&p->rng);
            p->order[candidates++] = i;
        }
        sort_by_index(p, p->order, candidates);
        int k = ct_kschedule_k(p->sched, step);
        if (k > candidates) k = candidates;
        for (int r = 0; r < k; r++) assign[p->order[r]] = 1;
        assigned = k;
        account_regret(p, assign, assigned);
    }
    p->last_assigned = assigned;
    p->tasks += assigned;
    return assigned;
}

int ct_policy_wait_count(const ct_policy *p, long step) {
    switch (p->kind) {
    case CT_POLICY_ALL: return 0;
    case CT_POLICY_FASTEST_K:
    case CT_POLICY_ADAPTIVE_K: {
        int k = ct_policy_k(p, step);
        return k < p->last_assigned ? k : p->last_assigned;
    }
    default: return p->last_assigned;
    }
}

void ct_policy_observe(ct_policy *p, int i, double response_s) {
    if (i < 0 || i >= p->n || !(response_s >= 0) || !isfinite(response_s)) return;
    p->trials[i]++;
    p->completions[i]++;
    p->time_sum[i] += response_s;
    p->done_sum[i] += response_s;
    p->done_sq[i] += response_s * response_s;
    p->all_sum += response_s;
    p->all_sq += response_s * response_s;
    p->all_count++;
}

void ct_policy_observe_censored(ct_policy *p, int i, double elapsed_s) {
    if (i < 0 || i >= p->n || !(elapsed_s >= 0) || !isfinite(elapsed_s)) return;
    p->trials[i]++;
    p->time_sum[i] += elapsed_s;
}

void ct_policy_observe_step(ct_policy *p, long step, double loss, double grad_dot) {
    if (p->sched) ct_kschedule_observe(p->sched, step, loss, grad_dot);
}

int ct_policy_wants_step_stats(const ct_policy *p) { return p->sched && p->sched->kind == KS_AUTO; }

ct_status ct_policy_set_oracle_means(ct_policy *p, const double *means_s) {
    for (int i = 0; i < p->n; i++)
        if (!(means_s[i] > 0) || !isfinite(means_s[i]))
            return CT_FAIL(CT_ERR_INVALID_ARG, "policy oracle: mean response time of worker %d is %g (must be > 0)", i,
                           means_s[i]);
    free(p->oracle);
    free(p->best_emax);
    p->oracle = malloc((size_t)p->n * sizeof *p->oracle);
    p->best_emax = malloc((size_t)(p->n + 1) * sizeof *p->best_emax);
    if (!p->oracle || !p->best_emax) {
        free(p->oracle);
        free(p->best_emax);
        p->oracle = p->best_emax = NULL;
        return CT_FAIL(CT_ERR_NOMEM, "policy oracle: out of memory");
    }
    memcpy(p->oracle, means_s, (size_t)p->n * sizeof *p->oracle);
    for (int j = 0; j <= p->n; j++) p->best_emax[j] = NAN;
    p->last_set_valid = 0;
    return CT_OK;
}
