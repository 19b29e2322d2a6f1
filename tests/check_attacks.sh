#!/usr/bin/env bash
# check_attacks.sh — nothing lost, nothing spoofed: gillab against hostile input.
#
# Each case gives gillab something meant to lose, cut short or forge a result —
# an output that cannot be written, two outputs naming one file, special files,
# a full disk, an interrupt, failing repetitions, huge results, bad source, bad
# flags — and asserts the exact exit status and message, and that no file is
# damaged or left behind. (The race checker's own attack cases are in
# check_race_checker.sh.) Every process this script starts carries a tag in its
# environment; the last check fails if any of them is still alive.
#
# Env: GILLAB (release binary). Prints "N passed, N failed" last.
set -u
G=${GILLAB:-$PWD/build/release/gillab}
T=$(mktemp -d /tmp/gillab-check-attacks.XXXXXX)
export GILLAB_ATTACK_TAG="attack-$$"
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | head -n 15; }

# run ARGS...: gillab with a time limit; sets rc, out (stdout), err (stderr).
run() {
    timeout -k 5 60 "$G" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

# expect NAME STATUS PATTERN -- ARGS...: exit STATUS and a stderr line matching the ERE.
expect() {
    local name=$1 want=$2 pattern=$3
    shift 4
    run "$@"
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" "$T/err"; then
        ok "$name"
    else
        bad "$name (exit $rc, wanted $want and /$pattern/)" "$err"
    fi
}

cat >"$T/w.py" <<'EOF'
import time


def count(n):
    while n > 0:
        n -= 1
    return n


def big(n):
    return "x" * n


def many(n):
    out = []
    for i in range(n):
        out.append(i * 1000003)
    return out


def fail(n):
    return n // 0


def io(n, sleep_us):
    done = []
    for i in range(n):
        t0 = time.perf_counter()
        time.sleep(sleep_us / 1000000)
        done.append(int((time.perf_counter() - t0) * 1000000) - sleep_us)
    return done


def bigio(n, sleep_us):
    return many(n)


def cpu(limit):
    n = 0
    while n < limit:
        n += 1
    return n


print("main", 1)
EOF
cp "$T/w.py" "$T/w2.py"

lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# ---- 1. a failed write of standard output is an error ------------------------------------------
for cmd in "run $T/w.py" "run $T/w.py --entry count --arg 10 --quiet" "dis $T/w.py" "designs" \
    "designs --json" "scenarios" "csv-header" "csv-schema --json" "version" "help"; do
    # shellcheck disable=SC2086
    timeout 30 "$G" $cmd >/dev/full 2>"$T/err"; rc=$?
    if [ "$rc" -eq 1 ] && grep -q "cannot write the output: No space left on device" "$T/err"; then
        ok "stdout on a full device: gillab $cmd exits 1 and says so"
    else
        bad "stdout on a full device: gillab $cmd (exit $rc)" "$(cat "$T/err")"
    fi
done

# ---- 2. outputs that would destroy each other or hang -----------------------------------------
printf 'keep me\n' >"$T/res.csv"
cp "$T/res.csv" "$T/res.orig"
expect "--csv and --trace naming one file are refused" 2 "--trace .*: the same file as --csv" -- \
    run "$T/w.py" --entry count --arg 10 --csv "$T/new.csv" --trace "$T/new.csv"
[ ! -e "$T/new.csv" ] && ok "  ... and nothing is left behind" || bad "  ... a file was left: $T/new.csv"
expect "--csv and --samples-csv naming one file are refused before the convoy runs" 2 \
    "--samples-csv .*: the same file as --csv" -- \
    run "$T/w.py" --entry cpu --arg 1000000000 --scenario convoy --io-arg 3 --io-arg 100 \
    --csv "$T/x.csv" --samples-csv "$T/x.csv"
expect "--trace and --trace-json naming one file are refused" 2 "the same file as --trace" -- \
    run "$T/w.py" --entry count --arg 10 --trace "$T/t.csv" --trace-json "$T/t.csv"
ln -sf "$T/fresh.csv" "$T/link.csv"
expect "a symbolic link to --csv's file as --trace is refused" 2 "the same file as --csv" -- \
    run "$T/w.py" --entry count --arg 10 --csv "$T/fresh.csv" --trace "$T/link.csv"
run run "$T/w.py" --entry count --arg 10 --csv "$T/std.csv" --quiet
"$G" run "$T/w.py" --entry count --arg 10 --trace /dev/stdout --quiet >"$T/std.csv" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "the same file as standard output" "$T/err" &&
    ok "--trace /dev/stdout with stdout in a file: refused as the same file" || bad "--trace /dev/stdout into a file: exit $rc" "$(cat "$T/err")"
mkfifo "$T/fifo"
start=$SECONDS
expect "--trace on a FIFO with no reader is refused at once" 2 "--trace .*fifo: not a regular file" -- \
    run "$T/w.py" --entry count --arg 10 --trace "$T/fifo"
[ $((SECONDS - start)) -lt 10 ] && ok "  ... without hanging" || bad "  ... it took $((SECONDS - start)) s"
for dev in /dev/null /dev/zero; do
    expect "--trace $dev is refused before the run" 2 "--trace $dev: not a regular file" -- \
        run "$T/w.py" --entry count --arg 10 --trace "$dev"
    expect "--csv $dev is refused before the run" 2 "--csv $dev: not a regular file" -- \
        run "$T/w.py" --entry count --arg 10 --csv "$dev"
done
expect "--csv a folder is refused" 2 "--csv $T: " -- run "$T/w.py" --entry count --arg 10 --csv "$T"
expect "--csv in a missing folder is refused" 2 "--csv $T/no/x.csv: No such file or directory" -- \
    run "$T/w.py" --entry count --arg 10 --csv "$T/no/x.csv"
expect "an existing file with another header is refused as --csv" 2 "--csv .*res\.csv: header differs" -- \
    run "$T/w.py" --entry count --arg 10 --csv "$T/res.csv"
cmp -s "$T/res.csv" "$T/res.orig" && ok "  ... and the refused CSV is left byte for byte" || bad "a refused CSV changed"
run run "$T/w.py" --entry count --arg 10 --csv "$T/good.csv" --quiet
cp "$T/good.csv" "$T/good.orig"
expect "a results file of this version named by --csv and --trace is refused" 2 "--trace .*good\.csv: the same file as --csv" -- \
    run "$T/w.py" --entry count --arg 10 --csv "$T/good.csv" --trace "$T/good.csv"
cmp -s "$T/good.csv" "$T/good.orig" && ok "  ... and its rows are left byte for byte" || bad "a refused results file changed"

# ---- 3. a full disk leaves no half row ------------------------------------------------------------
run run "$T/w.py" --entry count --arg 10 --csv "$T/full.csv" --quiet
size=$(stat -c %s "$T/full.csv")
( ulimit -f $(((size + 100) / 1024 + 1)); trap '' XFSZ
  "$G" run "$T/w.py" --entry big --arg 10 --csv "$T/full.csv" --reps 40 --quiet >/dev/null 2>"$T/err"
  echo $? >"$T/rc" )
rc=$(cat "$T/rc")
if [ "$rc" -eq 2 ] && [ "$(tail -c 1 "$T/full.csv" | od -An -c | tr -d ' ')" = '\n' ] &&
    python3 - "$T/full.csv" "$G" <<'EOF'
import csv, subprocess, sys
header = subprocess.run([sys.argv[2], "csv-header"], stdout=subprocess.PIPE, text=True).stdout.strip().split(",")
rows = list(csv.reader(open(sys.argv[1])))
assert rows[0] == header and all(len(r) == len(header) for r in rows), "a torn row"
EOF
then ok "a full disk: exit 2, every row whole, the file still ends with a newline"
else bad "a full disk: exit $rc" "$(cat "$T/err"; tail -c 200 "$T/full.csv")"; fi
run run "$T/w.py" --entry count --arg 10 --csv "$T/full.csv" --quiet
[ "$rc" -eq 0 ] && ok "  ... and the file takes rows again afterwards" || bad "  ... the next append failed" "$err"

# ---- 4. a results file that is not gillab's --------------------------------------------------------
"$G" csv-header | tr -d '\n' >"$T/nonl.csv"
expect "a header without its newline: a torn file, not another schema" 2 \
    "does not end with a newline" -- run "$T/w.py" --entry count --arg 10 --csv "$T/nonl.csv"
printf 'run_id,design\nx,y\n' >"$T/other.csv"
expect "another schema's header is refused" 2 "header differs from this version's schema" -- \
    run "$T/w.py" --entry count --arg 10 --csv "$T/other.csv"
{ "$G" csv-header; printf 'half,a,row'; } >"$T/torn.csv"
expect "a torn last row is refused" 2 "does not end with a newline" -- \
    run "$T/w.py" --entry count --arg 10 --csv "$T/torn.csv"

# ---- 5. every repetition is recorded, failed or not ----------------------------------------------
run run "$T/w.py" --entry fail --arg 1 --reps 3 --csv "$T/reps.csv" --quiet
n=$(($(lines "$T/reps.csv") - 1))
[ "$rc" -eq 1 ] && [ "$n" -eq 3 ] && ok "three failing repetitions: exit 1 and three error rows" ||
    bad "three failing repetitions: exit $rc, $n rows" "$err"
run run "$T/w.py" --entry fail --arg 1 --warmup 1 --reps 1 --csv "$T/warm.csv" --quiet
if [ "$rc" -eq 1 ] && python3 - "$T/warm.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2, rows
assert rows[0]["rep"] == "" and rows[0]["message"].startswith("warm-up 1: ZeroDivisionError"), rows[0]
assert rows[1]["rep"] == "1" and rows[1]["status"] == "error", rows[1]
EOF
then ok "a failing warm-up is written, without a rep number"
else bad "a failing warm-up: exit $rc" "$err"; fi
run run "$T/w.py" --entry count --arg 10 --reps 2 --first-rep 3 --csv "$T/resume.csv" --quiet
[ "$(cut -d, -f"$("$G" csv-header | tr ',' '\n' | grep -nx rep | cut -d: -f1)" "$T/resume.csv" | tail -n +2 | tr '\n' ' ')" = "3 4 " ] &&
    ok "--first-rep 3 numbers the repetitions 3, 4" || bad "--first-rep numbering" "$(cat "$T/resume.csv")"

# ---- 6. results are never cut short --------------------------------------------------------------
run run "$T/w.py" --entry big --arg 100000 --quiet
last=$(tail -n 1 "$T/out")
[ "$rc" -eq 0 ] && [ "${#last}" -eq 100002 ] && ok "a 100,000-character result is printed whole" ||
    bad "a long result: exit $rc, ${#last} characters"
run run "$T/w.py" --entry cpu --arg 100000000 --scenario convoy --io-entry bigio --io-arg 600000 --io-arg 0 \
    --csv "$T/bigio.csv" --quiet
if [ "$rc" -eq 0 ] && python3 - "$T/bigio.csv" <<'EOF'
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))[-1]
assert r["io_iters"] == "600000", r["io_iters"]
EOF
then ok "an I/O list of 600,000 ints (over 4 MB of text) is read whole"
else bad "a big I/O list: exit $rc" "$err"; fi

# ---- 7. an interrupt leaves no empty trace behind ------------------------------------------------
timeout -s INT 0.5 "$G" run "$T/w.py" --entry count --arg 2000000000 --trace "$T/int.csv" --quiet \
    >/dev/null 2>&1
[ ! -e "$T/int.csv" ] && ok "SIGINT during a traced run leaves no trace file" ||
    bad "SIGINT left $(stat -c %s "$T/int.csv") bytes in a trace file"
run run "$T/w.py" --entry count --arg 100 --csv "$T/kill.csv" --quiet
( "$G" run "$T/w.py" --entry count --arg 30000 --reps 100000 --csv "$T/kill.csv" --quiet \
    >/dev/null 2>&1 & pid=$!; sleep 0.7; kill -KILL $pid; wait $pid 2>/dev/null ) 2>/dev/null
if python3 - "$T/kill.csv" "$G" <<'EOF'
import subprocess, sys
header = subprocess.run([sys.argv[2], "csv-header"], stdout=subprocess.PIPE, text=True).stdout
data = open(sys.argv[1]).read()
assert data.startswith(header) and data.endswith("\n")
assert all(line.count(",") == header.count(",") for line in data.splitlines()), "a torn row"
EOF
then ok "SIGKILL in the middle of a series: every row whole"
else bad "SIGKILL left a torn file" "$(tail -c 300 "$T/kill.csv")"; fi

# ---- 8. the command line: the flag and what it accepts, exit 2 ------------------------------------
expect "unknown command" 2 "unknown command 'frobnicate'; commands: run, dis" -- frobnicate
expect "help for an unknown command" 2 "help: expected one command; commands:" -- help frobnicate
expect "designs takes no argument" 2 "designs: unexpected argument 'x'" -- designs x
expect "dis needs one file" 2 "dis: expected exactly one FILE" -- dis
expect "dis of two files" 2 "dis: expected exactly one FILE" -- dis "$T/w.py" "$T/w2.py"
expect "run without a file" 2 "run: missing FILE" -- run
expect "run with two files" 2 "run: unexpected argument" -- run "$T/w.py" "$T/w2.py"
expect "an option without its value" 2 "option --threads needs a value" -- run "$T/w.py" --entry count --threads
expect "an unknown option lists the options" 2 "unknown option '--bogus'; options: --entry" -- run "$T/w.py" --bogus
for bad_t in 0 -1 257 abc 99999999999; do
    expect "--threads $bad_t" 2 "--threads $bad_t: expected 1..256" -- run "$T/w.py" --entry count --arg 1 --threads "$bad_t"
done
expect "--reps 0" 2 "--reps 0: expected 1.." -- run "$T/w.py" --entry count --arg 1 --reps 0
expect "--warmup -1" 2 "--warmup -1: expected 0.." -- run "$T/w.py" --entry count --arg 1 --warmup -1
expect "--first-rep 0" 2 "--first-rep 0: expected 1.." -- run "$T/w.py" --entry count --arg 1 --first-rep 0
expect "--gil unknown" 2 "--gil: unknown design 'py27'; designs: py26, py32" -- run "$T/w.py" --gil py27
expect "--set without =" 2 "--set: expected name=value" -- run "$T/w.py" --entry count --arg 1 --set interval
expect "--set an unknown parameter" 2 "unknown parameter 'quantum' for design py32; parameters: interval_us" -- \
    run "$T/w.py" --entry count --arg 1 --set quantum=1
expect "--set a value out of range" 2 "bad value '0' for interval_us: expected a duration from 1us" -- \
    run "$T/w.py" --entry count --arg 1 --set interval=0
expect "--set a bad unit" 2 "bad value '5parsecs'" -- run "$T/w.py" --entry count --arg 1 --set interval=5parsecs
expect "--set a bad choice" 2 "bad value 'mutex' for lock: expected one of sem|condvar" -- \
    run "$T/w.py" --entry count --arg 1 --gil py26 --set lock=mutex
expect "--scenario unknown" 2 "--scenario: unknown 'parallel'; allowed: seq, threads, convoy" -- \
    run "$T/w.py" --entry count --arg 1 --scenario parallel
expect "--cpus garbage" 2 "--cpus 0-: expected 1, all, or a list of CPU ids" -- run "$T/w.py" --entry count --arg 1 --cpus 0-
expect "--cpus a CPU that does not exist" 2 "--cpus 4095: CPU 4095 does not exist or is not allowed" -- \
    run "$T/w.py" --entry count --arg 1 --cpus 4095
expect "--arg not an integer" 2 "--arg 'ten': expected an integer" -- run "$T/w.py" --entry count --arg ten
expect "--arg too big" 2 "--arg '99999999999999999999': expected an integer" -- \
    run "$T/w.py" --entry count --arg 99999999999999999999
args=(); for i in $(seq 17); do args+=(--arg "$i"); done
expect "17 arguments: the limit is named" 2 "--arg: at most 16 arguments" -- run "$T/w.py" --entry count "${args[@]}"
expect "an entry the file does not define" 2 "--entry nope: .*w.py defines no function 'nope'" -- \
    run "$T/w.py" --entry nope
expect "an entry given the wrong number of arguments" 2 "--entry count: count\(\) takes 1 argument, got 0" -- \
    run "$T/w.py" --entry count
expect "--samples-csv outside a scenario with an I/O thread" 2 "--samples-csv: only for --scenario convoy" -- \
    run "$T/w.py" --entry count --arg 1 --samples-csv "$T/s.csv"
expect "convoy with one thread" 2 "--threads 1: expected 2..256" -- \
    run "$T/w.py" --entry cpu --arg 1 --scenario convoy --threads 1
expect "a single-thread design asked for two" 2 "--gil noop: noop runs at most 1 thread at once" -- \
    run "$T/w.py" --entry count --arg 1 --gil noop --threads 2
expect "a lab option without --entry" 2 "--reps needs --entry NAME" -- run "$T/w.py" --reps 2
for c in run dis designs scenarios csv-schema csv-header version help; do
    run "$c" --help
    [ "$rc" -eq 0 ] && [ -n "$out" ] && [ -z "$err" ] && ok "gillab $c --help: exit 0, usage on stdout" ||
        bad "gillab $c --help: exit $rc" "$err"
done

# ---- 9. source files ---------------------------------------------------------------------------
expect "a missing file" 2 "nope.py" -- run "$T/nope.py"
: >"$T/empty.py"
run run "$T/empty.py"; [ "$rc" -eq 0 ] && ok "an empty file runs and prints nothing" || bad "an empty file: exit $rc"
printf '\x00\x01\x02binary' >"$T/bin.py"
expect "a binary file is a clear error" 2 "bin.py" -- run "$T/bin.py"

# Bad source gets CPython 3.11's message at CPython's position (exit 2: a compile error).
src() { printf '%s\n' "$2" >"$T/$1.py"; }
src none_assign 'None = 1'
expect "None = 1" 2 "none_assign\.py:1:1: SyntaxError: cannot assign to None\$" -- run "$T/none_assign.py"
src none_aug 'None += 1'
expect "None += 1" 2 "none_aug\.py:1:1: SyntaxError: 'None' is an illegal expression for augmented assignment\$" -- run "$T/none_aug.py"
src true_later $'x = 1\nTrue = x'
expect "True = x on line 2" 2 "true_later\.py:2:1: SyntaxError: cannot assign to True\$" -- run "$T/true_later.py"
src lit_assign '1 = x'
expect "1 = x" 2 "lit_assign\.py:1:1: SyntaxError: cannot assign to literal here\. Maybe you meant '==' instead of '='\?" -- \
    run "$T/lit_assign.py"
src chained $'x = 1 = y'
expect "x = 1 = y" 2 "chained\.py:1:5: SyntaxError: cannot assign to literal\$" -- run "$T/chained.py"
src del_none 'del None'
expect "del None" 2 "del_none\.py:1:5: SyntaxError: cannot delete None\$" -- run "$T/del_none.py"
python3 -c "print(''.join('    ' * i + 'if True:\n' for i in range(99)) + '    ' * 99 + 'print(99)')" >"$T/deep99.py"
run run "$T/deep99.py"
[ "$rc" -eq 0 ] && [ "$out" = 99 ] && ok "99 nested if blocks run, as in python3" || bad "99 nested ifs: exit $rc" "$err"
python3 -c "print(''.join('    ' * i + 'if True:\n' for i in range(100)) + '    ' * 100 + 'print(100)')" >"$T/deep100.py"
expect "100 nested if blocks: CPython's indentation limit" 2 "deep100\.py:101:[0-9]+: IndentationError: too many levels of indentation\$" -- \
    run "$T/deep100.py"
python3 -c "print('x = ' + '(' * 200 + '1' + ')' * 200 + '\nprint(x)')" >"$T/paren200.py"
run run "$T/paren200.py"
[ "$rc" -eq 0 ] && [ "$out" = 1 ] && ok "200 nested parentheses, as python3 takes them" || bad "200 parens: exit $rc" "$err"
python3 -c "print('x = ' + '(' * 201 + '1' + ')' * 201)" >"$T/paren201.py"
expect "201 nested parentheses" 2 "paren201\.py:1:[0-9]+: SyntaxError: too many nested parentheses\$" -- run "$T/paren201.py"
python3 -c "print('x = ' + '-' * 2000 + '1\nprint(x)')" >"$T/unary2000.py"
run run "$T/unary2000.py"
[ "$rc" -eq 0 ] && [ "$out" = 1 ] && ok "2000 unary minuses, as python3 takes them" || bad "2000 unary: exit $rc" "$err"
python3 -c "print('def f(a):\n    return 1\nf(' + ', '.join(['0'] * 65281) + ')')" >"$T/args.py"
expect "a call with too many arguments names gillab's limit" 2 "args\.py:3:1: SyntaxError: too many arguments \(gillab's limit is 65280\)\$" -- \
    run "$T/args.py"
python3 -c "print('def f(a):\n    return 1\nf(' + ', '.join(['0'] * 65280) + ')')" >"$T/args65280.py"
expect "a call at gillab's limit of arguments compiles and runs" 1 "^TypeError: f\(\) takes 1 positional argument but 65280 were given\$" -- \
    run "$T/args65280.py"
src bigrepeat 'x = [0] * 10000000000'
expect "a list repeated past gillab's length limit" 1 "^MemoryError: repeated list is too long\$" -- run "$T/bigrepeat.py"

# ---- the first of two errors, and a writer that must wait --------------------------------------
cat >"$T/cpufirst.py" <<'EOF2'
import time


def cpu(n):
    return 1 // 0


def io(n, sleep_us):
    time.sleep(0.2)
    return [][5]
EOF2
cat >"$T/iofirst.py" <<'EOF2'
import time


def cpu(n):
    time.sleep(0.2)
    return 1 // 0


def io(n, sleep_us):
    return [][5]
EOF2
for first in cpu io; do
    case $first in cpu) want="ZeroDivisionError" ;; io) want="IndexError" ;; esac
    rm -f "$T/both.csv"
    run run "$T/${first}first.py" --entry cpu --arg 10 --scenario convoy --io-arg 3 --io-arg 100 \
        --csv "$T/both.csv"
    last=$(tail -n 1 "$T/both.csv" 2>/dev/null | awk -F, '{print $(NF-1) "," $NF}')
    [ "$rc" -eq 1 ] && [[ "$last" == "error,$want:"* ]] &&
        ok "both convoy threads fail, the $first thread first: the row keeps the first error" ||
        bad "both convoy threads fail, $first first: exit $rc, row ends '$last'" "$err"
done
rm -f "$T/locked.csv"
run run "$T/w.py" --entry count --arg 10 --csv "$T/locked.csv" --quiet
flock -x "$T/locked.csv" sleep 1 &
holder=$!
sleep 0.2
start=$SECONDS
run run "$T/w.py" --entry count --arg 10 --csv "$T/locked.csv" --quiet
wait "$holder"
[ "$rc" -eq 0 ] && grep -q -- "--csv $T/locked.csv: another process is writing to it; waiting for its lock" "$T/err" &&
    [ "$(wc -l <"$T/locked.csv")" -eq 3 ] &&
    ok "a writer that must wait for another's lock says so, then appends its row" ||
    bad "waiting for a CSV lock: exit $rc, $(wc -l <"$T/locked.csv") lines" "$err"

# ---- three processes appending to one CSV at once ------------------------------------------------
rm -f "$T/shared.csv"
for k in 1 2 3; do   # three cells (--arg), so each series numbers its own repetitions
    timeout -k 5 120 "$G" run "$T/w.py" --entry count --arg 100$k --reps 40 --csv "$T/shared.csv" --quiet \
        >"$T/conc-$k.out" 2>&1 &
done
wait
rows=$(($(wc -l <"$T/shared.csv") - 1))
headers=$(grep -c '^run_id,' "$T/shared.csv")
[ "$rows" -eq 120 ] && [ "$headers" -eq 1 ] &&
    python3 mk/lab validate "$T/shared.csv" >/dev/null 2>&1 &&
    ok "three processes appending 40 rows each to one CSV: 120 whole rows, one header" ||
    bad "three concurrent writers: $rows rows, $headers header(s)" "$(python3 mk/lab validate "$T/shared.csv" 2>&1 | head -5)"

# ---- no process left behind ---------------------------------------------------------------------
sleep 0.3
left=$(grep -l "GILLAB_ATTACK_TAG=$GILLAB_ATTACK_TAG" /proc/[0-9]*/environ 2>/dev/null |
       sed 's|/proc/\([0-9]*\)/environ|\1|' | while read -r p; do
           [ "$p" != $$ ] && [ "$p" != "$BASHPID" ] && ps -o pid=,comm= -p "$p" 2>/dev/null; done | grep -v "bash\|grep\|sed\|ps$" || true)
[ -z "$left" ] && ok "no process this suite started is left" || bad "processes left behind" "$left"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
