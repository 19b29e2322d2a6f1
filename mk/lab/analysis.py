"""analysis.py -- the lab's arithmetic, once, for the tables and the figures alike.

Rows are grouped into *clusters*: one per design (or peer) and every value of its
parameter columns (the schema's source "design" columns, whatever gillab's registry
holds), workload, entry, args and threads. Inside a cluster, rows are split by
*shape*: scenario and placement (the `placement` column: one CPU, all CPUs, a list).
Each shape's wall times give a median and a range, and its ratio to the cluster's
sequential median ("x seq"). The convoy groups and the sweep curves are made the
same way. Only rows with status ok count.
"""
import math
import os
import statistics

import languages
import stats

CLUSTER_FIELDS = ("workload", "entry", "args", "threads")
PLACEMENT_RANK = {"one": 0, "list": 1, "all": 2}


def num(row, col):
    v = (row.get(col) or "").strip()
    return float(v) if v else None


def median(xs):
    return statistics.median(xs) if xs else None


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted non-empty list (gillab's definition)."""
    k = max(1, int(math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[k - 1]


def ok_rows(rows):
    return [r for r in rows if r["status"] == "ok"]


def rate(rows, column):
    """Median over rows of column / wall_s; None when no row has the column (peers)."""
    xs = [num(r, column) / num(r, "wall_s") for r in rows
          if num(r, column) is not None and num(r, "wall_s")]
    return median(xs)


def sort_value(v):
    """Numbers before text, numbers by value."""
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


# ---- shapes ----------------------------------------------------------------------------------


def shape_of(row):
    """(scenario, placement, cpus): cpus only tells lists apart."""
    p = row["placement"]
    return (row["scenario"], p, row["cpus"] if p == "list" else p)


def shape_rank(facts, shape):
    scenario, placement, _ = shape
    sc = facts.scenario(scenario)
    return (0 if sc and sc["sequential"] else 1, facts.scenario_rank(scenario),
            PLACEMENT_RANK.get(placement, 1), shape[2])


def is_sequential(facts, shape):
    sc = facts.scenario(shape[0])
    return bool(sc and sc["sequential"])


def shape_label(facts, shape, threads):
    """seq (1 thread x2), 2 threads, 1 CPU, 2 threads, all CPUs, convoy, ..."""
    scenario, placement, cpus = shape
    where = {"one": "1 CPU", "all": "all CPUs"}.get(placement, "CPUs " + cpus)
    sc = facts.scenario(scenario)
    if sc and sc["sequential"]:
        return "seq (1 thread x%s)" % threads + ("" if placement == "all" else ", " + where)
    if sc and sc["io_thread"]:
        return scenario + ("" if placement == "all" else ", " + where)
    if scenario == "threads":
        return "%s threads, %s" % (threads, where)
    return "%s, %s threads, %s" % (scenario, threads, where)


def series_name(facts, shape):
    """A figure's legend for a shape (threads vary by cluster, so they are left out)."""
    scenario, placement, cpus = shape
    where = {"one": "on 1 CPU", "all": "on all CPUs"}.get(placement, "on CPUs " + cpus)
    if is_sequential(facts, shape):
        return "seq (one thread)" + ("" if placement == "all" else " " + where)
    if scenario == "threads":
        return "threads " + where
    return "%s %s" % (scenario, where)


# ---- clusters --------------------------------------------------------------------------------


class Cell(object):
    """One shape of one cluster: its ok rows and what they add up to."""

    def __init__(self, shape, rows):
        self.shape = shape
        self.rows = rows
        self.walls = [num(r, "wall_s") for r in rows if num(r, "wall_s") is not None]
        self.median = median(self.walls)
        self.lo = min(self.walls) if self.walls else None
        self.hi = max(self.walls) if self.walls else None
        self.ratio = None  # to the cluster's sequential median, set by Cluster
        # the ratio of geometric means to the sequential runs, with its 95% interval
        self.ratio_gm = self.ratio_lo = self.ratio_hi = None
        self.busy = sum(1 for r in rows if stats.busy(r))

    def rate(self, column):
        return rate(self.rows, column)


class Cluster(object):
    def __init__(self, facts, key, rows):
        self.key = key  # dict: design, the parameter columns, workload, entry, args, threads
        self.design = key["design"]
        self.peer = not facts.is_design(self.design)
        self.rows = rows
        self.label = self.design  # completed by label_clusters
        by_shape = {}
        for r in rows:
            by_shape.setdefault(shape_of(r), []).append(r)
        shapes = sorted(by_shape, key=lambda s: shape_rank(facts, s))
        self.cells = [Cell(s, by_shape[s]) for s in shapes]
        seq = [c for c in self.cells if is_sequential(facts, c.shape) and c.median]
        seq.sort(key=lambda c: c.shape[1] != "all")  # prefer seq on all CPUs
        self.seq_median = seq[0].median if seq else None
        for c in self.cells:
            if self.seq_median and c.median is not None:
                c.ratio = c.median / self.seq_median
                c.ratio_gm, c.ratio_lo, c.ratio_hi = stats.ratio_ci(c.walls, seq[0].walls)


def cluster_key(facts, row):
    key = [("design", row["design"])]
    key += [(c, row.get(c, "")) for c in facts.param_columns]
    key += [(c, row.get(c, "")) for c in CLUSTER_FIELDS]
    return tuple(key)


def clusters(facts, rows):
    """The ok rows in clusters, in the registry's design order, peers last."""
    groups = {}
    for r in ok_rows(rows):
        groups.setdefault(cluster_key(facts, r), []).append(r)
    out = [Cluster(facts, dict(k), g) for k, g in groups.items()]
    out.sort(key=lambda c: (facts.design_rank(c.design, languages.rank(c.key["workload"])),
                            tuple(sort_value(v) for _, v in cluster_key(facts, c.rows[0])[1:])))
    label_clusters(facts, out)
    return out


def label_clusters(facts, clusters_):
    """A cluster's label: its design, plus whatever tells it from the design's other
    clusters (a parameter, the workload, the size, ...)."""
    fields = list(facts.param_columns) + list(CLUSTER_FIELDS)
    for c in clusters_:
        own = [o for o in clusters_ if o.design == c.design]
        extra = []
        for f in fields:
            v = c.key[f]
            if v and len({o.key[f] for o in own}) > 1:
                extra.append(v if f == "workload" else "%s=%s" % (f, v))
        c.label = c.design + (" " + " ".join(extra) if extra else "")
        c.lines = "\n".join([c.design] + extra)


def describe_workload(rows):
    """count.py: count(20000000), or count(N) sized per contender, or how many. A
    workload and its translations (count.py, count.rb: the same stem) count as one."""
    works = {(r["workload"], r["entry"], r["args"]) for r in rows}
    if len(works) == 1:
        w, e, a = works.pop()
        return "%s: %s(%s)" % (w, e, ", ".join(a.split()))
    funcs = {(os.path.splitext(r["workload"])[0], r["entry"]) for r in rows}
    if len(funcs) == 1:
        # One workload, sized per contender (a JIT counts far faster).
        files = sorted({r["workload"] for r in rows}, key=lambda w: (languages.rank(w), w))
        return "%s: %s(N), N per contender" % (", ".join(files), funcs.pop()[1])
    return "%d workloads" % len(funcs)


def describe_placement(rows):
    kinds = {(r["scenario"], r["threads"], r["placement"], r["cpus"]) for r in rows}
    if len(kinds) != 1:
        return "mixed scenarios"
    sc, th, placement, cpus = kinds.pop()
    where = {"one": "1 CPU", "all": "all CPUs"}.get(placement, "CPUs " + cpus)
    return "scenario %s, %s threads on %s" % (sc, th, where)


# ---- convoy ----------------------------------------------------------------------------------


class ConvoyGroup(object):
    def __init__(self, design, label, rows, latencies):
        self.design = design
        self.label = label
        self.rows = rows
        self.latencies = sorted(latencies)
        if self.latencies:
            self.p50 = percentile(self.latencies, 50)
            self.p99 = percentile(self.latencies, 99)
        else:  # no samples file: the median of the per-run figures
            self.p50 = median([num(r, "latency_p50_us") for r in rows
                               if num(r, "latency_p50_us") is not None])
            self.p99 = median([num(r, "latency_p99_us") for r in rows
                               if num(r, "latency_p99_us") is not None])
        self.io_per_s = median([num(r, "io_iters_per_s") for r in rows
                                if num(r, "io_iters_per_s") is not None])
        self.switches_per_s = rate(rows, "switches")
        # (column, value in us) of each duration parameter all the runs share
        self.durations = []


def convoy_groups(facts, rows, samples):
    """One group per convoy cluster, with the latencies of its ok runs' samples. With
    no convoy rows at all (no convoy.csv), samples group by their design column."""
    rows = rows or []
    cl = clusters(facts, rows)
    where = {}
    for i, c in enumerate(cl):
        for r in c.rows:
            where[r["run_id"]] = i
    latencies = [[] for _ in cl]
    orphans = {}
    for s in samples or []:
        i = where.get(s["run_id"])
        if i is not None:
            latencies[i].append(float(s["latency_us"]))
        elif not rows:
            orphans.setdefault(s["design"], []).append(float(s["latency_us"]))
    out = []
    for c, lat in zip(cl, latencies):
        g = ConvoyGroup(c.design, c.label, c.rows, lat)
        if not c.peer:
            for p in facts.design(c.design)["params"]:
                values = {r.get(p["column"], "") for r in c.rows}
                if p["kind"] == "duration" and len(values) == 1 and values != {""}:
                    g.durations.append((p["column"], float(values.pop())))
        out.append(g)
    for design in sorted(orphans, key=facts.design_rank):
        out.append(ConvoyGroup(design, design, [], orphans[design]))
    return out


# ---- sweep -----------------------------------------------------------------------------------


class SweepPoint(object):
    def __init__(self, x, rows):
        self.x = x
        self.rows = rows
        walls = [num(r, "wall_s") for r in rows]
        self.wall = median(walls)
        self.lo, self.hi = min(walls), max(walls)
        self.switches_per_s = rate(rows, "switches")
        self.futile_per_s = rate(rows, "futile_wakeups")
        self.wait_max_s = median([num(r, "wait_max_s") for r in rows
                                  if num(r, "wait_max_s") is not None])


class SweepPanel(object):
    """One design's swept parameter: a curve per value of its other parameters."""

    def __init__(self, design, param, curves):
        self.design = design
        self.param = param          # gillab's description of the parameter
        self.curves = curves        # [(variant label or "", [SweepPoint...])]


def sweep_panels(facts, rows):
    """For every (design, parameter) of the registry that names a sweep and has ok rows
    with that parameter set in `rows`."""
    ok = [r for r in ok_rows(rows) if num(r, "wall_s") is not None]
    panels = []
    for d, param in facts.swept():
        design, col = d["name"], param["column"]
        mine = [r for r in ok if r["design"] == design and num(r, col) is not None
                and num(r, col) > 0]
        if not mine:
            continue
        others = [p["column"] for p in facts.design(design)["params"] if p["column"] != col]
        variants = {}
        for r in mine:
            variants.setdefault(tuple(r.get(o, "") for o in others), []).append(r)
        curves = []
        for v in sorted(variants, key=lambda v: tuple(sort_value(x) for x in v)):
            by_x = {}
            for r in variants[v]:
                by_x.setdefault(num(r, col), []).append(r)
            label = " ".join("%s=%s" % (o, x) for o, x in zip(others, v)) \
                if len(variants) > 1 else ""
            curves.append((label, [SweepPoint(x, by_x[x]) for x in sorted(by_x)]))
        panels.append(SweepPanel(design, param, curves))
    return panels


# ---- scale -------------------------------------------------------------------------------------


class ScalePoint(object):
    """One (threads, placement) of a scale line: throughput = threads x N / wall_s."""

    def __init__(self, threads, placement, rows):
        self.threads, self.placement, self.rows = threads, placement, rows
        tputs = [threads * float(r["args"].split()[0]) / num(r, "wall_s") for r in rows]
        self.by_rep = {r["rep"]: t for r, t in zip(rows, tputs) if r["rep"]}
        self.tput = median(tputs)
        self.lo, self.hi = min(tputs), max(tputs)
        self.wall = median([num(r, "wall_s") for r in rows])

    def per_iteration(self, column):
        """Median over rows of column / (threads x N); None where the column is empty."""
        xs = [num(r, column) / (self.threads * float(r["args"].split()[0])) for r in self.rows
              if num(r, column) is not None]
        return median(xs)


class ScaleLine(object):
    """One contender (design and its parameter values, or a peer) on one workload."""

    def __init__(self, facts, key, rows):
        self.design = key[0]
        self.params = key[1]                     # ((column, value), ...)
        self.peer = not facts.is_design(self.design)
        self.workload = rows[0]["workload"]
        self.entry = rows[0]["entry"]
        self.n = rows[0]["args"].split()[0]
        by = {}
        for r in rows:
            by.setdefault((int(r["threads"]), r["placement"]), []).append(r)
        self.points = {k: ScalePoint(k[0], k[1], v) for k, v in by.items()}
        self.label = self.design

    def point(self, threads, placement="all"):
        return self.points.get((threads, placement))

    def all_cpus(self):
        return [self.points[k] for k in sorted(self.points) if k[1] == "all"]

    def speedup(self, threads, placement="all"):
        """Throughput at (threads, placement) over the throughput of one thread: the
        median over repetitions of each repetition's own ratio (its runs are one round,
        close in time, so the machine's drift falls on both), or the ratio of the
        medians where the rows have no repetitions in common."""
        one, p = self.point(1), self.point(threads, placement)
        if not (one and p and one.tput):
            return None
        paired = [p.by_rep[k] / one.by_rep[k] for k in p.by_rep if one.by_rep.get(k)]
        return median(paired) if paired else p.tput / one.tput


def scale_workloads(facts, rows):
    """[(workload stem, entry, [ScaleLine...])]: the "threads" rows with status ok, one
    line per design and parameter values (or peer) and workload, designs in registry
    order, then the peers. A workload and its translations are one workload."""
    ok = [r for r in ok_rows(rows) if r["scenario"] == "threads" and num(r, "wall_s")
          and r["args"].split() and data_is_number(r["args"].split()[0])]
    by_work = {}
    for r in ok:
        stem = os.path.splitext(r["workload"])[0]
        key = (r["design"], tuple((c, r.get(c, "")) for c in facts.param_columns))
        by_work.setdefault((stem, r["entry"]), {}).setdefault(key, []).append(r)
    out = []
    for (stem, entry), groups in by_work.items():
        lines = [ScaleLine(facts, k, g) for k, g in groups.items()]
        lines.sort(key=lambda l: (facts.design_rank(l.design, languages.rank(l.workload)),
                                  tuple(sort_value(v) for _, v in l.params)))
        for l in lines:   # the parameter values that tell a design's lines apart
            own = [o for o in lines if o.design == l.design]
            extra = ["%s=%s" % (c, v) for i, (c, v) in enumerate(l.params)
                     if v and len({o.params[i][1] for o in own}) > 1]
            l.label = " ".join([l.design] + extra)
        out.append((stem, entry, lines))
    order = {"count": 0, "sharedread": 1, "sharedlist": 2}
    out.sort(key=lambda w: (order.get(w[0], len(order)), w[0]))
    return out


def data_is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


# ---- failures --------------------------------------------------------------------------------


def failed_rows(rows):
    return [r for r in rows if r["status"] != "ok"]
