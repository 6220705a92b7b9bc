/* Measured exact labels (see code_label.h). */
#include "host/code_label.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "host/clock.h"

ct_status code_label_measure(ct_code *code, double budget_s, long max_sets, uint64_t seed, code_label *out) {
    memset(out, 0, sizeof *out);
    out->by_design = ct_code_is_exact(code);
    out->rep.tolerance = 1e-4;
    out->rep.total_sets = ct_code_verify_total_sets(ct_code_n_workers(code), ct_code_stragglers(code));
    if (!out->by_design) return CT_OK;
    int n = ct_code_n_workers(code), s = ct_code_stragglers(code);
    /* probe: s contiguous stragglers, the hard case of cyclic supports */
    uint64_t *mask = calloc((size_t)ct_code_mask_words(code), sizeof(uint64_t));
    if (!mask) return CT_FAIL(CT_ERR_NOMEM, "codes: out of memory (n = %d)", n);
    for (int i = s; i < n; i++) ct_code_mask_add_worker(code, i, mask);
    ct_decode_result res;
    double t0 = ct_now_s();
    ct_status st = ct_code_decode(code, mask, &res);
    out->probe_s = ct_now_s() - t0;
    free(mask);
    ct_code_cache_clear(code);
    CT_TRY(st);
    long sets = max_sets;
    if (budget_s > 0) {
        double fit = budget_s / (out->probe_s > 1e-7 ? out->probe_s : 1e-7);
        if (fit < (double)sets) sets = (long)fit;
    }
    out->max_sets = sets;
    if (sets < 1) { /* not even the probe's worth again: report the probe alone */
        out->rep.sets_tested = 1;
        out->rep.adversarial_sets = 1;
        out->rep.worst_residual_max = res.residual_max;
        out->rep.worst_condition = res.condition;
        out->rep.failures = !(res.status == CT_DECODE_EXACT && res.residual_max <= out->rep.tolerance);
        out->rep.worst_set_size = s;
        for (int t = 0; t < s && t < CT_VERIFY_SHOW; t++) out->rep.worst_set[t] = t;
        out->rep.verified_exact = !out->rep.failures;
        out->measured = 1;
        return CT_OK;
    }
    CT_TRY(ct_code_verify(code, sets, seed, &out->rep));
    out->measured = 1;
    return CT_OK;
}

typedef struct probe_job {
    ct_code *code;
    uint64_t *mask;
    ct_status st;
    double elapsed_s;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} probe_job;

static void *probe_main(void *arg) {
    probe_job *p = arg;
    ct_decode_result res;
    double t0 = ct_now_s();
    ct_status st = ct_code_decode(p->code, p->mask, &res);
    pthread_mutex_lock(&p->mu);
    p->st = st;
    p->elapsed_s = ct_now_s() - t0;
    p->done = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ct_status code_label_probe(ct_code *code, double timeout_s, double *elapsed_s, int *timed_out) {
    int n = ct_code_n_workers(code), s = ct_code_stragglers(code);
    *timed_out = 0;
    *elapsed_s = 0.0;
    /* leaked on purpose when abandoned: the helper thread still uses it */
    probe_job *p = calloc(1, sizeof *p);
    uint64_t *mask = calloc((size_t)ct_code_mask_words(code), sizeof(uint64_t));
    if (!p || !mask) { free(p); free(mask); return CT_FAIL(CT_ERR_NOMEM, "codes: out of memory (n = %d)", n); }
    for (int i = s; i < n; i++) ct_code_mask_add_worker(code, i, mask);
    p->code = code;
    p->mask = mask;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_t th;
    int rc = pthread_create(&th, NULL, probe_main, p);
    if (rc != 0) {
        free(p); free(mask);
        return CT_FAIL(CT_ERR_NOMEM, "codes: pthread_create failed (%s)", strerror(rc));
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = timeout_s > 0 ? timeout_s : 1e9;
    until.tv_sec += (time_t)t;
    until.tv_nsec += (long)((t - floor(t)) * 1e9);
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&p->mu);
    while (!p->done) {
        int w = pthread_cond_timedwait(&p->cv, &p->mu, &until);
        if (w == ETIMEDOUT) break;
    }
    int done = p->done;
    pthread_mutex_unlock(&p->mu);
    if (!done) {
        pthread_detach(th);
        *timed_out = 1;
        *elapsed_s = t;
        return CT_OK;
    }
    pthread_join(th, NULL);
    ct_status st = p->st;
    *elapsed_s = p->elapsed_s;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p); free(mask);
    ct_code_cache_clear(code);
    return st;
}

int code_label_exact(const code_label *l) { return l->by_design && l->measured && l->rep.failures == 0; }

static void print_set(FILE *f, const ct_code_verify_report *r) {
    fprintf(f, "{");
    for (int t = 0; t < r->worst_set_size && t < CT_VERIFY_SHOW; t++) fprintf(f, "%s%d", t ? "," : "", r->worst_set[t]);
    if (r->worst_set_size > CT_VERIFY_SHOW) fprintf(f, ",...");
    fprintf(f, "}");
}

void code_label_print(FILE *f, const ct_code *code, const code_label *l) {
    const ct_code_verify_report *r = &l->rep;
    int n = ct_code_n_workers(code), s = ct_code_stragglers(code);
    if (!l->by_design) {
        fprintf(f, "approximate or partial by design");
        return;
    }
    if (r->failures > 0) {
        fprintf(f, "approximate at this n: %ld of %ld tested straggler sets (size <= %d) miss max |a^T B_F - 1| <= %g; "
                   "worst residual %.3g, worst condition number %.3g, e.g. stragglers ",
                r->failures, r->sets_tested, s, r->tolerance, r->worst_residual_max, r->worst_condition);
        print_set(f, r);
        return;
    }
    if (r->exhaustive)
        fprintf(f, "exact: every one of the %ld straggler sets of size <= %d decodes within %g (max |a^T B_F - 1|, "
                   "float32 coefficients); worst residual %.3g, worst condition number %.3g",
                r->sets_tested, s, r->tolerance, r->worst_residual_max, r->worst_condition);
    else
        fprintf(f, "exact (sampled): %ld of the %.3g straggler sets of size <= %d decode within %g (%ld adversarial: "
                   "contiguous runs and a climb towards worse conditioning; %ld random); worst residual %.3g, "
                   "worst condition number %.3g%s",
                r->sets_tested, r->total_sets, s, r->tolerance, r->adversarial_sets, r->random_sets,
                r->worst_residual_max, r->worst_condition,
                r->sets_tested <= 1 ? " -- one decode took most of the budget: --budget S tests more" : "");
    (void)n;
}

void code_label_json(ct_json *j, const code_label *l) {
    const ct_code_verify_report *r = &l->rep;
    ct_json_key_begin_object(j, "label");
    ct_json_key_bool(j, "exact", code_label_exact(l));
    ct_json_key_bool(j, "exact_by_design", l->by_design);
    ct_json_key_str(j, "method", !l->by_design ? "none" : r->exhaustive ? "exhaustive" : "sampled");
    ct_json_key_num(j, "tolerance", r->tolerance);
    ct_json_key_num(j, "total_sets", r->total_sets);
    ct_json_key_int(j, "sets_tested", r->sets_tested);
    ct_json_key_int(j, "adversarial_sets", r->adversarial_sets);
    ct_json_key_int(j, "random_sets", r->random_sets);
    ct_json_key_int(j, "failures", r->failures);
    ct_json_key_num(j, "worst_residual_max", r->worst_residual_max);
    ct_json_key_num(j, "worst_condition", isfinite(r->worst_condition) ? r->worst_condition : 1e308);
    ct_json_key_num(j, "probe_decode_s", l->probe_s);
    ct_json_key_begin_array(j, "worst_set");
    for (int t = 0; t < r->worst_set_size && t < CT_VERIFY_SHOW; t++) ct_json_array_int(j, r->worst_set[t]);
    ct_json_end_array(j);
    ct_json_end_object(j);
}

void code_label_warn_train(const ct_code_spec *spec, double budget_s, FILE *f) {
    if (!ct_code_scheme_is_exact(spec->scheme)) return;
    ct_code *code = NULL;
    if (ct_code_create(spec, &code) != CT_OK) { ct_error_clear(); return; }
    code_label l;
    if (code_label_measure(code, budget_s, 20000, spec->seed, &l) != CT_OK) ct_error_clear();
    else if (l.measured && l.rep.failures > 0) {
        fprintf(f, "codedtrain train: warning: code %s, n = %d, s = %d is ", ct_code_scheme_name(spec->scheme),
                spec->n_workers, spec->stragglers);
        code_label_print(f, code, &l);
        fprintf(f, "; such steps decode approximately (frep-mds stays exact at every n)\n");
    }
    ct_code_destroy(code);
}
