/*
 * gillab.c — the command line: one table of commands, each with its own --help.
 * Thin: it parses, then calls into the parts (vm/, locks/, runner/, record/);
 * only the command line prints diagnostics and chooses exit codes (cli.h).
 * Every command's standard output is checked when the command ends: a failed
 * write (a full disk, a closed pipe) is an error with exit status 1, never a
 * silent success.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/version.h"
#include "cli/cli.h"
#include "record/schema.h"
#include "vm/vm.h"

int fail_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gillab: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

bool is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

/* A command that takes only an optional --json and --help. */
struct simple {
    bool json;
};

static int parse_simple(const char *name, int argc, char **argv, bool json_ok, struct simple *s,
                        void (*usage)(FILE *))
{
    s->json = false;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
        if (json_ok && strcmp(argv[i], "--json") == 0) {
            s->json = true;
            continue;
        }
        return fail_usage("%s: unexpected argument '%s'; usage: gillab %s%s", name, argv[i], name,
                          json_ok ? " [--json]" : "");
    }
    return -1;   /* go on */
}

/* ---- dis ---------------------------------------------------------------------------------- */

static void dis_usage(FILE *out)
{
    fprintf(out, "usage: gillab dis FILE\n"
                 "print FILE's bytecode in the layout of Python's dis: one block per code object\n"
                 "  --help    this help\n");
}

static int cmd_dis(int argc, char **argv)
{
    if (argc == 1 && is_help(argv[0])) {
        dis_usage(stdout);
        return 0;
    }
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

/* ---- designs, scenarios, csv-schema --------------------------------------------------------- */

static void designs_usage(FILE *out)
{
    fprintf(out, "usage: gillab designs [--json]\n"
                 "list the lock designs: what each models, its thread limit, and its parameters\n"
                 "(name, default, unit, allowed values; set them with run --set NAME=VALUE)\n"
                 "  --json    the same, as JSON (what the lab driver reads)\n"
                 "  --help    this help\n");
}

static int cmd_designs(int argc, char **argv)
{
    struct simple s;
    int rc = parse_simple("designs", argc, argv, true, &s, designs_usage);
    if (rc >= 0)
        return rc;
    (s.json ? gil_designs_json : gil_designs_describe)(stdout);
    return 0;
}

static void scenarios_usage(FILE *out)
{
    fprintf(out, "usage: gillab scenarios [--json]\n"
                 "list the scenarios: which threads a run starts and what --threads means in each\n"
                 "  --json    the same, as JSON (what the lab driver reads)\n"
                 "  --help    this help\n");
}

static int cmd_scenarios(int argc, char **argv)
{
    struct simple s;
    int rc = parse_simple("scenarios", argc, argv, true, &s, scenarios_usage);
    if (rc >= 0)
        return rc;
    FILE *out = stdout;
    if (s.json)
        fputs("{\"scenarios\":[", out);
    for (const struct scenario *sc = scenarios; sc->name; sc++) {
        char opts[128];
        run_scenario_flags(sc->options, opts, sizeof opts);
        if (!s.json) {
            if (sc->forks)
                fprintf(out, "%s%s — %s\n    --workers N: worker processes (1..%d, default 1); --threads: "
                             "%s\n", sc == scenarios ? "" : "\n", sc->name, sc->summary,
                        RUN_MAX_WORKERS, sc->threads_means);
            else
                fprintf(out, "%s%s — %s\n    --threads T: %s (%d..%d, default %d)\n",
                        sc == scenarios ? "" : "\n", sc->name, sc->summary, sc->threads_means,
                        sc->min_threads, RUN_MAX_THREADS, sc->default_threads);
            if (opts[0])
                fprintf(out, "    its own options: %s\n", opts);
            continue;
        }
        fputs(sc == scenarios ? "\n{" : ",\n{", out);
        json_key(out, "name"), json_str(out, sc->name), fputc(',', out);
        json_key(out, "summary"), json_str(out, sc->summary), fputc(',', out);
        json_key(out, "threads_means"), json_str(out, sc->threads_means), fputc(',', out);
        json_key(out, "min_threads"), json_num(out, sc->min_threads), fputc(',', out);
        json_key(out, "max_threads"), json_num(out, RUN_MAX_THREADS), fputc(',', out);
        json_key(out, "default_threads"), json_num(out, sc->default_threads), fputc(',', out);
        json_key(out, "sequential"), fputs(sc->sequential ? "true," : "false,", out);
        json_key(out, "io_thread"), fputs(sc->io_thread ? "true," : "false,", out);
        json_key(out, "forks"), fputs(sc->forks ? "true," : "false,", out);
        json_key(out, "max_workers"), json_num(out, sc->forks ? RUN_MAX_WORKERS : 0), fputc(',', out);
        json_key(out, "max_sample_ms"), json_num(out, sc->forks ? RUN_MAX_SAMPLE_MS : 0), fputc(',', out);
        json_key(out, "refcount_policies"), fputc('[', out);
        for (int p = 0; sc->forks && p < RUN_REFCOUNT_POLICIES; p++)
            fputs(p ? "," : "", out), json_str(out, run_refcount_policies[p]);
        fputs("],", out);
        json_key(out, "default"), fputs(sc == scenario_default ? "true," : "false,", out);
        json_key(out, "options"), json_str(out, opts);
        fputc('}', out);
    }
    if (s.json)
        fputs("\n]}\n", out);
    return 0;
}

static void schema_usage(FILE *out)
{
    fprintf(out, "usage: gillab csv-schema [--json]\n"
                 "list the columns of the results CSV: name, type, meaning\n"
                 "  --json    the same, as JSON (what the peer driver and the lab driver read)\n"
                 "  --help    this help\n");
}

static int cmd_csv_schema(int argc, char **argv)
{
    struct simple s;
    int rc = parse_simple("csv-schema", argc, argv, true, &s, schema_usage);
    if (rc >= 0)
        return rc;
    (s.json ? rec_schema_json : rec_schema_describe)(stdout);
    return 0;
}

static void header_usage(FILE *out)
{
    fprintf(out, "usage: gillab csv-header\nprint the header line of the results CSV\n"
                 "  --help    this help\n");
}

static int cmd_csv_header(int argc, char **argv)
{
    struct simple s;
    int rc = parse_simple("csv-header", argc, argv, false, &s, header_usage);
    if (rc >= 0)
        return rc;
    char *header = rec_header();
    if (!header)
        return fail_usage("csv-header: %s", strerror(ENOMEM));
    fputs(header, stdout);
    free(header);
    return 0;
}

static void version_usage(FILE *out)
{
    fprintf(out, "usage: gillab version\nprint the lab version\n  --help    this help\n");
}

static int cmd_version(int argc, char **argv)
{
    struct simple s;
    int rc = parse_simple("version", argc, argv, false, &s, version_usage);
    if (rc >= 0)
        return rc;
    printf("gillab %s\n", GILLAB_VERSION);
    return 0;
}

/* ---- the command table ---------------------------------------------------------------------- */

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
    const char *summary;
};

static int cmd_help(int argc, char **argv);
static void help_usage(FILE *out);

static const struct command commands[] = {
    {"run", cmd_run, run_usage, "run a workload file, or call its entry in a scenario's threads"},
    {"dis", cmd_dis, dis_usage, "print the bytecode, in the layout of Python's dis"},
    {"designs", cmd_designs, designs_usage, "list the lock designs and their parameters"},
    {"scenarios", cmd_scenarios, scenarios_usage, "list the scenarios"},
    {"csv-schema", cmd_csv_schema, schema_usage, "list the columns of the results CSV"},
    {"csv-header", cmd_csv_header, header_usage, "print the header line of the results CSV"},
    {"version", cmd_version, version_usage, "print the lab version"},
    {"help", cmd_help, help_usage, "this help, or a command's: gillab help COMMAND"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: gillab COMMAND [OPTIONS]   (gillab COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

static void help_usage(FILE *out) { usage(out); }

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void command_names(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NCOMMANDS && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", commands[i].name);
}

static int cmd_help(int argc, char **argv)
{
    if (argc == 0 || (argc == 1 && is_help(argv[0]))) {
        usage(stdout);
        return 0;
    }
    const struct command *c = argc == 1 ? find_command(argv[0]) : NULL;
    if (!c) {
        char names[256];
        command_names(names, sizeof names);
        return fail_usage("help: expected one command; commands: %s", names);
    }
    c->usage(stdout);
    return 0;
}

/* Flush standard output and report a failed write: a full disk or a closed
   pipe must not end in a silent success. */
static int finish_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno ? errno : EIO;
        fprintf(stderr, "gillab: cannot write the output: %s\n", strerror(e));
        return status == 0 ? EXIT_RUNTIME : status;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (is_help(name))
        name = "help";
    else if (strcmp(name, "--version") == 0)
        name = "version";
    const struct command *c = find_command(name);
    if (!c) {
        char names[256];
        command_names(names, sizeof names);
        return fail_usage("unknown command '%s'; commands: %s", name, names);
    }
    errno = 0;
    return finish_stdout(c->run(argc - 2, argv + 2));
}
