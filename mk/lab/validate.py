"""validate.py -- a results file checked against gillab's schema, row by row.

`python3 mk/lab validate CSV...`: the header must be gillab's (`gillab csv-header`),
every line whole, every field of the type `gillab csv-schema --json` gives its column;
a registered design's own parameters set and valid (its range, its choices), the
other designs' empty; a peer's lock and parameter columns empty; scenario, threads and
placement consistent with gillab's scenario table and with each other; run ids unique;
and the repetitions of each cell (design, parameters, workload, entry, args, scenario,
threads, cpus) numbered 1, 2, ... n, each once -- a resumed series that numbered again
from 1 shows as a duplicate. A convoy samples file (its own header) is checked too:
types, and samples numbered 1..n per run; so is a fork scenario's memory readings
file (--smaps-csv): types, and each worker's readings in time order.

Fork rows (one per worker and repetition) belong to a cell with their setup,
reference-count policy, worker count and worker; they fill the fork columns, which
every other row leaves empty.
"""
import csv
import re


INT = re.compile(r"^\d+$")
SIGNED_INT = re.compile(r"^-?\d+$")
# Integer columns that may be negative: a fork worker's call may map more shared
# pages (library code) than it makes private.
SIGNED_INT_COLUMNS = ("unshared_kb",)
NUMBER = re.compile(r"^\d+(\.\d+)?([eE][-+]?\d+)?$")
INT_LIST = re.compile(r"^\d+( \d+)*$")
ARGS = re.compile(r"^(-?\d+( -?\d+)*)?$")
TOKEN = re.compile(r"^[^\s,]+$")
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PEER_NAME = re.compile(r"^[a-z][a-z0-9_]*-\d+\.\d+\.\d+$")

# Columns that are never empty, whatever the row.
ALWAYS = ("run_id", "lab_version", "started_utc", "host", "design", "workload", "entry",
          "scenario", "threads", "placement", "cpus", "ncpus", "cpu_list", "wall_s",
          "user_s", "sys_s", "status")
PLACEMENTS = {"1": "one", "all": "all"}  # cpus -> placement; anything else is a list


def check_type(facts, col, v):
    """None when v suits the column's schema type, else why not. Empty is checked
    elsewhere (whether a column may be empty depends on the row)."""
    t = facts.types[col]
    if v == "":
        return None
    if t == "int" and not (SIGNED_INT if col in SIGNED_INT_COLUMNS else INT).match(v):
        return "expected a whole number"
    if t in ("seconds", "real") and not NUMBER.match(v):
        return "expected a number"
    if t == "param" and not TOKEN.match(v):
        return "expected a value without spaces or commas"
    if t == "text" and any(ch in v for ch in ",\"\n"):
        return "a text column holds no comma, quote or line break"
    return None


def check_param(p, v):
    """A design's own parameter value against gillab's description of it."""
    kind = p["kind"]
    if kind == "choice":
        return None if v in p["choices"] else "expected one of %s" % ", ".join(p["choices"])
    if kind == "bool":
        return None if v in ("on", "off") else "expected on or off"
    if not NUMBER.match(v):
        return "expected a number"
    x = float(v)
    lo, hi = p.get("min"), p.get("max")
    if lo is not None and hi is not None and not lo <= x <= hi:
        return "expected %g..%g %s" % (lo, hi, p.get("unit", ""))
    return None


def check_row(facts, r, bad):
    for col in facts.columns:
        why = check_type(facts, col, r[col])
        if why:
            bad(col, why)
    for col in ALWAYS:
        if r[col] == "":
            bad(col, "may not be empty")
    ok = r["status"] == "ok"
    if r["status"] not in ("ok", "error"):
        bad("status", "expected ok or error")
    elif ok != (r["message"] == ""):
        bad("message", "expected a message exactly when status is error")
    if r["started_utc"] and not UTC.match(r["started_utc"]):
        bad("started_utc", "expected ISO 8601 UTC, e.g. 2025-01-31T12:00:00Z")
    if not ARGS.match(r["args"]):
        bad("args", "expected integers separated by spaces")
    if r["rep"] == "":
        if ok:
            bad("rep", "only a failed warm-up has no repetition number")
    elif not INT.match(r["rep"]) or int(r["rep"]) < 1:
        bad("rep", "expected 1, 2, ...")

    design = r["design"]
    registered = facts.is_design(design)
    if not registered and not PEER_NAME.match(design):
        bad("design", "neither a design of gillab designs (%s) nor an interpreter like "
                      "cpython-3.11.7" % ", ".join(facts.design_names))
    own = {p["column"]: p for p in facts.design(design)["params"]} if registered else {}
    for col in facts.param_columns:
        if col in own:
            if r[col] == "":
                bad(col, "%s's parameter may not be empty" % design)
            else:
                why = check_param(own[col], r[col])
                if why:
                    bad(col, why)
        elif r[col] != "":
            bad(col, "not a parameter of %s: expected empty" % design)
    for col in facts.lock_columns:
        if not registered and r[col] != "":
            bad(col, "a peer row leaves the lock columns empty")
        elif registered and ok and r[col] == "":
            bad(col, "a design's ok row has every lock column")
    safety = facts.policy_of(design, r) if registered else None
    for col in facts.vm_columns:
        applies = facts.vm_column_applies(col, safety)
        if not applies and r[col] != "":
            bad(col, "empty unless the policy is %s (this row's: %s)"
                % (" or ".join(sorted(facts.vm_policies[col])), safety or "a peer's"))
        elif applies and ok and r[col] == "":
            bad(col, "an ok row under %s has it" % safety)
    for col in ("ctx_voluntary", "ctx_involuntary"):
        if ok and r[col] == "":
            bad(col, "an ok row has the context switches")

    sc = facts.scenario(r["scenario"])
    if sc is None:
        bad("scenario", "expected one of gillab scenarios: %s"
            % ", ".join(s["name"] for s in facts.scenarios))
    elif INT.match(r["threads"]):
        t = int(r["threads"])
        if not sc["min_threads"] <= t <= sc["max_threads"]:
            bad("threads", "expected %d..%d for %s" % (sc["min_threads"], sc["max_threads"],
                                                       sc["name"]))
        at_once = 1 if sc["sequential"] else t
        if registered and not facts.runs_threads(design, at_once):
            bad("threads", "%s runs at most %d thread(s) at once"
                % (design, facts.design(design)["max_threads"]))
    io = bool(sc and sc["io_thread"])
    for col in ("io_iters", "io_iters_per_s", "latency_p50_us", "latency_p90_us",
                "latency_p99_us", "latency_max_us"):
        if col not in r:
            continue
        if not io and r[col] != "":
            bad(col, "only a scenario with an I/O thread has I/O columns")
        elif io and ok and r[col] == "" and (col in ("io_iters", "io_iters_per_s")
                                             or r["io_iters"] not in ("", "0")):
            bad(col, "an ok %s row has it" % r["scenario"])

    check_fork(facts, r, bad, ok)

    want = PLACEMENTS.get(r["cpus"], "list")
    if r["placement"] and r["placement"] != want:
        bad("placement", "expected %s for cpus=%s" % (want, r["cpus"]))
    if want == "list" and not INT_LIST.match(r["cpus"]):
        bad("cpus", "expected 1, all, or CPU ids separated by spaces")
    if INT.match(r["ncpus"]) and INT_LIST.match(r["cpu_list"]):
        if len(r["cpu_list"].split()) != int(r["ncpus"]):
            bad("cpu_list", "expected ncpus=%s CPUs" % r["ncpus"])
        if r["placement"] == "one" and r["ncpus"] != "1":
            bad("ncpus", "placement one runs on exactly one CPU")
    elif r["cpu_list"] and not INT_LIST.match(r["cpu_list"]):
        bad("cpu_list", "expected CPU ids separated by spaces")


# The fork scenario's columns (gillab's schema: each described as "fork: ..."), the
# ones that set a fork row's cell, and the policies a row may name.
FORK_CELL = ("setup", "refcount_policy", "workers", "worker")
# gillab's policies come from its scenario table; a peer's own is gc_freeze (peer.py).
PEER_POLICIES = ("gc_freeze",)
FORK_MEMORY = ("rss_before_kb", "pss_before_kb", "shared_clean_before_kb", "shared_dirty_before_kb",
               "private_clean_before_kb", "private_dirty_before_kb", "rss_kb", "pss_kb",
               "shared_clean_kb", "shared_dirty_kb", "private_clean_kb", "private_dirty_kb",
               "anon_huge_kb", "unshared_kb")


def fork_columns(facts):
    return [c["name"] for c in facts.schema if c["meaning"].startswith("fork:")]


def check_fork(facts, r, bad, ok):
    fork = facts.forks(r["scenario"])
    if not fork:
        for col in fork_columns(facts):
            if r.get(col, "") != "":
                bad(col, "only the fork scenario has fork columns")
        return
    for col in ("setup", "refcount_policy", "workers"):
        if r[col] == "":
            bad(col, "a fork row names it")
    policies = list(facts.scenario(r["scenario"]).get("refcount_policies", [])) + list(PEER_POLICIES)
    if r["refcount_policy"] and r["refcount_policy"] not in policies:
        bad("refcount_policy", "expected one of %s" % ", ".join(policies))
    if INT.match(r["workers"]) and INT.match(r["worker"]) and \
            not int(r["worker"]) < int(r["workers"]):
        bad("worker", "expected 0..workers-1")
    if ok:
        for col in ("worker", "heap_kb") + FORK_MEMORY:
            if r[col] == "" and (col != "unshared_kb" or r["rss_kb"]):
                bad(col, "an ok fork row has it")
    elif r["worker"] == "" and r["rss_kb"] != "":
        bad("rss_kb", "a row without a worker has no worker's memory")
    if r["pct_still_shared"] and NUMBER.match(r["pct_still_shared"]) and \
            not 0 <= float(r["pct_still_shared"]) <= 100:
        bad("pct_still_shared", "expected 0..100")


def cell_of(facts, r):
    return tuple([r["design"]] + [r[c] for c in facts.param_columns]
                 + [r[c] for c in ("workload", "entry", "args", "scenario", "threads", "cpus")]
                 + [r.get(c, "") for c in FORK_CELL])


def check_reps(facts, path, rows, problems):
    """Within each cell the repetitions are 1..n, each once."""
    cells = {}
    for line, r in rows:
        if INT.match(r["rep"]):
            cells.setdefault(cell_of(facts, r), []).append((int(r["rep"]), line))
    names = ["design"] + list(facts.param_columns) + ["workload", "entry", "args", "scenario",
                                                       "threads", "cpus"] + list(FORK_CELL)
    for key, reps in cells.items():
        shown = " ".join("%s=%s" % (n, v) for n, v in zip(names, key) if v != "")
        seen = {}
        for rep, line in reps:
            seen.setdefault(rep, []).append(line)
        for rep in sorted(seen):
            if len(seen[rep]) > 1:
                problems.append("%s: rep %d appears %d times (lines %s) in the cell %s"
                                % (path, rep, len(seen[rep]),
                                   ", ".join(map(str, seen[rep])), shown))
        missing = [k for k in range(1, max(seen) + 1) if k not in seen]
        if missing:
            problems.append("%s: rep %s missing (the cell has %s) in the cell %s"
                            % (path, " ".join(map(str, missing)),
                               " ".join(map(str, sorted(seen))), shown))


def rows_of(path, records, columns, problems):
    """(where, row as a dict) of each record after the header that has as many fields
    as columns; a problem for each that has not."""
    for i, fields in enumerate(records[1:], 2):
        where = "%s:%d" % (path, i)
        if len(fields) != len(columns):
            problems.append("%s: %d fields, the header has %d" % (where, len(fields), len(columns)))
            continue
        yield where, dict(zip(columns, fields))


def check_samples(facts, path, records, problems):
    runs = {}
    for where, r in rows_of(path, records, facts.sample_columns, problems):
        for col, pat in (("rep", INT), ("sample", INT), ("latency_us", re.compile(r"^-?\d+$"))):
            if not pat.match(r[col]):
                problems.append("%s: column %s = '%s': expected a whole number"
                                % (where, col, r[col]))
        if r["run_id"] == "" or r["design"] == "":
            problems.append("%s: run_id and design may not be empty" % where)
        runs.setdefault(r["run_id"], []).append(r["sample"])
    for run_id, nums in runs.items():
        if nums != [str(k) for k in range(1, len(nums) + 1)]:
            problems.append("%s: the samples of run %s are not numbered 1..%d in order"
                            % (path, run_id, len(nums)))
    return len(records) - 1


def check_smaps(facts, path, records, problems):
    columns = facts.smaps_columns
    last = {}
    for where, r in rows_of(path, records, columns, problems):
        for col in columns:
            if col in ("run_id", "design"):
                if r[col] == "":
                    problems.append("%s: %s may not be empty" % (where, col))
            elif col == "t_ms":
                if not NUMBER.match(r[col]):
                    problems.append("%s: column t_ms = '%s': expected a number" % (where, r[col]))
            elif not INT.match(r[col]):
                problems.append("%s: column %s = '%s': expected a whole number"
                                % (where, col, r[col]))
        if NUMBER.match(r["t_ms"]):
            t = float(r["t_ms"])
            if t < last.get(r["run_id"], 0):
                problems.append("%s: run %s's readings go back in time (t_ms %s)"
                                % (where, r["run_id"], r["t_ms"]))
            last[r["run_id"]] = t
    return len(records) - 1


def validate(facts, path):
    """(number of rows, problems) of one file."""
    problems = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return 0, ["%s: cannot read: %s" % (path, getattr(e, "strerror", None) or e)]
    if not text:
        return 0, ["%s: empty, expected gillab's header" % path]
    if not text.endswith("\n"):
        problems.append("%s: the last line is not complete (no final newline)" % path)
    try:
        records = list(csv.reader(text.splitlines(), strict=True))
    except csv.Error as e:
        return 0, ["%s: %s" % (path, e)]
    if records[0] == facts.sample_columns:
        return check_samples(facts, path, records, problems), problems
    if records[0] == facts.smaps_columns:
        return check_smaps(facts, path, records, problems), problems
    header = facts.header
    if records[0] != header:
        have = records[0]
        k = 0
        while k < min(len(have), len(header)) and have[k] == header[k]:
            k += 1
        problems.append("%s:1: not gillab's header: column %d is '%s', expected '%s' "
                        "(gillab csv-header)" % (path, k + 1, have[k] if k < len(have) else "",
                                                  header[k] if k < len(header) else ""))
        return len(records) - 1, problems
    seen = {}
    rows = []
    for i, fields in enumerate(records[1:], 2):
        where = "%s:%d" % (path, i)
        if len(fields) != len(header):
            problems.append("%s: %d fields, the header has %d" % (where, len(fields), len(header)))
            continue
        if fields == header:
            problems.append("%s: a second header" % where)
            continue
        r = dict(zip(header, fields))

        def bad(col, why, r=r, where=where):
            problems.append("%s: column %s = '%s': %s" % (where, col, r.get(col), why))

        if r["run_id"] in seen:
            problems.append("%s: run_id %s appears again (first on line %d)"
                            % (where, r["run_id"], seen[r["run_id"]]))
        seen.setdefault(r["run_id"], i)
        check_row(facts, r, bad)
        rows.append((i, r))
    check_reps(facts, path, rows, problems)
    return len(records) - 1, problems
