#!/usr/bin/env bash
# tests/check_race_checker.sh — the race checker (race/check.py) on good and bad input.
#
# Writes tiny C programs into a temporary folder and checks that the checker
# gives the right verdict and exit status for each: a racy file, a clean file, a
# lock-order inversion, a mismatch, a wrong marker, and every kind of bad input
# (a file that does not compile, a hang, a crash, an unknown EXPECT, a missing or
# empty FILE, a bad catalogue line). It also runs a catalogue of `cmd` entries,
# and compiles every catalogue program warning-free with gcc and clang.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1)); echo "FAIL $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -n 20 | sed 's/^/     /'
    return 0
}

# expect NAME WANT-EXIT REGEX ARGS... : run the checker, want that exit status and
# a line of its output (stdout and stderr) matching REGEX.
expect() {
    local name=$1 want=$2 pattern=$3 out rc
    shift 3
    out=$(timeout -k 5 180 python3 race/check.py "$@" 2>&1); rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then
        ok "$name"
    else
        bad "$name (exit $rc, wanted $want and /$pattern/)" "$out"
    fi
}

cat >"$tmp/racy.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
static int hits;
static pthread_barrier_t start;
static void *bump(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < 1000; i++)
        hits++; /* RACE */
    return NULL;
}
int main(void)
{
    pthread_t a, b;
    pthread_barrier_init(&start, NULL, 2);
    pthread_create(&a, NULL, bump, NULL);
    pthread_create(&b, NULL, bump, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%d\n", hits);
    return 0;
}
EOF
# The same race with the marker on the wrong line: the checker must notice.
sed -e 's|hits++; /\* RACE \*/|hits++;|' -e 's|printf("%d\\n", hits);|printf("%d\\n", hits); /* RACE */|' \
    "$tmp/racy.c" >"$tmp/badmark.c"

cat >"$tmp/clean.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int hits; /* protected by lock */
static void *bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&lock);
        hits++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}
int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, bump, NULL);
    pthread_create(&b, NULL, bump, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return hits == 2000 ? 0 : 1;
}
EOF

cat >"$tmp/inversion.c" <<'EOF'
#include <pthread.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *ab(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    return NULL;
}
static void *ba(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    return NULL;
}
int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, ab, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, ba, NULL);
    pthread_join(t, NULL);
    return 0;
}
EOF

cat >"$tmp/broken.c" <<'EOF'
#include <stdio.h>
int main(void)
{
    printf("no semicolon")
    return 0;
}
EOF

cat >"$tmp/hang.c" <<'EOF'
#include <pthread.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
int main(void)
{
    pthread_mutex_lock(&m);
    pthread_cond_wait(&c, &m); /* nobody will ever signal */
    pthread_mutex_unlock(&m);
    return 0;
}
EOF

cat >"$tmp/crash.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *unset = getenv("RACE_CHECKER_TEST_UNSET_VARIABLE"); /* NULL */
    printf("%d\n", *unset);
    return 0;
}
EOF

cat >"$tmp/aborts.c" <<'EOF'
#include <stdlib.h>
int main(void)
{
    abort();
}
EOF

# ---- single files: good input ------------------------------------------------------
expect "a racy file, EXPECT=race: ok"            0 '\| race +\| data race 3/3.*\| ok$' --file "$tmp/racy.c" --expect race
expect "a clean file, EXPECT=clean: ok"          0 '\| clean +\| nothing +\| ok 20/20 +\| ok$' --file "$tmp/clean.c" --expect clean
expect "a lock-order inversion: deadlock-report" 0 'lock-order-inversion.*\| ok$' --file "$tmp/inversion.c" --expect deadlock-report
expect "a racy file, EXPECT=clean: mismatch"     1 'MISMATCH: TSan reported data race' --file "$tmp/racy.c" --expect clean
expect "a clean file, EXPECT=race: mismatch"     1 'MISMATCH: expected a race report' --file "$tmp/clean.c" --expect race
expect "a marker on the wrong line: mismatch"    1 'MISMATCH: report names unmarked line' --file "$tmp/badmark.c" --expect race

# ---- single files: bad input ---------------------------------------------------------
expect "does not compile: first error, exit 2"   2 'broken.c does not compile: .*error' --file "$tmp/broken.c" --expect clean
expect "a hang: reported as a time-out"          1 'time-out 1/1.*MISMATCH: timed out after 2 s' --file "$tmp/hang.c" --expect clean --timeout 2 --runs 1
expect "a crash: reported with its signal"       1 'crash \(SEGV\).*MISMATCH: crashed \(SEGV\)' --file "$tmp/crash.c" --expect race
expect "an abort: reported with SIGABRT"         1 'MISMATCH: crashed \(SIGABRT\)' --file "$tmp/aborts.c" --expect clean
expect "unknown EXPECT: lists allowed, exit 2"   2 "unknown EXPECT 'racy'; allowed: race, clean, deadlock-report" --file "$tmp/clean.c" --expect racy
expect "empty EXPECT: lists allowed, exit 2"     2 "unknown EXPECT ''; allowed: race, clean, deadlock-report" --file "$tmp/clean.c" --expect ""
expect "missing FILE: exit 2"                    2 'nosuch.c: no such file' --file "$tmp/nosuch.c" --expect race
expect "empty FILE=: exit 2"                     2 'no FILE given' --file "" --expect race

# ---- catalogue entries of kind cmd, run from the repo root ------------------------------
if clang -std=gnu11 -g -O1 -pthread -fsanitize=thread "$tmp/racy.c" -o "$tmp/racy.tsan" 2>"$tmp/cc.log"; then
    cat >"$tmp/catalogue.txt" <<EOF
# name  variant     kind expect  detectors  options  command
demo    in_repo     cmd  clean   -          2        test -f race/catalogue.txt
demo    tsan_race   cmd  race    tsan       1        $tmp/racy.tsan
demo    fails       cmd  clean   -          runs=1   sh -c 'echo RESULT WRONG: on purpose; exit 1'
EOF
    out=$(timeout -k 5 180 python3 race/check.py --catalogue "$tmp/catalogue.txt" 2>&1); rc=$?
    seen() { # NAME REGEX: a line of the catalogue run's output matches
        if grep -qE -- "$2" <<<"$out"; then ok "$1"; else bad "$1 (wanted /$2/)" "$out"; fi
    }
    if [ "$rc" -eq 1 ]; then ok "cmd catalogue with a failing entry: exit 1"; else bad "cmd catalogue: exit $rc, wanted 1" "$out"; fi
    seen "cmd entries: clean, race and a failing one" '^2 passed, 1 failed$'
    seen "cmd entry runs from the repo root"          '^demo +\| in_repo +\| clean +\| nothing +\| ok 2/2 +\| ok$'
    seen "cmd entry under TSan: race seen"            '^demo +\| tsan_race .*data race 1/1.*\| ok$'
    seen "cmd entry with a wrong result: mismatch"    '^demo +\| fails .*WRONG 1/1.*MISMATCH: wrong result'
else
    bad "building a TSan program for the cmd entries" "$(cat "$tmp/cc.log")"
fi

printf 'demo racy c racy tsan\n' >"$tmp/badverdict.txt"
expect "a bad catalogue line: file:line, exit 2" 2 "badverdict.txt:1: verdict 'racy' is not one of" --catalogue "$tmp/badverdict.txt"
printf 'demo x c clean tsan\n' >"$tmp/badtsan.txt"
expect "tsan listed for a clean entry: refused"  2 'badtsan.txt:1: tsan must be listed exactly' --catalogue "$tmp/badtsan.txt"

# ---- every catalogue program compiles warning-free with gcc and clang -------------------
for cc in gcc clang; do
    warned=""
    for src in race/*/*.c race/measure.c; do
        if ! "$cc" -std=c11 -Wall -Wextra -Werror -pthread -fsyntax-only "$src" 2>>"$tmp/$cc.log"; then
            warned="$warned $src"
        fi
    done
    if [ -z "$warned" ]; then
        ok "catalogue builds warning-free with $cc"
    else
        bad "catalogue builds warning-free with $cc:$warned" "$(cat "$tmp/$cc.log")"
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
