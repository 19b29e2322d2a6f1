#!/usr/bin/env bash
# check_peers.sh -- the peer driver (workloads/peers/peer.py) against the lab.
#
# A peer row and a lab row for the same scenario share every column: the same
# header as `gillab csv-header` and as the file gillab writes, the same values in
# the workload/entry/args/scenario/threads/cpus/ncpus/cpu_list columns, lock
# columns empty in the peer's row and filled in the lab's; convoy rows carry the
# I/O columns and one samples row per wake-up. Bad input gives exit 2 and a clear
# message (unknown scenario, bad --cpus, a CSV with another header, left as it
# was); a workload that raises gives a row with status error and exit 1.
# Runs under pypy3 too when it is installed.
#
# Env: GILLAB (release binary). Run from the repository root. Prints
# "N passed, N failed" last; exits non-zero on any failure. No timing is asserted.
set -u
G=${GILLAB:-$PWD/build/release/gillab}
PEER=$PWD/workloads/peers/peer.py
LABTOOL=$PWD/workloads/labtool.py
CONVOY=$PWD/workloads/convoy.py
# python3 resolved once: a version-manager shim costs a quarter second per start.
python3() { "$PY" "$@"; }
PY=$(command python3 -c 'import sys; print(sys.executable)')
T=$(mktemp -d /tmp/gillab-check-peers.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | head -n 20; }
# check NAME COMMAND...: passes when the command succeeds; shows its output otherwise.
check() {
    local name=$1 out; shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}

# run PROGRAM ARGS...: with a time limit; sets rc, err.
run() {
    timeout -k 5 120 "$@" >"$T/out" 2>"$T/err"
    rc=$?
    err=$(cat "$T/err")
}

# A workload of our own, so these checks do not depend on the canonical ones.
cat >"$T/w.py" <<'EOF'
def count(n):
    while n > 0:
        n -= 1
    return n


def fails(n):
    return n // 0
EOF

# ---- the header ---------------------------------------------------------------------------
gh=$("$G" csv-header 2>&1)
ph=$(python3 "$PEER" --header 2>&1)
if [ -n "$gh" ] && [ "$gh" = "$ph" ]; then ok "peer.py --header equals gillab csv-header"
else bad "peer.py --header equals gillab csv-header" "gillab: $gh"$'\n'"peer:   $ph"; fi

# ---- the same scenarios under gillab and the peer, into one file -----------------------------
shapes=("seq 2 all" "threads 2 1" "threads 2 all" "threads 3 0-1")
for s in "${shapes[@]}"; do
    read -r sc th cpus <<<"$s"
    run "$G" run "$T/w.py" --entry count --arg 20000 --gil py32 --scenario "$sc" --threads "$th" \
        --cpus "$cpus" --csv "$T/same.csv" --quiet
    [ "$rc" -eq 0 ] || bad "gillab $s" "$err"
    run python3 "$PEER" "$T/w.py" --entry count --arg 20000 --scenario "$sc" --threads "$th" \
        --cpus "$cpus" --csv "$T/same.csv" --quiet
    [ "$rc" -eq 0 ] || bad "peer $s" "$err"
done
if [ "$(head -n1 "$T/same.csv")" = "$gh" ]; then ok "the file gillab began has gillab's header"
else bad "the file gillab began has gillab's header" "$(head -n1 "$T/same.csv")"; fi
check "the mixed file passes the schema check" python3 "$LABTOOL" validate "$T/same.csv"
check "peer and lab rows agree, scenario by scenario" python3 - "$T/same.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 8, "expected 8 rows (4 shapes x gillab, peer), got %d" % len(rows)
same = ["lab_version", "workload", "entry", "args", "scenario", "threads", "cpus", "ncpus",
        "cpu_list", "rep", "status", "message"]
lock = ["acquisitions", "releases", "switches", "futile_wakeups", "timeouts",
        "drop_requests", "drops_honoured", "wait_s", "wait_max_s", "hold_s"]
for lab, peer in zip(rows[0::2], rows[1::2]):
    assert lab["design"] == "py32", lab["design"]
    assert peer["design"].startswith("cpython-"), peer["design"]
    for c in same:
        assert lab[c] == peer[c], "%s: lab %r, peer %r (%s)" % (c, lab[c], peer[c], lab["scenario"])
    assert all(lab[c] != "" for c in lock), "lab row lacks lock columns"
    assert all(peer[c] == "" for c in lock), "peer row has lock columns"
    assert peer["check_interval"] == peer["interval_us"] == "", "peer row has design parameters"
    assert lab["interval_us"] != "", "lab row lacks interval_us"
    for c in ("wall_s", "user_s", "sys_s"):
        float(peer[c])
    assert peer["ctx_voluntary"].isdigit() and peer["ctx_involuntary"].isdigit()
    assert peer["io_iters"] == "" and peer["latency_p50_us"] == ""
print("ok")
EOF

# ---- convoy ----------------------------------------------------------------------------------
run "$G" run "$CONVOY" --entry cpu --arg 100000000 --scenario convoy --io-arg 5 --io-arg 1000 \
    --csv "$T/convoy.csv" --samples-csv "$T/samples.csv" --quiet
[ "$rc" -eq 0 ] || bad "gillab convoy" "$err"
run python3 "$PEER" "$CONVOY" --entry cpu --arg 100000000 --scenario convoy --io-arg 5 \
    --io-arg 1000 --reps 2 --csv "$T/convoy.csv" --samples-csv "$T/samples.csv" --quiet
[ "$rc" -eq 0 ] || bad "peer convoy" "$err"
check "convoy: peer rows match the lab's, one sample per wake-up" \
    python3 - "$T/convoy.csv" "$T/samples.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
samples = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == 3, "expected 3 convoy rows, got %d" % len(rows)
lab, peers = rows[0], rows[1:]
for p in peers:
    for c in ("workload", "entry", "args", "scenario", "threads", "cpus", "io_iters"):
        assert p[c] == lab[c], "%s: lab %r, peer %r" % (c, lab[c], p[c])
    assert p["io_iters"] == "5", p["io_iters"]
    for c in ("latency_p50_us", "latency_p90_us", "latency_p99_us", "latency_max_us"):
        int(p[c])
    float(p["io_iters_per_s"])
    mine = [s for s in samples if s["run_id"] == p["run_id"]]
    assert len(mine) == 5, "expected 5 samples for %s, got %d" % (p["run_id"], len(mine))
    assert [s["sample"] for s in mine] == ["1", "2", "3", "4", "5"]
    assert all(s["design"] == p["design"] and s["rep"] == p["rep"] for s in mine)
    assert max(int(s["latency_us"]) for s in mine) == int(p["latency_max_us"])
assert [p["rep"] for p in peers] == ["1", "2"]
print("ok")
EOF
check "convoy file passes the schema check" python3 "$LABTOOL" validate "$T/convoy.csv"

# ---- a workload error -------------------------------------------------------------------------
run python3 "$PEER" "$T/w.py" --entry fails --arg 1 --threads 2 --reps 2 --csv "$T/err.csv"
if [ "$rc" -eq 1 ] && python3 - "$T/err.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 2, rows            # the other repetitions go on
for r in rows:
    assert r["status"] == "error", r["status"]
    assert r["message"].startswith("ZeroDivisionError"), r["message"]
EOF
then ok "a workload error: exit 1, rows with status error and the message"
else bad "a workload error: exit 1, rows with status error and the message" "exit $rc: $err"; fi

# ---- bad input --------------------------------------------------------------------------------
# refused NAME FRAGMENT -- ARGS...: exit 2, FRAGMENT on stderr, no CSV left behind.
refused() {
    local name=$1 frag=$2; shift 3
    rm -f "$T/never.csv"
    run python3 "$PEER" "$@" --csv "$T/never.csv"
    local why=""
    [ "$rc" -eq 2 ] || why="exit $rc, expected 2"
    grep -qF -- "$frag" "$T/err" || why="$why; no '$frag' on stderr"
    [ -e "$T/never.csv" ] && why="$why; never.csv was created"
    if [ -z "$why" ]; then ok "refused: $name"; else bad "refused: $name: $why" "$err"; fi
}
refused "unknown scenario" "unknown scenario 'sideways'; scenarios: seq, threads, convoy" -- \
    "$T/w.py" --entry count --arg 1 --scenario sideways
refused "--cpus not a list" "--cpus 'two'" -- "$T/w.py" --entry count --arg 1 --cpus two
refused "--cpus a CPU this process may not use" "CPU 4096 is not available" -- \
    "$T/w.py" --entry count --arg 1 --cpus 4096
refused "--threads out of range" "--threads 0: expected 1..256" -- \
    "$T/w.py" --entry count --arg 1 --threads 0
refused "missing entry function" "defines no function 'nosuch'" -- "$T/w.py" --entry nosuch
refused "missing file" "no such file" -- "$T/nosuch.py" --entry count --arg 1
refused "lock options are gillab's" "--gil" -- "$T/w.py" --entry count --arg 1 --gil py32

printf 'run_id,something,else\n1,2,3\n' >"$T/other.csv"
cp "$T/other.csv" "$T/other.orig"
run python3 "$PEER" "$T/w.py" --entry count --arg 1 --csv "$T/other.csv"
if [ "$rc" -eq 2 ] && grep -q "header differs" "$T/err" && cmp -s "$T/other.csv" "$T/other.orig"
then ok "refused: a CSV with another header, left as it was"
else bad "refused: a CSV with another header, left as it was" "exit $rc: $err"; fi

# ---- pypy3, when installed ----------------------------------------------------------------------
if command -v pypy3 >/dev/null 2>&1; then
    run pypy3 "$PEER" "$T/w.py" --entry count --arg 20000 --threads 2 --cpus 1 --csv "$T/pypy.csv"
    if [ "$rc" -eq 0 ] && python3 "$LABTOOL" validate "$T/pypy.csv" 2>"$T/v" &&
        python3 - "$T/pypy.csv" <<'EOF'
import csv, re, sys
r = list(csv.DictReader(open(sys.argv[1], newline="")))[0]
assert re.match(r"^pypy-\d+\.\d+\.\d+$", r["design"]), r["design"]
assert r["cpus"] == "1" and r["ncpus"] == "1", (r["cpus"], r["ncpus"])
EOF
    then ok "pypy3: a valid row, design pypy-X.Y.Z, pinned to one CPU"
    else bad "pypy3: a valid row, design pypy-X.Y.Z, pinned to one CPU" "exit $rc: $err $(cat "$T/v")"; fi
else
    echo "note: pypy3 is not installed; its check is left out"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
