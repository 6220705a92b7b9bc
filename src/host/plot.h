/* Pictures drawn by gnuplot: one place that finds it, runs a script, and gives
 * every series of a plot its own colour and point type. */
#ifndef CODEDTRAIN_PLOT_H
#define CODEDTRAIN_PLOT_H

#include <stddef.h>

#include "codedtrain/status.h"

/* 1 when a gnuplot executable is on PATH */
int ct_plot_available(void);
/* Feed `script` to gnuplot; CT_ERR_IO naming `what` when gnuplot is missing or fails. */
ct_status ct_plot_run(const char *script, const char *what);
/* gnuplot style words for series i (distinct colour and point type for i < 10,
 * then the cycle repeats with a dashed line): e.g. "lc rgb '#0072b2' pt 5" */
const char *ct_plot_series_style(int i);

#endif
