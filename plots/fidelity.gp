# fidelity.gp — every model beside its original (make fidelity).
#
# One panel per metric of mk/lab/fidelity.py (wall and CPU ratios to seq, voluntary
# context switches per second, the convoy's lateness). In each, one group per pair:
# the model's mean (left, its design's colour) and the original's (right, grey), each
# with the 95% interval of its repetitions as whiskers; "ok" or "miss" above the
# model says whether it is within its tolerance of the original.
#
# Data (mk/lab/plots.py): two index blocks per panel, the model's then the original's:
#   x  mean lo hi  "ok|miss|"
# Vars: data, npanels, npairs, panel_title[], panel_ymax[], panel_log[], model_colour[],
#       xmax, subtitle, and the xtics (design and original per group).

load plotdir."/style.gp"
load vars

cols = npanels > 4 ? 3 : (npanels > 1 ? 2 : 1)
rows = int(ceil(npanels / (cols * 1.0)))
pw = 0.94 / cols
ph = 0.80 / rows

set multiplot
set label 1 "Each model beside its original" at screen 0.5, screen 0.97 center font ",16"
set label 2 subtitle at screen 0.5, screen 0.935 center font ",9" textcolor rgb "#404040"
set style fill solid 0.9 noborder
set boxwidth 0.34 absolute
set xrange [-0.6:xmax + 0.1]
set xtics scale 0 font ",7" offset 0,-0.2
set ytics font ",9"
set format y "%g"

do for [k=1:npanels] {
    col = (k - 1) % cols
    row = int((k - 1) / cols)
    set lmargin at screen 0.05 + col * pw
    set rmargin at screen 0.05 + (col + 1) * pw - 0.05
    set tmargin at screen 0.90 - row * ph - 0.03
    set bmargin at screen 0.90 - (row + 1) * ph + 0.07
    set title panel_title[k] font ",11"
    if (panel_log[k]) {
        set logscale y
        set yrange [*:panel_ymax[k] * 4]
    } else {
        unset logscale y
        set yrange [0:panel_ymax[k]]
    }
    plot for [i=1:npairs] data index (2*k - 2) every ::(i-1)::(i-1) using 1:2 with boxes lc rgb model_colour[i] notitle, \
         data index (2*k - 2) using 1:2:3:4:2 with candlesticks whiskerbars 0.5 fs empty lw 1.2 lc rgb "#303030" notitle, \
         data index (2*k - 1) using 1:2 with boxes lc rgb "#9A9A9A" notitle, \
         data index (2*k - 1) using 1:2:3:4:2 with candlesticks whiskerbars 0.5 fs empty lw 1.2 lc rgb "#303030" notitle, \
         data index (2*k - 2) using 1:4:5 with labels center offset 0,0.8 font ",9" notitle
    unset label 1
    unset label 2
}
unset multiplot
