#!/usr/bin/env bash
# check_cli.sh — `gillab run`'s command-line contract.
#
# Bad input: every refusal exits 2 with one line naming the flag and what is
# allowed, and leaves no file and no row behind (a CSV with another header is
# left byte for byte as it was). A workload that fails in one of two threads
# exits 1, prints that thread's traceback prefixed "thread N: " and still
# writes its row, with status error and the last traceback line. Good runs:
# rows whose columns match the header under every design, seq/threads/convoy
# rows, samples, traces (the JSON parses).
#
# Env: GILLAB (release binary). Run from the repository root. Prints
# "N passed, N failed" last; exits non-zero on any failure.
set -u
G=${GILLAB:-$PWD/build/release/gillab}
T=$(mktemp -d /tmp/gillab-check-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | head -n 20; }

# run ARGS...: gillab with a time limit; sets rc, out, err.
run() {
    timeout -k 5 120 "$G" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

NEVER=$T/never.csv   # every refused run names this file; it must never appear

# refused NAME "message fragment"... -- ARGS...: exit 2, one line, every fragment, no file.
refused() {
    local name=$1; shift
    local frags=()
    while [ "$1" != "--" ]; do frags+=("$1"); shift; done
    shift
    run "$@"
    local why=""
    [ "$rc" -eq 2 ] || why="exit $rc, expected 2"
    [ "$(wc -l <"$T/err")" -eq 1 ] || why="$why; stderr is not one line"
    case $err in gillab:\ *) ;; *) why="$why; stderr does not start with 'gillab: '" ;; esac
    for f in "${frags[@]}"; do
        grep -qF -- "$f" "$T/err" || why="$why; no '$f'"
    done
    [ -e "$NEVER" ] && why="$why; $NEVER was created" && rm -f "$NEVER"
    [ -z "$out" ] || why="$why; stdout not empty"
    if [ -z "$why" ]; then ok "$name"; else bad "$name: $why" "$err"; fi
}

# A workload of our own, so these checks do not depend on the canonical ones.
cat >"$T/w.py" <<'EOF'
entered = 0


def count(n):
    while n > 0:
        n -= 1
    return n


def add(a, b):
    return a + b


def fail(n):
    # The second thread to enter divides by zero; the first returns 1.
    global entered
    entered += 1
    me = entered
    k = n
    while k > 0:
        k -= 1
    if me == 2:
        return 1 // 0
    return me


if __name__ == "__main__":
    print(add(2, 3))
EOF
W=$T/w.py
CONVOY=workloads/convoy.py
[ -f "$CONVOY" ] || CONVOY=$(dirname "$0")/../workloads/convoy.py

# ---- what is registered ---------------------------------------------------------------------
run run "$W" --gil '?'
designs=$(sed -n 's/.*designs: //p' "$T/err" | tr -d ',')
[ -n "$designs" ] && ok "the design list is in the --gil error: $designs" || bad "no design list in: $err"
header=$("$G" csv-header)
ncols=$(awk -F, '{print NF}' <<<"$header")

# ---- bad input ---------------------------------------------------------------------------------
refused "unknown scenario" "gillab: --scenario: unknown 'foo'; allowed: seq, threads, convoy" -- \
    run "$W" --entry count --arg 10 --scenario foo --csv "$NEVER"
refused "unknown design" "gillab: --gil: unknown design 'x'; designs: " "py26" "py32" "none" "noop" -- \
    run "$W" --entry count --arg 10 --gil x --csv "$NEVER"
refused "unknown parameter" "--set" "unknown parameter 'foo'" "interval_us" "force_switching" -- \
    run "$W" --entry count --arg 10 --gil py32 --set foo=1 --csv "$NEVER"
refused "parameter of another design" "--set" "unknown parameter 'check_interval'" -- \
    run "$W" --entry count --arg 10 --gil py32 --set check_interval=5 --csv "$NEVER"
refused "bad duration" "--set interval=abc" "bad value 'abc'" "duration" -- \
    run "$W" --entry count --arg 10 --gil py32 --set interval=abc --csv "$NEVER"
refused "bad enum value" "--set lock=futex" "sem|condvar" -- \
    run "$W" --entry count --arg 10 --gil py26 --set lock=futex --csv "$NEVER"
refused "check interval out of range" "--set check_interval=0" "whole number from" -- \
    run "$W" --entry count --arg 10 --gil py26 --set check_interval=0 --csv "$NEVER"
refused "--threads 0" "gillab: --threads 0: expected 1..256" -- \
    run "$W" --entry count --arg 10 --threads 0 --csv "$NEVER"
refused "--threads 100000" "gillab: --threads 100000: expected 1..256" -- \
    run "$W" --entry count --arg 10 --threads 100000 --csv "$NEVER"
refused "--threads not a number" "gillab: --threads two: expected 1..256" -- \
    run "$W" --entry count --arg 10 --threads two --csv "$NEVER"
refused "--reps 0" "gillab: --reps 0: expected 1.." -- \
    run "$W" --entry count --arg 10 --reps 0 --csv "$NEVER"
refused "--warmup -1" "gillab: --warmup -1: expected 0.." -- \
    run "$W" --entry count --arg 10 --warmup -1 --csv "$NEVER"
allowed=$(python3 -c 'import os
s = sorted(os.sched_getaffinity(0)); out = []; i = 0
while i < len(s):
    j = i
    while j + 1 < len(s) and s[j + 1] == s[j] + 1: j += 1
    out.append(str(s[i]) if i == j else "%d-%d" % (s[i], s[j])); i = j + 1
print(",".join(out))')
refused "--cpus naming a CPU that does not exist" \
    "gillab: --cpus 4000: CPU 4000 does not exist or is not allowed; allowed CPUs: $allowed" -- \
    run "$W" --entry count --arg 10 --cpus 4000 --csv "$NEVER"
refused "--cpus list with one bad CPU" "--cpus 0,4001: CPU 4001 does not exist" "allowed CPUs: $allowed" -- \
    run "$W" --entry count --arg 10 --cpus 0,4001 --csv "$NEVER"
refused "--cpus garbage" "gillab: --cpus zero: expected 1, all, or a list" "allowed CPUs: $allowed" -- \
    run "$W" --entry count --arg 10 --cpus zero --csv "$NEVER"
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    timeout 60 taskset -c 0 "$G" run "$W" --entry count --arg 10 --cpus 1-1 --csv "$NEVER" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -eq 2 ] && grep -qF "gillab: --cpus 1-1: CPU 1 does not exist or is not allowed; allowed CPUs: 0" "$T/err" &&
        [ ! -e "$NEVER" ]; then
        ok "--cpus naming a CPU that exists but is not allowed"
    else
        bad "--cpus naming a CPU that is not allowed: exit $rc" "$(cat "$T/err")"
    fi
fi
refused "unwritable --csv" "gillab: --csv /nonexistent/x.csv: No such file or directory" -- \
    run "$W" --entry count --arg 10 --csv /nonexistent/x.csv
refused "unwritable --samples-csv" "gillab: --samples-csv /nonexistent/s.csv: No such file or directory" -- \
    run "$CONVOY" --entry cpu --arg 1000 --scenario convoy --io-arg 1 --io-arg 10 \
    --csv "$NEVER" --samples-csv /nonexistent/s.csv
refused "unwritable --trace" "gillab: --trace /nonexistent/t.csv: No such file or directory" -- \
    run "$W" --entry count --arg 10 --csv "$NEVER" --trace /nonexistent/t.csv
refused "unwritable --trace-json" "gillab: --trace-json /nonexistent/t.json: No such file or directory" -- \
    run "$W" --entry count --arg 10 --csv "$NEVER" --trace-json /nonexistent/t.json
refused "--csv naming a directory" "gillab: --csv $T:" -- \
    run "$W" --entry count --arg 10 --csv "$T"

printf 'run_id,design,wall_s\nold,py26,1.000000\n' >"$T/old.csv"
cp "$T/old.csv" "$T/old.orig"
refused "a CSV with a different header" \
    "gillab: --csv $T/old.csv: header differs from this version's schema; refusing to append (move the file away)" -- \
    run "$W" --entry count --arg 10 --csv "$T/old.csv"
cmp -s "$T/old.csv" "$T/old.orig" && ok "the refused CSV is unchanged" || bad "the refused CSV was changed"

for opt in "--threads 2" "--scenario seq" "--csv $NEVER" "--cpus 1" "--reps 2" "--warmup 1" \
    "--trace $T/t.csv" "--trace-json $T/t.json" "--quiet"; do
    set -- $opt
    refused "$1 without --entry" "gillab: $1 needs --entry NAME" -- run "$W" $opt
done
[ -e "$T/t.csv" ] || [ -e "$T/t.json" ] && bad "a refused run left a trace file" || ok "refused runs leave no trace file"

refused "noop refuses two threads" "gillab: --gil noop: noop runs at most 1 thread at once; use --gil py26|py32|none" -- \
    run "$W" --entry count --arg 10 --gil noop --threads 2 --csv "$NEVER"
refused "noop refuses convoy" "noop runs at most 1 thread at once" -- \
    run "$CONVOY" --entry cpu --arg 10 --gil noop --scenario convoy --io-arg 1 --io-arg 10 --csv "$NEVER"
refused "--samples-csv outside convoy" "gillab: --samples-csv: only for --scenario convoy" -- \
    run "$W" --entry count --arg 10 --samples-csv "$NEVER"
refused "--io-entry outside convoy" "gillab: --io-entry: only for --scenario convoy" -- \
    run "$W" --entry count --arg 10 --io-entry count --csv "$NEVER"
refused "convoy with one thread" "gillab: --threads 1: expected 2..256 (the CPU threads plus the one I/O thread)" -- \
    run "$CONVOY" --entry cpu --arg 10 --scenario convoy --threads 1 --csv "$NEVER"
refused "unknown option" "gillab: run: unknown option '--thread'; options: " "--threads" -- \
    run "$W" --entry count --thread 2
refused "non-integer --arg" "gillab: --arg 'ten': expected an integer" -- \
    run "$W" --entry count --arg ten --csv "$NEVER"
refused "an entry the file does not define" "gillab: --entry nosuch: " "no function 'nosuch'" -- \
    run "$W" --entry nosuch --csv "$NEVER"
refused "an entry given the wrong number of arguments" "gillab: --entry add: add() takes 2 arguments, got 1" -- \
    run "$W" --entry add --arg 1 --threads 2 --csv "$NEVER"
refused "an io entry the file does not define" "gillab: --io-entry nosuch: " -- \
    run "$CONVOY" --entry cpu --arg 10 --scenario convoy --io-entry nosuch --csv "$NEVER"

# ---- a runtime error in one of two threads -----------------------------------------------------
run run "$W" --entry fail --arg 2000 --threads 2 --gil py32 --csv "$T/err.csv" --quiet
why=""
[ "$rc" -eq 1 ] || why="exit $rc, expected 1"
grep -qE '^thread [01]: .*ZeroDivisionError' "$T/err" || why="$why; no 'thread N: ...ZeroDivisionError' on stderr"
[ "$(grep -c '^thread [01]: ' "$T/err")" -ge 1 ] && ! grep -v '^thread [01]: ' "$T/err" | grep -q . ||
    why="$why; a traceback line without its 'thread N: ' prefix"
nrows=$(tail -n +2 "$T/err.csv" 2>/dev/null | wc -l)
[ "$nrows" -eq 1 ] || why="$why; $nrows rows, expected 1"
if ! python3 - "$T/err.csv" "$header" <<'EOF'; then why="$why; bad error row"; fi
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head = sys.argv[2].split(",")
assert rows[0] == head, "header"
r = dict(zip(head, rows[1]))
assert len(rows[1]) == len(head), "column count"
assert r["status"] == "error", r["status"]
assert r["message"].startswith("ZeroDivisionError"), r["message"]
assert r["threads"] == "2" and r["scenario"] == "threads", r
EOF
[ -z "$why" ] && ok "a runtime error in one of two threads: exit 1, traceback, error row" || bad "runtime error: $why" "$err"

run run "$W" --entry fail --arg 2000 --threads 2 --gil py32 --quiet
if [ "$rc" -eq 1 ] && [ "$(grep -cE '^thread [01]: 1$' "$T/out")" -eq 1 ]; then
    ok "the thread that did not fail goes on and prints its result"
else
    bad "the surviving thread's result: exit $rc" "$out"$'\n'"$err"
fi

printf 'x = 1 // 0\n\n\ndef f():\n    return 1\n' >"$T/load.py"
run run "$T/load.py" --entry f --threads 2 --csv "$T/load.csv" --quiet
if [ "$rc" -eq 1 ] && grep -q "ZeroDivisionError" "$T/err" && [ "$(wc -l <"$T/load.csv")" -eq 2 ] &&
    tail -n1 "$T/load.csv" | grep -q ",error,ZeroDivisionError" &&
    [ "$(tail -n1 "$T/load.csv" | awk -F, '{print NF}')" -eq "$ncols" ]; then
    ok "a module body that raises: exit 1, traceback, error row"
else
    bad "module body that raises: exit $rc" "$err"$'\n'"$(cat "$T/load.csv" 2>/dev/null)"
fi

# ---- good runs ---------------------------------------------------------------------------------
# check_rows FILE EXPECTED_ROWS PYTHON-CHECK: the header is this version's and
# every row has its columns; then PYTHON-CHECK runs with `rows` (list of dicts).
check_rows() {
    python3 - "$1" "$2" "$header" "$3" <<'EOF'
import csv, sys
path, want, header, check = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4]
lines = list(csv.reader(open(path, newline="")))
assert lines[0] == header, "header differs"
assert len(lines) - 1 == want, "%d rows, expected %d" % (len(lines) - 1, want)
for l in lines[1:]:
    assert len(l) == len(header), "a row has %d columns, the header %d" % (len(l), len(header))
rows = [dict(zip(header, l)) for l in lines[1:]]
ids = [r["run_id"] for r in rows]
assert len(set(ids)) == len(ids), "run_id repeats"
for r in rows:
    assert r["status"] == "ok", r["message"]
    for c in ("wall_s", "user_s", "sys_s"):
        float(r[c])
exec(check)
EOF
}

for d in $designs; do
    [ "$d" = noop ] && continue
    f=$T/good-$d.csv
    run run "$W" --entry count --arg 20000 --threads 2 --gil "$d" --csv "$f" --quiet
    if [ "$rc" -eq 0 ] && check_rows "$f" 1 '
r = rows[0]
assert r["design"] == "'"$d"'" and r["threads"] == "2" and r["scenario"] == "threads"
assert int(r["acquisitions"]) >= 2 and r["acquisitions"] == r["releases"]
assert r["io_iters"] == "" and r["latency_p50_us"] == ""' >"$T/py" 2>&1; then
        ok "--threads 2 under $d writes a row matching the header"
    else
        bad "--threads 2 under $d: exit $rc" "$err"$'\n'"$(cat "$T/py")"
    fi
done

f=$T/scen.csv
run run "$W" --entry count --arg 20000 --scenario seq --threads 2 --csv "$f" --quiet
run run "$W" --entry count --arg 20000 --scenario threads --threads 2 --cpus 1 --csv "$f" --quiet
first=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
if check_rows "$f" 2 '
s, t = rows
assert s["scenario"] == "seq" and s["threads"] == "2" and s["design"] == "py32", s
assert t["scenario"] == "threads" and t["cpus"] == "1" and t["ncpus"] == "1", t
assert t["cpu_list"] == "'"$first"'", t["cpu_list"]
assert s["cpus"] == "all"' >"$T/py" 2>&1; then
    ok "seq and threads rows (py32 by default; --cpus 1 pins to the first allowed CPU)"
else
    bad "seq/threads rows" "$(cat "$T/py")"
fi

run run "$W" --entry count --arg 1000 --threads 2 --reps 3 --warmup 1 --csv "$T/reps.csv" --quiet
if [ "$rc" -eq 0 ] && check_rows "$T/reps.csv" 3 '
assert [r["rep"] for r in rows] == ["1", "2", "3"]' >"$T/py" 2>&1; then
    ok "--reps 3 --warmup 1 writes three rows, reps 1..3, one header"
else
    bad "reps" "$(cat "$T/py")"
fi

run run "$CONVOY" --entry cpu --arg 100000000 --scenario convoy --io-arg 5 --io-arg 1000 \
    --csv "$T/convoy.csv" --samples-csv "$T/samples.csv" --quiet
if [ "$rc" -eq 0 ] && check_rows "$T/convoy.csv" 1 '
r = rows[0]
assert r["scenario"] == "convoy" and r["threads"] == "2" and r["entry"] == "cpu", r
assert r["io_iters"] == "5", r["io_iters"]
float(r["io_iters_per_s"])
lat = [int(r[c]) for c in ("latency_p50_us", "latency_p90_us", "latency_p99_us", "latency_max_us")]
assert lat == sorted(lat), lat
s = list(csv.reader(open("'"$T/samples.csv"'")))
assert s[0] == ["run_id", "design", "rep", "sample", "latency_us"], s[0]
assert len(s) == 6 and all(x[0] == r["run_id"] and len(x) == 5 for x in s[1:]), s
assert max(int(x[4]) for x in s[1:]) == lat[3]' >"$T/py" 2>&1; then
    ok "convoy: a row with io columns and five samples"
else
    bad "convoy: exit $rc" "$err"$'\n'"$(cat "$T/py")"
fi

run run "$W" --entry count --arg 20000 --threads 2 --trace "$T/trace.csv" --trace-json "$T/trace.json" --quiet
if [ "$rc" -eq 0 ] && [ "$(head -n1 "$T/trace.csv")" = "t_ns,thread,event" ] &&
    [ "$(wc -l <"$T/trace.csv")" -gt 4 ] && python3 -m json.tool "$T/trace.json" >/dev/null; then
    ok "--trace and --trace-json write a CSV and JSON that parses"
else
    bad "traces: exit $rc" "$err"
fi

run run "$W" --entry add --arg 2 --arg 3
[ "$rc" -eq 0 ] && [ "$out" = "5" ] && grep -q "acquisitions" "$T/err" && grep -q "^ *total " "$T/err" &&
    ok "one thread prints the result's repr, the table goes to stderr" || bad "single call: exit $rc" "$out"$'\n'"$err"
run run "$W" --entry add --arg 2 --arg 3 --threads 2 --quiet
[ "$rc" -eq 0 ] && [ "$out" = $'thread 0: 5\nthread 1: 5' ] && [ -z "$err" ] &&
    ok "two threads print 'thread N: REPR' in thread order; --quiet prints no table" || bad "two threads: exit $rc" "$out"$'\n'"$err"
run run "$W"
[ "$rc" -eq 0 ] && [ "$out" = "5" ] && ok "without --entry the file runs as __main__" || bad "__main__ run: exit $rc" "$out"$'\n'"$err"
run version
[ "$out" = "gillab 0.1.0" ] && ok "gillab version" || bad "version: $out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
