/*
 * runner.h — the scenario runner: runs a workload's entry function in the
 * threads a scenario asks for, under the chosen lock design, measures every
 * rep and appends one CSV row per measured rep.
 *
 * Scenarios:
 *   seq      one thread calls the entry `threads` times in a row;
 *   threads  `threads` pthreads call it at once;
 *   convoy   threads-1 CPU threads call the entry, and one I/O thread (the last
 *            one) calls io_entry once the CPU threads have begun; the I/O
 *            entry returns its wake-up latencies as a list of ints.
 *
 * Each rep gets a fresh lock and runtime (fresh module globals): the module is
 * loaded once by a loader thread state on the calling thread, then the
 * workers are created, pinned (--cpus), and released together from a start
 * gate. The program is compiled once per wl_run.
 *
 * Nothing here prints: a per-rep callback hands every result to the caller,
 * which shows what it likes (gillab.c prints tables and tracebacks).
 */
#ifndef WL_RUNNER_H
#define WL_RUNNER_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpus.h"
#include "csv.h"
#include "gil.h"
#include "stats.h"
#include "vm.h"

#define WL_MAX_THREADS 256
#define WL_MAX_ARGS 16

enum wl_scenario { WL_SEQ, WL_THREADS, WL_CONVOY };

/* The scenario names, "seq, threads, convoy" order; NULL-terminated. */
extern const char *const wl_scenario_names[];

struct wl_config {
    const char *file;                    /* the workload file */
    const char *entry;                   /* the function to call; NULL: run as __main__ */
    int64_t args[WL_MAX_ARGS];
    int nargs;
    const char *io_entry;                /* convoy: the I/O thread's function */
    int64_t io_args[WL_MAX_ARGS];
    int nio_args;
    const struct gil_design *design;
    double values[GIL_MAX_PARAMS];       /* canonical parameter values of design */
    enum wl_scenario scenario;
    int threads;                         /* seq: calls; threads: threads; convoy: threads (>= 2) */
    struct wl_cpus cpus;
    int reps;                            /* measured reps, >= 1 */
    int warmup;                          /* unrecorded reps before them */
    const char *csv_path;                /* NULL: no row is written */
    const char *samples_csv_path;        /* convoy: per-wake-up samples */
    const char *trace_csv_path;          /* trace of the last measured rep */
    const char *trace_json_path;
    bool opstats;                        /* count the opcodes each VM thread runs */
};

enum wl_status {
    WL_OK = 0,
    WL_RUNTIME_ERROR = 1,   /* a VM thread failed (exit status 1) */
    WL_USAGE_ERROR = 2,     /* bad input, compile or file errors (exit status 2) */
};

struct wl_thread_result {
    const char *entry;          /* what this thread called */
    enum vm_result result;
    char *repr;                 /* repr of its (last) result when ok; owned by the runner */
    char *error;                /* traceback when not ok; owned by the runner */
    struct wl_thread_stats stats;
    cpu_set_t cpus;             /* its affinity mask, read back after pinning */
    const uint64_t *opcounts;   /* with cfg->opstats: runs per opcode (VM_OPCODE_SLOTS), else NULL */
};

struct wl_rep_result {
    bool warmup;                /* a warm-up rep: no row */
    int rep;                    /* 1.. within measured or within warm-up reps */
    int nthreads;
    struct wl_thread_result *threads;
    double wall_s, user_s, sys_s;   /* wall from release to last join; RUSAGE_SELF deltas */
    bool ok;                    /* every thread ended normally (and, in convoy, the
                                   I/O entry returned a list of ints) */
    const char *message;        /* why not ok: the row's message */
    const char *error;          /* the module body raised before any thread ran (then
                                   nthreads is 0): its traceback; else NULL */
    uint64_t trace_dropped;     /* events that did not fit the trace buffers */
    const struct wl_row *row;   /* the row written (or that would be), NULL for warm-ups */
};

/* Called after every rep, warm-up or measured, on the calling thread. */
typedef void wl_rep_fn(void *ctx, const struct wl_config *cfg, const struct wl_rep_result *r);

/* Run cfg->entry per the scenario. Returns WL_OK, WL_RUNTIME_ERROR (a thread or
   the module body raised; its rep's row was written with status error, and the
   run stopped after that rep) or WL_USAGE_ERROR with
   one line in err (nothing was run, or a file could not be written). */
enum wl_status wl_run(const struct wl_config *cfg, wl_rep_fn *on_rep, void *ctx, char *err,
                      size_t errcap);

/* Run cfg->file as `python3 FILE` would (module __main__), under cfg->design,
   on the calling thread. On failure err holds the message or traceback. With
   cfg->opstats, opcounts (VM_OPCODE_SLOTS entries) receives the runs per
   opcode, also when the program failed. */
enum wl_status wl_run_main(const struct wl_config *cfg, uint64_t *opcounts, char *err, size_t errcap);

/* Is this design single-thread only (refuses T > 1 and convoy)? */
bool wl_design_single_thread(const struct gil_design *d);

#endif
