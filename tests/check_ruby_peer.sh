#!/usr/bin/env bash
# check_ruby_peer.sh -- the Ruby peer driver (workloads/peers/peer.rb) against the lab.
#
# When ruby is installed: peer.rb runs every scenario (seq, threads on one CPU and
# on all, an explicit CPU list, convoy with samples) into one file that gillab
# also writes, and every row is held to `gillab csv-header` and to the types of
# `gillab csv-schema --json`: the same columns in the same order, integers and
# seconds where the schema says so, design ruby-X.Y.Z, every design-parameter and
# lock column empty, how busy the machine was (others_cpu_s, steal_s) filled, the
# convoy columns filled exactly in convoy rows, one sample
# row per wake-up. The workers really run on the CPUs asked for (a workload reads
# its own thread's affinity). Bad input gives exit 2 and a clear message and
# leaves a foreign CSV as it was; a workload that raises gives an error row and
# exit 1; two peers appending at once leave whole rows and one header. --identify
# names the interpreter and its real executable, as peer.py's does, for the lab.
# Without ruby it says so and checks nothing.
#
# Env: GILLAB (release binary). Run from the repository root. Prints
# "N passed, N failed" last; exits non-zero on any failure. No timing is asserted.
set -u
G=${GILLAB:-$PWD/build/release/gillab}
PEER=$PWD/workloads/peers/peer.rb
if ! command -v ruby >/dev/null 2>&1; then
    echo "check_ruby_peer: ruby is not installed: skipped (make lab installs it; apt-get install ruby)"
    echo "0 passed, 0 failed"
    exit 0
fi
python3() { "$PY" "$@"; }
PY=$(command python3 -c 'import sys; print(sys.executable)')
T=$(mktemp -d /tmp/gillab-check-ruby.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | head -n 20; }
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
peer() { run ruby "$PEER" --gillab "$G" "$@"; }

cat >"$T/w.rb" <<'EOF'
def count(n)
  while n > 0
    n -= 1
  end
  n
end

def fails(n)
  n / 0
end

# raises unless this worker thread may run on exactly n CPUs
def ncpus_is(n)
  allowed = File.read("/proc/thread-self/status")[/^Cpus_allowed_list:\s*(\S+)/, 1]
  have = allowed.split(",").sum { |r| a, b = r.split("-").map(&:to_i); (b || a) - a + 1 }
  raise "worker may run on #{allowed}, expected #{n} CPUs" unless have == n
  have
end
EOF

# ---- header and name ---------------------------------------------------------------------
gh=$("$G" csv-header 2>&1)
peer --header
if [ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$gh" ]; then ok "peer.rb --header is gillab csv-header"
else bad "peer.rb --header is gillab csv-header" "$(cat "$T/out")"$'\n'"$err"; fi
want_name="ruby-$(ruby -e 'print RUBY_VERSION')"
peer --interpreter
if [ "$(cat "$T/out")" = "$want_name" ]; then ok "peer.rb --interpreter is $want_name"
else bad "peer.rb --interpreter is $want_name" "$(cat "$T/out")"; fi
want_exe=$(realpath "$(command -v ruby)")
run ruby "$PEER" --identify
if [ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$want_name"$'\t'"$want_exe" ]
then ok "peer.rb --identify: $want_name and the real executable, without gillab"
else bad "peer.rb --identify: $want_name and $want_exe" "exit $rc: $(cat "$T/out") $err"; fi

# ---- every scenario, beside gillab's rows, into one file -----------------------------------
ncpu_all=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
shapes=("seq 2 all" "threads 2 1" "threads 2 all")
[ "$ncpu_all" -ge 2 ] && shapes+=("threads 3 0-1")
printf 'def count(n):\n    while n > 0:\n        n -= 1\n    return n\n' >"$T/w.py"
for s in "${shapes[@]}"; do
    read -r sc th cpus <<<"$s"
    run "$G" run "$T/w.py" --entry count --arg 20000 --gil ruby --scenario "$sc" --threads "$th" \
        --cpus "$cpus" --csv "$T/same.csv" --quiet
    [ "$rc" -eq 0 ] || bad "gillab $s" "$err"
    peer "$T/w.rb" --entry count --arg 20000 --scenario "$sc" --threads "$th" --cpus "$cpus" \
        --csv "$T/same.csv" --reps 2 --first-rep 3 --warmup 1 --quiet
    [ "$rc" -eq 0 ] && ok "peer.rb $s" || bad "peer.rb $s: exit $rc" "$err"
done
peer workloads/convoy.rb --scenario convoy --entry cpu --arg 100000000000 --io-entry io \
    --io-arg 3 --io-arg 1000 --csv "$T/same.csv" --samples-csv "$T/samples.csv" --quiet
[ "$rc" -eq 0 ] && ok "peer.rb convoy" || bad "peer.rb convoy: exit $rc" "$err"
# Every translation run as a program prints what its Python original prints.
for rb in workloads/*.rb; do
    py=${rb%.rb}.py
    [ -f "$py" ] || continue
    case $(basename "$rb") in convoy.rb|count.rb) continue ;; esac   # they print timings
    want=$(timeout -k 5 120 python3 "$py" 2>&1)
    got=$(timeout -k 5 120 ruby "$rb" 2>&1)
    if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "$(basename "$rb") prints what $(basename "$py") prints"
    else bad "$(basename "$rb") prints what $(basename "$py") prints" "ruby:   $got"$'\n'"python: $want"; fi
done
"$G" csv-schema --json >"$T/schema.json"
check "every row has gillab's columns and types" python3 - "$T/same.csv" "$T/samples.csv" "$T/schema.json" \
    "$want_name" "$gh" <<'EOF'
import csv, json, re, sys
path, samples_path, schema_path, name, header = sys.argv[1:]
schema = json.load(open(schema_path))["columns"]
lines = open(path).read().splitlines()
assert lines[0] == header, "header differs from gillab csv-header"
rows = list(csv.DictReader(open(path, newline="")))
peer = [r for r in rows if r["design"] == name]
lab = [r for r in rows if r["design"] == "ruby"]
assert len(peer) == 2 * (len(lab)) + 1, (len(peer), len(lab))
for raw in lines[1:]:
    assert len(next(csv.reader([raw]))) == len(schema), raw
num = {"int": r"-?\d+", "seconds": r"\d+\.\d{6}", "real": r"\d+\.\d{3}"}
for r in peer:
    for c in schema:
        v = r[c["name"]]
        if c["source"] in ("design", "lock"):
            assert v == "", (c["name"], v)
        elif v != "" and c["type"] in num:
            assert re.fullmatch(num[c["type"]], v), (c["name"], v)
        elif c["type"] == "text":
            assert "," not in v and '"' not in v, (c["name"], v)
    assert r["status"] == "ok" and r["message"] == "", r
    assert r["lab_version"] and r["run_id"] and r["started_utc"].endswith("Z"), r
    assert r["workload"] in ("w.rb", "convoy.rb"), r["workload"]
    for c in ("wall_s", "user_s", "sys_s", "others_cpu_s", "steal_s", "ctx_voluntary",
              "ctx_involuntary", "ncpus", "cpu_list"):
        assert r[c] != "", (c, r)
    convoy = r["scenario"] == "convoy"
    for c in ("io_iters", "io_iters_per_s", "latency_p50_us", "latency_p90_us", "latency_p99_us", "latency_max_us"):
        assert (r[c] != "") == convoy, (c, r)
    assert int(r["ncpus"]) == len(r["cpu_list"].split()), r
# the peer's rows agree with gillab's on what was run, scenario by scenario
for lr in lab:
    same = [p for p in peer if (p["scenario"], p["threads"], p["cpus"]) == (lr["scenario"], lr["threads"], lr["cpus"])]
    assert [p["rep"] for p in same] == ["3", "4"], same
    for p in same:
        for c in ("placement", "ncpus", "cpu_list", "args", "entry"):
            assert p[c] == lr[c], (c, p[c], lr[c])
conv = [r for r in peer if r["scenario"] == "convoy"]
assert len(conv) == 1 and conv[0]["threads"] == "2" and conv[0]["io_iters"] == "3", conv
samples = list(csv.DictReader(open(samples_path, newline="")))
assert [s["sample"] for s in samples] == ["1", "2", "3"], samples
assert all(s["run_id"] == conv[0]["run_id"] and s["design"] == name and s["rep"] == "1" for s in samples)
lat = sorted(int(s["latency_us"]) for s in samples)
assert str(lat[1]) == conv[0]["latency_p50_us"] and str(lat[-1]) == conv[0]["latency_max_us"], (lat, conv)
EOF

# ---- the workers run where they were asked to ------------------------------------------------
peer "$T/w.rb" --entry ncpus_is --arg 1 --cpus 1 --threads 2 --csv "$T/pin.csv" --quiet
[ "$rc" -eq 0 ] && ok "--cpus 1 pins every worker to one CPU" || bad "--cpus 1 pins every worker" "$err"
peer "$T/w.rb" --entry ncpus_is --arg "$ncpu_all" --cpus all --threads 2 --csv "$T/pin.csv" --quiet
[ "$rc" -eq 0 ] && ok "--cpus all leaves every worker on all $ncpu_all CPUs" || bad "--cpus all" "$err"

# ---- errors ------------------------------------------------------------------------------------
expect_usage() { # name needle args...
    local name=$1 needle=$2; shift 2
    peer "$@"
    if [ "$rc" -eq 2 ] && grep -qF -- "$needle" <<<"$err"; then ok "$name"
    else bad "$name: want exit 2 and '$needle'" "exit $rc: $err"; fi
}
expect_usage "unknown scenario" "unknown scenario 'parallel'" "$T/w.rb" --entry count --arg 1 --scenario parallel
expect_usage "the fork scenario, refused by name" \
    "--scenario fork: gillab runs this scenario, but peer.rb does not support it" \
    "$T/w.rb" --entry count --arg 1 --scenario fork
expect_usage "bad --cpus" "--cpus '9999'" "$T/w.rb" --entry count --arg 1 --cpus 9999
expect_usage "missing entry function" "defines no function 'nope'" "$T/w.rb" --entry nope --arg 1
expect_usage "wrong number of arguments" "takes 1 argument(s), 2 given" "$T/w.rb" --entry count --arg 1 --arg 2
expect_usage "a lab-only option" "--gil: a peer interpreter has its own lock" "$T/w.rb" --entry count --gil py32
expect_usage "a missing file" "no such file" "$T/none.rb" --entry count --arg 1
printf 'def count(n\n' >"$T/syntax.rb"
expect_usage "a syntax error names the file" "syntax.rb:" "$T/syntax.rb" --entry count --arg 1
run ruby "$PEER" --gillab "$T/no-gillab" "$T/w.rb" --entry count --arg 1
if [ "$rc" -eq 2 ] && grep -q "cannot run gillab at $T/no-gillab" <<<"$err"; then ok "a missing gillab is named"
else bad "a missing gillab is named" "exit $rc: $err"; fi
printf 'a,b,c\n1,2,3\n' >"$T/foreign.csv"
cp "$T/foreign.csv" "$T/foreign.before"
expect_usage "a CSV with another header is refused" "its header differs" "$T/w.rb" --entry count --arg 1 --csv "$T/foreign.csv"
cmp -s "$T/foreign.csv" "$T/foreign.before" && ok "the refused CSV is left as it was" || bad "the refused CSV is left as it was"
printf '%s\npartial' "$gh" >"$T/partial.csv"
expect_usage "a CSV with a cut last line is refused" "incomplete" "$T/w.rb" --entry count --arg 1 --csv "$T/partial.csv"
peer "$T/w.rb" --entry count --arg 1 --csv "$T/never.csv" --cpus 9999
[ ! -e "$T/never.csv" ] && ok "a refused run creates no CSV" || bad "a refused run creates no CSV"
peer "$T/w.rb" --entry fails --arg 1 --threads 2 --csv "$T/err.csv" --quiet
check "a raising workload: exit 1, an error row with the message" python3 - "$T/err.csv" "$rc" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert sys.argv[2] == "1", "exit %s" % sys.argv[2]
assert len(rows) == 1 and rows[0]["status"] == "error", rows
assert rows[0]["message"] == "ZeroDivisionError: divided by 0", rows[0]["message"]
EOF

# ---- two peers appending at once ----------------------------------------------------------------
for i in 1 2; do
    ruby "$PEER" --gillab "$G" "$T/w.rb" --entry count --arg 1000 --reps 30 --csv "$T/both.csv" --quiet &
done
wait
check "two peers at once: one header, 60 whole rows" python3 - "$T/both.csv" "$gh" <<'EOF'
import csv, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and lines[0] == sys.argv[2], lines[:1]
body = lines[1:-1]
assert len(body) == 60, len(body)
n = len(sys.argv[2].split(","))
assert all(len(next(csv.reader([l]))) == n for l in body)
EOF

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
