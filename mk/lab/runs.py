"""runs.py -- running the lab's child processes: one at a time, stoppable, sized.

Each run (a `gillab run` or a peer driver) is a child in a process group of its own,
so a Ctrl-C at the terminal reaches only this driver. On SIGINT or SIGTERM the driver
sends SIGTERM to the child's group, waits for it, and stops at the next safe point:
gillab and the peer driver write every row with one write(2), so a stopped child
leaves every finished row whole and no half row, and no process is left behind.
"""
import csv
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from facts import DataError, LabError


class Interrupted(Exception):
    def __init__(self, signum):
        Exception.__init__(self, signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def mmss(seconds):
    seconds = int(seconds)
    return "%d:%02d" % (seconds // 60, seconds % 60)


class Messages(object):
    """Messages on stderr, prefixed with the command's name, and the progress line:
    rewritten in place on a terminal, one line per job otherwise."""

    def __init__(self, name):
        self.name = name
        self.tty = sys.stderr.isatty()
        self.shown = False
        self.job_no = 0
        self.jobs_total = 0
        self.units_done = 0
        self.units_total = 0
        self.started = time.monotonic()

    def clear(self):
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False

    def say(self, msg):
        self.clear()
        sys.stderr.write("%s: %s\n" % (self.name, msg))
        sys.stderr.flush()

    def progress(self, label):
        self.job_no += 1
        el = time.monotonic() - self.started
        left = mmss(el * (self.units_total - self.units_done) / self.units_done) \
            if self.units_done else "?"
        if self.tty:
            sys.stderr.write("\r\033[K[%d/%d] %s elapsed, ~%s left: %s"
                             % (self.job_no, self.jobs_total, mmss(el), left, label))
            self.shown = True
        else:
            sys.stderr.write("%s: [%d/%d] %s elapsed: %s\n"
                             % (self.name, self.job_no, self.jobs_total, mmss(el), label))
        sys.stderr.flush()


class Runner(Messages):
    """Messages, the progress line, and one child at a time."""

    def __init__(self, name):
        Messages.__init__(self, name)
        self.tmp = tempfile.mkdtemp(prefix="gillab-%s." % name)
        self.child = None
        self.signum = None
        self.failures = 0
        self._old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    # ---- signals --------------------------------------------------------------------------

    def _on_signal(self, signum, frame):
        self.signum = signum
        self._stop_child()

    def _stop_child(self):
        if self.child is not None and self.child.poll() is None:
            try:
                os.killpg(self.child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def check(self):
        """Raise Interrupted when a signal came: call it where stopping is safe."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    def close(self):
        for s, old in self._old.items():
            signal.signal(s, old)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- children -------------------------------------------------------------------------

    def run(self, cmd, expect_failure=False):
        """Run cmd to its end; its output is kept aside and shown only when it fails.
        Exit 1 (a workload error, recorded as rows with status error) is counted and
        the caller goes on, unless the caller expects it (expect_failure: rows that say
        why nothing ran); any other failure raises LabError."""
        self.check()
        out_path, err_path = os.path.join(self.tmp, "out"), os.path.join(self.tmp, "err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            try:
                self.child = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                              start_new_session=True)
            except OSError as e:
                raise LabError("cannot run %s: %s" % (cmd[0], e.strerror))
            if self.signum is not None:  # the signal came before the child was known
                self._stop_child()
            rc = self.child.wait()
            self.child = None
        self.check()
        if rc == 1 and expect_failure:
            pass
        elif rc == 1:
            self.failures += 1
            self.say("a run failed (exit 1; its rows have status error): %s" % " ".join(cmd))
            with open(err_path) as f:
                sys.stderr.write("".join(f.readlines()[-8:]))
        elif rc != 0:
            with open(out_path) as f1, open(err_path) as f2:
                text = (f1.read() + f2.read()).strip()
            raise LabError("this command failed with exit status %d: %s\n%s"
                           % (rc, " ".join(cmd), text))
        return rc

    # ---- sizing ---------------------------------------------------------------------------

    def walls(self, cmd, reps, warmup, what):
        """The wall times of the ok repetitions of cmd (a gillab run or a peer driver with
        its options, but no --reps, --warmup or --csv); LabError when none is ok."""
        cal = os.path.join(self.tmp, "cal.csv")
        if os.path.exists(cal):
            os.unlink(cal)
        self.run(cmd + ["--reps", str(reps), "--warmup", str(warmup), "--csv", cal, "--quiet"])
        walls = []
        if os.path.exists(cal):
            with open(cal, newline="") as f:
                walls = [float(r["wall_s"]) for r in csv.DictReader(f) if r["status"] == "ok"]
        if not walls:
            raise LabError("%s: the calibration run left no ok row" % what)
        return walls

    def size_count(self, label, target_s, cmd, entry="count"):
        """N such that one entry(N) (count(N) unless told) takes about target_s, measured
        by cmd (a gillab run or a peer driver up to its options): from N = 200000, scaled
        from the fastest of three repetitions, at most six runs."""
        n = 200000
        for _ in range(6):
            self.say("sizing %s(N) for %s: %s(%d) ..." % (entry, label, entry, n))
            walls = self.walls(cmd + ["--entry", entry, "--arg", str(n), "--scenario",
                                      "threads", "--threads", "1"], 3, 1,
                               "sizing %s(N) for %s" % (entry, label))
            # The fastest repetition: the one least disturbed by the rest of the machine.
            wall = max(min(walls), 1e-6)
            grow = target_s / wall
            if wall >= target_s / 2:
                return two_digits(n * grow)
            n = two_digits(n * min(grow, 100.0))  # too short to scale from: grow, measure again
        return n


def with_runner(name, interrupted, body):
    """body(runner) with a Runner of its own; on SIGINT/SIGTERM the message
    "interrupted by SIGx: <interrupted>" and 128 + the signal's number."""
    runner = Runner(name)
    try:
        return body(runner)
    except Interrupted as e:
        runner.say("interrupted by %s: %s" % (e.name, interrupted))
        return 128 + e.signum
    finally:
        runner.clear()
        runner.close()


def two_digits(n):
    """Round to two significant digits: 12345678 -> 12000000."""
    n = max(1, int(n))
    e = max(0, int(math.floor(math.log10(n))) - 1)
    return int(round(n / 10 ** e)) * 10 ** e


def quick_setting():
    return os.environ.get("QUICK", "") not in ("", "0")


def read_state(path):
    """A resume state file's KEY=VALUE lines as a dict; {} when there is none."""
    state = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                if k:
                    state[k] = v
    return state


def reps_written(path, want):
    """The highest rep number of the cell (its columns and values: want) in a results
    file; 0 when there is none."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    top = 0
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("rep", "").isdigit() and all(r.get(k) == v for k, v in want.items()):
                top = max(top, int(r["rep"]))
    return top


def finish(runner, o, facts, figures, what, summarise, took):
    """How every lab command ends: draw `figures` (plots.FIGURES names; an empty set:
    all) unless --no-plots, print summarise()'s tables on stderr, say `took` and how
    many runs failed. The exit status: 1 if a run or a figure failed, else 0."""
    plots_failed = False
    if o.plots:
        import plots   # here: plots imports the lab's analysis, which needs none of this
        runner.say("drawing %s into %s/" % (what, o.results))
        plots_failed = plots.draw(facts, o.results, o.results, figures, runner.say) != 0
    try:
        text = summarise()
    except DataError as e:
        raise LabError(str(e))
    sys.stderr.write("\n" + text + "\n\n")
    runner.say(took)
    if runner.failures:
        runner.say("%d run(s) failed" % runner.failures)
        return 1
    return 1 if plots_failed else 0
