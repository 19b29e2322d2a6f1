"""matrix.py -- `lab`: the standard matrix behind `make lab` (see docs/lab.md).

For every contender -- the designs of gillab's registry that run two threads (or
LAB_DESIGNS), run by gillab, and the peer interpreters (peers.py), run by
workloads/peers/peer.py -- it runs the workload's count(N) in three shapes:
  seq       one thread calls count(N) twice in a row
  1 CPU     two threads call count(N) at once, both pinned to one CPU
  all CPUs  two threads call count(N) at once on every CPU
with REPS measured repetitions after WARMUP, N sized once per interpreter so that
count(N) takes about TARGET_S; then the convoy scenario once per contender; then a
short two-thread trace per design whose lock serialises the VM, for the timelines;
then the figures and the summary table (stderr).

Output, in RESULTS: lab.csv, convoy.csv, convoy_samples.csv, trace-DESIGN.csv and the
figures. A complete run starts fresh files (the previous ones become *.prev). An
interrupted run leaves RESULTS/lab.state behind; the next run with the same settings
resumes: same sizes, each cell's repetitions numbered on from the last one written
(--first-rep), rows appended to the same files.
"""
import csv
import os
import sys
import time

import peers as peer_discovery
import plots
import tables
from facts import PEER_DRIVER, LabError, DataError
from runs import mmss, with_runner

# The three shapes: scenario, threads, cpus.
SHAPES = (("seq", 2, "all"), ("threads", 2, "1"), ("threads", 2, "all"))
CELL_COLUMNS = ("design", "workload", "entry", "args", "scenario", "threads", "cpus")


class Contender(object):
    def __init__(self, design, command, size_key, label):
        self.design = design      # the design column of its rows
        self.command = command    # FILE -> the command line up to the options
        self.size_key = size_key  # every lab design shares gillab's size
        self.label = label


def settings_of(o):
    return "quick=%d reps=%d target_s=%g io=%d,%d" % (
        1 if o.quick else 0, o.reps, o.target_s, o.io_iters, o.io_sleep_us)


def read_state(path):
    state = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                if k:
                    state[k] = v
    return state


def reps_written(path, want):
    """The highest rep number of the cell (CELL_COLUMNS = want) in a results file."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    top = 0
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("rep", "").isdigit() and all(r.get(k) == v for k, v in want.items()):
                top = max(top, int(r["rep"]))
    return top


def contenders(o, facts, runner):
    gillab = facts.gillab
    out = []
    designs = o.designs.split() if o.designs is not None else facts.lab_designs()
    for d in designs:
        if not facts.is_design(d):
            raise LabError("LAB_DESIGNS: unknown design '%s'; designs: %s"
                           % (d, ", ".join(facts.design_names)))
        if not facts.runs_threads(d, 2):
            raise LabError("LAB_DESIGNS: %s runs one thread only; the matrix needs two" % d)
        out.append(Contender(d, lambda f, d=d: [gillab, "run", f, "--gil", d], "gillab",
                             "gillab"))
    for p in peer_discovery.choose(o.peers, runner.say):
        out.append(Contender(
            p.name, lambda f, p=p: [p.executable, PEER_DRIVER, f, "--gillab", gillab,
                                    "--lab-version", facts.version],
            p.name, "%s (%s)" % (p.name, p.executable)))
    if not out:
        raise LabError("nothing to run: LAB_DESIGNS and LAB_PEERS are empty")
    return out


def run(o, facts):
    for f in (o.workload, o.convoy):
        if not os.path.isfile(f):
            raise LabError("%s is missing" % f)
    return with_runner("lab", "every finished row in %s/ is intact; run the lab again to "
                       "resume (it appends to the same files)" % o.results,
                       lambda runner: _run(o, facts, runner))


def _run(o, facts, runner):
    cast = contenders(o, facts, runner)
    os.makedirs(o.results, exist_ok=True)
    lab_csv = os.path.join(o.results, "lab.csv")
    convoy_csv = os.path.join(o.results, "convoy.csv")
    samples_csv = os.path.join(o.results, "convoy_samples.csv")
    state_path = os.path.join(o.results, "lab.state")
    state = read_state(state_path)
    settings = settings_of(o)
    if state and state.get("settings") == settings:
        runner.say("resuming the interrupted run recorded in %s: appending to its files"
                   % state_path)
    else:
        if state:
            runner.say("%s was made with other settings: starting afresh" % state_path)
        for path in (lab_csv, convoy_csv, samples_csv):
            if os.path.exists(path):
                os.replace(path, path + ".prev")
        with open(state_path, "w") as f:
            f.write("settings=%s\n" % settings)
        state = {"settings": settings}

    # Sizes: count(N) takes about target_s on each interpreter; kept in the state.
    sizes = {}
    for c in cast:
        if c.size_key in sizes:
            continue
        key = "size_" + c.size_key
        if key in state:
            sizes[c.size_key] = int(state[key])
            continue
        cmd = c.command(o.workload)
        if c.size_key == "gillab":  # every design's N, sized under gillab's default design
            cmd = [facts.gillab, "run", o.workload]
        n = runner.size_count(c.label, o.target_s, cmd)
        sizes[c.size_key] = n
        with open(state_path, "a") as f:
            f.write("%s=%d\n" % (key, n))
        runner.check()

    jobs = [(c, "lab") + s for c in cast for s in SHAPES]
    jobs += [(c, "convoy", "convoy", 2, "all") for c in cast]
    if o.trace:
        traced = facts.traced_designs()
        jobs += [(c, "trace", "threads", 2, "all") for c in cast if c.design in traced]
    runner.jobs_total = len(jobs)
    runner.units_total = sum(1 if j[1] == "trace" else o.reps + o.warmup for j in jobs)
    runner.started = time.monotonic()
    workload = os.path.basename(o.workload)
    for c, kind, sc, threads, cpus in jobs:
        n = sizes[c.size_key]
        if kind == "lab":
            cell = dict(design=c.design, workload=workload, entry="count", args=str(n),
                        scenario=sc, threads=str(threads), cpus=cpus)
            done = reps_written(lab_csv, cell)
            runner.progress("%s %s, count(%d)" % (c.design, shape_text(sc, threads, cpus), n))
            if done < o.reps:
                runner.run(c.command(o.workload) + [
                    "--entry", "count", "--arg", str(n), "--scenario", sc,
                    "--threads", str(threads), "--cpus", cpus, "--reps", str(o.reps - done),
                    "--first-rep", str(done + 1), "--warmup", str(o.warmup),
                    "--csv", lab_csv, "--quiet"])
            runner.units_done += o.reps + o.warmup
        elif kind == "convoy":
            limit = n * 40
            cell = dict(design=c.design, workload=os.path.basename(o.convoy), entry="cpu",
                        args=str(limit), scenario="convoy", threads="2", cpus="all")
            done = reps_written(convoy_csv, cell)
            runner.progress("%s convoy, io(%d, %d us) beside cpu(%d)"
                            % (c.design, o.io_iters, o.io_sleep_us, limit))
            if done < o.reps:
                runner.run(c.command(o.convoy) + [
                    "--entry", "cpu", "--arg", str(limit), "--scenario", "convoy",
                    "--threads", "2", "--cpus", "all",
                    "--io-entry", "io", "--io-arg", str(o.io_iters), "--io-arg", str(o.io_sleep_us),
                    "--reps", str(o.reps - done), "--first-rep", str(done + 1),
                    "--warmup", str(o.warmup), "--csv", convoy_csv,
                    "--samples-csv", samples_csv, "--quiet"])
            runner.units_done += o.reps + o.warmup
        else:
            short = max(1, n // 10)
            runner.progress("%s trace, 2 threads on all CPUs, count(%d)" % (c.design, short))
            runner.run(c.command(o.workload) + [
                "--entry", "count", "--arg", str(short), "--scenario", "threads",
                "--threads", "2", "--cpus", "all",
                "--trace", os.path.join(o.results, "trace-%s.csv" % c.design), "--quiet"])
            runner.units_done += 1
    runner.clear()
    elapsed = time.monotonic() - runner.started
    os.unlink(state_path)

    plots_failed = False
    if o.plots:
        runner.say("drawing the figures into %s/" % o.results)
        plots_failed = plots.draw(facts, o.results, o.results, set(), runner.say) != 0
    try:
        text = tables.summary(facts, o.results, ("lab", "convoy"))
    except DataError as e:
        raise LabError(str(e))
    sys.stderr.write("\n" + text + "\n\n")
    runner.say("the matrix took %s; results in %s/" % (mmss(elapsed), o.results))
    if runner.failures:
        runner.say("%d run(s) failed" % runner.failures)
        return 1
    return 1 if plots_failed else 0


def shape_text(scenario, threads, cpus):
    if scenario == "seq":
        return "seq (%d calls in one thread)" % threads
    return "%d threads on %s" % (threads, "1 CPU" if cpus == "1" else cpus + " CPUs")
