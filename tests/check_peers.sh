#!/usr/bin/env bash
# check_peers.sh -- the peer driver (workloads/peers/peer.py) against gillab, under every
# interpreter the lab finds.
#
# The peer takes its facts from gillab: its header is `gillab csv-header`, and it runs
# every scenario `gillab scenarios --json` lists (one it does not know is refused by
# name). A peer row and a lab row for the same scenario share every column: the same
# values in workload/entry/args/scenario/threads/placement/cpus/ncpus/cpu_list/rep,
# lock columns empty in the peer's row and filled in the lab's; convoy rows carry the
# I/O columns and one samples row per wake-up, in a samples file gillab began; fork rows
# (one per worker) carry the memory columns, a worker killed by a signal says so, and
# SIGINT or SIGTERM leaves no worker and no half row. Every
# repetition gets its row (a failed warm-up too, with an empty rep), numbered from
# --first-rep. Bad input gives exit 2 and a clear message. Then the peer runs under
# EVERY interpreter found (PATH, pyenv, rbenv: `python3 mk/lab peers --list`), each
# with its own language's driver and files (peer.py and w.py, peer.rb and w.rb), and
# its rows pass the schema check. The lab says which kind it did not find (Ruby too);
# it finds a ruby under rbenv's root; a LAB_PEERS entry that is a path to ruby or to
# python is told apart by asking each driver.
#
# Env: GILLAB (release binary). Run from the repository root. Prints
# "N passed, N failed" last; exits non-zero on any failure. No timing is asserted.
set -u
export GILLAB=${GILLAB:-$PWD/build/release/gillab}
G=$GILLAB
PEER=$PWD/workloads/peers/peer.py
LAB=$PWD/mk/lab
CONVOY=$PWD/workloads/convoy.py
# python3 resolved once: a version-manager shim costs a quarter second per start.
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
validate() { "$PY" "$LAB" validate "$@"; }

# run PROGRAM ARGS...: with a time limit; sets rc, err.
run() {
    timeout -k 5 120 "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    err=$(cat "$T/err")
}

# A workload of our own, so these checks do not depend on the canonical ones, and its
# Ruby translation.
cat >"$T/w.py" <<'EOF'
def count(n):
    while n > 0:
        n -= 1
    return n


def fails(n):
    return n // 0
EOF
cat >"$T/w.rb" <<'EOF'
def count(n)
  while n > 0
    n -= 1
  end
  n
end
EOF

# ---- the facts come from gillab -------------------------------------------------------------
gh=$("$G" csv-header 2>&1)
ph=$("$PY" "$PEER" --header 2>&1)
if [ -n "$gh" ] && [ "$gh" = "$ph" ]; then ok "peer.py --header equals gillab csv-header"
else bad "peer.py --header equals gillab csv-header" "gillab: $gh"$'\n'"peer:   $ph"; fi
check "peer.py runs every scenario gillab lists" "$PY" - "$G" "$PEER" <<'EOF'
import json, subprocess, sys
gillab, peer = sys.argv[1], sys.argv[2]
listed = [s["name"] for s in json.loads(subprocess.check_output([gillab, "scenarios", "--json"]))["scenarios"]]
runs = subprocess.check_output([sys.executable, peer, "--scenarios"], universal_newlines=True).split()
missing = [s for s in listed if s not in runs]
assert listed and not missing, "gillab lists %s; peer.py runs %s; missing %s" % (listed, runs, missing)
print("ok")
EOF
# A gillab whose table has one scenario more: the peer names it and says it cannot run it.
cat >"$T/gillab-more" <<EOF
#!/bin/sh
if [ "\$1 \$2" = "scenarios --json" ]; then
    "$G" scenarios --json | sed 's/"scenarios": *\[/"scenarios": [{"name": "sideways", "summary": "", "threads_means": "", "min_threads": 1, "max_threads": 256, "default_threads": 1, "sequential": false, "io_thread": false, "default": false, "options": ""},/'
else
    exec "$G" "\$@"
fi
EOF
chmod +x "$T/gillab-more"
run "$PY" "$PEER" "$T/w.py" --entry count --arg 1 --scenario sideways --gillab "$T/gillab-more"
if [ "$rc" -eq 2 ] && grep -q "scenario sideways: gillab runs this scenario, but peer.py does not support it" "$T/err"
then ok "a scenario gillab has and peer.py lacks: exit 2, named"
else bad "a scenario gillab has and peer.py lacks: exit 2, named" "exit $rc: $err"; fi
run "$PY" "$PEER" "$T/w.py" --entry count --arg 1 --gillab "$T/nosuch-gillab"
if [ "$rc" -eq 2 ] && grep -q "gillab not found at $T/nosuch-gillab (from --gillab)" "$T/err"
then ok "no gillab: exit 2, says where it looked"
else bad "no gillab: exit 2, says where it looked" "exit $rc: $err"; fi

# ---- refusals: a helper --------------------------------------------------------------------
# refused NAME FRAGMENT -- ARGS...: exit 2, FRAGMENT on stderr, no CSV left behind.
refused() {
    local name=$1 frag=$2; shift 3
    rm -f "$T/never.csv"
    run "$PY" "$PEER" "$@" --csv "$T/never.csv"
    local why=""
    [ "$rc" -eq 2 ] || why="exit $rc, expected 2"
    grep -qF -- "$frag" "$T/err" || why="$why; no '$frag' on stderr"
    [ -e "$T/never.csv" ] && why="$why; never.csv was created"
    if [ -z "$why" ]; then ok "refused: $name"; else bad "refused: $name: $why" "$err"; fi
}
# ---- the same scenarios under gillab and the peer, into one file -----------------------------
shapes=("seq 2 all" "threads 2 1" "threads 2 all" "threads 3 0-1")
for s in "${shapes[@]}"; do
    read -r sc th cpus <<<"$s"
    run "$G" run "$T/w.py" --entry count --arg 20000 --gil py32 --scenario "$sc" --threads "$th" \
        --cpus "$cpus" --csv "$T/same.csv" --quiet
    [ "$rc" -eq 0 ] || bad "gillab $s" "$err"
    run "$PY" "$PEER" "$T/w.py" --entry count --arg 20000 --scenario "$sc" --threads "$th" \
        --cpus "$cpus" --csv "$T/same.csv" --quiet
    [ "$rc" -eq 0 ] || bad "peer $s" "$err"
done
if [ "$(head -n1 "$T/same.csv")" = "$gh" ]; then ok "the file gillab began has gillab's header"
else bad "the file gillab began has gillab's header" "$(head -n1 "$T/same.csv")"; fi
check "the mixed file passes the schema check" validate "$T/same.csv"
check "peer and lab rows agree, scenario by scenario" "$PY" - "$T/same.csv" "$G" <<'EOF'
import csv, json, subprocess, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
schema = json.loads(subprocess.check_output([sys.argv[2], "csv-schema", "--json"]))["columns"]
lock = [c["name"] for c in schema if c["source"] == "lock"]
params = [c["name"] for c in schema if c["source"] == "design"]
assert len(rows) == 8, "expected 8 rows (4 shapes x gillab, peer), got %d" % len(rows)
same = ["lab_version", "workload", "entry", "args", "scenario", "threads", "placement", "cpus",
        "ncpus", "cpu_list", "rep", "status", "message"]
for lab, peer in zip(rows[0::2], rows[1::2]):
    assert lab["design"] == "py32", lab["design"]
    assert peer["design"].startswith("cpython-"), peer["design"]
    for c in same:
        assert lab[c] == peer[c], "%s: lab %r, peer %r (%s)" % (c, lab[c], peer[c], lab["scenario"])
    assert all(lab[c] != "" for c in lock), "lab row lacks lock columns"
    assert all(peer[c] == "" for c in lock), "peer row has lock columns"
    assert all(peer[c] == "" for c in params), "peer row has design parameters"
    assert lab["interval_us"] != "", "lab row lacks interval_us"
    assert peer["io_iters"] == "" and peer["latency_p50_us"] == ""
assert [r["placement"] for r in rows[1::2]] == ["all", "one", "all", "list"]
print("ok")
EOF

# ---- convoy: rows and samples in files gillab began -------------------------------------------
run "$G" run "$CONVOY" --entry cpu --arg 100000000 --scenario convoy --io-arg 5 --io-arg 1000 \
    --csv "$T/convoy.csv" --samples-csv "$T/samples.csv" --quiet
[ "$rc" -eq 0 ] || bad "gillab convoy" "$err"
run "$PY" "$PEER" "$CONVOY" --entry cpu --arg 100000000 --scenario convoy --io-arg 5 \
    --io-arg 1000 --reps 2 --csv "$T/convoy.csv" --samples-csv "$T/samples.csv" --quiet
if [ "$rc" -eq 0 ]; then ok "the peer appends to the samples file gillab began (same header)"
else bad "the peer appends to the samples file gillab began (same header)" "$err"; fi
check "convoy: peer rows match the lab's, one sample per wake-up" \
    "$PY" - "$T/convoy.csv" "$T/samples.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
samples = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == 3, "expected 3 convoy rows, got %d" % len(rows)
lab, peers = rows[0], rows[1:]
for p in peers:
    for c in ("workload", "entry", "args", "scenario", "threads", "placement", "cpus", "io_iters"):
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
check "convoy files pass the schema check" validate "$T/convoy.csv" "$T/samples.csv"

# ---- fork: the same rows as gillab's, workers reaped, stopped cleanly ----------------------------
COW=$PWD/workloads/cow.py
run "$G" run "$COW" --scenario fork --setup build --arg 2 --entry walk --workers 2 \
    --csv "$T/fork.csv" --smaps-csv "$T/smaps.csv" --quiet
[ "$rc" -eq 0 ] || bad "gillab fork" "$err"
run "$PY" "$PEER" "$COW" --scenario fork --setup build --arg 2 --entry walk --workers 2 \
    --csv "$T/fork.csv" --smaps-csv "$T/smaps.csv" --sample-ms 1 --quiet
if [ "$rc" -eq 0 ]; then ok "fork: the peer appends to the files gillab began"
else bad "fork: the peer appends to the files gillab began" "$err"; fi
check "fork: peer rows agree with gillab's, one per worker, with the memory columns" \
    "$PY" - "$T/fork.csv" "$T/smaps.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
readings = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == 4, len(rows)
lab, peer = rows[:2], rows[2:]
same = ["workload", "entry", "args", "scenario", "threads", "setup", "refcount_policy", "workers",
        "worker", "status", "thp"]
for l, p in zip(lab, peer):
    for c in same:
        assert l[c] == p[c], "%s: lab %r, peer %r" % (c, l[c], p[c])
    for c in ("heap_kb", "rss_before_kb", "private_dirty_kb", "unshared_kb", "pct_still_shared",
              "frozen_objects", "wall_s", "ctx_voluntary"):
        assert p[c] != "", "peer row lacks " + c
    assert p["acquisitions"] == "" and l["acquisitions"] != ""
    mine = [r for r in readings if r["run_id"] == p["run_id"]]
    assert len(mine) >= 2 and mine[0]["t_ms"] == "0.000", mine
print("ok")
EOF
check "fork: the mixed files pass the schema check" validate "$T/fork.csv" "$T/smaps.csv"
refused "fork: gillab's immortal policy" \
    "--refcount-policy immortal: gillab's policy; a real interpreter cannot make objects immortal on request" \
    -- "$COW" --scenario fork --setup build --arg 1 --entry walk --refcount-policy immortal
refused "fork: --workers 0" "--workers 0: expected 1..256" -- \
    "$COW" --scenario fork --setup build --arg 1 --entry walk --workers 0
refused "fork: --threads" "--threads: not for --scenario fork" -- \
    "$COW" --scenario fork --setup build --arg 1 --entry walk --threads 2
refused "fork: no --setup" "--scenario fork needs --setup NAME" -- "$COW" --scenario fork --entry walk
refused "fork: --sample-ms without --smaps-csv" "--sample-ms needs --smaps-csv FILE" -- \
    "$COW" --scenario fork --setup build --arg 1 --entry walk --sample-ms 5
refused "fork: an entry that takes arguments" "--entry build: build() takes 1 argument(s), 0 given" -- \
    "$COW" --scenario fork --setup build --arg 1 --entry build
# A worker that dies, and a stop while workers run.
cat >"$T/fk.py" <<'EOF'
import os
import time

data = []


def build(n):
    for i in range(n):
        data.append([i * 1000])
    return len(data)


def nap():
    time.sleep(3)
    return len(data)


def crash():
    os.abort()
EOF
run "$PY" "$PEER" "$T/fk.py" --scenario fork --setup build --arg 10 --entry crash --workers 2 \
    --csv "$T/crash.csv" --quiet
check "fork: workers killed by a signal: exit 1, each row says which signal" "$PY" - "$T/crash.csv" "$rc" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert sys.argv[2] == "1", sys.argv[2]
assert [(r["worker"], r["status"], r["message"]) for r in rows] == \
    [("0", "error", "killed by signal 6 (SIGABRT)"), ("1", "error", "killed by signal 6 (SIGABRT)")], rows
EOF
for sig in SIGINT SIGTERM; do
    "$PY" - "$PY" "$PEER" "$T/fk.py" "$T/stop-$sig.csv" "$sig" >"$T/stop.out" 2>&1 <<'EOF'
import os, signal, subprocess, sys, time
py, peer, wl, csv_path, name = sys.argv[1:]
dfl = lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM)]
p = subprocess.Popen([py, peer, wl, "--scenario", "fork", "--setup", "build", "--arg", "10",
                      "--entry", "nap", "--workers", "2", "--reps", "3", "--csv", csv_path,
                      "--quiet"], preexec_fn=dfl, stderr=subprocess.PIPE, universal_newlines=True)
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
    num=$("$PY" -c "import signal; print(int(signal.$sig))")
    check "fork: $sig stops the peer with status $((128 + num)), its workers gone, rep 1's rows whole" \
        eval '[ "$(head -n1 "$T/stop.out")" = "status $((128 + num)) workers 2 alive 0" ] && grep -q "interrupted by $sig" "$T/stop.out" && [ "$(wc -l <"$T/stop-$sig.csv")" -eq 3 ] && validate "$T/stop-$sig.csv" >/dev/null 2>&1'
done

# ---- every repetition is recorded, numbered from --first-rep ------------------------------------
run "$PY" "$PEER" "$T/w.py" --entry fails --arg 1 --threads 2 --warmup 1 --reps 2 --first-rep 4 \
    --csv "$T/err.csv"
if [ "$rc" -eq 1 ] && "$PY" - "$T/err.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["rep"] for r in rows] == ["", "4", "5"], [r["rep"] for r in rows]
for r in rows:
    assert r["status"] == "error", r["status"]
    assert "ZeroDivisionError" in r["message"], r["message"]
assert rows[0]["message"].startswith("warm-up 1: ZeroDivisionError"), rows[0]["message"]
EOF
then ok "a workload error: exit 1; a row per repetition, the failed warm-up's with an empty rep"
else bad "a workload error: exit 1; a row per repetition, the failed warm-up's with an empty rep" \
    "exit $rc: $err $(cat "$T/err.csv" 2>&1)"; fi

# ---- bad input --------------------------------------------------------------------------------
allowed=$("$G" scenarios --json | "$PY" -c 'import json,sys; print(", ".join(s["name"] for s in json.load(sys.stdin)["scenarios"]))')
refused "unknown scenario, with gillab's list" "--scenario: unknown 'diagonal'; allowed: $allowed" -- \
    "$T/w.py" --entry count --arg 1 --scenario diagonal
refused "--cpus not a list" "--cpus 'two'" -- "$T/w.py" --entry count --arg 1 --cpus two
refused "--cpus a CPU this process may not use" "CPU 4096 is not available" -- \
    "$T/w.py" --entry count --arg 1 --cpus 4096
refused "--threads out of gillab's range" "--threads 0: expected 1..256" -- \
    "$T/w.py" --entry count --arg 1 --threads 0
refused "convoy needs two threads" "--threads 1: expected 2..256 for --scenario convoy" -- \
    "$T/w.py" --entry count --arg 1 --scenario convoy --threads 1
refused "an I/O option outside convoy" "--io-entry: only for --scenario convoy" -- \
    "$T/w.py" --entry count --arg 1 --io-entry io
refused "--first-rep 0" "--first-rep 0: expected 1 or more" -- \
    "$T/w.py" --entry count --arg 1 --first-rep 0
refused "missing entry function" "defines no function 'nosuch'" -- "$T/w.py" --entry nosuch
refused "missing file" "no such file" -- "$T/nosuch.py" --entry count --arg 1
refused "lock options are gillab's" "--gil" -- "$T/w.py" --entry count --arg 1 --gil py32

printf 'run_id,something,else\n1,2,3\n' >"$T/other.csv"
cp "$T/other.csv" "$T/other.orig"
run "$PY" "$PEER" "$T/w.py" --entry count --arg 1 --csv "$T/other.csv"
if [ "$rc" -eq 2 ] && grep -q "header differs" "$T/err" && cmp -s "$T/other.csv" "$T/other.orig"
then ok "refused: a CSV with another header, left as it was"
else bad "refused: a CSV with another header, left as it was" "exit $rc: $err"; fi

# ---- under every interpreter found ------------------------------------------------------------
"$PY" "$LAB" peers --list >"$T/peers" 2>"$T/peers.err"
n=$(wc -l <"$T/peers")
if [ "$n" -ge 1 ] && grep -q "^cpython-3" "$T/peers"; then ok "the lab finds $n interpreter(s)"
else bad "the lab finds the interpreters" "$(cat "$T/peers" "$T/peers.err")"; fi
while IFS=$'\t' read -r name exe _ driver; do
    d=$T/under-$name
    mkdir -p "$d"
    why=""
    ext=${driver##*.}   # the driver's language: its workload files end the same way
    run "$exe" "$driver" "$T/w.$ext" --entry count --arg 20000 --scenario threads --threads 2 \
        --cpus 1 --reps 2 --csv "$d/rows.csv" --quiet
    [ "$rc" -eq 0 ] || why="$why threads: exit $rc: $err;"
    run "$exe" "$driver" "$T/w.$ext" --entry count --arg 20000 --scenario seq --threads 2 \
        --csv "$d/rows.csv" --quiet
    [ "$rc" -eq 0 ] || why="$why seq: exit $rc: $err;"
    run "$exe" "$driver" "${CONVOY%.py}.$ext" --entry cpu --arg 100000000 --scenario convoy \
        --io-arg 3 --io-arg 1000 --csv "$d/rows.csv" --samples-csv "$d/samples.csv" --quiet
    [ "$rc" -eq 0 ] || why="$why convoy: exit $rc: $err;"
    if [ "$ext" = py ]; then   # the fork scenario: plain, then gc.freeze() where it exists
        run "$exe" "$driver" "$COW" --scenario fork --setup build --arg 2 --entry walk --workers 2 \
            --csv "$d/fork.csv" --smaps-csv "$d/smaps.csv" --sample-ms 2 --quiet
        [ "$rc" -eq 0 ] || why="$why fork: exit $rc: $err;"
        run "$exe" "$driver" "$COW" --scenario fork --setup build --arg 2 --entry walk --workers 2 \
            --refcount-policy gc_freeze --csv "$d/fork.csv" --quiet
        "$exe" -c 'import gc; gc.freeze' 2>/dev/null && want=0 || want=1
        [ "$rc" -eq "$want" ] || why="$why fork gc_freeze: exit $rc, expected $want: $err;"
        validate "$d/fork.csv" "$d/smaps.csv" >"$d/vf" 2>&1 || why="$why $(cat "$d/vf")"
        "$PY" - "$d/fork.csv" "$want" >"$d/cf" 2>&1 <<'EOF' || why="$why $(cat "$d/cf")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
plain = [r for r in rows if r["refcount_policy"] == "plain"]
frozen = [r for r in rows if r["refcount_policy"] == "gc_freeze"]
assert [r["status"] for r in plain] == ["ok", "ok"], plain
if sys.argv[2] == "0":
    assert [r["status"] for r in frozen] == ["ok", "ok"] and int(frozen[0]["frozen_objects"]) > 0, frozen
else:
    assert len(frozen) == 1 and frozen[0]["worker"] == "", frozen
    assert frozen[0]["message"].startswith("gc.freeze() does not exist in "), frozen[0]["message"]
EOF
    fi
    run "$exe" "$driver" --interpreter
    [ "$(cat "$T/out")" = "$name" ] || why="$why --interpreter says '$(cat "$T/out")';"
    [ "$(head -n1 "$d/rows.csv" 2>/dev/null)" = "$gh" ] || why="$why header is not gillab's;"
    validate "$d/rows.csv" "$d/samples.csv" >"$d/v" 2>&1 || why="$why $(cat "$d/v")"
    "$PY" - "$d/rows.csv" "$name" >"$d/c" 2>&1 <<'EOF' || why="$why $(cat "$d/c")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["design"] for r in rows] == [sys.argv[2]] * 4, [r["design"] for r in rows]
assert [(r["scenario"], r["placement"], r["ncpus"], r["rep"]) for r in rows[:2]] == \
    [("threads", "one", "1", "1"), ("threads", "one", "1", "2")], rows[:2]
assert rows[3]["io_iters"] == "3", rows[3]["io_iters"]
EOF
    if [ -z "$why" ]; then ok "$name ($exe, ${driver##*/}): threads, seq, convoy (and fork) rows with gillab's header and types"
    else bad "$name ($exe, ${driver##*/}): threads, seq, convoy (and fork) rows with gillab's header and types" "$why"; fi
done <"$T/peers"
if command -v ruby >/dev/null 2>&1; then
    if grep -q $'^ruby-[0-9.]*\t.*\tdefault\t.*/peer\.rb$' "$T/peers"; then ok "ruby is found, run by default, by peer.rb"
    else bad "ruby is found, run by default, by peer.rb" "$(cat "$T/peers")"; fi
else
    echo "skip ruby as a peer: ruby is not installed"
fi

# ---- what the lab says when a kind is missing ---------------------------------------------------
mkdir -p "$T/bin" "$T/home"
ln -s "$PY" "$T/bin/python3"
out=$(env PATH="$T/bin" HOME="$T/home" "$PY" "$LAB" peers 2>&1)
if grep -q "no CPython 2.7 found (PATH; no pyenv): the lab goes on without it" <<<"$out" &&
    grep -q "no PyPy found" <<<"$out" &&
    grep -q "no Ruby found (PATH; no rbenv): the lab goes on without it (as root: apt-get install ruby)" <<<"$out"
then ok "without pyenv, python2, pypy3 or ruby: one line per kind not found"
else bad "without pyenv, python2, pypy3 or ruby: one line per kind not found" "$out"; fi

if command -v ruby >/dev/null 2>&1; then
    RB=$(command -v ruby)
    rbname=$(ruby workloads/peers/peer.rb --interpreter)
    # a ruby under rbenv's root (~/.rbenv without rbenv on PATH), none on PATH
    mkdir -p "$T/home/.rbenv/versions/9.9.9/bin"
    ln -s "$RB" "$T/home/.rbenv/versions/9.9.9/bin/ruby"
    out=$(env PATH="$T/bin" HOME="$T/home" "$PY" "$LAB" peers 2>&1)
    if grep -q "^$rbname  *yes  *Ruby .*rbenv 9.9.9" <<<"$out" && ! grep -q "no Ruby found" <<<"$out"
    then ok "a ruby under rbenv's root is found and run by default"
    else bad "a ruby under rbenv's root is found and run by default" "$out"; fi
    # LAB_PEERS: a path to ruby and one to python, each told apart by its driver; a
    # program that is neither, asked by both
    printf '#!/bin/sh\necho "no interpreter for ${1##*/}" >&2\nexit 3\n' >"$T/bin/neither"
    chmod +x "$T/bin/neither"
    out=$(PYTHONPATH=$LAB "$PY" -c '
import sys, peers
print(" ".join("%s:%s" % (i.name, i.language.name) for i in peers.choose(sys.argv[1], print)))' \
        "$RB $PY $T/bin/neither" 2>&1)
    if [ "$(tail -n1 <<<"$out")" = "$rbname:Ruby $("$PY" "$PEER" --interpreter):Python" ] &&
        grep -qF "LAB_PEERS $T/bin/neither does not run (peer.py: no interpreter for peer.py; peer.rb: no interpreter for peer.rb): the lab goes on without it" <<<"$out"
    then ok "LAB_PEERS: paths to ruby and python, each run by its own driver; one that is neither named with both answers"
    else bad "LAB_PEERS: paths to ruby and python, each run by its own driver" "$out"; fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
