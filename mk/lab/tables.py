"""tables.py -- the summary tables, for a person, from analysis.py's groups.

`python3 mk/lab summary DIR` prints every table it has data for; `lab` and `sweep`
print theirs at the end. The figures (plots.py) draw from the same groups.
"""
import os

import analysis
import data


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
    out = []
    for c in analysis.clusters(facts, rows):
        for cell in c.cells:
            out.append([c.label, analysis.shape_label(facts, cell.shape, c.key["threads"]),
                        c.key["args"], len(cell.rows), fmt(cell.median, ".3f"),
                        "%.3f-%.3f" % (cell.lo, cell.hi) if cell.walls else "-",
                        fmt(cell.ratio, ".2f"), fmt(cell.rate("switches"), ".0f"),
                        fmt(cell.rate("futile_wakeups"), ".0f")])
    wl = sorted({"%s:%s" % (r["workload"], r["entry"]) for r in analysis.ok_rows(rows)})
    return "\n".join([
        "lab: %s -- median wall time of the measured runs; x seq = median / that design's "
        "seq median" % ", ".join(wl),
        table(["design", "scenario", "args", "runs", "wall s", "min-max s", "x seq",
               "switches/s", "futile/s"], out, "<<>>>>>>>")])


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


def summary(facts, folder, parts=("lab", "convoy", "sweep")):
    """The tables for the files of `folder` (the lab's, the convoy's, the sweep's), as
    one text; DataError for a malformed file."""
    p = lambda name: os.path.join(folder, name)
    lab = data.read_optional(p("lab.csv"), data.read_results, facts, True) \
        if "lab" in parts else None
    convoy = data.read_optional(p("convoy.csv"), data.read_results, facts, True) \
        if "convoy" in parts else None
    samples = data.read_optional(p("convoy_samples.csv"), data.read_samples, facts, True) \
        if "convoy" in parts else None
    sweep = data.read_optional(p("sweep.csv"), data.read_results, facts, True) \
        if "sweep" in parts else None
    blocks = []
    if lab:
        blocks.append(lab_table(facts, lab))
    if convoy or samples:
        blocks.append(convoy_table(facts, convoy, samples))
    if sweep:
        blocks.append(sweep_table(facts, sweep))
    failed = failures((lab or []) + (convoy or []) + (sweep or []))
    if failed:
        blocks.append(failed)
    if not blocks:
        blocks.append("no results in %s (%s)" % (folder, ", ".join(
            {"lab": "lab.csv", "convoy": "convoy.csv", "sweep": "sweep.csv"}[x] for x in parts)))
    return "\n\n".join(blocks)
