/* Worker-selection policies (DESIGN.md step 3; docs/schemes.md, "CMAB"): who
 * gets a task this step and how many results the master waits for. Pure host
 * code with no clock, device or master state of its own: the master tells it
 * who is idle, which response times it saw and the step's loss, and asks it
 * whom to assign and how many arrivals to wait for.
 *
 *   all         every idle worker gets work; wait by the code's rule
 *   fastest-k   every idle worker gets work; wait for the fastest k (k fixed)
 *   adaptive-k  every idle worker gets work; wait for the fastest k_t, k_t from
 *               the k schedule (default `auto`)
 *   cmab        only k_t workers get work, chosen by a combinatorial bandit with
 *               the KL-LCB index for exponential response times; wait for all.
 *               Index of worker i (N_i completions, mean estimate mu_i, round t):
 *               min { y <= mu_i : N_i d(mu_i, y) <= ln t }, d(x,y) = x/y - 1 - ln(x/y),
 *               i.e. mu_i / r with r - 1 - ln r = ln t / N_i (c = 0 in the
 *               c ln ln t term). The k_t smallest indices win; workers never
 *               observed come first, in seeded random order.
 *   cmab-ucb    as cmab with a distribution-free index:
 *               mean_i - std_i * sqrt(2 ln t / N_i), std_i shrunk toward the
 *               variance pooled over all completions (2 pseudo-observations)
 *
 * k schedules (--k-schedule):
 *   fixed:K                       k = K always
 *   steps:K0@0,K1@T1,K2@T2,...    k = K_j from step T_j on (T_0 = 0, T increasing)
 *   auto[:K0[,DK[,MIN_STEPS]]]    start at K0 (default max(1, n/4)) and add DK
 *                                 (default max(1, n/4)), capped at n, whenever a
 *                                 stationarity test fires, at most once every
 *                                 MIN_STEPS steps (default 100). The test: Pflug's
 *                                 (the running sum of <g_t, g_{t-1}> since the
 *                                 last switch turns negative) when the master
 *                                 feeds finite gradient inner products; else a
 *                                 loss plateau (checked every MIN_STEPS/2 steps:
 *                                 the mean loss of the last MIN_STEPS/2 steps is
 *                                 not 1% below the mean of the MIN_STEPS/2 before).
 *                                 Pflug's test assumes plain SGD: with momentum,
 *                                 successive gradients stay positively correlated
 *                                 at the noise floor, so feed NAN and use the loss.
 *
 * Censored feedback: a worker still running when the master stops waiting at
 * elapsed time T (a dead worker under cmab, a late one under fastest-k) is
 * reported with ct_policy_observe_censored. The mean estimate is the
 * exponential MLE under right censoring: (sum of all observed durations,
 * censored included) / (number of completions), so a dead worker's estimate
 * grows every time it is tried and the bandit stops choosing it.
 *
 * Regret (experiments): given the true exponential means of the response
 * times, each cmab step adds E[max of the chosen set] - E[max of the k_t
 * fastest]; a constant compute time common to all workers cancels out. */
#ifndef CODEDTRAIN_POLICY_H
#define CODEDTRAIN_POLICY_H

#include <stdint.h>

#include "codedtrain/status.h"

/* ---- k schedule ---- */

typedef struct ct_kschedule ct_kschedule;

/* Parse SPEC for n workers; every k must lie in 1..n. CT_ERR_INVALID_ARG with a
 * message naming the spec. */
ct_status ct_kschedule_create(const char *spec, int n, ct_kschedule **out);
void ct_kschedule_destroy(ct_kschedule *s);
/* k at `step` (auto: the current k; its switches happen in observe) */
int ct_kschedule_k(const ct_kschedule *s, long step);
/* One step's statistics: the decoded minibatch loss and <g_t, g_{t-1}> of
 * consecutive decoded gradients (NAN when not computed: auto then tests the loss). */
void ct_kschedule_observe(ct_kschedule *s, long step, double loss, double grad_dot);
/* the spec as given, and how many times auto has raised k (for logs) */
const char *ct_kschedule_spec(const ct_kschedule *s);
int ct_kschedule_switches(const ct_kschedule *s);

/* ---- policies ---- */

typedef enum ct_policy_kind {
    CT_POLICY_ALL,
    CT_POLICY_FASTEST_K,
    CT_POLICY_ADAPTIVE_K,
    CT_POLICY_CMAB,
    CT_POLICY_CMAB_UCB
} ct_policy_kind;

typedef struct ct_policy ct_policy;

/* `name`: all | fastest-k | adaptive-k | cmab | cmab-ucb. `kschedule`: NULL or ""
 * for the default (fixed:k_default; adaptive-k: auto starting at k_default when
 * it is > 0). fastest-k and cmab* without a schedule need 1 <= k_default <= n;
 * all and fastest-k take no schedule. `seed` breaks ties among unexplored
 * workers. */
ct_status ct_policy_create(const char *name, const char *kschedule, int n, int k_default, uint64_t seed,
                           ct_policy **out);
void ct_policy_destroy(ct_policy *p);
const char *ct_policy_name(const ct_policy *p);
ct_policy_kind ct_policy_get_kind(const ct_policy *p);
/* 1 for the bandit policies (only the chosen workers get work) */
int ct_policy_is_bandit(const ct_policy *p);

/* Who gets a task at `step`: idle[i] != 0 for workers free to take one; sets
 * assign[i] to 0/1 and returns how many were assigned. Call once per step. */
int ct_policy_select(ct_policy *p, long step, const unsigned char *idle, unsigned char *assign);
/* Arrivals to wait for this step (after select): 0 = the code's rule (all);
 * fastest-k / adaptive-k: min(k, assigned); cmab*: every assigned worker. */
int ct_policy_wait_count(const ct_policy *p, long step);
/* k the schedule gives at `step` (all: n) */
int ct_policy_k(const ct_policy *p, long step);

/* Feedback from an assigned worker: its response time (task given -> result
 * arrived) on the run's clock, or "still running after elapsed_s". */
void ct_policy_observe(ct_policy *p, int worker, double response_s);
void ct_policy_observe_censored(ct_policy *p, int worker, double elapsed_s);
/* per-step training statistics for the auto k schedule (see ct_kschedule_observe) */
void ct_policy_observe_step(ct_policy *p, long step, double loss, double grad_dot);
/* 1 when the k schedule is auto: only then are the loss and <g_t, g_{t-1}> used
 * (the master can skip the gradient inner product otherwise) */
int ct_policy_wants_step_stats(const ct_policy *p);

/* Bandit state (diagnostics and tests): the current index of worker i (-INFINITY
 * while unobserved), its estimated mean and completed observations. */
double ct_policy_index(const ct_policy *p, int worker);
double ct_policy_mean_estimate(const ct_policy *p, int worker);
long ct_policy_observations(const ct_policy *p, int worker);

/* Totals since creation: tasks assigned (= model copies sent downlink, one per task). */
long ct_policy_tasks(const ct_policy *p);

/* Regret against an oracle that knows the means of the (exponential) response
 * times, in seconds: set them once (n values, > 0) before the first select.
 * Accrues for bandit policies only; 0 otherwise or without oracle means. */
ct_status ct_policy_set_oracle_means(ct_policy *p, const double *means_s);
double ct_policy_regret(const ct_policy *p);      /* cumulative */
double ct_policy_step_regret(const ct_policy *p); /* the last select's */

/* E[max of independent exponentials with these k means] (exact for k <= 14,
 * numeric integration beyond). */
double ct_expected_max_exponential(const double *means, int k);

#endif
