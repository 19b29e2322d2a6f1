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
    model_s = sorted(sides[0][2])[rounds // 2]
    real_s = sorted(sides[1][2])[rounds // 2]
    return real_s / model_s, model_s, real_s


def setting(scale):
    return ["--set", "%s=%g" % (PARAM, round(scale, 3))]


def describe(design, original, scale, model_s, real_s, default):
    return ("%s: %s measured %.3f against %s (%.2f ns per iteration of count there, %.2f ns "
            "in the model); its default is %s" % (design, PARAM, scale, original, real_s * 1e9,
                                                  model_s * 1e9, default))
