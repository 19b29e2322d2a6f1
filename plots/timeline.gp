# timeline.gp — who holds the lock, moment by moment, in a window of one traced run.
#
# One horizontal strip per VM thread: a filled bar while it holds the lock
# (acquire -> release), a thin light bar while it waits for it (request ->
# acquire), and markers for drop requests (above the strip), futile wake-ups and
# time-outs (below it), and blocking calls (on it).
#
# Data (mk/lab/plots.py, times in ms since the start of the run, y = strip index):
#   holds/waits: start_ms end_ms y      events: t_ms y
# Vars: holds, waits, drop_request, futile_wakeup, timeout, block_enter,
#       block_exit (file names), has_* (0/1: does that file exist), nthreads,
#       xmin, xmax, design, subtitle, ytics.

load plotdir."/style.gp"
load vars

set label 1 sprintf("Who holds the lock: %s", design) at screen 0.5, screen 0.965 center font ",16"
set label 2 subtitle at screen 0.5, screen 0.925 center font ",10" textcolor rgb "#404040"
set key at screen 0.5, screen 0.88 center center horizontal reverse Left samplen 1.5 width 1 font ",11"
set tmargin at screen 0.83
set bmargin at screen 0.11
set lmargin at screen 0.09
set rmargin at screen 0.97

set xrange [xmin:xmax]
set yrange [-0.6:nthreads - 0.4]
set xlabel "time since the start of the run (ms)"
set ytics scale 0 font ",12"
set grid noytics xtics
set border 1

hold_h = 0.22    # half-height of a holding bar
wait_h = 0.07    # half-height of a waiting bar
mark_dy = 0.34   # markers sit this far above/below the strip's centre

cmd = "plot"
sep = " "
if (has_waits) {
    cmd = cmd . sep . "waits using (($1+$2)/2):3:1:2:($3-wait_h):($3+wait_h) with boxxyerror fs solid 1.0 noborder lc rgb c_sky title 'waiting for the lock'"
    sep = ", "
}
if (has_holds) {
    cmd = cmd . sep . "holds using (($1+$2)/2):3:1:2:($3-hold_h):($3+hold_h) with boxxyerror fs solid 1.0 noborder lc rgb c_blue title 'holding the lock'"
    sep = ", "
}
if (has_drop_request) {
    cmd = cmd . sep . "drop_request using 1:($2+mark_dy) with points pt 11 ps 1.3 lc rgb c_vermillion title 'drop request'"
    sep = ", "
}
if (has_futile_wakeup) {
    cmd = cmd . sep . "futile_wakeup using 1:($2-mark_dy) with points pt 2 ps 0.9 lc rgb c_black title 'futile wake-up'"
    sep = ", "
}
if (has_timeout) {
    cmd = cmd . sep . "timeout using 1:($2-mark_dy) with points pt 6 ps 1.1 lc rgb c_purple title 'time-out'"
    sep = ", "
}
if (has_block_enter) {
    cmd = cmd . sep . "block_enter using 1:2 with points pt 9 ps 1.2 lc rgb c_green title 'blocking call: enter'"
    sep = ", "
}
if (has_block_exit) {
    cmd = cmd . sep . "block_exit using 1:2 with points pt 8 ps 1.2 lc rgb c_green title 'blocking call: exit'"
    sep = ", "
}
if (sep eq " ") {
    # Nothing happened in the window: draw the empty strips rather than fail.
    cmd = "plot NaN notitle"
}
eval cmd
