# runtime.gp — the headline: what the lock costs in wall time.
#
# Per design and peer interpreter, grouped bars for the three placements:
# seq (one thread does the work twice), two threads pinned to 1 CPU, two threads
# on all CPUs. Bar: median wall_s over repetitions; whiskers: min–max; text:
# the bar's median divided by that design's seq median.
#
# Data (mk/lab/plots.py, one index block per placement):
#   x  median_s  min_s  max_s  "ratio"  reps
# Vars: data, title, nseries, series_name[], series_colour[], bar_width, ymax, xmin,
#       xmax, subtitle, peer_split (NaN: no peers), xtics, tic_lines.

load plotdir."/style.gp"
load vars

set label 1 title at screen 0.5, screen 0.965 center font ",16"
set label 2 subtitle at screen 0.5, screen 0.925 center font ",10" textcolor rgb "#404040"
set key at screen 0.5, screen 0.88 center center horizontal reverse Left samplen 2 width 2 font ",11"
set tmargin at screen 0.84
# Labels of groups that differ in a parameter take more than one line.
set bmargin at screen 0.12 + 0.022 * (tic_lines - 1)
set ylabel "wall time (s)"
set xlabel "lock design (lab models) and peer interpreters" offset 0, -0.5 - (tic_lines - 1)
set xrange [xmin:xmax]
set yrange [0:ymax]
set xtics scale 0 font ",12" offset 0,-0.3
set style fill solid 0.9 noborder
set boxwidth bar_width * 0.92 absolute

if (peer_split == peer_split) {
    set arrow 1 from peer_split, graph 0 to peer_split, graph 1 nohead dt 2 lc rgb "#808080"
    set label 3 "lab models " at peer_split, graph 0.97 right font ",10" textcolor rgb "#606060"
    set label 4 " real interpreters" at peer_split, graph 0.97 left font ",10" textcolor rgb "#606060"
}

plot for [k=1:nseries] data index (k-1) using 1:2 with boxes lc rgb series_colour[k] title series_name[k], \
     for [k=1:nseries] data index (k-1) using 1:2:3:4:2 with candlesticks whiskerbars 0.35 fs empty lw 1.2 lc rgb "#303030" notitle, \
     for [k=1:nseries] data index (k-1) using 1:4:5 with labels center offset 0,0.9 font ",10" notitle
