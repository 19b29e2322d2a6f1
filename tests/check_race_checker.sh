#!/usr/bin/env bash
# tests/check_race_checker.sh — the race checker (race/check.py) on good and bad input.
#
# Writes tiny C programs into a temporary folder and checks that the checker
# gives the right verdict and exit status for each: a racy file, a clean file, a
# lock-order inversion, a mismatch, a wrong marker, and every kind of bad input
# (a file that does not compile or has no main, a hang, a crash, an unknown
# EXPECT, a missing or empty FILE, a bad catalogue line). Then the ways a check
# could be fooled or escaped: a program that prints a sanitizer's report, file
# names that are shell or make code, programs that fork and setsid() children
# (also when the checker itself is interrupted or killed), 100 MB of output, two
# files of the same name checked at once. Then the memory-error verdicts (ASan,
# LeakSanitizer, memcheck) on a learner's file, through make race-check too. It
# also runs a catalogue of `cmd` entries, compiles every catalogue program
# warning-free with gcc and clang, and at its end checks that no process it
# started, however deep, is still alive.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Every process this script starts inherits this tag in its environment; at the
# end, any process that still carries it was left behind.
tag="race-checker-test-$$-$RANDOM$RANDOM"
export RACE_CHECKER_TEST_TAG=$tag
tagged() { # the pids of live processes carrying the tag (this lookup itself does not)
    env -u RACE_CHECKER_TEST_TAG python3 -c '
import os, sys
tag = b"RACE_CHECKER_TEST_TAG=" + sys.argv[1].encode()
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        with open(f"/proc/{d}/environ", "rb") as f:
            env = f.read().split(b"\0")
        with open(f"/proc/{d}/stat", "rb") as f:
            zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        continue
    if tag in env and not zombie:
        print(d)
' "$tag"
}

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

# expect_make NAME WANT-EXIT REGEX MAKE-ARGS... : the same through make race-check.
expect_make() {
    local name=$1 want=$2 pattern=$3 out rc
    shift 3
    out=$(timeout -k 5 180 make --no-print-directory -s race-check "$@" 2>&1); rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then
        ok "$name"
    else
        bad "$name (exit $rc, wanted $want and /$pattern/)" "$out"
    fi
}

# alive PID-FILE: the pids listed in the file that are still running.
alive() {
    local pid left=""
    for pid in $(cat "$1" 2>/dev/null); do
        kill -0 "$pid" 2>/dev/null && left="$left $pid"
    done
    echo "$left"
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

cat >"$tmp/nomain.c" <<'EOF'
int helper(int x)
{
    return x + 1;
}
EOF

# Programs that print a sanitizer's or valgrind's report without having the bug.
cat >"$tmp/spoof_tsan.c" <<'EOF'
#include <stdio.h>
static int hits;
int main(void)
{
    hits++; /* RACE */
    const char *fake = "==================\n"
                       "WARNING: ThreadSanitizer: data race (pid=1)\n"
                       "  Write of size 4 at 0x1 by thread T1:\n"
                       "    #0 main %s:5 (a.out+0x1)\n\n"
                       "  Previous write of size 4 at 0x1 by main thread:\n"
                       "    #0 main %s:5 (a.out+0x1)\n\n"
                       "SUMMARY: ThreadSanitizer: data race %s:5 in main\n"
                       "==================\n";
    printf(fake, __FILE__, __FILE__, __FILE__);
    fprintf(stderr, fake, __FILE__, __FILE__, __FILE__);
    return hits == 1 ? 66 : 1;
}
EOF
cat >"$tmp/spoof_asan.c" <<'EOF'
#include <stdio.h>
int main(void)
{
    int slot = 1; /* MEMORY */
    const char *fake = "=================================================================\n"
                       "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1 at pc 0x1\n"
                       "READ of size 4 at 0x1 thread T0\n"
                       "    #0 0x1 in main %s:4:9\n\n"
                       "SUMMARY: AddressSanitizer: heap-use-after-free %s:4:9 in main\n";
    printf(fake, __FILE__, __FILE__);
    fprintf(stderr, fake, __FILE__, __FILE__);
    return slot == 1 ? 66 : 1;
}
EOF
cat >"$tmp/spoof_memcheck.c" <<'EOF'
#include <stdio.h>
int main(void)
{
    const char *fake = "==1== 8 bytes in 1 blocks are definitely lost in loss record 1 of 1\n"
                       "==1==    at 0x1: main (%s:3)\n"
                       "==1== \n"
                       "==1== ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 0 from 0)\n";
    printf(fake, __FILE__);
    fprintf(stderr, fake, __FILE__);
    return 0;
}
EOF
cat >"$tmp/spoof_fatal.c" <<'EOF'
#include <stdio.h>
int main(void)
{
    fputs("FATAL: ThreadSanitizer: unexpected memory mapping 0x1-0x2\n", stderr);
    return 0;
}
EOF

# A program whose 20 children and one daemon (setsid, then a grandchild) outlive it;
# and one that leaves such a family and then hangs. Each process writes its pid.
cat >"$tmp/forker.c" <<EOF
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#define CHILDREN 20
int main(void)
{
    int ready[2];
    int pids = open("$tmp/forker.pids", O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (pids < 0 || pipe(ready) != 0)
        return 1;
    for (int i = 0; i <= CHILDREN; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            if (i == CHILDREN) {
                setsid();
                if (fork() != 0)
                    _exit(0);
            }
            dprintf(pids, "%d\n", (int)getpid());
            if (write(ready[1], "x", 1) != 1)
                _exit(1);
            for (;;)
                pause();
        }
    }
    char buf[CHILDREN + 1];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = read(ready[0], buf + got, sizeof buf - got);
        if (n <= 0)
            return 1;
        got += (size_t)n;
    }
    return 0;
}
EOF
cat >"$tmp/forkhang.c" <<EOF
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
int main(void)
{
    int pids = open("$tmp/forkhang.pids", O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (pids < 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            if (i == 2) {
                setsid();
                if (fork() < 0)
                    _exit(1);
            }
            dprintf(pids, "%d\n", (int)getpid());
            for (;;)
                pause();
        }
    }
    for (;;)
        pause();
}
EOF

cat >"$tmp/loud.c" <<'EOF'
#include <stdio.h>
#include <string.h>
int main(void)
{
    static char line[1024 * 1024];
    memset(line, 'x', sizeof line);
    for (size_t i = 99; i < sizeof line; i += 100)
        line[i] = '\n';
    for (int i = 0; i < 100; i++)
        if (fwrite(line, 1, sizeof line, stdout) != sizeof line)
            return 1;
    fflush(stdout);
    fputs("RESULT ok: 100 MB written\n", stderr);
    return 0;
}
EOF

# Memory errors, as a learner would write them.
cat >"$tmp/uaf.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    int *slot = malloc(4 * sizeof *slot);
    if (slot == NULL)
        return 1;
    for (int i = 0; i < 4; i++)
        slot[i] = i;
    free(slot); /* MEMORY */
    int total = 0;
    total += slot[2]; /* MEMORY */
    printf("%d\n", total);
    return total == 2 ? 0 : 1;
}
EOF
cat >"$tmp/leak.c" <<'EOF'
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
__attribute__((noinline)) static size_t shout(const char *word)
{
    size_t n = strlen(word);
    char *loud = strdup(word); /* LEAK */
    if (loud == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        loud[i] = (char)(loud[i] & ~0x20);
    puts(loud);
    return n; /* loud is never freed */
}
int main(void)
{
    size_t total = 0;
    for (int i = 0; i < 3; i++)
        total += shout("leak");
    return total == 12 ? 0 : 1;
}
EOF
cat >"$tmp/uninit.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    int *votes = malloc(3 * sizeof *votes);
    if (votes == NULL)
        return 1;
    int ballots[] = {0, 2, 2, 1, 2};
    for (int i = 0; i < 5; i++)
        votes[ballots[i]]++;
    int winner = 0;
    for (int c = 1; c < 3; c++) {
        if (votes[c] > votes[winner]) /* MEMORY */
            winner = c;
    }
    printf("winner %d\n", winner);
    free(votes);
    return winner == 2 ? 0 : 1;
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

expect "no main(): a clear message, exit 2"      2 'nomain.c does not link: it has no main\(\) function' --file "$tmp/nomain.c" --expect clean
expect "unknown EXPECT: memory verdicts listed"  2 "unknown EXPECT 'asan:use-after-free'; allowed: .*asan:heap-use-after-free.*asan:clean.*memcheck:uninitialised-value.*memcheck:clean" --file "$tmp/clean.c" --expect asan:use-after-free

# ---- verdicts come from the tool's own report files, never from the program's output ----
expect "a printed TSan report is no race"        1 'nothing .*MISMATCH: expected a race report in at least one of 3 runs, TSan saw nothing' --file "$tmp/spoof_tsan.c" --expect race
expect "a printed ASan report is no use after free" 1 'MISMATCH: expected a heap-use-after-free report in at least one of 1 runs, ASan saw nothing' --file "$tmp/spoof_asan.c" --expect asan:heap-use-after-free
expect "a printed memcheck report is no leak"    1 'MISMATCH: expected a definitely-lost report in at least one of 1 runs, memcheck saw nothing' --file "$tmp/spoof_memcheck.c" --expect memcheck:definitely-lost
expect "a printed TSan FATAL is no environment error" 0 '\| clean +\| nothing +\| ok 3/3 +\| ok$' --file "$tmp/spoof_fatal.c" --expect clean --runs 3

# ---- make race-check passes FILE and EXPECT as data, never through a shell ----------
rm -f "$tmp"/pwned*
expect_make "FILE with a quote and a command: not run"  2 'no such file' "FILE=x\"; touch $tmp/pwned1; echo \"" EXPECT=race
expect_make "FILE with \$(shell ...): not run by make" 2 'no such file' "FILE=\$(shell touch $tmp/pwned2)" EXPECT=race
expect_make "FILE with a backquote: not run"           2 'no such file' "FILE=\`touch $tmp/pwned3\`" EXPECT=race
expect_make "EXPECT with a command: refused, not run"  2 "unknown EXPECT 'race\"; touch" "FILE=$tmp/racy.c" "EXPECT=race\"; touch $tmp/pwned4; echo \""
if ls "$tmp"/pwned* >/dev/null 2>&1; then
    bad "no injected command ran (found: $(cd "$tmp" && ls pwned*))"
else
    ok "no injected command ran"
fi
odd="$tmp/it's a \"race\" \$HOME \`x\`.c"
cp "$tmp/racy.c" "$odd"
expect_make "a real file named with quotes, \$ and \`"  0 '\| race +\| data race 3/3.*\| ok$' "FILE=$odd" EXPECT=race
expect_make "make race-check with no FILE: exit 2"      2 'no FILE given' EXPECT=race

# ---- every run in a process group of its own, every leftover process killed ----------
: >"$tmp/forker.pids"
expect "forked and setsid() children: killed"    0 '\| clean +\| nothing +\| ok 1/1; killed 21 leftover processes +\| ok$' --file "$tmp/forker.c" --expect clean --runs 1
left=$(alive "$tmp/forker.pids")
if [ "$(wc -l <"$tmp/forker.pids")" -eq 21 ] && [ -z "$left" ]; then
    ok "forked and setsid() children: none left running"
else
    bad "forked and setsid() children: $(wc -l <"$tmp/forker.pids") started, still running:$left"
fi
: >"$tmp/forkhang.pids"
expect "a hang with setsid() children: all killed" 1 'time-out 1/1 \(>2 s\); killed 4 leftover processes.*MISMATCH: timed out after 2 s' --file "$tmp/forkhang.c" --expect clean --runs 1 --timeout 2
left=$(alive "$tmp/forkhang.pids")
if [ -z "$left" ]; then ok "a hang with setsid() children: none left running"; else bad "a hang with setsid() children: still running:$left"; fi

# The checker itself interrupted (SIGINT, as by ^C; SIGTERM; SIGHUP) or killed (SIGKILL) mid-run:
# its run helper still kills the program and every process the program started.
for sig in INT TERM HUP KILL; do
    case $sig in INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; KILL) want=137 ;; esac
    : >"$tmp/forkhang.pids"
    python3 race/check.py --file "$tmp/forkhang.c" --expect clean --runs 1 --timeout 60 >"$tmp/interrupted.log" 2>&1 &
    checker=$!
    for _ in $(seq 200); do
        [ "$(wc -l <"$tmp/forkhang.pids")" -ge 4 ] && break
        sleep 0.1
    done
    stopped=$SECONDS
    kill -s "$sig" "$checker"
    wait "$checker" 2>/dev/null; rc=$?
    sleep 0.5
    left=$(alive "$tmp/forkhang.pids")
    started=$(wc -l <"$tmp/forkhang.pids")
    if [ "$started" -ge 4 ] && [ -z "$left" ] && [ "$rc" -eq "$want" ] && [ $((SECONDS - stopped)) -lt 30 ]; then
        ok "checker stopped by SIG$sig: none of $started processes left (exit $rc)"
    else
        bad "checker stopped by SIG$sig: $started started, still running:$left" "$(cat "$tmp/interrupted.log")"
    fi
done

# ---- 100 MB of output: kept bounded, and said so ------------------------------------
if gcc -std=c11 -O1 "$tmp/loud.c" -o "$tmp/loud" 2>"$tmp/cc.log"; then
    printf 'demo loud cmd clean - 1 %s\n' "$tmp/loud" >"$tmp/loud.txt"
    out=$(timeout -k 5 180 python3 -c '
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
print(p.stdout, end="")
print(f"exit={p.returncode} peak_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
' python3 race/check.py --catalogue "$tmp/loud.txt" 2>&1)
    peak=$(sed -n 's/.*peak_kb=\([0-9]*\).*/\1/p' <<<"$out")
    if grep -qE '^demo +\| loud .*ok 1/1; output cut to its first and last 64 KiB 1/1 +\| ok$' <<<"$out" &&
       grep -q 'exit=0 ' <<<"$out" && [ -n "$peak" ] && [ "$peak" -lt 150000 ]; then
        ok "100 MB of output: verdict from its last line, cut, checker peak ${peak} KiB"
    else
        bad "100 MB of output (checker peak ${peak:-?} KiB, wanted < 150000 and the cut said)" "$out"
    fi
else
    bad "building the loud program" "$(cat "$tmp/cc.log")"
fi

# ---- two files of the same name, checked at once ---------------------------------------
mkdir -p "$tmp/one" "$tmp/two"
cp "$tmp/racy.c" "$tmp/one/prog.c"
cp "$tmp/clean.c" "$tmp/two/prog.c"
for round in 1 2; do
    python3 race/check.py --file "$tmp/one/prog.c" --expect race >"$tmp/one.$round.log" 2>&1 & a=$!
    python3 race/check.py --file "$tmp/two/prog.c" --expect clean >"$tmp/two.$round.log" 2>&1 & b=$!
    python3 race/check.py --file "$tmp/one/prog.c" --expect race >"$tmp/three.$round.log" 2>&1 & c=$!
    wait $a; ra=$?; wait $b; rb=$?; wait $c; rc=$?
    if [ $ra -eq 0 ] && [ $rb -eq 0 ] && [ $rc -eq 0 ] &&
       ! grep -q Traceback "$tmp"/one.$round.log "$tmp"/two.$round.log "$tmp"/three.$round.log; then
        ok "same file name, two folders, at once (round $round): right verdicts"
    else
        bad "same file name at once (round $round): exits $ra $rb $rc" "$(cat "$tmp"/one.$round.log "$tmp"/two.$round.log "$tmp"/three.$round.log)"
    fi
done

# ---- memory-error verdicts on a learner's file ------------------------------------------
expect "heap use after free: asan verdict ok"    0 '\| asan:heap-use-after-free +\| heap-use-after-free 1/1 at 10,12 +\| unjudged 1/1 +\| ok$' --file "$tmp/uaf.c" --expect asan:heap-use-after-free
expect "the wrong asan kind: mismatch"           1 'MISMATCH: expected a double-free report in at least one of 1 runs, ASan saw heap-use-after-free' --file "$tmp/uaf.c" --expect asan:double-free
expect "a use after free, EXPECT=asan:clean"     1 'MISMATCH: ASan reported heap-use-after-free' --file "$tmp/uaf.c" --expect asan:clean
expect "a clean file, EXPECT=asan:clean"         0 '\| asan:clean +\| nothing +\| ok 3/3 +\| ok$' --file "$tmp/clean.c" --expect asan:clean
expect "a leak: LeakSanitizer verdict ok"        0 '\| asan:memory-leaks +\| memory-leaks 1/1 at 7 +\| unjudged 1/1 +\| ok$' --file "$tmp/leak.c" --expect asan:memory-leaks
expect "a leak under memcheck: definitely-lost"  0 '\| memcheck:definitely-lost +\| definitely-lost 1/1 at 7 +\| ok 1/1 +\| ok$' --file "$tmp/leak.c" --expect memcheck:definitely-lost
expect "uninitialised read: memcheck verdict ok" 0 '\| memcheck:uninitialised-value +\| uninitialised-value 1/1 at 13 .*\| ok$' --file "$tmp/uninit.c" --expect memcheck:uninitialised-value
expect "uninitialised read, EXPECT=memcheck:clean" 1 'MISMATCH: memcheck reported uninitialised-value' --file "$tmp/uninit.c" --expect memcheck:clean
sed '10s|/\* MEMORY \*/||' "$tmp/uaf.c" >"$tmp/uafmark.c"
expect "a memory report on an unmarked line"     1 'MISMATCH: report names unmarked line\(s\) uafmark.c:10' --file "$tmp/uafmark.c" --expect asan:heap-use-after-free
expect_make "make race-check EXPECT=asan:heap-use-after-free" 0 '\| asan:heap-use-after-free +\| heap-use-after-free 1/1.*\| ok$' "FILE=$tmp/uaf.c" EXPECT=asan:heap-use-after-free
expect_make "make race-check, unknown verdict: allowed listed" 2 "unknown EXPECT 'asan:uaf'; allowed: race, clean, deadlock-report, asan:heap-use-after-free" "FILE=$tmp/uaf.c" EXPECT=asan:uaf

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
printf 'demo x c race tsan,memcheck\n' >"$tmp/badfamily.txt"
expect "memcheck listed for a race: refused"     2 'badfamily.txt:1: detector\(s\) memcheck do not go with the verdict race' --catalogue "$tmp/badfamily.txt"
printf 'demo x c asan:heap-use-after-free memcheck\n' >"$tmp/badasan.txt"
expect "asan missing for an asan verdict"        2 'badasan.txt:1: asan must be listed exactly when the verdict is asan:<kind>' --catalogue "$tmp/badasan.txt"

# ---- every catalogue program compiles warning-free with gcc and clang -------------------
for cc in gcc clang; do
    warned=""
    for src in race/*/*.c race/runone.c; do
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

# ---- nothing this script started is still running ---------------------------------------
wait
sleep 0.3
left=$(tagged)
if [ -z "$left" ]; then
    ok "no process started by this test is left behind"
else
    bad "processes left behind:$(for p in $left; do printf ' %s(%s)' "$p" "$(cat /proc/"$p"/comm 2>/dev/null)"; done)"
    for p in $left; do kill -KILL "$p" 2>/dev/null; done
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
