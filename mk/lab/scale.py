"""scale.py -- `scale` (make scale): how each lock design, each policy of the VM, and each
real interpreter scales with threads.

Contenders: every design of gillab's registry that runs two threads, in each of its
policies (`gillab designs --json`: the combinations of the parameters that change what
the VM does, such as none's refcounts and immortal_at_start; the deliberately racy
"unsafe" ones left out), then the peer interpreters (peers.py), each running the
workload file of its language (languages.py; a workload without a translation is
skipped for it). Workloads: count.py (private objects only), sharedread.py (a shared
structure every thread only reads: reference counts alone) and sharedlist.py (a shared
list every thread also writes: the container's lock too).

Shapes: T threads on every CPU for T = 1, 2, 4, 8 (and on, doubling, while T is at
most twice the CPUs this process may use), and 2 threads pinned to one CPU. Every
thread calls entry(N) once: the same work per thread, so a design that scales
perfectly keeps its time as T grows up to the CPUs. N is sized once per interpreter and
workload so that one call takes about TARGET_S (every design shares gillab's N, sized
under its default design). REPS repetitions, interleaved: each round runs every shape
of every contender once, so that the machine's drift falls on all alike.

Output: RESULTS/scale.csv (the lab's schema; a fresh file per run, the previous one
becomes scale.csv.prev; an interrupted run keeps every finished row), the figure
scale.png (plots.py, plots/scale.gp) and the summary table on stderr (tables.py).
Throughput = threads x N / wall_s: iterations of the workload's loop per second.
"""
import os
import time

import peers as peer_discovery
import tables
from facts import ROOT, LabError
from languages import PYTHON
from runs import finish, mmss, with_runner

WORKLOADS_DIR = os.path.join(ROOT, "workloads")
# The workloads, each with the entry every thread calls.
WORKLOADS = (("count.py", "count"), ("sharedread.py", "walk"), ("sharedlist.py", "walk"))
PINNED = (2, "1")   # the extra shape: 2 threads on one CPU


def thread_counts(ncpus, given=None):
    """T = 1, 2, 4, 8, and on doubling while T <= 2 x ncpus; or the given ones."""
    if given:
        return given
    counts, t = [], 1
    while t <= 8 or t <= 2 * ncpus:
        counts.append(t)
        t *= 2
    return counts


def shapes(counts):
    """(threads, cpus) of every run of a contender: all CPUs for each T, then 2 on one."""
    return [(t, "all") for t in counts] + [PINNED]


class Contender(object):
    def __init__(self, design, sets, command, size_key, language):
        self.design = design        # the design column of its rows
        self.sets = sets            # "--set" assignments of its policy
        self.command = command      # FILE -> the command line up to the run options
        self.size_key = size_key    # "gillab" for every design, the peer's name otherwise
        self.language = language
        self.label = " ".join([design] + sets)


def policies(d):
    """The assignments of each safe policy of a design (one empty policy when it has
    only its own)."""
    if len(d["policies"]) <= 1:
        return [[]]
    return [p["set"] for p in d["policies"] if not p["vm_safety"].startswith("unsafe")]


def contenders(o, facts, say):
    out = []
    names = o.designs.split() if o.designs is not None else facts.lab_designs()
    for name in names:
        d = facts.design(name)
        if d is None:
            raise LabError("SCALE_DESIGNS: unknown design '%s'; designs: %s"
                           % (name, ", ".join(facts.design_names)))
        if not facts.runs_threads(name, 2):
            raise LabError("SCALE_DESIGNS: %s runs one thread only; scaling needs more" % name)
        for sets in policies(d):
            extra = [x for s in sets for x in ("--set", s)]
            out.append(Contender(name, sets, lambda f, n=name, e=extra:
                                 [facts.gillab, "run", f, "--gil", n] + e, "gillab", PYTHON))
    for p in peer_discovery.choose(o.peers, say):
        out.append(Contender(p.name, [], peer_discovery.runner_command(p, facts), p.name,
                             p.language))
    if not out:
        raise LabError("nothing to run: SCALE_DESIGNS and SCALE_PEERS are empty")
    return out


def workloads(o):
    """[(path, entry)] of the workloads asked for (SCALE_WORKLOADS: file names)."""
    known = dict(WORKLOADS)
    names = o.workloads.split() if o.workloads else [w for w, _ in WORKLOADS]
    out = []
    for w in names:
        if w not in known:
            raise LabError("SCALE_WORKLOADS: unknown workload '%s'; workloads: %s"
                           % (w, " ".join(known)))
        path = os.path.join(WORKLOADS_DIR, w)
        if not os.path.isfile(path):
            raise LabError("%s is missing" % path)
        out.append((path, known[w]))
    return out


def run(o, facts):
    return with_runner("scale", "the finished rows of %s/scale.csv are intact; a new run "
                       "starts afresh" % o.results, lambda runner: _run(o, facts, runner))


def _run(o, facts, runner):
    works = workloads(o)
    cast = contenders(o, facts, runner.say)
    ncpus = len(os.sched_getaffinity(0))
    counts = thread_counts(ncpus, o.threads)
    runs = shapes(counts)
    os.makedirs(o.results, exist_ok=True)
    out = os.path.join(o.results, "scale.csv")
    if os.path.exists(out):
        os.replace(out, out + ".prev")

    # Which file each contender runs for each workload, and N per interpreter and workload.
    files, sizes = {}, {}
    for path, entry in works:
        for c in cast:
            f = c.language.translation(path)
            if not os.path.isfile(f):
                runner.say("no %s translation of %s: %s runs no %s(N)"
                           % (c.language.name, os.path.basename(path), c.label, entry))
                continue
            files[(c.label, path)] = f
            key = (c.size_key, path)
            if key not in sizes:
                cmd = [facts.gillab, "run", f] if c.size_key == "gillab" else c.command(f)
                sizes[key] = runner.size_count(c.size_key, o.target_s, cmd, entry)
                runner.check()

    jobs = [(path, entry, rep, c, shape) for path, entry in works for rep in range(1, o.reps + 1)
            for c in cast if (c.label, path) in files for shape in runs]
    runner.jobs_total = runner.units_total = len(jobs)
    runner.started = time.monotonic()
    runner.say("%d contender(s), %d workload(s), threads %s on all %d CPUs and 2 on one, "
               "%d repetition(s): %d runs" % (len(cast), len(works), " ".join(map(str, counts)),
                                              ncpus, o.reps, len(jobs)))
    for path, entry, rep, c, (threads, cpus) in jobs:
        n = sizes[(c.size_key, path)]
        f = files[(c.label, path)]
        runner.progress("%s %s(%d), %d thread(s) on %s, rep %d"
                        % (c.label, entry, n, threads, "1 CPU" if cpus == "1" else cpus + " CPUs",
                           rep))
        runner.run(c.command(f) + [
            "--entry", entry, "--arg", str(n), "--scenario", "threads",
            "--threads", str(threads), "--cpus", cpus, "--reps", "1", "--first-rep", str(rep),
            "--csv", out, "--quiet"])
        runner.units_done += 1
    runner.clear()
    elapsed = time.monotonic() - runner.started

    return finish(runner, o, facts, {"scale"}, "the scale figure",
                  lambda: tables.summary(facts, o.results, ("scale",)),
                  "the runs took %s; rows in %s" % (mmss(elapsed), out))
