#!/usr/bin/env python3
"""prepare.py — check the lab's CSV files and boil them down for gnuplot.

Usage: prepare.py DATA_DIR WORK_DIR

Reads lab.csv (required), convoy.csv, convoy_samples.csv, sweep.csv and
trace-*.csv from DATA_DIR. Every file that exists is checked first: the header
must hold the columns the figures read, every row must have as many fields as
the header, numeric columns must hold numbers (or nothing: "not applicable"),
and there must be at least one data row. Any problem is reported as
"plots: error: FILE:LINE: what" on stderr, and nothing is drawn (exit 1).

Then it writes, into WORK_DIR, small whitespace-separated data files and one
NAME.vars.gp per figure (the data-dependent settings: tic labels, ranges,
series names and colours, which the figure's script loads), and a manifest,
figures.tsv, with one line per figure to draw: SCRIPT<TAB>IMAGE_BASENAME<TAB>VARS.
A figure whose optional input is missing is skipped with a note on stderr.

Only the Python standard library is used. Rows whose status is not "ok" are
left out of every figure.

Environment: TIMELINE_MS (window width, default 50) and TIMELINE_START_MS
(window start in ms since the start of the run; default: centred on the
middle of the run).
"""
import csv
import glob
import math
import os
import re
import statistics
import sys

RUN_COLUMNS = (
    "run_id,lab_version,started_utc,host,design,check_interval,lock,interval_us,"
    "force_switching,refcounts,workload,entry,args,scenario,threads,cpus,ncpus,cpu_list,"
    "rep,wall_s,user_s,sys_s,acquisitions,releases,switches,futile_wakeups,timeouts,"
    "drop_requests,drops_honoured,wait_s,wait_max_s,hold_s,ctx_voluntary,ctx_involuntary,"
    "io_iters,io_iters_per_s,latency_p50_us,latency_p90_us,latency_p99_us,latency_max_us,"
    "status,message"
).split(",")
RUN_NUMERIC = set(
    "check_interval interval_us threads ncpus rep wall_s user_s sys_s acquisitions releases "
    "switches futile_wakeups timeouts drop_requests drops_honoured wait_s wait_max_s hold_s "
    "ctx_voluntary ctx_involuntary io_iters io_iters_per_s latency_p50_us latency_p90_us "
    "latency_p99_us latency_max_us".split()
)
# The columns the figures read from a run file; the rest may come and go.
RUN_REQUIRED = (
    "design check_interval lock interval_us force_switching refcounts workload entry args "
    "scenario threads ncpus rep wall_s switches futile_wakeups status".split()
)
SAMPLE_COLUMNS = ["run_id", "design", "rep", "sample", "latency_us"]
SAMPLE_NUMERIC = {"rep", "sample", "latency_us"}
TRACE_COLUMNS = ["t_ns", "thread", "event"]
TRACE_EVENTS = ("request", "acquire", "release", "drop_request", "timeout",
                "futile_wakeup", "block_enter", "block_exit")
WHOLE_NUMBER = re.compile(r"-?[0-9]+\Z")
PARAM_COLUMNS = ("check_interval", "lock", "interval_us", "force_switching", "refcounts")

# Order of the lab's own designs in every figure; peers follow, by name.
LAB_DESIGN_ORDER = ("py26", "py32", "none", "noop", "fifo")
# Colours by name from style.gp (Okabe–Ito). Designs keep one colour everywhere.
DESIGN_COLOURS = {"py26": "c_vermillion", "py32": "c_blue", "none": "c_green",
                  "noop": "c_black", "fifo": "c_purple"}
PEER_COLOURS = ("c_orange", "c_sky", "c_purple", "c_black", "c_yellow")
SCENARIOS = (  # key, legend name, colour ("seq" is renamed after the data, see seq_name)
    ("seq", "seq (one thread)", "c_sky"),
    ("cpu1", "threads on 1 CPU", "c_orange"),
    ("all", "threads on all CPUs", "c_vermillion"),
)


class InputError(Exception):
    pass


def note(msg):
    print(f"plots: note: {msg}", file=sys.stderr)


# ---- reading and checking ------------------------------------------------------------

def is_number(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_table(path, required, numeric):
    """Rows of a CSV file as dicts, or InputError naming the file and line."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, strict=True)
            header = next(reader, None)
            if header is None or header == []:
                raise InputError(f"{path}: empty file: no header line")
            header = [h.strip() for h in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise InputError(f"{path}:1: wrong header: missing column(s) {', '.join(missing)}"
                                 f" (the header must name: {','.join(required)})")
            checked = [(i, c) for i, c in enumerate(header) if c in numeric]
            rows = []
            for rec in reader:
                line = reader.line_num
                if not rec:
                    continue   # a blank line
                if len(rec) != len(header):
                    raise InputError(f"{path}:{line}: {len(rec)} fields, the header has {len(header)}")
                for i, c in checked:
                    v = rec[i].strip()
                    if v and not is_number(v):
                        raise InputError(f"{path}:{line}: column {c}: '{v}' is not a number")
                row = dict(zip(header, rec))
                row["_line"] = line
                rows.append(row)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text")
    except csv.Error as e:
        raise InputError(f"{path}:{reader.line_num}: {e}")
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    if not rows:
        raise InputError(f"{path}: no data rows (only a header)")
    return rows


def ok_rows(rows):
    return [r for r in rows if r["status"] == "ok"]


def num(row, col):
    v = row.get(col, "").strip()
    return float(v) if v else None


def check_trace(path):
    """Stream through a trace once: check it, and return its time span and threads."""
    first = last = None
    threads = set()
    n = 0
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, strict=True)
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != TRACE_COLUMNS:
                raise InputError(f"{path}:1: wrong header: expected {','.join(TRACE_COLUMNS)}")
            for rec in reader:
                line = reader.line_num
                if not rec:
                    continue
                if len(rec) != 3:
                    raise InputError(f"{path}:{line}: {len(rec)} fields, the header has 3")
                t, th, ev = rec
                if not WHOLE_NUMBER.match(t.strip()):
                    raise InputError(f"{path}:{line}: column t_ns: '{t}' is not a whole number")
                if not th.strip().isdigit():
                    raise InputError(f"{path}:{line}: column thread: '{th}' is not a thread id")
                if ev not in TRACE_EVENTS:
                    raise InputError(f"{path}:{line}: column event: '{ev}' is not one of "
                                     f"{', '.join(TRACE_EVENTS)}")
                t = int(t.strip())
                first = t if first is None else min(first, t)
                last = t if last is None else max(last, t)
                threads.add(int(th))
                n += 1
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text")
    except csv.Error as e:
        raise InputError(f"{path}: {e}")
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    if n == 0:
        raise InputError(f"{path}: no data rows (only a header)")
    return {"first_ns": first, "last_ns": last, "threads": sorted(threads), "events": n}


# ---- writing for gnuplot ---------------------------------------------------------------

def gp_str(s):
    """A gnuplot double-quoted string literal ("\\n" becomes a line break)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def data_str(s):
    """A string field in a gnuplot data file."""
    return '"' + s.replace('"', "'") + '"'


def fmt(x):
    return "NaN" if x is None else f"{x:.6g}"


class Figure:
    def __init__(self, work, name, script):
        self.work, self.name, self.script = work, name, script
        self.lines = []

    def path(self, suffix):
        return os.path.join(self.work, f"{self.name}{suffix}")

    def set(self, var, value):
        if isinstance(value, str):
            value = gp_str(value)
        self.lines.append(f"{var} = {value}")

    def setn(self, var, x):
        """A number (None: NaN)."""
        self.lines.append(f"{var} = {fmt(x)}")

    def array(self, var, values):
        self.lines.append(f"array {var}[{max(len(values), 1)}]")
        for i, v in enumerate(values, 1):
            self.lines.append(f"{var}[{i}] = {gp_str(v) if isinstance(v, str) else v}")

    def colour_array(self, var, names):
        """Colours given as names of style.gp's palette variables."""
        self.lines.append(f"array {var}[{max(len(names), 1)}]")
        for i, v in enumerate(names, 1):
            self.lines.append(f"{var}[{i}] = {v}")

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


def is_peer(rows):
    """Peer interpreters leave every lock column empty."""
    return all(not r.get("acquisitions", "").strip() for r in rows)


def design_sort_key(design, peer):
    if not peer and design in LAB_DESIGN_ORDER:
        return (0, LAB_DESIGN_ORDER.index(design), design)
    return (1 if not peer else 2, 0, design)


def scenario_key(row):
    sc = row["scenario"]
    if sc == "seq":
        return "seq"
    if sc == "threads":
        n = num(row, "ncpus")
        if n is None:
            return None
        return "cpu1" if n <= 1 else "all"
    return None


def cluster_labels(clusters):
    """x labels: the design, plus whatever else tells clusters apart."""
    fields = ["workload", "entry", "args", "threads"] + list(PARAM_COLUMNS)
    varying = [f for f in fields if len({c["key"][f] for c in clusters}) > 1]
    labels = []
    for c in clusters:
        design = c["design"]
        extra = []
        for f in varying:
            v = c["key"][f]
            if not v:
                continue
            if f in PARAM_COLUMNS:
                same_design = [o for o in clusters if o["design"] == design]
                if len({o["key"][f] for o in same_design}) <= 1:
                    continue
            extra.append(f"{f}={v}" if f not in ("workload",) else v)
        labels.append(design + ("\n" + "\n".join(extra) if extra else ""))
    return labels


def make_clusters(rows):
    """Group run rows by everything but the scenario, placement and repetition."""
    fields = ["design", "workload", "entry", "args", "threads"] + list(PARAM_COLUMNS)
    groups = {}
    for r in rows:
        sk = scenario_key(r)
        if sk is None:
            continue
        key = tuple(r[f] for f in fields)
        g = groups.setdefault(key, {"key": dict(zip(fields, key)), "design": r["design"], "rows": []})
        g["rows"].append(r)
    clusters = list(groups.values())
    for c in clusters:
        c["peer"] = is_peer(c["rows"])
    clusters.sort(key=lambda c: design_sort_key(c["design"], c["peer"]) + (tuple(c["key"].values()),))
    return clusters


def spread(values):
    return statistics.median(values), min(values), max(values)


def describe_workload(rows):
    works = {(r["workload"], r["entry"], r["args"]) for r in rows}
    if len(works) == 1:
        w, e, a = works.pop()
        return f"{w}: {e}({', '.join(a.split())})"
    funcs = {(r["workload"], r["entry"]) for r in rows}
    if len(funcs) == 1:
        # One workload, sized per contender (a JIT counts far faster).
        w, e = funcs.pop()
        return f"{w}: {e}(N), N per contender"
    return f"{len(funcs)} workloads"


def describe_placement(rows):
    kinds = {(r["scenario"], r["threads"], r["ncpus"]) for r in rows}
    if len(kinds) != 1:
        return "mixed scenarios"
    sc, th, nc = kinds.pop()
    return f"scenario {sc}, {th} threads on {nc} CPU{'s' if nc != '1' else ''}"


def threads_of(rows, scenario):
    return {r["threads"] for r in rows if r["scenario"] == scenario}


def seq_name(rows):
    n = threads_of(rows, "seq")
    if n == {"2"}:
        return "seq (one thread, the work twice)"
    if len(n) == 1:
        return f"seq (one thread, the work {n.pop()} times)"
    return "seq (one thread, all the work in a row)"


def runtime_title(rows):
    n = threads_of(rows, "threads") | threads_of(rows, "seq")
    words = {"2": "two", "3": "three", "4": "four"}
    if len(n) == 1:
        k = n.pop()
        return (f"Wall time by lock design: {words.get(k, k)} threads against "
                f"one thread doing the work {'twice' if k == '2' else k + ' times'}")
    return "Wall time by lock design: threads against one thread doing the same work"


# ---- figure 1: runtime -------------------------------------------------------------------

def prep_runtime(work, lab_path, rows, manifest):
    clusters = make_clusters(ok_rows(rows))
    if not clusters:
        raise InputError(f"{lab_path}: no rows with status ok in scenario seq or threads")
    fig = Figure(work, "runtime", "runtime.gp")
    labels = cluster_labels(clusters)
    present = [s for s in SCENARIOS
               if any(scenario_key(r) == s[0] for c in clusters for r in c["rows"])]
    nbar = len(present)
    bar_w = min(0.8 / nbar, 0.3)
    blocks = [[] for _ in present]
    tics = []
    top = 0.0
    first_peer = None
    for ci, c in enumerate(clusters):
        if c["peer"] and first_peer is None:
            first_peer = ci
        by_sc = {}
        for r in c["rows"]:
            w = num(r, "wall_s")
            if w is not None:
                by_sc.setdefault(scenario_key(r), []).append(w)
        base = statistics.median(by_sc["seq"]) if "seq" in by_sc else None
        for si, (sk, _, _) in enumerate(present):
            if sk not in by_sc:
                continue
            med, lo, hi = spread(by_sc[sk])
            x = ci + (si - (nbar - 1) / 2) * bar_w
            ratio = f"{med / base:.2f}×" if base else ""
            blocks[si].append([fmt(x), fmt(med), fmt(lo), fmt(hi), data_str(ratio), str(len(by_sc[sk]))])
            top = max(top, hi)
        tics.append(f"{gp_str(labels[ci])} {ci}")
    # A scenario with no bars at all has been left out of `present`, so no block is empty.
    fig.write_data(".dat", blocks)
    fig.set("data", fig.path(".dat"))
    fig.set("nseries", len(present))
    all_rows = [r for c in clusters for r in c["rows"]]
    fig.array("series_name", [seq_name(all_rows) if s[0] == "seq" else s[1] for s in present])
    fig.colour_array("series_colour", [s[2] for s in present])
    fig.set("title", runtime_title(all_rows))
    fig.setn("bar_width", bar_w)
    fig.setn("ymax", top * 1.18 if top > 0 else 1)
    fig.set("xmin", -0.6)
    fig.set("xmax", len(clusters) - 0.4)
    fig.set("subtitle", f"{describe_workload([r for c in clusters for r in c['rows']])}; "
                        f"bars: median over repetitions, whiskers: min–max; "
                        f"on each bar: time ÷ that design's seq median")
    fig.raw(f"set xtics ({', '.join(tics)})")
    fig.set("tic_lines", max(lab.count("\n") + 1 for lab in labels))
    if first_peer is not None and first_peer > 0:
        fig.setn("peer_split", first_peer - 0.5)
    else:
        fig.setn("peer_split", None)
    fig.finish(manifest)


# ---- figure 3: rates ----------------------------------------------------------------------

def prep_rates(work, lab_path, rows, manifest):
    """Switches and futile wake-ups per second of the threads scenarios (one
    thread alone has nobody to switch to); peers have no lock counters."""
    clusters = [c for c in make_clusters(ok_rows(rows)) if not c["peer"]]
    cells = {}  # (cluster index, scenario key) -> (switches/s spread, futile/s spread)
    for ci, c in enumerate(clusters):
        per = {}
        for r in c["rows"]:
            w, s, f = num(r, "wall_s"), num(r, "switches"), num(r, "futile_wakeups")
            sk = scenario_key(r)
            if sk != "seq" and w and w > 0 and s is not None and f is not None:
                per.setdefault(sk, ([], []))
                per[sk][0].append(s / w)
                per[sk][1].append(f / w)
        for sk, (sw, fu) in per.items():
            cells[(ci, sk)] = (spread(sw), spread(fu))
    if not cells:
        note(f"{lab_path}: no lab-design rows with lock counters in scenario threads; skipping rates")
        return
    present = [s for s in SCENARIOS if s[0] != "seq" and any(k[1] == s[0] for k in cells)]
    nbar = len(present)
    bar_w = min(0.8 / nbar, 0.3)
    blocks = []
    positive = []
    for si, (sk, _, _) in enumerate(present):
        block = []
        for (ci, k), (sw, fu) in sorted(cells.items()):
            if k != sk:
                continue
            x = ci + (si - (nbar - 1) / 2) * bar_w
            block.append([fmt(x)] + [fmt(v) for v in sw] + [fmt(v) for v in fu])
            positive += [v for v in sw + fu if v > 0]
        blocks.append(block)
    fig = Figure(work, "rates", "rates.gp")
    fig.write_data(".dat", blocks)
    labels = cluster_labels(clusters)
    fig.raw("set xtics (" + ", ".join(f"{gp_str(labels[ci])} {ci}" for ci in range(len(clusters))) + ")")
    fig.set("tic_lines", max(lab.count("\n") + 1 for lab in labels))
    lo = 10 ** math.floor(math.log10(min(positive))) if positive else 0.1
    hi = 10 ** (math.log10(max(positive)) + 0.6) if positive else 10
    fig.set("data", fig.path(".dat"))
    fig.set("nseries", nbar)
    fig.array("series_name", [s[1] for s in present])
    fig.colour_array("series_colour", [s[2] for s in present])
    fig.setn("bar_width", bar_w)
    fig.setn("ymin", lo / 3)
    fig.setn("ymax", hi)
    fig.set("xmin", -0.6)
    fig.set("xmax", len(clusters) - 0.4)
    fig.set("subtitle", f"{describe_workload([r for c in clusters for r in c['rows']])}; "
                        "two threads at once; median over repetitions, whiskers: min–max; 0: none at all")
    fig.finish(manifest)


# ---- figure 4: convoy ------------------------------------------------------------------------

def prep_convoy(work, samples_path, samples, convoy_rows, manifest):
    by_design = {}
    for r in samples:
        by_design.setdefault(r["design"], []).append(float(r["latency_us"]))
    peers = set()
    stats_by_design = {}
    if convoy_rows is not None:
        for d in {r["design"] for r in convoy_rows}:
            drows = [r for r in convoy_rows if r["design"] == d]
            if is_peer(drows):
                peers.add(d)
            ok = ok_rows(drows)
            iops = [num(r, "io_iters_per_s") for r in ok if num(r, "io_iters_per_s") is not None]
            ivs = {r["interval_us"] for r in ok if r["interval_us"]}
            stats_by_design[d] = (statistics.median(iops) if iops else None,
                                  ivs.pop() if len(ivs) == 1 else None)
    designs = sorted(by_design, key=lambda d: design_sort_key(d, d in peers or d not in LAB_DESIGN_ORDER))
    blocks, titles, colours = [], [], []
    floor_us = 0.1
    peer_i = 0
    for d in designs:
        v = sorted(by_design[d])
        n = len(v)
        step = max(1, n // 1500)
        pts = [(max(v[i], floor_us), (i + 1) / n) for i in range(0, n, step)]
        if pts[-1][1] != 1.0:
            pts.append((max(v[-1], floor_us), 1.0))
        pts.insert(0, (max(v[0], floor_us), 0.0))
        blocks.append([[fmt(x), fmt(y)] for x, y in pts])
        p50 = v[min(n - 1, int(0.50 * n))]
        p99 = v[min(n - 1, int(0.99 * n))]
        t = f"{d}: p50 {human_us(p50)}, p99 {human_us(p99)}"
        iops = stats_by_design.get(d, (None, None))[0]
        if iops is not None:
            t += f", {iops:.0f} I/O iterations/s"
        titles.append(t)
        if d in DESIGN_COLOURS and d not in peers:
            colours.append(DESIGN_COLOURS[d])
        else:
            colours.append(PEER_COLOURS[peer_i % len(PEER_COLOURS)])
            peer_i += 1
    fig = Figure(work, "convoy", "convoy.gp")
    fig.write_data(".dat", blocks)
    fig.set("data", fig.path(".dat"))
    fig.set("ncurves", len(designs))
    fig.array("curve_title", titles)
    fig.colour_array("curve_colour", colours)
    allv = [x for d in designs for x in by_design[d]]
    fig.setn("xmin", (10 ** math.floor(math.log10(max(min(allv), floor_us)))))
    fig.setn("xmax", (10 ** math.ceil(math.log10(max(max(allv), floor_us * 10)))))
    iv = stats_by_design.get("py32", (None, None))[1]
    fig.setn("interval_us", float(iv) if iv and is_number(iv) else None)
    fig.set("subtitle", f"{len(allv)} wake-ups of the I/O thread beside one CPU-bound thread, "
                        f"all repetitions pooled ({os.path.basename(samples_path)})")
    fig.finish(manifest)


def human_us(us):
    if us >= 1000:
        return f"{us / 1000:.3g} ms"
    return f"{us:.3g} µs"


# ---- figure 5: sweep -------------------------------------------------------------------------

SWEEP_PANELS = (  # design, x column, the other parameter that may split curves, x label, title
    ("py26", "check_interval", "lock", "check_interval (ticks)", "py26: the check interval"),
    ("py32", "interval_us", "force_switching", "interval_us (µs)", "py32: the switch interval"),
)


def prep_sweep(work, sweep_path, rows, manifest):
    ok = ok_rows(rows)
    fig = Figure(work, "sweep", "sweep.gp")
    any_rows = False
    for pi, (design, xcol, splitcol, xlabel, title) in enumerate(SWEEP_PANELS, 1):
        prow = [r for r in ok if r["design"] == design and num(r, xcol) is not None
                and num(r, xcol) > 0 and num(r, "wall_s") is not None]
        variants = sorted({r[splitcol] for r in prow})
        blocks, names = [], []
        for v in variants:
            by_x = {}
            for r in prow:
                if r[splitcol] == v:
                    by_x.setdefault(num(r, xcol), []).append(r)
            block = []
            for x in sorted(by_x):
                rs = by_x[x]
                wall = spread([num(r, "wall_s") for r in rs])
                sw = [num(r, "switches") / num(r, "wall_s") for r in rs
                      if num(r, "switches") is not None and num(r, "wall_s") > 0]
                swm = statistics.median(sw) if sw else None
                block.append([fmt(x)] + [fmt(w) for w in wall] + [fmt(swm)])
            blocks.append(block)
            names.append(f"{splitcol}={v}" if len(variants) > 1 and v else "")
        fig.set(f"p{pi}_n", len(blocks))
        fig.set(f"p{pi}_xlabel", xlabel)
        fig.set(f"p{pi}_design", design)
        fig.set(f"p{pi}_title", title)
        # Space-separated words for gnuplot's word(); "-": the only variant.
        fig.set(f"p{pi}_variants", " ".join(n or "-" for n in names))
        sws = [float(b[4]) for block in blocks for b in block if b[4] != "NaN" and float(b[4]) > 0]
        # Log right axis with room above the curves for the key.
        fig.setn(f"p{pi}_y2min", min(sws) / 3 if sws else 1)
        fig.setn(f"p{pi}_y2max", max(sws) * 40 if sws else 10)
        if blocks:
            any_rows = True
            fig.write_data(f"-{design}.dat", blocks)
            fig.set(f"p{pi}_data", fig.path(f"-{design}.dat"))
        else:
            fig.set(f"p{pi}_data", "")
    if not any_rows:
        note(f"{sweep_path}: no ok py26/py32 rows with an interval; skipping sweep")
        return
    fig.set("subtitle", f"{describe_workload(ok)}; {describe_placement(ok)}; "
                        "median over repetitions, whiskers: min–max")
    fig.finish(manifest)


# ---- figure 2: timelines ---------------------------------------------------------------------

def env_ms(name, default):
    v = os.environ.get(name, "").strip()
    if not v:
        return default
    if not is_number(v) or float(v) < 0:
        raise InputError(f"{name}={v}: expected a number of milliseconds")
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


def prep_timeline(work, path, info, manifest):
    design = os.path.basename(path)[len("trace-"):-len(".csv")] or "trace"
    width_ns = env_ms("TIMELINE_MS", 50.0) * 1e6
    if width_ns <= 0:
        raise InputError("TIMELINE_MS: must be more than 0")
    first, last = info["first_ns"], info["last_ns"]
    start_ms = env_ms("TIMELINE_START_MS", None)
    if start_ms is None:
        w0 = (first + last) / 2 - width_ns / 2
    else:
        w0 = start_ms * 1e6
    w0 = max(first, min(w0, last - width_ns))
    w1 = min(last, w0 + width_ns)
    if w1 - w0 < 1000:   # a run shorter than a microsecond: show one microsecond
        w1 = w0 + 1000

    threads = info["threads"]
    ypos = {t: i for i, t in enumerate(threads)}
    holds, waits = [], []
    instants = {k: [] for k in ("drop_request", "futile_wakeup", "timeout", "block_enter", "block_exit")}
    held_since, asked_since = {}, {}
    last_holder = None
    counts = dict.fromkeys(("switches", "drop_request", "futile_wakeup", "timeout"), 0)

    def add(lst, th, a, b):
        a, b = max(a, w0), min(b, w1)
        if b >= a:
            lst.append((ypos[th], a, b))

    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for rec in reader:
            if not rec:
                continue
            t, th, ev = int(rec[0].strip()), int(rec[1].strip()), rec[2]
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

    # A gap far below a pixel (a release and an immediate re-acquire by the same
    # thread) cannot be seen; joining the two bars keeps the image from turning
    # into anti-aliased stripes. The counts in the subtitle are not affected.
    holds = merge_periods(holds, (w1 - w0) / 4000)
    waits = merge_periods(waits, (w1 - w0) / 4000)
    ms = lambda ns: f"{ns / 1e6:.6f}"
    name = f"timeline-{design}"
    fig = Figure(work, name, "timeline.gp")
    fig.write_data("-holds.dat", [[[ms(a), ms(b), str(y)] for y, a, b in holds] or [["NaN", "NaN", "NaN"]]])
    fig.write_data("-waits.dat", [[[ms(a), ms(b), str(y)] for y, a, b in waits] or [["NaN", "NaN", "NaN"]]])
    fig.set("holds", fig.path("-holds.dat"))
    fig.set("waits", fig.path("-waits.dat"))
    fig.set("has_holds", 1 if holds else 0)
    fig.set("has_waits", 1 if waits else 0)
    for k, pts in instants.items():
        fig.set(f"has_{k}", 1 if pts else 0)
        if pts:
            fig.write_data(f"-{k}.dat", [[[ms(t), str(y)] for y, t in pts]])
            fig.set(k, fig.path(f"-{k}.dat"))
    fig.set("nthreads", len(threads))
    fig.raw("set ytics (" + ", ".join(f"{gp_str(f'thread {t}')} {ypos[t]}" for t in threads) + ")")
    fig.raw(f"xmin = {ms(w0)}")
    fig.raw(f"xmax = {ms(w1)}")
    fig.set("design", design)
    span = (f"the whole {(last - first) / 1e6:.3g} ms run" if w0 <= first and w1 >= last
            else f"{(w1 - w0) / 1e6:.3g} ms of a {(last - first) / 1e6:.3g} ms run")
    fig.set("subtitle", f"{os.path.basename(path)}: {span}; in this window: "
                        f"{counts['switches']} switches, {counts['futile_wakeup']} futile wake-ups, "
                        f"{counts['timeout']} time-outs, {counts['drop_request']} drop requests")
    fig.finish(manifest)


# ---- main ----------------------------------------------------------------------------------

def main(argv):
    if len(argv) != 3:
        print("usage: prepare.py DATA_DIR WORK_DIR", file=sys.stderr)
        return 2
    data, work = argv[1], argv[2]
    p = lambda n: os.path.join(data, n)
    errors = []

    def load(fn, *a):
        try:
            return fn(*a)
        except InputError as e:
            errors.append(str(e))
            return None

    # ONLY=sweep,convoy,... draws just those figures; lab.csv is needed only by
    # the figures that read it (runtime and rates).
    figures = {"runtime", "rates", "timeline", "convoy", "sweep"}
    only = {f.strip() for f in os.environ.get("ONLY", "").split(",") if f.strip()}
    if only - figures:
        print(f"plots: error: ONLY={os.environ['ONLY']}: unknown figure(s) "
              f"{', '.join(sorted(only - figures))}; figures: {', '.join(sorted(figures))}",
              file=sys.stderr)
        return 1
    wanted = only or figures
    lab_path = p("lab.csv")
    need_lab = bool(wanted & {"runtime", "rates"})
    if need_lab and not os.path.exists(lab_path):
        print(f"plots: error: {lab_path}: no such file: the figures need the lab's results "
              f"(run `make lab`, or point DATA= at a folder holding lab.csv)", file=sys.stderr)
        return 1
    lab = load(read_table, lab_path, RUN_REQUIRED, RUN_NUMERIC) if need_lab else None
    convoy = sweep = samples = None
    if os.path.exists(p("convoy.csv")):
        convoy = load(read_table, p("convoy.csv"), RUN_REQUIRED, RUN_NUMERIC)
    if os.path.exists(p("convoy_samples.csv")):
        samples = load(read_table, p("convoy_samples.csv"), SAMPLE_COLUMNS, SAMPLE_NUMERIC)
        if samples is not None:
            for r in samples:
                if r["latency_us"].strip() == "":
                    errors.append(f"{p('convoy_samples.csv')}:{r['_line']}: column latency_us is empty")
                    break
    if os.path.exists(p("sweep.csv")):
        sweep = load(read_table, p("sweep.csv"), RUN_REQUIRED, RUN_NUMERIC)
    traces = []
    for t in sorted(glob.glob(glob.escape(data) + "/trace-*.csv")):
        info = load(check_trace, t)
        if info is not None:
            traces.append((t, info))
    try:
        env_ms("TIMELINE_MS", 50.0)
        env_ms("TIMELINE_START_MS", None)
    except InputError as e:
        errors.append(str(e))
    if errors:
        for e in errors:
            print(f"plots: error: {e}", file=sys.stderr)
        print("plots: nothing drawn: fix the file(s) above", file=sys.stderr)
        return 1

    manifest = []
    try:
        if "runtime" in wanted:
            prep_runtime(work, lab_path, lab, manifest)
        if "rates" in wanted:
            prep_rates(work, lab_path, lab, manifest)
        if "timeline" not in wanted:
            pass
        elif traces:
            for t, info in traces:
                prep_timeline(work, t, info, manifest)
        else:
            note(f"no trace-*.csv in {data}; skipping the timelines "
                 f"(make them with `gillab run ... --trace {data}/trace-DESIGN.csv`)")
        if "convoy" not in wanted:
            pass
        elif samples is not None:
            prep_convoy(work, p("convoy_samples.csv"), samples, convoy, manifest)
        else:
            note(f"no convoy_samples.csv in {data}; skipping convoy")
        if "sweep" not in wanted:
            pass
        elif sweep is not None:
            prep_sweep(work, p("sweep.csv"), sweep, manifest)
        else:
            note(f"no sweep.csv in {data}; skipping sweep (make it with `make sweep`)")
    except InputError as e:
        print(f"plots: error: {e}", file=sys.stderr)
        print("plots: nothing drawn: fix the file(s) above", file=sys.stderr)
        return 1
    with open(os.path.join(work, "figures.tsv"), "w") as f:
        for script, name, vars_path in manifest:
            f.write(f"{script}\t{name}\t{vars_path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
