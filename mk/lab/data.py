"""data.py -- reading the lab's files, checked: a malformed file is an error naming it.

Every reader returns rows as dicts (each with "_line", its line number) or raises
DataError "FILE:LINE: what". The results files (lab.csv, convoy.csv, sweep.csv,
bench.csv) are read against gillab's schema: the columns the analysis reads must be
there, and every column the schema says is numeric must hold a number or nothing.
"""
import csv
import math
import os
import re

from facts import DataError

NUMERIC_TYPES = ("int", "seconds", "real")
# The columns the tables and figures read from a results file.
RESULT_REQUIRED = ("run_id", "design", "workload", "entry", "args", "scenario", "threads",
                   "placement", "cpus", "rep", "wall_s", "status")
WHOLE_NUMBER = re.compile(r"-?[0-9]+\Z")


def is_number(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_csv(path, required, numeric=(), nonempty=(), allow_empty=False):
    """Rows of a CSV file as dicts; DataError naming the file and line on any problem."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, strict=True)
            header = next(reader, None)
            if not header:
                raise DataError("%s: empty file: no header line" % path)
            header = [h.strip() for h in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise DataError("%s:1: wrong header: missing column(s) %s (the header must "
                                "name: %s)" % (path, ", ".join(missing), ",".join(required)))
            checked = [(i, c) for i, c in enumerate(header) if c in numeric]
            must = [(i, c) for i, c in enumerate(header) if c in nonempty]
            for rec in reader:
                line = reader.line_num
                if not rec:
                    continue  # a blank line
                if len(rec) != len(header):
                    raise DataError("%s:%d: %d fields, the header has %d"
                                    % (path, line, len(rec), len(header)))
                for i, c in checked:
                    v = rec[i].strip()
                    if v and not is_number(v):
                        raise DataError("%s:%d: column %s: '%s' is not a number"
                                        % (path, line, c, v))
                for i, c in must:
                    if not rec[i].strip():
                        raise DataError("%s:%d: column %s is empty" % (path, line, c))
                row = dict(zip(header, rec))
                row["_line"] = line
                rows.append(row)
    except UnicodeDecodeError:
        raise DataError("%s: not UTF-8 text" % path)
    except csv.Error as e:
        raise DataError("%s:%d: %s" % (path, reader.line_num, e))
    except OSError as e:
        raise DataError("%s: %s" % (path, e.strerror))
    if not rows and not allow_empty:
        raise DataError("%s: no data rows (only a header)" % path)
    return rows


def read_results(path, facts, allow_empty=False):
    """A results file (lab.csv, convoy.csv, sweep.csv, bench.csv)."""
    numeric = [c for c in facts.columns if facts.types[c] in NUMERIC_TYPES]
    return read_csv(path, RESULT_REQUIRED, numeric, allow_empty=allow_empty)


def read_samples(path, facts, allow_empty=False):
    """convoy_samples.csv."""
    return read_csv(path, facts.sample_columns, ("rep", "sample", "latency_us"),
                    nonempty=("latency_us",), allow_empty=allow_empty)


# fidelity.csv's numeric columns (its columns are fidelity.FIDELITY_COLUMNS).
FIDELITY_NUMERIC = ("reps", "model", "model_lo", "model_hi", "real", "real_lo", "real_hi",
                    "ratio", "ratio_lo", "ratio_hi", "busy_runs")


def read_fidelity(path, allow_empty=False):
    """fidelity.csv (make fidelity's comparison)."""
    import fidelity
    return read_csv(path, fidelity.FIDELITY_COLUMNS, FIDELITY_NUMERIC,
                    nonempty=("pair", "design", "original", "metric"), allow_empty=allow_empty)


def read_optional(path, reader, *args):
    """reader(path, ...) when the file exists, else None."""
    return reader(path, *args) if os.path.exists(path) else None


def trace_events(path, facts):
    """(t_ns, thread, event) of a trace file, checked line by line."""
    columns, events = facts.trace_columns, facts.trace_events
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, strict=True)
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != columns:
                raise DataError("%s:1: wrong header: expected %s" % (path, ",".join(columns)))
            for rec in reader:
                line = reader.line_num
                if not rec:
                    continue
                if len(rec) != 3:
                    raise DataError("%s:%d: %d fields, the header has 3" % (path, line, len(rec)))
                t, th, ev = rec
                if not WHOLE_NUMBER.match(t.strip()):
                    raise DataError("%s:%d: column t_ns: '%s' is not a whole number"
                                    % (path, line, t))
                if not th.strip().isdigit():
                    raise DataError("%s:%d: column thread: '%s' is not a thread id"
                                    % (path, line, th))
                if ev not in events:
                    raise DataError("%s:%d: column event: '%s' is not one of %s"
                                    % (path, line, ev, ", ".join(events)))
                yield int(t.strip()), int(th.strip()), ev
    except UnicodeDecodeError:
        raise DataError("%s: not UTF-8 text" % path)
    except csv.Error as e:
        raise DataError("%s: %s" % (path, e))
    except OSError as e:
        raise DataError("%s: %s" % (path, e.strerror))


def scan_trace(path, facts):
    """Go through a trace once: check it, and return its time span and threads."""
    first = last = None
    threads = set()
    n = 0
    for t, th, _ in trace_events(path, facts):
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        threads.add(th)
        n += 1
    if n == 0:
        raise DataError("%s: no data rows (only a header)" % path)
    return {"first_ns": first, "last_ns": last, "threads": sorted(threads), "events": n}
