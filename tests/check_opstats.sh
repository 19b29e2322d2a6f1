#!/usr/bin/env bash
# `gillab run --opstats` and `--opstats-csv FILE`: the counts are exact, and the
# file takes whole rows (run_id,rep,thread,opcode,count) like every results file.
# count(n) runs `while n > 0: n -= 1`, so each thread runs LOAD_FAST 2n+1
# times, COMPARE_OP and POP_JUMP_IF_FALSE n+1 (the jump fused into the compare
# counts too), INPLACE_SUBTRACT, STORE_FAST (fused into the subtract) and
# JUMP_ABSOLUTE n, LOAD_CONST 2n+2 and RETURN_VALUE once: the same under every
# lock design, in every thread and rep. Also: the table on stderr, a plain
# `gillab run FILE`, and a CSV file that cannot be written. Ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
G=${GILLAB:-$PWD/build/release/gillab}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' <<<"$2" | head -n 20; }

N=1000
expected() { # the CSV rows of count(N) for one rep and thread, sorted
    local r=$1 t=$2
    printf '%s\n' "$r,$t,COMPARE_OP,$((N + 1))" "$r,$t,INPLACE_SUBTRACT,$N" "$r,$t,JUMP_ABSOLUTE,$N" \
        "$r,$t,LOAD_CONST,$((2 * N + 2))" "$r,$t,LOAD_FAST,$((2 * N + 1))" "$r,$t,POP_JUMP_IF_FALSE,$((N + 1))" \
        "$r,$t,RETURN_VALUE,1" "$r,$t,STORE_FAST,$N"
}

for design in py26 py32 none fifo; do
    csv=$T/$design.csv
    out=$("$G" run workloads/count.py --entry count --arg $N --threads 2 --reps 2 --gil $design --quiet \
        --opstats-csv "$csv" 2>&1)
    rc=$?
    want=$( { expected 1 0; expected 1 1; expected 2 0; expected 2 1; } | sort)
    # the columns after run_id, which is one per rep
    got=$(tail -n +2 "$csv" 2>/dev/null | cut -d, -f2- | sort)
    ids=$(tail -n +2 "$csv" 2>/dev/null | cut -d, -f1 | sort -u | wc -l)
    if [ $rc -eq 0 ] && [ "$(head -n 1 "$csv")" = "run_id,rep,thread,opcode,count" ] && [ "$got" = "$want" ] &&
        [ "$ids" -eq 2 ]; then
        ok "$design: count($N) in 2 threads x 2 reps, every count exact"
    else
        bad "$design: exit $rc, CSV differs" "$(diff <(echo "$want") <(echo "$got"); echo "$out")"
    fi
done

# The table: one row per opcode, the totals over both threads, and a total row.
err=$("$G" run workloads/count.py --entry count --arg $N --threads 2 --gil py32 --quiet --opstats 2>&1 >/dev/null)
if grep -Eq "^LOAD_FAST +$((2 * N + 1)) +$((2 * N + 1)) +$((4 * N + 2)) " <<<"$err" &&
    grep -Eq "^total +$((9 * N + 6)) +$((9 * N + 6)) +$((18 * N + 12)) +100\.0%$" <<<"$err"; then
    ok "--opstats table: per thread, total and share"
else
    bad "--opstats table" "$err"
fi

# Not counting when not asked: no table, no file.
err=$("$G" run workloads/count.py --entry count --arg 10 --quiet 2>&1 >/dev/null)
if [ -z "$err" ]; then ok "no --opstats: nothing on stderr"; else bad "no --opstats: stderr" "$err"; fi

# A plain run: the main program is thread 0, rep 1; a class body and a
# __repr__ called from print run nested in the same thread and count too.
cat >"$T/prog.py" <<'EOF'
class V:
    def __repr__(self):
        return "v"


print(V())
EOF
"$G" run "$T/prog.py" --opstats-csv "$T/prog.csv" >"$T/prog.out" 2>"$T/prog.err"
rc=$?
cut -d, -f2- "$T/prog.csv" >"$T/prog.rows"
if [ $rc -eq 0 ] && [ "$(cat "$T/prog.out")" = "v" ] && grep -qx "1,0,LOAD_BUILD_CLASS,1" "$T/prog.rows" &&
    grep -qx "1,0,STORE_NAME,4" "$T/prog.rows" && grep -qx "1,0,RETURN_VALUE,3" "$T/prog.rows"; then
    ok "plain run: class body and __repr__ counted in thread 0"
else
    bad "plain run: exit $rc" "$(cat "$T/prog.csv" "$T/prog.err")"
fi

# Bad input: a CSV that cannot be written is refused before anything runs.
err=$("$G" run workloads/count.py --entry count --arg 10 --opstats-csv "$T/no/such/dir.csv" 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--opstats-csv $T/no/such/dir.csv: No such file or directory" <<<"$err"; then
    ok "--opstats-csv to a missing directory: exit 2, names the flag"
else
    bad "--opstats-csv to a missing directory: exit $rc" "$err"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
