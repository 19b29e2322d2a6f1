# cow.gp — copy-on-write after fork: what a worker's reads do to the parent's pages.
#
# Left: per contender and reference-count policy (gillab plain and immortal, each
# peer without and with gc.freeze()), one bar per worker count: the share of the
# structure the parent built that a worker still shares with it after walking all of
# it (cow.csv pct_still_shared; median over workers and repetitions, whiskers
# min–max). A refcount written by every read copies the page: near 0%. Objects
# whose counts are never written: near 100%. "n/a": the interpreter has no
# gc.freeze(). Right: how one worker's Private_Dirty grows during its walk
# (cow_smaps.csv, less its reading before the walk), per contender and policy: the
# copies as they happen.
#
# Data (mk/lab/cow.py): bars, one index block per worker count:
#   x  median_pct  min_pct  max_pct  "label";
# series, one index block per curve: t_ms  private_dirty_growth_mb.
# Vars: bars, nseries, series_name[], series_colour[], bar_width, xmax, xtics, nna,
#       na_x[], na_text[], peer_split (NaN: no peers), series, ncurves, curve_title[],
#       curve_colour[], curve_dash[], subtitle.

load plotdir."/style.gp"
load vars

set label 1 "Copy-on-write after fork: how much of the parent's data a reading worker still shares" \
    at screen 0.5, screen 0.965 center font ",16"
set label 2 subtitle at screen 0.5, screen 0.928 center font ",9" textcolor rgb "#404040"

set multiplot

# ---- left: still shared after the walk -------------------------------------------------------
set lmargin at screen 0.07
set rmargin at screen 0.62
set tmargin at screen 0.84
set bmargin at screen 0.19
set key at screen 0.345, screen 0.89 center center horizontal reverse Left samplen 2 width 1 font ",10"
set ylabel "structure still shared after the walk (%)"
set xrange [-0.6:xmax]
set yrange [0:112]
set ytics 0, 20, 100
set xtics scale 0 font ",9" offset 0, -0.2
set style fill solid 0.9 noborder
set boxwidth bar_width * 0.92 absolute
if (peer_split == peer_split) {
    set arrow 1 from peer_split, graph 0 to peer_split, graph 1 nohead dt 2 lc rgb "#808080"
    set label 3 "gillab " at peer_split, graph 1.03 right font ",9" textcolor rgb "#606060"
    set label 4 " real interpreters" at peer_split, graph 1.03 left font ",9" textcolor rgb "#606060"
}
do for [k=1:nna] {
    set label (10 + k) na_text[k] at na_x[k], 4 rotate by 90 left font ",9" textcolor rgb "#606060"
}
plot for [k=1:nseries] bars index (k-1) using 1:2 with boxes lc rgb series_colour[k] title series_name[k], \
     for [k=1:nseries] bars index (k-1) using 1:2:3:4:2 with candlesticks whiskerbars 0.35 fs empty lw 1.1 lc rgb "#303030" notitle, \
     for [k=1:nseries] bars index (k-1) using 1:4:5 with labels rotate by 90 left offset 0,0.4 font ",8" notitle

# ---- right: one worker's private pages during its walk -------------------------------------
unset arrow 1
unset label 3
unset label 4
do for [k=1:nna] { unset label (10 + k) }
set lmargin at screen 0.70
set rmargin at screen 0.98
set tmargin at screen 0.84
set bmargin at screen 0.19
set xrange [*:*]
set yrange [0:*]
set ytics autofreq
set xtics autofreq scale 0.6 font ",10" offset 0, 0
set xlabel "time since the walk began (ms)"
set ylabel "one worker's Private_Dirty, growth during its walk (MB)"
set key inside left top vertical reverse Left samplen 2.5 font ",9" spacing 0.9
if (ncurves > 0) {
    plot for [k=1:ncurves] series index (k-1) using 1:2 with linespoints pt 7 ps 0.4 lw 2 \
        lc rgb curve_colour[k] dt curve_dash[k] title curve_title[k]
} else {
    set label 5 "no readings during the walk (cow_smaps.csv)" at graph 0.5, graph 0.5 center
    set xrange [0:1]
    set yrange [0:1]
    unset xtics
    unset ytics
    plot 2 notitle
}
unset multiplot
