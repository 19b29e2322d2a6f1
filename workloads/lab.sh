#!/usr/bin/env bash
# lab.sh -- the standard matrix behind `make lab` (see docs/lab.md).
#
# For every contender -- the lab's lock designs (py26, py32, none) run by gillab, and
# the peer interpreters (python3, pypy3 where installed) run by workloads/peers/peer.py --
# it runs workloads/count.py in three shapes:
#   seq      one thread calls count(N) twice in a row
#   1 CPU    two threads call count(N) at once, both pinned to one CPU
#   all CPUs two threads call count(N) at once on every CPU
# with REPS measured repetitions after WARMUP unrecorded ones, N calibrated once per
# interpreter so that count(N) takes about TARGET_S seconds; then the convoy scenario
# (workloads/convoy.py: cpu() beside io()) once per contender; then short two-thread
# traces for py26 and py32; then the figures (plots/plots.sh) and a summary table.
#
# Output, in RESULTS (default results/): lab.csv, convoy.csv, convoy_samples.csv,
# trace-py26.csv, trace-py32.csv, and the figures. Each complete run starts fresh
# files (the previous ones become *.prev). A run that was interrupted leaves
# RESULTS/lab.state behind; the next run resumes it: same sizes, finished repetitions
# skipped, rows appended to the same files.
#
# Settings (environment): QUICK=1 (tiny sizes, < 30 s), GILLAB (the binary),
# RESULTS, LAB_DESIGNS ("py26 py32 none"), LAB_PEERS ("python3 pypy3"), LAB_REPS,
# LAB_WARMUP, LAB_TARGET_S (seconds for one count(N)), LAB_IO_ITERS, LAB_IO_SLEEP_US,
# LAB_TRACE (0: no traces), LAB_PLOTS (0: no figures).
# Diagnostics, progress and the summary go to stderr. Exit status: 0 all ok; 1 some
# run failed; 2 a usage or set-up error; 128+signal when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

GILLAB=${GILLAB:-$PWD/build/release/gillab}
RESULTS=${RESULTS:-results}
QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
    REPS=${LAB_REPS:-2}; WARMUP=${LAB_WARMUP:-0}; TARGET_S=${LAB_TARGET_S:-0.04}
    IO_ITERS=${LAB_IO_ITERS:-20}
else
    REPS=${LAB_REPS:-3}; WARMUP=${LAB_WARMUP:-1}; TARGET_S=${LAB_TARGET_S:-0.3}
    IO_ITERS=${LAB_IO_ITERS:-100}
fi
IO_SLEEP_US=${LAB_IO_SLEEP_US:-1000}
DESIGNS=${LAB_DESIGNS-py26 py32 none}
PEERS=${LAB_PEERS-python3 pypy3}
TRACE=${LAB_TRACE:-1}
PLOTS=${LAB_PLOTS:-1}
WORKLOAD=${LAB_WORKLOAD:-workloads/count.py}   # must define count(n)
CONVOY=${LAB_CONVOY:-workloads/convoy.py}       # must define cpu(limit) and io(n, sleep_us)
PEER=$PWD/workloads/peers/peer.py
# The three shapes: scenario threads cpus.
SHAPES=("seq 2 all" "threads 2 1" "threads 2 all")

NAME=lab
LABTOOL=$PWD/workloads/labtool.py
INTERRUPT_HINT="; run the lab again to resume (it appends to the same files)"
# shellcheck source=workloads/lablib.sh
. workloads/lablib.sh

# ---- contenders -------------------------------------------------------------------------
need_gillab
[ -f "$WORKLOAD" ] || die "$WORKLOAD is missing"
[ -f "$CONVOY" ] || die "$CONVOY is missing"

contenders=()
declare -A PEER_EXE   # peer name -> its interpreter's executable (past any shim)
for d in $DESIGNS; do contenders+=("gil:$d"); done
for p in $PEERS; do
    if command -v "$p" >/dev/null 2>&1; then
        PEER_EXE[$p]=$("$p" -c 'import sys; print(sys.executable)') ||
            die "$p is installed but does not run"
        contenders+=("peer:$p")
    else
        say "$p is not installed: the lab goes on without it (as root: apt-get install $p)"
    fi
done
[ ${#contenders[@]} -gt 0 ] || die "nothing to run: LAB_DESIGNS and LAB_PEERS are empty"

# contender_cmd CONTENDER FILE: sets CMD to the command line up to the options.
contender_cmd() {
    case $1 in
        gil:*) CMD=("$GILLAB" run "$2" --gil "${1#gil:}") ;;
        peer:*) CMD=("${PEER_EXE[${1#peer:}]}" "$PEER" "$2" --lab-version "$LAB_VERSION") ;;
    esac
}
# The design column a contender's rows carry.
declare -A DESIGN_OF
design_of() {
    case $1 in
        gil:*) echo "${1#gil:}" ;;
        peer:*) echo "${DESIGN_OF[$1]}" ;;
    esac
}
for c in "${contenders[@]}"; do
    case $c in peer:*) DESIGN_OF[$c]=$("${PEER_EXE[${c#peer:}]}" "$PEER" --interpreter) ;; esac
done
# The key under which a contender's size is kept: every lab design shares gillab's.
size_key() { case $1 in gil:*) echo gillab ;; peer:*) echo "peer_${1#peer:}" | tr -c 'A-Za-z0-9_\n' _ ;; esac; }

# ---- fresh start or resume -------------------------------------------------------------------
mkdir -p "$RESULTS"
state=$RESULTS/lab.state
settings="quick=${QUICK:-0} reps=$REPS target_s=$TARGET_S io=$IO_ITERS,$IO_SLEEP_US"
if [ -f "$state" ] && [ "$(sed -n 's/^settings=//p' "$state")" = "$settings" ]; then
    say "resuming the interrupted run recorded in $state: appending to its files"
else
    [ -f "$state" ] && say "$state was made with other settings: starting afresh"
    for f in lab.csv convoy.csv convoy_samples.csv; do
        if [ -e "$RESULTS/$f" ]; then mv -f "$RESULTS/$f" "$RESULTS/$f.prev"; fi
    done
    printf 'settings=%s\n' "$settings" >"$state"
fi

# ---- calibration: N so that count(N) takes about TARGET_S on this interpreter --------------
declare -A SIZE
calibrate() { # contender
    local key n
    key=$(size_key "$1")
    [ -n "${SIZE[$key]:-}" ] && return 0
    n=$(sed -n "s/^size_$key=//p" "$state")
    if [ -z "$n" ]; then
        contender_cmd "$1" "$WORKLOAD"
        case $1 in gil:*) CMD=("$GILLAB" run "$WORKLOAD" --gil py32) ;; esac
        size_count "$key" "$TARGET_S" "${CMD[@]}"
        n=$SIZE_N
        echo "size_$key=$n" >>"$state"
    fi
    SIZE[$key]=$n
}
for c in "${contenders[@]}"; do calibrate "$c"; done

# ---- the jobs ----------------------------------------------------------------------------------
jobs=()
for c in "${contenders[@]}"; do
    for s in "${SHAPES[@]}"; do jobs+=("$c lab $s"); done
done
for c in "${contenders[@]}"; do jobs+=("$c convoy convoy 2 all"); done
if [ "$TRACE" != 0 ]; then
    for d in py26 py32; do
        case " $DESIGNS " in *" $d "*) jobs+=("gil:$d trace threads 2 all") ;; esac
    done
fi
jobs_total=${#jobs[@]}
for j in "${jobs[@]}"; do
    case $j in *" trace "*) units_total=$((units_total + 1)) ;;
        *) units_total=$((units_total + REPS + WARMUP)) ;; esac
done

run_job() { # contender kind scenario threads cpus
    local c=$1 kind=$2 sc=$3 th=$4 cpus=$5 n design have need
    n=${SIZE[$(size_key "$c")]}
    design=$(design_of "$c")
    case $kind in
        lab)
            have=$("$PYTHON" "$LABTOOL" count "$RESULTS/lab.csv" design="$design" \
                workload="$(basename "$WORKLOAD")" entry=count args="$n" scenario="$sc" threads="$th" cpus="$cpus")
            need=$((REPS - have))
            progress "$design $(label "$sc" "$th" "$cpus"), count($n)"
            if [ "$need" -gt 0 ]; then
                contender_cmd "$c" "$WORKLOAD"
                run_child "${CMD[@]}" --entry count --arg "$n" --scenario "$sc" \
                    --threads "$th" --cpus "$cpus" --reps "$need" --warmup "$WARMUP" \
                    --csv "$RESULTS/lab.csv" --quiet
            fi
            units_done=$((units_done + REPS + WARMUP)) ;;
        convoy)
            local limit=$((n * 40))
            have=$("$PYTHON" "$LABTOOL" count "$RESULTS/convoy.csv" design="$design" \
                workload="$(basename "$CONVOY")" entry=cpu args="$limit" scenario=convoy)
            need=$((REPS - have))
            progress "$design convoy, io($IO_ITERS, $IO_SLEEP_US us) beside cpu($limit)"
            if [ "$need" -gt 0 ]; then
                contender_cmd "$c" "$CONVOY"
                run_child "${CMD[@]}" --entry cpu --arg "$limit" --scenario convoy \
                    --io-entry io --io-arg "$IO_ITERS" --io-arg "$IO_SLEEP_US" \
                    --reps "$need" --warmup "$WARMUP" --csv "$RESULTS/convoy.csv" \
                    --samples-csv "$RESULTS/convoy_samples.csv" --quiet
            fi
            units_done=$((units_done + REPS + WARMUP)) ;;
        trace)
            local short=$((n / 10))
            progress "$design trace, 2 threads on all CPUs, count($short)"
            contender_cmd "$c" "$WORKLOAD"
            run_child "${CMD[@]}" --entry count --arg "$short" --scenario threads \
                --threads 2 --cpus all --trace "$RESULTS/trace-$design.csv" --quiet
            units_done=$((units_done + 1)) ;;
    esac
}
label() { # scenario threads cpus
    case $1 in
        seq) echo "seq ($2 calls in one thread)" ;;
        *) if [ "$3" = 1 ]; then echo "$2 threads on 1 CPU"; else echo "$2 threads on $3 CPUs"; fi ;;
    esac
}

started=$SECONDS
for j in "${jobs[@]}"; do
    # shellcheck disable=SC2086  # a job is five words
    run_job $j
done
progress_clear
elapsed=$((SECONDS - started))
rm -f "$state"

# ---- figures and summary -----------------------------------------------------------------------
plots_rc=0
if [ "$PLOTS" != 0 ] && [ -f plots/plots.sh ]; then
    say "drawing the figures: plots/plots.sh"
    DATA=$RESULTS OUT=$RESULTS bash plots/plots.sh >&2 || plots_rc=$?
    [ "$plots_rc" -eq 0 ] || say "plots/plots.sh failed with exit status $plots_rc"
fi
echo >&2
"$PYTHON" "$LABTOOL" summary "$RESULTS" >&2
echo >&2
say "the matrix took $(mmss "$elapsed"); results in $RESULTS/"
if [ "$failures" -gt 0 ]; then say "$failures run(s) failed"; exit 1; fi
[ "$plots_rc" -eq 0 ] || exit 1
exit 0
