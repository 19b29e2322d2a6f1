#!/usr/bin/env python3
"""race/check.py - build, run and judge the race and memory-error catalogue.

  race/check.py                          every catalogue entry; a table, then "N passed, N failed"
  race/check.py --file F --expect E      one single-file C program (E: race, clean,
                                         deadlock-report, asan:KIND, asan:clean, memcheck:KIND,
                                         memcheck:clean)
  race/check.py --from-env               the same, F and E taken from RACE_CHECK_FILE and
                                         RACE_CHECK_EXPECT (how `make race-check` passes them)
  race/check.py --score                  helgrind, DRD and memcheck against the catalogue,
                                         the sanitizers' time and memory overhead; a table
                                         and results/race.csv

Each entry is checked by one tool, named by its verdict: ThreadSanitizer (race,
deadlock-report, clean, wrong-result, hang), AddressSanitizer with LeakSanitizer
(asan:...) or valgrind's memcheck (memcheck:...). Programs are built with clang
into build/race/ and run on a small pool of workers through race/runone.c, which
gives each run a process group of its own, a time limit, and kills and reaps
every process the run leaves behind.

A verdict rests on the tool's own report channel only: the sanitizers write to
log_path and valgrind to --log-file, both in a private directory per run. What
the program prints is never read for a verdict (a program can print anything),
only for its own result line, and only a bounded part of it is kept.

A program judges its own result and says so on its last line: "RESULT ok: ..." or
"RESULT WRONG: ..." (see race/lab.h); a program that does not (a learner's file) is
judged by its exit status. Standard library only: this is a driver, the
exercises are C.
"""

import argparse
import concurrent.futures
import csv
import os
import platform
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

RACE_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(RACE_DIR)
BUILD_DIR = os.path.join(REPO, "build", "race")
CATALOGUE = os.path.join(RACE_DIR, "catalogue.txt")
RESULTS_CSV = os.path.join(REPO, "results", "race.csv")
RUNONE_SOURCE = os.path.join(RACE_DIR, "runone.c")
RUNONE = os.path.join(BUILD_DIR, "runone")

# ---- verdicts and tools ---------------------------------------------------------

# ThreadSanitizer's verdicts are written bare; the memory tools' carry their name.
TSAN_VERDICTS = ("race", "deadlock-report", "clean", "wrong-result", "hang")
# The report kinds a memory verdict may name, as each tool's report calls them.
ASAN_KINDS = ("heap-use-after-free", "heap-buffer-overflow", "stack-buffer-overflow",
              "stack-use-after-return", "stack-use-after-scope", "global-buffer-overflow",
              "double-free", "bad-free", "alloc-dealloc-mismatch", "memory-leaks")
MEMCHECK_KINDS = ("invalid-read", "invalid-write", "invalid-free", "mismatched-free",
                  "uninitialised-value", "overlap", "definitely-lost", "possibly-lost")
MEMORY_KINDS = {"asan": ASAN_KINDS, "memcheck": MEMCHECK_KINDS}
TOOL_NAMES = {"tsan": "TSan", "asan": "ASan", "memcheck": "memcheck",
              "helgrind": "helgrind", "drd": "DRD"}
# Who may be listed in an entry's detectors column, by the tool its verdict names:
# the race detectors for the TSan entries, the memory-error detectors for the others.
FAMILIES = {"tsan": ("tsan", "helgrind", "drd"),
            "asan": ("asan", "memcheck"), "memcheck": ("asan", "memcheck")}
DETECTORS = ("tsan", "helgrind", "drd", "asan", "memcheck")
KINDS = ("c", "cmd")
# The binary each tool runs: its own sanitizer build, or the plain one under valgrind.
FLAVOUR = {"tsan": "tsan", "asan": "asan", "memcheck": "plain", "helgrind": "plain",
           "drd": "plain", "plain": "plain"}
# Runs per entry unless the catalogue says otherwise. A fixed variant must stay
# clean and correct over many runs of a schedule-dependent program; a racy one
# needs a report in at least one. The memory programs are single-threaded and
# deterministic: one run shows what they do.
DEFAULT_RUNS = {"race": 3, "deadlock-report": 3, "clean": 20, "wrong-result": 3, "hang": 1,
                "asan:<kind>": 1, "asan:clean": 3, "memcheck:<kind>": 1, "memcheck:clean": 1}
DEFAULT_TIMEOUT_S = 10.0
TSAN_OPTIONS = "halt_on_error=0 exitcode=66 second_deadlock_stack=1 report_thread_leaks=1"
# detect_stack_use_after_return: locals live in a separate "fake stack" that stays
# poisoned after the function returns, so a pointer into a dead frame is caught.
ASAN_OPTIONS = ("detect_stack_use_after_return=1 detect_leaks=1 halt_on_error=1 "
                "abort_on_error=0 exitcode=66")
MEMCHECK_ARGS = ["--leak-check=full", "--show-leak-kinds=definite,possible",
                 "--errors-for-leak-kinds=definite,possible", "--track-origins=yes"]
CFLAGS = ["-Wall", "-Wextra", "-g", "-O1", "-pthread"]
FLAVOUR_FLAGS = {"tsan": ["-fsanitize=thread"],
                 "asan": ["-fno-omit-frame-pointer", "-fsanitize=address"],
                 # valgrind 3.19 reads DWARF 4 fully; clang 14 writes DWARF 5 by default.
                 "plain": ["-gdwarf-4"]}
# Comment words that mark the lines a report of a buggy variant must name.
MARKER_RE = re.compile(r"/\*\s*(RACE|DEADLOCK|LEAK|MISUSE|MEMORY)\b")
LOCK_ORDER = "lock-order-inversion (potential deadlock)"
# Of a program's output (stdout and stderr together) only this much is kept from
# each end; the rest is counted, not stored. The result line is at the end.
OUTPUT_KEEP_BYTES = 64 * 1024
# Of a tool's report files, at most this much is read per run.
LOG_LIMIT_BYTES = 8 * 1024 * 1024
# How long past its own time limit a run may take before its helper is stopped.
BACKSTOP_S = 30.0


class EnvError(Exception):
    """The machine cannot run the check (no compiler, TSan fails to start, ...)."""


class InputError(Exception):
    """The user's input is wrong (bad catalogue line, missing file, ...)."""


class Interrupted(Exception):
    """The checker was asked to stop (SIGINT, SIGTERM, SIGHUP)."""


# The run helpers running now, so a signal can stop them all. Each one, stopped,
# kills its program's whole process tree before it exits.
_LIVE = set()
_LIVE_LOCK = threading.RLock()   # re-entrant: the signal handler runs in the main thread
_STOP = threading.Event()      # set once: no run starts after it


def stop_runs():
    _STOP.set()
    with _LIVE_LOCK:
        for proc in _LIVE:
            try:
                proc.terminate()
            except OSError:
                pass           # it has just ended


def parse_verdict(text):
    """(tool, check, kind) for a verdict, or None. check is one of report, clean,
    wrong-result, hang; kind is what a report must be (race, deadlock-report, or a
    memory tool's report kind), or None."""
    if text in TSAN_VERDICTS:
        if text in ("race", "deadlock-report"):
            return ("tsan", "report", text)
        return ("tsan", text, None)
    tool, sep, kind = (text or "").partition(":")
    if sep and tool in MEMORY_KINDS:
        if kind == "clean":
            return (tool, "clean", None)
        if kind in MEMORY_KINDS[tool]:
            return (tool, "report", kind)
    return None


def verdict_list(for_file):
    """Every verdict, in the order the messages list them."""
    verdicts = ["race", "clean", "deadlock-report"] if for_file else list(TSAN_VERDICTS)
    for tool, kinds in MEMORY_KINDS.items():
        verdicts += [f"{tool}:{k}" for k in kinds] + [f"{tool}:clean"]
    return verdicts


def report_verdicts_of(tool):
    return "race or deadlock-report" if tool == "tsan" else f"{tool}:<kind>"


# ---- the catalogue -----------------------------------------------------------

class Entry:
    """One catalogue line: a program, what it must get, and who must see it."""

    def __init__(self, name, variant, kind, expect, detectors, runs, timeout_s,
                 source=None, command=None, where="", crash_ok=False, build_dir=None):
        self.name, self.variant, self.kind, self.expect = name, variant, kind, expect
        self.tool, self.check, self.report_kind = parse_verdict(expect)
        self.detectors = detectors          # set of detector names that must flag it
        self.runs, self.timeout_s = runs, timeout_s
        self.source = source                # C file (kind c)
        self.command = command              # argv list (kind cmd), run from the repo root
        self.where = where                  # "catalogue.txt:12", for messages
        self.crash_ok = crash_ok            # a race whose run may crash (after TSan reported it)
        self.build_dir = build_dir or os.path.join(BUILD_DIR, name)

    @property
    def label(self):
        return f"{self.name}/{self.variant}"

    @property
    def family(self):
        return FAMILIES[self.tool]

    def binary(self, flavour):
        return os.path.join(self.build_dir, f"{self.variant}.{flavour}")


def default_runs(expect):
    tool, check, _ = parse_verdict(expect)
    if tool == "tsan":
        return DEFAULT_RUNS[expect]
    return DEFAULT_RUNS[f"{tool}:{'<kind>' if check == 'report' else check}"]


def parse_options(tokens, where):
    """A bare number (runs), then key=value options; returns (runs, timeout, crash_ok, rest)."""
    runs = timeout_s = None
    crash_ok = False
    i = 0
    if i < len(tokens) and tokens[i].isdigit():
        runs = int(tokens[i])
        i += 1
    while i < len(tokens):
        if tokens[i] == "crash=ok":
            crash_ok = True
            i += 1
            continue
        m = re.fullmatch(r"(runs|timeout)=(\d+(?:\.\d+)?)", tokens[i])
        if not m:
            break
        if m.group(1) == "runs":
            if not m.group(2).isdigit():
                raise InputError(f"{where}: runs must be a whole number")
            runs = int(m.group(2))
        else:
            timeout_s = float(m.group(2))
        i += 1
    if runs is not None and runs < 1:
        raise InputError(f"{where}: runs must be at least 1")
    return runs, timeout_s, crash_ok, tokens[i:]


def parse_catalogue(path):
    entries, seen = [], set()
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError as e:
        raise InputError(f"cannot read the catalogue {path}: {e.strerror}")
    base = os.path.basename(path)
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{base}:{number}"
        try:
            tokens = shlex.split(line)
        except ValueError as e:
            raise InputError(f"{where}: {e}")
        if len(tokens) < 5:
            raise InputError(f"{where}: expected at least 5 columns "
                             f"(name variant kind expect detectors), got {len(tokens)}")
        name, variant, kind, expect, dets = tokens[:5]
        if kind not in KINDS:
            raise InputError(f"{where}: kind '{kind}' is not one of {', '.join(KINDS)}")
        verdict = parse_verdict(expect)
        if verdict is None:
            raise InputError(f"{where}: verdict '{expect}' is not one of "
                             f"{', '.join(verdict_list(False))}")
        tool, check, _ = verdict
        detectors = set() if dets == "-" else set(dets.split(","))
        unknown = detectors - set(DETECTORS)
        if unknown:
            raise InputError(f"{where}: unknown detector(s) {', '.join(sorted(unknown))}; "
                             f"allowed: {', '.join(DETECTORS)} or -")
        foreign = detectors - set(FAMILIES[tool])
        if foreign:
            raise InputError(f"{where}: detector(s) {', '.join(sorted(foreign))} do not go with "
                             f"the verdict {expect}; allowed: {', '.join(FAMILIES[tool])} or -")
        if (tool in detectors) != (check == "report"):
            raise InputError(f"{where}: {tool} must be listed exactly when the verdict is "
                             f"{report_verdicts_of(tool)}")
        runs, timeout_s, crash_ok, rest = parse_options(tokens[5:], where)
        if crash_ok and expect != "race":
            raise InputError(f"{where}: crash=ok goes only with the verdict race")
        runs = runs or default_runs(expect)
        timeout_s = timeout_s or DEFAULT_TIMEOUT_S
        if (name, variant) in seen:
            raise InputError(f"{where}: {name}/{variant} is listed twice")
        seen.add((name, variant))
        if kind == "c":
            if rest:
                raise InputError(f"{where}: unexpected text after the options: {' '.join(rest)}")
            source = os.path.join(RACE_DIR, name, variant + ".c")
            if not os.path.isfile(source):
                raise InputError(f"{where}: no such program {os.path.relpath(source, REPO)}")
            entries.append(Entry(name, variant, kind, expect, detectors, runs, timeout_s,
                                 source=source, where=where, crash_ok=crash_ok))
        else:
            if not rest:
                raise InputError(f"{where}: a cmd entry needs a command after its options")
            entries.append(Entry(name, variant, kind, expect, detectors, runs, timeout_s,
                                 command=rest, where=where, crash_ok=crash_ok))
    return entries


def uncatalogued(entries):
    """C files under race/*/ that no catalogue line names."""
    listed = {os.path.realpath(e.source) for e in entries if e.source}
    missing = []
    for d in sorted(os.listdir(RACE_DIR)):
        folder = os.path.join(RACE_DIR, d)
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            p = os.path.join(folder, f)
            if f.endswith(".c") and os.path.realpath(p) not in listed:
                missing.append(os.path.relpath(p, REPO))
    return missing


def marked_lines(source):
    with open(source, encoding="utf-8", errors="replace") as f:
        return {n for n, text in enumerate(f, 1) if MARKER_RE.search(text)}


# ---- building ----------------------------------------------------------------

def compiler():
    cc = os.environ.get("CLANG", "clang")
    if shutil.which(cc) is None:
        raise EnvError(f"no {cc} on this machine (mk/deps.sh installs it)")
    return cc


class BuildError:
    """Why a program did not build: the stage ("does not compile", "does not link")
    and the compiler's or linker's first error, said plainly."""

    def __init__(self, stage, message):
        self.stage, self.message = stage, message

    def __str__(self):
        return f"{self.stage}: {self.message}"


def first_build_error(stderr, cc, status):
    lines = stderr.splitlines()
    if re.search(r"undefined reference to [`']main'", stderr):
        return BuildError("does not link", "it has no main() function; the checker runs a "
                          "whole program, so it needs one (e.g. int main(void))")
    undefined = next((l for l in lines if "undefined reference to" in l), None)
    if undefined:
        return BuildError("does not link", undefined[undefined.index("undefined reference"):].strip())
    first = next((l for l in lines if "error" in l),
                 lines[0] if lines else f"{cc} exited {status}")
    return BuildError("does not compile", first.strip())


def build(source, out, flavour, std="c11"):
    """Compile one C file for a flavour (tsan, asan, plain); returns None or a BuildError.
    The binary is written under a unique name and renamed into place, so two
    checkers building the same program never see half a file."""
    headers = [os.path.join(RACE_DIR, h) for h in os.listdir(RACE_DIR) if h.endswith(".h")]
    newest = max([os.path.getmtime(source)] + [os.path.getmtime(h) for h in headers])
    if os.path.exists(out) and os.path.getmtime(out) >= newest:
        return None
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(out) + ".", suffix=".tmp",
                               dir=os.path.dirname(out))
    os.close(fd)
    try:
        cmd = [compiler(), f"-std={std}"] + CFLAGS + FLAVOUR_FLAGS[flavour]
        cmd += ["-I", RACE_DIR, os.path.abspath(source), "-o", tmp]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace")
        if p.returncode != 0:
            error = first_build_error(p.stderr, cmd[0], p.returncode)
            if re.search(r"fsanitize|libclang_rt|cannot find -l", error.message):
                raise EnvError(f"cannot build with -fsanitize ({flavour}): {error.message}")
            return error
        os.replace(tmp, out)
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_RUNONE_LOCK = threading.Lock()


def ensure_runone():
    """Build race/runone.c, the helper every run goes through."""
    with _RUNONE_LOCK:
        error = build(RUNONE_SOURCE, RUNONE, "plain")
    if error:
        raise EnvError(f"cannot build race/runone.c: {error}")


# ---- running -------------------------------------------------------------------

class Capture:
    """A program's output, bounded: the first and the last OUTPUT_KEEP_BYTES, and
    how many bytes there were in all."""

    def __init__(self, keep=OUTPUT_KEEP_BYTES):
        self.keep, self.head, self.tail, self.total = keep, bytearray(), bytearray(), 0

    def add(self, chunk):
        self.total += len(chunk)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.keep:
                del self.tail[:len(self.tail) - self.keep]

    @property
    def cut_bytes(self):
        return self.total - len(self.head) - len(self.tail)

    def text(self):
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if self.cut_bytes:
            return f"{head}\n[... {self.cut_bytes} bytes of output cut ...]\n{tail}"
        return head + tail


class Run:
    """One run of one program: what it printed, what its tool reported, how it ended."""

    def __init__(self, output, logs, status, timed_out, wall_s, max_rss_kb,
                 leftovers=0, output_cut=0, log_cut=0):
        self.output = output          # the program's own output, bounded (see Capture)
        self.logs = logs              # [(file name, text)]: the tool's report files
        self.status, self.signal_name = status, signal_name(status)
        self.timed_out, self.wall_s, self.max_rss_kb = timed_out, wall_s, max_rss_kb
        self.leftovers = leftovers    # processes still alive when the program ended, killed
        self.output_cut, self.log_cut = output_cut, log_cut


def signal_name(status):
    if status >= 0:
        return None
    try:
        return signal.Signals(-status).name
    except ValueError:
        return f"signal {-status}"


def read_logs(log_dir):
    """The tool's report files in a run's private directory, at most LOG_LIMIT_BYTES."""
    logs, budget, cut = [], LOG_LIMIT_BYTES, 0
    for name in sorted(os.listdir(log_dir)):
        path = os.path.join(log_dir, name)
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                data = f.read(max(budget, 0))
        except OSError:
            continue
        budget -= len(data)
        cut += size - len(data)
        logs.append((name, data.decode("utf-8", errors="replace")))
    return logs, cut


def run_program(argv, timeout_s, env=None, log_dir=None):
    """Run argv from the repo root through race/runone: in a process group of its
    own, killed at the time limit, every leftover process killed and reaped.
    stdout and stderr are captured together, bounded; with log_dir, the tool's
    report files written there are read after the run."""
    run_dir = tempfile.mkdtemp(prefix="run-", dir=BUILD_DIR)
    report = os.path.join(run_dir, "report")
    try:
        cmd = [RUNONE, report, str(max(1, int(timeout_s * 1000)))] + list(argv)
        with _LIVE_LOCK:
            if _STOP.is_set():
                raise Interrupted()
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, cwd=REPO, env=env)
            except OSError as e:
                raise EnvError(f"cannot start {RUNONE}: {e.strerror}")
            _LIVE.add(proc)
        try:
            capture = Capture()
            finished = drain(proc, capture, time.monotonic() + timeout_s + BACKSTOP_S)
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
        if _STOP.is_set():
            raise Interrupted()
        if not finished:
            raise EnvError(f"race/runone did not end {BACKSTOP_S:g} s past the time limit "
                           f"of {argv[0]}; it was stopped")
        try:
            with open(report, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        if text.startswith("error="):
            raise EnvError(text[len("error="):].strip())
        m = re.search(r"status=(-?\d+) maxrss_kb=(\d+) wall_us=(\d+) timed_out=([01]) "
                      r"interrupted=([01]) leftovers=(\d+)", text)
        if not m:
            raise EnvError(f"race/runone did not report on {argv[0]} (exit {proc.returncode})")
        if m.group(5) == "1":
            raise EnvError(f"the run of {argv[0]} was interrupted")
        logs, log_cut = read_logs(log_dir) if log_dir else ([], 0)
        return Run(capture.text(), logs, os.waitstatus_to_exitcode(int(m.group(1))),
                   m.group(4) == "1", int(m.group(3)) / 1e6, int(m.group(2)),
                   leftovers=int(m.group(6)), output_cut=capture.cut_bytes, log_cut=log_cut)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def drain(proc, capture, backstop):
    """Read the helper's pipe to its end. runone ends the run at its own time limit;
    past the backstop it is asked to stop (SIGTERM: it still kills the run's
    processes), then killed. Returns False when it had to be stopped."""
    fd = proc.stdout.fileno()
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    stage = 0
    try:
        while True:
            left = backstop - time.monotonic()
            if left <= 0:
                if stage == 2:
                    break                  # give up on a pipe some process still holds
                (proc.terminate if stage == 0 else proc.kill)()
                stage += 1
                backstop = time.monotonic() + 5.0
                continue
            if not poller.poll(min(left, 1.0) * 1000):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            capture.add(chunk)
    finally:
        proc.stdout.close()
        proc.wait()
    return stage == 0


_SETARCH = None


def tsan_prefix():
    """`setarch <machine> -R` when it works here (a sandbox may forbid changing
    the personality); without it TSan usually still runs."""
    global _SETARCH
    if _SETARCH is None:
        cmd = ["setarch", platform.machine(), "-R"]
        try:
            ok = shutil.which("setarch") is not None and subprocess.run(
                cmd + ["true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        _SETARCH = cmd if ok else []
    return list(_SETARCH)


def sanitizer_path(path):
    """A log_path value for *SAN_OPTIONS, quoted: the options split on blanks and colons."""
    return '"' + path.replace('"', '') + '"'


def tool_run(tool, program, log_dir):
    """(argv, env) to run program (an argv list) under tool, its reports going to log_dir."""
    env = dict(os.environ)
    for var in ("TSAN_OPTIONS", "ASAN_OPTIONS", "LSAN_OPTIONS"):
        env.pop(var, None)
    if tool == "tsan":
        env["TSAN_OPTIONS"] = f"{TSAN_OPTIONS} log_path={sanitizer_path(os.path.join(log_dir, 'tsan'))}"
        return tsan_prefix() + program, env
    if tool == "asan":
        env["ASAN_OPTIONS"] = f"{ASAN_OPTIONS} log_path={sanitizer_path(os.path.join(log_dir, 'asan'))}"
        return program, env
    if tool in ("memcheck", "helgrind", "drd"):
        if shutil.which("valgrind") is None:
            raise EnvError("no valgrind on this machine (mk/deps.sh installs it)")
        log = os.path.join(log_dir.replace("%", "%%"), "valgrind.%p")   # %p: the pid
        args = ["valgrind", f"--tool={tool}", "--error-limit=no", f"--log-file={log}",
                "--fullpath-after="]
        return args + (MEMCHECK_ARGS if tool == "memcheck" else []) + program, env
    return program, env                                   # plain


def run_under(tool, program, timeout_s):
    """Run program (an argv list) under tool with a private report directory."""
    log_dir = tempfile.mkdtemp(prefix="log-", dir=BUILD_DIR)
    try:
        argv, env = tool_run(tool, program, log_dir)
        return run_program(argv, timeout_s, env, log_dir)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


# ---- reading the tools' reports -----------------------------------------------

class Report:
    """One report: its kind and, per stack, the line of the first frame in our own
    code (None when the compiler left that frame without a line number)."""

    def __init__(self, kind):
        self.kind = kind
        self.sites = []

    def lines(self):
        return sorted({ln for ln in self.sites if ln is not None})


TSAN_FRAME_RE = re.compile(r"^\s*#\d+ (.*)$")
ASAN_FRAME_RE = re.compile(r"^\s*#\d+ 0x[0-9a-fA-F]+ (?:in )?(.*)$")
VALGRIND_FRAME_RE = re.compile(r"^\s+(?:at|by) 0x[0-9A-Fa-f]+: (.*)$")
# What follows a frame's location and says nothing about our code: a build id, a
# module and offset "(prog.tsan+0x1234)", valgrind's "(in /usr/lib/libc.so.6)".
FRAME_TAIL_RE = re.compile(r"(?: \(BuildId: [0-9a-f]+\))?(?: \([^()]*\+0x[0-9a-fA-F]+\)| \(in [^()]*\))?$")


def frame_text(rx):
    """A frame parser: a line -> its function and location, or None if no frame."""
    def parse(line):
        m = rx.match(line.rstrip())
        return FRAME_TAIL_RE.sub("", m.group(1), count=1) if m else None
    return parse


def split_location(loc):
    """'path:line[:col]' -> (path, line); a bare path -> (path, None)."""
    lm = re.fullmatch(r"(.+?):(\d+)(?::\d+)?", loc)
    return (lm.group(1), int(lm.group(2))) if lm else (loc, None)


def own_locator(entry):
    """A function: a frame's text -> (in our own code?, line or None).

    For a C file, its own path is looked for in the frame text, so a path with
    blanks, quotes or parentheses is found whole. For a command, own code is
    any relative path or one under the repo, from the frame's last word (or
    valgrind's "(path:line)")."""
    if entry.source:
        paths = sorted({os.path.abspath(entry.source), os.path.realpath(entry.source)},
                       key=len, reverse=True)
        rx = re.compile("(?:" + "|".join(re.escape(p) for p in paths) +
                        r")(?::(\d+))?(?::\d+)?(?=[\s)]|$)")

        def locate(text):
            m = rx.search(text)
            return (True, int(m.group(1)) if m.group(1) else None) if m else (False, None)
        return locate
    root = os.path.realpath(REPO) + os.sep

    def locate(text):
        m = re.search(r"\(([^()]+)\)$", text)
        loc = m.group(1) if m else text.rsplit(" ", 1)[-1]
        path, line = split_location(loc)
        if path in ("<null>", "") or path.startswith("("):
            return (False, None)
        own = not os.path.isabs(path) or os.path.realpath(path).startswith(root)
        return (own, line if own else None)
    return locate


class Format:
    """How one tool writes its reports: where one starts (and of what kind), where
    it ends, what a stack frame looks like, which stacks only give context (where
    a block was allocated, a thread created) and so name no line of the bug, and
    how a crash or the tool's own failure reads."""

    def __init__(self, start, end, frame, skip_stack, crash, fatal, prefix=None):
        self.start, self.end, self.frame = start, end, frame
        self.skip_stack, self.crash, self.fatal, self.prefix = skip_stack, crash, fatal, prefix


TSAN_WARNING_RE = re.compile(r"WARNING: ThreadSanitizer: (.+?) \(pid=\d+\)")


def tsan_start(line):
    m = TSAN_WARNING_RE.search(line)
    return m.group(1) if m else None


ASAN_ERROR_RE = re.compile(r"ERROR: AddressSanitizer: (.+)")
# What ASan reports about a signal: the program crashed, that is no bug report.
ASAN_CRASH_KINDS = ("SEGV", "BUS", "FPE", "ILL", "ABRT", "stack-overflow")


def asan_start(line):
    if "ERROR: LeakSanitizer: detected memory leaks" in line:
        return "memory-leaks"
    m = ASAN_ERROR_RE.search(line)
    if not m:
        return None
    text = m.group(1)
    if text.startswith("attempting double-free"):
        return "double-free"
    if text.startswith("attempting free on address which was not malloc"):
        return "bad-free"
    kind = re.match(r"[\w-]+", text)
    kind = kind.group(0) if kind else text
    return None if kind in ASAN_CRASH_KINDS else kind


MEMCHECK_STARTS = [
    (re.compile(r"Invalid read of size"), "invalid-read"),
    (re.compile(r"Invalid write of size"), "invalid-write"),
    (re.compile(r"Invalid free\(\)"), "invalid-free"),
    (re.compile(r"Mismatched free\(\)"), "mismatched-free"),
    (re.compile(r"Conditional jump or move depends on uninitialised|Use of uninitialised value"
                r"|Syscall param .* uninitialised byte|contains uninitialised byte"),
     "uninitialised-value"),
    (re.compile(r"Source and destination overlap"), "overlap"),
    (re.compile(r"bytes in [\d,]+ blocks are definitely lost"), "definitely-lost"),
    (re.compile(r"bytes in [\d,]+ blocks are possibly lost"), "possibly-lost"),
]


def memcheck_start(line):
    if line.startswith(" "):
        return None           # inside a record: " Address ... is 0 bytes inside ..."
    for rx, kind in MEMCHECK_STARTS:
        if rx.search(line):
            return kind
    return None


def valgrind_prefix(line):
    """The text of a valgrind message line ("==PID== text"), or None for other lines."""
    m = re.match(r"==\d+== ?(.*)$", line)
    return m.group(1) if m else None


FORMATS = {
    "tsan": Format(
        start=tsan_start,
        end=lambda l: l.startswith("SUMMARY: ThreadSanitizer") or l.startswith("=================="),
        frame=frame_text(TSAN_FRAME_RE),
        skip_stack=lambda kind, header: kind != "thread leak" and bool(
            re.search(r"created by|created at|Location is|Cycle in lock order", header)),
        crash=re.compile(r"ERROR: ThreadSanitizer: (\S+) on"),
        fatal=re.compile(r"(FATAL: ThreadSanitizer.*|ThreadSanitizer: CHECK failed.*)")),
    "asan": Format(
        start=asan_start,
        end=lambda l: l.startswith("SUMMARY: AddressSanitizer"),
        frame=frame_text(ASAN_FRAME_RE),
        skip_stack=lambda kind, header: bool(re.search(
            r"allocated by thread|is located in stack of|is located in the global|created by"
            r"|Indirect leak of", header)),
        crash=re.compile(r"ERROR: AddressSanitizer: (SEGV|BUS|FPE|ILL|ABRT|stack-overflow) on"),
        fatal=re.compile(r"(AddressSanitizer: CHECK failed.*|ASan cannot proceed.*"
                         r"|LeakSanitizer has encountered a fatal error.*"
                         r"|LeakSanitizer does not work under ptrace.*)")),
    "memcheck": Format(
        start=memcheck_start,
        end=lambda l: l.strip() == "",
        frame=frame_text(VALGRIND_FRAME_RE),
        skip_stack=lambda kind, header: bool(re.search(r"alloc'd|was created by", header)),
        crash=re.compile(r"Process terminating with default action of signal \d+ \((SIG\w+)\)"),
        fatal=re.compile(r"(valgrind: Fatal error.*|valgrind: the 'impossible' happened.*"
                         r"|Valgrind's memory management: out of memory.*)"),
        prefix=valgrind_prefix),
}
ERROR_SUMMARY_RE = re.compile(r"ERROR SUMMARY: ([\d,]+) errors? from ([\d,]+) contexts?")


def parse_log(text, fmt, locate):
    """Returns (reports, crash signal name or None, fatal message or None)."""
    reports, report, header, stack_done = [], None, "", True
    for raw in text.splitlines():
        line = fmt.prefix(raw) if fmt.prefix else raw
        if line is None:
            continue
        kind = fmt.start(line)
        if kind is not None:
            report = Report(kind)
            reports.append(report)
            header, stack_done = "", False   # the first stack may follow at once
            continue
        if report is None:
            continue
        if fmt.end(line):
            report = None
            continue
        frame = fmt.frame(line)
        if frame is None:
            if line.strip():
                header, stack_done = line.strip(), False
            continue
        if stack_done:
            continue
        own, ln = locate(frame)
        if own and not fmt.skip_stack(report.kind, header):
            report.sites.append(ln)
            stack_done = True
    crash = fmt.crash.search(text)
    fatal = fmt.fatal.search(text)
    return reports, (crash.group(1) if crash else None), (fatal.group(1) if fatal else None)


def parse_run(tool, run, locate):
    """Every report of one run, from all its report files (a forked child writes
    its own); valgrind errors that no known kind matched count as kind 'other'."""
    reports, crash, fatal = [], None, None
    fmt = FORMATS[tool]
    for _, text in run.logs:
        reps, c, f = parse_log(text, fmt, locate)
        if tool == "memcheck":
            m = ERROR_SUMMARY_RE.findall(text)
            contexts = int(m[-1][1].replace(",", "")) if m else 0
            reps += [Report("other") for _ in range(contexts - len(reps))]
        reports += reps
        crash, fatal = crash or c, fatal or f
    return reports, crash, fatal


def program_result(run, had_reports):
    """'ok', 'wrong' or 'unknown', from the RESULT line or else the exit status."""
    verdicts = re.findall(r"^RESULT (ok|WRONG)\b", run.output, re.M)
    if verdicts:
        return "ok" if verdicts[-1] == "ok" else "wrong"
    if run.status == 0:
        return "ok"
    if run.status == 66 and had_reports:
        return "unknown"          # the sanitizer replaced the program's own status
    return "wrong"


# ---- judging -----------------------------------------------------------------

class Outcome:
    """Everything one entry's runs showed, and the verdict."""

    def __init__(self, entry):
        self.entry = entry
        self.runs = []
        self.reports = []          # per run: list of Report
        self.results = []          # per run: 'ok' | 'wrong' | 'unknown'
        self.crashes = []          # per run: signal name or None
        self.env_error = None
        self.build_error = None
        self.ok = False
        self.reason = ""
        self.saw = ""
        self.result_text = ""

    def add(self, run):
        reports, crash, fatal = parse_run(self.entry.tool, run, own_locator(self.entry))
        if fatal and not reports:
            self.env_error = fatal.strip()
        if crash is None and run.signal_name and not run.timed_out:
            crash = run.signal_name
        self.runs.append(run)
        self.reports.append(reports)
        self.crashes.append(crash)
        self.results.append(program_result(run, bool(reports)))

    def stop_early(self):
        """After a time-out or a crash more runs would only cost time."""
        if self.env_error:
            return True
        return any(r.timed_out for r in self.runs) and self.entry.check != "hang" or \
            any(self.crashes)


def describe_saw(outcome):
    n = len(outcome.runs)
    kinds = {}
    for reps in outcome.reports:
        for k in {r.kind for r in reps}:
            kinds[k] = kinds.get(k, 0) + 1
    if not kinds:
        return "nothing" if n else "-"
    lines = sorted({ln for reps in outcome.reports for r in reps for ln in r.lines()})
    unknown = any(ln is None for reps in outcome.reports for r in reps for ln in r.sites)
    where = ",".join(str(ln) for ln in lines) + (",?" if unknown else "")
    parts = [f"{short_kind(k)} {c}/{n}" for k, c in sorted(kinds.items())]
    return "; ".join(parts) + (f" at {where}" if where else "")


def short_kind(kind):
    return {LOCK_ORDER: "lock-order-inversion",
            "unlock of an unlocked mutex (or by a wrong thread)": "unlock by non-owner"}.get(kind, kind)


def describe_result(outcome):
    n = len(outcome.runs)
    timeouts = sum(r.timed_out for r in outcome.runs)
    crashes = [c for c in outcome.crashes if c]
    if timeouts:
        text = f"time-out {timeouts}/{n} (>{outcome.entry.timeout_s:g} s)"
    elif crashes:
        text = f"crash ({crashes[0]}) {len(crashes)}/{n}"
    else:
        counts = {k: outcome.results.count(k) for k in ("ok", "wrong", "unknown")}
        text = ", ".join(f"{label} {counts[k]}/{n}" for k, label in
                         (("ok", "ok"), ("wrong", "WRONG"), ("unknown", "unjudged")) if counts[k])
    cut = sum(1 for r in outcome.runs if r.output_cut)
    if cut:
        text += f"; output cut to its first and last {OUTPUT_KEEP_BYTES // 1024} KiB {cut}/{n}"
    if any(r.log_cut for r in outcome.runs):
        text += f"; report files cut at {LOG_LIMIT_BYTES // (1024 * 1024)} MiB"
    leftovers = sum(r.leftovers for r in outcome.runs)
    if leftovers:
        text += f"; killed {leftovers} leftover process{'es' if leftovers != 1 else ''}"
    return text


def judge(outcome):
    e = outcome.entry
    tool = TOOL_NAMES[e.tool]
    outcome.saw = describe_saw(outcome)
    outcome.result_text = describe_result(outcome)
    if outcome.build_error:
        outcome.saw, outcome.result_text = "-", "-"
        return fail(outcome, str(outcome.build_error))
    if outcome.env_error:
        return fail(outcome, f"environment error: {outcome.env_error}")
    n = len(outcome.runs)
    timeouts = sum(r.timed_out for r in outcome.runs)
    all_reports = [r for reps in outcome.reports for r in reps]
    if e.check == "hang":
        if timeouts != n:
            return fail(outcome, f"expected a hang, but {n - timeouts} of {n} runs ended")
        if all_reports:
            return fail(outcome, f"expected no {tool} report beside the hang")
        return succeed(outcome)
    # A racy program may crash or hang from its own race (memory corrupted by a
    # reference count freed twice): accepted only where the catalogue says so
    # (crash=ok) and TSan reported the race in that very run.
    explained = [bool(e.crash_ok and reps) for reps in outcome.reports]
    if any(r.timed_out and not ok for r, ok in zip(outcome.runs, explained)):
        return fail(outcome, f"timed out after {e.timeout_s:g} s")
    unexplained = [c for c, ok in zip(outcome.crashes, explained) if c and not ok]
    if unexplained:
        return fail(outcome, f"crashed ({unexplained[0]})")
    if e.check == "clean":
        if all_reports:
            return fail(outcome, f"{tool} reported {short_kind(all_reports[0].kind)}")
        bad = n - outcome.results.count("ok")
        if bad:
            return fail(outcome, f"wrong result in {bad} of {n} runs")
        return succeed(outcome)
    if e.check == "wrong-result":
        if all_reports:
            return fail(outcome, f"expected {tool} to be silent, it reported "
                                 f"{short_kind(all_reports[0].kind)}")
        if "wrong" not in outcome.results:
            return fail(outcome, f"expected a wrong result, all {n} runs were right")
        return succeed(outcome)
    # A report verdict: a report of the right kind, naming the marked lines.
    if e.report_kind == "deadlock-report":
        want, what = (lambda k: k == LOCK_ORDER), "a lock-order-inversion"
    elif e.report_kind == "race":
        want, what = (lambda k: k != LOCK_ORDER), "a race report"
    else:
        want, what = (lambda k: k == e.report_kind), f"a {e.report_kind} report"
    hits = [r for r in all_reports if want(r.kind)]
    if not hits:
        seen = short_kind(all_reports[0].kind) if all_reports else "nothing"
        return fail(outcome, f"expected {what} in at least one of {n} runs, {tool} saw {seen}")
    if e.tool != "tsan":
        others = sorted({r.kind for r in all_reports if not want(r.kind)})
        if others:
            return fail(outcome, f"{tool} also reported {', '.join(others)}")
    source = e.source
    if source:
        marks = marked_lines(source)
        if marks:
            named = {ln for r in hits for ln in r.lines()}
            unmarked = sorted(named - marks)
            if unmarked:
                return fail(outcome, "report names unmarked line(s) " +
                            ", ".join(f"{os.path.basename(source)}:{ln}" for ln in unmarked))
            if not named & marks:
                return fail(outcome, "no report names a marked line")
    return succeed(outcome)


def succeed(outcome):
    outcome.ok, outcome.reason = True, ""
    return outcome


def fail(outcome, reason):
    outcome.ok, outcome.reason = False, reason
    return outcome


# ---- the table -----------------------------------------------------------------

def print_table(header, rows, stream=sys.stdout):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*header).rstrip(), file=stream)
    print("-+-".join("-" * w for w in widths), file=stream)
    for r in rows:
        print(fmt.format(*[str(c) for c in r]).rstrip(), file=stream)
    stream.flush()


def verdict_text(outcome):
    return "ok" if outcome.ok else f"MISMATCH: {outcome.reason}"


def row(outcome):
    e = outcome.entry
    return [e.name, e.variant, e.expect, outcome.saw, outcome.result_text, verdict_text(outcome)]


TABLE_HEADER = ["exercise", "variant", "expected", "tool saw", "result check", "verdict"]


# ---- running a set of entries --------------------------------------------------

def program_argv(entry, flavour):
    return list(entry.command) if entry.kind == "cmd" else [entry.binary(flavour)]


def run_entries(entries, jobs):
    """Build every C entry, then run each entry's runs on a pool of `jobs` workers."""
    outcomes = [Outcome(e) for e in entries]
    ensure_runone()
    tsan_prefix()        # probe setarch once, before the workers start
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        builds = {pool.submit(build, o.entry.source, o.entry.binary(FLAVOUR[o.entry.tool]),
                              FLAVOUR[o.entry.tool]): o
                  for o in outcomes if o.entry.kind == "c" and o.build_error is None}
        for fut in concurrent.futures.as_completed(builds):
            builds[fut].build_error = fut.result()     # EnvError propagates
        locks = {id(o): threading.Lock() for o in outcomes}

        def one_run(o):
            with locks[id(o)]:
                if o.stop_early() or _STOP.is_set():
                    return
            e = o.entry
            r = run_under(e.tool, program_argv(e, FLAVOUR[e.tool]), e.timeout_s)
            with locks[id(o)]:
                o.add(r)

        futures = []
        # Interleave entries so two workers rarely run the same program at once.
        todo = [(o, o.entry.runs) for o in outcomes if not o.build_error]
        most = max([n for _, n in todo], default=0)
        for i in range(most):
            for o, n in todo:
                if i < n:
                    futures.append(pool.submit(one_run, o))
        for fut in futures:
            fut.result()
    for o in outcomes:
        judge(o)
        if o.env_error:
            raise EnvError(f"{o.entry.label}: {o.env_error}")
    return outcomes


def main_catalogue(args):
    entries = parse_catalogue(args.catalogue)
    if args.only:
        entries = [e for e in entries if e.label == args.only or e.name == args.only]
        if not entries:
            raise InputError(f"no catalogue entry named {args.only}")
    missing = [] if args.only or args.catalogue != CATALOGUE else uncatalogued(entries)
    total_runs = sum(e.runs for e in entries)
    tools = ", ".join(TOOL_NAMES[t] for t in ("tsan", "asan", "memcheck")
                      if any(e.tool == t for e in entries))
    print(f"race: {len(entries)} programs, {total_runs} runs under {tools or 'no tool'} "
          f"on {args.jobs} workers", file=sys.stderr, flush=True)
    start = time.monotonic()
    outcomes = run_entries(entries, args.jobs)
    rows = [row(o) for o in outcomes]
    rows += [[p, "-", "-", "-", "-", "MISMATCH: not in race/catalogue.txt"] for p in missing]
    print_table(TABLE_HEADER, rows)
    passed = sum(o.ok for o in outcomes)
    failed = len(outcomes) - passed + len(missing)
    print(f"race: {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


def main_file(args):
    path, expect = args.file, args.expect
    if args.from_env:
        path = os.environ.get("RACE_CHECK_FILE", "")
        expect = os.environ.get("RACE_CHECK_EXPECT", "")
    allowed = verdict_list(True)
    if path is None or path.strip() == "":
        raise InputError("no FILE given; usage: make race-check FILE=path/to/prog.c "
                         "EXPECT=race|clean|deadlock-report|asan:KIND|memcheck:KIND|...; "
                         f"allowed EXPECT: {', '.join(allowed)}")
    if expect not in allowed:
        raise InputError(f"unknown EXPECT '{expect or ''}'; allowed: {', '.join(allowed)}")
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise InputError(f"{path}: not a regular file")
    source = os.path.abspath(path)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(os.path.basename(path))[0]) or "prog"
    tool, check, _ = parse_verdict(expect)
    flavour = FLAVOUR[tool]
    ensure_runone()
    # A directory of its own for every check: two checks at once, even of two
    # files with the same name, never share a binary. Removed afterwards.
    files_dir = os.path.join(BUILD_DIR, "file")
    os.makedirs(files_dir, exist_ok=True)
    build_dir = tempfile.mkdtemp(prefix=stem + "-", dir=files_dir)
    try:
        entry = Entry(stem, "file", "c", expect, {tool} if check == "report" else set(),
                      args.runs or default_runs(expect), args.timeout or DEFAULT_TIMEOUT_S,
                      source=source, where=path, build_dir=build_dir)
        error = build(source, entry.binary(flavour), flavour, std="gnu11")
        if error:
            raise InputError(f"{path} {error}")
        outcome = run_entries([entry], args.jobs)[0]
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    print_table(TABLE_HEADER, [row(outcome)])
    return 0 if outcome.ok else 1


# ---- the detector scorecard ------------------------------------------------------

HELGRIND_KINDS = [
    (re.compile(r"Possible data race"), "data race"),
    (re.compile(r"lock order .* violated"), "lock order"),
    (re.compile(r"unlocked a not-locked lock|unlocked lock .* currently held by"), "unlock by non-owner"),
    (re.compile(r"Exiting thread still holds"), "exit holding lock"),
    (re.compile(r"pthread_cond_\w+.*(?:dubious|un-held|invalid)"), "condvar misuse"),
    (re.compile(r"pthread_\w+ failed with error"), "pthread error"),
]
DRD_KINDS = [
    (re.compile(r"Conflicting (?:load|store)"), "data race"),
    (re.compile(r"Mutex not locked|not locked by calling thread"), "unlock by non-owner"),
    (re.compile(r"Probably a race condition: condition variable"), "condvar misuse"),
    (re.compile(r"is not a mutex|Destroying locked mutex|Mutex reinitialization"), "mutex misuse"),
    (re.compile(r"Semaphore"), "semaphore misuse"),
]


def detector_seen(det, entry, run):
    """(flagged: True/False, or None when the tool could not say; report kinds)."""
    if det in FORMATS:
        reports, _, _ = parse_run(det, run, own_locator(entry))
        if det == "memcheck" and not any(ERROR_SUMMARY_RE.search(t) for _, t in run.logs):
            return None, []
        return bool(reports), sorted({short_kind(r.kind) for r in reports})
    text = "\n".join(t for _, t in run.logs)
    m = ERROR_SUMMARY_RE.findall(text)
    if not m:
        return None, []
    table = HELGRIND_KINDS if det == "helgrind" else DRD_KINDS
    kinds = sorted({k for rx, k in table if rx.search(text)})
    n = sum(int(errors.replace(",", "")) for errors, _ in m)
    if n and not kinds:
        kinds = ["other"]
    return n > 0, kinds


def score_outcome(entry, flagged):
    if flagged is None:
        return "time-out"
    if entry.check == "report":
        return "TP" if flagged else "FN"
    if entry.check == "clean":
        return "FP" if flagged else "TN"
    return "flagged" if flagged else "silent"   # wrong-result, hang: invisible to all, by design


def main_score(args):
    catalogue = parse_catalogue(args.catalogue)
    entries = [e for e in catalogue if e.kind == "c"]
    skipped = [e for e in catalogue if e.kind != "c"]
    if args.only:
        entries = [e for e in entries if e.label == args.only or e.name == args.only]
    if shutil.which("valgrind") is None:
        raise EnvError("no valgrind on this machine (mk/deps.sh installs it)")
    print(f"race-score: {len(entries)} programs: the race ones x plain, tsan, helgrind, drd; "
          "the memory ones x plain, asan, memcheck", file=sys.stderr, flush=True)
    start = time.monotonic()
    os.makedirs(BUILD_DIR, exist_ok=True)
    ensure_runone()
    tsan_prefix()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futs = []
        for e in entries:
            for flavour in ("plain", e.family[0]):
                futs.append(pool.submit(build, e.source, e.binary(flavour), flavour))
        for f in futs:
            err = f.result()
            if err:
                raise InputError(f"catalogue program {err}")
        # Timing runs first, one at a time, with nothing else on the machine (two
        # side by side, or beside valgrind, would disturb each other); then the
        # slow valgrind runs on the pool.
        timing = {}
        reps = 1 if args.quick else 3
        for e in entries:
            for det in ("plain", e.family[0]):
                runs = [run_under(det, [e.binary(FLAVOUR[det])], e.timeout_s)
                        for _ in range(1 if e.check == "hang" else reps)]
                timing[(e.label, det)] = runs
        vg = {}
        for e in entries:
            for det in e.family[1:]:
                limit = max(3 * e.timeout_s, 30.0) if e.check != "hang" else e.timeout_s + 5
                # A buggy program gets up to 3 runs, as under TSan: valgrind's
                # serialised schedule decides what a detector can see.
                n = min(e.runs, 3) if e.check == "report" else 1
                vg[(e.label, det)] = [pool.submit(run_under, det, [e.binary("plain")], limit)
                                      for _ in range(n)]
        vg = {k: [f.result() for f in fs] for k, fs in vg.items()}

    rows, tables = [], {"tsan": [], "asan": []}
    totals = {d: {"TP": 0, "FN": 0, "FP": 0, "TN": 0, "silent": 0, "flagged": 0, "time-out": 0,
                  "as catalogued": 0, "not as catalogued": 0} for d in DETECTORS}
    for e in entries:
        plain = min(timing[(e.label, "plain")], key=lambda r: r.wall_s)
        plain_rss = max(r.max_rss_kb for r in timing[(e.label, "plain")])
        cells = {}
        for det in ("plain",) + e.family:
            runs = timing[(e.label, det)] if det in ("plain", e.family[0]) else vg[(e.label, det)]
            if det == "plain":
                flagged, kinds, seen = None, [], []
            else:
                looks = [detector_seen(det, e, r) for r in runs]
                seen = [bool(f) for f, _ in looks if f is not None]
                kinds = sorted({k for _, ks in looks for k in ks})
                flagged = any(seen) if seen else None
                if flagged is None and e.check == "hang" and all(r.timed_out for r in runs):
                    flagged = False      # a hang is a hang: nothing was reported before it
            best = min(runs, key=lambda r: r.wall_s)
            rss = max(r.max_rss_kb for r in runs)
            result = "time-out" if best.timed_out else \
                program_result(best, bool(flagged)) if det != "plain" else program_result(best, False)
            outcome = "" if det == "plain" else score_outcome(e, flagged)
            catalogued = det in e.detectors
            as_cat = "" if det == "plain" or flagged is None else ("yes" if flagged == catalogued else "no")
            if det != "plain":
                totals[det][outcome] += 1
                if as_cat:
                    totals[det]["as catalogued" if as_cat == "yes" else "not as catalogued"] += 1
            slow = best.wall_s / plain.wall_s if plain.wall_s > 0 else 0.0
            mem = rss / plain_rss if plain_rss else 0.0
            cells[det] = (outcome, flagged, best, rss, slow, mem)
            rows.append({
                "exercise": e.name, "variant": e.variant, "expected": e.expect, "detector": det,
                "catalogued_to_see": "" if det == "plain" else ("yes" if catalogued else "no"),
                "flagged": "" if flagged is None else int(bool(flagged)),
                "runs": len(runs), "flagged_runs": sum(seen) if det != "plain" else "",
                "report_kinds": ";".join(kinds), "outcome": outcome, "as_catalogued": as_cat,
                "result": result, "exit_status": best.status, "timed_out": int(best.timed_out),
                "wall_s": f"{best.wall_s:.4f}", "max_rss_kb": rss,
                "slowdown_x": f"{slow:.2f}", "rss_ratio_x": f"{mem:.2f}",
            })

        def mark(det):
            outcome, flagged = cells[det][0], cells[det][1]
            if flagged is None:
                return outcome
            listed = det in e.detectors
            return outcome + ("" if bool(flagged) == listed else "*" if flagged else "!")
        hang = e.check == "hang"     # wall time is the time limit: no ratio to show
        san = cells[e.family[0]]
        line = [e.name, e.variant, e.expect] + [mark(d) for d in e.family]
        line += ["-" if hang else f"{plain.wall_s * 1000:.1f}",
                 "-" if hang else f"{san[4]:.1f}x", "-" if hang else f"{san[5]:.1f}x"]
        line += ["-" if hang else f"{cells[d][4]:.0f}x" for d in e.family[1:]]
        tables["tsan" if e.tool == "tsan" else "asan"].append(line)
    if tables["tsan"]:
        print_table(["exercise", "variant", "expected", "tsan", "helgrind", "drd", "plain ms",
                     "tsan time", "tsan mem", "helgrind time", "drd time"], tables["tsan"])
        print()
    if tables["asan"]:
        print_table(["exercise", "variant", "expected", "asan", "memcheck", "plain ms",
                     "asan time", "asan mem", "memcheck time"], tables["asan"])
    print("(* flagged though the catalogue does not list the detector; "
          "! listed in the catalogue but not flagged)")
    print()
    sums = []
    for det in DETECTORS:
        c = totals[det]
        if not any(c.values()):
            continue
        sums.append([det, c["TP"], c["FN"], c["FP"], c["TN"], c["silent"], c["flagged"],
                     c["time-out"], f"{c['as catalogued']}/{c['as catalogued'] + c['not as catalogued']}"])
    print_table(["detector", "TP", "FN", "FP", "TN", "silent bugs unseen", "silent bugs flagged",
                 "time-outs", "as catalogued"], sums)
    print()
    for san in ("tsan", "asan"):
        timed = [r for r in rows if r["detector"] == san and r["expected"] != "hang"
                 and not r["timed_out"]]
        sl = sorted(float(r["slowdown_x"]) for r in timed)
        me = sorted(float(r["rss_ratio_x"]) for r in timed)
        if sl and me:
            print(f"{TOOL_NAMES[san]} vs plain: slowdown median {sl[len(sl) // 2]:.1f}x "
                  f"(range {sl[0]:.1f}-{sl[-1]:.1f}x), max RSS median {me[len(me) // 2]:.1f}x "
                  f"(range {me[0]:.1f}-{me[-1]:.1f}x)")
    for e in skipped:
        print(f"(skipped {e.label}: cmd entries run under their own tool only, see race/README.md)")
    write_csv(rows)
    print(f"race-score: wrote {os.path.relpath(RESULTS_CSV, REPO)} ({len(rows)} rows) in "
          f"{time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return 0


CSV_COLUMNS = ["exercise", "variant", "expected", "detector", "catalogued_to_see", "flagged",
               "runs", "flagged_runs", "report_kinds", "outcome", "as_catalogued", "result", "exit_status", "timed_out",
               "wall_s", "max_rss_kb", "slowdown_x", "rss_ratio_x"]


def write_csv(rows):
    os.makedirs(os.path.dirname(RESULTS_CSV), exist_ok=True)
    tmp = RESULTS_CSV + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, RESULTS_CSV)   # a reader never sees half a file


# ---- command line ----------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(
        prog="race/check.py",
        description="Build, run and judge racy and fixed pthread programs under ThreadSanitizer, "
                    "and memory-error programs under AddressSanitizer and valgrind's memcheck.")
    p.add_argument("--file", help="check one C file instead of the catalogue")
    p.add_argument("--expect", help=f"with --file: {', '.join(verdict_list(True))}")
    p.add_argument("--from-env", action="store_true",
                   help="check the file RACE_CHECK_FILE against RACE_CHECK_EXPECT "
                        "(both from the environment, as make race-check passes them)")
    p.add_argument("--score", action="store_true",
                   help="helgrind/DRD/memcheck scorecard and sanitizer overheads -> results/race.csv")
    p.add_argument("--quick", action="store_true", help="with --score: one timing run, not three")
    p.add_argument("--catalogue", default=CATALOGUE, help="catalogue file (default race/catalogue.txt)")
    p.add_argument("--only", help="only the entries named NAME or NAME/VARIANT")
    p.add_argument("--jobs", type=int, default=2, help="programs run at once (default 2)")
    p.add_argument("--runs", type=int, help="with --file: runs (default 3, or 20 for clean; "
                                            "1 for a memory verdict)")
    p.add_argument("--timeout", type=float, help=f"with --file: seconds per run (default {DEFAULT_TIMEOUT_S:g})")
    args = p.parse_args(argv)
    args.jobs = max(1, args.jobs)
    single = args.file is not None or args.expect is not None or args.from_env

    caught = []

    def on_signal(signum, frame):
        caught.append(signum)
        stop_runs()
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        os.makedirs(BUILD_DIR, exist_ok=True)
        if single:
            return main_file(args)
        if args.score:
            return main_score(args)
        return main_catalogue(args)
    except InputError as e:
        print(f"race-check: {e}", file=sys.stderr, flush=True)
        if not single and not args.score:
            print("0 passed, 1 failed", flush=True)
        return 2
    except EnvError as e:
        print(f"race: environment error: {e}", file=sys.stderr, flush=True)
        if not single and not args.score:
            print("0 passed, 1 failed", flush=True)
        return 2
    except (KeyboardInterrupt, Interrupted):
        stop_runs()
        print("race: interrupted; every run was stopped and its processes killed",
              file=sys.stderr, flush=True)
        return 128 + (caught[0] if caught else signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
