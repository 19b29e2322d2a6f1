"""languages.py -- the languages the lab's peers run in, and their workload files.

Python comes first: it is the language gillab's designs run, so the designs and the
Python peers run the workload file as given. Every other language has a peer driver
of its own (workloads/peers/peer.EXT, the same options and CSV columns as peer.py)
and runs the translation of a workload beside it: the same folder and stem with the
language's extension (workloads/count.rb for workloads/count.py). A workload with no
translation is not run in that language.

The order of LANGUAGES is the order of the peers in tables and figures: the designs,
then the Python peers, then the others (see Facts.design_rank).
"""
import os

from facts import ROOT

PEERS_DIR = os.path.join(ROOT, "workloads", "peers")


class Language(object):
    def __init__(self, name, extension, path_names, manager, manager_exe, install):
        self.name = name                   # Python, Ruby
        self.extension = extension         # .py, .rb: its workload files and its driver
        self.driver = os.path.join(PEERS_DIR, "peer" + extension)
        self.path_names = path_names       # the commands looked for on PATH
        self.manager = manager             # a version manager: MANAGER root/versions/*/bin/EXE
        self.manager_exe = manager_exe
        self.install = install             # how to get one, for the line saying it is missing

    def translation(self, path):
        """The file this language runs for the workload `path`: the same stem with its
        own extension (path itself when it has it); it may not exist."""
        stem, ext = os.path.splitext(path)
        return path if ext == self.extension else stem + self.extension


PYTHON = Language("Python", ".py", ("python3", "pypy3", "python2.7", "python2"),
                  "pyenv", "python", "")
RUBY = Language("Ruby", ".rb", ("ruby",), "rbenv", "ruby", " (as root: apt-get install ruby)")
LANGUAGES = (PYTHON, RUBY)


def of_workload(name):
    """The language of a workload file (by its extension), or None."""
    ext = os.path.splitext(name)[1]
    for lang in LANGUAGES:
        if lang.extension == ext:
            return lang
    return None


def rank(workload):
    """A workload's language's place in LANGUAGES; unknown (or none given) last."""
    lang = of_workload(workload or "")
    return LANGUAGES.index(lang) if lang else len(LANGUAGES)
