# sweep.gp — what the interval buys: wall time and switches against each design's
# swept parameter (gillab designs: the parameter that names its sweep), one panel
# per design since the units differ.
#
# Every x axis is logarithmic. Solid line, left axis: median wall_s over repetitions
# with min–max whiskers. Dashed line, right axis (log): median switches per second
# (switches / wall_s). A dotted line marks the parameter's default.
#
# Data (mk/lab/plots.py, one index block per variant, e.g. lock=sem / lock=condvar):
#   value  wall_median_s  wall_min_s  wall_max_s  switches_per_s
# Vars: npanels, subtitle; for panel N = 1..npanels: pN_data, pN_n, pN_variants (words,
# "-" for the only one), pN_colours (words), pN_default (NaN: none), pN_xlabel,
# pN_design, pN_title, pN_y2min, pN_y2max.

load plotdir."/style.gp"
load vars

# Panels in up to three columns (a second row from the fourth design on): each gets an
# equal share of the width, less room for its axes. Axis labels stand outside: wall
# time left of each row's first panel, switches right of each row's last.
cols = npanels > 3 ? 3 : npanels
rows = int(ceil(npanels / (cols * 1.0)))
left_edge = 0.065
right_edge = 0.9
gap = 0.095
panel_width = (right_edge - left_edge - (cols - 1) * gap) / cols
top_edge = 0.86
bottom_edge = 0.08
row_gap = 0.16
panel_height = (top_edge - bottom_edge - (rows - 1) * row_gap) / rows

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
set key top right reverse Left samplen 2 spacing 1.0 font ",8" opaque box lc rgb "#C0C0C0"

do for [p=1:npanels] {
    data = value(sprintf("p%d_data", p))
    n = value(sprintf("p%d_n", p))
    variants = value(sprintf("p%d_variants", p))
    colours = value(sprintf("p%d_colours", p))
    default = value(sprintf("p%d_default", p))
    col = (p - 1) % cols
    row = int((p - 1) / cols)
    left = left_edge + col * (panel_width + gap)
    top = top_edge - row * (panel_height + row_gap)
    set lmargin at screen left
    set rmargin at screen left + panel_width
    set tmargin at screen top
    set bmargin at screen top - panel_height
    set title value(sprintf("p%d_title", p)) font ",12"
    set ylabel (col == 0 ? "wall time (s)" : "")
    set y2label (col == cols - 1 || p == npanels ? "switches/s (log scale)" : "")
    set xlabel value(sprintf("p%d_xlabel", p))
    set autoscale x
    set yrange [0:*]
    set y2range [value(sprintf("p%d_y2min", p)):value(sprintf("p%d_y2max", p))]
    # Room above the curves for the key.
    set offsets graph 0.04, graph 0.04, graph 0.55, 0
    if (default == default) {
        set arrow 9 from default, graph 0 to default, graph 1 nohead dt 3 lw 1.5 lc rgb "#808080" back
        set label 8 sprintf(" default %g", default) at default, graph 0.04 left \
            font ",9" textcolor rgb "#606060"
    }
    wall_title(k) = word(variants, k) eq "-" ? "wall s (left)" : "wall s, ".word(variants, k)
    sw_title(k) = word(variants, k) eq "-" ? "switches/s (right)" : "switches/s, ".word(variants, k)
    plot for [k=1:n] data index (k-1) using 1:2:3:4 with yerrorbars pt 7 ps 1.1 lw 1.3 \
             lc rgb word(colours, k) title wall_title(k), \
         for [k=1:n] data index (k-1) using 1:2 with lines lw 2 lc rgb word(colours, k) notitle, \
         for [k=1:n] data index (k-1) using 1:5 axes x1y2 with linespoints dt 2 lw 2 pt 4 ps 1.1 \
             lc rgb word(colours, k) title sw_title(k)
    unset arrow 9
    unset label 8
    set offsets 0, 0, 0, 0
    unset label 1
    unset label 2
}
unset multiplot
