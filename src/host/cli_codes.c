/* `codedtrain codes`: inspect one gradient code (assignment, encoding, loads,
 * decode quality over every number of stragglers, conditioning, decode time)
 * or, with --bound, the partial-recovery lower bound against the smallest
 * load each partial-recovery scheme needs. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/codes_bound.h"
#include "host/args.h"
#include "host/cli.h"
#include "host/code_label.h"
#include "host/codes_table.h"
#include "host/clock.h"
#include "host/jsonl.h"

/* Print the full encoding matrix B only when it fits a terminal. */
#define CODES_PRINT_MAX_WORKERS 16
#define CODES_PRINT_MAX_PARTITIONS 24
/* Cold decode timing stops after this or 5% of --budget. */
#define CODES_TIMING_COLD_BUDGET_S 1.0

static void codes_usage(FILE *f) {
    fprintf(f,
            "usage: codedtrain codes [--code NAME] [--workers N] [--stragglers S] [options]\n"
            "       codedtrain codes --bound --workers N --stragglers S --alpha A [--json]\n"
            "\n"
            "Builds one gradient code and prints its assignment (partitions per worker) and\n"
            "encoding matrix, its computation load (partitions per worker d) and communication\n"
            "load (messages per worker m), and a table over the number of stragglers K = 0..n-1\n"
            "(whole workers, all their messages missing) of the worst and mean decoding residual\n"
            "||a^T B_F - 1|| / sqrt(k) and recovered fraction. The table is exhaustive over every\n"
            "straggler set when n <= %d (or when a row has at most --trials sets) and Monte Carlo\n"
            "with --trials random sets otherwise; arrivals come in a random order and the decode\n"
            "uses what the scheme's stop rule keeps (exact codes: the first decodable set; ignore:\n"
            "the first n - s; erasurehead: --wait-count). Also the worst condition number of the\n"
            "systems solved and the decode time per call, cold (cache cleared) and cached.\n"
            "\n"
            "The label is measured: a code is called exact only when every straggler set of size\n"
            "<= S that was tested decodes with max |a^T B_F - 1| <= 1e-4 (float32 coefficients, the\n"
            "runtime's decoder): every set when they fit the budget, else contiguous runs, a climb\n"
            "towards worse conditioning and random sets; otherwise \"approximate at this n\" with the\n"
            "worst residual, condition number and straggler set found.\n"
            "\n"
            "Work is sized by --budget (default 10 s): about half for the label, the rest for the\n"
            "table (fewer sets per row, or fewer rows, at large n; the counts are printed).\n"
            "\n"
            "With --bound: the partial-recovery lower bound on the normalised computation load\n"
            "for (n, s, alpha) and, for alpha-subset, alpha-cyclic with m = 1 and alpha-cyclic\n"
            "with m = d, the smallest load that recovers an alpha fraction on every s-set.\n"
            "\n"
            "options:\n"
            "  --code NAME         uncoded, ignore, frep, cyclic, cyclic-mds, expander, bgc, sgc,\n"
            "                      erasurehead, alpha-subset, alpha-cyclic, ldgm, frep-mds (default cyclic);\n"
            "                      --scheme NAME is the old spelling of the same\n"
            "  --workers N         workers n (default 8)\n"
            "  --stragglers S      stragglers the code is designed for, 0 <= S < n (default 1;\n"
            "                      0 for uncoded)\n"
            "  --load D            partitions per worker d (default: the scheme's, usually S+1)\n"
            "  --messages M        messages per worker m (default: the scheme's, usually 1)\n"
            "  --alpha A           partial-recovery target in (0, 1] (alpha schemes, --bound)\n"
            "  --seed X            seed of random constructions (default 1)\n"
            "  --decoder NAME      default, fixed or optimal (expander, bgc, ldgm)\n"
            "  --straggle-prob P   sgc: straggling probability p < 1 (default S/n)\n"
            "  --ldgm-weight W     ldgm: units per worker (default: load, else 3)\n"
            "  --wait-count W      erasurehead: arrivals after which it stops (0 or default: n - S)\n"
            "  --trials T          random straggler sets per row beyond n = %d (default 2000)\n"
            "  --budget S          seconds of decoding to aim for (default 10; 0 = no limit, every\n"
            "                      row gets its --trials sets and the label up to --label-sets)\n"
            "  --label-sets N      most straggler sets the label tests (default 20000)\n"
            "  --layout            --json: include every worker's partitions and encoding at any n\n"
            "                      (default only for n <= %d; large n makes large output)\n"
            "  --max-stragglers K  last row of the table (default n - 1)\n"
            "  --bound             print the partial-recovery bound instead (needs --alpha)\n"
            "  --json              print one JSON object instead of text\n"
            "\n"
            "examples:\n"
            "  codedtrain codes --code cyclic --workers 8 --stragglers 2\n"
            "  codedtrain codes --code expander --workers 16 --stragglers 3 --load 4 --decoder optimal\n"
            "  codedtrain codes --code alpha-cyclic --workers 12 --stragglers 3 --alpha 0.8 --messages 2\n"
            "  codedtrain codes --code cyclic-mds --workers 64 --stragglers 8 --trials 200 --json\n"
            "  codedtrain codes --code frep-mds --workers 100 --stragglers 12 --budget 5\n"
            "  codedtrain codes --bound --workers 10 --stragglers 3 --alpha 0.9 --json\n",
            CODES_EXHAUSTIVE_MAX_WORKERS, CODES_EXHAUSTIVE_MAX_WORKERS, CODES_PRINT_MAX_WORKERS);
}

typedef struct codes_options {
    ct_code_spec spec;
    int trials;
    int max_stragglers; /* -1: n - 1 */
    int bound;
    int json;
    int layout;       /* --json: workers array at any n */
    double budget_s;  /* 0: no limit */
    long label_sets;
} codes_options;

static ct_status parse_decoder(const char *value, ct_code_decoder *out) {
    if (!strcmp(value, "default")) *out = CT_DECODER_DEFAULT;
    else if (!strcmp(value, "fixed")) *out = CT_DECODER_FIXED;
    else if (!strcmp(value, "optimal")) *out = CT_DECODER_OPTIMAL;
    else return CT_FAIL(CT_ERR_INVALID_ARG, "--decoder '%s': expected default, fixed or optimal", value);
    return CT_OK;
}

static ct_status parse_codes_options(int argc, char **argv, codes_options *o, int *help) {
    ct_code_spec init = CT_CODE_SPEC_INIT;
    o->spec = init;
    o->spec.scheme = CT_CODE_CYCLIC;
    o->spec.n_workers = 8;
    o->spec.stragglers = 1;
    o->trials = 2000;
    o->max_stragglers = -1;
    o->bound = o->json = o->layout = 0;
    o->budget_s = 10.0;
    o->label_sets = 20000;
    *help = 0;
    int stragglers_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { *help = 1; return CT_OK; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--bound")) { o->bound = 1; continue; }
        if (!strcmp(a, "--layout")) { o->layout = 1; continue; }
        if (!strcmp(a, "--code") || !strcmp(a, "--scheme")) { /* --code as in train; --scheme: old spelling */
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            if (ct_code_scheme_parse(v, &o->spec.scheme) != CT_OK)
                return CT_FAIL(CT_ERR_INVALID_ARG,
                               "%s '%s': unknown scheme (one of uncoded, ignore, frep, cyclic, "
                               "cyclic-mds, expander, bgc, sgc, erasurehead, alpha-subset, alpha-cyclic, ldgm, frep-mds)",
                               a, v);
        } else if (!strcmp(a, "--workers")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 4096, &o->spec.n_workers));
        } else if (!strcmp(a, "--stragglers")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 0, 4096, &o->spec.stragglers));
            stragglers_given = 1;
        } else if (!strcmp(a, "--load")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 4096, &o->spec.load));
        } else if (!strcmp(a, "--messages")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 1 << 20, &o->spec.messages));
        } else if (!strcmp(a, "--alpha")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_fraction("--alpha", v, &o->spec.alpha));
        } else if (!strcmp(a, "--seed")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_u64(a, v, &o->spec.seed));
        } else if (!strcmp(a, "--decoder")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(parse_decoder(v, &o->spec.decoder));
        } else if (!strcmp(a, "--straggle-prob")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_double(a, v, 0.0, 0.999999, &o->spec.straggle_prob));
        } else if (!strcmp(a, "--ldgm-weight")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 4096, &o->spec.ldgm_weight));
        } else if (!strcmp(a, "--wait-count")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 0, 4096, &o->spec.wait_count)); /* 0 = n - s, as the library */
        } else if (!strcmp(a, "--trials")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 1, 100000000, &o->trials));
        } else if (!strcmp(a, "--budget")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_double(a, v, 0.0, 1e7, &o->budget_s));
        } else if (!strcmp(a, "--label-sets")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            int sets = 0;
            CT_TRY(ct_arg_int(a, v, 1, 100000000, &sets));
            o->label_sets = sets;
        } else if (!strcmp(a, "--max-stragglers")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            CT_TRY(ct_arg_int(a, v, 0, 4095, &o->max_stragglers));
        } else {
            return CT_FAIL(CT_ERR_INVALID_ARG, "unknown option '%s' (see codedtrain codes --help)", a);
        }
    }
    int n = o->spec.n_workers;
    /* uncoded tolerates no straggler, and one worker leaves none to lose */
    if (!stragglers_given && (o->spec.scheme == CT_CODE_UNCODED || n == 1)) o->spec.stragglers = 0;
    if (o->spec.stragglers >= n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--stragglers %d: must be < --workers %d (s < n)", o->spec.stragglers, n);
    if (o->spec.load > n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--load %d: must be <= --workers %d (d <= n)", o->spec.load, n);
    if (o->max_stragglers >= n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--max-stragglers %d: must be < --workers %d", o->max_stragglers, n);
    if (o->bound && o->spec.alpha == 0.0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--bound needs --alpha A in (0, 1]");
    return CT_OK;
}

/* ------------------------------------------------------------------ --bound */

typedef struct bound_scheme_row {
    ct_code_scheme scheme;
    const char *variant; /* messages per worker, in words */
    int messages;        /* as passed to ct_code_alpha_min_load (n: clamped to d) */
    double min_load;     /* -1: no load <= n reaches alpha */
} bound_scheme_row;

static int run_bound(const codes_options *o) {
    int n = o->spec.n_workers, s = o->spec.stragglers;
    double alpha = o->spec.alpha, lower = 0.0;
    ct_alpha_bound profile;
    ct_status st = ct_code_alpha_lower_bound(n, s, alpha, &lower);
    if (st == CT_OK) st = ct_alpha_bound_solve(n, s, alpha, &profile);
    bound_scheme_row rows[3] = {
        {CT_CODE_ALPHA_SUBSET, "m=d", 0, -1.0},
        {CT_CODE_ALPHA_CYCLIC, "m=1", 1, -1.0},
        {CT_CODE_ALPHA_CYCLIC, "m=d", n, -1.0}, /* m > d is clamped to d */
    };
    for (int r = 0; r < 3 && st == CT_OK; r++)
        st = ct_code_alpha_min_load(rows[r].scheme, n, s, alpha, rows[r].messages, &rows[r].min_load);
    ct_alpha_subset_design design;
    int have_design = st == CT_OK && ct_alpha_subset_plan(n, s, alpha, 0, &design) == CT_OK;
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    if (o->json) {
        ct_json j;
        ct_json_begin(&j);
        ct_json_key_int(&j, "n", n);
        ct_json_key_int(&j, "s", s);
        ct_json_key_num(&j, "alpha", alpha);
        ct_json_key_num(&j, "lower_bound", lower);
        ct_json_key_begin_object(&j, "profile");
        ct_json_key_int(&j, "r1", profile.r1);
        ct_json_key_int(&j, "r2", profile.r2);
        ct_json_key_num(&j, "w1", profile.w1);
        ct_json_key_num(&j, "w2", profile.w2);
        ct_json_key_num(&j, "lost", profile.lost);
        ct_json_end_object(&j);
        ct_json_key_begin_array(&j, "schemes");
        for (int r = 0; r < 3; r++) {
            ct_json_array_begin_object(&j);
            ct_json_key_str(&j, "scheme", ct_code_scheme_name(rows[r].scheme));
            ct_json_key_str(&j, "messages", rows[r].variant);
            if (rows[r].min_load < 0) ct_json_key_null(&j, "min_load");
            else ct_json_key_num(&j, "min_load", rows[r].min_load);
            ct_json_end_object(&j);
        }
        ct_json_end_array(&j);
        const char *text = ct_json_end(&j);
        if (!text) { ct_json_free(&j); fprintf(stderr, "codedtrain codes: out of memory for the JSON output\n"); return 1; }
        printf("%s\n", text);
        ct_json_free(&j);
        return 0;
    }
    printf("partial recovery: n = %d workers, s = %d stragglers, alpha = %g\n", n, s, alpha);
    printf("lower bound on the normalised computation load: %.6f\n", lower);
    if (profile.r1 == profile.r2)
        printf("  optimal storage profile: every partition on %d worker%s (loss %.6f <= 1 - alpha)\n",
               profile.r1, profile.r1 == 1 ? "" : "s", profile.lost);
    else
        printf("  optimal storage profile: %.4f of the data on %d worker%s, %.4f on %d (loss %.6f <= 1 - alpha)\n",
               profile.w1, profile.r1, profile.r1 == 1 ? "" : "s", profile.w2, profile.r2, profile.lost);
    printf("\n%-14s %-9s %s\n", "scheme", "messages", "smallest load reaching alpha");
    for (int r = 0; r < 3; r++) {
        printf("%-14s %-9s ", ct_code_scheme_name(rows[r].scheme), rows[r].variant);
        if (rows[r].min_load < 0) printf("none (no load <= n, or the design is too large to build)\n");
        else printf("%.6f  (%.3f x the bound)\n", rows[r].min_load, lower > 0 ? rows[r].min_load / lower : 1.0);
    }
    if (have_design)
        printf("\nalpha-subset design: q1 = %d copies per %d-subset, q2 = %d per %d-subset; k = %d partitions,"
               " d = %d per worker, recovers %.6f on every s-set\n",
               design.q1, design.r1, design.q2, design.r2, design.k, design.d, design.alpha);
    printf("alpha-cyclic loads are whole windows d (k = n), so they round up to an integer.\n");
    return 0;
}

/* ------------------------------------------------------------------ report */

typedef struct code_summary {
    int n, k, s, max_load, max_messages, total_messages;
    double mean_load, mean_messages, normalised_load; /* mean copies per partition */
    double lambda2;
} code_summary;

static code_summary summarise(const ct_code *code) {
    code_summary m = {0};
    m.n = ct_code_n_workers(code);
    m.k = ct_code_n_partitions(code);
    m.s = ct_code_stragglers(code);
    m.max_load = ct_code_max_load(code);
    m.max_messages = ct_code_max_messages(code);
    m.total_messages = ct_code_total_messages(code);
    long load_sum = 0, msg_sum = 0;
    for (int i = 0; i < m.n; i++) {
        load_sum += ct_code_load(code, i);
        msg_sum += ct_code_messages(code, i);
    }
    m.mean_load = (double)load_sum / m.n;
    m.mean_messages = (double)msg_sum / m.n;
    m.normalised_load = (double)load_sum / m.k;
    m.lambda2 = ct_code_lambda2(code);
    return m;
}

static void print_partition_list(const ct_code *code, int worker, int max_shown) {
    const int *parts = ct_code_partitions(code, worker);
    int d = ct_code_load(code, worker);
    printf("{");
    for (int j = 0; j < d && j < max_shown; j++) printf("%s%d", j ? "," : "", parts[j]);
    if (d > max_shown) printf(",... (%d in all)", d);
    printf("}");
}

/* Row of B for message l of a worker: its encoding row scattered over k. */
static void print_encoding_row(const ct_code *code, int worker, int l, int k) {
    const int *parts = ct_code_partitions(code, worker);
    const float *enc = ct_code_encoding(code, worker);
    int d = ct_code_load(code, worker);
    for (int col = 0; col < k; col++) {
        double v = 0.0;
        int held = 0;
        for (int j = 0; j < d; j++)
            if (parts[j] == col) { v = enc[l * d + j]; held = 1; }
        if (!held || v == 0.0) printf("      .");
        else printf(" %6.3f", v);
    }
    printf("\n");
}

static void print_layout(const ct_code *code, const code_summary *m) {
    int full = m->n <= CODES_PRINT_MAX_WORKERS && m->k <= CODES_PRINT_MAX_PARTITIONS;
    if (m->n <= CODES_PRINT_MAX_WORKERS) {
        printf("\nassignment (partitions per worker):\n");
        for (int i = 0; i < m->n; i++) {
            printf("  worker %2d: d = %d, m = %d, partitions ", i, ct_code_load(code, i), ct_code_messages(code, i));
            print_partition_list(code, i, 24);
            printf("\n");
        }
    } else {
        printf("\nassignment (first and last workers of %d):\n", m->n);
        for (int i = 0; i < m->n; i++) {
            if (i == 3 && m->n > 4) { printf("  ...\n"); i = m->n - 1; }
            printf("  worker %4d: d = %d, m = %d, partitions ", i, ct_code_load(code, i), ct_code_messages(code, i));
            print_partition_list(code, i, 12);
            printf("\n");
        }
    }
    if (full) {
        printf("\nencoding matrix B (one row per message, one column per partition; . = 0):\n");
        printf("  %-9s", "");
        for (int col = 0; col < m->k; col++) printf(" %6d", col);
        printf("\n");
        for (int i = 0; i < m->n; i++)
            for (int l = 0; l < ct_code_messages(code, i); l++) {
                printf("  w%-3d m%-3d", i, l);
                print_encoding_row(code, i, l, m->k);
            }
        return;
    }
    /* too big to print: how dense and how spread the coefficients are */
    long nonzero = 0;
    double smallest = INFINITY, largest = 0.0;
    for (int i = 0; i < m->n; i++) {
        const float *enc = ct_code_encoding(code, i);
        int entries = ct_code_load(code, i) * ct_code_messages(code, i);
        for (int t = 0; t < entries; t++) {
            double v = fabs(enc[t]);
            if (v == 0.0) continue;
            nonzero++;
            if (v < smallest) smallest = v;
            if (v > largest) largest = v;
        }
    }
    printf("\nencoding matrix B: %d x %d (messages x partitions), %ld nonzeros (%.2f%%), |coefficients| in [%.4g, %.4g]\n",
           m->total_messages, m->k, nonzero, 100.0 * nonzero / ((double)m->total_messages * m->k),
           nonzero ? smallest : 0.0, largest);
}

static void print_text(const ct_code *code, const code_summary *m, const straggler_row *rows, int n_rows,
                       const decode_tally *tally, double cold_us, double cached_us, const code_label *label) {
    const ct_code_spec *spec = ct_code_get_spec(code);
    printf("scheme %s: n = %d workers, k = %d partitions, designed for s = %d stragglers (%s)\n",
           ct_code_scheme_name(spec->scheme), m->n, m->k, m->s,
           code_label_exact(label) ? "exact" : label->by_design ? "approximate at this n" : "approximate or partial");
    printf("label: ");
    code_label_print(stdout, code, label);
    printf("\n");
    if (spec->alpha > 0) printf("alpha (guaranteed recovered fraction at s stragglers): %g\n", spec->alpha);
    printf("computation load: max d = %d, mean d = %.3f partitions per worker (%.3f copies per partition)\n",
           m->max_load, m->mean_load, m->normalised_load);
    printf("communication load: max m = %d, mean m = %.3f messages per worker (%d in all)\n", m->max_messages,
           m->mean_messages, m->total_messages);
    if (m->lambda2 >= 0) printf("second singular value of the assignment (lambda2): %.4f\n", m->lambda2);
    print_layout(code, m);

    printf("\ndecoding with K stragglers (whole workers; residual = ||a^T B_F - 1|| / sqrt(k)):\n");
    printf("  %4s %9s %-8s %11s %11s %9s %9s %7s %10s %10s\n", "K", "sets", "sampling", "worst_res", "mean_res",
           "worst_rec", "mean_rec", "exact", "res_bound", "worst_cond");
    for (int r = 0; r < n_rows; r++) {
        const straggler_row *row = &rows[r];
        char bound[32] = "-";
        if (row->residual_bound >= 0) snprintf(bound, sizeof bound, "%.4g", row->residual_bound);
        printf("  %4d %9ld %-8s %11.4g %11.4g %9.4f %9.4f %6.1f%% %10s %10.4g\n", row->stragglers, row->sets,
               row->exhaustive ? "all" : "random", row->worst_residual, row->sum_residual / row->sets,
               row->worst_recovered, row->sum_recovered / row->sets, 100.0 * row->exact / row->sets, bound,
               row->worst_condition);
    }
    printf("  (exact = share of sets decoded exactly; res_bound = the scheme's promised worst residual;\n"
           "   worst_cond = largest condition number of a system solved, 0 = none solved)\n");
    if (tally->worst_condition > 0)
        printf("\nworst condition number met: %.4g", tally->worst_condition);
    else
        printf("\nworst condition number met: none (no least-squares solve)");
    if (tally->singular) printf(" (plus %ld rank-zero patterns)", tally->singular);
    printf("\ndecode time per call at s = %d stragglers: cold %.2f us (cache cleared), cached %.3f us (median)\n",
           m->s, cold_us, cached_us);
}

static int print_json(const ct_code *code, const code_summary *m, const straggler_row *rows, int n_rows,
                      const decode_tally *tally, double cold_us, double cached_us, const codes_options *o,
                      const code_label *label) {
    const ct_code_spec *spec = ct_code_get_spec(code);
    ct_json j;
    ct_json_begin(&j);
    ct_json_key_str(&j, "scheme", ct_code_scheme_name(spec->scheme));
    ct_json_key_int(&j, "n", m->n);
    ct_json_key_int(&j, "k", m->k);
    ct_json_key_int(&j, "s", m->s);
    ct_json_key_bool(&j, "exact", code_label_exact(label)); /* measured, see "label" */
    code_label_json(&j, label);
    ct_json_key_int(&j, "load", m->max_load);
    ct_json_key_num(&j, "load_mean", m->mean_load);
    ct_json_key_num(&j, "load_normalised", m->normalised_load);
    ct_json_key_int(&j, "messages", m->max_messages);
    ct_json_key_num(&j, "messages_mean", m->mean_messages);
    ct_json_key_int(&j, "total_messages", m->total_messages);
    if (spec->alpha > 0) ct_json_key_num(&j, "alpha", spec->alpha);
    ct_json_key_int(&j, "seed", (long long)spec->seed);
    if (m->lambda2 >= 0) ct_json_key_num(&j, "lambda2", m->lambda2);
    ct_json_key_num(&j, "worst_condition", tally->worst_condition);
    ct_json_key_int(&j, "singular_patterns", tally->singular);
    ct_json_key_num(&j, "decode_cold_us", cold_us);
    ct_json_key_num(&j, "decode_cached_us", cached_us);
    ct_json_key_int(&j, "trials", o->trials);
    ct_json_key_num(&j, "budget_s", o->budget_s);
    if (m->n <= CODES_PRINT_MAX_WORKERS || o->layout) {
        ct_json_key_begin_array(&j, "workers");
        for (int i = 0; i < m->n; i++) {
            int d = ct_code_load(code, i), msgs = ct_code_messages(code, i);
            const int *parts = ct_code_partitions(code, i);
            const float *enc = ct_code_encoding(code, i);
            ct_json_array_begin_object(&j);
            ct_json_key_int(&j, "worker", i);
            ct_json_key_begin_array(&j, "partitions");
            for (int t = 0; t < d; t++) ct_json_array_int(&j, parts[t]);
            ct_json_end_array(&j);
            ct_json_key_int(&j, "messages", msgs);
            ct_json_key_begin_array(&j, "encoding"); /* m x d, row-major */
            for (int t = 0; t < d * msgs; t++) ct_json_array_num(&j, enc[t]);
            ct_json_end_array(&j);
            ct_json_end_object(&j);
        }
        ct_json_end_array(&j);
    }
    ct_json_key_begin_array(&j, "rows");
    for (int r = 0; r < n_rows; r++) {
        const straggler_row *row = &rows[r];
        ct_json_array_begin_object(&j);
        ct_json_key_int(&j, "stragglers", row->stragglers);
        ct_json_key_int(&j, "sets", row->sets);
        ct_json_key_bool(&j, "exhaustive", row->exhaustive);
        ct_json_key_num(&j, "worst_residual", row->worst_residual);
        ct_json_key_num(&j, "mean_residual", row->sum_residual / row->sets);
        ct_json_key_num(&j, "worst_recovered", row->worst_recovered);
        ct_json_key_num(&j, "mean_recovered", row->sum_recovered / row->sets);
        ct_json_key_num(&j, "exact_fraction", (double)row->exact / row->sets);
        ct_json_key_num(&j, "worst_condition", row->worst_condition);
        if (row->residual_bound >= 0) ct_json_key_num(&j, "residual_bound", row->residual_bound);
        else ct_json_key_null(&j, "residual_bound");
        ct_json_end_object(&j);
    }
    ct_json_end_array(&j);
    const char *text = ct_json_end(&j);
    if (!text) {
        ct_json_free(&j);
        fprintf(stderr, "codedtrain codes: out of memory for the JSON output\n");
        return 1;
    }
    printf("%s\n", text);
    ct_json_free(&j);
    return 0;
}

int ct_cli_codes(int argc, char **argv) {
    codes_options o;
    int help = 0;
    ct_status st = parse_codes_options(argc, argv, &o, &help);
    if (help) {
        codes_usage(stdout);
        return 0;
    }
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    if (o.bound) return run_bound(&o);

    ct_code *code = NULL;
    st = ct_code_create(&o.spec, &code);
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    code_summary summary = summarise(code);
    int n_rows = (o.max_stragglers >= 0 ? o.max_stragglers : summary.n - 1) + 1;
    straggler_row *rows = calloc((size_t)n_rows, sizeof *rows);
    decode_tally tally = {0.0, 0};
    double cold_us = NAN, cached_us = NAN, started = ct_now_s();
    double budget = o.budget_s;
    code_label label;
    long share = o.trials;
    if (!rows) st = CT_FAIL(CT_ERR_NOMEM, "codes: out of memory for %d table rows", n_rows);
    /* one decode first, abandoned when it alone would take over half the
     * budget (dense solves at n in the thousands): then answer without one */
    double probe_s = 0.0;
    int too_slow = 0;
    if (st == CT_OK) st = code_label_probe(code, budget * 0.5, &probe_s, &too_slow);
    if (st == CT_OK && too_slow) {
        printf(o.json ? "{\"scheme\":\"%s\",\"n\":%d,\"k\":%d,\"s\":%d,\"exact\":false,\"label\":{\"method\":"
                        "\"not measured\",\"exact_by_design\":%s,\"probe_decode_s_over\":%g},\"rows\":[]}\n"
                      : "scheme %s: n = %d workers, k = %d partitions, designed for s = %d stragglers\n"
                        "label: not measured (exact by design: %s): one decode at s stragglers takes over %g s, "
                        "more than half the budget\n",
               ct_code_scheme_name(o.spec.scheme), summary.n, summary.k, summary.s,
               ct_code_is_exact(code) ? "true" : "false", probe_s);
        fprintf(stderr,
                "codedtrain codes: one decode of this code (n = %d, s = %d) takes over %g s, so the %g s budget "
                "measures nothing; --budget S (e.g. --budget 600 --max-stragglers %d) measures the label "
                "and the table up to K = s\n",
                summary.n, summary.s, probe_s, budget, summary.s);
        free(rows);
        return 0; /* the code stays allocated: the abandoned decode still uses it */
    }
    /* the label next, on about half the budget */
    if (st == CT_OK) st = code_label_measure(code, budget * 0.5, o.label_sets, o.spec.seed, &label);
    /* time next, on a fresh cache, so the table's decodes do not warm it */
    double cold_budget = budget > 0 ? fmin(CODES_TIMING_COLD_BUDGET_S, 0.05 * budget) : CODES_TIMING_COLD_BUDGET_S;
    if (st == CT_OK) st = codes_time_decodes(code, o.spec.seed, cold_budget, &cold_us, &cached_us);
    if (st == CT_OK && budget > 0) {
        /* the table gets what is left: as many sets per row as fit, at least
         * one; rows past what fits are dropped (said on stderr) */
        double left = budget - (ct_now_s() - started), per = fmax(cold_us * 1e-6, 1e-7);
        double fit = left > 0 ? left / per : 0.0;
        long per_row = (long)(fit / n_rows);
        if (per_row < share) share = per_row < 1 ? 1 : per_row;
        if (fit < n_rows) {
            int keep = fit >= 1 ? (int)fit : 1;
            if (keep > n_rows) keep = n_rows;
            if (keep < n_rows)
                fprintf(stderr,
                        "codedtrain codes: note: one decode takes ~%.3g s, so the %g s budget covers table rows "
                        "K = 0..%d of %d; --budget S or --max-stragglers K sizes it\n",
                        cold_us * 1e-6, budget, keep - 1, n_rows - 1);
            n_rows = keep;
        }
    }
    if (st == CT_OK) st = codes_build_table(code, o.spec.seed, rows, n_rows, share, &tally);
    int rc = 0;
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain codes: %s\n", ct_last_error());
        rc = ct_status_exit_code(st);
    } else if (o.json) {
        rc = print_json(code, &summary, rows, n_rows, &tally, cold_us, cached_us, &o, &label);
    } else {
        print_text(code, &summary, rows, n_rows, &tally, cold_us, cached_us, &label);
    }
    free(rows);
    ct_code_destroy(code);
    return rc;
}
