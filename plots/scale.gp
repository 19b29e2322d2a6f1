# scale.gp — how each design, policy and peer scales with threads.
#
# One panel per workload (count.py, sharedread.py, sharedlist.py). x: threads on
# all CPUs (log 2 scale); y: throughput, the workload's loop iterations per second
# over all threads (threads x N / wall_s, log scale), the median over repetitions
# with min–max whiskers. One line per contender: a design in each of its policies
# (solid), a real interpreter (dashed). An open marker at 2 threads: the same two
# threads pinned to one CPU. A design that scales perfectly rises as the dotted
# guide does, up to the CPUs; one that serialises stays flat.
#
# Data (mk/lab/plots.py), per panel, two index blocks per line: its points on all
#   CPUs, then its point on one CPU:  threads  throughput_M  min_M  max_M
# Vars: npanels, subtitle, ncpus, xmax; for panel N = 1..npanels: pN_data, pN_n, pN_title,
#   pN_ymin, pN_ymax, pN_guide (throughput of one thread of the panel's fastest line),
#   pN_colour[k], pN_dash[k], pN_pt[k], pN_label[k] (per line, the same style in every
#   panel for the same contender); key_n, key_colour[], key_dash[], key_pt[],
#   key_label[] (every contender, for the one key).

load plotdir."/style.gp"
load vars

left_edge = 0.06
right_edge = 0.66
gap = 0.045
panel_width = (right_edge - left_edge - (npanels - 1) * gap) / npanels

set multiplot
set label 1 "Throughput against threads: what each lock design, refcount policy and interpreter scales to" \
    at screen 0.5, screen 0.965 center font ",15"
set label 2 subtitle at screen 0.5, screen 0.93 center font ",10" textcolor rgb "#404040"

set logscale x 2
set logscale y
set format x "%g"
set format y "%g"
set xrange [0.85:xmax * 1.15]
set grid xtics ytics lc rgb c_grid lw 1 dt 3
set tmargin at screen 0.84
set bmargin at screen 0.11
set xlabel "threads on all CPUs"

do for [p=1:npanels] {
    data = value(sprintf("p%d_data", p))
    n = value(sprintf("p%d_n", p))
    left = left_edge + (p - 1) * (panel_width + gap)
    set lmargin at screen left
    set rmargin at screen left + panel_width
    set title value(sprintf("p%d_title", p)) font ",12"
    set ylabel (p == 1 ? "million loop iterations per second, all threads (log scale)" : "")
    set yrange [value(sprintf("p%d_ymin", p)):value(sprintf("p%d_ymax", p))]
    guide = value(sprintf("p%d_guide", p))
    set arrow 9 from ncpus, graph 0 to ncpus, graph 1 nohead dt 3 lw 1 lc rgb "#A0A0A0" back
    set label 9 sprintf(" %d CPUs", ncpus) at ncpus, graph 0.03 left font ",9" textcolor rgb "#808080"
    unset key
    plot (x <= ncpus ? guide * x : guide * ncpus) with lines dt 3 lw 1 lc rgb "#B0B0B0" notitle, \
         for [k=1:n] data index (2*k-2) using 1:2:3:4 with yerrorlines \
             lw 2 lc rgb value(sprintf("p%d_colour%d", p, k)) dt value(sprintf("p%d_dash%d", p, k)) \
             pt value(sprintf("p%d_pt%d", p, k)) ps 0.9 notitle, \
         for [k=1:n] data index (2*k-1) using 1:2 with points \
             lc rgb value(sprintf("p%d_colour%d", p, k)) pt value(sprintf("p%d_ptopen%d", p, k)) ps 1.6 notitle
    unset arrow 9
    unset label 9
    unset label 1
    unset label 2
}

# The one key, right of the panels: an empty plot whose curves only name the styles.
set lmargin at screen 0.68
set rmargin at screen 0.99
unset title
unset xlabel
unset ylabel
unset grid
unset border
unset tics
unset logscale
set xrange [0:1]
set yrange [0:1]
set key at screen 0.685, screen 0.84 left top Left reverse samplen 2.5 spacing 1.15 font ",10"
plot for [k=1:key_n] NaN with linespoints lw 2 lc rgb value(sprintf("key_colour%d", k)) \
         dt value(sprintf("key_dash%d", k)) pt value(sprintf("key_pt%d", k)) \
         title value(sprintf("key_label%d", k))
unset multiplot
