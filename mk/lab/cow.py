"""cow.py -- `cow`: copy-on-write after fork, gillab's reference-count policies beside the
real interpreters (make cow; make lab runs a short version).

The fork scenario (`gillab run --scenario fork`, `peer.py --scenario fork`) on
workloads/cow.py: the parent calls build(MB), forks the workers, and each worker walks
the whole structure with walk(), reading every element once; the parent reads each
worker's /proc/PID/smaps_rollup before, during (every SAMPLE_MS) and after the walk.
The contenders:
  gillab     under each reference-count policy it has: plain (a read writes the count)
             and immortal (the objects made immortal before the fork);
  each Python peer (peers.py: python3, pypy3, CPython 2.7 by default) under plain and
             gc_freeze (gc.freeze() before the fork); one without gc.freeze (2.7,
             PyPy) writes rows saying so, and the table and figure show it as n/a;
  (Ruby has no translation of cow.py: it runs nothing here, and says so.)
each with every worker count of WORKERS, REPS repetitions (one row per worker and
repetition). Output, in RESULTS: cow.csv, cow_smaps.csv (the readings), cow.png and
cow.svg, and a table on stderr. An interrupted run leaves RESULTS/cow.state behind;
the next one with the same settings resumes, numbering each cell's repetitions on.

The table and the figure come from one grouping (groups()): per contender, policy and
worker count, the share of the structure each worker still shares after its walk
(pct_still_shared: median over workers and repetitions, and its range) and what the
walk copied (Private_Dirty after less before).
"""
import csv
import os
import subprocess
import time

import analysis
import data
import peers as peer_discovery
from facts import ROOT, LabError
from languages import PYTHON
from runs import finish, mmss, read_state, reps_written, with_runner

COW_PY = os.path.join(ROOT, "workloads", "cow.py")
PEER_POLICIES = ("plain", "gc_freeze")   # peer.py's (gillab's come from its scenario table)
NO_FREEZE = "gc.freeze() does not exist in "   # how peer.py's row says it
CELL = ("design", "refcount_policy", "workers", "args")
FILES = ("cow.csv", "cow_smaps.csv")


class Contender(object):
    def __init__(self, design, label, command, policies, has_freeze=True):
        self.design = design          # the design column of its rows
        self.label = label
        self.command = command        # FILE -> the command line up to the scenario's options
        self.policies = policies
        self.has_freeze = has_freeze  # a peer without gc.freeze() writes rows saying so


def settings_of(o):
    return "quick=%d reps=%d mb=%d workers=%s sample_ms=%d" % (
        1 if o.quick else 0, o.reps, o.mb, ",".join(map(str, o.workers)), o.sample_ms)


def has_freeze(executable):
    try:
        return subprocess.call([executable, "-c", "import gc, sys; sys.exit(0 if hasattr(gc, "
                                "'freeze') else 1)"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60) == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def contenders(o, facts, say, interpreters=None, with_gillab=True):
    """gillab under its policies, then the Python peers under theirs. interpreters:
    peers.py's Interpreters to use (make lab passes its own); None: choose (LAB_PEERS)."""
    out = []
    if with_gillab:
        policies = [p for s in facts.scenarios if s.get("forks")
                    for p in s.get("refcount_policies", [])]
        out.append(Contender(default_design(facts), "gillab",
                             lambda f: [facts.gillab, "run", f], policies))
    found = peer_discovery.choose(o.peers, say) if interpreters is None else interpreters
    for p in found:
        if p.language is not PYTHON:
            say("%s runs no cow: %s has no translation of workloads/cow.py"
                % (p.name, p.language.name))
            continue
        out.append(Contender(p.name, "%s (%s)" % (p.name, p.executable),
                             peer_discovery.runner_command(p, facts), PEER_POLICIES,
                             has_freeze(p.executable)))
    return out


def default_design(facts):
    """The design a `gillab run` without --gil uses: its rows' design column."""
    for d in facts.designs:
        if d.get("default"):
            return d["name"]
    return facts.design_names[0]


def run(o, facts):
    if not os.path.isfile(o.workload):
        raise LabError("%s is missing" % o.workload)
    return with_runner("cow", "every finished row in %s/ is intact; run make cow again to "
                       "resume (it appends to the same files)" % o.results,
                       lambda runner: _run(o, facts, runner))


def _run(o, facts, runner):
    os.makedirs(o.results, exist_ok=True)
    cast = contenders(o, facts, runner.say)
    runner.started = time.monotonic()
    run_matrix(o, facts, runner, cast)
    runner.clear()
    return finish(runner, o, facts, {"cow"}, "cow.png", lambda: summary(facts, o.results),
                  "the cow runs took %s; results in %s/"
                  % (mmss(time.monotonic() - runner.started), o.results))


def run_matrix(o, facts, runner, cast):
    """Every contender x policy x worker count, resumable; the runs' own rows in
    RESULTS/cow.csv. Failures are counted by the runner."""
    cow_csv = os.path.join(o.results, "cow.csv")
    smaps_csv = os.path.join(o.results, "cow_smaps.csv")
    state_path = os.path.join(o.results, "cow.state")
    settings = settings_of(o)
    state = read_state(state_path)
    if state.get("settings") == settings:
        runner.say("resuming the interrupted run recorded in %s: appending to its files"
                   % state_path)
    else:
        if state:
            runner.say("%s was made with other settings: starting afresh" % state_path)
        for name in FILES:
            path = os.path.join(o.results, name)
            if os.path.exists(path):
                os.replace(path, path + ".prev")
        with open(state_path, "w") as f:
            f.write("settings=%s\n" % settings)
    jobs = [(c, p, w) for c in cast for p in c.policies for w in o.workers]
    runner.jobs_total += len(jobs)
    runner.units_total += len(jobs) * o.reps
    for c, policy, workers in jobs:
        cell = dict(design=c.design, refcount_policy=policy, workers=str(workers), args=str(o.mb))
        done = reps_written(cow_csv, cell)
        runner.progress("%s %s, %d worker%s, build(%d)" % (c.design, policy, workers,
                                                           "" if workers == 1 else "s", o.mb))
        if done < o.reps:
            cmd = c.command(o.workload) + ["--scenario", "fork", "--setup", "build", "--arg",
                               str(o.mb), "--entry", "walk", "--workers", str(workers),
                               "--refcount-policy", policy, "--reps", str(o.reps - done),
                               "--first-rep", str(done + 1), "--csv", cow_csv,
                               "--smaps-csv", smaps_csv, "--sample-ms", str(o.sample_ms),
                               "--quiet"]
            # A peer without gc.freeze() writes rows saying so and exits 1: expected.
            runner.run(cmd, expect_failure=policy == "gc_freeze" and not c.has_freeze)
        runner.units_done += o.reps
    os.unlink(state_path)
    return 0


class Short(object):
    """make lab's short version: sizes for the tour's figure, in the lab's results."""

    def __init__(self, results, quick):
        self.results = results
        self.quick = quick
        self.reps = 1
        self.mb = 4 if quick else 32
        self.workers = [1, 2] if quick else [1, 2, 4]
        self.sample_ms = 5
        self.workload = COW_PY


def lab_short(results, quick, facts, runner, interpreters, with_gillab):
    """The short version inside make lab: returns the table's text, or None when nothing
    ran (no contender for it)."""
    o = Short(results, quick)
    cast = contenders(o, facts, runner.say, interpreters, with_gillab)
    if not cast:
        return None
    run_matrix(o, facts, runner, cast)
    return cast


# ---- the one grouping behind the table and the figure ------------------------------------


class Group(object):
    """One contender, policy and worker count: its rows and what they add up to."""

    def __init__(self, design, policy, workers, rows):
        self.design, self.policy, self.workers = design, policy, workers
        self.rows = rows
        ok = analysis.ok_rows(rows)
        self.ok = ok
        self.shared = [analysis.num(r, "pct_still_shared") for r in ok
                       if analysis.num(r, "pct_still_shared") is not None]
        self.median = analysis.median(self.shared)
        self.lo = min(self.shared) if self.shared else None
        self.hi = max(self.shared) if self.shared else None
        self.heap_mb = analysis.median([analysis.num(r, "heap_kb") / 1024 for r in ok
                                        if analysis.num(r, "heap_kb") is not None])
        self.copied_mb = analysis.median([
            (analysis.num(r, "private_dirty_kb") - analysis.num(r, "private_dirty_before_kb")) / 1024
            for r in ok if analysis.num(r, "private_dirty_kb") is not None
            and analysis.num(r, "private_dirty_before_kb") is not None])
        self.wall = analysis.median([analysis.num(r, "wall_s") for r in ok])
        reps = {r["rep"] for r in ok}
        self.reps = len(reps)
        # Why nothing is shown: a peer without gc.freeze(), or failed runs.
        self.na = None
        if not ok:
            msgs = [r["message"] for r in rows if r["status"] != "ok"]
            self.na = next((m for m in msgs if m.startswith(NO_FREEZE)), None)
            if self.na is None and msgs:
                self.na = "failed: " + msgs[0]

    @property
    def label(self):
        return "%s %s" % (self.design, self.policy)


def policy_rank(policy):
    """plain first, the policy that keeps pages shared after it."""
    return 0 if policy == "plain" else 1


def groups(facts, rows):
    """The fork rows in groups: gillab's designs first (registry order), then the peers,
    each by policy (plain first) and worker count."""
    by = {}
    for r in rows:
        if not facts.forks(r["scenario"]):
            continue
        key = (r["design"], r["refcount_policy"], int(r["workers"]) if r["workers"] else 0)
        by.setdefault(key, []).append(r)
    keys = sorted(by, key=lambda k: (facts.design_rank(k[0], 0), policy_rank(k[1]), k[2]))
    return [Group(d, p, w, by[(d, p, w)]) for d, p, w in keys]


def describe(rows):
    works = sorted({"%s: %s(%s) in the parent, %s() in each worker"
                    % (r["workload"], r["setup"], r["args"], r["entry"]) for r in rows})
    return "; ".join(works) if works else "no rows"


def name(facts, design):
    """A contender as the table and the figure show it: gillab's design, or the peer."""
    return "gillab %s" % design if facts.is_design(design) else design


def tic(facts, design, policy):
    """A figure's label in three short lines: gillab / py32 / plain, cpython / 3.11.7 / ..."""
    if facts.is_design(design):
        return "gillab\n%s\n%s" % (design, policy)
    impl, _, version = design.partition("-")
    return "%s\n%s\n%s" % (impl, version, policy)


def table(facts, rows):
    from tables import fmt, table as layout
    out, notes = [], []
    for g in groups(facts, rows):
        if g.na is not None:
            out.append([name(facts, g.design), g.policy, g.workers, "-", "-", "n/a", "-", "-", "-"])
            if g.na not in notes:
                notes.append(g.na)
            continue
        out.append([name(facts, g.design), g.policy, g.workers, len(g.ok), fmt(g.heap_mb, ".1f"),
                    fmt(g.median, ".1f", "-") + ("%" if g.median is not None else ""),
                    "%.1f-%.1f%%" % (g.lo, g.hi) if g.shared else "-",
                    fmt(g.copied_mb, ".1f"), fmt(g.wall, ".3f")])
    return "\n".join([
        "cow: %s -- still shared = the share of the structure's pages a worker still shares "
        "with the parent after its walk (median over workers and repetitions, and the range); "
        "copied = its Private_Dirty growth during the walk" % describe(rows),
        layout(["contender", "policy", "workers", "runs", "heap MB", "still shared", "min-max",
                "copied MB", "walk s"], out, "<<>>>>>>>")] + ["n/a: " + n for n in notes])


def summary(facts, folder):
    path = os.path.join(folder, "cow.csv")
    if not os.path.exists(path):
        return "no cow.csv in %s (make cow)" % folder
    rows = data.read_results(path, facts)
    text = table(facts, rows)
    bad = [r for r in analysis.failed_rows(rows) if not r["message"].startswith(NO_FREEZE)]
    if bad:
        text += "\n%d worker row(s) failed:" % len(bad)
        for r in bad[:10]:
            text += "\n  %s %s workers=%s rep %s worker %s: %s" % (
                r["design"], r["refcount_policy"], r["workers"], r["rep"] or "-",
                r["worker"] or "-", r["message"])
    return text


# ---- the figure ---------------------------------------------------------------------------


def prep_figure(facts, work, data_dir, manifest, note):
    """cow.png: the share still shared after the walk per contender, policy and worker
    count; beside it, how one worker's Private_Dirty grows during its walk
    (cow_smaps.csv)."""
    import plots
    path = os.path.join(data_dir, "cow.csv")
    if not os.path.exists(path):
        note("no cow.csv in %s; skipping cow (make it with `make cow`)" % data_dir)
        return
    rows = data.read_results(path, facts)
    gs = groups(facts, rows)
    if not gs:
        note("%s: no fork rows; skipping cow" % path)
        return
    clusters = []   # (design, policy) in order
    for g in gs:
        if (g.design, g.policy) not in clusters:
            clusters.append((g.design, g.policy))
    counts = sorted({g.workers for g in gs})
    nbar = len(counts)
    bar_w = min(0.8 / nbar, 0.28)
    blocks, nas = [[] for _ in counts], []
    for ci, (d, p) in enumerate(clusters):
        mine = [g for g in gs if (g.design, g.policy) == (d, p)]
        if all(g.na is not None for g in mine):
            nas.append((ci, mine[0].na))
            continue
        for g in mine:
            if g.median is None:
                continue
            si = counts.index(g.workers)
            x = ci + (si - (nbar - 1) / 2.0) * bar_w
            blocks[si].append([plots.fmt(x), plots.fmt(g.median), plots.fmt(g.lo),
                               plots.fmt(g.hi), plots.data_str("%.0f%%" % g.median)])
    fig = plots.Figure(work, "cow", "cow.gp")
    fig.write_data("-bars.dat", [b or [["NaN", "NaN", "NaN", "NaN", '""']] for b in blocks])
    fig.set("bars", fig.path("-bars.dat"))
    fig.set("nseries", nbar)
    fig.array("series_name", ["%d worker%s" % (w, "" if w == 1 else "s") for w in counts])
    fig.colour_array("series_colour", [("c_sky", "c_blue", "c_vermillion", "c_green",
                                        "c_purple")[i % 5] for i in range(nbar)])
    fig.setn("bar_width", bar_w)
    fig.set("xmax", len(clusters) - 0.4)
    fig.raw("set xtics (%s)" % ", ".join("%s %d" % (plots.gp_str(tic(facts, d, p)), i)
                                          for i, (d, p) in enumerate(clusters)))
    fig.set("nna", len(nas))
    fig.array("na_x", [x for x, _ in nas] or [0])
    fig.array("na_text", ["n/a: %s" % short_na(t) for _, t in nas] or [""])
    first_peer = next((i for i, (d, _) in enumerate(clusters) if not facts.is_design(d)), None)
    fig.setn("peer_split", first_peer - 0.5 if first_peer else None)

    # One worker's Private_Dirty during its walk: worker 0 of the first repetition with
    # the fewest workers, per contender and policy.
    smaps_path = os.path.join(data_dir, "cow_smaps.csv")
    curves, titles, designs = [], [], []
    if os.path.exists(smaps_path):
        readings = data.read_csv(smaps_path, facts.smaps_columns,
                                 ("rep", "worker", "t_ms", "rss_kb", "pss_kb", "shared_kb",
                                  "private_dirty_kb"), allow_empty=True)
        by_run = {}
        for s in readings:
            by_run.setdefault(s["run_id"], []).append(s)
        for d, p in clusters:
            mine = [g for g in gs if (g.design, g.policy) == (d, p) and g.ok]
            if not mine:
                continue
            g = min(mine, key=lambda g: g.workers)
            first = sorted((r for r in g.ok if r["worker"] == "0"),
                           key=lambda r: int(r["rep"] or 0))
            pts = by_run.get(first[0]["run_id"], []) if first else []
            if len(pts) < 2:
                continue
            base = float(pts[0]["private_dirty_kb"])   # the reading before the walk
            curves.append([[plots.fmt(float(s["t_ms"])),
                            plots.fmt((float(s["private_dirty_kb"]) - base) / 1024)] for s in pts])
            titles.append("%s %s" % (name(facts, d), p))
            designs.append(d)
    else:
        note("no cow_smaps.csv in %s: cow.png without the time series" % data_dir)
    fig.write_data("-series.dat", curves or [[["NaN", "NaN"]]])
    fig.set("series", fig.path("-series.dat"))
    fig.set("ncurves", len(curves))
    fig.array("curve_title", titles or [""])
    styles = plots.curve_styles(facts, designs)
    # a contender's second policy: its colour, dotted
    dashes, seen = [], set()
    for design, (_, dash) in zip(designs, styles):
        dashes.append(dash if design not in seen else 3)
        seen.add(design)
    fig.colour_array("curve_colour", [c for c, _ in styles] or ["c_black"])
    fig.array("curve_dash", dashes or [1])
    fig.set("subtitle", "%s; bars: median share of the structure a worker still shares after "
                        "its walk, whiskers: min–max over workers and repetitions"
            % describe(rows))
    fig.finish(manifest)


def short_na(text):
    """'gc.freeze() does not exist in pypy-7.3.11 (...)' -> 'no gc.freeze()'."""
    return "no gc.freeze()" if text.startswith(NO_FREEZE) else text[:40]
