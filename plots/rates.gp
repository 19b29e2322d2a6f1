# rates.gp — how often the lock changes hands, and how often a woken waiter
# finds it taken again.
#
# Two panels, both on a log scale: switches per second (switches / wall_s) and
# futile wake-ups per second (futile_wakeups / wall_s), for each lab design in
# the two-thread scenarios (1 CPU, all CPUs). Bar: median over repetitions;
# whiskers: min–max; a rate of zero cannot sit on a log axis and is written as
# "0". Peers have no lock counters and are not shown.
#
# Data (mk/lab/plots.py, one index block per placement):
#   x  sw_median sw_min sw_max  fu_median fu_min fu_max
# Vars: data, nseries, series_name[], series_colour[], bar_width, ymin, ymax,
#       xmin, xmax, subtitle, xtics, tic_lines.

load plotdir."/style.gp"
load vars

set multiplot
set label 1 "How often the lock changes hands, and how often waking up is in vain" \
    at screen 0.5, screen 0.965 center font ",16"
set label 2 subtitle at screen 0.5, screen 0.925 center font ",10" textcolor rgb "#404040"
set key at screen 0.5, screen 0.88 center center horizontal reverse Left samplen 2 width 2 font ",11"

set logscale y
set format y "%g"
rate(v) = v >= 1000 ? sprintf("%.1fk", v / 1000) : sprintf("%.3g", v)
set yrange [ymin:ymax]
set xrange [xmin:xmax]
set xtics scale 0 font ",12" offset 0,-0.3
set style fill solid 0.9 noborder
set boxwidth bar_width * 0.92 absolute
set tmargin at screen 0.80
set bmargin at screen 0.12 + 0.022 * (tic_lines - 1)

# Panel 1: switches per second.
set lmargin at screen 0.09
set rmargin at screen 0.48
set title "switches per second" font ",13"
set ylabel "events per second of wall time (log scale)" offset -0.5,0
plot for [k=1:nseries] data index (k-1) using 1:2 with boxes lc rgb series_colour[k] title series_name[k], \
     for [k=1:nseries] data index (k-1) using 1:2:3:4:2 with candlesticks whiskerbars 0.35 fs empty lw 1.2 lc rgb "#303030" notitle, \
     for [k=1:nseries] data index (k-1) using 1:($2 > 0 ? $4 : NaN):(rate($2)) with labels center offset 0,0.8 font ",10" notitle, \
     for [k=1:nseries] data index (k-1) using 1:($2 > 0 ? NaN : ymin * 1.6):("0") with labels center font ",11" notitle

# Panel 2: futile wake-ups per second.
unset label 1
unset label 2
set key off
set lmargin at screen 0.57
set rmargin at screen 0.98
set title "futile wake-ups per second" font ",13"
set ylabel ""
plot for [k=1:nseries] data index (k-1) using 1:5 with boxes lc rgb series_colour[k] notitle, \
     for [k=1:nseries] data index (k-1) using 1:5:6:7:5 with candlesticks whiskerbars 0.35 fs empty lw 1.2 lc rgb "#303030" notitle, \
     for [k=1:nseries] data index (k-1) using 1:($5 > 0 ? $7 : NaN):(rate($5)) with labels center offset 0,0.8 font ",10" notitle, \
     for [k=1:nseries] data index (k-1) using 1:($5 > 0 ? NaN : ymin * 1.6):("0") with labels center font ",11" notitle

unset multiplot
