/*
 * runner.h — the scenario runner: runs a workload's entry function in the
 * threads a scenario asks for (runner/scenario.h), under the chosen lock
 * design, and measures every repetition. It produces results; it writes no
 * files and prints nothing. Each repetition's results go to a sink that the
 * caller chooses (the command line records them with record/record.h and shows
 * them on stderr).
 *
 * A run: the program is compiled once. Each repetition gets a fresh lock and
 * runtime (fresh module globals); a loader thread state loads the module on the
 * calling thread, then the workers are created, pinned (--cpus) and released
 * together from a start gate. Every requested repetition runs and reaches the
 * sink, whether or not an earlier one failed.
 */
#ifndef RUNNER_RUNNER_H
#define RUNNER_RUNNER_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "locks/gil.h"
#include "runner/cpus.h"
#include "runner/load.h"
#include "runner/scenario.h"
#include "runner/stats.h"
#include "trace/trace.h"
#include "vm/vm.h"

#define RUN_MAX_THREADS 256
#define RUN_MAX_ARGS 16
#define RUN_MAX_REPS 1000000
#define RUN_MAX_WORKERS 256      /* fork: worker processes at most */
#define RUN_MAX_SAMPLE_MS 60000  /* fork: the longest --sample-ms */

/* The fork scenario's reference-count policies at fork time (--refcount-policy,
   the refcount_policy column). */
enum run_refcount_policy {
    RUN_REFCOUNTS_PLAIN = 0,     /* as the run left them: every read writes a count */
    RUN_REFCOUNTS_IMMORTAL,      /* every object reachable from the globals made
                                    immortal before the fork (vm_runtime_immortalize) */
    RUN_REFCOUNT_POLICIES
};
extern const char *const run_refcount_policies[RUN_REFCOUNT_POLICIES];
/* The policy called `name`, or -1; and the names separated by sep. */
int run_refcount_policy_find(const char *name);
void run_refcount_policy_names(char *buf, size_t cap, const char *sep);

struct run_config {
    const char *file;                    /* the workload file */
    const char *entry;                   /* the function to call; NULL: run as __main__ */
    int64_t args[RUN_MAX_ARGS];
    int nargs;
    const char *io_entry;                /* the I/O thread's function; NULL: "io" */
    int64_t io_args[RUN_MAX_ARGS];
    int nio_args;
    const struct gil_design *design;
    double values[GIL_MAX_PARAMS];       /* canonical parameter values of design */
    const struct scenario *scenario;     /* NULL: scenario_default */
    int threads;                         /* --threads; 0: the scenario's default */
    struct run_cpus cpus;                /* --cpus, parsed; mode RUN_CPUS_UNSET: all */
    int reps;                            /* measured repetitions; 0: 1 */
    int warmup;                          /* unrecorded repetitions before them */
    int first_rep;                       /* the first measured repetition's number; 0: 1 */
    bool trace;                          /* keep the lock events of the last measured rep */
    bool opstats;                        /* count the opcodes each VM thread runs */
    /* The scenario-only options the caller was given (SCN_OPT_* bits) and the
       flag of the first of them, for the message when the scenario refuses it. */
    unsigned scn_options;
    const char *scn_option_flag;
    /* The fork scenario (runner/fork.c). */
    const char *setup;                   /* the function the parent calls before forking */
    int workers;                         /* worker processes; 0: 1 */
    enum run_refcount_policy refcount_policy;
    int sample_ms;                       /* read each worker's memory this often while it
                                            runs; 0: before and after only */
    bool prepared;                       /* set by run_prepare */
};

/* Apply the defaults and check everything that can be checked without running:
   the design's thread limit, --threads against the scenario, the repetition
   counts, the scenario-only options. The one validator: the command line and
   the runner both rely on it. 0, or -1 with one line in err naming the flag and
   what it accepts. */
int run_prepare(struct run_config *c, char *err, size_t errcap);

/* The last non-empty line of a traceback ("ZeroDivisionError: ..."), the
   message a failed repetition's row carries. */
void run_last_line(const char *msg, char *out, size_t cap);

/* One thread's outcome in one repetition. */
struct run_thread_result {
    const char *entry;          /* what this thread called */
    enum vm_result result;
    const char *repr;           /* repr of its (last) result when ok, else NULL */
    const char *error;          /* traceback when not ok, else NULL */
    struct run_thread_stats stats;
    cpu_set_t cpus;             /* its affinity mask, read back after pinning */
    const uint64_t *opcounts;   /* with c->opstats: runs per opcode (VM_OPCODE_SLOTS), else NULL */
};

/* One process's memory from /proc/PID/smaps_rollup, in kB. */
struct run_smaps {
    int64_t rss_kb, pss_kb;
    int64_t shared_clean_kb, shared_dirty_kb, private_clean_kb, private_dirty_kb;
    int64_t anonymous_kb, anon_huge_kb;
};
/* Read it for pid (0: this process). 0, or an errno value (ENOENT: no such
   process; EINVAL: the file lacks a field, as a zombie's does). */
int run_smaps_read(int pid, struct run_smaps *out);

/* One worker process of a fork repetition. */
enum run_worker_end {
    RUN_WORKER_OK,              /* its call returned */
    RUN_WORKER_ERROR,           /* its call raised: message, error */
    RUN_WORKER_SIGNAL,          /* killed by a signal before it reported: signal */
    RUN_WORKER_EXIT,            /* exited before it reported: exit_status */
};
struct run_worker {
    int pid;
    enum run_worker_end end;
    int signal, exit_status;
    const char *repr;           /* RUN_WORKER_OK: its result's repr (cut at 4 kB) */
    const char *error;          /* RUN_WORKER_ERROR: its traceback (its end when long) */
    char message[256];          /* why not ok, one line: the error's last line, "killed
                                   by signal 9 (SIGKILL)", "exited with status 125 before
                                   it reported" */
    bool has_before, has_after; /* the memory was read before its call, after it */
    struct run_smaps before, after;
    struct run_thread_stats stats;   /* its call: wall, RUSAGE_SELF, its lock counters */
    cpu_set_t cpus;             /* its affinity mask, read back after pinning */
};
/* A reading of a worker's memory while it ran (--sample-ms), or before (t_ms 0)
   and after its call. */
struct run_smaps_sample {
    int worker;
    double t_ms;                /* since the workers were released */
    struct run_smaps m;
};

/* One repetition's results, valid during the sink call only. */
struct run_rep {
    bool warmup;                /* a warm-up: shown, recorded only when it failed */
    int rep;                    /* measured: first_rep..; warm-up: 1..warmup */
    int64_t started;            /* when the threads were released, seconds since the epoch */
    int nthreads;               /* threads that ran; 0 when the module body raised */
    const struct run_thread_result *threads;
    struct run_thread_stats sum;   /* over the threads */
    double wall_s, user_s, sys_s;  /* wall from release to last join; RUSAGE_SELF deltas */
    bool has_load;                 /* the machine's load was read (others_s, steal_s) */
    double others_s, steal_s;      /* CPU time other processes took meanwhile; steal (load.h) */
    bool ok;                    /* every thread ended normally (and an I/O thread
                                   returned a list of ints) */
    const char *message;        /* why not ok: the last line of the first error */
    const char *load_error;     /* the module body raised before any thread ran:
                                   its traceback; else NULL */
    /* the I/O thread, in a scenario that has one and when it returned its list */
    bool has_io;
    const int64_t *samples;     /* its wake-up latencies, us */
    size_t nsamples;
    double io_wall_s;           /* its own run time */
    const struct trace *trace;  /* the lock events, on the traced repetition; else NULL */
    /* the fork scenario: its workers (none when the module or the setup raised) */
    int nworkers;
    const struct run_worker *workers;
    int64_t heap_kb;            /* what the setup added to the parent's anonymous memory */
    bool has_heap;
    long frozen_objects;        /* objects made immortal in the run before the fork */
    const char *thp;            /* the kernel's transparent huge page mode, or NULL */
    const struct run_smaps_sample *smaps_samples;
    size_t nsmaps_samples;
};

/* Called after every repetition, warm-up or measured, on the calling thread.
   Returns 0, or -1 with err set to stop the run (e.g. a result file could not
   be written). */
typedef int run_sink(void *ctx, const struct run_config *c, const struct run_rep *r, char *err,
                     size_t errcap);

enum run_status {
    RUN_OK = 0,
    RUN_FAILED = 1,   /* a repetition failed (a thread or the module body raised) */
    RUN_ERROR = 2,    /* bad input, a compile or file error, or the sink stopped the run:
                         one line in err */
    RUN_INTERRUPTED = 3,   /* a fork run caught SIGINT, SIGTERM or SIGHUP (run_stop_signal):
                              its workers were killed and reaped, the repetition under
                              way reached no sink; one line in err */
};

/* The signal that interrupted a fork run, or 0. The fork scenario catches
   SIGINT, SIGTERM and SIGHUP while its workers live, so that none outlives
   it; the caller decides what to do next (the command line dies of it). */
int run_stop_signal(void);

/* Run c (prepared) per its scenario. */
enum run_status run(const struct run_config *c, run_sink *sink, void *ctx, char *err, size_t errcap);

/* Run c->file as `python3 FILE` would (module __main__), under c->design, on
   the calling thread. With c->opstats, opcounts (VM_OPCODE_SLOTS entries)
   receives the runs per opcode. On failure err holds the message or traceback. */
enum run_status run_main(const struct run_config *c, uint64_t *opcounts, char *err, size_t errcap);

#endif
