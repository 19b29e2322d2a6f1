"""The lab driver: `python3 mk/lab SUBCOMMAND ...` -- what make lab, make sweep, make bench,
make scale and make plots run, and the tables, the schema check and the peer list beside them.

Python 3 standard library only. The facts (designs, scenarios, the CSV schema) come
from gillab (facts.py); the analysis behind the tables and the figures is one module
(analysis.py). Diagnostics, progress and tables for a person go to stderr (bench's
tables and the peer list to stdout). Exit status: 0 ok; 1 a run failed or a file is
malformed; 2 a usage or set-up error; 128+signal when interrupted.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from facts import ROOT, DataError, Facts, LabError  # noqa: E402
from runs import quick_setting  # noqa: E402


COUNT_PY = os.path.join(ROOT, "workloads", "count.py")
CONVOY_PY = os.path.join(ROOT, "workloads", "convoy.py")


def env(name, default=None):
    v = os.environ.get(name)
    return default if v is None or v == "" else v


def flag_env(name, default=True):
    """LAB_TRACE=0 and the like: a setting that is on unless 0."""
    v = os.environ.get(name, "")
    return default if v == "" else v != "0"


def formatter(prog):
    return argparse.HelpFormatter(prog, max_help_position=34, width=130)


def gillab_option(p):
    p.add_argument("--gillab", metavar="PATH", default=env("GILLAB"),
                   help="the gillab binary (GILLAB; default build/release/gillab)")


def common(p, results_help="the results folder (RESULTS; default results)"):
    gillab_option(p)
    p.add_argument("--results", metavar="DIR", default=env("RESULTS", "results"),
                   help=results_help)


# Settings whose default depends on --quick: (normal, quick).
QUICK_DEFAULTS = {
    "lab": {"reps": (3, 2), "warmup": (1, 0), "target_s": (0.3, 0.04), "io_iters": (100, 20),
            "convoy_s": (3.0, 0.5)},
    "sweep": {"reps": (2, 1), "warmup": (1, 0), "target_s": (0.25, 0.03)},
    "fidelity": {"reps": (5, 2), "target_s": (0.5, 0.05), "io_iters": (50, 10),
                 "cal_rounds": (9, 2)},
    "scale": {"reps": (3, 1), "target_s": (0.25, 0.01)},
    "cow": {"reps": (3, 1), "mb": (100, 8), "workers": ("1 2 4", "1 2")},
}


def thread_list(text):
    """SCALE_THREADS / --threads: "1 2 4 8" -> [1, 2, 4, 8]."""
    try:
        counts = sorted({int(w) for w in text.replace(",", " ").split()})
    except ValueError:
        counts = []
    if not counts or counts[0] < 1 or counts[-1] > 256 or counts[0] != 1:
        raise argparse.ArgumentTypeError("'%s': expected thread counts from 1 to 256, 1 "
                                         "among them, e.g. '1 2 4 8'" % text)
    return counts


def measuring(p, cmd, prefix, unit, quick_help, drawn, translations=""):
    """The options lab and sweep share: sizes, repetitions, the figures, the workload."""
    d = QUICK_DEFAULTS[cmd]
    p.add_argument("--quick", action="store_true", default=quick_setting(),
                   help="%s (QUICK=1)" % quick_help)
    p.add_argument("--reps", metavar="N", type=int, default=env(prefix + "_REPS"),
                   help="measured repetitions per %s (%s_REPS; default %d, quick %d)"
                   % ((unit, prefix) + d["reps"]))
    p.add_argument("--warmup", metavar="N", type=int, default=env(prefix + "_WARMUP"),
                   help="warm-ups before them (%s_WARMUP; default %d, quick %d)"
                   % ((prefix,) + d["warmup"]))
    p.add_argument("--target-s", metavar="S", type=float, default=env(prefix + "_TARGET_S"),
                   help="seconds one count(N) takes (%s_TARGET_S; default %g, quick %g)"
                   % ((prefix,) + d["target_s"]))
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   default=flag_env(prefix + "_PLOTS"), help="no %s (%s_PLOTS=0)" % (drawn, prefix))
    p.add_argument("--workload", metavar="FILE", default=env(prefix + "_WORKLOAD", COUNT_PY),
                   help="a file defining count(n) (%s_WORKLOAD)%s" % (prefix, translations))


def parser():
    top = argparse.ArgumentParser(
        prog="python3 mk/lab", formatter_class=formatter,
        description="gillab's lab driver: runs the lab, the sweep and the bench, prints the "
                    "tables, draws the figures, checks results files.")
    sub = top.add_subparsers(dest="command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("lab", formatter_class=formatter,
                       help="the standard matrix, convoy, traces, figures, summary (make lab)",
                       description="The standard matrix (docs/lab.md). Settings default to "
                                   "the environment variables named.")
    common(p)
    measuring(p, "lab", "LAB", "cell", "tiny sizes, about 15 s", "figures",
              "; other languages run its translation (count.rb)")
    p.add_argument("--io-iters", metavar="N", type=int, default=env("LAB_IO_ITERS"),
                   help="convoy: the I/O thread's sleeps, at most (LAB_IO_ITERS; default 100, "
                        "quick 20)")
    p.add_argument("--convoy-s", metavar="S", type=float, default=env("LAB_CONVOY_S"),
                   help="convoy: seconds a run may take; fewer sleeps where each costs more "
                        "(LAB_CONVOY_S; default 3, quick 0.5)")
    p.add_argument("--io-sleep-us", metavar="US", type=int, default=env("LAB_IO_SLEEP_US", "1000"),
                   help="convoy: each sleep in us (LAB_IO_SLEEP_US; default 1000)")
    p.add_argument("--designs", metavar="'D ...'", default=os.environ.get("LAB_DESIGNS"),
                   help="designs to run (LAB_DESIGNS; default: every one that runs 2 threads)")
    p.add_argument("--peers", metavar="'P ...'", default=os.environ.get("LAB_PEERS"),
                   help="'all', or interpreters, names or paths (LAB_PEERS; default: see peers)")
    p.add_argument("--no-trace", dest="trace", action="store_false",
                   default=flag_env("LAB_TRACE"), help="no traces for the timelines (LAB_TRACE=0)")
    p.add_argument("--no-cow", dest="cow", action="store_false", default=flag_env("LAB_COW"),
                   help="no short copy-on-write run for cow.png (LAB_COW=0; make cow runs the "
                        "full one)")
    p.add_argument("--convoy", metavar="FILE", default=env("LAB_CONVOY", CONVOY_PY),
                   help="a file defining cpu(limit) and io(n, sleep_us) (LAB_CONVOY); "
                        "translated likewise")

    p = sub.add_parser("sweep", formatter_class=formatter,
                       help="every design's swept parameter over its values (make sweep)",
                       description="Every parameter that gillab designs --json gives a sweep, "
                                   "over its values; two threads on all CPUs.")
    common(p)
    measuring(p, "sweep", "SWEEP", "point", "tiny sizes, one repetition", "figure")

    p = sub.add_parser("bench", formatter_class=formatter,
                       help="speed figures as ratios side by side (make bench)",
                       description="Speed figures measured side by side; tables on stdout.")
    common(p)
    p.add_argument("--quick", action="store_true", default=quick_setting(),
                   help="a smoke run, its figures mean little (QUICK=1)")
    p.add_argument("--python", metavar="CMD", default=env("BENCH_PYTHON", "python3"),
                   help="the interpreter gillab is timed against (BENCH_PYTHON)")
    p.add_argument("--workload", metavar="FILE", default=COUNT_PY,
                   help="a file defining count(n)")

    p = sub.add_parser("scale", formatter_class=formatter,
                       help="every design, policy and peer against threads (make scale)",
                       description="Every design of gillab's registry that runs two threads, "
                                   "in each of its policies (gillab designs --json), and every "
                                   "peer, running count.py, sharedread.py and sharedlist.py in "
                                   "T = 1, 2, 4, 8 threads on all CPUs (more on a machine with "
                                   "more) and 2 threads on one CPU, each thread doing the same "
                                   "work; results/scale.csv, scale.png and a table.")
    common(p)
    p.add_argument("--quick", action="store_true", default=quick_setting(),
                   help="tiny sizes, one repetition: a smoke run (QUICK=1)")
    p.add_argument("--reps", metavar="N", type=int, default=env("SCALE_REPS"),
                   help="repetitions of every run (SCALE_REPS; default 3, quick 1)")
    p.add_argument("--target-s", metavar="S", type=float, default=env("SCALE_TARGET_S"),
                   help="seconds one thread's call takes alone (SCALE_TARGET_S; default 0.25, "
                        "quick 0.01)")
    p.add_argument("--threads", metavar="'T ...'", type=thread_list,
                   default=env("SCALE_THREADS"),   # a string default goes through type too
                   help="thread counts on all CPUs (SCALE_THREADS; default 1 2 4 8, doubling on "
                        "to twice the CPUs)")
    p.add_argument("--designs", metavar="'D ...'", default=os.environ.get("SCALE_DESIGNS"),
                   help="designs to run (SCALE_DESIGNS; default: every one that runs 2 threads)")
    p.add_argument("--peers", metavar="'P ...'", default=os.environ.get("SCALE_PEERS"),
                   help="'all', or interpreters, names or paths (SCALE_PEERS; default: see peers)")
    p.add_argument("--workloads", metavar="'W ...'", default=env("SCALE_WORKLOADS"),
                   help="of count.py sharedread.py sharedlist.py (SCALE_WORKLOADS; default all)")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   default=flag_env("SCALE_PLOTS"), help="no scale.png (SCALE_PLOTS=0)")

    p = sub.add_parser("fidelity", formatter_class=formatter,
                       help="every model beside its original, interleaved (make fidelity)",
                       description="Each design beside the real interpreter that runs its "
                                   "original, interleaved; results/fidelity.csv, a table with "
                                   "verdicts, fidelity.png.")
    common(p)
    p.add_argument("--quick", action="store_true", default=quick_setting(),
                   help="tiny sizes, two repetitions: a smoke run (QUICK=1)")
    p.add_argument("--reps", metavar="R", type=int, default=env("FIDELITY_REPS"),
                   help="repetitions, each running every pair and scenario (FIDELITY_REPS; "
                        "default 5, quick 2)")
    p.add_argument("--target-s", metavar="S", type=float, default=env("FIDELITY_TARGET_S"),
                   help="seconds one count(N) takes on each contender (default 0.5, quick 0.05)")
    p.add_argument("--io-iters", metavar="N", type=int, default=env("FIDELITY_IO_ITERS"),
                   help="convoy: the I/O thread's sleeps (default 50, quick 10)")
    p.add_argument("--io-sleep-us", metavar="US", type=int, default=1000,
                   help="convoy: each sleep in us (default 1000)")
    p.add_argument("--cal-rounds", metavar="K", type=int, default=None,
                   help="runs of each side when measuring tick_scale (default 9, quick 2)")
    p.add_argument("--no-plots", dest="plots", action="store_false", default=True,
                   help="no fidelity.png")
    p.add_argument("--workload", metavar="FILE", default=COUNT_PY, help="a file defining count(n)")
    p.add_argument("--convoy", metavar="FILE", default=CONVOY_PY,
                   help="a file defining cpu(limit) and io(n, sleep_us)")

    p = sub.add_parser("cow", formatter_class=formatter,
                       help="copy-on-write after fork: refcount policies beside real "
                            "interpreters (make cow)",
                       description="The fork scenario on workloads/cow.py: gillab under each "
                                   "refcount policy, the Python peers with and without "
                                   "gc.freeze(), every worker count; results/cow.csv, "
                                   "cow_smaps.csv, cow.png and a table (mk/lab/cow.py).")
    common(p)
    p.add_argument("--quick", action="store_true", default=quick_setting(),
                   help="a small structure, one repetition (QUICK=1)")
    p.add_argument("--reps", metavar="N", type=int, default=env("COW_REPS"),
                   help="repetitions per cell (COW_REPS; default 3, quick 1)")
    p.add_argument("--mb", metavar="MB", type=int, default=env("COW_MB"),
                   help="the structure the parent builds, build(MB) (COW_MB; default 100, quick 8)")
    p.add_argument("--workers", metavar="'N ...'", default=env("COW_WORKERS"),
                   help="worker counts (COW_WORKERS; default '1 2 4', quick '1 2')")
    p.add_argument("--sample-ms", metavar="MS", type=int, default=env("COW_SAMPLE_MS", "10"),
                   help="read each worker's memory this often during its walk (COW_SAMPLE_MS; "
                        "default 10)")
    p.add_argument("--peers", metavar="'P ...'", default=os.environ.get("LAB_PEERS"),
                   help="'all', or interpreters, names or paths (LAB_PEERS; default: see peers)")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   default=flag_env("COW_PLOTS"), help="no cow.png (COW_PLOTS=0)")
    p.add_argument("--workload", metavar="FILE", default=env("COW_WORKLOAD",
                                                             os.path.join(ROOT, "workloads", "cow.py")),
                   help="a file defining build(mb) and walk() (COW_WORKLOAD)")

    p = sub.add_parser("summary", formatter_class=formatter,
                       help="the tables of a results folder",
                       description="The lab, convoy, sweep, scale and cow tables of the files in DIR.")
    p.add_argument("dir", metavar="DIR",
                   help="a folder holding lab.csv, convoy.csv, sweep.csv, scale.csv, cow.csv")
    gillab_option(p)

    p = sub.add_parser("plots", formatter_class=formatter,
                       help="draw the figures from DATA into OUT (make plots)",
                       description="The figures, PNG and SVG, drawn by the gnuplot scripts "
                                   "in plots/.")
    p.add_argument("--data", metavar="DIR", default=env("DATA", "results"),
                   help="the folder of CSVs to read (DATA; default results)")
    p.add_argument("--out", metavar="DIR", default=env("OUT"),
                   help="the folder to draw into (OUT; default: DATA)")
    p.add_argument("--only", metavar="LIST", default=env("ONLY", ""),
                   help="figures, comma-separated: runtime,rates,timeline,convoy,sweep,fidelity,"
                        "scale,cow (ONLY)")
    gillab_option(p)

    p = sub.add_parser("validate", formatter_class=formatter,
                       help="check results files against gillab's schema",
                       description="Check results files (or a convoy samples file) against "
                                   "gillab csv-schema --json.")
    p.add_argument("csv", metavar="CSV", nargs="+", help="a file to check")
    gillab_option(p)

    p = sub.add_parser("peers", formatter_class=formatter,
                       help="the real interpreters found, and those not found",
                       description="The interpreters the lab finds (PATH, pyenv) and the "
                                   "ones it runs by default.")
    p.add_argument("--list", action="store_true",
                   help="only 'name TAB executable TAB default|-' lines, for scripts")
    return top


def main(argv):
    o = parser().parse_args(argv)
    cmd = o.command
    for name, pair in QUICK_DEFAULTS.get(cmd, {}).items():
        if getattr(o, name) is None:
            setattr(o, name, pair[1] if o.quick else pair[0])
    for name in ("reps", "io_iters", "io_sleep_us", "cal_rounds"):
        if getattr(o, name, 1) < 1:
            raise LabError("--%s %d: expected 1 or more"
                           % (name.replace("_", "-"), getattr(o, name)))
    if cmd == "cow":
        text = str(o.workers)
        words = text.split()
        if not words or not all(w.isdigit() and 1 <= int(w) <= 256 for w in words):
            raise LabError("--workers '%s': expected worker counts in 1..256, e.g. '1 2 4'" % text)
        o.workers = [int(w) for w in words]
        if o.mb < 1:
            raise LabError("--mb %d: expected 1 or more" % o.mb)
        if o.sample_ms < 0:
            raise LabError("--sample-ms %d: expected 0 or more" % o.sample_ms)
    if getattr(o, "warmup", 0) < 0:
        raise LabError("--warmup %d: expected 0 or more" % o.warmup)
    for name in ("target_s", "convoy_s"):
        if getattr(o, name, 1) <= 0:
            raise LabError("--%s %g: expected more than 0"
                           % (name.replace("_", "-"), getattr(o, name)))
    if cmd == "peers":
        import peers
        return peers.report(o.list)
    facts = Facts(o.gillab)
    if cmd == "lab":
        import matrix
        return matrix.run(o, facts)
    if cmd == "sweep":
        import sweep
        return sweep.run(o, facts)
    if cmd == "bench":
        import bench
        return bench.main(o, facts)
    if cmd == "scale":
        import scale
        return scale.run(o, facts)
    if cmd == "fidelity":
        import fidelity
        return fidelity.run(o, facts)
    if cmd == "cow":
        import cow
        return cow.run(o, facts)
    if cmd == "summary":
        import tables
        if not os.path.isdir(o.dir):
            raise LabError("%s: no such folder" % o.dir)
        text = tables.summary(facts, o.dir)
        if os.path.exists(os.path.join(o.dir, "cow.csv")):   # make cow's, when there
            import cow
            text += "\n\n" + cow.summary(facts, o.dir)
        sys.stdout.write(text + "\n")
        return 0
    if cmd == "plots":
        import plots
        only = {f.strip() for f in o.only.split(",") if f.strip()}
        say = lambda msg: sys.stderr.write("plots: %s\n" % msg)
        return plots.draw(facts, o.data, o.out or o.data, only, say)
    if cmd == "validate":
        import validate
        status = 0
        for path in o.csv:
            n, problems = validate.validate(facts, path)
            for p in problems[:30]:
                sys.stderr.write("validate: %s\n" % p)
            if len(problems) > 30:
                sys.stderr.write("validate: ... and %d more\n" % (len(problems) - 30))
            if problems:
                status = 1
            else:
                sys.stderr.write("validate: %s: %d rows ok\n" % (path, n))
        return status
    return 2


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except (LabError, DataError) as e:
        sys.stderr.write("%s: %s\n" % (sys.argv[1] if len(sys.argv) > 1 else "lab", e))
        status = e.status
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        status = 130
    try:
        sys.stdout.flush()
    except OSError as e:
        sys.stderr.write("writing the output failed: %s\n" % e.strerror)
        status = status or 1
    sys.exit(status)
