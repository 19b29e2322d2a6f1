#!/usr/bin/env bash
# sweep.sh -- `make sweep`: how each design's knob shapes two threads on all CPUs.
#
#   py26  check_interval = 10 30 100 300 1000 3000 10000 ticks
#   py32  interval       = 0.1 0.3 1 3 5 10 30 50 ms
#
# Each point runs workloads/count.py in two threads on every CPU (count(N) each, N
# sized so that one count(N) takes about TARGET_S seconds on this machine), REPS
# measured repetitions after WARMUP, into RESULTS/sweep.csv (a fresh file per run;
# the previous one becomes sweep.csv.prev). Then the figures (plots/plots.sh draws
# sweep.png from sweep.csv) and a table on stderr.
#
# Settings (environment): QUICK=1 (tiny sizes, one repetition), GILLAB, RESULTS,
# SWEEP_REPS, SWEEP_WARMUP, SWEEP_TARGET_S, SWEEP_PLOTS (0: no figures).
# Exit status: 0 ok; 1 a run failed; 2 a usage or set-up error; 128+signal when
# interrupted (the finished rows stay; a new sweep starts afresh).
set -euo pipefail
cd "$(dirname "$0")/.."

GILLAB=${GILLAB:-$PWD/build/release/gillab}
RESULTS=${RESULTS:-results}
QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
    REPS=${SWEEP_REPS:-1}; WARMUP=${SWEEP_WARMUP:-0}; TARGET_S=${SWEEP_TARGET_S:-0.03}
else
    REPS=${SWEEP_REPS:-2}; WARMUP=${SWEEP_WARMUP:-1}; TARGET_S=${SWEEP_TARGET_S:-0.25}
fi
PLOTS=${SWEEP_PLOTS:-1}
WORKLOAD=${SWEEP_WORKLOAD:-workloads/count.py}   # must define count(n)
CHECK_INTERVALS="10 30 100 300 1000 3000 10000"
INTERVALS_MS="0.1 0.3 1 3 5 10 30 50"

NAME=sweep
LABTOOL=$PWD/workloads/labtool.py
# shellcheck source=workloads/lablib.sh
. workloads/lablib.sh

need_gillab
[ -f "$WORKLOAD" ] || die "$WORKLOAD is missing"
mkdir -p "$RESULTS"
out=$RESULTS/sweep.csv
if [ -e "$out" ]; then mv -f "$out" "$out.prev"; fi

size_count gillab "$TARGET_S" "$GILLAB" run "$WORKLOAD" --gil py32
n=$SIZE_N

points=()
for v in $CHECK_INTERVALS; do points+=("py26 check_interval=$v"); done
for v in $INTERVALS_MS; do points+=("py32 interval=${v}ms"); done
jobs_total=${#points[@]}
units_total=$jobs_total
started=$SECONDS
for p in "${points[@]}"; do
    read -r design setting <<<"$p"
    progress "$design $setting, 2 threads on all CPUs, count($n)"
    run_child "$GILLAB" run "$WORKLOAD" --entry count --arg "$n" --gil "$design" \
        --set "$setting" --scenario threads --threads 2 --cpus all \
        --reps "$REPS" --warmup "$WARMUP" --csv "$out" --quiet
    units_done=$((units_done + 1))
done
progress_clear
elapsed=$((SECONDS - started))

plots_rc=0
if [ "$PLOTS" != 0 ] && [ -f plots/plots.sh ]; then
    say "drawing the sweep figure: plots/plots.sh"
    ONLY=sweep DATA=$RESULTS OUT=$RESULTS bash plots/plots.sh >&2 || plots_rc=$?
    [ "$plots_rc" -eq 0 ] || say "plots/plots.sh failed with exit status $plots_rc"
fi
echo >&2
"$PYTHON" "$LABTOOL" sweep-summary "$out" >&2
echo >&2
say "the sweep took $(mmss "$elapsed"); rows in $out"
if [ "$failures" -gt 0 ]; then say "$failures run(s) failed"; exit 1; fi
[ "$plots_rc" -eq 0 ] || exit 1
exit 0
