"""calibrate.py -- a design's tick_scale, measured against the interpreter it models.

A design that counts ticks as its original does (py26: CPython 2.7's check interval)
has a parameter `tick_scale`: how many of the VM's ticks take the wall time of one of
the original's (gil/locks/py26.c). Both count.py loops tick twice an iteration, so the
ratio of their times per iteration of count(N) is that scale. The two are timed in
turns, one thread, the median of each side taken; the model runs with tick_scale=1
while it is measured (its countdown does not change how fast a tick runs).

`make lab` and `make fidelity` measure it whenever the original is installed, and
run the design at the measured value; the tick_scale column of every row says which.
"""
import csv
import os

PARAM = "tick_scale"


def has_tick_scale(design):
    """design: gillab designs --json's entry."""
    return any(p["name"] == PARAM for p in design["params"])


def seconds_per_iteration(runner, cmd, n, path):
    """One timed count(n) in one thread (cmd: the command up to its options)."""
    runner.run(cmd + ["--entry", "count", "--arg", str(n), "--scenario", "threads",
                      "--threads", "1", "--reps", "1", "--csv", path, "--quiet"])
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    return float(rows[-1]["wall_s"]) / n


def tick_scale(runner, model_cmd, n_model, real_cmd, n_real, rounds, label):
    """(scale, model s/iteration, original s/iteration): model and original in turns,
    `rounds` runs each; model_cmd without its tick_scale (this sets it to 1)."""
    sides = [(model_cmd + setting(1), n_model, [], os.path.join(runner.tmp, "tick-model.csv")),
             (real_cmd, n_real, [], os.path.join(runner.tmp, "tick-original.csv"))]
    runner.say("measuring %s's %s against its original: %d round(s) of count(N) each"
               % (label, PARAM, rounds))
    for k in range(rounds):
        for cmd, n, out, path in (sides if k % 2 == 0 else sides[::-1]):
            out.append(seconds_per_iteration(runner, cmd, n, path))
    model_s = median(sides[0][2])
    real_s = median(sides[1][2])
    # The scale is the median of each round's own ratio: the two runs of a round are
    # next to each other in time, so the machine's drift (which moves a run's speed
    # by ~10% on a shared host) falls on both.
    return median([r / m for m, r in zip(sides[0][2], sides[1][2])]), model_s, real_s


def median(xs):
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def in_run_scale(model_rows, real_rows):
    """The speed ratio (original's time per iteration over the model's) during the runs
    themselves: the median over repetitions of the paired ratio of their seq rows, each
    timing count(N) twice in one thread. None without a pair."""
    def per_iter(rows):
        return {r["rep"]: float(r["wall_s"]) / (2 * int(r["args"].split()[-1]))
                for r in rows if r["scenario"] == "seq" and r["status"] == "ok" and r["rep"]
                and r["args"]}
    m, r = per_iter(model_rows), per_iter(real_rows)
    ratios = [r[k] / m[k] for k in m if k in r and m[k] > 0]
    return (median(ratios), len(ratios)) if ratios else (None, 0)


def setting(scale):
    return ["--set", "%s=%g" % (PARAM, round(scale, 3))]


def describe(design, original, scale, model_s, real_s, default):
    return ("%s: %s measured %.3f against %s (%.2f ns per iteration of count there, %.2f ns "
            "in the model); its default is %s" % (design, PARAM, scale, original, real_s * 1e9,
                                                  model_s * 1e9, default))


def check_in_run(design, original, scale, in_run, reps):
    """One line: was the machine's speed ratio during the runs the one calibrated for?"""
    if in_run is None:
        return "%s: no seq rows of both sides to check %s against" % (design, PARAM)
    off = scale / in_run - 1
    return ("%s: during the runs %s ran count at %.3f x the model's time per iteration (median "
            "of %d repetitions' seq rows), against the %.3f calibrated: the model's check "
            "interval was %+.0f%% off %s's in wall time" % (design, original, in_run, reps, scale,
                                                            off * 100, original))
