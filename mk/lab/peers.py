"""peers.py -- which real interpreters the lab runs beside its models.

Candidates, language by language (languages.py): for Python, python3, pypy3,
python2.7 and python2 on PATH and every version under pyenv's root; for Ruby, ruby on
PATH and every version under rbenv's root (a manager's root: `MANAGER root` when it is
on PATH, else ~/.MANAGER). Each candidate is asked by its language's peer driver who
it is (`peer.py --identify`, `peer.rb --identify`: its design name, e.g.
cpython-2.7.18 or ruby-3.1.2, and its real executable), so a version-manager shim that
does not run counts as not found, and the same executable or the same version found
twice counts once.

By default the lab runs the peers its comparisons need: python3, pypy3, one CPython
2.7 (the interpreter py26 models) and ruby (the interpreter the ruby design models).
LAB_PEERS overrides: "all" runs every one found; otherwise a space-separated list of
command names or paths, each asked by every language's driver in turn which it is.
"""
import concurrent.futures
import glob
import os
import shutil
import subprocess
import sys

from languages import LANGUAGES, PYTHON, RUBY

# The kinds the lab looks for, each with its language, how to tell one, and how to get one.
KINDS = (
    ("CPython 3", PYTHON, lambda p: p.impl == "cpython" and p.major == 3, ""),
    ("PyPy", PYTHON, lambda p: p.impl == "pypy", " (as root: apt-get install pypy3)"),
    ("CPython 2.7", PYTHON, lambda p: p.impl == "cpython" and p.version[:2] == (2, 7), ""),
    ("Ruby", RUBY, lambda p: p.language is RUBY, RUBY.install),
)


class Interpreter(object):
    def __init__(self, name, executable, language, found_as):
        self.name = name                  # cpython-2.7.18, pypy-7.3.11, ruby-3.1.2
        self.executable = executable      # its real executable, past links and shims
        self.language = language          # languages.PYTHON, RUBY: its driver, its files
        self.found_as = [found_as]        # "PATH python3", "pyenv 2.7.18", "LAB_PEERS x"
        impl, _, version = name.partition("-")
        self.impl = impl
        self.version = tuple(int(x) for x in version.split(".") if x.isdigit())
        self.major = self.version[0] if self.version else 0


def is_original(original, name):
    """Does the peer `name` (cpython-2.7.18) run a design's `original` (cpython-2.7)?"""
    return name == original or name.startswith(original + ".") or name.startswith(original + "-")


def runner_command(interp, facts):
    """FILE -> the command line that runs FILE under interp through its language's peer
    driver, up to the scenario's options."""
    return lambda f: [interp.executable, interp.language.driver, f, "--gillab", facts.gillab,
                      "--lab-version", facts.version]


def probe(command, language):
    """(Interpreter name, executable) of a command asked by language's driver, or
    (None, why not)."""
    try:
        p = subprocess.run([command, language.driver, "--identify"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    fields = p.stdout.strip().split("\t")
    if p.returncode != 0 or len(fields) != 2 or not fields[1]:
        why = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[0].strip()
        return None, why
    return fields[0], fields[1]


def probe_any(command, languages):
    """(name, executable, language) from the first of languages whose driver the
    command runs, or (None, why not, None): the reasons, one per language."""
    whys = []
    for lang in languages:
        name, exe = probe(command, lang)
        if name is not None:
            return name, exe, lang
        whys.append((os.path.basename(lang.driver), exe))
    if len({why for _, why in whys}) == 1:
        return None, whys[0][1], None
    return None, "; ".join("%s: %s" % w for w in whys), None


def manager_root(manager):
    """The root of a version manager (pyenv, rbenv): `MANAGER root`, else ~/.MANAGER."""
    cmd = shutil.which(manager)
    if cmd:
        try:
            p = subprocess.run([cmd, "root"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30)
            if p.returncode == 0 and p.stdout.strip():
                return p.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    home = os.path.expanduser("~/." + manager)
    return home if os.path.isdir(home) else None


def version_key(path):
    """A manager's folders in version order: 3.6.15 before 3.10.13."""
    name = os.path.basename(path)
    parts = []
    for word in name.replace("-", ".").split("."):
        parts.append((0, int(word), "") if word.isdigit() else (1, 0, word))
    return parts


def candidates():
    """(how it was found, command, languages to ask) for every place the lab looks,
    language by language, PATH first."""
    out = []
    for lang in LANGUAGES:
        for name in lang.path_names:
            exe = shutil.which(name)
            if exe:
                out.append(("PATH " + name, exe, (lang,)))
        root = manager_root(lang.manager)
        if root:
            for d in sorted(glob.glob(os.path.join(root, "versions", "*")), key=version_key):
                exe = os.path.join(d, "bin", lang.manager_exe)
                if os.path.isfile(exe) and os.access(exe, os.X_OK):
                    out.append(("%s %s" % (lang.manager, os.path.basename(d)), exe, (lang,)))
    return out


def identify(found):
    """Probe (how, command, languages) triples at once; de-duplicated Interpreters in
    their order, and (how, why not) for each that did not run."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda c: probe_any(c[1], c[2]), found))
    interpreters, failed = [], []
    for (how, _, _), (name, exe, lang) in zip(found, answers):
        if name is None:
            failed.append((how, exe))
            continue
        same = [i for i in interpreters if i.executable == exe or i.name == name]
        if same:
            same[0].found_as.append(how)
        else:
            interpreters.append(Interpreter(name, exe, lang, how))
    return interpreters, failed


def discover():
    """Every interpreter found (PATH, version managers), one line per kind not found,
    and the candidates that did not run (how found, why)."""
    interpreters, failed = identify(candidates())
    missing = []
    for kind, lang, is_kind, hint in KINDS:
        if any(is_kind(i) for i in interpreters):
            continue
        where = "PATH, %s" if manager_root(lang.manager) else "PATH; no %s"
        missing.append("no %s found (%s): the lab goes on without it%s"
                       % (kind, where % lang.manager, hint))
    return interpreters, missing, failed


def default_choice(interpreters):
    """python3 (as PATH gives it), pypy3, the newest CPython 2.7 (PATH before pyenv) and
    ruby (as PATH gives it, else the newest under rbenv)."""
    chosen = []

    def first(pred):
        for i in interpreters:
            if pred(i) and i not in chosen:
                chosen.append(i)
                return

    def newest(group):
        """One of a group: the first found on PATH, else the newest version."""
        if group and not any(i in chosen for i in group):
            on_path = [i for i in group if any(h.startswith("PATH") for h in i.found_as)]
            chosen.append(on_path[0] if on_path else max(group, key=lambda i: i.version))

    first(lambda i: "PATH python3" in i.found_as)
    first(lambda i: "PATH pypy3" in i.found_as)
    first(lambda i: i.impl == "pypy")
    newest([i for i in interpreters if i.impl == "cpython" and i.version[:2] == (2, 7)])
    newest([i for i in interpreters if i.language is RUBY])
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
            found.append(("LAB_PEERS " + e, exe, LANGUAGES))
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
    and what was not found (as_list: only "name TAB executable TAB default|- TAB driver"
    lines, the driver being the language's peer driver, which runs its workload files)."""
    interpreters, missing, failed = discover()
    chosen = default_choice(interpreters)
    if as_list:
        for i in interpreters:
            out.write("%s\t%s\t%s\t%s\n" % (i.name, i.executable,
                                            "default" if i in chosen else "-", i.language.driver))
        return 0
    rows = [[i.name, "yes" if i in chosen else "-", i.language.name, i.executable,
             ", ".join(i.found_as)] for i in interpreters]
    import tables
    out.write(tables.table(["peer", "default", "language", "executable", "found as"], rows,
                           "<<<<<") + "\n")
    for how, why in failed:
        out.write("%s does not run: %s\n" % (how, why))
    for line in missing:
        out.write(line + "\n")
    out.write("make lab runs the default ones; LAB_PEERS=all runs every one found, "
              "LAB_PEERS=\"CMD|PATH ...\" exactly those\n")
    return 0
