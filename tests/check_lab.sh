#!/usr/bin/env bash
# check_lab.sh -- `make lab`'s driver (python3 mk/lab lab) end to end at QUICK sizes.
#
#  1. A QUICK matrix runs to the end with the default contenders -- every design of
#     gillab's registry that runs two threads, and the peers the lab picks by default
#     (python3 mk/lab peers --list): exit 0; lab.csv, convoy.csv and
#     convoy_samples.csv pass the schema check; every contender has its three shapes
#     with reps 1..REPS, status ok; convoy rows and samples agree; a trace per design
#     whose lock serialises the VM; the figures; the summary table names every one.
#  2. SIGINT in the middle of a cell: the driver stops its child and exits 130 with a
#     message; every line of lab.csv has the header's field count; no child is left.
#     The sizes are seeded through the resume state so that a repetition takes long
#     enough for the interruption to fall between the first and the second of a cell.
#  3. The re-run resumes: it appends to the same file (one header, the earlier rows
#     kept byte for byte) and numbers each cell's repetitions on, so every cell has
#     reps exactly 1..REPS (never two rep=1); the files pass the schema check. A
#     LAB_PEERS entry may be a path; one that is not found is named and skipped.
#  4. The schema check catches what a bad resume would do: a repeated rep, a gap.
#
# Env: GILLAB (release binary). Run from the repository root. Prints
# "N passed, N failed" last; exits non-zero on any failure. No timing is asserted.
set -u
export GILLAB=${GILLAB:-$PWD/build/release/gillab}
LAB=$PWD/mk/lab
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
validate() { "$PY" "$LAB" validate "$@"; }

export QUICK=1 LAB_REPS=2 LAB_WARMUP=0 LAB_TARGET_S=0.02 LAB_IO_ITERS=5 LAB_IO_SLEEP_US=1000
unset LAB_DESIGNS LAB_PEERS LAB_TRACE LAB_PLOTS

# ---- 1. a QUICK matrix, end to end ------------------------------------------------------------
R=$T/full
"$PY" "$LAB" peers --list >"$T/peers" 2>/dev/null
RESULTS=$R timeout -k 5 300 "$PY" "$LAB" lab >"$T/full.out" 2>"$T/full.err"
rc=$?
if [ "$rc" -eq 0 ]; then ok "a QUICK lab runs to the end (exit 0)"
else bad "a QUICK lab runs to the end (exit 0), got $rc" "$(cat "$T/full.err")"; fi
check "lab.csv, convoy.csv and convoy_samples.csv pass the schema check" \
    validate "$R/lab.csv" "$R/convoy.csv" "$R/convoy_samples.csv"
check "every design and default peer: three shapes x reps 1..2, convoy x 2, status ok" \
    "$PY" - "$R" "$T/peers" "$GILLAB" <<'EOF'
import csv, json, os, subprocess, sys
d, peers_file, gillab = sys.argv[1:4]
designs = json.loads(subprocess.check_output([gillab, "designs", "--json"]))["designs"]
want = [x["name"] for x in designs if x["max_threads"] in (0,) or x["max_threads"] >= 2]
peers = [l.split("\t")[0] for l in open(peers_file).read().splitlines() if l.endswith("\tdefault")]
lab = list(csv.DictReader(open(os.path.join(d, "lab.csv"), newline="")))
convoy = list(csv.DictReader(open(os.path.join(d, "convoy.csv"), newline="")))
bad = [r for r in lab + convoy if r["status"] != "ok"]
assert not bad, "rows not ok: %s" % [(r["design"], r["message"]) for r in bad]
have = sorted(set(r["design"] for r in lab))
assert have == sorted(want + peers), "designs %s, expected %s + %s" % (have, want, peers)
assert any(x.startswith("cpython-3") for x in peers), peers
for des in have:
    mine = [r for r in lab if r["design"] == des]
    cells = {}
    for r in mine:
        cells.setdefault((r["scenario"], r["threads"], r["placement"]), []).append(r["rep"])
    assert cells == {("seq", "2", "all"): ["1", "2"], ("threads", "2", "one"): ["1", "2"],
                     ("threads", "2", "all"): ["1", "2"]}, (des, cells)
    assert len(set(r["args"] for r in mine)) == 1, "one size per contender"
    assert all(r["workload"] == "count.py" and r["entry"] == "count" for r in mine)
    assert all(r["ncpus"] == "1" for r in mine if r["placement"] == "one")
    c = [r for r in convoy if r["design"] == des]
    assert [r["rep"] for r in c] == ["1", "2"], c
    assert all(r["scenario"] == "convoy" and r["io_iters"] == "5" for r in c), c
print("ok")
EOF
check "convoy samples: one per wake-up of every convoy row" "$PY" - "$R" <<'EOF'
import csv, os, sys
d = sys.argv[1]
convoy = list(csv.DictReader(open(os.path.join(d, "convoy.csv"), newline="")))
samples = list(csv.DictReader(open(os.path.join(d, "convoy_samples.csv"), newline="")))
for r in convoy:
    mine = [s for s in samples if s["run_id"] == r["run_id"]]
    assert len(mine) == int(r["io_iters"]), (r["run_id"], len(mine))
    assert all(s["design"] == r["design"] for s in mine)
    assert all(int(s["latency_us"]) <= int(r["latency_max_us"]) for s in mine)
assert len(samples) == sum(int(r["io_iters"]) for r in convoy)
print("ok")
EOF
traced=$("$GILLAB" designs --json | "$PY" -c '
import json, sys
for d in json.load(sys.stdin)["designs"]:
    if d["vm_safety"] == "serial" and d["max_threads"] != 1:
        print(d["name"])')
for d in $traced; do
    if [ "$(head -n1 "$R/trace-$d.csv" 2>/dev/null)" = "t_ns,thread,event" ] &&
        [ "$(wc -l <"$R/trace-$d.csv")" -gt 1 ]; then ok "trace-$d.csv: header and events"
    else bad "trace-$d.csv: header and events" "$(head -n3 "$R/trace-$d.csv" 2>&1)"; fi
done
why=""
for f in runtime rates convoy $(printf 'timeline-%s ' $traced); do
    [ -s "$R/$f.png" ] && [ -s "$R/$f.svg" ] || why="$why $f;"
done
if [ -z "$why" ]; then ok "the figures are drawn"; else bad "the figures are drawn: missing$why" \
    "$(ls "$R"; cat "$T/full.err")"; fi
why=""
while read -r d; do grep -q "^$d " "$T/full.err" || why="$why no row for $d;"; done \
    < <(cut -d, -f5 "$R/lab.csv" | tail -n +2 | sort -u)
grep -q "x seq" "$T/full.err" || why="$why no 'x seq' column;"
grep -q "latency median us" "$T/full.err" || why="$why no convoy table;"
[ -e "$R/lab.state" ] && why="$why lab.state left behind;"
if [ -z "$why" ]; then ok "the summary table on stderr names every contender"
else bad "the summary table on stderr:$why" "$(cat "$T/full.err")"; fi

# ---- 2. SIGINT in the middle of a cell ------------------------------------------------------------
# Seed the resume state: gillab's count(N) about 0.15 s (a seq repetition calls it
# twice), python3's small. Once py26's first repetition is a row, its second is running.
I=$T/intr
mkdir -p "$I"
export LAB_TRACE=0 LAB_PLOTS=0
py3=$("$PY" workloads/peers/peer.py --interpreter)
per_iter_ns=$("$GILLAB" run workloads/count.py --entry count --arg 2000000 --csv "$T/cal.csv" --quiet &&
    "$PY" -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1])))[-1]; print(max(1, int(float(r["wall_s"]) * 1e9 / 2000000)))' "$T/cal.csv")
n_gillab=$((150000000 / ${per_iter_ns:-10}))
printf 'settings=quick=1 reps=2 target_s=0.02 io=5,1000\nsize_gillab=%d\nsize_%s=20000\n' \
    "$n_gillab" "$py3" >"$I/lab.state"
PEERS_ENV="$PY nosuch-python"

# A background job of a script starts with SIGINT ignored, and so would the lab: restore
# the default before exec.
RESULTS=$I LAB_DESIGNS="py26 py32" LAB_PEERS=$PEERS_ENV "$PY" -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$PY" "$LAB" lab >"$T/intr.out" 2>"$T/intr.err" &
bg=$!
rows=0
for _ in $(seq 3000); do   # at most 60 s for the first row
    rows=$(($(cat "$I/lab.csv" 2>/dev/null | wc -l) - 1))
    [ "$rows" -ge 1 ] && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.02
done
kill -INT "$bg" 2>/dev/null
rc=0
timeout 30 tail --pid="$bg" -f /dev/null || true
wait "$bg" || rc=$?
bg=
if [ "$rows" -ge 1 ] && [ "$rc" -eq 130 ] && grep -q "interrupted by SIGINT" "$T/intr.err"
then ok "SIGINT: exit 130 with a message"
else bad "SIGINT: a row, then exit 130 and a message; rows $rows, exit $rc" "$(cat "$T/intr.err")"; fi
if pgrep -f "$I/" >/dev/null 2>&1; then bad "SIGINT: no child left running" "$(pgrep -af "$I/")"
else ok "SIGINT: no child left running"; fi
check "SIGINT: every line of lab.csv whole, one header; the interruption fell inside a cell" \
    "$PY" - "$I/lab.csv" <<'EOF'
import csv, sys
text = open(sys.argv[1], newline="").read()
assert text.endswith("\n"), "the last line is incomplete"
rows = list(csv.reader(text.splitlines()))
n = len(rows[0])
short = [i + 1 for i, r in enumerate(rows) if len(r) != n]
assert not short, "lines with another field count: %s" % short
assert sum(1 for r in rows if r == rows[0]) == 1, "more than one header"
cells = {}
for r in csv.DictReader(text.splitlines()):
    cells.setdefault((r["design"], r["scenario"], r["cpus"]), []).append(r["rep"])
assert ["1"] in cells.values(), "no cell with only its first repetition: %s" % cells
print("ok")
EOF
if [ -f "$I/lab.state" ]; then ok "SIGINT: the resume state is kept"
else bad "SIGINT: the resume state is kept"; fi

# ---- 3. the re-run resumes, appends, numbers on -----------------------------------------------
cp "$I/lab.csv" "$T/before.csv"
RESULTS=$I LAB_DESIGNS="py26 py32" LAB_PEERS=$PEERS_ENV timeout -k 5 300 "$PY" "$LAB" lab \
    >"$T/again.out" 2>"$T/again.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "resuming" "$T/again.err"; then ok "the re-run resumes (exit 0)"
else bad "the re-run resumes (exit 0), got $rc" "$(cat "$T/again.err")"; fi
if grep -q "LAB_PEERS: nosuch-python is not on PATH: the lab goes on without it" "$T/again.err"
then ok "LAB_PEERS: an entry not found is named and skipped"
else bad "LAB_PEERS: an entry not found is named and skipped" "$(cat "$T/again.err")"; fi
check "the re-run appended: earlier rows kept, one header, every cell reps 1..2 once each" \
    "$PY" - "$T/before.csv" "$I/lab.csv" "$I/convoy.csv" "$py3" <<'EOF'
import csv, sys
before = open(sys.argv[1], newline="").read()
after = open(sys.argv[2], newline="").read()
assert after.startswith(before), "the earlier rows were not kept as they were"
assert after.count(after.splitlines()[0] + "\n") == 1, "more than one header"
cells = {}
for path in sys.argv[2:4]:
    for r in csv.DictReader(open(path, newline="")):
        cells.setdefault((r["design"], r["scenario"], r["threads"], r["cpus"]), []).append(r["rep"])
assert len(cells) == 12, sorted(cells)
bad = {k: v for k, v in cells.items() if sorted(v) != ["1", "2"]}
assert not bad, "cells without reps exactly 1, 2: %s" % bad
assert {k[0] for k in cells} == {"py26", "py32", sys.argv[4]}, sorted(cells)
print("ok")
EOF
check "the resumed files pass the schema check" \
    validate "$I/lab.csv" "$I/convoy.csv" "$I/convoy_samples.csv"

# ---- 4. the schema check catches repeated and missing repetitions ------------------------------
"$PY" - "$I/lab.csv" "$T/dup.csv" "$T/gap.csv" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
first = lines[1]
# The same repetition again, as a resume that numbered from 1 would write it.
dup = first.replace(first.split(",")[0], first.split(",")[0] + "-again", 1)
open(sys.argv[2], "w").write("".join(lines + [dup]))
open(sys.argv[3], "w").write("".join(lines[:1] + lines[2:]))   # its rep 1 gone
EOF
validate "$T/dup.csv" >/dev/null 2>"$T/dup.err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "rep 1 appears 2 times" "$T/dup.err"; then ok "validate: a repeated rep fails"
else bad "validate: a repeated rep fails (exit $rc)" "$(cat "$T/dup.err")"; fi
validate "$T/gap.csv" >/dev/null 2>"$T/gap.err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "rep 1 missing" "$T/gap.err"; then ok "validate: a missing rep fails"
else bad "validate: a missing rep fails (exit $rc)" "$(cat "$T/gap.err")"; fi
sed '1s/wall_s/wall_time/' "$I/lab.csv" >"$T/hdr.csv"
validate "$T/hdr.csv" >/dev/null 2>"$T/hdr.err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "hdr.csv:1: not gillab's header: column [0-9]* is 'wall_time', expected 'wall_s'" "$T/hdr.err"
then ok "validate: another header fails, naming the column"
else bad "validate: another header fails, naming the column (exit $rc)" "$(cat "$T/hdr.err")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
