"""sweep.py -- `sweep`: how each design's knob shapes two threads on all CPUs.

The designs and values come from gillab's registry: every parameter that names a
sweep (`gillab designs --json`, field "sweep") is run over those values, one point
per value (`--set NAME=VALUE`), every other parameter at its default. Each point runs
the workload's count(N) in two threads on every CPU (N sized so that one count(N)
takes about TARGET_S), REPS measured repetitions after WARMUP, into RESULTS/sweep.csv
(a fresh file per run; the previous one becomes sweep.csv.prev). Then the sweep
figure and a table on stderr.
"""
import os
import time

import tables
from facts import LabError
from runs import finish, mmss, with_runner


def run(o, facts):
    if not os.path.isfile(o.workload):
        raise LabError("%s is missing" % o.workload)
    points = [(d["name"], p["name"], v) for d, p in facts.swept() for v in p["sweep"].split()]
    if not points:
        raise LabError("no design of gillab designs names a sweep: nothing to run")
    return with_runner("sweep", "the finished rows of %s/sweep.csv are intact; a new sweep "
                       "starts afresh" % o.results, lambda runner: _run(o, facts, runner, points))


def _run(o, facts, runner, points):
    os.makedirs(o.results, exist_ok=True)
    out = os.path.join(o.results, "sweep.csv")
    if os.path.exists(out):
        os.replace(out, out + ".prev")
    n = runner.size_count("gillab", o.target_s, [facts.gillab, "run", o.workload])
    runner.jobs_total = runner.units_total = len(points)
    runner.started = time.monotonic()
    for design, name, value in points:
        runner.progress("%s %s=%s, 2 threads on all CPUs, count(%d)" % (design, name, value, n))
        runner.run([facts.gillab, "run", o.workload, "--entry", "count", "--arg", str(n),
                    "--gil", design, "--set", "%s=%s" % (name, value), "--scenario", "threads",
                    "--threads", "2", "--cpus", "all", "--reps", str(o.reps),
                    "--warmup", str(o.warmup), "--csv", out, "--quiet"])
        runner.units_done += 1
    runner.clear()
    elapsed = time.monotonic() - runner.started
    return finish(runner, o, facts, {"sweep"}, "the sweep figure",
                  lambda: tables.summary(facts, o.results, ("sweep",)),
                  "the sweep took %s; rows in %s" % (mmss(elapsed), out))
