# lablib.sh -- what lab.sh and sweep.sh share (sourced, not run): messages, the
# progress line, running one child at a time so that SIGINT/SIGTERM stop it at once,
# and sizing count(N) for an interpreter.
#
# The caller sets NAME (the message prefix), RESULTS and GILLAB before sourcing, and
# may set INTERRUPT_HINT (what to tell the user after an interruption).

# python3 once resolved to its executable: a version-manager shim on PATH costs a
# quarter of a second per start, and the lab starts python3 often.
PYTHON=$(python3 -c 'import sys; print(sys.executable)') ||
    { echo "$NAME: python3 does not run" >&2; exit 2; }

say() { progress_clear; echo "$NAME: $*" >&2; }
die() { say "$*"; exit 2; }
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# ---- the progress line: rewritten in place on a terminal, one line per job otherwise ----
progress_shown=
units_done=0 units_total=0 job_no=0 jobs_total=0 started=$SECONDS
progress_clear() {
    if [ -n "$progress_shown" ]; then printf '\r\033[K' >&2; progress_shown=; fi
}
progress() { # label
    job_no=$((job_no + 1))
    local el=$((SECONDS - started)) left="?"
    if [ "$units_done" -gt 0 ]; then
        left=$(mmss $((el * (units_total - units_done) / units_done)))
    fi
    if [ -t 2 ]; then
        printf '\r\033[K[%d/%d] %s elapsed, ~%s left: %s' "$job_no" "$jobs_total" \
            "$(mmss "$el")" "$left" "$1" >&2
        progress_shown=1
    else
        echo "$NAME: [$job_no/$jobs_total] $(mmss "$el") elapsed: $1" >&2
    fi
}

# ---- children and signals --------------------------------------------------------------
# Each run is a child started in the background and waited for, so a signal reaches the
# trap at once; the trap stops that child (SIGTERM: a gillab or peer process writes each
# row with one write(2), so it dies between rows, never inside one) and exits.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gillab-$NAME.XXXXXX")
child=
failures=0
on_exit() { rm -rf "$tmp"; }
on_signal() { # name number
    trap - INT TERM
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    say "interrupted by SIG$1: every finished row in $RESULTS/ is intact${INTERRUPT_HINT:-}"
    exit $((128 + $2))
}
trap on_exit EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM

# run_child COMMAND...: run it; its output is kept aside and shown only when it fails.
# Exit 1 (a workload error, recorded as a row with status error) is counted and the
# lab goes on; any other failure (usage, a refused file) stops the script with exit 2.
run_child() {
    local rc=0
    "$@" >"$tmp/out" 2>"$tmp/err" &
    child=$!
    wait "$child" || rc=$?
    child=
    case $rc in
        0) ;;
        1) failures=$((failures + 1))
           say "a workload run failed (exit 1; its rows have status error): $*"
           tail -n 8 "$tmp/err" >&2 ;;
        *) say "this command failed with exit status $rc: $*"
           cat "$tmp/out" "$tmp/err" >&2
           exit 2 ;;
    esac
}

# size_count LABEL TARGET_S COMMAND...: sets SIZE_N such that one count(N) takes about
# TARGET_S seconds, measured by COMMAND (a gillab run or peer.py up to its options,
# followed here by --entry count ...). Starts small and scales, at most six runs of
# three repetitions each, scaling from the fastest repetition.
# (Not a $(...) function: a signal must reach this shell's trap during the runs.)
SIZE_N=
size_count() {
    local label=$1 target=$2 n=200000 verdict tries=0
    shift 2
    while :; do
        tries=$((tries + 1))
        rm -f "$tmp/cal.csv"
        say "sizing count(N) for $label: count($n) ..."
        run_child "$@" --entry count --arg "$n" --scenario threads --threads 1 \
            --reps 3 --warmup 1 --csv "$tmp/cal.csv" --quiet
        local sized
        sized=$("$PYTHON" "$LABTOOL" size "$tmp/cal.csv" "$n" "$target" 2>&1) ||
            die "sizing count(N) for $label: $sized"
        read -r n verdict <<<"$sized"
        if [ "$verdict" = ok ] || [ "$tries" -ge 6 ]; then break; fi
    done
    SIZE_N=$n
}

# The lab's checks on GILLAB: built, and it says its version.
need_gillab() {
    [ -x "$GILLAB" ] || die "$GILLAB is missing; build it first: make release"
    LAB_VERSION=$("$GILLAB" version | awk '{print $2}')
    [ -n "$LAB_VERSION" ] || die "'$GILLAB version' printed no version"
}
