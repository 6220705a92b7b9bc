/* `codedtrain codes ... --straggle MODEL` (see cli_step_bound.h). */
#include "host/cli_step_bound.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "host/args.h"
#include "host/jsonl.h"
#include "host/step_bound.h"
#include "host/straggler.h"

ct_status ct_cli_step_bound_flag(int argc, char **argv, int *i, ct_cli_step_bound_opts *o, int *matched) {
    const char *a = argv[*i], *v = NULL;
    *matched = 1;
    if (!strcmp(a, "--straggle")) {
        CT_TRY(ct_arg_value(argc, argv, i, &o->straggle));
    } else if (!strcmp(a, "--unit-cost-ms")) {
        CT_TRY(ct_arg_value(argc, argv, i, &v));
        CT_TRY(ct_arg_double(a, v, 0.0, 1e6, &o->unit_cost_ms));
    } else if (!strcmp(a, "--batch")) {
        CT_TRY(ct_arg_value(argc, argv, i, &v));
        CT_TRY(ct_arg_int(a, v, 1, 1 << 24, &o->batch));
    } else if (!strcmp(a, "--deadline-ms")) {
        CT_TRY(ct_arg_value(argc, argv, i, &v));
        CT_TRY(ct_arg_double(a, v, 0.0, 1e9, &o->deadline_ms));
    } else if (!strcmp(a, "--fastest-k")) {
        CT_TRY(ct_arg_value(argc, argv, i, &v));
        CT_TRY(ct_arg_int(a, v, 1, 4096, &o->wait_count));
    } else if (!strcmp(a, "--mc-trials")) {
        int t = 0;
        CT_TRY(ct_arg_value(argc, argv, i, &v));
        CT_TRY(ct_arg_int(a, v, 1, 100000000, &t));
        o->trials = t;
    } else {
        *matched = 0;
    }
    return CT_OK;
}

const char *ct_cli_step_bound_usage(void) {
    return "  --straggle MODEL    print the ideal master's expected step time under this\n"
           "                      straggler model (train's --straggle syntax) instead of the table\n"
           "  --unit-cost-ms C    with --straggle: compute per sample (default 0.05)\n"
           "  --batch B           with --straggle: minibatch, B/k samples per partition (default 128)\n"
           "  --deadline-ms D     with --straggle: stop at D whatever arrived\n"
           "  --fastest-k K       with --straggle: stop at the K-th arrival (policy fastest-k)\n"
           "  --mc-trials T       with --straggle: Monte Carlo steps without a closed form (default 20000)\n";
}

int ct_cli_step_bound_print(const ct_code_spec *spec, const ct_cli_step_bound_opts *o, int json) {
    ct_code *code = NULL;
    ct_straggler *strag = NULL;
    ct_status st = ct_straggler_create(o->straggle, spec->n_workers, spec->seed ^ 0x5354524147474C45ull, &strag);
    if (st == CT_OK) st = ct_code_create(spec, &code);
    if (st == CT_OK && o->wait_count > ct_code_n_workers(code))
        st = CT_FAIL(CT_ERR_INVALID_ARG, "--fastest-k %d: more than the %d workers", o->wait_count, ct_code_n_workers(code));
    ct_step_bound b;
    const int per_part = code && o->batch / ct_code_n_partitions(code) > 0 ? o->batch / ct_code_n_partitions(code) : 1;
    if (st == CT_OK) {
        ct_step_bound_config c = {code, strag, o->unit_cost_ms, per_part, o->deadline_ms, o->wait_count};
        st = ct_step_bound_expected(&c, o->trials, &b);
    }
    int rc = 0;
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        rc = ct_status_exit_code(st);
    } else if (json) {
        ct_json j;
        ct_json_begin(&j);
        ct_json_key_str(&j, "scheme", ct_code_scheme_name(ct_code_get_scheme(code)));
        ct_json_key_int(&j, "n", ct_code_n_workers(code));
        ct_json_key_int(&j, "s", ct_code_stragglers(code));
        ct_json_key_int(&j, "max_load", ct_code_max_load(code));
        ct_json_key_str(&j, "straggle", o->straggle);
        ct_json_key_num(&j, "unit_cost_ms", o->unit_cost_ms);
        ct_json_key_int(&j, "per_part", per_part);
        if (isfinite(b.mean_ms)) ct_json_key_num(&j, "bound_step_ms", b.mean_ms);
        else ct_json_key_null(&j, "bound_step_ms");
        ct_json_key_num(&j, "stderr_ms", b.stderr_ms);
        ct_json_key_bool(&j, "closed_form", b.closed_form);
        ct_json_key_int(&j, "trials", b.trials);
        ct_json_key_str(&j, "method", b.method);
        const char *text = ct_json_end(&j);
        if (text) printf("%s\n", text);
        else rc = 1;
        ct_json_free(&j);
    } else {
        printf("%s n = %d, s = %d, up to %d partitions x %d samples per worker at %g ms per sample, --straggle %s:\n"
               "ideal master's expected step time %.4f ms", ct_code_scheme_name(ct_code_get_scheme(code)),
               ct_code_n_workers(code), ct_code_stragglers(code), ct_code_max_load(code), per_part, o->unit_cost_ms,
               o->straggle, b.mean_ms);
        if (b.stderr_ms > 0) printf(" +- %.4f (standard error)", b.stderr_ms);
        printf(" (%s)\n", b.method);
    }
    ct_code_destroy(code);
    ct_straggler_destroy(strag);
    return rc;
}
