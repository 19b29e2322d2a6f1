#!/usr/bin/env bash
# Every tests/corpus/*.py program must behave under gillab exactly as under
# python3: the same stdout, byte for byte, and the same exit status. Each
# program runs under the release binary ($GILLAB) and under the
# ASan+UBSan+LeakSanitizer binary ($GILLAB_ASAN, when present), where any
# sanitizer report is a failure too. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
GILLAB=${GILLAB:-$PWD/build/release/gillab}
GILLAB_ASAN=${GILLAB_ASAN:-$PWD/build/asan/gillab}
PYTHON=${PYTHON:-python3}
limit=${CORPUS_TIMEOUT:-60}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0 fail=0
bins=("$GILLAB")
[ -x "$GILLAB_ASAN" ] && bins+=("$GILLAB_ASAN")

for prog in tests/corpus/*.py; do
    name=$(basename "$prog" .py)
    # Run from the corpus directory so tracebacks and __file__-free output
    # are the same for both interpreters.
    (cd tests/corpus && timeout -k 5 "$limit" "$PYTHON" "$name.py" >"$tmp/$name.want" 2>/dev/null)
    want_rc=$?
    for bin in "${bins[@]}"; do
        label="$name [$(basename "$(dirname "$bin")")]"
        (cd tests/corpus && timeout -k 5 "$limit" "$bin" run "$name.py" >"$tmp/$name.got" 2>"$tmp/$name.err")
        rc=$?
        why=""
        if ! cmp -s "$tmp/$name.want" "$tmp/$name.got"; then
            why="stdout differs"
        elif [ "$rc" -ne "$want_rc" ]; then
            why="exit status $rc, python3 gave $want_rc"
        elif grep -q 'Sanitizer\|runtime error:' "$tmp/$name.err"; then
            why="sanitizer report"
        fi
        if [ -z "$why" ]; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL $label: $why"
            diff "$tmp/$name.want" "$tmp/$name.got" | head -n 10
            head -n 20 "$tmp/$name.err"
        fi
    done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
