#!/usr/bin/env python3
"""labtool.py -- the arithmetic behind `make lab`, `make sweep` and the lab's checks.

    labtool.py size CSV N TARGET_S       scale a calibration run: prints "N2 ok|again"
    labtool.py count CSV KEY=VALUE...    ok rows whose columns equal the given values
    labtool.py summary DIR               the lab's summary table (lab.csv, convoy.csv,
                                         convoy_samples.csv in DIR)
    labtool.py sweep-summary CSV         the parameter sweep as a table
    labtool.py validate CSV [--expect-header FILE]
                                         check every row of a lab CSV: field count,
                                         types per column, peer rows' empty lock columns
    labtool.py header                    the lab CSV header (the columns peer.py writes)

Tables are for a person and go to stdout (the shell scripts send them to stderr);
problems go to stderr with exit status 1 (bad data) or 2 (bad usage).
Standard library only.
"""
import csv
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
import peer  # noqa: E402  (the one column list, shared with the peer driver)

COLUMNS = peer.COLUMNS
LAB_DESIGN_ORDER = ["py26", "py32", "none", "noop"]
LOCK_COLUMNS = COLUMNS[COLUMNS.index("acquisitions"):COLUMNS.index("hold_s") + 1]
CONVOY_COLUMNS = COLUMNS[COLUMNS.index("io_iters"):COLUMNS.index("latency_max_us") + 1]
PEER_DESIGN = re.compile(r"^[a-z][a-z0-9_]*-\d+\.\d+\.\d+$")


def die(msg, status=1):
    sys.stderr.write("labtool: %s\n" % msg)
    sys.exit(status)


def read_rows(path):
    """The rows of a lab CSV as dicts (empty list when the file is missing/empty)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(text):
    return float(text) if text not in (None, "") else None


def median(xs):
    return statistics.median(xs) if xs else None


def is_peer(design):
    return bool(PEER_DESIGN.match(design))


def design_order(designs):
    known = [d for d in LAB_DESIGN_ORDER if d in designs]
    rest = [d for d in designs if d not in known]
    return known + sorted(set(rest), key=rest.index)


# ---- size -----------------------------------------------------------------------------


def two_digits(n):
    """Round to two significant digits: 12345678 -> 12000000."""
    n = max(1, int(n))
    e = max(0, int(math.floor(math.log10(n))) - 1)
    return int(round(n / 10 ** e)) * 10 ** e


def cmd_size(args):
    if len(args) != 3:
        die("usage: labtool.py size CSV N TARGET_S", 2)
    path, n, target = args[0], int(args[1]), float(args[2])
    walls = [num(r["wall_s"]) for r in read_rows(path) if r["status"] == "ok"]
    if not walls:
        die("%s: the calibration run left no ok row" % path)
    # The fastest repetition: the one least disturbed by whatever else the machine did.
    wall = max(min(walls), 1e-6)
    if wall < target / 2:
        # Too short to scale from reliably: grow, at most 100x, and measure again.
        print("%d again" % two_digits(n * min(target / wall, 100.0)))
    else:
        print("%d ok" % two_digits(n * target / wall))
    return 0


# ---- count ------------------------------------------------------------------------------


def cmd_count(args):
    if not args:
        die("usage: labtool.py count CSV COLUMN=VALUE...", 2)
    want = {}
    for a in args[1:]:
        if "=" not in a:
            die("count: expected COLUMN=VALUE, got '%s'" % a, 2)
        k, v = a.split("=", 1)
        if k not in COLUMNS:
            die("count: unknown column '%s'" % k, 2)
        want[k] = v
    rows = read_rows(args[0])
    print(sum(1 for r in rows if r.get("status") == "ok"
              and all(r.get(k) == v for k, v in want.items())))
    return 0


# ---- summary -------------------------------------------------------------------------------


def scenario_key(r):
    return (r["scenario"], r["threads"], r["cpus"])


def scenario_label(key):
    scenario, threads, cpus = key
    if scenario == "seq":
        return "seq (1 thread x%s)" % threads
    if scenario == "convoy":
        return "convoy"
    where = "1 CPU" if cpus == "1" else "all CPUs" if cpus == "all" else "CPUs " + cpus
    return "%s threads, %s" % (threads, where)


def scenario_rank(key):
    scenario, threads, cpus = key
    return ({"seq": 0, "threads": 1, "convoy": 2}.get(scenario, 3),
            int(threads) if threads.isdigit() else 0,
            {"1": 0, "all": 2}.get(cpus, 1), cpus)


def rate(rows, column):
    """Median over runs of column / wall_s, or None for peers (no lock counters)."""
    xs = [num(r[column]) / num(r["wall_s"]) for r in rows
          if r[column] not in ("", None) and num(r["wall_s"])]
    return median(xs)


def fmt(x, spec, dash="-"):
    return dash if x is None else format(x, spec)


def table(headers, rows, aligns):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]

    def line(cells):
        out = []
        for c, w, a in zip(cells, widths, aligns):
            out.append(str(c).ljust(w) if a == "<" else str(c).rjust(w))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def lab_table(rows):
    ok = [r for r in rows if r["status"] == "ok"]
    groups = {}
    for r in ok:
        groups.setdefault((r["design"], scenario_key(r)), []).append(r)
    designs = design_order([r["design"] for r in ok])
    out = []
    for d in designs:
        keys = sorted((k for (dd, k) in groups if dd == d), key=scenario_rank)
        seq = [k for k in keys if k[0] == "seq"]
        seq_med = median([num(r["wall_s"]) for r in groups[(d, seq[0])]]) if seq else None
        for k in keys:
            g = groups[(d, k)]
            walls = [num(r["wall_s"]) for r in g]
            med = median(walls)
            sizes = sorted(set(r["args"] for r in g))
            out.append([d, scenario_label(k), "/".join(sizes), len(g), "%.3f" % med,
                        "%.3f-%.3f" % (min(walls), max(walls)),
                        fmt(med / seq_med if seq_med else None, ".2f"),
                        fmt(rate(g, "switches"), ".0f"), fmt(rate(g, "futile_wakeups"), ".0f")])
    return table(["design", "scenario", "args", "runs", "wall s", "min-max s", "x seq",
                  "switches/s", "futile/s"], out, "<<>>>>>>>")


def convoy_table(rows, samples):
    ok = [r for r in rows if r["status"] == "ok"]
    by_design = {}
    for r in ok:
        by_design.setdefault(r["design"], []).append(r)
    ids = set(r["run_id"] for r in ok)
    lat = {}
    for s in samples:
        if s["run_id"] in ids:
            lat.setdefault(s["design"], []).append(float(s["latency_us"]))
    out = []
    for d in design_order(list(by_design)):
        g = by_design[d]
        xs = sorted(lat.get(d, []))
        if xs:
            p50, p99 = median(xs), peer.percentile(xs, 99)
        else:  # no samples file: the median of the per-run medians
            p50 = median([num(r["latency_p50_us"]) for r in g if r["latency_p50_us"]])
            p99 = median([num(r["latency_p99_us"]) for r in g if r["latency_p99_us"]])
        out.append([d, len(g), fmt(median([num(r["io_iters_per_s"]) for r in g
                                           if r["io_iters_per_s"]]), ".0f"),
                    fmt(p50, ".0f"), fmt(p99, ".0f"), len(xs) or "-",
                    fmt(rate(g, "switches"), ".0f")])
    return table(["design", "runs", "io iters/s", "latency median us", "p99 us", "samples",
                  "switches/s"], out, "<>>>>>>")


def cmd_summary(args):
    if len(args) != 1:
        die("usage: labtool.py summary DIR", 2)
    d = args[0]
    lab = read_rows(os.path.join(d, "lab.csv"))
    convoy = read_rows(os.path.join(d, "convoy.csv"))
    samples = read_rows(os.path.join(d, "convoy_samples.csv"))
    errors = [r for r in lab + convoy if r["status"] != "ok"]
    if lab:
        wl = sorted(set("%s:%s" % (r["workload"], r["entry"]) for r in lab))
        print("lab: %s -- median wall time of the measured runs; x seq = median / that "
              "design's seq median" % ", ".join(wl))
        print(lab_table(lab))
    if convoy:
        print("")
        print("convoy: a CPU-bound thread beside an I/O thread; latency = how late the I/O "
              "thread got going again after each sleep (all samples)")
        print(convoy_table(convoy, samples))
    if errors:
        print("")
        print("%d run(s) failed:" % len(errors))
        for r in errors[:10]:
            print("  %s %s %s: %s" % (r["design"], r["scenario"], r["run_id"], r["message"]))
    if not lab and not convoy:
        print("lab: no rows in %s" % d)
    return 0


def cmd_sweep_summary(args):
    if len(args) != 1:
        die("usage: labtool.py sweep-summary CSV", 2)
    rows = [r for r in read_rows(args[0]) if r["status"] == "ok"]
    groups = {}
    for r in rows:
        if r["design"] == "py26":
            key = ("py26", "check_interval", num(r["check_interval"]))
        else:
            key = (r["design"], "interval_us", num(r["interval_us"]))
        groups.setdefault(key, []).append(r)
    out = []
    for key in sorted(groups, key=lambda k: (design_order([k[0]]), k[0], k[2] or 0)):
        g = groups[key]
        walls = [num(r["wall_s"]) for r in g]
        value = key[2]
        shown = "%g ms" % (value / 1000.0) if key[1] == "interval_us" and value is not None \
            else fmt(value, "g")
        out.append([key[0], "interval" if key[1] == "interval_us" else key[1], shown, len(g), "%.3f" % median(walls),
                    fmt(rate(g, "switches"), ".0f"), fmt(rate(g, "futile_wakeups"), ".0f"),
                    fmt(median([num(r["wait_max_s"]) * 1000 for r in g if r["wait_max_s"]]),
                        ".2f")])
    print("sweep: two threads on all CPUs, median over runs")
    print(table(["design", "parameter", "value", "runs", "wall s", "switches/s", "futile/s",
                 "worst wait ms"], out, "<<>>>>>>"))
    return 0


# ---- validate -----------------------------------------------------------------------------

INT = re.compile(r"^\d+$")
FLOAT = re.compile(r"^\d+(\.\d+)?([eE][-+]?\d+)?$")
INT_LIST = re.compile(r"^\d+( \d+)*$")
ARGS = re.compile(r"^(-?\d+( -?\d+)*)?$")
TOKEN = re.compile(r"^[^\s,]*$")
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def check_row(r, params, problems, where):
    def bad(col, why):
        problems.append("%s: column %s = '%s': %s" % (where, col, r.get(col), why))

    def need(col, pattern, why, optional=False):
        v = r[col]
        if optional and v == "":
            return
        if not pattern.match(v):
            bad(col, why)

    need("run_id", re.compile(r"^\S+$"), "expected a non-empty id")
    need("lab_version", re.compile(r"^\d+\.\d+\.\d+$"), "expected a version like 0.1.0")
    need("started_utc", UTC, "expected ISO 8601 UTC, e.g. 2025-01-31T12:00:00Z")
    need("host", re.compile(r"^\S+$"), "expected a host name")
    need("design", re.compile(r"^[A-Za-z0-9_.+-]+$"), "expected a design name")
    for c in params:
        need(c, TOKEN, "expected a value without spaces or commas", optional=True)
    need("workload", re.compile(r"^[^/\s]+\.py$"), "expected a file name ending in .py")
    need("entry", re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$"), "expected a function name")
    need("args", ARGS, "expected integers separated by spaces")
    if r["scenario"] not in ("seq", "threads", "convoy"):
        bad("scenario", "expected seq, threads or convoy")
    need("threads", INT, "expected a whole number")
    if r["threads"].isdigit() and not 1 <= int(r["threads"]) <= 256:
        bad("threads", "expected 1..256")
    if r["scenario"] == "convoy" and r["threads"] in ("0", "1"):
        bad("threads", "a convoy runs at least 2 threads")
    if r["cpus"] not in ("1", "all") and not INT_LIST.match(r["cpus"]):
        bad("cpus", "expected 1, all, or CPU numbers separated by spaces")
    need("ncpus", INT, "expected a whole number")
    need("cpu_list", INT_LIST, "expected CPU numbers separated by spaces")
    if INT.match(r["ncpus"]) and INT_LIST.match(r["cpu_list"]):
        if len(r["cpu_list"].split()) != int(r["ncpus"]):
            bad("cpu_list", "expected ncpus=%s CPUs" % r["ncpus"])
        if r["cpus"] == "1" and r["ncpus"] != "1":
            bad("ncpus", "cpus=1 runs on exactly one CPU")
    need("rep", re.compile(r"^[1-9]\d*$"), "expected 1, 2, ...")
    for c in ("wall_s", "user_s", "sys_s"):
        need(c, FLOAT, "expected seconds")
    need("ctx_voluntary", INT, "expected a count")
    need("ctx_involuntary", INT, "expected a count")
    peer_row = is_peer(r["design"])
    for c in LOCK_COLUMNS:
        if peer_row:
            if r[c] != "":
                bad(c, "a peer row leaves the lock columns empty")
        else:
            need(c, FLOAT if c.endswith("_s") else INT,
                 "expected seconds" if c.endswith("_s") else "expected a count")
    if peer_row:
        for c in params:
            if r[c] != "":
                bad(c, "a peer row leaves the design parameter columns empty")
    for c in CONVOY_COLUMNS:
        if r["scenario"] == "convoy" and r["status"] == "ok":
            need(c, INT if c == "io_iters" else FLOAT, "expected a number")
        elif r["scenario"] != "convoy" and r[c] != "":
            bad(c, "only convoy rows have I/O columns")
    if r["status"] not in ("ok", "error"):
        bad("status", "expected ok or error")
    elif (r["status"] == "ok") != (r["message"] == ""):
        bad("message", "expected a message exactly when status is error")


def cmd_validate(args):
    if not args:
        die("usage: labtool.py validate CSV [--expect-header FILE]", 2)
    path = args[0]
    header = ",".join(COLUMNS)
    if len(args) == 3 and args[1] == "--expect-header":
        with open(args[2]) as f:
            header = f.readline().rstrip("\r\n")
    problems = []
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        problems.append("%s: the last line is not complete" % path)
    lines = text.splitlines()
    if not lines:
        problems.append("%s: empty, expected the lab header" % path)
    elif lines[0] != header:
        if len(args) == 1 and peer.compatible(lines[0].split(","), COLUMNS):
            header = lines[0]  # gillab's registry adds design-parameter columns
        else:
            problems.append("%s: line 1 is not the lab header" % path)
    params = peer.param_block(header.split(","))[1]
    ncols = len(header.split(","))
    reader = csv.reader(lines)
    seen = set()
    for i, fields in enumerate(reader, 1):
        if i == 1:
            continue
        where = "%s:%d" % (path, i)
        if len(fields) != ncols:
            problems.append("%s: %d fields, the header has %d" % (where, len(fields), ncols))
            continue
        if fields == header.split(","):
            problems.append("%s: a second header" % where)
            continue
        r = dict(zip(header.split(","), fields))
        if r["run_id"] in seen:
            problems.append("%s: run_id %s appears twice" % (where, r["run_id"]))
        seen.add(r["run_id"])
        check_row(r, params, problems, where)
    for p in problems[:30]:
        sys.stderr.write("labtool: %s\n" % p)
    if len(problems) > 30:
        sys.stderr.write("labtool: ... and %d more\n" % (len(problems) - 30))
    if problems:
        return 1
    sys.stderr.write("labtool: %s: %d rows ok\n" % (path, len(lines) - 1))
    return 0


def main(argv):
    cmds = {"size": cmd_size, "count": cmd_count, "summary": cmd_summary,
            "sweep-summary": cmd_sweep_summary, "validate": cmd_validate,
            "header": lambda a: print(",".join(COLUMNS)) or 0}
    if not argv or argv[0] not in cmds:
        die("usage: labtool.py %s ..." % "|".join(sorted(cmds)), 2)
    return cmds[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
