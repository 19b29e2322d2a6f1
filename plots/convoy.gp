# convoy.gp — the convoy effect: how late an I/O thread gets the lock back.
#
# For each design and peer, the cumulative distribution of the I/O thread's
# re-acquire latency (convoy_samples.csv latency_us, every repetition pooled),
# on a log time axis: a curve far to the right means every I/O operation waits
# that long beside one CPU-bound thread. A dashed line marks the interval of the
# first design whose runs share one (py32's switch interval), when convoy.csv names it.
#
# Data (mk/lab/plots.py, one index block per curve): latency_us  fraction
# Vars: data, ncurves, curve_title[], curve_colour[], curve_dash[] (1 a design, 2 a
#       peer), xmin, xmax, interval_us (NaN: none), interval_label, subtitle.

load plotdir."/style.gp"
load vars

set label 1 "The convoy effect: how late the I/O thread gets the lock back" \
    at screen 0.5, screen 0.972 center font ",16"
set label 2 subtitle at screen 0.5, screen 0.935 center font ",10" textcolor rgb "#404040"
set tmargin at screen (0.89 - 0.025 * ncurves)
set bmargin at screen 0.11
set lmargin at screen 0.08
set rmargin at screen 0.97

set logscale x
set xrange [xmin:xmax]
set yrange [0:1.02]
set format x "%g"
set xlabel "re-acquire latency (µs, log scale)"
set ylabel "fraction of I/O wake-ups at or below this latency"
set ytics 0, 0.1, 1
set grid xtics ytics lc rgb c_grid lw 1 dt 3
set key at screen 0.5, screen 0.912 center top vertical reverse Left samplen 2.5 \
    width 1 font ",11"

if (interval_us == interval_us) {
    set arrow 1 from interval_us, graph 0 to interval_us, graph 1 nohead dt 2 lw 1.5 lc rgb "#808080" back
    set label 3 interval_label at interval_us, graph 0.5 right \
        rotate by 90 offset -1.6, 0 font ",10" textcolor rgb "#606060"
}

plot for [k=1:ncurves] data index (k-1) using 1:2 with steps lw 2.5 lc rgb curve_colour[k] dt curve_dash[k] title curve_title[k]
