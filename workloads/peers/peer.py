#!/usr/bin/env python
"""peer.py -- run a gillab workload file under a real interpreter, as `gillab run` would.

The same .py workload that `gillab run` executes on the lab's VM runs here under the
interpreter that runs this script (CPython 2.7, CPython 3.6-3.13, PyPy), through the
same scenarios, and becomes rows with exactly gillab's CSV columns. The design column
names the interpreter (cpython-2.7.18, cpython-3.11.7, pypy-7.3.11); every lock and
design-parameter column stays empty, because a real interpreter does not report its
lock's events.

The facts come from gillab, never from a copy here: the CSV header (`gillab
csv-header`), the scenarios and their thread limits (`gillab scenarios --json`) and
the lab version (`gillab version`). gillab is found as --gillab PATH, else $GILLAB,
else build/release/gillab of the tree this script lives in.

    python workloads/peers/peer.py FILE --entry NAME [--arg V]... [options]
    python workloads/peers/peer.py --header        # gillab's CSV header, as written here
    python workloads/peers/peer.py --interpreter   # this interpreter's design name
    python workloads/peers/peer.py --identify      # its name and real executable
    python workloads/peers/peer.py --scenarios     # the scenarios this driver runs

Rows are appended with one os.write() each on an O_APPEND descriptor under an flock,
so an interrupted run leaves every finished row intact and never half a row. Every
requested repetition runs and gets its row, as in gillab: a failed one has status
error, a failed warm-up a row with an empty rep. Exit status: 0 every run ok, 1 a
workload raised, 2 usage, load or I/O errors.

Written to run unchanged on CPython 2.7 and 3.6+ and on PyPy: no f-strings, no
importlib.util, no threading.Barrier, no datetime.timezone; on 2.7 the time module
gets Python 3's perf_counter and monotonic (CLOCK_MONOTONIC), and every workload is
compiled with Python 3's division and print (its `/` is true division everywhere).
"""
import __future__
import fcntl
import json
import math
import os
import platform
import resource
import socket
import subprocess
import sys
import threading
import time
import types


# The scenarios this driver can run, by gillab's name. How many threads each starts and
# which one is the I/O thread come from gillab's table (sequential, io_thread).
SUPPORTED_SCENARIOS = ("seq", "threads", "convoy", "fork")
# The fork scenario's reference-count policies a real interpreter has: as they are, or
# gc.freeze() before the fork (CPython 3.7+). gillab's own `immortal` has no equivalent a
# program can ask for.
FORK_POLICIES = ("plain", "gc_freeze")

# The columns a peer row fills; the rest of gillab's header stays empty.
FILLED = ("run_id", "lab_version", "started_utc", "host", "design", "workload", "entry",
          "args", "scenario", "threads", "placement", "cpus", "ncpus", "cpu_list", "rep",
          "wall_s", "user_s", "sys_s", "ctx_voluntary", "ctx_involuntary", "io_iters",
          "io_iters_per_s", "latency_p50_us", "latency_p90_us", "latency_p99_us",
          "latency_max_us", "status", "message", "setup", "refcount_policy", "workers",
          "worker", "frozen_objects", "heap_kb", "thp", "rss_before_kb", "pss_before_kb",
          "shared_clean_before_kb", "shared_dirty_before_kb", "private_clean_before_kb",
          "private_dirty_before_kb", "rss_kb", "pss_kb", "shared_clean_kb", "shared_dirty_kb",
          "private_clean_kb", "private_dirty_kb", "anon_huge_kb", "unshared_kb",
          "pct_still_shared")

EXIT_RUNTIME = 1
EXIT_USAGE = 2

WORKLOAD_FLAGS = __future__.division.compiler_flag | __future__.print_function.compiler_flag

USAGE = """usage: peer.py FILE --entry NAME [--arg V]... [options]
       peer.py --header | --interpreter | --identify | --scenarios
options (as gillab run):
  --entry NAME          the workload function to call
  --arg V               an integer argument for it (repeatable)
  --scenario NAME       one of gillab's scenarios (gillab scenarios; default: gillab's default)
  --threads T           what T means depends on the scenario (gillab scenarios)
  --cpus C              1 (every thread on one CPU) | all (default) | LIST ("0,1", "0-1")
  --reps R              measured repetitions (default 1)
  --warmup W            unrecorded repetitions before them (a failed one is recorded)
  --first-rep N         number the measured repetitions from N (default 1)
  --csv FILE            append one row per measured repetition
  --samples-csv FILE    one row per wake-up of the I/O thread [convoy]
  --io-entry NAME       the I/O thread's function (default io) [convoy]
  --io-arg V            an integer argument for it (repeatable) [convoy]
  --workers N           worker processes to fork (default 1) [fork]
  --setup NAME          the function the parent calls, with the --arg values, before it forks [fork]
  --refcount-policy P   plain (default), or gc_freeze: gc.freeze() before the fork [fork]
  --smaps-csv FILE      append the workers' memory readings [fork]
  --sample-ms MS        also read each worker's memory every MS ms (needs --smaps-csv) [fork]
  --quiet               no per-repetition line on stderr
peer-only options:
  --gillab PATH         the gillab to ask for the header and scenarios ($GILLAB, else this tree's)
  --design NAME         the design column (default: this interpreter, e.g. cpython-3.11.7)
  --lab-version V       the lab_version column (default: gillab version)
  --header              print the CSV header and exit
  --interpreter         print this interpreter's design name and exit
  --identify            print its design name and its real executable, tab-separated
  --scenarios           print the scenarios this driver runs, one a line
  --help                this help
"""


class UsageError(Exception):
    """A bad command line or input: reported on stderr, exit status 2."""


def say(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.stderr.flush()


def to_bytes(text):
    return text if isinstance(text, bytes) else text.encode("utf-8")


def to_text(data):
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


# ---- naming -----------------------------------------------------------------------------


def interpreter_name():
    """cpython-2.7.18, cpython-3.11.7, pypy-7.3.11, ... for the design column."""
    impl = platform.python_implementation().lower()
    if impl == "pypy":
        v = sys.pypy_version_info
    else:
        v = sys.version_info
    return "%s-%d.%d.%d" % (impl, v[0], v[1], v[2])


def real_executable():
    return os.path.realpath(sys.executable) if sys.executable else ""


# ---- a monotonic clock on every version ---------------------------------------------------


def _clock():
    """time.perf_counter where it exists; on 2.7 clock_gettime(CLOCK_MONOTONIC) through
    ctypes (time.time only if even that fails: it is not monotonic)."""
    if hasattr(time, "perf_counter"):
        return time.perf_counter
    try:
        import ctypes

        class Timespec(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

        libc = ctypes.CDLL(None, use_errno=True)
        gettime = libc.clock_gettime
        gettime.argtypes = [ctypes.c_int, ctypes.POINTER(Timespec)]
        clock_monotonic = 1  # <time.h> CLOCK_MONOTONIC on Linux

        def now():
            ts = Timespec()
            if gettime(clock_monotonic, ctypes.byref(ts)) != 0:
                raise OSError(ctypes.get_errno(), "clock_gettime failed")
            return ts.tv_sec + ts.tv_nsec * 1e-9

        now()
        return now
    except (ImportError, AttributeError, OSError):
        return time.time


clock = _clock()
# The workloads call time.perf_counter() (and may call time.monotonic()), as Python 3
# has them; Python 2.7's time module gets the same clock.
if not hasattr(time, "perf_counter"):
    time.perf_counter = clock
if not hasattr(time, "monotonic"):
    time.monotonic = clock


def utc_now(fmt):
    return time.strftime(fmt, time.gmtime())


# ---- gillab: the header, the scenarios, the version ------------------------------------------


def find_gillab(given):
    if given:
        path, how = given, "--gillab"
    elif os.environ.get("GILLAB"):
        path, how = os.environ["GILLAB"], "$GILLAB"
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.normpath(os.path.join(here, "..", "..", "build", "release", "gillab"))
        how = "this tree's build"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise UsageError("gillab not found at %s (from %s): build it with `make release`, "
                         "or give --gillab PATH" % (path, how))
    return path


def ask_gillab(gillab, *args):
    try:
        p = subprocess.Popen([gillab] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    except (OSError, IOError) as e:
        raise UsageError("cannot run %s: %s" % (gillab, e.strerror))
    out, err = p.communicate()
    if p.returncode != 0:
        raise UsageError("`%s %s` failed (exit %d): %s"
                         % (gillab, " ".join(args), p.returncode, to_text(err).strip()))
    return to_text(out)


class Gillab(object):
    """What this driver takes from gillab, asked once and only when needed."""

    def __init__(self, given):
        self.given = given
        self._path = None
        self._columns = None
        self._sample_columns = None
        self._scenarios = None
        self._version = None

    def path(self):
        if self._path is None:
            self._path = find_gillab(self.given)
        return self._path

    def columns(self):
        if self._columns is None:
            line = ask_gillab(self.path(), "csv-header").strip()
            if not line:
                raise UsageError("`%s csv-header` printed nothing" % self.path())
            self._columns = line.split(",")
            unknown = [c for c in FILLED if c not in self._columns]
            if unknown:
                raise UsageError("gillab's CSV header has no column %s, which peer.py fills; "
                                 "peer.py and gillab disagree" % ", ".join(unknown))
        return self._columns

    def sample_columns(self):
        """The convoy samples file's columns, from gillab's csv-schema."""
        if self._sample_columns is None:
            try:
                self._sample_columns = list(json.loads(ask_gillab(self.path(), "csv-schema",
                                                                  "--json"))["samples"])
            except (ValueError, KeyError, TypeError):
                raise UsageError("`%s csv-schema --json` did not list the samples file's columns"
                                 % self.path())
        return self._sample_columns

    def smaps_columns(self):
        """The fork scenario's memory readings file's columns, from gillab's csv-schema."""
        try:
            return list(json.loads(ask_gillab(self.path(), "csv-schema", "--json"))["smaps"])
        except (ValueError, KeyError, TypeError):
            raise UsageError("`%s csv-schema --json` did not list the smaps file's columns"
                             % self.path())

    def scenarios(self):
        if self._scenarios is None:
            try:
                table = json.loads(ask_gillab(self.path(), "scenarios", "--json"))
                self._scenarios = table["scenarios"]
            except (ValueError, KeyError, TypeError):
                raise UsageError("`%s scenarios --json` did not print the scenario table"
                                 % self.path())
        return self._scenarios

    def version(self):
        if self._version is None:
            words = ask_gillab(self.path(), "version").split()
            if len(words) < 2:
                raise UsageError("`%s version` printed no version" % self.path())
            self._version = words[1]
        return self._version


# ---- CPU affinity -------------------------------------------------------------------------
#
# os.sched_getaffinity/os.sched_setaffinity where the interpreter has them (CPython 3.3+);
# CPython 2.7 and PyPy lack both, so the same Linux calls go through ctypes there. pid 0
# means the calling thread.

_MASK_BYTES = 128  # 1024 CPUs, glibc's cpu_set_t


def _libc():
    import ctypes
    return ctypes, ctypes.CDLL(None, use_errno=True)


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


# ---- command line ---------------------------------------------------------------------------


def parse_int(opt, text):
    try:
        return int(text, 10)
    except ValueError:
        raise UsageError("%s '%s': expected an integer" % (opt, text))


def parse_cpus(text, allowed):
    """--cpus value -> (column text, placement, sorted list of CPUs to run on)."""
    allowed = sorted(allowed)
    if text == "all":
        return "all", "all", allowed
    if text == "1":
        return "1", "one", allowed[:1]
    cpus = set()
    for part in text.split(","):
        lo_hi = part.strip().split("-")
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
    return " ".join(map(str, cpus)), "list", cpus


TAKES_VALUE = {
    "--entry": "entry", "--arg": "args", "--scenario": "scenario", "--threads": "threads",
    "--cpus": "cpus", "--reps": "reps", "--warmup": "warmup", "--first-rep": "first_rep",
    "--csv": "csv", "--samples-csv": "samples_csv", "--io-entry": "io_entry",
    "--io-arg": "io_args", "--design": "design", "--lab-version": "lab_version",
    "--gillab": "gillab", "--workers": "workers", "--setup": "setup",
    "--refcount-policy": "refcount_policy", "--smaps-csv": "smaps_csv",
    "--sample-ms": "sample_ms",
}
FLAGS = {"--header": "header", "--interpreter": "interpreter", "--identify": "identify",
         "--scenarios": "list_scenarios", "--quiet": "quiet"}
LAB_ONLY = ("--gil", "--set", "--trace", "--trace-json")
# Options that belong to particular scenarios: gillab's table lists them per scenario.
SCENARIO_OPTIONS = {"samples_csv": "--samples-csv", "io_entry": "--io-entry",
                    "io_args": "--io-arg", "workers": "--workers", "setup": "--setup",
                    "refcount_policy": "--refcount-policy", "smaps_csv": "--smaps-csv",
                    "sample_ms": "--sample-ms"}


def parse_args(argv):
    o = {
        "file": None, "entry": None, "args": [], "scenario": None, "threads": None,
        "cpus": "all", "reps": 1, "warmup": 0, "first_rep": 1, "csv": None,
        "samples_csv": None, "io_entry": None, "io_args": [], "design": None,
        "lab_version": None, "gillab": None, "workers": None, "setup": None,
        "refcount_policy": None, "smaps_csv": None, "sample_ms": None,
    }
    for key in FLAGS.values():
        o[key] = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.stdout.flush()
            sys.exit(0)
        if a in FLAGS:
            o[FLAGS[a]] = True
        elif a in LAB_ONLY:
            raise UsageError("%s: a peer interpreter has its own lock and no lock trace; "
                             "%s is an option of gillab run" % (a, a))
        elif a in TAKES_VALUE:
            if i + 1 >= len(argv):
                raise UsageError("option %s needs a value" % a)
            i += 1
            key, val = TAKES_VALUE[a], argv[i]
            if key in ("args", "io_args"):
                o[key].append(parse_int(a, val))
            elif key in ("threads", "reps", "warmup", "first_rep", "workers", "sample_ms"):
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
    return o


def check_fork_args(o, sc):
    """The fork scenario's options, as gillab run checks them."""
    if o["threads"] is not None:
        raise UsageError("--threads: not for --scenario %s (its workers are processes, each "
                         "running one thread: use --workers N)" % sc["name"])
    if o["workers"] is None:
        o["workers"] = 1
    if not 1 <= o["workers"] <= sc.get("max_workers", 256):
        raise UsageError("--workers %d: expected 1..%d" % (o["workers"], sc.get("max_workers", 256)))
    if o["setup"] is None:
        raise UsageError("--scenario %s needs --setup NAME: the function the parent calls before "
                         "it forks" % sc["name"])
    if o["refcount_policy"] is None:
        o["refcount_policy"] = "plain"
    if o["refcount_policy"] == "immortal":
        raise UsageError("--refcount-policy immortal: gillab's policy; a real interpreter cannot "
                         "make objects immortal on request (CPython 3.12's immortal objects are "
                         "its own, PEP 683): peer.py has %s" % ", ".join(FORK_POLICIES))
    if o["refcount_policy"] not in FORK_POLICIES:
        raise UsageError("--refcount-policy: unknown '%s'; allowed: %s"
                         % (o["refcount_policy"], ", ".join(FORK_POLICIES)))
    if o["sample_ms"] is None:
        o["sample_ms"] = 0
    if not 0 <= o["sample_ms"] <= sc.get("max_sample_ms", 0):
        raise UsageError("--sample-ms %d: expected 0..%d" % (o["sample_ms"], sc.get("max_sample_ms", 0)))
    if o["sample_ms"] and not o["smaps_csv"]:
        raise UsageError("--sample-ms needs --smaps-csv FILE, where the readings go")


def check_args(o, scenarios):
    """Check the options against gillab's scenario table; returns the scenario."""
    if o["file"] is None:
        raise UsageError("missing FILE; usage: peer.py FILE --entry NAME [--arg V]...")
    if o["entry"] is None:
        raise UsageError("missing --entry NAME: the function of %s to run" % o["file"])
    names = [s["name"] for s in scenarios]
    if o["scenario"] is None:
        default = [s for s in scenarios if s.get("default")]
        o["scenario"] = default[0]["name"] if default else names[0]
    if o["scenario"] not in names:
        raise UsageError("--scenario: unknown '%s'; allowed: %s"
                         % (o["scenario"], ", ".join(names)))
    if o["scenario"] not in SUPPORTED_SCENARIOS:
        raise UsageError("--scenario %s: gillab runs this scenario, but peer.py does not "
                         "support it yet (peer.py runs: %s)"
                         % (o["scenario"], ", ".join(SUPPORTED_SCENARIOS)))
    sc = scenarios[names.index(o["scenario"])]
    if sc.get("forks"):
        check_fork_args(o, sc)
    if sc.get("sequential") and sc.get("io_thread"):
        raise UsageError("--scenario %s: gillab's table says it is both sequential and has "
                         "an I/O thread; peer.py does not know how to run that" % sc["name"])
    if o["threads"] is None:
        o["threads"] = sc["default_threads"]  # fork: 1, each worker's one thread
    lo, hi = sc["min_threads"], sc["max_threads"]
    if not lo <= o["threads"] <= hi:
        raise UsageError("--threads %d: expected %d..%d for --scenario %s (%s)"
                         % (o["threads"], lo, hi, sc["name"], sc.get("threads_means", "")))
    allowed = sc.get("options", "").split()
    for key, opt in sorted(SCENARIO_OPTIONS.items()):
        if o[key] not in (None, []) and opt not in allowed:
            having = [s["name"] for s in scenarios if opt in s.get("options", "").split()]
            raise UsageError("%s: only for --scenario %s" % (opt, " or ".join(having) or "(none)"))
    if sc.get("io_thread") and o["io_entry"] is None:
        o["io_entry"] = "io"
    if o["reps"] < 1:
        raise UsageError("--reps %d: expected at least 1" % o["reps"])
    if o["warmup"] < 0:
        raise UsageError("--warmup %d: expected 0 or more" % o["warmup"])
    if o["first_rep"] < 1:
        raise UsageError("--first-rep %d: expected 1 or more" % o["first_rep"])
    return sc


# ---- CSV ------------------------------------------------------------------------------------


def csv_field(value, free_text=False):
    """One field: '' for None. The free-text message column is quoted per RFC 4180
    when it holds a comma or a quote; in every other column a comma or quote becomes
    '_' (as gillab writes them). Line breaks never survive."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    s = s.replace("\r", " ").replace("\n", " ")
    if not free_text:
        return s.replace(",", "_").replace('"', "_")
    if "," in s or '"' in s:
        s = '"' + s.replace('"', '""') + '"'
    return s


def csv_line(values, columns):
    return ",".join(csv_field(v, c == "message") for v, c in zip(values, columns)) + "\n"


def write_all(fd, data):
    """The whole of data; a short write (a regular file makes one only when the disk is
    full) is finished, and a failure truncates the file back to where it was."""
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        while data:
            n = os.write(fd, data)
            data = data[n:]
    except (OSError, IOError):
        os.ftruncate(fd, start)
        raise


class CsvFile(object):
    """A lab CSV opened for appending. The header goes into a new or empty file together
    with the first rows; a file with another header, or whose last line is incomplete,
    is refused. Every append is one os.write() on an O_APPEND descriptor under an
    exclusive flock, so an interrupted run never leaves half a row and two writers
    never both write a header."""

    def __init__(self, path, columns):
        self.path = path
        self.wrote = False
        self.fd = None
        existed = os.path.exists(path)
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except (OSError, IOError) as e:
            raise UsageError("%s: cannot open for appending: %s" % (path, e.strerror))
        self.created = not existed
        self.columns = list(columns)
        if os.fstat(self.fd).st_size == 0:
            return
        with open(path, "rb") as f:
            first = to_text(f.readline()).rstrip("\r\n")
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
        have = first.split(",")
        problem = None
        if have != self.columns:
            where = 0
            while where < min(len(have), len(columns)) and have[where] == columns[where]:
                where += 1
            problem = ("its header differs from gillab's columns (column %d is '%s', "
                       "expected '%s'); write to a new file or move this one away"
                       % (where + 1, have[where] if where < len(have) else "",
                          columns[where] if where < len(columns) else ""))
        elif last != b"\n":
            problem = "its last line is incomplete; move the file away"
        if problem:
            self.close()
            raise UsageError("%s: %s" % (path, problem))

    def append(self, text):
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self.fd).st_size == 0:
                text = ",".join(self.columns) + "\n" + text
            write_all(self.fd, to_bytes(text))
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
            except (OSError, IOError):
                pass
        os.close(self.fd)
        self.fd = None


# ---- running ----------------------------------------------------------------------------------


def describe_error(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted non-empty list."""
    k = max(1, int(math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[k - 1]


class Gate(object):
    """Every party waits until the last one has arrived (what threading.Barrier does;
    Python 2.7 has none)."""

    def __init__(self, parties):
        self.parties = parties
        self.arrived = 0
        self.cond = threading.Condition()

    def wait(self):
        with self.cond:
            self.arrived += 1
            if self.arrived >= self.parties:
                self.cond.notify_all()
            while self.arrived < self.parties:
                self.cond.wait()


class Outcome(object):
    __slots__ = ("wall_s", "user_s", "sys_s", "nvcsw", "nivcsw", "error", "samples", "io_s",
                 "others_s", "steal_s")

    def __init__(self):
        self.error = None
        self.samples = None
        self.io_s = None
        self.others_s = None
        self.steal_s = None


def machine_load():
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat, or None
    (as gillab's runner/load.c reads them)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        hz = float(os.sysconf("SC_CLK_TCK"))
        user, nice, system, _idle, _iowait, irq, softirq, steal = [int(x) for x in fields[1:9]]
    except (OSError, ValueError, IndexError):
        return None
    return (user + nice + system + irq + softirq) / hz, steal / hz


def is_int_list(value):
    ints = (int, long) if sys.version_info[0] == 2 else (int,)  # noqa: F821 (2.7's long)
    return isinstance(value, list) and all(isinstance(x, ints) and not isinstance(x, bool)
                                           for x in value)


def run_once(mod, o, sc):
    """One repetition of the scenario on a freshly loaded module; returns an Outcome."""
    entry = getattr(mod, o["entry"])
    results = {}
    io_span = {}
    cpu_begun = threading.Semaphore(0)

    def call(idx, fn, args, times, gate, wait_for, is_io):
        try:
            gate.wait()
            for _ in range(wait_for):  # the I/O thread waits until the CPU threads run
                cpu_begun.acquire()
            if sc.get("io_thread") and not is_io:
                cpu_begun.release()
            t0 = clock()
            value = None
            for _ in range(times):
                value = fn(*args)
            if is_io:
                io_span["s"] = clock() - t0
            results[idx] = (None, value)
        except BaseException as e:  # a workload error ends this thread, not the run
            results[idx] = (describe_error(e), None)

    if sc.get("sequential"):
        jobs = [(entry, o["args"], o["threads"], 0, False)]
    elif sc.get("io_thread"):
        ncpu = o["threads"] - 1
        jobs = [(entry, o["args"], 1, 0, False)] * ncpu
        jobs.append((getattr(mod, o["io_entry"]), o["io_args"], 1, ncpu, True))
    else:
        jobs = [(entry, o["args"], 1, 0, False)] * o["threads"]

    gate = Gate(len(jobs) + 1)
    threads = []
    for i, (fn, args, times, wait_for, is_io) in enumerate(jobs):
        t = threading.Thread(target=call, args=(i, fn, args, times, gate, wait_for, is_io),
                             name="peer-%d" % i)
        t.daemon = True  # an interrupted peer must not wait for its workers
        t.start()
        threads.append(t)
    load0 = machine_load()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = clock()
    gate.wait()
    for t in threads:
        t.join()
    t1 = clock()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    load1 = machine_load()

    out = Outcome()
    out.wall_s = t1 - t0
    out.user_s = r1.ru_utime - r0.ru_utime
    out.sys_s = r1.ru_stime - r0.ru_stime
    out.nvcsw = r1.ru_nvcsw - r0.ru_nvcsw
    out.nivcsw = r1.ru_nivcsw - r0.ru_nivcsw
    if load0 is not None and load1 is not None:
        # what other processes took meanwhile: the machine's busy time less ours
        out.others_s = max(0.0, (load1[0] - load0[0]) - (out.user_s + out.sys_s))
        out.steal_s = max(0.0, load1[1] - load0[1])
    for i in range(len(jobs)):
        err, _ = results.get(i, ("thread ended without a result", None))
        if err is not None and out.error is None:
            out.error = err
    if sc.get("io_thread") and out.error is None:
        samples = results[len(jobs) - 1][1]
        if is_int_list(samples):
            out.samples = samples
            out.io_s = io_span.get("s")
        else:
            out.error = ("%s: %s() must return a list of ints (its wake-up latencies in us); "
                         "got %.80s" % (sc["name"], o["io_entry"], repr(samples)))
    return out


class RunIds(object):
    def __init__(self):
        self.stamp = utc_now("%Y%m%dT%H%M%SZ")
        self.pid = os.getpid()
        self.n = 0

    def next(self):
        self.n += 1
        return "%s-%d-%d" % (self.stamp, self.pid, self.n)


def load_module(path):
    """FILE as a new module object (fresh globals), not as __main__, compiled with
    Python 3's division and print on every version."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name = "gillab_workload_" + "".join(c if c.isalnum() else "_" for c in stem)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except (OSError, IOError) as e:
        raise UsageError("%s: cannot read: %s" % (path, e.strerror))
    try:
        code = compile(source, path, "exec", WORKLOAD_FLAGS, True)
    except SyntaxError as e:
        raise UsageError("%s:%s:%s: %s" % (path, e.lineno, e.offset, e.msg))
    mod = types.ModuleType(name)
    mod.__file__ = path
    try:
        exec(code, mod.__dict__)
    except Exception as e:
        raise UsageError("%s: loading it failed: %s" % (path, describe_error(e)))
    return mod


def check_workload(path, o, sc):
    """Load FILE once and check that its entry functions exist and take the arguments
    given, before anything is run or written."""
    if not os.path.isfile(path):
        raise UsageError("%s: no such file" % path)
    mod = load_module(path)
    wanted = [(o["entry"], len(o["args"]), "--entry")]
    if sc.get("forks"):  # the setup gets the arguments, the entry none
        wanted = [(o["setup"], len(o["args"]), "--setup"), (o["entry"], 0, "--entry")]
    if sc.get("io_thread"):
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


# ---- the fork scenario ----------------------------------------------------------------------
#
# As gillab's runner/fork.c does it, in one process per repetition: the parent calls the
# setup, reads its own /proc/self/smaps_rollup before and after (heap_kb: what the setup
# added to its anonymous memory), optionally calls gc.freeze(), and forks the workers.
# Each worker pins itself, says "r" on its report pipe, waits for "g" on its command pipe,
# calls the entry with no arguments, sends one JSON line and waits for its command pipe
# to end. The parent reads each worker's smaps_rollup when all are ready (before), when
# its report arrives (after) and every --sample-ms between. Workers ignore SIGINT,
# SIGTERM and SIGHUP, die with the parent (PR_SET_PDEATHSIG) and leave when their pipe
# ends; the parent turns those signals into Stopped, kills and reaps every worker and
# writes nothing for the repetition under way. THP is turned off for the process
# (PR_SET_THP_DISABLE), as gillab does, so the structure lives in 4 kB pages.

PR_SET_PDEATHSIG = 1
PR_SET_THP_DISABLE = 41
SMAPS_FIELDS = (("Rss", "rss"), ("Pss", "pss"), ("Shared_Clean", "shared_clean"),
                ("Shared_Dirty", "shared_dirty"), ("Private_Clean", "private_clean"),
                ("Private_Dirty", "private_dirty"), ("Anonymous", "anonymous"),
                ("AnonHugePages", "anon_huge"))


class Stopped(Exception):
    """SIGINT, SIGTERM or SIGHUP while workers lived: they were killed and reaped."""

    def __init__(self, signum):
        Exception.__init__(self, signum)
        self.signum = signum


def libc_call(name, *args):
    """A libc function through ctypes (prctl, malloc_trim), or None when there is none."""
    try:
        import ctypes
        return getattr(ctypes.CDLL(None), name)(*args)
    except (ImportError, AttributeError, OSError):
        return None


def read_smaps(pid):
    """{rss: kB, pss: ..., anonymous: ..., anon_huge: ...} of /proc/PID/smaps_rollup
    (pid 0: this process), or None (gone, a zombie, no such file)."""
    path = "/proc/%s/smaps_rollup" % ("self" if pid == 0 else pid)
    out = {}
    names = dict(SMAPS_FIELDS)
    try:
        with open(path) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in names and rest.split():
                    out[names[key]] = int(rest.split()[0])
    except (IOError, OSError, ValueError):
        return None
    return out if len(out) == len(names) else None


def thp_mode():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except (IOError, OSError):
        return None
    a, b = text.find("["), text.find("]")
    return text[a + 1:b] if 0 <= a < b else None


def mem_available_kb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError):
        pass
    return None


def read_line(fd):
    """Bytes up to and including the first newline, or what came before the end."""
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno_EINTR():
                continue
            break
        if not chunk:
            break
        data += chunk
    return data


def errno_EINTR():
    import errno
    return errno.EINTR


def close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def signal_name(signum):
    import signal
    for name in ("SIGKILL", "SIGSEGV", "SIGBUS", "SIGABRT", "SIGTERM", "SIGINT", "SIGHUP",
                 "SIGQUIT", "SIGFPE", "SIGILL", "SIGPIPE"):
        if getattr(signal, name, None) == signum:
            return name
    return "a signal"


def fork_worker(index, entry, cpus, cmd_r, rep_w, others, parent):
    """The worker: never returns."""
    import signal
    code = 125
    try:
        for fd in others:
            close_quietly(fd)
        libc_call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(125)  # the parent is already gone
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        set_affinity(cpus)
        used = get_affinity()
        os.write(rep_w, b"r")
        if os.read(cmd_r, 1) != b"g":
            os._exit(125)
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = clock()
        report = {"error": None, "repr": None}
        try:
            report["repr"] = repr(entry())[:4000]
        except Exception as e:  # the entry's error: this worker's row says it
            report["error"] = describe_error(e)
        t1 = clock()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        report.update(wall_s=t1 - t0, user_s=r1.ru_utime - r0.ru_utime,
                      sys_s=r1.ru_stime - r0.ru_stime, nvcsw=r1.ru_nvcsw - r0.ru_nvcsw,
                      nivcsw=r1.ru_nivcsw - r0.ru_nivcsw, cpus=used)
        sys.stdout.flush()
        data = to_bytes(json.dumps(report) + "\n")
        while data:  # a pipe: no seeking back, the parent reads a whole line or none
            data = data[os.write(rep_w, data):]
        while os.read(cmd_r, 1):  # until the parent closes it
            pass
        code = 0
    except BaseException as e:  # the worker's own failure: the parent reports its exit status
        say("worker %d: %s" % (index, describe_error(e)))
    finally:
        os._exit(code)


class ForkOutcome(object):
    def __init__(self):
        self.error = None          # the setup raised (nothing was forked), or gc.freeze is missing
        self.heap_kb = None
        self.frozen = None
        self.workers = []          # one dict per worker
        self.samples = []          # (worker, t_ms, smaps)
        self.others_s = self.steal_s = None


def fork_once(mod, o, cpus):
    """One repetition of the fork scenario on a freshly loaded module."""
    import gc
    import select
    import signal
    out = ForkOutcome()
    if o["refcount_policy"] == "gc_freeze" and not hasattr(gc, "freeze"):
        out.error = ("gc.freeze() does not exist in %s (CPython 3.7 added it): nothing was run"
                     % interpreter_name())
        return out
    setup, entry = getattr(mod, o["setup"]), getattr(mod, o["entry"])
    libc_call("prctl", PR_SET_THP_DISABLE, 1, 0, 0, 0)
    # Memory an earlier repetition freed would be reused unseen: back to the kernel first.
    gc.collect()
    libc_call("malloc_trim", 0)
    m0 = read_smaps(0)
    try:
        setup(*o["args"])
    except Exception as e:
        out.error = "setup: " + describe_error(e)
        return out
    m1 = read_smaps(0)
    if m0 is not None and m1 is not None:
        out.heap_kb = m1["anonymous"] - m0["anonymous"]
    n = o["workers"]
    avail = mem_available_kb()
    if out.heap_kb and avail and n * out.heap_kb > avail:
        raise UsageError("--workers %d: each worker may end with a private copy of what the setup "
                         "built (%.1f MB), %.1f GB for %d, and the machine has %.1f GB available "
                         "(MemAvailable): at most %d fit"
                         % (n, out.heap_kb / 1024.0, n * out.heap_kb / 1048576.0, n,
                            avail / 1048576.0, avail // out.heap_kb))
    out.frozen = 0
    if o["refcount_policy"] == "gc_freeze":
        gc.freeze()
        out.frozen = gc.get_freeze_count()

    slots = []   # dicts: pid, cmd, rep, ready, report, before, after, end
    stopped = []

    def on_stop(signum, frame):
        if not stopped:
            stopped.append(signum)
            raise Stopped(signum)

    old = {}
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(s) != signal.SIG_IGN:  # ignored by our starter: it stays so
            old[s] = signal.signal(s, on_stop)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        for i in range(n):
            cmd_r, cmd_w = os.pipe()
            rep_r, rep_w = os.pipe()
            others = [fd for sl in slots for fd in (sl["cmd"], sl["rep"])] + [cmd_w, rep_r]
            pid = os.fork()
            if pid == 0:
                fork_worker(i, entry, cpus, cmd_r, rep_w, others, parent)
            os.close(cmd_r)
            os.close(rep_w)
            slots.append({"pid": pid, "cmd": cmd_w, "rep": rep_r, "ready": False,
                          "report": None, "before": None, "after": None, "end": None,
                          "wall_s": None})
        for sl in slots:
            sl["ready"] = os.read(sl["rep"], 1) == b"r"
        for i, sl in enumerate(slots):
            if sl["ready"]:
                sl["before"] = read_smaps(sl["pid"])
                if sl["before"] is not None:
                    out.samples.append((i, 0.0, sl["before"]))
        load0 = machine_load()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = clock()
        for sl in slots:
            if sl["ready"]:
                try:
                    os.write(sl["cmd"], b"g")
                except OSError:
                    pass  # it died meanwhile: its pipe says so below
        poller = select.poll()
        live = {}
        for i, sl in enumerate(slots):
            poller.register(sl["rep"], select.POLLIN | select.POLLHUP)
            live[sl["rep"]] = i
        every = o["sample_ms"]
        next_t = every / 1000.0
        while live:
            timeout = None
            if every:
                timeout = max(0, int((next_t - (clock() - t0)) * 1000))
            try:
                events = poller.poll(timeout)
            except (select.error, OSError) as e:
                if e.args and e.args[0] == errno_EINTR():
                    continue
                raise
            if every and clock() - t0 >= next_t:
                t_ms = (clock() - t0) * 1000
                for fd, i in live.items():
                    m = read_smaps(slots[i]["pid"])
                    if m is not None:
                        out.samples.append((i, t_ms, m))
                while next_t <= clock() - t0:
                    next_t += every / 1000.0
            for fd, _ in events:
                if fd not in live:
                    continue
                i = live.pop(fd)
                poller.unregister(fd)
                sl = slots[i]
                line = read_line(fd)
                if line.endswith(b"\n"):
                    sl["report"] = json.loads(to_text(line))
                    sl["after"] = read_smaps(sl["pid"])
                    if sl["after"] is not None:
                        out.samples.append((i, (clock() - t0) * 1000, sl["after"]))
                else:
                    sl["wall_s"] = clock() - t0  # it died: its time is until we saw it
                os.close(sl["cmd"])
                os.close(fd)
                sl["cmd"] = sl["rep"] = None
                _, status = os.waitpid(sl["pid"], 0)
                sl["pid"] = None
                if sl["report"] is None:
                    if os.WIFSIGNALED(status):
                        sig = os.WTERMSIG(status)
                        sl["end"] = "killed by signal %d (%s)" % (sig, signal_name(sig))
                    else:
                        sl["end"] = ("exited with status %d before it reported"
                                     % (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1))
        t1 = clock()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        load1 = machine_load()
    except BaseException as e:
        for sl in slots:
            if sl["pid"]:
                try:
                    os.kill(sl["pid"], signal.SIGKILL)
                except OSError:
                    pass
            for k in ("cmd", "rep"):
                if sl[k] is not None:
                    close_quietly(sl[k])
        for sl in slots:
            if sl["pid"]:
                os.waitpid(sl["pid"], 0)
        if isinstance(e, KeyboardInterrupt):
            raise Stopped(signal.SIGINT)
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    own = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    for i, sl in enumerate(slots):
        rep = sl["report"] or {}
        own += rep.get("user_s", 0) + rep.get("sys_s", 0)
        w = {"before": sl["before"], "after": sl["after"], "wall_s": rep.get("wall_s", sl["wall_s"]),
             "user_s": rep.get("user_s"), "sys_s": rep.get("sys_s"), "nvcsw": rep.get("nvcsw"),
             "nivcsw": rep.get("nivcsw"), "cpus": rep.get("cpus"), "repr": rep.get("repr"),
             "error": rep.get("error") if sl["report"] else sl["end"]}
        out.workers.append(w)
    if load0 is not None and load1 is not None:
        out.others_s = max(0.0, (load1[0] - load0[0]) - own)
        out.steal_s = max(0.0, load1[1] - load0[1])
    return out


def fork_row(o, out, i):
    """The fork columns of worker i's row (i None: the one row of a repetition that forked
    nothing)."""
    row = {"setup": o["setup"], "refcount_policy": o["refcount_policy"], "workers": o["workers"],
           "thp": thp_mode(), "frozen_objects": out.frozen, "heap_kb": out.heap_kb}
    if i is None:
        return row
    w = out.workers[i]
    row["worker"] = i
    b, a = w["before"], w["after"]
    for tag, m in (("_before", b), ("", a)):
        if m is not None:
            for _, f in SMAPS_FIELDS[:6]:
                row[f + tag + "_kb"] = m[f]
    if a is not None:
        row["anon_huge_kb"] = a["anon_huge"]
    if a is not None and b is not None:
        unshared = (b["shared_clean"] + b["shared_dirty"]) - (a["shared_clean"] + a["shared_dirty"])
        row["unshared_kb"] = unshared
        if out.heap_kb:
            pct = 100.0 * (out.heap_kb - unshared) / out.heap_kb
            row["pct_still_shared"] = "%.3f" % min(100.0, max(0.0, pct))
    return row


def rep_plan(o):
    """(rep, warm-up number) of every run in order, as gillab runs them: the warm-ups
    first (rep None), then the repetitions numbered on from --first-rep."""
    return ([(None, k + 1) for k in range(o["warmup"])] +
            [(o["first_rep"] + k, None) for k in range(o["reps"])])


def run_fork_reps(o, sc, design, lab_version, cpus, where, columns, out_csv, smaps_csv):
    host = socket.gethostname()
    ids = RunIds()
    failures = 0
    for rep, warmup_no in rep_plan(o):
        started = utc_now("%Y-%m-%dT%H:%M:%SZ")
        out = fork_once(load_module(o["file"]), o, cpus)
        errors = [w["error"] for w in out.workers if w["error"]]
        failed = out.error is not None or bool(errors)
        failures += 1 if failed else 0
        if rep is None and not failed:
            continue
        lines, readings = [], []
        for i in (range(len(out.workers)) if out.workers else [None]):
            w = out.workers[i] if i is not None else None
            message = out.error if w is None else w["error"]
            if rep is None and message is not None:
                message = "warm-up %d: %s" % (warmup_no, message)
            run_id = ids.next()
            row = dict.fromkeys(columns)
            row.update(where)
            row.update({
                "run_id": run_id, "lab_version": lab_version, "started_utc": started,
                "host": host, "design": design, "workload": os.path.basename(o["file"]),
                "entry": o["entry"], "args": " ".join(str(x) for x in o["args"]),
                "scenario": sc["name"], "threads": 1, "rep": rep,
                "status": "ok" if message is None else "error", "message": message,
                "wall_s": "%.6f" % (w["wall_s"] if w and w["wall_s"] is not None else 0.0),
                "user_s": "%.6f" % (w["user_s"] if w and w["user_s"] is not None else 0.0),
                "sys_s": "%.6f" % (w["sys_s"] if w and w["sys_s"] is not None else 0.0),
            })
            if w is not None and w["nvcsw"] is not None:
                row["ctx_voluntary"] = w["nvcsw"]
                row["ctx_involuntary"] = w["nivcsw"]
            if w is not None and w["cpus"]:
                row["ncpus"] = len(w["cpus"])
                row["cpu_list"] = " ".join(map(str, w["cpus"]))
            if out.others_s is not None:
                row["others_cpu_s"] = "%.6f" % out.others_s
                row["steal_s"] = "%.6f" % out.steal_s
            row.update(fork_row(o, out, i))
            lines.append(csv_line([row.get(c) for c in columns], columns))
            for wi, t_ms, m in out.samples:
                if wi == i and rep is not None and smaps_csv is not None:
                    readings.append(csv_line(
                        [run_id, design, rep, wi, "%.3f" % t_ms, m["rss"], m["pss"],
                         m["shared_clean"] + m["shared_dirty"], m["private_dirty"]],
                        smaps_csv.columns))
            if not o["quiet"] or message is not None:
                say("%s %s fork %s worker %s %s: %s"
                    % (design, os.path.basename(o["file"]), o["refcount_policy"],
                       "-" if i is None else i,
                       "rep %d" % rep if rep is not None else "warm-up %d" % warmup_no,
                       message if message is not None else
                       "wall %s s, still shared %s%% of %s kB"
                       % (row["wall_s"], row.get("pct_still_shared", "-"), out.heap_kb)))
        if out_csv is not None:
            out_csv.append("".join(lines))
        if readings:
            smaps_csv.append("".join(readings))
    return EXIT_RUNTIME if failures else 0


def main(argv):
    o = parse_args(argv)
    if o["interpreter"]:
        sys.stdout.write((o["design"] or interpreter_name()) + "\n")
        return 0
    if o["identify"]:
        sys.stdout.write("%s\t%s\n" % (interpreter_name(), real_executable()))
        return 0
    if o["list_scenarios"]:
        sys.stdout.write("".join(s + "\n" for s in SUPPORTED_SCENARIOS))
        return 0
    gillab = Gillab(o["gillab"])
    if o["header"]:
        sys.stdout.write(",".join(gillab.columns()) + "\n")
        return 0
    sc = check_args(o, gillab.scenarios())
    design = o["design"] or interpreter_name()
    lab_version = o["lab_version"] or gillab.version()
    cpus_text, placement, cpus = parse_cpus(o["cpus"], get_affinity())
    check_workload(o["file"], o, sc)
    columns = gillab.columns()
    files = []
    try:
        out_csv = CsvFile(o["csv"], columns) if o["csv"] else None
        files.append(out_csv)
        samples_csv = CsvFile(o["samples_csv"], gillab.sample_columns()) if o["samples_csv"] else None
        files.append(samples_csv)
        where = {"cpus": cpus_text, "placement": placement, "ncpus": len(cpus),
                 "cpu_list": " ".join(map(str, cpus))}
        if sc.get("forks"):
            smaps_csv = CsvFile(o["smaps_csv"], gillab.smaps_columns()) if o["smaps_csv"] else None
            files.append(smaps_csv)
            return run_fork_reps(o, sc, design, lab_version, cpus, where, columns, out_csv,
                                 smaps_csv)
        return run_reps(o, sc, design, lab_version, cpus, where, columns, out_csv, samples_csv)
    finally:
        for f in files:
            if f is not None:
                f.close()


def run_reps(o, sc, design, lab_version, cpus, where, columns, out_csv, samples_csv):
    # Pin this thread before the workers exist: a new thread inherits its creator's CPU
    # set, so every worker runs on exactly these CPUs.
    set_affinity(cpus)
    host = socket.gethostname()
    ids = RunIds()
    failures = 0
    # Every repetition gets the module afresh (fresh globals, e.g. convoy's `done`), as
    # every gillab repetition gets a fresh runtime. Warm-ups are recorded only when they
    # fail (rep empty), as gillab records them.
    for rep, warmup_no in rep_plan(o):
        started = utc_now("%Y-%m-%dT%H:%M:%SZ")
        out = run_once(load_module(o["file"]), o, sc)
        if out.error is not None:
            failures += 1
        if rep is None and out.error is None:
            continue
        message = out.error
        if rep is None:
            message = "warm-up %d: %s" % (warmup_no, out.error)
        run_id = ids.next()
        row = dict.fromkeys(columns)
        row.update(where)
        row.update({
            "run_id": run_id, "lab_version": lab_version, "started_utc": started,
            "host": host, "design": design, "workload": os.path.basename(o["file"]),
            "entry": o["entry"], "args": " ".join(str(a) for a in o["args"]),
            "scenario": sc["name"], "threads": o["threads"], "rep": rep,
            "wall_s": "%.6f" % out.wall_s, "user_s": "%.6f" % out.user_s,
            "sys_s": "%.6f" % out.sys_s, "ctx_voluntary": out.nvcsw,
            "ctx_involuntary": out.nivcsw,
            "status": "ok" if out.error is None else "error", "message": message,
        })
        if out.others_s is not None:
            row["others_cpu_s"] = "%.6f" % out.others_s
            row["steal_s"] = "%.6f" % out.steal_s
        if out.samples is not None:
            s = sorted(out.samples)
            span = out.io_s if out.io_s else out.wall_s
            row["io_iters"] = len(s)
            row["io_iters_per_s"] = "%.3f" % (len(s) / span if span > 0 else 0.0)
            if s:
                row["latency_p50_us"] = percentile(s, 50)
                row["latency_p90_us"] = percentile(s, 90)
                row["latency_p99_us"] = percentile(s, 99)
                row["latency_max_us"] = s[-1]
            if samples_csv is not None and out.samples and rep is not None:
                samples_csv.append("".join(
                    csv_line([run_id, design, rep, i + 1, x], samples_csv.columns)
                    for i, x in enumerate(out.samples)))
        if out_csv is not None:
            out_csv.append(csv_line([row.get(c) for c in columns], columns))
        if not o["quiet"] or out.error is not None:
            extra = ""
            if out.samples:
                extra = ", io %d iters, latency p50 %s us" % (len(out.samples),
                                                              row["latency_p50_us"])
            say("%s %s %s threads=%d cpus=%s %s: wall %.3f s, user %.3f s, sys %.3f s%s%s"
                % (design, os.path.basename(o["file"]), sc["name"], o["threads"],
                   where["cpus"], "rep %d" % rep if rep is not None else "warm-up %d" % warmup_no,
                   out.wall_s, out.user_s, out.sys_s, extra,
                   "" if out.error is None else ", error: " + out.error))
    return EXIT_RUNTIME if failures else 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except UsageError as e:
        say(str(e))
        status = EXIT_USAGE
    except Stopped as e:
        say("interrupted by %s: the workers were stopped and reaped; the repetition under way "
            "wrote no row, every row written before is whole" % signal_name(e.signum))
        status = 128 + e.signum
    except KeyboardInterrupt:
        say("interrupted; rows already written are complete")
        status = 130
    try:
        sys.stdout.flush()
    except (OSError, IOError) as e:
        say("writing the output failed: %s" % e)
        status = status or EXIT_USAGE
    sys.stderr.flush()
    # os._exit: daemon workers of an interrupted run must not hold the exit up.
    os._exit(status)
