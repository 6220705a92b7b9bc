/* Trace-event JSON and timeline PNG of a run (see trace.h). */
#include "host/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/jsonl.h"
#include "host/plot.h"

/* timeline bar kinds, in legend order; each its own colour */
enum { BAR_COMPUTE, BAR_DELAY, BAR_CUT, BAR_UNUSED, BAR_KINDS };
static const char *const bar_names[BAR_KINDS] = {"compute", "injected delay", "cut / dropped", "arrived, unused"};
static const char *const bar_colours[BAR_KINDS] = {"#0072b2", "#e69f00", "#cc79a7", "#9a9a9a"};

typedef struct bar { int worker, kind; double t0, t1; } bar;

struct ct_trace {
    ct_trace_config cfg;
    FILE *json;
    int events;         /* events written (comma placement) */
    bar *bars;
    int n_bars, cap_bars;
    double *decodes;    /* the first steps' decode instants */
    int n_decodes;
    long first_step;    /* the timeline counts steps from the first one it sees */
    int seen;
};

static ct_status emit(ct_trace *t, ct_json *j) {
    const char *s = ct_json_end(j);
    ct_status st = CT_OK;
    if (!s) st = CT_FAIL(CT_ERR_NOMEM, "--trace: out of memory");
    else if (fprintf(t->json, "%s\n%s", t->events++ ? "," : "", s) < 0)
        st = CT_FAIL(CT_ERR_IO, "--trace %s: write failed", t->cfg.json_path);
    ct_json_free(j);
    return st;
}

/* an event's common fields; ts and dur in microseconds, as the format wants */
static void event_begin(ct_json *j, const char *name, const char *ph, int tid, double ts_s) {
    ct_json_begin(j);
    ct_json_key_str(j, "name", name);
    ct_json_key_str(j, "ph", ph);
    ct_json_key_int(j, "pid", 1);
    ct_json_key_int(j, "tid", tid);
    ct_json_key_num(j, "ts", 1e6 * ts_s);
}

static void event_args(ct_json *j, const ct_trace *t, long step, int epoch, int worker) {
    ct_json_key_begin_object(j, "args");
    ct_json_key_int(j, "step", step);
    ct_json_key_int(j, "epoch", epoch);
    ct_json_key_str(j, "code", t->cfg.code ? t->cfg.code : "?");
    if (worker >= 0) ct_json_key_int(j, "worker", worker);
}

static ct_status span_event(ct_trace *t, const char *name, int tid, double t0, double t1, long step, int epoch,
                            int worker) {
    ct_json j;
    event_begin(&j, name, "X", tid, t0);
    ct_json_key_num(&j, "dur", t1 > t0 ? 1e6 * (t1 - t0) : 0.0);
    event_args(&j, t, step, epoch, worker);
    ct_json_end_object(&j);
    return emit(t, &j);
}

static ct_status track_name(ct_trace *t, int tid, const char *name) {
    ct_json j;
    ct_json_begin(&j);
    ct_json_key_str(&j, "name", "thread_name");
    ct_json_key_str(&j, "ph", "M");
    ct_json_key_int(&j, "pid", 1);
    ct_json_key_int(&j, "tid", tid);
    ct_json_key_begin_object(&j, "args");
    ct_json_key_str(&j, "name", name);
    ct_json_end_object(&j);
    CT_TRY(emit(t, &j));
    ct_json_begin(&j);
    ct_json_key_str(&j, "name", "thread_sort_index");
    ct_json_key_str(&j, "ph", "M");
    ct_json_key_int(&j, "pid", 1);
    ct_json_key_int(&j, "tid", tid);
    ct_json_key_begin_object(&j, "args");
    ct_json_key_int(&j, "sort_index", tid);
    ct_json_end_object(&j);
    return emit(t, &j);
}

ct_status ct_trace_open(const ct_trace_config *cfg, ct_trace **out) {
    *out = NULL;
    if (cfg->timeline_path && !ct_plot_available())
        return CT_FAIL(CT_ERR_INVALID_ARG, "--plot-timeline %s: gnuplot not found (install gnuplot-nox)", cfg->timeline_path);
    ct_trace *t = calloc(1, sizeof *t);
    if (!t) return CT_FAIL(CT_ERR_NOMEM, "trace: out of memory");
    t->cfg = *cfg;
    if (t->cfg.timeline_steps < 1) t->cfg.timeline_steps = 10;
    if (cfg->json_path) {
        t->json = fopen(cfg->json_path, "w");
        if (!t->json) {
            free(t);
            return CT_FAIL(CT_ERR_IO, "--trace %s: cannot open for writing", cfg->json_path);
        }
        ct_status st = fprintf(t->json, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"%s\"},\"traceEvents\":[",
                               cfg->virtual_clock ? "virtual" : "real") < 0
                           ? CT_FAIL(CT_ERR_IO, "--trace %s: write failed", cfg->json_path)
                           : CT_OK;
        if (st == CT_OK) st = track_name(t, 0, "master");
        for (int i = 0; i < cfg->n_workers && st == CT_OK; i++) {
            char name[32];
            snprintf(name, sizeof name, "worker %d", i);
            st = track_name(t, i + 1, name);
        }
        if (st != CT_OK) {
            ct_trace_free(t);
            return st;
        }
    }
    *out = t;
    return CT_OK;
}

static ct_status add_bar(ct_trace *t, int worker, int kind, double t0, double t1) {
    if (!(t1 > t0)) return CT_OK;
    if (t->n_bars == t->cap_bars) {
        int cap = t->cap_bars ? 2 * t->cap_bars : 256;
        bar *nb = realloc(t->bars, (size_t)cap * sizeof *nb);
        if (!nb) return CT_FAIL(CT_ERR_NOMEM, "--plot-timeline: out of memory");
        t->bars = nb;
        t->cap_bars = cap;
    }
    t->bars[t->n_bars++] = (bar){worker, kind, t0, t1};
    return CT_OK;
}

/* the worker's compute and delay pieces in the order they ran */
static void span_pieces(const ct_worker_span *sp, double *c0, double *c1, double *d0, double *d1) {
    if (sp->delay_first) {
        *d0 = sp->start, *d1 = sp->start + sp->delay_s;
        *c0 = *d1, *c1 = *c0 + sp->compute_s;
    } else {
        *c0 = sp->start, *c1 = sp->start + sp->compute_s;
        *d0 = *c1, *d1 = *d0 + sp->delay_s;
    }
}

static ct_status timeline_step(ct_trace *t, const ct_step_info *info) {
    for (int i = 0; i < info->n_spans; i++) {
        const ct_worker_span *sp = &info->spans[i];
        if (sp->outcome == CT_SPAN_IDLE) continue;
        double c0, c1, d0, d1;
        span_pieces(sp, &c0, &c1, &d0, &d1);
        if (sp->outcome == CT_SPAN_USED) {
            CT_TRY(add_bar(t, i, BAR_COMPUTE, c0, c1));
            CT_TRY(add_bar(t, i, BAR_DELAY, d0, d1));
        } else if (sp->outcome == CT_SPAN_UNUSED) {
            CT_TRY(add_bar(t, i, BAR_UNUSED, sp->start, sp->end));
        } else {
            CT_TRY(add_bar(t, i, BAR_CUT, sp->start, sp->end));
        }
    }
    double *nd = realloc(t->decodes, (size_t)(t->n_decodes + 1) * sizeof *nd);
    if (!nd) return CT_FAIL(CT_ERR_NOMEM, "--plot-timeline: out of memory");
    t->decodes = nd;
    t->decodes[t->n_decodes++] = info->t_decoded;
    return CT_OK;
}

ct_status ct_trace_step(ct_trace *t, long step, int epoch, const ct_step_info *info, double t_updated) {
    if (!t) return CT_OK;
    if (!t->seen) t->first_step = step, t->seen = 1;
    if (t->cfg.timeline_path && step - t->first_step < t->cfg.timeline_steps) CT_TRY(timeline_step(t, info));
    if (!t->json) return CT_OK;
    for (int i = 0; i < info->n_spans; i++) {
        const ct_worker_span *sp = &info->spans[i];
        if (sp->outcome == CT_SPAN_IDLE) continue;
        double c0, c1, d0, d1;
        span_pieces(sp, &c0, &c1, &d0, &d1);
        const char *delay = sp->outcome == CT_SPAN_DEAD ? "no answer (dead)" : "delay";
        if (sp->delay_first && sp->delay_s > 0) CT_TRY(span_event(t, delay, i + 1, d0, d1, step, epoch, i));
        if (sp->compute_s > 0) CT_TRY(span_event(t, "compute", i + 1, c0, c1, step, epoch, i));
        if (!sp->delay_first && sp->delay_s > 0) CT_TRY(span_event(t, delay, i + 1, d0, d1, step, epoch, i));
        /* the step's end for this worker: arrival, or why its result was not used */
        const char *what = sp->outcome == CT_SPAN_USED || sp->outcome == CT_SPAN_UNUSED ? "arrival"
                                                                                      : ct_span_outcome_name(sp->outcome);
        ct_json j;
        event_begin(&j, what, "i", i + 1, sp->end);
        ct_json_key_str(&j, "s", "t");
        event_args(&j, t, step, epoch, i);
        ct_json_key_str(&j, "outcome", ct_span_outcome_name(sp->outcome));
        if (sp->order >= 0) ct_json_key_int(&j, "order", sp->order);
        ct_json_end_object(&j);
        CT_TRY(emit(t, &j));
    }
    CT_TRY(span_event(t, "wait", 0, info->t_start, info->t_stop, step, epoch, -1));
    CT_TRY(span_event(t, info->skipped ? "decode (step skipped)" : "decode", 0, info->t_stop, info->t_decoded, step,
                      epoch, -1));
    if (!info->skipped) CT_TRY(span_event(t, "update", 0, info->t_decoded, t_updated, step, epoch, -1));
    return CT_OK;
}

/* gnuplot: bars as boxxyerror rectangles (one inline data block per kind), decode
 * instants as points on the master's row and dotted lines across the workers */
static ct_status draw_timeline(const ct_trace *t) {
    const int n = t->cfg.n_workers;
    size_t cap = 4096 + (size_t)t->n_bars * 96 + (size_t)t->n_decodes * 160;
    char *s = malloc(cap);
    if (!s) return CT_FAIL(CT_ERR_NOMEM, "--plot-timeline: out of memory");
    size_t off = 0;
#define PUT(...) do { if (off < cap) off += (size_t)snprintf(s + off, cap - off, __VA_ARGS__); } while (0)
    const int h = 220 + 22 * (n < 40 ? n : 40);
    PUT("set terminal pngcairo size 1100,%d; set output '%s';\n", h, t->cfg.timeline_path);
    PUT("set title \"%s: first %d steps%s\" noenhanced;\n", t->cfg.title ? t->cfg.title : "run", t->n_decodes,
        t->cfg.virtual_clock ? "" : " (wall clock)");
    PUT("set xlabel 'time since the run started (ms)'; set ylabel 'worker'; set yrange [-1.7:%d.6] reverse;\n", n - 1);
    PUT("set key outside right top; set style fill solid 0.85 noborder; set grid xtics;\n");
    PUT("set ytics ('master' -1");
    const int every = n <= 32 ? 1 : (n + 31) / 32;
    for (int i = 0; i < n; i += every) PUT(", '%d' %d", i, i);
    PUT(");\n");
    for (int d = 0; d < t->n_decodes; d++)
        PUT("set arrow from %.6f, graph 0 to %.6f, graph 1 nohead dt 3 lc rgb '#555555';\n", 1e3 * t->decodes[d],
            1e3 * t->decodes[d]);
    int present[BAR_KINDS] = {0};
    for (int k = 0; k < BAR_KINDS; k++) {
        PUT("$b%d << EOD\n", k);
        for (int b = 0; b < t->n_bars; b++) {
            const bar *x = &t->bars[b];
            if (x->kind != k) continue;
            present[k] = 1;
            PUT("%.6f %d %.6f %.6f %.3f %.3f\n", 1e3 * 0.5 * (x->t0 + x->t1), x->worker, 1e3 * x->t0, 1e3 * x->t1,
                x->worker - 0.38, x->worker + 0.38);
        }
        PUT("EOD\n");
    }
    PUT("$dec << EOD\n");
    for (int d = 0; d < t->n_decodes; d++) PUT("%.6f -1\n", 1e3 * t->decodes[d]);
    PUT("EOD\nplot ");
    for (int k = 0; k < BAR_KINDS; k++)
        if (present[k]) PUT("$b%d using 1:2:3:4:5:6 with boxxyerror lc rgb '%s' title '%s', ", k, bar_colours[k], bar_names[k]);
    PUT("$dec using 1:2 with points pt 9 ps 1.6 lc rgb '#000000' title 'decode'\n");
#undef PUT
    ct_status st = off < cap ? ct_plot_run(s, t->cfg.timeline_path)
                             : CT_FAIL(CT_ERR_NOMEM, "--plot-timeline: script too long");
    free(s);
    return st;
}

ct_status ct_trace_close(ct_trace *t) {
    if (!t) return CT_OK;
    ct_status st = CT_OK;
    if (t->json) {
        if (fprintf(t->json, "\n]}\n") < 0) st = CT_FAIL(CT_ERR_IO, "--trace %s: write failed", t->cfg.json_path);
        if (fclose(t->json) != 0 && st == CT_OK) st = CT_FAIL(CT_ERR_IO, "--trace %s: write failed", t->cfg.json_path);
        t->json = NULL;
    }
    if (st == CT_OK && t->cfg.timeline_path) st = draw_timeline(t);
    ct_trace_free(t);
    return st;
}

void ct_trace_free(ct_trace *t) {
    if (!t) return;
    if (t->json) fclose(t->json);
    free(t->bars);
    free(t->decodes);
    free(t);
}
