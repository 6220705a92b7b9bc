/* Worker-selection policies and k schedules: E[max] of exponentials, schedule
 * parsing and evaluation, the auto stationarity test, and the bandits learning
 * the k fastest of n = 20 exponential workers with sublinear regret. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codedtrain/rng.h"
#include "codedtrain/status.h"
#include "ct_test.h"
#include "host/policy.h"

#define N_WORKERS 20
#define K_FAST 5

/* 5 fast workers, then 15 slower ones: means spread over 10x (seconds) */
static const double true_means[N_WORKERS] = {1.0, 1.2, 1.4, 1.6, 1.8, 3.0, 3.5, 4.0, 4.5, 5.0,
                                             5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0};

/* inclusion-exclusion: E[max] = sum over nonempty S of (-1)^{|S|+1} / sum_{i in S} 1/m_i */
static double emax_inclusion_exclusion(const double *means, int k) {
    double total = 0;
    for (unsigned long mask = 1; mask < (1ul << k); mask++) {
        double rate = 0;
        int size = 0;
        for (int i = 0; i < k; i++)
            if (mask >> i & 1) { rate += 1.0 / means[i]; size++; }
        total += (size % 2 ? 1.0 : -1.0) / rate;
    }
    return total;
}

static void test_expected_max(void) {
    double one = 2.5;
    CHECK(fabs(ct_expected_max_exponential(&one, 1) - 2.5) < 1e-12, "k=1 gives the mean");
    double two[2] = {1.0, 3.0};
    double want2 = 1.0 + 3.0 - 1.0 / (1.0 + 1.0 / 3.0);
    CHECK(fabs(ct_expected_max_exponential(two, 2) - want2) < 1e-12, "k=2: %.15g vs %.15g",
          ct_expected_max_exponential(two, 2), want2);
    /* iid: E[max of k] = mean * H_k; k = 20 takes the numeric-integration path */
    double iid[20], harmonic = 0;
    for (int i = 0; i < 20; i++) { iid[i] = 0.7; harmonic += 1.0 / (i + 1); }
    double got = ct_expected_max_exponential(iid, 20);
    CHECK(fabs(got - 0.7 * harmonic) < 1e-7 * got, "iid k=20: %.12g vs %.12g", got, 0.7 * harmonic);
    got = ct_expected_max_exponential(iid, 6);
    double h6 = 1 + 1. / 2 + 1. / 3 + 1. / 4 + 1. / 5 + 1. / 6;
    CHECK(fabs(got - 0.7 * h6) < 1e-12, "iid k=6 (exact path): %.15g vs %.15g", got, 0.7 * h6);
    /* distinct means on both paths against inclusion-exclusion */
    double want = emax_inclusion_exclusion(true_means + 2, 12);
    got = ct_expected_max_exponential(true_means + 2, 12);
    CHECK(fabs(got - want) < 1e-9 * want, "distinct k=12 (exact path): %.12g vs %.12g", got, want);
    want = emax_inclusion_exclusion(true_means + 1, 16);
    got = ct_expected_max_exponential(true_means + 1, 16);
    CHECK(fabs(got - want) < 1e-7 * want, "distinct k=16 (integration path): %.12g vs %.12g", got, want);
}

/* the call must fail with CT_ERR_INVALID_ARG and a message that quotes `needle` */
#define CHECK_REFUSED(expr, needle)                                                                           \
    do {                                                                                                      \
        ct_error_clear();                                                                                     \
        ct_status s_ = (expr);                                                                                \
        CHECK(s_ == CT_ERR_INVALID_ARG, "%s -> %s (expected invalid argument)", #expr, ct_status_str(s_));     \
        CHECK(strstr(ct_last_error(), needle) != NULL, "%s: message '%s' does not name '%s'", #expr,          \
              ct_last_error(), needle);                                                                       \
    } while (0)

static void test_schedule_parse(void) {
    ct_kschedule *s = NULL;
    CHECK_OK(ct_kschedule_create("fixed:7", N_WORKERS, &s));
    if (s) {
        CHECK(ct_kschedule_k(s, 0) == 7 && ct_kschedule_k(s, 123456) == 7, "fixed:7");
        for (int t = 0; t < 500; t++) ct_kschedule_observe(s, t, 1.0, -1.0); /* fixed ignores statistics */
        CHECK(ct_kschedule_k(s, 500) == 7, "fixed does not move");
        ct_kschedule_destroy(s);
    }
    CHECK_OK(ct_kschedule_create("steps:2@0,5@100,10@300,20@1000", N_WORKERS, &s));
    if (s) {
        const long at[] = {0, 99, 100, 299, 300, 999, 1000, 1000000};
        const int want[] = {2, 2, 5, 5, 10, 10, 20, 20};
        for (int j = 0; j < 8; j++)
            CHECK(ct_kschedule_k(s, at[j]) == want[j], "steps: k(%ld) = %d, want %d", at[j], ct_kschedule_k(s, at[j]),
                  want[j]);
        ct_kschedule_destroy(s);
    }
    CHECK_OK(ct_kschedule_create("auto", N_WORKERS, &s));
    if (s) {
        CHECK(ct_kschedule_k(s, 0) == 5, "auto starts at n/4: %d", ct_kschedule_k(s, 0));
        ct_kschedule_destroy(s);
    }
    CHECK_OK(ct_kschedule_create("auto:3,4,20", N_WORKERS, &s));
    if (s) {
        CHECK(ct_kschedule_k(s, 0) == 3, "auto:3 starts at 3");
        ct_kschedule_destroy(s);
    }
    const char *bad[] = {"", "fixed:", "fixed:0", "fixed:21", "fixed:3x", "fixed:-2", "steps:", "steps:2@5",
                         "steps:2@0,3@0", "steps:2@0,5@10,3@7", "steps:2@0,3", "steps:2@0,", "steps:2@0;3@9",
                         "steps:21@0", "auto:0", "auto:5,0", "auto:5,2,1", "auto:5,", "autox", "bogus", "fixed:5,6"};
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[j]);
        s = NULL;
        CHECK_REFUSED(ct_kschedule_create(bad[j], N_WORKERS, &s), quoted);
        CHECK(s == NULL, "no schedule is returned for '%s'", bad[j]);
    }
}

static void test_schedule_auto(void) {
    ct_rng r;
    ct_rng_seed(&r, 42);
    ct_kschedule *s = NULL;
    /* Pflug: successive gradients anti-correlated (stationary) -> k rises */
    CHECK_OK(ct_kschedule_create("auto:5,5,40", N_WORKERS, &s));
    if (s) {
        for (int t = 0; t < 400; t++) ct_kschedule_observe(s, t, 0.5, -0.3 + ct_rng_normal(&r));
        CHECK(ct_kschedule_k(s, 400) > 5, "Pflug: stationary signal raises k (k = %d)", ct_kschedule_k(s, 400));
        CHECK(ct_kschedule_k(s, 400) <= N_WORKERS, "k capped at n");
        for (int t = 400; t < 4000; t++) ct_kschedule_observe(s, t, 0.5, -0.3 + ct_rng_normal(&r));
        CHECK(ct_kschedule_k(s, 4000) == N_WORKERS, "Pflug: k reaches n (%d)", ct_kschedule_k(s, 4000));
        CHECK(ct_kschedule_switches(s) == 3, "5 -> 10 -> 15 -> 20: %d switches", ct_kschedule_switches(s));
        ct_kschedule_destroy(s);
    }
    /* Pflug: successive gradients aligned (still descending) -> k stays */
    CHECK_OK(ct_kschedule_create("auto:5,5,40", N_WORKERS, &s));
    if (s) {
        for (int t = 0; t < 2000; t++) ct_kschedule_observe(s, t, 2.0 / (1.0 + t / 50.0), 0.5 + ct_rng_normal(&r));
        CHECK(ct_kschedule_k(s, 2000) == 5, "Pflug: transient signal keeps k (k = %d)", ct_kschedule_k(s, 2000));
        ct_kschedule_destroy(s);
    }
    /* loss plateau (no gradient products fed): noisy flat loss -> k rises */
    CHECK_OK(ct_kschedule_create("auto:5,5,50", N_WORKERS, &s));
    if (s) {
        for (int t = 0; t < 300; t++) ct_kschedule_observe(s, t, 0.5 + 0.05 * ct_rng_normal(&r), NAN);
        CHECK(ct_kschedule_k(s, 300) > 5, "plateau: flat loss raises k (k = %d)", ct_kschedule_k(s, 300));
        ct_kschedule_destroy(s);
    }
    /* loss plateau: a loss still falling like 1/t -> k stays */
    CHECK_OK(ct_kschedule_create("auto:5,5,50", N_WORKERS, &s));
    if (s) {
        for (int t = 0; t < 600; t++) ct_kschedule_observe(s, t, 2.0 / (1.0 + t / 50.0) + 1e-3 * ct_rng_normal(&r), NAN);
        CHECK(ct_kschedule_k(s, 600) == 5, "plateau: decreasing loss keeps k (k = %d)", ct_kschedule_k(s, 600));
        ct_kschedule_destroy(s);
    }
}

static void test_policy_create_errors(void) {
    ct_policy *p = NULL;
    CHECK_REFUSED(ct_policy_create("bogus", NULL, N_WORKERS, 5, 1, &p), "'bogus'");
    CHECK_REFUSED(ct_policy_create("fastest-k", NULL, N_WORKERS, 0, 1, &p), "fastest-k");
    CHECK_REFUSED(ct_policy_create("cmab", NULL, N_WORKERS, 21, 1, &p), "cmab");
    CHECK_REFUSED(ct_policy_create("all", "fixed:3", N_WORKERS, 0, 1, &p), "'fixed:3'");
    CHECK_REFUSED(ct_policy_create("fastest-k", "fixed:3", N_WORKERS, 3, 1, &p), "'fixed:3'");
    CHECK_REFUSED(ct_policy_create("cmab", "steps:3@0,2@0", N_WORKERS, 0, 1, &p), "'steps:3@0,2@0'");
    CHECK_REFUSED(ct_policy_create("adaptive-k", "auto:99", N_WORKERS, 0, 1, &p), "'auto:99'");
    CHECK(p == NULL, "no policy is returned on error");
    CHECK_OK(ct_policy_create("cmab", "steps:2@0,4@10", N_WORKERS, 0, 1, &p)); /* a schedule replaces --k */
    ct_policy_destroy(p);
}

static void test_nonbandit_policies(void) {
    unsigned char idle[N_WORKERS], assign[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++) idle[i] = i % 7 != 3; /* workers 3, 10, 17 still busy */
    const char *names[] = {"all", "fastest-k", "adaptive-k"};
    for (int j = 0; j < 3; j++) {
        ct_policy *p = NULL;
        CHECK_OK(ct_policy_create(names[j], j == 2 ? "steps:2@0,19@10" : NULL, N_WORKERS, 5, 1, &p));
        if (!p) continue;
        CHECK(!strcmp(ct_policy_name(p), names[j]), "name %s", ct_policy_name(p));
        CHECK(!ct_policy_is_bandit(p), "%s is not a bandit", names[j]);
        CHECK(ct_policy_wants_step_stats(p) == 0, "%s without auto needs no step statistics", names[j]);
        int got = ct_policy_select(p, 0, idle, assign);
        CHECK(got == 17, "%s assigns every idle worker (%d)", names[j], got);
        CHECK(!memcmp(idle, assign, N_WORKERS), "%s: assign == idle", names[j]);
        int want0 = j == 0 ? 0 : j == 1 ? 5 : 2;
        CHECK(ct_policy_wait_count(p, 0) == want0, "%s wait count at step 0: %d", names[j], ct_policy_wait_count(p, 0));
        ct_policy_select(p, 10, idle, assign);
        int want10 = j == 0 ? 0 : j == 1 ? 5 : 17; /* adaptive-k's 19 clamps to the 17 assigned */
        CHECK(ct_policy_wait_count(p, 10) == want10, "%s wait count at step 10: %d", names[j],
              ct_policy_wait_count(p, 10));
        CHECK(ct_policy_tasks(p) == 34, "%s counts tasks: %ld", names[j], ct_policy_tasks(p));
        CHECK_OK(ct_policy_set_oracle_means(p, true_means));
        ct_policy_select(p, 11, idle, assign);
        CHECK(ct_policy_regret(p) == 0, "%s accrues no bandit regret", names[j]);
        ct_policy_destroy(p);
    }
    ct_policy *p = NULL;
    CHECK_OK(ct_policy_create("adaptive-k", NULL, N_WORKERS, 0, 1, &p));
    if (p) {
        CHECK(ct_policy_k(p, 0) == 5, "adaptive-k defaults to auto from n/4 (%d)", ct_policy_k(p, 0));
        CHECK(ct_policy_wants_step_stats(p), "auto wants the step statistics");
        unsigned char all_idle[N_WORKERS];
        memset(all_idle, 1, sizeof all_idle);
        for (int t = 0; t < 200; t++) {
            ct_policy_select(p, t, all_idle, assign);
            ct_policy_observe_step(p, t, 1.0, -1.0); /* stationary: Pflug fires after 50 steps */
        }
        CHECK(ct_policy_k(p, 200) > 5 && ct_policy_wait_count(p, 200) == ct_policy_k(p, 200),
              "adaptive-k follows auto: k = %d, wait %d", ct_policy_k(p, 200), ct_policy_wait_count(p, 200));
        ct_policy_destroy(p);
    }
}

typedef struct bandit_run {
    int exact_late;          /* late steps whose chosen set is exactly the k fastest */
    double regret_first_half, regret_second_half;
    double regret_at_quarter, regret_total;
    long tasks;
    int dead_chosen_late;
} bandit_run;

static int is_top_k(const unsigned char *assign) {
    for (int i = 0; i < N_WORKERS; i++)
        if (assign[i] != (i < K_FAST)) return 0;
    return 1;
}

/* `dead`: this worker never answers from step dead_from on (censored at the step's end) */
static void run_bandit(const char *name, uint64_t seed, int steps, int late, int dead, int dead_from, bandit_run *out) {
    memset(out, 0, sizeof *out);
    ct_policy *p = NULL;
    CHECK_OK(ct_policy_create(name, NULL, N_WORKERS, K_FAST, seed, &p));
    if (!p) return;
    CHECK_OK(ct_policy_set_oracle_means(p, true_means));
    ct_rng r;
    ct_rng_seed(&r, seed * 7919 + 13);
    unsigned char idle[N_WORKERS], assign[N_WORKERS];
    memset(idle, 1, sizeof idle);
    double times[N_WORKERS];
    for (int t = 0; t < steps; t++) {
        int got = ct_policy_select(p, t, idle, assign);
        if (got != K_FAST || ct_policy_wait_count(p, t) != K_FAST) {
            CHECK(0, "%s step %d: assigned %d, wait %d", name, t, got, ct_policy_wait_count(p, t));
            break;
        }
        double step_end = 0;
        for (int i = 0; i < N_WORKERS; i++) {
            times[i] = assign[i] ? ct_rng_exponential(&r, true_means[i]) : 0;
            if (assign[i] && !(i == dead && t >= dead_from) && times[i] > step_end) step_end = times[i];
        }
        for (int i = 0; i < N_WORKERS; i++) {
            if (!assign[i]) continue;
            if (i == dead && t >= dead_from) ct_policy_observe_censored(p, i, step_end);
            else ct_policy_observe(p, i, times[i]);
        }
        if (t >= steps - late) {
            out->exact_late += is_top_k(assign);
            out->dead_chosen_late += dead >= 0 && assign[dead];
        }
        if (t + 1 == steps / 4) out->regret_at_quarter = ct_policy_regret(p);
        if (t + 1 == steps / 2) out->regret_first_half = ct_policy_regret(p);
    }
    out->regret_total = ct_policy_regret(p);
    out->regret_second_half = out->regret_total - out->regret_first_half;
    out->tasks = ct_policy_tasks(p);
    ct_policy_destroy(p);
}

static void test_bandits(void) {
    const int steps = 6000, late = 500; /* "enough steps": at 3000, ~6% of seeds still explore late */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        bandit_run b;
        run_bandit("cmab", seed, steps, late, -1, 0, &b);
        printf("cmab seed %llu: exact k fastest in %d/%d late steps; regret %.2f (first half %.2f, second %.2f)\n",
               (unsigned long long)seed, b.exact_late, late, b.regret_total, b.regret_first_half, b.regret_second_half);
        CHECK(b.exact_late >= late * 95 / 100, "cmab seed %llu: exact k fastest in %d of the last %d steps",
              (unsigned long long)seed, b.exact_late, late);
        CHECK(b.regret_second_half < 0.5 * b.regret_first_half, "cmab seed %llu: regret not sublinear (%.3f then %.3f)",
              (unsigned long long)seed, b.regret_first_half, b.regret_second_half);
        CHECK(b.regret_total / steps < b.regret_at_quarter / (steps / 4),
              "cmab seed %llu: regret(T)/T does not decrease", (unsigned long long)seed);
        CHECK(b.tasks == (long)steps * K_FAST, "cmab: %ld tasks for %d steps of k=%d", b.tasks, steps, K_FAST);

        run_bandit("cmab-ucb", seed, steps, late, -1, 0, &b);
        printf("cmab-ucb seed %llu: exact k fastest in %d/%d late steps; regret %.2f (first half %.2f, second %.2f)\n",
               (unsigned long long)seed, b.exact_late, late, b.regret_total, b.regret_first_half,
               b.regret_second_half);
        CHECK(b.exact_late >= late * 80 / 100, "cmab-ucb seed %llu: exact k fastest in %d of the last %d steps",
              (unsigned long long)seed, b.exact_late, late);
        CHECK(b.regret_second_half < b.regret_first_half, "cmab-ucb seed %llu: regret not sublinear (%.3f then %.3f)",
              (unsigned long long)seed, b.regret_first_half, b.regret_second_half);
    }
    /* the fastest worker dies at step 500: censored observations drive its estimate up */
    bandit_run b;
    run_bandit("cmab", 5, steps, late, 0, 500, &b);
    printf("cmab with worker 0 dead from step 500: chosen in %d of the last %d steps\n", b.dead_chosen_late, late);
    CHECK(b.dead_chosen_late <= late / 20, "dead worker still chosen in %d of the last %d steps", b.dead_chosen_late,
          late);
}

static void test_bandit_details(void) {
    ct_policy *p = NULL, *q = NULL;
    CHECK_OK(ct_policy_create("cmab", NULL, N_WORKERS, K_FAST, 9, &p));
    CHECK_OK(ct_policy_create("cmab", NULL, N_WORKERS, K_FAST, 9, &q));
    if (!p || !q) { ct_policy_destroy(p); ct_policy_destroy(q); return; }
    unsigned char idle[N_WORKERS], a1[N_WORKERS], a2[N_WORKERS];
    memset(idle, 1, sizeof idle);
    /* unobserved workers first: the first 4 rounds cover all 20 */
    int seen[N_WORKERS] = {0};
    for (int t = 0; t < 4; t++) {
        ct_policy_select(p, t, idle, a1);
        ct_policy_select(q, t, idle, a2);
        CHECK(!memcmp(a1, a2, sizeof a1), "same seed, same choice at step %d", t);
        for (int i = 0; i < N_WORKERS; i++)
            if (a1[i]) { seen[i]++; ct_policy_observe(p, i, true_means[i]); ct_policy_observe(q, i, true_means[i]); }
    }
    int all_once = 1;
    for (int i = 0; i < N_WORKERS; i++) all_once &= seen[i] == 1;
    CHECK(all_once, "the first n/k rounds try every worker once");
    /* KL-LCB after one observation each: index = mean / r, below the mean, same ratio for all */
    double ratio = ct_policy_index(p, 0) / true_means[0];
    ct_policy_select(p, 4, idle, a1);
    for (int i = 0; i < N_WORKERS; i++) {
        double idx = ct_policy_index(p, i);
        CHECK(idx < true_means[i] && idx > 0, "worker %d: LCB %g vs mean %g", i, idx, true_means[i]);
        CHECK(fabs(idx / true_means[i] - ct_policy_index(p, 0) / true_means[0]) < 1e-9, "KL-LCB scales with the mean");
        /* the divergence at the index uses exactly the budget log t (t = 5 rounds, N = 1) */
        double x = true_means[i] / idx;
        CHECK(fabs((x - 1 - log(x)) - log(5.0)) < 1e-9, "worker %d: N d(mu, LCB) = %g, want log 5", i, x - 1 - log(x));
    }
    (void)ratio;
    CHECK(is_top_k(a1), "with exact means observed once, the k fastest are chosen");
    /* only idle workers are candidates: fewer idle than k -> all of them */
    unsigned char few[N_WORKERS] = {0};
    few[2] = few[11] = few[19] = 1;
    CHECK(ct_policy_select(p, 5, few, a1) == 3 && a1[2] && a1[11] && a1[19], "fewer idle than k: all idle assigned");
    CHECK(ct_policy_wait_count(p, 5) == 3, "cmab waits for every assigned worker");
    /* censoring: the MLE adds censored time without a completion */
    ct_policy_observe_censored(p, 19, 30.0);
    CHECK(ct_policy_observations(p, 19) == 1, "censored is not a completion");
    CHECK(fabs(ct_policy_mean_estimate(p, 19) - (10.0 + 30.0)) < 1e-12, "censored MLE: %g",
          ct_policy_mean_estimate(p, 19));
    ct_policy_destroy(p);
    ct_policy_destroy(q);
    /* regret: choosing exactly the k fastest costs nothing; any other set costs > 0 */
    CHECK_OK(ct_policy_create("cmab", "fixed:2", 3, 0, 1, &p));
    if (p) {
        const double means[3] = {1.0, 2.0, 4.0};
        CHECK_OK(ct_policy_set_oracle_means(p, means));
        unsigned char id[3] = {1, 1, 1}, as[3];
        ct_policy_select(p, 0, id, as); /* unobserved: a random pair */
        double want = ct_expected_max_exponential((double[]){means[as[0] ? 0 : 1], means[as[2] ? 2 : 1]}, 2) -
                      ct_expected_max_exponential(means, 2);
        CHECK(fabs(ct_policy_step_regret(p) - want) < 1e-12, "step regret %g, want %g", ct_policy_step_regret(p), want);
        const double bad_means[3] = {1.0, -2.0, 4.0};
        CHECK_REFUSED(ct_policy_set_oracle_means(p, bad_means), "worker 1");
        ct_policy_destroy(p);
    }
}

int main(void) {
    test_expected_max();
    test_schedule_parse();
    test_schedule_auto();
    test_policy_create_errors();
    test_nonbandit_policies();
    test_bandit_details();
    test_bandits();
    return ct_test_done("test_host_policy");
}
