#!/usr/bin/env bash
# check_fork.sh — `gillab run --scenario fork`: copy-on-write after fork.
#
# The two reference-count policies decide what a worker's reads do to the
# parent's pages, as the kernel counts them (/proc/PID/smaps_rollup): a walk of
# a 16 MB structure makes most of it private under plain and leaves almost all
# of it shared under immortal (the margins are wide: what is measured is pages,
# not time, but a busy machine's page cache and a kernel's accounting move them
# a little). Bad input is refused with its exact exit status and message and
# leaves no file behind; a setup that raises gives one error row; a worker killed
# by a signal gets a row saying so while the others keep theirs; SIGINT or
# SIGTERM during a run leaves no process and no half row. Every run ends with
# every worker reaped. Under the ASan build the same runs report nothing.
#
# Env: GILLAB (release binary), GILLAB_ASAN (optional). Run from the repository
# root. Prints "N passed, N failed" last; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
G=${GILLAB:-$PWD/build/release/gillab}
GA=${GILLAB_ASAN:-$PWD/build/asan/gillab}
T=$(mktemp -d /tmp/gillab-check-fork.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | head -n 20; }
check() { # description command...
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# run ARGS...: gillab with a time limit; sets rc, out, err.
run() {
    timeout -k 5 120 "$G" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

# The children of this shell's processes that are still there (none may be).
leftovers() { pgrep -f "$T/" 2>/dev/null | grep -v "^$$\$" || true; }

COW=workloads/cow.py
NEVER=$T/never.csv

# refused NAME STATUS "exact stderr" -- ARGS...: that status, that one line, no file.
refused() {
    local name=$1 want_rc=$2 want=$3; shift 4
    run "$@" --csv "$NEVER"
    local why=""
    [ "$rc" -eq "$want_rc" ] || why="exit $rc, expected $want_rc"
    [ "$err" = "$want" ] || why="$why; stderr is not the expected line"
    [ -e "$NEVER" ] && why="$why; $NEVER was created" && rm -f "$NEVER"
    if [ -z "$why" ]; then ok "$name"; else bad "$name: $why" "$err"; fi
}

# ---- bad input -------------------------------------------------------------------------
F="$COW --scenario fork --entry walk --setup build --arg 1"
refused "--workers 0" 2 "gillab: --workers 0: expected 1..256" -- run $F --workers 0
refused "--workers -1" 2 "gillab: --workers -1: expected 1..256" -- run $F --workers -1
refused "--workers 257" 2 "gillab: --workers 257: expected 1..256" -- run $F --workers 257
refused "--workers two" 2 "gillab: --workers two: expected 1..256" -- run $F --workers two
refused "--threads with --scenario fork" 2 \
    "gillab: --threads: not for --scenario fork (its workers are processes, each running one VM thread: use --workers N)" \
    -- run $F --threads 2
refused "--scenario fork without --setup" 2 \
    "gillab: --scenario fork needs --setup NAME: the function the parent calls before it forks" \
    -- run $COW --scenario fork --entry walk
refused "--workers outside the fork scenario" 2 "gillab: --workers: only for --scenario fork" \
    -- run $COW --entry walk --workers 2
refused "--setup outside the fork scenario" 2 "gillab: --setup: only for --scenario fork" \
    -- run $COW --scenario threads --entry walk --setup build
refused "an unknown --refcount-policy" 2 \
    "gillab: --refcount-policy: unknown 'eternal'; allowed: plain, immortal" \
    -- run $F --refcount-policy eternal
refused "--sample-ms without --smaps-csv" 2 \
    "gillab: --sample-ms needs --smaps-csv FILE, where the readings go" -- run $F --sample-ms 5
refused "--sample-ms out of range" 2 "gillab: --sample-ms 60001: expected 0..60000" \
    -- run $F --sample-ms 60001 --smaps-csv "$T/s.csv"
refused "a --setup the file lacks" 2 \
    "gillab: --setup nope: $COW defines no function 'nope'" \
    -- run $COW --scenario fork --entry walk --setup nope
refused "a --setup given the wrong arguments" 2 \
    "gillab: --setup build: build() takes 1 argument, got 0 (--arg)" \
    -- run $COW --scenario fork --entry walk --setup build
refused "an --entry that takes arguments" 2 \
    "gillab: --entry build: build() takes 1 argument, got 0 (the fork scenario calls it with none)" \
    -- run $COW --scenario fork --entry build --setup build --arg 1
refused "--trace with --scenario fork" 2 \
    "gillab: --trace: not for --scenario fork (its workers are processes; what they count stays in them)" \
    -- run $F --trace "$T/t.csv"
check "the refusals left no smaps or trace file" eval '[ ! -e "$T/s.csv" ] && [ ! -e "$T/t.csv" ]'

# More workers than the memory can hold: 256 private copies of a 600 MB structure
# (the check needs the setup to have run, and comes before any fork).
avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "$avail" -lt $((256 * 600 * 1024)) ]; then
    run run $COW --scenario fork --entry walk --setup build --arg 600 --workers 256 --csv "$NEVER" \
        --smaps-csv "$T/s.csv"
    why=""
    [ "$rc" -eq 2 ] || why="exit $rc, expected 2"
    case $err in
        "gillab: --workers 256: each worker may end with a private copy of what the setup built ("*" MB), "*" GB for 256, and the machine has "*" GB available (MemAvailable): at most "*" fit") ;;
        *) why="$why; not the expected message" ;;
    esac
    [ -e "$NEVER" ] || [ -e "$T/s.csv" ] && why="$why; a file was created"
    if [ -z "$why" ]; then ok "--workers beyond the memory available"; else
        bad "--workers beyond the memory available: $why" "$err"; fi
else
    ok "--workers beyond the memory available: skipped, this machine holds 256 x 600 MB"
fi

# ---- what the policies do to a small structure ------------------------------------------------
# field FILE ROW COLUMN: a field of a CSV row (1: the first data row).
field() { python3 - "$1" "$2" "$3" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(rows[int(sys.argv[2]) - 1][sys.argv[3]])
EOF
}
# 16 MB (about 18 MB in the row), one worker, each policy; the second run appends.
for policy in plain immortal; do
    start=$SECONDS
    run run $COW --scenario fork --entry walk --setup build --arg 16 --workers 1 \
        --refcount-policy $policy --csv "$T/cow.csv" --smaps-csv "$T/smaps.csv" --sample-ms 2 --quiet
    check "$policy: exit 0 (stderr: ${err:0:200})" [ "$rc" -eq 0 ]
    check "$policy: took at most 15 s ($((SECONDS - start)) s)" [ $((SECONDS - start)) -le 15 ]
done
plain_pct=$(field "$T/cow.csv" 1 pct_still_shared)
imm_pct=$(field "$T/cow.csv" 2 pct_still_shared)
heap=$(field "$T/cow.csv" 1 heap_kb)
check "the structure is 12..20 MB (heap_kb $heap)" eval '[ "$heap" -ge 12288 ] && [ "$heap" -le 20480 ]'
check "plain: the walk made at least 75% of it private (still shared: $plain_pct%)" \
    python3 -c "import sys; sys.exit(0 if float('$plain_pct') <= 25 else 1)"
check "immortal: at least 90% of it still shared after the walk ($imm_pct%)" \
    python3 -c "import sys; sys.exit(0 if float('$imm_pct') >= 90 else 1)"
pd_plain=$(( $(field "$T/cow.csv" 1 private_dirty_kb) - $(field "$T/cow.csv" 1 private_dirty_before_kb) ))
check "plain: Private_Dirty grew by most of the structure ($pd_plain of $heap kB)" \
    [ $((pd_plain * 4)) -ge $((heap * 3)) ]
check "immortal: objects were made immortal ($(field "$T/cow.csv" 2 frozen_objects))" \
    [ "$(field "$T/cow.csv" 2 frozen_objects)" -gt 100000 ]
check "the rows and the readings pass the schema check" \
    python3 mk/lab validate "$T/cow.csv" "$T/smaps.csv"
check "the readings: one before, at least one during, one after, per worker and run" \
    python3 - "$T/cow.csv" "$T/smaps.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
readings = list(csv.DictReader(open(sys.argv[2])))
for r in rows:
    mine = [s for s in readings if s["run_id"] == r["run_id"]]
    assert len(mine) >= 2 and float(mine[0]["t_ms"]) == 0, mine
    assert mine[-1]["private_dirty_kb"] == r["private_dirty_kb"], (mine[-1], r["private_dirty_kb"])
EOF

# ---- failures ------------------------------------------------------------------------------
cat >"$T/w.py" <<'EOF'
import time

data = []


def build(n):
    for i in range(n):
        data.append([i * 1000])
    return len(data)


def nap():
    time.sleep(3)
    return len(data)


def broken(n):
    return n // 0
EOF
run run "$T/w.py" --scenario fork --entry nap --setup broken --arg 1 --workers 2 --csv "$T/setup.csv"
check "a setup that raises: exit 1" [ "$rc" -eq 1 ]
check "a setup that raises: its traceback on stderr" \
    eval 'grep -q "ZeroDivisionError: integer division or modulo by zero" <<<"$err" && grep -q "in broken" <<<"$err"'
check "a setup that raises: one row, no worker, status error and the last line" \
    eval '[ "$(field "$T/setup.csv" 1 status),$(field "$T/setup.csv" 1 worker),$(field "$T/setup.csv" 1 message)" = "error,,setup: ZeroDivisionError: integer division or modulo by zero" ] && [ "$(wc -l <"$T/setup.csv")" -eq 2 ]'

# A worker killed by a signal: the others keep their rows, every one is reaped.
"$G" run "$T/w.py" --scenario fork --entry nap --setup build --arg 10 --workers 3 \
    --csv "$T/killed.csv" --quiet >"$T/out" 2>"$T/err" &
gp=$!
kids=""
for _ in $(seq 50); do
    kids=$(pgrep -P "$gp" | tr '\n' ' ')
    [ "$(wc -w <<<"$kids")" -eq 3 ] && break
    sleep 0.1
done
victim=$(awk '{print $2}' <<<"$kids")
sleep 0.5
kill -KILL "$victim"
wait "$gp"; rc=$?
check "a killed worker: exit 1" [ "$rc" -eq 1 ]
check "a killed worker: three rows, its own says killed by signal 9, the others ok" \
    python3 - "$T/killed.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = [(r["worker"], r["status"], r["message"]) for r in rows]
assert got == [("0", "ok", ""), ("1", "error", "killed by signal 9 (SIGKILL)"), ("2", "ok", "")], got
assert rows[1]["rss_kb"] == "" and rows[1]["rss_before_kb"] != "", rows[1]
assert float(rows[0]["wall_s"]) >= 2.9, rows[0]["wall_s"]
EOF
check "a killed worker: stderr names it" grep -q "gillab: worker 1 (pid $victim) killed by signal 9 (SIGKILL)" "$T/err"
check "a killed worker: every worker reaped" eval '! kill -0 $kids 2>/dev/null'

# SIGINT, SIGTERM and SIGHUP while workers run: the first repetition's rows stay whole,
# the one under way writes none, no process is left. Started from Python, whose
# child gets both signals' default actions (a background job of this shell
# would have SIGINT ignored, which gillab respects).
for sig in SIGINT SIGTERM SIGHUP; do
    python3 - "$G" "$T/w.py" "$T/stop-$sig.csv" "$sig" >"$T/stop.out" 2>&1 <<'EOF'
import os, signal, subprocess, sys, time
gillab, wl, csv_path, name = sys.argv[1:]
dfl = lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
p = subprocess.Popen([gillab, "run", wl, "--scenario", "fork", "--entry", "nap", "--setup", "build",
                      "--arg", "10", "--workers", "2", "--reps", "3", "--csv", csv_path, "--quiet"],
                     preexec_fn=dfl, stderr=subprocess.PIPE, universal_newlines=True)
def children():
    return subprocess.run(["pgrep", "-P", str(p.pid)], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.split()
def lines():
    return len(open(csv_path).readlines()) if os.path.exists(csv_path) else 0
# Wait (60 s at most) until rep 1's rows are written and rep 2's two workers walk.
deadline = time.time() + 60
kids = []
while time.time() < deadline and p.poll() is None:
    kids = children()
    if lines() >= 3 and len(kids) == 2:
        break
    time.sleep(0.05)
time.sleep(0.3)
p.send_signal(getattr(signal, name))
err = p.communicate()[1]
alive = [k for k in kids if os.path.exists("/proc/" + k)]
print("status", p.returncode, "workers", len(kids), "alive", len(alive))
print(err.strip())
EOF
    st=$(head -n1 "$T/stop.out")
    num=$(python3 -c "import signal; print(int(signal.$sig))")
    check "$sig during a run: gillab dies of it, its 2 workers are gone ($st)" \
        [ "$st" = "status -$num workers 2 alive 0" ]
    check "$sig during a run: it says so" \
        grep -q "^gillab: interrupted by $sig: the workers were stopped and reaped; the repetition under way wrote no row, every row written before is whole\$" "$T/stop.out"
    check "$sig during a run: repetition 1's two rows, whole, and nothing of the next" \
        eval '[ "$(wc -l <"$T/stop-$sig.csv")" -eq 3 ] && python3 mk/lab validate "$T/stop-$sig.csv" >/dev/null 2>&1'
done

# ---- the ASan build: the same runs report nothing ------------------------------------------
if [ -x "$GA" ]; then
    for policy in plain immortal; do
        timeout -k 5 120 "$GA" run $COW --scenario fork --entry walk --setup build --arg 2 --workers 2 \
            --refcount-policy $policy --reps 2 --quiet >"$T/out" 2>"$T/err"
        rc=$?
        check "ASan, $policy: exit 0, no sanitizer report" \
            eval '[ "$rc" -eq 0 ] && ! grep -q "Sanitizer\|runtime error:" "$T/err"'
    done
else
    ok "ASan build not found: skipped"
fi

check "no process of these runs is left" eval '[ -z "$(leftovers)" ]'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
