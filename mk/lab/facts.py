"""facts.py -- what the lab knows about gillab, asked from gillab itself.

The designs (name, parameters, thread limit), the scenarios and the CSV schema live
once, in C; `gillab designs --json`, `gillab scenarios --json`, `gillab csv-schema
--json` and `gillab csv-header` print them. Everything on the Python side that needs
one of these facts takes it from a Facts object, never from a list of its own.
"""
import json
import os
import subprocess

# The repository root: mk/lab/facts.py -> ../..
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class LabError(Exception):
    """A set-up or usage problem: one line on stderr, exit status 2."""

    status = 2


class DataError(Exception):
    """A malformed input file: the message names the file and line; exit status 1."""

    status = 1


def find_gillab(given=None):
    """The gillab binary: the one given, else $GILLAB, else this tree's release build."""
    path = given or os.environ.get("GILLAB") or os.path.join(ROOT, "build", "release", "gillab")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise LabError("%s is missing; build it first: make release" % path)
    return os.path.abspath(path)


def ask(gillab, *args):
    p = subprocess.run([gillab] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise LabError("`gillab %s` failed (exit %d): %s"
                       % (" ".join(args), p.returncode, p.stderr.strip()))
    return p.stdout


class Facts(object):
    """gillab's registry, scenario table and CSV schema, asked once."""

    def __init__(self, gillab=None):
        self.gillab = find_gillab(gillab)
        try:
            self.designs = json.loads(ask(self.gillab, "designs", "--json"))["designs"]
            self.scenarios = json.loads(ask(self.gillab, "scenarios", "--json"))["scenarios"]
            schema = json.loads(ask(self.gillab, "csv-schema", "--json"))
            self.schema = schema["columns"]
            # The convoy samples file, and a trace file with the events it may hold.
            self.sample_columns = list(schema["samples"])
            # The fork scenario's memory readings (--smaps-csv).
            self.smaps_columns = list(schema["smaps"])
            self.trace_columns = list(schema["trace"])
            self.trace_events = tuple(schema["trace_events"])
        except (ValueError, KeyError, TypeError) as e:
            raise LabError("%s printed JSON the lab cannot read (%s)" % (self.gillab, e))
        self.header = ask(self.gillab, "csv-header").strip().split(",")
        words = ask(self.gillab, "version").split()
        self.version = words[1] if len(words) > 1 else ""
        self.columns = [c["name"] for c in self.schema]
        if self.columns != self.header:
            raise LabError("gillab csv-header and gillab csv-schema disagree")
        self.types = {c["name"]: c["type"] for c in self.schema}
        # The design parameter columns, the lock's counters and the VM's, by their source;
        # each VM counter with the policies (vm_safety kinds) that fill it.
        self.param_columns = [c["name"] for c in self.schema if c["source"] == "design"]
        self.lock_columns = [c["name"] for c in self.schema if c["source"] == "lock"]
        self.vm_columns = [c["name"] for c in self.schema if c["source"] == "vm"]
        self.vm_policies = {c["name"]: set(c.get("policies", [])) for c in self.schema
                            if c["source"] == "vm"}
        self.design_names = [d["name"] for d in self.designs]
        self._design = {d["name"]: d for d in self.designs}
        self._scenario = {s["name"]: s for s in self.scenarios}

    # ---- designs -------------------------------------------------------------------------

    def design(self, name):
        return self._design.get(name)

    def is_design(self, name):
        """A design of the registry; anything else in the design column is a peer."""
        return name in self._design

    def design_rank(self, name, language_rank=0):
        """Registry order first, then peers by their language's place (languages.rank of
        the workload they ran: Python's first), implementation and version
        (cpython-2.7.18, cpython-3.6.15, cpython-3.10.13, pypy-7.3.11, ruby-3.1.2)."""
        if name in self._design:
            return (0, self.design_names.index(name), "", ())
        impl, _, version = name.partition("-")
        return (1, language_rank, impl,
                tuple(int(x) if x.isdigit() else -1 for x in version.split(".")))

    def runs_threads(self, name, threads):
        d = self._design[name]
        return d["max_threads"] == 0 or threads <= d["max_threads"]

    def lab_designs(self):
        """The designs that can run two threads at once: the standard matrix's."""
        return [d for d in self.design_names if self.runs_threads(d, 2)]

    def traced_designs(self):
        """The designs whose lock serialises the VM (a timeline shows who holds it)."""
        return [d["name"] for d in self.designs
                if d["vm_safety"] == "serial" and self.runs_threads(d["name"], 2)]

    def policy_of(self, design, row):
        """The vm_safety (e.g. "biased+immortal") of a design's row, from its parameter
        columns and the design's policies (gillab designs --json); None for a peer."""
        d = self._design.get(design)
        if d is None:
            return None
        for p in d["policies"]:
            if all(row.get(a.partition("=")[0], "") == a.partition("=")[2] for a in p["set"]):
                return p["vm_safety"]
        return d["vm_safety"]

    def vm_column_applies(self, column, safety):
        """Does the VM counter `column` count anything under a policy (flags ignored)?"""
        return safety is not None and safety.partition("+")[0] in self.vm_policies[column]

    def swept(self):
        """(design, parameter) for every parameter that names the values it is swept over."""
        return [(d, p) for d in self.designs for p in d["params"] if p.get("sweep")]

    def param(self, design, column):
        for p in self._design[design]["params"]:
            if p["column"] == column:
                return p
        return None

    # ---- scenarios -----------------------------------------------------------------------

    def scenario(self, name):
        return self._scenario.get(name)

    def forks(self, name):
        """Does the scenario fork worker processes (the fork scenario)?"""
        return bool((self._scenario.get(name) or {}).get("forks"))

    def scenario_rank(self, name):
        names = [s["name"] for s in self.scenarios]
        return names.index(name) if name in names else len(names)
