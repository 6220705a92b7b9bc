/* Pictures of the workers: a Chrome trace-event JSON file (opens in Perfetto and
 * chrome://tracing) with one track per worker and one for the master, and a
 * timeline PNG of the first steps (gnuplot). Both are built from the per-step
 * worker spans the master records (master.h); times are the run's clock
 * (virtual seconds on the virtual clock, wall seconds on the real one). */
#ifndef CODEDTRAIN_TRACE_H
#define CODEDTRAIN_TRACE_H

#include "codedtrain/status.h"
#include "host/master.h"

typedef struct ct_trace ct_trace;

typedef struct ct_trace_config {
    const char *json_path;     /* trace-event JSON (NULL: none) */
    const char *timeline_path; /* timeline PNG (NULL: none) */
    int timeline_steps;        /* steps the timeline shows (first ones) */
    int n_workers;
    int virtual_clock;
    const char *code;          /* the scheme's name, in every event's args */
    const char *title;         /* the timeline's title (e.g. the master's one-line description) */
} ct_trace_config;

/* Opens (truncates) the JSON file at once, so that a bad path fails before any work. */
ct_status ct_trace_open(const ct_trace_config *cfg, ct_trace **out);
/* One step: the workers' spans, the master's wait and decode from info, and the
 * update that ended at t_updated (seconds since the run started). */
ct_status ct_trace_step(ct_trace *t, long step, int epoch, const ct_step_info *info, double t_updated);
/* Closes the JSON array and draws the timeline; frees t (also on failure). */
ct_status ct_trace_close(ct_trace *t);
/* Frees without finishing (error paths). */
void ct_trace_free(ct_trace *t);

#endif
