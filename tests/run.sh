#!/usr/bin/env bash
# Runs every test of gillab and ends with one line "N passed, N failed".
#
#  1. every cmocka suite (tests/test_*.c) in each build variant: release, asan, tsan;
#  2. every check script tests/check_*.sh (each ends with its own "N passed, N failed");
#  3. the race catalogue under ThreadSanitizer (race/check.py).
# Logs go to build/test-logs/. A suite that crashes or prints no count is one failure.
set -u
cd "$(dirname "$0")/.."
logs=build/test-logs
rm -rf "$logs"; mkdir -p "$logs"

export GILLAB=$PWD/build/release/gillab
export GILLAB_TSAN=$PWD/build/tsan/gillab
export GILLAB_ASAN=$PWD/build/asan/gillab
# TSan needs a fixed memory layout; without ASLR it never meets "unexpected memory mapping".
export TSAN_RUN="setarch $(uname -m) -R"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 exitcode=66 second_deadlock_stack=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1 abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1 halt_on_error=1}"
limit=${GILLAB_TEST_TIMEOUT:-600}

total_pass=0 total_fail=0
report() { # name pass fail seconds
    total_pass=$((total_pass + $2)); total_fail=$((total_fail + $3))
    local mark=ok; [ "$3" -gt 0 ] && mark=FAIL
    printf '%-4s %-40s %4d passed, %d failed  (%ss)\n' "$mark" "$1" "$2" "$3" "$4" >&2
}

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)" on stderr.
run_suite() { # variant binary
    local v=$1 bin=$2 name log start rc pass fail
    name="$v/$(basename "$bin")"; log="$logs/${v}-$(basename "$bin").log"
    start=$SECONDS
    if [ "$v" = tsan ]; then
        timeout -k 5 "$limit" $TSAN_RUN "$bin" >"$log" 2>&1; rc=$?
    else
        timeout -k 5 "$limit" "$bin" >"$log" 2>&1; rc=$?
    fi
    pass=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    fail=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    pass=${pass:-0}; fail=${fail:-0}
    if grep -q 'WARNING: ThreadSanitizer:\|ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log"; then
        fail=$((fail + 1)); echo "sanitizer report in $log" >&2
    elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail=1; echo "$name exited $rc without a failure count; see $log" >&2
    fi
    [ "$fail" -gt 0 ] && tail -n 30 "$log" >&2
    report "$name" "$pass" "$fail" $((SECONDS - start))
}

# A check script prints its own "N passed, N failed" as its last such line.
run_check() { # name command...
    local name=$1; shift
    local log="$logs/$(echo "$name" | tr '/ ' '__').log" start=$SECONDS rc line pass fail
    timeout -k 5 "$limit" "$@" >"$log" 2>&1; rc=$?
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
    pass=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/'); pass=${pass:-0}
    fail=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/'); fail=${fail:-0}
    if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; }; then
        fail=$((fail + 1)); echo "$name exited $rc; see $log" >&2
    fi
    [ "$fail" -gt 0 ] && tail -n 40 "$log" >&2
    report "$name" "$pass" "$fail" $((SECONDS - start))
}

for v in release asan tsan; do
    for bin in build/$v/tests/test_*; do
        [ -x "$bin" ] || continue
        case $bin in *.d|*.o) continue ;; esac
        run_suite "$v" "$bin"
    done
done
for script in tests/check_*.sh; do
    [ -f "$script" ] || continue
    run_check "$(basename "$script" .sh)" bash "$script"
done
if [ -x race/check.py ]; then
    run_check race race/check.py
fi

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
