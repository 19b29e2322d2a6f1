#!/usr/bin/env python3
"""peer.py -- run a gillab workload file under a real interpreter (python3, pypy3).

The same .py workload that `gillab run` executes on the lab's VM runs here under the
interpreter that runs this script, through the same scenarios, and becomes rows with
exactly the lab's CSV columns. The design column names the interpreter
(cpython-3.11.2, pypy-7.3.11); every lock and design-parameter column stays empty,
because a real interpreter does not report its lock's events.

    python3 workloads/peers/peer.py FILE --entry NAME [--arg V]...
        [--scenario seq|threads|convoy] [--threads T] [--cpus 1|all|LIST]
        [--reps R] [--warmup W] [--csv FILE] [--samples-csv FILE]
        [--io-entry NAME] [--io-arg V]... [--design NAME] [--lab-version V] [--quiet]
    python3 workloads/peers/peer.py --header      # print the CSV header and exit
    python3 workloads/peers/peer.py --interpreter # print this interpreter's design name

Scenarios (as in gillab): seq -- one thread calls the entry T times in a row;
threads -- T threads call it at once; convoy -- one thread runs the CPU entry
(`cpu(limit)`) while another runs the I/O entry (`io(n, sleep_us)`, which returns its
wake-up lateness samples in microseconds and sets the module global `done`).

Rows are appended with one os.write() each on an O_APPEND descriptor, so an
interrupted run leaves every finished row intact and never half a row. The header is
written only into a new or empty file; a file with a different header is refused
(exit 2). Exit status: 0 every run ok, 1 a workload raised (its row has status
error and the message), 2 usage, load or I/O errors.

Runs on CPython 3.9+ and PyPy 7.3 (Python 3.9 syntax, standard library only).
"""
import datetime
import fcntl
import importlib.util
import math
import os
import resource
import socket
import sys
import threading
import time

COLUMNS = (
    "run_id,lab_version,started_utc,host,design,check_interval,tick_scale,lock,interval_us,"
    "force_switching,refcounts,workload,entry,args,scenario,threads,placement,cpus,ncpus,cpu_list,"
    "rep,wall_s,user_s,sys_s,others_cpu_s,steal_s,acquisitions,releases,switches,wakeups,"
    "futile_wakeups,unslept,timeouts,drop_requests,drops_honoured,yields,blocks,wait_s,wait_max_s,"
    "block_s,hold_s,interval_wall_us,ctx_voluntary,"
    "ctx_involuntary,io_iters,io_iters_per_s,latency_p50_us,latency_p90_us,"
    "latency_p99_us,latency_max_us,status,message"
).split(",")
SAMPLE_COLUMNS = ["run_id", "design", "rep", "sample", "latency_us"]

SCENARIOS = ("seq", "threads", "convoy")
MAX_THREADS = 256
EXIT_RUNTIME = 1
EXIT_USAGE = 2

USAGE = """usage: peer.py FILE --entry NAME [--arg V]... [options]
       peer.py --header | --interpreter
options (as gillab run):
  --entry NAME          the workload function to call
  --arg V               an integer argument for it (repeatable)
  --scenario S          seq | threads | convoy (default threads)
  --threads T           1..256 (default 1); seq: one thread calls the entry T times
  --cpus C              1 (every thread on one CPU) | all (default) | LIST ("0,1", "0-1")
  --reps R              measured repetitions (default 1)
  --warmup W            unrecorded warm-up repetitions (default 0)
  --csv FILE            append one row per measured repetition
  --samples-csv FILE    convoy: append the I/O thread's lateness samples
  --io-entry NAME       convoy: the I/O thread's function (default io)
  --io-arg V            convoy: an integer argument for it (repeatable)
peer-only options:
  --design NAME         the design column (default: this interpreter, e.g. cpython-3.11.2)
  --lab-version V       the lab_version column (default: from gil/base/version.h)
  --quiet               no per-repetition line on stderr
"""


class UsageError(Exception):
    """A bad command line or input: reported on stderr, exit status 2."""


def say(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.stderr.flush()


# ---- naming ---------------------------------------------------------------------


def interpreter_name():
    """cpython-3.11.2, pypy-7.3.11, ... for the design column."""
    impl = sys.implementation.name
    if impl == "pypy":
        v = sys.pypy_version_info
        return "pypy-%d.%d.%d" % (v[0], v[1], v[2])
    v = sys.version_info
    return "%s-%d.%d.%d" % (impl, v[0], v[1], v[2])


def lab_version_from_tree():
    """The lab version from gil/base/version.h beside this script's folder, or None."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "gil", "base", "version.h")
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[:2] == ["#define", "GILLAB_VERSION"]:
                    return parts[2].strip('"')
    except OSError:
        return None
    return None


# ---- CPU affinity -------------------------------------------------------------------
#
# os.sched_getaffinity/os.sched_setaffinity where the interpreter has them (CPython);
# PyPy 7.3 lacks both, so the same Linux calls go through ctypes there. pid 0 means the
# calling thread.


def _libc():
    import ctypes
    return ctypes, ctypes.CDLL(None, use_errno=True)


_MASK_BYTES = 128  # 1024 CPUs, glibc's cpu_set_t


def get_affinity():
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    ctypes, libc = _libc()
    mask = (ctypes.c_ubyte * _MASK_BYTES)()
    if libc.sched_getaffinity(0, ctypes.c_size_t(_MASK_BYTES), mask) != 0:
        raise OSError(ctypes.get_errno(), "sched_getaffinity failed")
    return [i for i in range(_MASK_BYTES * 8) if mask[i // 8] >> (i % 8) & 1]


def set_affinity(cpus):
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
        return
    ctypes, libc = _libc()
    mask = (ctypes.c_ubyte * _MASK_BYTES)()
    for c in cpus:
        mask[c // 8] |= 1 << (c % 8)
    if libc.sched_setaffinity(0, ctypes.c_size_t(_MASK_BYTES), mask) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "sched_setaffinity: %s" % os.strerror(err))


# ---- command line -----------------------------------------------------------------


def parse_int(opt, text):
    try:
        return int(text, 10)
    except ValueError:
        raise UsageError("%s '%s': expected an integer" % (opt, text))


def parse_cpus(text, allowed):
    """--cpus value -> (column text, sorted list of CPUs to run on)."""
    allowed = sorted(allowed)
    if text == "all":
        return "all", allowed
    if text == "1":
        return "1", allowed[:1]
    cpus = set()
    for part in text.split(","):
        part = part.strip()
        lo_hi = part.split("-")
        try:
            if len(lo_hi) == 1:
                lo = hi = int(lo_hi[0], 10)
            elif len(lo_hi) == 2:
                lo, hi = int(lo_hi[0], 10), int(lo_hi[1], 10)
            else:
                raise ValueError(part)
        except ValueError:
            raise UsageError("--cpus '%s': expected 1, all, or a list such as 0,1 or 0-1" % text)
        if lo < 0 or hi < lo:
            raise UsageError("--cpus '%s': bad range '%s'" % (text, part))
        cpus.update(range(lo, hi + 1))
    outside = sorted(cpus - set(allowed))
    if outside:
        raise UsageError("--cpus '%s': CPU %s is not available; this process may use %s"
                         % (text, " ".join(map(str, outside)), " ".join(map(str, allowed))))
    cpus = sorted(cpus)
    return " ".join(map(str, cpus)), cpus


def parse_args(argv):
    o = {
        "file": None, "entry": None, "args": [], "scenario": "threads", "threads": None,
        "cpus": "all", "reps": 1, "warmup": 0, "csv": None, "samples_csv": None,
        "io_entry": None, "io_args": [], "design": None, "lab_version": None,
        "quiet": False, "header": False, "interpreter": False,
    }
    takes_value = {
        "--entry": "entry", "--arg": "args", "--scenario": "scenario",
        "--threads": "threads", "--cpus": "cpus", "--reps": "reps", "--warmup": "warmup",
        "--csv": "csv", "--samples-csv": "samples_csv", "--io-entry": "io_entry",
        "--io-arg": "io_args", "--design": "design", "--lab-version": "lab_version",
    }
    lab_only = ("--gil", "--set", "--trace", "--trace-json")
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        if a == "--header":
            o["header"] = True
        elif a == "--interpreter":
            o["interpreter"] = True
        elif a == "--quiet":
            o["quiet"] = True
        elif a in lab_only:
            raise UsageError("%s: a peer interpreter has its own lock and no lock trace; "
                             "%s is an option of gillab run" % (a, a))
        elif a in takes_value:
            if i + 1 >= len(argv):
                raise UsageError("option %s needs a value" % a)
            i += 1
            key, val = takes_value[a], argv[i]
            if key in ("args", "io_args"):
                o[key].append(parse_int(a, val))
            elif key in ("threads", "reps", "warmup"):
                o[key] = parse_int(a, val)
            else:
                o[key] = val
        elif a.startswith("-") and a != "-":
            raise UsageError("unknown option '%s'; see peer.py --help" % a)
        elif o["file"] is not None:
            raise UsageError("unexpected argument '%s' (the file is '%s')" % (a, o["file"]))
        else:
            o["file"] = a
        i += 1
    if o["header"] or o["interpreter"]:
        return o
    if o["file"] is None:
        raise UsageError("missing FILE; usage: peer.py FILE --entry NAME [--arg V]...")
    if o["entry"] is None:
        raise UsageError("missing --entry NAME: the function of %s to run" % o["file"])
    if o["scenario"] not in SCENARIOS:
        raise UsageError("--scenario: unknown scenario '%s'; scenarios: %s"
                         % (o["scenario"], ", ".join(SCENARIOS)))
    if o["scenario"] == "convoy":
        if o["threads"] is None:
            o["threads"] = 2
        if not 2 <= o["threads"] <= MAX_THREADS:
            raise UsageError("--scenario convoy: needs --threads 2..%d (CPU threads + 1 I/O "
                             "thread), got %d" % (MAX_THREADS, o["threads"]))
        if o["io_entry"] is None:
            o["io_entry"] = "io"
    else:
        if o["io_entry"] is not None or o["io_args"] or o["samples_csv"] is not None:
            raise UsageError("--io-entry, --io-arg and --samples-csv need --scenario convoy")
        if o["threads"] is None:
            o["threads"] = 1
        if not 1 <= o["threads"] <= MAX_THREADS:
            raise UsageError("--threads %d: expected 1..%d" % (o["threads"], MAX_THREADS))
    if o["reps"] < 1:
        raise UsageError("--reps %d: expected at least 1" % o["reps"])
    if o["warmup"] < 0:
        raise UsageError("--warmup %d: expected 0 or more" % o["warmup"])
    return o


# ---- CSV ------------------------------------------------------------------------------


def csv_field(value, free_text=False):
    """One field: '' for None. The free-text message column is quoted per RFC 4180
    when it holds a comma or a quote; in every other column a comma, quote or line
    break becomes '_' (as gillab writes them). Line breaks never survive."""
    if value is None:
        return ""
    s = str(value).replace("\r", " ").replace("\n", " ")
    if not free_text:
        return s.replace(",", "_").replace('"', "_")
    if "," in s or '"' in s:
        s = '"' + s.replace('"', '""') + '"'
    return s


def csv_line(values, columns):
    return ",".join(csv_field(v, c == "message") for v, c in zip(values, columns)) + "\n"


def param_block(columns):
    """(before, params, after): the design-parameter columns sit between `design`
    and `workload`; gillab makes them from its registered designs."""
    i, j = columns.index("design") + 1, columns.index("workload")
    return columns[:i], columns[i:j], columns[j:]


def compatible(have, want):
    """A header peers may append to: the lab's columns, whatever design-parameter
    columns gillab's registry puts between design and workload (peers leave them
    empty)."""
    if "design" not in have or "workload" not in have:
        return False
    hb, _, ha = param_block(have)
    wb, _, wa = param_block(want)
    return hb == wb and ha == wa


class CsvFile(object):
    """A lab CSV opened for appending. The header goes into a new or empty file
    together with the first rows; a file with another header is refused. Every
    append is one os.write() on an O_APPEND descriptor under an exclusive flock,
    so an interrupted run never leaves half a row and two writers never both
    write a header."""

    def __init__(self, path, columns):
        self.path = path
        self.wrote = False
        try:
            existed = os.path.exists(path)
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise UsageError("%s: cannot open for appending: %s" % (path, e.strerror))
        self.created = not existed
        self.columns = list(columns)
        if os.fstat(self.fd).st_size == 0:
            return
        with open(path, "rb") as f:
            first = f.readline().decode("utf-8", "replace").rstrip("\r\n")
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
        have = first.split(",")
        problem = None
        if have != self.columns and not ("design" in columns and compatible(have, columns)):
            where = next((i for i in range(max(len(have), len(columns)))
                          if i >= len(have) or i >= len(columns) or have[i] != columns[i]), 0)
            problem = ("its header differs from this lab's columns (column %d is '%s', "
                       "expected '%s'); write to a new file or move this one away"
                       % (where + 1, have[where] if where < len(have) else "",
                          columns[where] if where < len(columns) else ""))
        elif last != b"\n":
            problem = "its last line is incomplete; move the file away"
        if problem:
            self.close()
            raise UsageError("%s: %s" % (path, problem))
        self.columns = have

    def append(self, text):
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self.fd).st_size == 0:
                text = ",".join(self.columns) + "\n" + text
            write_all(self.fd, text)
            self.wrote = True
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self):
        """Close; a file this process created and never wrote to is removed."""
        if self.fd is None:
            return
        if self.created and not self.wrote and os.fstat(self.fd).st_size == 0:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        os.close(self.fd)
        self.fd = None


def write_all(fd, text):
    """One os.write() of the whole text (a short write, which regular files do not
    make short of a full disk, is finished rather than left half)."""
    data = text.encode("utf-8")
    while data:
        n = os.write(fd, data)
        data = data[n:]


# ---- measuring --------------------------------------------------------------------------


def describe_error(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted non-empty list."""
    k = max(1, int(math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[k - 1]


def fmt_s(x):
    return "%.6f" % x


class Outcome(object):
    __slots__ = ("wall_s", "user_s", "sys_s", "nvcsw", "nivcsw", "error", "samples")

    def __init__(self):
        self.error = None
        self.samples = None


def run_once(mod, o):
    """One repetition of the scenario on a freshly loaded module; returns an Outcome."""
    entry = getattr(mod, o["entry"])
    scenario = o["scenario"]
    results = {}
    cpu_begun = threading.Semaphore(0)

    def call(idx, fn, args, times, barrier, wait_for):
        try:
            barrier.wait()
            for _ in range(wait_for):  # convoy: the I/O thread waits for the CPU threads
                cpu_begun.acquire()
            if scenario == "convoy" and wait_for == 0:
                cpu_begun.release()
            value = None
            for _ in range(times):
                value = fn(*args)
            results[idx] = (None, value)
        except BaseException as e:  # a workload error ends this thread, not the run
            results[idx] = (describe_error(e), None)

    if scenario == "seq":
        jobs = [(entry, o["args"], o["threads"], 0)]
    elif scenario == "threads":
        jobs = [(entry, o["args"], 1, 0)] * o["threads"]
    else:
        ncpu = o["threads"] - 1
        jobs = [(entry, o["args"], 1, 0)] * ncpu
        jobs.append((getattr(mod, o["io_entry"]), o["io_args"], 1, ncpu))

    barrier = threading.Barrier(len(jobs) + 1)
    threads = []
    for i, (fn, args, times, wait_for) in enumerate(jobs):
        t = threading.Thread(target=call, args=(i, fn, args, times, barrier, wait_for),
                             name="peer-%d" % i)
        t.daemon = True  # an interrupted peer must not wait for its workers
        t.start()
        threads.append(t)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_SELF)

    out = Outcome()
    out.wall_s = t1 - t0
    out.user_s = r1.ru_utime - r0.ru_utime
    out.sys_s = r1.ru_stime - r0.ru_stime
    out.nvcsw = r1.ru_nvcsw - r0.ru_nvcsw
    out.nivcsw = r1.ru_nivcsw - r0.ru_nivcsw
    for i in range(len(jobs)):
        err, value = results.get(i, ("thread ended without a result", None))
        if err is not None and out.error is None:
            out.error = err
    if scenario == "convoy" and out.error is None:
        samples = results[len(jobs) - 1][1]
        if isinstance(samples, list) and all(isinstance(x, int) and not isinstance(x, bool)
                                             for x in samples):
            out.samples = samples
        else:
            out.error = ("convoy: %s() must return a list of ints (its wake-up latencies in us); "
                         "got %.80s" % (o["io_entry"], repr(samples)))
    return out


# ---- the program ---------------------------------------------------------------------------


class RunIds(object):
    def __init__(self):
        self.stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.pid = os.getpid()
        self.n = 0

    def next(self):
        self.n += 1
        return "%s-%d-%d" % (self.stamp, self.pid, self.n)


def load_module(path):
    """FILE as a new module object (fresh globals), not as __main__."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name = "gillab_workload_" + "".join(c if c.isalnum() else "_" for c in stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError("%s: cannot be loaded as a Python module" % path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except SyntaxError as e:
        raise UsageError("%s:%s:%s: %s" % (path, e.lineno, e.offset, e.msg))
    except Exception as e:
        raise UsageError("%s: loading it failed: %s" % (path, describe_error(e)))
    return mod


def check_workload(path, o):
    """Load FILE once and check that its entry functions exist and take the
    arguments given, before anything is run or written."""
    if not os.path.isfile(path):
        raise UsageError("%s: no such file" % path)
    mod = load_module(path)
    wanted = [(o["entry"], len(o["args"]), "--entry")]
    if o["scenario"] == "convoy":
        wanted.append((o["io_entry"], len(o["io_args"]), "--io-entry"))
    for fname, nargs, opt in wanted:
        fn = getattr(mod, fname, None)
        if fn is None or not callable(fn):
            raise UsageError("%s %s: %s defines no function '%s'"
                             % (opt, fname, os.path.basename(path), fname))
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_argcount != nargs:
            raise UsageError("%s %s: %s() takes %d argument(s), %d given"
                             % (opt, fname, fname, code.co_argcount, nargs))


def main(argv):
    o = parse_args(argv)
    if o["header"]:
        sys.stdout.write(",".join(COLUMNS) + "\n")
        return 0
    if o["interpreter"]:
        sys.stdout.write((o["design"] or interpreter_name()) + "\n")
        return 0
    design = o["design"] or interpreter_name()
    lab_version = o["lab_version"] or lab_version_from_tree()
    if lab_version is None:
        raise UsageError("cannot find gil/base/version.h beside this script; give --lab-version V")
    allowed = get_affinity()
    cpus_text, cpus = parse_cpus(o["cpus"], allowed)
    check_workload(o["file"], o)
    files = []
    try:
        out_csv = CsvFile(o["csv"], COLUMNS) if o["csv"] else None
        files.append(out_csv)
        samples_csv = CsvFile(o["samples_csv"], SAMPLE_COLUMNS) if o["samples_csv"] else None
        files.append(samples_csv)
        return run_reps(o, design, lab_version, cpus_text, cpus, out_csv, samples_csv)
    finally:
        for f in files:
            if f is not None:
                f.close()


def run_reps(o, design, lab_version, cpus_text, cpus, out_csv, samples_csv):
    columns = out_csv.columns if out_csv else COLUMNS
    # Pin this thread before the workers exist: a new thread inherits its creator's
    # CPU set, so every worker runs on exactly these CPUs.
    set_affinity(cpus)

    host = socket.gethostname()
    ids = RunIds()
    failures = 0
    # Every repetition gets the module afresh (fresh globals, e.g. convoy's `done`),
    # as every gillab repetition gets a fresh runtime.
    for _ in range(o["warmup"]):
        run_once(load_module(o["file"]), o)
    for rep in range(1, o["reps"] + 1):
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = run_once(load_module(o["file"]), o)
        run_id = ids.next()
        row = dict.fromkeys(columns)
        row.update({
            "run_id": run_id, "lab_version": lab_version, "started_utc": started,
            "host": host, "design": design, "workload": os.path.basename(o["file"]),
            "entry": o["entry"], "args": " ".join(str(a) for a in o["args"]),
            "scenario": o["scenario"], "threads": o["threads"], "cpus": cpus_text,
            "placement": {"all": "all", "1": "one"}.get(o["cpus"], "list"),
            "ncpus": len(cpus), "cpu_list": " ".join(map(str, cpus)), "rep": rep,
            "wall_s": fmt_s(out.wall_s), "user_s": fmt_s(out.user_s),
            "sys_s": fmt_s(out.sys_s), "ctx_voluntary": out.nvcsw,
            "ctx_involuntary": out.nivcsw,
            "status": "ok" if out.error is None else "error", "message": out.error,
        })
        if out.samples is not None:
            s = sorted(out.samples)
            row["io_iters"] = len(s)
            row["io_iters_per_s"] = "%.3f" % (len(s) / out.wall_s if out.wall_s > 0 else 0.0)
            if s:
                row["latency_p50_us"] = percentile(s, 50)
                row["latency_p90_us"] = percentile(s, 90)
                row["latency_p99_us"] = percentile(s, 99)
                row["latency_max_us"] = s[-1]
            if samples_csv is not None and out.samples:
                samples_csv.append("".join(
                    csv_line([run_id, design, rep, i + 1, x], samples_csv.columns)
                    for i, x in enumerate(out.samples)))
        if out.error is not None:
            failures += 1
        if out_csv is not None:
            out_csv.append(csv_line([row.get(c) for c in columns], columns))
        if not o["quiet"] or out.error is not None:
            extra = ""
            if out.samples is not None and out.samples:
                extra = ", io %d iters, latency p50 %s us" % (len(out.samples),
                                                              row["latency_p50_us"])
            say("%s %s %s threads=%d cpus=%s rep %d: wall %.3f s, user %.3f s, sys %.3f s%s%s"
                % (design, os.path.basename(o["file"]), o["scenario"], o["threads"], cpus_text,
                   rep, out.wall_s, out.user_s, out.sys_s, extra,
                   "" if out.error is None else ", error: " + out.error))
    return EXIT_RUNTIME if failures else 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except UsageError as e:
        say(str(e))
        status = EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted; rows already written are complete")
        status = 130
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: daemon workers of an interrupted run must not hold the exit up.
    os._exit(status)
