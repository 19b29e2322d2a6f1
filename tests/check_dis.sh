#!/usr/bin/env bash
# `gillab dis F` must print what `python3.8 -m dis F` prints, for every
# tests/corpus/*.py program, once the addresses of code objects (which differ
# run to run) are masked. gillab's compiler follows CPython 3.8's, optimizer
# included, so the two are compared byte for byte.
#
# python3.8 is looked for on PATH, then under `pyenv root`/versions/3.8*; a
# candidate counts only if it really is 3.8 (a pyenv shim for an inactive
# version is not). Without one the check says that it skipped and counts
# nothing. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
GILLAB=${GILLAB:-$PWD/build/release/gillab}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

is_38() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 8))' >/dev/null 2>&1; }

py=""
if [ -n "${PYTHON38:-}" ] && is_38 "$PYTHON38"; then
    py=$PYTHON38
elif command -v python3.8 >/dev/null 2>&1 && is_38 python3.8; then
    py=python3.8
else
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for cand in "$root"/versions/3.8*/bin/python3.8 "$root"/versions/3.8*/bin/python; do
        if [ -x "$cand" ] && is_38 "$cand"; then
            py=$cand
            break
        fi
    done
fi
if [ -z "$py" ]; then
    echo "dis: skipped: no python3.8 (not on PATH, none under \$(pyenv root)/versions/3.8*)"
    echo "0 passed, 0 failed"
    exit 0
fi
echo "dis: comparing with $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"

mask() { sed -E 's/ at 0x[0-9a-f]+, file / at 0xADDR, file /g'; }
pass=0 fail=0
for prog in tests/corpus/*.py; do
    name=$(basename "$prog")
    # From the corpus directory, so both name the file the same way.
    (cd tests/corpus && "$py" -m dis "$name" 2>/dev/null | mask >"$tmp/want")
    (cd tests/corpus && "$GILLAB" dis "$name" 2>"$tmp/err" | mask >"$tmp/got")
    if cmp -s "$tmp/want" "$tmp/got" && [ -s "$tmp/want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: gillab dis differs from python3.8 -m dis"
        diff "$tmp/want" "$tmp/got" | head -n 20
        head -n 5 "$tmp/err"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
