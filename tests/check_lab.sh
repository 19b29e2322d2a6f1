#!/usr/bin/env bash
# check_lab.sh -- `make lab`'s script, workloads/lab.sh, end to end at QUICK sizes.
#
#  1. A tiny matrix (py26, py32, none and the peers) runs to the end: exit 0; lab.csv,
#     convoy.csv and convoy_samples.csv pass the schema check (one header, every row
#     whole, types per column, peers' lock columns empty); every design and peer has
#     its three shapes with every repetition, status ok; convoy rows and samples agree;
#     the two traces exist; the summary table names every design.
#  2. SIGINT in the middle: the script stops its child and exits non-zero with a
#     message; every line of lab.csv has the header's field count; no child is left.
#     The sizes are seeded through the resume state so that the interruption falls,
#     by construction rather than by timing, inside a long run after other rows exist.
#  3. The re-run resumes: it appends to the same file (one header, the earlier rows
#     kept byte for byte) and completes the matrix with exactly REPS rows per cell.
#
# Env: GILLAB (release binary). Run from the repository root. Prints
# "N passed, N failed" last; exits non-zero on any failure. No timing is asserted.
set -u
export GILLAB=${GILLAB:-$PWD/build/release/gillab}
LAB=$PWD/workloads/lab.sh
LABTOOL=$PWD/workloads/labtool.py
PY=$(python3 -c 'import sys; print(sys.executable)')   # past any version-manager shim
T=$(mktemp -d /tmp/gillab-check-lab.XXXXXX)
bg=
cleanup() {
    if [ -n "$bg" ]; then kill -TERM "$bg" 2>/dev/null; wait "$bg" 2>/dev/null; fi
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | tail -n 25; }
check() { # NAME COMMAND...
    local name=$1 out; shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}

PEERS=python3
command -v pypy3 >/dev/null 2>&1 && PEERS="python3 pypy3"
export QUICK=1 LAB_REPS=2 LAB_WARMUP=0 LAB_TARGET_S=0.02 LAB_IO_ITERS=5 LAB_IO_SLEEP_US=1000
export LAB_PLOTS=0

# ---- 1. a tiny matrix, end to end --------------------------------------------------------------
R=$T/full
RESULTS=$R LAB_PEERS=$PEERS timeout -k 5 300 bash "$LAB" >"$T/full.out" 2>"$T/full.err"
rc=$?
if [ "$rc" -eq 0 ]; then ok "a QUICK lab runs to the end (exit 0)"
else bad "a QUICK lab runs to the end (exit 0), got $rc" "$(cat "$T/full.err")"; fi
for f in lab.csv convoy.csv; do
    check "$f passes the schema check" "$PY" "$LABTOOL" validate "$R/$f"
done
check "every design and peer: three shapes x 2 reps, convoy x 2, status ok" \
    "$PY" - "$R" "$PEERS" <<'EOF'
import csv, os, re, sys
d, peers = sys.argv[1], sys.argv[2].split()
lab = list(csv.DictReader(open(os.path.join(d, "lab.csv"), newline="")))
convoy = list(csv.DictReader(open(os.path.join(d, "convoy.csv"), newline="")))
bad = [r for r in lab + convoy if r["status"] != "ok"]
assert not bad, "rows not ok: %s" % [(r["design"], r["message"]) for r in bad]
designs = sorted(set(r["design"] for r in lab))
want = {"py26", "py32", "none"}
assert want <= set(designs), designs
assert any(x.startswith("cpython-") for x in designs), designs
if "pypy3" in peers:
    assert any(x.startswith("pypy-") for x in designs), designs
assert len(designs) == 3 + len(peers), designs
for des in designs:
    mine = [r for r in lab if r["design"] == des]
    cells = {}
    for r in mine:
        cells.setdefault((r["scenario"], r["threads"], r["cpus"]), []).append(r["rep"])
    assert cells == {("seq", "2", "all"): ["1", "2"], ("threads", "2", "1"): ["1", "2"],
                     ("threads", "2", "all"): ["1", "2"]}, (des, cells)
    assert len(set(r["args"] for r in mine)) == 1, "one size per design"
    assert all(r["workload"] == "count.py" and r["entry"] == "count" for r in mine)
    assert all(r["ncpus"] == "1" for r in mine if r["cpus"] == "1")
    c = [r for r in convoy if r["design"] == des]
    assert len(c) == 2 and all(r["scenario"] == "convoy" and r["io_iters"] == "5" for r in c), c
print("ok")
EOF
check "convoy samples: one per wake-up of every convoy row" "$PY" - "$R" <<'EOF'
import csv, os, sys
d = sys.argv[1]
convoy = list(csv.DictReader(open(os.path.join(d, "convoy.csv"), newline="")))
lines = open(os.path.join(d, "convoy_samples.csv")).read().splitlines()
assert lines[0] == "run_id,design,rep,sample,latency_us", lines[0]
samples = list(csv.DictReader(lines))
for r in convoy:
    mine = [s for s in samples if s["run_id"] == r["run_id"]]
    assert len(mine) == int(r["io_iters"]), (r["run_id"], len(mine))
    assert all(s["design"] == r["design"] for s in mine)
    assert all(int(s["latency_us"]) <= int(r["latency_max_us"]) for s in mine)
assert len(samples) == sum(int(r["io_iters"]) for r in convoy)
print("ok")
EOF
for d in py26 py32; do
    if [ "$(head -n1 "$R/trace-$d.csv" 2>/dev/null)" = "t_ns,thread,event" ] &&
        [ "$(wc -l <"$R/trace-$d.csv")" -gt 1 ]; then ok "trace-$d.csv: header and events"
    else bad "trace-$d.csv: header and events" "$(head -n3 "$R/trace-$d.csv" 2>&1)"; fi
done
why=""
for d in py26 py32 none cpython-; do grep -q "^$d" "$T/full.err" || why="$why no row for $d;"; done
grep -q "x seq" "$T/full.err" || why="$why no 'x seq' column;"
grep -q "latency median us" "$T/full.err" || why="$why no convoy table;"
[ -e "$R/lab.state" ] && why="$why lab.state left behind;"
if [ -z "$why" ]; then ok "the summary table on stderr names every design"
else bad "the summary table on stderr:$why" "$(cat "$T/full.err")"; fi

# ---- 2. SIGINT in the middle ---------------------------------------------------------------
# Seed the resume state: gillab's count(N) small, python3's huge, so that the lab is
# certainly inside python3's first run once the gillab rows are all written.
I=$T/intr
mkdir -p "$I"
export LAB_TRACE=0
settings="quick=1 reps=2 target_s=0.02 io=5,1000"
printf 'settings=%s\nsize_gillab=20000\nsize_peer_python3=100000000000\n' "$settings" \
    >"$I/lab.state"
gillab_rows=$((2 * 3 * 2))   # py26, py32 x three shapes x two reps

# A background job of a script starts with SIGINT ignored, and so would the lab (a
# shell cannot trap a signal ignored on entry): restore the default before exec.
RESULTS=$I LAB_DESIGNS="py26 py32" LAB_PEERS=python3 "$PY" -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' bash "$LAB" >"$T/intr.out" 2>"$T/intr.err" &
bg=$!
rows=0
for _ in $(seq 600); do   # at most 60 s for the first 12 rows
    rows=$(($(cat "$I/lab.csv" 2>/dev/null | wc -l) - 1))
    [ "$rows" -ge "$gillab_rows" ] && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
done
sleep 0.3   # python3's run has begun (or is starting): either way it is interrupted
kill -INT "$bg" 2>/dev/null
rc=0
timeout 30 tail --pid="$bg" -f /dev/null || true
wait "$bg" || rc=$?
bg=
if [ "$rows" -ge "$gillab_rows" ] && [ "$rc" -ne 0 ] && grep -q "interrupted by SIGINT" "$T/intr.err"
then ok "SIGINT: exit $rc (non-zero) with a message"
else bad "SIGINT: expected $gillab_rows rows, then a non-zero exit and a message; rows $rows, exit $rc" \
    "$(cat "$T/intr.err")"; fi
if pgrep -f "$I/" >/dev/null 2>&1; then bad "SIGINT: no child left running" "$(pgrep -af "$I/")"
else ok "SIGINT: no child left running"; fi
check "SIGINT: every line of lab.csv has the header's field count" "$PY" - "$I/lab.csv" <<'EOF'
import csv, sys
text = open(sys.argv[1], newline="").read()
assert text.endswith("\n"), "the last line is incomplete"
rows = list(csv.reader(text.splitlines()))
n = len(rows[0])
short = [i + 1 for i, r in enumerate(rows) if len(r) != n]
assert not short, "lines with another field count: %s" % short
assert sum(1 for r in rows if r == rows[0]) == 1, "more than one header"
print("ok")
EOF
if [ -f "$I/lab.state" ]; then ok "SIGINT: the resume state is kept"
else bad "SIGINT: the resume state is kept"; fi

# ---- 3. the re-run resumes and appends -------------------------------------------------------------
cp "$I/lab.csv" "$T/before.csv"
sed -i 's/^size_peer_python3=.*/size_peer_python3=20000/' "$I/lab.state"
RESULTS=$I LAB_DESIGNS="py26 py32" LAB_PEERS=python3 timeout -k 5 300 bash "$LAB" \
    >"$T/again.out" 2>"$T/again.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "resuming" "$T/again.err"; then ok "the re-run resumes (exit 0)"
else bad "the re-run resumes (exit 0), got $rc" "$(cat "$T/again.err")"; fi
check "the re-run appended: earlier rows kept, one header, REPS rows per cell" \
    "$PY" - "$T/before.csv" "$I/lab.csv" <<'EOF'
import csv, sys
before = open(sys.argv[1], newline="").read()
after = open(sys.argv[2], newline="").read()
assert after.startswith(before), "the earlier rows were not kept as they were"
rows = list(csv.DictReader(after.splitlines()))
assert after.count(after.splitlines()[0] + "\n") == 1, "more than one header"
cells = {}
for r in rows:
    key = (r["design"], r["scenario"], r["threads"], r["cpus"])
    cells[key] = cells.get(key, 0) + 1
assert len(cells) == 9 and set(cells.values()) == {2}, cells
print("ok")
EOF
check "the resumed lab.csv passes the schema check" "$PY" "$LABTOOL" validate "$I/lab.csv"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
