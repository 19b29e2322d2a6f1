/*
 * stats.h — what a run measures per thread and how it is summed; the I/O
 * thread's latency percentiles, and the parsing of its returned list.
 */
#ifndef RUNNER_STATS_H
#define RUNNER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "locks/gil.h"
#include "vm/vm.h"

/* One thread's measurements for one run. */
struct run_thread_stats {
    struct gil_stats gil;          /* the lock layer's counters */
    struct vm_stats vm;            /* the VM's own (multi-threaded policies) */
    int64_t ctx_voluntary;         /* RUSAGE_THREAD ru_nvcsw delta */
    int64_t ctx_involuntary;       /* RUSAGE_THREAD ru_nivcsw delta */
    double user_s, sys_s;          /* RUSAGE_THREAD deltas */
    double wall_s;                 /* from release to the end of its last call */
};

/* Sum n threads into *sum (wait_max is the worst single wait, wall_s the longest). */
void run_stats_sum(const struct run_thread_stats *t, int n, struct run_thread_stats *sum);

struct run_latency {
    size_t n;
    int64_t p50_us, p90_us, p99_us, max_us;
};

/* Nearest-rank percentiles of n samples (order of lat_us untouched).
   0, EINVAL when n == 0, or ENOMEM. */
int run_latency_summary(const int64_t *lat_us, size_t n, struct run_latency *out);

/* Parse the repr of a list of ints, "[3, -1, 40]", into a malloc'd array.
   0, EINVAL when repr is anything else (including a truncated list), ENOMEM. */
int run_parse_int_list(const char *repr, int64_t **out, size_t *n);

#endif
