"""bench.py -- `bench` (make bench): speed figures, measured as ratios side by side.

Never a pass/fail test: every figure is a median over rounds in which the contenders
take turns (ABC CBA ..., or AB BA ... for a pair), so slow drift of the machine falls
on every contender alike. Four parts, one table each on stdout:

  (a) ns per loop iteration of count.py's count(N): gillab --gil noop and --gil py32
      (one thread) against python3 timing count(N) with its own perf_counter;
      goal: gillab <= 0.5x python3's time.
  (b) the shapes, count(N) with N sized so that a run takes over 1 s: one thread doing
      the work twice, two threads on one CPU, two threads on all CPUs, for every design
      of gillab's registry that runs two threads, with switches and futile wake-ups
      per second.
  (c) the lab's own cost, one thread of count(N): every design against noop (the
      bookkeeping of the lock layer and the design's uncontended path; goal <= 2%),
      a design without a serialising lock once per reference-count policy it has
      (gillab designs --json: none refcounts=atomic, none refcounts=biased), whose price
      is its reference counts (biased: goal <= 5%, what PEP 703 reports for CPython
      3.13t; atomic shown beside it without a goal), and --trace on against off for
      every design that serialises (goal <= 5%). Judged on the best round of each side (noise only adds
      time); the median of the per-round ratios is shown beside it.
  (d) the same single-thread comparisons as instructions per loop iteration,
      counted by valgrind's callgrind: repeatable whatever else the machine is
      doing, so they settle what (a) and (c) measure through the noise. Two sizes
      of count(N) are run and subtracted, so start-up costs cancel out.

Every gillab run is also a row of RESULTS/bench.csv (a fresh file per run; the
previous one becomes bench.csv.prev), its repetitions numbered 1, 2, ... per cell.
Progress goes to stderr.
"""
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import tables
from languages import PYTHON as PYTHON_PEER
from runs import Messages, two_digits

GILLAB = RESULTS = PYTHON = WORKLOAD = CSV_PATH = None
QUICK = False
FACTS = None
# Sizes: seconds for one count(N), and rounds per part (set by main).
A_S = B_S = C_S = A_ROUNDS = B_ROUNDS = C_ROUNDS = None
NEXT_REP = {}  # a bench.csv cell -> the rep number its next row gets

# A timer for count(N) that any Python runs: the file executed into a fresh namespace.
PY_TIMER = (
    "import sys, time\n"
    "clock = getattr(time, 'perf_counter', time.time)\n"
    "g = {'__name__': 'count_workload'}\n"
    "exec(compile(open(sys.argv[1]).read(), sys.argv[1], 'exec'), g)\n"
    "n = int(sys.argv[2])\n"
    "t = clock()\n"
    "g['count'](n)\n"
    "print('%.9f' % (clock() - t))\n"
)


class BenchError(Exception):
    pass


def note(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


class Progress(Messages):
    """The progress line, one step per run."""

    def __init__(self, total):
        Messages.__init__(self, "bench")
        self.jobs_total = self.units_total = total

    def step(self, label):
        self.progress(label)
        self.units_done += 1


def gillab(n, gil, scenario="threads", threads=1, cpus="all", extra=()):
    """One gillab run (one measured rep) appended to bench.csv; returns its row."""
    cell = (n, gil, scenario, threads, cpus) + tuple(extra)
    rep = NEXT_REP.get(cell, 1)
    cmd = [GILLAB, "run", WORKLOAD, "--entry", "count", "--arg", str(n), "--gil", gil,
           "--scenario", scenario, "--threads", str(threads), "--cpus", cpus, "--reps", "1",
           "--first-rep", str(rep), "--csv", CSV_PATH, "--quiet"] + list(extra)
    NEXT_REP[cell] = rep + 1
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode,
                                                     p.stderr.strip()))
    with open(CSV_PATH, newline="") as f:
        row = list(csv.DictReader(f))[-1]
    if row["status"] != "ok":
        raise BenchError("%s: %s" % (" ".join(cmd), row["message"]))
    return row


def python3_seconds(n):
    p = subprocess.run([PYTHON, "-c", PY_TIMER, WORKLOAD, str(n)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise BenchError("%s timing count(%d) failed: %s" % (PYTHON, n, p.stderr.strip()))
    return float(p.stdout.split()[-1])


def python3_name():
    p = subprocess.run([PYTHON, PYTHON_PEER.driver, "--interpreter"], stdout=subprocess.PIPE,
                       universal_newlines=True)
    return p.stdout.strip() or PYTHON


def size(target_s):
    """N such that count(N) takes about target_s under gillab --gil noop."""
    n = 200000
    for _ in range(6):
        # The fastest of three: the run least disturbed by the rest of the machine.
        wall = min(float(gillab(n, "noop")["wall_s"]) for _ in range(3))
        grow = target_s / max(wall, 1e-6)
        n = two_digits(n * min(grow, 100.0))
        if wall >= target_s / 2:
            break
    return n


def med(xs):
    return statistics.median(xs)


def table(headers, rows, left=1):
    """Aligned columns; the first `left` columns to the left, the rest to the right."""
    return tables.table(headers, rows, "<" * left + ">" * (len(headers) - left))


def turns(items, rounds):
    """Round k runs the items forward when k is even, backward when odd."""
    for k in range(rounds):
        for it in (items if k % 2 == 0 else list(reversed(items))):
            yield k, it


def per_s(row, col):
    return float(row[col]) / float(row["wall_s"])


def goal(ok):
    return "goal met" if ok else "goal NOT met"


# ---- the three parts ----------------------------------------------------------------------


def part_a(n, prog, pyname):
    contenders = ["noop", "py32", "python3"]
    walls = {c: [] for c in contenders}
    for _, c in turns(contenders, A_ROUNDS):
        prog.step("(a) %s count(%d)" % (c, n))
        if c == "python3":
            walls[c].append(python3_seconds(n))
        else:
            walls[c].append(float(gillab(n, c)["wall_s"]))
    ns = {c: [w / n * 1e9 for w in walls[c]] for c in contenders}
    base = med(walls["python3"])
    names = {"noop": "gillab --gil noop", "py32": "gillab --gil py32",
             "python3": "%s (%s)" % (PYTHON, pyname)}
    rows = [[names[c], "%.2f" % med(ns[c]), "%.2f-%.2f" % (min(ns[c]), max(ns[c])),
             "%.2fx" % (med(walls[c]) / base)] for c in contenders]
    out = ["(a) count(%d) in one thread: ns per loop iteration, median over %d round(s)"
           % (n, A_ROUNDS), table(["contender", "ns/iter", "min-max", "time vs python3"], rows)]
    for c in ("noop", "py32"):
        r = med(walls[c]) / base
        out.append("goal: gillab --gil %s <= 0.5x python3's time: %.2fx, %s"
                   % (c, r, goal(r <= 0.5)))
    return "\n".join(out)


SHAPES = [("seq", 2, "all", "seq: 1 thread, count(N) twice"),
          ("threads", 2, "1", "2 threads on 1 CPU"),
          ("threads", 2, "all", "2 threads on all CPUs")]


def part_b(n, prog):
    designs = FACTS.lab_designs()
    configs = [(d, s) for d in designs for s in SHAPES]
    rows_by = {c: [] for c in configs}
    for _, (d, s) in turns(configs, B_ROUNDS):
        prog.step("(b) %s %s" % (d, s[3]))
        rows_by[(d, s)].append(gillab(n, d, s[0], s[1], s[2]))
    out = []
    for d in designs:
        seq = med([float(r["wall_s"]) for r in rows_by[(d, SHAPES[0])]])
        for s in SHAPES:
            rs = rows_by[(d, s)]
            w = [float(r["wall_s"]) for r in rs]
            out.append([d, s[3], "%.3f" % med(w), "%.3f-%.3f" % (min(w), max(w)),
                        "%.2f" % (med(w) / seq),
                        "%.0f" % med([per_s(r, "switches") for r in rs]),
                        "%.0f" % med([per_s(r, "wakeups") for r in rs]),
                        "%.0f" % med([per_s(r, "futile_wakeups") for r in rs]),
                        "%.0f" % med([per_s(r, "ctx_involuntary") for r in rs
                                      if r["ctx_involuntary"]] or [0])])
    return "\n".join([
        "(b) shapes of count(%d) done twice, median over %d round(s) (x seq: time against the "
        "same design's one thread doing it twice)" % (n, B_ROUNDS),
        table(["design", "shape", "wall s", "min-max s", "x seq", "switches/s", "wakeups/s",
               "futile/s", "invol. ctx/s"], out, left=2)])


# The lab's budgets for its own cost, one thread (percent over the baseline): by the
# kind of what the VM does under the contender (vm_safety without its flags); a kind
# not named here is shown without a goal (atomic reference counts).
SAFETY_BUDGET = {"serial": 2.0, "biased": 5.0}
TRACE_BUDGET = 5.0


def refcount_policies(d):
    """[(settings shown, --set assignments, vm_safety)] of a design: one per kind of what
    the VM does (its first policy of each kind, the deliberately racy "unsafe" left out),
    shown by the settings that tell them apart; [([], [], kind)] for a design with one."""
    seen, chosen = set(), []
    for p in d["policies"]:
        kind = p["vm_safety"].partition("+")[0]
        if kind != "unsafe" and kind not in seen:
            seen.add(kind)
            chosen.append(p)
    if len(chosen) <= 1:
        return [([], [], d["vm_safety"].partition("+")[0])]
    differ = [i for i in range(len(chosen[0]["set"]))
              if len({p["set"][i] for p in chosen}) > 1]
    return [([p["set"][i] for i in differ], p["set"], p["vm_safety"].partition("+")[0])
            for p in chosen]


def overhead_pairs(run, baseline="noop"):
    """(label, budget or None, A, B) for part (c) and (d): every design against the
    baseline (once per reference-count policy of the designs that have several), and
    tracing on against off for every design that serialises. `run(gil, extra)` makes a
    contender; extra holds ("--set", "a=b") pairs, or ("--trace", None)."""
    pairs = []
    for d in FACTS.designs:
        name = d["name"]
        if name == baseline:
            continue
        for shown, sets, kind in refcount_policies(d):
            extra = tuple(x for a in sets for x in ("--set", a))
            pairs.append(("%s against %s" % (" ".join([name] + shown), baseline),
                          SAFETY_BUDGET.get(kind), run(baseline, ()), run(name, extra)))
    for d in FACTS.traced_designs():
        pairs.append(("%s --trace on against off" % d, TRACE_BUDGET, run(d, ()),
                      run(d, ("--trace", None))))
    return pairs


def part_c(n, prog, tmpdir):
    trace = os.path.join(tmpdir, "trace.csv")

    def run(gil, extra):
        extra = tuple(trace if x is None else x for x in extra)
        return lambda: gillab(n, gil, extra=extra)
    out = []
    verdicts = []
    for label, limit, run_a, run_b in overhead_pairs(run):
        a, b, ratios = [], [], []
        for k in range(C_ROUNDS):
            order = [("A", run_a), ("B", run_b)] if k % 2 == 0 else [("B", run_b), ("A", run_a)]
            got = {}
            for which, fn in order:
                prog.step("(c) %s: %s" % (label, which))
                got[which] = float(fn()["wall_s"])
            a.append(got["A"])
            b.append(got["B"])
            ratios.append(got["B"] / got["A"])
        over = (med(ratios) - 1.0) * 100.0
        # Noise on a shared machine only ever adds time, so the best round of
        # each side is the steadiest estimate of what the code costs (as
        # timeit advises); the goals are judged on it, the median is shown too.
        best = (min(b) / min(a) - 1.0) * 100.0
        out.append([label, "%.3f" % min(a), "%.3f" % min(b), "%+.1f%%" % best, "%+.1f%%" % over,
                    "%+.1f..%+.1f%%" % ((min(ratios) - 1) * 100, (max(ratios) - 1) * 100),
                    "-" if limit is None else "<= %g%%" % limit])
        if limit is not None:
            verdicts.append("goal: %s <= %g%% (best of rounds): %+.1f%%, %s"
                            % (label, limit, best, goal(best <= limit)))
    return "\n".join([
        "(c) the lab's own cost, one thread of count(%d), %d rounds in AB BA order; best = best "
        "B / best A - 1, median = median over rounds of B/A - 1; free-threaded designs pay "
        "for their reference counts (biased: goal <= %g%%; atomic: no goal)"
        % (n, C_ROUNDS, SAFETY_BUDGET["biased"]),
        table(["B against A", "best A s", "best B s", "best", "median", "range", "goal"], out)]
        + verdicts)


def instructions(cmd, only=None):
    """Instructions the command executes, counted by callgrind; with `only`, just those
    inside that function and what it calls."""
    extra = ["--collect-atstart=no", "--toggle-collect=%s" % only] if only else []
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + extra + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode != 0 or not m:
        raise BenchError("valgrind --tool=callgrind %s failed (exit %d): %s"
                         % (" ".join(cmd), p.returncode, p.stderr.strip()[-300:]))
    return int(m.group(1))


def real_python():
    """The interpreter binary itself (python3 may be a shell shim valgrind cannot see through)."""
    p = subprocess.run([PYTHON, "-c", "import sys; print(sys.executable)"],
                       stdout=subprocess.PIPE, universal_newlines=True)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else PYTHON


# The function every measured gillab thread runs (gil/runner/runner.c).
WORKER = "worker_main"


def part_d(prog, pyname, tmpdir):
    n1, n2 = (20000, 120000) if QUICK else (200000, 1200000)
    trace = os.path.join(tmpdir, "trace-d.csv")
    py = real_python()

    def cmd(gil, extra):
        extra = tuple(trace if x is None else x for x in extra)
        return lambda n: [GILLAB, "run", WORKLOAD, "--entry", "count", "--arg", str(n),
                          "--gil", gil, "--quiet"] + list(extra)

    def label(gil, extra):
        return " ".join(["gillab --gil", gil] + [x for x in extra if x is not None])

    per_iter = {}

    def count(gil, extra):
        key = label(gil, extra)
        if key not in per_iter:
            counts = []
            for n in (n1, n2):
                prog.step("(d) %s: count(%d) under callgrind" % (key, n))
                # the measured threads only: not the start-up, not the trace's export
                counts.append(instructions(cmd(gil, extra)(n), only=WORKER))
            per_iter[key] = (counts[1] - counts[0]) / float(n2 - n1)
        return per_iter[key]

    verdicts = []
    rows = []
    for name, limit, a, b in overhead_pairs(lambda gil, extra: (gil, extra)):
        base, other = count(*a), count(*b)
        over = (other / base - 1) * 100
        rows.append([name, "%.1f" % base, "%.1f" % other, "%+.2f%%" % over,
                     "-" if limit is None else "<= %g%%" % limit])
        if limit is not None:
            verdicts.append("goal: %s <= %g%% (instructions): %+.2f%%, %s"
                            % (name, limit, over, goal(over <= limit)))
    counts = []
    for n in (n1, n2):
        prog.step("(d) %s: count(%d) under callgrind" % (pyname, n))
        counts.append(instructions([py, "-c", PY_TIMER, WORKLOAD, str(n)]))
    pyth = (counts[1] - counts[0]) / float(n2 - n1)
    noop = per_iter[label("noop", ())]
    return "\n".join([
        "(d) instructions per loop iteration of count(N), one thread, counted by callgrind in "
        "the measured thread (count(%d) minus count(%d), so start-up cancels); %s: %.1f, "
        "gillab --gil noop %.2fx of it" % (n2, n1, pyname, pyth, noop / pyth),
        table(["B against A", "A instr/iter", "B instr/iter", "B vs A", "goal"], rows)] + verdicts)


def main(o, facts):
    """The bench, with the settings of `python3 mk/lab bench` (o) and gillab's facts."""
    global GILLAB, RESULTS, PYTHON, WORKLOAD, CSV_PATH, QUICK, FACTS
    global A_S, B_S, C_S, A_ROUNDS, B_ROUNDS, C_ROUNDS
    GILLAB, FACTS, QUICK = facts.gillab, facts, o.quick
    RESULTS, PYTHON, WORKLOAD = o.results, o.python, o.workload
    CSV_PATH = os.path.join(RESULTS, "bench.csv")
    if QUICK:
        A_S, B_S, C_S, A_ROUNDS, B_ROUNDS, C_ROUNDS = 0.05, 0.05, 0.05, 2, 1, 2
    else:
        A_S, B_S, C_S, A_ROUNDS, B_ROUNDS, C_ROUNDS = 0.5, 0.6, 0.25, 5, 3, 15
    try:
        return run()
    except BenchError as e:
        note(str(e))
        return 2
    except KeyboardInterrupt:
        note("interrupted; the finished runs are rows of %s" % CSV_PATH)
        return 130


def run():
    missing = [d for d in ("noop", "py32", "none") if not FACTS.is_design(d)]
    if missing:
        raise BenchError("the bench compares noop, py32 and none; gillab designs has no %s"
                         % ", ".join(missing))
    if not os.path.isfile(WORKLOAD):
        raise BenchError("%s is missing" % WORKLOAD)
    os.makedirs(RESULTS, exist_ok=True)
    if os.path.exists(CSV_PATH):
        os.replace(CSV_PATH, CSV_PATH + ".prev")
    pyname = python3_name()
    t0 = time.monotonic()
    note("sizing count(N) with gillab --gil noop")
    n_a = size(A_S)
    n_b = two_digits(n_a * B_S / A_S)
    n_c = two_digits(n_a * C_S / A_S)
    have_valgrind = shutil.which("valgrind") is not None
    npairs = len(overhead_pairs(lambda gil, extra: None))
    total = (3 * A_ROUNDS + 3 * len(FACTS.lab_designs()) * B_ROUNDS + npairs * 2 * C_ROUNDS) + \
        (2 * (npairs + 2) if have_valgrind else 0)
    prog = Progress(total)
    tmpdir = tempfile.mkdtemp(prefix="gillab-bench.")
    try:
        a = part_a(n_a, prog, pyname)
        b = part_b(n_b, prog)
        c = part_c(n_c, prog, tmpdir)
        d = part_d(prog, pyname, tmpdir) if have_valgrind else \
            "(d) skipped: valgrind is not installed (mk/deps.sh installs it)"
    finally:
        prog.clear()
        shutil.rmtree(tmpdir, ignore_errors=True)
    el = time.monotonic() - t0
    print("gillab bench on %s, %d CPUs%s" % (os.uname().nodename, len(os.sched_getaffinity(0)),
                                              " (QUICK: sizes too small to mean much)"
                                              if QUICK else ""))
    for part in (a, b, c, d):
        print("")
        print(part)
    print("")
    print("bench took %d:%02d; every gillab run is a row of %s" % (el // 60, el % 60, CSV_PATH))
    return 0
