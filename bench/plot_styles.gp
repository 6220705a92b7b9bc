# One colour and one point type per series for every plot the benchmarks draw
# (the same palette as src/host/plot.c): gnuplot's own cycle repeats colours
# after 8 series and the scripts used to give every series point type 7.
# Series i (1-based) uses linetype i; load this file before plotting.
set linetype 1  lc rgb '#000000' pt 7  lw 1.5
set linetype 2  lc rgb '#e69f00' pt 5  lw 1.5
set linetype 3  lc rgb '#56b4e9' pt 9  lw 1.5
set linetype 4  lc rgb '#009e73' pt 11 lw 1.5
set linetype 5  lc rgb '#d55e00' pt 13 lw 1.5
set linetype 6  lc rgb '#0072b2' pt 4  lw 1.5
set linetype 7  lc rgb '#cc79a7' pt 6  lw 1.5
set linetype 8  lc rgb '#f0e442' pt 8  lw 1.5
set linetype 9  lc rgb '#7f7f7f' pt 10 lw 1.5
set linetype 10 lc rgb '#8b4513' pt 12 lw 1.5
set linetype 11 lc rgb '#000000' pt 7  lw 1.5 dt 2
set linetype 12 lc rgb '#e69f00' pt 5  lw 1.5 dt 2
set linetype 13 lc rgb '#56b4e9' pt 9  lw 1.5 dt 2
set linetype 14 lc rgb '#009e73' pt 11 lw 1.5 dt 2
set linetype 15 lc rgb '#d55e00' pt 13 lw 1.5 dt 2
set linetype 16 lc rgb '#0072b2' pt 4  lw 1.5 dt 2
set linetype cycle 16
