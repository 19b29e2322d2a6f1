# sweep.gp — what the interval buys: wall time and switches against the
# interval, one panel per design since the units differ.
#
# Left: py26, x = check_interval (ticks). Right: py32, x = interval_us (µs).
# Both x axes are logarithmic. Solid line, left axis: median wall_s over
# repetitions with min–max whiskers. Dashed line, right axis (log): median
# switches per second (switches / wall_s). A dotted line marks CPython's default
# (100 ticks; 5000 µs). A panel whose design has no rows says so.
#
# Data (prepare.py, one index block per variant, e.g. lock=sem / lock=condvar):
#   interval  wall_median_s  wall_min_s  wall_max_s  switches_per_s
# Vars, for panel N = 1, 2: pN_data ("" when empty), pN_n, pN_variants (words,
# "-" for the only one), pN_xlabel, pN_design, pN_title, pN_y2min, pN_y2max; and subtitle.

load plotdir."/style.gp"
load vars

p1_default = 100
p2_default = 5000
p1_colours = c_vermillion." ".c_orange." ".c_purple." ".c_black
p2_colours = c_blue." ".c_sky." ".c_green." ".c_black
p1_left = 0.065
p2_left = 0.565
panel_width = 0.34

set multiplot
set label 1 "What the interval buys: wall time and switches against the interval" \
    at screen 0.5, screen 0.965 center font ",16"
set label 2 subtitle at screen 0.5, screen 0.925 center font ",10" textcolor rgb "#404040"

set logscale x
set format x "%g"
set logscale y2
set format y2 "%g"
set ytics nomirror
set y2tics nomirror
set grid xtics ytics lc rgb c_grid lw 1 dt 3
set border 11
set tmargin at screen 0.85
set bmargin at screen 0.11
set key top right reverse Left samplen 3 spacing 1.2 font ",10" opaque box lc rgb "#C0C0C0"
set ylabel "wall time (s)"
set y2label "switches per second (log scale)"

do for [p=1:2] {
    data = value(sprintf("p%d_data", p))
    n = value(sprintf("p%d_n", p))
    variants = value(sprintf("p%d_variants", p))
    colours = value(sprintf("p%d_colours", p))
    default = value(sprintf("p%d_default", p))
    design = value(sprintf("p%d_design", p))
    set lmargin at screen value(sprintf("p%d_left", p))
    set rmargin at screen value(sprintf("p%d_left", p)) + panel_width
    set title value(sprintf("p%d_title", p)) font ",13"
    set xlabel value(sprintf("p%d_xlabel", p))
    if (data eq "") {
        set label 9 sprintf("no %s rows in sweep.csv", design) at graph 0.5, graph 0.5 center
        set xrange [1:10]
        set yrange [0:1]
        set y2range [1:10]
        set key off
        plot NaN notitle
        unset label 9
        set key on
    } else {
        set autoscale x
        set yrange [0:*]
        set y2range [value(sprintf("p%d_y2min", p)):value(sprintf("p%d_y2max", p))]
        # Room above the curves for the key.
        set offsets graph 0.04, graph 0.04, graph 0.45, 0
        set arrow 9 from default, graph 0 to default, graph 1 nohead dt 3 lw 1.5 lc rgb "#808080" back
        set label 8 sprintf(" CPython default %g", default) at default, graph 0.04 left \
            font ",9" textcolor rgb "#606060"
        wall_title(k) = word(variants, k) eq "-" ? "wall time (left axis)" : "wall time, ".word(variants, k)
        sw_title(k) = word(variants, k) eq "-" ? "switches per second (right axis)" : "switches/s, ".word(variants, k)
        plot for [k=1:n] data index (k-1) using 1:2:3:4 with yerrorbars pt 7 ps 1.1 lw 1.3 \
                 lc rgb word(colours, k) title wall_title(k), \
             for [k=1:n] data index (k-1) using 1:2 with lines lw 2 lc rgb word(colours, k) notitle, \
             for [k=1:n] data index (k-1) using 1:5 axes x1y2 with linespoints dt 2 lw 2 pt 4 ps 1.1 \
                 lc rgb word(colours, k) title sw_title(k)
        unset arrow 9
        unset label 8
        set offsets 0, 0, 0, 0
    }
    unset label 1
    unset label 2
}
unset multiplot
