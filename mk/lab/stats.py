"""stats.py -- intervals and noise: how sure a ratio is, and whether the machine was busy.

The lab reports ratios (a shape's wall time over the sequential one, a model's figure
over its original's). Each gets a 95% confidence interval from the repetitions behind
it, so a reader sees how far the run-to-run noise of a shared machine reaches, and a
conclusion whose interval straddles its threshold is flagged as one that could flip.

Two kinds of interval:
- paired (`mean_ci`): one ratio per repetition, measured side by side in the same
  repetition (make fidelity interleaves the contenders); a t interval of the mean.
- unpaired (`ratio_ci`): two sets of runs measured apart (make lab's seq and threads
  runs); an interval for the ratio of their geometric means, from the t interval of
  the difference of mean logarithms (Welch's degrees of freedom).
"""
import math

# Two-sided 95% quantiles of Student's t, by degrees of freedom (1..30); 1.96 beyond.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

# A run counts as taken on a busy machine when other processes kept this much of a CPU
# busy on average while it ran (others_cpu_s / wall_s), or the hypervisor stole this
# much (steal_s / wall_s).
BUSY_CPUS = 0.25
BUSY_STEAL = 0.05


def t95(df):
    if df < 1:
        return float("inf")
    return _T95[int(df) - 1] if df <= len(_T95) else 1.96


def mean(xs):
    return sum(xs) / len(xs)


def sd(xs):
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def mean_ci(xs):
    """(mean, lo, hi) of paired per-repetition values; lo/hi None with one value."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None, None
    m = mean(xs)
    if len(xs) < 2:
        return m, None, None
    h = t95(len(xs) - 1) * sd(xs) / math.sqrt(len(xs))
    return m, m - h, m + h


def ratio_ci(num, den):
    """(ratio, lo, hi) of two unpaired sets of positive values: the ratio of their
    geometric means with a 95% interval; lo/hi None with fewer than two of either."""
    a = [math.log(x) for x in num if x and x > 0]
    b = [math.log(x) for x in den if x and x > 0]
    if not a or not b:
        return None, None, None
    d = mean(a) - mean(b)
    if len(a) < 2 or len(b) < 2:
        return math.exp(d), None, None
    va, vb = sd(a) ** 2 / len(a), sd(b) ** 2 / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return math.exp(d), math.exp(d), math.exp(d)
    df = (va + vb) ** 2 / ((va ** 2 / (len(a) - 1) if len(a) > 1 else 0) +
                           (vb ** 2 / (len(b) - 1) if len(b) > 1 else 0))
    h = t95(df) * se
    return math.exp(d), math.exp(d - h), math.exp(d + h)


def busy(row):
    """Was this row's run taken while other work kept the machine busy?"""
    def f(col):
        v = (row.get(col) or "").strip()
        return float(v) if v else None
    wall, others, steal = f("wall_s"), f("others_cpu_s"), f("steal_s")
    if not wall:
        return False
    return (others is not None and others / wall > BUSY_CPUS) or \
        (steal is not None and steal / wall > BUSY_STEAL)


def could_flip(lo, hi, thresholds):
    """Does the interval [lo, hi] straddle any of the thresholds?"""
    if lo is None or hi is None:
        return False
    return any(lo < t < hi for t in thresholds)


def fmt_ci(x, lo, hi, spec=".2f"):
    if x is None:
        return "-"
    if lo is None:
        return format(x, spec)
    return "%s [%s-%s]" % (format(x, spec), format(lo, spec), format(hi, spec))
