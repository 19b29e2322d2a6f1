/*
 * cli.h — what the command line's files share. The command line is the only
 * part that prints diagnostics or chooses exit codes:
 *   0 success, 1 a runtime error in the workload (or a failed write of the
 *   output), 2 usage, compile and input errors.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "runner/runner.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* "gillab: " + the message on stderr; returns EXIT_USAGE. */
int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Is `arg` one of the help flags (--help, -h)? */
bool is_help(const char *arg);

/* The commands (cli/run.c, cli/gillab.c). */
int cmd_run(int argc, char **argv);
void run_usage(FILE *out);
/* The flags of run's scenario-only options with a bit in `bits`, separated by
   spaces ("--io-entry --io-arg --samples-csv"). */
void run_scenario_flags(unsigned bits, char *buf, size_t cap);

/* Showing a repetition to a person (cli/show.c). */
struct show {
    bool quiet;            /* no per-thread table */
    bool print_results;    /* results (reprs) to stdout: no --csv was given */
    bool opstats;          /* --opstats: the opcode table on stderr */
};
/* --opstats: the opcodes that ran, most frequent first, per thread and in total
   (counts[t]: VM_OPCODE_SLOTS entries, or NULL), on stderr. */
void show_opstats(const uint64_t *const *counts, int n);
/* A run_sink (runner.h) that shows the repetition; never fails. */
int show_rep(void *ctx, const struct run_config *c, const struct run_rep *r, char *err, size_t errcap);

#endif
