/*
 * csv.h — the lab's result files: one fixed schema, rows written whole.
 *
 * The columns of results/lab.csv (and results/convoy.csv, same columns) come
 * from one table in csv.c; the lock design's parameter columns are made from
 * the registry (the union of every registered design's parameter names, in
 * registry order), so a new design with a new parameter adds its column
 * without touching this file. README.md ("The CSV schema") documents every column and
 * tests/test_csv.c holds the two together.
 *
 * Writing: each file is opened O_APPEND before any run starts (so a bad path
 * fails early), and every batch of rows is formatted into one buffer and
 * written with one write(2) under an flock, so an interrupted run never leaves
 * half a row and two writers never both write a header. The header is written
 * only into an empty file, together with the first rows; a non-empty file
 * whose first line differs from the header is refused.
 *
 * Nothing here prints or exits: errors come back as a message in `err`.
 */
#ifndef WL_CSV_H
#define WL_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "locks/gil.h"

#define WL_CSV_TEXT 256       /* most text columns */
#define WL_CSV_LONG_TEXT 4096 /* args, cpus, cpu_list, message */

/* One row of results/lab.csv. Integers are int64_t and seconds are double so
   that one formatter per kind serves every column. */
struct wl_row {
    char run_id[64];
    char lab_version[32];
    char started_utc[32];
    char host[WL_CSV_TEXT];
    char design[WL_CSV_TEXT];
    /* The design whose parameter columns are filled; NULL (a peer interpreter):
       every parameter column is empty. */
    const struct gil_design *gil;
    double values[GIL_MAX_PARAMS];   /* canonical values, one per gil->params */
    char workload[WL_CSV_TEXT];
    char entry[WL_CSV_TEXT];
    char args[WL_CSV_LONG_TEXT];
    char scenario[16];
    int64_t threads;
    char cpus[WL_CSV_LONG_TEXT];
    int64_t ncpus;
    char cpu_list[WL_CSV_LONG_TEXT];
    int64_t rep;
    double wall_s, user_s, sys_s;
    bool has_lock;                   /* false: acquisitions ... hold_s are empty */
    int64_t acquisitions, releases, switches, futile_wakeups, timeouts;
    int64_t drop_requests, drops_honoured;
    double wait_s, wait_max_s, hold_s;
    bool has_ctx;                    /* false: ctx_voluntary, ctx_involuntary empty */
    int64_t ctx_voluntary, ctx_involuntary;
    bool has_io;                     /* false: io_iters ... latency_max_us empty */
    int64_t io_iters;
    double io_iters_per_s;
    int64_t latency_p50_us, latency_p90_us, latency_p99_us, latency_max_us;
    bool ok;                         /* status: ok | error */
    char message[WL_CSV_LONG_TEXT];  /* empty when ok */
};

/* Fill every column that names this process and moment: run_id (UTC time, pid
   and a per-process counter, unique per row), lab_version, started_utc, host. */
void wl_row_stamp(struct wl_row *r);
/* The lock columns from summed statistics. */
void wl_row_set_lock(struct wl_row *r, const struct gil_stats *st);

/* The header line of lab.csv, with its '\n'. Returns its length, or -1 when
   cap is too small. */
int wl_csv_header(char *buf, size_t cap);
/* One formatted row with its '\n'; returns its length, or -1 when cap is too
   small (nothing meaningful is left in buf then). */
int wl_csv_format_row(const struct wl_row *r, char *buf, size_t cap);
/* A buffer size that always holds one row. */
size_t wl_csv_row_cap(void);

/* results/convoy_samples.csv: one row per I/O wake-up. */
#define WL_SAMPLES_HEADER "run_id,design,rep,sample,latency_us\n"
/* The rows for one rep, in one malloc'd buffer (*out, *len); 0 or ENOMEM. */
int wl_samples_format(const char *run_id, const char *design, int64_t rep, const int64_t *lat_us,
                      size_t n, char **out, size_t *len);

/* ---- files ------------------------------------------------------------------ */

struct wl_csv {
    int fd;                /* -1 when closed */
    char *path;            /* owned copy */
    char *flag;            /* owned copy of the option that named it, for messages */
    char *header;          /* owned copy of the line the file must start with */
    bool created;          /* this process created the file */
    bool wrote;            /* at least one row was written */
};

/* Open (creating if missing) a CSV for appending with the given header.
   Refuses a non-empty file whose first line is not `header`, or whose last
   byte is not a newline. Messages start with "FLAG PATH: ". 0 or -1. */
int wl_csv_open(struct wl_csv *f, const char *flag, const char *path, const char *header,
                char *err, size_t errcap);
/* Append whole rows (each ending in '\n') with one write(2); the header goes
   in front when the file is empty. 0 or -1. */
int wl_csv_append(struct wl_csv *f, const char *rows, size_t len, char *err, size_t errcap);
/* Close; a file this process created and never wrote to is removed. */
void wl_csv_close(struct wl_csv *f);

#endif
