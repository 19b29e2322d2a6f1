/*
 * record.h — the recorder: owns the result files of one `gillab run` and turns
 * each repetition's results (runner/runner.h) into rows of the one schema
 * (record/schema.h). It may read the runner's results and the lock registry; it
 * runs nothing and prints nothing.
 *
 * Files: --csv (one row per measured repetition, and per failed warm-up; the
 * fork scenario: one per worker), --samples-csv (one row per I/O wake-up),
 * --smaps-csv (one per reading of a fork worker's memory), --opstats-csv (runs
 * per opcode, per thread and measured repetition), --trace and --trace-json (the lock events of
 * the last measured repetition). All of them are checked and opened
 * before anything runs: each must be a regular file (or not exist yet), and no
 * two options may name the same file. Rows go out whole (record/csvfile.h);
 * a trace file is written once, at the end (a new one only then appears).
 */
#ifndef RECORD_RECORD_H
#define RECORD_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "record/csvfile.h"
#include "record/schema.h"
#include "runner/runner.h"

/* The output files a run was asked for; NULL: not wanted. */
struct rec_paths {
    const char *csv;
    const char *samples_csv;
    const char *trace_csv;
    const char *trace_json;
    const char *opstats_csv;   /* --opstats-csv: runs per opcode */
    const char *smaps_csv;     /* --smaps-csv: fork workers' memory readings */
    /* Called before an append waits for another process's lock on a results
       file (see csvfile.h); NULL: wait silently. */
    void (*on_wait)(const char *flag, const char *path);
};

/* A file written once, whole, at the end (a trace). A file that did not exist
   is created to check that it can be, then removed again until the trace is
   written, so that a run that fails or is interrupted leaves nothing behind. */
struct rec_outfile {
    int fd;               /* an existing file, open but not yet truncated; else -1 */
    const char *flag;     /* the option, for messages; NULL when not in use */
    const char *path;
    bool deferred;        /* did not exist: created at write time */
};

struct recorder {
    struct rec_file csv, samples, opstats, smaps;
    bool have_csv, have_samples, have_opstats, have_smaps;
    struct rec_outfile trace_csv, trace_json;
};

/* Check and open every file named in p. 0, or -1 with one line in err (and
   nothing left open or created). */
int rec_open(struct recorder *r, const struct rec_paths *p, char *err, size_t errcap);
/* Write what a repetition gave: its row (measured repetitions, and failed
   warm-ups), its I/O samples, its trace. 0, or -1 with one line in err. */
int rec_record(struct recorder *r, const struct run_config *c, const struct run_rep *rep, char *err,
               size_t errcap);
void rec_close(struct recorder *r);
/* The opcode counts of a run that had no repetitions (`gillab run FILE`): one
   thread, rep 1, a run_id of its own. 0, or -1 with one line in err. */
int rec_record_opstats(struct recorder *r, const uint64_t *counts, char *err, size_t errcap);

/* The row for a repetition (exposed for the tests). 0, or -1 when out of memory. */
int rec_row_from_run(struct rec_row *row, const struct run_config *c, const struct run_rep *rep);
/* A fork repetition's row for worker i (rep->workers[i]), or with i = -1 the one
   row of a repetition whose setup failed before any fork. 0, or -1 (no memory). */
int rec_row_from_fork(struct rec_row *row, const struct run_config *c, const struct run_rep *rep, int i);

#endif
