/* `codedtrain compare`: the same model, seed and straggler model trained under
 * several codes; a side-by-side table, a CSV of accuracy against time, and a
 * PNG plot drawn by gnuplot. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codedtrain/codes.h"
#include "codedtrain/train.h"
#include "host/args.h"
#include "host/cli.h"
#include "host/jsonl.h"
#include "host/outpath.h"
#include "host/plot.h"

#define MAX_CODES 32

static void compare_usage(FILE *f) {
    fprintf(f,
            "usage: codedtrain compare --codes A,B,... [train options] [--out DIR] [--json]\n"
            "\n"
            "Trains the same model with the same seed and straggler model once per code and\n"
            "prints a table: time to target accuracy, final accuracy, mean step time, mean\n"
            "wait for results, the fraction of data dropped, the ideal master's expected\n"
            "step time (bound_step_s) and bound / mean step (efficiency). Writes DIR/compare.csv\n"
            "(test accuracy against time, one row per code and epoch), DIR/<code>.jsonl\n"
            "(each run's log), DIR/compare.png (accuracy against time) and DIR/<code>.timeline.png\n"
            "(workers against time over the first steps; both drawn by gnuplot, when installed).\n"
            "\n"
            "options:\n"
            "  --codes LIST   comma-separated codes (default uncoded,ignore,cyclic)\n"
            "  --out DIR      output directory (default compare-out)\n"
            "  --json         print the table as a JSON array instead\n"
            "  --trace        also write DIR/<code>.trace.json (Chrome trace events, see train --trace)\n"
            "  --config FILE  start from a run's configuration (its log) or a JSON object; flags override it\n"
            "  every `codedtrain train` option (--workers, --stragglers, --straggle, --clock, ...)\n"
            "\n"
            "examples:\n"
            "  codedtrain compare --codes uncoded,ignore,frep,cyclic --workers 8 --stragglers 1 \\\n"
            "      --clock virtual --straggle shifted-exp:0,3 --target-acc 0.85 --epochs 5\n"
            "  codedtrain compare --codes uncoded,cyclic --device cpu --workers 4 --stragglers 1 \\\n"
            "      --straggle slow:0@4 --epochs 1 --json\n");
}

typedef struct run_row {
    char code[64];
    ct_train_result res;
} run_row;

/* accuracy against time, one colour and point type per code */
static ct_status write_plot(const char *out_dir, run_row *rows, int n_rows, double target) {
    char script[8192], png[2048], csv[2048];
    snprintf(png, sizeof png, "%s/compare.png", out_dir);
    snprintf(csv, sizeof csv, "%s/compare.csv", out_dir);
    int off = snprintf(script, sizeof script,
                       "set terminal pngcairo size 900,560; set output '%s';"
                       "set datafile separator ','; set key bottom right; set grid;"
                       "set xlabel 'training time (s)'; set ylabel 'test accuracy';"
                       "set title 'test accuracy against time';",
                       png);
    if (target > 0) off += snprintf(script + off, sizeof script - off, "set arrow from graph 0,first %g to graph 1,first %g nohead dt 2;", target, target);
    off += snprintf(script + off, sizeof script - off, "plot ");
    for (int r = 0; r < n_rows && off < (int)sizeof script - 300; r++)
        off += snprintf(script + off, sizeof script - off,
                        "%s'%s' using (strcol(1) eq '%s' ? $3 : NaN):4 with linespoints %s lw 1.5 title '%s'",
                        r ? ", " : "", csv, rows[r].code, ct_plot_series_style(r), rows[r].code);
    return ct_plot_run(script, png);
}

/* append each epoch record of one run's log to the CSV */
static ct_status append_csv(FILE *csv, const char *code, const char *log_path) {
    FILE *f = fopen(log_path, "r");
    if (!f) return CT_FAIL(CT_ERR_IO, "%s: cannot read back the run's log", log_path);
    char line[1 << 16];
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"type\":\"epoch\"") && !strstr(line, "\"type\":\"eval\"")) continue;
        int epoch = 0;
        double t = 0, acc = 0, loss = 0;
        const char *p;
        if ((p = strstr(line, "\"epoch\":"))) epoch = atoi(p + 8);
        if ((p = strstr(line, "\"time_s\":"))) t = strtod(p + 9, NULL);
        if ((p = strstr(line, "\"test_acc\":"))) acc = strtod(p + 11, NULL);
        if ((p = strstr(line, "\"train_loss\":"))) loss = strtod(p + 13, NULL);
        fprintf(csv, "%s,%d,%.6f,%.6f,%.6f\n", code, epoch, t, acc, loss);
    }
    fclose(f);
    return CT_OK;
}

static int compare_run(int argc, char **argv, ct_config_file *store);

/* --out DIR: an existing directory (or one mkdir will create), and every file
 * compare writes there a regular file or new */
static ct_status check_outputs(const char *out_dir, const run_row *rows, int n_rows, int traces) {
    if (!*out_dir || strlen(out_dir) > 1900) return CT_FAIL(CT_ERR_INVALID_ARG, "--out: empty or longer than 1900 characters");
    struct stat sb;
    if (lstat(out_dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return CT_FAIL(CT_ERR_INVALID_ARG, "--out %s: exists and is not a directory", out_dir);
    } else {
        /* to be created: its parent must take it, checked as if it were a file */
        return ct_outpath_check("--out", out_dir);
    }
    /* exactly the files this run will write: the plots only where gnuplot is, traces only with --trace */
    const int plots = ct_plot_available();
    char path[2048];
    snprintf(path, sizeof path, "%s/compare.csv", out_dir);
    CT_TRY(ct_outpath_check("--out", path));
    if (plots) {
        snprintf(path, sizeof path, "%s/compare.png", out_dir);
        CT_TRY(ct_outpath_check("--out", path));
    }
    const struct { const char *suffix; int written; } per_code[] = {{"jsonl", 1}, {"timeline.png", plots}, {"trace.json", traces}};
    for (int r = 0; r < n_rows; r++)
        for (int i = 0; i < 3; i++) {
            if (!per_code[i].written) continue;
            snprintf(path, sizeof path, "%s/%.64s.%s", out_dir, rows[r].code, per_code[i].suffix);
            CT_TRY(ct_outpath_check("--out", path));
        }
    return CT_OK;
}

int ct_cli_compare(int argc, char **argv) {
    ct_config_file store = {0};
    const int rc = compare_run(argc, argv, &store);
    ct_config_file_free(&store); /* after every run: the config's strings point into it */
    return rc;
}

static int compare_run(int argc, char **argv, ct_config_file *store) {
    ct_train_config cfg = CT_TRAIN_CONFIG_INIT;
    const char *codes = "uncoded,ignore,cyclic", *out_dir = "compare-out";
    int json = 0, traces = 0;
    ct_status st = CT_OK;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { compare_usage(stdout); return 0; }
    /* a configuration file first (its code is replaced per run), then the flags */
    const char *config = ct_cli_config_path(argc, argv);
    if (config) st = ct_cli_config_apply(config, &cfg, store);
    for (int i = 1; i < argc && st == CT_OK; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config")) i++;
        else if (!strcmp(a, "--codes")) st = ct_arg_value(argc, argv, &i, &codes);
        else if (!strcmp(a, "--out")) st = ct_arg_value(argc, argv, &i, &out_dir);
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--trace")) traces = 1;
        else if (!strcmp(a, "--log") || !strcmp(a, "--code") || !strcmp(a, "--plot-timeline")) st = CT_FAIL(CT_ERR_INVALID_ARG, "%s: compare sets it per code (use --codes and --out)", a);
        else {
            int matched = 0;
            st = ct_cli_train_flag(argc, argv, &i, &cfg, &matched);
            if (st == CT_OK && !matched) st = CT_FAIL(CT_ERR_INVALID_ARG, "unknown option '%s' (see codedtrain compare --help)", a);
        }
    }
    run_row rows[MAX_CODES];
    int n_rows = 0;
    char list[1024];
    if (st == CT_OK && strlen(codes) >= sizeof list) st = CT_FAIL(CT_ERR_INVALID_ARG, "--codes: list too long");
    if (st == CT_OK) {
        snprintf(list, sizeof list, "%s", codes);
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (n_rows == MAX_CODES) { st = CT_FAIL(CT_ERR_INVALID_ARG, "--codes: at most %d codes", MAX_CODES); break; }
            snprintf(rows[n_rows++].code, sizeof rows[0].code, "%s", tok);
        }
        if (st == CT_OK && n_rows == 0) st = CT_FAIL(CT_ERR_INVALID_ARG, "--codes '%s': no code named", codes);
    }
    /* every element and every output checked before the first run trains */
    for (int r = 0; r < n_rows && st == CT_OK; r++) {
        ct_code_scheme scheme;
        if (ct_code_scheme_parse(rows[r].code, &scheme) != CT_OK)
            st = CT_FAIL(CT_ERR_INVALID_ARG, "--codes: '%s' is not a code (see codedtrain codes --help)", rows[r].code);
        for (int q = 0; q < r && st == CT_OK; q++)
            if (!strcmp(rows[q].code, rows[r].code))
                st = CT_FAIL(CT_ERR_INVALID_ARG, "--codes: '%s' named twice (its log would be overwritten)", rows[r].code);
    }
    if (st == CT_OK && (cfg.checkpoint_path || cfg.resume_path))
        st = CT_FAIL(CT_ERR_INVALID_ARG, "%s: compare trains once per code; every run would write the same checkpoint",
                     cfg.checkpoint_path ? "--checkpoint" : "--resume");
    if (st == CT_OK) st = check_outputs(out_dir, rows, n_rows, traces);
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain compare: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "codedtrain compare: --out %s: cannot create the directory: %s\n", out_dir, strerror(errno));
        return 2;
    }
    char csv_path[2048], tmp_path[2100];
    snprintf(csv_path, sizeof csv_path, "%s/compare.csv", out_dir);
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", csv_path);
    FILE *csv = fopen(tmp_path, "w");
    if (!csv) {
        fprintf(stderr, "codedtrain compare: %s: cannot write\n", tmp_path);
        return 1;
    }
    fprintf(csv, "code,epoch,time_s,test_acc,train_loss\n");
    const ct_progress_mode progress = cfg.progress;
    for (int r = 0; r < n_rows; r++) {
        char log_path[2048];
        if (snprintf(log_path, sizeof log_path, "%.1900s/%.64s.jsonl", out_dir, rows[r].code) >= (int)sizeof log_path) {
            fprintf(stderr, "codedtrain compare: log path too long\n");
            return 2;
        }
        ct_train_config c = cfg;
        c.code = rows[r].code;
        c.log_path = log_path;
        char timeline_path[2100], trace_path[2100];
        snprintf(timeline_path, sizeof timeline_path, "%.1900s/%.64s.timeline.png", out_dir, rows[r].code);
        snprintf(trace_path, sizeof trace_path, "%.1900s/%.64s.trace.json", out_dir, rows[r].code);
        c.timeline_path = ct_plot_available() ? timeline_path : NULL;
        c.trace_path = traces ? trace_path : NULL;
        /* shared flags apply where they mean something: uncoded tolerates no
         * straggler and, like ignore, holds one partition per worker */
        if (!strcmp(c.code, "uncoded")) c.stragglers = 0;
        if (!strcmp(c.code, "uncoded") || !strcmp(c.code, "ignore")) c.load = 0;
        c.progress = json ? CT_PROGRESS_OFF : (progress == CT_PROGRESS_OFF ? CT_PROGRESS_OFF : CT_PROGRESS_LINES);
        if (!json) printf("== %s ==\n", rows[r].code);
        fflush(stdout);
        st = ct_train_run(&c, &rows[r].res);
        if (st == CT_OK) st = append_csv(csv, rows[r].code, log_path);
        if (st != CT_OK) {
            fprintf(stderr, "codedtrain compare: code %s: %s (%s)\n", rows[r].code, ct_last_error(), ct_status_str(st));
            fclose(csv);
            remove(tmp_path);
            return ct_status_exit_code(st);
        }
    }
    if (fclose(csv) != 0 || rename(tmp_path, csv_path) != 0) {
        fprintf(stderr, "codedtrain compare: %s: write failed\n", csv_path);
        return 1;
    }
    const int plotted = write_plot(out_dir, rows, n_rows, cfg.target_acc) == CT_OK;
    if (!plotted && !json) fprintf(stderr, "codedtrain compare: no plot: %s\n", ct_last_error());
    /* time to target relative to the uncoded run, where both reached it */
    double base = -1;
    for (int r = 0; r < n_rows; r++)
        if (!strcmp(rows[r].code, "uncoded")) base = rows[r].res.time_to_target_s;
    if (json) {
        printf("[");
        for (int r = 0; r < n_rows; r++) {
            const ct_train_result *x = &rows[r].res;
            ct_json j;
            ct_json_begin(&j);
            ct_json_key_str(&j, "code", rows[r].code);
            if (x->time_to_target_s >= 0) ct_json_key_num(&j, "time_to_target_s", x->time_to_target_s);
            else ct_json_key_null(&j, "time_to_target_s");
            if (base > 0 && x->time_to_target_s >= 0) ct_json_key_num(&j, "ratio_to_uncoded", x->time_to_target_s / base);
            else ct_json_key_null(&j, "ratio_to_uncoded");
            ct_json_key_num(&j, "final_test_acc", x->final_test_acc);
            ct_json_key_num(&j, "mean_step_s", x->mean_step_s);
            ct_json_key_num(&j, "mean_wait_s", x->mean_wait_s);
            if (isfinite(x->bound_step_s)) {
                ct_json_key_num(&j, "bound_step_s", x->bound_step_s);
                ct_json_key_num(&j, "ideal_step_s", x->ideal_step_s);
                ct_json_key_num(&j, "efficiency", x->efficiency);
                ct_json_key_num(&j, "efficiency_same_draws", x->efficiency_same_draws);
            } else {
                ct_json_key_null(&j, "bound_step_s");
                ct_json_key_null(&j, "efficiency");
            }
            ct_json_key_num(&j, "data_dropped", x->data_dropped);
            ct_json_key_int(&j, "results_dropped", x->dropped);
            ct_json_key_int(&j, "steps", x->steps);
            ct_json_key_num(&j, "time_s", x->time_s);
            const char *s = ct_json_end(&j);
            printf("%s%s", r ? ",\n " : "", s ? s : "{}");
            ct_json_free(&j);
        }
        printf("]\n");
    } else {
        printf("\n%-12s %15s %10s %10s %12s %12s %13s %12s %10s\n", "code", "time_to_target", "vs_uncoded", "final_acc",
               "mean_step_ms", "mean_wait_ms", "data_dropped", "ideal_ms", "efficiency");
        for (int r = 0; r < n_rows; r++) {
            const ct_train_result *x = &rows[r].res;
            char ttt[32], ratio[32];
            if (x->time_to_target_s >= 0) snprintf(ttt, sizeof ttt, "%.3fs", x->time_to_target_s);
            else snprintf(ttt, sizeof ttt, "not reached");
            if (base > 0 && x->time_to_target_s >= 0) snprintf(ratio, sizeof ratio, "%.2fx", x->time_to_target_s / base);
            else snprintf(ratio, sizeof ratio, "-");
            printf("%-12s %15s %10s %10.4f %12.3f %12.3f %13.3f %12.3f %10.3f\n", rows[r].code, ttt, ratio, x->final_test_acc,
                   1e3 * x->mean_step_s, 1e3 * x->mean_wait_s, x->data_dropped, 1e3 * x->bound_step_s, x->efficiency);
        }
        printf("\n(time on the %s clock; vs_uncoded: time to target over uncoded's; data_dropped: mean share of\n"
               " each minibatch's partitions not recovered; ideal_ms: the ideal master's expected step,\n"
               " efficiency: ideal_ms / mean_step_ms)\n",
               cfg.clock == CT_CLOCK_VIRTUAL ? "virtual" : "wall");
        printf("wrote %s/compare.csv%s, one log%s per code\n", out_dir, plotted ? ", compare.png (accuracy against time)" : "",
               plotted ? " and timeline PNG" : "");
    }
    return 0;
}
