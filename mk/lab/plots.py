"""plots.py -- `plots`: the lab's figures, drawn by the gnuplot scripts in plots/.

Reads DATA/lab.csv (needed by runtime and rates), and when present convoy.csv,
convoy_samples.csv, sweep.csv, scale.csv, trace-*.csv and cow.csv with cow_smaps.csv
(mk/lab/cow.py prepares that figure). Every input that exists is checked
first (data.py); a malformed one stops everything with "plots: error: FILE:LINE: ..."
and nothing is drawn. Then the groups of analysis.py -- the same the summary tables
print -- become small data files and one NAME.vars.gp per figure in a temporary
folder; each figure's script draws a PNG and an SVG there, and only an image gnuplot
finished without error is moved into OUT, so a failed figure never leaves an empty
or partial file behind.

Colours: each design keeps one colour of the Okabe-Ito palette (style.gp) by its
place in gillab's registry; peers take the colours no design in the figure has, then
the others again, and are drawn dashed, so no two curves look alike.
"""
import glob
import math
import os
import shutil
import subprocess
import tempfile

import analysis
import data
from facts import ROOT, DataError

PLOTDIR = os.path.join(ROOT, "plots")
FIGURES = ("runtime", "rates", "timeline", "convoy", "sweep", "fidelity", "scale", "cow")
# style.gp's palette, by name; designs take them in registry order.
PALETTE = ("c_vermillion", "c_blue", "c_green", "c_purple", "c_black", "c_orange", "c_sky",
           "c_yellow")
# The peers' colours, in order of preference.
PEER_COLOURS = ("c_orange", "c_sky", "c_purple", "c_black", "c_yellow")
SOLID, DASHED = 1, 2  # gnuplot dash types: designs, peers
# The runtime figure's standard series keep their colours: seq, 1 CPU, all CPUs.
SHAPE_COLOURS = {("seq", "all"): "c_sky", ("threads", "one"): "c_orange",
                 ("threads", "all"): "c_vermillion"}
EXTRA_SHAPE_COLOURS = ("c_blue", "c_green", "c_purple", "c_black")


def design_colour(facts, design):
    return PALETTE[facts.design_names.index(design) % len(PALETTE)]


def curve_styles(facts, designs):
    """(colour, dash type) per curve of a figure, for its designs and peers in order:
    a design its own colour, solid; the peers dashed, in the colours no design of the
    figure has first (PEER_COLOURS' order), then the rest of the palette."""
    taken = [design_colour(facts, d) for d in designs if facts.is_design(d)]
    free = [c for c in PEER_COLOURS + PALETTE if c not in taken]
    order = sorted(set(free), key=free.index) + sorted(set(taken), key=taken.index)
    out, peer_i = [], 0
    for d in designs:
        if facts.is_design(d):
            out.append((design_colour(facts, d), SOLID))
        else:
            out.append((order[peer_i % len(order)], DASHED))
            peer_i += 1
    return out


# ---- writing for gnuplot ---------------------------------------------------------------------


def gp_str(s):
    """A gnuplot double-quoted string literal ("\\n" becomes a line break)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def data_str(s):
    """A string field in a gnuplot data file."""
    return '"' + s.replace('"', "'") + '"'


def fmt(x):
    return "NaN" if x is None else "%.6g" % x


class Figure(object):
    def __init__(self, work, name, script):
        self.work, self.name, self.script = work, name, script
        self.lines = []

    def path(self, suffix):
        return os.path.join(self.work, self.name + suffix)

    def set(self, var, value):
        if isinstance(value, str):
            value = gp_str(value)
        self.lines.append("%s = %s" % (var, value))

    def setn(self, var, x):
        """A number (None: NaN)."""
        self.lines.append("%s = %s" % (var, fmt(x)))

    def array(self, var, values):
        self.lines.append("array %s[%d]" % (var, max(len(values), 1)))
        for i, v in enumerate(values, 1):
            self.lines.append("%s[%d] = %s" % (var, i, gp_str(v) if isinstance(v, str) else v))

    def colour_array(self, var, names):
        """Colours given as names of style.gp's palette variables."""
        self.lines.append("array %s[%d]" % (var, max(len(names), 1)))
        for i, v in enumerate(names, 1):
            self.lines.append("%s[%d] = %s" % (var, i, v))

    def raw(self, line):
        self.lines.append(line)

    def write_data(self, suffix, blocks):
        """blocks: a list of lists of rows; blocks are gnuplot index blocks."""
        path = self.path(suffix)
        with open(path, "w") as f:
            for bi, block in enumerate(blocks):
                if bi:
                    f.write("\n\n")
                for row in block:
                    f.write(" ".join(row) + "\n")
        return path

    def finish(self, manifest):
        with open(self.path(".vars.gp"), "w") as f:
            f.write("\n".join(self.lines) + "\n")
        manifest.append((self.script, self.name, self.path(".vars.gp")))


def threads_of(rows, sequential):
    return {r["threads"] for r in rows if sequential(r)}


# ---- runtime and rates -----------------------------------------------------------------------


def bar_clusters(facts, rows):
    """The clusters of the runs without an I/O thread (seq, threads)."""
    plain = [r for r in rows
             if not (facts.scenario(r["scenario"]) or {}).get("io_thread", False)]
    return analysis.clusters(facts, plain)


def shape_series(facts, clusters_, keep):
    """The shapes present (those keep() accepts), in order, with name and colour."""
    shapes = sorted({cell.shape for c in clusters_ for cell in c.cells if keep(cell.shape)},
                    key=lambda s: analysis.shape_rank(facts, s))
    out, extra = [], 0
    for s in shapes:
        colour = SHAPE_COLOURS.get(s[:2])
        if colour is None:
            colour = EXTRA_SHAPE_COLOURS[extra % len(EXTRA_SHAPE_COLOURS)]
            extra += 1
        out.append((s, analysis.series_name(facts, s), colour))
    return out


def prep_runtime(facts, work, lab_path, rows, manifest):
    clusters_ = bar_clusters(facts, rows)
    if not clusters_:
        raise DataError("%s: no rows with status ok in a scenario without an I/O thread"
                        % lab_path)
    all_rows = [r for c in clusters_ for r in c.rows]
    seq = lambda r: analysis.is_sequential(facts, analysis.shape_of(r))
    series = shape_series(facts, clusters_, lambda s: True)
    names = []
    for s, name, _ in series:
        if analysis.is_sequential(facts, s):
            n = threads_of(all_rows, seq)
            name = ("seq (one thread, the work twice)" if n == {"2"} else
                    "seq (one thread, the work %s times)" % n.pop() if len(n) == 1 else
                    "seq (one thread, all the work in a row)")
        names.append(name)
    nbar = len(series)
    bar_w = min(0.8 / nbar, 0.3)
    blocks = [[] for _ in series]
    tics = []
    top = 0.0
    first_peer = None
    for ci, c in enumerate(clusters_):
        if c.peer and first_peer is None:
            first_peer = ci
        cells = {cell.shape: cell for cell in c.cells}
        for si, (s, _, _) in enumerate(series):
            cell = cells.get(s)
            if cell is None or not cell.walls:
                continue
            x = ci + (si - (nbar - 1) / 2.0) * bar_w
            ratio = "%.2f×" % cell.ratio if cell.ratio is not None else ""
            blocks[si].append([fmt(x), fmt(cell.median), fmt(cell.lo), fmt(cell.hi),
                               data_str(ratio), str(len(cell.walls))])
            top = max(top, cell.hi)
        tics.append("%s %d" % (gp_str(c.lines), ci))
    fig = Figure(work, "runtime", "runtime.gp")
    fig.write_data(".dat", blocks)
    fig.set("data", fig.path(".dat"))
    fig.set("nseries", nbar)
    fig.array("series_name", names)
    fig.colour_array("series_colour", [s[2] for s in series])
    n = threads_of(all_rows, lambda r: True)
    words = {"2": "two", "3": "three", "4": "four"}
    if len(n) == 1:
        k = n.pop()
        title = ("Wall time by lock design: %s threads against one thread doing the work %s"
                 % (words.get(k, k), "twice" if k == "2" else k + " times"))
    else:
        title = "Wall time by lock design: threads against one thread doing the same work"
    fig.set("title", title)
    fig.setn("bar_width", bar_w)
    fig.setn("ymax", top * 1.18 if top > 0 else 1)
    fig.set("xmin", -0.6)
    fig.set("xmax", len(clusters_) - 0.4)
    fig.set("subtitle", "%s; bars: median over repetitions, whiskers: min–max; on each bar: "
                        "time ÷ that design's seq median" % analysis.describe_workload(all_rows))
    fig.raw("set xtics (%s)" % ", ".join(tics))
    fig.set("tic_lines", max(c.lines.count("\n") + 1 for c in clusters_))
    fig.setn("peer_split", first_peer - 0.5 if first_peer else None)
    fig.finish(manifest)


def prep_rates(facts, work, lab_path, rows, manifest, note):
    """Switches and futile wake-ups per second of the concurrent shapes (one thread alone
    has nobody to switch to); peers have no lock counters."""
    clusters_ = [c for c in bar_clusters(facts, rows) if not c.peer]
    series = shape_series(facts, clusters_, lambda s: not analysis.is_sequential(facts, s))
    cells = {}  # (cluster index, shape) -> (switches/s spread, futile/s spread)
    for ci, c in enumerate(clusters_):
        for cell in c.cells:
            if analysis.is_sequential(facts, cell.shape):
                continue
            sw, fu = [], []
            for r in cell.rows:
                w, s, f = (analysis.num(r, k) for k in ("wall_s", "switches", "futile_wakeups"))
                if w and s is not None and f is not None:
                    sw.append(s / w)
                    fu.append(f / w)
            if sw:
                cells[(ci, cell.shape)] = (spread(sw), spread(fu))
    if not cells:
        note("%s: no design rows with lock counters in a concurrent scenario; skipping rates"
             % lab_path)
        return
    series = [s for s in series if any(k[1] == s[0] for k in cells)]
    nbar = len(series)
    bar_w = min(0.8 / nbar, 0.3)
    blocks, positive = [], []
    for si, (shape, _, _) in enumerate(series):
        block = []
        for ci in range(len(clusters_)):
            if (ci, shape) not in cells:
                continue
            sw, fu = cells[(ci, shape)]
            x = ci + (si - (nbar - 1) / 2.0) * bar_w
            block.append([fmt(x)] + [fmt(v) for v in sw] + [fmt(v) for v in fu])
            positive += [v for v in sw + fu if v > 0]
        blocks.append(block)
    fig = Figure(work, "rates", "rates.gp")
    fig.write_data(".dat", blocks)
    fig.raw("set xtics (%s)" % ", ".join("%s %d" % (gp_str(c.lines), ci)
                                         for ci, c in enumerate(clusters_)))
    fig.set("tic_lines", max(c.lines.count("\n") + 1 for c in clusters_))
    lo = 10 ** math.floor(math.log10(min(positive))) if positive else 0.1
    hi = 10 ** (math.log10(max(positive)) + 0.6) if positive else 10
    fig.set("data", fig.path(".dat"))
    fig.set("nseries", nbar)
    fig.array("series_name", [s[1] for s in series])
    fig.colour_array("series_colour", [s[2] for s in series])
    fig.setn("bar_width", bar_w)
    fig.setn("ymin", lo / 3)
    fig.setn("ymax", hi)
    fig.set("xmin", -0.6)
    fig.set("xmax", len(clusters_) - 0.4)
    fig.set("subtitle", "%s; threads at once; median over repetitions, whiskers: min–max; "
                        "0: none at all"
            % analysis.describe_workload([r for c in clusters_ for r in c.rows]))
    fig.finish(manifest)


def prep_fidelity(facts, work, path, rows, manifest):
    """One panel per metric: for each pair the model's and the original's means with
    their 95% intervals, and the verdict above them."""
    import fidelity
    metrics = [m for m in fidelity.METRICS if any(r["metric"] == m[0] for r in rows)]
    pairs = []
    for r in rows:
        if r["pair"] not in [p[0] for p in pairs]:
            pairs.append((r["pair"], r["design"], r["original"]))
    by = {(r["pair"], r["metric"]): r for r in rows}
    blocks = []   # per metric: model rows, then original rows (two index blocks each)
    tops = []
    logs = []
    for metric, _, kind, _ in metrics:
        model, real = [], []
        top = 0.0
        # a metric judged as a factor, or one whose values span decades from pair to pair
        # (the convoy: 0.1 ms for py26, 100 ms for ruby), gets a log axis
        means = [v for pair, _, _ in pairs for v in (analysis.num(by.get((pair, metric), {}), "model"),
                                                     analysis.num(by.get((pair, metric), {}), "real"))
                 if v is not None and v > 0]
        log = kind == "factor" or (len(means) > 1 and max(means) > 20 * min(means))
        logs.append(1 if log else 0)

        def low(lo, v):   # a whisker's lower end: never below 0, nor below v/10 on a log axis
            lo = v if lo is None else max(0.0, lo)
            return max(lo, v / 10.0) if log and v else lo
        for pi, (pair, _, _) in enumerate(pairs):
            r = by.get((pair, metric))
            if r is None:
                continue
            m, mlo, mhi = (analysis.num(r, k) for k in ("model", "model_lo", "model_hi"))
            q, qlo, qhi = (analysis.num(r, k) for k in ("real", "real_lo", "real_hi"))
            verdict = r["verdict"] if r["verdict"] in ("ok", "MISS") else ""
            mark = {"ok": "ok", "MISS": "miss"}.get(verdict, "")
            model.append([fmt(pi - 0.18), fmt(m), fmt(low(mlo, m)),
                          fmt(mhi if mhi is not None else m), data_str(mark)])
            real.append([fmt(pi + 0.18), fmt(q), fmt(low(qlo, q)),
                         fmt(qhi if qhi is not None else q), data_str("")])
            top = max([top] + [v for v in (m, mhi, q, qhi) if v is not None])
        blocks += [model or [["NaN", "NaN", "NaN", "NaN", '""']],
                   real or [["NaN", "NaN", "NaN", "NaN", '""']]]
        tops.append(top * 1.25 if top > 0 else 1)
    fig = Figure(work, "fidelity", "fidelity.gp")
    fig.write_data(".dat", blocks)
    fig.set("data", fig.path(".dat"))
    fig.set("npanels", len(metrics))
    fig.set("npairs", len(pairs))
    fig.array("panel_title", [m[1] for m in metrics])
    fig.array("panel_ymax", [t for t in tops])
    fig.array("panel_log", logs)
    fig.raw("set xtics (%s)" % ", ".join("%s %d" % (gp_str(d + "\n" + o.replace("cpython-", "CPy ")), i)
                                         for i, (_, d, o) in enumerate(pairs)))
    fig.colour_array("model_colour", [design_colour(facts, d) for _, d, _ in pairs] or ["c_black"])
    fig.set("xmax", len(pairs) - 0.5)
    reps = sorted({r["reps"] for r in rows})
    fig.set("subtitle", "each model (left, its design's colour) beside its original (right, "
                        "grey), interleaved; mean over %s repetitions, whiskers: 95%% interval; "
                        "ok/miss: the model within its tolerance" % "/".join(reps))
    fig.finish(manifest)


def spread(values):
    return [analysis.median(values), min(values), max(values)]


# ---- convoy ----------------------------------------------------------------------------------


def human_us(us):
    return "%.3g ms" % (us / 1000) if us >= 1000 else "%.3g µs" % us


def prep_convoy(facts, work, samples_path, samples, convoy_rows, manifest, note):
    groups = [g for g in analysis.convoy_groups(facts, convoy_rows, samples) if g.latencies]
    if not groups:
        note("%s: no samples of an ok convoy run; skipping convoy" % samples_path)
        return
    blocks, titles = [], []
    floor_us = 0.1
    for g in groups:
        v = g.latencies
        n = len(v)
        step = max(1, n // 1500)
        pts = [(max(v[i], floor_us), (i + 1) / float(n)) for i in range(0, n, step)]
        if pts[-1][1] != 1.0:
            pts.append((max(v[-1], floor_us), 1.0))
        pts.insert(0, (max(v[0], floor_us), 0.0))
        blocks.append([[fmt(x), fmt(y)] for x, y in pts])
        t = "%s: p50 %s, p99 %s" % (g.label, human_us(g.p50), human_us(g.p99))
        if g.io_per_s is not None:
            t += ", %.0f I/O iterations/s" % g.io_per_s
        titles.append(t)
    styles = curve_styles(facts, [g.design for g in groups])
    fig = Figure(work, "convoy", "convoy.gp")
    fig.write_data(".dat", blocks)
    fig.set("data", fig.path(".dat"))
    fig.set("ncurves", len(groups))
    fig.array("curve_title", titles)
    fig.colour_array("curve_colour", [c for c, _ in styles])
    fig.array("curve_dash", [d for _, d in styles])
    allv = [x for g in groups for x in g.latencies]
    fig.setn("xmin", 10 ** math.floor(math.log10(max(min(allv), floor_us))))
    fig.setn("xmax", 10 ** math.ceil(math.log10(max(max(allv), floor_us * 10))))
    # The first design (registry order) whose runs share a duration parameter: its
    # interval is the line the convoy's latencies line up against.
    marks = [(g.design, col, us) for g in groups for col, us in g.durations]
    if marks:
        design, col, us = marks[0]
        fig.setn("interval_us", us)
        fig.set("interval_label", "%s %s %g µs " % (design, col.replace("_us", ""), us))
    else:
        fig.setn("interval_us", None)
        fig.set("interval_label", "")
    fig.set("subtitle", "%d wake-ups of the I/O thread beside one CPU-bound thread, all "
                        "repetitions pooled (%s)" % (len(allv), os.path.basename(samples_path)))
    fig.finish(manifest)


# ---- sweep -----------------------------------------------------------------------------------


def prep_sweep(facts, work, sweep_path, rows, manifest, note):
    panels = analysis.sweep_panels(facts, rows)
    if not panels:
        note("%s: no ok rows of a design with a swept parameter (gillab designs); skipping "
             "sweep" % sweep_path)
        return
    fig = Figure(work, "sweep", "sweep.gp")
    fig.set("npanels", len(panels))
    for pi, panel in enumerate(panels, 1):
        p = panel.param
        blocks, names = [], []
        for variant, points in panel.curves:
            blocks.append([[fmt(pt.x), fmt(pt.wall), fmt(pt.lo), fmt(pt.hi),
                            fmt(pt.switches_per_s)] for pt in points])
            names.append(variant.replace(" ", ",") if variant else "-")
        first = design_colour(facts, panel.design)
        others = [c for c in PALETTE if c != first]
        fig.set("p%d_n" % pi, len(blocks))
        fig.set("p%d_xlabel" % pi, "%s (%s)" % (p["column"], p["unit"].replace("us", "µs"))
                if p["unit"] else p["column"])
        fig.set("p%d_design" % pi, panel.design)
        fig.set("p%d_title" % pi, "%s: %s" % (panel.design, p["name"]))
        # Space-separated words for gnuplot's word(); "-": the only variant.
        fig.set("p%d_variants" % pi, " ".join(names))
        fig.raw("p%d_colours = %s" % (pi, ".\" \".".join([first] + others[:3])))
        fig.setn("p%d_default" % pi, float(p["default_csv"])
                 if data.is_number(p.get("default_csv", "")) else None)
        sws = [pt.switches_per_s for _, pts in panel.curves for pt in pts
               if pt.switches_per_s and pt.switches_per_s > 0]
        # A log right axis with room above the curves for the key.
        fig.setn("p%d_y2min" % pi, min(sws) / 3 if sws else 1)
        fig.setn("p%d_y2max" % pi, max(sws) * 40 if sws else 10)
        fig.write_data("-%s.dat" % panel.design, blocks)
        fig.set("p%d_data" % pi, fig.path("-%s.dat" % panel.design))
    ok = [r for panel in panels for _, pts in panel.curves for pt in pts for r in pt.rows]
    fig.set("subtitle", "%s; %s; median over repetitions, whiskers: min–max"
            % (analysis.describe_workload(ok), analysis.describe_placement(ok)))
    fig.finish(manifest)


# ---- scale -----------------------------------------------------------------------------------

# Filled point types and their open twins, for the lines of one design's policies.
POINT_TYPES = ((7, 6), (5, 4), (9, 8), (11, 10), (13, 12))


def scale_styles(facts, keys):
    """(colour, dash, filled point, open point) per line of the scale figure, keys being
    (design, label) in figure order: the first line of each design its design's colour,
    a design's other lines (its policies) the colours no design of the figure has, the
    peers dashed in the colours left; the point type tells apart lines that share a
    colour."""
    designs = [d for d, _ in keys if facts.is_design(d)]
    taken = []
    for d in designs:
        if design_colour(facts, d) not in taken:
            taken.append(design_colour(facts, d))
    free = [c for c in PALETTE if c not in taken] or list(PALETTE)
    out, seen, extra, peer_i, uses = [], set(), 0, 0, {}
    for d, _ in keys:
        if facts.is_design(d) and d not in seen:
            colour, dash = design_colour(facts, d), SOLID
            seen.add(d)
        elif facts.is_design(d):
            colour, dash = free[extra % len(free)], SOLID
            extra += 1
        else:
            colour, dash = (free[(extra + peer_i) % len(free)], DASHED)
            peer_i += 1
        n = uses.get(colour, 0)
        uses[colour] = n + 1
        filled, opened = POINT_TYPES[n % len(POINT_TYPES)]
        out.append((colour, dash, filled, opened))
    return out


def prep_scale(facts, work, path, rows, manifest, note):
    works = analysis.scale_workloads(facts, rows)
    works = [w for w in works if any(l.point(1) for l in w[2])]
    if not works:
        note("%s: no ok rows of the threads scenario with one thread; skipping scale" % path)
        return
    keys = []
    for _, _, lines in works:
        for l in lines:
            if (l.design, l.label) not in keys:
                keys.append((l.design, l.label))
    styles = dict(zip(keys, scale_styles(facts, keys)))
    fig = Figure(work, "scale", "scale.gp")
    fig.set("npanels", len(works))
    counts = sorted({t for _, _, lines in works for l in lines for (t, _) in l.points})
    ncpus = sorted({int(r["ncpus"]) for r in rows if (r.get("ncpus") or "").isdigit()
                    and r.get("placement") == "all"}) or [1]
    fig.set("ncpus", ncpus[-1])
    fig.set("xmax", max(counts))
    for pi, (stem, entry, lines) in enumerate(works, 1):
        blocks, tputs = [], []
        for k, l in enumerate(lines, 1):
            pts = l.all_cpus()
            blocks.append([[str(p.threads), fmt(p.tput / 1e6), fmt(p.lo / 1e6), fmt(p.hi / 1e6)]
                           for p in pts] or [["NaN", "NaN", "NaN", "NaN"]])
            one = l.point(2, "one")
            blocks.append([[str(one.threads), fmt(one.tput / 1e6), "NaN", "NaN"]] if one
                          else [["NaN", "NaN", "NaN", "NaN"]])
            tputs += [x / 1e6 for p in l.points.values() for x in (p.lo, p.hi)]
            colour, dash, filled, opened = styles[(l.design, l.label)]
            fig.raw("p%d_colour%d = %s" % (pi, k, colour))
            fig.raw("p%d_dash%d = %d" % (pi, k, dash))
            fig.raw("p%d_pt%d = %d" % (pi, k, filled))
            fig.raw("p%d_ptopen%d = %d" % (pi, k, opened))
        fig.write_data("-%d.dat" % pi, blocks)
        fig.set("p%d_data" % pi, fig.path("-%d.dat" % pi))
        fig.set("p%d_n" % pi, len(lines))
        fig.set("p%d_title" % pi, "%s: %s(N)" % (stem, entry))
        lo, hi = min(tputs), max(tputs)
        fig.setn("p%d_ymin" % pi, lo / 1.6)
        fig.setn("p%d_ymax" % pi, hi * 1.6)
        best = max((l.point(1).tput for l in lines if l.point(1)), default=hi * 1e6) / 1e6
        fig.setn("p%d_guide" % pi, best)
    fig.set("key_n", len(keys))
    for k, key in enumerate(keys, 1):
        colour, dash, filled, _ = styles[key]
        fig.raw("key_colour%d = %s" % (k, colour))
        fig.raw("key_dash%d = %d" % (k, dash))
        fig.raw("key_pt%d = %d" % (k, filled))
        fig.set("key_label%d" % k, key[1])
    fig.set("subtitle", "each thread calls the workload's entry(N) once; median over repetitions, "
                        "whiskers: min–max\nopen marker: 2 threads pinned to 1 CPU; dotted: the "
                        "fastest line's one thread times the threads, up to the %d CPUs" % ncpus[-1])
    fig.finish(manifest)


# ---- timelines -------------------------------------------------------------------------------


def env_ms(name, default):
    v = os.environ.get(name, "").strip()
    if not v:
        return default
    if not data.is_number(v) or float(v) < 0:
        raise DataError("%s=%s: expected a number of milliseconds" % (name, v))
    return float(v)


def merge_periods(periods, gap_ns):
    """Join periods of one strip that are less than gap_ns apart."""
    out = []
    for y, a, b in sorted(periods):
        if out and out[-1][0] == y and a - out[-1][2] < gap_ns:
            out[-1] = (y, out[-1][1], max(b, out[-1][2]))
        else:
            out.append((y, a, b))
    return out


def prep_timeline(facts, work, path, info, manifest):
    design = os.path.basename(path)[len("trace-"):-len(".csv")] or "trace"
    width_ns = env_ms("TIMELINE_MS", 50.0) * 1e6
    if width_ns <= 0:
        raise DataError("TIMELINE_MS: must be more than 0")
    first, last = info["first_ns"], info["last_ns"]
    start_ms = env_ms("TIMELINE_START_MS", None)
    w0 = (first + last) / 2.0 - width_ns / 2 if start_ms is None else start_ms * 1e6
    w0 = max(first, min(w0, last - width_ns))
    w1 = min(last, w0 + width_ns)
    if w1 - w0 < 1000:  # a run shorter than a microsecond: show one microsecond
        w1 = w0 + 1000

    threads = info["threads"]
    ypos = {t: i for i, t in enumerate(threads)}
    holds, waits = [], []
    instants = {k: [] for k in ("drop_request", "futile_wakeup", "timeout", "block_enter",
                                "block_exit")}
    held_since, asked_since = {}, {}
    last_holder = None
    counts = dict.fromkeys(("switches", "drop_request", "futile_wakeup", "timeout"), 0)

    def add(lst, th, a, b):
        a, b = max(a, w0), min(b, w1)
        if b >= a:
            lst.append((ypos[th], a, b))

    for t, th, ev in data.trace_events(path, facts):
        if ev == "request":
            asked_since[th] = t
        elif ev == "acquire":
            if th in asked_since:
                add(waits, th, asked_since.pop(th), t)
            held_since[th] = t
            if last_holder is not None and last_holder != th and w0 <= t <= w1:
                counts["switches"] += 1
            last_holder = th
        elif ev == "release":
            if th in held_since:
                add(holds, th, held_since.pop(th), t)
        elif w0 <= t <= w1:
            instants[ev].append((ypos[th], t))
            if ev in counts:
                counts[ev] += 1
    # Periods still open when the trace ends lasted at least until its end.
    for th, a in held_since.items():
        add(holds, th, a, last)
    for th, a in asked_since.items():
        add(waits, th, a, last)

    # A gap far below a pixel (a release and an immediate re-acquire by the same thread)
    # cannot be seen; joining the two bars keeps the image from turning into
    # anti-aliased stripes. The counts in the subtitle are not affected.
    holds = merge_periods(holds, (w1 - w0) / 4000)
    waits = merge_periods(waits, (w1 - w0) / 4000)
    ms = lambda ns: "%.6f" % (ns / 1e6)
    empty = [["NaN", "NaN", "NaN"]]
    fig = Figure(work, "timeline-%s" % design, "timeline.gp")
    fig.write_data("-holds.dat", [[[ms(a), ms(b), str(y)] for y, a, b in holds] or empty])
    fig.write_data("-waits.dat", [[[ms(a), ms(b), str(y)] for y, a, b in waits] or empty])
    fig.set("holds", fig.path("-holds.dat"))
    fig.set("waits", fig.path("-waits.dat"))
    fig.set("has_holds", 1 if holds else 0)
    fig.set("has_waits", 1 if waits else 0)
    for k, pts in instants.items():
        fig.set("has_%s" % k, 1 if pts else 0)
        if pts:
            fig.write_data("-%s.dat" % k, [[[ms(t), str(y)] for y, t in pts]])
            fig.set(k, fig.path("-%s.dat" % k))
    fig.set("nthreads", len(threads))
    fig.raw("set ytics (%s)" % ", ".join("%s %d" % (gp_str("thread %d" % t), ypos[t])
                                          for t in threads))
    fig.raw("xmin = %s" % ms(w0))
    fig.raw("xmax = %s" % ms(w1))
    fig.set("design", design)
    span = ("the whole %.3g ms run" % ((last - first) / 1e6) if w0 <= first and w1 >= last
            else "%.3g ms of a %.3g ms run" % ((w1 - w0) / 1e6, (last - first) / 1e6))
    fig.set("subtitle", "%s: %s; in this window: %d switches, %d futile wake-ups, %d time-outs, "
                        "%d drop requests" % (os.path.basename(path), span, counts["switches"],
                                              counts["futile_wakeup"], counts["timeout"],
                                              counts["drop_request"]))
    fig.finish(manifest)


# ---- reading, then drawing ------------------------------------------------------------------


def prepare(facts, data_dir, work, wanted, note):
    """Check the inputs and write the figures' data into work; the manifest, or
    DataError naming every malformed file."""
    p = lambda n: os.path.join(data_dir, n)
    errors = []

    def load(fn, *a):
        try:
            return fn(*a)
        except DataError as e:
            errors.append(str(e))
            return None

    lab_path = p("lab.csv")
    need_lab = bool(wanted & {"runtime", "rates"})
    if need_lab and not os.path.exists(lab_path):
        raise DataError("%s: no such file: the figures need the lab's results (run `make lab`, "
                        "or point DATA= at a folder holding lab.csv)" % lab_path)
    lab = load(data.read_results, lab_path, facts) if need_lab else None
    convoy = samples = sweep = None
    if "convoy" in wanted and os.path.exists(p("convoy.csv")):
        convoy = load(data.read_results, p("convoy.csv"), facts)
    if "convoy" in wanted and os.path.exists(p("convoy_samples.csv")):
        samples = load(data.read_samples, p("convoy_samples.csv"), facts)
    if "sweep" in wanted and os.path.exists(p("sweep.csv")):
        sweep = load(data.read_results, p("sweep.csv"), facts)
    scale = None
    if "scale" in wanted and os.path.exists(p("scale.csv")):
        scale = load(data.read_results, p("scale.csv"), facts)
    fidelity_rows = None
    if "fidelity" in wanted and os.path.exists(p("fidelity.csv")):
        fidelity_rows = load(data.read_fidelity, p("fidelity.csv"))
    traces = []
    if "timeline" in wanted:
        for t in sorted(glob.glob(glob.escape(data_dir) + "/trace-*.csv")):
            info = load(data.scan_trace, t, facts)
            if info is not None:
                traces.append((t, info))
    try:
        env_ms("TIMELINE_MS", 50.0)
        env_ms("TIMELINE_START_MS", None)
    except DataError as e:
        errors.append(str(e))
    if errors:
        raise DataError("\n".join(errors))

    manifest = []
    if "runtime" in wanted:
        prep_runtime(facts, work, lab_path, lab, manifest)
    if "rates" in wanted:
        prep_rates(facts, work, lab_path, lab, manifest, note)
    if "timeline" in wanted:
        if traces:
            for t, info in traces:
                prep_timeline(facts, work, t, info, manifest)
        else:
            note("no trace-*.csv in %s; skipping the timelines (make them with "
                 "`gillab run ... --trace %s/trace-DESIGN.csv`)" % (data_dir, data_dir))
    if "convoy" in wanted:
        if samples is not None:
            prep_convoy(facts, work, p("convoy_samples.csv"), samples, convoy, manifest, note)
        else:
            note("no convoy_samples.csv in %s; skipping convoy" % data_dir)
    if "sweep" in wanted:
        if sweep is not None:
            prep_sweep(facts, work, p("sweep.csv"), sweep, manifest, note)
        else:
            note("no sweep.csv in %s; skipping sweep (make it with `make sweep`)" % data_dir)
    if "scale" in wanted:
        if scale is not None:
            prep_scale(facts, work, p("scale.csv"), scale, manifest, note)
        else:
            note("no scale.csv in %s; skipping scale (make it with `make scale`)" % data_dir)
    if "cow" in wanted:   # copy-on-write after fork: mk/lab/cow.py groups and prepares it
        import cow
        cow.prep_figure(facts, work, data_dir, manifest, note)
    if "fidelity" in wanted:
        if fidelity_rows is not None:
            prep_fidelity(facts, work, p("fidelity.csv"), fidelity_rows, manifest)
        else:
            note("no fidelity.csv in %s; skipping fidelity (make it with `make fidelity`)"
                 % data_dir)
    return manifest


def gp_quote(s):
    """A gnuplot single-quoted string holding s (a quote is written twice)."""
    return "'%s'" % s.replace("'", "''")


def draw(facts, data_dir, out_dir, only, say):
    """Draw the figures (only: a set of names from FIGURES; empty: all). Returns 0, or 1
    after saying what failed."""
    def err(msg):
        say("error: " + msg)

    def note(msg):
        say("note: " + msg)

    unknown = sorted(only - set(FIGURES))
    if unknown:
        err("ONLY=%s: unknown figure(s) %s; figures: %s"
            % (",".join(sorted(only)), ", ".join(unknown), ", ".join(sorted(FIGURES))))
        return 1
    if shutil.which("gnuplot") is None:
        err("gnuplot not found (apt-get install gnuplot-nox, or make deps)")
        return 1
    if not os.path.isdir(data_dir):
        err("%s: no such folder (DATA= names the folder holding lab.csv)" % data_dir)
        return 1
    work = tempfile.mkdtemp(prefix="gillab-plots.")
    try:
        try:
            manifest = prepare(facts, data_dir, work, only or set(FIGURES), note)
        except DataError as e:
            for line in str(e).splitlines():
                err(line)
            err("nothing drawn: fix the file(s) above")
            return 1
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as e:
            err("%s: cannot make the output folder: %s" % (out_dir, e.strerror))
            return 1
        made, failed = [], 0
        for script, name, vars_path in manifest:
            for ext in ("png", "svg"):
                img = os.path.join(work, "%s.%s" % (name, ext))
                p = subprocess.run(
                    ["gnuplot", "-e", "out=%s; vars=%s; plotdir=%s"
                     % (gp_quote(img), gp_quote(vars_path), gp_quote(PLOTDIR)),
                     os.path.join(PLOTDIR, script)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
                if p.returncode != 0 or not os.path.exists(img) or os.path.getsize(img) == 0:
                    err("gnuplot failed drawing %s.%s with plots/%s:" % (name, ext, script))
                    for line in p.stderr.strip().splitlines():
                        say("    " + line)
                    failed += 1
                    continue
                for line in p.stderr.strip().splitlines():
                    say("gnuplot (%s.%s): %s" % (name, ext, line))
                # Copy next to the target, then rename: OUT never holds a half-written image.
                target = os.path.join(out_dir, "%s.%s" % (name, ext))
                part = os.path.join(out_dir, ".%s.%s.part%d" % (name, ext, os.getpid()))
                try:
                    shutil.copyfile(img, part)
                    os.replace(part, target)
                    made.append(os.path.basename(target))
                except OSError as e:
                    if os.path.exists(part):
                        os.unlink(part)
                    err("cannot write %s: %s" % (target, e.strerror))
                    failed += 1
        say("wrote %d images into %s/: %s" % (len(made), out_dir, " ".join(made)))
        if failed:
            err("%d image(s) failed; see above" % failed)
            return 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
