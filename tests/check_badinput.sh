#!/usr/bin/env bash
# Runs every case of tests/badinput/cases.txt with $GILLAB and with $GILLAB_ASAN
# (ASan+UBSan+LeakSanitizer, when built). A case passes when the exit status is
# the expected one, stderr matches its pattern (and stdout its optional one),
# nothing crashed, and no sanitizer reported anything. Ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
root=$PWD
GILLAB=${GILLAB:-$root/build/release/gillab}
GILLAB_ASAN=${GILLAB_ASAN:-$root/build/asan/gillab}
limit=${BADINPUT_TIMEOUT:-120}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Generated inputs: too big, or too binary, to keep in git.
{
    echo "x = 0"
    yes "x = x + 1" | head -n 1000000
    echo "print(x)"
} >"$tmp/big.py"                                         # 10 MB of statements
{ yes "# padding line for a file over the source size limit" | head -n 340000; } >"$tmp/huge.py"
printf '\xff\xfe\x80garbage\x9f\xc3(\n' >"$tmp/garbage.py"
printf 'x = 1\n\0\0y = 2\n' >"$tmp/nul.py"

bins=("$GILLAB")
[ -x "$GILLAB_ASAN" ] && bins+=("$GILLAB_ASAN")
pass=0 fail=0
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf '%s' "$s"; }

while IFS= read -r line || [ -n "$line" ]; do
    case $line in '#'* | '') continue ;; esac
    # name | args | status | stderr ERE [| stdout ERE]; an ERE may itself hold '|'
    # only in the last field, so split off the first three fields.
    name=$(trim "${line%%|*}"); rest=${line#*|}
    args=$(trim "${rest%%|*}"); rest=${rest#*|}
    want_rc=$(trim "${rest%%|*}"); rest=${rest#*|}
    err_re=$rest out_re=""
    if [[ $rest == *' | '* ]]; then
        err_re=${rest%' | '*}
        out_re=$(trim "${rest##*' | '}")
    fi
    err_re=$(trim "$err_re")
    args=${args//@TMP@/$tmp}
    for bin in "${bins[@]}"; do
        label="$name [$(basename "$(dirname "$bin")")]"
        # shellcheck disable=SC2086 # word splitting of the case's arguments is wanted
        (cd tests/badinput && timeout -k 5 "$limit" "$bin" $args >"$tmp/out" 2>"$tmp/err")
        rc=$?
        why=""
        if [ "$rc" -ne "$want_rc" ]; then
            why="exit status $rc, want $want_rc"
        elif grep -q 'Sanitizer\|runtime error:' "$tmp/err"; then
            why="sanitizer report"
        elif [ "$err_re" = '^$' ]; then
            [ -s "$tmp/err" ] && why="stderr should be empty"
        elif ! grep -Eq -- "$err_re" "$tmp/err"; then
            why="stderr does not match /$err_re/"
        fi
        if [ -z "$why" ] && [ -n "$out_re" ] && ! grep -Eq -- "$out_re" "$tmp/out"; then
            why="stdout does not match /$out_re/"
        fi
        if [ -z "$why" ]; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL $label: $why"
            head -n 15 "$tmp/err" | sed 's/^/    | /'
        fi
    done
done <tests/badinput/cases.txt
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
