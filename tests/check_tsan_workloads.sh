#!/usr/bin/env bash
# check_tsan_workloads.sh — the canonical workloads in 2 and 4 threads under every
# lock design but noop (py26 with both lock=sem and lock=condvar), and in 2, 4 and
# 8 threads under every policy of a design without a serialising lock (none: each
# refcounts with immortal_at_start off and on, from `gillab designs --json`; the
# deliberately racy plain counts are the race exercise's), built with
# ThreadSanitizer: no "WARNING: ThreadSanitizer" report, and every thread's result
# is the one python3 gives for the same call (convoy: the I/O thread returns one
# lateness per wake-up, the CPU threads a count within their limit).
#
# Env: GILLAB_TSAN (tsan binary), TSAN_RUN (e.g. "setarch x86_64 -R"). Run from
# the repository root. Small N: the whole check takes well under a minute.
# Prints "N passed, N failed" last; exits non-zero on any failure.
set -u
G=${GILLAB_TSAN:-$PWD/build/tsan/gillab}
RUN=${TSAN_RUN:-setarch $(uname -m) -R}
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 exitcode=66}"
T=$(mktemp -d /tmp/gillab-check-tsan.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | head -n 30; }

# workload entry args... (small N: every run is a few hundred ms under TSan)
CASES=(
    "workloads/count.py count 100000"
    "workloads/calls.py calls 3000"
    "workloads/sharedlist.py sharedlist 20000"
    "workloads/sharedread.py sharedread 20000"
)
CONVOY="workloads/convoy.py"
CONVOY_CPU_LIMIT=3000000
CONVOY_IO_N=3
CONVOY_IO_SLEEP_US=1000

# Every registered design that runs two threads, py26 with each lock, and every
# safe policy of the designs that have several; each line "THREADS|DESIGN ARGS".
variants=$("$G" designs --json | python3 -c '
import json, sys
for d in json.load(sys.stdin)["designs"]:
    if d["max_threads"] == 1:
        continue
    policies = [p for p in d["policies"] if not p["vm_safety"].startswith("unsafe")]
    if len(d["policies"]) > 1:
        for p in policies:
            print("2 4 8|" + " ".join([d["name"]] + ["--set " + s for s in p["set"]]))
    elif d["name"] == "py26":
        for lock in ("sem", "condvar"):
            print("2 4|py26 --set lock=" + lock)
    else:
        print("2 4|" + d["name"])
')
if [ -z "$variants" ]; then
    bad "cannot list the designs from $G designs --json"
    echo "$pass passed, $fail failed"
    exit 1
fi
mapfile -t variants <<<"$variants"

# run NAME ARGS...: under TSan with a time limit; sets rc, out, err; checks no report.
run() {
    local name=$1; shift
    timeout -k 5 120 $RUN "$G" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
    if grep -q "WARNING: ThreadSanitizer" "$T/err"; then
        bad "$name: ThreadSanitizer report" "$err"
        return 1
    fi
    if [ "$rc" -ne 0 ]; then
        bad "$name: exit $rc" "$err"
        return 1
    fi
    return 0
}

for c in "${CASES[@]}"; do
    set -- $c
    file=$1 entry=$2
    shift 2
    args=("$@")
    if [ ! -f "$file" ]; then
        bad "$file is missing"
        continue
    fi
    # What one call returns under CPython: every thread must return the same.
    want=$(python3 - "$file" "$entry" "${args[@]}" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("w", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
print(repr(getattr(m, sys.argv[2])(*[int(a) for a in sys.argv[3:]])))
EOF
    ) || { bad "python3 cannot run $file $entry"; continue; }
    argv=()
    for a in "${args[@]}"; do argv+=(--arg "$a"); done
    for line in "${variants[@]}"; do
        v=${line#*|}
        set -- $v
        gil=(--gil "$@")
        for n in ${line%%|*}; do
            name="$(basename "$file") $entry ${args[*]} under $v, $n threads"
            run "$name" run "$file" --entry "$entry" "${argv[@]}" "${gil[@]}" --threads "$n" --quiet || continue
            expect=$(for ((i = 0; i < n; i++)); do echo "thread $i: $want"; done)
            if [ "$out" = "$expect" ]; then ok "$name"; else bad "$name: results" "got:"$'\n'"$out"$'\n'"want:"$'\n'"$expect"; fi
        done
    done
done

for line in "${variants[@]}"; do
    v=${line#*|}
    set -- $v
    gil=(--gil "$@")
    for n in ${line%%|*}; do
        name="convoy under $v, $n threads"
        run "$name" run "$CONVOY" --scenario convoy --entry cpu --arg "$CONVOY_CPU_LIMIT" \
            --io-entry io --io-arg "$CONVOY_IO_N" --io-arg "$CONVOY_IO_SLEEP_US" \
            "${gil[@]}" --threads "$n" --quiet || continue
        if python3 - "$n" "$CONVOY_CPU_LIMIT" "$CONVOY_IO_N" <<EOF >"$T/py" 2>&1; then
import ast, sys
n, limit, io_n = (int(a) for a in sys.argv[1:])
lines = """$out""".splitlines()
assert len(lines) == n, lines
for i, l in enumerate(lines):
    head, _, value = l.partition(": ")
    assert head == "thread %d" % i, l
    v = ast.literal_eval(value)
    if i < n - 1:
        assert isinstance(v, int) and 0 <= v <= limit, l
    else:
        assert isinstance(v, list) and len(v) == io_n and all(isinstance(x, int) for x in v), l
EOF
            ok "$name"
        else
            bad "$name: results" "$out"$'\n'"$(cat "$T/py")"
        fi
    done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
