"""matrix.py -- `lab`: the standard matrix behind `make lab` (see docs/lab.md).

For every contender -- the designs of gillab's registry that run two threads (or
LAB_DESIGNS), run by gillab, and the peer interpreters (peers.py), run by their
language's peer driver (workloads/peers/peer.py, peer.rb) -- it runs the workload's
count(N) in three shapes:
  seq       one thread calls count(N) twice in a row
  1 CPU     two threads call count(N) at once, both pinned to one CPU
  all CPUs  two threads call count(N) at once on every CPU
with REPS measured repetitions after WARMUP, N sized once per interpreter so that
count(N) takes about TARGET_S; then the convoy scenario once per contender; then a
short two-thread trace per design whose lock serialises the VM, for the timelines;
then a short copy-on-write run (mk/lab/cow.py: gillab's reference-count policies and
the Python peers, with and without gc.freeze(); LAB_COW=0 leaves it out), then the
figures and the summary table (stderr). A contender runs the workload files
of its language (languages.py): the designs and the Python peers the files given,
another language's peer their translations beside them (count.rb for count.py); a
workload with no translation is skipped for that contender, with one line saying so.

The convoy's length is set by a time budget, not by who runs it: each contender's
I/O thread makes at most IO_ITERS wake-ups, and no more than fit CONVOY_S seconds at
the cost per wake-up a short calibration convoy measured (at least MIN_IO_ITERS),
since one wake-up costs one switch interval (5 ms) beside a CPU-bound thread under one
lock, and a time quantum (100 ms) under another. See convoy_plan.

Output, in RESULTS: lab.csv, convoy.csv, convoy_samples.csv, trace-DESIGN.csv and the
figures. A complete run starts fresh files (the previous ones become *.prev). An
interrupted run leaves RESULTS/lab.state behind; the next run with the same settings
resumes: same sizes and convoy plans, each cell's repetitions numbered on from the last
one written (--first-rep), rows appended to the same files.
"""
import os
import time

import calibrate
import peers as peer_discovery
import tables
from facts import ROOT, LabError
from languages import PYTHON
from runs import finish, mmss, read_state, reps_written, two_digits, with_runner

# The three shapes: scenario, threads, cpus.
SHAPES = (("seq", 2, "all"), ("threads", 2, "1"), ("threads", 2, "all"))
CELL_COLUMNS = ("design", "workload", "entry", "args", "scenario", "threads", "cpus")
# The convoy: the calibration's wake-ups (at most), the fewest a run makes whatever its
# cost, and cpu(limit)'s limit as counts of N: at least CPU_LIMIT_N, and enough to
# count for CPU_LIMIT_MARGIN times the convoy's expected length (the CPU thread stops
# when the I/O thread is done; the limit only ends it should the I/O thread not be).
CAL_IO_ITERS = 5
MIN_IO_ITERS = 5
CPU_LIMIT_N = 40
CPU_LIMIT_MARGIN = 4
CAL_LIMIT_N = 200
TICK_ROUNDS = 9     # runs of each side when measuring a design's tick_scale (fewer wander ~20% here)


class Contender(object):
    def __init__(self, design, command, size_key, label, language):
        self.design = design      # the design column of its rows
        self.command = command    # FILE -> the command line up to the options
        self.size_key = size_key  # every lab design shares gillab's size
        self.label = label
        self.language = language  # languages.PYTHON, RUBY: the workload files it runs


def settings_of(o):
    return "quick=%d reps=%d target_s=%g io=%d,%d convoy_s=%g" % (
        1 if o.quick else 0, o.reps, o.target_s, o.io_iters, o.io_sleep_us, o.convoy_s)


def convoy_plan(per_wakeup_s, n, o):
    """(wake-ups, cpu limit) of a contender's convoy, from what one wake-up cost in its
    calibration: as many as fit the budget o.convoy_s, at most o.io_iters, at least
    MIN_IO_ITERS (or o.io_iters when fewer); and cpu(limit) able to count for
    CPU_LIMIT_MARGIN times that long at n per o.target_s, at least CPU_LIMIT_N * n."""
    least = min(o.io_iters, MIN_IO_ITERS)
    fit = int(o.convoy_s / per_wakeup_s) if per_wakeup_s > 0 else o.io_iters
    iters = max(least, min(o.io_iters, fit))
    expected_s = iters * per_wakeup_s
    limit = two_digits(n * max(CPU_LIMIT_N, CPU_LIMIT_MARGIN * expected_s / o.target_s))
    return iters, limit


def convoy_options(o, limit, iters):
    return ["--entry", "cpu", "--arg", str(limit), "--scenario", "convoy", "--threads", "2",
            "--cpus", "all", "--io-entry", "io", "--io-arg", str(iters),
            "--io-arg", str(o.io_sleep_us)]


def shown(path):
    """A path as the messages show it: from the tree's root when inside it."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return path if rel.startswith("..") else rel


def state_numbers(path, state, key, types):
    """The numbers of one line of the resume state, of the given types, or LabError."""
    words = state[key].split()
    try:
        if len(words) == len(types):
            return [t(w) for t, w in zip(types, words)]
    except ValueError:
        pass
    raise LabError("%s: %s=%s: expected %d number(s); delete the file to start afresh"
                   % (path, key, state[key], len(types)))


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
                             "gillab", PYTHON))
    chosen = peer_discovery.choose(o.peers, runner.say)
    for p in chosen:
        out.append(Contender(p.name, peer_discovery.runner_command(p, facts), p.name,
                             "%s (%s)" % (p.name, p.executable), p.language))
    if not out:
        raise LabError("nothing to run: LAB_DESIGNS and LAB_PEERS are empty")
    return out, chosen


def run(o, facts):
    for f in (o.workload, o.convoy):
        if not os.path.isfile(f):
            raise LabError("%s is missing" % f)
    return with_runner("lab", "every finished row in %s/ is intact; run the lab again to "
                       "resume (it appends to the same files)" % o.results,
                       lambda runner: _run(o, facts, runner))


def _run(o, facts, runner):
    cast, interpreters = contenders(o, facts, runner)
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

    # The files each contender runs: its language's translation of each workload.
    files = {}  # (design, "count" | "convoy") -> path
    for c in cast:
        for role, given in (("count", o.workload), ("convoy", o.convoy)):
            path = c.language.translation(given)
            if os.path.isfile(path):
                files[(c.design, role)] = path
            else:
                runner.say("no %s translation of %s (no %s): %s runs no %s"
                           % (c.language.name, shown(given), shown(path), c.design,
                              "count(N)" if role == "count" else "convoy"))
        if (c.design, "convoy") in files and (c.design, "count") not in files:
            runner.say("%s runs no convoy either: its CPU thread is sized from count(N)"
                       % c.design)
            del files[(c.design, "convoy")]
    cast = [c for c in cast if (c.design, "count") in files]
    if not cast:
        raise LabError("nothing to run: no contender has a file for %s" % shown(o.workload))

    # Sizes: count(N) takes about target_s on each interpreter; kept in the state.
    sizes = {}
    for c in cast:
        if c.size_key in sizes:
            continue
        key = "size_" + c.size_key
        if key in state:
            sizes[c.size_key] = state_numbers(state_path, state, key, (int,))[0]
            continue
        cmd = c.command(files[(c.design, "count")])
        if c.size_key == "gillab":  # every design's N, sized under gillab's default design
            cmd = [facts.gillab, "run", files[(c.design, "count")]]
        n = runner.size_count(c.label, o.target_s, cmd)
        sizes[c.size_key] = n
        with open(state_path, "a") as f:
            f.write("%s=%d\n" % (key, n))
        runner.check()

    # A design that counts its original's ticks runs at the tick_scale measured against
    # the original when it is among the peers (calibrate.py); kept in the state.
    for c in cast:
        d = facts.design(c.design)
        if not d or not d.get("original") or not calibrate.has_tick_scale(d):
            continue
        real = [p for p in cast if not facts.is_design(p.design) and
                peer_discovery.is_original(d["original"], p.design)]
        key = "tick_scale_" + c.design
        if key in state:
            scale = state_numbers(state_path, state, key, (float,))[0]
        elif real:
            r = real[0]
            scale, ms, rs = calibrate.tick_scale(
                runner, c.command(files[(c.design, "count")]), sizes[c.size_key],
                r.command(files[(r.design, "count")]), sizes[r.size_key], TICK_ROUNDS, c.design)
            runner.clear()
            runner.say(calibrate.describe(c.design, r.design, scale, ms, rs,
                                          facts.param(c.design, calibrate.PARAM)["default"]))
            with open(state_path, "a") as f:
                f.write("%s=%.6g\n" % (key, scale))
            runner.check()
        else:
            runner.say("%s runs at its default %s (%s): its original, %s, is not among the "
                       "peers" % (c.design, calibrate.PARAM,
                                  facts.param(c.design, calibrate.PARAM)["default"], d["original"]))
            continue
        c.command = (lambda f, cmd=c.command, extra=calibrate.setting(scale): cmd(f) + extra)

    # The convoy's wake-ups and cpu(limit), per contender: calibrated, kept in the state.
    plans = {}
    for c in cast:
        if (c.design, "convoy") not in files:
            continue
        key = "convoy_" + c.design
        n = sizes[c.size_key]
        if key in state:
            iters, limit, per_wakeup_s = state_numbers(state_path, state, key, (int, int, float))
            plans[c.design] = (iters, limit)
        else:
            cal = min(o.io_iters, CAL_IO_ITERS)
            runner.say("timing the convoy for %s: %d wake-up(s) of %d us ..."
                       % (c.design, cal, o.io_sleep_us))
            walls = runner.walls(c.command(files[(c.design, "convoy")]) + convoy_options(
                o, n * CAL_LIMIT_N, cal), 1, 0, "timing the convoy for %s" % c.design)
            per_wakeup_s = walls[0] / cal
            plans[c.design] = convoy_plan(per_wakeup_s, n, o)
            with open(state_path, "a") as f:
                f.write("%s=%d %d %.6g\n" % ((key,) + plans[c.design] + (per_wakeup_s,)))
            runner.check()
        iters = plans[c.design][0]
        if iters < o.io_iters or iters * per_wakeup_s > o.convoy_s:
            runner.say("convoy for %s: about %s per wake-up: %d of %d wake-ups, about %.1f s "
                       "a run (budget %g s)" % (c.design, human_s(per_wakeup_s), iters,
                                                o.io_iters, iters * per_wakeup_s, o.convoy_s))

    jobs = [(c, "lab") + s for c in cast for s in SHAPES]
    jobs += [(c, "convoy", "convoy", 2, "all") for c in cast if c.design in plans]
    if o.trace:
        traced = facts.traced_designs()
        jobs += [(c, "trace", "threads", 2, "all") for c in cast if c.design in traced]
    runner.jobs_total = len(jobs)
    runner.units_total = sum(1 if j[1] == "trace" else o.reps + o.warmup for j in jobs)
    runner.started = time.monotonic()
    for c, kind, sc, threads, cpus in jobs:
        n = sizes[c.size_key]
        workload = files[(c.design, "count")]
        if kind == "lab":
            cell = dict(design=c.design, workload=os.path.basename(workload), entry="count",
                        args=str(n), scenario=sc, threads=str(threads), cpus=cpus)
            done = reps_written(lab_csv, cell)
            runner.progress("%s %s, count(%d)" % (c.design, shape_text(sc, threads, cpus), n))
            if done < o.reps:
                runner.run(c.command(workload) + [
                    "--entry", "count", "--arg", str(n), "--scenario", sc,
                    "--threads", str(threads), "--cpus", cpus, "--reps", str(o.reps - done),
                    "--first-rep", str(done + 1), "--warmup", str(o.warmup),
                    "--csv", lab_csv, "--quiet"])
            runner.units_done += o.reps + o.warmup
        elif kind == "convoy":
            iters, limit = plans[c.design]
            convoy = files[(c.design, "convoy")]
            cell = dict(design=c.design, workload=os.path.basename(convoy), entry="cpu",
                        args=str(limit), scenario="convoy", threads="2", cpus="all")
            done = reps_written(convoy_csv, cell)
            runner.progress("%s convoy, io(%d, %d us) beside cpu(%d)"
                            % (c.design, iters, o.io_sleep_us, limit))
            if done < o.reps:
                runner.run(c.command(convoy) + convoy_options(o, limit, iters) + [
                    "--reps", str(o.reps - done), "--first-rep", str(done + 1),
                    "--warmup", str(o.warmup), "--csv", convoy_csv,
                    "--samples-csv", samples_csv, "--quiet"])
            runner.units_done += o.reps + o.warmup
        else:
            short = max(1, n // 10)
            runner.progress("%s trace, 2 threads on all CPUs, count(%d)" % (c.design, short))
            runner.run(c.command(workload) + [
                "--entry", "count", "--arg", str(short), "--scenario", "threads",
                "--threads", "2", "--cpus", "all",
                "--trace", os.path.join(o.results, "trace-%s.csv" % c.design), "--quiet"])
            runner.units_done += 1
    # Copy-on-write after fork: a short make cow (mk/lab/cow.py), for the tour's figure.
    cow_ran = False
    if o.cow:
        import cow
        cow_ran = cow.lab_short(o.results, o.quick, facts, runner, interpreters,
                                any(facts.is_design(c.design) for c in cast)) is not None
    runner.clear()
    elapsed = time.monotonic() - runner.started
    os.unlink(state_path)

    def summarise():
        text = tables.summary(facts, o.results, ("lab", "convoy"))
        if cow_ran:
            import cow
            text += "\n\n" + cow.summary(facts, o.results)
        return text
    return finish(runner, o, facts, set(), "the figures", summarise,
                  "the matrix took %s; results in %s/" % (mmss(elapsed), o.results))


def shape_text(scenario, threads, cpus):
    if scenario == "seq":
        return "seq (%d calls in one thread)" % threads
    return "%d threads on %s" % (threads, "1 CPU" if cpus == "1" else cpus + " CPUs")


def human_s(seconds):
    return "%.3g ms" % (seconds * 1000) if seconds < 1 else "%.3g s" % seconds
