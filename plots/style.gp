# style.gp — loaded first by every figure script.
#
# Picks the terminal from the output file's extension (.png: pngcairo, .svg: svg),
# always 1200x700, and names the Okabe–Ito colour-blind-safe palette so figures
# refer to colours by name. Text is not "enhanced": column names such as
# check_interval keep their underscores.
#
# Expects: out = output file name.

if (!exists("out")) {
    print "style.gp: set out='FILE.png' or out='FILE.svg' with gnuplot -e"
    exit status 2
}
out_ext = strlen(out) > 4 ? out[strlen(out)-3:] : ""
if (out_ext eq ".svg") {
    set terminal svg size 1200,700 fixed noenhanced font "Sans,11" background rgb "white"
} else {
    if (out_ext eq ".png") {
        set terminal pngcairo size 1200,700 noenhanced font "Sans,11" background rgb "white"
    } else {
        print sprintf("style.gp: cannot tell the image format of '%s' (want .png or .svg)", out)
        exit status 2
    }
}
set output out
set encoding utf8

# Okabe & Ito (2008), the eight colours.
c_orange     = "#E69F00"
c_sky        = "#56B4E9"
c_green      = "#009E73"
c_yellow     = "#F0E442"
c_blue       = "#0072B2"
c_vermillion = "#D55E00"
c_purple     = "#CC79A7"
c_black      = "#000000"
c_grid       = "#D0D0D0"

set border 3 lw 1 lc rgb "#404040"
set tics nomirror out scale 0.6
set grid ytics lc rgb c_grid lw 1 dt 3
set key noautotitle
