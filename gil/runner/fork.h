/*
 * fork.h — the fork scenario's part of the runner (runner/fork.c), called by
 * runner.c for a scenario whose table entry says `forks`.
 */
#ifndef RUNNER_FORK_H
#define RUNNER_FORK_H

#include "runner/runner.h"

/* run_prepare's checks of the fork scenario's options: --setup given, --workers
   in range, no --threads, no --trace or --opstats. 0, or -1 with one line. */
int fork_prepare(struct run_config *c, char *err, size_t errcap);

/* One repetition: a fresh runtime loads the module and calls the setup, then
   the workers are forked, measured, reaped, and the results go to the sink. */
enum run_status fork_rep(const struct run_config *c, struct vm_program *prog, bool warmup, int rep,
                         run_sink *sink, void *ctx, char *err, size_t errcap);

#endif
