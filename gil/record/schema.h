/*
 * schema.h — the one schema of the lab's result rows, and rows built against it.
 *
 * Every column of results/lab.csv (and of every other file gillab writes rows
 * to: convoy.csv, sweep.csv, ...) is one line of REC_COLUMNS below, with its
 * type and its meaning. The design parameter columns come from the lock
 * registry (the union of every registered design's parameter names, in
 * registry order), the lock counters from GIL_STATS (gil.h) and the VM's from
 * VM_STATS (vm.h), so a new design parameter or a new counter adds its column
 * without touching this file. The
 * header, each row, `gillab csv-schema` (text and JSON, which the peer driver,
 * the lab driver and the figures read) and the tests all come from this list.
 *
 * A row is an array of cells, one per column, each empty ("not applicable")
 * until set. The part that knows a value sets it (record.c from a run's
 * results); formatting knows only the column types. Nothing here does I/O
 * except the describe functions, which write to a stream and report its errors.
 */
#ifndef RECORD_SCHEMA_H
#define RECORD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "locks/gil.h"
#include "vm/vm.h"

/* How a column is printed. */
enum rec_type {
    REC_TEXT,      /* text; ',', '"' and line breaks become '_' */
    REC_MESSAGE,   /* free text, quoted per RFC 4180 when needed; line breaks become spaces */
    REC_INT,       /* an integer, plainly */
    REC_SECONDS,   /* seconds, "%.6f" */
    REC_REAL,      /* a number, "%.3f" */
    REC_PARAM,     /* a design parameter, in its canonical unit (see gil_param_format_csv) */
};

/* The columns, in file order. COL(name, type, meaning); PARAMS() marks where
   the design parameter columns go, STATS(...) where the lock counters go and
   VMSTATS(...) where the VM's go. */
#define REC_COLUMNS(COL, PARAMS, STATS, VMSTATS)                                                \
    COL(run_id, REC_TEXT, "unique per row: UTC time, process id and a per-process counter")     \
    COL(lab_version, REC_TEXT, "the lab's version (gil/base/version.h)")                        \
    COL(started_utc, REC_TEXT, "when the measured repetition started, UTC, ISO 8601")           \
    COL(host, REC_TEXT, "the machine's host name")                                             \
    COL(design, REC_TEXT, "the lock design (gillab designs), or the peer interpreter")          \
    PARAMS()                                                                                    \
    COL(workload, REC_TEXT, "the workload's file name")                                         \
    COL(entry, REC_TEXT, "the function called (convoy: the CPU thread's)")                      \
    COL(args, REC_TEXT, "its integer arguments, separated by spaces")                           \
    COL(scenario, REC_TEXT, "the scenario (gillab scenarios)")                                  \
    COL(threads, REC_INT, "T as given by --threads (what it means depends on the scenario)")    \
    COL(placement, REC_TEXT, "where the threads may run: one (a single CPU), all, or list")     \
    COL(cpus, REC_TEXT, "as requested with --cpus: 1, all, or CPU ids separated by spaces")     \
    COL(ncpus, REC_INT, "how many CPUs the run's threads were allowed on")                      \
    COL(cpu_list, REC_TEXT, "those CPUs' ids, read back from each thread's affinity mask")      \
    COL(rep, REC_INT, "repetition number, from 1 (or --first-rep); empty for a failed warm-up")                   \
    COL(wall_s, REC_SECONDS, "wall time from the release of the threads to the last join")     \
    COL(user_s, REC_SECONDS, "user CPU time of the process over the same span")                \
    COL(sys_s, REC_SECONDS, "system CPU time of the process over the same span")               \
    COL(others_cpu_s, REC_SECONDS, "CPU time other processes took over the same span "         \
                                   "(/proc/stat, less this run's own)")                         \
    COL(steal_s, REC_SECONDS, "CPU time the hypervisor stole from this machine meanwhile")    \
    STATS(GIL_STATS)                                                                            \
    VMSTATS(VM_STATS)                                                                           \
    COL(interval_wall_us, REC_REAL, "mean wall time the holder ran between two periodic "      \
                                    "releases of the lock: hold_s / yields, in us")             \
    COL(ctx_voluntary, REC_INT, "voluntary context switches, summed over the run's threads")   \
    COL(ctx_involuntary, REC_INT, "involuntary context switches, summed the same way")         \
    COL(io_iters, REC_INT, "convoy: wake-ups the I/O thread made")                              \
    COL(io_iters_per_s, REC_REAL, "convoy: io_iters over the I/O thread's own run time")       \
    COL(latency_p50_us, REC_INT, "convoy: median lateness of a wake-up, us")                    \
    COL(latency_p90_us, REC_INT, "convoy: 90th percentile lateness, us")                        \
    COL(latency_p99_us, REC_INT, "convoy: 99th percentile lateness, us")                        \
    COL(latency_max_us, REC_INT, "convoy: worst lateness, us")                                  \
    COL(setup, REC_TEXT, "fork: the function the parent called before forking (given args)")  \
    COL(refcount_policy, REC_TEXT, "fork: plain or immortal (gillab); plain or gc_freeze (a peer)") \
    COL(workers, REC_INT, "fork: how many worker processes the parent forked")                 \
    COL(worker, REC_INT, "fork: this row's worker, from 0; empty when none was forked")        \
    COL(frozen_objects, REC_INT, "fork: objects immortal (gillab) or frozen (gc.freeze) at fork") \
    COL(heap_kb, REC_INT, "fork: what the setup added to the parent's anonymous memory, kB")   \
    COL(thp, REC_TEXT, "fork: the kernel's transparent huge page mode (the run turns THP off)") \
    COL(rss_before_kb, REC_INT, "fork: the worker's Rss before its call (smaps_rollup), kB")   \
    COL(pss_before_kb, REC_INT, "fork: its Pss before its call, kB")                            \
    COL(shared_clean_before_kb, REC_INT, "fork: its Shared_Clean before its call, kB")          \
    COL(shared_dirty_before_kb, REC_INT, "fork: its Shared_Dirty before its call, kB")          \
    COL(private_clean_before_kb, REC_INT, "fork: its Private_Clean before its call, kB")        \
    COL(private_dirty_before_kb, REC_INT, "fork: its Private_Dirty before its call, kB")        \
    COL(rss_kb, REC_INT, "fork: the worker's Rss after its call, kB")                           \
    COL(pss_kb, REC_INT, "fork: its Pss after its call, kB")                                    \
    COL(shared_clean_kb, REC_INT, "fork: its Shared_Clean after its call, kB")                  \
    COL(shared_dirty_kb, REC_INT, "fork: its Shared_Dirty after its call, kB")                  \
    COL(private_clean_kb, REC_INT, "fork: its Private_Clean after its call, kB")                \
    COL(private_dirty_kb, REC_INT, "fork: its Private_Dirty after its call, kB")                \
    COL(anon_huge_kb, REC_INT, "fork: its memory in transparent huge pages after its call, kB") \
    COL(unshared_kb, REC_INT, "fork: shared memory its call made private: shared before less after, kB") \
    COL(pct_still_shared, REC_REAL, "fork: 100 x (heap_kb - unshared_kb) / heap_kb, in 0..100") \
    COL(status, REC_TEXT, "ok, or error when the repetition failed")                            \
    COL(message, REC_MESSAGE, "when status is error: the last line of the first error")

/* Column ids: one per COL, one per lock counter (REC_GIL_<field>), one per VM
   counter (REC_VM_<field>). The parameter columns have no ids of their own;
   they follow the design. */
enum rec_col {
#define REC_COL_ID(name, type, meaning) REC_##name,
#define REC_NO_PARAMS()
#define REC_STAT_ID(field, kind, column, help) REC_GIL_##field,
#define REC_STATS_IDS(list) list(REC_STAT_ID)
#define REC_VMSTAT_ID(field, policies, help) REC_VM_##field,
#define REC_VMSTATS_IDS(list) list(REC_VMSTAT_ID)
    REC_COLUMNS(REC_COL_ID, REC_NO_PARAMS, REC_STATS_IDS, REC_VMSTATS_IDS)
#undef REC_COL_ID
#undef REC_NO_PARAMS
#undef REC_STAT_ID
#undef REC_STATS_IDS
#undef REC_VMSTAT_ID
#undef REC_VMSTATS_IDS
    REC_NCOLS
};

/* The column of lock counter i of gil_stat_infos, and of VM counter i of
   vm_stat_infos. */
#define REC_GIL_FIRST REC_GIL_acquisitions
static inline enum rec_col rec_gil_col(size_t i) { return (enum rec_col)(REC_GIL_FIRST + i); }
#define REC_VM_FIRST REC_VM_refcount_atomics
static inline enum rec_col rec_vm_col(size_t i) { return (enum rec_col)(REC_VM_FIRST + i); }

/* ---- rows ------------------------------------------------------------------------ */

struct rec_cell {
    bool set;                 /* false: the field is empty ("not applicable") */
    int64_t i;                /* REC_INT */
    double d;                 /* REC_SECONDS, REC_REAL */
    char *text;               /* REC_TEXT, REC_MESSAGE: owned */
};

struct rec_row {
    struct rec_cell cells[REC_NCOLS];
    /* The design whose parameter columns are filled, and its canonical values;
       NULL (a peer interpreter): every parameter column is empty. */
    const struct gil_design *design;
    double values[GIL_MAX_PARAMS];
};

void rec_row_init(struct rec_row *r);
void rec_row_free(struct rec_row *r);
/* Set a cell. The column's type must match the call (a mismatch is a bug and
   panics). The text setters return 0, or -1 when out of memory. */
int rec_set_text(struct rec_row *r, enum rec_col c, const char *s);
int rec_set_textf(struct rec_row *r, enum rec_col c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rec_set_int(struct rec_row *r, enum rec_col c, int64_t v);
void rec_set_real(struct rec_row *r, enum rec_col c, double v);   /* SECONDS or REAL */
void rec_clear(struct rec_row *r, enum rec_col c);
/* The lock counter columns from summed statistics. */
void rec_set_gil_stats(struct rec_row *r, const struct gil_stats *st);
/* The VM counter columns that the policy (a design's vm_safety) has; the
   others stay empty. */
void rec_set_vm_stats(struct rec_row *r, const struct vm_stats *st, enum gil_vm_safety policy);
/* The columns that name this process and moment: run_id (unique per row),
   lab_version, started_utc (from `started`, seconds since the epoch), host. */
int rec_stamp(struct rec_row *r, int64_t started);

/* ---- formatting ------------------------------------------------------------------- */

/* The header line with its '\n', malloc'd; NULL when out of memory. */
char *rec_header(void);
/* One row with its '\n', malloc'd (length in *len); NULL when out of memory. */
char *rec_format(const struct rec_row *r, size_t *len);

/* `gillab csv-schema`: one line per column, "name type meaning" (text), or a
   JSON list of {name, type, meaning, source}. 0, or -1 when out failed. */
int rec_schema_describe(FILE *out);
int rec_schema_json(FILE *out);

/* --opstats-csv: one row per opcode that ran, per thread and repetition. */
#define REC_OPSTATS_HEADER "run_id,rep,thread,opcode,count\n"
/* The rows for one repetition's threads (counts[t]: VM_OPCODE_SLOTS entries, or
   NULL), malloc'd (*out, *len); 0 or ENOMEM. */
int rec_opstats_format(const char *run_id, int64_t rep, const uint64_t *const *counts, int nthreads,
                       char **out, size_t *len);

/* --smaps-csv: one row per reading of a fork worker's memory (before its call,
   every --sample-ms during it, after it). */
#define REC_SMAPS_HEADER "run_id,design,rep,worker,t_ms,rss_kb,pss_kb,shared_kb,private_dirty_kb\n"

/* results/convoy_samples.csv: one row per I/O wake-up. */
#define REC_SAMPLES_HEADER "run_id,design,rep,sample,latency_us\n"
/* The rows for one repetition, malloc'd (*out, *len); 0 or ENOMEM. */
int rec_samples_format(const char *run_id, const char *design, int64_t rep, const int64_t *lat_us,
                       size_t n, char **out, size_t *len);

#endif
