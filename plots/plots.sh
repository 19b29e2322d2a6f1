#!/usr/bin/env bash
# plots.sh — draws the lab's figures from its CSV results, as PNG and SVG.
#
# Usage: plots/plots.sh                      (reads and writes results/)
#        DATA=dir OUT=dir plots/plots.sh     (make plots DATA=dir OUT=dir)
#
# Reads DATA/lab.csv (required), and when present DATA/convoy.csv,
# DATA/convoy_samples.csv, DATA/sweep.csv and DATA/trace-*.csv. Writes
# runtime, rates, convoy, sweep and timeline-DESIGN (.png and .svg) into OUT.
# plots/prepare.py checks every input and boils it down into a temporary folder;
# then each figure's gnuplot script draws it there, and only an image gnuplot
# finished without error is moved into OUT, so a failed figure never leaves an
# empty or partial file behind. Exits non-zero when an input is malformed
# (naming the file and line), when lab.csv is missing, or when a figure fails.
#
# Environment: ONLY (a comma list of figures to draw: runtime, rates, timeline,
# convoy, sweep; lab.csv is needed only for runtime and rates), TIMELINE_MS (width of the timeline window, default 50) and
# TIMELINE_START_MS (its start, default: centred on the middle of the run).
set -u
here=$(cd "$(dirname "$0")" && pwd)
data=${DATA:-results}
out=${OUT:-results}

die() { echo "plots: error: $*" >&2; exit 1; }
# A gnuplot single-quoted string holding $1 (a quote is written twice).
gp_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

command -v gnuplot >/dev/null 2>&1 || die "gnuplot not found (apt-get install gnuplot-nox, or make deps)"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
[ -d "$data" ] || die "$data: no such folder (DATA= names the folder holding lab.csv)"

work=$(mktemp -d "${TMPDIR:-/tmp}/gillab-plots.XXXXXX") || die "cannot make a temporary folder"
trap 'rm -rf "$work"' EXIT

python3 "$here/prepare.py" "$data" "$work" || exit 1
mkdir -p "$out" || die "$out: cannot make the output folder"

made=() failed=0
while IFS=$'\t' read -r script name vars; do
    for ext in png svg; do
        img="$work/$name.$ext"
        log="$work/$name.$ext.log"
        if gnuplot -e "out=$(gp_quote "$img"); vars=$(gp_quote "$vars"); plotdir=$(gp_quote "$here")" \
                "$here/$script" 2>"$log" && [ -s "$img" ]; then
            [ -s "$log" ] && sed "s|^|plots: gnuplot ($name.$ext): |" "$log" >&2
            # Copy next to the target, then rename: OUT never holds a half-written image.
            part="$out/.$name.$ext.part$$"
            if cp "$img" "$part" && mv -f "$part" "$out/$name.$ext"; then
                made+=("$name.$ext")
            else
                rm -f "$part"
                echo "plots: error: cannot write $out/$name.$ext" >&2
                failed=$((failed + 1))
            fi
        else
            echo "plots: error: gnuplot failed drawing $name.$ext with plots/$script:" >&2
            sed 's/^/    /' "$log" >&2
            failed=$((failed + 1))
        fi
    done
done <"$work/figures.tsv"

echo "plots: wrote ${#made[@]} images into $out/: ${made[*]}" >&2
[ "$failed" -eq 0 ] || die "$failed image(s) failed; see above"
