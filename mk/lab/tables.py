"""tables.py -- the summary tables, for a person, from analysis.py's groups.

`python3 mk/lab summary DIR` prints every table it has data for; `lab` and `sweep`
print theirs at the end. The figures (plots.py) draw from the same groups.
"""
import os

import analysis
import data
import stats

# Where a shape's ratio to seq changes what it says: slower than one thread doing the
# work (> 1.1), about even, faster (< 0.9).
RATIO_THRESHOLDS = (0.9, 1.1)


def fmt(x, spec, dash="-"):
    return dash if x is None else format(x, spec)


def table(headers, rows, aligns):
    """Aligned columns; aligns: one "<" (left) or ">" (right) per column."""
    widths = [max([len(str(h))] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if a == "<" else str(c).rjust(w)
                         for c, w, a in zip(cells, widths, aligns)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def lab_table(facts, rows):
    out, flips, busy_runs = [], [], 0
    for c in analysis.clusters(facts, rows):
        for cell in c.cells:
            label = analysis.shape_label(facts, cell.shape, c.key["threads"])
            seq = analysis.is_sequential(facts, cell.shape)
            busy_runs += cell.busy
            out.append([c.label, label, c.key["args"], len(cell.rows),
                        ("%d" % cell.busy) if cell.busy else "", fmt(cell.median, ".3f"),
                        "%.3f-%.3f" % (cell.lo, cell.hi) if cell.walls else "-",
                        fmt(cell.ratio, ".2f"),
                        "-" if seq else stats.fmt_ci(cell.ratio_gm, cell.ratio_lo, cell.ratio_hi),
                        fmt(cell.rate("switches"), ".0f"), fmt(cell.rate("wakeups"), ".0f"),
                        fmt(cell.rate("futile_wakeups"), ".0f")])
            if not seq and stats.could_flip(cell.ratio_lo, cell.ratio_hi, RATIO_THRESHOLDS):
                flips.append("%s, %s" % (c.label, label))
    wl = sorted({"%s:%s" % (r["workload"], r["entry"]) for r in analysis.ok_rows(rows)})
    lines = [
        "lab: %s -- median wall time of the measured runs; x seq = median / that design's "
        "seq median, with the ratio of geometric means and its 95%% interval; busy = runs "
        "taken while other work kept over %g of a CPU busy" % (", ".join(wl), stats.BUSY_CPUS),
        table(["design", "scenario", "args", "runs", "busy", "wall s", "min-max s", "x seq",
               "ratio [95% CI]", "switches/s", "wakeups/s", "futile/s"], out, "<<>>>>>>>>>>")]
    if busy_runs:
        lines.append("warning: %d run(s) were taken on a busy machine (others_cpu_s, steal_s): "
                     "their ratios may not be the lock's" % busy_runs)
    if flips:
        lines.append("warning: the conclusion could flip (the interval straddles %s) for: %s"
                     % (" or ".join("%g" % t for t in RATIO_THRESHOLDS), "; ".join(flips)))
    return "\n".join(lines)


def convoy_table(facts, rows, samples):
    out = []
    for g in analysis.convoy_groups(facts, rows, samples):
        out.append([g.label, len(g.rows) or "-", fmt(g.io_per_s, ".0f"), fmt(g.p50, ".0f"),
                    fmt(g.p99, ".0f"), len(g.latencies) or "-", fmt(g.switches_per_s, ".0f")])
    return "\n".join([
        "convoy: a CPU-bound thread beside an I/O thread; latency = how late the I/O thread "
        "got going again after each sleep (all samples)",
        table(["design", "runs", "io iters/s", "latency median us", "p99 us", "samples",
               "switches/s"], out, "<>>>>>>")])


def sweep_table(facts, rows):
    out = []
    for panel in analysis.sweep_panels(facts, rows):
        p = panel.param
        for variant, points in panel.curves:
            for pt in points:
                out.append([panel.design, p["name"] + (" " + variant if variant else ""),
                            "%g %s" % (pt.x, p["unit"]) if p["unit"] else "%g" % pt.x,
                            len(pt.rows), "%.3f" % pt.wall, fmt(pt.switches_per_s, ".0f"),
                            fmt(pt.futile_per_s, ".0f"),
                            fmt(None if pt.wait_max_s is None else pt.wait_max_s * 1000, ".2f")])
    return "\n".join([
        "sweep: each design's swept parameter (gillab designs), median over runs",
        table(["design", "parameter", "value", "runs", "wall s", "switches/s", "futile/s",
               "worst wait ms"], out, "<<>>>>>>")])


# The VM's counters the scale table shows per loop iteration, at two threads on all CPUs.
SCALE_COUNTERS = (("refcount_atomics", "atomics/iter"), ("biased_queued", "queued/iter"),
                  ("biased_merged", "merged/iter"), ("objlock_contended", "lock waits/iter"),
                  ("deferred_releases", "deferred/iter"))


def per_iter(x):
    if x is None:
        return "-"
    return "0" if x == 0 else "%.2g" % x


def scale_table(facts, rows):
    blocks = []
    for stem, entry, lines in analysis.scale_workloads(facts, rows):
        counts = sorted({t for l in lines for (t, p) in l.points if p == "all" and t > 1})
        out = []
        for l in lines:
            one = l.point(1)
            two = l.point(2)
            cells = [l.label, l.n, sum(len(p.rows) for p in l.points.values()),
                     fmt(None if not one else one.tput / 1e6, ".2f")]
            cells += [fmt(l.speedup(t), ".2f") for t in counts]
            cells.append(fmt(l.speedup(2, "one"), ".2f"))
            cells += [per_iter(two.per_iteration(c) if two else None) for c, _ in SCALE_COUNTERS]
            out.append(cells)
        headers = (["contender", "N", "runs", "M iter/s, 1 thread"] +
                   ["x%d threads" % t for t in counts] + ["x2 on 1 CPU"] +
                   [h for _, h in SCALE_COUNTERS])
        blocks.append("\n".join([
            "scale: %s: %s(N) in every thread; throughput = threads x N / wall, median over "
            "runs; xT = throughput of T threads on all CPUs over one thread's, the median of "
            "each repetition's own ratio (2 CPUs: at most 2); counters per loop iteration at 2 threads on all CPUs (- : the policy "
            "has none)" % (stem, entry),
            table(headers, out, "<>>>" + ">" * (len(counts) + 1 + len(SCALE_COUNTERS)))]))
    return "\n\n".join(blocks)


def failures(rows, limit=10):
    bad = analysis.failed_rows(rows)
    if not bad:
        return ""
    lines = ["%d run(s) failed:" % len(bad)]
    for r in bad[:limit]:
        lines.append("  %s %s rep %s %s: %s" % (r["design"], r["scenario"], r["rep"] or "-",
                                                r["run_id"], r["message"]))
    if len(bad) > limit:
        lines.append("  ... and %d more" % (len(bad) - limit))
    return "\n".join(lines)


def summary(facts, folder, parts=("lab", "convoy", "sweep", "scale")):
    """The tables for the files of `folder` (the lab's, the convoy's, the sweep's, the
    scale's), as one text; DataError for a malformed file."""
    p = lambda name: os.path.join(folder, name)
    lab = data.read_optional(p("lab.csv"), data.read_results, facts, True) \
        if "lab" in parts else None
    convoy = data.read_optional(p("convoy.csv"), data.read_results, facts, True) \
        if "convoy" in parts else None
    samples = data.read_optional(p("convoy_samples.csv"), data.read_samples, facts, True) \
        if "convoy" in parts else None
    sweep = data.read_optional(p("sweep.csv"), data.read_results, facts, True) \
        if "sweep" in parts else None
    scale = data.read_optional(p("scale.csv"), data.read_results, facts, True) \
        if "scale" in parts else None
    blocks = []
    if lab:
        blocks.append(lab_table(facts, lab))
    if convoy or samples:
        blocks.append(convoy_table(facts, convoy, samples))
    if sweep:
        blocks.append(sweep_table(facts, sweep))
    if scale:
        blocks.append(scale_table(facts, scale))
    failed = failures((lab or []) + (convoy or []) + (sweep or []) + (scale or []))
    if failed:
        blocks.append(failed)
    if not blocks:
        blocks.append("no results in %s (%s)" % (folder, ", ".join(
            {"lab": "lab.csv", "convoy": "convoy.csv", "sweep": "sweep.csv",
             "scale": "scale.csv"}[x] for x in parts)))
    return "\n\n".join(blocks)
