"""peers.py -- which real interpreters the lab runs beside its models.

Candidates: python3, pypy3, python2.7 and python2 on PATH, and every version under
pyenv's root (`pyenv root` when pyenv is on PATH, else ~/.pyenv). Each candidate is
asked by the peer driver itself who it is (`peer.py --identify`: its design name,
e.g. cpython-2.7.18, and its real executable), so a version-manager shim that does
not run counts as not found, and the same executable or the same version found twice
counts once.

By default the lab runs the peers its comparisons need: python3, pypy3 and one
CPython 2.7 (the interpreter py26 models). LAB_PEERS overrides: "all" runs every one
found; otherwise a space-separated list of command names or paths.
"""
import concurrent.futures
import glob
import os
import shutil
import subprocess
import sys

from facts import PEER_DRIVER

PATH_NAMES = ("python3", "pypy3", "python2.7", "python2")
# The kinds the lab looks for, each with how to tell one, and how to get one.
KINDS = (
    ("CPython 3", lambda p: p.impl == "cpython" and p.major == 3, ""),
    ("PyPy", lambda p: p.impl == "pypy", " (as root: apt-get install pypy3)"),
    ("CPython 2.7", lambda p: p.impl == "cpython" and p.version[:2] == (2, 7),
     ""),
)


class Interpreter(object):
    def __init__(self, name, executable, found_as):
        self.name = name                  # cpython-2.7.18, pypy-7.3.11
        self.executable = executable      # its real executable, past links and shims
        self.found_as = [found_as]        # "PATH python3", "pyenv 2.7.18", "LAB_PEERS x"
        impl, _, version = name.partition("-")
        self.impl = impl
        self.version = tuple(int(x) for x in version.split(".") if x.isdigit())
        self.major = self.version[0] if self.version else 0


def probe(command):
    """(Interpreter name, executable) of a command, or (None, why not)."""
    try:
        p = subprocess.run([command, PEER_DRIVER, "--identify"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    fields = p.stdout.strip().split("\t")
    if p.returncode != 0 or len(fields) != 2 or not fields[1]:
        why = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[0].strip()
        return None, why
    return fields[0], fields[1]


def pyenv_root():
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            p = subprocess.run([pyenv, "root"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30)
            if p.returncode == 0 and p.stdout.strip():
                return p.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    home = os.path.expanduser("~/.pyenv")
    return home if os.path.isdir(home) else None


def version_key(path):
    """pyenv's folders in version order: 3.6.15 before 3.10.13."""
    name = os.path.basename(path)
    parts = []
    for word in name.replace("-", ".").split("."):
        parts.append((0, int(word), "") if word.isdigit() else (1, 0, word))
    return parts


def candidates():
    """(how it was found, command) for every place the lab looks, PATH first."""
    out = []
    for name in PATH_NAMES:
        exe = shutil.which(name)
        if exe:
            out.append(("PATH " + name, exe))
    root = pyenv_root()
    if root:
        for d in sorted(glob.glob(os.path.join(root, "versions", "*")), key=version_key):
            exe = os.path.join(d, "bin", "python")
            if os.path.isfile(exe) and os.access(exe, os.X_OK):
                out.append(("pyenv " + os.path.basename(d), exe))
    return out


def identify(found):
    """Probe (how, command) pairs at once; de-duplicated Interpreters in their order,
    and (how, why not) for each that did not run."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda c: probe(c[1]), found))
    interpreters, failed = [], []
    for (how, _), (name, exe) in zip(found, answers):
        if name is None:
            failed.append((how, exe))
            continue
        same = [i for i in interpreters if i.executable == exe or i.name == name]
        if same:
            same[0].found_as.append(how)
        else:
            interpreters.append(Interpreter(name, exe, how))
    return interpreters, failed


def discover():
    """Every interpreter found (PATH, pyenv), one line per kind not found, and the
    candidates that did not run (how found, why)."""
    interpreters, failed = identify(candidates())
    where = "PATH, pyenv" if pyenv_root() else "PATH; no pyenv"
    missing = ["no %s found (%s): the lab goes on without it%s" % (kind, where, hint)
               for kind, is_kind, hint in KINDS if not any(is_kind(i) for i in interpreters)]
    return interpreters, missing, failed


def default_choice(interpreters):
    """python3 (as PATH gives it), pypy3, and the newest CPython 2.7, PATH before pyenv."""
    chosen = []

    def first(pred):
        for i in interpreters:
            if pred(i) and i not in chosen:
                chosen.append(i)
                return

    first(lambda i: "PATH python3" in i.found_as)
    first(lambda i: "PATH pypy3" in i.found_as)
    first(lambda i: i.impl == "pypy")
    twos = [i for i in interpreters if i.impl == "cpython" and i.version[:2] == (2, 7)]
    on_path = [i for i in twos if any(h.startswith("PATH") for h in i.found_as)]
    if twos:
        pick = on_path[0] if on_path else max(twos, key=lambda i: i.version)
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def choose(setting, say):
    """The peers to run: from LAB_PEERS's text (None: not set), saying what is missing."""
    if setting is not None and setting.strip() not in ("all",):
        entries = setting.split()
        found = []
        for e in entries:
            exe = e if os.sep in e else shutil.which(e)
            if exe is None:
                say("LAB_PEERS: %s is not on PATH: the lab goes on without it" % e)
                continue
            found.append(("LAB_PEERS " + e, exe))
        interpreters, failed = identify(found)
        for how, why in failed:
            say("%s does not run (%s): the lab goes on without it" % (how, why))
        return interpreters
    interpreters, missing, _ = discover()
    for line in missing:
        say(line)
    if setting is not None:  # all
        return interpreters
    return default_choice(interpreters)


def report(as_list=False, out=sys.stdout):
    """The `peers` subcommand: every interpreter found, which the lab runs by default,
    and what was not found (as_list: only "name TAB executable TAB default|-" lines)."""
    interpreters, missing, failed = discover()
    chosen = default_choice(interpreters)
    if as_list:
        for i in interpreters:
            out.write("%s\t%s\t%s\n" % (i.name, i.executable, "default" if i in chosen else "-"))
        return 0
    rows = [[i.name, "yes" if i in chosen else "-", i.executable, ", ".join(i.found_as)]
            for i in interpreters]
    import tables
    out.write(tables.table(["peer", "default", "executable", "found as"], rows, "<<<<") + "\n")
    for how, why in failed:
        out.write("%s does not run: %s\n" % (how, why))
    for line in missing:
        out.write(line + "\n")
    out.write("make lab runs the default ones; LAB_PEERS=all runs every one found, "
              "LAB_PEERS=\"CMD|PATH ...\" exactly those\n")
    return 0
