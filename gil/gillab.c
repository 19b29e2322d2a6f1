/*
 * gillab.c — the command line. Thin: parses, then calls into the parts.
 * Only this file (and test drivers) print diagnostics or choose exit codes:
 *   0 success, 1 a runtime error in the workload, 2 usage/compile/input errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil.h"
#include "version.h"
#include "vm.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#define MAX_ARGS 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gillab COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  run FILE                      run FILE as `python3 FILE` would\n"
            "  run FILE --entry NAME [--arg V]...\n"
            "                                load FILE as a module, call NAME(V, ...), print the result\n"
            "  dis FILE                      print the bytecode, in the layout of Python's dis\n"
            "  designs                       list the lock designs and their parameters\n"
            "  version                       print the lab version\n"
            "\n"
            "run options:\n"
            "  --entry NAME                  the function to call\n"
            "  --arg V                       an integer argument for it (repeatable)\n"
            "  --gil NAME                    the lock design (see `gillab designs`)\n"
            "  --set NAME=VALUE              a design parameter, e.g. interval=5ms (repeatable)\n");
}

static int fail_usage(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "gillab: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

static int vm_status(enum vm_result r)
{
    return r == VM_OK ? 0 : r == VM_RUNTIME_ERROR ? EXIT_RUNTIME : EXIT_USAGE;
}

static int parse_int_arg(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

struct run_opts {
    const char *file;
    const char *entry;
    int64_t args[MAX_ARGS];
    int nargs;
    const struct gil_design *design;
    double values[GIL_MAX_PARAMS];
};

static int run_program(const struct run_opts *o)
{
    struct vm_error err = {0};
    struct vm_program *prog = NULL;
    struct vm_runtime *rt = NULL;
    struct vm_thread *ts = NULL;
    struct gil *g = NULL;
    enum vm_result r;
    int status;

    r = vm_compile_file(o->file, &prog, &err);
    if (r != VM_OK)
        goto report;
    int rc = gil_new(o->design, o->values, &g);
    if (rc != 0) {
        snprintf(err.msg, sizeof err.msg, "gillab: cannot create lock %s: %s", o->design->name,
                 strerror(rc));
        r = VM_USAGE_ERROR;
        goto report;
    }
    r = vm_runtime_new(prog, g, stdout, &rt, &err);
    if (r != VM_OK)
        goto report;
    r = vm_thread_new(rt, 0, NULL, &ts, &err);
    if (r != VM_OK)
        goto report;
    if (!o->entry) {
        r = vm_run_main(rt, ts, &err);
    } else {
        r = vm_load_module(rt, ts, &err);
        if (r == VM_OK) {
            char repr[4096];
            r = vm_call(rt, ts, o->entry, o->args, o->nargs, repr, sizeof repr, &err);
            if (r == VM_OK)
                printf("%s\n", repr);
        }
    }
report:
    fflush(stdout);
    status = vm_status(r);
    if (r != VM_OK)
        fprintf(stderr, "%s\n", err.msg);
    if (ts)
        vm_thread_free(ts);
    if (rt)
        vm_runtime_free(rt);
    if (g)
        gil_free(g);
    if (prog)
        vm_program_free(prog);
    return status;
}

static int cmd_run(int argc, char **argv)
{
    struct run_opts o = {0};
    char err[512];
    const char *sets[32];
    int nsets = 0;
    const char *gil_name = "noop";

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (o.file)
                return fail_usage("run: unexpected argument '%s' (the file is '%s')", a, o.file);
            o.file = a;
            continue;
        }
        if (strcmp(a, "--entry") && strcmp(a, "--arg") && strcmp(a, "--gil") && strcmp(a, "--set"))
            return fail_usage("run: unknown option '%s'; options: --entry NAME, --arg V, --gil NAME, "
                              "--set NAME=VALUE%s",
                              a, "");
        if (!val)
            return fail_usage("run: option %s needs a value%s", a, "");
        i++;
        if (strcmp(a, "--entry") == 0) {
            o.entry = val;
        } else if (strcmp(a, "--arg") == 0) {
            if (o.nargs == MAX_ARGS)
                return fail_usage("--arg: at most 16 arguments%s%s", "", "");
            if (parse_int_arg(val, &o.args[o.nargs++]) != 0)
                return fail_usage("--arg '%s': expected an integer%s", val, "");
        } else if (strcmp(a, "--gil") == 0) {
            gil_name = val;
        } else {
            if (nsets == 32)
                return fail_usage("--set: at most 32 settings%s%s", "", "");
            sets[nsets++] = val;
        }
    }
    if (!o.file)
        return fail_usage("run: missing FILE; usage: gillab run FILE [--entry NAME [--arg V]...]%s%s", "", "");
    if (o.nargs && !o.entry)
        return fail_usage("--arg needs --entry NAME%s%s", "", "");

    o.design = gil_design_find(gil_name);
    if (!o.design) {
        char names[256];
        gil_design_names(names, sizeof names);
        return fail_usage("--gil: unknown design '%s'; designs: %s", gil_name, names);
    }
    gil_params_defaults(o.design, o.values);
    for (int i = 0; i < nsets; i++)
        if (gil_param_set(o.design, o.values, sets[i], err, sizeof err) != 0)
            return fail_usage("%s%s", err, "");
    return run_program(&o);
}

static int cmd_dis(int argc, char **argv)
{
    if (argc != 1)
        return fail_usage("dis: expected exactly one FILE; usage: gillab dis FILE%s%s", "", "");
    struct vm_error err = {0};
    struct vm_program *prog = NULL;
    enum vm_result r = vm_compile_file(argv[0], &prog, &err);
    if (r != VM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return vm_status(r);
    }
    vm_dis(prog, stdout);
    vm_program_free(prog);
    return 0;
}

static int cmd_designs(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return fail_usage("designs: takes no arguments%s%s", "", "");
    gil_designs_describe(stdout);
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
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("gillab %s\n", GILLAB_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    return fail_usage("unknown command '%s'; commands: run, dis, designs, version, help%s", cmd, "");
}
