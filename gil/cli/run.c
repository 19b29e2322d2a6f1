/*
 * run.c — `gillab run`: its options (one table, from which the parser, the
 * usage text and the messages are made), then the runner and the recorder.
 * The checks that need the design or the scenario are the runner's
 * (run_prepare); this file checks only the syntax of each option.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "cli/cli.h"
#include "record/record.h"

enum opt_id {
    OPT_ENTRY, OPT_ARG, OPT_GIL, OPT_SET, OPT_SCENARIO, OPT_THREADS, OPT_CPUS, OPT_REPS,
    OPT_WARMUP, OPT_FIRST_REP, OPT_CSV, OPT_SAMPLES_CSV, OPT_TRACE, OPT_TRACE_JSON,
    OPT_IO_ENTRY, OPT_IO_ARG, OPT_QUIET, OPT_OPSTATS, OPT_OPSTATS_CSV, OPT_HELP,
    OPT_WORKERS, OPT_SETUP, OPT_REFCOUNT_POLICY, OPT_SAMPLE_MS, OPT_SMAPS_CSV,
};

struct option_spec {
    const char *flag;
    const char *metavar;   /* NULL: the option takes no value */
    enum opt_id id;
    bool lab;              /* a lab option: needs --entry */
    unsigned scn;          /* a scenario-only option: its SCN_OPT_* bit, else 0 */
    const char *help;      /* one line; "%S" is replaced by the scenario names, "%D" by the designs,
                              "%G" by the default design, "%C" by the default scenario */
};

static const struct option_spec options[] = {
    {"--entry", "NAME", OPT_ENTRY, false, 0,
     "load FILE as a module and call NAME in the scenario's threads"},
    {"--arg", "V", OPT_ARG, false, 0, "an integer argument for the entry (repeatable)"},
    {"--gil", "NAME", OPT_GIL, false, 0, "the lock design: %D (default %G; see gillab designs)"},
    {"--set", "NAME=VALUE", OPT_SET, false, 0,
     "a design parameter, e.g. interval=5ms (repeatable; see gillab designs)"},
    {"--opstats", NULL, OPT_OPSTATS, false, 0,
     "how often each opcode ran, per thread and in total, on stderr"},
    {"--opstats-csv", "FILE", OPT_OPSTATS_CSV, false, 0,
     "append the same as CSV rows: run_id,rep,thread,opcode,count"},
    {"--scenario", "NAME", OPT_SCENARIO, true, 0, "%S (default %C; see gillab scenarios)"},
    {"--threads", "T", OPT_THREADS, true, 0, "what T means depends on the scenario (gillab scenarios)"},
    {"--cpus", "1|all|LIST", OPT_CPUS, true, 0,
     "one CPU for every thread, every allowed CPU (default), or ids like 0,1 or 0-1"},
    {"--reps", "R", OPT_REPS, true, 0, "measured repetitions (default 1)"},
    {"--warmup", "W", OPT_WARMUP, true, 0, "unrecorded repetitions before them (default 0)"},
    {"--first-rep", "N", OPT_FIRST_REP, true, 0,
     "number the measured repetitions from N (default 1), e.g. to resume a series"},
    {"--csv", "FILE", OPT_CSV, true, 0, "append one row per measured repetition"},
    {"--samples-csv", "FILE", OPT_SAMPLES_CSV, true, SCN_OPT_SAMPLES,
     "one row per wake-up of the I/O thread"},
    {"--trace", "FILE.csv", OPT_TRACE, true, 0, "the lock events of the last measured repetition"},
    {"--trace-json", "FILE.json", OPT_TRACE_JSON, true, 0,
     "the same as Chrome trace-event JSON (Perfetto opens it)"},
    {"--io-entry", "NAME", OPT_IO_ENTRY, true, SCN_OPT_IO, "the I/O thread's function (default io)"},
    {"--io-arg", "V", OPT_IO_ARG, true, SCN_OPT_IO, "an integer argument for it (repeatable)"},
    {"--workers", "N", OPT_WORKERS, true, SCN_OPT_FORK, "worker processes to fork (default 1)"},
    {"--setup", "NAME", OPT_SETUP, true, SCN_OPT_FORK,
     "the function the parent calls, with the --arg values, before it forks"},
    {"--refcount-policy", "%P", OPT_REFCOUNT_POLICY, true, SCN_OPT_FORK,
     "reference counts at fork: as they are, or every object of the globals immortal (default plain)"},
    {"--sample-ms", "MS", OPT_SAMPLE_MS, true, SCN_OPT_FORK,
     "also read each worker's memory every MS ms while it runs (needs --smaps-csv)"},
    {"--smaps-csv", "FILE", OPT_SMAPS_CSV, true, SCN_OPT_FORK,
     "append the workers' memory readings: run_id,design,rep,worker,t_ms,rss_kb,..."},
    {"--quiet", NULL, OPT_QUIET, true, 0, "no per-thread table on stderr"},
    {"--help", NULL, OPT_HELP, false, 0, "this help"},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static const struct option_spec *find_option(const char *flag)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(options[i].flag, flag) == 0)
            return &options[i];
    return NULL;
}

/* An option's value as usage shows it; "%P": the refcount policies. */
static const char *metavar_text(const struct option_spec *o, char *buf, size_t cap)
{
    if (o->metavar && strcmp(o->metavar, "%P") == 0) {
        run_refcount_policy_names(buf, cap, "|");
        return buf;
    }
    return o->metavar;
}

static void print_help_line(FILE *out, const struct option_spec *o)
{
    char left[128], help[512], names[256], mv[64];
    const char *metavar = metavar_text(o, mv, sizeof mv);
    snprintf(left, sizeof left, "%s%s%s", o->flag, metavar ? " " : "", metavar ? metavar : "");
    size_t n = 0;
    for (const char *h = o->help; *h && n + 1 < sizeof help; h++) {
        if (h[0] == '%' && (h[1] == 'S' || h[1] == 'D' || h[1] == 'G' || h[1] == 'C')) {
            if (h[1] == 'S')
                scenario_names(names, sizeof names, ", ", 0);
            else if (h[1] == 'D')
                gil_design_names(names, sizeof names, ", ", 1);
            else if (h[1] == 'G')
                snprintf(names, sizeof names, "%s", gil_design_default->name);
            else
                snprintf(names, sizeof names, "%s", scenario_default->name);
            n += (size_t)snprintf(help + n, sizeof help - n, "%s", names);
            h++;
        } else {
            help[n++] = *h;
        }
    }
    help[n < sizeof help ? n : sizeof help - 1] = '\0';
    fprintf(out, "  %-26s %s", left, help);
    if (o->scn) {
        scenario_names(names, sizeof names, ", ", o->scn);
        fprintf(out, " [%s]", names);
    }
    fputc('\n', out);
}

void run_usage(FILE *out)
{
    fprintf(out, "usage: gillab run FILE                   run FILE as `python3 FILE` would\n"
                 "       gillab run FILE --entry NAME [--arg V]... [lab options]\n"
                 "\noptions:\n");
    for (size_t i = 0; i < NOPTIONS; i++)
        if (!options[i].lab)
            print_help_line(out, &options[i]);
    fprintf(out, "lab options (need --entry; [..]: only for those scenarios):\n");
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].lab)
            print_help_line(out, &options[i]);
}

void run_scenario_flags(unsigned bits, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NOPTIONS && n < cap; i++)
        if (options[i].scn & bits)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", options[i].flag);
}

static void option_list(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NOPTIONS && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", options[i].flag);
}

/* A whole number; a value that is no number is refused here with the widest
   range the option can take, the range itself is the runner's to check. */
static int parse_int(const char *flag, const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (parse_i64(s, &v) != 0 || v < -1000000000 || v > 1000000000) {
        fail_usage("%s %s: expected %d..%d", flag, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The run's two sinks: the recorder (files), then the person (stderr). */
struct sinks {
    struct recorder rec;
    struct show show;
};

static int record_and_show(void *ctx, const struct run_config *c, const struct run_rep *r, char *err,
                           size_t errcap)
{
    struct sinks *s = ctx;
    int rc = rec_record(&s->rec, c, r, err, errcap);
    show_rep(&s->show, c, r, err, errcap);
    return rc;
}

static void say_waiting(const char *flag, const char *path)
{
    fprintf(stderr, "gillab: %s %s: another process is writing to it; waiting for its lock\n", flag, path);
}

static int exit_for(enum run_status st)
{
    return st == RUN_OK ? 0 : st == RUN_FAILED ? EXIT_RUNTIME : EXIT_USAGE;
}

/* A fork run stopped by a signal (its workers already reaped): die of it, as
   the signal would have had its way, so that a caller sees 128 + signal. */
static int die_of_stop_signal(void)
{
    int sig = run_stop_signal();
    fflush(NULL);
    signal(sig, SIG_DFL);
    raise(sig);
    return 128 + sig;
}

int cmd_run(int argc, char **argv)
{
    struct run_config c = {0};
    struct rec_paths paths = {0};
    struct sinks sinks = {0};
    char err[4096];
    const char *sets[32];
    int nsets = 0;
    const char *gil_name = gil_design_default->name;
    const char *cpus = NULL, *first_lab = NULL;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (c.file)
                return fail_usage("run: unexpected argument '%s' (the file is '%s')", a, c.file);
            c.file = a;
            continue;
        }
        const struct option_spec *o = is_help(a) ? find_option("--help") : find_option(a);
        if (!o) {
            char list[512];
            option_list(list, sizeof list);
            return fail_usage("run: unknown option '%s'; options: %s", a, list);
        }
        if (o->id == OPT_HELP) {
            run_usage(stdout);
            return 0;
        }
        const char *val = NULL;
        if (o->metavar) {
            char mv[64];
            if (i + 1 >= argc)
                return fail_usage("run: option %s needs a value (%s)", a, metavar_text(o, mv, sizeof mv));
            val = argv[++i];
        }
        if (o->lab && !first_lab)
            first_lab = o->flag;
        if (o->scn) {
            c.scn_options |= o->scn;
            if (!c.scn_option_flag)
                c.scn_option_flag = o->flag;
        }
        switch (o->id) {
        case OPT_ENTRY: c.entry = val; break;
        case OPT_ARG:
        case OPT_IO_ARG: {
            bool io = o->id == OPT_IO_ARG;
            int *n = io ? &c.nio_args : &c.nargs;
            if (*n == RUN_MAX_ARGS)
                return fail_usage("%s: at most %d arguments", a, RUN_MAX_ARGS);
            if (parse_i64(val, io ? &c.io_args[*n] : &c.args[*n]) != 0)
                return fail_usage("%s '%s': expected an integer", a, val);
            (*n)++;
            break;
        }
        case OPT_GIL: gil_name = val; break;
        case OPT_SET:
            if (nsets == (int)(sizeof sets / sizeof sets[0]))
                return fail_usage("--set: at most %d settings", (int)(sizeof sets / sizeof sets[0]));
            sets[nsets++] = val;
            break;
        case OPT_SCENARIO:
            if (!(c.scenario = scenario_find(val))) {
                char names[256];
                scenario_names(names, sizeof names, ", ", 0);
                return fail_usage("--scenario: unknown '%s'; allowed: %s", val, names);
            }
            break;
        case OPT_THREADS:
            if (parse_int(a, val, 1, RUN_MAX_THREADS, &c.threads) != 0)
                return EXIT_USAGE;
            if (c.threads == 0)   /* 0 would mean "the default" to the runner */
                return fail_usage("%s %s: expected 1..%d", a, val, RUN_MAX_THREADS);
            break;
        case OPT_CPUS: cpus = val; break;
        case OPT_REPS:
            if (parse_int(a, val, 1, RUN_MAX_REPS, &c.reps) != 0)
                return EXIT_USAGE;
            if (c.reps == 0)
                return fail_usage("%s %s: expected 1..%d", a, val, RUN_MAX_REPS);
            break;
        case OPT_WARMUP:
            if (parse_int(a, val, 0, RUN_MAX_REPS, &c.warmup) != 0)
                return EXIT_USAGE;
            break;
        case OPT_FIRST_REP:
            if (parse_int(a, val, 1, RUN_MAX_REPS, &c.first_rep) != 0)
                return EXIT_USAGE;
            if (c.first_rep == 0)
                return fail_usage("%s %s: expected 1..%d", a, val, RUN_MAX_REPS);
            break;
        case OPT_CSV: paths.csv = val; break;
        case OPT_SAMPLES_CSV: paths.samples_csv = val; break;
        case OPT_TRACE: paths.trace_csv = val; break;
        case OPT_TRACE_JSON: paths.trace_json = val; break;
        case OPT_IO_ENTRY: c.io_entry = val; break;
        case OPT_QUIET: sinks.show.quiet = true; break;
        case OPT_OPSTATS: sinks.show.opstats = c.opstats = true; break;
        case OPT_OPSTATS_CSV: paths.opstats_csv = val; c.opstats = true; break;
        case OPT_WORKERS:
            if (parse_int(a, val, 1, RUN_MAX_WORKERS, &c.workers) != 0)
                return EXIT_USAGE;
            if (c.workers == 0)   /* 0 would mean "the default" to the runner */
                return fail_usage("%s %s: expected 1..%d", a, val, RUN_MAX_WORKERS);
            break;
        case OPT_SETUP: c.setup = val; break;
        case OPT_REFCOUNT_POLICY: {
            int p = run_refcount_policy_find(val);
            if (p < 0) {
                char names[128];
                run_refcount_policy_names(names, sizeof names, ", ");
                return fail_usage("%s: unknown '%s'; allowed: %s", a, val, names);
            }
            c.refcount_policy = (enum run_refcount_policy)p;
            break;
        }
        case OPT_SAMPLE_MS:
            if (parse_int(a, val, 0, RUN_MAX_SAMPLE_MS, &c.sample_ms) != 0)
                return EXIT_USAGE;
            break;
        case OPT_SMAPS_CSV: paths.smaps_csv = val; break;
        case OPT_HELP: break;
        }
    }
    if (!c.file)
        return fail_usage("run: missing FILE; usage: gillab run FILE [--entry NAME [--arg V]...] "
                          "(gillab run --help)");
    if (c.nargs && !c.entry)
        return fail_usage("--arg needs --entry NAME");
    if (first_lab && !c.entry)
        return fail_usage("%s needs --entry NAME", first_lab);
    if (c.sample_ms && !paths.smaps_csv)
        return fail_usage("--sample-ms needs --smaps-csv FILE, where the readings go");

    c.design = gil_design_find(gil_name);
    if (!c.design) {
        char names[256];
        gil_design_names(names, sizeof names, ", ", 1);
        return fail_usage("--gil: unknown design '%s'; designs: %s", gil_name, names);
    }
    gil_params_defaults(c.design, c.values);
    for (int i = 0; i < nsets; i++)
        if (gil_param_set(c.design, c.values, sets[i], err, sizeof err) != 0)
            return fail_usage("%s", err);

    if (!c.entry) {
        uint64_t counts[VM_OPCODE_SLOTS] = {0};
        struct rec_paths only = {.opstats_csv = paths.opstats_csv, .on_wait = say_waiting};
        if (rec_open(&sinks.rec, &only, err, sizeof err) != 0)
            return fail_usage("%s", err);
        enum run_status st = run_main(&c, counts, err, sizeof err);
        fflush(stdout);
        if (st != RUN_OK)
            fprintf(stderr, "%s\n", err);
        if (sinks.show.opstats) {
            const uint64_t *per[1] = {counts};
            show_opstats(per, 1);
        }
        char werr[1024];
        if (rec_record_opstats(&sinks.rec, counts, werr, sizeof werr) != 0) {
            fprintf(stderr, "gillab: %s\n", werr);
            st = st == RUN_OK ? RUN_ERROR : st;
        }
        rec_close(&sinks.rec);
        return exit_for(st);
    }

    if (cpus && run_cpus_parse(cpus, &c.cpus, err, sizeof err) != 0)
        return fail_usage("%s", err);
    c.trace = paths.trace_csv || paths.trace_json;
    paths.on_wait = say_waiting;
    if (run_prepare(&c, err, sizeof err) != 0)
        return fail_usage("%s", err);
    if (rec_open(&sinks.rec, &paths, err, sizeof err) != 0)
        return fail_usage("%s", err);
    sinks.show.print_results = !paths.csv;
    enum run_status st = run(&c, record_and_show, &sinks, err, sizeof err);
    rec_close(&sinks.rec);
    fflush(stdout);
    if (st == RUN_ERROR || st == RUN_INTERRUPTED)
        fprintf(stderr, "%s%s\n", strncmp(err, "--", 2) == 0 || st == RUN_INTERRUPTED ? "gillab: " : "", err);
    if (st == RUN_INTERRUPTED)
        return die_of_stop_signal();
    return exit_for(st);
}
