#!/usr/bin/env bash
# attacks_before_after.sh [COMMIT] — the attack cases of this tree against an older
# commit (default 14ac93d) and against this tree, side by side. Not part of make test.
#
# Builds COMMIT's gillab in a temporary folder (git archive, then make there), runs
# this tree's tests/check_attacks.sh against that binary (GILLAB=...), and this
# tree's tests/check_race_checker.sh inside the old tree (it runs the old
# race/check.py and the old Makefile's make race-check); then both again against
# this tree. Prints one line per case: before, now, the case's name, and under a
# case that failed before, its failure line and gillab's (or the checker's) first
# message. Both runs of a script print their cases in the same order; they are
# paired by position.
#
# Takes about five minutes (the old binary waits 60 s on a FIFO without a reader).
# Env: RACE=0 skips the race checker's cases; KEEP=1 keeps the old tree and the logs.
set -u
cd "$(dirname "$0")/.."
commit=${1:-14ac93d}
old=$(mktemp -d /tmp/gillab-before.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then
    echo "old tree and logs kept in $old" >&2
else
    trap 'rm -rf "$old"' EXIT
fi
logs=$old/logs
mkdir -p "$logs"

git archive "$commit" | tar -x -C "$old" || { echo "cannot export $commit" >&2; exit 2; }
echo "building $commit in $old ..." >&2
make -C "$old" --no-print-directory build/release/gillab >"$logs/build-before" 2>&1 ||
    { tail -n 20 "$logs/build-before" >&2; echo "building $commit failed" >&2; exit 2; }
make --no-print-directory build/release/gillab >"$logs/build-now" 2>&1 ||
    { tail -n 20 "$logs/build-now" >&2; echo "building this tree failed" >&2; exit 2; }

echo "check_attacks.sh against $commit ..." >&2
GILLAB=$old/build/release/gillab bash tests/check_attacks.sh >"$logs/attacks-before" 2>&1
echo "check_attacks.sh against this tree ..." >&2
GILLAB=$PWD/build/release/gillab bash tests/check_attacks.sh >"$logs/attacks-now" 2>&1
suites=attacks
if [ "${RACE:-1}" != 0 ]; then
    cp tests/check_race_checker.sh "$old/tests/check_race_checker.current.sh"
    echo "check_race_checker.sh in $commit's tree ..." >&2
    bash "$old/tests/check_race_checker.current.sh" >"$logs/race-before" 2>&1
    echo "check_race_checker.sh in this tree ..." >&2
    bash tests/check_race_checker.sh >"$logs/race-now" 2>&1
    suites="attacks race"
fi

status=0
for s in $suites; do
    case $s in attacks) script=check_attacks.sh ;; race) script=check_race_checker.sh ;; esac
    python3 - "$script" "$commit" "$logs/$s-before" "$logs/$s-now" <<'EOF' || status=1
import re, sys
script, commit, before_log, now_log = sys.argv[1:]
tmp = re.compile(r"/tmp/(gillab-check-attacks|tmp)\.[A-Za-z0-9]+")

def cases(path):
    """[(passed, name, [what it printed])] in the order the script printed them."""
    out = []
    for line in open(path, errors="replace"):
        line = tmp.sub("$T", line.rstrip("\n"))
        m = re.match(r"(ok|FAIL) +(.*)", line)
        if m:
            out.append((m.group(1) == "ok", m.group(2), []))
        elif out and not out[-1][0] and line.startswith(" "):
            out[-1][2].append(line.strip(" |"))
    return out

def why(name, printed):
    """The line a failure printed that says most: gillab's or the checker's message."""
    said = [l for l in printed if re.search(r"gillab: |race-check: |race: |SyntaxError|MISMATCH|"
                                            r"still running|error:|No such file", l)]
    return [name] + said[:1]

before, now = cases(before_log), cases(now_log)
print("== %s: %s against %s, then against this tree" % (script, script, commit))
if len(before) != len(now):
    print("the two runs printed %d and %d cases; they cannot be paired" % (len(before), len(now)))
    sys.exit(1)
print("%-6s %-4s  %s" % ("before", "now", "case"))
for (b_ok, b_name, b_why), (n_ok, n_name, n_why) in zip(before, now):
    print("%-6s %-4s  %s" % ("ok" if b_ok else "FAIL", "ok" if n_ok else "FAIL", n_name))
    if not b_ok:
        for line in why(b_name, b_why):
            if line != n_name:
                print("%13s%s" % ("", line))
nb = sum(1 for c in before if not c[0])
nn = sum(1 for c in now if not c[0])
print("%s: %d cases; %d failed against %s, %d fail now" % (script, len(now), nb, commit, nn))
sys.exit(1 if nn else 0)
EOF
done
exit $status
