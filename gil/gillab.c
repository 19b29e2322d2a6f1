/*
 * gillab.c — the command line. Thin: parses, then calls into the parts.
 * Only this file (and test drivers) print diagnostics or choose exit codes:
 *   0 success, 1 a runtime error in the workload, 2 usage/compile/input errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "gil.h"
#include "runner.h"
#include "trace.h"
#include "version.h"
#include "vm.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gillab COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  run FILE                      run FILE as `python3 FILE` would\n"
            "  run FILE --entry NAME [--arg V]... [lab options]\n"
            "                                load FILE as a module, call NAME(V, ...) in the scenario's threads\n"
            "  dis FILE                      print the bytecode, in the layout of Python's dis\n"
            "  designs                       list the lock designs and their parameters\n"
            "  csv-header                    print the header line of the results CSV\n"
            "  version                       print the lab version\n"
            "\n"
            "run options:\n"
            "  --entry NAME                  the function to call\n"
            "  --arg V                       an integer argument for it (repeatable)\n"
            "  --gil NAME                    the lock design (see `gillab designs`; default py32)\n"
            "  --set NAME=VALUE              a design parameter, e.g. interval=5ms (repeatable)\n"
            "  --opstats                     how often each opcode ran, per thread and in total, on stderr\n"
            "  --opstats-csv FILE            the same as CSV (rep,thread,opcode,count), FILE made anew\n"
            "lab options (need --entry):\n"
            "  --scenario seq|threads|convoy default threads\n"
            "  --threads T                   1..256 (default 1; convoy: 2 = one CPU + one I/O thread)\n"
            "  --cpus 1|all|LIST             one CPU, every allowed CPU (default), or ids like 0,1 or 0-1\n"
            "  --reps R --warmup W           measured reps (default 1), unrecorded warm-ups (default 0)\n"
            "  --csv FILE                    append one row per measured rep\n"
            "  --samples-csv FILE            convoy: one row per I/O wake-up\n"
            "  --trace FILE.csv              lock events of the last measured rep\n"
            "  --trace-json FILE.json        the same as Chrome trace-event JSON (Perfetto)\n"
            "  --io-entry NAME --io-arg V    convoy: the I/O thread's function (default io) and arguments\n"
            "  --quiet                       no per-thread table on stderr\n");
}

static int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gillab: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

static int status_exit(enum wl_status s)
{
    return s == WL_OK ? 0 : s == WL_RUNTIME_ERROR ? EXIT_RUNTIME : EXIT_USAGE;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

/* A whole number in lo..hi, or a message naming the flag and the range. */
static int parse_range(const char *flag, const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (parse_i64(s, &v) != 0 || v < lo || v > hi) {
        fail_usage("%s %s: expected %d..%d", flag, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The designs a single-thread-only design's refusal points to: "py26|py32|none". */
static void multi_thread_designs(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const struct gil_design *const *d = gil_designs; *d && n < cap; d++)
        if (!wl_design_single_thread(*d))
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "|" : "", (*d)->name);
}

/* ---- showing a rep -------------------------------------------------------------------- */

struct show {
    bool quiet;
    bool print_results;   /* no --csv: results go to stdout */
    int reps;
    bool opstats;         /* --opstats: the opcode table on stderr */
    int opstats_fd;       /* --opstats-csv: its file, or -1 */
    const char *opstats_path;
    int opstats_errno;    /* a failed write to it, reported at the end */
};

/* --opstats: the opcodes that ran, most frequent first, per thread (up to 8
   columns; the CSV has them all) and in total. */
static void print_opstats(FILE *out, const uint64_t *const *counts, int n)
{
    uint64_t total[VM_OPCODE_SLOTS] = {0}, all = 0;
    int order[VM_OPCODE_SLOTS], nops = 0;
    for (int op = 0; op < VM_OPCODE_SLOTS; op++) {
        for (int t = 0; t < n; t++)
            total[op] += counts[t] ? counts[t][op] : 0;
        all += total[op];
        if (total[op])
            order[nops++] = op;
    }
    for (int i = 1; i < nops; i++)   /* insertion sort: by total, descending */
        for (int j = i; j > 0 && total[order[j]] > total[order[j - 1]]; j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    bool cols = n > 1 && n <= 8;
    fprintf(out, "%-20s", "opcode");
    for (int t = 0; cols && t < n; t++)
        fprintf(out, " %9s%-2d", "thread ", t);
    fprintf(out, " %13s %7s\n", "total", "share");
    for (int i = 0; i <= nops; i++) {
        int op = i < nops ? order[i] : -1;
        const char *name = op >= 0 ? vm_opcode_name(op) : "total";
        fprintf(out, "%-20s", name ? name : "?");
        for (int t = 0; cols && t < n; t++) {
            uint64_t v = 0;
            for (int k = 0; counts[t] && k < VM_OPCODE_SLOTS; k++)
                v += op < 0 || k == op ? counts[t][k] : 0;
            fprintf(out, " %11" PRIu64, v);
        }
        uint64_t v = op >= 0 ? total[op] : all;
        fprintf(out, " %13" PRIu64 " %6.1f%%\n", v, all ? 100.0 * (double)v / (double)all : 0.0);
    }
}

/* --opstats-csv: one rep's rows, rep,thread,opcode,count for each opcode that
   ran, in one write(2): an interrupted run never leaves half a rep. */
static void write_opstats_csv(struct show *s, int rep, const uint64_t *const *counts, int n)
{
    if (s->opstats_fd < 0 || s->opstats_errno)
        return;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (int t = 0; buf && t < n; t++)
        for (int op = 0; counts[t] && op < VM_OPCODE_SLOTS; op++) {
            if (!counts[t][op])
                continue;
            if (cap - len < 64) {
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
            len += (size_t)snprintf(buf + len, cap - len, "%d,%d,%s,%" PRIu64 "\n", rep, t,
                                    vm_opcode_name(op), counts[t][op]);
        }
    if (!buf) {
        s->opstats_errno = ENOMEM;
        return;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(s->opstats_fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->opstats_errno = w < 0 ? errno : EIO;
            break;
        }
        off += (size_t)w;
    }
    free(buf);
}

/* Open --opstats-csv's file anew and write its header: 0, or -1 (reported). */
static int open_opstats_csv(struct show *s)
{
    static const char header[] = "rep,thread,opcode,count\n";
    s->opstats_fd = open(s->opstats_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->opstats_fd < 0 || write(s->opstats_fd, header, sizeof header - 1) != (ssize_t)(sizeof header - 1)) {
        fail_usage("--opstats-csv %s: cannot write it: %s", s->opstats_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Close it; a write that failed on the way is reported now: 0 or -1. */
static int close_opstats_csv(struct show *s)
{
    if (s->opstats_fd < 0)
        return 0;
    if (close(s->opstats_fd) != 0 && !s->opstats_errno)
        s->opstats_errno = errno;
    s->opstats_fd = -1;
    if (s->opstats_errno) {
        fail_usage("--opstats-csv %s: cannot write it: %s", s->opstats_path, strerror(s->opstats_errno));
        return -1;
    }
    return 0;
}

/* Each line of a traceback, prefixed "thread N: " when several threads ran. */
static void print_traceback(int thread, int nthreads, const char *msg)
{
    if (nthreads == 1) {
        fprintf(stderr, "%s\n", msg);
        return;
    }
    for (const char *p = msg; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(stderr, "thread %d: %.*s\n", thread, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static void show_rep(void *ctx, const struct wl_config *cfg, const struct wl_rep_result *r)
{
    struct show *s = ctx;
    bool any_thread_failed = false;
    fflush(stdout);
    if (r->error) {
        fprintf(stderr, "%s\n", r->error);
        any_thread_failed = true;
    }
    for (int i = 0; i < r->nthreads; i++)
        if (r->threads[i].error) {
            print_traceback(i, r->nthreads, r->threads[i].error);
            any_thread_failed = true;
        }
    if (!r->ok && !any_thread_failed)
        fprintf(stderr, "gillab: %s\n", r->message);
    if (r->warmup)
        return;
    if (s->print_results) {
        for (int i = 0; i < r->nthreads; i++) {
            if (!r->threads[i].repr)
                continue;
            if (r->nthreads == 1)
                printf("%s\n", r->threads[i].repr);
            else
                printf("thread %d: %s\n", i, r->threads[i].repr);
        }
        fflush(stdout);
    }
    if (r->trace_dropped)
        fprintf(stderr, "gillab: warning: --trace: %" PRIu64 " lock events did not fit the trace "
                        "buffers and were dropped\n", r->trace_dropped);
    if ((s->opstats || s->opstats_fd >= 0) && r->nthreads > 0) {
        const uint64_t *counts[WL_MAX_THREADS];
        for (int i = 0; i < r->nthreads && i < WL_MAX_THREADS; i++)
            counts[i] = r->threads[i].opcounts;
        if (s->opstats) {
            fprintf(stderr, "opcodes run, rep %d\n", r->rep);
            print_opstats(stderr, counts, r->nthreads);
        }
        write_opstats_csv((struct show *)s, r->rep, counts, r->nthreads);
    }
    if (s->quiet || r->nthreads == 0)
        return;
    struct wl_thread_stats per[WL_MAX_THREADS];
    for (int i = 0; i < r->nthreads && i < WL_MAX_THREADS; i++)
        per[i] = r->threads[i].stats;
    fprintf(stderr, "%s %s %s, %d thread%s%s", cfg->design->name, wl_scenario_names[cfg->scenario],
            cfg->entry, r->nthreads, r->nthreads == 1 ? "" : "s", s->reps > 1 ? "" : "\n");
    if (s->reps > 1)
        fprintf(stderr, ", rep %d/%d\n", r->rep, s->reps);
    wl_table_print(stderr, per, r->nthreads, r->wall_s, r->user_s, r->sys_s);
}

/* ---- run -------------------------------------------------------------------------------- */

static const char *const run_options =
    "--entry, --arg, --gil, --set, --opstats, --opstats-csv, --scenario, --threads, --cpus, --reps, "
    "--warmup, --csv, --samples-csv, --trace, --trace-json, --io-entry, --io-arg, --quiet";

static int cmd_run(int argc, char **argv)
{
    struct wl_config c = {0};
    struct show show = {.opstats_fd = -1};
    char err[4096];
    const char *sets[32];
    int nsets = 0;
    const char *gil_name = gil_design_find("py32") ? "py32" : "noop";
    const char *scenario = NULL, *threads = NULL, *cpus = NULL, *reps = NULL, *warmup = NULL;
    const char *first_lab = NULL;   /* the first lab option seen, for "needs --entry" */
    const char *first_io = NULL;    /* the first convoy-only option seen */

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (c.file)
                return fail_usage("run: unexpected argument '%s' (the file is '%s')", a, c.file);
            c.file = a;
            continue;
        }
        if (strcmp(a, "--quiet") == 0) {
            show.quiet = true;
            first_lab = first_lab ? first_lab : a;
            continue;
        }
        if (strcmp(a, "--opstats") == 0) {
            show.opstats = c.opstats = true;
            continue;
        }
        static const char *const valued[] = {
            "--entry", "--arg", "--gil", "--set", "--opstats-csv", "--scenario", "--threads", "--cpus",
            "--reps", "--warmup", "--csv", "--samples-csv", "--trace", "--trace-json", "--io-entry",
            "--io-arg", NULL};
        int k = 0;
        while (valued[k] && strcmp(valued[k], a) != 0)
            k++;
        if (!valued[k])
            return fail_usage("run: unknown option '%s'; options: %s", a, run_options);
        if (i + 1 >= argc)
            return fail_usage("run: option %s needs a value", a);
        const char *val = argv[++i];
        if (k >= 5 && !first_lab)
            first_lab = a;
        if (strcmp(a, "--entry") == 0) {
            c.entry = val;
        } else if (strcmp(a, "--arg") == 0 || strcmp(a, "--io-arg") == 0) {
            bool io = a[2] == 'i';
            int *n = io ? &c.nio_args : &c.nargs;
            if (*n == WL_MAX_ARGS)
                return fail_usage("%s: at most %d arguments", a, WL_MAX_ARGS);
            if (parse_i64(val, io ? &c.io_args[*n] : &c.args[*n]) != 0)
                return fail_usage("%s '%s': expected an integer", a, val);
            (*n)++;
            if (io && !first_io)
                first_io = a;
        } else if (strcmp(a, "--gil") == 0) {
            gil_name = val;
        } else if (strcmp(a, "--set") == 0) {
            if (nsets == 32)
                return fail_usage("--set: at most 32 settings");
            sets[nsets++] = val;
        } else if (strcmp(a, "--opstats-csv") == 0) {
            show.opstats_path = val;
            c.opstats = true;
        } else if (strcmp(a, "--scenario") == 0) {
            scenario = val;
        } else if (strcmp(a, "--threads") == 0) {
            threads = val;
        } else if (strcmp(a, "--cpus") == 0) {
            cpus = val;
        } else if (strcmp(a, "--reps") == 0) {
            reps = val;
        } else if (strcmp(a, "--warmup") == 0) {
            warmup = val;
        } else if (strcmp(a, "--csv") == 0) {
            c.csv_path = val;
        } else if (strcmp(a, "--samples-csv") == 0) {
            c.samples_csv_path = val;
            first_io = first_io ? first_io : a;
        } else if (strcmp(a, "--trace") == 0) {
            c.trace_csv_path = val;
        } else if (strcmp(a, "--trace-json") == 0) {
            c.trace_json_path = val;
        } else if (strcmp(a, "--io-entry") == 0) {
            c.io_entry = val;
            first_io = first_io ? first_io : a;
        }
    }
    if (!c.file)
        return fail_usage("run: missing FILE; usage: gillab run FILE [--entry NAME [--arg V]...]");
    if (c.nargs && !c.entry)
        return fail_usage("--arg needs --entry NAME");
    if (first_lab && !c.entry)
        return fail_usage("%s needs --entry NAME", first_lab);

    c.design = gil_design_find(gil_name);
    if (!c.design) {
        char names[256];
        gil_design_names(names, sizeof names);
        return fail_usage("--gil: unknown design '%s'; designs: %s", gil_name, names);
    }
    gil_params_defaults(c.design, c.values);
    for (int i = 0; i < nsets; i++)
        if (gil_param_set(c.design, c.values, sets[i], err, sizeof err) != 0)
            return fail_usage("%s", err);

    if (!c.entry) {
        uint64_t counts[VM_OPCODE_SLOTS] = {0};
        if (show.opstats_path && open_opstats_csv(&show) != 0)
            return EXIT_USAGE;
        enum wl_status st = wl_run_main(&c, counts, err, sizeof err);
        fflush(stdout);
        if (st != WL_OK)
            fprintf(stderr, "%s\n", err);
        const uint64_t *per[1] = {counts};
        if (show.opstats)
            print_opstats(stderr, per, 1);
        write_opstats_csv(&show, 1, per, 1);
        if (close_opstats_csv(&show) != 0 && st == WL_OK)
            return EXIT_USAGE;
        return status_exit(st);
    }

    c.scenario = WL_THREADS;
    if (scenario) {
        int k = 0;
        while (wl_scenario_names[k] && strcmp(wl_scenario_names[k], scenario) != 0)
            k++;
        if (!wl_scenario_names[k])
            return fail_usage("--scenario: unknown '%s'; allowed: seq, threads, convoy", scenario);
        c.scenario = (enum wl_scenario)k;
    }
    c.threads = c.scenario == WL_CONVOY ? 2 : 1;
    if (threads && parse_range("--threads", threads, 1, WL_MAX_THREADS, &c.threads) != 0)
        return EXIT_USAGE;
    if (c.scenario == WL_CONVOY && c.threads < 2)
        return fail_usage("--threads %s: convoy needs 2..%d (CPU threads + one I/O thread)", threads,
                          WL_MAX_THREADS);
    if (first_io && c.scenario != WL_CONVOY)
        return fail_usage("%s: only for --scenario convoy", first_io);
    if (c.scenario == WL_CONVOY && !c.io_entry)
        c.io_entry = "io";
    c.reps = 1;
    if (reps && parse_range("--reps", reps, 1, 1000000, &c.reps) != 0)
        return EXIT_USAGE;
    if (warmup && parse_range("--warmup", warmup, 0, 1000000, &c.warmup) != 0)
        return EXIT_USAGE;
    if (wl_cpus_parse(cpus ? cpus : "all", &c.cpus, err, sizeof err) != 0)
        return fail_usage("%s", err);
    if (wl_design_single_thread(c.design) &&
        (c.scenario == WL_CONVOY || (c.scenario == WL_THREADS && c.threads > 1))) {
        char others[256];
        multi_thread_designs(others, sizeof others);
        return fail_usage("--gil %s: %s is single-thread only; use --gil %s", c.design->name,
                          c.design->name, others);
    }

    show.print_results = !c.csv_path;
    show.reps = c.reps;
    if (show.opstats_path && open_opstats_csv(&show) != 0)
        return EXIT_USAGE;
    enum wl_status st = wl_run(&c, show_rep, &show, err, sizeof err);
    fflush(stdout);
    int csv_rc = close_opstats_csv(&show);
    if (st == WL_USAGE_ERROR || (st == WL_RUNTIME_ERROR && err[0]))
        fprintf(stderr, "%s%s\n", st == WL_USAGE_ERROR && strncmp(err, "--", 2) == 0 ? "gillab: " : "",
                err);
    if (csv_rc != 0 && st == WL_OK)
        return EXIT_USAGE;
    return status_exit(st);
}

static int cmd_dis(int argc, char **argv)
{
    if (argc != 1)
        return fail_usage("dis: expected exactly one FILE; usage: gillab dis FILE");
    struct vm_error err = {0};
    struct vm_program *prog = NULL;
    enum vm_result r = vm_compile_file(argv[0], &prog, &err);
    if (r != VM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return r == VM_RUNTIME_ERROR ? EXIT_RUNTIME : EXIT_USAGE;
    }
    vm_dis(prog, stdout);
    vm_program_free(prog);
    return 0;
}

static int cmd_designs(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return fail_usage("designs: takes no arguments");
    gil_designs_describe(stdout);
    return 0;
}

static int cmd_csv_header(int argc, char **argv)
{
    (void)argv;
    char header[4096];
    if (argc != 0)
        return fail_usage("csv-header: takes no arguments");
    if (wl_csv_header(header, sizeof header) < 0)
        return fail_usage("csv-header: the header does not fit");
    fputs(header, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "dis") == 0)
        return cmd_dis(argc - 2, argv + 2);
    if (strcmp(cmd, "designs") == 0)
        return cmd_designs(argc - 2, argv + 2);
    if (strcmp(cmd, "csv-header") == 0)
        return cmd_csv_header(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("gillab %s\n", GILLAB_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    return fail_usage("unknown command '%s'; commands: run, dis, designs, csv-header, version, help", cmd);
}
