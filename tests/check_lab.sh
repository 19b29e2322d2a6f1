#!/usr/bin/env bash
# check_lab.sh -- `make lab`'s driver (python3 mk/lab lab) end to end at QUICK sizes.
#
#  1. A QUICK matrix runs to the end with the default contenders -- every design of
#     gillab's registry that runs two threads, and the peers the lab picks by default
#     (python3 mk/lab peers --list), ruby among them when it is installed (else the
#     script says it was skipped): exit 0; lab.csv, convoy.csv and convoy_samples.csv
#     pass the schema check; every contender has its three shapes with reps 1..REPS,
#     status ok, running its own language's file (count.py, count.rb); convoy rows and
#     samples agree; each contender's wake-ups within the bounds of the convoy budget,
#     and the lab said so wherever the budget cut them; a trace per design whose lock
#     serialises the VM; the figures; the summary table names every one, the Ruby
#     peer after the Python ones. The budget's arithmetic (convoy_plan) on its own.
#  2. SIGINT in the middle of a cell: the driver stops its child and exits 130 with a
#     message; every line of lab.csv has the header's field count; no child is left.
#     The sizes are seeded through the resume state so that a repetition takes long
#     enough for the interruption to fall between the first and the second of a cell.
#  3. The re-run resumes: it appends to the same file (one header, the earlier rows
#     kept byte for byte) and numbers each cell's repetitions on, so every cell has
#     reps exactly 1..REPS (never two rep=1), the Ruby peer's too; the files pass the
#     schema check. A LAB_PEERS entry may be a path or `ruby`; one that is not found is
#     named and skipped. With ruby: SIGINT inside a Ruby peer's cell, then a resume,
#     the same way. A workload with no translation is skipped for Ruby, said in a line.
#  4. The schema check catches what a bad resume would do: a repeated rep, a gap.
#  5. make cow (python3 mk/lab cow): SIGINT while workers walk leaves no process (the
#     workers included) and no half row; the re-run resumes, every cell's repetitions
#     1..REPS once, each with all its workers' rows. The short make cow of make lab (1.)
#     writes cow.csv and cow.png.
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

# A convoy budget of 0.05 s: 8 wake-ups where one costs 5 ms, the floor of 5 where one
# costs a 100 ms quantum.
export QUICK=1 LAB_REPS=2 LAB_WARMUP=0 LAB_TARGET_S=0.02 LAB_IO_ITERS=8 LAB_IO_SLEEP_US=1000 \
    LAB_CONVOY_S=0.05
unset LAB_DESIGNS LAB_PEERS LAB_TRACE LAB_PLOTS LAB_WORKLOAD LAB_CONVOY
SETTINGS="quick=1 reps=2 target_s=0.02 io=8,1000 convoy_s=0.05"
RUBY=$(command -v ruby || true)

# ---- 0. the convoy budget's arithmetic --------------------------------------------------------
check "convoy_plan: wake-ups within the budget, at most IO_ITERS, at least 5; the CPU thread outlasts them" \
    "$PY" - "$LAB" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import matrix
class O: io_iters, convoy_s, target_s = 100, 3.0, 0.3
n = 10000000
assert matrix.convoy_plan(0.1, n, O) == (30, 400000000), matrix.convoy_plan(0.1, n, O)
assert matrix.convoy_plan(0.005, n, O) == (100, 400000000)       # fits: all of them
assert matrix.convoy_plan(2.0, n, O) == (5, 1300000000)          # the floor; cpu for 4 x 10 s
assert matrix.convoy_plan(0.0, n, O) == (100, 400000000)
O.io_iters = 3
assert matrix.convoy_plan(2.0, n, O)[0] == 3                     # never more than IO_ITERS
print("ok")
EOF

# ---- 1. a QUICK matrix, end to end ------------------------------------------------------------
R=$T/full
"$PY" "$LAB" peers --list >"$T/peers" 2>/dev/null
RESULTS=$R timeout -k 5 300 "$PY" "$LAB" lab >"$T/full.out" 2>"$T/full.err"
rc=$?
if [ -n "$RUBY" ]; then
    if awk -F'\t' '$1 ~ /^ruby-/ && $3 == "default" && $4 ~ /peer\.rb$/' "$T/peers" | grep -q .
    then ok "ruby is found and run by default, by peer.rb"
    else bad "ruby is found and run by default, by peer.rb" "$(cat "$T/peers")"; fi
else
    echo "skip the QUICK lab runs no Ruby peer: ruby is not installed (make lab installs it)"
fi
if [ "$rc" -eq 0 ]; then ok "a QUICK lab runs to the end (exit 0)"
else bad "a QUICK lab runs to the end (exit 0), got $rc" "$(cat "$T/full.err")"; fi
check "lab.csv, convoy.csv and convoy_samples.csv pass the schema check" \
    validate "$R/lab.csv" "$R/convoy.csv" "$R/convoy_samples.csv"
check "the short make cow: cow.csv and cow_smaps.csv pass the schema check, gillab's two policies in them" \
    eval 'validate "$R/cow.csv" "$R/cow_smaps.csv" && grep -q ",fork,.*,immortal," "$R/cow.csv" && [ ! -e "$R/cow.state" ]'

check "every design and default peer: three shapes x reps 1..2, convoy x 2, status ok" \
    "$PY" - "$R" "$T/peers" "$GILLAB" "$T/full.err" <<'EOF'
import csv, json, os, re, subprocess, sys
d, peers_file, gillab, err = sys.argv[1:5]
designs = json.loads(subprocess.check_output([gillab, "designs", "--json"]))["designs"]
want = [x["name"] for x in designs if x["max_threads"] in (0,) or x["max_threads"] >= 2]
listed = [l.split("\t") for l in open(peers_file).read().splitlines()]
peers = [f[0] for f in listed if f[2] == "default"]
# each contender's files: the designs' count.py, a peer's in its driver's language
ext = dict((f[0], os.path.splitext(f[3])[1]) for f in listed)
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
    lang = ext.get(des, ".py")
    assert all(r["workload"] == "count" + lang and r["entry"] == "count" for r in mine), des
    assert all(r["ncpus"] == "1" for r in mine if r["placement"] == "one")
    c = [r for r in convoy if r["design"] == des]
    assert [r["rep"] for r in c] == ["1", "2"], c
    assert all(r["scenario"] == "convoy" and r["workload"] == "convoy" + lang for r in c), c
    # wake-ups: one number per contender, 5..8; fewer than 8 only where the lab said why
    iters = {r["io_iters"] for r in c}
    assert len(iters) == 1 and 5 <= int(min(iters)) <= 8, (des, iters)
    said = re.findall(r"^lab: convoy for %s: about .* per wake-up: (\d+) of 8 wake-ups"
                      % re.escape(des), open(err).read(), re.M)
    assert said == ([] if iters == {"8"} else list(iters)), (des, iters, said)
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
for f in runtime rates convoy cow $(printf 'timeline-%s ' $traced); do
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
check "the tables list the designs, then the Python peers, then the Ruby peer" \
    "$PY" - "$T/full.err" "$R/lab.csv" "$GILLAB" <<'EOF'
import csv, json, os, subprocess, sys
err, lab, gillab = sys.argv[1:4]
designs = [d["name"] for d in json.loads(subprocess.check_output([gillab, "designs", "--json"]))["designs"]]
lang = {r["design"]: os.path.splitext(r["workload"])[1] for r in csv.DictReader(open(lab, newline=""))}
order = []
for block in open(err).read().split("\n\n"):
    lines = block.splitlines()
    if len(lines) > 2 and lines[1].startswith("design ") and lines[2].startswith("---"):
        names = []
        for line in lines[3:]:
            w = line.split(" ")[0]
            if w in lang and w not in names:
                names.append(w)
        order.append(names)
assert len(order) == 2, "expected the lab and the convoy tables"
for names in order:
    rank = [(0, designs.index(n)) if n in designs else (1, [".py", ".rb"].index(lang[n]))
            for n in names]
    assert rank == sorted(rank), names
    assert sorted(names) == sorted(lang), (names, sorted(lang))
print("ok")
EOF

# ---- 2. SIGINT in the middle of a cell ------------------------------------------------------------
# Seed the resume state: gillab's count(N) about 0.15 s (a seq repetition calls it
# twice), python3's small. Once py26's first repetition is a row, its second is running.
I=$T/intr
mkdir -p "$I"
export LAB_TRACE=0 LAB_PLOTS=0
py3=$("$PY" workloads/peers/peer.py --interpreter)
# ns_per_iter CSV: ns per iteration of the count(2000000) in the last row of CSV
ns_per_iter() {
    "$PY" -c 'import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))[-1]
print(max(1, int(float(r["wall_s"]) * 1e9 / 2000000)))' "$1"
}
per_iter_ns=$("$GILLAB" run workloads/count.py --entry count --arg 2000000 --csv "$T/cal.csv" --quiet &&
    ns_per_iter "$T/cal.csv")
n_gillab=$((150000000 / ${per_iter_ns:-10}))
printf 'settings=%s\nsize_gillab=%d\nsize_%s=20000\n' "$SETTINGS" "$n_gillab" "$py3" >"$I/lab.state"
PEERS_ENV="$PY nosuch-python"
rb=""
if [ -n "$RUBY" ]; then
    rb=$(ruby workloads/peers/peer.rb --interpreter)
    printf 'size_%s=20000\n' "$rb" >>"$I/lab.state"
    PEERS_ENV="$PY ruby nosuch-python"
fi

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
    "$PY" - "$T/before.csv" "$I/lab.csv" "$I/convoy.csv" "$py3" $rb <<'EOF'
import csv, sys
before = open(sys.argv[1], newline="").read()
after = open(sys.argv[2], newline="").read()
assert after.startswith(before), "the earlier rows were not kept as they were"
assert after.count(after.splitlines()[0] + "\n") == 1, "more than one header"
cells = {}
for path in sys.argv[2:4]:
    for r in csv.DictReader(open(path, newline="")):
        cells.setdefault((r["design"], r["scenario"], r["threads"], r["cpus"]), []).append(r["rep"])
who = {"py26", "py32"} | set(sys.argv[4:])
assert len(cells) == 4 * len(who), sorted(cells)
bad = {k: v for k, v in cells.items() if sorted(v) != ["1", "2"]}
assert not bad, "cells without reps exactly 1, 2: %s" % bad
assert {k[0] for k in cells} == who, sorted(cells)
print("ok")
EOF
check "the resumed files pass the schema check" \
    validate "$I/lab.csv" "$I/convoy.csv" "$I/convoy_samples.csv"

# ---- 3b. the Ruby peer: interrupted inside a cell, resumed; a workload with no translation --------
if [ -n "$RUBY" ]; then
    J=$T/intr-ruby
    mkdir -p "$J"
    # one count(N) about 0.15 s under ruby, so a seq repetition takes about 0.3 s
    ruby workloads/peers/peer.rb workloads/count.rb --entry count --arg 2000000 --csv "$T/calrb.csv" \
        --gillab "$GILLAB" --quiet
    rb_ns=$(ns_per_iter "$T/calrb.csv")
    printf 'settings=%s\nsize_%s=%d\n' "$SETTINGS" "$rb" $((150000000 / ${rb_ns:-30})) >"$J/lab.state"
    RESULTS=$J LAB_DESIGNS= LAB_PEERS=ruby "$PY" -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$PY" "$LAB" lab >"$T/intr-rb.out" 2>"$T/intr-rb.err" &
    bg=$!
    rows=0
    for _ in $(seq 3000); do
        rows=$(($(cat "$J/lab.csv" 2>/dev/null | wc -l) - 1))
        [ "$rows" -ge 1 ] && break
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.02
    done
    kill -INT "$bg" 2>/dev/null
    rc=0
    timeout 30 tail --pid="$bg" -f /dev/null || true
    wait "$bg" || rc=$?
    bg=
    if [ "$rows" -ge 1 ] && [ "$rc" -eq 130 ] && grep -q "interrupted by SIGINT" "$T/intr-rb.err" &&
        ! pgrep -f "$J/" >/dev/null 2>&1
    then ok "SIGINT inside a Ruby peer's cell: exit 130, no child left"
    else bad "SIGINT inside a Ruby peer's cell: exit 130, no child left; rows $rows, exit $rc" \
        "$(cat "$T/intr-rb.err"; pgrep -af "$J/")"; fi
    cp "$J/lab.csv" "$T/before-rb.csv"
    RESULTS=$J LAB_DESIGNS= LAB_PEERS=ruby timeout -k 5 300 "$PY" "$LAB" lab >"$T/again-rb.out" \
        2>"$T/again-rb.err"
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q "resuming" "$T/again-rb.err"; then ok "the Ruby lab resumes (exit 0)"
    else bad "the Ruby lab resumes (exit 0), got $rc" "$(cat "$T/again-rb.err")"; fi
    check "the Ruby lab: earlier rows kept, one header, a cell cut short then completed, reps 1..2" \
        "$PY" - "$T/before-rb.csv" "$J/lab.csv" "$J/convoy.csv" "$rb" <<'EOF'
import csv, sys
before = open(sys.argv[1], newline="").read()
after = open(sys.argv[2], newline="").read()
assert after.startswith(before), "the earlier rows were not kept as they were"
assert after.count(after.splitlines()[0] + "\n") == 1, "more than one header"
assert all(len(r) == len(next(csv.reader([after.splitlines()[0]])))
           for r in csv.reader(after.splitlines())), "a line with another field count"
cut = {}
for r in csv.DictReader(before.splitlines()):
    cut.setdefault((r["scenario"], r["cpus"]), []).append(r["rep"])
assert ["1"] in cut.values(), "no cell with only its first repetition: %s" % cut
cells = {}
for path in sys.argv[2:4]:
    for r in csv.DictReader(open(path, newline="")):
        assert r["design"] == sys.argv[4] and r["workload"] in ("count.rb", "convoy.rb"), r
        cells.setdefault((r["scenario"], r["threads"], r["cpus"]), []).append(r["rep"])
assert len(cells) == 4 and all(sorted(v) == ["1", "2"] for v in cells.values()), cells
print("ok")
EOF
    check "the resumed Ruby files pass the schema check" \
        validate "$J/lab.csv" "$J/convoy.csv" "$J/convoy_samples.csv"

    K=$T/solo
    mkdir -p "$K"
    cp workloads/count.py "$K/solo.py"
    RESULTS=$K LAB_DESIGNS= LAB_PEERS="ruby $PY" LAB_WORKLOAD=$K/solo.py timeout -k 5 300 \
        "$PY" "$LAB" lab >"$T/solo.out" 2>"$T/solo.err"
    rc=$?
    if [ "$rc" -eq 0 ] &&
        grep -q "no Ruby translation of $K/solo.py (no $K/solo.rb): $rb runs no count(N)" "$T/solo.err" &&
        grep -q "$rb runs no convoy either" "$T/solo.err" &&
        [ "$(cut -d, -f5 "$K/lab.csv" "$K/convoy.csv" | grep -v '^design$' | sort -u)" = "$py3" ]
    then ok "a workload with no Ruby translation: skipped for ruby, said in a line; python3 runs"
    else bad "a workload with no Ruby translation: skipped for ruby, said in a line (exit $rc)" \
        "$(cat "$T/solo.err")"; fi
else
    echo "skip SIGINT and resume inside a Ruby peer's cell: ruby is not installed"
fi

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

# ---- 5. make cow: interrupted inside a cell, resumed -------------------------------------------
# A workload whose walk takes 0.6 s: once the first cell's first repetition is a row,
# its second is running. gillab and python3, one worker count, two repetitions.
C=$T/cow
mkdir -p "$C"
cat >"$C/slowcow.py" <<'EOF'
import time

data = []


def build(mb):
    for i in range(mb * 1000):
        data.append([i * 1000, str(i)])
    return len(data)


def walk():
    time.sleep(0.6)
    seen = 0
    for row in data:
        for x in row:
            seen += 1
    return seen
EOF
export COW_REPS=2 COW_MB=1 COW_WORKERS="1 2" COW_PLOTS=0 COW_WORKLOAD=$C/slowcow.py
RESULTS=$C LAB_PEERS=$PY "$PY" -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$PY" "$LAB" cow >"$T/cow-intr.out" 2>"$T/cow-intr.err" &
bg=$!
rows=0
for _ in $(seq 1500); do   # at most 30 s for the first row
    rows=$(($(cat "$C/cow.csv" 2>/dev/null | wc -l) - 1))
    [ "$rows" -ge 1 ] && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.02
done
sleep 0.2   # the second repetition's workers are walking
kill -INT "$bg" 2>/dev/null
rc=0
timeout 30 tail --pid="$bg" -f /dev/null || true
wait "$bg" || rc=$?
bg=
if [ "$rows" -ge 1 ] && [ "$rc" -eq 130 ] && grep -q "interrupted by SIGINT" "$T/cow-intr.err"
then ok "make cow, SIGINT: exit 130 with a message"
else bad "make cow, SIGINT: a row, then exit 130 and a message; rows $rows, exit $rc" \
    "$(cat "$T/cow-intr.err")"; fi
if pgrep -f "$C/" >/dev/null 2>&1; then bad "make cow, SIGINT: no process left (workers included)" "$(pgrep -af "$C/")"
else ok "make cow, SIGINT: no process left (workers included)"; fi
check "make cow, SIGINT: every row whole, the interrupted repetition wrote none" \
    "$PY" - "$C/cow.csv" <<'EOF'
import csv, sys
text = open(sys.argv[1], newline="").read()
assert text.endswith("\n"), "the last line is incomplete"
rows = list(csv.reader(text.splitlines()))
assert all(len(r) == len(rows[0]) for r in rows), "a line with another field count"
reps = {}
for r in csv.DictReader(text.splitlines()):
    reps.setdefault((r["design"], r["refcount_policy"], r["workers"], r["rep"]), []).append(r["worker"])
# every repetition that has rows has all its workers' rows
assert all(sorted(w) == [str(i) for i in range(int(k[2]))] for k, w in reps.items()), reps
print("ok")
EOF
check "make cow, SIGINT: the resume state is kept" [ -f "$C/cow.state" ]
RESULTS=$C LAB_PEERS=$PY timeout -k 5 300 "$PY" "$LAB" cow >"$T/cow-again.out" 2>"$T/cow-again.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "resuming" "$T/cow-again.err" && [ ! -e "$C/cow.state" ]
then ok "make cow: the re-run resumes (exit 0)"
else bad "make cow: the re-run resumes (exit 0), got $rc" "$(cat "$T/cow-again.err")"; fi
check "make cow: every cell has reps 1..2 once, each with all its workers; the files pass the schema check" \
    eval '"$PY" - "$C/cow.csv" "$py3" <<EOF && validate "$C/cow.csv" "$C/cow_smaps.csv"
import csv, sys
cells = {}
for r in csv.DictReader(open(sys.argv[1], newline="")):
    cells.setdefault((r["design"], r["refcount_policy"], r["workers"]), []).append((r["rep"], r["worker"]))
want = {("py32", "plain"), ("py32", "immortal"), (sys.argv[2], "plain"), (sys.argv[2], "gc_freeze")}
assert {k[:2] for k in cells} == want, sorted(cells)
for (d, p, w), got in cells.items():
    assert sorted(got) == sorted((rep, str(i)) for rep in ("1", "2") for i in range(int(w))), (d, p, w, got)
print("ok")
EOF'
check "make cow: the table on stderr has every contender and policy" \
    eval 'grep -q "^gillab py32  *immortal" "$T/cow-again.err" && grep -q "^$py3  *gc_freeze" "$T/cow-again.err"'
unset COW_REPS COW_MB COW_WORKERS COW_PLOTS COW_WORKLOAD

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
