#!/usr/bin/env python3
"""race/check.py - build, run and judge the race catalogue under ThreadSanitizer.

  race/check.py                          every catalogue entry; a table, then "N passed, N failed"
  race/check.py --file F --expect E      one single-file C program (E: race, clean, deadlock-report)
  race/check.py --score                  helgrind and DRD against the catalogue, TSan's time and
                                         memory overhead; a table and results/race.csv

Every program is built with clang -fsanitize=thread into build/race/ and run under
`setarch <machine> -R` (no ASLR, so TSan never meets "unexpected memory mapping"),
with a time limit, on a small pool of workers. A verdict rests on TSan's own words:
a "WARNING: ThreadSanitizer:" line, never the exit status alone (TSan exits 66 on a
report, but also on its start-up failures, which are environment errors here).

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

VERDICTS = ("race", "deadlock-report", "clean", "wrong-result", "hang")
FILE_EXPECTS = ("race", "clean", "deadlock-report")
DETECTORS = ("tsan", "helgrind", "drd")
KINDS = ("c", "cmd")
# Runs per entry unless the catalogue says otherwise. A fixed variant must stay
# clean and correct over many runs; a racy one needs a report in at least one.
DEFAULT_RUNS = {"race": 3, "deadlock-report": 3, "clean": 20, "wrong-result": 3, "hang": 1}
DEFAULT_TIMEOUT_S = 10.0
TSAN_OPTIONS = "halt_on_error=0 exitcode=66 second_deadlock_stack=1 report_thread_leaks=1"
CFLAGS = ["-Wall", "-Wextra", "-g", "-O1", "-pthread"]
# Comment words that mark the lines a report of a buggy variant must name.
MARKER_RE = re.compile(r"/\*\s*(RACE|DEADLOCK|LEAK|MISUSE)\b")
LOCK_ORDER = "lock-order-inversion (potential deadlock)"


class EnvError(Exception):
    """The machine cannot run the check (no compiler, TSan fails to start, ...)."""


class InputError(Exception):
    """The user's input is wrong (bad catalogue line, missing file, ...)."""


# ---- the catalogue -----------------------------------------------------------

class Entry:
    """One catalogue line: a program, what it must get, and who must see it."""

    def __init__(self, name, variant, kind, expect, detectors, runs, timeout_s,
                 source=None, command=None, where="", crash_ok=False):
        self.name, self.variant, self.kind, self.expect = name, variant, kind, expect
        self.detectors = detectors          # set of detector names that must flag it
        self.runs, self.timeout_s = runs, timeout_s
        self.source = source                # C file (kind c)
        self.command = command              # argv list (kind cmd), run from the repo root
        self.where = where                  # "catalogue.txt:12", for messages
        self.crash_ok = crash_ok            # a race whose run may crash (after TSan reported it)

    @property
    def label(self):
        return f"{self.name}/{self.variant}"

    def binary(self, flavour):
        return os.path.join(BUILD_DIR, self.name, f"{self.variant}.{flavour}")


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
        if expect not in VERDICTS:
            raise InputError(f"{where}: verdict '{expect}' is not one of {', '.join(VERDICTS)}")
        detectors = set() if dets == "-" else set(dets.split(","))
        unknown = detectors - set(DETECTORS)
        if unknown:
            raise InputError(f"{where}: unknown detector(s) {', '.join(sorted(unknown))}; "
                             f"allowed: {', '.join(DETECTORS)} or -")
        if ("tsan" in detectors) != (expect in ("race", "deadlock-report")):
            raise InputError(f"{where}: tsan must be listed exactly when the verdict is "
                             "race or deadlock-report")
        runs, timeout_s, crash_ok, rest = parse_options(tokens[5:], where)
        if crash_ok and expect != "race":
            raise InputError(f"{where}: crash=ok goes only with the verdict race")
        runs = runs or DEFAULT_RUNS[expect]
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


def build(source, out, sanitize, std="c11"):
    """Compile one C file; returns None, or the compiler's first error line."""
    headers = [os.path.join(RACE_DIR, h) for h in os.listdir(RACE_DIR) if h.endswith(".h")]
    newest = max([os.path.getmtime(source)] + [os.path.getmtime(h) for h in headers])
    if os.path.exists(out) and os.path.getmtime(out) >= newest:
        return None
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = [compiler(), f"-std={std}"] + CFLAGS + (["-fsanitize=thread"] if sanitize else [])
    cmd += ["-I", RACE_DIR, os.path.abspath(source), "-o", out + ".tmp"]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if p.returncode != 0:
        lines = p.stderr.splitlines()
        first = next((l for l in lines if "error" in l), lines[0] if lines else
                     f"{cmd[0]} exited {p.returncode}")
        if "fsanitize" in first or "libclang_rt" in first or "cannot find" in first:
            raise EnvError(f"cannot build with ThreadSanitizer: {first}")
        return first.strip()
    os.replace(out + ".tmp", out)
    return None


# ---- running -------------------------------------------------------------------

class Run:
    """One run of one program: what it printed and how it ended."""

    def __init__(self, output, status, signal_name, timed_out, wall_s, max_rss_kb):
        self.output, self.status, self.signal_name = output, status, signal_name
        self.timed_out, self.wall_s, self.max_rss_kb = timed_out, wall_s, max_rss_kb


def run_program(argv, timeout_s, env=None, measure=None):
    """Run argv from the repo root with a time limit; the whole process group is
    killed at the limit. With measure (the path of the built race/measure.c), the
    program runs under that helper, which reports its exit status and peak RSS;
    without it max_rss_kb is wait4's figure, which includes this driver's own
    peak (see measure.c), so only --score asks for it."""
    report = None
    if measure:
        fd, report = tempfile.mkstemp(prefix="measure-", dir=BUILD_DIR)
        os.close(fd)
        argv = [measure, report] + list(argv)
    try:
        run = _run_program(argv, timeout_s, env)
        if report:
            with open(report, encoding="ascii") as f:
                m = re.search(r"status=(-?\d+) maxrss_kb=(\d+)", f.read())
            if m:
                run.status = os.waitstatus_to_exitcode(int(m.group(1)))
                run.max_rss_kb = int(m.group(2))
                run.signal_name = signal_name(run.status)
        return run
    finally:
        if report:
            os.unlink(report)


def signal_name(status):
    if status >= 0:
        return None
    try:
        return signal.Signals(-status).name
    except ValueError:
        return f"signal {-status}"


def _run_program(argv, timeout_s, env=None):
    with tempfile.TemporaryFile() as out:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=REPO, env=env,
                                    start_new_session=True)
        except OSError as e:
            raise EnvError(f"cannot start {argv[0]}: {e.strerror}")
        fired = threading.Event()

        def kill():
            fired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.monotonic() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    return Run(text, proc.returncode, signal_name(proc.returncode), fired.is_set(), wall_s,
               usage.ru_maxrss)


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


def tsan_env():
    env = dict(os.environ)
    env["TSAN_OPTIONS"] = TSAN_OPTIONS
    return env


# ---- reading TSan's reports --------------------------------------------------

WARNING_RE = re.compile(r"WARNING: ThreadSanitizer: (.+?) \(pid=\d+\)")
FRAME_RE = re.compile(r"^\s*#\d+ (\S+) (\S+)(?: \(.*\))?$")
CRASH_RE = re.compile(r"ERROR: ThreadSanitizer: (\S+) on")
FATAL_RE = re.compile(r"(FATAL: ThreadSanitizer.*|ThreadSanitizer: CHECK failed.*)")
SKIP_STACK_RE = re.compile(r"created by|created at|Location is|Cycle in lock order")


class Report:
    """One TSan warning: its kind and, per stack, the first frame in our own code."""

    def __init__(self, kind):
        self.kind = kind
        self.sites = []       # (path, line or None)

    def lines(self):
        return sorted({ln for _, ln in self.sites if ln is not None})


def parse_frame(text):
    text = re.sub(r" \(BuildId: [0-9a-f]+\)$", "", text.rstrip())
    m = FRAME_RE.match(text)
    if not m:
        return None
    loc = m.group(2)
    if loc == "<null>":
        return (None, None)
    lm = re.fullmatch(r"(.+?):(\d+)(?::\d+)?", loc)
    return (lm.group(1), int(lm.group(2))) if lm else (loc, None)


def parse_tsan(output, is_own):
    """Returns (reports, crash signal name or None, fatal message or None)."""
    reports, report, header, stack_done = [], None, None, True
    for line in output.splitlines():
        m = WARNING_RE.search(line)
        if m:
            report = Report(m.group(1))
            reports.append(report)
            header, stack_done = "", False   # the first stack may follow at once
            continue
        if report is None:
            continue
        if line.startswith("SUMMARY: ThreadSanitizer") or line.startswith("=================="):
            report = None
            continue
        frame = parse_frame(line) if line.lstrip().startswith("#") else None
        if frame is None:
            if line.strip():
                header, stack_done = line.strip(), False
            continue
        if stack_done:
            continue
        keep = report.kind == "thread leak" or not SKIP_STACK_RE.search(header)
        path, ln = frame
        if keep and path is not None and is_own(path):
            report.sites.append((path, ln))
            stack_done = True
    crash = CRASH_RE.search(output)
    fatal = FATAL_RE.search(output)
    return reports, (crash.group(1) if crash else None), (fatal.group(1) if fatal else None)


def own_predicate(entry):
    if entry.source:
        target = os.path.realpath(entry.source)
        return lambda p: os.path.realpath(p) == target
    root = os.path.realpath(REPO) + os.sep
    return lambda p: not os.path.isabs(p) or os.path.realpath(p).startswith(root)


def program_result(run, had_reports):
    """'ok', 'wrong' or 'unknown', from the RESULT line or else the exit status."""
    verdicts = re.findall(r"^RESULT (ok|WRONG)\b", run.output, re.M)
    if verdicts:
        return "ok" if verdicts[-1] == "ok" else "wrong"
    if run.status == 0:
        return "ok"
    if run.status == 66 and had_reports:
        return "unknown"          # TSan replaced the program's own status
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
        reports, crash, fatal = parse_tsan(run.output, own_predicate(self.entry))
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
        return any(r.timed_out for r in self.runs) and self.entry.expect != "hang" or \
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
    unknown = any(ln is None for reps in outcome.reports for r in reps for _, ln in r.sites)
    where = ",".join(str(ln) for ln in lines) + (",?" if unknown else "")
    parts = [f"{short_kind(k)} {c}/{n}" for k, c in sorted(kinds.items())]
    return "; ".join(parts) + (f" at {where}" if where else "")


def short_kind(kind):
    return {LOCK_ORDER: "lock-order-inversion",
            "unlock of an unlocked mutex (or by a wrong thread)": "unlock by non-owner"}.get(kind, kind)


def describe_result(outcome):
    n = len(outcome.runs)
    timeouts = sum(r.timed_out for r in outcome.runs)
    if timeouts:
        return f"time-out {timeouts}/{n} (>{outcome.entry.timeout_s:g} s)"
    crashes = [c for c in outcome.crashes if c]
    if crashes:
        return f"crash ({crashes[0]}) {len(crashes)}/{n}"
    counts = {k: outcome.results.count(k) for k in ("ok", "wrong", "unknown")}
    parts = [f"{label} {counts[k]}/{n}" for k, label in
             (("ok", "ok"), ("wrong", "WRONG"), ("unknown", "unjudged")) if counts[k]]
    return ", ".join(parts)


def judge(outcome):
    e = outcome.entry
    outcome.saw = describe_saw(outcome)
    outcome.result_text = describe_result(outcome)
    if outcome.build_error:
        outcome.saw, outcome.result_text = "-", "-"
        return fail(outcome, f"does not compile: {outcome.build_error}")
    if outcome.env_error:
        return fail(outcome, f"environment error: {outcome.env_error}")
    n = len(outcome.runs)
    timeouts = sum(r.timed_out for r in outcome.runs)
    crashes = [c for c in outcome.crashes if c]
    all_reports = [r for reps in outcome.reports for r in reps]
    if e.expect == "hang":
        if timeouts != n:
            return fail(outcome, f"expected a hang, but {n - timeouts} of {n} runs ended")
        if all_reports:
            return fail(outcome, "expected no TSan report beside the hang")
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
    if e.expect == "clean":
        if all_reports:
            return fail(outcome, f"TSan reported {short_kind(all_reports[0].kind)}")
        bad = n - outcome.results.count("ok")
        if bad:
            return fail(outcome, f"wrong result in {bad} of {n} runs")
        return succeed(outcome)
    if e.expect == "wrong-result":
        if all_reports:
            return fail(outcome, f"expected TSan to be silent, it reported "
                                 f"{short_kind(all_reports[0].kind)}")
        if "wrong" not in outcome.results:
            return fail(outcome, f"expected a wrong result, all {n} runs were right")
        return succeed(outcome)
    # race / deadlock-report: a report of the right family, naming the marked lines.
    want = (lambda k: k == LOCK_ORDER) if e.expect == "deadlock-report" else (lambda k: k != LOCK_ORDER)
    hits = [r for r in all_reports if want(r.kind)]
    if not hits:
        seen = short_kind(all_reports[0].kind) if all_reports else "nothing"
        what = "a lock-order-inversion" if e.expect == "deadlock-report" else "a race report"
        return fail(outcome, f"expected {what} in at least one of {n} runs, TSan saw {seen}")
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


TABLE_HEADER = ["exercise", "variant", "expected", "TSan saw", "result check", "verdict"]


# ---- running a set of entries --------------------------------------------------

def tsan_argv(entry):
    if entry.kind == "cmd":
        return tsan_prefix() + entry.command
    return tsan_prefix() + [entry.binary("tsan")]


def run_entries(entries, jobs, runs_override=None):
    """Build every C entry, then run each entry's runs on a pool of `jobs` workers."""
    outcomes = [Outcome(e) for e in entries]
    tsan_prefix()        # probe setarch once, before the workers start
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        builds = {pool.submit(build, o.entry.source, o.entry.binary("tsan"), True): o
                  for o in outcomes if o.entry.kind == "c"}
        for fut in concurrent.futures.as_completed(builds):
            builds[fut].build_error = fut.result()     # EnvError propagates
        env = tsan_env()
        locks = {id(o): threading.Lock() for o in outcomes}

        def one_run(o):
            with locks[id(o)]:
                if o.stop_early():
                    return
            r = run_program(tsan_argv(o.entry), o.entry.timeout_s, env)
            with locks[id(o)]:
                o.add(r)

        futures = []
        # Interleave entries so two workers rarely run the same program at once.
        todo = [(o, runs_override or o.entry.runs) for o in outcomes if not o.build_error]
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
    print(f"race: {len(entries)} programs, {total_runs} runs under ThreadSanitizer "
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
    path = args.file
    if path is None or path.strip() == "":
        raise InputError("no FILE given; usage: make race-check FILE=path/to/prog.c "
                         f"EXPECT={'|'.join(FILE_EXPECTS)}")
    if args.expect not in FILE_EXPECTS:
        raise InputError(f"unknown EXPECT '{args.expect or ''}'; allowed: {', '.join(FILE_EXPECTS)}")
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise InputError(f"{path}: not a regular file")
    source = os.path.abspath(path)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(os.path.basename(path))[0]) or "prog"
    entry = Entry(stem, "file", "c", args.expect, {"tsan"},
                  args.runs or DEFAULT_RUNS[args.expect], args.timeout or DEFAULT_TIMEOUT_S,
                  source=source, where=path)
    out = os.path.join(BUILD_DIR, "file", stem + ".tsan")
    if os.path.exists(out):
        os.remove(out)          # a learner's file is always rebuilt
    error = build(source, out, True, std="gnu11")
    if error:
        raise InputError(f"{path} does not compile: {error}")
    entry.binary = lambda flavour: out
    outcome = run_entries([entry], args.jobs)[0]
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
ERROR_SUMMARY_RE = re.compile(r"ERROR SUMMARY: (\d+) errors?")


def valgrind_argv(tool, binary):
    return ["valgrind", f"--tool={tool}", "--error-limit=no", binary]


def valgrind_seen(tool, run):
    """(flagged: True/False/None when unknown, kinds)"""
    m = ERROR_SUMMARY_RE.findall(run.output)
    if not m:
        return None, []
    table = HELGRIND_KINDS if tool == "helgrind" else DRD_KINDS
    kinds = sorted({k for rx, k in table if rx.search(run.output)})
    n = int(m[-1])
    if n and not kinds:
        kinds = ["other"]
    return n > 0, kinds


def score_outcome(expect, flagged):
    if flagged is None:
        return "time-out"
    if expect in ("race", "deadlock-report"):
        return "TP" if flagged else "FN"
    if expect == "clean":
        return "FP" if flagged else "TN"
    return "flagged" if flagged else "silent"   # wrong-result, hang: invisible to all, by design


def main_score(args):
    entries = [e for e in parse_catalogue(args.catalogue) if e.kind == "c"]
    skipped = [e for e in parse_catalogue(args.catalogue) if e.kind != "c"]
    if args.only:
        entries = [e for e in entries if e.label == args.only or e.name == args.only]
    if shutil.which("valgrind") is None:
        raise EnvError("no valgrind on this machine (mk/deps.sh installs it)")
    print(f"race-score: {len(entries)} programs x plain, tsan, helgrind, drd", file=sys.stderr,
          flush=True)
    start = time.monotonic()
    os.makedirs(BUILD_DIR, exist_ok=True)
    measure = os.path.join(BUILD_DIR, "measure")
    err = build(os.path.join(RACE_DIR, "measure.c"), measure, False)
    if err:
        raise EnvError(f"cannot build race/measure.c: {err}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futs = []
        for e in entries:
            futs.append(pool.submit(build, e.source, e.binary("tsan"), True))
            futs.append(pool.submit(build, e.source, e.binary("plain"), False))
        for f in futs:
            err = f.result()
            if err:
                raise InputError(f"catalogue program does not compile: {err}")
        # Timing runs first, one at a time, with nothing else on the machine (two
        # side by side, or beside valgrind, would disturb each other); then the
        # slow valgrind runs on the pool.
        timing = {}
        env = tsan_env()
        reps = 1 if args.quick else 3
        for e in entries:
            for flavour in ("plain", "tsan"):
                argv = ([e.binary("plain")] if flavour == "plain" else tsan_prefix() + [e.binary("tsan")])
                runs = [run_program(argv, e.timeout_s, env if flavour == "tsan" else None, measure)
                        for _ in range(1 if e.expect == "hang" else reps)]
                timing[(e.label, flavour)] = runs
        vg = {}
        for e in entries:
            for tool in ("helgrind", "drd"):
                limit = max(3 * e.timeout_s, 30.0) if e.expect != "hang" else e.timeout_s + 5
                # A racy program gets up to 3 runs, as under TSan: valgrind's
                # serialised schedule decides what a detector can see.
                n = min(e.runs, 3) if e.expect in ("race", "deadlock-report") else 1
                vg[(e.label, tool)] = [pool.submit(run_program, valgrind_argv(tool, e.binary("plain")),
                                                   limit, None, measure) for _ in range(n)]
        vg = {k: [f.result() for f in fs] for k, fs in vg.items()}

    rows, table = [], []
    totals = {d: {"TP": 0, "FN": 0, "FP": 0, "TN": 0, "silent": 0, "flagged": 0, "time-out": 0,
                  "as catalogued": 0, "not as catalogued": 0} for d in DETECTORS}
    for e in entries:
        plain = min(timing[(e.label, "plain")], key=lambda r: r.wall_s)
        plain_rss = max(r.max_rss_kb for r in timing[(e.label, "plain")])
        cells = {}
        for det in ("plain",) + DETECTORS:
            if det in ("plain", "tsan"):
                runs = timing[(e.label, det)]
                if det == "tsan":
                    reps_ = [parse_tsan(r.output, own_predicate(e))[0] for r in runs]
                    seen = [bool(x) for x in reps_]
                    flagged = any(seen)
                    kinds = sorted({short_kind(x.kind) for rs in reps_ for x in rs})
                else:
                    flagged, kinds, seen = None, [], []
            else:
                runs = vg[(e.label, det)]
                looks = [valgrind_seen(det, r) for r in runs]
                seen = [bool(f) for f, _ in looks if f is not None]
                kinds = sorted({k for _, ks in looks for k in ks})
                flagged = any(seen) if seen else None
                if flagged is None and e.expect == "hang" and all(r.timed_out for r in runs):
                    flagged = False      # a hang is a hang: nothing was reported before it
            best = min(runs, key=lambda r: r.wall_s)
            rss = max(r.max_rss_kb for r in runs)
            result = "time-out" if best.timed_out else \
                program_result(best, bool(flagged)) if det != "plain" else program_result(best, False)
            outcome = "" if det == "plain" else score_outcome(e.expect, flagged)
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
        t, h, d = cells["tsan"], cells["helgrind"], cells["drd"]
        def mark(cell, det):
            outcome, flagged = cell[0], cell[1]
            if flagged is None:
                return outcome
            listed = det in e.detectors
            return outcome + ("" if bool(flagged) == listed else "*" if flagged else "!")
        hang = e.expect == "hang"     # wall time is the time limit: no ratio to show
        table.append([e.name, e.variant, e.expect, mark(t, "tsan"), mark(h, "helgrind"),
                      mark(d, "drd"), "-" if hang else f"{plain.wall_s * 1000:.1f}",
                      "-" if hang else f"{t[4]:.1f}x", "-" if hang else f"{t[5]:.1f}x",
                      "-" if hang else f"{h[4]:.0f}x", "-" if hang else f"{d[4]:.0f}x"])
    print_table(["exercise", "variant", "expected", "tsan", "helgrind", "drd", "plain ms",
                 "tsan time", "tsan mem", "helgrind time", "drd time"], table)
    print("(* flagged though the catalogue does not list the detector; "
          "! listed in the catalogue but not flagged)")
    print()
    sums = []
    for det in DETECTORS:
        c = totals[det]
        sums.append([det, c["TP"], c["FN"], c["FP"], c["TN"], c["silent"], c["flagged"],
                     c["time-out"], f"{c['as catalogued']}/{c['as catalogued'] + c['not as catalogued']}"])
    print_table(["detector", "TP", "FN", "FP", "TN", "silent bugs unseen", "silent bugs flagged",
                 "time-outs", "as catalogued"], sums)
    tsan_slow = [r for r in rows if r["detector"] == "tsan" and r["expected"] != "hang"]
    if tsan_slow:
        sl = sorted(float(r["slowdown_x"]) for r in tsan_slow if not r["timed_out"])
        me = sorted(float(r["rss_ratio_x"]) for r in tsan_slow if not r["timed_out"])
        if sl and me:
            print(f"\nTSan vs plain: slowdown median {sl[len(sl) // 2]:.1f}x (range {sl[0]:.1f}-{sl[-1]:.1f}x), "
                  f"max RSS median {me[len(me) // 2]:.1f}x (range {me[0]:.1f}-{me[-1]:.1f}x)")
    for e in skipped:
        print(f"(skipped {e.label}: cmd entries run under TSan only, see race/README.md)")
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
        description="Build, run and judge racy and fixed pthread programs under ThreadSanitizer.")
    p.add_argument("--file", help="check one C file instead of the catalogue")
    p.add_argument("--expect", help=f"with --file: {', '.join(FILE_EXPECTS)}")
    p.add_argument("--score", action="store_true",
                   help="helgrind/DRD scorecard and TSan overheads -> results/race.csv")
    p.add_argument("--quick", action="store_true", help="with --score: one timing run, not three")
    p.add_argument("--catalogue", default=CATALOGUE, help="catalogue file (default race/catalogue.txt)")
    p.add_argument("--only", help="only the entries named NAME or NAME/VARIANT")
    p.add_argument("--jobs", type=int, default=2, help="programs run at once (default 2)")
    p.add_argument("--runs", type=int, help="with --file: runs (default 3, or 20 for clean)")
    p.add_argument("--timeout", type=float, help=f"with --file: seconds per run (default {DEFAULT_TIMEOUT_S:g})")
    args = p.parse_args(argv)
    args.jobs = max(1, args.jobs)
    try:
        if args.file is not None or args.expect is not None:
            return main_file(args)
        if args.score:
            return main_score(args)
        return main_catalogue(args)
    except InputError as e:
        print(f"race-check: {e}", file=sys.stderr, flush=True)
        if args.file is None and args.expect is None and not args.score:
            print("0 passed, 1 failed", flush=True)
        return 2
    except EnvError as e:
        print(f"race: environment error: {e}", file=sys.stderr, flush=True)
        if args.file is None and args.expect is None and not args.score:
            print("0 passed, 1 failed", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
